//! Settings for Super Admins and users with Account Access (HD-03): users, teams and their
//! From addresses, pipelines and stages (with HD-19's required properties), properties, the
//! create-ticket form (HD-10), the reply libraries (HD-16) and the account mode (INB-14).
//! Every write goes through the admin use cases, which refuse anyone else.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use fd_app::domain::property::{PropertyOption, PropertyType, internal_name_from_label};
use fd_app::domain::*;
use fd_app::{LIBRARY_KINDS, NewPipeline, NewProperty, NewStage, NewUserInput, StagePatch};

use super::Id;
use super::flash::{Flash, see_other_flash};
use super::html::sanitize_reply;
use super::view::{Directory, Opt};
use super::{Agent, Chrome, Post, UiError, UiResult, UiState, page};

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

async fn chrome(state: &UiState, agent: &Agent, title: &str) -> Result<Chrome, UiError> {
    require_admin(agent)?;
    Ok(Chrome::load(&state.app, agent, "settings", title).await?)
}

#[derive(Template)]
#[template(path = "ui/settings_index.html")]
struct IndexPage {
    chrome: Chrome,
}

pub(crate) async fn index(State(state): State<UiState>, agent: Agent) -> UiResult {
    page(&IndexPage {
        chrome: chrome(&state, &agent, "Settings").await?,
    })
}

pub(crate) struct UserRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub role: Vec<Opt>,
    pub access: Vec<Opt>,
    pub seat: Vec<Opt>,
    pub account_access: bool,
    pub service_access: bool,
    pub sales_access: bool,
    pub active: bool,
    pub teams: String,
    /// The signed-in administrator's own row (marked "you").
    pub is_self: bool,
    pub two_factor: bool,
    /// A refusal of the last action on this row, shown next to its controls.
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "ui/settings_users.html")]
struct UsersPage {
    chrome: Chrome,
    users: Vec<UserRow>,
    teams: Vec<Opt>,
    error: Option<String>,
}

fn opts<T: Copy + PartialEq>(all: &[T], current: T, text: impl Fn(T) -> &'static str) -> Vec<Opt> {
    all.iter()
        .map(|v| Opt::new(text(*v), text(*v), *v == current))
        .collect()
}

async fn users_page(state: &UiState, agent: &Agent, error: Option<String>) -> UiResult {
    users_page_with(state, agent, error, None).await
}

async fn users_page_with(
    state: &UiState,
    agent: &Agent,
    error: Option<String>,
    row_error: Option<(i64, String)>,
) -> UiResult {
    let c = chrome(state, agent, "Users").await?;
    let dir = Directory::load(&state.app).await?;
    let with_totp = state.app.users_with_totp(&agent.actor).await?;
    let failed = error.is_some() || row_error.is_some();
    let users = dir
        .users
        .iter()
        .map(|u| UserRow {
            id: u.id.0,
            name: u.name.clone(),
            email: u.email.clone(),
            role: opts(Role::ALL, u.role, Role::as_str),
            access: opts(
                TicketAccessLevel::ALL,
                u.ticket_access,
                TicketAccessLevel::as_str,
            ),
            seat: opts(Seat::ALL, u.seat, Seat::as_str),
            account_access: u.account_access,
            service_access: u.service_access,
            sales_access: u.sales_access,
            active: u.active,
            teams: u
                .teams
                .iter()
                .map(|t| dir.team_name(Some(*t)))
                .collect::<Vec<_>>()
                .join(", "),
            is_self: u.id == agent.user.id,
            two_factor: with_totp.contains(&u.id),
            error: row_error
                .as_ref()
                .filter(|(id, _)| *id == u.id.0)
                .map(|(_, e)| e.clone()),
        })
        .collect();
    let mut r = page(&UsersPage {
        chrome: c,
        users,
        teams: dir
            .teams
            .iter()
            .map(|t| Opt::new(t.name.clone(), t.name.clone(), false))
            .collect(),
        error,
    })?;
    if failed {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

pub(crate) async fn users(State(state): State<UiState>, agent: Agent) -> UiResult {
    users_page(&state, &agent, None).await
}

fn parse<T: std::str::FromStr>(v: Option<&str>) -> Result<T, UiError> {
    v.unwrap_or("")
        .parse()
        .map_err(|_| UiError::bad_request(format!("{:?} is not a valid choice", v.unwrap_or(""))))
}

pub(crate) async fn create_user(State(state): State<UiState>, post: Post) -> UiResult {
    let f = &post.fields;
    let input = NewUserInput {
        email: f.get("email").unwrap_or("").to_string(),
        name: f.get("name").unwrap_or("").to_string(),
        role: parse(f.get("role"))?,
        password: f.get("password").unwrap_or("").to_string(),
        teams: f.all("team").into_iter().map(str::to_string).collect(),
        ticket_access: parse(f.get("ticket_access"))?,
        account_access: f.flag("account_access"),
        service_access: f.flag("service_access"),
        sales_access: f.flag("sales_access"),
        seat: parse(f.get("seat"))?,
    };
    match state.app.create_user(&post.agent.actor, input).await {
        Ok(_) => see_other_flash("/settings/users", Flash::UserCreated),
        Err(e @ (fd_app::AppError::Domain(_) | fd_app::AppError::Conflict(_))) => {
            users_page(&state, &post.agent, Some(e.to_string())).await
        }
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn update_user(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    let f = &post.fields;
    let app = &state.app;
    let actor = &post.agent.actor;
    let done = match f.get("action") {
        Some("deactivate") => app.set_user_active(actor, UserId(id), false).await,
        Some("activate") => app.set_user_active(actor, UserId(id), true).await,
        Some("password") => {
            app.set_user_password(
                actor,
                UserId(id),
                f.get("password").unwrap_or("").to_string(),
            )
            .await
        }
        Some("reset_2fa") => app.reset_user_totp(actor, UserId(id)).await,
        _ => app
            .update_user_access(
                actor,
                UserId(id),
                parse(f.get("role"))?,
                f.flag("account_access"),
                f.flag("service_access"),
                f.flag("sales_access"),
                parse(f.get("seat"))?,
                parse(f.get("ticket_access"))?,
            )
            .await
            .map(|_| ()),
    };
    match done {
        Ok(()) => see_other_flash("/settings/users", Flash::UserSaved),
        // Refused by a rule (the last administrator, one's own account, a short password):
        // said next to the row's controls.
        Err(e @ fd_app::AppError::Domain(_)) => {
            users_page_with(&state, &post.agent, None, Some((id, e.to_string()))).await
        }
        Err(e) => Err(e.into()),
    }
}

pub(crate) struct TeamRow {
    pub id: i64,
    pub name: String,
    pub addresses: Vec<Opt>,
    pub members: Vec<Opt>,
    pub non_members: Vec<Opt>,
    /// Item 8: each connected address with its signature.
    pub signatures: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "ui/settings_teams.html")]
struct TeamsPage {
    chrome: Chrome,
    teams: Vec<TeamRow>,
}

pub(crate) async fn teams(State(state): State<UiState>, agent: Agent) -> UiResult {
    let c = chrome(&state, &agent, "Teams").await?;
    let dir = Directory::load(&state.app).await?;
    let mut rows = Vec::new();
    for t in &dir.teams {
        let addresses = state
            .app
            .team_addresses(t.id)
            .await?
            .into_iter()
            .map(|(a, _)| {
                let default = t.default_from_address.as_deref() == Some(a.as_str());
                Opt::new(a.clone(), a, default)
            })
            .collect();
        let mut signatures = Vec::new();
        for a in state.app.team_addresses(t.id).await? {
            let sig = state.app.address_signature(&a.0).await?;
            signatures.push((a.0, sig));
        }
        rows.push(TeamRow {
            signatures,
            id: t.id.0,
            name: t.name.clone(),
            addresses,
            members: dir
                .users
                .iter()
                .filter(|u| t.members.contains(&u.id))
                .map(|u| Opt::new(u.id.to_string(), u.name.clone(), true))
                .collect(),
            non_members: dir
                .active_users()
                .filter(|u| !t.members.contains(&u.id))
                .map(|u| Opt::new(u.id.to_string(), u.name.clone(), false))
                .collect(),
        });
    }
    page(&TeamsPage {
        chrome: c,
        teams: rows,
    })
}

pub(crate) async fn create_team(State(state): State<UiState>, post: Post) -> UiResult {
    state
        .app
        .create_team(&post.agent.actor, post.fields.get("name").unwrap_or(""))
        .await?;
    see_other_flash("/settings/teams", Flash::TeamCreated)
}

/// Members, connected addresses and the default From address (HD-03).
pub(crate) async fn update_team(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    let f = &post.fields;
    let app = &state.app;
    let actor = &post.agent.actor;
    let team = TeamId(id);
    match f.get("action") {
        Some("add_member") => {
            let user = f
                .checked_id("user")?
                .ok_or_else(|| UiError::bad_request("Choose a user."))?;
            app.set_team_membership(actor, team, UserId(user), true)
                .await?
        }
        Some("remove_member") => {
            let user = f
                .checked_id("user")?
                .ok_or_else(|| UiError::bad_request("Choose a user."))?;
            app.set_team_membership(actor, team, UserId(user), false)
                .await?
        }
        Some("connect") => {
            let ws = match f.get("workspace") {
                Some("inbox") => Workspace::Inbox,
                _ => Workspace::HelpDesk,
            };
            app.connect_team_address(actor, team, f.get("address").unwrap_or(""), ws)
                .await?
        }
        Some("default_from") => {
            app.set_team_default_from(actor, team, f.get("address").unwrap_or(""))
                .await?;
        }
        // Item 8: a connected address's signature (variables checked by the use case).
        Some("signature") => {
            app.set_address_signature(
                actor,
                f.get("address").unwrap_or(""),
                f.get("signature").unwrap_or(""),
            )
            .await?;
        }
        _ => return Err(UiError::bad_request("Unknown action.")),
    }
    see_other_flash("/settings/teams", Flash::TeamSaved)
}

pub(crate) struct StageRow {
    pub id: i64,
    pub label: String,
    pub closed: bool,
    pub order: i64,
    /// The required properties (HD-19) in words, for the picker's summary.
    pub required: String,
    /// Every property a ticket can be given, by label, the required ones chosen.
    pub required_opts: Vec<Opt>,
}

pub(crate) struct PipelineRow {
    pub id: i64,
    pub label: String,
    pub stages: Vec<StageRow>,
}

#[derive(Template)]
#[template(path = "ui/settings_pipelines.html")]
struct PipelinesPage {
    chrome: Chrome,
    pipelines: Vec<PipelineRow>,
    /// Properties a new status may require, by label (none chosen).
    property_opts: Vec<Opt>,
}

pub(crate) async fn pipelines(State(state): State<UiState>, agent: Agent) -> UiResult {
    let c = chrome(&state, &agent, "Pipelines").await?;
    let ps = state.app.pipelines().await?;
    // Chosen by label; the internal name is what is stored, shown as a detail.
    let props: Vec<(String, String)> = state
        .app
        .properties("tickets")
        .await?
        .into_iter()
        .filter(|p| {
            !p.read_only && !p.archived && p.name != "hs_pipeline" && p.name != "hs_pipeline_stage"
        })
        .map(|p| (p.name, p.label))
        .collect();
    let opts = |chosen: &[String]| -> Vec<Opt> {
        props
            .iter()
            .map(|(n, l)| Opt::new(n.clone(), l.clone(), chosen.contains(n)))
            .collect()
    };
    let label_of = |n: &String| {
        props
            .iter()
            .find(|(name, _)| name == n)
            .map(|(_, l)| l.clone())
            .unwrap_or_else(|| n.clone())
    };
    page(&PipelinesPage {
        chrome: c,
        pipelines: ps
            .into_iter()
            .map(|p| PipelineRow {
                id: p.id.0,
                label: p.label,
                stages: p
                    .stages
                    .into_iter()
                    .filter(|s| !s.archived)
                    .map(|s| StageRow {
                        id: s.id.0,
                        label: s.label,
                        closed: s.state == StageState::Closed,
                        order: s.display_order,
                        required: s
                            .required_properties
                            .iter()
                            .map(label_of)
                            .collect::<Vec<_>>()
                            .join(", "),
                        required_opts: opts(&s.required_properties),
                    })
                    .collect(),
            })
            .collect(),
        property_opts: opts(&[]),
    })
}

/// The required properties a stage form posts: one `required` checkbox per property (a
/// comma- or space-separated list is read too).
fn names_list(f: &super::Fields) -> Vec<String> {
    f.all("required")
        .into_iter()
        .flat_map(|s| s.split([',', ' ']))
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect()
}

pub(crate) async fn create_pipeline(State(state): State<UiState>, post: Post) -> UiResult {
    let f = &post.fields;
    let stages = f
        .get("stages")
        .unwrap_or("")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, l)| {
            let (label, closed) = match l.strip_suffix("(closed)") {
                Some(x) => (x.trim(), true),
                None => (l, false),
            };
            NewStage {
                label: label.to_string(),
                display_order: i as i64,
                state: if closed {
                    StageState::Closed
                } else {
                    StageState::Open
                },
                required_properties: Vec::new(),
            }
        })
        .collect();
    state
        .app
        .create_pipeline(
            &post.agent.actor,
            NewPipeline {
                label: f.get("label").unwrap_or("").to_string(),
                display_order: 100,
                stages,
            },
        )
        .await?;
    see_other_flash("/settings/pipelines", Flash::Saved)
}

pub(crate) async fn create_stage(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    let f = &post.fields;
    state
        .app
        .create_stage(
            &post.agent.actor,
            PipelineId(id),
            NewStage {
                label: f.get("label").unwrap_or("").to_string(),
                display_order: f.id("order").unwrap_or(100),
                state: if f.flag("closed") {
                    StageState::Closed
                } else {
                    StageState::Open
                },
                required_properties: names_list(f),
            },
        )
        .await?;
    see_other_flash("/settings/pipelines", Flash::Saved)
}

/// A stage's label, order, state and required properties (HD-19), or its archiving.
pub(crate) async fn update_stage(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    let f = &post.fields;
    let pipeline = PipelineId(
        f.checked_id("pipeline")?
            .ok_or_else(|| UiError::bad_request("Missing pipeline."))?,
    );
    let app = &state.app;
    if f.get("action") == Some("archive") {
        app.delete_stage(&post.agent.actor, pipeline, StageId(id))
            .await?;
    } else {
        app.update_stage(
            &post.agent.actor,
            pipeline,
            StageId(id),
            StagePatch {
                label: f.text("label"),
                display_order: f.id("order"),
                state: Some(if f.flag("closed") {
                    StageState::Closed
                } else {
                    StageState::Open
                }),
                archived: None,
                required_properties: Some(names_list(f)),
            },
        )
        .await?;
    }
    see_other_flash("/settings/pipelines", Flash::Saved)
}

pub(crate) struct PropertyRow {
    pub name: String,
    pub label: String,
    pub kind: &'static str,
    pub options: String,
    pub custom: bool,
}

#[derive(Template)]
#[template(path = "ui/settings_properties.html")]
struct PropertiesPage {
    chrome: Chrome,
    props: Vec<PropertyRow>,
    error: Option<String>,
    /// The new-property form as it was posted (kept when refused).
    typed: super::Fields,
    /// A refusal's reason by form field (`label`, `name`, `type`, `options`).
    at: std::collections::BTreeMap<String, String>,
}

impl PropertiesPage {
    fn typed(&self, name: &str) -> &str {
        self.typed.get(name).unwrap_or("")
    }
    fn error_at(&self, name: &str) -> &str {
        self.at.get(name).map(String::as_str).unwrap_or("")
    }
    /// "Advanced" opens by itself when the internal name was typed or is what was refused.
    fn advanced_open(&self) -> bool {
        !self.typed("name").trim().is_empty() || !self.error_at("name").is_empty()
    }
}

pub(crate) async fn properties(State(state): State<UiState>, agent: Agent) -> UiResult {
    properties_page(&state, &agent, None, super::Fields::default()).await
}

async fn properties_page(
    state: &UiState,
    agent: &Agent,
    error: Option<fd_app::AppError>,
    typed: super::Fields,
) -> UiResult {
    let c = chrome(state, agent, "Properties").await?;
    let props = state
        .app
        .properties("tickets")
        .await?
        .into_iter()
        .filter(|p| !p.archived)
        .map(|p| PropertyRow {
            options: p
                .options
                .iter()
                .map(|o| o.label.clone())
                .collect::<Vec<_>>()
                .join(", "),
            kind: p.kind.as_str(),
            custom: !p.hubspot_defined,
            name: p.name,
            label: p.label,
        })
        .collect();
    let refused = error.is_some();
    let (at, error) = match &error {
        Some(e) => super::widgets::field_errors(e, "type"),
        None => Default::default(),
    };
    // The definition's own field names, as the form names them.
    let at = at
        .into_iter()
        .map(|(k, v)| match k.as_str() {
            "fieldType" | "kind" => ("type".to_string(), v),
            _ => (k, v),
        })
        .collect::<std::collections::BTreeMap<_, _>>();
    let known = ["label", "name", "type", "options"];
    let error = error.or_else(|| {
        let rest: Vec<String> = at
            .iter()
            .filter(|(k, _)| !known.contains(&k.as_str()))
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        (!rest.is_empty()).then(|| rest.join(" "))
    });
    let mut r = page(&PropertiesPage {
        chrome: c,
        props,
        error,
        typed,
        at,
    })?;
    if refused {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

/// A refusal placed at one field of the new-property form.
fn field_refusal(field: &str, message: impl Into<String>) -> fd_app::AppError {
    fd_app::AppError::Domain(DomainError::Invalid(vec![FieldError::new(
        field,
        ErrorCode::InvalidValue,
        message,
    )]))
}

pub(crate) async fn create_property(State(state): State<UiState>, post: Post) -> UiResult {
    let f = &post.fields;
    let kind = match PropertyType::parse(f.get("type").unwrap_or("")) {
        Ok(k) => k,
        Err(e) => {
            let e = fd_app::AppError::Domain(DomainError::Invalid(vec![e]));
            return properties_page(&state, &post.agent, Some(e), f.clone()).await;
        }
    };
    let options = f
        .get("options")
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .enumerate()
        .map(|(i, o)| PropertyOption {
            value: o.to_string(),
            label: o.to_string(),
            display_order: i as i32,
            hidden: false,
        })
        .collect();
    // The admin gives a label; the internal name is made from it (HubSpot's way) unless they
    // set one under "Advanced".
    let label = f.get("label").unwrap_or("").trim().to_string();
    let typed_name = f.get("name").unwrap_or("").trim().to_string();
    let derived = typed_name.is_empty();
    let name = if derived {
        match internal_name_from_label(&label) {
            Some(n) => n,
            None => {
                let e = if label.is_empty() {
                    field_refusal("label", "Give the property a label.")
                } else {
                    field_refusal(
                        "name",
                        "This label has no letter a\u{2013}z or digit to make an internal name from: set one here.",
                    )
                };
                return properties_page(&state, &post.agent, Some(e), f.clone()).await;
            }
        }
    } else {
        typed_name
    };
    let input = NewProperty {
        name: name.clone(),
        label,
        kind,
        field_type: None,
        group_name: "ticketinformation".into(),
        description: String::new(),
        options,
        display_order: 100,
        form_field: true,
    };
    match state
        .app
        .create_property(&post.agent.actor, "tickets", input)
        .await
    {
        Ok(_) => see_other_flash("/settings/properties", Flash::PropertyCreated),
        // A name already in use is said at the field it came from: the label it was made
        // from, or the internal name the admin typed.
        Err(fd_app::AppError::Conflict(_)) => {
            let e = if derived {
                field_refusal(
                    "label",
                    format!(
                        "A property with the internal name \u{201c}{name}\u{201d} already exists: choose another label, or another internal name under Advanced."
                    ),
                )
            } else {
                field_refusal(
                    "name",
                    format!(
                        "The internal name \u{201c}{name}\u{201d} is already taken: choose another."
                    ),
                )
            };
            properties_page(&state, &post.agent, Some(e), f.clone()).await
        }
        Err(e @ fd_app::AppError::Domain(_)) => {
            properties_page(&state, &post.agent, Some(e), f.clone()).await
        }
        Err(e) => Err(e.into()),
    }
}

pub(crate) struct FormRow {
    pub name: String,
    pub label: String,
    pub on_form: bool,
    pub required: bool,
}

#[derive(Template)]
#[template(path = "ui/settings_form.html")]
struct FormPage {
    chrome: Chrome,
    rows: Vec<FormRow>,
}

pub(crate) async fn ticket_form(State(state): State<UiState>, agent: Agent) -> UiResult {
    let c = chrome(&state, &agent, "Create-ticket form").await?;
    let current = state.app.ticket_form_fields().await?;
    let rows = state
        .app
        .properties("tickets")
        .await?
        .into_iter()
        .filter(|p| !p.read_only && !p.archived)
        .filter(|p| {
            !matches!(
                p.name.as_str(),
                "subject" | "hs_pipeline" | "hs_pipeline_stage"
            )
        })
        .map(|p| {
            let entry = current.iter().find(|(n, _)| *n == p.name);
            FormRow {
                on_form: entry.is_some(),
                required: entry.is_some_and(|(_, r)| *r),
                name: p.name,
                label: p.label,
            }
        })
        .collect();
    page(&FormPage { chrome: c, rows })
}

pub(crate) async fn save_ticket_form(State(state): State<UiState>, post: Post) -> UiResult {
    let f = &post.fields;
    let required: Vec<&str> = f.all("required");
    let fields = f
        .all("field")
        .into_iter()
        .map(|n| (n.to_string(), required.contains(&n)))
        .collect();
    state
        .app
        .set_ticket_form_fields(&post.agent.actor, fields)
        .await?;
    see_other_flash("/settings/form", Flash::SettingsSaved)
}

pub(crate) struct LibraryRow {
    pub id: i64,
    pub kind: &'static str,
    pub title: String,
    pub body: String,
}

#[derive(Template)]
#[template(path = "ui/settings_library.html")]
struct LibraryPage {
    chrome: Chrome,
    items: Vec<LibraryRow>,
    kinds: Vec<Opt>,
}

pub(crate) async fn library(State(state): State<UiState>, agent: Agent) -> UiResult {
    let c = chrome(&state, &agent, "Snippets, templates and knowledge base").await?;
    let items = state
        .app
        .library_items(&agent.actor, None)
        .await?
        .into_iter()
        .map(|i| LibraryRow {
            id: i.id,
            kind: LIBRARY_KINDS
                .iter()
                .find(|(k, _)| *k == i.kind)
                .map(|(_, l)| *l)
                .unwrap_or(""),
            title: i.title,
            body: i.body_html,
        })
        .collect();
    page(&LibraryPage {
        chrome: c,
        items,
        kinds: LIBRARY_KINDS
            .iter()
            .map(|(k, l)| Opt::new(*k, *l, false))
            .collect(),
    })
}

/// Library bodies are typed as HTML by admins; they are sanitised like replies.
pub(crate) async fn create_library_item(State(state): State<UiState>, post: Post) -> UiResult {
    let f = &post.fields;
    state
        .app
        .create_library_item(
            &post.agent.actor,
            f.get("kind").unwrap_or(""),
            f.get("title").unwrap_or(""),
            &sanitize_reply(f.get("body").unwrap_or("")),
        )
        .await?;
    see_other_flash("/settings/library", Flash::Saved)
}

pub(crate) async fn update_library_item(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    let f = &post.fields;
    if f.get("action") == Some("archive") {
        state
            .app
            .archive_library_item(&post.agent.actor, id)
            .await?;
    } else {
        state
            .app
            .update_library_item(
                &post.agent.actor,
                id,
                f.get("title").unwrap_or(""),
                &sanitize_reply(f.get("body").unwrap_or("")),
            )
            .await?;
    }
    see_other_flash("/settings/library", Flash::Saved)
}

#[derive(Template)]
#[template(path = "ui/settings_account.html")]
struct AccountPage {
    chrome: Chrome,
    help_desk: bool,
    retention: i64,
    /// Item 7: the attachment limits, in MiB.
    max_file_mib: i64,
    max_message_mib: i64,
    /// Days after closing when a customer's reply opens a follow-up ticket (0: reopen).
    follow_up_days: i64,
}

pub(crate) async fn account(State(state): State<UiState>, agent: Agent) -> UiResult {
    let c = chrome(&state, &agent, "Account").await?;
    let s = state.app.account_settings().await?;
    let limits = state.app.attachment_limits().await?;
    page(&AccountPage {
        chrome: c,
        help_desk: s.mode == AccountMode::HelpDesk,
        retention: s.trash_retention_days,
        max_file_mib: limits.max_file_bytes / (1024 * 1024),
        max_message_mib: limits.max_message_bytes / (1024 * 1024),
        follow_up_days: state.app.follow_up_days().await?,
    })
}

pub(crate) async fn save_account(State(state): State<UiState>, post: Post) -> UiResult {
    let f = &post.fields;
    let mode: AccountMode = parse(f.get("mode"))?;
    state.app.set_account_mode(&post.agent.actor, mode).await?;
    if let Some(days) = f.id::<i64>("retention") {
        state
            .app
            .set_trash_retention_days(&post.agent.actor, days)
            .await?;
    }
    if let (Some(file), Some(message)) =
        (f.id::<i64>("max_file_mib"), f.id::<i64>("max_message_mib"))
    {
        let mib = 1024 * 1024;
        state
            .app
            .set_attachment_limits(
                &post.agent.actor,
                fd_app::domain::outgoing::AttachmentLimits {
                    max_file_bytes: file.saturating_mul(mib),
                    max_message_bytes: message.saturating_mul(mib),
                },
            )
            .await?;
    }
    if let Some(raw) = f.get("follow_up_days") {
        let days = raw.trim().parse::<i64>().map_err(|_| {
            UiError::bad_request(format!(
                "The follow-up period must be a whole number of days, not {raw:?}."
            ))
        })?;
        state
            .app
            .set_follow_up_days(&post.agent.actor, days)
            .await?;
    }
    see_other_flash("/settings/account", Flash::SettingsSaved)
}
