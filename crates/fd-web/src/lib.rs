//! Everything HTTP: the router, the health check, the HubSpot-compatible REST API (`api/`),
//! `/openapi.json`, and the one place where errors become responses (HubSpot's error body:
//! `status`, `message`, `correlationId`, `category`).
//!
//! Must not contain SQL or mail syntax and must not bypass `fd-app`: every handler calls a
//! use case of [`fd_app::App`].

mod api;
mod attachments;
mod error;
mod metrics;
mod multipart;
mod ui;

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, Uri};
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::get;
use fd_app::App;

pub use api::openapi::document as openapi_document;
pub use api::route_list as api_routes;
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
        .with_state(WebState { app: app.clone() })
        // Operations (issue 17): the scrape, and every answer counted under its route
        // template (this layer runs after routing, where the matched route is known).
        .route("/metrics", get(metrics::scrape).with_state(app.clone()))
        .layer(middleware::from_fn_with_state(app, metrics::count_request));
    // Paths are normalised before routing, so this outer router only hosts the rewrite.
    let outer = Router::new()
        .fallback_service(inner)
        .layer(middleware::map_request(normalize_path));
    security_headers(outer).layer(middleware::from_fn(request_span))
}

tokio::task_local! {
    /// The id of the request this task is answering (set by [`request_span`]).
    static REQUEST_ID: String;
}

/// The id of the request being answered: the `correlationId` of its error body, the
/// `request_id` of its log lines and its `X-Request-Id` header. Outside a request (a
/// background task, a unit test) a fresh id, so an error body always has one.
pub(crate) fn request_id() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| error::new_uuid())
}

/// Runs each request in a tracing span named by a new id (a UUID, like HubSpot's correlation
/// ids), so every log line of a request — the error line with its correlation id included —
/// can be found together, and returns the id as `X-Request-Id`. An `X-Request-Id` from a
/// proxy in front of us is kept in the span as `upstream_id` (when it is a short token), so
/// its logs and ours can be joined; it is not reused as our id, which a client could forge.
async fn request_span(req: Request, next: middleware::Next) -> axum::response::Response {
    use axum::http::HeaderValue;
    use tracing::Instrument as _;
    let id = error::new_uuid();
    let upstream = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=128).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        });
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.uri().path(),
        upstream_id = tracing::field::Empty,
    );
    if let Some(u) = upstream {
        span.record("upstream_id", u);
    }
    let mut response = REQUEST_ID
        .scope(id.clone(), next.run(req))
        .instrument(span)
        .await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

/// The headers every response carries — API, UI, errors, 404s and assets alike (Hardening
/// finding 8) — each only where the route did not choose its own: the mail frame route
/// (`/mail/messages/{id}/html`) keeps its stricter CSP and `SAMEORIGIN`, UI pages their CSP.
///
/// * `nosniff`: a JSON or text answer that echoes input is never run as script or style.
/// * `Referrer-Policy: same-origin`: ticket and record URLs do not leak to other sites.
/// * `X-Frame-Options: DENY` and the CSP's `frame-ancestors 'none'`: no clickjacking.
/// * `Cross-Origin-Opener-Policy: same-origin`: a page we open cannot script back into ours.
/// * the UI's CSP as the default, so no page goes out without a policy.
fn security_headers(router: Router) -> Router {
    use axum::http::{HeaderName, HeaderValue, header};
    use tower_http::set_header::SetResponseHeaderLayer;
    let defaults: [(HeaderName, &'static str); 5] = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (header::CONTENT_SECURITY_POLICY, ui::CSP),
    ];
    defaults.into_iter().fold(router, |r, (name, value)| {
        r.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ))
    })
}

/// The users object's type id: `/crm/v3/objects/0-115…` is served as `/crm/v3/objects/users…`.
const USERS_BY_TYPE_ID: &str = "/crm/v3/objects/0-115";

/// Collapses `//` (clients given a base URL with a trailing slash produce it) and drops a
/// trailing slash (Python's owners call is `/crm/v3/owners/`), keeping the query; and spells
/// the users object's type id `0-115` as `users` (its routes are static paths, which a
/// type id in the `{objectType}` segment would otherwise miss).
async fn normalize_path(mut req: Request) -> Request {
    let path = req.uri().path();
    let users_alias = path
        .strip_prefix(USERS_BY_TYPE_ID)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
    if !(users_alias || path.contains("//") || (path.len() > 1 && path.ends_with('/'))) {
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
    if let Some(rest) = clean.strip_prefix(USERS_BY_TYPE_ID)
        && (rest.is_empty() || rest.starts_with('/'))
    {
        clean = format!("/crm/v3/objects/users{rest}");
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
    let message = match api::users_method_not_allowed(uri.path()) {
        Some(why) => why.to_string(),
        None => format!("This method is not allowed on {}", uri.path()),
    };
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        message,
    )
}

async fn openapi() -> impl IntoResponse {
    Json(api::openapi::document())
}

/// 200 once the database answers, 503 otherwise (load balancers and `serve` scripts poll it).
async fn healthz(State(state): State<WebState>) -> impl IntoResponse {
    match state.app.ping_database().await {
        Ok(()) => (StatusCode::OK, "ok\n"),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n")
        }
    }
}
