//! Live chat's rows (migration 0014): chat channels, visitor sessions (a token's hash and the
//! conversation it started), agents' availability and visitor identification tokens.
//!
//! Plain reads and writes: which conversation a message joins, who may reply and how a reply
//! is delivered are decided in fd-app and fd-domain. Never reads the clock.

use fd_domain::*;

use crate::error::decode;
use crate::{StoreError, Tx, args};

/// A chat channel: the widget's `data-frontdesk-chat` id names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatChannel {
    pub id: i64,
    pub name: String,
    pub team_id: TeamId,
    pub workspace: Workspace,
    pub created_at: Millis,
    pub archived_at: Option<Millis>,
}

/// One visitor's browser, known by the hash of its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatSession {
    pub id: i64,
    pub channel_id: i64,
    pub conversation_id: Option<ConversationId>,
    /// The visitor left an address while nobody was available: replies go by email.
    pub by_email: bool,
    /// The newest message the visitor's widget has shown.
    pub visitor_seen_message_id: Option<MessageId>,
    pub created_at: Millis,
}

/// A stored visitor identification token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitorToken {
    pub contact_id: ContactId,
    pub email: String,
    pub expires_at: Millis,
}

fn channel_from_row(r: &crate::Row) -> Result<ChatChannel, StoreError> {
    Ok(ChatChannel {
        id: r.i64("id")?,
        name: r.string("name")?,
        team_id: TeamId(r.i64("team_id")?),
        workspace: decode(r.string("workspace")?.parse())?,
        created_at: r.i64("created_at")?,
        archived_at: r.opt_i64("archived_at")?,
    })
}

fn session_from_row(r: &crate::Row) -> Result<ChatSession, StoreError> {
    Ok(ChatSession {
        id: r.i64("id")?,
        channel_id: r.i64("channel_id")?,
        conversation_id: r.opt_i64("conversation_id")?.map(ConversationId),
        by_email: r.bool("by_email")?,
        visitor_seen_message_id: r.opt_i64("visitor_seen_message_id")?.map(MessageId),
        created_at: r.i64("created_at")?,
    })
}

const CHANNEL_COLS: &str = "id, name, team_id, workspace, created_at, archived_at";
const SESSION_COLS: &str =
    "id, channel_id, conversation_id, by_email, visitor_seen_message_id, created_at";

impl Tx {
    pub async fn insert_chat_channel(
        &mut self,
        name: &str,
        team: TeamId,
        workspace: Workspace,
        now: Millis,
    ) -> Result<i64, StoreError> {
        self.one(
            "INSERT INTO chat_channels (name, team_id, workspace, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
            args![name, team, workspace.as_str(), now],
        )
        .await?
        .i64("id")
    }

    pub async fn chat_channel(&mut self, id: i64) -> Result<Option<ChatChannel>, StoreError> {
        self.opt(
            &format!("SELECT {CHANNEL_COLS} FROM chat_channels WHERE id = $1"),
            args![id],
        )
        .await?
        .as_ref()
        .map(channel_from_row)
        .transpose()
    }

    pub async fn chat_channels(&mut self) -> Result<Vec<ChatChannel>, StoreError> {
        let rows = self
            .all(
                &format!("SELECT {CHANNEL_COLS} FROM chat_channels ORDER BY id"),
                args![],
            )
            .await?;
        rows.iter().map(channel_from_row).collect()
    }

    pub async fn archive_chat_channel(&mut self, id: i64, now: Millis) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE chat_channels SET archived_at = $2 WHERE id = $1 AND archived_at IS NULL",
                args![id, now],
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn insert_chat_session(
        &mut self,
        channel: i64,
        token_hash: &str,
        conversation: ConversationId,
        by_email: bool,
        now: Millis,
    ) -> Result<i64, StoreError> {
        self.one(
            "INSERT INTO chat_sessions (channel_id, token_hash, conversation_id, by_email, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            args![channel, token_hash, conversation, by_email, now],
        )
        .await?
        .i64("id")
    }

    pub async fn chat_session_by_token(
        &mut self,
        channel: i64,
        token_hash: &str,
    ) -> Result<Option<ChatSession>, StoreError> {
        self.opt(
            &format!(
                "SELECT {SESSION_COLS} FROM chat_sessions WHERE token_hash = $1 AND channel_id = $2"
            ),
            args![token_hash, channel],
        )
        .await?
        .as_ref()
        .map(session_from_row)
        .transpose()
    }

    pub async fn chat_session_of_conversation(
        &mut self,
        conversation: ConversationId,
    ) -> Result<Option<ChatSession>, StoreError> {
        self.opt(
            &format!("SELECT {SESSION_COLS} FROM chat_sessions WHERE conversation_id = $1"),
            args![conversation],
        )
        .await?
        .as_ref()
        .map(session_from_row)
        .transpose()
    }

    pub async fn set_chat_session_by_email(
        &mut self,
        id: i64,
        by_email: bool,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE chat_sessions SET by_email = $2 WHERE id = $1",
            args![id, by_email],
        )
        .await?;
        Ok(())
    }

    /// Moves the visitor's read mark forward only (an older tab cannot unread).
    pub async fn set_chat_visitor_seen(
        &mut self,
        id: i64,
        message: MessageId,
    ) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE chat_sessions SET visitor_seen_message_id = $2 WHERE id = $1 \
                 AND (visitor_seen_message_id IS NULL OR visitor_seen_message_id < $2)",
                args![id, message],
            )
            .await?;
        Ok(n == 1)
    }

    /// The latest time any agent opened the conversation (the visitor's "seen").
    pub async fn conversation_last_read_by_agents(
        &mut self,
        conversation: ConversationId,
    ) -> Result<Option<Millis>, StoreError> {
        self.one(
            "SELECT MAX(read_at) AS at FROM agent_reads WHERE object_type = 'conversation' AND object_id = $1",
            args![conversation],
        )
        .await?
        .opt_i64("at")
    }

    pub async fn set_user_availability(
        &mut self,
        user: UserId,
        available: bool,
        now: Millis,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO user_availability (user_id, status, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at",
            args![user, if available { "available" } else { "away" }, now],
        )
        .await?;
        Ok(())
    }

    /// Whether the user set themselves available (no row: away).
    pub async fn user_available(&mut self, user: UserId) -> Result<bool, StoreError> {
        Ok(self
            .opt(
                "SELECT status FROM user_availability WHERE user_id = $1",
                args![user],
            )
            .await?
            .map(|r| r.string("status"))
            .transpose()?
            .is_some_and(|s| s == "available"))
    }

    /// How many active members of `team` are available.
    pub async fn available_team_members(&mut self, team: TeamId) -> Result<i64, StoreError> {
        self.one(
            "SELECT COUNT(*) AS n FROM team_members m \
             JOIN users u ON u.id = m.user_id \
             JOIN user_availability a ON a.user_id = m.user_id \
             WHERE m.team_id = $1 AND u.active AND a.status = 'available'",
            args![team],
        )
        .await?
        .i64("n")
    }

    pub async fn insert_visitor_token(
        &mut self,
        token_hash: &str,
        contact: ContactId,
        email: &str,
        now: Millis,
        expires_at: Millis,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO visitor_identification_tokens (token_hash, contact_id, email, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
            args![token_hash, contact, email, now, expires_at],
        )
        .await?;
        Ok(())
    }

    pub async fn visitor_token(
        &mut self,
        token_hash: &str,
    ) -> Result<Option<VisitorToken>, StoreError> {
        self.opt(
            "SELECT contact_id, email, expires_at FROM visitor_identification_tokens WHERE token_hash = $1",
            args![token_hash],
        )
        .await?
        .map(|r| {
            Ok(VisitorToken {
                contact_id: ContactId(r.i64("contact_id")?),
                email: r.string("email")?,
                expires_at: r.i64("expires_at")?,
            })
        })
        .transpose()
    }
}
