//! Channel shift: how an outlet's output is spread over its channels before and after, and
//! which items arrived through channels not used before.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::data::{DayRange, Medium, Release};
use crate::special::chi2_sf;
use crate::AnalyticsError;

/// What "a channel never used before" means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NewChannelScope {
    /// Not used by the outlet in the before window.
    BeforeWindow,
    /// Not used by the outlet at any time before the after window (whole log, operation days
    /// included).
    EverBefore,
}

/// One channel's counts and shares.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelShare {
    /// Channel.
    pub channel: String,
    /// Items before.
    pub before: u64,
    /// Share of the before window's items.
    pub before_share: f64,
    /// Items after.
    pub after: u64,
    /// Share of the after window's items.
    pub after_share: f64,
}

/// An item that came through a channel not used before (per the scope).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewChannelItem {
    /// Release time.
    pub time: DateTime<Utc>,
    /// Channel.
    pub channel: String,
    /// Medium.
    pub medium: Medium,
    /// Language.
    pub language: String,
    /// Title.
    pub title: String,
    /// Whether this is the channel's first item in the after window (later items through the
    /// same new channel are listed too, with `false`).
    pub first_on_channel: bool,
}

/// Pearson chi-squared test of homogeneity (period x channel), without continuity correction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChiSquareTest {
    /// Statistic.
    pub statistic: f64,
    /// Degrees of freedom.
    pub df: usize,
    /// Upper-tail p-value.
    pub p_value: f64,
    /// Smallest expected cell count: below 5 the chi-squared approximation is doubtful.
    pub min_expected: f64,
}

/// Channel shift of one outlet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelShift {
    /// Outlet.
    pub outlet: String,
    /// Items before.
    pub before_total: u64,
    /// Items after.
    pub after_total: u64,
    /// Per channel, sorted by name.
    pub channels: Vec<ChannelShare>,
    /// Homogeneity test, when both windows have items and there are at least two channels.
    pub test: Option<ChiSquareTest>,
    /// Scope used for "new".
    pub scope: NewChannelScope,
    /// Items in the after window through new channels, in time order.
    pub new_channel_items: Vec<NewChannelItem>,
}

/// Pearson chi-squared test of homogeneity for a `2 x c` table of counts.
pub fn chi_square_homogeneity(before: &[u64], after: &[u64]) -> Option<ChiSquareTest> {
    let cols: Vec<(f64, f64)> = before
        .iter()
        .zip(after)
        .filter(|(b, a)| **b + **a > 0)
        .map(|(&b, &a)| (b as f64, a as f64))
        .collect();
    let nb: f64 = cols.iter().map(|c| c.0).sum();
    let na: f64 = cols.iter().map(|c| c.1).sum();
    if cols.len() < 2 || nb == 0.0 || na == 0.0 {
        return None;
    }
    let n = nb + na;
    let mut stat = 0.0;
    let mut min_expected = f64::INFINITY;
    for &(b, a) in &cols {
        let col = a + b;
        for (obs, row) in [(b, nb), (a, na)] {
            let e = row * col / n;
            min_expected = min_expected.min(e);
            stat += (obs - e) * (obs - e) / e;
        }
    }
    let df = cols.len() - 1;
    Some(ChiSquareTest {
        statistic: stat,
        df,
        p_value: chi2_sf(stat, df as f64),
        min_expected,
    })
}

/// Channel shares of `outlet` in the two windows and the items through new channels.
pub fn channel_shift(
    releases: &[Release],
    outlet: &str,
    before: DayRange,
    after: DayRange,
    scope: NewChannelScope,
) -> Result<ChannelShift, AnalyticsError> {
    if before.days == 0 || after.days == 0 {
        return Err(AnalyticsError::EmptyWindow(
            "channel shift needs non-empty windows".into(),
        ));
    }
    // Window bounds computed once: `DayRange::contains` rebuilds them per call.
    let (b0, b1, a0, a1) = (before.start(), before.end(), after.start(), after.end());
    let in_before = |t: DateTime<Utc>| t >= b0 && t < b1;
    let in_after = |t: DateTime<Utc>| t >= a0 && t < a1;
    let mut counts: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let mut mine: Vec<&Release> = releases.iter().filter(|r| r.outlet == outlet).collect();
    // Stable order for items at the same instant: time, then channel, then title.
    mine.sort_by(|a, b| {
        a.time
            .cmp(&b.time)
            .then_with(|| a.channel.cmp(&b.channel))
            .then_with(|| a.title.cmp(&b.title))
    });
    let mut known: BTreeSet<&str> = BTreeSet::new();
    let before_channels: BTreeSet<&str> = mine
        .iter()
        .filter(|r| in_before(r.time))
        .map(|r| r.channel.as_str())
        .collect();
    let mut new_seen: BTreeSet<&str> = BTreeSet::new();
    let mut items = Vec::new();
    for r in &mine {
        if in_before(r.time) {
            counts.entry(&r.channel).or_default().0 += 1;
        }
        if in_after(r.time) {
            counts.entry(&r.channel).or_default().1 += 1;
            let is_new = match scope {
                NewChannelScope::BeforeWindow => !before_channels.contains(r.channel.as_str()),
                NewChannelScope::EverBefore => !known.contains(r.channel.as_str()),
            };
            if is_new {
                let first = new_seen.insert(&r.channel);
                items.push(NewChannelItem {
                    time: r.time,
                    channel: r.channel.clone(),
                    medium: r.medium,
                    language: r.language.clone(),
                    title: r.title.clone(),
                    first_on_channel: first,
                });
            }
        }
        // "Known" for EverBefore: used at any time before the after window.
        if r.time < a0 {
            known.insert(&r.channel);
        }
    }
    let before_total: u64 = counts.values().map(|c| c.0).sum();
    let after_total: u64 = counts.values().map(|c| c.1).sum();
    let share = |c: u64, t: u64| if t == 0 { 0.0 } else { c as f64 / t as f64 };
    let channels: Vec<ChannelShare> = counts
        .iter()
        .map(|(ch, &(b, a))| ChannelShare {
            channel: ch.to_string(),
            before: b,
            before_share: share(b, before_total),
            after: a,
            after_share: share(a, after_total),
        })
        .collect();
    let bv: Vec<u64> = channels.iter().map(|c| c.before).collect();
    let av: Vec<u64> = channels.iter().map(|c| c.after).collect();
    Ok(ChannelShift {
        outlet: outlet.to_string(),
        before_total,
        after_total,
        test: chi_square_homogeneity(&bv, &av),
        channels,
        scope,
        new_channel_items: items,
    })
}
