//! takedown's own API, under `/api/v1`: everything HMA lacks (organisations and sharing,
//! labels, search and paging, bulk import and export, tokens, the audit log).
//!
//! One module per area, each with a `routes()` function returning its documented routes;
//! a later area (referrals, operations) adds a module and one `.merge` line here. Errors are
//! `{"error": "...", "status": N, "field": "..."}` everywhere (see [`crate::error`]).

mod admin;
mod banks;
mod content;
mod lookup;
mod operations;
mod referrals;
mod transfer;

use takedown_model::SignalType;
use utoipa_axum::router::OpenApiRouter;

use crate::config::ByteSize;
use crate::error::ErrorShape;
use crate::state::AppState;

/// The prefix of every route in this module.
pub const PREFIX: &str = "/api/v1";

/// Every `/api/v1` route, with request-body limits: `upload_limit` for all but bulk import,
/// which takes files up to `import_limit` (spooled to disk, never held in memory).
pub fn routes(upload_limit: ByteSize, import_limit: ByteSize) -> OpenApiRouter<AppState> {
    let general = OpenApiRouter::new()
        .merge(banks::routes())
        .merge(content::routes())
        .merge(lookup::routes())
        .merge(transfer::export_routes())
        .merge(admin::routes())
        .merge(referrals::routes())
        .merge(operations::routes())
        .merge(crate::openapi::routes());
    let general = crate::limit_layers(general, upload_limit, ErrorShape::Api);
    let import = crate::limit_layers(
        transfer::import_routes().merge(operations::import_routes()),
        import_limit,
        ErrorShape::Api,
    );
    OpenApiRouter::new().nest(PREFIX, general.merge(import))
}

/// The version of takedown's implementation of a signal type, stored with each signal so
/// that a change of algorithm never silently mixes incompatible hashes. (The engine keeps the
/// same table privately; see the report asking for it to be public.)
pub(crate) fn algorithm_version(signal_type: SignalType) -> u32 {
    match signal_type {
        SignalType::Pdq => takedown_signals::pdq::ALGORITHM.version,
        _ => 1,
    }
}
