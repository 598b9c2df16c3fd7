//! Organisations, API tokens, the audit log and the index status.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use takedown_model::{OrgId, Role, TokenId};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use crate::wire::{
    parse_time, AuditEntryJson, IndexStatusJson, OrganisationJson, PageJson, TokenJson,
};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(organisations))
        .routes(routes!(organisation))
        .routes(routes!(tokens, create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(audit))
        .routes(routes!(index))
}

/// Organisations the caller may see: its own.
#[utoipa::path(
    get,
    path = "/organisations",
    tag = "Administration",
    responses(
        (status = 200, description = "Organisations", body = Vec<OrganisationJson>),
        (status = 403, description = "The role may not read banks", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn organisations(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<OrganisationJson>>, ApiError> {
    let orgs = state.engine().organisations(&caller).await?;
    Ok(Json(orgs.iter().map(OrganisationJson::from_org).collect()))
}

/// Path of an organisation.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct OrgPath {
    /// Organisation id.
    id: i64,
}

/// An organisation the caller may see.
#[utoipa::path(
    get,
    path = "/organisations/{id}",
    tag = "Administration",
    params(OrgPath),
    responses(
        (status = 200, description = "The organisation", body = OrganisationJson),
        (status = 404, description = "Missing, or not the caller's", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn organisation(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(path): ApiPath<OrgPath>,
) -> Result<Json<OrganisationJson>, ApiError> {
    let orgs = state.engine().organisations(&caller).await?;
    orgs.iter()
        .find(|org| org.id == OrgId(path.id))
        .map(|org| Json(OrganisationJson::from_org(org)))
        .ok_or_else(|| ApiError::not_found(format!("organisation {}", path.id)))
}

/// The caller's organisation's tokens, newest first.
#[utoipa::path(
    get,
    path = "/tokens",
    tag = "Administration",
    responses(
        (status = 200, description = "Tokens (never their secrets)", body = Vec<TokenJson>),
        (status = 403, description = "Only admin tokens manage tokens", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn tokens(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<TokenJson>>, ApiError> {
    let tokens = state.engine().tokens(&caller, None).await?;
    Ok(Json(tokens.iter().map(TokenJson::from_token).collect()))
}

/// A token to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewToken {
    /// A label (`upload-pipeline`).
    name: String,
    /// `admin`, `curator`, `analyst` or `matcher`.
    role: String,
    /// When it stops working (RFC 3339); never by default.
    expires_at: Option<String>,
}

/// A new token and its secret.
#[derive(Debug, Serialize, ToSchema)]
struct CreatedTokenJson {
    /// The token record.
    token: TokenJson,
    /// The secret for `Authorization: Bearer ...`. Shown this once: only its hash is stored.
    secret: String,
}

/// Creates a token for the caller's organisation; the secret is in this answer only.
#[utoipa::path(
    post,
    path = "/tokens",
    tag = "Administration",
    request_body = NewToken,
    responses(
        (status = 201, description = "Created; keep the secret now", body = CreatedTokenJson),
        (status = 400, description = "Unknown role or bad time", body = ErrorBody),
        (status = 403, description = "Only admin tokens manage tokens", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn create_token(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<(StatusCode, Json<CreatedTokenJson>), ApiError> {
    let role: Role = body
        .role
        .parse()
        .map_err(|error| ApiError::invalid("role", error))?;
    let expires_at = body
        .expires_at
        .as_deref()
        .map(|text| parse_time("expires_at", text))
        .transpose()?;
    let created = state
        .engine()
        .create_token(&caller, None, role, &body.name, expires_at)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedTokenJson {
            token: TokenJson::from_token(&created.token),
            secret: created.secret,
        }),
    ))
}

/// Path of a token.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct TokenPath {
    /// Token id.
    id: i64,
}

/// Revokes a token of the caller's organisation; it stops working at once.
#[utoipa::path(
    delete,
    path = "/tokens/{id}",
    tag = "Administration",
    params(TokenPath),
    responses(
        (status = 200, description = "The revoked token", body = TokenJson),
        (status = 403, description = "Only admin tokens manage tokens", body = ErrorBody),
        (status = 404, description = "No such token in the caller's organisation", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn revoke_token(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(path): ApiPath<TokenPath>,
) -> Result<Json<TokenJson>, ApiError> {
    let token = state
        .engine()
        .revoke_token(&caller, TokenId(path.id))
        .await?;
    Ok(Json(TokenJson::from_token(&token)))
}

/// Paging of the audit log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// Continue after this sequence number (the previous page's `next`).
    after: Option<i64>,
    /// Page size, 1-10000 (default 100).
    limit: Option<u32>,
}

/// The caller's organisation's audit entries, in order. (Verifying the whole chain is for the
/// instance administrator: `takedown audit verify` at the command line.)
#[utoipa::path(
    get,
    path = "/audit",
    tag = "Administration",
    params(AuditQuery),
    responses(
        (status = 200, description = "One page of entries", body = PageJson<AuditEntryJson>),
        (status = 403, description = "The role may not read the audit log", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn audit(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<PageJson<AuditEntryJson>>, ApiError> {
    let limit = query.limit.unwrap_or(100);
    if limit == 0 || limit > 10_000 {
        return Err(ApiError::invalid("limit", "must be 1 to 10000"));
    }
    let entries = state
        .engine()
        .audit_entries(&caller, query.after, limit)
        .await?;
    let next = (entries.len() == limit as usize)
        .then(|| entries.last().map(|entry| entry.sequence))
        .flatten();
    Ok(Json(PageJson {
        items: entries.iter().map(AuditEntryJson::from_entry).collect(),
        next,
    }))
}

/// What the matching index holds.
#[utoipa::path(
    get,
    path = "/index",
    tag = "Matching",
    responses((status = 200, description = "Index status", body = IndexStatusJson)),
    security(("bearer" = []))
)]
async fn index(
    State(state): State<AppState>,
    ApiCaller(_caller): ApiCaller,
) -> Json<IndexStatusJson> {
    Json(IndexStatusJson::from_status(&state.engine().index_status()))
}
