//! The find-refer-verify commands as an analyst runs them, against a loopback hosting
//! provider and a loopback SMTP server: `provider add`, `url add` (arguments and a file),
//! `case list|decide`, `referral create --send|list|show|export`, `check run|status`.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use takedown_corpus::{encode, generate, Format, Style};
use takedown_engine::{Caller, ContentMeta, Engine, EngineConfig, NewBankRequest};
use takedown_model::{Labels, Role, SystemClock, Tier};
use takedown_referrals::demo::ProviderHost;
use takedown_referrals::smtp_sink::SmtpSink;

fn poster(seed: u64) -> Vec<u8> {
    encode(&generate(Style::Poster, seed, 480, 360), Format::Png)
}

/// Runs `takedown ARGS --database DB` with the referral settings; (exit code, stdout lines).
fn takedown(database: &Path, settings: &Path, args: &[&str]) -> (i32, Vec<String>) {
    let output = Command::new(env!("CARGO_BIN_EXE_takedown"))
        .args(args)
        .arg("--database")
        .arg(database)
        .arg("--referrals-config")
        .arg(settings)
        .args(["--fetch-allow", "127.0.0.0/8"])
        .env_remove("TAKEDOWN_DATABASE")
        .output()
        .expect("run takedown");
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprintln!(
        "takedown {args:?}\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (
        output.status.code().unwrap_or(-1),
        stdout.lines().map(str::to_string).collect(),
    )
}

fn json(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line}"))
}

#[test]
fn url_add_review_refer_send_and_check() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let database = directory.path().join("takedown.sqlite");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // One organisation with a bank holding poster 1; the provider serves a copy, the SMTP
    // sink takes the referral. Both keep running on the runtime's threads while the binary
    // runs.
    let (host, smtp) = runtime.block_on(async {
        let clock = std::sync::Arc::new(SystemClock);
        let store = takedown_store::open(&database.display().to_string(), clock.clone())
            .await
            .expect("store");
        let engine = Engine::new(store, clock, EngineConfig::default());
        let cli = Caller::cli();
        let org = engine
            .create_organisation(&cli, "Unit A")
            .await
            .expect("org");
        engine
            .create_token(&cli, Some(org.id), Role::Admin, "setup", None)
            .await
            .expect("token");
        let unit = Caller {
            org: Some(org.id),
            ..Caller::cli()
        };
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
            .expect("bank");
        engine
            .add_content_from_bytes(
                &unit,
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
        host.put("/media/p1-again.png", "image/png", poster(1));
        let smtp = SmtpSink::start("127.0.0.1:0").await.expect("smtp");
        (host, smtp)
    });
    // The first check is due as soon as the referral is delivered, so one `check run`
    // delivers and checks.
    let settings = directory.path().join("referrals.toml");
    std::fs::write(
        &settings,
        format!(
            "[schedule]\nfirst = [\"0s\"]\nthen_every = \"1h\"\nmax_age = \"30d\"\n\
             [sender]\norganisation = \"Unit A IRU\"\nemail = \"iru@unit-a.test\"\n\
             [smtp]\nurl = \"smtp://127.0.0.1:{}\"\ntls = \"none\"\n",
            smtp.address().port()
        ),
    )
    .expect("settings");
    let run = |args: &[&str]| takedown(&database, &settings, args);

    let (code, out) = run(&[
        "provider",
        "add",
        "Loopback Host",
        "--email",
        "abuse@loopback.test",
        "--format",
        "eu-order",
        "--host",
        "127.0.0.1",
    ]);
    assert_eq!(code, 0);
    assert_eq!(json(&out[0])["rules"][0], "127.0.0.1");
    let (code, _) = run(&["provider", "add", "Broken", "--delivery", "email"]);
    assert_ne!(code, 0, "e-mail delivery without an address is refused");

    // URLs from arguments and from a file; a bad one makes the exit code 1 but the others
    // are recorded.
    let list = directory.path().join("urls.txt");
    std::fs::write(
        &list,
        format!(
            "# from a partner\n{}\nnot a url\n",
            host.url("/media/p1-again.png")
        ),
    )
    .expect("url file");
    let first = host.url("/media/p1.png");
    let (code, out) = run(&["url", "add", &first, "--file", list.to_str().expect("path")]);
    assert_eq!(code, 1);
    assert_eq!(out.len(), 3);
    let report = json(&out[0]);
    assert_eq!(report["observations"][0]["outcome"], "live");
    assert_eq!(report["observations"][0]["matches"][0]["bank"], "AMAQ");
    assert!(json(&out[2])["error"].is_string());

    let (code, out) = run(&["case", "list"]);
    assert_eq!(code, 0);
    assert_eq!(out.len(), 1, "both copies share one case");
    let case = json(&out[0]);
    assert_eq!(case["observation_count"], 2);
    let id = case["id"].to_string();
    let (code, out) = run(&["case", "decide", &id, "--confirm", "--reason", "known"]);
    assert_eq!(code, 0);
    assert_eq!(json(&out[0])["status"], "confirmed");

    let (code, out) = run(&["referral", "create", "--send"]);
    assert_eq!(code, 0);
    let reference = json(&out[0])["referrals"][0]["reference"]
        .as_str()
        .expect("reference")
        .to_string();

    // The provider takes both copies down before the first check.
    host.take_down("/media/p1.png");
    host.take_down("/media/p1-again.png");
    let (code, out) = run(&["check", "run"]);
    assert_eq!(code, 0);
    let summary = json(&out[0]);
    assert_eq!(summary["outbox"]["delivered"], 1);
    assert_eq!(summary["checks"]["recorded"], 2);
    assert_eq!(summary["checks"]["outcomes"]["removed"], 2);
    let mail = smtp.distinct();
    assert_eq!(mail.len(), 1);
    assert!(mail[0].data.contains(&reference));

    let (code, out) = run(&["referral", "show", &reference]);
    assert_eq!(code, 0);
    let shown = json(&out.join("\n"));
    assert_eq!(shown["status"], "removed");
    assert!(shown["removal"]["time_to_removal_seconds"].is_i64());
    let (code, out) = run(&["referral", "list", "--status", "removed"]);
    assert_eq!(code, 0);
    assert_eq!(json(&out[0])["reference"], reference.as_str());
    let order = directory.path().join("order.html");
    let (code, _) = run(&[
        "referral",
        "export",
        &reference,
        "--format",
        "eu-order-html",
        "--output",
        order.to_str().expect("path"),
    ]);
    assert_eq!(code, 0);
    assert!(std::fs::read_to_string(&order)
        .expect("order")
        .contains("2021/784"));
    let (code, _) = run(&["referral", "export", &reference, "--format", "pdf"]);
    assert_ne!(code, 0);
    let (code, out) = run(&["check", "status"]);
    assert_eq!(code, 0);
    assert_eq!(json(&out[0])["done"], 2);
    drop(runtime);
}
