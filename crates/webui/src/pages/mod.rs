//! One module per page. Handlers take [`Signed`](crate::session::Signed) (which redirects to
//! sign-in when there is no live session), call the engine, the referral workflow or the impact
//! crate, and render with [`crate::layout::page`]. POST handlers check the CSRF token first and
//! answer with a redirect carrying a one-time message (post/redirect/get).

pub mod audit;
pub mod banks;
pub mod dashboard;
pub mod matching;
pub mod operations;
pub mod referrals;
pub mod review;
pub mod signin;

use axum::response::{IntoResponse, Response};
use takedown_referrals::Referrals;

use crate::layout::UiError;
use crate::UiState;

/// Any path under `/ui` that is not a page.
pub async fn not_found(uri: axum::http::Uri) -> Response {
    UiError::not_found(format!("no page at {}", uri.path())).into_response()
}

/// The referral workflow, or why the page cannot use it.
pub(crate) fn referrals(state: &UiState) -> Result<std::sync::Arc<Referrals>, UiError> {
    state.referrals().ok_or_else(|| UiError {
        status: axum::http::StatusCode::SERVICE_UNAVAILABLE,
        message: "the referral workflow is not configured on this server".into(),
    })
}

/// A form's CSRF field, for forms that carry nothing else.
#[derive(Debug, serde::Deserialize)]
pub struct CsrfOnly {
    /// The token.
    #[serde(default)]
    pub csrf: String,
}

/// A multipart form read whole: text fields, and the uploaded file if one was chosen.
#[derive(Debug, Default)]
pub(crate) struct Multipart {
    /// Text fields by name (the last value wins).
    pub fields: std::collections::HashMap<String, String>,
    /// The `file` field's bytes, when a file was chosen.
    pub file: Option<Vec<u8>>,
}

impl Multipart {
    /// Reads every part; a file larger than the upload limit fails with 413.
    pub async fn read(mut multipart: axum::extract::Multipart) -> Result<Multipart, UiError> {
        let mut form = Multipart::default();
        loop {
            let field = multipart.next_field().await.map_err(|error| UiError {
                status: error.status(),
                message: format!("cannot read the form: {}", error.body_text()),
            })?;
            let Some(field) = field else { break };
            let name = field.name().unwrap_or("").to_string();
            let has_file = field.file_name().is_some_and(|name| !name.is_empty());
            let bytes = field.bytes().await.map_err(|error| UiError {
                status: error.status(),
                message: format!("cannot read the form: {}", error.body_text()),
            })?;
            if name == "file" {
                if has_file && !bytes.is_empty() {
                    form.file = Some(bytes.to_vec());
                }
            } else {
                form.fields
                    .insert(name, String::from_utf8_lossy(&bytes).into_owned());
            }
        }
        Ok(form)
    }

    /// A text field, trimmed; empty when absent.
    pub fn text(&self, name: &str) -> &str {
        self.fields
            .get(name)
            .map(|value| value.trim())
            .unwrap_or("")
    }
}

/// Labels from a form's `entity` and `tier` fields (both optional).
pub(crate) fn labels_from(entity: &str, tier: &str) -> Result<takedown_model::Labels, UiError> {
    let tier = match tier.trim() {
        "" => None,
        text => Some(
            text.parse::<takedown_model::Tier>()
                .map_err(|error| UiError::invalid(format!("tier: {error}")))?,
        ),
    };
    Ok(takedown_model::Labels {
        entity: (!entity.trim().is_empty()).then(|| entity.trim().to_string()),
        tier,
        ..takedown_model::Labels::default()
    })
}

/// Fetches media by URL through the guarded fetcher.
pub(crate) async fn fetch_bytes(state: &UiState, url: &str) -> Result<Vec<u8>, UiError> {
    let target = state
        .fetcher()
        .parse_url(url)
        .map_err(|error| UiError::invalid(format!("url: {error}")))?;
    let report = state.fetcher().fetch(&target).await;
    match report.outcome {
        takedown_fetch::FetchOutcome::Live(live) if live.truncated => Err(UiError {
            status: axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            message: "the file at the URL is larger than the fetch limit".into(),
        }),
        takedown_fetch::FetchOutcome::Live(live) => Ok(live.body.to_vec()),
        takedown_fetch::FetchOutcome::Blocked(blocked) => Err(UiError::invalid(format!(
            "refused to fetch {}: {}",
            blocked.url, blocked.reason
        ))),
        takedown_fetch::FetchOutcome::Removed(removed) => Err(UiError::invalid(format!(
            "the content is gone from {}",
            removed.final_url
        ))),
        takedown_fetch::FetchOutcome::Unreachable(unreachable) => Err(UiError {
            status: axum::http::StatusCode::BAD_GATEWAY,
            message: format!("cannot fetch {url}: {}", unreachable.message),
        }),
    }
}

/// Labels as one line ("amaq · tier 3 · severity 5").
pub(crate) fn labels_text(labels: &takedown_model::Labels) -> String {
    let mut parts = Vec::new();
    if let Some(entity) = &labels.entity {
        parts.push(entity.clone());
    }
    if let Some(tier) = labels.tier {
        parts.push(format!("tier {tier}"));
    }
    if let Some(severity) = labels.severity {
        parts.push(format!("severity {}", severity.value()));
    }
    if let Some(confidence) = labels.confidence {
        parts.push(format!("confidence {}", confidence.value()));
    }
    if parts.is_empty() {
        "unlabelled".into()
    } else {
        parts.join(" · ")
    }
}

/// The first and last characters of a long hash.
pub(crate) fn short(value: &str) -> String {
    if value.chars().count() <= 20 {
        value.to_string()
    } else {
        let head: String = value.chars().take(10).collect();
        let tail: String = value
            .chars()
            .rev()
            .take(6)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("{head}…{tail}")
    }
}

/// The "one of a file, a URL or a hash" fieldset of the add and match forms; element ids start
/// with `prefix`.
pub(crate) fn source_fields(prefix: &str, url_label: &str) -> maud::Markup {
    maud::html! {
        fieldset {
            legend { "One of" }
            div.field {
                label for={(prefix) "-file"} { "A file" }
                input id={(prefix) "-file"} type="file" name="file" accept="image/*,video/*,audio/*";
            }
            div.field {
                label for={(prefix) "-url"} { (url_label) }
                input id={(prefix) "-url"} type="url" name="url" placeholder="https://…";
            }
            div.field {
                label for={(prefix) "-type"} { "A hash of type" }
                select id={(prefix) "-type"} name="signal_type" {
                    @for signal_type in takedown_model::SignalType::ALL {
                        option value=(signal_type.as_str()) { (signal_type.as_str()) }
                    }
                }
                label for={(prefix) "-value"} { "Hash value" }
                input id={(prefix) "-value"} type="text" name="value" spellcheck="false";
            }
        }
    }
}

impl Multipart {
    /// Fails unless exactly one of a file, a URL or a hash value was given.
    pub fn require_one_source(&self) -> Result<(), UiError> {
        let given = [
            self.file.is_some(),
            !self.text("url").is_empty(),
            !self.text("value").is_empty(),
        ];
        if given.iter().filter(|given| **given).count() == 1 {
            Ok(())
        } else {
            Err(UiError::invalid(
                "give exactly one of a file, a URL or a hash value",
            ))
        }
    }
}
