//! Change events for live updates, and who may learn of them. Web streams forward an event
//! only when [`App::may_see_event`] says so, and watch a record's presence only when
//! [`App::may_watch`] does: both read through the viewer's scope (HD-09), so a stream never
//! tells anyone more than the record reads would. Depends on the store's scoped reads only.

use fd_domain::{ConversationId, TicketId};

use crate::{Actor, App, AppError};

/// Something committed that screens showing it should refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    TicketChanged(TicketId),
    ConversationChanged(ConversationId),
    MessageAdded {
        conversation: ConversationId,
        ticket: Option<TicketId>,
    },
    NotificationsChanged(fd_domain::UserId),
}

/// What a page watches for presence (who else is viewing or replying).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WatchTarget {
    Ticket(TicketId),
    Conversation(ConversationId),
}

/// `Ok(false)` for reads the actor may not make; other errors pass.
fn visible<T>(read: Result<T, AppError>) -> Result<bool, AppError> {
    match read {
        Ok(_) => Ok(true),
        Err(AppError::NotFound { .. } | AppError::Forbidden(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

impl App {
    /// Whether `actor` may learn that `event` happened: the ticket or conversation it is
    /// about must be readable by them now (a ticket hidden by HD-09 or HD-05 says nothing,
    /// not even that it changed), and notifications are their own user's only.
    pub async fn may_see_event(&self, actor: &Actor, event: &Event) -> Result<bool, AppError> {
        match event {
            Event::TicketChanged(t) => visible(self.ticket(actor, *t).await),
            Event::ConversationChanged(c) => visible(self.conversation(actor, *c).await),
            Event::MessageAdded {
                conversation,
                ticket,
            } => {
                if !visible(self.conversation(actor, *conversation).await)? {
                    return Ok(false);
                }
                // The event names the ticket too: it must be readable as well.
                match ticket {
                    Some(t) => visible(self.ticket(actor, *t).await),
                    None => Ok(true),
                }
            }
            Event::NotificationsChanged(u) => Ok(actor.user_id() == Some(*u)),
        }
    }

    /// Whether `actor` may watch `target`'s presence: only a record they may read (finding 4
    /// of the hardening review: watching a hidden ticket showed who worked on it, and
    /// announced the watcher to them).
    pub async fn may_watch(&self, actor: &Actor, target: WatchTarget) -> Result<bool, AppError> {
        match target {
            WatchTarget::Ticket(t) => visible(self.ticket(actor, t).await),
            WatchTarget::Conversation(c) => visible(self.conversation(actor, c).await),
        }
    }
}
