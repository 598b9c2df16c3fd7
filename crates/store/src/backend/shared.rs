//! The store's operations, written once and compiled twice: `backend/sqlite.rs` and
//! `backend/postgres.rs` each include this file as a child module (`#[path = "shared.rs"]`),
//! after defining `Db` (the sqlx database), `StoreImpl` (the store struct) and the few
//! functions and constants where the dialects differ (how a write transaction starts and
//! locks, how times are bound and read, how import ids are reserved, case-insensitive LIKE).
//!
//! Each copy is monomorphic (no generic sqlx bounds), so both are type-checked in full. The
//! SQL here is the common subset of both dialects: `$n` placeholders (sqlx's SQLite driver
//! maps `$n` to the n-th argument), `RETURNING`, `ON CONFLICT DO NOTHING`, window functions,
//! and integer or boolean columns read as `i64` or `bool`.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use async_trait::async_trait;
use futures_util::TryStreamExt;
use sqlx::{QueryBuilder, Row};
use takedown_model::{
    Actor, ApiToken, AuditEntry, Bank, BankId, BankName, Confidence, Content, ContentId, Labels,
    NewSignal, OrgId, Organisation, Role, Severity, Signal, SignalId, SignalType, Tier, Timestamp,
    Tlp, TokenId, User, UserId,
};

use super::{Db, StoreImpl};
use crate::audit::{resolve_unlinked, AuditDraft, ChainWalk, Step};
use crate::error::conflict_on_unique;
use crate::traits::ImportRows;
use crate::{
    json, validate, AuditQuery, AuditStore, AuditVerification, AuthStore, BankScope, BankStore,
    BankUpdate, ContentQuery, ContentStore, ContentUpdate, ImportOptions, ImportProgress,
    ImportSummary, IndexFeed, IndexSignal, NewBank, NewContent, NewToken, NewUser, Page, RowError,
    SignalChange, Store, StoreError, StoreResult,
};

// The referral tables: a child module, so that it shares the write transaction (and with it
// the audit chain's head) defined here.
#[path = "referrals_sql.rs"]
mod referrals;

type Conn = <Db as sqlx::Database>::Connection;
type DbRow = <Db as sqlx::Database>::Row;
type Transaction = sqlx::Transaction<'static, Db>;

/// Rows per multi-row INSERT in an import. With 14 columns this stays below SQLite's 32766
/// bound parameters; larger batches gain little once statement overhead is amortised.
const IMPORT_BATCH_ROWS: usize = 1_000;
/// Signals per multi-row INSERT (7 columns each).
const IMPORT_BATCH_SIGNALS: usize = 2_000;
/// Largest page of the index feed.
const MAX_FEED_PAGE: u32 = 100_000;

// Column lists, as macros so that `concat!` can build `&'static str` statements from them.
// Rows are read by position, in the order listed here.
macro_rules! bank_columns {
    () => {
        "b.id, b.name, b.owner_id, b.description, b.matching_enabled, b.created_at, b.updated_at"
    };
}
macro_rules! content_columns {
    () => {
        "c.id, c.bank_id, c.entity, c.tier, c.severity, c.confidence, c.behaviours, c.tlp, \
         c.note, c.source, c.enabled, c.disabled_until, c.created_at, c.updated_at"
    };
}
macro_rules! signal_columns {
    () => {
        "s.id, s.content_id, s.signal_type, s.algorithm_version, s.value, s.quality"
    };
}
macro_rules! index_signal_columns {
    () => {
        "s.id, s.content_id, s.bank_id, s.signal_type, s.algorithm_version, s.value, s.quality"
    };
}
macro_rules! token_columns {
    () => {
        "t.id, t.org_id, t.user_id, t.role, t.name, t.created_at, t.expires_at, t.revoked_at"
    };
}
macro_rules! audit_columns {
    () => {
        "sequence, recorded_at, actor, org_id, action, object_type, object_id, before_json, \
         after_json, previous_hash, hash"
    };
}

// ---------------------------------------------------------------------------------------------
// Write transactions

/// A write transaction holding the store head: the audit chain's end and the change feed's
/// position. Taking the head first serialises writers (SQLite: `BEGIN IMMEDIATE`; PostgreSQL:
/// `SELECT ... FOR UPDATE`), so sequence numbers are handed out in commit order.
struct Write {
    tx: Transaction,
    audit_sequence: i64,
    audit_hash: String,
    change_sequence: i64,
    /// One time for everything the transaction writes, truncated to the store's precision.
    now: Timestamp,
}

impl Write {
    async fn begin(store: &StoreImpl) -> StoreResult<Write> {
        let mut tx = super::begin_write(&store.pool).await?;
        let head = sqlx::query(super::HEAD_FOR_WRITE)
            .fetch_one(&mut *tx)
            .await?;
        Ok(Write {
            audit_sequence: head.try_get(0)?,
            audit_hash: head.try_get(1)?,
            change_sequence: head.try_get(2)?,
            now: crate::time::truncate(store.clock.now()),
            tx,
        })
    }

    fn conn(&mut self) -> &mut Conn {
        &mut self.tx
    }

    /// The next position in the change feed.
    fn next_change(&mut self) -> i64 {
        self.change_sequence += 1;
        self.change_sequence
    }

    /// Appends an entry to the audit chain; returns its sequence number.
    async fn audit(&mut self, draft: AuditDraft) -> StoreResult<i64> {
        let entry = draft.seal(self.audit_sequence + 1, self.now, &self.audit_hash);
        sqlx::query(concat!(
            "INSERT INTO audit_log (",
            audit_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(entry.sequence)
        .bind(super::time_param(entry.at))
        .bind(&entry.actor)
        .bind(entry.org.map(|org| org.0))
        .bind(&entry.action)
        .bind(&entry.object_type)
        .bind(&entry.object_id)
        .bind(&entry.before)
        .bind(&entry.after)
        .bind(&entry.previous_hash)
        .bind(&entry.hash)
        .execute(&mut *self.tx)
        .await?;
        self.audit_sequence = entry.sequence;
        self.audit_hash = entry.hash;
        Ok(entry.sequence)
    }

    async fn commit(mut self) -> StoreResult<()> {
        sqlx::query(
            "UPDATE store_head SET audit_sequence = $1, audit_hash = $2, change_sequence = $3 \
             WHERE id = 1",
        )
        .bind(self.audit_sequence)
        .bind(&self.audit_hash)
        .bind(self.change_sequence)
        .execute(&mut *self.tx)
        .await?;
        self.tx.commit().await?;
        Ok(())
    }
}

fn draft(
    actor: &Actor,
    org: OrgId,
    action: &'static str,
    object_type: &'static str,
    object_id: i64,
    before: Option<String>,
    after: Option<String>,
) -> AuditDraft {
    AuditDraft {
        actor: actor.to_string(),
        org: Some(org),
        action,
        object_type,
        object_id: object_id.to_string(),
        before,
        after,
    }
}

// ---------------------------------------------------------------------------------------------
// Reading rows

fn bank_from_row(row: &DbRow) -> StoreResult<Bank> {
    let name: String = row.try_get(1)?;
    Ok(Bank {
        id: BankId(row.try_get(0)?),
        name: BankName::new(&name).map_err(StoreError::corrupt)?,
        owner: OrgId(row.try_get(2)?),
        description: row.try_get(3)?,
        matching_enabled: row.try_get(4)?,
        shared_with: Vec::new(),
        created_at: super::read_time(row, 5)?,
        updated_at: super::read_time(row, 6)?,
    })
}

fn labels_from_row(row: &DbRow) -> StoreResult<Labels> {
    let tier: Option<i64> = row.try_get(3)?;
    let severity: Option<i64> = row.try_get(4)?;
    let confidence: Option<i64> = row.try_get(5)?;
    let behaviours: String = row.try_get(6)?;
    let tlp: String = row.try_get(7)?;
    Ok(Labels {
        entity: row.try_get(2)?,
        tier: tier
            .map(Tier::from_number)
            .transpose()
            .map_err(StoreError::corrupt)?,
        severity: severity
            .map(Severity::new)
            .transpose()
            .map_err(StoreError::corrupt)?,
        confidence: confidence
            .map(Confidence::new)
            .transpose()
            .map_err(StoreError::corrupt)?,
        behaviours: serde_json::from_str(&behaviours).map_err(StoreError::corrupt)?,
        tlp: Tlp::from_str(&tlp).map_err(StoreError::corrupt)?,
    })
}

fn content_from_row(row: &DbRow) -> StoreResult<Content> {
    Ok(Content {
        id: ContentId(row.try_get(0)?),
        bank: BankId(row.try_get(1)?),
        labels: labels_from_row(row)?,
        note: row.try_get(8)?,
        source: row.try_get(9)?,
        enabled: row.try_get(10)?,
        disabled_until: super::read_optional_time(row, 11)?,
        created_at: super::read_time(row, 12)?,
        updated_at: super::read_time(row, 13)?,
        signals: Vec::new(),
    })
}

fn signal_type(text: &str) -> StoreResult<SignalType> {
    SignalType::from_str(text).map_err(StoreError::corrupt)
}

fn version(number: i64) -> StoreResult<u32> {
    u32::try_from(number).map_err(|_| StoreError::corrupt(format!("algorithm version {number}")))
}

fn quality(number: Option<i64>) -> StoreResult<Option<u8>> {
    number
        .map(|q| u8::try_from(q).map_err(|_| StoreError::corrupt(format!("quality {q}"))))
        .transpose()
}

fn signal_from_row(row: &DbRow) -> StoreResult<Signal> {
    let kind: String = row.try_get(2)?;
    Ok(Signal {
        id: SignalId(row.try_get(0)?),
        content: ContentId(row.try_get(1)?),
        signal_type: signal_type(&kind)?,
        algorithm_version: version(row.try_get(3)?)?,
        value: row.try_get(4)?,
        quality: quality(row.try_get(5)?)?,
    })
}

/// Reads `index_signal_columns!()` starting at column `first`.
fn index_signal_from_row(row: &DbRow, first: usize) -> StoreResult<IndexSignal> {
    let kind: String = row.try_get(first + 3)?;
    Ok(IndexSignal {
        id: SignalId(row.try_get(first)?),
        content: ContentId(row.try_get(first + 1)?),
        bank: BankId(row.try_get(first + 2)?),
        signal_type: signal_type(&kind)?,
        algorithm_version: version(row.try_get(first + 4)?)?,
        value: row.try_get(first + 5)?,
        quality: quality(row.try_get(first + 6)?)?,
    })
}

fn organisation_from_row(row: &DbRow) -> StoreResult<Organisation> {
    Ok(Organisation {
        id: OrgId(row.try_get(0)?),
        name: row.try_get(1)?,
        created_at: super::read_time(row, 2)?,
    })
}

fn role(text: &str) -> StoreResult<Role> {
    Role::from_str(text).map_err(StoreError::corrupt)
}

fn user_from_row(row: &DbRow) -> StoreResult<User> {
    let role_name: String = row.try_get(3)?;
    Ok(User {
        id: UserId(row.try_get(0)?),
        org: OrgId(row.try_get(1)?),
        name: row.try_get(2)?,
        role: role(&role_name)?,
        created_at: super::read_time(row, 4)?,
    })
}

fn token_from_row(row: &DbRow) -> StoreResult<ApiToken> {
    let user: Option<i64> = row.try_get(2)?;
    let role_name: String = row.try_get(3)?;
    Ok(ApiToken {
        id: TokenId(row.try_get(0)?),
        org: OrgId(row.try_get(1)?),
        user: user.map(UserId),
        role: role(&role_name)?,
        name: row.try_get(4)?,
        created_at: super::read_time(row, 5)?,
        expires_at: super::read_optional_time(row, 6)?,
        revoked_at: super::read_optional_time(row, 7)?,
    })
}

fn audit_from_row(row: &DbRow) -> StoreResult<AuditEntry> {
    let org: Option<i64> = row.try_get(3)?;
    Ok(AuditEntry {
        sequence: row.try_get(0)?,
        at: super::read_time(row, 1)?,
        actor: row.try_get(2)?,
        org: org.map(OrgId),
        action: row.try_get(4)?,
        object_type: row.try_get(5)?,
        object_id: row.try_get(6)?,
        before: row.try_get(7)?,
        after: row.try_get(8)?,
        previous_hash: row.try_get(9)?,
        hash: row.try_get(10)?,
    })
}

// ---------------------------------------------------------------------------------------------
// Loading records

async fn attach_shares(conn: &mut Conn, banks: &mut [Bank]) -> StoreResult<()> {
    if banks.is_empty() {
        return Ok(());
    }
    let mut query =
        QueryBuilder::<Db>::new("SELECT bank_id, org_id FROM bank_shares WHERE bank_id IN (");
    let mut ids = query.separated(", ");
    for bank in banks.iter() {
        ids.push_bind(bank.id.0);
    }
    query.push(") ORDER BY bank_id, org_id");
    let rows = query.build().fetch_all(&mut *conn).await?;
    let mut shares: HashMap<i64, Vec<OrgId>> = HashMap::new();
    for row in rows {
        shares
            .entry(row.try_get(0)?)
            .or_default()
            .push(OrgId(row.try_get(1)?));
    }
    for bank in banks.iter_mut() {
        bank.shared_with = shares.remove(&bank.id.0).unwrap_or_default();
    }
    Ok(())
}

async fn load_banks(conn: &mut Conn, rows: Vec<DbRow>) -> StoreResult<Vec<Bank>> {
    let mut banks = rows
        .iter()
        .map(bank_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    attach_shares(conn, &mut banks).await?;
    Ok(banks)
}

async fn find_bank(conn: &mut Conn, id: BankId) -> StoreResult<Bank> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        bank_columns!(),
        " FROM banks b WHERE b.id = $1"
    ))
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?;
    load_banks(conn, rows)
        .await?
        .pop()
        .ok_or_else(|| StoreError::NotFound(format!("bank {}", id.0)))
}

async fn attach_signals(conn: &mut Conn, items: &mut [Content]) -> StoreResult<()> {
    if items.is_empty() {
        return Ok(());
    }
    let mut query = QueryBuilder::<Db>::new(concat!(
        "SELECT ",
        signal_columns!(),
        " FROM signals s WHERE s.content_id IN ("
    ));
    let mut ids = query.separated(", ");
    for item in items.iter() {
        ids.push_bind(item.id.0);
    }
    query.push(") ORDER BY s.content_id, s.id");
    let rows = query.build().fetch_all(&mut *conn).await?;
    let mut signals: HashMap<ContentId, Vec<Signal>> = HashMap::new();
    for row in &rows {
        let signal = signal_from_row(row)?;
        signals.entry(signal.content).or_default().push(signal);
    }
    for item in items.iter_mut() {
        item.signals = signals.remove(&item.id).unwrap_or_default();
    }
    Ok(())
}

async fn find_content(conn: &mut Conn, id: ContentId) -> StoreResult<Content> {
    let row = sqlx::query(concat!(
        "SELECT ",
        content_columns!(),
        " FROM content c WHERE c.id = $1"
    ))
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("content {}", id.0)))?;
    let mut items = [content_from_row(&row)?];
    attach_signals(conn, &mut items).await?;
    let [item] = items;
    Ok(item)
}

async fn find_organisation(conn: &mut Conn, id: OrgId) -> StoreResult<Organisation> {
    let row = sqlx::query("SELECT id, name, created_at FROM organisations WHERE id = $1")
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("organisation {}", id.0)))?;
    organisation_from_row(&row)
}

async fn find_user(conn: &mut Conn, id: UserId) -> StoreResult<User> {
    let row = sqlx::query("SELECT id, org_id, name, role, created_at FROM users WHERE id = $1")
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("user {}", id.0)))?;
    user_from_row(&row)
}

async fn find_token(conn: &mut Conn, id: TokenId) -> StoreResult<ApiToken> {
    let row = sqlx::query(concat!(
        "SELECT ",
        token_columns!(),
        " FROM api_tokens t WHERE t.id = $1"
    ))
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("token {}", id.0)))?;
    token_from_row(&row)
}

// ---------------------------------------------------------------------------------------------
// Writing content

fn behaviours_json(labels: &Labels) -> StoreResult<String> {
    serde_json::to_string(&labels.behaviours)
        .map_err(|error| StoreError::Database(error.to_string()))
}

/// Inserts one signal, stamped with the next change sequence.
async fn insert_signal(
    write: &mut Write,
    bank: &Bank,
    content: ContentId,
    signal: &NewSignal,
) -> StoreResult<Signal> {
    let change = write.next_change();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO signals (content_id, bank_id, signal_type, algorithm_version, value, \
         quality, change_seq) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(content.0)
    .bind(bank.id.0)
    .bind(signal.signal_type.as_str())
    .bind(i64::from(signal.algorithm_version))
    .bind(&signal.value)
    .bind(signal.quality.map(i64::from))
    .bind(change)
    .fetch_one(write.conn())
    .await
    .map_err(|error| {
        conflict_on_unique(error, || {
            format!(
                "{} signal {} is already in bank {}",
                signal.signal_type, signal.value, bank.name
            )
        })
    })?;
    Ok(Signal {
        id: SignalId(id),
        content,
        signal_type: signal.signal_type,
        algorithm_version: signal.algorithm_version,
        value: signal.value.clone(),
        quality: signal.quality,
    })
}

/// Gives every signal of an item a new change sequence: the index must look at it again.
async fn restamp_signals(write: &mut Write, item: &Content) -> StoreResult<()> {
    for signal in &item.signals {
        let change = write.next_change();
        sqlx::query("UPDATE signals SET change_seq = $1 WHERE id = $2")
            .bind(change)
            .bind(signal.id.0)
            .execute(write.conn())
            .await?;
    }
    Ok(())
}

/// Records tombstones for the signals selected by `condition` (`content_id = $2` or
/// `bank_id = $2`) before they are deleted; returns how many.
async fn tombstone_signals(
    write: &mut Write,
    statement: &'static str,
    id: i64,
) -> StoreResult<u64> {
    let done = sqlx::query(statement)
        .bind(write.change_sequence)
        .bind(id)
        .execute(write.conn())
        .await?;
    let removed = done.rows_affected();
    write.change_sequence += i64::try_from(removed).unwrap_or(i64::MAX);
    Ok(removed)
}

const TOMBSTONE_CONTENT_SIGNALS: &str = "INSERT INTO removed_signals \
     (change_seq, signal_id, content_id, bank_id) \
     SELECT $1 + ROW_NUMBER() OVER (ORDER BY id), id, content_id, bank_id \
     FROM signals WHERE content_id = $2";
const TOMBSTONE_BANK_SIGNALS: &str = "INSERT INTO removed_signals \
     (change_seq, signal_id, content_id, bank_id) \
     SELECT $1 + ROW_NUMBER() OVER (ORDER BY id), id, content_id, bank_id \
     FROM signals WHERE bank_id = $2";

/// One import row, validated, waiting for its batch to be written.
struct PendingRow {
    line: u64,
    content: NewContent,
}

/// Counts of an import so far.
struct ImportCounts {
    rows: u64,
    added: u64,
    unchanged: u64,
    /// Rows added at which to refresh the planner's statistics next.
    statistics_at: u64,
}

impl Default for ImportCounts {
    fn default() -> Self {
        ImportCounts {
            rows: 0,
            added: 0,
            unchanged: 0,
            statistics_at: 2_000,
        }
    }
}

/// Writes one batch of import rows: skips rows with a signal already in the bank (or earlier
/// in the batch), then inserts the rest with two multi-row INSERTs.
async fn flush_import_batch(
    write: &mut Write,
    bank: &Bank,
    batch: &mut Vec<PendingRow>,
    counts: &mut ImportCounts,
) -> StoreResult<()> {
    let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
        return Ok(());
    };
    let lines = (first.line, last.line);
    write_import_batch(write, bank, batch, counts)
        .await
        .map_err(|error| match error {
            // Name the batch's lines so that a rejection by the database can be traced.
            StoreError::Database(message) => StoreError::Database(format!(
                "import failed in lines {}-{}: {message}",
                lines.0, lines.1
            )),
            other => other,
        })?;
    batch.clear();
    // The tables grow inside one long transaction; let the planner know at each tenfold
    // (PostgreSQL otherwise keeps plans made when they were small, and scans them in full).
    if counts.added >= counts.statistics_at {
        super::refresh_statistics(write.conn()).await?;
        counts.statistics_at = counts.added.saturating_mul(10);
    }
    Ok(())
}

/// Reads, validates and writes the rows of an import in batches, reporting progress.
async fn import_rows(
    write: &mut Write,
    bank: &Bank,
    rows: &mut ImportRows<'_>,
    options: &ImportOptions,
    progress: &mut (dyn FnMut(ImportProgress) + Send),
    counts: &mut ImportCounts,
) -> StoreResult<()> {
    let every = options.progress_every.max(1);
    let mut batch: Vec<PendingRow> = Vec::with_capacity(IMPORT_BATCH_ROWS);
    let mut batch_signals = 0usize;
    let report = |counts: &ImportCounts| ImportProgress {
        rows: counts.rows,
        added: counts.added,
        unchanged: counts.unchanged,
    };
    for row in rows {
        let row = row?;
        let content = validate::content(&row.content).map_err(|error| RowError {
            line: row.line,
            message: error.to_string(),
        })?;
        batch_signals += content.signals.len();
        batch.push(PendingRow {
            line: row.line,
            content,
        });
        counts.rows += 1;
        let report_now = counts.rows.is_multiple_of(every);
        if report_now || batch.len() >= IMPORT_BATCH_ROWS || batch_signals >= IMPORT_BATCH_SIGNALS {
            flush_import_batch(write, bank, &mut batch, counts).await?;
            batch_signals = 0;
        }
        if report_now {
            progress(report(counts));
        }
    }
    flush_import_batch(write, bank, &mut batch, counts).await?;
    progress(report(counts));
    Ok(())
}

async fn write_import_batch(
    write: &mut Write,
    bank: &Bank,
    batch: &[PendingRow],
    counts: &mut ImportCounts,
) -> StoreResult<()> {
    // Which of the batch's values the bank already has, with the types they have them as (a
    // bit per signal type). Earlier batches are already written in this transaction, so they
    // are found here too; rows accepted earlier in this batch are added as they are accepted.
    let values: HashSet<&str> = batch
        .iter()
        .flat_map(|row| row.content.signals.iter().map(|s| s.value.as_str()))
        .collect();
    let mut known: HashMap<String, u16> = HashMap::with_capacity(values.len());
    {
        let mut query =
            QueryBuilder::<Db>::new("SELECT signal_type, value FROM signals WHERE bank_id = ");
        query.push_bind(bank.id.0);
        query.push(" AND value IN (");
        let mut list = query.separated(", ");
        for value in &values {
            list.push_bind(*value);
        }
        query.push(")");
        let rows = query.build().fetch_all(write.conn()).await?;
        for row in rows {
            let kind: &str = row.try_get(0)?;
            let bit = type_bit(signal_type(kind)?);
            *known.entry(row.try_get(1)?).or_default() |= bit;
        }
    }
    let mut new_rows: Vec<&PendingRow> = Vec::with_capacity(batch.len());
    for row in batch.iter() {
        let seen = row.content.signals.iter().any(|signal| {
            known
                .get(signal.value.as_str())
                .is_some_and(|bits| bits & type_bit(signal.signal_type) != 0)
        });
        if seen {
            counts.unchanged += 1;
            continue;
        }
        for signal in &row.content.signals {
            *known.entry(signal.value.clone()).or_default() |= type_bit(signal.signal_type);
        }
        new_rows.push(row);
    }
    counts.added += new_rows.len() as u64;
    if !new_rows.is_empty() {
        let ids = super::reserve_content_ids(&mut write.tx, new_rows.len()).await?;
        let now = super::time_param(write.now);
        let mut behaviours = Vec::with_capacity(new_rows.len());
        for row in &new_rows {
            behaviours.push(behaviours_json(&row.content.labels)?);
        }
        let mut query = QueryBuilder::<Db>::new(
            "INSERT INTO content (id, bank_id, entity, tier, severity, confidence, behaviours, \
             tlp, note, source, enabled, disabled_until, created_at, updated_at) ",
        );
        query.push_values(
            new_rows.iter().zip(&ids).zip(&behaviours),
            |mut values, ((row, id), behaviours)| {
                let labels = &row.content.labels;
                values
                    .push_bind(*id)
                    .push_bind(bank.id.0)
                    .push_bind(labels.entity.as_deref())
                    .push_bind(labels.tier.map(|tier| i64::from(tier.number())))
                    .push_bind(labels.severity.map(|s| i64::from(s.value())))
                    .push_bind(labels.confidence.map(|c| i64::from(c.value())))
                    .push_bind(behaviours.as_str())
                    .push_bind(labels.tlp.as_str())
                    .push_bind(row.content.note.as_str())
                    .push_bind(row.content.source.as_str())
                    .push_bind(row.content.enabled)
                    .push_bind(row.content.disabled_until.map(super::time_param))
                    .push_bind(now)
                    .push_bind(now);
            },
        );
        query.build().execute(write.conn()).await?;

        let mut signals: Vec<(i64, &NewSignal, i64)> = Vec::new();
        for (row, id) in new_rows.iter().zip(&ids) {
            for signal in &row.content.signals {
                let change = write.next_change();
                signals.push((*id, signal, change));
            }
        }
        for chunk in signals.chunks(IMPORT_BATCH_SIGNALS) {
            let mut query = QueryBuilder::<Db>::new(
                "INSERT INTO signals (content_id, bank_id, signal_type, algorithm_version, \
                 value, quality, change_seq) ",
            );
            query.push_values(chunk, |mut values, (content, signal, change)| {
                values
                    .push_bind(*content)
                    .push_bind(bank.id.0)
                    .push_bind(signal.signal_type.as_str())
                    .push_bind(i64::from(signal.algorithm_version))
                    .push_bind(signal.value.as_str())
                    .push_bind(signal.quality.map(i64::from))
                    .push_bind(*change);
            });
            query.build().execute(write.conn()).await?;
        }
    }
    Ok(())
}

/// A distinct bit for each signal type.
fn type_bit(kind: SignalType) -> u16 {
    let position = SignalType::ALL
        .iter()
        .position(|known| *known == kind)
        .unwrap_or(15);
    1 << position
}

/// `%text%` for LIKE, with LIKE's own wildcards in `text` escaped by `\`.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for character in text.chars() {
        if matches!(character, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(character);
    }
    pattern.push('%');
    pattern
}

/// A searched signal value in stored form: hex digests are stored lowercase.
fn searched_value(kind: Option<SignalType>, value: &str) -> String {
    let value = value.trim();
    let hex_kind = kind.is_none_or(|kind| {
        !matches!(
            kind,
            SignalType::Vpdq | SignalType::Audio | SignalType::TextMinhash
        )
    });
    if hex_kind && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        value.to_ascii_lowercase()
    } else {
        value.to_string()
    }
}

fn page_limit(limit: u32, default: u32, max: u32) -> i64 {
    i64::from(if limit == 0 { default } else { limit.min(max) })
}

// ---------------------------------------------------------------------------------------------
// The traits

#[async_trait]
impl BankStore for StoreImpl {
    async fn create_bank(&self, actor: &Actor, new: NewBank) -> StoreResult<Bank> {
        validate::text("description", &new.description)?;
        let mut write = Write::begin(self).await?;
        find_organisation(write.conn(), new.owner).await?;
        let now = write.now;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO banks (name, owner_id, description, matching_enabled, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(new.name.as_str())
        .bind(new.owner.0)
        .bind(&new.description)
        .bind(new.matching_enabled)
        .bind(super::time_param(now))
        .bind(super::time_param(now))
        .fetch_one(write.conn())
        .await
        .map_err(|error| {
            conflict_on_unique(error, || format!("bank {} already exists", new.name))
        })?;
        let bank = Bank {
            id: BankId(id),
            name: new.name,
            owner: new.owner,
            description: new.description,
            matching_enabled: new.matching_enabled,
            shared_with: Vec::new(),
            created_at: now,
            updated_at: now,
        };
        write
            .audit(draft(
                actor,
                bank.owner,
                "bank.create",
                "bank",
                id,
                None,
                Some(json::bank(&bank)),
            ))
            .await?;
        write.commit().await?;
        Ok(bank)
    }

    async fn bank(&self, id: BankId) -> StoreResult<Bank> {
        let mut conn = self.pool.acquire().await?;
        find_bank(&mut conn, id).await
    }

    async fn bank_by_name(&self, name: &BankName) -> StoreResult<Bank> {
        let mut conn = self.pool.acquire().await?;
        let rows = sqlx::query(concat!(
            "SELECT ",
            bank_columns!(),
            " FROM banks b WHERE b.name = $1"
        ))
        .bind(name.as_str())
        .fetch_all(&mut *conn)
        .await?;
        load_banks(&mut conn, rows)
            .await?
            .pop()
            .ok_or_else(|| StoreError::NotFound(format!("bank {name}")))
    }

    async fn list_banks(&self) -> StoreResult<Vec<Bank>> {
        let mut conn = self.pool.acquire().await?;
        let rows = sqlx::query(concat!(
            "SELECT ",
            bank_columns!(),
            " FROM banks b ORDER BY b.name"
        ))
        .fetch_all(&mut *conn)
        .await?;
        load_banks(&mut conn, rows).await
    }

    async fn banks_visible_to(&self, org: OrgId) -> StoreResult<Vec<Bank>> {
        let mut conn = self.pool.acquire().await?;
        let rows = sqlx::query(concat!(
            "SELECT ",
            bank_columns!(),
            " FROM banks b WHERE b.owner_id = $1 OR EXISTS (SELECT 1 FROM bank_shares s \
             WHERE s.bank_id = b.id AND s.org_id = $1) ORDER BY b.name"
        ))
        .bind(org.0)
        .fetch_all(&mut *conn)
        .await?;
        load_banks(&mut conn, rows).await
    }

    async fn update_bank(
        &self,
        actor: &Actor,
        id: BankId,
        update: BankUpdate,
    ) -> StoreResult<Bank> {
        if let Some(description) = &update.description {
            validate::text("description", description)?;
        }
        let mut write = Write::begin(self).await?;
        let before = find_bank(write.conn(), id).await?;
        let mut after = before.clone();
        if let Some(name) = update.name {
            after.name = name;
        }
        if let Some(description) = update.description {
            after.description = description;
        }
        if let Some(matching_enabled) = update.matching_enabled {
            after.matching_enabled = matching_enabled;
        }
        if after == before {
            return Ok(before);
        }
        after.updated_at = write.now;
        sqlx::query(
            "UPDATE banks SET name = $1, description = $2, matching_enabled = $3, updated_at = $4 \
             WHERE id = $5",
        )
        .bind(after.name.as_str())
        .bind(&after.description)
        .bind(after.matching_enabled)
        .bind(super::time_param(after.updated_at))
        .bind(id.0)
        .execute(write.conn())
        .await
        .map_err(|error| {
            conflict_on_unique(error, || format!("bank {} already exists", after.name))
        })?;
        write
            .audit(draft(
                actor,
                after.owner,
                "bank.update",
                "bank",
                id.0,
                Some(json::bank(&before)),
                Some(json::bank(&after)),
            ))
            .await?;
        write.commit().await?;
        Ok(after)
    }

    async fn delete_bank(&self, actor: &Actor, id: BankId) -> StoreResult<()> {
        let mut write = Write::begin(self).await?;
        let bank = find_bank(write.conn(), id).await?;
        let items: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM content WHERE bank_id = $1")
            .bind(id.0)
            .fetch_one(write.conn())
            .await?;
        tombstone_signals(&mut write, TOMBSTONE_BANK_SIGNALS, id.0).await?;
        // Content, signals and shares go with the bank (ON DELETE CASCADE).
        sqlx::query("DELETE FROM banks WHERE id = $1")
            .bind(id.0)
            .execute(write.conn())
            .await?;
        let mut before = json::bank_value(&bank);
        before["content_count"] = serde_json::Value::from(items);
        write
            .audit(draft(
                actor,
                bank.owner,
                "bank.delete",
                "bank",
                id.0,
                Some(before.to_string()),
                None,
            ))
            .await?;
        write.commit().await
    }

    async fn share_bank(&self, actor: &Actor, id: BankId, with: OrgId) -> StoreResult<Bank> {
        let mut write = Write::begin(self).await?;
        let before = find_bank(write.conn(), id).await?;
        find_organisation(write.conn(), with).await?;
        if before.owner == with {
            return Err(StoreError::Invalid(format!(
                "bank {} belongs to organisation {}: it cannot be shared with its owner",
                before.name, with.0
            )));
        }
        if before.shared_with.contains(&with) {
            return Ok(before);
        }
        let now = write.now;
        sqlx::query("INSERT INTO bank_shares (bank_id, org_id, created_at) VALUES ($1, $2, $3)")
            .bind(id.0)
            .bind(with.0)
            .bind(super::time_param(now))
            .execute(write.conn())
            .await?;
        sqlx::query("UPDATE banks SET updated_at = $1 WHERE id = $2")
            .bind(super::time_param(now))
            .bind(id.0)
            .execute(write.conn())
            .await?;
        let mut after = before.clone();
        after.shared_with.push(with);
        after.shared_with.sort();
        after.updated_at = now;
        write
            .audit(draft(
                actor,
                after.owner,
                "bank.share",
                "bank",
                id.0,
                Some(json::bank(&before)),
                Some(json::bank(&after)),
            ))
            .await?;
        write.commit().await?;
        Ok(after)
    }

    async fn unshare_bank(&self, actor: &Actor, id: BankId, with: OrgId) -> StoreResult<Bank> {
        let mut write = Write::begin(self).await?;
        let before = find_bank(write.conn(), id).await?;
        if !before.shared_with.contains(&with) {
            return Ok(before);
        }
        let now = write.now;
        sqlx::query("DELETE FROM bank_shares WHERE bank_id = $1 AND org_id = $2")
            .bind(id.0)
            .bind(with.0)
            .execute(write.conn())
            .await?;
        sqlx::query("UPDATE banks SET updated_at = $1 WHERE id = $2")
            .bind(super::time_param(now))
            .bind(id.0)
            .execute(write.conn())
            .await?;
        let mut after = before.clone();
        after.shared_with.retain(|org| *org != with);
        after.updated_at = now;
        write
            .audit(draft(
                actor,
                after.owner,
                "bank.unshare",
                "bank",
                id.0,
                Some(json::bank(&before)),
                Some(json::bank(&after)),
            ))
            .await?;
        write.commit().await?;
        Ok(after)
    }
}

#[async_trait]
impl ContentStore for StoreImpl {
    async fn add_content(
        &self,
        actor: &Actor,
        bank: BankId,
        new: NewContent,
    ) -> StoreResult<Content> {
        let new = validate::content(&new)?;
        let mut write = Write::begin(self).await?;
        let bank = find_bank(write.conn(), bank).await?;
        let now = write.now;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO content (bank_id, entity, tier, severity, confidence, behaviours, tlp, \
             note, source, enabled, disabled_until, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        )
        .bind(bank.id.0)
        .bind(&new.labels.entity)
        .bind(new.labels.tier.map(|tier| i64::from(tier.number())))
        .bind(new.labels.severity.map(|s| i64::from(s.value())))
        .bind(new.labels.confidence.map(|c| i64::from(c.value())))
        .bind(behaviours_json(&new.labels)?)
        .bind(new.labels.tlp.as_str())
        .bind(&new.note)
        .bind(&new.source)
        .bind(new.enabled)
        .bind(new.disabled_until.map(super::time_param))
        .bind(super::time_param(now))
        .bind(super::time_param(now))
        .fetch_one(write.conn())
        .await?;
        let id = ContentId(id);
        let mut signals = Vec::with_capacity(new.signals.len());
        for signal in &new.signals {
            signals.push(insert_signal(&mut write, &bank, id, signal).await?);
        }
        let item = Content {
            id,
            bank: bank.id,
            labels: new.labels,
            note: new.note,
            source: new.source,
            enabled: new.enabled,
            disabled_until: new.disabled_until,
            created_at: now,
            updated_at: now,
            signals,
        };
        write
            .audit(draft(
                actor,
                bank.owner,
                "content.create",
                "content",
                id.0,
                None,
                Some(json::content(&item)),
            ))
            .await?;
        write.commit().await?;
        Ok(item)
    }

    async fn content(&self, id: ContentId) -> StoreResult<Content> {
        let mut conn = self.pool.acquire().await?;
        find_content(&mut conn, id).await
    }

    async fn update_content(
        &self,
        actor: &Actor,
        id: ContentId,
        update: ContentUpdate,
    ) -> StoreResult<Content> {
        let labels = update.labels.as_ref().map(validate::labels).transpose()?;
        if let Some(note) = &update.note {
            validate::text("note", note)?;
        }
        if let Some(source) = &update.source {
            validate::text("source", source)?;
        }
        let mut write = Write::begin(self).await?;
        let before = find_content(write.conn(), id).await?;
        let bank = find_bank(write.conn(), before.bank).await?;
        let mut after = before.clone();
        if let Some(labels) = labels {
            after.labels = labels;
        }
        if let Some(note) = update.note {
            after.note = note;
        }
        if let Some(source) = update.source {
            after.source = source;
        }
        if let Some(enabled) = update.enabled {
            after.enabled = enabled;
        }
        if let Some(disabled_until) = update.disabled_until {
            after.disabled_until = disabled_until.map(crate::time::truncate);
        }
        if after == before {
            return Ok(before);
        }
        after.updated_at = write.now;
        sqlx::query(
            "UPDATE content SET entity = $1, tier = $2, severity = $3, confidence = $4, \
             behaviours = $5, tlp = $6, note = $7, source = $8, enabled = $9, \
             disabled_until = $10, updated_at = $11 WHERE id = $12",
        )
        .bind(&after.labels.entity)
        .bind(after.labels.tier.map(|tier| i64::from(tier.number())))
        .bind(after.labels.severity.map(|s| i64::from(s.value())))
        .bind(after.labels.confidence.map(|c| i64::from(c.value())))
        .bind(behaviours_json(&after.labels)?)
        .bind(after.labels.tlp.as_str())
        .bind(&after.note)
        .bind(&after.source)
        .bind(after.enabled)
        .bind(after.disabled_until.map(super::time_param))
        .bind(super::time_param(after.updated_at))
        .bind(id.0)
        .execute(write.conn())
        .await?;
        restamp_signals(&mut write, &after).await?;
        write
            .audit(draft(
                actor,
                bank.owner,
                "content.update",
                "content",
                id.0,
                Some(json::content(&before)),
                Some(json::content(&after)),
            ))
            .await?;
        write.commit().await?;
        Ok(after)
    }

    async fn delete_content(&self, actor: &Actor, id: ContentId) -> StoreResult<()> {
        let mut write = Write::begin(self).await?;
        let before = find_content(write.conn(), id).await?;
        let bank = find_bank(write.conn(), before.bank).await?;
        tombstone_signals(&mut write, TOMBSTONE_CONTENT_SIGNALS, id.0).await?;
        sqlx::query("DELETE FROM content WHERE id = $1")
            .bind(id.0)
            .execute(write.conn())
            .await?;
        write
            .audit(draft(
                actor,
                bank.owner,
                "content.delete",
                "content",
                id.0,
                Some(json::content(&before)),
                None,
            ))
            .await?;
        write.commit().await
    }

    async fn add_signal(
        &self,
        actor: &Actor,
        id: ContentId,
        signal: NewSignal,
    ) -> StoreResult<Signal> {
        let signal = validate::signal(&signal)?;
        let mut write = Write::begin(self).await?;
        let before = find_content(write.conn(), id).await?;
        let bank = find_bank(write.conn(), before.bank).await?;
        let added = insert_signal(&mut write, &bank, id, &signal).await?;
        let now = write.now;
        sqlx::query("UPDATE content SET updated_at = $1 WHERE id = $2")
            .bind(super::time_param(now))
            .bind(id.0)
            .execute(write.conn())
            .await?;
        let mut after = before.clone();
        after.signals.push(added.clone());
        after.updated_at = now;
        write
            .audit(draft(
                actor,
                bank.owner,
                "signal.add",
                "content",
                id.0,
                Some(json::content(&before)),
                Some(json::content(&after)),
            ))
            .await?;
        write.commit().await?;
        Ok(added)
    }

    async fn search_content(&self, query: &ContentQuery) -> StoreResult<Page<Content, ContentId>> {
        let limit = page_limit(
            query.limit,
            ContentQuery::DEFAULT_LIMIT,
            ContentQuery::MAX_LIMIT,
        );
        let banks = match &query.scope {
            BankScope::All => None,
            BankScope::Only(banks) if banks.is_empty() => {
                return Ok(Page {
                    items: Vec::new(),
                    next: None,
                })
            }
            BankScope::Only(banks) => Some(banks),
        };
        let mut sql = QueryBuilder::<Db>::new(concat!(
            "SELECT ",
            content_columns!(),
            " FROM content c WHERE c.id > "
        ));
        sql.push_bind(query.after.map_or(0, |after| after.0));
        if let Some(banks) = banks {
            sql.push(" AND c.bank_id IN (");
            let mut list = sql.separated(", ");
            for bank in banks {
                list.push_bind(bank.0);
            }
            sql.push(")");
        }
        if query.signal_type.is_some() || query.signal_value.is_some() {
            // Driven from the signals' (bank_id, value, signal_type) index when a value is given.
            sql.push(" AND c.id IN (SELECT s.content_id FROM signals s WHERE 1 = 1");
            if let Some(value) = &query.signal_value {
                sql.push(" AND s.value = ");
                sql.push_bind(searched_value(query.signal_type, value));
            }
            if let Some(kind) = query.signal_type {
                sql.push(" AND s.signal_type = ");
                sql.push_bind(kind.as_str());
            }
            if let Some(banks) = banks {
                sql.push(" AND s.bank_id IN (");
                let mut list = sql.separated(", ");
                for bank in banks {
                    list.push_bind(bank.0);
                }
                sql.push(")");
            }
            sql.push(")");
        }
        if let Some(entity) = &query.entity {
            sql.push(" AND c.entity = ");
            sql.push_bind(entity.trim().to_lowercase());
        }
        if let Some(tier) = query.tier {
            sql.push(" AND c.tier = ");
            sql.push_bind(i64::from(tier.number()));
        }
        if let Some(text) = &query.note_contains {
            sql.push(" AND c.note ");
            sql.push(super::CASE_INSENSITIVE_LIKE);
            sql.push(" ");
            sql.push_bind(contains_pattern(text));
            sql.push(" ESCAPE '\\'");
        }
        if let Some(enabled) = query.enabled {
            sql.push(" AND c.enabled = ");
            sql.push_bind(enabled);
        }
        sql.push(" ORDER BY c.id LIMIT ");
        // One more than asked for, to know whether there is a next page.
        sql.push_bind(limit + 1);
        let mut conn = self.pool.acquire().await?;
        let rows = sql.build().fetch_all(&mut *conn).await?;
        let mut items = rows
            .iter()
            .map(content_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let more = items.len() as i64 > limit;
        items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        attach_signals(&mut conn, &mut items).await?;
        let next = if more {
            items.last().map(|item| item.id)
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn content_count(&self, bank: BankId) -> StoreResult<u64> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM content WHERE bank_id = $1")
            .bind(bank.0)
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn import_content(
        &self,
        actor: &Actor,
        bank: BankId,
        rows: &mut ImportRows<'_>,
        options: &ImportOptions,
        progress: &mut (dyn FnMut(ImportProgress) + Send),
    ) -> StoreResult<ImportSummary> {
        let mut write = Write::begin(self).await?;
        let bank = find_bank(write.conn(), bank).await?;
        super::begin_bulk_write(write.conn()).await?;
        let mut counts = ImportCounts::default();
        let outcome = import_rows(&mut write, &bank, rows, options, progress, &mut counts).await;
        // Undo the bulk settings whether or not the import worked: the connection goes back to
        // the pool either way. On failure, dropping `write` rolls everything back.
        let restored = super::end_bulk_write(write.conn()).await;
        outcome?;
        restored?;
        let summary = serde_json::json!({
            "bank": bank.id.0,
            "bank_name": bank.name.as_str(),
            "origin": options.origin,
            "rows": counts.rows,
            "added": counts.added,
            "unchanged": counts.unchanged,
        });
        let audit_sequence = write
            .audit(draft(
                actor,
                bank.owner,
                "content.import",
                "bank",
                bank.id.0,
                None,
                Some(summary.to_string()),
            ))
            .await?;
        write.commit().await?;
        Ok(ImportSummary {
            rows: counts.rows,
            added: counts.added,
            unchanged: counts.unchanged,
            audit_sequence,
        })
    }
}

#[async_trait]
impl IndexFeed for StoreImpl {
    async fn change_sequence(&self) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT change_sequence FROM store_head WHERE id = 1")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn active_signals_page(
        &self,
        now: Timestamp,
        after: Option<SignalId>,
        limit: u32,
    ) -> StoreResult<Vec<IndexSignal>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            index_signal_columns!(),
            " FROM signals s JOIN content c ON c.id = s.content_id \
             WHERE s.id > $1 AND c.enabled AND (c.disabled_until IS NULL OR c.disabled_until <= $2) \
             ORDER BY s.id LIMIT $3"
        ))
        .bind(after.map_or(0, |after| after.0))
        .bind(super::time_param(crate::time::truncate(now)))
        .bind(page_limit(limit, MAX_FEED_PAGE, MAX_FEED_PAGE))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| index_signal_from_row(row, 0))
            .collect()
    }

    async fn signal_changes_since(
        &self,
        after: i64,
        now: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<SignalChange>> {
        // Each branch is limited on its own so that a page costs O(limit), not O(changes).
        // The NULLs are typed because PostgreSQL makes an untyped NULL in a subquery text.
        let rows = sqlx::query(concat!(
            "SELECT * FROM (",
            "SELECT * FROM (SELECT s.change_seq AS seq, ",
            index_signal_columns!(),
            ", (c.enabled AND (c.disabled_until IS NULL OR c.disabled_until <= $2)) AS active \
             FROM signals s JOIN content c ON c.id = s.content_id WHERE s.change_seq > $1 \
             ORDER BY s.change_seq LIMIT $3) present \
             UNION ALL \
             SELECT * FROM (SELECT r.change_seq AS seq, r.signal_id, r.content_id, r.bank_id, \
             CAST(NULL AS TEXT), CAST(NULL AS BIGINT), CAST(NULL AS TEXT), CAST(NULL AS BIGINT), \
             CAST(NULL AS BOOLEAN) FROM removed_signals r WHERE r.change_seq > $1 \
             ORDER BY r.change_seq LIMIT $3) removed\
             ) changes ORDER BY seq LIMIT $3"
        ))
        .bind(after)
        .bind(super::time_param(crate::time::truncate(now)))
        .bind(page_limit(limit, MAX_FEED_PAGE, MAX_FEED_PAGE))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let sequence: i64 = row.try_get(0)?;
                let active: Option<bool> = row.try_get(8)?;
                Ok(match active {
                    Some(active) => SignalChange::Present {
                        sequence,
                        signal: index_signal_from_row(row, 1)?,
                        active,
                    },
                    None => SignalChange::Removed {
                        sequence,
                        signal: SignalId(row.try_get(1)?),
                        content: ContentId(row.try_get(2)?),
                        bank: BankId(row.try_get(3)?),
                    },
                })
            })
            .collect()
    }

    async fn signals_reactivating_between(
        &self,
        after: Timestamp,
        until: Timestamp,
    ) -> StoreResult<Vec<IndexSignal>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            index_signal_columns!(),
            " FROM content c JOIN signals s ON s.content_id = c.id \
             WHERE c.enabled AND c.disabled_until > $1 AND c.disabled_until <= $2 ORDER BY s.id"
        ))
        .bind(super::time_param(crate::time::truncate(after)))
        .bind(super::time_param(crate::time::truncate(until)))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| index_signal_from_row(row, 0))
            .collect()
    }
}

#[async_trait]
impl AuthStore for StoreImpl {
    async fn create_organisation(&self, actor: &Actor, name: &str) -> StoreResult<Organisation> {
        let name = validate::name("organisation name", name)?;
        let mut write = Write::begin(self).await?;
        let now = write.now;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO organisations (name, created_at) VALUES ($1, $2) RETURNING id",
        )
        .bind(&name)
        .bind(super::time_param(now))
        .fetch_one(write.conn())
        .await
        .map_err(|error| {
            conflict_on_unique(error, || format!("organisation {name:?} already exists"))
        })?;
        let org = Organisation {
            id: OrgId(id),
            name,
            created_at: now,
        };
        write
            .audit(draft(
                actor,
                org.id,
                "organisation.create",
                "organisation",
                id,
                None,
                Some(json::organisation(&org)),
            ))
            .await?;
        write.commit().await?;
        Ok(org)
    }

    async fn organisation(&self, id: OrgId) -> StoreResult<Organisation> {
        let mut conn = self.pool.acquire().await?;
        find_organisation(&mut conn, id).await
    }

    async fn organisation_by_name(&self, name: &str) -> StoreResult<Organisation> {
        let row = sqlx::query("SELECT id, name, created_at FROM organisations WHERE name = $1")
            .bind(name.trim())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("organisation {name:?}")))?;
        organisation_from_row(&row)
    }

    async fn list_organisations(&self) -> StoreResult<Vec<Organisation>> {
        let rows = sqlx::query("SELECT id, name, created_at FROM organisations ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(organisation_from_row).collect()
    }

    async fn rename_organisation(
        &self,
        actor: &Actor,
        id: OrgId,
        name: &str,
    ) -> StoreResult<Organisation> {
        let name = validate::name("organisation name", name)?;
        let mut write = Write::begin(self).await?;
        let before = find_organisation(write.conn(), id).await?;
        if before.name == name {
            return Ok(before);
        }
        sqlx::query("UPDATE organisations SET name = $1 WHERE id = $2")
            .bind(&name)
            .bind(id.0)
            .execute(write.conn())
            .await
            .map_err(|error| {
                conflict_on_unique(error, || format!("organisation {name:?} already exists"))
            })?;
        let after = Organisation {
            name,
            ..before.clone()
        };
        write
            .audit(draft(
                actor,
                id,
                "organisation.rename",
                "organisation",
                id.0,
                Some(json::organisation(&before)),
                Some(json::organisation(&after)),
            ))
            .await?;
        write.commit().await?;
        Ok(after)
    }

    async fn create_user(&self, actor: &Actor, new: NewUser) -> StoreResult<User> {
        let name = validate::name("user name", &new.name)?;
        let mut write = Write::begin(self).await?;
        find_organisation(write.conn(), new.org).await?;
        let now = write.now;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (org_id, name, role, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING id",
        )
        .bind(new.org.0)
        .bind(&name)
        .bind(new.role.as_str())
        .bind(super::time_param(now))
        .fetch_one(write.conn())
        .await
        .map_err(|error| conflict_on_unique(error, || format!("user {name:?} already exists")))?;
        let user = User {
            id: UserId(id),
            org: new.org,
            name,
            role: new.role,
            created_at: now,
        };
        write
            .audit(draft(
                actor,
                user.org,
                "user.create",
                "user",
                id,
                None,
                Some(json::user(&user)),
            ))
            .await?;
        write.commit().await?;
        Ok(user)
    }

    async fn user(&self, id: UserId) -> StoreResult<User> {
        let mut conn = self.pool.acquire().await?;
        find_user(&mut conn, id).await
    }

    async fn user_by_name(&self, name: &str) -> StoreResult<User> {
        let row =
            sqlx::query("SELECT id, org_id, name, role, created_at FROM users WHERE name = $1")
                .bind(name.trim())
                .fetch_optional(&self.pool)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("user {name:?}")))?;
        user_from_row(&row)
    }

    async fn list_users(&self, org: OrgId) -> StoreResult<Vec<User>> {
        let rows = sqlx::query(
            "SELECT id, org_id, name, role, created_at FROM users WHERE org_id = $1 ORDER BY name",
        )
        .bind(org.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    async fn set_user_role(&self, actor: &Actor, id: UserId, role: Role) -> StoreResult<User> {
        let mut write = Write::begin(self).await?;
        let before = find_user(write.conn(), id).await?;
        if before.role == role {
            return Ok(before);
        }
        sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
            .bind(role.as_str())
            .bind(id.0)
            .execute(write.conn())
            .await?;
        let after = User {
            role,
            ..before.clone()
        };
        write
            .audit(draft(
                actor,
                after.org,
                "user.role",
                "user",
                id.0,
                Some(json::user(&before)),
                Some(json::user(&after)),
            ))
            .await?;
        write.commit().await?;
        Ok(after)
    }

    async fn create_token(&self, actor: &Actor, new: NewToken) -> StoreResult<ApiToken> {
        let name = validate::name("token name", &new.name)?;
        if !crate::token::is_secret_hash(&new.secret_hash) {
            return Err(StoreError::Invalid(
                "token secret hash must be 64 lowercase hexadecimal digits (hash_token_secret)"
                    .to_string(),
            ));
        }
        let mut write = Write::begin(self).await?;
        find_organisation(write.conn(), new.org).await?;
        if let Some(user) = new.user {
            let owner = find_user(write.conn(), user).await?;
            if owner.org != new.org {
                return Err(StoreError::Invalid(format!(
                    "user {} belongs to organisation {}, not {}",
                    user.0, owner.org.0, new.org.0
                )));
            }
        }
        let now = write.now;
        let expires_at = new.expires_at.map(crate::time::truncate);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_tokens (org_id, user_id, role, name, secret_hash, created_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(new.org.0)
        .bind(new.user.map(|user| user.0))
        .bind(new.role.as_str())
        .bind(&name)
        .bind(&new.secret_hash)
        .bind(super::time_param(now))
        .bind(expires_at.map(super::time_param))
        .fetch_one(write.conn())
        .await
        .map_err(|error| {
            conflict_on_unique(error, || "token secret is already in use".to_string())
        })?;
        let token = ApiToken {
            id: TokenId(id),
            org: new.org,
            user: new.user,
            role: new.role,
            name,
            created_at: now,
            expires_at,
            revoked_at: None,
        };
        write
            .audit(draft(
                actor,
                token.org,
                "token.create",
                "token",
                id,
                None,
                Some(json::token(&token)),
            ))
            .await?;
        write.commit().await?;
        Ok(token)
    }

    async fn token(&self, id: TokenId) -> StoreResult<ApiToken> {
        let mut conn = self.pool.acquire().await?;
        find_token(&mut conn, id).await
    }

    async fn authenticate_token(&self, secret_hash: &str) -> StoreResult<Option<ApiToken>> {
        if !crate::token::is_secret_hash(secret_hash) {
            return Ok(None);
        }
        let row = sqlx::query(concat!(
            "SELECT ",
            token_columns!(),
            " FROM api_tokens t WHERE t.secret_hash = $1"
        ))
        .bind(secret_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let token = token_from_row(&row)?;
        let now = self.clock.now();
        let expired = token.expires_at.is_some_and(|expires| expires <= now);
        if expired || token.revoked_at.is_some() {
            return Ok(None);
        }
        Ok(Some(token))
    }

    async fn list_tokens(&self, org: OrgId) -> StoreResult<Vec<ApiToken>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            token_columns!(),
            " FROM api_tokens t WHERE t.org_id = $1 ORDER BY t.id DESC"
        ))
        .bind(org.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(token_from_row).collect()
    }

    async fn revoke_token(&self, actor: &Actor, id: TokenId) -> StoreResult<ApiToken> {
        let mut write = Write::begin(self).await?;
        let before = find_token(write.conn(), id).await?;
        if before.revoked_at.is_some() {
            return Ok(before);
        }
        let now = write.now;
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2")
            .bind(super::time_param(now))
            .bind(id.0)
            .execute(write.conn())
            .await?;
        let after = ApiToken {
            revoked_at: Some(now),
            ..before.clone()
        };
        write
            .audit(draft(
                actor,
                after.org,
                "token.revoke",
                "token",
                id.0,
                Some(json::token(&before)),
                Some(json::token(&after)),
            ))
            .await?;
        write.commit().await?;
        Ok(after)
    }
}

#[async_trait]
impl AuditStore for StoreImpl {
    async fn audit_entries(&self, query: &AuditQuery) -> StoreResult<Vec<AuditEntry>> {
        let mut sql = QueryBuilder::<Db>::new(concat!(
            "SELECT ",
            audit_columns!(),
            " FROM audit_log WHERE sequence > "
        ));
        sql.push_bind(query.after.unwrap_or(0));
        if let Some(org) = query.org {
            sql.push(" AND org_id = ");
            sql.push_bind(org.0);
        }
        sql.push(" ORDER BY sequence LIMIT ");
        sql.push_bind(page_limit(query.limit, 100, 10_000));
        let rows = sql.build().fetch_all(&self.pool).await?;
        rows.iter().map(audit_from_row).collect()
    }

    async fn verify_audit(&self) -> StoreResult<AuditVerification> {
        // One read transaction: the head and the entries come from the same snapshot, so a
        // concurrent append cannot look like a tampered tail.
        let mut tx = super::begin_read(&self.pool).await?;
        let head = sqlx::query("SELECT audit_sequence, audit_hash FROM store_head WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?;
        let head_sequence: i64 = head.try_get(0)?;
        let head_hash: String = head.try_get(1)?;
        let mut walk = ChainWalk::new();
        let mut unlinked = None;
        {
            let mut rows = sqlx::query(concat!(
                "SELECT ",
                audit_columns!(),
                " FROM audit_log ORDER BY sequence"
            ))
            .fetch(&mut *tx);
            while let Some(row) = rows.try_next().await? {
                match walk.check(&audit_from_row(&row)?) {
                    Step::Intact => {}
                    Step::Broken(verdict) => return Ok(verdict),
                    Step::Unlinked {
                        sequence,
                        claimed_previous_hash,
                    } => {
                        unlinked = Some((sequence, claimed_previous_hash));
                        break;
                    }
                }
            }
        }
        if let Some((sequence, claimed_previous_hash)) = unlinked {
            let linked_to: Option<i64> = sqlx::query_scalar(
                "SELECT sequence FROM audit_log WHERE hash = $1 ORDER BY sequence LIMIT 1",
            )
            .bind(claimed_previous_hash)
            .fetch_optional(&mut *tx)
            .await?;
            return Ok(resolve_unlinked(sequence, linked_to));
        }
        Ok(walk.finish(head_sequence, &head_hash))
    }
}

#[async_trait]
impl Store for StoreImpl {
    fn backend(&self) -> crate::Backend {
        super::KIND
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

// The release and operation tables (takedown-impact's inputs): a child module, like the
// referral tables, so that it shares the write transaction and the audit chain's head.
#[path = "releases_sql.rs"]
mod releases;
