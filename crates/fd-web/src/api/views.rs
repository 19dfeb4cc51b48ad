//! Shared views over the API (issue 16 item 4; HD-04: creating, changing and deleting a view
//! needs a Service Seat, 403 without one): `/frontdesk/v1/views` (list, create), `/{viewId}`
//! (read, replace, delete) and `/{viewId}/tickets` (a page of its tickets and their count,
//! scoped by HD-09). The definition is the JSON of `fd_domain::views::ViewDefinition`; the
//! use cases check it and who may own the view. No rule lives here.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use fd_app::domain::views::{ViewDefinition, ViewOwner};
use fd_app::domain::*;
use fd_app::{View, ViewInput};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Auth, Body, Params, parse_id};
use crate::{ApiError, WebState};

pub(super) fn routes() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(list_views, create_view))
        .routes(routes!(get_view, replace_view, delete_view))
        .routes(routes!(view_tickets))
}

/// A view to create or replace.
#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ViewInput)]
pub(crate) struct ViewIn {
    #[schema(required = true)]
    name: Option<String>,
    /// `user` (the caller's own; the default), `team` (with `teamId`; members and
    /// administrators) or `everyone` (administrators).
    owner_kind: Option<String>,
    team_id: Option<String>,
    /// `{"status": "open"|"closed"|"all", "filters": [{"propertyName", "operator", "value",
    /// "highValue", "values"}] (the search API's filters; `hubspot_owner_id` takes "me"),
    /// "dates": [{"propertyName": "createdate", "range": "last_7_days" | "today" |
    /// "yesterday" | "this_week" | "last_week" | "this_month" | "last_month"}], "sla":
    /// "at_risk" | "breached" | …, "text", "columns": ["subject", "priority", …],
    /// "sort": "created_desc" | …}`.
    #[schema(value_type = Object)]
    definition: Option<Value>,
}

/// A view.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = View)]
pub(crate) struct ViewOut {
    id: String,
    name: String,
    owner_kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    team_id: Option<String>,
    /// The owner of a personal view.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    user_id: Option<String>,
    #[schema(value_type = Object)]
    definition: Value,
    /// Epoch milliseconds.
    created_at: i64,
    updated_at: i64,
}

#[derive(Serialize, ToSchema)]
#[schema(as = ViewList)]
pub(crate) struct ViewList {
    results: Vec<ViewOut>,
}

/// One ticket of a view's page.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ViewTicket)]
pub(crate) struct ViewTicketOut {
    id: String,
    subject: String,
    pipeline: String,
    pipeline_stage: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    priority: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    owner_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    team_id: Option<String>,
    created_at: i64,
    last_activity_at: i64,
}

#[derive(Serialize, ToSchema)]
#[schema(as = ViewTickets)]
pub(crate) struct ViewTicketsOut {
    /// Every ticket of the view the caller may see (HD-09).
    total: i64,
    results: Vec<ViewTicketOut>,
}

fn out(v: View) -> ViewOut {
    let (team_id, user_id) = match v.owner {
        ViewOwner::User(u) => (None, Some(u.to_string())),
        ViewOwner::Team(t) => (Some(t.to_string()), None),
        ViewOwner::Everyone => (None, None),
    };
    ViewOut {
        id: v.id.to_string(),
        name: v.name,
        owner_kind: v.owner.kind().into(),
        team_id,
        user_id,
        definition: serde_json::to_value(&v.definition).unwrap_or(Value::Null),
        created_at: v.created_at,
        updated_at: v.updated_at,
    }
}

fn input(b: ViewIn) -> Result<ViewInput, ApiError> {
    let name = b
        .name
        .ok_or_else(|| ApiError::validation("Missing required field: name"))?;
    let team_id = match b.team_id {
        Some(t) => Some(TeamId(text::parse_id(&t).ok_or_else(|| {
            ApiError::validation(format!("teamId: {t:?} is not an id"))
        })?)),
        None => None,
    };
    let definition: ViewDefinition = match b.definition {
        Some(d) => serde_json::from_value(d)
            .map_err(|e| ApiError::validation(format!("definition: {e}")))?,
        None => ViewDefinition::from_list_query(""),
    };
    Ok(ViewInput {
        name,
        owner_kind: b.owner_kind.unwrap_or_else(|| "user".into()),
        team_id,
        definition,
    })
}

#[utoipa::path(
    get,
    path = "/frontdesk/v1/views",
    operation_id = "listViews",
    tag = "views",
    summary = "The views the caller sees",
    description = "Their personal views, their teams' views and the views for everyone.",
    responses((status = 200, description = "the views", body = ViewList)),
)]
async fn list_views(
    State(s): State<WebState>,
    Auth(actor): Auth,
) -> Result<Json<ViewList>, ApiError> {
    let views = s.app.views(&actor).await?;
    Ok(Json(ViewList {
        results: views.into_iter().map(out).collect(),
    }))
}

#[utoipa::path(
    post,
    path = "/frontdesk/v1/views",
    operation_id = "createView",
    tag = "views",
    summary = "Create a view",
    description = "Needs a Service Seat (HD-04, 403 otherwise). A personal view is the caller's; a team view needs membership of the team or an administrator; a view for everyone an administrator (403). Every filter is checked against the ticket properties (400 names each problem).",
    request_body = ViewIn,
    responses((status = 201, description = "the view", body = ViewOut)),
)]
async fn create_view(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Body(b): Body<ViewIn>,
) -> Result<(StatusCode, Json<ViewOut>), ApiError> {
    let v = s.app.create_view(&actor, &input(b)?).await?;
    Ok((StatusCode::CREATED, Json(out(v))))
}

#[utoipa::path(
    get,
    path = "/frontdesk/v1/views/{viewId}",
    operation_id = "getView",
    tag = "views",
    summary = "A view",
    description = "A view the caller does not see is not found (404).",
    params(("viewId" = String, Path)),
    responses((status = 200, description = "the view", body = ViewOut)),
)]
async fn get_view(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(view_id): Path<String>,
) -> Result<Json<ViewOut>, ApiError> {
    let id = parse_id("view", &view_id)?;
    Ok(Json(out(s.app.view(&actor, id).await?)))
}

#[utoipa::path(
    put,
    path = "/frontdesk/v1/views/{viewId}",
    operation_id = "replaceView",
    tag = "views",
    summary = "Replace a view",
    description = "Name, owner and definition are replaced; the caller must be allowed to manage the view as it was and as it becomes (HD-04: Service Seat; 403).",
    params(("viewId" = String, Path)),
    request_body = ViewIn,
    responses((status = 200, description = "the view", body = ViewOut)),
)]
async fn replace_view(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(view_id): Path<String>,
    Body(b): Body<ViewIn>,
) -> Result<Json<ViewOut>, ApiError> {
    let id = parse_id("view", &view_id)?;
    Ok(Json(out(s.app.update_view(&actor, id, &input(b)?).await?)))
}

#[utoipa::path(
    delete,
    path = "/frontdesk/v1/views/{viewId}",
    operation_id = "deleteView",
    tag = "views",
    summary = "Delete a view",
    description = "HD-04: Service Seat, and the right to manage the view (403).",
    params(("viewId" = String, Path)),
    responses((status = 204, description = "deleted")),
)]
async fn delete_view(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(view_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id("view", &view_id)?;
    s.app.delete_view(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/frontdesk/v1/views/{viewId}/tickets",
    operation_id = "viewTickets",
    tag = "views",
    summary = "A page of a view's tickets",
    description = "In the view's sort, relative dates read now; only tickets the caller may see are counted and listed (HD-09).",
    params(
        ("viewId" = String, Path),
        ("limit" = Option<i64>, Query, description = "1 to 100, default 25"),
        ("offset" = Option<i64>, Query, description = "default 0"),
    ),
    responses((status = 200, description = "the count and the page", body = ViewTicketsOut)),
)]
async fn view_tickets(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(view_id): Path<String>,
    params: Params,
) -> Result<Json<ViewTicketsOut>, ApiError> {
    let id = parse_id("view", &view_id)?;
    let limit = params.int("limit", 25, 1, 100)?;
    let offset = params.int("offset", 0, 0, 1_000_000)?;
    let view = s.app.view(&actor, id).await?;
    let (tickets, total) = s.app.view_tickets(&actor, &view, limit, offset).await?;
    Ok(Json(ViewTicketsOut {
        total,
        results: tickets
            .into_iter()
            .map(|t| ViewTicketOut {
                id: t.id.to_string(),
                subject: t.subject,
                pipeline: t.pipeline_id.to_string(),
                pipeline_stage: t.stage_id.to_string(),
                priority: t.priority,
                owner_id: t.owner_id.map(|u| u.to_string()),
                team_id: t.team_id.map(|u| u.to_string()),
                created_at: t.created_at,
                last_activity_at: t.last_activity_at,
            })
            .collect(),
    }))
}
