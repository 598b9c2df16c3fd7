//! Release logs and reports through a real store (SQLite in a temporary directory): importing
//! files all-or-nothing and idempotently, recording observed releases, loading the demo, and
//! the report read back from the store agreeing with the report built from the generator.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use takedown_exchange::HashListFormat;
use takedown_impact::demo::{self, DEMO_OPERATION, DEMO_SEED};
use takedown_impact::log::new_for_analysis;
use takedown_impact::{
    build_operation_report, import_release_log, load_demo_impact, operation_report,
    record_release_from_observation, ImpactError, ObservedRelease, ReportOptions,
};
use takedown_model::{Actor, Clock, ManualClock, SignalType, Timestamp};
use takedown_store::{ReleaseMedium, ReleaseQuery, Store, StoreError};

fn now() -> Timestamp {
    Utc.with_ymd_and_hms(2018, 7, 1, 9, 0, 0)
        .single()
        .expect("time")
}

async fn store(dir: &tempfile::TempDir) -> Arc<dyn Store> {
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(now()));
    takedown_store::open(&dir.path().join("t.db").to_string_lossy(), clock)
        .await
        .expect("open")
}

fn demo_csv() -> Vec<u8> {
    let mut out = Vec::new();
    takedown_impact::log::write_release_file(
        &mut out,
        HashListFormat::Csv,
        &demo::release_log(DEMO_SEED),
    )
    .expect("write");
    out
}

async fn count(store: &Arc<dyn Store>) -> u64 {
    store
        .release_count(&ReleaseQuery::default())
        .await
        .expect("count")
}

#[tokio::test]
async fn csv_import_is_all_or_nothing_and_idempotent() {
    let dir = tempfile::tempdir().expect("dir");
    let store = store(&dir).await;
    let csv = demo_csv();
    let expected = demo::release_log(DEMO_SEED).len() as u64;
    // A bad row at line 5 of the file: nothing is kept, the error names the line and field.
    let text = String::from_utf8(csv.clone()).expect("utf-8");
    let broken: String = text
        .lines()
        .enumerate()
        .map(|(i, line)| {
            if i == 4 {
                line.replacen("2018-", "2018/", 1)
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let error = import_release_log(
        store.as_ref(),
        &Actor::Cli,
        broken.as_bytes(),
        HashListFormat::Csv,
        "broken.csv",
        &mut |_| {},
    )
    .await
    .expect_err("bad row");
    match error {
        ImpactError::Store(StoreError::BadRow(row)) => {
            assert_eq!(row.line, 5);
            assert!(row.message.contains("published_at"), "{row}");
        }
        other => panic!("expected a bad row, got {other}"),
    }
    assert_eq!(count(&store).await, 0);

    let summary = import_release_log(
        store.as_ref(),
        &Actor::Cli,
        csv.as_slice(),
        HashListFormat::Csv,
        "demo.csv",
        &mut |_| {},
    )
    .await
    .expect("import");
    assert_eq!((summary.rows, summary.added), (expected, expected));
    let again = import_release_log(
        store.as_ref(),
        &Actor::Cli,
        csv.as_slice(),
        HashListFormat::Csv,
        "demo.csv",
        &mut |_| {},
    )
    .await
    .expect("re-import");
    assert_eq!((again.added, again.unchanged), (0, expected));
    assert_eq!(count(&store).await, expected);
    // Fingerprints survive the trip.
    let videos = store
        .releases(&ReleaseQuery {
            outlets: vec!["amaq".into()],
            medium: Some(ReleaseMedium::Video),
            limit: 1,
            ..ReleaseQuery::default()
        })
        .await
        .expect("videos");
    assert_eq!(videos.items[0].fingerprints[0].signal_type, SignalType::Md5);
}

#[tokio::test]
async fn observed_releases_are_recorded_once() {
    let dir = tempfile::tempdir().expect("dir");
    let store = store(&dir).await;
    let observed = ObservedRelease {
        outlet: "Amaq".into(),
        published_at: now(),
        medium: ReleaseMedium::Video,
        language: "ar".into(),
        channel: "msg:amaq-relay".into(),
        title: "Video 9".into(),
        fingerprints: vec![(SignalType::Md5, "c".repeat(32))],
        observation_id: 42,
    };
    let (record, fresh) =
        record_release_from_observation(store.as_ref(), &Actor::System, observed.clone())
            .await
            .expect("record");
    assert!(fresh);
    assert_eq!(record.origin, "observation:42");
    assert_eq!(record.outlet, "amaq");
    let (again, fresh) = record_release_from_observation(
        store.as_ref(),
        &Actor::System,
        ObservedRelease {
            observation_id: 43,
            ..observed
        },
    )
    .await
    .expect("record again");
    assert!(!fresh);
    assert_eq!(again.id, record.id);
    assert_eq!(count(&store).await, 1);
}

#[tokio::test]
async fn demo_loads_once_and_the_stored_report_matches_the_generated_one() {
    let dir = tempfile::tempdir().expect("dir");
    let store = store(&dir).await;
    let first = load_demo_impact(store.as_ref(), &Actor::System, None)
        .await
        .expect("load");
    assert!(first.operation_created);
    assert_eq!(first.added, first.releases);
    let second = load_demo_impact(store.as_ref(), &Actor::System, None)
        .await
        .expect("reload");
    assert!(!second.operation_created);
    assert_eq!(second.added, 0);

    let options = ReportOptions::new(now());
    let from_store = operation_report(store.as_ref(), DEMO_OPERATION, &options)
        .await
        .expect("report");
    let op = store
        .operation_by_name(DEMO_OPERATION)
        .await
        .expect("operation");
    let log: Vec<_> = demo::release_log(DEMO_SEED)
        .iter()
        .map(new_for_analysis)
        .collect();
    let generated = build_operation_report(&op, &log, None, &options).expect("report");
    assert_eq!(from_store.impact, generated.impact);
    assert_eq!(from_store.findings, generated.findings);
    assert_eq!(from_store.controls, generated.controls);
    // Only the operation's outlets were read from the store.
    assert!(from_store
        .inputs
        .releases_per_outlet
        .iter()
        .all(|(o, _)| o != "nashir"));
    assert!(matches!(
        operation_report(store.as_ref(), "no-such-operation", &options).await,
        Err(ImpactError::Store(StoreError::NotFound(_)))
    ));
}
