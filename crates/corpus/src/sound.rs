//! Seeded sound for tests and the demo: "bulletins" of chords that change every 0.4 s with a
//! little noise, at 11,025 Hz mono (the rate the audio fingerprint works at), and a WAV writer.
//!
//! Like the images, a pure function of the seed using only IEEE-exact arithmetic (the tones
//! come from a table of equal-tempered semitones built by multiplication and the sine is a
//! polynomial), so the same seed gives the same samples on every machine.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Samples per second of [`bulletin`].
pub const SAMPLE_RATE: u32 = 11_025;

/// `seconds` of seeded chords: three tones from four octaves above 110 Hz, redrawn every
/// 0.4 s, mixed at 0.6 of full scale with 1% noise.
pub fn bulletin(seconds: f64, seed: u64) -> Vec<i16> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // 110 Hz times 2^(k/12), k = 0..48.
    let mut semitones = [0.0f64; 48];
    let mut frequency = 110.0;
    for tone in &mut semitones {
        *tone = frequency;
        frequency *= 1.059_463_094_359_295_3;
    }
    let rate = f64::from(SAMPLE_RATE);
    let total = (seconds * rate).max(0.0) as usize;
    let step = (0.4 * rate) as usize;
    let mut phases = [0.0f64; 3];
    let mut steps = [0.0f64; 3];
    let mut samples = Vec::with_capacity(total);
    for i in 0..total {
        if i % step == 0 {
            for s in &mut steps {
                *s = semitones[rng.gen_range(0..semitones.len())] / rate;
            }
        }
        let mut value = 0.0;
        for (phase, s) in phases.iter_mut().zip(steps) {
            value += sine(*phase);
            *phase = (*phase + s).fract();
        }
        let noise = rng.gen_range(-0.01..0.01);
        samples.push(((value / 3.0 * 0.6 + noise) * 32_000.0) as i16);
    }
    samples
}

/// sin(2 pi x) for x in [0, 1): odd polynomial on a quarter wave (error below 1e-6).
fn sine(x: f64) -> f64 {
    // Fold onto [-0.25, 0.25] where the series converges fast.
    let y = match x {
        x if x < 0.25 => x,
        x if x < 0.75 => 0.5 - x,
        x => x - 1.0,
    };
    let t = 2.0 * std::f64::consts::PI * y;
    let t2 = t * t;
    t * (1.0
        - t2 / 6.0 * (1.0 - t2 / 20.0 * (1.0 - t2 / 42.0 * (1.0 - t2 / 72.0 * (1.0 - t2 / 110.0)))))
}

/// 16-bit mono PCM WAV of `samples` at `rate`.
pub fn wav(samples: &[i16], rate: u32) -> Vec<u8> {
    let data = (samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + data as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data.to_le_bytes());
    for sample in samples {
        out.extend_from_slice(&sample.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_polynomial_sine_is_close_to_the_library_one() {
        for i in 0..1000 {
            let x = f64::from(i) / 1000.0;
            let exact = (2.0 * std::f64::consts::PI * x).sin();
            assert!(
                (sine(x) - exact).abs() < 1e-5,
                "{x}: {} vs {exact}",
                sine(x)
            );
        }
    }

    #[test]
    fn a_bulletin_is_a_function_of_its_seed() {
        assert_eq!(bulletin(2.0, 7), bulletin(2.0, 7));
        assert_ne!(bulletin(2.0, 7), bulletin(2.0, 8));
        assert_eq!(bulletin(2.0, 7).len(), 22_050);
        let wav = wav(&bulletin(1.0, 1), SAMPLE_RATE);
        assert_eq!((&wav[..4], wav.len()), (&b"RIFF"[..], 44 + 2 * 11_025));
    }
}
