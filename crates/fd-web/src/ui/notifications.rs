//! The notification bell's list (HD-21 mentions, followed tickets' activity), scoped (HD-09).

use askama::Template;
use axum::extract::State;
use fd_app::domain::Millis;

use super::{Agent, Chrome, Post, UiResult, UiState, page, see_other};

pub(crate) struct NotificationVm {
    pub text: String,
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
            href: match (n.ticket_id, n.conversation_id) {
                (Some(t), _) => format!("/helpdesk/tickets/{t}?tab=comment"),
                (None, Some(c)) => format!("/inbox/conversations/{c}?tab=comment"),
                _ => "/".into(),
            },
            at: n.created_at,
            unread: n.read_at.is_none(),
        })
        .collect();
    page(&NotificationsPage {
        chrome: Chrome::load(app, &agent, "notifications", "Notifications").await?,
        items,
    })
}

pub(crate) async fn mark_read(State(state): State<UiState>, post: Post) -> UiResult {
    state.app.mark_notifications_read(&post.agent.actor).await?;
    see_other("/notifications")
}
