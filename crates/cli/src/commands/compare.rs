//! `takedown compare`: the distance between two images or hashes, or how alike two videos,
//! recordings or texts are under their match rules.

use std::process::ExitCode;

use serde_json::json;
use takedown_hasher::HashOptions;
use takedown_signals::Hash256;

use crate::inputs::{self, Input, RawHash};
use crate::output::Format;

/// Arguments of `takedown compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// First image, video, audio or text file, or PDQ hash.
    pub a: String,
    /// Second file of the same kind, or PDQ hash.
    pub b: String,
    /// Distance at or below which the two count as a match.
    #[arg(long, default_value_t = takedown_index::DEFAULT_RADIUS)]
    pub radius: u32,
    /// Compare against every rotation and mirror of the first image and report the closest.
    #[arg(long)]
    pub dihedral: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// A side of the comparison: its hash(es) and quality.
struct Side {
    label: String,
    hashes: Vec<(&'static str, Hash256)>,
    quality: Option<u8>,
}

fn side(argument: &str, dihedral: bool) -> anyhow::Result<Side> {
    let (mut inputs, errors) = inputs::expand(&[argument.to_string()], true);
    if let Some(error) = errors.into_iter().next() {
        return Err(error.error.context(argument.to_string()));
    }
    match inputs.pop() {
        Some(Input::Hash(RawHash::Bits256(hash))) => Ok(Side {
            label: argument.to_string(),
            hashes: vec![("orig", hash)],
            quality: None,
        }),
        Some(Input::Hash(RawHash::Md5(_))) => {
            anyhow::bail!("{argument}: an MD5 digest has no distance; compare PDQ hashes or images")
        }
        Some(Input::File(path)) => {
            let options = HashOptions {
                dihedral,
                ..HashOptions::default()
            };
            let fingerprints = inputs::fingerprint_file(&path, &options)
                .map_err(|error| error.context(path.display().to_string()))?;
            let image = fingerprints
                .image()
                .ok_or_else(|| anyhow::anyhow!("{}: not an image", path.display()))?;
            let hashes = match &image.dihedral {
                Some(all) => all.named().to_vec(),
                None => vec![("orig", image.pdq.hash)],
            };
            Ok(Side {
                label: path.display().to_string(),
                hashes,
                quality: Some(image.pdq.quality),
            })
        }
        None => anyhow::bail!("{argument}: a directory is not one image"),
    }
}

/// Runs `takedown compare`. Exit status 0 when the two match at the radius, 1 when not.
pub fn run(args: CompareArgs) -> anyhow::Result<ExitCode> {
    if let Some(code) = compare_media(&args)? {
        return Ok(code);
    }
    let a = side(&args.a, args.dihedral)?;
    let b = side(&args.b, false)?;
    let target = b.hashes[0].1;
    let (transform, distance) = a
        .hashes
        .iter()
        .map(|(name, hash)| (*name, hash.distance(&target)))
        .min_by_key(|(_, distance)| *distance)
        .ok_or_else(|| anyhow::anyhow!("no hash to compare"))?;
    let matched = distance <= args.radius;
    match args.format {
        Format::Json => {
            let mut line = json!({
                "a": a.label, "b": b.label,
                "pdq_a": a.hashes[0].1.to_hex(), "pdq_b": target.to_hex(),
                "distance": distance, "radius": args.radius, "match": matched,
            });
            if let Some(quality) = a.quality {
                line["quality_a"] = json!(quality);
            }
            if let Some(quality) = b.quality {
                line["quality_b"] = json!(quality);
            }
            if args.dihedral {
                line["transform"] = json!(transform);
            }
            println!("{line}");
        }
        Format::Table => {
            let verdict = if matched { "match" } else { "no match" };
            let how = if args.dihedral && transform != "orig" {
                format!(" (via {transform} of the first)")
            } else {
                String::new()
            };
            println!(
                "distance {distance}{how}: {verdict} at radius {}",
                args.radius
            );
        }
    }
    Ok(if matched {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Two video, audio or text files compared under their rules (vPDQ's two percentages, the
/// best aligned bit-error rate, text containment), with the default thresholds. `None` when
/// either argument is not such a file (images and hashes take the PDQ path).
fn compare_media(args: &CompareArgs) -> anyhow::Result<Option<ExitCode>> {
    use takedown_hasher::{detect, Detected};
    let media_file = |argument: &str| -> Option<Vec<u8>> {
        let bytes = std::fs::read(argument).ok()?;
        (!matches!(detect(&bytes), Detected::Image(_))).then_some(bytes)
    };
    let (Some(a), Some(b)) = (media_file(&args.a), media_file(&args.b)) else {
        return Ok(None);
    };
    let options = HashOptions::default();
    let hash = |bytes: &[u8], name: &str| {
        takedown_hasher::fingerprint_bytes(bytes, &options)
            .map_err(|error| anyhow::anyhow!("{name}: {error}"))
    };
    let (fa, fb) = (hash(&a, &args.a)?, hash(&b, &args.b)?);
    if fa.kind() != fb.kind() {
        anyhow::bail!(
            "{} is {}, {} is {}: nothing to compare",
            args.a,
            fa.kind(),
            args.b,
            fb.kind()
        );
    }
    let mut line = json!({"a": args.a, "b": args.b, "kind": fa.kind().name()});
    let matched = if let (Some(va), Some(vb)) = (fa.video(), fb.video()) {
        let config = takedown_signals::vpdq::VpdqMatchConfig::default();
        let comparison = takedown_signals::vpdq::compare(&va.vpdq, &vb.vpdq, &config);
        line["query_percent"] = json!(comparison.query_percent());
        line["compared_percent"] = json!(comparison.compared_percent());
        comparison.is_match(&config)
    } else if let (Some(aa), Some(ab)) = (fa.audio(), fb.audio()) {
        let config = takedown_index::AudioIndexConfig::default();
        let best = takedown_index::audio::brute_force_search(
            &[(0, ab.fingerprint.sub_fingerprints())],
            aa.fingerprint.sub_fingerprints(),
            &config,
            takedown_index::audio::Candidates::All,
        );
        if let Some(found) = best.first() {
            let step = takedown_signals::audio::SECONDS_PER_SUB_FINGERPRINT;
            line["bit_error_rate"] = json!(found.ber());
            line["offset_seconds"] = json!(found.offset as f64 * step);
        }
        !best.is_empty()
    } else if let (Some(ta), Some(tb)) = (fa.text(), fb.text()) {
        let config = takedown_signals::text::TextMatchConfig::default();
        let comparison = takedown_signals::text::compare(&ta.text.signature, &tb.text.signature);
        line["score"] = json!(comparison.score());
        line["same_normalised_text"] = json!(ta.text.digest == tb.text.digest);
        comparison.is_match(&config)
    } else {
        return Ok(None);
    };
    line["match"] = json!(matched);
    match args.format {
        Format::Json => println!("{line}"),
        Format::Table => {
            let verdict = if matched { "match" } else { "no match" };
            println!("{}: {verdict} ({line})", fa.kind());
        }
    }
    Ok(Some(if matched {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }))
}
