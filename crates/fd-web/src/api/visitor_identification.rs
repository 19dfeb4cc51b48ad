//! HubSpot's visitor identification (`POST /visitor-identification/v3/tokens/create`): a
//! site that knows its signed-in visitor asks for a token and hands it, with the address, to
//! the chat widget (`window.hsConversationsSettings`), so the chat is that contact's.
//! HubSpot's 12.x clients never send `hsCustomerAgentContext`, so it is not required.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Auth, Body};
use crate::{ApiError, WebState};

pub(super) fn routes() -> OpenApiRouter<WebState> {
    OpenApiRouter::new().routes(routes!(create_token))
}

#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenRequest {
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct TokenResponse {
    token: String,
}

#[utoipa::path(
    post,
    path = "/visitor-identification/v3/tokens/create",
    operation_id = "createVisitorIdentificationToken",
    tag = "visitor_identification",
    summary = "A token that identifies a chat visitor as the contact with this email (12 hours)",
    request_body = TokenRequest,
    responses((status = 200, description = "success", body = TokenResponse)),
)]
async fn create_token(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Body(req): Body<TokenRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let email = req.email.unwrap_or_default();
    let token = s
        .app
        .create_visitor_token(
            &actor,
            &email,
            req.first_name.as_deref(),
            req.last_name.as_deref(),
        )
        .await?;
    Ok(Json(TokenResponse { token }))
}
