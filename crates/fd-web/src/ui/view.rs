//! What every page shares: the top bar (`Chrome`), the directory of users and pipelines that
//! turns ids into names, and formatting of times and labels.

use fd_app::domain::entities::{Pipeline, Stage, Team, Ticket, User};
use fd_app::domain::*;
use fd_app::{App, AppError};

use super::Agent;
use fd_app::domain::local_time::{self, UserTimeZone};

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
    /// How this page shows times (the agent's zone, now): templates write every timestamp as
    /// `{{ chrome.times.html(ms)|safe }}`.
    pub times: Times,
    /// The agent's chat availability (the top bar's toggle).
    pub available: bool,
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
            times: Times::of(app, agent),
            available: app.availability(agent.user.id).await?,
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

/// How a page shows times: in the signed-in agent's own zone, as of one reading of the app's
/// clock per page. Every timestamp of every screen goes through [`Times::when`] (or
/// [`Times::text`] inside other words), so all share `fd_domain::local_time`'s one format.
#[derive(Debug, Clone)]
pub(crate) struct Times {
    tz: UserTimeZone,
    now: Millis,
}

impl Times {
    pub fn of(app: &App, agent: &Agent) -> Times {
        Times {
            tz: UserTimeZone::or_utc(&agent.user.time_zone),
            now: app.now(),
        }
    }

    /// A `<time>` element's parts.
    pub fn when(&self, ms: Millis) -> When {
        When(local_time::stamp(ms, &self.tz, self.now))
    }

    /// The wording alone, for a time inside a sentence.
    pub fn text(&self, ms: Millis) -> String {
        self.when(ms).0.text
    }

    /// The `<time>` element of a moment (see [`When::html`]).
    pub fn html(&self, ms: &Millis) -> String {
        self.when(*ms).html()
    }

    pub fn zone_name(&self) -> &str {
        self.tz.name()
    }
}

/// Text for an HTML attribute or element (the stamps hold only our own formatting, but they
/// are escaped like any text).
fn escape_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A rendered moment: `{{ x.html()|safe }}` writes
/// `<time datetime="RFC 3339" title="absolute">relative or absolute</time>`; `data-ticking`
/// marks minute and hour wordings the script keeps current (it never changes the format).
#[derive(Debug, Clone)]
pub(crate) struct When(pub local_time::Stamp);

impl When {
    pub fn html(&self) -> String {
        let s = &self.0;
        format!(
            "<time datetime=\"{}\" title=\"{}\"{}>{}</time>",
            escape_attr(&s.iso),
            escape_attr(&s.absolute),
            if s.ticking { " data-ticking" } else { "" },
            escape_attr(&s.text)
        )
    }
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
    /// A search result's place of match: what matched and the excerpt's pieces (`true`:
    /// a matched word); escaped by the template like any text.
    pub matched: Option<(String, Vec<(String, bool)>)>,
    pub last_activity_at: Millis,
    /// The latest message's first line.
    pub preview: String,
    /// A customer wrote since this agent last opened the ticket.
    pub unread: bool,
    /// The SLA state of its most pressing clock and its badge tone (issue 16 item 1); the
    /// page shows it to Service Seat holders only (HD-04).
    pub sla: Option<(&'static str, &'static str)>,
}

/// A ticket's most pressing SLA state from HubSpot's status codes (HUBSPOT-API-2.md §7):
/// overdue, then due soon, then running, then completed late, then on time.
fn sla_cell(t: &Ticket) -> Option<(&'static str, &'static str)> {
    let codes: Vec<&str> = [
        "hs_time_to_first_response_sla_status",
        "hs_time_to_next_response_sla_status",
        "hs_time_to_close_sla_status",
    ]
    .iter()
    .filter_map(|n| t.custom.get(*n).map(String::as_str))
    .collect();
    [
        ("1", "Breached", "late"),
        ("2", "Due soon", "soon"),
        ("0", "Running", "ok"),
        ("4", "Met late", "late"),
        ("3", "Met", "ok"),
    ]
    .into_iter()
    .find(|(c, _, _)| codes.contains(c))
    .map(|(_, label, tone)| (label, tone))
}

impl TicketRow {
    pub fn new(
        t: &Ticket,
        dir: &Directory,
        contact: String,
        digest: Option<&fd_app::RowDigest>,
    ) -> TicketRow {
        TicketRow {
            id: t.id.0,
            subject: t.subject.clone(),
            contact,
            status: dir.stage_label(t.stage_id),
            closed: !t.is_open,
            owner: dir.user_name(t.owner_id),
            priority: priority_label(t.priority.as_deref()),
            priority_class: t.priority.as_deref().unwrap_or("none").to_lowercase(),
            matched: None,
            last_activity_at: t.last_activity_at,
            preview: digest.map(|d| d.preview.clone()).unwrap_or_default(),
            unread: digest.is_some_and(|d| d.unread),
            sla: sla_cell(t),
        }
    }
}
