-- PostgreSQL's 0002 moves the unique signal index off the raw value, which its B-tree could not
-- hold for long vPDQ, audio and text signature values. SQLite indexes values of any length, so
-- nothing changes here; the file keeps the two dialects' migration lists in step.
SELECT 1;
