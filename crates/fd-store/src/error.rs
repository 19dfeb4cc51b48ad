use std::fmt;

/// Everything the store can fail with. Constraint violations are told apart so the
/// application can answer "already exists" or "still in use" instead of a 500.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot open the database: {0}")]
    SqliteConnect(#[source] rusqlite::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unique constraint violated: {0}")]
    Unique(String),
    #[error("foreign key constraint violated: {0}")]
    ForeignKey(String),
    #[error("the database is busy: {0}")]
    Busy(String),
    #[error("cannot decode a row: {0}")]
    Decode(String),
    #[error("database error: {0}")]
    Sql(#[source] sqlx::Error),
    #[error("database error: {0}")]
    Sqlite(#[source] rusqlite::Error),
    #[error("{0}")]
    Internal(String),
}

impl StoreError {
    pub(crate) fn connect(e: impl Into<sqlx::Error>) -> Self {
        StoreError::Connect(e.into())
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ffi;
        if let rusqlite::Error::SqliteFailure(err, msg) = &e {
            let msg = msg.clone().unwrap_or_else(|| err.to_string());
            match err.extended_code {
                ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                    return StoreError::Unique(msg);
                }
                ffi::SQLITE_CONSTRAINT_FOREIGNKEY => return StoreError::ForeignKey(msg),
                _ => {}
            }
            if matches!(
                err.code,
                ffi::ErrorCode::DatabaseBusy | ffi::ErrorCode::DatabaseLocked
            ) {
                return StoreError::Busy(msg);
            }
        }
        StoreError::Sqlite(e)
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            let msg = db.message().to_string();
            match db.kind() {
                sqlx::error::ErrorKind::UniqueViolation => return StoreError::Unique(msg),
                sqlx::error::ErrorKind::ForeignKeyViolation => return StoreError::ForeignKey(msg),
                _ => {}
            }
            // SQLITE_BUSY (5) / SQLITE_LOCKED (6), PostgreSQL serialization_failure / deadlock.
            let code = db.code().map(|c| c.to_string()).unwrap_or_default();
            if matches!(code.as_str(), "5" | "6" | "517" | "40001" | "40P01") {
                return StoreError::Busy(msg);
            }
        }
        StoreError::Sql(e)
    }
}

/// Helper for decoding enums stored as text.
pub(crate) fn decode<T, E: fmt::Display>(r: Result<T, E>) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::Decode(e.to_string()))
}
