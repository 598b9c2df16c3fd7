//! Neutral placeholder wording for the Latin text on generated images: the layout of a
//! statement or news card without any real organisation, slogan or claim.

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

const OUTLETS: &[&str] = &[
    "NEWS AGENCY",
    "DAILY BULLETIN",
    "MEDIA OFFICE",
    "PRESS DESK",
    "RADIO ONE",
    "CHANNEL 7",
    "WEEKLY REVIEW",
    "INFO CENTRE",
];

const KINDS: &[&str] = &[
    "STATEMENT",
    "REPORT",
    "BULLETIN",
    "RELEASE",
    "UPDATE",
    "NOTICE",
    "ISSUE",
    "EDITION",
];

const LOREM: &[&str] = &[
    "LOREM",
    "IPSUM",
    "DOLOR",
    "SIT",
    "AMET",
    "CONSECTETUR",
    "ADIPISCING",
    "ELIT",
    "SED",
    "DO",
    "EIUSMOD",
    "TEMPOR",
    "INCIDIDUNT",
    "UT",
    "LABORE",
    "ET",
    "DOLORE",
    "MAGNA",
    "ALIQUA",
    "ENIM",
    "AD",
    "MINIM",
    "VENIAM",
    "QUIS",
    "NOSTRUD",
    "REGION",
    "DISTRICT",
    "SECTOR",
    "NORTH",
    "SOUTH",
];

/// An outlet-like name ("NEWS AGENCY").
pub fn outlet(rng: &mut ChaCha8Rng) -> &'static str {
    OUTLETS.choose(rng).expect("non-empty list")
}

/// A numbered headline ("STATEMENT 17").
pub fn headline(rng: &mut ChaCha8Rng) -> String {
    let kind = KINDS.choose(rng).expect("non-empty list");
    format!("{kind} {}", rng.gen_range(1..400))
}

/// A date in one of the formats such cards use.
pub fn date(rng: &mut ChaCha8Rng) -> String {
    let (d, m) = (rng.gen_range(1..=28), rng.gen_range(1..=12));
    if rng.gen_bool(0.5) {
        format!("{d:02}.{m:02}.{}", rng.gen_range(2014..=2024))
    } else {
        format!("{}/{m:02}/{d:02}", rng.gen_range(1435..=1446))
    }
}

/// A clock time ("21:07").
pub fn time(rng: &mut ChaCha8Rng) -> String {
    format!("{:02}:{:02}", rng.gen_range(0..24), rng.gen_range(0..60))
}

/// `n` lorem-like words separated by spaces.
pub fn lorem(rng: &mut ChaCha8Rng, n: usize) -> String {
    (0..n)
        .map(|_| *LOREM.choose(rng).expect("non-empty list"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Lorem-like words filling at most `chars` characters.
pub fn lorem_fitting(rng: &mut ChaCha8Rng, chars: usize) -> String {
    let mut line = String::new();
    loop {
        let word = LOREM.choose(rng).expect("non-empty list");
        if line.len() + word.len() + 1 > chars {
            if line.is_empty() {
                line.push_str(&word[..chars.min(word.len())]);
            }
            return line;
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
}
