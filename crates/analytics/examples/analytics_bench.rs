//! Benchmark: every analysis over one million release records and one million URL checks.
//!
//! `cargo run --release -p takedown-analytics --example analytics_bench`
//!
//! Generates (fixed seeds) 1,000,000 releases from 20 outlets over 730 days through 12
//! channels, and 1,000,000 re-checks of 200,000 referred URLs at 12 providers, then times each
//! analysis and prints peak resident memory (VmHWM from /proc/self/status).

use std::collections::HashMap;
use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use takedown_analytics::*;

fn vm_hwm_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn timed<T>(name: &str, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let out = f();
    println!(
        "| {name} | {:.1} | {:.0} |",
        t.elapsed().as_secs_f64() * 1e3,
        vm_hwm_mib()
    );
    out
}

fn main() {
    let start = Utc
        .with_ymd_and_hms(2017, 4, 25, 0, 0, 0)
        .single()
        .expect("date");
    let outlets: Vec<String> = (0..20).map(|i| format!("outlet-{i:02}")).collect();
    let channels: Vec<String> = (0..12).map(|i| format!("channel-{i:02}")).collect();
    let op = Operation {
        name: "action day".into(),
        start: start + Duration::days(365),
        end: start + Duration::days(366),
        targets: outlets[..5].to_vec(),
    };
    println!("| step | ms | peak RSS MiB |\n|---|---:|---:|");
    let releases: Vec<Release> = timed("generate 1M releases", || {
        let mut rng = ChaCha8Rng::seed_from_u64(2018);
        (0..1_000_000)
            .map(|i| {
                let o = rng.gen_range(0..outlets.len());
                let mut secs = rng.gen_range(0..730 * 86_400_i64);
                // Targeted outlets publish less after the operation: thin their later items.
                if o < 5 && secs > 366 * 86_400 && rng.gen_bool(0.6) {
                    secs -= 366 * 86_400;
                }
                let medium = Medium::ALL[rng.gen_range(0..4)];
                Release {
                    outlet: outlets[o].clone(),
                    time: start + Duration::seconds(secs),
                    medium,
                    language: "ar".into(),
                    channel: channels[(o + rng.gen_range(0..3)) % channels.len()].clone(),
                    title: format!("item {i}"),
                }
            })
            .collect()
    });
    let span = DayRange {
        first: start.date_naive(),
        days: 730,
    };
    let series: Vec<OutputSeries> = timed(
        "daily series, 20 outlets x 730 days (by medium, channel)",
        || {
            outlets
                .iter()
                .map(|o| daily_output(&releases, o, span).expect("series"))
                .collect()
        },
    );
    timed("hourly series, 20 outlets x 17,520 hours", || {
        outlets
            .iter()
            .map(|o| {
                hourly_output(&releases, o, span)
                    .expect("series")
                    .total
                    .total()
            })
            .sum::<u64>()
    });
    timed(
        "before/after (Poisson/NB2/exact), 20 outlets x 30+30 days",
        || {
            series
                .iter()
                .map(|s| {
                    let c = &s.total.counts;
                    compare_periods(&c[335..365], &c[367..397], &RateRatioConfig::default())
                        .map(|r| r.estimate.rate_ratio)
                })
                .count()
        },
    );
    timed("ITS with HAC errors, 20 outlets x 730 days", || {
        let t: Vec<f64> = (0..730).map(f64::from).collect();
        series
            .iter()
            .map(|s| {
                segmented_regression(&s.total.as_f64(), &t, 367.0, &ItsConfig::default())
                    .expect("its")
                    .n
            })
            .sum::<usize>()
    });
    timed("PELT (Poisson cost, BIC), 20 outlets x 730 days", || {
        series
            .iter()
            .map(|s| {
                pelt(&s.total.as_f64(), &PeltConfig::default())
                    .expect("pelt")
                    .changepoints
                    .len()
            })
            .sum::<usize>()
    });
    timed("channel shift, 20 outlets", || {
        let w = op.windows(&WindowConfig::default()).expect("windows");
        outlets
            .iter()
            .map(|o| {
                channel_shift(&releases, o, w.before, w.after, NewChannelScope::EverBefore)
                    .expect("shift")
                    .after_total
            })
            .sum::<u64>()
    });
    timed(
        "analyze_operation: 5 targets, 3 controls (all analyses)",
        || {
            let res = analyze_operation(&releases, &op, &outlets[10..13], &ImpactConfig::default())
                .expect("impact");
            res.outlets.len()
        },
    );
    let checks: Vec<(u32, chrono::DateTime<Utc>, bool)> =
        timed("generate 1M checks of 200k URLs", || {
            let mut rng = ChaCha8Rng::seed_from_u64(2019);
            let mut out = Vec::with_capacity(1_000_000);
            for url in 0..200_000_u32 {
                let referred = start + Duration::seconds(i64::from(url) * 150);
                let removal_h =
                    rng.gen_range(0.0..1.0_f64).ln() * -(24.0 + f64::from(url % 12) * 12.0);
                for k in 1..=5 {
                    let at = f64::from(k) * 12.0 + rng.gen_range(0.0..2.0);
                    out.push((
                        url,
                        referred + Duration::minutes((at * 60.0) as i64),
                        at < removal_h,
                    ));
                }
            }
            out
        });
    let records: Vec<UrlRecord> = timed("summarise checks into 200k URL records", || {
        let mut by_url: HashMap<u32, Vec<(chrono::DateTime<Utc>, bool)>> = HashMap::new();
        for &(u, t, live) in &checks {
            by_url.entry(u).or_default().push((t, live));
        }
        let mut recs: Vec<(u32, UrlRecord)> = by_url
            .into_iter()
            .map(|(u, cs)| {
                let referred = start + Duration::seconds(i64::from(u) * 150);
                let p = format!("provider-{:02}", u % 12);
                (
                    u,
                    UrlRecord::from_checks(
                        referred,
                        &cs,
                        &p,
                        &outlets[(u % 20) as usize],
                        if u % 3 == 0 { "1" } else { "2" },
                    ),
                )
            })
            .collect();
        recs.sort_by_key(|r| r.0);
        recs.into_iter().map(|r| r.1).collect()
    });
    timed("Kaplan-Meier naive + bound, all 200k URLs", || {
        time_to_removal(&records, 0.95).urls
    });
    timed("Kaplan-Meier naive + bound per provider (12)", || {
        time_to_removal_by(&records, GroupBy::Provider, 0.95).len()
    });
    timed("removal snapshot", || {
        removal_snapshot(&records, start + Duration::days(300)).observed_removed
    });
    timed("SVG: daily chart + KM chart", || {
        let km = time_to_removal(&records, 0.95).naive.expect("km");
        let labels: Vec<String> = (0..730).map(|i| format!("d{i}")).collect();
        svg::daily_series_chart(
            "outlet-00",
            &series[0].total.counts,
            &labels,
            Some((365, 366, "op")),
            &[],
        )
        .len()
            + svg::km_chart("all", &[("all", &km)], 72.0).len()
    });
}
