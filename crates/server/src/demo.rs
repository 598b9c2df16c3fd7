//! What `takedown serve --demo` prints: where the server is, the two demo tokens, and
//! copy-pasteable `curl` lines that print matches. The lines are built from [`DemoExample`]s
//! that tests send as real requests, so the printed commands are known to work.

use std::fmt;
use std::path::{Path, PathBuf};

use takedown_engine::{
    DemoSummary, DEMO_ADMIN_TOKEN, DEMO_MATCHER_TOKEN, DEMO_PLATFORM, DEMO_UNIT,
};

use crate::ServeError;

/// One request a newcomer can try.
#[derive(Debug, Clone)]
pub struct DemoExample {
    /// What it shows.
    pub what: String,
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Path and query, e.g. `/api/v1/banks`.
    pub path: String,
    /// The bearer token sent.
    pub token: &'static str,
    /// A file uploaded as the multipart field `file`, if any.
    pub upload: Option<PathBuf>,
    /// The same request as a `curl` command line.
    pub curl: String,
}

/// The demo's banner: URL, tokens, banks and examples.
#[derive(Debug, Clone)]
pub struct DemoGuide {
    /// The server's base URL.
    pub base_url: String,
    /// What the demo loader set up.
    pub summary: DemoSummary,
    /// Requests to try.
    pub examples: Vec<DemoExample>,
}

/// Where the demo's query images go: next to the SQLite file, or in the user's data directory
/// for PostgreSQL.
pub fn demo_images_dir(database: &str) -> PathBuf {
    let is_postgres = database.starts_with("postgres://") || database.starts_with("postgresql://");
    if !is_postgres {
        let path = Path::new(
            database
                .strip_prefix("sqlite://")
                .or_else(|| database.strip_prefix("sqlite:"))
                .unwrap_or(database),
        );
        if let Some(parent) = path.parent() {
            return parent.join("demo-images");
        }
    }
    dirs::data_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("takedown")
        .join("demo-images")
}

/// Quotes a string for a POSIX shell.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

fn curl(base_url: &str, method: &str, path: &str, token: &str, upload: Option<&Path>) -> String {
    let mut line = format!(
        "curl -s -H {}",
        shell_quote(&format!("Authorization: Bearer {token}"))
    );
    if let Some(file) = upload {
        line.push_str(&format!(
            " -F {}",
            shell_quote(&format!("file=@{}", file.display()))
        ));
    } else if method != "GET" {
        line.push_str(&format!(" -X {method}"));
    }
    line.push(' ');
    line.push_str(&shell_quote(&format!("{base_url}{path}")));
    line
}

/// Builds the guide: hashes one of the query images (a copy with a logo) to show a lookup by
/// hash finding its original at a small distance.
pub async fn demo_guide(base_url: &str, summary: DemoSummary) -> Result<DemoGuide, ServeError> {
    let upload = summary
        .query_images
        .first()
        .map(|(path, _)| path.clone())
        .ok_or_else(|| ServeError::Demo("the demo wrote no query images".into()))?;
    let by_hash = summary
        .query_images
        .get(1)
        .map(|(path, _)| path.clone())
        .unwrap_or_else(|| upload.clone());
    let bytes = tokio::fs::read(&by_hash)
        .await
        .map_err(|error| ServeError::Demo(format!("cannot read {}: {error}", by_hash.display())))?;
    let fingerprints = tokio::task::spawn_blocking(move || {
        takedown_hasher::fingerprint_bytes(&bytes, &takedown_hasher::HashOptions::default())
    })
    .await
    .map_err(|error| ServeError::Demo(error.to_string()))?
    .map_err(|error| ServeError::Demo(format!("cannot hash {}: {error}", by_hash.display())))?;
    let pdq = fingerprints
        .image()
        .map(|image| image.pdq.hash.to_hex())
        .ok_or_else(|| ServeError::Demo("the query image is not an image".into()))?;
    let describe = |path: &Path| {
        summary
            .query_images
            .iter()
            .find(|(image, _)| image == path)
            .map_or_else(String::new, |(_, what)| what.clone())
    };
    let mut examples = Vec::new();
    let mut add = |what: String,
                   method: &'static str,
                   path: String,
                   token: &'static str,
                   file: Option<PathBuf>| {
        let curl = curl(base_url, method, &path, token, file.as_deref());
        examples.push(DemoExample {
            what,
            method,
            path,
            token,
            upload: file,
            curl,
        });
    };
    add(
        format!(
            "Match an uploaded copy ({}) with the platform's matcher token",
            describe(&upload)
        ),
        "POST",
        "/api/v1/lookup/upload".to_string(),
        DEMO_MATCHER_TOKEN,
        Some(upload.clone()),
    );
    add(
        format!("Look up the PDQ hash of {}", describe(&by_hash)),
        "GET",
        format!("/api/v1/lookup?signal_type=pdq&value={pdq}"),
        DEMO_MATCHER_TOKEN,
        None,
    );
    add(
        "The same lookup through the HMA-compatible route".to_string(),
        "GET",
        format!("/m/lookup?signal_type=pdq&signal={pdq}"),
        DEMO_MATCHER_TOKEN,
        None,
    );
    add(
        "List the banks with the referral unit's admin token".to_string(),
        "GET",
        "/api/v1/banks".to_string(),
        DEMO_ADMIN_TOKEN,
        None,
    );
    Ok(DemoGuide {
        base_url: base_url.to_string(),
        summary,
        examples,
    })
}

impl fmt::Display for DemoGuide {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "takedown demo is serving at {}", self.base_url)?;
        writeln!(f)?;
        let banks: Vec<String> = self
            .summary
            .banks
            .iter()
            .map(|(name, items)| format!("{name} ({items} items)"))
            .collect();
        writeln!(
            f,
            "Banks of \"{DEMO_UNIT}\", shared with \"{DEMO_PLATFORM}\": {}",
            banks.join(", ")
        )?;
        writeln!(f, "Admin token ({DEMO_UNIT}):     {DEMO_ADMIN_TOKEN}")?;
        writeln!(
            f,
            "Matcher token ({DEMO_PLATFORM}):      {DEMO_MATCHER_TOKEN}"
        )?;
        writeln!(f)?;
        writeln!(f, "Query images (generated, never real propaganda):")?;
        for (path, what) in &self.summary.query_images {
            writeln!(f, "  {}  {what}", path.display())?;
        }
        writeln!(f)?;
        writeln!(f, "Try:")?;
        for example in &self.examples {
            writeln!(f, "  # {}", example.what)?;
            writeln!(f, "  {}", example.curl)?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "The demo tokens are public: keep a demo instance on this machine. Ctrl-C stops it."
        )
    }
}
