//! Impact analyses at scale: an operation report over about a million releases, time to
//! removal and the transparency report over a million URL checks, and (with `--store DIR`)
//! the same report read back from a SQLite store after a one-transaction import.
//!
//! Prints one line per phase: wall time and peak resident memory of that phase (the peak is
//! reset between phases through `/proc/self/clear_refs`, so each figure is the phase's own).
//!
//! ```text
//! cargo run --release -p takedown-impact --example impact_bench -- [--store DIR]
//! ```

use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use takedown_analytics::UrlRecord;
use takedown_impact::demo::{self, DEMO_SEED};
use takedown_impact::log::new_for_analysis;
use takedown_impact::removal::{removal_section, RemovalInputs};
use takedown_impact::transparency::{build_transparency, ManualFigures, ReferralFacts};
use takedown_impact::{build_operation_report, render_html, to_json, ReportOptions};
use takedown_model::{Actor, Clock, ManualClock, Timestamp};
use takedown_store::{ImportOptions, OperationId, OperationRecord, ReleaseRow, Store};

/// Peak resident memory since the last reset, in MiB (`VmHWM`).
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Resets the peak to the current resident size (Linux 4.0+; a no-op elsewhere).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn phase<T>(name: &str, f: impl FnOnce() -> T) -> T {
    reset_peak();
    let start = Instant::now();
    let out = f();
    println!(
        "{name:<48} {:>8.2} s   peak RSS {:>7.0} MiB",
        start.elapsed().as_secs_f64(),
        peak_mib()
    );
    out
}

fn now() -> Timestamp {
    Utc.with_ymd_and_hms(2018, 7, 1, 9, 0, 0)
        .single()
        .expect("time")
}

fn operation_record() -> OperationRecord {
    let new = demo::operation();
    OperationRecord {
        id: OperationId(1),
        name: new.name,
        starts_at: new.starts_at,
        ends_at: new.ends_at,
        organisations: new.organisations,
        targets: new.targets,
        controls: new.controls,
        infrastructure: new.infrastructure,
        notes: new.notes,
        created_at: now(),
        updated_at: now(),
    }
}

/// `urls` referred URLs with four checks each (a million checks for 250,000 URLs): about
/// two thirds removed at a log-normal time, the rest still up at the last check.
fn url_records(urls: usize) -> (Vec<UrlRecord>, usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let providers = ["Files", "Videos", "Paste", "Social", "Archive", "Cloud"];
    let outlets = ["amaq", "al-bayan", "halumu", "nashir"];
    let t0 = Utc
        .with_ymd_and_hms(2018, 4, 1, 0, 0, 0)
        .single()
        .expect("time");
    let mut checks_total = 0;
    let records = (0..urls)
        .map(|i| {
            let referred = t0 + Duration::minutes(rng.gen_range(0..60 * 24 * 60));
            let removal_hours: f64 = (rng.gen::<f64>() * 5.0).exp();
            let removed = rng.gen::<f64>() < 0.66;
            let checks: Vec<(Timestamp, bool)> = [1_i64, 6, 24, 72]
                .iter()
                .map(|h| {
                    let live = !(removed && *h as f64 >= removal_hours);
                    (referred + Duration::hours(*h), live)
                })
                .collect();
            checks_total += checks.len();
            UrlRecord::from_checks(
                referred,
                &checks,
                providers[i % providers.len()],
                outlets[(i / 7) % outlets.len()],
                &format!("{}", 1 + i % 4),
            )
        })
        .collect();
    (records, checks_total)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let store_dir = std::env::args()
        .skip_while(|a| a != "--store")
        .nth(1)
        .map(std::path::PathBuf::from);
    let scale = 221.0;
    let log = phase("generate the scaled demo log", || {
        demo::scaled_release_log(DEMO_SEED, scale)
    });
    println!("releases: {}", log.len());
    let releases = phase("convert for analysis", || {
        log.iter().map(new_for_analysis).collect::<Vec<_>>()
    });
    let op = operation_record();
    let options = ReportOptions::new(now());
    let report = phase("operation report (every analysis, pure)", || {
        build_operation_report(&op, &releases, None, &options).expect("report")
    });
    let amaq = &report.findings[0];
    println!(
        "amaq: rate ratio {:.3} ({:.3} to {:.3}), model {:?}, changepoint {:?}, new channels {:?}",
        amaq.rate_ratio.unwrap_or(f64::NAN),
        amaq.ci_low.unwrap_or(f64::NAN),
        amaq.ci_high.unwrap_or(f64::NAN),
        amaq.model,
        amaq.changepoint_near_operation.as_ref().map(|c| c.date),
        amaq.new_channels
    );
    let (html, json) = phase("render HTML and JSON", || {
        (render_html(&report), to_json(&report).expect("json"))
    });
    println!(
        "html {} KiB, json {} KiB",
        html.len() / 1024,
        json.len() / 1024
    );
    drop(releases);

    let (urls, checks) = phase("summarise 1M checks into URL records", || {
        url_records(250_000)
    });
    println!("checks: {checks}, urls: {}", urls.len());
    let measured = now();
    let section = phase(
        "time to removal (KM overall, per provider/outlet/tier)",
        || {
            removal_section(Some(&RemovalInputs {
                measured_at: measured,
                urls: urls.clone(),
            }))
        },
    );
    println!("{}", section.note);
    let facts = ReferralFacts {
        measured_at: measured,
        urls_assessed: urls.len() as u64,
        referrals_sent: (urls.len() / 5) as u64,
        urls,
        removal_orders: Vec::new(),
    };
    phase("transparency report (pure)", || {
        build_transparency(
            measured - Duration::days(365),
            measured,
            Some(&facts),
            &ManualFigures::default(),
            measured,
        )
    });
    drop(facts);

    if let Some(dir) = store_dir {
        std::fs::create_dir_all(&dir).expect("directory");
        let path = dir.join("impact-bench.sqlite");
        let _ = std::fs::remove_file(&path);
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(now()));
        let store: Arc<dyn Store> = takedown_store::open(&path.to_string_lossy(), clock)
            .await
            .expect("store");
        let n = log.len();
        reset_peak();
        let start = Instant::now();
        let mut rows = log.into_iter().enumerate().map(|(i, release)| {
            Ok(ReleaseRow {
                line: i as u64 + 1,
                release,
            })
        });
        let summary = store
            .import_releases(
                &Actor::Cli,
                &mut rows,
                &ImportOptions {
                    progress_every: 100_000,
                    origin: "bench".into(),
                },
                &mut |_| {},
            )
            .await
            .expect("import");
        println!(
            "{:<48} {:>8.2} s   peak RSS {:>7.0} MiB   ({} of {n} added)",
            "SQLite: import the log (one transaction)",
            start.elapsed().as_secs_f64(),
            peak_mib(),
            summary.added
        );
        store
            .create_operation(&Actor::Cli, demo::operation())
            .await
            .expect("operation");
        reset_peak();
        let start = Instant::now();
        let stored = takedown_impact::operation_report(store.as_ref(), &op.name, &options)
            .await
            .expect("report");
        println!(
            "{:<48} {:>8.2} s   peak RSS {:>7.0} MiB   ({} releases loaded)",
            "SQLite: operation report (load + analyses)",
            start.elapsed().as_secs_f64(),
            peak_mib(),
            stored.inputs.releases_loaded
        );
    }
}
