//! What every page shares: the top bar (`Chrome`), the directory of users and pipelines that
//! turns ids into names, and formatting of times and labels.

use fd_app::domain::entities::{Pipeline, Stage, Team, Ticket, User};
use fd_app::domain::*;
use fd_app::{App, AppError};

use super::Agent;

/// The top bar and what the layout needs to know about the signed-in agent.
pub(crate) struct Chrome {
    pub title: String,
    pub nav: &'static str,
    pub user_id: i64,
    pub user_name: String,
    pub user_email: String,
    pub csrf: String,
    pub is_admin: bool,
    pub has_seat: bool,
    pub can_tickets: bool,
    pub unread: i64,
    /// What the live-update stream of this page watches (`ticket:1`, `conversation:2`…).
    pub watch: String,
    /// The toast's sentence: what the post that led here came to (`flash.rs`).
    pub flash: &'static str,
}

impl Chrome {
    pub async fn load(
        app: &App,
        agent: &Agent,
        nav: &'static str,
        title: impl Into<String>,
    ) -> Result<Chrome, AppError> {
        let unread = app.unread_notification_count(&agent.actor).await?;
        Ok(Chrome {
            title: title.into(),
            nav,
            user_id: agent.user.id.0,
            user_name: agent.user.name.clone(),
            user_email: agent.user.email.clone(),
            csrf: agent.csrf.clone(),
            is_admin: agent.actor.viewer.is_account_admin(),
            has_seat: agent.actor.viewer.has_service_seat(),
            can_tickets: agent.actor.viewer.can_use_tickets(),
            unread,
            watch: String::new(),
            flash: agent.flash.map(|f| f.message()).unwrap_or_default(),
        })
    }

    /// The page a post from a thread returns to: the ticket or conversation being watched.
    pub fn here(&self) -> String {
        match self.watch.split_once(':') {
            Some(("ticket", id)) => format!("/helpdesk/tickets/{id}"),
            Some(("conversation", id)) => format!("/inbox/conversations/{id}"),
            _ => "/helpdesk".into(),
        }
    }

    pub fn watching(mut self, what: impl Into<String>) -> Self {
        self.watch = what.into();
        self
    }
}

/// Names for ids: users, teams, pipelines and stages.
pub(crate) struct Directory {
    pub users: Vec<User>,
    pub teams: Vec<Team>,
    pub pipelines: Vec<Pipeline>,
}

impl Directory {
    pub async fn load(app: &App) -> Result<Directory, AppError> {
        Ok(Directory {
            users: app.users().await?,
            teams: app.teams().await?,
            pipelines: app.pipelines().await?,
        })
    }

    pub fn user_name(&self, id: Option<UserId>) -> String {
        match id {
            None => "Unassigned".into(),
            Some(id) => self
                .users
                .iter()
                .find(|u| u.id == id)
                .map(|u| u.name.clone())
                .unwrap_or_else(|| format!("User {id}")),
        }
    }

    pub fn team_name(&self, id: Option<TeamId>) -> String {
        id.and_then(|id| self.teams.iter().find(|t| t.id == id))
            .map(|t| t.name.clone())
            .unwrap_or_default()
    }

    pub fn stage(&self, id: StageId) -> Option<&Stage> {
        self.pipelines
            .iter()
            .flat_map(|p| p.stages.iter())
            .find(|s| s.id == id)
    }

    pub fn stage_label(&self, id: StageId) -> String {
        self.stage(id)
            .map(|s| s.label.clone())
            .unwrap_or_else(|| format!("Stage {id}"))
    }

    pub fn pipeline_label(&self, id: PipelineId) -> String {
        self.pipelines
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.label.clone())
            .unwrap_or_else(|| format!("Pipeline {id}"))
    }

    pub fn active_users(&self) -> impl Iterator<Item = &User> {
        self.users.iter().filter(|u| u.active)
    }

    /// Owner choices for a select, the current one marked.
    pub fn owner_options(&self, current: Option<UserId>) -> Vec<Opt> {
        let mut out = vec![Opt::new("", "Unassigned", current.is_none())];
        out.extend(
            self.active_users()
                .map(|u| Opt::new(u.id.to_string(), u.name.clone(), Some(u.id) == current)),
        );
        out
    }

    /// Status choices grouped by pipeline (choosing a stage also chooses its pipeline).
    pub fn stage_groups(&self, current: Option<StageId>) -> Vec<OptGroup> {
        self.pipelines
            .iter()
            .map(|p| OptGroup {
                label: p.label.clone(),
                options: p
                    .stages
                    .iter()
                    .filter(|s| !s.archived)
                    .map(|s| Opt::new(s.id.to_string(), s.label.clone(), Some(s.id) == current))
                    .collect(),
            })
            .collect()
    }

    /// The stages of one pipeline, for "Send and set status" (HD-19).
    pub fn send_statuses(&self, pipeline: PipelineId) -> Vec<StatusChoice> {
        self.pipelines
            .iter()
            .filter(|p| p.id == pipeline)
            .flat_map(|p| p.stages.iter())
            .filter(|s| !s.archived)
            .map(|s| StatusChoice {
                id: s.id.0,
                label: s.label.clone(),
                closed: s.state == StageState::Closed,
                required: s.required_properties.join(","),
            })
            .collect()
    }
}

/// One `<option>`.
#[derive(Debug, Clone)]
pub(crate) struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Opt {
    pub fn new(value: impl Into<String>, label: impl Into<String>, selected: bool) -> Opt {
        Opt {
            value: value.into(),
            label: label.into(),
            selected,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct OptGroup {
    pub label: String,
    pub options: Vec<Opt>,
}

/// A status the reply can move the ticket to, with the properties it requires (HD-19).
#[derive(Debug, Clone)]
pub(crate) struct StatusChoice {
    pub id: i64,
    pub label: String,
    pub closed: bool,
    /// Comma-separated required property names (read by the editor's script).
    pub required: String,
}

/// `2026-01-01 09:30 UTC`; the script turns `<time>` elements into local, relative times.
pub(crate) fn fmt_time(ms: Millis) -> String {
    let iso = fd_app::domain::property::format_time(ms);
    match (iso.get(0..10), iso.get(11..16)) {
        (Some(d), Some(t)) => format!("{d} {t} UTC"),
        _ => iso,
    }
}

pub(crate) fn iso_time(ms: Millis) -> String {
    fd_app::domain::property::format_time(ms)
}

pub(crate) fn priority_label(p: Option<&str>) -> &'static str {
    match p {
        Some("LOW") => "Low",
        Some("MEDIUM") => "Medium",
        Some("HIGH") => "High",
        Some("URGENT") => "Urgent",
        _ => "",
    }
}

pub(crate) fn channel_label(c: Channel) -> &'static str {
    match c {
        Channel::Email => "Email",
        Channel::Form => "Form",
        Channel::Chat => "Chat",
        Channel::Bot => "Bot",
        Channel::Call => "Call",
        Channel::Whatsapp => "WhatsApp",
        Channel::Messenger => "Messenger",
    }
}

/// A row of a ticket list.
#[derive(Debug, Clone)]
pub(crate) struct TicketRow {
    pub id: i64,
    pub subject: String,
    pub contact: String,
    pub status: String,
    pub closed: bool,
    pub owner: String,
    pub priority: &'static str,
    pub priority_class: String,
    pub last_activity: String,
    pub last_activity_iso: String,
    /// A search result's place of match: what matched and the excerpt's pieces (`true`:
    /// a matched word); escaped by the template like any text.
    pub matched: Option<(String, Vec<(String, bool)>)>,
}

impl TicketRow {
    pub fn new(t: &Ticket, dir: &Directory, contact: String) -> TicketRow {
        TicketRow {
            id: t.id.0,
            subject: t.subject.clone(),
            contact,
            status: dir.stage_label(t.stage_id),
            closed: !t.is_open,
            owner: dir.user_name(t.owner_id),
            priority: priority_label(t.priority.as_deref()),
            priority_class: t.priority.as_deref().unwrap_or("none").to_lowercase(),
            last_activity: fmt_time(t.last_activity_at),
            last_activity_iso: iso_time(t.last_activity_at),
            matched: None,
        }
    }
}
