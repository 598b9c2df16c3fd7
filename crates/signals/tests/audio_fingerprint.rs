//! Audio fingerprint properties on deterministic generated audio: stability under the edits
//! re-uploaders make (gain, noise, trims, resampling), separation of unrelated audio, the
//! query-side speed and tempo variants, and the text form.

use proptest::prelude::*;
use takedown_signals::audio::{
    bit_error_rate, fingerprint, fingerprint_stretched, fingerprint_variants, resample,
    AudioFingerprint, ParseAudioFingerprintError, Stretch, StretchSet, HOP, MIN_SAMPLES,
    SAMPLE_RATE,
};

const RATE: f64 = SAMPLE_RATE as f64;

/// A small seeded generator (SplitMix64), so the corpus is the same everywhere.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }
}

/// Speech-like audio: syllables of a glottal pulse train through three formant resonators,
/// with unvoiced noise bursts and pauses; pitch and formants drawn from the seed.
fn speech(seed: u64, seconds: f64) -> Vec<f32> {
    let mut rng = Rng(seed);
    let total = (seconds * RATE) as usize;
    let mut out = Vec::with_capacity(total);
    let mut phase = 0.0f64;
    let mut state = [[0.0f64; 2]; 3];
    while out.len() < total {
        let length = (rng.range(0.12, 0.35) * RATE) as usize;
        let kind = rng.uniform();
        let f0_start = rng.range(95.0, 230.0);
        let f0_end = f0_start * rng.range(0.8, 1.25);
        let formants = [
            rng.range(300.0, 850.0),
            rng.range(900.0, 2300.0),
            rng.range(2400.0, 3200.0),
        ];
        let coefficients: Vec<(f64, f64, f64)> = formants
            .iter()
            .map(|&f| {
                let r: f64 = 0.97;
                let w = 2.0 * std::f64::consts::PI * f / RATE;
                (2.0 * r * w.cos(), -r * r, 1.0 - r)
            })
            .collect();
        for n in 0..length {
            let t = n as f64 / length as f64;
            let envelope = (std::f64::consts::PI * t).sin().powf(0.6);
            let excitation = if kind < 0.12 {
                0.0 // pause
            } else if kind < 0.3 {
                (rng.uniform() - 0.5) * 0.6 // fricative
            } else {
                let f0 = f0_start + (f0_end - f0_start) * t;
                phase += f0 / RATE;
                if phase >= 1.0 {
                    phase -= 1.0;
                    1.0
                } else {
                    0.0
                }
            };
            let mut y = 0.0;
            for (k, &(a1, a2, g)) in coefficients.iter().enumerate() {
                let v = g * excitation + a1 * state[k][0] + a2 * state[k][1];
                state[k][1] = state[k][0];
                state[k][0] = v;
                y += v;
            }
            out.push((0.25 * envelope * y) as f32);
        }
    }
    out.truncate(total);
    out
}

/// A chord bed: three sine tones changing every second.
fn music(seed: u64, seconds: f64) -> Vec<f32> {
    let mut rng = Rng(seed);
    let total = (seconds * RATE) as usize;
    let mut notes = [0.0f64; 3];
    (0..total)
        .map(|n| {
            if n % SAMPLE_RATE as usize == 0 {
                for f in &mut notes {
                    *f = 110.0 * 2f64.powf((rng.next() % 36) as f64 / 12.0);
                }
            }
            let t = n as f64 / RATE;
            let v: f64 = notes
                .iter()
                .map(|f| (2.0 * std::f64::consts::PI * f * t).sin())
                .sum();
            (0.1 * v) as f32
        })
        .collect()
}

fn add_noise(x: &[f32], snr_db: f64, seed: u64) -> Vec<f32> {
    let mut rng = Rng(seed);
    let power = x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len() as f64;
    let sigma = (power / 10f64.powf(snr_db / 10.0) * 12.0).sqrt();
    x.iter()
        .map(|&v| v + (sigma * (rng.uniform() - 0.5)) as f32)
        .collect()
}

/// Lowest BER of `query` against `banked` over all offsets with at least `min` pairs.
fn best_ber(query: &[u32], banked: &[u32], min: usize) -> (f64, i64) {
    let mut best = (1.0, 0);
    for offset in -(query.len() as i64) + 1..banked.len() as i64 {
        let start = 0i64.max(-offset) as usize;
        let end = (query.len() as i64).min(banked.len() as i64 - offset);
        if end - (start as i64) < min as i64 {
            continue;
        }
        let b0 = (start as i64 + offset) as usize;
        let n = end as usize - start;
        let ber = bit_error_rate(&query[start..end as usize], &banked[b0..b0 + n]);
        if ber < best.0 {
            best = (ber, offset);
        }
    }
    best
}

#[test]
fn length_follows_the_framing_and_short_audio_is_empty() {
    assert!(fingerprint(&vec![0.1; MIN_SAMPLES - 1]).is_empty());
    assert_eq!(fingerprint(&speech(1, MIN_SAMPLES as f64 / RATE)).len(), 1);
    let x = speech(1, 30.0);
    let fp = fingerprint(&x);
    let frames = (x.len() - 4096) / HOP + 1;
    assert_eq!(fp.len(), frames - 4 - 15);
    assert_eq!(fingerprint(&x), fp, "deterministic");
}

#[test]
fn gain_noise_and_resampling_keep_the_fingerprint_close() {
    let x = speech(7, 20.0);
    let fp = fingerprint(&x);
    let quiet: Vec<f32> = x.iter().map(|v| v * 0.2).collect();
    assert!(
        bit_error_rate(
            fp.sub_fingerprints(),
            fingerprint(&quiet).sub_fingerprints()
        ) < 0.01
    );
    let noisy = fingerprint(&add_noise(&x, 20.0, 3));
    assert!(bit_error_rate(fp.sub_fingerprints(), noisy.sub_fingerprints()) < 0.15);
    let round_trip = resample(&resample(&x, RATE, 44100.0), 44100.0, RATE);
    assert!(
        bit_error_rate(
            fp.sub_fingerprints(),
            fingerprint(&round_trip).sub_fingerprints()
        ) < 0.05
    );
}

#[test]
fn an_excerpt_is_found_at_its_offset_and_unrelated_audio_is_far() {
    let bulletin = speech(11, 60.0);
    let banked = fingerprint(&bulletin);
    // A 10 s excerpt starting at 23.4 s (not on a frame boundary), with noise.
    let start = (23.4 * RATE) as usize;
    let excerpt = add_noise(&bulletin[start..start + 10 * SAMPLE_RATE as usize], 20.0, 5);
    let query = fingerprint(&excerpt);
    let (ber, offset) = best_ber(query.sub_fingerprints(), banked.sub_fingerprints(), 40);
    assert!(ber < 0.2, "excerpt BER {ber}");
    let expected = (start / HOP) as i64;
    assert!(
        (offset - expected).abs() <= 1,
        "offset {offset}, expected {expected}"
    );

    for (seed, other) in [(12, speech(12, 60.0)), (13, music(13, 60.0))] {
        let (ber, _) = best_ber(
            query.sub_fingerprints(),
            fingerprint(&other).sub_fingerprints(),
            40,
        );
        assert!(ber > 0.3, "unrelated audio (seed {seed}) at BER {ber}");
    }
}

#[test]
fn speed_and_tempo_variants_undo_the_change() {
    let x = speech(21, 30.0);
    let banked = fingerprint(&x);
    // Speed +3%: resampling the original to 1/1.03 of its length plays it 3% faster with the
    // pitch raised.
    let faster = resample(&x, RATE * 1.03, RATE);
    let plain = fingerprint(&faster);
    let undone = fingerprint_stretched(&faster, Stretch::Speed(1.03));
    let (plain_ber, _) = best_ber(plain.sub_fingerprints(), banked.sub_fingerprints(), 40);
    let (undone_ber, _) = best_ber(undone.sub_fingerprints(), banked.sub_fingerprints(), 40);
    assert!(
        plain_ber > 0.25,
        "plain fingerprint survived a speed change: {plain_ber}"
    );
    assert!(undone_ber < 0.1, "speed variant BER {undone_ber}");

    let variants = fingerprint_variants(&faster, &StretchSet::speed_and_tempo());
    assert_eq!(variants.len(), StretchSet::speed_and_tempo().variants.len());
    let best = variants
        .iter()
        .map(|(_, fp)| best_ber(fp.sub_fingerprints(), banked.sub_fingerprints(), 40).0)
        .fold(1.0, f64::min);
    assert!(best < 0.1);
}

#[test]
fn text_form_errors_name_the_problem() {
    use ParseAudioFingerprintError as E;
    assert_eq!(AudioFingerprint::from_text("abc"), Err(E::MissingHeader));
    assert!(matches!(
        AudioFingerprint::from_text("pdq:1:AAAA"),
        Err(E::WrongType { .. })
    ));
    assert!(matches!(
        AudioFingerprint::from_text("audio:2:AAAAAA"),
        Err(E::UnsupportedVersion { .. })
    ));
    assert!(matches!(
        AudioFingerprint::from_text("audio:1:@@@@"),
        Err(E::BadBase64 { .. })
    ));
    assert!(matches!(
        AudioFingerprint::from_text("audio:1:AAA"),
        Err(E::BadLength { bytes: 2 })
    ));
    assert_eq!(AudioFingerprint::from_text("audio:1:"), Err(E::Empty));
    let fp = AudioFingerprint::from_sub_fingerprints(vec![1, 0xFFFF_FFFF]);
    assert_eq!(fp.to_text(), "audio:1:AQAAAP____8");
}

proptest! {
    #[test]
    fn text_form_round_trips(values in proptest::collection::vec(any::<u32>(), 1..300)) {
        let fp = AudioFingerprint::from_sub_fingerprints(values);
        let text = fp.to_string();
        prop_assert!(text.starts_with("audio:1:"));
        prop_assert_eq!(text.parse::<AudioFingerprint>().unwrap(), fp);
    }
}
