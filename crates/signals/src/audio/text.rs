//! The canonical text form of an audio fingerprint, for storage, the API and exchange:
//!
//! ```text
//! audio:1:<base64url, no padding, of the sub-fingerprints as little-endian u32>
//! ```
//!
//! The header repeats the algorithm name and version ([`super::ALGORITHM`]) so that a string
//! can never be mistaken for a fingerprint of another algorithm. URL-safe base64 without padding
//! travels in query strings, JSON and CSV untouched; 10 s of audio is about 430 characters,
//! 5 minutes about 12,900. Chromaprint's own compressed form is smaller but is a lossy-looking
//! bit-packing that would tie the storage format to one tool; this one is trivial to read
//! anywhere.

use super::{AudioFingerprint, ALGORITHM};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::fmt;
use std::str::FromStr;

/// Most sub-fingerprints a text form may hold when parsed: 2^21, about 72 hours of audio
/// (a 11 MiB string). Longer input is refused before it is decoded.
pub const MAX_TEXT_SUB_FINGERPRINTS: usize = 1 << 21;

/// Why a string is not an audio fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseAudioFingerprintError {
    /// The string does not start with `<type>:<version>:`.
    #[error("not an audio fingerprint: expected \"audio:1:<base64url>\"")]
    MissingHeader,
    /// The header names another signal type.
    #[error("fingerprint is of type {found:?}, expected \"audio\"")]
    WrongType {
        /// The type in the header.
        found: String,
    },
    /// The header names a version this build does not know.
    #[error("audio fingerprint version {found:?} is not supported (this build reads version 1)")]
    UnsupportedVersion {
        /// The version in the header.
        found: String,
    },
    /// The payload is not URL-safe base64 without padding.
    #[error("audio fingerprint payload is not base64url: {detail}")]
    BadBase64 {
        /// What the decoder reported.
        detail: String,
    },
    /// The payload's length is not a whole number of 32-bit values.
    #[error("audio fingerprint payload is {bytes} bytes, not a multiple of 4")]
    BadLength {
        /// Decoded bytes.
        bytes: usize,
    },
    /// The payload holds no sub-fingerprints.
    #[error("audio fingerprint is empty")]
    Empty,
    /// The payload is over [`MAX_TEXT_SUB_FINGERPRINTS`].
    #[error("audio fingerprint is longer than {limit} sub-fingerprints")]
    TooLong {
        /// The limit.
        limit: usize,
    },
}

impl AudioFingerprint {
    /// The canonical text form (`audio:1:...`).
    pub fn to_text(&self) -> String {
        let mut bytes = Vec::with_capacity(self.sub_fingerprints.len() * 4);
        for value in &self.sub_fingerprints {
            bytes.extend_from_slice(&value.to_le_bytes());
        }
        format!(
            "{}:{}:{}",
            ALGORITHM.signal_type,
            ALGORITHM.version,
            URL_SAFE_NO_PAD.encode(bytes)
        )
    }

    /// Parses the canonical text form. Surrounding whitespace is ignored; an empty fingerprint
    /// is refused (it could only come from audio too short to fingerprint).
    pub fn from_text(text: &str) -> Result<Self, ParseAudioFingerprintError> {
        let mut parts = text.trim().splitn(3, ':');
        let (Some(kind), Some(version), Some(payload)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(ParseAudioFingerprintError::MissingHeader);
        };
        if kind != ALGORITHM.signal_type {
            return Err(ParseAudioFingerprintError::WrongType {
                found: kind.chars().take(40).collect(),
            });
        }
        if version != ALGORITHM.version.to_string() {
            return Err(ParseAudioFingerprintError::UnsupportedVersion {
                found: version.chars().take(40).collect(),
            });
        }
        // 4 bytes take 16/3 characters; check before decoding anything.
        if payload.len() / 16 * 3 > MAX_TEXT_SUB_FINGERPRINTS {
            return Err(ParseAudioFingerprintError::TooLong {
                limit: MAX_TEXT_SUB_FINGERPRINTS,
            });
        }
        let bytes =
            URL_SAFE_NO_PAD
                .decode(payload)
                .map_err(|e| ParseAudioFingerprintError::BadBase64 {
                    detail: e.to_string(),
                })?;
        if bytes.len() % 4 != 0 {
            return Err(ParseAudioFingerprintError::BadLength { bytes: bytes.len() });
        }
        if bytes.is_empty() {
            return Err(ParseAudioFingerprintError::Empty);
        }
        if bytes.len() / 4 > MAX_TEXT_SUB_FINGERPRINTS {
            return Err(ParseAudioFingerprintError::TooLong {
                limit: MAX_TEXT_SUB_FINGERPRINTS,
            });
        }
        let sub_fingerprints = bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok(AudioFingerprint { sub_fingerprints })
    }
}

impl fmt::Display for AudioFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl FromStr for AudioFingerprint {
    type Err = ParseAudioFingerprintError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        AudioFingerprint::from_text(text)
    }
}
