//! Decoded still images as plain 8-bit pixel buffers: the hand-off from `takedown-media`
//! (which decodes files) to the fingerprint functions here.

/// How the bytes of one pixel are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channels {
    /// One byte per pixel, the grey value. PDQ uses it as luma directly, as the reference does
    /// for greyscale files.
    Grey,
    /// Three bytes per pixel: red, green, blue.
    Rgb,
}

impl Channels {
    /// Bytes per pixel.
    pub const fn count(self) -> usize {
        match self {
            Channels::Grey => 1,
            Channels::Rgb => 3,
        }
    }
}

/// An 8-bit image, row-major, channels interleaved, no padding between rows.
#[derive(Clone, PartialEq, Eq)]
pub struct Image {
    width: u32,
    height: u32,
    channels: Channels,
    pixels: Vec<u8>,
}

/// The pixel buffer does not match the stated size.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {width}x{height} {channels:?} image needs {expected} bytes, got {actual}")]
pub struct ImageSizeError {
    /// Stated width.
    pub width: u32,
    /// Stated height.
    pub height: u32,
    /// Stated channels.
    pub channels: Channels,
    /// Bytes the size implies.
    pub expected: usize,
    /// Bytes supplied.
    pub actual: usize,
}

impl Image {
    /// Wraps a pixel buffer, checking that its length matches `width * height * channels`.
    pub fn new(
        width: u32,
        height: u32,
        channels: Channels,
        pixels: Vec<u8>,
    ) -> Result<Self, ImageSizeError> {
        let expected = (width as usize)
            .checked_mul(height as usize)
            .and_then(|n| n.checked_mul(channels.count()));
        if expected != Some(pixels.len()) {
            return Err(ImageSizeError {
                width,
                height,
                channels,
                expected: expected.unwrap_or(usize::MAX),
                actual: pixels.len(),
            });
        }
        Ok(Image {
            width,
            height,
            channels,
            pixels,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Pixel layout.
    pub fn channels(&self) -> Channels {
        self.channels
    }

    /// The raw interleaved pixel bytes.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// Gives the pixel buffer back.
    pub fn into_pixels(self) -> Vec<u8> {
        self.pixels
    }
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Image")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("channels", &self.channels)
            .finish_non_exhaustive()
    }
}
