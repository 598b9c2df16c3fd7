//! Match an upload, a URL or a hash against the banks; results with distance and labels.

use axum::extract::{Multipart as AxumMultipart, State};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use maud::{html, Markup};
use takedown_engine::MatchHit;

use crate::layout::{csrf_input, encode, page, UiError};
use crate::media::guard;
use crate::pages::{fetch_bytes, labels_text, short, source_fields, Multipart};
use crate::session::Signed;
use crate::UiState;

/// What was asked and found.
struct Outcome {
    /// The query's own fingerprints, as (name, value) lines.
    query: Vec<(String, String)>,
    /// A preview of the queried file (a `data:` URL), when it is an image.
    preview: Option<String>,
    hits: Vec<MatchHit>,
    note: Option<String>,
}

/// The MIME type of an image, from its magic bytes (only types browsers display).
fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() > 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"BM") {
        Some("image/bmp")
    } else {
        None
    }
}

fn match_form(signed: &Signed) -> Markup {
    html! {
        form.stack method="post" action="/ui/match" enctype="multipart/form-data" aria-labelledby="match-heading" {
            (csrf_input(&signed.session))
            h2 #match-heading { "What to match" }
            (source_fields("match", "A URL (fetched by the server through its address guard)"))
            div { button type="submit" { "Match" } }
        }
    }
}

/// `GET /ui/match`.
pub async fn form_page(state: &UiState, signed: &Signed) -> Response {
    page(state, signed, "Match", "Match", match_form(signed))
}

/// `GET /ui/match`.
pub async fn form(State(state): State<UiState>, signed: Signed) -> Response {
    form_page(&state, &signed).await
}

async fn run(state: &UiState, signed: &Signed, form: Multipart) -> Result<Outcome, UiError> {
    let engine = state.engine();
    form.require_one_source()?;
    if !form.text("value").is_empty() {
        let hits = engine
            .lookup_signal(
                &signed.caller,
                form.text("signal_type"),
                form.text("value"),
                None,
            )
            .await?;
        return Ok(Outcome {
            query: vec![(
                form.text("signal_type").to_string(),
                form.text("value").to_string(),
            )],
            preview: None,
            hits,
            note: None,
        });
    }
    let bytes = match form.file {
        Some(bytes) => bytes,
        None => fetch_bytes(state, form.text("url")).await?,
    };
    let preview = image_type(&bytes).map(|mime| {
        format!(
            "data:{mime};base64,{}",
            base64::engine::general_purpose::STANDARD.encode(&bytes)
        )
    });
    let report = engine.match_bytes(&signed.caller, bytes, None).await?;
    let mut query = vec![
        ("md5".to_string(), report.fingerprints.digests.md5.clone()),
        (
            "sha256".to_string(),
            report.fingerprints.digests.sha256.clone(),
        ),
    ];
    if let Some(image) = report.fingerprints.image() {
        query.insert(0, ("pdq".to_string(), image.pdq.hash.to_hex()));
        query.insert(
            1,
            ("pdq quality".to_string(), image.pdq.quality.to_string()),
        );
    }
    let note = report.pdq_skipped_low_quality.then(|| {
        "The image is too flat for a reliable PDQ hash; only exact digests were matched."
            .to_string()
    });
    Ok(Outcome {
        query,
        preview,
        hits: report.hits,
        note,
    })
}

/// `POST /ui/match` (multipart).
pub async fn submit(
    State(state): State<UiState>,
    signed: Signed,
    multipart: AxumMultipart,
) -> Response {
    let form_data = match Multipart::read(multipart).await {
        Ok(form) => form,
        Err(error) => return error.into_response(),
    };
    if let Err(error) = signed.session.check_csrf(form_data.text("csrf")) {
        return error.into_response();
    }
    let outcome = match run(&state, &signed, form_data).await {
        Ok(outcome) => outcome,
        Err(error) => {
            signed.session.flash("error", error.message);
            return form_page(&state, &signed).await;
        }
    };
    let mut labelled = Vec::new();
    for hit in &outcome.hits {
        let labels = state
            .engine()
            .content(&signed.caller, hit.content)
            .await
            .map(|content| labels_text(&content.labels))
            .unwrap_or_else(|_| "—".into());
        labelled.push((hit, labels));
    }
    let content = html! {
        section #results aria-labelledby="results-heading" {
            h2 #results-heading {
                @match outcome.hits.len() {
                    0 => { "No match" },
                    1 => { "1 match" },
                    n => { (n) " matches" },
                }
            }
            @if let Some(note) = &outcome.note { p.flash.error { (note) } }
            div.case {
                div {
                    @if let Some(preview) = &outcome.preview {
                        (guard(preview, Some("image/"), "the file you matched"))
                    } @else {
                        p.hint { "No preview (not an image, or matched by hash)." }
                    }
                }
                div {
                    h3 { "Query" }
                    table {
                        tbody {
                            @for (name, value) in &outcome.query {
                                tr { th scope="row" { (name) } td { code { (value) } } }
                            }
                        }
                    }
                }
            }
            @if !labelled.is_empty() {
                table #hits {
                    thead { tr {
                        th scope="col" { "Bank" } th scope="col" { "Item" } th scope="col" { "Signal" }
                        th scope="col" { "Distance" } th scope="col" { "Labels" } th scope="col" { "Bank hash" }
                    } }
                    tbody {
                        @for (hit, labels) in &labelled {
                            tr {
                                td { a href={"/ui/banks/" (encode(hit.bank_name.as_str()))} { (hit.bank_name.as_str()) } }
                                td { a href={"/ui/banks/" (encode(hit.bank_name.as_str())) "?by=hash&q=" (encode(&hit.value))} { (hit.content.0) } }
                                td { (hit.signal_type.as_str()) }
                                td.distance { (hit.distance) }
                                td { (labels) }
                                td { code title=(hit.value) { (short(&hit.value)) } }
                            }
                        }
                    }
                }
            }
        }
        (match_form(&signed))
    };
    page(&state, &signed, "Match", "Match", content)
}

#[cfg(test)]
mod tests {
    use super::image_type;

    #[test]
    fn image_types_from_magic_bytes() {
        assert_eq!(image_type(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(image_type(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(image_type(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(image_type(b"<svg onload=alert(1)>"), None);
    }
}
