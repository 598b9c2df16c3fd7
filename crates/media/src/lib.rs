//! Image decoding for takedown: file bytes in, the exact 8-bit pixels that Meta's PDQ C++
//! reference would hash out, under limits that make hostile files harmless.
//!
//! # Why decoding has to be exact
//!
//! A PDQ hash is only comparable with hashes made elsewhere if both sides saw the same
//! pixels. The reference (`pdq-photo-hasher`) never decodes a file itself: its CImg loader
//! runs ImageMagick 6 (`convert FILE pnm:-`, Q16, with libjpeg-turbo, libpng and libwebp) and
//! reads the PNM that comes back. So "the reference's pixels" means ImageMagick's pixels, with
//! all of ImageMagick's habits, which this crate reproduces without running it:
//!
//! * **JPEG** is decoded by libjpeg-turbo's own C code (vendored by `mozjpeg-sys`, with its
//!   SIMD under the default `simd` feature, which is bit-exact with the C paths), with the
//!   settings ImageMagick uses: accurate integer IDCT, fancy upsampling, libjpeg's
//!   YCbCr->RGB. Rust decoders differ by a rounding here and there, which moves PDQ bits on
//!   small images. CMYK/YCCK JPEGs are converted to RGB with ImageMagick's formula.
//! * **WebP** is decoded by libwebp's C code (vendored by `libwebp-sys`), the library
//!   ImageMagick uses, so lossy output (fancy upsampling, YUV->RGB rounding) is exact too.
//! * **PNG, GIF, BMP** use pure-Rust decoders (`png`, `gif`, and a small BMP reader here),
//!   whose output is lossless and therefore already identical; only the conversions around
//!   them follow ImageMagick (palette expansion and out-of-range indices, 16-bit handling,
//!   which GIF frame, alpha).
//! * **Alpha is dropped, not composited**: a PNM has no alpha channel, so the reference hashes
//!   the colour stored under transparent pixels.
//! * **Grey or RGB?** ImageMagick writes a grey PGM whenever every pixel of an sRGB image has
//!   R = G = B (it scans the whole image), and the reference then uses the grey value as luma
//!   instead of `0.299R + 0.587G + 0.114B`, which rounds differently in float. So the output
//!   is [`Channels::Grey`] exactly when that scan would succeed, whatever the file's own
//!   colour type; CMYK files never are, as in ImageMagick.
//! * **16-bit samples**: ImageMagick writes a 16-bit PNM and CImg, reading it into 8-bit
//!   storage, keeps the *low* byte of each sample. That is what the reference hashes, so it is
//!   what we return (see [`DecodedImage::bit_depth`]; for 16-bit files made from 8-bit data
//!   the low byte equals the original value).
//! * **1- and 4-bit BMPs** keep ImageMagick's depth: its PNM writer scales samples down to
//!   `2^depth - 1` and CImg reads them unscaled, so the reference hashes values 0..15 (or
//!   0..1). Reproduced, since that is what the reference's hashes are made of.
//! * **No EXIF rotation**, as the reference; the orientation tag is reported
//!   ([`DecodedImage::exif_orientation`]) so a caller can hash rotations if it wants.
//!
//! The 512x512 nearest-neighbour step of the reference is not done here: it belongs to PDQ
//! (`takedown_signals::pdq`), and other signals want full-size pixels.
//!
//! # Limits
//!
//! Every decoder reads the header first and refuses, before allocating pixel memory, images
//! over [`ImageLimits`]. Errors are [`MediaError`] values, never panics; the JPEG decoder's C
//! errors are caught and converted, and nothing is printed to stderr. A truncated file is an
//! error by default ([`MediaError::Truncated`]): the reference would hash it with its missing
//! part filled grey, which describes a different picture; set
//! [`DecodeOptions::allow_truncated`] to get the reference's behaviour, flagged by
//! [`DecodedImage::truncated`].
//!
//! The format is detected from magic bytes only ([`sniff_format`]); for other content the error
//! says what the bytes look like ("HTML document", "PDF document", ...).

pub mod audio;
mod bmp;
mod error;
mod gif;
mod jpeg;
mod png;
mod sniff;
pub mod video;
mod webp;

pub use audio::{decode_audio, AudioError, AudioLimits, AudioOptions, DecodedAudio};
pub use error::MediaError;
pub use sniff::Sniffed;
use takedown_signals::{Channels, Image};

/// Image container formats this crate decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    /// JPEG/JFIF/EXIF (baseline, progressive, arithmetic; grey, YCbCr, RGB, CMYK, YCCK).
    Jpeg,
    /// PNG (every colour type and bit depth; APNG is decoded as its default image).
    Png,
    /// WebP (lossy, lossless, with alpha; animations give their first frame).
    WebP,
    /// GIF (first frame only).
    Gif,
    /// Windows BMP (uncompressed, RLE and bit-field variants).
    Bmp,
}

impl ImageFormat {
    /// Lower-case name, as used in messages and reports.
    pub const fn name(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "JPEG",
            ImageFormat::Png => "PNG",
            ImageFormat::WebP => "WebP",
            ImageFormat::Gif => "GIF",
            ImageFormat::Bmp => "BMP",
        }
    }
}

impl std::fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Resource limits checked before and during decoding.
///
/// The defaults admit any photo or screenshot seen in practice (100 megapixels is a 12000x8000
/// camera image) while keeping the worst case of one decode near 1 GiB of memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageLimits {
    /// Largest input accepted, in bytes.
    pub max_input_bytes: usize,
    /// Widest image accepted, in pixels.
    pub max_width: u32,
    /// Tallest image accepted, in pixels.
    pub max_height: u32,
    /// Most pixels (width x height) accepted.
    pub max_pixels: u64,
    /// Most frames an animated image may declare. Only the first frame is ever decoded, but
    /// the frames are counted (cheaply, without decoding) and the file is refused past this.
    pub max_frames: u32,
    /// Most memory one decode may allocate for pixel and decoder buffers, in bytes.
    pub max_alloc_bytes: u64,
}

impl Default for ImageLimits {
    fn default() -> Self {
        ImageLimits {
            max_input_bytes: 256 * 1024 * 1024,
            max_width: 65_535,
            max_height: 65_535,
            max_pixels: 100_000_000,
            max_frames: 20_000,
            max_alloc_bytes: 1024 * 1024 * 1024,
        }
    }
}

/// Limits plus the policy choices of a decode.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Resource limits.
    pub limits: ImageLimits,
    /// Accept JPEG files that end early, decoding what is there with the rest grey as
    /// libjpeg (and so the reference) does, and setting [`DecodedImage::truncated`]. Off by
    /// default: such a hash describes a partly invented picture. Truncated PNG, GIF, WebP and
    /// BMP files are always refused (ImageMagick refuses most of them too).
    pub allow_truncated: bool,
}

/// A decoded image: the pixels the PDQ reference would hash (before its 512x512 step) and
/// facts about the file.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DecodedImage {
    /// The pixels, [`Channels::Grey`] or [`Channels::Rgb`], full size.
    pub image: Image,
    /// The format found from the magic bytes.
    pub format: ImageFormat,
    /// Width stated by the file (for GIF: of the first frame, which is what is decoded).
    pub width: u32,
    /// Height stated by the file (for GIF: of the first frame).
    pub height: u32,
    /// Bits per sample in the file (1, 2, 4, 8 or 16). For 16, the pixels are the low bytes of
    /// the samples, as the reference sees them.
    pub bit_depth: u8,
    /// The file had an alpha channel (or transparency), which was dropped, not composited.
    pub alpha_dropped: bool,
    /// Frames in the file (GIF: counted without decoding; WebP: from the animation; others 1).
    pub frame_count: u32,
    /// EXIF orientation tag (1-8) if the file carries one. Not applied, as in the reference.
    pub exif_orientation: Option<u8>,
    /// The file ended early and the missing part was filled (only with
    /// [`DecodeOptions::allow_truncated`]).
    pub truncated: bool,
    /// Decoder warnings about damaged data that did not stop decoding (at most a few).
    pub warnings: Vec<String>,
}

/// What a format decoder hands back before the common finishing steps.
pub(crate) struct RawImage {
    pub width: u32,
    pub height: u32,
    /// Interleaved 8-bit samples, `channels` per pixel (1 or 3).
    pub pixels: Vec<u8>,
    pub channels: usize,
    /// ImageMagick would consider this image for grey output (sRGB-compatible colorspace).
    pub may_be_grey: bool,
    pub has_alpha: bool,
    pub truncated: bool,
    pub warnings: Vec<String>,
}

/// Extra facts a decoder knows; filled with defaults and overridden per format.
pub(crate) struct Facts {
    pub bit_depth: u8,
    pub frame_count: u32,
    pub exif_orientation: Option<u8>,
}

/// Detects the format from the leading bytes; `None` if it is not one this crate decodes.
pub fn sniff_format(bytes: &[u8]) -> Option<ImageFormat> {
    match sniff::sniff(bytes) {
        Sniffed::Image(format) => Some(format),
        Sniffed::Other(_) => None,
    }
}

/// Describes the leading bytes: an image format, or what else they look like.
pub fn sniff(bytes: &[u8]) -> Sniffed {
    sniff::sniff(bytes)
}

/// Decodes an image file with the given limits and the default policy (truncated files are
/// refused).
pub fn decode_image(bytes: &[u8], limits: &ImageLimits) -> Result<DecodedImage, MediaError> {
    decode_image_with(
        bytes,
        &DecodeOptions {
            limits: limits.clone(),
            ..DecodeOptions::default()
        },
    )
}

/// Decodes an image file with explicit options.
pub fn decode_image_with(
    bytes: &[u8],
    options: &DecodeOptions,
) -> Result<DecodedImage, MediaError> {
    if bytes.is_empty() {
        return Err(MediaError::Empty);
    }
    if bytes.len() > options.limits.max_input_bytes {
        return Err(MediaError::InputTooLarge {
            size: bytes.len(),
            limit: options.limits.max_input_bytes,
        });
    }
    let format = match sniff::sniff(bytes) {
        Sniffed::Image(format) => format,
        Sniffed::Other(looks_like) => return Err(MediaError::UnsupportedFormat { looks_like }),
    };
    let mut facts = Facts {
        bit_depth: 8,
        frame_count: 1,
        exif_orientation: None,
    };
    let raw = match format {
        ImageFormat::Jpeg => {
            facts.exif_orientation = jpeg_exif_orientation(bytes);
            jpeg::decode(bytes, options)?
        }
        ImageFormat::Png => png::decode(bytes, options, &mut facts)?,
        ImageFormat::Gif => gif::decode(bytes, options, &mut facts)?,
        ImageFormat::WebP => webp::decode(bytes, options, &mut facts)?,
        ImageFormat::Bmp => bmp::decode(bytes, options, &mut facts)?,
    };
    finish(format, raw, facts)
}

fn finish(format: ImageFormat, raw: RawImage, facts: Facts) -> Result<DecodedImage, MediaError> {
    let RawImage {
        width,
        height,
        mut pixels,
        channels,
        may_be_grey,
        has_alpha,
        truncated,
        warnings,
    } = raw;
    let channels = if channels == 1 {
        Channels::Grey
    } else if may_be_grey && all_grey(&pixels) {
        collapse_to_grey(&mut pixels);
        Channels::Grey
    } else {
        Channels::Rgb
    };
    let image = Image::new(width, height, channels, pixels).map_err(|e| MediaError::Corrupt {
        format,
        detail: format!("internal size mismatch: {e}"),
    })?;
    Ok(DecodedImage {
        image,
        format,
        width,
        height,
        bit_depth: facts.bit_depth,
        alpha_dropped: has_alpha,
        frame_count: facts.frame_count,
        exif_orientation: facts.exif_orientation,
        truncated,
        warnings,
    })
}

/// True when every RGB pixel has R = G = B. Usually stops at the first pixel of a colour
/// photo, so it costs nothing there.
pub(crate) fn all_grey(rgb: &[u8]) -> bool {
    rgb.chunks_exact(3).all(|p| p[0] == p[1] && p[1] == p[2])
}

/// Keeps one byte per pixel, in place.
pub(crate) fn collapse_to_grey(rgb: &mut Vec<u8>) {
    let n = rgb.len() / 3;
    for i in 0..n {
        rgb[i] = rgb[3 * i];
    }
    rgb.truncate(n);
}

/// Refuses dimensions over the limits or zero, before any pixel memory is allocated.
/// `bytes_per_pixel` is what the decoder will allocate per pixel (output plus any scratch).
pub(crate) fn check_dimensions(
    format: ImageFormat,
    width: u64,
    height: u64,
    bytes_per_pixel: u64,
    limits: &ImageLimits,
) -> Result<(), MediaError> {
    if width == 0 || height == 0 {
        return Err(MediaError::ZeroSize {
            format,
            width,
            height,
        });
    }
    let too_large = |reason: String| MediaError::TooLarge {
        format,
        width,
        height,
        reason,
    };
    if width > u64::from(limits.max_width) {
        return Err(too_large(format!("max width {}", limits.max_width)));
    }
    if height > u64::from(limits.max_height) {
        return Err(too_large(format!("max height {}", limits.max_height)));
    }
    let pixels = width.saturating_mul(height);
    if pixels > limits.max_pixels {
        return Err(too_large(format!("max {} pixels", limits.max_pixels)));
    }
    let bytes = pixels.saturating_mul(bytes_per_pixel);
    if bytes > limits.max_alloc_bytes {
        return Err(too_large(format!(
            "needs {bytes} bytes, max {} bytes",
            limits.max_alloc_bytes
        )));
    }
    Ok(())
}

/// Reads the EXIF orientation tag from a JPEG's APP1 segment, if there is one. Walks the
/// marker segments up to the first scan; never fails (a damaged EXIF block just gives None).
fn jpeg_exif_orientation(b: &[u8]) -> Option<u8> {
    let mut i = 2;
    while i + 4 <= b.len() {
        if b[i] != 0xFF {
            return None;
        }
        let marker = b[i + 1];
        if marker == 0xFF {
            i += 1; // fill byte
            continue;
        }
        if marker == 0xDA || marker == 0xD9 {
            return None; // start of scan / end of image: no more headers
        }
        let len = usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
        let segment = b.get(i + 4..i + 2 + len)?;
        if marker == 0xE1 && segment.starts_with(b"Exif\0\0") {
            return tiff_orientation(&segment[6..]);
        }
        i += 2 + len;
    }
    None
}

/// Finds tag 0x0112 (Orientation) in IFD0 of a TIFF-structured EXIF block.
pub(crate) fn tiff_orientation(t: &[u8]) -> Option<u8> {
    let big = match t.get(0..2)? {
        b"MM" => true,
        b"II" => false,
        _ => return None,
    };
    let u16_at = |o: usize| -> Option<u16> {
        let s = t.get(o..o + 2)?;
        Some(if big {
            u16::from_be_bytes([s[0], s[1]])
        } else {
            u16::from_le_bytes([s[0], s[1]])
        })
    };
    let u32_at = |o: usize| -> Option<u32> {
        let s = t.get(o..o + 4)?;
        let a = [s[0], s[1], s[2], s[3]];
        Some(if big {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        })
    };
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let entries = usize::from(u16_at(ifd)?);
    for n in 0..entries.min(512) {
        let e = ifd + 2 + 12 * n;
        if u16_at(e)? == 0x0112 {
            let value = u16_at(e + 8)?;
            return u8::try_from(value).ok().filter(|v| (1..=8).contains(v));
        }
    }
    None
}
