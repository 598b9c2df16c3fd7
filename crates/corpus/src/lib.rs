//! Seeded synthetic media for takedown's tests, demos and benchmarks.
//!
//! takedown is measured on generated media only: no real propaganda is ever committed or
//! downloaded. This crate draws images that have the *visual structure* of the genre —
//! statement posters with Arabic-like script and Latin text, photo-like scenes, messenger
//! screenshots, video stills with caption bars, flat low-detail cards — plus template families
//! (siblings sharing a layout, differing in text: the hard negatives of matching) and
//! unrelated distractors. All wording is neutral placeholder text ("STATEMENT 17",
//! "NEWS AGENCY", lorem ipsum) and the "script" is procedural strokes that spell nothing.
//!
//! Everything is a pure function of a seed: generators use [`rand_chacha::ChaCha8Rng`] and
//! integer geometry (no `sin`, `exp` or `pow` from the platform's maths library), so the same
//! seed yields the same bytes on every machine. [`Transform`] reproduces the edits copies go
//! through (re-encoding, scaling, crops, borders, logos, rotations, colour changes) and
//! [`encode`] writes JPEG, PNG or lossless WebP with the `image` crate. [`sound`] makes seeded
//! audio "bulletins" and [`statement`] placeholder statements, for the other media kinds.
//!
//! ```
//! use takedown_corpus::{Corpus, Style, Transform};
//! let (name, style, image) = Corpus::new().size(320, 240).images(7, 1).next().unwrap();
//! assert_eq!((name.as_str(), style), ("poster-00000", Style::Poster));
//! let copy = Transform::Jpeg(70).apply(&image, 1);
//! assert_eq!((copy.width(), copy.height()), (320, 240));
//! ```

mod canvas;
mod encode;
mod font;
mod noise;
mod script;
pub mod sound;
mod statement;
mod styles;
mod transform;
mod words;

use std::path::{Path, PathBuf};

pub use encode::{decode, encode, DecodeError, Format};
pub use statement::statement;
pub use styles::{generate, template_sibling, Style};
pub use takedown_signals::{Channels, Image};
pub use transform::{BorderKind, Transform};

/// A recipe for a stream of generated images: which styles, at what size, how many siblings
/// per template family.
#[derive(Debug, Clone)]
pub struct Corpus {
    styles: Vec<Style>,
    size: Option<(u32, u32)>,
    siblings: u64,
}

impl Default for Corpus {
    fn default() -> Self {
        Corpus::new()
    }
}

impl Corpus {
    /// All styles in [`Style::ALL`] order, each at its [`Style::default_size`], template
    /// families of four.
    pub fn new() -> Corpus {
        Corpus {
            styles: Style::ALL.to_vec(),
            size: None,
            siblings: 4,
        }
    }

    /// Only these styles, in this order (an empty list keeps the current styles).
    pub fn styles(mut self, styles: &[Style]) -> Corpus {
        if !styles.is_empty() {
            self.styles = styles.to_vec();
        }
        self
    }

    /// Every image at this size instead of its style's default.
    pub fn size(mut self, width: u32, height: u32) -> Corpus {
        self.size = Some((width, height));
        self
    }

    /// Members per template family (at least 1).
    pub fn siblings(mut self, siblings: u32) -> Corpus {
        self.siblings = u64::from(siblings.max(1));
        self
    }

    /// `count` images, cycling through the styles. Names are `"{style}-{k:05}"` where `k`
    /// counts images of that style; template siblings are named `"template-f{family:04}-m{member}"`,
    /// and consecutive template images fill one family before starting the next. Images are
    /// generated lazily, one per `next()`.
    pub fn images(&self, seed: u64, count: usize) -> impl Iterator<Item = (String, Style, Image)> {
        let recipe = self.clone();
        (0..count).map(move |i| {
            let n = recipe.styles.len();
            let style = recipe.styles[i % n];
            let k = (i / n) as u64;
            let (width, height) = recipe.size.unwrap_or_else(|| style.default_size());
            // Each (style position, k) gets its own stream; mixing in the position keeps two
            // styles from sharing random choices.
            let image_seed = noise::mix64(seed ^ noise::mix64((i % n) as u64 + 1) ^ k);
            if style == Style::TemplateSibling {
                let (family, member) = (k / recipe.siblings, k % recipe.siblings);
                let family_seed =
                    noise::mix64(seed ^ noise::mix64(0xFA11 + (i % n) as u64) ^ family);
                let name = format!("template-f{family:04}-m{member}");
                (
                    name,
                    style,
                    template_sibling(family_seed, member, width, height),
                )
            } else {
                let name = format!("{}-{k:05}", style.name());
                (name, style, generate(style, image_seed, width, height))
            }
        })
    }
}

/// Transforms applied to each original by [`write_sample_images`]: one that should still
/// match (JPEG 70), one that usually does (a 10% logo), one that PDQ does not survive
/// without dihedral hashes (mirror).
const SAMPLE_TRANSFORMS: [Transform; 3] =
    [Transform::Jpeg(70), Transform::Logo(10), Transform::Mirror];

/// Writes sample images for newcomers to hash and match: `count` originals (cycling through
/// poster, video still, chat, photo, template sibling and flat styles, as PNG) and for each
/// the copies of [`SAMPLE_TRANSFORMS`] as JPEG quality 90, plus a template sibling of the
/// first template image (a hard negative: same layout, different text). Returns the paths
/// written, originals first within each group. Creates `dir` if needed.
pub fn write_sample_images(dir: &Path, seed: u64, count: usize) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let styles = [
        Style::Poster,
        Style::VideoStill,
        Style::Chat,
        Style::Photo,
        Style::TemplateSibling,
        Style::Flat,
    ];
    let mut paths = Vec::new();
    let mut write = |name: &str, image: &Image, format: Format| -> std::io::Result<()> {
        let path = dir.join(format!("{name}.{}", format.extension()));
        std::fs::write(&path, encode(image, format))?;
        paths.push(path);
        Ok(())
    };
    // Smaller than the defaults so that a debug build of the CLI writes them quickly.
    let sample_size = |style: Style| {
        let (w, h) = style.default_size();
        (w * 5 / 8, h * 5 / 8)
    };
    let mut sibling_written = false;
    for (i, style) in styles.iter().cycle().take(count).enumerate() {
        let (w, h) = sample_size(*style);
        let image_seed = noise::mix64(seed ^ (i as u64 + 1));
        let name = format!("sample-{i:02}-{}", style.name());
        let image = generate(*style, image_seed, w, h);
        write(&name, &image, Format::Png)?;
        for transform in SAMPLE_TRANSFORMS {
            let copy = transform.apply(&image, image_seed);
            write(
                &format!("{name}-{}", transform.name()),
                &copy,
                Format::Jpeg { quality: 90 },
            )?;
        }
        if *style == Style::TemplateSibling && !sibling_written {
            let sibling = template_sibling(image_seed, 1, w, h);
            write(&format!("{name}-sibling"), &sibling, Format::Png)?;
            sibling_written = true;
        }
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};
    use takedown_signals::pdq::hash_image;

    #[test]
    fn same_seed_same_bytes_and_output_is_pinned() {
        let corpus = Corpus::new().size(256, 192);
        let first: Vec<_> = corpus.images(42, 7).collect();
        let again: Vec<_> = corpus.images(42, 7).collect();
        for ((name, _, a), (_, _, b)) in first.iter().zip(&again) {
            assert!(a == b, "{name} differs between runs");
        }
        let other: Vec<_> = corpus.images(43, 7).collect();
        for ((name, _, a), (_, _, b)) in first.iter().zip(&other) {
            assert!(a != b, "{name} does not depend on the seed");
        }
        // Pinned so that any change in the generators' output is noticed (and the corpus
        // version bumped in the benchmark notes if it is intended).
        let mut all_styles = Sha256::new();
        for style in Style::ALL {
            all_styles.update(generate(style, 1, 200, 150).pixels());
        }
        // JPEG round trips are left out: their bytes belong to the `image` crate's codec
        // (and its SIMD paths), not to this crate.
        let transformed = Transform::all()
            .iter()
            .filter(|t| !matches!(t, Transform::Jpeg(_) | Transform::Screenshot))
            .fold(Sha256::new(), |mut digest, t| {
                digest.update(t.apply(&generate(Style::Poster, 2, 101, 77), 3).pixels());
                digest
            });
        assert_eq!(
            hex::encode(all_styles.finalize()),
            "8356262e2042aafd58d0ee7f706ddb9b7094abbe3cea97fa850a51884deb37e3"
        );
        assert_eq!(
            hex::encode(transformed.finalize()),
            "b3aa2ea93f2ce868ac1fa0b69441d988e4224c9657266861e513455cfbd7b6c8"
        );
    }

    #[test]
    fn names_and_template_families() {
        let names: Vec<String> = Corpus::new()
            .size(64, 48)
            .styles(&[Style::Flat, Style::TemplateSibling])
            .siblings(3)
            .images(1, 8)
            .map(|(name, _, _)| name)
            .collect();
        assert_eq!(
            names,
            [
                "flat-00000",
                "template-f0000-m0",
                "flat-00001",
                "template-f0000-m1",
                "flat-00002",
                "template-f0000-m2",
                "flat-00003",
                "template-f0001-m0"
            ]
        );
    }

    #[test]
    fn flat_images_are_low_quality_and_posters_are_not() {
        for seed in 0..6 {
            let flat = generate(Style::Flat, seed, 400, 300);
            let q = hash_image(&flat).quality;
            assert!(q < 50, "flat seed {seed} has quality {q}");
            let poster = generate(Style::Poster, seed, 400, 300);
            let q = hash_image(&poster).quality;
            assert!(q >= 50, "poster seed {seed} has quality {q}");
        }
    }

    #[test]
    fn jpeg_copies_stay_close_and_template_siblings_are_measured() {
        let mut worst = 0;
        for (name, _, image) in Corpus::new().size(480, 360).images(5, 7) {
            let original = hash_image(&image);
            if original.quality < 50 {
                continue;
            }
            let copy = hash_image(&Transform::Jpeg(70).apply(&image, 0));
            let d = original.hash.distance(&copy.hash);
            assert!(d < 20, "{name}: JPEG 70 copy at distance {d}");
            worst = worst.max(d);
        }
        let siblings: Vec<_> = (0..4)
            .map(|m| hash_image(&template_sibling(9, m, 480, 360)))
            .collect();
        let distances: Vec<u32> = (1..4)
            .map(|m| siblings[0].hash.distance(&siblings[m].hash))
            .collect();
        println!("worst JPEG-70 distance {worst}; template sibling distances from member 0: {distances:?}");
    }

    #[test]
    fn every_transform_runs_on_odd_sizes_and_changes_the_image() {
        for (w, h) in [(33, 21), (101, 77), (17, 40)] {
            let image = generate(Style::Poster, 3, w, h);
            for transform in Transform::all() {
                let out = transform.apply(&image, 11);
                assert!(out.width() > 0 && out.height() > 0);
                assert!(
                    out != image,
                    "{} left a {w}x{h} image unchanged",
                    transform.name()
                );
            }
        }
        // Grey input is accepted and comes back as RGB.
        let grey = Image::new(9, 7, Channels::Grey, (0..63).map(|v| v * 4).collect()).unwrap();
        for transform in Transform::all() {
            assert_eq!(transform.apply(&grey, 1).channels(), Channels::Rgb);
        }
    }

    #[test]
    fn sample_images_are_written_and_decodable() {
        let dir = tempfile::tempdir().unwrap();
        let paths = write_sample_images(dir.path(), 7, 5).unwrap();
        // Five originals with three copies each, plus one template sibling.
        assert_eq!(paths.len(), 5 * 4 + 1);
        for path in &paths {
            let image = decode(&std::fs::read(path).unwrap()).unwrap();
            assert!(image.width() >= 100, "{}", path.display());
        }
    }
}
