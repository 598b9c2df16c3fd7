//! Impact measurement: outlet release logs, operations (action days), an operation's impact
//! report and the transparency report. The work is `takedown-impact`'s; this maps HTTP to it.
//!
//! Release logs and operations are instance-wide (what an outlet published is a fact about
//! the outlet, not about who recorded it). Reading them needs the `ReadBanks` permission
//! (admin, curator, analyst); importing releases and creating operations needs `Review` or
//! `CurateBanks`; the transparency report, built from every organisation's referrals, needs
//! `Review`.

use axum::extract::{Request, State};
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use takedown_engine::{Caller, EngineError};
use takedown_exchange::HashListFormat;
use takedown_impact::operation::{parse_period_end, parse_time};
use takedown_impact::transparency::{
    render_transparency_html, transparency_json, transparency_report, ManualFigures,
};
use takedown_impact::wire::{operation_json, release_json, OperationSpec};
use takedown_impact::{operation_report, render_html, to_json, ImpactError, ReportOptions};
use takedown_model::{Actor, Permission};
use takedown_store::{ReleaseCursor, ReleaseId, ReleaseMedium, ReleaseQuery, Store};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use crate::upload::spool_request;

/// Every route but the import.
pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_releases))
        .routes(routes!(list_operations, create_operation))
        .routes(routes!(show_operation))
        .routes(routes!(operation_report_route))
        .routes(routes!(transparency))
}

/// The release-log import (its own body limit: `import_limit`).
pub(super) fn import_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(import_releases))
}

fn store(state: &AppState) -> &dyn Store {
    state.engine().store().as_ref()
}

fn actor(caller: &Caller) -> Actor {
    caller.actor.clone()
}

fn require_write(caller: &Caller) -> Result<(), ApiError> {
    if caller.role.allows(Permission::Review) {
        Ok(())
    } else {
        caller.require(Permission::CurateBanks)?;
        Ok(())
    }
}

/// The one table from impact errors to statuses: store errors as the engine maps them, a
/// bad request as 400, anything else logged as 500.
fn impact_error(error: ImpactError) -> ApiError {
    match error {
        ImpactError::Store(e) => EngineError::from(e).into(),
        ImpactError::Invalid(message) => ApiError::bad_request(message),
        ImpactError::Analytics(e) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
        other => ApiError::internal(other),
    }
}

/// A release-log format parameter.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ImportQuery {
    /// `csv` or `jsonl`; by default from the file name or the first byte (`{` is JSON lines).
    format: Option<String>,
}

/// A release-log file.
#[derive(ToSchema)]
#[allow(dead_code)] // Documentation only: the body is spooled to disk as it arrives.
struct ReleaseLogUpload {
    /// CSV with a header row `outlet,published_at,medium,language,channel,title[,md5,sha256,
    /// pdq]`, or JSON lines with the same keys. The raw request body works too.
    #[schema(format = Binary, value_type = String)]
    file: Vec<u8>,
}

/// Imports a release log in one transaction: a bad row stops the import, nothing is kept, and
/// the answer names the row's line. Releases already stored are counted as unchanged, so
/// importing a file twice changes nothing the second time.
#[utoipa::path(
    post,
    path = "/releases",
    tag = "Impact",
    params(ImportQuery),
    request_body(content = ReleaseLogUpload, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "Imported: `{rows, added, unchanged, audit_sequence}`", body = Object),
        (status = 400, description = "A bad row; the message starts with `line N:`", body = ErrorBody),
        (status = 403, description = "The role may not import", body = ErrorBody),
        (status = 413, description = "Larger than import_limit", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn import_releases(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(query): ApiQuery<ImportQuery>,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    let explicit = match query.format.as_deref().map(str::to_ascii_lowercase) {
        None => None,
        Some(f) if f == "csv" => Some(HashListFormat::Csv),
        Some(f) if ["jsonl", "ndjson", "json"].contains(&f.as_str()) => {
            Some(HashListFormat::JsonLines)
        }
        Some(other) => {
            return Err(ApiError::invalid(
                "format",
                format!("{other:?} is not a release-log format (csv or jsonl)"),
            ))
        }
    };
    // Refuse early, before receiving a large file the caller may not import.
    require_write(&caller)?;
    let limit = state.config().import_limit;
    let spooled = spool_request(request, &state, limit).await?;
    let format = explicit
        .unwrap_or_else(|| HashListFormat::detect(spooled.file_name.as_deref(), &spooled.head));
    let origin = spooled
        .file_name
        .clone()
        .unwrap_or_else(|| "api upload".to_string());
    let summary = takedown_impact::import_release_log(
        store(&state),
        &actor(&caller),
        std::io::BufReader::new(spooled.file),
        format,
        &origin,
        &mut |_| {},
    )
    .await
    .map_err(|error| match error {
        // A bad row is the file's fault.
        ImpactError::Store(takedown_store::StoreError::BadRow(row)) => ApiError {
            status: StatusCode::BAD_REQUEST,
            message: row.to_string(),
            field: Some("file".to_string()),
        },
        other => impact_error(other),
    })?;
    Ok(Json(json!({
        "rows": summary.rows,
        "added": summary.added,
        "unchanged": summary.unchanged,
        "audit_sequence": summary.audit_sequence,
    })))
}

/// Which releases to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ReleaseListQuery {
    /// Outlets, comma-separated (default: all).
    outlet: Option<String>,
    /// From this date or instant.
    from: Option<String>,
    /// Up to this date (inclusive) or instant (exclusive).
    to: Option<String>,
    /// Only this channel.
    channel: Option<String>,
    /// Only this medium (statement, image, video, audio).
    medium: Option<String>,
    /// The `next` of the previous page.
    after: Option<String>,
    /// Page size (default 100, at most 10,000).
    limit: Option<u32>,
}

fn cursor_text(c: &ReleaseCursor) -> String {
    format!("{}:{}", c.published_at.timestamp_micros(), c.id.0)
}

fn parse_cursor(text: &str) -> Result<ReleaseCursor, ApiError> {
    let bad = || ApiError::invalid("after", "not a cursor from a previous page");
    let (micros, id) = text.split_once(':').ok_or_else(bad)?;
    let micros: i64 = micros.parse().map_err(|_| bad())?;
    Ok(ReleaseCursor {
        published_at: chrono::DateTime::from_timestamp_micros(micros).ok_or_else(bad)?,
        id: ReleaseId(id.parse().map_err(|_| bad())?),
    })
}

/// Releases in publication order, one page at a time.
#[utoipa::path(
    get,
    path = "/releases",
    tag = "Impact",
    params(ReleaseListQuery),
    responses(
        (status = 200, description = "`{items: [release], next}`; pass `next` as `after` for the next page", body = Object),
        (status = 400, description = "A bad parameter", body = ErrorBody),
        (status = 403, description = "The role may not read", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn list_releases(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(q): ApiQuery<ReleaseListQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ReadBanks)?;
    let query = ReleaseQuery {
        outlets: q
            .outlet
            .as_deref()
            .map(|o| {
                o.split(',')
                    .map(str::trim)
                    .filter(|o| !o.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        from: q
            .from
            .as_deref()
            .map(|t| parse_time(t, false))
            .transpose()
            .map_err(|e| ApiError::invalid("from", e))?,
        until: q
            .to
            .as_deref()
            .map(parse_period_end)
            .transpose()
            .map_err(|e| ApiError::invalid("to", e))?,
        channel: q.channel,
        medium: q
            .medium
            .as_deref()
            .map(str::parse::<ReleaseMedium>)
            .transpose()
            .map_err(|e| ApiError::invalid("medium", e))?,
        after: q.after.as_deref().map(parse_cursor).transpose()?,
        limit: q.limit.unwrap_or(100).clamp(1, 10_000),
    };
    let page = store(&state)
        .releases(&query)
        .await
        .map_err(|e| impact_error(e.into()))?;
    Ok(Json(json!({
        "items": page.items.iter().map(release_json).collect::<Vec<_>>(),
        "next": page.next.as_ref().map(cursor_text),
    })))
}

/// Every operation, earliest start first.
#[utoipa::path(
    get,
    path = "/operations",
    tag = "Impact",
    responses(
        (status = 200, description = "Operations", body = Vec<Object>),
        (status = 403, description = "The role may not read", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn list_operations(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<Value>>, ApiError> {
    caller.require(Permission::ReadBanks)?;
    let ops = store(&state)
        .list_operations()
        .await
        .map_err(|e| impact_error(e.into()))?;
    Ok(Json(ops.iter().map(operation_json).collect()))
}

/// An operation to create.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)] // Documentation of `OperationSpec`, which is what is parsed.
struct NewOperationBody {
    /// Unique name, e.g. `amaq-2018-04`.
    name: String,
    /// First day (`2018-04-25`) or instant (RFC 3339).
    start: String,
    /// Last day, inclusive, or instant.
    end: String,
    /// Participating organisations.
    organisations: Option<Vec<String>>,
    /// Targeted outlets (at least one).
    targets: Vec<String>,
    /// Control outlets.
    controls: Option<Vec<String>>,
    /// Targeted infrastructure: `domain:NAME`, `channel:NAME`, `server:ADDRESS` or free text.
    infrastructure: Option<Vec<String>>,
    /// Free text.
    notes: Option<String>,
}

/// Records an operation.
#[utoipa::path(
    post,
    path = "/operations",
    tag = "Impact",
    request_body = NewOperationBody,
    responses(
        (status = 201, description = "Created", body = Object),
        (status = 400, description = "A bad date, name or infrastructure item", body = ErrorBody),
        (status = 403, description = "The role may not create operations", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn create_operation(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(spec): ApiJson<OperationSpec>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    require_write(&caller)?;
    let new = spec.to_new().map_err(impact_error)?;
    let op = store(&state)
        .create_operation(&actor(&caller), new)
        .await
        .map_err(|e| impact_error(e.into()))?;
    Ok((StatusCode::CREATED, Json(operation_json(&op))))
}

/// Path of an operation.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct OperationPath {
    /// Operation name.
    name: String,
}

/// An operation by name.
#[utoipa::path(
    get,
    path = "/operations/{name}",
    tag = "Impact",
    params(OperationPath),
    responses(
        (status = 200, description = "The operation", body = Object),
        (status = 404, description = "No such operation", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn show_operation(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(path): ApiPath<OperationPath>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::ReadBanks)?;
    let op = store(&state)
        .operation_by_name(&path.name)
        .await
        .map_err(|e| impact_error(e.into()))?;
    Ok(Json(operation_json(&op)))
}

/// Report options.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ReportQuery {
    /// `json` (default) or `html` (also chosen by `Accept: text/html`).
    format: Option<String>,
    /// Days in the before window (default 30).
    before_days: Option<u32>,
    /// Days in the after window (default 30).
    after_days: Option<u32>,
}

/// Whether the caller asked for HTML: `?format=html`, or an `Accept` preferring it.
fn wants_html(format: Option<&str>, headers: &HeaderMap) -> Result<bool, ApiError> {
    match format.map(str::to_ascii_lowercase).as_deref() {
        Some("html") => Ok(true),
        Some("json") => Ok(false),
        Some(other) => Err(ApiError::invalid(
            "format",
            format!("{other:?} is not a report format (json or html)"),
        )),
        None => Ok(headers
            .get(ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"))),
    }
}

fn document(body: String, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// The operation's impact report: before/after rate ratios with intervals (Poisson or
/// negative binomial, and why), interrupted time series with Newey-West errors and controls,
/// changepoints next to the operation's date, channel shift with every item through a channel
/// never used before, and time to removal of the targets' referred URLs. JSON (the report's
/// twin) or a self-contained HTML page.
#[utoipa::path(
    get,
    path = "/operations/{name}/report",
    tag = "Impact",
    params(OperationPath, ReportQuery),
    responses(
        (status = 200, description = "The report (`application/json` or `text/html`)", body = Object),
        (status = 400, description = "A bad parameter", body = ErrorBody),
        (status = 404, description = "No such operation", body = ErrorBody),
        (status = 422, description = "The analyses cannot run on these windows", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn operation_report_route(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(path): ApiPath<OperationPath>,
    ApiQuery(q): ApiQuery<ReportQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.require(Permission::ReadBanks)?;
    let html = wants_html(q.format.as_deref(), &headers)?;
    let days = |v: Option<u32>, field: &str| match v {
        Some(0) => Err(ApiError::invalid(field, "must be at least 1")),
        Some(d) => Ok(d),
        None => Ok(30),
    };
    let options = ReportOptions {
        before_days: days(q.before_days, "before_days")?,
        after_days: days(q.after_days, "after_days")?,
        generated_at: state.engine().clock().now(),
    };
    let report = operation_report(store(&state), &path.name, &options)
        .await
        .map_err(impact_error)?;
    Ok(if html {
        document(render_html(&report), "text/html; charset=utf-8")
    } else {
        document(to_json(&report).map_err(impact_error)?, "application/json")
    })
}

/// The transparency report's period.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct TransparencyQuery {
    /// First day or instant of the period.
    from: String,
    /// Last day (inclusive) or instant (exclusive).
    to: String,
    /// `json` (default) or `html` (also chosen by `Accept: text/html`).
    format: Option<String>,
}

/// The transparency report of a period: URLs assessed, referrals, providers, removal rate
/// with when it was measured, time to removal by tier, outlet and provider, and the figures
/// Regulation (EU) 2021/784 asks competent authorities to publish (each marked as from
/// takedown's records or missing; manual figures are entered with the command line's
/// `--manual`).
#[utoipa::path(
    get,
    path = "/reports/transparency",
    tag = "Impact",
    params(TransparencyQuery),
    responses(
        (status = 200, description = "The report (`application/json` or `text/html`)", body = Object),
        (status = 400, description = "A bad period", body = ErrorBody),
        (status = 403, description = "The role may not read referral figures", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn transparency(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(q): ApiQuery<TransparencyQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.require(Permission::Review)?;
    let html = wants_html(q.format.as_deref(), &headers)?;
    let from = parse_time(&q.from, false).map_err(|e| ApiError::invalid("from", e))?;
    let to = parse_period_end(&q.to).map_err(|e| ApiError::invalid("to", e))?;
    let report = transparency_report(
        store(&state),
        from,
        to,
        &ManualFigures::default(),
        state.engine().clock().now(),
    )
    .await
    .map_err(impact_error)?;
    Ok(if html {
        document(
            render_transparency_html(&report),
            "text/html; charset=utf-8",
        )
    } else {
        document(
            transparency_json(&report).map_err(impact_error)?,
            "application/json",
        )
    })
}
