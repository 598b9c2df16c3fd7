//! Who is calling: bearer tokens, checked by the engine (which stores only their hashes).
//!
//! Handlers take [`ApiCaller`] (always needs a token; errors in `/api/v1`'s shape) or
//! [`HmaCaller`] (needs a token unless `hma.require_auth = false`; errors in HMA's shape). Being
//! extractors, they run before the body is read: an unauthenticated upload is refused without
//! receiving the file.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use takedown_engine::Caller;

use crate::error::{ApiError, HmaError};
use crate::state::AppState;

/// An authenticated caller of `/api/v1`.
#[derive(Debug, Clone)]
pub struct ApiCaller(pub Caller);

/// A caller of an HMA-compatible route: authenticated, or a trusted-network client when HMA
/// authentication is off and no token was sent.
#[derive(Debug, Clone)]
pub struct HmaCaller(pub Caller);

/// The token in `Authorization: Bearer TOKEN`, or why there is none.
fn bearer_token(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let Some(value) = parts.headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| ApiError::unauthenticated("the Authorization header is not valid text"))?;
    let (scheme, token) = text.trim().split_once(' ').unwrap_or((text.trim(), ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::unauthenticated(
            "the Authorization header must be `Bearer TOKEN`",
        ));
    }
    Ok(Some(token.trim()))
}

async fn authenticate(state: &AppState, token: &str) -> Result<Caller, ApiError> {
    Ok(state.engine().authenticate(token).await?)
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match bearer_token(parts)? {
            Some(token) => Ok(ApiCaller(authenticate(state, token).await?)),
            None => Err(ApiError::unauthenticated(
                "no bearer token: send `Authorization: Bearer TOKEN`",
            )),
        }
    }
}

impl FromRequestParts<AppState> for HmaCaller {
    type Rejection = HmaError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HmaError> {
        match bearer_token(parts)? {
            // A token is honoured even when authentication is off, so a curator can use the
            // HMA curation routes on a trusted network too.
            Some(token) => Ok(HmaCaller(authenticate(state, token).await?)),
            None if !state.config().hma.require_auth => Ok(HmaCaller(Caller::trusted_network())),
            None => Err(HmaError(ApiError::unauthenticated(
                "no bearer token: send `Authorization: Bearer TOKEN` \
                 (or set hma.require_auth = false on a trusted network)",
            ))),
        }
    }
}
