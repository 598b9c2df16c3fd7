//! Authentication, hashing and matching.

use std::sync::atomic::Ordering;
use std::time::Instant;

use takedown_exchange::canonical_value;
use takedown_hasher::{Fingerprints, HashOptions};
use takedown_model::{Actor, Bank, BankId, BankName, ContentId, Permission, SignalId, SignalType};
use takedown_signals::Hash256;

use crate::{Caller, Engine, EngineError, EngineResult};

/// One bank item matched by a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchHit {
    /// Kind of signal that matched.
    pub signal_type: SignalType,
    /// The bank's signal.
    pub signal: SignalId,
    /// The bank item (HMA's `bank_content_id`).
    pub content: ContentId,
    /// Its bank.
    pub bank: BankId,
    /// Its bank's name.
    pub bank_name: BankName,
    /// Hamming distance for PDQ; 0 for exact digests.
    pub distance: u32,
    /// The bank signal's value.
    pub value: String,
}

/// Fingerprints of a file and what they matched.
#[derive(Debug, Clone)]
pub struct MatchReport {
    /// The file's fingerprints.
    pub fingerprints: Fingerprints,
    /// Matches, closest first.
    pub hits: Vec<MatchHit>,
    /// Set when the PDQ hash was not matched because its quality is below the configured
    /// minimum (the digests were still matched).
    pub pdq_skipped_low_quality: bool,
}

/// The outcome of comparing two signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompareResult {
    /// Whether they match under the signal's rule.
    pub matched: bool,
    /// Hamming distance for PDQ; 0 or 1 (equal or not) for exact digests.
    pub distance: u32,
}

impl Engine {
    /// Verifies a bearer token and returns who it speaks for.
    pub async fn authenticate(&self, secret: &str) -> EngineResult<Caller> {
        let secret = secret.trim();
        if secret.is_empty() {
            return Err(EngineError::Unauthenticated(
                "the bearer token is empty".into(),
            ));
        }
        let hash = takedown_store::hash_token_secret(secret);
        let ttl = self.config.auth_cache_ttl;
        if let Some((caller, at)) = self.lock_tokens().get(&hash) {
            if at.elapsed() < ttl {
                return Ok(caller.clone());
            }
        }
        let token = self.store.authenticate_token(&hash).await?.ok_or_else(|| {
            EngineError::Unauthenticated("the bearer token is unknown, expired or revoked".into())
        })?;
        let caller = Caller {
            actor: Actor::Token {
                org: token.org,
                token: token.id,
            },
            org: Some(token.org),
            role: token.role,
        };
        let mut cache = self.lock_tokens();
        if cache.len() > 10_000 {
            cache.retain(|_, (_, at)| at.elapsed() < ttl);
        }
        cache.insert(hash, (caller.clone(), Instant::now()));
        Ok(caller)
    }

    /// Forgets cached tokens (after a revocation through this engine).
    pub(crate) fn forget_cached_tokens(&self) {
        self.lock_tokens().clear();
    }

    fn lock_tokens(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, (Caller, Instant)>> {
        self.tokens.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Fingerprints bytes with the engine's options (plus dihedral hashes if asked), on a
    /// blocking thread.
    pub async fn hash_bytes(
        &self,
        caller: &Caller,
        bytes: Vec<u8>,
        dihedral: bool,
    ) -> EngineResult<Fingerprints> {
        caller.require(Permission::Match)?;
        let options = HashOptions {
            dihedral,
            ..self.config.hash_options.clone()
        };
        let fingerprints = tokio::task::spawn_blocking(move || {
            takedown_hasher::fingerprint_bytes(&bytes, &options)
        })
        .await
        .map_err(|error| EngineError::Internal(format!("hashing task failed: {error}")))??;
        self.counters.hashed.fetch_add(1, Ordering::Relaxed);
        Ok(fingerprints)
    }

    /// Banks the caller may match against, restricted to `names` when given. An unknown or
    /// invisible name is an error rather than silently matching fewer banks.
    pub(crate) fn matchable_banks(
        &self,
        caller: &Caller,
        names: Option<&[String]>,
    ) -> EngineResult<Vec<Bank>> {
        let cache = self.cached_banks();
        let visible = |bank: &&Bank| match caller.org {
            None => true,
            Some(org) => takedown_store::bank_is_visible_to(bank, org),
        };
        match names {
            None => Ok(cache
                .values()
                .filter(visible)
                .filter(|bank| bank.matching_enabled)
                .cloned()
                .collect()),
            Some(names) => names
                .iter()
                .map(|name| {
                    cache
                        .values()
                        .filter(visible)
                        .find(|bank| bank.name.as_str() == name)
                        .cloned()
                        .ok_or_else(|| EngineError::NotFound(format!("bank {name}")))
                })
                .collect(),
        }
    }

    /// Looks a signal up in the banks the caller may see (HMA's `/m/lookup?signal=`).
    pub async fn lookup_signal(
        &self,
        caller: &Caller,
        signal_type: &str,
        value: &str,
        banks: Option<&[String]>,
    ) -> EngineResult<Vec<MatchHit>> {
        caller.require(Permission::Match)?;
        self.require_ready()?;
        let signal_type: SignalType =
            signal_type
                .parse()
                .map_err(|error: takedown_model::UnknownSignalType| {
                    EngineError::invalid("signal_type", error.to_string())
                })?;
        let value = canonical_value(signal_type, value)
            .map_err(|message| EngineError::invalid("signal", message))?;
        let banks = self.matchable_banks(caller, banks)?;
        let hits = self.hits_for(signal_type, &value, &banks);
        self.count(&hits);
        Ok(hits)
    }

    /// Fingerprints bytes and matches every signal against the caller's banks.
    pub async fn match_bytes(
        &self,
        caller: &Caller,
        bytes: Vec<u8>,
        banks: Option<&[String]>,
    ) -> EngineResult<MatchReport> {
        self.require_ready()?;
        let banks = self.matchable_banks(caller, banks)?;
        let fingerprints = self.hash_bytes(caller, bytes, false).await?;
        Ok(self.match_fingerprints(fingerprints, &banks))
    }

    /// Matches already computed fingerprints against the given banks.
    pub(crate) fn match_fingerprints(
        &self,
        fingerprints: Fingerprints,
        banks: &[Bank],
    ) -> MatchReport {
        let mut hits = Vec::new();
        for (signal_type, value) in [
            (SignalType::Md5, &fingerprints.digests.md5),
            (SignalType::VideoMd5, &fingerprints.digests.md5),
            (SignalType::Sha256, &fingerprints.digests.sha256),
        ] {
            hits.extend(self.hits_for(signal_type, value, banks));
        }
        let mut skipped = false;
        if let Some(image) = fingerprints.image() {
            if image.pdq.quality >= self.config.min_query_quality {
                hits.extend(self.hits_for(SignalType::Pdq, &image.pdq.hash.to_hex(), banks));
            } else {
                skipped = true;
            }
        }
        hits.sort_by_key(|hit| (hit.distance, hit.content, hit.signal));
        self.count(&hits);
        MatchReport {
            fingerprints,
            hits,
            pdq_skipped_low_quality: skipped,
        }
    }

    /// Index hits for one canonical value, restricted to `banks`.
    fn hits_for(&self, signal_type: SignalType, value: &str, banks: &[Bank]) -> Vec<MatchHit> {
        let index = self.read_index();
        let candidates: Vec<(SignalId, u32)> = if signal_type == SignalType::Pdq {
            match Hash256::from_hex(value) {
                Ok(hash) => index.query_pdq(&hash, self.config.match_radius),
                Err(_) => Vec::new(),
            }
        } else if signal_type.is_exact() {
            index
                .query_exact(signal_type, value)
                .iter()
                .map(|id| (*id, 0))
                .collect()
        } else {
            Vec::new()
        };
        candidates
            .into_iter()
            .filter_map(|(signal, distance)| {
                let meta = index.meta(signal)?;
                let bank = banks.iter().find(|bank| bank.id == meta.bank)?;
                let value = if signal_type == SignalType::Pdq {
                    index.pdq_hash(signal)?.to_hex()
                } else {
                    value.to_string()
                };
                Some(MatchHit {
                    signal_type,
                    signal,
                    content: meta.content,
                    bank: bank.id,
                    bank_name: bank.name.clone(),
                    distance,
                    value,
                })
            })
            .collect()
    }

    fn count(&self, hits: &[MatchHit]) {
        self.counters.lookups.fetch_add(1, Ordering::Relaxed);
        self.counters
            .matches
            .fetch_add(hits.len() as u64, Ordering::Relaxed);
    }

    /// Compares two signals of one type (HMA's `/m/compare`).
    pub fn compare(&self, signal_type: &str, a: &str, b: &str) -> EngineResult<CompareResult> {
        let signal_type: SignalType =
            signal_type
                .parse()
                .map_err(|error: takedown_model::UnknownSignalType| {
                    EngineError::invalid("signal_type", error.to_string())
                })?;
        let a = canonical_value(signal_type, a)
            .map_err(|message| EngineError::invalid(format!("{signal_type}[0]"), message))?;
        let b = canonical_value(signal_type, b)
            .map_err(|message| EngineError::invalid(format!("{signal_type}[1]"), message))?;
        if signal_type == SignalType::Pdq {
            let (a, b) = (
                Hash256::from_hex(&a).map_err(|e| EngineError::invalid("pdq[0]", e.to_string()))?,
                Hash256::from_hex(&b).map_err(|e| EngineError::invalid("pdq[1]", e.to_string()))?,
            );
            let distance = a.distance(&b);
            Ok(CompareResult {
                matched: distance <= self.config.match_radius,
                distance,
            })
        } else if signal_type.is_exact() {
            let equal = a == b;
            Ok(CompareResult {
                matched: equal,
                distance: u32::from(!equal),
            })
        } else {
            Err(EngineError::invalid(
                "signal_type",
                format!("{signal_type} cannot be compared here"),
            ))
        }
    }

    pub(crate) fn require_ready(&self) -> EngineResult<()> {
        if self.is_ready() {
            Ok(())
        } else {
            Err(EngineError::NotReady)
        }
    }
}
