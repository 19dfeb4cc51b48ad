//! Conversations v3 (`/conversations/v3/conversations`): inboxes, channels, channel
//! accounts, threads (list, get, PATCH status or restore, DELETE to trash), messages (list,
//! get, send MESSAGE or COMMENT) and actors. Closing a thread leaves its ticket open
//! (INB-12); trashing one trashes its ticket (INB-13) — the use cases decide.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fd_app::domain::entities::{Comment, Conversation, Message, Recipients};
use fd_app::domain::property::parse_time;
use fd_app::domain::*;
use fd_app::{App, ChannelAccount, Reply, ThreadItem, channel_by_id, channel_id, channel_name};
use fd_app::{ThreadQuery, ThreadSort};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{
    Auth, BatchResponse, Body, Paging, Params, Time, batch_response, check_batch_size, parse_id,
    scalar_string,
};
use crate::{ApiError, WebState};

pub(super) fn routes() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(inboxes))
        .routes(routes!(inbox))
        .routes(routes!(channels))
        .routes(routes!(channel))
        .routes(routes!(accounts))
        .routes(routes!(account))
        .routes(routes!(threads))
        .routes(routes!(thread, update_thread, trash_thread))
        .routes(routes!(messages, send))
        .routes(routes!(message))
        .routes(routes!(original_content))
        .routes(routes!(actor))
        .routes(routes!(actors_batch))
}

/// The two workspaces as inboxes.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Inbox {
    id: String,
    name: String,
    #[serde(rename = "type")]
    kind: InboxType,
    created_at: Time,
    updated_at: Time,
    archived: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum InboxType {
    Inbox,
    HelpDesk,
}

#[derive(Serialize, ToSchema)]
struct Inboxes {
    total: usize,
    results: Vec<Inbox>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = Channel)]
struct ChannelOut {
    id: String,
    name: String,
}

#[derive(Serialize, ToSchema)]
struct Channels {
    total: usize,
    results: Vec<ChannelOut>,
}

/// An email address as HubSpot identifies a mailbox.
#[derive(Serialize, ToSchema)]
struct DeliveryIdentifier {
    /// always `HS_EMAIL_ADDRESS`
    #[serde(rename = "type")]
    kind: &'static str,
    value: String,
}

fn identifier(addr: &str) -> DeliveryIdentifier {
    DeliveryIdentifier {
        kind: "HS_EMAIL_ADDRESS",
        value: addr.to_string(),
    }
}

/// A channel account: a team address, or a non-email channel of a workspace.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ChannelAccount)]
struct AccountOut {
    id: String,
    channel_id: String,
    inbox_id: String,
    name: String,
    active: bool,
    authorized: bool,
    archived: bool,
    created_at: Time,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    delivery_identifier: Option<DeliveryIdentifier>,
}

#[derive(Serialize, ToSchema)]
struct ChannelAccounts {
    total: usize,
    results: Vec<AccountOut>,
}

/// A conversation as a thread.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct Thread {
    id: String,
    inbox_id: String,
    status: ThreadStatus,
    spam: bool,
    archived: bool,
    created_at: Time,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    closed_at: Option<Time>,
    /// `0` while the visitor is not identified
    associated_contact_id: String,
    /// `A-{userId}` of the owner
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    assigned_to: Option<String>,
    original_channel_id: String,
    original_channel_account_id: String,
    latest_message_timestamp: Time,
    /// With `association=TICKET`, when the thread has a ticket.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    thread_associations: Option<ThreadAssociations>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
enum ThreadStatus {
    Open,
    Closed,
}

impl From<ConversationStatus> for ThreadStatus {
    fn from(s: ConversationStatus) -> Self {
        match s {
            ConversationStatus::Open => ThreadStatus::Open,
            ConversationStatus::Closed => ThreadStatus::Closed,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ThreadAssociations {
    associated_ticket_id: String,
}

#[derive(Serialize, ToSchema)]
struct Threads {
    results: Vec<Thread>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    paging: Option<Paging>,
}

/// A message, or an agent's comment (`type` `COMMENT`, id `comment-{id}`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Message)]
struct MessageOut {
    #[serde(rename = "type")]
    kind: MessageType,
    id: String,
    conversations_thread_id: String,
    created_at: Time,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    updated_at: Option<Time>,
    /// `A-{userId}`, `V-{contactId}` or `S-frontdesk`
    created_by: String,
    client: Client,
    senders: Vec<Sender>,
    recipients: Vec<Recipient>,
    text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    rich_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    subject: Option<String>,
    attachments: Vec<Attachment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    direction: Option<MessageDirection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    truncation_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    channel_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    channel_account_id: Option<String>,
    archived: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    in_reply_to_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    status: Option<MessageStatus>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
enum MessageType {
    Message,
    Comment,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
enum MessageDirection {
    Incoming,
    Outgoing,
}

impl From<Direction> for MessageDirection {
    fn from(d: Direction) -> Self {
        match d {
            Direction::Inbound => MessageDirection::Incoming,
            Direction::Outbound => MessageDirection::Outgoing,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Client {
    /// `HUBSPOT` (an agent) or `SYSTEM`
    client_type: &'static str,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Sender {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    actor_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    name: Option<String>,
    /// `FROM` on messages
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    sender_field: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    delivery_identifier: Option<DeliveryIdentifier>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Recipient {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    actor_id: Option<String>,
    /// `TO`, `CC` or `BCC`
    recipient_field: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    delivery_identifier: Option<DeliveryIdentifier>,
}

/// A file attached to a received message.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Attachment {
    /// always `FILE`
    #[serde(rename = "type")]
    kind: &'static str,
    name: String,
    content_type: String,
    size: i64,
    /// Download address (bearer token or signed-in session)
    url: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct MessageStatus {
    /// `RECEIVED`, `QUEUED`, `SENT`, `FAILED` or `NOT_SENT`
    status_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    failure_details: Option<FailureDetails>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct FailureDetails {
    error_message: String,
}

#[derive(Serialize, ToSchema)]
struct Messages {
    results: Vec<MessageOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    paging: Option<Paging>,
}

/// A message's whole text.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct OriginalContent {
    text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    rich_text: Option<String>,
}

/// An agent (`A-{userId}`) or a visitor (`V-{contactId}`).
#[derive(Serialize, ToSchema)]
struct Actor {
    #[serde(rename = "type")]
    kind: ActorType,
    id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    email: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
enum ActorType {
    Agent,
    Visitor,
}

fn inbox_out(w: Workspace, installed: i64) -> Inbox {
    let (name, kind) = match w {
        Workspace::Inbox => ("Inbox", InboxType::Inbox),
        Workspace::HelpDesk => ("Help Desk", InboxType::HelpDesk),
    };
    Inbox {
        id: fd_app::inbox_id(w).to_string(),
        name: name.to_string(),
        kind,
        created_at: Time::at(installed),
        updated_at: Time::at(installed),
        archived: false,
    }
}

#[utoipa::path(
    get,
    path = "/conversations/v3/conversations/inboxes",
    operation_id = "listInboxes",
    tag = "conversations",
    summary = "Inboxes (the inbox and the help desk)",
    responses((status = 200, description = "success", body = Inboxes)),
)]
async fn inboxes(State(s): State<WebState>, Auth(_a): Auth) -> Result<Json<Inboxes>, ApiError> {
    let installed = s.app.installed_at().await?;
    let results: Vec<Inbox> = [Workspace::Inbox, Workspace::HelpDesk]
        .into_iter()
        .map(|w| inbox_out(w, installed))
        .collect();
    Ok(Json(Inboxes {
        total: results.len(),
        results,
    }))
}

#[utoipa::path(
    get,
    path = "/conversations/v3/conversations/inboxes/{inboxId}",
    operation_id = "getInbox",
    tag = "conversations",
    summary = "An inbox",
    params(("inboxId" = String, Path, pattern = "^[0-9]{1,12}$")),
    responses((status = 200, description = "success", body = Inbox)),
)]
async fn inbox(
    State(s): State<WebState>,
    Auth(_a): Auth,
    Path(inbox_id): Path<String>,
) -> Result<Json<Inbox>, ApiError> {
    let w = fd_app::inbox_by_id(parse_id("inbox", &inbox_id)?)
        .ok_or_else(|| ApiError::not_found(format!("inbox {inbox_id} not found")))?;
    Ok(Json(inbox_out(w, s.app.installed_at().await?)))
}

fn channel_out(c: Channel) -> ChannelOut {
    ChannelOut {
        id: channel_id(c).to_string(),
        name: channel_name(c).to_string(),
    }
}

#[utoipa::path(
    get,
    path = "/conversations/v3/conversations/channels",
    operation_id = "listChannels",
    tag = "conversations",
    summary = "Channels",
    responses((status = 200, description = "success", body = Channels)),
)]
async fn channels(State(s): State<WebState>, Auth(_a): Auth) -> Result<Json<Channels>, ApiError> {
    // Only channels something is connected to (issue 14).
    let results: Vec<ChannelOut> = s
        .app
        .channels_in_use()
        .await?
        .into_iter()
        .map(channel_out)
        .collect();
    Ok(Json(Channels {
        total: results.len(),
        results,
    }))
}

#[utoipa::path(
    get,
    path = "/conversations/v3/conversations/channels/{channelId}",
    operation_id = "getChannel",
    tag = "conversations",
    summary = "A channel",
    params(("channelId" = String, Path, pattern = "^[0-9]{1,12}$")),
    responses((status = 200, description = "success", body = ChannelOut)),
)]
async fn channel(
    State(s): State<WebState>,
    Auth(_a): Auth,
    Path(id): Path<String>,
) -> Result<Json<ChannelOut>, ApiError> {
    let c = channel_by_id(parse_id("channel", &id)?)
        .ok_or_else(|| ApiError::not_found(format!("channel {id} not found")))?;
    if !s.app.channels_in_use().await?.contains(&c) {
        return Err(ApiError::not_found(format!(
            "channel {id} not found: nothing is connected to it"
        )));
    }
    Ok(Json(channel_out(c)))
}

fn account_out(a: &ChannelAccount) -> AccountOut {
    AccountOut {
        id: a.id.clone(),
        channel_id: channel_id(a.channel).to_string(),
        inbox_id: fd_app::inbox_id(a.workspace).to_string(),
        name: a.name.clone(),
        active: true,
        authorized: true,
        archived: false,
        created_at: Time::at(a.created_at),
        delivery_identifier: a.address.as_deref().map(|v| match a.channel {
            Channel::Call => DeliveryIdentifier {
                kind: "HS_PHONE_NUMBER",
                value: v.to_string(),
            },
            _ => identifier(v),
        }),
    }
}

#[utoipa::path(
    get,
    path = "/conversations/v3/conversations/channel-accounts",
    operation_id = "listChannelAccounts",
    tag = "conversations",
    summary = "Channel accounts",
    params(("channelId" = Option<Vec<String>>, Query, style = Form, explode), ("inboxId" = Option<Vec<String>>, Query, style = Form, explode)),
    responses((status = 200, description = "success", body = ChannelAccounts)),
)]
async fn accounts(
    State(s): State<WebState>,
    Auth(_a): Auth,
    params: Params,
) -> Result<Json<ChannelAccounts>, ApiError> {
    let channels = params.list("channelId");
    let inboxes = params.list("inboxId");
    let results: Vec<AccountOut> = s
        .app
        .channel_accounts()
        .await?
        .iter()
        .filter(|a| channels.is_empty() || channels.contains(&channel_id(a.channel).to_string()))
        .filter(|a| {
            inboxes.is_empty() || inboxes.contains(&fd_app::inbox_id(a.workspace).to_string())
        })
        .map(account_out)
        .collect();
    Ok(Json(ChannelAccounts {
        total: results.len(),
        results,
    }))
}

#[utoipa::path(
    get,
    path = "/conversations/v3/conversations/channel-accounts/{channelAccountId}",
    operation_id = "getChannelAccount",
    tag = "conversations",
    summary = "A channel account",
    params(("channelAccountId" = String, Path, pattern = "^[0-9]{1,12}$")),
    responses((status = 200, description = "success", body = AccountOut)),
)]
async fn account(
    State(s): State<WebState>,
    Auth(_a): Auth,
    Path(id): Path<String>,
) -> Result<Json<AccountOut>, ApiError> {
    let accounts = s.app.channel_accounts().await?;
    let a = accounts
        .iter()
        .find(|a| a.id == id)
        .ok_or_else(|| ApiError::not_found(format!("channel account {id} not found")))?;
    Ok(Json(account_out(a)))
}

pub(super) fn thread_out(
    c: &Conversation,
    accounts: &[ChannelAccount],
    with_ticket: bool,
) -> Thread {
    Thread {
        id: c.id.to_string(),
        inbox_id: fd_app::inbox_id(c.workspace).to_string(),
        status: c.status.into(),
        spam: false,
        archived: c.trashed_at.is_some(),
        created_at: Time::at(c.created_at),
        closed_at: c.closed_at.map(Time::at),
        // A thread with an unidentified visitor has no contact yet: "0".
        associated_contact_id: c
            .contact_id
            .map(|x| x.to_string())
            .unwrap_or_else(|| "0".into()),
        assigned_to: c.owner_id.map(|o| format!("A-{o}")),
        original_channel_id: channel_id(c.channel).to_string(),
        original_channel_account_id: App::channel_account_of(accounts, c),
        latest_message_timestamp: Time::at(c.last_message_at),
        thread_associations: c
            .ticket_id
            .filter(|_| with_ticket)
            .map(|t| ThreadAssociations {
                associated_ticket_id: t.to_string(),
            }),
    }
}

fn wants_ticket(params: &Params) -> bool {
    params
        .list("association")
        .iter()
        .any(|a| a.eq_ignore_ascii_case("TICKET"))
}

#[utoipa::path(
    get,
    path = "/conversations/v3/conversations/threads",
    operation_id = "listThreads",
    tag = "conversations",
    summary = "Threads",
    params(("inboxId" = Option<Vec<String>>, Query, style = Form, explode), ("associatedContactId" = Option<String>, Query, pattern = "^[0-9]{1,12}$"), ("threadStatus" = inline(Option<ThreadStatus>), Query), ("association" = Option<Vec<String>>, Query, style = Form, explode), ("latestMessageTimestampAfter" = Option<String>, Query), ("sort" = inline(Option<ThreadSortParam>), Query), ("after" = Option<String>, Query), ("limit" = Option<i64>, Query, minimum = 1, maximum = 500), ("archived" = Option<bool>, Query)),
    responses((status = 200, description = "success", body = Threads)),
)]
async fn threads(
    State(s): State<WebState>,
    Auth(actor): Auth,
    params: Params,
) -> Result<Json<Threads>, ApiError> {
    let limit = params.int("limit", 20, 1, 500)?;
    let offset = params.cursor("after")?;
    let mut workspaces = Vec::new();
    for i in params.list("inboxId") {
        let w = fd_app::domain::text::parse_id(&i)
            .and_then(fd_app::inbox_by_id)
            .ok_or_else(|| ApiError::validation(format!("inboxId {i:?} is not an inbox")))?;
        workspaces.push(w);
    }
    let status = match params.get("threadStatus") {
        None | Some("") => None,
        Some(v) => Some(
            v.to_ascii_uppercase()
                .parse::<ConversationStatus>()
                .map_err(|_| {
                    ApiError::validation(format!("threadStatus {v:?} is not OPEN or CLOSED"))
                })?,
        ),
    };
    let contact = match params.get("associatedContactId") {
        None | Some("") => None,
        Some(v) => Some(ContactId(fd_app::domain::text::parse_id(v).ok_or_else(
            || ApiError::validation(format!("associatedContactId {v:?} is not an id")),
        )?)),
    };
    let latest = match params.get("latestMessageTimestampAfter") {
        None | Some("") => None,
        Some(v) => Some(parse_time(v).ok_or_else(|| {
            ApiError::validation(format!("latestMessageTimestampAfter {v:?} is not a time"))
        })?),
    };
    let sort = match params.get("sort").map(str::trim) {
        None | Some("") | Some("id") => ThreadSort::IdAsc,
        Some("latestMessageTimestamp") => ThreadSort::LatestAsc,
        Some("-latestMessageTimestamp") => ThreadSort::LatestDesc,
        Some(other) => {
            return Err(ApiError::validation(format!(
                "sort {other:?} is not id, latestMessageTimestamp or -latestMessageTimestamp"
            )));
        }
    };
    let q = ThreadQuery {
        workspaces,
        contact,
        status,
        archived: params.bool("archived", false)?,
        latest_message_after: latest,
        sort,
        offset,
        limit: limit + 1,
    };
    let mut list = s.app.threads(&actor, &q).await?;
    let more = list.len() as i64 > limit;
    list.truncate(limit as usize);
    let accounts = s.app.channel_accounts().await?;
    let with_ticket = wants_ticket(&params);
    let results = list
        .iter()
        .map(|c| thread_out(c, &accounts, with_ticket))
        .collect();
    let paging = more.then(|| Paging::after(offset + limit));
    Ok(Json(Threads { results, paging }))
}

#[utoipa::path(
    get,
    path = "/conversations/v3/conversations/threads/{threadId}",
    operation_id = "getThread",
    tag = "conversations",
    summary = "A thread",
    params(("threadId" = String, Path, pattern = "^[0-9]{1,12}$"), ("archived" = Option<bool>, Query), ("association" = Option<Vec<String>>, Query, style = Form, explode)),
    responses((status = 200, description = "success", body = Thread)),
)]
async fn thread(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(thread_id): Path<String>,
    params: Params,
) -> Result<Json<Thread>, ApiError> {
    let id = ConversationId(parse_id("thread", &thread_id)?);
    let archived = params.bool("archived", false)?;
    let c = s.app.thread(&actor, id, archived).await?;
    let accounts = s.app.channel_accounts().await?;
    Ok(Json(thread_out(&c, &accounts, wants_ticket(&params))))
}

/// Close or reopen a thread (`status`), or move it to the trash and back (`archived`).
#[derive(Deserialize, Default, ToSchema)]
struct ThreadPatch {
    #[schema(value_type = Option<ThreadStatus>, nullable = false)]
    #[serde(default)]
    status: Option<String>,
    #[schema(nullable = false)]
    #[serde(default)]
    archived: Option<bool>,
}

#[utoipa::path(
    patch,
    path = "/conversations/v3/conversations/threads/{threadId}",
    operation_id = "updateThread",
    tag = "conversations",
    summary = "Close, reopen or restore a thread",
    params(("threadId" = String, Path, pattern = "^[0-9]{1,12}$")),
    request_body = ThreadPatch,
    responses((status = 200, description = "success", body = Thread)),
)]
async fn update_thread(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(thread_id): Path<String>,
    Body(input): Body<ThreadPatch>,
) -> Result<Json<Thread>, ApiError> {
    let id = ConversationId(parse_id("thread", &thread_id)?);
    let status = match input.status.as_deref() {
        None => None,
        Some(v) => Some(
            v.to_ascii_uppercase()
                .parse::<ConversationStatus>()
                .map_err(|_| ApiError::validation(format!("status {v:?} is not OPEN or CLOSED")))?,
        ),
    };
    let current = s.app.conversation(&actor, id).await?;
    let trashed = current.trashed_at.is_some();
    match input.archived {
        Some(false) if trashed => {
            s.app.restore_conversation(&actor, id).await?;
        }
        Some(true) if !trashed => {
            if status.is_some() {
                return Err(ApiError::validation(
                    "status cannot change while the thread is archived",
                ));
            }
            s.app.trash_conversation(&actor, id).await?;
        }
        _ => {}
    }
    let now_trashed = s.app.conversation(&actor, id).await?.trashed_at.is_some();
    match status {
        Some(_) if now_trashed => {
            return Err(ApiError::validation(
                "status cannot change while the thread is archived; restore it with {\"archived\": false} first",
            ));
        }
        Some(ConversationStatus::Closed) => {
            s.app.close_conversation(&actor, id).await?;
        }
        Some(ConversationStatus::Open) => {
            s.app.reopen_conversation(&actor, id).await?;
        }
        None => {}
    }
    let c = s.app.conversation(&actor, id).await?;
    let accounts = s.app.channel_accounts().await?;
    Ok(Json(thread_out(&c, &accounts, true)))
}

#[utoipa::path(
    delete,
    path = "/conversations/v3/conversations/threads/{threadId}",
    operation_id = "archiveThread",
    tag = "conversations",
    summary = "Move a thread (and its ticket) to the trash",
    params(("threadId" = String, Path, pattern = "^[0-9]{1,12}$")),
    responses((status = 204, description = "no content")),
)]
async fn trash_thread(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(thread_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = ConversationId(parse_id("thread", &thread_id)?);
    s.app.trash_conversation(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn status_out(m: &Message) -> MessageStatus {
    use fd_app::domain::DeliveryStatus as D;
    let t = match m.status {
        D::Received => "RECEIVED",
        D::Queued => "QUEUED",
        D::Sent => "SENT",
        D::Failed => "FAILED",
        D::NotSent => "NOT_SENT",
    };
    MessageStatus {
        status_type: t,
        failure_details: m.status_detail.as_ref().map(|d| FailureDetails {
            error_message: d.clone(),
        }),
    }
}

fn message_out(m: &Message, c: &Conversation, accounts: &[ChannelAccount]) -> MessageOut {
    let visitor = c.contact_id.map(|id| format!("V-{id}"));
    let created_by = match (m.direction, m.sender_user_id) {
        (Direction::Outbound, Some(u)) => format!("A-{u}"),
        (Direction::Inbound, _) => visitor.clone().unwrap_or_else(|| "S-frontdesk".into()),
        _ => "S-frontdesk".into(),
    };
    let sender = Sender {
        actor_id: (!created_by.starts_with("S-")).then(|| created_by.clone()),
        name: m.sender_name.clone(),
        sender_field: Some("FROM"),
        delivery_identifier: m.sender_address.as_deref().map(identifier),
    };
    let mut recipients = Vec::new();
    for (field, list) in [
        ("TO", &m.recipients.to),
        ("CC", &m.recipients.cc),
        ("BCC", &m.recipients.bcc),
    ] {
        for addr in list {
            recipients.push(Recipient {
                actor_id: None,
                recipient_field: field,
                delivery_identifier: Some(identifier(addr)),
            });
        }
    }
    if recipients.is_empty()
        && m.direction == Direction::Outbound
        && let Some(v) = &visitor
    {
        recipients.push(Recipient {
            actor_id: Some(v.clone()),
            recipient_field: "TO",
            delivery_identifier: None,
        });
    }
    let attachments = m
        .attachments
        .iter()
        .enumerate()
        .map(|(i, a)| Attachment {
            kind: "FILE",
            name: a.filename.clone(),
            content_type: a.content_type.clone(),
            size: a.size,
            url: crate::attachments::attachment_href(m.id, i),
        })
        .collect();
    MessageOut {
        kind: MessageType::Message,
        id: m.id.to_string(),
        conversations_thread_id: c.id.to_string(),
        created_at: Time::at(m.created_at),
        updated_at: Some(Time::at(m.created_at)),
        created_by,
        client: Client {
            client_type: if m.sender_user_id.is_some() {
                "HUBSPOT"
            } else {
                "SYSTEM"
            },
        },
        senders: vec![sender],
        recipients,
        text: m.text.clone(),
        rich_text: m.html.clone(),
        subject: m.subject.clone(),
        attachments,
        direction: Some(m.direction.into()),
        truncation_status: Some("NOT_TRUNCATED".into()),
        channel_id: Some(channel_id(c.channel).to_string()),
        channel_account_id: Some(App::channel_account_of(accounts, c)),
        archived: false,
        in_reply_to_id: m.reply_to_message_id.map(|r| r.to_string()),
        status: Some(status_out(m)),
    }
}

const COMMENT_PREFIX: &str = "comment-";

fn comment_out(cm: &Comment, c: &Conversation, author_name: Option<&str>) -> MessageOut {
    let by = cm
        .author_id
        .map(|a| format!("A-{a}"))
        .unwrap_or_else(|| "S-frontdesk".into());
    let sender = Sender {
        actor_id: Some(by.clone()),
        name: author_name.map(str::to_string),
        sender_field: None,
        delivery_identifier: None,
    };
    MessageOut {
        kind: MessageType::Comment,
        id: format!("{COMMENT_PREFIX}{}", cm.id),
        conversations_thread_id: c.id.to_string(),
        created_at: Time::at(cm.created_at),
        updated_at: None,
        created_by: by,
        client: Client {
            client_type: "HUBSPOT",
        },
        senders: vec![sender],
        recipients: Vec::new(),
        text: cm.body.clone(),
        rich_text: Some(format!("<p>{}</p>", html_escape(&cm.body))),
        subject: None,
        attachments: Vec::new(),
        direction: None,
        truncation_status: None,
        channel_id: None,
        channel_account_id: None,
        archived: false,
        in_reply_to_id: None,
        status: None,
    }
}

async fn item_out(
    app: &App,
    item: &ThreadItem,
    c: &Conversation,
    accounts: &[ChannelAccount],
) -> Result<MessageOut, ApiError> {
    Ok(match item {
        ThreadItem::Message(m) => message_out(m, c, accounts),
        ThreadItem::Comment(cm) => {
            let name = match cm.author_id {
                Some(a) => app.user_actor(a).await.ok().map(|u| u.name),
                None => None,
            };
            comment_out(cm, c, name.as_deref())
        }
    })
}

#[utoipa::path(
    get,
    path = "/conversations/v3/conversations/threads/{threadId}/messages",
    operation_id = "listMessages",
    tag = "conversations",
    summary = "A thread's messages and comments",
    params(("threadId" = String, Path, pattern = "^[0-9]{1,12}$"), ("after" = Option<String>, Query), ("limit" = Option<i64>, Query, minimum = 1, maximum = 500), ("sort" = inline(Option<MessageSortParam>), Query), ("archived" = Option<bool>, Query)),
    responses((status = 200, description = "success", body = Messages)),
)]
async fn messages(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(thread_id): Path<String>,
    params: Params,
) -> Result<Json<Messages>, ApiError> {
    let id = ConversationId(parse_id("thread", &thread_id)?);
    let limit = params.int("limit", 20, 1, 500)?;
    let offset = params.cursor("after")?;
    let newest_first = match params.get("sort").map(str::trim) {
        None | Some("") | Some("-createdAt") => true,
        Some("createdAt") => false,
        Some(other) => {
            return Err(ApiError::validation(format!(
                "sort {other:?} is not createdAt or -createdAt"
            )));
        }
    };
    let c = s.app.conversation(&actor, id).await?;
    let mut items = s.app.thread_items(&actor, id).await?;
    if newest_first {
        items.reverse();
    }
    let accounts = s.app.channel_accounts().await?;
    let total = items.len() as i64;
    let mut results = Vec::new();
    for item in items.iter().skip(offset as usize).take(limit as usize) {
        results.push(item_out(&s.app, item, &c, &accounts).await?);
    }
    let paging = (offset + limit < total).then(|| Paging::after(offset + limit));
    Ok(Json(Messages { results, paging }))
}

async fn find_item(
    s: &WebState,
    actor: &fd_app::Actor,
    thread_id: &str,
    message_id: &str,
) -> Result<(Conversation, ThreadItem), ApiError> {
    let id = ConversationId(parse_id("thread", thread_id)?);
    let c = s.app.conversation(actor, id).await?;
    let items = s.app.thread_items(actor, id).await?;
    let found = items.into_iter().find(|i| match i {
        ThreadItem::Message(m) => m.id.to_string() == message_id,
        ThreadItem::Comment(cm) => format!("{COMMENT_PREFIX}{}", cm.id) == message_id,
    });
    let item = found.ok_or_else(|| {
        ApiError::not_found(format!(
            "message {message_id} not found in thread {thread_id}"
        ))
    })?;
    Ok((c, item))
}

#[utoipa::path(
    get,
    path = "/conversations/v3/conversations/threads/{threadId}/messages/{messageId}",
    operation_id = "getMessage",
    tag = "conversations",
    summary = "One message or comment",
    params(("threadId" = String, Path, pattern = "^[0-9]{1,12}$"), ("messageId" = String, Path)),
    responses((status = 200, description = "success", body = MessageOut)),
)]
async fn message(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((thread_id, message_id)): Path<(String, String)>,
) -> Result<Json<MessageOut>, ApiError> {
    let (c, item) = find_item(&s, &actor, &thread_id, &message_id).await?;
    let accounts = s.app.channel_accounts().await?;
    Ok(Json(item_out(&s.app, &item, &c, &accounts).await?))
}

#[utoipa::path(
    get,
    path = "/conversations/v3/conversations/threads/{threadId}/messages/{messageId}/original-content",
    operation_id = "getOriginalContent",
    tag = "conversations",
    summary = "A message's full text",
    params(("threadId" = String, Path, pattern = "^[0-9]{1,12}$"), ("messageId" = String, Path)),
    responses((status = 200, description = "success", body = OriginalContent)),
)]
async fn original_content(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((thread_id, message_id)): Path<(String, String)>,
) -> Result<Json<OriginalContent>, ApiError> {
    let (_, item) = find_item(&s, &actor, &thread_id, &message_id).await?;
    Ok(Json(match item {
        ThreadItem::Message(m) => OriginalContent {
            text: m.text,
            rich_text: m.html,
        },
        ThreadItem::Comment(cm) => OriginalContent {
            rich_text: Some(format!("<p>{}</p>", html_escape(&cm.body))),
            text: cm.body,
        },
    }))
}

/// An address as a request gives it (`type` `HS_EMAIL_ADDRESS`).
#[derive(Deserialize, Default, Clone, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DeliveryIn {
    #[serde(rename = "type")]
    #[schema(required = true, nullable = false)]
    #[serde(default)]
    kind: Option<String>,
    #[schema(required = true, nullable = false)]
    #[serde(default)]
    value: Option<String>,
}

/// A recipient: a visitor actor (`V-{contactId}`) or addresses.
#[derive(Deserialize, Default, Clone, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RecipientIn {
    #[schema(nullable = false)]
    #[serde(default)]
    actor_id: Option<String>,
    #[schema(inline)]
    #[serde(default)]
    delivery_identifiers: Vec<DeliveryIn>,
    #[schema(nullable = false, inline)]
    #[serde(default)]
    delivery_identifier: Option<DeliveryIn>,
    #[allow(dead_code)]
    #[schema(nullable = false)]
    #[serde(default)]
    name: Option<String>,
    /// `TO`, `CC` or `BCC`
    #[schema(nullable = false)]
    #[serde(default)]
    recipient_field: Option<String>,
}

/// A MESSAGE to send from the token's own agent (`senderActorId` `A-{userId}`), or a
/// COMMENT to post.
#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SendMessage)]
struct SendIn {
    #[serde(rename = "type")]
    #[schema(value_type = Option<MessageType>, required = true, nullable = false)]
    #[serde(default)]
    kind: Option<String>,
    #[schema(required = true, nullable = false)]
    #[serde(default)]
    text: Option<String>,
    #[schema(nullable = false)]
    #[serde(default)]
    rich_text: Option<String>,
    #[allow(dead_code)]
    #[schema(nullable = false)]
    #[serde(default)]
    subject: Option<String>,
    #[schema(nullable = false)]
    #[serde(default)]
    sender_actor_id: Option<String>,
    #[schema(value_type = Option<String>, nullable = false)]
    #[serde(default)]
    channel_id: Option<Value>,
    #[schema(value_type = Option<String>, nullable = false)]
    #[serde(default)]
    channel_account_id: Option<Value>,
    #[schema(inline)]
    #[serde(default)]
    recipients: Vec<RecipientIn>,
    /// Files to send with a MESSAGE: `{"type": "FILE", "fileId": "…"}` of files uploaded
    /// through `POST /files/v3/files` by this token's user and not sent yet (comments take none)
    #[schema(inline)]
    #[serde(default)]
    attachments: Vec<AttachmentIn>,
}

/// A file to send (`type` FILE, the id from the Files API).
#[derive(Deserialize, Default, Clone, ToSchema)]
#[serde(rename_all = "camelCase")]
struct AttachmentIn {
    /// `FILE`
    #[serde(rename = "type")]
    #[serde(default)]
    kind: Option<String>,
    #[schema(value_type = String)]
    #[serde(default)]
    file_id: Option<Value>,
}

#[utoipa::path(
    post,
    path = "/conversations/v3/conversations/threads/{threadId}/messages",
    operation_id = "sendMessage",
    tag = "conversations",
    summary = "Send a MESSAGE or post a COMMENT",
    params(("threadId" = String, Path, pattern = "^[0-9]{1,12}$")),
    request_body = SendIn,
    responses((status = 201, description = "success", body = MessageOut)),
)]
async fn send(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(thread_id): Path<String>,
    Body(input): Body<SendIn>,
) -> Result<(StatusCode, Json<MessageOut>), ApiError> {
    let id = ConversationId(parse_id("thread", &thread_id)?);
    let text = input
        .text
        .clone()
        .ok_or_else(|| ApiError::validation("Missing required field: text"))?;
    let mut files = Vec::new();
    for (i, a) in input.attachments.iter().enumerate() {
        if !a
            .kind
            .as_deref()
            .is_some_and(|k| k.eq_ignore_ascii_case("FILE"))
        {
            return Err(ApiError::validation(format!(
                "attachments[{i}].type must be FILE"
            )));
        }
        let raw = a.file_id.as_ref().and_then(scalar_string).ok_or_else(|| {
            ApiError::validation(format!("Missing required field: attachments[{i}].fileId"))
        })?;
        let id = fd_app::domain::text::parse_id(&raw).ok_or_else(|| {
            ApiError::validation(format!("attachments[{i}].fileId {raw:?} is not a file id"))
        })?;
        files.push(id);
    }
    let kind = input
        .kind
        .as_deref()
        .unwrap_or("MESSAGE")
        .to_ascii_uppercase();
    let c = s.app.conversation(&actor, id).await?;
    if c.trashed_at.is_some() {
        return Err(ApiError::not_found(format!("thread {id} not found")));
    }
    if kind == "COMMENT" {
        if !files.is_empty() {
            return Err(ApiError::validation(
                "a COMMENT takes no attachments: send them with a MESSAGE",
            ));
        }
        let cm = s.app.comment(&actor, None, Some(id), &text).await?;
        let name = match cm.author_id {
            Some(a) => s.app.user_actor(a).await.ok().map(|u| u.name),
            None => None,
        };
        return Ok((
            StatusCode::CREATED,
            Json(comment_out(&cm, &c, name.as_deref())),
        ));
    }
    if kind != "MESSAGE" {
        return Err(ApiError::validation(format!(
            "type {kind:?} is not MESSAGE or COMMENT"
        )));
    }
    let me = actor
        .user_id()
        .ok_or_else(|| ApiError::validation("senderActorId: the token has no user"))?;
    let sender = input
        .sender_actor_id
        .as_deref()
        .ok_or_else(|| ApiError::validation("Missing required field: senderActorId"))?;
    if sender != format!("A-{me}") {
        return Err(ApiError::validation(format!(
            "senderActorId {sender:?} must be the token's own agent actor A-{me}"
        ))
        .with_context(json!({"subCategory": ["ConversationsApiError.UNSUPPORTED_ACTOR_TYPE"]})));
    }
    let channel = input
        .channel_id
        .as_ref()
        .and_then(scalar_string)
        .ok_or_else(|| ApiError::validation("Missing required field: channelId"))?;
    if channel.trim() != channel_id(c.channel).to_string() {
        return Err(ApiError::validation(format!(
            "channelId {channel} is not this thread's channel ({})",
            channel_id(c.channel)
        )));
    }
    let accounts = s.app.channel_accounts().await?;
    let from_address = match input.channel_account_id.as_ref().and_then(scalar_string) {
        Some(a) => {
            let acct = accounts.iter().find(|x| x.id == a.trim()).ok_or_else(|| {
                ApiError::validation(format!("channelAccountId {a} is not a channel account"))
            })?;
            acct.address.clone()
        }
        None => {
            return Err(ApiError::validation(
                "Missing required field: channelAccountId",
            ));
        }
    };
    let mut recipients = Recipients::default();
    for r in &input.recipients {
        let field = r
            .recipient_field
            .as_deref()
            .unwrap_or("TO")
            .to_ascii_uppercase();
        let mut addresses: Vec<String> = r
            .delivery_identifiers
            .iter()
            .chain(r.delivery_identifier.iter())
            .filter(|d| {
                d.kind
                    .as_deref()
                    .is_none_or(|k| k.eq_ignore_ascii_case("HS_EMAIL_ADDRESS"))
            })
            .filter_map(|d| d.value.clone())
            .collect();
        if let Some(a) = &r.actor_id {
            if a.starts_with("A-") {
                return Err(ApiError::validation(format!(
                    "recipient {a}: agents cannot be recipients"
                ))
                .with_context(
                    json!({"subCategory": ["ConversationsApiError.UNSUPPORTED_ACTOR_TYPE"]}),
                ));
            }
            if let Some(cid) = a.strip_prefix("V-") {
                let contact = s
                    .app
                    .contact_actor(ContactId(parse_id("actor", cid)?))
                    .await?;
                addresses.extend(contact.email);
            }
        }
        let list = match field.as_str() {
            "TO" => &mut recipients.to,
            "CC" => &mut recipients.cc,
            "BCC" => &mut recipients.bcc,
            other => {
                return Err(ApiError::validation(format!(
                    "recipientField {other:?} is not TO, CC or BCC"
                )));
            }
        };
        list.extend(addresses);
    }
    let m = s
        .app
        .send_reply(
            &actor,
            id,
            Reply {
                text,
                html: input.rich_text.clone(),
                recipients,
                from_address,
                attachments: files,
                ..Reply::default()
            },
        )
        .await
        .map_err(super::files::upload_error)?;
    let c = s.app.conversation(&actor, id).await?;
    Ok((StatusCode::CREATED, Json(message_out(&m, &c, &accounts))))
}

async fn actor_out(app: &App, raw: &str) -> Result<Actor, ApiError> {
    let not_found = || ApiError::not_found(format!("actor {raw} not found"));
    if let Some(id) = raw.strip_prefix("A-") {
        let u = app
            .user_actor(UserId(parse_id("actor", id)?))
            .await
            .map_err(|_| not_found())?;
        return Ok(Actor {
            kind: ActorType::Agent,
            id: raw.to_string(),
            name: u.name,
            email: Some(u.email),
        });
    }
    if let Some(id) = raw.strip_prefix("V-") {
        let c = app
            .contact_actor(ContactId(parse_id("actor", id)?))
            .await
            .map_err(|_| not_found())?;
        return Ok(Actor {
            kind: ActorType::Visitor,
            id: raw.to_string(),
            name: c.display_name(),
            email: c.email.clone(),
        });
    }
    Err(not_found())
}

#[utoipa::path(
    get,
    path = "/conversations/v3/conversations/actors/{actorId}",
    operation_id = "getActor",
    tag = "conversations",
    summary = "An agent (A-id) or visitor (V-id)",
    params(("actorId" = String, Path)),
    responses((status = 200, description = "success", body = Actor)),
)]
async fn actor(
    State(s): State<WebState>,
    Auth(_a): Auth,
    Path(actor_id): Path<String>,
) -> Result<Json<Actor>, ApiError> {
    Ok(Json(actor_out(&s.app, actor_id.trim()).await?))
}

/// Actor ids to read.
#[derive(Deserialize, Default, ToSchema)]
#[schema(as = ActorsRead)]
struct ActorsIn {
    /// at most 100 inputs
    #[schema(required = true)]
    #[serde(default)]
    inputs: Vec<String>,
}

#[utoipa::path(
    post,
    path = "/conversations/v3/conversations/actors/batch/read",
    operation_id = "batchReadActors",
    tag = "conversations",
    summary = "Several actors",
    request_body = ActorsIn,
    responses((status = 200, description = "success", body = BatchResponse<Actor>), (status = 207, description = "some inputs failed", body = BatchResponse<Actor>)),
)]
async fn actors_batch(
    State(s): State<WebState>,
    Auth(_a): Auth,
    Body(input): Body<ActorsIn>,
) -> Result<Response, ApiError> {
    check_batch_size(input.inputs.len())?;
    let started = s.app.now();
    let mut results = Vec::new();
    let mut missing = Vec::new();
    for a in &input.inputs {
        match actor_out(&s.app, a.trim()).await {
            Ok(v) => results.push(v),
            Err(_) => missing.push(a.clone()),
        }
    }
    let errors = if missing.is_empty() {
        Vec::new()
    } else {
        vec![
            ApiError::not_found("Some actors were not found").with_context(json!({"ids": missing})),
        ]
    };
    Ok(batch_response(started, s.app.now(), results, errors, StatusCode::OK).into_response())
}

/// The `sort` values of `listThreads`.
#[derive(ToSchema)]
#[allow(dead_code)] // a parameter's description: `threads` matches the text
enum ThreadSortParam {
    #[schema(rename = "id")]
    Id,
    #[schema(rename = "latestMessageTimestamp")]
    LatestAscending,
    #[schema(rename = "-latestMessageTimestamp")]
    LatestDescending,
}

/// The `sort` values of `listMessages`.
#[derive(ToSchema)]
#[allow(dead_code)] // a parameter's description: `messages` matches the text
enum MessageSortParam {
    #[schema(rename = "createdAt")]
    Oldest,
    #[schema(rename = "-createdAt")]
    Newest,
}
