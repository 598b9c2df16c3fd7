//! Requests and results that belong to the store's interface rather than to the domain:
//! what to create, what to change, what to search for, and what a bulk import or the index
//! feed returns. Domain records themselves (`Bank`, `Content`, ...) live in `takedown-model`.

use takedown_model::{
    BankId, BankName, ContentId, Labels, NewSignal, OrgId, Role, SignalId, SignalType, Tier,
    Timestamp, UserId,
};

/// A bank to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBank {
    /// Unique name (HMA's pattern).
    pub name: BankName,
    /// Owning organisation.
    pub owner: OrgId,
    /// Free text.
    pub description: String,
    /// Whether lookups match against the bank.
    pub matching_enabled: bool,
}

/// Changes to a bank; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BankUpdate {
    /// New name (HMA lets a bank be renamed).
    pub name: Option<BankName>,
    /// New description.
    pub description: Option<String>,
    /// Whether lookups match against the bank.
    pub matching_enabled: Option<bool>,
}

/// A content item to add to a bank. It needs at least one signal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewContent {
    /// Labels.
    pub labels: Labels,
    /// Free-text note.
    pub note: String,
    /// Where it came from.
    pub source: String,
    /// Whether it takes part in matching.
    pub enabled: bool,
    /// Temporarily disabled until then.
    pub disabled_until: Option<Timestamp>,
    /// Its fingerprints; no two with the same type and value.
    pub signals: Vec<NewSignal>,
}

impl NewContent {
    /// An enabled item with default labels, an empty note and the given source and signals.
    pub fn with_signals(source: impl Into<String>, signals: Vec<NewSignal>) -> NewContent {
        NewContent {
            labels: Labels::default(),
            note: String::new(),
            source: source.into(),
            enabled: true,
            disabled_until: None,
            signals,
        }
    }
}

/// Changes to a content item; `None` leaves a field as it is. Signals are added with
/// `ContentStore::add_signal`, not here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContentUpdate {
    /// Replaces all labels.
    pub labels: Option<Labels>,
    /// New note.
    pub note: Option<String>,
    /// New source.
    pub source: Option<String>,
    /// Enables or disables the item.
    pub enabled: Option<bool>,
    /// `Some(None)` clears a temporary disable, `Some(Some(t))` disables until `t`.
    pub disabled_until: Option<Option<Timestamp>>,
}

/// Which banks a content search covers. Spelled out rather than "an empty list means all" so
/// that a caller who forgot to fill in the visible banks gets nothing, not everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BankScope {
    /// Every bank of the instance (the local administrator).
    All,
    /// Only these banks (for a caller: the banks visible to its organisation).
    Only(Vec<BankId>),
}

impl Default for BankScope {
    fn default() -> Self {
        BankScope::Only(Vec::new())
    }
}

/// A content search: all given conditions must hold. Results are ordered by content id and
/// paged by keyset (`after`), so a page is stable while items are added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContentQuery {
    /// Banks searched.
    pub scope: BankScope,
    /// Has a signal of this type.
    pub signal_type: Option<SignalType>,
    /// Has a signal with exactly this value (canonical form: lowercase hex for hashes).
    pub signal_value: Option<String>,
    /// Entity label equals this (normalised to lowercase).
    pub entity: Option<String>,
    /// Tier equals this.
    pub tier: Option<Tier>,
    /// Note contains this text, ignoring ASCII case.
    pub note_contains: Option<String>,
    /// Enabled flag equals this.
    pub enabled: Option<bool>,
    /// Only items with a larger id (the `next` cursor of the previous page).
    pub after: Option<ContentId>,
    /// Page size, 1 to [`ContentQuery::MAX_LIMIT`]; 0 means the default of 100.
    pub limit: u32,
}

impl ContentQuery {
    /// Largest page.
    pub const MAX_LIMIT: u32 = 10_000;
    /// Page size when none is given.
    pub const DEFAULT_LIMIT: u32 = 100;

    /// Every item of one bank, first page.
    pub fn bank(bank: BankId) -> ContentQuery {
        ContentQuery {
            scope: BankScope::Only(vec![bank]),
            ..ContentQuery::default()
        }
    }
}

/// One page of a keyset-paged listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T, Cursor> {
    /// The items, in cursor order.
    pub items: Vec<T>,
    /// Pass as `after` to get the next page; `None` when this page is the last.
    pub next: Option<Cursor>,
}

/// A user to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Organisation the user belongs to.
    pub org: OrgId,
    /// Unique sign-in name.
    pub name: String,
    /// Role.
    pub role: Role,
}

/// An API token to create. The store never sees the secret, only its hash (see
/// [`crate::hash_token_secret`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    /// Organisation it acts for.
    pub org: OrgId,
    /// Owning user, if any.
    pub user: Option<UserId>,
    /// Role.
    pub role: Role,
    /// Label chosen by its creator.
    pub name: String,
    /// Hex SHA-256 of the secret.
    pub secret_hash: String,
    /// When it stops working, if ever.
    pub expires_at: Option<Timestamp>,
}

/// One parsed row of a bulk import, with the line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    /// 1-based line number in the file, reported if the store rejects the row.
    pub line: u64,
    /// The item.
    pub content: NewContent,
}

/// How a bulk import reports and records itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// Calls the progress callback after every this many rows (0 is treated as 1).
    pub progress_every: u64,
    /// Where the rows came from (a file name), recorded in the audit entry.
    pub origin: String,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            progress_every: 10_000,
            origin: String::new(),
        }
    }
}

/// Counts reported while an import runs. Rows counted here are written inside the import's
/// transaction, which commits only at the end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportProgress {
    /// Rows read so far.
    pub rows: u64,
    /// Rows that became new items.
    pub added: u64,
    /// Rows skipped because one of their signals is already in the bank.
    pub unchanged: u64,
}

/// Outcome of a committed import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportSummary {
    /// Rows read.
    pub rows: u64,
    /// Rows that became new items.
    pub added: u64,
    /// Rows skipped because one of their signals is already in the bank.
    pub unchanged: u64,
    /// Sequence number of the audit entry that records the import.
    pub audit_sequence: i64,
}

/// A signal as the in-memory index needs it: what to match, and where a match points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSignal {
    /// The signal (the key in the indexes).
    pub id: SignalId,
    /// The item it belongs to.
    pub content: ContentId,
    /// The item's bank.
    pub bank: BankId,
    /// Kind of fingerprint.
    pub signal_type: SignalType,
    /// Version of the algorithm that produced it.
    pub algorithm_version: u32,
    /// Canonical text form.
    pub value: String,
    /// Quality where the algorithm has one.
    pub quality: Option<u8>,
}

/// One entry of the change feed that keeps an in-memory index in step with the store.
///
/// An entry describes the signal's state *now*, not the change that happened: replaying
/// entries is idempotent, and a signal changed several times since a cursor appears once, at
/// its latest sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignalChange {
    /// The signal exists; `active` says whether it takes part in matching at the time passed
    /// to `signal_changes_since`.
    Present {
        /// Position in the feed.
        sequence: i64,
        /// The signal.
        signal: IndexSignal,
        /// Whether its item is enabled and not disabled until later.
        active: bool,
    },
    /// The signal was deleted (with its item or its bank).
    Removed {
        /// Position in the feed.
        sequence: i64,
        /// The deleted signal.
        signal: SignalId,
        /// Its item.
        content: ContentId,
        /// Its bank.
        bank: BankId,
    },
}

impl SignalChange {
    /// Position in the feed: pass the last one seen to `signal_changes_since` to continue.
    pub fn sequence(&self) -> i64 {
        match self {
            SignalChange::Present { sequence, .. } | SignalChange::Removed { sequence, .. } => {
                *sequence
            }
        }
    }
}

/// Which audit entries to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only entries recorded for this organisation.
    pub org: Option<OrgId>,
    /// Only entries with a larger sequence number.
    pub after: Option<i64>,
    /// Page size, 1 to 10 000; 0 means 100.
    pub limit: u32,
}

/// The result of checking the audit chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditVerification {
    /// Every entry is as written and none is missing or added.
    Intact {
        /// Number of entries.
        entries: i64,
        /// Hash of the last entry (64 zeros for an empty log): keep it elsewhere to detect a
        /// later rewrite of the whole log.
        head_hash: String,
    },
    /// The chain is broken; `sequence` is the first entry found wrong.
    Broken {
        /// First bad sequence number.
        sequence: i64,
        /// What is wrong with it.
        problem: AuditProblem,
        /// A sentence for the operator.
        detail: String,
    },
}

/// How an audit chain is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditProblem {
    /// The entry's fields no longer match its hash.
    Edited,
    /// The entry is missing.
    Deleted,
    /// The entry was not part of the chain as written.
    Inserted,
    /// The entry does not follow the entry before it (entries swapped or renumbered).
    Reordered,
}

impl AuditProblem {
    /// Lowercase name (`edited`, `deleted`, `inserted`, `reordered`).
    pub fn as_str(self) -> &'static str {
        match self {
            AuditProblem::Edited => "edited",
            AuditProblem::Deleted => "deleted",
            AuditProblem::Inserted => "inserted",
            AuditProblem::Reordered => "reordered",
        }
    }
}
