//! Live updates and presence. `GET /ui/events` is a server-sent-event stream per open page:
//! it forwards the app's change events that the agent may see (ids only; the page fetches
//! itself again and swaps the changed regions) and who else is viewing or replying on the
//! same ticket or conversation. Presence lives in this node's memory: it is ephemeral by
//! nature, and a page's stream and its presence entry end together.
//!
//! With several nodes on one PostgreSQL database (fd-app's `cluster.rs`), each node tells the
//! others its own viewers of a target whenever they change and again every
//! [`PRESENCE_HEARTBEAT`]; a node's report that is not renewed within [`PRESENCE_EXPIRES`]
//! (the node died) is forgotten. Events from other nodes arrive on the app's own bus.
//!
//! Every event and every presence update is checked against the agent's current access
//! (HD-09, through `App::may_see_event` / `App::may_watch`, which read through the store's
//! scope): the agent is loaded again for each, so losing access or being deactivated stops
//! what the stream tells at once, and watching a record one may not read is refused before
//! anyone is told of the watcher.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::IntoResponse;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use fd_app::domain::{ConversationId, TicketId, UserId};
use fd_app::{Actor, App, Event, WatchTarget};
use futures_util::stream::{self, Stream};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use super::{Agent, Post, UiError, UiResult, UiState};

/// How long "is replying" lasts after the last keystroke report.
const REPLYING_FOR_MS: u128 = 20_000;

/// How often a node repeats its presence reports to the others.
const PRESENCE_HEARTBEAT: Duration = Duration::from_secs(10);

/// How long another node's report counts without being repeated.
const PRESENCE_EXPIRES: Duration = Duration::from_secs(30);

/// One viewer in another node's report.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RemoteViewer {
    user: i64,
    name: String,
    replying: bool,
}

/// Another node's viewers of one target, as last reported.
struct RemoteReport {
    at: std::time::Instant,
    viewers: Vec<RemoteViewer>,
}

#[derive(Debug, Clone)]
struct Viewer {
    user: UserId,
    name: String,
    replying_since: Option<std::time::Instant>,
}

/// Who has which page open, per watched target (`ticket:1`, `conversation:2`).
pub(crate) struct Live {
    app: App,
    next_id: AtomicU64,
    pages: Mutex<HashMap<String, HashMap<u64, Viewer>>>,
    /// Other nodes' reports, per target and node.
    remote: Mutex<HashMap<String, HashMap<String, RemoteReport>>>,
    /// Tells streams that the presence of a target changed.
    changed: broadcast::Sender<String>,
}

impl Live {
    /// This node's presence; with other nodes, also a task that exchanges reports with them
    /// (it ends when the `Live` is dropped).
    pub(crate) fn new(app: App) -> Arc<Live> {
        let live = Arc::new(Live {
            app,
            next_id: AtomicU64::new(1),
            pages: Mutex::new(HashMap::new()),
            remote: Mutex::new(HashMap::new()),
            changed: broadcast::channel(256).0,
        });
        if live.app.is_clustered()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            rt.spawn(exchange_presence(
                Arc::downgrade(&live),
                live.app.subscribe_remote_presence(),
            ));
        }
        live
    }

    /// Tells the other nodes this node's viewers of `target` (none: it left).
    fn announce(&self, target: &str) {
        if !self.app.is_clustered() {
            return;
        }
        let viewers: Vec<RemoteViewer> = self
            .pages
            .lock()
            .ok()
            .and_then(|pages| {
                pages.get(target).map(|page| {
                    page.values()
                        .map(|v| RemoteViewer {
                            user: v.user.0,
                            name: v.name.clone(),
                            replying: v
                                .replying_since
                                .is_some_and(|t| t.elapsed().as_millis() < REPLYING_FOR_MS),
                        })
                        .collect()
                })
            })
            .unwrap_or_default();
        let body = format!(
            "{target}\n{}",
            serde_json::to_string(&viewers).unwrap_or_default()
        );
        self.app.relay_presence(&body);
    }

    /// Another node's report: `<target>\n<json list of viewers>`.
    fn receive(&self, node: &str, body: &str) {
        let Some((target, json)) = body.split_once('\n') else {
            return;
        };
        let Ok(viewers) = serde_json::from_str::<Vec<RemoteViewer>>(json) else {
            return;
        };
        if let Ok(mut remote) = self.remote.lock() {
            let per_node = remote.entry(target.to_string()).or_default();
            if viewers.is_empty() {
                per_node.remove(node);
                if per_node.is_empty() {
                    remote.remove(target);
                }
            } else {
                per_node.insert(
                    node.to_string(),
                    RemoteReport {
                        at: std::time::Instant::now(),
                        viewers,
                    },
                );
            }
        }
        let _ = self.changed.send(target.to_string());
    }

    /// Repeats every local report and forgets the other nodes' stale ones.
    fn heartbeat(&self) {
        let targets: Vec<String> = self
            .pages
            .lock()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        for t in &targets {
            self.announce(t);
        }
        let mut expired = Vec::new();
        if let Ok(mut remote) = self.remote.lock() {
            remote.retain(|target, per_node| {
                let before = per_node.len();
                per_node.retain(|_, r| r.at.elapsed() < PRESENCE_EXPIRES);
                if per_node.len() != before {
                    expired.push(target.clone());
                }
                !per_node.is_empty()
            });
        }
        for t in expired {
            let _ = self.changed.send(t);
        }
    }

    /// Every viewer of `target`, on this node and the others: `(user, name, replying)`.
    fn viewers(&self, target: &str) -> Vec<(UserId, String, bool)> {
        let mut out = Vec::new();
        if let Ok(pages) = self.pages.lock()
            && let Some(page) = pages.get(target)
        {
            for v in page.values() {
                let replying = v
                    .replying_since
                    .is_some_and(|t| t.elapsed().as_millis() < REPLYING_FOR_MS);
                out.push((v.user, v.name.clone(), replying));
            }
        }
        if let Ok(remote) = self.remote.lock()
            && let Some(per_node) = remote.get(target)
        {
            for r in per_node.values() {
                if r.at.elapsed() >= PRESENCE_EXPIRES {
                    continue;
                }
                for v in &r.viewers {
                    out.push((UserId(v.user), v.name.clone(), v.replying));
                }
            }
        }
        out
    }

    fn join(&self, target: &str, user: UserId, name: &str) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut pages) = self.pages.lock() {
            pages.entry(target.to_string()).or_default().insert(
                id,
                Viewer {
                    user,
                    name: name.to_string(),
                    replying_since: None,
                },
            );
        }
        let _ = self.changed.send(target.to_string());
        self.announce(target);
        id
    }

    fn leave(&self, target: &str, id: u64) {
        if let Ok(mut pages) = self.pages.lock()
            && let Some(page) = pages.get_mut(target)
        {
            page.remove(&id);
            if page.is_empty() {
                pages.remove(target);
            }
        }
        let _ = self.changed.send(target.to_string());
        self.announce(target);
    }

    fn set_replying(&self, target: &str, user: UserId, replying: bool) {
        let mut changed = false;
        if let Ok(mut pages) = self.pages.lock()
            && let Some(page) = pages.get_mut(target)
        {
            for v in page.values_mut().filter(|v| v.user == user) {
                v.replying_since = replying.then(std::time::Instant::now);
                changed = true;
            }
        }
        // Only a watcher's own entries change: a report about a page one does not have open
        // tells nobody anything.
        if changed {
            let _ = self.changed.send(target.to_string());
            self.announce(target);
        }
    }

    /// Others on `target`, as JSON: `[{"name": "Ann", "replying": true}]`.
    fn others(&self, target: &str, me: UserId) -> String {
        let mut seen: HashMap<UserId, (String, bool)> = HashMap::new();
        for (user, name, replying) in self.viewers(target) {
            if user == me {
                continue;
            }
            let e = seen.entry(user).or_insert((name, false));
            e.1 |= replying;
        }
        let mut list: Vec<(String, bool)> = seen.into_values().collect();
        list.sort();
        serde_json::Value::Array(
            list.into_iter()
                .map(|(name, replying)| serde_json::json!({"name": name, "replying": replying}))
                .collect(),
        )
        .to_string()
    }
}

#[derive(Deserialize)]
pub(crate) struct Watch {
    watch: Option<String>,
}

/// Leaves the page's presence when the stream is dropped (the browser went away).
struct Membership {
    state: UiState,
    target: Option<String>,
    id: u64,
}

impl Drop for Membership {
    fn drop(&mut self) {
        if let Some(t) = &self.target {
            self.state.live.leave(t, self.id);
        }
    }
}

struct StreamState {
    /// Who the stream is for, as loaded when it began; `actor` is refreshed per event.
    agent: Agent,
    actor: Actor,
    events: broadcast::Receiver<Event>,
    presence: broadcast::Receiver<String>,
    membership: Membership,
    first: bool,
    /// Counted in `/metrics` while the stream is open.
    _metered: fd_app::LiveConnection,
}

/// `ticket:12` or `conversation:3`.
fn parse_target(t: &str) -> Option<WatchTarget> {
    match t.split_once(':') {
        Some(("ticket", id)) => {
            fd_app::domain::text::parse_id(id).map(|i| WatchTarget::Ticket(TicketId(i)))
        }
        Some(("conversation", id)) => {
            fd_app::domain::text::parse_id(id).map(|i| WatchTarget::Conversation(ConversationId(i)))
        }
        _ => None,
    }
}

/// The stream; watching a record the agent may not read is "not found" (finding 4 of the
/// hardening review), and the watcher is announced to nobody.
pub(crate) async fn events(
    State(state): State<UiState>,
    agent: Agent,
    Query(w): Query<Watch>,
) -> UiResult {
    let target = match w
        .watch
        .as_deref()
        .and_then(|t| parse_target(t).map(|p| (t, p)))
    {
        Some((name, parsed)) => {
            if !state.app.may_watch(&agent.actor, parsed).await? {
                return Err(UiError::not_found());
            }
            Some(name.to_string())
        }
        None => None,
    };
    let id = match &target {
        Some(t) => state.live.join(t, agent.user.id, &agent.user.name),
        None => 0,
    };
    // Subscribed after joining: the page's first event already lists the others.
    let events = state.app.subscribe();
    let presence = state.live.changed.subscribe();
    let st = StreamState {
        actor: agent.actor.clone(),
        events,
        presence,
        membership: Membership {
            state: state.clone(),
            target,
            id,
        },
        agent,
        first: true,
        _metered: state.app.live_connection("agent"),
    };
    Ok(Sse::new(stream_of(st))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(20)))
        .into_response())
}

/// Loads the agent again (access may have changed since the stream began); `false` when
/// they are gone or deactivated, which ends the stream.
async fn refresh(st: &mut StreamState) -> bool {
    match st.membership.state.app.actor_for(st.agent.user.id).await {
        Ok(actor) => {
            st.actor = actor;
            true
        }
        Err(_) => false,
    }
}

/// Whether the agent may still watch the presence target; if not, their page leaves it.
async fn still_watching(st: &mut StreamState, target: &str) -> bool {
    let allowed = match parse_target(target) {
        Some(t) => matches!(
            st.membership.state.app.may_watch(&st.actor, t).await,
            Ok(true)
        ),
        None => false,
    };
    if !allowed && st.membership.target.is_some() {
        st.membership.state.live.leave(target, st.membership.id);
        st.membership.target = None;
    }
    allowed
}

fn stream_of(st: StreamState) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    stream::unfold(st, |mut st| async move {
        loop {
            if st.first {
                st.first = false;
                if let Some(t) = st.membership.target.clone() {
                    let data = st.membership.state.live.others(&t, st.agent.user.id);
                    return Some((Ok(SseEvent::default().event("presence").data(data)), st));
                }
            }
            tokio::select! {
                ev = st.events.recv() => match ev {
                    Ok(e) => {
                        if !refresh(&mut st).await {
                            return None;
                        }
                        if let Some(out) = forward(&st, e).await {
                            return Some((Ok(out), st));
                        }
                    }
                    // Missed events: tell the page to refresh everything it shows.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        return Some((Ok(SseEvent::default().event("refresh").data("lagged")), st));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                p = st.presence.recv() => match p {
                    Ok(target) if Some(&target) == st.membership.target.as_ref() => {
                        if !refresh(&mut st).await {
                            return None;
                        }
                        if !still_watching(&mut st, &target).await {
                            continue;
                        }
                        let data = st.membership.state.live.others(&target, st.agent.user.id);
                        return Some((Ok(SseEvent::default().event("presence").data(data)), st));
                    }
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
            }
        }
    })
}

/// The event as the page sees it, or `None` when the agent may not see what changed (HD-09).
async fn forward(st: &StreamState, e: Event) -> Option<SseEvent> {
    let app = &st.membership.state.app;
    if !matches!(app.may_see_event(&st.actor, &e).await, Ok(true)) {
        return None;
    }
    Some(match e {
        Event::TicketChanged(t) => SseEvent::default().event("ticket").data(t.to_string()),
        Event::ConversationChanged(c) => SseEvent::default()
            .event("conversation")
            .data(c.to_string()),
        Event::MessageAdded {
            conversation,
            ticket,
        } => SseEvent::default().event("message").data(format!(
            "{conversation},{}",
            ticket.map(|t| t.to_string()).unwrap_or_default()
        )),
        Event::NotificationsChanged(u) => SseEvent::default()
            .event("notifications")
            .data(u.to_string()),
    })
}

/// The editor reports typing (`replying=1`) and its end, so others see "… is replying".
pub(crate) async fn presence(State(state): State<UiState>, post: Post) -> UiResult {
    let target = post.fields.get("watch").unwrap_or("").to_string();
    if let Some(parsed) = parse_target(&target)
        && state.app.may_watch(&post.agent.actor, parsed).await?
    {
        state
            .live
            .set_replying(&target, post.agent.user.id, post.fields.flag("replying"));
    }
    Ok(axum::http::StatusCode::NO_CONTENT.into_response())
}

// ---- Chat visitors on the presence line (used by `chat.rs`) --------------------------------
// A visitor's widget stream joins the presence of the conversation (and its ticket) under a
// user id no agent has (0), so agents see "… is viewing / is replying" for the visitor through
// the same line, and the widget hears when an agent there is replying.
impl Live {
    pub(crate) fn join_visitor(&self, target: &str, name: &str) -> u64 {
        self.join(target, UserId(0), name)
    }

    pub(crate) fn leave_visitor(&self, target: &str, id: u64) {
        self.leave(target, id);
    }

    /// The visitor on `target` is typing, or stopped.
    pub(crate) fn set_visitor_typing(&self, target: &str, typing: bool) {
        self.set_replying(target, UserId(0), typing);
    }

    /// Whether an agent (not the visitor) on `target` is replying now.
    pub(crate) fn agent_replying(&self, target: &str) -> bool {
        self.viewers(target)
            .iter()
            .any(|(user, _, replying)| *user != UserId(0) && *replying)
    }

    /// Whether an agent has `target` open now.
    pub(crate) fn agent_present(&self, target: &str) -> bool {
        self.viewers(target)
            .iter()
            .any(|(user, _, _)| *user != UserId(0))
    }

    pub(crate) fn subscribe_changes(&self) -> broadcast::Receiver<String> {
        self.changed.subscribe()
    }
}

/// Takes the other nodes' reports in and repeats this node's, until the `Live` is gone.
async fn exchange_presence(
    live: std::sync::Weak<Live>,
    mut reports: broadcast::Receiver<fd_app::RemotePresence>,
) {
    let mut beat = tokio::time::interval(PRESENCE_HEARTBEAT);
    loop {
        tokio::select! {
            r = reports.recv() => match r {
                Ok(r) => match live.upgrade() {
                    Some(l) => l.receive(&r.node, &r.body),
                    None => return,
                },
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = beat.tick() => match live.upgrade() {
                Some(l) => l.heartbeat(),
                None => return,
            },
        }
    }
}
