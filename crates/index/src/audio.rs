//! Search over banked audio fingerprints: which banked recordings contain the query, where,
//! and how closely (`takedown_signals::audio`).
//!
//! # The match rule
//!
//! A query `q` (for example 77 sub-fingerprints of a 10-second excerpt) is compared with a banked
//! fingerprint `b` at every offset `o` (query value `i` against banked value `i + o`). The
//! overlap must hold at least `min(min_overlap, |q|, |b|)` pairs, so that a match is never
//! decided on a sliver. The alignment's bit-error rate is `errors / (32 * overlap)`; an item
//! matches when its best alignment has BER <= `max_ber`. Best means lowest BER, then longest
//! overlap, then smallest offset, so the answer is deterministic. [`brute_force_search`]
//! computes this rule literally, over every item and offset.
//!
//! # Candidate generation (as AcoustID does, with a stated guarantee)
//!
//! Comparing against every item at every offset costs `|q| x total banked length`
//! popcounts. Instead every banked sub-fingerprint is posted under its two 16-bit halves in two
//! tables of 65,536 lists of `(item, position)`. A query value looks up, in each table, the
//! lists of every key within `probe_radius` bits of its own half (1 + 16 = 17 lists at radius
//! 1), and each posting proposes the offset `position - i`. Every proposed `(item, offset)` is
//! then verified exactly with the rule above, and each item's best verified alignment is
//! reported.
//!
//! **Guarantee.** An alignment is examined whenever at least one of its aligned pairs `(q[i],
//! b[i + o])` differs in at most `probe_radius` bits in its low half or in its high half — in
//! particular whenever some pair differs in at most `2 * probe_radius + 1` bits (pigeonhole).
//! Pairs in which either value is the silence sub-fingerprint
//! (`takedown_signals::audio::silence_sub_fingerprint`) propose nothing: silence is shared by
//! every recording and would propose every offset of every item. So the index reports exactly
//! what [`brute_force_search`] reports when restricted to such alignments
//! ([`Candidates::Guaranteed`]), and the property tests check that equality. As a corollary, an
//! alignment whose non-silent pairs average fewer than `2 * (probe_radius + 1)` differing bits
//! (BER below 0.125 at radius 1 if nothing is silent) is always found. Real matches at higher
//! BER (noise, low bit rates, up to the calibrated threshold near 0.3) are found because bit
//! errors cluster: a 10-second excerpt has dozens of pairs, and the benchmark measures how
//! often at least one of them is close enough (it reports recall through the index, not
//! through brute force).
//!
//! Incremental: [`AudioIndex::insert`] and [`AudioIndex::remove`] touch only the item's own
//! postings. Cost of a search: `|q| x 2 x 17` list reads plus one verification (`overlap`
//! popcounts) per distinct proposed alignment; with `N` banked sub-fingerprints spread evenly,
//! about `|q| x 34 x N / 65536` proposals (real values are far from even, which is why silence
//! is excluded).

use std::collections::HashMap;
use takedown_signals::audio::silence_sub_fingerprint;

/// Parameters of the match rule and of candidate generation.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioIndexConfig {
    /// Largest bit-error rate that counts as a match (inclusive).
    pub max_ber: f64,
    /// Fewest aligned pairs an alignment needs (capped by the lengths of query and item).
    pub min_overlap: usize,
    /// Bits a 16-bit half may differ by and still propose an alignment (0..=2; 1 is the
    /// default: 17 lists per half).
    pub probe_radius: u32,
}

/// The largest bit-error rate of a match: calibrated with the stretched threshold of
/// `takedown_engine` on 3,024,000 negative pairs of the audio benchmark (10 s windows of
/// unrelated speech against 60 s bulletins) to at most 1e-6 false positives per pair for the
/// two rules together (docs/benchmarks.md, Audio). Unrelated speech sits near 0.5; the
/// hardest negatives, different bulletins in the same monotone synthetic voice, reach 0.11.
pub const DEFAULT_MAX_BER: f64 = 0.132;

impl Default for AudioIndexConfig {
    /// BER <= [`DEFAULT_MAX_BER`], at least 40 pairs (5 s), radius 1.
    fn default() -> Self {
        AudioIndexConfig {
            max_ber: DEFAULT_MAX_BER,
            min_overlap: 40,
            probe_radius: 1,
        }
    }
}

/// One item's best alignment with a query.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioMatch {
    /// The caller's id of the banked item.
    pub id: u64,
    /// Position in the banked fingerprint of the query's first sub-fingerprint (negative when
    /// the query starts before the banked recording). Multiply by
    /// `takedown_signals::audio::SECONDS_PER_SUB_FINGERPRINT` for seconds.
    pub offset: i64,
    /// Aligned pairs compared.
    pub overlap: usize,
    /// Differing bits over the overlap.
    pub bit_errors: u64,
}

impl AudioMatch {
    /// Bit-error rate of the alignment.
    pub fn ber(&self) -> f64 {
        if self.overlap == 0 {
            return 1.0;
        }
        self.bit_errors as f64 / (32.0 * self.overlap as f64)
    }

    /// Orders alignments: lower BER first (compared exactly, without division), then longer
    /// overlap, then smaller offset.
    fn better_than(&self, other: &AudioMatch) -> bool {
        let lhs = u128::from(self.bit_errors) * other.overlap as u128;
        let rhs = u128::from(other.bit_errors) * self.overlap as u128;
        (lhs, std::cmp::Reverse(self.overlap), self.offset)
            < (rhs, std::cmp::Reverse(other.overlap), other.offset)
    }
}

/// Which alignments a brute-force search considers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Candidates {
    /// Every offset: the match rule itself.
    All,
    /// Only the alignments candidate generation guarantees to examine (the model the index
    /// equals exactly).
    Guaranteed,
}

#[derive(Debug, Clone, Copy)]
struct Posting {
    slot: u32,
    position: u32,
}

/// An incremental index of audio fingerprints for excerpt search. Ids are the caller's.
#[derive(Debug, Clone)]
pub struct AudioIndex {
    config: AudioIndexConfig,
    /// Fingerprints by slot (`None`: free slot).
    items: Vec<Option<(u64, Vec<u32>)>>,
    free: Vec<u32>,
    slots: HashMap<u64, u32>,
    /// `tables[h][key]`: postings whose half `h` (0 = low 16 bits, 1 = high) equals `key`.
    tables: [Vec<Vec<Posting>>; 2],
    silence: u32,
    /// XOR masks of 16 bits with at most `probe_radius` bits set.
    probes: Vec<u16>,
    postings: usize,
}

fn half(value: u32, h: usize) -> u16 {
    (value >> (16 * h)) as u16
}

fn masks(radius: u32) -> Vec<u16> {
    (0..=u16::MAX)
        .filter(|m| m.count_ones() <= radius)
        .collect()
}

impl AudioIndex {
    /// An empty index. A `probe_radius` above 2 is lowered to 2 (137 lists per half: beyond
    /// that a scan is cheaper).
    pub fn new(mut config: AudioIndexConfig) -> Self {
        config.probe_radius = config.probe_radius.min(2);
        let probes = masks(config.probe_radius);
        AudioIndex {
            config,
            items: Vec::new(),
            free: Vec::new(),
            slots: HashMap::new(),
            tables: [vec![Vec::new(); 1 << 16], vec![Vec::new(); 1 << 16]],
            silence: silence_sub_fingerprint(),
            probes,
            postings: 0,
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &AudioIndexConfig {
        &self.config
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when no item is stored.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Whether an item with this id is stored.
    pub fn contains(&self, id: u64) -> bool {
        self.slots.contains_key(&id)
    }

    /// Stored sub-fingerprints plus posting entries, in bytes (approximate heap use).
    pub fn memory_bytes(&self) -> usize {
        let values: usize = self
            .items
            .iter()
            .flatten()
            .map(|(_, fp)| fp.len() * 4)
            .sum();
        values + self.postings * std::mem::size_of::<Posting>() + 2 * 65_536 * 24
    }

    /// Adds an item, replacing any item with the same id. Returns true when one was replaced.
    /// An empty fingerprint is stored (and never matches).
    pub fn insert(&mut self, id: u64, fingerprint: &[u32]) -> bool {
        let replaced = self.remove(id);
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.items.push(None);
                (self.items.len() - 1) as u32
            }
        };
        for (position, &value) in fingerprint.iter().enumerate() {
            if value == self.silence {
                continue;
            }
            let position = position as u32;
            for h in 0..2 {
                self.tables[h][usize::from(half(value, h))].push(Posting { slot, position });
            }
            self.postings += 2;
        }
        self.items[slot as usize] = Some((id, fingerprint.to_vec()));
        self.slots.insert(id, slot);
        replaced
    }

    /// Removes an item; true when it was there.
    pub fn remove(&mut self, id: u64) -> bool {
        let Some(slot) = self.slots.remove(&id) else {
            return false;
        };
        let Some((_, fingerprint)) = self.items[slot as usize].take() else {
            return false;
        };
        for h in 0..2 {
            let mut keys: Vec<u16> = fingerprint
                .iter()
                .filter(|&&v| v != self.silence)
                .map(|&v| half(v, h))
                .collect();
            keys.sort_unstable();
            keys.dedup();
            for key in keys {
                let list = &mut self.tables[h][usize::from(key)];
                let before = list.len();
                list.retain(|p| p.slot != slot);
                self.postings -= before - list.len();
            }
        }
        self.free.push(slot);
        true
    }

    /// Every item whose best examined alignment with `query` matches, best first (then by id).
    pub fn search(&self, query: &[u32]) -> Vec<AudioMatch> {
        self.search_at(query, self.config.max_ber)
    }

    /// [`AudioIndex::search`] with another largest bit-error rate than the configured one (the
    /// stretched variants of a query are calibrated to a lower threshold of their own).
    pub fn search_at(&self, query: &[u32], max_ber: f64) -> Vec<AudioMatch> {
        let mut proposals: Vec<u64> = Vec::new();
        for (i, &value) in query.iter().enumerate() {
            if value == self.silence {
                continue;
            }
            for h in 0..2 {
                let key = half(value, h);
                for mask in &self.probes {
                    for p in &self.tables[h][usize::from(key ^ mask)] {
                        let offset = i64::from(p.position) - i as i64;
                        // Offsets fit in 33 bits; bias them to pack with the slot.
                        let packed = (u64::from(p.slot) << 32) | (offset + (1 << 31)) as u64;
                        proposals.push(packed);
                    }
                }
            }
        }
        proposals.sort_unstable();
        proposals.dedup();

        let mut best: HashMap<u32, AudioMatch> = HashMap::new();
        for packed in proposals {
            let slot = (packed >> 32) as u32;
            let offset = (packed & 0xFFFF_FFFF) as i64 - (1 << 31);
            let Some((id, banked)) = &self.items[slot as usize] else {
                continue;
            };
            let Some(found) = align(query, banked, offset, &self.config, max_ber, *id) else {
                continue;
            };
            match best.get(&slot) {
                Some(current) if !found.better_than(current) => {}
                _ => {
                    best.insert(slot, found);
                }
            }
        }
        finish(best.into_values())
    }

    /// Searches with several fingerprints of one query (`takedown_signals::audio::StretchSet`
    /// variants) and keeps each item's best alignment over all of them, with the index of the
    /// variant that gave it.
    pub fn search_variants(&self, variants: &[&[u32]]) -> Vec<(usize, AudioMatch)> {
        self.search_variants_at(variants, self.config.max_ber)
    }

    /// [`AudioIndex::search_variants`] with its own largest bit-error rate.
    pub fn search_variants_at(
        &self,
        variants: &[&[u32]],
        max_ber: f64,
    ) -> Vec<(usize, AudioMatch)> {
        let mut best: HashMap<u64, (usize, AudioMatch)> = HashMap::new();
        for (v, query) in variants.iter().enumerate() {
            for found in self.search_at(query, max_ber) {
                match best.get(&found.id) {
                    Some((_, current)) if !found.better_than(current) => {}
                    _ => {
                        best.insert(found.id, (v, found));
                    }
                }
            }
        }
        let mut all: Vec<(usize, AudioMatch)> = best.into_values().collect();
        all.sort_by(|a, b| order(&a.1, &b.1));
        all
    }

    /// A query searched as it is at the configured threshold and through its stretched
    /// `variants` at `variant_max_ber` (lower: each variant is another chance of a chance
    /// alignment). Each item keeps its closest match, with the variant that gave it (`None`:
    /// the query as it is).
    pub fn search_with_variants(
        &self,
        query: &[u32],
        variants: &[&[u32]],
        variant_max_ber: f64,
    ) -> Vec<(Option<usize>, AudioMatch)> {
        let mut best: HashMap<u64, (Option<usize>, AudioMatch)> = (self.search(query).into_iter())
            .map(|found| (found.id, (None, found)))
            .collect();
        for (v, found) in self.search_variants_at(variants, variant_max_ber) {
            match best.get(&found.id) {
                Some((_, current)) if !found.better_than(current) => {}
                _ => {
                    best.insert(found.id, (Some(v), found));
                }
            }
        }
        let mut all: Vec<(Option<usize>, AudioMatch)> = best.into_values().collect();
        all.sort_by(|a, b| order(&a.1, &b.1));
        all
    }

    /// The rule applied to every stored item at every offset (or only at guaranteed
    /// candidates): the reference the index is tested against, and a way to measure what
    /// candidate generation misses.
    pub fn brute_force(&self, query: &[u32], candidates: Candidates) -> Vec<AudioMatch> {
        let items: Vec<(u64, &[u32])> = self
            .items
            .iter()
            .flatten()
            .map(|(id, fp)| (*id, fp.as_slice()))
            .collect();
        brute_force_search(&items, query, &self.config, candidates)
    }
}

/// The match rule over every item and every offset (see the module documentation).
/// `Candidates::Guaranteed` restricts it to the alignments the index is guaranteed to examine.
pub fn brute_force_search(
    items: &[(u64, &[u32])],
    query: &[u32],
    config: &AudioIndexConfig,
    candidates: Candidates,
) -> Vec<AudioMatch> {
    let silence = silence_sub_fingerprint();
    let radius = config.probe_radius.min(2);
    let mut out = Vec::new();
    for &(id, banked) in items {
        let mut best: Option<AudioMatch> = None;
        let first = -(query.len() as i64) + 1;
        let last = banked.len() as i64 - 1;
        for offset in first..=last {
            if candidates == Candidates::Guaranteed
                && !is_guaranteed(query, banked, offset, silence, radius)
            {
                continue;
            }
            if let Some(found) = align(query, banked, offset, config, config.max_ber, id) {
                if best.as_ref().is_none_or(|b| found.better_than(b)) {
                    best = Some(found);
                }
            }
        }
        out.extend(best);
    }
    finish(out)
}

/// Whether candidate generation proposes `offset`: some aligned pair, neither value silence,
/// has a 16-bit half differing in at most `radius` bits.
fn is_guaranteed(query: &[u32], banked: &[u32], offset: i64, silence: u32, radius: u32) -> bool {
    query.iter().enumerate().any(|(i, &q)| {
        let j = i as i64 + offset;
        if j < 0 || j >= banked.len() as i64 {
            return false;
        }
        let b = banked[j as usize];
        q != silence
            && b != silence
            && (0..2).any(|h| (half(q, h) ^ half(b, h)).count_ones() <= radius)
    })
}

/// The alignment at `offset` if it satisfies the rule (with `max_ber` in place of the
/// configured one).
fn align(
    query: &[u32],
    banked: &[u32],
    offset: i64,
    config: &AudioIndexConfig,
    max_ber: f64,
    id: u64,
) -> Option<AudioMatch> {
    let start = 0i64.max(-offset) as usize;
    let end = (query.len() as i64).min(banked.len() as i64 - offset);
    if end <= start as i64 {
        return None;
    }
    let end = end as usize;
    let overlap = end - start;
    let needed = config.min_overlap.min(query.len()).min(banked.len()).max(1);
    if overlap < needed {
        return None;
    }
    let b_start = (start as i64 + offset) as usize;
    let errors = takedown_signals::audio::bit_errors(
        &query[start..end],
        &banked[b_start..b_start + overlap],
    );
    let found = AudioMatch {
        id,
        offset,
        overlap,
        bit_errors: errors,
    };
    (found.ber() <= max_ber).then_some(found)
}

fn order(a: &AudioMatch, b: &AudioMatch) -> std::cmp::Ordering {
    if a.better_than(b) {
        std::cmp::Ordering::Less
    } else if b.better_than(a) {
        std::cmp::Ordering::Greater
    } else {
        a.id.cmp(&b.id)
    }
}

fn finish(matches: impl IntoIterator<Item = AudioMatch>) -> Vec<AudioMatch> {
    let mut all: Vec<AudioMatch> = matches.into_iter().collect();
    all.sort_by(order);
    all
}
