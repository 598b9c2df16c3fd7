//! End to end in headless Chromium: the real server on loopback with the demo data, driven
//! through chromedriver. Signs in, uploads an image and sees it match, submits a hosted copy
//! for review, confirms its case from the keyboard, creates a referral and exports it, and
//! saves a screenshot of every main page under `target/ui-screenshots/` (an artefact).
//!
//! Needs Debian's `chromium` and `chromium-driver` (CI's `.ci/run` installs them). Without
//! them the test fails and says so: a browser test that passes without a browser proves
//! nothing.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use support::webdriver::{Browser, Driver};
use takedown_engine::{Caller, DEMO_ADMIN_TOKEN};
use takedown_referrals::demo::{start_demo_providers, DemoOptions};
use takedown_referrals::{ReferralConfig, Referrals};
use takedown_server::{AppState, IndexLoading, ServerConfig};
use takedown_store::referrals::{Delivery, NewProvider, NoticeFormat};

fn tool(variable: &str, default: &str, package: &str) -> PathBuf {
    let path = std::env::var_os(variable)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    assert!(
        path.exists(),
        "{} not found: the browser tests need Debian's `{package}` package \
         (apt-get install chromium chromium-driver; .ci/run installs it), or set {variable}",
        path.display()
    );
    path
}

fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("ui-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot directory");
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_signs_in_matches_confirms_refers_and_exports() {
    let chromium = tool("TAKEDOWN_CHROMIUM", "/usr/bin/chromium", "chromium");
    let chromedriver = tool(
        "TAKEDOWN_CHROMEDRIVER",
        "/usr/bin/chromedriver",
        "chromium-driver",
    );
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("http client");

    // The server: a fresh SQLite database with the demo banks, fetching allowed on loopback
    // (the demo providers live on 127.0.0.2-4).
    let directory = tempfile::tempdir().expect("temporary directory");
    let database = directory.path().join("takedown.sqlite");
    let defaults = ServerConfig::default();
    let config = ServerConfig {
        bind: "127.0.0.1:0".parse().expect("address"),
        database: Some(database.to_string_lossy().into_owned()),
        fetch: takedown_fetch::FetchConfig {
            allowlist: vec!["127.0.0.0/8".parse().expect("cidr")],
            ..defaults.fetch.clone()
        },
        ..defaults
    };
    let engine = takedown_server::open_engine(&config).await.expect("engine");
    let demo = takedown_engine::load_demo(&engine, &directory.path().join("demo-images"))
        .await
        .expect("demo data");
    takedown_impact::load_demo_impact(engine.store().as_ref(), &takedown_model::Actor::Cli, None)
        .await
        .expect("demo operation");
    let state = AppState::new(engine.clone(), config.clone()).expect("state");
    let server = takedown_server::start(state, IndexLoading::ByCaller)
        .await
        .expect("server");
    engine.load().await.expect("index");
    let base = server.base_url();

    // A hosting provider serving copies of the demo banks' items, registered with a host rule.
    let providers = start_demo_providers(DemoOptions {
        removal_after: Duration::from_secs(3600),
        ..DemoOptions::default()
    })
    .await
    .expect("demo providers");
    let workflow: Arc<Referrals> = Referrals::new(
        engine.clone(),
        config.fetch.clone(),
        ReferralConfig::default(),
    )
    .expect("referrals");
    workflow
        .create_provider(
            &Caller::cli(),
            NewProvider {
                name: "Demo Video Host".into(),
                contact_email: "abuse@video-host.demo.invalid".into(),
                endpoint_url: String::new(),
                delivery: Delivery::Email,
                notice_format: NoticeFormat::EuOrder,
                legal_representative: "Demo Video Host EU Legal Representative".into(),
                member_state: "IE".into(),
                contact_point: "Demo Video Host trust and safety".into(),
            },
        )
        .await
        .expect("provider");
    let host = providers.video_host.address().ip().to_string();
    workflow
        .add_provider_rule(&Caller::cli(), "Demo Video Host", &host)
        .await
        .expect("provider rule");
    let hosted = providers.video_host.url("/media/release-0.png");

    let driver = Driver::start(&chromedriver, &client).await;
    let browser = Browser::new(&client, &driver, &chromium).await;
    let shots = screenshot_dir();

    // Sign in: `/` leads to the sign-in form.
    browser.goto(&format!("{base}/")).await;
    browser.find("#token").await;
    assert!(browser.current_url().await.ends_with("/ui/signin"));
    browser.screenshot(&shots.join("01-signin.png")).await;
    browser.type_into("#token", "not-a-token").await;
    browser.click("button[type=submit]").await;
    assert!(browser.text("#signin-error").await.contains("not valid"));
    browser.type_into("#token", DEMO_ADMIN_TOKEN).await;
    browser.click("button[type=submit]").await;
    browser.find("#exposure-value").await;
    assert_eq!(browser.text("h1").await, "Dashboard");
    assert!(browser.text("main").await.contains("AMAQ"));
    // The session cookie is invisible to scripts.
    let cookies = browser.execute("return document.cookie;", vec![]).await;
    assert_eq!(cookies, json!(""), "cookies readable by script: {cookies}");
    browser.screenshot(&shots.join("02-dashboard.png")).await;

    // Match an uploaded copy (a transformed demo image).
    let (query_image, what) = demo.query_images.first().expect("a query image").clone();
    browser.goto(&format!("{base}/ui/match")).await;
    browser
        .type_into("#match-file", &query_image.to_string_lossy())
        .await;
    browser
        .click("form[action='/ui/match'] button[type=submit]")
        .await;
    browser.find("#hits").await;
    let hits = browser.text("#hits").await;
    assert!(hits.contains("pdq"), "no PDQ match for {what}: {hits}");
    // The preview is blurred until revealed; revealing counts one exposure.
    let filter = browser
        .execute(
            "return getComputedStyle(document.querySelector('.guard img')).filter;",
            vec![],
        )
        .await;
    assert!(
        filter.as_str().unwrap_or_default().contains("blur"),
        "preview not blurred: {filter}"
    );
    assert_eq!(browser.text("#exposure-value").await, "0");
    browser.screenshot(&shots.join("03-match.png")).await;
    browser.click(".guard button.reveal").await;
    wait_for_text(&browser, "#exposure-value", "1").await;

    // Submit the hosted copy for review; its case opens in the queue.
    browser.goto(&format!("{base}/ui/review")).await;
    browser.type_into("#urls", &hosted).await;
    browser
        .click("form[action='/ui/review/intake'] button[type=submit]")
        .await;
    browser.find(".flash.ok").await;
    browser.find("li.case").await;
    let queue = browser.text("ol.queue").await;
    assert!(queue.contains(&hosted), "the case lacks its URL: {queue}");
    browser.screenshot(&shots.join("04-review.png")).await;
    // Confirm from the keyboard: `c` on the current (first) case.
    browser
        .execute("document.activeElement.blur();", vec![])
        .await;
    browser.press("c").await;
    wait_for_contains(&browser, ".flash.ok", "confirmed").await;

    // Refer: one draft for the provider, then export it.
    browser.goto(&format!("{base}/ui/referrals")).await;
    browser
        .click("form[action='/ui/referrals/create'] button[type=submit]")
        .await;
    browser.find("#referral-urls").await;
    let title = browser.text("h1").await;
    assert!(
        title.starts_with("Referral "),
        "not a referral page: {title}"
    );
    assert!(browser.text("#referral-urls").await.contains(&hosted));
    assert_eq!(browser.text("#referral-status").await, "draft");
    browser.screenshot(&shots.join("05-referral.png")).await;
    let fetch = "const done = arguments[arguments.length - 1];\
                 const link = document.querySelector(arguments[0]);\
                 fetch(link.href, {credentials: 'same-origin'})\
                   .then(r => r.text().then(t => done({status: r.status, disposition: r.headers.get('content-disposition'), body: t})))\
                   .catch(e => done({status: 0, body: String(e)}));";
    let text = browser
        .execute_async(fetch, vec![json!("a[data-format='text']")])
        .await;
    assert_eq!(text["status"], json!(200), "{text}");
    assert!(text["body"].as_str().unwrap_or_default().contains(&hosted));
    assert!(text["disposition"]
        .as_str()
        .unwrap_or_default()
        .starts_with("attachment"));
    let exported = browser
        .execute_async(fetch, vec![json!("a[data-format='json']")])
        .await;
    let document: Value = serde_json::from_str(exported["body"].as_str().unwrap_or_default())
        .unwrap_or_else(|error| panic!("the JSON export is not JSON ({error}): {exported}"));
    assert!(document.to_string().contains(&hosted));
    browser.goto(&format!("{base}/ui/referrals")).await;
    assert!(browser.text("#board").await.contains("draft (1)"));
    browser.screenshot(&shots.join("06-referrals.png")).await;

    // The other main pages render for this user.
    for (path, name, marker) in [
        ("/ui/banks", "07-banks.png", "table"),
        ("/ui/banks/AMAQ", "08-bank.png", "#items"),
        ("/ui/operations", "09-operations.png", "#operations"),
        (
            "/ui/operations/amaq-2018-04",
            "10-operation.png",
            "figure svg",
        ),
        ("/ui/audit", "11-audit.png", "#audit"),
    ] {
        browser.goto(&format!("{base}{path}")).await;
        browser.find(marker).await;
        browser.screenshot(&shots.join(name)).await;
    }

    // Sign out: the session is gone.
    browser.click(".who button[type=submit]").await;
    browser.find("#token").await;
    browser.goto(&format!("{base}/ui/banks")).await;
    browser.find("#token").await;

    browser.quit().await;
    drop(driver);
    server.shutdown().await.expect("shutdown");
}

async fn wait_for_text(browser: &Browser, css: &str, expected: &str) {
    for _ in 0..100 {
        if browser.text(css).await == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{css} never showed {expected:?} (it shows {:?})",
        browser.text(css).await
    );
}

async fn wait_for_contains(browser: &Browser, css: &str, expected: &str) {
    for _ in 0..100 {
        if browser.text(css).await.contains(expected) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{css} never contained {expected:?}; the page says:\n{}",
        browser.text("main").await
    );
}
