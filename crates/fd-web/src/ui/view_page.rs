//! A shared view's page (issue 16 item 4): its tickets, scoped by HD-09, in the view's
//! columns and sort, beside the help desk's left panel. Translates only; the query is
//! fd-app's `view_tickets`.

use askama::Template;
use axum::extract::{Path, Query, State};
use fd_app::View;
use fd_app::domain::views::{VIEW_COLUMNS, ViewOwner};
use fd_app::domain::*;
use serde::Deserialize;

use super::Id;
use super::helpdesk::view_links;
use super::view::{Directory, channel_label, priority_label};
use super::views::ViewLink;
use super::{Agent, Chrome, UiResult, UiState, page};

const PAGE_SIZE: i64 = 25;

/// One cell of a view's row.
pub(crate) struct Cell {
    pub label: String,
    pub text: String,
    /// A time, drawn by the page's `Times`.
    pub at: Option<Millis>,
    /// The ticket's link (the subject column).
    pub link: bool,
}

pub(crate) struct Row {
    pub id: i64,
    pub cells: Vec<Cell>,
}

#[derive(Template)]
#[template(path = "ui/helpdesk_view.html")]
struct ViewPage {
    chrome: Chrome,
    views: Vec<ViewLink>,
    view: View,
    owner_label: String,
    can_manage: bool,
    headers: Vec<String>,
    rows: Vec<Row>,
    range: String,
    prev_href: Option<String>,
    next_href: Option<String>,
}

#[derive(Deserialize, Default)]
pub(crate) struct PageParams {
    page: Option<i64>,
}

fn column_label(key: &str) -> String {
    VIEW_COLUMNS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, l)| l.to_string())
        .unwrap_or_else(|| key.to_string())
}

fn owner_label(dir: &Directory, owner: ViewOwner) -> String {
    match owner {
        ViewOwner::User(_) => "Personal view".into(),
        ViewOwner::Team(t) => format!("Team view: {}", dir.team_name(Some(t))),
        ViewOwner::Everyone => "View for everyone".into(),
    }
}

/// A view's page: its tickets (scoped, HD-09) in its columns and sort.
pub(crate) async fn show(
    State(state): State<UiState>,
    agent: Agent,
    Path(Id(id)): Path<Id>,
    Query(p): Query<PageParams>,
) -> UiResult {
    agent.actor_can_use_tickets()?;
    let app = &state.app;
    let view = app.view(&agent.actor, id).await?;
    let page_no = p.page.unwrap_or(1).max(1);
    let offset = (page_no - 1) * PAGE_SIZE;
    let (tickets, total) = app
        .view_tickets(&agent.actor, &view, PAGE_SIZE, offset)
        .await?;
    let dir = Directory::load(app).await?;
    let base_rows = super::widgets::ticket_rows(app, &agent, &dir, &tickets).await?;
    let columns = view.definition.shown_columns();
    let rows = tickets
        .iter()
        .zip(base_rows)
        .map(|(t, r)| Row {
            id: t.id.0,
            cells: columns
                .iter()
                .map(|c| {
                    let (text, at) = match c.as_str() {
                        "subject" => (t.subject.clone(), None),
                        "stage" => (r.status.clone(), None),
                        "priority" => (priority_label(t.priority.as_deref()).to_string(), None),
                        "owner" => (r.owner.clone(), None),
                        "team" => (dir.team_name(t.team_id), None),
                        "channel" => (
                            t.source_type
                                .as_deref()
                                .and_then(|s| s.parse::<Channel>().ok())
                                .map(|c| channel_label(c).to_string())
                                .unwrap_or_else(|| t.source_type.clone().unwrap_or_default()),
                            None,
                        ),
                        "contact" => (r.contact.clone(), None),
                        "sla" => (
                            r.sla
                                .filter(|_| agent.actor.viewer.has_service_seat())
                                .map(|s| s.0.to_string())
                                .unwrap_or_default(),
                            None,
                        ),
                        "created" => (String::new(), Some(t.created_at)),
                        "closed" => (String::new(), t.closed_at),
                        "last_activity" => (String::new(), Some(t.last_activity_at)),
                        other => (t.custom.get(other).cloned().unwrap_or_default(), None),
                    };
                    Cell {
                        label: column_label(c),
                        text,
                        at,
                        link: c == "subject",
                    }
                })
                .collect(),
        })
        .collect();
    let shown = tickets.len() as i64;
    let href = |n: i64| format!("/helpdesk/views/{id}?page={n}");
    let mut views = view_links(app, &agent, "", true).await?;
    for v in views.iter_mut() {
        v.active = v.href == format!("/helpdesk/views/{id}");
    }
    page(&ViewPage {
        chrome: Chrome::load(app, &agent, "helpdesk", view.name.clone()).await?,
        views,
        owner_label: owner_label(&dir, view.owner),
        can_manage: app.may_manage_view(&agent.actor, &view),
        headers: columns.iter().map(|c| column_label(c)).collect(),
        rows,
        range: if shown == 0 {
            "0".into()
        } else {
            format!("{}–{} of {}", offset + 1, offset + shown, total)
        },
        prev_href: (page_no > 1).then(|| href(page_no - 1)),
        next_href: (offset + shown < total).then(|| href(page_no + 1)),
        view,
    })
}
