//! `takedown hash`: fingerprint files, in parallel, printing one result per file in input order.

use std::io::Write;
use std::process::ExitCode;

use rayon::prelude::*;
use serde_json::json;
use takedown_hasher::{Fingerprints, HashOptions};
use takedown_signals::pdq::QUALITY_THRESHOLD;

use crate::inputs::{self, Input, InputError};
use crate::output::{self, Format, Table};

/// Arguments of `takedown hash`.
#[derive(Debug, clap::Args)]
pub struct HashArgs {
    /// Image files or directories (walked recursively, in name order).
    #[arg(required = true)]
    pub paths: Vec<String>,
    /// Also print the eight dihedral PDQ hashes (rotations and mirrors).
    #[arg(long)]
    pub dihedral: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Worker threads (default: all cores).
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
}

/// Files are hashed in batches so that results stream out in input order without holding the
/// whole run in memory.
const BATCH: usize = 256;

/// Runs `takedown hash`. Exit status 0 when every file was hashed, 1 when any failed.
pub fn run(args: HashArgs) -> anyhow::Result<ExitCode> {
    let (inputs, errors) = inputs::expand(&args.paths, false);
    for error in &errors {
        error.report();
    }
    let files: Vec<_> = inputs
        .into_iter()
        .filter_map(|input| match input {
            Input::File(path) => Some(path),
            Input::Hash(_) => None,
        })
        .collect();
    let options = HashOptions {
        dihedral: args.dihedral,
        ..HashOptions::default()
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.unwrap_or(0))
        .build()?;
    let progress = output::progress(files.len() as u64, "hashing");
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut table = Table::new(&["path", "pdq", "quality", "size", "md5"]);
    let mut failed = errors.len();
    for batch in files.chunks(BATCH) {
        let results: Vec<_> = pool.install(|| {
            batch
                .par_iter()
                .map(|path| {
                    let result = inputs::fingerprint_file(path, &options);
                    progress.inc(1);
                    result
                })
                .collect()
        });
        for (path, result) in batch.iter().zip(results) {
            let shown = path.display().to_string();
            match result {
                Ok(fingerprints) => match args.format {
                    Format::Json => {
                        serde_json::to_writer(&mut out, &json_line(&shown, &fingerprints))?;
                        out.write_all(b"\n")?;
                    }
                    Format::Table => table.push(table_row(&shown, &fingerprints)),
                },
                Err(error) => {
                    failed += 1;
                    progress.suspend(|| {
                        InputError {
                            subject: shown,
                            error,
                        }
                        .report()
                    });
                }
            }
        }
        out.flush()?;
    }
    progress.finish_and_clear();
    if args.format == Format::Table {
        table.print(&mut out)?;
    }
    out.flush()?;
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The JSON object printed for one file.
pub fn json_line(path: &str, fingerprints: &Fingerprints) -> serde_json::Value {
    let mut object = json!({
        "path": path,
        "size": fingerprints.size,
        "md5": fingerprints.digests.md5,
        "sha256": fingerprints.digests.sha256,
    });
    if let Some(image) = fingerprints.image() {
        object["media_type"] = json!("image");
        object["format"] = json!(image.format.name().to_ascii_lowercase());
        object["width"] = json!(image.width);
        object["height"] = json!(image.height);
        object["pdq"] = json!(image.pdq.hash.to_hex());
        object["quality"] = json!(image.pdq.quality);
        if image.pdq.quality < QUALITY_THRESHOLD {
            // Reported, never dropped: the caller decides what a flat image's hash is worth.
            object["low_quality"] = json!(true);
        }
        if let Some(dihedral) = &image.dihedral {
            let hashes: serde_json::Map<_, _> = dihedral
                .named()
                .iter()
                .map(|(name, hash)| (name.to_string(), json!(hash.to_hex())))
                .collect();
            object["dihedral"] = serde_json::Value::Object(hashes);
        }
        if !image.warnings.is_empty() {
            object["warnings"] = json!(image.warnings);
        }
    }
    object
}

fn table_row(path: &str, fingerprints: &Fingerprints) -> Vec<String> {
    let (pdq, quality) = match fingerprints.image() {
        Some(image) => {
            let low = if image.pdq.quality < QUALITY_THRESHOLD {
                " (low)"
            } else {
                ""
            };
            (
                image.pdq.hash.to_hex(),
                format!("{}{low}", image.pdq.quality),
            )
        }
        None => (String::new(), String::new()),
    };
    let size = match fingerprints.image() {
        Some(image) => format!("{}x{}", image.width, image.height),
        None => String::new(),
    };
    vec![
        path.to_string(),
        pdq,
        quality,
        size,
        fingerprints.digests.md5.clone(),
    ]
}
