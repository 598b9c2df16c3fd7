//! Procedural connected-stroke "script": lines that have the visual structure of Arabic
//! writing (right to left, letters joined on a baseline, tall strokes, bowls below the line,
//! small loops, dots above and below) without being any real text. Nothing here can spell a
//! word; it only reproduces the texture a perceptual hash sees.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::canvas::{Canvas, Rgb};

/// Draws words right to left starting at `right`, on the baseline `baseline`, until
/// `max_width` pixels are used. `em` is the letter height in pixels. Returns the width used.
pub fn draw_line(
    canvas: &mut Canvas,
    rng: &mut ChaCha8Rng,
    right: i32,
    baseline: i32,
    max_width: i32,
    em: i32,
    colour: Rgb,
) -> i32 {
    let em = em.max(6);
    let mut pen = right;
    let left_limit = right - max_width;
    loop {
        let units = rng.gen_range(2..=6);
        let width = draw_word(canvas, rng, pen, baseline, em, colour, units, left_limit);
        if width == 0 {
            break;
        }
        pen -= width + em / 2 + rng.gen_range(0..=em / 4);
        if pen - em * 2 < left_limit {
            break;
        }
    }
    right - pen.max(left_limit)
}

/// One "word": `units` joined letter shapes. Returns its width, 0 when it would not fit.
#[allow(clippy::too_many_arguments)]
fn draw_word(
    canvas: &mut Canvas,
    rng: &mut ChaCha8Rng,
    right: i32,
    baseline: i32,
    em: i32,
    colour: Rgb,
    units: u32,
    left_limit: i32,
) -> i32 {
    let stroke = (em / 7).max(2);
    let mut pen = right;
    for unit in 0..units {
        let last = unit + 1 == units;
        let kind = rng.gen_range(0..10);
        let width = match kind {
            0..=2 => em * 4 / 10,
            3 | 4 => em * 3 / 10,
            5 | 6 => em * 8 / 10,
            _ => em / 2,
        };
        if pen - width < left_limit {
            return if unit == 0 { 0 } else { right - pen };
        }
        let left = pen - width;
        // The joining stroke along the baseline, a little thicker like a reed pen's.
        canvas.fill_rect(left, baseline - stroke, pen, baseline + stroke / 2, colour);
        match kind {
            // Teeth: short upright strokes.
            0..=2 => canvas.thick_line(
                left,
                baseline,
                left,
                baseline - em * 35 / 100,
                stroke,
                colour,
            ),
            // Tall strokes (alef / lam shapes).
            3 | 4 => canvas.thick_line(
                left + width / 2,
                baseline,
                left + width / 2,
                baseline - em,
                stroke,
                colour,
            ),
            // Bowls hanging below the line.
            5 | 6 => {
                let r = width / 2;
                canvas.ring(left + r, baseline, r, r - stroke, colour, |_, dy| dy >= 0);
            }
            // Small closed loops on the line.
            7 | 8 => {
                let r = em / 5;
                canvas.ring(
                    left + width / 2,
                    baseline - r,
                    r,
                    r - stroke,
                    colour,
                    |_, _| true,
                );
            }
            // A flat stretch (kashida).
            _ => {}
        }
        // Dots above or below, one to three.
        if rng.gen_bool(0.35) {
            let dots = rng.gen_range(1..=3);
            let above = rng.gen_bool(0.6);
            let y = if above {
                baseline - em * 6 / 10
            } else {
                baseline + em * 45 / 100
            };
            let size = stroke + stroke / 2;
            for d in 0..dots {
                let x = left + width / 2 - (dots - 1) * size + d * size * 2 - size / 2;
                let dy = if dots == 3 && d == 1 {
                    -size * 3 / 2
                } else {
                    0
                };
                canvas.fill_rect(x, y + dy, x + size, y + dy + size, colour);
            }
        }
        pen = left;
        let r = em * 4 / 10;
        if last && rng.gen_bool(0.5) && pen - r >= left_limit {
            // A final tail sweeping down and left below the line.
            canvas.ring(pen, baseline, r, r - stroke, colour, |dx, dy| {
                dx <= 0 && dy >= 0
            });
            pen -= r;
        }
    }
    right - pen
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn line_stays_within_its_width_and_draws_ink() {
        let mut canvas = Canvas::new(300, 80, [255, 255, 255]);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let used = draw_line(&mut canvas, &mut rng, 280, 45, 200, 24, [0, 0, 0]);
        assert!(used > 100 && used <= 200, "used {used}");
        let ink = canvas.pixels.chunks(3).filter(|p| p[0] == 0).count();
        assert!(ink > 500, "ink {ink}");
        for y in 0..80 {
            for x in 0..70 {
                assert_eq!(canvas.get(x, y), [255, 255, 255], "ink at {x},{y}");
            }
        }
    }
}
