//! Reading state and personal display settings of agents: a ticket or conversation opened by
//! an agent is read for them until a customer writes again (the lists' unread state), the
//! lists' one-line previews, and each user's time zone for the times the UI shows.
//!
//! The rules are fd-domain's (`reading`, `local_time`); this module loads, asks them, saves.
//! Must not depend on HTTP or HTML, nor on another aggregate's module.

use std::collections::HashMap;

use fd_domain::local_time::UserTimeZone;
use fd_domain::reading::{PREVIEW_CHARS, is_unread, preview_line};
use fd_domain::*;
use fd_store::{Conversation, ReadDigest, Ticket};

use crate::{Actor, App, AppError};

/// What a list row shows beside a ticket or conversation for the viewing agent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowDigest {
    /// The latest message's first line (the ticket's description when it has no message).
    pub preview: String,
    /// A customer message arrived after this agent last opened the record.
    pub unread: bool,
}

/// What an agent opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    Ticket(TicketId),
    Conversation(ConversationId),
}

fn digest(d: &ReadDigest, fallback: Option<&str>) -> RowDigest {
    let text = d.latest_text.as_deref().or(fallback).unwrap_or("");
    RowDigest {
        preview: preview_line(text, PREVIEW_CHARS),
        unread: is_unread(d.last_customer_message_at, d.read_at),
    }
}

impl App {
    /// The agent opened a ticket or conversation: it is read for them as of now. One write;
    /// a record they may not see is not found (HD-09), like opening it.
    pub async fn mark_opened(&self, actor: &Actor, what: Opened) -> Result<(), AppError> {
        let user = actor.require_user()?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        match what {
            Opened::Ticket(id) => {
                actor.require_ticket_access()?;
                if tx.ticket(&actor.scope(), id).await?.is_none() {
                    return Err(AppError::not_found("ticket", id));
                }
                tx.mark_read(user, "ticket", id.0, now).await?;
            }
            Opened::Conversation(id) => {
                if tx.conversation(&actor.scope(), id).await?.is_none() {
                    return Err(AppError::not_found("conversation", id));
                }
                tx.mark_read(user, "conversation", id.0, now).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Previews and unread states of a page of tickets the actor has listed (so already seen
    /// through their scope).
    pub async fn ticket_digests(
        &self,
        actor: &Actor,
        tickets: &[Ticket],
    ) -> Result<HashMap<TicketId, RowDigest>, AppError> {
        let Some(user) = actor.user_id() else {
            return Ok(HashMap::new());
        };
        let ids: Vec<TicketId> = tickets.iter().map(|t| t.id).collect();
        let mut tx = self.db().read().await?;
        let rows = tx.ticket_digests(user, &ids).await?;
        tx.commit().await?;
        Ok(rows
            .iter()
            .filter_map(|d| {
                let t = tickets.iter().find(|t| t.id.0 == d.id)?;
                Some((t.id, digest(d, t.content.as_deref())))
            })
            .collect())
    }

    /// Previews and unread states of a page of conversations the actor has listed.
    pub async fn conversation_digests(
        &self,
        actor: &Actor,
        conversations: &[Conversation],
    ) -> Result<HashMap<ConversationId, RowDigest>, AppError> {
        let Some(user) = actor.user_id() else {
            return Ok(HashMap::new());
        };
        let ids: Vec<ConversationId> = conversations.iter().map(|c| c.id).collect();
        let mut tx = self.db().read().await?;
        let rows = tx.conversation_digests(user, &ids).await?;
        tx.commit().await?;
        Ok(rows
            .iter()
            .map(|d| (ConversationId(d.id), digest(d, None)))
            .collect())
    }

    /// Sets the signed-in user's own time zone (an IANA name the bundled database knows).
    pub async fn set_own_time_zone(
        &self,
        actor: &Actor,
        raw: &str,
    ) -> Result<UserTimeZone, AppError> {
        let user = actor.require_user()?;
        let tz = UserTimeZone::parse(raw)?;
        let mut tx = self.db().write().await?;
        if !tx.set_user_time_zone(user, tz.name()).await? {
            return Err(AppError::not_found("user", user));
        }
        tx.commit().await?;
        Ok(tz)
    }
}
