//! The test databases shared by the store's conformance suites (`conformance.rs`,
//! `conformance_referrals.rs`, `conformance_releases.rs`), each of which includes this file
//! with `mod testdb;`. It lives in a subdirectory so that cargo does not build it as a test
//! binary of its own.
//!
//! A [`TestDb`] is a fresh, empty database for one case: a SQLite file in a temporary
//! directory, or a PostgreSQL database created on the server named by
//! `TAKEDOWN_TEST_POSTGRES_URL` and dropped afterwards, so that cases run in parallel. The
//! [`conformance!`] macro turns each `async fn case(&TestDb)` of a suite into `sqlite::case`
//! and `postgres::case` tests, whose clocks start at the suite's own `start_time()`.

// Each test binary uses a subset of these items (only `conformance.rs` tampers with the
// database through `execute` and `drop_audit_triggers`, for one), and the others would warn.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sqlx::Connection;
use takedown_model::{Clock, ManualClock, Timestamp};
use takedown_store::{Backend, Store};

pub const POSTGRES_URL_VARIABLE: &str = "TAKEDOWN_TEST_POSTGRES_URL";

/// A fresh, empty database for one case, and the clock its stores use.
pub struct TestDb {
    pub backend: Backend,
    /// What `takedown_store::open` takes.
    pub url: String,
    pub clock: Arc<ManualClock>,
    /// PostgreSQL: the server's maintenance URL and the database to drop afterwards.
    postgres: Option<(String, String)>,
    _directory: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A SQLite file in a new temporary directory, with the clock at `start`.
    pub async fn sqlite(start: Timestamp) -> TestDb {
        let directory = tempfile::tempdir().expect("temporary directory");
        // A nested path: opening must create the parent directories.
        let path = directory.path().join("nested").join("takedown.db");
        TestDb {
            backend: Backend::Sqlite,
            url: path.to_string_lossy().into_owned(),
            clock: Arc::new(ManualClock::new(start)),
            postgres: None,
            _directory: Some(directory),
        }
    }

    /// A new database on the server named by `TAKEDOWN_TEST_POSTGRES_URL`, with the clock at
    /// `start`; `None` when that variable is not set.
    pub async fn postgres(start: Timestamp) -> Option<TestDb> {
        let server = std::env::var(POSTGRES_URL_VARIABLE).ok()?;
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "takedown_test_{}_{}_{}",
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
            backend: Backend::Postgres,
            url: with_database(&server, &name),
            clock: Arc::new(ManualClock::new(start)),
            postgres: Some((server, name)),
            _directory: None,
        })
    }

    pub async fn open(&self) -> Arc<dyn Store> {
        let clock: Arc<dyn Clock> = self.clock.clone();
        let store = takedown_store::open(&self.url, clock)
            .await
            .expect("open store");
        assert_eq!(store.backend(), self.backend);
        store
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Runs SQL directly, bypassing the store (to tamper with it).
    pub async fn execute(&self, sql: &str) {
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        match self.backend {
            Backend::Sqlite => {
                let mut connection =
                    sqlx::SqliteConnection::connect(&format!("sqlite://{}", self.url))
                        .await
                        .expect("connect");
                sqlx::raw_sql(sql)
                    .execute(&mut connection)
                    .await
                    .expect("raw SQL");
                connection.close().await.ok();
            }
            Backend::Postgres => {
                let mut connection = sqlx::PgConnection::connect(&self.url)
                    .await
                    .expect("connect");
                sqlx::raw_sql(sql)
                    .execute(&mut connection)
                    .await
                    .expect("raw SQL");
                connection.close().await.ok();
            }
        }
    }

    /// Drops the triggers that refuse edits of the audit log, as an attacker with database
    /// access could.
    pub async fn drop_audit_triggers(&self) {
        match self.backend {
            Backend::Sqlite => {
                self.execute("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete")
                    .await
            }
            Backend::Postgres => {
                self.execute("DROP TRIGGER audit_log_append_only ON audit_log")
                    .await
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Runs even when the case panicked, so failed runs do not leave databases behind.
        let Some((server, name)) = self.postgres.take() else {
            return;
        };
        // Drop the database from a separate thread with its own runtime: this runs inside the
        // test's runtime, which cannot block on itself.
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

/// `server` with its database name replaced by `database`.
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

/// Turns each `async fn case(&TestDb)` named into the tests `sqlite::case` and
/// `postgres::case`, each on a fresh database whose clock starts at the suite's
/// `start_time()`. Without `TAKEDOWN_TEST_POSTGRES_URL` the PostgreSQL tests print
/// `skipped: TAKEDOWN_TEST_POSTGRES_URL is not set` and pass.
macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let db = $crate::testdb::TestDb::sqlite(super::start_time()).await;
                    super::$case(&db).await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(db) =
                        $crate::testdb::TestDb::postgres(super::start_time()).await
                    else {
                        println!(
                            "skipped: {} is not set",
                            $crate::testdb::POSTGRES_URL_VARIABLE
                        );
                        return;
                    };
                    super::$case(&db).await;
                }
            )*
        }
    };
}

pub(crate) use conformance;
