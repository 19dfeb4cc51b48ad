//! Thread assignment (HUBSPOT-API-2.md §6.2): `PUT` / `DELETE` a thread's assignee, at
//! HubSpot's odd v3 prefix `/conversations/conversations/v3/threads/…` and at the alias under
//! `/conversations/v3/conversations/threads/…`. The assignee is the conversation's owner, set
//! through the owner use case (INB-06: the ticket's owner follows).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use fd_app::domain::*;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::conversations::{Thread, thread_out};
use super::{Auth, Body, parse_id};
use crate::{ApiError, WebState};

pub(super) fn routes() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(assign, unassign))
        .routes(routes!(assign_alias, unassign_alias))
}

/// The agent to assign: `A-<userId>`.
#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AssigneeIn {
    #[schema(required = true)]
    #[serde(default)]
    actor_id: Option<String>,
}

fn agent_of(input: &AssigneeIn) -> Result<UserId, ApiError> {
    let raw = input
        .actor_id
        .as_deref()
        .ok_or_else(|| ApiError::validation("Missing required field: actorId"))?;
    raw.trim()
        .strip_prefix("A-")
        .and_then(fd_app::domain::text::parse_id)
        .map(UserId)
        .ok_or_else(|| {
            ApiError::validation(format!(
                "actorId {raw:?} is not an agent actor (A-<userId>): only agents are assigned"
            ))
        })
}

async fn set(
    s: &WebState,
    actor: &fd_app::Actor,
    thread_id: &str,
    owner: Option<UserId>,
) -> Result<Thread, ApiError> {
    let id = ConversationId(parse_id("thread", thread_id)?);
    s.app.assign_conversation_owner(actor, id, owner).await?;
    let c = s.app.thread(actor, id, false).await?;
    let accounts = s.app.channel_accounts().await?;
    Ok(thread_out(&c, &accounts, false))
}

#[utoipa::path(
    put,
    path = "/conversations/conversations/v3/threads/{threadId}/assignee",
    operation_id = "assignThread",
    tag = "conversations",
    summary = "Assign a thread to an agent",
    params(("threadId" = String, Path, pattern = "^[0-9]{1,12}$")),
    request_body = AssigneeIn,
    responses((status = 200, description = "success", body = Thread)),
)]
async fn assign(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(thread_id): Path<String>,
    Body(input): Body<AssigneeIn>,
) -> Result<Json<Thread>, ApiError> {
    let owner = agent_of(&input)?;
    Ok(Json(set(&s, &actor, &thread_id, Some(owner)).await?))
}

#[utoipa::path(
    delete,
    path = "/conversations/conversations/v3/threads/{threadId}/assignee",
    operation_id = "unassignThread",
    tag = "conversations",
    summary = "Remove a thread's assignee",
    params(("threadId" = String, Path, pattern = "^[0-9]{1,12}$")),
    responses((status = 204, description = "no content")),
)]
async fn unassign(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(thread_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    set(&s, &actor, &thread_id, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    put,
    path = "/conversations/v3/conversations/threads/{threadId}/assignee",
    operation_id = "assignThreadAlias",
    tag = "conversations",
    summary = "Assign a thread to an agent (alias)",
    params(("threadId" = String, Path, pattern = "^[0-9]{1,12}$")),
    request_body = AssigneeIn,
    responses((status = 200, description = "success", body = Thread)),
)]
async fn assign_alias(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(thread_id): Path<String>,
    Body(input): Body<AssigneeIn>,
) -> Result<Json<Thread>, ApiError> {
    let owner = agent_of(&input)?;
    Ok(Json(set(&s, &actor, &thread_id, Some(owner)).await?))
}

#[utoipa::path(
    delete,
    path = "/conversations/v3/conversations/threads/{threadId}/assignee",
    operation_id = "unassignThreadAlias",
    tag = "conversations",
    summary = "Remove a thread's assignee (alias)",
    params(("threadId" = String, Path, pattern = "^[0-9]{1,12}$")),
    responses((status = 204, description = "no content")),
)]
async fn unassign_alias(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(thread_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    set(&s, &actor, &thread_id, None).await?;
    Ok(StatusCode::NO_CONTENT)
}
