//! Settings → Automation (issue 16, item 3; HD-20): the rules in order with their on/off
//! switch, when each last ran and what it did; a plain form to create or edit a rule
//! (trigger, condition rows, action rows; blank rows add more without script); delete.
//! Administrators only.
//!
//! Only translates: the form's fields become fd-domain's `automation` types (users by email,
//! teams by name, statuses by label), and every action is an `fd_app::App` use case, which
//! validates. A refused rule shows the form again with the reasons and what was typed.
//! Must not contain SQL.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use fd_app::domain::automation::{
    Action, Condition, PropertyOp, SlaClock, TimedEvent, Trigger, WeeklyHours,
};
use fd_app::domain::*;
use fd_app::{AppError, AutomationRule, RuleInput};

use super::auth::Fields;
use super::{Agent, Chrome, Id, Post, UiError, UiResult, UiState, page};

pub(crate) fn routes() -> Router<UiState> {
    Router::new()
        .route("/settings/automation", get(list).post(create))
        .route("/settings/automation/new", get(new_form))
        .route("/settings/automation/{id}", get(edit).post(save))
        .route("/settings/automation/{id}/enabled", post(set_enabled))
        .route("/settings/automation/{id}/delete", post(delete))
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

const TRIGGERS: [(&str, &str); 10] = [
    ("ticket_created", "A ticket is created"),
    ("customer_message", "The customer writes"),
    ("agent_reply", "An agent replies"),
    ("email_to_customer", "An email is sent to the customer"),
    ("status_changed", "The status changes"),
    ("owner_changed", "The owner changes"),
    ("property_changed", "A property changes"),
    ("time_since", "Time passes"),
    ("sla_due_soon", "An SLA clock becomes due soon"),
    ("sla_breached", "An SLA clock is breached"),
];

const CONDITION_KINDS: [(&str, &str); 6] = [
    ("", "(no condition)"),
    ("property", "Property"),
    ("channel", "Channel (EMAIL, FORM, CHAT, PHONE)"),
    ("team", "Team (names)"),
    ("pipeline", "Pipeline (id)"),
    ("business_hours", "Business hours"),
];

const OPS: [(&str, &str); 8] = [
    ("equals", "equals"),
    ("not_equals", "is not"),
    ("in", "is any of"),
    ("not_in", "is none of"),
    ("empty", "is empty"),
    ("not_empty", "is not empty"),
    ("inside", "inside the hours"),
    ("outside", "outside the hours"),
];

const ACTION_KINDS: [(&str, &str); 9] = [
    ("", "(no action)"),
    ("set_property", "Set property (target: property name)"),
    ("set_status", "Set status (value: status label)"),
    ("set_owner", "Set owner (target: email, empty: nobody)"),
    ("set_team", "Set team (target: team name, empty: none)"),
    ("add_follower", "Add follower (target: email)"),
    ("send_email", "Email the customer (value: text)"),
    ("comment", "Post an internal comment (value: text)"),
    (
        "notify",
        "Notify (target: emails or “owner”; value: message)",
    ),
];

/// A choice of a `<select>`.
pub(crate) struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

fn choices(all: &[(&'static str, &'static str)], current: &str) -> Vec<Choice> {
    all.iter()
        .map(|(value, label)| Choice {
            value,
            label,
            selected: *value == current,
        })
        .collect()
}

// ---- The list ------------------------------------------------------------------------------

pub(crate) struct RuleItem {
    pub id: i64,
    pub name: String,
    pub enabled: bool,
    pub builtin: bool,
    pub when: String,
    pub last_run_at: Option<Millis>,
    pub last_ticket: Option<TicketId>,
    pub last_outcome: String,
}

#[derive(Template)]
#[template(path = "ui/settings_automation.html")]
struct ListPage {
    chrome: Chrome,
    rules: Vec<RuleItem>,
}

fn trigger_text(t: &Trigger) -> String {
    match t {
        Trigger::PropertyChanged { property } => format!("Property {property} changes"),
        Trigger::TimeSince { event, minutes } => {
            format!("{} {}", duration_text(*minutes), event.label())
        }
        Trigger::SlaDueSoon { clock } => format!("{} becomes due soon", sla_clock_text(*clock)),
        Trigger::SlaBreached { clock } => format!("{} is breached", sla_clock_text(*clock)),
        other => TRIGGERS
            .iter()
            .find(|(k, _)| *k == trigger_key(other))
            .map(|(_, l)| l.to_string())
            .unwrap_or_default(),
    }
}

/// "Any SLA clock", "The first-response clock", … (the trigger's clock, capitalised).
fn sla_clock_text(c: SlaClock) -> String {
    let l = c.label();
    let mut chars = l.chars();
    match chars.next() {
        Some(f) => f.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn duration_text(minutes: i64) -> String {
    if minutes % 1440 == 0 {
        format!("{} day(s)", minutes / 1440)
    } else if minutes % 60 == 0 {
        format!("{} hour(s)", minutes / 60)
    } else {
        format!("{minutes} minute(s)")
    }
}

fn trigger_key(t: &Trigger) -> &'static str {
    match t {
        Trigger::TicketCreated => "ticket_created",
        Trigger::CustomerMessage => "customer_message",
        Trigger::AgentReply => "agent_reply",
        Trigger::EmailToCustomer => "email_to_customer",
        Trigger::StatusChanged => "status_changed",
        Trigger::OwnerChanged => "owner_changed",
        Trigger::PropertyChanged { .. } => "property_changed",
        Trigger::TimeSince { .. } => "time_since",
        Trigger::SlaDueSoon { .. } => "sla_due_soon",
        Trigger::SlaBreached { .. } => "sla_breached",
    }
}

async fn list(State(st): State<UiState>, agent: Agent) -> UiResult {
    require_admin(&agent)?;
    let chrome = Chrome::load(&st.app, &agent, "settings", "Automation").await?;
    let rules = st
        .app
        .automation_rules(&agent.actor)
        .await?
        .into_iter()
        .map(|r| RuleItem {
            id: r.rule.id,
            when: trigger_text(&r.rule.trigger),
            name: r.rule.name,
            enabled: r.rule.enabled,
            builtin: r.rule.builtin.is_some(),
            last_run_at: r.last_run_at,
            last_ticket: r.last_ticket,
            last_outcome: r.last_outcome.unwrap_or_default(),
        })
        .collect();
    page(&ListPage { chrome, rules })
}

async fn set_enabled(State(st): State<UiState>, Path(Id(id)): Path<Id>, post: Post) -> UiResult {
    require_admin(&post.agent)?;
    let enabled = post.fields.flag("enabled");
    st.app
        .set_automation_rule_enabled(&post.agent.actor, id, enabled)
        .await?;
    Ok(Redirect::to("/settings/automation").into_response())
}

async fn delete(State(st): State<UiState>, Path(Id(id)): Path<Id>, post: Post) -> UiResult {
    require_admin(&post.agent)?;
    match st.app.delete_automation_rule(&post.agent.actor, id).await {
        Ok(()) => Ok(Redirect::to("/settings/automation").into_response()),
        Err(e) => Err(UiError::bad_request(reasons(e)?.join(" "))),
    }
}

// ---- The form ------------------------------------------------------------------------------

#[derive(Default)]
pub(crate) struct CondRow {
    pub n: usize,
    pub kind: String,
    pub property: String,
    pub op: String,
    pub value: String,
}

#[derive(Default)]
pub(crate) struct ActRow {
    pub n: usize,
    pub kind: String,
    pub target: String,
    pub value: String,
}

#[derive(Default)]
struct FormState {
    name: String,
    enabled: bool,
    trigger: String,
    trigger_property: String,
    time_event: String,
    time_amount: String,
    time_unit: String,
    time_zone: String,
    sla_clock: String,
    conditions: Vec<CondRow>,
    actions: Vec<ActRow>,
}

#[derive(Template)]
#[template(path = "ui/settings_automation_edit.html")]
struct EditPage {
    chrome: Chrome,
    /// `None`: a new rule.
    id: Option<i64>,
    builtin: bool,
    errors: Vec<String>,
    name: String,
    enabled: bool,
    triggers: Vec<Choice>,
    trigger_property: String,
    time_events: Vec<(&'static str, &'static str, bool)>,
    time_amount: String,
    time_units: Vec<Choice>,
    time_zone: String,
    /// The SLA triggers' clock: `(value, label, selected)`.
    sla_clocks: Vec<(&'static str, &'static str, bool)>,
    conditions: Vec<(CondRow, Vec<Choice>, Vec<Choice>)>,
    actions: Vec<(ActRow, Vec<Choice>)>,
}

/// Blank rows after the rule's own, to add conditions and actions without script.
const BLANK_ROWS: usize = 2;

const UNITS: [(&str, &str); 3] = [("minutes", "minutes"), ("hours", "hours"), ("days", "days")];

async fn edit_page(
    st: &UiState,
    agent: &Agent,
    id: Option<i64>,
    builtin: bool,
    mut f: FormState,
    errors: Vec<String>,
) -> Result<EditPage, UiError> {
    require_admin(agent)?;
    let title = if id.is_some() {
        "Edit automation rule"
    } else {
        "New automation rule"
    };
    let chrome = Chrome::load(&st.app, agent, "settings", title).await?;
    for _ in 0..BLANK_ROWS {
        f.conditions.push(CondRow::default());
        f.actions.push(ActRow::default());
    }
    let conditions = f
        .conditions
        .into_iter()
        .enumerate()
        .map(|(n, mut c)| {
            c.n = n;
            let kinds = choices(&CONDITION_KINDS, &c.kind);
            let ops = choices(&OPS, &c.op);
            (c, kinds, ops)
        })
        .collect();
    let actions = f
        .actions
        .into_iter()
        .enumerate()
        .map(|(n, mut a)| {
            a.n = n;
            let kinds = choices(&ACTION_KINDS, &a.kind);
            (a, kinds)
        })
        .collect();
    Ok(EditPage {
        chrome,
        id,
        builtin,
        errors,
        name: f.name,
        enabled: f.enabled,
        triggers: choices(&TRIGGERS, &f.trigger),
        trigger_property: f.trigger_property,
        time_events: TimedEvent::ALL
            .iter()
            .map(|e| (e.as_str(), e.label(), e.as_str() == f.time_event))
            .collect(),
        time_amount: f.time_amount,
        time_units: choices(&UNITS, &f.time_unit),
        time_zone: if f.time_zone.is_empty() {
            "UTC".into()
        } else {
            f.time_zone
        },
        sla_clocks: SlaClock::ALL
            .iter()
            .map(|c| (c.as_str(), c.label(), c.as_str() == f.sla_clock))
            .collect(),
        conditions,
        actions,
    })
}

/// The form's fields of a stored rule (users as emails, teams as names).
async fn form_of(st: &UiState, r: &AutomationRule) -> Result<FormState, UiError> {
    let users = st.app.users().await?;
    let teams = st.app.teams().await?;
    let email = |u: &UserId| {
        users
            .iter()
            .find(|x| x.id == *u)
            .map(|x| x.email.clone())
            .unwrap_or_else(|| u.to_string())
    };
    let team = |t: &TeamId| {
        teams
            .iter()
            .find(|x| x.id == *t)
            .map(|x| x.name.clone())
            .unwrap_or_else(|| t.to_string())
    };
    let mut f = FormState {
        name: r.rule.name.clone(),
        enabled: r.rule.enabled,
        trigger: trigger_key(&r.rule.trigger).into(),
        time_unit: "days".into(),
        ..FormState::default()
    };
    match &r.rule.trigger {
        Trigger::PropertyChanged { property } => f.trigger_property = property.clone(),
        Trigger::TimeSince { event, minutes } => {
            f.time_event = event.as_str().into();
            let (n, unit) = if minutes % 1440 == 0 {
                (minutes / 1440, "days")
            } else if minutes % 60 == 0 {
                (minutes / 60, "hours")
            } else {
                (*minutes, "minutes")
            };
            f.time_amount = n.to_string();
            f.time_unit = unit.into();
        }
        Trigger::SlaDueSoon { clock } | Trigger::SlaBreached { clock } => {
            f.sla_clock = clock.as_str().into();
        }
        _ => {}
    }
    for c in &r.rule.conditions {
        let row = match c {
            Condition::Property {
                property,
                op,
                values,
            } => CondRow {
                kind: "property".into(),
                property: property.clone(),
                op: op.as_str().into(),
                value: values.join(", "),
                ..CondRow::default()
            },
            Condition::Channel { channels } => CondRow {
                kind: "channel".into(),
                value: channels.join(", "),
                ..CondRow::default()
            },
            Condition::Team { teams: ts } => CondRow {
                kind: "team".into(),
                value: ts.iter().map(team).collect::<Vec<_>>().join(", "),
                ..CondRow::default()
            },
            Condition::Pipeline { pipeline } => CondRow {
                kind: "pipeline".into(),
                value: pipeline.to_string(),
                ..CondRow::default()
            },
            Condition::BusinessHours { hours, inside } => {
                f.time_zone = hours.time_zone.clone();
                CondRow {
                    kind: "business_hours".into(),
                    op: if *inside { "inside" } else { "outside" }.into(),
                    value: hours.describe(),
                    ..CondRow::default()
                }
            }
        };
        f.conditions.push(row);
    }
    for a in &r.rule.actions {
        let (kind, target, value) = match a {
            Action::SetProperty { property, value } => {
                ("set_property", property.clone(), value.clone())
            }
            Action::SetStage { stage } => ("set_status", String::new(), stage.to_string()),
            Action::SetStageNamed { label } => ("set_status", String::new(), label.clone()),
            Action::SetOwner { owner } => (
                "set_owner",
                owner.as_ref().map(email).unwrap_or_default(),
                String::new(),
            ),
            Action::SetTeam { team: t } => (
                "set_team",
                t.as_ref().map(team).unwrap_or_default(),
                String::new(),
            ),
            Action::AddFollower { user } => ("add_follower", email(user), String::new()),
            Action::SendEmail { body } => ("send_email", String::new(), body.clone()),
            Action::Comment { body } => ("comment", String::new(), body.clone()),
            Action::Notify {
                users: us,
                owner,
                message,
            } => {
                let mut whom: Vec<String> = us.iter().map(email).collect();
                if *owner {
                    whom.push("owner".into());
                }
                ("notify", whom.join(", "), message.clone())
            }
        };
        f.actions.push(ActRow {
            kind: kind.into(),
            target,
            value,
            ..ActRow::default()
        });
    }
    Ok(f)
}

/// The posted form, as typed (shown again when refused).
fn posted(fields: &Fields) -> FormState {
    let text = |name: &str| fields.get(name).unwrap_or("").trim().to_string();
    let col = |name: &str| -> Vec<String> {
        fields
            .all(name)
            .into_iter()
            .map(|s| s.trim().to_string())
            .collect()
    };
    let (ck, cp, co, cv) = (
        col("c_kind"),
        col("c_property"),
        col("c_op"),
        col("c_value"),
    );
    let conditions = (0..ck.len())
        .map(|i| CondRow {
            n: i,
            kind: ck[i].clone(),
            property: cp.get(i).cloned().unwrap_or_default(),
            op: co.get(i).cloned().unwrap_or_default(),
            value: cv.get(i).cloned().unwrap_or_default(),
        })
        .filter(|c| !c.kind.is_empty())
        .collect();
    let (ak, at, av) = (col("a_kind"), col("a_target"), col("a_value"));
    let actions = (0..ak.len())
        .map(|i| ActRow {
            n: i,
            kind: ak[i].clone(),
            target: at.get(i).cloned().unwrap_or_default(),
            value: av.get(i).cloned().unwrap_or_default(),
        })
        .filter(|a| !a.kind.is_empty())
        .collect();
    FormState {
        name: text("name"),
        enabled: fields.flag("enabled"),
        trigger: text("trigger"),
        trigger_property: text("trigger_property"),
        time_event: text("time_event"),
        time_amount: text("time_amount"),
        time_unit: text("time_unit"),
        time_zone: text("time_zone"),
        sla_clock: text("sla_clock"),
        conditions,
        actions,
    }
}

fn list_of(v: &str) -> Vec<String> {
    v.split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The rule the form describes; every problem is collected.
async fn rule_of(st: &UiState, f: &FormState) -> Result<Result<RuleInput, Vec<String>>, UiError> {
    let users = st.app.users().await?;
    let teams = st.app.teams().await?;
    let mut errors = Vec::new();
    let user = |who: &str, errors: &mut Vec<String>| -> Option<UserId> {
        let found = users
            .iter()
            .find(|u| u.active && u.email.eq_ignore_ascii_case(who.trim()))
            .map(|u| u.id);
        if found.is_none() {
            errors.push(format!(
                "{who:?} is not the email address of an active user."
            ));
        }
        found
    };
    let team = |name: &str, errors: &mut Vec<String>| -> Option<TeamId> {
        let found = teams
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(name.trim()))
            .map(|t| t.id);
        if found.is_none() {
            errors.push(format!("{name:?} is not a team."));
        }
        found
    };
    let trigger = match f.trigger.as_str() {
        "ticket_created" => Trigger::TicketCreated,
        "customer_message" => Trigger::CustomerMessage,
        "agent_reply" => Trigger::AgentReply,
        "email_to_customer" => Trigger::EmailToCustomer,
        "status_changed" => Trigger::StatusChanged,
        "owner_changed" => Trigger::OwnerChanged,
        "property_changed" => Trigger::PropertyChanged {
            property: f.trigger_property.clone(),
        },
        "time_since" => {
            let unit = match f.time_unit.as_str() {
                "minutes" => 1,
                "hours" => 60,
                _ => 1440,
            };
            let amount = f.time_amount.parse::<i64>().unwrap_or(0);
            let event = TimedEvent::parse(&f.time_event).unwrap_or(TimedEvent::Created);
            Trigger::TimeSince {
                event,
                minutes: amount.saturating_mul(unit),
            }
        }
        "sla_due_soon" | "sla_breached" => {
            let clock = match f.sla_clock.as_str() {
                "" => Some(SlaClock::Any),
                other => SlaClock::parse(other),
            };
            match (clock, f.trigger.as_str()) {
                (None, _) => {
                    errors.push(format!("{:?} is not an SLA clock.", f.sla_clock));
                    Trigger::SlaDueSoon {
                        clock: SlaClock::Any,
                    }
                }
                (Some(clock), "sla_due_soon") => Trigger::SlaDueSoon { clock },
                (Some(clock), _) => Trigger::SlaBreached { clock },
            }
        }
        _ => {
            errors.push("Choose when the rule runs.".into());
            Trigger::TicketCreated
        }
    };
    let mut conditions = Vec::new();
    for c in &f.conditions {
        match c.kind.as_str() {
            "property" => {
                let op = PropertyOp::parse(&c.op).unwrap_or(PropertyOp::Equals);
                conditions.push(Condition::Property {
                    property: c.property.clone(),
                    op,
                    values: match op {
                        PropertyOp::Empty | PropertyOp::NotEmpty => Vec::new(),
                        PropertyOp::Equals | PropertyOp::NotEquals => vec![c.value.clone()],
                        _ => list_of(&c.value),
                    },
                });
            }
            "channel" => conditions.push(Condition::Channel {
                channels: list_of(&c.value)
                    .into_iter()
                    .map(|s| s.to_uppercase())
                    .collect(),
            }),
            "team" => {
                let ts = list_of(&c.value)
                    .iter()
                    .filter_map(|n| team(n, &mut errors))
                    .collect();
                conditions.push(Condition::Team { teams: ts });
            }
            "pipeline" => match c.value.parse::<i64>() {
                Ok(p) => conditions.push(Condition::Pipeline { pipeline: p }),
                Err(_) => errors.push(format!("{:?} is not a pipeline id.", c.value)),
            },
            "business_hours" => {
                let zone = if f.time_zone.is_empty() {
                    "UTC"
                } else {
                    &f.time_zone
                };
                match WeeklyHours::parse(&c.value, zone) {
                    Ok(hours) => conditions.push(Condition::BusinessHours {
                        hours,
                        inside: c.op != "outside",
                    }),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            other => errors.push(format!("{other:?} is not a kind of condition.")),
        }
    }
    let mut actions = Vec::new();
    for a in &f.actions {
        let action = match a.kind.as_str() {
            "set_property" => Action::SetProperty {
                property: a.target.clone(),
                value: a.value.clone(),
            },
            "set_status" => Action::SetStageNamed {
                label: a.value.clone(),
            },
            "set_owner" if a.target.is_empty() => Action::SetOwner { owner: None },
            "set_owner" => match user(&a.target, &mut errors) {
                Some(u) => Action::SetOwner { owner: Some(u) },
                None => continue,
            },
            "set_team" if a.target.is_empty() => Action::SetTeam { team: None },
            "set_team" => match team(&a.target, &mut errors) {
                Some(x) => Action::SetTeam { team: Some(x) },
                None => continue,
            },
            "add_follower" => match user(&a.target, &mut errors) {
                Some(u) => Action::AddFollower { user: u },
                None => continue,
            },
            "send_email" => Action::SendEmail {
                body: a.value.clone(),
            },
            "comment" => Action::Comment {
                body: a.value.clone(),
            },
            "notify" => {
                let mut owner = false;
                let mut us = Vec::new();
                for who in list_of(&a.target) {
                    if who.eq_ignore_ascii_case("owner") {
                        owner = true;
                    } else if let Some(u) = user(&who, &mut errors) {
                        us.push(u);
                    }
                }
                Action::Notify {
                    users: us,
                    owner,
                    message: a.value.clone(),
                }
            }
            other => {
                errors.push(format!("{other:?} is not a kind of action."));
                continue;
            }
        };
        actions.push(action);
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    Ok(Ok(RuleInput {
        name: f.name.clone(),
        enabled: f.enabled,
        trigger,
        conditions,
        actions,
    }))
}

async fn new_form(State(st): State<UiState>, agent: Agent) -> UiResult {
    let f = FormState {
        enabled: true,
        trigger: "ticket_created".into(),
        time_unit: "days".into(),
        ..FormState::default()
    };
    page(&edit_page(&st, &agent, None, false, f, Vec::new()).await?)
}

async fn edit(State(st): State<UiState>, agent: Agent, Path(Id(id)): Path<Id>) -> UiResult {
    require_admin(&agent)?;
    let r = st.app.automation_rule(&agent.actor, id).await?;
    let f = form_of(&st, &r).await?;
    page(
        &edit_page(
            &st,
            &agent,
            Some(id),
            r.rule.builtin.is_some(),
            f,
            Vec::new(),
        )
        .await?,
    )
}

async fn refused(
    st: &UiState,
    agent: &Agent,
    id: Option<i64>,
    f: FormState,
    errors: Vec<String>,
) -> UiResult {
    let builtin = match id {
        Some(id) => st
            .app
            .automation_rule(&agent.actor, id)
            .await?
            .rule
            .builtin
            .is_some(),
        None => false,
    };
    let mut r = page(&edit_page(st, agent, id, builtin, f, errors).await?)?;
    *r.status_mut() = StatusCode::BAD_REQUEST;
    Ok(r)
}

async fn create(State(st): State<UiState>, post: Post) -> UiResult {
    require_admin(&post.agent)?;
    let f = posted(&post.fields);
    let input = match rule_of(&st, &f).await? {
        Ok(i) => i,
        Err(errors) => return refused(&st, &post.agent, None, f, errors).await,
    };
    match st
        .app
        .create_automation_rule(&post.agent.actor, input)
        .await
    {
        Ok(_) => Ok(Redirect::to("/settings/automation").into_response()),
        Err(e) => {
            let errors = reasons(e)?;
            refused(&st, &post.agent, None, f, errors).await
        }
    }
}

async fn save(State(st): State<UiState>, Path(Id(id)): Path<Id>, post: Post) -> UiResult {
    require_admin(&post.agent)?;
    let f = posted(&post.fields);
    let input = match rule_of(&st, &f).await? {
        Ok(i) => i,
        Err(errors) => return refused(&st, &post.agent, Some(id), f, errors).await,
    };
    match st
        .app
        .update_automation_rule(&post.agent.actor, id, input)
        .await
    {
        Ok(()) => Ok(Redirect::to("/settings/automation").into_response()),
        Err(e) => {
            let errors = reasons(e)?;
            refused(&st, &post.agent, Some(id), f, errors).await
        }
    }
}
