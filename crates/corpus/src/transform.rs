//! The edits a copy of an image goes through on its way round the internet, as listed in
//! `BENCHMARKS.md`: re-encoding, scaling, cropping, borders, overlays, rotations and colour
//! changes. Each is a pure function of the image and a seed.
//!
//! Sizes are rounded to whole pixels and never reach zero; every geometric change touches at
//! least one pixel, so even a tiny image is changed by every transform.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use takedown_signals::Image;

use crate::canvas::{luma, mix, shade, Canvas, Rgb};
use crate::encode::{decode, encode, Format};
use crate::font::{draw_text, fit_scale, text_height, text_width};
use crate::noise::mix64;
use crate::styles::emblem;
use crate::words;

/// What fills the border added by [`Transform::Border`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BorderKind {
    /// Black.
    Black,
    /// White.
    White,
    /// The image itself, stretched to the padded size and heavily blurred (the way social
    /// apps fill the sides of a picture that does not match the frame).
    Blurred,
}

/// One edit. Percentages are of the image's own width or height unless stated otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transform {
    /// JPEG re-encode at this quality, decoded again.
    Jpeg(u8),
    /// Scale both sides to this percentage (area averaging).
    Scale(u8),
    /// Stretch the width to this percentage, height unchanged (aspect change).
    Stretch(u16),
    /// Remove this percentage of width and height from each side, keeping the centre.
    CropCentre(u8),
    /// Remove this percentage from one side (which side depends on the seed).
    CropSide(u8),
    /// Add this percentage of width (left and right) and height (top and bottom) as a border.
    Border(u8, BorderKind),
    /// Pad with black to the aspect ratio `width:height`, image centred.
    Letterbox(u8, u8),
    /// A logo in the top-right corner whose side is this percentage of the image width.
    Logo(u8),
    /// A translucent line of text across the lower part of the image.
    TextWatermark,
    /// A dark caption bar with text over the bottom this percentage of the height.
    CaptionBar(u8),
    /// Mirror left to right.
    Mirror,
    /// Rotate 90 degrees clockwise.
    Rotate90,
    /// Rotate 180 degrees.
    Rotate180,
    /// Rotate clockwise by this many degrees (-45..=45) about the centre, same size, corners
    /// filled with black.
    Rotate(i8),
    /// Grey (as RGB with equal channels).
    Grayscale,
    /// Multiply every channel by `1 + percent / 100`.
    Brightness(i8),
    /// Scale distances from the mean luma by `percent / 100`.
    Contrast(u8),
    /// Scale distances from each pixel's grey by `percent / 100`.
    Saturation(u8),
    /// Rotate hue by this many degrees.
    Hue(u16),
    /// Gamma `quarters / 4` (3 = 0.75 lightens, 6 = 1.5 darkens).
    Gamma(u8),
    /// RGB to BGR.
    ChannelSwap,
    /// Box blur of this radius, applied twice (close to a Gaussian).
    Blur(u8),
    /// Additive triangular noise of up to this many levels per channel.
    Noise(u8),
    /// A screenshot: scale to 80%, pad to 16:9 under a phone-like status bar, JPEG 75.
    Screenshot,
}

impl Transform {
    /// Every transform of the benchmark list, with its parameters.
    pub fn all() -> Vec<Transform> {
        use BorderKind::*;
        use Transform::*;
        let mut all = vec![Jpeg(90), Jpeg(70), Jpeg(50), Jpeg(30)];
        all.extend([Scale(75), Scale(50), Scale(25), Stretch(130)]);
        all.extend([CropCentre(2), CropCentre(5), CropCentre(10), CropSide(10)]);
        for percent in [2, 5, 15] {
            for kind in [Black, White, Blurred] {
                all.push(Border(percent, kind));
            }
        }
        all.extend([Letterbox(1, 1), Letterbox(9, 16)]);
        all.extend([
            Logo(5),
            Logo(10),
            Logo(20),
            TextWatermark,
            CaptionBar(8),
            CaptionBar(12),
        ]);
        all.extend([Mirror, Rotate90, Rotate180, Rotate(2), Rotate(4)]);
        all.extend([
            Grayscale,
            Brightness(30),
            Brightness(-30),
            Contrast(130),
            Contrast(70),
        ]);
        all.extend([Saturation(150), Saturation(50), Hue(30), Gamma(3), Gamma(6)]);
        all.extend([ChannelSwap, Blur(2), Noise(12), Screenshot]);
        all
    }

    /// A stable name for reports and file names (`jpeg70`, `border5-blurred`, ...).
    pub fn name(&self) -> String {
        match *self {
            Transform::Jpeg(q) => format!("jpeg{q}"),
            Transform::Scale(p) => format!("scale{p}"),
            Transform::Stretch(p) => format!("stretch{p}"),
            Transform::CropCentre(p) => format!("crop-centre{p}"),
            Transform::CropSide(p) => format!("crop-side{p}"),
            Transform::Border(p, kind) => format!(
                "border{p}-{}",
                match kind {
                    BorderKind::Black => "black",
                    BorderKind::White => "white",
                    BorderKind::Blurred => "blurred",
                }
            ),
            Transform::Letterbox(w, h) => format!("letterbox{w}x{h}"),
            Transform::Logo(p) => format!("logo{p}"),
            Transform::TextWatermark => "watermark".into(),
            Transform::CaptionBar(p) => format!("caption{p}"),
            Transform::Mirror => "mirror".into(),
            Transform::Rotate90 => "rotate90".into(),
            Transform::Rotate180 => "rotate180".into(),
            Transform::Rotate(d) => format!("rotate{d}deg"),
            Transform::Grayscale => "grayscale".into(),
            Transform::Brightness(p) => format!("brightness{p:+}"),
            Transform::Contrast(p) => format!("contrast{p}"),
            Transform::Saturation(p) => format!("saturation{p}"),
            Transform::Hue(d) => format!("hue{d}"),
            Transform::Gamma(q) => format!("gamma{}.{:02}", q / 4, (q % 4) * 25),
            Transform::ChannelSwap => "channel-swap".into(),
            Transform::Blur(r) => format!("blur{r}"),
            Transform::Noise(a) => format!("noise{a}"),
            Transform::Screenshot => "screenshot".into(),
        }
    }

    /// Applies the transform. The seed decides the random parts (noise, which side is
    /// cropped, logo colours, overlay text); the result is always RGB.
    pub fn apply(&self, image: &Image, seed: u64) -> Image {
        let canvas = Canvas::from_image(image);
        let mut rng = ChaCha8Rng::seed_from_u64(mix64(seed ^ 0x7A4E_5F0A));
        match *self {
            Transform::Jpeg(quality) => return jpeg_round_trip(canvas, quality),
            Transform::Scale(p) => {
                let (w, h) = (percent_of(canvas.width, p), percent_of(canvas.height, p));
                resize_area(&canvas, w, h)
            }
            Transform::Stretch(p) => {
                let w = (canvas.width * u32::from(p) / 100).max(1);
                resize_area(&canvas, w, canvas.height)
            }
            Transform::CropCentre(p) => {
                let dx = margin(canvas.width, p);
                let dy = margin(canvas.height, p);
                canvas.crop(dx, dy, canvas.width - dx, canvas.height - dy)
            }
            Transform::CropSide(p) => {
                let (w, h) = (canvas.width, canvas.height);
                let (dx, dy) = (margin(w, p), margin(h, p));
                match rng.gen_range(0..4) {
                    0 => canvas.crop(dx, 0, w, h),
                    1 => canvas.crop(0, 0, w - dx, h),
                    2 => canvas.crop(0, dy, w, h),
                    _ => canvas.crop(0, 0, w, h - dy),
                }
            }
            Transform::Border(p, kind) => border(&canvas, p, kind),
            Transform::Letterbox(aw, ah) => letterbox(&canvas, u32::from(aw), u32::from(ah)),
            Transform::Logo(p) => logo(canvas, p, &mut rng),
            Transform::TextWatermark => watermark(canvas),
            Transform::CaptionBar(p) => caption_bar(canvas, p, &mut rng),
            Transform::Mirror => map_rows(canvas, |row| {
                let mut out: Vec<u8> = Vec::with_capacity(row.len());
                for px in row.chunks_exact(3).rev() {
                    out.extend_from_slice(px);
                }
                out
            }),
            Transform::Rotate90 => rotate90(&canvas),
            Transform::Rotate180 => {
                let mut c = canvas;
                let pixels: Vec<u8> = c.pixels.chunks_exact(3).rev().flatten().copied().collect();
                c.pixels = pixels;
                c
            }
            Transform::Rotate(degrees) => rotate_small(&canvas, degrees),
            Transform::Grayscale => map_pixels(canvas, |c| {
                let y = luma(c) as u8;
                [y, y, y]
            }),
            Transform::Brightness(p) => {
                let factor = (100 + i32::from(p)).max(0);
                map_channels(canvas, |v| (i32::from(v) * factor + 50) / 100)
            }
            Transform::Contrast(p) => {
                let mean = mean_luma(&canvas);
                let factor = i32::from(p);
                map_channels(canvas, |v| mean + ((i32::from(v) - mean) * factor) / 100)
            }
            Transform::Saturation(p) => {
                let factor = i32::from(p);
                map_pixels(canvas, |c| {
                    let grey = luma(c) as i32;
                    let f =
                        |v: u8| (grey + (i32::from(v) - grey) * factor / 100).clamp(0, 255) as u8;
                    [f(c[0]), f(c[1]), f(c[2])]
                })
            }
            Transform::Hue(degrees) => {
                let shift = i32::from(degrees % 360) * 1536 / 360;
                map_pixels(canvas, |c| rotate_hue(c, shift))
            }
            Transform::Gamma(quarters) => {
                let table = gamma_table(quarters);
                map_channels(canvas, |v| i32::from(table[v as usize]))
            }
            Transform::ChannelSwap => map_pixels(canvas, |c| [c[2], c[1], c[0]]),
            Transform::Blur(radius) => {
                let r = u32::from(radius).max(1);
                box_blur(&box_blur(&canvas, r), r)
            }
            Transform::Noise(amplitude) => {
                let a = i32::from(amplitude);
                let mut c = canvas;
                for v in c.pixels.iter_mut() {
                    let n = rng.gen_range(0..=a) + rng.gen_range(0..=a) - a;
                    *v = (i32::from(*v) + n).clamp(0, 255) as u8;
                }
                c
            }
            Transform::Screenshot => return screenshot(&canvas, &mut rng),
        }
        .into_image()
    }
}

/// `p` percent of `n`, rounded, at least 1.
fn percent_of(n: u32, p: u8) -> u32 {
    ((n * u32::from(p) + 50) / 100).max(1)
}

/// A crop margin: `p` percent of `n`, at least 1, leaving at least one pixel after cropping
/// both sides.
fn margin(n: u32, p: u8) -> u32 {
    ((n * u32::from(p) + 50) / 100)
        .max(1)
        .min(n.saturating_sub(1) / 2)
}

fn jpeg_round_trip(canvas: Canvas, quality: u8) -> Image {
    let bytes = encode(&canvas.into_image(), Format::Jpeg { quality });
    decode(&bytes).expect("the image crate decodes its own JPEG output")
}

fn map_rows(mut canvas: Canvas, f: impl Fn(&[u8]) -> Vec<u8>) -> Canvas {
    let stride = canvas.width as usize * 3;
    let pixels: Vec<u8> = canvas.pixels.chunks_exact(stride).flat_map(f).collect();
    canvas.pixels = pixels;
    canvas
}

fn map_pixels(mut canvas: Canvas, f: impl Fn(Rgb) -> Rgb) -> Canvas {
    for px in canvas.pixels.chunks_exact_mut(3) {
        let out = f([px[0], px[1], px[2]]);
        px.copy_from_slice(&out);
    }
    canvas
}

/// Applies `f` to every channel value through a 256-entry table, clamping to 0..=255.
fn map_channels(mut canvas: Canvas, f: impl Fn(u8) -> i32) -> Canvas {
    let table: Vec<u8> = (0..=255u8).map(|v| f(v).clamp(0, 255) as u8).collect();
    for v in canvas.pixels.iter_mut() {
        *v = table[*v as usize];
    }
    canvas
}

fn mean_luma(canvas: &Canvas) -> i32 {
    let n = (canvas.width as u64 * canvas.height as u64).max(1);
    let sum: u64 = canvas
        .pixels
        .chunks_exact(3)
        .map(|p| u64::from(luma([p[0], p[1], p[2]])))
        .sum();
    (sum / n) as i32
}

/// `x^(quarters/4)` for 8-bit values, via square roots (exactly rounded everywhere) rather
/// than `powf` (platform-dependent).
fn gamma_table(quarters: u8) -> [u8; 256] {
    let mut table = [0u8; 256];
    for (v, out) in table.iter_mut().enumerate() {
        let fourth_root = (v as f64 / 255.0).sqrt().sqrt();
        let mut y = 1.0f64;
        for _ in 0..quarters {
            y *= fourth_root;
        }
        *out = (y * 255.0 + 0.5) as u8;
    }
    table
}

/// Rotates the hue by `shift` in units of 1/256 of a 60-degree sector (1536 per turn), in
/// integer HSV.
fn rotate_hue(c: Rgb, shift: i32) -> Rgb {
    let (r, g, b) = (i32::from(c[0]), i32::from(c[1]), i32::from(c[2]));
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let chroma = max - min;
    if chroma == 0 {
        return c;
    }
    let hue = if max == r {
        (g - b) * 256 / chroma
    } else if max == g {
        512 + (b - r) * 256 / chroma
    } else {
        1024 + (r - g) * 256 / chroma
    };
    let hue = (hue + shift).rem_euclid(1536);
    let (sector, f) = (hue / 256, hue % 256);
    let rising = min + chroma * f / 256;
    let falling = max - chroma * f / 256;
    let (r, g, b) = match sector {
        0 => (max, rising, min),
        1 => (falling, max, min),
        2 => (min, max, rising),
        3 => (min, falling, max),
        4 => (rising, min, max),
        _ => (max, min, falling),
    };
    [r as u8, g as u8, b as u8]
}

/// Resizes with area averaging: each output pixel is the exact area-weighted mean of the
/// source pixels it covers (integer weights), done separably. Good for downscaling, and
/// acceptable (box-like) for the mild upscaling of aspect changes.
pub(crate) fn resize_area(src: &Canvas, new_w: u32, new_h: u32) -> Canvas {
    let (new_w, new_h) = (new_w.max(1), new_h.max(1));
    // For each output sample: the first source index and the weights of the sources it
    // overlaps. Source i spans [i*to, (i+1)*to), output x spans [x*from, (x+1)*from), in a
    // common unit; overlaps sum to `from`.
    let weights = |from: u32, to: u32| -> Vec<(usize, Vec<u64>)> {
        (0..u64::from(to))
            .map(|x| {
                let (from, to) = (u64::from(from), u64::from(to));
                let (start, end) = (x * from, (x + 1) * from);
                let first = start / to;
                let last = (end - 1) / to;
                let w = (first..=last)
                    .map(|i| end.min((i + 1) * to) - start.max(i * to))
                    .collect();
                (first as usize, w)
            })
            .collect()
    };
    let (w, h) = (src.width as usize, src.height as usize);
    let (columns, rows) = (weights(src.width, new_w), weights(src.height, new_h));
    // Horizontal pass into 8.8 fixed point, then vertical pass back to 8 bits.
    let mut middle = vec![0u32; new_w as usize * h * 3];
    for y in 0..h {
        let line = &src.pixels[y * w * 3..(y + 1) * w * 3];
        for (x, (first, ws)) in columns.iter().enumerate() {
            for ch in 0..3 {
                let sum: u64 = ws
                    .iter()
                    .enumerate()
                    .map(|(k, &wt)| u64::from(line[(first + k) * 3 + ch]) * wt)
                    .sum();
                middle[(y * new_w as usize + x) * 3 + ch] =
                    ((sum * 256 + u64::from(src.width) / 2) / u64::from(src.width)) as u32;
            }
        }
    }
    let mut out = Canvas::new(new_w, new_h, [0, 0, 0]);
    let stride = new_w as usize * 3;
    for (y, (first, ws)) in rows.iter().enumerate() {
        for i in 0..stride {
            let sum: u64 = ws
                .iter()
                .enumerate()
                .map(|(k, &wt)| u64::from(middle[(first + k) * stride + i]) * wt)
                .sum();
            let denominator = u64::from(src.height) * 256;
            out.pixels[y * stride + i] = ((sum + denominator / 2) / denominator).min(255) as u8;
        }
    }
    out
}

/// Separable box blur of radius `r` with clamped edges, integer running sums.
fn box_blur(src: &Canvas, r: u32) -> Canvas {
    let (w, h) = (src.width as usize, src.height as usize);
    let r = r as i64;
    let n = (2 * r + 1) as u32;
    let pass = |pixels: &[u8], len: usize, count: usize, at: &dyn Fn(usize, usize) -> usize| {
        let mut out = vec![0u8; pixels.len()];
        for line in 0..count {
            for ch in 0..3 {
                let get =
                    |i: i64| u32::from(pixels[at(line, i.clamp(0, len as i64 - 1) as usize) + ch]);
                let mut sum: u32 = (-r..=r).map(get).sum();
                for i in 0..len as i64 {
                    out[at(line, i as usize) + ch] = ((sum + n / 2) / n) as u8;
                    sum += get(i + r + 1);
                    sum -= get(i - r);
                }
            }
        }
        out
    };
    let horizontal = pass(&src.pixels, w, h, &|line, i| (line * w + i) * 3);
    let vertical = pass(&horizontal, h, w, &|line, i| (i * w + line) * 3);
    Canvas {
        width: src.width,
        height: src.height,
        pixels: vertical,
    }
}

fn border(src: &Canvas, p: u8, kind: BorderKind) -> Canvas {
    let (bx, by) = (percent_of(src.width, p), percent_of(src.height, p));
    let (w, h) = (src.width + 2 * bx, src.height + 2 * by);
    let mut out = match kind {
        BorderKind::Black => Canvas::new(w, h, [0, 0, 0]),
        BorderKind::White => Canvas::new(w, h, [255, 255, 255]),
        BorderKind::Blurred => {
            let stretched = resize_area(src, w, h);
            let radius = (w.max(h) / 25).max(1);
            box_blur(&box_blur(&box_blur(&stretched, radius), radius), radius)
        }
    };
    out.paste(src, bx as i32, by as i32);
    out
}

fn letterbox(src: &Canvas, aw: u32, ah: u32) -> Canvas {
    let (w, h) = (u64::from(src.width), u64::from(src.height));
    let (aw, ah) = (u64::from(aw.max(1)), u64::from(ah.max(1)));
    let (nw, nh) = if w * ah >= h * aw {
        // Wider than the target: pad top and bottom.
        (w, (w * ah).div_ceil(aw))
    } else {
        ((h * aw).div_ceil(ah), h)
    };
    // A square image asked for 1:1 would be unchanged; pad a line so the copy always differs.
    let (nw, nh) = if (nw, nh) == (w, h) {
        (w, h + 2)
    } else {
        (nw, nh)
    };
    let mut out = Canvas::new(nw as u32, nh as u32, [0, 0, 0]);
    out.paste(src, ((nw - w) / 2) as i32, ((nh - h) / 2) as i32);
    out
}

fn logo(mut canvas: Canvas, p: u8, rng: &mut ChaCha8Rng) -> Canvas {
    let side = percent_of(canvas.width, p).max(3) as i32;
    let m = (side / 5).max(1);
    let x0 = canvas.width as i32 - side - m;
    let y0 = m;
    let colour: Rgb = [
        rng.gen_range(0..200),
        rng.gen_range(0..200),
        rng.gen_range(100..=255),
    ];
    canvas.fill_rounded_rect(x0, y0, x0 + side, y0 + side, side / 6, colour);
    emblem(
        &mut canvas,
        x0 + side / 2,
        y0 + side * 2 / 5,
        side / 4,
        [255, 255, 255],
        colour,
    );
    let label = "TV";
    let scale = (side / 3 / 7).max(1);
    draw_text(
        &mut canvas,
        x0 + (side - text_width(label, scale)) / 2,
        y0 + side * 3 / 4 - text_height(scale) / 2,
        label,
        scale,
        [255, 255, 255],
        256,
    );
    canvas
}

fn watermark(mut canvas: Canvas) -> Canvas {
    let text = "@SAMPLE_CHANNEL";
    let (w, h) = (canvas.width as i32, canvas.height as i32);
    let scale = fit_scale(text, w * 6 / 10);
    let x = (w - text_width(text, scale)) / 2;
    let y = (h * 7 / 10).min(h - text_height(scale)).max(0);
    // A soft shadow, then the text, so it reads on light and dark images alike.
    draw_text(
        &mut canvas,
        x + scale.max(2) / 2,
        y + scale.max(2) / 2,
        text,
        scale,
        [0, 0, 0],
        70,
    );
    draw_text(&mut canvas, x, y, text, scale, [255, 255, 255], 140);
    canvas
}

fn caption_bar(mut canvas: Canvas, p: u8, rng: &mut ChaCha8Rng) -> Canvas {
    let (w, h) = (canvas.width as i32, canvas.height as i32);
    let bar = percent_of(canvas.height, p) as i32;
    canvas.blend_rect(0, h - bar, w, h, [8, 8, 10], 235);
    let text = format!("{} - {}", words::headline(rng), words::lorem(rng, 4));
    let scale = (bar * 5 / 10 / 7).max(1);
    let y = h - bar + (bar - text_height(scale)) / 2;
    draw_text(&mut canvas, w / 30, y, &text, scale, [250, 250, 250], 256);
    canvas
}

fn rotate90(src: &Canvas) -> Canvas {
    // Clockwise: output (x, y) shows source (y, H - 1 - x).
    let (w, h) = (src.width, src.height);
    let mut out = Canvas::new(h, w, [0, 0, 0]);
    for y in 0..w {
        for x in 0..h {
            out.put(x as i32, y as i32, src.get(y, h - 1 - x));
        }
    }
    out
}

/// Sine and cosine of an angle in degrees by Taylor series (plain arithmetic, so the same on
/// every machine); accurate to double precision for the small angles used here.
fn sin_cos_degrees(degrees: f64) -> (f64, f64) {
    let x = degrees * (std::f64::consts::PI / 180.0);
    let (mut sin, mut cos) = (0.0, 0.0);
    let (mut term_s, mut term_c) = (x, 1.0);
    for k in 0..12 {
        sin += term_s;
        cos += term_c;
        let k = f64::from(k);
        term_s *= -x * x / ((2.0 * k + 2.0) * (2.0 * k + 3.0));
        term_c *= -x * x / ((2.0 * k + 1.0) * (2.0 * k + 2.0));
    }
    (sin, cos)
}

/// Rotation about the centre with bilinear sampling in 16.16 fixed point; outside is black.
fn rotate_small(src: &Canvas, degrees: i8) -> Canvas {
    let (sin, cos) = sin_cos_degrees(f64::from(degrees.clamp(-45, 45)));
    let (sin, cos) = ((sin * 65536.0) as i64, (cos * 65536.0) as i64);
    let (w, h) = (i64::from(src.width), i64::from(src.height));
    let mut out = Canvas::new(src.width, src.height, [0, 0, 0]);
    // Pixel centres relative to the image centre, doubled to stay integral.
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = (2 * x + 1 - w, 2 * y + 1 - h);
            // Inverse rotation (clockwise output means counter-clockwise lookup), in 16.16.
            let sx = (cos * dx + sin * dy + (w << 16)) / 2 - 32768;
            let sy = (-sin * dx + cos * dy + (h << 16)) / 2 - 32768;
            let (ix, iy) = (sx >> 16, sy >> 16);
            let (fx, fy) = ((sx & 0xFFFF) as u32 >> 8, (sy & 0xFFFF) as u32 >> 8);
            let sample = |px: i64, py: i64| -> Rgb {
                if px < 0 || py < 0 || px >= w || py >= h {
                    [0, 0, 0]
                } else {
                    src.get(px as u32, py as u32)
                }
            };
            if ix < -1 || iy < -1 || ix >= w || iy >= h {
                continue;
            }
            let top = mix(sample(ix, iy), sample(ix + 1, iy), fx);
            let bottom = mix(sample(ix, iy + 1), sample(ix + 1, iy + 1), fx);
            out.put(x as i32, y as i32, mix(top, bottom, fy));
        }
    }
    out
}

fn screenshot(src: &Canvas, rng: &mut ChaCha8Rng) -> Image {
    let scaled = resize_area(src, percent_of(src.width, 80), percent_of(src.height, 80));
    let (w, h) = (u64::from(scaled.width), u64::from(scaled.height));
    // Room for the status bar (about 4% of the screen) above the picture.
    let needed_h = h + h / 24 + 1;
    let (sw, sh) = if w * 9 >= needed_h * 16 {
        (w, (w * 9).div_ceil(16))
    } else {
        ((needed_h * 16).div_ceil(9), needed_h)
    };
    let bar = (sh / 25).max(1) as i32;
    let mut screen = Canvas::new(sw as u32, sh as u32, [28, 29, 32]);
    let top = bar as u64 + (sh - bar as u64 - h) / 2;
    screen.paste(&scaled, ((sw - w) / 2) as i32, top as i32);
    screen.fill_rect(0, 0, sw as i32, bar, [12, 12, 14]);
    let scale = (bar / 10).max(1);
    let clock = words::time(rng);
    let y = (bar - text_height(scale)) / 2;
    draw_text(&mut screen, bar, y, &clock, scale, [240, 240, 240], 256);
    // Battery and signal icons on the right.
    let right = sw as i32 - bar;
    screen.fill_rect(
        right - bar * 2,
        bar / 3,
        right,
        bar * 2 / 3,
        [240, 240, 240],
    );
    for k in 0..4 {
        let x = right - bar * 4 + k * bar / 3;
        screen.fill_rect(
            x,
            bar * (3 - k) / 4,
            x + bar / 5,
            bar * 3 / 4 + 1,
            shade([240, 240, 240], 256),
        );
    }
    jpeg_round_trip(screen, 75)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taylor_sine_matches_known_values() {
        let (s, c) = sin_cos_degrees(30.0);
        assert!((s - 0.5).abs() < 1e-15);
        assert!((c - 0.75f64.sqrt()).abs() < 1e-15);
    }

    #[test]
    fn area_resize_preserves_flat_colour_and_averages() {
        let flat = Canvas::new(10, 7, [10, 200, 99]);
        let out = resize_area(&flat, 3, 5);
        assert!(out.pixels.chunks(3).all(|p| p == [10, 200, 99]));
        let mut two = Canvas::new(2, 1, [0, 0, 0]);
        two.put(1, 0, [200, 100, 50]);
        assert_eq!(resize_area(&two, 1, 1).get(0, 0), [100, 50, 25]);
    }

    #[test]
    fn hue_rotation_by_a_full_turn_is_identity_and_grey_is_fixed() {
        // Integer HSV loses at most a level per channel on the way round.
        for c in [[200, 30, 40], [10, 250, 90], [0, 0, 255], [128, 128, 128]] {
            let back = rotate_hue(c, 1536);
            for k in 0..3 {
                assert!(back[k].abs_diff(c[k]) <= 1, "{c:?} -> {back:?}");
            }
        }
        assert_eq!(rotate_hue([128, 128, 128], 300), [128, 128, 128]);
        assert_eq!(rotate_hue([255, 0, 0], 512), [0, 255, 0]);
    }

    #[test]
    fn names_are_unique() {
        let names: std::collections::HashSet<String> =
            Transform::all().iter().map(Transform::name).collect();
        assert_eq!(names.len(), Transform::all().len());
    }
}
