//! Impact statistics for takedown: did a disruption operation change an outlet's output, and
//! how fast do hosting providers remove referred URLs?
//!
//! Pure functions over in-memory records ([`Release`], [`Operation`], [`UrlRecord`]); no I/O,
//! no database. Every result type derives `serde::Serialize`: they are the report's wire
//! format. Every routine is tested against values computed by statsmodels, SciPy, lifelines
//! and ruptures (`fixtures/make_fixtures.py` writes them; `tests/` compares).
//!
//! Times are UTC. A day is a UTC calendar day; windows are whole days.
//!
//! # Output series ([`series`])
//! Releases bucketed per day or hour over a window, every bucket present (zero-filled), in
//! total and per medium and channel. Zero days are data: an outlet that stopped publishing
//! shows as a run of zeros, not as missing rows.
//!
//! # Before / after ([`before_after`])
//! Windows (default 30 days each side) end the day before the operation and start the day
//! after it; the operation's own days are left out by default ([`WindowConfig`]). Daily counts
//! are modelled as `log E[y_d] = b0 + b1 after_d` and the rate ratio is `exp(b1)`.
//! * **Poisson GLM** (IRLS) with a Wald interval `exp(b1 +- z se)` and a two-sided Wald test.
//!   The Poisson rate ratio equals the ratio of the window rates.
//! * **Overdispersion**: daily propaganda output is bursty (campaigns, holidays), so the
//!   Poisson variance is often too small and its interval too narrow. The Cameron-Trivedi
//!   (1990) auxiliary regression of `((y - mu)^2 - y)/mu` on `mu` (no intercept) tests
//!   `Var = mu + alpha mu^2` against `alpha = 0`; one-sided at 5% by default. The Pearson
//!   chi2/df is reported alongside.
//! * **NB2 negative binomial** when overdispersed: coefficients and alpha by joint maximum
//!   likelihood (Newton with step halving; gamma-function differences as exact finite sums so
//!   nothing cancels at small alpha), Wald interval from the observed information.
//!   [`RateModel`] says which model was used and `reason` says why, with the statistics.
//! * **No events in a window** (0 statements after the operation): the log-linear coefficient
//!   is infinite. The exact conditional method is used instead: given the total `N`, the count
//!   after is `Binomial(N, pi)`, `pi = RR t_a/(RR t_a + t_b)`; the Clopper-Pearson interval for
//!   `pi` maps to an exact interval for the rate ratio (lower limit 0 when nothing happened
//!   after) and the exact binomial test gives the p-value. It assumes Poisson counts. It is
//!   also always reported next to the model estimate.
//! * **Controls**: the ratio of rate ratios (target's over the summed controls') from the
//!   pooled model with a period x group interaction: a difference-in-differences on the log
//!   scale, absorbing changes that hit every outlet (platform-wide moderation, holidays).
//!
//! # Interrupted time series ([`its`])
//! Segmented OLS `y_t = b0 + b1 t + b2 post_t + b3 (t - T0) post_t`: `b2` is the level change at
//! the operation, `b3` the change in daily trend. Daily counts are autocorrelated, so standard
//! errors are Newey-West HAC (Bartlett kernel) with `floor(4 (n/100)^(2/9))` lags by default
//! (configurable), p-values and intervals from Student t with `n - 4` df. OLS is solved by
//! Householder QR. With controls the same regression is run on the target minus the controls'
//! mean (see [`its::segmented_regression_controlled`] for why a difference series). The model
//! is linear in counts: an outlet's output near zero after an operation breaks the linear
//! trend assumption, so read `b3` with the plot.
//!
//! # Changepoints ([`changepoint`])
//! PELT (Killick et al. 2012) finds the segmentation minimising the sum of segment costs plus
//! a penalty per change; exact, usually linear time. Costs: Poisson (default; counts with a
//! piecewise-constant rate) or normal mean (ruptures' `l2`). The default penalty is BIC-like,
//! `2 ln n` on the `-2 log L` scale. Changes are reported as dates, so a report can set them
//! next to the operation date: a change found by a method that was not told the date is
//! independent support for an effect (or shows the output had changed already).
//!
//! # Channel shift ([`channels`])
//! Per channel counts and shares before and after, a chi-squared homogeneity test (no
//! continuity correction; the smallest expected count is given because the test is doubtful
//! below 5), and every item in the after window that came through a channel not used in the
//! before window (or ever before): the "video through an unusual channel".
//!
//! # Time to removal ([`survival`])
//! Kaplan-Meier curves of hours from referral to removal; URLs still up are right-censored at
//! their last check. Greenwood variance, log-log ("exponential Greenwood") 95% pointwise band,
//! quantiles (25/50/75/90% removed) with intervals by inverting the band. Removal is only known
//! to lie between the last check that saw the URL live and the first that saw it gone, so two
//! curves are given: the naive one (first seen removed; later than the truth) and the bound
//! (last seen live; earlier). The gap between them is the check interval's uncertainty.
//! Curves per provider, outlet or tier. A removal rate is only ever stated with the time it was
//! measured ([`survival::removal_snapshot`]).
//!
//! # Charts ([`svg`])
//! Self-contained deterministic SVG strings: daily series with the operation and changepoints
//! marked, before/after rates with interval whiskers, Kaplan-Meier steps with bands.
//!
//! # Special functions ([`special`])
//! Log-gamma, incomplete gamma and beta, normal, t, chi-squared and beta distributions are
//! implemented here (checked against SciPy) rather than pulled in as a dependency.

pub mod before_after;
pub mod changepoint;
pub mod channels;
pub mod data;
pub mod glm;
pub mod impact;
pub mod its;
mod linalg;
pub mod series;
pub mod special;
pub mod survival;
pub mod svg;

pub use before_after::{
    compare_periods, compare_periods_controlled, exact_rate_ratio, PeriodComparison, RateModel,
    RateRatio, RateRatioConfig,
};
pub use changepoint::{pelt, PeltConfig, Penalty, SegmentCost, Segmentation};
pub use channels::{channel_shift, ChannelShift, NewChannelScope};
pub use data::{DayRange, Medium, Operation, Release, WindowConfig, Windows};
pub use impact::{analyze_operation, ImpactConfig, OperationImpact, OutletImpact};
pub use its::{segmented_regression, segmented_regression_controlled, HacLags, ItsConfig, ItsFit};
pub use series::{
    bucket_events, daily_output, hourly_output, output_series, OutputSeries, Resolution, Series,
};
pub use survival::{
    kaplan_meier, removal_snapshot, time_to_removal, time_to_removal_by, GroupBy, KmCurve,
    RemovalSnapshot, TimeToRemoval, UrlRecord,
};

/// Why an analysis could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnalyticsError {
    /// A window has no days (or no observations).
    #[error("empty window: {0}")]
    EmptyWindow(String),
    /// Neither window has any event: a rate ratio is undefined.
    #[error("no events in either window: the rate ratio is undefined")]
    NoEvents,
    /// A window that the model needs events in has none.
    #[error("no events in the {0} window")]
    ZeroWindow(String),
    /// Too few observations for the model.
    #[error("too few observations: need at least {needed}, have {have}")]
    TooFewObservations {
        /// Needed.
        needed: usize,
        /// Had.
        have: usize,
    },
    /// The design matrix or information matrix is singular.
    #[error("singular design: {0}")]
    SingularDesign(String),
    /// An iterative fit did not converge.
    #[error("fit did not converge: {0}")]
    NoConvergence(String),
    /// Every observation is censored: no removal was seen, so no curve can be estimated.
    #[error("every URL is censored (none seen removed): no survival curve")]
    AllCensored,
    /// Input is malformed.
    #[error("invalid input: {0}")]
    InvalidInput(String),
}
