//! The release and operation tables' SQL, written once and compiled for each dialect like
//! `shared.rs`, of which this file is a child module (so it shares its write transaction,
//! which holds the audit chain's head).
//!
//! A bulk import inserts in multi-row batches with `ON CONFLICT (natural_key) DO NOTHING`: the
//! database, not a prior read, decides which rows are already there, and the statement's
//! affected-row count is the number added. Rows repeated inside one file are caught the same
//! way, since earlier batches are already written in the transaction.

use async_trait::async_trait;
use sqlx::{QueryBuilder, Row};
use takedown_model::{Actor, OrgId, Timestamp};

use super::{Conn, Db, DbRow, StoreImpl, Write};
use crate::audit::AuditDraft;
use crate::error::conflict_on_unique;
use crate::releases::codec;
use crate::releases::{
    release_key, NewOperation, NewRelease, OperationId, OperationRecord, OutletSummary,
    ReleaseCursor, ReleaseId, ReleaseQuery, ReleaseRecord, ReleaseRows, ReleaseStore,
    MAX_RELEASE_PAGE,
};
use crate::{
    ImportOptions, ImportProgress, ImportSummary, Page, RowError, StoreError, StoreResult,
};

/// Rows per multi-row INSERT: 10 columns each, far below both dialects' parameter limits.
const BATCH_ROWS: usize = 1_000;

macro_rules! release_columns {
    () => {
        "r.id, r.outlet, r.published_at, r.medium, r.language, r.channel, r.title, \
         r.fingerprints, r.origin, r.created_at"
    };
}
macro_rules! operation_columns {
    () => {
        "o.id, o.name, o.starts_at, o.ends_at, o.organisations, o.targets, o.controls, \
         o.infrastructure, o.notes, o.created_at, o.updated_at"
    };
}

/// A time as the dialect binds it, truncated to the store's precision.
macro_rules! time {
    ($at:expr) => {
        super::super::time_param(crate::time::truncate($at))
    };
}

fn org_of(actor: &Actor) -> Option<OrgId> {
    match actor {
        Actor::Token { org, .. } | Actor::User { org, .. } => Some(*org),
        Actor::Cli | Actor::System => None,
    }
}

fn audit_draft(
    actor: &Actor,
    action: &'static str,
    object_type: &'static str,
    object_id: String,
    before: Option<String>,
    after: Option<String>,
) -> AuditDraft {
    AuditDraft {
        actor: actor.to_string(),
        org: org_of(actor),
        action,
        object_type,
        object_id,
        before,
        after,
    }
}

fn release_from_row(row: &DbRow) -> StoreResult<ReleaseRecord> {
    let medium: String = row.try_get(3)?;
    let fingerprints: String = row.try_get(7)?;
    Ok(ReleaseRecord {
        id: ReleaseId(row.try_get(0)?),
        outlet: row.try_get(1)?,
        published_at: super::super::read_time(row, 2)?,
        medium: medium.parse().map_err(StoreError::corrupt)?,
        language: row.try_get(4)?,
        channel: row.try_get(5)?,
        title: row.try_get(6)?,
        fingerprints: codec::read_fingerprints(&fingerprints)?,
        origin: row.try_get(8)?,
        created_at: super::super::read_time(row, 9)?,
    })
}

fn operation_from_row(row: &DbRow) -> StoreResult<OperationRecord> {
    let organisations: String = row.try_get(4)?;
    let targets: String = row.try_get(5)?;
    let controls: String = row.try_get(6)?;
    let infrastructure: String = row.try_get(7)?;
    Ok(OperationRecord {
        id: OperationId(row.try_get(0)?),
        name: row.try_get(1)?,
        starts_at: super::super::read_time(row, 2)?,
        ends_at: super::super::read_time(row, 3)?,
        organisations: codec::read_strings(&organisations)?,
        targets: codec::read_strings(&targets)?,
        controls: codec::read_strings(&controls)?,
        infrastructure: codec::read_infrastructure(&infrastructure)?,
        notes: row.try_get(8)?,
        created_at: super::super::read_time(row, 9)?,
        updated_at: super::super::read_time(row, 10)?,
    })
}

/// A validated row waiting for its batch.
struct Pending {
    line: u64,
    key: String,
    release: NewRelease,
}

/// Inserts a batch; returns how many rows were new.
async fn insert_batch(conn: &mut Conn, batch: &[Pending], now: Timestamp) -> StoreResult<u64> {
    if batch.is_empty() {
        return Ok(0);
    }
    let mut query = QueryBuilder::<Db>::new(
        "INSERT INTO releases (outlet, published_at, medium, language, channel, title, \
         fingerprints, origin, natural_key, created_at) ",
    );
    query.push_values(batch, |mut values, row| {
        let r = &row.release;
        values
            .push_bind(r.outlet.as_str())
            .push_bind(time!(r.published_at))
            .push_bind(r.medium.as_str())
            .push_bind(r.language.as_str())
            .push_bind(r.channel.as_str())
            .push_bind(r.title.as_str())
            .push_bind(codec::fingerprints(&r.fingerprints))
            .push_bind(r.origin.as_str())
            .push_bind(row.key.as_str())
            .push_bind(time!(now));
    });
    query.push(" ON CONFLICT (natural_key) DO NOTHING");
    let done = query.build().execute(conn).await.map_err(|error| {
        // A failure of a multi-row statement cannot be pinned on one row; name the batch.
        let first = batch.first().map_or(0, |row| row.line);
        let last = batch.last().map_or(0, |row| row.line);
        StoreError::BadRow(RowError {
            line: first,
            message: format!("the store refused lines {first}-{last}: {error}"),
        })
    })?;
    Ok(done.rows_affected())
}

async fn find_release_by_key(conn: &mut Conn, key: &str) -> StoreResult<Option<ReleaseRecord>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        release_columns!(),
        " FROM releases r WHERE r.natural_key = $1"
    ))
    .bind(key)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(release_from_row).transpose()
}

async fn find_operation(conn: &mut Conn, id: OperationId) -> StoreResult<OperationRecord> {
    let row = sqlx::query(concat!(
        "SELECT ",
        operation_columns!(),
        " FROM operations o WHERE o.id = $1"
    ))
    .bind(id.0)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| StoreError::NotFound(format!("operation {}", id.0)))?;
    operation_from_row(&row)
}

/// `WHERE` conditions of a release query (everything but paging).
fn push_filters(sql: &mut QueryBuilder<Db>, query: &ReleaseQuery) -> StoreResult<()> {
    sql.push(" WHERE 1 = 1");
    if !query.outlets.is_empty() {
        sql.push(" AND r.outlet IN (");
        let mut list = sql.separated(", ");
        for outlet in &query.outlets {
            list.push_bind(codec::outlet(outlet)?);
        }
        sql.push(")");
    }
    if let Some(from) = query.from {
        sql.push(" AND r.published_at >= ");
        sql.push_bind(time!(from));
    }
    if let Some(until) = query.until {
        sql.push(" AND r.published_at < ");
        sql.push_bind(time!(until));
    }
    if let Some(channel) = &query.channel {
        sql.push(" AND r.channel = ");
        sql.push_bind(channel.trim().to_string());
    }
    if let Some(medium) = query.medium {
        sql.push(" AND r.medium = ");
        sql.push_bind(medium.as_str());
    }
    Ok(())
}

#[async_trait]
impl ReleaseStore for StoreImpl {
    async fn import_releases(
        &self,
        actor: &Actor,
        rows: &mut ReleaseRows<'_>,
        options: &ImportOptions,
        progress: &mut (dyn FnMut(ImportProgress) + Send),
    ) -> StoreResult<ImportSummary> {
        let mut write = Write::begin(self).await?;
        let now = write.now;
        let every = options.progress_every.max(1);
        let (mut read, mut added) = (0u64, 0u64);
        let mut batch: Vec<Pending> = Vec::with_capacity(BATCH_ROWS);
        let report = |read: u64, added: u64| ImportProgress {
            rows: read,
            added,
            unchanged: read - added,
        };
        for row in rows {
            let row = row?;
            let release = codec::release(&row.release).map_err(|error| RowError {
                line: row.line,
                message: error.to_string(),
            })?;
            batch.push(Pending {
                line: row.line,
                key: release_key(&release),
                release,
            });
            read += 1;
            let report_now = read % every == 0;
            if report_now || batch.len() >= BATCH_ROWS {
                added += insert_batch(write.conn(), &batch, now).await?;
                batch.clear();
            }
            if report_now {
                progress(report(read, added));
            }
        }
        added += insert_batch(write.conn(), &batch, now).await?;
        progress(report(read, added));
        let summary = serde_json::json!({
            "origin": options.origin,
            "rows": read,
            "added": added,
            "unchanged": read - added,
        });
        let audit_sequence = write
            .audit(audit_draft(
                actor,
                "release.import",
                "release_log",
                options.origin.clone(),
                None,
                Some(summary.to_string()),
            ))
            .await?;
        write.commit().await?;
        Ok(ImportSummary {
            rows: read,
            added,
            unchanged: read - added,
            audit_sequence,
        })
    }

    async fn add_release(
        &self,
        actor: &Actor,
        new: NewRelease,
    ) -> StoreResult<(ReleaseRecord, bool)> {
        let release = codec::release(&new)?;
        let key = release_key(&release);
        let mut write = Write::begin(self).await?;
        if let Some(existing) = find_release_by_key(write.conn(), &key).await? {
            // Nothing changed: let the transaction roll back rather than commit an empty one.
            return Ok((existing, false));
        }
        let now = write.now;
        let pending = [Pending {
            line: 0,
            key: key.clone(),
            release,
        }];
        insert_batch(write.conn(), &pending, now)
            .await
            .map_err(|error| match error {
                StoreError::BadRow(row) => StoreError::Invalid(row.message),
                other => other,
            })?;
        let record = find_release_by_key(write.conn(), &key)
            .await?
            .ok_or_else(|| StoreError::Database("inserted release not found".into()))?;
        write
            .audit(audit_draft(
                actor,
                "release.create",
                "release",
                record.id.0.to_string(),
                None,
                Some(codec::release_json(&record)),
            ))
            .await?;
        write.commit().await?;
        Ok((record, true))
    }

    async fn releases(
        &self,
        query: &ReleaseQuery,
    ) -> StoreResult<Page<ReleaseRecord, ReleaseCursor>> {
        let limit = match query.limit {
            0 => 100,
            n => i64::from(n.min(MAX_RELEASE_PAGE)),
        };
        let mut sql =
            QueryBuilder::<Db>::new(concat!("SELECT ", release_columns!(), " FROM releases r"));
        push_filters(&mut sql, query)?;
        if let Some(after) = query.after {
            // Row-value comparison: both dialects use the (published_at, id) indexes for it.
            sql.push(" AND (r.published_at, r.id) > (");
            sql.push_bind(time!(after.published_at));
            sql.push(", ");
            sql.push_bind(after.id.0);
            sql.push(")");
        }
        sql.push(" ORDER BY r.published_at, r.id LIMIT ");
        // One more than asked for, to know whether there is a next page.
        sql.push_bind(limit + 1);
        let rows = sql.build().fetch_all(&self.pool).await?;
        let mut items = rows
            .iter()
            .map(release_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let more = items.len() as i64 > limit;
        items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next = if more {
            items.last().map(|r| ReleaseCursor {
                published_at: r.published_at,
                id: r.id,
            })
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn release_count(&self, query: &ReleaseQuery) -> StoreResult<u64> {
        let mut sql = QueryBuilder::<Db>::new("SELECT COUNT(*) FROM releases r");
        push_filters(&mut sql, query)?;
        let count: i64 = sql.build().fetch_one(&self.pool).await?.try_get(0)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn release_outlets(&self) -> StoreResult<Vec<OutletSummary>> {
        let rows = sqlx::query(
            "SELECT r.outlet, COUNT(*), MIN(r.published_at), MAX(r.published_at), \
             COUNT(DISTINCT r.channel) FROM releases r GROUP BY r.outlet ORDER BY r.outlet",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let releases: i64 = row.try_get(1)?;
                let channels: i64 = row.try_get(4)?;
                Ok(OutletSummary {
                    outlet: row.try_get(0)?,
                    releases: u64::try_from(releases).unwrap_or(0),
                    first: super::super::read_time(row, 2)?,
                    last: super::super::read_time(row, 3)?,
                    channels: u64::try_from(channels).unwrap_or(0),
                })
            })
            .collect()
    }

    async fn create_operation(
        &self,
        actor: &Actor,
        new: NewOperation,
    ) -> StoreResult<OperationRecord> {
        let op = codec::operation(&new)?;
        let mut write = Write::begin(self).await?;
        let now = write.now;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO operations (name, starts_at, ends_at, organisations, targets, controls, \
             infrastructure, notes, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
        )
        .bind(op.name.as_str())
        .bind(time!(op.starts_at))
        .bind(time!(op.ends_at))
        .bind(codec::strings(&op.organisations))
        .bind(codec::strings(&op.targets))
        .bind(codec::strings(&op.controls))
        .bind(codec::infrastructure(&op.infrastructure))
        .bind(op.notes.as_str())
        .bind(time!(now))
        .fetch_one(write.conn())
        .await
        .map_err(|error| {
            conflict_on_unique(error, || format!("an operation named {} exists", op.name))
        })?;
        let record = find_operation(write.conn(), OperationId(id)).await?;
        write
            .audit(audit_draft(
                actor,
                "operation.create",
                "operation",
                id.to_string(),
                None,
                Some(codec::operation_json(&record)),
            ))
            .await?;
        write.commit().await?;
        Ok(record)
    }

    async fn operation_by_name(&self, name: &str) -> StoreResult<OperationRecord> {
        let row = sqlx::query(concat!(
            "SELECT ",
            operation_columns!(),
            " FROM operations o WHERE o.name = $1"
        ))
        .bind(name.trim())
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("operation {}", name.trim())))?;
        operation_from_row(&row)
    }

    async fn list_operations(&self) -> StoreResult<Vec<OperationRecord>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            operation_columns!(),
            " FROM operations o ORDER BY o.starts_at, o.name"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(operation_from_row).collect()
    }

    async fn update_operation(
        &self,
        actor: &Actor,
        id: OperationId,
        new: NewOperation,
    ) -> StoreResult<OperationRecord> {
        let op = codec::operation(&new)?;
        let mut write = Write::begin(self).await?;
        let now = write.now;
        let before = find_operation(write.conn(), id).await?;
        sqlx::query(
            "UPDATE operations SET name = $1, starts_at = $2, ends_at = $3, organisations = $4, \
             targets = $5, controls = $6, infrastructure = $7, notes = $8, updated_at = $9 \
             WHERE id = $10",
        )
        .bind(op.name.as_str())
        .bind(time!(op.starts_at))
        .bind(time!(op.ends_at))
        .bind(codec::strings(&op.organisations))
        .bind(codec::strings(&op.targets))
        .bind(codec::strings(&op.controls))
        .bind(codec::infrastructure(&op.infrastructure))
        .bind(op.notes.as_str())
        .bind(time!(now))
        .bind(id.0)
        .execute(write.conn())
        .await
        .map_err(|error| {
            conflict_on_unique(error, || format!("an operation named {} exists", op.name))
        })?;
        let after = find_operation(write.conn(), id).await?;
        write
            .audit(audit_draft(
                actor,
                "operation.update",
                "operation",
                id.0.to_string(),
                Some(codec::operation_json(&before)),
                Some(codec::operation_json(&after)),
            ))
            .await?;
        write.commit().await?;
        Ok(after)
    }

    async fn delete_operation(&self, actor: &Actor, id: OperationId) -> StoreResult<()> {
        let mut write = Write::begin(self).await?;
        let before = find_operation(write.conn(), id).await?;
        sqlx::query("DELETE FROM operations WHERE id = $1")
            .bind(id.0)
            .execute(write.conn())
            .await?;
        write
            .audit(audit_draft(
                actor,
                "operation.delete",
                "operation",
                id.0.to_string(),
                Some(codec::operation_json(&before)),
                None,
            ))
            .await?;
        write.commit().await?;
        Ok(())
    }
}
