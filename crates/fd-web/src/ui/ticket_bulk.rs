//! Bulk actions on the ticket list and "Move to pipeline" on a ticket (issue 15, items 4
//! and 6). The list is one form: a checkbox per row, "select all N matching this filter" (the
//! filter travels with the form and is resolved server-side with the viewer's scope) and the
//! action bar; it posts to `/helpdesk/bulk`, which calls `App::bulk_tickets` and answers a
//! full page saying what changed and why each other ticket was refused. The move page asks
//! fd-domain's `hd_22_pipeline_move_stage` which status to preselect (the rule the use case
//! applies) and posts to `App::update_ticket`. No rule and no SQL here; JavaScript only
//! shows the bar when something is ticked and the field the chosen action needs.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use fd_app::domain::entities::Ticket;
use fd_app::domain::rules;
use fd_app::domain::*;
use fd_app::{AppError, BulkAction, BulkSelection, TicketChanges};
use serde::Deserialize;

use super::flash::{Flash, see_other_flash};
use super::helpdesk::ListParams;
use super::view::{Directory, Opt};
use super::{Agent, Chrome, Fields, Id, Post, UiError, UiResult, UiState, page};

struct RefusedRow {
    id: i64,
    subject: Option<String>,
    reason: String,
}

#[derive(Template)]
#[template(path = "ui/ticket_bulk.html")]
struct ResultPage {
    chrome: Chrome,
    action: String,
    selected: usize,
    changed_count: usize,
    /// The first changed tickets with their names.
    changed: Vec<(i64, String)>,
    refused: Vec<RefusedRow>,
    back: String,
}

/// What the posted bar asks for, or the sentence saying what is missing.
fn action_of(f: &Fields) -> Result<(BulkAction, String), String> {
    let props = |pairs: &[(&str, String)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect::<BTreeMap<_, _>>()
    };
    let action = f.text("action").unwrap_or_default();
    Ok(match action.as_str() {
        "owner" => (
            BulkAction::Update(props(&[(
                "hubspot_owner_id",
                f.text("owner").unwrap_or_default(),
            )])),
            "Assign owner".into(),
        ),
        "status" => {
            let stage = f.text("status").ok_or("Choose the status to set.")?;
            // Choosing a status also chooses its pipeline (as on the ticket page).
            (
                BulkAction::Update(props(&[("hs_pipeline_stage", stage)])),
                "Set status".into(),
            )
        }
        "priority" => (
            BulkAction::Update(props(&[(
                "hs_ticket_priority",
                f.text("priority_value").unwrap_or_default(),
            )])),
            "Set priority".into(),
        ),
        "property" => {
            let name = f.text("property").ok_or("Choose the property to set.")?;
            (
                BulkAction::Update(props(&[(
                    name.as_str(),
                    f.text("property_value").unwrap_or_default(),
                )])),
                "Set property".into(),
            )
        }
        "pipeline" => {
            let p = f
                .text("move_pipeline")
                .ok_or("Choose the pipeline to move to.")?;
            let mut pairs = vec![("hs_pipeline", p)];
            if let Some(s) = f.text("move_stage") {
                pairs.push(("hs_pipeline_stage", s));
            }
            (BulkAction::Update(props(&pairs)), "Move to pipeline".into())
        }
        "follow" => (BulkAction::Follow(true), "Follow".into()),
        "unfollow" => (BulkAction::Follow(false), "Unfollow".into()),
        "merge" => {
            let raw = f
                .text("primary")
                .ok_or("Give the ticket ID to merge into.")?;
            let id = text::parse_id(raw.trim_start_matches('#'))
                .ok_or_else(|| format!("{raw:?} is not a ticket ID."))?;
            (
                BulkAction::MergeInto(TicketId(id)),
                format!("Merge into #{id}"),
            )
        }
        "trash" => (BulkAction::Trash, "Move to trash".into()),
        "restore" => (BulkAction::Restore, "Restore".into()),
        "" => return Err("Choose an action.".into()),
        other => return Err(format!("{other:?} is not a bulk action.")),
    })
}

/// Adds the stage's pipeline to a status change, so a status of another pipeline moves the
/// ticket there (the single edit refuses a stage of another pipeline otherwise).
fn with_pipeline_of_stage(action: BulkAction, dir: &Directory) -> BulkAction {
    match action {
        BulkAction::Update(mut props)
            if props.len() == 1 && props.contains_key("hs_pipeline_stage") =>
        {
            let pipeline = props
                .get("hs_pipeline_stage")
                .and_then(|s| s.parse::<i64>().ok())
                .and_then(|s| dir.stage(StageId(s)))
                .map(|s| s.pipeline_id.to_string());
            if let Some(p) = pipeline {
                props.insert("hs_pipeline".into(), p);
            }
            BulkAction::Update(props)
        }
        other => other,
    }
}

/// Runs the bar's action on the ticked tickets or on all matching the posted filter.
pub(crate) async fn bulk(State(state): State<UiState>, post: Post) -> UiResult {
    let agent = &post.agent;
    agent.actor_can_use_tickets()?;
    let f = &post.fields;
    let params = ListParams::from_fields(f);
    let back = params.list_href();
    let selection = if f.flag("all_matching") {
        let (mut q, _) = params.query(agent.user.id);
        q.sla = q.sla.filter(|_| agent.actor.viewer.has_service_seat());
        q.offset = 0;
        BulkSelection::Matching(q)
    } else {
        let mut ids = Vec::new();
        for raw in f.all("ids") {
            match text::parse_id(raw.trim()) {
                Some(id) => ids.push(TicketId(id)),
                None => return Err(UiError::bad_request(format!("{raw:?} is not a ticket ID."))),
            }
        }
        if ids.is_empty() {
            return Err(UiError::bad_request(
                "Tick at least one ticket, or \"select all matching\", then choose an action.",
            ));
        }
        BulkSelection::Ids(ids)
    };
    let (action, label) = action_of(f).map_err(UiError::bad_request)?;
    let dir = Directory::load(&state.app).await?;
    let action = with_pipeline_of_stage(action, &dir);
    let outcome = state
        .app
        .bulk_tickets(&agent.actor, &selection, &action)
        .await?;
    let selected = outcome.changed.len() + outcome.refused.len();
    // Names of the changed tickets for the first screenful; the count says the rest.
    let shown: Vec<TicketId> = outcome.changed.iter().take(100).copied().collect();
    let mut changed = Vec::new();
    for id in shown {
        let subject = match state.app.ticket(&agent.actor, id).await {
            Ok(t) => t.subject,
            Err(_) => String::new(),
        };
        changed.push((id.0, subject));
    }
    let changed_count = outcome.changed.len();
    page(&ResultPage {
        chrome: Chrome::load(&state.app, agent, "helpdesk", format!("{label}: result")).await?,
        action: label,
        selected,
        changed_count,
        changed,
        refused: outcome
            .refused
            .into_iter()
            .map(|r| RefusedRow {
                id: r.id.0,
                subject: r.subject,
                reason: r.reason,
            })
            .collect(),
        back,
    })
}

#[derive(Deserialize, Default)]
pub(crate) struct MoveParams {
    pipeline: Option<String>,
}

#[derive(Template)]
#[template(path = "ui/ticket_move.html")]
struct MovePage {
    chrome: Chrome,
    id: i64,
    subject: String,
    current: String,
    pipelines: Vec<Opt>,
    /// The chosen pipeline's statuses, the mapped one selected; empty before a choice.
    stages: Vec<Opt>,
    chosen: Option<String>,
    /// Why no status is preselected (HD-22 found none), or the mapping explained.
    note: Option<String>,
    error: Option<String>,
}

async fn render_move(
    state: &UiState,
    agent: &Agent,
    t: &Ticket,
    pipeline: Option<PipelineId>,
    picked: Option<StageId>,
    error: Option<String>,
) -> UiResult {
    let dir = Directory::load(&state.app).await?;
    let current_stage = dir.stage(t.stage_id);
    let target = pipeline.and_then(|p| dir.pipelines.iter().find(|x| x.id == p && !x.archived));
    let mapped = match (current_stage, target) {
        (Some(c), Some(p)) => rules::hd_22_pipeline_move_stage(c, p),
        _ => None,
    };
    let selected = picked.or(mapped.map(|s| s.id));
    let stages = target
        .map(|p| {
            let mut live: Vec<&fd_app::domain::entities::Stage> =
                p.stages.iter().filter(|s| !s.archived).collect();
            live.sort_by_key(|s| (s.display_order, s.id));
            live.into_iter()
                .map(|s| Opt::new(s.id.to_string(), s.label.clone(), Some(s.id) == selected))
                .collect()
        })
        .unwrap_or_default();
    let note = match (target, mapped, current_stage) {
        (Some(p), None, Some(c)) => Some(format!(
            "{} has no status named {} and no {} status: choose one.",
            p.label,
            c.label,
            if c.state == StageState::Closed {
                "closed"
            } else {
                "open"
            }
        )),
        (Some(_), Some(s), Some(c)) => Some(format!(
            "Preselected: {} (mapped from the current status {}).",
            s.label, c.label
        )),
        _ => None,
    };
    page(&MovePage {
        chrome: Chrome::load(&state.app, agent, "helpdesk", format!("Move #{}", t.id)).await?,
        id: t.id.0,
        subject: t.subject.clone(),
        current: format!(
            "{} · {}",
            dir.pipeline_label(t.pipeline_id),
            dir.stage_label(t.stage_id)
        ),
        pipelines: dir
            .pipelines
            .iter()
            .filter(|p| !p.archived && p.id != t.pipeline_id)
            .map(|p| Opt::new(p.id.to_string(), p.label.clone(), Some(p.id) == pipeline))
            .collect(),
        stages,
        chosen: target.map(|p| p.id.to_string()),
        note,
        error,
    })
}

/// "Move to pipeline" of ticket `id`: choose the pipeline, then the status (preselected).
pub(crate) async fn move_page(
    State(state): State<UiState>,
    agent: Agent,
    Path(Id(id)): Path<Id>,
    Query(params): Query<MoveParams>,
) -> UiResult {
    agent.actor_can_use_tickets()?;
    let t = state.app.ticket(&agent.actor, TicketId(id)).await?;
    if t.trashed_at.is_some() {
        return Err(UiError::not_found());
    }
    let pipeline = params
        .pipeline
        .as_deref()
        .and_then(|p| p.trim().parse().ok())
        .map(PipelineId);
    render_move(&state, &agent, &t, pipeline, None, None).await
}

/// Moves ticket `id` to the posted pipeline and status through the single edit use case.
pub(crate) async fn move_ticket(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    post.agent.actor_can_use_tickets()?;
    let f = &post.fields;
    let pipeline = f.text("pipeline").unwrap_or_default();
    let stage = f.text("stage");
    let mut props = BTreeMap::new();
    props.insert("hs_pipeline".to_string(), pipeline.clone());
    if let Some(s) = &stage {
        props.insert("hs_pipeline_stage".to_string(), s.clone());
    }
    let r = state
        .app
        .update_ticket(
            &post.agent.actor,
            TicketId(id),
            TicketChanges {
                properties: props,
                expected_version: None,
            },
        )
        .await;
    let why = match r {
        Ok(_) => return see_other_flash(&format!("/helpdesk/tickets/{id}"), Flash::TicketMoved),
        Err(AppError::Domain(DomainError::MissingRequiredProperties {
            stage_label,
            missing,
        })) => {
            let labels = state.app.properties("tickets").await?;
            let names: Vec<String> = missing
                .iter()
                .map(|m| {
                    labels
                        .iter()
                        .find(|d| &d.name == m)
                        .map_or_else(|| m.clone(), |d| d.label.clone())
                })
                .collect();
            format!(
                "The status {stage_label} needs {} first (HD-19): set it on the ticket, then move it.",
                names.join(", ")
            )
        }
        Err(AppError::Domain(DomainError::Invalid(errs))) => errs
            .iter()
            .map(|e| e.message.clone())
            .collect::<Vec<_>>()
            .join("; "),
        Err(AppError::Conflict(m)) => m,
        Err(e) => return Err(e.into()),
    };
    let t = state.app.ticket(&post.agent.actor, TicketId(id)).await?;
    let pipeline = pipeline.trim().parse().ok().map(PipelineId);
    let picked = stage.and_then(|s| s.parse().ok()).map(StageId);
    let mut r = render_move(&state, &post.agent, &t, pipeline, picked, Some(why)).await?;
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(r)
}
