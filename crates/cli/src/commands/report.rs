//! `takedown report`: an operation's impact report and the transparency report, each as a
//! self-contained HTML page and a JSON twin.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::json;
use takedown_engine::EngineConfig;
use takedown_impact::operation::{parse_period_end, parse_time};
use takedown_impact::report::write_files;
use takedown_impact::transparency::{
    parse_manual, transparency_report, write_transparency_files, ManualFigures,
};
use takedown_impact::{operation_report, ReportOptions};

use crate::database::{block_on, open_engine, DatabaseArgs};

/// `takedown report ...`
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    command: ReportCommand,
    #[command(flatten)]
    database: DatabaseArgs,
}

#[derive(Debug, clap::Subcommand)]
enum ReportCommand {
    /// Did an operation change what its targets publish? Writes `operation-NAME.html` (SVG
    /// charts, no external assets) and `operation-NAME.json` and prints the headline findings.
    Operation {
        /// The operation's name.
        name: String,
        /// Directory to write into (created if needed).
        #[arg(long, default_value = ".")]
        out: PathBuf,
        /// Days in the before window.
        #[arg(long, default_value_t = 30)]
        before_days: u32,
        /// Days in the after window.
        #[arg(long, default_value_t = 30)]
        after_days: u32,
    },
    /// Referral figures of a period (URLs assessed, referrals, providers, removal rate with
    /// when it was measured, time to removal by tier, outlet and provider) and the figures
    /// Regulation (EU) 2021/784 asks of competent authorities. Writes
    /// `transparency-FROM-TO.html` and `.json`.
    Transparency {
        /// First day (or instant) of the period.
        #[arg(long)]
        from: String,
        /// Last day of the period, inclusive (or an exclusive instant).
        #[arg(long)]
        to: String,
        /// JSON file with the figures takedown does not hold (orders scrutinised, reviews,
        /// penalties, ...).
        #[arg(long)]
        manual: Option<PathBuf>,
        /// Directory to write into (created if needed).
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
}

/// Runs `takedown report`.
pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let database = args.database.resolve()?;
    block_on(async move {
        let engine = open_engine(&database, EngineConfig::default()).await?;
        let store = engine.store().as_ref();
        let now = engine.clock().now();
        match args.command {
            ReportCommand::Operation {
                name,
                out,
                before_days,
                after_days,
            } => {
                if before_days == 0 || after_days == 0 {
                    anyhow::bail!("--before-days and --after-days must be at least 1");
                }
                let options = ReportOptions {
                    before_days,
                    after_days,
                    generated_at: now,
                };
                let report = operation_report(store, &name, &options).await?;
                let (html, json_path) = write_files(&report, &out)?;
                println!(
                    "{}",
                    json!({
                        "operation": report.operation.name,
                        "html": html.display().to_string(),
                        "json": json_path.display().to_string(),
                        "findings": report.findings.iter().map(|f| f.summary.clone()).collect::<Vec<_>>(),
                        "removal": report.removal.note,
                    })
                );
            }
            ReportCommand::Transparency {
                from,
                to,
                manual,
                out,
            } => {
                let from = parse_time(&from, false)?;
                let to = parse_period_end(&to)?;
                let manual = match manual {
                    Some(path) => parse_manual(
                        &std::fs::read_to_string(&path)
                            .with_context(|| format!("cannot read {}", path.display()))?,
                    )
                    .with_context(|| path.display().to_string())?,
                    None => ManualFigures::default(),
                };
                let report = transparency_report(store, from, to, &manual, now).await?;
                let (html, json_path) = write_transparency_files(&report, &out)?;
                println!(
                    "{}",
                    json!({
                        "from": report.from.to_rfc3339(),
                        "to": report.to.to_rfc3339(),
                        "html": html.display().to_string(),
                        "json": json_path.display().to_string(),
                        "urls_referred": report.referrals.urls_referred,
                        "removal": report.referrals.removal.note,
                    })
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
