//! The referral workflow's records and its storage trait, [`ReferralStore`].
//!
//! # What is kept, and why in the store
//!
//! - **Providers** and their domain-suffix **rules**: instance-wide, so that every organisation
//!   refers to the same provider row, which is what makes cross-organisation deduplication a
//!   database constraint rather than a convention.
//! - **Observations**: what one fetch of a submitted URL found (status, digests, PDQ, bank
//!   hits, the redirect chain as evidence). Immutable once written.
//! - **Cases**: one per organisation and piece of content, so a reviewer decides once for every
//!   URL carrying it. Decisions are kept as history ([`CaseDecision`]).
//! - **Referrals** to one provider with their **items** (one per URL, with the evidence copied
//!   from the observation at the time of referral). A partial unique index on
//!   `(provider, url) WHERE open` refuses a second open referral of one URL to one provider,
//!   whichever organisation asks.
//! - **URL checks**: the re-check schedule and its results, one row per check. Due checks live
//!   here, never only in memory: a worker claims them with a lease (owner and expiry, in one
//!   statement), and records the result, the item's and the referral's new state and the next
//!   check in one transaction, guarded by its lease. A worker killed at any point leaves either
//!   a claimed row whose lease expires (claimed again later: nothing lost) or a finished one
//!   (never done again).
//! - **The outbox**: one row per message to a provider, rendered once when queued and sent
//!   byte for byte with the same idempotency key (e-mail `Message-ID`, HTTP `Idempotency-Key`)
//!   on every attempt, claimed with a lease like checks. Delivering a message and marking the
//!   referral sent happen in one transaction after the provider accepted it.
//!
//! Policy (schedules, ranking inputs, what counts as "changed") belongs to
//! `takedown-referrals`; the store keeps state and enforces the rules that must hold under
//! concurrency: the status machine's compare-and-set, deduplication, leases.

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use takedown_model::{Actor, BankId, ContentId, OrgId, SignalType, Tier, Timestamp};

use crate::{StoreError, StoreResult};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// Identifier of a hosting provider.
    ProviderId
);
id_type!(
    /// Identifier of a provider's domain-suffix rule.
    ProviderRuleId
);
id_type!(
    /// Identifier of an observation (one fetch of one URL, or one medium in a page).
    ObservationId
);
id_type!(
    /// Identifier of a review case.
    CaseId
);
id_type!(
    /// Identifier of a referral.
    ReferralId
);
id_type!(
    /// Identifier of one URL in a referral.
    ReferralItemId
);
id_type!(
    /// Identifier of one scheduled or finished URL check.
    CheckId
);
id_type!(
    /// Identifier of one outbox message.
    OutboxId
);

/// A text value that is not one of an enumeration's names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} must be one of {allowed}; got {value:?}")]
pub struct UnknownName {
    /// Which enumeration.
    pub what: &'static str,
    /// Its names, comma-separated.
    pub allowed: &'static str,
    /// The rejected value.
    pub value: String,
}

macro_rules! named_enum {
    (
        $(#[$doc:meta])* $name:ident, $what:literal {
            $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)?
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name used in storage and on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                let lower = text.trim().to_ascii_lowercase().replace('_', "-");
                match lower.as_str() {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownName {
                        what: $what,
                        allowed: concat!($($text, " "),+),
                        value: text.to_string(),
                    }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum!(
    /// How notices reach a provider.
    Delivery, "delivery" {
        /// By e-mail to `contact_email`, through the configured SMTP server.
        Email = "email",
        /// As JSON POSTed to `endpoint_url`.
        Http = "http",
        /// Not sent by takedown (the analyst uses a web form); exports only.
        Manual = "manual",
    }
);

named_enum!(
    /// The notice format a provider prefers.
    NoticeFormat, "notice format" {
        /// A plain-text notice.
        Text = "text",
        /// takedown's JSON referral.
        Json = "json",
        /// An EU removal order (Regulation 2021/784, Annex I).
        EuOrder = "eu-order",
        /// Draft DSA statements of reasons.
        Dsa = "dsa",
    }
);

named_enum!(
    /// What a fetch at intake found (the fetcher's outcome kinds).
    FetchKind, "fetch outcome" {
        /// Content served.
        Live = "live",
        /// Content gone (404, 410, 451, a provider's removed page).
        Removed = "removed",
        /// No answer saying either, after retries.
        Unreachable = "unreachable",
        /// Refused by the address guard.
        Blocked = "blocked",
    }
);

named_enum!(
    /// Where a review case stands.
    CaseStatus, "case status" {
        /// Waiting for a reviewer.
        Open = "open",
        /// Confirmed terrorist content: its URLs may be referred.
        Confirmed = "confirmed",
        /// Not terrorist content (or not actionable).
        Rejected = "rejected",
    }
);

named_enum!(
    /// A reviewer's decision.
    DecisionKind, "decision" {
        /// Terrorist content, with entity and tier.
        Confirm = "confirm",
        /// Not terrorist content.
        Reject = "reject",
    }
);

named_enum!(
    /// The grounds of Art. 2(7) of Regulation (EU) 2021/784 (the tick boxes of a removal
    /// order's section C): the material...
    Ground, "ground" {
        /// (a) incites the commission of terrorist offences.
        Incites = "incites",
        /// (b) solicits a person or group to commit or contribute to terrorist offences.
        Solicits = "solicits",
        /// (c) solicits a person or group to participate in the activities of a terrorist
        /// group.
        SolicitsParticipation = "solicits-participation",
        /// (d) provides instruction on making or using explosives, weapons or other methods
        /// for committing terrorist offences.
        Instructs = "instructs",
        /// (e) constitutes a threat to commit a terrorist offence.
        Threatens = "threatens",
    }
);

named_enum!(
    /// Where a referral stands.
    ReferralStatus, "referral status" {
        /// Being put together; nothing has left.
        Draft = "draft",
        /// The provider accepted the message (SMTP or HTTP said so).
        Sent = "sent",
        /// The provider confirmed receipt.
        Acknowledged = "acknowledged",
        /// Every URL was seen gone.
        Removed = "removed",
        /// The check schedule ended with some URLs gone and some still live.
        PartiallyRemoved = "partially-removed",
        /// The provider declined.
        Refused = "refused",
        /// The check schedule ended with nothing gone.
        Expired = "expired",
    }
);

impl ReferralStatus {
    /// Whether the referral still counts for deduplication and is still checked.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            ReferralStatus::Draft | ReferralStatus::Sent | ReferralStatus::Acknowledged
        )
    }

    /// Whether a referral may move from `self` to `to`.
    ///
    /// ```text
    /// draft -> sent -> acknowledged -> removed | partially-removed | refused | expired
    ///            \___________________________/
    /// ```
    /// Only delivery moves a draft to sent; closed states are final.
    pub fn can_move_to(self, to: ReferralStatus) -> bool {
        use ReferralStatus::*;
        matches!(
            (self, to),
            (Draft, Sent)
                | (Sent, Acknowledged)
                | (
                    Sent | Acknowledged,
                    Removed | PartiallyRemoved | Refused | Expired
                )
        )
    }
}

named_enum!(
    /// What one URL check found.
    CheckOutcome, "check outcome" {
        /// The referred content is still served (same bytes, or a perceptual match).
        Live = "live",
        /// The URL says the content is gone (404, 410, 451, a provider's removed page).
        Removed = "removed",
        /// The URL serves something else: the referred content is no longer there.
        Changed = "changed",
        /// No answer saying either, after retries.
        Unreachable = "unreachable",
        /// Refused by the address guard.
        Blocked = "blocked",
    }
);

impl CheckOutcome {
    /// Whether this check saw the referred content gone from the URL.
    pub fn is_gone(self) -> bool {
        matches!(self, CheckOutcome::Removed | CheckOutcome::Changed)
    }
}

named_enum!(
    /// The life of a check row.
    CheckState, "check state" {
        /// Waiting for its due time.
        Pending = "pending",
        /// Claimed by a worker until its lease expires.
        Claimed = "claimed",
        /// Finished, with its result.
        Done = "done",
        /// Not needed any more (the referral closed).
        Cancelled = "cancelled",
    }
);

named_enum!(
    /// Whether a referred URL still carries the content.
    ItemState, "item state" {
        /// Last seen live (or not checked yet).
        Live = "live",
        /// Seen gone.
        Gone = "gone",
    }
);

named_enum!(
    /// How an outbox message travels.
    Channel, "channel" {
        /// E-mail through the configured SMTP server.
        Email = "email",
        /// An HTTP POST of JSON.
        Http = "http",
    }
);

named_enum!(
    /// The life of an outbox message.
    OutboxState, "outbox state" {
        /// Waiting for `next_attempt_at`.
        Pending = "pending",
        /// Claimed by a worker until its lease expires.
        Sending = "sending",
        /// Accepted by the receiving server.
        Sent = "sent",
        /// Given up (a permanent refusal, or too many attempts); kept for the record.
        Failed = "failed",
    }
);

/// Altitude-style priority of a case: severity first (0-7), confidence (0-3) breaking ties,
/// i.e. `4 * severity + confidence`, 0-31. Severity leads because a threat to life at modest
/// confidence must not wait behind routine propaganda at high confidence.
pub fn rank_score(severity: u8, confidence: u8) -> i64 {
    4 * i64::from(severity.min(7)) + i64::from(confidence.min(3))
}

/// Whether `host` is `suffix` or one of its subdomains (ASCII case-insensitive, trailing dots
/// ignored).
pub fn host_matches_suffix(host: &str, suffix: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let suffix = suffix.trim_matches('.').to_ascii_lowercase();
    !suffix.is_empty()
        && (host == suffix
            || host
                .strip_suffix(&suffix)
                .is_some_and(|rest| rest.ends_with('.')))
}

/// A hosting provider and where its notices go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    /// Identifier.
    pub id: ProviderId,
    /// Unique display name.
    pub name: String,
    /// Abuse or legal contact address (e-mail delivery).
    pub contact_email: String,
    /// Endpoint that accepts JSON referrals (HTTP delivery).
    pub endpoint_url: String,
    /// How notices reach it.
    pub delivery: Delivery,
    /// The format it prefers.
    pub notice_format: NoticeFormat,
    /// Its legal representative in the Union (removal orders).
    pub legal_representative: String,
    /// Member state of its main establishment or legal representative (ISO 3166 alpha-2).
    pub member_state: String,
    /// Its point of contact for removal orders (Art. 15).
    pub contact_point: String,
    /// Its domain-suffix rules.
    pub rules: Vec<ProviderRule>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// A provider to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProvider {
    /// Unique display name.
    pub name: String,
    /// Abuse or legal contact address.
    pub contact_email: String,
    /// JSON endpoint.
    pub endpoint_url: String,
    /// How notices reach it.
    pub delivery: Delivery,
    /// The format it prefers.
    pub notice_format: NoticeFormat,
    /// Legal representative.
    pub legal_representative: String,
    /// Member state (ISO 3166 alpha-2).
    pub member_state: String,
    /// Point of contact.
    pub contact_point: String,
}

/// Changes to a provider; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderUpdate {
    /// New name.
    pub name: Option<String>,
    /// New contact address.
    pub contact_email: Option<String>,
    /// New endpoint.
    pub endpoint_url: Option<String>,
    /// New delivery.
    pub delivery: Option<Delivery>,
    /// New format.
    pub notice_format: Option<NoticeFormat>,
    /// New legal representative.
    pub legal_representative: Option<String>,
    /// New member state.
    pub member_state: Option<String>,
    /// New point of contact.
    pub contact_point: Option<String>,
}

/// A domain-suffix rule: the host and its subdomains belong to the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderRule {
    /// Identifier.
    pub id: ProviderRuleId,
    /// The provider.
    pub provider: ProviderId,
    /// Lowercase host suffix (`files.example` covers `cdn.files.example`).
    pub host_suffix: String,
    /// When it was added.
    pub created_at: Timestamp,
}

/// The provider whose longest rule covers `host`, from a list of providers with their rules.
pub fn provider_for_host<'a>(providers: &'a [Provider], host: &str) -> Option<&'a Provider> {
    providers
        .iter()
        .flat_map(|provider| provider.rules.iter().map(move |rule| (provider, rule)))
        .filter(|(_, rule)| host_matches_suffix(host, &rule.host_suffix))
        .max_by_key(|(_, rule)| rule.host_suffix.len())
        .map(|(provider, _)| provider)
}

/// One bank item an observation matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchRecord {
    /// The bank item.
    pub content: ContentId,
    /// Its bank.
    pub bank: BankId,
    /// The bank's name at the time.
    pub bank_name: String,
    /// The signal that matched.
    pub signal_type: SignalType,
    /// Hamming distance for PDQ, 0 for digests.
    pub distance: u32,
}

/// The review case an observation belongs to, as the intake computed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseSeed {
    /// `content:<bank item>` or `sha256:<digest>`.
    pub content_key: String,
    /// The matched bank item, if any.
    pub content_id: Option<ContentId>,
    /// Entity label of the matched item, if any.
    pub entity: Option<String>,
    /// Tier of the matched item, if any.
    pub tier: Option<Tier>,
    /// Severity 0-7 for ranking.
    pub severity: u8,
    /// Confidence 0-3 for ranking.
    pub confidence: u8,
}

/// An observation to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewObservation {
    /// The URL as submitted (normalised).
    pub url: String,
    /// Its host (lowercase).
    pub host: String,
    /// The URL that answered, after redirects.
    pub final_url: Option<String>,
    /// For a medium embedded in a page: the medium's URL.
    pub media_url: Option<String>,
    /// Where in the page it was found (`img-src`, `og-image`, ...).
    pub found_in: Option<String>,
    /// When it was fetched.
    pub fetched_at: Timestamp,
    /// What the fetch found.
    pub outcome: FetchKind,
    /// The final HTTP status.
    pub http_status: Option<u16>,
    /// `Content-Type` as served.
    pub content_type: Option<String>,
    /// Bytes received.
    pub size: Option<u64>,
    /// MD5 of the bytes.
    pub md5: Option<String>,
    /// SHA-256 of the bytes.
    pub sha256: Option<String>,
    /// PDQ hash (64 hex characters).
    pub pdq: Option<String>,
    /// PDQ quality.
    pub pdq_quality: Option<u8>,
    /// Bank items it matched, closest first.
    pub matches: Vec<MatchRecord>,
    /// The provider hosting it, if a rule covers the host.
    pub provider: Option<ProviderId>,
    /// Where the URL came from (`api`, `cli`, `feed:NAME`).
    pub source: String,
    /// Evidence as JSON text (redirect chain, removal reason, errors).
    pub evidence: String,
    /// The case to file it under; `None` for nothing to review (unreachable, no media).
    pub case: Option<CaseSeed>,
}

/// What one fetch found, recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// Identifier.
    pub id: ObservationId,
    /// The organisation that submitted it.
    pub org: OrgId,
    /// Its review case.
    pub case: Option<CaseId>,
    /// The URL as submitted.
    pub url: String,
    /// Its host.
    pub host: String,
    /// The URL that answered.
    pub final_url: Option<String>,
    /// The medium's URL, for media embedded in a page.
    pub media_url: Option<String>,
    /// Where in the page it was found.
    pub found_in: Option<String>,
    /// When it was fetched.
    pub fetched_at: Timestamp,
    /// What the fetch found.
    pub outcome: FetchKind,
    /// Final HTTP status.
    pub http_status: Option<u16>,
    /// Content type.
    pub content_type: Option<String>,
    /// Bytes.
    pub size: Option<u64>,
    /// MD5.
    pub md5: Option<String>,
    /// SHA-256.
    pub sha256: Option<String>,
    /// PDQ.
    pub pdq: Option<String>,
    /// PDQ quality.
    pub pdq_quality: Option<u8>,
    /// Bank hits.
    pub matches: Vec<MatchRecord>,
    /// Hosting provider, once a rule covers the host.
    pub provider: Option<ProviderId>,
    /// Where the URL came from.
    pub source: String,
    /// Who submitted it.
    pub submitted_by: String,
    /// Evidence JSON.
    pub evidence: String,
    /// A referred copy of the same content that was already removed elsewhere: this
    /// observation is a re-upload of it.
    pub reupload_of: Option<ReferralItemId>,
    /// When it was recorded.
    pub created_at: Timestamp,
}

/// Which observations to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservationQuery {
    /// Only this organisation's.
    pub org: Option<OrgId>,
    /// Only this case's.
    pub case: Option<CaseId>,
    /// Only those no provider rule covers yet (the "unassigned" queue).
    pub unassigned: bool,
    /// Only re-uploads.
    pub reuploads: bool,
    /// After this id (keyset paging).
    pub after: Option<ObservationId>,
    /// Page size (0: 100).
    pub limit: u32,
}

/// A review case: one piece of content as one organisation saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// Identifier.
    pub id: CaseId,
    /// The organisation reviewing it.
    pub org: OrgId,
    /// `content:<bank item>` or `sha256:<digest>`.
    pub content_key: String,
    /// The bank item, once matched or added.
    pub content_id: Option<ContentId>,
    /// Where it stands.
    pub status: CaseStatus,
    /// Entity (from the match, then the decision).
    pub entity: Option<String>,
    /// Tier (from the match, then the decision).
    pub tier: Option<Tier>,
    /// Severity 0-7.
    pub severity: u8,
    /// Confidence 0-3.
    pub confidence: u8,
    /// [`rank_score`] of severity and confidence.
    pub rank_score: i64,
    /// Grounds of the last confirmation.
    pub grounds: Vec<Ground>,
    /// Reason of the last decision.
    pub reason: String,
    /// Who decided last.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<Timestamp>,
    /// Observations filed under it.
    pub observation_count: u64,
    /// When it was opened.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// Which cases to list. Results are ranked: highest [`rank_score`] first, then most
/// observations, then oldest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseQuery {
    /// Only this organisation's.
    pub org: Option<OrgId>,
    /// Only cases in this status.
    pub status: Option<CaseStatus>,
    /// Most cases (0: 100).
    pub limit: u32,
}

/// A decision to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDecision {
    /// Confirm or reject.
    pub decision: DecisionKind,
    /// Entity (confirmations).
    pub entity: Option<String>,
    /// Tier (confirmations).
    pub tier: Option<Tier>,
    /// Art. 2(7) grounds (confirmations).
    pub grounds: Vec<Ground>,
    /// Why.
    pub reason: String,
    /// The bank item the confirmed content was added as, if it was.
    pub added_content: Option<ContentId>,
}

/// A recorded decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseDecision {
    /// The case.
    pub case: CaseId,
    /// Confirm or reject.
    pub decision: DecisionKind,
    /// Entity.
    pub entity: Option<String>,
    /// Tier.
    pub tier: Option<Tier>,
    /// Grounds.
    pub grounds: Vec<Ground>,
    /// Why.
    pub reason: String,
    /// Who.
    pub reviewer: String,
    /// When.
    pub decided_at: Timestamp,
    /// The bank item added, if any.
    pub added_content: Option<ContentId>,
}

/// One URL to put in a new referral; the evidence is copied from the observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReferralItem {
    /// The observation that found the content.
    pub observation: ObservationId,
    /// Art. 2(7) grounds.
    pub grounds: Vec<Ground>,
    /// Free-text reasons.
    pub reason: String,
}

/// A referral to create, as a draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReferral {
    /// The referring organisation.
    pub org: OrgId,
    /// The provider.
    pub provider: ProviderId,
    /// The notice format.
    pub notice_format: NoticeFormat,
    /// Free text for the provider.
    pub note: String,
    /// The URLs.
    pub items: Vec<NewReferralItem>,
}

/// A referral to one provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referral {
    /// Identifier.
    pub id: ReferralId,
    /// The referring organisation.
    pub org: OrgId,
    /// The provider.
    pub provider: ProviderId,
    /// Reference number (`TD-<year>-<id>`), unique on the instance.
    pub reference: String,
    /// Where it stands.
    pub status: ReferralStatus,
    /// The notice format.
    pub notice_format: NoticeFormat,
    /// Free text for the provider.
    pub note: String,
    /// Who created it.
    pub created_by: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When its message was queued.
    pub queued_at: Option<Timestamp>,
    /// When the provider accepted the message.
    pub sent_at: Option<Timestamp>,
    /// When the provider acknowledged it.
    pub acknowledged_at: Option<Timestamp>,
    /// When it closed.
    pub closed_at: Option<Timestamp>,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// Which referrals to list, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReferralQuery {
    /// Only this organisation's.
    pub org: Option<OrgId>,
    /// Only to this provider.
    pub provider: Option<ProviderId>,
    /// Only in this status.
    pub status: Option<ReferralStatus>,
    /// Older than this id (keyset paging).
    pub before: Option<ReferralId>,
    /// Page size (0: 100).
    pub limit: u32,
}

/// One URL of a referral, with its evidence and its fate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralItem {
    /// Identifier.
    pub id: ReferralItemId,
    /// The referral.
    pub referral: ReferralId,
    /// The referring organisation.
    pub org: OrgId,
    /// The provider.
    pub provider: ProviderId,
    /// The URL referred.
    pub url: String,
    /// The medium's exact location, when the URL is a page.
    pub media_url: Option<String>,
    /// The observation that found it.
    pub observation: ObservationId,
    /// Its review case.
    pub case: Option<CaseId>,
    /// The content key of that case.
    pub content_key: String,
    /// The matched bank item.
    pub content_id: Option<ContentId>,
    /// Its bank's name.
    pub bank_name: Option<String>,
    /// Entity.
    pub entity: Option<String>,
    /// Tier.
    pub tier: Option<Tier>,
    /// Art. 2(7) grounds.
    pub grounds: Vec<Ground>,
    /// Free-text reasons.
    pub reason: String,
    /// MD5 of what was captured.
    pub md5: Option<String>,
    /// SHA-256 of what was captured.
    pub sha256: Option<String>,
    /// PDQ of what was captured.
    pub pdq: Option<String>,
    /// Content type captured.
    pub content_type: Option<String>,
    /// When it was captured.
    pub captured_at: Timestamp,
    /// The earlier, removed referral item this is a re-upload of.
    pub reupload_of: Option<ReferralItemId>,
    /// Live or gone.
    pub state: ItemState,
    /// Whether it still counts for deduplication.
    pub open: bool,
    /// The last check that saw it live (or the capture, before any check).
    pub last_live_at: Option<Timestamp>,
    /// The first check that saw it gone.
    pub first_gone_at: Option<Timestamp>,
    /// What that check found (removed or changed).
    pub gone_outcome: Option<CheckOutcome>,
    /// Checks finished.
    pub checks_done: u32,
}

/// One URL check: scheduled, claimed, or finished with its result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlCheck {
    /// Identifier.
    pub id: CheckId,
    /// The referral item checked.
    pub item: ReferralItemId,
    /// Its referral.
    pub referral: ReferralId,
    /// 1 for the first check of the item, 2 for the second, ...
    pub sequence: u32,
    /// When it is due.
    pub due_at: Timestamp,
    /// Where it stands.
    pub state: CheckState,
    /// The worker holding it.
    pub lease_owner: Option<String>,
    /// When that worker's claim runs out.
    pub lease_expires_at: Option<Timestamp>,
    /// How many times it was claimed (more than one: a worker died or stalled).
    pub claims: u32,
    /// The result, once done.
    pub result: Option<CheckResult>,
}

/// The result of one URL check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// When it was made.
    pub checked_at: Timestamp,
    /// HTTP method used.
    pub method: String,
    /// The final HTTP status.
    pub http_status: Option<u16>,
    /// The URL that answered, after redirects.
    pub final_url: Option<String>,
    /// Content type served.
    pub content_type: Option<String>,
    /// MD5 of what was served.
    pub md5: Option<String>,
    /// SHA-256 of what was served.
    pub sha256: Option<String>,
    /// PDQ distance to the referred content, when an image was compared.
    pub pdq_distance: Option<u32>,
    /// What it found.
    pub outcome: CheckOutcome,
    /// Evidence JSON (redirect chain, removal reason, error).
    pub evidence: String,
}

/// A check claimed by a worker, with what it needs to do it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedCheck {
    /// The check.
    pub check: UrlCheck,
    /// The item to check.
    pub item: ReferralItem,
    /// When the referral was sent (the schedule's origin).
    pub sent_at: Timestamp,
}

/// What recording a check did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordedCheck {
    /// False when the lease was lost (another worker took the check over): nothing was
    /// written, and the result must be dropped.
    pub recorded: bool,
    /// The referral's status after the check, when the check changed it.
    pub referral_status: Option<ReferralStatus>,
}

/// Counts of checks by state, and the next due time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CheckCounts {
    /// Waiting.
    pub pending: u64,
    /// Claimed now.
    pub claimed: u64,
    /// Finished.
    pub done: u64,
    /// Earliest due time among pending checks.
    pub next_due: Option<Timestamp>,
}

/// A message to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOutboxMessage {
    /// How it travels.
    pub channel: Channel,
    /// Unique key sent with every attempt (Message-ID, Idempotency-Key).
    pub idempotency_key: String,
    /// Sender address.
    pub sender: String,
    /// Recipient address or endpoint URL.
    pub recipient: String,
    /// Subject line.
    pub subject: String,
    /// MIME type of `body`.
    pub content_type: String,
    /// The whole message as it will be sent (RFC 5322 text or a JSON document).
    pub body: String,
}

/// A message to a provider, with its delivery history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// Identifier.
    pub id: OutboxId,
    /// The referral it carries.
    pub referral: ReferralId,
    /// How it travels.
    pub channel: Channel,
    /// Unique key sent with every attempt.
    pub idempotency_key: String,
    /// Sender.
    pub sender: String,
    /// Recipient.
    pub recipient: String,
    /// Subject.
    pub subject: String,
    /// MIME type of `body`.
    pub content_type: String,
    /// The message as sent: kept as evidence.
    pub body: String,
    /// Where it stands.
    pub state: OutboxState,
    /// Delivery attempts started.
    pub attempts: u32,
    /// When it may be tried next.
    pub next_attempt_at: Timestamp,
    /// The worker holding it.
    pub lease_owner: Option<String>,
    /// When that claim runs out.
    pub lease_expires_at: Option<Timestamp>,
    /// The last failure.
    pub last_error: Option<String>,
    /// The receiving server's answer (SMTP reply, HTTP status and body).
    pub response: Option<String>,
    /// When it was accepted.
    pub sent_at: Option<Timestamp>,
    /// When it was queued.
    pub created_at: Timestamp,
}

/// How a delivery attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryReport {
    /// Accepted by the receiving server: the referral becomes `sent` and its first checks are
    /// scheduled at `first_check_due`.
    Delivered {
        /// When it was accepted.
        at: Timestamp,
        /// The server's answer.
        response: String,
        /// When the first check of every item is due.
        first_check_due: Timestamp,
    },
    /// A transient failure: try again at `retry_at`.
    Retry {
        /// What went wrong.
        error: String,
        /// When to try again.
        retry_at: Timestamp,
    },
    /// A permanent failure: the message stays in the outbox as `failed`.
    Failed {
        /// What went wrong.
        error: String,
    },
}

/// Storage of the referral workflow. See the module documentation.
#[async_trait]
pub trait ReferralStore: Send + Sync {
    /// Creates a provider. `Conflict` if the name is taken.
    async fn create_provider(&self, actor: &Actor, new: NewProvider) -> StoreResult<Provider>;
    /// Changes a provider.
    async fn update_provider(
        &self,
        actor: &Actor,
        id: ProviderId,
        update: ProviderUpdate,
    ) -> StoreResult<Provider>;
    /// A provider with its rules.
    async fn provider(&self, id: ProviderId) -> StoreResult<Provider>;
    /// A provider by name.
    async fn provider_by_name(&self, name: &str) -> StoreResult<Provider>;
    /// Every provider with its rules, by name.
    async fn list_providers(&self) -> StoreResult<Vec<Provider>>;
    /// Adds a domain-suffix rule and assigns the provider to every unassigned observation the
    /// rule covers (in the same transaction); returns the rule and how many were assigned.
    /// `Conflict` if another rule has the same suffix.
    async fn add_provider_rule(
        &self,
        actor: &Actor,
        provider: ProviderId,
        host_suffix: &str,
    ) -> StoreResult<(ProviderRule, u64)>;
    /// Removes a rule. Observations already assigned keep their provider.
    async fn remove_provider_rule(&self, actor: &Actor, host_suffix: &str) -> StoreResult<()>;

    /// Records what a fetch found, filing each observation under its case (opening it if
    /// needed) and linking re-uploads of content already referred and removed, all in one
    /// transaction.
    async fn record_observations(
        &self,
        actor: &Actor,
        org: OrgId,
        observations: Vec<NewObservation>,
    ) -> StoreResult<Vec<Observation>>;
    /// An observation.
    async fn observation(&self, id: ObservationId) -> StoreResult<Observation>;
    /// Observations, oldest first.
    async fn observations(&self, query: &ObservationQuery) -> StoreResult<Vec<Observation>>;
    /// A case.
    async fn case(&self, id: CaseId) -> StoreResult<Case>;
    /// Cases, ranked (see [`CaseQuery`]).
    async fn cases(&self, query: &CaseQuery) -> StoreResult<Vec<Case>>;
    /// Records a decision and applies it to the case. A confirmation with `added_content`
    /// re-keys the case to that bank item, so later copies matching it join this case.
    async fn decide_case(
        &self,
        actor: &Actor,
        id: CaseId,
        decision: NewDecision,
    ) -> StoreResult<Case>;
    /// A case's decisions, oldest first.
    async fn case_decisions(&self, id: CaseId) -> StoreResult<Vec<CaseDecision>>;
    /// Live observations of `org` in confirmed cases, with a provider (or this one), whose URL
    /// is in no open referral to that provider: what is ready to refer. One per URL (the
    /// latest).
    async fn referable_observations(
        &self,
        org: OrgId,
        provider: Option<ProviderId>,
    ) -> StoreResult<Vec<Observation>>;
    /// The open referral item for `url` at `provider`, from any organisation, with its
    /// referral's reference.
    async fn open_item_for_url(
        &self,
        provider: ProviderId,
        url: &str,
    ) -> StoreResult<Option<(ReferralItem, String)>>;

    /// Creates a draft referral. `Conflict` naming the URL if one of its URLs is in an open
    /// referral to the same provider (from any organisation): the database's unique index
    /// decides, so two concurrent creators cannot both succeed.
    async fn create_referral(&self, actor: &Actor, new: NewReferral) -> StoreResult<Referral>;
    /// A referral.
    async fn referral(&self, id: ReferralId) -> StoreResult<Referral>;
    /// A referral by reference number.
    async fn referral_by_reference(&self, reference: &str) -> StoreResult<Referral>;
    /// Referrals, newest first.
    async fn referrals(&self, query: &ReferralQuery) -> StoreResult<Vec<Referral>>;
    /// A referral's items.
    async fn referral_items(&self, id: ReferralId) -> StoreResult<Vec<ReferralItem>>;
    /// A referral's checks, by item and sequence.
    async fn referral_checks(&self, id: ReferralId) -> StoreResult<Vec<UrlCheck>>;
    /// Moves a referral to `to` if [`ReferralStatus::can_move_to`] allows it from its current
    /// status (compare-and-set: a concurrent change makes this `Conflict`). Closing releases
    /// its URLs for deduplication and cancels its pending checks.
    async fn set_referral_status(
        &self,
        actor: &Actor,
        id: ReferralId,
        to: ReferralStatus,
    ) -> StoreResult<Referral>;

    /// Queues a message for a draft referral. Idempotent: a referral with a message pending,
    /// being sent or sent gets that message back.
    async fn enqueue_message(
        &self,
        actor: &Actor,
        referral: ReferralId,
        new: NewOutboxMessage,
    ) -> StoreResult<OutboxMessage>;
    /// A referral's messages, oldest first.
    async fn outbox_messages(&self, referral: ReferralId) -> StoreResult<Vec<OutboxMessage>>;
    /// Claims up to `limit` messages due at `now` (pending and due, or sending with an expired
    /// lease) for `owner` until `now + lease`; each claim counts an attempt.
    async fn claim_messages(
        &self,
        owner: &str,
        now: Timestamp,
        lease: chrono::Duration,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMessage>>;
    /// Records how a delivery attempt ended, if `owner` still holds the message's lease
    /// (returns false, writing nothing, if not).
    async fn record_delivery(
        &self,
        owner: &str,
        id: OutboxId,
        report: DeliveryReport,
    ) -> StoreResult<bool>;

    /// Claims up to `limit` checks due at `now` (pending and due, or claimed with an expired
    /// lease) for `owner` until `now + lease`, earliest due first.
    async fn claim_checks(
        &self,
        owner: &str,
        now: Timestamp,
        lease: chrono::Duration,
        limit: u32,
    ) -> StoreResult<Vec<ClaimedCheck>>;
    /// Records a check's result, if `owner` still holds its lease, together with the item's
    /// new state, the next check (`next_due`; none ends the item's schedule) and the
    /// referral's status: all URLs gone makes it `removed`; a schedule that ran out makes it
    /// `partially-removed` (some gone) or `expired` (none).
    async fn record_check(
        &self,
        owner: &str,
        id: CheckId,
        result: CheckResult,
        next_due: Option<Timestamp>,
    ) -> StoreResult<RecordedCheck>;
    /// Counts of checks by state.
    async fn check_counts(&self) -> StoreResult<CheckCounts>;
}

/// Parses a stored name, or reports a corrupt row.
pub(crate) fn parse_stored<T: FromStr<Err = UnknownName>>(text: &str) -> StoreResult<T> {
    text.parse().map_err(StoreError::corrupt)
}

/// Grounds as stored (a JSON array of names).
pub(crate) fn grounds_json(grounds: &[Ground]) -> String {
    serde_json::Value::Array(
        grounds
            .iter()
            .map(|ground| serde_json::Value::String(ground.as_str().to_string()))
            .collect(),
    )
    .to_string()
}

/// Grounds from their stored form.
pub(crate) fn grounds_from_json(text: &str) -> StoreResult<Vec<Ground>> {
    let names: Vec<String> = serde_json::from_str(text).map_err(StoreError::corrupt)?;
    names.iter().map(|name| parse_stored(name)).collect()
}

/// Bank hits as stored.
pub(crate) fn matches_json(matches: &[MatchRecord]) -> String {
    serde_json::Value::Array(
        matches
            .iter()
            .map(|hit| {
                serde_json::json!({
                    "content": hit.content.0,
                    "bank": hit.bank.0,
                    "bank_name": hit.bank_name,
                    "signal_type": hit.signal_type.as_str(),
                    "distance": hit.distance,
                })
            })
            .collect(),
    )
    .to_string()
}

/// Bank hits from their stored form.
pub(crate) fn matches_from_json(text: &str) -> StoreResult<Vec<MatchRecord>> {
    let values: Vec<serde_json::Value> = serde_json::from_str(text).map_err(StoreError::corrupt)?;
    values
        .iter()
        .map(|value| {
            let number = |key: &str| {
                value
                    .get(key)
                    .and_then(serde_json::Value::as_i64)
                    .ok_or_else(|| StoreError::corrupt(format!("match without {key}")))
            };
            let text = |key: &str| {
                value
                    .get(key)
                    .and_then(serde_json::Value::as_str)
                    .ok_or_else(|| StoreError::corrupt(format!("match without {key}")))
            };
            Ok(MatchRecord {
                content: ContentId(number("content")?),
                bank: BankId(number("bank")?),
                bank_name: text("bank_name")?.to_string(),
                signal_type: text("signal_type")?.parse().map_err(StoreError::corrupt)?,
                distance: u32::try_from(number("distance")?).map_err(StoreError::corrupt)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for status in ReferralStatus::ALL {
            assert_eq!(status.as_str().parse::<ReferralStatus>().unwrap(), *status);
        }
        assert_eq!(
            "partially_removed".parse::<ReferralStatus>().unwrap(),
            ReferralStatus::PartiallyRemoved
        );
        assert!("gone".parse::<ReferralStatus>().is_err());
        for ground in Ground::ALL {
            assert_eq!(ground.as_str().parse::<Ground>().unwrap(), *ground);
        }
    }

    #[test]
    fn the_status_machine_only_moves_forward() {
        use ReferralStatus::*;
        assert!(Draft.can_move_to(Sent));
        assert!(!Draft.can_move_to(Removed));
        assert!(Sent.can_move_to(Acknowledged));
        assert!(Acknowledged.can_move_to(Removed));
        assert!(!Removed.can_move_to(Sent));
        assert!(!Acknowledged.can_move_to(Sent));
        assert!(!Expired.can_move_to(Removed));
        assert!(Sent.is_open() && !Refused.is_open());
    }

    #[test]
    fn rank_puts_severity_before_confidence() {
        assert!(rank_score(7, 0) > rank_score(6, 3));
        assert!(rank_score(3, 2) > rank_score(3, 1));
        assert_eq!(rank_score(7, 3), 31);
    }

    #[test]
    fn suffix_rules_cover_subdomains_and_the_longest_wins() {
        assert!(host_matches_suffix("cdn.files.example", "files.example"));
        assert!(host_matches_suffix("FILES.example.", "files.example"));
        assert!(!host_matches_suffix("notfiles.example", "files.example"));
        let at = chrono::DateTime::from_timestamp(0, 0).unwrap();
        let provider = |id: i64, suffix: &str| Provider {
            id: ProviderId(id),
            name: format!("p{id}"),
            contact_email: String::new(),
            endpoint_url: String::new(),
            delivery: Delivery::Manual,
            notice_format: NoticeFormat::Text,
            legal_representative: String::new(),
            member_state: String::new(),
            contact_point: String::new(),
            rules: vec![ProviderRule {
                id: ProviderRuleId(id),
                provider: ProviderId(id),
                host_suffix: suffix.to_string(),
                created_at: at,
            }],
            created_at: at,
            updated_at: at,
        };
        let providers = vec![provider(1, "example"), provider(2, "files.example")];
        assert_eq!(
            provider_for_host(&providers, "cdn.files.example").map(|p| p.id),
            Some(ProviderId(2))
        );
        assert_eq!(
            provider_for_host(&providers, "www.example").map(|p| p.id),
            Some(ProviderId(1))
        );
        assert!(provider_for_host(&providers, "other.test").is_none());
    }
}
