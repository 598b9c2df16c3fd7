//! PNG through the `png` crate. PNG is lossless, so any correct decoder gives libpng's
//! samples; what matters is the conversion ImageMagick + CImg apply afterwards:
//! palette and sub-8-bit grey expanded to 8 bits (bit replication, as libpng), alpha and tRNS
//! dropped, and 16-bit samples reduced to their low byte (CImg's cast of ImageMagick's 16-bit
//! PNM). The grey/RGB decision is made on the full-precision samples, as ImageMagick makes it.

use std::io::Cursor;

use png::{BitDepth, ColorType, Transformations};

use crate::{check_dimensions, DecodeOptions, Facts, ImageFormat, MediaError, RawImage};

const FORMAT: ImageFormat = ImageFormat::Png;

pub(crate) fn decode(
    bytes: &[u8],
    options: &DecodeOptions,
    facts: &mut Facts,
) -> Result<RawImage, MediaError> {
    let limits = &options.limits;
    let budget = usize::try_from(limits.max_alloc_bytes).unwrap_or(usize::MAX);
    let mut decoder =
        png::Decoder::new_with_limits(Cursor::new(bytes), png::Limits { bytes: budget });
    decoder.set_ignore_text_chunk(true);
    decoder.set_ignore_iccp_chunk(true);
    decoder.set_transformations(Transformations::EXPAND);

    let header = decoder
        .read_header_info()
        .map_err(|e| map_error(e, limits.max_alloc_bytes))?;
    let (width, height) = (header.width, header.height);
    let source_samples = header.color_type.samples() as u64;
    let source_depth = header.bit_depth as u8;
    // The decoder's buffer holds up to 8 bytes per pixel (RGBA16) and ours 3 more.
    let decoded_bpp = (if header.color_type == ColorType::Indexed {
        4
    } else {
        source_samples
    }) * if source_depth == 16 { 2 } else { 1 };
    check_dimensions(
        FORMAT,
        u64::from(width),
        u64::from(height),
        decoded_bpp + 3,
        limits,
    )?;
    facts.bit_depth = source_depth;
    let indexed = header.color_type == ColorType::Indexed;
    // Palette images are expanded here rather than by the decoder: an index past the end of
    // the palette must become colour 0, as in ImageMagick, where `png` would give black.
    decoder.set_transformations(if indexed {
        Transformations::IDENTITY
    } else {
        Transformations::EXPAND
    });

    let mut reader = decoder
        .read_info()
        .map_err(|e| map_error(e, limits.max_alloc_bytes))?;
    if let Some(actl) = reader.info().animation_control() {
        facts.frame_count = actl.num_frames.max(1);
    }
    let has_trns = reader.info().trns.is_some();
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| MediaError::TooLarge {
            format: FORMAT,
            width: u64::from(width),
            height: u64::from(height),
            reason: "decoded size overflows".into(),
        })?;
    let mut buffer = vec![0u8; size];
    let frame = reader
        .next_frame(&mut buffer)
        .map_err(|e| map_error(e, limits.max_alloc_bytes))?;
    buffer.truncate(frame.buffer_size());

    if indexed {
        let palette = reader.info().palette.as_deref().unwrap_or(&[]).to_vec();
        return Ok(expand_palette(
            &buffer,
            frame.line_size,
            width,
            height,
            source_depth,
            &palette,
            has_trns,
        ));
    }
    let (color, depth) = (frame.color_type, frame.bit_depth);
    let (colour_samples, samples) = match color {
        ColorType::Grayscale => (1, 1),
        ColorType::GrayscaleAlpha => (1, 2),
        ColorType::Rgb => (3, 3),
        ColorType::Rgba => (3, 4),
        ColorType::Indexed => {
            return Err(MediaError::Unsupported {
                format: FORMAT,
                detail: "palette was not expanded".into(),
            })
        }
    };
    let wide = depth == BitDepth::Sixteen;
    if !wide && depth != BitDepth::Eight {
        return Err(MediaError::Unsupported {
            format: FORMAT,
            detail: format!("unexpected bit depth {depth:?} after expansion"),
        });
    }
    let bytes_per_sample = if wide { 2 } else { 1 };
    let pixel_bytes = samples * bytes_per_sample;
    let pixel_count = buffer.len() / pixel_bytes;

    // ImageMagick's grey test compares the samples at full precision.
    let grey = colour_samples == 1
        || buffer.chunks_exact(pixel_bytes).all(|p| {
            let s = bytes_per_sample;
            p[..s] == p[s..2 * s] && p[s..2 * s] == p[2 * s..3 * s]
        });
    let out_channels = if grey { 1 } else { 3 };
    // Low byte of each sample: the last byte for big-endian 16-bit, the byte for 8-bit.
    let low = bytes_per_sample - 1;
    let pixels = if samples == out_channels && !wide {
        buffer // already what we want: 8-bit grey or 8-bit RGB
    } else {
        let mut out = Vec::with_capacity(pixel_count * out_channels);
        for p in buffer.chunks_exact(pixel_bytes) {
            for c in 0..out_channels {
                out.push(p[c * bytes_per_sample + low]);
            }
        }
        out
    };
    Ok(RawImage {
        width,
        height,
        pixels,
        channels: out_channels,
        may_be_grey: false, // decided above, at full precision
        has_alpha: samples != colour_samples || has_trns,
        truncated: false,
        warnings: Vec::new(),
    })
}

/// Unpacks 1/2/4/8-bit palette indices (rows of `line_size` bytes) into RGB, decides grey.
fn expand_palette(
    packed: &[u8],
    line_size: usize,
    width: u32,
    height: u32,
    bits: u8,
    palette: &[u8],
    has_trns: bool,
) -> RawImage {
    let w = width as usize;
    let colours = palette.len() / 3;
    let colour = |i: u8| -> [u8; 3] {
        let i = usize::from(i);
        let i = if i < colours { i } else { 0 };
        match palette.get(3 * i..3 * i + 3) {
            Some(c) => [c[0], c[1], c[2]],
            None => [0, 0, 0], // no palette at all: nothing better to show
        }
    };
    let bits = usize::from(bits);
    let per_byte = 8 / bits;
    let mask = ((1u16 << bits) - 1) as u8;
    let mut pixels = Vec::with_capacity(w * height as usize * 3);
    for row in packed.chunks(line_size.max(1)).take(height as usize) {
        for x in 0..w {
            let byte = row.get(x / per_byte).copied().unwrap_or(0);
            let shift = 8 - bits * (x % per_byte + 1);
            pixels.extend_from_slice(&colour((byte >> shift) & mask));
        }
    }
    RawImage {
        width,
        height,
        pixels,
        channels: 3,
        may_be_grey: true,
        has_alpha: has_trns,
        truncated: false,
        warnings: Vec::new(),
    }
}

fn map_error(e: png::DecodingError, limit: u64) -> MediaError {
    match e {
        png::DecodingError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            MediaError::Truncated {
                format: FORMAT,
                detail: "the file ends before the image data does".into(),
            }
        }
        png::DecodingError::LimitsExceeded => MediaError::MemoryLimit {
            format: FORMAT,
            limit,
        },
        png::DecodingError::Format(f) => MediaError::Corrupt {
            format: FORMAT,
            detail: f.to_string(),
        },
        other => MediaError::Corrupt {
            format: FORMAT,
            detail: other.to_string(),
        },
    }
}
