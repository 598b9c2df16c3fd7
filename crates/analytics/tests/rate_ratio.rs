//! Before/after rate ratios against statsmodels, fixture `fixtures/rate_ratio.json`:
//! * Poisson: `statsmodels.api.GLM(y, X, family=Poisson()).fit()` (params, bse, Wald CI,
//!   p-values, Pearson chi2) — tolerance 1e-6 relative (IRLS to 1e-13 on both sides);
//! * NB2: `statsmodels.discrete.discrete_model.NegativeBinomial(y, X, loglike_method='nb2')
//!   .fit(method='newton')` (params, alpha, bse, CI) — tolerance 1e-4 relative (iterative fit);
//! * Cameron-Trivedi: statsmodels `OLS(((y-mu)^2-y)/mu, mu)` t value, `scipy.stats.t.sf` —
//!   1e-6;
//! * exact conditional: `scipy.stats.binomtest(k, n, p).pvalue` and `.proportion_ci(method=
//!   'exact')` (Clopper-Pearson) mapped to the rate-ratio scale — 1e-8.

mod common;
use common::*;
use takedown_analytics::glm::{negbin2, poisson_glm};
use takedown_analytics::{compare_periods, compare_periods_controlled, RateModel, RateRatioConfig};

fn design(before: usize, after: usize) -> Vec<f64> {
    (0..before)
        .flat_map(|_| [1.0, 0.0])
        .chain((0..after).flat_map(|_| [1.0, 1.0]))
        .collect()
}

#[test]
fn before_after_matches_statsmodels() {
    let fx = load("rate_ratio.json");
    let cfg = RateRatioConfig::default();
    for case in fx["cases"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        let before = uv(&case["before"]);
        let after = uv(&case["after"]);
        let res = compare_periods(&before, &after, &cfg).expect(name);

        // Exact conditional method, always reported.
        let ex = &case["exact"];
        close(
            &format!("{name} exact rr"),
            res.exact.rate_ratio,
            f(&ex["rr"]),
            1e-10,
            1e-12,
        );
        close(
            &format!("{name} exact lo"),
            res.exact.ci_low,
            f(&ex["ci"][0]),
            1e-8,
            1e-12,
        );
        close(
            &format!("{name} exact hi"),
            res.exact.ci_high,
            f(&ex["ci"][1]),
            1e-8,
            1e-12,
        );
        close(
            &format!("{name} exact p"),
            res.exact.p_value,
            f(&ex["p"]),
            1e-8,
            1e-300,
        );

        let Some(pois) = case.get("poisson") else {
            // A window without events: the estimate is the exact one.
            assert_eq!(res.estimate.model, RateModel::ExactConditional, "{name}");
            assert!(res.overdispersion.is_none());
            continue;
        };
        let od = res.overdispersion.as_ref().expect("diagnostics");
        close(
            &format!("{name} pearson"),
            od.pearson_chi2,
            f(&pois["pearson_chi2"]),
            1e-6,
            1e-4,
        );
        close(
            &format!("{name} ct t"),
            od.ct_t,
            f(&case["ct"]["t"]),
            1e-6,
            1e-4,
        );
        close(
            &format!("{name} ct alpha"),
            od.ct_alpha,
            f(&case["ct"]["alpha"]),
            1e-6,
            1e-4,
        );
        close(
            &format!("{name} ct p"),
            od.ct_p,
            f(&case["ct"]["p"]),
            1e-6,
            1e-12,
        );

        // The Poisson fit itself (also when NB is chosen).
        let y: Vec<f64> = before.iter().chain(&after).map(|&v| v as f64).collect();
        let x = design(before.len(), after.len());
        let fit = poisson_glm(&x, y.len(), 2, &y).expect("poisson");
        for j in 0..2 {
            close(
                &format!("{name} poisson b{j}"),
                fit.params[j],
                f(&pois["params"][j]),
                1e-6,
                1e-4,
            );
            close(
                &format!("{name} poisson se{j}"),
                fit.cov[j * 2 + j].sqrt(),
                f(&pois["bse"][j]),
                1e-6,
                1e-4,
            );
        }

        let overdispersed = f(&case["ct"]["p"]) < 0.05 && f(&case["ct"]["alpha"]) > 0.0;
        let want = if overdispersed { &case["nb"] } else { pois };
        match (overdispersed, res.estimate.model) {
            (true, RateModel::NegativeBinomial { alpha, alpha_se }) => {
                close(
                    &format!("{name} alpha"),
                    alpha,
                    f(&want["alpha"]),
                    1e-4,
                    1e-4,
                );
                close(
                    &format!("{name} alpha se"),
                    alpha_se,
                    f(&want["alpha_se"]),
                    1e-4,
                    1e-4,
                );
            }
            (false, RateModel::Poisson) => {}
            (_, m) => {
                panic!("{name}: model {m:?}, statsmodels decision overdispersed={overdispersed}")
            }
        }
        let tol = if overdispersed { 1e-4 } else { 1e-6 };
        close(
            &format!("{name} log rr"),
            res.estimate.log_rr.expect("model"),
            f(&want["params"][1]),
            tol,
            1e-4,
        );
        close(
            &format!("{name} se"),
            res.estimate.log_rr_se.expect("model"),
            f(&want["bse"][1]),
            tol,
            1e-4,
        );
        close(
            &format!("{name} ci lo"),
            res.estimate.ci_low,
            f(&want["ci"][0]),
            tol,
            1e-4,
        );
        close(
            &format!("{name} ci hi"),
            res.estimate.ci_high,
            f(&want["ci"][1]),
            tol,
            1e-4,
        );
        close(
            &format!("{name} p"),
            res.estimate.p_value,
            f(&want["pvalue"]),
            tol,
            1e-12,
        );
        assert!(
            res.estimate.reason.contains("Cameron-Trivedi"),
            "{}",
            res.estimate.reason
        );
    }
}

#[test]
fn negative_binomial_fit_matches_statsmodels_wherever_it_converged() {
    // Also the non-overdispersed cases with an interior optimum (tiny alpha): the hard end.
    let fx = load("rate_ratio.json");
    for case in fx["cases"].as_array().expect("cases") {
        let Some(nb) = case.get("nb") else { continue };
        if !nb["converged"].as_bool().expect("flag") || f(&nb["alpha"]) < 1e-3 {
            continue;
        }
        let name = case["name"].as_str().expect("name");
        let y: Vec<u64> = uv(&case["before"])
            .into_iter()
            .chain(uv(&case["after"]))
            .collect();
        let nb_ = uv(&case["before"]).len();
        let x = design(nb_, y.len() - nb_);
        let yf: Vec<f64> = y.iter().map(|&v| v as f64).collect();
        let p = poisson_glm(&x, y.len(), 2, &yf).expect("poisson");
        let fit = negbin2(&x, y.len(), 2, &y, &p.params, 0.1).expect(name);
        close(
            &format!("{name} alpha"),
            fit.alpha,
            f(&nb["alpha"]),
            1e-4,
            1e-4,
        );
        close(
            &format!("{name} llf"),
            fit.fit.loglik,
            f(&nb["llf"]),
            1e-8,
            1e-4,
        );
        for j in 0..2 {
            close(
                &format!("{name} b{j}"),
                fit.fit.params[j],
                f(&nb["params"][j]),
                1e-4,
                1e-4,
            );
            close(
                &format!("{name} se{j}"),
                fit.fit.cov[j * 2 + j].sqrt(),
                f(&nb["bse"][j]),
                1e-4,
                1e-4,
            );
        }
    }
}

#[test]
fn controlled_ratio_of_rate_ratios_matches_statsmodels() {
    let fx = load("rate_ratio.json");
    for case in fx["controlled"].as_array().expect("controlled") {
        let name = case["name"].as_str().expect("name");
        let (rr, od) = compare_periods_controlled(
            &uv(&case["target_before"]),
            &uv(&case["target_after"]),
            &uv(&case["control_before"]),
            &uv(&case["control_after"]),
            &RateRatioConfig::default(),
        )
        .expect(name);
        close(
            &format!("{name} ct t"),
            od.ct_t,
            f(&case["ct"]["t"]),
            1e-6,
            1e-4,
        );
        let overdispersed = f(&case["ct"]["p"]) < 0.05;
        let want = if overdispersed {
            &case["nb"]
        } else {
            &case["poisson"]
        };
        let tol = if overdispersed { 1e-4 } else { 1e-6 };
        assert_eq!(
            matches!(rr.model, RateModel::NegativeBinomial { .. }),
            overdispersed,
            "{name}"
        );
        close(
            &format!("{name} b3"),
            rr.log_rr.expect("fit"),
            f(&want["params"][3]),
            tol,
            1e-4,
        );
        close(
            &format!("{name} se3"),
            rr.log_rr_se.expect("fit"),
            f(&want["bse"][3]),
            tol,
            1e-4,
        );
        close(
            &format!("{name} p"),
            rr.p_value,
            f(&want["pvalue"]),
            tol,
            1e-12,
        );
    }
}
