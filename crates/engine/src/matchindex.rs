//! The in-memory matching index: a cache of the store's active signals.
//!
//! The store is the source of truth; this is rebuilt from it at start and then kept in step one
//! signal at a time (never rebuilt, never shipped as one blob). Lookups read only memory: HMA
//! reads its database on every lookup, takedown never does.

use std::collections::{BTreeMap, HashMap};

use takedown_index::audio::{AudioIndex, AudioIndexConfig, AudioMatch};
use takedown_index::text::{TextIndex, TextMatch};
use takedown_index::video::{VideoIndex, VideoMatch};
use takedown_index::HammingIndex;
use takedown_model::{BankId, ContentId, SignalId, SignalType};
use takedown_signals::audio::{Stretch, StretchSet};
use takedown_signals::text::{TextMatchConfig, TextSignature};
use takedown_signals::vpdq::{self, VpdqFeature, VpdqMatchConfig};
use takedown_signals::{AudioFingerprint, Hash256};
use takedown_store::IndexSignal;

use crate::signaltable::SignalTable;

/// Match rules of the video, audio and text indexes.
#[derive(Debug, Clone)]
pub struct MediaMatchConfig {
    /// vPDQ: frame distance, quality floor and the two percentages (DOMAIN: 31, 50, 80%, 80%).
    pub vpdq: VpdqMatchConfig,
    /// When a video file is matched, also try it mirrored back and with dark bars cut away
    /// ([`vpdq::VideoVariant`]), under the same rule (default on). Banked hashes never change;
    /// a lookup by a vPDQ value has no frames to transform and uses the plain query only.
    pub video_variants: bool,
    /// Audio: largest bit-error rate and shortest overlap, for a query searched as it is.
    pub audio: AudioIndexConfig,
    /// Audio whose speed or tempo was changed.
    pub audio_stretch: AudioStretchConfig,
    /// Text: containment threshold and least shared weight.
    pub text: TextMatchConfig,
}

impl Default for MediaMatchConfig {
    fn default() -> Self {
        MediaMatchConfig {
            vpdq: VpdqMatchConfig::default(),
            video_variants: true,
            audio: AudioIndexConfig::default(),
            audio_stretch: AudioStretchConfig::default(),
            text: TextMatchConfig::default(),
        }
    }
}

/// Matching audio that was sped up or slowed down (`takedown_signals::audio::Stretch`).
///
/// When a query file is matched, its audio is fingerprinted as it is and with each of
/// `stretches` undone. The fingerprint as it is keeps the plain rule
/// ([`AudioIndexConfig::max_ber`]); the stretched ones are held to `max_ber`, lower, because
/// each extra variant is another chance of a chance alignment: the benchmark calibrates the two
/// thresholds separately on the same negatives (docs/benchmarks.md, Audio). An item found both
/// ways keeps its closer match. A lookup by a fingerprint value has no samples to stretch and
/// uses the plain rule.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioStretchConfig {
    /// The changes undone on a query; [`StretchSet::none`] turns stretched matching off.
    pub stretches: StretchSet,
    /// Largest bit-error rate of a stretched variant.
    pub max_ber: f64,
}

/// The threshold for [`StretchSet::speed_and_tempo`]'s variants, calibrated jointly with
/// [`takedown_index::audio::DEFAULT_MAX_BER`] so that the two rules together pass at most 1e-6
/// false positives per pair on the audio benchmark's 3 million negatives (docs/benchmarks.md,
/// Audio).
pub const DEFAULT_STRETCHED_MAX_BER: f64 = 0.112;

impl Default for AudioStretchConfig {
    fn default() -> Self {
        AudioStretchConfig {
            stretches: StretchSet::speed_and_tempo(),
            max_ber: DEFAULT_STRETCHED_MAX_BER,
        }
    }
}

impl AudioStretchConfig {
    /// Whether any change is undone (the set holds more than the audio as it is).
    pub fn is_enabled(&self) -> bool {
        self.stretches
            .variants
            .iter()
            .any(|stretch| *stretch != Stretch::None)
    }
}

/// Where a signal in the index points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignalMeta {
    /// The content item.
    pub content: ContentId,
    /// The item's bank.
    pub bank: BankId,
    /// Kind of signal.
    pub signal_type: SignalType,
}

/// Signals of active content, by kind.
pub struct MatchIndex {
    pdq: HammingIndex,
    video: VideoIndex,
    audio: AudioIndex,
    text: TextIndex,
    exact: HashMap<(SignalType, String), Vec<SignalId>>,
    /// The value of each exact signal, so a removal finds its entry without a scan.
    exact_values: HashMap<SignalId, String>,
    signals: SignalTable,
}

/// Builds a [`MatchIndex`] from a full load fed one signal at a time, so the load never holds
/// every stored value as a `String` (at 10M PDQ signals that was ~1.7 GB of peak and left the
/// heap fragmented): a PDQ value is parsed to its 32 bytes as it arrives.
pub struct MatchIndexBuilder {
    index: MatchIndex,
    pdq: Vec<(u64, Hash256)>,
    /// Video, audio, text and exact signals, indexed in `finish` (CPU work, off the feed).
    others: Vec<IndexSignal>,
}

impl MatchIndexBuilder {
    /// Adds one signal of the load.
    pub fn push(&mut self, signal: IndexSignal) {
        let meta = meta_of(&signal);
        if signal.signal_type == SignalType::Pdq {
            let Ok(hash) = Hash256::from_hex(&signal.value) else {
                tracing::warn!(signal = signal.id.0, "stored pdq value does not parse");
                return;
            };
            self.pdq.push((signal.id.0 as u64, hash));
            self.index.signals.push_bulk(signal.id, meta);
        } else {
            self.index.signals.push_bulk(signal.id, meta);
            self.others.push(signal);
        }
    }

    /// Signals pushed so far (less PDQ values that did not parse).
    pub fn pushed(&self) -> usize {
        self.pdq.len() + self.others.len()
    }

    /// The index: the bulk (parallel) build for PDQ, the other kinds inserted one by one.
    pub fn finish(self) -> MatchIndex {
        let MatchIndexBuilder {
            mut index,
            pdq,
            others,
        } = self;
        index.signals.seal();
        index.pdq = HammingIndex::build(pdq);
        for signal in others {
            if !index.index_value(&signal) {
                index.signals.remove(signal.id);
            }
        }
        index
    }
}

impl Default for MatchIndex {
    fn default() -> Self {
        MatchIndex::new(&MediaMatchConfig::default())
    }
}

impl MatchIndex {
    /// An empty index applying `config` to video, audio and text.
    pub fn new(config: &MediaMatchConfig) -> MatchIndex {
        MatchIndex {
            pdq: HammingIndex::default(),
            video: VideoIndex::new(config.vpdq),
            audio: AudioIndex::new(config.audio.clone()),
            text: TextIndex::new(config.text),
            exact: HashMap::new(),
            exact_values: HashMap::new(),
            signals: SignalTable::default(),
        }
    }

    /// A builder for a full load applying `config` to video, audio and text.
    pub fn builder(config: &MediaMatchConfig) -> MatchIndexBuilder {
        MatchIndexBuilder {
            index: MatchIndex::new(config),
            pdq: Vec::new(),
            others: Vec::new(),
        }
    }

    /// Builds an index from a full load held in memory (tests; the engine streams through
    /// [`MatchIndex::builder`]).
    #[cfg(test)]
    pub fn build(signals: Vec<IndexSignal>, config: &MediaMatchConfig) -> MatchIndex {
        let mut builder = MatchIndex::builder(config);
        for signal in signals {
            builder.push(signal);
        }
        builder.finish()
    }

    /// Adds or replaces a signal.
    pub fn insert(&mut self, signal: &IndexSignal) {
        self.remove(signal.id);
        if self.index_value(signal) {
            self.signals.insert(signal.id, meta_of(signal));
        }
    }

    /// Adds a signal's value to the index of its kind; false when the value is skipped.
    fn index_value(&mut self, signal: &IndexSignal) -> bool {
        match signal.signal_type {
            SignalType::Pdq => {
                // The store validated the value; a value that still does not parse is skipped
                // rather than taking the whole index down.
                let Ok(hash) = Hash256::from_hex(&signal.value) else {
                    tracing::warn!(signal = signal.id.0, "stored pdq value does not parse");
                    return false;
                };
                self.pdq.insert(signal.id.0 as u64, hash);
            }
            kind if kind.is_exact() => {
                self.exact
                    .entry((kind, signal.value.clone()))
                    .or_default()
                    .push(signal.id);
                self.exact_values.insert(signal.id, signal.value.clone());
            }
            SignalType::Vpdq => {
                let Ok(features) = vpdq::parse_lines(&signal.value) else {
                    tracing::warn!(signal = signal.id.0, "stored vpdq value does not parse");
                    return false;
                };
                self.video.insert(signal.id.0 as u64, &features);
            }
            SignalType::Audio => {
                let Ok(fingerprint) = AudioFingerprint::from_text(&signal.value) else {
                    tracing::warn!(signal = signal.id.0, "stored audio value does not parse");
                    return false;
                };
                self.audio
                    .insert(signal.id.0 as u64, fingerprint.sub_fingerprints());
            }
            SignalType::TextMinhash => {
                let Ok(signature) = TextSignature::parse(&signal.value) else {
                    tracing::warn!(signal = signal.id.0, "stored text signature does not parse");
                    return false;
                };
                self.text.insert(signal.id.0 as u64, &signature);
            }
            _ => return false,
        }
        true
    }

    /// Removes a signal if present.
    pub fn remove(&mut self, id: SignalId) -> Option<SignalMeta> {
        let meta = self.signals.remove(id)?;
        let key = id.0 as u64;
        if meta.signal_type == SignalType::Pdq {
            self.pdq.remove(key);
        } else if meta.signal_type == SignalType::Vpdq {
            self.video.remove(key);
        } else if meta.signal_type == SignalType::Audio {
            self.audio.remove(key);
        } else if meta.signal_type == SignalType::TextMinhash {
            self.text.remove(key);
        } else if let Some(value) = self.exact_values.remove(&id) {
            let key = (meta.signal_type, value);
            if let Some(ids) = self.exact.get_mut(&key) {
                ids.retain(|other| *other != id);
                if ids.is_empty() {
                    self.exact.remove(&key);
                }
            }
        }
        Some(meta)
    }

    /// PDQ signals within `radius` of `hash`: (signal, distance), closest first.
    pub fn query_pdq(&self, hash: &Hash256, radius: u32) -> Vec<(SignalId, u32)> {
        self.pdq
            .query(hash, radius)
            .into_iter()
            .map(|neighbour| (SignalId(neighbour.id as i64), neighbour.distance))
            .collect()
    }

    /// The stored PDQ hash of a signal.
    pub fn pdq_hash(&self, id: SignalId) -> Option<Hash256> {
        self.pdq.get(id.0 as u64)
    }

    /// Banked videos matching a query as it is or through one of its query-side variants:
    /// each video's best match, with the variant that gave it (`None`: as it is).
    pub fn query_video_variants(
        &self,
        query: &[VpdqFeature],
        variants: &[(vpdq::VideoVariant, &[VpdqFeature])],
    ) -> Vec<(SignalId, Option<vpdq::VideoVariant>, VideoMatch)> {
        let queries: Vec<&[VpdqFeature]> = variants.iter().map(|(_, query)| *query).collect();
        self.video
            .query_with_variants(query, &queries)
            .into_iter()
            .map(|(v, m)| (SignalId(m.video_id as i64), v.map(|v| variants[v].0), m))
            .collect()
    }

    /// Banked recordings containing (or contained in) a query as it is (at the plain
    /// threshold) or through one of its stretched variants (at `variant_max_ber`): each
    /// recording's closest match, with the change undone ([`Stretch::None`]: as it was).
    pub fn query_audio_stretched(
        &self,
        query: &[u32],
        variants: &[(Stretch, &[u32])],
        variant_max_ber: f64,
    ) -> Vec<(SignalId, Stretch, AudioMatch)> {
        let queries: Vec<&[u32]> = variants.iter().map(|(_, query)| *query).collect();
        self.audio
            .search_with_variants(query, &queries, variant_max_ber)
            .into_iter()
            .map(|(v, m)| {
                let stretch = v.map_or(Stretch::None, |v| variants[v].0);
                (SignalId(m.id as i64), stretch, m)
            })
            .collect()
    }

    /// Banked statements near-duplicating `query`.
    pub fn query_text(&self, query: &TextSignature) -> Vec<(SignalId, TextMatch)> {
        self.text
            .query(query)
            .into_iter()
            .map(|m| (SignalId(m.id as i64), m))
            .collect()
    }

    /// Signals whose value equals `value` exactly.
    pub fn query_exact(&self, signal_type: SignalType, value: &str) -> &[SignalId] {
        self.exact
            .get(&(signal_type, value.to_string()))
            .map_or(&[], Vec::as_slice)
    }

    /// Where a signal points.
    pub fn meta(&self, id: SignalId) -> Option<SignalMeta> {
        self.signals.get(id)
    }

    /// Number of signals of each kind.
    pub fn counts(&self) -> BTreeMap<SignalType, usize> {
        self.signals.counts()
    }

    /// Approximate heap bytes of the PDQ index (the dominant part at scale).
    pub fn pdq_memory_bytes(&self) -> usize {
        self.pdq.memory_bytes()
    }

    /// Approximate heap bytes of the video, audio and text indexes.
    pub fn media_memory_bytes(&self) -> usize {
        self.video.memory_bytes() + self.audio.memory_bytes() + self.text.memory_bytes()
    }
}

fn meta_of(signal: &IndexSignal) -> SignalMeta {
    SignalMeta {
        content: signal.content,
        bank: signal.bank,
        signal_type: signal.signal_type,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(id: i64, signal_type: SignalType, value: &str) -> IndexSignal {
        IndexSignal {
            id: SignalId(id),
            content: ContentId(id * 10),
            bank: BankId(1),
            signal_type,
            algorithm_version: 1,
            value: value.to_string(),
            quality: None,
        }
    }

    #[test]
    fn insert_query_replace_remove() {
        let zero = "0".repeat(64);
        let mut one = "0".repeat(63);
        one.push('1');
        let mut index = MatchIndex::build(
            vec![
                signal(1, SignalType::Pdq, &zero),
                signal(2, SignalType::Md5, "900150983cd24fb0d6963f7d28e17f72"),
            ],
            &MediaMatchConfig::default(),
        );
        assert_eq!(index.counts().values().sum::<usize>(), 2);
        let query = Hash256::from_hex(&one).unwrap();
        assert_eq!(index.query_pdq(&query, 31), vec![(SignalId(1), 1)]);
        assert_eq!(
            index.query_exact(SignalType::Md5, "900150983cd24fb0d6963f7d28e17f72"),
            &[SignalId(2)]
        );
        index.insert(&signal(3, SignalType::Pdq, &one));
        assert_eq!(index.query_pdq(&query, 0), vec![(SignalId(3), 0)]);
        assert_eq!(index.remove(SignalId(2)).unwrap().content, ContentId(20));
        assert!(index
            .query_exact(SignalType::Md5, "900150983cd24fb0d6963f7d28e17f72")
            .is_empty());
        // Re-inserting a signal with a new value replaces the old one.
        index.insert(&signal(1, SignalType::Pdq, &one));
        assert_eq!(index.query_pdq(&query, 0).len(), 2);
        assert_eq!(index.counts()[&SignalType::Pdq], 2);
    }

    #[test]
    fn video_audio_and_text_signals_are_indexed_and_removed() {
        let features: Vec<VpdqFeature> = (0..10u64)
            .map(|i| VpdqFeature {
                frame_number: i,
                hash: Hash256::from_hex(&format!("{:064x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
                    .unwrap(),
                quality: 100,
                timestamp: i as f64,
            })
            .collect();
        let sub: Vec<u32> = (0..400u32).map(|i| i.wrapping_mul(0x9e37_79b9)).collect();
        let audio = AudioFingerprint::from_sub_fingerprints(sub.clone()).to_text();
        let statement = "the office announces that its fighters carried out an operation today \
                         against the positions of the enemy near the city";
        let signature = takedown_signals::text::fingerprint(statement).signature;
        let mut index = MatchIndex::build(
            vec![
                signal(1, SignalType::Vpdq, &vpdq::format_lines(&features)),
                signal(2, SignalType::Audio, &audio),
                signal(3, SignalType::TextMinhash, &signature.to_text()),
                signal(4, SignalType::Vpdq, "not vpdq"),
            ],
            &MediaMatchConfig::default(),
        );
        assert_eq!(
            index.counts().values().sum::<usize>(),
            3,
            "bad value skipped"
        );
        assert_eq!(index.query_video_variants(&features, &[])[0].0, SignalId(1));
        let excerpt = &sub[100..200];
        let hits = index.query_audio_stretched(excerpt, &[], 0.0);
        assert_eq!((hits[0].0, hits[0].2.offset), (SignalId(2), 100));
        assert_eq!(index.query_text(&signature)[0].0, SignalId(3));
        for id in 1..=3 {
            assert!(index.remove(SignalId(id)).is_some());
        }
        assert!(index.query_video_variants(&features, &[]).is_empty());
        assert!(index.query_audio_stretched(excerpt, &[], 0.0).is_empty());
        assert!(index.query_text(&signature).is_empty());
    }
}
