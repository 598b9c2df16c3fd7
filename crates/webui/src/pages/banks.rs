//! Banks: the list, and one bank's content with search, paging, adding (upload, URL or hash),
//! disabling and deleting.

use axum::extract::{Multipart as AxumMultipart, Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Form;
use maud::html;
use takedown_engine::{ContentMeta, ContentSearch};
use takedown_model::{ContentId, Permission};
use takedown_store::ContentUpdate;

use crate::layout::{after_form, csrf_input, encode, page, time, UiError};
use crate::pages::{fetch_bytes, labels_from, labels_text, short, source_fields, Multipart};
use crate::session::Signed;
use crate::UiState;

/// Items per page.
const PAGE_SIZE: u32 = 25;

/// `GET /ui/banks`.
pub async fn list(State(state): State<UiState>, signed: Signed) -> Result<Response, UiError> {
    let engine = state.engine();
    let banks = engine.banks(&signed.caller).await?;
    let mut rows = Vec::new();
    for bank in banks {
        let count = engine.store().content_count(bank.id).await?;
        rows.push((bank, count));
    }
    let content = html! {
        @if rows.is_empty() {
            p { "No bank is visible to your organisation. Banks are created with "
                code { "takedown bank create" } " or the API." }
        } @else {
            table {
                caption.hint { "Banks your organisation owns or that are shared with it" }
                thead { tr { th scope="col" { "Bank" } th scope="col" { "Items" } th scope="col" { "Matching" } th scope="col" { "Shared with" } th scope="col" { "Updated" } } }
                tbody {
                    @for (bank, count) in &rows {
                        tr {
                            td { a href={"/ui/banks/" (encode(bank.name.as_str()))} { (bank.name.as_str()) } }
                            td { (count) }
                            td { @if bank.matching_enabled { "on" } @else { "off" } }
                            td { (bank.shared_with.len()) " organisations" }
                            td { (time(bank.updated_at)) }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&state, &signed, "Banks", "Banks", content))
}

/// Query of a bank page.
#[derive(Debug, Default, serde::Deserialize)]
pub struct BankQuery {
    /// Search text.
    #[serde(default)]
    q: String,
    /// `hash`, `label` or `note`.
    #[serde(default)]
    by: String,
    /// Continue after this item.
    after: Option<i64>,
}

/// `GET /ui/banks/{name}`.
pub async fn bank(
    State(state): State<UiState>,
    signed: Signed,
    Path(name): Path<String>,
    Query(query): Query<BankQuery>,
) -> Result<Response, UiError> {
    let engine = state.engine();
    let bank = engine.bank(&signed.caller, &name).await?;
    let bank_name = bank.name.as_str().to_string();
    let q = query.q.trim();
    let by = match query.by.as_str() {
        "label" | "note" => query.by.as_str(),
        _ => "hash",
    };
    let mut search = ContentSearch {
        banks: Some(vec![bank_name.clone()]),
        after: query.after.map(ContentId),
        limit: PAGE_SIZE,
        ..ContentSearch::default()
    };
    if !q.is_empty() {
        match by {
            "label" => search.entity = Some(q.to_string()),
            "note" => search.note_contains = Some(q.to_string()),
            _ => search.signal_value = Some(q.to_string()),
        }
    }
    let page_of = engine.search_content(&signed.caller, search).await?;
    let total = engine.store().content_count(bank.id).await?;
    let may_curate = signed.caller.require(Permission::CurateBanks).is_ok()
        && signed.caller.org.is_none_or(|org| org == bank.owner);
    let base = format!("/ui/banks/{}", encode(&bank_name));
    let next = page_of
        .next
        .map(|after| format!("{base}?q={}&by={by}&after={}", encode(q), after.0));
    let csrf = csrf_input(&signed.session);
    let content = html! {
        p { (bank.description) }
        p.hint { (total) " items · matching " @if bank.matching_enabled { "on" } @else { "off" } }
        form.inline role="search" method="get" action=(base) {
            div.field {
                label for="q" { "Search" }
                input #q type="search" name="q" value=(q) placeholder="hash, label or note text";
            }
            div.field {
                label for="by" { "by" }
                select #by name="by" {
                    option value="hash" selected[by == "hash"] { "hash (PDQ, MD5, SHA-256)" }
                    option value="label" selected[by == "label"] { "label (entity)" }
                    option value="note" selected[by == "note"] { "note contains" }
                }
            }
            button type="submit" { "Search" }
            @if !q.is_empty() { a.button.secondary href=(base) { "Clear" } }
        }
        @if page_of.items.is_empty() {
            p #no-items { "No items" @if !q.is_empty() { " match the search" } "." }
        } @else {
            table #items {
                thead { tr {
                    th scope="col" { "Item" } th scope="col" { "Labels" } th scope="col" { "Signals" }
                    th scope="col" { "Note" } th scope="col" { "State" }
                    @if may_curate { th scope="col" { "Actions" } }
                } }
                tbody {
                    @for item in &page_of.items {
                        tr {
                            td { (item.id.0) }
                            td { (labels_text(&item.labels)) }
                            td {
                                @for signal in &item.signals {
                                    div { (signal.signal_type.as_str()) ": " code title=(signal.value) { (short(&signal.value)) } }
                                }
                            }
                            td { (item.note) }
                            td { @if item.enabled { "enabled" } @else { "disabled" } }
                            @if may_curate {
                                td {
                                    @let action = if item.enabled { "disable" } else { "enable" };
                                    form.inline method="post" action={"/ui/content/" (item.id.0) "/" (action)} {
                                        (csrf)
                                        input type="hidden" name="bank" value=(bank_name);
                                        button.secondary type="submit" aria-label={(action) " item " (item.id.0)} {
                                            @if item.enabled { "Disable" } @else { "Enable" }
                                        }
                                    }
                                    " "
                                    form.inline method="post" action={"/ui/content/" (item.id.0) "/delete"}
                                        data-ask={"Delete item " (item.id.0) " from " (bank_name) "? This cannot be undone."} {
                                        (csrf)
                                        input type="hidden" name="bank" value=(bank_name);
                                        button.danger type="submit" aria-label={"Delete item " (item.id.0)} { "Delete" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        nav.pager aria-label="Pages" {
            @if query.after.is_some() { a href={(base) "?q=" (encode(q)) "&by=" (by)} { "First page" } }
            @if let Some(next) = &next { a href=(next) rel="next" { "Next page" } }
        }
        @if may_curate {
            h2 #add-heading { "Add content" }
            form.stack method="post" action={(base) "/add"} enctype="multipart/form-data" aria-labelledby="add-heading" {
                (csrf)
                (source_fields("add", "A URL"))
                div.field { label for="add-entity" { "Entity (outlet)" } input #add-entity type="text" name="entity"; }
                div.field {
                    label for="add-tier" { "Tier" }
                    select #add-tier name="tier" {
                        option value="" { "none" }
                        @for tier in 1..=4 { option value=(tier) { (tier) } }
                    }
                }
                div.field { label for="add-note" { "Note" } input #add-note type="text" name="note"; }
                div { button type="submit" { "Add to " (bank_name) } }
            }
        }
    };
    Ok(page(
        &state,
        &signed,
        "Banks",
        &format!("Bank {bank_name}"),
        content,
    ))
}

/// `POST /ui/banks/{name}/add` (multipart): one of a file, a URL or a hash.
pub async fn add(
    State(state): State<UiState>,
    signed: Signed,
    Path(name): Path<String>,
    multipart: AxumMultipart,
) -> Response {
    let to = format!("/ui/banks/{}", encode(&name));
    let form = match Multipart::read(multipart).await {
        Ok(form) => form,
        Err(error) => return error.into_response(),
    };
    if let Err(error) = signed.session.check_csrf(form.text("csrf")) {
        return error.into_response();
    }
    let result = add_content(&state, &signed, &name, form).await;
    after_form(&signed.session, &to, result, |id| {
        format!("Added item {id} to {name}.")
    })
}

async fn add_content(
    state: &UiState,
    signed: &Signed,
    bank: &str,
    form: Multipart,
) -> Result<i64, UiError> {
    let meta = ContentMeta {
        labels: labels_from(form.text("entity"), form.text("tier"))?,
        note: form.text("note").to_string(),
        source: "web interface".into(),
        ..ContentMeta::default()
    };
    let engine = state.engine();
    form.require_one_source()?;
    let content = if let Some(bytes) = form.file.clone() {
        engine
            .add_content_from_bytes(&signed.caller, bank, bytes, meta)
            .await?
            .0
    } else if !form.text("url").is_empty() {
        let bytes = fetch_bytes(state, form.text("url")).await?;
        let meta = ContentMeta {
            source: form.text("url").to_string(),
            ..meta
        };
        engine
            .add_content_from_bytes(&signed.caller, bank, bytes, meta)
            .await?
            .0
    } else {
        engine
            .add_signal_content(
                &signed.caller,
                bank,
                form.text("signal_type"),
                form.text("value"),
                meta,
            )
            .await?
    };
    Ok(content.id.0)
}

/// Fields of the item action forms.
#[derive(Debug, serde::Deserialize)]
pub struct ItemAction {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    bank: String,
}

impl ItemAction {
    /// Back to the item's bank (a bank name is `[A-Z0-9_]`, so nothing else can be injected
    /// into the redirect; anything else goes to the list).
    fn back(&self) -> String {
        let valid = !self.bank.is_empty()
            && self
                .bank
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if valid {
            format!("/ui/banks/{}", self.bank)
        } else {
            "/ui/banks".into()
        }
    }
}

async fn set_enabled(
    state: UiState,
    signed: Signed,
    id: i64,
    form: ItemAction,
    enabled: bool,
) -> Response {
    if let Err(error) = signed.session.check_csrf(&form.csrf) {
        return error.into_response();
    }
    let result = state
        .engine()
        .update_content(
            &signed.caller,
            ContentId(id),
            ContentUpdate {
                enabled: Some(enabled),
                ..ContentUpdate::default()
            },
        )
        .await
        .map_err(UiError::from);
    let word = if enabled { "enabled" } else { "disabled" };
    after_form(&signed.session, &form.back(), result, |_| {
        format!("Item {id} {word}.")
    })
}

/// `POST /ui/content/{id}/enable`.
pub async fn enable(
    State(state): State<UiState>,
    signed: Signed,
    Path(id): Path<i64>,
    Form(form): Form<ItemAction>,
) -> Response {
    set_enabled(state, signed, id, form, true).await
}

/// `POST /ui/content/{id}/disable`.
pub async fn disable(
    State(state): State<UiState>,
    signed: Signed,
    Path(id): Path<i64>,
    Form(form): Form<ItemAction>,
) -> Response {
    set_enabled(state, signed, id, form, false).await
}

/// `POST /ui/content/{id}/delete`.
pub async fn delete(
    State(state): State<UiState>,
    signed: Signed,
    Path(id): Path<i64>,
    Form(form): Form<ItemAction>,
) -> Response {
    if let Err(error) = signed.session.check_csrf(&form.csrf) {
        return error.into_response();
    }
    let result = state
        .engine()
        .delete_content(&signed.caller, ContentId(id))
        .await
        .map_err(UiError::from);
    after_form(&signed.session, &form.back(), result, |_| {
        format!("Item {id} deleted.")
    })
}
