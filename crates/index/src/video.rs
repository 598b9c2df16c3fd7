//! Matching a video's vPDQ hash against many banked videos without comparing every pair of
//! frames.
//!
//! # The rule, and why an index gives exactly its answer
//!
//! vPDQ's match rule (`takedown_signals::vpdq`) keeps the frames of quality at least 50,
//! counts each distinct hash once, and says a query frame matches a video when *some* frame
//! of that video is within distance 31 (and the other way round). The videos match when at
//! least 80% of the query's frames and 80% of the banked video's frames match.
//!
//! Both counts are unions of per-frame neighbour sets, so they can be computed from radius
//! searches alone. Every banked video's kept, distinct frame hashes go into one
//! [`HammingIndex`] under the id `(slot << 32) | frame` (`slot` a dense number for the
//! video, `frame` the position among its kept frames). A query then searches once per query
//! frame and, for each banked video that appears among the neighbours, records
//!
//! * that this query frame matched it (each query frame counted once per video), and
//! * which of its frames were hit (a set, so a frame hit by many query frames counts once).
//!
//! Those are exactly the two numerators of the brute-force rule, and the denominators are the
//! number of kept query frames and the banked video's kept frame count, so the percentages
//! are the brute force's to the last bit (`tests/video_model.rs` checks it on random videos
//! with near-duplicate frames, low-quality frames and repeated hashes, across inserts and
//! removals). Cost: one radius search per distinct query frame (a one-hour video at the
//! default one frame per second is 3,600 searches) plus work proportional to the hits; no
//! pairwise comparison of whole videos.
//!
//! The quality floor is applied when a video is inserted, so it is fixed for the index
//! ([`VideoIndex::new`]); the distance and both percentages come from the same
//! [`VpdqMatchConfig`].

use crate::{HammingIndex, Hash256};
use std::collections::HashMap;
use takedown_signals::vpdq::{matching_frames, VpdqComparison, VpdqFeature, VpdqMatchConfig};

/// One banked video compared with a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VideoMatch {
    /// The id given to [`VideoIndex::insert`].
    pub video_id: u64,
    /// Frame counts behind the two percentages.
    pub comparison: VpdqComparison,
}

impl VideoMatch {
    /// Percentage of the query's kept frames with a match in this video.
    pub fn query_percent(&self) -> f64 {
        self.comparison.query_percent()
    }

    /// Percentage of this video's kept frames with a match in the query.
    pub fn compared_percent(&self) -> f64 {
        self.comparison.compared_percent()
    }
}

/// A banked video: its dense slot and its kept, distinct frame hashes.
#[derive(Debug, Clone)]
struct Banked {
    slot: u32,
    frames: Vec<Hash256>,
}

/// vPDQ hashes of banked videos, searchable by query video.
///
/// Inserts and removals are incremental (one index insert or delete per kept frame).
#[derive(Clone)]
pub struct VideoIndex {
    config: VpdqMatchConfig,
    frames: HammingIndex,
    videos: HashMap<u64, Banked>,
    /// Slot -> video id, `None` for a free slot.
    slots: Vec<Option<u64>>,
    free: Vec<u32>,
}

impl std::fmt::Debug for VideoIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoIndex")
            .field("config", &self.config)
            .field("videos", &self.videos.len())
            .field("frames", &self.frames.len())
            .finish_non_exhaustive()
    }
}

impl Default for VideoIndex {
    fn default() -> Self {
        VideoIndex::new(VpdqMatchConfig::default())
    }
}

/// Frame position within a video from a frame-index id.
fn frame_of(id: u64) -> u32 {
    id as u32
}

fn slot_of(id: u64) -> u32 {
    (id >> 32) as u32
}

fn frame_id(slot: u32, frame: u32) -> u64 {
    (u64::from(slot) << 32) | u64::from(frame)
}

impl VideoIndex {
    /// An empty index applying `config` (quality floor at insert, the rest at query).
    pub fn new(config: VpdqMatchConfig) -> Self {
        VideoIndex {
            config,
            frames: HammingIndex::new(),
            videos: HashMap::new(),
            slots: Vec::new(),
            free: Vec::new(),
        }
    }

    /// The rule this index applies.
    pub fn config(&self) -> &VpdqMatchConfig {
        &self.config
    }

    /// Changes the distance and the two percentages (the quality floor is fixed at creation
    /// because it decides which frames were stored).
    pub fn set_thresholds(&mut self, distance: u32, query_percent: f64, compared_percent: f64) {
        self.config.distance_threshold = distance;
        self.config.query_match_percent = query_percent;
        self.config.compared_match_percent = compared_percent;
    }

    /// Number of banked videos (including those without a frame of sufficient quality, which
    /// can never match).
    pub fn len(&self) -> usize {
        self.videos.len()
    }

    /// Whether no video is banked.
    pub fn is_empty(&self) -> bool {
        self.videos.is_empty()
    }

    /// Number of frame hashes stored (kept, distinct frames over all videos).
    pub fn frame_count(&self) -> usize {
        self.frames.len()
    }

    /// Whether `video_id` is banked.
    pub fn contains(&self, video_id: u64) -> bool {
        self.videos.contains_key(&video_id)
    }

    /// Banks a video under `video_id`, replacing what was stored under that id. Returns the
    /// number of frames kept for matching.
    ///
    /// # Panics
    /// If a single video keeps more than 2^32 distinct frames (over a thousand years at one
    /// frame per second), or more than 2^32 videos are banked.
    pub fn insert(&mut self, video_id: u64, features: &[VpdqFeature]) -> usize {
        self.remove(video_id);
        let frames = matching_frames(features, self.config.quality_threshold);
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                let slot = u32::try_from(self.slots.len()).expect("fewer than 2^32 videos");
                self.slots.push(None);
                slot
            }
        };
        self.slots[slot as usize] = Some(video_id);
        for (frame, hash) in frames.iter().enumerate() {
            let frame = u32::try_from(frame).expect("fewer than 2^32 frames per video");
            self.frames.insert(frame_id(slot, frame), *hash);
        }
        let kept = frames.len();
        self.videos.insert(video_id, Banked { slot, frames });
        kept
    }

    /// Removes a banked video; returns whether it was there.
    pub fn remove(&mut self, video_id: u64) -> bool {
        let Some(banked) = self.videos.remove(&video_id) else {
            return false;
        };
        for frame in 0..banked.frames.len() {
            self.frames.remove(frame_id(banked.slot, frame as u32));
        }
        self.slots[banked.slot as usize] = None;
        self.free.push(banked.slot);
        true
    }

    /// Banked videos that match the query under the index's rule, best first (by the smaller
    /// of the two percentages, then the larger, then id).
    pub fn query(&self, query: &[VpdqFeature]) -> Vec<VideoMatch> {
        let config = self.config;
        let mut matches: Vec<VideoMatch> = self
            .compare_all(query)
            .into_iter()
            .filter(|m| m.comparison.is_match(&config))
            .collect();
        matches.sort_by(best_first);
        matches
    }

    /// A query matched as it is and through its query-side `variants` (the same video with
    /// a mirror or bars undone, [`takedown_signals::vpdq::VideoVariant`]) under the same
    /// rule. Each banked video keeps its best match, with the variant that gave it (`None`:
    /// the query as it is, preferred on a tie), best first as [`VideoIndex::query`] orders.
    pub fn query_with_variants(
        &self,
        query: &[VpdqFeature],
        variants: &[&[VpdqFeature]],
    ) -> Vec<(Option<usize>, VideoMatch)> {
        let mut best: HashMap<u64, (Option<usize>, VideoMatch)> = (self.query(query).into_iter())
            .map(|found| (found.video_id, (None, found)))
            .collect();
        for (v, variant) in variants.iter().enumerate() {
            for found in self.query(variant) {
                match best.get(&found.video_id) {
                    Some((_, current)) if rank(&found) <= rank(current) => {}
                    _ => {
                        best.insert(found.video_id, (Some(v), found));
                    }
                }
            }
        }
        let mut all: Vec<(Option<usize>, VideoMatch)> = best.into_values().collect();
        all.sort_by(|a, b| best_first(&a.1, &b.1));
        all
    }

    /// The comparison with every banked video that shares at least one matching frame with
    /// the query, whether or not it reaches the percentages (sorted by video id). Videos
    /// not listed have 0% on both sides.
    pub fn compare_all(&self, query: &[VpdqFeature]) -> Vec<VideoMatch> {
        let query_frames = matching_frames(query, self.config.quality_threshold);
        /// Per banked video (by slot): query frames that matched it, and its frames hit.
        struct Hits {
            last_query_frame: usize,
            query_matched: usize,
            frames_hit: Vec<u32>,
        }
        let mut hits: HashMap<u32, Hits> = HashMap::new();
        for (position, hash) in query_frames.iter().enumerate() {
            for neighbour in self.frames.query(hash, self.config.distance_threshold) {
                let slot = slot_of(neighbour.id);
                let entry = hits.entry(slot).or_insert(Hits {
                    last_query_frame: usize::MAX,
                    query_matched: 0,
                    frames_hit: Vec::new(),
                });
                if entry.last_query_frame != position {
                    entry.last_query_frame = position;
                    entry.query_matched += 1;
                }
                entry.frames_hit.push(frame_of(neighbour.id));
            }
        }
        let mut out: Vec<VideoMatch> = hits
            .into_iter()
            .filter_map(|(slot, mut hit)| {
                let video_id = self.slots.get(slot as usize).copied().flatten()?;
                let banked = self.videos.get(&video_id)?;
                hit.frames_hit.sort_unstable();
                hit.frames_hit.dedup();
                Some(VideoMatch {
                    video_id,
                    comparison: VpdqComparison {
                        query_frames: query_frames.len(),
                        query_matched: hit.query_matched,
                        compared_frames: banked.frames.len(),
                        compared_matched: hit.frames_hit.len(),
                    },
                })
            })
            .collect();
        out.sort_unstable_by_key(|m| m.video_id);
        out
    }

    /// The kept, distinct frame hashes stored for a video (what its percentages count).
    pub fn frames_of(&self, video_id: u64) -> Option<&[Hash256]> {
        self.videos.get(&video_id).map(|b| b.frames.as_slice())
    }

    /// Heap bytes of the frame index plus the per-video frame lists (approximate: hash map
    /// overhead not included).
    pub fn memory_bytes(&self) -> usize {
        self.frames.memory_bytes()
            + self
                .videos
                .values()
                .map(|b| b.frames.capacity() * std::mem::size_of::<Hash256>())
                .sum::<usize>()
            + self.slots.capacity() * std::mem::size_of::<Option<u64>>()
    }
}

/// How good a match is: the smaller of its two percentages, then the larger.
fn rank(m: &VideoMatch) -> (f64, f64) {
    let (q, c) = (m.query_percent(), m.compared_percent());
    (q.min(c), q.max(c))
}

/// Best first by [`rank`], then by video id (so the order never depends on hashing).
fn best_first(a: &VideoMatch, b: &VideoMatch) -> std::cmp::Ordering {
    let (ka, kb) = (rank(a), rank(b));
    kb.0.total_cmp(&ka.0)
        .then(kb.1.total_cmp(&ka.1))
        .then(a.video_id.cmp(&b.video_id))
}
