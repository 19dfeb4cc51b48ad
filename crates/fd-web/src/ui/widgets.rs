//! View-model pieces that several screens show: property inputs (`PropField`), record links
//! (`NamedLink`), the ticket header and history rows, list rows with their contacts, and the
//! contact picker's form reading. The reply editor and the screens build on them.
//!
//! Must not depend on any screen module (`helpdesk`, `inbox`, `records`, `admin`,
//! `notifications`) nor on the editor: screens import widgets, never the other way round.

use std::collections::BTreeMap;

use fd_app::domain::entities::{ActivityEvent, Contact, Ticket};
use fd_app::domain::property::{PropertyDefinition, PropertyType};
use fd_app::domain::*;
use fd_app::{App, AppError, NewContact, VisitorContact};

use super::Agent;
use fd_app::domain::local_time::{self, UserTimeZone};

use super::view::{Directory, Opt, OptGroup, TicketRow};

/// List rows with each ticket's contact (the list shows the first associated contact).
pub(crate) async fn ticket_rows(
    app: &App,
    agent: &Agent,
    dir: &Directory,
    tickets: &[Ticket],
) -> Result<Vec<TicketRow>, AppError> {
    let contacts = app.contacts_of_tickets(&agent.actor, tickets).await?;
    let digests = app.ticket_digests(&agent.actor, tickets).await?;
    Ok(tickets
        .iter()
        .map(|t| {
            let contact = contacts
                .iter()
                .find(|(id, _)| *id == t.id)
                .map(|(_, c)| c.display_name())
                .unwrap_or_default();
            TicketRow::new(t, dir, contact, digests.get(&t.id))
        })
        .collect())
}

/// One editable property in the sidebar or the create form.
pub(crate) struct PropField {
    /// The input's element id (unique on the page: sidebar and prompts use prefixes).
    pub id: String,
    pub name: String,
    pub label: String,
    /// text, textarea, select, multi, number, date, datetime, stage
    pub input: &'static str,
    pub value: String,
    /// The stored value the sidebar compares with (`o.<name>`): the value itself unless a
    /// refused save put the agent's typing back in the input.
    pub original: String,
    pub options: Vec<Opt>,
    pub groups: Vec<OptGroup>,
    pub required: bool,
    /// Who last changed this property (the newest `property_changed` activity row), so a live
    /// update can say "changed by Bob" next to a field the agent is editing. Empty when unknown.
    pub changed_by: String,
    /// Why the last save of this field was refused, shown at the field.
    pub error: Option<String>,
}

impl PropField {
    /// The `type` of a one-line input. A date or date-time holding what the agent typed and
    /// the browser could not read stays a text input: a `date`/`datetime-local` input would
    /// drop it, and the agent must see what was refused.
    pub fn html_type(&self) -> &'static str {
        match self.input {
            "number" => "number",
            "date"
                if self.value.is_empty() || local_time::parse_date_input(&self.value).is_some() =>
            {
                "date"
            }
            "datetime"
                if self.value.is_empty()
                    || local_time::parse_datetime_input(&self.value, &UserTimeZone::utc())
                        .is_some() =>
            {
                "datetime-local"
            }
            _ => "text",
        }
    }

    /// A date-time shown with seconds needs a step of one second, or the browser would call
    /// the unchanged value invalid (its default step is a minute).
    pub fn step(&self) -> &'static str {
        match self.html_type() {
            "number" => "any",
            "datetime-local" if self.value.len() > 16 => "1",
            _ => "",
        }
    }

    /// What a date-time input's value means, for the hint under it.
    pub fn is_datetime(&self) -> bool {
        self.input == "datetime"
    }
}

/// A stored value as its input shows it: a date as its day (`<input type=date>`), a date-time
/// as the wall-clock time in the agent's zone (`<input type=datetime-local>`). A value that is
/// no stored time (what the agent typed, put back after a refusal) is shown as typed.
fn display_value(def: &PropertyDefinition, raw: Option<&str>, tz: &UserTimeZone) -> String {
    let Some(raw) = raw else {
        return String::new();
    };
    let stored = raw.parse::<i64>().ok();
    let shown = match (def.kind, stored) {
        (PropertyType::Date, Some(ms)) => local_time::date_input_value(ms),
        (PropertyType::Datetime, Some(ms)) => local_time::datetime_input_value(ms, tz),
        _ => None,
    };
    shown.unwrap_or_else(|| raw.to_string())
}

impl Agent {
    /// The agent's own time zone (`users.time_zone`), UTC when unset or unknown.
    pub(crate) fn zone(&self) -> UserTimeZone {
        UserTimeZone::or_utc(&self.user.time_zone)
    }
}

/// Reads what date and date-time inputs posted (`values`, by property name) into the stored
/// form before the app sees them: a day as midnight UTC (HubSpot's date), a wall-clock time
/// in the agent's zone as its instant, both in epoch milliseconds (the rule is
/// `fd_domain::local_time`'s). Other properties and empty values (a cleared field) pass
/// unchanged. Anything unreadable is refused at its field, so the form comes back with what
/// was typed and the reason beside it.
pub(crate) fn stored_times(
    mut values: BTreeMap<String, String>,
    defs: &[PropertyDefinition],
    tz: &UserTimeZone,
) -> Result<BTreeMap<String, String>, AppError> {
    let mut errors = Vec::new();
    for (name, value) in values.iter_mut() {
        let Some(def) = defs.iter().find(|d| d.name == *name) else {
            continue;
        };
        if value.trim().is_empty() {
            continue;
        }
        let read = match def.kind {
            PropertyType::Date => local_time::parse_date_input(value).ok_or_else(|| {
                format!("\u{201c}{value}\u{201d} is not a date: give the day as 2026-12-31.")
            }),
            PropertyType::Datetime => {
                local_time::parse_datetime_input(value, tz).ok_or_else(|| {
                    format!(
                        "\u{201c}{value}\u{201d} is not a date and time: give it as 2026-12-31T09:30 ({} time).",
                        tz.name()
                    )
                })
            }
            _ => continue,
        };
        match read {
            Ok(ms) => *value = ms.to_string(),
            Err(m) => errors.push(FieldError::new(name.clone(), ErrorCode::InvalidDate, m)),
        }
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(AppError::Domain(DomainError::Invalid(errors)))
    }
}

/// The input for a property definition, holding `value` (raw stored text).
pub(crate) fn prop_field(
    def: &PropertyDefinition,
    value: Option<&str>,
    dir: &Directory,
    tz: &UserTimeZone,
    required: bool,
) -> PropField {
    let shown = display_value(def, value, tz);
    let mut f = PropField {
        id: format!("f-{}", def.name),
        name: def.name.clone(),
        label: def.label.clone(),
        input: "text",
        value: shown.clone(),
        original: shown.clone(),
        options: Vec::new(),
        groups: Vec::new(),
        required,
        changed_by: String::new(),
        error: None,
    };
    match def.name.as_str() {
        "hs_pipeline_stage" => {
            f.input = "stage";
            f.groups = dir.stage_groups(value.and_then(|v| v.parse().ok()));
            return f;
        }
        "hubspot_owner_id" => {
            f.input = "select";
            f.options = dir.owner_options(value.and_then(|v| v.parse().ok()));
            return f;
        }
        "hubspot_team_id" => {
            f.input = "select";
            f.options = std::iter::once(Opt::new("", "No team", value.is_none()))
                .chain(dir.teams.iter().map(|t| {
                    Opt::new(
                        t.id.to_string(),
                        t.name.clone(),
                        Some(t.id.to_string().as_str()) == value,
                    )
                }))
                .collect();
            return f;
        }
        "content" => {
            f.input = "textarea";
            return f;
        }
        _ => {}
    }
    match def.kind {
        PropertyType::Enumeration => {
            let chosen: Vec<&str> = shown.split(';').collect();
            f.input = if def.field_type == "checkbox" {
                "multi"
            } else {
                "select"
            };
            if f.input == "select" {
                f.options.push(Opt::new("", "—", shown.is_empty()));
            }
            f.options
                .extend(def.options.iter().filter(|o| !o.hidden).map(|o| {
                    Opt::new(
                        o.value.clone(),
                        o.label.clone(),
                        chosen.contains(&o.value.as_str()),
                    )
                }));
        }
        PropertyType::Bool => {
            f.input = "select";
            f.options = vec![
                Opt::new("", "—", shown.is_empty()),
                Opt::new("true", "Yes", shown == "true"),
                Opt::new("false", "No", shown == "false"),
            ];
        }
        PropertyType::Number => f.input = "number",
        PropertyType::Date => f.input = "date",
        PropertyType::Datetime => f.input = "datetime",
        PropertyType::String => {
            f.input = if def.field_type == "textarea" {
                "textarea"
            } else {
                "text"
            }
        }
    }
    f
}

/// A refused save of property fields: what the agent had typed (by property name) and where
/// each error goes, so the form comes back as they left it with the reasons at the fields.
#[derive(Default)]
pub(crate) struct Refusal {
    pub values: BTreeMap<String, String>,
    pub at: BTreeMap<String, String>,
    pub rest: Option<String>,
}

impl Refusal {
    pub(crate) fn of(e: &AppError, values: BTreeMap<String, String>) -> Refusal {
        let (at, rest) = field_errors(e, "hs_pipeline_stage");
        Refusal { values, at, rest }
    }

    /// Only a message for the whole form (no field of it is at fault).
    pub(crate) fn message(m: impl Into<String>) -> Refusal {
        Refusal {
            rest: Some(m.into()),
            ..Refusal::default()
        }
    }

    /// Puts the typed values back into `fields` (each keeping its stored `original`) and the
    /// errors at them; returns what belongs to the form as a whole.
    pub(crate) fn apply(
        self,
        fields: &mut [PropField],
        defs: &[PropertyDefinition],
        dir: &Directory,
        tz: &UserTimeZone,
    ) -> Option<String> {
        for f in fields.iter_mut() {
            if let (Some(v), Some(def)) = (
                self.values.get(&f.name),
                defs.iter().find(|d| d.name == f.name),
            ) {
                let mut typed = prop_field(def, Some(v), dir, tz, f.required);
                typed.id = std::mem::take(&mut f.id);
                typed.original = std::mem::take(&mut f.original);
                *f = typed;
            }
        }
        place_errors(fields, self.at, self.rest)
    }
}

/// The ticket's editable properties, in the definitions' display order.
pub(crate) fn editable_fields(
    defs: &[PropertyDefinition],
    t: &Ticket,
    dir: &Directory,
    tz: &UserTimeZone,
    only: Option<&[String]>,
) -> Vec<PropField> {
    let mut defs: Vec<&PropertyDefinition> = defs
        .iter()
        .filter(|d| !d.read_only && !d.archived && d.name != "hs_pipeline")
        .filter(|d| only.is_none_or(|names| names.contains(&d.name)))
        .collect();
    if let Some(names) = only {
        defs.sort_by_key(|d| names.iter().position(|n| *n == d.name));
    }
    defs.into_iter()
        .map(|d| prop_field(d, t.property(&d.name).as_deref(), dir, tz, false))
        .collect()
}

/// Fills each field's `changed_by` from the ticket's history (oldest first): the actor of the
/// newest `property_changed` row for that property. The history is already loaded for the
/// sidebar's activity list, so this costs no query.
pub(crate) fn mark_changed_by(
    fields: &mut [PropField],
    activity: &[ActivityEvent],
    dir: &Directory,
) {
    for f in fields.iter_mut() {
        if let Some(a) = activity
            .iter()
            .rev()
            .find(|a| a.action == "property_changed" && a.field.as_deref() == Some(f.name.as_str()))
        {
            f.changed_by = a
                .actor_user_id
                .map(|u| dir.user_name(Some(u)))
                .unwrap_or_else(|| "Frontdesk".into());
        }
    }
}

/// A refusal split over a form's fields: what each named field is told, and what belongs to
/// no field of the form. `FieldError`s name their property; HD-19's refusal names the status
/// field and each property it is missing.
pub(crate) fn field_errors(
    e: &AppError,
    status_field: &str,
) -> (BTreeMap<String, String>, Option<String>) {
    let mut at = BTreeMap::new();
    match e {
        AppError::Domain(DomainError::Invalid(errors)) => {
            for f in errors {
                at.entry(f.field.clone())
                    .and_modify(|m: &mut String| {
                        m.push_str("; ");
                        m.push_str(&f.message);
                    })
                    .or_insert_with(|| f.message.clone());
            }
            (at, None)
        }
        AppError::Domain(DomainError::MissingRequiredProperties {
            stage_label,
            missing,
        }) => {
            at.insert(
                status_field.to_string(),
                format!(
                    "The status \u{201c}{stage_label}\u{201d} needs {} first (HD-19).",
                    missing.join(", ")
                ),
            );
            for m in missing {
                at.insert(
                    m.clone(),
                    format!("Required for the status \u{201c}{stage_label}\u{201d}."),
                );
            }
            (at, None)
        }
        other => (at, Some(other.to_string())),
    }
}

/// Puts each field's error on its input; what no input of `fields` can show is returned for
/// the form as a whole (with the labels of the missing fields' names where possible).
pub(crate) fn place_errors(
    fields: &mut [PropField],
    mut at: BTreeMap<String, String>,
    rest: Option<String>,
) -> Option<String> {
    for f in fields.iter_mut() {
        if let Some(m) = at.remove(&f.name) {
            f.error = Some(m);
        }
    }
    let mut left: Vec<String> = rest.into_iter().collect();
    left.extend(at.into_iter().map(|(k, v)| format!("{k}: {v}")));
    (!left.is_empty()).then(|| left.join(" "))
}

pub(crate) struct NamedLink {
    pub href: String,
    pub name: String,
    pub detail: String,
}

impl NamedLink {
    /// A contact as every sidebar and record page lists it: name, then email.
    pub(crate) fn contact(c: &Contact) -> NamedLink {
        NamedLink {
            href: format!("/contacts/{}", c.id),
            name: c.display_name(),
            detail: c.email.clone().unwrap_or_default(),
        }
    }
}

pub(crate) struct ActivityVm {
    pub who: String,
    pub text: String,
    pub at: Millis,
    /// "Undo merge" / "Undo split" on the row of a merge or split that can still be undone.
    pub undo: Option<UndoVm>,
}

/// An undo button on a history row: posts `other` to the ticket's unmerge.
pub(crate) struct UndoVm {
    pub other: i64,
    pub label: &'static str,
    pub confirm: String,
}

/// What a history row needs to be told in words: each property's label and its options'
/// labels, and the names of the records the ticket is associated with.
#[derive(Default)]
pub(crate) struct ActivityWords {
    props: BTreeMap<String, (String, BTreeMap<String, String>)>,
    records: BTreeMap<(String, String), String>,
}

impl ActivityWords {
    pub(crate) fn new(defs: &[PropertyDefinition]) -> Self {
        ActivityWords {
            props: defs
                .iter()
                .map(|d| {
                    let options = d
                        .options
                        .iter()
                        .map(|o| (o.value.clone(), o.label.clone()))
                        .collect();
                    (d.name.clone(), (d.label.clone(), options))
                })
                .collect(),
            records: BTreeMap::new(),
        }
    }

    /// Names a record (`contact`, `company`, `deal`, `conversation`) by its id.
    pub(crate) fn record(mut self, kind: &str, id: impl ToString, name: impl Into<String>) -> Self {
        self.records
            .insert((kind.to_string(), id.to_string()), name.into());
        self
    }

    fn label(&self, field: &str) -> String {
        self.props
            .get(field)
            .map(|(l, _)| l.clone())
            .unwrap_or_else(|| field.replace('_', " "))
    }

    /// A stored value as the agent chose it: option labels for an enumeration (each of a
    /// multi-select's `;`-separated values), the value itself otherwise.
    fn option_labels(&self, field: &str, v: &str) -> String {
        match self.props.get(field) {
            Some((_, options)) if !options.is_empty() => v
                .split(';')
                .filter(|x| !x.is_empty())
                .map(|x| options.get(x).cloned().unwrap_or_else(|| x.to_string()))
                .collect::<Vec<_>>()
                .join(", "),
            _ => v.chars().take(80).collect(),
        }
    }

    /// "contact Jane Doe"; a record no longer associated keeps its number.
    fn record_words(&self, kind: &str, id: Option<&String>) -> String {
        let id = id.map(String::as_str).unwrap_or_default();
        match self.records.get(&(kind.to_string(), id.to_string())) {
            Some(name) => format!("{kind} {name}"),
            None if id.is_empty() => format!("a {kind}"),
            None => format!("{kind} {id}"),
        }
    }
}

/// The words for a ticket's history: its properties and its associated records by name.
pub(crate) fn ticket_activity_words(
    defs: &[PropertyDefinition],
    d: &fd_app::TicketDetails,
) -> ActivityWords {
    let mut w = ActivityWords::new(defs);
    for c in &d.contacts {
        w = w.record("contact", c.id, c.display_name());
    }
    for c in &d.companies {
        let name = c.name.clone().unwrap_or_else(|| format!("{}", c.id));
        w = w.record("company", c.id, name);
    }
    for x in &d.deals {
        let name = x.name.clone().unwrap_or_else(|| format!("{}", x.id));
        w = w.record("deal", x.id, name);
    }
    for c in &d.conversations {
        let name = c
            .subject
            .clone()
            .filter(|s| !s.trim().is_empty())
            .map(|s| format!("\u{201c}{s}\u{201d}"))
            .unwrap_or_else(|| format!("{}", c.id));
        w = w.record("conversation", c.id, name);
    }
    w
}

/// A history row in words: "Ann changed Ticket status from New to Closed", "Ann changed
/// Category from (empty) to Product issue", "Ann associated contact Jane Doe".
pub(crate) fn activity_vm(a: &ActivityEvent, dir: &Directory, words: &ActivityWords) -> ActivityVm {
    let value = |field: &str, v: &Option<String>| -> String {
        let Some(v) = v else {
            return "(empty)".into();
        };
        match field {
            "hs_pipeline_stage" => v
                .parse()
                .map(|s| dir.stage_label(StageId(s)))
                .unwrap_or_else(|_| v.clone()),
            "hs_pipeline" => v
                .parse()
                .map(|p| dir.pipeline_label(PipelineId(p)))
                .unwrap_or_else(|_| v.clone()),
            "hubspot_owner_id" | "owner" => v
                .parse()
                .map(|u| dir.user_name(Some(UserId(u))))
                .unwrap_or_else(|_| v.clone()),
            "hubspot_team_id" => v
                .parse()
                .map(|t| dir.team_name(Some(TeamId(t))))
                .unwrap_or_else(|_| v.clone()),
            _ => words.option_labels(field, v),
        }
    };
    let field = a.field.clone().unwrap_or_default();
    let label = words.label(&field);
    let text = match a.action.as_str() {
        "property_changed" => format!(
            "changed {label} from {} to {}",
            value(&field, &a.old_value),
            value(&field, &a.new_value)
        ),
        "created" => "created the ticket".into(),
        "associated" => format!(
            "associated {}",
            words.record_words(&field, a.new_value.as_ref())
        ),
        "dissociated" => format!(
            "removed {}",
            words.record_words(&field, a.old_value.as_ref())
        ),
        "commented" => "commented".into(),
        "trashed" => "moved the ticket to the trash".into(),
        "restored" => "restored the ticket".into(),
        // Follow-up tickets (a customer's late reply): each names the other ticket.
        "follow_up_opened" => format!(
            "opened follow-up #{} for the customer's reply",
            a.new_value.as_deref().unwrap_or("?")
        ),
        "follow_up_of" => format!(
            "opened this ticket as a follow-up of #{}",
            a.new_value.as_deref().unwrap_or("?")
        ),
        "merged" | "unmerged" | "split" | "unsplit" => merge_words(a),
        "automation_refused" => format!(
            "refused an action of automation rule “{field}”: {}",
            a.new_value.as_deref().unwrap_or("")
        ),
        // Satisfaction survey (issue 16, item 7).
        "csat_queued" => "queued a satisfaction survey to the customer".into(),
        "csat_rated" => format!(
            "recorded the customer's rating: {}",
            a.new_value.as_deref().unwrap_or("?")
        ),
        "csat_commented" => format!(
            "recorded the customer's comment: {}",
            a.new_value.as_deref().unwrap_or("")
        ),
        other => other.replace('_', " "),
    };
    ActivityVm {
        who: a
            .actor_user_id
            .map(|u| dir.user_name(Some(u)))
            .unwrap_or_else(|| "Frontdesk".into()),
        text,
        at: a.at,
        undo: None,
    }
}

/// Merge, unmerge and split rows in words; the survivor's row names the other ticket in
/// `old_value`, the other ticket's row names the survivor in `new_value`.
fn merge_words(a: &ActivityEvent) -> String {
    let other = |v: &Option<String>| v.as_deref().map(|v| format!("#{v}"));
    match (a.action.as_str(), other(&a.old_value), other(&a.new_value)) {
        ("merged", Some(o), _) => format!("merged ticket {o} into this ticket"),
        ("merged", None, Some(n)) => format!("merged this ticket into ticket {n}"),
        ("unmerged", Some(o), _) => format!("undid the merge of ticket {o} into this ticket"),
        ("unmerged", None, Some(n)) => format!("undid the merge of this ticket into ticket {n}"),
        ("split", None, Some(n)) => format!("split messages off to ticket {n}"),
        ("split", Some(o), _) => format!("split this ticket off ticket {o}"),
        ("unsplit", Some(o), _) => format!("undid the split of ticket {o}"),
        (action, _, _) => action.to_string(),
    }
}

pub(crate) struct TicketVm {
    pub id: i64,
    pub subject: String,
    pub status: String,
    pub closed: bool,
    pub owner: String,
    pub pipeline: String,
    pub version: i64,
    pub trashed: bool,
    pub created_at: Millis,
    pub priority: &'static str,
}

/// Finds or creates the contact a form names: an id picked by search, or an email (an
/// existing contact with that address is reused), or a new contact without email.
pub(crate) async fn contact_from_form(
    app: &App,
    f: &super::Fields,
) -> Result<VisitorContact, AppError> {
    if let Some(id) = f.record_id("contact_id") {
        return Ok(VisitorContact::Existing(ContactId(id)));
    }
    let email = f.text("email");
    if let Some(e) = &email
        && let Some(existing) = app.contact_id_by_email(e).await?
    {
        return Ok(VisitorContact::Existing(ContactId(existing)));
    }
    if email.is_none() && f.text("firstname").is_none() && f.text("lastname").is_none() {
        return Err(AppError::Domain(DomainError::field(
            "contact",
            fd_app::domain::ErrorCode::Required,
            "give an email address or a name, or pick an existing contact",
        )));
    }
    // Created by the use case, after it has checked the record it is for.
    Ok(VisitorContact::New(NewContact {
        email,
        firstname: f.text("firstname"),
        lastname: f.text("lastname"),
        phone: f.text("phone"),
        company: None,
    }))
}
