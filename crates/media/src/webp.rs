//! WebP through libwebp itself (vendored C, built by `libwebp-sys`), the library ImageMagick
//! uses for the reference: its lossy decoder, fancy chroma upsampling and YUV->RGB rounding
//! are the definition of the right pixels, and it is several times faster than the pure-Rust
//! decoders. Decoded with ImageMagick's settings (libwebp defaults, RGBA when the file has
//! alpha, which is then dropped). For an animation ImageMagick returns each frame as its own
//! image of the frame's size, so the reference hashes the first frame's rectangle alone: that
//! is what we decode.
//!
//! libwebp reports errors as status codes (it never aborts or unwinds) and writes straight
//! into our buffer, allocated after the dimensions have passed the limits.

use std::ffi::c_int;

use libwebp_sys as sys;
use sys::{VP8StatusCode, WEBP_CSP_MODE};

use crate::{check_dimensions, DecodeOptions, Facts, ImageFormat, MediaError, RawImage};

const FORMAT: ImageFormat = ImageFormat::WebP;

fn status_error(status: VP8StatusCode, limit: u64) -> MediaError {
    match status {
        VP8StatusCode::VP8_STATUS_NOT_ENOUGH_DATA => MediaError::Truncated {
            format: FORMAT,
            detail: "the file ends before the image data does".into(),
        },
        VP8StatusCode::VP8_STATUS_OUT_OF_MEMORY => MediaError::MemoryLimit {
            format: FORMAT,
            limit,
        },
        VP8StatusCode::VP8_STATUS_UNSUPPORTED_FEATURE => MediaError::Unsupported {
            format: FORMAT,
            detail: "libwebp: unsupported feature".into(),
        },
        other => MediaError::Corrupt {
            format: FORMAT,
            detail: format!("libwebp: {other:?}"),
        },
    }
}

/// Owns a libwebp demuxer and frame iterator so both are released on every path.
struct Demux {
    demux: *mut sys::WebPDemuxer,
    iter: sys::WebPIterator,
    has_frame: bool,
}

impl Drop for Demux {
    fn drop(&mut self) {
        // SAFETY: both were created by libwebp (or are null / unused) and are released once.
        unsafe {
            if self.has_frame {
                sys::WebPDemuxReleaseIterator(&mut self.iter);
            }
            sys::WebPDemuxDelete(self.demux);
        }
    }
}

pub(crate) fn decode(
    bytes: &[u8],
    options: &DecodeOptions,
    facts: &mut Facts,
) -> Result<RawImage, MediaError> {
    let limits = &options.limits;
    let limit = limits.max_alloc_bytes;
    // SAFETY: WebPBitstreamFeatures is plain data; libwebp fills it from `bytes`, which it only
    // reads within the given length.
    let mut features: sys::WebPBitstreamFeatures = unsafe { std::mem::zeroed() };
    let status = unsafe { sys::WebPGetFeatures(bytes.as_ptr(), bytes.len(), &mut features) };
    if status != VP8StatusCode::VP8_STATUS_OK {
        return Err(status_error(status, limit));
    }
    if features.has_animation == 0 {
        return decode_still(bytes, options);
    }

    let data = sys::WebPData {
        bytes: bytes.as_ptr(),
        size: bytes.len(),
    };
    // SAFETY: the demuxer reads `bytes` (which outlives it: it is dropped at the end of this
    // function) and is deleted by Demux::drop.
    let mut demux = Demux {
        demux: unsafe {
            sys::WebPDemuxInternal(
                &data,
                0,
                std::ptr::null_mut(),
                sys::WEBP_DEMUX_ABI_VERSION as c_int,
            )
        },
        iter: unsafe { std::mem::zeroed() },
        has_frame: false,
    };
    if demux.demux.is_null() {
        return Err(MediaError::Corrupt {
            format: FORMAT,
            detail: "invalid animation container".into(),
        });
    }
    let frames =
        unsafe { sys::WebPDemuxGetI(demux.demux, sys::WebPFormatFeature::WEBP_FF_FRAME_COUNT) };
    if frames > limits.max_frames {
        return Err(MediaError::TooManyFrames {
            format: FORMAT,
            limit: limits.max_frames,
        });
    }
    facts.frame_count = frames.max(1);
    demux.has_frame = unsafe { sys::WebPDemuxGetFrame(demux.demux, 1, &mut demux.iter) } != 0;
    if !demux.has_frame {
        return Err(MediaError::Corrupt {
            format: FORMAT,
            detail: "animation has no frame".into(),
        });
    }
    let fragment = demux.iter.fragment;
    // SAFETY: the fragment points into `bytes` (the demuxer does not copy), valid here.
    let frame = unsafe { std::slice::from_raw_parts(fragment.bytes, fragment.size) };
    decode_still(frame, options)
}

/// Decodes one still bitstream (a whole simple file, or an animation frame's fragment).
fn decode_still(bytes: &[u8], options: &DecodeOptions) -> Result<RawImage, MediaError> {
    let limits = &options.limits;
    let limit = limits.max_alloc_bytes;
    // SAFETY: WebPDecoderConfig is plain data initialised by WebPInitDecoderConfig.
    let mut config: sys::WebPDecoderConfig = unsafe { std::mem::zeroed() };
    if !unsafe { sys::WebPInitDecoderConfig(&mut config) } {
        return Err(MediaError::Unsupported {
            format: FORMAT,
            detail: "libwebp version mismatch".into(),
        });
    }
    let status = unsafe { sys::WebPGetFeatures(bytes.as_ptr(), bytes.len(), &mut config.input) };
    if status != VP8StatusCode::VP8_STATUS_OK {
        return Err(status_error(status, limit));
    }
    let (width, height) = (config.input.width, config.input.height);
    let has_alpha = config.input.has_alpha != 0;
    let channels: usize = if has_alpha { 4 } else { 3 };
    // libwebp's own working memory is a few rows plus, for lossless, about 4 bytes a pixel.
    check_dimensions(
        FORMAT,
        u64::try_from(width).unwrap_or(0),
        u64::try_from(height).unwrap_or(0),
        channels as u64 + 4,
        limits,
    )?;
    let (w, h) = (width as usize, height as usize);
    let mut buffer = vec![0u8; w * h * channels];
    config.output.colorspace = if has_alpha {
        WEBP_CSP_MODE::MODE_RGBA
    } else {
        WEBP_CSP_MODE::MODE_RGB
    };
    config.output.is_external_memory = 1;
    config.output.u.RGBA = sys::WebPRGBABuffer {
        rgba: buffer.as_mut_ptr(),
        stride: (w * channels) as c_int,
        size: buffer.len(),
    };
    // SAFETY: libwebp writes at most `size` bytes at `rgba` (our buffer, alive until after the
    // call) and reads `bytes` within its length. With external memory it allocates no output.
    let status = unsafe { sys::WebPDecode(bytes.as_ptr(), bytes.len(), &mut config) };
    unsafe { sys::WebPFreeDecBuffer(&mut config.output) };
    if status != VP8StatusCode::VP8_STATUS_OK {
        return Err(status_error(status, limit));
    }
    let pixels = if has_alpha {
        // Drop alpha in place: RGBA -> RGB.
        let n = w * h;
        for i in 0..n {
            buffer.copy_within(4 * i..4 * i + 3, 3 * i);
        }
        buffer.truncate(3 * n);
        buffer
    } else {
        buffer
    };
    Ok(RawImage {
        width: width as u32,
        height: height as u32,
        pixels,
        channels: 3,
        may_be_grey: true,
        has_alpha,
        truncated: false,
        warnings: Vec::new(),
    })
}
