//! What the store keeps: organisations, users, tokens, banks, content items and their signals,
//! and audit entries. Plain records; the store decides how they are laid out in tables.

use crate::{
    BankId, BankName, ContentId, Labels, OrgId, Role, SignalId, SignalType, Timestamp, TokenId,
    UserId,
};

/// An organisation using the instance (a referral unit, a platform, a research group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    /// Identifier.
    pub id: OrgId,
    /// Unique display name.
    pub name: String,
    /// When it was created.
    pub created_at: Timestamp,
}

/// A person who signs in to the web interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Identifier.
    pub id: UserId,
    /// The organisation the user belongs to.
    pub org: OrgId,
    /// Unique sign-in name.
    pub name: String,
    /// What the user may do.
    pub role: Role,
    /// When it was created.
    pub created_at: Timestamp,
}

/// An API token. The secret itself is never stored, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Identifier (safe to show; the secret is not).
    pub id: TokenId,
    /// Organisation the token acts for.
    pub org: OrgId,
    /// User who owns the token, if any.
    pub user: Option<UserId>,
    /// What the token may do.
    pub role: Role,
    /// A label chosen by whoever created it (`upload-pipeline`, ...).
    pub name: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// After this the token no longer works.
    pub expires_at: Option<Timestamp>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
}

/// A bank of known content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bank {
    /// Identifier.
    pub id: BankId,
    /// Unique name, HMA's pattern.
    pub name: BankName,
    /// Owning organisation.
    pub owner: OrgId,
    /// Free text.
    pub description: String,
    /// Whether lookups match against this bank (HMA's `matching_enabled_ratio` > 0).
    pub matching_enabled: bool,
    /// Other organisations that may see and match against this bank.
    pub shared_with: Vec<OrgId>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// One fingerprint of a content item, with the algorithm that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signal {
    /// Identifier (the key in the in-memory indexes).
    pub id: SignalId,
    /// The item it belongs to.
    pub content: ContentId,
    /// Kind of fingerprint.
    pub signal_type: SignalType,
    /// Version of the algorithm that produced it (see `takedown_signals::SignalAlgorithm`).
    pub algorithm_version: u32,
    /// Canonical text form (lowercase hex for hashes and digests).
    pub value: String,
    /// Quality 0-100 where the algorithm has one (PDQ).
    pub quality: Option<u8>,
}

/// A signal to be stored (no identifier yet).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NewSignal {
    /// Kind of fingerprint.
    pub signal_type: SignalType,
    /// Version of the algorithm that produced it.
    pub algorithm_version: u32,
    /// Canonical text form.
    pub value: String,
    /// Quality where the algorithm has one.
    pub quality: Option<u8>,
}

/// One item of known content in a bank: its signals, labels and provenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    /// Identifier (HMA's `bank_content_id`).
    pub id: ContentId,
    /// The bank it is in.
    pub bank: BankId,
    /// Labels.
    pub labels: Labels,
    /// Free-text note.
    pub note: String,
    /// Where it came from (`tcap`, `partner:X`, a URL, `upload`, ...).
    pub source: String,
    /// Whether it takes part in matching (unless `disabled_until` is in the future).
    pub enabled: bool,
    /// Temporarily disabled until this time, then matches again.
    pub disabled_until: Option<Timestamp>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// Its fingerprints.
    pub signals: Vec<Signal>,
}

impl Content {
    /// Whether the item takes part in matching at `now`.
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.enabled && self.disabled_until.is_none_or(|until| until <= now)
    }
}

/// One entry of the append-only, hash-chained audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the chain, from 1, without gaps.
    pub sequence: i64,
    /// When the change happened.
    pub at: Timestamp,
    /// Who made it (`Actor` rendered as text).
    pub actor: String,
    /// The organisation on whose behalf it was made, if any.
    pub org: Option<OrgId>,
    /// What was done (`bank.create`, `content.update`, `token.revoke`, ...).
    pub action: String,
    /// Kind of object changed (`bank`, `content`, `organisation`, `token`, ...).
    pub object_type: String,
    /// Identifier of the object changed.
    pub object_id: String,
    /// The object before the change, as canonical JSON text, if it existed.
    pub before: Option<String>,
    /// The object after the change, as canonical JSON text, if it still exists.
    pub after: Option<String>,
    /// Hash of the previous entry (64 hex zeros for the first).
    pub previous_hash: String,
    /// SHA-256 over the previous hash and this entry's fields.
    pub hash: String,
}
