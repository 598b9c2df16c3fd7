//! Property tests: the index against a brute-force model over random operation sequences.

use proptest::prelude::*;
use std::collections::BTreeMap;
use takedown_index::{HammingIndex, Hash256, Neighbour, Strategy as Search};

/// Centres that clustered hashes are drawn around (fixed, so clusters recur across cases).
fn centres() -> [Hash256; 4] {
    [
        Hash256::from_limbs([0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210, 0, u64::MAX]),
        Hash256::from_limbs([0xaaaa_aaaa_aaaa_aaaa; 4]),
        Hash256::from_limbs([
            0x5555_0000_ffff_1234,
            0x1,
            0x8000_0000_0000_0000,
            0xdead_beef,
        ]),
        Hash256::ZERO,
    ]
}

/// A uniform random hash, or a centre with a few (0..40) random bits flipped.
fn hash_strategy() -> impl proptest::strategy::Strategy<Value = Hash256> {
    prop_oneof![
        1 => any::<[u64; 4]>().prop_map(Hash256::from_limbs),
        4 => (0..4usize, prop::collection::vec(0..256usize, 0..40)).prop_map(|(c, flips)| {
            let mut limbs = centres()[c].limbs();
            for bit in flips {
                limbs[bit / 64] ^= 1 << (bit % 64);
            }
            Hash256::from_limbs(limbs)
        }),
    ]
}

#[derive(Debug, Clone)]
enum Op {
    Insert(u64, Hash256),
    Remove(u64),
    Query(Hash256, u32),
}

fn op_strategy() -> impl proptest::strategy::Strategy<Value = Op> {
    // Few ids, so that replacing, removing and re-inserting an id happen often.
    let radius = prop_oneof![4 => 0..=64u32, 1 => 65..=300u32];
    prop_oneof![
        5 => (0..24u64, hash_strategy()).prop_map(|(id, h)| Op::Insert(id, h)),
        2 => (0..24u64).prop_map(Op::Remove),
        3 => (hash_strategy(), radius).prop_map(|(h, r)| Op::Query(h, r)),
    ]
}

fn model_query(model: &BTreeMap<u64, Hash256>, query: &Hash256, radius: u32) -> Vec<Neighbour> {
    let mut out: Vec<Neighbour> = model
        .iter()
        .map(|(&id, h)| Neighbour {
            id,
            distance: h.distance(query),
        })
        .filter(|n| n.distance <= radius)
        .collect();
    out.sort_by_key(|n| (n.distance, n.id));
    out
}

fn check_all_strategies(index: &HammingIndex, model: &BTreeMap<u64, Hash256>, q: &Hash256, r: u32) {
    let expected = model_query(model, q, r);
    for strategy in [Search::Auto, Search::MultiIndex, Search::Scan] {
        assert_eq!(
            index.query_with(q, r, strategy),
            expected,
            "{strategy:?} r={r}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn operation_sequences_match_brute_force(
        initial in prop::collection::vec((0..24u64, hash_strategy()), 0..30),
        ops in prop::collection::vec(op_strategy(), 1..120),
    ) {
        let mut model: BTreeMap<u64, Hash256> = BTreeMap::new();
        for (id, h) in &initial {
            model.insert(*id, *h);
        }
        let mut index = HammingIndex::build(initial);
        for op in ops {
            match op {
                Op::Insert(id, h) => {
                    model.insert(id, h);
                    index.insert(id, h);
                }
                Op::Remove(id) => {
                    prop_assert_eq!(index.remove(id), model.remove(&id).is_some());
                }
                Op::Query(q, r) => check_all_strategies(&index, &model, &q, r),
            }
            prop_assert_eq!(index.len(), model.len());
            prop_assert_eq!(index.is_empty(), model.is_empty());
        }
        for id in 0..24u64 {
            prop_assert_eq!(index.contains(id), model.contains_key(&id));
            prop_assert_eq!(index.get(id), model.get(&id).copied());
        }
        // Every stored hash finds itself (and its duplicates under other ids).
        for h in model.values() {
            check_all_strategies(&index, &model, h, 31);
        }
    }
}

#[test]
fn duplicate_hashes_under_different_ids_and_reinsert_after_delete() {
    let h = centres()[0];
    let mut index = HammingIndex::new();
    for id in 0..5 {
        index.insert(id, h);
    }
    let ids: Vec<u64> = index.query(&h, 0).iter().map(|n| n.id).collect();
    assert_eq!(ids, vec![0, 1, 2, 3, 4]);
    assert!(index.remove(2));
    assert!(!index.remove(2));
    index.insert(2, h);
    index.insert(3, centres()[1]);
    let found: Vec<u64> = index.query(&h, 0).iter().map(|n| n.id).collect();
    assert_eq!(found, vec![0, 1, 2, 4]);
    assert_eq!(index.len(), 5);
}

/// A larger, denser case than proptest can afford: 20k clustered hashes, many radii, with
/// deletes in between, against the scan.
#[test]
fn larger_clustered_set_matches_scan_at_many_radii() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
    let centres: Vec<[u64; 4]> = (0..50).map(|_| rng.gen()).collect();
    let mut items = Vec::new();
    for id in 0..20_000u64 {
        let mut limbs = centres[rng.gen_range(0..centres.len())];
        for _ in 0..rng.gen_range(0..48) {
            let bit = rng.gen_range(0..256);
            limbs[bit / 64] ^= 1 << (bit % 64);
        }
        items.push((id, Hash256::from_limbs(limbs)));
    }
    let mut model: BTreeMap<u64, Hash256> = items.iter().copied().collect();
    let mut index = HammingIndex::build(items.clone());
    for id in (0..20_000u64).step_by(7) {
        assert!(index.remove(id));
        model.remove(&id);
    }
    for (id, h) in items.iter().step_by(11).take(200) {
        index.insert(id + 1_000_000, *h);
        model.insert(id + 1_000_000, *h);
    }
    for (k, (_, h)) in items.iter().step_by(997).enumerate() {
        for r in [0, 8, 16, 31, 32, 47, 63, 64 + k as u32] {
            let expected = model_query(&model, h, r);
            assert_eq!(
                index.query_with(h, r, Search::MultiIndex),
                expected,
                "r={r}"
            );
            assert_eq!(index.query_with(h, r, Search::Scan), expected, "r={r}");
        }
    }
}

#[test]
fn index_is_send_and_sync_and_empty_queries_work() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<HammingIndex>();
    let index = HammingIndex::default();
    assert!(index.is_empty());
    for strategy in [Search::Auto, Search::MultiIndex, Search::Scan] {
        assert!(index.query_with(&Hash256::ZERO, 256, strategy).is_empty());
    }
    let built = HammingIndex::build(vec![(1, Hash256::ZERO), (1, centres()[1])]);
    assert_eq!(built.len(), 1, "a repeated id keeps the last hash");
    assert_eq!(built.get(1), Some(centres()[1]));
}
