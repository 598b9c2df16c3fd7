//! `takedown org` and `takedown token`: organisations and API tokens, as the instance
//! administrator (whoever can run this command can read the database anyway).

use std::process::ExitCode;

use anyhow::Context;
use serde_json::json;
use takedown_engine::{Caller, EngineConfig};
use takedown_model::{Role, TokenId};

use crate::database::{block_on, open_engine, DatabaseArgs};

/// `takedown org ...`
#[derive(Debug, clap::Args)]
pub struct OrgArgs {
    #[command(subcommand)]
    command: OrgCommand,
    #[command(flatten)]
    database: DatabaseArgs,
}

#[derive(Debug, clap::Subcommand)]
enum OrgCommand {
    /// Create an organisation.
    Create {
        /// Its name (unique).
        name: String,
    },
    /// List organisations.
    List,
}

/// `takedown token ...`
#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    command: TokenCommand,
    #[command(flatten)]
    database: DatabaseArgs,
}

#[derive(Debug, clap::Subcommand)]
enum TokenCommand {
    /// Create an API token and print its secret alone on stdout (shown this once).
    Create {
        /// The organisation it acts for.
        #[arg(long)]
        org: String,
        /// What it may do.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// A label to recognise it by.
        #[arg(long, default_value = "created at the command line")]
        name: String,
        /// Days until it stops working (never, if not given).
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// List an organisation's tokens (never their secrets).
    List {
        /// The organisation.
        #[arg(long)]
        org: String,
    },
    /// Revoke a token by id.
    Revoke {
        /// The token's id (from `takedown token list`).
        id: i64,
    },
}

fn parse_role(text: &str) -> Result<Role, String> {
    text.parse::<Role>().map_err(|error| error.to_string())
}

/// Runs `takedown org`.
pub fn run_org(args: OrgArgs) -> anyhow::Result<ExitCode> {
    let database = args.database.resolve()?;
    block_on(async move {
        let engine = open_engine(&database, EngineConfig::default()).await?;
        let cli = Caller::cli();
        match args.command {
            OrgCommand::Create { name } => {
                let org = engine.create_organisation(&cli, &name).await?;
                println!("{}", json!({"id": org.id.0, "name": org.name}));
            }
            OrgCommand::List => {
                for org in engine.organisations(&cli).await? {
                    println!(
                        "{}",
                        json!({"id": org.id.0, "name": org.name, "created_at": org.created_at.to_rfc3339()})
                    );
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Runs `takedown token`.
pub fn run_token(args: TokenArgs) -> anyhow::Result<ExitCode> {
    let database = args.database.resolve()?;
    block_on(async move {
        let engine = open_engine(&database, EngineConfig::default()).await?;
        let cli = Caller::cli();
        match args.command {
            TokenCommand::Create {
                org,
                role,
                name,
                expires_in_days,
            } => {
                let org = engine
                    .organisation_by_name(&org)
                    .await
                    .with_context(|| format!("organisation {org:?}"))?;
                let expires_at = expires_in_days
                    .map(|days| engine.clock().now() + chrono::Duration::days(i64::from(days)));
                let created = engine
                    .create_token(&cli, Some(org.id), role, &name, expires_at)
                    .await?;
                eprintln!(
                    "takedown: token {} ({role}) created for {}; the secret below is shown once",
                    created.token.id.0, org.name
                );
                println!("{}", created.secret);
            }
            TokenCommand::List { org } => {
                let org = engine.organisation_by_name(&org).await?;
                for token in engine.tokens(&cli, Some(org.id)).await? {
                    println!(
                        "{}",
                        json!({
                            "id": token.id.0,
                            "name": token.name,
                            "role": token.role.as_str(),
                            "created_at": token.created_at.to_rfc3339(),
                            "expires_at": token.expires_at.map(|t| t.to_rfc3339()),
                            "revoked_at": token.revoked_at.map(|t| t.to_rfc3339()),
                        })
                    );
                }
            }
            TokenCommand::Revoke { id } => {
                let token = engine.revoke_token(&cli, TokenId(id)).await?;
                println!(
                    "{}",
                    json!({"id": token.id.0, "revoked_at": token.revoked_at.map(|t| t.to_rfc3339())})
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
