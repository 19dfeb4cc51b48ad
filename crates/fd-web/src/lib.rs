//! Everything HTTP: the router, the health check, the HubSpot-compatible REST API (`api/`),
//! `/openapi.json`, and the one place where errors become responses (HubSpot's error body:
//! `status`, `message`, `correlationId`, `category`).
//!
//! Must not contain SQL or mail syntax and must not bypass `fd-app`: every handler calls a
//! use case of [`fd_app::App`].

// The OpenAPI document is one large `json!` literal.
#![recursion_limit = "1024"]

mod api;
mod attachments;
mod error;
mod ui;

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, Uri};
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::get;
use fd_app::App;

pub use api::openapi::{document as openapi_document, operation_list as openapi_operations};
pub use error::ApiError;

/// The largest request body accepted (HubSpot's batch limits keep real requests far below).
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Shared state of every handler.
#[derive(Clone)]
pub struct WebState {
    pub app: App,
}

/// The whole HTTP surface.
pub fn router(app: App) -> Router {
    let inner = Router::new()
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi))
        .merge(api::routes())
        .merge(attachments::routes())
        .merge(ui::router(app.clone()))
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(WebState { app });
    // Paths are normalised before routing, so this outer router only hosts the rewrite.
    Router::new()
        .fallback_service(inner)
        .layer(middleware::map_request(normalize_path))
}

/// Collapses `//` (clients given a base URL with a trailing slash produce it) and drops a
/// trailing slash (Python's owners call is `/crm/v3/owners/`), keeping the query.
async fn normalize_path(mut req: Request) -> Request {
    let path = req.uri().path();
    if !(path.contains("//") || (path.len() > 1 && path.ends_with('/'))) {
        return req;
    }
    let mut clean = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && clean.ends_with('/')) {
            clean.push(c);
        }
    }
    while clean.len() > 1 && clean.ends_with('/') {
        clean.pop();
    }
    if let Some(q) = req.uri().query() {
        clean.push('?');
        clean.push_str(q);
    }
    let mut parts = req.uri().clone().into_parts();
    if let Ok(pq) = clean.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = Uri::from_parts(parts) {
            *req.uri_mut() = uri;
        }
    }
    req
}

async fn unknown_route(uri: Uri) -> ApiError {
    ApiError::not_found(format!("No API route at {}", uri.path()))
}

async fn method_not_allowed(uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        format!("This method is not allowed on {}", uri.path()),
    )
}

async fn openapi() -> impl IntoResponse {
    Json(api::openapi::document())
}

/// 200 once the database answers, 503 otherwise (load balancers and `serve` scripts poll it).
async fn healthz(State(state): State<WebState>) -> impl IntoResponse {
    match state.app.db().ping().await {
        Ok(()) => (StatusCode::OK, "ok\n"),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n")
        }
    }
}
