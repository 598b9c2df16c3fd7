//! `takedown url`: submit URLs (arguments or a file, one a line) to be fetched, fingerprinted,
//! matched and recorded as observations; list observations and the "unassigned" queue.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use takedown_referrals::records::{CaseId, ObservationId, ObservationQuery};
use takedown_referrals::{wire, IntakeRequest};

use crate::commands::referral::{open_workflow, print_json, WorkflowArgs};
use crate::database::block_on;

/// `takedown url ...`
#[derive(Debug, clap::Args)]
pub struct UrlArgs {
    #[command(subcommand)]
    command: UrlCommand,
    #[command(flatten)]
    workflow: WorkflowArgs,
}

#[derive(Debug, clap::Subcommand)]
enum UrlCommand {
    /// Fetch, fingerprint and match URLs and record what they carry. Prints one JSON line per
    /// URL; exits 1 if any URL was refused before fetching (the others are still recorded).
    Add {
        /// The URLs.
        urls: Vec<String>,
        /// Also read URLs from this file, one a line (`#` starts a comment line).
        #[arg(long, short)]
        file: Option<PathBuf>,
        /// Where they came from, kept with each observation.
        #[arg(long)]
        source: Option<String>,
    },
    /// List observations (oldest first).
    List {
        /// Only hosts no provider rule covers yet.
        #[arg(long)]
        unassigned: bool,
        /// Only re-uploads of content already referred and removed.
        #[arg(long)]
        reuploads: bool,
        /// Only this case's.
        #[arg(long)]
        case: Option<i64>,
        /// After this observation id (paging).
        #[arg(long)]
        after: Option<i64>,
        /// Most to list.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

/// The URLs of a file: one a line, blank lines and `#` comments skipped.
fn urls_in(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// Runs `takedown url`.
pub fn run(args: UrlArgs) -> anyhow::Result<ExitCode> {
    block_on(async move {
        match args.command {
            UrlCommand::Add { urls, file, source } => {
                let mut all = urls;
                let mut default_source = "cli".to_string();
                if let Some(path) = &file {
                    let text = std::fs::read_to_string(path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    all.extend(urls_in(&text));
                    default_source = format!("file:{}", path.display());
                }
                if all.is_empty() {
                    anyhow::bail!("no URLs: give them as arguments or with --file");
                }
                let (referrals, caller) = open_workflow(&args.workflow, true).await?;
                let reports = referrals
                    .submit_urls(
                        &caller,
                        IntakeRequest {
                            urls: all,
                            org: None,
                            source: source.unwrap_or(default_source),
                        },
                    )
                    .await?;
                let mut refused = 0;
                for report in &reports {
                    if let Some(error) = &report.error {
                        eprintln!("takedown: {}: {error}", report.url);
                        refused += 1;
                    }
                    print_json(&wire::intake_report(report));
                }
                Ok(if refused > 0 {
                    ExitCode::FAILURE
                } else {
                    ExitCode::SUCCESS
                })
            }
            UrlCommand::List {
                unassigned,
                reuploads,
                case,
                after,
                limit,
            } => {
                let (referrals, caller) = open_workflow(&args.workflow, false).await?;
                let observations = referrals
                    .observations(
                        &caller,
                        ObservationQuery {
                            org: None,
                            case: case.map(CaseId),
                            unassigned,
                            reuploads,
                            after: after.map(ObservationId),
                            limit,
                        },
                    )
                    .await?;
                for observation in &observations {
                    print_json(&wire::observation(observation));
                }
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_files_skip_blank_lines_and_comments() {
        assert_eq!(
            urls_in("# from the feed\nhttp://a.example/1\n\n  http://b.example/2  \n"),
            vec!["http://a.example/1", "http://b.example/2"]
        );
    }
}
