//! Encoding generated images to file bytes, and a reference decoder for round trips.
//!
//! Both use the `image` crate (pure Rust). This crate serves tests and benchmarks only;
//! production decoding is `takedown-media`'s job.

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::{ColorType, ExtendedColorType, ImageEncoder};
use takedown_signals::{Channels, Image};

/// A file format to encode to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Baseline JPEG at `quality` (1..=100), 4:2:2 chroma subsampling (the `image` crate's).
    Jpeg {
        /// 1..=100.
        quality: u8,
    },
    /// Lossless PNG.
    Png,
    /// Lossless WebP (the pure-Rust encoder has no lossy mode).
    WebpLossless,
}

impl Format {
    /// The usual file extension, without a dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Jpeg { .. } => "jpg",
            Format::Png => "png",
            Format::WebpLossless => "webp",
        }
    }
}

/// The reference decoder could not read the bytes.
#[derive(Debug, thiserror::Error)]
#[error("decoding failed: {0}")]
pub struct DecodeError(String);

/// Encodes an image to file bytes.
///
/// # Panics
/// If the encoder rejects the image, which for in-memory output only happens for sizes the
/// format cannot represent (JPEG and WebP sides are limited to 65535 and 16384 pixels).
pub fn encode(image: &Image, format: Format) -> Vec<u8> {
    let mut out = Vec::new();
    let colour = match image.channels() {
        Channels::Grey => ExtendedColorType::L8,
        Channels::Rgb => ExtendedColorType::Rgb8,
    };
    let (w, h, pixels) = (image.width(), image.height(), image.pixels());
    let result = match format {
        Format::Jpeg { quality } => JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100))
            .encode(pixels, w, h, colour),
        Format::Png => PngEncoder::new(&mut out).write_image(pixels, w, h, colour),
        Format::WebpLossless => WebPEncoder::new_lossless(&mut out).encode(pixels, w, h, colour),
    };
    result.unwrap_or_else(|e| panic!("encoding a {w}x{h} image as {format:?}: {e}"));
    out
}

/// Decodes file bytes with the `image` crate (grey files stay grey, everything else becomes
/// RGB). For round trips in transforms and tests; not the decoder takedown hashes with.
pub fn decode(bytes: &[u8]) -> Result<Image, DecodeError> {
    let decoded = image::load_from_memory(bytes).map_err(|e| DecodeError(e.to_string()))?;
    let (w, h) = (decoded.width(), decoded.height());
    let image = match decoded.color() {
        ColorType::L8 | ColorType::L16 => {
            Image::new(w, h, Channels::Grey, decoded.into_luma8().into_raw())
        }
        _ => Image::new(w, h, Channels::Rgb, decoded.into_rgb8().into_raw()),
    };
    image.map_err(|e| DecodeError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lossless_formats_round_trip_exactly() {
        let pixels: Vec<u8> = (0..17 * 9 * 3).map(|v| (v * 7 % 256) as u8).collect();
        let image = Image::new(17, 9, Channels::Rgb, pixels).unwrap();
        for format in [Format::Png, Format::WebpLossless] {
            let back = decode(&encode(&image, format)).unwrap();
            assert_eq!(back, image, "{format:?}");
        }
        let grey = Image::new(5, 6, Channels::Grey, (0..30).collect()).unwrap();
        assert_eq!(decode(&encode(&grey, Format::Png)).unwrap(), grey);
    }

    #[test]
    fn jpeg_round_trip_keeps_size() {
        let image = Image::new(33, 21, Channels::Rgb, vec![120; 33 * 21 * 3]).unwrap();
        let bytes = encode(&image, Format::Jpeg { quality: 80 });
        assert_eq!(&bytes[..2], &[0xFF, 0xD8]);
        let back = decode(&bytes).unwrap();
        assert_eq!((back.width(), back.height()), (33, 21));
    }
}
