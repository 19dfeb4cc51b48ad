//! Uploaded files (`files`, migration 0018), the attachment limits of `account_settings`
//! and signatures (`signatures`). Bytes are in `mail_blobs` (see `mail.rs`'s `put_blob`).
//! Checks live in fd-domain's `outgoing`; this module only reads and writes rows.

use fd_domain::outgoing::AttachmentLimits;
use fd_domain::*;

use crate::{StoreError, Tx, args};

/// An uploaded file's row (HubSpot's file object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRow {
    pub id: i64,
    pub owner: UserId,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub message_id: Option<MessageId>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub archived: bool,
}

const COLUMNS: &str = "id, owner_user_id, name, content_type, size, sha256, message_id, created_at, \
                       updated_at, archived";

fn file_from_row(r: &crate::Row) -> Result<FileRow, StoreError> {
    Ok(FileRow {
        id: r.i64("id")?,
        owner: UserId(r.i64("owner_user_id")?),
        name: r.string("name")?,
        content_type: r.string("content_type")?,
        size: r.i64("size")?,
        sha256: r.string("sha256")?,
        message_id: r.opt_i64("message_id")?.map(MessageId),
        created_at: r.i64("created_at")?,
        updated_at: r.i64("updated_at")?,
        archived: r.bool("archived")?,
    })
}

impl Tx {
    /// Records an upload whose bytes are already in `mail_blobs`.
    pub async fn insert_file(
        &mut self,
        owner: UserId,
        name: &str,
        content_type: &str,
        size: i64,
        sha256: &str,
        now: Millis,
    ) -> Result<FileRow, StoreError> {
        let sql = format!(
            "INSERT INTO files (owner_user_id, name, content_type, size, sha256, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {COLUMNS}"
        );
        let r = self
            .one(&sql, args![owner, name, content_type, size, sha256, now])
            .await?;
        file_from_row(&r)
    }

    pub async fn file(&mut self, id: i64) -> Result<Option<FileRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM files WHERE id = $1");
        match self.opt(&sql, args![id]).await? {
            Some(r) => Ok(Some(file_from_row(&r)?)),
            None => Ok(None),
        }
    }

    /// The files a message carries, in the order they were attached.
    pub async fn files_of_message(
        &mut self,
        message: MessageId,
    ) -> Result<Vec<FileRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM files WHERE message_id = $1 ORDER BY id");
        let rows = self.all(&sql, args![message]).await?;
        rows.iter().map(file_from_row).collect()
    }

    /// Marks a file as sent with `message` (from then on it is the message's attachment and
    /// is seen by whoever may see the message).
    pub async fn attach_file(
        &mut self,
        id: i64,
        message: MessageId,
        now: Millis,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE files SET message_id = $1, updated_at = $2 WHERE id = $3",
            args![message, now, id],
        )
        .await?;
        Ok(())
    }

    pub async fn attachment_limits(&mut self) -> Result<AttachmentLimits, StoreError> {
        let r = self
            .one(
                "SELECT max_attachment_bytes, max_message_attachments_bytes FROM account_settings WHERE id = 1",
                args![],
            )
            .await?;
        Ok(AttachmentLimits {
            max_file_bytes: r.i64("max_attachment_bytes")?,
            max_message_bytes: r.i64("max_message_attachments_bytes")?,
        })
    }

    pub async fn set_attachment_limits(
        &mut self,
        l: AttachmentLimits,
        now: Millis,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE account_settings SET max_attachment_bytes = $1, max_message_attachments_bytes = $2, \
             updated_at = $3 WHERE id = 1",
            args![l.max_file_bytes, l.max_message_bytes, now],
        )
        .await?;
        Ok(())
    }

    /// An agent's signature (`None`: none set).
    pub async fn user_signature(&mut self, user: UserId) -> Result<Option<String>, StoreError> {
        match self
            .opt(
                "SELECT body FROM signatures WHERE user_id = $1",
                args![user],
            )
            .await?
        {
            Some(r) => Ok(Some(r.string("body")?)),
            None => Ok(None),
        }
    }

    /// A team address's signature (`None`: none set).
    pub async fn address_signature(&mut self, address: &str) -> Result<Option<String>, StoreError> {
        match self
            .opt(
                "SELECT body FROM signatures WHERE address = $1",
                args![address.to_lowercase()],
            )
            .await?
        {
            Some(r) => Ok(Some(r.string("body")?)),
            None => Ok(None),
        }
    }

    /// Sets (or, blank, removes) an agent's signature.
    pub async fn set_user_signature(
        &mut self,
        user: UserId,
        body: &str,
        now: Millis,
    ) -> Result<(), StoreError> {
        self.exec("DELETE FROM signatures WHERE user_id = $1", args![user])
            .await?;
        if !body.trim().is_empty() {
            self.exec(
                "INSERT INTO signatures (user_id, body, updated_at) VALUES ($1, $2, $3)",
                args![user, body, now],
            )
            .await?;
        }
        Ok(())
    }

    /// Sets (or, blank, removes) a team address's signature.
    pub async fn set_address_signature(
        &mut self,
        address: &str,
        body: &str,
        now: Millis,
    ) -> Result<(), StoreError> {
        let address = address.to_lowercase();
        self.exec(
            "DELETE FROM signatures WHERE address = $1",
            args![address.as_str()],
        )
        .await?;
        if !body.trim().is_empty() {
            self.exec(
                "INSERT INTO signatures (address, body, updated_at) VALUES ($1, $2, $3)",
                args![address.as_str(), body, now],
            )
            .await?;
        }
        Ok(())
    }
}
