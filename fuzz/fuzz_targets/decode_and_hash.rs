//! Any bytes through format detection, decoding (libjpeg-turbo's C code included) and PDQ
//! hashing: must never crash, hang or exhaust memory.

#![no_main]

use libfuzzer_sys::fuzz_target;
use takedown_media::{decode_image_with, DecodeOptions, ImageLimits};

fuzz_target!(|data: &[u8]| {
    // Tighter than the defaults so that a legitimately large image declared by a few bytes
    // does not trip libFuzzer's 2 GB memory limit; the limit logic itself is the same.
    let options = DecodeOptions {
        limits: ImageLimits {
            max_pixels: 4_000_000,
            max_alloc_bytes: 256 * 1024 * 1024,
            max_frames: 1_000,
            ..ImageLimits::default()
        },
        // Exercise libjpeg's recovery paths too.
        allow_truncated: true,
    };
    if let Ok(decoded) = decode_image_with(data, &options) {
        let pdq = takedown_signals::pdq::hash_image(&decoded.image);
        assert!(pdq.quality <= 100);
    }
});
