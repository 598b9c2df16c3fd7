//! Re-check throughput: URLs checked per second against loopback servers, with the per-host
//! limits respected. Several hosts are several loopback addresses (127.0.0.1, 127.0.0.2, ...),
//! each with its own server, so the per-host limits apply as they would to real providers.
//!
//! ```text
//! cargo run --release -p takedown-fetch --example recheck_bench -- \
//!     [--urls 4000] [--hosts 8] [--per-host 2] [--interval-ms 0] [--delay-ms 5] [--body 4096]
//! ```
//!
//! A tenth of the URLs answer 404 (removed); the rest serve `--body` bytes after `--delay-ms`
//! of simulated server time. The run fails if any host saw more requests in flight than
//! `--per-host`, or two request starts closer than `--interval-ms`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{Reply, TestServer};
use takedown_fetch::{FetchConfig, Fetcher, OutcomeKind, StaticResolver};
use takedown_model::clock::SystemClock;

struct Options {
    urls: usize,
    hosts: usize,
    per_host: usize,
    interval_ms: u64,
    delay_ms: u64,
    body: usize,
}

fn options() -> Options {
    let mut options = Options {
        urls: 4000,
        hosts: 8,
        per_host: 2,
        interval_ms: 0,
        delay_ms: 5,
        body: 4096,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).and_then(|v| v.parse::<u64>().ok()).unwrap_or_else(|| {
            eprintln!("usage: recheck_bench [--urls N] [--hosts N] [--per-host N] [--interval-ms N] [--delay-ms N] [--body N]");
            std::process::exit(2)
        });
        match pair[0].as_str() {
            "--urls" => options.urls = value as usize,
            "--hosts" => options.hosts = (value as usize).clamp(1, 250),
            "--per-host" => options.per_host = value as usize,
            "--interval-ms" => options.interval_ms = value,
            "--delay-ms" => options.delay_ms = value,
            "--body" => options.body = value as usize,
            other => {
                eprintln!("unknown option {other}");
                std::process::exit(2)
            }
        }
    }
    options
}

#[tokio::main]
async fn main() {
    let options = options();
    let delay = Duration::from_millis(options.delay_ms);
    let body = vec![b'm'; options.body];
    let mut servers = Vec::new();
    for host in 0..options.hosts {
        let body = body.clone();
        let ip = format!("127.0.0.{}", host + 1)
            .parse()
            .expect("loopback address");
        servers.push(
            TestServer::start_on(ip, move |request| {
                let reply = if request.path.ends_with('0') {
                    Reply::status(404)
                } else {
                    Reply::new(200, "image/jpeg", body.clone())
                };
                reply.after(delay)
            })
            .await,
        );
    }
    let config = FetchConfig {
        allowlist: vec!["127.0.0.0/8".parse().expect("cidr")],
        per_host_concurrency: options.per_host,
        per_host_interval: Duration::from_millis(options.interval_ms),
        global_concurrency: 64,
        ..FetchConfig::default()
    };
    let fetcher = Fetcher::with_resolver(
        config,
        Arc::new(SystemClock),
        Arc::new(StaticResolver::new()),
    )
    .expect("valid configuration");

    let started = Instant::now();
    let tasks: Vec<_> = (0..options.urls)
        .map(|i| {
            let fetcher = fetcher.clone();
            let url = servers[i % servers.len()].url(&format!("/item/{i}"));
            tokio::spawn(async move { fetcher.fetch_str(&url).await.map(|report| report.kind()) })
        })
        .collect();
    let mut kinds: BTreeMap<&'static str, usize> = BTreeMap::new();
    for task in tasks {
        let kind = match task.await {
            Ok(Ok(kind)) => kind.as_str(),
            _ => "error",
        };
        *kinds.entry(kind).or_default() += 1;
    }
    let elapsed = started.elapsed();

    // Pacing is enforced on request starts at the client; arrival times at the server add
    // scheduling jitter, so the check is on each host's mean gap, and the tightest single gap
    // is reported alongside.
    let mut worst_in_flight = 0;
    let mut tightest_gap = Duration::MAX;
    let mut tightest_mean_gap = Duration::MAX;
    for server in &servers {
        worst_in_flight = worst_in_flight.max(server.stats.max_in_flight());
        let arrivals = server.stats.arrivals();
        for pair in arrivals.windows(2) {
            tightest_gap = tightest_gap.min(pair[1].0 - pair[0].0);
        }
        if let (Some(first), Some(last)) = (arrivals.first(), arrivals.last()) {
            let gaps = u32::try_from(arrivals.len().saturating_sub(1).max(1)).unwrap_or(u32::MAX);
            tightest_mean_gap = tightest_mean_gap.min((last.0 - first.0) / gaps);
        }
    }
    let rate = options.urls as f64 / elapsed.as_secs_f64();
    println!(
        "{} URLs over {} hosts in {:.2?}: {:.0} URLs/s ({:.0}/s per host)",
        options.urls,
        options.hosts,
        elapsed,
        rate,
        rate / options.hosts as f64
    );
    println!(
        "limits: per-host concurrency {} (most seen {}), interval {} ms (mean gap {:.2?}, tightest {:.2?}), server delay {} ms, body {} bytes",
        options.per_host,
        worst_in_flight,
        options.interval_ms,
        tightest_mean_gap,
        tightest_gap,
        options.delay_ms,
        options.body
    );
    println!("outcomes: {kinds:?}");
    let paced_ok = tightest_mean_gap.as_secs_f64() >= 0.99 * options.interval_ms as f64 / 1000.0;
    if worst_in_flight > options.per_host
        || !paced_ok
        || !kinds.contains_key(OutcomeKind::Live.as_str())
    {
        eprintln!("per-host limits violated or nothing live");
        std::process::exit(1);
    }
}
