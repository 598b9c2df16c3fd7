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
        self.configuration_with(&|name| std::env::var(name).ok())
    }

    /// [`ServeArgs::configuration`] with the environment read through `lookup` (a map in
    /// tests, so they never touch the process environment).
    fn configuration_with(
        &self,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<ServerConfig> {
        let mut config = ServerConfig::load(self.config.as_deref(), lookup)?;
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
    let _referrals =
        super::referral::start_for_server(server.state(), demo, &server.base_url()).await?;
    server
        .run_until(takedown_server::shutdown_signal())
        .await
        .context("server failed")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn no_flags(config: Option<PathBuf>) -> ServeArgs {
        ServeArgs {
            config,
            bind: None,
            database: None,
            upload_limit: None,
            hma_require_auth: None,
            match_radius: None,
            fetch_allow: Vec::new(),
            log_format: None,
            demo: false,
        }
    }

    /// Each source overrides the one before: file, then `TAKEDOWN_*`, then flags; a setting
    /// given only by an earlier source survives.
    #[test]
    fn flags_override_environment_which_overrides_the_file() {
        let directory = tempfile::tempdir().expect("temporary directory");
        let file = directory.path().join("takedown.toml");
        std::fs::write(
            &file,
            "bind = \"127.0.0.1:9000\"\nupload_limit = \"10MB\"\ndatabase = \"file.sqlite\"\n\
             [hma]\nrequire_auth = true\n[matching]\nradius = 10\n",
        )
        .expect("write the file");
        let environment: HashMap<&str, &str> = [
            ("TAKEDOWN_BIND", "127.0.0.1:9001"),
            ("TAKEDOWN_DATABASE", "environment.sqlite"),
            ("TAKEDOWN_HMA_REQUIRE_AUTH", "false"),
        ]
        .into_iter()
        .collect();
        let lookup = |name: &str| environment.get(name).map(|value| value.to_string());

        let from_file_and_environment = no_flags(Some(file.clone()))
            .configuration_with(&lookup)
            .expect("valid");
        assert_eq!(from_file_and_environment.bind.port(), 9001);
        assert_eq!(
            from_file_and_environment.database.as_deref(),
            Some("environment.sqlite")
        );
        assert!(!from_file_and_environment.hma.require_auth);
        assert_eq!(from_file_and_environment.upload_limit.bytes(), 10_000_000);
        assert_eq!(from_file_and_environment.matching.radius, 10);

        let mut flags = no_flags(Some(file));
        flags.bind = Some("127.0.0.1:9002".parse().expect("address"));
        flags.database = Some("flag.sqlite".into());
        flags.hma_require_auth = Some(true);
        let config = flags.configuration_with(&lookup).expect("valid");
        assert_eq!(config.bind.port(), 9002);
        assert_eq!(config.database.as_deref(), Some("flag.sqlite"));
        assert!(config.hma.require_auth);
        assert_eq!(config.upload_limit.bytes(), 10_000_000);
        assert_eq!(config.matching.radius, 10);
    }

    /// Without file, environment or flags: the documented defaults.
    #[test]
    fn defaults_without_any_source() {
        let config = no_flags(None)
            .configuration_with(&|_| None)
            .expect("defaults");
        assert_eq!(config.bind, "127.0.0.1:8080".parse().expect("address"));
        assert_eq!(config.database, None);
        assert_eq!(config.upload_limit.bytes(), 50_000_000);
        assert!(config.hma.require_auth);
    }

    /// A flag that makes the configuration invalid is refused like a bad file value.
    #[test]
    fn an_invalid_flag_is_refused() {
        let mut flags = no_flags(None);
        flags.match_radius = Some(300);
        let error = flags.configuration_with(&|_| None).unwrap_err();
        assert!(error.to_string().contains("matching.radius"), "{error}");
    }
}
