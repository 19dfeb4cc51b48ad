//! Automation rules (issue 16, item 3; HD-20): what a rule is (a trigger, conditions,
//! actions), its validation, and which rules an event fires on a ticket and with what
//! actions, with loop protection. fd-app's `automation.rs` loads the rules and the ticket,
//! asks [`evaluate`], and carries the actions out through the same use cases an agent's
//! change goes through.
//!
//! Pure: no I/O, no clock (the caller passes "now"), no async. The SLA triggers (due soon,
//! breached) answer the transition the SLA sweep notices once per clock (`sla::ClockKind`).

use serde::{Deserialize, Serialize};

use crate::entities::Ticket;
use crate::error::{DomainError, ErrorCode, FieldError};
use crate::local_time::UserTimeZone;
use crate::model::{Millis, StageId, TeamId, UserId};
use crate::sla::ClockKind;

/// How deep a chain of rules may go: a rule's change may trigger other rules, whose changes
/// may trigger others, at most this many times in one chain.
pub const MAX_CHAIN_DEPTH: usize = 5;

/// The built-in rule of HD-20 (its `builtin` key): "an email sent to the customer moves the
/// ticket to Waiting on contact".
pub const HD_20_BUILTIN: &str = "hd_20_waiting_on_contact";
/// The stage label the HD-20 rule moves to, in whatever pipeline the ticket is.
pub const WAITING_ON_CONTACT: &str = "Waiting on contact";

/// When a rule is considered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    TicketCreated,
    CustomerMessage,
    /// Any reply of an agent (email, chat, …).
    AgentReply,
    /// An email sent to the customer (HD-20's trigger).
    EmailToCustomer,
    StatusChanged,
    OwnerChanged,
    PropertyChanged {
        property: String,
    },
    /// `minutes` after an event, once per occurrence of that event on a ticket.
    TimeSince {
        event: TimedEvent,
        minutes: i64,
    },
    /// An SLA clock of the ticket became due soon (a quarter of its goal left), once per
    /// clock (each next-response cycle is its own clock).
    SlaDueSoon {
        #[serde(default)]
        clock: SlaClock,
    },
    /// An SLA clock of the ticket passed its goal, once per clock.
    SlaBreached {
        #[serde(default)]
        clock: SlaClock,
    },
}

/// Which SLA clock an SLA trigger watches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaClock {
    #[default]
    Any,
    FirstResponse,
    NextResponse,
    TimeToClose,
}

impl SlaClock {
    pub const ALL: [SlaClock; 4] = [
        SlaClock::Any,
        SlaClock::FirstResponse,
        SlaClock::NextResponse,
        SlaClock::TimeToClose,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            SlaClock::Any => "any",
            SlaClock::FirstResponse => "first_response",
            SlaClock::NextResponse => "next_response",
            SlaClock::TimeToClose => "time_to_close",
        }
    }
    pub fn parse(s: &str) -> Option<SlaClock> {
        SlaClock::ALL.into_iter().find(|c| c.as_str() == s)
    }
    pub fn label(self) -> &'static str {
        match self {
            SlaClock::Any => "any SLA clock",
            SlaClock::FirstResponse => "the first-response clock",
            SlaClock::NextResponse => "the next-response clock",
            SlaClock::TimeToClose => "the time-to-close clock",
        }
    }
    /// Whether a transition of this clock answers the trigger.
    pub fn covers(self, kind: ClockKind) -> bool {
        match self {
            SlaClock::Any => true,
            SlaClock::FirstResponse => kind == ClockKind::FirstResponse,
            SlaClock::NextResponse => kind == ClockKind::NextResponse,
            SlaClock::TimeToClose => kind == ClockKind::TimeToClose,
        }
    }
}

/// The events a time trigger counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimedEvent {
    /// The ticket's creation.
    Created,
    /// The agents' last reply, with no customer message since ("no customer reply for 3 days").
    NoCustomerReply,
    /// The customer's last message, with no agent reply since ("customer waiting").
    NoAgentReply,
}

impl TimedEvent {
    pub const ALL: [TimedEvent; 3] = [
        TimedEvent::Created,
        TimedEvent::NoCustomerReply,
        TimedEvent::NoAgentReply,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            TimedEvent::Created => "created",
            TimedEvent::NoCustomerReply => "no_customer_reply",
            TimedEvent::NoAgentReply => "no_agent_reply",
        }
    }
    pub fn parse(s: &str) -> Option<TimedEvent> {
        TimedEvent::ALL.into_iter().find(|e| e.as_str() == s)
    }
    pub fn label(self) -> &'static str {
        match self {
            TimedEvent::Created => "since the ticket was created",
            TimedEvent::NoCustomerReply => "without a customer reply after an agent's reply",
            TimedEvent::NoAgentReply => "without an agent reply after the customer wrote",
        }
    }
}

/// How a property condition compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PropertyOp {
    Equals,
    NotEquals,
    In,
    NotIn,
    Empty,
    NotEmpty,
}

impl PropertyOp {
    pub const ALL: [PropertyOp; 6] = [
        PropertyOp::Equals,
        PropertyOp::NotEquals,
        PropertyOp::In,
        PropertyOp::NotIn,
        PropertyOp::Empty,
        PropertyOp::NotEmpty,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            PropertyOp::Equals => "equals",
            PropertyOp::NotEquals => "not_equals",
            PropertyOp::In => "in",
            PropertyOp::NotIn => "not_in",
            PropertyOp::Empty => "empty",
            PropertyOp::NotEmpty => "not_empty",
        }
    }
    pub fn parse(s: &str) -> Option<PropertyOp> {
        PropertyOp::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// A simple weekly schedule for the business-hours condition (the SLA calendars, with
/// holidays, are a separate thing): days of the week (Monday = 0) and a daily window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeeklyHours {
    pub days: Vec<u8>,
    /// Minutes after local midnight: the window is `[start, end)`.
    pub start_minute: u16,
    pub end_minute: u16,
    pub time_zone: String,
}

const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

impl WeeklyHours {
    /// Reads `Mon-Fri 09:00-17:00` (days as ranges or a comma list, then a time window) in
    /// the zone `time_zone`.
    pub fn parse(text: &str, time_zone: &str) -> Result<WeeklyHours, DomainError> {
        let bad = || {
            DomainError::field(
                "hours",
                ErrorCode::InvalidOption,
                format!("{text:?} is not weekly hours such as \"Mon-Fri 09:00-17:00\""),
            )
        };
        let (days_text, window) = text.trim().split_once(' ').ok_or_else(bad)?;
        let day = |d: &str| {
            DAY_NAMES
                .iter()
                .position(|n| n.eq_ignore_ascii_case(d.trim()))
                .and_then(|i| u8::try_from(i).ok())
        };
        let mut days = Vec::new();
        for part in days_text.split(',') {
            match part.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (day(a).ok_or_else(bad)?, day(b).ok_or_else(bad)?);
                    if a > b {
                        return Err(bad());
                    }
                    days.extend(a..=b);
                }
                None => days.push(day(part).ok_or_else(bad)?),
            }
        }
        days.sort_unstable();
        days.dedup();
        let minute = |t: &str| -> Option<u16> {
            let (h, m) = t.trim().split_once(':')?;
            let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
            (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
        };
        let (a, b) = window.trim().split_once('-').ok_or_else(bad)?;
        let hours = WeeklyHours {
            days,
            start_minute: minute(a).ok_or_else(bad)?,
            end_minute: minute(b).ok_or_else(bad)?,
            time_zone: time_zone.trim().to_string(),
        };
        if hours.start_minute >= hours.end_minute {
            return Err(bad());
        }
        UserTimeZone::parse(&hours.time_zone)?;
        Ok(hours)
    }

    /// The hours as [`WeeklyHours::parse`] reads them (without the zone).
    pub fn describe(&self) -> String {
        let days: Vec<&str> = self
            .days
            .iter()
            .filter_map(|d| DAY_NAMES.get(usize::from(*d)).copied())
            .collect();
        let hm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        format!(
            "{} {}-{}",
            days.join(","),
            hm(self.start_minute),
            hm(self.end_minute)
        )
    }

    /// Whether `at` falls inside these hours.
    pub fn contains(&self, at: Millis) -> bool {
        let tz = UserTimeZone::or_utc(&self.time_zone);
        let Ok(ts) = jiff::Timestamp::from_millisecond(at) else {
            return false;
        };
        let local = ts.to_zoned(tz.zone().clone());
        let day = u8::try_from(local.weekday().to_monday_zero_offset()).unwrap_or(0);
        let minute =
            u16::try_from(i32::from(local.hour()) * 60 + i32::from(local.minute())).unwrap_or(0);
        self.days.contains(&day) && minute >= self.start_minute && minute < self.end_minute
    }
}

/// A condition on the ticket when the rule fires; all of a rule's conditions must hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Condition {
    Property {
        property: String,
        op: PropertyOp,
        #[serde(default)]
        values: Vec<String>,
    },
    /// The ticket's channel (HubSpot's `source_type`: EMAIL, FORM, CHAT, PHONE).
    Channel {
        channels: Vec<String>,
    },
    Team {
        teams: Vec<TeamId>,
    },
    Pipeline {
        pipeline: i64,
    },
    /// Inside (`inside: true`) or outside the weekly hours.
    BusinessHours {
        hours: WeeklyHours,
        inside: bool,
    },
}

/// What a rule does, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    SetProperty {
        property: String,
        value: String,
    },
    SetStage {
        stage: StageId,
    },
    /// The stage of this label in the ticket's own pipeline (HD-20's "Waiting on contact").
    SetStageNamed {
        label: String,
    },
    SetOwner {
        owner: Option<UserId>,
    },
    SetTeam {
        team: Option<TeamId>,
    },
    AddFollower {
        user: UserId,
    },
    /// An email to the ticket's customer, on its conversation.
    SendEmail {
        body: String,
    },
    /// An internal note on the ticket.
    Comment {
        body: String,
    },
    /// Notifies these users (and the owner when `owner` is set).
    Notify {
        #[serde(default)]
        users: Vec<UserId>,
        #[serde(default)]
        owner: bool,
        message: String,
    },
}

impl Action {
    /// Whether the action changes the ticket's status (HD-20: a status chosen at send time wins).
    pub fn sets_status(&self) -> bool {
        match self {
            Action::SetStage { .. } | Action::SetStageNamed { .. } => true,
            Action::SetProperty { property, .. } => property == "hs_pipeline_stage",
            _ => false,
        }
    }
}

/// A rule as stored and evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub id: i64,
    pub name: String,
    pub enabled: bool,
    pub position: i64,
    pub trigger: Trigger,
    pub conditions: Vec<Condition>,
    pub actions: Vec<Action>,
    /// A built-in rule's key ([`HD_20_BUILTIN`]): it may be turned off, not deleted.
    pub builtin: Option<String>,
}

/// Checks a rule before it is saved; every problem is reported at once, by field.
pub fn validate(
    name: &str,
    trigger: &Trigger,
    conditions: &[Condition],
    actions: &[Action],
) -> Result<(), DomainError> {
    let mut errors = Vec::new();
    let mut err = |field: &str, code: ErrorCode, msg: String| {
        errors.push(FieldError::new(field, code, msg));
    };
    let name = name.trim();
    if name.is_empty() {
        err("name", ErrorCode::Required, "the rule needs a name".into());
    } else if name.chars().count() > 200 || name.chars().any(char::is_control) {
        err(
            "name",
            ErrorCode::InvalidOption,
            "the name must be at most 200 characters without control characters".into(),
        );
    }
    match trigger {
        Trigger::PropertyChanged { property } if property.trim().is_empty() => err(
            "trigger",
            ErrorCode::Required,
            "a property-change trigger names its property".into(),
        ),
        Trigger::TimeSince { minutes, .. } if *minutes < 1 || *minutes > 365 * 24 * 60 => err(
            "trigger",
            ErrorCode::InvalidOption,
            "a time trigger waits between 1 minute and 365 days".into(),
        ),
        _ => {}
    }
    for c in conditions {
        match c {
            Condition::Property {
                property,
                op,
                values,
            } => {
                if property.trim().is_empty() {
                    err(
                        "conditions",
                        ErrorCode::Required,
                        "a property condition names its property".into(),
                    );
                }
                let wants = match op {
                    PropertyOp::Empty | PropertyOp::NotEmpty => 0,
                    PropertyOp::Equals | PropertyOp::NotEquals => 1,
                    PropertyOp::In | PropertyOp::NotIn => usize::MAX,
                };
                let ok = match wants {
                    0 => values.is_empty(),
                    1 => values.len() == 1,
                    _ => !values.is_empty(),
                };
                if !ok {
                    err(
                        "conditions",
                        ErrorCode::InvalidOption,
                        format!(
                            "the condition on {property:?} ({}) has the wrong number of values",
                            op.as_str()
                        ),
                    );
                }
            }
            Condition::Channel { channels } if channels.is_empty() => err(
                "conditions",
                ErrorCode::Required,
                "a channel condition names at least one channel".into(),
            ),
            Condition::Channel { channels } => {
                for ch in channels {
                    if !["EMAIL", "FORM", "CHAT", "PHONE"].contains(&ch.as_str()) {
                        err(
                            "conditions",
                            ErrorCode::InvalidOption,
                            format!("{ch:?} is not a channel (EMAIL, FORM, CHAT, PHONE)"),
                        );
                    }
                }
            }
            Condition::Team { teams } if teams.is_empty() => err(
                "conditions",
                ErrorCode::Required,
                "a team condition names at least one team".into(),
            ),
            Condition::BusinessHours { hours, .. } => {
                if hours.days.is_empty() || hours.days.iter().any(|d| *d > 6) {
                    err(
                        "conditions",
                        ErrorCode::InvalidOption,
                        "business hours need days of the week (Monday to Sunday)".into(),
                    );
                }
                if hours.start_minute >= hours.end_minute || hours.end_minute > 24 * 60 {
                    err(
                        "conditions",
                        ErrorCode::InvalidOption,
                        "business hours end after they start, within the day".into(),
                    );
                }
                if UserTimeZone::parse(&hours.time_zone).is_err() {
                    err(
                        "conditions",
                        ErrorCode::InvalidOption,
                        format!("{:?} is not a time zone name", hours.time_zone),
                    );
                }
            }
            _ => {}
        }
    }
    if actions.is_empty() {
        err(
            "actions",
            ErrorCode::Required,
            "a rule needs at least one action".into(),
        );
    }
    for a in actions {
        match a {
            Action::SetProperty { property, .. } if property.trim().is_empty() => err(
                "actions",
                ErrorCode::Required,
                "a set-property action names its property".into(),
            ),
            Action::SetStageNamed { label } if label.trim().is_empty() => err(
                "actions",
                ErrorCode::Required,
                "a set-status action names the status".into(),
            ),
            Action::SendEmail { body } | Action::Comment { body } if body.trim().is_empty() => err(
                "actions",
                ErrorCode::Required,
                "an email or comment action needs its text".into(),
            ),
            Action::Notify {
                users,
                owner,
                message,
            } => {
                if users.is_empty() && !owner {
                    err(
                        "actions",
                        ErrorCode::Required,
                        "a notify action names whom to notify".into(),
                    );
                }
                if message.trim().is_empty() {
                    err(
                        "actions",
                        ErrorCode::Required,
                        "a notify action needs its message".into(),
                    );
                }
            }
            _ => {}
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Invalid(errors))
    }
}

/// What happened, as the use case reports it to the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketEvent {
    Created,
    CustomerMessage,
    /// An agent's reply; `by_email` when it went to the customer by email, `chose_status`
    /// when the agent chose a status at send time (HD-19).
    AgentReply {
        by_email: bool,
        chose_status: bool,
    },
    /// Properties changed (HubSpot names: `hs_pipeline_stage` is the status,
    /// `hubspot_owner_id` the owner).
    Changed {
        properties: Vec<String>,
    },
    /// A time trigger of this rule came due.
    TimeDue {
        rule: i64,
    },
    /// An SLA clock just became due soon (told once per clock by the SLA sweep).
    SlaDueSoon {
        clock: ClockKind,
    },
    /// An SLA clock was just breached (told once per clock by the SLA sweep).
    SlaBreached {
        clock: ClockKind,
    },
}

/// A chain of rule runs on one ticket: which rules already fired in it and how deep it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chain {
    pub fired: Vec<i64>,
}

impl Chain {
    pub fn depth(&self) -> usize {
        self.fired.len()
    }
    pub fn with(&self, rule: i64) -> Chain {
        let mut fired = self.fired.clone();
        fired.push(rule);
        Chain { fired }
    }
}

/// One rule that fires, with the actions to carry out and those left out (and why).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firing {
    pub rule: i64,
    pub actions: Vec<Action>,
    pub skipped: Vec<(Action, String)>,
}

/// Whether a trigger answers an event.
pub fn trigger_matches(trigger: &Trigger, rule: i64, event: &TicketEvent) -> bool {
    match (trigger, event) {
        (Trigger::TicketCreated, TicketEvent::Created)
        | (Trigger::CustomerMessage, TicketEvent::CustomerMessage)
        | (Trigger::AgentReply, TicketEvent::AgentReply { .. })
        | (Trigger::EmailToCustomer, TicketEvent::AgentReply { by_email: true, .. }) => true,
        (Trigger::StatusChanged, TicketEvent::Changed { properties }) => {
            properties.iter().any(|p| p == "hs_pipeline_stage")
        }
        (Trigger::OwnerChanged, TicketEvent::Changed { properties }) => {
            properties.iter().any(|p| p == "hubspot_owner_id")
        }
        (Trigger::PropertyChanged { property }, TicketEvent::Changed { properties }) => {
            properties.iter().any(|p| p == property)
        }
        (Trigger::TimeSince { .. }, TicketEvent::TimeDue { rule: r }) => *r == rule,
        (Trigger::SlaDueSoon { clock: want }, TicketEvent::SlaDueSoon { clock })
        | (Trigger::SlaBreached { clock: want }, TicketEvent::SlaBreached { clock }) => {
            want.covers(*clock)
        }
        _ => false,
    }
}

/// Whether every condition holds for the ticket at `now`.
pub fn conditions_hold(conditions: &[Condition], t: &Ticket, now: Millis) -> bool {
    conditions.iter().all(|c| condition_holds(c, t, now))
}

fn condition_holds(c: &Condition, t: &Ticket, now: Millis) -> bool {
    match c {
        Condition::Property {
            property,
            op,
            values,
        } => {
            let v = t.property(property).filter(|v| !v.trim().is_empty());
            let eq = |x: &String| {
                v.as_deref()
                    .is_some_and(|v| v.eq_ignore_ascii_case(x.trim()))
            };
            match op {
                PropertyOp::Empty => v.is_none(),
                PropertyOp::NotEmpty => v.is_some(),
                PropertyOp::Equals | PropertyOp::In => values.iter().any(eq),
                PropertyOp::NotEquals | PropertyOp::NotIn => !values.iter().any(eq),
            }
        }
        Condition::Channel { channels } => t
            .source_type
            .as_deref()
            .is_some_and(|s| channels.iter().any(|c| c.eq_ignore_ascii_case(s))),
        Condition::Team { teams } => t.team_id.is_some_and(|x| teams.contains(&x)),
        Condition::Pipeline { pipeline } => t.pipeline_id.0 == *pipeline,
        Condition::BusinessHours { hours, inside } => hours.contains(now) == *inside,
    }
}

/// The rules an event fires on a ticket, in the rules' order, with their actions.
///
/// Loop protection: a rule that already fired in this chain does not fire again, and a
/// chain deeper than [`MAX_CHAIN_DEPTH`] fires nothing. HD-20: on a reply where the agent
/// chose a status at send time, status-setting actions are left out (the agent's choice wins).
pub fn evaluate(
    rules: &[Rule],
    event: &TicketEvent,
    t: &Ticket,
    now: Millis,
    chain: &Chain,
) -> Vec<Firing> {
    if chain.depth() >= MAX_CHAIN_DEPTH {
        return Vec::new();
    }
    let mut out = Vec::new();
    for r in rules {
        if !r.enabled
            || chain.fired.contains(&r.id)
            || !trigger_matches(&r.trigger, r.id, event)
            || !conditions_hold(&r.conditions, t, now)
        {
            continue;
        }
        let chose_status = matches!(
            event,
            TicketEvent::AgentReply {
                chose_status: true,
                ..
            }
        );
        let mut firing = Firing {
            rule: r.id,
            actions: Vec::new(),
            skipped: Vec::new(),
        };
        for a in &r.actions {
            if chose_status && a.sets_status() {
                firing.skipped.push((
                    a.clone(),
                    "the agent chose a status at send time, which wins (HD-20)".into(),
                ));
            } else {
                firing.actions.push(a.clone());
            }
        }
        out.push(firing);
    }
    out
}

/// The stage of `label` in a pipeline's stages (`(id, label, archived)`), compared without
/// case or surrounding spaces; archived stages do not count.
pub fn stage_named<'a>(
    stages: impl IntoIterator<Item = (StageId, &'a str, bool)>,
    label: &str,
) -> Option<StageId> {
    let want = label.trim();
    stages
        .into_iter()
        .find(|(_, l, archived)| !archived && l.trim().eq_ignore_ascii_case(want))
        .map(|(id, _, _)| id)
}

/// A time trigger's due time for one occurrence of its event.
pub fn time_due(occurred_at: Millis, minutes: i64) -> Millis {
    occurred_at.saturating_add(minutes.saturating_mul(60_000))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::{PipelineId, TicketId, Workspace};

    fn ticket() -> Ticket {
        Ticket {
            id: TicketId(1),
            subject: "Printer".into(),
            content: None,
            pipeline_id: PipelineId(0),
            stage_id: StageId(1),
            priority: Some("HIGH".into()),
            category: None,
            owner_id: None,
            team_id: Some(TeamId(3)),
            source_type: Some("EMAIL".into()),
            workspace: Workspace::HelpDesk,
            is_open: true,
            created_by: None,
            created_at: 0,
            updated_at: 0,
            closed_at: None,
            last_activity_at: 0,
            version: 1,
            trashed_at: None,
            custom: BTreeMap::new(),
        }
    }

    fn rule(id: i64, trigger: Trigger, actions: Vec<Action>) -> Rule {
        Rule {
            id,
            name: format!("rule {id}"),
            enabled: true,
            position: id,
            trigger,
            conditions: Vec::new(),
            actions,
            builtin: None,
        }
    }

    fn hd20() -> Rule {
        Rule {
            builtin: Some(HD_20_BUILTIN.into()),
            ..rule(
                1,
                Trigger::EmailToCustomer,
                vec![Action::SetStageNamed {
                    label: WAITING_ON_CONTACT.into(),
                }],
            )
        }
    }

    #[test]
    fn hd_20_email_to_customer_fires_the_builtin_rule() {
        let e = TicketEvent::AgentReply {
            by_email: true,
            chose_status: false,
        };
        let f = evaluate(&[hd20()], &e, &ticket(), 0, &Chain::default());
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].actions.len(), 1);
        // A chat reply is not an email to the customer.
        let chat = TicketEvent::AgentReply {
            by_email: false,
            chose_status: false,
        };
        assert!(evaluate(&[hd20()], &chat, &ticket(), 0, &Chain::default()).is_empty());
    }

    #[test]
    fn hd_20_a_status_chosen_at_send_time_wins() {
        let e = TicketEvent::AgentReply {
            by_email: true,
            chose_status: true,
        };
        let mut r = hd20();
        r.actions.push(Action::Comment {
            body: "sent".into(),
        });
        let f = evaluate(&[r], &e, &ticket(), 0, &Chain::default());
        assert_eq!(
            f[0].actions,
            vec![Action::Comment {
                body: "sent".into()
            }]
        );
        assert_eq!(f[0].skipped.len(), 1);
        assert!(f[0].skipped[0].1.contains("HD-20"));
    }

    #[test]
    fn disabled_rules_do_not_fire() {
        let mut r = hd20();
        r.enabled = false;
        let e = TicketEvent::AgentReply {
            by_email: true,
            chose_status: false,
        };
        assert!(evaluate(&[r], &e, &ticket(), 0, &Chain::default()).is_empty());
    }

    #[test]
    fn triggers_match_their_events_only() {
        let changed = |p: &str| TicketEvent::Changed {
            properties: vec![p.to_string()],
        };
        assert!(trigger_matches(
            &Trigger::TicketCreated,
            1,
            &TicketEvent::Created
        ));
        assert!(!trigger_matches(
            &Trigger::TicketCreated,
            1,
            &TicketEvent::CustomerMessage
        ));
        assert!(trigger_matches(
            &Trigger::CustomerMessage,
            1,
            &TicketEvent::CustomerMessage
        ));
        assert!(trigger_matches(
            &Trigger::AgentReply,
            1,
            &TicketEvent::AgentReply {
                by_email: false,
                chose_status: false
            }
        ));
        assert!(trigger_matches(
            &Trigger::StatusChanged,
            1,
            &changed("hs_pipeline_stage")
        ));
        assert!(!trigger_matches(
            &Trigger::StatusChanged,
            1,
            &changed("hubspot_owner_id")
        ));
        assert!(trigger_matches(
            &Trigger::OwnerChanged,
            1,
            &changed("hubspot_owner_id")
        ));
        let prio = Trigger::PropertyChanged {
            property: "hs_ticket_priority".into(),
        };
        assert!(trigger_matches(&prio, 1, &changed("hs_ticket_priority")));
        assert!(!trigger_matches(&prio, 1, &changed("subject")));
        let timed = Trigger::TimeSince {
            event: TimedEvent::Created,
            minutes: 5,
        };
        assert!(trigger_matches(
            &timed,
            7,
            &TicketEvent::TimeDue { rule: 7 }
        ));
        assert!(!trigger_matches(
            &timed,
            7,
            &TicketEvent::TimeDue { rule: 8 }
        ));
    }

    #[test]
    fn sla_triggers_match_their_transition_and_clock() {
        use crate::sla::ClockKind;
        let soon = |clock| Trigger::SlaDueSoon { clock };
        let breached = |clock| Trigger::SlaBreached { clock };
        let first_soon = TicketEvent::SlaDueSoon {
            clock: ClockKind::FirstResponse,
        };
        let close_breached = TicketEvent::SlaBreached {
            clock: ClockKind::TimeToClose,
        };
        assert!(trigger_matches(&soon(SlaClock::Any), 1, &first_soon));
        assert!(trigger_matches(
            &soon(SlaClock::FirstResponse),
            1,
            &first_soon
        ));
        assert!(!trigger_matches(
            &soon(SlaClock::NextResponse),
            1,
            &first_soon
        ));
        assert!(!trigger_matches(&breached(SlaClock::Any), 1, &first_soon));
        assert!(trigger_matches(
            &breached(SlaClock::TimeToClose),
            1,
            &close_breached
        ));
        assert!(!trigger_matches(&soon(SlaClock::Any), 1, &close_breached));
        // The clock defaults to "any" when the JSON leaves it out.
        let t: Trigger = serde_json::from_str(r#"{"kind":"sla_breached"}"#).unwrap();
        assert_eq!(t, breached(SlaClock::Any));
        let s = serde_json::to_string(&soon(SlaClock::NextResponse)).unwrap();
        assert_eq!(s, r#"{"kind":"sla_due_soon","clock":"next_response"}"#);
        for c in SlaClock::ALL {
            assert_eq!(SlaClock::parse(c.as_str()), Some(c));
        }
    }

    #[test]
    fn conditions_on_properties_channel_team_pipeline() {
        let t = ticket();
        let p = |op, values: &[&str]| Condition::Property {
            property: "hs_ticket_priority".into(),
            op,
            values: values.iter().map(|s| s.to_string()).collect(),
        };
        assert!(conditions_hold(&[p(PropertyOp::Equals, &["high"])], &t, 0));
        assert!(!conditions_hold(
            &[p(PropertyOp::NotEquals, &["HIGH"])],
            &t,
            0
        ));
        assert!(conditions_hold(
            &[p(PropertyOp::In, &["LOW", "HIGH"])],
            &t,
            0
        ));
        assert!(!conditions_hold(
            &[p(PropertyOp::NotIn, &["LOW", "HIGH"])],
            &t,
            0
        ));
        assert!(conditions_hold(&[p(PropertyOp::NotEmpty, &[])], &t, 0));
        assert!(!conditions_hold(&[p(PropertyOp::Empty, &[])], &t, 0));
        let owner_empty = Condition::Property {
            property: "hubspot_owner_id".into(),
            op: PropertyOp::Empty,
            values: vec![],
        };
        assert!(conditions_hold(&[owner_empty], &t, 0));
        let email = Condition::Channel {
            channels: vec!["EMAIL".into()],
        };
        let form = Condition::Channel {
            channels: vec!["FORM".into()],
        };
        assert!(conditions_hold(std::slice::from_ref(&email), &t, 0));
        assert!(!conditions_hold(&[email, form], &t, 0));
        assert!(conditions_hold(
            &[Condition::Team {
                teams: vec![TeamId(3)]
            }],
            &t,
            0
        ));
        assert!(!conditions_hold(
            &[Condition::Pipeline { pipeline: 9 }],
            &t,
            0
        ));
    }

    #[test]
    fn business_hours_follow_the_zone_and_the_week() {
        let hours = WeeklyHours {
            days: vec![0, 1, 2, 3, 4],
            start_minute: 9 * 60,
            end_minute: 17 * 60,
            time_zone: "Europe/Rome".into(),
        };
        // Monday 7 December 2026, 08:30 UTC = 09:30 in Rome.
        let monday = 1_796_632_200_000;
        assert!(hours.contains(monday));
        // 16:30 UTC = 17:30 in Rome: closed.
        assert!(!hours.contains(monday + 8 * 3_600_000));
        // Saturday.
        assert!(!hours.contains(monday + 5 * 86_400_000));
        let c = Condition::BusinessHours {
            hours,
            inside: false,
        };
        assert!(conditions_hold(
            std::slice::from_ref(&c),
            &ticket(),
            monday + 5 * 86_400_000
        ));
    }

    #[test]
    fn weekly_hours_read_and_write_back() {
        let h = WeeklyHours::parse("Mon-Fri 09:00-17:30", "Europe/Rome").unwrap();
        assert_eq!(h.days, vec![0, 1, 2, 3, 4]);
        assert_eq!((h.start_minute, h.end_minute), (540, 1050));
        assert_eq!(h.describe(), "Mon,Tue,Wed,Thu,Fri 09:00-17:30");
        assert_eq!(WeeklyHours::parse(&h.describe(), "Europe/Rome").unwrap(), h);
        assert!(WeeklyHours::parse("Sat,Sun 10:00-12:00", "UTC").is_ok());
        for bad in [
            "Mon-Fri",
            "Fri-Mon 09:00-17:00",
            "Mon 17:00-09:00",
            "Xyz 09:00-10:00",
        ] {
            assert!(WeeklyHours::parse(bad, "UTC").is_err(), "{bad}");
        }
        assert!(WeeklyHours::parse("Mon 09:00-10:00", "Mars/Base").is_err());
    }

    #[test]
    fn loop_protection_skips_rules_already_in_the_chain_and_stops_at_depth() {
        let r = rule(
            4,
            Trigger::StatusChanged,
            vec![Action::SetStage { stage: StageId(2) }],
        );
        let e = TicketEvent::Changed {
            properties: vec!["hs_pipeline_stage".into()],
        };
        assert_eq!(
            evaluate(
                std::slice::from_ref(&r),
                &e,
                &ticket(),
                0,
                &Chain::default()
            )
            .len(),
            1
        );
        let chain = Chain::default().with(4);
        assert!(evaluate(std::slice::from_ref(&r), &e, &ticket(), 0, &chain).is_empty());
        let deep = Chain {
            fired: (100..100 + MAX_CHAIN_DEPTH as i64).collect(),
        };
        assert!(evaluate(&[r], &e, &ticket(), 0, &deep).is_empty());
    }

    #[test]
    fn validation_reports_every_problem() {
        let err = validate(
            " ",
            &Trigger::TimeSince {
                event: TimedEvent::Created,
                minutes: 0,
            },
            &[Condition::Property {
                property: "hs_ticket_priority".into(),
                op: PropertyOp::Equals,
                values: vec![],
            }],
            &[],
        )
        .unwrap_err();
        let DomainError::Invalid(errors) = err else {
            panic!("expected field errors");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["name", "trigger", "conditions", "actions"]);
        assert!(
            validate(
                "ok",
                &Trigger::TicketCreated,
                &[],
                &[Action::Comment {
                    body: "hello".into()
                }]
            )
            .is_ok()
        );
        assert!(
            validate(
                "bad hours",
                &Trigger::TicketCreated,
                &[Condition::BusinessHours {
                    hours: WeeklyHours {
                        days: vec![7],
                        start_minute: 600,
                        end_minute: 500,
                        time_zone: "Mars/Base".into()
                    },
                    inside: true
                }],
                &[Action::Notify {
                    users: vec![],
                    owner: false,
                    message: String::new()
                }]
            )
            .is_err()
        );
    }

    #[test]
    fn stage_named_finds_the_pipeline_stage_by_label() {
        let stages = [
            (StageId(1), "New", false),
            (StageId(2), " waiting ON contact ", false),
            (StageId(3), "Waiting on contact", true),
        ];
        assert_eq!(stage_named(stages, WAITING_ON_CONTACT), Some(StageId(2)));
        assert_eq!(
            stage_named(
                [(StageId(3), "Waiting on contact", true)],
                WAITING_ON_CONTACT
            ),
            None
        );
    }

    #[test]
    fn rules_round_trip_as_json() {
        let t = Trigger::TimeSince {
            event: TimedEvent::NoCustomerReply,
            minutes: 4320,
        };
        let s = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<Trigger>(&s).unwrap(), t);
        let a = vec![
            Action::SetOwner { owner: None },
            Action::AddFollower { user: UserId(2) },
        ];
        let s = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Vec<Action>>(&s).unwrap(), a);
    }
}
