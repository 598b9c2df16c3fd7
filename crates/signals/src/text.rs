//! Text fingerprints: a digest of the normalised text, and a near-duplicate signature that
//! finds a statement after small edits, with a header or footer added, quoted inside a longer
//! post or cut short, in Arabic and Latin scripts.
//!
//! # Normalisation ([`normalize`])
//!
//! NFKD, Latin lookalikes from Cyrillic and Greek, case folding, no diacritics (tashkeel,
//! accents), no tatweel, no zero-width or bidi control characters, unified Arabic letter
//! variants (alef, ya, ta marbuta, kaf, heh forms; Arabic-Indic digits), punctuation and
//! whitespace of any script folded to single spaces. The steps and why each is there are
//! in `text/normalize.rs`. [`digest`] is the SHA-256 of the normalised text: equal digests
//! mean the same words in the same order, whatever the presentation.
//!
//! # Signature ([`TextSignature`])
//!
//! The set of word 3-grams ("shingles") of the normalised text, each hashed to 32 bits
//! (FNV-1a of the UTF-8 of the three words joined by spaces, through the SplitMix64
//! finaliser, top 32 bits), sorted. A text of fewer than three words is one shingle. The
//! whole set is kept, not a MinHash sketch of it, because the questions asked of it are
//! about containment, which MinHash answers badly:
//!
//! * "quoted inside a longer post" and "header or footer added": most of the *banked*
//!   statement's shingles are in the query, however long the query is. MinHash estimates
//!   the Jaccard index `|A ∩ B| / |A ∪ B|`, which a ten-times longer post drives towards
//!   0.1, where a 128-value sketch has a relative error of about 25% and LSH banding would
//!   need bands so narrow that every query hits half the bank.
//! * "cut short": most of the *query's* shingles are in the banked statement.
//!
//! A statement of 1 KB has about 170 shingles: 680 bytes, comparable to a 128 x 32-bit
//! MinHash, and exact. Word shingles make the signature blind to word order only within
//! three words, so reordering sentences costs two or three shingles per moved sentence,
//! and an edited word costs at most three.
//!
//! # Match rule ([`TextComparison`], [`TextMatchConfig`])
//!
//! With a weight `w(s)` per shingle, `W(X)` the total weight of a set and `Q`, `B` the query
//! and banked shingle sets:
//!
//! * banked containment `W(Q ∩ B) / W(B)` (header, footer, quoted in a longer post),
//! * query containment `W(Q ∩ B) / W(Q)` (truncation),
//! * **score** = the larger of the two; a match needs `score >= threshold` and
//!   `W(Q ∩ B) >= min_shared` (so that a query of a few words, or one consisting of
//!   boilerplate, cannot match by containment alone).
//!
//! **Boilerplate.** Two statements from one outlet that share only their opening and closing
//! formulas must not match. Compared alone ([`compare`]), every shingle weighs 1 and the
//! formulas count like any other words; in a bank (`takedown_index::text`), a shingle found
//! in `df` banked statements weighs `1 / df`. Formulas repeated across an outlet's
//! statements then weigh almost nothing, while a statement's own words weigh 1. Near-copies
//! of one statement banked several times are not hurt: all their shared shingles are
//! down-weighted alike, which leaves their containment unchanged. The weights are learnt
//! from the bank itself, with no list of phrases to maintain.
//!
//! The default threshold ([`DEFAULT_THRESHOLD`]) and minimum shared weight
//! ([`DEFAULT_MIN_SHARED`]) are calibrated in `bench/text` (see `docs/benchmarks.md`): at
//! most one false match per million unrelated and boilerplate-sharing pairs, then recall
//! per edit.

mod confusables;
mod normalize;

use crate::SignalAlgorithm;
use base64::Engine as _;
use sha2::Digest as _;

/// The algorithm tag of the normalised-text digest. The version changes whenever the
/// normalisation does.
pub const DIGEST_ALGORITHM: SignalAlgorithm = SignalAlgorithm {
    signal_type: "text_sha256",
    version: 1,
};

/// The algorithm tag of the shingle signature.
pub const SIGNATURE_ALGORITHM: SignalAlgorithm = SignalAlgorithm {
    signal_type: "text_shingles",
    version: 1,
};

/// Words per shingle.
pub const SHINGLE_WORDS: usize = 3;

/// Default score threshold (see `docs/benchmarks.md`, Text).
pub const DEFAULT_THRESHOLD: f64 = 0.5;

/// Default minimum shared weight: about this many shared word 3-grams not counting
/// boilerplate.
pub const DEFAULT_MIN_SHARED: f64 = 4.0;

/// Why bytes or a signature text could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TextError {
    /// The bytes are not UTF-8.
    #[error("text is not valid UTF-8: invalid byte sequence at byte offset {offset}")]
    InvalidUtf8 {
        /// Offset of the first byte of the invalid sequence.
        offset: usize,
    },
    /// A signature's text form is malformed.
    #[error("text signature: {reason}")]
    BadSignature {
        /// What is wrong.
        reason: String,
    },
}

/// Checks that `bytes` are UTF-8; the error names the offset of the first bad byte.
pub fn decode_utf8(bytes: &[u8]) -> Result<&str, TextError> {
    std::str::from_utf8(bytes).map_err(|e| TextError::InvalidUtf8 {
        offset: e.valid_up_to(),
    })
}

/// The normalised text: tokens joined by single spaces (see the module docs).
pub fn normalize(text: &str) -> String {
    normalize::normalize(text)
}

/// SHA-256 (lowercase hex) of the normalised text.
pub fn digest(text: &str) -> String {
    hex_digest(&normalize(text))
}

fn hex_digest(normalized: &str) -> String {
    let hash = sha2::Sha256::digest(normalized.as_bytes());
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// The shingle signature of a text: sorted, distinct 32-bit hashes of its word 3-grams.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct TextSignature {
    shingles: Vec<u32>,
}

impl TextSignature {
    /// The signature of `text` (normalised first).
    pub fn from_text(text: &str) -> Self {
        let mut words: Vec<String> = Vec::new();
        normalize::tokens(text, |token| words.push(token.to_string()));
        Self::from_words(&words)
    }

    /// The signature of already-normalised words.
    fn from_words(words: &[String]) -> Self {
        let mut shingles: Vec<u32> = if words.len() < SHINGLE_WORDS {
            if words.is_empty() {
                Vec::new()
            } else {
                vec![shingle_hash(words)]
            }
        } else {
            words.windows(SHINGLE_WORDS).map(shingle_hash).collect()
        };
        shingles.sort_unstable();
        shingles.dedup();
        TextSignature { shingles }
    }

    /// A signature from shingle hashes (sorted and deduplicated here).
    pub fn from_shingles(mut shingles: Vec<u32>) -> Self {
        shingles.sort_unstable();
        shingles.dedup();
        TextSignature { shingles }
    }

    /// The sorted, distinct shingle hashes.
    pub fn shingles(&self) -> &[u32] {
        &self.shingles
    }

    /// Number of distinct shingles.
    pub fn len(&self) -> usize {
        self.shingles.len()
    }

    /// Whether the text had no word at all.
    pub fn is_empty(&self) -> bool {
        self.shingles.is_empty()
    }

    /// Canonical text form: standard base64 (with padding) of the shingle hashes as
    /// big-endian 32-bit numbers in ascending order. The empty signature is the empty string.
    pub fn to_text(&self) -> String {
        let bytes: Vec<u8> = self.shingles.iter().flat_map(|s| s.to_be_bytes()).collect();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// Parses [`TextSignature::to_text`]'s form. Hashes must be strictly ascending (the
    /// canonical form), so a damaged or hand-made signature is caught rather than fixed.
    pub fn parse(text: &str) -> Result<Self, TextError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| TextError::BadSignature {
                reason: format!("not base64: {e}"),
            })?;
        if bytes.len() % 4 != 0 {
            return Err(TextError::BadSignature {
                reason: format!(
                    "{} bytes is not a whole number of 32-bit hashes",
                    bytes.len()
                ),
            });
        }
        let shingles: Vec<u32> = bytes
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        if let Some(position) = shingles.windows(2).position(|w| w[0] >= w[1]) {
            return Err(TextError::BadSignature {
                reason: format!(
                    "hashes not in strictly ascending order at position {}",
                    position + 1
                ),
            });
        }
        Ok(TextSignature { shingles })
    }
}

impl std::fmt::Display for TextSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl std::str::FromStr for TextSignature {
    type Err = TextError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        TextSignature::parse(text)
    }
}

/// FNV-1a (64-bit) of the words joined by single spaces, mixed by SplitMix64's finaliser
/// (FNV's low bits are weak), top 32 bits. Defined here byte for byte so that signatures
/// made anywhere agree.
fn shingle_hash(words: &[String]) -> u32 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            hash ^= u64::from(b' ');
            hash = hash.wrapping_mul(PRIME);
        }
        for &byte in word.as_bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    hash = (hash ^ (hash >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash = (hash ^ (hash >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^= hash >> 31;
    (hash >> 32) as u32
}

/// Everything takedown computes from one text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextFingerprint {
    /// The normalised text.
    pub normalized: String,
    /// SHA-256 of the normalised text, lowercase hex ([`DIGEST_ALGORITHM`]).
    pub digest: String,
    /// The shingle signature ([`SIGNATURE_ALGORITHM`]).
    pub signature: TextSignature,
}

/// Normalises once and computes the digest and the signature.
pub fn fingerprint(text: &str) -> TextFingerprint {
    let mut words: Vec<String> = Vec::new();
    normalize::tokens(text, |token| words.push(token.to_string()));
    let normalized = words.join(" ");
    TextFingerprint {
        digest: hex_digest(&normalized),
        signature: TextSignature::from_words(&words),
        normalized,
    }
}

/// [`fingerprint`] of bytes that must be UTF-8.
pub fn fingerprint_bytes(bytes: &[u8]) -> Result<TextFingerprint, TextError> {
    Ok(fingerprint(decode_utf8(bytes)?))
}

/// Parameters of the match rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextMatchConfig {
    /// A match needs `score >= threshold` (0..=1).
    pub threshold: f64,
    /// A match needs a shared weight of at least this.
    pub min_shared: f64,
}

impl Default for TextMatchConfig {
    fn default() -> Self {
        TextMatchConfig {
            threshold: DEFAULT_THRESHOLD,
            min_shared: DEFAULT_MIN_SHARED,
        }
    }
}

/// The weights behind one comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextComparison {
    /// Weight of the shingles in both texts.
    pub shared: f64,
    /// Weight of the query's shingles.
    pub query_weight: f64,
    /// Weight of the banked statement's shingles.
    pub banked_weight: f64,
}

impl TextComparison {
    /// Share of the banked statement found in the query.
    pub fn banked_containment(&self) -> f64 {
        ratio(self.shared, self.banked_weight)
    }

    /// Share of the query found in the banked statement.
    pub fn query_containment(&self) -> f64 {
        ratio(self.shared, self.query_weight)
    }

    /// The larger containment.
    pub fn score(&self) -> f64 {
        self.banked_containment().max(self.query_containment())
    }

    /// Whether the rule says match.
    pub fn is_match(&self, config: &TextMatchConfig) -> bool {
        self.shared > 0.0 && self.shared >= config.min_shared && self.score() >= config.threshold
    }
}

fn ratio(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        (part / whole).min(1.0)
    } else {
        0.0
    }
}

/// Compares two signatures with every shingle weighing 1.
pub fn compare(query: &TextSignature, banked: &TextSignature) -> TextComparison {
    compare_weighted(query.shingles(), banked.shingles(), |_| 1.0)
}

/// Compares two sorted shingle sets under a weight function. Sums run in ascending shingle
/// order, so any two callers with the same weights get the same bits.
pub fn compare_weighted(
    query: &[u32],
    banked: &[u32],
    weight: impl Fn(u32) -> f64,
) -> TextComparison {
    compare_with_query_weight(query, query_weight(query, &weight), banked, weight)
}

/// The total weight of sorted shingles, summed in ascending order (what
/// [`compare_weighted`] uses for the query).
pub fn query_weight(query: &[u32], weight: impl Fn(u32) -> f64) -> f64 {
    query.iter().map(|&s| weight(s)).sum()
}

/// [`compare_weighted`] with the query's total weight computed once by [`query_weight`]
/// (for comparing one query with many banked statements).
pub fn compare_with_query_weight(
    query: &[u32],
    query_weight: f64,
    banked: &[u32],
    weight: impl Fn(u32) -> f64,
) -> TextComparison {
    let mut banked_weight = 0.0;
    let mut shared = 0.0;
    let mut q = query.iter().peekable();
    for &s in banked {
        let w = weight(s);
        banked_weight += w;
        while q.next_if(|&&x| x < s).is_some() {}
        if q.peek() == Some(&&s) {
            shared += w;
        }
    }
    TextComparison {
        shared,
        query_weight,
        banked_weight,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arabic_normalisation_folds_diacritics_tatweel_variants_and_forms() {
        // Tashkeel, tatweel, alef with hamza, ta marbuta, alef maqsura.
        assert_eq!(normalize("إِنَّ الْمَدْرَسَةَ كَبِيرَةٌ"), normalize("ان المدرسه كبيره"));
        assert_eq!(normalize("كـــتـــاب"), "كتاب");
        assert_eq!(normalize("أحمد إلى آخر"), "احمد الي اخر");
        assert_eq!(normalize("مستشفى"), "مستشفي");
        // Presentation forms (isolated/final glyphs and the lam-alef ligature).
        assert_eq!(normalize("\u{FEE3}\u{FEE4}\u{FEEA} \u{FEFB}"), "ممه لا");
        // Farsi yeh and keheh; Arabic-Indic and Persian digits.
        assert_eq!(normalize("کتابی ١٢٣ ۴۵"), "كتابي 123 45");
    }

    #[test]
    fn latin_normalisation_folds_case_accents_homoglyphs_and_punctuation() {
        assert_eq!(normalize("  Café,  CRÈME—brûlée!!  "), "cafe creme brulee");
        // Cyrillic а/е/о/р/с and Greek ο in otherwise Latin words.
        assert_eq!(normalize("Thе pаrcеl wаs οpened"), "the parcel was opened");
        assert_eq!(normalize("ΝΟΤΕ"), "note");
        // Full-width, ligatures, small capitals, German sharp s.
        assert_eq!(
            normalize("ＦＵＬＬ ﬁne ᴄᴀᴘs Straße"),
            "full fine caps strasse"
        );
    }

    #[test]
    fn invisible_characters_vanish_without_splitting_words() {
        let plain = "the quick brown fox";
        let noisy = "the qu\u{200B}ick\u{200F} \u{202E}brown\u{202C} f\u{00AD}o\u{FEFF}x\u{2066}";
        assert_eq!(normalize(noisy), plain);
        assert_eq!(normalize("مر\u{200C}حبا\u{061C}"), "مرحبا");
        assert_eq!(digest(noisy), digest(plain));
        assert_ne!(digest("the quick brown cat"), digest(plain));
    }

    #[test]
    fn invalid_utf8_names_the_offset() {
        let err = fingerprint_bytes(b"abc \xff def").unwrap_err();
        assert_eq!(err, TextError::InvalidUtf8 { offset: 4 });
        assert!(err.to_string().contains("byte offset 4"));
        assert!(fingerprint_bytes("ok".as_bytes()).is_ok());
    }

    #[test]
    fn signature_text_round_trips_and_rejects_damage() {
        let signature = TextSignature::from_text("one two three four five six seven");
        assert_eq!(signature.len(), 5);
        let text = signature.to_text();
        assert_eq!(TextSignature::parse(&text).unwrap(), signature);
        assert_eq!(text.parse::<TextSignature>().unwrap().to_text(), text);
        assert_eq!(TextSignature::parse("").unwrap(), TextSignature::default());
        assert!(TextSignature::parse("not base64!").is_err());
        assert!(TextSignature::parse("AAAAAA==").is_ok()); // one hash, 0
        assert!(TextSignature::parse("AAAA").is_err()); // 3 bytes
        assert!(TextSignature::parse("AAAAAAA=").is_err()); // 5 bytes
        assert!(TextSignature::parse("AAAAAQAAAAE=").is_err()); // 1, 1: not ascending
        assert_eq!(TextSignature::from_text("a b").len(), 1);
        assert!(TextSignature::from_text(" ,. ").is_empty());
    }

    #[test]
    fn shingle_hash_is_pinned() {
        // Changing the hash changes every stored signature: this value must never move
        // without a new SIGNATURE_ALGORITHM version.
        let words: Vec<String> = ["the", "quick", "fox"].map(String::from).to_vec();
        assert_eq!(shingle_hash(&words), shingle_hash(&words));
        assert_eq!(format!("{:08x}", shingle_hash(&words)), PINNED);
    }
    const PINNED: &str = "bad32f2d";

    #[test]
    fn containment_finds_quotes_and_truncations() {
        let statement = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima";
        let banked = TextSignature::from_text(statement);
        let quoted = TextSignature::from_text(&format!(
            "{} {statement} {}",
            "mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray",
            "yankee zulu one two three four five six seven eight nine ten eleven twelve"
        ));
        let c = compare(&quoted, &banked);
        assert_eq!(c.banked_containment(), 1.0);
        assert!(c.query_containment() < 0.5);
        let config = TextMatchConfig::default();
        assert!(c.is_match(&config));
        let cut = TextSignature::from_text(
            "alpha bravo charlie delta echo foxtrot golf hotel india juliet",
        );
        assert_eq!(compare(&cut, &banked).query_containment(), 1.0);
        assert!(compare(&cut, &banked).is_match(&config));
        let other = TextSignature::from_text("one two three four five six seven eight nine ten");
        assert!(!compare(&other, &banked).is_match(&config));
        // Too little shared, however complete the containment.
        let tiny = TextSignature::from_text("alpha bravo charlie delta");
        assert!(!compare(&tiny, &banked).is_match(&config));
    }
}
