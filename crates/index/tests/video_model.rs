//! Property tests: the video index against the pairwise (brute-force) vPDQ match rule.
//!
//! Videos are drawn from a few shared "scenes" with a varying number of flipped bits, so that
//! frames of different videos fall on both sides of the distance threshold; qualities straddle
//! the floor of 50 and hashes repeat within a video (static scenes), which the rule counts once.

use proptest::prelude::*;
use std::collections::BTreeMap;
use takedown_index::video::{VideoIndex, VideoMatch};
use takedown_index::Hash256;
use takedown_signals::vpdq::{self, VpdqFeature, VpdqMatchConfig};

fn scenes() -> Vec<Hash256> {
    (0..6u64)
        .map(|i| {
            let mut x = 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(i + 1);
            let mut limbs = [0u64; 4];
            for limb in &mut limbs {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *limb = x;
            }
            Hash256::from_limbs(limbs)
        })
        .collect()
}

/// A frame: one of the scenes with 0..48 bits flipped (around the threshold of 31).
fn frame_strategy() -> impl Strategy<Value = (Hash256, u8)> {
    let quality = prop_oneof![Just(0u8), Just(49), Just(50), Just(80), Just(100)];
    (
        0..6usize,
        prop::collection::vec(0..256usize, 0..48),
        quality,
    )
        .prop_map(|(scene, flips, quality)| {
            let mut limbs = scenes()[scene].limbs();
            for bit in flips {
                limbs[bit / 64] ^= 1 << (bit % 64);
            }
            (Hash256::from_limbs(limbs), quality)
        })
}

/// A video: frames, some repeated several times in a row.
fn video_strategy() -> impl Strategy<Value = Vec<VpdqFeature>> {
    prop::collection::vec((frame_strategy(), 1..4usize), 0..12).prop_map(|runs| {
        let mut features = Vec::new();
        for ((hash, quality), repeat) in runs {
            for _ in 0..repeat {
                let n = features.len() as u64;
                features.push(VpdqFeature {
                    frame_number: n,
                    hash,
                    quality,
                    timestamp: n as f64,
                });
            }
        }
        features
    })
}

#[derive(Debug, Clone)]
enum Op {
    Insert(u64, Vec<VpdqFeature>),
    Remove(u64),
    Query(Vec<VpdqFeature>),
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..10u64, video_strategy()).prop_map(|(id, v)| Op::Insert(id, v)),
        1 => (0..10u64).prop_map(Op::Remove),
        3 => video_strategy().prop_map(Op::Query),
    ]
}

/// The brute-force answer: the pairwise rule against every banked video, keeping those that
/// share at least one matching frame, sorted by id.
fn model_compare(
    model: &BTreeMap<u64, Vec<VpdqFeature>>,
    query: &[VpdqFeature],
    config: &VpdqMatchConfig,
) -> Vec<VideoMatch> {
    model
        .iter()
        .map(|(&video_id, video)| VideoMatch {
            video_id,
            comparison: vpdq::compare(query, video, config),
        })
        .filter(|m| m.comparison.compared_matched > 0)
        .collect()
}

fn check(index: &VideoIndex, model: &BTreeMap<u64, Vec<VpdqFeature>>, query: &[VpdqFeature]) {
    let config = *index.config();
    let expected = model_compare(model, query, &config);
    assert_eq!(index.compare_all(query), expected);
    // Matching in one direction implies matching in the other, so the filter above loses
    // nothing: a video with no frame hit has 0% on both sides.
    for m in &expected {
        assert!(m.comparison.query_matched > 0);
    }
    let mut expected_ids: Vec<u64> = expected
        .iter()
        .filter(|m| m.comparison.is_match(&config))
        .map(|m| m.video_id)
        .collect();
    let mut got: Vec<u64> = index.query(query).iter().map(|m| m.video_id).collect();
    expected_ids.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, expected_ids);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn index_agrees_with_pairwise_rule(ops in prop::collection::vec(op_strategy(), 1..40)) {
        for config in [
            VpdqMatchConfig::default(),
            VpdqMatchConfig {
                distance_threshold: 20,
                quality_threshold: 0,
                query_match_percent: 50.0,
                compared_match_percent: 0.0,
            },
        ] {
            let mut index = VideoIndex::new(config);
            let mut model: BTreeMap<u64, Vec<VpdqFeature>> = BTreeMap::new();
            for op in &ops {
                match op {
                    Op::Insert(id, video) => {
                        let kept = index.insert(*id, video);
                        assert_eq!(kept, vpdq::matching_frames(video, config.quality_threshold).len());
                        model.insert(*id, video.clone());
                    }
                    Op::Remove(id) => {
                        assert_eq!(index.remove(*id), model.remove(id).is_some());
                    }
                    Op::Query(query) => check(&index, &model, query),
                }
                assert_eq!(index.len(), model.len());
            }
            // Every banked video queried with itself (and the rest of the bank).
            for video in model.values() {
                check(&index, &model, video);
            }
        }
    }
}

/// A video of full-quality frames, each one of the scenes by index.
fn video_of(frames: &[usize]) -> Vec<VpdqFeature> {
    let scenes = scenes();
    frames
        .iter()
        .enumerate()
        .map(|(n, &s)| VpdqFeature {
            frame_number: n as u64,
            hash: scenes[s],
            quality: 100,
            timestamp: n as f64,
        })
        .collect()
}

#[test]
fn a_video_matches_itself_and_its_excerpt_but_not_a_stranger() {
    let mut index = VideoIndex::default();
    index.insert(1, &video_of(&[0, 1, 2, 3, 4]));
    index.insert(2, &video_of(&[5, 5, 5]));
    assert_eq!(index.frame_count(), 6);
    let hits = index.query(&video_of(&[0, 1, 2, 3, 4]));
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].video_id, 1);
    assert_eq!(hits[0].query_percent(), 100.0);
    // An excerpt: 100% of the query but 60% of the banked video, under the 80% default.
    let excerpt = video_of(&[1, 2, 3]);
    assert!(index.query(&excerpt).is_empty());
    let all = index.compare_all(&excerpt);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].compared_percent(), 60.0);
    // With the compared-side percentage relaxed (HMA's default is 0) it matches.
    index.set_thresholds(31, 80.0, 0.0);
    assert_eq!(index.query(&excerpt).len(), 1);
    assert!(index.remove(1));
    assert!(index.query(&excerpt).is_empty());
    assert_eq!(index.frame_count(), 1);
}

#[test]
fn variants_find_what_the_plain_query_misses_and_the_plain_query_wins_ties() {
    let mut index = VideoIndex::default();
    index.insert(1, &video_of(&[0, 1, 2]));
    index.insert(2, &video_of(&[3, 4]));
    // The query as it is looks like nothing banked; its second variant is video 1.
    let plain = video_of(&[5, 5, 5]);
    let (stranger, undone) = (video_of(&[5]), video_of(&[0, 1, 2]));
    let found = index.query_with_variants(&plain, &[&stranger, &undone]);
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].0, found[0].1.video_id), (Some(1), 1));
    // When the plain query already matches as well as a variant, it is reported as plain.
    let found = index.query_with_variants(&video_of(&[3, 4]), &[&video_of(&[3, 4]), &undone]);
    let mut got: Vec<(Option<usize>, u64)> = found.iter().map(|(v, m)| (*v, m.video_id)).collect();
    got.sort_unstable_by_key(|(_, id)| *id);
    assert_eq!(got, vec![(Some(1), 1), (None, 2)]);
    // Without variants it is exactly `query`.
    let plain_only: Vec<u64> = (index.query_with_variants(&video_of(&[3, 4]), &[]).iter())
        .map(|(_, m)| m.video_id)
        .collect();
    assert_eq!(plain_only, vec![2]);
}
