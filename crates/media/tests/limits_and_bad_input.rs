//! Hostile and broken inputs: every case must give a clear error (or, where the reference
//! would decode the file, the right pixels), never a panic, a hang or a huge allocation. All
//! bad inputs are generated here from fixed bytes or a seeded generator.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use takedown_media::{
    decode_image, decode_image_with, DecodeOptions, ImageFormat, ImageLimits, MediaError,
};
use takedown_signals::Channels;

fn vector(path: &str) -> Vec<u8> {
    let root: PathBuf = takedown_testmedia::vectors().join("pdq");
    std::fs::read(root.join("images").join(path)).unwrap()
}

fn defaults() -> ImageLimits {
    ImageLimits::default()
}

// ---- tiny encoders for generated inputs ----

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

/// A PNG with the given header fields; `rows` are unfiltered scanlines (a 0 filter byte is
/// added to each). With `rows` empty, only the header and IEND are written.
fn png(width: u32, height: u32, depth: u8, colour: u8, rows: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[depth, colour, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    if !rows.is_empty() {
        let mut raw = Vec::new();
        for row in rows {
            raw.push(0);
            raw.extend_from_slice(row);
        }
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut z, &raw).unwrap();
        png_chunk(&mut out, b"IDAT", &z.finish().unwrap());
    }
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// A GIF whose frames are each 1x1 with the given palette index; a 2-colour global table of
/// red and blue.
fn gif(frames: usize, first_size: (u16, u16)) -> Vec<u8> {
    let mut out = b"GIF89a".to_vec();
    out.extend_from_slice(&8u16.to_le_bytes());
    out.extend_from_slice(&8u16.to_le_bytes());
    out.extend_from_slice(&[0x80, 0, 0]); // global table of 2 colours
    out.extend_from_slice(&[255, 0, 0, 0, 0, 255]);
    for n in 0..frames {
        let (w, h) = if n == 0 { first_size } else { (1, 1) };
        out.push(0x2C);
        out.extend_from_slice(&[0, 0, 0, 0]);
        out.extend_from_slice(&w.to_le_bytes());
        out.extend_from_slice(&h.to_le_bytes());
        out.push(0);
        // LZW, min code size 2: clear (4), then index 0 (or 1) per pixel, end (5). For the
        // first frame (w*h <= 2 pixels here) every pixel is index 0 = red; later frames blue.
        let index = if n == 0 { 0u8 } else { 1 };
        let pixels = usize::from(w) * usize::from(h);
        let mut codes = vec![4u16];
        codes.extend(std::iter::repeat_n(u16::from(index), pixels));
        codes.push(5);
        // Pack 3-bit codes LSB first (few codes: the code size stays 3).
        let mut bits = 0u32;
        let mut nbits = 0;
        let mut data = Vec::new();
        for c in codes {
            bits |= u32::from(c) << nbits;
            nbits += 3;
            while nbits >= 8 {
                data.push(bits as u8);
                bits >>= 8;
                nbits -= 8;
            }
        }
        if nbits > 0 {
            data.push(bits as u8);
        }
        out.push(2);
        out.push(data.len() as u8);
        out.extend_from_slice(&data);
        out.push(0);
    }
    out.push(0x3B);
    out
}

/// A 24-bit BMP header (no pixel data unless given) for the stated size.
fn bmp(width: i32, height: i32, pixels: &[u8]) -> Vec<u8> {
    let mut out = b"BM".to_vec();
    out.extend_from_slice(&((54 + pixels.len()) as u32).to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&54u32.to_le_bytes());
    out.extend_from_slice(&40u32.to_le_bytes());
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&height.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&24u16.to_le_bytes());
    out.extend_from_slice(&[0; 24]);
    out.extend_from_slice(pixels);
    out
}

/// Sets the dimensions in a JPEG's SOFn header.
fn jpeg_with_size(mut jpeg: Vec<u8>, width: u16, height: u16) -> Vec<u8> {
    let mut i = 2;
    loop {
        let marker = jpeg[i + 1];
        let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
            jpeg[i + 5..i + 7].copy_from_slice(&height.to_be_bytes());
            jpeg[i + 7..i + 9].copy_from_slice(&width.to_be_bytes());
            return jpeg;
        }
        i += 2 + len;
    }
}

/// A small deterministic generator (xorshift), so corrupt inputs are the same every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

// ---- tests ----

#[test]
fn empty_input_is_an_error() {
    assert_eq!(
        decode_image(&[], &defaults()).unwrap_err(),
        MediaError::Empty
    );
}

#[test]
fn input_over_the_byte_limit_is_refused() {
    let limits = ImageLimits {
        max_input_bytes: 100,
        ..defaults()
    };
    let err = decode_image(&vector("misc-images/wee.jpg"), &limits).unwrap_err();
    assert!(
        matches!(err, MediaError::InputTooLarge { limit: 100, .. }),
        "{err}"
    );
}

#[test]
fn non_image_bytes_say_what_they_look_like() {
    let cases: [(&[u8], &str); 6] = [
        (
            b"<!DOCTYPE html>\n<html><body>404</body></html>",
            "HTML document",
        ),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "PDF document"),
        (
            b"PK\x03\x04\x14\x00\x00\x00",
            "ZIP archive (or an Office/EPUB document)",
        ),
        (b"II*\x00\x08\x00\x00\x00", "TIFF image (not supported)"),
        (b"just some words", "plain text"),
        (&[0x00, 0x13, 0x37, 0xfe, 0xff, 0x00], "unknown format"),
    ];
    for (bytes, expected) in cases {
        let err = decode_image(bytes, &defaults()).unwrap_err();
        assert_eq!(
            err,
            MediaError::UnsupportedFormat {
                looks_like: expected
            }
        );
        assert!(err.to_string().contains(expected));
    }
}

#[test]
fn huge_png_is_refused_from_its_header() {
    let start = Instant::now();
    let bytes = png(50_000, 50_000, 8, 2, &[]);
    let err = decode_image(&bytes, &defaults()).unwrap_err();
    assert!(
        matches!(
            err,
            MediaError::TooLarge {
                format: ImageFormat::Png,
                width: 50_000,
                height: 50_000,
                ..
            }
        ),
        "{err}"
    );
    assert!(start.elapsed() < Duration::from_secs(1));
    // Custom limits apply the same way.
    let small = ImageLimits {
        max_width: 4,
        ..defaults()
    };
    let five_wide = png(5, 1, 8, 0, &[vec![1, 2, 3, 4, 5]]);
    assert!(matches!(
        decode_image(&five_wide, &small).unwrap_err(),
        MediaError::TooLarge { .. }
    ));
    let tight_memory = ImageLimits {
        max_alloc_bytes: 10,
        ..defaults()
    };
    assert!(matches!(
        decode_image(&five_wide, &tight_memory).unwrap_err(),
        MediaError::TooLarge { .. }
    ));
}

#[test]
fn zero_sized_png_is_an_error() {
    let err = decode_image(&png(0, 10, 8, 0, &[]), &defaults()).unwrap_err();
    assert!(
        matches!(
            err,
            MediaError::Corrupt { .. } | MediaError::ZeroSize { .. }
        ),
        "{err}"
    );
}

#[test]
fn huge_jpeg_header_is_refused_before_decoding() {
    let bytes = jpeg_with_size(vector("misc-images/wee.jpg"), 65_000, 65_000);
    let err = decode_image(&bytes, &defaults()).unwrap_err();
    assert!(
        matches!(
            err,
            MediaError::TooLarge {
                format: ImageFormat::Jpeg,
                width: 65_000,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn huge_webp_header_is_refused() {
    // Lossless VP8L header: signature 0x2f, then 14-bit width-1 and height-1 (16384x16384,
    // the format's largest).
    let mut vp8l = vec![0x2f];
    let bits: u32 = 16_383 | (16_383 << 14);
    vp8l.extend_from_slice(&bits.to_le_bytes());
    vp8l.extend_from_slice(&[0; 16]);
    let mut bytes = b"RIFF".to_vec();
    bytes.extend_from_slice(&((4 + 8 + vp8l.len()) as u32).to_le_bytes());
    bytes.extend_from_slice(b"WEBPVP8L");
    bytes.extend_from_slice(&(vp8l.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&vp8l);
    let err = decode_image(&bytes, &defaults()).unwrap_err();
    assert!(
        matches!(
            err,
            MediaError::TooLarge {
                format: ImageFormat::WebP,
                width: 16_384,
                height: 16_384,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn huge_bmp_header_is_refused() {
    let err = decode_image(&bmp(1_000_000, -1_000_000, &[]), &defaults()).unwrap_err();
    assert!(
        matches!(
            err,
            MediaError::TooLarge {
                format: ImageFormat::Bmp,
                ..
            }
        ),
        "{err}"
    );
    let err = decode_image(&bmp(-5, 5, &[]), &defaults()).unwrap_err();
    assert!(matches!(err, MediaError::Corrupt { .. }), "{err}");
}

#[test]
fn bmp_decodes_top_down_and_bottom_up() {
    // 2x2, rows padded to 8 bytes; bottom-up: first stored row is the bottom one.
    let rows = [
        [0u8, 0, 255, 0, 255, 0, 0, 0],   // red, green (BGR order)
        [255, 0, 0, 255, 255, 255, 0, 0], // blue, white
    ];
    let data: Vec<u8> = rows.concat();
    let up = decode_image(&bmp(2, 2, &data), &defaults()).unwrap();
    assert_eq!(
        up.image.pixels(),
        &[0, 0, 255, 255, 255, 255, 255, 0, 0, 0, 255, 0]
    );
    let down = decode_image(&bmp(2, -2, &data), &defaults()).unwrap();
    assert_eq!(
        down.image.pixels(),
        &[255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]
    );
    assert!(decode_image(&bmp(2, 2, &data[..10]), &defaults()).is_err());
}

#[test]
fn gif_with_absurd_frame_count_is_refused_quickly() {
    let bytes = gif(200_000, (1, 1));
    let start = Instant::now();
    let err = decode_image(&bytes, &defaults()).unwrap_err();
    assert_eq!(
        err,
        MediaError::TooManyFrames {
            format: ImageFormat::Gif,
            limit: 20_000
        }
    );
    // With the limit lifted, only the first frame is decoded; the rest are just counted.
    let lifted = ImageLimits {
        max_frames: u32::MAX,
        ..defaults()
    };
    let decoded = decode_image(&bytes, &lifted).unwrap();
    assert_eq!(decoded.frame_count, 200_000);
    assert_eq!(decoded.image.pixels(), &[255, 0, 0]);
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn gif_gives_the_first_frame_at_its_own_size() {
    let decoded = decode_image(&gif(3, (2, 1)), &defaults()).unwrap();
    assert_eq!(decoded.format, ImageFormat::Gif);
    assert_eq!((decoded.width, decoded.height), (2, 1));
    assert_eq!(decoded.frame_count, 3);
    assert_eq!(decoded.image.pixels(), &[255, 0, 0, 255, 0, 0]);
}

#[test]
fn png_alpha_is_dropped_not_composited() {
    // RGBA: a fully transparent green pixel and an opaque blue one.
    let bytes = png(2, 1, 8, 6, &[vec![0, 255, 0, 0, 0, 0, 255, 255]]);
    let decoded = decode_image(&bytes, &defaults()).unwrap();
    assert!(decoded.alpha_dropped);
    assert_eq!(decoded.image.channels(), Channels::Rgb);
    assert_eq!(decoded.image.pixels(), &[0, 255, 0, 0, 0, 255]);
}

#[test]
fn sixteen_bit_png_gives_the_low_byte_like_the_reference() {
    // Grey 16-bit: 0x1234 and 0xABCD -> 0x34 and 0xCD (CImg's cast of a 16-bit PNM).
    let grey = png(2, 1, 16, 0, &[vec![0x12, 0x34, 0xAB, 0xCD]]);
    let decoded = decode_image(&grey, &defaults()).unwrap();
    assert_eq!(decoded.bit_depth, 16);
    assert_eq!(decoded.image.channels(), Channels::Grey);
    assert_eq!(decoded.image.pixels(), &[0x34, 0xCD]);
    // RGB 16-bit whose low bytes are equal but high bytes are not: not grey for ImageMagick.
    let rgb = png(1, 1, 16, 2, &[vec![0x01, 0x07, 0x02, 0x07, 0x03, 0x07]]);
    let decoded = decode_image(&rgb, &defaults()).unwrap();
    assert_eq!(decoded.image.channels(), Channels::Rgb);
    assert_eq!(decoded.image.pixels(), &[7, 7, 7]);
}

#[test]
fn rgb_image_with_only_grey_pixels_becomes_grey() {
    let bytes = png(2, 1, 8, 2, &[vec![9, 9, 9, 200, 200, 200]]);
    let decoded = decode_image(&bytes, &defaults()).unwrap();
    assert_eq!(decoded.image.channels(), Channels::Grey);
    assert_eq!(decoded.image.pixels(), &[9, 200]);
}

#[test]
fn jpeg_exif_orientation_is_reported_not_applied() {
    let plain = vector("misc-images/wee.jpg");
    // APP1 "Exif\0\0" + little-endian TIFF with one IFD0 entry: Orientation (0x0112) = 6.
    let mut tiff = b"II*\x00\x08\x00\x00\x00\x01\x00".to_vec();
    tiff.extend_from_slice(&[0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0]);
    tiff.extend_from_slice(&[0, 0, 0, 0]);
    let mut app1 = b"Exif\x00\x00".to_vec();
    app1.extend_from_slice(&tiff);
    let mut rotated = vec![0xFF, 0xD8, 0xFF, 0xE1];
    rotated.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    rotated.extend_from_slice(&app1);
    rotated.extend_from_slice(&plain[2..]);

    let a = decode_image(&plain, &defaults()).unwrap();
    let b = decode_image(&rotated, &defaults()).unwrap();
    assert_eq!(b.exif_orientation, Some(6));
    assert_eq!(a.image, b.image, "orientation is not applied");
}

#[test]
fn truncated_jpeg_is_an_error_unless_allowed() {
    let full = vector("reg-test-input/labelme-subset/q0291.jpg");
    let cut = &full[..full.len() / 2];
    let err = decode_image(cut, &defaults()).unwrap_err();
    assert!(
        matches!(
            err,
            MediaError::Truncated {
                format: ImageFormat::Jpeg,
                ..
            }
        ),
        "{err}"
    );
    let lenient = DecodeOptions {
        allow_truncated: true,
        ..DecodeOptions::default()
    };
    let decoded = decode_image_with(cut, &lenient).unwrap();
    assert!(decoded.truncated);
    assert!(!decoded.warnings.is_empty());
    assert_eq!((decoded.width, decoded.height), (256, 256));
    // Cut inside the headers: nothing to decode at all.
    assert!(decode_image_with(&full[..300], &lenient).is_err());
}

/// The test images of each format, read from the vectors or generated.
fn samples() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("jpeg", vector("misc-images/wee.jpg")),
        (
            "jpeg-cmyk-crop",
            vector("reg-test-input/labelme-subset/q0003.jpg"),
        ),
        ("png", vector("misc-images/modes/1.png")),
        ("png-rgb", png(3, 2, 8, 2, &[vec![1; 9], vec![200; 9]])),
        ("webp", vector("misc-images/modes/PA.webp")),
        ("gif", gif(3, (2, 1))),
        ("bmp", bmp(2, 2, &[7u8; 16])),
    ]
}

#[test]
fn truncated_files_of_every_format_fail_cleanly() {
    for (name, bytes) in samples() {
        for cut in [
            1,
            2,
            3,
            8,
            13,
            20,
            30,
            60,
            bytes.len() / 3,
            bytes.len() / 2,
            bytes.len() - 1,
        ] {
            if cut >= bytes.len() {
                continue;
            }
            match decode_image(&bytes[..cut], &defaults()) {
                Err(e) => assert!(!e.to_string().is_empty()),
                // A few formats tolerate a missing trailer (e.g. GIF without ';').
                Ok(d) => assert!(!d.image.pixels().is_empty(), "{name} cut at {cut}"),
            }
        }
    }
}

#[test]
fn corrupted_files_of_every_format_never_panic() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for (name, bytes) in samples() {
        let rounds = if name == "webp" { 20 } else { 60 };
        for _ in 0..rounds {
            let mut damaged = bytes.clone();
            for _ in 0..1 + rng.below(8) {
                let at = rng.below(damaged.len());
                damaged[at] = rng.next() as u8;
            }
            // Any result is fine; a panic fails the test.
            let _ = decode_image(&damaged, &defaults());
        }
    }
}
