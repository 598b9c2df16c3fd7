//! End-to-end fetcher tests against scripted HTTP servers on loopback. No traffic leaves the
//! machine: servers listen on 127.0.0.0/8 and names resolve through a `StaticResolver`.

mod support;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{closed_port, Reply, TestServer};
use takedown_fetch::{
    media_in_page, BlockReason, FetchConfig, FetchOutcome, FetchReport, Fetcher, HopResult,
    OutcomeKind, RemovedPageRule, RemovedReason, SpecialRange, StaticResolver, TargetUrl,
    UnreachableReason, UrlError,
};
use takedown_model::clock::{ManualClock, Timestamp};
use takedown_signals::digest::Digests;

fn test_time() -> Timestamp {
    chrono::DateTime::from_timestamp(1_717_200_000, 0).unwrap() // 2024-06-01
}

/// A configuration for loopback tests: 127.0.0.0/8 allowed, short limits, no pacing.
fn loopback_config() -> FetchConfig {
    FetchConfig {
        allowlist: vec!["127.0.0.0/8".parse().unwrap()],
        connect_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_secs(2),
        total_timeout: Duration::from_secs(5),
        per_host_interval: Duration::ZERO,
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(50),
        jitter_seed: Some(7),
        ..FetchConfig::default()
    }
}

fn fetcher_with(config: FetchConfig, resolver: StaticResolver) -> Fetcher {
    Fetcher::with_resolver(
        config,
        Arc::new(ManualClock::new(test_time())),
        Arc::new(resolver),
    )
    .unwrap()
}

fn fetcher(config: FetchConfig) -> Fetcher {
    fetcher_with(config, StaticResolver::new())
}

async fn fetch(fetcher: &Fetcher, url: &str) -> FetchReport {
    fetcher.fetch_str(url).await.unwrap()
}

fn statuses(report: &FetchReport) -> Vec<Option<u16>> {
    report.hops.iter().map(|hop| hop.status()).collect()
}

fn loopback() -> IpAddr {
    "127.0.0.1".parse().unwrap()
}

#[tokio::test]
async fn a_live_image_comes_back_with_digests_headers_and_evidence() {
    let image: Vec<u8> = (0..50_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let served = image.clone();
    let server = TestServer::start(move |_| {
        Reply::new(200, "image/jpeg", served.clone())
            .with_header("etag", "\"v1\"")
            .with_header("last-modified", "Sat, 01 Jun 2024 00:00:00 GMT")
    })
    .await;
    let fetcher = fetcher(loopback_config());
    let report = fetch(&fetcher, &server.url("/img.jpg")).await;

    assert_eq!(report.kind(), OutcomeKind::Live);
    assert_eq!(report.fetched_at, test_time());
    assert_eq!(report.attempts(), 1);
    assert_eq!(report.hops[0].remote_addr, Some(server.addr));
    let FetchOutcome::Live(live) = &report.outcome else {
        panic!("{report:?}")
    };
    assert_eq!(live.status, 200);
    assert_eq!(live.final_url, server.url("/img.jpg"));
    assert_eq!(live.content_type.as_deref(), Some("image/jpeg"));
    assert_eq!(live.etag.as_deref(), Some("\"v1\""));
    assert_eq!(
        live.last_modified.as_deref(),
        Some("Sat, 01 Jun 2024 00:00:00 GMT")
    );
    assert_eq!(live.content_length, Some(50_000));
    assert_eq!(live.body.as_ref(), image.as_slice());
    assert!(!live.truncated);
    assert_eq!(live.digests, Some(Digests::of(&image)));
}

#[tokio::test]
async fn the_user_agent_names_takedown() {
    let server = TestServer::start(|request| {
        Reply::new(
            200,
            "text/plain",
            request.header("user-agent").unwrap_or("").to_owned(),
        )
    })
    .await;
    let config = FetchConfig {
        user_agent: "takedown/0.1 (Unit X; +mailto:abuse@unit.example)".into(),
        ..loopback_config()
    };
    let report = fetch(&fetcher(config), &server.url("/")).await;
    let FetchOutcome::Live(live) = report.outcome else {
        panic!()
    };
    assert_eq!(
        live.body.as_ref(),
        b"takedown/0.1 (Unit X; +mailto:abuse@unit.example)"
    );
}

#[tokio::test]
async fn not_found_gone_and_legal_removals_are_removed_and_never_retried() {
    let server = TestServer::start(|request| match request.path.as_str() {
        "/404" => Reply::status(404),
        "/410" => Reply::status(410),
        _ => Reply::status(451),
    })
    .await;
    let fetcher = fetcher(loopback_config());
    for (path, reason) in [
        ("/404", RemovedReason::Http404),
        ("/410", RemovedReason::Http410),
        ("/451", RemovedReason::Http451),
    ] {
        let report = fetch(&fetcher, &server.url(path)).await;
        let FetchOutcome::Removed(removed) = &report.outcome else {
            panic!("{path}: {report:?}")
        };
        assert_eq!(removed.reason, reason);
        assert_eq!(removed.final_url, server.url(path));
        assert!(removed.excerpt.starts_with("status "), "{removed:?}");
        assert_eq!(report.attempts(), 1);
    }
    assert_eq!(server.stats.requests(), 3);
}

#[tokio::test]
async fn a_providers_removed_page_is_removed_by_body_or_by_final_url() {
    let server = TestServer::start(|request| match request.path.as_str() {
        "/v/1" => Reply::new(
            200,
            "text/html",
            "<html><h1>This content has been removed</h1></html>",
        ),
        "/v/2" => Reply::new(200, "video/mp4", "still here"),
        "/v/3" => Reply::redirect(302, "/content-removed?id=3"),
        _ => Reply::new(200, "text/html", "<p>Sorry.</p>"),
    })
    .await;
    let config = FetchConfig {
        removed_pages: vec![
            RemovedPageRule {
                name: "files-notice".into(),
                host_suffix: "files.test".into(),
                statuses: vec![200],
                body_contains: Some("This content has been removed".into()),
                final_url_contains: None,
            },
            RemovedPageRule {
                name: "files-removed-redirect".into(),
                host_suffix: "files.test".into(),
                statuses: vec![],
                body_contains: None,
                final_url_contains: Some("/content-removed".into()),
            },
        ],
        ..loopback_config()
    };
    let resolver = StaticResolver::new().with("www.files.test", [loopback()]);
    let fetcher = fetcher_with(config, resolver);

    let notice = fetch(&fetcher, &server.named_url("www.files.test", "/v/1")).await;
    let FetchOutcome::Removed(removed) = &notice.outcome else {
        panic!("{notice:?}")
    };
    assert_eq!(
        removed.reason,
        RemovedReason::ProviderPage {
            rule: "files-notice".into()
        }
    );
    assert_eq!(removed.status, 200);
    assert!(removed.excerpt.contains("This content has been removed"));

    let live = fetch(&fetcher, &server.named_url("www.files.test", "/v/2")).await;
    assert_eq!(live.kind(), OutcomeKind::Live);

    let redirected = fetch(&fetcher, &server.named_url("www.files.test", "/v/3")).await;
    let FetchOutcome::Removed(removed) = &redirected.outcome else {
        panic!("{redirected:?}")
    };
    assert_eq!(
        removed.reason,
        RemovedReason::ProviderPage {
            rule: "files-removed-redirect".into()
        }
    );
    assert!(removed.final_url.ends_with("/content-removed?id=3"));

    // The same notice on another host is just a page.
    let other = fetch(&fetcher, &server.url("/v/1")).await;
    assert_eq!(other.kind(), OutcomeKind::Live);
}

#[tokio::test]
async fn a_redirect_chain_is_followed_and_recorded() {
    let server = TestServer::start(|request| match request.path.as_str() {
        "/a" => Reply::redirect(302, "/b"),
        "/b" => Reply::redirect(301, "c"),
        "/c" => Reply::redirect(307, "/final.png"),
        _ => Reply::new(200, "image/png", "png"),
    })
    .await;
    let report = fetch(&fetcher(loopback_config()), &server.url("/a")).await;
    assert_eq!(
        statuses(&report),
        vec![Some(302), Some(301), Some(307), Some(200)]
    );
    let locations: Vec<&str> = report
        .redirects()
        .filter_map(|hop| hop.location())
        .collect();
    assert_eq!(
        locations,
        vec![server.url("/b"), server.url("/c"), server.url("/final.png")]
    );
    let urls: Vec<&str> = report.hops.iter().map(|hop| hop.url.as_str()).collect();
    assert_eq!(
        urls,
        vec![
            server.url("/a"),
            server.url("/b"),
            server.url("/c"),
            server.url("/final.png")
        ]
    );
    let FetchOutcome::Live(live) = &report.outcome else {
        panic!()
    };
    assert_eq!(live.final_url, server.url("/final.png"));
    assert_eq!(report.requested_url, server.url("/a"));
}

#[tokio::test]
async fn a_redirect_to_a_name_on_a_private_address_is_blocked_without_a_connection() {
    let server =
        TestServer::start(|_| Reply::redirect(302, "http://internal.example/secret")).await;
    let resolver =
        Arc::new(StaticResolver::new().with("internal.example", ["10.0.0.1".parse().unwrap()]));
    let fetcher = Fetcher::with_resolver(
        loopback_config(),
        Arc::new(ManualClock::new(test_time())),
        resolver.clone(),
    )
    .unwrap();
    let report = fetch(&fetcher, &server.url("/start")).await;
    let FetchOutcome::Blocked(blocked) = &report.outcome else {
        panic!("{report:?}")
    };
    assert_eq!(blocked.url, "http://internal.example/secret");
    let BlockReason::Address { host, refusals } = &blocked.reason else {
        panic!("{blocked:?}")
    };
    assert_eq!(host, "internal.example");
    assert_eq!(refusals[0].address, "10.0.0.1".parse::<IpAddr>().unwrap());
    assert_eq!(refusals[0].classification.range, SpecialRange::Private);
    // One request went out (the redirecting one); the refused hop sent nothing and was not
    // retried.
    assert_eq!(statuses(&report), vec![Some(302)]);
    assert_eq!(resolver.lookups("internal.example"), 1);
}

#[tokio::test]
async fn redirects_to_metadata_addresses_and_other_schemes_are_blocked() {
    let server = TestServer::start(|request| match request.path.as_str() {
        "/meta" => Reply::redirect(302, "http://169.254.169.254/latest/meta-data/"),
        "/mapped" => Reply::redirect(302, "http://[::ffff:a9fe:a9fe]/"),
        "/file" => Reply::redirect(302, "file:///etc/passwd"),
        _ => Reply::redirect(302, "http://user:pw@example.com/"),
    })
    .await;
    // Even a configuration allowing everything never reaches cloud metadata.
    let config = FetchConfig {
        allowlist: vec!["0.0.0.0/0".parse().unwrap(), "::/0".parse().unwrap()],
        ..loopback_config()
    };
    let fetcher = fetcher(config);
    for path in ["/meta", "/mapped"] {
        let report = fetch(&fetcher, &server.url(path)).await;
        let FetchOutcome::Blocked(blocked) = &report.outcome else {
            panic!("{path}: {report:?}")
        };
        let BlockReason::Address { refusals, .. } = &blocked.reason else {
            panic!()
        };
        assert_eq!(
            refusals[0].classification.range,
            SpecialRange::CloudMetadata
        );
    }
    let file = fetch(&fetcher, &server.url("/file")).await;
    assert_eq!(file.hops[0].location(), Some("file:///etc/passwd"));
    assert!(matches!(
        &file.outcome,
        FetchOutcome::Blocked(b) if b.reason == BlockReason::Url(UrlError::Scheme("file".into()))
    ));
    let credentials = fetch(&fetcher, &server.url("/creds")).await;
    assert!(matches!(
        &credentials.outcome,
        FetchOutcome::Blocked(b) if b.reason == BlockReason::Url(UrlError::Credentials)
    ));
}

#[tokio::test]
async fn a_name_that_re_resolves_to_a_private_address_after_a_redirect_is_blocked() {
    let second =
        TestServer::start(|_| Reply::new(200, "text/plain", "should never be served")).await;
    let second_url = second.named_url("rebind.test", "/x");
    let first = TestServer::start(move |_| Reply::redirect(302, &second_url)).await;
    // First lookup: loopback (allowed). Second lookup, for the new connection the redirect
    // needs: a private address. The guard sees the second answer too.
    let resolver = StaticResolver::new().with_sequence(
        "rebind.test",
        [vec![loopback()], vec!["10.1.2.3".parse().unwrap()]],
    );
    let report = fetch(
        &fetcher_with(loopback_config(), resolver),
        &first.named_url("rebind.test", "/start"),
    )
    .await;
    let FetchOutcome::Blocked(blocked) = &report.outcome else {
        panic!("{report:?}")
    };
    assert_eq!(blocked.url, second.named_url("rebind.test", "/x"));
    assert_eq!(statuses(&report), vec![Some(302)]);
    assert_eq!(second.stats.requests(), 0);
    assert_eq!(
        second
            .stats
            .connections
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
}

#[tokio::test]
async fn too_many_redirects_end_as_unreachable() {
    let server = TestServer::start(|request| {
        let n: u32 = request
            .path
            .trim_start_matches("/loop/")
            .parse()
            .unwrap_or(0);
        Reply::redirect(302, &format!("/loop/{}", n + 1))
    })
    .await;
    let config = FetchConfig {
        max_redirects: 3,
        ..loopback_config()
    };
    let report = fetch(&fetcher(config), &server.url("/loop/0")).await;
    let FetchOutcome::Unreachable(unreachable) = &report.outcome else {
        panic!("{report:?}")
    };
    assert_eq!(unreachable.reason, UnreachableReason::TooManyRedirects);
    assert_eq!(report.attempts(), 4);
    assert_eq!(server.stats.requests(), 4);
}

#[tokio::test]
async fn a_body_that_never_ends_is_cut_at_the_limit() {
    let server = TestServer::start(|_| Reply::Forever).await;
    let config = FetchConfig {
        max_body_bytes: 100_000,
        ..loopback_config()
    };
    let started = Instant::now();
    let report = fetch(&fetcher(config), &server.url("/stream.mp4")).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    let FetchOutcome::Live(live) = &report.outcome else {
        panic!("{report:?}")
    };
    assert!(live.truncated);
    assert_eq!(live.body.len(), 100_000);
    assert!(live.bytes_received >= 100_000 && live.bytes_received < 200_000);
    assert_eq!(
        live.digests, None,
        "digests of a prefix must not be offered"
    );
    assert_eq!(live.content_length, None);
}

#[tokio::test]
async fn a_slow_server_times_out_and_is_retried_then_unreachable() {
    let server = TestServer::start(|_| Reply::status(200).after(Duration::from_secs(3))).await;
    let config = FetchConfig {
        request_timeout: Duration::from_millis(150),
        retries: 2,
        ..loopback_config()
    };
    let started = Instant::now();
    let report = fetch(&fetcher(config), &server.url("/slow")).await;
    let FetchOutcome::Unreachable(unreachable) = &report.outcome else {
        panic!("{report:?}")
    };
    assert_eq!(unreachable.reason, UnreachableReason::Timeout);
    assert_eq!(report.attempts(), 3);
    assert!(report.hops.iter().all(|hop| matches!(
        hop.result,
        HopResult::Failed {
            reason: UnreachableReason::Timeout,
            ..
        }
    )));
    assert!(started.elapsed() < Duration::from_secs(2));
    // Give the server a moment to have seen the last request.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(server.stats.requests(), 3);
}

#[tokio::test]
async fn the_total_time_limit_bounds_the_whole_fetch() {
    let server = TestServer::start(|_| Reply::status(200).after(Duration::from_secs(3))).await;
    let config = FetchConfig {
        request_timeout: Duration::from_secs(2),
        total_timeout: Duration::from_millis(300),
        retries: 5,
        ..loopback_config()
    };
    let started = Instant::now();
    let report = fetch(&fetcher(config), &server.url("/slow")).await;
    assert!(started.elapsed() < Duration::from_secs(1));
    let FetchOutcome::Unreachable(unreachable) = &report.outcome else {
        panic!("{report:?}")
    };
    assert_eq!(unreachable.reason, UnreachableReason::Timeout);
}

#[tokio::test]
async fn a_503_with_retry_after_is_waited_out_then_succeeds() {
    let server = TestServer::start(|request| {
        if request.number == 1 {
            Reply::status(503).with_header("retry-after", "1")
        } else {
            Reply::new(200, "image/png", "fine")
        }
    })
    .await;
    let report = fetch(&fetcher(loopback_config()), &server.url("/busy")).await;
    assert_eq!(report.kind(), OutcomeKind::Live, "{report:?}");
    assert_eq!(statuses(&report), vec![Some(503), Some(200)]);
    let arrivals = server.stats.arrivals();
    let gap = arrivals[1].0 - arrivals[0].0;
    assert!(gap >= Duration::from_millis(950), "retried after {gap:?}");
    assert!(gap < Duration::from_millis(1500), "retried after {gap:?}");
}

#[tokio::test]
async fn transient_statuses_without_retry_after_use_backoff() {
    let server = TestServer::start(|request| match request.number {
        1 => Reply::status(502),
        2 => Reply::status(429),
        _ => Reply::new(200, "image/png", "fine"),
    })
    .await;
    let report = fetch(&fetcher(loopback_config()), &server.url("/flaky")).await;
    assert_eq!(report.kind(), OutcomeKind::Live);
    assert_eq!(statuses(&report), vec![Some(502), Some(429), Some(200)]);
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_is_reported_not_waited() {
    let server = TestServer::start(|_| Reply::status(503).with_header("retry-after", "3600")).await;
    let started = Instant::now();
    let report = fetch(&fetcher(loopback_config()), &server.url("/down")).await;
    assert!(started.elapsed() < Duration::from_secs(1));
    let FetchOutcome::Unreachable(unreachable) = &report.outcome else {
        panic!("{report:?}")
    };
    assert_eq!(unreachable.reason, UnreachableReason::HttpStatus(503));
    assert_eq!(unreachable.retry_after, Some(Duration::from_secs(3600)));
    assert_eq!(report.attempts(), 1);
}

#[tokio::test]
async fn other_error_statuses_are_unreachable_and_not_retried() {
    let server = TestServer::start(|_| Reply::status(403)).await;
    let report = fetch(&fetcher(loopback_config()), &server.url("/forbidden")).await;
    let FetchOutcome::Unreachable(unreachable) = &report.outcome else {
        panic!("{report:?}")
    };
    assert_eq!(unreachable.reason, UnreachableReason::HttpStatus(403));
    assert_eq!(server.stats.requests(), 1);
}

#[tokio::test]
async fn per_host_concurrency_is_respected() {
    let server =
        TestServer::start(|_| Reply::new(200, "image/png", "x").after(Duration::from_millis(60)))
            .await;
    let config = FetchConfig {
        per_host_concurrency: 2,
        ..loopback_config()
    };
    let fetcher = fetcher(config);
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let fetcher = fetcher.clone();
            let url = server.url(&format!("/{i}"));
            tokio::spawn(async move { fetcher.fetch_str(&url).await.unwrap() })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().kind(), OutcomeKind::Live);
    }
    assert_eq!(server.stats.requests(), 10);
    assert_eq!(server.stats.max_in_flight(), 2);
}

#[tokio::test]
async fn per_host_pacing_spaces_requests_and_other_hosts_are_not_held_up() {
    let paced = TestServer::start(|_| Reply::new(200, "image/png", "x")).await;
    let other = TestServer::start_on("127.0.0.2".parse().unwrap(), |_| {
        Reply::new(200, "image/png", "x")
    })
    .await;
    let config = FetchConfig {
        per_host_concurrency: 4,
        per_host_interval: Duration::from_millis(80),
        ..loopback_config()
    };
    let fetcher = fetcher(config);
    let started = Instant::now();
    let tasks: Vec<_> = (0..5)
        .map(|i| {
            let fetcher = fetcher.clone();
            let url = paced.url(&format!("/{i}"));
            tokio::spawn(async move { fetcher.fetch_str(&url).await.unwrap() })
        })
        .collect();
    // Meanwhile another host is served at once.
    let quick = fetch(&fetcher, &other.url("/now")).await;
    assert_eq!(quick.kind(), OutcomeKind::Live);
    assert!(started.elapsed() < Duration::from_millis(150));
    for task in tasks {
        assert_eq!(task.await.unwrap().kind(), OutcomeKind::Live);
    }
    let arrivals = paced.stats.arrivals();
    assert_eq!(arrivals.len(), 5);
    for pair in arrivals.windows(2) {
        let gap = pair[1].0 - pair[0].0;
        assert!(gap >= Duration::from_millis(70), "gap {gap:?}");
    }
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_unreachable() {
    let port = closed_port().await;
    let report = fetch(
        &fetcher(loopback_config()),
        &format!("http://127.0.0.1:{port}/"),
    )
    .await;
    let FetchOutcome::Unreachable(unreachable) = &report.outcome else {
        panic!("{report:?}")
    };
    assert_eq!(unreachable.reason, UnreachableReason::Connect);
    assert_eq!(report.attempts(), 3);
    assert!(
        unreachable.message.to_lowercase().contains("refused"),
        "{unreachable:?}"
    );
}

#[tokio::test]
async fn an_unknown_name_is_a_dns_failure() {
    let report = fetch(&fetcher(loopback_config()), "http://nowhere.test/").await;
    let FetchOutcome::Unreachable(unreachable) = &report.outcome else {
        panic!("{report:?}")
    };
    assert_eq!(unreachable.reason, UnreachableReason::Dns);
    assert_eq!(report.attempts(), 3);
}

#[tokio::test]
async fn a_connection_dropped_mid_body_is_interrupted() {
    let server = TestServer::start(|_| Reply::CutShort {
        promised: 10_000,
        sent: 100,
    })
    .await;
    let report = fetch(&fetcher(loopback_config()), &server.url("/cut.jpg")).await;
    let FetchOutcome::Unreachable(unreachable) = &report.outcome else {
        panic!("{report:?}")
    };
    assert_eq!(unreachable.reason, UnreachableReason::Interrupted);
    assert_eq!(report.attempts(), 3);
}

#[tokio::test]
async fn without_the_allowlist_loopback_is_blocked_and_nothing_is_sent() {
    let server = TestServer::start(|_| Reply::new(200, "text/plain", "secret")).await;
    let config = FetchConfig {
        allowlist: Vec::new(),
        ..loopback_config()
    };
    let resolver = StaticResolver::new().with("localhost", [loopback()]);
    let fetcher = fetcher_with(config, resolver);
    for url in [
        server.url("/"),
        server.named_url("localhost", "/"),
        format!("http://0x7f.1:{}/", server.addr.port()),
        format!("http://[::ffff:127.0.0.1]:{}/", server.addr.port()),
    ] {
        let report = fetch(&fetcher, &url).await;
        let FetchOutcome::Blocked(blocked) = &report.outcome else {
            panic!("{url}: {report:?}")
        };
        let BlockReason::Address { refusals, .. } = &blocked.reason else {
            panic!()
        };
        assert_eq!(refusals[0].classification.range, SpecialRange::Loopback);
        assert_eq!(report.attempts(), 0);
    }
    assert_eq!(server.stats.requests(), 0);
    assert_eq!(
        server
            .stats
            .connections
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
}

#[tokio::test]
async fn bad_urls_are_errors_before_anything_is_fetched() {
    let fetcher = fetcher(loopback_config());
    assert_eq!(
        fetcher
            .fetch_str("http://me:pw@127.0.0.1/")
            .await
            .unwrap_err(),
        UrlError::Credentials
    );
    assert!(matches!(
        fetcher.fetch_str("ftp://127.0.0.1/").await,
        Err(UrlError::Scheme(_))
    ));
    assert!(matches!(
        fetcher.parse_url(&format!("http://a.test/{}", "x".repeat(5000))),
        Err(UrlError::TooLong { .. })
    ));
}

#[tokio::test]
async fn media_found_in_a_page_are_fetched_through_the_same_fetcher() {
    let png = b"\x89PNG fake".to_vec();
    let server = TestServer::start(move |request| match request.path.as_str() {
        "/page" => Reply::new(
            200,
            "text/html",
            r#"<html><head><meta property="og:image" content="/og.png"></head>
               <body><img src="/og.png"><video src="/clip.mp4"></video>
               <img src="http://10.9.9.9/internal.png"></body></html>"#,
        ),
        "/og.png" => Reply::new(200, "image/png", png.clone()),
        "/clip.mp4" => Reply::status(410),
        _ => Reply::status(404),
    })
    .await;
    let fetcher = fetcher(loopback_config());
    let page = fetch(&fetcher, &server.url("/page")).await;
    let FetchOutcome::Live(live) = &page.outcome else {
        panic!()
    };
    let links = media_in_page(live, fetcher.config().max_embedded_media);
    assert_eq!(links.len(), 3);
    let mut kinds = Vec::new();
    for link in links {
        let target = TargetUrl::from_url(link.url, fetcher.config().max_url_length).unwrap();
        kinds.push(fetcher.fetch(&target).await.kind());
    }
    assert_eq!(
        kinds,
        vec![
            OutcomeKind::Live,
            OutcomeKind::Removed,
            OutcomeKind::Blocked
        ]
    );
}

#[tokio::test]
async fn a_page_that_is_not_html_has_no_embedded_media() {
    let server = TestServer::start(|_| Reply::new(200, "image/png", "<img src=\"/x.png\">")).await;
    let report = fetch(&fetcher(loopback_config()), &server.url("/x.png")).await;
    let FetchOutcome::Live(live) = &report.outcome else {
        panic!()
    };
    assert!(media_in_page(live, 10).is_empty());
}

#[tokio::test]
async fn a_failed_tls_handshake_is_a_tls_failure_and_not_retried() {
    // A plain-text server that answers a TLS ClientHello with HTTP: the handshake fails.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let server = {
        let accepted = accepted.clone();
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                accepted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = stream
                    .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                    .await;
            }
        })
    };
    let report = fetch(
        &fetcher(loopback_config()),
        &format!("https://127.0.0.1:{port}/"),
    )
    .await;
    server.abort();
    let FetchOutcome::Unreachable(unreachable) = &report.outcome else {
        panic!("{report:?}")
    };
    assert_eq!(
        unreachable.reason,
        UnreachableReason::Tls,
        "{unreachable:?}"
    );
    assert_eq!(report.attempts(), 1);
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
}
