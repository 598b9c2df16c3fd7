//! `takedown provider`: the registry of hosting providers and their domain-suffix rules.

use std::process::ExitCode;

use takedown_referrals::records::{Delivery, NewProvider, NoticeFormat, ProviderUpdate};
use takedown_referrals::wire;

use crate::commands::referral::{open_workflow, print_json, WorkflowArgs};
use crate::database::block_on;

/// `takedown provider ...`
#[derive(Debug, clap::Args)]
pub struct ProviderArgs {
    #[command(subcommand)]
    command: ProviderCommand,
    #[command(flatten)]
    workflow: WorkflowArgs,
}

/// A provider's fields; on `update`, those not given stay as they are.
#[derive(Debug, clap::Args)]
struct ProviderFields {
    /// Abuse or legal contact address (e-mail delivery).
    #[arg(long)]
    email: Option<String>,
    /// Endpoint that accepts JSON referrals (http delivery).
    #[arg(long)]
    endpoint: Option<String>,
    /// email, http or manual.
    #[arg(long)]
    delivery: Option<String>,
    /// Preferred notice: text, json, eu-order or dsa.
    #[arg(long)]
    format: Option<String>,
    /// Legal representative in the Union (removal orders).
    #[arg(long)]
    legal_representative: Option<String>,
    /// Member state (ISO 3166 alpha-2).
    #[arg(long)]
    member_state: Option<String>,
    /// Point of contact for removal orders.
    #[arg(long)]
    contact_point: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
enum ProviderCommand {
    /// List providers with their rules.
    List,
    /// One provider.
    Show {
        /// Name or id.
        provider: String,
    },
    /// Register a provider.
    Add {
        /// Its name (unique).
        name: String,
        #[command(flatten)]
        fields: ProviderFields,
        /// Host suffixes it hosts (repeatable), e.g. `files.example`.
        #[arg(long = "host")]
        hosts: Vec<String>,
    },
    /// Change a provider.
    Update {
        /// Name or id.
        provider: String,
        /// A new name.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        fields: ProviderFields,
    },
    /// Add a domain-suffix rule; unassigned observations it covers are assigned at once.
    AddHost {
        /// Name or id.
        provider: String,
        /// The host suffix.
        suffix: String,
    },
    /// Remove a domain-suffix rule.
    RemoveHost {
        /// The host suffix.
        suffix: String,
    },
}

/// Runs `takedown provider`.
pub fn run(args: ProviderArgs) -> anyhow::Result<ExitCode> {
    block_on(async move {
        let (referrals, caller) = open_workflow(&args.workflow, false).await?;
        match args.command {
            ProviderCommand::List => {
                for provider in referrals.providers(&caller).await? {
                    print_json(&wire::provider(&provider));
                }
            }
            ProviderCommand::Show { provider } => {
                print_json(&wire::provider(
                    &referrals.provider(&caller, &provider).await?,
                ));
            }
            ProviderCommand::Add {
                name,
                fields,
                hosts,
            } => {
                let delivery = match &fields.delivery {
                    Some(text) => text.parse()?,
                    None if fields.endpoint.is_some() => Delivery::Http,
                    None => Delivery::Email,
                };
                let notice_format = match &fields.format {
                    Some(text) => text.parse()?,
                    None => NoticeFormat::Text,
                };
                let mut provider = referrals
                    .create_provider(
                        &caller,
                        NewProvider {
                            name,
                            contact_email: fields.email.unwrap_or_default(),
                            endpoint_url: fields.endpoint.unwrap_or_default(),
                            delivery,
                            notice_format,
                            legal_representative: fields.legal_representative.unwrap_or_default(),
                            member_state: fields.member_state.unwrap_or_default(),
                            contact_point: fields.contact_point.unwrap_or_default(),
                        },
                    )
                    .await?;
                for host in hosts {
                    let (updated, _) = referrals
                        .add_provider_rule(&caller, &provider.id.0.to_string(), &host)
                        .await?;
                    provider = updated;
                }
                print_json(&wire::provider(&provider));
            }
            ProviderCommand::Update {
                provider,
                name,
                fields,
            } => {
                let update = ProviderUpdate {
                    name,
                    contact_email: fields.email,
                    endpoint_url: fields.endpoint,
                    delivery: fields.delivery.map(|text| text.parse()).transpose()?,
                    notice_format: fields.format.map(|text| text.parse()).transpose()?,
                    legal_representative: fields.legal_representative,
                    member_state: fields.member_state,
                    contact_point: fields.contact_point,
                };
                let provider = referrals
                    .update_provider(&caller, &provider, update)
                    .await?;
                print_json(&wire::provider(&provider));
            }
            ProviderCommand::AddHost { provider, suffix } => {
                let (provider, assigned) = referrals
                    .add_provider_rule(&caller, &provider, &suffix)
                    .await?;
                let mut value = wire::provider(&provider);
                value["assigned_observations"] = assigned.into();
                print_json(&value);
            }
            ProviderCommand::RemoveHost { suffix } => {
                referrals.remove_provider_rule(&caller, &suffix).await?;
                print_json(&serde_json::json!({"removed": suffix}));
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
