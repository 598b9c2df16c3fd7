//! Banks: list, create, get, update, delete, share and unshare.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use takedown_engine::NewBankRequest;
use takedown_model::BankName;
use takedown_store::BankUpdate;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;
use crate::wire::BankJson;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, update, delete))
        .routes(routes!(share))
        .routes(routes!(unshare))
}

/// Path of a bank.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct BankPath {
    /// Bank name.
    pub(super) bank: String,
}

/// Banks the caller's organisation owns or that are shared with it.
#[utoipa::path(
    get,
    path = "/banks",
    tag = "Banks",
    responses(
        (status = 200, description = "Visible banks, by name", body = Vec<BankJson>),
        (status = 401, description = "No or bad token", body = ErrorBody),
        (status = 403, description = "The role may not read banks", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn list(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Vec<BankJson>>, ApiError> {
    let banks = state.engine().banks(&caller).await?;
    Ok(Json(banks.iter().map(BankJson::from_bank).collect()))
}

/// A bank to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewBank {
    /// Name, `[A-Z_][A-Z0-9_]*`, at most 100 characters.
    name: String,
    /// Free text.
    #[serde(default)]
    description: String,
    /// Whether lookups match against it (default true).
    #[serde(default = "yes")]
    matching_enabled: bool,
}

fn yes() -> bool {
    true
}

/// Creates a bank owned by the caller's organisation.
#[utoipa::path(
    post,
    path = "/banks",
    tag = "Banks",
    request_body = NewBank,
    responses(
        (status = 201, description = "Created", body = BankJson),
        (status = 400, description = "Invalid name", body = ErrorBody),
        (status = 403, description = "The role may not create banks", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn create(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(body): ApiJson<NewBank>,
) -> Result<(StatusCode, Json<BankJson>), ApiError> {
    let bank = state
        .engine()
        .create_bank(
            &caller,
            NewBankRequest {
                name: body.name,
                description: body.description,
                matching_enabled: body.matching_enabled,
                owner: None,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(BankJson::from_bank(&bank))))
}

/// A bank by name.
#[utoipa::path(
    get,
    path = "/banks/{bank}",
    tag = "Banks",
    params(BankPath),
    responses(
        (status = 200, description = "The bank", body = BankJson),
        (status = 404, description = "Missing, or not visible to the caller", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn get(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(path): ApiPath<BankPath>,
) -> Result<Json<BankJson>, ApiError> {
    let bank = state.engine().bank(&caller, &path.bank).await?;
    Ok(Json(BankJson::from_bank(&bank)))
}

/// Changes to a bank; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct BankChange {
    /// New name.
    name: Option<String>,
    /// New description.
    description: Option<String>,
    /// Whether lookups match against it.
    matching_enabled: Option<bool>,
}

/// Renames a bank or changes its description or matching flag.
#[utoipa::path(
    patch,
    path = "/banks/{bank}",
    tag = "Banks",
    params(BankPath),
    request_body = BankChange,
    responses(
        (status = 200, description = "The changed bank", body = BankJson),
        (status = 400, description = "Invalid name", body = ErrorBody),
        (status = 403, description = "Not owned by the caller's organisation, or the role may not", body = ErrorBody),
        (status = 404, description = "No such bank", body = ErrorBody),
        (status = 409, description = "The new name is taken", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn update(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(path): ApiPath<BankPath>,
    ApiJson(body): ApiJson<BankChange>,
) -> Result<Json<BankJson>, ApiError> {
    let name = body
        .name
        .as_deref()
        .map(BankName::new)
        .transpose()
        .map_err(|error| ApiError::invalid("name", error))?;
    let bank = state
        .engine()
        .update_bank(
            &caller,
            &path.bank,
            BankUpdate {
                name,
                description: body.description,
                matching_enabled: body.matching_enabled,
            },
        )
        .await?;
    Ok(Json(BankJson::from_bank(&bank)))
}

/// Deletes a bank and everything in it; its items stop matching at once.
#[utoipa::path(
    delete,
    path = "/banks/{bank}",
    tag = "Banks",
    params(BankPath),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not owned by the caller's organisation, or the role may not", body = ErrorBody),
        (status = 404, description = "No such bank", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn delete(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(path): ApiPath<BankPath>,
) -> Result<StatusCode, ApiError> {
    state.engine().delete_bank(&caller, &path.bank).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An organisation to share a bank with.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Share {
    /// The organisation's name.
    organisation: String,
}

/// Shares a bank with another organisation, which may then see and match against it.
#[utoipa::path(
    post,
    path = "/banks/{bank}/shares",
    tag = "Banks",
    params(BankPath),
    request_body = Share,
    responses(
        (status = 200, description = "The bank, shared", body = BankJson),
        (status = 403, description = "Not owned by the caller's organisation, or the role may not", body = ErrorBody),
        (status = 404, description = "No such bank or organisation", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn share(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(path): ApiPath<BankPath>,
    ApiJson(body): ApiJson<Share>,
) -> Result<Json<BankJson>, ApiError> {
    let bank = state
        .engine()
        .set_bank_shared(&caller, &path.bank, &body.organisation, true)
        .await?;
    Ok(Json(BankJson::from_bank(&bank)))
}

/// Path of one share of a bank.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct SharePath {
    /// Bank name.
    bank: String,
    /// The organisation's name (percent-encoded).
    organisation: String,
}

/// Stops sharing a bank with an organisation.
#[utoipa::path(
    delete,
    path = "/banks/{bank}/shares/{organisation}",
    tag = "Banks",
    params(SharePath),
    responses(
        (status = 200, description = "The bank, no longer shared with it", body = BankJson),
        (status = 403, description = "Not owned by the caller's organisation, or the role may not", body = ErrorBody),
        (status = 404, description = "No such bank or organisation", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn unshare(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(path): ApiPath<SharePath>,
) -> Result<Json<BankJson>, ApiError> {
    let bank = state
        .engine()
        .set_bank_shared(&caller, &path.bank, &path.organisation, false)
        .await?;
    Ok(Json(BankJson::from_bank(&bank)))
}
