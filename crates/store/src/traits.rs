//! The storage interface, split by area so that later areas (referrals, releases, ...) add
//! their own traits next to these without touching them. Every backend implements all of them;
//! callers hold an `Arc<dyn Store>`.
//!
//! Every method that changes something takes the [`Actor`] responsible and writes one audit
//! entry in the same transaction as the change.

use async_trait::async_trait;
use takedown_model::{
    Actor, ApiToken, AuditEntry, Bank, BankId, BankName, Content, ContentId, NewSignal, OrgId,
    Organisation, Role, Signal, SignalId, Timestamp, TokenId, User, UserId,
};

use crate::referrals::ReferralStore;
use crate::releases::ReleaseStore;
use crate::{
    AuditQuery, AuditVerification, BankUpdate, ContentQuery, ContentUpdate, ImportOptions,
    ImportProgress, ImportRow, ImportSummary, IndexSignal, NewBank, NewContent, NewToken, NewUser,
    Page, RowError, SignalChange, StoreResult,
};

/// The rows of a bulk import, as the parser yields them.
pub type ImportRows<'a> = dyn Iterator<Item = Result<ImportRow, RowError>> + Send + 'a;

/// Banks and who may see them.
#[async_trait]
pub trait BankStore: Send + Sync {
    /// Creates a bank. `Conflict` if the name is taken, `NotFound` if the owner does not exist.
    async fn create_bank(&self, actor: &Actor, new: NewBank) -> StoreResult<Bank>;
    /// A bank by id.
    async fn bank(&self, id: BankId) -> StoreResult<Bank>;
    /// A bank by name.
    async fn bank_by_name(&self, name: &BankName) -> StoreResult<Bank>;
    /// Every bank, by name (the local administrator's view).
    async fn list_banks(&self) -> StoreResult<Vec<Bank>>;
    /// The banks `org` owns or that were shared with it, by name: everything it may see and
    /// match against, and nothing else.
    async fn banks_visible_to(&self, org: OrgId) -> StoreResult<Vec<Bank>>;
    /// Renames a bank or changes its description or matching flag.
    async fn update_bank(&self, actor: &Actor, id: BankId, update: BankUpdate)
        -> StoreResult<Bank>;
    /// Deletes a bank with all its content and signals.
    async fn delete_bank(&self, actor: &Actor, id: BankId) -> StoreResult<()>;
    /// Lets another organisation see and match against a bank. Sharing twice is a no-op.
    async fn share_bank(&self, actor: &Actor, id: BankId, with: OrgId) -> StoreResult<Bank>;
    /// Stops sharing a bank with an organisation. Unsharing what is not shared is a no-op.
    async fn unshare_bank(&self, actor: &Actor, id: BankId, with: OrgId) -> StoreResult<Bank>;
}

/// Known content items, their labels and signals.
#[async_trait]
pub trait ContentStore: Send + Sync {
    /// Adds an item to a bank. `Conflict` if one of its signals is already in the bank.
    async fn add_content(
        &self,
        actor: &Actor,
        bank: BankId,
        new: NewContent,
    ) -> StoreResult<Content>;
    /// An item by id, with its signals.
    async fn content(&self, id: ContentId) -> StoreResult<Content>;
    /// Changes an item's labels, note, source or enabled state.
    async fn update_content(
        &self,
        actor: &Actor,
        id: ContentId,
        update: ContentUpdate,
    ) -> StoreResult<Content>;
    /// Deletes an item and its signals.
    async fn delete_content(&self, actor: &Actor, id: ContentId) -> StoreResult<()>;
    /// Adds a signal to an existing item (a new algorithm run over the same media).
    async fn add_signal(
        &self,
        actor: &Actor,
        id: ContentId,
        signal: NewSignal,
    ) -> StoreResult<Signal>;
    /// Items matching a query, one keyset page at a time.
    async fn search_content(&self, query: &ContentQuery) -> StoreResult<Page<Content, ContentId>>;
    /// Number of items in a bank.
    async fn content_count(&self, bank: BankId) -> StoreResult<u64>;
    /// Imports rows into a bank in one transaction.
    ///
    /// Rows whose signals are already in the bank (or earlier in the same rows) are skipped and
    /// counted as unchanged, so importing the same file twice changes nothing the second time.
    /// The first `Err` row, or the first row the store rejects, aborts the import: nothing is
    /// kept and the error names the row's line. `progress` is called every
    /// `options.progress_every` rows and at the end. One audit entry summarises the import.
    async fn import_content(
        &self,
        actor: &Actor,
        bank: BankId,
        rows: &mut ImportRows<'_>,
        options: &ImportOptions,
        progress: &mut (dyn FnMut(ImportProgress) + Send),
    ) -> StoreResult<ImportSummary>;
}

/// What the in-memory matching index needs: a full load at start, then incremental catch-up.
///
/// To build an index: read [`IndexFeed::change_sequence`], stream
/// [`crate::active_signals`], then apply [`IndexFeed::signal_changes_since`] from the sequence
/// read first. Changes made while streaming are replayed; replaying is harmless because each
/// change carries the signal's current state.
#[async_trait]
pub trait IndexFeed: Send + Sync {
    /// The latest position of the change feed (0 before any change).
    async fn change_sequence(&self) -> StoreResult<i64>;
    /// Up to `limit` signals of items active at `now` (enabled and not disabled until later),
    /// with ids greater than `after`, by id. [`crate::active_signals`] streams all of them.
    async fn active_signals_page(
        &self,
        now: Timestamp,
        after: Option<SignalId>,
        limit: u32,
    ) -> StoreResult<Vec<IndexSignal>>;
    /// Up to `limit` changes after sequence `after`, in order; activity is judged at `now`.
    async fn signal_changes_since(
        &self,
        after: i64,
        now: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<SignalChange>>;
    /// Signals of enabled items whose temporary disable ends in `(after, until]`: they become
    /// active without any write, so no change is recorded for them.
    async fn signals_reactivating_between(
        &self,
        after: Timestamp,
        until: Timestamp,
    ) -> StoreResult<Vec<IndexSignal>>;
}

/// Organisations, users and API tokens.
#[async_trait]
pub trait AuthStore: Send + Sync {
    /// Creates an organisation. `Conflict` if the name is taken.
    async fn create_organisation(&self, actor: &Actor, name: &str) -> StoreResult<Organisation>;
    /// An organisation by id.
    async fn organisation(&self, id: OrgId) -> StoreResult<Organisation>;
    /// An organisation by name.
    async fn organisation_by_name(&self, name: &str) -> StoreResult<Organisation>;
    /// Every organisation, by name.
    async fn list_organisations(&self) -> StoreResult<Vec<Organisation>>;
    /// Renames an organisation.
    async fn rename_organisation(
        &self,
        actor: &Actor,
        id: OrgId,
        name: &str,
    ) -> StoreResult<Organisation>;
    /// Creates a user. `Conflict` if the name is taken.
    async fn create_user(&self, actor: &Actor, new: NewUser) -> StoreResult<User>;
    /// A user by id.
    async fn user(&self, id: UserId) -> StoreResult<User>;
    /// A user by sign-in name.
    async fn user_by_name(&self, name: &str) -> StoreResult<User>;
    /// The users of an organisation, by name.
    async fn list_users(&self, org: OrgId) -> StoreResult<Vec<User>>;
    /// Changes a user's role.
    async fn set_user_role(&self, actor: &Actor, id: UserId, role: Role) -> StoreResult<User>;
    /// Stores a new token (its hash only).
    async fn create_token(&self, actor: &Actor, new: NewToken) -> StoreResult<ApiToken>;
    /// A token by id, whatever its state.
    async fn token(&self, id: TokenId) -> StoreResult<ApiToken>;
    /// The token with this secret hash if it is usable now (not expired by the store's clock,
    /// not revoked); `None` otherwise, without saying why.
    async fn authenticate_token(&self, secret_hash: &str) -> StoreResult<Option<ApiToken>>;
    /// The tokens of an organisation, newest first.
    async fn list_tokens(&self, org: OrgId) -> StoreResult<Vec<ApiToken>>;
    /// Revokes a token from now on. Revoking twice keeps the first time.
    async fn revoke_token(&self, actor: &Actor, id: TokenId) -> StoreResult<ApiToken>;
}

/// The append-only, hash-chained audit log.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Entries in sequence order.
    async fn audit_entries(&self, query: &AuditQuery) -> StoreResult<Vec<AuditEntry>>;
    /// Recomputes the chain and names the first entry that was edited, inserted or deleted.
    async fn verify_audit(&self) -> StoreResult<AuditVerification>;
}

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// Everything the store does. Use as `Arc<dyn Store>`.
#[async_trait]
pub trait Store:
    BankStore
    + ContentStore
    + IndexFeed
    + AuthStore
    + AuditStore
    + ReferralStore
    + ReleaseStore
    + Send
    + Sync
{
    /// Which database this is.
    fn backend(&self) -> Backend;
    /// Closes all connections; later calls fail.
    async fn close(&self);
}
