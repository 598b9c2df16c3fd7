//! The referral tables' conformance suite, run against both backends like `conformance.rs`:
//! each case is an `async fn(&TestDb)`, turned by the `conformance!` macro of
//! `testdb/mod.rs` into `sqlite::<case>` and `postgres::<case>` (the latter on a fresh
//! database on the server named by `TAKEDOWN_TEST_POSTGRES_URL`, skipped when it is not set).

mod testdb;

use std::collections::HashSet;
use std::sync::Arc;

use takedown_model::{Actor, BankId, ContentId, OrgId, SignalType, Tier, Timestamp};
use takedown_store::referrals::{
    CaseQuery, CaseSeed, CaseStatus, Channel, CheckOutcome, CheckResult, DecisionKind, Delivery,
    DeliveryReport, FetchKind, Ground, ItemState, MatchRecord, NewDecision, NewObservation,
    NewOutboxMessage, NewProvider, NewReferral, NewReferralItem, NoticeFormat, ObservationQuery,
    OutboxState, ProviderId, ReferralStatus,
};
use takedown_store::{AuditVerification, Store, StoreError};
use testdb::{conformance, TestDb};

/// Where every case's clock starts.
fn start_time() -> Timestamp {
    // 2018-04-25 09:00 UTC, the Amaq action day.
    chrono::DateTime::from_timestamp(1_524_646_800, 250_000_000).expect("valid time")
}

const CLI: Actor = Actor::Cli;

async fn org(store: &Arc<dyn Store>, name: &str) -> OrgId {
    store
        .create_organisation(&CLI, name)
        .await
        .expect("organisation")
        .id
}

async fn provider(store: &Arc<dyn Store>, name: &str, suffix: &str) -> ProviderId {
    let provider = store
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
        .add_provider_rule(&CLI, provider.id, suffix)
        .await
        .expect("rule");
    provider.id
}

fn seed(content: i64, severity: u8, confidence: u8) -> CaseSeed {
    CaseSeed {
        content_key: format!("content:{content}"),
        content_id: Some(ContentId(content)),
        entity: Some("amaq".into()),
        tier: Some(Tier::OfficialPropaganda),
        severity,
        confidence,
    }
}

fn observation(
    url: &str,
    host: &str,
    provider: Option<ProviderId>,
    case: Option<CaseSeed>,
    at: Timestamp,
) -> NewObservation {
    let sha = format!("{:064x}", url.len() as u64 * 7919);
    NewObservation {
        url: url.into(),
        host: host.into(),
        final_url: Some(url.into()),
        media_url: None,
        found_in: None,
        fetched_at: at,
        outcome: FetchKind::Live,
        http_status: Some(200),
        content_type: Some("image/png".into()),
        size: Some(1234),
        md5: Some(format!("{:032x}", url.len())),
        sha256: Some(sha),
        pdq: Some("f".repeat(64)),
        pdq_quality: Some(90),
        matches: case
            .as_ref()
            .and_then(|seed| seed.content_id)
            .map(|content| MatchRecord {
                content,
                bank: BankId(1),
                bank_name: "AMAQ".into(),
                signal_type: SignalType::Pdq,
                distance: 4,
            })
            .into_iter()
            .collect(),
        provider,
        source: "test".into(),
        evidence: "{}".into(),
        case,
    }
}

async fn confirm(store: &Arc<dyn Store>, case: takedown_store::referrals::CaseId) {
    store
        .decide_case(
            &CLI,
            case,
            NewDecision {
                decision: DecisionKind::Confirm,
                entity: Some("AMAQ".into()),
                tier: Some(Tier::OfficialPropaganda),
                grounds: vec![Ground::Incites],
                reason: "known release".into(),
                added_content: None,
            },
        )
        .await
        .expect("confirm");
}

/// An organisation with a provider, one confirmed observation per URL, and a draft referral.
async fn draft_referral(
    store: &Arc<dyn Store>,
    db: &TestDb,
    urls: &[&str],
) -> (OrgId, ProviderId, takedown_store::referrals::Referral) {
    let unit = org(store, "unit").await;
    let host = provider(store, "Files", "files.example").await;
    let mut items = Vec::new();
    for (n, url) in urls.iter().enumerate() {
        let recorded = store
            .record_observations(
                &CLI,
                unit,
                vec![observation(
                    url,
                    "files.example",
                    Some(host),
                    Some(seed(n as i64 + 1, 3, 2)),
                    db.now(),
                )],
            )
            .await
            .unwrap();
        confirm(store, recorded[0].case.unwrap()).await;
        items.push(NewReferralItem {
            observation: recorded[0].id,
            grounds: Vec::new(),
            reason: String::new(),
        });
    }
    let referral = store
        .create_referral(
            &CLI,
            NewReferral {
                org: unit,
                provider: host,
                notice_format: NoticeFormat::EuOrder,
                note: String::new(),
                items,
            },
        )
        .await
        .unwrap();
    (unit, host, referral)
}

fn message(key: &str) -> NewOutboxMessage {
    NewOutboxMessage {
        channel: Channel::Email,
        idempotency_key: key.into(),
        sender: "iru@unit.example".into(),
        recipient: "abuse@files.example".into(),
        subject: "Referral".into(),
        content_type: "message/rfc822".into(),
        body: "Subject: x\r\n\r\nbody\r\n".into(),
    }
}

/// Queues, claims and delivers the referral's message; returns when the first checks are due.
async fn deliver(
    store: &Arc<dyn Store>,
    db: &TestDb,
    referral: takedown_store::referrals::ReferralId,
) -> Timestamp {
    store
        .enqueue_message(&CLI, referral, message(&format!("key-{}", referral.0)))
        .await
        .unwrap();
    let claimed = store
        .claim_messages("worker", db.now(), chrono::Duration::minutes(5), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let due = db.now() + chrono::Duration::hours(1);
    assert!(store
        .record_delivery(
            "worker",
            claimed[0].id,
            DeliveryReport::Delivered {
                at: db.now(),
                response: "250 OK".into(),
                first_check_due: due,
            },
        )
        .await
        .unwrap());
    due
}

fn result(at: Timestamp, outcome: CheckOutcome) -> CheckResult {
    CheckResult {
        checked_at: at,
        method: "GET".into(),
        http_status: Some(if outcome.is_gone() { 410 } else { 200 }),
        final_url: None,
        content_type: None,
        md5: None,
        sha256: None,
        pdq_distance: None,
        outcome,
        evidence: "{}".into(),
    }
}

async fn audit_intact(store: &Arc<dyn Store>) {
    assert!(matches!(
        store.verify_audit().await.unwrap(),
        AuditVerification::Intact { .. }
    ));
}

// -------------------------------------------------------------------------------------------
// Cases

async fn providers_rules_assign_the_unassigned_queue(db: &TestDb) {
    let store = db.open().await;
    let unit = org(&store, "unit").await;
    store
        .record_observations(
            &CLI,
            unit,
            vec![
                observation(
                    "https://cdn.files.example/a.png",
                    "cdn.files.example",
                    None,
                    None,
                    db.now(),
                ),
                observation(
                    "https://other.example/b.png",
                    "other.example",
                    None,
                    None,
                    db.now(),
                ),
            ],
        )
        .await
        .unwrap();
    let unassigned = ObservationQuery {
        unassigned: true,
        ..ObservationQuery::default()
    };
    assert_eq!(store.observations(&unassigned).await.unwrap().len(), 2);
    let created = store
        .create_provider(
            &CLI,
            NewProvider {
                name: "Files".into(),
                contact_email: "abuse@files.example".into(),
                endpoint_url: String::new(),
                delivery: Delivery::Email,
                notice_format: NoticeFormat::Text,
                legal_representative: String::new(),
                member_state: "de".into(),
                contact_point: String::new(),
            },
        )
        .await
        .unwrap();
    assert_eq!(created.member_state, "DE");
    let (rule, assigned) = store
        .add_provider_rule(&CLI, created.id, "Files.Example")
        .await
        .unwrap();
    assert_eq!(rule.host_suffix, "files.example");
    assert_eq!(assigned, 1);
    let left = store.observations(&unassigned).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].host, "other.example");
    assert!(matches!(
        store
            .add_provider_rule(&CLI, created.id, "files.example")
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .add_provider_rule(&CLI, created.id, "https://x/")
            .await,
        Err(StoreError::Invalid(_))
    ));
    let listed = store.list_providers().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].rules.len(), 1);
    store
        .remove_provider_rule(&CLI, "files.example")
        .await
        .unwrap();
    assert!(store.provider(created.id).await.unwrap().rules.is_empty());
    audit_intact(&store).await;
}

async fn observations_open_cases_ranked_by_severity_then_confidence(db: &TestDb) {
    let store = db.open().await;
    let unit = org(&store, "unit").await;
    let other = org(&store, "other").await;
    let host = provider(&store, "Files", "files.example").await;
    let at = db.now();
    store
        .record_observations(
            &CLI,
            unit,
            vec![
                observation(
                    "https://files.example/1",
                    "files.example",
                    Some(host),
                    Some(seed(1, 3, 3)),
                    at,
                ),
                observation(
                    "https://files.example/2",
                    "files.example",
                    Some(host),
                    Some(seed(2, 7, 0)),
                    at,
                ),
                // A second copy of item 1: joins its case and raises its confidence.
                observation(
                    "https://files.example/3",
                    "files.example",
                    Some(host),
                    Some(seed(1, 3, 3)),
                    at,
                ),
                observation(
                    "https://files.example/4",
                    "files.example",
                    Some(host),
                    Some(seed(3, 3, 1)),
                    at,
                ),
            ],
        )
        .await
        .unwrap();
    store
        .record_observations(
            &CLI,
            other,
            vec![observation(
                "https://files.example/1",
                "files.example",
                Some(host),
                Some(seed(1, 3, 3)),
                at,
            )],
        )
        .await
        .unwrap();
    let cases = store
        .cases(&CaseQuery {
            org: Some(unit),
            ..CaseQuery::default()
        })
        .await
        .unwrap();
    let keys: Vec<&str> = cases.iter().map(|c| c.content_key.as_str()).collect();
    assert_eq!(keys, ["content:2", "content:1", "content:3"]);
    assert_eq!(cases[1].observation_count, 2);
    assert_eq!(cases[0].rank_score, 28);
    assert!(cases.iter().all(|c| c.status == CaseStatus::Open));
    let everyone = store.cases(&CaseQuery::default()).await.unwrap();
    assert_eq!(everyone.len(), 4);
}

async fn decisions_are_kept_and_an_added_item_rekeys_the_case(db: &TestDb) {
    let store = db.open().await;
    let unit = org(&store, "unit").await;
    let mut unmatched = observation(
        "https://x.example/new.png",
        "x.example",
        None,
        None,
        db.now(),
    );
    unmatched.case = Some(CaseSeed {
        content_key: "sha256:abc".into(),
        content_id: None,
        entity: None,
        tier: None,
        severity: 0,
        confidence: 0,
    });
    let recorded = store
        .record_observations(&CLI, unit, vec![unmatched])
        .await
        .unwrap();
    let case = recorded[0].case.unwrap();
    let rejected = store
        .decide_case(
            &CLI,
            case,
            NewDecision {
                decision: DecisionKind::Reject,
                entity: None,
                tier: None,
                grounds: Vec::new(),
                reason: "news reporting".into(),
                added_content: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(rejected.status, CaseStatus::Rejected);
    db.clock.advance(chrono::Duration::minutes(5));
    let confirmed = store
        .decide_case(
            &CLI,
            case,
            NewDecision {
                decision: DecisionKind::Confirm,
                entity: Some("Halumu".into()),
                tier: Some(Tier::Crisis),
                grounds: vec![Ground::Incites, Ground::Threatens],
                reason: "second look".into(),
                added_content: Some(ContentId(77)),
            },
        )
        .await
        .unwrap();
    assert_eq!(confirmed.status, CaseStatus::Confirmed);
    assert_eq!(confirmed.content_key, "content:77");
    assert_eq!(confirmed.entity.as_deref(), Some("halumu"));
    assert_eq!(confirmed.grounds, [Ground::Incites, Ground::Threatens]);
    assert_eq!(store.case(case).await.unwrap(), confirmed);
    let decisions = store.case_decisions(case).await.unwrap();
    assert_eq!(decisions.len(), 2);
    assert_eq!(decisions[0].decision, DecisionKind::Reject);
    assert_eq!(decisions[1].added_content, Some(ContentId(77)));
    assert_eq!(decisions[1].reviewer, "cli");
    // A later copy matching the new bank item joins the same case.
    let later = store
        .record_observations(
            &CLI,
            unit,
            vec![observation(
                "https://y.example/copy.png",
                "y.example",
                None,
                Some(seed(77, 6, 2)),
                db.now(),
            )],
        )
        .await
        .unwrap();
    assert_eq!(later[0].case, Some(case));
    audit_intact(&store).await;
}

async fn one_open_referral_per_provider_and_url_across_organisations(db: &TestDb) {
    let store = db.open().await;
    let (_, host, first) = draft_referral(&store, db, &["https://files.example/a"]).await;
    assert!(first.reference.starts_with("TD-2018-"));
    assert_eq!(first.status, ReferralStatus::Draft);
    let items = store.referral_items(first.id).await.unwrap();
    assert_eq!(items.len(), 1);
    assert!(items[0].open);
    assert_eq!(items[0].entity.as_deref(), Some("amaq"));
    assert_eq!(items[0].grounds, [Ground::Incites]);
    assert_eq!(items[0].bank_name.as_deref(), Some("AMAQ"));

    // Another organisation observes and confirms the same URL, and tries to refer it.
    let partner = org(&store, "partner").await;
    let recorded = store
        .record_observations(
            &CLI,
            partner,
            vec![observation(
                "https://files.example/a",
                "files.example",
                Some(host),
                Some(seed(1, 3, 2)),
                db.now(),
            )],
        )
        .await
        .unwrap();
    confirm(&store, recorded[0].case.unwrap()).await;
    assert!(store
        .referable_observations(partner, None)
        .await
        .unwrap()
        .is_empty());
    let (open, reference) = store
        .open_item_for_url(host, "https://files.example/a")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(open.referral, first.id);
    assert_eq!(reference, first.reference);
    let again = NewReferral {
        org: partner,
        provider: host,
        notice_format: NoticeFormat::Text,
        note: String::new(),
        items: vec![NewReferralItem {
            observation: recorded[0].id,
            grounds: Vec::new(),
            reason: String::new(),
        }],
    };
    match store.create_referral(&CLI, again.clone()).await {
        Err(StoreError::Conflict(message)) => assert!(message.contains(&first.reference)),
        other => panic!("expected a conflict, got {other:?}"),
    }
    // Closing the first referral releases the URL.
    deliver(&store, db, first.id).await;
    store
        .set_referral_status(&CLI, first.id, ReferralStatus::Refused)
        .await
        .unwrap();
    assert_eq!(
        store
            .referable_observations(partner, None)
            .await
            .unwrap()
            .len(),
        1
    );
    let second = store.create_referral(&CLI, again).await.unwrap();
    assert_eq!(second.org, partner);
    audit_intact(&store).await;
}

async fn concurrent_referrals_of_one_url_leave_exactly_one(db: &TestDb) {
    let store = db.open().await;
    let host = provider(&store, "Files", "files.example").await;
    let mut requests = Vec::new();
    for n in 0..4 {
        let unit = org(&store, &format!("unit {n}")).await;
        let recorded = store
            .record_observations(
                &CLI,
                unit,
                vec![observation(
                    "https://files.example/same",
                    "files.example",
                    Some(host),
                    Some(seed(1, 3, 2)),
                    db.now(),
                )],
            )
            .await
            .unwrap();
        confirm(&store, recorded[0].case.unwrap()).await;
        requests.push(NewReferral {
            org: unit,
            provider: host,
            notice_format: NoticeFormat::Text,
            note: String::new(),
            items: vec![NewReferralItem {
                observation: recorded[0].id,
                grounds: Vec::new(),
                reason: String::new(),
            }],
        });
    }
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let store = store.clone();
            tokio::spawn(async move { store.create_referral(&CLI, request).await })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => created += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(other) => panic!("unexpected error {other}"),
        }
    }
    assert_eq!(created, 1);
}

async fn the_status_machine_refuses_skips_and_backward_moves(db: &TestDb) {
    let store = db.open().await;
    let (_, _, referral) = draft_referral(&store, db, &["https://files.example/a"]).await;
    assert!(matches!(
        store
            .set_referral_status(&CLI, referral.id, ReferralStatus::Removed)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .set_referral_status(&CLI, referral.id, ReferralStatus::Sent)
            .await,
        Err(StoreError::Invalid(_))
    ));
    deliver(&store, db, referral.id).await;
    let acknowledged = store
        .set_referral_status(&CLI, referral.id, ReferralStatus::Acknowledged)
        .await
        .unwrap();
    assert!(acknowledged.acknowledged_at.is_some());
    let closed = store
        .set_referral_status(&CLI, referral.id, ReferralStatus::Refused)
        .await
        .unwrap();
    assert_eq!(closed.closed_at, Some(db.now().with_micros()));
    assert!(matches!(
        store
            .set_referral_status(&CLI, referral.id, ReferralStatus::Acknowledged)
            .await,
        Err(StoreError::Conflict(_))
    ));
    // Closing cancelled the pending checks.
    assert_eq!(store.check_counts().await.unwrap().pending, 0);
}

async fn outbox_messages_are_claimed_once_and_recorded_under_the_lease(db: &TestDb) {
    let store = db.open().await;
    let (_, _, referral) = draft_referral(
        &store,
        db,
        &["https://files.example/a", "https://files.example/b"],
    )
    .await;
    let queued = store
        .enqueue_message(&CLI, referral.id, message("k-1"))
        .await
        .unwrap();
    // Queueing again returns the same message.
    let again = store
        .enqueue_message(&CLI, referral.id, message("k-2"))
        .await
        .unwrap();
    assert_eq!(again.id, queued.id);
    assert_eq!(again.idempotency_key, "k-1");
    let lease = chrono::Duration::minutes(5);
    let first = store
        .claim_messages("a", db.now(), lease, 10)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].attempts, 1);
    assert!(store
        .claim_messages("b", db.now(), lease, 10)
        .await
        .unwrap()
        .is_empty());
    // Worker a dies; after the lease, b takes the message over; a's late report is dropped.
    db.clock.advance(chrono::Duration::minutes(6));
    let second = store
        .claim_messages("b", db.now(), lease, 10)
        .await
        .unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].attempts, 2);
    assert_eq!(second[0].idempotency_key, "k-1");
    let delivered = |at| DeliveryReport::Delivered {
        at,
        response: "250 OK".into(),
        first_check_due: at + chrono::Duration::hours(1),
    };
    assert!(!store
        .record_delivery("a", queued.id, delivered(db.now()))
        .await
        .unwrap());
    assert!(store
        .record_delivery("b", queued.id, delivered(db.now()))
        .await
        .unwrap());
    let sent = store.referral(referral.id).await.unwrap();
    assert_eq!(sent.status, ReferralStatus::Sent);
    assert_eq!(sent.sent_at, Some(db.now().with_micros()));
    let messages = store.outbox_messages(referral.id).await.unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].state, OutboxState::Sent);
    assert_eq!(messages[0].response.as_deref(), Some("250 OK"));
    let counts = store.check_counts().await.unwrap();
    assert_eq!(counts.pending, 2);
    assert_eq!(
        counts.next_due,
        Some((db.now() + chrono::Duration::hours(1)).with_micros())
    );
    // A retry puts a message back with its error; a permanent failure keeps it as failed.
    let (_, _, other) = {
        let unit = org(&store, "unit 2").await;
        let host = store.provider_by_name("Files").await.unwrap().id;
        let recorded = store
            .record_observations(
                &CLI,
                unit,
                vec![observation(
                    "https://files.example/c",
                    "files.example",
                    Some(host),
                    Some(seed(9, 3, 2)),
                    db.now(),
                )],
            )
            .await
            .unwrap();
        confirm(&store, recorded[0].case.unwrap()).await;
        let referral = store
            .create_referral(
                &CLI,
                NewReferral {
                    org: unit,
                    provider: host,
                    notice_format: NoticeFormat::Text,
                    note: String::new(),
                    items: vec![NewReferralItem {
                        observation: recorded[0].id,
                        grounds: Vec::new(),
                        reason: String::new(),
                    }],
                },
            )
            .await
            .unwrap();
        (unit, host, referral)
    };
    let failing = store
        .enqueue_message(&CLI, other.id, message("k-3"))
        .await
        .unwrap();
    store
        .claim_messages("a", db.now(), lease, 10)
        .await
        .unwrap();
    assert!(store
        .record_delivery(
            "a",
            failing.id,
            DeliveryReport::Retry {
                error: "421 try later".into(),
                retry_at: db.now() + chrono::Duration::minutes(1)
            }
        )
        .await
        .unwrap());
    assert!(store
        .claim_messages("a", db.now(), lease, 10)
        .await
        .unwrap()
        .is_empty());
    db.clock.advance(chrono::Duration::minutes(2));
    let retried = store
        .claim_messages("a", db.now(), lease, 10)
        .await
        .unwrap();
    assert_eq!(retried[0].last_error.as_deref(), Some("421 try later"));
    assert!(store
        .record_delivery(
            "a",
            failing.id,
            DeliveryReport::Failed {
                error: "550 no".into()
            }
        )
        .await
        .unwrap());
    assert_eq!(
        store.outbox_messages(other.id).await.unwrap()[0].state,
        OutboxState::Failed
    );
    assert_eq!(
        store.referral(other.id).await.unwrap().status,
        ReferralStatus::Draft
    );
    audit_intact(&store).await;
}

async fn checks_follow_the_schedule_and_close_the_referral(db: &TestDb) {
    let store = db.open().await;
    let (_, _, referral) = draft_referral(
        &store,
        db,
        &["https://files.example/a", "https://files.example/b"],
    )
    .await;
    let sent_at = db.now();
    let due = deliver(&store, db, referral.id).await;
    let lease = chrono::Duration::minutes(10);
    assert!(store
        .claim_checks("w", db.now(), lease, 10)
        .await
        .unwrap()
        .is_empty());
    db.clock.set(due);
    let claimed = store.claim_checks("w", db.now(), lease, 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    assert!(claimed
        .iter()
        .all(|c| c.check.sequence == 1 && c.sent_at == sent_at.with_micros()));
    // a is still live; b is gone.
    let (a, b) = if claimed[0].item.url.ends_with("/a") {
        (&claimed[0], &claimed[1])
    } else {
        (&claimed[1], &claimed[0])
    };
    let next = db.now() + chrono::Duration::hours(5);
    let recorded = store
        .record_check(
            "w",
            a.check.id,
            result(db.now(), CheckOutcome::Live),
            Some(next),
        )
        .await
        .unwrap();
    assert!(recorded.recorded && recorded.referral_status.is_none());
    let recorded = store
        .record_check(
            "w",
            b.check.id,
            result(db.now(), CheckOutcome::Removed),
            Some(next),
        )
        .await
        .unwrap();
    assert!(recorded.recorded);
    // Recording twice is refused: the check is done.
    assert!(
        !store
            .record_check(
                "w",
                b.check.id,
                result(db.now(), CheckOutcome::Removed),
                Some(next)
            )
            .await
            .unwrap()
            .recorded
    );
    let items = store.referral_items(referral.id).await.unwrap();
    let gone = items.iter().find(|i| i.url.ends_with("/b")).unwrap();
    assert_eq!(gone.state, ItemState::Gone);
    assert!(!gone.open);
    assert_eq!(gone.gone_outcome, Some(CheckOutcome::Removed));
    assert_eq!(gone.first_gone_at, Some(db.now().with_micros()));
    let live = items.iter().find(|i| i.url.ends_with("/a")).unwrap();
    assert_eq!(live.last_live_at, Some(db.now().with_micros()));
    // Only a gets a second check.
    db.clock.set(next);
    let claimed = store.claim_checks("w", db.now(), lease, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].check.sequence, 2);
    let recorded = store
        .record_check(
            "w",
            claimed[0].check.id,
            result(db.now(), CheckOutcome::Changed),
            None,
        )
        .await
        .unwrap();
    assert_eq!(recorded.referral_status, Some(ReferralStatus::Removed));
    let removed = store.referral(referral.id).await.unwrap();
    assert_eq!(removed.status, ReferralStatus::Removed);
    assert_eq!(removed.closed_at, Some(db.now().with_micros()));
    let checks = store.referral_checks(referral.id).await.unwrap();
    assert_eq!(checks.len(), 3);
    assert!(checks.iter().all(|c| c.result.is_some()));
    audit_intact(&store).await;
}

async fn a_schedule_that_runs_out_expires_or_partially_removes(db: &TestDb) {
    let store = db.open().await;
    let (_, _, referral) = draft_referral(&store, db, &["https://files.example/a"]).await;
    let due = deliver(&store, db, referral.id).await;
    db.clock.set(due);
    let claimed = store
        .claim_checks("w", db.now(), chrono::Duration::minutes(1), 10)
        .await
        .unwrap();
    let recorded = store
        .record_check(
            "w",
            claimed[0].check.id,
            result(db.now(), CheckOutcome::Unreachable),
            None,
        )
        .await
        .unwrap();
    assert_eq!(recorded.referral_status, Some(ReferralStatus::Expired));
    let items = store.referral_items(referral.id).await.unwrap();
    assert!(!items[0].open);
    assert_eq!(items[0].state, ItemState::Live);
}

async fn expired_leases_are_claimed_again_and_claims_never_overlap(db: &TestDb) {
    let store = db.open().await;
    let urls: Vec<String> = (0..30)
        .map(|n| format!("https://files.example/{n}"))
        .collect();
    let refs: Vec<&str> = urls.iter().map(String::as_str).collect();
    let (_, _, referral) = draft_referral(&store, db, &refs).await;
    let due = deliver(&store, db, referral.id).await;
    db.clock.set(due);
    let lease = chrono::Duration::minutes(10);
    // Eight workers claim at once, a few at a time: every check goes to exactly one.
    let tasks: Vec<_> = (0..8)
        .map(|n| {
            let store = store.clone();
            let now = db.now();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let claimed = store
                        .claim_checks(&format!("w{n}"), now, lease, 3)
                        .await
                        .unwrap();
                    if claimed.is_empty() {
                        return mine;
                    }
                    mine.extend(claimed.into_iter().map(|c| c.check.id));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    assert_eq!(all.len(), 30);
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 30);
    // Nobody records; the leases run out; a new worker takes them all, each claimed twice.
    assert!(store
        .claim_checks("late", db.now(), lease, 100)
        .await
        .unwrap()
        .is_empty());
    db.clock.advance(chrono::Duration::minutes(11));
    let reclaimed = store
        .claim_checks("late", db.now(), lease, 100)
        .await
        .unwrap();
    assert_eq!(reclaimed.len(), 30);
    assert!(reclaimed
        .iter()
        .all(|c| c.check.claims == 2 && c.check.lease_owner.as_deref() == Some("late")));
    let counts = store.check_counts().await.unwrap();
    assert_eq!((counts.pending, counts.claimed), (0, 30));
}

async fn a_copy_of_removed_content_elsewhere_is_a_reupload(db: &TestDb) {
    let store = db.open().await;
    let (unit, _, referral) = draft_referral(&store, db, &["https://files.example/a"]).await;
    let due = deliver(&store, db, referral.id).await;
    db.clock.set(due);
    let claimed = store
        .claim_checks("w", db.now(), chrono::Duration::minutes(1), 10)
        .await
        .unwrap();
    store
        .record_check(
            "w",
            claimed[0].check.id,
            result(db.now(), CheckOutcome::Removed),
            None,
        )
        .await
        .unwrap();
    let item = store.referral_items(referral.id).await.unwrap().remove(0);
    let mirror = provider(&store, "Mirror", "mirror.example").await;
    let recorded = store
        .record_observations(
            &CLI,
            unit,
            vec![observation(
                "https://mirror.example/a",
                "mirror.example",
                Some(mirror),
                Some(seed(1, 3, 2)),
                db.now(),
            )],
        )
        .await
        .unwrap();
    assert_eq!(recorded[0].reupload_of, Some(item.id));
    // Its case is already confirmed: it is ready to refer at once.
    let ready = store
        .referable_observations(unit, Some(mirror))
        .await
        .unwrap();
    assert_eq!(ready.len(), 1);
    let flagged = store
        .observations(&ObservationQuery {
            reuploads: true,
            ..ObservationQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(flagged.len(), 1);
}

trait MicrosExt {
    fn with_micros(self) -> Self;
}

impl MicrosExt for Timestamp {
    fn with_micros(self) -> Self {
        chrono::DateTime::from_timestamp_micros(self.timestamp_micros()).unwrap()
    }
}

conformance!(
    providers_rules_assign_the_unassigned_queue,
    observations_open_cases_ranked_by_severity_then_confidence,
    decisions_are_kept_and_an_added_item_rekeys_the_case,
    one_open_referral_per_provider_and_url_across_organisations,
    concurrent_referrals_of_one_url_leave_exactly_one,
    the_status_machine_refuses_skips_and_backward_moves,
    outbox_messages_are_claimed_once_and_recorded_under_the_lease,
    checks_follow_the_schedule_and_close_the_referral,
    a_schedule_that_runs_out_expires_or_partially_removes,
    expired_leases_are_claimed_again_and_claims_never_overlap,
    a_copy_of_removed_content_elsewhere_is_a_reupload,
);
