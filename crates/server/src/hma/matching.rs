//! HMA's matching blueprint: `/m/raw_lookup`, `/m/lookup` (GET by signal or URL, POST upload),
//! `/m/index/status`, `/m/compare`.

use std::collections::BTreeMap;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use takedown_engine::{Caller, MatchHit};
use takedown_model::SignalType;
use utoipa::{IntoParams, ToSchema};

use super::{bank_filter, hash_upload, hash_url, multipart, Hashed};
use crate::auth::HmaCaller;
use crate::error::{HmaError, HmaErrorBody};
use crate::extract::{HmaJson, HmaQuery};
use crate::state::AppState;
use crate::upload::read_upload;

/// One matched bank item. Unlike HMA, `distance` is a number.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BankMatch {
    /// The bank item (`/c/bank/NAME/content/ID`).
    pub bank_content_id: i64,
    /// Hamming distance for PDQ, 0 for exact digests.
    pub distance: u32,
}

/// Matches grouped by bank name.
pub type MatchesByBank = BTreeMap<String, Vec<BankMatch>>;

fn group(hits: &[MatchHit], banks: Option<&[String]>) -> MatchesByBank {
    let mut grouped = MatchesByBank::new();
    for hit in hits {
        let name = hit.bank_name.as_str();
        if banks.is_some_and(|wanted| !wanted.iter().any(|bank| bank == name)) {
            continue;
        }
        grouped
            .entry(name.to_string())
            .or_default()
            .push(BankMatch {
                bank_content_id: hit.content.0,
                distance: hit.distance,
            });
    }
    grouped
}

/// Looks up one signal in every bank the caller may match against. HMA's `banks=` filter is
/// applied afterwards, so an unknown bank name gives no matches rather than an error (as HMA).
async fn lookup(
    state: &AppState,
    caller: &Caller,
    signal_type: &str,
    signal: &str,
) -> Result<Vec<MatchHit>, HmaError> {
    Ok(state
        .engine()
        .lookup_signal(caller, signal_type, signal, None)
        .await?)
}

/// Parameters of `GET /m/raw_lookup`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RawLookupQuery {
    /// The hash.
    signal: Option<String>,
    /// Its type (`pdq`, `video_md5`, `md5`, `sha256`).
    signal_type: Option<String>,
    /// Comma-separated bank names to restrict the search to.
    banks: Option<String>,
    /// `true` to return `{"bank_content_id", "distance"}` objects instead of bare ids.
    include_distance: Option<String>,
}

/// `{"matches": [1, 2]}` or, with `include_distance=true`,
/// `{"matches": [{"bank_content_id": 1, "distance": 3}]}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RawLookupResponse {
    /// Matched bank item ids, or objects with distances.
    #[schema(value_type = Vec<Object>)]
    matches: serde_json::Value,
}

fn parse_bool(name: &str, value: Option<&str>) -> Result<bool, HmaError> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(_) => Err(HmaError::bad_request(format!(
            "invalid boolean parameter {name} - prefer true/false"
        ))),
    }
}

fn required<'a>(name: &str, value: &'a Option<String>) -> Result<&'a str, HmaError> {
    value
        .as_deref()
        .ok_or_else(|| HmaError::bad_request(format!("{name} is required")))
}

/// Looks a hash up in the index: bank item ids, optionally with distances.
#[utoipa::path(
    get,
    path = "/m/raw_lookup",
    tag = "HMA-compatible",
    params(RawLookupQuery),
    responses(
        (status = 200, description = "Matching bank item ids", body = RawLookupResponse),
        (status = 400, description = "Missing or malformed signal or type", body = HmaErrorBody),
        (status = 503, description = "The index is still loading", body = HmaErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn raw_lookup(
    State(state): State<AppState>,
    HmaCaller(caller): HmaCaller,
    HmaQuery(query): HmaQuery<RawLookupQuery>,
) -> Result<Json<RawLookupResponse>, HmaError> {
    let signal = required("signal", &query.signal)?;
    let signal_type = required("signal_type", &query.signal_type)?;
    let include_distance = parse_bool("include_distance", query.include_distance.as_deref())?;
    let banks = bank_filter(query.banks.as_deref());
    let hits = lookup(&state, &caller, signal_type, signal).await?;
    let kept = hits.iter().filter(|hit| {
        banks
            .as_deref()
            .is_none_or(|wanted| wanted.iter().any(|bank| bank == hit.bank_name.as_str()))
    });
    let matches = if include_distance {
        serde_json::json!(kept
            .map(|hit| BankMatch {
                bank_content_id: hit.content.0,
                distance: hit.distance,
            })
            .collect::<Vec<_>>())
    } else {
        serde_json::json!(kept.map(|hit| hit.content.0).collect::<Vec<_>>())
    };
    Ok(Json(RawLookupResponse { matches }))
}

/// Parameters of `GET /m/lookup`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LookupQuery {
    /// The hash (with `signal_type`) ...
    signal: Option<String>,
    /// ... its type; with `url`, selects one type and elides the outer object (as HMA).
    signal_type: Option<String>,
    /// ... or a URL of media to fetch, hash and look up.
    url: Option<String>,
    /// With `url`: `photo` or `video` (default from the response's `Content-Type`).
    content_type: Option<String>,
    /// With `url`: comma-separated signal types to compute.
    types: Option<String>,
    /// Comma-separated bank names to restrict the matches to.
    banks: Option<String>,
}

/// Looks up each selected signal of a hashed file: `{"pdq": {"BANK": [...]}}`.
async fn lookup_hashed(
    state: &AppState,
    caller: &Caller,
    hashed: &Hashed,
    types: Option<&str>,
    banks: Option<&[String]>,
) -> Result<BTreeMap<String, MatchesByBank>, HmaError> {
    let kinds = hashed.content_type.select(types)?;
    let mut response = BTreeMap::new();
    for (kind, value) in hashed.signals(&kinds, state.config().matching.min_quality) {
        let hits = lookup(state, caller, &kind, &value).await?;
        response.insert(kind, group(&hits, banks));
    }
    Ok(response)
}

/// Looks up a hash (`signal` + `signal_type` -> `{"BANK": [...]}`) or the media at a URL
/// (`url` -> `{"pdq": {"BANK": [...]}}`).
#[utoipa::path(
    get,
    path = "/m/lookup",
    tag = "HMA-compatible",
    params(LookupQuery),
    responses(
        (status = 200, description = "Matches by bank (by signal type first for url=)", body = Object),
        (status = 400, description = "Missing parameters, malformed hash or refused URL", body = HmaErrorBody),
        (status = 503, description = "The index is still loading", body = HmaErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn lookup_get(
    State(state): State<AppState>,
    HmaCaller(caller): HmaCaller,
    HmaQuery(query): HmaQuery<LookupQuery>,
) -> Result<Json<serde_json::Value>, HmaError> {
    let banks = bank_filter(query.banks.as_deref());
    if let Some(url) = query.url.as_deref().filter(|url| !url.is_empty()) {
        let (hashed, _) = hash_url(&state, &caller, url, query.content_type.as_deref()).await?;
        let mut response = lookup_hashed(
            &state,
            &caller,
            &hashed,
            query.types.as_deref(),
            banks.as_deref(),
        )
        .await?;
        // HMA elides the outer object when a signal type is named.
        if let Some(kind) = query.signal_type.as_deref() {
            let selected = response.remove(kind).unwrap_or_default();
            return Ok(Json(serde_json::json!(selected)));
        }
        return Ok(Json(serde_json::json!(response)));
    }
    let (Some(signal), Some(signal_type)) = (query.signal.as_deref(), query.signal_type.as_deref())
    else {
        return Err(HmaError::bad_request(
            "Either url or both signal and signal_type are required",
        ));
    };
    let hits = lookup(&state, &caller, signal_type, signal).await?;
    Ok(Json(serde_json::json!(group(&hits, banks.as_deref()))))
}

/// Parameters of `POST /m/lookup`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LookupUploadQuery {
    /// Comma-separated bank names to restrict the matches to.
    banks: Option<String>,
    /// Comma-separated signal types to compute.
    types: Option<String>,
}

/// Hashes an uploaded file (field `photo` or `video`) and looks up each of its signals:
/// `{"pdq": {"BANK": [{"bank_content_id": 1, "distance": 3}]}}`.
#[utoipa::path(
    post,
    path = "/m/lookup",
    tag = "HMA-compatible",
    params(LookupUploadQuery),
    request_body(content = super::hashing::MediaUpload, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "Matches by signal type, then by bank", body = BTreeMap<String, MatchesByBank>),
        (status = 400, description = "No file or an unknown field name", body = HmaErrorBody),
        (status = 413, description = "The upload is too large", body = HmaErrorBody),
        (status = 422, description = "Not decodable media", body = HmaErrorBody),
        (status = 503, description = "The index is still loading", body = HmaErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn lookup_post(
    State(state): State<AppState>,
    HmaCaller(caller): HmaCaller,
    HmaQuery(query): HmaQuery<LookupUploadQuery>,
    body: Result<Multipart, MultipartRejection>,
) -> Result<Json<BTreeMap<String, MatchesByBank>>, HmaError> {
    // Fail fast while the index loads, before receiving and hashing the file.
    if !state.engine().is_ready() {
        return Err(takedown_engine::EngineError::NotReady.into());
    }
    let upload = read_upload(multipart(body)?, &["photo", "video"]).await?;
    let (hashed, _) = hash_upload(&state, &caller, upload).await?;
    let banks = bank_filter(query.banks.as_deref());
    Ok(Json(
        lookup_hashed(
            &state,
            &caller,
            &hashed,
            query.types.as_deref(),
            banks.as_deref(),
        )
        .await?,
    ))
}

/// Parameters of `GET /m/index/status`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IndexStatusQuery {
    /// Limit the answer to one signal type.
    signal_type: Option<String>,
}

/// State of one signal type's index.
#[derive(Debug, Serialize, ToSchema)]
pub struct SignalIndexStatus {
    /// Unix time the index last caught up with the store (-1 before the first load).
    built_to: i64,
    /// Whether the index is loaded.
    present: bool,
    /// Signals held.
    size: usize,
}

/// The types `/m/index/status` reports (HMA reports its configured types).
const INDEXED: [SignalType; 4] = [
    SignalType::Pdq,
    SignalType::VideoMd5,
    SignalType::Md5,
    SignalType::Sha256,
];

/// The matching index's state by signal type.
#[utoipa::path(
    get,
    path = "/m/index/status",
    tag = "HMA-compatible",
    params(IndexStatusQuery),
    responses(
        (status = 200, description = "Index state by signal type", body = BTreeMap<String, SignalIndexStatus>),
        (status = 400, description = "Unknown signal type", body = HmaErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn index_status(
    State(state): State<AppState>,
    HmaCaller(_caller): HmaCaller,
    HmaQuery(query): HmaQuery<IndexStatusQuery>,
) -> Result<Json<BTreeMap<String, SignalIndexStatus>>, HmaError> {
    let status = state.engine().index_status();
    let kinds: Vec<SignalType> = match query.signal_type.as_deref() {
        None => INDEXED.to_vec(),
        Some(name) => vec![*INDEXED
            .iter()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| HmaError::bad_request(format!("No such signal type '{name}'")))?],
    };
    let built_to = status.updated_at.map_or(-1, |at| at.timestamp());
    Ok(Json(
        kinds
            .into_iter()
            .map(|kind| {
                (
                    kind.as_str().to_string(),
                    SignalIndexStatus {
                        built_to: if status.ready { built_to } else { -1 },
                        present: status.ready,
                        size: status.signals.get(&kind).copied().unwrap_or(0),
                    },
                )
            })
            .collect(),
    ))
}

/// Compares pairs of hashes: `{"pdq": [h1, h2]}` -> `{"pdq": [true, {"distance": 9}]}`.
#[utoipa::path(
    post,
    path = "/m/compare",
    tag = "HMA-compatible",
    request_body(content = Object, description = "Signal type to a list of exactly two hashes"),
    responses(
        (status = 200, description = "Per type: [matched, {\"distance\": n}]", body = Object),
        (status = 400, description = "Not an object of two-hash lists, or a malformed hash", body = HmaErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn compare(
    State(state): State<AppState>,
    HmaCaller(caller): HmaCaller,
    HmaJson(body): HmaJson<serde_json::Value>,
) -> Result<Json<serde_json::Value>, HmaError> {
    caller.require(takedown_model::Permission::Match)?;
    let serde_json::Value::Object(pairs) = body else {
        return Err(HmaError::bad_request("Request input was not a dict"));
    };
    let mut results = serde_json::Map::new();
    for (signal_type, hashes) in pairs {
        let serde_json::Value::Array(hashes) = hashes else {
            return Err(HmaError::bad_request(format!(
                "Comparison hashes for {signal_type} was not a list"
            )));
        };
        let [serde_json::Value::String(left), serde_json::Value::String(right)] = hashes.as_slice()
        else {
            return Err(HmaError::bad_request(
                "Comparison hash list length must be exactly 2 strings",
            ));
        };
        let result = state.engine().compare(&signal_type, left, right)?;
        results.insert(
            signal_type,
            serde_json::json!([result.matched, {"distance": result.distance}]),
        );
    }
    Ok(Json(serde_json::Value::Object(results)))
}
