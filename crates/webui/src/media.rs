//! Media previews behind the wellbeing guard, the observed-media proxy, and the exposure
//! counter's endpoint.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use maud::{html, Markup};
use takedown_fetch::FetchOutcome;
use takedown_model::Permission;
use takedown_store::referrals::ObservationId;

use crate::layout::UiError;
use crate::session::{Signed, CSRF_HEADER};
use crate::UiState;

/// A preview blurred and greyscale until its button is pressed; audio and video muted, never
/// autoplaying, loaded only on demand.
pub fn guard(src: &str, content_type: Option<&str>, what: &str) -> Markup {
    let kind = content_type.unwrap_or("image/").to_ascii_lowercase();
    html! {
        div.guard {
            @if kind.starts_with("video/") {
                video src=(src) controls muted preload="none" playsinline aria-label=(what) {}
            } @else if kind.starts_with("audio/") {
                audio src=(src) controls muted preload="none" aria-label=(what) {}
            } @else {
                img src=(src) alt=(what) loading="lazy" decoding="async";
            }
            button.reveal.secondary type="button" { "Reveal this item" }
            span.note aria-hidden="true" { "Blurred for your wellbeing" }
        }
    }
}

/// Why a medium cannot be shown, as plain text.
fn unavailable(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        message.to_string(),
    )
        .into_response()
}

/// `GET /ui/media/observation/{id}`: the observed medium, fetched again through the guarded
/// fetcher (takedown keeps fingerprints, not copies), served only as an image, video or audio
/// type, never cached, sandboxed.
pub async fn observation(
    State(state): State<UiState>,
    signed: Signed,
    Path(id): Path<i64>,
) -> Result<Response, UiError> {
    signed.caller.require(Permission::Review)?;
    let observation = state
        .engine()
        .store()
        .observation(ObservationId(id))
        .await?;
    if signed.caller.org.is_some_and(|org| org != observation.org) {
        return Err(UiError::not_found(format!("observation {id} not found")));
    }
    let url = observation
        .media_url
        .clone()
        .unwrap_or_else(|| observation.url.clone());
    let target = match state.fetcher().parse_url(&url) {
        Ok(target) => target,
        Err(error) => return Ok(unavailable(StatusCode::BAD_REQUEST, &error.to_string())),
    };
    let report = state.fetcher().fetch(&target).await;
    let live = match report.outcome {
        FetchOutcome::Live(live) if !live.truncated => live,
        FetchOutcome::Live(_) => {
            return Ok(unavailable(StatusCode::PAYLOAD_TOO_LARGE, "too large"))
        }
        _ => {
            return Ok(unavailable(
                StatusCode::NOT_FOUND,
                "the medium is no longer available at its URL",
            ))
        }
    };
    let content_type = live
        .content_type
        .as_deref()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !(content_type.starts_with("image/")
        || content_type.starts_with("video/")
        || content_type.starts_with("audio/"))
        || content_type.contains("svg")
    {
        return Ok(unavailable(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not an image, video or audio file",
        ));
    }
    let mut response = live.body.to_vec().into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    Ok(response)
}

/// `POST /ui/exposure` (from the script, CSRF token in a header): counts one reveal and
/// answers `{"today": N}`.
pub async fn record_exposure(
    State(state): State<UiState>,
    signed: Signed,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    let given = headers
        .get(CSRF_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    signed.session.check_csrf(given)?;
    let today = state.engine().clock().now().date_naive();
    let count = state.exposures().record(&signed.session.reviewer, today);
    Ok(Json(serde_json::json!({ "today": count })).into_response())
}
