//! The audit log: every change, hash-chained, one page at a time.

use axum::extract::{Query, State};
use axum::response::Response;
use maud::html;

use crate::layout::{time, UiError};
use crate::session::Signed;
use crate::UiState;

/// Entries per page.
const PAGE_SIZE: u32 = 50;

/// Paging.
#[derive(Debug, Default, serde::Deserialize)]
pub struct AuditQuery {
    /// Entries after this sequence number.
    after: Option<i64>,
}

/// `GET /ui/audit`.
pub async fn page_handler(
    state: &UiState,
    signed: &Signed,
    after: Option<i64>,
) -> Result<Response, UiError> {
    let entries = state
        .engine()
        .audit_entries(&signed.caller, after, PAGE_SIZE)
        .await?;
    let next = (entries.len() == PAGE_SIZE as usize)
        .then(|| entries.last().map(|entry| entry.sequence))
        .flatten();
    let content = html! {
        p.hint { "Every change is recorded with who made it, chained by hash so that an edit to the record shows." }
        @if entries.is_empty() {
            p { "No entries." }
        } @else {
            table #audit {
                thead { tr { th scope="col" { "#" } th scope="col" { "Time" } th scope="col" { "Actor" } th scope="col" { "Action" }
                    th scope="col" { "Object" } th scope="col" { "Change" } } }
                tbody {
                    @for entry in &entries {
                        tr {
                            td { (entry.sequence) }
                            td { (time(entry.at)) }
                            td { code { (entry.actor) } }
                            td { (entry.action) }
                            td { (entry.object_type) " " (entry.object_id) }
                            td {
                                @if entry.before.is_some() || entry.after.is_some() {
                                    details {
                                        summary { "details" }
                                        @if let Some(before) = &entry.before { p { "Before: " code { (before) } } }
                                        @if let Some(after) = &entry.after { p { "After: " code { (after) } } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        nav.pager aria-label="Pages" {
            @if after.is_some() { a href="/ui/audit" { "First page" } }
            @if let Some(next) = next { a href={"/ui/audit?after=" (next)} rel="next" { "Next page" } }
        }
    };
    Ok(crate::layout::page(
        state,
        signed,
        "Audit log",
        "Audit log",
        content,
    ))
}

/// `GET /ui/audit`.
pub async fn page(
    State(state): State<UiState>,
    signed: Signed,
    Query(query): Query<AuditQuery>,
) -> Result<Response, UiError> {
    page_handler(&state, &signed, query.after).await
}
