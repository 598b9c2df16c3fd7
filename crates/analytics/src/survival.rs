//! Time to removal: Kaplan-Meier survival of referred URLs with right censoring (still up at
//! the last check), Greenwood variance, log-log ("exponential Greenwood") confidence bands,
//! quantiles with intervals, per-group curves, and the naive / bound pair for removals only
//! known to lie between two checks.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::special::norm_ppf;
use crate::AnalyticsError;

/// One referred URL, summarised from its re-checks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UrlRecord {
    /// When the referral was sent.
    pub referred_at: DateTime<Utc>,
    /// Last check that saw the content live before it was first seen removed (or the last
    /// check of all, if never seen removed). `None`: never seen live after referral.
    pub last_seen_live: Option<DateTime<Utc>>,
    /// First check that saw the content removed; `None`: still up (censored).
    pub first_seen_removed: Option<DateTime<Utc>>,
    /// Last check of any result; `None`: never checked.
    pub last_checked: Option<DateTime<Utc>>,
    /// Hosting provider.
    pub provider: String,
    /// Outlet whose content it carried.
    pub outlet: String,
    /// Referral tier (priority / inclusion tier).
    pub tier: String,
}

impl UrlRecord {
    /// Summarise raw checks `(time, live)` of one URL (any order). Checks before the referral
    /// are ignored. Removal is the first check that saw it gone; a later "live" (content back
    /// at the same URL) does not undo it here: reappearance is tracked elsewhere.
    pub fn from_checks(
        referred_at: DateTime<Utc>,
        checks: &[(DateTime<Utc>, bool)],
        provider: &str,
        outlet: &str,
        tier: &str,
    ) -> UrlRecord {
        let mut cs: Vec<(DateTime<Utc>, bool)> = checks
            .iter()
            .copied()
            .filter(|c| c.0 >= referred_at)
            .collect();
        cs.sort();
        let first_removed = cs.iter().find(|c| !c.1).map(|c| c.0);
        let last_live = cs
            .iter()
            .filter(|c| c.1 && first_removed.is_none_or(|r| c.0 < r))
            .map(|c| c.0)
            .next_back();
        UrlRecord {
            referred_at,
            last_seen_live: last_live,
            first_seen_removed: first_removed,
            last_checked: cs.last().map(|c| c.0),
            provider: provider.to_string(),
            outlet: outlet.to_string(),
            tier: tier.to_string(),
        }
    }
}

/// One row of a Kaplan-Meier table: a distinct observed time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KmStep {
    /// Time since referral, hours.
    pub time: f64,
    /// At risk just before `time` (censored at `time` count as at risk).
    pub at_risk: u64,
    /// Removals at `time`.
    pub events: u64,
    /// Censored at `time`.
    pub censored: u64,
    /// Survival (share still up) just after `time`.
    pub survival: f64,
    /// Greenwood variance of `survival`.
    pub variance: f64,
    /// Lower confidence limit.
    pub ci_low: f64,
    /// Upper confidence limit.
    pub ci_high: f64,
}

/// A quantile of time to removal: the time by which a share `q` of URLs was removed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quantile {
    /// Share removed (0.5 = median).
    pub q: f64,
    /// First time with survival <= 1 - q; `None` if never reached.
    pub time: Option<f64>,
    /// Lower limit: first time the band's lower curve reaches 1 - q.
    pub ci_low: Option<f64>,
    /// Upper limit: first time the band's upper curve reaches 1 - q; `None` = not reached
    /// (unbounded).
    pub ci_high: Option<f64>,
}

/// Kaplan-Meier curve with summaries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KmCurve {
    /// Observations.
    pub n: u64,
    /// Removals observed.
    pub events: u64,
    /// Censored (still up at the last check).
    pub censored: u64,
    /// Confidence level.
    pub confidence: f64,
    /// How the band is computed.
    pub ci_method: String,
    /// Rows at every distinct time (events or censoring), ascending.
    pub steps: Vec<KmStep>,
    /// Quantiles 25/50/75/90% (median = `quantiles[1]`).
    pub quantiles: Vec<Quantile>,
}

impl KmCurve {
    /// Survival at time `t` (hours): the share of URLs estimated still up.
    pub fn survival_at(&self, t: f64) -> f64 {
        self.steps
            .iter()
            .take_while(|s| s.time <= t)
            .last()
            .map_or(1.0, |s| s.survival)
    }

    /// The median (quantile 0.5).
    pub fn median(&self) -> Option<&Quantile> {
        self.quantiles.iter().find(|q| q.q == 0.5)
    }
}

/// The quantiles every curve reports.
pub const QUANTILES: [f64; 4] = [0.25, 0.5, 0.75, 0.9];

/// Kaplan-Meier estimate from durations (hours, >= 0) and event flags (`true` = removal seen,
/// `false` = censored). Greenwood variance `S^2 sum d/(n(n-d))`; the band is the log-log
/// ("exponential Greenwood") interval `S^exp(+-z sqrt(V)/(S ln S))`, which stays in [0, 1] and
/// is lifelines' default. At a time where every URL at risk is removed the Greenwood term is
/// infinite and the survival 0: the term is taken as 0 there (as lifelines does), band (0, 0).
/// Quantile intervals invert the band (Brookmeyer-Crowley style, as lifelines'
/// `median_survival_times(confidence_interval_)`). Errors when empty or all censored.
pub fn kaplan_meier(
    durations: &[f64],
    observed: &[bool],
    confidence: f64,
) -> Result<KmCurve, AnalyticsError> {
    if durations.len() != observed.len() {
        return Err(AnalyticsError::InvalidInput(
            "durations and event flags differ in length".into(),
        ));
    }
    if durations.is_empty() {
        return Err(AnalyticsError::EmptyWindow(
            "no observations for Kaplan-Meier".into(),
        ));
    }
    if durations.iter().any(|d| !(d.is_finite() && *d >= 0.0)) {
        return Err(AnalyticsError::InvalidInput(
            "durations must be finite and non-negative".into(),
        ));
    }
    let events_total = observed.iter().filter(|&&o| o).count() as u64;
    if events_total == 0 {
        return Err(AnalyticsError::AllCensored);
    }
    let mut idx: Vec<usize> = (0..durations.len()).collect();
    idx.sort_by(|&a, &b| durations[a].total_cmp(&durations[b]));
    let z = norm_ppf(1.0 - (1.0 - confidence) / 2.0);
    let mut at_risk = durations.len() as u64;
    let mut s = 1.0;
    let mut gw = 0.0;
    let mut steps = Vec::new();
    let mut i = 0;
    while i < idx.len() {
        let t = durations[idx[i]];
        let (mut d, mut c) = (0_u64, 0_u64);
        while i < idx.len() && durations[idx[i]] == t {
            if observed[idx[i]] {
                d += 1;
            } else {
                c += 1;
            }
            i += 1;
        }
        if d > 0 {
            s *= 1.0 - d as f64 / at_risk as f64;
            if d < at_risk {
                gw += d as f64 / (at_risk as f64 * (at_risk - d) as f64);
            }
        }
        let (lo, hi) = loglog_band(s, gw, z);
        steps.push(KmStep {
            time: t,
            at_risk,
            events: d,
            censored: c,
            survival: s,
            variance: s * s * gw,
            ci_low: lo,
            ci_high: hi,
        });
        at_risk -= d + c;
    }
    let quantiles = QUANTILES.iter().map(|&q| quantile(&steps, q)).collect();
    Ok(KmCurve {
        n: durations.len() as u64,
        events: events_total,
        censored: durations.len() as u64 - events_total,
        confidence,
        ci_method: "log-log (exponential Greenwood) pointwise band".into(),
        steps,
        quantiles,
    })
}

fn loglog_band(s: f64, gw: f64, z: f64) -> (f64, f64) {
    if s >= 1.0 {
        return (1.0, 1.0);
    }
    if s <= 0.0 {
        return (0.0, 0.0);
    }
    let v = s.ln();
    let c = (-v).ln();
    let h = z * gw.sqrt() / v; // negative
    let a = (-(c - h).exp()).exp();
    let b = (-(c + h).exp()).exp();
    (a.min(b), a.max(b))
}

fn first_at_or_below(steps: &[KmStep], level: f64, f: impl Fn(&KmStep) -> f64) -> Option<f64> {
    // A tiny tolerance so that S = 0.5 exactly (e.g. 2 of 4 removed) counts as reached
    // despite rounding in the product.
    steps.iter().find(|s| f(s) <= level + 1e-12).map(|s| s.time)
}

fn quantile(steps: &[KmStep], q: f64) -> Quantile {
    let level = 1.0 - q;
    Quantile {
        q,
        time: first_at_or_below(steps, level, |s| s.survival),
        // The lower band falls first, so it gives the earlier limit.
        ci_low: first_at_or_below(steps, level, |s| s.ci_low),
        ci_high: first_at_or_below(steps, level, |s| s.ci_high),
    }
}

/// Which of a URL's times to count as the removal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RemovalTime {
    /// First check that saw it removed (naive: removal no earlier than it could be seen; an
    /// upper bound on the true time).
    FirstSeenRemoved,
    /// Last check that saw it live (a lower bound; 0 if it was never seen live after referral).
    LastSeenLive,
}

/// Grouping for [`time_to_removal_by`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// Hosting provider.
    Provider,
    /// Outlet.
    Outlet,
    /// Tier.
    Tier,
}

/// Durations (hours) and event flags of URL records. URLs never checked carry no information
/// and are skipped; the number skipped is returned.
pub fn durations(records: &[&UrlRecord], which: RemovalTime) -> (Vec<f64>, Vec<bool>, u64) {
    let mut d = Vec::with_capacity(records.len());
    let mut o = Vec::with_capacity(records.len());
    let mut skipped = 0;
    let hours = |a: DateTime<Utc>, b: DateTime<Utc>| {
        ((b - a).num_milliseconds() as f64 / 3_600_000.0).max(0.0)
    };
    for r in records {
        match (r.first_seen_removed, r.last_checked) {
            (Some(gone), _) => {
                let t = match which {
                    RemovalTime::FirstSeenRemoved => gone,
                    RemovalTime::LastSeenLive => r
                        .last_seen_live
                        .filter(|l| *l < gone)
                        .unwrap_or(r.referred_at),
                };
                d.push(hours(r.referred_at, t));
                o.push(true);
            }
            (None, Some(last)) => {
                d.push(hours(r.referred_at, last));
                o.push(false);
            }
            (None, None) => skipped += 1,
        }
    }
    (d, o, skipped)
}

/// Both curves for a set of URLs: the naive one (first seen removed) and the bound (last seen
/// live). The true curve of removal times lies between them when checks are the only
/// information: the bound falls first, the naive curve last.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeToRemoval {
    /// Group label (`"all"` for the whole set).
    pub group: String,
    /// URLs in the group.
    pub urls: u64,
    /// URLs never checked (left out).
    pub unchecked: u64,
    /// Kaplan-Meier on first-seen-removed times.
    pub naive: Option<KmCurve>,
    /// Kaplan-Meier on last-seen-live times.
    pub bound: Option<KmCurve>,
    /// Why a curve is missing (e.g. every URL still up).
    pub note: Option<String>,
}

fn time_to_removal_of(group: String, recs: &[&UrlRecord], confidence: f64) -> TimeToRemoval {
    let (dn, on, unchecked) = durations(recs, RemovalTime::FirstSeenRemoved);
    let (db, ob, _) = durations(recs, RemovalTime::LastSeenLive);
    let naive = kaplan_meier(&dn, &on, confidence);
    let bound = kaplan_meier(&db, &ob, confidence);
    let note = naive.as_ref().err().map(|e| e.to_string());
    TimeToRemoval {
        group,
        urls: recs.len() as u64,
        unchecked,
        naive: naive.ok(),
        bound: bound.ok(),
        note,
    }
}

/// Time to removal over all records.
pub fn time_to_removal(records: &[UrlRecord], confidence: f64) -> TimeToRemoval {
    let refs: Vec<&UrlRecord> = records.iter().collect();
    time_to_removal_of("all".into(), &refs, confidence)
}

/// Time to removal per provider, outlet or tier, ordered by group name.
pub fn time_to_removal_by(
    records: &[UrlRecord],
    by: GroupBy,
    confidence: f64,
) -> Vec<TimeToRemoval> {
    let mut groups: BTreeMap<&str, Vec<&UrlRecord>> = BTreeMap::new();
    for r in records {
        let key = match by {
            GroupBy::Provider => &r.provider,
            GroupBy::Outlet => &r.outlet,
            GroupBy::Tier => &r.tier,
        };
        groups.entry(key.as_str()).or_default().push(r);
    }
    groups
        .into_iter()
        .map(|(k, v)| time_to_removal_of(k.to_string(), &v, confidence))
        .collect()
}

/// "At time T, X of N referred URLs were observed removed": a removal rate is meaningless
/// without the time it was measured, so this is the only way the crate states one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RemovalSnapshot {
    /// When measured.
    pub measured_at: DateTime<Utc>,
    /// URLs referred before `measured_at`.
    pub referred: u64,
    /// Of those, seen removed at or before `measured_at`.
    pub observed_removed: u64,
    /// Of those, never checked by `measured_at`.
    pub unchecked: u64,
    /// `observed_removed / referred` (0 when nothing was referred).
    pub share: f64,
    /// The sentence to print.
    pub statement: String,
}

/// Removal status as observed at `at`.
pub fn removal_snapshot(records: &[UrlRecord], at: DateTime<Utc>) -> RemovalSnapshot {
    let referred: Vec<&UrlRecord> = records.iter().filter(|r| r.referred_at <= at).collect();
    let removed = referred
        .iter()
        .filter(|r| r.first_seen_removed.is_some_and(|g| g <= at))
        .count() as u64;
    let unchecked = referred
        .iter()
        .filter(|r| {
            let first_check = [r.last_seen_live, r.first_seen_removed]
                .into_iter()
                .flatten()
                .min();
            first_check.is_none_or(|c| c > at)
        })
        .count() as u64;
    let n = referred.len() as u64;
    let share = if n == 0 {
        0.0
    } else {
        removed as f64 / n as f64
    };
    RemovalSnapshot {
        measured_at: at,
        referred: n,
        observed_removed: removed,
        unchecked,
        share,
        statement: format!(
            "At {}, {removed} of {n} referred URLs ({:.1}%) were observed removed.",
            at.format("%Y-%m-%d %H:%M UTC"),
            100.0 * share
        ),
    }
}
