//! One error type for every route, and the table from engine errors to HTTP statuses.
//!
//! `/api/v1` answers errors as `{"error": "...", "status": 400, "field": "signal"}` (`field`
//! only when one input is to blame). HMA-compatible routes answer HMA's own shape,
//! `{"message": "..."}`, through [`HmaError`], so HMA's clients read takedown's errors as they
//! read HMA's. Internal failures are logged with their detail and answered with a generic
//! message: a database error text can carry table names, paths or connection strings.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use takedown_engine::EngineError;

/// A failed request: the status, a message for the client, and the input at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// What went wrong, in words the client can act on (never internals).
    pub message: String,
    /// The request field or parameter at fault, when one is.
    pub field: Option<String>,
}

/// The JSON body of an `/api/v1` error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: String,
    /// The HTTP status, repeated for clients that lose it (log lines, queues).
    pub status: u16,
    /// The request field or parameter at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    /// An error with a status and message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            field: None,
        }
    }

    /// 400 naming the field at fault; the message starts with the field's name.
    pub fn invalid(field: impl Into<String>, message: impl std::fmt::Display) -> ApiError {
        let field = field.into();
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: format!("{field}: {message}"),
            field: Some(field),
        }
    }

    /// 400 without a single field to blame.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401 with the reason.
    pub fn unauthenticated(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 404 for something missing or invisible to the caller.
    pub fn not_found(what: impl std::fmt::Display) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, format!("{what} not found"))
    }

    /// 413 with what was too large.
    pub fn too_large(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, message)
    }

    /// 500. The detail is logged here and never sent.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %detail, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error; the server log has the details",
        )
    }

    fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.message.clone(),
            status: self.status.as_u16(),
            field: self.field.clone(),
        }
    }
}

/// The one table from engine errors to statuses.
///
/// | engine error | status |
/// |---|---|
/// | `Unauthenticated` | 401 |
/// | `Forbidden` | 403 |
/// | `NotFound` | 404 (missing and invisible look the same) |
/// | `Conflict` | 409 |
/// | `Invalid` | 400, naming the field |
/// | `TooLarge` | 413 |
/// | `Unprocessable` | 422, naming the problem with the media |
/// | `NotReady` | 503 (the index is loading) |
/// | `Internal` | 500, logged, generic message |
impl From<EngineError> for ApiError {
    fn from(error: EngineError) -> Self {
        let status = match &error {
            EngineError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            EngineError::Forbidden(_) => StatusCode::FORBIDDEN,
            EngineError::NotFound(_) => StatusCode::NOT_FOUND,
            EngineError::Conflict(_) => StatusCode::CONFLICT,
            EngineError::Invalid { .. } => StatusCode::BAD_REQUEST,
            EngineError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            EngineError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            EngineError::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            EngineError::Internal(detail) => return ApiError::internal(detail),
        };
        let field = match &error {
            EngineError::Invalid { field, .. } => field.clone(),
            _ => None,
        };
        ApiError {
            status,
            message: error.to_string(),
            field,
        }
    }
}

impl From<axum::extract::multipart::MultipartError> for ApiError {
    fn from(error: axum::extract::multipart::MultipartError) -> Self {
        let status = error.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large("the request body is larger than the upload limit")
        } else {
            ApiError::new(status, format!("bad multipart body: {}", error.body_text()))
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// Which error body a group of routes answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorShape {
    /// `/api/v1`: `{"error", "status", "field"}`.
    Api,
    /// HMA-compatible routes: `{"message"}`.
    Hma,
}

/// An error on an HMA-compatible route, answered in HMA's shape `{"message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HmaError(pub ApiError);

/// The JSON body of an HMA error (HMA's `api_error_handler`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HmaErrorBody {
    /// What went wrong.
    pub message: String,
}

impl HmaError {
    /// An error with a status and message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> HmaError {
        HmaError(ApiError::new(status, message))
    }

    /// 400 with a message.
    pub fn bad_request(message: impl Into<String>) -> HmaError {
        HmaError::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<ApiError> for HmaError {
    fn from(error: ApiError) -> Self {
        HmaError(error)
    }
}

impl From<EngineError> for HmaError {
    fn from(error: EngineError) -> Self {
        HmaError(ApiError::from(error))
    }
}

impl IntoResponse for HmaError {
    fn into_response(self) -> Response {
        let mut response = (
            self.0.status,
            Json(HmaErrorBody {
                message: self.0.message,
            }),
        )
            .into_response();
        if self.0.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_errors_map_to_one_status_each() {
        let cases = [
            (EngineError::Unauthenticated("x".into()), 401),
            (EngineError::Forbidden("x".into()), 403),
            (EngineError::NotFound("bank X".into()), 404),
            (EngineError::Conflict("x".into()), 409),
            (EngineError::invalid("signal", "bad"), 400),
            (EngineError::TooLarge("x".into()), 413),
            (EngineError::Unprocessable("x".into()), 422),
            (EngineError::NotReady, 503),
            (EngineError::Internal("password=secret".into()), 500),
        ];
        for (error, status) in cases {
            let api = ApiError::from(error);
            assert_eq!(api.status.as_u16(), status);
            assert!(!api.message.contains("secret"), "internals leaked");
        }
        let invalid = ApiError::from(EngineError::invalid("signal", "not hex"));
        assert_eq!(invalid.field.as_deref(), Some("signal"));
        assert!(invalid.message.starts_with("signal: "));
    }
}
