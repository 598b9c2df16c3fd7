//! Liveness and readiness, as HMA answers them (plain text for load balancers).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;

use crate::state::AppState;

/// Readiness: 200 `I-AM-ALIVE` once the matching index is loaded, 503 `INDEX-LOADING` before.
/// The server listens at once and loads in the background, so a load balancer keeps traffic
/// away until lookups can be answered.
#[utoipa::path(
    get,
    path = "/status",
    tag = "Service",
    responses(
        (status = 200, description = "Ready", content_type = "text/plain", body = String, example = "I-AM-ALIVE"),
        (status = 503, description = "The index is still loading", content_type = "text/plain", body = String, example = "INDEX-LOADING"),
    )
)]
pub async fn status(State(state): State<AppState>) -> impl IntoResponse {
    if state.engine().is_ready() {
        (StatusCode::OK, "I-AM-ALIVE")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "INDEX-LOADING")
    }
}

/// Liveness: 200 whenever the process answers.
#[utoipa::path(
    get,
    path = "/status/live",
    tag = "Service",
    responses((status = 200, description = "The process is up", content_type = "text/plain", body = String, example = "I-AM-ALIVE"))
)]
pub async fn live() -> impl IntoResponse {
    (StatusCode::OK, "I-AM-ALIVE")
}
