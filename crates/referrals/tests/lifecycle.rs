//! Find, refer, verify end to end against real HTTP and SMTP servers on loopback, with an
//! injected clock: intake and matching, review, referral, delivery by e-mail and JSON POST,
//! re-checks, removal, a re-upload at another host, time to removal, deduplication across
//! organisations; and workers killed between claiming and recording.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeZone;
use takedown_corpus::{encode, generate, Format, Style, Transform};
use takedown_engine::{Caller, ContentMeta, Engine, EngineConfig, NewBankRequest};
use takedown_fetch::{FetchConfig, StaticResolver};
use takedown_model::{Clock, Confidence, Labels, ManualClock, Role, Severity, Tier, Tlp};
use takedown_referrals::demo::{JsonEndpoint, ProviderHost};
use takedown_referrals::records::{
    CaseStatus, CheckOutcome, CheckState, DecisionKind, Delivery, FetchKind, ItemState,
    NewProvider, NoticeFormat, OutboxState, ReferralStatus,
};
use takedown_referrals::smtp_sink::SmtpSink;
use takedown_referrals::{
    CheckSchedule, CreateReferrals, Decision, ExportFormat, IntakeRequest, ReferralConfig,
    Referrals, SenderInfo, SmtpConfig,
};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn poster(seed: u64) -> takedown_signals::Image {
    generate(Style::Poster, seed, 480, 360)
}

fn png(seed: u64) -> Vec<u8> {
    encode(&poster(seed), Format::Png)
}

fn copy(seed: u64, transform: Transform) -> Vec<u8> {
    encode(
        &transform.apply(&poster(seed), seed),
        Format::Jpeg { quality: 85 },
    )
}

struct World {
    _directory: tempfile::TempDir,
    clock: Arc<ManualClock>,
    engine: Arc<Engine>,
    referrals: Arc<Referrals>,
    unit: Caller,
    video: ProviderHost,
    files: ProviderHost,
    social: ProviderHost,
    smtp: SmtpSink,
    endpoint: JsonEndpoint,
}

impl World {
    fn video_url(&self, path: &str) -> String {
        self.video.url_as("videos.host-a.test", path)
    }
    fn files_url(&self, path: &str) -> String {
        self.files.url_as("files.host-b.test", path)
    }
    fn social_url(&self, path: &str) -> String {
        self.social.url_as("cdn.social.host-c.test", path)
    }
}

/// A referral unit with a bank of three generated posters, three loopback hosting providers
/// (two by e-mail, one by JSON endpoint), an SMTP sink, and the default check schedule.
async fn world() -> World {
    let directory = tempfile::tempdir().unwrap();
    let database = directory.path().join("t.sqlite").display().to_string();
    let clock = Arc::new(ManualClock::new(
        chrono::Utc.with_ymd_and_hms(2018, 4, 25, 9, 0, 0).unwrap(),
    ));
    let store = takedown_store::open(&database, clock.clone())
        .await
        .unwrap();
    let engine = Engine::new(store, clock.clone(), EngineConfig::default());
    let cli = Caller::cli();
    let org = engine.create_organisation(&cli, "Unit A").await.unwrap();
    let token = engine
        .create_token(&cli, Some(org.id), Role::Admin, "unit admin", None)
        .await
        .unwrap();
    let unit = engine.authenticate(&token.secret).await.unwrap();
    engine
        .create_bank(
            &unit,
            NewBankRequest {
                name: "AMAQ".into(),
                description: "test".into(),
                matching_enabled: true,
                owner: None,
            },
        )
        .await
        .unwrap();
    for seed in 1..=3u64 {
        let labels = Labels {
            entity: Some("amaq".into()),
            tier: Some(Tier::OfficialPropaganda),
            severity: Some(Severity::new(if seed == 2 { 6 } else { 3 }).unwrap()),
            confidence: Some(Confidence::new(2).unwrap()),
            behaviours: vec![],
            tlp: Tlp::Amber,
        };
        engine
            .add_content_from_bytes(
                &unit,
                "AMAQ",
                png(seed),
                ContentMeta {
                    labels,
                    ..ContentMeta::default()
                },
            )
            .await
            .unwrap();
    }
    engine.load().await.unwrap();

    let video = ProviderHost::start("127.0.0.1:0").await.unwrap();
    let files = ProviderHost::start("127.0.0.1:0").await.unwrap();
    let social = ProviderHost::start("127.0.0.1:0").await.unwrap();
    let smtp = SmtpSink::start("127.0.0.1:0").await.unwrap();
    let endpoint = JsonEndpoint::start("127.0.0.1:0").await.unwrap();
    let resolver = StaticResolver::new()
        .with("videos.host-a.test", [LOOPBACK])
        .with("files.host-b.test", [LOOPBACK])
        .with("cdn.social.host-c.test", [LOOPBACK])
        .with("unknown.host-d.test", [LOOPBACK]);
    let fetch = FetchConfig {
        allowlist: vec!["127.0.0.0/8".parse().unwrap()],
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(3),
        total_timeout: Duration::from_secs(5),
        per_host_interval: Duration::ZERO,
        retries: 0,
        jitter_seed: Some(7),
        ..FetchConfig::default()
    };
    let config = ReferralConfig {
        check_lease: Duration::from_secs(600),
        sender: SenderInfo {
            organisation: "Unit A IRU".into(),
            email: "iru@unit-a.test".into(),
            issuing_authority: "Unit A National Police".into(),
            member_state: "BE".into(),
            contact_point: "IRU duty desk".into(),
            ..SenderInfo::default()
        },
        smtp: Some(SmtpConfig::plain("127.0.0.1", smtp.address().port())),
        ..ReferralConfig::default()
    };
    let referrals =
        Referrals::with_resolver(engine.clone(), fetch, Arc::new(resolver), config).unwrap();
    let admin = Caller::cli();
    for (name, suffix, delivery, format, email, endpoint_url) in [
        (
            "Host A Videos",
            "host-a.test",
            Delivery::Email,
            NoticeFormat::EuOrder,
            "abuse@host-a.test",
            String::new(),
        ),
        (
            "Host B Files",
            "files.host-b.test",
            Delivery::Email,
            NoticeFormat::Text,
            "legal@host-b.test",
            String::new(),
        ),
        (
            "Host C Social",
            "social.host-c.test",
            Delivery::Http,
            NoticeFormat::Json,
            "",
            endpoint.url(),
        ),
    ] {
        referrals
            .create_provider(
                &admin,
                NewProvider {
                    name: name.into(),
                    contact_email: email.into(),
                    endpoint_url,
                    delivery,
                    notice_format: format,
                    legal_representative: format!("{name} Legal Rep"),
                    member_state: "IE".into(),
                    contact_point: format!("{name} T&S"),
                },
            )
            .await
            .unwrap();
        referrals
            .add_provider_rule(&admin, name, suffix)
            .await
            .unwrap();
    }
    World {
        _directory: directory,
        clock,
        engine,
        referrals,
        unit,
        video,
        files,
        social,
        smtp,
        endpoint,
    }
}

async fn submit(world: &World, urls: &[String]) -> Vec<takedown_referrals::IntakeReport> {
    world
        .referrals
        .submit_urls(
            &world.unit,
            IntakeRequest {
                urls: urls.to_vec(),
                org: None,
                source: "test".into(),
            },
        )
        .await
        .unwrap()
}

fn confirm() -> Decision {
    Decision {
        decision: DecisionKind::Confirm,
        entity: None,
        tier: None,
        grounds: Vec::new(),
        reason: "known release".into(),
        add_to_bank: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn find_refer_verify_removal_and_reupload() {
    let world = world().await;
    let referrals = &world.referrals;
    // Host A serves poster 1 as banked and a page embedding a re-encoded copy of poster 2;
    // host B a logo'd copy of poster 3 and an unrelated image; host C a copy of poster 3;
    // host D is known to no rule.
    world.video.put("/media/p1.png", "image/png", png(1));
    world
        .video
        .put("/media/p2.jpg", "image/jpeg", copy(2, Transform::Jpeg(70)));
    world
        .video
        .put_page("/watch/7", "release", &["/media/p2.jpg"]);
    // A 5% logo: PDQ distance 26 from the banked poster 3, inside the match threshold of 31
    // (a 10% logo moves this poster 38 bits, a true miss for PDQ, not a copy the test can expect
    // to be found).
    world
        .files
        .put("/f/p3.jpg", "image/jpeg", copy(3, Transform::Logo(5)));
    world.files.put(
        "/f/other.jpg",
        "image/jpeg",
        encode(
            &generate(Style::Distractor, 99, 480, 360),
            Format::Jpeg { quality: 85 },
        ),
    );
    world
        .social
        .put("/p/3.jpg", "image/jpeg", copy(3, Transform::Jpeg(80)));
    let unknown = world.social.url_as("unknown.host-d.test", "/p/3.jpg");
    let urls = vec![
        world.video_url("/media/p1.png"),
        world.video_url("/watch/7#comments"),
        world.files_url("/f/p3.jpg"),
        world.files_url("/f/other.jpg"),
        world.social_url("/p/3.jpg"),
        unknown.clone(),
        "file:///etc/passwd".to_string(),
    ];
    let reports = submit(&world, &urls).await;
    assert_eq!(reports.len(), 7);
    assert!(reports[6].error.as_deref().unwrap().contains("scheme"));
    let direct = &reports[0].observations[0];
    assert_eq!(direct.outcome, FetchKind::Live);
    assert_eq!(direct.http_status, Some(200));
    assert_eq!(direct.matches.len(), 1);
    assert_eq!(direct.matches[0].distance, 0);
    let page = &reports[1].observations[0];
    // The fragment is dropped; the embedded medium is what was fingerprinted.
    assert_eq!(page.url, world.video_url("/watch/7"));
    assert_eq!(
        page.media_url.as_deref(),
        Some(world.video_url("/media/p2.jpg").as_str())
    );
    assert_eq!(page.matches.len(), 1);
    assert!(reports[3].observations[0].matches.is_empty());
    assert!(reports[5].observations[0].provider.is_none());

    // Review: four cases, ranked; poster 2 (severity 6) first; the unrelated image last.
    let cases = referrals.cases(&world.unit, None, 100).await.unwrap();
    assert_eq!(cases.len(), 4);
    assert_eq!(cases[0].severity, 6);
    assert_eq!(cases.last().unwrap().content_id, None);
    let poster3 = cases
        .iter()
        .find(|case| case.observation_count == 3)
        .expect("the three copies of poster 3 share a case");
    assert_eq!(poster3.entity.as_deref(), Some("amaq"));
    for case in &cases {
        let decision = if case.content_id.is_some() {
            confirm()
        } else {
            Decision {
                decision: DecisionKind::Reject,
                reason: "not propaganda".into(),
                ..confirm()
            }
        };
        let decided = referrals
            .decide(&world.unit, case.id, decision)
            .await
            .unwrap();
        assert_eq!(decided.decisions.len(), 1);
    }
    let confirmed = referrals
        .cases(&world.unit, Some(CaseStatus::Confirmed), 100)
        .await
        .unwrap();
    assert_eq!(confirmed.len(), 3);

    // The unknown host waits in the unassigned queue until a rule covers it.
    let created = referrals
        .create_referrals(&world.unit, CreateReferrals::default())
        .await
        .unwrap();
    assert_eq!(created.referrals.len(), 3);
    let (_, assigned) = {
        referrals
            .create_provider(
                &Caller::cli(),
                NewProvider {
                    name: "Host D".into(),
                    contact_email: "abuse@host-d.test".into(),
                    endpoint_url: String::new(),
                    delivery: Delivery::Manual,
                    notice_format: NoticeFormat::Dsa,
                    legal_representative: String::new(),
                    member_state: String::new(),
                    contact_point: String::new(),
                },
            )
            .await
            .unwrap();
        referrals
            .add_provider_rule(&Caller::cli(), "Host D", "host-d.test")
            .await
            .unwrap()
    };
    assert_eq!(assigned, 1);
    let more = referrals
        .create_referrals(&world.unit, CreateReferrals::default())
        .await
        .unwrap();
    assert_eq!(more.referrals.len(), 1);
    let manual = &more.referrals[0];
    assert!(referrals
        .send(&world.unit, &manual.reference)
        .await
        .is_err());

    // Send: two e-mails and one JSON POST, all delivered at T0.
    let sent_at = world.clock.now();
    let mut by_provider = std::collections::HashMap::new();
    for referral in &created.referrals {
        let message = referrals
            .send(&world.unit, &referral.reference)
            .await
            .unwrap();
        assert_eq!(message.state, OutboxState::Pending);
        let provider = referrals.store_provider_name(referral).await;
        by_provider.insert(provider, referral.reference.clone());
    }
    let outbox = referrals.run_outbox("worker-1").await.unwrap();
    assert_eq!((outbox.claimed, outbox.delivered), (3, 3));
    let mails = world.smtp.distinct();
    assert_eq!(mails.len(), 2);
    let to_a = mails
        .iter()
        .find(|mail| mail.to == ["abuse@host-a.test"])
        .unwrap();
    let a_reference = &by_provider["Host A Videos"];
    assert!(to_a
        .header("Subject")
        .unwrap()
        .contains(a_reference.as_str()));
    assert!(to_a.data.contains("removal-order.html"));
    assert!(to_a
        .message_id()
        .unwrap()
        .contains(&a_reference.to_ascii_lowercase()));
    let posted = world.endpoint.distinct();
    assert_eq!(posted.len(), 1);
    let body: serde_json::Value = serde_json::from_str(&posted[0].body).unwrap();
    assert_eq!(body["reference"], by_provider["Host C Social"].as_str());
    assert_eq!(body["items"][0]["url"], world.social_url("/p/3.jpg"));
    for reference in by_provider.values() {
        let detail = referrals
            .referral_detail(&world.unit, reference)
            .await
            .unwrap();
        assert_eq!(detail.referral.status, ReferralStatus::Sent);
        assert_eq!(detail.referral.sent_at, Some(sent_at));
        assert_eq!(detail.messages[0].state, OutboxState::Sent);
        assert!(detail.messages[0].response.is_some());
    }

    // +1 h: everything still live.
    world.clock.advance(chrono::Duration::hours(1));
    let run = referrals.run_due_checks("worker-1").await.unwrap();
    assert_eq!(run.recorded, 4);
    assert_eq!(run.outcomes.get("live"), Some(&4));

    // Host A takes its copies down; +6 h: both A URLs seen gone, A's referral removed.
    world.video.take_down("/media/p1.png");
    world.video.take_down("/media/p2.jpg");
    world.clock.advance(chrono::Duration::hours(5));
    let run = referrals.run_due_checks("worker-1").await.unwrap();
    assert_eq!(run.recorded, 4);
    assert_eq!(run.outcomes.get("removed"), Some(&1));
    assert_eq!(run.outcomes.get("changed"), Some(&1), "{run:?}");
    let a = referrals
        .referral_detail(&world.unit, a_reference)
        .await
        .unwrap();
    assert_eq!(a.referral.status, ReferralStatus::Removed);
    let timing = a.removal.unwrap();
    assert_eq!(timing.time_to_removal, chrono::Duration::hours(6));
    assert_eq!(timing.at_least, chrono::Duration::hours(1));
    assert_eq!(
        timing.last_seen_live,
        Some(sent_at + chrono::Duration::hours(1))
    );
    for item in &a.items {
        assert_eq!(item.item.state, ItemState::Gone);
        let outcomes: Vec<CheckOutcome> = item
            .checks
            .iter()
            .filter_map(|check| check.result.as_ref().map(|r| r.outcome))
            .collect();
        assert_eq!(outcomes[0], CheckOutcome::Live);
        assert!(outcomes[1].is_gone());
        assert!(item
            .checks
            .iter()
            .all(|check| check.state == CheckState::Done));
    }
    // B and C are still referred and scheduled for +24 h.
    let counts = world.engine.store().check_counts().await.unwrap();
    assert_eq!(counts.pending, 2);
    assert_eq!(counts.next_due, Some(sent_at + chrono::Duration::hours(24)));

    // Poster 1 comes back at host B: flagged as a re-upload of A's removed item, already
    // confirmed, and ready for a new referral to B.
    world
        .files
        .put("/f/mirror.jpg", "image/jpeg", copy(1, Transform::Jpeg(75)));
    let reupload = submit(&world, &[world.files_url("/f/mirror.jpg")]).await;
    let observation = &reupload[0].observations[0];
    let removed_item = a
        .items
        .iter()
        .find(|item| item.item.media_url.is_none())
        .unwrap();
    assert_eq!(observation.reupload_of, Some(removed_item.item.id));
    let again = referrals
        .create_referrals(&world.unit, CreateReferrals::default())
        .await
        .unwrap();
    assert_eq!(again.referrals.len(), 1);
    let new_items = world
        .engine
        .store()
        .referral_items(again.referrals[0].id)
        .await
        .unwrap();
    assert_eq!(new_items.len(), 1);
    assert_eq!(new_items[0].reupload_of, Some(removed_item.item.id));

    // Another organisation on the instance cannot refer B's live URL again.
    let partner = partner_caller(&world).await;
    submit_as(&world, &partner, &[world.files_url("/f/p3.jpg")]).await;
    for case in referrals.cases(&partner, None, 10).await.unwrap() {
        referrals
            .decide(&partner, case.id, confirm())
            .await
            .unwrap();
    }
    let partner_ready = referrals
        .create_referrals(
            &partner,
            CreateReferrals {
                observations: referrals_observations(&world, &partner).await,
                ..CreateReferrals::default()
            },
        )
        .await
        .unwrap();
    assert!(partner_ready.referrals.is_empty());
    assert_eq!(
        partner_ready.skipped[0].existing_reference.as_deref(),
        Some(by_provider["Host B Files"].as_str())
    );
    // And cannot see unit A's referrals.
    assert!(referrals
        .referral_detail(&partner, a_reference)
        .await
        .is_err());

    // Exports.
    let text = referrals
        .export(&world.unit, a_reference, ExportFormat::Text)
        .await
        .unwrap();
    assert!(text.contains(&world.video_url("/media/p1.png")));
    assert!(text.contains("Art. 2(7)(a)"));
    let order: serde_json::Value = serde_json::from_str(
        &referrals
            .export(&world.unit, a_reference, ExportFormat::EuOrderJson)
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(order["section_a"]["reference_number"], a_reference.as_str());
    assert_eq!(order["section_a"]["issuing_member_state"], "BE");
    assert_eq!(
        order["section_a"]["addressee"]["legal_representative"],
        "Host A Videos Legal Rep"
    );
    assert_eq!(order["section_c"]["reasons"]["incites"], true);
    assert_eq!(order["section_c"]["reasons"]["threatens"], false);
    assert_eq!(order["section_b"]["content"].as_array().unwrap().len(), 2);
    let html = referrals
        .export(&world.unit, a_reference, ExportFormat::EuOrderHtml)
        .await
        .unwrap();
    assert!(
        html.starts_with("<!DOCTYPE html>") && html.contains("@page") && html.contains("&#9746;")
    );
    let dsa: serde_json::Value = serde_json::from_str(
        &referrals
            .export(&world.unit, a_reference, ExportFormat::Dsa)
            .await
            .unwrap(),
    )
    .unwrap();
    let statement = &dsa["statements"][0];
    assert_eq!(
        statement["decision_ground"],
        "DECISION_GROUND_ILLEGAL_CONTENT"
    );
    assert_eq!(
        statement["category"],
        "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
    );
    assert_eq!(
        statement["category_specification"][0],
        "KEYWORD_TERRORIST_CONTENT"
    );
    assert_eq!(statement["source_type"], "SOURCE_TRUSTED_FLAGGER");
    assert_eq!(statement["automated_detection"], "Yes");
    let json: serde_json::Value = serde_json::from_str(
        &referrals
            .export(&world.unit, a_reference, ExportFormat::Json)
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(json["removal"]["time_to_removal_seconds"], 6 * 3600);
    // The directly referred image answered 410 at its second check. Items are listed in the
    // order concurrent intake recorded them (the page URL, whose host still answers 200 with
    // the medium gone, may come first), so the item is found by its URL, not its position.
    let direct_url = world.video_url("/media/p1.png");
    let direct = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["url"] == direct_url.as_str())
        .unwrap_or_else(|| panic!("{direct_url} is not in the referral: {json}"));
    assert_eq!(direct["checks"][1]["http_status"], 410);

    // The audit chain holds every step.
    assert!(matches!(
        world.engine.store().verify_audit().await.unwrap(),
        takedown_store::AuditVerification::Intact { .. }
    ));
}

async fn partner_caller(world: &World) -> Caller {
    let cli = Caller::cli();
    let org = world
        .engine
        .create_organisation(&cli, "Partner")
        .await
        .unwrap();
    world
        .engine
        .set_bank_shared(&cli, "AMAQ", "Partner", true)
        .await
        .unwrap();
    world.engine.catch_up().await.unwrap();
    let token = world
        .engine
        .create_token(&cli, Some(org.id), Role::Analyst, "partner analyst", None)
        .await
        .unwrap();
    world.engine.authenticate(&token.secret).await.unwrap()
}

async fn submit_as(world: &World, caller: &Caller, urls: &[String]) {
    world
        .referrals
        .submit_urls(
            caller,
            IntakeRequest {
                urls: urls.to_vec(),
                org: None,
                source: "partner".into(),
            },
        )
        .await
        .unwrap();
}

async fn referrals_observations(
    world: &World,
    caller: &Caller,
) -> Vec<takedown_referrals::records::ObservationId> {
    world
        .engine
        .store()
        .observations(&takedown_referrals::records::ObservationQuery {
            org: caller.org,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|observation| observation.id)
        .collect()
}

trait ProviderName {
    async fn store_provider_name(&self, referral: &takedown_referrals::records::Referral)
        -> String;
}

impl ProviderName for Arc<Referrals> {
    async fn store_provider_name(
        &self,
        referral: &takedown_referrals::records::Referral,
    ) -> String {
        self.engine()
            .store()
            .provider(referral.provider)
            .await
            .unwrap()
            .name
    }
}

/// One referral with two URLs, sent, its first checks due now.
async fn sent_referral(world: &World) -> String {
    world
        .files
        .put("/f/a.jpg", "image/jpeg", copy(1, Transform::Jpeg(70)));
    world
        .files
        .put("/f/b.jpg", "image/jpeg", copy(2, Transform::Jpeg(70)));
    submit(
        world,
        &[world.files_url("/f/a.jpg"), world.files_url("/f/b.jpg")],
    )
    .await;
    for case in world.referrals.cases(&world.unit, None, 10).await.unwrap() {
        world
            .referrals
            .decide(&world.unit, case.id, confirm())
            .await
            .unwrap();
    }
    let created = world
        .referrals
        .create_referrals(&world.unit, CreateReferrals::default())
        .await
        .unwrap();
    let reference = created.referrals[0].reference.clone();
    world.referrals.send(&world.unit, &reference).await.unwrap();
    world.referrals.run_outbox("sender").await.unwrap();
    world.clock.advance(chrono::Duration::hours(1));
    reference
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_between_claim_and_record_loses_no_check_and_repeats_none() {
    let world = world().await;
    let reference = sent_referral(&world).await;
    // The provider is slow: the doomed worker claims both checks and is killed while it
    // waits for the answers, before recording anything.
    world.files.slow_down("/f/a.jpg", Duration::from_secs(30));
    world.files.slow_down("/f/b.jpg", Duration::from_secs(30));
    let doomed = {
        let referrals = world.referrals.clone();
        tokio::spawn(async move { referrals.run_due_checks("doomed").await })
    };
    for _ in 0..200 {
        let asked = world
            .files
            .requests()
            .iter()
            .filter(|p| p.ends_with("a.jpg") || p.ends_with("b.jpg"))
            .count();
        if asked >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    doomed.abort();
    assert!(doomed.await.unwrap_err().is_cancelled());
    world.files.slow_down("/f/a.jpg", Duration::ZERO);
    world.files.slow_down("/f/b.jpg", Duration::ZERO);
    let store = world.engine.store();
    assert_eq!(store.check_counts().await.unwrap().claimed, 2);

    // A survivor finds nothing to do while the leases hold...
    let early = world.referrals.run_due_checks("survivor").await.unwrap();
    assert_eq!(early.claimed, 0);
    // ...and takes both over once they expire.
    world.clock.advance(chrono::Duration::minutes(11));
    let late = world.referrals.run_due_checks("survivor").await.unwrap();
    assert_eq!((late.claimed, late.recorded), (2, 2));

    let detail = world
        .referrals
        .referral_detail(&world.unit, &reference)
        .await
        .unwrap();
    for item in &detail.items {
        let first: Vec<_> = item.checks.iter().filter(|c| c.sequence == 1).collect();
        assert_eq!(first.len(), 1, "one record per scheduled check");
        assert_eq!(first[0].state, CheckState::Done);
        assert_eq!(first[0].claims, 2);
        assert_eq!(first[0].lease_owner.as_deref(), Some("survivor"));
        assert_eq!(item.item.checks_done, 1);
        let next: Vec<_> = item.checks.iter().filter(|c| c.sequence == 2).collect();
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].state, CheckState::Pending);
    }
    // The doomed worker's result, were it to arrive now, would be dropped.
    let claimed = world.referrals.claim_due_checks("x").await.unwrap();
    assert!(claimed.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_delivery_resends_the_same_message_which_receivers_deduplicate() {
    let world = world().await;
    world
        .files
        .put("/f/a.jpg", "image/jpeg", copy(1, Transform::Jpeg(70)));
    world
        .social
        .put("/p/a.jpg", "image/jpeg", copy(1, Transform::Jpeg(70)));
    submit(
        &world,
        &[world.files_url("/f/a.jpg"), world.social_url("/p/a.jpg")],
    )
    .await;
    for case in world.referrals.cases(&world.unit, None, 10).await.unwrap() {
        world
            .referrals
            .decide(&world.unit, case.id, confirm())
            .await
            .unwrap();
    }
    let created = world
        .referrals
        .create_referrals(&world.unit, CreateReferrals::default())
        .await
        .unwrap();
    assert_eq!(created.referrals.len(), 2);
    for referral in &created.referrals {
        world
            .referrals
            .send(&world.unit, &referral.reference)
            .await
            .unwrap();
    }
    let store = world.engine.store();
    // The doomed worker delivers both messages and dies before recording.
    let claimed = store
        .claim_messages(
            "doomed",
            world.clock.now(),
            chrono::Duration::minutes(5),
            10,
        )
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    for message in &claimed {
        world.referrals.deliver_message(message).await.unwrap();
    }
    assert_eq!(world.smtp.received().len(), 1);
    assert_eq!(world.endpoint.received().len(), 1);
    // After the lease, the survivor sends again: the same bytes, the same keys.
    world.clock.advance(chrono::Duration::minutes(6));
    let run = world.referrals.run_outbox("survivor").await.unwrap();
    assert_eq!((run.claimed, run.delivered), (2, 2));
    let mails = world.smtp.received();
    assert_eq!(mails.len(), 2);
    assert_eq!(mails[0].data, mails[1].data);
    assert_eq!(world.smtp.distinct().len(), 1);
    let posts = world.endpoint.received();
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0].idempotency_key, posts[1].idempotency_key);
    assert_eq!(world.endpoint.distinct().len(), 1);
    // Each referral is sent once, with one message, and its checks scheduled once.
    for referral in &created.referrals {
        let detail = world
            .referrals
            .referral_detail(&world.unit, &referral.reference)
            .await
            .unwrap();
        assert_eq!(detail.referral.status, ReferralStatus::Sent);
        assert_eq!(detail.messages.len(), 1);
        assert_eq!(detail.messages[0].attempts, 2);
        assert_eq!(detail.items[0].checks.len(), 1);
    }
    // Sending again does not queue a second message.
    let again = world
        .referrals
        .send(&world.unit, &created.referrals[0].reference)
        .await
        .unwrap();
    assert_eq!(again.state, OutboxState::Sent);
    assert!(
        world
            .referrals
            .run_outbox("survivor")
            .await
            .unwrap()
            .claimed
            == 0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_and_the_fast_schedule() {
    let world = world().await;
    let cli = Caller::cli();
    let org = world.engine.organisation_by_name("Unit A").await.unwrap();
    let matcher = world
        .engine
        .create_token(&cli, Some(org.id), Role::Matcher, "pipeline", None)
        .await
        .unwrap();
    let matcher = world.engine.authenticate(&matcher.secret).await.unwrap();
    let analyst = world
        .engine
        .create_token(&cli, Some(org.id), Role::Analyst, "analyst", None)
        .await
        .unwrap();
    let analyst = world.engine.authenticate(&analyst.secret).await.unwrap();
    assert!(world.referrals.cases(&matcher, None, 10).await.is_err());
    assert!(world.referrals.cases(&analyst, None, 10).await.is_ok());
    assert!(world
        .referrals
        .add_provider_rule(&analyst, "Host B Files", "more.host-b.test")
        .await
        .is_err());
    // Analysts confirm, but adding to a bank needs the curator's permission too.
    world.files.put(
        "/f/new.jpg",
        "image/jpeg",
        encode(
            &generate(Style::Distractor, 5, 480, 360),
            Format::Jpeg { quality: 85 },
        ),
    );
    submit_as(&world, &analyst, &[world.files_url("/f/new.jpg")]).await;
    let case = world
        .referrals
        .cases(&analyst, None, 10)
        .await
        .unwrap()
        .remove(0);
    let adding = Decision {
        entity: Some("nashir".into()),
        tier: Some(Tier::Promotional),
        add_to_bank: Some("AMAQ".into()),
        ..confirm()
    };
    assert!(world
        .referrals
        .decide(&analyst, case.id, adding.clone())
        .await
        .is_err());
    let decided = world
        .referrals
        .decide(&world.unit, case.id, adding)
        .await
        .unwrap();
    assert_eq!(decided.case.status, CaseStatus::Confirmed);
    let added = decided.case.content_id.expect("added to the bank");
    assert_eq!(decided.case.content_key, format!("content:{}", added.0));
    // The schedule helper used by the demo: every interval, bounded.
    let schedule = CheckSchedule::every(Duration::from_secs(10), Duration::from_secs(600));
    assert_eq!(
        schedule.due(world.clock.now(), 2),
        Some(world.clock.now() + chrono::Duration::seconds(20))
    );
}
