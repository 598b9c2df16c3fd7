//! The transparency report for a period: what referral units publish (TCAP's and Europol's
//! figures: URLs assessed, referrals, providers, removal rate with when it was measured,
//! time-to-removal quantiles by tier, outlet and provider) and the figures Regulation (EU)
//! 2021/784 asks competent authorities to publish each year.
//!
//! # Which figures come from where
//!
//! The Regulation's list for authorities is Article 8(1) (Article 7 sets the hosting
//! providers' own reports). takedown fills what its records hold and leaves the rest to be
//! entered by hand in a JSON file ([`ManualFigures`], `takedown report transparency
//! --manual FILE`); every figure in the report says which ([`FigureSource`]):
//!
//! | figure | Art. 8(1) | source |
//! |---|---|---|
//! | removal orders issued | (a) | takedown's removal orders when referral data exist, else manual |
//! | of which sent to a provider in another member state (Art. 4(1)) | (a) | takedown when every order records it, else manual |
//! | orders scrutinised under Art. 4 | (a) | manual |
//! | orders after which the content was removed or disabled | (a) | takedown's URL checks when referral data exist, else manual |
//! | orders after which it was not | (a) | as above |
//! | decisions on specific measures (Art. 5(4), (6), (7)) and their implementation | (b) | manual |
//! | orders and decisions subject to administrative or judicial review, and outcomes | (c) | manual |
//! | decisions imposing penalties (Art. 18) and their type | (d) | manual |
//!
//! When takedown's data and a manual value both exist, the data are used and the manual value
//! is shown in the figure's note, so a disagreement is visible rather than silently resolved.
//!
//! Referral figures come from the referral workflow's records in the store, read by
//! [`crate::referral_data::referral_facts`] into [`ReferralFacts`]; with none at all the
//! section says "no referral data".

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use takedown_analytics::UrlRecord;
use takedown_model::Timestamp;
use takedown_store::Store;

use crate::html::{esc, num, Page};
use crate::removal::{self, RemovalInputs, RemovalSection};
use crate::ImpactError;

/// Identifies the JSON twin's shape.
pub const TRANSPARENCY_SCHEMA: &str = "takedown.transparency-report/1";

/// What happened after a removal order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderOutcome {
    /// The content was removed or access to it disabled.
    Removed,
    /// It was not.
    NotRemoved,
}

/// One EU removal order issued in the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovalOrderFact {
    /// Date and time of issue.
    pub issued_at: Timestamp,
    /// Addressee (hosting provider).
    pub provider: String,
    /// Whether the provider's main establishment is in another member state (Art. 4(1));
    /// `None` when not recorded.
    pub cross_border: Option<bool>,
    /// What the checks found; `None` when not (yet) known.
    pub outcome: Option<OrderOutcome>,
}

/// The referral workflow's records for a period, as the report needs them.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferralFacts {
    /// When the records were read (removal rates are "as of" this time).
    pub measured_at: Timestamp,
    /// URLs assessed (submitted and reviewed) in the period.
    pub urls_assessed: u64,
    /// Referrals sent in the period (one per provider notice).
    pub referrals_sent: u64,
    /// Every referred URL in the period with its checks summarised.
    pub urls: Vec<UrlRecord>,
    /// EU removal orders issued in the period.
    pub removal_orders: Vec<RemovalOrderFact>,
}

/// Figures takedown does not hold, entered by the authority (a JSON object; every field
/// optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualFigures {
    /// Removal orders issued (Art. 3).
    pub removal_orders_issued: Option<u64>,
    /// Of which addressed to a provider established in another member state (Art. 4(1)).
    pub removal_orders_cross_border: Option<u64>,
    /// Removal orders scrutinised under Art. 4.
    pub removal_orders_scrutinised: Option<u64>,
    /// Orders after which the content was removed or disabled.
    pub orders_content_removed: Option<u64>,
    /// Orders after which it was not.
    pub orders_content_not_removed: Option<u64>,
    /// Decisions under Art. 5(4), (6) or (7) (specific measures).
    pub specific_measures_decisions: Option<u64>,
    /// How providers implemented them.
    pub specific_measures_implementation: Option<String>,
    /// Orders and decisions subject to administrative or judicial review.
    pub review_proceedings: Option<u64>,
    /// Outcomes of those proceedings.
    pub review_outcomes: Option<String>,
    /// Decisions imposing penalties (Art. 18).
    pub penalty_decisions: Option<u64>,
    /// Types of penalty imposed.
    pub penalty_types: Option<String>,
    /// Free text printed with the figures.
    pub notes: Option<String>,
}

/// Where a figure came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FigureSource {
    /// Computed from takedown's records.
    Takedown,
    /// Entered by hand.
    Manual,
    /// Neither: the report shows it as not recorded.
    Missing,
}

/// One figure of the Regulation's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Figure {
    /// Stable key (the [`ManualFigures`] field it can be entered as).
    pub key: &'static str,
    /// What it counts.
    pub label: &'static str,
    /// Where the Regulation asks for it.
    pub legal_basis: &'static str,
    /// The value (a count or, for descriptions, text).
    pub value: Option<String>,
    /// Where it came from.
    pub source: FigureSource,
    /// A remark (e.g. a manual value that differs from takedown's).
    pub note: Option<String>,
}

/// Counts per group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupCount {
    /// Group (provider, outlet, tier).
    pub group: String,
    /// Referred URLs.
    pub urls: u64,
    /// Of those, seen removed by the measurement time.
    pub removed: u64,
}

/// Referral figures of the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReferralSummary {
    /// URLs assessed.
    pub urls_assessed: Option<u64>,
    /// Referrals sent.
    pub referrals_sent: Option<u64>,
    /// URLs referred.
    pub urls_referred: Option<u64>,
    /// Distinct providers referred to.
    pub providers: Option<u64>,
    /// Per provider.
    pub by_provider: Vec<GroupCount>,
    /// Per outlet.
    pub by_outlet: Vec<GroupCount>,
    /// Per tier.
    pub by_tier: Vec<GroupCount>,
    /// Removal rate (with its measurement time) and time to removal.
    pub removal: RemovalSection,
}

/// The whole transparency report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransparencyReport {
    /// [`TRANSPARENCY_SCHEMA`].
    pub schema: &'static str,
    /// When generated.
    pub generated_at: Timestamp,
    /// First instant of the period.
    pub from: Timestamp,
    /// End of the period (exclusive).
    pub to: Timestamp,
    /// Referral figures.
    pub referrals: ReferralSummary,
    /// Regulation (EU) 2021/784, Art. 8(1).
    pub regulation_2021_784: Vec<Figure>,
    /// The manual figures as entered.
    pub manual: ManualFigures,
}

fn counts(urls: &[UrlRecord], at: Timestamp, key: impl Fn(&UrlRecord) -> &str) -> Vec<GroupCount> {
    let mut groups: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for u in urls {
        let g = groups.entry(key(u)).or_default();
        g.0 += 1;
        if u.first_seen_removed.is_some_and(|t| t <= at) {
            g.1 += 1;
        }
    }
    groups
        .into_iter()
        .map(|(group, (urls, removed))| GroupCount {
            group: group.to_string(),
            urls,
            removed,
        })
        .collect()
}

/// A figure from data when available, else from the manual value, else missing.
fn figure(
    key: &'static str,
    label: &'static str,
    legal_basis: &'static str,
    data: Option<u64>,
    manual: Option<u64>,
) -> Figure {
    match (data, manual) {
        (Some(d), m) => Figure {
            key,
            label,
            legal_basis,
            value: Some(d.to_string()),
            source: FigureSource::Takedown,
            note: m
                .filter(|m| *m != d)
                .map(|m| format!("the manual figures say {m}; takedown's records are shown")),
        },
        (None, Some(m)) => Figure {
            key,
            label,
            legal_basis,
            value: Some(m.to_string()),
            source: FigureSource::Manual,
            note: None,
        },
        (None, None) => Figure {
            key,
            label,
            legal_basis,
            value: None,
            source: FigureSource::Missing,
            note: Some(format!(
                "not recorded: enter `{key}` in the manual figures file"
            )),
        },
    }
}

fn text_figure(
    key: &'static str,
    label: &'static str,
    legal_basis: &'static str,
    manual: &Option<String>,
) -> Figure {
    Figure {
        key,
        label,
        legal_basis,
        value: manual.clone(),
        source: if manual.is_some() {
            FigureSource::Manual
        } else {
            FigureSource::Missing
        },
        note: manual
            .is_none()
            .then(|| format!("not recorded: enter `{key}` in the manual figures file")),
    }
}

/// Builds the report (pure). `facts`: the referral records of the period, `None` when
/// takedown has none.
pub fn build_transparency(
    from: Timestamp,
    to: Timestamp,
    facts: Option<&ReferralFacts>,
    manual: &ManualFigures,
    generated_at: Timestamp,
) -> TransparencyReport {
    let removal_inputs = facts.map(|f| RemovalInputs {
        measured_at: f.measured_at,
        urls: f.urls.clone(),
    });
    let referrals = match facts {
        Some(f) => ReferralSummary {
            urls_assessed: Some(f.urls_assessed),
            referrals_sent: Some(f.referrals_sent),
            urls_referred: Some(f.urls.len() as u64),
            providers: Some(counts(&f.urls, f.measured_at, |u| &u.provider).len() as u64),
            by_provider: counts(&f.urls, f.measured_at, |u| &u.provider),
            by_outlet: counts(&f.urls, f.measured_at, |u| &u.outlet),
            by_tier: counts(&f.urls, f.measured_at, |u| &u.tier),
            removal: removal::removal_section(removal_inputs.as_ref()),
        },
        None => ReferralSummary {
            urls_assessed: None,
            referrals_sent: None,
            urls_referred: None,
            providers: None,
            by_provider: Vec::new(),
            by_outlet: Vec::new(),
            by_tier: Vec::new(),
            removal: removal::removal_section(None),
        },
    };
    let orders = facts.map(|f| &f.removal_orders);
    let issued = orders.map(|o| o.len() as u64);
    // Cross-border only when every order records it: a partial count would understate.
    let cross_border = orders.and_then(|o| {
        o.iter()
            .map(|order| order.cross_border)
            .collect::<Option<Vec<bool>>>()
            .map(|v| v.iter().filter(|b| **b).count() as u64)
    });
    let outcome = |which: OrderOutcome| {
        orders.map(|o| {
            o.iter()
                .filter(|order| order.outcome == Some(which))
                .count() as u64
        })
    };
    let regulation = vec![
        figure(
            "removal_orders_issued",
            "Removal orders issued",
            "Art. 8(1)(a), orders under Art. 3",
            issued,
            manual.removal_orders_issued,
        ),
        figure(
            "removal_orders_cross_border",
            "Of which addressed to a provider with its main establishment or legal representative in another member state",
            "Art. 8(1)(a), Art. 4(1)",
            cross_border,
            manual.removal_orders_cross_border,
        ),
        figure(
            "removal_orders_scrutinised",
            "Removal orders scrutinised",
            "Art. 8(1)(a), Art. 4",
            None,
            manual.removal_orders_scrutinised,
        ),
        figure(
            "orders_content_removed",
            "Orders after which the content was removed or access to it disabled",
            "Art. 8(1)(a)",
            outcome(OrderOutcome::Removed),
            manual.orders_content_removed,
        ),
        figure(
            "orders_content_not_removed",
            "Orders after which the content was not removed or disabled",
            "Art. 8(1)(a)",
            outcome(OrderOutcome::NotRemoved),
            manual.orders_content_not_removed,
        ),
        figure(
            "specific_measures_decisions",
            "Decisions on specific measures",
            "Art. 8(1)(b), Art. 5(4), (6), (7)",
            None,
            manual.specific_measures_decisions,
        ),
        text_figure(
            "specific_measures_implementation",
            "How providers implemented those decisions",
            "Art. 8(1)(b)",
            &manual.specific_measures_implementation,
        ),
        figure(
            "review_proceedings",
            "Removal orders and decisions subject to administrative or judicial review",
            "Art. 8(1)(c)",
            None,
            manual.review_proceedings,
        ),
        text_figure(
            "review_outcomes",
            "Outcomes of those proceedings",
            "Art. 8(1)(c)",
            &manual.review_outcomes,
        ),
        figure(
            "penalty_decisions",
            "Decisions imposing penalties",
            "Art. 8(1)(d), Art. 18",
            None,
            manual.penalty_decisions,
        ),
        text_figure(
            "penalty_types",
            "Types of penalty imposed",
            "Art. 8(1)(d)",
            &manual.penalty_types,
        ),
    ];
    TransparencyReport {
        schema: TRANSPARENCY_SCHEMA,
        generated_at,
        from,
        to,
        referrals,
        regulation_2021_784: regulation,
        manual: manual.clone(),
    }
}

/// Referral records of a period ([`crate::referral_data::referral_facts`]), or `None` when
/// takedown has none.
pub async fn load_referral_facts(
    store: &dyn Store,
    from: Timestamp,
    to: Timestamp,
    measured_at: Timestamp,
) -> Result<Option<ReferralFacts>, ImpactError> {
    crate::referral_data::referral_facts(store, from, to, measured_at).await
}

/// Loads the period's referral records and builds the report.
pub async fn transparency_report(
    store: &dyn Store,
    from: Timestamp,
    to: Timestamp,
    manual: &ManualFigures,
    generated_at: Timestamp,
) -> Result<TransparencyReport, ImpactError> {
    if to <= from {
        return Err(ImpactError::Invalid(
            "the period must end after it starts".into(),
        ));
    }
    let facts = load_referral_facts(store, from, to, generated_at).await?;
    Ok(build_transparency(
        from,
        to,
        facts.as_ref(),
        manual,
        generated_at,
    ))
}

/// Reads manual figures from JSON text.
pub fn parse_manual(text: &str) -> Result<ManualFigures, ImpactError> {
    serde_json::from_str(text).map_err(|e| ImpactError::Invalid(format!("manual figures: {e}")))
}

fn opt(v: Option<u64>) -> String {
    v.map_or_else(|| "no referral data".into(), |v| v.to_string())
}

/// The report as one self-contained HTML page.
pub fn render_transparency_html(report: &TransparencyReport) -> String {
    let period = format!(
        "{} to {}",
        report.from.format("%-d %B %Y %H:%M UTC"),
        report.to.format("%-d %B %Y %H:%M UTC")
    );
    let mut page = Page::new(&format!("Transparency report, {period}"));
    page.raw("<header>\n");
    page.heading(1, "top", "Transparency report");
    page.para(&format!(
        "<span class=\"muted\">Period {} (end exclusive) · generated {} by takedown</span>",
        esc(&period),
        esc(&report.generated_at.format("%Y-%m-%d %H:%M UTC").to_string())
    ));
    page.raw("</header>\n<main>\n");

    page.heading(2, "referrals", "Referrals");
    let r = &report.referrals;
    let measured = r
        .removal
        .measured_at
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string());
    let removal_rate = match (&r.removal.snapshot, &measured) {
        (Some(s), Some(_)) => format!(
            "{}% ({} of {}), measured {}",
            num(100.0 * s.share, 1),
            s.observed_removed,
            s.referred,
            esc(&s.measured_at.format("%Y-%m-%d %H:%M UTC").to_string())
        ),
        _ => "no referral data".into(),
    };
    page.table(
        "Referral figures for the period",
        &["figure", "value"],
        &[
            vec!["URLs assessed".into(), opt(r.urls_assessed)],
            vec!["referrals sent".into(), opt(r.referrals_sent)],
            vec!["URLs referred".into(), opt(r.urls_referred)],
            vec!["hosting providers referred to".into(), opt(r.providers)],
            vec!["removal rate".into(), removal_rate],
        ],
        &[1],
    );
    for (title, groups) in [
        ("by hosting provider", &r.by_provider),
        ("by outlet", &r.by_outlet),
        ("by tier", &r.by_tier),
    ] {
        if groups.is_empty() {
            continue;
        }
        let rows: Vec<Vec<String>> = groups
            .iter()
            .map(|g| {
                vec![
                    esc(&g.group),
                    g.urls.to_string(),
                    g.removed.to_string(),
                    format!(
                        "{}%",
                        num(100.0 * g.removed as f64 / g.urls.max(1) as f64, 1)
                    ),
                ]
            })
            .collect();
        page.table(
            &format!(
                "Referred URLs {title}, removal as observed {}",
                measured.as_deref().unwrap_or("")
            ),
            &["group", "URLs referred", "seen removed", "share"],
            &rows,
            &[1, 2, 3],
        );
    }
    removal::render(&mut page, &r.removal, "removal");

    page.heading(
        2,
        "regulation",
        "Regulation (EU) 2021/784: competent authority figures",
    );
    page.text(
        "Article 8(1) lists what competent authorities publish each year. Figures marked \
         \"takedown\" are computed from takedown's records; \"manual\" ones were entered in the \
         manual figures file; \"not recorded\" ones are in neither.",
    );
    let rows: Vec<Vec<String>> = report
        .regulation_2021_784
        .iter()
        .map(|f| {
            vec![
                esc(f.label),
                esc(f.legal_basis),
                f.value.as_deref().map_or("not recorded".into(), esc),
                esc(match f.source {
                    FigureSource::Takedown => "takedown",
                    FigureSource::Manual => "manual",
                    FigureSource::Missing => "not recorded",
                }),
                esc(f.note.as_deref().unwrap_or("")),
            ]
        })
        .collect();
    page.table(
        "Regulation (EU) 2021/784, Article 8(1) figures and where each comes from",
        &["figure", "legal basis", "value", "source", "note"],
        &rows,
        &[],
    );
    if let Some(notes) = &report.manual.notes {
        page.para(&format!("<strong>Notes:</strong> {}", esc(notes)));
    }
    page.raw("</main>\n");
    page.finish()
}

/// The JSON twin, pretty-printed.
pub fn transparency_json(report: &TransparencyReport) -> Result<String, ImpactError> {
    Ok(serde_json::to_string_pretty(report)?)
}

/// Writes `transparency-FROM-TO.html` and `.json` into `dir`; returns their paths.
pub fn write_transparency_files(
    report: &TransparencyReport,
    dir: &Path,
) -> Result<(PathBuf, PathBuf), ImpactError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| ImpactError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let base = format!(
        "transparency-{}-{}",
        report.from.format("%Y%m%d"),
        report.to.format("%Y%m%d")
    );
    let html = dir.join(format!("{base}.html"));
    let json = dir.join(format!("{base}.json"));
    std::fs::write(&html, render_transparency_html(report)).map_err(io(&html))?;
    std::fs::write(&json, transparency_json(report)?).map_err(io(&json))?;
    Ok((html, json))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};

    fn t(day: u32) -> Timestamp {
        Utc.with_ymd_and_hms(2018, 4, day, 0, 0, 0)
            .single()
            .expect("time")
    }

    #[test]
    fn without_referral_data_figures_come_from_manual_entry_or_are_missing() {
        let manual = parse_manual(r#"{"removal_orders_issued": 12, "penalty_types": "none"}"#)
            .expect("manual");
        let report = build_transparency(t(1), t(30), None, &manual, t(30));
        assert_eq!(report.referrals.urls_referred, None);
        assert!(report
            .referrals
            .removal
            .note
            .starts_with("No referral data"));
        let issued = &report.regulation_2021_784[0];
        assert_eq!(
            (issued.value.as_deref(), issued.source),
            (Some("12"), FigureSource::Manual)
        );
        let scrutinised = &report.regulation_2021_784[2];
        assert_eq!(scrutinised.source, FigureSource::Missing);
        let html = render_transparency_html(&report);
        assert!(html.contains("no referral data"));
        assert!(html.contains("Art. 8(1)(d), Art. 18"));
        assert!(parse_manual(r#"{"typo": 1}"#).is_err());
    }

    #[test]
    fn referral_data_fill_counts_and_disagreements_are_noted() {
        let urls: Vec<UrlRecord> = (0..6)
            .map(|i| {
                let checks = [(t(2) + Duration::hours(3 * i), i % 2 == 0)];
                UrlRecord::from_checks(t(2), &checks, ["a", "b", "c"][i as usize % 3], "amaq", "3")
            })
            .collect();
        let facts = ReferralFacts {
            measured_at: t(10),
            urls_assessed: 40,
            referrals_sent: 4,
            urls,
            removal_orders: vec![
                RemovalOrderFact {
                    issued_at: t(3),
                    provider: "a".into(),
                    cross_border: Some(true),
                    outcome: Some(OrderOutcome::Removed),
                },
                RemovalOrderFact {
                    issued_at: t(4),
                    provider: "b".into(),
                    cross_border: None,
                    outcome: Some(OrderOutcome::NotRemoved),
                },
            ],
        };
        let manual = ManualFigures {
            removal_orders_issued: Some(3),
            removal_orders_cross_border: Some(1),
            ..ManualFigures::default()
        };
        let report = build_transparency(t(1), t(30), Some(&facts), &manual, t(10));
        assert_eq!(report.referrals.providers, Some(3));
        assert_eq!(report.referrals.urls_referred, Some(6));
        let f = &report.regulation_2021_784;
        assert_eq!(
            (f[0].value.as_deref(), f[0].source),
            (Some("2"), FigureSource::Takedown)
        );
        assert!(f[0].note.as_deref().is_some_and(|n| n.contains("say 3")));
        // One order does not record whether it was cross-border: the manual value is used.
        assert_eq!(f[1].source, FigureSource::Manual);
        assert_eq!(f[3].value.as_deref(), Some("1"));
        assert_eq!(f[4].value.as_deref(), Some("1"));
        let snapshot = report
            .referrals
            .removal
            .snapshot
            .as_ref()
            .expect("snapshot");
        assert_eq!(snapshot.observed_removed, 3);
        let html = render_transparency_html(&report);
        assert!(
            html.contains("measured 2018-04-10 00:00 UTC"),
            "removal rate states when"
        );
    }
}
