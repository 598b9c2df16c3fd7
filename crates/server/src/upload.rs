//! Request bodies with limits: uploads refused before they are read when too large, multipart
//! forms with one file, and bulk-import files spooled to disk.
//!
//! Two guards keep a large body out of memory. [`limit_body`] refuses a request whose
//! `Content-Length` is over the limit before reading a byte of it; a body without a length
//! (chunked) is cut off by axum's `DefaultBodyLimit` as soon as it passes the limit, which
//! the multipart and JSON extractors report as 413.

use std::collections::BTreeMap;
use std::io::{Seek, SeekFrom};

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::config::ByteSize;
use crate::error::{ApiError, ErrorShape, HmaError};
use crate::state::AppState;

/// Middleware state: the largest body a group of routes accepts, and the error shape of
/// those routes.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit {
    /// The limit.
    pub limit: ByteSize,
    /// How the routes answer errors.
    pub shape: ErrorShape,
}

/// Middleware: 413 for a declared `Content-Length` over the limit, before the body is read.
pub async fn limit_body(
    State(BodyLimit { limit, shape }): State<BodyLimit>,
    request: Request,
    next: Next,
) -> Response {
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.trim().parse::<u64>().ok());
    if let Some(length) = declared {
        if length > limit.bytes() {
            let error = ApiError::too_large(format!(
                "the request body is {length} bytes, more than the limit of {}",
                limit.bytes()
            ));
            return match shape {
                ErrorShape::Api => error.into_response(),
                ErrorShape::Hma => HmaError(error).into_response(),
            };
        }
    }
    next.run(request).await
}

/// One uploaded file and the text fields sent with it.
#[derive(Debug)]
pub struct Upload {
    /// Name of the form field that carried the file (HMA: the content type, `photo` or `video`).
    pub field: String,
    /// The file name the client gave, if any.
    pub file_name: Option<String>,
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// Other fields (text), by name.
    pub fields: BTreeMap<String, String>,
}

/// Longest text field accepted next to a file (notes, labels as JSON, metadata).
const MAX_TEXT_FIELD: usize = 64 * 1024;

/// Reads a multipart form holding exactly one file. A part counts as the file when it has a
/// file name or is named in `file_fields`; other parts are text fields.
pub async fn read_upload(
    mut multipart: Multipart,
    file_fields: &[&str],
) -> Result<Upload, ApiError> {
    let mut upload: Option<(String, Option<String>, Vec<u8>)> = None;
    let mut fields = BTreeMap::new();
    while let Some(field) = multipart.next_field().await? {
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(str::to_string);
        if file_name.is_some() || file_fields.contains(&name.as_str()) {
            if upload.is_some() {
                return Err(ApiError::bad_request("only one file allowed per request"));
            }
            let bytes = field.bytes().await?;
            upload = Some((name, file_name, bytes.to_vec()));
        } else {
            let text = field.text().await?;
            if text.len() > MAX_TEXT_FIELD {
                return Err(ApiError::invalid(
                    name,
                    format!("longer than {MAX_TEXT_FIELD} bytes"),
                ));
            }
            fields.insert(name, text);
        }
    }
    let (field, file_name, bytes) =
        upload.ok_or_else(|| ApiError::bad_request("missing multipart/form-data file upload"))?;
    Ok(Upload {
        field,
        file_name,
        bytes,
        fields,
    })
}

/// Whether a request carries a multipart form.
pub fn is_multipart(request: &Request) -> bool {
    request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|text| text.to_ascii_lowercase().starts_with("multipart/form-data"))
}

/// Extracts a [`Multipart`] from a request, mapping the rejection to an [`ApiError`].
pub async fn multipart_of(request: Request, state: &AppState) -> Result<Multipart, ApiError> {
    Multipart::from_request(request, state)
        .await
        .map_err(|rejection| ApiError::bad_request(rejection.body_text()))
}

/// A file written to a temporary file as it arrives (bulk import).
#[derive(Debug)]
pub struct Spooled {
    /// The file, positioned at its start.
    pub file: std::fs::File,
    /// The client's file name, if any.
    pub file_name: Option<String>,
    /// The bytes received.
    pub length: u64,
    /// Its first bytes, for format detection.
    pub head: Vec<u8>,
}

/// Streams a body chunk by chunk into a temporary file, refusing it past `limit`.
async fn spool_stream<S>(
    stream: S,
    limit: ByteSize,
    file_name: Option<String>,
) -> Result<Spooled, ApiError>
where
    S: futures_util::Stream<Item = Result<Bytes, ApiError>>,
{
    let mut stream = std::pin::pin!(stream);
    let std_file = tempfile::tempfile().map_err(ApiError::internal)?;
    let mut file = tokio::fs::File::from_std(std_file);
    let mut length = 0u64;
    let mut head = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        length += chunk.len() as u64;
        if length > limit.bytes() {
            return Err(ApiError::too_large(format!(
                "the file is larger than the import limit of {} bytes",
                limit.bytes()
            )));
        }
        if head.len() < 512 {
            let take = (512 - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
        }
        file.write_all(&chunk).await.map_err(ApiError::internal)?;
    }
    file.flush().await.map_err(ApiError::internal)?;
    let mut file = file.into_std().await;
    file.seek(SeekFrom::Start(0)).map_err(ApiError::internal)?;
    Ok(Spooled {
        file,
        file_name,
        length,
        head,
    })
}

/// Spools a bulk-import file: the first file of a multipart form, or the raw body.
pub async fn spool_request(
    request: Request,
    state: &AppState,
    limit: ByteSize,
) -> Result<Spooled, ApiError> {
    if is_multipart(&request) {
        let mut multipart = multipart_of(request, state).await?;
        while let Some(field) = multipart.next_field().await? {
            if field.file_name().is_some() || field.name() == Some("file") {
                let file_name = field.file_name().map(str::to_string);
                let chunks = field.map(|chunk| chunk.map_err(ApiError::from));
                return spool_stream(chunks, limit, file_name).await;
            }
        }
        return Err(ApiError::bad_request(
            "missing file: send the hash list as the multipart field `file` or as the raw body",
        ));
    }
    let body: Body = request.into_body();
    let chunks = body.into_data_stream().map(|chunk| {
        chunk.map_err(|error| ApiError::bad_request(format!("the upload was interrupted: {error}")))
    });
    spool_stream(chunks, limit, None).await
}
