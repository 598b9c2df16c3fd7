//! `takedown match`: match files, directories or raw hashes against a bank file.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use rayon::prelude::*;
use serde_json::json;
use takedown_engine::MediaMatchConfig;
use takedown_exchange::{read_hash_list, HashListFormat, HashListRow};
use takedown_hasher::{Fingerprints, HashOptions};
use takedown_index::text::TextIndex;
use takedown_index::video::VideoIndex;
use takedown_index::{AudioIndex, HammingIndex};
use takedown_model::SignalType;
use takedown_signals::text::TextSignature;
use takedown_signals::{vpdq, AudioFingerprint, Hash256};

use crate::inputs::{self, Input, InputError, RawHash};
use crate::output::{self, Format, Table};

/// Arguments of `takedown match`.
#[derive(Debug, clap::Args)]
pub struct MatchArgs {
    /// Bank file: CSV with a header row `signal_type,value[,labels...]`, or JSON lines with the
    /// same keys.
    #[arg(long, value_name = "HASHES")]
    pub bank: PathBuf,
    /// Image, video, audio or text files, directories, or raw hashes (64 hex digits: PDQ or
    /// SHA-256; 32: MD5). Videos match the bank's `vpdq` rows, audio its `audio` rows, text
    /// its `text_sha256` and `text_minhash` rows.
    #[arg(required = true)]
    pub queries: Vec<String>,
    /// Largest PDQ Hamming distance that counts as a match (0-256).
    #[arg(long, default_value_t = takedown_index::DEFAULT_RADIUS, value_parser = clap::value_parser!(u32).range(0..=256))]
    pub radius: u32,
    /// Also match the image's rotations and mirrors (PDQ dihedral hashes).
    #[arg(long)]
    pub dihedral: bool,
    /// Search audio (and soundtracks) only as it is, without undoing speed and tempo changes
    /// (which are tried by default, as the server does).
    #[arg(long)]
    pub no_stretch: bool,
    /// Match videos only as they are, without also trying them mirrored back and with
    /// letterbox or pillarbox bars cut away (tried by default, as the server does).
    #[arg(long)]
    pub no_video_variants: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Worker threads (default: all cores).
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    #[command(flatten)]
    pub limits: super::hash::MediaLimitArgs,
}

/// A bank file held in memory with its indexes.
pub struct BankFile {
    /// The engine's default video, audio and text rules, so the command line and the server
    /// agree on what matches.
    rules: MediaMatchConfig,
    rows: Vec<HashListRow>,
    pdq: HammingIndex,
    exact: HashMap<(SignalType, String), Vec<usize>>,
    video: VideoIndex,
    audio: AudioIndex,
    text: TextIndex,
}

impl BankFile {
    /// Reads and indexes a bank file. The first bad row stops the load with its line number:
    /// matching against a silently partial bank would hide misses.
    pub fn load(path: &Path) -> anyhow::Result<BankFile> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read bank file {}", path.display()))?;
        let name = path.file_name().and_then(|n| n.to_str());
        let format = HashListFormat::detect(name, &bytes[..bytes.len().min(64)]);
        let mut rows = Vec::new();
        for row in read_hash_list(bytes.as_slice(), format) {
            rows.push(row.with_context(|| format!("bank file {}", path.display()))?);
        }
        let mut pdq_items = Vec::new();
        let mut exact: HashMap<(SignalType, String), Vec<usize>> = HashMap::new();
        let rules = MediaMatchConfig::default();
        let mut video = VideoIndex::new(rules.vpdq);
        let mut audio = AudioIndex::new(rules.audio.clone());
        let mut text = TextIndex::new(rules.text);
        for (index, row) in rows.iter().enumerate() {
            // Values were canonicalised (so parsed) when the file was read.
            let context = || format!("bank file {} line {}", path.display(), row.line);
            if row.signal_type == SignalType::Pdq {
                let hash = Hash256::from_hex(&row.value)?;
                pdq_items.push((index as u64, hash));
            } else if row.signal_type == SignalType::Vpdq {
                let features = vpdq::parse_lines(&row.value).with_context(context)?;
                video.insert(index as u64, &features);
            } else if row.signal_type == SignalType::Audio {
                let fingerprint = AudioFingerprint::from_text(&row.value).with_context(context)?;
                audio.insert(index as u64, fingerprint.sub_fingerprints());
            } else if row.signal_type == SignalType::TextMinhash {
                let signature = TextSignature::parse(&row.value).with_context(context)?;
                text.insert(index as u64, &signature);
            } else if row.signal_type.is_exact() {
                exact
                    .entry((row.signal_type, row.value.clone()))
                    .or_default()
                    .push(index);
            }
        }
        Ok(BankFile {
            rules,
            rows,
            pdq: HammingIndex::build(pdq_items),
            exact,
            video,
            audio,
            text,
        })
    }

    /// The closest PDQ row to `hash` (its 1-based file line and distance), at any distance.
    pub fn nearest(&self, hash: &Hash256) -> Option<(usize, u32)> {
        self.rows
            .iter()
            .enumerate()
            .filter(|(_, row)| row.signal_type == SignalType::Pdq)
            .filter_map(|(index, row)| {
                Hash256::from_hex(&row.value)
                    .ok()
                    .map(|bank_hash| (index, bank_hash.distance(hash)))
            })
            .min_by_key(|(_, distance)| *distance)
    }

    /// A short description of a row: its entity and note.
    pub fn describe(&self, index: usize) -> String {
        let row = &self.rows[index];
        format!(
            "{} ({})",
            row.labels.entity.as_deref().unwrap_or("-"),
            row.note
        )
    }

    fn exact(&self, signal_type: SignalType, value: &str) -> impl Iterator<Item = Hit> + '_ {
        self.exact
            .get(&(signal_type, value.to_string()))
            .into_iter()
            .flatten()
            .map(|&row| Hit {
                row,
                distance: 0,
                transform: None,
            })
    }
}

/// One bank row matched by a query.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Hit {
    row: usize,
    distance: u32,
    /// What was undone on the query for it to match, when it did not match as it was: the
    /// dihedral transform of an image (`mirror`, `rotate90`, ...) or the speed or tempo change
    /// of audio (`speed x1.030`).
    transform: Option<String>,
}

struct QueryResult {
    query: String,
    quality: Option<u8>,
    hits: Vec<Hit>,
}

/// Runs `takedown match`. Exit status 0 when anything matched, 1 when nothing did, 2 on errors
/// (like `grep`, so scripts can branch on it).
pub fn run(args: MatchArgs) -> anyhow::Result<ExitCode> {
    let bank = BankFile::load(&args.bank)?;
    let (queries, errors) = inputs::expand(&args.queries, true);
    for error in &errors {
        error.report();
    }
    let mut options = args.limits.options(args.dihedral);
    if !args.no_stretch {
        options.audio_stretches = bank.rules.audio_stretch.stretches.clone();
    }
    options.vpdq.variants = bank.rules.video_variants && !args.no_video_variants;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.unwrap_or(0))
        .build()?;
    let progress = output::progress(queries.len() as u64, "matching");
    let results: Vec<Result<QueryResult, InputError>> = pool.install(|| {
        queries
            .par_iter()
            .map(|query| {
                let result = match_one(&bank, query, &options, args.radius);
                progress.inc(1);
                result
            })
            .collect()
    });
    progress.finish_and_clear();

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut table = Table::new(&["query", "signal", "distance", "value", "labels"]);
    let mut failed = !errors.is_empty();
    let mut matched = false;
    for result in results {
        let result = match result {
            Ok(result) => result,
            Err(error) => {
                error.report();
                failed = true;
                continue;
            }
        };
        for hit in &result.hits {
            matched = true;
            let row = &bank.rows[hit.row];
            let labels = labels_json(row);
            match args.format {
                Format::Json => {
                    let mut line = json!({
                        "query": result.query,
                        "signal_type": row.signal_type.as_str(),
                        "value": row.value,
                        "distance": hit.distance,
                        "labels": labels,
                        "bank_line": row.line,
                    });
                    if let Some(quality) = result.quality {
                        line["query_quality"] = json!(quality);
                    }
                    if let Some(transform) = &hit.transform {
                        line["transform"] = json!(transform);
                    }
                    serde_json::to_writer(&mut out, &line)?;
                    out.write_all(b"\n")?;
                }
                Format::Table => table.push(vec![
                    result.query.clone(),
                    match &hit.transform {
                        Some(transform) => format!("{} ({transform})", row.signal_type),
                        None => row.signal_type.to_string(),
                    },
                    hit.distance.to_string(),
                    short_value(&row.value),
                    labels_text(&labels),
                ]),
            }
        }
    }
    if args.format == Format::Table {
        table.print(&mut out)?;
    }
    out.flush()?;
    Ok(if failed {
        ExitCode::from(2)
    } else if matched {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn match_one(
    bank: &BankFile,
    query: &Input,
    options: &HashOptions,
    radius: u32,
) -> Result<QueryResult, InputError> {
    let mut hits = Vec::new();
    let pdq_hits = |hash: &Hash256, transform: Option<&'static str>, hits: &mut Vec<Hit>| {
        for neighbour in bank.pdq.query(hash, radius) {
            hits.push(Hit {
                row: neighbour.id as usize,
                distance: neighbour.distance,
                transform: transform.map(str::to_string),
            });
        }
    };
    match query {
        Input::Hash(raw) => {
            match raw {
                RawHash::Bits256(hash) => {
                    pdq_hits(hash, None, &mut hits);
                    hits.extend(bank.exact(SignalType::Sha256, &hash.to_hex()));
                }
                RawHash::Md5(text) => {
                    hits.extend(bank.exact(SignalType::Md5, text));
                    hits.extend(bank.exact(SignalType::VideoMd5, text));
                }
            }
            Ok(QueryResult {
                query: raw.text(),
                quality: None,
                hits: best_per_row(hits),
            })
        }
        Input::File(path) => {
            let shown = path.display().to_string();
            let fingerprints =
                inputs::fingerprint_file(path, options).map_err(|error| InputError {
                    subject: shown.clone(),
                    error,
                })?;
            hits.extend(bank.exact(SignalType::Md5, &fingerprints.digests.md5));
            hits.extend(bank.exact(SignalType::VideoMd5, &fingerprints.digests.md5));
            hits.extend(bank.exact(SignalType::Sha256, &fingerprints.digests.sha256));
            media_hits(bank, &fingerprints, &mut hits);
            let mut quality = None;
            if let Some(image) = fingerprints.image() {
                quality = Some(image.pdq.quality);
                pdq_hits(&image.pdq.hash, None, &mut hits);
                if let Some(dihedral) = &image.dihedral {
                    for (name, hash) in dihedral.named().into_iter().skip(1) {
                        pdq_hits(&hash, Some(name), &mut hits);
                    }
                }
            }
            Ok(QueryResult {
                query: shown,
                quality,
                hits: best_per_row(hits),
            })
        }
    }
}

/// Hits of a video, audio or text file in the bank's vPDQ, audio and text rows. Their
/// distance is 100 minus the similarity in percent (the smaller vPDQ percentage,
/// `100 * (1 - bit-error rate)`, `100 * text score`), like the server's.
fn media_hits(bank: &BankFile, fingerprints: &Fingerprints, hits: &mut Vec<Hit>) {
    let hit = |row: u64, similarity: f64| Hit {
        row: row as usize,
        distance: (100.0 - similarity).round().clamp(0.0, 100.0) as u32,
        transform: None,
    };
    if let Some(video) = fingerprints.video() {
        // The server's rule: the frames as they are and each variant (mirror, bars) alike.
        let variants: Vec<&[vpdq::VpdqFeature]> = (video.variants.iter())
            .map(|(_, features)| features.as_slice())
            .collect();
        for (v, m) in bank.video.query_with_variants(&video.vpdq, &variants) {
            let mut found = hit(m.video_id, m.query_percent().min(m.compared_percent()));
            found.transform = v.map(|v| video.variants[v].0.label().to_string());
            hits.push(found);
        }
    }
    if let Some(audio) = fingerprints.audio() {
        // The server's rule (takedown_engine::AudioStretchConfig): as it is at the plain
        // threshold, each stretched variant at the lower stretched one.
        let variants: Vec<&[u32]> = (audio.stretched.iter())
            .map(|(_, print)| print.sub_fingerprints())
            .collect();
        let max_ber = bank.rules.audio_stretch.max_ber;
        let plain = audio.fingerprint.sub_fingerprints();
        for (v, m) in bank.audio.search_with_variants(plain, &variants, max_ber) {
            let mut found = hit(m.id, 100.0 * (1.0 - m.ber()));
            found.transform = v.map(|v| audio.stretched[v].0.label());
            hits.push(found);
        }
    }
    if let Some(text) = fingerprints.text() {
        hits.extend(bank.exact(SignalType::TextDigest, &text.text.digest));
        for m in bank.text.query(&text.text.signature) {
            hits.push(hit(m.id, 100.0 * m.score()));
        }
    }
}

/// A value short enough for a table cell (vPDQ and audio values run to kilobytes).
fn short_value(value: &str) -> String {
    let first = value.lines().next().unwrap_or_default();
    if first.len() == value.len() && value.len() <= 72 {
        value.to_string()
    } else {
        let head: String = first.chars().take(48).collect();
        format!("{head}... ({} bytes)", value.len())
    }
}

/// Keeps the closest hit per bank row (a mirrored query can hit the same row several ways),
/// ordered by distance then row.
fn best_per_row(mut hits: Vec<Hit>) -> Vec<Hit> {
    hits.sort_by_key(|hit| (hit.row, hit.distance, hit.transform.is_some()));
    hits.dedup_by_key(|hit| hit.row);
    hits.sort_by_key(|hit| (hit.distance, hit.row));
    hits
}

fn labels_json(row: &HashListRow) -> serde_json::Value {
    let labels = &row.labels;
    let mut object = BTreeMap::new();
    if let Some(entity) = &labels.entity {
        object.insert("entity".to_string(), json!(entity));
    }
    if let Some(tier) = labels.tier {
        object.insert("tier".to_string(), json!(tier.number()));
    }
    if let Some(severity) = labels.severity {
        object.insert("severity".to_string(), json!(severity.value()));
    }
    if let Some(confidence) = labels.confidence {
        object.insert("confidence".to_string(), json!(confidence.value()));
    }
    if !labels.behaviours.is_empty() {
        object.insert("behaviours".to_string(), json!(labels.behaviours));
    }
    object.insert("tlp".to_string(), json!(labels.tlp.as_str()));
    if !row.note.is_empty() {
        object.insert("note".to_string(), json!(row.note));
    }
    if let Some(source) = &row.source {
        object.insert("source".to_string(), json!(source));
    }
    for (key, value) in &row.extra {
        object.insert(key.clone(), json!(value));
    }
    json!(object)
}

fn labels_text(labels: &serde_json::Value) -> String {
    labels
        .as_object()
        .map(|object| {
            object
                .iter()
                .map(|(key, value)| match value {
                    serde_json::Value::String(text) => format!("{key}={text}"),
                    other => format!("{key}={other}"),
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}
