//! Why a use case failed, as one enum the web layer maps to HTTP: store conflicts arrive
//! here already described in our words, never with the database's message.

use fd_domain::{DomainError, ErrorCode};
use fd_store::StoreError;

/// Why a use case did not happen. The web layer maps each variant to one HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Unknown id — or an id the actor may not see (HD-09 never reveals which).
    #[error("{object} {id} not found")]
    NotFound { object: &'static str, id: String },
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not signed in")]
    Unauthenticated,
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// A write based on a stale read, or a duplicate of a unique value.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error(transparent)]
    Store(StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            // Our description only: the database's message names tables and columns.
            StoreError::Conflict { what, detail } => {
                tracing::debug!(%detail, "unique constraint refused a write");
                AppError::Conflict(format!("{what} already exists"))
            }
            other => AppError::Store(other),
        }
    }
}

impl AppError {
    pub(crate) fn not_found(object: &'static str, id: impl ToString) -> Self {
        AppError::NotFound {
            object,
            id: id.to_string(),
        }
    }
    /// An invalid input that no more specific HubSpot code describes.
    pub(crate) fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::invalid_as(field, ErrorCode::InvalidValue, message)
    }

    pub(crate) fn invalid_as(field: &str, code: ErrorCode, message: impl Into<String>) -> Self {
        AppError::Domain(DomainError::field(field, code, message))
    }
}
