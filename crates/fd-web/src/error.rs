//! The one translation of application errors — and of the HTTP layer's own refusals (bad
//! JSON, wrong content type, oversized bodies, unknown routes) — into HubSpot's error body:
//! `status`, `message`, `correlationId`, `category`, and `errors`/`context` where useful.

use std::error::Error as _;

use axum::Json;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fd_app::AppError;
use fd_app::domain::{DomainError, FieldError};
use serde_json::{Value, json};

/// An error on its way to the client, in HubSpot's error shape.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub category: &'static str,
    pub message: String,
    pub errors: Vec<Value>,
    pub context: Option<Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, category: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            category,
            message: message.into(),
            errors: Vec::new(),
            context: None,
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

    pub fn with_context(mut self, context: Value) -> Self {
        self.context = Some(context);
        self
    }

    /// The body of one failed input of a batch (HubSpot's `StandardError`).
    pub fn standard_error(&self) -> Value {
        json!({
            "status": "error",
            "category": self.category,
            "message": self.message,
            "context": self.context.clone().unwrap_or_else(|| json!({})),
            "errors": self.errors,
            "links": {},
        })
    }
}

/// HubSpot's error code for one invalid property value (the clients never parse it; people
/// and scripts read it).
fn field_code(f: &FieldError) -> &'static str {
    let m = f.message.as_str();
    if m.starts_with("is not a ") && m.ends_with(" property") {
        "PROPERTY_DOESNT_EXIST"
    } else if m.contains("not an allowed option") {
        "INVALID_OPTION"
    } else if m == "is read-only" {
        "READ_ONLY_VALUE"
    } else if m.contains("is required") {
        "REQUIRED"
    } else {
        "INVALID_PROPERTY_VALUE"
    }
}

fn field_errors(fields: &[FieldError]) -> (String, Vec<Value>) {
    let details: Vec<Value> = fields
        .iter()
        .map(|f| {
            let text = if field_code(f) == "PROPERTY_DOESNT_EXIST" {
                format!("Property \"{}\" does not exist", f.field)
            } else {
                format!("{}: {}", f.field, f.message)
            };
            json!({
                "isValid": false,
                "message": text,
                "error": field_code(f),
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
                "code": field_code(f),
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
            AppError::NotFound { .. } => {
                return ApiError::not_found(e.to_string());
            }
            AppError::Forbidden(m) => {
                return ApiError::new(
                    StatusCode::FORBIDDEN,
                    "MISSING_SCOPES",
                    format!("This token's user may not do this: {m}"),
                );
            }
            AppError::Unauthenticated => return ApiError::unauthenticated(),
            AppError::Domain(DomainError::Invalid(fields)) => {
                let (message, errors) = field_errors(fields);
                let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
                return ApiError {
                    errors,
                    context: Some(json!({"properties": names})),
                    ..ApiError::validation(message)
                };
            }
            AppError::Domain(DomainError::MissingRequiredProperties { missing, .. }) => {
                let errors = missing
                    .iter()
                    .map(|m| {
                        json!({
                            "message": format!("{m} is required"),
                            "in": m,
                            "code": "REQUIRED",
                            "context": {"propertyName": [m]},
                        })
                    })
                    .collect();
                return ApiError {
                    errors,
                    context: Some(json!({"properties": missing})),
                    ..ApiError::validation(e.to_string())
                };
            }
            AppError::Domain(DomainError::RuleViolation { rule, .. }) => {
                return ApiError::validation(e.to_string()).with_context(json!({"rule": [rule]}));
            }
            AppError::Conflict(m) => {
                return ApiError::new(StatusCode::CONFLICT, "CONFLICT", m.clone());
            }
            AppError::Store(_) | AppError::Internal(_) => {}
        }
        // Log the whole cause chain; the client sees only a generic message.
        let mut chain = e.to_string();
        let mut source = e.source();
        while let Some(s) = source {
            chain.push_str(": ");
            chain.push_str(&s.to_string());
            source = s.source();
        }
        tracing::error!(error = %chain, "request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            "internal error",
        )
    }
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
        let mut body = json!({
            "status": "error",
            "message": self.message,
            "correlationId": correlation_id(),
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
fn correlation_id() -> String {
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

    #[test]
    fn correlation_ids_are_uuids() {
        let id = correlation_id();
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert_ne!(id, correlation_id());
    }
}
