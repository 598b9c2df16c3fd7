//! The audio index against the brute-force rule: equal on every guaranteed alignment (the
//! stated candidate guarantee), through random insert/remove sequences, on random and
//! perturbed fingerprints.

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use takedown_index::audio::{brute_force_search, AudioIndex, AudioIndexConfig, Candidates};
use takedown_signals::audio::silence_sub_fingerprint;

/// Fingerprint-like values: a slowly changing 32-bit state (neighbouring sub-fingerprints
/// share most bits, as real ones do), with the silence value now and then.
fn fingerprint(rng: &mut ChaCha8Rng, len: usize) -> Vec<u32> {
    let mut value: u32 = rng.gen();
    (0..len)
        .map(|_| {
            if rng.gen_ratio(1, 40) {
                return silence_sub_fingerprint();
            }
            for _ in 0..rng.gen_range(0..6) {
                value ^= 1 << rng.gen_range(0..32);
            }
            value
        })
        .collect()
}

/// An excerpt of `source` with each bit flipped with probability `p`.
fn perturbed(rng: &mut ChaCha8Rng, source: &[u32], start: usize, len: usize, p: f64) -> Vec<u32> {
    source[start..(start + len).min(source.len())]
        .iter()
        .map(|&v| {
            let mut v = v;
            for bit in 0..32 {
                if rng.gen_bool(p) {
                    v ^= 1 << bit;
                }
            }
            v
        })
        .collect()
}

fn config(max_ber: f64, min_overlap: usize, probe_radius: u32) -> AudioIndexConfig {
    AudioIndexConfig {
        max_ber,
        min_overlap,
        probe_radius,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn index_equals_brute_force_on_guaranteed_alignments(
        seed in any::<u64>(),
        radius in 0u32..=2,
        max_ber in 0.05f64..0.45,
        flip in 0.0f64..0.3,
        operations in 1usize..30,
    ) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let config = config(max_ber, 20, radius);
        let mut index = AudioIndex::new(config.clone());
        let mut model: Vec<(u64, Vec<u32>)> = Vec::new();
        for _ in 0..operations {
            if !model.is_empty() && rng.gen_ratio(1, 4) {
                let k = rng.gen_range(0..model.len());
                let (id, _) = model.swap_remove(k);
                prop_assert!(index.remove(id));
            } else {
                let id = rng.gen_range(0..40u64);
                let len = rng.gen_range(0..300);
                let fp = fingerprint(&mut rng, len);
                let replaced = model.iter().position(|(i, _)| *i == id);
                prop_assert_eq!(index.insert(id, &fp), replaced.is_some());
                if let Some(k) = replaced {
                    model.swap_remove(k);
                }
                model.push((id, fp));
            }
        }
        prop_assert_eq!(index.len(), model.len());
        let items: Vec<(u64, &[u32])> = model.iter().map(|(id, fp)| (*id, fp.as_slice())).collect();
        for _ in 0..4 {
            let query = match model.get(rng.gen_range(0..model.len().max(1))) {
                Some((_, source)) if !source.is_empty() && rng.gen_bool(0.8) => {
                    let start = rng.gen_range(0..source.len());
                    let len = rng.gen_range(1..120);
                    perturbed(&mut rng, source, start, len, flip)
                }
                _ => fingerprint(&mut rng, 80),
            };
            let expected = brute_force_search(&items, &query, &config, Candidates::Guaranteed);
            prop_assert_eq!(index.search(&query), expected.clone());
            prop_assert_eq!(index.brute_force(&query, Candidates::Guaranteed), expected);
        }
    }
}

#[test]
fn a_lightly_perturbed_excerpt_is_found_exactly_as_brute_force_finds_it() {
    // Below the corollary's bound (BER < 2 (r + 1) / 32 with nothing silent) the guaranteed
    // rule and the full rule agree, so the index equals the full brute force.
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let config = config(0.2, 40, 1);
    let mut index = AudioIndex::new(config.clone());
    let silence = silence_sub_fingerprint();
    let mut bank = Vec::new();
    for id in 0..50u64 {
        let fp: Vec<u32> = fingerprint(&mut rng, 2400)
            .into_iter()
            .map(|v| if v == silence { v ^ 1 } else { v })
            .collect();
        index.insert(id, &fp);
        bank.push((id, fp));
    }
    let query = perturbed(&mut rng, &bank[17].1, 1000, 80, 0.05);
    let found = index.search(&query);
    let items: Vec<(u64, &[u32])> = bank.iter().map(|(id, fp)| (*id, fp.as_slice())).collect();
    assert_eq!(
        found,
        brute_force_search(&items, &query, &config, Candidates::All)
    );
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].id, found[0].offset, found[0].overlap),
        (17, 1000, 80)
    );
    assert!(found[0].ber() < 0.1);
}

#[test]
fn silence_proposes_nothing_and_removal_forgets_everything() {
    let silence = silence_sub_fingerprint();
    let mut index = AudioIndex::new(AudioIndexConfig::default());
    index.insert(1, &vec![silence; 500]);
    assert!(index.search(&vec![silence; 100]).is_empty());
    // The full rule would call it a perfect match: the guarantee excludes silent pairs.
    assert_eq!(
        index
            .brute_force(&vec![silence; 100], Candidates::All)
            .len(),
        1
    );

    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let fp = fingerprint(&mut rng, 300);
    index.insert(2, &fp);
    assert_eq!(index.search(&fp[100..180])[0].id, 2);
    assert!(index.remove(2));
    assert!(!index.remove(2));
    assert!(index.search(&fp[100..180]).is_empty());
    assert_eq!(index.len(), 1);
}

#[test]
fn variants_keep_each_items_best() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let a = fingerprint(&mut rng, 400);
    let mut index = AudioIndex::new(AudioIndexConfig::default());
    index.insert(5, &a);
    let good = a[50..150].to_vec();
    let noisy = perturbed(&mut rng, &a, 50, 100, 0.2);
    let found = index.search_variants(&[&noisy, &good]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, 1);
    assert_eq!(found[0].1.bit_errors, 0);
}

#[test]
fn a_threshold_given_per_search_replaces_the_configured_one() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let a = fingerprint(&mut rng, 400);
    let mut index = AudioIndex::new(config(0.3, 40, 1));
    index.insert(5, &a);
    // About 10% of the bits flipped: within 0.3, not within 0.05.
    let noisy = perturbed(&mut rng, &a, 100, 80, 0.1);
    let found = index.search(&noisy);
    assert_eq!(found.len(), 1, "{found:?}");
    let ber = found[0].ber();
    assert!(ber > 0.05 && ber <= 0.3, "{ber}");
    assert_eq!(index.search_at(&noisy, 0.3), found);
    assert!(index.search_at(&noisy, 0.05).is_empty());
    assert_eq!(index.search_at(&noisy, ber), found);
    assert!(index.search_variants_at(&[&noisy], 0.05).is_empty());
    assert_eq!(index.search_variants_at(&[&noisy], 0.3)[0].1, found[0]);
}
