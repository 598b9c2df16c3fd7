//! `takedown demo`: write the demo data into a database without serving it.

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;
use takedown_engine::EngineConfig;

use crate::database::{block_on, open_engine, DatabaseArgs};

/// `takedown demo`
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// Where to write the query images (default: `demo-images` next to a SQLite database, or
    /// `takedown/demo-images` in the user's data directory for PostgreSQL, as `serve --demo`).
    #[arg(long)]
    images: Option<PathBuf>,
}

/// Where demo query images go for a database: the same place `takedown serve --demo` writes
/// them, so the two commands leave the same files behind.
pub fn images_dir_for(database: &str) -> PathBuf {
    takedown_server::demo::demo_images_dir(database)
}

/// Runs `takedown demo`.
pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let database = args.database.resolve()?;
    let images = args
        .images
        .clone()
        .unwrap_or_else(|| images_dir_for(&database));
    block_on(async move {
        let engine = open_engine(&database, EngineConfig::default()).await?;
        let summary = takedown_engine::load_demo(&engine, &images).await?;
        let impact = takedown_impact::load_demo_impact(
            engine.store().as_ref(),
            &takedown_model::Actor::Cli,
            None,
        )
        .await?;
        println!(
            "{}",
            json!({
                "created": summary.created,
                "banks": summary.banks.iter().map(|(name, items)| json!({"name": name, "items": items})).collect::<Vec<_>>(),
                "admin_token": takedown_engine::DEMO_ADMIN_TOKEN,
                "matcher_token": takedown_engine::DEMO_MATCHER_TOKEN,
                "impact": {"releases": impact.releases, "added": impact.added, "operation": takedown_impact::DEMO_OPERATION},
                "query_images": summary.query_images.iter().map(|(path, what)| json!({"path": path.display().to_string(), "what": what})).collect::<Vec<_>>(),
            })
        );
        Ok(ExitCode::SUCCESS)
    })
}
