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
use super::view::{Directory, Opt, OptGroup, TicketRow, iso_time};

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
    pub options: Vec<Opt>,
    pub groups: Vec<OptGroup>,
    pub required: bool,
}

fn display_value(def: &PropertyDefinition, raw: Option<&str>) -> String {
    let Some(raw) = raw else {
        return String::new();
    };
    match def.kind {
        PropertyType::Date => raw
            .parse::<i64>()
            .map(|ms| iso_time(ms).chars().take(10).collect())
            .unwrap_or_else(|_| raw.to_string()),
        PropertyType::Datetime => raw
            .parse::<i64>()
            .map(iso_time)
            .unwrap_or_else(|_| raw.to_string()),
        _ => raw.to_string(),
    }
}

/// The input for a property definition, holding `value` (raw stored text).
pub(crate) fn prop_field(
    def: &PropertyDefinition,
    value: Option<&str>,
    dir: &Directory,
    required: bool,
) -> PropField {
    let shown = display_value(def, value);
    let mut f = PropField {
        id: format!("f-{}", def.name),
        name: def.name.clone(),
        label: def.label.clone(),
        input: "text",
        value: shown.clone(),
        options: Vec::new(),
        groups: Vec::new(),
        required,
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

/// The ticket's editable properties, in the definitions' display order.
pub(crate) fn editable_fields(
    defs: &[PropertyDefinition],
    t: &Ticket,
    dir: &Directory,
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
        .map(|d| prop_field(d, t.property(&d.name).as_deref(), dir, false))
        .collect()
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
}

/// A history row in words: "Ann changed Ticket status from New to Closed".
pub(crate) fn activity_vm(
    a: &ActivityEvent,
    dir: &Directory,
    labels: &BTreeMap<String, String>,
) -> ActivityVm {
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
            _ => v.chars().take(80).collect(),
        }
    };
    let field = a.field.clone().unwrap_or_default();
    let label = labels
        .get(&field)
        .cloned()
        .unwrap_or_else(|| field.replace('_', " "));
    let text = match a.action.as_str() {
        "property_changed" => format!(
            "changed {label} from {} to {}",
            value(&field, &a.old_value),
            value(&field, &a.new_value)
        ),
        "created" => "created the ticket".into(),
        "associated" => format!(
            "associated a {field} ({})",
            a.new_value.clone().unwrap_or_default()
        ),
        "dissociated" => format!(
            "removed a {field} ({})",
            a.old_value.clone().unwrap_or_default()
        ),
        "commented" => "commented".into(),
        "trashed" => "moved the ticket to the trash".into(),
        "restored" => "restored the ticket".into(),
        other => other.replace('_', " "),
    };
    ActivityVm {
        who: a
            .actor_user_id
            .map(|u| dir.user_name(Some(u)))
            .unwrap_or_else(|| "Frontdesk".into()),
        text,
        at: a.at,
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
