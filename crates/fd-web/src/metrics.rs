//! `GET /metrics` and the middleware that counts every answered request under its matched
//! route template (never the raw path, so ids and junk paths cannot grow the series).
//!
//! The endpoint is off unless `serve --metrics-token` (or `FRONTDESK_METRICS_TOKEN`) set a
//! token: off, it answers 404 like any unknown route; on, a scrape without that bearer token
//! gets 401. Counting and rendering are fd-app's `Metrics`; this module only translates HTTP.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use fd_app::{App, ScrapeAccess};

use crate::error::ApiError;

/// Records the answer's status and the time to its head under the route template
/// (`unmatched` for requests no route took).
pub(crate) async fn count_request(State(app): State<App>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    // Standard methods by name; any extension method (hyper accepts every token) is
    // `other`, so a client cannot grow the series with made-up methods.
    let method = match *req.method() {
        Method::GET
        | Method::HEAD
        | Method::POST
        | Method::PUT
        | Method::PATCH
        | Method::DELETE
        | Method::OPTIONS => req.method().as_str(),
        _ => "other",
    }
    .to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let response = next.run(req).await;
    app.metrics().observe_http(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// The scrape.
pub(crate) async fn scrape(State(app): State<App>, headers: HeaderMap) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, t)| t)
        });
    match app.metrics().check_scrape(bearer) {
        ScrapeAccess::Disabled => ApiError::not_found("No API route at /metrics").into_response(),
        ScrapeAccess::Unauthorized => {
            let mut r = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "INVALID_AUTHENTICATION",
                "The metrics endpoint needs 'Authorization: Bearer <token>' with the token \
                 given to `frontdesk serve --metrics-token`.",
            )
            .into_response();
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            r
        }
        ScrapeAccess::Allowed => match app.render_metrics().await {
            Ok(text) => (
                [(
                    header::CONTENT_TYPE,
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                )],
                text,
            )
                .into_response(),
            Err(e) => ApiError::from(e).into_response(),
        },
    }
}
