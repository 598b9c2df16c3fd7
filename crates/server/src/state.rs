//! What every handler shares: the engine, the URL fetcher, the limits and the metrics.

use std::sync::Arc;

use takedown_engine::Engine;
use takedown_fetch::Fetcher;

use crate::config::ServerConfig;
use crate::metrics::Metrics;

/// Shared state of the HTTP service. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

struct Shared {
    engine: Arc<Engine>,
    fetcher: Fetcher,
    config: ServerConfig,
    metrics: Metrics,
    /// The find-refer-verify workflow, once `takedown serve` (or a test) attaches it; its
    /// routes answer 503 until then.
    referrals: std::sync::OnceLock<Arc<takedown_referrals::Referrals>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("engine", &self.inner.engine)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State over an engine, with a fetcher built from `config.fetch` (resolving names with
    /// the operating system, through the address guard).
    pub fn new(
        engine: Arc<Engine>,
        config: ServerConfig,
    ) -> Result<AppState, takedown_fetch::ConfigError> {
        let fetcher = Fetcher::new(config.fetch.clone(), engine.clock().clone())?;
        Ok(AppState::with_fetcher(engine, config, fetcher))
    }

    /// State with a fetcher built elsewhere (tests inject one with a static resolver).
    pub fn with_fetcher(engine: Arc<Engine>, config: ServerConfig, fetcher: Fetcher) -> AppState {
        AppState {
            inner: Arc::new(Shared {
                engine,
                fetcher,
                config,
                metrics: Metrics::default(),
                referrals: std::sync::OnceLock::new(),
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

    /// The configuration in force.
    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    /// Request metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Attaches the referral workflow (once; a second call is ignored and returns false).
    pub fn set_referrals(&self, referrals: Arc<takedown_referrals::Referrals>) -> bool {
        self.inner.referrals.set(referrals).is_ok()
    }

    /// The referral workflow, if attached.
    pub fn referrals(&self) -> Option<&Arc<takedown_referrals::Referrals>> {
        self.inner.referrals.get()
    }
}
