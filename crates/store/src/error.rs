//! What can go wrong in the store, in kinds the server maps to HTTP statuses.

/// A failed store operation.
///
/// The variants are the distinctions a caller acts on: the server answers `NotFound` with 404,
/// `Conflict` with 409, `Invalid` and `BadRow` with 400 and `Database` with 500 (logging the
/// message, never showing it to clients).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The named thing does not exist (or is not visible to the caller).
    #[error("{0} not found")]
    NotFound(String),
    /// The change would break a uniqueness rule (a bank or organisation name already taken, a
    /// signal already in the bank).
    #[error("{0}")]
    Conflict(String),
    /// The request itself is wrong (an empty name, a signal value of the wrong length, ...).
    #[error("{0}")]
    Invalid(String),
    /// A bulk import stopped at a bad row; nothing of the import was kept.
    #[error(transparent)]
    BadRow(#[from] RowError),
    /// The database failed or returned something the store cannot read. Internal: callers
    /// should log it and report a generic failure.
    #[error("database error: {0}")]
    Database(String),
}

/// A row of a bulk import that cannot be imported, with the line it came from so that the
/// person who prepared the file can find it in their editor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct RowError {
    /// 1-based line number in the imported file.
    pub line: u64,
    /// What is wrong, naming the field.
    pub message: String,
}

/// Result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        StoreError::Database(error.to_string())
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        StoreError::Database(format!("migration failed: {error}"))
    }
}

impl StoreError {
    /// A `Database` error for a stored value the store cannot interpret (a corrupt row).
    pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
        StoreError::Database(format!("unreadable stored value: {what}"))
    }
}

/// Turns a unique-constraint violation into `Conflict(message)`; other errors stay database
/// errors. Used where the database, not a prior read, is what enforces uniqueness, so that two
/// concurrent writers cannot both pass a check.
pub(crate) fn conflict_on_unique(
    error: sqlx::Error,
    message: impl FnOnce() -> String,
) -> StoreError {
    match &error {
        sqlx::Error::Database(database_error) if database_error.is_unique_violation() => {
            StoreError::Conflict(message())
        }
        _ => StoreError::from(error),
    }
}
