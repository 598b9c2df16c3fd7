//! Media by URL (HMA's `url=` parameters, `/api/v1` add-by-URL): fetched through
//! `takedown-fetch`, whose address guard refuses loopback, private, link-local and cloud
//! metadata addresses unless the operator allowlisted them (metadata never), and whose outcomes
//! become clear client errors here.

use axum::http::StatusCode;
use takedown_fetch::{FetchOutcome, RemovedReason, UnreachableReason};

use crate::error::ApiError;
use crate::state::AppState;

/// Bytes fetched from a URL, with the type the server declared.
#[derive(Debug)]
pub struct Fetched {
    /// The body.
    pub bytes: Vec<u8>,
    /// `Content-Type` as sent.
    pub content_type: Option<String>,
    /// The URL that served it, after redirects.
    pub final_url: String,
}

/// Fetches `url` (from request field `field`) for hashing.
///
/// | outcome | answer |
/// |---|---|
/// | not an http(s) URL, credentials in it, too long | 400 naming the field |
/// | refused by the address guard (nothing is sent) | 400 naming the address and its range |
/// | 404 / 410 / 451 / a provider's removed page | 400 "the content is gone" |
/// | body over `fetch.max_body_bytes` | 413 |
/// | DNS, connection, timeout, TLS or HTTP failure | 502 with the reason |
pub async fn fetch_media(state: &AppState, field: &str, url: &str) -> Result<Fetched, ApiError> {
    let target = state
        .fetcher()
        .parse_url(url)
        .map_err(|error| ApiError::invalid(field, error))?;
    let report = state.fetcher().fetch(&target).await;
    match report.outcome {
        FetchOutcome::Live(live) => {
            if live.truncated {
                return Err(ApiError::too_large(format!(
                    "{field}: the file at the URL is larger than fetch.max_body_bytes ({} bytes)",
                    state.fetcher().config().max_body_bytes
                )));
            }
            Ok(Fetched {
                bytes: live.body.to_vec(),
                content_type: live.content_type,
                final_url: live.final_url,
            })
        }
        FetchOutcome::Blocked(blocked) => Err(ApiError::invalid(
            field,
            format!("refused to fetch {}: {}", blocked.url, blocked.reason),
        )),
        FetchOutcome::Removed(removed) => {
            let why = match &removed.reason {
                RemovedReason::Http404 => "404 Not Found".to_string(),
                RemovedReason::Http410 => "410 Gone".to_string(),
                RemovedReason::Http451 => "451 Unavailable For Legal Reasons".to_string(),
                RemovedReason::ProviderPage { rule } => format!("a removed-content page ({rule})"),
            };
            Err(ApiError::invalid(
                field,
                format!("the content is gone: {} answered {why}", removed.final_url),
            ))
        }
        FetchOutcome::Unreachable(unreachable) => {
            let why = match unreachable.reason {
                UnreachableReason::Dns => "the name did not resolve".to_string(),
                UnreachableReason::Connect => "no connection".to_string(),
                UnreachableReason::Timeout => "timed out".to_string(),
                UnreachableReason::Tls => "the TLS handshake failed".to_string(),
                UnreachableReason::Protocol => "the server spoke broken HTTP".to_string(),
                UnreachableReason::Interrupted => "the transfer was interrupted".to_string(),
                UnreachableReason::TooManyRedirects => "too many redirects".to_string(),
                UnreachableReason::HttpStatus(status) => format!("the server answered {status}"),
            };
            Err(ApiError {
                status: StatusCode::BAD_GATEWAY,
                message: format!("{field}: cannot fetch {url}: {why}"),
                field: Some(field.to_string()),
            })
        }
    }
}
