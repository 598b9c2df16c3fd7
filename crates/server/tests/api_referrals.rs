//! `/api/v1` find-refer-verify routes against a real server, a loopback hosting provider and a
//! loopback SMTP server: providers (admins only), URL intake, ranked cases and decisions,
//! referrals created, sent and exported in every format, status changes, roles and
//! organisation scoping. (The whole lifecycle with re-checks and an injected clock is in
//! takedown-referrals' own tests.)

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use common::{send, Backend, Harness};
use serde_json::json;
use takedown_corpus::{encode, generate, Format, Style};
use takedown_engine::{ContentMeta, NewBankRequest};
use takedown_fetch::{FetchConfig, StaticResolver};
use takedown_model::{Labels, Tier};
use takedown_referrals::demo::ProviderHost;
use takedown_referrals::smtp_sink::SmtpSink;
use takedown_referrals::{ReferralConfig, Referrals, SmtpConfig};

fn poster(seed: u64) -> Vec<u8> {
    encode(&generate(Style::Poster, seed, 480, 360), Format::Png)
}

struct World {
    h: Harness,
    host: ProviderHost,
    smtp: SmtpSink,
    referrals: Arc<Referrals>,
}

/// Unit A banks poster 1; a loopback host serves it as `videos.host-a.test`; the workflow is
/// attached to the running server with the SMTP sink as its mail server.
async fn world(backend: Backend) -> Option<World> {
    let h = Harness::start(backend).await?;
    let engine = h.engine().clone();
    let admin = engine.authenticate(&h.tokens.admin_a).await.expect("admin");
    engine
        .create_bank(
            &admin,
            NewBankRequest {
                name: "AMAQ".into(),
                description: "test".into(),
                matching_enabled: true,
                owner: None,
            },
        )
        .await
        .expect("bank");
    engine
        .add_content_from_bytes(
            &admin,
            "AMAQ",
            poster(1),
            ContentMeta {
                labels: Labels {
                    entity: Some("amaq".into()),
                    tier: Some(Tier::OfficialPropaganda),
                    ..Labels::default()
                },
                ..ContentMeta::default()
            },
        )
        .await
        .expect("content");
    let host = ProviderHost::start("127.0.0.1:0").await.expect("host");
    host.put("/media/p1.png", "image/png", poster(1));
    let smtp = SmtpSink::start("127.0.0.1:0").await.expect("smtp");
    let resolver =
        StaticResolver::new().with("videos.host-a.test", [IpAddr::V4(Ipv4Addr::LOCALHOST)]);
    let fetch = FetchConfig {
        allowlist: vec!["127.0.0.0/8".parse().expect("cidr")],
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(3),
        total_timeout: Duration::from_secs(5),
        per_host_interval: Duration::ZERO,
        retries: 0,
        ..FetchConfig::default()
    };
    let config = ReferralConfig {
        smtp: Some(SmtpConfig::plain("127.0.0.1", smtp.address().port())),
        ..ReferralConfig::default()
    };
    let referrals =
        Referrals::with_resolver(engine, fetch, Arc::new(resolver), config).expect("workflow");
    assert!(h.server.state().set_referrals(referrals.clone()));
    Some(World {
        h,
        host,
        smtp,
        referrals,
    })
}

async fn refer_and_send(backend: Backend) {
    let Some(world) = world(backend).await else {
        return;
    };
    let h = &world.h;
    let admin = Some(h.tokens.admin_a.as_str());
    let curator = Some(h.tokens.curator_a.as_str());
    let url = world.host.url_as("videos.host-a.test", "/media/p1.png");

    // Providers: admins edit, curators may not even read.
    let provider = json!({
        "name": "Host A",
        "contact_email": "abuse@host-a.test",
        "notice_format": "eu-order",
        "member_state": "IE",
        "legal_representative": "Host A EU Rep",
        "hosts": ["host-a.test"],
    });
    let (status, _) = send(h.post("/api/v1/providers", curator).json(&provider)).await;
    assert_eq!(status, 403);
    let (status, created) = send(h.post("/api/v1/providers", admin).json(&provider)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["rules"], json!(["host-a.test"]));
    let (status, body) = send(
        h.post("/api/v1/providers", admin)
            .json(&json!({"name": "No address", "delivery": "email"})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["field"], "contact_email");

    // Intake: the URL is fetched, matched and recorded; a bad URL is reported, not fatal.
    let (status, reports) = send(
        h.post("/api/v1/observations", admin)
            .json(&json!({"urls": [url, "ftp://example.org/x"]})),
    )
    .await;
    assert_eq!(status, 200, "{reports}");
    let observation = &reports[0]["observations"][0];
    assert_eq!(observation["outcome"], "live");
    assert_eq!(observation["http_status"], 200);
    assert_eq!(observation["matches"][0]["bank"], "AMAQ");
    assert_eq!(observation["matches"][0]["distance"], 0);
    assert!(reports[1]["error"].as_str().is_some());
    let (status, body) = send(
        h.post("/api/v1/observations", admin)
            .json(&json!({"urls": []})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = send(
        h.post("/api/v1/observations", curator)
            .json(&json!({"urls": [url]})),
    )
    .await;
    assert_eq!(status, 403);

    // Review.
    let (status, cases) = send(h.get("/api/v1/cases?status=open", admin)).await;
    assert_eq!(status, 200);
    assert_eq!(cases.as_array().map(Vec::len), Some(1), "{cases}");
    let case_id = cases[0]["id"].as_i64().expect("case id");
    let (status, body) = send(
        h.post(&format!("/api/v1/cases/{case_id}/decision"), admin)
            .json(&json!({"decision": "reject"})),
    )
    .await;
    assert_eq!(status, 400, "a rejection needs a reason: {body}");
    let (status, decided) = send(
        h.post(&format!("/api/v1/cases/{case_id}/decision"), admin)
            .json(
                &json!({"decision": "confirm", "grounds": ["incites"], "reason": "known release"}),
            ),
    )
    .await;
    assert_eq!(status, 200, "{decided}");
    assert_eq!(decided["status"], "confirmed");
    assert!(decided["decisions"][0]["reviewer"].is_string());
    let (status, _) =
        send(h.get(&format!("/api/v1/cases/{case_id}"), Some(&h.tokens.admin_b))).await;
    assert_eq!(status, 404, "another organisation's case is invisible");

    // Refer and send.
    let (status, created) = send(
        h.post("/api/v1/referrals", admin)
            .json(&json!({"send": true, "note": "please remove"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let reference = created["referrals"][0]["reference"]
        .as_str()
        .expect("reference")
        .to_string();
    // The same URL cannot be referred again while that referral is open.
    let (status, again) = send(h.post("/api/v1/referrals", admin).json(&json!({}))).await;
    assert_eq!(status, 201);
    assert_eq!(again["referrals"], json!([]));
    let summary = world
        .referrals
        .run_outbox("api-test")
        .await
        .expect("outbox");
    assert_eq!(summary.delivered, 1);
    let mail = world.smtp.distinct();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].to, vec!["abuse@host-a.test".to_string()]);
    assert!(mail[0].data.contains(&reference));

    let (status, shown) = send(h.get(&format!("/api/v1/referrals/{reference}"), admin)).await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["status"], "sent");
    assert_eq!(shown["items"][0]["url"], url);
    assert_eq!(shown["items"][0]["evidence"]["matched_bank"], "AMAQ");
    assert_eq!(shown["messages"][0]["state"], "sent");
    let (status, list) = send(h.get("/api/v1/referrals?status=sent", admin)).await;
    assert_eq!(status, 200);
    assert_eq!(list[0]["reference"], reference.as_str());
    let (status, _) = send(h.get(
        &format!("/api/v1/referrals/{reference}"),
        Some(&h.tokens.admin_b),
    ))
    .await;
    assert_eq!(status, 404);
    let (status, _) = send(h.get("/api/v1/referrals", Some(&h.tokens.matcher_a))).await;
    assert_eq!(status, 403);

    // Every export format, with its content type.
    for (format, content_type, needle) in [
        ("text", "text/plain", reference.as_str()),
        ("json", "application/json", "\"items\""),
        ("eu-order-json", "application/json", "2021/784"),
        ("eu-order-html", "text/html", "2021/784"),
        ("dsa", "application/json", "decision_visibility"),
    ] {
        let response = h
            .get(
                &format!("/api/v1/referrals/{reference}/export?format={format}"),
                admin,
            )
            .send()
            .await
            .expect("export");
        assert_eq!(response.status().as_u16(), 200, "{format}");
        let served = response.headers()["content-type"]
            .to_str()
            .expect("content type")
            .to_string();
        assert!(served.starts_with(content_type), "{format}: {served}");
        let body = response.text().await.expect("body");
        assert!(body.contains(needle), "{format} lacks {needle}: {body}");
    }
    let (status, _) = send(h.get(
        &format!("/api/v1/referrals/{reference}/export?format=pdf"),
        admin,
    ))
    .await;
    assert_eq!(status, 400);

    // Status: acknowledged follows sent; back to draft is refused.
    let (status, body) = send(
        h.post(&format!("/api/v1/referrals/{reference}/status"), admin)
            .json(&json!({"status": "acknowledged"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "acknowledged");
    let (status, _) = send(
        h.post(&format!("/api/v1/referrals/{reference}/status"), admin)
            .json(&json!({"status": "draft"})),
    )
    .await;
    assert!(status == 400 || status == 409, "{status}");

    // The unassigned queue, and a rule that assigns it.
    world.host.put("/x/p1.png", "image/png", poster(1));
    let stray = world.host.url("/x/p1.png");
    let (status, _) = send(
        h.post("/api/v1/observations", admin)
            .json(&json!({"urls": [stray]})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, unassigned) = send(h.get("/api/v1/observations?unassigned=true", admin)).await;
    assert_eq!(status, 200);
    assert_eq!(unassigned.as_array().map(Vec::len), Some(1), "{unassigned}");
    let (status, ruled) = send(
        h.post("/api/v1/providers/Host A/rules", admin)
            .json(&json!({"host_suffix": "127.0.0.1"})),
    )
    .await;
    assert_eq!(status, 200, "{ruled}");
    assert_eq!(ruled["assigned_observations"], 1);
    let (status, _) = send(h.delete("/api/v1/provider-rules/127.0.0.1", curator)).await;
    assert_eq!(status, 403);
    let response = h
        .delete("/api/v1/provider-rules/127.0.0.1", admin)
        .send()
        .await
        .expect("delete");
    assert_eq!(response.status().as_u16(), 204);
    world.h.finish().await;
}

async fn not_attached_is_503(backend: Backend) {
    let Some(h) = Harness::start(backend).await else {
        return;
    };
    let (status, body) = send(h.get("/api/v1/referrals", Some(&h.tokens.admin_a))).await;
    assert_eq!(status, 503, "{body}");
    h.finish().await;
}

both_backends!(refer_and_send, not_attached_is_503);
