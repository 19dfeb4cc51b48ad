//! Storage of the email channel: raw inbound mail (stored before parsing), inbound message
//! keys (idempotent ingestion), per-message mail metadata, reply tokens, content-addressed
//! attachment blobs, acknowledgement settings and rate limits, IMAP checkpoints.

use fd_domain::*;

use crate::scope::push_conversation_child_scope;
use crate::{Arg, Row, Sql, StoreError, Tx, args};

/// A message as it arrived, before parsing.
#[derive(Debug, Clone)]
pub struct NewRawMail<'a> {
    /// `smtp`, `mailgate` or `imap`.
    pub source: &'a str,
    pub source_detail: String,
    pub envelope_from: Option<String>,
    pub recipients: Vec<String>,
    pub size: i64,
    pub truncated: bool,
    pub sha256: String,
    pub content: &'a [u8],
    pub received_at: Millis,
}

/// A stored raw message (without its bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMail {
    pub id: i64,
    pub source: String,
    pub source_detail: String,
    pub envelope_from: Option<String>,
    pub recipients: Vec<String>,
    pub size: i64,
    pub truncated: bool,
    pub sha256: String,
    pub status: String,
    pub outcome: Option<String>,
    pub detail: Option<String>,
    pub message_id_header: Option<String>,
    pub conversation_id: Option<ConversationId>,
    pub message_id: Option<MessageId>,
    pub attempts: i64,
    pub received_at: Millis,
    pub processed_at: Option<Millis>,
}

const RAW_COLUMNS: &str = "id, source, source_detail, envelope_from, recipients, size, truncated, sha256, status, \
    outcome, detail, message_id_header, conversation_id, message_id, attempts, received_at, processed_at";

impl RawMail {
    fn from_row(r: &Row) -> Result<Self, StoreError> {
        Ok(RawMail {
            id: r.i64("id")?,
            source: r.string("source")?,
            source_detail: r.string("source_detail")?,
            envelope_from: r.opt_string("envelope_from")?,
            recipients: crate::error::decode(serde_json::from_str(&r.string("recipients")?))?,
            size: r.i64("size")?,
            truncated: r.bool("truncated")?,
            sha256: r.string("sha256")?,
            status: r.string("status")?,
            outcome: r.opt_string("outcome")?,
            detail: r.opt_string("detail")?,
            message_id_header: r.opt_string("message_id_header")?,
            conversation_id: r.opt_i64("conversation_id")?.map(ConversationId),
            message_id: r.opt_i64("message_id")?.map(MessageId),
            attempts: r.i64("attempts")?,
            received_at: r.i64("received_at")?,
            processed_at: r.opt_i64("processed_at")?,
        })
    }
}

/// How processing a raw message ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMailOutcome {
    /// `done`, `ignored` or `failed`.
    pub status: &'static str,
    /// `ticket_created`, `threaded`, `duplicate`, `bounce`, `auto_reply`, `unparseable`…
    pub outcome: String,
    pub detail: Option<String>,
    pub message_id_header: Option<String>,
    pub conversation_id: Option<ConversationId>,
    pub message_id: Option<MessageId>,
}

/// Mail-specific facts about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageMailMeta {
    pub message_id: MessageId,
    pub raw_mail_id: Option<i64>,
    /// Which HD-07 signal placed an inbound message: `new`, `reply_address`, `references`,
    /// `subject_tag`; for outgoing mail `outgoing`.
    pub thread_signal: Option<String>,
    pub quoted_text: Option<String>,
    pub signature: Option<String>,
    pub notices: Vec<String>,
    pub automation: Option<String>,
    pub auto_submitted: bool,
    pub blocked_remote_images: i64,
}

/// A message found by its Message-ID header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderMatch {
    pub message_id: MessageId,
    pub conversation_id: ConversationId,
    pub direction: Direction,
    pub header: String,
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Internal(e.to_string()))
}

impl Tx {
    /// Stores a raw message; returns its id.
    pub async fn insert_raw_mail(&mut self, m: &NewRawMail<'_>) -> Result<i64, StoreError> {
        const SQL: &str = "INSERT INTO raw_mail (source, source_detail, envelope_from, recipients, size, truncated, sha256, \
             content, status, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9) RETURNING id";
        let recipients = json(&m.recipients)?;
        let row = self
            .one(
                SQL,
                args![
                    m.source,
                    &m.source_detail,
                    &m.envelope_from,
                    recipients,
                    m.size,
                    m.truncated,
                    &m.sha256,
                    Arg::Bytes(m.content.to_vec()),
                    m.received_at,
                ],
            )
            .await?;
        let id = row.i64("id")?;
        Ok(id)
    }

    pub async fn raw_mail(&mut self, id: i64) -> Result<Option<RawMail>, StoreError> {
        let sql = format!("SELECT {RAW_COLUMNS} FROM raw_mail WHERE id = $1");
        match self.opt(&sql, args![id]).await? {
            Some(r) => Ok(Some(RawMail::from_row(&r)?)),
            None => Ok(None),
        }
    }

    pub async fn raw_mail_content(&mut self, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        match self
            .opt("SELECT content FROM raw_mail WHERE id = $1", args![id])
            .await?
        {
            Some(r) => Ok(Some(r.bytes("content")?)),
            None => Ok(None),
        }
    }

    /// Raw mail by status (`None`: all), newest first.
    pub async fn raw_mail_list(
        &mut self,
        status: Option<&str>,
        limit: i64,
    ) -> Result<Vec<RawMail>, StoreError> {
        let rows = match status {
            Some(s) => {
                let sql = format!(
                    "SELECT {RAW_COLUMNS} FROM raw_mail WHERE status = $1 ORDER BY id DESC LIMIT $2"
                );
                self.all(&sql, args![s, limit]).await?
            }
            None => {
                let sql = format!("SELECT {RAW_COLUMNS} FROM raw_mail ORDER BY id DESC LIMIT $1");
                self.all(&sql, args![limit]).await?
            }
        };
        rows.iter().map(RawMail::from_row).collect()
    }

    /// How many raw messages ended with `outcome`.
    pub async fn count_raw_mail_outcome(&mut self, outcome: &str) -> Result<i64, StoreError> {
        self.one(
            "SELECT COUNT(*) AS n FROM raw_mail WHERE outcome = $1",
            args![outcome],
        )
        .await?
        .i64("n")
    }

    /// Counts an attempt at each of `ids` that is still pending and returns those; the
    /// others are gone or were finished by another worker meanwhile (an expired lease).
    pub async fn raw_mail_attempts(&mut self, ids: &[i64]) -> Result<Vec<i64>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = crate::Sql::new(
            "UPDATE raw_mail SET attempts = attempts + 1 WHERE status = 'pending' AND id IN (",
        );
        sql.bind_list(ids.iter().copied());
        sql.push(") RETURNING id");
        self.all_sql(sql)
            .await?
            .iter()
            .map(|r| r.i64("id"))
            .collect()
    }

    /// Several raw messages with their content, in one query (the ingest job's batch).
    pub async fn raw_mails_with_content(
        &mut self,
        ids: &[i64],
    ) -> Result<Vec<(RawMail, Vec<u8>)>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = crate::Sql::new(&format!(
            "SELECT {RAW_COLUMNS}, content FROM raw_mail WHERE id IN ("
        ));
        sql.bind_list(ids.iter().copied());
        sql.push(") ORDER BY id");
        let rows = self.all_sql(sql).await?;
        rows.iter()
            .map(|r| Ok((RawMail::from_row(r)?, r.bytes("content")?)))
            .collect()
    }

    pub async fn finish_raw_mail(
        &mut self,
        id: i64,
        o: &RawMailOutcome,
        now: Millis,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE raw_mail SET status = $2, outcome = $3, detail = $4, message_id_header = $5, conversation_id = $6, \
             message_id = $7, processed_at = $8 WHERE id = $1",
            args![
                id,
                o.status,
                o.outcome.as_str(),
                o.detail.clone(),
                o.message_id_header.clone(),
                o.conversation_id,
                o.message_id,
                now
            ],
        )
        .await?;
        Ok(())
    }

    /// Claims an inbound message key for `raw_mail_id`. Returns the existing owner (raw mail
    /// id, message id) when the key was already taken.
    pub async fn claim_inbound_key(
        &mut self,
        key: &str,
        raw_mail_id: i64,
        now: Millis,
    ) -> Result<Option<(i64, Option<MessageId>)>, StoreError> {
        let inserted = self
            .exec(
                "INSERT INTO mail_inbound_keys (message_key, raw_mail_id, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (message_key) DO NOTHING",
                args![key, raw_mail_id, now],
            )
            .await?;
        if inserted == 1 {
            return Ok(None);
        }
        let r = self
            .one(
                "SELECT raw_mail_id, message_id FROM mail_inbound_keys WHERE message_key = $1",
                args![key],
            )
            .await?;
        Ok(Some((
            r.i64("raw_mail_id")?,
            r.opt_i64("message_id")?.map(MessageId),
        )))
    }

    pub async fn set_inbound_key_message(
        &mut self,
        key: &str,
        message: MessageId,
        conversation: ConversationId,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE mail_inbound_keys SET message_id = $2, conversation_id = $3 WHERE message_key = $1",
            args![key, message, conversation],
        )
        .await?;
        Ok(())
    }

    /// The conversations that keys of `mail_inbound_keys` were recorded for (keys without a
    /// conversation yet are left out): `(key, conversation)`.
    pub async fn inbound_key_conversations(
        &mut self,
        keys: &[String],
    ) -> Result<Vec<(String, ConversationId)>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = crate::Sql::new(
            "SELECT message_key, conversation_id FROM mail_inbound_keys WHERE message_key IN (",
        );
        sql.bind_list(keys.iter().map(String::as_str));
        sql.push(") AND conversation_id IS NOT NULL");
        let rows = self.all_sql(sql).await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.string("message_key")?,
                    ConversationId(r.i64("conversation_id")?),
                ))
            })
            .collect()
    }

    /// Stores bytes under their SHA-256 unless already there.
    pub async fn put_blob(
        &mut self,
        sha256: &str,
        content: &[u8],
        now: Millis,
    ) -> Result<(), StoreError> {
        const SQL: &str = "INSERT INTO mail_blobs (sha256, size, content, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (sha256) DO NOTHING";
        let size = content.len() as i64;
        self.exec(SQL, args![sha256, size, Arg::Bytes(content.to_vec()), now])
            .await?;
        Ok(())
    }

    pub async fn blob(&mut self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self
            .opt(
                "SELECT content FROM mail_blobs WHERE sha256 = $1",
                args![sha256],
            )
            .await?
        {
            Some(r) => Ok(Some(r.bytes("content")?)),
            None => Ok(None),
        }
    }

    pub async fn blob_count(&mut self) -> Result<i64, StoreError> {
        self.one("SELECT COUNT(*) AS n FROM mail_blobs", args![])
            .await?
            .i64("n")
    }

    pub async fn upsert_message_meta(&mut self, m: &MessageMailMeta) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO mail_message_meta (message_id, raw_mail_id, thread_signal, quoted_text, signature, notices, \
             automation, auto_submitted, blocked_remote_images) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (message_id) DO UPDATE SET raw_mail_id = $2, thread_signal = $3, quoted_text = $4, \
             signature = $5, notices = $6, automation = $7, auto_submitted = $8, blocked_remote_images = $9",
            args![
                m.message_id,
                m.raw_mail_id,
                m.thread_signal.clone(),
                m.quoted_text.clone(),
                m.signature.clone(),
                json(&m.notices)?,
                m.automation.clone(),
                m.auto_submitted,
                m.blocked_remote_images
            ],
        )
        .await?;
        Ok(())
    }

    /// A message's mail metadata, when `scope` may see its conversation.
    pub async fn message_meta(
        &mut self,
        scope: &ViewerScope,
        id: MessageId,
    ) -> Result<Option<MessageMailMeta>, StoreError> {
        let mut sql = Sql::new(
            "SELECT k.message_id, k.raw_mail_id, k.thread_signal, k.quoted_text, k.signature, k.notices, \
             k.automation, k.auto_submitted, k.blocked_remote_images FROM mail_message_meta k \
             JOIN messages m ON m.id = k.message_id WHERE k.message_id = ",
        );
        sql.bind(id);
        push_conversation_child_scope(&mut sql, scope, "m.conversation_id");
        let Some(r) = self.opt_sql(sql).await? else {
            return Ok(None);
        };
        Ok(Some(MessageMailMeta {
            message_id: MessageId(r.i64("message_id")?),
            raw_mail_id: r.opt_i64("raw_mail_id")?,
            thread_signal: r.opt_string("thread_signal")?,
            quoted_text: r.opt_string("quoted_text")?,
            signature: r.opt_string("signature")?,
            notices: crate::error::decode(serde_json::from_str(&r.string("notices")?))?,
            automation: r.opt_string("automation")?,
            auto_submitted: r.bool("auto_submitted")?,
            blocked_remote_images: r.i64("blocked_remote_images")?,
        }))
    }

    /// What the agent's view needs from the mail metadata of a conversation's messages, for
    /// those that have any: remote images blocked ("Load remote images") and the notices
    /// parsing left for agents. One query per thread render.
    pub async fn thread_mail_meta(
        &mut self,
        scope: &ViewerScope,
        conversation: ConversationId,
    ) -> Result<Vec<(MessageId, i64, Vec<String>)>, StoreError> {
        let mut sql = Sql::new(
            "SELECT k.message_id, k.blocked_remote_images, k.notices FROM mail_message_meta k \
             JOIN messages m ON m.id = k.message_id \
             WHERE (k.blocked_remote_images > 0 OR k.notices <> '[]') AND m.conversation_id = ",
        );
        sql.bind(conversation);
        push_conversation_child_scope(&mut sql, scope, "m.conversation_id");
        let rows = self.all_sql(sql).await?;
        rows.iter()
            .map(|r| {
                Ok((
                    MessageId(r.i64("message_id")?),
                    r.i64("blocked_remote_images")?,
                    crate::error::decode(serde_json::from_str(&r.string("notices")?))?,
                ))
            })
            .collect()
    }

    /// The conversation's reply token, if one was issued.
    pub async fn reply_token_of(
        &mut self,
        conversation: ConversationId,
    ) -> Result<Option<String>, StoreError> {
        self.opt(
            "SELECT token FROM mail_reply_tokens WHERE conversation_id = $1 ORDER BY created_at LIMIT 1",
            args![conversation],
        )
        .await?
        .map(|r| r.string("token"))
        .transpose()
    }

    pub async fn insert_reply_token(
        &mut self,
        token: &str,
        conversation: ConversationId,
        now: Millis,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO mail_reply_tokens (token, conversation_id, created_at) VALUES ($1, $2, $3)",
            args![token, conversation, now],
        )
        .await?;
        Ok(())
    }

    pub async fn conversation_by_reply_token(
        &mut self,
        token: &str,
    ) -> Result<Option<ConversationId>, StoreError> {
        self.opt(
            "SELECT conversation_id FROM mail_reply_tokens WHERE token = $1",
            args![token],
        )
        .await?
        .map(|r| r.i64("conversation_id").map(ConversationId))
        .transpose()
    }

    /// Messages of channels answered by email (HD-15: email, web forms) whose Message-ID
    /// header is one of `headers`.
    pub async fn messages_by_header(
        &mut self,
        headers: &[String],
    ) -> Result<Vec<HeaderMatch>, StoreError> {
        if headers.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = crate::Sql::new(
            "SELECT id, conversation_id, direction, message_id_header FROM messages WHERE message_id_header IN (",
        );
        sql.bind_list(headers.iter().map(String::as_str));
        // Form and call conversations are answered by email too (HD-15), so their replies'
        // Message-IDs thread the customer's answers.
        sql.push(") AND channel IN (");
        sql.bind_list(
            Channel::ALL
                .iter()
                .filter(|c| fd_domain::engagements::hd_15_answered_by_email(**c))
                .map(|c| c.as_str()),
        );
        sql.push(") ORDER BY id");
        let rows = self.all_sql(sql).await?;
        rows.iter()
            .map(|r| {
                Ok(HeaderMatch {
                    message_id: MessageId(r.i64("id")?),
                    conversation_id: ConversationId(r.i64("conversation_id")?),
                    direction: crate::error::decode(r.string("direction")?.parse())?,
                    header: r.string("message_id_header")?,
                })
            })
            .collect()
    }

    /// Everyone a conversation has involved: its visitor or contact, and every sender and
    /// recipient of its messages (lower-cased addresses).
    pub async fn conversation_participants(
        &mut self,
        conversation: ConversationId,
    ) -> Result<Vec<String>, StoreError> {
        let mut out: Vec<String> = Vec::new();
        let mut add = |a: &str| {
            let a = a.trim().to_lowercase();
            if !a.is_empty() && !out.contains(&a) {
                out.push(a);
            }
        };
        // One round trip: the conversation's own addresses, then each message's.
        let rows = self
            .all(
                "SELECT c.visitor_email AS a, k.email AS b, CAST(NULL AS TEXT) AS recipients \
                 FROM conversations c LEFT JOIN contacts k ON k.id = c.contact_id WHERE c.id = $1 \
                 UNION ALL SELECT sender_address, NULL, recipients FROM messages WHERE conversation_id = $1",
                args![conversation],
            )
            .await?;
        for r in rows {
            for col in ["a", "b"] {
                if let Some(v) = r.opt_string(col)? {
                    add(&v);
                }
            }
            if let Some(json) = r.opt_string("recipients")? {
                let rec: crate::Recipients = crate::error::decode(serde_json::from_str(&json))?;
                for a in rec.to.iter().chain(&rec.cc).chain(&rec.bcc) {
                    add(a);
                }
            }
        }
        Ok(out)
    }

    /// A connected team address (lower-cased), with its team and workspace.
    pub async fn team_address(
        &mut self,
        address: &str,
    ) -> Result<Option<(TeamId, Workspace)>, StoreError> {
        match self
            .opt(
                "SELECT team_id, workspace FROM team_addresses WHERE address = $1",
                args![address],
            )
            .await?
        {
            Some(r) => Ok(Some((
                TeamId(r.i64("team_id")?),
                crate::error::decode(r.string("workspace")?.parse())?,
            ))),
            None => Ok(None),
        }
    }

    pub async fn set_message_mail_headers(
        &mut self,
        id: MessageId,
        message_id_header: &str,
        sender_address: &str,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE messages SET message_id_header = $2, sender_address = $3 WHERE id = $1",
            args![id, message_id_header, sender_address],
        )
        .await?;
        Ok(())
    }

    pub async fn auto_acknowledge(&mut self, address: &str) -> Result<bool, StoreError> {
        Ok(self
            .opt(
                "SELECT auto_acknowledge FROM mail_address_settings WHERE address = $1",
                args![address],
            )
            .await?
            .map(|r| r.bool("auto_acknowledge"))
            .transpose()?
            .unwrap_or(false))
    }

    pub async fn set_auto_acknowledge(
        &mut self,
        address: &str,
        on: bool,
        now: Millis,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO mail_address_settings (address, auto_acknowledge, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (address) DO UPDATE SET auto_acknowledge = $2, updated_at = $3",
            args![address, on, now],
        )
        .await?;
        Ok(())
    }

    pub async fn autoreply_last_sent(
        &mut self,
        address: &str,
    ) -> Result<Option<Millis>, StoreError> {
        self.opt(
            "SELECT last_sent_at FROM mail_autoreply_log WHERE address = $1",
            args![address],
        )
        .await?
        .map(|r| r.i64("last_sent_at"))
        .transpose()
    }

    pub async fn record_autoreply(&mut self, address: &str, now: Millis) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO mail_autoreply_log (address, last_sent_at) VALUES ($1, $2) \
             ON CONFLICT (address) DO UPDATE SET last_sent_at = $2",
            args![address, now],
        )
        .await?;
        Ok(())
    }

    pub async fn imap_checkpoint(
        &mut self,
        account: &str,
    ) -> Result<Option<(i64, i64)>, StoreError> {
        match self
            .opt(
                "SELECT uid_validity, last_uid FROM imap_checkpoints WHERE account = $1",
                args![account],
            )
            .await?
        {
            Some(r) => Ok(Some((r.i64("uid_validity")?, r.i64("last_uid")?))),
            None => Ok(None),
        }
    }

    /// Moves the checkpoint forward (never back within one UIDVALIDITY).
    pub async fn save_imap_checkpoint(
        &mut self,
        account: &str,
        uid_validity: i64,
        uid: i64,
        now: Millis,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO imap_checkpoints (account, uid_validity, last_uid, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account) DO UPDATE SET last_uid = CASE WHEN imap_checkpoints.uid_validity = $2 \
             AND imap_checkpoints.last_uid > $3 THEN imap_checkpoints.last_uid ELSE $3 END, uid_validity = $2, updated_at = $4",
            args![account, uid_validity, uid, now],
        )
        .await?;
        Ok(())
    }
}
