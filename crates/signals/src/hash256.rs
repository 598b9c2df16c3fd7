//! A 256-bit binary hash (PDQ, and vPDQ frames) with the reference's hex text format.
//!
//! Bit order follows Meta's `Hash256`: bit `k` (k = 16*row + column of the 16x16 DCT block) is
//! bit `k & 15` of 16-bit word `k >> 4`, and the hex text prints the words from 15 down to 0.
//! The text is therefore the 256-bit number in big-endian order. We store it as four 64-bit
//! limbs, least significant first, so that bit `k` is bit `k % 64` of `limbs[k / 64]`.

use std::fmt;
use std::str::FromStr;

/// A 256-bit hash. `Ord` sorts by the numeric value, matching the hex text's lexical order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Hash256 {
    limbs: [u64; 4],
}

/// Why a string is not a valid 256-bit hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseHashError {
    /// The text has the wrong number of characters.
    #[error("expected 64 hexadecimal digits, found {found} characters")]
    WrongLength {
        /// Number of characters found.
        found: usize,
    },
    /// A character that is not a hexadecimal digit.
    #[error("character {character:?} at position {position} is not a hexadecimal digit")]
    NotHex {
        /// The offending character.
        character: char,
        /// Zero-based character position in the text.
        position: usize,
    },
}

impl Hash256 {
    /// Number of bits in the hash.
    pub const BITS: u32 = 256;

    /// The all-zero hash (what the reference returns for images too small to hash).
    pub const ZERO: Hash256 = Hash256 { limbs: [0; 4] };

    /// Builds a hash from four 64-bit limbs, least significant first.
    pub const fn from_limbs(limbs: [u64; 4]) -> Self {
        Hash256 { limbs }
    }

    /// The four 64-bit limbs, least significant first.
    pub const fn limbs(&self) -> [u64; 4] {
        self.limbs
    }

    /// The sixteen 16-bit words of the reference's `Hash256`, `w[0]` first.
    pub fn words16(&self) -> [u16; 16] {
        let mut words = [0u16; 16];
        for (index, word) in words.iter_mut().enumerate() {
            *word = (self.limbs[index / 4] >> (16 * (index % 4))) as u16;
        }
        words
    }

    /// Builds a hash from the reference's sixteen 16-bit words, `w[0]` first.
    pub fn from_words16(words: [u16; 16]) -> Self {
        let mut limbs = [0u64; 4];
        for (index, word) in words.iter().enumerate() {
            limbs[index / 4] |= u64::from(*word) << (16 * (index % 4));
        }
        Hash256 { limbs }
    }

    /// Sets bit `k` (0..256).
    pub fn set_bit(&mut self, k: usize) {
        self.limbs[k / 64] |= 1u64 << (k % 64);
    }

    /// Whether bit `k` (0..256) is set.
    pub fn bit(&self, k: usize) -> bool {
        (self.limbs[k / 64] >> (k % 64)) & 1 == 1
    }

    /// Number of set bits.
    pub fn count_ones(&self) -> u32 {
        self.limbs.iter().map(|limb| limb.count_ones()).sum()
    }

    /// Hamming distance to another hash (0..=256).
    pub fn distance(&self, other: &Hash256) -> u32 {
        (self.limbs[0] ^ other.limbs[0]).count_ones()
            + (self.limbs[1] ^ other.limbs[1]).count_ones()
            + (self.limbs[2] ^ other.limbs[2]).count_ones()
            + (self.limbs[3] ^ other.limbs[3]).count_ones()
    }

    /// Lowercase hex text, 64 digits, as the reference prints it.
    pub fn to_hex(&self) -> String {
        format!(
            "{:016x}{:016x}{:016x}{:016x}",
            self.limbs[3], self.limbs[2], self.limbs[1], self.limbs[0]
        )
    }

    /// Parses 64 hex digits (either case). Surrounding whitespace is not accepted: callers trim.
    pub fn from_hex(text: &str) -> Result<Self, ParseHashError> {
        let found = text.chars().count();
        if found != 64 || text.len() != 64 {
            // A multi-byte character would make byte length and char count differ; report chars.
            if let Some((position, character)) = text
                .chars()
                .enumerate()
                .find(|(_, c)| !c.is_ascii_hexdigit())
            {
                if found == 64 {
                    return Err(ParseHashError::NotHex {
                        character,
                        position,
                    });
                }
            }
            return Err(ParseHashError::WrongLength { found });
        }
        let mut limbs = [0u64; 4];
        for (position, character) in text.chars().enumerate() {
            let nibble = character.to_digit(16).ok_or(ParseHashError::NotHex {
                character,
                position,
            })? as u64;
            let bit_from_top = 4 * position;
            let limb = 3 - bit_from_top / 64;
            let shift = 60 - (bit_from_top % 64);
            limbs[limb] |= nibble << shift;
        }
        Ok(Hash256 { limbs })
    }
}

impl PartialOrd for Hash256 {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Hash256 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.limbs.iter().rev().cmp(other.limbs.iter().rev())
    }
}

impl fmt::Display for Hash256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash256({})", self.to_hex())
    }
}

impl FromStr for Hash256 {
    type Err = ParseHashError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Hash256::from_hex(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_keeps_reference_bit_order() {
        // Coefficient (0,0) is the lowest bit of the last hex digit.
        let mut hash = Hash256::ZERO;
        hash.set_bit(0);
        assert_eq!(
            hash.to_hex(),
            "0000000000000000000000000000000000000000000000000000000000000001"
        );
        let mut hash = Hash256::ZERO;
        hash.set_bit(255);
        assert_eq!(&hash.to_hex()[..1], "8");
        let text = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";
        let parsed = Hash256::from_hex(text).unwrap();
        assert_eq!(parsed.to_hex(), text);
        assert_eq!(parsed.words16()[15], 0xd8f8);
        assert_eq!(parsed.words16()[0], 0x9b22);
        assert_eq!(Hash256::from_words16(parsed.words16()), parsed);
        assert_eq!(parsed.count_ones(), 128);
    }

    #[test]
    fn malformed_hex_names_the_problem() {
        assert_eq!(
            Hash256::from_hex("abc"),
            Err(ParseHashError::WrongLength { found: 3 })
        );
        let mut text = "0".repeat(63);
        text.push('g');
        assert_eq!(
            Hash256::from_hex(&text),
            Err(ParseHashError::NotHex {
                character: 'g',
                position: 63
            })
        );
        let mut text = "0".repeat(63);
        text.push('é');
        assert!(matches!(
            Hash256::from_hex(&text),
            Err(ParseHashError::NotHex { position: 63, .. })
        ));
    }

    #[test]
    fn distance_counts_differing_bits() {
        let a = Hash256::from_limbs([0, 0, 0, 0]);
        let b = Hash256::from_limbs([u64::MAX, 1, 0, 3]);
        assert_eq!(a.distance(&b), 67);
        assert_eq!(b.distance(&b), 0);
    }
}
