//! `takedown serve`: the HTTP service (HMA-compatible routes and `/api/v1`).
//!
//! Configuration comes from a TOML file (`--config`), then `TAKEDOWN_*` environment variables,
//! then these flags, each overriding the one before (see README, "The server"). The server
//! listens at once and loads the matching index in the background (`/status` answers 503 until
//! it is loaded); SIGINT or SIGTERM stop it gracefully.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use takedown_server::config::{ByteSize, LogFormat, ServerConfig};
use takedown_server::{AppState, IndexLoading};

/// Arguments of `takedown serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// TOML configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDRESS")]
    pub bind: Option<SocketAddr>,
    /// A SQLite file path or a `postgres://` URL [default: takedown.sqlite in the user's data
    /// directory].
    #[arg(long, value_name = "DATABASE")]
    pub database: Option<String>,
    /// Largest upload, e.g. `50MB` [default: 50MB].
    #[arg(long, value_name = "SIZE")]
    pub upload_limit: Option<ByteSize>,
    /// Whether HMA-compatible routes need a bearer token [default: true]. `false` lets
    /// clients on a trusted network hash and match without one.
    #[arg(long, value_name = "BOOL")]
    pub hma_require_auth: Option<bool>,
    /// Largest PDQ distance that matches [default: 31].
    #[arg(long, value_name = "BITS")]
    pub match_radius: Option<u32>,
    /// Allow hashing by URL from this special-purpose block (repeatable), e.g. `127.0.0.0/8`.
    /// Cloud metadata addresses stay refused.
    #[arg(long = "fetch-allow", value_name = "CIDR")]
    pub fetch_allow: Vec<takedown_fetch::IpCidr>,
    /// Log format [default: text].
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormatArg>,
    /// Load the demo data (generated images, well-known tokens) before serving and print how
    /// to try it. Only on a loopback address: the demo tokens are public.
    #[arg(long)]
    pub demo: bool,
}

/// `--log-format` values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogFormatArg {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl ServeArgs {
    /// The configuration: file, then environment, then these flags.
    fn configuration(&self) -> anyhow::Result<ServerConfig> {
        let mut config =
            ServerConfig::load(self.config.as_deref(), &|name| std::env::var(name).ok())?;
        if let Some(bind) = self.bind {
            config.bind = bind;
        }
        if let Some(database) = &self.database {
            config.database = Some(database.clone());
        }
        if let Some(limit) = self.upload_limit {
            config.upload_limit = limit;
        }
        if let Some(require) = self.hma_require_auth {
            config.hma.require_auth = require;
        }
        if let Some(radius) = self.match_radius {
            config.matching.radius = radius;
        }
        if !self.fetch_allow.is_empty() {
            config.fetch.allowlist = self.fetch_allow.clone();
        }
        if let Some(format) = self.log_format {
            config.log.format = match format {
                LogFormatArg::Text => LogFormat::Text,
                LogFormatArg::Json => LogFormat::Json,
            };
        }
        config.validate().map_err(anyhow::Error::msg)?;
        Ok(config)
    }
}

fn init_logging(config: &ServerConfig) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log.filter)
        .with_context(|| format!("log filter {:?}", config.log.filter))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match config.log.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    result.map_err(|error| anyhow::anyhow!("cannot set up logging: {error}"))
}

/// Runs `takedown serve`.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = args.configuration()?;
    if args.demo && !config.bind.ip().is_loopback() {
        anyhow::bail!(
            "--demo serves well-known tokens: bind it to a loopback address (not {})",
            config.bind
        );
    }
    init_logging(&config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(config, args.demo))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(config: ServerConfig, demo: bool) -> anyhow::Result<()> {
    let database = config.database_or_default()?;
    let engine = takedown_server::open_engine(&config).await?;
    let summary = if demo {
        let images = takedown_server::demo::demo_images_dir(&database);
        Some(
            takedown_engine::load_demo(&engine, &images)
                .await
                .context("cannot load the demo data")?,
        )
    } else {
        None
    };
    if demo {
        // The impact demo: a release log and the operation amaq-2018-04 to report on.
        takedown_impact::load_demo_impact(
            engine.store().as_ref(),
            &takedown_model::Actor::Cli,
            None,
        )
        .await
        .context("cannot load the impact demo data")?;
    }
    let state = AppState::new(engine, config)?;
    let server = takedown_server::start(state, IndexLoading::Background).await?;
    if let Some(summary) = summary {
        let guide = takedown_server::demo::demo_guide(&server.base_url(), summary).await?;
        println!("{guide}");
    } else {
        eprintln!("takedown: serving on {}", server.base_url());
    }
    server
        .run_until(takedown_server::shutdown_signal())
        .await
        .context("server failed")?;
    Ok(())
}
