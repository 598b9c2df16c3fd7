//! Windows BMP, written here to follow ImageMagick 6's reader (`coders/bmp.c`) where formats
//! leave room for choice: bit-field channels are widened to 16 bits its way (bit replication
//! for 5/6/8-bit fields, shifts otherwise) and then scaled to 8 bits with its rounding;
//! palette indices past the colour table become index 0; pixels that RLE data skips are
//! index 0. Supported: 1/4/8-bit palette (uncompressed, RLE4, RLE8), 16/32-bit (plain and
//! bit fields), 24-bit; OS/2 v1 and Windows v3/v4/v5 headers. Embedded JPEG/PNG and 64-bit
//! BMPs are refused as unsupported.

use crate::jpeg::quantum_to_u8;
use crate::{check_dimensions, DecodeOptions, Facts, ImageFormat, MediaError, RawImage};

const FORMAT: ImageFormat = ImageFormat::Bmp;

const BI_RGB: u32 = 0;
const BI_RLE8: u32 = 1;
const BI_RLE4: u32 = 2;
const BI_BITFIELDS: u32 = 3;
const BI_ALPHABITFIELDS: u32 = 6;

fn corrupt(detail: &str) -> MediaError {
    MediaError::Corrupt {
        format: FORMAT,
        detail: detail.into(),
    }
}

fn truncated() -> MediaError {
    MediaError::Truncated {
        format: FORMAT,
        detail: "the file ends before the pixel data does".into(),
    }
}

fn u16_at(b: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(o..o + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?))
}

/// One bit-field channel: the mask, and how ImageMagick widens it to 16 bits.
#[derive(Clone, Copy)]
struct Field {
    mask: u32,
    shift: u32,
    bits: u32,
}

impl Field {
    fn new(mask: u32) -> Field {
        if mask == 0 {
            return Field {
                mask,
                shift: 0,
                bits: 0,
            };
        }
        let shift = mask.leading_zeros(); // moves the top bit of the field to bit 31
        let bits = (mask << shift).leading_ones();
        Field { mask, shift, bits }
    }

    /// The channel value as ImageMagick computes it for 16-bit pixels.
    fn widen16(self, pixel: u32) -> u16 {
        let mut v = ((pixel & self.mask) << self.shift) >> 16;
        if self.bits == 5 {
            v |= (v & 0xe000) >> 5;
        }
        if self.bits == 6 {
            v |= (v & 0xc000) >> 6;
        }
        if self.bits <= 8 {
            v |= (v & 0xff00) >> 8;
        }
        v as u16
    }

    /// The channel value as ImageMagick computes it for 32-bit pixels.
    fn widen32(self, pixel: u32) -> u16 {
        let mut v = ((pixel & self.mask) << self.shift) >> 16;
        if self.bits == 8 {
            v |= v >> 8;
        }
        v as u16
    }
}

pub(crate) fn decode(
    b: &[u8],
    options: &DecodeOptions,
    facts: &mut Facts,
) -> Result<RawImage, MediaError> {
    let limits = &options.limits;
    let header_err = || corrupt("BMP header is incomplete");
    let pixel_offset = u32_at(b, 10).ok_or_else(header_err)? as usize;
    let header_size = u32_at(b, 14).ok_or_else(header_err)?;
    let (width, height, bits, compression, colours_used, core) = if header_size == 12 {
        // OS/2 1.x BITMAPCOREHEADER: 16-bit sizes, 3-byte palette entries.
        (
            i64::from(u16_at(b, 18).ok_or_else(header_err)?),
            i64::from(u16_at(b, 20).ok_or_else(header_err)?),
            u16_at(b, 24).ok_or_else(header_err)?,
            BI_RGB,
            0,
            true,
        )
    } else if header_size >= 40 {
        (
            i64::from(u32_at(b, 18).ok_or_else(header_err)? as i32),
            i64::from(u32_at(b, 22).ok_or_else(header_err)? as i32),
            u16_at(b, 28).ok_or_else(header_err)?,
            u32_at(b, 30).ok_or_else(header_err)?,
            u32_at(b, 46).ok_or_else(header_err)?,
            false,
        )
    } else {
        return Err(MediaError::Unsupported {
            format: FORMAT,
            detail: format!("header size {header_size}"),
        });
    };
    if width < 0 {
        return Err(corrupt("negative width"));
    }
    let top_down = height < 0;
    let (w, h) = (width.unsigned_abs(), height.unsigned_abs());
    check_dimensions(FORMAT, w, h, 3, limits)?;
    let (w, h) = (w as usize, h as usize);
    facts.bit_depth = match bits {
        1 | 2 | 4 | 8 => bits as u8,
        16 | 24 | 32 => 8,
        _ => {
            return Err(MediaError::Unsupported {
                format: FORMAT,
                detail: format!("{bits} bits per pixel"),
            })
        }
    };
    match (compression, bits) {
        (BI_RGB, _) | (BI_RLE8, 8) | (BI_RLE4, 4) => {}
        (BI_BITFIELDS | BI_ALPHABITFIELDS, 16 | 32) => {}
        (4, _) | (5, _) => {
            return Err(MediaError::Unsupported {
                format: FORMAT,
                detail: "embedded JPEG/PNG data".into(),
            })
        }
        _ => {
            return Err(MediaError::Unsupported {
                format: FORMAT,
                detail: format!("compression {compression} with {bits} bits per pixel"),
            })
        }
    }

    let palette_start = 14 + header_size as usize;
    let mut pixels = vec![0u8; w * h * 3];
    let mut alpha = false;
    if bits <= 8 {
        let entry = if core { 3 } else { 4 };
        let max_colours = 1usize << bits;
        let colours = if colours_used == 0 || colours_used as usize > max_colours {
            max_colours
        } else {
            colours_used as usize
        };
        // Fewer entries in the file than promised: keep what is there (the rest stay black),
        // as long as the table does not run past the pixel data.
        let table_end = palette_start + colours * entry;
        let table = b
            .get(palette_start..table_end.min(b.len()))
            .ok_or_else(truncated)?;
        let mut palette = vec![[0u8; 3]; colours];
        for (i, p) in table.chunks_exact(entry).enumerate() {
            palette[i] = [p[2], p[1], p[0]];
        }
        let indices = match compression {
            BI_RLE8 | BI_RLE4 => rle(b.get(pixel_offset..).ok_or_else(truncated)?, w, h, bits)?,
            _ => unpack(b, pixel_offset, w, h, bits)?,
        };
        // Rows are stored bottom-up unless the height is negative.
        for y in 0..h {
            let src_row = if top_down { y } else { h - 1 - y };
            let src = &indices[src_row * w..(src_row + 1) * w];
            let dst = &mut pixels[y * w * 3..(y + 1) * w * 3];
            for (px, &i) in dst.chunks_exact_mut(3).zip(src) {
                let i = usize::from(i);
                px.copy_from_slice(&palette[if i < colours { i } else { 0 }]);
            }
        }
    } else {
        let bpp = usize::from(bits / 8);
        let stride = (w * bpp).div_ceil(4) * 4;
        let needed = stride.checked_mul(h).ok_or_else(truncated)?;
        let data = b
            .get(pixel_offset..)
            .filter(|d| d.len() >= needed)
            .ok_or_else(truncated)?;
        let (r, g, bl, a) = if compression == BI_BITFIELDS || compression == BI_ALPHABITFIELDS {
            if header_size == 40 || header_size == 52 || header_size == 56 {
                // v3 header: masks follow it (or are part of the v3 extensions).
                let m = |i: usize| u32_at(b, 54 + 4 * i).ok_or_else(header_err);
                let a = if compression == BI_ALPHABITFIELDS || header_size >= 56 {
                    m(3)?
                } else {
                    0
                };
                (m(0)?, m(1)?, m(2)?, a)
            } else {
                let m = |i: usize| u32_at(b, 54 + 4 * i).ok_or_else(header_err);
                (
                    m(0)?,
                    m(1)?,
                    m(2)?,
                    if header_size >= 56 { m(3)? } else { 0 },
                )
            }
        } else if bits == 16 {
            (0x7c00, 0x03e0, 0x001f, 0)
        } else {
            (0x00ff_0000, 0x0000_ff00, 0x0000_00ff, 0)
        };
        alpha = a != 0;
        let (r, g, bl) = (Field::new(r), Field::new(g), Field::new(bl));
        for y in 0..h {
            let src_row = if top_down { y } else { h - 1 - y };
            let src = &data[src_row * stride..src_row * stride + w * bpp];
            let dst = &mut pixels[y * w * 3..(y + 1) * w * 3];
            match bits {
                24 => {
                    for (px, s) in dst.chunks_exact_mut(3).zip(src.chunks_exact(3)) {
                        px.copy_from_slice(&[s[2], s[1], s[0]]);
                    }
                }
                16 => {
                    for (px, s) in dst.chunks_exact_mut(3).zip(src.chunks_exact(2)) {
                        let p = u32::from(u16::from_le_bytes([s[0], s[1]]));
                        px[0] = quantum_to_u8(r.widen16(p));
                        px[1] = quantum_to_u8(g.widen16(p));
                        px[2] = quantum_to_u8(bl.widen16(p));
                    }
                }
                _ => {
                    for (px, s) in dst.chunks_exact_mut(3).zip(src.chunks_exact(4)) {
                        let p = u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
                        px[0] = quantum_to_u8(r.widen32(p));
                        px[1] = quantum_to_u8(g.widen32(p));
                        px[2] = quantum_to_u8(bl.widen32(p));
                    }
                }
            }
        }
    }
    // ImageMagick gives 1/2/4-bit BMPs that depth, and its PNM writer then writes
    // `maxval = 2^depth - 1` with every sample scaled down to it (truncating), which CImg reads
    // unscaled: the reference hashes values 0..15 for a 4-bit BMP, 0..1 for a 1-bit one. Not
    // for black-and-white images, which go out as PBM and come back as 0/255.
    let mut channels = 3;
    if bits < 8 {
        let grey = crate::all_grey(&pixels);
        if grey && pixels.iter().all(|&v| v == 0 || v == 255) {
            // PBM: stays 0/255.
        } else {
            let range = (1u32 << bits) - 1;
            for v in pixels.iter_mut() {
                *v = (range * u32::from(*v) / 255) as u8;
            }
        }
        if grey {
            crate::collapse_to_grey(&mut pixels);
            channels = 1;
        }
    }
    Ok(RawImage {
        width: w as u32,
        height: h as u32,
        pixels,
        channels,
        may_be_grey: bits >= 8,
        has_alpha: alpha,
        truncated: false,
        warnings: Vec::new(),
    })
}

/// Uncompressed 1/2/4/8-bit rows (padded to 4 bytes) into one index per pixel, file row order.
fn unpack(b: &[u8], offset: usize, w: usize, h: usize, bits: u16) -> Result<Vec<u8>, MediaError> {
    let bits = usize::from(bits);
    let stride = (w * bits).div_ceil(32) * 4;
    let needed = stride.checked_mul(h).ok_or_else(truncated)?;
    let data = b
        .get(offset..)
        .filter(|d| d.len() >= needed)
        .ok_or_else(truncated)?;
    let mut out = Vec::with_capacity(w * h);
    let per_byte = 8 / bits;
    let mask = ((1u16 << bits) - 1) as u8;
    for row in data[..needed].chunks_exact(stride) {
        for x in 0..w {
            let byte = row[x / per_byte];
            let shift = 8 - bits * (x % per_byte + 1);
            out.push((byte >> shift) & mask);
        }
    }
    Ok(out)
}

/// RLE8/RLE4 into one index per pixel, file row order; skipped pixels stay index 0.
fn rle(data: &[u8], w: usize, h: usize, bits: u16) -> Result<Vec<u8>, MediaError> {
    let mut out = vec![0u8; w * h];
    let (mut x, mut y) = (0usize, 0usize);
    let mut i = 0;
    let mut put = |x: &mut usize, y: usize, v: u8| {
        if *x < w && y < h {
            out[y * w + *x] = v;
        }
        *x += 1;
    };
    loop {
        let (Some(&count), Some(&value)) = (data.get(i), data.get(i + 1)) else {
            return Err(truncated());
        };
        i += 2;
        if count > 0 {
            for k in 0..usize::from(count) {
                let v = if bits == 4 {
                    if k % 2 == 0 {
                        value >> 4
                    } else {
                        value & 0x0f
                    }
                } else {
                    value
                };
                put(&mut x, y, v);
            }
            continue;
        }
        match value {
            0 => {
                x = 0;
                y += 1;
            }
            1 => break,
            2 => {
                let (Some(&dx), Some(&dy)) = (data.get(i), data.get(i + 1)) else {
                    return Err(truncated());
                };
                i += 2;
                x += usize::from(dx);
                y += usize::from(dy);
            }
            n => {
                let n = usize::from(n);
                let bytes = if bits == 4 { n.div_ceil(2) } else { n };
                let run = data.get(i..i + bytes).ok_or_else(truncated)?;
                for k in 0..n {
                    let v = if bits == 4 {
                        let byte = run[k / 2];
                        if k % 2 == 0 {
                            byte >> 4
                        } else {
                            byte & 0x0f
                        }
                    } else {
                        run[k]
                    };
                    put(&mut x, y, v);
                }
                // Absolute runs are padded to an even number of bytes.
                i += bytes + (bytes & 1);
            }
        }
        if y >= h {
            break;
        }
    }
    Ok(out)
}
