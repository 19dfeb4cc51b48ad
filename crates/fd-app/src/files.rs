//! Outgoing attachments and what an agent's reply starts with (issue 15, items 7 and 8):
//! uploads (the UI's picker, drop and paste, and the Files API), who may read a file, the
//! account's attachment limits, signatures, and template variables filled for a ticket.
//!
//! The rules are fd-domain's `outgoing`; a reply's files are checked and bound in the reply's
//! own transaction through [`attachments_for_reply`] (called by `conversations.rs`, which
//! this module does not import).

use fd_domain::entities::{AdminObject, AttachmentMeta};
use fd_domain::outgoing::{self, AttachCandidate, AttachmentLimits, VariableValues};
use fd_domain::{MessageId, TicketId, UserId};
use fd_store::{FileRow, Tx};

use crate::{Actor, App, AppError};

/// A file with its bytes, for a download.
#[derive(Debug, Clone)]
pub struct FileDownload {
    pub file: FileRow,
    pub bytes: Vec<u8>,
}

/// Loads and checks the files a reply attaches (HD-09: the sender's own, unsent; the
/// account's limits), in the reply's transaction; returns their metadata for the message.
pub(crate) async fn attachments_for_reply(
    tx: &mut Tx,
    sender: UserId,
    ids: &[i64],
) -> Result<Vec<(i64, AttachmentMeta)>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut unique = ids.to_vec();
    unique.sort_unstable();
    unique.dedup();
    let mut rows = Vec::new();
    for id in &unique {
        match tx.file(*id).await? {
            Some(f) if !f.archived => rows.push(f),
            _ => {
                return Err(AppError::invalid(
                    "attachments",
                    format!("file {id} not found"),
                ));
            }
        }
    }
    let limits = tx.attachment_limits().await?;
    let candidates: Vec<AttachCandidate> = rows
        .iter()
        .map(|f| AttachCandidate {
            id: f.id,
            name: f.name.clone(),
            size: f.size,
            owner: f.owner,
            attached: f.message_id.is_some(),
        })
        .collect();
    outgoing::check_attach(sender, &candidates, limits)?;
    Ok(rows
        .into_iter()
        .map(|f| {
            (
                f.id,
                AttachmentMeta {
                    filename: f.name,
                    content_type: f.content_type,
                    size: f.size,
                    sha256: f.sha256,
                    content_id: None,
                },
            )
        })
        .collect())
}

/// Binds checked files to the message that carries them.
pub(crate) async fn bind_attachments(
    tx: &mut Tx,
    files: &[(i64, AttachmentMeta)],
    message: MessageId,
    now: i64,
) -> Result<(), AppError> {
    for (id, _) in files {
        tx.attach_file(*id, message, now).await?;
    }
    Ok(())
}

/// A type as the upload said, or guessed from the name's extension.
fn content_type_of(name: &str, given: Option<&str>) -> String {
    if let Some(g) = given
        .map(str::trim)
        .filter(|g| !g.is_empty() && g.contains('/'))
    {
        return g.to_ascii_lowercase();
    }
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "txt" | "log" => "text/plain",
        "csv" => "text/csv",
        "zip" => "application/zip",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "application/octet-stream",
    }
    .to_string()
}

impl App {
    /// Item 7: stores an upload (bytes in `mail_blobs`), owned by the uploader until a reply
    /// carries it. Refused when empty, nameless or over the per-file limit.
    pub async fn upload_file(
        &self,
        actor: &Actor,
        name: &str,
        content_type: Option<&str>,
        bytes: &[u8],
    ) -> Result<FileRow, AppError> {
        let user = actor.require_user()?;
        actor.require_ticket_access()?;
        let name = name.trim();
        let limits = self.attachment_limits().await?;
        outgoing::check_upload(name, bytes.len() as i64, limits)?;
        let sha = fd_mail::sha256_hex(bytes);
        let ct = content_type_of(name, content_type);
        let now = self.now();
        let mut tx = self.db().write().await?;
        tx.put_blob(&sha, bytes, now).await?;
        let f = tx
            .insert_file(user, name, &ct, bytes.len() as i64, &sha, now)
            .await?;
        tx.commit().await?;
        Ok(f)
    }

    /// A file the actor may see: their own upload, or one sent with a message they may see
    /// (HD-09); anyone else's is not found.
    pub async fn file(&self, actor: &Actor, id: i64) -> Result<FileRow, AppError> {
        let mut tx = self.db().read().await?;
        let f = visible_file(&mut tx, actor, id).await?;
        tx.commit().await?;
        Ok(f)
    }

    /// [`App::file`] with its bytes.
    pub async fn file_download(&self, actor: &Actor, id: i64) -> Result<FileDownload, AppError> {
        let mut tx = self.db().read().await?;
        let file = visible_file(&mut tx, actor, id).await?;
        let bytes = tx
            .blob(&file.sha256)
            .await?
            .ok_or_else(|| AppError::not_found("file", id))?;
        tx.commit().await?;
        Ok(FileDownload { file, bytes })
    }

    /// The account's attachment limits.
    pub async fn attachment_limits(&self) -> Result<AttachmentLimits, AppError> {
        let mut tx = self.db().read().await?;
        let l = tx.attachment_limits().await?;
        tx.commit().await?;
        Ok(l)
    }

    /// Settings → Account: the attachment limits (administrators).
    pub async fn set_attachment_limits(
        &self,
        actor: &Actor,
        limits: AttachmentLimits,
    ) -> Result<(), AppError> {
        actor.require_admin("changing the attachment limits")?;
        let l = outgoing::check_limits(limits)?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        tx.set_attachment_limits(l, now).await?;
        self.audit(
            &mut tx,
            actor,
            AdminObject::Settings,
            1,
            "changed",
            Some("attachment_limits"),
            Some(format!("{} / {}", l.max_file_bytes, l.max_message_bytes)),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The actor's own signature (empty: none).
    pub async fn my_signature(&self, actor: &Actor) -> Result<String, AppError> {
        let user = actor.require_user()?;
        let mut tx = self.db().read().await?;
        let s = tx.user_signature(user).await?;
        tx.commit().await?;
        Ok(s.unwrap_or_default())
    }

    /// Item 8: the actor's signature (profile page); variables are checked (HD-16).
    pub async fn set_my_signature(&self, actor: &Actor, body: &str) -> Result<(), AppError> {
        let user = actor.require_user()?;
        let body = check_signature(body)?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        tx.set_user_signature(user, &body, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A team address's signature (empty: none).
    pub async fn address_signature(&self, address: &str) -> Result<String, AppError> {
        let mut tx = self.db().read().await?;
        let s = tx.address_signature(address).await?;
        tx.commit().await?;
        Ok(s.unwrap_or_default())
    }

    /// Item 8: a connected address's signature (administrators, address settings).
    pub async fn set_address_signature(
        &self,
        actor: &Actor,
        address: &str,
        body: &str,
    ) -> Result<(), AppError> {
        actor.require_admin("changing an address's signature")?;
        let body = check_signature(body)?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let connected = tx
            .all_team_addresses()
            .await?
            .iter()
            .any(|a| a.address.eq_ignore_ascii_case(address.trim()));
        if !connected {
            return Err(AppError::not_found("email address", address.trim()));
        }
        tx.set_address_signature(address.trim(), &body, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Item 8: the signature a reply from `from` starts with — the address's, else the
    /// agent's — with its variables filled for `ticket`; empty when there is none.
    pub async fn reply_signature(
        &self,
        actor: &Actor,
        from: Option<&str>,
        ticket: Option<TicketId>,
    ) -> Result<String, AppError> {
        let user = actor.require_user()?;
        let mut tx = self.db().read().await?;
        let address = match from {
            Some(a) => tx.address_signature(a).await?,
            None => None,
        };
        let mine = tx.user_signature(user).await?;
        let chosen = outgoing::reply_signature(address.as_deref(), mine.as_deref())
            .unwrap_or("")
            .to_string();
        let values = variable_values(&mut tx, actor, ticket).await?;
        tx.commit().await?;
        Ok(outgoing::fill_variables(&chosen, &values, str::to_string))
    }

    /// HD-16: `text` with its variables filled for `ticket` (as seen by the actor; one they
    /// may not see fills nothing from it). `html` escapes the values for rich text.
    pub async fn fill_variables(
        &self,
        actor: &Actor,
        ticket: Option<TicketId>,
        texts: &[&str],
        html: bool,
    ) -> Result<Vec<String>, AppError> {
        actor.require_ticket_access()?;
        let mut tx = self.db().read().await?;
        let values = variable_values(&mut tx, actor, ticket).await?;
        tx.commit().await?;
        Ok(texts
            .iter()
            .map(|t| {
                if html {
                    outgoing::fill_variables(t, &values, escape_html)
                } else {
                    outgoing::fill_variables(t, &values, str::to_string)
                }
            })
            .collect())
    }
}

fn check_signature(body: &str) -> Result<String, AppError> {
    let body = body.replace("\r\n", "\n");
    if body.chars().count() > 4000 {
        return Err(AppError::invalid_as(
            "signature",
            fd_domain::ErrorCode::TooLarge,
            "a signature has at most 4,000 characters",
        ));
    }
    outgoing::check_variables("signature", &body)?;
    Ok(body.trim_end().to_string())
}

pub(crate) fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

async fn visible_file(tx: &mut Tx, actor: &Actor, id: i64) -> Result<FileRow, AppError> {
    let f = tx
        .file(id)
        .await?
        .ok_or_else(|| AppError::not_found("file", id))?;
    if actor.user_id() == Some(f.owner) {
        return Ok(f);
    }
    if let Some(m) = f.message_id
        && actor.require_ticket_access().is_ok()
        && tx.message(&actor.scope(), m).await?.is_some()
    {
        return Ok(f);
    }
    Err(AppError::not_found("file", id))
}

async fn variable_values(
    tx: &mut Tx,
    actor: &Actor,
    ticket: Option<TicketId>,
) -> Result<VariableValues, AppError> {
    let mut v = VariableValues::default();
    if let Some(u) = actor.user_id()
        && let Some(user) = tx.user(u).await?
    {
        v.agent_firstname = outgoing::first_name(&user.name);
        v.agent_name = Some(user.name);
    }
    if let Some(t) = ticket
        && let Some(ticket) = tx.ticket(&actor.scope(), t).await?
    {
        v.ticket_id = Some(ticket.id.to_string());
        v.ticket_subject = Some(ticket.subject.clone());
        if let Some((_, c)) = tx
            .contacts_of_tickets(&[ticket.id])
            .await?
            .into_iter()
            .next()
        {
            v.contact_firstname = c.firstname;
            v.contact_lastname = c.lastname;
            v.contact_email = c.email;
            v.company_name = c.company;
        }
    }
    Ok(v)
}
