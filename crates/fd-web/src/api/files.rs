//! Files v3 (issue 15, item 7): upload a file to send with a message
//! (`POST /files/v3/files`, multipart with `file`, `fileName` and `options`) and read its
//! object back (`GET /files/v3/files/{fileId}`), in HubSpot's file shape. The object's `url`
//! is the download at `/mail/files/{id}` (attachments.rs), which takes the same bearer token
//! or the web UI's session. Until a message carries it a file is its uploader's alone.
//!
//! The use cases (limits, ownership) are fd-app's; this module only translates the wire.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use fd_app::AppError;
use fd_app::domain::ErrorCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Auth, Time, parse_id};
use crate::{ApiError, WebState};

/// The upload route takes bodies up to this (the largest per-file limit an administrator
/// may set, plus room for the multipart framing); the account's own limit then decides.
pub(crate) const UPLOAD_BODY_BYTES: usize =
    fd_app::domain::outgoing::MAX_CONFIGURABLE_BYTES as usize + 64 * 1024;

pub(super) fn routes() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(upload))
        .routes(routes!(read))
        .layer(axum::extract::DefaultBodyLimit::max(UPLOAD_BODY_BYTES))
}

/// HubSpot's file object.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FileObject {
    id: String,
    /// The name without its extension, as HubSpot keeps it
    name: String,
    /// The extension, lower case, without the dot (empty when there is none)
    extension: String,
    /// `IMG`, `DOCUMENT`, `AUDIO`, `MOVIE`, `OTHER`
    #[serde(rename = "type")]
    kind: &'static str,
    size: i64,
    /// Download address: needs the bearer token or a signed-in session
    url: String,
    /// Always `PRIVATE`: help desk files are never public, whatever `options.access` asked
    access: &'static str,
    /// The MIME type
    encoding: String,
    created_at: Time,
    updated_at: Time,
    archived: bool,
}

fn split_name(full: &str) -> (String, String) {
    match full.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() && ext.len() <= 16 => {
            (stem.to_string(), ext.to_ascii_lowercase())
        }
        _ => (full.to_string(), String::new()),
    }
}

fn kind_of(content_type: &str, ext: &str) -> &'static str {
    let major = content_type.split('/').next().unwrap_or("");
    match major {
        "image" => "IMG",
        "audio" => "AUDIO",
        "video" => "MOVIE",
        _ if matches!(
            ext,
            "pdf"
                | "doc"
                | "docx"
                | "xls"
                | "xlsx"
                | "ppt"
                | "pptx"
                | "txt"
                | "csv"
                | "odt"
                | "ods"
        ) || major == "text" =>
        {
            "DOCUMENT"
        }
        _ => "OTHER",
    }
}

/// The download address as the client reached us (absolute when the request said its host).
fn file_url(headers: &HeaderMap, id: i64) -> String {
    let path = crate::attachments::file_href(id);
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        });
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|p| *p == "https" || *p == "http")
        .unwrap_or("http");
    match host {
        Some(h) => format!("{proto}://{h}{path}"),
        None => path,
    }
}

fn object(f: fd_app::FileRow, headers: &HeaderMap) -> FileObject {
    let (name, extension) = split_name(&f.name);
    FileObject {
        id: f.id.to_string(),
        kind: kind_of(&f.content_type, &extension),
        url: file_url(headers, f.id),
        name,
        extension,
        size: f.size,
        access: "PRIVATE",
        encoding: f.content_type,
        created_at: Time::at(f.created_at),
        updated_at: Time::at(f.updated_at),
        archived: f.archived,
    }
}

/// A size refusal is 413 with the rule's words; anything else maps as usual.
pub(crate) fn upload_error(e: AppError) -> ApiError {
    let too_large = matches!(&e, AppError::Domain(d) if d.codes().contains(&ErrorCode::TooLarge));
    let mut err = ApiError::from(e);
    if too_large {
        err.status = StatusCode::PAYLOAD_TOO_LARGE;
        err.category = "PAYLOAD_TOO_LARGE";
    }
    err
}

const ACCESS: &[&str] = &[
    "PUBLIC_INDEXABLE",
    "PUBLIC_NOT_INDEXABLE",
    "HIDDEN_INDEXABLE",
    "HIDDEN_NOT_INDEXABLE",
    "HIDDEN_PRIVATE",
    "PRIVATE",
];

/// The multipart upload as documented (the body is read by hand, see `multipart.rs`).
#[derive(ToSchema)]
#[allow(dead_code)]
struct UploadForm {
    /// The file's bytes
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// Its name (else the file part's own name)
    #[schema(value_type = Option<String>)]
    file_name: Option<String>,
    /// JSON such as `{"access": "PRIVATE"}`; files are always kept private
    #[schema(value_type = Option<String>)]
    options: Option<String>,
}

#[utoipa::path(
    post,
    path = "/files/v3/files",
    operation_id = "uploadFile",
    tag = "files",
    summary = "Upload a file to attach to a message (multipart: file, fileName, options)",
    request_body(content = inline(UploadForm), content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "created", body = FileObject),
        (status = 413, description = "over the account's per-file limit", body = crate::api::openapi::ErrorBody),
    ),
)]
async fn upload(
    State(s): State<WebState>,
    Auth(actor): Auth,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<FileObject>), ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let boundary = crate::multipart::boundary(ct).ok_or_else(|| {
        ApiError::validation("the upload must be multipart/form-data with a `file` part")
    })?;
    let parts = crate::multipart::parse(&boundary, body)
        .await
        .map_err(ApiError::validation)?;
    let file = parts
        .iter()
        .find(|p| p.name == "file")
        .ok_or_else(|| ApiError::validation("Missing required field: file"))?;
    if let Some(o) = parts.iter().find(|p| p.name == "options") {
        let v: serde_json::Value = serde_json::from_slice(&o.data)
            .map_err(|e| ApiError::validation(format!("options is not JSON: {e}")))?;
        if let Some(a) = v.get("access") {
            let ok = a.as_str().is_some_and(|a| ACCESS.contains(&a));
            if !ok {
                return Err(ApiError::validation(format!(
                    "options.access must be one of {}",
                    ACCESS.join(", ")
                )));
            }
        }
    }
    let name = parts
        .iter()
        .find(|p| p.name == "fileName")
        .map(|p| p.text())
        .filter(|n| !n.trim().is_empty())
        .or_else(|| file.filename.clone())
        .unwrap_or_default();
    let f = s
        .app
        .upload_file(&actor, &name, file.content_type.as_deref(), &file.data)
        .await
        .map_err(upload_error)?;
    Ok((StatusCode::CREATED, Json(object(f, &headers))))
}

#[utoipa::path(
    get,
    path = "/files/v3/files/{fileId}",
    operation_id = "getFile",
    tag = "files",
    summary = "A file: the token's own upload, or one sent with a message it may see",
    params(("fileId" = String, Path, pattern = "^[0-9]{1,12}$")),
    responses((status = 200, description = "success", body = FileObject)),
)]
async fn read(
    State(s): State<WebState>,
    Auth(actor): Auth,
    headers: HeaderMap,
    Path(file_id): Path<String>,
) -> Result<Json<FileObject>, ApiError> {
    let id = parse_id("file", &file_id)?;
    let f = s.app.file(&actor, id).await?;
    Ok(Json(object(f, &headers)))
}
