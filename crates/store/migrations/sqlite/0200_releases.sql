-- Release logs and operations (takedown-impact), SQLite dialect. Keep in step with
-- ../postgres/0200_releases.sql. Times are INTEGER microseconds since the Unix epoch, UTC.

-- One row per item an outlet published. natural_key is the SHA-256 of outlet, time, medium,
-- language, channel and title (takedown_store::release_key): re-importing a log, or recording
-- a release already imported, finds the row instead of adding a second one.
CREATE TABLE releases (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    outlet        TEXT    NOT NULL,
    published_at  INTEGER NOT NULL,
    medium        TEXT    NOT NULL CHECK (medium IN ('statement', 'image', 'video', 'audio')),
    language      TEXT    NOT NULL,
    channel       TEXT    NOT NULL,
    title         TEXT    NOT NULL,
    fingerprints  TEXT    NOT NULL,   -- JSON array of {"signal_type", "value"}, sorted
    origin        TEXT    NOT NULL,   -- file name, "observation:<id>", "demo"
    natural_key   TEXT    NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL
);
-- Analyses read one operation's outlets over a span of days; listings page by time.
CREATE INDEX releases_outlet_time ON releases (outlet, published_at, id);
CREATE INDEX releases_time ON releases (published_at, id);

CREATE TABLE operations (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT    NOT NULL UNIQUE,
    starts_at       INTEGER NOT NULL,
    ends_at         INTEGER NOT NULL,
    organisations   TEXT    NOT NULL,   -- JSON array of strings
    targets         TEXT    NOT NULL,   -- JSON array of outlets
    controls        TEXT    NOT NULL,   -- JSON array of outlets
    infrastructure  TEXT    NOT NULL,   -- JSON array of {"kind", "value"}
    notes           TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    CHECK (ends_at >= starts_at)
);
