//! Audio fingerprints of the Chromaprint family, for radio bulletins and the soundtracks of
//! re-uploaded videos.
//!
//! # The algorithm (Chromaprint's default, "TEST2")
//!
//! Audio arrives as mono `f32` samples at [`SAMPLE_RATE`] (11,025 Hz; `takedown-media` decodes
//! and resamples any file to this, and [`resample`] is here for callers with other rates).
//!
//! 1. **Frames**: [`FRAME_SIZE`] = 4096 samples (0.37 s) every [`HOP`] = 1365 samples (2/3
//!    overlap, 0.124 s), Hamming window.
//! 2. **Spectrum**: real FFT (`realfft`), power `re^2 + im^2` of bins 10..1308 (28-3520 Hz):
//!    the range where speech formants and music fundamentals live, and where MP3, AAC, Opus
//!    and telephone channels keep most of the energy.
//! 3. **Chroma**: each bin's power is added to one of 12 pitch classes
//!    (`floor(12 * frac(log2(f / 27.5)))`). Folding octaves together makes the feature
//!    insensitive to the equalisation and band limits that codecs and channels apply.
//! 4. **Smoothing and normalisation**: a 5-tap filter over time (0.25, 0.75, 1, 0.75, 0.25),
//!    then each 12-vector is scaled to unit Euclidean length (vectors with norm below 0.01,
//!    i.e. near silence, become zero). Unit length is what makes the fingerprint ignore volume.
//! 5. **Classifiers**: 16 Haar-like filters over the (time x chroma) image, computed from an
//!    integral image, each comparing `ln(1 + sum)` of two areas, quantised by three trained
//!    thresholds into 0..3 and written as a 2-bit Gray code, so that a value crossing one
//!    threshold flips one bit, not two. 16 x 2 = 32 bits: one **sub-fingerprint** per image
//!    row, the widest filter spanning 16 rows (about 2 s).
//!
//! The filter shapes and thresholds are Chromaprint's published "TEST2" configuration (the one
//! `fpcalc` uses by default), so the bits are meant to agree with `fpcalc` on the same 11,025 Hz
//! samples; `docs/benchmarks.md` reports the measured agreement (it is not bit-exact: Chromaprint
//! computes the FFT in `f32` through FFmpeg, we compute everything in `f64`, so values sitting on
//! a quantiser threshold can land on the other side).
//!
//! Two recordings are compared by the **bit-error rate** (BER) of their sub-fingerprints at the
//! best time alignment ([`bit_errors`]; the search is `takedown_index::audio`). A 10-second
//! excerpt has about 77 sub-fingerprints, so it can be found inside a 5-minute bulletin by
//! sliding it along the bulletin's 2,400.
//!
//! # Tempo and speed changes
//!
//! Plain Chromaprint does not survive them: a speed change of 3% moves every pitch by half a
//! semitone (half a chroma bin), and a tempo change of 5% drifts the alignment by one frame every
//! 20 frames. Instead of a second fingerprint, takedown undoes the change on the query side:
//! [`Stretch::Speed`] resamples the query samples by the factor (which inverts a speed change
//! exactly, up to band limits) and [`Stretch::Tempo`] stretches the query's chroma image in time
//! (which inverts a pitch-preserving tempo change up to the time-stretcher's artefacts). A query
//! is tried at a few factors ([`StretchSet`]); the banked fingerprints stay as they are. The
//! price is one search per factor and a false-positive rate that grows with the number of
//! factors, which the benchmark's calibration includes.
//!
//! # Determinism
//!
//! Pure functions of the samples: `f64` arithmetic in a fixed order, no fused multiply-add, an
//! FFT whose plan depends only on the size. The same samples give the same bits on every
//! machine with IEEE-754 doubles.

mod chroma;
mod classify;
mod resample;
mod text;

pub use chroma::{chroma_image, ChromaImage};
pub use classify::sub_fingerprints;
pub use resample::{resample, Resampler};
pub use text::{ParseAudioFingerprintError, MAX_TEXT_SUB_FINGERPRINTS};

use crate::SignalAlgorithm;

/// The algorithm tag stored with every audio signal. Version 1: Chromaprint TEST2 parameters on
/// 11,025 Hz mono, `f64` arithmetic, text form `audio:1:<base64url>`.
pub const ALGORITHM: SignalAlgorithm = SignalAlgorithm {
    signal_type: "audio",
    version: 1,
};

/// Sample rate the fingerprint is defined at, in Hz (Chromaprint's).
pub const SAMPLE_RATE: u32 = 11_025;
/// Samples per analysis frame.
pub const FRAME_SIZE: usize = 4096;
/// Samples between the starts of consecutive frames (a third of a frame).
pub const HOP: usize = FRAME_SIZE / 3;
/// Rows of the chroma image each sub-fingerprint looks at (the widest classifier).
pub const SUB_FINGERPRINT_SPAN: usize = 16;
/// Seconds between consecutive sub-fingerprints.
pub const SECONDS_PER_SUB_FINGERPRINT: f64 = HOP as f64 / SAMPLE_RATE as f64;

/// Fewest samples that give one sub-fingerprint: 16 image rows need 20 frames (the time filter
/// eats four), about 2.8 s.
pub const MIN_SAMPLES: usize = FRAME_SIZE + (SUB_FINGERPRINT_SPAN + 4 - 1) * HOP;

/// An audio fingerprint: one 32-bit sub-fingerprint every [`SECONDS_PER_SUB_FINGERPRINT`].
///
/// Sub-fingerprint `i` describes the audio from `i * HOP` to `i * HOP + FRAME_SIZE + 19 * HOP`
/// samples (about 2.8 s), so neighbouring values overlap heavily and change gradually.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct AudioFingerprint {
    sub_fingerprints: Vec<u32>,
}

impl AudioFingerprint {
    /// Wraps sub-fingerprints computed elsewhere (for example parsed from `fpcalc -raw`).
    pub fn from_sub_fingerprints(sub_fingerprints: Vec<u32>) -> Self {
        AudioFingerprint { sub_fingerprints }
    }

    /// The sub-fingerprints in time order.
    pub fn sub_fingerprints(&self) -> &[u32] {
        &self.sub_fingerprints
    }

    /// Consumes the fingerprint, returning its sub-fingerprints.
    pub fn into_sub_fingerprints(self) -> Vec<u32> {
        self.sub_fingerprints
    }

    /// Number of sub-fingerprints.
    pub fn len(&self) -> usize {
        self.sub_fingerprints.len()
    }

    /// True when the audio was too short (under [`MIN_SAMPLES`]) to give any sub-fingerprint.
    pub fn is_empty(&self) -> bool {
        self.sub_fingerprints.is_empty()
    }

    /// The span of audio the fingerprint covers, in seconds from the first to the last
    /// sub-fingerprint's start.
    pub fn duration_seconds(&self) -> f64 {
        self.sub_fingerprints.len() as f64 * SECONDS_PER_SUB_FINGERPRINT
    }
}

/// A change undone on the query side before fingerprinting (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stretch {
    /// The audio as it is.
    None,
    /// The query is assumed to have been played `factor` times faster with its pitch raised
    /// the same (`speed` in sox, `asetrate` in ffmpeg); its samples are resampled to undo it.
    Speed(f64),
    /// The query is assumed to be `factor` times faster with its pitch kept (`tempo` in sox,
    /// `atempo` in ffmpeg); its chroma image is stretched in time to undo it.
    Tempo(f64),
}

impl Stretch {
    /// A short label for reports (`none`, `speed x1.030`, `tempo x0.950`).
    pub fn label(&self) -> String {
        match self {
            Stretch::None => "none".to_string(),
            Stretch::Speed(f) => format!("speed x{f:.3}"),
            Stretch::Tempo(f) => format!("tempo x{f:.3}"),
        }
    }
}

/// The factors a query is tried at.
#[derive(Debug, Clone, PartialEq)]
pub struct StretchSet {
    /// Every variant to fingerprint; [`Stretch::None`] should be among them.
    pub variants: Vec<Stretch>,
}

impl StretchSet {
    /// Only the audio as it is: plain Chromaprint.
    pub fn none() -> Self {
        StretchSet {
            variants: vec![Stretch::None],
        }
    }

    /// The set the benchmark measures: as-is, speed changes of +-1.5% and +-3%, tempo
    /// changes of +-2.5% and +-5% (the transforms in `BENCHMARKS.md` and the steps between).
    pub fn speed_and_tempo() -> Self {
        let mut variants = vec![Stretch::None];
        for f in [0.97, 0.985, 1.015, 1.03] {
            variants.push(Stretch::Speed(f));
        }
        for f in [0.95, 0.975, 1.025, 1.05] {
            variants.push(Stretch::Tempo(f));
        }
        StretchSet { variants }
    }
}

impl Default for StretchSet {
    fn default() -> Self {
        StretchSet::none()
    }
}

/// Fingerprints mono samples at [`SAMPLE_RATE`] (scaled so that full scale is 1.0, as
/// `i16 / 32768`). Audio shorter than [`MIN_SAMPLES`] gives an empty fingerprint.
pub fn fingerprint(samples: &[f32]) -> AudioFingerprint {
    let image = chroma_image(samples);
    AudioFingerprint {
        sub_fingerprints: sub_fingerprints(&image),
    }
}

/// Fingerprints samples with a [`Stretch`] undone first.
pub fn fingerprint_stretched(samples: &[f32], stretch: Stretch) -> AudioFingerprint {
    match stretch {
        Stretch::None => fingerprint(samples),
        Stretch::Speed(factor) if factor.is_finite() && factor > 0.0 => {
            // Played `factor` times faster: query sample n holds the original's sample
            // n * factor. Resampling from `rate` to `rate * factor` makes `factor` times as
            // many samples, one per original sample, which restores both pitch and timing.
            //
            // A factor with at most four decimals is a ratio of small integers (1.03 =
            // 10300 / 10000 = 103 / 100), which lets the resampler use its table of one
            // kernel per phase instead of evaluating the kernel at every output sample
            // (about 80 times faster); the ratio, hence the output, is the same.
            let scaled = (factor * 10_000.0).round();
            let (from, to) = if (factor * 10_000.0 - scaled).abs() < 1e-6 {
                (10_000.0, scaled)
            } else {
                let rate = f64::from(SAMPLE_RATE);
                (rate, rate * factor)
            };
            fingerprint(&resample(samples, from, to))
        }
        Stretch::Tempo(factor) if factor.is_finite() && factor > 0.0 => {
            let image = chroma_image(samples).stretched(factor);
            AudioFingerprint {
                sub_fingerprints: sub_fingerprints(&image),
            }
        }
        // A nonsensical factor is treated as no stretch rather than an error: the set of
        // factors is configuration, and the as-is variant is always a valid answer.
        Stretch::Speed(_) | Stretch::Tempo(_) => fingerprint(samples),
    }
}

/// Fingerprints every variant of a [`StretchSet`], in its order. Tempo variants share one
/// chroma image.
pub fn fingerprint_variants(samples: &[f32], set: &StretchSet) -> Vec<(Stretch, AudioFingerprint)> {
    let mut plain: Option<ChromaImage> = None;
    set.variants
        .iter()
        .map(|&stretch| {
            let fp = match stretch {
                Stretch::Tempo(factor) if factor.is_finite() && factor > 0.0 => {
                    let image = plain.get_or_insert_with(|| chroma_image(samples));
                    AudioFingerprint {
                        sub_fingerprints: sub_fingerprints(&image.stretched(factor)),
                    }
                }
                Stretch::None => {
                    let image = plain.get_or_insert_with(|| chroma_image(samples));
                    AudioFingerprint {
                        sub_fingerprints: sub_fingerprints(image),
                    }
                }
                other => fingerprint_stretched(samples, other),
            };
            (stretch, fp)
        })
        .collect()
}

/// Number of differing bits between two equally long runs of sub-fingerprints (extra values
/// of the longer one are ignored).
pub fn bit_errors(a: &[u32], b: &[u32]) -> u64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| u64::from((x ^ y).count_ones()))
        .sum()
}

/// Bit-error rate of two equally long runs of sub-fingerprints: [`bit_errors`] over
/// `32 * min(len)`; 1.0 for empty input (nothing agrees).
pub fn bit_error_rate(a: &[u32], b: &[u32]) -> f64 {
    let n = a.len().min(b.len());
    if n == 0 {
        return 1.0;
    }
    bit_errors(a, b) as f64 / (32.0 * n as f64)
}

/// The sub-fingerprint of silence (an all-zero chroma image). Long silent stretches repeat it,
/// and two unrelated recordings agree on it perfectly, so indexes skip it as a key.
pub fn silence_sub_fingerprint() -> u32 {
    classify::silence_value()
}
