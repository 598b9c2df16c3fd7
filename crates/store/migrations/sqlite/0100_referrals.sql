-- Referrals: URL intake, review cases, the provider registry, referrals and their items, URL
-- re-checks and the outbox, SQLite dialect. Keep in step with ../postgres/0100_referrals.sql:
-- the same tables, columns and constraints; only types differ (times are INTEGER microseconds,
-- booleans INTEGER 0/1, JSON is TEXT).

-- Hosting providers, instance-wide: every organisation refers to the same provider records,
-- which is what lets the store refuse a second open referral of one URL across organisations.
CREATE TABLE providers (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    name                  TEXT    NOT NULL UNIQUE,
    contact_email         TEXT    NOT NULL,
    endpoint_url          TEXT    NOT NULL,
    delivery              TEXT    NOT NULL CHECK (delivery IN ('email', 'http', 'manual')),
    notice_format         TEXT    NOT NULL CHECK (notice_format IN ('text', 'json', 'eu-order', 'dsa')),
    legal_representative  TEXT    NOT NULL,
    member_state          TEXT    NOT NULL,
    contact_point         TEXT    NOT NULL,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);

-- Domain-suffix rules: `host_suffix` covers the host itself and its subdomains; the longest
-- matching suffix wins.
CREATE TABLE provider_rules (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    provider_id  INTEGER NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    host_suffix  TEXT    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL
);
CREATE INDEX provider_rules_provider ON provider_rules (provider_id);

-- One review case per organisation and piece of content (`content_key`: `content:<bank item>`
-- when it matched a bank, else `sha256:<digest>`). Every copy of that content the organisation
-- observes joins the case, so one decision covers every URL carrying it.
CREATE TABLE cases (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id             INTEGER NOT NULL REFERENCES organisations (id),
    content_key        TEXT    NOT NULL,
    content_id         INTEGER,            -- bank item; no foreign key: the case outlives it
    status             TEXT    NOT NULL CHECK (status IN ('open', 'confirmed', 'rejected')),
    entity             TEXT,
    tier               INTEGER CHECK (tier BETWEEN 1 AND 4),
    severity           INTEGER NOT NULL CHECK (severity BETWEEN 0 AND 7),
    confidence         INTEGER NOT NULL CHECK (confidence BETWEEN 0 AND 3),
    rank_score         INTEGER NOT NULL,
    grounds            TEXT    NOT NULL,   -- JSON array of Art. 2(7) grounds
    reason             TEXT    NOT NULL,
    decided_by         TEXT,
    decided_at         INTEGER,
    observation_count  INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    UNIQUE (org_id, content_key)
);
CREATE INDEX cases_queue ON cases (org_id, status, rank_score, id);

CREATE TABLE case_decisions (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id           INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    decision          TEXT    NOT NULL CHECK (decision IN ('confirm', 'reject')),
    entity            TEXT,
    tier              INTEGER CHECK (tier BETWEEN 1 AND 4),
    grounds           TEXT    NOT NULL,
    reason            TEXT    NOT NULL,
    reviewer          TEXT    NOT NULL,
    decided_at        INTEGER NOT NULL,
    added_content_id  INTEGER
);
CREATE INDEX case_decisions_case ON case_decisions (case_id, id);

-- What one fetch of a submitted URL found: the URL itself when it is media, or one row per
-- medium embedded in a page (`media_url`), plus a row for a page with nothing to fingerprint.
CREATE TABLE observations (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id            INTEGER NOT NULL REFERENCES organisations (id),
    case_id           INTEGER REFERENCES cases (id),
    url               TEXT    NOT NULL,
    host              TEXT    NOT NULL,
    final_url         TEXT,
    media_url         TEXT,
    found_in          TEXT,
    fetched_at        INTEGER NOT NULL,
    outcome           TEXT    NOT NULL CHECK (outcome IN ('live', 'removed', 'unreachable', 'blocked')),
    http_status       INTEGER,
    content_type      TEXT,
    size              INTEGER,
    md5               TEXT,
    sha256            TEXT,
    pdq               TEXT,
    pdq_quality       INTEGER,
    matches           TEXT    NOT NULL,   -- JSON array of bank hits
    best_content_id   INTEGER,
    best_distance     INTEGER,
    provider_id       INTEGER REFERENCES providers (id),
    source            TEXT    NOT NULL,
    submitted_by      TEXT    NOT NULL,
    evidence          TEXT    NOT NULL,   -- JSON: redirect chain, removal reason, errors
    reupload_of_item  INTEGER,            -- referral item already removed elsewhere
    created_at        INTEGER NOT NULL
);
CREATE INDEX observations_org ON observations (org_id, id);
CREATE INDEX observations_case ON observations (case_id, id);
CREATE INDEX observations_unassigned ON observations (host) WHERE provider_id IS NULL;

CREATE TABLE referrals (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id           INTEGER NOT NULL REFERENCES organisations (id),
    provider_id      INTEGER NOT NULL REFERENCES providers (id),
    reference        TEXT    NOT NULL UNIQUE,
    status           TEXT    NOT NULL CHECK (status IN ('draft', 'sent', 'acknowledged', 'removed',
                         'partially-removed', 'refused', 'expired')),
    notice_format    TEXT    NOT NULL,
    note             TEXT    NOT NULL,
    created_by       TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    queued_at        INTEGER,
    sent_at          INTEGER,
    acknowledged_at  INTEGER,
    closed_at        INTEGER,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX referrals_org ON referrals (org_id, id);
CREATE INDEX referrals_provider ON referrals (provider_id, id);

-- One referred URL. `open` is true while its referral is open and the content has not been
-- seen gone: the partial unique index below is the cross-organisation deduplication rule (one
-- provider never has the same URL in two open referrals), enforced by the database itself.
CREATE TABLE referral_items (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    referral_id       INTEGER NOT NULL REFERENCES referrals (id) ON DELETE CASCADE,
    org_id            INTEGER NOT NULL,
    provider_id       INTEGER NOT NULL REFERENCES providers (id),
    url               TEXT    NOT NULL,
    media_url         TEXT,
    observation_id    INTEGER NOT NULL REFERENCES observations (id),
    case_id           INTEGER REFERENCES cases (id),
    content_key       TEXT    NOT NULL,
    content_id        INTEGER,
    bank_name         TEXT,
    entity            TEXT,
    tier              INTEGER CHECK (tier BETWEEN 1 AND 4),
    grounds           TEXT    NOT NULL,
    reason            TEXT    NOT NULL,
    md5               TEXT,
    sha256            TEXT,
    pdq               TEXT,
    content_type      TEXT,
    captured_at       INTEGER NOT NULL,
    reupload_of_item  INTEGER,
    state             TEXT    NOT NULL CHECK (state IN ('live', 'gone')),
    open              INTEGER NOT NULL,
    last_live_at      INTEGER,
    first_gone_at     INTEGER,
    gone_outcome      TEXT,
    checks_done       INTEGER NOT NULL
);
CREATE UNIQUE INDEX referral_items_open_url ON referral_items (provider_id, url) WHERE open = 1;
CREATE INDEX referral_items_referral ON referral_items (referral_id, id);
CREATE INDEX referral_items_content ON referral_items (content_key, state);
CREATE INDEX referral_items_sha256 ON referral_items (sha256, state);

-- Scheduled re-checks. A row is created `pending` with its due time, claimed by one worker with
-- a lease (`claimed`, owner, expiry), and finished (`done`, with the result) in the same
-- transaction that schedules the next check; a lease that expires makes it claimable again.
CREATE TABLE url_checks (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id           INTEGER NOT NULL REFERENCES referral_items (id) ON DELETE CASCADE,
    referral_id       INTEGER NOT NULL,
    sequence          INTEGER NOT NULL,
    due_at            INTEGER NOT NULL,
    state             TEXT    NOT NULL CHECK (state IN ('pending', 'claimed', 'done', 'cancelled')),
    lease_owner       TEXT,
    lease_expires_at  INTEGER,
    claims            INTEGER NOT NULL,
    checked_at        INTEGER,
    method            TEXT,
    http_status       INTEGER,
    final_url         TEXT,
    content_type      TEXT,
    md5               TEXT,
    sha256            TEXT,
    pdq_distance      INTEGER,
    outcome           TEXT CHECK (outcome IN ('live', 'removed', 'changed', 'unreachable', 'blocked')),
    evidence          TEXT,
    UNIQUE (item_id, sequence)
);
CREATE INDEX url_checks_pending_due ON url_checks (due_at) WHERE state = 'pending';
CREATE INDEX url_checks_claimed_lease ON url_checks (lease_expires_at) WHERE state = 'claimed';
CREATE INDEX url_checks_referral ON url_checks (referral_id, item_id, sequence);

-- Messages to providers. The body is rendered once, when the message is queued, and sent
-- byte for byte on every attempt with the same idempotency key (the e-mail's Message-ID, the
-- HTTP Idempotency-Key header), so a retry after a crash is recognisable as the same message.
CREATE TABLE outbox (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    referral_id       INTEGER NOT NULL REFERENCES referrals (id),
    channel           TEXT    NOT NULL CHECK (channel IN ('email', 'http')),
    idempotency_key   TEXT    NOT NULL UNIQUE,
    sender            TEXT    NOT NULL,
    recipient         TEXT    NOT NULL,
    subject           TEXT    NOT NULL,
    content_type      TEXT    NOT NULL,
    body              TEXT    NOT NULL,
    state             TEXT    NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
    attempts          INTEGER NOT NULL,
    next_attempt_at   INTEGER NOT NULL,
    lease_owner       TEXT,
    lease_expires_at  INTEGER,
    last_error        TEXT,
    response          TEXT,
    sent_at           INTEGER,
    created_at        INTEGER NOT NULL
);
CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_sending ON outbox (lease_expires_at) WHERE state = 'sending';
CREATE INDEX outbox_referral ON outbox (referral_id, id);
