//! `takedown check`: deliver queued referrals and run the URL checks that are due, once (the
//! server does this in the background); and the state of the check queue.

use std::process::ExitCode;

use serde_json::json;
use takedown_referrals::wire;

use crate::commands::referral::{open_workflow, print_json, WorkflowArgs};
use crate::database::block_on;

/// `takedown check ...`
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    #[command(subcommand)]
    command: CheckCommand,
    #[command(flatten)]
    workflow: WorkflowArgs,
}

#[derive(Debug, clap::Subcommand)]
enum CheckCommand {
    /// Deliver queued referrals, then run every check due now; prints what was done.
    Run {
        /// The worker name written in leases (default: `cli-<host>-<pid>`).
        #[arg(long)]
        owner: Option<String>,
    },
    /// Checks pending, in progress and done, and when the next is due.
    Status,
}

/// Runs `takedown check`.
pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    block_on(async move {
        let (referrals, _caller) = open_workflow(&args.workflow, false).await?;
        match args.command {
            CheckCommand::Run { owner } => {
                let owner = owner.unwrap_or_else(|| format!("cli-{}", std::process::id()));
                let outbox = referrals.run_outbox(&owner).await?;
                let checks = referrals.run_due_checks(&owner).await?;
                print_json(&wire::run_summary(&outbox, &checks));
            }
            CheckCommand::Status => {
                let counts = referrals.check_counts().await?;
                print_json(&json!({
                    "pending": counts.pending,
                    "claimed": counts.claimed,
                    "done": counts.done,
                    "next_due": counts.next_due.map(|at| at.to_rfc3339()),
                }));
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
