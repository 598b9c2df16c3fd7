//! Which database the command line and the server use, and opening the engine over it.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use takedown_engine::{Engine, EngineConfig};
use takedown_model::SystemClock;

/// The database flag shared by every command that uses the store.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// A SQLite file path (created on first use) or a `postgres://` URL. Default: a SQLite
    /// file in the user's data directory.
    #[arg(long, env = "TAKEDOWN_DATABASE", global = true)]
    pub database: Option<String>,
}

impl DatabaseArgs {
    /// The database to open: the flag, or the default file.
    pub fn resolve(&self) -> anyhow::Result<String> {
        match &self.database {
            Some(database) => Ok(database.clone()),
            None => Ok(default_database()?.display().to_string()),
        }
    }
}

/// `takedown.sqlite` in the user's data directory (for example
/// `~/.local/share/takedown/takedown.sqlite` on Linux).
pub fn default_database() -> anyhow::Result<PathBuf> {
    let base = dirs::data_dir()
        .context("no data directory for this user; pass --database PATH or a postgres:// URL")?;
    Ok(base.join("takedown").join("takedown.sqlite"))
}

/// Opens (creating and migrating if needed) the store and an engine over it. The index is not
/// loaded: administrative commands do not need it.
pub async fn open_engine(database: &str, config: EngineConfig) -> anyhow::Result<Arc<Engine>> {
    let clock = Arc::new(SystemClock);
    let store = takedown_store::open(database, clock.clone())
        .await
        .with_context(|| format!("cannot open database {}", redact(database)))?;
    Ok(Engine::new(store, clock, config))
}

/// A database string safe to print: the password of a URL is hidden.
pub fn redact(database: &str) -> String {
    match url_password_span(database) {
        Some((start, end)) => format!("{}***{}", &database[..start], &database[end..]),
        None => database.to_string(),
    }
}

/// Byte span of the password in `scheme://user:password@host...`.
fn url_password_span(text: &str) -> Option<(usize, usize)> {
    let after_scheme = text.find("://")? + 3;
    let at = after_scheme + text[after_scheme..].find('@')?;
    let colon = after_scheme + text[after_scheme..at].find(':')?;
    Some((colon + 1, at))
}

/// Runs an async command body on a fresh runtime.
pub fn block_on<T>(
    future: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(future)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_not_printed() {
        assert_eq!(
            redact("postgres://takedown:s3cret@db:5432/takedown"),
            "postgres://takedown:***@db:5432/takedown"
        );
        assert_eq!(
            redact("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
        assert_eq!(redact("/tmp/x.sqlite"), "/tmp/x.sqlite");
    }
}
