//! A small RGB drawing surface with integer geometry.
//!
//! Everything here is integer or plain IEEE arithmetic (`+ - * /`, `sqrt`), never `sin`, `exp`
//! or `pow`: those come from the platform's maths library and may round differently from one
//! machine to the next, which would make "the same seed gives the same bytes" false.

use takedown_signals::{Channels, Image};

/// An RGB colour.
pub type Rgb = [u8; 3];

/// Mixes `a` and `b`: `t = 0` gives `a`, `t = 256` gives `b`.
pub fn mix(a: Rgb, b: Rgb, t: u32) -> Rgb {
    let t = t.min(256);
    let channel = |x: u8, y: u8| ((u32::from(x) * (256 - t) + u32::from(y) * t + 128) >> 8) as u8;
    [
        channel(a[0], b[0]),
        channel(a[1], b[1]),
        channel(a[2], b[2]),
    ]
}

/// Scales a colour's brightness by `num / 256`, saturating.
pub fn shade(c: Rgb, num: u32) -> Rgb {
    let channel = |x: u8| ((u32::from(x) * num) >> 8).min(255) as u8;
    [channel(c[0]), channel(c[1]), channel(c[2])]
}

/// Integer luma (BT.601 weights in 1/256ths), for contrast decisions while drawing.
pub fn luma(c: Rgb) -> u32 {
    (77 * u32::from(c[0]) + 150 * u32::from(c[1]) + 29 * u32::from(c[2])) >> 8
}

/// An RGB image being drawn on; coordinates are `i32` so shapes may hang off the edges.
#[derive(Clone)]
pub struct Canvas {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

impl Canvas {
    /// A canvas filled with one colour.
    pub fn new(width: u32, height: u32, fill: Rgb) -> Canvas {
        let mut pixels = Vec::with_capacity(width as usize * height as usize * 3);
        for _ in 0..width as usize * height as usize {
            pixels.extend_from_slice(&fill);
        }
        Canvas {
            width,
            height,
            pixels,
        }
    }

    /// Copies an image onto a canvas, expanding grey to RGB.
    pub fn from_image(image: &Image) -> Canvas {
        let pixels = match image.channels() {
            Channels::Rgb => image.pixels().to_vec(),
            Channels::Grey => image.pixels().iter().flat_map(|&v| [v, v, v]).collect(),
        };
        Canvas {
            width: image.width(),
            height: image.height(),
            pixels,
        }
    }

    /// The finished RGB image.
    pub fn into_image(self) -> Image {
        Image::new(self.width, self.height, Channels::Rgb, self.pixels)
            .expect("canvas buffer always matches its size")
    }

    #[inline]
    fn index(&self, x: i32, y: i32) -> Option<usize> {
        if x < 0 || y < 0 || x >= self.width as i32 || y >= self.height as i32 {
            None
        } else {
            Some((y as usize * self.width as usize + x as usize) * 3)
        }
    }

    /// The colour at `(x, y)`, which must be inside.
    #[inline]
    pub fn get(&self, x: u32, y: u32) -> Rgb {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]]
    }

    /// Sets one pixel; outside the canvas is ignored.
    #[inline]
    pub fn put(&mut self, x: i32, y: i32, c: Rgb) {
        if let Some(i) = self.index(x, y) {
            self.pixels[i..i + 3].copy_from_slice(&c);
        }
    }

    /// Blends one pixel towards `c` by `alpha / 256`.
    #[inline]
    pub fn blend(&mut self, x: i32, y: i32, c: Rgb, alpha: u32) {
        if let Some(i) = self.index(x, y) {
            let old = [self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]];
            self.pixels[i..i + 3].copy_from_slice(&mix(old, c, alpha));
        }
    }

    /// Clips a rectangle (`x1`, `y1` exclusive) to the canvas.
    fn clip(&self, x0: i32, y0: i32, x1: i32, y1: i32) -> (usize, usize, usize, usize) {
        let cx = |v: i32| v.clamp(0, self.width as i32) as usize;
        let cy = |v: i32| v.clamp(0, self.height as i32) as usize;
        (cx(x0), cy(y0), cx(x1), cy(y1))
    }

    /// Fills a rectangle, `x1`/`y1` exclusive.
    pub fn fill_rect(&mut self, x0: i32, y0: i32, x1: i32, y1: i32, c: Rgb) {
        let (x0, y0, x1, y1) = self.clip(x0, y0, x1, y1);
        let w = self.width as usize;
        for y in y0..y1 {
            for px in self.pixels[(y * w + x0) * 3..(y * w + x1) * 3].chunks_exact_mut(3) {
                px.copy_from_slice(&c);
            }
        }
    }

    /// Blends a rectangle towards `c` by `alpha / 256` (translucent bars and panels).
    pub fn blend_rect(&mut self, x0: i32, y0: i32, x1: i32, y1: i32, c: Rgb, alpha: u32) {
        let (x0, y0, x1, y1) = self.clip(x0, y0, x1, y1);
        let w = self.width as usize;
        for y in y0..y1 {
            for px in self.pixels[(y * w + x0) * 3..(y * w + x1) * 3].chunks_exact_mut(3) {
                let m = mix([px[0], px[1], px[2]], c, alpha);
                px.copy_from_slice(&m);
            }
        }
    }

    /// Fills a rectangle with rounded corners of radius `r` (chat bubbles, buttons).
    pub fn fill_rounded_rect(&mut self, x0: i32, y0: i32, x1: i32, y1: i32, r: i32, c: Rgb) {
        let r = r.min((x1 - x0) / 2).min((y1 - y0) / 2).max(0);
        self.fill_rect(x0 + r, y0, x1 - r, y1, c);
        self.fill_rect(x0, y0 + r, x0 + r, y1 - r, c);
        self.fill_rect(x1 - r, y0 + r, x1, y1 - r, c);
        for (cx, cy) in [
            (x0 + r, y0 + r),
            (x1 - r - 1, y0 + r),
            (x0 + r, y1 - r - 1),
            (x1 - r - 1, y1 - r - 1),
        ] {
            self.fill_circle(cx, cy, r, c);
        }
    }

    /// Fills a disc of radius `r` (integer distance test, no trigonometry).
    pub fn fill_circle(&mut self, cx: i32, cy: i32, r: i32, c: Rgb) {
        self.ring(cx, cy, r, -1, c, |_, _| true);
    }

    /// Draws the pixels whose distance from the centre is in `(inner, outer]`, restricted to
    /// those where `keep(dx, dy)` holds (half rings for bowls and hooks).
    pub fn ring(
        &mut self,
        cx: i32,
        cy: i32,
        outer: i32,
        inner: i32,
        c: Rgb,
        keep: impl Fn(i32, i32) -> bool,
    ) {
        let (o2, i2) = (outer * outer + outer, inner * inner + inner);
        for dy in -outer..=outer {
            for dx in -outer..=outer {
                let d2 = dx * dx + dy * dy;
                if d2 <= o2 && (inner < 0 || d2 > i2) && keep(dx, dy) {
                    self.put(cx + dx, cy + dy, c);
                }
            }
        }
    }

    /// A line of the given thickness, stamped as squares along its length.
    pub fn thick_line(&mut self, x0: i32, y0: i32, x1: i32, y1: i32, thickness: i32, c: Rgb) {
        let steps = (x1 - x0).abs().max((y1 - y0).abs()).max(1);
        let half = thickness / 2;
        for s in 0..=steps {
            let x = x0 + (x1 - x0) * s / steps;
            let y = y0 + (y1 - y0) * s / steps;
            self.fill_rect(
                x - half,
                y - half,
                x - half + thickness,
                y - half + thickness,
                c,
            );
        }
    }

    /// Fills the whole canvas with a vertical gradient from `top` to `bottom`.
    pub fn vertical_gradient(&mut self, top: Rgb, bottom: Rgb) {
        let h = self.height.max(2) - 1;
        for y in 0..self.height {
            let c = mix(top, bottom, y * 256 / h);
            self.fill_rect(0, y as i32, self.width as i32, y as i32 + 1, c);
        }
    }

    /// Copies `other` with its top-left corner at `(x, y)`, clipped.
    pub fn paste(&mut self, other: &Canvas, x: i32, y: i32) {
        for sy in 0..other.height as i32 {
            let ty = y + sy;
            if ty < 0 || ty >= self.height as i32 {
                continue;
            }
            let sx0 = (-x).max(0);
            let sx1 = (self.width as i32 - x).min(other.width as i32);
            if sx0 >= sx1 {
                continue;
            }
            let src = (sy as usize * other.width as usize + sx0 as usize) * 3;
            let dst = (ty as usize * self.width as usize + (x + sx0) as usize) * 3;
            let n = (sx1 - sx0) as usize * 3;
            self.pixels[dst..dst + n].copy_from_slice(&other.pixels[src..src + n]);
        }
    }

    /// A sub-rectangle as a new canvas, `x1`/`y1` exclusive; must lie inside.
    pub fn crop(&self, x0: u32, y0: u32, x1: u32, y1: u32) -> Canvas {
        let (w, h) = (x1 - x0, y1 - y0);
        let mut pixels = Vec::with_capacity(w as usize * h as usize * 3);
        for y in y0..y1 {
            let start = (y as usize * self.width as usize + x0 as usize) * 3;
            pixels.extend_from_slice(&self.pixels[start..start + w as usize * 3]);
        }
        Canvas {
            width: w,
            height: h,
            pixels,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_endpoints() {
        assert_eq!(mix([0, 100, 255], [255, 0, 0], 0), [0, 100, 255]);
        assert_eq!(mix([0, 100, 255], [255, 0, 0], 256), [255, 0, 0]);
    }

    #[test]
    fn paste_and_crop_round_trip_with_clipping() {
        let mut small = Canvas::new(3, 2, [1, 2, 3]);
        small.put(2, 1, [9, 9, 9]);
        let mut big = Canvas::new(5, 5, [0, 0, 0]);
        big.paste(&small, -1, 4);
        assert_eq!(big.get(0, 4), [1, 2, 3]);
        assert_eq!(big.get(2, 4), [0, 0, 0]);
        big.paste(&small, 1, 1);
        let back = big.crop(1, 1, 4, 3);
        assert_eq!(back.pixels, small.pixels);
    }
}
