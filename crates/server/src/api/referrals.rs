//! Find, refer, verify over HTTP (`takedown-referrals`): URL intake and observations, review
//! cases and decisions, referrals (create, list, show, export, send, status) and the provider
//! registry.
//!
//! Roles: analysts and admins submit URLs, review and refer (`Permission::Review`); admins
//! edit providers (`Permission::Administer`); curators and matchers get 403. Every record is
//! scoped to the caller's organisation: another organisation's case or referral is a 404.
//! The answers are the JSON views of `takedown_referrals::wire`, the same the CLI prints.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::Value;
use takedown_engine::EngineError;
use takedown_model::Tier;
use takedown_referrals::records::{
    CaseId, CaseStatus, DecisionKind, Delivery, Ground, NewProvider, NoticeFormat, ObservationId,
    ObservationQuery, ProviderUpdate, ReferralStatus,
};
use takedown_referrals::{
    wire, CreateReferrals, Decision, ExportFormat, IntakeRequest, ReferralError, Referrals,
};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::ApiCaller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(submit_urls, observations))
        .routes(routes!(observation))
        .routes(routes!(cases))
        .routes(routes!(case))
        .routes(routes!(decide))
        .routes(routes!(create_referrals, referrals))
        .routes(routes!(referral))
        .routes(routes!(export))
        .routes(routes!(send))
        .routes(routes!(set_status))
        .routes(routes!(providers, create_provider))
        .routes(routes!(provider, update_provider))
        .routes(routes!(add_rule))
        .routes(routes!(remove_rule))
}

fn workflow(state: &AppState) -> Result<Arc<Referrals>, ApiError> {
    state.referrals().cloned().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the referral workflow is not running on this server",
        )
    })
}

fn failed(error: ReferralError) -> ApiError {
    ApiError::from(EngineError::from(error))
}

fn parse<T: std::str::FromStr>(field: &str, text: &str) -> Result<T, ApiError>
where
    T::Err: std::fmt::Display,
{
    text.parse::<T>()
        .map_err(|error| ApiError::invalid(field, error))
}

/// Path of a record: a numeric id, or for referrals a reference and for providers a name.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct IdPath {
    /// Id (or a referral's reference, a provider's name, a rule's host suffix).
    id: String,
}

impl IdPath {
    fn number(&self) -> Result<i64, ApiError> {
        parse("id", &self.id)
    }
}

/// URLs to fetch, fingerprint, match and record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SubmitUrls {
    /// The URLs (http or https).
    urls: Vec<String>,
    /// Where they came from (default `api`).
    #[serde(default)]
    source: Option<String>,
}

/// Most URLs one request may submit: each is fetched before the answer.
const MAX_URLS_PER_REQUEST: usize = 1000;

/// Fetches each URL (an image or video directly; an HTML page's embedded media up to the
/// configured number), fingerprints and matches what it carries and records observations,
/// filed under review cases. A URL refused before fetching is reported with its error.
#[utoipa::path(
    post,
    path = "/observations",
    tag = "Referrals",
    request_body = SubmitUrls,
    responses(
        (status = 200, description = "One report per URL: its observations or its error", body = Object),
        (status = 400, description = "No URLs, or too many", body = ErrorBody),
        (status = 403, description = "Only analysts and admins submit URLs", body = ErrorBody),
        (status = 503, description = "The index is loading", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn submit_urls(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(body): ApiJson<SubmitUrls>,
) -> Result<Json<Value>, ApiError> {
    let referrals = workflow(&state)?;
    if body.urls.is_empty() || body.urls.len() > MAX_URLS_PER_REQUEST {
        return Err(ApiError::invalid(
            "urls",
            format!("give between 1 and {MAX_URLS_PER_REQUEST} URLs"),
        ));
    }
    let reports = referrals
        .submit_urls(
            &caller,
            IntakeRequest {
                urls: body.urls,
                org: None,
                source: body.source.unwrap_or_else(|| "api".into()),
            },
        )
        .await
        .map_err(failed)?;
    Ok(Json(reports.iter().map(wire::intake_report).collect()))
}

/// Which observations to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ObservationParams {
    /// Only hosts no provider rule covers yet (the "unassigned" queue).
    #[serde(default)]
    unassigned: bool,
    /// Only re-uploads of content already referred and removed.
    #[serde(default)]
    reuploads: bool,
    /// Only this case's.
    case: Option<i64>,
    /// After this observation id (paging).
    after: Option<i64>,
    /// Page size (default 100).
    limit: Option<u32>,
}

/// The caller's observations, oldest first.
#[utoipa::path(
    get,
    path = "/observations",
    tag = "Referrals",
    params(ObservationParams),
    responses(
        (status = 200, description = "Observations", body = Object),
        (status = 403, description = "Only analysts and admins", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn observations(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(query): ApiQuery<ObservationParams>,
) -> Result<Json<Value>, ApiError> {
    let referrals = workflow(&state)?;
    let list = referrals
        .observations(
            &caller,
            ObservationQuery {
                org: None,
                case: query.case.map(CaseId),
                unassigned: query.unassigned,
                reuploads: query.reuploads,
                after: query.after.map(ObservationId),
                limit: query.limit.unwrap_or(100),
            },
        )
        .await
        .map_err(failed)?;
    Ok(Json(list.iter().map(wire::observation).collect()))
}

/// One observation.
#[utoipa::path(
    get,
    path = "/observations/{id}",
    tag = "Referrals",
    params(IdPath),
    responses(
        (status = 200, description = "The observation with its evidence", body = Object),
        (status = 404, description = "Missing, or another organisation's", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn observation(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(path): ApiPath<IdPath>,
) -> Result<Json<Value>, ApiError> {
    let referrals = workflow(&state)?;
    let found = referrals
        .observation(&caller, ObservationId(path.number()?))
        .await
        .map_err(failed)?;
    Ok(Json(wire::observation(&found)))
}

/// Which cases to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct CaseParams {
    /// `open`, `confirmed` or `rejected`.
    status: Option<String>,
    /// Most cases (default 100).
    limit: Option<u32>,
}

/// The caller's review cases, highest priority first (severity, then confidence, then
/// number of copies, then age).
#[utoipa::path(
    get,
    path = "/cases",
    tag = "Referrals",
    params(CaseParams),
    responses(
        (status = 200, description = "Ranked cases", body = Object),
        (status = 400, description = "Unknown status", body = ErrorBody),
        (status = 403, description = "Only analysts and admins", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn cases(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(query): ApiQuery<CaseParams>,
) -> Result<Json<Value>, ApiError> {
    let referrals = workflow(&state)?;
    let status = query
        .status
        .as_deref()
        .map(|text| parse::<CaseStatus>("status", text))
        .transpose()?;
    let list = referrals
        .cases(&caller, status, query.limit.unwrap_or(100))
        .await
        .map_err(failed)?;
    Ok(Json(list.iter().map(wire::case).collect()))
}

/// A case with its observations and decisions.
#[utoipa::path(
    get,
    path = "/cases/{id}",
    tag = "Referrals",
    params(IdPath),
    responses(
        (status = 200, description = "The case", body = Object),
        (status = 404, description = "Missing, or another organisation's", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn case(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(path): ApiPath<IdPath>,
) -> Result<Json<Value>, ApiError> {
    let referrals = workflow(&state)?;
    let detail = referrals
        .case(&caller, CaseId(path.number()?))
        .await
        .map_err(failed)?;
    Ok(Json(wire::case_detail(&detail)))
}

/// A reviewer's decision.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    /// `confirm` or `reject`.
    decision: String,
    /// Producing entity (confirmations; default: the matched item's).
    #[serde(default)]
    entity: Option<String>,
    /// Tier 1-4 (confirmations; default: the matched item's).
    #[serde(default)]
    tier: Option<i64>,
    /// Art. 2(7) grounds: `incites`, `solicits`, `solicits-participation`, `instructs`,
    /// `threatens`.
    #[serde(default)]
    grounds: Vec<String>,
    /// Why (required to reject).
    #[serde(default)]
    reason: String,
    /// Add the confirmed content to this bank in the same step (needs curate rights too).
    #[serde(default)]
    add_to_bank: Option<String>,
}

/// Confirms (with entity, tier and grounds, optionally adding the content to a bank) or
/// rejects a case; the decision is stored with the reviewer and the time.
#[utoipa::path(
    post,
    path = "/cases/{id}/decision",
    tag = "Referrals",
    params(IdPath),
    request_body = DecisionBody,
    responses(
        (status = 200, description = "The case after the decision", body = Object),
        (status = 400, description = "Missing tier, entity or reason", body = ErrorBody),
        (status = 403, description = "Only analysts and admins", body = ErrorBody),
        (status = 404, description = "Missing, or another organisation's", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn decide(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(path): ApiPath<IdPath>,
    ApiJson(body): ApiJson<DecisionBody>,
) -> Result<Json<Value>, ApiError> {
    let referrals = workflow(&state)?;
    let decision = Decision {
        decision: parse::<DecisionKind>("decision", &body.decision)?,
        entity: body.entity,
        tier: body
            .tier
            .map(Tier::from_number)
            .transpose()
            .map_err(|error| ApiError::invalid("tier", error))?,
        grounds: body
            .grounds
            .iter()
            .map(|text| parse::<Ground>("grounds", text))
            .collect::<Result<_, _>>()?,
        reason: body.reason,
        add_to_bank: body.add_to_bank,
    };
    let detail = referrals
        .decide(&caller, CaseId(path.number()?), decision)
        .await
        .map_err(failed)?;
    Ok(Json(wire::case_detail(&detail)))
}

/// What to refer.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewReferrals {
    /// Only URLs hosted by this provider (name or id).
    #[serde(default)]
    provider: Option<String>,
    /// Only these observations; by default every confirmed, live URL with a provider that is
    /// not already in an open referral.
    #[serde(default)]
    observations: Vec<i64>,
    /// A note for the provider.
    #[serde(default)]
    note: String,
    /// Reasons added to every URL.
    #[serde(default)]
    reason: String,
    /// Queue each new referral for delivery at once.
    #[serde(default)]
    send: bool,
}

/// Creates draft referrals, one per provider. A URL already in an open referral to the same
/// provider, by any organisation on this instance, is skipped and reported with that
/// referral's reference.
#[utoipa::path(
    post,
    path = "/referrals",
    tag = "Referrals",
    request_body = NewReferrals,
    responses(
        (status = 201, description = "The new referrals and the URLs left out", body = Object),
        (status = 403, description = "Only analysts and admins", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn create_referrals(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(body): ApiJson<NewReferrals>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let referrals = workflow(&state)?;
    let created = referrals
        .create_referrals(
            &caller,
            CreateReferrals {
                org: None,
                provider: body.provider,
                observations: body.observations.into_iter().map(ObservationId).collect(),
                note: body.note,
                reason: body.reason,
            },
        )
        .await
        .map_err(failed)?;
    if body.send {
        for referral in &created.referrals {
            referrals
                .send(&caller, &referral.reference)
                .await
                .map_err(failed)?;
        }
    }
    Ok((StatusCode::CREATED, Json(wire::created(&created))))
}

/// Which referrals to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ReferralParams {
    /// `draft`, `sent`, `acknowledged`, `removed`, `partially-removed`, `refused`, `expired`.
    status: Option<String>,
    /// Most referrals (default 100).
    limit: Option<u32>,
}

/// The caller's referrals, newest first.
#[utoipa::path(
    get,
    path = "/referrals",
    tag = "Referrals",
    params(ReferralParams),
    responses(
        (status = 200, description = "Referrals", body = Object),
        (status = 400, description = "Unknown status", body = ErrorBody),
        (status = 403, description = "Only analysts and admins", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn referrals(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiQuery(query): ApiQuery<ReferralParams>,
) -> Result<Json<Value>, ApiError> {
    let workflow = workflow(&state)?;
    let status = query
        .status
        .as_deref()
        .map(|text| parse::<ReferralStatus>("status", text))
        .transpose()?;
    let list = workflow
        .referrals(&caller, status, query.limit.unwrap_or(100))
        .await
        .map_err(failed)?;
    Ok(Json(list.iter().map(wire::referral).collect()))
}

/// A referral with its URLs, evidence, checks, time to removal (with the interval that bounds
/// it) and messages.
#[utoipa::path(
    get,
    path = "/referrals/{id}",
    tag = "Referrals",
    params(IdPath),
    responses(
        (status = 200, description = "takedown's JSON referral, plus `messages`", body = Object),
        (status = 404, description = "Missing, or another organisation's", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn referral(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(path): ApiPath<IdPath>,
) -> Result<Json<Value>, ApiError> {
    let referrals = workflow(&state)?;
    let text = referrals
        .export(&caller, &path.id, ExportFormat::Json)
        .await
        .map_err(failed)?;
    let mut value: Value = serde_json::from_str(&text).map_err(ApiError::internal)?;
    let detail = referrals
        .referral_detail(&caller, &path.id)
        .await
        .map_err(failed)?;
    if let Some(object) = value.as_object_mut() {
        object.insert("id".into(), detail.referral.id.0.into());
        object.insert(
            "messages".into(),
            detail
                .messages
                .iter()
                .map(|message| wire::message(message, true))
                .collect(),
        );
    }
    Ok(Json(value))
}

/// Export format.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ExportParams {
    /// `text`, `json`, `eu-order-json` (Regulation 2021/784 Annex I), `eu-order-html`
    /// (printable) or `dsa` (statements of reasons). Default `json`.
    format: Option<String>,
}

/// A referral in one of the formats providers and regulators use.
#[utoipa::path(
    get,
    path = "/referrals/{id}/export",
    tag = "Referrals",
    params(IdPath, ExportParams),
    responses(
        (status = 200, description = "The export (text/plain, text/html or application/json)", body = String),
        (status = 400, description = "Unknown format", body = ErrorBody),
        (status = 404, description = "Missing, or another organisation's", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn export(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(path): ApiPath<IdPath>,
    ApiQuery(query): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    let referrals = workflow(&state)?;
    let format: ExportFormat = query
        .format
        .as_deref()
        .unwrap_or("json")
        .parse()
        .map_err(failed)?;
    let text = referrals
        .export(&caller, &path.id, format)
        .await
        .map_err(failed)?;
    Ok(([(header::CONTENT_TYPE, format.content_type())], text).into_response())
}

/// Queues a draft referral for delivery to its provider (e-mail or JSON endpoint); the
/// server's background worker delivers it, retrying from the store. Sending again returns
/// the message already queued.
#[utoipa::path(
    post,
    path = "/referrals/{id}/send",
    tag = "Referrals",
    params(IdPath),
    responses(
        (status = 202, description = "The queued message", body = Object),
        (status = 404, description = "Missing, or another organisation's", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn send(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(path): ApiPath<IdPath>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let referrals = workflow(&state)?;
    let message = referrals.send(&caller, &path.id).await.map_err(failed)?;
    Ok((StatusCode::ACCEPTED, Json(wire::message(&message, false))))
}

/// A referral's new status.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    /// `acknowledged` or `refused` (what the provider said), or `removed`,
    /// `partially-removed`, `expired` to close it by hand.
    status: String,
}

/// Records the provider's answer or closes a referral by hand.
#[utoipa::path(
    post,
    path = "/referrals/{id}/status",
    tag = "Referrals",
    params(IdPath),
    request_body = StatusBody,
    responses(
        (status = 200, description = "The referral", body = Object),
        (status = 400, description = "Unknown status", body = ErrorBody),
        (status = 409, description = "Not a transition from the current status", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn set_status(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(path): ApiPath<IdPath>,
    ApiJson(body): ApiJson<StatusBody>,
) -> Result<Json<Value>, ApiError> {
    let referrals = workflow(&state)?;
    let status = parse::<ReferralStatus>("status", &body.status)?;
    let referral = referrals
        .mark(&caller, &path.id, status)
        .await
        .map_err(failed)?;
    Ok(Json(wire::referral(&referral)))
}

/// Every hosting provider with its domain-suffix rules.
#[utoipa::path(
    get,
    path = "/providers",
    tag = "Referrals",
    responses(
        (status = 200, description = "Providers", body = Object),
        (status = 403, description = "Only analysts and admins", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn providers(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> Result<Json<Value>, ApiError> {
    let referrals = workflow(&state)?;
    let list = referrals.providers(&caller).await.map_err(failed)?;
    Ok(Json(list.iter().map(wire::provider).collect()))
}

/// A provider's fields; on update, those left out stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ProviderBody {
    /// Unique name.
    name: Option<String>,
    /// Abuse or legal contact address (e-mail delivery).
    contact_email: Option<String>,
    /// Endpoint accepting JSON referrals (http delivery).
    endpoint_url: Option<String>,
    /// `email`, `http` or `manual`.
    delivery: Option<String>,
    /// `text`, `json`, `eu-order` or `dsa`.
    notice_format: Option<String>,
    /// Legal representative in the Union (removal orders).
    legal_representative: Option<String>,
    /// Member state (ISO 3166 alpha-2).
    member_state: Option<String>,
    /// Point of contact for removal orders.
    contact_point: Option<String>,
    /// Host suffixes it hosts (create only).
    #[serde(default)]
    hosts: Vec<String>,
}

/// Registers a hosting provider (admins).
#[utoipa::path(
    post,
    path = "/providers",
    tag = "Referrals",
    request_body = ProviderBody,
    responses(
        (status = 201, description = "The provider", body = Object),
        (status = 400, description = "Missing name, or delivery without an address", body = ErrorBody),
        (status = 403, description = "Only admins edit providers", body = ErrorBody),
        (status = 409, description = "The name or a host suffix is taken", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn create_provider(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiJson(body): ApiJson<ProviderBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let referrals = workflow(&state)?;
    let name = body
        .name
        .filter(|name| !name.trim().is_empty())
        .ok_or_else(|| ApiError::invalid("name", "a provider needs a name"))?;
    let delivery = match body.delivery.as_deref() {
        Some(text) => parse::<Delivery>("delivery", text)?,
        None if body.endpoint_url.is_some() => Delivery::Http,
        None => Delivery::Email,
    };
    let notice_format = match body.notice_format.as_deref() {
        Some(text) => parse::<NoticeFormat>("notice_format", text)?,
        None => NoticeFormat::Text,
    };
    let mut provider = referrals
        .create_provider(
            &caller,
            NewProvider {
                name,
                contact_email: body.contact_email.unwrap_or_default(),
                endpoint_url: body.endpoint_url.unwrap_or_default(),
                delivery,
                notice_format,
                legal_representative: body.legal_representative.unwrap_or_default(),
                member_state: body.member_state.unwrap_or_default(),
                contact_point: body.contact_point.unwrap_or_default(),
            },
        )
        .await
        .map_err(failed)?;
    for host in &body.hosts {
        let (updated, _) = referrals
            .add_provider_rule(&caller, &provider.id.0.to_string(), host)
            .await
            .map_err(failed)?;
        provider = updated;
    }
    Ok((StatusCode::CREATED, Json(wire::provider(&provider))))
}

/// A provider by id or name.
#[utoipa::path(
    get,
    path = "/providers/{id}",
    tag = "Referrals",
    params(IdPath),
    responses(
        (status = 200, description = "The provider", body = Object),
        (status = 404, description = "No such provider", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn provider(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(path): ApiPath<IdPath>,
) -> Result<Json<Value>, ApiError> {
    let referrals = workflow(&state)?;
    let found = referrals
        .provider(&caller, &path.id)
        .await
        .map_err(failed)?;
    Ok(Json(wire::provider(&found)))
}

/// Changes a provider (admins).
#[utoipa::path(
    patch,
    path = "/providers/{id}",
    tag = "Referrals",
    params(IdPath),
    request_body = ProviderBody,
    responses(
        (status = 200, description = "The provider", body = Object),
        (status = 400, description = "Bad field", body = ErrorBody),
        (status = 403, description = "Only admins edit providers", body = ErrorBody),
        (status = 404, description = "No such provider", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn update_provider(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(path): ApiPath<IdPath>,
    ApiJson(body): ApiJson<ProviderBody>,
) -> Result<Json<Value>, ApiError> {
    let referrals = workflow(&state)?;
    if !body.hosts.is_empty() {
        return Err(ApiError::invalid(
            "hosts",
            "add host rules with POST /api/v1/providers/{id}/rules",
        ));
    }
    let update = ProviderUpdate {
        name: body.name,
        contact_email: body.contact_email,
        endpoint_url: body.endpoint_url,
        delivery: body
            .delivery
            .as_deref()
            .map(|text| parse::<Delivery>("delivery", text))
            .transpose()?,
        notice_format: body
            .notice_format
            .as_deref()
            .map(|text| parse::<NoticeFormat>("notice_format", text))
            .transpose()?,
        legal_representative: body.legal_representative,
        member_state: body.member_state,
        contact_point: body.contact_point,
    };
    let provider = referrals
        .update_provider(&caller, &path.id, update)
        .await
        .map_err(failed)?;
    Ok(Json(wire::provider(&provider)))
}

/// A domain-suffix rule.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RuleBody {
    /// The host suffix (`files.example` covers `cdn.files.example`).
    host_suffix: String,
}

/// Adds a domain-suffix rule (admins); observations waiting in the unassigned queue that it
/// covers are assigned at once.
#[utoipa::path(
    post,
    path = "/providers/{id}/rules",
    tag = "Referrals",
    params(IdPath),
    request_body = RuleBody,
    responses(
        (status = 200, description = "The provider, with `assigned_observations`", body = Object),
        (status = 403, description = "Only admins edit providers", body = ErrorBody),
        (status = 409, description = "The suffix belongs to a provider already", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn add_rule(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(path): ApiPath<IdPath>,
    ApiJson(body): ApiJson<RuleBody>,
) -> Result<Json<Value>, ApiError> {
    let referrals = workflow(&state)?;
    let (provider, assigned) = referrals
        .add_provider_rule(&caller, &path.id, &body.host_suffix)
        .await
        .map_err(failed)?;
    let mut value = wire::provider(&provider);
    value["assigned_observations"] = assigned.into();
    Ok(Json(value))
}

/// Removes a domain-suffix rule by its host suffix (admins).
#[utoipa::path(
    delete,
    path = "/provider-rules/{id}",
    tag = "Referrals",
    params(IdPath),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Only admins edit providers", body = ErrorBody),
        (status = 404, description = "No such rule", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn remove_rule(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    ApiPath(path): ApiPath<IdPath>,
) -> Result<StatusCode, ApiError> {
    let referrals = workflow(&state)?;
    referrals
        .remove_provider_rule(&caller, &path.id)
        .await
        .map_err(failed)?;
    Ok(StatusCode::NO_CONTENT)
}
