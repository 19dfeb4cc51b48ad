//! Per-agent reading state of tickets and conversations (when each agent last opened them,
//! migration 0008) and what the lists show beside each row: the latest message's text and
//! the newest customer message's time. Whether that makes a row unread is fd-domain's rule
//! (`reading::is_unread`); this module only reads and writes the rows.
//!
//! The lists ask for one page of ids at a time, already scoped to the viewer (HD-09), so these
//! reads are by primary key and index, never a scan of all tickets.

use fd_domain::*;

use crate::{StoreError, Tx, args};

/// Beside a list row: its latest message (the first characters of its text) and the time of
/// its newest customer message, with when this agent last opened it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadDigest {
    pub id: i64,
    pub latest_text: Option<String>,
    pub last_customer_message_at: Option<Millis>,
    pub read_at: Option<Millis>,
}

/// Enough of a message for a one-line preview (whole words are cut later, on characters).
const PREVIEW_SOURCE_CHARS: i64 = 600;

impl Tx {
    /// Notes that `user` opened a ticket or conversation at `at`.
    pub async fn mark_read(
        &mut self,
        user: UserId,
        object_type: &str,
        id: i64,
        at: Millis,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO agent_reads (user_id, object_type, object_id, read_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, object_type, object_id) DO UPDATE SET read_at = excluded.read_at",
            args![user, object_type.to_string(), id, at],
        )
        .await?;
        Ok(())
    }

    /// When `user` last opened a ticket or conversation.
    pub async fn read_at(
        &mut self,
        user: UserId,
        object_type: &str,
        id: i64,
    ) -> Result<Option<Millis>, StoreError> {
        self.opt(
            "SELECT read_at FROM agent_reads WHERE user_id = $1 AND object_type = $2 AND object_id = $3",
            args![user, object_type.to_string(), id],
        )
        .await?
        .map(|r| r.i64("read_at"))
        .transpose()
    }

    /// The digests of a page of tickets (messages of all their conversations count).
    pub async fn ticket_digests(
        &mut self,
        user: UserId,
        tickets: &[TicketId],
    ) -> Result<Vec<ReadDigest>, StoreError> {
        self.digests(
            user,
            "ticket",
            "tickets",
            "JOIN conversations c ON c.id = m.conversation_id WHERE c.ticket_id = x.id",
            tickets.iter().map(|t| t.0),
        )
        .await
    }

    /// The digests of a page of conversations.
    pub async fn conversation_digests(
        &mut self,
        user: UserId,
        conversations: &[ConversationId],
    ) -> Result<Vec<ReadDigest>, StoreError> {
        self.digests(
            user,
            "conversation",
            "conversations",
            "WHERE m.conversation_id = x.id",
            conversations.iter().map(|c| c.0),
        )
        .await
    }

    async fn digests(
        &mut self,
        user: UserId,
        object_type: &'static str,
        table: &'static str,
        messages_of: &'static str,
        ids: impl Iterator<Item = i64>,
    ) -> Result<Vec<ReadDigest>, StoreError> {
        let ids: Vec<i64> = ids.collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = crate::Sql::new(&format!(
            "SELECT x.id AS id, \
             (SELECT SUBSTR(m.text, 1, {PREVIEW_SOURCE_CHARS}) FROM messages m {messages_of} \
               ORDER BY m.created_at DESC, m.id DESC LIMIT 1) AS latest_text, \
             (SELECT MAX(m.created_at) FROM messages m {messages_of} AND m.direction = 'INCOMING') \
               AS last_in, \
             (SELECT r.read_at FROM agent_reads r WHERE r.object_type = '{object_type}' \
               AND r.object_id = x.id AND r.user_id = "
        ));
        sql.bind(user);
        sql.push(&format!(") AS read_at FROM {table} x WHERE x.id IN ("));
        sql.bind_list(ids);
        sql.push(")");
        let rows = self.all_sql(sql).await?;
        rows.iter()
            .map(|r| {
                Ok(ReadDigest {
                    id: r.i64("id")?,
                    latest_text: r.opt_string("latest_text")?,
                    last_customer_message_at: r.opt_i64("last_in")?,
                    read_at: r.opt_i64("read_at")?,
                })
            })
            .collect()
    }

    /// Stores a user's time zone (an IANA name fd-domain has checked).
    pub async fn set_user_time_zone(
        &mut self,
        user: UserId,
        time_zone: &str,
    ) -> Result<bool, StoreError> {
        Ok(self
            .exec(
                "UPDATE users SET time_zone = $1 WHERE id = $2",
                args![time_zone.to_string(), user],
            )
            .await?
            > 0)
    }
}
