//! The engine end to end over a real SQLite store: banks, visibility, matching, the index kept in
//! step (own changes, other nodes' changes, timed re-enables), import and export, tokens.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use takedown_corpus::{encode, generate, Format, Style, Transform};
use takedown_engine::{
    Caller, ContentMeta, ContentSearch, Engine, EngineConfig, EngineError, ImportRequest,
    NewBankRequest,
};
use takedown_exchange::HashListFormat;
use takedown_model::{Clock, ManualClock, Role};
use takedown_store::ContentUpdate;

struct Setup {
    /// Holds the database's directory until the test ends.
    _directory: tempfile::TempDir,
    path: String,
    clock: Arc<ManualClock>,
    engine: Arc<Engine>,
}

async fn setup() -> Setup {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("t.sqlite").display().to_string();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2018, 4, 25, 9, 0, 0).unwrap(),
    ));
    let store = takedown_store::open(&path, clock.clone()).await.unwrap();
    let engine = Engine::new(store, clock.clone(), EngineConfig::default());
    engine.load().await.unwrap();
    Setup {
        _directory: directory,
        path,
        clock,
        engine,
    }
}

fn poster(seed: u64) -> takedown_signals::Image {
    generate(Style::Poster, seed, 480, 360)
}

fn png(seed: u64) -> Vec<u8> {
    encode(&poster(seed), Format::Png)
}

fn jpeg_copy(seed: u64) -> Vec<u8> {
    encode(
        &Transform::Jpeg(70).apply(&poster(seed), 1),
        Format::Jpeg { quality: 80 },
    )
}

/// Two organisations, a token caller for each, and a bank owned by the first.
async fn two_orgs(engine: &Engine) -> (Caller, Caller) {
    let cli = Caller::cli();
    let unit = engine.create_organisation(&cli, "unit").await.unwrap();
    let platform = engine.create_organisation(&cli, "platform").await.unwrap();
    let unit_token = engine
        .create_token(&cli, Some(unit.id), Role::Curator, "curator", None)
        .await
        .unwrap();
    let platform_token = engine
        .create_token(&cli, Some(platform.id), Role::Matcher, "pipeline", None)
        .await
        .unwrap();
    let unit_caller = engine.authenticate(&unit_token.secret).await.unwrap();
    let platform_caller = engine.authenticate(&platform_token.secret).await.unwrap();
    engine
        .create_bank(
            &unit_caller,
            NewBankRequest {
                name: "AMAQ".into(),
                description: "test".into(),
                matching_enabled: true,
                owner: None,
            },
        )
        .await
        .unwrap();
    (unit_caller, platform_caller)
}

#[tokio::test]
async fn added_content_matches_at_once_and_only_where_visible() {
    let setup = setup().await;
    let engine = setup.engine.clone();
    let (unit, platform) = two_orgs(&engine).await;
    let (content, fingerprints) = engine
        .add_content_from_bytes(&unit, "AMAQ", png(1), ContentMeta::default())
        .await
        .unwrap();
    assert_eq!(content.signals.len(), 3, "pdq, md5 and sha256");

    // The JPEG copy matches by PDQ on the very next request.
    let report = engine.match_bytes(&unit, jpeg_copy(1), None).await.unwrap();
    assert_eq!(report.hits.len(), 1, "{:?}", report.hits);
    assert_eq!(report.hits[0].content, content.id);
    assert_eq!(report.hits[0].bank_name.as_str(), "AMAQ");
    assert!(report.hits[0].distance <= 31);
    // The exact file matches by all three signals.
    let report = engine.match_bytes(&unit, png(1), None).await.unwrap();
    assert_eq!(report.hits.len(), 3);

    // Another organisation sees nothing until the bank is shared with it.
    let pdq = fingerprints.image().unwrap().pdq.hash.to_hex();
    let hits = engine
        .lookup_signal(&platform, "pdq", &pdq, None)
        .await
        .unwrap();
    assert!(hits.is_empty());
    let named = engine
        .lookup_signal(&platform, "pdq", &pdq, Some(&["AMAQ".to_string()]))
        .await;
    assert!(matches!(named, Err(EngineError::NotFound(_))));
    engine
        .set_bank_shared(&unit, "AMAQ", "platform", true)
        .await
        .unwrap();
    let hits = engine
        .lookup_signal(&platform, "PDQ", &pdq.to_uppercase(), None)
        .await
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].distance, 0);

    // The matcher may match but not curate, even a shared bank; nor see the content.
    let denied = engine
        .add_content_from_bytes(&platform, "AMAQ", png(2), ContentMeta::default())
        .await;
    assert!(
        matches!(denied, Err(EngineError::Forbidden(_))),
        "{denied:?}"
    );
    assert!(matches!(
        engine.content(&platform, content.id).await,
        Err(EngineError::Forbidden(_))
    ));

    // Malformed input names the field.
    match engine.lookup_signal(&platform, "pdq", "abc", None).await {
        Err(EngineError::Invalid { field, message }) => {
            assert_eq!(field.as_deref(), Some("signal"));
            assert!(message.contains("64"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        engine.lookup_signal(&platform, "tmk", "00", None).await,
        Err(EngineError::Invalid { .. })
    ));
}

#[tokio::test]
async fn disabling_deleting_and_timed_reenable_follow_in_the_index() {
    let setup = setup().await;
    let (engine, clock) = (setup.engine.clone(), setup.clock.clone());
    let (unit, _) = two_orgs(&engine).await;
    let (content, _) = engine
        .add_content_from_bytes(&unit, "AMAQ", png(3), ContentMeta::default())
        .await
        .unwrap();
    let matches = |engine: Arc<Engine>, unit: Caller| async move {
        engine
            .match_bytes(&unit, jpeg_copy(3), None)
            .await
            .unwrap()
            .hits
            .len()
    };
    assert_eq!(matches(engine.clone(), unit.clone()).await, 1);
    let until = clock.now() + Duration::hours(6);
    engine
        .update_content(
            &unit,
            content.id,
            ContentUpdate {
                disabled_until: Some(Some(until)),
                ..ContentUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(matches(engine.clone(), unit.clone()).await, 0, "disabled");
    clock.advance(Duration::hours(7));
    engine.catch_up().await.unwrap();
    assert_eq!(
        matches(engine.clone(), unit.clone()).await,
        1,
        "re-enabled by time"
    );
    engine
        .update_content(
            &unit,
            content.id,
            ContentUpdate {
                enabled: Some(false),
                ..ContentUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(matches(engine.clone(), unit.clone()).await, 0);
    engine
        .update_content(
            &unit,
            content.id,
            ContentUpdate {
                enabled: Some(true),
                ..ContentUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(matches(engine.clone(), unit.clone()).await, 1);
    engine.delete_content(&unit, content.id).await.unwrap();
    assert_eq!(matches(engine.clone(), unit.clone()).await, 0);
    assert_eq!(engine.index_status().signals.values().sum::<usize>(), 0);
}

#[tokio::test]
async fn a_second_node_catches_up_through_the_change_feed() {
    let setup = setup().await;
    let (engine, path, clock) = (
        setup.engine.clone(),
        setup.path.clone(),
        setup.clock.clone(),
    );
    let (unit, _) = two_orgs(&engine).await;
    let other_store = takedown_store::open(&path, clock.clone()).await.unwrap();
    let other = Engine::new(other_store, clock.clone(), EngineConfig::default());
    other.load().await.unwrap();
    engine
        .add_content_from_bytes(&unit, "AMAQ", png(4), ContentMeta::default())
        .await
        .unwrap();
    let before = other.match_bytes(&Caller::cli(), jpeg_copy(4), None).await;
    assert!(before.unwrap().hits.is_empty(), "not yet seen");
    assert!(other.catch_up().await.unwrap() >= 3);
    let after = other
        .match_bytes(&Caller::cli(), jpeg_copy(4), None)
        .await
        .unwrap();
    assert_eq!(after.hits.len(), 1);
}

#[tokio::test]
async fn import_is_all_or_nothing_idempotent_and_exports_back() {
    let setup = setup().await;
    let engine = setup.engine.clone();
    let (unit, _) = two_orgs(&engine).await;
    let hash = |n: u32| format!("{n:064x}");
    let mut good = String::from("signal_type,value,entity,tier\n");
    for n in 1..=500u32 {
        good.push_str(&format!("pdq,{},amaq,3\n", hash(n * 7919)));
    }
    let mut bad = good.clone();
    bad.push_str("pdq,nothex,amaq,3\n");
    let request = |text: String| ImportRequest {
        bank: "AMAQ".into(),
        format: HashListFormat::Csv,
        origin: "list.csv".into(),
        reader: Box::new(std::io::Cursor::new(text.into_bytes())),
        progress_every: 100,
    };
    let mut reports = 0;
    let error = engine
        .import_hash_list(&unit, request(bad), &mut |_| reports += 1)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("line 502"), "{error}");
    let search = ContentSearch::default();
    assert!(engine
        .search_content(&unit, search.clone())
        .await
        .unwrap()
        .items
        .is_empty());
    let summary = engine
        .import_hash_list(&unit, request(good.clone()), &mut |_| {})
        .await
        .unwrap();
    assert_eq!((summary.added, summary.unchanged), (500, 0));
    let again = engine
        .import_hash_list(&unit, request(good), &mut |_| {})
        .await
        .unwrap();
    assert_eq!((again.added, again.unchanged), (0, 500));
    // Imported hashes are matchable at once.
    let hits = engine
        .lookup_signal(&unit, "pdq", &hash(7919), None)
        .await
        .unwrap();
    assert!(hits.iter().any(|hit| hit.distance == 0));
    let mut exported = Vec::new();
    let rows = engine
        .export_hash_list(&unit, "AMAQ", HashListFormat::Csv, &mut exported)
        .await
        .unwrap();
    assert_eq!(rows, 500);
    let text = String::from_utf8(exported).unwrap();
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("signal_type"))
            .count(),
        1
    );
    assert_eq!(text.lines().count(), 501);
    assert!(text.contains(&hash(7919)));
}

#[tokio::test]
async fn tokens_authenticate_until_revoked_and_roles_hold() {
    let setup = setup().await;
    let engine = setup.engine.clone();
    let cli = Caller::cli();
    let org = engine.create_organisation(&cli, "unit").await.unwrap();
    let created = engine
        .create_token(&cli, Some(org.id), Role::Admin, "admin", None)
        .await
        .unwrap();
    let admin = engine.authenticate(&created.secret).await.unwrap();
    assert_eq!(admin.org, Some(org.id));
    // An organisation admin cannot create organisations: that is the instance's job.
    assert!(matches!(
        engine.create_organisation(&admin, "other").await,
        Err(EngineError::Forbidden(_))
    ));
    let matcher = engine
        .create_token(&admin, None, Role::Matcher, "m", None)
        .await
        .unwrap();
    let matcher_caller = engine.authenticate(&matcher.secret).await.unwrap();
    assert!(matches!(
        engine.banks(&matcher_caller).await,
        Err(EngineError::Forbidden(_))
    ));
    engine.revoke_token(&admin, matcher.token.id).await.unwrap();
    assert!(matches!(
        engine.authenticate(&matcher.secret).await,
        Err(EngineError::Unauthenticated(_))
    ));
    assert!(matches!(
        engine.authenticate("tdk_nonsense").await,
        Err(EngineError::Unauthenticated(_))
    ));
    let entries = engine.audit_entries(&admin, None, 100).await.unwrap();
    assert!(
        entries.iter().any(|e| e.action.contains("token")),
        "{entries:?}"
    );
}

#[tokio::test]
async fn lookups_wait_for_the_first_load() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("t.sqlite").display().to_string();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2018, 4, 25, 9, 0, 0).unwrap(),
    ));
    let store = takedown_store::open(&path, clock.clone()).await.unwrap();
    let engine = Engine::new(store, clock, EngineConfig::default());
    assert!(matches!(
        engine
            .lookup_signal(
                &Caller::cli(),
                "md5",
                "900150983cd24fb0d6963f7d28e17f72",
                None
            )
            .await,
        Err(EngineError::NotReady)
    ));
    engine.load().await.unwrap();
    assert!(engine.is_ready());
}

#[tokio::test]
async fn demo_data_loads_once_and_its_query_images_match() {
    let setup = setup().await;
    let engine = setup.engine.clone();
    let images = setup._directory.path().join("demo-images");
    let summary = takedown_engine::load_demo(&engine, &images).await.unwrap();
    assert!(summary.created);
    assert_eq!(summary.banks.len(), 4);
    // Six images each; AL_BAYAN also holds two bulletins and AMAQ two statements.
    for (bank, count) in &summary.banks {
        let expected = if bank == "AL_BAYAN" || bank == "AMAQ" {
            8
        } else {
            6
        };
        assert_eq!(*count, expected, "{bank}");
    }
    let again = takedown_engine::load_demo(&engine, &images).await.unwrap();
    assert!(!again.created);
    let matcher = engine
        .authenticate(takedown_engine::DEMO_MATCHER_TOKEN)
        .await
        .unwrap();
    for (path, what) in &summary.query_images {
        let report = engine
            .match_bytes(&matcher, std::fs::read(path).unwrap(), None)
            .await
            .unwrap();
        let expected = !(what.contains("no match") || what.contains("mirrored"));
        assert_eq!(
            !report.hits.is_empty(),
            expected,
            "{what}: {:?}",
            report.hits
        );
        // The bulletin excerpt and the quoted statement match by their own signals.
        for (kind, signal) in [
            ("(audio)", takedown_model::SignalType::Audio),
            ("(text)", takedown_model::SignalType::TextMinhash),
        ] {
            if what.contains(kind) {
                assert!(
                    report.hits.iter().any(|hit| hit.signal_type == signal),
                    "{what}: {:?}",
                    report.hits
                );
            }
        }
    }
}
