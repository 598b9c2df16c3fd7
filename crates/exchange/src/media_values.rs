//! Canonical text forms of the video, audio and text signals, as hash lists carry them.
//!
//! * **vPDQ**: Meta's line format (`frame,quality,hash,timestamp` per line, as
//!   `vpdq-hash-video` writes it), which is also how takedown stores it. HMA's own form, a JSON
//!   array of `"hash,quality,timestamp"` strings (python-threatexchange's
//!   `VpdqCompactFeature`), is accepted too and converted; it carries no frame numbers, so
//!   frames are numbered in order from 0 (frame numbers play no part in matching).
//! * **audio**: `audio:1:<base64url>` (`takedown_signals::audio`).
//! * **text signature**: the sorted shingle hashes' text form (`takedown_signals::text`).
//!
//! A value that does not parse is refused with the parser's own words, so a bad row in a
//! partner's list is named at import instead of silently never matching.

use takedown_signals::text::TextSignature;
use takedown_signals::vpdq::{self, VpdqFeature};
use takedown_signals::{AudioFingerprint, Hash256};

/// vPDQ in Meta's line format, from that format or HMA's JSON array.
pub(crate) fn canonical_vpdq(value: &str) -> Result<String, String> {
    let features = if value.starts_with('[') {
        hma_vpdq(value)?
    } else {
        // Lines may have been written with `\r\n`, or flattened to `;` or `|` by a spreadsheet
        // or a single-line exchange format.
        let lines = value.replace([';', '|'], "\n");
        vpdq::parse_lines(&lines).map_err(|error| format!("vpdq value: {error}"))?
    };
    if features.is_empty() {
        return Err("vpdq value holds no frames".to_string());
    }
    Ok(vpdq::format_lines(&features))
}

/// Parses HMA's `["hex,quality,timestamp", ...]`.
fn hma_vpdq(value: &str) -> Result<Vec<VpdqFeature>, String> {
    let items: Vec<String> = serde_json::from_str(value)
        .map_err(|error| format!("vpdq value: not a JSON array of strings: {error}"))?;
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let bad = |reason: &str| format!("vpdq value: frame {}: {reason}: {item:?}", index + 1);
            let fields: Vec<&str> = item.split(',').map(str::trim).collect();
            let [hex, quality, timestamp] = fields[..] else {
                return Err(bad("expected \"hash,quality,timestamp\""));
            };
            let hash = Hash256::from_hex(hex).map_err(|e| bad(&e.to_string()))?;
            let quality: u8 = quality
                .parse()
                .ok()
                .filter(|q| *q <= 100)
                .ok_or_else(|| bad("quality is not a number 0..=100"))?;
            let timestamp: f64 = timestamp
                .parse()
                .ok()
                .filter(|t: &f64| t.is_finite() && *t >= 0.0)
                .ok_or_else(|| bad("timestamp is not a number >= 0"))?;
            Ok(VpdqFeature {
                frame_number: index as u64,
                hash,
                quality,
                timestamp,
            })
        })
        .collect()
}

/// HMA's JSON array form of vPDQ features (what HMA's `/h/hash` returns for `vpdq`).
pub fn vpdq_to_hma_json(features: &[VpdqFeature]) -> String {
    let items: Vec<String> = features
        .iter()
        .map(|f| format!("{},{},{:.3}", f.hash.to_hex(), f.quality, f.timestamp))
        .collect();
    serde_json::to_string(&items).unwrap_or_else(|_| "[]".to_string())
}

/// The audio fingerprint's text form, re-encoded.
pub(crate) fn canonical_audio(value: &str) -> Result<String, String> {
    let fingerprint =
        AudioFingerprint::from_text(value).map_err(|error| format!("audio value: {error}"))?;
    if fingerprint.is_empty() {
        return Err("audio value holds no sub-fingerprints".to_string());
    }
    Ok(fingerprint.to_text())
}

/// The text signature's text form, re-encoded.
pub(crate) fn canonical_text_signature(value: &str) -> Result<String, String> {
    let signature =
        TextSignature::parse(value).map_err(|error| format!("text_minhash value: {error}"))?;
    if signature.is_empty() {
        return Err("text_minhash value holds no shingles".to_string());
    }
    Ok(signature.to_text())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{canonical_value, read_hash_list, write_hash_list, HashListFormat};
    use takedown_model::SignalType;

    fn features() -> Vec<VpdqFeature> {
        (0..3)
            .map(|i| VpdqFeature {
                frame_number: i * 25,
                hash: Hash256::from_hex(&format!("{:064x}", 0x1234_5678_9abc_u64 * (i + 1)))
                    .unwrap(),
                quality: 90 + i as u8,
                timestamp: i as f64,
            })
            .collect()
    }

    #[test]
    fn vpdq_values_are_canonical_meta_lines() {
        let lines = vpdq::format_lines(&features());
        assert_eq!(canonical_value(SignalType::Vpdq, &lines).unwrap(), lines);
        let crlf = lines.replace('\n', "\r\n");
        assert_eq!(canonical_value(SignalType::Vpdq, &crlf).unwrap(), lines);
        let flat = lines.trim_end().replace('\n', ";");
        assert_eq!(canonical_value(SignalType::Vpdq, &flat).unwrap(), lines);
        // HMA's JSON form converts, with frames numbered from 0.
        let hma = vpdq_to_hma_json(&features());
        let converted = canonical_value(SignalType::Vpdq, &hma).unwrap();
        let back = vpdq::parse_lines(&converted).unwrap();
        assert_eq!(back.len(), 3);
        assert_eq!(back[2].frame_number, 2);
        assert_eq!(back[2].hash, features()[2].hash);
        for bad in ["", "1,2,3", "[\"zz,1,0\"]", "[1]", "0,101,00,0.000"] {
            assert!(canonical_value(SignalType::Vpdq, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn audio_and_text_values_round_trip_and_bad_ones_are_named() {
        let audio = AudioFingerprint::from_sub_fingerprints(vec![1, 2, 0xdead_beef]).to_text();
        assert_eq!(canonical_value(SignalType::Audio, &audio).unwrap(), audio);
        let error = canonical_value(SignalType::Audio, "audio:9:xx").unwrap_err();
        assert!(error.starts_with("audio value"), "{error}");
        let signature = takedown_signals::text::fingerprint("one two three four five six")
            .signature
            .to_text();
        assert_eq!(
            canonical_value(SignalType::TextMinhash, &signature).unwrap(),
            signature
        );
        assert!(canonical_value(SignalType::TextMinhash, "nonsense").is_err());
    }

    #[test]
    fn hash_lists_carry_video_audio_and_text_signals() {
        let vpdq_value = vpdq::format_lines(&features());
        let audio = AudioFingerprint::from_sub_fingerprints(vec![7, 8, 9]).to_text();
        let text = takedown_signals::text::fingerprint("a b c d e f g")
            .signature
            .to_text();
        for format in [HashListFormat::Csv, HashListFormat::JsonLines] {
            let rows: Vec<crate::HashListRow> = [
                (SignalType::Vpdq, vpdq_value.clone()),
                (SignalType::Audio, audio.clone()),
                (SignalType::TextMinhash, text.clone()),
            ]
            .into_iter()
            .enumerate()
            .map(|(i, (signal_type, value))| crate::HashListRow {
                line: i as u64 + 2,
                signal_type,
                value,
                labels: Default::default(),
                note: String::new(),
                source: None,
                extra: Default::default(),
            })
            .collect();
            let mut out = Vec::new();
            write_hash_list(&mut out, format, rows.iter()).unwrap();
            let read: Vec<_> = read_hash_list(&out[..], format)
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(read.len(), 3, "{format:?}");
            for (a, b) in read.iter().zip(&rows) {
                assert_eq!((a.signal_type, &a.value), (b.signal_type, &b.value));
            }
        }
    }
}
