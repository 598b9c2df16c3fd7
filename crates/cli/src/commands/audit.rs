//! `takedown audit`: read and verify the hash-chained audit log.

use std::process::ExitCode;

use serde_json::json;
use takedown_engine::{Caller, EngineConfig};
use takedown_store::AuditVerification;

use crate::database::{block_on, open_engine, DatabaseArgs};

/// `takedown audit ...`
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
    #[command(flatten)]
    database: DatabaseArgs,
}

#[derive(Debug, clap::Subcommand)]
enum AuditCommand {
    /// Recompute the chain and name the first entry that was edited, inserted or deleted.
    /// Exit status 0 when intact, 1 when broken.
    Verify,
    /// Print entries as JSON lines, oldest first.
    List {
        /// Only entries after this sequence number.
        #[arg(long)]
        after: Option<i64>,
        /// How many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

/// Runs `takedown audit`.
pub fn run(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let database = args.database.resolve()?;
    block_on(async move {
        let engine = open_engine(&database, EngineConfig::default()).await?;
        let cli = Caller::cli();
        match args.command {
            AuditCommand::Verify => match engine.verify_audit(&cli).await? {
                AuditVerification::Intact { entries, head_hash } => {
                    println!(
                        "{}",
                        json!({"intact": true, "entries": entries, "head_hash": head_hash})
                    );
                    Ok(ExitCode::SUCCESS)
                }
                AuditVerification::Broken {
                    sequence,
                    problem,
                    detail,
                } => {
                    println!(
                        "{}",
                        json!({"intact": false, "first_bad_entry": sequence, "problem": problem.as_str(), "detail": detail})
                    );
                    eprintln!(
                        "takedown: the audit log is broken at entry {sequence} ({}): {detail}",
                        problem.as_str()
                    );
                    Ok(ExitCode::from(1))
                }
            },
            AuditCommand::List { after, limit } => {
                for entry in engine.audit_entries(&cli, after, limit).await? {
                    println!(
                        "{}",
                        json!({
                            "sequence": entry.sequence,
                            "at": entry.at.to_rfc3339(),
                            "actor": entry.actor,
                            "org": entry.org.map(|o| o.0),
                            "action": entry.action,
                            "object_type": entry.object_type,
                            "object_id": entry.object_id,
                            "before": entry.before.as_deref().map(parse_json),
                            "after": entry.after.as_deref().map(parse_json),
                            "hash": entry.hash,
                        })
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

fn parse_json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.to_string()))
}
