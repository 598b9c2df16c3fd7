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
    /// Image, video, audio or text files, or directories (walked recursively, in name order).
    /// The kind is read from the bytes, never from the name.
    #[arg(required = true)]
    pub paths: Vec<String>,
    /// Also print the eight dihedral PDQ hashes (rotations and mirrors).
    #[arg(long)]
    pub dihedral: bool,
    /// Print every vPDQ frame line (Meta's `frame,quality,hash,timestamp`) of videos, not just
    /// their count.
    #[arg(long)]
    pub frames: bool,
    #[command(flatten)]
    pub limits: MediaLimitArgs,
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
    let options = args.limits.options(args.dihedral);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.unwrap_or(0))
        .build()?;
    let progress = output::progress(files.len() as u64, "hashing");
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut table = Table::new(&["path", "pdq", "quality", "size", "md5", "kind", "signal"]);
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
                        let mut line = json_line(&shown, &fingerprints);
                        if !args.frames {
                            // The count is always there; the lines only when asked for.
                            if let Some(object) = line.as_object_mut() {
                                object.remove("vpdq");
                            }
                        }
                        serde_json::to_writer(&mut out, &line)?;
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

/// Decoding limits for videos and audio, shared by the commands that hash files.
#[derive(Debug, Clone, clap::Args)]
pub struct MediaLimitArgs {
    /// Longest video or audio accepted, in seconds (longer files are refused, not cut).
    #[arg(long, value_name = "SECONDS")]
    pub max_duration: Option<u64>,
    /// Most video frames accepted (stated by the header, estimated, or decoded).
    #[arg(long, value_name = "N")]
    pub max_frames: Option<u64>,
    /// vPDQ sampling: one hashed frame per this many seconds (0: every frame).
    #[arg(long, value_name = "SECONDS", default_value_t = takedown_signals::vpdq::DEFAULT_SECONDS_PER_HASH)]
    pub seconds_per_hash: f64,
    /// Do not fingerprint a video's soundtrack as audio.
    #[arg(long)]
    pub no_soundtrack: bool,
}

impl MediaLimitArgs {
    /// Hashing options with these limits applied to the defaults.
    pub fn options(&self, dihedral: bool) -> HashOptions {
        let mut options = HashOptions {
            dihedral,
            ..HashOptions::default()
        };
        if let Some(seconds) = self.max_duration {
            let duration = std::time::Duration::from_secs(seconds);
            options.video.limits.max_duration = duration;
            options.audio.limits.max_duration = duration;
        }
        if let Some(frames) = self.max_frames {
            options.video.limits.max_frames = frames;
        }
        options.vpdq.seconds_per_hash = self.seconds_per_hash;
        options.soundtrack = !self.no_soundtrack;
        options
    }
}

/// The JSON object printed for one file.
pub fn json_line(path: &str, fingerprints: &Fingerprints) -> serde_json::Value {
    let mut object = json!({
        "path": path,
        "kind": fingerprints.kind().name(),
        "size": fingerprints.size,
        "md5": fingerprints.digests.md5,
        "sha256": fingerprints.digests.sha256,
    });
    media_fields(&mut object, fingerprints);
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

/// Video, audio and text fields of a file's JSON object.
fn media_fields(object: &mut serde_json::Value, fingerprints: &Fingerprints) {
    if let Some(video) = fingerprints.video() {
        let info = &video.info;
        object["media_type"] = json!("video");
        object["video_md5"] = json!(fingerprints.digests.md5);
        object["container"] = json!(info.container);
        object["codec"] = json!(info.codec);
        object["width"] = json!(info.width);
        object["height"] = json!(info.height);
        object["frame_rate"] = json!(info.frame_rate);
        object["duration_seconds"] = json!(info.duration_seconds);
        object["vpdq_frames"] = json!(video.vpdq.len());
        object["vpdq_algorithm"] = json!(algorithm(takedown_signals::vpdq::ALGORITHM));
        let lines = takedown_signals::vpdq::format_lines(&video.vpdq);
        object["vpdq"] = json!(lines.lines().collect::<Vec<_>>());
        if !video.warnings.is_empty() {
            object["warnings"] = json!(video.warnings);
        }
        if let Some(soundtrack) = &video.soundtrack {
            let mut sound = json!({});
            audio_fields(&mut sound, soundtrack);
            object["soundtrack"] = sound;
        }
    } else if let Some(audio) = fingerprints.audio() {
        object["media_type"] = json!("audio");
        object["container"] = json!(audio.container.name());
        audio_fields(object, audio);
    }
    if let Some(text) = fingerprints.text() {
        use takedown_signals::text::{DIGEST_ALGORITHM, SIGNATURE_ALGORITHM};
        object["media_type"] = json!("text");
        object["characters"] = json!(text.characters);
        object["text_sha256"] = json!(text.text.digest);
        object["text_minhash"] = json!(text.text.signature.to_text());
        object["shingles"] = json!(text.text.signature.len());
        object["text_algorithms"] =
            json!([algorithm(DIGEST_ALGORITHM), algorithm(SIGNATURE_ALGORITHM)]);
    }
}

/// The audio fingerprint's fields (of a sound file, or of a video's `soundtrack` object).
fn audio_fields(object: &mut serde_json::Value, audio: &takedown_hasher::AudioFingerprints) {
    object["duration_seconds"] = json!(audio.duration_seconds);
    object["sub_fingerprints"] = json!(audio.fingerprint.len());
    object["audio"] = json!(audio.fingerprint.to_text());
    object["audio_algorithm"] = json!(algorithm(takedown_signals::audio::ALGORITHM));
    if !audio.warnings.is_empty() {
        object["warnings"] = json!(audio.warnings);
    }
}

/// `name/version`, as stored in banks.
fn algorithm(algorithm: takedown_signals::SignalAlgorithm) -> String {
    format!("{}/{}", algorithm.signal_type, algorithm.version)
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
    let size = match (fingerprints.image(), fingerprints.video()) {
        (Some(image), _) => format!("{}x{}", image.width, image.height),
        (_, Some(video)) => format!("{}x{}", video.info.width, video.info.height),
        _ => String::new(),
    };
    let signal = if let Some(video) = fingerprints.video() {
        match &video.soundtrack {
            Some(sound) => format!(
                "vpdq: {} frames; soundtrack: {:.1} s, {} sub-fingerprints",
                video.vpdq.len(),
                sound.duration_seconds,
                sound.fingerprint.len()
            ),
            None => format!("vpdq: {} frames", video.vpdq.len()),
        }
    } else if let Some(audio) = fingerprints.audio() {
        format!(
            "audio: {:.1} s, {} sub-fingerprints",
            audio.duration_seconds,
            audio.fingerprint.len()
        )
    } else if let Some(text) = fingerprints.text() {
        format!(
            "text_sha256: {}, {} shingles",
            text.text.digest,
            text.text.signature.len()
        )
    } else {
        String::new()
    };
    vec![
        path.to_string(),
        pdq,
        quality,
        size,
        fingerprints.digests.md5.clone(),
        fingerprints.kind().name().to_string(),
        signal,
    ]
}
