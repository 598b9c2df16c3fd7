//! Conformance of the release-log and operation tables ([`ReleaseStore`]), run against both
//! backends exactly like `conformance.rs`: every case is an `async fn(&TestDb)` written once;
//! the `conformance!` macro of `testdb/mod.rs`, invoked at the bottom, turns each into
//! `sqlite::<case>` (a fresh file in a temporary directory) and `postgres::<case>` (a fresh
//! database on the server named by `TAKEDOWN_TEST_POSTGRES_URL`, dropped afterwards). Without
//! that variable the PostgreSQL cases print `skipped: TAKEDOWN_TEST_POSTGRES_URL is not set`
//! and pass.

mod testdb;

use std::sync::Arc;

use chrono::Duration;
use takedown_model::{Actor, Clock, OrgId, SignalType, Timestamp, TokenId};
use takedown_store::{
    AuditQuery, AuditVerification, ImportOptions, ImportProgress, Infrastructure,
    InfrastructureKind, NewOperation, NewRelease, ReleaseFingerprint, ReleaseMedium, ReleaseQuery,
    ReleaseRecord, ReleaseRow, RowError, Store, StoreError,
};

use testdb::{conformance, TestDb};

const CLI: Actor = Actor::Cli;

// -------------------------------------------------------------------------------------------
// Test databases (`testdb/mod.rs`)

/// Where every case's clock starts.
fn start_time() -> Timestamp {
    // 2018-05-03, a week after the April 2018 action, with sub-second digits.
    chrono::DateTime::from_timestamp(1_525_348_800, 654_321_000).expect("valid time")
}

// -------------------------------------------------------------------------------------------
// Helpers

fn april(day: u32, hour: u32) -> Timestamp {
    chrono::NaiveDate::from_ymd_opt(2018, 4, day)
        .and_then(|d| d.and_hms_opt(hour, 0, 0))
        .expect("valid date")
        .and_utc()
}

/// Release `n`: four outlets in turn, one every 37 minutes from 1 April 2018.
fn release(n: u64) -> NewRelease {
    let outlets = ["amaq", "al-bayan", "halumu", "nashir"];
    NewRelease {
        outlet: outlets[(n % 4) as usize].into(),
        published_at: april(1, 0) + Duration::minutes(37 * n as i64),
        medium: ReleaseMedium::ALL[(n % 3) as usize],
        language: if n.is_multiple_of(2) { "ar" } else { "en" }.into(),
        channel: format!("channel-{}", n % 5),
        title: format!("Statement {n}"),
        fingerprints: Vec::new(),
        origin: "test.csv".into(),
    }
}

fn rows(range: std::ops::Range<u64>) -> Vec<Result<ReleaseRow, RowError>> {
    range
        .map(|n| {
            Ok(ReleaseRow {
                // The file's header is line 1.
                line: n + 2,
                release: release(n),
            })
        })
        .collect()
}

async fn import(
    store: &Arc<dyn Store>,
    input: Vec<Result<ReleaseRow, RowError>>,
) -> Result<(takedown_store::ImportSummary, Vec<ImportProgress>), StoreError> {
    let mut seen = Vec::new();
    let mut iter = input.into_iter();
    let options = ImportOptions {
        progress_every: 1_000,
        origin: "test.csv".into(),
    };
    let summary = store
        .import_releases(&CLI, &mut iter, &options, &mut |p| seen.push(p))
        .await?;
    Ok((summary, seen))
}

async fn audit_count(store: &Arc<dyn Store>) -> usize {
    let mut count = 0;
    let mut after = None;
    loop {
        let page = store
            .audit_entries(&AuditQuery {
                org: None,
                after,
                limit: 10_000,
            })
            .await
            .expect("audit entries");
        if page.is_empty() {
            return count;
        }
        count += page.len();
        after = page.last().map(|e| e.sequence);
    }
}

async fn all(store: &Arc<dyn Store>, mut query: ReleaseQuery) -> Vec<ReleaseRecord> {
    let mut out = Vec::new();
    loop {
        let page = store.releases(&query).await.expect("releases");
        out.extend(page.items);
        match page.next {
            Some(next) => query.after = Some(next),
            None => return out,
        }
    }
}

fn operation(name: &str) -> NewOperation {
    NewOperation {
        name: name.into(),
        starts_at: april(25, 0),
        ends_at: april(26, 23),
        organisations: vec!["Europol".into(), "Belgian Federal Police".into()],
        targets: vec!["Amaq".into(), "al-bayan".into()],
        controls: vec!["halumu".into()],
        infrastructure: vec![
            Infrastructure {
                kind: InfrastructureKind::Server,
                value: "servers in three countries".into(),
            },
            Infrastructure {
                kind: InfrastructureKind::Domain,
                value: "example.invalid".into(),
            },
        ],
        notes: "Action day against the outlets' infrastructure.".into(),
    }
}

// -------------------------------------------------------------------------------------------
// Cases

async fn import_then_reimport_changes_nothing(db: &TestDb) {
    let store = db.open().await;
    let before = audit_count(&store).await;
    let mut input = rows(0..5_000);
    // A row repeated inside the file is one release.
    input.push(Ok(ReleaseRow {
        line: 5_002,
        release: release(17),
    }));
    let (summary, progress) = import(&store, input).await.expect("import");
    assert_eq!(
        (summary.rows, summary.added, summary.unchanged),
        (5_001, 5_000, 1)
    );
    assert_eq!(progress.last().map(|p| p.rows), Some(5_001));
    assert!(
        progress.len() >= 5,
        "progress every 1000 rows: {progress:?}"
    );
    assert_eq!(audit_count(&store).await, before + 1);
    let count = store
        .release_count(&ReleaseQuery::default())
        .await
        .expect("count");
    assert_eq!(count, 5_000);

    let (again, _) = import(&store, rows(0..5_000)).await.expect("re-import");
    assert_eq!((again.added, again.unchanged), (0, 5_000));
    let count = store
        .release_count(&ReleaseQuery::default())
        .await
        .expect("count");
    assert_eq!(count, 5_000);
    // The same release with different origin and an added fingerprint is still the same one.
    let mut same = release(3);
    same.origin = "other.jsonl".into();
    same.fingerprints.push(ReleaseFingerprint {
        signal_type: SignalType::Md5,
        value: "0".repeat(32),
    });
    let (_, more) = import(
        &store,
        vec![Ok(ReleaseRow {
            line: 2,
            release: same,
        })],
    )
    .await
    .expect("import");
    assert_eq!(more.last().map(|p| p.added), Some(0));
}

async fn import_bad_row_rolls_back_everything_and_names_its_line(db: &TestDb) {
    let store = db.open().await;
    import(&store, rows(0..10)).await.expect("seed");
    let entries = audit_count(&store).await;

    // A row the parser rejected, after more than one batch was written.
    let mut input = rows(100..3_100);
    input[2_345] = Err(RowError {
        line: 2_447,
        message: "published_at: \"yesterday\" is not a time".into(),
    });
    match import(&store, input).await {
        Err(StoreError::BadRow(error)) => {
            assert_eq!(error.line, 2_447);
            assert!(error.to_string().starts_with("line 2447: published_at"));
        }
        other => panic!("expected a bad row, got {other:?}"),
    }
    // A row the store rejects (no channel).
    let mut input = rows(100..3_100);
    if let Ok(row) = &mut input[1_500] {
        row.release.channel = "  ".into();
    }
    match import(&store, input).await {
        Err(StoreError::BadRow(error)) => {
            assert_eq!(error.line, 1_602);
            assert!(error.message.contains("channel"), "{error}");
        }
        other => panic!("expected a bad row, got {other:?}"),
    }
    let count = store
        .release_count(&ReleaseQuery::default())
        .await
        .expect("count");
    assert_eq!(count, 10);
    assert_eq!(audit_count(&store).await, entries);
    // Nothing is left behind that would make the good rows "unchanged" next time.
    let (summary, _) = import(&store, rows(100..3_100)).await.expect("import");
    assert_eq!(summary.added, 3_000);
}

async fn releases_round_trip_at_microsecond_precision(db: &TestDb) {
    let store = db.open().await;
    let mut new = release(1);
    new.outlet = "  Al-Bayan ".into();
    new.published_at = april(27, 9) + Duration::nanoseconds(123_456_789);
    new.language = "AR".into();
    new.title = "Bulletin 1 — \u{627}\u{644}\u{628}\u{64a}\u{627}\u{646}".into();
    new.fingerprints = vec![
        ReleaseFingerprint {
            signal_type: SignalType::Sha256,
            value: "a".repeat(64),
        },
        ReleaseFingerprint {
            signal_type: SignalType::Md5,
            value: "b".repeat(32),
        },
    ];
    let (created, fresh) = store.add_release(&CLI, new.clone()).await.expect("add");
    assert!(fresh);
    assert_eq!(created.outlet, "al-bayan");
    assert_eq!(created.language, "ar");
    assert_eq!(created.published_at.timestamp_subsec_nanos(), 123_456_000);
    assert_eq!(created.fingerprints[0].signal_type, SignalType::Md5);
    assert_eq!(
        created.created_at,
        db.clock.now().with_nanosecond_truncated()
    );
    let read = all(
        &store,
        ReleaseQuery {
            outlets: vec!["AL-BAYAN".into()],
            ..ReleaseQuery::default()
        },
    )
    .await;
    assert_eq!(read, vec![created.clone()]);
    // Recording it again (a second confirmed observation of the same release) finds it.
    let (again, fresh) = store.add_release(&CLI, new).await.expect("add again");
    assert!(!fresh);
    assert_eq!(again, created);
}

trait Truncate {
    fn with_nanosecond_truncated(self) -> Timestamp;
}

impl Truncate for Timestamp {
    fn with_nanosecond_truncated(self) -> Timestamp {
        chrono::DateTime::from_timestamp_micros(self.timestamp_micros()).expect("in range")
    }
}

async fn queries_filter_and_page_in_time_order(db: &TestDb) {
    let store = db.open().await;
    import(&store, rows(0..2_000)).await.expect("import");
    // Every release, in pages of 333, in (time, id) order.
    let everything = all(
        &store,
        ReleaseQuery {
            limit: 333,
            ..ReleaseQuery::default()
        },
    )
    .await;
    assert_eq!(everything.len(), 2_000);
    assert!(everything
        .windows(2)
        .all(|p| (p[0].published_at, p[0].id) < (p[1].published_at, p[1].id)));
    // Filters: outlets, time range, channel, medium.
    let query = ReleaseQuery {
        outlets: vec!["amaq".into(), "halumu".into()],
        from: Some(april(10, 0)),
        until: Some(april(20, 0)),
        channel: Some("channel-2".into()),
        medium: Some(ReleaseMedium::Image),
        limit: 7,
        ..ReleaseQuery::default()
    };
    let expected: Vec<&ReleaseRecord> = everything
        .iter()
        .filter(|r| {
            (r.outlet == "amaq" || r.outlet == "halumu")
                && r.published_at >= april(10, 0)
                && r.published_at < april(20, 0)
                && r.channel == "channel-2"
                && r.medium == ReleaseMedium::Image
        })
        .collect();
    assert!(expected.len() > 7, "the filter should span several pages");
    let found = all(&store, query.clone()).await;
    assert_eq!(found.iter().collect::<Vec<_>>(), expected);
    let count = store.release_count(&query).await.expect("count");
    assert_eq!(count, expected.len() as u64);
    // Outlet summaries.
    let outlets = store.release_outlets().await.expect("outlets");
    assert_eq!(
        outlets
            .iter()
            .map(|o| o.outlet.as_str())
            .collect::<Vec<_>>(),
        ["al-bayan", "amaq", "halumu", "nashir"]
    );
    assert_eq!(outlets.iter().map(|o| o.releases).sum::<u64>(), 2_000);
    let amaq = &outlets[1];
    assert_eq!(amaq.first, april(1, 0));
    assert_eq!(amaq.channels, 5);
}

async fn operations_crud_conflicts_and_validation(db: &TestDb) {
    let store = db.open().await;
    let created = store
        .create_operation(&CLI, operation("amaq-2018-04"))
        .await
        .expect("create");
    assert_eq!(created.targets, ["amaq", "al-bayan"]);
    assert_eq!(created.controls, ["halumu"]);
    assert_eq!(created.infrastructure.len(), 2);
    assert_eq!(
        store
            .operation_by_name("amaq-2018-04")
            .await
            .expect("by name"),
        created
    );
    match store
        .create_operation(&CLI, operation("amaq-2018-04"))
        .await
    {
        Err(StoreError::Conflict(message)) => assert!(message.contains("amaq-2018-04")),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let mut earlier = operation("telegram-2018-10");
    earlier.starts_at = april(2, 0);
    earlier.ends_at = april(2, 0);
    let earlier = store.create_operation(&CLI, earlier).await.expect("create");
    let list = store.list_operations().await.expect("list");
    assert_eq!(
        list.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(),
        ["telegram-2018-10", "amaq-2018-04"]
    );
    // Invalid operations.
    for (bad, what) in [
        (
            NewOperation {
                ends_at: april(24, 0),
                ..operation("x")
            },
            "ends before",
        ),
        (
            NewOperation {
                controls: vec!["AMAQ".into()],
                ..operation("x")
            },
            "both a target and a control",
        ),
        (
            NewOperation {
                targets: vec![],
                ..operation("x")
            },
            "at least one",
        ),
        (operation("Has Spaces"), "operation name"),
    ] {
        match store.create_operation(&CLI, bad).await {
            Err(StoreError::Invalid(message)) => assert!(message.contains(what), "{message}"),
            other => panic!("expected invalid ({what}), got {other:?}"),
        }
    }
    // Update: rename and change; renaming onto another name conflicts.
    db.clock.advance(Duration::seconds(5));
    let mut change = operation("amaq-2018-04-action");
    change.notes = "Revised.".into();
    let updated = store
        .update_operation(&CLI, created.id, change)
        .await
        .expect("update");
    assert_eq!(updated.name, "amaq-2018-04-action");
    assert_eq!(updated.created_at, created.created_at);
    assert!(updated.updated_at > created.updated_at);
    match store
        .update_operation(&CLI, earlier.id, operation("amaq-2018-04-action"))
        .await
    {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("expected a conflict, got {other:?}"),
    }
    store
        .delete_operation(&CLI, updated.id)
        .await
        .expect("delete");
    assert!(matches!(
        store.operation_by_name("amaq-2018-04-action").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.delete_operation(&CLI, updated.id).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn changes_are_audited_and_the_chain_verifies(db: &TestDb) {
    let store = db.open().await;
    let analyst = Actor::Token {
        org: OrgId(7),
        token: TokenId(3),
    };
    let op = store
        .create_operation(&analyst, operation("amaq-2018-04"))
        .await
        .expect("create");
    import(&store, rows(0..50)).await.expect("import");
    store
        .add_release(&analyst, release(900))
        .await
        .expect("add");
    store
        .update_operation(&CLI, op.id, operation("amaq-2018-04"))
        .await
        .expect("update");
    store.delete_operation(&CLI, op.id).await.expect("delete");
    let entries = store
        .audit_entries(&AuditQuery::default())
        .await
        .expect("entries");
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "operation.create",
            "release.import",
            "release.create",
            "operation.update",
            "operation.delete"
        ]
    );
    assert_eq!(entries[0].org, Some(OrgId(7)));
    assert_eq!(entries[0].actor, "org:7/token:3");
    assert!(entries[1]
        .after
        .as_deref()
        .is_some_and(|a| a.contains("\"added\":50")));
    assert!(entries[4]
        .before
        .as_deref()
        .is_some_and(|b| b.contains("Europol")));
    match store.verify_audit().await.expect("verify") {
        AuditVerification::Intact { entries, .. } => assert_eq!(entries, 5),
        other => panic!("chain broken: {other:?}"),
    }
}

async fn migrations_reopen_idempotently(db: &TestDb) {
    let store = db.open().await;
    import(&store, rows(0..3)).await.expect("import");
    store.close().await;
    let store = db.open().await;
    let count = store
        .release_count(&ReleaseQuery::default())
        .await
        .expect("count");
    assert_eq!(count, 3);
}

// -------------------------------------------------------------------------------------------

conformance!(
    import_then_reimport_changes_nothing,
    import_bad_row_rolls_back_everything_and_names_its_line,
    releases_round_trip_at_microsecond_precision,
    queries_filter_and_page_in_time_order,
    operations_crud_conflicts_and_validation,
    changes_are_audited_and_the_chain_verifies,
    migrations_reopen_idempotently,
);
