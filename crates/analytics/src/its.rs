//! Interrupted time series by segmented OLS regression with Newey-West (HAC) standard errors.

use serde::Serialize;

use crate::linalg::{qr_least_squares, sandwich};
use crate::special::{t_ppf, t_two_sided_p};
use crate::AnalyticsError;

/// How many lags the Newey-West estimator uses.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "rule", content = "lags", rename_all = "snake_case")]
pub enum HacLags {
    /// `floor(4 (n/100)^(2/9))` (Newey and West 1994's rule of thumb).
    Auto,
    /// A fixed number.
    Fixed(usize),
}

impl HacLags {
    /// The lag count for `n` observations.
    pub fn lags(self, n: usize) -> usize {
        match self {
            HacLags::Auto => (4.0 * (n as f64 / 100.0).powf(2.0 / 9.0)).floor() as usize,
            HacLags::Fixed(l) => l,
        }
    }
}

/// Options for [`segmented_regression`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ItsConfig {
    /// Newey-West lag rule (default [`HacLags::Auto`]).
    pub lags: HacLags,
    /// Multiply the HAC covariance by `n / (n - k)` (default false, as statsmodels' default).
    pub small_sample_correction: bool,
    /// Confidence level (default 0.95).
    pub confidence: f64,
}

impl Default for ItsConfig {
    fn default() -> Self {
        ItsConfig {
            lags: HacLags::Auto,
            small_sample_correction: false,
            confidence: 0.95,
        }
    }
}

/// One regression coefficient.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coefficient {
    /// Name (`intercept`, `trend`, `level_change`, `slope_change`).
    pub name: String,
    /// Estimate.
    pub estimate: f64,
    /// HAC standard error.
    pub se: f64,
    /// t statistic.
    pub t: f64,
    /// Two-sided p-value, Student t with `n - k` degrees of freedom.
    pub p_value: f64,
    /// Lower confidence limit.
    pub ci_low: f64,
    /// Upper confidence limit.
    pub ci_high: f64,
}

/// Segmented regression fit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItsFit {
    /// Observations.
    pub n: usize,
    /// Residual degrees of freedom.
    pub df_resid: usize,
    /// Newey-West lags used.
    pub hac_lags: usize,
    /// Whether the n/(n-k) correction was applied.
    pub small_sample_correction: bool,
    /// b0 (intercept), b1 (pre-trend per day), b2 (level change at T0), b3 (slope change).
    pub coefficients: Vec<Coefficient>,
    /// R squared.
    pub r_squared: f64,
    /// Residual standard deviation.
    pub sigma: f64,
}

impl ItsFit {
    /// The level change b2.
    pub fn level_change(&self) -> &Coefficient {
        &self.coefficients[2]
    }

    /// The slope change b3.
    pub fn slope_change(&self) -> &Coefficient {
        &self.coefficients[3]
    }
}

/// Coefficients, their HAC covariance (row-major), residuals.
pub(crate) type OlsHac = (Vec<f64>, Vec<f64>, Vec<f64>);

/// OLS with Newey-West covariance (Bartlett weights `1 - j/(L+1)`), the estimator statsmodels
/// computes with `cov_type='HAC'`. Returns coefficients, covariance, residuals.
pub(crate) fn ols_hac(
    x: &[f64],
    n: usize,
    k: usize,
    y: &[f64],
    lags: usize,
    correction: bool,
) -> Result<OlsHac, AnalyticsError> {
    let (beta, xtx_inv) = qr_least_squares(x, n, k, y)?;
    let resid: Vec<f64> = (0..n)
        .map(|i| {
            y[i] - x[i * k..(i + 1) * k]
                .iter()
                .zip(&beta)
                .map(|(a, b)| a * b)
                .sum::<f64>()
        })
        .collect();
    // Scores u_t = x_t e_t; meat S = sum_j w_j (Gamma_j + Gamma_j'), Gamma_j = sum u_t u_{t-j}'.
    let u: Vec<f64> = (0..n)
        .flat_map(|i| (0..k).map(move |a| (i, a)))
        .map(|(i, a)| x[i * k + a] * resid[i])
        .collect();
    let mut meat = vec![0.0; k * k];
    for j in 0..=lags.min(n.saturating_sub(1)) {
        let w = 1.0 - j as f64 / (lags as f64 + 1.0);
        for t in j..n {
            for a in 0..k {
                for b in 0..k {
                    let g = u[t * k + a] * u[(t - j) * k + b];
                    if j == 0 {
                        meat[a * k + b] += g;
                    } else {
                        meat[a * k + b] += w * g;
                        meat[b * k + a] += w * g;
                    }
                }
            }
        }
    }
    let mut cov = sandwich(&xtx_inv, &meat, k);
    if correction {
        let f = n as f64 / (n - k) as f64;
        cov.iter_mut().for_each(|v| *v *= f);
    }
    Ok((beta, cov, resid))
}

/// Segmented regression `y_t = b0 + b1 t + b2 post_t + b3 (t - t0) post_t`, `post_t = [t >= t0]`.
/// `t` are the observation times in days (gaps allowed, e.g. excluded operation days); rows
/// are taken in the given order for the autocorrelation lags.
pub fn segmented_regression(
    y: &[f64],
    t: &[f64],
    t0: f64,
    cfg: &ItsConfig,
) -> Result<ItsFit, AnalyticsError> {
    let n = y.len();
    if t.len() != n {
        return Err(AnalyticsError::InvalidInput(
            "y and t differ in length".into(),
        ));
    }
    let pre = t.iter().filter(|&&v| v < t0).count();
    if pre < 2 || n - pre < 2 {
        return Err(AnalyticsError::TooFewObservations {
            needed: 2,
            have: pre.min(n - pre),
        });
    }
    let k = 4;
    if n < k + 1 {
        return Err(AnalyticsError::TooFewObservations {
            needed: k + 1,
            have: n,
        });
    }
    let mut x = Vec::with_capacity(n * k);
    for &ti in t {
        let post = if ti >= t0 { 1.0 } else { 0.0 };
        x.extend_from_slice(&[1.0, ti, post, (ti - t0) * post]);
    }
    let lags = cfg.lags.lags(n);
    let (beta, cov, resid) = ols_hac(&x, n, k, y, lags, cfg.small_sample_correction)?;
    let df = n - k;
    let tq = t_ppf(1.0 - (1.0 - cfg.confidence) / 2.0, df as f64);
    let names = ["intercept", "trend", "level_change", "slope_change"];
    let coefficients = (0..k)
        .map(|j| {
            let se = cov[j * k + j].sqrt();
            let tt = beta[j] / se;
            Coefficient {
                name: names[j].to_string(),
                estimate: beta[j],
                se,
                t: tt,
                p_value: t_two_sided_p(tt, df as f64),
                ci_low: beta[j] - tq * se,
                ci_high: beta[j] + tq * se,
            }
        })
        .collect();
    let mean = y.iter().sum::<f64>() / n as f64;
    let tss: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
    let rss: f64 = resid.iter().map(|e| e * e).sum();
    Ok(ItsFit {
        n,
        df_resid: df,
        hac_lags: lags,
        small_sample_correction: cfg.small_sample_correction,
        coefficients,
        r_squared: if tss > 0.0 { 1.0 - rss / tss } else { f64::NAN },
        sigma: (rss / df as f64).sqrt(),
    })
}

/// Interrupted time series of a target against controls: the segmented regression of the
/// difference `target_t - mean(controls)_t`. Its level and slope changes are the target's
/// changes net of what the controls did at the same time (difference-in-differences). The
/// difference series is chosen over a pooled model with group interactions because it gives
/// the same point estimates while the HAC errors of one series absorb the correlation between
/// target and controls on the same day.
pub fn segmented_regression_controlled(
    target: &[f64],
    controls: &[Vec<f64>],
    t: &[f64],
    t0: f64,
    cfg: &ItsConfig,
) -> Result<ItsFit, AnalyticsError> {
    if controls.is_empty() {
        return Err(AnalyticsError::InvalidInput("no control series".into()));
    }
    if controls.iter().any(|c| c.len() != target.len()) {
        return Err(AnalyticsError::InvalidInput(
            "control series differ in length from the target".into(),
        ));
    }
    let m = controls.len() as f64;
    let diff: Vec<f64> = (0..target.len())
        .map(|i| target[i] - controls.iter().map(|c| c[i]).sum::<f64>() / m)
        .collect();
    segmented_regression(&diff, t, t0, cfg)
}
