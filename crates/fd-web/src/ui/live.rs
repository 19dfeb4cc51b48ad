//! Live updates and presence. `GET /ui/events` is a server-sent-event stream per open page:
//! it forwards the app's change events that the agent may see (ids only; the page fetches
//! itself again and swaps the changed regions) and who else is viewing or replying on the
//! same ticket or conversation. Presence lives in this node's memory: it is ephemeral by
//! nature, and a page's stream and its presence entry end together.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use fd_app::Event;
use fd_app::domain::{ConversationId, TicketId, UserId};
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use tokio::sync::broadcast;

use super::{Agent, Post, UiResult, UiState};

/// How long "is replying" lasts after the last keystroke report.
const REPLYING_FOR_MS: u128 = 20_000;

#[derive(Debug, Clone)]
struct Viewer {
    user: UserId,
    name: String,
    replying_since: Option<std::time::Instant>,
}

/// Who has which page open, per watched target (`ticket:1`, `conversation:2`).
pub(crate) struct Live {
    next_id: AtomicU64,
    pages: Mutex<HashMap<String, HashMap<u64, Viewer>>>,
    /// Tells streams that the presence of a target changed.
    changed: broadcast::Sender<String>,
}

impl Default for Live {
    fn default() -> Self {
        Live {
            next_id: AtomicU64::new(1),
            pages: Mutex::new(HashMap::new()),
            changed: broadcast::channel(256).0,
        }
    }
}

impl Live {
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
    }

    fn set_replying(&self, target: &str, user: UserId, replying: bool) {
        if let Ok(mut pages) = self.pages.lock()
            && let Some(page) = pages.get_mut(target)
        {
            for v in page.values_mut().filter(|v| v.user == user) {
                v.replying_since = replying.then(std::time::Instant::now);
            }
        }
        let _ = self.changed.send(target.to_string());
    }

    /// Others on `target`, as JSON: `[{"name": "Ann", "replying": true}]`.
    fn others(&self, target: &str, me: UserId) -> String {
        let mut seen: HashMap<UserId, (String, bool)> = HashMap::new();
        if let Ok(pages) = self.pages.lock()
            && let Some(page) = pages.get(target)
        {
            for v in page.values().filter(|v| v.user != me) {
                let replying = v
                    .replying_since
                    .is_some_and(|t| t.elapsed().as_millis() < REPLYING_FOR_MS);
                let e = seen.entry(v.user).or_insert((v.name.clone(), false));
                e.1 |= replying;
            }
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
    agent: Agent,
    events: broadcast::Receiver<Event>,
    presence: broadcast::Receiver<String>,
    membership: Membership,
    first: bool,
}

fn valid_target(t: &str) -> bool {
    match t.split_once(':') {
        Some(("ticket" | "conversation", id)) => fd_app::domain::text::parse_id(id).is_some(),
        _ => false,
    }
}

pub(crate) async fn events(
    State(state): State<UiState>,
    agent: Agent,
    Query(w): Query<Watch>,
) -> Response {
    let target = w.watch.filter(|t| valid_target(t));
    let id = match &target {
        Some(t) => state.live.join(t, agent.user.id, &agent.user.name),
        None => 0,
    };
    let st = StreamState {
        events: state.app.subscribe(),
        presence: state.live.changed.subscribe(),
        membership: Membership {
            state: state.clone(),
            target,
            id,
        },
        agent,
        first: true,
    };
    Sse::new(stream_of(st))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(20)))
        .into_response()
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
    let actor = &st.agent.actor;
    let visible_ticket = |t: TicketId| async move { app.ticket(actor, t).await.is_ok() };
    let visible_conv = |c: ConversationId| async move { app.conversation(actor, c).await.is_ok() };
    match e {
        Event::TicketChanged(t) => visible_ticket(t)
            .await
            .then(|| SseEvent::default().event("ticket").data(t.to_string())),
        Event::ConversationChanged(c) => visible_conv(c).await.then(|| {
            SseEvent::default()
                .event("conversation")
                .data(c.to_string())
        }),
        Event::MessageAdded {
            conversation,
            ticket,
        } => visible_conv(conversation).await.then(|| {
            SseEvent::default().event("message").data(format!(
                "{conversation},{}",
                ticket.map(|t| t.to_string()).unwrap_or_default()
            ))
        }),
        Event::NotificationsChanged(u) => (u == st.agent.user.id).then(|| {
            SseEvent::default()
                .event("notifications")
                .data(u.to_string())
        }),
    }
}

/// The editor reports typing (`replying=1`) and its end, so others see "… is replying".
pub(crate) async fn presence(State(state): State<UiState>, post: Post) -> UiResult {
    let target = post.fields.get("watch").unwrap_or("").to_string();
    if valid_target(&target) {
        state
            .live
            .set_replying(&target, post.agent.user.id, post.fields.flag("replying"));
    }
    Ok(axum::http::StatusCode::NO_CONTENT.into_response())
}
