use fd_domain::DomainError;
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
            StoreError::Unique(m) => AppError::Conflict(format!("already exists ({m})")),
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
    pub(crate) fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Domain(DomainError::field(field, message))
    }
}
