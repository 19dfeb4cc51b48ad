//! Settings → Routing (issue 16, item 2): per team, how new unassigned tickets are handed
//! out — manual, round robin or load balanced, with a capacity — and per channel an override;
//! each team's members with their availability, open tickets and whether routing would pick
//! them now, and an administrator's Available/Away switch for each (HubSpot's Availability
//! Management; agents use the top bar's toggle).
//!
//! Only translates forms into `fd_app::App`'s routing and availability use cases; must not
//! contain SQL.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use fd_app::AppError;
use fd_app::domain::routing::{
    self, Candidate, Ineligible, RoutingChannel, RoutingMode, RoutingSetting,
};
use fd_app::domain::*;

use super::flash::{Flash, see_other_flash};
use super::view::Opt;
use super::{Agent, Chrome, Id, Post, UiError, UiResult, UiState, page};

pub(crate) fn routes() -> Router<UiState> {
    Router::new()
        .route("/settings/routing", get(settings))
        .route("/settings/routing/{id}", post(save))
        .route(
            "/settings/routing/availability/{id}",
            post(set_member_availability),
        )
}

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

/// One setting's controls (the team's, or a channel's with "team default" as first choice).
pub(crate) struct SettingRow {
    /// Field-name prefix: `team` or the channel's name.
    pub key: &'static str,
    pub label: &'static str,
    pub modes: Vec<Opt>,
    pub capacity: String,
    /// What applies (for a channel following the team: the team's).
    pub applies: String,
}

pub(crate) struct MemberRow {
    pub id: UserId,
    pub name: String,
    pub available: bool,
    pub open_tickets: i64,
    /// Whether routing would give them a ticket now (under the team's own setting), or why not.
    pub status: &'static str,
}

pub(crate) struct TeamCard {
    pub id: TeamId,
    pub name: String,
    /// The team's own setting first, then each channel's.
    pub rows: Vec<SettingRow>,
    pub members: Vec<MemberRow>,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "ui/settings_routing.html")]
struct RoutingSettingsPage {
    chrome: Chrome,
    teams: Vec<TeamCard>,
}

fn describe(s: RoutingSetting) -> String {
    match (s.mode, s.capacity) {
        (RoutingMode::Manual, _) => "Manual: tickets stay unassigned".into(),
        (m, Some(c)) => format!("{}, up to {c} open tickets each", m.label()),
        (m, None) => format!("{}, no capacity limit", m.label()),
    }
}

fn mode_options(current: Option<RoutingMode>, with_default: bool) -> Vec<Opt> {
    let mut out = Vec::new();
    if with_default {
        out.push(Opt::new("", "Same as the team", current.is_none()));
    }
    for m in RoutingMode::ALL {
        out.push(Opt::new(m.as_cli(), m.label(), current == Some(m)));
    }
    out
}

fn status_words(r: Result<(), Ineligible>) -> &'static str {
    match r {
        Ok(()) => "Eligible",
        Err(Ineligible::Away) => "Skipped: away",
        Err(Ineligible::Inactive) => "Skipped: deactivated",
        Err(Ineligible::NoAccess) => "Skipped: no ticket access",
        Err(Ineligible::AtCapacity) => "Skipped: at capacity",
        Err(Ineligible::NotInTeam) => "Skipped: not in the team",
    }
}

/// A refused save: the team, why, and the form as posted (shown again as typed).
struct Refused<'a> {
    team: TeamId,
    message: String,
    fields: &'a super::auth::Fields,
}

impl Refused<'_> {
    /// Puts the posted mode and capacity back into `row` when it is the refused team's.
    fn retype(&self, team: TeamId, row: &mut SettingRow) {
        if team != self.team {
            return;
        }
        let mode = self.fields.get(&format!("{}_mode", row.key)).unwrap_or("");
        for o in &mut row.modes {
            o.selected = o.value == mode;
        }
        row.capacity = self
            .fields
            .get(&format!("{}_capacity", row.key))
            .unwrap_or("")
            .to_string();
    }
}

async fn render(st: &UiState, agent: &Agent, error: Option<Refused<'_>>) -> UiResult {
    require_admin(agent)?;
    let chrome = Chrome::load(&st.app, agent, "settings", "Routing").await?;
    let teams = st
        .app
        .routing_overview(&agent.actor)
        .await?
        .into_iter()
        .map(|v| {
            let mut rows = vec![SettingRow {
                key: "team",
                label: "All channels",
                modes: mode_options(Some(v.setting.mode), false),
                capacity: v
                    .setting
                    .capacity
                    .map(|n| n.to_string())
                    .unwrap_or_default(),
                applies: describe(v.setting),
            }];
            rows.extend(RoutingChannel::ALL.into_iter().map(|c| {
                let own = v.channel(c);
                SettingRow {
                    key: c.as_str(),
                    label: c.label(),
                    modes: mode_options(own.map(|s| s.mode), true),
                    capacity: own
                        .and_then(|s| s.capacity)
                        .map(|n| n.to_string())
                        .unwrap_or_default(),
                    applies: describe(v.effective(c)),
                }
            }));
            let members = v
                .members
                .iter()
                .map(|m| {
                    let c = Candidate {
                        user: m.user.id,
                        active: m.user.active,
                        in_team: true,
                        available: m.available,
                        may_access: m.user.viewer().can_use_tickets(),
                        open_tickets: m.open_tickets,
                    };
                    MemberRow {
                        id: m.user.id,
                        name: m.user.name.clone(),
                        available: m.available,
                        open_tickets: m.open_tickets,
                        status: status_words(routing::eligibility(&c, v.setting.capacity)),
                    }
                })
                .collect();
            if let Some(r) = &error {
                for row in &mut rows {
                    r.retype(v.team.id, row);
                }
            }
            TeamCard {
                id: v.team.id,
                error: error
                    .as_ref()
                    .filter(|r| r.team == v.team.id)
                    .map(|r| r.message.clone()),
                name: v.team.name,
                rows,
                members,
            }
        })
        .collect();
    page(&RoutingSettingsPage { chrome, teams })
}

async fn settings(State(st): State<UiState>, agent: Agent) -> UiResult {
    render(&st, &agent, None).await
}

/// Reads one row of the form: `None` for a channel left on "Same as the team".
fn read_setting(post: &Post, key: &str) -> Result<Option<RoutingSetting>, String> {
    let mode = post.fields.get(&format!("{key}_mode")).unwrap_or("").trim();
    let capacity = post.fields.get(&format!("{key}_capacity")).unwrap_or("");
    if mode.is_empty() {
        if !capacity.trim().is_empty() {
            return Err("A channel that follows the team takes the team's capacity: choose a mode for it, or leave its capacity empty.".into());
        }
        return Ok(None);
    }
    let mode = RoutingMode::parse(mode).map_err(|e| e.message)?;
    let capacity =
        routing::parse_capacity(capacity).map_err(|e| format!("Capacity {}", e.message))?;
    Ok(Some(RoutingSetting { mode, capacity }))
}

/// Why a save did not go through: the form's fault (shown on the page) or anything else.
enum Refusal {
    Form(String),
    App(AppError),
}

impl From<AppError> for Refusal {
    fn from(e: AppError) -> Refusal {
        match e {
            AppError::Domain(DomainError::Invalid(errs)) => Refusal::Form(
                errs.into_iter()
                    .map(|e| e.message)
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            other => Refusal::App(other),
        }
    }
}

async fn save_all(st: &UiState, post: &Post, team: TeamId) -> Result<(), Refusal> {
    let own = read_setting(post, "team")
        .map_err(|e| Refusal::Form(format!("All channels: {e}")))?
        .ok_or_else(|| Refusal::Form("Choose a mode for the team.".into()))?;
    let mut channels = Vec::new();
    for c in RoutingChannel::ALL {
        let s = read_setting(post, c.as_str())
            .map_err(|e| Refusal::Form(format!("{}: {e}", c.label())))?;
        channels.push((c, s));
    }
    let actor = &post.agent.actor;
    st.app.set_routing(actor, team, None, Some(own)).await?;
    for (c, s) in channels {
        st.app.set_routing(actor, team, Some(c), s).await?;
    }
    Ok(())
}

/// Saves a team's setting and every channel's in turn; a refusal shows in the team's card.
async fn save(State(st): State<UiState>, Path(Id(id)): Path<Id>, post: Post) -> UiResult {
    require_admin(&post.agent)?;
    let team = TeamId(id);
    match save_all(&st, &post, team).await {
        Ok(()) => see_other_flash("/settings/routing", Flash::SettingsSaved),
        Err(Refusal::App(e)) => Err(e.into()),
        Err(Refusal::Form(e)) => {
            let refused = Refused {
                team,
                message: e,
                fields: &post.fields,
            };
            let mut r = render(&st, &post.agent, Some(refused)).await?;
            *r.status_mut() = StatusCode::BAD_REQUEST;
            Ok(r)
        }
    }
}

/// An administrator sets a member available or away (the same use case as the top bar's
/// toggle, the users API and `admin set-availability`).
async fn set_member_availability(
    State(st): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    require_admin(&post.agent)?;
    st.app
        .set_user_availability(&post.agent.actor, UserId(id), post.fields.flag("available"))
        .await?;
    see_other_flash("/settings/routing", Flash::SettingsSaved)
}
