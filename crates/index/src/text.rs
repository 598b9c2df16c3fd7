//! Near-duplicate search over banked text statements, with boilerplate learnt from the bank.
//!
//! # Structure
//!
//! Each banked statement's signature (`takedown_signals::text::TextSignature`, the sorted
//! 32-bit hashes of its word 3-grams) is kept whole, and an inverted index maps every
//! shingle to the statements containing it. The length of a posting list is the shingle's
//! document frequency `df`, which gives the rule's weight `1 / df`: formulas that open and
//! close many of an outlet's statements weigh little, a statement's own words weigh 1 (see
//! `takedown_signals::text` for the rule and why it is containment, not Jaccard).
//!
//! This is locality-sensitive hashing at its finest grain: every shingle is its own band of
//! width one, so a statement becomes a candidate when it shares any shingle with the query.
//! MinHash banding would sample the shingles and miss some true matches by design; here
//! candidate generation loses nothing, and every candidate is then **verified exactly**
//! against its stored shingles. Results equal a brute-force pass of the rule over every
//! banked statement (`tests/text_model.rs`, property tests over random insert/remove/query
//! sequences with shared boilerplate).
//!
//! # Skipping boilerplate postings without losing a match
//!
//! A shingle in 10,000 statements has a posting list of 10,000 entries but a weight of
//! 1/10,000. The query skips the longest lists as long as the weight they could add up to
//! stays below the rule's minimum shared weight: a statement reached only through skipped
//! lists shares at most that much weight with the query, so it cannot match, and skipping
//! it is exact. The statements reached through the remaining lists are verified in full,
//! skipped shingles included.
//!
//! # Updates
//!
//! Insert and remove touch one posting list per shingle. Weights change as the bank does
//! (a formula becomes boilerplate once many statements use it), and every query sees the
//! current weights: nothing is precomputed that an update could make stale.

use std::collections::HashMap;
use takedown_signals::text::{
    compare_weighted, compare_with_query_weight, query_weight, TextComparison, TextMatchConfig,
    TextSignature,
};

/// One banked statement compared with a query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextMatch {
    /// The id given to [`TextIndex::insert`].
    pub id: u64,
    /// The weights behind the score.
    pub comparison: TextComparison,
}

impl TextMatch {
    /// The larger of the two containments.
    pub fn score(&self) -> f64 {
        self.comparison.score()
    }
}

/// Banked text signatures, searchable by near-duplicate text.
#[derive(Debug, Clone, Default)]
pub struct TextIndex {
    config: TextMatchConfig,
    statements: HashMap<u64, Vec<u32>>,
    postings: HashMap<u32, Vec<u64>>,
}

impl TextIndex {
    /// An empty index applying `config`.
    pub fn new(config: TextMatchConfig) -> Self {
        TextIndex {
            config,
            statements: HashMap::new(),
            postings: HashMap::new(),
        }
    }

    /// The rule's parameters.
    pub fn config(&self) -> &TextMatchConfig {
        &self.config
    }

    /// Changes the rule's parameters (no rebuild needed).
    pub fn set_config(&mut self, config: TextMatchConfig) {
        self.config = config;
    }

    /// Number of banked statements.
    pub fn len(&self) -> usize {
        self.statements.len()
    }

    /// Whether nothing is banked.
    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// Whether `id` is banked.
    pub fn contains(&self, id: u64) -> bool {
        self.statements.contains_key(&id)
    }

    /// The signature banked under `id`.
    pub fn get(&self, id: u64) -> Option<TextSignature> {
        self.statements
            .get(&id)
            .map(|s| TextSignature::from_shingles(s.clone()))
    }

    /// In how many banked statements a shingle occurs.
    pub fn document_frequency(&self, shingle: u32) -> usize {
        self.postings.get(&shingle).map_or(0, Vec::len)
    }

    /// The rule's weight of a shingle: `1 / df`, or 1 for a shingle not in the bank.
    pub fn weight(&self, shingle: u32) -> f64 {
        1.0 / self.document_frequency(shingle).max(1) as f64
    }

    /// Banks `signature` under `id`, replacing what was there.
    pub fn insert(&mut self, id: u64, signature: &TextSignature) {
        self.remove(id);
        for &shingle in signature.shingles() {
            self.postings.entry(shingle).or_default().push(id);
        }
        self.statements.insert(id, signature.shingles().to_vec());
    }

    /// Removes `id`; returns whether it was banked.
    pub fn remove(&mut self, id: u64) -> bool {
        let Some(shingles) = self.statements.remove(&id) else {
            return false;
        };
        for shingle in shingles {
            if let Some(list) = self.postings.get_mut(&shingle) {
                if let Some(position) = list.iter().position(|&x| x == id) {
                    list.swap_remove(position);
                }
                if list.is_empty() {
                    self.postings.remove(&shingle);
                }
            }
        }
        true
    }

    /// Banked statements that match `query` under the rule, best score first (ties by id).
    pub fn query(&self, query: &TextSignature) -> Vec<TextMatch> {
        let config = self.config;
        let q = query.shingles();
        // Query shingles present in the bank, longest posting list first.
        let mut present: Vec<(usize, &Vec<u64>)> = q
            .iter()
            .filter_map(|s| self.postings.get(s).map(|list| (list.len(), list)))
            .collect();
        present.sort_unstable_by_key(|&(df, _)| std::cmp::Reverse(df));
        // Skip the longest lists while what they could contribute stays below min_shared.
        let mut skippable = 0.0;
        let mut first_probed = 0;
        if config.min_shared > 0.0 {
            for &(df, _) in &present {
                let next = skippable + 1.0 / df as f64;
                if next >= config.min_shared {
                    break;
                }
                skippable = next;
                first_probed += 1;
            }
        }
        let mut candidates: Vec<u64> = present[first_probed..]
            .iter()
            .flat_map(|(_, list)| list.iter().copied())
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        let mut matches = self.verify(q, &candidates);
        matches.retain(|m| m.comparison.is_match(&config));
        matches.sort_by(|a, b| b.score().total_cmp(&a.score()).then(a.id.cmp(&b.id)));
        matches
    }

    /// Every banked statement sharing at least one shingle with `query`, with its exact
    /// comparison, whether or not it matches (sorted by id). For calibration and inspection;
    /// it walks every posting list, boilerplate included.
    pub fn compare_all(&self, query: &TextSignature) -> Vec<TextMatch> {
        let q = query.shingles();
        let mut candidates: Vec<u64> = q
            .iter()
            .filter_map(|s| self.postings.get(s))
            .flatten()
            .copied()
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        self.verify(q, &candidates)
    }

    /// The rule's comparison of `query` with one banked statement, under the bank's
    /// current weights.
    pub fn compare_with(&self, query: &TextSignature, id: u64) -> Option<TextComparison> {
        let banked = self.statements.get(&id)?;
        Some(compare_weighted(query.shingles(), banked, |s| {
            self.weight(s)
        }))
    }

    fn verify(&self, q: &[u32], candidates: &[u64]) -> Vec<TextMatch> {
        let weight = |s: u32| self.weight(s);
        let total = query_weight(q, weight);
        candidates
            .iter()
            .filter_map(|&id| {
                let banked = self.statements.get(&id)?;
                Some(TextMatch {
                    id,
                    comparison: compare_with_query_weight(q, total, banked, weight),
                })
            })
            .collect()
    }

    /// Approximate heap bytes: stored shingles plus posting entries (hash map overhead
    /// estimated at one key and value slot per entry).
    pub fn memory_bytes(&self) -> usize {
        let stored: usize = self
            .statements
            .values()
            .map(|s| s.capacity() * 4 + 32)
            .sum();
        let postings: usize = self
            .postings
            .values()
            .map(|list| list.capacity() * 8 + 32)
            .sum();
        stored + postings
    }
}
