//! Output series: timestamped events bucketed per UTC day or hour over a window, with every
//! bucket present (zero-filled), overall and broken down by medium and by channel.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, DurationRound, Utc};
use serde::Serialize;

use crate::data::{DayRange, Medium, Release};
use crate::AnalyticsError;

/// Bucket width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Resolution {
    /// One UTC calendar day.
    Day,
    /// One hour.
    Hour,
}

impl Resolution {
    /// Bucket width as a duration.
    pub fn duration(self) -> Duration {
        match self {
            Resolution::Day => Duration::days(1),
            Resolution::Hour => Duration::hours(1),
        }
    }

    fn seconds(self) -> i64 {
        match self {
            Resolution::Day => 86_400,
            Resolution::Hour => 3_600,
        }
    }
}

/// Zero-filled counts per bucket. Bucket `i` covers `[start + i*w, start + (i+1)*w)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    /// Start of the first bucket (aligned to the resolution, UTC).
    pub start: DateTime<Utc>,
    /// Bucket width.
    pub resolution: Resolution,
    /// Count per bucket.
    pub counts: Vec<u64>,
}

impl Series {
    /// Start of bucket `i`.
    pub fn bucket_start(&self, i: usize) -> DateTime<Utc> {
        self.start + self.resolution.duration() * i32::try_from(i).unwrap_or(i32::MAX)
    }

    /// Total count.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Counts as floating point (regressions take `f64`).
    pub fn as_f64(&self) -> Vec<f64> {
        self.counts.iter().map(|&c| c as f64).collect()
    }
}

/// A zero-filled series of `buckets` buckets from `start` (floored to the resolution).
/// Events outside the window are ignored.
pub fn bucket_events<I>(
    times: I,
    start: DateTime<Utc>,
    resolution: Resolution,
    buckets: usize,
) -> Series
where
    I: IntoIterator<Item = DateTime<Utc>>,
{
    let start = start.duration_trunc(resolution.duration()).unwrap_or(start);
    let mut counts = vec![0_u64; buckets];
    let s0 = start.timestamp();
    let w = resolution.seconds();
    for t in times {
        let d = t.timestamp() - s0;
        if d < 0 {
            continue;
        }
        if let Some(c) = usize::try_from(d / w).ok().and_then(|i| counts.get_mut(i)) {
            *c += 1;
        }
    }
    Series {
        start,
        resolution,
        counts,
    }
}

/// An outlet's output over a window: total and by medium and channel. Every medium appears
/// (zero series included); channels appear if used in the window. Maps are ordered by key so
/// serialised output is deterministic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutputSeries {
    /// Outlet.
    pub outlet: String,
    /// All releases.
    pub total: Series,
    /// Per medium.
    pub by_medium: BTreeMap<Medium, Vec<u64>>,
    /// Per channel.
    pub by_channel: BTreeMap<String, Vec<u64>>,
}

/// Bucket an outlet's releases over `[start, start + buckets * width)`.
pub fn output_series(
    releases: &[Release],
    outlet: &str,
    start: DateTime<Utc>,
    resolution: Resolution,
    buckets: usize,
) -> Result<OutputSeries, AnalyticsError> {
    if buckets == 0 {
        return Err(AnalyticsError::EmptyWindow(
            "output series over zero buckets".into(),
        ));
    }
    let start = start.duration_trunc(resolution.duration()).unwrap_or(start);
    let s0 = start.timestamp();
    let w = resolution.seconds();
    let mut total = vec![0_u64; buckets];
    let mut by_medium: BTreeMap<Medium, Vec<u64>> =
        Medium::ALL.iter().map(|&m| (m, vec![0; buckets])).collect();
    let mut by_channel: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for r in releases.iter().filter(|r| r.outlet == outlet) {
        let d = r.time.timestamp() - s0;
        if d < 0 {
            continue;
        }
        let Ok(i) = usize::try_from(d / w) else {
            continue;
        };
        if i >= buckets {
            continue;
        }
        total[i] += 1;
        if let Some(v) = by_medium.get_mut(&r.medium) {
            v[i] += 1;
        }
        if let Some(v) = by_channel.get_mut(&r.channel) {
            v[i] += 1;
        } else {
            let mut v = vec![0; buckets];
            v[i] = 1;
            by_channel.insert(r.channel.clone(), v);
        }
    }
    Ok(OutputSeries {
        outlet: outlet.to_string(),
        total: Series {
            start,
            resolution,
            counts: total,
        },
        by_medium,
        by_channel,
    })
}

/// Daily output over a range of days.
pub fn daily_output(
    releases: &[Release],
    outlet: &str,
    days: DayRange,
) -> Result<OutputSeries, AnalyticsError> {
    output_series(
        releases,
        outlet,
        days.start(),
        Resolution::Day,
        days.days as usize,
    )
}

/// Hourly output over a range of days.
pub fn hourly_output(
    releases: &[Release],
    outlet: &str,
    days: DayRange,
) -> Result<OutputSeries, AnalyticsError> {
    output_series(
        releases,
        outlet,
        days.start(),
        Resolution::Hour,
        days.days as usize * 24,
    )
}
