//! The referral workflow's records read for impact work, through a real store (SQLite in a
//! temporary directory): releases from confirmed observations, time to removal from URL
//! checks in the operation report, and the transparency report's referral figures and
//! removal orders.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use takedown_impact::referral_data::{record_confirmed_releases, referral_facts, removal_inputs};
use takedown_impact::removal::{removal_section, RemovalScope, RemovalStatus};
use takedown_impact::transparency::{build_transparency, ManualFigures, OrderOutcome};
use takedown_impact::{load_demo_impact, operation_report, ReportOptions, DEMO_OPERATION};
use takedown_model::Timestamp;
use takedown_model::{Actor, BankId, Clock, ContentId, ManualClock, OrgId, SignalType, Tier};
use takedown_store::referrals::{
    CaseQuery, CaseSeed, Channel, CheckOutcome, CheckResult, DecisionKind, Delivery,
    DeliveryReport, FetchKind, MatchRecord, NewDecision, NewObservation, NewOutboxMessage,
    NewProvider, NewReferral, NewReferralItem, NoticeFormat, ProviderId,
};
use takedown_store::{ReleaseMedium, ReleaseQuery, Store};

const CLI: Actor = Actor::Cli;

/// 27 April 2018 09:00 UTC, the day after the demo operation.
fn t0() -> Timestamp {
    Utc.with_ymd_and_hms(2018, 4, 27, 9, 0, 0)
        .single()
        .expect("time")
}

async fn open(dir: &tempfile::TempDir) -> Arc<dyn Store> {
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(t0()));
    takedown_store::open(&dir.path().join("t.db").to_string_lossy(), clock)
        .await
        .expect("open")
}

async fn provider(store: &Arc<dyn Store>, name: &str, suffix: &str) -> ProviderId {
    let p = store
        .create_provider(
            &CLI,
            NewProvider {
                name: name.into(),
                contact_email: format!("abuse@{suffix}"),
                endpoint_url: String::new(),
                delivery: Delivery::Email,
                notice_format: NoticeFormat::EuOrder,
                legal_representative: "Rep Ltd".into(),
                member_state: "ie".into(),
                contact_point: "T&S".into(),
            },
        )
        .await
        .expect("provider");
    store
        .add_provider_rule(&CLI, p.id, suffix)
        .await
        .expect("rule");
    p.id
}

fn observation(
    url: &str,
    host: &str,
    content: i64,
    content_type: &str,
    provider: ProviderId,
    at: Timestamp,
) -> NewObservation {
    NewObservation {
        url: url.into(),
        host: host.into(),
        final_url: Some(url.into()),
        media_url: None,
        found_in: None,
        fetched_at: at,
        outcome: FetchKind::Live,
        http_status: Some(200),
        content_type: Some(content_type.into()),
        size: Some(1000),
        md5: Some(format!("{content:032x}")),
        sha256: Some(format!("{content:064x}")),
        pdq: None,
        pdq_quality: None,
        matches: vec![MatchRecord {
            content: ContentId(content),
            bank: BankId(1),
            bank_name: "AMAQ".into(),
            signal_type: SignalType::Md5,
            distance: 0,
        }],
        provider: Some(provider),
        source: "test".into(),
        evidence: "{}".into(),
        case: Some(CaseSeed {
            content_key: format!("content:{content}"),
            content_id: Some(ContentId(content)),
            entity: None,
            tier: None,
            severity: 3,
            confidence: 2,
        }),
    }
}

fn check(at: Timestamp, outcome: CheckOutcome) -> CheckResult {
    CheckResult {
        checked_at: at,
        method: "GET".into(),
        http_status: Some(if outcome.is_gone() { 404 } else { 200 }),
        final_url: None,
        content_type: None,
        md5: None,
        sha256: None,
        pdq_distance: None,
        outcome,
        evidence: "{}".into(),
    }
}

/// A unit that observed an Amaq image at three URLs and a video at one, confirmed both,
/// referred the three image URLs to Files as an EU removal order (sent at `t0`), and checked
/// them: one gone after 1 hour, one after 6 hours, one still up (unreachable once).
async fn referral_story(store: &Arc<dyn Store>) -> OrgId {
    let unit = store
        .create_organisation(&CLI, "unit")
        .await
        .expect("org")
        .id;
    let files = provider(store, "Files", "files.example").await;
    let videos = provider(store, "Videos", "vids.example").await;
    let early = t0() - Duration::hours(20);
    let mut observations = Vec::new();
    for (i, path) in ["a", "b", "c"].iter().enumerate() {
        observations.push(observation(
            &format!("https://files.example/{path}"),
            "files.example",
            1,
            "image/jpeg",
            files,
            early + Duration::hours(i as i64),
        ));
    }
    observations.push(observation(
        "https://vids.example/v",
        "vids.example",
        2,
        "video/mp4",
        videos,
        early,
    ));
    let recorded = store
        .record_observations(&CLI, unit, observations)
        .await
        .expect("observations");
    let cases = store
        .cases(&CaseQuery {
            org: Some(unit),
            ..CaseQuery::default()
        })
        .await
        .expect("cases");
    assert_eq!(cases.len(), 2);
    for case in &cases {
        store
            .decide_case(
                &CLI,
                case.id,
                NewDecision {
                    decision: DecisionKind::Confirm,
                    entity: Some("AMAQ".into()),
                    tier: Some(Tier::OfficialPropaganda),
                    grounds: Vec::new(),
                    reason: "known release".into(),
                    added_content: None,
                },
            )
            .await
            .expect("confirm");
    }
    let referral = store
        .create_referral(
            &CLI,
            NewReferral {
                org: unit,
                provider: files,
                notice_format: NoticeFormat::EuOrder,
                note: String::new(),
                items: recorded[..3]
                    .iter()
                    .map(|o| NewReferralItem {
                        observation: o.id,
                        grounds: Vec::new(),
                        reason: String::new(),
                    })
                    .collect(),
            },
        )
        .await
        .expect("referral");
    store
        .enqueue_message(
            &CLI,
            referral.id,
            NewOutboxMessage {
                channel: Channel::Email,
                idempotency_key: "k-1".into(),
                sender: "iru@unit.example".into(),
                recipient: "abuse@files.example".into(),
                subject: "Removal order".into(),
                content_type: "message/rfc822".into(),
                body: "Subject: x\r\n\r\nbody\r\n".into(),
            },
        )
        .await
        .expect("enqueue");
    let claimed = store
        .claim_messages("w", t0(), Duration::minutes(5), 10)
        .await
        .expect("claim");
    assert!(store
        .record_delivery(
            "w",
            claimed[0].id,
            DeliveryReport::Delivered {
                at: t0(),
                response: "250 OK".into(),
                first_check_due: t0() + Duration::hours(1),
            },
        )
        .await
        .expect("delivered"));
    let lease = Duration::minutes(10);
    let at1 = t0() + Duration::hours(1);
    let at6 = t0() + Duration::hours(6);
    for c in store
        .claim_checks("w", at1, lease, 10)
        .await
        .expect("claim")
    {
        let outcome = match c.item.url.as_str() {
            "https://files.example/a" => CheckOutcome::Removed,
            "https://files.example/b" => CheckOutcome::Live,
            _ => CheckOutcome::Unreachable,
        };
        store
            .record_check("w", c.check.id, check(at1, outcome), Some(at6))
            .await
            .expect("check");
    }
    for c in store
        .claim_checks("w", at6, lease, 10)
        .await
        .expect("claim")
    {
        let outcome = if c.item.url.ends_with("/b") {
            CheckOutcome::Changed
        } else {
            CheckOutcome::Live
        };
        store
            .record_check("w", c.check.id, check(at6, outcome), None)
            .await
            .expect("check");
    }
    unit
}

#[tokio::test]
async fn without_referral_data_the_loaders_say_none() {
    let dir = tempfile::tempdir().expect("dir");
    let store = open(&dir).await;
    let scope = RemovalScope {
        outlets: Vec::new(),
        from: t0() - Duration::days(30),
        until: t0() + Duration::days(30),
    };
    assert!(removal_inputs(store.as_ref(), &scope, t0())
        .await
        .expect("read")
        .is_none());
    assert!(
        referral_facts(store.as_ref(), scope.from, scope.until, t0())
            .await
            .expect("read")
            .is_none()
    );
    let summary = record_confirmed_releases(store.as_ref(), &CLI, None)
        .await
        .expect("record");
    assert_eq!((summary.cases, summary.added), (0, 0));
}

#[tokio::test]
async fn confirmed_observations_become_releases_once() {
    let dir = tempfile::tempdir().expect("dir");
    let store = open(&dir).await;
    let unit = referral_story(&store).await;
    let first = record_confirmed_releases(store.as_ref(), &CLI, Some(unit))
        .await
        .expect("record");
    assert_eq!((first.cases, first.added, first.unchanged), (2, 2, 0));
    let again = record_confirmed_releases(store.as_ref(), &CLI, None)
        .await
        .expect("record");
    assert_eq!((again.added, again.unchanged), (0, 2));
    let page = store
        .releases(&ReleaseQuery {
            limit: 10,
            ..ReleaseQuery::default()
        })
        .await
        .expect("releases");
    assert_eq!(page.items.len(), 2);
    let image = page
        .items
        .iter()
        .find(|r| r.medium == ReleaseMedium::Image)
        .expect("image");
    // One piece of content is one release, dated by its earliest observation.
    assert_eq!(image.outlet, "amaq");
    assert_eq!(image.channel, "files.example");
    assert_eq!(image.published_at, t0() - Duration::hours(20));
    assert!(image.origin.starts_with("observation:"));
    let video = page
        .items
        .iter()
        .find(|r| r.medium == ReleaseMedium::Video)
        .expect("video");
    assert_eq!(video.channel, "vids.example");
}

#[tokio::test]
async fn checks_give_time_to_removal_per_provider_outlet_and_tier() {
    let dir = tempfile::tempdir().expect("dir");
    let store = open(&dir).await;
    referral_story(&store).await;
    let measured = t0() + Duration::days(1);
    let scope = RemovalScope {
        outlets: vec!["amaq".into()],
        from: t0() - Duration::days(1),
        until: t0() + Duration::days(1),
    };
    let inputs = removal_inputs(store.as_ref(), &scope, measured)
        .await
        .expect("read")
        .expect("referral data");
    assert_eq!(inputs.urls.len(), 3);
    let mut removed: Vec<Option<Timestamp>> =
        inputs.urls.iter().map(|u| u.first_seen_removed).collect();
    removed.sort();
    assert_eq!(
        removed,
        [
            None,
            Some(t0() + Duration::hours(1)),
            Some(t0() + Duration::hours(6))
        ]
    );
    let section = removal_section(Some(&inputs));
    assert_eq!(section.status, RemovalStatus::Measured);
    assert_eq!(section.by_provider[0].group, "Files");
    assert_eq!(section.by_outlet[0].group, "amaq");
    assert_eq!(section.by_tier[0].group, "3");
    assert!(
        section.note.contains("2018-04-28 09:00 UTC"),
        "{}",
        section.note
    );
    // Another outlet's scope: referral data exist, none in scope.
    let other = RemovalScope {
        outlets: vec!["nashir".into()],
        ..scope
    };
    let none = removal_inputs(store.as_ref(), &other, measured)
        .await
        .expect("read")
        .expect("referral data");
    assert_eq!(
        removal_section(Some(&none)).status,
        RemovalStatus::NoReferralsInScope
    );
}

#[tokio::test]
async fn the_operation_report_reads_the_checks() {
    let dir = tempfile::tempdir().expect("dir");
    let store = open(&dir).await;
    load_demo_impact(store.as_ref(), &CLI, None)
        .await
        .expect("demo");
    referral_story(&store).await;
    let report = operation_report(
        store.as_ref(),
        DEMO_OPERATION,
        &ReportOptions::new(t0() + Duration::days(60)),
    )
    .await
    .expect("report");
    assert_eq!(report.removal.status, RemovalStatus::Measured);
    let snapshot = report.removal.snapshot.as_ref().expect("snapshot");
    assert_eq!((snapshot.referred, snapshot.observed_removed), (3, 2));
}

#[tokio::test]
async fn transparency_figures_come_from_the_referral_records() {
    let dir = tempfile::tempdir().expect("dir");
    let store = open(&dir).await;
    referral_story(&store).await;
    let (from, to) = (t0() - Duration::days(2), t0() + Duration::days(2));
    let measured = t0() + Duration::days(2);
    let facts = referral_facts(store.as_ref(), from, to, measured)
        .await
        .expect("read")
        .expect("facts");
    assert_eq!(facts.urls_assessed, 4);
    assert_eq!(facts.referrals_sent, 1);
    assert_eq!(facts.urls.len(), 3);
    assert_eq!(facts.removal_orders.len(), 1);
    assert_eq!(facts.removal_orders[0].provider, "Files");
    // One URL was never seen gone when the schedule ran out: the order did not remove it all.
    assert_eq!(
        facts.removal_orders[0].outcome,
        Some(OrderOutcome::NotRemoved)
    );
    let report = build_transparency(from, to, Some(&facts), &ManualFigures::default(), measured);
    assert_eq!(report.referrals.urls_referred, Some(3));
    assert_eq!(report.referrals.providers, Some(1));
    assert_eq!(report.referrals.by_provider[0].removed, 2);
    let issued = report
        .regulation_2021_784
        .iter()
        .find(|f| f.key == "removal_orders_issued")
        .expect("figure");
    assert_eq!(issued.value.as_deref(), Some("1"));
    // A period before anything happened: records exist, none in it.
    let early = referral_facts(
        store.as_ref(),
        from - Duration::days(30),
        from - Duration::days(20),
        measured,
    )
    .await
    .expect("read")
    .expect("facts");
    assert_eq!((early.urls_assessed, early.referrals_sent), (0, 0));
}
