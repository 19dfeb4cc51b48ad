//! Everything HTTP: the router, the health check, and the one place where application errors
//! become responses (HubSpot's error body: `status`, `message`, `correlationId`, `category`).
//!
//! Must not contain SQL or mail syntax and must not bypass `fd-app`: every handler calls a
//! use case of [`fd_app::App`].

mod error;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use fd_app::App;

pub use error::ApiError;

/// Shared state of every handler.
#[derive(Clone)]
pub struct WebState {
    pub app: App,
}

/// The whole HTTP surface.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .with_state(WebState { app })
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
