//! HMA's clients, replayed: the same requests HMA's own test suite sends
//! (`OpenMediaMatch/tests/test_api.py`, `test_api_banks.py`, `test_match_api.py`) with the same
//! expectations on statuses and shapes, against a real server on loopback. The images are the
//! PDQ reference's own test images, which HMA's tests also use.
//!
//! One expected value differs, and the tests show why it does not matter: HMA's
//! `IMAGE_URL_TO_PDQ` holds the hashes HMA's Python stack computes after decoding with Pillow;
//! takedown decodes as Meta's C++ reference does and gets the reference's hashes (6 and 10 bits
//! away for the two images). A bank filled by HMA (seeded here with HMA's value) still matches
//! takedown's hash of the same image well within the radius.
//!
//! The differences are takedown's on purpose: a bearer token on every request (HMA has no
//! authentication), and distances as numbers (HMA sends strings).

mod common;

use std::net::SocketAddr;

use axum::http::header::CONTENT_TYPE;
use common::{file_form, send, Backend, Harness};
use serde_json::json;
use takedown_server::IndexLoading;

/// The C++ reference's PDQ of `bridge-mods/aaa-orig.jpg` (`vectors/pdq/expected`).
const AAA_ORIG_PDQ: &str = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";
/// The C++ reference's PDQ of `misc-images/c.png`.
const C_PNG_PDQ: &str = "e4cc89d91c623842f8d1f1d9a398e78c9f199a3bf87925f2b7e11e0bf061b064";
/// HMA's value for `aaa-orig.jpg` (`tests/utils.py`), decoded with Pillow: 6 bits away.
const HMA_AAA_ORIG_PDQ: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

fn reference_image(path: &str) -> Vec<u8> {
    let root = takedown_testmedia::vectors().join("pdq/images");
    std::fs::read(root.join(path)).expect("reference image")
}

/// A loopback web server holding the reference images, for HMA's `url=` parameters.
async fn media_server() -> SocketAddr {
    let app = axum::Router::new()
        .route(
            "/aaa-orig.jpg",
            axum::routing::get(|| async {
                (
                    [(CONTENT_TYPE, "image/jpeg")],
                    reference_image("bridge-mods/aaa-orig.jpg"),
                )
            }),
        )
        .route(
            "/c.png",
            axum::routing::get(|| async {
                (
                    [(CONTENT_TYPE, "image/png")],
                    reference_image("misc-images/c.png"),
                )
            }),
        )
        .route(
            "/page.html",
            axum::routing::get(|| async { ([(CONTENT_TYPE, "text/html")], "<html></html>") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    address
}

/// A server whose fetcher may reach loopback (where the media server is).
async fn harness(backend: Backend) -> Option<Harness> {
    Harness::start_with(
        backend,
        |config| config.fetch.allowlist = vec!["127.0.0.0/8".parse().expect("cidr")],
        IndexLoading::Background,
    )
    .await
}

/// `tests/utils.py create_bank`.
async fn create_bank(h: &Harness, token: &str, name: &str) {
    let (status, body) = send(h.post("/c/banks", Some(token)).json(&json!({"name": name}))).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body, json!({"matching_enabled_ratio": 1.0, "name": name}));
}

/// `tests/utils.py add_hash_to_bank`, by `url=` as HMA does.
async fn add_hash_to_bank(
    h: &Harness,
    token: &str,
    bank: &str,
    url: &str,
    expected_pdq: &str,
) -> i64 {
    let (status, body) = send(h.post(
        &format!("/c/bank/{bank}/content?url={url}&content_type=photo"),
        Some(token),
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["signals"], json!({"pdq": expected_pdq}));
    body["id"].as_i64().expect("id")
}

async fn status_and_banks(backend: Backend) {
    let Some(h) = harness(backend).await else {
        return;
    };
    let token = h.tokens.curator_a.clone();
    let t = Some(token.as_str());

    // test_status_response
    let response = h.get("/status", None).send().await.expect("status");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("text"), "I-AM-ALIVE");

    // test_banks_empty_index
    let (status, body) = send(h.get("/c/banks", t)).await;
    assert_eq!((status, body), (200, json!([])));

    // test_banks_create: names must not start with a digit nor hold lowercase letters
    for bad in ["01_TEST_BANK", "my_test_bank"] {
        let (status, body) = send(h.post("/c/banks", t).json(&json!({"name": bad}))).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["message"].is_string(), "HMA's error shape: {body}");
    }
    create_bank(&h, &token, "MY_TEST_BANK_01").await;
    let (status, body) = send(h.get("/c/banks", t)).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!([{"matching_enabled_ratio": 1.0, "name": "MY_TEST_BANK_01"}])
    );
    // A taken name: HMA answers 403.
    let (status, _) = send(
        h.post("/c/banks", t)
            .json(&json!({"name": "MY_TEST_BANK_01"})),
    )
    .await;
    assert_eq!(status, 403);

    // test_banks_update
    create_bank(&h, &token, "MY_TEST_BANK").await;
    let (status, _) = send(
        h.put("/c/bank/MY_TEST_BANK", t)
            .json(&json!({"name": "1_invalid_name"})),
    )
    .await;
    assert_eq!(status, 400);
    let (status, body) = send(
        h.put("/c/bank/MY_TEST_BANK", t)
            .json(&json!({"name": "MY_TEST_BANK_RENAMED"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "MY_TEST_BANK_RENAMED");
    let (status, body) = send(
        h.put("/c/bank/MY_TEST_BANK_RENAMED", t)
            .json(&json!({"enabled": false})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["matching_enabled_ratio"], 0.0);
    // takedown has no sampling: a ratio between 0 and 1 is refused, not approximated.
    let (status, body) = send(
        h.put("/c/bank/MY_TEST_BANK_RENAMED", t)
            .json(&json!({"enabled_ratio": 0.5})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = send(h.get("/c/bank/MY_TEST_BANK_RENAMED", t)).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"name": "MY_TEST_BANK_RENAMED", "matching_enabled_ratio": 0.0})
    );

    // test_banks_delete: deleting twice succeeds both times
    for _ in 0..2 {
        let (status, body) = send(h.delete("/c/bank/MY_TEST_BANK_RENAMED", t)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body, json!({"message": "Done"}));
    }
    let (status, body) = send(h.get("/c/bank/MY_TEST_BANK_RENAMED", t)).await;
    assert_eq!(status, 404);
    assert!(body["message"]
        .as_str()
        .unwrap_or_default()
        .contains("not found"));
    h.finish().await;
}

async fn bank_content(backend: Backend) {
    let Some(h) = harness(backend).await else {
        return;
    };
    let token = h.tokens.curator_a.clone();
    let t = Some(token.as_str());
    let media = media_server().await;
    let aaa = format!("http://{media}/aaa-orig.jpg");

    // test_bank_get_content_404: bank missing, then content missing
    let (status, _) = send(h.get("/c/bank/TEST_BANK_GET/content/1", t)).await;
    assert_eq!(status, 404);
    create_bank(&h, &token, "TEST_BANK_GET").await;
    let (status, _) = send(h.get("/c/bank/TEST_BANK_GET/content/1", t)).await;
    assert_eq!(status, 404);

    // test_banks_add_content / test_bank_get_content
    let id = add_hash_to_bank(&h, &token, "TEST_BANK_GET", &aaa, AAA_ORIG_PDQ).await;
    let (status, body) = send(h.get(&format!("/c/bank/TEST_BANK_GET/content/{id}"), t)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], id);
    assert_eq!(body["disable_until_ts"], 1);
    assert_eq!(
        body["bank"],
        json!({"name": "TEST_BANK_GET", "matching_enabled_ratio": 1.0})
    );
    assert_eq!(body["original_media_uri"], aaa);
    assert!(body.get("signals").is_none());
    let (_, body) = send(h.get(
        &format!("/c/bank/TEST_BANK_GET/content/{id}?include_signals=true"),
        t,
    ))
    .await;
    assert_eq!(body["signals"]["pdq"], AAA_ORIG_PDQ);
    // test_bank_get_content_signal_validation (older HMA's signal_type filter)
    let (_, body) = send(h.get(
        &format!("/c/bank/TEST_BANK_GET/content/{id}?signal_type=video_md5"),
        t,
    ))
    .await;
    assert_eq!(body["signals"], json!({}));
    let (status, body) = send(h.get(
        &format!("/c/bank/TEST_BANK_GET/content/{id}?signal_type=invalid"),
        t,
    ))
    .await;
    assert_eq!(status, 400);
    assert!(body["message"]
        .as_str()
        .unwrap_or_default()
        .contains("No such signal type"));

    // test_bank_update_content: disable for a year, then a value too far ahead
    let in_a_year = chrono::Utc::now().timestamp() + 365 * 24 * 3600;
    let (status, body) = send(
        h.put(&format!("/c/bank/TEST_BANK_GET/content/{id}"), t)
            .json(&json!({"disable_until_ts": in_a_year})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["disable_until_ts"], in_a_year);
    let (status, _) = send(
        h.put(&format!("/c/bank/TEST_BANK_GET/content/{id}"), t)
            .json(&json!({"disable_until_ts": 9_999_999_999i64})),
    )
    .await;
    assert_eq!(status, 400);
    // Disabled: it no longer matches.
    let (_, body) = send(h.get(
        &format!("/m/raw_lookup?signal_type=pdq&signal={AAA_ORIG_PDQ}"),
        t,
    ))
    .await;
    assert_eq!(body, json!({"matches": []}));
    let (status, _) = send(
        h.put(&format!("/c/bank/TEST_BANK_GET/content/{id}"), t)
            .json(&json!({"disable_until_ts": 1})),
    )
    .await;
    assert_eq!(status, 200);
    let (_, body) = send(h.get(
        &format!("/m/raw_lookup?signal_type=pdq&signal={AAA_ORIG_PDQ}"),
        t,
    ))
    .await;
    assert_eq!(body, json!({"matches": [id]}));

    // test_banks_add_metadata: unknown metadata keys are refused, HMA's keys accepted
    let request =
        format!("/c/bank/TEST_BANK_GET/content?url=http://{media}/c.png&content_type=photo");
    let (status, _) = send(
        h.post(&request, t)
            .json(&json!({"metadata": {"invalid_metadata": 5}})),
    )
    .await;
    assert_eq!(status, 400);
    let (status, body) = send(
        h.post(&request, t)
            .json(&json!({"metadata": {"content_id": "1197433091", "json": {"asdf": {}}}, "note": "from a partner"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["signals"]["pdq"], C_PNG_PDQ);
    let c_id = body["id"].as_i64().expect("id");
    let (_, body) = send(h.get(&format!("/c/bank/TEST_BANK_GET/content/{c_id}"), t)).await;
    assert_eq!(body["note"], "from a partner");

    // Upload instead of url=, with the note as a form field
    let form = file_form(
        "photo",
        "sq.jpg",
        reference_image("bridge-mods/square-128x128.jpg"),
    )
    .text("note", "uploaded");
    let (status, body) = send(h.post("/c/bank/TEST_BANK_GET/content", t).multipart(form)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["signals"]["pdq"].is_string());

    // Neither url nor file
    let (status, body) = send(h.post("/c/bank/TEST_BANK_GET/content", t)).await;
    assert_eq!(status, 400);
    assert!(body["message"]
        .as_str()
        .unwrap_or_default()
        .contains("Neither"));

    // test_banks_delete_content
    let (status, body) = send(h.delete(&format!("/c/bank/TEST_BANK_GET/content/{c_id}"), t)).await;
    assert_eq!((status, body), (200, json!({"deleted": 1})));
    let (_, body) = send(h.delete(&format!("/c/bank/TEST_BANK_GET/content/{c_id}"), t)).await;
    assert_eq!(body, json!({"deleted": 0}));
    h.finish().await;
}

async fn lookups(backend: Backend) {
    let Some(h) = harness(backend).await else {
        return;
    };
    let token = h.tokens.curator_a.clone();
    let t = Some(token.as_str());
    let media = media_server().await;

    // client_with_multi_bank_data: the same PDQ in three banks, through /c/bank/NAME/signal
    for bank in ["BANK_A", "BANK_B", "BANK_C"] {
        create_bank(&h, &token, bank).await;
        let (status, body) = send(
            h.post(&format!("/c/bank/{bank}/signal"), t)
                .json(&json!({"pdq": HMA_AAA_ORIG_PDQ, "note": "from HMA"})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["signals"], json!({"pdq": HMA_AAA_ORIG_PDQ}));
    }
    let q = format!("signal_type=pdq&signal={HMA_AAA_ORIG_PDQ}");

    // test_raw_lookup_with_bank_filter
    for (banks, count) in [
        ("", 3),
        ("&banks=BANK_A", 1),
        ("&banks=BANK_A,BANK_B", 2),
        ("&banks=NON_EXISTENT_BANK", 0),
    ] {
        let (status, body) = send(h.get(&format!("/m/raw_lookup?{q}{banks}"), t)).await;
        assert_eq!(status, 200);
        assert_eq!(
            body["matches"].as_array().expect("list").len(),
            count,
            "{banks}"
        );
        assert!(body["matches"]
            .as_array()
            .expect("list")
            .iter()
            .all(|m| m.is_i64()));
    }
    // test_raw_lookup_with_distance_and_bank_filter: distances are numbers here
    let (_, body) = send(h.get(
        &format!("/m/raw_lookup?{q}&include_distance=true&banks=BANK_A,BANK_B"),
        t,
    ))
    .await;
    let matches = body["matches"].as_array().expect("list");
    assert_eq!(matches.len(), 2);
    for m in matches {
        assert!(m["bank_content_id"].is_i64());
        assert_eq!(m["distance"], 0);
    }

    // test_lookup_with_bank_filter
    let (status, body) = send(h.get(&format!("/m/lookup?{q}"), t)).await;
    assert_eq!(status, 200);
    let banks: Vec<&String> = body.as_object().expect("object").keys().collect();
    assert_eq!(banks, ["BANK_A", "BANK_B", "BANK_C"]);
    assert!(body["BANK_A"][0]["bank_content_id"].is_i64());
    assert_eq!(body["BANK_A"][0]["distance"], 0);
    let (_, body) = send(h.get(&format!("/m/lookup?{q}&banks=BANK_A,BANK_C"), t)).await;
    assert_eq!(body.as_object().expect("object").len(), 2);
    assert!(body.get("BANK_B").is_none());
    let (_, body) = send(h.get(&format!("/m/lookup?{q}&banks=NON_EXISTENT_BANK"), t)).await;
    assert_eq!(body, json!({}));

    // test_lookup_success: GET by url, then POST the file as `photo`
    let (status, body) =
        send(h.get(&format!("/m/lookup?url=http://{media}/aaa-orig.jpg"), t)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["pdq"]["BANK_A"][0]["distance"], 6,
        "takedown's hash against HMA's"
    );
    let (_, elided) = send(h.get(
        &format!("/m/lookup?url=http://{media}/aaa-orig.jpg&signal_type=pdq"),
        t,
    ))
    .await;
    assert_eq!(
        elided, body["pdq"],
        "HMA elides the outer object when a type is named"
    );
    // A near-duplicate (the reference's own blurred copy) matches at a small distance.
    let form = file_form(
        "photo",
        "blur.jpg",
        reference_image("bridge-mods/blur-a-little.jpg"),
    );
    let (status, body) = send(h.post("/m/lookup", t).multipart(form)).await;
    assert_eq!(status, 200, "{body}");
    let distance = body["pdq"]["BANK_C"][0]["distance"]
        .as_u64()
        .expect("a number");
    assert!((1..=31).contains(&distance), "{distance}");
    // HMA requires the field name to be a content type.
    let form = file_form("file", "x.jpg", reference_image("bridge-mods/aaa-orig.jpg"));
    let (status, body) = send(h.post("/m/lookup", t).multipart(form)).await;
    assert_eq!(status, 400, "{body}");
    // Missing parameters
    let (status, _) = send(h.get("/m/lookup?signal_type=pdq", t)).await;
    assert_eq!(status, 400);
    // A page that is not media
    let (status, body) = send(h.get(&format!("/m/lookup?url=http://{media}/page.html"), t)).await;
    assert_eq!(status, 400, "{body}");

    // Hashing: GET by url and POST upload give HMA's expected hashes.
    let (status, body) = send(h.get(&format!("/h/hash?url=http://{media}/c.png"), t)).await;
    assert_eq!((status, body), (200, json!({"pdq": C_PNG_PDQ})));
    let form = file_form(
        "photo",
        "aaa.jpg",
        reference_image("bridge-mods/aaa-orig.jpg"),
    );
    let (status, body) = send(h.post("/h/hash", t).multipart(form)).await;
    assert_eq!((status, body), (200, json!({"pdq": AAA_ORIG_PDQ})));
    let form = file_form(
        "video",
        "v.mp4",
        b"not really a video, but HMA's video_md5 is of the bytes".to_vec(),
    );
    let (status, body) = send(h.post("/h/hash", t).multipart(form)).await;
    assert_eq!(status, 200);
    assert_eq!(body["video_md5"].as_str().map(str::len), Some(32));
    let (status, _) = send(h.get("/h/hash", t)).await;
    assert_eq!(status, 400);

    // Index status
    let (status, body) = send(h.get("/m/index/status", t)).await;
    assert_eq!(status, 200);
    assert_eq!(body["pdq"]["present"], true);
    assert_eq!(body["pdq"]["size"], 3);
    assert!(body["video_md5"]["built_to"].is_i64());
    let (status, _) = send(h.get("/m/index/status?signal_type=tmk", t)).await;
    assert_eq!(status, 400);
    h.finish().await;
}

async fn compare_hashes(backend: Backend) {
    let Some(h) = harness(backend).await else {
        return;
    };
    let t = Some(h.tokens.matcher_b.as_str());
    // test_compare_hashes
    let specimen1 = "facd8bcb2a49bcebdec1985298d5fe84bcd006c187c598c720c3c087b3fdb318";
    let specimen2 = "facd8bcb2a49bcebdec1985228d5ae84bcd006c187c598c720c2b087b3fdb318";
    let (status, body) = send(
        h.post("/m/compare", t)
            .json(&json!({"pdq": [specimen1, specimen2]})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"pdq": [true, {"distance": 9}]}));
    let bad_inputs = [
        json!(["banana"]),
        json!({"pdq": "banana"}),
        json!({"pdq": []}),
        json!({"pdq": ["banana", "banana"]}),
        json!({"pdq": [specimen1, specimen2, specimen1]}),
    ];
    for bad in bad_inputs {
        let (status, body) = send(h.post("/m/compare", t).json(&bad)).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["message"].is_string());
    }
    h.finish().await;
}

/// With `hma.require_auth = false` (HMA's trusted-network model), hashing and matching work
/// without a token; curation still needs one.
async fn trusted_network(backend: Backend) {
    let Some(h) = Harness::start_with(
        backend,
        |config| config.hma.require_auth = false,
        IndexLoading::Background,
    )
    .await
    else {
        return;
    };
    let curator = Some(h.tokens.curator_a.as_str());
    create_bank(&h, &h.tokens.curator_a, "TRUSTED").await;
    let (status, _) = send(
        h.post("/c/bank/TRUSTED/signal", curator)
            .json(&json!({"pdq": AAA_ORIG_PDQ})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = send(h.get(
        &format!("/m/lookup?signal_type=pdq&signal={AAA_ORIG_PDQ}"),
        None,
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["TRUSTED"][0]["distance"], 0);
    let form = file_form(
        "photo",
        "aaa.jpg",
        reference_image("bridge-mods/aaa-orig.jpg"),
    );
    let (status, body) = send(h.post("/h/hash", None).multipart(form)).await;
    assert_eq!((status, body), (200, json!({"pdq": AAA_ORIG_PDQ})));
    // A client without a token may not curate.
    let (status, body) = send(h.post("/c/banks", None).json(&json!({"name": "NOPE"}))).await;
    assert_eq!(status, 403, "{body}");
    // /api/v1 always needs a token.
    let (status, _) = send(h.get("/api/v1/banks", None)).await;
    assert_eq!(status, 401);
    h.finish().await;
}

/// What HMA lacks, on HMA's own routes: without a token or with an unknown one, 401 with a
/// `{"message"}` saying why; a role that may not curate, 403; another organisation's bank is
/// invisible (to lookups and to curation) until it is shared, and a hash added through
/// `/c/bank/{name}/signal` matches on the very next lookup.
async fn authentication_and_sharing(backend: Backend) {
    let Some(h) = harness(backend).await else {
        return;
    };
    let lookup = format!("/m/lookup?signal_type=pdq&signal={AAA_ORIG_PDQ}");
    let (status, body) = send(h.get(&lookup, None)).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("bearer token"),
        "{body}"
    );
    let (status, body) = send(h.get(&lookup, Some("tdk_not_a_real_token"))).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["message"].is_string(), "{body}");
    let (status, body) = send(h.get("/status", None)).await;
    assert_eq!(status, 200, "{body}");

    let curator_a = h.tokens.curator_a.clone();
    let matcher_b = Some(h.tokens.matcher_b.as_str());
    let (status, body) = send(h.post("/c/banks", matcher_b).json(&json!({"name": "NOPE"}))).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap_or_default()
        .contains("matcher"));

    create_bank(&h, &curator_a, "UNIT_A_BANK").await;
    let (status, body) = send(
        h.post("/c/bank/UNIT_A_BANK/signal", Some(&curator_a))
            .json(&json!({"pdq": AAA_ORIG_PDQ})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // The next request on the same node matches it.
    let (status, body) = send(h.get(&lookup, Some(&h.tokens.matcher_a))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["UNIT_A_BANK"][0]["distance"], 0, "{body}");

    // Platform B sees nothing of Unit A's bank before it is shared.
    let (status, body) = send(h.get(&lookup, matcher_b)).await;
    assert_eq!((status, body), (200, json!({})));
    let (status, _) = send(h.get("/c/bank/UNIT_A_BANK", Some(&h.tokens.admin_b))).await;
    assert_eq!(status, 404);
    let (_, body) = send(h.get("/c/banks", Some(&h.tokens.admin_b))).await;
    assert_eq!(body, json!([]));

    let (status, body) = send(
        h.post("/api/v1/banks/UNIT_A_BANK/shares", Some(&h.tokens.admin_a))
            .json(&json!({"organisation": common::ORG_B})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(h.get(&lookup, matcher_b)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["UNIT_A_BANK"][0]["distance"], 0, "{body}");
    // Shared is not owned: B may not add to it.
    let (status, _) = send(
        h.post("/c/bank/UNIT_A_BANK/signal", Some(&h.tokens.admin_b))
            .json(&json!({"pdq": C_PNG_PDQ})),
    )
    .await;
    assert_eq!(status, 403);
    h.finish().await;
}

both_backends!(
    authentication_and_sharing,
    status_and_banks,
    bank_content,
    lookups,
    compare_hashes,
    trusted_network
);
