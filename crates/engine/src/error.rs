//! What can go wrong in the application, in kinds every interface maps the same way.

use takedown_store::StoreError;

/// A failed engine operation. The HTTP server maps each variant to one status; the CLI prints
/// the message.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No credentials, or credentials that do not work (HTTP 401).
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller is known but its role does not allow this (HTTP 403).
    #[error("{0}")]
    Forbidden(String),
    /// The thing does not exist or is not visible to the caller (HTTP 404). Invisible and
    /// missing look the same on purpose: a caller must not learn another organisation's bank
    /// names by probing.
    #[error("{0} not found")]
    NotFound(String),
    /// A name is taken or a signal is already in the bank (HTTP 409).
    #[error("{0}")]
    Conflict(String),
    /// A field of the request is wrong (HTTP 400). `field` names it when there is one.
    #[error("{}{message}", field.as_ref().map(|f| format!("{f}: ")).unwrap_or_default())]
    Invalid {
        /// The offending field or parameter.
        field: Option<String>,
        /// What is wrong with it.
        message: String,
    },
    /// The uploaded or fetched media cannot be decoded or hashed (HTTP 422).
    #[error("{0}")]
    Unprocessable(String),
    /// The input is larger than allowed (HTTP 413).
    #[error("{0}")]
    TooLarge(String),
    /// The index is still loading (HTTP 503).
    #[error("the index is still loading")]
    NotReady,
    /// Something inside failed (HTTP 500). The message is for logs, not for clients.
    #[error("internal error: {0}")]
    Internal(String),
}

impl EngineError {
    /// An `Invalid` error naming a field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> EngineError {
        EngineError::Invalid {
            field: Some(field.into()),
            message: message.into(),
        }
    }
}

impl From<StoreError> for EngineError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(what) => EngineError::NotFound(what),
            StoreError::Conflict(message) => EngineError::Conflict(message),
            StoreError::Invalid(message) => EngineError::Invalid {
                field: None,
                message,
            },
            StoreError::BadRow(row) => EngineError::Invalid {
                field: None,
                message: row.to_string(),
            },
            StoreError::Database(message) => EngineError::Internal(message),
        }
    }
}

impl From<takedown_hasher::HashError> for EngineError {
    fn from(error: takedown_hasher::HashError) -> Self {
        if error.is_too_large() {
            EngineError::TooLarge(error.to_string())
        } else {
            EngineError::Unprocessable(error.to_string())
        }
    }
}

/// Result of an engine operation.
pub type EngineResult<T> = Result<T, EngineError>;
