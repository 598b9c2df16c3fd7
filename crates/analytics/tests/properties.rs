//! Property-style sanity checks, plus the chi-squared homogeneity test against
//! `scipy.stats.chi2_contingency(table, correction=False)` (fixture `fixtures/chi2.json`,
//! tolerance 1e-10 relative).

mod common;
use chrono::{Duration, TimeZone, Utc};
use common::*;
use takedown_analytics::changepoint::optimal_partitioning_objective;
use takedown_analytics::channels::chi_square_homogeneity;
use takedown_analytics::svg::{before_after_chart, daily_series_chart, km_chart, Marker, RateBar};
use takedown_analytics::*;

fn rel(t: chrono::DateTime<Utc>, outlet: &str, channel: &str, medium: Medium) -> Release {
    Release {
        outlet: outlet.into(),
        time: t,
        medium,
        language: "ar".into(),
        channel: channel.into(),
        title: format!("{outlet} {t}"),
    }
}

#[test]
fn chi_square_matches_scipy() {
    let fx = load("chi2.json");
    for case in fx["cases"].as_array().expect("cases") {
        let t = chi_square_homogeneity(&uv(&case["before"]), &uv(&case["after"])).expect("test");
        close("stat", t.statistic, f(&case["statistic"]), 1e-10, 1e-12);
        close("p", t.p_value, f(&case["p"]), 1e-10, 1e-300);
        close(
            "min expected",
            t.min_expected,
            f(&case["min_expected"]),
            1e-10,
            1e-12,
        );
        assert_eq!(t.df as u64, case["df"].as_u64().expect("df"));
    }
}

#[test]
fn identical_periods_give_rate_ratio_one() {
    let days: Vec<u64> = (0..30).map(|i| (i * 7 % 5) as u64 + 1).collect();
    let r = compare_periods(&days, &days, &RateRatioConfig::default()).expect("fit");
    assert!((r.estimate.rate_ratio - 1.0).abs() < 1e-10);
    assert!(r.estimate.ci_low < 1.0 && r.estimate.ci_high > 1.0);
    assert!(r.estimate.p_value > 0.999);
    assert!((r.exact.rate_ratio - 1.0).abs() < 1e-12 && r.exact.p_value > 0.99);
}

#[test]
fn zero_after_gives_zero_with_exact_interval() {
    // The Amaq story's opposite extreme: 17 before, nothing after.
    let before = vec![1, 0, 2, 1, 0, 0, 3, 1, 0, 2, 1, 0, 1, 1, 0, 0, 2, 1, 0, 1];
    let after = vec![0; 20];
    let r = compare_periods(&before, &after, &RateRatioConfig::default()).expect("fit");
    assert_eq!(r.estimate.model, RateModel::ExactConditional);
    assert_eq!(r.estimate.rate_ratio, 0.0);
    assert_eq!(r.estimate.ci_low, 0.0);
    // Clopper-Pearson upper limit for 0 of 17 at equal exposure: p = 1 - 0.025^(1/17).
    let p = 1.0 - 0.025_f64.powf(1.0 / 17.0);
    assert!((r.estimate.ci_high - p / (1.0 - p)).abs() < 1e-9);
    assert!(r.estimate.p_value < 1e-4);
    assert!(compare_periods(&[0, 0], &[0, 0], &RateRatioConfig::default()).is_err());
    assert!(compare_periods(&[], &[1], &RateRatioConfig::default()).is_err());
}

#[test]
fn km_without_censoring_is_the_empirical_survival() {
    let d = [5.0, 1.0, 3.0, 3.0, 8.0, 2.0, 3.0, 9.0, 1.0, 4.0];
    let km = kaplan_meier(&d, &[true; 10], 0.95).expect("km");
    for s in &km.steps {
        let emp = d.iter().filter(|&&x| x > s.time).count() as f64 / d.len() as f64;
        assert!((s.survival - emp).abs() < 1e-12, "t={}", s.time);
        assert!(s.ci_low <= s.survival && s.survival <= s.ci_high);
    }
    assert_eq!(km.median().and_then(|m| m.time), Some(3.0));
    assert!(matches!(
        kaplan_meier(&[1.0, 2.0], &[false, false], 0.95),
        Err(AnalyticsError::AllCensored)
    ));
}

#[test]
fn url_records_give_naive_and_bound_curves() {
    let t0 = Utc
        .with_ymd_and_hms(2018, 4, 25, 0, 0, 0)
        .single()
        .expect("date");
    let h = |x: i64| t0 + Duration::hours(x);
    let recs = vec![
        UrlRecord::from_checks(t0, &[(h(6), true), (h(12), false)], "hostA", "amaq", "1"),
        UrlRecord::from_checks(t0, &[(h(6), false)], "hostA", "amaq", "1"),
        UrlRecord::from_checks(
            t0,
            &[(h(6), true), (h(12), true), (h(24), true)],
            "hostB",
            "nashir",
            "2",
        ),
        UrlRecord::from_checks(t0, &[], "hostB", "nashir", "2"),
    ];
    assert_eq!(recs[0].last_seen_live, Some(h(6)));
    assert_eq!(recs[0].first_seen_removed, Some(h(12)));
    let all = time_to_removal(&recs, 0.95);
    assert_eq!((all.urls, all.unchecked), (4, 1));
    let naive = all.naive.expect("naive");
    let bound = all.bound.expect("bound");
    // The bound curve never lies above the naive one.
    for t in [0.0, 3.0, 6.0, 12.0, 30.0] {
        assert!(
            bound.survival_at(t) <= naive.survival_at(t) + 1e-12,
            "t={t}"
        );
    }
    let by = time_to_removal_by(&recs, GroupBy::Provider, 0.95);
    assert_eq!(by.len(), 2);
    assert!(
        by[1].naive.is_none() && by[1].note.is_some(),
        "hostB removed nothing"
    );
    let snap = removal_snapshot(&recs, h(8));
    assert_eq!((snap.referred, snap.observed_removed), (4, 1));
    assert!(snap.statement.contains("1 of 4"), "{}", snap.statement);
}

#[test]
fn pelt_is_exact_on_random_series() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    for _ in 0..30 {
        let n = rng.gen_range(5..80);
        let y: Vec<f64> = (0..n)
            .map(|i| (rng.gen_range(0..6) + if i > n / 2 { 4 } else { 0 }) as f64)
            .collect();
        for min_size in [1, 2, 4] {
            for cost in [SegmentCost::Poisson, SegmentCost::NormalMean] {
                let cfg = PeltConfig {
                    cost,
                    penalty: Penalty::Bic,
                    min_size,
                };
                let s = pelt(&y, &cfg).expect("pelt");
                let op = optimal_partitioning_objective(&y, &cfg);
                assert!(
                    (s.objective - op).abs() <= 1e-9 * op.abs().max(1.0),
                    "{cfg:?} {y:?}"
                );
                assert!(s.segments.iter().all(|g| g.end - g.start >= min_size));
            }
        }
    }
}

#[test]
fn operation_analysis_end_to_end() {
    let op_day = Utc
        .with_ymd_and_hms(2018, 4, 25, 9, 0, 0)
        .single()
        .expect("date");
    let mut releases = Vec::new();
    for d in -40..40_i64 {
        let day = op_day + Duration::days(d);
        let n = if d < 0 { 6 } else { 1 };
        for k in 0..n {
            releases.push(rel(
                day + Duration::minutes(10 * k),
                "amaq",
                "telegram",
                Medium::Statement,
            ));
        }
        releases.push(rel(day, "control", "telegram", Medium::Image));
    }
    releases.push(rel(
        op_day + Duration::days(10),
        "amaq",
        "odd-website",
        Medium::Video,
    ));
    let op = Operation {
        name: "action day".into(),
        start: op_day,
        end: op_day,
        targets: vec!["amaq".into()],
    };
    let res = analyze_operation(
        &releases,
        &op,
        &["control".into()],
        &ImpactConfig::default(),
    )
    .expect("analysis");
    let o = &res.outlets[0];
    assert_eq!(o.daily.total.counts.len(), 61);
    assert_eq!(o.daily.total.counts[0], 6);
    let ba = o.before_after.as_ref().expect("before/after");
    assert_eq!((ba.before.count, ba.after.count), (180, 31));
    assert!(ba.estimate.rate_ratio < 0.2);
    assert!(o.its.as_ref().expect("its").level_change().estimate < -4.0);
    assert!(o.its_vs_controls.is_some());
    assert!(
        o.changes.iter().any(|c| c.days_from_operation.abs() <= 1),
        "{:?}",
        o.changes
    );
    let cs = o.channel_shift.as_ref().expect("channels");
    assert_eq!(cs.new_channel_items.len(), 1);
    assert_eq!(cs.new_channel_items[0].medium, Medium::Video);
    // Serialises (the report's wire format).
    let json = serde_json::to_string(&res).expect("json");
    assert!(json.contains("\"reason\""));
    // Output series are zero-filled and hourly buckets add up.
    let hourly = hourly_output(&releases, "amaq", res.windows.after).expect("hourly");
    assert_eq!(hourly.total.counts.len(), 30 * 24);
    assert_eq!(hourly.total.total(), 31);
    assert_eq!(hourly.by_medium[&Medium::Video].iter().sum::<u64>(), 1);
}

#[test]
fn charts_are_deterministic_and_accessible() {
    let counts: Vec<u64> = (0..61).map(|i| if i < 30 { 6 } else { 1 }).collect();
    let labels: Vec<String> = (0..61).map(|i| format!("day {i}")).collect();
    let marker = [Marker {
        index: 30,
        label: "2018-04-25".into(),
    }];
    let a = daily_series_chart(
        "Amaq <daily>",
        &counts,
        &labels,
        Some((30, 30, "action")),
        &marker,
    );
    let b = daily_series_chart(
        "Amaq <daily>",
        &counts,
        &labels,
        Some((30, 30, "action")),
        &marker,
    );
    assert_eq!(a, b);
    assert!(
        a.starts_with("<svg")
            && a.ends_with("</svg>")
            && a.contains("<title id=\"t\">Amaq &lt;daily&gt;</title>")
    );
    assert!(!a.contains("<script"));
    let bars = [
        RateBar {
            label: "before".into(),
            rate: 6.0,
            ci: Some((5.2, 6.9)),
        },
        RateBar {
            label: "after".into(),
            rate: 1.0,
            ci: Some((0.7, 1.4)),
        },
    ];
    assert!(before_after_chart("Rate", &bars, "per day").contains("<desc"));
    let km = kaplan_meier(&[1.0, 2.0, 3.0, 10.0], &[true, true, false, true], 0.95).expect("km");
    let svg = km_chart("Time to removal", &[("all", &km)], 12.0);
    assert_eq!(svg, km_chart("Time to removal", &[("all", &km)], 12.0));
    assert!(svg.contains("median time to removal"));
}
