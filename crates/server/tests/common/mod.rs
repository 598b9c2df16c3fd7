//! A real server on 127.0.0.1:0 over a fresh database, two organisations with tokens of each
//! role, and an HTTP client. Shared by the integration tests.
//!
//! `Backend::Sqlite` uses a file in a temporary directory. `Backend::Postgres` creates a fresh
//! database on the server named by `TAKEDOWN_TEST_POSTGRES_URL` (dropped afterwards, even when
//! the test panics); without that variable those tests print "skipped" and pass.

#![allow(dead_code)] // Each test binary uses a different part of the harness.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sqlx::Connection;
use takedown_corpus::{encode, generate, Format, Style};
use takedown_engine::{Caller, Engine};
use takedown_model::Role;
use takedown_server::{AppState, IndexLoading, RunningServer, ServerConfig};

pub const POSTGRES_URL_VARIABLE: &str = "TAKEDOWN_TEST_POSTGRES_URL";

/// Which database a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh database for one test.
pub struct TestDb {
    pub url: String,
    postgres: Option<(String, String)>,
    _directory: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => {
                let directory = tempfile::tempdir().expect("temporary directory");
                let url = directory
                    .path()
                    .join("takedown.sqlite")
                    .to_string_lossy()
                    .into_owned();
                Some(TestDb {
                    url,
                    postgres: None,
                    _directory: Some(directory),
                })
            }
            Backend::Postgres => {
                let Ok(server) = std::env::var(POSTGRES_URL_VARIABLE) else {
                    eprintln!("skipped: {POSTGRES_URL_VARIABLE} is not set");
                    return None;
                };
                static COUNTER: AtomicU64 = AtomicU64::new(0);
                let name = format!(
                    "takedown_server_test_{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::SeqCst),
                    rand::random::<u32>()
                );
                let mut admin = sqlx::PgConnection::connect(&server)
                    .await
                    .expect("connect to the PostgreSQL test server");
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                    .execute(&mut admin)
                    .await
                    .expect("create a test database");
                admin.close().await.ok();
                Some(TestDb {
                    url: with_database(&server, &name),
                    postgres: Some((server, name)),
                    _directory: None,
                })
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((server, name)) = self.postgres.take() else {
            return;
        };
        // A thread with its own runtime: Drop may run inside the test's runtime.
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&server).await {
                    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    if let Err(error) = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                        .execute(&mut admin)
                        .await
                    {
                        eprintln!("could not drop test database {name}: {error}");
                    }
                    admin.close().await.ok();
                }
            });
        });
        dropper.join().ok();
    }
}

fn with_database(server: &str, database: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (server, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let root = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{root}/{database}?{query}"),
        None => format!("{root}/{database}"),
    }
}

/// Tokens of the two test organisations.
pub struct Tokens {
    /// "Unit A": admin, curator, matcher.
    pub admin_a: String,
    pub curator_a: String,
    pub matcher_a: String,
    /// "Platform B": admin, matcher.
    pub admin_b: String,
    pub matcher_b: String,
}

pub const ORG_A: &str = "Unit A";
pub const ORG_B: &str = "Platform B";

/// A running server with its database, tokens and a client.
pub struct Harness {
    pub server: RunningServer,
    pub base: String,
    pub client: reqwest::Client,
    pub tokens: Tokens,
    pub db: TestDb,
}

/// A configuration for tests: loopback on a free port, the database given.
pub fn test_config(database: &str) -> ServerConfig {
    ServerConfig {
        bind: "127.0.0.1:0".parse().expect("address"),
        database: Some(database.to_string()),
        ..ServerConfig::default()
    }
}

pub fn client() -> reqwest::Client {
    // reqwest is built without a default TLS provider; these tests only speak plain HTTP on
    // loopback, but the client still wants one installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("http client")
}

async fn token(engine: &Engine, org: takedown_model::OrgId, role: Role, name: &str) -> String {
    engine
        .create_token(&Caller::cli(), Some(org), role, name, None)
        .await
        .expect("create token")
        .secret
}

impl Harness {
    /// A server over a fresh database with the index loaded, default configuration.
    pub async fn start(backend: Backend) -> Option<Harness> {
        Harness::start_with(backend, |_| {}, IndexLoading::Background).await
    }

    /// A server with a changed configuration and a choice of who loads the index.
    pub async fn start_with(
        backend: Backend,
        configure: impl FnOnce(&mut ServerConfig),
        loading: IndexLoading,
    ) -> Option<Harness> {
        let db = TestDb::new(backend).await?;
        let mut config = test_config(&db.url);
        configure(&mut config);
        let engine = takedown_server::open_engine(&config).await.expect("engine");
        let admin = Caller::cli();
        let unit = engine
            .create_organisation(&admin, ORG_A)
            .await
            .expect("org A");
        let platform = engine
            .create_organisation(&admin, ORG_B)
            .await
            .expect("org B");
        let tokens = Tokens {
            admin_a: token(&engine, unit.id, Role::Admin, "a admin").await,
            curator_a: token(&engine, unit.id, Role::Curator, "a curator").await,
            matcher_a: token(&engine, unit.id, Role::Matcher, "a matcher").await,
            admin_b: token(&engine, platform.id, Role::Admin, "b admin").await,
            matcher_b: token(&engine, platform.id, Role::Matcher, "b matcher").await,
        };
        let state = AppState::new(engine, config).expect("state");
        let server = takedown_server::start(state, loading)
            .await
            .expect("start server");
        let base = server.base_url();
        let harness = Harness {
            server,
            base,
            client: client(),
            tokens,
            db,
        };
        if loading == IndexLoading::Background {
            harness.wait_ready().await;
        }
        Some(harness)
    }

    pub fn engine(&self) -> &Arc<Engine> {
        self.server.state().engine()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Waits (at most 5 s) for `/status` to answer 200.
    pub async fn wait_ready(&self) {
        for _ in 0..500 {
            if self.engine().is_ready() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the index did not load within 5 s");
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        with_token(self.client.get(self.url(path)), token)
    }

    pub fn post(&self, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        with_token(self.client.post(self.url(path)), token)
    }

    pub fn put(&self, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        with_token(self.client.put(self.url(path)), token)
    }

    pub fn patch(&self, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        with_token(self.client.patch(self.url(path)), token)
    }

    pub fn delete(&self, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        with_token(self.client.delete(self.url(path)), token)
    }

    pub async fn finish(self) {
        self.server.shutdown().await.expect("clean shutdown");
    }
}

pub fn with_token(
    builder: reqwest::RequestBuilder,
    token: Option<&str>,
) -> reqwest::RequestBuilder {
    match token {
        Some(token) => builder.bearer_auth(token),
        None => builder,
    }
}

/// Sends a request and returns the status and the JSON body (Null when not JSON).
pub async fn send(builder: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
    let response = builder.send().await.expect("request sent");
    let status = response.status().as_u16();
    let text = response.text().await.expect("body");
    let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    (status, json)
}

/// A generated poster image as PNG, deterministic in `seed`.
pub fn poster_png(seed: u64) -> Vec<u8> {
    encode(&generate(Style::Poster, seed, 480, 360), Format::Png)
}

/// The same poster re-encoded as JPEG: a near-duplicate of [`poster_png`].
pub fn poster_jpeg(seed: u64, quality: u8) -> Vec<u8> {
    encode(
        &generate(Style::Poster, seed, 480, 360),
        Format::Jpeg { quality },
    )
}

/// A multipart form with one file under `field`.
pub fn file_form(field: &str, name: &str, bytes: Vec<u8>) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new().part(
        field.to_string(),
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
    )
}

/// Runs an async test body against SQLite and, when configured, PostgreSQL.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Postgres).await;
                }
            )*
        }
    };
}
