//! GIF: the first frame only, as the reference sees it. ImageMagick returns every frame as a
//! separate image of the frame's own size (not composited on the logical screen), and CImg
//! reads the first PNM of the stream, so the reference hashes the first frame's rectangle with
//! its palette colours; transparent pixels keep their palette colour (alpha is dropped).
//!
//! Frames after the first are counted by walking the block structure, without LZW decoding,
//! so a file declaring millions of frames costs one pass over its bytes.

use std::num::NonZeroU64;

use gif::{ColorOutput, DecodingError, MemoryLimit};

use crate::{check_dimensions, DecodeOptions, Facts, ImageFormat, MediaError, RawImage};

const FORMAT: ImageFormat = ImageFormat::Gif;

pub(crate) fn decode(
    bytes: &[u8],
    options: &DecodeOptions,
    facts: &mut Facts,
) -> Result<RawImage, MediaError> {
    let limits = &options.limits;
    facts.frame_count = count_frames(bytes, limits.max_frames)?;

    let mut gif_options = gif::DecodeOptions::new();
    gif_options.set_color_output(ColorOutput::Indexed);
    // ImageMagick accepts frames that stick out of the logical screen; it outputs the frame's
    // own rectangle, so the screen size does not matter.
    gif_options.check_frame_consistency(false);
    if let Some(limit) = NonZeroU64::new(limits.max_alloc_bytes) {
        gif_options.set_memory_limit(MemoryLimit::Bytes(limit));
    }
    let limit = limits.max_alloc_bytes;
    let mut decoder = gif_options
        .read_info(bytes)
        .map_err(|e| map_error(e, limit))?;
    let global_palette = decoder.global_palette().map(<[u8]>::to_vec);
    let frame = decoder
        .next_frame_info()
        .map_err(|e| map_error(e, limit))?
        .ok_or_else(|| MediaError::Corrupt {
            format: FORMAT,
            detail: "no image in the file".into(),
        })?;
    let (width, height) = (u32::from(frame.width), u32::from(frame.height));
    let transparent = frame.transparent;
    let palette = frame
        .palette
        .clone()
        .or(global_palette)
        .ok_or_else(|| MediaError::Corrupt {
            format: FORMAT,
            detail: "no colour table".into(),
        })?;
    check_dimensions(FORMAT, u64::from(width), u64::from(height), 1 + 3, limits)?;

    let mut indices = vec![0u8; decoder.buffer_size()];
    decoder
        .read_into_buffer(&mut indices)
        .map_err(|e| map_error(e, limit))?;

    let colours = palette.len() / 3;
    let mut pixels = Vec::with_capacity(indices.len() * 3);
    for &i in &indices {
        // An index past the colour table gets colour 0, as ImageMagick's
        // ConstrainColormapIndex does.
        let i = if usize::from(i) < colours {
            usize::from(i)
        } else {
            0
        };
        pixels.extend_from_slice(&palette[3 * i..3 * i + 3]);
    }
    Ok(RawImage {
        width,
        height,
        pixels,
        channels: 3,
        may_be_grey: true,
        has_alpha: transparent.is_some(),
        truncated: false,
        warnings: Vec::new(),
    })
}

/// Counts image descriptors by skipping blocks, without decoding. Stops with an error as soon
/// as the count passes `max`; a damaged tail just ends the count.
fn count_frames(b: &[u8], max: u32) -> Result<u32, MediaError> {
    // Header (6) + logical screen descriptor (7) + optional global colour table.
    let mut i = 13;
    let flags = *b.get(10).unwrap_or(&0);
    if flags & 0x80 != 0 {
        i += 3 << ((flags & 7) + 1);
    }
    let skip_sub_blocks = |mut i: usize| -> Option<usize> {
        loop {
            let len = usize::from(*b.get(i)?);
            i += 1;
            if len == 0 {
                return Some(i);
            }
            i += len;
        }
    };
    let mut frames = 0u32;
    while let Some(&introducer) = b.get(i) {
        match introducer {
            0x21 => match skip_sub_blocks(i + 2) {
                Some(next) => i = next,
                None => break,
            },
            0x2C => {
                frames += 1;
                if frames > max {
                    return Err(MediaError::TooManyFrames {
                        format: FORMAT,
                        limit: max,
                    });
                }
                let Some(&local) = b.get(i + 9) else { break };
                i += 10;
                if local & 0x80 != 0 {
                    i += 3 << ((local & 7) + 1);
                }
                // LZW minimum code size, then the data sub-blocks.
                match skip_sub_blocks(i + 1) {
                    Some(next) => i = next,
                    None => break,
                }
            }
            _ => break, // trailer (0x3B) or garbage
        }
    }
    Ok(frames.max(1))
}

fn map_error(e: DecodingError, limit: u64) -> MediaError {
    match e {
        DecodingError::UnexpectedEof => MediaError::Truncated {
            format: FORMAT,
            detail: "the file ends before the image data does".into(),
        },
        DecodingError::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            MediaError::Truncated {
                format: FORMAT,
                detail: "the file ends before the image data does".into(),
            }
        }
        DecodingError::MemoryLimit | DecodingError::OutOfMemory => MediaError::MemoryLimit {
            format: FORMAT,
            limit,
        },
        other => MediaError::Corrupt {
            format: FORMAT,
            detail: other.to_string(),
        },
    }
}
