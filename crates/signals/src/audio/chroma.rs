//! Steps 1-4 of the fingerprint: frames, spectrum, chroma, smoothing and normalisation.

use super::{FRAME_SIZE, HOP, SAMPLE_RATE};
use realfft::num_complex::Complex;
use realfft::RealFftPlanner;

/// Pitch classes per row.
pub(crate) const BANDS: usize = 12;
/// Lowest and highest frequency folded into the chroma, in Hz (Chromaprint's).
const MIN_FREQ: f64 = 28.0;
const MAX_FREQ: f64 = 3520.0;
/// Smoothing over time applied to consecutive chroma vectors.
const TIME_FILTER: [f64; 5] = [0.25, 0.75, 1.0, 0.75, 0.25];
/// Chroma vectors with a smaller Euclidean norm are set to zero (near silence).
const NORM_FLOOR: f64 = 0.01;

/// The normalised chroma image: one row of 12 pitch-class energies (unit length or zero) per
/// frame, after the time filter. Sub-fingerprints are computed from it; tempo variants stretch
/// it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChromaImage {
    rows: Vec<[f64; BANDS]>,
}

impl ChromaImage {
    /// Builds an image from rows (each is normalised again here, so any non-negative values
    /// will do). For tests and experiments.
    pub fn from_rows(rows: Vec<[f64; BANDS]>) -> Self {
        ChromaImage {
            rows: rows.into_iter().map(normalised).collect(),
        }
    }

    /// The rows in time order.
    pub fn rows(&self) -> &[[f64; BANDS]] {
        &self.rows
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The image of audio `factor` times slower than this one's: row `k` is this image at
    /// fractional row `k / factor`, linearly interpolated and normalised again. Undoes a
    /// pitch-preserving tempo change of `factor` (the chroma of each moment is unchanged by
    /// such a change; only the moments move).
    pub fn stretched(&self, factor: f64) -> ChromaImage {
        let n = self.rows.len();
        if n < 2 || !(factor.is_finite() && factor > 0.0) {
            return self.clone();
        }
        let out_len = ((n - 1) as f64 * factor).floor() as usize + 1;
        let rows = (0..out_len)
            .map(|k| {
                let position = k as f64 / factor;
                let i = (position.floor() as usize).min(n - 1);
                let fraction = position - i as f64;
                if i + 1 >= n || fraction <= 0.0 {
                    return self.rows[i];
                }
                let (a, b) = (&self.rows[i], &self.rows[i + 1]);
                let mut row = [0.0; BANDS];
                for c in 0..BANDS {
                    row[c] = a[c] * (1.0 - fraction) + b[c] * fraction;
                }
                normalised(row)
            })
            .collect();
        ChromaImage { rows }
    }
}

/// Computes the chroma image of mono samples at 11,025 Hz (full scale 1.0).
pub fn chroma_image(samples: &[f32]) -> ChromaImage {
    if samples.len() < FRAME_SIZE {
        return ChromaImage::default();
    }
    let frames = (samples.len() - FRAME_SIZE) / HOP + 1;
    let notes = bin_notes();
    let window = hamming_window();
    let mut planner = RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(FRAME_SIZE);
    let mut input = fft.make_input_vec();
    let mut spectrum = fft.make_output_vec();
    let mut scratch = fft.make_scratch_vec();

    let mut raw: Vec<[f64; BANDS]> = Vec::with_capacity(frames);
    for f in 0..frames {
        let frame = &samples[f * HOP..f * HOP + FRAME_SIZE];
        for ((x, &s), &w) in input.iter_mut().zip(frame).zip(&window) {
            *x = f64::from(s) * w;
        }
        let mut chroma = [0.0f64; BANDS];
        // The buffers come from the plan itself, so their lengths are right and `process`
        // cannot fail; a failure would leave this frame silent rather than panic.
        if fft
            .process_with_scratch(&mut input, &mut spectrum, &mut scratch)
            .is_ok()
        {
            for &(bin, note) in &notes {
                let Complex { re, im } = spectrum[bin];
                chroma[note] += re * re + im * im;
            }
        }
        raw.push(chroma);
    }

    let taps = TIME_FILTER.len();
    if raw.len() < taps {
        return ChromaImage::default();
    }
    let rows = (0..=raw.len() - taps)
        .map(|r| {
            let mut row = [0.0; BANDS];
            for (c, value) in row.iter_mut().enumerate() {
                for (j, coefficient) in TIME_FILTER.iter().enumerate() {
                    *value += raw[r + j][c] * coefficient;
                }
            }
            normalised(row)
        })
        .collect();
    ChromaImage { rows }
}

/// Scales a row to unit Euclidean length, or to zero when its norm is below the floor.
fn normalised(mut row: [f64; BANDS]) -> [f64; BANDS] {
    let squares: f64 = row.iter().map(|v| v * v).sum();
    let norm = if squares > 0.0 { squares.sqrt() } else { 0.0 };
    if norm < NORM_FLOOR {
        return [0.0; BANDS];
    }
    for v in &mut row {
        *v /= norm;
    }
    row
}

/// The Hamming window, with Chromaprint's scaling folded in: it multiplies 16-bit sample values
/// by `window / 32767`; our samples are `i16 / 32768`, hence the factor `32768 / 32767`, which
/// keeps the chroma magnitudes (and so the silence floor) the same as the reference's.
fn hamming_window() -> Vec<f64> {
    let last = (FRAME_SIZE - 1) as f64;
    let scale = 2.0 * std::f64::consts::PI / last;
    (0..FRAME_SIZE)
        .map(|i| (0.54 - 0.46 * (scale * i as f64).cos()) / 32767.0 * 32768.0)
        .collect()
}

/// The FFT bins from 28 Hz up to (not including) 3520 Hz, each with its pitch class
/// (`floor(12 * frac(log2(f / 27.5)))`, A = 0).
fn bin_notes() -> Vec<(usize, usize)> {
    let rate = f64::from(SAMPLE_RATE);
    let size = FRAME_SIZE as f64;
    let to_index = |freq: f64| (size * freq / rate).round() as usize;
    let first = to_index(MIN_FREQ).max(1);
    let end = to_index(MAX_FREQ).min(FRAME_SIZE / 2);
    (first..end)
        .map(|bin| {
            let freq = bin as f64 * rate / size;
            let octave = (freq / (440.0 / 16.0)).ln() / 2f64.ln();
            let note = (BANDS as f64 * (octave - octave.floor())) as usize;
            (bin, note.min(BANDS - 1))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_cover_28_to_3520_hz() {
        let notes = bin_notes();
        assert_eq!(notes.first().map(|n| n.0), Some(10));
        assert_eq!(notes.last().map(|n| n.0), Some(1307));
        // 440 Hz is bin 163.5: A (0) at the bin just above, G# (11) just below.
        assert!(notes.iter().all(|&(_, n)| n < BANDS));
    }

    #[test]
    fn a_pure_tone_lands_in_its_pitch_class() {
        // 440 Hz is A: pitch class 0 with base 27.5 Hz. Use a tone a little above to avoid
        // the bin boundary.
        let tone: Vec<f32> = (0..FRAME_SIZE * 3)
            .map(|n| (0.5 * (2.0 * std::f64::consts::PI * 452.0 * n as f64 / 11025.0).sin()) as f32)
            .collect();
        let image = chroma_image(&tone);
        assert!(!image.is_empty());
        let row = image.rows()[0];
        let best = (0..BANDS)
            .max_by(|&a, &b| row[a].total_cmp(&row[b]))
            .unwrap_or(99);
        assert_eq!(best, 0, "{row:?}");
    }

    #[test]
    fn silence_gives_zero_rows_and_stretch_keeps_lengths_sensible() {
        let image = chroma_image(&vec![0.0; 11025 * 4]);
        assert!(image.rows().iter().all(|r| r.iter().all(|&v| v == 0.0)));
        let n = image.len();
        assert_eq!(
            image.stretched(1.05).len(),
            ((n - 1) as f64 * 1.05).floor() as usize + 1
        );
        assert_eq!(image.stretched(1.0), image);
    }
}
