//! `takedown case`: review cases ranked by severity and confidence, and decisions.

use std::process::ExitCode;

use takedown_model::Tier;
use takedown_referrals::records::{CaseId, CaseStatus, DecisionKind, Ground};
use takedown_referrals::{wire, Decision};

use crate::commands::referral::{open_workflow, print_json, WorkflowArgs};
use crate::database::block_on;

/// `takedown case ...`
#[derive(Debug, clap::Args)]
pub struct CaseArgs {
    #[command(subcommand)]
    command: CaseCommand,
    #[command(flatten)]
    workflow: WorkflowArgs,
}

#[derive(Debug, clap::Subcommand)]
enum CaseCommand {
    /// List cases, highest priority first.
    List {
        /// Only cases in this status (open, confirmed, rejected).
        #[arg(long)]
        status: Option<String>,
        /// Most to list.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// A case with its observations and decisions.
    Show {
        /// The case id.
        id: i64,
    },
    /// Confirm or reject a case.
    Decide {
        /// The case id.
        id: i64,
        /// Confirm: the content is terrorist content.
        #[arg(long, conflicts_with = "reject", required_unless_present = "reject")]
        confirm: bool,
        /// Reject (give --reason).
        #[arg(long)]
        reject: bool,
        /// The producing entity (default: the matched item's).
        #[arg(long)]
        entity: Option<String>,
        /// Tier 1-4 (default: the matched item's).
        #[arg(long)]
        tier: Option<String>,
        /// Art. 2(7) ground (repeatable): incites, solicits, solicits-participation,
        /// instructs, threatens.
        #[arg(long = "ground")]
        grounds: Vec<String>,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
        /// Add the confirmed content to this bank in the same step.
        #[arg(long, value_name = "BANK")]
        add_to_bank: Option<String>,
    },
}

/// Runs `takedown case`.
pub fn run(args: CaseArgs) -> anyhow::Result<ExitCode> {
    block_on(async move {
        let (referrals, caller) = open_workflow(&args.workflow, false).await?;
        match args.command {
            CaseCommand::List { status, limit } => {
                let status = status.map(|text| text.parse::<CaseStatus>()).transpose()?;
                for case in referrals.cases(&caller, status, limit).await? {
                    print_json(&wire::case(&case));
                }
            }
            CaseCommand::Show { id } => {
                let detail = referrals.case(&caller, CaseId(id)).await?;
                print_json(&wire::case_detail(&detail));
            }
            CaseCommand::Decide {
                id,
                confirm,
                reject: _,
                entity,
                tier,
                grounds,
                reason,
                add_to_bank,
            } => {
                let tier = tier.map(|text| text.parse::<Tier>()).transpose()?;
                let grounds = grounds
                    .iter()
                    .map(|text| text.parse::<Ground>())
                    .collect::<Result<Vec<_>, _>>()?;
                let decision = Decision {
                    decision: if confirm {
                        DecisionKind::Confirm
                    } else {
                        DecisionKind::Reject
                    },
                    entity,
                    tier,
                    grounds,
                    reason,
                    add_to_bank,
                };
                let detail = referrals.decide(&caller, CaseId(id), decision).await?;
                print_json(&wire::case_detail(&detail));
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
