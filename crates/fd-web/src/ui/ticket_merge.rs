//! Ticket merge in the web UI (issue 15): "Merge" on a ticket opens a page to find the other
//! ticket, preview the survivor and confirm. Without JavaScript: plain GET search, GET
//! preview, POST confirm. The preview asks fd-domain's `ticket_merge::merge_survivor`, the
//! function the use case applies; the confirmation calls `App::merge_tickets`, the use case
//! the API calls. No rule and no SQL here.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use fd_app::domain::entities::Ticket;
use fd_app::domain::ticket_merge;
use fd_app::domain::*;
use fd_app::{AppError, TicketListQuery, TicketView};
use serde::Deserialize;

use super::flash::{Flash, see_other_flash};
use super::view::{Directory, Times};
use super::{Agent, Chrome, Id, Post, UiError, UiResult, UiState, page};

/// How many candidates a search lists.
const CANDIDATES: i64 = 20;

#[derive(Deserialize, Default)]
pub(crate) struct MergeParams {
    q: Option<String>,
    other: Option<String>,
}

struct Candidate {
    id: i64,
    subject: String,
    detail: String,
}

struct PreviewRow {
    label: &'static str,
    kept: String,
    merged: String,
    after: String,
}

struct Preview {
    other_id: i64,
    rows: Vec<PreviewRow>,
}

#[derive(Template)]
#[template(path = "ui/ticket_merge.html")]
struct MergePage {
    chrome: Chrome,
    primary_id: i64,
    primary_subject: String,
    q: String,
    searched: bool,
    results: Vec<Candidate>,
    preview: Option<Preview>,
    error: Option<String>,
}

/// A live ticket the agent may see, or the sentence saying why not.
async fn live_ticket(state: &UiState, agent: &Agent, id: i64) -> Result<Ticket, String> {
    match state.app.ticket(&agent.actor, TicketId(id)).await {
        Ok(t) if t.trashed_at.is_none() => Ok(t),
        _ => Err(format!(
            "There is no ticket {id} to merge (it may be in the trash or merged already)."
        )),
    }
}

fn refusal(e: &AppError) -> Option<String> {
    match e {
        AppError::NotFound { id, .. } => Some(format!(
            "There is no ticket {id} to merge (it may be in the trash or merged already)."
        )),
        AppError::Domain(DomainError::Invalid(errs)) => Some(
            errs.iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("; "),
        ),
        AppError::Domain(d) => Some(d.to_string()),
        AppError::Conflict(m) => Some(m.clone()),
        _ => None,
    }
}

async fn render(
    state: &UiState,
    agent: &Agent,
    primary: Ticket,
    params: &MergeParams,
    mut error: Option<String>,
) -> UiResult {
    let app = &state.app;
    let dir = Directory::load(app).await?;
    let times = Times::of(app, agent);
    let q = params.q.clone().unwrap_or_default().trim().to_string();
    let mut results = Vec::new();
    if !q.is_empty() {
        let mut found: Vec<Ticket> = Vec::new();
        if let Some(id) = text::parse_id(q.trim_start_matches('#'))
            && let Ok(t) = live_ticket(state, agent, id).await
        {
            found.push(t);
        }
        let list = TicketListQuery {
            view: TicketView::All,
            text: Some(q.clone()),
            limit: CANDIDATES,
            ..TicketListQuery::default()
        };
        found.extend(app.list_tickets(&agent.actor, &list).await?);
        for t in found {
            if t.id != primary.id && !results.iter().any(|c: &Candidate| c.id == t.id.0) {
                results.push(Candidate {
                    id: t.id.0,
                    detail: format!(
                        "{} · created {}",
                        dir.stage_label(t.stage_id),
                        times.text(t.created_at)
                    ),
                    subject: t.subject,
                });
            }
        }
    }
    let mut preview = None;
    if let Some(raw) = params.other.as_deref().filter(|s| !s.trim().is_empty()) {
        let other = match text::parse_id(raw.trim()) {
            Some(id) if id == primary.id.0 => Err("A ticket cannot be merged into itself.".into()),
            Some(id) => live_ticket(state, agent, id).await,
            None => Err(format!("{raw:?} is not a ticket ID.")),
        };
        match other {
            Ok(other) => {
                let after = ticket_merge::merge_survivor(&primary, &other, app.now());
                let priority = |t: &Ticket| t.priority.clone().unwrap_or_default();
                let owner = |t: &Ticket| dir.user_name(t.owner_id);
                let merged_ids = |t: &Ticket| {
                    t.custom
                        .get(ticket_merge::MERGED_IDS_PROPERTY)
                        .cloned()
                        .unwrap_or_default()
                };
                let row = |label, f: &dyn Fn(&Ticket) -> String| PreviewRow {
                    label,
                    kept: f(&primary),
                    merged: f(&other),
                    after: f(&after),
                };
                preview = Some(Preview {
                    other_id: other.id.0,
                    rows: vec![
                        row("Name", &|t: &Ticket| t.subject.clone()),
                        row("Status", &|t: &Ticket| dir.stage_label(t.stage_id)),
                        row("Priority", &priority),
                        row("Owner", &owner),
                        // Absolute: the oldest of two dates must be readable as a date.
                        row("Created", &|t: &Ticket| times.when(t.created_at).0.absolute),
                        row("Merged ticket IDs", &merged_ids),
                    ],
                });
            }
            Err(why) => error = error.or(Some(why)),
        }
    }
    page(&MergePage {
        chrome: Chrome::load(
            app,
            agent,
            "helpdesk",
            format!("Merge into #{}", primary.id),
        )
        .await?,
        primary_id: primary.id.0,
        primary_subject: primary.subject,
        searched: !q.is_empty(),
        q,
        results,
        preview,
        error,
    })
}

/// The merge page of ticket `id`: search, preview, confirm.
pub(crate) async fn merge_page(
    State(state): State<UiState>,
    agent: Agent,
    Path(Id(id)): Path<Id>,
    Query(params): Query<MergeParams>,
) -> UiResult {
    agent.actor_can_use_tickets()?;
    let primary = state.app.ticket(&agent.actor, TicketId(id)).await?;
    if primary.trashed_at.is_some() {
        return Err(UiError::not_found());
    }
    render(&state, &agent, primary, &params, None).await
}

/// Confirms the merge of the posted `other` ticket into ticket `id`.
pub(crate) async fn merge(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    post.agent.actor_can_use_tickets()?;
    let other = post.fields.text("other").unwrap_or_default();
    let result = match text::parse_id(other.trim()) {
        Some(o) => state
            .app
            .merge_tickets(&post.agent.actor, TicketId(id), TicketId(o))
            .await
            .map(|_| ())
            .map_err(|e| refusal(&e).ok_or(e)),
        None => Err(Ok(format!("{other:?} is not a ticket ID."))),
    };
    match result {
        Ok(()) => see_other_flash(&format!("/helpdesk/tickets/{id}"), Flash::TicketsMerged),
        Err(Err(e)) => Err(e.into()),
        Err(Ok(why)) => {
            let primary = state.app.ticket(&post.agent.actor, TicketId(id)).await?;
            let params = MergeParams {
                q: None,
                other: Some(other),
            };
            let mut r = render(&state, &post.agent, primary, &params, Some(why)).await?;
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(r)
        }
    }
}
