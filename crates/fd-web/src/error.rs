//! The one translation of application errors into HTTP responses.

use std::error::Error as _;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fd_app::AppError;
use fd_app::domain::DomainError;
use serde_json::json;

/// An error on its way to the client, in HubSpot's error shape.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub category: &'static str,
    pub message: String,
    pub errors: Vec<serde_json::Value>,
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        let (status, category) = match &e {
            AppError::NotFound { .. } => (StatusCode::NOT_FOUND, "OBJECT_NOT_FOUND"),
            AppError::Forbidden(_) => (StatusCode::FORBIDDEN, "MISSING_SCOPES"),
            AppError::Unauthenticated => (StatusCode::UNAUTHORIZED, "INVALID_AUTHENTICATION"),
            AppError::Domain(_) => (StatusCode::BAD_REQUEST, "VALIDATION_ERROR"),
            AppError::Conflict(_) => (StatusCode::CONFLICT, "CONFLICT"),
            AppError::Store(_) | AppError::Internal(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR")
            }
        };
        let errors = match &e {
            AppError::Domain(DomainError::Invalid(fields)) => fields
                .iter()
                .map(|f| json!({"message": f.message, "context": {"propertyName": [f.field]}}))
                .collect(),
            AppError::Domain(DomainError::MissingRequiredProperties { missing, .. }) => missing
                .iter()
                .map(|m| json!({"message": format!("{m} is required"), "context": {"propertyName": [m]}}))
                .collect(),
            _ => Vec::new(),
        };
        if status.is_server_error() {
            // Log the whole cause chain; the client sees only a generic message.
            let mut chain = e.to_string();
            let mut source = e.source();
            while let Some(s) = source {
                chain.push_str(": ");
                chain.push_str(&s.to_string());
                source = s.source();
            }
            tracing::error!(error = %chain, "request failed");
            return ApiError {
                status,
                category,
                message: "internal error".into(),
                errors,
            };
        }
        ApiError {
            status,
            category,
            message: e.to_string(),
            errors,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let correlation = format!("{:032x}", rand_id());
        let mut body = json!({
            "status": "error",
            "message": self.message,
            "correlationId": correlation,
            "category": self.category,
        });
        if !self.errors.is_empty() {
            body["errors"] = serde_json::Value::Array(self.errors);
        }
        (self.status, Json(body)).into_response()
    }
}

fn rand_id() -> u128 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    t ^ (u128::from(N.fetch_add(1, Ordering::Relaxed)) << 64)
}
