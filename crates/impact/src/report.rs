//! The operation report: every analysis of one operation, as a value ([`OperationReport`]),
//! a self-contained HTML page ([`render_html`]) and a JSON twin ([`to_json`]).

use std::path::{Path, PathBuf};

use chrono::{Duration, NaiveDate};
use serde::Serialize;
use takedown_analytics::before_after::PeriodComparison;
use takedown_analytics::impact::DatedChange;
use takedown_analytics::its::ItsFit;
use takedown_analytics::svg::{before_after_chart, daily_series_chart, Marker, RateBar};
use takedown_analytics::{
    analyze_operation, compare_periods, daily_output, hourly_output, ImpactConfig, NewChannelScope,
    OperationImpact, OutletImpact, OutputSeries, RateModel, Release, WindowConfig, Windows,
};
use takedown_model::Timestamp;
use takedown_store::{OperationRecord, Store};

use crate::html::{esc, num, p_value, ratio, Page};
use crate::removal::{self, RemovalInputs, RemovalScope, RemovalSection};
use crate::{log, operation, ImpactError};

/// Identifies the JSON twin's shape; bumped when a field changes meaning.
pub const OPERATION_REPORT_SCHEMA: &str = "takedown.operation-report/1";

/// How far a changepoint may be from the operation's first day to count as "at" it.
pub const CHANGEPOINT_NEAR_DAYS: i64 = 7;

/// Options for a report.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ReportOptions {
    /// Days in the before window (default 30).
    pub before_days: u32,
    /// Days in the after window (default 30).
    pub after_days: u32,
    /// The report's time (and the time removal rates are measured at).
    pub generated_at: Timestamp,
}

impl ReportOptions {
    /// 30 days each side, generated at `now`.
    pub fn new(now: Timestamp) -> ReportOptions {
        ReportOptions {
            before_days: 30,
            after_days: 30,
            generated_at: now,
        }
    }

    /// The analysis configuration these options give: windows as asked, the operation's own
    /// days left out, and "new channel" meaning never used by the outlet before the after
    /// window (not merely absent from the before window).
    pub fn impact_config(&self) -> ImpactConfig {
        ImpactConfig {
            windows: WindowConfig {
                before_days: self.before_days,
                after_days: self.after_days,
                exclude_operation_days: true,
            },
            new_channel_scope: NewChannelScope::EverBefore,
            ..ImpactConfig::default()
        }
    }
}

/// One piece of targeted infrastructure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InfrastructureItem {
    /// `domain`, `channel`, `server` or `other`.
    pub kind: &'static str,
    /// What.
    pub value: String,
}

/// The operation as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OperationInfo {
    /// Name.
    pub name: String,
    /// Start (UTC).
    pub start: Timestamp,
    /// End (UTC, inclusive).
    pub end: Timestamp,
    /// Participating organisations.
    pub organisations: Vec<String>,
    /// Targeted outlets.
    pub targets: Vec<String>,
    /// Control outlets.
    pub controls: Vec<String>,
    /// Targeted infrastructure.
    pub infrastructure: Vec<InfrastructureItem>,
    /// Notes.
    pub notes: String,
}

/// What the analyses were given.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportInputs {
    /// Days before.
    pub before_days: u32,
    /// Days after.
    pub after_days: u32,
    /// Whether the operation's days were left out of both windows.
    pub exclude_operation_days: bool,
    /// The windows as dates.
    pub windows: Windows,
    /// Outlets analysed (the operation's targets).
    pub outlets: Vec<String>,
    /// Control outlets.
    pub controls: Vec<String>,
    /// Every analysis setting.
    pub config: ImpactConfig,
    /// Releases of these outlets that were loaded (their whole history up to the end of the
    /// after window).
    pub releases_loaded: u64,
    /// Releases loaded per outlet.
    pub releases_per_outlet: Vec<(String, u64)>,
}

/// A control outlet's own before/after comparison: it should show no change if the control is
/// a good one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ControlOutlet {
    /// Outlet.
    pub outlet: String,
    /// Daily output over the span.
    pub daily: OutputSeries,
    /// Before/after comparison.
    pub before_after: Option<PeriodComparison>,
    /// Why the comparison is missing.
    pub note: Option<String>,
}

/// The headline facts of one targeted outlet, for readers who want the answer first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Outlet.
    pub outlet: String,
    /// Releases in the before window.
    pub before: Option<u64>,
    /// Releases in the after window.
    pub after: Option<u64>,
    /// Rate ratio after/before (the reported model's estimate).
    pub rate_ratio: Option<f64>,
    /// Its interval.
    pub ci_low: Option<f64>,
    /// Its interval.
    pub ci_high: Option<f64>,
    /// Its p-value.
    pub p_value: Option<f64>,
    /// `poisson`, `negative_binomial` or `exact_conditional`.
    pub model: Option<&'static str>,
    /// The interval excludes 1 and lies below it.
    pub significant_fall: bool,
    /// The changepoint nearest the operation's first day, if within
    /// [`CHANGEPOINT_NEAR_DAYS`].
    pub changepoint_near_operation: Option<DatedChange>,
    /// Items after the operation through channels the outlet never used before.
    pub new_channel_items: usize,
    /// Distinct such channels.
    pub new_channels: Vec<String>,
    /// One paragraph in words.
    pub summary: String,
}

/// Everything one operation report shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperationReport {
    /// [`OPERATION_REPORT_SCHEMA`].
    pub schema: &'static str,
    /// When generated.
    pub generated_at: Timestamp,
    /// The operation.
    pub operation: OperationInfo,
    /// The analyses' inputs.
    pub inputs: ReportInputs,
    /// Headline facts per targeted outlet.
    pub findings: Vec<Finding>,
    /// Every analysis per targeted outlet (takedown-analytics' result types).
    pub impact: OperationImpact,
    /// Hourly output of each targeted outlet over the span.
    pub hourly: Vec<OutputSeries>,
    /// The controls' own comparisons.
    pub controls: Vec<ControlOutlet>,
    /// Time to removal of the targeted outlets' referred URLs.
    pub removal: RemovalSection,
}

fn model_name(model: &RateModel) -> &'static str {
    match model {
        RateModel::Poisson => "poisson",
        RateModel::NegativeBinomial { .. } => "negative_binomial",
        RateModel::ExactConditional => "exact_conditional",
    }
}

fn model_words(model: &RateModel) -> String {
    match model {
        RateModel::Poisson => "Poisson regression".into(),
        RateModel::NegativeBinomial { alpha, .. } => {
            format!(
                "negative binomial (NB2) regression, alpha = {}",
                num(*alpha, 3)
            )
        }
        RateModel::ExactConditional => "exact conditional (binomial) method".into(),
    }
}

/// "a fall of 77%" / "a rise of 12%".
fn change_words(rr: f64) -> String {
    if !rr.is_finite() {
        "an unbounded rise".into()
    } else if rr < 1.0 {
        format!("a fall of {:.0}%", (1.0 - rr) * 100.0)
    } else {
        format!("a rise of {:.0}%", (rr - 1.0) * 100.0)
    }
}

/// "on the operation's first day" / "1 day after its start" / "2 days before it".
fn days_words(days: i64) -> String {
    match days {
        0 => "the operation's first day".into(),
        1 => "1 day after the operation's start".into(),
        -1 => "the day before the operation".into(),
        d if d > 0 => format!("{d} days after the operation's start"),
        d => format!("{} days before the operation", -d),
    }
}

fn long_date(d: NaiveDate) -> String {
    d.format("%-d %B %Y").to_string()
}

fn finding(o: &OutletImpact) -> Finding {
    let ba = o.before_after.as_ref();
    let est = ba.map(|b| &b.estimate);
    let near = o
        .changes
        .iter()
        .filter(|c| c.days_from_operation.abs() <= CHANGEPOINT_NEAR_DAYS)
        .min_by_key(|c| c.days_from_operation.abs())
        .cloned();
    let (new_items, new_channels) = o.channel_shift.as_ref().map_or((0, Vec::new()), |s| {
        let mut channels: Vec<String> = s
            .new_channel_items
            .iter()
            .filter(|i| i.first_on_channel)
            .map(|i| i.channel.clone())
            .collect();
        channels.dedup();
        (s.new_channel_items.len(), channels)
    });
    let mut summary = String::new();
    if let Some(b) = ba {
        let e = &b.estimate;
        summary.push_str(&format!(
            "{} released {} items in the {} days before the operation ({} a day) and {} in the {} days after ({} a day): a rate ratio of {} (95% CI {} to {}; {}), {}, by {}.",
            o.outlet,
            b.before.count,
            b.before.days,
            num(b.before.per_day, 2),
            b.after.count,
            b.after.days,
            num(b.after.per_day, 2),
            ratio(e.rate_ratio),
            ratio(e.ci_low),
            ratio(e.ci_high),
            p_value(e.p_value).replace("&lt;", "<"),
            change_words(e.rate_ratio),
            model_words(&e.model),
        ));
    } else {
        summary.push_str(&format!(
            "{}: no before/after comparison ({}).",
            o.outlet,
            o.notes.join("; ")
        ));
    }
    match &near {
        Some(c) => summary.push_str(&format!(
            " A changepoint found without being told the date falls on {} ({}), from {} to {} a day.",
            long_date(c.date),
            days_words(c.days_from_operation),
            num(c.mean_before, 1),
            num(c.mean_after, 1)
        )),
        None => summary.push_str(&format!(
            " No changepoint within {CHANGEPOINT_NEAR_DAYS} days of the operation."
        )),
    }
    match (new_items, new_channels.len()) {
        (0, _) => {}
        (1, _) => summary.push_str(&format!(
            " One item after the operation came through a channel the outlet never used before: {}.",
            new_channels.join(", ")
        )),
        (n, 1) => summary.push_str(&format!(
            " {n} items after the operation came through a channel the outlet never used before: {}.",
            new_channels.join(", ")
        )),
        (n, _) => summary.push_str(&format!(
            " {n} items after the operation came through channels the outlet never used before: {}.",
            new_channels.join(", ")
        )),
    }
    Finding {
        outlet: o.outlet.clone(),
        before: ba.map(|b| b.before.count),
        after: ba.map(|b| b.after.count),
        rate_ratio: est.map(|e| e.rate_ratio),
        ci_low: est.map(|e| e.ci_low),
        ci_high: est.map(|e| e.ci_high),
        p_value: est.map(|e| e.p_value),
        model: est.map(|e| model_name(&e.model)),
        significant_fall: est.is_some_and(|e| e.ci_high < 1.0),
        changepoint_near_operation: near,
        new_channel_items: new_items,
        new_channels,
        summary,
    }
}

/// Builds the report from an operation and its outlets' releases (pure: no store, no clock).
/// `releases` should hold the targets' and controls' releases up to the end of the after
/// window, and for "never used before" the targets' earlier history too.
pub fn build_operation_report(
    op: &OperationRecord,
    releases: &[Release],
    removal: Option<&RemovalInputs>,
    options: &ReportOptions,
) -> Result<OperationReport, ImpactError> {
    let cfg = options.impact_config();
    let analysed = operation::for_analysis(op);
    let impact = analyze_operation(releases, &analysed, &op.controls, &cfg)?;
    let w = impact.windows;
    let span = w.span();
    let hourly = op
        .targets
        .iter()
        .map(|t| hourly_output(releases, t, span))
        .collect::<Result<Vec<_>, _>>()?;
    let before_len = w.before.days as usize;
    let after_start = (w.after.first - span.first).num_days().max(0) as usize;
    let after_end = after_start + w.after.days as usize;
    let mut controls = Vec::new();
    for c in &op.controls {
        let daily = daily_output(releases, c, span)?;
        let counts = &daily.total.counts;
        let (before_after, note) = match compare_periods(
            &counts[..before_len.min(counts.len())],
            &counts[after_start.min(counts.len())..after_end.min(counts.len())],
            &cfg.rate_ratio,
        ) {
            Ok(b) => (Some(b), None),
            Err(e) => (None, Some(e.to_string())),
        };
        controls.push(ControlOutlet {
            outlet: c.clone(),
            daily,
            before_after,
            note,
        });
    }
    let mut per_outlet: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
    for r in releases {
        *per_outlet.entry(r.outlet.as_str()).or_default() += 1;
    }
    let findings = impact.outlets.iter().map(finding).collect();
    Ok(OperationReport {
        schema: OPERATION_REPORT_SCHEMA,
        generated_at: options.generated_at,
        operation: OperationInfo {
            name: op.name.clone(),
            start: op.starts_at,
            end: op.ends_at,
            organisations: op.organisations.clone(),
            targets: op.targets.clone(),
            controls: op.controls.clone(),
            infrastructure: op
                .infrastructure
                .iter()
                .map(|i| InfrastructureItem {
                    kind: i.kind.as_str(),
                    value: i.value.clone(),
                })
                .collect(),
            notes: op.notes.clone(),
        },
        inputs: ReportInputs {
            before_days: options.before_days,
            after_days: options.after_days,
            exclude_operation_days: cfg.windows.exclude_operation_days,
            windows: w,
            outlets: op.targets.clone(),
            controls: op.controls.clone(),
            config: cfg,
            releases_loaded: releases.len() as u64,
            releases_per_outlet: per_outlet
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        },
        findings,
        impact,
        hourly,
        controls,
        removal: removal::removal_section(removal),
    })
}

/// Loads an operation and its outlets' releases from the store and builds its report.
pub async fn operation_report(
    store: &dyn Store,
    name: &str,
    options: &ReportOptions,
) -> Result<OperationReport, ImpactError> {
    let op = store.operation_by_name(name).await?;
    let windows = operation::for_analysis(&op).windows(&options.impact_config().windows)?;
    let until = windows.after.end();
    let mut outlets = op.targets.clone();
    outlets.extend(op.controls.iter().cloned());
    // From the beginning: "never used before" needs the targets' whole history.
    let releases = log::load_for_analysis(store, &outlets, None, Some(until)).await?;
    let scope = RemovalScope {
        outlets: op.targets.clone(),
        from: windows.span().start(),
        until,
    };
    let removal = removal::load_removal_inputs(store, &scope, options.generated_at).await?;
    build_operation_report(&op, &releases, removal.as_ref(), options)
}

/// The JSON twin, pretty-printed. Infinite values (an unbounded interval) are `null`.
pub fn to_json(report: &OperationReport) -> Result<String, ImpactError> {
    Ok(serde_json::to_string_pretty(report)?)
}

/// Writes `operation-NAME.html` and `operation-NAME.json` into `dir` (created if needed);
/// returns their paths.
pub fn write_files(
    report: &OperationReport,
    dir: &Path,
) -> Result<(PathBuf, PathBuf), ImpactError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| ImpactError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let base = format!("operation-{}", report.operation.name);
    let html = dir.join(format!("{base}.html"));
    let json = dir.join(format!("{base}.json"));
    std::fs::write(&html, render_html(report)).map_err(io(&html))?;
    std::fs::write(&json, to_json(report)?).map_err(io(&json))?;
    Ok((html, json))
}

// ---------------------------------------------------------------------------------------------
// HTML

fn day_labels(start: NaiveDate, days: usize) -> Vec<String> {
    (0..days)
        .map(|i| {
            (start + Duration::days(i as i64))
                .format("%-d %b")
                .to_string()
        })
        .collect()
}

fn range_text(first: NaiveDate, days: u32) -> String {
    let last = first + Duration::days(i64::from(days.max(1)) - 1);
    format!("{} to {}", long_date(first), long_date(last))
}

fn ba_rows(b: &PeriodComparison, w: &Windows) -> Vec<Vec<String>> {
    vec![
        vec![
            "before".into(),
            range_text(w.before.first, w.before.days),
            b.before.days.to_string(),
            b.before.count.to_string(),
            num(b.before.per_day, 2),
        ],
        vec![
            "after".into(),
            range_text(w.after.first, w.after.days),
            b.after.days.to_string(),
            b.after.count.to_string(),
            num(b.after.per_day, 2),
        ],
    ]
}

fn estimate_row(label: &str, e: &takedown_analytics::RateRatio) -> Vec<String> {
    vec![
        esc(label),
        ratio(e.rate_ratio),
        format!("{} to {}", ratio(e.ci_low), ratio(e.ci_high)),
        p_value(e.p_value),
        esc(&model_words(&e.model)),
    ]
}

fn its_rows(fit: &ItsFit) -> Vec<Vec<String>> {
    fit.coefficients
        .iter()
        .map(|c| {
            vec![
                esc(&c.name.replace('_', " ")),
                num(c.estimate, 3),
                num(c.se, 3),
                format!("{} to {}", num(c.ci_low, 3), num(c.ci_high, 3)),
                p_value(c.p_value),
            ]
        })
        .collect()
}

fn sum_range(v: &[u64], r: std::ops::Range<usize>) -> u64 {
    v.get(r).map_or(0, |s| s.iter().sum())
}

fn render_outlet(
    page: &mut Page,
    report: &OperationReport,
    o: &OutletImpact,
    f: &Finding,
    idx: usize,
) {
    let w = &report.impact.windows;
    let span = w.span();
    let id = format!("outlet-{idx}");
    page.heading(2, &id, &format!("{} (targeted)", o.outlet));
    page.para(&format!(
        "<span class=\"headline\">{}</span>",
        esc(&f.summary)
    ));

    // Before and after.
    page.heading(3, &format!("{id}-before-after"), "Output before and after");
    if let Some(b) = &o.before_after {
        page.table(
            &format!("{}: releases in the windows around the operation", o.outlet),
            &["window", "dates", "days", "releases", "per day"],
            &ba_rows(b, w),
            &[2, 3, 4],
        );
        let mut rows = vec![estimate_row(
            "rate ratio after / before (reported)",
            &b.estimate,
        )];
        rows.push(estimate_row(
            "exact conditional (assumes Poisson)",
            &b.exact,
        ));
        if let Some(c) = &o.before_after_vs_controls {
            rows.push(estimate_row("ratio of rate ratios against the controls", c));
        }
        page.table(
            &format!("{}: rate ratio with 95% confidence interval", o.outlet),
            &["estimate", "value", "95% CI", "p-value", "model"],
            &rows,
            &[1],
        );
        page.para(&format!(
            "<strong>Model:</strong> {}. <span class=\"muted\">Why: {}.</span>",
            esc(&model_words(&b.estimate.model)),
            esc(&b.estimate.reason)
        ));
        let mut bars = vec![RateBar {
            label: format!("{} (target)", o.outlet),
            rate: b.estimate.rate_ratio,
            ci: Some((b.estimate.ci_low, b.estimate.ci_high)),
        }];
        for c in &report.controls {
            if let Some(cb) = &c.before_after {
                bars.push(RateBar {
                    label: format!("{} (control)", c.outlet),
                    rate: cb.estimate.rate_ratio,
                    ci: Some((cb.estimate.ci_low, cb.estimate.ci_high)),
                });
            }
        }
        if let Some(c) = &o.before_after_vs_controls {
            bars.push(RateBar {
                label: "target / controls".into(),
                rate: c.rate_ratio,
                ci: Some((c.ci_low, c.ci_high)),
            });
        }
        let svg = before_after_chart(
            &format!("{}: rate ratio after / before with 95% intervals", o.outlet),
            &bars,
            "rate ratio",
        );
        page.figure(
            &svg,
            &format!(
                "Rate ratios (after / before) with 95% confidence intervals for {} and the controls; 1 means no change.",
                o.outlet
            ),
        );
    }

    // Daily series.
    let labels = day_labels(span.first, o.daily.total.counts.len());
    let op_start = (w.operation.first - span.first).num_days().max(0) as usize;
    let op_end = op_start + w.operation.days.max(1) as usize - 1;
    let markers: Vec<Marker> = o
        .changes
        .iter()
        .map(|c| Marker {
            index: (c.date - span.first).num_days().max(0) as usize,
            label: c.date.format("%-d %b").to_string(),
        })
        .collect();
    let svg = daily_series_chart(
        &format!("{}: releases per day", o.outlet),
        &o.daily.total.counts,
        &labels,
        Some((op_start, op_end, &report.operation.name)),
        &markers,
    );
    page.figure(
        &svg,
        &format!(
            "Daily releases of {} from {}; the operation's days are shaded, detected changepoints are dashed red lines.",
            o.outlet,
            range_text(span.first, span.days)
        ),
    );

    // Interrupted time series.
    page.heading(3, &format!("{id}-its"), "Interrupted time series");
    match &o.its {
        Some(fit) => {
            let level = fit.level_change();
            page.para(&format!(
                "Segmented regression of daily counts: level change at the operation {} releases a day (95% CI {} to {}; {}), change in daily trend {} (95% CI {} to {}). Newey-West standard errors with {} lags, n = {}, R² = {}.",
                num(level.estimate, 2),
                num(level.ci_low, 2),
                num(level.ci_high, 2),
                p_value(level.p_value),
                num(fit.slope_change().estimate, 3),
                num(fit.slope_change().ci_low, 3),
                num(fit.slope_change().ci_high, 3),
                fit.hac_lags,
                fit.n,
                num(fit.r_squared, 2)
            ));
            page.table(
                &format!(
                    "{}: segmented regression coefficients (Newey-West errors)",
                    o.outlet
                ),
                &["coefficient", "estimate", "std. error", "95% CI", "p-value"],
                &its_rows(fit),
                &[1, 2],
            );
        }
        None => page.text("Not computed (see notes)."),
    }
    if let Some(fit) = &o.its_vs_controls {
        page.table(
            &format!(
                "{}: segmented regression of the outlet minus the controls' mean (Newey-West errors)",
                o.outlet
            ),
            &["coefficient", "estimate", "std. error", "95% CI", "p-value"],
            &its_rows(fit),
            &[1, 2],
        );
    }

    // Changepoints.
    page.heading(3, &format!("{id}-changepoints"), "Changepoints");
    if o.changes.is_empty() {
        page.text("PELT found no change in the daily rate over the span.");
    } else {
        let rows: Vec<Vec<String>> = o
            .changes
            .iter()
            .map(|c| {
                let near = if c.days_from_operation.abs() <= CHANGEPOINT_NEAR_DAYS {
                    " <span class=\"flag\">at the operation</span>"
                } else {
                    ""
                };
                vec![
                    format!("{}{near}", esc(&long_date(c.date))),
                    format!("{:+}", c.days_from_operation),
                    num(c.mean_before, 2),
                    num(c.mean_after, 2),
                ]
            })
            .collect();
        page.table(
            &format!(
                "{}: changes in the daily rate found by PELT (not told the operation's date)",
                o.outlet
            ),
            &[
                "first day of new segment",
                "days from operation start",
                "per day before",
                "per day after",
            ],
            &rows,
            &[1, 2, 3],
        );
    }

    // Channels.
    page.heading(3, &format!("{id}-channels"), "Channels");
    if let Some(s) = &o.channel_shift {
        let new: std::collections::BTreeSet<&str> = s
            .new_channel_items
            .iter()
            .map(|i| i.channel.as_str())
            .collect();
        let rows: Vec<Vec<String>> = s
            .channels
            .iter()
            .map(|c| {
                let flag = if new.contains(c.channel.as_str()) {
                    " <span class=\"flag\">new channel</span>"
                } else {
                    ""
                };
                vec![
                    format!("<code>{}</code>{flag}", esc(&c.channel)),
                    c.before.to_string(),
                    format!("{}%", num(100.0 * c.before_share, 1)),
                    c.after.to_string(),
                    format!("{}%", num(100.0 * c.after_share, 1)),
                ]
            })
            .collect();
        page.table(
            &format!("{}: releases per channel before and after", o.outlet),
            &["channel", "before", "share before", "after", "share after"],
            &rows,
            &[1, 2, 3, 4],
        );
        if let Some(t) = &s.test {
            page.para(&format!(
                "Chi-squared test of the same channel mix before and after: χ² = {} on {} df, {}{}.",
                num(t.statistic, 1),
                t.df,
                p_value(t.p_value),
                if t.min_expected < 5.0 {
                    format!(
                        " (smallest expected count {}: below 5 the test is approximate)",
                        num(t.min_expected, 1)
                    )
                } else {
                    String::new()
                }
            ));
        }
        if s.new_channel_items.is_empty() {
            page.text(
                "Every item after the operation came through a channel the outlet had used before.",
            );
        } else {
            let rows: Vec<Vec<String>> = s
                .new_channel_items
                .iter()
                .map(|i| {
                    vec![
                        esc(&i.time.format("%Y-%m-%d %H:%M UTC").to_string()),
                        format!(
                            "<code>{}</code> <span class=\"flag\">{}</span>",
                            esc(&i.channel),
                            if i.first_on_channel {
                                "new channel: first use"
                            } else {
                                "new channel"
                            }
                        ),
                        esc(i.medium.as_str()),
                        esc(&i.language),
                        esc(&i.title),
                    ]
                })
                .collect();
            page.table(
                &format!(
                    "{}: items after the operation through a channel never used before",
                    o.outlet
                ),
                &["time", "channel", "medium", "language", "title"],
                &rows,
                &[],
            );
        }
    }

    // Media and time of day.
    page.heading(3, &format!("{id}-media"), "Media and time of day");
    let before_r = 0..w.before.days as usize;
    let a0 = (w.after.first - span.first).num_days().max(0) as usize;
    let after_r = a0..a0 + w.after.days as usize;
    let rows: Vec<Vec<String>> = o
        .daily
        .by_medium
        .iter()
        .map(|(m, v)| {
            vec![
                esc(m.as_str()),
                sum_range(v, before_r.clone()).to_string(),
                sum_range(v, after_r.clone()).to_string(),
            ]
        })
        .collect();
    page.table(
        &format!("{}: releases per medium", o.outlet),
        &["medium", "before", "after"],
        &rows,
        &[1, 2],
    );
    if let Some(h) = report.hourly.iter().find(|h| h.outlet == o.outlet) {
        let per_hour = |range: &std::ops::Range<usize>| {
            let mut bands = [0u64; 8];
            for day in range.clone() {
                for hour in 0..24 {
                    bands[hour / 3] += h.total.counts.get(day * 24 + hour).copied().unwrap_or(0);
                }
            }
            bands
        };
        let (b, a) = (per_hour(&before_r), per_hour(&after_r));
        let (tb, ta) = (b.iter().sum::<u64>().max(1), a.iter().sum::<u64>().max(1));
        let rows: Vec<Vec<String>> = (0..8)
            .map(|i| {
                vec![
                    format!("{:02}:00-{:02}:00", i * 3, i * 3 + 3),
                    b[i].to_string(),
                    format!("{}%", num(100.0 * b[i] as f64 / tb as f64, 1)),
                    a[i].to_string(),
                    format!("{}%", num(100.0 * a[i] as f64 / ta as f64, 1)),
                ]
            })
            .collect();
        page.table(
            &format!("{}: releases by time of day (UTC)", o.outlet),
            &[
                "hours (UTC)",
                "before",
                "share before",
                "after",
                "share after",
            ],
            &rows,
            &[1, 2, 3, 4],
        );
    }
    if !o.notes.is_empty() {
        page.heading(3, &format!("{id}-notes"), "Notes");
        let items: String = o
            .notes
            .iter()
            .map(|n| format!("<li>{}</li>", esc(n)))
            .collect();
        page.raw(&format!("<ul>{items}</ul>\n"));
    }
}

/// The report as one self-contained HTML page.
pub fn render_html(report: &OperationReport) -> String {
    let op = &report.operation;
    let w = &report.impact.windows;
    let mut page = Page::new(&format!("Impact of operation {}", op.name));
    page.raw("<header>\n");
    page.heading(1, "top", &format!("Impact of operation {}", op.name));
    page.para(&format!(
        "<span class=\"muted\">{} to {} · report generated {} by takedown · every figure is also in the JSON twin <code>operation-{}.json</code></span>",
        esc(&op.start.format("%-d %B %Y %H:%M UTC").to_string()),
        esc(&op.end.format("%-d %B %Y %H:%M UTC").to_string()),
        esc(&report.generated_at.format("%Y-%m-%d %H:%M UTC").to_string()),
        esc(&op.name)
    ));
    page.raw("</header>\n<nav aria-label=\"Contents\"><ul>");
    page.raw(
        "<li><a href=\"#summary\">Summary</a></li><li><a href=\"#operation\">Operation</a></li>",
    );
    for (i, o) in report.impact.outlets.iter().enumerate() {
        page.raw(&format!(
            "<li><a href=\"#outlet-{i}\">{}</a></li>",
            esc(&o.outlet)
        ));
    }
    page.raw("<li><a href=\"#controls\">Control outlets</a></li><li><a href=\"#removal\">Time to removal</a></li><li><a href=\"#method\">Method</a></li></ul></nav>\n<main>\n");

    page.heading(2, "summary", "Summary");
    let items: String = report
        .findings
        .iter()
        .map(|f| format!("<li>{}</li>", esc(&f.summary)))
        .collect();
    page.raw(&format!("<ul>{items}</ul>\n"));

    page.heading(2, "operation", "Operation");
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            esc(&v.join(", "))
        }
    };
    let infra = if op.infrastructure.is_empty() {
        "none recorded".to_string()
    } else {
        op.infrastructure
            .iter()
            .map(|i| format!("{}: {}", esc(i.kind), esc(&i.value)))
            .collect::<Vec<_>>()
            .join("<br>")
    };
    page.raw(&format!(
        "<dl><dt>Name</dt><dd><code>{}</code></dd><dt>Days</dt><dd>{}</dd><dt>Organisations</dt><dd>{}</dd><dt>Targeted outlets</dt><dd>{}</dd><dt>Control outlets</dt><dd>{}</dd><dt>Infrastructure</dt><dd>{}</dd><dt>Windows</dt><dd>before: {} ({} days); after: {} ({} days); the operation's own days are left out of both</dd><dt>Notes</dt><dd>{}</dd></dl>\n",
        esc(&op.name),
        range_text(w.operation.first, w.operation.days),
        list(&op.organisations),
        list(&op.targets),
        list(&op.controls),
        infra,
        range_text(w.before.first, w.before.days),
        w.before.days,
        range_text(w.after.first, w.after.days),
        w.after.days,
        if op.notes.is_empty() { "none".into() } else { esc(&op.notes) },
    ));

    for (i, (o, f)) in report
        .impact
        .outlets
        .iter()
        .zip(&report.findings)
        .enumerate()
    {
        render_outlet(&mut page, report, o, f, i);
    }

    page.heading(2, "controls", "Control outlets");
    if report.controls.is_empty() {
        page.text("No control outlet was named: the comparisons above cannot separate the operation's effect from changes that hit every outlet at the same time.");
    } else {
        page.text("Outlets the operation did not target, analysed over the same windows. A good control shows no change; the target's ratio of rate ratios against them removes what hit every outlet alike.");
        let rows: Vec<Vec<String>> = report
            .controls
            .iter()
            .map(|c| match &c.before_after {
                Some(b) => vec![
                    esc(&c.outlet),
                    b.before.count.to_string(),
                    b.after.count.to_string(),
                    ratio(b.estimate.rate_ratio),
                    format!(
                        "{} to {}",
                        ratio(b.estimate.ci_low),
                        ratio(b.estimate.ci_high)
                    ),
                    p_value(b.estimate.p_value),
                    esc(&model_words(&b.estimate.model)),
                ],
                None => vec![
                    esc(&c.outlet),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    esc(c.note.as_deref().unwrap_or("not computed")),
                ],
            })
            .collect();
        page.table(
            "Control outlets: releases and rate ratio after / before with 95% interval",
            &[
                "outlet",
                "before",
                "after",
                "rate ratio",
                "95% CI",
                "p-value",
                "model",
            ],
            &rows,
            &[1, 2, 3],
        );
        let span = w.span();
        let op_start = (w.operation.first - span.first).num_days().max(0) as usize;
        let op_end = op_start + w.operation.days.max(1) as usize - 1;
        for c in &report.controls {
            let svg = daily_series_chart(
                &format!("{} (control): releases per day", c.outlet),
                &c.daily.total.counts,
                &day_labels(span.first, c.daily.total.counts.len()),
                Some((op_start, op_end, &op.name)),
                &[],
            );
            page.figure(
                &svg,
                &format!(
                    "Daily releases of the control outlet {}; the operation's days are shaded.",
                    c.outlet
                ),
            );
        }
    }

    removal::render(&mut page, &report.removal, "removal");

    page.heading(2, "method", "Method");
    let cfg = &report.inputs.config;
    page.raw(&format!(
        "<ul>\
<li><strong>Windows.</strong> {} days before the operation (ending the day before it starts) and {} days after (starting the day after it ends); the operation's own days belong to neither regime and are left out. Days are UTC calendar days; days without releases count as zeros.</li>\
<li><strong>Before/after.</strong> Daily counts are modelled as log E[y] = b0 + b1·after, rate ratio = exp(b1). Poisson regression first; the Cameron-Trivedi test (one-sided, level {}) checks whether counts vary more than Poisson allows, because propaganda output comes in bursts and a Poisson interval would then be too narrow: if so, a negative binomial (NB2) model is fitted by maximum likelihood and reported instead. When a window has no releases at all the exact conditional binomial method is used. The exact method is always shown alongside. With controls, the ratio of rate ratios (a difference-in-differences on the log scale) removes changes shared with the controls.</li>\
<li><strong>Interrupted time series.</strong> y = b0 + b1·t + b2·post + b3·(t − t0)·post by least squares; standard errors are Newey-West (HAC, Bartlett kernel) because daily counts are autocorrelated; intervals from Student's t. The model is linear in counts: read it with the chart when output nears zero.</li>\
<li><strong>Changepoints.</strong> PELT over the whole span with a Poisson segment cost and a BIC-like penalty (2 ln n), minimum segment {} days. It is not told the operation's date, so a change found next to it is independent support.</li>\
<li><strong>Channels.</strong> Shares per channel before and after with a chi-squared test of homogeneity; an item is flagged when its channel was never used by the outlet before the after window (in the whole log loaded, not only the before window).</li>\
<li><strong>Removal rates</strong> are only stated with the time they were measured.</li>\
<li>Inputs: {} releases of {} loaded.</li>\
</ul>\n",
        report.inputs.before_days,
        report.inputs.after_days,
        cfg.rate_ratio.overdispersion_level,
        cfg.pelt.min_size,
        report.inputs.releases_loaded,
        esc(&report
            .inputs
            .releases_per_outlet
            .iter()
            .map(|(o, n)| format!("{o} ({n})"))
            .collect::<Vec<_>>()
            .join(", ")),
    ));
    page.raw("</main>\n<footer><p class=\"muted\">Generated by takedown. The JSON twin holds every number on this page and every setting used.</p></footer>\n");
    page.finish()
}
