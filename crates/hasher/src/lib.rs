//! The hasher: raw bytes in, every fingerprint takedown keeps out.
//!
//! This is the one place that decides what a file is and which signals it yields, so the CLI,
//! the HTTP API and the URL fetcher all fingerprint a file the same way. The digests (MD5,
//! SHA-256) are taken over the exact bytes given, in the same pass that feeds the decoder
//! (the bytes are read once, into memory, and both work from that buffer).
//!
//! Boundary: no file system, no network. Callers read the bytes (with their own size limits) and
//! hand them over; CPU-heavy work here is synchronous, so async callers run it on a blocking
//! thread.

use takedown_media::{DecodedImage, ImageFormat, ImageLimits, MediaError};
use takedown_signals::pdq::{self, Pdq, PdqDihedral};
use takedown_signals::Digests;

/// What to compute, and the decoding limits.
#[derive(Debug, Clone, Default)]
pub struct HashOptions {
    /// Also compute the eight dihedral PDQ hashes (rotations and mirrors).
    pub dihedral: bool,
    /// Limits applied while decoding images.
    pub image_limits: ImageLimits,
}

/// Every fingerprint of one file.
#[derive(Debug, Clone)]
pub struct Fingerprints {
    /// Size of the input in bytes.
    pub size: u64,
    /// MD5 and SHA-256 of the raw bytes.
    pub digests: Digests,
    /// Fingerprints of the decoded content.
    pub media: MediaFingerprints,
}

/// Fingerprints that depend on the kind of media.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum MediaFingerprints {
    /// A still image.
    Image(ImageFingerprints),
}

/// Fingerprints of a still image.
#[derive(Debug, Clone)]
pub struct ImageFingerprints {
    /// The container format found from the magic bytes.
    pub format: ImageFormat,
    /// Width of the image as stored.
    pub width: u32,
    /// Height of the image as stored.
    pub height: u32,
    /// PDQ hash and quality. Quality below [`pdq::QUALITY_THRESHOLD`] is kept and reported.
    pub pdq: Pdq,
    /// The eight dihedral hashes, when asked for.
    pub dihedral: Option<PdqDihedral>,
    /// Decoder warnings about damaged data that did not stop decoding.
    pub warnings: Vec<String>,
}

/// Why a file could not be fingerprinted.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Empty input.
    #[error("the file is empty")]
    Empty,
    /// The bytes are not a supported media file, or are damaged.
    #[error(transparent)]
    Media(#[from] MediaError),
}

impl Fingerprints {
    /// The image fingerprints, if the file is an image.
    pub fn image(&self) -> Option<&ImageFingerprints> {
        match &self.media {
            MediaFingerprints::Image(image) => Some(image),
        }
    }
}

/// Fingerprints a file held in memory.
pub fn fingerprint_bytes(bytes: &[u8], options: &HashOptions) -> Result<Fingerprints, HashError> {
    if bytes.is_empty() {
        return Err(HashError::Empty);
    }
    let digests = Digests::of(bytes);
    let decoded = takedown_media::decode_image(bytes, &options.image_limits)?;
    Ok(Fingerprints {
        size: bytes.len() as u64,
        digests,
        media: MediaFingerprints::Image(image_fingerprints(decoded, options.dihedral)),
    })
}

fn image_fingerprints(decoded: DecodedImage, dihedral: bool) -> ImageFingerprints {
    // The plain hash is computed on its own even when the dihedral set is asked for: the
    // reference skips the box filter for 64x64 inputs on the plain path only, so the two
    // "original" hashes can differ in the last bits for such images.
    let pdq = pdq::hash_image(&decoded.image);
    let dihedral = dihedral.then(|| pdq::dihedral_image(&decoded.image));
    ImageFingerprints {
        format: decoded.format,
        width: decoded.width,
        height: decoded.height,
        pdq,
        dihedral,
        warnings: decoded.warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_garbage_input_are_errors_not_panics() {
        let options = HashOptions::default();
        assert!(matches!(
            fingerprint_bytes(b"", &options),
            Err(HashError::Empty)
        ));
        let error = fingerprint_bytes(b"<!doctype html><html></html>", &options).unwrap_err();
        assert!(!error.to_string().is_empty());
    }
}
