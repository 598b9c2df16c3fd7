//! Integer value noise and fractal noise: the texture of the "photo-like" images.
//!
//! Lattice values come from a hash of `(seed, x, y)`, and interpolation uses a fixed-point
//! smoothstep, so the same seed gives the same texture on every machine.

use crate::canvas::{mix, Canvas, Rgb};

/// SplitMix64's finaliser: a cheap, well-mixed 64-bit hash.
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The lattice value at integer point `(x, y)`, in `0..=65535`.
#[inline]
fn lattice(seed: u64, x: i64, y: i64) -> i64 {
    let h = mix64(
        seed ^ (x as u64).wrapping_mul(0x9E37_79B9) ^ ((y as u64).wrapping_mul(0x85EB_CA6B) << 32),
    );
    (h >> 48) as i64
}

/// Fixed-point smoothstep of `t` in `0..=256` (`3t^2 - 2t^3`), result in `0..=256`.
#[inline]
fn smooth(t: i64) -> i64 {
    (t * t * (3 * 256 - 2 * t)) >> 16
}

/// Value noise at `(x, y)` with lattice cells of `cell` pixels, in `0..=65535`.
#[inline]
pub fn value_noise(seed: u64, x: i64, y: i64, cell: i64) -> i64 {
    let (gx, gy) = (x.div_euclid(cell), y.div_euclid(cell));
    let tx = smooth(x.rem_euclid(cell) * 256 / cell);
    let ty = smooth(y.rem_euclid(cell) * 256 / cell);
    let a = lattice(seed, gx, gy);
    let b = lattice(seed, gx + 1, gy);
    let c = lattice(seed, gx, gy + 1);
    let d = lattice(seed, gx + 1, gy + 1);
    let top = a + (((b - a) * tx) >> 8);
    let bottom = c + (((d - c) * tx) >> 8);
    top + (((bottom - top) * ty) >> 8)
}

/// Fractal ("fBm") noise: `octaves` layers of value noise, each with half the cell size and
/// half the weight of the previous one. Result in `0..=65535`.
pub fn fractal(seed: u64, x: i64, y: i64, cell: i64, octaves: u32) -> i64 {
    let (mut sum, mut total, mut weight, mut cell) = (0i64, 0i64, 256i64, cell.max(1));
    for octave in 0..octaves {
        sum += value_noise(
            seed.wrapping_add(u64::from(octave) * 0x1000_0001),
            x,
            y,
            cell,
        ) * weight;
        total += weight;
        weight /= 2;
        cell = (cell / 2).max(1);
    }
    sum / total.max(1)
}

/// A colour ramp: `stops` evenly spaced over `0..=65535`.
pub fn palette(stops: &[Rgb], v: i64) -> Rgb {
    let v = v.clamp(0, 65535) as u64;
    let segments = (stops.len() - 1) as u64;
    let pos = v * segments * 256 / 65536;
    let (i, t) = ((pos / 256) as usize, (pos % 256) as u32);
    if i >= stops.len() - 1 {
        stops[stops.len() - 1]
    } else {
        mix(stops[i], stops[i + 1], t)
    }
}

/// Fills a rectangle of the canvas with fractal noise mapped through a colour ramp.
/// `contrast` stretches the noise around its middle (256 = unchanged): fBm is concentrated
/// near the middle of its range, and photos have more tonal spread than that.
#[allow(clippy::too_many_arguments)]
pub fn fill_texture(
    canvas: &mut Canvas,
    rect: (i32, i32, i32, i32),
    seed: u64,
    cell: i64,
    octaves: u32,
    contrast: i64,
    stops: &[Rgb],
) {
    let (x0, y0, x1, y1) = rect;
    for y in y0.max(0)..y1.min(canvas.height as i32) {
        for x in x0.max(0)..x1.min(canvas.width as i32) {
            let v = fractal(seed, i64::from(x), i64::from(y), cell, octaves);
            let v = 32768 + (((v - 32768) * contrast) >> 8);
            canvas.put(x, y, palette(stops, v));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_stays_in_range_and_is_continuous() {
        let mut previous = value_noise(7, 0, 3, 16);
        for x in 0..200 {
            let v = value_noise(7, x, 3, 16);
            assert!((0..=65535).contains(&v));
            assert!((v - previous).abs() < 65536 / 4, "jump at {x}");
            previous = v;
        }
        let f = fractal(7, -50, 90, 64, 5);
        assert!((0..=65535).contains(&f));
    }
}
