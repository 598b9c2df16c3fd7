//! Referrals: a board by status and provider, creating referrals from confirmed cases, and one
//! referral with its URLs, check history, messages and export buttons.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Form;
use maud::html;
use takedown_referrals::{CreateReferrals, ExportFormat, ReferralDetail};
use takedown_store::referrals::ReferralStatus;

use crate::layout::{after_form, csrf_input, encode, maybe_time, page, time, UiError};
use crate::pages::{referrals as workflow_of, CsrfOnly};
use crate::session::Signed;
use crate::UiState;

/// Board filter.
#[derive(Debug, Default, serde::Deserialize)]
pub struct BoardQuery {
    /// Only this provider (id).
    provider: Option<i64>,
}

/// A duration in words ("3 h 12 min").
fn duration_words(duration: chrono::Duration) -> String {
    let minutes = duration.num_minutes();
    if minutes < 1 {
        format!("{} s", duration.num_seconds().max(0))
    } else if minutes < 120 {
        format!("{minutes} min")
    } else if minutes < 48 * 60 {
        format!("{} h {} min", minutes / 60, minutes % 60)
    } else {
        format!("{} days {} h", minutes / 1440, (minutes % 1440) / 60)
    }
}

/// `GET /ui/referrals`.
pub async fn board(
    State(state): State<UiState>,
    signed: Signed,
    Query(query): Query<BoardQuery>,
) -> Result<Response, UiError> {
    let workflow = workflow_of(&state)?;
    let providers = workflow.providers(&signed.caller).await?;
    let names: HashMap<i64, String> = providers.iter().map(|p| (p.id.0, p.name.clone())).collect();
    let all = workflow.referrals(&signed.caller, None, 500).await?;
    let shown: Vec<_> = all
        .iter()
        .filter(|r| query.provider.is_none_or(|id| r.provider.0 == id))
        .collect();
    let csrf = csrf_input(&signed.session);
    let content = html! {
        form.inline method="get" action="/ui/referrals" {
            div.field {
                label for="provider-filter" { "Provider" }
                select #provider-filter name="provider" {
                    option value="" { "all providers" }
                    @for provider in &providers {
                        option value=(provider.id.0) selected[query.provider == Some(provider.id.0)] { (provider.name) }
                    }
                }
            }
            button.secondary type="submit" { "Show" }
        }
        div.board #board {
            @for status in ReferralStatus::ALL {
                @let column: Vec<_> = shown.iter().filter(|r| r.status == *status).collect();
                section.column aria-label={(status.as_str()) " referrals"} {
                    h2 { (status.as_str()) " (" (column.len()) ")" }
                    ul {
                        @for referral in &column {
                            li {
                                a href={"/ui/referrals/" (encode(&referral.reference))} { (referral.reference) }
                                br;
                                (names.get(&referral.provider.0).cloned().unwrap_or_else(|| format!("provider {}", referral.provider.0)))
                                br;
                                span.hint { "created " (time(referral.created_at)) }
                            }
                        }
                    }
                }
            }
        }
        h2 #create-heading { "Refer confirmed URLs" }
        form.stack method="post" action="/ui/referrals/create" aria-labelledby="create-heading" {
            (csrf)
            p.hint { "Makes one draft per provider from every confirmed, live URL not already in an open referral." }
            div.field {
                label for="create-provider" { "Only for provider" }
                select #create-provider name="provider" {
                    option value="" { "every provider" }
                    @for provider in &providers { option value=(provider.name) { (provider.name) } }
                }
            }
            div.field {
                label for="create-note" { "Note to the provider" }
                input #create-note type="text" name="note";
            }
            div { button type="submit" { "Create referrals" } }
        }
        h2 { "Providers" }
        @if providers.is_empty() {
            p { "No provider is registered yet." }
        } @else {
            table {
                thead { tr { th scope="col" { "Provider" } th scope="col" { "Delivery" } th scope="col" { "Format" } th scope="col" { "Hosts" } } }
                tbody {
                    @for provider in &providers {
                        tr {
                            td { a href={"/ui/referrals?provider=" (provider.id.0)} { (provider.name) } }
                            td { (provider.delivery.as_str()) }
                            td { (provider.notice_format.as_str()) }
                            td { @for rule in &provider.rules { code { (rule.host_suffix) } " " } }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&state, &signed, "Referrals", "Referrals", content))
}

/// The create form.
#[derive(Debug, serde::Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    provider: String,
    #[serde(default)]
    note: String,
}

/// `POST /ui/referrals/create`.
pub async fn create(
    State(state): State<UiState>,
    signed: Signed,
    Form(form): Form<CreateForm>,
) -> Response {
    if let Err(error) = signed.session.check_csrf(&form.csrf) {
        return error.into_response();
    }
    let result = async {
        let workflow = workflow_of(&state)?;
        Ok(workflow
            .create_referrals(
                &signed.caller,
                CreateReferrals {
                    provider: (!form.provider.trim().is_empty())
                        .then(|| form.provider.trim().to_string()),
                    note: form.note.trim().to_string(),
                    ..CreateReferrals::default()
                },
            )
            .await?)
    }
    .await;
    // One new referral: show it; otherwise the board.
    let to = match &result {
        Ok(created) if created.referrals.len() == 1 => {
            format!("/ui/referrals/{}", encode(&created.referrals[0].reference))
        }
        _ => "/ui/referrals".to_string(),
    };
    after_form(&signed.session, &to, result, |created| {
        let references: Vec<&str> = created
            .referrals
            .iter()
            .map(|r| r.reference.as_str())
            .collect();
        let mut text = if references.is_empty() {
            "No referral created: nothing confirmed and live is waiting.".to_string()
        } else {
            format!("Created {}.", references.join(", "))
        };
        for skipped in &created.skipped {
            text.push_str(&format!(" Skipped {}: {}.", skipped.url, skipped.reason));
        }
        text
    })
}

fn render_detail(detail: &ReferralDetail, signed: &Signed) -> maud::Markup {
    let referral = &detail.referral;
    let key = encode(&referral.reference);
    let csrf = csrf_input(&signed.session);
    let next: Vec<ReferralStatus> = ReferralStatus::ALL
        .iter()
        .copied()
        .filter(|to| *to != ReferralStatus::Sent && referral.status.can_move_to(*to))
        .collect();
    html! {
        p { "Status " strong.status #referral-status { (referral.status.as_str()) } " · provider " strong { (detail.provider.name) }
            " (" (detail.provider.delivery.as_str()) ", " (detail.provider.notice_format.as_str()) ") · from " (detail.org_name) }
        p { "Created " (time(referral.created_at)) " by " (referral.created_by) " · sent " (maybe_time(referral.sent_at))
            " · acknowledged " (maybe_time(referral.acknowledged_at)) " · closed " (maybe_time(referral.closed_at)) }
        @if let Some(removal) = &detail.removal {
            p { "All URLs gone " (duration_words(removal.time_to_removal)) " after sending (at least "
                (duration_words(removal.at_least)) ")." }
        }
        @if !referral.note.is_empty() { p { "Note: " (referral.note) } }
        h2 #export-heading { "Export" }
        ul.pager aria-labelledby="export-heading" {
            @for format in ExportFormat::ALL {
                li { a.button.secondary href={"/ui/referrals/" (key) "/export/" (format.as_str())} download
                    data-format=(format.as_str()) { "Download " (format.as_str()) } }
            }
        }
        @if referral.status == ReferralStatus::Draft {
            form.inline method="post" action={"/ui/referrals/" (key) "/send"} {
                (csrf)
                button type="submit" { "Send to " (detail.provider.name) }
            }
        }
        @if !next.is_empty() {
            form.inline method="post" action={"/ui/referrals/" (key) "/mark"} {
                (csrf)
                div.field {
                    label for="mark-status" { "Record status" }
                    select #mark-status name="status" {
                        @for status in &next { option value=(status.as_str()) { (status.as_str()) } }
                    }
                }
                button.secondary type="submit" { "Record" }
            }
        }
        h2 { "URLs (" (detail.items.len()) ")" }
        table #referral-urls {
            thead { tr { th scope="col" { "URL" } th scope="col" { "State" } th scope="col" { "Content" }
                th scope="col" { "Last seen live" } th scope="col" { "First seen gone" } th scope="col" { "Checks" } } }
            tbody {
                @for item in &detail.items {
                    tr {
                        td { code { (item.item.url) } @if let Some(media) = &item.item.media_url { br; span.hint { "medium " code { (media) } } } }
                        td { (item.item.state.as_str()) }
                        td { (item.item.bank_name.clone().unwrap_or_default()) @if let Some(entity) = &item.item.entity { " · " (entity) }
                             @if let Some(tier) = item.item.tier { " · tier " (tier) } }
                        td { (maybe_time(item.item.last_live_at)) }
                        td { (maybe_time(item.item.first_gone_at)) }
                        td { (item.item.checks_done) " done" }
                    }
                }
            }
        }
        h2 { "Check history" }
        @for item in &detail.items {
            h3 { code { (item.item.url) } }
            @if item.checks.is_empty() {
                p.hint { "No check scheduled yet (checks start once the referral is sent)." }
            } @else {
                table {
                    thead { tr { th scope="col" { "#" } th scope="col" { "Due" } th scope="col" { "State" } th scope="col" { "Checked" }
                        th scope="col" { "Outcome" } th scope="col" { "HTTP" } } }
                    tbody {
                        @for check in &item.checks {
                            tr {
                                td { (check.sequence) }
                                td { (time(check.due_at)) }
                                td { (check.state.as_str()) }
                                td { (check.result.as_ref().map(|r| time(r.checked_at)).unwrap_or_else(|| "—".into())) }
                                td { (check.result.as_ref().map(|r| r.outcome.as_str()).unwrap_or("—")) }
                                td { (check.result.as_ref().and_then(|r| r.http_status).map(|s| s.to_string()).unwrap_or_else(|| "—".into())) }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Messages" }
        @if detail.messages.is_empty() {
            p { "Nothing sent yet." }
        } @else {
            table {
                thead { tr { th scope="col" { "Channel" } th scope="col" { "To" } th scope="col" { "State" } th scope="col" { "Attempts" }
                    th scope="col" { "Sent" } th scope="col" { "Last error" } } }
                tbody {
                    @for message in &detail.messages {
                        tr {
                            td { (message.channel.as_str()) }
                            td { (message.recipient) }
                            td { (message.state.as_str()) }
                            td { (message.attempts) }
                            td { (maybe_time(message.sent_at)) }
                            td { (message.last_error.clone().unwrap_or_default()) }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /ui/referrals/{key}`.
pub async fn detail(
    State(state): State<UiState>,
    signed: Signed,
    Path(key): Path<String>,
) -> Result<Response, UiError> {
    let workflow = workflow_of(&state)?;
    let detail = workflow.referral_detail(&signed.caller, &key).await?;
    let title = format!("Referral {}", detail.referral.reference);
    Ok(page(
        &state,
        &signed,
        "Referrals",
        &title,
        render_detail(&detail, &signed),
    ))
}

/// `GET /ui/referrals/{key}/export/{format}`: a download.
pub async fn export(
    State(state): State<UiState>,
    signed: Signed,
    Path((key, format)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let workflow = workflow_of(&state)?;
    let format: ExportFormat = format.parse()?;
    let referral = workflow.find_referral(&signed.caller, &key).await?;
    let body = workflow.export(&signed.caller, &key, format).await?;
    let file = format!(
        "{}.{}",
        referral
            .reference
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect::<String>(),
        format.extension()
    );
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `POST /ui/referrals/{key}/send`.
pub async fn send(
    State(state): State<UiState>,
    signed: Signed,
    Path(key): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Err(error) = signed.session.check_csrf(&form.csrf) {
        return error.into_response();
    }
    let to = format!("/ui/referrals/{}", encode(&key));
    let result = async { Ok(workflow_of(&state)?.send(&signed.caller, &key).await?) }.await;
    after_form(&signed.session, &to, result, |message| {
        format!(
            "Queued for delivery to {} ({}).",
            message.recipient,
            message.channel.as_str()
        )
    })
}

/// The mark form.
#[derive(Debug, serde::Deserialize)]
pub struct MarkForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    status: String,
}

/// `POST /ui/referrals/{key}/mark`.
pub async fn mark(
    State(state): State<UiState>,
    signed: Signed,
    Path(key): Path<String>,
    Form(form): Form<MarkForm>,
) -> Response {
    if let Err(error) = signed.session.check_csrf(&form.csrf) {
        return error.into_response();
    }
    let to = format!("/ui/referrals/{}", encode(&key));
    let result = async {
        let status: ReferralStatus = form
            .status
            .parse()
            .map_err(|error| UiError::invalid(format!("status: {error}")))?;
        Ok(workflow_of(&state)?
            .mark(&signed.caller, &key, status)
            .await?)
    }
    .await;
    after_form(&signed.session, &to, result, |referral| {
        format!(
            "{} is now {}.",
            referral.reference,
            referral.status.as_str()
        )
    })
}
