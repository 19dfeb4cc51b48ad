//! Several `frontdesk serve` nodes on one PostgreSQL database (issue 17, item 3).
//!
//! - **Identity**: each `App` is a node with an id of its own (host, process, random part).
//! - **Leases**: work that must run on one node at a time (an IMAP mailbox's poller, the
//!   periodic sweeps) runs where [`App::hold_lease`] says; a node that dies stops renewing,
//!   and another takes over once the lease expires.
//! - **Relay**: what a node commits reaches the other nodes' live screens, and presence (who
//!   views or replies where) is shared, through the store's LISTEN/NOTIFY channel. Messages
//!   are `<node> <kind> <body>`; a node ignores its own. Events are ids only, so a relayed
//!   event goes through the receiving node's HD-09 check like a local one.
//!
//! Token revocation and configuration need no message: every request reads the auth and
//! config versions from the database, so a change on any node applies on all at once.
//! On SQLite there is one node: leases are taken at once and nothing is relayed.
//! Must not depend on HTTP.

use std::sync::OnceLock;

use fd_domain::{ConversationId, TicketId, UserId};
use tokio::sync::{broadcast, mpsc};

use crate::{App, AppError, Event};

/// The LISTEN/NOTIFY channel all nodes share.
const CHANNEL: &str = "frontdesk_cluster";

/// Messages queued for the relay before new ones are dropped (live updates are hints: a
/// screen that misses one refreshes on the next).
const OUTBOX: usize = 4096;

/// This node's part in the cluster.
pub(crate) struct Cluster {
    node: String,
    out: OnceLock<mpsc::Sender<String>>,
    presence: broadcast::Sender<RemotePresence>,
}

/// Another node's presence report for one watched target (see fd-web's `live.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotePresence {
    pub node: String,
    pub body: String,
}

impl Default for Cluster {
    fn default() -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_default();
        let host: String = host
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
            .take(40)
            .collect();
        let node = format!(
            "{}{}{}-{:08x}",
            host,
            if host.is_empty() { "" } else { "-" },
            std::process::id(),
            rand::random::<u32>()
        );
        Cluster {
            node,
            out: OnceLock::new(),
            presence: broadcast::channel(1024).0,
        }
    }
}

/// `t12`, `c3`, `m3:12` / `m3`, `n7`.
fn encode_event(e: &Event) -> String {
    match e {
        Event::TicketChanged(t) => format!("t{}", t.0),
        Event::ConversationChanged(c) => format!("c{}", c.0),
        Event::MessageAdded {
            conversation,
            ticket: Some(t),
        } => format!("m{}:{}", conversation.0, t.0),
        Event::MessageAdded {
            conversation,
            ticket: None,
        } => format!("m{}", conversation.0),
        Event::NotificationsChanged(u) => format!("n{}", u.0),
    }
}

fn decode_event(s: &str) -> Option<Event> {
    let (kind, rest) = s.split_at_checked(1)?;
    let id = |v: &str| v.parse::<i64>().ok();
    Some(match kind {
        "t" => Event::TicketChanged(TicketId(id(rest)?)),
        "c" => Event::ConversationChanged(ConversationId(id(rest)?)),
        "m" => match rest.split_once(':') {
            Some((c, t)) => Event::MessageAdded {
                conversation: ConversationId(id(c)?),
                ticket: Some(TicketId(id(t)?)),
            },
            None => Event::MessageAdded {
                conversation: ConversationId(id(rest)?),
                ticket: None,
            },
        },
        "n" => Event::NotificationsChanged(UserId(id(rest)?)),
        _ => return None,
    })
}

/// Splits events into messages that fit a notification's payload.
fn event_messages(node: &str, events: &[Event]) -> Vec<String> {
    let head = format!("{node} e");
    let mut out = Vec::new();
    let mut cur = head.clone();
    for e in events {
        let item = encode_event(e);
        if cur.len() + 1 + item.len() > fd_store::CLUSTER_MAX_PAYLOAD && cur.len() > head.len() {
            out.push(std::mem::replace(&mut cur, head.clone()));
        }
        cur.push(' ');
        cur.push_str(&item);
    }
    if cur.len() > head.len() {
        out.push(cur);
    }
    out
}

impl App {
    /// This node's id (in leases and relayed messages).
    pub fn node_id(&self) -> &str {
        &self.cluster.node
    }

    /// Takes or renews the lease `name` for this node for `ttl_ms`; `false` while another
    /// live node holds it. Work guarded by a lease runs only when this returns `true`.
    pub async fn hold_lease(&self, name: &str, ttl_ms: i64) -> Result<bool, AppError> {
        let mut tx = self.db().write().await?;
        let held = tx
            .take_lease(name, &self.cluster.node, self.now(), ttl_ms)
            .await?;
        tx.commit().await?;
        Ok(held)
    }

    /// Gives up the lease `name` if this node holds it (on shutdown).
    pub async fn release_lease(&self, name: &str) -> Result<(), AppError> {
        let mut tx = self.db().write().await?;
        tx.release_lease(name, &self.cluster.node).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The node holding the lease `name` now, if any.
    pub async fn lease_holder(&self, name: &str) -> Result<Option<String>, AppError> {
        let mut tx = self.db().read().await?;
        let holder = tx.lease_holder(name, self.now()).await?;
        tx.commit().await?;
        Ok(holder)
    }

    /// Starts relaying this node's events and presence to the other nodes and theirs to this
    /// one. Returns `None` on SQLite (one node). Runs until the process ends; a lost
    /// connection is re-established by the listener.
    pub async fn start_cluster_relay(
        &self,
    ) -> Result<Option<tokio::task::JoinHandle<()>>, AppError> {
        let Some(mut listener) = self.db().listen(CHANNEL).await? else {
            return Ok(None);
        };
        let (tx, mut rx) = mpsc::channel::<String>(OUTBOX);
        if self.cluster.out.set(tx).is_err() {
            return Ok(None);
        }
        let db = self.db().clone();
        let sender = tokio::spawn(async move {
            while let Some(msg) = rx.recv().await {
                if let Err(e) = db.notify(CHANNEL, &msg).await {
                    tracing::warn!(error = %e, "relaying a change to the other nodes failed");
                }
            }
        });
        let app = self.clone();
        Ok(Some(tokio::spawn(async move {
            loop {
                match listener.recv().await {
                    Ok(payload) => app.receive_cluster_message(&payload),
                    Err(e) => {
                        tracing::warn!(error = %e, "listening to the other nodes failed; retrying");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                }
                if sender.is_finished() {
                    return;
                }
            }
        })))
    }

    fn receive_cluster_message(&self, payload: &str) {
        let mut parts = payload.splitn(3, ' ');
        let (Some(node), Some(kind)) = (parts.next(), parts.next()) else {
            return;
        };
        if node == self.cluster.node {
            return;
        }
        let body = parts.next().unwrap_or("");
        match kind {
            "e" => {
                for e in body.split(' ').filter_map(decode_event) {
                    let _ = self.events.send(e);
                }
            }
            "p" => {
                let _ = self.cluster.presence.send(RemotePresence {
                    node: node.to_string(),
                    body: body.to_string(),
                });
            }
            _ => {}
        }
    }

    /// Relays committed events to the other nodes (called by `publish`).
    pub(crate) fn relay_events(&self, events: &[Event]) {
        if let Some(out) = self.cluster.out.get() {
            for m in event_messages(&self.cluster.node, events) {
                let _ = out.try_send(m);
            }
        }
    }

    /// Tells the other nodes this node's presence report `body` (opaque here; at most
    /// `fd_store::CLUSTER_MAX_PAYLOAD` bytes less the node id, longer ones are dropped).
    pub fn relay_presence(&self, body: &str) {
        if let Some(out) = self.cluster.out.get() {
            let msg = format!("{} p {}", self.cluster.node, body);
            if msg.len() <= fd_store::CLUSTER_MAX_PAYLOAD {
                let _ = out.try_send(msg);
            }
        }
    }

    /// Whether events and presence are relayed to other nodes.
    pub fn is_clustered(&self) -> bool {
        self.cluster.out.get().is_some()
    }

    /// Presence reports of the other nodes.
    pub fn subscribe_remote_presence(&self) -> broadcast::Receiver<RemotePresence> {
        self.cluster.presence.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_their_encoding() {
        let events = [
            Event::TicketChanged(TicketId(12)),
            Event::ConversationChanged(ConversationId(3)),
            Event::MessageAdded {
                conversation: ConversationId(3),
                ticket: Some(TicketId(12)),
            },
            Event::MessageAdded {
                conversation: ConversationId(4),
                ticket: None,
            },
            Event::NotificationsChanged(UserId(7)),
        ];
        for e in &events {
            assert_eq!(decode_event(&encode_event(e)).as_ref(), Some(e));
        }
        assert_eq!(decode_event("x1"), None);
        assert_eq!(decode_event("t"), None);
        assert_eq!(decode_event(""), None);
    }

    #[test]
    fn many_events_split_into_payloads_that_fit() {
        let events: Vec<Event> = (0..5000)
            .map(|i| Event::TicketChanged(TicketId(1_000_000_000 + i)))
            .collect();
        let msgs = event_messages("node-1", &events);
        assert!(msgs.len() > 1);
        let mut seen = 0;
        for m in &msgs {
            assert!(m.len() <= fd_store::CLUSTER_MAX_PAYLOAD);
            assert!(m.starts_with("node-1 e "));
            seen += m.split(' ').skip(2).count();
        }
        assert_eq!(seen, events.len());
        assert!(event_messages("n", &[]).is_empty());
    }
}
