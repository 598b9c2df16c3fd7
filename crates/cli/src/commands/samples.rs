//! `takedown samples`: generated sample images and a bank of their hashes, so a newcomer can see
//! hashing and matching work without any real material.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use takedown_exchange::{write_hash_list, HashListFormat, HashListRow};
use takedown_hasher::HashOptions;
use takedown_model::{Labels, SignalType, Tier};

use crate::commands::matching::BankFile;
use crate::inputs;
use crate::output::Table;

/// Arguments of `takedown samples`.
#[derive(Debug, clap::Args)]
pub struct SamplesArgs {
    /// Directory to write `images/` and `bank.csv` into.
    pub directory: PathBuf,
    /// Number of original images (each gets three transformed copies).
    #[arg(long, default_value_t = 8)]
    pub count: usize,
    /// Seed of the generator: the same seed gives the same images.
    #[arg(long, default_value_t = 2018)]
    pub seed: u64,
}

/// The outlets of the April 2018 story, used as placeholder labels on generated images.
const OUTLETS: [&str; 4] = ["amaq", "al-bayan", "halumu", "nashir"];

/// Runs `takedown samples`.
pub fn run(args: SamplesArgs) -> anyhow::Result<ExitCode> {
    let images = args.directory.join("images");
    let paths = takedown_corpus::write_sample_images(&images, args.seed, args.count)
        .with_context(|| format!("cannot write sample images to {}", images.display()))?;
    let options = HashOptions::default();
    // The originals (PNG, not sibling) go into the bank, labelled with placeholder outlets.
    let mut rows = Vec::new();
    for path in &paths {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !name.ends_with(".png") || name.contains("sibling") {
            continue;
        }
        let fingerprints = inputs::fingerprint_file(path, &options)
            .with_context(|| format!("cannot hash {}", path.display()))?;
        let Some(image) = fingerprints.image() else {
            continue;
        };
        let labels = Labels {
            entity: Some(OUTLETS[rows.len() / 2 % OUTLETS.len()].to_string()),
            tier: Some(Tier::OfficialPropaganda),
            ..Labels::default()
        };
        for (signal_type, value) in [
            (SignalType::Pdq, image.pdq.hash.to_hex()),
            (SignalType::Md5, fingerprints.digests.md5.clone()),
        ] {
            rows.push(HashListRow {
                line: 0,
                signal_type,
                value,
                labels: labels.clone(),
                note: format!("generated sample {name}"),
                source: Some("takedown samples".into()),
                extra: Default::default(),
            });
        }
    }
    let bank_path = args.directory.join("bank.csv");
    let file = std::fs::File::create(&bank_path)
        .with_context(|| format!("cannot write {}", bank_path.display()))?;
    write_hash_list(std::io::BufWriter::new(file), HashListFormat::Csv, &rows)?;

    // Match every image, copies included, and show what PDQ makes of each edit.
    let bank = BankFile::load(&bank_path)?;
    let dihedral = HashOptions {
        dihedral: true,
        ..HashOptions::default()
    };
    let mut table = Table::new(&[
        "image",
        "quality",
        "nearest bank item",
        "distance",
        "verdict",
    ]);
    for path in &paths {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let fingerprints = inputs::fingerprint_file(path, &dihedral)?;
        let Some(image) = fingerprints.image() else {
            continue;
        };
        let nearest = bank.nearest(&image.pdq.hash);
        let mirrored = image.dihedral.as_ref().and_then(|all| {
            all.named()
                .into_iter()
                .skip(1)
                .filter_map(|(how, hash)| bank.nearest(&hash).map(|n| (how, n)))
                .min_by_key(|(_, (_, distance))| *distance)
        });
        let radius = takedown_index::DEFAULT_RADIUS;
        let low_quality = image.pdq.quality < takedown_signals::pdq::QUALITY_THRESHOLD;
        // Prefer the plain hash; fall back to a rotation or mirror only when that matches.
        let (how, nearest) = match (nearest, mirrored) {
            (Some((_, d)), Some((how, m))) if d > radius && m.1 <= radius => (Some(how), Some(m)),
            (plain, _) => (None, plain),
        };
        let (item, distance) = nearest.map_or((String::new(), u32::MAX), |(line, distance)| {
            (bank.describe(line), distance)
        });
        let verdict = match (low_quality, distance <= radius, how) {
            (true, _, _) => "low quality: hash unreliable".to_string(),
            (false, true, None) => "match".to_string(),
            (false, true, Some(how)) => format!("match with --dihedral ({how})"),
            (false, false, _) => "no match".to_string(),
        };
        table.push(vec![
            name.to_string(),
            image.pdq.quality.to_string(),
            item,
            if distance == u32::MAX {
                "-".into()
            } else {
                distance.to_string()
            },
            verdict,
        ]);
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(
        out,
        "Wrote {} generated images to {} and a bank of {} hashes to {}.\n",
        paths.len(),
        images.display(),
        rows.len(),
        bank_path.display()
    )?;
    table.print(&mut out)?;
    writeln!(
        out,
        "\nTry:\n  takedown hash {images}\n  takedown match --bank {bank} --format table {images}\n  takedown match --bank {bank} --dihedral {images}",
        images = images.display(),
        bank = bank_path.display()
    )?;
    Ok(ExitCode::SUCCESS)
}
