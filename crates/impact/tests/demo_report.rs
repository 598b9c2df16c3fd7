//! The demo release log and the report on it: the story's shape (17 statements and a video
//! through a new channel after the operation), and the report showing the fall with its
//! interval, the changepoint and the new channel, in the value, the HTML and the JSON.

use chrono::{Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use takedown_impact::demo::{self, DEMO_OPERATION, DEMO_SEED, NEW_CHANNEL};
use takedown_impact::log::new_for_analysis;
use takedown_impact::{
    build_operation_report, render_html, to_json, OperationReport, ReportOptions,
};
use takedown_model::Timestamp;
use takedown_store::{OperationId, OperationRecord, ReleaseMedium};

fn generated_at() -> Timestamp {
    Utc.with_ymd_and_hms(2018, 7, 1, 9, 0, 0)
        .single()
        .expect("time")
}

fn demo_operation() -> OperationRecord {
    let new = demo::operation();
    OperationRecord {
        id: OperationId(1),
        name: new.name,
        starts_at: new.starts_at,
        ends_at: new.ends_at,
        organisations: new.organisations,
        targets: new.targets,
        controls: new.controls,
        infrastructure: new.infrastructure,
        notes: new.notes,
        created_at: generated_at(),
        updated_at: generated_at(),
    }
}

fn report(seed: u64) -> OperationReport {
    let log: Vec<_> = demo::release_log(seed)
        .iter()
        .map(new_for_analysis)
        .collect();
    build_operation_report(
        &demo_operation(),
        &log,
        None,
        &ReportOptions::new(generated_at()),
    )
    .expect("report")
}

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2018, m, d).expect("date")
}

#[test]
fn demo_log_is_seeded_and_shaped_like_the_story() {
    let log = demo::release_log(DEMO_SEED);
    assert_eq!(log, demo::release_log(DEMO_SEED), "same seed, same log");
    assert_ne!(log, demo::release_log(DEMO_SEED + 1));
    assert!(
        (4_000..7_000).contains(&log.len()),
        "{} releases",
        log.len()
    );
    let outlets: std::collections::BTreeSet<&str> = log.iter().map(|r| r.outlet.as_str()).collect();
    assert_eq!(
        outlets.into_iter().collect::<Vec<_>>(),
        ["al-bayan", "amaq", "halumu", "nashir"]
    );
    // Neutral placeholder titles only.
    for r in &log {
        let (kind, n) = r.title.rsplit_once(' ').expect("title with a number");
        assert!(
            ["Statement", "Image set", "Video", "Audio bulletin"].contains(&kind)
                && n.parse::<u64>().is_ok(),
            "{}",
            r.title
        );
    }
    // After the operation: 17 statements and one video in the seven days from 27 April, the
    // video through a channel amaq never used before.
    let after: Vec<_> = log
        .iter()
        .filter(|r| {
            r.outlet == "amaq"
                && r.published_at.date_naive() >= day(4, 27)
                && r.published_at.date_naive() <= day(5, 3)
        })
        .collect();
    let statements = after
        .iter()
        .filter(|r| r.medium == ReleaseMedium::Statement)
        .count();
    let videos: Vec<_> = after
        .iter()
        .filter(|r| r.medium == ReleaseMedium::Video)
        .collect();
    assert_eq!((statements, videos.len(), after.len()), (17, 1, 18));
    assert_eq!(videos[0].channel, NEW_CHANNEL);
    assert!(!log
        .iter()
        .any(|r| r.channel == NEW_CHANNEL && r.published_at < videos[0].published_at));
    // Nothing from amaq on the 26th.
    assert!(!log
        .iter()
        .any(|r| r.outlet == "amaq" && r.published_at.date_naive() == day(4, 26)));
}

#[test]
fn demo_rhythms_are_weekly_daily_and_overdispersed() {
    let log = demo::release_log(DEMO_SEED);
    let before: Vec<_> = log
        .iter()
        .filter(|r| r.published_at.date_naive() < day(4, 25))
        .collect();
    // Hour of day: the afternoon (12-18 UTC) carries far more than the night (0-6 UTC).
    let night = before.iter().filter(|r| r.published_at.hour() < 6).count();
    let afternoon = before
        .iter()
        .filter(|r| (12..18).contains(&r.published_at.hour()))
        .count();
    assert!(
        afternoon > 4 * night,
        "afternoon {afternoon}, night {night}"
    );
    // Weekday: Fridays are quieter than the average day.
    let fridays = before
        .iter()
        .filter(|r| r.published_at.weekday() == chrono::Weekday::Fri)
        .count() as f64;
    assert!(fridays / (before.len() as f64 / 7.0) < 0.95);
    // Daily counts of amaq before the operation vary more than Poisson counts would.
    let mut per_day = std::collections::BTreeMap::<NaiveDate, f64>::new();
    let mut d = day(1, 1);
    while d < day(4, 25) {
        per_day.insert(d, 0.0);
        d += Duration::days(1);
    }
    for r in before.iter().filter(|r| r.outlet == "amaq") {
        *per_day.entry(r.published_at.date_naive()).or_default() += 1.0;
    }
    let n = per_day.len() as f64;
    let mean = per_day.values().sum::<f64>() / n;
    let var = per_day.values().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    assert!(var / mean > 1.5, "variance/mean = {}", var / mean);
}

#[test]
fn demo_report_shows_the_fall_its_interval_the_changepoint_and_the_new_channel() {
    for seed in [DEMO_SEED, 1, 2, 3, 42] {
        let report = report(seed);
        let amaq = report
            .findings
            .iter()
            .find(|f| f.outlet == "amaq")
            .expect("amaq analysed");
        let (rr, lo, hi) = (
            amaq.rate_ratio.expect("rate ratio"),
            amaq.ci_low.expect("interval"),
            amaq.ci_high.expect("interval"),
        );
        assert!(amaq.significant_fall, "seed {seed}: {}", amaq.summary);
        assert!(
            lo < rr && rr < hi && hi < 0.5,
            "seed {seed}: {rr} ({lo}, {hi})"
        );
        assert!(amaq.p_value.expect("p") < 0.001);
        let change = amaq
            .changepoint_near_operation
            .as_ref()
            .expect("a changepoint next to the operation");
        assert!(
            (-1..=3).contains(&change.days_from_operation),
            "seed {seed}: {change:?}"
        );
        assert!(change.mean_after < change.mean_before / 2.0);
        assert_eq!(amaq.new_channels, [NEW_CHANNEL], "seed {seed}");
        assert_eq!(amaq.new_channel_items, 1);
        // al-bayan, the other target, falls too.
        let bayan = report
            .findings
            .iter()
            .find(|f| f.outlet == "al-bayan")
            .expect("al-bayan");
        assert!(bayan.significant_fall, "seed {seed}: {}", bayan.summary);
    }
    // The control keeps its rhythm (checked for the demo's own seed: with any seed a 95%
    // interval misses 1 one time in twenty).
    let report = report(DEMO_SEED);
    let halumu = &report.controls[0];
    assert_eq!(halumu.outlet, "halumu");
    let e = &halumu
        .before_after
        .as_ref()
        .expect("control comparison")
        .estimate;
    assert!(e.ci_low < 1.0 && 1.0 < e.ci_high, "{e:?}");
    let vs = report.impact.outlets[0]
        .before_after_vs_controls
        .as_ref()
        .expect("against controls");
    assert!(vs.ci_high < 1.0);
    assert!(report.removal.note.starts_with("No referral data"));
    println!("{}", report.findings[0].summary);
    println!("{}", report.findings[1].summary);
    println!("control: {} ({} to {})", e.rate_ratio, e.ci_low, e.ci_high);
}

#[test]
fn html_report_states_the_findings() {
    let report = report(DEMO_SEED);
    let html = render_html(&report);
    let amaq = &report.findings[0];
    let change = amaq
        .changepoint_near_operation
        .as_ref()
        .expect("changepoint");
    let ba = report.impact.outlets[0]
        .before_after
        .as_ref()
        .expect("before/after");
    for needle in [
        "<html lang=\"en\">".to_string(),
        "Impact of operation amaq-2018-04".to_string(),
        // The fall with its interval.
        format!(
            "rate ratio of {:.2} (95% CI {:.2} to {:.2}",
            amaq.rate_ratio.unwrap_or_default(),
            amaq.ci_low.unwrap_or_default(),
            amaq.ci_high.unwrap_or_default()
        ),
        format!("<td class=\"num\">{}</td>", ba.before.count),
        "negative binomial (NB2)".to_string(),
        // Which model, and why.
        "<strong>Model:</strong> negative binomial".to_string(),
        "Why: ".to_string(),
        // The changepoint date.
        change.date.format("%-d %B %Y").to_string(),
        "at the operation</span>".to_string(),
        // The new channel flagged.
        format!("<code>{NEW_CHANNEL}</code> <span class=\"flag\">new channel: first use</span>"),
        "Video ".to_string(),
        // Controls, removal, method.
        "halumu (control)".to_string(),
        "No referral data".to_string(),
        "Newey-West".to_string(),
        // Accessibility: captions, row headers, chart titles and descriptions.
        "<caption>amaq: rate ratio with 95% confidence interval</caption>".to_string(),
        "<th scope=\"row\">".to_string(),
        "role=\"img\"".to_string(),
        "<title id=\"t\">amaq: releases per day</title>".to_string(),
        "<figcaption>".to_string(),
        "@media print".to_string(),
    ] {
        assert!(html.contains(&needle), "missing {needle:?}");
    }
    assert_eq!(html.matches("<h1").count(), 1);
    assert!(
        ba.estimate.reason.to_lowercase().contains("overdisp"),
        "{}",
        ba.estimate.reason
    );
}

#[test]
fn html_report_has_no_external_references() {
    let html = render_html(&report(DEMO_SEED)).to_ascii_lowercase();
    for forbidden in [
        "<script",
        "<link",
        "<iframe",
        "<img",
        "@import",
        "src=\"http",
        "src='http",
        "href=\"http",
        "href='http",
        "href=\"//",
        "url(http",
        "url(\"http",
        "url('http",
        "url(//",
    ] {
        assert!(
            !html.contains(forbidden),
            "external reference {forbidden:?}"
        );
    }
    // The only absolute URL allowed is the SVG namespace name (an identifier, never fetched).
    let urls = html.matches("http://").count() + html.matches("https://").count();
    let namespaces = html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count();
    assert_eq!(urls, namespaces);
    // Links stay inside the page.
    for (i, _) in html.match_indices("href=\"") {
        assert!(
            html[i + 6..].starts_with('#'),
            "link out of the page at {i}"
        );
    }
}

#[test]
fn json_twin_holds_results_and_inputs() {
    let report = report(DEMO_SEED);
    let json: serde_json::Value =
        serde_json::from_str(&to_json(&report).expect("json")).expect("parse");
    assert_eq!(json["schema"], "takedown.operation-report/1");
    assert_eq!(json["operation"]["name"], DEMO_OPERATION);
    assert_eq!(json["inputs"]["before_days"], 30);
    assert_eq!(json["inputs"]["after_days"], 30);
    assert_eq!(
        json["inputs"]["outlets"],
        serde_json::json!(["amaq", "al-bayan"])
    );
    assert_eq!(json["inputs"]["controls"], serde_json::json!(["halumu"]));
    assert_eq!(json["inputs"]["windows"]["before"]["first"], "2018-03-26");
    assert_eq!(json["inputs"]["windows"]["after"]["first"], "2018-04-27");
    assert_eq!(json["inputs"]["config"]["new_channel_scope"], "ever_before");
    let amaq = &json["impact"]["outlets"][0];
    assert_eq!(amaq["outlet"], "amaq");
    assert_eq!(
        amaq["before_after"]["estimate"]["model"]["kind"],
        "negative_binomial"
    );
    assert!(amaq["its"]["coefficients"][2]["name"] == "level_change");
    assert_eq!(
        amaq["channel_shift"]["new_channel_items"][0]["channel"],
        NEW_CHANNEL
    );
    assert_eq!(json["hourly"][0]["total"]["resolution"], "hour");
    assert_eq!(
        json["hourly"][0]["total"]["counts"]
            .as_array()
            .map(Vec::len),
        Some(24 * 62)
    );
    assert_eq!(json["removal"]["status"], "no_referral_data");
    assert_eq!(json["findings"][0]["significant_fall"], true);
}
