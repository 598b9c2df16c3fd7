//! `takedown operation`: disruption operations (action days) to measure.

use std::process::ExitCode;

use takedown_engine::EngineConfig;
use takedown_impact::wire::{operation_json, OperationSpec};
use takedown_model::Actor;

use crate::database::{block_on, open_engine, DatabaseArgs};

/// `takedown operation ...`
#[derive(Debug, clap::Args)]
pub struct OperationArgs {
    #[command(subcommand)]
    command: OperationCommand,
    #[command(flatten)]
    database: DatabaseArgs,
}

#[derive(Debug, clap::Subcommand)]
enum OperationCommand {
    /// Record an operation: its days, who took part, what it targeted.
    Create {
        /// Unique name, e.g. `amaq-2018-04`.
        name: String,
        /// First day (`2018-04-25`) or instant (RFC 3339).
        #[arg(long)]
        start: String,
        /// Last day, inclusive (`2018-04-26`), or instant.
        #[arg(long)]
        end: String,
        /// Targeted outlet (repeatable; at least one).
        #[arg(long = "target", required = true)]
        targets: Vec<String>,
        /// Control outlet: not targeted, compared alongside (repeatable).
        #[arg(long = "control")]
        controls: Vec<String>,
        /// Participating organisation (repeatable).
        #[arg(long = "organisation")]
        organisations: Vec<String>,
        /// Targeted infrastructure as `domain:NAME`, `channel:NAME`, `server:ADDRESS` or free
        /// text (repeatable).
        #[arg(long = "infrastructure")]
        infrastructure: Vec<String>,
        /// Free text.
        #[arg(long, default_value = "")]
        notes: String,
    },
    /// Print every operation as JSON lines, earliest first.
    List,
    /// Print one operation.
    Show {
        /// Its name.
        name: String,
    },
}

/// Runs `takedown operation`.
pub fn run(args: OperationArgs) -> anyhow::Result<ExitCode> {
    let database = args.database.resolve()?;
    block_on(async move {
        let engine = open_engine(&database, EngineConfig::default()).await?;
        let store = engine.store();
        match args.command {
            OperationCommand::Create {
                name,
                start,
                end,
                targets,
                controls,
                organisations,
                infrastructure,
                notes,
            } => {
                let new = OperationSpec {
                    name,
                    start,
                    end,
                    organisations,
                    targets,
                    controls,
                    infrastructure,
                    notes,
                }
                .to_new()?;
                let op = store.create_operation(&Actor::Cli, new).await?;
                println!("{}", operation_json(&op));
            }
            OperationCommand::List => {
                for op in store.list_operations().await? {
                    println!("{}", operation_json(&op));
                }
            }
            OperationCommand::Show { name } => {
                let op = store.operation_by_name(&name).await?;
                println!("{}", operation_json(&op));
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
