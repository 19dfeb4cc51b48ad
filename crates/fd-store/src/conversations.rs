//! Conversations (threads), their messages, comments and drafts.

use fd_domain::*;

use crate::records::CONVERSATION_COLUMNS;
use crate::records::{conversation_from_row, message_from_row};
pub(crate) use crate::scope::push_conversation_scope;
use crate::scope::{push_conversation_child_scope, push_ticket_scope};
use crate::{Comment, Conversation, Draft, Message, Recipients, Sql, StoreError, Tx, args};

#[derive(Debug, Clone, Default)]
pub struct ConversationListQuery {
    pub workspace: Option<Workspace>,
    pub status: Option<ConversationStatus>,
    pub owner: Option<Option<UserId>>,
    pub channel: Option<Channel>,
    pub trashed: bool,
    pub limit: i64,
    pub offset: i64,
}

/// A new message row.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub conversation_id: ConversationId,
    pub direction: Direction,
    pub channel: Channel,
    pub sender_user_id: Option<UserId>,
    pub sender_name: Option<String>,
    pub sender_address: Option<String>,
    pub recipients: Recipients,
    pub subject: Option<String>,
    pub text: String,
    pub html: Option<String>,
    pub attachments: Vec<crate::AttachmentMeta>,
    pub message_id_header: Option<String>,
    pub in_reply_to: Option<String>,
    pub references_header: Option<String>,
    pub reply_to_message_id: Option<MessageId>,
    pub status: DeliveryStatus,
    pub created_at: Millis,
}

const MESSAGE_COLUMNS: &str = "id, conversation_id, direction, channel, sender_user_id, sender_name, \
    sender_address, recipients, subject, text, html, attachments, message_id_header, in_reply_to, \
    references_header, reply_to_message_id, status, status_detail, created_at";

fn json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Internal(e.to_string()))
}

impl Tx {
    pub async fn insert_conversation(
        &mut self,
        c: &Conversation,
    ) -> Result<ConversationId, StoreError> {
        let r = self
            .one(
                "INSERT INTO conversations (channel, channel_account, workspace, status, owner_id, team_id, \
                 contact_id, visitor_name, visitor_email, subject, ticket_id, created_at, updated_at, \
                 last_message_at, closed_at, trashed_at, version) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 1) RETURNING id",
                args![
                    c.channel.as_str(),
                    c.channel_account.clone(),
                    c.workspace.as_str(),
                    c.status.as_str(),
                    c.owner_id,
                    c.team_id,
                    c.contact_id,
                    c.visitor_name.clone(),
                    c.visitor_email.clone(),
                    c.subject.clone(),
                    c.ticket_id,
                    c.created_at,
                    c.updated_at,
                    c.last_message_at,
                    c.closed_at,
                    c.trashed_at
                ],
            )
            .await?;
        Ok(ConversationId(r.i64("id")?))
    }

    /// Writes every column if the stored version is still `c.version`; bumps the version.
    pub async fn save_conversation(&mut self, c: &Conversation) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE conversations SET channel = $1, channel_account = $2, workspace = $3, status = $4, \
                 owner_id = $5, team_id = $6, contact_id = $7, visitor_name = $8, visitor_email = $9, \
                 subject = $10, ticket_id = $11, updated_at = $12, last_message_at = $13, closed_at = $14, \
                 trashed_at = $15, version = version + 1 WHERE id = $16 AND version = $17",
                args![
                    c.channel.as_str(),
                    c.channel_account.clone(),
                    c.workspace.as_str(),
                    c.status.as_str(),
                    c.owner_id,
                    c.team_id,
                    c.contact_id,
                    c.visitor_name.clone(),
                    c.visitor_email.clone(),
                    c.subject.clone(),
                    c.ticket_id,
                    c.updated_at,
                    c.last_message_at,
                    c.closed_at,
                    c.trashed_at,
                    c.id,
                    c.version
                ],
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn conversation(
        &mut self,
        scope: &ViewerScope,
        id: ConversationId,
    ) -> Result<Option<Conversation>, StoreError> {
        self.conversation_inner(scope, id, false).await
    }

    pub async fn conversation_for_update(
        &mut self,
        scope: &ViewerScope,
        id: ConversationId,
    ) -> Result<Option<Conversation>, StoreError> {
        self.conversation_inner(scope, id, true).await
    }

    /// Row-locks the ticket of conversation `id`, if it has one (the lock order is ticket
    /// before conversation). On SQLite a write transaction already holds the database's only
    /// write lock, so there is nothing to lock and no round trip is spent.
    pub async fn lock_ticket_of_conversation(
        &mut self,
        id: ConversationId,
    ) -> Result<(), StoreError> {
        if self.backend() == crate::Backend::Postgres {
            self.all(
                "SELECT t.id FROM conversations c JOIN tickets t ON t.id = c.ticket_id \
                 WHERE c.id = $1 FOR UPDATE OF t",
                args![id],
            )
            .await?;
        }
        Ok(())
    }

    async fn conversation_inner(
        &mut self,
        scope: &ViewerScope,
        id: ConversationId,
        lock: bool,
    ) -> Result<Option<Conversation>, StoreError> {
        let mut sql = Sql::new(&format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations c WHERE c.id = "
        ));
        sql.bind(id);
        push_conversation_scope(&mut sql, scope);
        if lock {
            sql.push(self.lock_rows());
        }
        match self.opt_sql(sql).await? {
            Some(r) => Ok(Some(conversation_from_row(&r)?)),
            None => Ok(None),
        }
    }

    pub async fn conversation_exists(&mut self, id: ConversationId) -> Result<bool, StoreError> {
        Ok(self
            .opt(
                "SELECT 1 AS one FROM conversations WHERE id = $1",
                args![id],
            )
            .await?
            .is_some())
    }

    /// The conversations of a ticket (trashed ones too when `include_trashed`) that `scope`
    /// sees: none when it may not see the ticket. Use cases acting for the system pass
    /// `ViewerScope::All`.
    pub async fn conversations_of_ticket(
        &mut self,
        scope: &ViewerScope,
        id: TicketId,
        include_trashed: bool,
    ) -> Result<Vec<Conversation>, StoreError> {
        let mut sql = Sql::new(&format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations c WHERE c.ticket_id = "
        ));
        sql.bind(id);
        if !include_trashed {
            sql.push(" AND c.trashed_at IS NULL");
        }
        push_conversation_scope(&mut sql, scope);
        sql.push(" ORDER BY c.id");
        let rows = self.all_sql(sql).await?;
        rows.iter().map(conversation_from_row).collect()
    }

    /// INB-03: a contact's other conversations, scoped by the viewer's ticket access.
    pub async fn conversations_of_contact(
        &mut self,
        scope: &ViewerScope,
        contact: ContactId,
        except: Option<ConversationId>,
        limit: i64,
    ) -> Result<Vec<Conversation>, StoreError> {
        let mut sql = Sql::new(&format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations c WHERE c.trashed_at IS NULL AND c.contact_id = "
        ));
        sql.bind(contact);
        if let Some(e) = except {
            sql.push(" AND c.id <> ").bind(e);
        }
        push_conversation_scope(&mut sql, scope);
        sql.push(" ORDER BY c.last_message_at DESC, c.id DESC LIMIT ")
            .bind(limit);
        let rows = self.all_sql(sql).await?;
        rows.iter().map(conversation_from_row).collect()
    }

    pub async fn list_conversations(
        &mut self,
        scope: &ViewerScope,
        q: &ConversationListQuery,
    ) -> Result<Vec<Conversation>, StoreError> {
        let mut sql = Sql::new(&format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations c WHERE 1 = 1"
        ));
        push_conversation_filter(&mut sql, q);
        push_conversation_scope(&mut sql, scope);
        sql.push(" ORDER BY c.last_message_at DESC, c.id DESC LIMIT ")
            .bind(if q.limit <= 0 { 50 } else { q.limit.min(1000) })
            .push(" OFFSET ")
            .bind(q.offset.max(0));
        let rows = self.all_sql(sql).await?;
        rows.iter().map(conversation_from_row).collect()
    }

    pub async fn count_conversations(
        &mut self,
        scope: &ViewerScope,
        q: &ConversationListQuery,
    ) -> Result<i64, StoreError> {
        let mut sql = Sql::new("SELECT COUNT(*) AS n FROM conversations c WHERE 1 = 1");
        push_conversation_filter(&mut sql, q);
        push_conversation_scope(&mut sql, scope);
        self.count_sql(sql).await
    }

    pub async fn insert_message(&mut self, m: &NewMessage) -> Result<MessageId, StoreError> {
        let r = self
            .one(
                "INSERT INTO messages (conversation_id, direction, channel, sender_user_id, sender_name, \
                 sender_address, recipients, subject, text, html, attachments, message_id_header, in_reply_to, \
                 references_header, reply_to_message_id, status, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id",
                args![
                    m.conversation_id,
                    m.direction.as_str(),
                    m.channel.as_str(),
                    m.sender_user_id,
                    m.sender_name.clone(),
                    m.sender_address.clone(),
                    json(&m.recipients)?,
                    m.subject.clone(),
                    m.text.as_str(),
                    m.html.clone(),
                    json(&m.attachments)?,
                    m.message_id_header.clone(),
                    m.in_reply_to.clone(),
                    m.references_header.clone(),
                    m.reply_to_message_id,
                    m.status.as_str(),
                    m.created_at
                ],
            )
            .await?;
        let id = MessageId(r.i64("id")?);
        self.note_change(
            fd_domain::webhooks::Change {
                object: fd_domain::webhooks::EventObject::Conversation,
                object_id: m.conversation_id.0,
                kind: fd_domain::webhooks::ChangeKind::NewMessage {
                    message_id: id.0,
                    comment: false,
                },
                actor: m.sender_user_id.map_or(ActorRef::System, ActorRef::User),
                at: m.created_at,
            },
            false,
        );
        Ok(id)
    }

    pub async fn set_message_status(
        &mut self,
        id: MessageId,
        status: DeliveryStatus,
        detail: Option<&str>,
    ) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE messages SET status = $2, status_detail = $3 WHERE id = $1",
                args![id, status.as_str(), detail],
            )
            .await?;
        Ok(n == 1)
    }

    /// A conversation's messages, oldest first, or `None` when `scope` may not see the
    /// conversation (or it does not exist). One query: the conversation row, scoped, left
    /// joined to its messages, so no caller can read them without the scope.
    pub async fn messages(
        &mut self,
        scope: &ViewerScope,
        conversation: ConversationId,
    ) -> Result<Option<Vec<Message>>, StoreError> {
        let columns: Vec<String> = MESSAGE_COLUMNS
            .split(',')
            .map(|c| format!("m.{}", c.trim()))
            .collect();
        let mut sql = Sql::new(&format!(
            "SELECT c.id AS visible_conversation, {} FROM conversations c \
             LEFT JOIN messages m ON m.conversation_id = c.id WHERE c.id = ",
            columns.join(", ")
        ));
        sql.bind(conversation);
        push_conversation_scope(&mut sql, scope);
        sql.push(" ORDER BY m.created_at, m.id");
        let rows = self.all_sql(sql).await?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            // The one row of a conversation without messages has NULL message columns.
            if r.opt_i64("id")?.is_some() {
                out.push(message_from_row(r)?);
            }
        }
        Ok(Some(out))
    }

    /// One message, when `scope` may see its conversation.
    pub async fn message(
        &mut self,
        scope: &ViewerScope,
        id: MessageId,
    ) -> Result<Option<Message>, StoreError> {
        let mut sql = Sql::new(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = "
        ));
        sql.bind(id);
        push_conversation_child_scope(&mut sql, scope, "messages.conversation_id");
        match self.opt_sql(sql).await? {
            Some(r) => Ok(Some(message_from_row(&r)?)),
            None => Ok(None),
        }
    }

    /// The newest message of a conversation the viewer may see (HD-14's default reply target).
    pub async fn latest_message(
        &mut self,
        scope: &ViewerScope,
        conversation: ConversationId,
    ) -> Result<Option<Message>, StoreError> {
        let mut sql = Sql::new(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = "
        ));
        sql.bind(conversation);
        push_conversation_child_scope(&mut sql, scope, "messages.conversation_id");
        sql.push(" ORDER BY created_at DESC, id DESC LIMIT 1");
        match self.opt_sql(sql).await? {
            Some(r) => Ok(Some(message_from_row(&r)?)),
            None => Ok(None),
        }
    }

    /// How many messages (of one direction) a conversation the viewer may see holds.
    pub async fn message_count(
        &mut self,
        scope: &ViewerScope,
        conversation: ConversationId,
        direction: Option<Direction>,
    ) -> Result<i64, StoreError> {
        let mut sql = Sql::new("SELECT COUNT(*) AS n FROM messages WHERE conversation_id = ");
        sql.bind(conversation);
        if let Some(d) = direction {
            sql.push(" AND direction = ").bind(d.as_str());
        }
        push_conversation_child_scope(&mut sql, scope, "messages.conversation_id");
        self.count_sql(sql).await
    }

    pub async fn insert_comment(
        &mut self,
        ticket: Option<TicketId>,
        conversation: Option<ConversationId>,
        author: Option<UserId>,
        body: &str,
        mentions: &[UserId],
        now: Millis,
    ) -> Result<CommentId, StoreError> {
        let r = self
            .one(
                "INSERT INTO comments (ticket_id, conversation_id, author_id, body, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
                args![ticket, conversation, author, body, now],
            )
            .await?;
        let id = CommentId(r.i64("id")?);
        for m in mentions {
            self.exec(
                "INSERT INTO comment_mentions (comment_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                args![id, *m],
            )
            .await?;
        }
        Ok(id)
    }

    /// Comments on a ticket or any of its conversations, oldest first; none when `scope`
    /// may not see the ticket.
    pub async fn comments_of_ticket(
        &mut self,
        scope: &ViewerScope,
        ticket: TicketId,
    ) -> Result<Vec<Comment>, StoreError> {
        let mut sql = Sql::new(
            "SELECT k.id, k.ticket_id, k.conversation_id, k.author_id, k.body, k.created_at \
             FROM comments k WHERE (k.ticket_id = ",
        );
        sql.bind(ticket)
            .push(" OR k.conversation_id IN (SELECT id FROM conversations WHERE ticket_id = ")
            .bind(ticket)
            .push("))");
        if !matches!(scope, ViewerScope::All) {
            sql.push(" AND EXISTS (SELECT 1 FROM tickets t WHERE t.id = ")
                .bind(ticket);
            push_ticket_scope(&mut sql, scope, "t");
            sql.push(")");
        }
        sql.push(" ORDER BY k.created_at, k.id");
        let rows = self.all_sql(sql).await?;
        self.comments_from_rows(rows).await
    }

    /// A conversation's comments, oldest first; none when `scope` may not see it.
    pub async fn comments_of_conversation(
        &mut self,
        scope: &ViewerScope,
        conversation: ConversationId,
    ) -> Result<Vec<Comment>, StoreError> {
        let mut sql = Sql::new(
            "SELECT id, ticket_id, conversation_id, author_id, body, created_at FROM comments \
             WHERE conversation_id = ",
        );
        sql.bind(conversation);
        push_conversation_child_scope(&mut sql, scope, "comments.conversation_id");
        sql.push(" ORDER BY created_at, id");
        let rows = self.all_sql(sql).await?;
        self.comments_from_rows(rows).await
    }

    async fn comments_from_rows(
        &mut self,
        rows: Vec<crate::Row>,
    ) -> Result<Vec<Comment>, StoreError> {
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let id = CommentId(r.i64("id")?);
            let mentions = self
                .all(
                    "SELECT user_id FROM comment_mentions WHERE comment_id = $1 ORDER BY user_id",
                    args![id],
                )
                .await?
                .iter()
                .map(|m| m.i64("user_id").map(UserId))
                .collect::<Result<_, _>>()?;
            out.push(Comment {
                id,
                ticket_id: r.opt_i64("ticket_id")?.map(TicketId),
                conversation_id: r.opt_i64("conversation_id")?.map(ConversationId),
                author_id: r.opt_i64("author_id")?.map(UserId),
                body: r.string("body")?,
                mentions,
                created_at: r.i64("created_at")?,
            });
        }
        Ok(out)
    }

    /// Creates or replaces the author's draft for one ticket or conversation (HD-17).
    pub async fn upsert_draft(&mut self, d: &Draft) -> Result<DraftId, StoreError> {
        let target = draft_target(d.ticket_id, d.conversation_id);
        let r = self
            .one(
                "INSERT INTO drafts (author_id, target, ticket_id, conversation_id, body_text, body_html, recipients, \
                 from_address, reply_to_message_id, seen_message_id, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
                 ON CONFLICT (author_id, target) DO UPDATE SET body_text = $5, body_html = $6, recipients = $7, \
                 from_address = $8, reply_to_message_id = $9, updated_at = $11 RETURNING id",
                args![
                    d.author_id,
                    target,
                    d.ticket_id,
                    d.conversation_id,
                    d.body_text.as_str(),
                    d.body_html.clone(),
                    json(&d.recipients)?,
                    d.from_address.clone(),
                    d.reply_to_message_id,
                    d.seen_message_id,
                    d.updated_at
                ],
            )
            .await?;
        Ok(DraftId(r.i64("id")?))
    }

    /// The author's own draft for a target; nobody else's is ever returned.
    pub async fn draft(
        &mut self,
        author: UserId,
        ticket: Option<TicketId>,
        conversation: Option<ConversationId>,
    ) -> Result<Option<Draft>, StoreError> {
        let rows = self
            .all(
                "SELECT id, author_id, ticket_id, conversation_id, body_text, body_html, recipients, from_address, \
                 reply_to_message_id, seen_message_id, created_at, updated_at FROM drafts WHERE author_id = $1 AND target = $2",
                args![author, draft_target(ticket, conversation)],
            )
            .await?;
        rows.first().map(draft_from_row).transpose()
    }

    /// The author's drafts, newest first (the Drafts view).
    pub async fn drafts_of(&mut self, author: UserId) -> Result<Vec<Draft>, StoreError> {
        let rows = self
            .all(
                "SELECT id, author_id, ticket_id, conversation_id, body_text, body_html, recipients, from_address, \
                 reply_to_message_id, seen_message_id, created_at, updated_at FROM drafts WHERE author_id = $1 \
                 ORDER BY updated_at DESC, id DESC",
                args![author],
            )
            .await?;
        rows.iter().map(draft_from_row).collect()
    }

    pub async fn delete_draft(
        &mut self,
        author: UserId,
        ticket: Option<TicketId>,
        conversation: Option<ConversationId>,
    ) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "DELETE FROM drafts WHERE author_id = $1 AND target = $2",
                args![author, draft_target(ticket, conversation)],
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn trashed_conversations_before(
        &mut self,
        cutoff: Millis,
        limit: i64,
    ) -> Result<Vec<ConversationId>, StoreError> {
        let rows = self
            .all(
                "SELECT id FROM conversations WHERE trashed_at IS NOT NULL AND trashed_at < $1 ORDER BY id LIMIT $2",
                args![cutoff, limit],
            )
            .await?;
        rows.iter()
            .map(|r| Ok(ConversationId(r.i64("id")?)))
            .collect()
    }

    pub async fn purge_conversation(&mut self, id: ConversationId) -> Result<(), StoreError> {
        // Messages may point at each other (reply_to_message_id); clear that before deleting.
        self.exec(
            "UPDATE messages SET reply_to_message_id = NULL WHERE conversation_id = $1",
            args![id],
        )
        .await?;
        self.exec("DELETE FROM messages WHERE conversation_id = $1", args![id])
            .await?;
        // Rows recorded earlier in this transaction must go too.
        self.flush_activity().await?;
        self.exec(
            "DELETE FROM activity WHERE object_type = 'conversation' AND object_id = $1",
            args![id],
        )
        .await?;
        self.exec(
            "DELETE FROM agent_reads WHERE object_type = 'conversation' AND object_id = $1",
            args![id],
        )
        .await?;
        // A chat visitor's session points at its conversation: the token reaches nothing once
        // the conversation is gone (bot state goes by cascade, migration 0015).
        self.exec(
            "DELETE FROM chat_sessions WHERE conversation_id = $1",
            args![id],
        )
        .await?;
        self.exec("DELETE FROM conversations WHERE id = $1", args![id])
            .await?;
        Ok(())
    }
}

fn push_conversation_filter(sql: &mut Sql, q: &ConversationListQuery) {
    if q.trashed {
        sql.push(" AND c.trashed_at IS NOT NULL");
    } else {
        sql.push(" AND c.trashed_at IS NULL");
    }
    if let Some(w) = q.workspace {
        sql.push(" AND c.workspace = ").bind(w.as_str());
    }
    if let Some(s) = q.status {
        sql.push(" AND c.status = ").bind(s.as_str());
    }
    match q.owner {
        Some(Some(u)) => {
            sql.push(" AND c.owner_id = ").bind(u);
        }
        Some(None) => {
            sql.push(" AND c.owner_id IS NULL");
        }
        None => {}
    }
    if let Some(ch) = q.channel {
        sql.push(" AND c.channel = ").bind(ch.as_str());
    }
}

fn draft_target(ticket: Option<TicketId>, conversation: Option<ConversationId>) -> String {
    match (conversation, ticket) {
        (Some(c), _) => format!("conversation:{c}"),
        (None, Some(t)) => format!("ticket:{t}"),
        (None, None) => "none".into(),
    }
}

fn draft_from_row(r: &crate::Row) -> Result<Draft, StoreError> {
    Ok(Draft {
        id: DraftId(r.i64("id")?),
        author_id: UserId(r.i64("author_id")?),
        ticket_id: r.opt_i64("ticket_id")?.map(TicketId),
        conversation_id: r.opt_i64("conversation_id")?.map(ConversationId),
        body_text: r.string("body_text")?,
        body_html: r.opt_string("body_html")?,
        recipients: crate::error::decode(serde_json::from_str(&r.string("recipients")?))?,
        from_address: r.opt_string("from_address")?,
        reply_to_message_id: r.opt_i64("reply_to_message_id")?.map(MessageId),
        seen_message_id: r.opt_i64("seen_message_id")?.map(MessageId),
        created_at: r.i64("created_at")?,
        updated_at: r.i64("updated_at")?,
    })
}
