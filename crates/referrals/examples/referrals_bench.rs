//! Referral benchmarks (release mode; see docs/benchmarks.md, "Referrals"):
//!
//! 1. URLs checked per second against loopback hosting providers, through the whole check
//!    path (claim with a lease, fetch through the address guard, digest and compare, record
//!    with the next check), with and without a per-host rate limit.
//! 2. The scheduler's cost with one million pending checks in the store: time to find and
//!    claim due checks, and the process's memory (due checks live in the store, not here).
//!
//! `cargo run --release -p takedown-referrals --example referrals_bench [HOSTS URLS_PER_HOST]`
//! Needs the `sqlite3` command for the bulk insert of the million rows.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use takedown_corpus::{encode, generate, Format, Style};
use takedown_engine::{Caller, ContentMeta, Engine, EngineConfig, NewBankRequest};
use takedown_fetch::{FetchConfig, StaticResolver};
use takedown_model::{Clock, Labels, SystemClock, Tier};
use takedown_referrals::demo::{JsonEndpoint, ProviderHost};
use takedown_referrals::records::{DecisionKind, Delivery, NewProvider, NoticeFormat};
use takedown_referrals::{
    CheckSchedule, CreateReferrals, Decision, IntakeRequest, ReferralConfig, Referrals,
};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmRSS:"))
                .and_then(|line| line.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

struct Pass {
    referrals: Arc<Referrals>,
    database: String,
    _directory: tempfile::TempDir,
    _hosts: Vec<ProviderHost>,
    _endpoint: JsonEndpoint,
}

/// A unit with one banked poster, `hosts` loopback providers each serving `per_host` copies,
/// referred and delivered; every item's first check is due at once.
async fn setup(hosts: usize, per_host: usize, fetch: FetchConfig) -> Pass {
    let directory = tempfile::tempdir().expect("temporary directory");
    let database = directory.path().join("bench.sqlite").display().to_string();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = takedown_store::open(&database, clock.clone())
        .await
        .expect("store");
    let engine = Engine::new(store, clock, EngineConfig::default());
    let cli = Caller::cli();
    let org = engine
        .create_organisation(&cli, "Bench Unit")
        .await
        .expect("org");
    let unit = Caller {
        org: Some(org.id),
        ..Caller::cli()
    };
    engine
        .create_bank(
            &unit,
            NewBankRequest {
                name: "AMAQ".into(),
                description: "bench".into(),
                matching_enabled: true,
                owner: None,
            },
        )
        .await
        .expect("bank");
    let poster = encode(&generate(Style::Poster, 1, 480, 360), Format::Png);
    engine
        .add_content_from_bytes(
            &unit,
            "AMAQ",
            poster.clone(),
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
    engine.load().await.expect("index");
    let endpoint = JsonEndpoint::start("127.0.0.1:0").await.expect("endpoint");
    let mut resolver = StaticResolver::new();
    let mut servers = Vec::new();
    let mut urls = Vec::new();
    for index in 0..hosts {
        let host = ProviderHost::start("127.0.0.1:0").await.expect("host");
        let name = format!("h{index}.bench.test");
        resolver = resolver.with(&name, [IpAddr::V4(Ipv4Addr::LOCALHOST)]);
        for item in 0..per_host {
            let path = format!("/m/{item}.png");
            host.put(&path, "image/png", poster.clone());
            urls.push(host.url_as(&name, &path));
        }
        servers.push(host);
    }
    let config = ReferralConfig {
        schedule: CheckSchedule {
            first: vec![Duration::ZERO],
            then_every: Duration::from_secs(3600),
            max_age: Duration::from_secs(30 * 86400),
        },
        check_batch: 500,
        check_concurrency: 64,
        ..ReferralConfig::default()
    };
    let referrals =
        Referrals::with_resolver(engine, fetch, Arc::new(resolver), config).expect("workflow");
    for index in 0..hosts {
        let name = format!("Host {index}");
        referrals
            .create_provider(
                &cli,
                NewProvider {
                    name: name.clone(),
                    contact_email: String::new(),
                    endpoint_url: endpoint.url(),
                    delivery: Delivery::Http,
                    notice_format: NoticeFormat::Json,
                    legal_representative: String::new(),
                    member_state: String::new(),
                    contact_point: String::new(),
                },
            )
            .await
            .expect("provider");
        referrals
            .add_provider_rule(&cli, &name, &format!("h{index}.bench.test"))
            .await
            .expect("rule");
    }
    let started = Instant::now();
    let count = urls.len();
    referrals
        .submit_urls(
            &unit,
            IntakeRequest {
                urls,
                org: None,
                source: "bench".into(),
            },
        )
        .await
        .expect("intake");
    let intake = started.elapsed();
    println!(
        "  intake: {count} URLs in {:.2} s ({:.0} URLs/s, fetch + PDQ + match + record)",
        intake.as_secs_f64(),
        count as f64 / intake.as_secs_f64()
    );
    for case in referrals.cases(&unit, None, 10).await.expect("cases") {
        referrals
            .decide(
                &unit,
                case.id,
                Decision {
                    decision: DecisionKind::Confirm,
                    entity: None,
                    tier: None,
                    grounds: Vec::new(),
                    reason: "bench".into(),
                    add_to_bank: None,
                },
            )
            .await
            .expect("decide");
    }
    let created = referrals
        .create_referrals(&unit, CreateReferrals::default())
        .await
        .expect("referrals");
    for referral in &created.referrals {
        referrals
            .send(&unit, &referral.reference)
            .await
            .expect("send");
    }
    let outbox = referrals.run_outbox("bench").await.expect("outbox");
    assert_eq!(outbox.delivered, hosts);
    Pass {
        referrals,
        database,
        _directory: directory,
        _hosts: servers,
        _endpoint: endpoint,
    }
}

async fn throughput(hosts: usize, per_host: usize, concurrency: usize, interval: Duration) {
    println!(
        "checks: {hosts} hosts x {per_host} URLs, per-host concurrency {concurrency}, per-host \
         interval {interval:?}"
    );
    let fetch = FetchConfig {
        allowlist: vec!["127.0.0.0/8".parse().expect("cidr")],
        per_host_concurrency: concurrency,
        per_host_interval: interval,
        global_concurrency: 256,
        retries: 0,
        ..FetchConfig::default()
    };
    let pass = setup(hosts, per_host, fetch).await;
    let started = Instant::now();
    let summary = pass
        .referrals
        .run_due_checks("bench")
        .await
        .expect("checks");
    let elapsed = started.elapsed();
    let limit = if interval.is_zero() {
        "none".to_string()
    } else {
        format!("{:.0}/s", hosts as f64 / interval.as_secs_f64())
    };
    println!(
        "  checks: {} recorded ({:?}) in {:.2} s = {:.0} URLs checked/s (rate limit across hosts: {limit})",
        summary.recorded,
        summary.outcomes,
        elapsed.as_secs_f64(),
        summary.recorded as f64 / elapsed.as_secs_f64()
    );
}

async fn scheduler() {
    println!("scheduler: one million pending checks in SQLite");
    let fetch = FetchConfig {
        allowlist: vec!["127.0.0.0/8".parse().expect("cidr")],
        ..FetchConfig::default()
    };
    let pass = setup(1, 1, fetch).await;
    let now = chrono::Utc::now().timestamp_micros();
    let future = now + 10 * 86_400 * 1_000_000;
    // 1,000,000 pending rows on the one referral item: 990,000 due in ten days, 10,000 due now.
    let sql = format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000) \
         INSERT INTO url_checks (item_id, referral_id, sequence, due_at, state, claims) \
         SELECT (SELECT item_id FROM url_checks LIMIT 1), (SELECT referral_id FROM url_checks LIMIT 1), \
         1000 + i, CASE WHEN i <= 10000 THEN {now} - 1000000 ELSE {future} + i END, 'pending', 0 FROM n;"
    );
    let started = Instant::now();
    let status = std::process::Command::new("sqlite3")
        .arg(&pass.database)
        .arg(&sql)
        .status()
        .expect("run sqlite3");
    assert!(status.success());
    println!(
        "  inserted 1,000,000 pending checks in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let rss_before = rss_kib();
    let started = Instant::now();
    let counts = pass.referrals.check_counts().await.expect("counts");
    println!(
        "  check_counts: pending {} in {:.1} ms",
        counts.pending,
        started.elapsed().as_secs_f64() * 1000.0
    );
    let mut batches = Vec::new();
    let mut claimed = 0;
    loop {
        let started = Instant::now();
        let batch = pass
            .referrals
            .claim_due_checks("bench")
            .await
            .expect("claim");
        batches.push(started.elapsed());
        claimed += batch.len();
        if batch.is_empty() {
            break;
        }
    }
    let empty = batches.pop().unwrap_or_default();
    batches.sort();
    let median = batches.get(batches.len() / 2).copied().unwrap_or_default();
    println!(
        "  claimed the {claimed} due checks in {} batches of up to 500: median {:.2} ms a batch, \
         slowest {:.2} ms; finding that nothing more is due: {:.2} ms",
        batches.len(),
        median.as_secs_f64() * 1000.0,
        batches.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
        empty.as_secs_f64() * 1000.0
    );
    println!(
        "  resident memory: {} MiB before claiming, {} MiB after (the pending checks stay in the store)",
        rss_before / 1024,
        rss_kib() / 1024
    );
    let size = std::fs::metadata(&pass.database)
        .map(|m| m.len())
        .unwrap_or(0);
    println!("  database file: {} MiB", size / (1024 * 1024));
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut args = std::env::args().skip(1);
    let hosts: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(4);
    let per_host: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(500);
    throughput(hosts, per_host, 4, Duration::ZERO).await;
    throughput(hosts, per_host / 5, 2, Duration::from_millis(20)).await;
    scheduler().await;
}
