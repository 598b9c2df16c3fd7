//! The web interface for analysts and reviewers, served by `takedown serve` at `/ui`.
//!
//! Server-rendered HTML: every page is a [`maud`] template compiled into the binary, and maud
//! escapes every interpolated value at compile time, so text from the database, a URL or a
//! provider can never become markup. The stylesheet and the one small script are embedded
//! ([`assets`]); nothing is loaded from elsewhere, so the interface works without internet and
//! the Content-Security-Policy can say `default-src 'self'`.
//!
//! # Pages
//!
//! | path | page |
//! |---|---|
//! | `/ui/signin`, `/ui/signout` | sign in with an API token; sign out |
//! | `/ui/` | dashboard: banks, index size, today's observations, open referrals, removal rate |
//! | `/ui/banks`, `/ui/banks/{name}` | banks; a bank's content with paging, search, add, disable, delete |
//! | `/ui/match` | match an upload, a URL or a hash |
//! | `/ui/review` | the ranked review queue (keyboard: `j`/`k` move, `c` confirm, `r` reject) and URL intake |
//! | `/ui/referrals`, `/ui/referrals/{reference}` | board by status and provider; one referral with URLs, checks and exports |
//! | `/ui/operations`, `/ui/operations/{name}` | operations with their impact charts |
//! | `/ui/audit` | the audit log |
//!
//! # Sign-in and sessions
//!
//! A user signs in with an API token. The token is checked by the engine and kept only in
//! server memory, under a random 256-bit session id; the browser holds that id in an
//! `HttpOnly; SameSite=Strict` cookie scoped to `/ui`. Every request authenticates the token
//! again (the engine caches for a few seconds), so a revoked token ends its sessions. Every POST
//! form carries the session's CSRF token, compared in constant time; the sign-in form has its own
//! pre-session token (double-submit cookie) against login CSRF. Sessions do not survive a
//! restart: the user signs in again.
//!
//! # Reviewer wellbeing
//!
//! Every media preview is blurred and greyscale, and not even fetched, until the reviewer clicks
//! to reveal that one item; audio and video are muted and never autoplay. Each reveal counts one
//! exposure for the reviewer (the token's actor) on that UTC day; the counts are stored
//! ([`exposure`]) and shown in the header of every page.
//!
//! Boundary: maps forms and pages to `takedown-engine`, `takedown-referrals` and
//! `takedown-impact` calls; no business rules here.

pub mod assets;
pub mod exposure;
mod layout;
mod media;
mod pages;
pub mod session;

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use takedown_engine::Engine;
use takedown_fetch::Fetcher;
use takedown_referrals::Referrals;

/// What the interface needs from the running service.
#[derive(Clone)]
pub struct UiOptions {
    /// Largest upload accepted by the forms, in bytes.
    pub upload_limit: usize,
    /// Where exposure counts are kept (JSON); `None` keeps them in memory only.
    pub exposure_file: Option<PathBuf>,
    /// Mark the session cookie `Secure` (set when the service is behind HTTPS).
    pub secure_cookies: bool,
}

impl Default for UiOptions {
    fn default() -> Self {
        UiOptions {
            upload_limit: 50 * 1024 * 1024,
            exposure_file: None,
            secure_cookies: false,
        }
    }
}

/// Where the interface finds the referral workflow, asked on every request: the server may
/// attach its workflow after the routes are built.
pub type ReferralSource = Arc<dyn Fn() -> Option<Arc<Referrals>> + Send + Sync>;

/// Shared state of the interface. Cheap to clone.
#[derive(Clone)]
pub struct UiState {
    inner: Arc<Shared>,
}

struct Shared {
    engine: Arc<Engine>,
    fetcher: Fetcher,
    referrals: ReferralSource,
    sessions: session::Sessions,
    exposures: exposure::Exposures,
    options: UiOptions,
}

impl std::fmt::Debug for UiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UiState").finish_non_exhaustive()
    }
}

impl UiState {
    /// The interface over an engine, the service's URL fetcher, and the referral workflow
    /// (when the source has none, the review and referral pages say so with 503).
    pub fn new(
        engine: Arc<Engine>,
        fetcher: Fetcher,
        referrals: ReferralSource,
        options: UiOptions,
    ) -> UiState {
        let exposures = exposure::Exposures::load(options.exposure_file.clone());
        UiState {
            inner: Arc::new(Shared {
                engine,
                fetcher,
                referrals,
                sessions: session::Sessions::default(),
                exposures,
                options,
            }),
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.inner.engine
    }

    /// The URL fetcher.
    pub fn fetcher(&self) -> &Fetcher {
        &self.inner.fetcher
    }

    /// The referral workflow, when configured.
    pub fn referrals(&self) -> Option<Arc<Referrals>> {
        (self.inner.referrals)()
    }

    /// The session table.
    pub fn sessions(&self) -> &session::Sessions {
        &self.inner.sessions
    }

    /// Exposure counts.
    pub fn exposures(&self) -> &exposure::Exposures {
        &self.inner.exposures
    }

    /// The options.
    pub fn options(&self) -> &UiOptions {
        &self.inner.options
    }
}

/// The interface's routes, relative to where it is mounted (`/ui`).
pub fn router(state: UiState) -> Router {
    let limit = state.options().upload_limit.saturating_add(64 * 1024);
    Router::new()
        .route("/", get(pages::dashboard::page))
        .route("/assets/{file}", get(assets::serve))
        .route(
            "/signin",
            get(pages::signin::form).post(pages::signin::submit),
        )
        .route("/signout", post(pages::signin::signout))
        .route("/banks", get(pages::banks::list))
        .route("/banks/{name}", get(pages::banks::bank))
        .route("/banks/{name}/add", post(pages::banks::add))
        .route("/content/{id}/enable", post(pages::banks::enable))
        .route("/content/{id}/disable", post(pages::banks::disable))
        .route("/content/{id}/delete", post(pages::banks::delete))
        .route(
            "/match",
            get(pages::matching::form).post(pages::matching::submit),
        )
        .route("/review", get(pages::review::queue))
        .route("/review/intake", post(pages::review::intake))
        .route("/review/{id}/decide", post(pages::review::decide))
        .route("/referrals", get(pages::referrals::board))
        .route("/referrals/create", post(pages::referrals::create))
        .route("/referrals/{key}", get(pages::referrals::detail))
        .route("/referrals/{key}/send", post(pages::referrals::send))
        .route("/referrals/{key}/mark", post(pages::referrals::mark))
        .route(
            "/referrals/{key}/export/{format}",
            get(pages::referrals::export),
        )
        .route("/operations", get(pages::operations::list))
        .route("/operations/{name}", get(pages::operations::operation))
        .route(
            "/operations/{name}/report",
            get(pages::operations::full_report),
        )
        .route("/audit", get(pages::audit::page))
        .route("/media/observation/{id}", get(media::observation))
        .route("/exposure", post(media::record_exposure))
        .fallback(pages::not_found)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}
