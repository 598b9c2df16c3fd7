//! The OpenAPI 3 document, generated from the handlers' own annotations: a route is added to
//! the router and to the document by the same `routes!` call, so the two cannot drift (and a
//! test checks every documented operation is served).

use std::sync::Arc;

use axum::Extension;
use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// The finished document, shared with the handler that serves it.
#[derive(Clone)]
pub struct Document(pub Arc<serde_json::Value>);

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(openapi_json))
}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "Service",
    responses((status = 200, description = "The OpenAPI document of every route this server serves", body = Object))
)]
async fn openapi_json(Extension(document): Extension<Document>) -> Json<serde_json::Value> {
    Json(document.0.as_ref().clone())
}

/// Adds the title, description and bearer-token scheme to the generated paths.
pub fn finish(mut openapi: OpenApi) -> OpenApi {
    openapi.info.title = "takedown".to_string();
    openapi.info.version = env!("CARGO_PKG_VERSION").to_string();
    openapi.info.description = Some(
        "Hash-and-match service for known terrorist propaganda. HMA-compatible routes (tag \
         `HMA-compatible`) answer in Hasher-Matcher-Actioner's shapes; takedown's own API lives \
         under /api/v1. Send `Authorization: Bearer TOKEN` on every route but /status, \
         /status/live and /metrics."
            .to_string(),
    );
    let components = openapi.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "An API token created with `takedown token create` or POST /api/v1/tokens",
                ))
                .build(),
        ),
    );
    openapi
}
