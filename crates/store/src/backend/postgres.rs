//! The PostgreSQL backend, for several nodes sharing one database.
//!
//! Writers are serialised by locking the one-row `store_head` table at the start of every
//! write transaction: audit entries and change-feed positions are then handed out in commit
//! order, which a per-transaction sequence could not guarantee (a later number can commit
//! first, and a reader that saw it would skip the earlier one for ever).

use std::sync::Arc;

use sqlx::postgres::{PgPoolOptions, PgRow};
use sqlx::{PgPool, Postgres, Row};
use takedown_model::{Clock, Timestamp};

use crate::{StoreError, StoreResult};

pub(crate) type Db = Postgres;
pub(crate) type StoreImpl = PostgresStore;
pub(crate) const KIND: crate::Backend = crate::Backend::Postgres;

/// PostgreSQL's LIKE is case-sensitive; ILIKE matches SQLite's LIKE for ASCII (and also
/// folds other scripts' case, which SQLite does not).
const CASE_INSENSITIVE_LIKE: &str = "ILIKE";
const HEAD_FOR_WRITE: &str =
    "SELECT audit_sequence, audit_hash, change_sequence FROM store_head WHERE id = 1 FOR UPDATE";

// Compiled once per backend on purpose: see shared.rs.
#[allow(
    clippy::duplicate_mod,
    reason = "one SQL implementation, compiled for each dialect"
)]
#[path = "shared.rs"]
mod shared;

/// A store in a PostgreSQL database.
#[derive(Clone)]
pub(crate) struct PostgresStore {
    pool: PgPool,
    clock: Arc<dyn Clock>,
}

impl PostgresStore {
    /// Connects and migrates.
    pub(crate) async fn open(url: &str, clock: Arc<dyn Clock>) -> StoreResult<PostgresStore> {
        let pool = PgPoolOptions::new().max_connections(8).connect(url).await?;
        crate::migrations::postgres().run(&pool).await?;
        Ok(PostgresStore { pool, clock })
    }
}

fn time_param(at: Timestamp) -> Timestamp {
    at
}

fn read_time(row: &PgRow, column: usize) -> StoreResult<Timestamp> {
    Ok(row.try_get(column)?)
}

fn read_optional_time(row: &PgRow, column: usize) -> StoreResult<Option<Timestamp>> {
    Ok(row.try_get(column)?)
}

async fn begin_write(pool: &PgPool) -> StoreResult<sqlx::Transaction<'static, Postgres>> {
    Ok(pool.begin().await?)
}

/// One snapshot for the whole transaction (READ COMMITTED would take one per statement).
async fn begin_read(pool: &PgPool) -> StoreResult<sqlx::Transaction<'static, Postgres>> {
    Ok(pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?)
}

/// Ids for `count` new content rows, drawn from the identity column's sequence (so the ids
/// are never handed out again, whoever inserts next).
async fn reserve_content_ids(
    tx: &mut sqlx::Transaction<'static, Postgres>,
    count: usize,
) -> StoreResult<Vec<i64>> {
    let count = i64::try_from(count).map_err(|_| StoreError::Invalid("batch too large".into()))?;
    Ok(sqlx::query_scalar(
        "SELECT nextval(pg_get_serial_sequence('content', 'id')) FROM generate_series(1, $1)",
    )
    .bind(count)
    .fetch_all(&mut **tx)
    .await?)
}

/// Fresh statistics before an import, so that its existence checks and foreign-key checks are
/// planned for the tables as they are, not as they were when the plans were cached.
async fn begin_bulk_write(conn: &mut sqlx::PgConnection) -> StoreResult<()> {
    refresh_statistics(conn).await
}

async fn end_bulk_write(_conn: &mut sqlx::PgConnection) -> StoreResult<()> {
    Ok(())
}

/// `ANALYZE` inside the transaction: it counts the transaction's own uncommitted rows, and the
/// new statistics invalidate cached plans (including those of the foreign-key triggers), so
/// lookups switch from scanning a table that was small to using its index.
async fn refresh_statistics(conn: &mut sqlx::PgConnection) -> StoreResult<()> {
    sqlx::query("ANALYZE content, signals")
        .execute(conn)
        .await?;
    Ok(())
}
