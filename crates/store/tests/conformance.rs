//! One conformance suite, run against both backends.
//!
//! Every case is an `async fn(&TestDb)` written once; the `conformance!` macro of
//! `testdb/mod.rs`, invoked at the bottom, turns each into `sqlite::<case>` (a fresh file in a
//! temporary directory) and `postgres::<case>` (a fresh database created on the server named
//! by `TAKEDOWN_TEST_POSTGRES_URL`, dropped afterwards, so cases run in parallel). Without
//! that variable the PostgreSQL cases print `skipped: TAKEDOWN_TEST_POSTGRES_URL is not set`
//! and pass.

mod testdb;

use std::io::BufRead;
use std::sync::Arc;
use std::time::Duration;

use futures_util::TryStreamExt;
use sqlx::Connection;
use takedown_model::{
    Actor, BankId, BankName, Confidence, ContentId, Labels, NewSignal, OrgId, Role, Severity,
    SignalType, SystemClock, Tier, Timestamp, Tlp,
};
use takedown_store::{
    active_signals, bank_is_visible_to, export_content, generate_token_secret, hash_token_secret,
    AuditProblem, AuditQuery, AuditVerification, Backend, BankScope, BankUpdate, ContentQuery,
    ContentUpdate, ImportOptions, ImportProgress, ImportRow, NewBank, NewContent, NewToken,
    NewUser, RowError, SignalChange, Store, StoreError,
};

use testdb::{conformance, TestDb};

// -------------------------------------------------------------------------------------------
// Test databases (`testdb/mod.rs`)

/// Where every case's clock starts.
fn start_time() -> Timestamp {
    // 2019-11-21, Europol's Telegram action day, with sub-second digits.
    chrono::DateTime::from_timestamp(1_574_330_400, 123_456_000).expect("valid time")
}

// -------------------------------------------------------------------------------------------
// Helpers

const CLI: Actor = Actor::Cli;

fn md5(n: u64) -> NewSignal {
    NewSignal {
        signal_type: SignalType::Md5,
        algorithm_version: 1,
        value: format!("{n:032x}"),
        quality: None,
    }
}

fn pdq(n: u64, quality: u8) -> NewSignal {
    NewSignal {
        signal_type: SignalType::Pdq,
        algorithm_version: 1,
        value: format!("{:064x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
        quality: Some(quality),
    }
}

fn item(n: u64) -> NewContent {
    NewContent::with_signals("test", vec![md5(n)])
}

fn bank_name(name: &str) -> BankName {
    BankName::new(name).expect("valid bank name")
}

async fn org(store: &Arc<dyn Store>, name: &str) -> OrgId {
    store
        .create_organisation(&CLI, name)
        .await
        .expect("create organisation")
        .id
}

async fn bank(store: &Arc<dyn Store>, owner: OrgId, name: &str) -> BankId {
    store
        .create_bank(
            &CLI,
            NewBank {
                name: bank_name(name),
                owner,
                description: format!("{name} test bank"),
                matching_enabled: true,
            },
        )
        .await
        .expect("create bank")
        .id
}

fn rows(range: std::ops::Range<u64>) -> Vec<Result<ImportRow, RowError>> {
    range
        .map(|n| {
            let mut content = item(n);
            content.labels.entity = Some("amaq".into());
            content.labels.tier = Some(Tier::OfficialPropaganda);
            content.note = format!("row {n}");
            // The file's header is line 1.
            Ok(ImportRow {
                line: n + 2,
                content,
            })
        })
        .collect()
}

async fn import(
    store: &Arc<dyn Store>,
    bank: BankId,
    rows: Vec<Result<ImportRow, RowError>>,
) -> Result<(takedown_store::ImportSummary, Vec<ImportProgress>), StoreError> {
    let mut reports = Vec::new();
    let options = ImportOptions {
        progress_every: 1_000,
        origin: "list.csv".into(),
    };
    let mut iterator = rows.into_iter();
    let summary = store
        .import_content(&CLI, bank, &mut iterator, &options, &mut |p| {
            reports.push(p)
        })
        .await?;
    Ok((summary, reports))
}

async fn audit_count(store: &Arc<dyn Store>) -> i64 {
    match store.verify_audit().await.expect("verify") {
        AuditVerification::Intact { entries, .. } => entries,
        broken => panic!("audit chain broken: {broken:?}"),
    }
}

async fn all_changes(store: &Arc<dyn Store>, after: i64, now: Timestamp) -> Vec<SignalChange> {
    let mut changes = Vec::new();
    let mut cursor = after;
    loop {
        let page = store
            .signal_changes_since(cursor, now, 3)
            .await
            .expect("changes");
        let Some(last) = page.last() else {
            return changes;
        };
        cursor = last.sequence();
        changes.extend(page);
    }
}

// -------------------------------------------------------------------------------------------
// Cases

async fn migrations_create_a_fresh_database_and_reopen_idempotently(db: &TestDb) {
    let store = db.open().await;
    let unit = org(&store, "Referral Unit").await;
    bank(&store, unit, "AMAQ").await;
    store.close().await;
    // Opening again runs the migrator against an up-to-date schema: nothing to do, nothing lost.
    for _ in 0..2 {
        let store = db.open().await;
        assert_eq!(store.list_banks().await.unwrap().len(), 1);
        assert_eq!(
            store.organisation(unit).await.unwrap().name,
            "Referral Unit"
        );
        assert_eq!(audit_count(&store).await, 2);
        store.close().await;
    }
}

async fn organisations_and_users_crud(db: &TestDb) {
    let store = db.open().await;
    let unit = store.create_organisation(&CLI, "  EU IRU ").await.unwrap();
    assert_eq!(unit.name, "EU IRU");
    assert_eq!(unit.created_at, db.now().with_nanosecond_micros());
    assert!(matches!(
        store.create_organisation(&CLI, "EU IRU").await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.create_organisation(&CLI, "").await,
        Err(StoreError::Invalid(_))
    ));
    let platform = org(&store, "Platform").await;
    assert_eq!(store.organisation_by_name("EU IRU").await.unwrap(), unit);
    assert!(matches!(
        store.organisation(OrgId(999)).await,
        Err(StoreError::NotFound(_))
    ));
    let renamed = store
        .rename_organisation(&CLI, unit.id, "Europol EU IRU")
        .await
        .unwrap();
    assert_eq!(store.organisation(unit.id).await.unwrap(), renamed);
    assert!(matches!(
        store.rename_organisation(&CLI, unit.id, "Platform").await,
        Err(StoreError::Conflict(_))
    ));
    let names: Vec<String> = store
        .list_organisations()
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.name)
        .collect();
    assert_eq!(names, ["Europol EU IRU", "Platform"]);

    let analyst = store
        .create_user(
            &CLI,
            NewUser {
                org: unit.id,
                name: "analyst1".into(),
                role: Role::Analyst,
            },
        )
        .await
        .unwrap();
    assert_eq!(store.user(analyst.id).await.unwrap(), analyst);
    assert_eq!(store.user_by_name("analyst1").await.unwrap(), analyst);
    assert!(matches!(
        store
            .create_user(
                &CLI,
                NewUser {
                    org: platform,
                    name: "analyst1".into(),
                    role: Role::Admin,
                },
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .create_user(
                &CLI,
                NewUser {
                    org: OrgId(999),
                    name: "ghost".into(),
                    role: Role::Admin,
                },
            )
            .await,
        Err(StoreError::NotFound(_))
    ));
    let curator = store
        .set_user_role(&CLI, analyst.id, Role::Curator)
        .await
        .unwrap();
    assert_eq!(curator.role, Role::Curator);
    assert_eq!(store.list_users(unit.id).await.unwrap(), vec![curator]);
    assert!(store.list_users(platform).await.unwrap().is_empty());
    assert_eq!(audit_count(&store).await, 5);
}

async fn tokens_are_found_by_hash_and_stop_at_expiry_and_revocation(db: &TestDb) {
    let store = db.open().await;
    let unit = org(&store, "Unit").await;
    let other = org(&store, "Other").await;
    let user = store
        .create_user(
            &CLI,
            NewUser {
                org: unit,
                name: "admin".into(),
                role: Role::Admin,
            },
        )
        .await
        .unwrap();
    let secret = generate_token_secret();
    let expires_at = db.now() + chrono::Duration::hours(1);
    let token = store
        .create_token(
            &CLI,
            NewToken {
                org: unit,
                user: Some(user.id),
                role: Role::Matcher,
                name: "upload-pipeline".into(),
                secret_hash: hash_token_secret(&secret),
                expires_at: Some(expires_at),
            },
        )
        .await
        .unwrap();
    assert_eq!(token.expires_at, Some(expires_at.with_nanosecond_micros()));
    assert_eq!(store.token(token.id).await.unwrap(), token);
    assert_eq!(
        store
            .authenticate_token(&hash_token_secret(&secret))
            .await
            .unwrap(),
        Some(token.clone())
    );
    assert_eq!(
        store
            .authenticate_token(&hash_token_secret("tdk_wrong"))
            .await
            .unwrap(),
        None
    );
    // A secret passed where its hash belongs is refused, never stored.
    let refused = store
        .create_token(
            &CLI,
            NewToken {
                org: unit,
                user: None,
                role: Role::Admin,
                name: "plain".into(),
                secret_hash: secret.clone(),
                expires_at: None,
            },
        )
        .await;
    assert!(matches!(refused, Err(StoreError::Invalid(_))));
    assert_eq!(store.authenticate_token(&secret).await.unwrap(), None);
    // A user of another organisation cannot own the token.
    let foreign = store
        .create_token(
            &CLI,
            NewToken {
                org: other,
                user: Some(user.id),
                role: Role::Admin,
                name: "foreign".into(),
                secret_hash: hash_token_secret(&generate_token_secret()),
                expires_at: None,
            },
        )
        .await;
    assert!(matches!(foreign, Err(StoreError::Invalid(_))));

    // Expiry: valid until the instant before `expires_at`.
    db.clock.set(expires_at - chrono::Duration::microseconds(1));
    assert!(store
        .authenticate_token(&hash_token_secret(&secret))
        .await
        .unwrap()
        .is_some());
    db.clock.set(expires_at);
    assert_eq!(
        store
            .authenticate_token(&hash_token_secret(&secret))
            .await
            .unwrap(),
        None
    );

    // Revocation.
    db.clock.set(start_time());
    let second_secret = generate_token_secret();
    let second = store
        .create_token(
            &CLI,
            NewToken {
                org: unit,
                user: None,
                role: Role::Curator,
                name: "curation".into(),
                secret_hash: hash_token_secret(&second_secret),
                expires_at: None,
            },
        )
        .await
        .unwrap();
    assert!(store
        .authenticate_token(&hash_token_secret(&second_secret))
        .await
        .unwrap()
        .is_some());
    db.clock.advance(chrono::Duration::minutes(5));
    let revoked = store.revoke_token(&CLI, second.id).await.unwrap();
    assert_eq!(revoked.revoked_at, Some(db.now().with_nanosecond_micros()));
    assert_eq!(
        store
            .authenticate_token(&hash_token_secret(&second_secret))
            .await
            .unwrap(),
        None
    );
    db.clock.advance(chrono::Duration::minutes(5));
    let again = store.revoke_token(&CLI, second.id).await.unwrap();
    assert_eq!(
        again.revoked_at, revoked.revoked_at,
        "first revocation time is kept"
    );
    let listed = store.list_tokens(unit).await.unwrap();
    assert_eq!(listed, vec![revoked, token]);
    // Two organisations, one user, two tokens, one revocation; no entry for the second revoke.
    assert_eq!(audit_count(&store).await, 6);
    let entries = store.audit_entries(&AuditQuery::default()).await.unwrap();
    assert!(
        entries.iter().all(|entry| !entry
            .after
            .clone()
            .unwrap_or_default()
            .contains(&hash_token_secret(&secret))),
        "token hashes never reach the audit log"
    );
}

async fn banks_crud_and_duplicate_names_conflict(db: &TestDb) {
    let store = db.open().await;
    let unit = org(&store, "Unit").await;
    let created = store
        .create_bank(
            &CLI,
            NewBank {
                name: bank_name("AMAQ"),
                owner: unit,
                description: "Amaq claims".into(),
                matching_enabled: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(store.bank(created.id).await.unwrap(), created);
    assert_eq!(
        store.bank_by_name(&bank_name("AMAQ")).await.unwrap(),
        created
    );
    let duplicate = store
        .create_bank(
            &CLI,
            NewBank {
                name: bank_name("AMAQ"),
                owner: unit,
                description: String::new(),
                matching_enabled: false,
            },
        )
        .await;
    match duplicate {
        Err(StoreError::Conflict(message)) => assert_eq!(message, "bank AMAQ already exists"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let orphan = store
        .create_bank(
            &CLI,
            NewBank {
                name: bank_name("ORPHAN"),
                owner: OrgId(999),
                description: String::new(),
                matching_enabled: true,
            },
        )
        .await;
    assert!(matches!(orphan, Err(StoreError::NotFound(_))));
    bank(&store, unit, "NASHIR").await;
    db.clock.advance(chrono::Duration::seconds(1));
    let updated = store
        .update_bank(
            &CLI,
            created.id,
            BankUpdate {
                name: Some(bank_name("AMAQ_2019")),
                description: Some("renamed".into()),
                matching_enabled: Some(false),
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.name.as_str(), "AMAQ_2019");
    assert!(!updated.matching_enabled);
    assert_eq!(updated.created_at, created.created_at);
    assert_eq!(updated.updated_at, db.now().with_nanosecond_micros());
    assert_eq!(store.bank(created.id).await.unwrap(), updated);
    assert!(matches!(
        store.bank_by_name(&bank_name("AMAQ")).await,
        Err(StoreError::NotFound(_))
    ));
    let clash = store
        .update_bank(
            &CLI,
            created.id,
            BankUpdate {
                name: Some(bank_name("NASHIR")),
                ..BankUpdate::default()
            },
        )
        .await;
    assert!(matches!(clash, Err(StoreError::Conflict(_))));
    let names: Vec<String> = store
        .list_banks()
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.name.to_string())
        .collect();
    assert_eq!(names, ["AMAQ_2019", "NASHIR"]);
    store.delete_bank(&CLI, created.id).await.unwrap();
    assert!(matches!(
        store.bank(created.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.delete_bank(&CLI, created.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(audit_count(&store).await, 5);
}

async fn banks_are_visible_to_owner_and_sharees_only(db: &TestDb) {
    let store = db.open().await;
    let police = org(&store, "Police").await;
    let platform = org(&store, "Platform").await;
    let research = org(&store, "Research").await;
    let amaq = bank(&store, police, "AMAQ").await;
    let nashir = bank(&store, police, "NASHIR").await;
    let own = bank(&store, platform, "PLATFORM_OWN").await;
    let visible = |org: OrgId| {
        let store = store.clone();
        async move {
            store
                .banks_visible_to(org)
                .await
                .unwrap()
                .into_iter()
                .map(|b| b.name.to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(visible(police).await, ["AMAQ", "NASHIR"]);
    assert_eq!(visible(platform).await, ["PLATFORM_OWN"]);
    assert!(visible(research).await.is_empty());

    let shared = store.share_bank(&CLI, amaq, platform).await.unwrap();
    assert_eq!(shared.shared_with, vec![platform]);
    assert_eq!(store.bank(amaq).await.unwrap(), shared);
    assert!(bank_is_visible_to(&shared, platform));
    assert!(!bank_is_visible_to(&shared, research));
    assert_eq!(visible(platform).await, ["AMAQ", "PLATFORM_OWN"]);
    assert!(visible(research).await.is_empty());
    // Sharing twice changes nothing and records nothing.
    let entries = audit_count(&store).await;
    assert_eq!(
        store.share_bank(&CLI, amaq, platform).await.unwrap(),
        shared
    );
    assert_eq!(audit_count(&store).await, entries);
    store.share_bank(&CLI, amaq, research).await.unwrap();
    assert_eq!(
        store.bank(amaq).await.unwrap().shared_with,
        vec![platform, research]
    );
    assert_eq!(visible(research).await, ["AMAQ"]);
    assert!(matches!(
        store.share_bank(&CLI, nashir, police).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.share_bank(&CLI, nashir, OrgId(999)).await,
        Err(StoreError::NotFound(_))
    ));
    let unshared = store.unshare_bank(&CLI, amaq, platform).await.unwrap();
    assert_eq!(unshared.shared_with, vec![research]);
    assert_eq!(visible(platform).await, ["PLATFORM_OWN"]);
    assert_eq!(visible(police).await, ["AMAQ", "NASHIR"]);
    // Content of a bank shared with nobody is not reached through someone else's scope.
    let item = store.add_content(&CLI, own, item(1)).await.unwrap();
    let police_scope: Vec<BankId> = store
        .banks_visible_to(police)
        .await
        .unwrap()
        .iter()
        .map(|b| b.id)
        .collect();
    let found = store
        .search_content(&ContentQuery {
            scope: BankScope::Only(police_scope),
            signal_value: Some(item.signals[0].value.clone()),
            ..ContentQuery::default()
        })
        .await
        .unwrap();
    assert!(found.items.is_empty());
    audit_count(&store).await;
}

fn full_labels() -> Labels {
    Labels {
        entity: Some("  Al-Bayan ".into()),
        tier: Some(Tier::Crisis),
        severity: Some(Severity::new(7).unwrap()),
        confidence: Some(Confidence::new(2).unwrap()),
        behaviours: vec![
            "Instruction".into(),
            "claim-of-responsibility".into(),
            "instruction".into(),
        ],
        tlp: Tlp::AmberStrict,
    }
}

async fn content_crud_and_labels_round_trip(db: &TestDb) {
    let store = db.open().await;
    let unit = org(&store, "Unit").await;
    let amaq = bank(&store, unit, "AMAQ").await;
    let other = bank(&store, unit, "OTHER").await;
    let disabled_until = db.now() + chrono::Duration::days(3);
    let new = NewContent {
        labels: full_labels(),
        note: "bulletin 42 — نشرة".into(),
        source: "tcap".into(),
        enabled: false,
        disabled_until: Some(disabled_until),
        signals: vec![
            pdq(1, 93),
            NewSignal {
                signal_type: SignalType::Sha256,
                algorithm_version: 2,
                value: "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855".into(),
                quality: None,
            },
        ],
    };
    let created = store.add_content(&CLI, amaq, new).await.unwrap();
    assert_eq!(created.labels.entity.as_deref(), Some("al-bayan"));
    assert_eq!(
        created.labels.behaviours,
        ["claim-of-responsibility", "instruction"]
    );
    assert_eq!(created.labels.tier, Some(Tier::Crisis));
    assert_eq!(created.labels.severity.map(|s| s.value()), Some(7));
    assert_eq!(created.labels.confidence.map(|c| c.value()), Some(2));
    assert_eq!(created.labels.tlp, Tlp::AmberStrict);
    assert_eq!(
        created.signals[1].value,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(created.signals[1].algorithm_version, 2);
    assert_eq!(created.signals[0].quality, Some(93));
    assert_eq!(
        created.disabled_until,
        Some(disabled_until.with_nanosecond_micros())
    );
    assert!(!created.is_active(db.now()));
    let read = store.content(created.id).await.unwrap();
    assert_eq!(read, created, "every field round-trips");

    // Labels with nothing set round-trip too.
    let bare = store.add_content(&CLI, amaq, item(7)).await.unwrap();
    assert_eq!(bare.labels, Labels::default());
    assert_eq!(store.content(bare.id).await.unwrap(), bare);

    // The same signal twice in one bank conflicts; in another bank it is fine.
    let duplicate = store
        .add_content(&CLI, amaq, NewContent::with_signals("x", vec![pdq(1, 50)]))
        .await;
    assert!(
        matches!(duplicate, Err(StoreError::Conflict(_))),
        "{duplicate:?}"
    );
    store
        .add_content(&CLI, other, NewContent::with_signals("x", vec![pdq(1, 50)]))
        .await
        .unwrap();
    assert!(matches!(
        store
            .add_content(&CLI, amaq, NewContent::with_signals("x", vec![]))
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.add_content(&CLI, BankId(999), item(8)).await,
        Err(StoreError::NotFound(_))
    ));

    db.clock.advance(chrono::Duration::minutes(1));
    let updated = store
        .update_content(
            &CLI,
            created.id,
            ContentUpdate {
                labels: Some(Labels {
                    entity: Some("nashir".into()),
                    tier: Some(Tier::Promotional),
                    severity: None,
                    confidence: Some(Confidence::new(3).unwrap()),
                    behaviours: vec![],
                    tlp: Tlp::Clear,
                }),
                note: Some("reviewed".into()),
                source: None,
                enabled: Some(true),
                disabled_until: Some(None),
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.labels.entity.as_deref(), Some("nashir"));
    assert_eq!(updated.labels.severity, None);
    assert_eq!(updated.source, "tcap");
    assert!(updated.is_active(db.now()));
    assert_eq!(updated.created_at, created.created_at);
    assert_eq!(updated.updated_at, db.now().with_nanosecond_micros());
    assert_eq!(store.content(created.id).await.unwrap(), updated);

    let added = store.add_signal(&CLI, created.id, md5(99)).await.unwrap();
    let with_signal = store.content(created.id).await.unwrap();
    assert_eq!(with_signal.signals.len(), 3);
    assert_eq!(with_signal.signals[2], added);
    assert!(matches!(
        store.add_signal(&CLI, bare.id, md5(99)).await,
        Err(StoreError::Conflict(_))
    ));

    store.delete_content(&CLI, created.id).await.unwrap();
    assert!(matches!(
        store.content(created.id).await,
        Err(StoreError::NotFound(_))
    ));
    // Its signals are gone with it: the value can be added again.
    store
        .add_content(&CLI, amaq, NewContent::with_signals("x", vec![md5(99)]))
        .await
        .unwrap();
    assert_eq!(store.content_count(amaq).await.unwrap(), 2);
    let actions: Vec<String> = store
        .audit_entries(&AuditQuery::default())
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "organisation.create",
            "bank.create",
            "bank.create",
            "content.create",
            "content.create",
            "content.create",
            "content.update",
            "signal.add",
            "content.delete",
            "content.create"
        ]
    );
    audit_count(&store).await;
}

async fn timestamps_round_trip_at_microsecond_precision(db: &TestDb) {
    let store = db.open().await;
    let unit = org(&store, "Unit").await;
    let amaq = bank(&store, unit, "AMAQ").await;
    let times = [
        chrono::DateTime::from_timestamp(1_524_614_400, 999_999_999).unwrap(),
        chrono::DateTime::from_timestamp(1_574_330_400, 1_000).unwrap(),
        chrono::DateTime::from_timestamp(-86_400 * 365, 123_456_000).unwrap(),
        chrono::DateTime::from_timestamp(7_258_118_400, 654_321_000).unwrap(), // 2200
    ];
    for (n, at) in times.into_iter().enumerate() {
        db.clock.set(at);
        let mut new = item(n as u64);
        new.disabled_until = Some(at + chrono::Duration::microseconds(1));
        let created = store.add_content(&CLI, amaq, new).await.unwrap();
        let micros = at.with_nanosecond_micros();
        assert_eq!(created.created_at, micros);
        assert_eq!(created.created_at.timestamp_micros(), at.timestamp_micros());
        assert_eq!(
            created.disabled_until,
            Some((at + chrono::Duration::microseconds(1)).with_nanosecond_micros())
        );
        let read = store.content(created.id).await.unwrap();
        assert_eq!(read.created_at, created.created_at);
        assert_eq!(read.updated_at, created.updated_at);
        assert_eq!(read.disabled_until, created.disabled_until);
    }
    let entries = store.audit_entries(&AuditQuery::default()).await.unwrap();
    assert_eq!(
        entries.last().unwrap().at,
        times[3].with_nanosecond_micros()
    );
    audit_count(&store).await;
}

async fn content_search_filters_and_keyset_pages(db: &TestDb) {
    let store = db.open().await;
    let unit = org(&store, "Unit").await;
    let amaq = bank(&store, unit, "AMAQ").await;
    let nashir = bank(&store, unit, "NASHIR").await;
    for n in 0..25u64 {
        let mut new = NewContent::with_signals("test", vec![md5(n), pdq(n, 80)]);
        new.labels.entity = Some(if n % 2 == 0 { "amaq" } else { "nashir" }.into());
        new.labels.tier = Some(if n < 5 {
            Tier::Crisis
        } else {
            Tier::Promotional
        });
        new.note = if n == 13 {
            "Claimed 100% by WILAYAT_X".into()
        } else {
            format!("item {n}")
        };
        new.enabled = n % 5 != 0;
        let target = if n < 20 { amaq } else { nashir };
        store.add_content(&CLI, target, new).await.unwrap();
    }
    let search = |query: ContentQuery| {
        let store = store.clone();
        async move { store.search_content(&query).await.unwrap() }
    };
    // Keyset paging over one bank: 20 items in pages of 8.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = search(ContentQuery {
            after,
            limit: 8,
            ..ContentQuery::bank(amaq)
        })
        .await;
        assert!(page.items.iter().all(|item| item.signals.len() == 2));
        seen.extend(page.items.iter().map(|item| item.id));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 20);
    assert!(seen.windows(2).all(|pair| pair[0] < pair[1]));
    let all = search(ContentQuery {
        scope: BankScope::All,
        limit: 100,
        ..ContentQuery::default()
    })
    .await;
    assert_eq!(all.items.len(), 25);
    assert_eq!(all.next, None);
    assert!(
        search(ContentQuery::default()).await.items.is_empty(),
        "empty scope finds nothing"
    );

    // Exact signal value, in any case, with or without its type.
    let value = format!("{:032X}", 7u64);
    let by_value = search(ContentQuery {
        scope: BankScope::Only(vec![amaq, nashir]),
        signal_value: Some(value.clone()),
        ..ContentQuery::default()
    })
    .await;
    assert_eq!(by_value.items.len(), 1);
    assert_eq!(by_value.items[0].note, "item 7");
    let typed = search(ContentQuery {
        scope: BankScope::All,
        signal_type: Some(SignalType::Md5),
        signal_value: Some(value.clone()),
        ..ContentQuery::default()
    })
    .await;
    assert_eq!(typed.items, by_value.items);
    let wrong_type = search(ContentQuery {
        scope: BankScope::All,
        signal_type: Some(SignalType::Sha256),
        signal_value: Some(value),
        ..ContentQuery::default()
    })
    .await;
    assert!(wrong_type.items.is_empty());
    let only_type = search(ContentQuery {
        scope: BankScope::Only(vec![nashir]),
        signal_type: Some(SignalType::Pdq),
        ..ContentQuery::default()
    })
    .await;
    assert_eq!(only_type.items.len(), 5);

    let entity = search(ContentQuery {
        scope: BankScope::All,
        entity: Some("NASHIR".into()),
        ..ContentQuery::default()
    })
    .await;
    assert_eq!(entity.items.len(), 12);
    let tier = search(ContentQuery {
        scope: BankScope::All,
        tier: Some(Tier::Crisis),
        ..ContentQuery::default()
    })
    .await;
    assert_eq!(tier.items.len(), 5);
    // Substring of the note, ignoring ASCII case; LIKE wildcards in the text are literal.
    let note = search(ContentQuery {
        scope: BankScope::All,
        note_contains: Some("100% BY wilayat_".into()),
        ..ContentQuery::default()
    })
    .await;
    assert_eq!(note.items.len(), 1);
    let wildcard = search(ContentQuery {
        scope: BankScope::All,
        note_contains: Some("%".into()),
        ..ContentQuery::default()
    })
    .await;
    assert_eq!(wildcard.items.len(), 1);
    let disabled = search(ContentQuery {
        scope: BankScope::All,
        enabled: Some(false),
        ..ContentQuery::default()
    })
    .await;
    assert_eq!(disabled.items.len(), 5);
    let combined = search(ContentQuery {
        scope: BankScope::Only(vec![amaq]),
        entity: Some("amaq".into()),
        tier: Some(Tier::Promotional),
        enabled: Some(true),
        ..ContentQuery::default()
    })
    .await;
    // Even n in 5..20 that are not multiples of 5: 6, 8, 12, 14, 16, 18.
    assert_eq!(combined.items.len(), 6);
}

async fn import_ten_thousand_rows_then_reimport_changes_nothing(db: &TestDb) {
    let store = db.open().await;
    let unit = org(&store, "Unit").await;
    let amaq = bank(&store, unit, "AMAQ").await;
    let mut input = rows(0..10_000);
    // A duplicate inside the file is skipped like one already in the bank.
    input.push(rows(5..6).remove(0));
    let (summary, reports) = import(&store, amaq, input.clone()).await.unwrap();
    assert_eq!(
        (summary.rows, summary.added, summary.unchanged),
        (10_001, 10_000, 1)
    );
    assert_eq!(reports.len(), 11, "every 1000 rows and at the end");
    assert_eq!(
        reports[0],
        ImportProgress {
            rows: 1_000,
            added: 1_000,
            unchanged: 0
        }
    );
    assert!(reports.windows(2).all(|w| w[0].rows < w[1].rows));
    assert_eq!(store.content_count(amaq).await.unwrap(), 10_000);
    let sample = store
        .search_content(&ContentQuery {
            signal_value: Some(format!("{:032x}", 4_321u64)),
            ..ContentQuery::bank(amaq)
        })
        .await
        .unwrap();
    assert_eq!(sample.items.len(), 1);
    assert_eq!(sample.items[0].note, "row 4321");
    assert_eq!(sample.items[0].labels.entity.as_deref(), Some("amaq"));
    let changes_before = store.change_sequence().await.unwrap();

    let (again, _) = import(&store, amaq, input).await.unwrap();
    assert_eq!(
        (again.rows, again.added, again.unchanged),
        (10_001, 0, 10_001)
    );
    assert_eq!(store.content_count(amaq).await.unwrap(), 10_000);
    assert_eq!(store.change_sequence().await.unwrap(), changes_before);
    // One audit entry per import, summarising it.
    let entries = store.audit_entries(&AuditQuery::default()).await.unwrap();
    assert_eq!(entries.len(), 4);
    assert_eq!(entries[2].action, "content.import");
    assert_eq!(entries[2].sequence, summary.audit_sequence);
    let after: serde_json::Value =
        serde_json::from_str(entries[3].after.as_deref().unwrap()).unwrap();
    assert_eq!(after["added"], 0);
    assert_eq!(after["unchanged"], 10_001);
    assert_eq!(after["origin"], "list.csv");
    audit_count(&store).await;
}

async fn import_bad_row_rolls_back_everything_and_names_its_line(db: &TestDb) {
    let store = db.open().await;
    let unit = org(&store, "Unit").await;
    let amaq = bank(&store, unit, "AMAQ").await;
    store
        .add_content(&CLI, amaq, item(1_000_000))
        .await
        .unwrap();
    let entries = audit_count(&store).await;
    let changes = store.change_sequence().await.unwrap();

    // A row the parser rejected.
    let mut input = rows(0..6_000);
    input[4_321] = Err(RowError {
        line: 4_323,
        message: "tier must be 1-4".into(),
    });
    match import(&store, amaq, input).await {
        Err(StoreError::BadRow(error)) => {
            assert_eq!(error.line, 4_323);
            assert_eq!(error.to_string(), "line 4323: tier must be 1-4");
        }
        other => panic!("expected a bad row, got {other:?}"),
    }
    // A row the store rejects (a digest of the wrong length).
    let mut input = rows(0..3_000);
    if let Ok(row) = &mut input[2_500] {
        row.content.signals[0].value = "abc".into();
    }
    match import(&store, amaq, input).await {
        Err(StoreError::BadRow(error)) => {
            assert_eq!(error.line, 2_502);
            assert!(error.message.contains("32 hexadecimal digits"), "{error}");
        }
        other => panic!("expected a bad row, got {other:?}"),
    }
    assert_eq!(store.content_count(amaq).await.unwrap(), 1);
    assert_eq!(audit_count(&store).await, entries);
    assert_eq!(store.change_sequence().await.unwrap(), changes);
    // Nothing is left behind that would make the good rows "unchanged" next time.
    let (summary, _) = import(&store, amaq, rows(0..6_000)).await.unwrap();
    assert_eq!(summary.added, 6_000);
}

async fn audit_chain_verifies_and_detects_an_edited_entry(db: &TestDb) {
    let store = db.open().await;
    seed_audit(&store).await;
    let entries = store.audit_entries(&AuditQuery::default()).await.unwrap();
    assert_eq!(audit_count(&store).await, 6);
    for pair in entries.windows(2) {
        assert_eq!(pair[1].previous_hash, pair[0].hash);
    }
    assert_eq!(entries[0].previous_hash, takedown_store::GENESIS_HASH);
    assert!(entries
        .iter()
        .all(|e| takedown_store::entry_hash(e) == e.hash));
    // The append-only triggers refuse an edit through SQL...
    let refused = match db.backend {
        Backend::Sqlite => {
            let mut connection = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.url))
                .await
                .unwrap();
            sqlx::raw_sql("UPDATE audit_log SET actor = 'x' WHERE sequence = 1")
                .execute(&mut connection)
                .await
                .is_err()
        }
        Backend::Postgres => {
            let mut connection = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::raw_sql("UPDATE audit_log SET actor = 'x' WHERE sequence = 1")
                .execute(&mut connection)
                .await
                .is_err()
        }
    };
    assert!(refused);
    // ...but someone who drops them is still caught by the chain.
    db.drop_audit_triggers().await;
    db.execute("UPDATE audit_log SET after_json = '{\"name\":\"innocent\"}' WHERE sequence = 4")
        .await;
    assert_broken(&store, 4, AuditProblem::Edited).await;
}

async fn audit_chain_detects_a_deleted_entry(db: &TestDb) {
    let store = db.open().await;
    seed_audit(&store).await;
    db.drop_audit_triggers().await;
    db.execute("DELETE FROM audit_log WHERE sequence = 3").await;
    assert_broken(&store, 3, AuditProblem::Deleted).await;
    // Closing the gap by renumbering does not hide it (two steps, so that no primary key
    // collides on the way).
    db.execute("UPDATE audit_log SET sequence = -(sequence - 1) WHERE sequence > 3")
        .await;
    db.execute("UPDATE audit_log SET sequence = -sequence WHERE sequence < 0")
        .await;
    assert_broken(&store, 3, AuditProblem::Deleted).await;
}

async fn audit_chain_detects_a_deleted_last_entry(db: &TestDb) {
    let store = db.open().await;
    seed_audit(&store).await;
    db.drop_audit_triggers().await;
    db.execute("DELETE FROM audit_log WHERE sequence = 6").await;
    assert_broken(&store, 6, AuditProblem::Deleted).await;
}

async fn audit_chain_detects_an_inserted_entry(db: &TestDb) {
    let store = db.open().await;
    seed_audit(&store).await;
    let entries = store.audit_entries(&AuditQuery::default()).await.unwrap();
    // A forger who knows the algorithm inserts a well-formed entry after entry 2, chained to
    // it, and renumbers the rest (in two steps, so no primary key collides on the way).
    let mut forged = entries[1].clone();
    forged.sequence = 3;
    forged.action = "bank.create".into();
    forged.object_id = "999".into();
    forged.before = None;
    forged.after = Some("{\"name\":\"FORGED\"}".into());
    forged.previous_hash = entries[1].hash.clone();
    forged.hash = takedown_store::entry_hash(&forged);
    db.drop_audit_triggers().await;
    db.execute("UPDATE audit_log SET sequence = -sequence - 1 WHERE sequence >= 3")
        .await;
    db.execute("UPDATE audit_log SET sequence = -sequence WHERE sequence < 0")
        .await;
    db.execute(&insert_sql(db, &forged)).await;
    assert_broken(&store, 3, AuditProblem::Inserted).await;
}

async fn audit_chain_detects_an_entry_appended_behind_the_store(db: &TestDb) {
    let store = db.open().await;
    seed_audit(&store).await;
    let entries = store.audit_entries(&AuditQuery::default()).await.unwrap();
    let mut forged = entries[5].clone();
    forged.sequence = 7;
    forged.previous_hash = entries[5].hash.clone();
    forged.object_id = "42".into();
    forged.hash = takedown_store::entry_hash(&forged);
    db.execute(&insert_sql(db, &forged)).await;
    assert_broken(&store, 7, AuditProblem::Inserted).await;
}

async fn audit_chain_detects_swapped_entries(db: &TestDb) {
    let store = db.open().await;
    seed_audit(&store).await;
    db.drop_audit_triggers().await;
    db.execute("UPDATE audit_log SET sequence = 100 WHERE sequence = 4")
        .await;
    db.execute("UPDATE audit_log SET sequence = 4 WHERE sequence = 5")
        .await;
    db.execute("UPDATE audit_log SET sequence = 5 WHERE sequence = 100")
        .await;
    assert_broken(&store, 4, AuditProblem::Reordered).await;
}

/// Six audit entries of different kinds.
async fn seed_audit(store: &Arc<dyn Store>) {
    let unit = org(store, "Unit").await;
    let amaq = bank(store, unit, "AMAQ").await;
    let item = store.add_content(&CLI, amaq, item(1)).await.unwrap();
    store
        .update_content(
            &CLI,
            item.id,
            ContentUpdate {
                note: Some("seen on 3 hosts".into()),
                ..ContentUpdate::default()
            },
        )
        .await
        .unwrap();
    let platform = org(store, "Platform").await;
    store.share_bank(&CLI, amaq, platform).await.unwrap();
}

fn insert_sql(db: &TestDb, entry: &takedown_model::AuditEntry) -> String {
    let quote = |text: &str| format!("'{}'", text.replace('\'', "''"));
    let optional = |text: &Option<String>| text.as_deref().map_or("NULL".to_string(), quote);
    let at = match db.backend {
        Backend::Sqlite => entry.at.timestamp_micros().to_string(),
        Backend::Postgres => quote(
            &entry
                .at
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        ),
    };
    format!(
        "INSERT INTO audit_log (sequence, recorded_at, actor, org_id, action, object_type, \
         object_id, before_json, after_json, previous_hash, hash) \
         VALUES ({}, {at}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
        entry.sequence,
        quote(&entry.actor),
        entry
            .org
            .map_or("NULL".to_string(), |org| org.0.to_string()),
        quote(&entry.action),
        quote(&entry.object_type),
        quote(&entry.object_id),
        optional(&entry.before),
        optional(&entry.after),
        quote(&entry.previous_hash),
        quote(&entry.hash),
    )
}

async fn assert_broken(store: &Arc<dyn Store>, sequence: i64, problem: AuditProblem) {
    match store.verify_audit().await.unwrap() {
        AuditVerification::Broken {
            sequence: found,
            problem: found_problem,
            detail,
        } => {
            assert_eq!(
                (found, found_problem),
                (sequence, problem),
                "verification said: {detail}"
            );
            assert!(!detail.ends_with('.'));
        }
        intact => panic!("tampering not detected: {intact:?}"),
    }
}

async fn active_signals_respect_enabled_and_disabled_until(db: &TestDb) {
    let store = db.open().await;
    let unit = org(&store, "Unit").await;
    let amaq = bank(&store, unit, "AMAQ").await;
    let now = db.now();
    let active = store
        .add_content(
            &CLI,
            amaq,
            NewContent::with_signals("t", vec![md5(1), pdq(1, 90)]),
        )
        .await
        .unwrap();
    let mut disabled = item(2);
    disabled.enabled = false;
    store.add_content(&CLI, amaq, disabled).await.unwrap();
    let mut later = item(3);
    later.disabled_until = Some(now + chrono::Duration::hours(2));
    let later = store.add_content(&CLI, amaq, later).await.unwrap();
    let mut expired = item(4);
    expired.disabled_until = Some(now - chrono::Duration::hours(2));
    let expired = store.add_content(&CLI, amaq, expired).await.unwrap();
    let mut disabled_and_dated = item(5);
    disabled_and_dated.enabled = false;
    disabled_and_dated.disabled_until = Some(now + chrono::Duration::hours(1));
    store
        .add_content(&CLI, amaq, disabled_and_dated)
        .await
        .unwrap();

    let streamed: Vec<_> = active_signals(store.clone(), now)
        .try_collect()
        .await
        .unwrap();
    let contents: Vec<ContentId> = streamed.iter().map(|s| s.content).collect();
    assert_eq!(contents, [active.id, active.id, expired.id]);
    assert_eq!(streamed[1].signal_type, SignalType::Pdq);
    assert_eq!(streamed[1].quality, Some(90));
    assert_eq!(streamed[1].bank, amaq);
    assert_eq!(streamed[1].id, active.signals[1].id);
    assert_eq!(streamed[1].value, active.signals[1].value);
    // Paging: pages of one signal give the same stream.
    let mut paged = Vec::new();
    let mut after = None;
    while let Some(signal) = store
        .active_signals_page(now, after, 1)
        .await
        .unwrap()
        .pop()
    {
        after = Some(signal.id);
        paged.push(signal);
    }
    assert_eq!(paged, streamed);
    // The temporary disable ends in two hours: exactly then, not before.
    let until = now + chrono::Duration::hours(2);
    let reactivating = store
        .signals_reactivating_between(now, until)
        .await
        .unwrap();
    assert_eq!(reactivating.len(), 1);
    assert_eq!(reactivating[0].content, later.id);
    assert!(store
        .signals_reactivating_between(now, until - chrono::Duration::microseconds(1))
        .await
        .unwrap()
        .is_empty());
    let at_end: Vec<_> = active_signals(store.clone(), until)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(at_end.len(), 4);
}

async fn change_feed_catches_up_incrementally(db: &TestDb) {
    let store = db.open().await;
    let unit = org(&store, "Unit").await;
    let amaq = bank(&store, unit, "AMAQ").await;
    let nashir = bank(&store, unit, "NASHIR").await;
    let start = store.change_sequence().await.unwrap();
    assert_eq!(start, 0);
    let now = db.now();

    let first = store
        .add_content(
            &CLI,
            amaq,
            NewContent::with_signals("t", vec![md5(1), pdq(1, 70)]),
        )
        .await
        .unwrap();
    let second = store.add_content(&CLI, nashir, item(2)).await.unwrap();
    let after_adds = store.change_sequence().await.unwrap();
    let changes = all_changes(&store, start, now).await;
    assert_eq!(changes.len(), 3);
    assert!(changes
        .windows(2)
        .all(|w| w[0].sequence() < w[1].sequence()));
    assert_eq!(changes.last().unwrap().sequence(), after_adds);
    assert!(
        matches!(&changes[0], SignalChange::Present { signal, active: true, .. }
        if signal.id == first.signals[0].id && signal.bank == amaq)
    );

    // A node that saw everything up to `after_adds` learns only what happened since.
    store
        .update_content(
            &CLI,
            first.id,
            ContentUpdate {
                enabled: Some(false),
                ..ContentUpdate::default()
            },
        )
        .await
        .unwrap();
    let changes = all_changes(&store, after_adds, now).await;
    assert_eq!(changes.len(), 2);
    assert!(changes
        .iter()
        .all(|c| matches!(c, SignalChange::Present { active: false, signal, .. } if signal.content == first.id)));
    // Replaying from the start shows each signal once, in its current state.
    let replay = all_changes(&store, start, now).await;
    assert_eq!(replay.len(), 3);

    let after_disable = store.change_sequence().await.unwrap();
    store.delete_content(&CLI, second.id).await.unwrap();
    let changes = all_changes(&store, after_disable, now).await;
    assert_eq!(changes.len(), 1);
    assert!(
        matches!(&changes[0], SignalChange::Removed { signal, content, bank, .. }
        if *signal == second.signals[0].id && *content == second.id && *bank == nashir)
    );

    let after_delete = store.change_sequence().await.unwrap();
    let (summary, _) = import(&store, nashir, rows(100..110)).await.unwrap();
    assert_eq!(summary.added, 10);
    let imported = all_changes(&store, after_delete, now).await;
    assert_eq!(imported.len(), 10);
    let after_import = store.change_sequence().await.unwrap();
    store.delete_bank(&CLI, amaq).await.unwrap();
    let changes = all_changes(&store, after_import, now).await;
    assert_eq!(changes.len(), 2);
    assert!(changes
        .iter()
        .all(|c| matches!(c, SignalChange::Removed { bank, .. } if *bank == amaq)));
    // A change to labels alone also restamps (the engine may cache labels).
    let before_labels = store.change_sequence().await.unwrap();
    let one = store
        .search_content(&ContentQuery::bank(nashir))
        .await
        .unwrap()
        .items
        .remove(0);
    store
        .update_content(
            &CLI,
            one.id,
            ContentUpdate {
                labels: Some(full_labels()),
                ..ContentUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(all_changes(&store, before_labels, now).await.len(), 1);
    assert!(
        all_changes(&store, store.change_sequence().await.unwrap(), now)
            .await
            .is_empty()
    );
}

async fn deleting_a_bank_deletes_its_content_and_is_audited(db: &TestDb) {
    let store = db.open().await;
    let unit = org(&store, "Unit").await;
    let amaq = bank(&store, unit, "AMAQ").await;
    let keep = bank(&store, unit, "KEEP").await;
    let platform = org(&store, "Platform").await;
    store.share_bank(&CLI, amaq, platform).await.unwrap();
    import(&store, amaq, rows(0..50)).await.unwrap();
    let kept = store.add_content(&CLI, keep, item(0)).await.unwrap();
    let one = store
        .search_content(&ContentQuery::bank(amaq))
        .await
        .unwrap()
        .items
        .remove(0);
    store.delete_bank(&CLI, amaq).await.unwrap();
    assert!(matches!(
        store.content(one.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(store.content_count(amaq).await.unwrap(), 0);
    assert_eq!(store.content(kept.id).await.unwrap(), kept);
    assert!(store.banks_visible_to(platform).await.unwrap().is_empty());
    // The name is free again, and the new bank starts empty.
    let reborn = bank(&store, unit, "AMAQ").await;
    assert_eq!(store.content_count(reborn).await.unwrap(), 0);
    let entries = store.audit_entries(&AuditQuery::default()).await.unwrap();
    let deletion = entries
        .iter()
        .find(|e| e.action == "bank.delete")
        .expect("bank.delete entry");
    assert_eq!(deletion.object_id, amaq.0.to_string());
    assert_eq!(deletion.org, Some(unit));
    assert_eq!(deletion.after, None);
    let before: serde_json::Value =
        serde_json::from_str(deletion.before.as_deref().unwrap()).unwrap();
    assert_eq!(before["name"], "AMAQ");
    assert_eq!(before["content_count"], 50);
    let per_org = store
        .audit_entries(&AuditQuery {
            org: Some(platform),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(per_org.len(), 1, "only the platform's own creation");
    audit_count(&store).await;
}

async fn export_streams_every_item_of_a_bank(db: &TestDb) {
    let store = db.open().await;
    let unit = org(&store, "Unit").await;
    let amaq = bank(&store, unit, "AMAQ").await;
    let other = bank(&store, unit, "OTHER").await;
    import(&store, amaq, rows(0..2_500)).await.unwrap();
    store.add_content(&CLI, other, item(0)).await.unwrap();
    let exported: Vec<_> = export_content(store.clone(), amaq)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(exported.len(), 2_500);
    assert!(exported.windows(2).all(|w| w[0].id < w[1].id));
    assert!(exported
        .iter()
        .all(|c| c.bank == amaq && c.signals.len() == 1));
    assert_eq!(exported[1_234].note, "row 1234");
}

async fn concurrent_writers_keep_the_chain_and_feed_in_order(db: &TestDb) {
    let store = db.open().await;
    let unit = org(&store, "Unit").await;
    let amaq = bank(&store, unit, "AMAQ").await;
    let mut tasks = Vec::new();
    for worker in 0..4u64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..10u64 {
                store
                    .add_content(&CLI, amaq, item(worker * 1_000 + n))
                    .await
                    .expect("concurrent add");
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(audit_count(&store).await, 42);
    let changes = all_changes(&store, 0, db.now()).await;
    let sequences: Vec<i64> = changes.iter().map(SignalChange::sequence).collect();
    assert_eq!(sequences, (1..=40).collect::<Vec<_>>());
}

/// Rows the child imports before it stalls, waiting to be killed.
const KILL_AFTER_ROWS: u64 = 20_000;

async fn import_killed_midway_leaves_the_bank_as_before(db: &TestDb) {
    let store = db.open().await;
    let unit = org(&store, "Unit").await;
    let amaq = bank(&store, unit, "AMAQ").await;
    store.add_content(&CLI, amaq, item(3)).await.unwrap();
    let entries = audit_count(&store).await;
    let changes = store.change_sequence().await.unwrap();
    store.close().await;

    // The child is this test executable again, running only `import_kill_child`.
    let mut child = KillOnDrop(
        std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "import_kill_child",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(KILL_CHILD_DATABASE, &db.url)
            .env(KILL_CHILD_BANK, amaq.0.to_string())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("spawn the importing child"),
    );
    let stdout = child.0.stdout.take().unwrap();
    let (lines, reported) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut rows_reported = 0;
    while rows_reported < KILL_AFTER_ROWS {
        let line = reported
            .recv_timeout(Duration::from_secs(60))
            .expect("the child reports progress");
        if let Some(rows) = line.strip_prefix("progress ") {
            rows_reported = rows.trim().parse().unwrap();
        }
    }
    // SIGKILL: no destructor, no rollback by the child.
    child.0.kill().unwrap();
    let status = child.0.wait().unwrap();
    assert!(!status.success());

    let store = db.open().await;
    assert_eq!(store.content_count(amaq).await.unwrap(), 1);
    assert_eq!(audit_count(&store).await, entries);
    assert_eq!(store.change_sequence().await.unwrap(), changes);
    let found = store
        .search_content(&ContentQuery {
            signal_value: Some(format!("{:032x}", 10u64)),
            ..ContentQuery::bank(amaq)
        })
        .await
        .unwrap();
    assert!(found.items.is_empty());
    // The write lock died with the child: a new import goes through.
    let (summary, _) = import(&store, amaq, rows(0..100)).await.unwrap();
    assert_eq!((summary.added, summary.unchanged), (99, 1));
}

/// Kills the child process when the test ends, even by a panic, so that no importer is left
/// holding the database.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

const KILL_CHILD_DATABASE: &str = "TAKEDOWN_STORE_KILL_CHILD_DATABASE";
const KILL_CHILD_BANK: &str = "TAKEDOWN_STORE_KILL_CHILD_BANK";

/// The child half of `import_killed_midway_leaves_the_bank_as_before`: does nothing unless
/// started by it. Imports rows, reporting progress on stdout, and stalls after
/// `KILL_AFTER_ROWS` rows (inside the open transaction) until it is killed.
#[tokio::test]
async fn import_kill_child() {
    let (Ok(database), Ok(bank)) = (
        std::env::var(KILL_CHILD_DATABASE),
        std::env::var(KILL_CHILD_BANK),
    ) else {
        return;
    };
    let bank = BankId(bank.parse().unwrap());
    let store = takedown_store::open(&database, Arc::new(SystemClock))
        .await
        .unwrap();
    let mut rows = (0..u64::MAX).map(|n| {
        if n == KILL_AFTER_ROWS {
            // Stall rather than finish, so that the kill lands inside the transaction.
            std::thread::sleep(Duration::from_secs(120));
        }
        Ok(ImportRow {
            line: n + 2,
            content: item(n),
        })
    });
    let options = ImportOptions {
        progress_every: 5_000,
        origin: "killed.csv".into(),
    };
    let mut report = |progress: ImportProgress| {
        println!("progress {}", progress.rows);
        use std::io::Write;
        std::io::stdout().flush().ok();
    };
    let _ = store
        .import_content(&CLI, bank, &mut rows, &options, &mut report)
        .await;
    panic!("the import was meant to be killed");
}

// -------------------------------------------------------------------------------------------

trait MicrosExt {
    /// The time truncated to microseconds, as the store keeps it.
    fn with_nanosecond_micros(self) -> Self;
}

impl MicrosExt for Timestamp {
    fn with_nanosecond_micros(self) -> Self {
        chrono::DateTime::from_timestamp_micros(self.timestamp_micros()).unwrap()
    }
}

/// vPDQ, audio and text signature values are kilobytes to megabytes long (a B-tree index row
/// holds at most about 2.7 kB in PostgreSQL): they are stored, read back, fed to the index,
/// found by value and de-duplicated on re-import like digests.
async fn video_audio_and_text_signals_of_any_length_round_trip(db: &TestDb) {
    let store = db.open().await;
    let unit = org(&store, "Unit").await;
    let media = bank(&store, unit, "MEDIA").await;
    // An hour of vPDQ (3,600 lines), five minutes of audio, a long statement's signature.
    let vpdq: String = (0..3_600u64)
        .map(|i| {
            format!(
                "{},100,{:064x},{}.000\n",
                i * 25,
                i.wrapping_mul(0x9e37_79b9_7f4a_7c15),
                i
            )
        })
        .collect();
    let signal = |signal_type, version, value: &str| NewSignal {
        signal_type,
        algorithm_version: version,
        value: value.to_string(),
        quality: None,
    };
    let audio = format!("audio:1:{}", "QUJD".repeat(3_200));
    let text = format!("text:1:{}", "AAAAAQ".repeat(2_000));
    let signals = vec![
        signal(SignalType::Vpdq, 1, &vpdq),
        signal(SignalType::Audio, 1, &audio),
        signal(SignalType::TextMinhash, 2, &text),
    ];
    let created = store
        .add_content(
            &CLI,
            media,
            NewContent::with_signals("long", signals.clone()),
        )
        .await
        .unwrap();
    let read = store.content(created.id).await.unwrap();
    let mut stored: Vec<(SignalType, u32, String)> = read
        .signals
        .iter()
        .map(|s| (s.signal_type, s.algorithm_version, s.value.clone()))
        .collect();
    stored.sort();
    let mut expected: Vec<(SignalType, u32, String)> = signals
        .iter()
        // The store trims values, so the vPDQ text loses its final line end.
        .map(|s| {
            (
                s.signal_type,
                s.algorithm_version,
                s.value.trim().to_string(),
            )
        })
        .collect();
    expected.sort();
    // Compared without printing: the values are megabytes.
    assert!(stored == expected, "long signal values did not round-trip");
    let found = store
        .search_content(&ContentQuery {
            signal_value: Some(audio.clone()),
            signal_type: Some(SignalType::Audio),
            ..ContentQuery::bank(media)
        })
        .await
        .unwrap();
    assert_eq!(found.items.len(), 1);
    // The same long value again is a duplicate, on import as on insert.
    let again = vec![Ok(ImportRow {
        line: 2,
        content: NewContent::with_signals("again", vec![signal(SignalType::Vpdq, 1, &vpdq)]),
    })];
    let (summary, _) = import(&store, media, again).await.unwrap();
    assert_eq!((summary.added, summary.unchanged), (0, 1));
    assert!(store
        .add_content(
            &CLI,
            media,
            NewContent::with_signals("dup", vec![signal(SignalType::Vpdq, 1, &vpdq)])
        )
        .await
        .is_err());
    let changes = all_changes(&store, 0, start_time()).await;
    assert_eq!(changes.len(), 3);
    audit_count(&store).await;
}

conformance!(
    migrations_create_a_fresh_database_and_reopen_idempotently,
    organisations_and_users_crud,
    tokens_are_found_by_hash_and_stop_at_expiry_and_revocation,
    banks_crud_and_duplicate_names_conflict,
    banks_are_visible_to_owner_and_sharees_only,
    content_crud_and_labels_round_trip,
    timestamps_round_trip_at_microsecond_precision,
    content_search_filters_and_keyset_pages,
    import_ten_thousand_rows_then_reimport_changes_nothing,
    import_bad_row_rolls_back_everything_and_names_its_line,
    audit_chain_verifies_and_detects_an_edited_entry,
    audit_chain_detects_a_deleted_entry,
    audit_chain_detects_a_deleted_last_entry,
    audit_chain_detects_an_inserted_entry,
    audit_chain_detects_an_entry_appended_behind_the_store,
    audit_chain_detects_swapped_entries,
    active_signals_respect_enabled_and_disabled_until,
    change_feed_catches_up_incrementally,
    deleting_a_bank_deletes_its_content_and_is_audited,
    export_streams_every_item_of_a_bank,
    concurrent_writers_keep_the_chain_and_feed_in_order,
    import_killed_midway_leaves_the_bank_as_before,
    video_audio_and_text_signals_of_any_length_round_trip,
);
