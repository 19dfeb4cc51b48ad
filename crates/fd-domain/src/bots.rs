//! Rule-based chat bots (issue 14 item 4, HD-08): what a bot definition is, when one is
//! valid, and the runner that answers a visitor's message with the bot's next messages and
//! actions.
//!
//! Pure: no storage, no clock, no randomness. fd-app stores definitions and per-conversation
//! state as JSON and performs the actions this answers (storing messages, handing off,
//! creating a ticket through the hand-made ticket use case). A bot never creates a ticket by
//! itself (HD-08, [`crate::rules::hd_06_08_creates_ticket`]); only its `create_ticket` step
//! asks for one.
//!
//! # The JSON format (import and export)
//!
//! ```json
//! {
//!   "start": "hello",
//!   "steps": [
//!     {"id": "hello", "kind": "ask", "text": "Hi {{name}}! Sales or support?",
//!      "options": [{"label": "Sales", "next": "sales"}, {"label": "Support", "next": "email"}],
//!      "else": "bye"},
//!     {"id": "email", "kind": "collect_email", "text": "Your email address?", "next": "check"},
//!     {"id": "check", "kind": "branch", "on": "email",
//!      "cases": [{"contains": "@vip.example", "next": "sales"}], "else": "ticket"},
//!     {"id": "ticket", "kind": "create_ticket", "text": "We opened a ticket for you.",
//!      "subject": "Support for {{email}}", "next": "bye"},
//!     {"id": "sales", "kind": "hand_off", "team": 1, "text": "Connecting you to Sales…"},
//!     {"id": "bye", "kind": "end", "text": "Goodbye!"}
//!   ]
//! }
//! ```
//!
//! Steps: `message {text, next}`; `ask {text, options: [{label, next}], else?}` (quick-reply
//! buttons; a typed answer equal to a label, ignoring case, counts too; any other answer is
//! asked again once, then goes to `else` when given); `collect_email {text, next}` (asked
//! again until the address is valid); `collect_name {text, next}`; `branch {on, cases:
//! [{equals|contains, next}], else}` (`on` is `name`, `email`, `answer` — the latest answer
//! to an `ask` — or the id of an `ask` step; comparisons ignore case); `hand_off {team,
//! text?}` (a team id: the conversation goes to the team's inbox and the bot stops);
//! `create_ticket {text?, subject?, next?}` (one ticket, made as by hand; without `next` the
//! bot ends there); `end {text?}`. `start` is optional (the first step). Texts and subjects
//! may name `{{name}}`, `{{email}}`, `{{answer}}` or `{{<ask step id>}}`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::error::FieldError;
use crate::model::{EmailAddress, TeamId};
use crate::{DomainError, ErrorCode};

/// The most steps one bot may have.
pub const MAX_STEPS: usize = 200;
/// The longest text (message, question, subject template) of a step.
pub const MAX_TEXT_CHARS: usize = 2_000;
/// The longest step id and quick-reply label.
pub const MAX_ID_CHARS: usize = 64;
pub const MAX_LABEL_CHARS: usize = 100;
/// The most quick replies one question offers.
pub const MAX_OPTIONS: usize = 10;
/// The longest bot name.
pub const MAX_NAME_CHARS: usize = 200;

/// A bot: ordered steps with ids; it starts at `start` or else at the first step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BotDefinition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(default)]
    pub steps: Vec<Step>,
}

/// One step: its id (what `next` targets name) and what it does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub id: String,
    #[serde(flatten)]
    pub kind: StepKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepKind {
    Message {
        text: String,
        next: String,
    },
    Ask {
        text: String,
        options: Vec<AskOption>,
        #[serde(default, rename = "else", skip_serializing_if = "Option::is_none")]
        otherwise: Option<String>,
    },
    CollectEmail {
        text: String,
        next: String,
    },
    CollectName {
        text: String,
        next: String,
    },
    Branch {
        on: String,
        cases: Vec<Case>,
        #[serde(rename = "else")]
        otherwise: String,
    },
    HandOff {
        team: TeamId,
        #[serde(default)]
        text: String,
    },
    CreateTicket {
        #[serde(default)]
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subject: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
    },
    End {
        #[serde(default)]
        text: String,
    },
}

impl StepKind {
    /// The kind's name as the JSON spells it.
    pub fn name(&self) -> &'static str {
        match self {
            StepKind::Message { .. } => "message",
            StepKind::Ask { .. } => "ask",
            StepKind::CollectEmail { .. } => "collect_email",
            StepKind::CollectName { .. } => "collect_name",
            StepKind::Branch { .. } => "branch",
            StepKind::HandOff { .. } => "hand_off",
            StepKind::CreateTicket { .. } => "create_ticket",
            StepKind::End { .. } => "end",
        }
    }

    /// Whether the step stops and waits for the visitor's answer.
    pub fn waits(&self) -> bool {
        matches!(
            self,
            StepKind::Ask { .. } | StepKind::CollectEmail { .. } | StepKind::CollectName { .. }
        )
    }

    /// The steps this one may go to next.
    pub fn targets(&self) -> Vec<&str> {
        match self {
            StepKind::Message { next, .. }
            | StepKind::CollectEmail { next, .. }
            | StepKind::CollectName { next, .. } => vec![next.as_str()],
            StepKind::Ask {
                options, otherwise, ..
            } => options
                .iter()
                .map(|o| o.next.as_str())
                .chain(otherwise.as_deref())
                .collect(),
            StepKind::Branch {
                cases, otherwise, ..
            } => cases
                .iter()
                .map(|c| c.next.as_str())
                .chain(std::iter::once(otherwise.as_str()))
                .collect(),
            StepKind::CreateTicket { next, .. } => next.as_deref().into_iter().collect(),
            StepKind::HandOff { .. } | StepKind::End { .. } => Vec::new(),
        }
    }

    /// The visitor-facing text of the step.
    pub fn text(&self) -> &str {
        match self {
            StepKind::Message { text, .. }
            | StepKind::Ask { text, .. }
            | StepKind::CollectEmail { text, .. }
            | StepKind::CollectName { text, .. }
            | StepKind::HandOff { text, .. }
            | StepKind::CreateTicket { text, .. }
            | StepKind::End { text } => text,
            StepKind::Branch { .. } => "",
        }
    }
}

/// A quick reply of an `ask` step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AskOption {
    pub label: String,
    pub next: String,
}

/// A case of a `branch` step: exactly one of `equals` or `contains`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<String>,
    pub next: String,
}

impl Case {
    fn matches(&self, value: &str) -> bool {
        let v = value.trim().to_lowercase();
        match (&self.equals, &self.contains) {
            (Some(e), _) => v == e.trim().to_lowercase(),
            (None, Some(c)) => v.contains(&c.trim().to_lowercase()),
            (None, None) => false,
        }
    }
}

/// The variables a branch may test besides an `ask` step's id.
pub const VARIABLES: [&str; 3] = ["name", "email", "answer"];

impl BotDefinition {
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// Where the bot starts.
    pub fn start_id(&self) -> Option<&str> {
        self.start
            .as_deref()
            .or_else(|| self.steps.first().map(|s| s.id.as_str()))
    }

    /// The teams the bot hands off to.
    pub fn teams(&self) -> Vec<TeamId> {
        self.steps
            .iter()
            .filter_map(|s| match &s.kind {
                StepKind::HandOff { team, .. } => Some(*team),
                _ => None,
            })
            .collect()
    }
}

/// A bot's name: trimmed, 1 to [`MAX_NAME_CHARS`] characters.
pub fn bot_name(name: &str) -> Result<String, DomainError> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > MAX_NAME_CHARS || n.chars().any(char::is_control) {
        return Err(DomainError::field(
            "name",
            ErrorCode::Required,
            format!("a bot needs a name of 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    Ok(n.to_string())
}

/// Whether a definition can run: ids unique and non-empty, every target a step, a start,
/// texts within bounds, each question with options, each branch testing a known variable,
/// every hand-off to one of `teams`, and no loop of steps that never waits for the visitor
/// (the bot would talk forever). All problems are reported at once, each naming its step.
pub fn validate(def: &BotDefinition, teams: &[TeamId]) -> Result<(), DomainError> {
    let mut errors = Vec::new();
    let mut err = |field: String, code: ErrorCode, message: String| {
        errors.push(FieldError::new(field, code, message));
    };
    if def.steps.is_empty() {
        err(
            "steps".into(),
            ErrorCode::Required,
            "a bot needs at least one step: it starts at the first (or at `start`)".into(),
        );
    }
    if def.steps.len() > MAX_STEPS {
        err(
            "steps".into(),
            ErrorCode::TooLarge,
            format!("a bot has at most {MAX_STEPS} steps"),
        );
    }
    let mut ids = BTreeSet::new();
    for (i, s) in def.steps.iter().enumerate() {
        let id = s.id.trim();
        if id.is_empty() || id != s.id || id.chars().count() > MAX_ID_CHARS {
            err(
                format!("steps[{i}].id"),
                ErrorCode::InvalidValue,
                format!(
                    "step {}: an id is 1 to {MAX_ID_CHARS} characters without surrounding spaces",
                    i + 1
                ),
            );
        } else if !ids.insert(id) {
            err(
                format!("steps[{i}].id"),
                ErrorCode::InvalidValue,
                format!("step id {id:?} is used twice"),
            );
        }
    }
    match &def.start {
        Some(st) if !ids.contains(st.as_str()) => err(
            "start".into(),
            ErrorCode::InvalidValue,
            format!("the start {st:?} is not a step"),
        ),
        _ => {}
    }
    let ask_ids: BTreeSet<&str> = def
        .steps
        .iter()
        .filter(|s| matches!(s.kind, StepKind::Ask { .. }))
        .map(|s| s.id.as_str())
        .collect();
    for (i, s) in def.steps.iter().enumerate() {
        let at = format!("steps[{i}]");
        let name = &s.id;
        for t in s.kind.targets() {
            if !ids.contains(t) {
                err(
                    format!("{at}.next"),
                    ErrorCode::InvalidValue,
                    format!("step {name:?} goes to {t:?}, which is not a step"),
                );
            }
        }
        let text = s.kind.text();
        if text.chars().count() > MAX_TEXT_CHARS {
            err(
                format!("{at}.text"),
                ErrorCode::TooLarge,
                format!("step {name:?}: a text has at most {MAX_TEXT_CHARS} characters"),
            );
        }
        let needs_text = matches!(
            s.kind,
            StepKind::Message { .. }
                | StepKind::Ask { .. }
                | StepKind::CollectEmail { .. }
                | StepKind::CollectName { .. }
        );
        if needs_text && text.trim().is_empty() {
            err(
                format!("{at}.text"),
                ErrorCode::Required,
                format!(
                    "step {name:?} ({}) needs a text to show the visitor",
                    s.kind.name()
                ),
            );
        }
        match &s.kind {
            StepKind::Ask { options, .. } => {
                if options.is_empty() || options.len() > MAX_OPTIONS {
                    err(
                        format!("{at}.options"),
                        ErrorCode::InvalidValue,
                        format!("step {name:?}: a question offers 1 to {MAX_OPTIONS} answers"),
                    );
                }
                let mut labels = BTreeSet::new();
                for o in options {
                    let l = o.label.trim();
                    if l.is_empty() || l.chars().count() > MAX_LABEL_CHARS {
                        err(
                            format!("{at}.options"),
                            ErrorCode::InvalidValue,
                            format!(
                                "step {name:?}: an answer's label is 1 to {MAX_LABEL_CHARS} characters"
                            ),
                        );
                    } else if !labels.insert(l.to_lowercase()) {
                        err(
                            format!("{at}.options"),
                            ErrorCode::InvalidValue,
                            format!("step {name:?}: the answer {l:?} is offered twice"),
                        );
                    }
                }
            }
            StepKind::Branch { on, cases, .. } => {
                if !VARIABLES.contains(&on.as_str()) && !ask_ids.contains(on.as_str()) {
                    err(
                        format!("{at}.on"),
                        ErrorCode::InvalidValue,
                        format!(
                            "step {name:?} branches on {on:?}: use name, email, answer or the id of an ask step"
                        ),
                    );
                }
                for c in cases {
                    let given = [&c.equals, &c.contains]
                        .iter()
                        .filter(|v| v.as_deref().is_some_and(|v| !v.trim().is_empty()))
                        .count();
                    if given != 1 {
                        err(
                            format!("{at}.cases"),
                            ErrorCode::InvalidValue,
                            format!(
                                "step {name:?}: each case has exactly one of equals or contains"
                            ),
                        );
                    }
                }
            }
            StepKind::HandOff { team, .. } if !teams.contains(team) => err(
                format!("{at}.team"),
                ErrorCode::InvalidValue,
                format!("step {name:?} hands off to team {team}, which does not exist"),
            ),
            StepKind::CreateTicket {
                subject: Some(sub), ..
            } if sub.chars().count() > MAX_TEXT_CHARS => err(
                format!("{at}.subject"),
                ErrorCode::TooLarge,
                format!("step {name:?}: a subject has at most {MAX_TEXT_CHARS} characters"),
            ),
            _ => {}
        }
    }
    if errors.is_empty()
        && let Some(cycle) = talking_loop(def)
    {
        errors.push(FieldError::new(
            "steps",
            ErrorCode::InvalidValue,
            format!(
                "the steps {} go round in a loop without waiting for the visitor",
                cycle.join(" → ")
            ),
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Invalid(errors))
    }
}

/// A loop through steps that never wait (message, branch, create_ticket), if any: following
/// it the bot would never stop talking. Depth-first search over the non-waiting steps.
fn talking_loop(def: &BotDefinition) -> Option<Vec<String>> {
    fn visit<'a>(
        def: &'a BotDefinition,
        id: &'a str,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(pos) = path.iter().position(|p| *p == id) {
            let mut c: Vec<String> = path[pos..].iter().map(|s| s.to_string()).collect();
            c.push(id.to_string());
            return Some(c);
        }
        if done.contains(id) {
            return None;
        }
        let step = def.step(id)?;
        if step.kind.waits() {
            return None;
        }
        path.push(id);
        for t in step.kind.targets() {
            if let Some(c) = visit(def, t, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(id);
        None
    }
    let mut done = BTreeSet::new();
    for s in &def.steps {
        let mut path = Vec::new();
        if let Some(c) = visit(def, &s.id, &mut path, &mut done) {
            return Some(c);
        }
    }
    None
}

/// What one visitor's conversation with a bot has reached (stored as JSON per conversation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BotState {
    /// The step waiting for the visitor's answer; none before the first message and after
    /// the bot ended (the visitor's next message starts it again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<String>,
    /// The waiting question was already asked again once.
    #[serde(default)]
    pub retried: bool,
    /// Collected values: `name`, `email`, `answer` and each answered ask step's id.
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    /// The conversation went to a team: the bot never speaks in it again.
    #[serde(default)]
    pub handed_off: bool,
}

/// What the bot does, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BotOutput {
    /// A message from the bot to the visitor.
    Say(String),
    /// The visitor gave this name (the conversation's visitor name, HD-18).
    Name(String),
    /// The visitor gave this (valid, lower-cased) address (the visitor's email, HD-18).
    Email(String),
    /// One ticket for the conversation, made as a ticket made by hand; the subject is the
    /// rendered template, if the step has one.
    CreateTicket { subject: Option<String> },
    /// The conversation goes to the team's inbox; the bot stops for good.
    HandOff(TeamId),
    /// The bot finished (the visitor's next message starts it again).
    End,
}

/// The bot's answer to one visitor message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    pub outputs: Vec<BotOutput>,
    pub state: BotState,
}

/// `{{name}}`-style placeholders filled from the collected values (unknown ones read empty).
pub fn render(template: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some((before, after)) = rest.split_once("{{") {
        let Some((key, tail)) = after.split_once("}}") else {
            break;
        };
        out.push_str(before);
        out.push_str(vars.get(key.trim()).map(String::as_str).unwrap_or(""));
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// The quick replies the widget offers now: the labels of the question waiting for an answer.
pub fn quick_replies(def: &BotDefinition, state: &BotState) -> Vec<String> {
    if state.handed_off {
        return Vec::new();
    }
    match state
        .waiting
        .as_deref()
        .and_then(|w| def.step(w))
        .map(|s| &s.kind)
    {
        Some(StepKind::Ask { options, .. }) => options.iter().map(|o| o.label.clone()).collect(),
        _ => Vec::new(),
    }
}

/// The bot's turn after the visitor wrote `input`: the answer to the waiting step (if any)
/// moves the bot on; it then runs until a step waits for the visitor or the bot stops. A bot
/// that was handed off answers nothing. Refuses a definition that loops without waiting
/// (which [`validate`] never lets through).
pub fn advance(def: &BotDefinition, state: &BotState, input: &str) -> Result<Turn, DomainError> {
    let mut st = state.clone();
    let mut out = Vec::new();
    if st.handed_off {
        return Ok(Turn {
            outputs: out,
            state: st,
        });
    }
    let input = input.trim();
    let waiting = st
        .waiting
        .clone()
        .and_then(|w| def.step(&w).filter(|s| s.kind.waits()).cloned());
    // Nothing waiting (a new conversation, a finished bot, a step removed since): start.
    let mut next: Option<String> = match waiting {
        None => def.start_id().map(str::to_string),
        Some(step) => match &step.kind {
            StepKind::Ask {
                text,
                options,
                otherwise,
            } => {
                let chosen = options
                    .iter()
                    .find(|o| o.label.trim().to_lowercase() == input.to_lowercase());
                match chosen {
                    Some(o) => {
                        st.vars.insert("answer".into(), o.label.trim().to_string());
                        st.vars.insert(step.id.clone(), o.label.trim().to_string());
                        Some(o.next.clone())
                    }
                    None if st.retried && otherwise.is_some() => {
                        st.vars.insert("answer".into(), input.to_string());
                        st.vars.insert(step.id.clone(), input.to_string());
                        otherwise.clone()
                    }
                    None => {
                        st.retried = true;
                        out.push(BotOutput::Say(format!(
                            "Please choose one of the answers: {}.",
                            options
                                .iter()
                                .map(|o| o.label.trim())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )));
                        out.push(BotOutput::Say(render(text, &st.vars)));
                        return Ok(Turn {
                            outputs: out,
                            state: st,
                        });
                    }
                }
            }
            StepKind::CollectEmail { text, next } => match EmailAddress::parse(input) {
                Ok(e) => {
                    st.vars.insert("email".into(), e.as_str().to_string());
                    out.push(BotOutput::Email(e.as_str().to_string()));
                    Some(next.clone())
                }
                Err(_) => {
                    st.retried = true;
                    out.push(BotOutput::Say(
                        "That does not look like an email address (such as name@example.com)."
                            .into(),
                    ));
                    out.push(BotOutput::Say(render(text, &st.vars)));
                    return Ok(Turn {
                        outputs: out,
                        state: st,
                    });
                }
            },
            StepKind::CollectName { text, next } => match crate::chat::visitor_name(Some(input)) {
                Ok(Some(n)) => {
                    st.vars.insert("name".into(), n.clone());
                    out.push(BotOutput::Name(n));
                    Some(next.clone())
                }
                _ => {
                    st.retried = true;
                    out.push(BotOutput::Say(format!(
                        "Please give a name of at most {} characters.",
                        crate::chat::MAX_VISITOR_NAME_CHARS
                    )));
                    out.push(BotOutput::Say(render(text, &st.vars)));
                    return Ok(Turn {
                        outputs: out,
                        state: st,
                    });
                }
            },
            // `waits()` admits only the three kinds above.
            _ => None,
        },
    };
    st.waiting = None;
    st.retried = false;
    // Each step at most once per turn without waiting: validation forbids talking loops,
    // and this bound keeps a definition that slipped past it from running forever.
    let mut budget = def.steps.len() + 1;
    while let Some(id) = next.take() {
        if budget == 0 {
            return Err(DomainError::field(
                "steps",
                ErrorCode::InvalidValue,
                "the bot goes round in a loop without waiting for the visitor",
            ));
        }
        budget -= 1;
        let Some(step) = def.step(&id) else {
            return Err(DomainError::field(
                "steps",
                ErrorCode::InvalidValue,
                format!("the bot goes to {id:?}, which is not a step"),
            ));
        };
        let say = |out: &mut Vec<BotOutput>, text: &str, vars: &BTreeMap<String, String>| {
            let t = render(text, vars);
            if !t.trim().is_empty() {
                out.push(BotOutput::Say(t));
            }
        };
        match &step.kind {
            StepKind::Message { text, next: n } => {
                say(&mut out, text, &st.vars);
                next = Some(n.clone());
            }
            StepKind::Ask { text, .. }
            | StepKind::CollectEmail { text, .. }
            | StepKind::CollectName { text, .. } => {
                say(&mut out, text, &st.vars);
                st.waiting = Some(step.id.clone());
            }
            StepKind::Branch {
                on,
                cases,
                otherwise,
            } => {
                let value = st.vars.get(on).map(String::as_str).unwrap_or("");
                next = Some(
                    cases
                        .iter()
                        .find(|c| c.matches(value))
                        .map(|c| c.next.clone())
                        .unwrap_or_else(|| otherwise.clone()),
                );
            }
            StepKind::HandOff { team, text } => {
                say(&mut out, text, &st.vars);
                out.push(BotOutput::HandOff(*team));
                st.handed_off = true;
            }
            StepKind::CreateTicket {
                text,
                subject,
                next: n,
            } => {
                let subject = subject
                    .as_deref()
                    .map(|s| render(s, &st.vars).trim().to_string())
                    .filter(|s| !s.is_empty());
                out.push(BotOutput::CreateTicket { subject });
                say(&mut out, text, &st.vars);
                match n {
                    Some(n) => next = Some(n.clone()),
                    None => out.push(BotOutput::End),
                }
            }
            StepKind::End { text } => {
                say(&mut out, text, &st.vars);
                out.push(BotOutput::End);
            }
        }
    }
    Ok(Turn {
        outputs: out,
        state: st,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn sample() -> BotDefinition {
        serde_json::from_str(
            r#"{
              "steps": [
                {"id": "hello", "kind": "message", "text": "Hello!", "next": "what"},
                {"id": "what", "kind": "ask", "text": "Sales or support?",
                 "options": [{"label": "Sales", "next": "sales"}, {"label": "Support", "next": "name"}],
                 "else": "bye"},
                {"id": "name", "kind": "collect_name", "text": "Your name?", "next": "email"},
                {"id": "email", "kind": "collect_email", "text": "Your email, {{name}}?", "next": "vip"},
                {"id": "vip", "kind": "branch", "on": "email",
                 "cases": [{"contains": "@vip.example", "next": "sales"}], "else": "ticket"},
                {"id": "ticket", "kind": "create_ticket", "text": "Ticket opened.",
                 "subject": "Help for {{name}}", "next": "bye"},
                {"id": "sales", "kind": "hand_off", "team": 7, "text": "Connecting you."},
                {"id": "bye", "kind": "end", "text": "Bye!"}
              ]
            }"#,
        )
        .unwrap()
    }

    fn says(t: &Turn) -> Vec<&str> {
        t.outputs
            .iter()
            .filter_map(|o| match o {
                BotOutput::Say(s) => Some(s.as_str()),
                _ => None,
            })
            .collect()
    }

    fn messages(e: DomainError) -> String {
        match e {
            DomainError::Invalid(f) => f
                .iter()
                .map(|f| f.message.clone())
                .collect::<Vec<_>>()
                .join("\n"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_json_format_round_trips_and_validates() {
        let d = sample();
        assert_eq!(validate(&d, &[TeamId(7)]), Ok(()));
        let again: BotDefinition =
            serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
        assert_eq!(again, d);
    }

    #[test]
    fn bad_definitions_are_refused_with_the_reason() {
        let mut d = sample();
        let m = messages(validate(&d, &[TeamId(8)]).unwrap_err());
        assert!(m.contains("team 7"), "{m}");

        d = sample();
        d.steps[0].kind = StepKind::Message {
            text: "x".into(),
            next: "nowhere".into(),
        };
        let m = messages(validate(&d, &[TeamId(7)]).unwrap_err());
        assert!(m.contains("\"nowhere\", which is not a step"), "{m}");

        d = sample();
        d.steps[1].id = "hello".into();
        let m = messages(validate(&d, &[TeamId(7)]).unwrap_err());
        assert!(m.contains("used twice"), "{m}");

        d = sample();
        d.start = Some("missing".into());
        let m = messages(validate(&d, &[TeamId(7)]).unwrap_err());
        assert!(m.contains("start"), "{m}");

        let m = messages(validate(&BotDefinition::default(), &[]).unwrap_err());
        assert!(m.contains("at least one step"), "{m}");

        d = sample();
        d.steps[4].kind = StepKind::Branch {
            on: "colour".into(),
            cases: vec![],
            otherwise: "bye".into(),
        };
        let m = messages(validate(&d, &[TeamId(7)]).unwrap_err());
        assert!(m.contains("branches on \"colour\""), "{m}");
    }

    #[test]
    fn a_loop_that_never_waits_is_refused_but_one_through_a_question_is_not() {
        let talking: BotDefinition = serde_json::from_str(
            r#"{"steps": [
                {"id": "a", "kind": "message", "text": "a", "next": "b"},
                {"id": "b", "kind": "branch", "on": "answer", "cases": [], "else": "a"}
            ]}"#,
        )
        .unwrap();
        let m = messages(validate(&talking, &[]).unwrap_err());
        assert!(m.contains("a → b → a"), "{m}");
        assert!(advance(&talking, &BotState::default(), "hi").is_err());

        let asking: BotDefinition = serde_json::from_str(
            r#"{"steps": [
                {"id": "a", "kind": "message", "text": "a", "next": "b"},
                {"id": "b", "kind": "ask", "text": "again?", "options": [{"label": "Yes", "next": "a"}]}
            ]}"#,
        )
        .unwrap();
        assert_eq!(validate(&asking, &[]), Ok(()));
    }

    #[test]
    fn the_first_message_starts_the_bot_and_it_waits_at_the_question() {
        let d = sample();
        let t = advance(&d, &BotState::default(), "hi there").unwrap();
        assert_eq!(says(&t), ["Hello!", "Sales or support?"]);
        assert_eq!(t.state.waiting.as_deref(), Some("what"));
        assert_eq!(quick_replies(&d, &t.state), ["Sales", "Support"]);
    }

    #[test]
    fn a_quick_reply_or_typed_label_answers_and_a_hand_off_stops_the_bot() {
        let d = sample();
        let s = advance(&d, &BotState::default(), "hi").unwrap().state;
        let t = advance(&d, &s, "  sALES ").unwrap();
        assert_eq!(says(&t), ["Connecting you."]);
        assert!(t.outputs.contains(&BotOutput::HandOff(TeamId(7))));
        assert!(t.state.handed_off);
        assert!(quick_replies(&d, &t.state).is_empty());
        let after = advance(&d, &t.state, "hello?").unwrap();
        assert!(after.outputs.is_empty());
    }

    #[test]
    fn an_unknown_answer_is_asked_again_once_then_goes_to_else() {
        let d = sample();
        let s = advance(&d, &BotState::default(), "hi").unwrap().state;
        let t = advance(&d, &s, "pizza").unwrap();
        assert_eq!(
            says(&t),
            [
                "Please choose one of the answers: Sales, Support.",
                "Sales or support?"
            ]
        );
        assert_eq!(t.state.waiting.as_deref(), Some("what"));
        let t = advance(&d, &t.state, "pizza again").unwrap();
        assert_eq!(says(&t), ["Bye!"]);
        assert_eq!(t.outputs.last(), Some(&BotOutput::End));
        assert_eq!(t.state.waiting, None);
        // A finished bot starts again at the visitor's next message.
        let t = advance(&d, &t.state, "hello").unwrap();
        assert_eq!(t.state.waiting.as_deref(), Some("what"));
    }

    #[test]
    fn collected_email_and_name_feed_branches_templates_and_the_ticket() {
        let d = sample();
        let mut s = advance(&d, &BotState::default(), "hi").unwrap().state;
        s = advance(&d, &s, "Support").unwrap().state;
        let t = advance(&d, &s, "Ada").unwrap();
        assert!(t.outputs.contains(&BotOutput::Name("Ada".into())));
        assert_eq!(says(&t), ["Your email, Ada?"]);
        let bad = advance(&d, &t.state, "not an address").unwrap();
        assert_eq!(bad.state.waiting.as_deref(), Some("email"));
        assert!(says(&bad)[0].contains("does not look like an email address"));
        let t = advance(&d, &bad.state, "Ada@Example.com").unwrap();
        assert_eq!(
            t.outputs,
            vec![
                BotOutput::Email("ada@example.com".into()),
                BotOutput::CreateTicket {
                    subject: Some("Help for Ada".into())
                },
                BotOutput::Say("Ticket opened.".into()),
                BotOutput::Say("Bye!".into()),
                BotOutput::End,
            ]
        );
        // The branch's other way: a VIP address goes to the team.
        let mut s = advance(&d, &BotState::default(), "hi").unwrap().state;
        s = advance(&d, &s, "Support").unwrap().state;
        s = advance(&d, &s, "Bo").unwrap().state;
        let t = advance(&d, &s, "bo@vip.example").unwrap();
        assert!(t.outputs.contains(&BotOutput::HandOff(TeamId(7))));
        assert!(
            !t.outputs
                .iter()
                .any(|o| matches!(o, BotOutput::CreateTicket { .. }))
        );
    }

    #[test]
    fn templates_fill_known_values_and_blank_unknown_ones() {
        let mut v = BTreeMap::new();
        v.insert("name".to_string(), "Ada".to_string());
        assert_eq!(render("Hi {{name}}{{ nope }}!", &v), "Hi Ada!");
        assert_eq!(render("open {{ only", &v), "open {{ only");
    }
}
