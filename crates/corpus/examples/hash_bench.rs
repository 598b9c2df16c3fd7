//! Hashing throughput of takedown (`takedown-media` decoding + `takedown-signals` PDQ) on a
//! generated JPEG corpus, on one core and on all cores.
//!
//! ```text
//! cargo run --release -p takedown-corpus --example hash_bench -- \
//!     [--dir target/bench-corpus] [--out target/bench-results/takedown.json] \
//!     [--small 100] [--large 12] [--runs 5] [--generate-only]
//! ```
//!
//! The corpus is written once into `--dir` (1024x768 images of every style and 3000x2000
//! photo-like images, JPEG quality 85, fixed seed) with a `manifest.txt` listing the files, so
//! that the Python anchor (`bench/hashing/anchor.py`) times exactly the same files. Stages:
//!
//! * `e2e`: read the file, decode it (`takedown_media::decode_image`), hash it
//!   (`takedown_signals::pdq::hash_image`);
//! * `decode`: decode only, from bytes already in memory (to show where e2e time goes);
//! * `hash`: hash only, from images already decoded;
//! * `hash-512`: hash only, from images already brought to 512x512 by the reference's
//!   nearest-neighbour step (the part the C++ reference times as "hashing").
//!
//! Each stage runs `--runs` times after a warm-up pass; the figure is the median rate in
//! images per second. "1 core" is a plain loop on the main thread; "all cores" is a rayon pool
//! with one thread per available core. The hashes are saved with the results so that the
//! driver can compare them with the anchor's.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use takedown_corpus::{encode, generate, Corpus, Format, Style};
use takedown_media::{decode_image, ImageLimits};
use takedown_signals::pdq::{hash_image, reference_resize_512, Pdq};
use takedown_signals::Image;

/// Bump when the generated files change, so that an old corpus directory is rebuilt.
const CORPUS_VERSION: &str = "hash-bench corpus v1 (seed 2024, JPEG q85)";
const SEED: u64 = 2024;
const QUALITY: u8 = 85;

struct Args {
    dir: PathBuf,
    out: PathBuf,
    small: usize,
    large: usize,
    runs: usize,
    generate_only: bool,
    /// Stages to time (all by default); a subset helps when profiling one of them.
    stages: Vec<String>,
}

fn parse_args() -> Args {
    let mut args = Args {
        dir: PathBuf::from("target/bench-corpus"),
        out: PathBuf::from("target/bench-results/takedown.json"),
        small: 100,
        large: 12,
        runs: 5,
        generate_only: false,
        stages: ["e2e", "decode", "hash", "hash-512"]
            .map(String::from)
            .to_vec(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--dir" => args.dir = PathBuf::from(value()),
            "--out" => args.out = PathBuf::from(value()),
            "--small" => args.small = value().parse().expect("--small N"),
            "--large" => args.large = value().parse().expect("--large N"),
            "--runs" => args.runs = value().parse::<usize>().expect("--runs N").max(1),
            "--generate-only" => args.generate_only = true,
            "--stages" => args.stages = value().split(',').map(String::from).collect(),
            other => panic!("unknown argument {other}"),
        }
    }
    args
}

/// One group of files of the same kind.
struct Set {
    name: &'static str,
    files: Vec<PathBuf>,
}

/// Writes the corpus unless `dir` already holds this version with these counts; returns the
/// sets from the manifest.
fn ensure_corpus(dir: &Path, small: usize, large: usize) -> std::io::Result<Vec<Set>> {
    let stamp = format!("{CORPUS_VERSION} small={small} large={large}\n");
    let manifest = dir.join("manifest.txt");
    let fresh = std::fs::read_to_string(dir.join("VERSION")).ok().as_deref() == Some(&stamp)
        && manifest.exists();
    if !fresh {
        eprintln!("generating the corpus in {} ...", dir.display());
        let started = Instant::now();
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        std::fs::create_dir_all(dir.join("small"))?;
        std::fs::create_dir_all(dir.join("large"))?;
        // Small images come from the corpus iterator (sequential, cheap at this size); the
        // large photos are generated in parallel.
        let small_images: Vec<(PathBuf, Image)> = Corpus::new()
            .size(1024, 768)
            .images(SEED, small)
            .map(|(name, _, image)| (dir.join("small").join(format!("{name}.jpg")), image))
            .collect();
        let large_paths: Vec<PathBuf> = (0..large)
            .map(|k| dir.join("large").join(format!("photo-{k:05}.jpg")))
            .collect();
        let jpeg = Format::Jpeg { quality: QUALITY };
        small_images
            .par_iter()
            .try_for_each(|(path, image)| std::fs::write(path, encode(image, jpeg)))?;
        large_paths
            .par_iter()
            .enumerate()
            .try_for_each(|(k, path)| {
                let seed = SEED.wrapping_mul(1_000_003).wrapping_add(k as u64);
                std::fs::write(
                    path,
                    encode(&generate(Style::Photo, seed, 3000, 2000), jpeg),
                )
            })?;
        let jobs: Vec<&PathBuf> = small_images
            .iter()
            .map(|(p, _)| p)
            .chain(&large_paths)
            .collect();
        let mut listing = String::new();
        for path in &jobs {
            let relative = path.strip_prefix(dir).expect("inside the corpus directory");
            listing.push_str(&format!("{}\n", relative.display()));
        }
        std::fs::write(&manifest, listing)?;
        std::fs::write(dir.join("VERSION"), &stamp)?;
        eprintln!("  done in {:.1} s", started.elapsed().as_secs_f64());
    }
    let listing = std::fs::read_to_string(&manifest)?;
    let mut sets = vec![
        Set {
            name: "small",
            files: Vec::new(),
        },
        Set {
            name: "large",
            files: Vec::new(),
        },
    ];
    for line in listing.lines() {
        let set = if line.starts_with("small/") { 0 } else { 1 };
        sets[set].files.push(dir.join(line));
    }
    Ok(sets)
}

/// Median of `runs` timings of `work`, as items per second.
fn rate(runs: usize, items: usize, mut work: impl FnMut()) -> (f64, Vec<f64>) {
    let mut rates: Vec<f64> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            work();
            items as f64 / started.elapsed().as_secs_f64()
        })
        .collect();
    let all = rates.clone();
    rates.sort_by(f64::total_cmp);
    (rates[rates.len() / 2], all)
}

fn end_to_end(path: &Path, limits: &ImageLimits) -> Pdq {
    let bytes = std::fs::read(path).expect("corpus file readable");
    let decoded = decode_image(&bytes, limits).expect("corpus file decodes");
    hash_image(&decoded.image)
}

fn main() -> std::io::Result<()> {
    let args = parse_args();
    let sets = ensure_corpus(&args.dir, args.small, args.large)?;
    if args.generate_only {
        return Ok(());
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cores)
        .build()
        .expect("thread pool");
    let limits = ImageLimits::default();
    let mut results = Vec::new();
    let mut hashes = serde_json::Map::new();
    let mut set_facts = serde_json::Map::new();
    for set in &sets {
        if set.files.is_empty() {
            continue;
        }
        let n = set.files.len();
        // Warm-up pass: fills the page cache and records the hashes.
        for path in &set.files {
            let pdq = end_to_end(path, &limits);
            let key = path
                .strip_prefix(&args.dir)
                .unwrap_or(path)
                .display()
                .to_string();
            hashes.insert(
                key,
                serde_json::json!({ "hash": pdq.hash.to_hex(), "quality": pdq.quality }),
            );
        }
        let bytes: Vec<Vec<u8>> = set
            .files
            .iter()
            .map(|p| std::fs::read(p).expect("readable"))
            .collect();
        let decoded: Vec<Image> = bytes
            .iter()
            .map(|b| decode_image(b, &limits).expect("decodes").image)
            .collect();
        let (w, h) = (decoded[0].width(), decoded[0].height());
        let mean_bytes = bytes.iter().map(Vec::len).sum::<usize>() / n;
        set_facts.insert(
            set.name.into(),
            serde_json::json!({ "files": n, "width": w, "height": h, "mean_bytes": mean_bytes }),
        );
        eprintln!(
            "{}: {n} files {w}x{h}, mean {} KB",
            set.name,
            mean_bytes / 1024
        );
        let wanted = |stage: &str| args.stages.iter().any(|s| s == stage);
        let mut record = |stage: &str, threads: usize, (median, runs): (f64, Vec<f64>)| {
            eprintln!("  {stage:8} {threads} thread(s): {median:8.1} images/s");
            results.push(serde_json::json!({
                "set": set.name, "stage": stage, "threads": threads,
                "images_per_second": median, "runs": runs,
            }));
        };
        if wanted("e2e") {
            let e2e = |path: &PathBuf| {
                std::hint::black_box(end_to_end(path, &limits));
            };
            let serial = rate(args.runs, n, || set.files.iter().for_each(e2e));
            record("e2e", 1, serial);
            let parallel = rate(args.runs, n, || {
                pool.install(|| set.files.par_iter().for_each(e2e))
            });
            record("e2e", cores, parallel);
        }
        if wanted("decode") {
            let decode = |b: &Vec<u8>| {
                std::hint::black_box(decode_image(b, &limits).expect("decodes"));
            };
            record(
                "decode",
                1,
                rate(args.runs, n, || bytes.iter().for_each(decode)),
            );
        }
        let hash = |image: &Image| {
            std::hint::black_box(hash_image(image));
        };
        if wanted("hash") {
            record(
                "hash",
                1,
                rate(args.runs, n, || decoded.iter().for_each(hash)),
            );
            let parallel = rate(args.runs, n, || {
                pool.install(|| decoded.par_iter().for_each(hash))
            });
            record("hash", cores, parallel);
        }
        if wanted("hash-512") {
            // The work the C++ reference times as "hashing": everything after its 512x512
            // nearest-neighbour step (luma, filter, DCT, median, bits).
            let resized: Vec<Image> = decoded.iter().map(reference_resize_512).collect();
            record(
                "hash-512",
                1,
                rate(args.runs, n, || resized.iter().for_each(hash)),
            );
        }
    }
    let report = serde_json::json!({
        "tool": "takedown",
        "corpus": CORPUS_VERSION,
        "cores": cores,
        "runs": args.runs,
        "sets": set_facts,
        "results": results,
        "hashes": hashes,
    });
    if let Some(parent) = args.out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&args.out, serde_json::to_string_pretty(&report)?)?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}
