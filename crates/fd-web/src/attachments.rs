//! Mail content over HTTP: attachment downloads and a message's HTML for the sandboxed
//! iframe. Both need a signed-in agent (API bearer token or the web UI's session cookie) who
//! may see the message's conversation (HD-09).
//!
//! Served defensively: attachments never render as active content from our origin
//! (`Content-Disposition: attachment` except for plain image types, `nosniff`, a `sandbox`
//! CSP that neutralises HTML or SVG even if opened, and their own type kept only for passive
//! document types such as PDF); the HTML view carries a strict
//! Content-Security-Policy (no script, nothing remote unless the agent asked).

use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use fd_app::Actor;
use fd_app::domain::MessageId;

use crate::{ApiError, WebState};

/// Types a browser may show inline: raster images cannot run script.
pub(crate) const INLINE_TYPES: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];

/// Passive document types a download keeps (so the agent's system opens a PDF as a PDF):
/// still `attachment`, `nosniff` and sandboxed. Anything else, notably HTML, SVG and XML,
/// which a browser would run or render from our origin, downloads as
/// `application/octet-stream`.
const DOWNLOAD_TYPES: &[&str] = &[
    "application/pdf",
    "text/plain",
    "text/csv",
    "application/zip",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
];

/// Where the thread links attachment `index` of message `id`.
pub(crate) fn attachment_href(id: MessageId, index: usize) -> String {
    format!("/mail/messages/{id}/attachments/{index}")
}

/// Where an uploaded file downloads (the Files API's `url`; issue 15, item 7).
pub(crate) fn file_href(id: i64) -> String {
    format!("/mail/files/{id}")
}

pub(crate) fn routes() -> Router<WebState> {
    Router::new()
        .route("/mail/messages/{id}/attachments/{index}", get(attachment))
        .route("/mail/files/{id}", get(file))
        .route("/mail/messages/{id}/html", get(html))
}

/// An agent, from a bearer token or the UI session cookie.
struct Viewer(Actor);

impl FromRequestParts<WebState> for Viewer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, ApiError> {
        if let Some(auth) = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            && let Some((scheme, token)) = auth.trim().split_once(' ')
            && scheme.eq_ignore_ascii_case("bearer")
        {
            return Ok(Viewer(state.app.actor_for_token(token.trim()).await?));
        }
        let cookie = parts
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == "fd_session")
            .map(|(_, v)| v.to_string())
            .filter(|v| !v.is_empty() && v.len() <= 128);
        match cookie {
            Some(token) => match state.app.session(&token).await? {
                Some(s) => Ok(Viewer(s.actor)),
                None => Err(ApiError::unauthenticated()),
            },
            None => Err(ApiError::unauthenticated()),
        }
    }
}

fn parse_id(id: &str) -> Result<MessageId, ApiError> {
    id.parse::<MessageId>()
        .map_err(|_| ApiError::not_found(format!("message {id} not found")))
}

/// RFC 6266 / RFC 8187: an ASCII fallback and the UTF-8 name.
fn disposition(kind: &str, filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' && c != '%' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in filename.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

fn safe_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // Customer content: like the pages that embed it, never kept in a browser cache, where
    // it would outlive sign-out or a lost access right.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

async fn attachment(
    State(state): State<WebState>,
    Viewer(actor): Viewer,
    Path((id, index)): Path<(String, usize)>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let a = state.app.message_attachment(&actor, id, index).await?;
    Ok(serve(&a.meta.filename, &a.meta.content_type, a.bytes))
}

/// An uploaded file (the uploader's own, or one sent with a message the viewer may see),
/// served like an attachment.
async fn file(
    State(state): State<WebState>,
    Viewer(actor): Viewer,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = fd_app::domain::text::parse_id(&id)
        .ok_or_else(|| ApiError::not_found(format!("file {id} not found")))?;
    let d = state.app.file_download(&actor, id).await?;
    Ok(serve(&d.file.name, &d.file.content_type, d.bytes))
}

fn serve(filename: &str, content_type: &str, bytes: Vec<u8>) -> Response {
    let inline = INLINE_TYPES.contains(&content_type);
    let content_type = if inline || DOWNLOAD_TYPES.contains(&content_type) {
        content_type.to_string()
    } else {
        "application/octet-stream".to_string()
    };
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    safe_headers(h);
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    let disp = disposition(if inline { "inline" } else { "attachment" }, filename);
    if let Ok(v) = HeaderValue::from_str(&disp) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    resp
}

#[derive(serde::Deserialize)]
struct HtmlQuery {
    /// `1` shows remote images (the agent asked).
    #[serde(default)]
    remote: Option<String>,
}

async fn html(
    State(state): State<WebState>,
    headers: axum::http::HeaderMap,
    Viewer(actor): Viewer,
    Path(id): Path<String>,
    Query(q): Query<HtmlQuery>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let allow_remote = matches!(q.remote.as_deref(), Some("1" | "true" | "yes"));
    let own_host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let page = state
        .app
        .message_html(&actor, id, allow_remote, own_host, |i| {
            format!("/mail/messages/{id}/attachments/{i}")
        })
        .await?;
    let mut resp = crate::ui::frame_document(&page.html).into_response();
    let h = resp.headers_mut();
    safe_headers(h);
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&page.csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    if let Ok(v) = HeaderValue::from_str(&page.blocked_remote.to_string()) {
        h.insert("x-frontdesk-blocked-remote-images", v);
    }
    Ok(resp)
}
