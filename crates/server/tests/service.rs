//! The service around the routes: readiness while the index loads, metrics, the OpenAPI
//! document against the router, and the demo's printed `curl` lines.

mod common;

use axum::body::Body;
use axum::http::Request;
use common::{file_form, send, Backend, Harness, TestDb};
use serde_json::json;
use takedown_server::{AppState, IndexLoading, NO_ROUTE_HEADER};
use tower::ServiceExt;

/// `/status` answers 503 while the index is not loaded (lookups too), 200 after;
/// `/status/live` is 200 throughout.
async fn status_waits_for_the_index(backend: Backend) {
    let Some(h) = Harness::start_with(backend, |_| {}, IndexLoading::ByCaller).await else {
        return;
    };
    let response = h.get("/status", None).send().await.expect("status");
    assert_eq!(response.status(), 503);
    assert_eq!(response.text().await.expect("text"), "INDEX-LOADING");
    assert_eq!(send(h.get("/status/live", None)).await.0, 200);
    let t = Some(h.tokens.matcher_a.as_str());
    let zero = "0".repeat(64);
    let (status, body) =
        send(h.get(&format!("/api/v1/lookup?signal_type=pdq&value={zero}"), t)).await;
    assert_eq!(status, 503, "{body}");
    let (status, _) = send(h.get(&format!("/m/lookup?signal_type=pdq&signal={zero}"), t)).await;
    assert_eq!(status, 503);
    let (_, body) = send(h.get("/m/index/status", t)).await;
    assert_eq!(body["pdq"]["present"], false);

    h.engine().load().await.expect("load");
    let response = h.get("/status", None).send().await.expect("status");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("text"), "I-AM-ALIVE");
    let (status, body) =
        send(h.get(&format!("/api/v1/lookup?signal_type=pdq&value={zero}"), t)).await;
    assert_eq!((status, body), (200, json!({"matches": []})));
    h.finish().await;
}

/// `/metrics` exposes requests by route template and status, latency, index size and the
/// engine's counters.
async fn metrics_expose_counters(backend: Backend) {
    let Some(h) = Harness::start(backend).await else {
        return;
    };
    let t = Some(h.tokens.admin_a.as_str());
    let (status, _) = send(h.post("/c/banks", t).json(&json!({"name": "METRICS"}))).await;
    assert_eq!(status, 201);
    let form = file_form("file", "p.png", common::poster_png(11));
    let (status, _) = send(
        h.post("/api/v1/banks/METRICS/content/upload", t)
            .multipart(form),
    )
    .await;
    assert_eq!(status, 201);
    let form = file_form("photo", "p.jpg", common::poster_jpeg(11, 80));
    let (status, body) = send(h.post("/m/lookup", t).multipart(form)).await;
    assert_eq!(status, 200);
    assert_eq!(body["pdq"]["METRICS"].as_array().map(Vec::len), Some(1));
    let _ = send(h.get("/c/bank/NOT_THERE", t)).await;
    let _ = send(h.get("/api/v1/banks", None)).await;

    let response = h.get("/metrics", None).send().await.expect("metrics");
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap_or_default()
        .starts_with("text/plain"));
    let text = response.text().await.expect("text");
    for expected in [
        r#"takedown_http_requests_total{route="/c/banks",method="POST",status="201"} 1"#,
        r#"takedown_http_requests_total{route="/m/lookup",method="POST",status="200"} 1"#,
        r#"takedown_http_requests_total{route="/c/bank/{bank_name}",method="GET",status="404"} 1"#,
        r#"takedown_http_requests_total{route="/api/v1/banks",method="GET",status="401"} 1"#,
        r#"takedown_http_request_duration_seconds_count{route="/m/lookup",method="POST"} 1"#,
        "takedown_index_ready 1",
        r#"takedown_index_signals{signal_type="pdq"} 1"#,
        r#"takedown_index_signals{signal_type="md5"} 1"#,
        "takedown_lookups_total 1",
        "takedown_matches_total 1",
        "takedown_hashed_total 2",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(
        !text.contains("NOT_THERE"),
        "bank names must not reach metrics"
    );
    h.finish().await;
}

/// Every operation in the OpenAPI document is served by the router (checked by sending each
/// one through the router with `oneshot`: the fallback marks unknown routes and methods), and
/// every route the router is built from is in the document.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_covers_every_route() {
    let db = TestDb::new(Backend::Sqlite).await.expect("sqlite");
    let config = common::test_config(&db.url);
    let engine = takedown_server::open_engine(&config).await.expect("engine");
    let state = AppState::new(engine, config.clone()).expect("state");
    let router = takedown_server::router(state);

    // The document the server serves is the one generated from the routes.
    let served = router
        .clone()
        .oneshot(
            Request::get("/api/v1/openapi.json")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(served.status(), 200);
    let bytes = axum::body::to_bytes(served.into_body(), usize::MAX)
        .await
        .expect("body");
    let document: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    assert!(document["openapi"]
        .as_str()
        .unwrap_or_default()
        .starts_with("3."));
    assert!(document["components"]["securitySchemes"]["bearer"].is_object());
    let generated = serde_json::to_value(takedown_server::openapi_document(&config)).expect("json");
    assert_eq!(document, generated);

    let paths = document["paths"].as_object().expect("paths");
    let mut operations = Vec::new();
    for (path, item) in paths {
        for method in ["get", "put", "post", "delete", "patch"] {
            if item.get(method).is_some() {
                operations.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    // Routes the router is built from, by method and template (the HMA blueprints, /api/v1,
    // and the service routes). Adding a route without documenting it fails here, and so does
    // documenting one the router does not serve.
    let expected: Vec<(&str, &str)> = vec![
        ("GET", "/status"),
        ("GET", "/status/live"),
        ("GET", "/metrics"),
        ("GET", "/h/hash"),
        ("POST", "/h/hash"),
        ("GET", "/m/raw_lookup"),
        ("GET", "/m/lookup"),
        ("POST", "/m/lookup"),
        ("GET", "/m/index/status"),
        ("POST", "/m/compare"),
        ("GET", "/c/banks"),
        ("POST", "/c/banks"),
        ("GET", "/c/bank/{bank_name}"),
        ("PUT", "/c/bank/{bank_name}"),
        ("DELETE", "/c/bank/{bank_name}"),
        ("GET", "/c/bank/{bank_name}/content/{content_id}"),
        ("PUT", "/c/bank/{bank_name}/content/{content_id}"),
        ("DELETE", "/c/bank/{bank_name}/content/{content_id}"),
        ("POST", "/c/bank/{bank_name}/content"),
        ("POST", "/c/bank/{bank_name}/signal"),
        ("GET", "/api/v1/openapi.json"),
        ("GET", "/api/v1/banks"),
        ("POST", "/api/v1/banks"),
        ("GET", "/api/v1/banks/{bank}"),
        ("PATCH", "/api/v1/banks/{bank}"),
        ("DELETE", "/api/v1/banks/{bank}"),
        ("POST", "/api/v1/banks/{bank}/shares"),
        ("DELETE", "/api/v1/banks/{bank}/shares/{organisation}"),
        ("POST", "/api/v1/banks/{bank}/content"),
        ("POST", "/api/v1/banks/{bank}/content/upload"),
        ("POST", "/api/v1/banks/{bank}/content/url"),
        ("POST", "/api/v1/banks/{bank}/import"),
        ("GET", "/api/v1/banks/{bank}/export"),
        ("GET", "/api/v1/content"),
        ("GET", "/api/v1/content/{id}"),
        ("PATCH", "/api/v1/content/{id}"),
        ("DELETE", "/api/v1/content/{id}"),
        ("POST", "/api/v1/content/{id}/disable"),
        ("POST", "/api/v1/content/{id}/enable"),
        ("GET", "/api/v1/lookup"),
        ("POST", "/api/v1/lookup/upload"),
        ("POST", "/api/v1/hash"),
        ("GET", "/api/v1/index"),
        ("GET", "/api/v1/organisations"),
        ("GET", "/api/v1/organisations/{id}"),
        ("GET", "/api/v1/tokens"),
        ("POST", "/api/v1/tokens"),
        ("DELETE", "/api/v1/tokens/{id}"),
        ("GET", "/api/v1/audit"),
        ("POST", "/api/v1/observations"),
        ("GET", "/api/v1/observations"),
        ("GET", "/api/v1/observations/{id}"),
        ("GET", "/api/v1/cases"),
        ("GET", "/api/v1/cases/{id}"),
        ("POST", "/api/v1/cases/{id}/decision"),
        ("POST", "/api/v1/referrals"),
        ("GET", "/api/v1/referrals"),
        ("GET", "/api/v1/referrals/{id}"),
        ("GET", "/api/v1/referrals/{id}/export"),
        ("POST", "/api/v1/referrals/{id}/send"),
        ("POST", "/api/v1/referrals/{id}/status"),
        ("GET", "/api/v1/providers"),
        ("POST", "/api/v1/providers"),
        ("GET", "/api/v1/providers/{id}"),
        ("PATCH", "/api/v1/providers/{id}"),
        ("POST", "/api/v1/providers/{id}/rules"),
        ("DELETE", "/api/v1/provider-rules/{id}"),
        ("GET", "/api/v1/releases"),
        ("POST", "/api/v1/releases"),
        ("GET", "/api/v1/operations"),
        ("POST", "/api/v1/operations"),
        ("GET", "/api/v1/operations/{name}"),
        ("GET", "/api/v1/operations/{name}/report"),
        ("GET", "/api/v1/reports/transparency"),
    ];
    let mut documented: Vec<(String, String)> = operations.clone();
    documented.sort();
    let mut wanted: Vec<(String, String)> = expected
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    wanted.sort();
    assert_eq!(documented, wanted, "the document and the route list differ");

    for (method, path) in &operations {
        let concrete = path
            .replace("{bank_name}", "SOME_BANK")
            .replace("{bank}", "SOME_BANK")
            .replace("{content_id}", "1")
            .replace("{organisation}", "Someone")
            .replace("{id}", "1");
        let request = Request::builder()
            .method(method.as_str())
            .uri(&concrete)
            .body(Body::empty())
            .expect("request");
        let response = router.clone().oneshot(request).await.expect("response");
        assert!(
            response.headers().get(NO_ROUTE_HEADER).is_none(),
            "{method} {path} is documented but not served ({})",
            response.status()
        );
        // Every operation names its responses, and all but the open ones need a token.
        let operation = &paths[path][method.to_lowercase()];
        assert!(operation["responses"]
            .as_object()
            .is_some_and(|r| !r.is_empty()));
        let open = [
            "/status",
            "/status/live",
            "/metrics",
            "/api/v1/openapi.json",
        ]
        .contains(&path.as_str());
        assert_eq!(
            operation.get("security").is_none(),
            open,
            "{method} {path} security"
        );
    }
    // And the fallback really does mark a missing route and a wrong method.
    for (method, uri) in [("GET", "/nope"), ("PATCH", "/c/banks")] {
        let response = router
            .clone()
            .oneshot(
                Request::builder()
                    .method(method)
                    .uri(uri)
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("response");
        assert!(
            response.headers().get(NO_ROUTE_HEADER).is_some(),
            "{method} {uri}"
        );
    }
}

/// The demo's printed curl lines, sent as the same requests, print matches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_curl_lines_work() {
    let db = TestDb::new(Backend::Sqlite).await.expect("sqlite");
    let config = common::test_config(&db.url);
    let engine = takedown_server::open_engine(&config).await.expect("engine");
    let images = takedown_server::demo::demo_images_dir(&db.url);
    assert!(images.starts_with(std::path::Path::new(&db.url).parent().expect("parent")));
    let summary = takedown_engine::load_demo(&engine, &images)
        .await
        .expect("demo data");
    let state = AppState::new(engine, config).expect("state");
    let server = takedown_server::start(state, IndexLoading::Background)
        .await
        .expect("start");
    while !server.state().engine().is_ready() {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let guide = takedown_server::demo::demo_guide(&server.base_url(), summary)
        .await
        .expect("guide");
    let banner = guide.to_string();
    assert!(banner.contains(&server.base_url()));
    assert!(banner.contains(takedown_engine::DEMO_ADMIN_TOKEN));
    assert!(banner.contains(takedown_engine::DEMO_MATCHER_TOKEN));
    let client = common::client();
    assert!(guide.examples.len() >= 3);
    for example in &guide.examples {
        assert!(banner.contains(&example.curl), "{}", example.curl);
        assert!(example
            .curl
            .starts_with("curl -s -H 'Authorization: Bearer "));
        assert!(example
            .curl
            .contains(&format!("'{}{}'", server.base_url(), example.path)));
        let url = format!("{}{}", server.base_url(), example.path);
        let request = match (example.method, &example.upload) {
            ("POST", Some(path)) => {
                assert!(example
                    .curl
                    .contains(&format!("-F 'file=@{}'", path.display())));
                let bytes = std::fs::read(path).expect("query image");
                client
                    .post(&url)
                    .multipart(file_form("file", "query.jpg", bytes))
            }
            ("GET", None) => client.get(&url),
            other => panic!("unexpected example {other:?}"),
        };
        let (status, body) = send(request.bearer_auth(example.token)).await;
        assert_eq!(status, 200, "{}: {body}", example.curl);
        let found = match example.path.as_str() {
            "/api/v1/banks" => body.as_array().is_some_and(|banks| banks.len() == 4),
            path if path.starts_with("/m/") => {
                body.as_object().is_some_and(|banks| !banks.is_empty())
            }
            _ => body["matches"]
                .as_array()
                .is_some_and(|matches| !matches.is_empty()),
        };
        assert!(found, "{} printed no matches: {body}", example.curl);
    }
    server.shutdown().await.expect("shutdown");
}

both_backends!(status_waits_for_the_index, metrics_expose_counters);
