use fd_domain::{ConversationId, TicketId};

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
