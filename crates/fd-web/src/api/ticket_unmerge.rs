//! Frontdesk's own ticket endpoints beyond HubSpot (issue 15): unmerge (also undoes a split),
//! split, and the merges and splits a ticket takes part in. Each handler calls one use case
//! of fd-app (`unmerge_ticket`, `split_ticket`, `ticket_links`); no rule lives here.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use fd_app::Unmerged;
use fd_app::domain::ticket_merge::MERGED_IDS_PROPERTY;
use fd_app::domain::{MessageId, ObjectType, TicketId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::objects::{Shape, SimplePublicObject, default_properties};
use super::{Auth, Body, body_id, parse_id, property_strings};
use crate::{ApiError, WebState};

pub(super) fn routes() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(unmerge))
        .routes(routes!(split))
        .routes(routes!(links))
}

/// Which ticket to take back out.
#[derive(Deserialize, Default, ToSchema)]
#[schema(as = UnmergeInput)]
pub(crate) struct UnmergeIn {
    /// The ticket merged into (or split from) the path's ticket.
    #[serde(rename = "mergedObjectId", default)]
    #[schema(value_type = String, required = true)]
    merged_object_id: Value,
}

/// The tickets after an unmerge.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = UnmergeResult)]
pub(crate) struct UnmergeOut {
    /// The path's ticket as it is now.
    survivor: SimplePublicObject,
    /// The ticket given back (a merge undone); absent when a split was undone.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    restored: Option<SimplePublicObject>,
    /// The split-off ticket that is gone (a split undone).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    removed_id: Option<String>,
}

/// The messages to split off and the new ticket's properties.
#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SplitInput)]
pub(crate) struct SplitIn {
    /// Ids of messages of one of the ticket's conversations (not all of its messages).
    #[serde(default)]
    #[schema(value_type = Vec<String>, required = true)]
    message_ids: Option<Vec<Value>>,
    /// Properties of the new ticket; what is missing comes from the source ticket (pipeline,
    /// status, priority, category) and the conversation (subject).
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, String>)]
    properties: Option<BTreeMap<String, Value>>,
}

/// The merges and splits a ticket takes part in.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = TicketLinks)]
pub(crate) struct LinksOut {
    /// Tickets merged into this one (each can be unmerged).
    merged_object_ids: Vec<String>,
    /// The ticket this one was split from.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    split_from_id: Option<String>,
    /// Tickets split off this one (each split can be undone with unmerge).
    split_into_ids: Vec<String>,
}

async fn render_ticket(
    s: &WebState,
    actor: &fd_app::Actor,
    id: TicketId,
) -> Result<SimplePublicObject, ApiError> {
    let record = s.app.record(actor, ObjectType::Ticket, id.0, false).await?;
    let mut names: Vec<String> = default_properties(ObjectType::Ticket)
        .iter()
        .map(|n| n.to_string())
        .collect();
    names.push(MERGED_IDS_PROPERTY.to_string());
    let shape = Shape::new(&s.app, ObjectType::Ticket, &names).await?;
    Ok(shape.render(&record))
}

#[utoipa::path(
    post,
    path = "/frontdesk/v1/tickets/{ticketId}/unmerge",
    operation_id = "unmergeTicket",
    tag = "tickets",
    summary = "Undo a merge into this ticket, or a split from it",
    description = "Takes mergedObjectId back out of the ticket. A merge undone gives both tickets back with their own conversations, comments, followers, history and associations; what arrived after the merge stays where it arrived; the survivor keeps its current values and drops the id from hs_merged_object_ids; the restored ticket gets its values from before the merge. A split undone moves the messages back to their conversation and deletes the split-off ticket. 400 names the problem (not merged into this ticket, in the trash, merged away since); 404 for a ticket the token may not see.",
    params(("ticketId" = String, Path)),
    request_body = UnmergeIn,
    responses((status = 200, description = "both tickets after the unmerge", body = UnmergeOut)),
)]
async fn unmerge(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(ticket_id): Path<String>,
    Body(input): Body<UnmergeIn>,
) -> Result<Json<UnmergeOut>, ApiError> {
    let id = TicketId(parse_id("ticket", &ticket_id)?);
    if input.merged_object_id.is_null() {
        return Err(ApiError::validation(
            "Missing required field: mergedObjectId",
        ));
    }
    let other = body_id(&input.merged_object_id)
        .ok_or_else(|| ApiError::validation("mergedObjectId must be a ticket id"))?;
    let out = match s.app.unmerge_ticket(&actor, id, TicketId(other)).await? {
        Unmerged::Merge { survivor, restored } => UnmergeOut {
            survivor: render_ticket(&s, &actor, survivor.id).await?,
            restored: Some(render_ticket(&s, &actor, restored.id).await?),
            removed_id: None,
        },
        Unmerged::Split { source, removed } => UnmergeOut {
            survivor: render_ticket(&s, &actor, source.id).await?,
            restored: None,
            removed_id: Some(removed.0.to_string()),
        },
    };
    Ok(Json(out))
}

#[utoipa::path(
    post,
    path = "/frontdesk/v1/tickets/{ticketId}/split",
    operation_id = "splitTicket",
    tag = "tickets",
    summary = "Split messages off to a new ticket",
    description = "The messages (of one conversation of the ticket, not all of them) move to a new conversation with the same contact, on a new ticket with the given properties. Both tickets name each other (GET .../links, and their history); unmerge with the new ticket's id undoes the split.",
    params(("ticketId" = String, Path)),
    request_body = SplitIn,
    responses((status = 201, description = "the new ticket", body = SimplePublicObject)),
)]
async fn split(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(ticket_id): Path<String>,
    Body(input): Body<SplitIn>,
) -> Result<(StatusCode, Json<SimplePublicObject>), ApiError> {
    let id = TicketId(parse_id("ticket", &ticket_id)?);
    let raw = input
        .message_ids
        .ok_or_else(|| ApiError::validation("Missing required field: messageIds"))?;
    let mut ids = Vec::with_capacity(raw.len());
    for v in &raw {
        ids.push(MessageId(body_id(v).ok_or_else(|| {
            ApiError::validation("messageIds must be message ids")
        })?));
    }
    let props = property_strings(&input.properties.unwrap_or_default())?;
    let new = s.app.split_ticket(&actor, id, &ids, props).await?;
    Ok((
        StatusCode::CREATED,
        Json(render_ticket(&s, &actor, new.id).await?),
    ))
}

#[utoipa::path(
    get,
    path = "/frontdesk/v1/tickets/{ticketId}/links",
    operation_id = "ticketLinks",
    tag = "tickets",
    summary = "The merges and splits a ticket takes part in",
    params(("ticketId" = String, Path)),
    responses((status = 200, description = "the linked tickets", body = LinksOut)),
)]
async fn links(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(ticket_id): Path<String>,
) -> Result<Json<LinksOut>, ApiError> {
    let id = TicketId(parse_id("ticket", &ticket_id)?);
    let l = s.app.ticket_links(&actor, id).await?;
    let ids = |v: &[TicketId]| v.iter().map(|t| t.0.to_string()).collect::<Vec<_>>();
    Ok(Json(LinksOut {
        merged_object_ids: ids(&l.merged_in),
        split_from_id: l.split_from.map(|t| t.0.to_string()),
        split_into_ids: ids(&l.split_into),
    }))
}
