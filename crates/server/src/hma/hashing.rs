//! HMA's hashing blueprint: `GET /h/hash?url=` and `POST /h/hash` (multipart).

use std::collections::BTreeMap;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{hash_upload, hash_url as fetch_and_hash, multipart};
use crate::auth::HmaCaller;
use crate::error::{HmaError, HmaErrorBody};
use crate::extract::HmaQuery;
use crate::state::AppState;
use crate::upload::read_upload;

/// Parameters of `GET /h/hash`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HashQuery {
    /// URL of the media to fetch and hash (http or https; private addresses refused).
    url: Option<String>,
    /// `photo` or `video`; by default taken from the response's `Content-Type`.
    content_type: Option<String>,
    /// Comma-separated signal types (photo: `pdq`, `md5`, `sha256`; video: `video_md5`,
    /// `md5`, `sha256`); by default `pdq` for photos and `video_md5` for videos.
    types: Option<String>,
}

/// Fetches media by URL and returns its hashes, `{"pdq": "..."}`.
#[utoipa::path(
    get,
    path = "/h/hash",
    tag = "HMA-compatible",
    params(HashQuery),
    responses(
        (status = 200, description = "Hashes by signal type", body = BTreeMap<String, String>),
        (status = 400, description = "Missing or refused URL", body = HmaErrorBody),
        (status = 413, description = "The file is too large", body = HmaErrorBody),
        (status = 422, description = "Not decodable media", body = HmaErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn hash_url(
    State(state): State<AppState>,
    HmaCaller(caller): HmaCaller,
    HmaQuery(query): HmaQuery<HashQuery>,
) -> Result<Json<BTreeMap<String, String>>, HmaError> {
    let url = query
        .url
        .filter(|url| !url.is_empty())
        .ok_or_else(|| HmaError::bad_request("url is required"))?;
    let (hashed, _) = fetch_and_hash(&state, &caller, &url, query.content_type.as_deref()).await?;
    let kinds = hashed.content_type.select(query.types.as_deref())?;
    Ok(Json(
        hashed.signals(&kinds, state.config().matching.min_quality),
    ))
}

/// Parameters of `POST /h/hash`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HashUploadQuery {
    /// Comma-separated signal types, as for `GET /h/hash`.
    types: Option<String>,
}

/// A file upload whose field name is its content type.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Documentation only: the body is read as a multipart stream.
pub struct MediaUpload {
    /// An image (field name `photo`) ...
    #[schema(format = Binary, value_type = Option<String>)]
    photo: Option<Vec<u8>>,
    /// ... or a video (field name `video`).
    #[schema(format = Binary, value_type = Option<String>)]
    video: Option<Vec<u8>>,
}

/// Hashes an uploaded file (multipart, one file whose field name is `photo` or `video`).
#[utoipa::path(
    post,
    path = "/h/hash",
    tag = "HMA-compatible",
    params(HashUploadQuery),
    request_body(content = MediaUpload, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "Hashes by signal type", body = BTreeMap<String, String>),
        (status = 400, description = "No file, several files, or an unknown field name", body = HmaErrorBody),
        (status = 413, description = "The upload is too large", body = HmaErrorBody),
        (status = 422, description = "Not decodable media", body = HmaErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn hash_file(
    State(state): State<AppState>,
    HmaCaller(caller): HmaCaller,
    HmaQuery(query): HmaQuery<HashUploadQuery>,
    body: Result<Multipart, MultipartRejection>,
) -> Result<Json<BTreeMap<String, String>>, HmaError> {
    let upload = read_upload(multipart(body)?, &["photo", "video"]).await?;
    let (hashed, _) = hash_upload(&state, &caller, upload).await?;
    let kinds = hashed.content_type.select(query.types.as_deref())?;
    Ok(Json(
        hashed.signals(&kinds, state.config().matching.min_quality),
    ))
}
