//! Reply suggestions over the API (issue 16, item 6; HD-04: a Service Seat is required, 403
//! without one): `GET /frontdesk/v1/tickets/{ticketId}/suggestions`. Calls the one use case
//! the editor calls (`App::reply_suggestions`); no rule lives here.

use axum::Json;
use axum::extract::{Path, State};
use fd_app::domain::TicketId;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Auth, parse_id};
use crate::{ApiError, WebState};

pub(super) fn routes() -> OpenApiRouter<WebState> {
    OpenApiRouter::new().routes(routes!(suggestions))
}

/// One suggestion, best first.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ReplySuggestion)]
pub(crate) struct SuggestionOut {
    /// `article` (knowledge base) or `reply` (a past agent reply on a resolved ticket).
    kind: String,
    /// The article's id, or the reply's message id.
    id: String,
    /// The article's title, or the past ticket's subject.
    title: String,
    /// The content "insert" puts in the reply (HTML).
    body: String,
    /// The resolved ticket a reply was written on.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    ticket_id: Option<String>,
    /// BM25 score (higher is more relevant; comparable within one answer only).
    score: f32,
}

#[derive(Serialize, ToSchema)]
#[schema(as = ReplySuggestions)]
pub(crate) struct SuggestionsOut {
    results: Vec<SuggestionOut>,
}

#[utoipa::path(
    get,
    path = "/frontdesk/v1/tickets/{ticketId}/suggestions",
    operation_id = "replySuggestions",
    tag = "tickets",
    summary = "Reply suggestions for a ticket",
    description = "Knowledge-base articles and past agent replies on resolved tickets the caller may see, ranked by BM25 against the ticket's subject and latest customer messages. Requires a Service Seat (HD-04): 403 without one.",
    params(("ticketId" = String, Path)),
    responses((status = 200, description = "the suggestions, best first", body = SuggestionsOut)),
)]
async fn suggestions(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(ticket_id): Path<String>,
) -> Result<Json<SuggestionsOut>, ApiError> {
    let id = TicketId(parse_id("ticket", &ticket_id)?);
    let items = s.app.reply_suggestions(&actor, id).await?;
    Ok(Json(SuggestionsOut {
        results: items
            .into_iter()
            .map(|i| SuggestionOut {
                kind: i.kind.as_str().to_string(),
                id: i.id.to_string(),
                title: i.title,
                body: i.body_html,
                ticket_id: i.ticket.map(|t| t.0.to_string()),
                score: i.score,
            })
            .collect(),
    }))
}
