//! Authentication, hashing and matching.

use std::sync::atomic::Ordering;
use std::time::Instant;

use takedown_exchange::canonical_value;
use takedown_hasher::{Fingerprints, HashOptions, MediaKind};
use takedown_model::{Actor, Bank, BankId, BankName, ContentId, Permission, SignalId, SignalType};
use takedown_signals::audio::Stretch;
use takedown_signals::text::TextSignature;
use takedown_signals::vpdq::{self, VpdqFeature};
use takedown_signals::{AudioFingerprint, Hash256};

use crate::{Caller, Engine, EngineError, EngineResult};

/// How a video, audio or text item matched (these signals have no single distance).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MatchDetail {
    /// vPDQ: the two percentages of the match rule.
    Video {
        /// Percentage of the query's frames found in the banked video.
        query_percent: f64,
        /// Percentage of the banked video's frames found in the query.
        compared_percent: f64,
        /// The change undone on the query before it matched (`None`: as it was), such as a
        /// mirror or letterbox bars.
        variant: Option<vpdq::VideoVariant>,
    },
    /// Audio: the best alignment.
    Audio {
        /// Bit-error rate over the overlap (0 identical, about 0.5 unrelated).
        bit_error_rate: f64,
        /// Where in the banked recording the query starts, in seconds (negative when the
        /// query starts earlier).
        offset_seconds: f64,
        /// Length of the aligned run of sub-fingerprints, in seconds (one per 0.124 s). Each
        /// sub-fingerprint also reads about 2.2 s of audio ahead of its start, so a 10 s
        /// excerpt compares as about 7.3 s.
        overlap_seconds: f64,
        /// The change undone on the query before it matched ([`Stretch::None`]: as it was).
        /// `Stretch::Speed(1.03)` means the copy plays 3% faster than the banked recording.
        stretch: Stretch,
    },
    /// Text: the containment scores under the bank's boilerplate weights.
    Text {
        /// The larger containment (0..=1).
        score: f64,
        /// Share of the query found in the banked statement.
        query_containment: f64,
        /// Share of the banked statement found in the query.
        banked_containment: f64,
    },
}

impl MatchDetail {
    /// The detail of an audio alignment of the query with `stretch` undone.
    fn audio(found: &takedown_index::audio::AudioMatch, stretch: Stretch) -> MatchDetail {
        use takedown_signals::audio::SECONDS_PER_SUB_FINGERPRINT as STEP;
        MatchDetail::Audio {
            bit_error_rate: found.ber(),
            offset_seconds: found.offset as f64 * STEP,
            overlap_seconds: found.overlap as f64 * STEP,
            stretch,
        }
    }

    /// The detail of a text comparison.
    fn text(comparison: &takedown_signals::text::TextComparison) -> MatchDetail {
        MatchDetail::Text {
            score: comparison.score(),
            query_containment: comparison.query_containment(),
            banked_containment: comparison.banked_containment(),
        }
    }

    /// Similarity in percent: the smaller vPDQ percentage, `100 * (1 - BER)` for audio,
    /// `100 * score` for text.
    pub fn similarity_percent(&self) -> f64 {
        match *self {
            MatchDetail::Video {
                query_percent,
                compared_percent,
                ..
            } => query_percent.min(compared_percent),
            MatchDetail::Audio { bit_error_rate, .. } => 100.0 * (1.0 - bit_error_rate),
            MatchDetail::Text { score, .. } => 100.0 * score,
        }
    }

    /// A distance for sorting and for clients that expect one: 100 minus the similarity in
    /// percent, rounded.
    pub fn distance(&self) -> u32 {
        (100.0 - self.similarity_percent())
            .round()
            .clamp(0.0, 100.0) as u32
    }
}

/// One bank item matched by a query.
#[derive(Debug, Clone, PartialEq)]
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
    /// Hamming distance for PDQ; 0 for exact digests; for video, audio and text
    /// [`MatchDetail::distance`].
    pub distance: u32,
    /// The bank signal's value; empty for video, audio and text, whose values are long (the
    /// bank item holds them).
    pub value: String,
    /// Scores of a video, audio or text match.
    pub detail: Option<MatchDetail>,
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
        self.hash_bytes_as(caller, bytes, dihedral, &MediaKind::ALL)
            .await
    }

    /// [`Engine::hash_bytes`] for a file that must be one of the `expected` kinds (HMA's
    /// `photo` and `video` routes); any other kind is refused as unprocessable.
    pub async fn hash_bytes_as(
        &self,
        caller: &Caller,
        bytes: Vec<u8>,
        dihedral: bool,
        expected: &'static [MediaKind],
    ) -> EngineResult<Fingerprints> {
        let options = HashOptions {
            dihedral,
            ..self.config.hash_options.clone()
        };
        self.hash_with(caller, bytes, expected, options).await
    }

    /// Hashes with the given options on a blocking thread.
    async fn hash_with(
        &self,
        caller: &Caller,
        bytes: Vec<u8>,
        expected: &'static [MediaKind],
        options: HashOptions,
    ) -> EngineResult<Fingerprints> {
        caller.require(Permission::Match)?;
        let fingerprints = tokio::task::spawn_blocking(move || {
            takedown_hasher::fingerprint_expecting(&bytes, expected, &options)
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

    /// Fingerprints bytes and matches every signal against the caller's banks. Audio (and a
    /// video's soundtrack) is also fingerprinted with the configured speed and tempo changes
    /// undone ([`crate::AudioStretchConfig`]), and a video's frames mirrored back and without
    /// dark bars ([`crate::MediaMatchConfig::video_variants`]).
    pub async fn match_bytes(
        &self,
        caller: &Caller,
        bytes: Vec<u8>,
        banks: Option<&[String]>,
    ) -> EngineResult<MatchReport> {
        self.require_ready()?;
        let banks = self.matchable_banks(caller, banks)?;
        let mut options = HashOptions {
            audio_stretches: self.config.media.audio_stretch.stretches.clone(),
            ..self.config.hash_options.clone()
        };
        options.vpdq.variants = self.config.media.video_variants;
        let fingerprints = self
            .hash_with(caller, bytes, &MediaKind::ALL, options)
            .await?;
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
        if let Some(video) = fingerprints.video() {
            let variants: Vec<(vpdq::VideoVariant, &[VpdqFeature])> = (video.variants.iter())
                .map(|(variant, features)| (*variant, features.as_slice()))
                .collect();
            hits.extend(self.similar_hits(&Similar::Video(&video.vpdq, &variants), banks));
        }
        if let Some(audio) = fingerprints.audio() {
            let query = audio.fingerprint.sub_fingerprints();
            let variants: Vec<(Stretch, &[u32])> = (audio.stretched.iter())
                .map(|(stretch, fp)| (*stretch, fp.sub_fingerprints()))
                .collect();
            hits.extend(self.similar_hits(&Similar::Audio(query, &variants), banks));
        }
        if let Some(text) = fingerprints.text() {
            hits.extend(self.hits_for(SignalType::TextDigest, &text.text.digest, banks));
            hits.extend(self.similar_hits(&Similar::Text(&text.text.signature), banks));
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
        // Canonical values parse; a value that does not simply matches nothing.
        match signal_type {
            SignalType::Vpdq => {
                return vpdq::parse_lines(value)
                    .map(|features| self.similar_hits(&Similar::Video(&features, &[]), banks))
                    .unwrap_or_default()
            }
            SignalType::Audio => {
                return AudioFingerprint::from_text(value)
                    .map(|fp| self.similar_hits(&Similar::Audio(fp.sub_fingerprints(), &[]), banks))
                    .unwrap_or_default()
            }
            SignalType::TextMinhash => {
                return TextSignature::parse(value)
                    .map(|signature| self.similar_hits(&Similar::Text(&signature), banks))
                    .unwrap_or_default()
            }
            _ => {}
        }
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
                    detail: None,
                })
            })
            .collect()
    }

    /// Hits of a video, audio or text query in its own index, restricted to `banks`.
    fn similar_hits(&self, query: &Similar<'_>, banks: &[Bank]) -> Vec<MatchHit> {
        let index = self.read_index();
        let (signal_type, found): (SignalType, Vec<(SignalId, MatchDetail)>) = match query {
            Similar::Video(features, variants) => (
                SignalType::Vpdq,
                index
                    .query_video_variants(features, variants)
                    .into_iter()
                    .map(|(id, variant, m)| {
                        let detail = MatchDetail::Video {
                            query_percent: m.query_percent(),
                            compared_percent: m.compared_percent(),
                            variant,
                        };
                        (id, detail)
                    })
                    .collect(),
            ),
            Similar::Audio(query, variants) => (
                SignalType::Audio,
                index
                    .query_audio_stretched(query, variants, self.config.media.audio_stretch.max_ber)
                    .into_iter()
                    .map(|(id, stretch, m)| (id, MatchDetail::audio(&m, stretch)))
                    .collect(),
            ),
            Similar::Text(signature) => (
                SignalType::TextMinhash,
                index
                    .query_text(signature)
                    .into_iter()
                    .map(|(id, m)| (id, MatchDetail::text(&m.comparison)))
                    .collect(),
            ),
        };
        found
            .into_iter()
            .filter_map(|(signal, detail)| {
                let meta = index.meta(signal)?;
                let bank = banks.iter().find(|bank| bank.id == meta.bank)?;
                Some(MatchHit {
                    signal_type,
                    signal,
                    content: meta.content,
                    bank: bank.id,
                    bank_name: bank.name.clone(),
                    distance: detail.distance(),
                    value: String::new(),
                    detail: Some(detail),
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
            let detail = compare_similar(signal_type, &a, &b, &self.config.media)?;
            Ok(CompareResult {
                matched: detail.is_some_and(|(matched, _)| matched),
                distance: detail.map_or(100, |(_, detail)| detail.distance()),
            })
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

/// A query for one of the similarity indexes.
enum Similar<'a> {
    /// A video's features as they are and its query-side variants (none for a lookup by
    /// value), all under the same rule.
    Video(
        &'a [VpdqFeature],
        &'a [(vpdq::VideoVariant, &'a [VpdqFeature])],
    ),
    /// A recording's fingerprint as it is and its stretched variants (none for a lookup by
    /// value), each held to its own threshold.
    Audio(&'a [u32], &'a [(Stretch, &'a [u32])]),
    Text(&'a TextSignature),
}

/// Compares two canonical video, audio or text values under the engine's rules: whether they
/// match, and the scores (`None` when audio has no alignment at all).
fn compare_similar(
    signal_type: SignalType,
    a: &str,
    b: &str,
    media: &crate::MediaMatchConfig,
) -> EngineResult<Option<(bool, MatchDetail)>> {
    let field = |i: usize| format!("{signal_type}[{i}]");
    match signal_type {
        SignalType::Vpdq => {
            let parse = |value: &str, i| {
                vpdq::parse_lines(value).map_err(|e| EngineError::invalid(field(i), e.to_string()))
            };
            let comparison = vpdq::compare(&parse(a, 0)?, &parse(b, 1)?, &media.vpdq);
            let detail = MatchDetail::Video {
                query_percent: comparison.query_percent(),
                compared_percent: comparison.compared_percent(),
                variant: None,
            };
            Ok(Some((comparison.is_match(&media.vpdq), detail)))
        }
        SignalType::Audio => {
            let parse = |value: &str, i| {
                AudioFingerprint::from_text(value)
                    .map_err(|e| EngineError::invalid(field(i), e.to_string()))
            };
            let (query, banked) = (parse(a, 0)?, parse(b, 1)?);
            let best = takedown_index::audio::brute_force_search(
                &[(0, banked.sub_fingerprints())],
                query.sub_fingerprints(),
                &media.audio,
                takedown_index::audio::Candidates::All,
            );
            Ok(best
                .first()
                .map(|m| (true, MatchDetail::audio(m, Stretch::None))))
        }
        SignalType::TextMinhash => {
            let parse = |value: &str, i| {
                TextSignature::parse(value)
                    .map_err(|e| EngineError::invalid(field(i), e.to_string()))
            };
            let comparison = takedown_signals::text::compare(&parse(a, 0)?, &parse(b, 1)?);
            let detail = MatchDetail::text(&comparison);
            Ok(Some((comparison.is_match(&media.text), detail)))
        }
        other => Err(EngineError::invalid(
            "signal_type",
            format!("{other} cannot be compared here"),
        )),
    }
}
