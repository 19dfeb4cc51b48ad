//! Contact and company pages beyond the record view: the paged lists with their search box,
//! the create and edit forms (each refusal shown next to its field, what was typed kept) and
//! the merge of a duplicate into a primary. Handlers only translate forms into `fd-app`'s
//! record use cases (`create_record`, `update_record`, `merge_contacts`, `merge_companies`),
//! the same ones the API calls; no rule and no SQL here.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use fd_app::AppError;
use fd_app::domain::*;
use serde::Deserialize;

use super::view::Times;
use super::{Agent, Chrome, Id, Post, UiError, UiResult, UiState, page, see_other};

/// How many records a list page shows.
const PAGE_SIZE: i64 = 25;

/// Which of the two kinds a page is about: its paths, words and form fields.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Contact,
    Company,
}

impl Kind {
    fn object(self) -> ObjectType {
        match self {
            Kind::Contact => ObjectType::Contact,
            Kind::Company => ObjectType::Company,
        }
    }
    fn base(self) -> &'static str {
        match self {
            Kind::Contact => "/contacts",
            Kind::Company => "/companies",
        }
    }
    fn one(self) -> &'static str {
        match self {
            Kind::Contact => "contact",
            Kind::Company => "company",
        }
    }
    fn plural(self) -> &'static str {
        match self {
            Kind::Contact => "Contacts",
            Kind::Company => "Companies",
        }
    }
    fn nav(self) -> &'static str {
        match self {
            Kind::Contact => "contacts",
            Kind::Company => "companies",
        }
    }
    /// The form's fields: property name and human label.
    fn fields(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Kind::Contact => &[
                ("email", "Email"),
                ("firstname", "First name"),
                ("lastname", "Last name"),
                ("phone", "Phone number"),
                ("company", "Company name"),
            ],
            Kind::Company => &[
                ("name", "Company name"),
                ("domain", "Domain"),
                ("phone", "Phone number"),
            ],
        }
    }
}

pub(crate) struct ListRow {
    pub href: String,
    pub name: String,
    pub email_or_domain: String,
    pub extra: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "ui/people_list.html")]
struct ListPage {
    chrome: Chrome,
    plural: &'static str,
    one: &'static str,
    base: &'static str,
    second_col: &'static str,
    third_col: &'static str,
    q: String,
    rows: Vec<ListRow>,
    page_no: i64,
    prev: Option<String>,
    next: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct ListQ {
    q: Option<String>,
    page: Option<String>,
}

fn page_link(base: &str, q: &str, page_no: i64) -> String {
    let mut s = format!("{base}?page={page_no}");
    if !q.is_empty() {
        s.push_str("&q=");
        s.push_str(&urlencode(q));
    }
    s
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

async fn list(state: &UiState, agent: &Agent, kind: Kind, q: ListQ) -> UiResult {
    agent.actor_can_use_tickets()?;
    let app = &state.app;
    let times = Times::of(app, agent);
    let text = q.q.unwrap_or_default().trim().to_string();
    let page_no = match q.page.as_deref().map(str::trim) {
        None | Some("") => 1,
        Some(p) => p
            .parse::<i64>()
            .ok()
            .filter(|p| (1..=100_000).contains(p))
            .ok_or_else(|| UiError::bad_request("The page number is not a page of this list."))?,
    };
    let offset = (page_no - 1) * PAGE_SIZE;
    let (rows, has_more) = match kind {
        Kind::Contact => {
            let l = app
                .contacts_list(&agent.actor, &text, offset, PAGE_SIZE)
                .await?;
            let rows = l
                .items
                .iter()
                .map(|c| ListRow {
                    href: format!("/contacts/{}", c.id),
                    name: c.display_name(),
                    email_or_domain: c.email.clone().unwrap_or_default(),
                    extra: c.company.clone().unwrap_or_default(),
                    created: times.html(&c.created_at),
                })
                .collect();
            (rows, l.has_more)
        }
        Kind::Company => {
            let l = app
                .companies_list(&agent.actor, &text, offset, PAGE_SIZE)
                .await?;
            let rows = l
                .items
                .iter()
                .map(|c| ListRow {
                    href: format!("/companies/{}", c.id),
                    name: c
                        .name
                        .clone()
                        .unwrap_or_else(|| format!("Company {}", c.id)),
                    email_or_domain: c.domain.clone().unwrap_or_default(),
                    extra: c.phone.clone().unwrap_or_default(),
                    created: times.html(&c.created_at),
                })
                .collect();
            (rows, l.has_more)
        }
    };
    let base = kind.base();
    page(&ListPage {
        chrome: Chrome::load(app, agent, kind.nav(), kind.plural()).await?,
        plural: kind.plural(),
        one: kind.one(),
        base,
        second_col: match kind {
            Kind::Contact => "Email",
            Kind::Company => "Domain",
        },
        third_col: match kind {
            Kind::Contact => "Company name",
            Kind::Company => "Phone number",
        },
        prev: (page_no > 1).then(|| page_link(base, &text, page_no - 1)),
        next: has_more.then(|| page_link(base, &text, page_no + 1)),
        q: text,
        rows,
        page_no,
    })
}

pub(crate) async fn contacts(
    State(state): State<UiState>,
    agent: Agent,
    Query(q): Query<ListQ>,
) -> UiResult {
    list(&state, &agent, Kind::Contact, q).await
}

pub(crate) async fn companies(
    State(state): State<UiState>,
    agent: Agent,
    Query(q): Query<ListQ>,
) -> UiResult {
    list(&state, &agent, Kind::Company, q).await
}

pub(crate) struct FormField {
    pub name: &'static str,
    pub label: &'static str,
    pub value: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "ui/people_form.html")]
struct FormPage {
    chrome: Chrome,
    heading: String,
    action: String,
    cancel: String,
    submit: String,
    error: Option<String>,
    fields: Vec<FormField>,
}

/// The form, filled with `values`, each field with its own refusal.
async fn form_page(
    state: &UiState,
    agent: &Agent,
    kind: Kind,
    id: Option<i64>,
    values: &BTreeMap<String, String>,
    error: Option<AppError>,
) -> UiResult {
    let (mut by_field, mut general) = (BTreeMap::<String, String>::new(), None);
    match error {
        Some(AppError::Domain(DomainError::Invalid(errs))) => {
            for e in errs {
                if kind.fields().iter().any(|(n, _)| *n == e.field) {
                    by_field.insert(e.field.clone(), e.message.clone());
                } else {
                    general = Some(e.message.clone());
                }
            }
        }
        Some(AppError::Conflict(m)) if kind == Kind::Contact => {
            by_field.insert(
                "email".into(),
                format!(
                    "Another contact already has this email address ({}).",
                    m.trim_start_matches("conflict: ")
                ),
            );
        }
        Some(e) => general = Some(e.to_string()),
        None => {}
    }
    let fields = kind
        .fields()
        .iter()
        .map(|(name, label)| FormField {
            name,
            label,
            value: values.get(*name).cloned().unwrap_or_default(),
            error: by_field.remove(*name),
        })
        .collect();
    let (heading, action, cancel, submit) = match id {
        None => (
            format!("Create {}", kind.one()),
            kind.base().to_string(),
            kind.base().to_string(),
            format!("Create {}", kind.one()),
        ),
        Some(id) => (
            format!("Edit {}", kind.one()),
            format!("{}/{id}", kind.base()),
            format!("{}/{id}", kind.base()),
            "Save".to_string(),
        ),
    };
    page(&FormPage {
        chrome: Chrome::load(&state.app, agent, kind.nav(), heading.clone()).await?,
        heading,
        action,
        cancel,
        submit,
        error: general,
        fields,
    })
}

/// The record's current values, as the edit form shows them.
async fn current_values(
    state: &UiState,
    agent: &Agent,
    kind: Kind,
    id: i64,
) -> Result<BTreeMap<String, String>, UiError> {
    let r = state
        .app
        .record(&agent.actor, kind.object(), id, false)
        .await?;
    Ok(kind
        .fields()
        .iter()
        .filter_map(|(n, _)| {
            r.values
                .get(*n)
                .filter(|v| !v.is_empty())
                .map(|v| (n.to_string(), v.clone()))
        })
        .collect())
}

pub(crate) async fn new_contact(State(state): State<UiState>, agent: Agent) -> UiResult {
    agent.actor_can_use_tickets()?;
    form_page(&state, &agent, Kind::Contact, None, &BTreeMap::new(), None).await
}

pub(crate) async fn new_company(State(state): State<UiState>, agent: Agent) -> UiResult {
    agent.actor_can_use_tickets()?;
    form_page(&state, &agent, Kind::Company, None, &BTreeMap::new(), None).await
}

pub(crate) async fn edit_contact(
    State(state): State<UiState>,
    agent: Agent,
    Path(Id(id)): Path<Id>,
) -> UiResult {
    agent.actor_can_use_tickets()?;
    let v = current_values(&state, &agent, Kind::Contact, id).await?;
    form_page(&state, &agent, Kind::Contact, Some(id), &v, None).await
}

pub(crate) async fn edit_company(
    State(state): State<UiState>,
    agent: Agent,
    Path(Id(id)): Path<Id>,
) -> UiResult {
    agent.actor_can_use_tickets()?;
    let v = current_values(&state, &agent, Kind::Company, id).await?;
    form_page(&state, &agent, Kind::Company, Some(id), &v, None).await
}

fn posted_values(kind: Kind, post: &Post) -> BTreeMap<String, String> {
    kind.fields()
        .iter()
        .map(|(n, _)| {
            (
                n.to_string(),
                post.fields.get(n).unwrap_or("").trim().to_string(),
            )
        })
        .collect()
}

/// Create (`id` none) or save; a refused value re-shows the form with what was typed.
async fn save(state: &UiState, kind: Kind, id: Option<i64>, post: Post) -> UiResult {
    post.agent.actor_can_use_tickets()?;
    let values = posted_values(kind, &post);
    let app = &state.app;
    let actor = &post.agent.actor;
    let done = match id {
        None => {
            // An empty field of a new record is simply not given.
            let given = values
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            app.create_record(actor, kind.object(), given, Vec::new())
                .await
        }
        Some(id) => {
            app.update_record(actor, kind.object(), id, values.clone())
                .await
        }
    };
    match done {
        Ok(r) => see_other(&format!("{}/{}", kind.base(), r.id)),
        Err(e @ (AppError::Domain(_) | AppError::Conflict(_))) => {
            let mut r = form_page(state, &post.agent, kind, id, &values, Some(e)).await?;
            *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(r)
        }
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn create_contact(State(state): State<UiState>, post: Post) -> UiResult {
    save(&state, Kind::Contact, None, post).await
}

pub(crate) async fn create_company(State(state): State<UiState>, post: Post) -> UiResult {
    save(&state, Kind::Company, None, post).await
}

pub(crate) async fn update_contact(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    save(&state, Kind::Contact, Some(id), post).await
}

pub(crate) async fn update_company(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    save(&state, Kind::Company, Some(id), post).await
}

/// The duplicate named on the merge form: its record id (the picker fills it), else what
/// was typed — a contact's email address or a company's domain, or a record id.
/// Why a merge did not happen: told beside the merge form, or a failure of the page itself.
enum Refused {
    Say(String),
    Fail(UiError),
}

/// A duplicate that is missing, already merged away or the record itself is the agent's
/// input to correct; anything else fails the request as usual.
fn merge_refusal(e: AppError) -> Refused {
    match e {
        AppError::NotFound { object, id } => Refused::Say(format!(
            "There is no {object} {id} to merge (it may have been merged already)."
        )),
        AppError::Domain(d) => Refused::Say(match d {
            DomainError::Invalid(errs) => errs
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        }),
        other => Refused::Fail(other.into()),
    }
}

async fn duplicate_id(state: &UiState, kind: Kind, post: &Post) -> Result<i64, Refused> {
    let typed = post.fields.text("duplicate").ok_or_else(|| {
        Refused::Say(
            match kind {
                Kind::Contact => "Name the duplicate contact by its email address or record ID.",
                Kind::Company => "Name the duplicate company by its domain or record ID.",
            }
            .into(),
        )
    })?;
    if let Some(id) = fd_app::domain::text::parse_id(&typed) {
        return Ok(id);
    }
    let found = match kind {
        Kind::Contact => state.app.contact_id_by_email(&typed).await,
        Kind::Company => state.app.company_id_by_domain(&typed).await,
    }
    .map_err(|e| Refused::Fail(e.into()))?;
    found.ok_or_else(|| {
        Refused::Say(format!(
            "No {} matches {typed:?}. Give its {} or record ID.",
            kind.one(),
            match kind {
                Kind::Contact => "email address",
                Kind::Company => "domain",
            }
        ))
    })
}

pub(crate) async fn merge_contact(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    post.agent.actor_can_use_tickets()?;
    let done = match duplicate_id(&state, Kind::Contact, &post).await {
        Ok(dup) => state
            .app
            .merge_contacts(&post.agent.actor, ContactId(id), ContactId(dup))
            .await
            .map(|_| ())
            .map_err(merge_refusal),
        Err(e) => Err(e),
    };
    match done {
        Ok(()) => see_other(&format!("/contacts/{id}")),
        Err(Refused::Say(why)) => {
            let mut r = super::records::render_contact(&state, &post.agent, id, Some(why)).await?;
            *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(r)
        }
        Err(Refused::Fail(e)) => Err(e),
    }
}

pub(crate) async fn merge_company(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    post.agent.actor_can_use_tickets()?;
    let done = match duplicate_id(&state, Kind::Company, &post).await {
        Ok(dup) => state
            .app
            .merge_companies(&post.agent.actor, CompanyId(id), CompanyId(dup))
            .await
            .map(|_| ())
            .map_err(merge_refusal),
        Err(e) => Err(e),
    };
    match done {
        Ok(()) => see_other(&format!("/companies/{id}")),
        Err(Refused::Say(why)) => {
            let mut r = super::records::render_company(&state, &post.agent, id, Some(why)).await?;
            *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(r)
        }
        Err(Refused::Fail(e)) => Err(e),
    }
}
