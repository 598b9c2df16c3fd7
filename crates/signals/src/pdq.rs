//! PDQ, Meta's 256-bit perceptual image hash, bit-exact with the C++ reference.
//!
//! The pipeline, and why each step is written the way it is:
//!
//! 1. **Nearest-neighbour step to 512x512** ([`reference_resize_512`]): the reference resizes any
//!    image with a side over 512 pixels to exactly 512x512 (aspect ratio not kept) with CImg's
//!    nearest-neighbour resize before hashing, because its two-pass box filter is slow on large
//!    images. We fuse this step with the luma conversion, sampling only the pixels it keeps.
//! 2. **Luma** in `f32`: `0.299*R + 0.587*G + 0.114*B` evaluated left to right, or the grey value.
//! 3. **Jarosz filter**: two passes of a box filter along rows then columns, with the window
//!    `(n + 127) / 128`, then decimation to 64x64 by sampling pixel centres.
//! 4. **Quality**: gradient sum on the 64x64 image, integer arithmetic as the reference.
//! 5. **DCT**: rows 1..=16 of a 64-point DCT-II matrix, `D * A * D^T`, accumulated in `f32` in
//!    the reference's order.
//! 6. **Bits**: a bit is set when its coefficient is strictly above the Torben median.
//!
//! Every floating-point operation happens in the same order and precision as the reference,
//! compiled without fused multiply-add (Rust never contracts `a * b + c`), so the results are
//! identical to the last bit. The golden tests compare against the reference's own output.

use crate::hash256::Hash256;
use crate::image::{Channels, Image};
use crate::SignalAlgorithm;

/// The algorithm tag stored with every PDQ signal.
pub const ALGORITHM: SignalAlgorithm = SignalAlgorithm {
    signal_type: "pdq",
    version: 1,
};

/// Images with either side above this are first resized to `DOWNSAMPLE_SIDE` square.
pub const DOWNSAMPLE_SIDE: u32 = 512;

/// Images with a side below this give the all-zero hash with quality 0, as in the reference.
pub const MIN_HASHABLE_SIDE: u32 = 5;

/// Quality below this means the image is too flat to hash reliably (HMA drops such hashes;
/// takedown reports them and lets the caller decide).
pub const QUALITY_THRESHOLD: u8 = 50;

/// A PDQ hash with its quality (0..=100).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pdq {
    /// The 256-bit hash.
    pub hash: Hash256,
    /// Quality, 0..=100; below [`QUALITY_THRESHOLD`] the hash is unreliable.
    pub quality: u8,
}

/// The hashes of the eight rotations and reflections of an image, computed from one DCT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PdqDihedral {
    /// The image as it is.
    pub original: Hash256,
    /// Rotated 90 degrees counter-clockwise.
    pub rotate90: Hash256,
    /// Rotated 180 degrees.
    pub rotate180: Hash256,
    /// Rotated 270 degrees counter-clockwise.
    pub rotate270: Hash256,
    /// Mirrored across the horizontal axis (top to bottom; the reference's `flipx`).
    pub flip_x: Hash256,
    /// Mirrored across the vertical axis (left to right, the common re-upload mirror; the
    /// reference's `flipy`).
    pub flip_y: Hash256,
    /// Transposed about the main diagonal.
    pub flip_plus1: Hash256,
    /// Transposed about the anti-diagonal.
    pub flip_minus1: Hash256,
    /// Quality, 0..=100.
    pub quality: u8,
}

impl PdqDihedral {
    /// The eight hashes in the reference's order (`orig, rot90, rot180, rot270, flipx, flipy,
    /// flipplus1, flipminus1`) with their names.
    pub fn named(&self) -> [(&'static str, Hash256); 8] {
        [
            ("orig", self.original),
            ("rot90", self.rotate90),
            ("rot180", self.rotate180),
            ("rot270", self.rotate270),
            ("flipx", self.flip_x),
            ("flipy", self.flip_y),
            ("flipplus1", self.flip_plus1),
            ("flipminus1", self.flip_minus1),
        ]
    }
}

/// Hashes a decoded image the way the reference hashes a file: the 512x512 nearest-neighbour
/// step when a side exceeds 512, then luma, filter, DCT and bits.
pub fn hash_image(image: &Image) -> Pdq {
    let (mut luma, rows, cols) = reference_luma(image);
    hash_luma(&mut luma, rows, cols)
}

/// The eight dihedral hashes of a decoded image (the reference's `--pdqdih-across`).
pub fn dihedral_image(image: &Image) -> PdqDihedral {
    let (mut luma, rows, cols) = reference_luma(image);
    dihedral_luma(&mut luma, rows, cols)
}

/// The reference's nearest-neighbour step alone: images with a side over 512 become 512x512;
/// smaller ones are returned unchanged. Useful to compare decoded pixels with the reference's.
pub fn reference_resize_512(image: &Image) -> Image {
    let (width, height) = (image.width(), image.height());
    if width <= DOWNSAMPLE_SIDE && height <= DOWNSAMPLE_SIDE {
        return image.clone();
    }
    let channels = image.channels().count();
    let side = DOWNSAMPLE_SIDE as usize;
    let columns = source_indices(width, DOWNSAMPLE_SIDE);
    let rows = source_indices(height, DOWNSAMPLE_SIDE);
    let stride = width as usize * channels;
    let source = image.pixels();
    let mut pixels = Vec::with_capacity(side * side * channels);
    for &row in &rows {
        let line = &source[row * stride..(row + 1) * stride];
        for &column in &columns {
            pixels.extend_from_slice(&line[column * channels..(column + 1) * channels]);
        }
    }
    Image::new(DOWNSAMPLE_SIDE, DOWNSAMPLE_SIDE, image.channels(), pixels)
        .expect("512x512 buffer has the size it was built with")
}

/// Source index for each output position of CImg's nearest-neighbour resize from `from` to `to`
/// samples: `floor(x * from / to)`, which CImg computes in double precision (exact here).
fn source_indices(from: u32, to: u32) -> Vec<usize> {
    (0..to)
        .map(|x| ((f64::from(x) * f64::from(from)) / f64::from(to)) as usize)
        .collect()
}

/// Luma of the pixels the reference hashes, with the 512 step fused in (only kept pixels are
/// converted). Returns the buffer, rows and columns.
fn reference_luma(image: &Image) -> (Vec<f32>, usize, usize) {
    let (width, height) = (image.width(), image.height());
    let channels = image.channels();
    let stride = width as usize * channels.count();
    let pixels = image.pixels();
    let (columns, rows): (Vec<usize>, Vec<usize>) =
        if width > DOWNSAMPLE_SIDE || height > DOWNSAMPLE_SIDE {
            (
                source_indices(width, DOWNSAMPLE_SIDE),
                source_indices(height, DOWNSAMPLE_SIDE),
            )
        } else {
            (
                (0..width as usize).collect(),
                (0..height as usize).collect(),
            )
        };
    let mut luma = Vec::with_capacity(rows.len() * columns.len());
    for &row in &rows {
        let line = &pixels[row * stride..(row + 1) * stride];
        match channels {
            Channels::Grey => luma.extend(columns.iter().map(|&c| f32::from(line[c]))),
            Channels::Rgb => luma.extend(columns.iter().map(|&c| {
                let pixel = &line[c * 3..c * 3 + 3];
                luma_from_rgb(pixel[0], pixel[1], pixel[2])
            })),
        }
    }
    (luma, rows.len(), columns.len())
}

/// The reference's luma: `f32` coefficients, products summed left to right.
#[inline]
fn luma_from_rgb(red: u8, green: u8, blue: u8) -> f32 {
    const RED: f32 = 0.299;
    const GREEN: f32 = 0.587;
    const BLUE: f32 = 0.114;
    RED * f32::from(red) + GREEN * f32::from(green) + BLUE * f32::from(blue)
}

/// Hashes a luma buffer (`rows x cols`, row-major). The buffer is used as scratch space.
///
/// # Panics
/// If `luma.len() != rows * cols`.
pub fn hash_luma(luma: &mut [f32], rows: usize, cols: usize) -> Pdq {
    assert_eq!(luma.len(), rows * cols, "luma buffer size");
    if rows < MIN_HASHABLE_SIDE as usize || cols < MIN_HASHABLE_SIDE as usize {
        return Pdq {
            hash: Hash256::ZERO,
            quality: 0,
        };
    }
    // The reference copies a 64x64 input straight through (video frames already scaled by
    // ffmpeg) on this path but not on the dihedral path; a window-1 box filter is not an exact
    // identity in float arithmetic, so the distinction matters for bit-exactness.
    let block = if rows == 64 && cols == 64 {
        let mut block = [[0f32; 64]; 64];
        for (row, line) in block.iter_mut().enumerate() {
            line.copy_from_slice(&luma[row * 64..row * 64 + 64]);
        }
        block
    } else {
        downsample_to_64(luma, rows, cols)
    };
    let quality = quality_of(&block);
    let dct = dct_64_to_16(&block);
    Pdq {
        hash: bits_above_median(&dct),
        quality,
    }
}

/// The eight dihedral hashes of a luma buffer. The buffer is used as scratch space.
///
/// # Panics
/// If `luma.len() != rows * cols`.
pub fn dihedral_luma(luma: &mut [f32], rows: usize, cols: usize) -> PdqDihedral {
    assert_eq!(luma.len(), rows * cols, "luma buffer size");
    if rows < MIN_HASHABLE_SIDE as usize || cols < MIN_HASHABLE_SIDE as usize {
        return PdqDihedral {
            original: Hash256::ZERO,
            rotate90: Hash256::ZERO,
            rotate180: Hash256::ZERO,
            rotate270: Hash256::ZERO,
            flip_x: Hash256::ZERO,
            flip_y: Hash256::ZERO,
            flip_plus1: Hash256::ZERO,
            flip_minus1: Hash256::ZERO,
            quality: 0,
        };
    }
    let block = downsample_to_64(luma, rows, cols);
    let quality = quality_of(&block);
    let dct = dct_64_to_16(&block);
    // Rotations and reflections of the image map to sign changes and transposes of its DCT
    // coefficients (coefficient (i, j) of an odd frequency changes sign under a mirror).
    let transform = |transpose: bool, negate: &dyn Fn(usize, usize) -> bool| {
        let mut out = [[0f32; 16]; 16];
        for (i, line) in dct.iter().enumerate() {
            for (j, &value) in line.iter().enumerate() {
                let value = if negate(i, j) { -value } else { value };
                if transpose {
                    out[j][i] = value;
                } else {
                    out[i][j] = value;
                }
            }
        }
        bits_above_median(&out)
    };
    PdqDihedral {
        original: bits_above_median(&dct),
        rotate90: transform(true, &|_, j| j & 1 == 0),
        rotate180: transform(false, &|i, j| (i + j) & 1 == 1),
        rotate270: transform(true, &|i, _| i & 1 == 0),
        flip_x: transform(false, &|i, _| i & 1 == 0),
        flip_y: transform(false, &|_, j| j & 1 == 0),
        flip_plus1: transform(true, &|_, _| false),
        flip_minus1: transform(true, &|i, j| (i + j) & 1 == 1),
        quality,
    }
}

/// Two Jarosz passes (box filter along rows, then along columns, twice) and decimation to 64x64.
fn downsample_to_64(luma: &mut [f32], rows: usize, cols: usize) -> [[f32; 64]; 64] {
    let window_along_rows = jarosz_window(cols, 64);
    let window_along_cols = jarosz_window(rows, 64);
    let mut scratch = vec![0f32; rows * cols];
    for _ in 0..2 {
        for (input, output) in luma.chunks_exact(cols).zip(scratch.chunks_exact_mut(cols)) {
            box_filter_line(input, output, window_along_rows);
        }
        box_filter_columns(&scratch, luma, rows, cols, window_along_cols);
    }
    let mut block = [[0f32; 64]; 64];
    for (out_row, line) in block.iter_mut().enumerate() {
        let row = (((out_row as f64 + 0.5) * rows as f64) / 64.0) as usize;
        for (out_col, value) in line.iter_mut().enumerate() {
            let col = (((out_col as f64 + 0.5) * cols as f64) / 64.0) as usize;
            *value = luma[row * cols + col];
        }
    }
    block
}

/// The reference's window: half of `old / new`, rounded up, because two passes are made.
fn jarosz_window(old: usize, new: usize) -> usize {
    old.div_ceil(2 * new)
}

/// One box-filter pass over a line, in the reference's four phases: grow the window without
/// writing, write while it grows to full size, slide, and shrink at the far end. The running
/// sum is kept in `f32` exactly as the reference keeps it (its rounding is part of the hash).
fn box_filter_line(input: &[f32], output: &mut [f32], window: usize) {
    let length = input.len();
    let half = (window + 2) / 2; // 7 -> 4, 8 -> 5, as the reference
    let mut sum = 0f32;
    let mut size = 0usize;
    let (mut left, mut right, mut out) = (0usize, 0usize, 0usize);
    for _ in 0..half - 1 {
        sum += input[right];
        size += 1;
        right += 1;
    }
    for _ in 0..window - half + 1 {
        sum += input[right];
        size += 1;
        output[out] = sum / size as f32;
        right += 1;
        out += 1;
    }
    for _ in 0..length - window {
        sum += input[right];
        sum -= input[left];
        output[out] = sum / size as f32;
        left += 1;
        right += 1;
        out += 1;
    }
    for _ in 0..half - 1 {
        sum -= input[left];
        size -= 1;
        output[out] = sum / size as f32;
        left += 1;
        out += 1;
    }
}

/// The same box filter down every column at once: each column sees exactly the operations
/// [`box_filter_line`] would apply to it, but memory is walked row by row (cache-friendly and
/// vectorisable) instead of with a stride of a whole row.
fn box_filter_columns(input: &[f32], output: &mut [f32], rows: usize, cols: usize, window: usize) {
    let half = (window + 2) / 2;
    let mut sums = vec![0f32; cols];
    let mut size = 0usize;
    let (mut left, mut right, mut out) = (0usize, 0usize, 0usize);
    let row = |index: usize| &input[index * cols..(index + 1) * cols];
    for _ in 0..half - 1 {
        sums.iter_mut().zip(row(right)).for_each(|(s, &v)| *s += v);
        size += 1;
        right += 1;
    }
    for _ in 0..window - half + 1 {
        sums.iter_mut().zip(row(right)).for_each(|(s, &v)| *s += v);
        size += 1;
        let divisor = size as f32;
        let target = &mut output[out * cols..(out + 1) * cols];
        target
            .iter_mut()
            .zip(&sums)
            .for_each(|(o, &s)| *o = s / divisor);
        right += 1;
        out += 1;
    }
    for _ in 0..rows - window {
        let (adding, removing) = (row(right), row(left));
        for ((s, &add), &remove) in sums.iter_mut().zip(adding).zip(removing) {
            *s += add;
            *s -= remove;
        }
        let divisor = size as f32;
        let target = &mut output[out * cols..(out + 1) * cols];
        target
            .iter_mut()
            .zip(&sums)
            .for_each(|(o, &s)| *o = s / divisor);
        left += 1;
        right += 1;
        out += 1;
    }
    for _ in 0..half - 1 {
        sums.iter_mut().zip(row(left)).for_each(|(s, &v)| *s -= v);
        size -= 1;
        let divisor = size as f32;
        let target = &mut output[out * cols..(out + 1) * cols];
        target
            .iter_mut()
            .zip(&sums)
            .for_each(|(o, &s)| *o = s / divisor);
        left += 1;
        out += 1;
    }
}

/// The reference's heuristic quality: count significant gradients between neighbours.
fn quality_of(block: &[[f32; 64]; 64]) -> u8 {
    // `(int)(((u - v) * 100) / 255)` with float arithmetic, truncated toward zero.
    let step = |u: f32, v: f32| ((((u - v) * 100.0) / 255.0) as i32).abs();
    let mut gradient_sum: i32 = 0;
    for (upper, lower) in block.iter().zip(&block[1..]) {
        for (&u, &v) in upper.iter().zip(lower) {
            gradient_sum += step(u, v);
        }
    }
    for line in block {
        for pair in line.windows(2) {
            gradient_sum += step(pair[0], pair[1]);
        }
    }
    (gradient_sum / 90).min(100) as u8
}

/// Rows 1..=16 of the 64-point DCT-II matrix, as `f32`, computed as the reference computes it
/// (scale factor rounded to `f32`, product with the double cosine, rounded once).
fn dct_matrix() -> &'static [[f32; 64]; 16] {
    static MATRIX: std::sync::OnceLock<[[f32; 64]; 16]> = std::sync::OnceLock::new();
    MATRIX.get_or_init(|| {
        let scale = (2.0f64 / 64.0).sqrt() as f32;
        let mut matrix = [[0f32; 64]; 16];
        for (i, line) in matrix.iter_mut().enumerate() {
            for (j, value) in line.iter_mut().enumerate() {
                let angle =
                    (std::f64::consts::PI / 2.0 / 64.0) * (i as f64 + 1.0) * (2.0 * j as f64 + 1.0);
                *value = (f64::from(scale) * angle.cos()) as f32;
            }
        }
        matrix
    })
}

/// `B = D A D^T` for the 16 lowest non-DC frequencies, accumulating in `f32` in index order.
fn dct_64_to_16(block: &[[f32; 64]; 64]) -> [[f32; 16]; 16] {
    let matrix = dct_matrix();
    // T = D A: each T[i][j] sums over k in order; computing a whole row of T at once keeps
    // that order per element while reading A row by row.
    let mut partial = [[0f32; 64]; 16];
    for (d_row, t_row) in matrix.iter().zip(partial.iter_mut()) {
        for (k, a_row) in block.iter().enumerate() {
            let coefficient = d_row[k];
            for (t, &a) in t_row.iter_mut().zip(a_row) {
                *t += coefficient * a;
            }
        }
    }
    let mut out = [[0f32; 16]; 16];
    for (t_row, out_row) in partial.iter().zip(out.iter_mut()) {
        for (d_row, value) in matrix.iter().zip(out_row.iter_mut()) {
            let mut sum = 0f32;
            for (&t, &d) in t_row.iter().zip(d_row) {
                sum += t * d;
            }
            *value = sum;
        }
    }
    out
}

/// Sets bit `16 i + j` when coefficient `(i, j)` is strictly above the median.
fn bits_above_median(dct: &[[f32; 16]; 16]) -> Hash256 {
    let flat: Vec<f32> = dct.iter().flatten().copied().collect();
    let median = torben_median(&flat);
    let mut hash = Hash256::ZERO;
    for (k, &value) in flat.iter().enumerate() {
        if value > median {
            hash.set_bit(k);
        }
    }
    hash
}

/// Torben Mogensen's median (the lower median for an even count), as the reference computes it;
/// it only ever returns one of the input values, so sorting would give the same answer, but
/// this keeps the reference's comparison semantics for equal values.
fn torben_median(values: &[f32]) -> f32 {
    let n = values.len();
    let half = n.div_ceil(2);
    let (mut min, mut max) = (values[0], values[0]);
    for &value in &values[1..] {
        if value < min {
            min = value;
        }
        if value > max {
            max = value;
        }
    }
    loop {
        let guess = (min + max) / 2.0;
        let (mut less, mut greater, mut equal) = (0usize, 0usize, 0usize);
        let (mut max_below, mut min_above) = (min, max);
        for &value in values {
            if value < guess {
                less += 1;
                if value > max_below {
                    max_below = value;
                }
            } else if value > guess {
                greater += 1;
                if value < min_above {
                    min_above = value;
                }
            } else {
                equal += 1;
            }
        }
        if less <= half && greater <= half {
            return if less >= half {
                max_below
            } else if less + equal >= half {
                guess
            } else {
                min_above
            };
        } else if less > greater {
            max = max_below;
        } else {
            min = min_above;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_images_give_the_zero_hash_with_quality_zero() {
        let image = Image::new(4, 100, Channels::Grey, vec![128; 400]).unwrap();
        assert_eq!(
            hash_image(&image),
            Pdq {
                hash: Hash256::ZERO,
                quality: 0
            }
        );
        assert_eq!(dihedral_image(&image).quality, 0);
    }

    #[test]
    fn flat_image_has_quality_zero() {
        let image = Image::new(100, 80, Channels::Rgb, vec![200; 100 * 80 * 3]).unwrap();
        assert_eq!(hash_image(&image).quality, 0);
    }

    #[test]
    fn box_filter_matches_the_reference_worked_example() {
        // The reference's comment works window 7 over 0..16 by hand.
        let input: Vec<f32> = (0..16).map(|v| v as f32).collect();
        let mut output = vec![0f32; 16];
        box_filter_line(&input, &mut output, 7);
        let sums = [
            6, 10, 15, 21, 28, 35, 42, 49, 56, 63, 70, 77, 84, 75, 65, 54,
        ];
        let sizes = [4, 5, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 5, 4];
        for k in 0..16 {
            assert_eq!(output[k], sums[k] as f32 / sizes[k] as f32, "position {k}");
        }
        box_filter_line(&input, &mut output, 8);
        assert_eq!(output[0], 10.0 / 5.0);
        assert_eq!(output[11], 92.0 / 8.0);
        assert_eq!(output[15], 54.0 / 4.0);
    }

    #[test]
    fn column_filter_equals_line_filter_on_each_column() {
        let (rows, cols) = (37, 5);
        let input: Vec<f32> = (0..rows * cols)
            .map(|v| ((v * 7919) % 251) as f32 * 0.37)
            .collect();
        let mut by_columns = vec![0f32; rows * cols];
        box_filter_columns(&input, &mut by_columns, rows, cols, 6);
        for c in 0..cols {
            let column: Vec<f32> = (0..rows).map(|r| input[r * cols + c]).collect();
            let mut expected = vec![0f32; rows];
            box_filter_line(&column, &mut expected, 6);
            for r in 0..rows {
                assert_eq!(by_columns[r * cols + c].to_bits(), expected[r].to_bits());
            }
        }
    }

    #[test]
    fn torben_returns_the_lower_median() {
        let mut values: Vec<f32> = (0..256).map(|v| ((v * 37) % 256) as f32).collect();
        assert_eq!(torben_median(&values), 127.0);
        values[3] = 1000.0;
        let mut sorted = values.clone();
        sorted.sort_by(f32::total_cmp);
        assert_eq!(torben_median(&values), sorted[127]);
    }
}
