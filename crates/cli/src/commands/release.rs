//! `takedown release`: outlet release logs (import CSV or JSON lines, list, outlets, and
//! releases recorded from confirmed observations).

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::json;
use takedown_engine::EngineConfig;
use takedown_exchange::HashListFormat;
use takedown_impact::operation::{parse_period_end, parse_time};
use takedown_impact::wire::{outlet_json, release_json};
use takedown_model::Actor;
use takedown_store::{ReleaseMedium, ReleaseQuery, MAX_RELEASE_PAGE};

use crate::database::{block_on, open_engine, DatabaseArgs};

/// `takedown release ...`
#[derive(Debug, clap::Args)]
pub struct ReleaseArgs {
    #[command(subcommand)]
    command: ReleaseCommand,
    #[command(flatten)]
    database: DatabaseArgs,
}

/// File format of a release log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// Comma-separated with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

#[derive(Debug, clap::Subcommand)]
enum ReleaseCommand {
    /// Import a release log (CSV or JSON lines; `-` reads stdin) in one transaction: a bad row
    /// is reported with its line and nothing is imported; importing a file again adds nothing.
    /// Columns: outlet, published_at, medium (statement, image, video, audio), language,
    /// channel, title, and optional md5, sha256, pdq.
    Import {
        /// The file.
        file: PathBuf,
        /// Format (default: from the file name, else from the first bytes).
        #[arg(long, value_enum)]
        format: Option<LogFormat>,
    },
    /// Print releases as JSON lines, in publication order.
    List {
        /// Only these outlets (repeatable).
        #[arg(long = "outlet")]
        outlets: Vec<String>,
        /// From this date or time.
        #[arg(long)]
        from: Option<String>,
        /// Up to this date (inclusive) or time (exclusive).
        #[arg(long)]
        to: Option<String>,
        /// Only this channel.
        #[arg(long)]
        channel: Option<String>,
        /// Only this medium.
        #[arg(long)]
        medium: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 1000)]
        limit: u64,
    },
    /// Every outlet with releases: count, first and last release, channels.
    Outlets,
    /// Record a release for every confirmed review case attributed to an outlet (dated by
    /// its earliest live observation, its host as the channel). Idempotent.
    FromObservations,
}

/// Runs `takedown release`.
pub fn run(args: ReleaseArgs) -> anyhow::Result<ExitCode> {
    let database = args.database.resolve()?;
    block_on(async move {
        let engine = open_engine(&database, EngineConfig::default()).await?;
        let store = engine.store().as_ref();
        let actor = Actor::Cli;
        match args.command {
            ReleaseCommand::Import { file, format } => {
                let (reader, label): (Box<dyn Read + Send>, String) = if file.as_os_str() == "-" {
                    (Box::new(std::io::stdin()), "stdin".into())
                } else {
                    let handle = std::fs::File::open(&file)
                        .with_context(|| format!("cannot open {}", file.display()))?;
                    (Box::new(handle), file.display().to_string())
                };
                let mut reader = std::io::BufReader::new(reader);
                let format = match format {
                    Some(LogFormat::Csv) => HashListFormat::Csv,
                    Some(LogFormat::Jsonl) => HashListFormat::JsonLines,
                    None => {
                        use std::io::BufRead;
                        let first = reader.fill_buf().context("cannot read the file")?;
                        let name = file.file_name().and_then(|n| n.to_str());
                        HashListFormat::detect(name, &first[..first.len().min(64)])
                    }
                };
                let summary = takedown_impact::import_release_log(
                    store,
                    &actor,
                    reader,
                    format,
                    &label,
                    &mut |_| {},
                )
                .await
                .with_context(|| format!("{label}: import failed; nothing was imported"))?;
                println!(
                    "{}",
                    json!({
                        "rows": summary.rows,
                        "added": summary.added,
                        "unchanged": summary.unchanged,
                        "audit_sequence": summary.audit_sequence,
                    })
                );
            }
            ReleaseCommand::List {
                outlets,
                from,
                to,
                channel,
                medium,
                limit,
            } => {
                let mut query = ReleaseQuery {
                    outlets,
                    from: from.as_deref().map(|t| parse_time(t, false)).transpose()?,
                    until: to.as_deref().map(parse_period_end).transpose()?,
                    channel,
                    medium: medium
                        .as_deref()
                        .map(|m| m.parse::<ReleaseMedium>())
                        .transpose()
                        .map_err(|e| anyhow::anyhow!("--medium: {e}"))?,
                    limit: MAX_RELEASE_PAGE,
                    ..ReleaseQuery::default()
                };
                let mut printed = 0u64;
                'pages: loop {
                    let page = store.releases(&query).await?;
                    for r in &page.items {
                        if printed >= limit {
                            break 'pages;
                        }
                        println!("{}", release_json(r));
                        printed += 1;
                    }
                    match page.next {
                        Some(next) => query.after = Some(next),
                        None => break,
                    }
                }
            }
            ReleaseCommand::Outlets => {
                for o in store.release_outlets().await? {
                    println!("{}", outlet_json(&o));
                }
            }
            ReleaseCommand::FromObservations => {
                let s =
                    takedown_impact::referral_data::record_confirmed_releases(store, &actor, None)
                        .await?;
                println!(
                    "{}",
                    json!({
                        "confirmed_cases": s.cases,
                        "added": s.added,
                        "unchanged": s.unchanged,
                        "without_outlet": s.without_outlet,
                        "without_medium": s.without_medium,
                        "truncated": s.truncated,
                    })
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
