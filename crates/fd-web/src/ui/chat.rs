//! Live chat over HTTP (issue 14, item 3): the embeddable widget (`/chat/widget.js`, its own
//! asset file), the widget's public endpoints, the chat channels' settings page and the
//! agents' availability toggle.
//!
//! The widget's endpoints answer any origin (`Access-Control-Allow-Origin: *`) and use no
//! cookies: the visitor is known by the token their first message returned, which the widget
//! keeps in the visitor's `localStorage` and sends in the body (or, for the event stream, the
//! query). Posts are JSON read whatever the content type, so the widget can send them as
//! `text/plain` and skip a preflight; preflights are answered anyway. Agents' replies reach
//! the widget live through the app's event bus (as the agents' own streams, `live.rs`), and
//! typing is the agents' presence: the visitor appears on the conversation's (and ticket's)
//! presence, and the widget hears when an agent there is replying.
//!
//! Only translates: every action is an `fd_app::App` use case. Must not contain SQL.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use fd_app::domain::entities::Message;
use fd_app::domain::*;
use fd_app::{Actor, ChatView, Event, VisitorMessage};
use futures_util::stream::{self, Stream};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};

use super::view::Opt;
use super::{Agent, Chrome, Id, Post, UiError, UiResult, UiState, page};

/// The widget, hand-written and dependency-free (`assets/chat-widget.js`).
const WIDGET_JS: &str = include_str!("assets/chat-widget.js");

pub(crate) fn routes() -> Router<UiState> {
    Router::new()
        .route("/chat/widget.js", get(widget_js))
        .route("/chat/{channel}/state", get(state).options(preflight))
        .route("/chat/{channel}/messages", post(send).options(preflight))
        .route("/chat/{channel}/details", post(details).options(preflight))
        .route("/chat/{channel}/seen", post(seen).options(preflight))
        .route("/chat/{channel}/typing", post(typing).options(preflight))
        .route("/chat/{channel}/events", get(events).options(preflight))
        .route("/settings/chat", get(settings).post(create_channel))
        .route("/settings/chat/{id}/archive", post(archive_channel))
        .route("/availability", post(set_availability))
}

// ---- The widget's public endpoints ----------------------------------------------------------

fn cors(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn preflight() -> Response {
    let mut r = cors(StatusCode::NO_CONTENT.into_response());
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    r
}

async fn widget_js() -> Response {
    let mut r = WIDGET_JS.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    // Loaded by other sites' pages: readable by them, like any script tag's source.
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("cross-origin"),
    );
    r
}

/// An error as the widget reads it: `{"message", "field"}` with the use case's status.
fn error(e: fd_app::AppError) -> Response {
    // A refused field reads as its own sentence, named, so the widget can point at it.
    if let fd_app::AppError::Domain(DomainError::Invalid(fields)) = &e
        && let Some(f) = fields.first()
    {
        let body = serde_json::json!({"message": f.message, "field": f.field});
        return cors((StatusCode::BAD_REQUEST, axum::Json(body)).into_response());
    }
    let api = crate::ApiError::from(e);
    let status = api.status;
    if status.is_server_error() {
        crate::error::log_error(
            status,
            api.category,
            &api.message,
            &crate::request_id(),
            api.cause.as_deref(),
        );
    }
    let body = serde_json::json!({"message": api.message});
    cors((status, axum::Json(body)).into_response())
}

fn bad(message: &str) -> Response {
    cors(
        (
            StatusCode::BAD_REQUEST,
            axum::Json(serde_json::json!({"message": message})),
        )
            .into_response(),
    )
}

fn channel_id(raw: &str) -> Option<i64> {
    text::parse_id(raw)
}

/// The posted JSON, or why it is not readable.
fn body<T: for<'de> Deserialize<'de>>(bytes: &Bytes) -> Result<T, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("the body is not valid JSON: {e}"))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireMessage {
    id: String,
    from: &'static str,
    name: Option<String>,
    text: String,
    at: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireState {
    name: String,
    available: bool,
    by_email: bool,
    started: bool,
    messages: Vec<WireMessage>,
    /// The newest visitor message an agent has seen.
    seen_up_to: Option<String>,
    agent_typing: bool,
    /// A bot answers (no address asked for when nobody is available).
    bot: bool,
    /// The bot's question's answers, shown as buttons.
    quick_replies: Vec<String>,
}

fn wire_message(m: &Message) -> WireMessage {
    let agent = m.direction == Direction::Outbound;
    WireMessage {
        id: m.id.to_string(),
        from: if agent { "agent" } else { "visitor" },
        name: if agent { m.sender_name.clone() } else { None },
        text: m.text.clone(),
        at: m.created_at,
    }
}

/// The presence targets a conversation is worked on from: its inbox page and its ticket's.
fn targets(v: &ChatView, ticket: Option<TicketId>) -> Vec<String> {
    let mut t = Vec::new();
    if let Some(c) = v.conversation {
        t.push(format!("conversation:{c}"));
    }
    if let Some(tk) = ticket {
        t.push(format!("ticket:{tk}"));
    }
    t
}

fn wire_state(st: &UiState, v: &ChatView, targets: &[String]) -> WireState {
    let agent_here = targets.iter().any(|t| st.live.agent_present(t));
    let seen_up_to = v
        .messages
        .iter()
        .filter(|m| m.direction == Direction::Inbound)
        .filter(|m| agent_here || v.agent_read_at.is_some_and(|r| r >= m.created_at))
        .map(|m| m.id)
        .max()
        .map(|m| m.to_string());
    WireState {
        name: v.channel.name.clone(),
        available: v.available,
        by_email: v.by_email,
        started: v.conversation.is_some(),
        messages: v.messages.iter().map(wire_message).collect(),
        seen_up_to,
        agent_typing: targets.iter().any(|t| st.live.agent_replying(t)),
        bot: v.bot,
        quick_replies: v.quick_replies.clone(),
    }
}

async fn ticket_of(st: &UiState, v: &ChatView) -> Option<TicketId> {
    let c = v.conversation?;
    st.app
        .conversation(&Actor::system(), c)
        .await
        .ok()
        .and_then(|c| c.ticket_id)
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

async fn state(
    State(st): State<UiState>,
    Path(channel): Path<String>,
    Query(q): Query<TokenQuery>,
) -> Response {
    let Some(ch) = channel_id(&channel) else {
        return bad("not a chat channel id");
    };
    match st.app.chat_view(ch, q.token.as_deref()).await {
        Ok(v) => {
            let t = targets(&v, ticket_of(&st, &v).await);
            cors(axum::Json(wire_state(&st, &v, &t)).into_response())
        }
        Err(e) => error(e),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendBody {
    token: Option<String>,
    text: String,
    name: Option<String>,
    email: Option<String>,
    identification_email: Option<String>,
    identification_token: Option<String>,
}

async fn send(
    State(st): State<UiState>,
    Path(channel): Path<String>,
    extensions: axum::http::Extensions,
    raw: Bytes,
) -> Response {
    let Some(ch) = channel_id(&channel) else {
        return bad("not a chat channel id");
    };
    let b: SendBody = match body(&raw) {
        Ok(b) => b,
        Err(m) => return bad(&m),
    };
    // A new chat is a conversation (and perhaps a ticket): rationed per client address.
    let peer = extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|axum::extract::ConnectInfo(a)| a.ip());
    if b.token.as_deref().is_none_or(|t| t.trim().is_empty())
        && let Some(ip) = peer
        && let Err(wait_ms) = st.app.take_chat_start(ip)
    {
        let secs = (wait_ms + 999) / 1000;
        let mut r = cors(
            (
                StatusCode::TOO_MANY_REQUESTS,
                axum::Json(serde_json::json!({
                    "message": format!("Too many new chats from your address; try again in {secs} seconds."),
                })),
            )
                .into_response(),
        );
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    let identification = match (b.identification_email, b.identification_token) {
        (Some(e), Some(t)) if !e.trim().is_empty() && !t.trim().is_empty() => Some((e, t)),
        _ => None,
    };
    let input = VisitorMessage {
        text: b.text,
        name: b.name,
        email: b.email,
        identification,
    };
    match st
        .app
        .chat_visitor_message(ch, b.token.as_deref(), input)
        .await
    {
        Ok(sent) => cors(
            (
                StatusCode::CREATED,
                axum::Json(serde_json::json!({
                    "token": sent.token,
                    "id": sent.message.to_string(),
                })),
            )
                .into_response(),
        ),
        Err(e) => error(e),
    }
}

#[derive(Deserialize)]
struct DetailsBody {
    token: String,
    name: Option<String>,
    email: Option<String>,
}

async fn details(State(st): State<UiState>, Path(channel): Path<String>, raw: Bytes) -> Response {
    let Some(ch) = channel_id(&channel) else {
        return bad("not a chat channel id");
    };
    let b: DetailsBody = match body(&raw) {
        Ok(b) => b,
        Err(m) => return bad(&m),
    };
    match st
        .app
        .chat_visitor_details(ch, &b.token, b.name.as_deref(), b.email.as_deref())
        .await
    {
        Ok(()) => cors(StatusCode::NO_CONTENT.into_response()),
        Err(e) => error(e),
    }
}

#[derive(Deserialize)]
struct SeenBody {
    token: String,
    id: String,
}

async fn seen(State(st): State<UiState>, Path(channel): Path<String>, raw: Bytes) -> Response {
    let Some(ch) = channel_id(&channel) else {
        return bad("not a chat channel id");
    };
    let b: SeenBody = match body(&raw) {
        Ok(b) => b,
        Err(m) => return bad(&m),
    };
    let Some(id) = text::parse_id(&b.id) else {
        return bad("not a message id");
    };
    match st.app.chat_visitor_seen(ch, &b.token, MessageId(id)).await {
        Ok(()) => cors(StatusCode::NO_CONTENT.into_response()),
        Err(e) => error(e),
    }
}

#[derive(Deserialize)]
struct TypingBody {
    token: String,
    typing: bool,
}

/// The visitor is typing (or stopped): agents on the conversation see "… is replying".
async fn typing(State(st): State<UiState>, Path(channel): Path<String>, raw: Bytes) -> Response {
    let Some(ch) = channel_id(&channel) else {
        return bad("not a chat channel id");
    };
    let b: TypingBody = match body(&raw) {
        Ok(b) => b,
        Err(m) => return bad(&m),
    };
    match st.app.chat_view(ch, Some(&b.token)).await {
        Ok(v) => {
            for t in targets(&v, ticket_of(&st, &v).await) {
                st.live.set_visitor_typing(&t, b.typing);
            }
            cors(StatusCode::NO_CONTENT.into_response())
        }
        Err(e) => error(e),
    }
}

/// Leaves the presence lines when the widget's stream ends.
struct VisitorPresence {
    st: UiState,
    entries: Vec<(String, u64)>,
}

impl Drop for VisitorPresence {
    fn drop(&mut self) {
        for (t, id) in &self.entries {
            self.st.live.leave_visitor(t, *id);
        }
    }
}

/// The widget streams of this node by what they wait for (`conversation:3`, `ticket:12`),
/// woken by one task that reads the app's events and the presence changes.
///
/// Each stream used to subscribe to both broadcasts itself: every event and every presence
/// change anywhere on the node then woke every held chat (a visitor joining woke all the
/// others, so opening N chats cost N² wake-ups, each cloning the target's name), and when
/// the presence broadcast overflowed under a burst of joins every lagging stream re-read its
/// conversation. Now a change wakes only the streams of its conversation or target, and a
/// burst of changes to one conversation is one re-read (`watch` keeps only the latest).
#[derive(Default)]
pub(crate) struct WidgetHub {
    targets: Mutex<HashMap<String, watch::Sender<u64>>>,
    started: OnceLock<()>,
}

impl WidgetHub {
    /// Starts the task that wakes the streams (once per hub).
    fn start(
        self: &Arc<Self>,
        events: impl FnOnce() -> broadcast::Receiver<Event>,
        changes: impl FnOnce() -> broadcast::Receiver<String>,
    ) {
        self.started.get_or_init(|| {
            tokio::spawn(dispatch(Arc::downgrade(self), events(), changes()));
        });
    }

    /// Registers a stream for `targets`; it stops being woken when the guard drops.
    fn watch(self: &Arc<Self>, targets: &[String]) -> WidgetWatch {
        let mut rx = Vec::with_capacity(targets.len());
        if let Ok(mut map) = self.targets.lock() {
            for t in targets {
                let tx = map.entry(t.clone()).or_insert_with(|| watch::channel(0).0);
                rx.push((t.clone(), tx.subscribe()));
            }
        }
        WidgetWatch {
            hub: self.clone(),
            rx,
        }
    }

    fn wake(&self, target: &str) {
        if let Ok(map) = self.targets.lock()
            && let Some(tx) = map.get(target)
        {
            tx.send_modify(|v| *v = v.wrapping_add(1));
        }
    }

    /// Missed changes (the task lagged): every stream reads its state again.
    fn wake_all(&self) {
        if let Ok(map) = self.targets.lock() {
            for tx in map.values() {
                tx.send_modify(|v| *v = v.wrapping_add(1));
            }
        }
    }

    /// How many targets have streams waiting on them.
    #[cfg(test)]
    fn watched(&self) -> usize {
        self.targets.lock().map(|m| m.len()).unwrap_or(0)
    }
}

/// Routes each change to the streams of its target; ends with the app or the hub.
async fn dispatch(
    hub: Weak<WidgetHub>,
    mut events: broadcast::Receiver<Event>,
    mut changes: broadcast::Receiver<String>,
) {
    loop {
        let target = tokio::select! {
            ev = events.recv() => match ev {
                Ok(Event::MessageAdded { conversation, .. })
                | Ok(Event::ConversationChanged(conversation)) => Some(format!("conversation:{conversation}")),
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(_)) => None,
                Err(broadcast::error::RecvError::Closed) => return,
            },
            p = changes.recv() => match p {
                Ok(target) => Some(target),
                Err(broadcast::error::RecvError::Lagged(_)) => None,
                Err(broadcast::error::RecvError::Closed) => return,
            },
        };
        let Some(hub) = hub.upgrade() else { return };
        match target {
            Some(t) => hub.wake(&t),
            None => hub.wake_all(),
        }
    }
}

/// One stream's registration; dropping it forgets targets nobody waits on any more.
struct WidgetWatch {
    hub: Arc<WidgetHub>,
    rx: Vec<(String, watch::Receiver<u64>)>,
}

impl WidgetWatch {
    /// Waits until one of the targets changed (`false`: never will).
    async fn changed(&mut self) -> bool {
        if self.rx.is_empty() {
            return std::future::pending().await;
        }
        let woke = futures_util::future::select_all(
            self.rx.iter_mut().map(|(_, r)| Box::pin(r.changed())),
        )
        .await
        .0
        .is_ok();
        // One state answers every change seen so far, on all the targets.
        for (_, r) in &mut self.rx {
            r.borrow_and_update();
        }
        woke
    }
}

impl Drop for WidgetWatch {
    fn drop(&mut self) {
        if let Ok(mut map) = self.hub.targets.lock() {
            for (t, rx) in self.rx.drain(..) {
                drop(rx);
                if map.get(&t).is_some_and(|tx| tx.receiver_count() == 0) {
                    map.remove(&t);
                }
            }
        }
    }
}

struct WidgetStream {
    presence: VisitorPresence,
    channel: i64,
    token: String,
    targets: Vec<String>,
    watch: WidgetWatch,
    first: bool,
    /// Counted in `/metrics` while the stream is open.
    _metered: fd_app::LiveConnection,
}

/// The widget's live stream: a `state` event (the whole conversation as the widget shows it)
/// at once and after every change to the visitor's conversation or its presence.
async fn events(
    State(st): State<UiState>,
    Path(channel): Path<String>,
    Query(q): Query<TokenQuery>,
) -> Response {
    let Some(ch) = channel_id(&channel) else {
        return bad("not a chat channel id");
    };
    let Some(token) = q.token.filter(|t| !t.trim().is_empty()) else {
        return bad("the stream needs the visitor's token");
    };
    let v = match st.app.chat_view(ch, Some(&token)).await {
        Ok(v) => v,
        Err(e) => return error(e),
    };
    if v.conversation.is_none() {
        return bad("this visitor has no conversation yet");
    }
    let targets = targets(&v, ticket_of(&st, &v).await);
    st.widgets
        .start(|| st.app.subscribe(), || st.live.subscribe_changes());
    let watch = st.widgets.watch(&targets);
    // Marked as the visitor's own words: a visitor calling themselves "Ann" is not agent Ann.
    let name = v
        .messages
        .first()
        .and_then(|m| m.sender_name.clone())
        .map(|n| format!("{n} (chat visitor)"))
        .unwrap_or_else(|| "Chat visitor".into());
    let entries = targets
        .iter()
        .map(|t| (t.clone(), st.live.join_visitor(t, &name)))
        .collect();
    let ws = WidgetStream {
        presence: VisitorPresence {
            st: st.clone(),
            entries,
        },
        channel: ch,
        token,
        targets,
        watch,
        first: true,
        _metered: st.app.live_connection("chat"),
    };
    let mut r = Sse::new(widget_stream(ws))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(20)))
        .into_response();
    r.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    r
}

async fn state_event(ws: &WidgetStream) -> Option<SseEvent> {
    let st = &ws.presence.st;
    let v = st.app.chat_view(ws.channel, Some(&ws.token)).await.ok()?;
    let data = serde_json::to_string(&wire_state(st, &v, &ws.targets)).ok()?;
    Some(SseEvent::default().event("state").data(data))
}

fn widget_stream(ws: WidgetStream) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    stream::unfold(ws, |mut ws| async move {
        if ws.first {
            ws.first = false;
        } else if !ws.watch.changed().await {
            return None;
        }
        // A token that no longer reaches anything (channel archived) ends the stream.
        let e = state_event(&ws).await?;
        Some((Ok(e), ws))
    })
}

// ---- Settings: chat channels, and the availability toggle -----------------------------------

pub(crate) struct ChannelRow {
    pub id: i64,
    pub name: String,
    pub team: String,
    pub workspace: &'static str,
    pub snippet: String,
}

#[derive(Template)]
#[template(path = "ui/settings_chat.html")]
struct ChatSettingsPage {
    chrome: Chrome,
    channels: Vec<ChannelRow>,
    teams: Vec<Opt>,
}

/// This server's origin as the browser asked for it (for the embed snippet).
pub(super) fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
    format!("{}://{host}", if https { "https" } else { "http" })
}

pub(super) fn require_admin(agent: &Agent) -> Result<(), UiError> {
    if agent.actor.viewer.is_account_admin() {
        Ok(())
    } else {
        Err(UiError::new(
            StatusCode::FORBIDDEN,
            "Settings need Super Admin or Account Access permissions.",
        ))
    }
}

async fn settings(State(st): State<UiState>, agent: Agent, headers: HeaderMap) -> UiResult {
    require_admin(&agent)?;
    let chrome = Chrome::load(&st.app, &agent, "settings", "Chat").await?;
    let teams = st.app.teams().await?;
    let base = origin(&headers);
    let channels = st
        .app
        .chat_channels()
        .await?
        .into_iter()
        .filter(|c| c.archived_at.is_none())
        .map(|c| ChannelRow {
            id: c.id,
            team: teams
                .iter()
                .find(|t| t.id == c.team_id)
                .map(|t| t.name.clone())
                .unwrap_or_default(),
            workspace: match c.workspace {
                Workspace::HelpDesk => "Help desk (a ticket per conversation)",
                Workspace::Inbox => "Inbox (no ticket)",
            },
            snippet: format!(
                "<script src=\"{base}/chat/widget.js\" data-frontdesk-chat=\"{}\" async></script>",
                c.id
            ),
            name: c.name,
        })
        .collect();
    page(&ChatSettingsPage {
        chrome,
        channels,
        teams: teams
            .iter()
            .map(|t| Opt::new(t.id.to_string(), t.name.clone(), false))
            .collect(),
    })
}

async fn create_channel(State(st): State<UiState>, post: Post) -> UiResult {
    let f = &post.fields;
    let team = f
        .checked_id("team")?
        .ok_or_else(|| UiError::bad_request("Choose a team."))?;
    let ws = match f.get("workspace") {
        Some("inbox") => Workspace::Inbox,
        _ => Workspace::HelpDesk,
    };
    st.app
        .create_chat_channel(
            &post.agent.actor,
            f.get("name").unwrap_or(""),
            TeamId(team),
            ws,
        )
        .await?;
    Ok(Redirect::to("/settings/chat").into_response())
}

async fn archive_channel(
    State(st): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    st.app.archive_chat_channel(&post.agent.actor, id).await?;
    Ok(Redirect::to("/settings/chat").into_response())
}

/// The top bar's Available / Away toggle (HubSpot's `hs_availability_status`).
async fn set_availability(State(st): State<UiState>, post: Post) -> UiResult {
    st.app
        .set_availability(&post.agent.actor, post.fields.flag("available"))
        .await?;
    let back = post
        .fields
        .get("back")
        .filter(|b| b.starts_with('/') && !b.starts_with("//"))
        .unwrap_or("/");
    Ok(Redirect::to(back).into_response())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn pending(w: &WidgetWatch) -> bool {
        w.rx.iter().any(|(_, r)| r.has_changed().unwrap())
    }

    /// A held chat is woken by its own conversation's changes and presence only, and a target
    /// nobody waits on any more is forgotten (thousands of idle chats cost nothing per event
    /// elsewhere, and closed streams leave nothing behind).
    #[tokio::test(flavor = "current_thread")]
    async fn a_change_wakes_only_the_streams_of_its_target_and_left_targets_are_forgotten() {
        let (events, _) = broadcast::channel(16);
        let (changes, _) = broadcast::channel(16);
        let hub = Arc::new(WidgetHub::default());
        hub.start(|| events.subscribe(), || changes.subscribe());
        let mut one = hub.watch(&["conversation:1".into(), "ticket:10".into()]);
        let mut two = hub.watch(&["conversation:2".into()]);
        assert_eq!(hub.watched(), 3);

        events
            .send(Event::MessageAdded {
                conversation: ConversationId(1),
                ticket: Some(TicketId(10)),
            })
            .unwrap();
        assert!(one.changed().await);
        assert!(!pending(&two));

        // Presence on the ticket (an agent replying there) wakes the chat on that ticket.
        changes.send("ticket:10".into()).unwrap();
        assert!(one.changed().await);
        assert!(!pending(&two));

        // A ticket event is not the widget's; conversation 2's change wakes only its chat.
        events.send(Event::TicketChanged(TicketId(10))).unwrap();
        events
            .send(Event::ConversationChanged(ConversationId(2)))
            .unwrap();
        assert!(two.changed().await);
        assert!(!pending(&one));

        // Several changes before the stream looks again are one wake-up.
        changes.send("conversation:1".into()).unwrap();
        changes.send("ticket:10".into()).unwrap();
        changes.send("conversation:2".into()).unwrap();
        assert!(two.changed().await);
        assert!(one.changed().await);
        assert!(!pending(&one));

        drop(one);
        assert_eq!(hub.watched(), 1);
        let three = hub.watch(&["conversation:2".into()]);
        drop(two);
        assert_eq!(hub.watched(), 1);
        drop(three);
        assert_eq!(hub.watched(), 0);
    }
}
