//! URL fetching and re-checking for takedown.
//!
//! Two callers fetch URLs: the matching service (hash the media at a URL: HMA's
//! `GET /h/hash?url=`, `/m/lookup?url=`, adding bank content by `url=`) and the referral
//! workflow (fetch what an analyst submits, then re-check referred URLs until the content is
//! gone). Both hand the fetcher URLs that someone else chose, so the fetcher is built around
//! three decisions.
//!
//! # The guard sits at resolution time
//! A fetcher inside a police unit's or a platform's network is an ideal tool for server-side
//! request forgery: a URL pointing at `169.254.169.254` (cloud credentials), `10.0.0.5`
//! (an internal service), or a name that resolves to one of them. Checking the URL's text is
//! not enough: the name's addresses are only known after resolution, a redirect can lead
//! anywhere, and a name can resolve to a public address when checked and a private one when
//! connected (DNS rebinding). So:
//!
//! - [`TargetUrl`] refuses what the text alone shows: other schemes, credentials in the URL,
//!   absurd lengths. Redirect targets go through the same type.
//! - The HTTP client's resolver is a [`GuardedResolver`]: every connection asks it for
//!   addresses, it applies the [`AddressPolicy`] to each answer and returns only the allowed
//!   ones, and the client connects only to those. The check and the connection use the same
//!   addresses, for every hop and every new connection.
//! - Literal IP hosts never reach a resolver, so the fetcher checks them itself before each hop.
//! - Redirects are followed by hand (never by the client), so each hop is re-checked and
//!   recorded; proxies from the environment are disabled, since a proxy would resolve names
//!   beyond the guard's reach.
//!
//! [`address::classify`] is a pure function over IP addresses (IPv4, IPv6, and the IPv6 forms
//! that embed an IPv4 address), so the refusal of private and metadata addresses is tested on
//! addresses, never by letting a request out. The allowlist (`127.0.0.0/8` for tests and the
//! demo) opens special ranges, but never cloud metadata endpoints.
//!
//! # Outcomes are values
//! A referred URL that is gone is the result the referral unit hopes for, not an error. A fetch
//! returns a [`FetchReport`]: when it was made (from an injected [`Clock`]), every request sent
//! with its status and the address that answered, and a [`FetchOutcome`]:
//! [`Live`] (body up to a limit, MD5 and SHA-256 computed while streaming, headers of interest),
//! [`Removed`] (404, 410, 451, or a provider's "removed" page recognised by a configured
//! [`RemovedPageRule`]), [`Unreachable`] (DNS, connect, timeout, TLS, ... after retries), or
//! [`Blocked`] (refused by the guard). "Matching" and "changed" are judged by callers from the
//! digests. Errors ([`ConfigError`], [`UrlError`]) are kept for what is really wrong: a bad
//! configuration, or input that is not a fetchable URL.
//!
//! # Polite and bounded
//! A re-check run may hold thousands of URLs on one provider. Requests to one host are limited
//! in number in flight and paced (a least interval between starts); a global limit bounds the
//! whole fetcher; `Retry-After` pushes back every request to that host. Transient failures
//! (connect errors, timeouts, DNS failures, 429/502/503/504) are retried with exponential
//! backoff and seedable jitter; 404/410/451 and guard refusals never are. Bodies are streamed
//! and reading stops at `max_body_bytes`, so a server that streams forever costs that much and
//! no more. Each request has a time limit, and so does each fetch as a whole.
//!
//! # Not here
//! Fetching media found in a page: [`html::extract_media_urls`] lists them, and the caller
//! fetches each through the same [`Fetcher`]. Scheduling re-checks and storing reports belong
//! to the engine and the store.
//!
//! [`Clock`]: takedown_model::clock::Clock

pub mod address;
pub mod config;
mod fetcher;
pub mod html;
mod limits;
pub mod outcome;
pub mod resolve;
pub mod target;

pub use address::{AddressPolicy, IpCidr, Refusal, SpecialRange};
pub use config::{ConfigError, FetchConfig, RemovedPageRule};
pub use fetcher::Fetcher;
pub use html::{extract_media_urls, media_in_page, MediaLink, MediaSource};
pub use outcome::{
    BlockReason, Blocked, FetchOutcome, FetchReport, Hop, HopResult, Live, OutcomeKind, Removed,
    RemovedReason, Unreachable, UnreachableReason,
};
pub use resolve::{GuardedResolver, HostResolver, StaticResolver, SystemResolver};
pub use target::{TargetUrl, UrlError};
