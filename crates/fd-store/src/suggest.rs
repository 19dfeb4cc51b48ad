//! What reply suggestions index (issue 16, item 6): tickets whose messages changed since a
//! watermark, and per ticket its subject, its customers' words and its agents' last reply.
//! The in-memory index is fd-app's; which of its tickets an agent may be shown is decided
//! by the scoped ticket reads (HD-09), not here.
//!
//! SQL only: no ranking, no tokenising.

use std::collections::BTreeMap;

use fd_domain::*;

use crate::{Sql, StoreError, Tx, args};

/// One past ticket as the suggestion index reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuggestionSource {
    pub ticket_id: TicketId,
    pub subject: String,
    /// The customers' messages (incoming), oldest first, joined by blank lines.
    pub customer_text: String,
    /// The agents' last reply (an outgoing message sent by a user), if any.
    pub reply: Option<(MessageId, String)>,
}

impl Tx {
    /// Tickets with messages newer than `after` (by message id), at most `limit` messages
    /// looked at: the tickets and the highest message id seen (the next watermark).
    pub async fn tickets_with_messages_after(
        &mut self,
        after: MessageId,
        limit: i64,
    ) -> Result<(Vec<TicketId>, MessageId), StoreError> {
        let rows = self
            .all(
                "SELECT m.id, c.ticket_id FROM messages m JOIN conversations c ON c.id = m.conversation_id \
                 WHERE m.id > $1 ORDER BY m.id LIMIT $2",
                args![after, limit],
            )
            .await?;
        let mut last = after;
        let mut tickets = Vec::new();
        for r in rows {
            last = MessageId(r.i64("id")?);
            if let Some(t) = r.opt_i64("ticket_id")? {
                tickets.push(TicketId(t));
            }
        }
        tickets.sort_unstable();
        tickets.dedup();
        Ok((tickets, last))
    }

    /// The index's text of these tickets (the system's read: every ticket, trashed ones
    /// left out; the caller scopes what it shows).
    pub async fn suggestion_sources(
        &mut self,
        tickets: &[TicketId],
    ) -> Result<Vec<SuggestionSource>, StoreError> {
        if tickets.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql =
            Sql::new("SELECT id, subject FROM tickets WHERE trashed_at IS NULL AND id IN (");
        sql.bind_list(tickets.iter().copied()).push(")");
        let mut out: BTreeMap<TicketId, SuggestionSource> = BTreeMap::new();
        for r in self.all_sql(sql).await? {
            let id = TicketId(r.i64("id")?);
            out.insert(
                id,
                SuggestionSource {
                    ticket_id: id,
                    subject: r.string("subject")?,
                    customer_text: String::new(),
                    reply: None,
                },
            );
        }
        let mut sql = Sql::new(
            "SELECT c.ticket_id, m.id, m.direction, m.sender_user_id, m.text FROM messages m \
             JOIN conversations c ON c.id = m.conversation_id \
             WHERE c.trashed_at IS NULL AND c.ticket_id IN (",
        );
        sql.bind_list(tickets.iter().copied())
            .push(") ORDER BY m.id");
        for r in self.all_sql(sql).await? {
            let Some(s) = out.get_mut(&TicketId(r.i64("ticket_id")?)) else {
                continue;
            };
            let text = r.string("text")?;
            if r.string("direction")? == "INCOMING" {
                if !s.customer_text.is_empty() {
                    s.customer_text.push_str("\n\n");
                }
                s.customer_text.push_str(&text);
            } else if r.opt_i64("sender_user_id")?.is_some() && !text.trim().is_empty() {
                s.reply = Some((MessageId(r.i64("id")?), text));
            }
        }
        Ok(out.into_values().collect())
    }

    /// The newest messages customers wrote on a ticket (the suggestion query), newest first.
    /// The caller has checked the viewer may see the ticket.
    pub async fn latest_customer_texts(
        &mut self,
        ticket: TicketId,
        limit: i64,
    ) -> Result<Vec<String>, StoreError> {
        let rows = self
            .all(
                "SELECT m.text FROM messages m JOIN conversations c ON c.id = m.conversation_id \
                 WHERE c.ticket_id = $1 AND c.trashed_at IS NULL AND m.direction = 'INCOMING' \
                 ORDER BY m.id DESC LIMIT $2",
                args![ticket, limit],
            )
            .await?;
        rows.iter().map(|r| r.string("text")).collect()
    }

    /// The live knowledge-base articles' fingerprint: changes whenever one is added, edited
    /// or archived, so the index re-reads articles only then.
    pub async fn article_fingerprint(&mut self) -> Result<(i64, i64, i64), StoreError> {
        let r = self
            .one(
                "SELECT COUNT(*) AS n, COALESCE(MAX(updated_at), 0) AS u, CAST(COALESCE(SUM(id), 0) AS BIGINT) AS s \
                 FROM library_items WHERE kind = 'article' AND archived = FALSE",
                args![],
            )
            .await?;
        Ok((r.i64("n")?, r.i64("u")?, r.i64("s")?))
    }
}
