//! The "button": every analysis for every targeted outlet of one operation.

use serde::Serialize;

use crate::before_after::{
    compare_periods, compare_periods_controlled, PeriodComparison, RateRatio, RateRatioConfig,
};
use crate::changepoint::{pelt, PeltConfig, Segmentation};
use crate::channels::{channel_shift, ChannelShift, NewChannelScope};
use crate::data::{Operation, Release, WindowConfig, Windows};
use crate::its::{segmented_regression, segmented_regression_controlled, ItsConfig, ItsFit};
use crate::series::{daily_output, OutputSeries};
use crate::AnalyticsError;

/// Options for [`analyze_operation`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ImpactConfig {
    /// Windows.
    pub windows: WindowConfig,
    /// Before/after model choice.
    pub rate_ratio: RateRatioConfig,
    /// Interrupted time series.
    pub its: ItsConfig,
    /// Changepoints.
    pub pelt: PeltConfig,
    /// What counts as a new channel.
    pub new_channel_scope: NewChannelScope,
}

impl Default for ImpactConfig {
    fn default() -> Self {
        ImpactConfig {
            windows: WindowConfig::default(),
            rate_ratio: RateRatioConfig::default(),
            its: ItsConfig::default(),
            pelt: PeltConfig::default(),
            new_channel_scope: NewChannelScope::BeforeWindow,
        }
    }
}

/// A detected change, dated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatedChange {
    /// First day of the new segment.
    pub date: chrono::NaiveDate,
    /// Days from the operation's first day (negative = before).
    pub days_from_operation: i64,
    /// Mean per day of the segment before.
    pub mean_before: f64,
    /// Mean per day of the segment after.
    pub mean_after: f64,
}

/// Everything measured for one outlet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutletImpact {
    /// Outlet.
    pub outlet: String,
    /// Daily output over the whole span (before, operation, after days).
    pub daily: OutputSeries,
    /// Before/after comparison.
    pub before_after: Option<PeriodComparison>,
    /// Ratio of rate ratios against the controls' summed output.
    pub before_after_vs_controls: Option<RateRatio>,
    /// Segmented regression of the outlet's daily counts.
    pub its: Option<ItsFit>,
    /// Segmented regression of the outlet minus the controls' mean.
    pub its_vs_controls: Option<ItsFit>,
    /// PELT on the daily series of the whole span.
    pub segmentation: Option<Segmentation>,
    /// Changepoints with dates.
    pub changes: Vec<DatedChange>,
    /// Channel shift.
    pub channel_shift: Option<ChannelShift>,
    /// Why an analysis is missing.
    pub notes: Vec<String>,
}

/// Impact of an operation on each targeted outlet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperationImpact {
    /// Operation name.
    pub operation: String,
    /// Windows used.
    pub windows: Windows,
    /// Control outlets used.
    pub controls: Vec<String>,
    /// Per targeted outlet, in the operation's order.
    pub outlets: Vec<OutletImpact>,
}

/// Run every analysis for every outlet the operation targeted, with `controls` (outlets not
/// targeted) as comparison where given. Failures of single analyses (e.g. no output at all)
/// are recorded in `notes`, not fatal.
pub fn analyze_operation(
    releases: &[Release],
    op: &Operation,
    controls: &[String],
    cfg: &ImpactConfig,
) -> Result<OperationImpact, AnalyticsError> {
    let w = op.windows(&cfg.windows)?;
    let span = w.span();
    let offset = |d: chrono::NaiveDate| (d - span.first).num_days();
    let before_idx = 0..w.before.days as usize;
    let after_start = offset(w.after.first) as usize;
    let after_idx = after_start..after_start + w.after.days as usize;
    let t0 = after_start as f64;
    // ITS rows: before and after days, operation days only when they are part of "after".
    let rows: Vec<usize> = before_idx.clone().chain(after_idx.clone()).collect();
    let t: Vec<f64> = rows.iter().map(|&i| i as f64).collect();
    let control_series: Vec<Vec<u64>> = controls
        .iter()
        .map(|c| daily_output(releases, c, span).map(|s| s.total.counts))
        .collect::<Result<_, _>>()?;
    let control_sum: Vec<u64> = (0..span.days as usize)
        .map(|i| control_series.iter().map(|c| c[i]).sum())
        .collect();
    let mut outlets = Vec::new();
    for outlet in &op.targets {
        let daily = daily_output(releases, outlet, span)?;
        let y = &daily.total.counts;
        let mut notes = Vec::new();
        let before_after = compare_periods(
            &y[before_idx.clone()],
            &y[after_idx.clone()],
            &cfg.rate_ratio,
        )
        .map_err(|e| notes.push(format!("before/after: {e}")))
        .ok();
        let before_after_vs_controls = if controls.is_empty() {
            None
        } else {
            compare_periods_controlled(
                &y[before_idx.clone()],
                &y[after_idx.clone()],
                &control_sum[before_idx.clone()],
                &control_sum[after_idx.clone()],
                &cfg.rate_ratio,
            )
            .map(|r| r.0)
            .map_err(|e| notes.push(format!("before/after against controls: {e}")))
            .ok()
        };
        let yr: Vec<f64> = rows.iter().map(|&i| y[i] as f64).collect();
        let its = segmented_regression(&yr, &t, t0, &cfg.its)
            .map_err(|e| notes.push(format!("ITS: {e}")))
            .ok();
        let its_vs_controls = if controls.is_empty() {
            None
        } else {
            let cs: Vec<Vec<f64>> = control_series
                .iter()
                .map(|c| rows.iter().map(|&i| c[i] as f64).collect())
                .collect();
            segmented_regression_controlled(&yr, &cs, &t, t0, &cfg.its)
                .map_err(|e| notes.push(format!("ITS against controls: {e}")))
                .ok()
        };
        let segmentation = pelt(&daily.total.as_f64(), &cfg.pelt)
            .map_err(|e| notes.push(format!("changepoints: {e}")))
            .ok();
        let changes = segmentation
            .as_ref()
            .map(|s| {
                s.segments
                    .windows(2)
                    .map(|p| {
                        let date = span.first + chrono::Duration::days(p[1].start as i64);
                        DatedChange {
                            date,
                            days_from_operation: (date - w.operation.first).num_days(),
                            mean_before: p[0].mean,
                            mean_after: p[1].mean,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let channel_shift =
            channel_shift(releases, outlet, w.before, w.after, cfg.new_channel_scope)
                .map_err(|e| notes.push(format!("channel shift: {e}")))
                .ok();
        outlets.push(OutletImpact {
            outlet: outlet.clone(),
            daily,
            before_after,
            before_after_vs_controls,
            its,
            its_vs_controls,
            segmentation,
            changes,
            channel_shift,
            notes,
        });
    }
    Ok(OperationImpact {
        operation: op.name.clone(),
        windows: w,
        controls: controls.to_vec(),
        outlets,
    })
}
