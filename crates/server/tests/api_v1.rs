//! takedown's own API over a real server: banks, sharing between organisations, content with
//! labels, search and paging, lookups with labels, bulk import and export, tokens, the audit
//! log, and authentication.

mod common;

use common::{file_form, poster_jpeg, poster_png, send, Backend, Harness, ORG_B};
use serde_json::json;

const PDQ_ZERO: &str = "0000000000000000000000000000000000000000000000000000000000000000";

async fn create_bank(h: &Harness, token: &str, name: &str) {
    let (status, body) = send(
        h.post("/api/v1/banks", Some(token))
            .json(&json!({"name": name, "description": "test bank"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

/// 401 without a token, 401 with a bad one, 403 for a matcher on a curation route, with a
/// JSON body saying why.
async fn authentication(backend: Backend) {
    let Some(h) = Harness::start(backend).await else {
        return;
    };
    let (status, body) = send(h.get("/api/v1/banks", None)).await;
    assert_eq!(status, 401);
    assert_eq!(body["status"], 401);
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("bearer token"),
        "{body}"
    );
    let (status, body) = send(h.get("/api/v1/banks", Some("tdk_not_a_real_token"))).await;
    assert_eq!(status, 401);
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("unknown"),
        "{body}"
    );
    let (status, _) = send(
        h.get("/api/v1/banks", None)
            .header("authorization", "Basic dXNlcjpwYXNz"),
    )
    .await;
    assert_eq!(status, 401);
    let (status, body) = send(
        h.post("/api/v1/banks", Some(&h.tokens.matcher_a))
            .json(&json!({"name": "MATCHER_BANK"})),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(body["status"], 403);
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("matcher"),
        "{body}"
    );
    // HMA routes need a token too (by default), and answer in HMA's shape.
    let (status, body) = send(h.get("/c/banks", None)).await;
    assert_eq!(status, 401);
    assert!(body["message"].is_string(), "{body}");
    let (status, body) = send(
        h.post("/c/banks", Some(&h.tokens.matcher_a))
            .json(&json!({"name": "X"})),
    )
    .await;
    assert_eq!(status, 403);
    assert!(body["message"].is_string(), "{body}");
    // /status and /metrics need none.
    assert_eq!(send(h.get("/status", None)).await.0, 200);
    assert_eq!(send(h.get("/status/live", None)).await.0, 200);
    assert_eq!(
        h.get("/metrics", None)
            .send()
            .await
            .expect("metrics")
            .status(),
        200
    );
    h.finish().await;
}

/// Organisation B cannot see A's bank until A shares it, then can match against it, and
/// loses it again when A stops sharing.
async fn sharing_between_organisations(backend: Backend) {
    let Some(h) = Harness::start(backend).await else {
        return;
    };
    let a = h.tokens.admin_a.clone();
    let b = h.tokens.admin_b.clone();
    create_bank(&h, &a, "AMAQ").await;
    let (status, _) = send(
        h.post("/api/v1/banks/AMAQ/content", Some(&a))
            .json(&json!({"signals": [{"signal_type": "pdq", "value": PDQ_ZERO}], "labels": {"entity": "amaq", "tier": 3}})),
    )
    .await;
    assert_eq!(status, 201);

    let (status, body) = send(h.get("/api/v1/banks/AMAQ", Some(&b))).await;
    assert_eq!(status, 404, "{body}");
    let (_, body) = send(h.get("/api/v1/banks", Some(&b))).await;
    assert_eq!(body, json!([]));
    let lookup = format!("/api/v1/lookup?signal_type=pdq&value={PDQ_ZERO}");
    let (status, body) = send(h.get(&lookup, Some(&h.tokens.matcher_b))).await;
    assert_eq!(status, 200);
    assert_eq!(body["matches"], json!([]));
    // B may not share A's bank with itself.
    let (status, _) = send(
        h.post("/api/v1/banks/AMAQ/shares", Some(&b))
            .json(&json!({"organisation": ORG_B})),
    )
    .await;
    assert_eq!(status, 404);

    let (status, body) = send(
        h.post("/api/v1/banks/AMAQ/shares", Some(&a))
            .json(&json!({"organisation": ORG_B})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["shared_with"].as_array().map(Vec::len), Some(1));
    let (status, body) = send(h.get("/api/v1/banks/AMAQ", Some(&b))).await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = send(h.get(&lookup, Some(&h.tokens.matcher_b))).await;
    assert_eq!(body["matches"][0]["bank"], "AMAQ");
    assert_eq!(body["matches"][0]["labels"]["entity"], "amaq");
    assert_eq!(body["matches"][0]["labels"]["tier"], 3);
    // Shared is not owned: B may read but not change it.
    let (status, _) = send(
        h.patch("/api/v1/banks/AMAQ", Some(&b))
            .json(&json!({"description": "mine now"})),
    )
    .await;
    assert_eq!(status, 403);

    let (status, _) = send(h.delete(&format!("/api/v1/banks/AMAQ/shares/{ORG_B}"), Some(&a))).await;
    assert_eq!(status, 200);
    let (status, _) = send(h.get("/api/v1/banks/AMAQ", Some(&b))).await;
    assert_eq!(status, 404);
    h.finish().await;
}

/// A hash added through the API is matchable by the very next request, with its labels;
/// disabling and deleting take effect as fast.
async fn added_content_matches_at_once(backend: Backend) {
    let Some(h) = Harness::start(backend).await else {
        return;
    };
    let curator = h.tokens.curator_a.clone();
    let matcher = h.tokens.matcher_a.clone();
    create_bank(&h, &curator, "NASHIR").await;
    let form = file_form("file", "poster.png", poster_png(7))
        .text("labels", r#"{"entity": "nashir", "tier": 2, "severity": 6, "behaviours": ["instruction"], "tlp": "amber+strict"}"#)
        .text("note", "release 12");
    let (status, body) = send(
        h.post("/api/v1/banks/NASHIR/content/upload", Some(&curator))
            .multipart(form),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_i64().expect("id");
    assert_eq!(body["bank"], "NASHIR");
    assert_eq!(body["labels"]["tlp"], "amber+strict");
    let types: Vec<&str> = body["signals"]
        .as_array()
        .expect("signals")
        .iter()
        .filter_map(|s| s["signal_type"].as_str())
        .collect();
    assert_eq!(types.len(), 3, "pdq, md5, sha256: {types:?}");

    // The very next request: a re-encoded copy, uploaded by the matcher.
    let form = file_form("file", "copy.jpg", poster_jpeg(7, 70));
    let (status, body) = send(
        h.post("/api/v1/lookup/upload", Some(&matcher))
            .multipart(form),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["matches"][0]["content_id"], id);
    assert_eq!(body["matches"][0]["signal_type"], "pdq");
    assert!(body["matches"][0]["distance"].as_u64().expect("number") <= 31);
    assert_eq!(body["matches"][0]["labels"]["tier"], 2);
    assert_eq!(body["fingerprints"]["format"], "jpeg");
    assert_eq!(body["pdq_skipped_low_quality"], false);

    // Disable: gone from the next lookup; enable: back.
    let pdq = body["matches"][0]["value"]
        .as_str()
        .expect("value")
        .to_string();
    let lookup = format!("/api/v1/lookup?signal_type=pdq&value={pdq}");
    let (status, _) = send(h.post(&format!("/api/v1/content/{id}/disable"), Some(&curator))).await;
    assert_eq!(status, 200);
    assert_eq!(
        send(h.get(&lookup, Some(&matcher))).await.1["matches"],
        json!([])
    );
    let (_, body) = send(h.post(&format!("/api/v1/content/{id}/enable"), Some(&curator))).await;
    assert_eq!(body["active"], true);
    assert_eq!(
        send(h.get(&lookup, Some(&matcher))).await.1["matches"][0]["content_id"],
        id
    );
    let (status, _) = send(h.delete(&format!("/api/v1/content/{id}"), Some(&curator))).await;
    assert_eq!(status, 204);
    assert_eq!(
        send(h.get(&lookup, Some(&matcher))).await.1["matches"],
        json!([])
    );
    h.finish().await;
}

/// Labels, search by each condition, keyset paging.
async fn content_search_and_paging(backend: Backend) {
    let Some(h) = Harness::start(backend).await else {
        return;
    };
    let a = h.tokens.admin_a.clone();
    create_bank(&h, &a, "AL_BAYAN").await;
    create_bank(&h, &a, "HALUMU").await;
    for i in 0..5u32 {
        let bank = if i < 3 { "AL_BAYAN" } else { "HALUMU" };
        let value = format!("{:032x}", i + 1);
        let (status, body) = send(
            h.post(&format!("/api/v1/banks/{bank}/content"), Some(&a)).json(&json!({
                "signals": [{"signal_type": "md5", "value": value}],
                "labels": {"entity": if i < 3 { "al-bayan" } else { "halumu" }, "tier": if i % 2 == 0 { 3 } else { 4 }},
                "note": format!("bulletin {i}"),
            })),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    let (_, page) = send(h.get("/api/v1/content?limit=2", Some(&a))).await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(2));
    let next = page["next"].as_i64().expect("next cursor");
    let (_, page2) = send(h.get(&format!("/api/v1/content?limit=2&after={next}"), Some(&a))).await;
    assert_eq!(page2["items"].as_array().map(Vec::len), Some(2));
    assert!(page2["items"][0]["id"].as_i64() > Some(next));
    let (_, body) = send(h.get("/api/v1/content?banks=HALUMU", Some(&a))).await;
    assert_eq!(body["items"].as_array().map(Vec::len), Some(2));
    let (_, body) = send(h.get("/api/v1/content?entity=al-bayan&tier=3", Some(&a))).await;
    assert_eq!(body["items"].as_array().map(Vec::len), Some(2));
    let (_, body) = send(h.get("/api/v1/content?note=BULLETIN%202", Some(&a))).await;
    assert_eq!(body["items"].as_array().map(Vec::len), Some(1));
    let (_, body) = send(h.get(
        &format!("/api/v1/content?signal_type=md5&signal_value={:032X}", 4),
        Some(&a),
    ))
    .await;
    assert_eq!(body["items"][0]["note"], "bulletin 3");
    let (status, body) = send(h.get("/api/v1/content?tier=9", Some(&a))).await;
    assert_eq!(status, 400);
    assert_eq!(body["field"], "tier");
    let (status, _) = send(h.get("/api/v1/content?banks=NOPE", Some(&a))).await;
    assert_eq!(status, 404);

    // Change labels; bad labels name the field.
    let id = body_id(&h, &a, "bulletin 0").await;
    let (status, body) = send(
        h.patch(&format!("/api/v1/content/{id}"), Some(&a))
            .json(&json!({"labels": {"entity": "al-bayan", "tier": 1, "confidence": 3}})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["labels"]["tier"], 1);
    let (status, body) = send(
        h.patch(&format!("/api/v1/content/{id}"), Some(&a))
            .json(&json!({"labels": {"severity": 12}})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["field"], "labels.severity");
    let (_, body) = send(h.post(
        &format!("/api/v1/content/{id}/disable?until=2999-01-01T00:00:00Z"),
        Some(&a),
    ))
    .await;
    assert_eq!(body["active"], false);
    assert_eq!(body["disabled_until"], "2999-01-01T00:00:00.000000Z");
    let (_, body) = send(h.get("/api/v1/content?enabled=false", Some(&a))).await;
    assert_eq!(
        body["items"],
        json!([]),
        "a temporary disable keeps the item enabled"
    );
    h.finish().await;
}

async fn body_id(h: &Harness, token: &str, note: &str) -> i64 {
    let (_, body) = send(h.get(
        &format!("/api/v1/content?note={}", note.replace(' ', "%20")),
        Some(token),
    ))
    .await;
    body["items"][0]["id"].as_i64().expect("id")
}

/// Bulk import answers with the summary, or 400 naming the bad line with nothing kept; export
/// streams the bank back in the same format.
async fn import_and_export(backend: Backend) {
    let Some(h) = Harness::start(backend).await else {
        return;
    };
    let a = h.tokens.admin_a.clone();
    create_bank(&h, &a, "TCAP").await;
    let csv = format!(
        "signal_type,value,entity,tier,note\npdq,{PDQ_ZERO},amaq,3,first\nmd5,{},nashir,4,second\n",
        "ab".repeat(16)
    );
    let (status, body) = send(
        h.post("/api/v1/banks/TCAP/import?format=csv", Some(&a))
            .body(csv.clone()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rows"], 2);
    assert_eq!(body["added"], 2);
    // Twice: nothing changes.
    let form = file_form("file", "tcap.csv", csv.into_bytes());
    let (status, body) = send(
        h.post("/api/v1/banks/TCAP/import", Some(&a))
            .multipart(form),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["unchanged"], 2);
    // JSON lines with a bad third line: 400 naming line 3, nothing kept.
    let jsonl = format!(
        "{{\"signal_type\": \"sha256\", \"value\": \"{}\"}}\n{{\"signal_type\": \"sha256\", \"value\": \"{}\"}}\n{{\"signal_type\": \"pdq\", \"value\": \"xyz\"}}\n",
        "1".repeat(64),
        "2".repeat(64)
    );
    let (status, body) = send(h.post("/api/v1/banks/TCAP/import", Some(&a)).body(jsonl)).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .starts_with("line 3"),
        "{body}"
    );
    let (_, body) = send(h.get("/api/v1/content?banks=TCAP", Some(&a))).await;
    assert_eq!(body["items"].as_array().map(Vec::len), Some(2));
    // Imported rows are matchable.
    let (_, body) = send(h.get(
        &format!("/api/v1/lookup?signal_type=pdq&value={PDQ_ZERO}"),
        Some(&h.tokens.matcher_a),
    ))
    .await;
    assert_eq!(body["matches"][0]["labels"]["entity"], "amaq");
    // A matcher may not import.
    let (status, _) = send(
        h.post("/api/v1/banks/TCAP/import", Some(&h.tokens.matcher_a))
            .body("x"),
    )
    .await;
    assert_eq!(status, 403);

    let response = h
        .get("/api/v1/banks/TCAP/export", Some(&a))
        .send()
        .await
        .expect("export");
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap_or_default()
        .starts_with("text/csv"));
    let text = response.text().await.expect("body");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("signal_type,value"));
    assert!(text.contains(PDQ_ZERO) && text.contains("first"));
    let text = h
        .get("/api/v1/banks/TCAP/export?format=jsonl", Some(&a))
        .send()
        .await
        .expect("export")
        .text()
        .await
        .expect("body");
    assert_eq!(text.lines().count(), 2);
    for line in text.lines() {
        let row: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        assert!(row["signal_type"].is_string());
    }
    // Round trip: the export imports into another bank.
    create_bank(&h, &a, "COPY").await;
    let (status, body) = send(
        h.post("/api/v1/banks/COPY/import?format=jsonl", Some(&a))
            .body(text),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["added"], 2);
    h.finish().await;
}

/// Tokens: the secret once, listing without secrets, revocation takes effect at once; the
/// audit log pages through the organisation's changes.
async fn tokens_and_audit(backend: Backend) {
    let Some(h) = Harness::start(backend).await else {
        return;
    };
    let a = h.tokens.admin_a.clone();
    let (status, body) = send(
        h.post("/api/v1/tokens", Some(&a))
            .json(&json!({"name": "pipeline", "role": "matcher"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let secret = body["secret"].as_str().expect("secret").to_string();
    let id = body["token"]["id"].as_i64().expect("id");
    assert!(secret.starts_with("tdk_"));
    let (status, _) = send(h.get("/api/v1/index", Some(&secret))).await;
    assert_eq!(status, 200);
    let (_, body) = send(h.get("/api/v1/tokens", Some(&a))).await;
    assert!(body
        .as_array()
        .expect("list")
        .iter()
        .any(|t| t["name"] == "pipeline"));
    assert!(
        !body.to_string().contains(&secret),
        "a listing must never show secrets"
    );
    let (status, body) = send(
        h.post("/api/v1/tokens", Some(&a))
            .json(&json!({"name": "x", "role": "overlord"})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["field"], "role");
    // Another organisation's admin cannot revoke it.
    let (status, _) =
        send(h.delete(&format!("/api/v1/tokens/{id}"), Some(&h.tokens.admin_b))).await;
    assert_eq!(status, 404);
    let (status, body) = send(h.delete(&format!("/api/v1/tokens/{id}"), Some(&a))).await;
    assert_eq!(status, 200);
    assert!(body["revoked_at"].is_string());
    let (status, _) = send(h.get("/api/v1/index", Some(&secret))).await;
    assert_eq!(status, 401);

    let (_, orgs) = send(h.get("/api/v1/organisations", Some(&a))).await;
    assert_eq!(orgs.as_array().map(Vec::len), Some(1));
    let org_id = orgs[0]["id"].as_i64().expect("id");
    assert_eq!(
        send(h.get(&format!("/api/v1/organisations/{org_id}"), Some(&a)))
            .await
            .0,
        200
    );
    assert_eq!(
        send(h.get(
            &format!("/api/v1/organisations/{org_id}"),
            Some(&h.tokens.admin_b)
        ))
        .await
        .0,
        404
    );

    create_bank(&h, &a, "AUDITED").await;
    let (status, body) = send(h.get("/api/v1/audit?limit=2", Some(&a))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"].as_array().map(Vec::len), Some(2));
    let next = body["next"].as_i64().expect("more pages");
    let (_, rest) = send(h.get(&format!("/api/v1/audit?after={next}&limit=1000"), Some(&a))).await;
    let actions: Vec<&str> = rest["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"bank.create"), "{actions:?}");
    assert!(rest.get("next").is_none());
    // B's log does not hold A's changes.
    let (_, b_log) = send(h.get("/api/v1/audit?limit=1000", Some(&h.tokens.admin_b))).await;
    assert!(!b_log.to_string().contains("AUDITED"));
    assert_eq!(
        send(h.get("/api/v1/audit", Some(&h.tokens.matcher_a)))
            .await
            .0,
        403
    );
    h.finish().await;
}

both_backends!(
    authentication,
    sharing_between_organisations,
    added_content_matches_at_once,
    content_search_and_paging,
    import_and_export,
    tokens_and_audit,
);
