//! takedown's source of truth: banks of known content, organisations, users and tokens, and the
//! audit log, behind one storage interface with two real backends.
//!
//! # Shape
//!
//! The interface is a set of async traits split by area ([`BankStore`], [`ContentStore`],
//! [`IndexFeed`], [`AuthStore`], [`AuditStore`]) gathered in [`Store`]; callers hold an
//! `Arc<dyn Store>` returned by [`open`]. Later areas add their own traits beside these.
//! Requests and results that are about storage rather than the domain (`NewContent`,
//! `ContentQuery`, `Page`, import counts, the change feed) are defined here; the domain records
//! come from `takedown-model`, which has no serde derives on purpose: the JSON of audit entries
//! is spelled out here, where it is part of the audit format.
//!
//! # Why two SQL dialects
//!
//! SQLite is the embedded default (one file, nothing to install; the right thing for a single
//! referral unit); PostgreSQL is for several nodes sharing a database. Their SQL differs in
//! types (SQLite has no time or boolean type), in how a writer takes its lock, and in id
//! allocation, so each has its own migrations (`migrations/sqlite`, `migrations/postgres`,
//! versions kept in step) and a thin dialect module. The queries themselves are written once,
//! in the subset both accept, and compiled for each backend (`backend/shared.rs`). One
//! conformance suite (`tests/conformance.rs`) runs every case against both.
//!
//! # Time
//!
//! Times are stored at microsecond precision: that is PostgreSQL's `timestamptz` resolution,
//! and SQLite stores the same microseconds as a 64-bit integer. Every time is truncated to
//! microseconds before it is written, so what a create call returns is exactly what a later
//! read returns, on both backends. The store's clock is injected ([`open`] takes a
//! [`Clock`]); feed queries take `now` explicitly.
//!
//! # The audit chain
//!
//! Every change to banks, content, labels, organisations, users and tokens appends an entry
//! (who, when, what, before and after as JSON) in the same transaction as the change; a bulk
//! import appends one entry summarising it. Entry hash = SHA-256 over the previous entry's hash
//! and a length-prefixed encoding of the entry's fields ([`entry_hash`]). The end of the chain
//! lives in a one-row head table that every write transaction locks first, which serialises
//! appends on both backends. [`AuditStore::verify_audit`] recomputes the chain and names the
//! first entry edited, deleted, inserted or reordered.
//!
//! # The index feed
//!
//! Every signal row carries the change-feed position of its last change; deletions leave
//! tombstones. An index loads [`active_signals`] and then follows
//! [`IndexFeed::signal_changes_since`]; both positions come from the head table, so they are
//! handed out in commit order.

mod audit;
mod backend;
mod error;
mod json;
mod migrations;
mod records;
pub mod referrals;
pub mod releases;
mod streams;
mod time;
mod token;
mod traits;
mod validate;

use std::path::Path;
use std::sync::Arc;

use takedown_model::{Bank, Clock, OrgId};

pub use audit::{entry_hash, GENESIS_HASH};
pub use error::{RowError, StoreError, StoreResult};
pub use records::{
    AuditProblem, AuditQuery, AuditVerification, BankScope, BankUpdate, ContentQuery,
    ContentUpdate, ImportOptions, ImportProgress, ImportRow, ImportSummary, IndexSignal, NewBank,
    NewContent, NewToken, NewUser, Page, SignalChange,
};
pub use referrals::ReferralStore;
pub use releases::{
    release_key, Infrastructure, InfrastructureKind, NewOperation, NewRelease, OperationId,
    OperationRecord, OutletSummary, ReleaseCursor, ReleaseFingerprint, ReleaseId, ReleaseMedium,
    ReleaseQuery, ReleaseRecord, ReleaseRow, ReleaseRows, ReleaseStore, MAX_RELEASE_PAGE,
};
pub use streams::{active_signals, export_content};
pub use token::{generate_token_secret, hash_token_secret, TOKEN_SECRET_PREFIX};
pub use traits::{
    AuditStore, AuthStore, Backend, BankStore, ContentStore, ImportRows, IndexFeed, Store,
};

/// Opens the store named by `database`, creating and migrating it if needed.
///
/// A `postgres://` or `postgresql://` URL opens PostgreSQL; anything else is a SQLite file path
/// (an optional `sqlite://` or `sqlite:` prefix is dropped), created with its parent
/// directories.
pub async fn open(database: &str, clock: Arc<dyn Clock>) -> StoreResult<Arc<dyn Store>> {
    if database.starts_with("postgres://") || database.starts_with("postgresql://") {
        let store = backend::postgres::PostgresStore::open(database, clock).await?;
        return Ok(Arc::new(store));
    }
    let path = database
        .strip_prefix("sqlite://")
        .or_else(|| database.strip_prefix("sqlite:"))
        .unwrap_or(database);
    if path.is_empty() {
        return Err(StoreError::Invalid(
            "database must be a SQLite file path or a postgres:// URL".to_string(),
        ));
    }
    let store = backend::sqlite::SqliteStore::open(Path::new(path), clock).await?;
    Ok(Arc::new(store))
}

/// Whether `org` may see `bank`: it owns it or the bank was shared with it. The same rule as
/// [`BankStore::banks_visible_to`], for a bank already loaded.
pub fn bank_is_visible_to(bank: &Bank, org: OrgId) -> bool {
    bank.owner == org || bank.shared_with.contains(&org)
}
