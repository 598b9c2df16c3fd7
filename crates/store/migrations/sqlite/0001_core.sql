-- takedown-store core schema, SQLite dialect. Keep in step with ../postgres/0001_core.sql:
-- the same tables, columns and constraints; only types differ.
--
-- Times are INTEGER microseconds since the Unix epoch, UTC (SQLite has no time type; integers
-- are exact and sort like times). Booleans are INTEGER 0/1. Ids use AUTOINCREMENT so that an
-- id is never reused after a delete: HMA clients and partners keep `bank_content_id`s.

CREATE TABLE organisations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id      INTEGER NOT NULL REFERENCES organisations (id),
    name        TEXT    NOT NULL UNIQUE,
    role        TEXT    NOT NULL CHECK (role IN ('admin', 'curator', 'analyst', 'matcher')),
    created_at  INTEGER NOT NULL
);
CREATE INDEX users_org ON users (org_id);

-- Only the SHA-256 of a token's secret is stored.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id       INTEGER NOT NULL REFERENCES organisations (id),
    user_id      INTEGER REFERENCES users (id),
    role         TEXT    NOT NULL CHECK (role IN ('admin', 'curator', 'analyst', 'matcher')),
    name         TEXT    NOT NULL,
    secret_hash  TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX api_tokens_org ON api_tokens (org_id);

CREATE TABLE banks (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    name              TEXT    NOT NULL UNIQUE,
    owner_id          INTEGER NOT NULL REFERENCES organisations (id),
    description       TEXT    NOT NULL,
    matching_enabled  INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX banks_owner ON banks (owner_id);

CREATE TABLE bank_shares (
    bank_id     INTEGER NOT NULL REFERENCES banks (id) ON DELETE CASCADE,
    org_id      INTEGER NOT NULL REFERENCES organisations (id),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (bank_id, org_id)
);
CREATE INDEX bank_shares_org ON bank_shares (org_id);

CREATE TABLE content (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    bank_id         INTEGER NOT NULL REFERENCES banks (id) ON DELETE CASCADE,
    entity          TEXT,
    tier            INTEGER CHECK (tier BETWEEN 1 AND 4),
    severity        INTEGER CHECK (severity BETWEEN 0 AND 7),
    confidence      INTEGER CHECK (confidence BETWEEN 0 AND 3),
    behaviours      TEXT    NOT NULL,   -- JSON array of strings, sorted
    tlp             TEXT    NOT NULL,
    note            TEXT    NOT NULL,
    source          TEXT    NOT NULL,
    enabled         INTEGER NOT NULL,
    disabled_until  INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX content_bank ON content (bank_id, id);
CREATE INDEX content_disabled_until ON content (disabled_until) WHERE disabled_until IS NOT NULL;

-- bank_id repeats content.bank_id (an item never changes bank) so that "is this signal already
-- in the bank" and the index feed need no join. change_seq is the signal's position in the
-- change feed, restamped whenever the signal or its item changes.
CREATE TABLE signals (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    content_id         INTEGER NOT NULL REFERENCES content (id) ON DELETE CASCADE,
    bank_id            INTEGER NOT NULL REFERENCES banks (id) ON DELETE CASCADE,
    signal_type        TEXT    NOT NULL,
    algorithm_version  INTEGER NOT NULL,
    value              TEXT    NOT NULL,
    quality            INTEGER CHECK (quality BETWEEN 0 AND 100),
    change_seq         INTEGER NOT NULL
);
CREATE UNIQUE INDEX signals_bank_value ON signals (bank_id, value, signal_type);
CREATE INDEX signals_content ON signals (content_id);
CREATE UNIQUE INDEX signals_change_seq ON signals (change_seq);

-- Tombstones of deleted signals, so that an index catching up learns what to drop.
CREATE TABLE removed_signals (
    change_seq  INTEGER PRIMARY KEY,
    signal_id   INTEGER NOT NULL,
    content_id  INTEGER NOT NULL,
    bank_id     INTEGER NOT NULL
);

-- The append-only, hash-chained audit log. No foreign keys: it outlives what it records.
CREATE TABLE audit_log (
    sequence       INTEGER PRIMARY KEY,
    recorded_at    INTEGER NOT NULL,
    actor          TEXT    NOT NULL,
    org_id         INTEGER,
    action         TEXT    NOT NULL,
    object_type    TEXT    NOT NULL,
    object_id      TEXT    NOT NULL,
    before_json    TEXT,
    after_json     TEXT,
    previous_hash  TEXT    NOT NULL,
    hash           TEXT    NOT NULL
);
CREATE INDEX audit_log_org ON audit_log (org_id, sequence);

-- Refuse edits through SQL. This stops mistakes, not an attacker who can drop the triggers;
-- the hash chain is what detects that.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit log is append-only');
END;

-- One row: the end of the audit chain and of the change feed. Every write transaction takes
-- it first, which serialises writers so that sequence numbers are handed out in commit order.
CREATE TABLE store_head (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    audit_sequence   INTEGER NOT NULL,
    audit_hash       TEXT    NOT NULL,
    change_sequence  INTEGER NOT NULL
);
INSERT INTO store_head (id, audit_sequence, audit_hash, change_sequence)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000', 0);
