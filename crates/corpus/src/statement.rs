//! Seeded placeholder statements for tests and the demo: the length and the mix of Latin and
//! Arabic script of a media office's claim, in a neutral vocabulary that claims nothing.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const VOCABULARY: &[&str] = &[
    "office",
    "statement",
    "region",
    "release",
    "brothers",
    "city",
    "morning",
    "convoy",
    "bridge",
    "northern",
    "announces",
    "media",
    "wilayah",
    "بيان",
    "المكتب",
    "الإعلامي",
    "ولاية",
    "صباح",
    "اليوم",
    "القافلة",
    "الجسر",
    "الشمالية",
    "مدينة",
    "إصدار",
];

/// `words` words drawn from the placeholder vocabulary by the seed, separated by spaces.
pub fn statement(words: usize, seed: u64) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..words)
        .map(|_| VOCABULARY[rng.gen_range(0..VOCABULARY.len())])
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_is_a_function_of_its_seed() {
        assert_eq!(statement(40, 3), statement(40, 3));
        assert_ne!(statement(40, 3), statement(40, 4));
        assert_eq!(statement(40, 3).split(' ').count(), 40);
    }
}
