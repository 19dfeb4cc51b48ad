//! The reply editor's attachments (issue 15, item 7): the upload the script uses for
//! dropped and pasted files (`POST /files/upload`, JSON back), the body limit of the routes
//! that take files, and the chips a refused reply shows again so no upload is lost. Without
//! script the reply form's own file input carries the files (`editor::reply`).
//!
//! A widget-level module: it may use the app and the multipart reader, no screen.

use axum::Json;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use fd_app::domain::outgoing::{AttachmentLimits, human_bytes};
use fd_app::{Actor, App, AppError};

use super::{Post, UiResult, UiState};

/// Routes that take files accept bodies as large as the Files API's upload does; the
/// account's limits then refuse with their own words.
pub(crate) fn upload_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::max(crate::api::files::UPLOAD_BODY_BYTES)
}

/// An attached file as the editor shows it: a checked box (uncheck to remove; the script
/// turns it into a chip with a remove button).
#[derive(Debug, Clone)]
pub(crate) struct ChipVm {
    pub id: i64,
    pub name: String,
    pub size: String,
    pub href: String,
}

/// The limits in words, for the editor's help text.
pub(crate) fn limits_text(l: AttachmentLimits) -> String {
    format!(
        "Up to {} per file, {} per message.",
        human_bytes(l.max_file_bytes),
        human_bytes(l.max_message_bytes)
    )
}

/// Chips for the files of a refused reply (only the agent's own unsent ones).
pub(crate) async fn chips(app: &App, actor: &Actor, ids: &[i64]) -> Vec<ChipVm> {
    let mut out = Vec::new();
    for id in ids {
        if let Ok(f) = app.file(actor, *id).await
            && f.message_id.is_none()
            && !out.iter().any(|c: &ChipVm| c.id == f.id)
        {
            out.push(ChipVm {
                id: f.id,
                size: human_bytes(f.size),
                href: crate::attachments::file_href(f.id),
                name: f.name,
            });
        }
    }
    out
}

/// Uploads a post's files; the ids of those stored, or the first refusal (the files stored
/// before it are kept and returned with it, so the agent does not lose them).
pub(crate) async fn store_files(app: &App, post: &Post) -> (Vec<i64>, Option<AppError>) {
    let mut ids = Vec::new();
    for p in &post.files {
        let name = p.filename.clone().unwrap_or_default();
        match app
            .upload_file(&post.agent.actor, &name, p.content_type.as_deref(), &p.data)
            .await
        {
            Ok(f) => ids.push(f.id),
            Err(e) => return (ids, Some(e)),
        }
    }
    (ids, None)
}

/// `POST /files/upload`: files dropped or pasted into the editor, stored for the agent;
/// answers `{"files": [{id, name, size, href}]}` or `{"error": "…"}` (413 when too large).
pub(crate) async fn upload(State(state): State<UiState>, post: Post) -> UiResult {
    let (ids, err) = store_files(&state.app, &post).await;
    if let Some(e) = err {
        let api = crate::api::files::upload_error(e);
        return Ok((api.status, Json(serde_json::json!({"error": api.message}))).into_response());
    }
    if ids.is_empty() {
        return Ok((
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"error": "No file was sent."})),
        )
            .into_response());
    }
    let files: Vec<serde_json::Value> = chips(&state.app, &post.agent.actor, &ids)
        .await
        .into_iter()
        .map(|c| serde_json::json!({"id": c.id, "name": c.name, "size": c.size, "href": c.href}))
        .collect();
    Ok(Json(serde_json::json!({ "files": files })).into_response())
}
