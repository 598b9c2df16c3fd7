//! Bulk import of hash lists into a bank, and streamed export of a bank.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use takedown_engine::{EngineError, ImportRequest};
use takedown_exchange::{write_hash_list, HashListFormat, HashListRow};
use takedown_model::{Content, Permission};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::banks::BankPath;
use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;
use crate::upload::spool_request;

/// Import routes (their own body limit: `import_limit`).
pub(super) fn import_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(import))
}

/// Export routes.
pub(super) fn export_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export))
}

/// A hash-list format parameter.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct FormatQuery {
    /// `csv` or `jsonl`. Import: by default from the file name or the first byte (`{` is JSON
    /// lines). Export: CSV by default.
    format: Option<String>,
}

fn parse_format(text: &str) -> Result<HashListFormat, ApiError> {
    match text.to_ascii_lowercase().as_str() {
        "csv" => Ok(HashListFormat::Csv),
        "jsonl" | "ndjson" | "json" | "jsonlines" => Ok(HashListFormat::JsonLines),
        other => Err(ApiError::invalid(
            "format",
            format!("{other:?} is not a hash-list format (csv or jsonl)"),
        )),
    }
}

/// What an import did.
#[derive(Debug, Serialize, ToSchema)]
struct ImportSummaryJson {
    /// Rows read.
    rows: u64,
    /// Rows that became new items.
    added: u64,
    /// Rows skipped because their signal is already in the bank.
    unchanged: u64,
    /// The audit entry recording the import.
    audit_sequence: i64,
}

/// A hash-list file.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only: the body is spooled to disk as it arrives.
struct HashListUpload {
    /// CSV with a header row `signal_type,value[,entity,tier,...]`, or JSON lines with the same
    /// keys. The raw request body works too.
    #[schema(format = Binary, value_type = String)]
    file: Vec<u8>,
}

/// Imports a CSV or JSON-lines hash list into a bank in one transaction: a bad row stops the
/// import, nothing is kept, and the answer names the row's line. Rows already in the bank are
/// skipped, so importing a file twice changes nothing the second time.
#[utoipa::path(
    post,
    path = "/banks/{bank}/import",
    tag = "Banks",
    params(BankPath, FormatQuery),
    request_body(content = HashListUpload, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "Imported", body = ImportSummaryJson),
        (status = 400, description = "A bad row; the message starts with `line N:`", body = ErrorBody),
        (status = 403, description = "Not owned by the caller's organisation, or the role may not", body = ErrorBody),
        (status = 404, description = "No such bank", body = ErrorBody),
        (status = 413, description = "Larger than import_limit", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn import(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(path): ApiPath<BankPath>,
    ApiQuery(query): ApiQuery<FormatQuery>,
    request: Request,
) -> Result<Json<ImportSummaryJson>, ApiError> {
    let explicit = query.format.as_deref().map(parse_format).transpose()?;
    // Refuse early, before receiving a large file the caller may not import.
    caller.require(Permission::CurateBanks)?;
    state.engine().bank(&caller, &path.bank).await?;
    let limit = state.config().import_limit;
    let spooled = spool_request(request, &state, limit).await?;
    let format = explicit
        .unwrap_or_else(|| HashListFormat::detect(spooled.file_name.as_deref(), &spooled.head));
    let origin = spooled
        .file_name
        .clone()
        .unwrap_or_else(|| "api upload".to_string());
    tracing::info!(bank = %path.bank, bytes = spooled.length, "importing hash list");
    let summary = state
        .engine()
        .import_hash_list(
            &caller,
            ImportRequest {
                bank: path.bank,
                format,
                origin,
                reader: Box::new(std::io::BufReader::new(spooled.file)),
                progress_every: 100_000,
            },
            &mut |_| {},
        )
        .await
        .map_err(|error| match error {
            // The store reports a bad row as `line N: ...`; it is the file's fault.
            EngineError::Invalid {
                field: None,
                message,
            } => ApiError {
                status: axum::http::StatusCode::BAD_REQUEST,
                message,
                field: Some("file".to_string()),
            },
            other => other.into(),
        })?;
    Ok(Json(ImportSummaryJson {
        rows: summary.rows,
        added: summary.added,
        unchanged: summary.unchanged,
        audit_sequence: summary.audit_sequence,
    }))
}

/// Items per written chunk of an export.
const EXPORT_CHUNK: usize = 500;

fn rows_of(content: &Content) -> impl Iterator<Item = HashListRow> + '_ {
    content.signals.iter().map(|signal| HashListRow {
        line: 0,
        signal_type: signal.signal_type,
        value: signal.value.clone(),
        labels: content.labels.clone(),
        note: content.note.clone(),
        source: (!content.source.is_empty()).then(|| content.source.clone()),
        extra: Default::default(),
    })
}

/// Writes one chunk of rows; without `with_header`, CSV loses the header line the writer adds.
fn write_chunk(
    format: HashListFormat,
    rows: &[HashListRow],
    with_header: bool,
) -> std::io::Result<Bytes> {
    let mut buffer = Vec::new();
    write_hash_list(&mut buffer, format, rows.iter())?;
    if format == HashListFormat::Csv && !with_header {
        let body_start = buffer
            .iter()
            .position(|byte| *byte == b'\n')
            .map_or(buffer.len(), |end| end + 1);
        buffer.drain(..body_start);
    }
    Ok(Bytes::from(buffer))
}

/// Streams every item of a bank as a hash list, one row per signal. The body is produced page
/// by page as the client reads it, so a bank of millions of items never sits in memory.
#[utoipa::path(
    get,
    path = "/banks/{bank}/export",
    tag = "Banks",
    params(BankPath, FormatQuery),
    responses(
        (status = 200, description = "The hash list (CSV or JSON lines)", content_type = "text/csv", body = String),
        (status = 404, description = "No such bank", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn export(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(path): ApiPath<BankPath>,
    ApiQuery(query): ApiQuery<FormatQuery>,
) -> Result<Response, ApiError> {
    let format = query
        .format
        .as_deref()
        .map(parse_format)
        .transpose()?
        .unwrap_or(HashListFormat::Csv);
    let bank = state.engine().bank(&caller, &path.bank).await?;
    let items = takedown_store::export_content(state.engine().store().clone(), bank.id);
    let chunks = items.chunks(EXPORT_CHUNK).map(move |chunk| {
        let mut rows = Vec::new();
        for item in chunk {
            match item {
                Ok(content) => rows.extend(rows_of(&content)),
                Err(error) => {
                    // Headers are gone by now: the client sees a cut-off body; the log says why.
                    tracing::error!(%error, "export failed");
                    return Err(std::io::Error::other("export failed"));
                }
            }
        }
        write_chunk(format, &rows, false)
    });
    // The CSV header goes first, on its own, so that an empty bank still exports a file that
    // imports cleanly.
    let header = futures_util::stream::once(async move {
        if format == HashListFormat::Csv {
            write_chunk(format, &[], true)
        } else {
            Ok(Bytes::new())
        }
    });
    let body = header.chain(chunks);
    let (content_type, extension) = match format {
        HashListFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        HashListFormat::JsonLines => ("application/x-ndjson", "jsonl"),
    };
    let disposition = format!("attachment; filename=\"{}.{extension}\"", bank.name);
    let mut response = Body::from_stream(body).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response.headers_mut().insert(CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
