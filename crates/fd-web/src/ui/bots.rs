//! Settings → Chat bots (issue 14 item 4, HD-08): each chat channel's bots, a new bot from
//! JSON (import), the step editor (a plain form: one fieldset per step, blank ones to add
//! steps), editing as JSON, enabling, the JSON export download and deleting.
//!
//! Only translates: the form's fields become an `fd_domain::bots::BotDefinition`, and every
//! action is an `fd_app::App` use case, which validates. A refused definition shows the page
//! again with the reasons and what was typed. Must not contain SQL.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use fd_app::domain::bots::{AskOption, BotDefinition, Case, Step, StepKind};
use fd_app::domain::*;
use fd_app::{AppError, Bot};

use super::auth::Fields;
use super::view::Opt;
use super::{Agent, Chrome, Id, Post, UiError, UiResult, UiState, page};

pub(crate) fn routes() -> Router<UiState> {
    Router::new()
        .route("/settings/bots", get(list).post(import))
        .route("/settings/bots/{id}", get(edit).post(save_steps))
        .route("/settings/bots/{id}/json", post(save_json))
        .route("/settings/bots/{id}/enabled", post(set_enabled))
        .route("/settings/bots/{id}/delete", post(delete))
        .route("/settings/bots/{id}/export", get(export))
}

/// A new bot's JSON to start from (the channel's team must be the hand-off's).
const SAMPLE: &str = r#"{
  "steps": [
    {"id": "hello", "kind": "ask", "text": "Hi! How can we help?",
     "options": [{"label": "Talk to someone", "next": "handoff"},
                 {"label": "Leave a request", "next": "email"}]},
    {"id": "email", "kind": "collect_email", "text": "Your email address?", "next": "ticket"},
    {"id": "ticket", "kind": "create_ticket", "text": "Thanks, we opened a ticket for you.",
     "subject": "Chat request from {{email}}"},
    {"id": "handoff", "kind": "hand_off", "team": TEAM, "text": "Connecting you to our team."}
  ]
}"#;

const KINDS: [(&str, &str); 8] = [
    ("message", "Send a message"),
    ("ask", "Ask with quick replies"),
    ("collect_email", "Collect an email address"),
    ("collect_name", "Collect a name"),
    ("branch", "Branch on an answer"),
    ("hand_off", "Hand off to a team"),
    ("create_ticket", "Create a ticket"),
    ("end", "End"),
];

fn require_admin(agent: &Agent) -> Result<(), UiError> {
    if agent.actor.viewer.is_account_admin() {
        Ok(())
    } else {
        Err(UiError::new(
            StatusCode::FORBIDDEN,
            "Settings need Super Admin or Account Access permissions.",
        ))
    }
}

/// The sentences of a refusal the admin can act on; other errors stay errors.
fn reasons(e: AppError) -> Result<Vec<String>, UiError> {
    match e {
        AppError::Domain(DomainError::Invalid(fields)) => {
            Ok(fields.into_iter().map(|f| f.message).collect())
        }
        AppError::Domain(other) => Ok(vec![other.to_string()]),
        other => Err(other.into()),
    }
}

fn invalid(t: &impl Template) -> UiResult {
    let mut r = page(t)?;
    *r.status_mut() = StatusCode::BAD_REQUEST;
    Ok(r)
}

// ---- The list and the import ---------------------------------------------------------------

pub(crate) struct BotItem {
    pub id: i64,
    pub name: String,
    pub enabled: bool,
    pub steps: usize,
}

pub(crate) struct ChannelBots {
    pub id: i64,
    pub name: String,
    pub bots: Vec<BotItem>,
}

#[derive(Template)]
#[template(path = "ui/settings_bots.html")]
struct BotsPage {
    chrome: Chrome,
    channels: Vec<ChannelBots>,
    errors: Vec<String>,
    name: String,
    json: String,
    channel: i64,
}

async fn bots_page(
    st: &UiState,
    agent: &Agent,
    errors: Vec<String>,
    name: String,
    json: Option<String>,
    channel: i64,
) -> Result<BotsPage, UiError> {
    require_admin(agent)?;
    let chrome = Chrome::load(&st.app, agent, "settings", "Chat bots").await?;
    let mut channels = Vec::new();
    let mut first_team = None;
    for c in st.app.chat_channels().await? {
        if c.archived_at.is_some() {
            continue;
        }
        first_team.get_or_insert(c.team_id);
        let bots = st
            .app
            .bots(&agent.actor, c.id)
            .await?
            .into_iter()
            .map(|b| BotItem {
                id: b.id,
                steps: b.definition.steps.len(),
                name: b.name,
                enabled: b.enabled,
            })
            .collect();
        channels.push(ChannelBots {
            id: c.id,
            name: c.name,
            bots,
        });
    }
    let team = first_team
        .map(|t| t.to_string())
        .unwrap_or_else(|| "1".into());
    Ok(BotsPage {
        chrome,
        channels,
        errors,
        name,
        json: json.unwrap_or_else(|| SAMPLE.replace("TEAM", &team)),
        channel,
    })
}

async fn list(State(st): State<UiState>, agent: Agent) -> UiResult {
    page(&bots_page(&st, &agent, Vec::new(), String::new(), None, 0).await?)
}

/// A new bot from its JSON (the sample, or an exported bot pasted or uploaded as text).
async fn import(State(st): State<UiState>, post: Post) -> UiResult {
    let f = &post.fields;
    let channel = f
        .checked_id("channel")?
        .ok_or_else(|| UiError::bad_request("Choose a chat channel."))?;
    let name = f.get("name").unwrap_or("").to_string();
    let json = f.get("json").unwrap_or("").to_string();
    match st
        .app
        .import_bot(&post.agent.actor, channel, Some(&name), &json)
        .await
    {
        Ok(bot) => Ok(Redirect::to(&format!("/settings/bots/{}", bot.id)).into_response()),
        Err(e) => {
            let errors = reasons(e)?;
            invalid(&bots_page(&st, &post.agent, errors, name, Some(json), channel).await?)
        }
    }
}

// ---- The editor ----------------------------------------------------------------------------

/// One step as the form shows it; every field is present on every row, so the posted
/// lists line up by position.
#[derive(Default)]
pub(crate) struct StepRow {
    pub n: usize,
    pub id: String,
    pub kind: String,
    pub text: String,
    pub next: String,
    /// `ask`: one answer a line, `Label -> step`; `branch`: one case a line,
    /// `equals VALUE -> step` or `contains VALUE -> step`.
    pub choices: String,
    pub otherwise: String,
    pub team: String,
    pub subject: String,
    pub on: String,
}

fn row_of(n: usize, s: &Step) -> StepRow {
    let mut r = StepRow {
        n,
        id: s.id.clone(),
        kind: s.kind.name().into(),
        text: s.kind.text().into(),
        ..StepRow::default()
    };
    match &s.kind {
        StepKind::Message { next, .. }
        | StepKind::CollectEmail { next, .. }
        | StepKind::CollectName { next, .. } => r.next = next.clone(),
        StepKind::Ask {
            options, otherwise, ..
        } => {
            r.choices = options
                .iter()
                .map(|o| format!("{} -> {}", o.label, o.next))
                .collect::<Vec<_>>()
                .join("\n");
            r.otherwise = otherwise.clone().unwrap_or_default();
        }
        StepKind::Branch {
            on,
            cases,
            otherwise,
        } => {
            r.on = on.clone();
            r.choices = cases
                .iter()
                .map(|c| match (&c.equals, &c.contains) {
                    (Some(e), _) => format!("equals {e} -> {}", c.next),
                    (None, Some(x)) => format!("contains {x} -> {}", c.next),
                    (None, None) => format!("equals  -> {}", c.next),
                })
                .collect::<Vec<_>>()
                .join("\n");
            r.otherwise = otherwise.clone();
        }
        StepKind::HandOff { team, .. } => r.team = team.to_string(),
        StepKind::CreateTicket { subject, next, .. } => {
            r.subject = subject.clone().unwrap_or_default();
            r.next = next.clone().unwrap_or_default();
        }
        StepKind::End { .. } => {}
    }
    r
}

/// Blank rows after the steps, to add steps without script.
const BLANK_ROWS: usize = 2;

/// The form's rows: the bot's start first (the form has no `start`: a bot starts at its
/// first step), then the others in order, then blank rows.
fn rows_of(def: &BotDefinition) -> Vec<StepRow> {
    let start = def.start_id();
    let ordered = def
        .steps
        .iter()
        .filter(|s| Some(s.id.as_str()) == start)
        .chain(def.steps.iter().filter(|s| Some(s.id.as_str()) != start));
    let mut rows: Vec<StepRow> = ordered.enumerate().map(|(i, s)| row_of(i + 1, s)).collect();
    for _ in 0..BLANK_ROWS {
        rows.push(StepRow {
            n: rows.len() + 1,
            kind: "message".into(),
            ..StepRow::default()
        });
    }
    rows
}

/// The posted rows, as typed.
fn posted_rows(f: &Fields) -> Vec<StepRow> {
    let col = |name: &str| f.all(name);
    let (ids, kinds, texts, nexts, choices, elses, teams, subjects, ons) = (
        col("step_id"),
        col("step_kind"),
        col("step_text"),
        col("step_next"),
        col("step_choices"),
        col("step_else"),
        col("step_team"),
        col("step_subject"),
        col("step_on"),
    );
    let at = |v: &Vec<&str>, i: usize| v.get(i).copied().unwrap_or("").to_string();
    (0..ids.len())
        .map(|i| StepRow {
            n: i + 1,
            id: at(&ids, i).trim().to_string(),
            kind: at(&kinds, i),
            text: at(&texts, i),
            next: at(&nexts, i).trim().to_string(),
            choices: at(&choices, i),
            otherwise: at(&elses, i).trim().to_string(),
            team: at(&teams, i),
            subject: at(&subjects, i),
            on: at(&ons, i).trim().to_string(),
        })
        .collect()
}

/// `left -> right`, both trimmed.
fn arrow(line: &str) -> Option<(String, String)> {
    let (l, r) = line.rsplit_once("->")?;
    Some((l.trim().to_string(), r.trim().to_string()))
}

/// The definition the rows describe; rows with neither id nor text are blank and skipped.
/// What the form cannot express is refused here; everything else is fd-domain's to check.
fn definition_of(rows: &[StepRow]) -> Result<BotDefinition, Vec<String>> {
    let mut errors = Vec::new();
    let mut steps = Vec::new();
    for r in rows {
        if r.id.is_empty() && r.text.trim().is_empty() {
            continue;
        }
        let name = if r.id.is_empty() {
            format!("step {}", r.n)
        } else {
            format!("step {:?}", r.id)
        };
        let lines = || {
            r.choices
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
        };
        let text = r.text.trim().to_string();
        let kind = match r.kind.as_str() {
            "message" => StepKind::Message {
                text,
                next: r.next.clone(),
            },
            "ask" => {
                let mut options = Vec::new();
                for l in lines() {
                    match arrow(l) {
                        Some((label, next)) => options.push(AskOption { label, next }),
                        None => errors.push(format!(
                            "{name}: write each answer as “Label -> step id” ({l:?})"
                        )),
                    }
                }
                StepKind::Ask {
                    text,
                    options,
                    otherwise: Some(r.otherwise.clone()).filter(|o| !o.is_empty()),
                }
            }
            "collect_email" => StepKind::CollectEmail {
                text,
                next: r.next.clone(),
            },
            "collect_name" => StepKind::CollectName {
                text,
                next: r.next.clone(),
            },
            "branch" => {
                let mut cases = Vec::new();
                for l in lines() {
                    let parsed = arrow(l).and_then(|(test, next)| {
                        if let Some(v) = test.strip_prefix("equals ") {
                            Some(Case {
                                equals: Some(v.trim().to_string()),
                                contains: None,
                                next,
                            })
                        } else {
                            test.strip_prefix("contains ").map(|v| Case {
                                equals: None,
                                contains: Some(v.trim().to_string()),
                                next,
                            })
                        }
                    });
                    match parsed {
                        Some(c) => cases.push(c),
                        None => errors.push(format!(
                            "{name}: write each case as “equals VALUE -> step id” or “contains VALUE -> step id” ({l:?})"
                        )),
                    }
                }
                StepKind::Branch {
                    on: r.on.clone(),
                    cases,
                    otherwise: r.otherwise.clone(),
                }
            }
            "hand_off" => match text::parse_id(r.team.trim()) {
                Some(t) => StepKind::HandOff {
                    team: TeamId(t),
                    text,
                },
                None => {
                    errors.push(format!("{name}: choose the team to hand off to"));
                    continue;
                }
            },
            "create_ticket" => StepKind::CreateTicket {
                text,
                subject: Some(r.subject.trim().to_string()).filter(|s| !s.is_empty()),
                next: Some(r.next.clone()).filter(|n| !n.is_empty()),
            },
            "end" => StepKind::End { text },
            other => {
                errors.push(format!("{name}: {other:?} is not a kind of step"));
                continue;
            }
        };
        steps.push(Step {
            id: r.id.clone(),
            kind,
        });
    }
    if errors.is_empty() {
        Ok(BotDefinition { start: None, steps })
    } else {
        Err(errors)
    }
}

pub(crate) struct StepView {
    pub row: StepRow,
    pub kinds: Vec<Opt>,
    pub teams: Vec<Opt>,
}

#[derive(Template)]
#[template(path = "ui/settings_bot_edit.html")]
struct EditPage {
    chrome: Chrome,
    bot: Bot,
    channel: String,
    steps: Vec<StepView>,
    json: String,
    errors: Vec<String>,
    name: String,
}

async fn edit_page(
    st: &UiState,
    agent: &Agent,
    bot: Bot,
    rows: Vec<StepRow>,
    name: String,
    json: Option<String>,
    errors: Vec<String>,
) -> Result<EditPage, UiError> {
    let chrome = Chrome::load(
        &st.app,
        agent,
        "settings",
        format!("Chat bot: {}", bot.name),
    )
    .await?;
    let teams = st.app.teams().await?;
    let channel = st
        .app
        .chat_channels()
        .await?
        .into_iter()
        .find(|c| c.id == bot.chat_channel_id)
        .map(|c| c.name)
        .unwrap_or_default();
    let steps = rows
        .into_iter()
        .map(|row| StepView {
            kinds: KINDS
                .iter()
                .map(|(k, l)| Opt::new(*k, *l, row.kind == *k))
                .collect(),
            teams: teams
                .iter()
                .map(|t| {
                    Opt::new(
                        t.id.to_string(),
                        t.name.clone(),
                        row.team == t.id.to_string(),
                    )
                })
                .collect(),
            row,
        })
        .collect();
    let json = match json {
        Some(j) => j,
        None => fd_app::bot_json(&bot)?,
    };
    Ok(EditPage {
        chrome,
        channel,
        steps,
        json,
        errors,
        name,
        bot,
    })
}

async fn edit(State(st): State<UiState>, agent: Agent, Path(Id(id)): Path<Id>) -> UiResult {
    require_admin(&agent)?;
    let bot = st.app.bot(&agent.actor, id).await?;
    let rows = rows_of(&bot.definition);
    let name = bot.name.clone();
    page(&edit_page(&st, &agent, bot, rows, name, None, Vec::new()).await?)
}

async fn save_steps(State(st): State<UiState>, Path(Id(id)): Path<Id>, post: Post) -> UiResult {
    require_admin(&post.agent)?;
    let bot = st.app.bot(&post.agent.actor, id).await?;
    let rows = posted_rows(&post.fields);
    let name = post.fields.get("name").unwrap_or("").to_string();
    let errors = match definition_of(&rows) {
        Ok(def) => match st.app.update_bot(&post.agent.actor, id, &name, &def).await {
            Ok(_) => return Ok(Redirect::to(&format!("/settings/bots/{id}")).into_response()),
            Err(e) => reasons(e)?,
        },
        Err(errors) => errors,
    };
    let mut rows = rows;
    rows.push(StepRow {
        n: rows.len() + 1,
        kind: "message".into(),
        ..StepRow::default()
    });
    invalid(&edit_page(&st, &post.agent, bot, rows, name, None, errors).await?)
}

async fn save_json(State(st): State<UiState>, Path(Id(id)): Path<Id>, post: Post) -> UiResult {
    require_admin(&post.agent)?;
    let bot = st.app.bot(&post.agent.actor, id).await?;
    let json = post.fields.get("json").unwrap_or("").to_string();
    let saved = match fd_app::parse_bot_json(&json) {
        Ok((name, def)) => {
            let name = name.unwrap_or_else(|| bot.name.clone());
            st.app.update_bot(&post.agent.actor, id, &name, &def).await
        }
        Err(e) => Err(e),
    };
    match saved {
        Ok(_) => Ok(Redirect::to(&format!("/settings/bots/{id}")).into_response()),
        Err(e) => {
            let errors = reasons(e)?;
            let rows = rows_of(&bot.definition);
            let name = bot.name.clone();
            invalid(&edit_page(&st, &post.agent, bot, rows, name, Some(json), errors).await?)
        }
    }
}

async fn set_enabled(State(st): State<UiState>, Path(Id(id)): Path<Id>, post: Post) -> UiResult {
    require_admin(&post.agent)?;
    let enabled = post.fields.flag("enabled");
    match st.app.set_bot_enabled(&post.agent.actor, id, enabled).await {
        Ok(()) => Ok(Redirect::to("/settings/bots").into_response()),
        Err(e) => {
            let errors = reasons(e)?;
            invalid(&bots_page(&st, &post.agent, errors, String::new(), None, 0).await?)
        }
    }
}

async fn delete(State(st): State<UiState>, Path(Id(id)): Path<Id>, post: Post) -> UiResult {
    require_admin(&post.agent)?;
    st.app.delete_bot(&post.agent.actor, id).await?;
    Ok(Redirect::to("/settings/bots").into_response())
}

/// The bot's JSON as a file (`bot-<id>.json`), which the import reads back.
async fn export(State(st): State<UiState>, agent: Agent, Path(Id(id)): Path<Id>) -> UiResult {
    require_admin(&agent)?;
    let json = st.app.export_bot(&agent.actor, id).await?;
    let mut r = json.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"bot-{id}.json\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(super::with_security_headers(r))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_step_form_reads_back_what_it_shows() {
        let json = SAMPLE.replace("TEAM", "3");
        let (_, def) = fd_app::parse_bot_json(&json).unwrap();
        let rows = rows_of(&def);
        assert_eq!(rows.len(), def.steps.len() + BLANK_ROWS);
        assert_eq!(definition_of(&rows).unwrap(), def);
        let bad = vec![StepRow {
            n: 1,
            id: "a".into(),
            kind: "ask".into(),
            text: "?".into(),
            choices: "no arrow here".into(),
            ..StepRow::default()
        }];
        assert!(definition_of(&bad).unwrap_err()[0].contains("Label -> step id"));
        // A bot that starts elsewhere than at its first step keeps starting there.
        let mut elsewhere = def.clone();
        elsewhere.start = Some(def.steps[1].id.clone());
        let back = definition_of(&rows_of(&elsewhere)).unwrap();
        assert_eq!(back.start_id(), Some(def.steps[1].id.as_str()));
        assert_eq!(back.steps.len(), def.steps.len());
    }
}
