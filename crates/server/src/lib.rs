//! The HTTP service: hash-and-match for upload pipelines, curation and sharing for referral
//! units, over [`takedown_engine::Engine`].
//!
//! Two APIs share one server. The **HMA-compatible routes** answer with Hasher-Matcher-
//! Actioner's paths, parameters and shapes, so a pipeline pointed at HMA keeps working when
//! pointed here (faster, and with authentication). **`/api/v1`** is takedown's own API for
//! everything HMA lacks. Both are documented by one OpenAPI 3 document generated from the
//! handlers, served at `/api/v1/openapi.json`.
//!
//! # Routes
//!
//! | route | what |
//! |---|---|
//! | `GET /status`, `GET /status/live` | readiness (503 until the index is loaded), liveness |
//! | `GET /metrics` | Prometheus: requests by route and status, latency, index size, lookups |
//! | `GET /h/hash?url=`, `POST /h/hash` | HMA: hash media by URL or upload |
//! | `GET /m/raw_lookup`, `GET\|POST /m/lookup`, `GET /m/index/status`, `POST /m/compare` | HMA: matching |
//! | `GET\|POST /c/banks`, `GET\|PUT\|DELETE /c/bank/{name}[/content/{id}]`, `POST /c/bank/{name}/content\|signal` | HMA: curation |
//! | `/api/v1/banks[/{bank}[/shares\|/content\|/import\|/export]]` | banks, sharing, adding content, bulk import and export |
//! | `/api/v1/content[/{id}[/disable\|/enable]]` | search and paging, labels, disable, delete |
//! | `/api/v1/lookup`, `/api/v1/lookup/upload`, `/api/v1/hash`, `/api/v1/index` | matching with labels |
//! | `/api/v1/organisations`, `/api/v1/tokens`, `/api/v1/audit` | administration |
//! | `/ui/...` (and `/` redirecting there) | the web interface (`takedown-webui`) |
//!
//! # Errors
//!
//! One type, [`ApiError`], maps every [`takedown_engine::EngineError`] to one status (see its
//! `From` impl): 401 no or bad token, 403 role, 404 missing or invisible (the same on purpose),
//! 409 conflict, 400 bad input naming the field, 413 too large, 422 undecodable media naming the
//! problem, 503 index loading, 500 logged and never detailed. `/api/v1` answers
//! `{"error", "status", "field"}`; HMA routes answer HMA's `{"message"}` ([`HmaError`]).
//!
//! # Why it is built this way
//!
//! - [`router`] builds the whole service from an [`AppState`], so tests drive it over a real
//!   socket ([`start`]) or with `tower::ServiceExt::oneshot`, without a socket.
//! - Hashing and index building are CPU work: the engine runs them on blocking threads, so an
//!   upload never stalls the async workers that answer lookups by hash.
//! - Bodies are bounded before they are read (`upload_limit`; `import_limit` for bulk import,
//!   which is spooled to disk), and images are bounded before they are decoded (the media
//!   crate refuses a 50000x50000 header without allocating it).
//! - Media by URL goes through `takedown-fetch`'s address guard, so a request cannot make the
//!   server fetch from loopback, private, link-local or cloud-metadata addresses unless the
//!   operator allowlisted them.
//! - `/metrics` needs no token: it shows only counts and route templates (never bank names,
//!   hashes or organisations), and Prometheus scrapers are simplest without credentials.

pub mod api;
pub mod auth;
pub mod config;
pub mod demo;
pub mod error;
pub mod extract;
pub mod fetching;
pub mod hma;
pub mod memory;
pub mod metrics;
pub mod openapi;
pub mod state;
pub mod status;
pub mod ui;
pub mod upload;
pub mod wire;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, Uri};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use takedown_engine::{Engine, EngineConfig, MediaMatchConfig};
use takedown_hasher::HashOptions;
use takedown_model::{Clock, SystemClock};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use config::{ByteSize, ServerConfig};
pub use error::{ApiError, ErrorShape, HmaError};
pub use state::AppState;

/// Header set on answers from the fallback (no such route or method), so tests can tell a
/// route that does not exist from a handler's own 404.
pub const NO_ROUTE_HEADER: &str = "x-takedown-no-route";

/// Every route with its documentation, before state and fallbacks are attached.
pub fn documented_routes(config: &ServerConfig) -> OpenApiRouter<AppState> {
    let service = OpenApiRouter::new()
        .routes(routes!(status::status))
        .routes(routes!(status::live))
        .routes(routes!(metrics::metrics));
    let hma = limit_layers(hma::routes(), config.upload_limit, ErrorShape::Hma);
    service
        .merge(hma)
        .merge(api::routes(config.upload_limit, config.import_limit))
}

/// The OpenAPI document of every route (what `/api/v1/openapi.json` serves).
pub fn openapi_document(config: &ServerConfig) -> utoipa::openapi::OpenApi {
    let (_, document) = documented_routes(config).split_for_parts();
    openapi::finish(document)
}

/// The whole service over `state`.
pub fn router(state: AppState) -> Router {
    let (routes, document) = documented_routes(state.config()).split_for_parts();
    let document = openapi::finish(document);
    let json: serde_json::Value = serde_json::to_value(&document).unwrap_or_else(|error| {
        tracing::error!(%error, "cannot serialise the OpenAPI document");
        serde_json::Value::Null
    });
    routes
        .merge(ui::routes(&state))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(Extension(openapi::Document(Arc::new(json))))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .with_state(state)
}

/// The body-size guards for a group of routes.
pub(crate) fn limit_layers(
    routes: OpenApiRouter<AppState>,
    limit: ByteSize,
    shape: ErrorShape,
) -> OpenApiRouter<AppState> {
    routes
        .layer(DefaultBodyLimit::max(limit.as_usize()))
        .layer(middleware::from_fn_with_state(
            upload::BodyLimit { limit, shape },
            upload::limit_body,
        ))
}

fn marked(error: ApiError) -> Response {
    let mut response = error.into_response();
    response.headers_mut().insert(
        HeaderName::from_static(NO_ROUTE_HEADER),
        HeaderValue::from_static("1"),
    );
    response
}

async fn no_route(method: Method, uri: Uri) -> Response {
    marked(ApiError::not_found(format!(
        "route {method} {}",
        uri.path()
    )))
}

async fn wrong_method(method: Method, uri: Uri) -> Response {
    marked(ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        format!("{} does not answer {method}", uri.path()),
    ))
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// The database could not be opened.
    #[error("cannot open the database: {0}")]
    Store(#[from] takedown_store::StoreError),
    /// The URL fetcher's configuration is unusable.
    #[error("fetch configuration: {0}")]
    Fetch(#[from] takedown_fetch::ConfigError),
    /// The address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The demo could not be set up.
    #[error("demo: {0}")]
    Demo(String),
}

/// The engine's settings from the server's.
pub fn engine_config(config: &ServerConfig) -> EngineConfig {
    let mut hash_options = HashOptions::default();
    // Whatever the body limit lets through, the decoder must accept.
    hash_options.image_limits.max_input_bytes = config
        .upload_limit
        .as_usize()
        .max(usize::try_from(config.fetch.max_body_bytes).unwrap_or(usize::MAX))
        .max(hash_options.image_limits.max_input_bytes);
    let video = &config.video;
    hash_options.video.limits.max_duration = video.max_duration;
    hash_options.video.limits.max_frames = video.max_frames;
    hash_options.video.limits.max_pixels = video.max_pixels;
    hash_options.video.limits.time_limit = video.time_limit;
    hash_options.vpdq.seconds_per_hash = video.seconds_per_hash;
    hash_options.soundtrack = video.soundtrack;
    hash_options.audio.limits.max_duration = config.audio.max_duration;
    hash_options.audio.limits.ffmpeg_timeout = config.audio.ffmpeg_timeout;

    let rules = &config.matching;
    let mut media = MediaMatchConfig::default();
    media.vpdq.distance_threshold = rules.video.frame_distance;
    media.vpdq.quality_threshold = rules.video.min_quality;
    media.vpdq.query_match_percent = rules.video.query_percent;
    media.vpdq.compared_match_percent = rules.video.compared_percent;
    media.video_variants = rules.video.variants;
    media.audio.max_ber = rules.audio.max_ber;
    media.audio.min_overlap = (rules.audio.min_overlap_seconds
        / takedown_signals::audio::SECONDS_PER_SUB_FINGERPRINT)
        .round()
        .max(1.0) as usize;
    media.audio_stretch.max_ber = rules.audio.stretched_max_ber;
    if !rules.audio.stretched {
        media.audio_stretch.stretches = takedown_signals::audio::StretchSet::none();
    }
    media.text.threshold = rules.text.threshold;
    media.text.min_shared = rules.text.min_shared;
    EngineConfig {
        match_radius: config.matching.radius,
        min_query_quality: config.matching.min_quality,
        hash_options,
        media,
        ..EngineConfig::default()
    }
}

/// Opens the configured database (creating and migrating it) and builds an engine over it.
/// The index is not loaded: [`start`] does that in the background.
pub async fn open_engine(config: &ServerConfig) -> Result<Arc<Engine>, ServeError> {
    let database = config.database_or_default()?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = takedown_store::open(&database, clock.clone()).await?;
    tracing::info!(backend = ?store.backend(), "database open");
    Ok(Engine::new(store, clock, engine_config(config)))
}

/// Who loads the matching index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexLoading {
    /// The server loads it in the background after it starts listening (production), then
    /// follows the store's change feed.
    Background,
    /// The caller does (`engine.load()`), e.g. a test that checks `/status` before and after.
    ByCaller,
}

/// A server listening on its socket.
pub struct RunningServer {
    local_addr: SocketAddr,
    state: AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    loader: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

/// Binds `state.config().bind` (port 0 picks a free port), serves at once, and loads the index
/// as `loading` says. `/status` answers 503 until the index is loaded.
pub async fn start(state: AppState, loading: IndexLoading) -> Result<RunningServer, ServeError> {
    let address = state.config().bind;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|source| ServeError::Bind { address, source })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| ServeError::Bind { address, source })?;
    let app = router(state.clone());
    let (shutdown, signal) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = signal.await;
            })
            .await
    });
    let loader = (loading == IndexLoading::Background)
        .then(|| tokio::spawn(load_and_follow(state.engine().clone())));
    tracing::info!(address = %local_addr, "listening");
    Ok(RunningServer {
        local_addr,
        state,
        shutdown: Some(shutdown),
        server,
        loader,
    })
}

/// Aborts a task when dropped, so the follower stops with the loader task that owns it.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn load_and_follow(engine: Arc<Engine>) {
    let mut delay = Duration::from_secs(1);
    loop {
        match engine.load().await {
            Ok(status) => {
                tracing::info!(signals = ?status.signals, "index ready");
                // The load's scratch vectors are freed; hand their pages back to the system.
                let _ = tokio::task::spawn_blocking(memory::release_freed_memory).await;
                break;
            }
            Err(error) => {
                tracing::error!(%error, retry_in = ?delay, "index load failed");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(60));
            }
        }
    }
    let _follower = AbortOnDrop(engine.spawn_follower());
    std::future::pending::<()>().await;
}

impl RunningServer {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://ADDRESS`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// The shared state (and through it the engine).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops accepting connections, lets requests in flight finish, and stops the index
    /// loader and follower.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(loader) = self.loader.take() {
            loader.abort();
        }
        match (&mut self.server).await {
            Ok(result) => result,
            Err(error) => Err(std::io::Error::other(error)),
        }
    }

    /// Serves until `signal` completes, then shuts down gracefully.
    pub async fn run_until(self, signal: impl Future<Output = ()>) -> std::io::Result<()> {
        signal.await;
        tracing::info!("shutting down");
        self.shutdown().await
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_server_settings_give_the_engines_default_rules() {
        let engine = engine_config(&ServerConfig::default());
        let defaults = EngineConfig::default();
        assert_eq!(engine.media.vpdq, defaults.media.vpdq);
        assert_eq!(engine.media.video_variants, defaults.media.video_variants);
        assert_eq!(engine.media.audio, defaults.media.audio);
        assert_eq!(engine.media.audio_stretch, defaults.media.audio_stretch);
        assert_eq!(engine.media.text, defaults.media.text);
        assert_eq!(
            engine.hash_options.video.limits,
            defaults.hash_options.video.limits
        );
        assert_eq!(engine.hash_options.audio, defaults.hash_options.audio);
        assert!(engine.hash_options.soundtrack);
    }

    #[test]
    fn configured_rules_and_limits_reach_the_engine() {
        let mut config = ServerConfig::default();
        config.matching.video.query_percent = 50.0;
        config.matching.audio.stretched = false;
        config.matching.video.variants = false;
        config.matching.audio.min_overlap_seconds = 10.0;
        config.video.max_frames = 99;
        config.video.soundtrack = false;
        config.audio.max_duration = Duration::from_secs(60);
        let engine = engine_config(&config);
        assert_eq!(engine.media.vpdq.query_match_percent, 50.0);
        assert!(!engine.media.audio_stretch.is_enabled());
        assert!(!engine.media.video_variants);
        assert_eq!(engine.media.audio.min_overlap, 81);
        assert_eq!(engine.hash_options.video.limits.max_frames, 99);
        assert!(!engine.hash_options.soundtrack);
        assert_eq!(
            engine.hash_options.audio.limits.max_duration,
            Duration::from_secs(60)
        );
    }
}
