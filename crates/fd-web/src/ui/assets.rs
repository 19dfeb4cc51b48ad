//! The UI's own stylesheet and script, compiled into the binary (no CDN, no build step).

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

const APP_CSS: &str = include_str!("assets/app.css");
const APP_JS: &str = include_str!("assets/app.js");
/// idiomorph 0.7.4 (npm, 0BSD; licence text in `assets/vendor/idiomorph-LICENSE.txt`), pinned
/// and vendored unchanged: live updates merge the re-rendered page into the open one with it,
/// so focused fields, unsaved edits and open pickers survive a teammate's change.
const IDIOMORPH_JS: &str = include_str!("assets/vendor/idiomorph-0.7.4.js");
const IDIOMORPH_LICENSE: &str = include_str!("assets/vendor/idiomorph-LICENSE.txt");

pub(crate) async fn asset(Path(name): Path<String>) -> Response {
    let (body, kind) = match name.as_str() {
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "idiomorph-0.7.4.js" => (IDIOMORPH_JS, "text/javascript; charset=utf-8"),
        "idiomorph-LICENSE.txt" => (IDIOMORPH_LICENSE, "text/plain; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    // Pages reference assets with a version query, so they can be cached for long.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}
