//! The reply editor's posts as routes: the editor decides what a reply, comment or first
//! message came to ([`Posted`]), and a refused one is shown again on the page it came from —
//! the ticket page (`helpdesk.rs`) or the inbox's conversation page (`inbox.rs`), each
//! rendering itself.
//!
//! A screen-level module: it may import the screens and the editor; no widget and no screen
//! may import it.

use axum::extract::{Path, State};
use fd_app::domain::{ConversationId, MessageId, TicketId};

use super::editor::{self, Host, Posted};
use super::flash::{Flash, see_other_flash};
use super::{Agent, Id, Post, UiResult, UiState, helpdesk, inbox};

/// The response for what a post came to: the redirect, or the host page with the editor's
/// state and the refusal's status.
async fn respond(state: &UiState, agent: &Agent, posted: Posted) -> UiResult {
    match posted {
        Posted::Done(r) => Ok(r),
        Posted::Refused {
            host,
            state: es,
            status,
        } => {
            let mut r = match host {
                Host::Ticket(t) => helpdesk::render_ticket(state, agent, t, es, None).await?,
                Host::Conversation(c) => inbox::render_conversation(state, agent, c, es).await?,
            };
            *r.status_mut() = status;
            Ok(r)
        }
    }
}

/// Send, or Send + status (HD-19), with the stale-reply check.
pub(crate) async fn reply(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    let posted = editor::reply(&state, id, &post).await?;
    respond(&state, &post.agent, posted).await
}

/// HD-12: the first message of a hand-made ticket starts its conversation.
pub(crate) async fn start_conversation(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    let posted = editor::start_conversation(&state, id, &post).await?;
    respond(&state, &post.agent, posted).await
}

/// HD-21: the Comment tab (internal note; @mentions notify).
pub(crate) async fn comment_on_conversation(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    let posted = editor::comment(&state, &post, None, Some(ConversationId(id))).await?;
    respond(&state, &post.agent, posted).await
}

pub(crate) async fn comment_on_ticket(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    let posted = editor::comment(&state, &post, Some(TicketId(id)), None).await?;
    respond(&state, &post.agent, posted).await
}

/// Retry on a failed or unsent reply: queued again by the one retry use case, then back to
/// the same thread at that message.
pub(crate) async fn retry_delivery(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    let m = state
        .app
        .retry_delivery(&post.agent.actor, MessageId(id))
        .await?;
    let back = post
        .fields
        .get("back")
        .filter(|b| b.starts_with('/') && !b.starts_with("//"))
        .map(str::to_string)
        .unwrap_or_else(|| format!("/inbox/conversations/{}", m.conversation_id));
    see_other_flash(&format!("{back}#message-{}", m.id), Flash::RetryQueued)
}
