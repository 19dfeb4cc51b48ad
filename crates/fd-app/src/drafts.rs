//! Drafts (HD-17): each agent's unsent reply per ticket or conversation, visible only to its
//! author, and the Drafts view. A draft may only name messages of its own thread.
//!
//! Depends on the conversations module (its lock order) and the tickets' lock; must not be
//! depended on by them, nor depend on HTTP or HTML.

use fd_domain::*;
use fd_store::{Draft, Ticket, Tx};

use crate::conversations::lock_conversation;
use crate::{Actor, App, AppError};

/// One entry of the Drafts view.
#[derive(Debug, Clone)]
pub struct DraftEntry {
    pub draft: Draft,
    pub ticket: Option<Ticket>,
}

impl App {
    /// HD-17: saves the author's draft for a ticket or conversation (visible only to them).
    pub async fn save_draft(&self, actor: &Actor, mut draft: Draft) -> Result<Draft, AppError> {
        let author = actor.require_user()?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        if let Some(cid) = draft.conversation_id {
            let c = lock_conversation(&mut tx, actor, cid).await?;
            draft.ticket_id = c.ticket_id;
            if draft.seen_message_id.is_none() {
                draft.seen_message_id = tx.latest_message(&actor.scope(), cid).await?.map(|m| m.id);
            }
        } else if let Some(tid) = draft.ticket_id {
            self.locked_ticket(&mut tx, actor, tid).await?;
        } else {
            return Err(AppError::invalid(
                "target",
                "a draft needs a ticket or a conversation",
            ));
        }
        // The message answered must be one of the draft's own (finding 8 of the hardening
        // review: any message id was kept, a hidden one included); a missing, foreign or
        // hidden id is refused alike, so the answer tells nothing about other tickets.
        if let Some(mid) = draft.reply_to_message_id
            && !draft_may_reference(&mut tx, &draft, mid).await?
        {
            return Err(AppError::invalid(
                "reply_to",
                format!("message {mid} is not part of this conversation"),
            ));
        }
        if let Some(mid) = draft.seen_message_id
            && !draft_may_reference(&mut tx, &draft, mid).await?
        {
            draft.seen_message_id = match draft.conversation_id {
                Some(cid) => tx.latest_message(&actor.scope(), cid).await?.map(|m| m.id),
                None => None,
            };
        }
        draft.author_id = author;
        draft.created_at = now;
        draft.updated_at = now;
        draft.id = tx.upsert_draft(&draft).await?;
        tx.commit().await?;
        Ok(draft)
    }

    pub async fn draft(
        &self,
        actor: &Actor,
        ticket: Option<TicketId>,
        conversation: Option<ConversationId>,
    ) -> Result<Option<Draft>, AppError> {
        let author = actor.require_user()?;
        let mut tx = self.db().read().await?;
        let d = tx.draft(author, ticket, conversation).await?;
        tx.commit().await?;
        Ok(d)
    }

    pub async fn drafts(&self, actor: &Actor) -> Result<Vec<Draft>, AppError> {
        let author = actor.require_user()?;
        let mut tx = self.db().read().await?;
        let d = tx.drafts_of(author).await?;
        tx.commit().await?;
        Ok(d)
    }

    pub async fn discard_draft(
        &self,
        actor: &Actor,
        ticket: Option<TicketId>,
        conversation: Option<ConversationId>,
    ) -> Result<bool, AppError> {
        let author = actor.require_user()?;
        let mut tx = self.db().write().await?;
        let n = tx.delete_draft(author, ticket, conversation).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// The Drafts view (HD-17): only the actor's own drafts, with the tickets they still see.
    pub async fn draft_entries(&self, actor: &Actor) -> Result<Vec<DraftEntry>, AppError> {
        let user = actor.require_user()?;
        let mut tx = self.db().read().await?;
        let drafts = tx.drafts_of(user).await?;
        let ids: Vec<TicketId> = drafts.iter().filter_map(|d| d.ticket_id).collect();
        let tickets = tx.tickets_by_ids(&actor.scope(), &ids).await?;
        tx.commit().await?;
        Ok(drafts
            .into_iter()
            .map(|d| DraftEntry {
                ticket: d
                    .ticket_id
                    .and_then(|t| tickets.iter().find(|x| x.id == t).cloned()),
                draft: d,
            })
            .collect())
    }
}

/// Whether a draft may name message `mid`: one of its conversation's messages, or for a
/// ticket's draft, a message of one of the ticket's conversations. The draft's target was
/// checked against the actor's scope already, so this keeps every reference inside it.
async fn draft_may_reference(tx: &mut Tx, draft: &Draft, mid: MessageId) -> Result<bool, AppError> {
    let Some(m) = tx.message(&ViewerScope::All, mid).await? else {
        return Ok(false);
    };
    if let Some(cid) = draft.conversation_id {
        return Ok(m.conversation_id == cid);
    }
    match draft.ticket_id {
        Some(tid) => Ok(tx
            .conversation(&ViewerScope::All, m.conversation_id)
            .await?
            .is_some_and(|c| c.ticket_id == Some(tid))),
        None => Ok(false),
    }
}
