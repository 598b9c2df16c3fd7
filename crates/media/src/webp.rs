//! WebP through `image-webp`, whose lossy path reproduces libwebp's default output (fancy
//! chroma upsampling, libwebp's YUV->RGB rounding; the `PA.webp` vector is distance 0) and
//! whose lossless path is exact by construction. Alpha is dropped as in the reference.
//! Animated files give their first frame.

use std::io::Cursor;

use image_webp::{DecodingError, WebPDecoder};

use crate::{check_dimensions, DecodeOptions, Facts, ImageFormat, MediaError, RawImage};

const FORMAT: ImageFormat = ImageFormat::WebP;

pub(crate) fn decode(
    bytes: &[u8],
    options: &DecodeOptions,
    facts: &mut Facts,
) -> Result<RawImage, MediaError> {
    let limits = &options.limits;
    let mut decoder =
        WebPDecoder::new(Cursor::new(bytes)).map_err(|e| map_error(e, limits.max_alloc_bytes))?;
    let (width, height) = decoder.dimensions();
    let has_alpha = decoder.has_alpha();
    let decoded_bpp = if has_alpha { 4 } else { 3 };
    check_dimensions(
        FORMAT,
        u64::from(width),
        u64::from(height),
        decoded_bpp + 3,
        limits,
    )?;
    decoder.set_memory_limit(usize::try_from(limits.max_alloc_bytes).unwrap_or(usize::MAX));
    if decoder.is_animated() {
        facts.frame_count = decoder.num_frames();
        if facts.frame_count > limits.max_frames {
            return Err(MediaError::TooManyFrames {
                format: FORMAT,
                limit: limits.max_frames,
            });
        }
    }
    let size = decoder
        .output_buffer_size()
        .ok_or_else(|| MediaError::TooLarge {
            format: FORMAT,
            width: u64::from(width),
            height: u64::from(height),
            reason: "decoded size overflows".into(),
        })?;
    let mut buffer = vec![0u8; size];
    decoder
        .read_image(&mut buffer)
        .map_err(|e| map_error(e, limits.max_alloc_bytes))?;
    let pixels = if has_alpha {
        // Drop alpha in place: RGBA -> RGB.
        let n = buffer.len() / 4;
        for i in 0..n {
            buffer.copy_within(4 * i..4 * i + 3, 3 * i);
        }
        buffer.truncate(3 * n);
        buffer
    } else {
        buffer
    };
    Ok(RawImage {
        width,
        height,
        pixels,
        channels: 3,
        may_be_grey: true,
        has_alpha,
        truncated: false,
        warnings: Vec::new(),
    })
}

fn map_error(e: DecodingError, limit: u64) -> MediaError {
    match e {
        DecodingError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            MediaError::Truncated {
                format: FORMAT,
                detail: "the file ends before the image data does".into(),
            }
        }
        DecodingError::ImageTooLarge | DecodingError::MemoryLimitExceeded => {
            MediaError::MemoryLimit {
                format: FORMAT,
                limit,
            }
        }
        DecodingError::UnsupportedFeature(what) => MediaError::Unsupported {
            format: FORMAT,
            detail: what,
        },
        other => MediaError::Corrupt {
            format: FORMAT,
            detail: other.to_string(),
        },
    }
}
