//! A deterministic band-limited resampler (Kaiser-windowed sinc).
//!
//! Fingerprints are defined at 11,025 Hz, and files come at 8, 16, 22.05, 44.1 or 48 kHz; the
//! query-side speed variants need arbitrary ratios too. A resampler from a library would do,
//! but its output would then be whatever that library's version computes; this one is small,
//! written in plain `f64`, and gives the same samples everywhere.
//!
//! The kernel is `2 fc sinc(2 fc d)` times a Kaiser window (beta 8, about 80 dB stop-band),
//! reaching 12 zero crossings each side; `fc` is 0.46 cycles per sample of the lower of the two
//! rates, so everything the fingerprint looks at (up to 3.5 kHz of 5.5) passes untouched and
//! nothing above the new Nyquist folds back. When both rates are whole numbers whose ratio has
//! a small denominator (every common rate to 11,025 Hz: 147 phases from 48 kHz, one from
//! 44.1 kHz), the kernel is evaluated once per phase; otherwise it is evaluated per output
//! sample.

/// Zero crossings of the sinc kept on each side.
const ZERO_CROSSINGS: f64 = 12.0;
/// Kaiser window shape parameter.
const BETA: f64 = 8.0;
/// Fraction of the lower Nyquist frequency that is kept.
const PASS: f64 = 0.92;
/// Most phases precomputed.
const MAX_PHASES: u64 = 2048;

/// Resamples mono samples from `from_hz` to `to_hz`. Returns `floor(len * to / from)` samples
/// (a copy when the rates are equal; an empty vector when either rate is not a positive
/// finite number). Same output as feeding [`Resampler`] the samples in any chunks.
pub fn resample(samples: &[f32], from_hz: f64, to_hz: f64) -> Vec<f32> {
    if from_hz == to_hz && from_hz.is_finite() && from_hz > 0.0 {
        return samples.to_vec();
    }
    let Some(mut resampler) = Resampler::new(from_hz, to_hz) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity((samples.len() as f64 * to_hz / from_hz) as usize + 1);
    resampler.push(samples, &mut out);
    resampler.finish(&mut out);
    out
}

/// A streaming resampler: feed input in chunks with [`Resampler::push`], then
/// [`Resampler::finish`]. It keeps only the input the kernel still needs (a few dozen samples),
/// so a decoder can resample hours of audio without holding it at the source rate.
#[derive(Debug, Clone)]
pub struct Resampler {
    kernel: Kernel,
    /// `Some((L, M, taps per phase))` when output `k` sits at input `k * M / L` exactly.
    phased: Option<(u64, u64, Vec<Vec<f64>>)>,
    /// `to / from`.
    ratio: f64,
    /// Input not yet consumed; `buffer[0]` is input sample number `buffer_start`.
    buffer: Vec<f32>,
    buffer_start: u64,
    /// Input samples pushed so far.
    pushed: u64,
    /// Next output sample number.
    next: u64,
}

impl Resampler {
    /// A resampler from `from_hz` to `to_hz`; `None` unless both are positive and finite.
    pub fn new(from_hz: f64, to_hz: f64) -> Option<Self> {
        if !(from_hz.is_finite() && to_hz.is_finite() && from_hz > 0.0 && to_hz > 0.0) {
            return None;
        }
        let ratio = to_hz / from_hz;
        let kernel = Kernel::new(ratio);
        let phased = rational(from_hz, to_hz).map(|(l, m)| {
            let table = (0..l).map(|p| kernel.taps(p as f64 / l as f64)).collect();
            (l, m, table)
        });
        Some(Resampler {
            kernel,
            phased,
            ratio,
            buffer: Vec::new(),
            buffer_start: 0,
            pushed: 0,
            next: 0,
        })
    }

    /// Input position of output `k`: whole part and fraction (or phase).
    fn position(&self, k: u64) -> (u64, Option<usize>, f64) {
        match &self.phased {
            Some((l, m, _)) => {
                let p = k * m;
                (p / l, Some((p % l) as usize), 0.0)
            }
            None => {
                let t = k as f64 / self.ratio;
                let base = t.floor();
                (base as u64, None, t - base)
            }
        }
    }

    fn emit(&self, base: u64, phase: Option<usize>, fraction: f64) -> f32 {
        let taps = match (&self.phased, phase) {
            (Some((_, _, table)), Some(p)) => table.get(p),
            _ => None,
        };
        self.kernel.apply(
            &self.buffer,
            self.buffer_start as i64,
            base as i64,
            fraction,
            taps,
        )
    }

    /// Adds input and appends every output sample whose kernel lies within the input so far.
    pub fn push(&mut self, input: &[f32], out: &mut Vec<f32>) {
        self.buffer.extend_from_slice(input);
        self.pushed += input.len() as u64;
        let half = self.kernel.half as u64;
        loop {
            let (base, phase, fraction) = self.position(self.next);
            if base + half >= self.pushed {
                break;
            }
            out.push(self.emit(base, phase, fraction));
            self.next += 1;
        }
        // Drop input the next output no longer reaches (in large steps, to move memory
        // rarely).
        let (base, _, _) = self.position(self.next);
        let keep_from = (base + 1).saturating_sub(half);
        let drop = keep_from.saturating_sub(self.buffer_start) as usize;
        if drop > 4096 && drop <= self.buffer.len() {
            self.buffer.drain(..drop);
            self.buffer_start += drop as u64;
        }
    }

    /// Appends the remaining outputs, up to `floor(total input * to / from)` in all, treating
    /// samples past the end as zero.
    pub fn finish(mut self, out: &mut Vec<f32>) {
        let total = (self.pushed as f64 * self.ratio).floor() as u64;
        while self.next < total {
            let (base, phase, fraction) = self.position(self.next);
            out.push(self.emit(base, phase, fraction));
            self.next += 1;
        }
    }
}

/// `Some((L, M))` when `to / from = L / M` in lowest terms with few phases `L`.
fn rational(from_hz: f64, to_hz: f64) -> Option<(u64, u64)> {
    let whole = |x: f64| x.fract() == 0.0 && x <= 1e9;
    if !(whole(from_hz) && whole(to_hz)) {
        return None;
    }
    let (from, to) = (from_hz as u64, to_hz as u64);
    let g = gcd(from, to);
    let (l, m) = (to / g, from / g);
    (l <= MAX_PHASES).then_some((l, m))
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[derive(Debug, Clone)]
struct Kernel {
    /// Cut-off in cycles per input sample.
    cutoff: f64,
    /// Taps reach `half` input samples each side of the output position.
    half: i64,
    /// Half-width of the window in input samples.
    reach: f64,
    i0_beta: f64,
}

impl Kernel {
    fn new(ratio: f64) -> Self {
        let cutoff = 0.5 * PASS * ratio.min(1.0);
        let reach = ZERO_CROSSINGS / (2.0 * cutoff);
        Kernel {
            cutoff,
            half: reach.ceil() as i64,
            reach,
            i0_beta: bessel_i0(BETA),
        }
    }

    /// The kernel at distance `d` input samples.
    fn value(&self, d: f64) -> f64 {
        let u = d / self.reach;
        if u.abs() >= 1.0 {
            return 0.0;
        }
        let x = 2.0 * self.cutoff * d;
        let sinc = if x == 0.0 {
            1.0
        } else {
            let px = std::f64::consts::PI * x;
            px.sin() / px
        };
        let window = bessel_i0(BETA * (1.0 - u * u).sqrt()) / self.i0_beta;
        2.0 * self.cutoff * sinc * window
    }

    /// Taps for input offsets `-(half - 1)..=half` around an output at `fraction` past a whole
    /// input position.
    fn taps(&self, fraction: f64) -> Vec<f64> {
        (-(self.half - 1)..=self.half)
            .map(|j| self.value(fraction - j as f64))
            .collect()
    }

    /// One output at input position `base + fraction`, from `samples` (whose first element is
    /// input number `offset`), with precomputed `taps` when given. Inputs outside `samples`
    /// count as zero (the caller keeps every input the kernel can reach, so only the true
    /// start and end of the signal are outside).
    fn apply(
        &self,
        samples: &[f32],
        offset: i64,
        base: i64,
        fraction: f64,
        taps: Option<&Vec<f64>>,
    ) -> f32 {
        let first = base - (self.half - 1);
        let at = |i: i64| -> Option<f64> {
            let j = i - offset;
            (j >= 0 && (j as usize) < samples.len()).then(|| f64::from(samples[j as usize]))
        };
        let mut sum = 0.0f64;
        match taps {
            Some(taps) => {
                for (j, tap) in taps.iter().enumerate() {
                    if let Some(x) = at(first + j as i64) {
                        sum += x * tap;
                    }
                }
            }
            None => {
                for j in 0..2 * self.half {
                    let i = first + j;
                    if let Some(x) = at(i) {
                        sum += x * self.value(base as f64 + fraction - i as f64);
                    }
                }
            }
        }
        sum as f32
    }
}

/// Modified Bessel function of the first kind, order 0, by its power series (converges fast
/// for the arguments used here, at most 8).
fn bessel_i0(x: f64) -> f64 {
    let q = x * x / 4.0;
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 1..60 {
        term *= q / (k * k) as f64;
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f64, rate: f64, seconds: f64) -> Vec<f32> {
        (0..(rate * seconds) as usize)
            .map(|n| (0.5 * (2.0 * std::f64::consts::PI * freq * n as f64 / rate).sin()) as f32)
            .collect()
    }

    fn rms(x: &[f32]) -> f64 {
        (x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / x.len() as f64).sqrt()
    }

    #[test]
    fn lengths_and_identity() {
        let x = tone(440.0, 44100.0, 1.0);
        assert_eq!(resample(&x, 44100.0, 11025.0).len(), 11025);
        assert_eq!(resample(&x, 48000.0, 11025.0).len(), 10129);
        assert_eq!(resample(&x, 44100.0, 44100.0), x);
        assert!(resample(&x, 0.0, 11025.0).is_empty());
    }

    #[test]
    fn passband_tone_keeps_its_level_and_stopband_tone_is_removed() {
        for from in [44100.0, 48000.0, 22050.0, 16000.0, 8000.0, 44056.0] {
            let pass = resample(&tone(1000.0, from, 1.0), from, 11025.0);
            let level = rms(&pass[200..pass.len() - 200]);
            assert!((level - 0.5 / 2f64.sqrt()).abs() < 0.005, "{from}: {level}");
        }
        let stop = resample(&tone(9000.0, 44100.0, 1.0), 44100.0, 11025.0);
        assert!(rms(&stop[200..stop.len() - 200]) < 1e-3);
    }

    #[test]
    fn phased_and_direct_paths_agree_and_chunking_does_not_matter() {
        let x = tone(700.0, 48000.0, 0.5);
        let phased = resample(&x, 48000.0, 11025.0);
        let kernel = Kernel::new(11025.0 / 48000.0);
        let k = 500;
        let t = k as f64 * 48000.0 / 11025.0;
        let direct = kernel.apply(&x, 0, t.floor() as i64, t - t.floor(), None);
        assert!(
            (phased[k] - direct).abs() < 1e-6,
            "{} {}",
            phased[k],
            direct
        );

        let mut chunked = Vec::new();
        let mut r = Resampler::new(48000.0, 11025.0).expect("valid rates");
        for chunk in x.chunks(1000) {
            r.push(chunk, &mut chunked);
        }
        r.finish(&mut chunked);
        assert_eq!(chunked, phased);
    }
}
