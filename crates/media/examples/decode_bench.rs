//! Times decoding (and optionally PDQ hashing) of files: `decode_bench [--hash] FILE...`.
//! Prints the mean of several runs per file after one warm-up; build with `--release`.

use std::time::Instant;

use takedown_media::{decode_image, ImageLimits};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut hash = false;
    let limits = ImageLimits::default();
    for arg in std::env::args().skip(1) {
        if arg == "--hash" {
            hash = true;
            continue;
        }
        let bytes = std::fs::read(&arg)?;
        let decoded = decode_image(&bytes, &limits)?;
        let runs = 20;
        let start = Instant::now();
        for _ in 0..runs {
            let decoded = decode_image(&bytes, &limits)?;
            if hash {
                std::hint::black_box(takedown_signals::pdq::hash_image(&decoded.image));
            }
            std::hint::black_box(decoded);
        }
        let per = start.elapsed().as_secs_f64() * 1000.0 / f64::from(runs);
        println!(
            "{arg}: {}x{} {:?}: {per:.2} ms per {}",
            decoded.width,
            decoded.height,
            decoded.format,
            if hash { "decode+hash" } else { "decode" }
        );
    }
    Ok(())
}
