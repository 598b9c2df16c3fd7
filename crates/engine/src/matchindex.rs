//! The in-memory matching index: a cache of the store's active signals.
//!
//! The store is the source of truth; this is rebuilt from it at start and then kept in step one
//! signal at a time (never rebuilt, never shipped as one blob). Lookups read only memory: HMA
//! reads its database on every lookup, takedown never does.

use std::collections::{BTreeMap, HashMap};

use takedown_index::HammingIndex;
use takedown_model::{BankId, ContentId, SignalId, SignalType};
use takedown_signals::Hash256;
use takedown_store::IndexSignal;

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
#[derive(Default)]
pub struct MatchIndex {
    pdq: HammingIndex,
    exact: HashMap<(SignalType, String), Vec<SignalId>>,
    /// The value of each exact signal, so a removal finds its entry without a scan.
    exact_values: HashMap<SignalId, String>,
    signals: HashMap<SignalId, SignalMeta>,
}

impl MatchIndex {
    /// Builds an index from a full load of active signals, using the bulk (parallel) build.
    pub fn build(signals: Vec<IndexSignal>) -> MatchIndex {
        let mut index = MatchIndex::default();
        let mut pdq_items = Vec::new();
        for signal in signals {
            if signal.signal_type == SignalType::Pdq {
                if let Ok(hash) = Hash256::from_hex(&signal.value) {
                    pdq_items.push((signal.id.0 as u64, hash));
                    index.signals.insert(signal.id, meta_of(&signal));
                }
            } else {
                index.insert(&signal);
            }
        }
        index.pdq = HammingIndex::build(pdq_items);
        index
    }

    /// Adds or replaces a signal.
    pub fn insert(&mut self, signal: &IndexSignal) {
        self.remove(signal.id);
        match signal.signal_type {
            SignalType::Pdq => {
                // The store validated the value; a value that still does not parse is skipped
                // rather than taking the whole index down.
                let Ok(hash) = Hash256::from_hex(&signal.value) else {
                    tracing::warn!(signal = signal.id.0, "stored pdq value does not parse");
                    return;
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
            // Video, audio and text similarity signals are matched by their own indexes.
            _ => return,
        }
        self.signals.insert(signal.id, meta_of(signal));
    }

    /// Removes a signal if present.
    pub fn remove(&mut self, id: SignalId) -> Option<SignalMeta> {
        let meta = self.signals.remove(&id)?;
        if meta.signal_type == SignalType::Pdq {
            self.pdq.remove(id.0 as u64);
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

    /// Signals whose value equals `value` exactly.
    pub fn query_exact(&self, signal_type: SignalType, value: &str) -> &[SignalId] {
        self.exact
            .get(&(signal_type, value.to_string()))
            .map_or(&[], Vec::as_slice)
    }

    /// Where a signal points.
    pub fn meta(&self, id: SignalId) -> Option<SignalMeta> {
        self.signals.get(&id).copied()
    }

    /// Number of signals of each kind.
    pub fn counts(&self) -> BTreeMap<SignalType, usize> {
        let mut counts = BTreeMap::new();
        for meta in self.signals.values() {
            *counts.entry(meta.signal_type).or_insert(0) += 1;
        }
        counts
    }

    /// Approximate heap bytes of the PDQ index (the dominant part at scale).
    pub fn pdq_memory_bytes(&self) -> usize {
        self.pdq.memory_bytes()
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
        let mut index = MatchIndex::build(vec![
            signal(1, SignalType::Pdq, &zero),
            signal(2, SignalType::Md5, "900150983cd24fb0d6963f7d28e17f72"),
        ]);
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
}
