//! The notification bell's list (HD-21 mentions, activity on tickets the user owns or
//! follows), scoped (HD-09): each names its ticket and quotes an excerpt, and opening one
//! (`/notifications/{id}`, also the link in notification emails) marks it read and lands
//! on its ticket.

use askama::Template;
use axum::extract::{Path, State};
use fd_app::domain::{Millis, NotificationId};

use super::{Agent, Chrome, Id, Post, UiResult, UiState, page, see_other};

pub(crate) struct NotificationVm {
    pub text: String,
    /// "#12 Printer on fire" (empty without a ticket).
    pub ticket: String,
    pub excerpt: String,
    pub href: String,
    pub at: Millis,
    pub unread: bool,
}

#[derive(Template)]
#[template(path = "ui/notifications.html")]
struct NotificationsPage {
    chrome: Chrome,
    items: Vec<NotificationVm>,
}

pub(crate) async fn list(State(state): State<UiState>, agent: Agent) -> UiResult {
    let app = &state.app;
    let items = app
        .notifications(&agent.actor, 100)
        .await?
        .into_iter()
        .map(|n| NotificationVm {
            text: n.text.clone(),
            ticket: match (n.ticket_id, &n.ticket_subject) {
                (Some(t), Some(s)) => format!("#{t} {s}"),
                (Some(t), None) => format!("#{t}"),
                _ => String::new(),
            },
            excerpt: n.excerpt.clone().unwrap_or_default(),
            href: format!("/notifications/{}", n.id),
            at: n.created_at,
            unread: n.read_at.is_none(),
        })
        .collect();
    page(&NotificationsPage {
        chrome: Chrome::load(app, &agent, "notifications", "Notifications").await?,
        items,
    })
}

/// Where a notification leads: its ticket (the comments tab for a comment or a mention),
/// else its conversation.
fn target(n: &fd_app::domain::entities::Notification) -> String {
    let tab = if n.comment_id.is_some() {
        "?tab=comment"
    } else {
        ""
    };
    match (n.ticket_id, n.conversation_id) {
        (Some(t), _) => format!("/helpdesk/tickets/{t}{tab}"),
        (None, Some(c)) => format!("/inbox/conversations/{c}{tab}"),
        _ => "/notifications".into(),
    }
}

/// Opens one notification: marks it read (the bell's count drops) and goes to its ticket.
pub(crate) async fn open(
    State(state): State<UiState>,
    agent: Agent,
    Path(Id(id)): Path<Id>,
) -> UiResult {
    let n = state
        .app
        .open_notification(&agent.actor, NotificationId(id))
        .await?;
    see_other(&target(&n))
}

pub(crate) async fn mark_read(State(state): State<UiState>, post: Post) -> UiResult {
    state.app.mark_notifications_read(&post.agent.actor).await?;
    see_other("/notifications")
}
