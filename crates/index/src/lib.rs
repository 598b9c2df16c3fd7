//! Exact Hamming-radius search over 256-bit perceptual hashes (PDQ).
//!
//! [`HammingIndex`] answers "which stored hashes are within distance `r` of this query?"
//! exactly: every answer equals a brute-force scan, for every radius. It serves one item at a
//! time inserts and deletes while queries run, and builds from millions of hashes in seconds.
//!
//! # Multi-index hashing (Norouzi, Punjani and Fleet)
//!
//! The 256 bits are cut into 16 chunks of 16 bits, the reference's words `w[0..16]`. If two
//! hashes differ in at most `r = 16q + a` bits (`0 <= a < 16`), then the first `a + 1` chunks
//! cannot all differ in more than `q` bits *and* the other `15 - a` in more than `q - 1`: that
//! would be at least `(a + 1)(q + 1) + (15 - a)q = r + 1` bits. So each chunk `i` gets a
//! threshold `t_i` (`q` for `i <= a`, else `q - 1`) and a table of 65,536 buckets (one per
//! chunk value) holding the slots of the stored hashes with that value. A query visits, in
//! every chunk, the buckets whose key is within `t_i` of its own chunk, and verifies each
//! candidate with a full 256-bit popcount. At the default radius 31 (`q = 1, a = 15`) that is
//! 16 x 17 = 272 buckets and about `n * 272 / 65536` candidates (41k at 10M uniform hashes);
//! radius 15 and below needs only `r + 1` chunks at threshold 0.
//!
//! A hash close to the query sits in the probed bucket of several chunks. Instead of a
//! "seen" set, a match found through chunk `i` is reported only if no earlier chunk `j < i`
//! is within its own threshold `t_j` (a few popcounts on the already-loaded hash): each match
//! is reported exactly once, by the first chunk that is guaranteed to see it.
//!
//! # Memory layout (120 bytes per hash at 10M, 146 at 1M; see [`HammingIndex::memory_bytes`])
//!
//! * `hashes: Vec<[u64; 4]>`, dense by slot (32 B): candidates are verified here, and the
//!   SIMD scan streams it. Two hashes per cache line.
//! * `ids: Vec<u64>`, slot -> caller's id (8 B).
//! * 16 x 65,536 posting lists `Vec<u32>` of slots (16 x 4 = 64 B per hash, plus 25 MB of
//!   list headers). Separate vectors rather than one CSR array make a single insert or delete
//!   O(list length) with no rebuild; bulk builds size every list exactly, and incremental
//!   growth is limited to 25% headroom per list.
//! * an id -> slot table (`slots.rs`), 8-byte entries at load factor <= 5/8 (about 13 B).
//!
//! Slots stay dense: deleting moves the last slot into the hole (its 16 posting entries are
//! rewritten), so the scan never meets tombstones and memory never fragments into holes.
//!
//! Query time at 10M hashes is dominated by the random reads of candidate hashes, not by
//! popcounts, so candidates of a chunk are gathered first and the verify loop prefetches
//! the hash a few candidates ahead.
//!
//! # When the scan wins
//!
//! [`brute_force_scan`] reads the hash array sequentially with AVX-512 VPOPCNTDQ, AVX2 or
//! POPCNT kernels chosen at run time. Multi-index cost grows with the number of probed
//! buckets (`C(16, <= t)` per chunk: 17 at radius 31, 137 at radius 47, 697 at radius 63)
//! and the candidates they hold, while the scan costs the same per stored hash at every
//! radius. [`Strategy::Auto`] compares a cost model whose constants were fitted to a
//! measured sweep (`docs/benchmarks.md`): estimated multi-index time
//! `12 ns x probed buckets + 13 ns x n x probed buckets / 65536` against `1 ns x n` for the
//! scan. So the scan is chosen below about 3,500 hashes at radius 31, 20k at radius 39,
//! 47k at radius 47, and at every size from radius 53 up (there the probed buckets hold over
//! 8% of the set, and reading 8% at random costs more than streaming all of it).
//! The measured crossovers: radius 31 between 4k and 16k hashes, radius 47 between 65k and
//! 262k, radius 63 a tie at 1M; the model errs only where the two are within 2x of each other.

pub mod audio;
mod scan;
mod slots;
pub mod text;
pub mod video;

use rayon::prelude::*;
use std::sync::OnceLock;

pub use audio::{AudioIndex, AudioIndexConfig, AudioMatch};
pub use scan::{brute_force_scan, brute_force_scan_with, ScanKernel};
pub use takedown_signals::Hash256;

/// The radius used by the service (PDQ's customary match threshold): distance <= 31.
pub const DEFAULT_RADIUS: u32 = 31;

/// Number of 16-bit chunks (multi-index tables).
const CHUNKS: usize = 16;
/// Buckets per chunk table.
const BUCKETS: usize = 1 << 16;
/// How many candidates ahead the verify loop prefetches: enough misses in flight to cover a
/// ~100 ns memory latency at a few ns of work per candidate (the shared benchmark machine
/// was too noisy to tune this finer than "16 and 32 both beat none").
const PREFETCH_AHEAD: usize = 32;

/// Above this many probed posting lists (radius 63 probes 11,152) lists are streamed rather
/// than gathered and prefetched up front.
const PREFETCH_LISTS_MAX: usize = 16_384;

/// Cost model for [`Strategy::Auto`], in nanoseconds, fitted to the crossover sweep in
/// `docs/benchmarks.md` (`bench/index/run.sh --crossover`).
/// Per probed bucket: two dependent random reads (list header, then list data).
const COST_BUCKET_NS: f64 = 12.0;
/// Per candidate: one random read of a 32-byte hash plus its popcount.
const COST_CANDIDATE_NS: f64 = 13.0;
/// Per stored hash for the sequential SIMD scan.
const COST_SCAN_NS: f64 = 1.0;

/// One stored hash within the query radius.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Neighbour {
    /// The id given to [`HammingIndex::insert`] or [`HammingIndex::build`].
    pub id: u64,
    /// Hamming distance to the query (0..=256).
    pub distance: u32,
}

/// How [`HammingIndex::query_with`] searches. All strategies return identical results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Strategy {
    /// Choose by the measured cost model (what [`HammingIndex::query`] does).
    #[default]
    Auto,
    /// Multi-index hashing over the 16 chunk tables.
    MultiIndex,
    /// SIMD brute-force scan of all stored hashes.
    Scan,
}

/// An exact Hamming-radius index over 256-bit hashes with caller-supplied `u64` ids.
///
/// `Send + Sync`: queries take `&self` and can run on many threads; inserts and deletes take
/// `&mut self` (wrap it in a `RwLock` to serve both).
#[derive(Clone)]
pub struct HammingIndex {
    /// Stored hashes, dense by slot.
    hashes: Vec<[u64; 4]>,
    /// Slot -> external id.
    ids: Vec<u64>,
    /// External id -> slot.
    slots: slots::SlotTable,
    /// `CHUNKS * BUCKETS` posting lists of slots; list `chunk * BUCKETS + key`.
    buckets: Vec<Vec<u32>>,
}

impl Default for HammingIndex {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for HammingIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HammingIndex")
            .field("len", &self.len())
            .field("memory_bytes", &self.memory_bytes())
            .finish()
    }
}

/// The 16-bit chunk `i` of a hash: the reference's word `w[i]`.
#[inline(always)]
fn chunk(hash: &[u64; 4], i: usize) -> usize {
    ((hash[i >> 2] >> ((i & 3) * 16)) & 0xffff) as usize
}

/// Per-chunk thresholds for a radius: `q` for the first `a + 1` chunks, `q - 1` after
/// (negative: the chunk is not probed). Clamped to 16, where a chunk matches everything.
fn thresholds(radius: u32) -> [i32; CHUNKS] {
    let radius = radius.min(256);
    let q = (radius / 16) as i32;
    let a = (radius % 16) as usize;
    let mut t = [0i32; CHUNKS];
    for (i, t) in t.iter_mut().enumerate() {
        *t = if i <= a { q } else { q - 1 }.min(16);
    }
    t
}

/// All 16-bit masks ordered by popcount, and `prefix[w]` = number of masks of popcount < w.
/// The buckets within threshold `t` of key `k` are `k ^ masks[..prefix[t + 1]]`.
fn masks_by_weight() -> &'static (Vec<u16>, [usize; 18]) {
    static MASKS: OnceLock<(Vec<u16>, [usize; 18])> = OnceLock::new();
    MASKS.get_or_init(|| {
        let mut masks: Vec<u16> = (0..=u16::MAX).collect();
        masks.sort_by_key(|mask| (mask.count_ones(), *mask));
        let mut prefix = [0usize; 18];
        for weight in 0..=16u32 {
            let below = masks.iter().filter(|m| m.count_ones() < weight).count();
            prefix[weight as usize] = below;
        }
        prefix[17] = masks.len();
        (masks, prefix)
    })
}

/// Buckets probed by multi-index search at this radius (all chunks).
fn probed_buckets(radius: u32) -> usize {
    let (_, prefix) = masks_by_weight();
    thresholds(radius)
        .iter()
        .filter(|&&t| t >= 0)
        .map(|&t| prefix[t as usize + 1])
        .sum()
}

/// Hints the CPU to load the cache line holding `pointer`.
#[inline(always)]
fn prefetch<T>(pointer: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint: it never faults and does not dereference in the
    // language's sense, whatever the address. SSE is part of the x86_64 baseline.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(pointer.cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = pointer;
}

impl HammingIndex {
    /// An empty index.
    pub fn new() -> Self {
        HammingIndex {
            hashes: Vec::new(),
            ids: Vec::new(),
            slots: slots::SlotTable::new(),
            buckets: vec![Vec::new(); CHUNKS * BUCKETS],
        }
    }

    /// Builds an index from `(id, hash)` pairs in one go; for a repeated id the last pair wins.
    ///
    /// The 16 chunk tables are filled in parallel (rayon) by a counting pass, so every posting
    /// list is allocated once at its exact size.
    pub fn build(items: Vec<(u64, Hash256)>) -> Self {
        let mut slots = slots::SlotTable::with_capacity(items.len());
        let mut hashes: Vec<[u64; 4]> = Vec::with_capacity(items.len());
        let mut ids: Vec<u64> = Vec::with_capacity(items.len());
        for (id, hash) in items {
            match slots.get(id, &ids) {
                Some(slot) => hashes[slot as usize] = hash.limbs(),
                None => {
                    slots.insert_new(id, Self::slot_number(hashes.len()));
                    hashes.push(hash.limbs());
                    ids.push(id);
                }
            }
        }
        // Filled in place (no per-chunk intermediate vectors that the allocator would keep).
        let mut buckets: Vec<Vec<u32>> = vec![Vec::new(); CHUNKS * BUCKETS];
        buckets
            .par_chunks_mut(BUCKETS)
            .enumerate()
            .for_each(|(i, lists)| {
                let mut counts = vec![0u32; BUCKETS];
                for hash in &hashes {
                    counts[chunk(hash, i)] += 1;
                }
                for (list, &count) in lists.iter_mut().zip(&counts) {
                    *list = Vec::with_capacity(count as usize);
                }
                for (slot, hash) in hashes.iter().enumerate() {
                    lists[chunk(hash, i)].push(slot as u32);
                }
            });
        HammingIndex {
            hashes,
            ids,
            slots,
            buckets,
        }
    }

    /// Slot numbers are `u32` (posting lists hold 4 bytes per entry). 4 billion hashes would
    /// need 400+ GB, so this limit is never met in practice; passing it is a capacity
    /// overflow, like `Vec`'s.
    fn slot_number(len: usize) -> u32 {
        match u32::try_from(len) {
            Ok(slot) if slot < u32::MAX => slot,
            _ => panic!("HammingIndex holds at most u32::MAX - 1 hashes"),
        }
    }

    /// Number of stored hashes.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Whether no hash is stored.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Whether `id` is stored.
    pub fn contains(&self, id: u64) -> bool {
        self.slots.get(id, &self.ids).is_some()
    }

    /// The hash stored for `id`.
    pub fn get(&self, id: u64) -> Option<Hash256> {
        self.slots
            .get(id, &self.ids)
            .map(|slot| Hash256::from_limbs(self.hashes[slot as usize]))
    }

    /// Iterates over the stored `(id, hash)` pairs in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, Hash256)> + '_ {
        self.ids
            .iter()
            .zip(&self.hashes)
            .map(|(&id, &limbs)| (id, Hash256::from_limbs(limbs)))
    }

    /// Adds `id` with `hash`; if `id` is already stored its hash is replaced.
    /// Cost: 16 posting-list appends (and removals when replacing), no rebuild.
    pub fn insert(&mut self, id: u64, hash: Hash256) {
        let limbs = hash.limbs();
        if let Some(slot) = self.slots.get(id, &self.ids) {
            let old = self.hashes[slot as usize];
            if old == limbs {
                return;
            }
            for i in 0..CHUNKS {
                let (from, to) = (chunk(&old, i), chunk(&limbs, i));
                if from != to {
                    self.unlist(i, from, slot);
                    self.list(i, to, slot);
                }
            }
            self.hashes[slot as usize] = limbs;
            return;
        }
        let slot = Self::slot_number(self.hashes.len());
        self.hashes.push(limbs);
        self.ids.push(id);
        self.slots.insert_new(id, slot);
        for i in 0..CHUNKS {
            self.list(i, chunk(&limbs, i), slot);
        }
    }

    /// Appends `slot` to a posting list, growing it by 25% (not 100%) when full: lists
    /// built at exact size would otherwise double on the first insert.
    fn list(&mut self, i: usize, key: usize, slot: u32) {
        let list = &mut self.buckets[i * BUCKETS + key];
        if list.len() == list.capacity() {
            list.reserve_exact((list.len() / 4).max(4));
        }
        list.push(slot);
    }

    /// Removes `slot` from a posting list (order inside a list does not matter).
    fn unlist(&mut self, i: usize, key: usize, slot: u32) {
        let list = &mut self.buckets[i * BUCKETS + key];
        if let Some(position) = list.iter().position(|&s| s == slot) {
            list.swap_remove(position);
        }
    }

    /// Renames `from` to `to` in a posting list.
    fn relist(&mut self, i: usize, key: usize, from: u32, to: u32) {
        let list = &mut self.buckets[i * BUCKETS + key];
        if let Some(entry) = list.iter_mut().find(|s| **s == from) {
            *entry = to;
        }
    }

    /// Removes `id`; returns whether it was stored. The last slot moves into the freed one,
    /// so the hash array stays dense (16 posting entries of the moved hash are renamed).
    pub fn remove(&mut self, id: u64) -> bool {
        let Some(slot) = self.slots.remove(id, &self.ids) else {
            return false;
        };
        let hash = self.hashes[slot as usize];
        for i in 0..CHUNKS {
            self.unlist(i, chunk(&hash, i), slot);
        }
        let last = (self.hashes.len() - 1) as u32;
        if slot != last {
            let moved = self.hashes[last as usize];
            for i in 0..CHUNKS {
                self.relist(i, chunk(&moved, i), last, slot);
            }
            // Re-point the moved id while `ids[last]` still names it (the table checks it).
            let moved_id = self.ids[last as usize];
            self.slots.set_slot(moved_id, slot, &self.ids);
            self.hashes.swap_remove(slot as usize);
            self.ids.swap_remove(slot as usize);
        } else {
            self.hashes.pop();
            self.ids.pop();
        }
        true
    }

    /// Releases spare capacity left by deletes and incremental growth.
    pub fn shrink_to_fit(&mut self) {
        self.hashes.shrink_to_fit();
        self.ids.shrink_to_fit();
        for list in &mut self.buckets {
            list.shrink_to_fit();
        }
    }

    /// Heap bytes owned by the index (capacities, not lengths): hashes, ids, the id table,
    /// posting lists and their headers. Allocator bookkeeping is not included.
    pub fn memory_bytes(&self) -> usize {
        let postings: usize = self.buckets.iter().map(|list| list.capacity() * 4).sum();
        self.hashes.capacity() * std::mem::size_of::<[u64; 4]>()
            + self.ids.capacity() * std::mem::size_of::<u64>()
            + self.slots.memory_bytes()
            + self.buckets.capacity() * std::mem::size_of::<Vec<u32>>()
            + postings
    }

    /// Every stored hash within `radius` of `query`, sorted by `(distance, id)`.
    /// Chooses multi-index search or the scan automatically ([`Strategy::Auto`]).
    pub fn query(&self, query: &Hash256, radius: u32) -> Vec<Neighbour> {
        self.query_with(query, radius, Strategy::Auto)
    }

    /// [`HammingIndex::query`] with a chosen strategy (identical results).
    pub fn query_with(&self, query: &Hash256, radius: u32, strategy: Strategy) -> Vec<Neighbour> {
        let mut found = Vec::new();
        self.query_slots(query, radius, strategy, &mut found);
        let mut neighbours: Vec<Neighbour> = found
            .into_iter()
            .map(|(slot, distance)| Neighbour {
                id: self.ids[slot as usize],
                distance,
            })
            .collect();
        neighbours.sort_unstable_by_key(|n| (n.distance, n.id));
        neighbours
    }

    /// The strategy [`Strategy::Auto`] picks for this radius at the current size.
    pub fn auto_strategy(&self, radius: u32) -> Strategy {
        let n = self.len() as f64;
        let buckets = probed_buckets(radius) as f64;
        // Uniform hashes: each probed bucket holds n / 65536 entries on average.
        let candidates = n * buckets / BUCKETS as f64;
        let multi_index = COST_BUCKET_NS * buckets + COST_CANDIDATE_NS * candidates;
        let scan = COST_SCAN_NS * n;
        if multi_index < scan {
            Strategy::MultiIndex
        } else {
            Strategy::Scan
        }
    }

    /// Appends unsorted `(slot, distance)` pairs; slots index [`HammingIndex::hashes`].
    fn query_slots(
        &self,
        query: &Hash256,
        radius: u32,
        strategy: Strategy,
        out: &mut Vec<(u32, u32)>,
    ) {
        let strategy = match strategy {
            Strategy::Auto => self.auto_strategy(radius),
            chosen => chosen,
        };
        match strategy {
            Strategy::Scan | Strategy::Auto => brute_force_scan(&self.hashes, query, radius, out),
            Strategy::MultiIndex => self.multi_index(&query.limbs(), radius, out),
        }
    }

    /// The dense hash array, by slot (what the scan reads).
    pub fn hashes(&self) -> &[[u64; 4]] {
        &self.hashes
    }

    fn multi_index(&self, query: &[u64; 4], radius: u32, out: &mut Vec<(u32, u32)>) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: the CPU supports popcnt (checked just above).
            unsafe { self.multi_index_popcnt(query, radius, out) };
            return;
        }
        self.multi_index_generic(query, radius, out);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    fn multi_index_popcnt(&self, query: &[u64; 4], radius: u32, out: &mut Vec<(u32, u32)>) {
        self.multi_index_generic(query, radius, out);
    }

    /// Multi-index search; `#[inline(always)]` so that the popcnt wrapper compiles it with
    /// the hardware popcount.
    #[inline(always)]
    fn multi_index_generic(&self, query: &[u64; 4], radius: u32, out: &mut Vec<(u32, u32)>) {
        let radius = radius.min(256);
        let t = thresholds(radius);
        let (masks, prefix) = masks_by_weight();
        let mut candidates: Vec<u32> = Vec::new();
        // candidates_end[i]: number of candidates found through chunks 0..=i.
        let mut candidates_end = [0usize; CHUNKS];
        if probed_buckets(radius) <= PREFETCH_LISTS_MAX {
            // Gather the probed posting lists of every chunk first, prefetching their headers
            // and then their data: the 272 (radius 31) list reads are independent, so issuing
            // them together overlaps their cache misses instead of paying them one by one.
            let mut lists: Vec<&[u32]> = Vec::new();
            // lists_end[i]: number of lists gathered up to and including chunk i.
            let mut lists_end = [0usize; CHUNKS];
            for i in 0..CHUNKS {
                if t[i] >= 0 {
                    let key = chunk(query, i);
                    let table = &self.buckets[i * BUCKETS..(i + 1) * BUCKETS];
                    for &mask in &masks[..prefix[t[i] as usize + 1]] {
                        let list = &table[key ^ mask as usize];
                        prefetch(std::ptr::from_ref(list));
                        lists.push(list);
                    }
                }
                lists_end[i] = lists.len();
            }
            for list in &lists {
                prefetch(list.as_ptr());
            }
            let mut start = 0;
            for (i, &end) in lists_end.iter().enumerate() {
                for list in &lists[start..end] {
                    candidates.extend_from_slice(list);
                }
                start = end;
                candidates_end[i] = candidates.len();
            }
        } else {
            // Very large radii probe up to a million lists; stream them instead.
            for i in 0..CHUNKS {
                if t[i] >= 0 {
                    let key = chunk(query, i);
                    let table = &self.buckets[i * BUCKETS..(i + 1) * BUCKETS];
                    for &mask in &masks[..prefix[t[i] as usize + 1]] {
                        candidates.extend_from_slice(&table[key ^ mask as usize]);
                    }
                }
                candidates_end[i] = candidates.len();
            }
        }
        // Verify in one pass, prefetching the hash PREFETCH_AHEAD candidates ahead: this loop
        // is bound by random reads of the hash array, not by the popcounts.
        let mut i = 0;
        for (k, &slot) in candidates.iter().enumerate() {
            while k >= candidates_end[i] {
                i += 1;
            }
            if let Some(&ahead) = candidates.get(k + PREFETCH_AHEAD) {
                prefetch(self.hashes[ahead as usize].as_ptr());
            }
            let hash = &self.hashes[slot as usize];
            let d = scan::distance(hash, query);
            if d <= radius && self.first_chunk_within(hash, query, &t, i) {
                out.push((slot, d));
            }
        }
    }

    /// Whether chunk `i` is the first chunk within its threshold for this (matching) hash,
    /// i.e. the chunk responsible for reporting it.
    #[inline(always)]
    fn first_chunk_within(
        &self,
        hash: &[u64; 4],
        query: &[u64; 4],
        t: &[i32; CHUNKS],
        i: usize,
    ) -> bool {
        (0..i).all(|j| {
            let d = ((chunk(hash, j) ^ chunk(query, j)) as u32).count_ones() as i32;
            d > t[j]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_follow_the_pigeonhole_rule() {
        for radius in 0..=300u32 {
            let t = thresholds(radius);
            // If every chunk exceeded its threshold the distance would be radius + 1 or more.
            let minimum_excess: i32 = t.iter().map(|&t| t + 1).sum();
            assert!(minimum_excess as u32 > radius.min(256) || radius >= 256);
        }
        assert_eq!(probed_buckets(31), 16 * 17);
        assert_eq!(probed_buckets(0), 1);
        assert_eq!(probed_buckets(15), 16);
        assert_eq!(probed_buckets(47), 16 * 137);
    }

    #[test]
    fn small_sets_scan_and_large_sets_use_multi_index() {
        let index = HammingIndex::new();
        assert_eq!(index.auto_strategy(31), Strategy::Scan);
        let items = (0..20_000u64)
            .map(|i| {
                let x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
                (
                    i,
                    Hash256::from_limbs([x, x.rotate_left(17), !x, x ^ 0x5555]),
                )
            })
            .collect();
        let index = HammingIndex::build(items);
        assert_eq!(index.auto_strategy(31), Strategy::MultiIndex);
        assert_eq!(index.auto_strategy(63), Strategy::Scan);
        assert_eq!(index.auto_strategy(256), Strategy::Scan);
    }
}
