//! Impact measurement over a real server: a release log imported (a bad one refused with its
//! line), releases listed and paged, an operation created, listed and shown, its report as
//! JSON and as HTML showing the fall, the changepoint and the new channel, the transparency
//! report, roles, and every route in the OpenAPI document.

mod common;

use common::{file_form, send, Backend, Harness};
use serde_json::json;
use takedown_exchange::HashListFormat;
use takedown_impact::demo::{self, DEMO_SEED, NEW_CHANNEL};

fn demo_csv() -> Vec<u8> {
    let mut out = Vec::new();
    takedown_impact::log::write_release_file(
        &mut out,
        HashListFormat::Csv,
        &demo::release_log(DEMO_SEED),
    )
    .expect("csv");
    out
}

fn demo_operation() -> serde_json::Value {
    let op = demo::operation();
    json!({
        "name": op.name,
        "start": "2018-04-25",
        "end": "2018-04-26",
        "organisations": ["Europol", "Unit A"],
        "targets": op.targets,
        "controls": op.controls,
        "infrastructure": ["domain:amaq.example", "channel:msg:amaq-ar"],
        "notes": "demo",
    })
}

async fn releases_and_operations(backend: Backend) {
    let Some(h) = Harness::start(backend).await else {
        return;
    };
    let admin = Some(h.tokens.admin_a.as_str());
    let curator = Some(h.tokens.curator_a.as_str());
    let matcher = Some(h.tokens.matcher_a.as_str());

    // Import: refused for a matcher (a small body: the refusal comes before the upload is
    // read, and a large one could still be in flight when the server answers), a bad row
    // named by its line, then the demo log.
    let (status, _) = send(h.post("/api/v1/releases", matcher).multipart(file_form(
        "file",
        "log.csv",
        b"outlet\n".to_vec(),
    )))
    .await;
    assert_eq!(status, 403);
    let bad = b"{\"outlet\":\"amaq\",\"published_at\":\"2018-04-01T10:00:00Z\",\"medium\":\"video\",\"channel\":\"site\",\"title\":\"V1\"}\n{\"outlet\":\"amaq\",\"published_at\":\"2018-04-02T10:00:00Z\",\"medium\":\"hologram\",\"channel\":\"site\",\"title\":\"V2\"}\n".to_vec();
    let (status, body) = send(h.post("/api/v1/releases", curator).multipart(file_form(
        "file",
        "bad.jsonl",
        bad,
    )))
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]
            .as_str()
            .expect("error")
            .starts_with("line 2:"),
        "{body}"
    );
    assert_eq!(body["field"], "file");
    let (status, body) = send(h.post("/api/v1/releases", curator).multipart(file_form(
        "file",
        "log.csv",
        demo_csv(),
    )))
    .await;
    assert_eq!(status, 200, "{body}");
    let rows = body["rows"].as_u64().expect("rows");
    assert_eq!(body["added"].as_u64(), Some(rows));
    let (_, again) = send(
        h.post("/api/v1/releases?format=csv", admin)
            .body(demo_csv()),
    )
    .await;
    assert_eq!(again["added"], 0, "{again}");

    // List: the one video after the operation, through the new channel; paging.
    let (status, body) = send(h.get(
        "/api/v1/releases?outlet=amaq&medium=video&from=2018-04-27&to=2018-05-03",
        admin,
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"].as_array().expect("items").len(), 1);
    assert_eq!(body["items"][0]["channel"], NEW_CHANNEL);
    let (_, first) = send(h.get("/api/v1/releases?outlet=nashir&limit=2", admin)).await;
    let next = first["next"].as_str().expect("a next page").to_string();
    let (_, second) = send(h.get(
        &format!("/api/v1/releases?outlet=nashir&limit=2&after={next}"),
        admin,
    ))
    .await;
    assert_ne!(first["items"][1]["id"], second["items"][0]["id"]);
    let (status, _) = send(h.get("/api/v1/releases?after=nonsense", admin)).await;
    assert_eq!(status, 400);
    let (status, _) = send(h.get("/api/v1/releases", matcher)).await;
    assert_eq!(status, 403);

    // Operations.
    let (status, created) = send(
        h.post("/api/v1/operations", curator)
            .json(&demo_operation()),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["end"], "2018-04-26T23:59:59+00:00");
    assert_eq!(created["infrastructure"][1]["kind"], "channel");
    let (status, _) = send(h.post("/api/v1/operations", admin).json(&demo_operation())).await;
    assert_eq!(status, 409);
    let mut bad = demo_operation();
    bad["name"] = json!("other");
    bad["start"] = json!("soon");
    let (status, body) = send(h.post("/api/v1/operations", admin).json(&bad)).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().expect("error").contains("start"));
    let (_, list) = send(h.get("/api/v1/operations", admin)).await;
    assert_eq!(list.as_array().expect("list").len(), 1);
    let (status, shown) = send(h.get("/api/v1/operations/amaq-2018-04", admin)).await;
    assert_eq!(status, 200);
    assert_eq!(shown["organisations"], json!(["Europol", "Unit A"]));
    let (status, _) = send(h.get("/api/v1/operations/nope", admin)).await;
    assert_eq!(status, 404);

    // The report as JSON: the fall with its interval, the changepoint, the new channel.
    let (status, report) = send(h.get("/api/v1/operations/amaq-2018-04/report", admin)).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["schema"], "takedown.operation-report/1");
    let amaq = &report["findings"][0];
    assert_eq!(amaq["outlet"], "amaq");
    assert_eq!(amaq["significant_fall"], true);
    assert!(amaq["ci_high"].as_f64().expect("interval") < 1.0);
    assert!(
        amaq["changepoint_near_operation"]["days_from_operation"]
            .as_i64()
            .expect("changepoint")
            .abs()
            <= 3
    );
    assert_eq!(amaq["new_channels"], json!([NEW_CHANNEL]));
    assert_eq!(report["removal"]["status"], "no_referral_data");
    let (status, _) = send(h.get(
        "/api/v1/operations/amaq-2018-04/report?before_days=0",
        admin,
    ))
    .await;
    assert_eq!(status, 400);
    let (status, _) = send(h.get("/api/v1/operations/nope/report", admin)).await;
    assert_eq!(status, 404);

    // The report as HTML, by parameter and by Accept.
    for request in [
        h.get("/api/v1/operations/amaq-2018-04/report?format=html", admin),
        h.get("/api/v1/operations/amaq-2018-04/report", admin)
            .header("Accept", "text/html,application/xhtml+xml"),
    ] {
        let response = request.send().await.expect("sent");
        assert_eq!(response.status().as_u16(), 200);
        assert!(response.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/html"));
        let html = response.text().await.expect("body");
        assert!(html.contains("Impact of operation amaq-2018-04"));
        assert!(html.contains("at the operation</span>"));
        assert!(html.contains("new channel: first use"));
        assert!(!html.contains("<script"));
    }
    h.finish().await;
}

async fn transparency_report(backend: Backend) {
    let Some(h) = Harness::start(backend).await else {
        return;
    };
    let admin = Some(h.tokens.admin_a.as_str());
    let (status, body) = send(h.get(
        "/api/v1/reports/transparency?from=2018-04-01&to=2018-06-30",
        admin,
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["schema"], "takedown.transparency-report/1");
    assert_eq!(body["to"], "2018-07-01T00:00:00Z");
    assert_eq!(body["referrals"]["removal"]["status"], "no_referral_data");
    assert!(body["regulation_2021_784"]
        .as_array()
        .expect("figures")
        .iter()
        .any(|f| f["key"] == "removal_orders_issued"));
    let response = h
        .get(
            "/api/v1/reports/transparency?from=2018-04-01&to=2018-06-30&format=html",
            admin,
        )
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.text().await.expect("body").contains("2021/784"));
    let (status, _) = send(h.get(
        "/api/v1/reports/transparency?from=2018-06-30&to=2018-04-01",
        admin,
    ))
    .await;
    assert_eq!(status, 400);
    let (status, _) = send(h.get(
        "/api/v1/reports/transparency?from=whenever&to=2018-04-01",
        admin,
    ))
    .await;
    assert_eq!(status, 400);
    // Referral figures are for reviewers: a curator may not read them.
    let (status, _) = send(h.get(
        "/api/v1/reports/transparency?from=2018-04-01&to=2018-06-30",
        Some(h.tokens.curator_a.as_str()),
    ))
    .await;
    assert_eq!(status, 403);
    h.finish().await;
}

async fn documented_in_openapi(backend: Backend) {
    let Some(h) = Harness::start(backend).await else {
        return;
    };
    let (status, doc) = send(h.get("/api/v1/openapi.json", Some(&h.tokens.admin_a))).await;
    assert_eq!(status, 200);
    for (path, method) in [
        ("/api/v1/releases", "get"),
        ("/api/v1/releases", "post"),
        ("/api/v1/operations", "get"),
        ("/api/v1/operations", "post"),
        ("/api/v1/operations/{name}", "get"),
        ("/api/v1/operations/{name}/report", "get"),
        ("/api/v1/reports/transparency", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is not documented"
        );
    }
    h.finish().await;
}

both_backends!(
    releases_and_operations,
    transparency_report,
    documented_in_openapi
);
