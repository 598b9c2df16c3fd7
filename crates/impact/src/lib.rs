//! Impact measurement for takedown: did a disruption operation change what an outlet
//! publishes, and how fast do providers remove what is referred?
//!
//! `takedown-analytics` holds the statistics as pure functions over in-memory records. This
//! crate is everything around them:
//!
//! * **Data** ([`log`], [`operation`]): release logs (what each outlet published: time,
//!   medium, language, channel, title, optional fingerprints) imported from CSV or JSON lines
//!   through `takedown-exchange` into the store's release tables, all rows or none, idempotent
//!   on re-import; releases recorded from confirmed observations
//!   ([`log::record_release_from_observation`]); operations (action days) with their targets,
//!   controls, organisations and infrastructure.
//! * **Reports** ([`report`], [`transparency`]): an operation report that loads the
//!   operation and its outlets' releases from the store, runs every analysis
//!   ([`takedown_analytics::analyze_operation`] plus hourly series and the controls' own
//!   comparisons) and renders a self-contained, print-friendly, accessible HTML page (inline
//!   CSS and SVG, no script, no external asset) and a JSON twin holding the analytics' result
//!   types and every input (windows, outlets, controls, configuration); and a transparency
//!   report in the shape TCAP and Europol publish, with the figures Regulation (EU) 2021/784
//!   asks competent authorities to publish, each marked as taken from takedown's data or
//!   entered manually.
//! * **Demo data** ([`demo`]): a seeded synthetic release log shaped like the April 2018
//!   action against Amaq, and [`demo::load_demo_impact`] to write it and its operation into a
//!   store.
//!
//! # Flow
//!
//! `takedown report operation NAME` → [`report::operation_report`] reads the operation,
//! computes its windows, loads the targets' and controls' releases up to the end of the after
//! window (the targets' whole history before it too: "a channel never used before" means
//! never, not just not in the before window) → [`report::build_operation_report`] (pure: the
//! same inputs give the same report) → [`report::render_html`] and [`report::to_json`].
//!
//! # Why the report is built from a value
//!
//! The HTML page, the JSON twin and the HTTP API (`GET /api/v1/operations/{name}/report`) all
//! show one [`report::OperationReport`]: the page cannot say something the JSON does not, and
//! tests check the numbers on the value and their presence on the page.
//!
//! # Referral data
//!
//! Time to removal (Kaplan-Meier per provider, outlet and tier), the referral figures of the
//! transparency report and releases from confirmed observations read the referral
//! workflow's records through the store's `ReferralStore` ([`referral_data`]): referred URLs
//! with their checks, sent referrals and removal orders, confirmed cases with their
//! observations. With no referral data at all the sections say "no referral data" instead of
//! showing zeros.

pub mod demo;
mod html;
pub mod log;
pub mod operation;
pub mod referral_data;
pub mod removal;
pub mod report;
pub mod transparency;
pub mod wire;

pub use demo::{load_demo_impact, DemoImpactSummary, DEMO_OPERATION, DEMO_SEED};
pub use log::{
    import_release_log, load_for_analysis, load_releases, record_release_from_observation,
    ObservedRelease,
};
pub use report::{
    build_operation_report, operation_report, render_html, to_json, OperationReport, ReportOptions,
};

use takedown_analytics::AnalyticsError;
use takedown_store::StoreError;

/// Why an impact operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ImpactError {
    /// The store refused or failed (not found, conflict, bad row with its line, ...).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An analysis could not run at all (a single outlet's failure is a note in the report,
    /// not this error).
    #[error("analysis failed: {0}")]
    Analytics(#[from] AnalyticsError),
    /// A request is wrong (a bad date, an unknown infrastructure kind, ...).
    #[error("{0}")]
    Invalid(String),
    /// A report file could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A report could not be serialised.
    #[error("cannot serialise the report: {0}")]
    Json(#[from] serde_json::Error),
}
