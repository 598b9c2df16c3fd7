//! The image generators, one per [`Style`].
//!
//! Every generator draws from ChaCha8 streams seeded from the caller's seed, and uses only
//! integer geometry, so an image depends on nothing but `(style, seed, width, height)`.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use takedown_signals::Image;

use crate::canvas::{luma, mix, shade, Canvas, Rgb};
use crate::font::{draw_text, fit_scale, text_height, text_width, GLYPH_WIDTH};
use crate::noise::{fill_texture, fractal, mix64, palette, value_noise};
use crate::{script, words};

/// The kinds of image the corpus generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Style {
    /// A statement poster: dark or textured background, header band with an outlet name and
    /// a badge, large lines of Arabic-like script, Latin headline and body text, a dated footer.
    Poster,
    /// A photo-like landscape: fractal-noise terrain, sky, clouds, hills and buildings.
    Photo,
    /// A messenger screenshot: status bar, channel header, message bubbles with text lines.
    Chat,
    /// A frame of a news-style video: a scene, a presenter silhouette, a caption bar, a logo.
    VideoStill,
    /// A nearly uniform image with a faint gradient: too little detail for PDQ (quality < 50).
    Flat,
    /// A poster from a template family: siblings share background and layout and differ only
    /// in their text, the hard negatives of matching. See [`template_sibling`].
    TemplateSibling,
    /// Unrelated images to measure false positives against: shapes, stripes, pages, mosaics,
    /// landscapes in other palettes, objects on plain backgrounds.
    Distractor,
}

impl Style {
    /// Every style, in a fixed order.
    pub const ALL: [Style; 7] = [
        Style::Poster,
        Style::Photo,
        Style::Chat,
        Style::VideoStill,
        Style::Flat,
        Style::TemplateSibling,
        Style::Distractor,
    ];

    /// A short lower-case name used in file names and reports.
    pub fn name(self) -> &'static str {
        match self {
            Style::Poster => "poster",
            Style::Photo => "photo",
            Style::Chat => "chat",
            Style::VideoStill => "video-still",
            Style::Flat => "flat",
            Style::TemplateSibling => "template",
            Style::Distractor => "distractor",
        }
    }

    /// The size the style is usually seen at (portrait phone screenshots, 720p frames, ...).
    pub fn default_size(self) -> (u32, u32) {
        match self {
            Style::Poster | Style::TemplateSibling => (1024, 768),
            Style::Photo | Style::Distractor => (1024, 768),
            Style::Chat => (720, 1280),
            Style::VideoStill => (1280, 720),
            Style::Flat => (800, 600),
        }
    }
}

/// A deterministic generator for one purpose (`salt`) of one seed.
pub(crate) fn rng_for(seed: u64, salt: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(mix64(seed ^ mix64(salt)))
}

/// Generates one image of `style` from `seed` at `width x height` (each at least 16).
/// For [`Style::TemplateSibling`] the seed names the family and the image is member 0.
pub fn generate(style: Style, seed: u64, width: u32, height: u32) -> Image {
    let (w, h) = (width.max(16), height.max(16));
    let canvas = match style {
        Style::Poster => poster(&mut rng_for(seed, 1), &mut rng_for(seed, 2), seed, w, h),
        Style::TemplateSibling => return template_sibling(seed, 0, w, h),
        Style::Photo => {
            let mut c = Canvas::new(w, h, [0, 0, 0]);
            photo(&mut c, &mut rng_for(seed, 3), seed, 0);
            c
        }
        Style::Chat => chat(&mut rng_for(seed, 4), seed, w, h),
        Style::VideoStill => video_still(&mut rng_for(seed, 5), seed, w, h),
        Style::Flat => flat(&mut rng_for(seed, 6), w, h),
        Style::Distractor => distractor(&mut rng_for(seed, 7), seed, w, h),
    };
    canvas.into_image()
}

/// Member `member` of the template family `family`: the layout, colours, background and
/// outlet name come from `family` alone; the headline, script lines, body text and date come
/// from `(family, member)`. Two members differ only where statements differ.
pub fn template_sibling(family: u64, member: u64, width: u32, height: u32) -> Image {
    let (w, h) = (width.max(16), height.max(16));
    let family_seed = mix64(family ^ 0x7E3A_11F0);
    let mut layout = rng_for(family_seed, 1);
    let mut text = rng_for(mix64(family_seed) ^ member, 2);
    poster(&mut layout, &mut text, family_seed, w, h).into_image()
}

const DARK_BACKGROUNDS: &[Rgb] = &[
    [12, 12, 14],
    [16, 22, 38],
    [30, 32, 22],
    [40, 14, 12],
    [24, 24, 24],
    [8, 30, 28],
];
const ACCENTS: &[Rgb] = &[
    [212, 175, 55],
    [236, 236, 236],
    [190, 30, 36],
    [40, 140, 70],
    [230, 120, 20],
    [60, 120, 200],
];
const LANDSCAPES: &[[Rgb; 4]] = &[
    [[34, 52, 20], [70, 100, 40], [140, 130, 80], [200, 190, 150]],
    [
        [60, 40, 20],
        [150, 110, 60],
        [210, 180, 120],
        [240, 220, 180],
    ],
    [[40, 40, 45], [90, 85, 80], [150, 145, 140], [220, 220, 225]],
    [
        [20, 40, 60],
        [40, 90, 110],
        [120, 160, 150],
        [230, 230, 210],
    ],
];
const SKIES: &[(Rgb, Rgb)] = &[
    ([70, 120, 200], [190, 215, 240]),
    ([40, 50, 90], [230, 150, 90]),
    ([150, 160, 170], [220, 222, 225]),
    ([20, 30, 60], [80, 100, 140]),
];

/// A colour guaranteed to stand out against `background`.
fn contrasting(rng: &mut ChaCha8Rng, background: Rgb) -> Rgb {
    let candidates: Vec<Rgb> = ACCENTS
        .iter()
        .copied()
        .filter(|&c| luma(c).abs_diff(luma(background)) > 90)
        .collect();
    *candidates.choose(rng).unwrap_or(&[255, 255, 255])
}

/// A neutral badge: concentric rings, a cross of bars and a centre disc.
pub(crate) fn emblem(canvas: &mut Canvas, cx: i32, cy: i32, r: i32, main: Rgb, inner: Rgb) {
    let r = r.max(4);
    canvas.fill_circle(cx, cy, r, main);
    canvas.ring(cx, cy, r * 8 / 10, r * 7 / 10, inner, |_, _| true);
    let t = (r / 6).max(1);
    canvas.thick_line(cx - r / 2, cy, cx + r / 2, cy, t, inner);
    canvas.thick_line(cx, cy - r / 2, cx, cy + r / 2, t, inner);
    canvas.fill_circle(cx, cy, r / 5, inner);
}

/// Darkens towards the corners by up to `strength / 256`.
fn vignette(canvas: &mut Canvas, strength: i64) {
    let (w, h) = (i64::from(canvas.width), i64::from(canvas.height));
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = (2 * x - w, 2 * y - h);
            // Normalised squared distance in 1/256ths: 0 at the centre, 512 in the corners.
            let d = (dx * dx * 256 / (w * w) + dy * dy * 256 / (h * h)).min(512);
            let keep = 256 - (d * strength / 512);
            let c = canvas.get(x as u32, y as u32);
            canvas.put(x as i32, y as i32, shade(c, keep as u32));
        }
    }
}

/// Poster generator shared by [`Style::Poster`] and template families: `layout` decides
/// everything the family shares, `text` everything a statement changes.
fn poster(layout: &mut ChaCha8Rng, text: &mut ChaCha8Rng, seed: u64, w: u32, h: u32) -> Canvas {
    let (wi, hi) = (w as i32, h as i32);
    let unit = wi.min(hi);
    let background = *DARK_BACKGROUNDS.choose(layout).expect("non-empty");
    let accent = *ACCENTS.choose(layout).expect("non-empty");
    let mut canvas = Canvas::new(w, h, background);

    // Background: gradient, dark texture, photo panel on top, or vignette.
    let background_kind = layout.gen_range(0..4);
    match background_kind {
        0 => canvas.vertical_gradient(shade(background, 400), background),
        1 => {
            let dark = [
                shade(background, 128),
                background,
                shade(background, 420),
                shade(accent, 90),
            ];
            fill_texture(
                &mut canvas,
                (0, 0, wi, hi),
                seed ^ 11,
                i64::from(unit / 3),
                5,
                400,
                &dark,
            );
        }
        2 => {
            let mut panel = Canvas::new(w, h * 45 / 100, [0, 0, 0]);
            photo(&mut panel, layout, seed ^ 12, 1);
            canvas.paste(&panel, 0, 0);
            // Fade the panel into the background so the text below stays readable.
            let fade = hi * 10 / 100;
            for y in 0..fade {
                let row = hi * 45 / 100 - fade + y;
                canvas.blend_rect(0, row, wi, row + 1, background, (y * 256 / fade) as u32);
            }
        }
        _ => {
            canvas.vertical_gradient(shade(background, 300), shade(background, 180));
            vignette(&mut canvas, 200);
        }
    }

    // Frame.
    if layout.gen_bool(0.5) {
        let t = (unit / 120).max(2);
        let m = unit / 30;
        for (x0, y0, x1, y1) in [
            (m, m, wi - m, m + t),
            (m, hi - m - t, wi - m, hi - m),
            (m, m, m + t, hi - m),
            (wi - m - t, m, wi - m, hi - m),
        ] {
            canvas.fill_rect(x0, y0, x1, y1, accent);
        }
    }

    // Header band with the outlet's name and badge; the badge side mirrors the script.
    let header_h = hi * layout.gen_range(10..15) / 100;
    let header_top = if background_kind == 2 {
        hi * 45 / 100
    } else {
        hi / 25
    };
    let band = if layout.gen_bool(0.5) {
        accent
    } else {
        shade(background, 60)
    };
    canvas.blend_rect(0, header_top, wi, header_top + header_h, band, 220);
    let on_band = if luma(band) > 128 {
        [15, 15, 15]
    } else {
        [240, 240, 240]
    };
    let badge_left = layout.gen_bool(0.5);
    let r = header_h * 45 / 100;
    let badge_x = if badge_left {
        wi / 20 + r
    } else {
        wi - wi / 20 - r
    };
    emblem(
        &mut canvas,
        badge_x,
        header_top + header_h / 2,
        r,
        on_band,
        band,
    );
    let outlet = words::outlet(layout);
    let name_scale = fit_scale(outlet, wi * 55 / 100)
        .min(header_h * 6 / 10 / 7)
        .max(1);
    let name_x = if badge_left { badge_x + r * 2 } else { wi / 20 };
    draw_text(
        &mut canvas,
        name_x,
        header_top + (header_h - text_height(name_scale)) / 2,
        outlet,
        name_scale,
        on_band,
        256,
    );

    // Script block: two or three big right-aligned lines, optionally on a panel.
    let script_colour = contrasting(layout, background);
    let lines = layout.gen_range(2..=3);
    // The script block takes at most half the room between header and footer.
    let room = hi - hi / 14 - hi / 40 - (header_top + header_h);
    let em = (hi * layout.gen_range(7..10) / 100).min(room / 2 / (lines * 2 + 1));
    let script_top = header_top + header_h + em * 2;
    let margin = wi / 14;
    if layout.gen_bool(0.4) {
        canvas.blend_rect(
            margin / 2,
            script_top - em * 3 / 2,
            wi - margin / 2,
            script_top + lines * em * 2,
            shade(background, 30),
            150,
        );
    }
    for line in 0..lines {
        // Justified block: full lines, and a last line as long as the statement makes it.
        let max_width = if line + 1 < lines {
            wi - 2 * margin
        } else {
            wi - 2 * margin - text.gen_range(0..wi / 2)
        };
        script::draw_line(
            &mut canvas,
            text,
            wi - margin,
            script_top + line * em * 2,
            max_width,
            em,
            script_colour,
        );
    }

    // Latin block: headline and body lines, left-aligned or centred.
    let latin_colour = if luma(background) < 100 {
        [235, 235, 235]
    } else {
        [20, 20, 20]
    };
    let centred = layout.gen_bool(0.5);
    let mut y = script_top + lines * em * 2;
    let headline = words::headline(text);
    let head_scale = (hi / 110).max(1);
    let x_for = |width: i32| if centred { (wi - width) / 2 } else { margin };
    draw_text(
        &mut canvas,
        x_for(text_width(&headline, head_scale)),
        y,
        &headline,
        head_scale,
        accent,
        256,
    );
    y += text_height(head_scale) * 2;
    let body_scale = (head_scale / 2).max(1);
    let chars = ((wi - 2 * margin) / ((GLYPH_WIDTH + 1) * body_scale)).max(4) as usize;
    while y + text_height(body_scale) < hi - hi / 14 - hi / 40 - text_height(body_scale) {
        let line = words::lorem_fitting(text, chars);
        draw_text(
            &mut canvas,
            x_for(text_width(&line, body_scale)),
            y,
            &line,
            body_scale,
            latin_colour,
            256,
        );
        y += text_height(body_scale) * 2;
    }

    // Footer: a bar with the date and a short script line.
    let footer_h = hi / 14;
    let footer_top = hi - footer_h - hi / 40;
    canvas.fill_rect(0, footer_top, wi, footer_top + footer_h, shade(accent, 120));
    let date = words::date(text);
    let date_scale = (footer_h / 14).max(1);
    draw_text(
        &mut canvas,
        margin,
        footer_top + (footer_h - text_height(date_scale)) / 2,
        &date,
        date_scale,
        [250, 250, 250],
        256,
    );
    script::draw_line(
        &mut canvas,
        text,
        wi - margin,
        footer_top + footer_h * 6 / 10,
        wi / 3,
        footer_h / 2,
        [250, 250, 250],
    );
    canvas
}

/// Paints a photo-like landscape over the whole canvas. `variant` selects palettes apart from
/// the seed so that distractor landscapes do not look like the reference photos.
fn photo(canvas: &mut Canvas, rng: &mut ChaCha8Rng, seed: u64, variant: usize) {
    let (w, h) = (canvas.width as i64, canvas.height as i64);
    let ground = LANDSCAPES[(rng.gen_range(0..LANDSCAPES.len()) + variant) % LANDSCAPES.len()];
    let (sky_top, sky_bottom) = SKIES[(rng.gen_range(0..SKIES.len()) + variant) % SKIES.len()];
    let horizon = h * rng.gen_range(30..60) / 100;
    let hills = h * rng.gen_range(5..20) / 100;
    let hill_colour = shade(ground[0], 180);
    let scale = w.max(h);
    let (ground_seed, cloud_seed, hill_seed, grain_seed) = (
        mix64(seed ^ 21),
        mix64(seed ^ 22),
        mix64(seed ^ 23),
        mix64(seed ^ 24),
    );
    let ridge: Vec<i64> = (0..w)
        .map(|x| horizon - hills * fractal(hill_seed, x, 0, scale / 4, 4) / 65536)
        .collect();
    for y in 0..h {
        for x in 0..w {
            let c = if y < ridge[x as usize] {
                let sky = mix(sky_top, sky_bottom, (y * 256 / horizon.max(1)) as u32);
                let cloud = fractal(cloud_seed, x, y * 2, scale / 5, 5) - 34000;
                if cloud > 0 {
                    mix(sky, [245, 245, 245], (cloud * 256 / 16000).min(230) as u32)
                } else {
                    sky
                }
            } else if y < horizon {
                hill_colour
            } else {
                // Terrain: features stretched sideways, as ground seen at a low angle.
                let v = fractal(ground_seed, x / 2, y, scale / 10, 8);
                // Fine detail (grass, gravel) at a few pixels, which photos have plenty of.
                let detail = value_noise(ground_seed ^ 0xD7, x, y, 3) / 2 - 16384;
                palette(&ground, 32768 + (v - 32768) * 3 + detail)
            };
            // Sensor grain: luma noise of up to +-6 levels (triangular) and a little chroma
            // noise, which also gives JPEG files the entropy of camera pictures.
            let bits = mix64(grain_seed ^ ((x as u64) << 32) ^ y as u64);
            let byte = |k: u32| ((bits >> (8 * k)) & 0xFF) as i64;
            let g = byte(0) % 7 + byte(1) % 7 - 6;
            let c = [
                (i64::from(c[0]) + g + byte(2) % 5 - 2).clamp(0, 255) as u8,
                (i64::from(c[1]) + g + byte(3) % 5 - 2).clamp(0, 255) as u8,
                (i64::from(c[2]) + g + byte(4) % 5 - 2).clamp(0, 255) as u8,
            ];
            canvas.put(x as i32, y as i32, c);
        }
    }
    // Buildings along the horizon: dark blocks with a few lit windows.
    if rng.gen_bool(0.5) {
        let mut x = rng.gen_range(0..w / 4);
        while x < w {
            let bw = rng.gen_range(w / 40..w / 12 + 2);
            let bh = rng.gen_range(h / 20..h / 6 + 2);
            let top = horizon - bh;
            let body = shade(hill_colour, rng.gen_range(60..160));
            canvas.fill_rect(
                x as i32,
                top as i32,
                (x + bw) as i32,
                horizon as i32 + 2,
                body,
            );
            let win = (bw / 6).max(2);
            let mut wy = top + win;
            while wy + win < horizon {
                let mut wx = x + win;
                while wx + win < x + bw {
                    if rng.gen_bool(0.4) {
                        canvas.fill_rect(
                            wx as i32,
                            wy as i32,
                            (wx + win) as i32,
                            (wy + win) as i32,
                            [230, 210, 140],
                        );
                    }
                    wx += win * 2;
                }
                wy += win * 2;
            }
            x += bw + rng.gen_range(0..w / 10 + 1);
        }
    }
}

/// A messenger screenshot in light or dark mode.
fn chat(rng: &mut ChaCha8Rng, seed: u64, w: u32, h: u32) -> Canvas {
    let (wi, hi) = (w as i32, h as i32);
    let dark_mode = rng.gen_bool(0.3);
    let (background, incoming, outgoing, ink) = if dark_mode {
        ([16, 22, 30], [36, 46, 58], [44, 82, 120], [230, 232, 235])
    } else {
        (
            [222, 214, 204],
            [255, 255, 255],
            [220, 248, 198],
            [20, 20, 20],
        )
    };
    let theme = *[[36, 120, 160], [70, 80, 96], [0, 110, 90], [60, 70, 140]]
        .choose(rng)
        .expect("non-empty");
    let mut canvas = Canvas::new(w, h, background);

    // Status bar and channel header.
    let status_h = hi * 3 / 100;
    canvas.fill_rect(0, 0, wi, status_h, shade(theme, 180));
    let small = (status_h / 10).max(1);
    let clock = words::time(rng);
    draw_text(
        &mut canvas,
        wi / 30,
        (status_h - text_height(small)) / 2,
        &clock,
        small,
        [255, 255, 255],
        256,
    );
    canvas.fill_rect(
        wi - wi / 10,
        status_h / 3,
        wi - wi / 30,
        status_h * 2 / 3,
        [255, 255, 255],
    );
    let header_h = hi * 7 / 100;
    canvas.fill_rect(0, status_h, wi, status_h + header_h, theme);
    let avatar_r = header_h * 35 / 100;
    emblem(
        &mut canvas,
        wi / 8,
        status_h + header_h / 2,
        avatar_r,
        [240, 240, 240],
        theme,
    );
    let name = words::outlet(rng);
    let name_scale = (header_h / 22).max(1);
    draw_text(
        &mut canvas,
        wi / 8 + avatar_r * 2,
        status_h + header_h / 4,
        name,
        name_scale,
        [255, 255, 255],
        256,
    );
    draw_text(
        &mut canvas,
        wi / 8 + avatar_r * 2,
        status_h + header_h * 3 / 5,
        "ONLINE",
        (name_scale * 2 / 3).max(1),
        [210, 230, 240],
        256,
    );

    // Input bar.
    let input_h = hi * 7 / 100;
    canvas.fill_rect(
        0,
        hi - input_h,
        wi,
        hi,
        if dark_mode {
            [24, 32, 42]
        } else {
            [246, 246, 246]
        },
    );
    canvas.fill_rounded_rect(
        wi / 20,
        hi - input_h * 8 / 10,
        wi * 8 / 10,
        hi - input_h * 2 / 10,
        input_h / 3,
        if dark_mode {
            [40, 50, 62]
        } else {
            [255, 255, 255]
        },
    );
    canvas.fill_circle(wi * 9 / 10, hi - input_h / 2, input_h / 3, theme);

    // Messages from the top down until the input bar.
    let text_scale = (wi / 260).max(1);
    let line_h = text_height(text_scale) * 2;
    let mut y = status_h + header_h + hi / 60;
    let mut message = 0u64;
    loop {
        let outgoing_side = rng.gen_bool(0.35);
        let bubble_w = wi * rng.gen_range(45..80) / 100;
        let x0 = if outgoing_side {
            wi - bubble_w - wi / 25
        } else {
            wi / 25
        };
        let pad = (wi / 40).max(3);
        let mut kind = rng.gen_range(0..4);
        let mut body_h = match kind {
            0 => bubble_w * 6 / 10,
            1 => line_h * 2,
            _ => line_h * rng.gen_range(1..=4),
        };
        let bottom = hi - input_h - hi / 60;
        if y + body_h + pad * 2 + line_h > bottom {
            // Fill the rest of the screen with a one-line message if one fits.
            (kind, body_h) = (2, line_h);
            if y + body_h + pad * 2 + line_h > bottom {
                break;
            }
        }
        let bubble_h = body_h + pad * 2 + line_h;
        let fill = if outgoing_side { outgoing } else { incoming };
        canvas.fill_rounded_rect(x0, y, x0 + bubble_w, y + bubble_h, pad * 2, fill);
        let inner_w = bubble_w - pad * 2;
        match kind {
            0 => {
                // A forwarded picture.
                let mut thumb = Canvas::new(inner_w as u32, body_h as u32, [0, 0, 0]);
                photo(&mut thumb, rng, mix64(seed ^ 0xC0 ^ message), 2);
                canvas.paste(&thumb, x0 + pad, y + pad);
            }
            1 => {
                let em = line_h * 6 / 10;
                script::draw_line(
                    &mut canvas,
                    rng,
                    x0 + bubble_w - pad,
                    y + pad + line_h,
                    inner_w,
                    em,
                    ink,
                );
            }
            _ => {
                let chars = (inner_w / ((GLYPH_WIDTH + 1) * text_scale)).max(3) as usize;
                for l in 0..body_h / line_h {
                    let line = words::lorem_fitting(rng, chars);
                    draw_text(
                        &mut canvas,
                        x0 + pad,
                        y + pad + l * line_h,
                        &line,
                        text_scale,
                        ink,
                        256,
                    );
                }
            }
        }
        let stamp = words::time(rng);
        let stamp_scale = (text_scale * 2 / 3).max(1);
        draw_text(
            &mut canvas,
            x0 + bubble_w - pad - text_width(&stamp, stamp_scale),
            y + bubble_h - pad - text_height(stamp_scale),
            &stamp,
            stamp_scale,
            shade(ink, 160),
            256,
        );
        y += bubble_h + hi / 80;
        message += 1;
    }
    canvas
}

/// A frame of a news-style video: scene, presenter silhouette, caption bar, corner logo.
fn video_still(rng: &mut ChaCha8Rng, seed: u64, w: u32, h: u32) -> Canvas {
    let (wi, hi) = (w as i32, h as i32);
    let mut canvas = Canvas::new(w, h, [0, 0, 0]);
    if rng.gen_bool(0.6) {
        photo(&mut canvas, rng, seed ^ 31, 0);
    } else {
        // Studio: gradient wall with a large soft-edged disc and panels.
        let wall = *DARK_BACKGROUNDS.choose(rng).expect("non-empty");
        canvas.vertical_gradient(shade(wall, 500), wall);
        let accent = *ACCENTS.choose(rng).expect("non-empty");
        for _ in 0..rng.gen_range(3..7) {
            let x = rng.gen_range(0..wi);
            let pw = rng.gen_range(wi / 20..wi / 6);
            canvas.blend_rect(x, 0, x + pw, hi, accent, rng.gen_range(20..70));
        }
        canvas.ring(
            wi * 3 / 4,
            hi / 3,
            hi / 4,
            hi / 6,
            shade(accent, 200),
            |_, _| true,
        );
    }
    // Presenter: head and shoulders in a dark garment.
    let cx = wi * rng.gen_range(30..70) / 100;
    let head = hi / 9;
    let garment = *[[20, 20, 20], [50, 40, 30], [30, 35, 45]]
        .choose(rng)
        .expect("non-empty");
    canvas.fill_rounded_rect(
        cx - head * 2,
        hi * 55 / 100,
        cx + head * 2,
        hi,
        head,
        garment,
    );
    canvas.fill_circle(cx, hi * 55 / 100 - head * 8 / 10, head, shade(garment, 200));
    // Caption bar with an accent strip, a script line and a Latin line, plus a ticker.
    let bar_h = hi * 16 / 100;
    let bar_top = hi - bar_h - hi / 14;
    let accent = *ACCENTS.choose(rng).expect("non-empty");
    canvas.blend_rect(0, bar_top, wi, bar_top + bar_h, [10, 10, 12], 215);
    canvas.fill_rect(0, bar_top, wi / 60, bar_top + bar_h, accent);
    script::draw_line(
        &mut canvas,
        rng,
        wi - wi / 30,
        bar_top + bar_h * 45 / 100,
        wi * 7 / 10,
        bar_h * 35 / 100,
        [250, 250, 250],
    );
    let headline = words::headline(rng);
    let scale = (bar_h / 30).max(1);
    draw_text(
        &mut canvas,
        wi / 30,
        bar_top + bar_h * 65 / 100,
        &headline,
        scale,
        accent,
        256,
    );
    canvas.fill_rect(0, hi - hi / 14, wi, hi, shade(accent, 110));
    let ticker = words::lorem(rng, 12);
    draw_text(
        &mut canvas,
        wi / 40,
        hi - hi / 14 + (hi / 14 - text_height(scale)) / 2,
        &ticker,
        scale,
        [255, 255, 255],
        256,
    );
    // Translucent corner logo and channel name.
    let logo_r = hi / 14;
    let mut logo = canvas.crop(
        (wi - wi / 20 - logo_r * 2).max(0) as u32,
        (hi / 20) as u32,
        (wi - wi / 20) as u32,
        (hi / 20 + logo_r * 2) as u32,
    );
    emblem(&mut logo, logo_r, logo_r, logo_r, [240, 240, 240], accent);
    for y in 0..logo.height {
        for x in 0..logo.width {
            let c = logo.get(x, y);
            canvas.blend(
                wi - wi / 20 - logo_r * 2 + x as i32,
                hi / 20 + y as i32,
                c,
                190,
            );
        }
    }
    let channel = words::outlet(rng);
    draw_text(
        &mut canvas,
        wi / 30,
        hi / 20,
        channel,
        (hi / 180).max(1),
        [255, 255, 255],
        200,
    );
    canvas
}

/// A nearly uniform image: one colour, a faint gradient, maybe a small soft mark. Gradients
/// between PDQ's 64x64 cells stay below its per-step threshold, so the quality is low.
fn flat(rng: &mut ChaCha8Rng, w: u32, h: u32) -> Canvas {
    let base: Rgb = [
        rng.gen_range(30..226),
        rng.gen_range(30..226),
        rng.gen_range(30..226),
    ];
    let other: Rgb = [
        base[0].saturating_add(rng.gen_range(0..30)),
        base[1].saturating_add(rng.gen_range(0..30)),
        base[2].saturating_add(rng.gen_range(0..30)),
    ];
    let mut canvas = Canvas::new(w, h, base);
    canvas.vertical_gradient(base, other);
    if rng.gen_bool(0.5) {
        let r = (w.min(h) / 40) as i32;
        let (x, y) = (
            rng.gen_range(r..w as i32 - r),
            rng.gen_range(r..h as i32 - r),
        );
        canvas.fill_circle(x, y, r, shade(base, 200));
    }
    canvas
}

/// Unrelated content, six kinds.
fn distractor(rng: &mut ChaCha8Rng, seed: u64, w: u32, h: u32) -> Canvas {
    let (wi, hi) = (w as i32, h as i32);
    let random_colour = |rng: &mut ChaCha8Rng| -> Rgb { [rng.gen(), rng.gen(), rng.gen()] };
    match rng.gen_range(0..6) {
        0 => {
            // Geometric composition.
            let mut c = Canvas::new(w, h, [0, 0, 0]);
            let (a, b) = (random_colour(rng), random_colour(rng));
            c.vertical_gradient(a, b);
            for _ in 0..rng.gen_range(8..30) {
                let colour = random_colour(rng);
                let (x, y) = (rng.gen_range(0..wi), rng.gen_range(0..hi));
                let s = rng.gen_range(wi / 30..wi / 5);
                match rng.gen_range(0..3) {
                    0 => c.fill_rect(x, y, x + s, y + s * rng.gen_range(1..3), colour),
                    1 => c.fill_circle(x, y, s / 2, colour),
                    _ => c.thick_line(
                        x,
                        y,
                        rng.gen_range(0..wi),
                        rng.gen_range(0..hi),
                        s / 8 + 1,
                        colour,
                    ),
                }
            }
            c
        }
        1 => {
            // Stripes and plaid.
            let mut c = Canvas::new(w, h, random_colour(rng));
            let mut x = 0;
            while x < wi {
                let sw = rng.gen_range(wi / 50..wi / 8);
                c.fill_rect(x, 0, x + sw, hi, random_colour(rng));
                x += sw + rng.gen_range(0..wi / 10);
            }
            // Always cross the stripes: an image that varies along one axis only has a DCT
            // whose other half is zero, and PDQ's bits then depend on rounding noise (such
            // hashes flip completely under JPEG despite a quality of 100).
            let mut y = 0;
            while y < hi {
                let sh = rng.gen_range(hi / 50..hi / 8);
                c.blend_rect(0, y, wi, y + sh, random_colour(rng), 128);
                y += sh + rng.gen_range(0..hi / 10);
            }
            c
        }
        2 => {
            let mut c = Canvas::new(w, h, [0, 0, 0]);
            let variant = 1 + rng.gen_range(0..3);
            photo(&mut c, rng, mix64(seed ^ 41), variant);
            c
        }
        3 => {
            // A document page: heading, paragraphs, a table.
            let mut c = Canvas::new(w, h, [250, 250, 248]);
            let scale = (wi / 300).max(1);
            let margin = wi / 12;
            let mut y = hi / 14;
            let title = words::lorem(rng, 3);
            draw_text(&mut c, margin, y, &title, scale * 2, [20, 20, 60], 256);
            y += text_height(scale * 2) * 2;
            let chars = ((wi - 2 * margin) / ((GLYPH_WIDTH + 1) * scale)).max(4) as usize;
            let row_h = text_height(scale) * 2;
            while y < hi - hi / 10 - row_h {
                if rng.gen_bool(0.1) {
                    // A table: ruled rows and columns with a number in each cell.
                    let rows = rng
                        .gen_range(2..6)
                        .min((hi - hi / 10 - y) / row_h - 1)
                        .max(1);
                    let columns = rng.gen_range(2..5);
                    let cell_w = (wi - 2 * margin) / columns;
                    for r in 0..=rows {
                        let ry = y + r * row_h;
                        c.fill_rect(margin, ry, wi - margin, ry + 1, [80, 80, 80]);
                    }
                    for k in 0..=columns {
                        let x = margin + k * cell_w;
                        c.fill_rect(x, y, x + 1, y + rows * row_h, [80, 80, 80]);
                    }
                    for r in 0..rows {
                        for k in 0..columns {
                            let n = rng.gen_range(0..10_000).to_string();
                            let x = margin + k * cell_w + scale * 2;
                            let ry = y + r * row_h + row_h / 4;
                            draw_text(&mut c, x, ry, &n, scale, [30, 30, 30], 256);
                        }
                    }
                    y += rows * row_h + row_h;
                } else {
                    let line = words::lorem_fitting(rng, chars);
                    draw_text(&mut c, margin, y, &line, scale, [30, 30, 30], 256);
                    y += row_h;
                }
            }
            c
        }
        4 => {
            // Mosaic of tiles over a texture.
            let mut c = Canvas::new(w, h, [0, 0, 0]);
            let stops = [random_colour(rng), random_colour(rng), random_colour(rng)];
            fill_texture(
                &mut c,
                (0, 0, wi, hi),
                seed ^ 51,
                i64::from(wi / 4),
                4,
                512,
                &stops,
            );
            let tile = rng.gen_range(wi / 24..wi / 8).max(2);
            let mut y = 0;
            while y < hi {
                let mut x = 0;
                while x < wi {
                    if rng.gen_bool(0.5) {
                        c.blend_rect(x, y, x + tile - 2, y + tile - 2, random_colour(rng), 170);
                    }
                    x += tile;
                }
                y += tile;
            }
            c
        }
        _ => {
            // An object on a plain backdrop, with a shadow.
            let backdrop = random_colour(rng);
            let mut c = Canvas::new(w, h, mix(backdrop, [255, 255, 255], 160));
            let r = hi * rng.gen_range(20..40) / 100;
            let (x, y) = (wi / 2 + rng.gen_range(-wi / 8..wi / 8), hi / 2);
            c.fill_circle(x + r / 6, y + r / 6, r, shade(backdrop, 120));
            let body = random_colour(rng);
            for k in 0..8 {
                c.fill_circle(
                    x - k * r / 40,
                    y - k * r / 40,
                    r - k * r / 9,
                    mix(body, [255, 255, 255], (k * 24) as u32),
                );
            }
            c
        }
    }
}
