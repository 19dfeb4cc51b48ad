//! Settings → Calling: the phone numbers connected as calling channels (issue 14). An
//! administrator lists them (number, team, help desk or inbox, when connected), connects a
//! number (E.164, checked by `fd_domain::engagements::normalize_e164` in the use case), sees
//! the webhook URL and the secret once — right after connecting or rotating it, in the answer
//! to that post, never again — and disconnects a number (its channel is archived).
//!
//! Only translates forms into `fd_app::App`'s calling use cases; must not contain SQL.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use fd_app::AppError;
use fd_app::domain::*;

use super::chat::{origin, require_admin};
use super::view::Opt;
use super::widgets::field_errors;
use super::{Agent, Chrome, Id, Post, UiResult, UiState, page};

pub(crate) fn routes() -> Router<UiState> {
    Router::new()
        .route("/settings/calling", get(settings).post(connect))
        .route("/settings/calling/{id}/rotate", post(rotate))
        .route("/settings/calling/{id}/disconnect", post(disconnect))
}

/// Where the telephony provider posts its signed events (`api/calling.rs`).
const EVENTS_PATH: &str = "/calling/v1/events";

pub(crate) struct NumberRow {
    pub id: i64,
    pub number: String,
    pub team: String,
    pub workspace: &'static str,
    pub created_at: Millis,
}

/// The secret of a channel just connected or rotated: shown in this answer only.
pub(crate) struct Revealed {
    pub number: String,
    pub secret: String,
    pub rotated: bool,
}

/// What the connect form holds (kept when refused) and its errors.
#[derive(Default)]
pub(crate) struct ConnectForm {
    pub number: String,
    pub team: String,
    pub inbox: bool,
    pub number_error: Option<String>,
    pub team_error: Option<String>,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "ui/settings_calling.html")]
struct CallingSettingsPage {
    chrome: Chrome,
    numbers: Vec<NumberRow>,
    teams: Vec<Opt>,
    webhook_url: String,
    revealed: Option<Revealed>,
    form: ConnectForm,
}

fn workspace_words(w: Workspace) -> &'static str {
    match w {
        Workspace::HelpDesk => "Help desk (a ticket per call)",
        Workspace::Inbox => "Inbox (no ticket)",
    }
}

async fn render(
    st: &UiState,
    agent: &Agent,
    headers: &HeaderMap,
    revealed: Option<Revealed>,
    form: ConnectForm,
) -> UiResult {
    require_admin(agent)?;
    let chrome = Chrome::load(&st.app, agent, "settings", "Calling").await?;
    let teams = st.app.teams().await?;
    let numbers = st
        .app
        .calling_settings(&agent.actor)
        .await?
        .into_iter()
        .map(|c| NumberRow {
            id: c.id,
            team: teams
                .iter()
                .find(|t| t.id == c.team_id)
                .map(|t| t.name.clone())
                .unwrap_or_default(),
            workspace: workspace_words(c.workspace),
            created_at: c.created_at,
            number: c.number,
        })
        .collect();
    let team_opts = teams
        .iter()
        .map(|t| {
            let v = t.id.to_string();
            let selected = v == form.team;
            Opt::new(v, t.name.clone(), selected)
        })
        .collect();
    page(&CallingSettingsPage {
        chrome,
        numbers,
        teams: team_opts,
        webhook_url: format!("{}{EVENTS_PATH}", origin(headers)),
        revealed,
        form,
    })
}

async fn settings(State(st): State<UiState>, agent: Agent, headers: HeaderMap) -> UiResult {
    render(&st, &agent, &headers, None, ConnectForm::default()).await
}

async fn connect(State(st): State<UiState>, headers: HeaderMap, post: Post) -> UiResult {
    require_admin(&post.agent)?;
    let f = &post.fields;
    let mut form = ConnectForm {
        number: f.get("number").unwrap_or("").to_string(),
        team: f.get("team").unwrap_or("").trim().to_string(),
        inbox: f.get("workspace") == Some("inbox"),
        ..ConnectForm::default()
    };
    let workspace = if form.inbox {
        Workspace::Inbox
    } else {
        Workspace::HelpDesk
    };
    if form.team.is_empty() {
        form.team_error = Some("Choose a team.".into());
        return refused(&st, &post.agent, &headers, form).await;
    }
    match st
        .app
        .connect_calling(&post.agent.actor, &form.number, &form.team, workspace)
        .await
    {
        Ok(ch) => {
            let revealed = Revealed {
                number: ch.number,
                secret: ch.secret,
                rotated: false,
            };
            render(
                &st,
                &post.agent,
                &headers,
                Some(revealed),
                ConnectForm::default(),
            )
            .await
        }
        Err(e @ (AppError::Domain(_) | AppError::Conflict(_) | AppError::NotFound { .. })) => {
            let (mut at, rest) = field_errors(&e, "number");
            form.number_error = at.remove("number");
            if let AppError::NotFound { .. } = e {
                form.team_error = Some("This team does not exist.".into());
            } else if let AppError::Conflict(m) = &e {
                form.number_error = Some(m.clone());
            } else {
                form.error = rest.or_else(|| {
                    (!at.is_empty()).then(|| at.into_values().collect::<Vec<_>>().join(" "))
                });
            }
            refused(&st, &post.agent, &headers, form).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The page again with the form as typed and its errors, answered 400.
async fn refused(st: &UiState, agent: &Agent, headers: &HeaderMap, form: ConnectForm) -> UiResult {
    let mut r = render(st, agent, headers, None, form).await?;
    *r.status_mut() = StatusCode::BAD_REQUEST;
    Ok(r)
}

async fn rotate(
    State(st): State<UiState>,
    Path(Id(id)): Path<Id>,
    headers: HeaderMap,
    post: Post,
) -> UiResult {
    let ch = st.app.rotate_calling_secret(&post.agent.actor, id).await?;
    let revealed = Revealed {
        number: ch.number,
        secret: ch.secret,
        rotated: true,
    };
    render(
        &st,
        &post.agent,
        &headers,
        Some(revealed),
        ConnectForm::default(),
    )
    .await
}

async fn disconnect(State(st): State<UiState>, Path(Id(id)): Path<Id>, post: Post) -> UiResult {
    st.app.disconnect_calling(&post.agent.actor, id).await?;
    Ok(Redirect::to("/settings/calling").into_response())
}
