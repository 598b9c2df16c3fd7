//! Find, refer, verify: a referral unit's daily work against real HTTP servers.
//!
//! An analyst hands takedown URLs; takedown fetches them through the SSRF-safe fetcher,
//! fingerprints what they carry (an image or video file directly; for an HTML page, the media it
//! embeds), matches against the banks and records an **observation**. Observations group into
//! **cases** for human review; a confirmed case's URLs are referred to their **provider** in one
//! **referral** with the evidence, the referral is delivered through a durable **outbox** (SMTP
//! or an HTTP JSON endpoint), and every referred URL is **re-checked** on a schedule until the
//! content is gone. A new URL whose content matches an item already referred and removed
//! elsewhere is flagged as a **re-upload**, linked to the earlier referral and queued for a new
//! one.
//!
//! # Lifecycle
//!
//! ```text
//! URL ──fetch──> observation ──> case (open ──decide──> confirmed | rejected)
//!                     │ host rule?                │ confirmed + live + provider known
//!                     └─ none: "unassigned" queue ▼
//!                                   referral: draft ──send──> outbox ──delivered──> sent
//!                                   sent ──> acknowledged (provider said so)
//!                                   sent | acknowledged ──checks──> removed
//!                                                        ──schedule ends──> partially-removed | expired
//!                                   sent | acknowledged ──provider declined──> refused
//! ```
//!
//! A referral is *open* while draft, sent or acknowledged. While it is open, none of its URLs can
//! be put in another referral to the same provider, by any organisation: the store enforces
//! that with a partial unique index (Europol's IRMa deduplicates across countries the same
//! way). An item stops counting once its content is seen gone, so a URL that comes back later
//! can be referred again.
//!
//! Each URL check is its own record (time, method, status, final URL, digest, outcome `live`,
//! `removed`, `changed`, `unreachable` or `blocked`). `changed` means the URL still answers but
//! the referred content is no longer there (different bytes and no perceptual match); it counts
//! as gone. Time to removal is measured from delivery to the first check that saw the content
//! gone, and reported with the interval that bounds it: removal happened after the last check
//! that saw it live and no later than the first that saw it gone ([`RemovalTiming`]).
//!
//! # Why the outbox and the leases
//!
//! A process may be killed at any moment, and neither a check nor a message may be lost or
//! repeated in the record. So all pending work lives in the store, never only in memory:
//!
//! - **Claim with a lease.** A worker claims due rows in one statement (`UPDATE ... WHERE id IN
//!   (SELECT ... FOR UPDATE SKIP LOCKED)` on PostgreSQL, an atomic `UPDATE ... RETURNING` on
//!   SQLite), writing its owner name and a lease expiry. A worker that dies leaves rows whose
//!   lease runs out; any worker claims them again. Nothing is lost.
//! - **Record under the lease.** The result, the item's and referral's new state and the next
//!   scheduled check are written in one transaction, and only if the worker still holds the
//!   lease. A worker whose lease was taken over writes nothing. Nothing is recorded twice.
//! - **Idempotent delivery.** A message is rendered once, when queued, and every attempt sends
//!   the same bytes with the same key: the e-mail's `Message-ID`, the HTTP `Idempotency-Key`
//!   header. Delivery is at least once: if the process dies after the provider accepted the
//!   message and before that was recorded, the lease expires and the message is sent again, but
//!   recognisably the same message, which the receiver discards (the loopback SMTP sink and
//!   HTTP endpoint in [`demo`] do, as an IETF `Idempotency-Key` server or a mail store keyed by
//!   `Message-ID` does). No protocol can make "sent" and "recorded" one atomic step; the key is
//!   what makes the unavoidable retry harmless. The sent message and the server's answer are
//!   kept as evidence.
//!
//! Leases are longer than a fetch's whole time budget and a delivery's timeout, so a live
//! worker never loses its lease in normal operation.
//!
//! # Ranking
//!
//! Cases are ranked by `4 × severity + confidence` (Altitude's severity 0-7 and confidence
//! 0-3; severity leads, confidence breaks ties), then by number of observations, then age.
//! Severity comes from the matched bank item's label (or its tier: tier 1 → 7, 2 → 6, 3 → 3,
//! 4 → 1); confidence from its label (2 when unlabelled), plus one when copies matched items in
//! two or more banks (several sources agree), at most 3. Unmatched content starts at 0 and 0.
//!
//! Boundary: no HTTP routes and no terminal; every operation takes an engine [`Caller`]
//! (`Permission::Review` for analysts' work, `Permission::Administer` to edit providers) and is
//! scoped to the caller's organisation. The store is the only place that writes SQL.
//!
//! [`Caller`]: takedown_engine::Caller

mod checks;
mod config;
mod delivery;
pub mod demo;
mod error;
pub mod export;
mod intake;
mod referral;
mod review;
mod schedule;
mod service;
pub mod smtp_sink;
pub mod wire;

pub use checks::{CheckRunSummary, OutboxRunSummary};
pub use config::{ReferralConfig, SenderInfo, SmtpConfig, SmtpTls};
pub use error::{ReferralError, ReferralResult};
pub use export::ExportFormat;
pub use intake::{IntakeReport, IntakeRequest};
pub use referral::{
    CreateReferrals, CreatedReferrals, ItemDetail, ReferralDetail, RemovalTiming, SkippedUrl,
};
pub use review::{CaseDetail, Decision};
pub use schedule::CheckSchedule;
pub use service::Referrals;

/// The store's referral records, re-exported for callers that name them.
pub use takedown_store::referrals as records;
