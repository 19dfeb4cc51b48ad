//! Record pages: the ticket record (every property, associations, timeline; INB-09 links
//! here), contacts and companies with their tickets and conversations as far as the agent
//! may see them (HD-09), and the contact/company search used by the forms (HD-11).

use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use fd_app::domain::entities::{Company, Conversation};
use fd_app::domain::*;
use serde::Deserialize;

use super::Id;
use super::flash::{Flash, see_other_flash};
use super::view::{Directory, TicketRow, Times, channel_label, priority_label};
use super::widgets::{
    ActivityVm, NamedLink, TicketVm, activity_vm, ticket_activity_words, ticket_rows,
};
use super::{Agent, Chrome, UiError, UiResult, UiState, page};
use axum::http::StatusCode;

pub(crate) struct PropRow {
    pub label: String,
    pub value: String,
}

#[derive(Template)]
#[template(path = "ui/ticket_record.html")]
struct TicketRecord {
    chrome: Chrome,
    t: TicketVm,
    props: Vec<PropRow>,
    contacts: Vec<NamedLink>,
    companies: Vec<NamedLink>,
    deals: Vec<NamedLink>,
    conversations: Vec<NamedLink>,
    timeline: Vec<ActivityVm>,
}

pub(crate) async fn ticket_record(
    State(state): State<UiState>,
    agent: Agent,
    Path(Id(id)): Path<Id>,
) -> UiResult {
    agent.actor_can_use_tickets()?;
    let app = &state.app;
    // A merged-away ticket's record page is the survivor's (see helpdesk's ticket page).
    if let Some(survivor) = app.merge_survivor(ObjectType::Ticket, id).await?
        && app.ticket(&agent.actor, TicketId(survivor)).await.is_ok()
    {
        return see_other_flash(&format!("/tickets/{survivor}"), Flash::TicketMerged);
    }
    let d = app.ticket_details(&agent.actor, TicketId(id)).await?;
    let dir = Directory::load(app).await?;
    let times = Times::of(app, &agent);
    let defs = app.properties("tickets").await?;
    let words = ticket_activity_words(&defs, &d);
    let t = &d.ticket;
    let props = defs
        .iter()
        .filter(|def| !def.archived)
        .map(|def| {
            let raw = t.property(&def.name);
            let value = match (def.name.as_str(), raw) {
                (_, None) => String::new(),
                ("hs_pipeline_stage", Some(v)) => {
                    v.parse().map(|s| dir.stage_label(StageId(s))).unwrap_or(v)
                }
                ("hs_pipeline", Some(v)) => v
                    .parse()
                    .map(|p| dir.pipeline_label(PipelineId(p)))
                    .unwrap_or(v),
                ("hubspot_owner_id", Some(v)) => v
                    .parse()
                    .map(|u| dir.user_name(Some(UserId(u))))
                    .unwrap_or(v),
                ("hubspot_team_id", Some(v)) => v
                    .parse()
                    .map(|x| dir.team_name(Some(TeamId(x))))
                    .unwrap_or(v),
                (_, Some(v))
                    if matches!(
                        def.kind,
                        property::PropertyType::Datetime | property::PropertyType::Date
                    ) =>
                {
                    v.parse().map(|ms| times.text(ms)).unwrap_or(v)
                }
                (_, Some(v)) => def
                    .options
                    .iter()
                    .find(|o| o.value == v)
                    .map(|o| o.label.clone())
                    .unwrap_or(v),
            };
            PropRow {
                label: def.label.clone(),
                value,
            }
        })
        .collect();
    page(&TicketRecord {
        chrome: Chrome::load(app, &agent, "helpdesk", t.subject.clone())
            .await?
            .watching(format!("ticket:{}", t.id)),
        t: TicketVm {
            id: t.id.0,
            subject: t.subject.clone(),
            status: dir.stage_label(t.stage_id),
            closed: !t.is_open,
            owner: dir.user_name(t.owner_id),
            pipeline: dir.pipeline_label(t.pipeline_id),
            version: t.version,
            trashed: t.trashed_at.is_some(),
            created_at: t.created_at,
            priority: priority_label(t.priority.as_deref()),
        },
        props,
        contacts: d.contacts.iter().map(NamedLink::contact).collect(),
        companies: d
            .companies
            .iter()
            .map(|c| NamedLink {
                href: format!("/companies/{}", c.id),
                name: c.name.clone().unwrap_or_default(),
                detail: c.domain.clone().unwrap_or_default(),
            })
            .collect(),
        deals: d
            .deals
            .iter()
            .map(|x| NamedLink {
                href: String::new(),
                name: x.name.clone().unwrap_or_default(),
                detail: x.amount.clone().unwrap_or_default(),
            })
            .collect(),
        conversations: d
            .conversations
            .iter()
            .map(|c| NamedLink {
                href: format!("/inbox/conversations/{}", c.id),
                name: c
                    .subject
                    .clone()
                    .unwrap_or_else(|| channel_label(c.channel).into()),
                detail: format!("{} · {}", channel_label(c.channel), c.status),
            })
            .collect(),
        timeline: d
            .activity
            .iter()
            .rev()
            .map(|a| activity_vm(a, &dir, &words))
            .collect(),
    })
}

#[derive(Template)]
#[template(path = "ui/record.html")]
struct RecordPage {
    chrome: Chrome,
    kind: &'static str,
    /// Where the record's pages live (`/contacts`, `/companies`): edit and merge.
    base: &'static str,
    id: i64,
    name: String,
    companies: Vec<NamedLink>,
    merge_error: Option<String>,
    details: Vec<PropRow>,
    tickets: Vec<TicketRow>,
    people: Vec<NamedLink>,
    conversations: Vec<NamedLink>,
    engagements: Vec<super::engagements::EngagementVm>,
}

fn company_link(c: &Company) -> NamedLink {
    NamedLink {
        href: format!("/companies/{}", c.id),
        name: c
            .name
            .clone()
            .unwrap_or_else(|| format!("Company {}", c.id)),
        detail: c.domain.clone().unwrap_or_default(),
    }
}

fn conversation_link(v: &Conversation, times: &Times) -> NamedLink {
    NamedLink {
        href: format!("/inbox/conversations/{}", v.id),
        name: v
            .subject
            .clone()
            .unwrap_or_else(|| channel_label(v.channel).into()),
        detail: format!(
            "{} · {} · {}",
            channel_label(v.channel),
            v.status,
            times.text(v.last_message_at)
        ),
    }
}

pub(crate) async fn contact_page(
    State(state): State<UiState>,
    agent: Agent,
    Path(Id(id)): Path<Id>,
) -> UiResult {
    match render_contact(&state, &agent, id, None).await {
        Err(e) if e.status == StatusCode::NOT_FOUND => {
            to_survivor(&state, ObjectType::Contact, id, e).await
        }
        r => r,
    }
}

/// A merged-away record's old address (a bookmark, a link in an old mail) opens the record it
/// was merged into and says so, instead of "not found".
async fn to_survivor(state: &UiState, kind: ObjectType, id: i64, not_found: UiError) -> UiResult {
    let (base, flash) = match kind {
        ObjectType::Contact => ("/contacts", Flash::ContactMerged),
        _ => ("/companies", Flash::CompanyMerged),
    };
    match state.app.merge_survivor(kind, id).await? {
        Some(survivor) => see_other_flash(&format!("{base}/{survivor}"), flash),
        None => Err(not_found),
    }
}

/// The contact's page; `merge_error` explains a refused merge beside its form.
pub(crate) async fn render_contact(
    state: &UiState,
    agent: &Agent,
    id: i64,
    merge_error: Option<String>,
) -> UiResult {
    let app = &state.app;
    let o = app.contact_overview(&agent.actor, ContactId(id)).await?;
    let dir = Directory::load(app).await?;
    let times = Times::of(app, agent);
    let c = &o.contact;
    let row = |label: &str, v: &Option<String>| PropRow {
        label: label.into(),
        value: v.clone().unwrap_or_default(),
    };
    page(&RecordPage {
        chrome: Chrome::load(app, agent, "contacts", c.display_name()).await?,
        kind: "Contact",
        base: "/contacts",
        id: c.id.0,
        name: c.display_name(),
        companies: o.companies.iter().map(company_link).collect(),
        merge_error,
        details: vec![
            row("Email", &c.email),
            row("First name", &c.firstname),
            row("Last name", &c.lastname),
            row("Phone number", &c.phone),
            row("Company name", &c.company),
            PropRow {
                label: "Created".into(),
                value: times.text(c.created_at),
            },
        ],
        tickets: ticket_rows(app, agent, &dir, &o.tickets).await?,
        people: Vec::new(),
        conversations: o
            .conversations
            .iter()
            .map(|v| conversation_link(v, &times))
            .collect(),

        engagements: super::engagements::timeline(
            app,
            &agent.actor,
            fd_app::domain::ObjectType::Contact,
            c.id.0,
        )
        .await?,
    })
}

pub(crate) async fn company_page(
    State(state): State<UiState>,
    agent: Agent,
    Path(Id(id)): Path<Id>,
) -> UiResult {
    match render_company(&state, &agent, id, None).await {
        Err(e) if e.status == StatusCode::NOT_FOUND => {
            to_survivor(&state, ObjectType::Company, id, e).await
        }
        r => r,
    }
}

/// The company's page; `merge_error` explains a refused merge beside its form.
pub(crate) async fn render_company(
    state: &UiState,
    agent: &Agent,
    id: i64,
    merge_error: Option<String>,
) -> UiResult {
    let app = &state.app;
    let o = app.company_overview(&agent.actor, CompanyId(id)).await?;
    let dir = Directory::load(app).await?;
    let times = Times::of(app, agent);
    let c = &o.company;
    let name = c
        .name
        .clone()
        .unwrap_or_else(|| format!("Company {}", c.id));
    page(&RecordPage {
        chrome: Chrome::load(app, agent, "companies", name.clone()).await?,
        kind: "Company",
        base: "/companies",
        id: c.id.0,
        name,
        companies: Vec::new(),
        merge_error,
        details: vec![
            PropRow {
                label: "Domain".into(),
                value: c.domain.clone().unwrap_or_default(),
            },
            PropRow {
                label: "Phone number".into(),
                value: c.phone.clone().unwrap_or_default(),
            },
            PropRow {
                label: "Created".into(),
                value: times.text(c.created_at),
            },
        ],
        tickets: ticket_rows(app, agent, &dir, &o.tickets).await?,
        people: o.contacts.iter().map(NamedLink::contact).collect(),
        conversations: o
            .conversations
            .iter()
            .map(|v| conversation_link(v, &times))
            .collect(),

        engagements: super::engagements::timeline(
            app,
            &agent.actor,
            fd_app::domain::ObjectType::Company,
            c.id.0,
        )
        .await?,
    })
}

#[derive(Deserialize)]
pub(crate) struct SearchQ {
    q: Option<String>,
}

/// HD-11: contacts by name or email, for the forms' pickers (JSON).
pub(crate) async fn search_contacts(
    State(state): State<UiState>,
    agent: Agent,
    Query(q): Query<SearchQ>,
) -> UiResult {
    agent.actor_can_use_tickets()?;
    let text = q.q.unwrap_or_default();
    let found = state.app.search_contacts(&text, 10).await?;
    Ok(Json(
        found
            .iter()
            .map(
                |c| serde_json::json!({"id": c.id.0, "label": c.display_name(), "detail": c.email}),
            )
            .collect::<Vec<_>>(),
    )
    .into_response())
}

pub(crate) async fn search_companies(
    State(state): State<UiState>,
    agent: Agent,
    Query(q): Query<SearchQ>,
) -> UiResult {
    agent.actor_can_use_tickets()?;
    let text = q.q.unwrap_or_default();
    let found = state.app.search_companies(&text, 10).await?;
    Ok(Json(
        found
            .iter()
            .map(|c| serde_json::json!({"id": c.id.0, "label": c.name, "detail": c.domain}))
            .collect::<Vec<_>>(),
    )
    .into_response())
}
