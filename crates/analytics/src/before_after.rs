//! Before/after comparison of daily counts: rate ratio with a confidence interval and p-value
//! from a Poisson GLM, or NB2 when the Cameron-Trivedi test finds overdispersion, or the exact
//! conditional binomial method when a window has no events.

use serde::Serialize;

use crate::glm::{cameron_trivedi, negbin2, pearson_chi2, poisson_glm, CountFit};
use crate::special::{beta_ppf, binom_test_two_sided, chi2_sf, norm_ppf, norm_two_sided_p};
use crate::AnalyticsError;

/// Options for [`compare_periods`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RateRatioConfig {
    /// One-sided level of the Cameron-Trivedi test above which the negative binomial replaces
    /// the Poisson model (default 0.05).
    pub overdispersion_level: f64,
    /// Confidence level of intervals (default 0.95).
    pub confidence: f64,
}

impl Default for RateRatioConfig {
    fn default() -> Self {
        RateRatioConfig {
            overdispersion_level: 0.05,
            confidence: 0.95,
        }
    }
}

/// Which model produced an estimate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RateModel {
    /// Poisson GLM, log link, Wald interval.
    Poisson,
    /// NB2 negative binomial by maximum likelihood (variance mu + alpha mu^2), Wald interval.
    NegativeBinomial {
        /// Estimated alpha.
        alpha: f64,
        /// Its standard error.
        alpha_se: f64,
    },
    /// Exact conditional binomial method for two Poisson counts (Clopper-Pearson interval,
    /// exact two-sided binomial test).
    ExactConditional,
}

/// A rate ratio (after / before, or ratio of rate ratios) with its interval and test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RateRatio {
    /// Point estimate. `0` when nothing happened after; `inf` (JSON `null`) when nothing
    /// happened before.
    pub rate_ratio: f64,
    /// Lower confidence limit.
    pub ci_low: f64,
    /// Upper confidence limit (`inf` when unbounded).
    pub ci_high: f64,
    /// Confidence level.
    pub confidence: f64,
    /// Two-sided p-value for "rate ratio = 1".
    pub p_value: f64,
    /// Log rate ratio and its standard error (model fits only).
    pub log_rr: Option<f64>,
    /// Standard error of `log_rr`.
    pub log_rr_se: Option<f64>,
    /// The model used.
    pub model: RateModel,
    /// Why this model, with the statistic that decided it.
    pub reason: String,
}

/// Overdispersion diagnostics of the Poisson fit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overdispersion {
    /// Pearson chi-squared of the Poisson fit.
    pub pearson_chi2: f64,
    /// Residual degrees of freedom.
    pub df_resid: f64,
    /// Pearson chi2 / df (about 1 when equidispersed).
    pub dispersion: f64,
    /// Cameron-Trivedi auxiliary-regression slope (moment estimate of NB2 alpha).
    pub ct_alpha: f64,
    /// Its t statistic.
    pub ct_t: f64,
    /// One-sided p-value (H1: alpha > 0).
    pub ct_p: f64,
}

/// Counts of one window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WindowTotal {
    /// Days in the window.
    pub days: usize,
    /// Events.
    pub count: u64,
    /// Events per day.
    pub per_day: f64,
}

/// Result of [`compare_periods`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodComparison {
    /// Before window.
    pub before: WindowTotal,
    /// After window.
    pub after: WindowTotal,
    /// The estimate to report (model chosen as described in `estimate.reason`).
    pub estimate: RateRatio,
    /// Exact conditional binomial estimate, always given alongside: it assumes Poisson counts
    /// but no large-sample approximation.
    pub exact: RateRatio,
    /// Poisson overdispersion diagnostics (absent when a window has no events).
    pub overdispersion: Option<Overdispersion>,
}

/// A p-value for prose: three decimals, or scientific below 0.001.
pub(crate) fn fmt_p(p: f64) -> String {
    if p >= 0.001 {
        format!("{p:.3}")
    } else {
        format!("{p:.2e}")
    }
}

fn total(days: &[u64]) -> WindowTotal {
    let count: u64 = days.iter().sum();
    WindowTotal {
        days: days.len(),
        count,
        per_day: count as f64 / days.len().max(1) as f64,
    }
}

/// Exact conditional rate ratio of two Poisson counts `y_after` over `t_after` days and
/// `y_before` over `t_before` days. Given the total `N`, `y_after ~ Binomial(N, pi)` with
/// `pi = RR t_a / (RR t_a + t_b)`; the Clopper-Pearson interval for `pi` maps monotonically to
/// one for `RR`, and the two-sided binomial test of `pi0 = t_a / (t_a + t_b)` tests RR = 1.
pub fn exact_rate_ratio(
    y_before: u64,
    t_before: f64,
    y_after: u64,
    t_after: f64,
    confidence: f64,
) -> Result<RateRatio, AnalyticsError> {
    let n = y_before + y_after;
    if n == 0 {
        return Err(AnalyticsError::NoEvents);
    }
    if !(t_before > 0.0 && t_after > 0.0) {
        return Err(AnalyticsError::EmptyWindow(
            "exposure must be positive".into(),
        ));
    }
    let a = 1.0 - confidence;
    let (k, nf) = (y_after as f64, n as f64);
    let pi_lo = if y_after == 0 {
        0.0
    } else {
        beta_ppf(a / 2.0, k, nf - k + 1.0)
    };
    let pi_hi = if y_after == n {
        1.0
    } else {
        beta_ppf(1.0 - a / 2.0, k + 1.0, nf - k)
    };
    let to_rr = |pi: f64| {
        if pi >= 1.0 {
            f64::INFINITY
        } else {
            pi / (1.0 - pi) * t_before / t_after
        }
    };
    let rr = if y_before == 0 {
        f64::INFINITY
    } else {
        (k / t_after) / (y_before as f64 / t_before)
    };
    let p = binom_test_two_sided(y_after, n, t_after / (t_after + t_before));
    Ok(RateRatio {
        rate_ratio: rr,
        ci_low: to_rr(pi_lo),
        ci_high: to_rr(pi_hi),
        confidence,
        p_value: p,
        log_rr: None,
        log_rr_se: None,
        model: RateModel::ExactConditional,
        reason: format!(
            "exact conditional binomial method: {y_after} of the {n} events fell after; Clopper-Pearson interval, exact two-sided binomial test of the share expected from the exposures"
        ),
    })
}

fn wald(
    fit: &CountFit,
    k: usize,
    idx: usize,
    confidence: f64,
    model: RateModel,
    reason: String,
) -> RateRatio {
    let b = fit.params[idx];
    let se = fit.cov[idx * k + idx].sqrt();
    let z = norm_ppf(1.0 - (1.0 - confidence) / 2.0);
    RateRatio {
        rate_ratio: b.exp(),
        ci_low: (b - z * se).exp(),
        ci_high: (b + z * se).exp(),
        confidence,
        p_value: norm_two_sided_p(b / se),
        log_rr: Some(b),
        log_rr_se: Some(se),
        model,
        reason,
    }
}

/// Fits Poisson, tests overdispersion, refits NB2 if needed; returns the Wald estimate for
/// coefficient `idx` and the diagnostics.
fn fit_count_model(
    x: &[f64],
    n: usize,
    k: usize,
    y: &[u64],
    idx: usize,
    cfg: &RateRatioConfig,
) -> Result<(RateRatio, Overdispersion), AnalyticsError> {
    let yf: Vec<f64> = y.iter().map(|&v| v as f64).collect();
    let pois = poisson_glm(x, n, k, &yf)?;
    let chi2 = pearson_chi2(&yf, &pois.mu);
    let df = (n - k) as f64;
    let (ct_alpha, ct_t, ct_p) = cameron_trivedi(&yf, &pois.mu);
    let od = Overdispersion {
        pearson_chi2: chi2,
        df_resid: df,
        dispersion: chi2 / df,
        ct_alpha,
        ct_t,
        ct_p,
    };
    let stat = format!(
        "Cameron-Trivedi auxiliary regression: alpha = {ct_alpha:.3}, t = {ct_t:.2}, one-sided p = {}; Pearson chi2/df = {:.2}",
        fmt_p(ct_p),
        chi2 / df
    );
    if ct_p < cfg.overdispersion_level && ct_alpha > 0.0 {
        match negbin2(x, n, k, y, &pois.params, ct_alpha) {
            Ok(nb) => {
                // Likelihood-ratio statistic of alpha = 0, reported for readers who prefer it;
                // under H0 alpha sits on the boundary, so its null is half a chi2(1).
                let lr = (2.0 * (nb.fit.loglik - pois.loglik)).max(0.0);
                let reason = format!(
                    "{stat} < {}: overdispersed, so NB2 negative binomial by maximum likelihood (alpha = {:.3}; likelihood-ratio test of alpha = 0: {lr:.2}, p = {})",
                    cfg.overdispersion_level,
                    nb.alpha,
                    fmt_p(0.5 * chi2_sf(lr, 1.0))
                );
                let model = RateModel::NegativeBinomial {
                    alpha: nb.alpha,
                    alpha_se: nb.alpha_se,
                };
                return Ok((wald(&nb.fit, k, idx, cfg.confidence, model, reason), od));
            }
            Err(e) => {
                let reason = format!("{stat}: overdispersed, but the NB2 fit failed ({e}); Poisson reported, its interval is too narrow");
                return Ok((
                    wald(&pois, k, idx, cfg.confidence, RateModel::Poisson, reason),
                    od,
                ));
            }
        }
    }
    let reason = format!(
        "{stat} >= {}: no evidence of overdispersion, Poisson GLM",
        cfg.overdispersion_level
    );
    Ok((
        wald(&pois, k, idx, cfg.confidence, RateModel::Poisson, reason),
        od,
    ))
}

/// Compare daily counts before and after: `log E[y_d] = b0 + b1 * after_d`, rate ratio
/// `exp(b1)`. With daily rows the exposure of each row is one day; the Poisson estimate equals
/// the ratio of the window rates. Overdispersion is tested on the daily rows (Cameron-Trivedi,
/// one-sided at `cfg.overdispersion_level`), and NB2 is fitted when it is found. When either
/// window has no events the coefficient is infinite, and the exact conditional method is used.
pub fn compare_periods(
    before: &[u64],
    after: &[u64],
    cfg: &RateRatioConfig,
) -> Result<PeriodComparison, AnalyticsError> {
    if before.is_empty() || after.is_empty() {
        return Err(AnalyticsError::EmptyWindow(
            "before and after windows need at least one day each".into(),
        ));
    }
    let (b, a) = (total(before), total(after));
    let exact = exact_rate_ratio(
        b.count,
        b.days as f64,
        a.count,
        a.days as f64,
        cfg.confidence,
    )?;
    if a.count == 0 || b.count == 0 {
        let mut estimate = exact.clone();
        estimate.reason = format!(
            "{} events before and {} after: the log-linear coefficient is infinite, so the {}",
            b.count, a.count, estimate.reason
        );
        return Ok(PeriodComparison {
            before: b,
            after: a,
            estimate,
            exact,
            overdispersion: None,
        });
    }
    let n = before.len() + after.len();
    if n < 3 {
        return Err(AnalyticsError::TooFewObservations { needed: 3, have: n });
    }
    let mut x = Vec::with_capacity(2 * n);
    let mut y = Vec::with_capacity(n);
    for (&v, post) in before
        .iter()
        .map(|v| (v, 0.0))
        .chain(after.iter().map(|v| (v, 1.0)))
    {
        x.extend_from_slice(&[1.0, post]);
        y.push(v);
    }
    let (estimate, od) = fit_count_model(&x, n, 2, &y, 1, cfg)?;
    Ok(PeriodComparison {
        before: b,
        after: a,
        estimate,
        exact,
        overdispersion: Some(od),
    })
}

/// Ratio of rate ratios against controls (difference-in-differences on the log scale): pooled
/// daily rows for the target and for the controls' summed counts,
/// `log E[y] = b0 + b1 after + b2 target + b3 after*target`, estimate `exp(b3)` = the
/// target's rate ratio divided by the controls'. Same model choice as [`compare_periods`].
/// All four windows need events (no exact method is offered for the interaction).
pub fn compare_periods_controlled(
    target_before: &[u64],
    target_after: &[u64],
    control_before: &[u64],
    control_after: &[u64],
    cfg: &RateRatioConfig,
) -> Result<(RateRatio, Overdispersion), AnalyticsError> {
    if target_before.len() != control_before.len() || target_after.len() != control_after.len() {
        return Err(AnalyticsError::InvalidInput(
            "target and control windows differ in length".into(),
        ));
    }
    if target_before.is_empty() || target_after.is_empty() {
        return Err(AnalyticsError::EmptyWindow(
            "before and after windows need at least one day each".into(),
        ));
    }
    for (name, s) in [
        ("target before", target_before),
        ("target after", target_after),
        ("control before", control_before),
        ("control after", control_after),
    ] {
        if s.iter().all(|&v| v == 0) {
            return Err(AnalyticsError::ZeroWindow(name.into()));
        }
    }
    let mut x = Vec::new();
    let mut y = Vec::new();
    for (series, post, tgt) in [
        (target_before, 0.0, 1.0),
        (target_after, 1.0, 1.0),
        (control_before, 0.0, 0.0),
        (control_after, 1.0, 0.0),
    ] {
        for &v in series {
            x.extend_from_slice(&[1.0, post, tgt, post * tgt]);
            y.push(v);
        }
    }
    fit_count_model(&x, y.len(), 4, &y, 3, cfg)
}
