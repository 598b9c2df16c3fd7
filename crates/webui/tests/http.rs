//! The interface over HTTP without a browser: sign-in, sessions, CSRF, escaping of stored text,
//! security headers, embedded assets.

use std::time::Duration;

use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use takedown_engine::{Caller, ContentMeta, DEMO_ADMIN_TOKEN, DEMO_MATCHER_TOKEN};
use takedown_server::{AppState, IndexLoading, RunningServer, ServerConfig};

struct Running {
    server: RunningServer,
    base: String,
    client: reqwest::Client,
    _directory: tempfile::TempDir,
}

async fn start() -> Running {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let directory = tempfile::tempdir().expect("temporary directory");
    let config = ServerConfig {
        bind: "127.0.0.1:0".parse().expect("address"),
        database: Some(
            directory
                .path()
                .join("takedown.sqlite")
                .to_string_lossy()
                .into_owned(),
        ),
        ..ServerConfig::default()
    };
    let engine = takedown_server::open_engine(&config).await.expect("engine");
    takedown_engine::load_demo(&engine, &directory.path().join("images"))
        .await
        .expect("demo");
    let state = AppState::new(engine.clone(), config).expect("state");
    let server = takedown_server::start(state, IndexLoading::ByCaller)
        .await
        .expect("server");
    engine.load().await.expect("index");
    let client = reqwest::Client::builder()
        .redirect(Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    Running {
        base: server.base_url(),
        server,
        client,
        _directory: directory,
    }
}

/// The value a `Set-Cookie` header gives `name`.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<(String, String)> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
        .map(|value| {
            let first = value.split(';').next().unwrap_or("");
            (
                first
                    .split_once('=')
                    .map(|(_, v)| v.to_string())
                    .unwrap_or_default(),
                value.to_string(),
            )
        })
}

/// The value of the first hidden `csrf` input of a page.
fn csrf_of(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker).expect("a csrf field") + marker.len();
    page[start..start + 64].to_string()
}

/// Signs in with `token`; returns the session cookie value.
async fn sign_in(running: &Running, token: &str) -> String {
    let form = running
        .client
        .get(format!("{}/ui/signin", running.base))
        .send()
        .await
        .expect("form");
    let (pre, _) = set_cookie(&form, "takedown_signin").expect("pre-session cookie");
    let csrf = csrf_of(&form.text().await.expect("body"));
    assert_eq!(pre, csrf);
    let response = running
        .client
        .post(format!("{}/ui/signin", running.base))
        .header("cookie", format!("takedown_signin={pre}"))
        .form(&[("csrf", csrf.as_str()), ("token", token)])
        .send()
        .await
        .expect("sign in");
    assert_eq!(response.status(), 303);
    let (session, attributes) = set_cookie(&response, "takedown_session").expect("session cookie");
    assert!(attributes.contains("HttpOnly"), "{attributes}");
    assert!(attributes.contains("SameSite=Strict"), "{attributes}");
    assert!(attributes.contains("Path=/ui"), "{attributes}");
    assert!(!attributes.contains(token));
    session
}

#[tokio::test]
async fn sign_in_sessions_and_csrf() {
    let running = start().await;
    let base = &running.base;
    let client = &running.client;

    // The root and every page lead to sign-in.
    let root = client.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(root.headers()[LOCATION], "/ui/");
    let page = client.get(format!("{base}/ui/banks")).send().await.unwrap();
    assert_eq!(page.status(), 303);
    assert_eq!(page.headers()[LOCATION], "/ui/signin");

    // A sign-in post without the pre-session cookie (a cross-site form) is refused.
    let forged = client
        .post(format!("{base}/ui/signin"))
        .form(&[("csrf", "x"), ("token", DEMO_ADMIN_TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(set_cookie(&forged, "takedown_session").is_none());

    // A bad token is refused.
    let form = client
        .get(format!("{base}/ui/signin"))
        .send()
        .await
        .unwrap();
    let (pre, _) = set_cookie(&form, "takedown_signin").unwrap();
    let bad = client
        .post(format!("{base}/ui/signin"))
        .header("cookie", format!("takedown_signin={pre}"))
        .form(&[("csrf", pre.as_str()), ("token", "tdk_nonsense")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);

    let session = sign_in(&running, DEMO_ADMIN_TOKEN).await;
    let cookie = format!("takedown_session={session}");
    let dashboard = client
        .get(format!("{base}/ui/"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(dashboard.status(), 200);
    let csp = dashboard.headers()[CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"));
    let body = dashboard.text().await.unwrap();
    assert!(body.contains("<html lang=\"en\">"));
    assert!(body.contains("href=\"#main\""), "no skip link");
    let csrf = csrf_of(&body);

    // A POST without the session's CSRF token changes nothing.
    let content = running
        .server
        .state()
        .engine()
        .search_content(&Caller::cli(), Default::default())
        .await
        .unwrap()
        .items[0]
        .clone();
    let url = format!("{base}/ui/content/{}/disable", content.id.0);
    for token in ["", "0000", &"a".repeat(64)] {
        let refused = client
            .post(&url)
            .header("cookie", &cookie)
            .form(&[("csrf", token), ("bank", "AMAQ")])
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 403);
    }
    let engine = running.server.state().engine().clone();
    assert!(
        engine
            .content(&Caller::cli(), content.id)
            .await
            .unwrap()
            .enabled
    );
    // With it, the item is disabled.
    let done = client
        .post(&url)
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str()), ("bank", "AMAQ")])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    assert!(
        !engine
            .content(&Caller::cli(), content.id)
            .await
            .unwrap()
            .enabled
    );
    // The redirect cannot be pointed elsewhere.
    let elsewhere = client
        .post(url.replace("disable", "enable"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str()), ("bank", "//evil.example/")])
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.headers()[LOCATION], "/ui/banks");

    // The exposure counter takes its token in a header.
    let exposure = client
        .post(format!("{base}/ui/exposure"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(exposure.status(), 403);
    let exposure = client
        .post(format!("{base}/ui/exposure"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(exposure.text().await.unwrap(), "{\"today\":1}");

    // Sign out ends the session server-side.
    let out = client
        .post(format!("{base}/ui/signout"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    let after = client
        .get(format!("{base}/ui/"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 303);
    running.server.shutdown().await.unwrap();
}

#[tokio::test]
async fn stored_text_is_escaped_and_roles_hold() {
    let running = start().await;
    let base = &running.base;
    let engine = running.server.state().engine().clone();
    let hostile = "<script>alert('x')</script>\"><img src=x onerror=alert(1)>";
    engine
        .add_signal_content(
            &Caller::cli(),
            "AMAQ",
            "md5",
            "0123456789abcdef0123456789abcdef",
            ContentMeta {
                note: hostile.into(),
                ..ContentMeta::default()
            },
        )
        .await
        .unwrap();
    let session = sign_in(&running, DEMO_ADMIN_TOKEN).await;
    let page = running
        .client
        .get(format!("{base}/ui/banks/AMAQ?by=note&q=script"))
        .header("cookie", format!("takedown_session={session}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;")
            || page.contains("&lt;script&gt;alert('x')&lt;/script&gt;")
    );
    assert!(!page.contains("<script>alert"));
    assert!(!page.contains("<img src=x"));

    // A matcher signs in to a dashboard, may match, and may not read banks or review.
    let matcher = sign_in(&running, DEMO_MATCHER_TOKEN).await;
    let cookie = format!("takedown_session={matcher}");
    for (path, status) in [("/ui/", 200), ("/ui/match", 200), ("/ui/banks/AMAQ", 403)] {
        let page = running
            .client
            .get(format!("{base}{path}"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), status, "{path}");
    }
    let review = running
        .client
        .get(format!("{base}/ui/review"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(review.status(), 403);

    // Assets are embedded.
    for (path, kind) in [("ui.css", "text/css"), ("ui.js", "text/javascript")] {
        let asset = running
            .client
            .get(format!("{base}/ui/assets/{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(asset.status(), 200);
        assert!(asset.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with(kind));
    }
    let missing = running
        .client
        .get(format!("{base}/ui/assets/../../etc/passwd"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    running.server.shutdown().await.unwrap();
}
