//! Hashing and lookups: by hash, by upload; every match comes with its item's labels, so an
//! upload pipeline can act on tier and entity without a second request.

use std::collections::HashMap;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use takedown_engine::{Caller, MatchDetail, MatchHit};
use takedown_hasher::Fingerprints;
use takedown_model::{ContentId, Labels};
use takedown_signals::audio::Stretch;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiQuery;
use crate::state::AppState;
use crate::upload::read_upload;
use crate::wire::LabelsJson;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(lookup_hash))
        .routes(routes!(lookup_upload))
        .routes(routes!(hash_upload))
}

/// One matched bank item.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MatchJson {
    /// The bank's name.
    pub bank: String,
    /// The matched item.
    pub content_id: i64,
    /// Which signal matched.
    pub signal_type: String,
    /// Hamming distance for PDQ, 0 for exact digests.
    pub distance: u32,
    /// The bank's value of the signal (empty for vPDQ, audio and text signatures, whose
    /// values are long: read the item for them).
    pub value: String,
    /// How a video, audio or text item matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<MatchDetailJson>,
    /// The item's labels.
    pub labels: LabelsJson,
}

/// Scores of a video, audio or text match (`distance` is 100 minus the similarity in percent).
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct MatchDetailJson {
    /// vPDQ: percentage of the query's frames found in the banked video.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_percent: Option<f64>,
    /// vPDQ: percentage of the banked video's frames found in the query.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compared_percent: Option<f64>,
    /// vPDQ: the change undone on the upload before it matched (`mirrored`: the upload is
    /// the banked video flipped left to right; `bars removed`: it was letterboxed or
    /// pillarboxed). Absent when it matched as it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Audio: bit-error rate of the best alignment (0 identical, about 0.5 unrelated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bit_error_rate: Option<f64>,
    /// Audio: where the query starts in the banked recording, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset_seconds: Option<f64>,
    /// Audio: length of the aligned run of sub-fingerprints in seconds (a 10 s excerpt gives
    /// about 7.3: each sub-fingerprint also reads about 2.2 s of audio past its start).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overlap_seconds: Option<f64>,
    /// Audio: the speed or tempo change undone on the upload before it matched
    /// (`speed x1.030`: the upload plays 3% faster than the banked recording; `tempo x0.950`:
    /// 5% slower at the same pitch). Absent when it matched as it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stretch: Option<String>,
    /// Text: the larger containment, 0 to 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

impl MatchDetailJson {
    fn from_detail(detail: &MatchDetail) -> MatchDetailJson {
        match *detail {
            MatchDetail::Video {
                query_percent,
                compared_percent,
                variant,
            } => MatchDetailJson {
                query_percent: Some(query_percent),
                compared_percent: Some(compared_percent),
                variant: variant.map(|variant| variant.label().to_string()),
                ..MatchDetailJson::default()
            },
            MatchDetail::Audio {
                bit_error_rate,
                offset_seconds,
                overlap_seconds,
                stretch,
            } => MatchDetailJson {
                bit_error_rate: Some(bit_error_rate),
                offset_seconds: Some(offset_seconds),
                overlap_seconds: Some(overlap_seconds),
                stretch: (stretch != Stretch::None).then(|| stretch.label()),
                ..MatchDetailJson::default()
            },
            MatchDetail::Text { score, .. } => MatchDetailJson {
                score: Some(score),
                ..MatchDetailJson::default()
            },
        }
    }
}

/// Matches for a lookup by hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct LookupResponse {
    /// Closest first.
    pub matches: Vec<MatchJson>,
}

/// Labels of the matched items, one store read per distinct item (none when nothing
/// matched). Read from the store directly: the hits come only from banks the caller may match
/// against, so their labels are the caller's to see even when its role may not browse banks
/// (a matcher token acting on tier and entity is the point of the labels).
async fn with_labels(state: &AppState, hits: &[MatchHit]) -> Result<Vec<MatchJson>, ApiError> {
    let mut labels: HashMap<ContentId, Labels> = HashMap::new();
    for hit in hits {
        if labels.contains_key(&hit.content) {
            continue;
        }
        match state.engine().store().content(hit.content).await {
            Ok(content) => {
                labels.insert(hit.content, content.labels);
            }
            // Deleted between the lookup and this read: the match stands, without labels.
            Err(takedown_store::StoreError::NotFound(_)) => {
                labels.insert(hit.content, Labels::default());
            }
            Err(error) => return Err(takedown_engine::EngineError::from(error).into()),
        }
    }
    Ok(hits
        .iter()
        .map(|hit| MatchJson {
            bank: hit.bank_name.to_string(),
            content_id: hit.content.0,
            signal_type: hit.signal_type.as_str().to_string(),
            distance: hit.distance,
            value: hit.value.clone(),
            detail: hit.detail.as_ref().map(MatchDetailJson::from_detail),
            labels: labels
                .get(&hit.content)
                .map(LabelsJson::from_labels)
                .unwrap_or_default(),
        })
        .collect())
}

fn banks_param(banks: Option<&str>) -> Option<Vec<String>> {
    banks.map(|text| {
        text.split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_string)
            .collect()
    })
}

/// Parameters of a lookup by hash.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct HashLookupQuery {
    /// `pdq`, `md5`, `sha256`, `video_md5`.
    signal_type: String,
    /// The hash (hex).
    value: String,
    /// Comma-separated bank names (default: every bank the caller may match against). An
    /// unknown or invisible name is an error, never a silently smaller search.
    banks: Option<String>,
}

/// Looks a hash up in the caller's banks.
#[utoipa::path(
    get,
    path = "/lookup",
    tag = "Matching",
    params(HashLookupQuery),
    responses(
        (status = 200, description = "Matches with labels", body = LookupResponse),
        (status = 400, description = "Malformed hash or unknown type (the field is named)", body = ErrorBody),
        (status = 404, description = "A named bank is not visible", body = ErrorBody),
        (status = 503, description = "The index is still loading", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn lookup_hash(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(query): ApiQuery<HashLookupQuery>,
) -> Result<Json<LookupResponse>, ApiError> {
    let banks = banks_param(query.banks.as_deref());
    let hits = state
        .engine()
        .lookup_signal(&caller, &query.signal_type, &query.value, banks.as_deref())
        .await
        .map_err(|error| match error {
            // The engine calls the value `signal` (HMA's name); here the parameter is `value`.
            takedown_engine::EngineError::Invalid {
                field: Some(field),
                message,
            } if field == "signal" => ApiError::invalid("value", message),
            other => other.into(),
        })?;
    Ok(Json(LookupResponse {
        matches: with_labels(&state, &hits).await?,
    }))
}

/// Fingerprints of an uploaded file.
#[derive(Debug, Serialize, ToSchema)]
pub struct FingerprintsJson {
    /// PDQ hash (images).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdq: Option<String>,
    /// PDQ quality 0-100; below 50 the hash is unreliable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quality: Option<u8>,
    /// MD5 of the bytes.
    pub md5: String,
    /// SHA-256 of the bytes.
    pub sha256: String,
    /// Image format found from the magic bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Width in pixels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Height in pixels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// Size in bytes.
    pub size: u64,
    /// `image`, `video`, `audio` or `text`, from the bytes.
    pub kind: String,
    /// Video and audio: seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<f64>,
    /// Video: vPDQ in Meta's line format (`frame,quality,hash,timestamp` per line).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpdq: Option<String>,
    /// Video: frames hashed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpdq_frames: Option<usize>,
    /// Audio: the fingerprint's text form (`audio:1:...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio: Option<String>,
    /// Text: SHA-256 of the normalised text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_sha256: Option<String>,
    /// Text: the near-duplicate signature's text form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_minhash: Option<String>,
}

impl FingerprintsJson {
    fn from_fingerprints(fingerprints: &Fingerprints) -> FingerprintsJson {
        let image = fingerprints.image();
        let video = fingerprints.video();
        let audio = fingerprints.audio();
        let text = fingerprints.text();
        FingerprintsJson {
            kind: fingerprints.kind().name().to_string(),
            duration_seconds: video
                .and_then(|video| video.info.duration_seconds)
                .or(audio.map(|audio| audio.duration_seconds)),
            vpdq: video.map(|video| takedown_signals::vpdq::format_lines(&video.vpdq)),
            vpdq_frames: video.map(|video| video.vpdq.len()),
            audio: audio.map(|audio| audio.fingerprint.to_text()),
            text_sha256: text.map(|text| text.text.digest.clone()),
            text_minhash: text.map(|text| text.text.signature.to_text()),
            pdq: image.map(|image| image.pdq.hash.to_hex()),
            quality: image.map(|image| image.pdq.quality),
            md5: fingerprints.digests.md5.clone(),
            sha256: fingerprints.digests.sha256.clone(),
            format: image.map(|image| image.format.name().to_ascii_lowercase()),
            width: image.map(|image| image.width),
            height: image.map(|image| image.height),
            size: fingerprints.size,
        }
    }
}

/// Fingerprints and matches of an uploaded file.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadLookupResponse {
    /// The file's fingerprints.
    pub fingerprints: FingerprintsJson,
    /// Matches with labels, closest first.
    pub matches: Vec<MatchJson>,
    /// The PDQ hash was not matched: its quality is below `matching.min_quality` (the digests
    /// were still matched).
    pub pdq_skipped_low_quality: bool,
}

/// A file upload.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only: the body is read as a multipart stream.
struct FileUpload {
    /// The media file (any field name).
    #[schema(format = Binary, value_type = String)]
    file: Vec<u8>,
}

/// Parameters of a lookup by upload.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct UploadLookupQuery {
    /// Comma-separated bank names (default: every bank the caller may match against).
    banks: Option<String>,
}

async fn upload_of(
    caller: &Caller,
    body: Result<Multipart, MultipartRejection>,
) -> Result<Vec<u8>, ApiError> {
    caller.require(takedown_model::Permission::Match)?;
    let form = body.map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    Ok(read_upload(form, &["file"]).await?.bytes)
}

/// Hashes an uploaded file and matches every signal against the caller's banks.
#[utoipa::path(
    post,
    path = "/lookup/upload",
    tag = "Matching",
    params(UploadLookupQuery),
    request_body(content = FileUpload, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "Fingerprints and matches with labels", body = UploadLookupResponse),
        (status = 400, description = "No file", body = ErrorBody),
        (status = 413, description = "Larger than the upload limit, or too many pixels", body = ErrorBody),
        (status = 422, description = "Corrupt or unsupported media (named)", body = ErrorBody),
        (status = 503, description = "The index is still loading", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn lookup_upload(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(query): ApiQuery<UploadLookupQuery>,
    body: Result<Multipart, MultipartRejection>,
) -> Result<Json<UploadLookupResponse>, ApiError> {
    // Fail fast while the index loads, before receiving and hashing the file.
    if !state.engine().is_ready() {
        return Err(takedown_engine::EngineError::NotReady.into());
    }
    let bytes = upload_of(&caller, body).await?;
    let banks = banks_param(query.banks.as_deref());
    let report = state
        .engine()
        .match_bytes(&caller, bytes, banks.as_deref())
        .await?;
    Ok(Json(UploadLookupResponse {
        fingerprints: FingerprintsJson::from_fingerprints(&report.fingerprints),
        matches: with_labels(&state, &report.hits).await?,
        pdq_skipped_low_quality: report.pdq_skipped_low_quality,
    }))
}

/// Hashes an uploaded file without matching it.
#[utoipa::path(
    post,
    path = "/hash",
    tag = "Matching",
    request_body(content = FileUpload, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "Fingerprints", body = FingerprintsJson),
        (status = 400, description = "No file", body = ErrorBody),
        (status = 413, description = "Larger than the upload limit, or too many pixels", body = ErrorBody),
        (status = 422, description = "Corrupt or unsupported media (named)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn hash_upload(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    body: Result<Multipart, MultipartRejection>,
) -> Result<Json<FingerprintsJson>, ApiError> {
    let bytes = upload_of(&caller, body).await?;
    let fingerprints = state.engine().hash_bytes(&caller, bytes, false).await?;
    Ok(Json(FingerprintsJson::from_fingerprints(&fingerprints)))
}
