//! Measures what the store must do fast: a bulk import of a large hash list (one transaction),
//! the same import again (every row unchanged), and streaming every active signal as the
//! index does at start.
//!
//! ```text
//! cargo run --release -p takedown-store --example store_bench -- [ROWS] [POSTGRES_URL]
//! ```
//!
//! ROWS defaults to 1 000 000. SQLite runs in a temporary file; PostgreSQL runs when a URL is
//! given (or `TAKEDOWN_TEST_POSTGRES_URL` is set), in a fresh database dropped afterwards.

use std::sync::Arc;
use std::time::Instant;

use futures_util::TryStreamExt;
use sqlx::Connection;
use takedown_model::{
    Actor, BankName, Clock, Labels, NewSignal, SignalType, SystemClock, Tier, Timestamp,
};
use takedown_store::{
    active_signals, ImportOptions, ImportRow, NewBank, NewContent, RowError, Store,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let rows: u64 = args.next().map_or(Ok(1_000_000), |a| a.parse())?;
    let postgres = args
        .next()
        .or_else(|| std::env::var("TAKEDOWN_TEST_POSTGRES_URL").ok());

    let directory = tempfile::tempdir()?;
    // TAKEDOWN_BENCH_SQLITE keeps the file for a look with the sqlite3 shell afterwards.
    let path = std::env::var_os("TAKEDOWN_BENCH_SQLITE").map_or_else(
        || directory.path().join("bench.db"),
        std::path::PathBuf::from,
    );
    println!("sqlite ({rows} rows)");
    bench(&path.to_string_lossy(), rows).await?;
    println!(
        "  file size {:.0} MiB",
        std::fs::metadata(&path)?.len() as f64 / (1024.0 * 1024.0)
    );

    if let Some(server) = postgres {
        let name = format!("takedown_bench_{}", std::process::id());
        let mut admin = sqlx::PgConnection::connect(&server).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut admin)
            .await?;
        let url = match server.rsplit_once('/') {
            Some((root, _)) => format!("{root}/{name}"),
            None => server.clone(),
        };
        println!("postgres ({rows} rows)");
        let result = bench(&url, rows).await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE \"{name}\" WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await?;
        result?;
    }
    Ok(())
}

/// CPU seconds this process has used (user + system), from `/proc/self/stat` where there is
/// one: on a shared machine, wall time mostly measures the neighbours. Clock ticks are taken
/// to be 1/100 s, Linux's usual `USER_HZ`.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) / 100.0)
}

/// Wall and (where known) in-process CPU time since `started`.
fn elapsed(started: (Instant, Option<f64>)) -> String {
    let wall = started.0.elapsed().as_secs_f64();
    match (started.1, cpu_seconds()) {
        (Some(before), Some(now)) => format!("{wall:.1} s wall, {:.1} s CPU here", now - before),
        _ => format!("{wall:.1} s"),
    }
}

fn start_timer() -> (Instant, Option<f64>) {
    (Instant::now(), cpu_seconds())
}

fn hash_list(rows: u64) -> impl Iterator<Item = Result<ImportRow, RowError>> + Send {
    (0..rows).map(|n| {
        // Spread the values like real hashes: the unique index sees random inserts.
        let mixed = n.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (n << 7);
        Ok(ImportRow {
            line: n + 2,
            content: NewContent {
                labels: Labels {
                    entity: Some("amaq".into()),
                    tier: Some(Tier::OfficialPropaganda),
                    ..Labels::default()
                },
                note: String::new(),
                source: "bench".into(),
                enabled: true,
                disabled_until: None,
                signals: vec![NewSignal {
                    signal_type: SignalType::Pdq,
                    algorithm_version: 1,
                    value: format!("{mixed:016x}{n:016x}{mixed:016x}{n:016x}"),
                    quality: Some(100),
                }],
            },
        })
    })
}

async fn import(
    store: &Arc<dyn Store>,
    bank: takedown_model::BankId,
    rows: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let started = start_timer();
    let mut last_report = Instant::now();
    let options = ImportOptions {
        progress_every: 100_000,
        origin: "bench.csv".into(),
    };
    let summary = store
        .import_content(
            &Actor::Cli,
            bank,
            &mut hash_list(rows),
            &options,
            &mut |progress| {
                if last_report.elapsed().as_secs() >= 5 {
                    println!("    ... {} rows", progress.rows);
                    last_report = Instant::now();
                }
            },
        )
        .await?;
    println!(
        "  import: {} ({} added, {} unchanged)",
        elapsed(started),
        summary.added,
        summary.unchanged
    );
    Ok(())
}

async fn bench(database: &str, rows: u64) -> Result<(), Box<dyn std::error::Error>> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = takedown_store::open(database, clock).await?;
    let org = store.create_organisation(&Actor::Cli, "Bench").await?;
    let bank = store
        .create_bank(
            &Actor::Cli,
            NewBank {
                name: BankName::new("BENCH")?,
                owner: org.id,
                description: String::new(),
                matching_enabled: true,
            },
        )
        .await?;
    import(&store, bank.id, rows).await?;
    import(&store, bank.id, rows).await?;

    let now: Timestamp = SystemClock.now();
    let started = start_timer();
    let mut count = 0u64;
    let mut stream = active_signals(store.clone(), now);
    while let Some(signal) = stream.try_next().await? {
        count += u64::from(signal.quality.unwrap_or(0) > 0);
    }
    println!(
        "  active-signal stream: {} ({count} signals)",
        elapsed(started)
    );
    let started = Instant::now();
    let verdict = store.verify_audit().await?;
    println!(
        "  audit verify: {:.3} s ({verdict:?})",
        started.elapsed().as_secs_f64()
    );
    store.close().await;
    Ok(())
}
