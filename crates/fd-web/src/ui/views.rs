//! Shared views in the help desk (issue 16 item 4, HD-04): the views' entries and counts in
//! the left panel and the form that creates or edits one (Service Seat only: hidden without
//! one, refused by the use case); a view's page is `view_page.rs`.
//! Only translates between HTTP and fd-app's views use cases; the rules are in fd-domain.

use askama::Template;
use axum::extract::{Path, State};
use fd_app::domain::views::{
    DEFAULT_COLUMNS, MAX_COUNTED_VIEWS, VIEW_COLUMNS, VIEW_SLA_STATES, ViewDateFilter,
    ViewDefinition, ViewFilter, ViewOwner, ViewStatus,
};
use fd_app::domain::*;
use fd_app::{App, AppError, View, ViewInput};

use super::Id;
use super::flash::{Flash, see_other_flash};
use super::view::{Directory, Opt};
use super::{Agent, Chrome, Post, UiResult, UiState, page};

/// One entry of the help desk's left panel: a built-in view or a saved one.
pub(crate) struct ViewLink {
    pub href: String,
    pub label: String,
    pub count: i64,
    pub active: bool,
    /// A saved view (issue 16 item 4), listed after the built-in ones.
    pub custom: bool,
}

/// The shared views' entries of the left panel: every view the agent sees, the first
/// `MAX_COUNTED_VIEWS` counted (`App::view_counts`: one scoped count each).
pub(crate) async fn view_entries(
    app: &App,
    agent: &Agent,
    active: Option<i64>,
    with_counts: bool,
) -> Result<Vec<ViewLink>, AppError> {
    let views = app.views(&agent.actor).await?;
    let counted = if with_counts {
        &views[..views.len().min(MAX_COUNTED_VIEWS)]
    } else {
        &[]
    };
    let counts = app.view_counts(&agent.actor, counted).await?;
    Ok(views
        .into_iter()
        .enumerate()
        .map(|(i, v)| ViewLink {
            href: format!("/helpdesk/views/{}", v.id),
            label: v.name,
            count: counts.get(i).copied().unwrap_or(-1),
            active: active == Some(v.id),
            custom: true,
        })
        .collect())
}

/// The create/edit form.
#[derive(Template)]
#[template(path = "ui/view_form.html")]
struct FormPage {
    chrome: Chrome,
    title: String,
    action: String,
    name: String,
    owners: Vec<Opt>,
    statuses: Vec<Opt>,
    date_properties: Vec<Opt>,
    date_ranges: Vec<Opt>,
    filters: Vec<FilterRow>,
    slas: Vec<Opt>,
    text: String,
    columns: Vec<Opt>,
    sorts: Vec<Opt>,
}

pub(crate) struct FilterRow {
    pub n: usize,
    pub properties: Vec<Opt>,
    pub operators: Vec<Opt>,
    pub value: String,
}

/// Filter rows the form offers.
const FORM_FILTERS: usize = 3;

const OPERATORS: &[(&str, &str)] = &[
    ("EQ", "is"),
    ("NEQ", "is not"),
    ("HAS_PROPERTY", "is known"),
    ("NOT_HAS_PROPERTY", "is unknown"),
    ("CONTAINS_TOKEN", "contains"),
    ("GT", "is greater than"),
    ("LT", "is less than"),
];

const DATE_RANGES: &[(&str, &str)] = &[
    ("", "Any time"),
    ("today", "Today"),
    ("yesterday", "Yesterday"),
    ("this_week", "This week"),
    ("last_week", "Last week"),
    ("this_month", "This month"),
    ("last_month", "Last month"),
    ("last_7_days", "In the last 7 days"),
    ("last_30_days", "In the last 30 days"),
    ("last_90_days", "In the last 90 days"),
];

const DATE_PROPERTIES: &[(&str, &str)] = &[
    ("createdate", "Created"),
    ("closed_date", "Closed"),
    ("hs_last_activity_date", "Last activity"),
];

const SORT_LABELS: &[(&str, &str)] = &[
    ("activity_desc", "Last activity (newest)"),
    ("activity_asc", "Last activity (oldest)"),
    ("created_desc", "Created (newest)"),
    ("created_asc", "Created (oldest)"),
    ("subject_asc", "Name (A–Z)"),
    ("subject_desc", "Name (Z–A)"),
    ("priority_desc", "Priority (highest)"),
    ("priority_asc", "Priority (lowest)"),
    ("sla_due_asc", "SLA due (soonest)"),
];

fn opts(list: &[(&str, &str)], current: &str) -> Vec<Opt> {
    list.iter()
        .map(|(v, l)| Opt::new(*v, *l, *v == current))
        .collect()
}

async fn form_page(state: &UiState, agent: &Agent, view: Option<&View>) -> UiResult {
    let app = &state.app;
    // HD-04: the form is a Service Seat's (the use case refuses the post as well).
    if !agent.actor.viewer.has_service_seat() {
        return Err(AppError::Forbidden(
            "creating and editing views requires a Service Seat (HD-04)".into(),
        )
        .into());
    }
    let dir = Directory::load(app).await?;
    let props = app.properties("tickets").await?;
    let d = view.map(|v| v.definition.clone()).unwrap_or_default();
    let owner_now = match view.map(|v| v.owner) {
        Some(ViewOwner::Team(t)) => format!("team:{t}"),
        Some(ViewOwner::Everyone) => "everyone".into(),
        _ => "user".into(),
    };
    let mut owners = vec![Opt::new("user", "Only me", owner_now == "user")];
    let my_teams: Vec<TeamId> = match &agent.actor.viewer {
        Viewer::User { teams, .. } => teams.clone(),
        Viewer::System => Vec::new(),
    };
    let admin = agent.actor.viewer.is_account_admin();
    for t in dir
        .teams
        .iter()
        .filter(|t| admin || my_teams.contains(&t.id))
    {
        let v = format!("team:{}", t.id);
        owners.push(Opt::new(
            v.clone(),
            format!("Team: {}", t.name),
            owner_now == v,
        ));
    }
    if admin {
        owners.push(Opt::new("everyone", "Everyone", owner_now == "everyone"));
    }
    let date = d.dates.first();
    let prop_opts = |current: &str| {
        let mut o = vec![Opt::new("", "Choose a property", current.is_empty())];
        o.extend(
            props
                .iter()
                .map(|p| Opt::new(p.name.clone(), p.label.clone(), p.name == current)),
        );
        o
    };
    let filters = (0..FORM_FILTERS)
        .map(|n| {
            let f = d.filters.get(n);
            FilterRow {
                n,
                properties: prop_opts(f.map(|f| f.property_name.as_str()).unwrap_or("")),
                operators: opts(OPERATORS, f.map(|f| f.operator.as_str()).unwrap_or("EQ")),
                value: f.and_then(|f| f.value.clone()).unwrap_or_default(),
            }
        })
        .collect();
    let chosen = d.shown_columns();
    let mut columns: Vec<Opt> = VIEW_COLUMNS
        .iter()
        .map(|(k, l)| Opt::new(*k, *l, chosen.iter().any(|c| c == k)))
        .collect();
    columns.extend(
        props
            .iter()
            .filter(|p| !p.hubspot_defined)
            .map(|p| Opt::new(p.name.clone(), p.label.clone(), chosen.contains(&p.name))),
    );
    let title = if view.is_some() {
        "Edit view"
    } else {
        "New view"
    };
    page(&FormPage {
        chrome: Chrome::load(app, agent, "helpdesk", title).await?,
        title: title.into(),
        action: match view {
            Some(v) => format!("/helpdesk/views/{}/edit", v.id),
            None => "/helpdesk/views/new".into(),
        },
        name: view.map(|v| v.name.clone()).unwrap_or_default(),
        owners,
        statuses: opts(
            &[
                ("open", "Open tickets"),
                ("closed", "Closed tickets"),
                ("all", "All tickets"),
            ],
            match d.status {
                ViewStatus::Open => "open",
                ViewStatus::Closed => "closed",
                ViewStatus::All => "all",
            },
        ),
        date_properties: opts(
            DATE_PROPERTIES,
            date.map(|d| d.property_name.as_str())
                .unwrap_or("createdate"),
        ),
        date_ranges: opts(DATE_RANGES, date.map(|d| d.range.as_str()).unwrap_or("")),
        filters,
        slas: {
            let mut o = vec![Opt::new("", "Any SLA state", d.sla.is_none())];
            o.extend(
                VIEW_SLA_STATES
                    .iter()
                    .map(|s| Opt::new(*s, s.replace('_', " "), d.sla.as_deref() == Some(*s))),
            );
            o
        },
        text: d.text.clone().unwrap_or_default(),
        columns,
        sorts: opts(SORT_LABELS, &d.sort),
    })
}

pub(crate) async fn new_form(State(state): State<UiState>, agent: Agent) -> UiResult {
    form_page(&state, &agent, None).await
}

pub(crate) async fn edit_form(
    State(state): State<UiState>,
    agent: Agent,
    Path(Id(id)): Path<Id>,
) -> UiResult {
    let view = state.app.view(&agent.actor, id).await?;
    form_page(&state, &agent, Some(&view)).await
}

/// The posted form as the use case's input.
fn input_of(f: &super::Fields) -> Result<ViewInput, AppError> {
    let owner = f.get("owner").unwrap_or("user");
    let (owner_kind, team_id) = match owner.strip_prefix("team:") {
        Some(t) => (
            "team".to_string(),
            Some(TeamId(t.parse().map_err(|_| {
                AppError::Domain(DomainError::field(
                    "owner",
                    ErrorCode::InvalidOption,
                    format!("{owner:?} is not a team"),
                ))
            })?)),
        ),
        None => (owner.to_string(), None),
    };
    let mut filters = Vec::new();
    for n in 0..FORM_FILTERS {
        let Some(prop) = f
            .text(&format!("filter{n}_property"))
            .filter(|p| !p.is_empty())
        else {
            continue;
        };
        let op = f
            .text(&format!("filter{n}_operator"))
            .unwrap_or_else(|| "EQ".into());
        let value = f
            .text(&format!("filter{n}_value"))
            .filter(|v| !v.is_empty());
        filters.push(ViewFilter {
            property_name: prop,
            operator: op,
            value,
            high_value: None,
            values: Vec::new(),
        });
    }
    let dates = match f.text("date_range").filter(|r| !r.is_empty()) {
        Some(range) => vec![ViewDateFilter {
            property_name: f
                .text("date_property")
                .unwrap_or_else(|| "createdate".into()),
            range,
        }],
        None => Vec::new(),
    };
    let columns: Vec<String> = f.all("columns").into_iter().map(str::to_string).collect();
    let status = match f.get("status").unwrap_or("open") {
        "closed" => ViewStatus::Closed,
        "all" => ViewStatus::All,
        _ => ViewStatus::Open,
    };
    Ok(ViewInput {
        name: f.get("name").unwrap_or("").to_string(),
        owner_kind,
        team_id,
        definition: ViewDefinition {
            status,
            filters,
            dates,
            sla: f.text("sla").filter(|s| !s.is_empty()),
            text: f.text("text").filter(|s| !s.trim().is_empty()),
            columns: if columns.is_empty() {
                DEFAULT_COLUMNS.iter().map(|c| c.to_string()).collect()
            } else {
                columns
            },
            sort: f.text("sort").unwrap_or_else(|| "activity_desc".into()),
        },
    })
}

pub(crate) async fn create(State(state): State<UiState>, post: Post) -> UiResult {
    let input = input_of(&post.fields)?;
    let v = state.app.create_view(&post.agent.actor, &input).await?;
    see_other_flash(&format!("/helpdesk/views/{}", v.id), Flash::Saved)
}

pub(crate) async fn update(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    let input = input_of(&post.fields)?;
    let v = state.app.update_view(&post.agent.actor, id, &input).await?;
    see_other_flash(&format!("/helpdesk/views/{}", v.id), Flash::Saved)
}

pub(crate) async fn delete(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    state.app.delete_view(&post.agent.actor, id).await?;
    see_other_flash("/helpdesk", Flash::Saved)
}
