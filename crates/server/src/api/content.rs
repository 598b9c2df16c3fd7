//! Bank content: search and paging, get, change labels, disable, enable, delete, and adding by
//! hashes, by upload and by URL.

use std::collections::HashMap;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use takedown_engine::{Caller, ContentMeta, ContentSearch};
use takedown_model::{BankId, Content, ContentId, NewSignal, SignalType, Tier};
use takedown_store::ContentUpdate;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::banks::BankPath;
use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::fetching::fetch_media;
use crate::state::AppState;
use crate::upload::read_upload;
use crate::wire::{parse_time, ContentJson, LabelsJson, PageJson};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search))
        .routes(routes!(get, update, delete))
        .routes(routes!(disable))
        .routes(routes!(enable))
        .routes(routes!(add_hashes))
        .routes(routes!(add_upload))
        .routes(routes!(add_url))
}

/// Names of the banks the caller may see, by id, for showing content.
async fn bank_names(
    state: &AppState,
    caller: &Caller,
) -> Result<HashMap<BankId, String>, ApiError> {
    Ok(state
        .engine()
        .banks(caller)
        .await?
        .into_iter()
        .map(|bank| (bank.id, bank.name.to_string()))
        .collect())
}

fn content_json(
    state: &AppState,
    content: &Content,
    names: &HashMap<BankId, String>,
) -> ContentJson {
    let bank = names.get(&content.bank).map_or("", String::as_str);
    ContentJson::from_content(content, bank, state.engine().clock().now())
}

async fn respond(
    state: &AppState,
    caller: &Caller,
    content: &Content,
) -> Result<Json<ContentJson>, ApiError> {
    let names = bank_names(state, caller).await?;
    Ok(Json(content_json(state, content, &names)))
}

/// Search conditions; all given ones must hold. Results are in id order, paged by `after`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct SearchQuery {
    /// Comma-separated bank names (default: every bank the caller may see).
    banks: Option<String>,
    /// Has a signal of this type.
    signal_type: Option<String>,
    /// Has a signal with this value.
    signal_value: Option<String>,
    /// Entity label.
    entity: Option<String>,
    /// Tier, 1-4.
    tier: Option<i64>,
    /// Note contains this text (ignoring case).
    note: Option<String>,
    /// Enabled state.
    enabled: Option<bool>,
    /// Continue after this item id (the previous page's `next`).
    after: Option<i64>,
    /// Page size, 1-10000 (default 100).
    limit: Option<u32>,
}

/// Searches the caller's banks, one page at a time.
#[utoipa::path(
    get,
    path = "/content",
    tag = "Content",
    params(SearchQuery),
    responses(
        (status = 200, description = "One page of items", body = PageJson<ContentJson>),
        (status = 400, description = "A malformed condition (named)", body = ErrorBody),
        (status = 404, description = "A named bank is not visible", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn search(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> Result<Json<PageJson<ContentJson>>, ApiError> {
    let signal_type = query
        .signal_type
        .as_deref()
        .map(str::parse::<SignalType>)
        .transpose()
        .map_err(|error| ApiError::invalid("signal_type", error))?;
    let tier = query
        .tier
        .map(Tier::from_number)
        .transpose()
        .map_err(|error| ApiError::invalid("tier", error))?;
    let banks = query.banks.as_deref().map(|text| {
        text.split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_string)
            .collect()
    });
    let page = state
        .engine()
        .search_content(
            &caller,
            ContentSearch {
                banks,
                signal_type,
                signal_value: query.signal_value,
                entity: query.entity,
                tier,
                note_contains: query.note,
                enabled: query.enabled,
                after: query.after.map(ContentId),
                limit: query.limit.unwrap_or(0),
            },
        )
        .await?;
    let names = bank_names(&state, &caller).await?;
    Ok(Json(PageJson {
        items: page
            .items
            .iter()
            .map(|content| content_json(&state, content, &names))
            .collect(),
        next: page.next.map(|id| id.0),
    }))
}

/// Path of an item.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct ContentPath {
    /// Item id.
    id: i64,
}

/// An item with its labels and signals.
#[utoipa::path(
    get,
    path = "/content/{id}",
    tag = "Content",
    params(ContentPath),
    responses(
        (status = 200, description = "The item", body = ContentJson),
        (status = 404, description = "Missing, or not visible to the caller", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn get(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(path): ApiPath<ContentPath>,
) -> Result<Json<ContentJson>, ApiError> {
    let content = state.engine().content(&caller, ContentId(path.id)).await?;
    respond(&state, &caller, &content).await
}

/// Changes to an item; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ContentChange {
    /// Replaces all labels.
    labels: Option<LabelsJson>,
    /// New note.
    note: Option<String>,
    /// New source.
    source: Option<String>,
    /// Enables or disables the item.
    enabled: Option<bool>,
}

/// Changes an item's labels, note, source or enabled state; matching follows at once.
#[utoipa::path(
    patch,
    path = "/content/{id}",
    tag = "Content",
    params(ContentPath),
    request_body = ContentChange,
    responses(
        (status = 200, description = "The changed item", body = ContentJson),
        (status = 400, description = "An invalid label (named)", body = ErrorBody),
        (status = 403, description = "In a bank the caller's organisation does not own", body = ErrorBody),
        (status = 404, description = "No such item", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn update(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(path): ApiPath<ContentPath>,
    ApiJson(body): ApiJson<ContentChange>,
) -> Result<Json<ContentJson>, ApiError> {
    let labels = body
        .labels
        .as_ref()
        .map(LabelsJson::to_labels)
        .transpose()?;
    let content = state
        .engine()
        .update_content(
            &caller,
            ContentId(path.id),
            ContentUpdate {
                labels,
                note: body.note,
                source: body.source,
                enabled: body.enabled,
                disabled_until: None,
            },
        )
        .await?;
    respond(&state, &caller, &content).await
}

/// Parameters of a disable.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct DisableQuery {
    /// Disable only until this RFC 3339 time; without it, until enabled again.
    until: Option<String>,
}

/// Stops an item matching, for good or until a time.
#[utoipa::path(
    post,
    path = "/content/{id}/disable",
    tag = "Content",
    params(ContentPath, DisableQuery),
    responses(
        (status = 200, description = "The item, disabled", body = ContentJson),
        (status = 400, description = "Bad time", body = ErrorBody),
        (status = 404, description = "No such item", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn disable(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(path): ApiPath<ContentPath>,
    ApiQuery(query): ApiQuery<DisableQuery>,
) -> Result<Json<ContentJson>, ApiError> {
    let update = match query.until.as_deref() {
        Some(text) => ContentUpdate {
            enabled: Some(true),
            disabled_until: Some(Some(parse_time("until", text)?)),
            ..ContentUpdate::default()
        },
        None => ContentUpdate {
            enabled: Some(false),
            disabled_until: Some(None),
            ..ContentUpdate::default()
        },
    };
    let content = state
        .engine()
        .update_content(&caller, ContentId(path.id), update)
        .await?;
    respond(&state, &caller, &content).await
}

/// Makes an item match again (clearing any temporary disable).
#[utoipa::path(
    post,
    path = "/content/{id}/enable",
    tag = "Content",
    params(ContentPath),
    responses(
        (status = 200, description = "The item, enabled", body = ContentJson),
        (status = 404, description = "No such item", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn enable(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(path): ApiPath<ContentPath>,
) -> Result<Json<ContentJson>, ApiError> {
    let content = state
        .engine()
        .update_content(
            &caller,
            ContentId(path.id),
            ContentUpdate {
                enabled: Some(true),
                disabled_until: Some(None),
                ..ContentUpdate::default()
            },
        )
        .await?;
    respond(&state, &caller, &content).await
}

/// Deletes an item; it stops matching at once.
#[utoipa::path(
    delete,
    path = "/content/{id}",
    tag = "Content",
    params(ContentPath),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "In a bank the caller's organisation does not own", body = ErrorBody),
        (status = 404, description = "No such item", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn delete(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(path): ApiPath<ContentPath>,
) -> Result<StatusCode, ApiError> {
    state
        .engine()
        .delete_content(&caller, ContentId(path.id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One signal given by value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SignalInput {
    /// `pdq`, `md5`, `sha256`, `video_md5`, ...
    signal_type: String,
    /// The hash or digest (hex).
    value: String,
}

/// An item given by its hashes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewContentByHashes {
    /// Its signals (at least one).
    signals: Vec<SignalInput>,
    /// Labels.
    #[serde(default)]
    labels: LabelsJson,
    /// Free-text note.
    #[serde(default)]
    note: String,
    /// Where it came from.
    #[serde(default)]
    source: String,
    /// Whether it matches (default true).
    enabled: Option<bool>,
}

/// Adds an item given by its hashes; it is matchable by the very next request.
#[utoipa::path(
    post,
    path = "/banks/{bank}/content",
    tag = "Content",
    params(BankPath),
    request_body = NewContentByHashes,
    responses(
        (status = 201, description = "The new item", body = ContentJson),
        (status = 400, description = "A malformed hash or label (named)", body = ErrorBody),
        (status = 403, description = "Not owned by the caller's organisation, or the role may not", body = ErrorBody),
        (status = 404, description = "No such bank", body = ErrorBody),
        (status = 409, description = "A signal is already in the bank", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn add_hashes(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(path): ApiPath<BankPath>,
    ApiJson(body): ApiJson<NewContentByHashes>,
) -> Result<(StatusCode, Json<ContentJson>), ApiError> {
    let mut signals = Vec::new();
    for (position, input) in body.signals.iter().enumerate() {
        let signal_type: SignalType = input.signal_type.parse().map_err(|error| {
            ApiError::invalid(format!("signals[{position}].signal_type"), error)
        })?;
        let value = takedown_exchange::canonical_value(signal_type, &input.value)
            .map_err(|message| ApiError::invalid(format!("signals[{position}].value"), message))?;
        signals.push(NewSignal {
            signal_type,
            algorithm_version: super::algorithm_version(signal_type),
            value,
            quality: None,
        });
    }
    let meta = ContentMeta {
        labels: body.labels.to_labels()?,
        note: body.note,
        source: body.source,
        enabled: body.enabled.unwrap_or(true),
        disabled_until: None,
    };
    let content = state
        .engine()
        .add_content(&caller, &path.bank, signals, meta)
        .await?;
    Ok((
        StatusCode::CREATED,
        respond(&state, &caller, &content).await?,
    ))
}

/// A file to add, with optional fields.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only: the body is read as a multipart stream.
struct ContentUpload {
    /// The media file.
    #[schema(format = Binary, value_type = String)]
    file: Vec<u8>,
    /// Labels as JSON text, e.g. `{"entity": "amaq", "tier": 3}`.
    labels: Option<String>,
    /// Free-text note.
    note: Option<String>,
    /// Where it came from.
    source: Option<String>,
}

fn meta_from_fields(
    fields: &std::collections::BTreeMap<String, String>,
    default_source: String,
) -> Result<ContentMeta, ApiError> {
    let labels = match fields.get("labels") {
        Some(text) if !text.trim().is_empty() => serde_json::from_str::<LabelsJson>(text)
            .map_err(|error| ApiError::invalid("labels", error))?
            .to_labels()?,
        _ => takedown_model::Labels::default(),
    };
    Ok(ContentMeta {
        labels,
        note: fields.get("note").cloned().unwrap_or_default(),
        source: fields.get("source").cloned().unwrap_or(default_source),
        ..ContentMeta::default()
    })
}

/// Hashes an uploaded file (PDQ with quality, MD5, SHA-256) and adds it as an item.
#[utoipa::path(
    post,
    path = "/banks/{bank}/content/upload",
    tag = "Content",
    params(BankPath),
    request_body(content = ContentUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "The new item", body = ContentJson),
        (status = 400, description = "No file, or a bad label", body = ErrorBody),
        (status = 404, description = "No such bank", body = ErrorBody),
        (status = 409, description = "Already in the bank", body = ErrorBody),
        (status = 413, description = "Larger than the upload limit, or too many pixels", body = ErrorBody),
        (status = 422, description = "Corrupt or unsupported media (named)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn add_upload(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(path): ApiPath<BankPath>,
    body: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<ContentJson>), ApiError> {
    let form = body.map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    let upload = read_upload(form, &["file"]).await?;
    let source = upload
        .file_name
        .as_deref()
        .map_or_else(|| "upload".to_string(), |name| format!("upload:{name}"));
    let meta = meta_from_fields(&upload.fields, source)?;
    let (content, _) = state
        .engine()
        .add_content_from_bytes(&caller, &path.bank, upload.bytes, meta)
        .await?;
    Ok((
        StatusCode::CREATED,
        respond(&state, &caller, &content).await?,
    ))
}

/// Media at a URL to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewContentByUrl {
    /// http(s) URL; loopback, private, link-local and metadata addresses are refused unless
    /// allowlisted in `fetch.allowlist`.
    url: String,
    /// Labels.
    #[serde(default)]
    labels: LabelsJson,
    /// Free-text note.
    #[serde(default)]
    note: String,
    /// Where it came from (default: the URL).
    source: Option<String>,
}

/// Fetches media by URL, hashes it and adds it as an item.
#[utoipa::path(
    post,
    path = "/banks/{bank}/content/url",
    tag = "Content",
    params(BankPath),
    request_body = NewContentByUrl,
    responses(
        (status = 201, description = "The new item", body = ContentJson),
        (status = 400, description = "Bad or refused URL (the reason is named), or gone", body = ErrorBody),
        (status = 404, description = "No such bank", body = ErrorBody),
        (status = 413, description = "The file is too large", body = ErrorBody),
        (status = 422, description = "Corrupt or unsupported media", body = ErrorBody),
        (status = 502, description = "The URL could not be fetched", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn add_url(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(path): ApiPath<BankPath>,
    ApiJson(body): ApiJson<NewContentByUrl>,
) -> Result<(StatusCode, Json<ContentJson>), ApiError> {
    let labels = body.labels.to_labels()?;
    // Fail on a bank the caller cannot change before fetching anything.
    state.engine().bank(&caller, &path.bank).await?;
    caller.require(takedown_model::Permission::CurateBanks)?;
    let fetched = fetch_media(&state, "url", &body.url).await?;
    let meta = ContentMeta {
        labels,
        note: body.note,
        source: body.source.unwrap_or(body.url),
        ..ContentMeta::default()
    };
    let (content, _) = state
        .engine()
        .add_content_from_bytes(&caller, &path.bank, fetched.bytes, meta)
        .await?;
    Ok((
        StatusCode::CREATED,
        respond(&state, &caller, &content).await?,
    ))
}
