//! JPEG through libjpeg-turbo's decoder (the copy vendored in `mozjpeg-sys`, built from C by
//! `cc`), configured as ImageMagick 6 configures Debian's libjpeg-turbo 2.1.5 when the PDQ
//! reference runs `convert FILE pnm:-`: accurate integer IDCT (`JDCT_ISLOW`), fancy
//! upsampling, block smoothing, libjpeg's own YCbCr->RGB. Pure-Rust JPEG decoders round
//! differently (measured: 2-6 bits of PDQ distance on small photos), so the C decoder is the
//! only way to be exact.
//!
//! libjpeg reports fatal errors by calling `error_exit`, which must not return. Ours unwinds
//! with [`std::panic::resume_unwind`] (the C is compiled with `-fexceptions`, and the callback
//! ABI is `C-unwind`), and [`decode`] catches it with [`std::panic::catch_unwind`].
//! `resume_unwind` skips the panic hook, so nothing is printed to stderr, and a fuzzer's
//! abort-on-panic hook is not triggered by an ordinary corrupt file. Warnings are collected,
//! never printed.

use std::ffi::{c_int, c_long, c_ulong, c_void};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use mozjpeg_sys::{
    boolean, jpeg_common_struct, jpeg_create_decompress, jpeg_decompress_struct,
    jpeg_destroy_decompress, jpeg_error_mgr, jpeg_finish_decompress, jpeg_mem_src,
    jpeg_progress_mgr, jpeg_read_header, jpeg_read_scanlines, jpeg_start_decompress,
    jpeg_std_error, JSAMPROW_MUT, J_COLOR_SPACE, J_DCT_METHOD,
};

use crate::{check_dimensions, DecodeOptions, ImageFormat, MediaError, RawImage};

// libjpeg message codes (enum J_MESSAGE_CODE in jerror.h, as compiled with
// JPEG_LIB_VERSION 62 and arithmetic decoding on). The tests pin the ones that matter by
// behaviour (truncated file -> JWRN_JPEG_EOF).
const JERR_ARITH_NOTIMPL: c_int = 1;
const JERR_BAD_PRECISION: c_int = 15;
const JERR_CONVERSION_NOTIMPL: c_int = 27;
const JERR_INPUT_EMPTY: c_int = 42;
const JERR_INPUT_EOF: c_int = 43;
const JERR_NOTIMPL: c_int = 47;
const JERR_NOT_COMPILED: c_int = 48;
const JERR_NO_BACKING_STORE: c_int = 49;
const JERR_OUT_OF_MEMORY: c_int = 54;
const JERR_SOF_UNSUPPORTED: c_int = 60;
const JWRN_JPEG_EOF: c_int = 120;

// ImageMagick 6.9.11 keeps decoding however many corrupt-data warnings libjpeg emits (it only
// stops *reporting* them after 1000), so warnings never abort a decode here either: a damaged
// file gets exactly the reference's pixels. Truncation is the one warning with a policy.

/// A progressive JPEG can carry thousands of tiny scans, each of which makes libjpeg walk the
/// whole coefficient buffer: a cheap file that burns minutes of CPU. Real encoders use about
/// ten; libjpeg-turbo's own tools suggest a limit of 500.
const MAX_SCANS: c_int = 500;

/// Why decoding stopped inside libjpeg. Carried through the C frames as a panic payload.
struct JpegFailure {
    code: c_int,
    message: String,
}

/// Warnings seen while decoding, reached from the C callbacks through `client_data`.
#[derive(Default)]
struct Warnings {
    count: u32,
    premature_eof: bool,
    messages: Vec<String>,
}

/// Everything libjpeg points into, kept at one heap address for the decoder's lifetime.
struct Session {
    c: CState,
    warnings: Warnings,
    created: bool,
}

/// The C structs, plain data that libjpeg initialises itself.
struct CState {
    cinfo: jpeg_decompress_struct,
    err: jpeg_error_mgr,
    progress: jpeg_progress_mgr,
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.created {
            // SAFETY: `cinfo` was initialised by jpeg_create_decompress and not yet destroyed;
            // libjpeg allows destroy in any state, including after error_exit.
            unsafe { jpeg_destroy_decompress(&mut self.c.cinfo) };
        }
    }
}

fn format_message(cinfo: &mut jpeg_common_struct) -> String {
    // libjpeg may write up to JMSG_LENGTH_MAX (200) bytes although the binding's type says 80.
    let mut buffer = [0u8; 256];
    // SAFETY: `err` is our error manager (set before any callback can run); format_message
    // writes a NUL-terminated string of at most 200 bytes into the 256-byte buffer.
    unsafe {
        if let Some(format) = (*cinfo.err).format_message {
            format(cinfo, &*(buffer.as_mut_ptr() as *const [u8; 80]));
        }
    }
    let len = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    String::from_utf8_lossy(&buffer[..len]).into_owned()
}

unsafe extern "C-unwind" fn error_exit(cinfo: &mut jpeg_common_struct) {
    let message = format_message(cinfo);
    // SAFETY: err points at our Session's error manager for the whole decode.
    let code = unsafe { (*cinfo.err).msg_code };
    resume_unwind(Box::new(JpegFailure { code, message }));
}

unsafe extern "C-unwind" fn emit_message(cinfo: &mut jpeg_common_struct, level: c_int) {
    if level >= 0 {
        return; // trace messages: never wanted
    }
    // SAFETY: client_data points at our Session's Warnings while the decoder exists.
    let code = unsafe { (*cinfo.err).msg_code };
    let message = format_message(cinfo);
    let warnings = unsafe { &mut *(cinfo.client_data as *mut Warnings) };
    warnings.count = warnings.count.saturating_add(1);
    if code == JWRN_JPEG_EOF {
        warnings.premature_eof = true;
    }
    // Keep a few distinct messages; a truncated file repeats the same one per missing block.
    if warnings.messages.len() < 8 && !warnings.messages.contains(&message) {
        warnings.messages.push(message);
    }
}

unsafe extern "C-unwind" fn output_message(_cinfo: &mut jpeg_common_struct) {
    // libjpeg's default prints to stderr; a server must not.
}

unsafe extern "C-unwind" fn progress_monitor(cinfo: &mut jpeg_common_struct) {
    if cinfo.is_decompressor == 0 {
        return;
    }
    // SAFETY: for a decompressor, the common struct is the head of jpeg_decompress_struct.
    let dinfo = unsafe { &*(cinfo as *mut jpeg_common_struct as *const jpeg_decompress_struct) };
    if dinfo.input_scan_number > MAX_SCANS {
        resume_unwind(Box::new(JpegFailure {
            code: -1,
            message: format!("more than {MAX_SCANS} progressive scans"),
        }));
    }
}

/// Decodes a JPEG to RGB or grey the way ImageMagick does.
pub(crate) fn decode(bytes: &[u8], options: &DecodeOptions) -> Result<RawImage, MediaError> {
    // SAFETY (for the zeroed value): every field of these C structs is an integer, a raw
    // pointer, an Option of a function pointer or a C enum whose zero value is a valid
    // variant; libjpeg initialises them properly in jpeg_create_decompress / jpeg_std_error.
    let mut session = Box::new(Session {
        c: unsafe { std::mem::zeroed() },
        warnings: Warnings::default(),
        created: false,
    });
    let result = catch_unwind(AssertUnwindSafe(|| decode_in(&mut session, bytes, options)));
    let warnings = std::mem::take(&mut session.warnings);
    drop(session);
    match result {
        Ok(result) => {
            let mut raw = result?;
            if warnings.premature_eof && !options.allow_truncated {
                return Err(MediaError::Truncated {
                    format: ImageFormat::Jpeg,
                    detail: "the file ends before the image data does (libjpeg: \"Premature end \
                             of JPEG file\")"
                        .into(),
                });
            }
            raw.truncated = warnings.premature_eof;
            raw.warnings = warnings.messages;
            Ok(raw)
        }
        Err(payload) => match payload.downcast::<JpegFailure>() {
            Ok(failure) => Err(classify(*failure, options)),
            // Not ours (a bug in this crate): keep unwinding, do not hide it.
            Err(other) => resume_unwind(other),
        },
    }
}

fn classify(failure: JpegFailure, options: &DecodeOptions) -> MediaError {
    let format = ImageFormat::Jpeg;
    let detail = failure.message;
    match failure.code {
        JERR_INPUT_EMPTY | JERR_INPUT_EOF => MediaError::Truncated { format, detail },
        JERR_OUT_OF_MEMORY | JERR_NO_BACKING_STORE => MediaError::MemoryLimit {
            format,
            limit: options.limits.max_alloc_bytes,
        },
        JERR_BAD_PRECISION
        | JERR_ARITH_NOTIMPL
        | JERR_NOTIMPL
        | JERR_NOT_COMPILED
        | JERR_SOF_UNSUPPORTED
        | JERR_CONVERSION_NOTIMPL => MediaError::Unsupported { format, detail },
        _ => MediaError::Corrupt { format, detail },
    }
}

/// Runs inside `catch_unwind`: any libjpeg error unwinds out of here.
fn decode_in(
    s: &mut Session,
    bytes: &[u8],
    options: &DecodeOptions,
) -> Result<RawImage, MediaError> {
    let limits = &options.limits;
    // SAFETY: all pointers handed to libjpeg point into `s`, which is boxed and outlives the
    // decompressor (destroyed in Session::drop), or into `bytes`, which outlives this call.
    unsafe {
        s.c.cinfo.common.err = jpeg_std_error(&mut s.c.err);
        s.c.err.error_exit = Some(error_exit);
        s.c.err.emit_message = Some(emit_message);
        s.c.err.output_message = Some(output_message);
        jpeg_create_decompress(&mut s.c.cinfo);
        s.created = true;
        // jpeg_create_decompress clears the struct but keeps `err`; set the rest after it.
        s.c.cinfo.common.client_data = &mut s.warnings as *mut Warnings as *mut c_void;
        s.c.progress.progress_monitor = Some(progress_monitor);
        s.c.cinfo.common.progress = &mut s.c.progress;
        // Bounds the whole-image coefficient buffer of progressive and multi-scan files;
        // with no backing store, exceeding it is a clean JERR_NO_BACKING_STORE error.
        (*s.c.cinfo.common.mem).max_memory_to_use =
            c_long::try_from(limits.max_alloc_bytes).unwrap_or(c_long::MAX);

        jpeg_mem_src(&mut s.c.cinfo, bytes.as_ptr(), bytes.len() as c_ulong);
        jpeg_read_header(&mut s.c.cinfo, 1 as boolean);

        let width = s.c.cinfo.image_width;
        let height = s.c.cinfo.image_height;
        let (out_space, source_channels) = match s.c.cinfo.jpeg_color_space {
            J_COLOR_SPACE::JCS_GRAYSCALE => (J_COLOR_SPACE::JCS_GRAYSCALE, 1usize),
            J_COLOR_SPACE::JCS_CMYK | J_COLOR_SPACE::JCS_YCCK => (J_COLOR_SPACE::JCS_CMYK, 4),
            _ => (J_COLOR_SPACE::JCS_RGB, 3),
        };
        let out_channels = if source_channels == 1 { 1 } else { 3 };
        check_dimensions(
            ImageFormat::Jpeg,
            u64::from(width),
            u64::from(height),
            out_channels as u64,
            limits,
        )?;

        // libjpeg's defaults, which ImageMagick keeps; set explicitly so the exactness this
        // crate promises does not hang on a default.
        s.c.cinfo.out_color_space = out_space;
        s.c.cinfo.dct_method = J_DCT_METHOD::JDCT_ISLOW;
        s.c.cinfo.do_fancy_upsampling = 1;
        s.c.cinfo.do_block_smoothing = 1;
        s.c.cinfo.scale_num = 1;
        s.c.cinfo.scale_denom = 1;

        jpeg_start_decompress(&mut s.c.cinfo);
        if s.c.cinfo.output_width != width
            || s.c.cinfo.output_height != height
            || s.c.cinfo.output_components as usize != source_channels
        {
            return Err(MediaError::Corrupt {
                format: ImageFormat::Jpeg,
                detail: "decoder output does not match the header".into(),
            });
        }

        let w = width as usize;
        let h = height as usize;
        let mut pixels = vec![0u8; w * h * out_channels];
        if source_channels == 4 {
            let mut row = vec![0u8; w * 4];
            for y in 0..h {
                let mut ptr: JSAMPROW_MUT = row.as_mut_ptr();
                if jpeg_read_scanlines(&mut s.c.cinfo, &mut ptr, 1) != 1 {
                    return Err(stalled());
                }
                cmyk_row_to_rgb(&row, &mut pixels[y * w * 3..(y + 1) * w * 3]);
            }
        } else {
            let stride = w * out_channels;
            while (s.c.cinfo.output_scanline as usize) < h {
                let y = s.c.cinfo.output_scanline as usize;
                // Hand libjpeg several rows at once (up to rec_outbuf_height) so it can write
                // straight into our buffer without its own copy.
                let mut rows: [JSAMPROW_MUT; 4] = [std::ptr::null_mut(); 4];
                let n = (h - y).min(4);
                for (i, row) in rows.iter_mut().enumerate().take(n) {
                    *row = pixels.as_mut_ptr().add((y + i) * stride);
                }
                let got = jpeg_read_scanlines(&mut s.c.cinfo, rows.as_mut_ptr(), n as u32);
                if got == 0 {
                    return Err(stalled());
                }
            }
        }
        jpeg_finish_decompress(&mut s.c.cinfo);

        Ok(RawImage {
            width,
            height,
            pixels,
            channels: out_channels,
            // ImageMagick keeps CMYK images in the CMYK colorspace, and its PNM writer only
            // considers sRGB-compatible images for grey output.
            may_be_grey: source_channels == 3,
            has_alpha: false,
            truncated: false,
            warnings: Vec::new(),
        })
    }
}

fn stalled() -> MediaError {
    MediaError::Corrupt {
        format: ImageFormat::Jpeg,
        detail: "decoder produced no scanlines".into(),
    }
}

/// ImageMagick reads every CMYK JPEG as Adobe-inverted (stored value = 255 - ink), scales to
/// 16 bits, and for PNM output converts with `R = QuantumRange - (C*(QuantumRange-K)/QuantumRange
/// + K)` in double, rounds to 16 bits, then scales to 8 bits with `(q + 128 - ((q + 128) >> 8))
/// >> 8`. Reproduced literally, since its rounding steps decide ties.
fn cmyk_row_to_rgb(cmyk: &[u8], rgb: &mut [u8]) {
    for (src, dst) in cmyk.chunks_exact(4).zip(rgb.chunks_exact_mut(3)) {
        let k = 65535.0 - f64::from(src[3]) * 257.0;
        for (i, out) in dst.iter_mut().enumerate() {
            let c = 65535.0 - f64::from(src[i]) * 257.0;
            let value = 65535.0 - ((1.0 / 65535.0) * c * (65535.0 - k) + k);
            *out = quantum_to_u8(clamp_to_quantum(value));
        }
    }
}

/// ImageMagick's `ClampToQuantum` for a non-HDRI Q16 build: clamp, then round half up.
pub(crate) fn clamp_to_quantum(value: f64) -> u16 {
    if value <= 0.0 {
        0
    } else if value >= 65535.0 {
        65535
    } else {
        (value + 0.5) as u16
    }
}

/// ImageMagick's `ScaleQuantumToChar` for Q16.
pub(crate) fn quantum_to_u8(q: u16) -> u8 {
    let q = u32::from(q) + 128;
    ((q - (q >> 8)) >> 8) as u8
}
