//! The one translation of application errors — and of the HTTP layer's own refusals (bad
//! JSON, wrong content type, oversized bodies, unknown routes) — into HubSpot's error body:
//! `status`, `message`, `correlationId`, `category`, and `errors`/`context` where useful.
//!
//! Field errors map from their typed [`ErrorCode`], never from message text. Database
//! messages never reach a client: a unique-constraint failure arrives as `AppError::Conflict`
//! in our own words, anything else from the store is a 500 with a generic message. Every
//! error body's `correlationId` is the request's id (see `request_span` in lib.rs) and is
//! logged with it; a 5xx log line carries the whole cause chain.

use axum::Json;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fd_app::AppError;
use fd_app::domain::{DomainError, ErrorCode, FieldError};
use serde_json::{Value, json};

/// An error on its way to the client, in HubSpot's error shape.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub category: &'static str,
    pub message: String,
    pub errors: Vec<Value>,
    pub context: Option<Value>,
    /// For a 5xx: the whole cause chain, for the log only (boxed: errors travel in
    /// `Result`s, which should stay small).
    pub cause: Option<Box<str>>,
}

impl ApiError {
    pub fn new(status: StatusCode, category: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            category,
            message: message.into(),
            errors: Vec::new(),
            context: None,
            cause: None,
        }
    }

    /// 400 VALIDATION_ERROR.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
    }

    /// 404 OBJECT_NOT_FOUND.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "OBJECT_NOT_FOUND", message)
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found. This API supports private app access tokens \
             sent as 'Authorization: Bearer <token>'; create one with `frontdesk admin create-token`.",
        )
    }

    /// 500 with a generic message; `cause` (the whole chain) goes to the log only.
    pub fn internal(cause: String) -> Self {
        ApiError {
            cause: Some(cause.into_boxed_str()),
            ..Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_ERROR",
                "internal error",
            )
        }
    }

    pub fn with_context(mut self, context: Value) -> Self {
        self.context = Some(context);
        self
    }

    /// The body of one failed input of a batch (HubSpot's `StandardError`).
    pub fn standard_error(&self) -> Value {
        self.log(&crate::request_id());
        json!({
            "status": "error",
            "category": self.category,
            "message": self.message,
            "context": self.context.clone().unwrap_or_else(|| json!({})),
            "errors": self.errors,
            "links": {},
        })
    }

    /// One log line per error sent, with the correlation id the client sees (the request's
    /// id, so also in the request's span). Server errors carry their cause chain.
    pub(crate) fn log(&self, correlation_id: &str) {
        log_error(
            self.status,
            self.category,
            &self.message,
            correlation_id,
            self.cause.as_deref(),
        );
    }
}

/// The log line of an error answer: 5xx at ERROR with the cause chain, others at INFO.
pub(crate) fn log_error(
    status: StatusCode,
    category: &str,
    message: &str,
    correlation_id: &str,
    cause: Option<&str>,
) {
    let code = status.as_u16();
    if status.is_server_error() {
        tracing::error!(
            correlation_id,
            status = code,
            category,
            error = cause.unwrap_or(message),
            "request failed"
        );
    } else {
        // `detail`, not `message`: JSON logs put the event's own text under `message`.
        tracing::info!(
            correlation_id,
            status = code,
            category,
            detail = message,
            "request refused"
        );
    }
}

/// The words of one field error as HubSpot writes them.
fn field_text(f: &FieldError) -> String {
    if f.code == ErrorCode::PropertyDoesntExist {
        format!("Property \"{}\" does not exist", f.field)
    } else {
        format!("{}: {}", f.field, f.message)
    }
}

fn field_errors(fields: &[FieldError]) -> (String, Vec<Value>) {
    let details: Vec<Value> = fields
        .iter()
        .map(|f| {
            let text = field_text(f);
            json!({
                "isValid": false,
                "message": text,
                "error": f.code.as_str(),
                "name": f.field,
                "localizedErrorMessage": text,
            })
        })
        .collect();
    let errors = fields
        .iter()
        .zip(&details)
        .map(|(f, d)| {
            json!({
                "message": d["message"],
                "in": f.field,
                "code": f.code.as_str(),
                "context": {"propertyName": [f.field]},
            })
        })
        .collect();
    let message = format!(
        "Property values were not valid: {}",
        serde_json::to_string(&details).unwrap_or_default()
    );
    (message, errors)
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match &e {
            AppError::NotFound { .. } => ApiError::not_found(e.to_string()),
            AppError::Forbidden(m) => ApiError::new(
                StatusCode::FORBIDDEN,
                "MISSING_SCOPES",
                format!("This token's user may not do this: {m}"),
            ),
            AppError::Unauthenticated => ApiError::unauthenticated(),
            AppError::Domain(DomainError::Invalid(fields)) => {
                let (message, errors) = field_errors(fields);
                let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
                ApiError {
                    errors,
                    context: Some(json!({"properties": names})),
                    ..ApiError::validation(message)
                }
            }
            AppError::Domain(DomainError::MissingRequiredProperties { missing, .. }) => {
                let errors = missing
                    .iter()
                    .map(|m| {
                        json!({
                            "message": format!("{m} is required"),
                            "in": m,
                            "code": ErrorCode::Required.as_str(),
                            "context": {"propertyName": [m]},
                        })
                    })
                    .collect();
                ApiError {
                    errors,
                    context: Some(json!({"properties": missing})),
                    ..ApiError::validation(e.to_string())
                }
            }
            AppError::Domain(DomainError::RuleViolation { rule, .. }) => {
                ApiError::validation(e.to_string()).with_context(json!({"rule": [rule]}))
            }
            // Conflicts are worded by us (a unique-constraint failure included: fd-store
            // describes it without the database's message).
            AppError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "CONFLICT", m.clone()),
            // The store's and our own internal errors may quote SQL, tables or values: the
            // client sees only a generic message and the correlation id, the log everything.
            AppError::Store(_) | AppError::Internal(_) => ApiError::internal(cause_chain(&e)),
        }
    }
}

/// An error and its sources, outermost first, joined with ": ".
pub(crate) fn cause_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut chain = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        // thiserror's `{0}` often repeats the source's text; say each part once.
        if !chain.ends_with(&text) {
            chain.push_str(": ");
            chain.push_str(&text);
        }
        source = s.source();
    }
    chain
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> Self {
        let status = r.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                status,
                "PAYLOAD_TOO_LARGE",
                format!(
                    "The request body is larger than {} bytes",
                    crate::MAX_BODY_BYTES
                ),
            )
        } else {
            ApiError::validation(format!("Cannot read the request body: {}", r.body_text()))
        }
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(e: serde_json::Error) -> Self {
        ApiError::validation(format!("Invalid input JSON: {e}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let correlation_id = crate::request_id();
        self.log(&correlation_id);
        let mut body = json!({
            "status": "error",
            "message": self.message,
            "correlationId": correlation_id,
            "category": self.category,
        });
        if !self.errors.is_empty() {
            body["errors"] = Value::Array(self.errors);
        }
        if let Some(c) = self.context {
            body["context"] = c;
        }
        (self.status, Json(body)).into_response()
    }
}

/// A random version-4 UUID in its usual text form (HubSpot's correlation ids are UUIDs).
pub(crate) fn new_uuid() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer: {0}")]
    struct Outer(#[source] Middle);
    #[derive(Debug, thiserror::Error)]
    #[error("middle")]
    struct Middle(#[source] std::io::Error);

    /// A 5xx logs every cause, each once (thiserror's `{0}` often repeats its source).
    #[test]
    fn cause_chain_names_every_source_once() {
        let e = Outer(Middle(std::io::Error::other("disk on fire")));
        assert_eq!(cause_chain(&e), "outer: middle: disk on fire");
        let api = ApiError::from(AppError::Internal("boom".into()));
        assert_eq!(api.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(api.message, "internal error");
        assert_eq!(api.cause.as_deref(), Some("internal error: boom"));
    }

    #[test]
    fn correlation_ids_are_uuids() {
        let id = new_uuid();
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert_ne!(id, new_uuid());
    }
}
