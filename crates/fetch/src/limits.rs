//! Politeness: per-host concurrency and pacing, and the backoff between retries.
//!
//! A re-check run may hold thousands of URLs on one provider; it must look like a patient
//! client to that provider, not a flood. Each host gets a semaphore (requests in flight) and a
//! pacing clock (least time between request starts). Both are taken per request, not per
//! fetch, so a redirect from host A to host B to host A never waits on itself.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Hosts kept in the table before idle ones are dropped.
const PRUNE_ABOVE: usize = 4096;

#[derive(Debug)]
struct HostState {
    in_flight: Arc<Semaphore>,
    next_start: Mutex<Instant>,
}

/// The per-host limits of one fetcher.
#[derive(Debug)]
pub(crate) struct HostLimits {
    hosts: Mutex<HashMap<String, Arc<HostState>>>,
    concurrency: usize,
    interval: Duration,
}

/// Held while a request to a host is in flight.
#[derive(Debug)]
pub(crate) struct HostPermit {
    _in_flight: Option<OwnedSemaphorePermit>,
}

impl HostLimits {
    pub(crate) fn new(concurrency: usize, interval: Duration) -> Self {
        HostLimits {
            hosts: Mutex::new(HashMap::new()),
            concurrency,
            interval,
        }
    }

    fn state(&self, host: &str) -> Arc<HostState> {
        let Ok(mut hosts) = self.hosts.lock() else {
            // A poisoned table only means another task panicked mid-insert; a fresh state
            // for this request is safe (it just is not shared).
            return Arc::new(self.fresh_state());
        };
        if hosts.len() > PRUNE_ABOVE {
            let now = Instant::now();
            hosts.retain(|_, state| {
                Arc::strong_count(state) > 1
                    || state
                        .next_start
                        .lock()
                        .map(|next| *next > now)
                        .unwrap_or(true)
            });
        }
        hosts
            .entry(host.to_owned())
            .or_insert_with(|| Arc::new(self.fresh_state()))
            .clone()
    }

    fn fresh_state(&self) -> HostState {
        HostState {
            in_flight: Arc::new(Semaphore::new(self.concurrency)),
            next_start: Mutex::new(Instant::now()),
        }
    }

    /// Waits for a free slot on `host`, then for its pacing turn.
    pub(crate) async fn acquire(&self, host: &str) -> HostPermit {
        let state = self.state(host);
        // The semaphore is never closed, so acquiring fails never; `ok()` avoids an unwrap.
        let in_flight = state.in_flight.clone().acquire_owned().await.ok();
        // Reserve the next start time while holding the slot, so reserved turns are not
        // wasted by requests still queueing for a slot.
        let start = {
            let now = Instant::now();
            match state.next_start.lock() {
                Ok(mut next) => {
                    let start = (*next).max(now);
                    *next = start + self.interval;
                    start
                }
                Err(_) => now,
            }
        };
        tokio::time::sleep_until(start).await;
        HostPermit {
            _in_flight: in_flight,
        }
    }

    /// Makes every request to `host` wait until `until` (a server's `Retry-After`).
    pub(crate) fn defer(&self, host: &str, until: Instant) {
        let state = self.state(host);
        if let Ok(mut next) = state.next_start.lock() {
            *next = (*next).max(until);
        };
    }
}

/// Exponential backoff with jitter from a seedable generator, so tests are repeatable.
#[derive(Debug)]
pub(crate) struct Backoff {
    base: Duration,
    max: Duration,
    state: AtomicU64,
}

impl Backoff {
    pub(crate) fn new(base: Duration, max: Duration, seed: Option<u64>) -> Self {
        let seed = seed.unwrap_or_else(|| {
            std::collections::hash_map::RandomState::new().hash_one(std::time::SystemTime::now())
        });
        Backoff {
            base,
            max,
            state: AtomicU64::new(seed),
        }
    }

    /// The pause before retry number `retry` (0 for the first): `base * 2^retry`, capped at
    /// `max`, then drawn uniformly from its upper half ("equal jitter"), so retries from many
    /// fetches spread out but never come back sooner than half the nominal pause.
    pub(crate) fn delay(&self, retry: u32) -> Duration {
        let nominal = self
            .base
            .saturating_mul(2u32.saturating_pow(retry.min(31)))
            .min(self.max);
        let unit = self.next_unit();
        nominal / 2 + nominal.mul_f64(unit / 2.0)
    }

    /// A uniform draw from [0, 1) by SplitMix64, lock-free.
    fn next_unit(&self) -> f64 {
        const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut z = self
            .state
            .fetch_add(GAMMA, Ordering::Relaxed)
            .wrapping_add(GAMMA);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_stays_in_the_upper_half_and_is_capped() {
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1), Some(1));
        for retry in 0..8 {
            let nominal =
                (Duration::from_millis(100) * 2u32.pow(retry)).min(Duration::from_secs(1));
            let delay = backoff.delay(retry);
            assert!(
                delay >= nominal / 2 && delay <= nominal,
                "{retry}: {delay:?}"
            );
        }
        assert!(backoff.delay(u32::MAX) <= Duration::from_secs(1));
    }

    #[test]
    fn a_seed_makes_the_jitter_repeatable() {
        let draws = |seed| {
            let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60), Some(seed));
            (0..5).map(|retry| backoff.delay(retry)).collect::<Vec<_>>()
        };
        assert_eq!(draws(42), draws(42));
        assert_ne!(draws(42), draws(43));
    }

    #[tokio::test(start_paused = true)]
    async fn requests_to_one_host_are_paced_and_others_are_not() {
        let limits = HostLimits::new(4, Duration::from_millis(100));
        let start = Instant::now();
        for _ in 0..3 {
            let _permit = limits.acquire("a.example").await;
        }
        assert_eq!(start.elapsed(), Duration::from_millis(200));
        let other = Instant::now();
        let _permit = limits.acquire("b.example").await;
        assert_eq!(other.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn deferring_a_host_delays_its_next_request() {
        let limits = HostLimits::new(1, Duration::ZERO);
        let start = Instant::now();
        limits.defer("a.example", start + Duration::from_secs(3));
        let _permit = limits.acquire("a.example").await;
        assert_eq!(start.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrency_per_host_is_bounded() {
        let limits = Arc::new(HostLimits::new(2, Duration::ZERO));
        let first = limits.acquire("a.example").await;
        let _second = limits.acquire("a.example").await;
        let waiting = {
            let limits = limits.clone();
            tokio::spawn(async move {
                let _third = limits.acquire("a.example").await;
            })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!waiting.is_finished());
        drop(first);
        waiting.await.unwrap();
    }
}
