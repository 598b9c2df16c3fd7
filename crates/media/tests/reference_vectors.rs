//! Bit-exactness against the PDQ C++ reference, on the shared vectors (read in place, never
//! copied): decoded pixels against the reference's own decoded buffers, and hashes against
//! `reference-hashes.csv`.

use std::io::Read;
use std::path::PathBuf;

use takedown_media::{decode_image, ImageLimits};
use takedown_signals::pdq::{hash_image, reference_resize_512};
use takedown_signals::{Channels, Hash256};

fn vectors() -> PathBuf {
    takedown_testmedia::vectors().join("pdq")
}

/// Parses a binary PGM (P5) or PPM (P6) with maxval 255: (channels, width, height, pixels).
fn parse_pnm(data: &[u8]) -> (Channels, u32, u32, Vec<u8>) {
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while data[i].is_ascii_whitespace() {
            i += 1;
        }
        if data[i] == b'#' {
            while data[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        while !data[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8(data[start..i].to_vec()).unwrap());
    }
    i += 1; // the single whitespace byte after maxval
    let channels = match fields[0].as_str() {
        "P5" => Channels::Grey,
        "P6" => Channels::Rgb,
        other => panic!("unexpected PNM type {other}"),
    };
    assert_eq!(fields[3], "255");
    (
        channels,
        fields[1].parse().unwrap(),
        fields[2].parse().unwrap(),
        data[i..].to_vec(),
    )
}

/// Every decoded buffer the reference wrote (its pixels after the 512x512 step) equals our
/// decode followed by the same step, byte for byte, with the same channel count.
#[test]
fn decoded_buffers_match_reference_pixels() {
    let dir = vectors().join("decoded-buffers");
    let mut checked = 0;
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    for name in names {
        let stem = name.strip_suffix(".pnm.gz").unwrap();
        // The name is the image path with '/' replaced by '_'; find the path that exists.
        let image_path = image_path_for(stem);
        let mut gz = flate2::read::GzDecoder::new(std::fs::File::open(dir.join(&name)).unwrap());
        let mut pnm = Vec::new();
        gz.read_to_end(&mut pnm).unwrap();
        let (channels, width, height, pixels) = parse_pnm(&pnm);

        let bytes = std::fs::read(&image_path).unwrap();
        let decoded =
            decode_image(&bytes, &ImageLimits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let resized = reference_resize_512(&decoded.image);
        assert_eq!(resized.channels(), channels, "{name}: channels");
        assert_eq!(
            (resized.width(), resized.height()),
            (width, height),
            "{name}"
        );
        assert!(
            resized.pixels() == pixels.as_slice(),
            "{name}: pixels differ"
        );
        checked += 1;
    }
    assert_eq!(checked, 14);
}

fn image_path_for(stem: &str) -> PathBuf {
    let images = vectors().join("images");
    let parts: Vec<&str> = stem.split('_').collect();
    // Try every way of turning underscores back into slashes (names are short).
    for mask in 0u32..(1 << (parts.len() - 1)) {
        let mut path = String::from(parts[0]);
        for (i, part) in parts[1..].iter().enumerate() {
            path.push(if mask & (1 << i) != 0 { '/' } else { '_' });
            path.push_str(part);
        }
        let candidate = images.join(&path);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!("no image for {stem}");
}

/// Every image shipped in the vectors decodes and hashes to exactly the reference's hash and
/// quality (distance 0 for all of them; see the crate docs for why).
#[test]
fn every_vector_image_hashes_exactly() {
    let csv = std::fs::read_to_string(vectors().join("expected/reference-hashes.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (path_col, hex_col, quality_col, included_col, channels_col) = (
        col("path"),
        col("pdq_hex"),
        col("quality"),
        col("file_included"),
        col("decoded_channels"),
    );
    let mut checked = 0;
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        if f[included_col] != "yes" {
            continue;
        }
        let bytes = std::fs::read(vectors().join("images").join(f[path_col])).unwrap();
        let decoded = decode_image(&bytes, &ImageLimits::default())
            .unwrap_or_else(|e| panic!("{}: {e}", f[path_col]));
        let expected_channels: usize = f[channels_col].parse().unwrap();
        assert_eq!(
            decoded.image.channels().count(),
            expected_channels,
            "{}: channels",
            f[path_col]
        );
        let pdq = hash_image(&decoded.image);
        let expected = Hash256::from_hex(f[hex_col]).unwrap();
        assert_eq!(
            pdq.hash.distance(&expected),
            0,
            "{}: got {} want {}",
            f[path_col],
            pdq.hash.to_hex(),
            f[hex_col]
        );
        assert_eq!(
            pdq.quality,
            f[quality_col].parse::<u8>().unwrap(),
            "{}: quality",
            f[path_col]
        );
        checked += 1;
    }
    assert_eq!(checked, 37, "every shipped image was checked");
}

/// Facts reported alongside the pixels.
#[test]
fn reports_format_size_and_alpha() {
    let read = |p: &str| std::fs::read(vectors().join("images").join(p)).unwrap();
    let limits = ImageLimits::default();

    let pa = decode_image(&read("misc-images/modes/PA.webp"), &limits).unwrap();
    assert_eq!(pa.format, takedown_media::ImageFormat::WebP);
    // Pillow's "PA" mode, but the WebP itself is plain lossy VP8 without an alpha chunk.
    assert!(!pa.alpha_dropped);
    assert_eq!(pa.frame_count, 1);
    assert_eq!((pa.width, pa.height), (1600, 1004));

    let one = decode_image(&read("misc-images/modes/1.png"), &limits).unwrap();
    assert_eq!(one.bit_depth, 1);
    assert_eq!(one.image.channels(), Channels::Grey);
    assert!(one.image.pixels().iter().all(|&v| v == 0 || v == 255));

    let cmyk = decode_image(&read("misc-images/modes/CMYK.jpg"), &limits).unwrap();
    assert_eq!(cmyk.image.channels(), Channels::Rgb);
    assert!(!cmyk.truncated && !cmyk.alpha_dropped);
}
