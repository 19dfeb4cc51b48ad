//! The calling channel's webhook: a telephony provider posts call events (ringing, answered,
//! completed, missed) signed with the channel's secret. No bearer token: the signature is
//! the authentication, checked by `App::receive_call_event` against the raw body.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use fd_app::{CallEvent, CallEventOutcome};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::{ApiError, WebState};

/// The header carrying the signed time (epoch milliseconds).
pub(crate) const TIMESTAMP_HEADER: &str = "x-frontdesk-timestamp";
/// The header carrying hex(HMAC-SHA256(secret, timestamp + raw body)).
pub(crate) const SIGNATURE_HEADER: &str = "x-frontdesk-signature";

pub(super) fn routes() -> OpenApiRouter<WebState> {
    OpenApiRouter::new().routes(routes!(receive))
}

/// One provider event about a call.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CallEventIn {
    /// Unique per event; a replay of an id already applied is ignored.
    event_id: String,
    /// The provider's id of the call, the same on every event of it.
    call_id: String,
    /// `ringing`, `answered`, `completed` or `missed`.
    #[serde(rename = "type")]
    kind: String,
    /// `INBOUND` (default) or `OUTBOUND`.
    #[serde(default)]
    #[schema(nullable = false)]
    direction: Option<String>,
    /// The caller's number (E.164).
    from: String,
    /// The called number: a calling channel's number for inbound calls.
    to: String,
    #[serde(default)]
    #[schema(nullable = false)]
    duration_ms: Option<i64>,
    #[serde(default)]
    #[schema(nullable = false)]
    recording_url: Option<String>,
    /// Epoch milliseconds; the signed timestamp when absent.
    #[serde(default)]
    #[schema(nullable = false)]
    occurred_at: Option<i64>,
}

/// What became of the event.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CallEventAnswer {
    /// `applied` or `ignored` (a replay).
    status: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    conversation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    ticket_id: Option<String>,
    /// The call engagement (`/crm/v3/objects/calls/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    call_id: Option<String>,
}

#[utoipa::path(
    post,
    path = "/calling/v1/events",
    operation_id = "receiveCallEvent",
    tag = "calling",
    summary = "A telephony provider's call event, signed with the calling channel's secret",
    description = "Headers: `X-Frontdesk-Timestamp` (epoch milliseconds, within 5 minutes of the \
        server's clock) and `X-Frontdesk-Signature`: lower-case hex of HMAC-SHA256 keyed with \
        the secret `frontdesk admin connect-calling` printed, over the timestamp's digits \
        followed by the raw body. An inbound call on a help-desk number opens a CALL \
        conversation and a ticket; later events of the call update its call engagement.",
    security(()),
    request_body = CallEventIn,
    responses(
        (status = 200, description = "applied, or ignored as a replay", body = CallEventAnswer),
        (status = 400, description = "malformed event"),
        (status = 401, description = "unsigned, badly signed, stale or for an unknown number"),
    ),
)]
async fn receive(
    State(s): State<WebState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<CallEventAnswer>), ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let input: CallEventIn = serde_json::from_slice(&body)
        .map_err(|e| ApiError::validation(format!("the body is not a call event: {e}")))?;
    let event = CallEvent {
        event_id: input.event_id,
        call_id: input.call_id,
        kind: input.kind,
        direction: input.direction,
        from: input.from,
        to: input.to,
        duration_ms: input.duration_ms,
        recording_url: input.recording_url,
        occurred_at: input.occurred_at,
    };
    let outcome = s
        .app
        .receive_call_event(
            &body,
            header(TIMESTAMP_HEADER),
            header(SIGNATURE_HEADER),
            event,
        )
        .await?;
    match outcome {
        CallEventOutcome::Applied {
            conversation,
            ticket,
            call,
            created,
        } => Ok((
            StatusCode::OK,
            Json(CallEventAnswer {
                status: "applied",
                message: if created {
                    "the call opened a conversation".into()
                } else {
                    "the call was updated".into()
                },
                conversation_id: Some(conversation.to_string()),
                ticket_id: ticket.map(|t| t.to_string()),
                call_id: Some(call.to_string()),
            }),
        )),
        CallEventOutcome::Duplicate => Ok((
            StatusCode::OK,
            Json(CallEventAnswer {
                status: "ignored",
                message: "this event id was already applied; nothing changed".into(),
                conversation_id: None,
                ticket_id: None,
                call_id: None,
            }),
        )),
        CallEventOutcome::Refused(reason) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_AUTHENTICATION",
            reason,
        )),
    }
}
