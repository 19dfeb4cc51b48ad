//! Split and unmerge in the web UI (issue 15 items 2 and 3): "Split" on a ticket opens a page
//! listing its conversations' messages with a checkbox each; confirming opens the new ticket.
//! "Undo merge" / "Undo split" buttons sit on the history rows of merges and splits that can
//! still be undone, and post to the ticket's unmerge. Without JavaScript: plain GET page and
//! POST forms (app.js asks for confirmation on `data-confirm` forms). The handlers call
//! `App::split_ticket`, `App::unmerge_ticket` and `App::ticket_links`, the use cases the API
//! calls. No rule and no SQL here.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use fd_app::domain::entities::{ActivityEvent, Ticket};
use fd_app::domain::*;
use fd_app::{App, AppError, Unmerged};

use super::flash::{Flash, see_other_flash};
use super::view::Directory;
use super::widgets::{ActivityVm, UndoVm};
use super::{Agent, Chrome, Id, Post, UiError, UiResult, UiState, page};

/// The tickets a ticket was split from or into, for its page.
#[derive(Default)]
pub(crate) struct LinksVm {
    pub split_from: Option<i64>,
    pub split_into: Vec<i64>,
}

/// Loads ticket `t`'s merges and splits, puts an undo button on the newest history row of
/// each merge into it and each split off it that can still be undone (`events` are the rows
/// `activity` was made from, in the same order), and returns the links its page names.
pub(crate) async fn links_and_undo<'a>(
    app: &App,
    agent: &Agent,
    t: &Ticket,
    events: impl Iterator<Item = &'a ActivityEvent>,
    activity: &mut [ActivityVm],
) -> Result<LinksVm, UiError> {
    let links = app.ticket_links(&agent.actor, t.id).await?;
    if t.trashed_at.is_none() {
        let mut offered = Vec::new();
        for (a, vm) in events.zip(activity.iter_mut()) {
            let (other, label, confirm) = match (a.action.as_str(), &a.old_value, &a.new_value) {
                ("merged", Some(o), _) => (
                    o,
                    "Undo merge",
                    format!(
                        "Take ticket #{o} back out of this ticket, with its own conversations?"
                    ),
                ),
                ("split", None, Some(n)) => (
                    n,
                    "Undo split",
                    format!("Move the messages of ticket #{n} back here and delete ticket #{n}?"),
                ),
                _ => continue,
            };
            let Some(id) = text::parse_id(other) else {
                continue;
            };
            let undoable = if label == "Undo merge" {
                links.merged_in.contains(&TicketId(id))
            } else {
                links.split_into.contains(&TicketId(id))
            };
            if undoable && !offered.contains(&id) {
                offered.push(id);
                vm.undo = Some(UndoVm {
                    other: id,
                    label,
                    confirm,
                });
            }
        }
    }
    Ok(LinksVm {
        split_from: links.split_from.map(|x| x.0),
        split_into: links.split_into.iter().map(|x| x.0).collect(),
    })
}

/// Undoes the merge of the posted `other` ticket into ticket `id` (or the split of `other`
/// off it) and comes back to ticket `id`; a refusal comes back as the page's alert.
pub(crate) async fn unmerge(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    post.agent.actor_can_use_tickets()?;
    let other = post
        .fields
        .get("other")
        .unwrap_or_default()
        .trim()
        .to_string();
    let Some(other) = text::parse_id(&other) else {
        return Err(UiError::bad_request(format!(
            "{other:?} is not a ticket ID."
        )));
    };
    match state
        .app
        .unmerge_ticket(&post.agent.actor, TicketId(id), TicketId(other))
        .await
    {
        Ok(Unmerged::Merge { .. }) => {
            see_other_flash(&format!("/helpdesk/tickets/{id}"), Flash::TicketsUnmerged)
        }
        Ok(Unmerged::Split { .. }) => {
            see_other_flash(&format!("/helpdesk/tickets/{id}"), Flash::SplitUndone)
        }
        Err(AppError::Domain(DomainError::Invalid(errs))) => Err(UiError::bad_request(
            errs.iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("; "),
        )),
        Err(e) => Err(e.into()),
    }
}

struct MessageVm {
    id: i64,
    who: String,
    at: Millis,
    excerpt: String,
    checked: bool,
}

struct ConversationVm {
    title: String,
    messages: Vec<MessageVm>,
}

#[derive(Template)]
#[template(path = "ui/ticket_split.html")]
struct SplitPage {
    chrome: Chrome,
    ticket_id: i64,
    ticket_subject: String,
    conversations: Vec<ConversationVm>,
    subject: String,
    error: Option<String>,
}

fn excerpt(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &flat[..i]),
        None => flat,
    }
}

async fn render(
    state: &UiState,
    agent: &Agent,
    id: TicketId,
    chosen: &[i64],
    subject: String,
    error: Option<String>,
) -> UiResult {
    let app = &state.app;
    let d = app.ticket_details(&agent.actor, id).await?;
    if d.ticket.trashed_at.is_some() {
        return Err(UiError::not_found());
    }
    let dir = Directory::load(app).await?;
    let mut conversations = Vec::new();
    for c in &d.conversations {
        let messages = app
            .messages(&agent.actor, c.id)
            .await?
            .into_iter()
            .map(|m| MessageVm {
                id: m.id.0,
                who: match m.sender_user_id {
                    Some(u) => dir.user_name(Some(u)),
                    None => m
                        .sender_name
                        .clone()
                        .or(m.sender_address.clone())
                        .unwrap_or_else(|| "Customer".into()),
                },
                at: m.created_at,
                excerpt: excerpt(&m.text),
                checked: chosen.contains(&m.id.0),
            })
            .collect();
        conversations.push(ConversationVm {
            title: format!(
                "{} conversation{}",
                super::view::channel_label(c.channel),
                c.subject
                    .as_deref()
                    .map(|s| format!(": {s}"))
                    .unwrap_or_default()
            ),
            messages,
        });
    }
    page(&SplitPage {
        chrome: Chrome::load(app, agent, "helpdesk", format!("Split #{}", d.ticket.id)).await?,
        ticket_id: d.ticket.id.0,
        ticket_subject: d.ticket.subject.clone(),
        conversations,
        subject,
        error,
    })
}

/// The split page of ticket `id`: its conversations' messages, each with a checkbox.
pub(crate) async fn split_page(
    State(state): State<UiState>,
    agent: Agent,
    Path(Id(id)): Path<Id>,
) -> UiResult {
    agent.actor_can_use_tickets()?;
    render(&state, &agent, TicketId(id), &[], String::new(), None).await
}

/// Splits the checked messages (`m`) off ticket `id` to a new ticket named `subject` (the
/// conversation's subject when empty) and opens it; a refusal re-renders the page (422).
pub(crate) async fn split(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    post.agent.actor_can_use_tickets()?;
    let mut chosen = Vec::new();
    for raw in post.fields.all("m") {
        match text::parse_id(raw.trim()) {
            Some(m) => chosen.push(m),
            None => {
                return Err(UiError::bad_request(format!(
                    "{raw:?} is not a message ID."
                )));
            }
        }
    }
    let subject = post
        .fields
        .get("subject")
        .unwrap_or_default()
        .trim()
        .to_string();
    let mut props = BTreeMap::new();
    if !subject.is_empty() {
        props.insert("subject".to_string(), subject.clone());
    }
    let ids: Vec<MessageId> = chosen.iter().map(|m| MessageId(*m)).collect();
    match state
        .app
        .split_ticket(&post.agent.actor, TicketId(id), &ids, props)
        .await
    {
        Ok(new) => see_other_flash(&format!("/helpdesk/tickets/{}", new.id), Flash::TicketSplit),
        Err(AppError::Domain(DomainError::Invalid(errs))) => {
            let why = errs
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("; ");
            let mut r = render(
                &state,
                &post.agent,
                TicketId(id),
                &chosen,
                subject,
                Some(why),
            )
            .await?;
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(r)
        }
        Err(e) => Err(e.into()),
    }
}
