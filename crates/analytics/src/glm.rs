//! Count regressions with a log link: a Poisson GLM fitted by iteratively reweighted least
//! squares, the Cameron-Trivedi overdispersion test, and the NB2 negative binomial fitted by
//! full maximum likelihood (coefficients and alpha jointly, Newton with step halving).
//!
//! Designs are row-major `n x k` slices; `y` are counts.

use crate::linalg::{chol_inverse, chol_solve, cholesky};
use crate::special::{digamma, ln_gamma, t_sf, trigamma};
use crate::AnalyticsError;

/// A fitted count model.
#[derive(Debug, Clone)]
pub struct CountFit {
    /// Coefficients.
    pub params: Vec<f64>,
    /// Their covariance, row-major `k x k` (inverse information).
    pub cov: Vec<f64>,
    /// Fitted means.
    pub mu: Vec<f64>,
    /// Maximised log-likelihood (full, including the `ln y!` terms).
    pub loglik: f64,
}

/// NB2 fit: the count fit plus alpha (variance = mu + alpha mu^2) and its standard error.
#[derive(Debug, Clone)]
pub struct NbFit {
    /// Coefficients, covariance of the coefficients, means, log-likelihood.
    pub fit: CountFit,
    /// alpha.
    pub alpha: f64,
    /// Standard error of alpha (observed information).
    pub alpha_se: f64,
}

fn xrow(x: &[f64], k: usize, i: usize) -> &[f64] {
    &x[i * k..(i + 1) * k]
}

fn poisson_loglik(y: &[f64], mu: &[f64]) -> f64 {
    y.iter()
        .zip(mu)
        .map(|(&y, &m)| if y > 0.0 { y * m.ln() } else { 0.0 } - m - ln_gamma(y + 1.0))
        .sum()
}

/// Poisson GLM with log link, by IRLS (Fisher scoring = Newton for the canonical link).
/// Starts from mu = (y + mean y) / 2 like statsmodels.
pub fn poisson_glm(x: &[f64], n: usize, k: usize, y: &[f64]) -> Result<CountFit, AnalyticsError> {
    if n <= k {
        return Err(AnalyticsError::TooFewObservations {
            needed: k + 1,
            have: n,
        });
    }
    let ybar = y.iter().sum::<f64>() / n as f64;
    let mut mu: Vec<f64> = y.iter().map(|&v| (v + ybar) / 2.0).collect();
    let mut eta: Vec<f64> = mu.iter().map(|m| m.ln()).collect();
    let mut dev_old = f64::INFINITY;
    let mut params = vec![0.0; k];
    let mut converged = false;
    for _ in 0..200 {
        let mut xtwx = vec![0.0; k * k];
        let mut xtwz = vec![0.0; k];
        for i in 0..n {
            let w = mu[i];
            let z = eta[i] + (y[i] - mu[i]) / mu[i];
            let r = xrow(x, k, i);
            for a in 0..k {
                xtwz[a] += r[a] * w * z;
                for b in 0..=a {
                    xtwx[a * k + b] += r[a] * w * r[b];
                }
            }
        }
        for a in 0..k {
            for b in 0..a {
                xtwx[b * k + a] = xtwx[a * k + b];
            }
        }
        let l = cholesky(&xtwx, k).ok_or_else(|| {
            AnalyticsError::SingularDesign(
                "Poisson fit: X'WX is singular (a group with no events, or collinear columns)"
                    .into(),
            )
        })?;
        params = chol_solve(&l, k, &xtwz);
        for i in 0..n {
            eta[i] = xrow(x, k, i).iter().zip(&params).map(|(a, b)| a * b).sum();
            mu[i] = eta[i].exp();
        }
        let dev: f64 = y
            .iter()
            .zip(&mu)
            .map(|(&y, &m)| 2.0 * (if y > 0.0 { y * (y / m).ln() } else { 0.0 } - (y - m)))
            .sum();
        if (dev - dev_old).abs() <= 1e-13 * (dev.abs() + 1e-10) {
            converged = true;
            break;
        }
        dev_old = dev;
    }
    if !converged || mu.iter().any(|m| !(m.is_finite() && *m > 1e-200)) {
        return Err(AnalyticsError::NoConvergence(
            "Poisson fit did not converge (is a group without any events?)".into(),
        ));
    }
    let mut info = vec![0.0; k * k];
    for (i, &m) in mu.iter().enumerate() {
        let r = xrow(x, k, i);
        for a in 0..k {
            for b in 0..k {
                info[a * k + b] += r[a] * m * r[b];
            }
        }
    }
    let l = cholesky(&info, k).ok_or_else(|| {
        AnalyticsError::SingularDesign("Poisson information matrix is singular".into())
    })?;
    let cov = chol_inverse(&l, k);
    let loglik = poisson_loglik(y, &mu);
    Ok(CountFit {
        params,
        cov,
        mu,
        loglik,
    })
}

/// Pearson chi-squared of a Poisson fit.
pub fn pearson_chi2(y: &[f64], mu: &[f64]) -> f64 {
    y.iter().zip(mu).map(|(y, m)| (y - m) * (y - m) / m).sum()
}

/// Cameron and Trivedi (1990) auxiliary regression for NB2-type overdispersion: regress
/// `((y - mu)^2 - y) / mu` on `mu` without intercept; under equidispersion the slope is zero.
/// Returns (slope = moment estimate of alpha, t statistic, one-sided p-value with n-1 df).
pub fn cameron_trivedi(y: &[f64], mu: &[f64]) -> (f64, f64, f64) {
    let n = y.len();
    let z: Vec<f64> = y
        .iter()
        .zip(mu)
        .map(|(y, m)| ((y - m) * (y - m) - y) / m)
        .collect();
    let smm: f64 = mu.iter().map(|m| m * m).sum();
    let smz: f64 = mu.iter().zip(&z).map(|(m, z)| m * z).sum();
    let slope = smz / smm;
    let rss: f64 = mu
        .iter()
        .zip(&z)
        .map(|(m, z)| (z - slope * m).powi(2))
        .sum();
    let df = (n as f64 - 1.0).max(1.0);
    let se = (rss / df / smm).sqrt();
    let t = if se > 0.0 { slope / se } else { f64::NAN };
    (slope, t, t_sf(t, df))
}

/// Per-observation pieces of the NB2 log-likelihood in (eta, r = 1/alpha).
struct NbTerms {
    /// log-likelihood contribution
    ll: f64,
    /// d ll / d eta
    g_eta: f64,
    /// d2 ll / d eta2
    h_eta: f64,
    /// d ll / d r
    g_r: f64,
    /// d2 ll / d r2
    h_r: f64,
    /// d2 ll / d r d eta
    h_r_eta: f64,
}

/// Counts up to this use exact finite sums for the gamma-function differences:
/// lgamma(y + r) - lgamma(r) = sum_{j<y} ln(r + j) and the digamma/trigamma analogues. These
/// do not cancel when r = 1/alpha is large (little overdispersion), unlike the differences.
const EXACT_SUM_LIMIT: u64 = 20_000;

fn nb_terms(y: u64, eta: f64, r: f64) -> NbTerms {
    let mu = eta.exp();
    let yf = y as f64;
    let a = 1.0 / r;
    let (lg, dg, tg) = if y <= EXACT_SUM_LIMIT {
        let mut lg = 0.0;
        let mut dg = 0.0;
        let mut tg = 0.0;
        for j in 0..y {
            let v = r + j as f64;
            lg += v.ln();
            dg += 1.0 / v;
            tg -= 1.0 / (v * v);
        }
        (lg, dg, tg)
    } else {
        (
            ln_gamma(yf + r) - ln_gamma(r),
            digamma(yf + r) - digamma(r),
            trigamma(yf + r) - trigamma(r),
        )
    };
    let am = a * mu;
    let l1p = am.ln_1p(); // ln(1 + alpha mu) = -ln(r / (r + mu))
    let ll = lg - ln_gamma(yf + 1.0) - r * l1p + if y > 0 { yf * (am.ln() - l1p) } else { 0.0 };
    let rpm = r + mu;
    NbTerms {
        ll,
        g_eta: (yf - mu) / (1.0 + am),
        h_eta: -mu * (1.0 + a * yf) / ((1.0 + am) * (1.0 + am)),
        g_r: dg - l1p + (mu - yf) / rpm,
        h_r: tg + mu / (r * rpm) - (mu - yf) / (rpm * rpm),
        h_r_eta: mu * (yf - mu) / (rpm * rpm),
    }
}

/// Log-likelihood, gradient and Hessian in (beta, theta = ln alpha).
fn nb_eval(
    x: &[f64],
    n: usize,
    k: usize,
    y: &[u64],
    beta: &[f64],
    theta: f64,
) -> (f64, Vec<f64>, Vec<f64>) {
    let p = k + 1;
    let r = (-theta).exp();
    let mut ll = 0.0;
    let mut g = vec![0.0; p];
    let mut h = vec![0.0; p * p];
    for (i, &yi) in y.iter().enumerate().take(n) {
        let row = xrow(x, k, i);
        let eta: f64 = row.iter().zip(beta).map(|(a, b)| a * b).sum();
        let t = nb_terms(yi, eta, r);
        ll += t.ll;
        // Chain rule to theta: dr/dtheta = -r.
        let g_t = -r * t.g_r;
        let h_tt = r * r * t.h_r + r * t.g_r;
        let h_te = -r * t.h_r_eta;
        for a in 0..k {
            g[a] += row[a] * t.g_eta;
            for b in 0..k {
                h[a * p + b] += row[a] * row[b] * t.h_eta;
            }
            h[a * p + k] += row[a] * h_te;
            h[k * p + a] += row[a] * h_te;
        }
        g[k] += g_t;
        h[k * p + k] += h_tt;
    }
    (ll, g, h)
}

/// NB2 negative binomial regression (log link) by maximum likelihood over the coefficients and
/// alpha jointly. Newton on (beta, ln alpha), with Levenberg damping when the Hessian is not
/// negative definite and step halving until the log-likelihood does not decrease. Standard
/// errors from the inverse observed information, as statsmodels' `NegativeBinomial` reports.
pub fn negbin2(
    x: &[f64],
    n: usize,
    k: usize,
    y: &[u64],
    start_beta: &[f64],
    start_alpha: f64,
) -> Result<NbFit, AnalyticsError> {
    let p = k + 1;
    let mut params: Vec<f64> = start_beta.to_vec();
    params.push(start_alpha.clamp(1e-4, 1e3).ln());
    let (mut ll, mut g, mut h) = nb_eval(x, n, k, y, &params[..k], params[k]);
    let mut converged = false;
    for _ in 0..500 {
        // Solve (-H + lambda I) step = g with the smallest lambda that makes it PD.
        let mut lambda = 0.0;
        let step = loop {
            let mut m: Vec<f64> = h.iter().map(|v| -v).collect();
            for i in 0..p {
                m[i * p + i] += lambda;
            }
            if let Some(l) = cholesky(&m, p) {
                break chol_solve(&l, p, &g);
            }
            lambda = if lambda == 0.0 { 1e-6 } else { lambda * 10.0 };
            if lambda > 1e12 {
                return Err(AnalyticsError::NoConvergence(
                    "NB2 fit: no ascent direction".into(),
                ));
            }
        };
        let mut scale = 1.0;
        let mut accepted = false;
        for _ in 0..60 {
            let trial: Vec<f64> = params
                .iter()
                .zip(&step)
                .map(|(a, s)| a + scale * s)
                .collect();
            // Keep ln alpha in a sane box: alpha below e^-25 is Poisson for every practical
            // purpose, above e^10 is a degenerate fit.
            if trial[k] < -25.0 || trial[k] > 10.0 {
                scale *= 0.5;
                continue;
            }
            let (ll_t, g_t, h_t) = nb_eval(x, n, k, y, &trial[..k], trial[k]);
            if ll_t.is_finite() && ll_t >= ll - 1e-12 * ll.abs() {
                let small = step.iter().all(|s| (scale * s).abs() < 1e-10);
                params = trial;
                ll = ll_t;
                g = g_t;
                h = h_t;
                accepted = true;
                if small {
                    converged = true;
                }
                break;
            }
            scale *= 0.5;
        }
        let gmax = g.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        if converged || (accepted && gmax < 1e-9 * (1.0 + ll.abs())) {
            converged = true;
            break;
        }
        if !accepted {
            // No improvement possible along the Newton direction: at the optimum to machine
            // precision if the gradient is small.
            converged = gmax < 1e-6 * (1.0 + ll.abs());
            break;
        }
    }
    if !converged {
        return Err(AnalyticsError::NoConvergence(
            "NB2 fit did not converge".into(),
        ));
    }
    if params[k] <= -24.0 {
        return Err(AnalyticsError::NoConvergence(
            "NB2 fit: alpha went to its lower bound (no overdispersion to model)".into(),
        ));
    }
    let neg_h: Vec<f64> = h.iter().map(|v| -v).collect();
    let l = cholesky(&neg_h, p).ok_or_else(|| {
        AnalyticsError::SingularDesign("NB2 observed information is singular".into())
    })?;
    let cov_t = chol_inverse(&l, p);
    let alpha = params[k].exp();
    // The beta block of the inverse information is invariant to the reparametrisation of
    // alpha at the optimum; alpha's own standard error follows by the delta method.
    let mut cov = vec![0.0; k * k];
    for a in 0..k {
        for b in 0..k {
            cov[a * k + b] = cov_t[a * p + b];
        }
    }
    let alpha_se = alpha * cov_t[k * p + k].sqrt();
    let beta = params[..k].to_vec();
    let mu: Vec<f64> = (0..n)
        .map(|i| {
            xrow(x, k, i)
                .iter()
                .zip(&beta)
                .map(|(a, b)| a * b)
                .sum::<f64>()
                .exp()
        })
        .collect();
    Ok(NbFit {
        fit: CountFit {
            params: beta,
            cov,
            mu,
            loglik: ll,
        },
        alpha,
        alpha_se,
    })
}
