//! PDQ against Meta's reference output, on the reference's own decoded pixels.
//!
//! `vectors/pdq/decoded-buffers/` holds the exact 8-bit pixels the C++ reference hashed (after
//! its decoder and its 512x512 step); hashing them must give the hash, quality and dihedral
//! hashes of `expected/reference-hashes.csv` and `expected/reference-dihedral.csv` exactly.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;

use takedown_signals::pdq::{dihedral_image, hash_image};
use takedown_signals::{Channels, Hash256, Image};

fn vectors() -> PathBuf {
    takedown_testmedia::vectors().join("pdq")
}

/// Rows of a reference CSV keyed by image path.
fn csv_rows(name: &str) -> HashMap<String, HashMap<String, String>> {
    let text = std::fs::read_to_string(vectors().join("expected").join(name)).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines
        .map(|line| {
            let fields: HashMap<String, String> = header
                .iter()
                .zip(line.split(','))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            (fields["path"].clone(), fields)
        })
        .collect()
}

/// Parses a binary PPM (P6) or PGM (P5) with maxval 255.
fn read_pnm(bytes: &[u8]) -> Image {
    let mut fields = Vec::new();
    let mut position = 0;
    while fields.len() < 4 {
        while bytes[position].is_ascii_whitespace() {
            position += 1;
        }
        let start = position;
        while !bytes[position].is_ascii_whitespace() {
            position += 1;
        }
        fields.push(
            std::str::from_utf8(&bytes[start..position])
                .unwrap()
                .to_string(),
        );
    }
    position += 1; // the single whitespace byte after maxval
    assert_eq!(fields[3], "255");
    let channels = match fields[0].as_str() {
        "P5" => Channels::Grey,
        "P6" => Channels::Rgb,
        other => panic!("unexpected PNM magic {other}"),
    };
    let width: u32 = fields[1].parse().unwrap();
    let height: u32 = fields[2].parse().unwrap();
    Image::new(width, height, channels, bytes[position..].to_vec()).unwrap()
}

fn decoded_buffers() -> Vec<(String, Image)> {
    let mut buffers = Vec::new();
    for entry in std::fs::read_dir(vectors().join("decoded-buffers")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let image_path = name.trim_end_matches(".pnm.gz");
        // The buffer name is the image path with `/` replaced by `_`; directory names
        // themselves contain `-` but never `_`, and file names may contain `_` only after
        // the last directory, so map back by matching against the CSV keys.
        let mut bytes = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap())
            .read_to_end(&mut bytes)
            .unwrap();
        buffers.push((image_path.to_string(), read_pnm(&bytes)));
    }
    buffers.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(buffers.len(), 14, "all 14 decoded buffers are present");
    buffers
}

fn csv_key(buffer_name: &str, rows: &HashMap<String, HashMap<String, String>>) -> String {
    rows.keys()
        .find(|key| key.replace('/', "_") == buffer_name)
        .unwrap_or_else(|| panic!("no reference row for {buffer_name}"))
        .clone()
}

#[test]
fn hashes_and_qualities_equal_the_reference_on_its_decoded_pixels() {
    let rows = csv_rows("reference-hashes.csv");
    for (name, image) in decoded_buffers() {
        let row = &rows[&csv_key(&name, &rows)];
        assert_eq!(image.width().to_string(), row["decoded_width"], "{name}");
        assert_eq!(image.height().to_string(), row["decoded_height"], "{name}");
        let pdq = hash_image(&image);
        let expected = Hash256::from_hex(&row["pdq_hex"]).unwrap();
        assert_eq!(
            pdq.hash.distance(&expected),
            0,
            "{name}: got {} expected {expected}",
            pdq.hash
        );
        assert_eq!(pdq.quality.to_string(), row["quality"], "{name} quality");
    }
}

#[test]
fn dihedral_hashes_equal_the_reference_on_its_decoded_pixels() {
    let rows = csv_rows("reference-dihedral.csv");
    for (name, image) in decoded_buffers() {
        let row = &rows[&csv_key(&name, &rows)];
        let dihedral = dihedral_image(&image);
        let columns = [
            "orig",
            "rot90",
            "rot180",
            "rot270",
            "flipx",
            "flipy",
            "flipplus1",
            "flipminus1",
        ];
        for ((label, hash), column) in dihedral.named().iter().zip(columns) {
            assert_eq!(*label, column);
            assert_eq!(hash.to_hex(), row[column], "{name} {column}");
        }
        assert_eq!(
            dihedral.quality.to_string(),
            row["quality"],
            "{name} quality"
        );
    }
}
