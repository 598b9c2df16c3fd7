//! Writes a few images of every style, and every transform of one poster, to a directory so
//! that a person can look at what the corpus contains, with each image's PDQ quality and the
//! distance of its JPEG-70 copy.
//!
//! `cargo run --release -p takedown-corpus --example gallery -- [DIR] [PER_STYLE]`

use std::path::PathBuf;

use takedown_corpus::{encode, generate, Corpus, Format, Style, Transform};
use takedown_signals::pdq::hash_image;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "target/corpus-gallery".into()),
    );
    let per_style: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(3);
    std::fs::create_dir_all(&dir)?;
    let corpus = Corpus::new();
    for (name, _, image) in corpus.images(1, per_style * Style::ALL.len()) {
        let pdq = hash_image(&image);
        let copy = hash_image(&Transform::Jpeg(70).apply(&image, 0));
        println!(
            "{name:24} {}x{} quality {:3} jpeg70 distance {:3}",
            image.width(),
            image.height(),
            pdq.quality,
            pdq.hash.distance(&copy.hash)
        );
        std::fs::write(dir.join(format!("{name}.png")), encode(&image, Format::Png))?;
    }
    let poster = generate(Style::Poster, 1, 1024, 768);
    let original = hash_image(&poster);
    for transform in Transform::all() {
        let copy = transform.apply(&poster, 1);
        let d = original.hash.distance(&hash_image(&copy).hash);
        println!("transform {:20} distance {d:3}", transform.name());
        let path = dir.join(format!("transform-{}.png", transform.name()));
        std::fs::write(path, encode(&copy, Format::Png))?;
    }
    Ok(())
}
