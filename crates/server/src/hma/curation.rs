//! HMA's curation blueprint: banks (`/c/banks`, `/c/bank/NAME`) and their content
//! (`/c/bank/NAME/content[/ID]`, `/c/bank/NAME/signal`).

use std::collections::BTreeMap;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};
use takedown_engine::{Caller, ContentMeta, EngineError, NewBankRequest};
use takedown_model::{Bank, BankName, Content, ContentId, NewSignal, SignalType};
use takedown_store::{BankUpdate, ContentUpdate};
use utoipa::{IntoParams, ToSchema};

use super::{hash_upload, hash_url, ContentType, Hashed};
use crate::auth::HmaCaller;
use crate::error::{ApiError, HmaError, HmaErrorBody};
use crate::extract::{HmaJson, HmaPath, HmaQuery};
use crate::state::AppState;
use crate::upload::{is_multipart, multipart_of, read_upload};

/// A bank as HMA shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct HmaBank {
    /// Name.
    name: String,
    /// 1.0 when lookups match against the bank, 0.0 when not (takedown has no ratios between).
    matching_enabled_ratio: f64,
}

impl HmaBank {
    fn from_bank(bank: &Bank) -> HmaBank {
        HmaBank {
            name: bank.name.to_string(),
            matching_enabled_ratio: if bank.matching_enabled { 1.0 } else { 0.0 },
        }
    }
}

/// `enabled` / `enabled_ratio` as a matching flag. A ratio between 0 and 1 is refused:
/// takedown matches a bank fully or not at all rather than sampling lookups by a coin flip.
fn matching_flag(enabled: Option<bool>, ratio: Option<f64>) -> Result<Option<bool>, HmaError> {
    match ratio {
        Some(0.0) => Ok(Some(false)),
        Some(1.0) => Ok(Some(true)),
        Some(ratio) => Err(HmaError::bad_request(format!(
            "enabled_ratio {ratio} is not supported: takedown matches a bank fully (1) or not \
             at all (0)"
        ))),
        None => Ok(enabled),
    }
}

fn bank_name(name: &str) -> Result<BankName, HmaError> {
    BankName::new(name).map_err(|error| HmaError::bad_request(error.to_string()))
}

/// 404 in HMA's words for a bank that is missing or invisible.
async fn find_bank(state: &AppState, caller: &Caller, name: &str) -> Result<Bank, HmaError> {
    match state.engine().bank(caller, name).await {
        Err(EngineError::NotFound(_)) | Err(EngineError::Invalid { .. }) => Err(HmaError::new(
            StatusCode::NOT_FOUND,
            format!("bank '{name}' not found"),
        )),
        other => Ok(other?),
    }
}

/// Lists the banks the caller may see.
#[utoipa::path(
    get,
    path = "/c/banks",
    tag = "HMA-compatible",
    responses((status = 200, description = "Banks", body = Vec<HmaBank>)),
    security(("bearer" = []))
)]
pub async fn banks_list(
    State(state): State<AppState>,
    HmaCaller(caller): HmaCaller,
) -> Result<Json<Vec<HmaBank>>, HmaError> {
    let banks = state.engine().banks(&caller).await?;
    Ok(Json(banks.iter().map(HmaBank::from_bank).collect()))
}

/// Body of `POST /c/banks`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BankCreate {
    /// Name, `[A-Z_][A-Z0-9_]*`.
    name: String,
    /// 0 or 1.
    enabled_ratio: Option<f64>,
    /// Whether lookups match against the bank (default true).
    enabled: Option<bool>,
}

/// Creates a bank owned by the caller's organisation.
#[utoipa::path(
    post,
    path = "/c/banks",
    tag = "HMA-compatible",
    request_body = BankCreate,
    responses(
        (status = 201, description = "Created", body = HmaBank),
        (status = 400, description = "Invalid name or ratio", body = HmaErrorBody),
        (status = 403, description = "Name taken, or the role may not create banks", body = HmaErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn bank_create(
    State(state): State<AppState>,
    HmaCaller(caller): HmaCaller,
    HmaJson(body): HmaJson<BankCreate>,
) -> Result<impl IntoResponse, HmaError> {
    let matching = matching_flag(body.enabled, body.enabled_ratio)?.unwrap_or(true);
    bank_name(&body.name)?;
    let bank = state
        .engine()
        .create_bank(
            &caller,
            NewBankRequest {
                name: body.name,
                description: String::new(),
                matching_enabled: matching,
                owner: None,
            },
        )
        .await
        .map_err(|error| match error {
            // HMA answers a taken name with 403.
            EngineError::Conflict(_) => HmaError::new(StatusCode::FORBIDDEN, "Bank already exists"),
            other => other.into(),
        })?;
    Ok((StatusCode::CREATED, Json(HmaBank::from_bank(&bank))))
}

/// Path of a bank route.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct BankPath {
    /// Bank name.
    bank_name: String,
}

/// A bank by name.
#[utoipa::path(
    get,
    path = "/c/bank/{bank_name}",
    tag = "HMA-compatible",
    params(BankPath),
    responses(
        (status = 200, description = "The bank", body = HmaBank),
        (status = 404, description = "No such bank visible to the caller", body = HmaErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn bank_get(
    State(state): State<AppState>,
    HmaCaller(caller): HmaCaller,
    HmaPath(path): HmaPath<BankPath>,
) -> Result<Json<HmaBank>, HmaError> {
    let bank = find_bank(&state, &caller, &path.bank_name).await?;
    Ok(Json(HmaBank::from_bank(&bank)))
}

/// Body of `PUT /c/bank/NAME`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BankChange {
    /// New name.
    name: Option<String>,
    /// 0 or 1.
    enabled_ratio: Option<f64>,
    /// Whether lookups match against the bank.
    enabled: Option<bool>,
}

/// Renames a bank or turns its matching on or off.
#[utoipa::path(
    put,
    path = "/c/bank/{bank_name}",
    tag = "HMA-compatible",
    params(BankPath),
    request_body = BankChange,
    responses(
        (status = 200, description = "The changed bank", body = HmaBank),
        (status = 400, description = "Invalid name or ratio", body = HmaErrorBody),
        (status = 403, description = "Name taken, or not the owner", body = HmaErrorBody),
        (status = 404, description = "No such bank", body = HmaErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn bank_update(
    State(state): State<AppState>,
    HmaCaller(caller): HmaCaller,
    HmaPath(path): HmaPath<BankPath>,
    HmaJson(body): HmaJson<BankChange>,
) -> Result<Json<HmaBank>, HmaError> {
    let update = BankUpdate {
        name: body.name.as_deref().map(bank_name).transpose()?,
        description: None,
        matching_enabled: matching_flag(body.enabled, body.enabled_ratio)?,
    };
    find_bank(&state, &caller, &path.bank_name).await?;
    let bank = state
        .engine()
        .update_bank(&caller, &path.bank_name, update)
        .await
        .map_err(|error| match error {
            EngineError::Conflict(_) => {
                HmaError::new(StatusCode::FORBIDDEN, "Bank name already exists")
            }
            other => other.into(),
        })?;
    Ok(Json(HmaBank::from_bank(&bank)))
}

/// `{"message": "Done"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Done {
    /// Always "Done".
    message: &'static str,
}

/// Deletes a bank and its content. Deleting a bank that is not there succeeds (as in HMA).
#[utoipa::path(
    delete,
    path = "/c/bank/{bank_name}",
    tag = "HMA-compatible",
    params(BankPath),
    responses(
        (status = 200, description = "Deleted, or was not there", body = Done),
        (status = 403, description = "Not the owner, or the role may not delete banks", body = HmaErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn bank_delete(
    State(state): State<AppState>,
    HmaCaller(caller): HmaCaller,
    HmaPath(path): HmaPath<BankPath>,
) -> Result<Json<Done>, HmaError> {
    match state.engine().delete_bank(&caller, &path.bank_name).await {
        Ok(()) | Err(EngineError::NotFound(_)) => Ok(Json(Done { message: "Done" })),
        Err(EngineError::Invalid { .. }) => Ok(Json(Done { message: "Done" })),
        Err(other) => Err(other.into()),
    }
}

/// Path of a bank content route.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ContentPath {
    /// Bank name.
    bank_name: String,
    /// Bank item id.
    content_id: i64,
}

/// Parameters of `GET /c/bank/NAME/content/ID`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContentQuery {
    /// `true` to include the item's signals.
    include_signals: Option<String>,
    /// Include only this signal type's value (older HMA versions).
    signal_type: Option<String>,
}

/// A bank item as HMA shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct HmaContent {
    /// Identifier.
    id: i64,
    /// 1 enabled, 0 disabled, otherwise the Unix time it is disabled until.
    disable_until_ts: i64,
    /// Always empty: takedown records provenance in `source` (see /api/v1).
    collab_metadata: BTreeMap<String, Vec<String>>,
    /// Where the media came from, when that was a URL.
    original_media_uri: Option<String>,
    /// The bank.
    bank: HmaBank,
    /// Free-text note.
    note: String,
    /// Signal values by type, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    signals: Option<BTreeMap<String, String>>,
}

fn disable_until_ts(content: &Content) -> i64 {
    match (content.enabled, content.disabled_until) {
        (false, _) => 0,
        (true, None) => 1,
        (true, Some(until)) => until.timestamp(),
    }
}

fn hma_content(
    content: &Content,
    bank: &Bank,
    signals: Option<BTreeMap<String, String>>,
) -> HmaContent {
    let source = content.source.as_str();
    HmaContent {
        id: content.id.0,
        disable_until_ts: disable_until_ts(content),
        collab_metadata: BTreeMap::new(),
        original_media_uri: (source.starts_with("http://") || source.starts_with("https://"))
            .then(|| source.to_string()),
        bank: HmaBank::from_bank(bank),
        note: content.note.clone(),
        signals,
    }
}

/// The item, if it is in the named bank and visible to the caller; `None` otherwise.
async fn content_in_bank(
    state: &AppState,
    caller: &Caller,
    bank: &Bank,
    id: i64,
) -> Result<Option<Content>, HmaError> {
    match state.engine().content(caller, ContentId(id)).await {
        Ok(content) if content.bank == bank.id => Ok(Some(content)),
        Ok(_) | Err(EngineError::NotFound(_)) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

/// A bank item.
#[utoipa::path(
    get,
    path = "/c/bank/{bank_name}/content/{content_id}",
    tag = "HMA-compatible",
    params(ContentPath, ContentQuery),
    responses(
        (status = 200, description = "The item", body = HmaContent),
        (status = 400, description = "Unknown signal type", body = HmaErrorBody),
        (status = 404, description = "No such bank or item", body = HmaErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn content_get(
    State(state): State<AppState>,
    HmaCaller(caller): HmaCaller,
    HmaPath(path): HmaPath<ContentPath>,
    HmaQuery(query): HmaQuery<ContentQuery>,
) -> Result<Json<HmaContent>, HmaError> {
    let bank = find_bank(&state, &caller, &path.bank_name).await?;
    let content = content_in_bank(&state, &caller, &bank, path.content_id)
        .await?
        .ok_or_else(|| {
            HmaError::new(
                StatusCode::NOT_FOUND,
                format!("content '{}' not found", path.content_id),
            )
        })?;
    let only: Option<SignalType> = match query.signal_type.as_deref() {
        Some(name) => Some(
            name.parse()
                .map_err(|_| HmaError::bad_request(format!("No such signal type '{name}'")))?,
        ),
        None => None,
    };
    let include = only.is_some()
        || query
            .include_signals
            .as_deref()
            .is_some_and(|value| value.eq_ignore_ascii_case("true"));
    let signals = include.then(|| {
        content
            .signals
            .iter()
            .filter(|signal| only.is_none_or(|kind| kind == signal.signal_type))
            .map(|signal| {
                (
                    signal.signal_type.as_str().to_string(),
                    signal.value.clone(),
                )
            })
            .collect()
    });
    Ok(Json(hma_content(&content, &bank, signals)))
}

/// Body of `PUT /c/bank/NAME/content/ID`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ContentChange {
    /// 0 disables, 1 enables, a Unix time disables until then (at most five years ahead).
    #[schema(value_type = Option<i64>)]
    disable_until_ts: Option<serde_json::Value>,
    /// New note.
    note: Option<String>,
}

const FIVE_YEARS_SECONDS: i64 = 5 * 365 * 24 * 3600;

/// Disables an item (for good or until a time), enables it, or changes its note.
#[utoipa::path(
    put,
    path = "/c/bank/{bank_name}/content/{content_id}",
    tag = "HMA-compatible",
    params(ContentPath),
    request_body = ContentChange,
    responses(
        (status = 200, description = "The changed item", body = HmaContent),
        (status = 400, description = "Bad disable_until_ts", body = HmaErrorBody),
        (status = 404, description = "No such bank or item", body = HmaErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn content_update(
    State(state): State<AppState>,
    HmaCaller(caller): HmaCaller,
    HmaPath(path): HmaPath<ContentPath>,
    HmaJson(body): HmaJson<ContentChange>,
) -> Result<Json<HmaContent>, HmaError> {
    let bank = find_bank(&state, &caller, &path.bank_name).await?;
    if content_in_bank(&state, &caller, &bank, path.content_id)
        .await?
        .is_none()
    {
        return Err(HmaError::new(
            StatusCode::NOT_FOUND,
            format!("content '{}' not found", path.content_id),
        ));
    }
    let mut update = ContentUpdate {
        note: body.note,
        ..ContentUpdate::default()
    };
    if let Some(value) = body.disable_until_ts {
        let ts = match &value {
            serde_json::Value::Number(number) => number.as_i64(),
            serde_json::Value::String(text) => text.trim().parse().ok(),
            _ => None,
        }
        .ok_or_else(|| HmaError::bad_request(format!("Invalid int: '{value}'")))?;
        let now = state.engine().clock().now();
        match ts {
            ts if ts < 0 => {
                return Err(HmaError::bad_request(
                    "disable_until_ts must be a non-negative integer",
                ))
            }
            0 => {
                update.enabled = Some(false);
                update.disabled_until = Some(None);
            }
            1 => {
                update.enabled = Some(true);
                update.disabled_until = Some(None);
            }
            ts if ts > now.timestamp() + FIVE_YEARS_SECONDS => {
                return Err(HmaError::bad_request(
                    "disable_until_ts must be less than 5 years in the future",
                ))
            }
            ts => {
                let until = chrono::DateTime::from_timestamp(ts, 0)
                    .ok_or_else(|| HmaError::bad_request("disable_until_ts is out of range"))?;
                update.enabled = Some(true);
                update.disabled_until = Some(Some(until));
            }
        }
    }
    let content = state
        .engine()
        .update_content(&caller, ContentId(path.content_id), update)
        .await?;
    Ok(Json(hma_content(&content, &bank, None)))
}

/// `{"deleted": 1}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Deleted {
    /// Items deleted (0 when it was not there).
    deleted: u32,
}

/// Removes an item from a bank.
#[utoipa::path(
    delete,
    path = "/c/bank/{bank_name}/content/{content_id}",
    tag = "HMA-compatible",
    params(ContentPath),
    responses(
        (status = 200, description = "Items deleted", body = Deleted),
        (status = 404, description = "No such bank", body = HmaErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn content_delete(
    State(state): State<AppState>,
    HmaCaller(caller): HmaCaller,
    HmaPath(path): HmaPath<ContentPath>,
) -> Result<Json<Deleted>, HmaError> {
    let bank = find_bank(&state, &caller, &path.bank_name).await?;
    if content_in_bank(&state, &caller, &bank, path.content_id)
        .await?
        .is_none()
    {
        return Ok(Json(Deleted { deleted: 0 }));
    }
    match state
        .engine()
        .delete_content(&caller, ContentId(path.content_id))
        .await
    {
        Ok(()) => Ok(Json(Deleted { deleted: 1 })),
        Err(EngineError::NotFound(_)) => Ok(Json(Deleted { deleted: 0 })),
        Err(other) => Err(other.into()),
    }
}

/// Parameters of `POST /c/bank/NAME/content`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AddContentQuery {
    /// URL of the media to fetch and bank (or upload a file instead).
    url: Option<String>,
    /// With `url`: `photo` or `video`.
    content_type: Option<String>,
    /// Signal types to report (the item keeps every signal takedown computes).
    types: Option<String>,
    /// Free-text note.
    note: Option<String>,
    /// HMA's metadata as JSON text: `{"content_id", "content_uri", "json"}`.
    metadata: Option<String>,
}

/// HMA's banked-content metadata. `content_uri` becomes the item's source; `content_id` and
/// `json` are checked but not kept (takedown has no free-form metadata field yet).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BankedContentMetadata {
    /// The caller's id for the content.
    content_id: Option<String>,
    /// Where the content lives.
    content_uri: Option<String>,
    /// Anything else.
    #[schema(value_type = Option<Object>)]
    json: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Optional JSON body of `POST /c/bank/NAME/content?url=`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct AddContentBody {
    /// Metadata.
    metadata: Option<serde_json::Value>,
    /// Free-text note.
    note: Option<String>,
}

fn parse_metadata(value: Option<serde_json::Value>) -> Result<BankedContentMetadata, HmaError> {
    let Some(value) = value else {
        return Ok(BankedContentMetadata::default());
    };
    let value = match value {
        serde_json::Value::String(text) => serde_json::from_str(&text)
            .map_err(|error| HmaError::bad_request(format!("Invalid metadata: {error}")))?,
        other => other,
    };
    if !value.is_object() {
        return Err(HmaError::bad_request("metadata should be a json object"));
    }
    let metadata: BankedContentMetadata = serde_json::from_value(value)
        .map_err(|error| HmaError::bad_request(format!("Invalid metadata: {error}")))?;
    // Checked so a client learns of a typo, though only content_uri is stored.
    let _ = (&metadata.content_id, &metadata.json);
    Ok(metadata)
}

/// `{"id": 1, "signals": {"pdq": "..."}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Added {
    /// The new bank item.
    id: i64,
    /// Its signals by type (HMA's types for the content type, or `types=`).
    signals: BTreeMap<String, String>,
}

/// Adds media to a bank, by `url=` or as an upload (field `photo` or `video`), with an
/// optional note and HMA metadata. The item is matchable by the very next request.
#[utoipa::path(
    post,
    path = "/c/bank/{bank_name}/content",
    tag = "HMA-compatible",
    params(BankPath, AddContentQuery),
    request_body(content = super::hashing::MediaUpload, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "The new item and its signals", body = Added),
        (status = 400, description = "No file or url, refused URL, or bad metadata", body = HmaErrorBody),
        (status = 404, description = "No such bank", body = HmaErrorBody),
        (status = 409, description = "The media is already in the bank", body = HmaErrorBody),
        (status = 413, description = "The file is too large", body = HmaErrorBody),
        (status = 422, description = "Not decodable media", body = HmaErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn content_add(
    State(state): State<AppState>,
    HmaCaller(caller): HmaCaller,
    HmaPath(path): HmaPath<BankPath>,
    HmaQuery(query): HmaQuery<AddContentQuery>,
    request: Request,
) -> Result<Json<Added>, HmaError> {
    // The bank first: no point fetching or hashing for a bank that is not there.
    find_bank(&state, &caller, &path.bank_name).await?;
    let mut note = query.note;
    let mut metadata = query.metadata.map(serde_json::Value::String);
    let (hashed, source) = if let Some(url) = query.url.as_deref().filter(|url| !url.is_empty()) {
        if !is_multipart(&request) {
            let bytes = axum::body::to_bytes(request.into_body(), 1 << 20)
                .await
                .map_err(|_| HmaError::bad_request("the JSON body is too large"))?;
            if !bytes.iter().all(u8::is_ascii_whitespace) {
                let body: AddContentBody = serde_json::from_slice(&bytes)
                    .map_err(|error| HmaError::bad_request(format!("bad JSON body: {error}")))?;
                note = body.note.or(note);
                metadata = body.metadata.or(metadata);
            }
        }
        let (hashed, final_url) =
            hash_url(&state, &caller, url, query.content_type.as_deref()).await?;
        let _ = final_url;
        (hashed, url.to_string())
    } else if is_multipart(&request) {
        let form = multipart_of(request, &state).await.map_err(HmaError)?;
        let upload = read_upload(form, &["photo", "video"]).await?;
        note = upload.fields.get("note").cloned().or(note);
        if let Some(text) = upload.fields.get("metadata") {
            metadata = Some(serde_json::Value::String(text.clone()));
        }
        let source = upload
            .file_name
            .as_deref()
            .map_or_else(|| "upload".to_string(), |name| format!("upload:{name}"));
        let (hashed, _) = hash_upload(&state, &caller, upload).await?;
        (hashed, source)
    } else {
        return Err(HmaError::bad_request(
            "Neither `url` nor multipart file upload was received",
        ));
    };
    let metadata = parse_metadata(metadata)?;
    let meta = ContentMeta {
        note: note.unwrap_or_default(),
        source: metadata.content_uri.clone().unwrap_or(source),
        ..ContentMeta::default()
    };
    let kinds = hashed.content_type.select(query.types.as_deref())?;
    let id = add_hashed(&state, &caller, &path.bank_name, &hashed, meta).await?;
    // Report every selected signal the item holds, whatever its PDQ quality.
    Ok(Json(Added {
        id,
        signals: hashed.signals(&kinds, 0),
    }))
}

/// Stores a hashed file as a new item: photos with every signal the engine computes (PDQ
/// with quality, MD5, SHA-256); videos with vPDQ and the soundtrack's audio fingerprint (when
/// the bytes are a video), HMA's `video_md5` and SHA-256.
async fn add_hashed(
    state: &AppState,
    caller: &Caller,
    bank: &str,
    hashed: &Hashed,
    meta: ContentMeta,
) -> Result<i64, HmaError> {
    let mut signals = Vec::new();
    if let Some(image) = hashed.fingerprints.as_ref().and_then(|f| f.image()) {
        signals.push(NewSignal {
            signal_type: SignalType::Pdq,
            algorithm_version: takedown_signals::pdq::ALGORITHM.version,
            value: image.pdq.hash.to_hex(),
            quality: Some(image.pdq.quality),
        });
    }
    if let Some(video) = hashed.fingerprints.as_ref().and_then(|f| f.video()) {
        signals.push(NewSignal {
            signal_type: SignalType::Vpdq,
            algorithm_version: takedown_signals::vpdq::ALGORITHM.version,
            value: takedown_signals::vpdq::format_lines(&video.vpdq),
            quality: None,
        });
    }
    // The soundtrack too (takedown's own signal, invisible to HMA's clients), so an audio
    // copy of the video's sound finds this item through /api/v1.
    if let Some(audio) = hashed.fingerprints.as_ref().and_then(|f| f.audio()) {
        signals.push(NewSignal {
            signal_type: SignalType::Audio,
            algorithm_version: takedown_signals::audio::ALGORITHM.version,
            value: audio.fingerprint.to_text(),
            quality: None,
        });
    }
    let md5_kind = match hashed.content_type {
        ContentType::Photo => SignalType::Md5,
        ContentType::Video => SignalType::VideoMd5,
    };
    for (kind, value) in [
        (md5_kind, &hashed.digests.md5),
        (SignalType::Sha256, &hashed.digests.sha256),
    ] {
        signals.push(NewSignal {
            signal_type: kind,
            algorithm_version: 1,
            value: value.clone(),
            quality: None,
        });
    }
    let content = state
        .engine()
        .add_content(caller, bank, signals, meta)
        .await?;
    Ok(content.id.0)
}

/// Adds an item given by its hashes: `{"pdq": "...", "note": "..."}`.
#[utoipa::path(
    post,
    path = "/c/bank/{bank_name}/signal",
    tag = "HMA-compatible",
    params(BankPath),
    request_body(content = Object, description = "Signal type to value, plus an optional `note`"),
    responses(
        (status = 200, description = "The new item and its signals", body = Added),
        (status = 400, description = "No signals, unknown type or malformed value", body = HmaErrorBody),
        (status = 404, description = "No such bank", body = HmaErrorBody),
        (status = 409, description = "A signal is already in the bank", body = HmaErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn signal_add(
    State(state): State<AppState>,
    HmaCaller(caller): HmaCaller,
    HmaPath(path): HmaPath<BankPath>,
    HmaJson(body): HmaJson<serde_json::Value>,
) -> Result<Json<Added>, HmaError> {
    find_bank(&state, &caller, &path.bank_name).await?;
    let serde_json::Value::Object(fields) = body else {
        return Err(HmaError::bad_request(
            "this endpoint expects a json object payload",
        ));
    };
    let mut note = String::new();
    let mut signals = Vec::new();
    let mut reported = BTreeMap::new();
    for (name, value) in fields {
        let text = match &value {
            serde_json::Value::String(text) => text.clone(),
            _ if name == "note" => {
                return Err(HmaError::bad_request("note must be a string"));
            }
            other => {
                return Err(HmaError::bad_request(format!(
                    "Invalid {name} signal: expected a string, got {other}"
                )))
            }
        };
        if name == "note" {
            note = text;
            continue;
        }
        let kind: SignalType = name
            .parse()
            .map_err(|_| HmaError::bad_request(format!("No such signal type {name}")))?;
        let value = takedown_exchange::canonical_value(kind, &text).map_err(|message| {
            HmaError(ApiError::invalid(
                name.clone(),
                format!("Invalid {name} signal: {message}"),
            ))
        })?;
        reported.insert(kind.as_str().to_string(), value.clone());
        signals.push(NewSignal {
            signal_type: kind,
            algorithm_version: if kind == SignalType::Pdq {
                takedown_signals::pdq::ALGORITHM.version
            } else {
                1
            },
            value,
            quality: None,
        });
    }
    if signals.is_empty() {
        return Err(HmaError::bad_request("No signals given"));
    }
    let content = state
        .engine()
        .add_content(
            &caller,
            &path.bank_name,
            signals,
            ContentMeta {
                note,
                source: "hma-signal".to_string(),
                ..ContentMeta::default()
            },
        )
        .await?;
    Ok(Json(Added {
        id: content.id.0,
        signals: reported,
    }))
}
