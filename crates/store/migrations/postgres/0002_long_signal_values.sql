-- vPDQ, audio and text signature values run to kilobytes or megabytes (one line per second of
-- video, one 32-bit word per 0.12 s of sound), past PostgreSQL's B-tree limit of about 2.7 kB
-- per index row: the unique (bank_id, value, signal_type) index refused them. Uniqueness now
-- holds on the value's MD5, and lookups by value (import de-duplication, search by signal)
-- use a hash index, which stores a 4-byte hash whatever the value's length.
DROP INDEX signals_bank_value;
CREATE UNIQUE INDEX signals_bank_value ON signals (bank_id, signal_type, md5(value));
CREATE INDEX signals_value ON signals USING hash (value);
