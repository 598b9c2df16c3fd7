//! `takedown referral`: create, list, show, export, send and mark referrals; and the settings
//! every find-refer-verify command shares (database, referral settings file, fetch allowlist).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use takedown_engine::{Caller, Engine, EngineConfig};
use takedown_fetch::{FetchConfig, IpCidr};
use takedown_referrals::records::{ObservationId, ReferralStatus};
use takedown_referrals::{wire, CreateReferrals, ExportFormat, ReferralConfig, Referrals};

use crate::database::{block_on, open_engine, DatabaseArgs};

/// Settings shared by `url`, `case`, `provider`, `referral` and `check`.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkflowArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Referral settings (TOML: schedule, sender, SMTP server; see the takedown-referrals
    /// documentation).
    #[arg(
        long,
        env = "TAKEDOWN_REFERRALS_CONFIG",
        value_name = "FILE",
        global = true
    )]
    pub referrals_config: Option<PathBuf>,
    /// Allow fetching from this special-purpose block (repeatable), e.g. `127.0.0.0/8` for
    /// hosts on this machine. Cloud metadata addresses stay refused.
    #[arg(long = "fetch-allow", value_name = "CIDR", global = true)]
    pub fetch_allow: Vec<IpCidr>,
    /// The organisation to act for (name); needed when there is more than one.
    #[arg(long, global = true)]
    pub org: Option<String>,
}

/// Reads a referral settings file; no file means the defaults.
pub fn load_referral_config(path: Option<&std::path::Path>) -> anyhow::Result<ReferralConfig> {
    let Some(path) = path else {
        return Ok(ReferralConfig::default());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read referral settings {}", path.display()))?;
    let config: ReferralConfig =
        toml::from_str(&text).with_context(|| format!("referral settings {}", path.display()))?;
    config
        .validate()
        .map_err(|error| anyhow::anyhow!("referral settings {}: {error}", path.display()))?;
    Ok(config)
}

/// The workflow over the database, with the matching index loaded when `load_index`.
pub async fn open_workflow(
    args: &WorkflowArgs,
    load_index: bool,
) -> anyhow::Result<(Arc<Referrals>, Caller)> {
    let database = args.database.resolve()?;
    let engine = open_engine(&database, EngineConfig::default()).await?;
    if load_index {
        engine
            .load()
            .await
            .context("cannot load the matching index")?;
    }
    let config = load_referral_config(args.referrals_config.as_deref())?;
    let fetch = FetchConfig {
        allowlist: args.fetch_allow.clone(),
        ..FetchConfig::default()
    };
    let caller = acting_caller(&engine, args.org.as_deref()).await?;
    let referrals = Referrals::new(engine, fetch, config)?;
    Ok((referrals, caller))
}

/// The instance acting for one organisation: the one named, or the only one there is. With
/// several and none named, the instance itself (lists show every organisation's records;
/// creating something then asks for `--org`).
async fn acting_caller(engine: &Engine, org: Option<&str>) -> anyhow::Result<Caller> {
    let cli = Caller::cli();
    let org = match org {
        Some(name) => Some(
            engine
                .organisation_by_name(name)
                .await
                .with_context(|| format!("organisation {name:?}"))?,
        ),
        None => {
            let mut all = engine.organisations(&cli).await?;
            if all.len() == 1 {
                all.pop()
            } else {
                None
            }
        }
    };
    Ok(Caller {
        org: org.map(|org| org.id),
        ..cli
    })
}

/// Prints one JSON value on a line.
pub fn print_json(value: &serde_json::Value) {
    println!("{value}");
}

/// `takedown referral ...`
#[derive(Debug, clap::Args)]
pub struct ReferralArgs {
    #[command(subcommand)]
    command: ReferralCommand,
    #[command(flatten)]
    workflow: WorkflowArgs,
}

#[derive(Debug, clap::Subcommand)]
enum ReferralCommand {
    /// Put confirmed, live URLs into draft referrals, one per provider (URLs already in an
    /// open referral to the same provider are skipped and reported).
    Create {
        /// Only URLs hosted by this provider (name or id).
        #[arg(long)]
        provider: Option<String>,
        /// Only these observations (repeatable); all ready ones by default.
        #[arg(long = "observation", value_name = "ID")]
        observations: Vec<i64>,
        /// A note for the provider.
        #[arg(long, default_value = "")]
        note: String,
        /// Reasons added to every URL.
        #[arg(long, default_value = "")]
        reason: String,
        /// Queue each new referral for delivery at once.
        #[arg(long)]
        send: bool,
    },
    /// List referrals, newest first.
    List {
        /// Only in this status (draft, sent, acknowledged, removed, partially-removed,
        /// refused, expired).
        #[arg(long)]
        status: Option<String>,
        /// Most to list.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// A referral with its URLs, evidence, checks and time to removal (JSON).
    Show {
        /// Reference (`TD-2018-000001`) or id.
        reference: String,
    },
    /// Export a referral: text, json, eu-order-json, eu-order-html or dsa.
    Export {
        /// Reference or id.
        reference: String,
        /// The format.
        #[arg(long, default_value = "text")]
        format: String,
        /// Write here instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Queue a draft referral for delivery (`takedown check run` or the server delivers it).
    Send {
        /// Reference or id.
        reference: String,
    },
    /// Record the provider's answer (acknowledged, refused) or close a referral by hand.
    Mark {
        /// Reference or id.
        reference: String,
        /// The new status.
        status: String,
    },
    /// The messages sent for a referral, with their bodies (the evidence of what was sent).
    Messages {
        /// Reference or id.
        reference: String,
    },
}

/// Runs `takedown referral`.
pub fn run(args: ReferralArgs) -> anyhow::Result<ExitCode> {
    block_on(async move {
        let (referrals, caller) = open_workflow(&args.workflow, false).await?;
        match args.command {
            ReferralCommand::Create {
                provider,
                observations,
                note,
                reason,
                send,
            } => {
                let created = referrals
                    .create_referrals(
                        &caller,
                        CreateReferrals {
                            org: None,
                            provider,
                            observations: observations.into_iter().map(ObservationId).collect(),
                            note,
                            reason,
                        },
                    )
                    .await?;
                if send {
                    for referral in &created.referrals {
                        referrals.send(&caller, &referral.reference).await?;
                    }
                }
                print_json(&wire::created(&created));
            }
            ReferralCommand::List { status, limit } => {
                let status = status
                    .map(|text| text.parse::<ReferralStatus>())
                    .transpose()?;
                for referral in referrals.referrals(&caller, status, limit).await? {
                    print_json(&wire::referral(&referral));
                }
            }
            ReferralCommand::Show { reference } => {
                let text = referrals
                    .export(&caller, &reference, ExportFormat::Json)
                    .await?;
                println!("{text}");
            }
            ReferralCommand::Export {
                reference,
                format,
                output,
            } => {
                let format: ExportFormat = format.parse()?;
                let text = referrals.export(&caller, &reference, format).await?;
                match output {
                    Some(path) => std::fs::write(&path, text)
                        .with_context(|| format!("cannot write {}", path.display()))?,
                    None => println!("{text}"),
                }
            }
            ReferralCommand::Send { reference } => {
                let message = referrals.send(&caller, &reference).await?;
                print_json(&wire::message(&message, false));
            }
            ReferralCommand::Mark { reference, status } => {
                let status: ReferralStatus = status.parse()?;
                let referral = referrals.mark(&caller, &reference, status).await?;
                print_json(&wire::referral(&referral));
            }
            ReferralCommand::Messages { reference } => {
                let detail = referrals.referral_detail(&caller, &reference).await?;
                for message in &detail.messages {
                    print_json(&wire::message(message, true));
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// The referral workflow as `takedown serve` runs it: attached to the server's state, with a
/// background worker delivering queued referrals and running due checks from the store.
/// Dropping it stops the worker and, in the demo, the loopback hosting providers.
pub struct ServeReferrals {
    tasks: Vec<tokio::task::JoinHandle<()>>,
    _demo: Option<Arc<takedown_referrals::demo::DemoProviders>>,
}

impl Drop for ServeReferrals {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Attaches the workflow to `state` and starts its worker. Settings come from the file named
/// by `TAKEDOWN_REFERRALS_CONFIG` (defaults without one) and the server's fetch settings.
/// With `demo`, three loopback hosting providers, an SMTP sink and a JSON endpoint start
/// too, and once the index is loaded the demo URLs are submitted, confirmed, referred and
/// sent (in the background, so the server answers meanwhile); the first provider takes its
/// copies down after 30 s, so its referral goes from sent to removed within a minute. Prints
/// what to try on standard output.
pub async fn start_for_server(
    state: &takedown_server::AppState,
    demo: bool,
    base_url: &str,
) -> anyhow::Result<ServeReferrals> {
    use takedown_referrals::demo;
    let engine = state.engine().clone();
    let (fetch, config, providers) = if demo {
        let providers = demo::start_demo_providers(demo::DemoOptions::default())
            .await
            .context("cannot start the demo hosting providers")?;
        let (fetch, config) = demo::demo_settings(&providers);
        (fetch, config, Some(Arc::new(providers)))
    } else {
        let path = std::env::var_os("TAKEDOWN_REFERRALS_CONFIG").map(PathBuf::from);
        let config = load_referral_config(path.as_deref())?;
        (state.config().fetch.clone(), config, None)
    };
    let interval = config.worker_interval;
    let referrals = Referrals::new(engine, fetch, config)?;
    state.set_referrals(referrals.clone());
    let owner = format!(
        "serve-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    );
    let mut tasks = vec![referrals.spawn_worker(owner, interval)];
    if let Some(providers) = providers.clone() {
        let base_url = base_url.to_string();
        tasks.push(tokio::spawn(async move {
            match demo::seed_demo(&referrals, &providers).await {
                Ok(seeded) => {
                    println!(
                        "Referrals: {} sent to loopback hosting providers (e-mail to an SMTP \
                         sink on {}, JSON to {}). Demo Video Host takes its copies down after \
                         30 s and re-checks run every 10 s, so its referral moves from sent to \
                         removed within a minute:",
                        seeded.references.join(", "),
                        providers.smtp.address(),
                        providers.endpoint.url(),
                    );
                    println!(
                        "  curl -s -H 'Authorization: Bearer {}' {base_url}/api/v1/referrals",
                        takedown_engine::DEMO_ADMIN_TOKEN
                    );
                }
                Err(error) => eprintln!("takedown: cannot seed the referral demo: {error}"),
            }
        }));
    }
    Ok(ServeReferrals {
        tasks,
        _demo: providers,
    })
}
