//! Changepoint detection by PELT (Killick, Fearnhead and Eckley 2012): the exact minimiser of
//! `sum of segment costs + penalty * number of segments`, with pruning.

use serde::Serialize;

use crate::AnalyticsError;

/// Segment cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentCost {
    /// Poisson counts with a constant rate per segment: `2 (S - S ln(S/m))` for a segment of
    /// `m` days with sum `S` (minus twice the maximised log-likelihood, dropping `ln y!` which
    /// is the same for every segmentation).
    Poisson,
    /// Change in mean with constant variance: sum of squared deviations from the segment mean
    /// (ruptures' `l2` cost).
    NormalMean,
}

/// Penalty per added segment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Penalty {
    /// BIC-like: `k ln n` with `k = 2` parameters per change (a new mean and a location), on the
    /// `-2 log-likelihood` scale. For [`SegmentCost::NormalMean`] it is multiplied by the noise
    /// variance, estimated as `(MAD of first differences / 0.6745)^2 / 2`, robust to the
    /// changes themselves.
    Bic,
    /// A fixed value on the cost's scale.
    Manual(f64),
}

/// Options for [`pelt`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PeltConfig {
    /// Segment cost (default Poisson).
    pub cost: SegmentCost,
    /// Penalty (default BIC).
    pub penalty: Penalty,
    /// Minimum segment length in observations (default 2).
    pub min_size: usize,
}

impl Default for PeltConfig {
    fn default() -> Self {
        PeltConfig {
            cost: SegmentCost::Poisson,
            penalty: Penalty::Bic,
            min_size: 2,
        }
    }
}

/// One segment of the fitted segmentation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segment {
    /// First index.
    pub start: usize,
    /// One past the last index.
    pub end: usize,
    /// Mean of the segment.
    pub mean: f64,
}

/// Result of [`pelt`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Segmentation {
    /// Indices where a new segment starts (the first index after each change), ascending.
    pub changepoints: Vec<usize>,
    /// Segments in order.
    pub segments: Vec<Segment>,
    /// Penalty value used.
    pub penalty: f64,
    /// Total cost including penalties.
    pub objective: f64,
    /// Cost used.
    pub cost: SegmentCost,
}

struct Prefix {
    s: Vec<f64>,
    s2: Vec<f64>,
}

impl Prefix {
    fn new(y: &[f64]) -> Prefix {
        let mut s = vec![0.0; y.len() + 1];
        let mut s2 = vec![0.0; y.len() + 1];
        for (i, v) in y.iter().enumerate() {
            s[i + 1] = s[i] + v;
            s2[i + 1] = s2[i] + v * v;
        }
        Prefix { s, s2 }
    }

    fn cost(&self, kind: SegmentCost, a: usize, b: usize) -> f64 {
        let m = (b - a) as f64;
        let sum = self.s[b] - self.s[a];
        match kind {
            SegmentCost::Poisson => {
                if sum <= 0.0 {
                    0.0
                } else {
                    2.0 * (sum - sum * (sum / m).ln())
                }
            }
            SegmentCost::NormalMean => (self.s2[b] - self.s2[a] - sum * sum / m).max(0.0),
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// The penalty value `cfg.penalty` means for data `y`.
pub fn penalty_value(y: &[f64], cfg: &PeltConfig) -> f64 {
    match cfg.penalty {
        Penalty::Manual(v) => v,
        Penalty::Bic => {
            let base = 2.0 * (y.len().max(2) as f64).ln();
            match cfg.cost {
                SegmentCost::Poisson => base,
                SegmentCost::NormalMean => {
                    let d: Vec<f64> = y.windows(2).map(|w| w[1] - w[0]).collect();
                    let mad = median(d.iter().map(|v| v.abs()).collect());
                    let mut sigma2 = (mad / 0.674_489_750_196_081_7).powi(2) / 2.0;
                    if sigma2.is_nan() || sigma2 <= 0.0 {
                        // Fall back to the plain variance (e.g. a series mostly constant).
                        let mean = y.iter().sum::<f64>() / y.len().max(1) as f64;
                        sigma2 = y.iter().map(|v| (v - mean).powi(2)).sum::<f64>()
                            / y.len().max(1) as f64;
                    }
                    base * sigma2.max(f64::MIN_POSITIVE)
                }
            }
        }
    }
}

/// PELT over `y`. Exact: it returns a segmentation minimising the penalised cost over all
/// segmentations with segments of at least `min_size` observations. Pruning drops a candidate
/// `t` once `F(t) + C(t, s) > F(s)` (Killick's condition with K = 0, valid because splitting a
/// segment never raises these maximum-likelihood costs); with a minimum segment length the
/// drop takes effect only `min_size` steps later, when `s` itself becomes a valid last change.
pub fn pelt(y: &[f64], cfg: &PeltConfig) -> Result<Segmentation, AnalyticsError> {
    let n = y.len();
    let min_size = cfg.min_size.max(1);
    if n < min_size {
        return Err(AnalyticsError::TooFewObservations {
            needed: min_size,
            have: n,
        });
    }
    if y.iter().any(|v| !v.is_finite())
        || (cfg.cost == SegmentCost::Poisson && y.iter().any(|&v| v < 0.0))
    {
        return Err(AnalyticsError::InvalidInput(
            "PELT input must be finite (and non-negative for Poisson)".into(),
        ));
    }
    let pen = penalty_value(y, cfg);
    let pre = Prefix::new(y);
    let mut f = vec![f64::INFINITY; n + 1];
    let mut last = vec![0_usize; n + 1];
    f[0] = 0.0;
    // Candidates (t, step at which it was found prunable).
    let mut cands: Vec<(usize, Option<usize>)> = vec![(0, None)];
    for s in min_size..=n {
        // t = s - min_size becomes admissible now (if it has a finite F).
        if s > min_size {
            let t_new = s - min_size;
            if f[t_new].is_finite() {
                cands.push((t_new, None));
            }
        }
        cands.retain(|&(_, pruned)| pruned.is_none_or(|p| s < p + min_size));
        let mut best = f64::INFINITY;
        let mut arg = 0;
        for &(t, _) in &cands {
            let v = f[t] + pre.cost(cfg.cost, t, s) + pen;
            if v < best {
                best = v;
                arg = t;
            }
        }
        f[s] = best;
        last[s] = arg;
        for c in cands.iter_mut() {
            if c.1.is_none() && f[c.0] + pre.cost(cfg.cost, c.0, s) > f[s] {
                c.1 = Some(s);
            }
        }
    }
    let mut bounds = vec![n];
    let mut s = n;
    while s > 0 {
        s = last[s];
        bounds.push(s);
    }
    bounds.reverse();
    let segments: Vec<Segment> = bounds
        .windows(2)
        .map(|w| Segment {
            start: w[0],
            end: w[1],
            mean: (pre.s[w[1]] - pre.s[w[0]]) / (w[1] - w[0]) as f64,
        })
        .collect();
    Ok(Segmentation {
        changepoints: bounds[1..bounds.len() - 1].to_vec(),
        segments,
        penalty: pen,
        objective: f[n],
        cost: cfg.cost,
    })
}

/// Optimal partitioning without pruning (O(n^2)), the reference PELT must agree with.
#[doc(hidden)]
pub fn optimal_partitioning_objective(y: &[f64], cfg: &PeltConfig) -> f64 {
    let n = y.len();
    let pen = penalty_value(y, cfg);
    let pre = Prefix::new(y);
    let mut f = vec![f64::INFINITY; n + 1];
    f[0] = 0.0;
    for s in cfg.min_size.max(1)..=n {
        for t in 0..=s - cfg.min_size.max(1) {
            if f[t].is_finite() {
                f[s] = f[s].min(f[t] + pre.cost(cfg.cost, t, s) + pen);
            }
        }
    }
    f[n]
}

/// Penalised objective of a given segmentation (changepoints = segment starts), to compare
/// segmentations from other tools. `NaN` unless the changepoints are strictly increasing and
/// inside `1..n`.
pub fn segmentation_objective(y: &[f64], cfg: &PeltConfig, changepoints: &[usize]) -> f64 {
    let valid = changepoints.windows(2).all(|w| w[0] < w[1])
        && changepoints.first().is_none_or(|&c| c > 0)
        && changepoints.last().is_none_or(|&c| c < y.len());
    if !valid {
        return f64::NAN;
    }
    let pen = penalty_value(y, cfg);
    let pre = Prefix::new(y);
    let mut bounds = vec![0];
    bounds.extend_from_slice(changepoints);
    bounds.push(y.len());
    bounds
        .windows(2)
        .map(|w| pre.cost(cfg.cost, w[0], w[1]) + pen)
        .sum()
}
