//! axum's query, path and JSON extractors with their rejections turned into takedown's error
//! shapes, so a malformed parameter is a JSON error like any other (axum's own rejections are
//! plain text).

use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, HmaError};

fn query_error(rejection: axum::extract::rejection::QueryRejection) -> ApiError {
    ApiError::bad_request(format!("bad query parameters: {}", rejection.body_text()))
}

fn path_error(rejection: axum::extract::rejection::PathRejection) -> ApiError {
    ApiError::bad_request(format!("bad path: {}", rejection.body_text()))
}

fn json_error(rejection: axum::extract::rejection::JsonRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::too_large("the request body is larger than the upload limit");
    }
    ApiError::new(
        if rejection.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        } else {
            StatusCode::BAD_REQUEST
        },
        format!("bad JSON body: {}", rejection.body_text()),
    )
}

/// Query parameters for `/api/v1`.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(query_error)
    }
}

/// Path parameters for `/api/v1`.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| ApiPath(value))
            .map_err(path_error)
    }
}

/// A JSON body for `/api/v1`.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        Json::<T>::from_request(request, state)
            .await
            .map(|Json(value)| ApiJson(value))
            .map_err(json_error)
    }
}

/// Query parameters for HMA-compatible routes.
#[derive(Debug)]
pub struct HmaQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for HmaQuery<T> {
    type Rejection = HmaError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HmaError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| HmaQuery(value))
            .map_err(|rejection| HmaError(query_error(rejection)))
    }
}

/// Path parameters for HMA-compatible routes.
#[derive(Debug)]
pub struct HmaPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for HmaPath<T> {
    type Rejection = HmaError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HmaError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| HmaPath(value))
            .map_err(|rejection| HmaError(path_error(rejection)))
    }
}

/// A JSON body for HMA-compatible routes.
#[derive(Debug)]
pub struct HmaJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for HmaJson<T> {
    type Rejection = HmaError;
    async fn from_request(request: Request, state: &S) -> Result<Self, HmaError> {
        Json::<T>::from_request(request, state)
            .await
            .map(|Json(value)| HmaJson(value))
            .map_err(|rejection| HmaError(json_error(rejection)))
    }
}
