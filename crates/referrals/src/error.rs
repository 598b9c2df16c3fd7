//! What can go wrong in the referral workflow. A URL that is gone or unreachable is not an
//! error: it is an outcome, recorded with its evidence.

use takedown_engine::EngineError;
use takedown_store::StoreError;

/// A failed referral operation, in the engine's kinds so every interface maps it the same way.
#[derive(Debug, thiserror::Error)]
pub enum ReferralError {
    /// The application refused or failed (permissions, not found, conflicts, store errors).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The configuration cannot work (a bad SMTP URL, a zero lease, ...).
    #[error("referral configuration: {0}")]
    Config(String),
}

impl ReferralError {
    /// A `400`-kind error naming a field.
    pub fn invalid(field: &str, message: impl Into<String>) -> ReferralError {
        ReferralError::Engine(EngineError::invalid(field, message))
    }

    /// A `404`-kind error.
    pub fn not_found(what: impl Into<String>) -> ReferralError {
        ReferralError::Engine(EngineError::NotFound(what.into()))
    }

    /// A `409`-kind error.
    pub fn conflict(message: impl Into<String>) -> ReferralError {
        ReferralError::Engine(EngineError::Conflict(message.into()))
    }

    /// An internal failure (logged, not shown to clients).
    pub fn internal(message: impl Into<String>) -> ReferralError {
        ReferralError::Engine(EngineError::Internal(message.into()))
    }

    /// The engine error this corresponds to, for interfaces that map engine errors.
    pub fn into_engine(self) -> EngineError {
        match self {
            ReferralError::Engine(error) => error,
            ReferralError::Config(message) => EngineError::Internal(message),
        }
    }
}

impl From<StoreError> for ReferralError {
    fn from(error: StoreError) -> Self {
        ReferralError::Engine(error.into())
    }
}

impl From<ReferralError> for EngineError {
    fn from(error: ReferralError) -> Self {
        error.into_engine()
    }
}

/// Result of a referral operation.
pub type ReferralResult<T> = Result<T, ReferralError>;
