//! Segmented regression with Newey-West errors against statsmodels
//! `OLS(y, X).fit(cov_type='HAC', cov_kwds={'maxlags': L, 'use_correction': c}, use_t=True)`,
//! fixture `fixtures/its.json`. Closed form: tolerance 1e-8 relative (1e-7 for p-values and
//! intervals, which go through the t distribution).

mod common;
use common::*;
use takedown_analytics::{
    segmented_regression, segmented_regression_controlled, HacLags, ItsConfig,
};

#[test]
fn its_matches_statsmodels_hac() {
    let fx = load("its.json");
    for case in fx["cases"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        let lags = case["lags"].as_u64().expect("lags") as usize;
        let auto = case["auto_lags"].as_u64().expect("auto") as usize;
        let corr = case["use_correction"].as_bool().expect("corr");
        let y = fv(&case["y"]);
        assert_eq!(HacLags::Auto.lags(y.len()), auto, "{name}: lag rule");
        let cfg = ItsConfig {
            lags: HacLags::Fixed(lags),
            small_sample_correction: corr,
            confidence: 0.95,
        };
        let fit = segmented_regression(&y, &fv(&case["t"]), f(&case["t0"]), &cfg).expect(name);
        let what = format!("{name} L={lags} corr={corr}");
        close(
            &format!("{what} r2"),
            fit.r_squared,
            f(&case["rsquared"]),
            1e-8,
            1e-9,
        );
        assert_eq!(fit.df_resid as f64, f(&case["df_resid"]));
        for (j, c) in fit.coefficients.iter().enumerate() {
            close(
                &format!("{what} b{j}"),
                c.estimate,
                f(&case["params"][j]),
                1e-8,
                1e-9,
            );
            close(
                &format!("{what} se{j}"),
                c.se,
                f(&case["bse"][j]),
                1e-8,
                1e-9,
            );
            close(
                &format!("{what} t{j}"),
                c.t,
                f(&case["tvalues"][j]),
                1e-8,
                1e-9,
            );
            close(
                &format!("{what} p{j}"),
                c.p_value,
                f(&case["pvalues"][j]),
                1e-7,
                1e-12,
            );
            close(
                &format!("{what} lo{j}"),
                c.ci_low,
                f(&case["conf_int"][j][0]),
                1e-7,
                1e-6,
            );
            close(
                &format!("{what} hi{j}"),
                c.ci_high,
                f(&case["conf_int"][j][1]),
                1e-7,
                1e-6,
            );
        }
    }
}

#[test]
fn controlled_its_is_the_difference_series() {
    let fx = load("its.json");
    let c = &fx["controlled"];
    let controls: Vec<Vec<f64>> = c["controls"]
        .as_array()
        .expect("controls")
        .iter()
        .map(fv)
        .collect();
    let cfg = ItsConfig {
        lags: HacLags::Fixed(3),
        ..ItsConfig::default()
    };
    let fit = segmented_regression_controlled(
        &fv(&c["target"]),
        &controls,
        &fv(&c["t"]),
        f(&c["t0"]),
        &cfg,
    )
    .expect("fit");
    for j in 0..4 {
        close(
            &format!("b{j}"),
            fit.coefficients[j].estimate,
            f(&c["params"][j]),
            1e-8,
            1e-9,
        );
        close(
            &format!("se{j}"),
            fit.coefficients[j].se,
            f(&c["bse"][j]),
            1e-8,
            1e-9,
        );
        close(
            &format!("p{j}"),
            fit.coefficients[j].p_value,
            f(&c["pvalues"][j]),
            1e-7,
            1e-12,
        );
    }
}
