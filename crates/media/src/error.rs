//! The one error type of this crate.

use crate::ImageFormat;

/// Why a file could not be turned into pixels.
///
/// Every variant names the problem in words a case worker can act on; none of them carries
/// the input bytes themselves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// The input had no bytes at all.
    #[error("empty input: zero bytes")]
    Empty,

    /// The input is larger than [`crate::ImageLimits::max_input_bytes`].
    #[error("input is {size} bytes, more than the limit of {limit} bytes")]
    InputTooLarge {
        /// Bytes supplied.
        size: usize,
        /// The configured limit.
        limit: usize,
    },

    /// The bytes are not an image format this crate decodes.
    #[error("not a supported image: looks like {looks_like}")]
    UnsupportedFormat {
        /// A short description of what the bytes appear to be ("HTML document", "PDF",
        /// "unknown format", ...).
        looks_like: &'static str,
    },

    /// The header states dimensions beyond the configured limits; nothing was decoded.
    #[error("{format} image is {width}x{height}, over the limit ({reason})")]
    TooLarge {
        /// Format whose header stated the size.
        format: ImageFormat,
        /// Stated width.
        width: u64,
        /// Stated height.
        height: u64,
        /// Which limit was exceeded.
        reason: String,
    },

    /// The header states a zero width or height.
    #[error("{format} image has a zero dimension ({width}x{height})")]
    ZeroSize {
        /// Format whose header stated the size.
        format: ImageFormat,
        /// Stated width.
        width: u64,
        /// Stated height.
        height: u64,
    },

    /// An animated image has more frames than [`crate::ImageLimits::max_frames`].
    #[error("{format} has more than {limit} frames")]
    TooManyFrames {
        /// Format of the animation.
        format: ImageFormat,
        /// The configured limit.
        limit: u32,
    },

    /// The file ends before the image data does. The reference decoder would fill the
    /// missing part with grey and hash that; we refuse unless
    /// [`crate::DecodeOptions::allow_truncated`] is set.
    #[error("truncated {format} file: {detail}")]
    Truncated {
        /// Format of the file.
        format: ImageFormat,
        /// What the decoder noticed.
        detail: String,
    },

    /// The file is damaged or not valid for its format.
    #[error("corrupt {format} file: {detail}")]
    Corrupt {
        /// Format of the file.
        format: ImageFormat,
        /// What the decoder reported.
        detail: String,
    },

    /// The file uses a feature of its format that is not supported (for example a 12-bit
    /// JPEG, or a BMP compression the reference cannot read either).
    #[error("unsupported {format} feature: {detail}")]
    Unsupported {
        /// Format of the file.
        format: ImageFormat,
        /// Which feature.
        detail: String,
    },

    /// Decoding would need more memory than [`crate::ImageLimits::max_alloc_bytes`].
    #[error("decoding this {format} file needs more than {limit} bytes of memory")]
    MemoryLimit {
        /// Format of the file.
        format: ImageFormat,
        /// The configured limit.
        limit: u64,
    },
}
