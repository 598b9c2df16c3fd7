//! Signal types: the kinds of fingerprint a bank item can carry.

use std::fmt;
use std::str::FromStr;

/// A kind of fingerprint. The wire names are HMA's where HMA has one (`pdq`, `video_md5`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SignalType {
    /// PDQ, 256-bit perceptual image hash, matched by Hamming distance.
    Pdq,
    /// MD5 of the raw bytes of an image or any file, matched by equality.
    Md5,
    /// SHA-256 of the raw bytes, matched by equality.
    Sha256,
    /// MD5 of a video file's bytes (HMA's name for it), matched by equality.
    VideoMd5,
    /// vPDQ: PDQ of video frames, matched frame by frame then per video.
    Vpdq,
    /// Chromaprint-style audio fingerprint, matched by aligned bit-error rate.
    Audio,
    /// Digest of normalised text, matched by equality.
    TextDigest,
    /// Near-duplicate signature of normalised text, matched by similarity.
    TextMinhash,
}

impl SignalType {
    /// Every signal type.
    pub const ALL: [SignalType; 8] = [
        SignalType::Pdq,
        SignalType::Md5,
        SignalType::Sha256,
        SignalType::VideoMd5,
        SignalType::Vpdq,
        SignalType::Audio,
        SignalType::TextDigest,
        SignalType::TextMinhash,
    ];

    /// The wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            SignalType::Pdq => "pdq",
            SignalType::Md5 => "md5",
            SignalType::Sha256 => "sha256",
            SignalType::VideoMd5 => "video_md5",
            SignalType::Vpdq => "vpdq",
            SignalType::Audio => "audio",
            SignalType::TextDigest => "text_sha256",
            SignalType::TextMinhash => "text_minhash",
        }
    }

    /// Whether matching is by exact equality of the value (digests) rather than by distance.
    pub fn is_exact(self) -> bool {
        matches!(
            self,
            SignalType::Md5 | SignalType::Sha256 | SignalType::VideoMd5 | SignalType::TextDigest
        )
    }
}

/// A signal type name takedown does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown signal type {0:?}; known: pdq, md5, sha256, video_md5, vpdq, audio, text_sha256, text_minhash")]
pub struct UnknownSignalType(pub String);

impl FromStr for SignalType {
    type Err = UnknownSignalType;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let lower = text.trim().to_ascii_lowercase();
        SignalType::ALL
            .into_iter()
            .find(|kind| kind.as_str() == lower)
            .or(match lower.as_str() {
                // Names used by other tools for the same things.
                "sha-256" => Some(SignalType::Sha256),
                "md5_hash" => Some(SignalType::Md5),
                _ => None,
            })
            .ok_or(UnknownSignalType(text.to_string()))
    }
}

impl fmt::Display for SignalType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in SignalType::ALL {
            assert_eq!(kind.as_str().parse::<SignalType>().unwrap(), kind);
        }
        assert_eq!("PDQ".parse::<SignalType>().unwrap(), SignalType::Pdq);
        assert!("tmk".parse::<SignalType>().is_err());
    }
}
