//! What a fetch found, as values: a URL that is gone is a result, not an error.
//!
//! A [`FetchReport`] is one URL check as the referral records keep it: when it was made, every
//! request sent (the redirect chain and the retries, with statuses and the address that
//! answered), and the [`FetchOutcome`]. Callers decide "matching" or "changed" by comparing the
//! digests of a [`Live`] outcome with what they hold.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use takedown_model::clock::Timestamp;
use takedown_signals::digest::Digests;

use crate::address::Refusal;
use crate::target::UrlError;

/// One URL check: its time, its requests and its outcome.
#[derive(Debug, Clone)]
pub struct FetchReport {
    /// The URL asked for.
    pub requested_url: String,
    /// When the outcome was decided, from the fetcher's injected clock.
    pub fetched_at: Timestamp,
    /// Wall time the fetch took, queueing for host limits included.
    pub elapsed: Duration,
    /// Every request sent, in order: redirect hops and retries each have their own entry.
    pub hops: Vec<Hop>,
    /// What was found.
    pub outcome: FetchOutcome,
}

impl FetchReport {
    /// Requests sent (redirects and retries each count; a refused URL sends none).
    pub fn attempts(&self) -> u32 {
        u32::try_from(self.hops.len()).unwrap_or(u32::MAX)
    }

    /// The outcome's kind, as the referral records name it.
    pub fn kind(&self) -> OutcomeKind {
        self.outcome.kind()
    }

    /// The responses that redirected, in order: the redirect chain.
    pub fn redirects(&self) -> impl Iterator<Item = &Hop> {
        self.hops.iter().filter(|hop| hop.location().is_some())
    }

    /// The status of the last response received, if any.
    pub fn last_status(&self) -> Option<u16> {
        self.hops.iter().rev().find_map(Hop::status)
    }
}

/// The four kinds of outcome; `changed` and `matching` are judged by callers from the digests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutcomeKind {
    /// Content served.
    Live,
    /// Content gone.
    Removed,
    /// No answer that says either.
    Unreachable,
    /// Refused by the guard; nothing was sent.
    Blocked,
}

impl OutcomeKind {
    /// The lowercase name used in URL check records.
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Live => "live",
            OutcomeKind::Removed => "removed",
            OutcomeKind::Unreachable => "unreachable",
            OutcomeKind::Blocked => "blocked",
        }
    }
}

impl fmt::Display for OutcomeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a fetch found.
#[derive(Debug, Clone)]
pub enum FetchOutcome {
    /// The server served content (a 2xx answer that no removed-page rule recognised).
    Live(Live),
    /// The content is gone: 404, 410, 451, or a provider's "removed" page.
    Removed(Removed),
    /// No answer saying live or removed, after the retries allowed.
    Unreachable(Unreachable),
    /// The guard refused the URL or an address it resolved to; no request went there.
    Blocked(Blocked),
}

impl FetchOutcome {
    /// The outcome's kind.
    pub fn kind(&self) -> OutcomeKind {
        match self {
            FetchOutcome::Live(_) => OutcomeKind::Live,
            FetchOutcome::Removed(_) => OutcomeKind::Removed,
            FetchOutcome::Unreachable(_) => OutcomeKind::Unreachable,
            FetchOutcome::Blocked(_) => OutcomeKind::Blocked,
        }
    }
}

/// Content that was served.
#[derive(Clone)]
pub struct Live {
    /// The final response's status (a 2xx).
    pub status: u16,
    /// The URL that served the content, after redirects.
    pub final_url: String,
    /// `Content-Type` as sent.
    pub content_type: Option<String>,
    /// `ETag` as sent: a cheap "changed?" hint for later checks.
    pub etag: Option<String>,
    /// `Last-Modified` as sent.
    pub last_modified: Option<String>,
    /// `Content-Length` as sent (the body may be shorter if truncated).
    pub content_length: Option<u64>,
    /// The body, at most `max_body_bytes` of it.
    pub body: Bytes,
    /// The body went on past `max_body_bytes`; reading stopped there.
    pub truncated: bool,
    /// Body bytes received before reading stopped (can pass the limit by part of a chunk).
    pub bytes_received: u64,
    /// MD5 and SHA-256 of the whole body, computed while it streamed in. `None` when
    /// truncated: digests of a prefix would never equal the content's and must not be compared.
    pub digests: Option<Digests>,
}

impl fmt::Debug for Live {
    // The body is summarised: a debug print of a 100 MB video helps nobody.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Live")
            .field("status", &self.status)
            .field("final_url", &self.final_url)
            .field("content_type", &self.content_type)
            .field("etag", &self.etag)
            .field("last_modified", &self.last_modified)
            .field("content_length", &self.content_length)
            .field("body_len", &self.body.len())
            .field("truncated", &self.truncated)
            .field("bytes_received", &self.bytes_received)
            .field("digests", &self.digests)
            .finish()
    }
}

/// Content that is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    /// How the removal was recognised.
    pub reason: RemovedReason,
    /// The final response's status.
    pub status: u16,
    /// The URL that answered, after redirects.
    pub final_url: String,
    /// `Content-Type` of the answer.
    pub content_type: Option<String>,
    /// The start of the answer's body (at most 512 bytes, invalid UTF-8 replaced), as evidence.
    pub excerpt: String,
}

/// How a removal was recognised.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RemovedReason {
    /// 404 Not Found.
    Http404,
    /// 410 Gone.
    Http410,
    /// 451 Unavailable For Legal Reasons (withheld, often per country).
    Http451,
    /// A configured provider rule recognised a "removed" page.
    ProviderPage {
        /// The rule's name.
        rule: String,
    },
}

/// No answer that says live or removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreachable {
    /// What went wrong on the last attempt.
    pub reason: UnreachableReason,
    /// The last error's text, for the record.
    pub message: String,
    /// How long the server asked to wait (`Retry-After`), when it did.
    pub retry_after: Option<Duration>,
}

/// Why a URL was unreachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnreachableReason {
    /// The name did not resolve.
    Dns,
    /// No connection (refused, reset, no route).
    Connect,
    /// A time limit passed (connect, request, or the whole fetch).
    Timeout,
    /// The TLS handshake failed (certificate, protocol).
    Tls,
    /// The server spoke broken HTTP, or redirected without a usable `Location`.
    Protocol,
    /// The connection dropped while the body was coming in.
    Interrupted,
    /// More redirects than `max_redirects`.
    TooManyRedirects,
    /// The server answered with a status that is neither content nor removal (403, 500, a 503
    /// that outlasted the retries, ...).
    HttpStatus(u16),
}

impl UnreachableReason {
    /// Whether another attempt may succeed: network failures and timeouts, and the statuses
    /// servers use for "busy" (429, 502, 503, 504).
    pub fn is_transient(self) -> bool {
        match self {
            UnreachableReason::Dns
            | UnreachableReason::Connect
            | UnreachableReason::Timeout
            | UnreachableReason::Interrupted => true,
            UnreachableReason::HttpStatus(status) => is_transient_status(status),
            UnreachableReason::Tls
            | UnreachableReason::Protocol
            | UnreachableReason::TooManyRedirects => false,
        }
    }
}

pub(crate) fn is_transient_status(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

/// The guard refused: no request was sent to the refused place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// The URL refused (the one asked for, or a redirect target).
    pub url: String,
    /// Why.
    pub reason: BlockReason,
}

/// Why the guard refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockReason {
    /// Every address of the host is special and not allowlisted (or is cloud metadata).
    Address {
        /// The host as written in the URL.
        host: String,
        /// One refusal per address.
        refusals: Vec<Refusal>,
    },
    /// A redirect led to a URL the fetcher does not fetch (another scheme, credentials, too
    /// long). A URL given directly is checked before the fetch, by [`crate::TargetUrl`].
    Url(UrlError),
}

impl fmt::Display for BlockReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockReason::Address { host, refusals } => {
                write!(f, "host `{host}` refused:")?;
                for refusal in refusals {
                    write!(f, " {refusal};")?;
                }
                Ok(())
            }
            BlockReason::Url(error) => write!(f, "{error}"),
        }
    }
}

/// One request sent during a fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    /// The URL requested.
    pub url: String,
    /// When the request finished, from the injected clock.
    pub at: Timestamp,
    /// How long the request took (after any queueing for host limits).
    pub elapsed: Duration,
    /// The address that answered, when a connection was made.
    pub remote_addr: Option<SocketAddr>,
    /// What came back.
    pub result: HopResult,
}

impl Hop {
    /// The status received, if any.
    pub fn status(&self) -> Option<u16> {
        match &self.result {
            HopResult::Response { status, .. } => Some(*status),
            HopResult::Failed { .. } => None,
        }
    }

    /// The redirect target as sent, if this hop redirected.
    pub fn location(&self) -> Option<&str> {
        match &self.result {
            HopResult::Response { location, .. } => location.as_deref(),
            HopResult::Failed { .. } => None,
        }
    }
}

/// The result of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HopResult {
    /// An answer.
    Response {
        /// Its status.
        status: u16,
        /// Where it redirected to (its `Location` resolved against the request URL), for
        /// redirects that were followed.
        location: Option<String>,
    },
    /// No usable answer.
    Failed {
        /// Why.
        reason: UnreachableReason,
        /// The error's text.
        message: String,
    },
}
