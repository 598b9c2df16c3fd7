//! Time to removal: Kaplan-Meier curves of referred URLs per provider, outlet and tier, and the
//! removal rate with the time it was measured.
//!
//! The inputs are [`UrlRecord`]s (referral time, last check that saw the URL live, first that
//! saw it gone, last check), summarised from the referral workflow's URL checks with
//! [`UrlRecord::from_checks`]. When there are none the section says so, in words: a report
//! that printed "0% removed" for "we have no referral data" would be wrong twice.

use serde::Serialize;
use takedown_analytics::survival::TimeToRemoval;
use takedown_analytics::{
    removal_snapshot, time_to_removal, time_to_removal_by, GroupBy, RemovalSnapshot, UrlRecord,
};
use takedown_model::Timestamp;
use takedown_store::Store;

use crate::html::{esc, num, Page};
use crate::ImpactError;

/// Referred URLs and when their state was last measured.
#[derive(Debug, Clone, PartialEq)]
pub struct RemovalInputs {
    /// When the checks were read: the removal rate is "as of" this time.
    pub measured_at: Timestamp,
    /// One record per referred URL.
    pub urls: Vec<UrlRecord>,
}

/// Which referred URLs a report is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovalScope {
    /// Only URLs carrying these outlets' content (empty: all).
    pub outlets: Vec<String>,
    /// Referred at or after.
    pub from: Timestamp,
    /// Referred before.
    pub until: Timestamp,
}

/// Whether the section has data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RemovalStatus {
    /// takedown holds no referral checks (the referral workflow is not in use, or its data is
    /// not connected to reports yet).
    NoReferralData,
    /// There are referral data, but no referred URL falls in the report's scope.
    NoReferralsInScope,
    /// Measured.
    Measured,
}

/// The time-to-removal section of a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RemovalSection {
    /// Whether there is anything to show.
    pub status: RemovalStatus,
    /// One sentence saying what was measured, or why nothing was.
    pub note: String,
    /// When the checks were read.
    pub measured_at: Option<Timestamp>,
    /// "At T, X of N referred URLs were observed removed."
    pub snapshot: Option<RemovalSnapshot>,
    /// All URLs.
    pub overall: Option<TimeToRemoval>,
    /// Per hosting provider.
    pub by_provider: Vec<TimeToRemoval>,
    /// Per outlet.
    pub by_outlet: Vec<TimeToRemoval>,
    /// Per tier.
    pub by_tier: Vec<TimeToRemoval>,
}

/// Confidence level of the curves' bands.
const CONFIDENCE: f64 = 0.95;

/// The section for `inputs` (`None`: no referral data at all).
pub fn removal_section(inputs: Option<&RemovalInputs>) -> RemovalSection {
    let empty = |status, note: &str| RemovalSection {
        status,
        note: note.to_string(),
        measured_at: inputs.map(|i| i.measured_at),
        snapshot: None,
        overall: None,
        by_provider: Vec::new(),
        by_outlet: Vec::new(),
        by_tier: Vec::new(),
    };
    let Some(inputs) = inputs else {
        return empty(
            RemovalStatus::NoReferralData,
            "No referral data: takedown holds no URL checks for this period, so time to \
             removal and removal rates cannot be measured.",
        );
    };
    if inputs.urls.is_empty() {
        return empty(
            RemovalStatus::NoReferralsInScope,
            "No URL in scope was referred, so time to removal cannot be measured.",
        );
    }
    let snapshot = removal_snapshot(&inputs.urls, inputs.measured_at);
    RemovalSection {
        status: RemovalStatus::Measured,
        note: snapshot.statement.clone(),
        measured_at: Some(inputs.measured_at),
        overall: Some(time_to_removal(&inputs.urls, CONFIDENCE)),
        by_provider: time_to_removal_by(&inputs.urls, GroupBy::Provider, CONFIDENCE),
        by_outlet: time_to_removal_by(&inputs.urls, GroupBy::Outlet, CONFIDENCE),
        by_tier: time_to_removal_by(&inputs.urls, GroupBy::Tier, CONFIDENCE),
        snapshot: Some(snapshot),
    }
}

/// Referred URLs in scope, summarised from the referral workflow's checks
/// ([`crate::referral_data::removal_inputs`]), or `None` when takedown has no referral data
/// to read.
pub async fn load_removal_inputs(
    store: &dyn Store,
    scope: &RemovalScope,
    measured_at: Timestamp,
) -> Result<Option<RemovalInputs>, ImpactError> {
    crate::referral_data::removal_inputs(store, scope, measured_at).await
}

fn hours(x: Option<f64>) -> String {
    x.map_or("not reached".into(), |h| format!("{} h", num(h, 1)))
}

/// Quantile rows (25/50/75/90% removed) of a group's naive curve, with the bound next to it.
fn quantile_rows(groups: &[&TimeToRemoval]) -> Vec<Vec<String>> {
    groups
        .iter()
        .map(|g| {
            let q = |which: f64, curve: &Option<takedown_analytics::KmCurve>| {
                curve
                    .as_ref()
                    .and_then(|c| c.quantiles.iter().find(|q| (q.q - which).abs() < 1e-9))
                    .map(|q| {
                        let ci = match (q.ci_low, q.ci_high) {
                            (Some(l), Some(h)) => format!(" ({} to {})", num(l, 1), num(h, 1)),
                            (Some(l), None) => format!(" ({} to not reached)", num(l, 1)),
                            _ => String::new(),
                        };
                        format!("{}{}", hours(q.time), ci)
                    })
                    .unwrap_or_else(|| "n/a".into())
            };
            let removed = g.naive.as_ref().map_or(0, |c| c.events);
            vec![
                esc(&g.group),
                g.urls.to_string(),
                removed.to_string(),
                q(0.25, &g.naive),
                q(0.5, &g.naive),
                q(0.5, &g.bound),
                q(0.75, &g.naive),
                q(0.9, &g.naive),
            ]
        })
        .collect()
}

/// Writes the section into a report page (`level`: heading level of the section).
pub(crate) fn render(page: &mut Page, section: &RemovalSection, id: &str) {
    page.heading(2, id, "Time to removal");
    if section.status != RemovalStatus::Measured {
        page.para(&format!("<strong>{}</strong>", esc(&section.note)));
        return;
    }
    page.para(&format!(
        "<span class=\"headline\">{}</span>",
        esc(&section.note)
    ));
    page.text(
        "Removal is only known to lie between the last check that saw a URL live and the \
         first that saw it gone. The naive curve counts the first check that saw it gone (later \
         than the truth); the bound counts the last check that saw it live (earlier). URLs still \
         up are censored at their last check.",
    );
    if let Some(overall) = &section.overall {
        let mut curves: Vec<(&str, &takedown_analytics::KmCurve)> = Vec::new();
        if let Some(c) = &overall.naive {
            curves.push(("first seen removed (naive)", c));
        }
        if let Some(c) = &overall.bound {
            curves.push(("last seen live (bound)", c));
        }
        if !curves.is_empty() {
            let max = curves
                .iter()
                .flat_map(|(_, c)| c.steps.iter().map(|s| s.time))
                .fold(24.0_f64, f64::max);
            let svg =
                takedown_analytics::svg::km_chart("Share of referred URLs still up", &curves, max);
            page.figure(
                &svg,
                "Kaplan-Meier estimate of the share of referred URLs still up by hours since \
                 referral, with 95% pointwise bands.",
            );
        }
    }
    let header = [
        "group",
        "URLs",
        "seen removed",
        "25% removed by",
        "median (naive)",
        "median (bound)",
        "75% removed by",
        "90% removed by",
    ];
    let overall: Vec<&TimeToRemoval> = section.overall.iter().collect();
    page.table(
        "Time to removal, all referred URLs (hours; 95% interval in brackets)",
        &header,
        &quantile_rows(&overall),
        &[1, 2],
    );
    for (title, groups) in [
        ("by hosting provider", &section.by_provider),
        ("by outlet", &section.by_outlet),
        ("by tier", &section.by_tier),
    ] {
        let refs: Vec<&TimeToRemoval> = groups.iter().collect();
        page.table(
            &format!("Time to removal {title} (hours; 95% interval in brackets)"),
            &header,
            &quantile_rows(&refs),
            &[1, 2],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone, Utc};

    #[test]
    fn no_data_says_so_and_data_states_when_measured() {
        let none = removal_section(None);
        assert_eq!(none.status, RemovalStatus::NoReferralData);
        assert!(none.note.starts_with("No referral data"));
        let t0 = Utc
            .with_ymd_and_hms(2018, 4, 27, 0, 0, 0)
            .single()
            .expect("time");
        let urls: Vec<UrlRecord> = (0..10)
            .map(|i| {
                let checks = [
                    (t0 + Duration::hours(1), true),
                    (t0 + Duration::hours(2 + i), i % 3 != 0),
                ];
                UrlRecord::from_checks(
                    t0,
                    &checks,
                    if i % 2 == 0 { "host-a" } else { "host-b" },
                    "amaq",
                    "3",
                )
            })
            .collect();
        let measured = t0 + Duration::days(3);
        let section = removal_section(Some(&RemovalInputs {
            measured_at: measured,
            urls,
        }));
        assert_eq!(section.status, RemovalStatus::Measured);
        assert!(
            section.note.contains("2018-04-30 00:00 UTC"),
            "{}",
            section.note
        );
        assert_eq!(section.by_provider.len(), 2);
        let mut page = Page::new("t");
        render(&mut page, &section, "removal");
        let html = page.finish();
        assert!(html.contains("by hosting provider"));
        assert!(html.contains("host-a"));
    }
}
