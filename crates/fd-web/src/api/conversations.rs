//! Conversations v3 (`/conversations/v3/conversations`): inboxes, channels, channel
//! accounts, threads (list, get, PATCH status or restore, DELETE to trash), messages (list,
//! get, send MESSAGE or COMMENT) and actors. Closing a thread leaves its ticket open
//! (INB-12); trashing one trashes its ticket (INB-13) — the use cases decide.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use fd_app::domain::entities::{Comment, Conversation, Message, Recipients};
use fd_app::domain::property::parse_time;
use fd_app::domain::*;
use fd_app::{App, ChannelAccount, Reply, ThreadItem, channel_by_id, channel_id, channel_name};
use fd_app::{ThreadQuery, ThreadSort};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Auth, Body, Params, batch_response, check_batch_size, parse_id, scalar_string, time};
use crate::{ApiError, WebState};

const BASE: &str = "/conversations/v3/conversations";

pub(super) fn routes() -> Router<WebState> {
    Router::new()
        .route(&format!("{BASE}/inboxes"), get(inboxes))
        .route(&format!("{BASE}/inboxes/{{inbox_id}}"), get(inbox))
        .route(&format!("{BASE}/channels"), get(channels))
        .route(&format!("{BASE}/channels/{{channel_id}}"), get(channel))
        .route(&format!("{BASE}/channel-accounts"), get(accounts))
        .route(
            &format!("{BASE}/channel-accounts/{{account_id}}"),
            get(account),
        )
        .route(&format!("{BASE}/threads"), get(threads))
        .route(
            &format!("{BASE}/threads/{{thread_id}}"),
            get(thread).patch(update_thread).delete(trash_thread),
        )
        .route(
            &format!("{BASE}/threads/{{thread_id}}/messages"),
            get(messages).post(send),
        )
        .route(
            &format!("{BASE}/threads/{{thread_id}}/messages/{{message_id}}"),
            get(message),
        )
        .route(
            &format!("{BASE}/threads/{{thread_id}}/messages/{{message_id}}/original-content"),
            get(original_content),
        )
        .route(&format!("{BASE}/actors/{{actor_id}}"), get(actor))
        .route(&format!("{BASE}/actors/batch/read"), post(actors_batch))
}

fn inbox_json(w: Workspace, installed: i64) -> Value {
    let (name, kind) = match w {
        Workspace::Inbox => ("Inbox", "INBOX"),
        Workspace::HelpDesk => ("Help Desk", "HELP_DESK"),
    };
    json!({
        "id": fd_app::inbox_id(w).to_string(),
        "name": name,
        "type": kind,
        "createdAt": time(installed),
        "updatedAt": time(installed),
        "archived": false,
    })
}

async fn inboxes(State(s): State<WebState>, Auth(_a): Auth) -> Result<Json<Value>, ApiError> {
    let installed = s.app.installed_at().await?;
    let results: Vec<Value> = [Workspace::Inbox, Workspace::HelpDesk]
        .into_iter()
        .map(|w| inbox_json(w, installed))
        .collect();
    Ok(Json(json!({"total": results.len(), "results": results})))
}

async fn inbox(
    State(s): State<WebState>,
    Auth(_a): Auth,
    Path(inbox_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let w = fd_app::inbox_by_id(parse_id("inbox", &inbox_id)?)
        .ok_or_else(|| ApiError::not_found(format!("inbox {inbox_id} not found")))?;
    Ok(Json(inbox_json(w, s.app.installed_at().await?)))
}

fn channel_json(c: Channel) -> Value {
    json!({"id": channel_id(c).to_string(), "name": channel_name(c)})
}

async fn channels(Auth(_a): Auth) -> Json<Value> {
    let results: Vec<Value> = Channel::ALL.iter().map(|c| channel_json(*c)).collect();
    Json(json!({"total": results.len(), "results": results}))
}

async fn channel(Auth(_a): Auth, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let c = channel_by_id(parse_id("channel", &id)?)
        .ok_or_else(|| ApiError::not_found(format!("channel {id} not found")))?;
    Ok(Json(channel_json(c)))
}

fn account_json(a: &ChannelAccount) -> Value {
    let mut v = json!({
        "id": a.id,
        "channelId": channel_id(a.channel).to_string(),
        "inboxId": fd_app::inbox_id(a.workspace).to_string(),
        "name": a.name,
        "active": true,
        "authorized": true,
        "archived": false,
        "createdAt": time(a.created_at),
    });
    if let Some(addr) = &a.address {
        v["deliveryIdentifier"] = json!({"type": "HS_EMAIL_ADDRESS", "value": addr});
    }
    v
}

async fn accounts(
    State(s): State<WebState>,
    Auth(_a): Auth,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let channels = params.list("channelId");
    let inboxes = params.list("inboxId");
    let results: Vec<Value> = s
        .app
        .channel_accounts()
        .await?
        .iter()
        .filter(|a| channels.is_empty() || channels.contains(&channel_id(a.channel).to_string()))
        .filter(|a| {
            inboxes.is_empty() || inboxes.contains(&fd_app::inbox_id(a.workspace).to_string())
        })
        .map(account_json)
        .collect();
    Ok(Json(json!({"total": results.len(), "results": results})))
}

async fn account(
    State(s): State<WebState>,
    Auth(_a): Auth,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let accounts = s.app.channel_accounts().await?;
    let a = accounts
        .iter()
        .find(|a| a.id == id)
        .ok_or_else(|| ApiError::not_found(format!("channel account {id} not found")))?;
    Ok(Json(account_json(a)))
}

fn thread_json(c: &Conversation, accounts: &[ChannelAccount], with_ticket: bool) -> Value {
    let mut v = json!({
        "id": c.id.to_string(),
        "inboxId": fd_app::inbox_id(c.workspace).to_string(),
        "status": c.status.as_str(),
        "spam": false,
        "archived": c.trashed_at.is_some(),
        "createdAt": time(c.created_at),
        // A thread with an unidentified visitor has no contact yet: "0".
        "associatedContactId": c.contact_id.map(|x| x.to_string()).unwrap_or_else(|| "0".into()),
        "originalChannelId": channel_id(c.channel).to_string(),
        "originalChannelAccountId": App::channel_account_of(accounts, c),
        "latestMessageTimestamp": time(c.last_message_at),
    });
    if let Some(closed) = c.closed_at {
        v["closedAt"] = time(closed);
    }
    if let Some(o) = c.owner_id {
        v["assignedTo"] = json!(format!("A-{o}"));
    }
    if with_ticket && let Some(t) = c.ticket_id {
        v["threadAssociations"] = json!({"associatedTicketId": t.to_string()});
    }
    v
}

fn wants_ticket(params: &Params) -> bool {
    params
        .list("association")
        .iter()
        .any(|a| a.eq_ignore_ascii_case("TICKET"))
}

async fn threads(
    State(s): State<WebState>,
    Auth(actor): Auth,
    params: Params,
) -> Result<Json<Value>, ApiError> {
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
    let results: Vec<Value> = list
        .iter()
        .map(|c| thread_json(c, &accounts, with_ticket))
        .collect();
    let mut body = json!({ "results": results });
    if more {
        body["paging"] = json!({"next": {"after": (offset + limit).to_string()}});
    }
    Ok(Json(body))
}

async fn thread(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(thread_id): Path<String>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let id = ConversationId(parse_id("thread", &thread_id)?);
    let archived = params.bool("archived", false)?;
    let c = s.app.thread(&actor, id, archived).await?;
    let accounts = s.app.channel_accounts().await?;
    Ok(Json(thread_json(&c, &accounts, wants_ticket(&params))))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ThreadPatch {
    status: Option<String>,
    archived: Option<bool>,
}

async fn update_thread(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(thread_id): Path<String>,
    Body(input): Body<ThreadPatch>,
) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(thread_json(&c, &accounts, true)))
}

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

fn identifier(addr: &str) -> Value {
    json!({"type": "HS_EMAIL_ADDRESS", "value": addr})
}

fn status_json(m: &Message) -> Value {
    use fd_app::domain::DeliveryStatus as D;
    let t = match m.status {
        D::Received => "RECEIVED",
        D::Queued => "QUEUED",
        D::Sent => "SENT",
        D::Failed => "FAILED",
        D::NotSent => "NOT_SENT",
    };
    let mut v = json!({ "statusType": t });
    if let Some(d) = &m.status_detail {
        v["failureDetails"] = json!({"errorMessage": d});
    }
    v
}

fn message_json(m: &Message, c: &Conversation, accounts: &[ChannelAccount]) -> Value {
    let visitor = c.contact_id.map(|id| format!("V-{id}"));
    let created_by = match (m.direction, m.sender_user_id) {
        (Direction::Outbound, Some(u)) => format!("A-{u}"),
        (Direction::Inbound, _) => visitor.clone().unwrap_or_else(|| "S-frontdesk".into()),
        _ => "S-frontdesk".into(),
    };
    let mut sender = json!({"senderField": "FROM"});
    if !created_by.starts_with("S-") {
        sender["actorId"] = json!(created_by);
    }
    if let Some(n) = &m.sender_name {
        sender["name"] = json!(n);
    }
    if let Some(a) = &m.sender_address {
        sender["deliveryIdentifier"] = identifier(a);
    }
    let mut recipients = Vec::new();
    for (field, list) in [
        ("TO", &m.recipients.to),
        ("CC", &m.recipients.cc),
        ("BCC", &m.recipients.bcc),
    ] {
        for addr in list {
            recipients
                .push(json!({"recipientField": field, "deliveryIdentifier": identifier(addr)}));
        }
    }
    if recipients.is_empty()
        && m.direction == Direction::Outbound
        && let Some(v) = &visitor
    {
        recipients.push(json!({"actorId": v, "recipientField": "TO"}));
    }
    let attachments: Vec<Value> = m
        .attachments
        .iter()
        .map(|a| json!({"type": "FILE", "name": a.filename, "contentType": a.content_type, "size": a.size}))
        .collect();
    let mut v = json!({
        "type": "MESSAGE",
        "id": m.id.to_string(),
        "conversationsThreadId": c.id.to_string(),
        "createdAt": time(m.created_at),
        "updatedAt": time(m.created_at),
        "createdBy": created_by,
        "client": {"clientType": if m.sender_user_id.is_some() { "HUBSPOT" } else { "SYSTEM" }},
        "senders": [sender],
        "recipients": recipients,
        "text": m.text,
        "attachments": attachments,
        "direction": m.direction.as_str(),
        "truncationStatus": "NOT_TRUNCATED",
        "channelId": channel_id(c.channel).to_string(),
        "channelAccountId": App::channel_account_of(accounts, c),
        "archived": false,
        "status": status_json(m),
    });
    if let Some(h) = &m.html {
        v["richText"] = json!(h);
    }
    if let Some(sub) = &m.subject {
        v["subject"] = json!(sub);
    }
    if let Some(r) = m.reply_to_message_id {
        v["inReplyToId"] = json!(r.to_string());
    }
    v
}

const COMMENT_PREFIX: &str = "comment-";

fn comment_json(cm: &Comment, c: &Conversation, author_name: Option<&str>) -> Value {
    let by = cm
        .author_id
        .map(|a| format!("A-{a}"))
        .unwrap_or_else(|| "S-frontdesk".into());
    let mut sender = json!({"actorId": by});
    if let Some(n) = author_name {
        sender["name"] = json!(n);
    }
    json!({
        "type": "COMMENT",
        "id": format!("{COMMENT_PREFIX}{}", cm.id),
        "conversationsThreadId": c.id.to_string(),
        "createdAt": time(cm.created_at),
        "createdBy": by,
        "client": {"clientType": "HUBSPOT"},
        "senders": [sender],
        "recipients": [],
        "text": cm.body,
        "richText": format!("<p>{}</p>", html_escape(&cm.body)),
        "attachments": [],
        "archived": false,
    })
}

async fn item_json(
    app: &App,
    item: &ThreadItem,
    c: &Conversation,
    accounts: &[ChannelAccount],
) -> Result<Value, ApiError> {
    Ok(match item {
        ThreadItem::Message(m) => message_json(m, c, accounts),
        ThreadItem::Comment(cm) => {
            let name = match cm.author_id {
                Some(a) => app.user_actor(a).await.ok().map(|u| u.name),
                None => None,
            };
            comment_json(cm, c, name.as_deref())
        }
    })
}

async fn messages(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(thread_id): Path<String>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
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
        results.push(item_json(&s.app, item, &c, &accounts).await?);
    }
    let mut body = json!({ "results": results });
    if offset + limit < total {
        body["paging"] = json!({"next": {"after": (offset + limit).to_string()}});
    }
    Ok(Json(body))
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

async fn message(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((thread_id, message_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (c, item) = find_item(&s, &actor, &thread_id, &message_id).await?;
    let accounts = s.app.channel_accounts().await?;
    Ok(Json(item_json(&s.app, &item, &c, &accounts).await?))
}

async fn original_content(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((thread_id, message_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (_, item) = find_item(&s, &actor, &thread_id, &message_id).await?;
    Ok(Json(match item {
        ThreadItem::Message(m) => {
            let mut v = json!({"text": m.text});
            if let Some(h) = &m.html {
                v["richText"] = json!(h);
            }
            v
        }
        ThreadItem::Comment(cm) => json!({
            "text": cm.body,
            "richText": format!("<p>{}</p>", html_escape(&cm.body)),
        }),
    }))
}

#[derive(Deserialize, Default, Clone)]
#[serde(default, rename_all = "camelCase")]
struct DeliveryIn {
    #[serde(rename = "type")]
    kind: Option<String>,
    value: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default, rename_all = "camelCase")]
struct RecipientIn {
    actor_id: Option<String>,
    delivery_identifiers: Vec<DeliveryIn>,
    delivery_identifier: Option<DeliveryIn>,
    #[allow(dead_code)]
    name: Option<String>,
    recipient_field: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct SendIn {
    #[serde(rename = "type")]
    kind: Option<String>,
    text: Option<String>,
    rich_text: Option<String>,
    #[allow(dead_code)]
    subject: Option<String>,
    sender_actor_id: Option<String>,
    channel_id: Option<Value>,
    channel_account_id: Option<Value>,
    recipients: Vec<RecipientIn>,
    attachments: Vec<Value>,
}

async fn send(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(thread_id): Path<String>,
    Body(input): Body<SendIn>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let id = ConversationId(parse_id("thread", &thread_id)?);
    let text = input
        .text
        .clone()
        .ok_or_else(|| ApiError::validation("Missing required field: text"))?;
    if !input.attachments.is_empty() {
        return Err(ApiError::validation(
            "attachments are not supported when sending through the API",
        ));
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
        let cm = s.app.comment(&actor, None, Some(id), &text).await?;
        let name = match cm.author_id {
            Some(a) => s.app.user_actor(a).await.ok().map(|u| u.name),
            None => None,
        };
        return Ok((
            StatusCode::CREATED,
            Json(comment_json(&cm, &c, name.as_deref())),
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
                ..Reply::default()
            },
        )
        .await?;
    let c = s.app.conversation(&actor, id).await?;
    Ok((StatusCode::CREATED, Json(message_json(&m, &c, &accounts))))
}

async fn actor_json(app: &App, raw: &str) -> Result<Value, ApiError> {
    let not_found = || ApiError::not_found(format!("actor {raw} not found"));
    if let Some(id) = raw.strip_prefix("A-") {
        let u = app
            .user_actor(UserId(parse_id("actor", id)?))
            .await
            .map_err(|_| not_found())?;
        return Ok(json!({"type": "AGENT", "id": raw, "name": u.name, "email": u.email}));
    }
    if let Some(id) = raw.strip_prefix("V-") {
        let c = app
            .contact_actor(ContactId(parse_id("actor", id)?))
            .await
            .map_err(|_| not_found())?;
        let mut v = json!({"type": "VISITOR", "id": raw, "name": c.display_name()});
        if let Some(e) = &c.email {
            v["email"] = json!(e);
        }
        return Ok(v);
    }
    Err(not_found())
}

async fn actor(
    State(s): State<WebState>,
    Auth(_a): Auth,
    Path(actor_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(actor_json(&s.app, actor_id.trim()).await?))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ActorsIn {
    inputs: Vec<String>,
}

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
        match actor_json(&s.app, a.trim()).await {
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
