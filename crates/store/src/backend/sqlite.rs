//! The embedded default: one SQLite file in WAL mode.
//!
//! WAL lets readers (the index feed, searches, `audit verify`) run while a write commits.
//! Writers are serialised by SQLite itself; every write transaction starts with
//! `BEGIN IMMEDIATE` so it takes the write lock before reading anything, which avoids the
//! deadlock-and-retry of upgrading a read transaction, and waits on the busy timeout rather
//! than failing when another writer holds the lock.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, Sqlite, SqlitePool};
use takedown_model::{Clock, Timestamp};

use crate::{StoreError, StoreResult};

pub(crate) type Db = Sqlite;
pub(crate) type StoreImpl = SqliteStore;
pub(crate) const KIND: crate::Backend = crate::Backend::Sqlite;

/// SQLite's LIKE already ignores ASCII case.
const CASE_INSENSITIVE_LIKE: &str = "LIKE";
/// The head is locked by `BEGIN IMMEDIATE`; reading it is enough.
const HEAD_FOR_WRITE: &str =
    "SELECT audit_sequence, audit_hash, change_sequence FROM store_head WHERE id = 1";

/// Page cache per connection (negative: KiB), and during a bulk import, whose random inserts
/// into the signal index otherwise spill dirty pages to the WAL again and again.
const CACHE_SIZE: &str = "-65536";
const BULK_CACHE_SIZE: &str = "-524288";

/// How long a writer waits for another writer before giving up. Long, because a bulk import
/// holds the write lock for its whole (single) transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(120);

// Compiled once per backend on purpose: see shared.rs.
#[allow(
    clippy::duplicate_mod,
    reason = "one SQL implementation, compiled for each dialect"
)]
#[path = "shared.rs"]
mod shared;

/// A store in a SQLite file.
#[derive(Clone)]
pub(crate) struct SqliteStore {
    pool: SqlitePool,
    clock: Arc<dyn Clock>,
}

impl SqliteStore {
    /// Opens (creating it and its parent directories if needed) and migrates the file.
    pub(crate) async fn open(path: &Path, clock: Arc<dyn Clock>) -> StoreResult<SqliteStore> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|error| {
                StoreError::Invalid(format!("cannot create {}: {error}", parent.display()))
            })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            // FULL: a committed change (and its audit entry) survives a power cut, not only a
            // crash of the process. Bulk imports are one commit, so the cost is per change.
            .synchronous(SqliteSynchronous::Full)
            .pragma("cache_size", CACHE_SIZE)
            // Statement journals (kept so that one failing multi-row INSERT can be undone on
            // its own) in memory rather than in temporary files written page by page.
            .pragma("temp_store", "memory")
            // Rows the driver's worker thread may run ahead of the reader: fewer hand-offs
            // between threads when the index feed streams millions of rows.
            .row_buffer_size(1024);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        crate::migrations::sqlite().run(&pool).await?;
        Ok(SqliteStore { pool, clock })
    }
}

fn time_param(at: Timestamp) -> i64 {
    at.timestamp_micros()
}

fn read_time(row: &SqliteRow, column: usize) -> StoreResult<Timestamp> {
    crate::time::from_micros(row.try_get(column)?)
}

fn read_optional_time(row: &SqliteRow, column: usize) -> StoreResult<Option<Timestamp>> {
    let micros: Option<i64> = row.try_get(column)?;
    micros.map(crate::time::from_micros).transpose()
}

async fn begin_write(pool: &SqlitePool) -> StoreResult<sqlx::Transaction<'static, Sqlite>> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

/// A deferred transaction: its snapshot is taken at the first read and kept to the end.
async fn begin_read(pool: &SqlitePool) -> StoreResult<sqlx::Transaction<'static, Sqlite>> {
    Ok(pool.begin().await?)
}

/// Ids for `count` new content rows. The write lock is held, so nobody else allocates; the
/// AUTOINCREMENT counter (never lower than any id ever used) is the base, and inserting the
/// explicit ids moves it on.
async fn reserve_content_ids(
    tx: &mut sqlx::Transaction<'static, Sqlite>,
    count: usize,
) -> StoreResult<Vec<i64>> {
    let base: i64 = sqlx::query_scalar(
        "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'content'), 0), \
         COALESCE((SELECT MAX(id) FROM content), 0))",
    )
    .fetch_one(&mut **tx)
    .await?;
    let count = i64::try_from(count).map_err(|_| StoreError::Invalid("batch too large".into()))?;
    Ok((base + 1..=base + count).collect())
}

/// Gives the import's connection a large page cache for the length of the import.
async fn begin_bulk_write(conn: &mut sqlx::SqliteConnection) -> StoreResult<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "PRAGMA cache_size = {BULK_CACHE_SIZE}"
    )))
    .execute(conn)
    .await?;
    Ok(())
}

/// Shrinks the cache back (SQLite frees the pages above the limit).
async fn end_bulk_write(conn: &mut sqlx::SqliteConnection) -> StoreResult<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "PRAGMA cache_size = {CACHE_SIZE}"
    )))
    .execute(conn)
    .await?;
    Ok(())
}

/// SQLite's planner has no statistics to refresh: without `ANALYZE` data it assumes indexes
/// are selective, which is right for every query here.
async fn refresh_statistics(_conn: &mut sqlx::SqliteConnection) -> StoreResult<()> {
    Ok(())
}
