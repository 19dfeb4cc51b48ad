//! Settings → SLAs (issue 16 item 1, HD-04): the SLA policies — list, create, edit, delete —
//! for administrators with a Service Seat (without one the page is hidden from the settings
//! navigation and answers 403). Goals are durations (`30m`, `2h`, `3d`), the calendar weekly
//! hours, an IANA zone and holidays; the use cases check everything and recompute open
//! tickets.
//!
//! Only translates forms into `fd_app::App`'s SLA use cases; must not contain SQL.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use fd_app::domain::local_time::time_zone_names;
use fd_app::domain::sla::{SlaPolicyInput, format_duration};
use fd_app::{AppError, SlaPolicyForm, SlaPolicyView};

use super::view::Opt;
use super::widgets::field_errors;
use super::{Agent, Chrome, Id, Post, UiError, UiResult, UiState, page};

pub(crate) fn routes() -> Router<UiState> {
    Router::new()
        .route("/settings/slas", get(list).post(create))
        .route("/settings/slas/{id}", get(edit).post(update))
        .route("/settings/slas/{id}/delete", post(delete))
}

/// The ticket list's SLA filter choices (values are the store's SLA filter names).
pub(crate) const SLA_FILTERS: &[(&str, &str)] = &[
    ("", "Any SLA state"),
    ("at_risk", "SLA at risk (due soon or breached)"),
    ("breached", "SLA breached"),
    ("due_soon", "SLA due soon"),
    ("running", "SLA running"),
    ("paused", "SLA paused"),
    ("met", "SLA met"),
    ("met_late", "SLA met late"),
];

/// HD-04: SLA settings need a Service Seat, and settings need an administrator.
fn require_sla_admin(agent: &Agent) -> Result<(), UiError> {
    if !agent.actor.viewer.has_service_seat() {
        return Err(UiError::new(
            StatusCode::FORBIDDEN,
            "SLA policies require a Service Seat (HD-04).",
        ));
    }
    if !agent.actor.viewer.is_account_admin() {
        return Err(UiError::new(
            StatusCode::FORBIDDEN,
            "Settings need Super Admin or Account Access permissions.",
        ));
    }
    Ok(())
}

pub(crate) struct PolicyRow {
    pub id: i64,
    pub name: String,
    pub scope: String,
    pub goals: String,
    pub calendar: String,
    pub pauses: String,
}

/// The form as typed (kept when refused), its field errors and a general error.
#[derive(Default)]
pub(crate) struct SlaFormState {
    pub name: String,
    pub pipeline: String,
    pub priorities: String,
    pub team: String,
    pub first_response: String,
    pub next_response: String,
    pub time_to_close: String,
    pub hours: String,
    pub time_zone: String,
    pub holidays: String,
    pub pause_stages: String,
    pub errors: Vec<String>,
}

#[derive(Template)]
#[template(path = "ui/settings_slas.html")]
struct SlaSettingsPage {
    chrome: Chrome,
    policies: Vec<PolicyRow>,
    /// The policy being edited (0: the create form).
    editing: i64,
    form: SlaFormState,
    pipelines: Vec<Opt>,
    teams: Vec<Opt>,
    zones: Vec<String>,
}

fn list_of(raw: &str) -> Vec<String> {
    raw.split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn row(v: &SlaPolicyView) -> PolicyRow {
    let p = &v.policy;
    let mut scope = Vec::new();
    scope.push(format!(
        "Pipeline: {}",
        v.pipeline_label.as_deref().unwrap_or("any")
    ));
    scope.push(format!(
        "Priority: {}",
        if p.priorities.is_empty() {
            "any".to_string()
        } else {
            p.priorities.join(", ")
        }
    ));
    scope.push(format!("Team: {}", v.team_name.as_deref().unwrap_or("any")));
    let goals = [
        Some(format!(
            "First response {}",
            format_duration(p.first_response_ms)
        )),
        p.next_response_ms
            .map(|g| format!("next response {}", format_duration(g))),
        p.time_to_close_ms
            .map(|g| format!("close {}", format_duration(g))),
    ];
    PolicyRow {
        id: p.id,
        name: p.name.clone(),
        scope: scope.join("; "),
        goals: goals.into_iter().flatten().collect::<Vec<_>>().join(", "),
        calendar: format!(
            "{} ({}){}",
            p.calendar
                .hours
                .as_ref()
                .map(|h| h.spec())
                .unwrap_or_else(|| "Around the clock".into()),
            p.calendar.zone.name(),
            if p.calendar.holidays.is_empty() {
                String::new()
            } else {
                format!(
                    "; holidays {}",
                    p.calendar
                        .holidays
                        .iter()
                        .map(|d| d.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        ),
        pauses: if v.pause_stage_labels.is_empty() {
            "none".into()
        } else {
            v.pause_stage_labels.join(", ")
        },
    }
}

fn state_of(v: &SlaPolicyView) -> SlaFormState {
    let p = &v.policy;
    SlaFormState {
        name: p.name.clone(),
        pipeline: p.pipeline_id.map(|x| x.to_string()).unwrap_or_default(),
        priorities: p.priorities.join(", "),
        team: p.team_id.map(|x| x.to_string()).unwrap_or_default(),
        first_response: format_duration(p.first_response_ms),
        next_response: p.next_response_ms.map(format_duration).unwrap_or_default(),
        time_to_close: p.time_to_close_ms.map(format_duration).unwrap_or_default(),
        hours: p
            .calendar
            .hours
            .as_ref()
            .map(|h| h.spec())
            .unwrap_or_default(),
        time_zone: p.calendar.zone.name().to_string(),
        holidays: p
            .calendar
            .holidays
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        pause_stages: v.pause_stage_labels.join(", "),
        errors: Vec::new(),
    }
}

async fn render(st: &UiState, agent: &Agent, editing: i64, form: SlaFormState) -> UiResult {
    require_sla_admin(agent)?;
    let chrome = Chrome::load(&st.app, agent, "settings", "SLAs").await?;
    let views = st.app.sla_policies(&agent.actor).await?;
    let pipelines = st
        .app
        .pipelines()
        .await?
        .into_iter()
        .filter(|p| !p.archived)
        .map(|p| {
            let v = p.id.to_string();
            let selected = v == form.pipeline;
            Opt::new(v, p.label, selected)
        })
        .collect();
    let teams = st
        .app
        .teams()
        .await?
        .into_iter()
        .map(|t| {
            let v = t.id.to_string();
            let selected = v == form.team;
            Opt::new(v, t.name, selected)
        })
        .collect();
    page(&SlaSettingsPage {
        chrome,
        policies: views.iter().map(row).collect(),
        editing,
        form,
        pipelines,
        teams,
        zones: time_zone_names(),
    })
}

async fn list(State(st): State<UiState>, agent: Agent) -> UiResult {
    let form = SlaFormState {
        time_zone: agent.user.time_zone.clone(),
        ..SlaFormState::default()
    };
    render(&st, &agent, 0, form).await
}

async fn edit(State(st): State<UiState>, Path(Id(id)): Path<Id>, agent: Agent) -> UiResult {
    require_sla_admin(&agent)?;
    let views = st.app.sla_policies(&agent.actor).await?;
    let Some(v) = views.iter().find(|v| v.policy.id == id) else {
        return Err(UiError::not_found());
    };
    render(&st, &agent, id, state_of(v)).await
}

fn read_form(post: &Post) -> SlaFormState {
    let f = &post.fields;
    let get = |n: &str| f.get(n).unwrap_or("").trim().to_string();
    SlaFormState {
        name: get("name"),
        pipeline: get("pipeline"),
        priorities: get("priorities"),
        team: get("team"),
        first_response: get("first_response"),
        next_response: get("next_response"),
        time_to_close: get("time_to_close"),
        hours: get("hours"),
        time_zone: get("time_zone"),
        holidays: get("holidays"),
        pause_stages: get("pause_stages"),
        errors: Vec::new(),
    }
}

fn to_use_case(s: &SlaFormState) -> SlaPolicyForm {
    let opt = |v: &str| (!v.is_empty()).then(|| v.to_string());
    SlaPolicyForm {
        input: SlaPolicyInput {
            name: s.name.clone(),
            first_response: s.first_response.clone(),
            next_response: opt(&s.next_response),
            time_to_close: opt(&s.time_to_close),
            hours: opt(&s.hours),
            time_zone: opt(&s.time_zone),
            holidays: list_of(&s.holidays),
        },
        pipeline: opt(&s.pipeline),
        priorities: list_of(&s.priorities),
        team: opt(&s.team),
        pause_stages: list_of(&s.pause_stages),
    }
}

/// The outcome of a save: back to the list, or the form again with its errors (400).
async fn answer(
    st: &UiState,
    agent: &Agent,
    editing: i64,
    mut form: SlaFormState,
    r: Result<fd_app::domain::sla::SlaPolicy, AppError>,
) -> UiResult {
    match r {
        Ok(_) => Ok(Redirect::to("/settings/slas").into_response()),
        Err(e @ (AppError::Domain(_) | AppError::Conflict(_))) => {
            let (at, rest) = field_errors(&e, "name");
            form.errors = at.into_iter().map(|(k, v)| format!("{k}: {v}")).collect();
            form.errors.extend(rest);
            if let AppError::Conflict(m) = &e {
                form.errors.push(m.clone());
            }
            let mut r = render(st, agent, editing, form).await?;
            *r.status_mut() = StatusCode::BAD_REQUEST;
            Ok(r)
        }
        Err(e) => Err(e.into()),
    }
}

async fn create(State(st): State<UiState>, post: Post) -> UiResult {
    require_sla_admin(&post.agent)?;
    let form = read_form(&post);
    let r = st
        .app
        .create_sla_policy(&post.agent.actor, to_use_case(&form))
        .await;
    answer(&st, &post.agent, 0, form, r).await
}

async fn update(State(st): State<UiState>, Path(Id(id)): Path<Id>, post: Post) -> UiResult {
    require_sla_admin(&post.agent)?;
    let form = read_form(&post);
    let r = st
        .app
        .update_sla_policy(&post.agent.actor, id, to_use_case(&form))
        .await;
    answer(&st, &post.agent, id, form, r).await
}

async fn delete(State(st): State<UiState>, Path(Id(id)): Path<Id>, post: Post) -> UiResult {
    require_sla_admin(&post.agent)?;
    st.app.delete_sla_policy(&post.agent.actor, id).await?;
    Ok(Redirect::to("/settings/slas").into_response())
}

/// A ticket's clock as its page shows it: what, its state, and why (due when, paused since
/// when, breached by how long), in the agent's time zone.
pub(crate) struct ClockVm {
    pub label: &'static str,
    pub status: &'static str,
    /// `ok`, `soon`, `late` or `paused`: the badge's colour class.
    pub tone: &'static str,
    /// `<time>` elements and words, built from our own formatting only.
    pub why_html: String,
}

/// The SLA section of a ticket page: the policy that applies and each clock.
pub(crate) struct SlaVm {
    pub policy_name: String,
    pub clocks: Vec<ClockVm>,
}

/// The ticket's SLA section; `None` without a Service Seat (HD-04) or without a policy.
pub(crate) async fn ticket_sla_vm(
    st: &UiState,
    agent: &Agent,
    id: fd_app::domain::TicketId,
) -> Result<Option<SlaVm>, AppError> {
    use fd_app::domain::sla::ClockStatus;
    let Some(s) = st.app.ticket_sla(&agent.actor, id).await? else {
        return Ok(None);
    };
    let times = super::view::Times::of(&st.app, agent);
    let now = st.app.now();
    let clocks = s
        .clocks
        .all()
        .map(|c| {
            let due = c.due_at.map(|d| times.html(&d));
            let goal = format_duration(c.goal_ms);
            let (tone, why) = match c.status {
                ClockStatus::Running => (
                    "ok",
                    format!("due {} (goal {goal})", due.unwrap_or_default()),
                ),
                ClockStatus::DueSoon => (
                    "soon",
                    format!("due {} (goal {goal})", due.unwrap_or_default()),
                ),
                ClockStatus::Breached => (
                    "late",
                    format!(
                        "was due {}, breached by {}",
                        due.unwrap_or_default(),
                        format_duration(c.due_at.map_or(0, |d| now - d))
                    ),
                ),
                ClockStatus::Paused => (
                    "paused",
                    format!(
                        "paused since {}, {} of {goal} counted{}",
                        c.paused_since.map(|p| times.html(&p)).unwrap_or_default(),
                        format_duration(c.elapsed_ms),
                        if c.breached { " (breached)" } else { "" }
                    ),
                ),
                ClockStatus::MetOnTime | ClockStatus::MetLate => (
                    if c.status == ClockStatus::MetLate {
                        "late"
                    } else {
                        "ok"
                    },
                    format!(
                        "stopped {}, {} of {goal} counted",
                        c.stopped_at.map(|p| times.html(&p)).unwrap_or_default(),
                        format_duration(c.elapsed_ms)
                    ),
                ),
            };
            ClockVm {
                label: c.kind.label(),
                status: c.status.label(),
                tone,
                why_html: why,
            }
        })
        .collect();
    Ok(Some(SlaVm {
        policy_name: s.policy_name,
        clocks,
    }))
}
