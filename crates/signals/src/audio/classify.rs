//! Step 5 of the fingerprint: 16 Haar-like classifiers over the chroma image, quantised into
//! 2-bit Gray codes.

use super::chroma::{ChromaImage, BANDS};
use super::SUB_FINGERPRINT_SPAN;

/// A rectangle comparison over the image: `kind` says how the rectangle of `width` rows
/// (time) by `height` columns (pitch classes, starting at `y`) is split into the two areas
/// that are compared.
#[derive(Debug, Clone, Copy)]
struct Filter {
    kind: u8,
    y: usize,
    height: usize,
    width: usize,
}

/// Thresholds cutting a filter's value into four levels.
#[derive(Debug, Clone, Copy)]
struct Quantizer(f64, f64, f64);

/// Chromaprint's trained "TEST2" classifiers: `(kind, y, height, width)` and thresholds. These
/// are data published with Chromaprint (its default configuration), used here so that our
/// sub-fingerprints are comparable with `fpcalc`'s.
const CLASSIFIERS: [(Filter, Quantizer); 16] = [
    (f(0, 4, 3, 15), Quantizer(1.98215, 2.35817, 2.63523)),
    (f(4, 4, 6, 15), Quantizer(-1.03809, -0.651211, -0.282167)),
    (f(1, 0, 4, 16), Quantizer(-0.298702, 0.119262, 0.558497)),
    (f(3, 8, 2, 12), Quantizer(-0.105439, 0.0153946, 0.135898)),
    (f(3, 4, 4, 8), Quantizer(-0.142891, 0.0258736, 0.200632)),
    (f(4, 0, 3, 5), Quantizer(-0.826319, -0.590612, -0.368214)),
    (f(1, 2, 2, 9), Quantizer(-0.557409, -0.233035, 0.0534525)),
    (f(2, 7, 3, 4), Quantizer(-0.0646826, 0.00620476, 0.0784847)),
    (f(2, 6, 2, 16), Quantizer(-0.192387, -0.029699, 0.215855)),
    (f(2, 1, 3, 2), Quantizer(-0.0397818, -0.00568076, 0.0292026)),
    (f(5, 10, 1, 15), Quantizer(-0.53823, -0.369934, -0.190235)),
    (f(3, 6, 2, 10), Quantizer(-0.124877, 0.0296483, 0.139239)),
    (f(2, 1, 1, 14), Quantizer(-0.101475, 0.0225617, 0.231971)),
    (f(3, 5, 6, 4), Quantizer(-0.0799915, -0.00729616, 0.063262)),
    (f(1, 9, 2, 12), Quantizer(-0.272556, 0.019424, 0.302559)),
    (f(3, 4, 2, 14), Quantizer(-0.164292, -0.0321188, 0.0846339)),
];

const fn f(kind: u8, y: usize, height: usize, width: usize) -> Filter {
    Filter {
        kind,
        y,
        height,
        width,
    }
}

/// Summed-area table of the image: `sums[r][c]` is the sum of rows `0..=r`, columns `0..=c`.
struct Integral {
    sums: Vec<[f64; BANDS]>,
}

impl Integral {
    fn new(image: &ChromaImage) -> Self {
        let mut sums: Vec<[f64; BANDS]> = Vec::with_capacity(image.len());
        let mut previous = [0.0; BANDS];
        for row in image.rows() {
            let mut line = [0.0; BANDS];
            let mut running = 0.0;
            for c in 0..BANDS {
                running += row[c];
                line[c] = running + previous[c];
            }
            sums.push(line);
            previous = line;
        }
        Integral { sums }
    }

    /// Sum over rows `r1..=r2` and columns `c1..=c2` (zero for an empty rectangle).
    fn area(&self, r1: usize, c1: usize, r2: usize, c2: usize) -> f64 {
        if r2 < r1 || c2 < c1 {
            return 0.0;
        }
        let mut area = self.sums[r2][c2];
        if r1 > 0 {
            area -= self.sums[r1 - 1][c2];
            if c1 > 0 {
                area += self.sums[r1 - 1][c1 - 1];
            }
        }
        if c1 > 0 {
            area -= self.sums[r2][c1 - 1];
        }
        area
    }
}

/// `ln(1 + a) - ln(1 + b)`: compares two non-negative areas on a log scale.
fn subtract_log(a: f64, b: f64) -> f64 {
    (1.0 + a).ln() - (1.0 + b).ln()
}

impl Filter {
    /// The filter's value at row `x`. Area arguments are inclusive; `x + w - 1` etc. never
    /// underflow because widths and heights are at least 1.
    fn apply(&self, image: &Integral, x: usize) -> f64 {
        let (y, w, h) = (self.y, self.width, self.height);
        let area = |r1: usize, c1: usize, r2: isize, c2: isize| -> f64 {
            if r2 < r1 as isize || c2 < c1 as isize {
                0.0
            } else {
                image.area(r1, c1, r2 as usize, c2 as usize)
            }
        };
        let (xi, yi, wi, hi) = (x as isize, y as isize, w as isize, h as isize);
        match self.kind {
            // The whole rectangle against nothing.
            0 => subtract_log(area(x, y, xi + wi - 1, yi + hi - 1), 0.0),
            // Upper pitch half against lower pitch half.
            1 => {
                let h2 = hi / 2;
                let a = area(x, (yi + h2) as usize, xi + wi - 1, yi + hi - 1);
                let b = area(x, y, xi + wi - 1, yi + h2 - 1);
                subtract_log(a, b)
            }
            // Later time half against earlier time half.
            2 => {
                let w2 = wi / 2;
                let a = area((xi + w2) as usize, y, xi + wi - 1, yi + hi - 1);
                let b = area(x, y, xi + w2 - 1, yi + hi - 1);
                subtract_log(a, b)
            }
            // Checkerboard of the four quarters.
            3 => {
                let (w2, h2) = (wi / 2, hi / 2);
                let a = area(x, (yi + h2) as usize, xi + w2 - 1, yi + hi - 1)
                    + area((xi + w2) as usize, y, xi + wi - 1, yi + h2 - 1);
                let b = area(x, y, xi + w2 - 1, yi + h2 - 1)
                    + area(
                        (xi + w2) as usize,
                        (yi + h2) as usize,
                        xi + wi - 1,
                        yi + hi - 1,
                    );
                subtract_log(a, b)
            }
            // Middle third of the pitch range against the outer thirds.
            4 => {
                let h3 = hi / 3;
                let a = area(x, (yi + h3) as usize, xi + wi - 1, yi + 2 * h3 - 1);
                let b = area(x, y, xi + wi - 1, yi + h3 - 1)
                    + area(x, (yi + 2 * h3) as usize, xi + wi - 1, yi + hi - 1);
                subtract_log(a, b)
            }
            // Middle third of the time span against the outer thirds.
            _ => {
                let w3 = wi / 3;
                let a = area((xi + w3) as usize, y, xi + 2 * w3 - 1, yi + hi - 1);
                let b = area(x, y, xi + w3 - 1, yi + hi - 1)
                    + area((xi + 2 * w3) as usize, y, xi + wi - 1, yi + hi - 1);
                subtract_log(a, b)
            }
        }
    }
}

impl Quantizer {
    fn quantize(&self, value: f64) -> u32 {
        if value < self.1 {
            u32::from(value >= self.0)
        } else if value < self.2 {
            2
        } else {
            3
        }
    }
}

/// 2-bit Gray code: neighbouring levels differ in one bit.
const GRAY: [u32; 4] = [0, 1, 3, 2];

/// The sub-fingerprints of a chroma image: one per row position where the widest classifier
/// (16 rows) fits. Classifier 0 gives the two most significant bits.
pub fn sub_fingerprints(image: &ChromaImage) -> Vec<u32> {
    if image.len() < SUB_FINGERPRINT_SPAN {
        return Vec::new();
    }
    let integral = Integral::new(image);
    (0..=image.len() - SUB_FINGERPRINT_SPAN)
        .map(|x| sub_fingerprint(&integral, x))
        .collect()
}

fn sub_fingerprint(integral: &Integral, x: usize) -> u32 {
    CLASSIFIERS.iter().fold(0u32, |bits, (filter, quantizer)| {
        (bits << 2) | GRAY[quantizer.quantize(filter.apply(integral, x)) as usize]
    })
}

/// The sub-fingerprint of an all-zero (silent) image.
pub(crate) fn silence_value() -> u32 {
    let image = ChromaImage::from_rows(vec![[0.0; BANDS]; SUB_FINGERPRINT_SPAN]);
    sub_fingerprints(&image).first().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widest_filter_is_the_span() {
        let widest = CLASSIFIERS.iter().map(|(f, _)| f.width).max();
        assert_eq!(widest, Some(SUB_FINGERPRINT_SPAN));
        assert!(CLASSIFIERS.iter().all(|(f, _)| f.y + f.height <= BANDS));
    }

    #[test]
    fn quantizer_levels_and_gray_codes() {
        let q = Quantizer(-1.0, 0.0, 1.0);
        assert_eq!([-2.0, -0.5, 0.5, 2.0].map(|v| q.quantize(v)), [0, 1, 2, 3]);
        for pair in GRAY.windows(2) {
            assert_eq!((pair[0] ^ pair[1]).count_ones(), 1);
        }
    }

    #[test]
    fn silence_value_is_stable() {
        // All areas are zero, so every filter gives 0 and the level is fixed by the thresholds:
        // below t0 for classifier 0 (t0 = 1.98), and so on.
        let expected = CLASSIFIERS.iter().fold(0u32, |bits, (_, q)| {
            (bits << 2) | GRAY[q.quantize(0.0) as usize]
        });
        assert_eq!(silence_value(), expected);
    }
}
