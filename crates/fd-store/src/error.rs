//! The store's errors. Constraint failures become typed variants described in our own words
//! (their database messages are kept for logs only); everything else stays a database error
//! that the web layer answers with a generic 500.

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
    /// A unique constraint refused a write. `what` is our own description of the value that
    /// is taken, fit to show a client; the database's message (which names tables and
    /// columns) stays in `detail`, for the log only.
    #[error("{what} already exists")]
    Conflict { what: &'static str, detail: String },
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
    /// A unique-constraint failure on `table`, described in our words.
    pub(crate) fn conflict(table: &str, detail: String) -> Self {
        StoreError::Conflict {
            what: taken_value(table),
            detail,
        }
    }

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
                    // "UNIQUE constraint failed: pipelines.object_type, pipelines.label"
                    let table = msg
                        .split_once(": ")
                        .and_then(|(_, cols)| cols.split_once('.'))
                        .map_or("", |(t, _)| t);
                    return StoreError::conflict(table, msg.clone());
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
                sqlx::error::ErrorKind::UniqueViolation => {
                    return StoreError::conflict(db.table().unwrap_or(""), msg);
                }
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

/// What a unique constraint of `table` protects, as a client should read it. Every table
/// with a UNIQUE constraint or index beyond its generated id is named here.
fn taken_value(table: &str) -> &'static str {
    match table {
        "users" => "A user with this email address",
        "teams" => "A team with this name",
        "team_addresses" => "This team email address",
        "contacts" => "A contact with this email address",
        "pipelines" => "A pipeline with this label",
        "pipeline_stages" => "A stage with this label in the pipeline",
        "property_groups" => "A property group with this name",
        "property_definitions" => "A property with this name",
        "association_labels" => "An association label with this type id",
        "associations" => "This association",
        "drafts" => "A draft for this conversation",
        "api_tokens" => "A token with this value",
        "mail_inbound_keys" => "This message",
        _ => "A record with this value",
    }
}

/// Helper for decoding enums stored as text.
pub(crate) fn decode<T, E: fmt::Display>(r: Result<T, E>) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::Decode(e.to_string()))
}
