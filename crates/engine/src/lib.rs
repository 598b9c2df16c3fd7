//! The application: what takedown does, independent of how it is asked.
//!
//! The HTTP server and the command line are thin layers over [`Engine`]. The engine owns:
//!
//! - **who may do what**: every operation takes a [`Caller`]; an organisation sees its own banks
//!   and those shared with it, nothing else, and its role decides what it may change;
//! - **the matching index**: an in-memory cache of the store's active signals, loaded at start
//!   ([`Engine::load`]) and then kept in step incrementally: the engine's own changes are applied
//!   at once (a hash added through the API is matchable by the next request on this node), and
//!   [`Engine::catch_up`] follows the store's change feed for changes made by other nodes or
//!   processes, plus temporary disables that run out;
//! - **hashing and matching**: bytes in (an upload, a fetched URL), fingerprints and matches out;
//! - **bulk import and export** of hash lists.
//!
//! Boundary: no HTTP, no terminal. Storage goes through `takedown-store`'s traits; the engine
//! never writes SQL.

mod admin;
mod banks;
mod caller;
mod demo;
mod error;
mod matchindex;
mod matching;
mod signaltable;
mod transfer;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use takedown_hasher::HashOptions;
use takedown_model::{Bank, BankId, Clock, SignalType, Timestamp};
use takedown_store::{SignalChange, Store};

pub use admin::CreatedToken;
pub use banks::{ContentMeta, ContentSearch, NewBankRequest};
pub use caller::Caller;
pub use demo::{
    load_demo, DemoSummary, DEMO_ADMIN_TOKEN, DEMO_MATCHER_TOKEN, DEMO_PLATFORM, DEMO_UNIT,
};
pub use error::{EngineError, EngineResult};
pub use matchindex::{AudioStretchConfig, MediaMatchConfig, SignalMeta, DEFAULT_STRETCHED_MAX_BER};
pub use matching::{CompareResult, MatchDetail, MatchHit, MatchReport};
pub use transfer::ImportRequest;

/// Settings of the engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Largest PDQ Hamming distance that counts as a match (DOMAIN: 31).
    pub match_radius: u32,
    /// PDQ queries below this quality are not matched (too flat: they collide with other flat
    /// images); their hashes are still returned with the quality.
    pub min_query_quality: u8,
    /// Decoding limits and what to compute when hashing.
    pub hash_options: HashOptions,
    /// Match rules of the video (vPDQ), audio and text indexes.
    pub media: MediaMatchConfig,
    /// How often the change feed is followed for changes made elsewhere.
    pub feed_poll_interval: Duration,
    /// How long a verified token is trusted before the store is asked again. Revocations made
    /// through this engine take effect at once; elsewhere within this time.
    pub auth_cache_ttl: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            match_radius: takedown_index::DEFAULT_RADIUS,
            min_query_quality: takedown_signals::pdq::QUALITY_THRESHOLD,
            hash_options: HashOptions::default(),
            media: MediaMatchConfig::default(),
            feed_poll_interval: Duration::from_secs(2),
            auth_cache_ttl: Duration::from_secs(5),
        }
    }
}

/// What the index holds and whether it is ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexStatus {
    /// Whether the first full load finished (lookups are refused before).
    pub ready: bool,
    /// Signals held, by kind.
    pub signals: BTreeMap<SignalType, usize>,
    /// Heap bytes of the PDQ index.
    pub pdq_memory_bytes: usize,
    /// When the index last caught up with the store.
    pub updated_at: Option<Timestamp>,
    /// Change-feed position the index reflects.
    pub change_sequence: i64,
}

/// Position in the store's change feed and the last reactivation check.
#[derive(Debug, Clone, Copy)]
struct FeedCursor {
    sequence: i64,
    checked_at: Timestamp,
}

/// Running totals for metrics.
#[derive(Debug, Default)]
pub struct Counters {
    /// Lookups served (by signal or by media).
    pub lookups: AtomicU64,
    /// Matches returned.
    pub matches: AtomicU64,
    /// Files hashed.
    pub hashed: AtomicU64,
}

/// The application. Create one per process with [`Engine::new`], share it as `Arc<Engine>`.
pub struct Engine {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    config: EngineConfig,
    index: RwLock<matchindex::MatchIndex>,
    banks: RwLock<HashMap<BankId, Bank>>,
    ready: AtomicBool,
    feed: tokio::sync::Mutex<Option<FeedCursor>>,
    status_time: Mutex<Option<Timestamp>>,
    tokens: Mutex<HashMap<String, (Caller, Instant)>>,
    counters: Counters,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("backend", &self.store.backend())
            .field("ready", &self.is_ready())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine over a store. The index is empty and not ready until [`Engine::load`].
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: EngineConfig) -> Arc<Engine> {
        Arc::new(Engine {
            store,
            clock,
            index: RwLock::new(matchindex::MatchIndex::new(&config.media)),
            config,
            banks: RwLock::new(HashMap::new()),
            ready: AtomicBool::new(false),
            feed: tokio::sync::Mutex::new(None),
            status_time: Mutex::new(None),
            tokens: Mutex::new(HashMap::new()),
            counters: Counters::default(),
        })
    }

    /// The store (for subsystems that add their own tables, e.g. referrals).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The settings.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Running totals.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Whether the index finished its first load.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Loads the whole index from the store (streaming every active signal), then applies the
    /// changes made while it streamed. Lookups work once this returns.
    pub async fn load(&self) -> EngineResult<IndexStatus> {
        let mut feed = self.feed.lock().await;
        let started = Instant::now();
        let sequence = self.store.change_sequence().await?;
        let now = self.clock.now();
        // Fed as it streams: PDQ values shrink to 32 bytes on arrival instead of the whole load
        // sitting in memory as strings.
        let mut builder = matchindex::MatchIndex::builder(&self.config.media);
        let mut signals = takedown_store::active_signals(self.store.clone(), now);
        while let Some(signal) = signals.try_next().await? {
            builder.push(signal);
        }
        let count = builder.pushed();
        // Building is CPU work (parallel for large loads): keep it off the async workers.
        let built = tokio::task::spawn_blocking(move || builder.finish())
            .await
            .map_err(|error| EngineError::Internal(format!("index build failed: {error}")))?;
        *self.write_index() = built;
        let mut cursor = FeedCursor {
            sequence,
            checked_at: now,
        };
        self.refresh_banks().await?;
        self.follow_feed(&mut cursor).await?;
        *feed = Some(cursor);
        self.ready.store(true, Ordering::Release);
        *self.lock_status_time() = Some(self.clock.now());
        tracing::info!(
            signals = count,
            media_index_bytes = self.read_index().media_memory_bytes(),
            seconds = started.elapsed().as_secs_f64(),
            "index loaded"
        );
        Ok(self.index_status())
    }

    /// Applies every change recorded since the last catch-up, reactivates items whose temporary
    /// disable ran out, and refreshes the bank list. Returns the number of changes applied.
    pub async fn catch_up(&self) -> EngineResult<usize> {
        let mut feed = self.feed.lock().await;
        let Some(cursor) = feed.as_mut() else {
            return Err(EngineError::NotReady);
        };
        self.refresh_banks().await?;
        let applied = self.follow_feed(cursor).await?;
        *self.lock_status_time() = Some(self.clock.now());
        Ok(applied)
    }

    async fn follow_feed(&self, cursor: &mut FeedCursor) -> EngineResult<usize> {
        const PAGE: u32 = 10_000;
        let mut applied = 0;
        loop {
            let now = self.clock.now();
            let changes = self
                .store
                .signal_changes_since(cursor.sequence, now, PAGE)
                .await?;
            let done = changes.len() < PAGE as usize;
            {
                let mut index = self.write_index();
                for change in &changes {
                    match change {
                        SignalChange::Present { signal, active, .. } => {
                            if *active {
                                index.insert(signal);
                            } else {
                                index.remove(signal.id);
                            }
                        }
                        SignalChange::Removed { signal, .. } => {
                            index.remove(*signal);
                        }
                    }
                    cursor.sequence = change.sequence();
                }
            }
            applied += changes.len();
            if done {
                break;
            }
        }
        let now = self.clock.now();
        if now > cursor.checked_at {
            let waking = self
                .store
                .signals_reactivating_between(cursor.checked_at, now)
                .await?;
            let mut index = self.write_index();
            for signal in &waking {
                index.insert(signal);
            }
            applied += waking.len();
            cursor.checked_at = now;
        }
        Ok(applied)
    }

    /// Follows the change feed every `feed_poll_interval` until the engine is dropped.
    pub fn spawn_follower(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(self);
        let interval = self.config.feed_poll_interval;
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let Some(engine) = weak.upgrade() else {
                    return;
                };
                if !engine.is_ready() {
                    continue;
                }
                if let Err(error) = engine.catch_up().await {
                    tracing::warn!(%error, "index catch-up failed; will retry");
                }
            }
        })
    }

    /// What the index holds.
    pub fn index_status(&self) -> IndexStatus {
        let index = self.read_index();
        IndexStatus {
            ready: self.is_ready(),
            signals: index.counts(),
            pdq_memory_bytes: index.pdq_memory_bytes(),
            updated_at: *self.lock_status_time(),
            change_sequence: self
                .feed
                .try_lock()
                .ok()
                .and_then(|feed| feed.map(|cursor| cursor.sequence))
                .unwrap_or(-1),
        }
    }

    async fn refresh_banks(&self) -> EngineResult<()> {
        let banks = self.store.list_banks().await?;
        let mut cache = self.banks.write().unwrap_or_else(|e| e.into_inner());
        cache.clear();
        cache.extend(banks.into_iter().map(|bank| (bank.id, bank)));
        Ok(())
    }

    fn cache_bank(&self, bank: &Bank) {
        self.banks
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(bank.id, bank.clone());
    }

    fn forget_bank(&self, id: BankId) {
        self.banks
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }

    fn cached_banks(&self) -> std::sync::RwLockReadGuard<'_, HashMap<BankId, Bank>> {
        self.banks.read().unwrap_or_else(|e| e.into_inner())
    }

    fn read_index(&self) -> std::sync::RwLockReadGuard<'_, matchindex::MatchIndex> {
        // A panic while holding the lock leaves a usable index (each operation is one insert
        // or removal), so poisoning is not a reason to stop serving.
        self.index.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_index(&self) -> std::sync::RwLockWriteGuard<'_, matchindex::MatchIndex> {
        self.index.write().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_status_time(&self) -> std::sync::MutexGuard<'_, Option<Timestamp>> {
        self.status_time.lock().unwrap_or_else(|e| e.into_inner())
    }
}
