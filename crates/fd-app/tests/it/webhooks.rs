//! Webhooks (issue 17, item 4; HUBSPOT-API-2.md §5): events are written with the change that
//! causes them (a change that rolls back sends nothing; one committed before a crash is sent
//! later), delivered signed (v1 and v3) in batches of at most 100 to a real HTTP receiver on
//! loopback, retried on the schedule with the manual clock (5xx and 429 again, other 4xx
//! never, 10 attempts at most), and never more requests in flight than the app allows.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use fd_app::domain::*;
use fd_app::{
    Actor, App, NewTicket, WEBHOOK_LEASE_MS, WebhookAccess, webhook_signature_v1,
    webhook_signature_v3,
};
use fd_testkit::{START_MS, TestApp};
use serde_json::Value;

use crate::common::*;

fd_testkit::on_both_backends! {
    webhooks_deliver_subscribed_events_signed_with_v1_and_v3 => signed_delivery;
    webhooks_outbox_commits_with_the_change_or_not_at_all => rollback;
    webhooks_committed_events_survive_a_crash_and_an_abandoned_lease => crash;
    webhooks_retry_5xx_and_429_on_the_schedule_and_give_up_on_4xx => retries;
    webhooks_stop_after_ten_attempts => ten_attempts;
    webhooks_send_at_most_100_events_per_request => batching;
    webhooks_keep_to_the_apps_max_concurrent_requests => throttling;
    webhooks_record_merges_restores_associations_messages_and_purges => event_kinds;
    webhooks_log_replays_and_prunes => replay_and_prune;
}

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Captured {
    uri: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Captured {
    fn events(&self) -> Vec<Value> {
        serde_json::from_slice::<Value>(&self.body)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }

    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
            .to_string()
    }
}

#[derive(Default)]
struct ReceiverState {
    got: Vec<Captured>,
    /// Answers to give, in order (status, Retry-After); 200 once empty.
    script: VecDeque<(u16, Option<&'static str>)>,
    in_flight: usize,
    max_in_flight: usize,
    /// Requests are held until this many are in flight at once (or `hold_total` arrived).
    hold_until: usize,
    hold_total: usize,
}

/// A real HTTP server on 127.0.0.1 that records every request.
struct Receiver {
    url: String,
    state: Arc<Mutex<ReceiverState>>,
    open: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Receiver {
    async fn start() -> Receiver {
        let state = Arc::new(Mutex::new(ReceiverState::default()));
        let (open, _) = tokio::sync::watch::channel(false);
        let open = Arc::new(open);
        let (s, o) = (state.clone(), open.clone());
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: HeaderMap, body: Bytes| {
                let (state, open) = (s.clone(), o.clone());
                async move {
                    let held = {
                        let mut st = state.lock().unwrap();
                        st.got.push(Captured {
                            uri: uri.to_string(),
                            headers,
                            body,
                        });
                        st.in_flight += 1;
                        st.max_in_flight = st.max_in_flight.max(st.in_flight);
                        if st.hold_until > 0
                            && (st.in_flight >= st.hold_until || st.got.len() >= st.hold_total)
                        {
                            open.send_replace(true);
                        }
                        st.hold_until > 0
                    };
                    if held {
                        let mut rx = open.subscribe();
                        let _ = rx.wait_for(|o| *o).await;
                    }
                    let mut st = state.lock().unwrap();
                    st.in_flight -= 1;
                    let (code, retry_after) = st.script.pop_front().unwrap_or((200, None));
                    let mut res = axum::response::Response::new(axum::body::Body::empty());
                    *res.status_mut() = StatusCode::from_u16(code).unwrap();
                    if let Some(r) = retry_after {
                        res.headers_mut().insert("Retry-After", r.parse().unwrap());
                    }
                    res
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver {
            url: format!("http://{addr}/hooks/in?source=frontdesk"),
            state,
            open,
        }
    }

    fn got(&self) -> Vec<Captured> {
        self.state.lock().unwrap().got.clone()
    }

    fn answer(&self, answers: &[(u16, Option<&'static str>)]) {
        self.state
            .lock()
            .unwrap()
            .script
            .extend(answers.iter().copied());
    }
}

struct Hooked {
    access: WebhookAccess,
    secret: String,
    receiver: Receiver,
}

/// An app delivering to a fresh receiver, subscribed to `subs` (event type, property).
async fn hooked(t: &TestApp, subs: &[(&str, Option<&str>)]) -> Hooked {
    let receiver = Receiver::start().await;
    let created = t
        .app
        .create_webhook_app(&Actor::system(), "Integration")
        .await
        .unwrap();
    let access = t
        .app
        .webhook_app_for_key(created.app.id, Some(&created.developer_key))
        .await
        .unwrap();
    t.app
        .put_webhook_settings(&access, &receiver.url, 5)
        .await
        .unwrap();
    for (kind, prop) in subs {
        t.app
            .create_webhook_subscription(&access, kind, *prop, true)
            .await
            .unwrap();
    }
    Hooked {
        access,
        secret: created.client_secret,
        receiver,
    }
}

async fn deliver(t: &TestApp) -> fd_app::WebhookRun {
    t.app.run_webhook_deliveries().await.unwrap()
}

fn all_events(r: &Receiver) -> Vec<Value> {
    r.got().iter().flat_map(Captured::events).collect()
}

async fn signed_delivery(t: TestApp) {
    let h = hooked(
        &t,
        &[
            ("ticket.creation", None),
            ("ticket.propertyChange", Some("subject")),
        ],
    )
    .await;
    // Subscribed, but inactive: sends nothing.
    let off = t
        .app
        .create_webhook_subscription(&h.access, "contact.creation", None, false)
        .await
        .unwrap();
    let (_, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let tk = ticket(&t, &agent, "Printer on fire").await;
    update(&t, &agent, tk.id, &[("subject", "Printer still on fire")]).await;
    update(&t, &agent, tk.id, &[("hs_ticket_priority", "HIGH")]).await;
    contact(&t, "someone@example.com").await;

    let run = deliver(&t).await;
    assert_eq!((run.requests, run.delivered), (1, 2));
    let got = h.receiver.got();
    assert_eq!(got.len(), 1);
    let req = &got[0];
    assert_eq!(req.uri, "/hooks/in?source=frontdesk");
    assert_eq!(req.header("content-type"), "application/json");
    let ts = req.header("x-hubspot-request-timestamp");
    let sent_at: i64 = ts.parse().unwrap();
    assert!(
        (START_MS..=t.app.now()).contains(&sent_at),
        "the injected clock's time"
    );
    assert_eq!(
        req.header("x-hubspot-signature-v3"),
        webhook_signature_v3(&h.secret, "POST", &h.receiver.url, &req.body, &ts)
    );
    assert_eq!(req.header("x-hubspot-signature-version"), "v1");
    assert_eq!(
        req.header("x-hubspot-signature"),
        webhook_signature_v1(&h.secret, &req.body)
    );
    assert_ne!(
        req.header("x-hubspot-signature-v3"),
        webhook_signature_v3("another secret", "POST", &h.receiver.url, &req.body, &ts)
    );
    let events = req.events();
    assert_eq!(events.len(), 2);
    let (created, changed) = (&events[0], &events[1]);
    assert_eq!(created["subscriptionType"], "ticket.creation");
    assert_eq!(created["objectId"], tk.id.0);
    assert_eq!(created["changeFlag"], "CREATED");
    assert_eq!(created["attemptNumber"], 0);
    assert_eq!(created["appId"], h.access.app().id);
    let occurred = created["occurredAt"].as_i64().unwrap();
    assert!((START_MS..=sent_at).contains(&occurred));
    assert!(created["portalId"].as_i64().unwrap() > 0);
    assert_eq!(
        created["sourceId"],
        format!("userId:{}", agent.user_id().unwrap())
    );
    assert_eq!(changed["subscriptionType"], "ticket.propertyChange");
    assert_eq!(changed["propertyName"], "subject");
    assert_eq!(changed["propertyValue"], "Printer still on fire");
    assert!(changed["eventId"].as_i64().unwrap() > created["eventId"].as_i64().unwrap());
    assert!(events.iter().all(|e| e["subscriptionId"] != off.id));

    // Delivered once: a second run has nothing to send.
    assert_eq!(deliver(&t).await.requests, 0);
    assert_eq!(h.receiver.got().len(), 1);

    // Switched on, the contact subscription hears the next contact only.
    t.app
        .set_webhook_subscription_active(&h.access, off.id, true)
        .await
        .unwrap();
    let k = contact(&t, "next@example.com").await;
    deliver(&t).await;
    let last = h.receiver.got()[1].events();
    assert_eq!(last.len(), 1);
    assert_eq!(last[0]["subscriptionType"], "contact.creation");
    assert_eq!(last[0]["objectId"], k.id.0);
}

async fn rollback(t: TestApp) {
    let h = hooked(&t, &[("ticket.creation", None), ("contact.creation", None)]).await;
    // A use case refused after it wrote a contact: neither the contact nor its event stays.
    let refused = t
        .app
        .create_ticket_with_contact(
            &Actor::system(),
            NewTicket {
                properties: props(&[("subject", "x"), ("hs_pipeline_stage", "999")]),
                ..NewTicket::default()
            },
            "ghost@example.com",
        )
        .await;
    assert!(refused.is_err());
    assert_eq!(
        t.app
            .contact_id_by_email("ghost@example.com")
            .await
            .unwrap(),
        None
    );
    // The outbox's insert failing takes the change with it: never a change without its event.
    let (install, remove): (&[&str], &[&str]) = match t.backend {
        fd_store::Backend::Sqlite => (
            &["CREATE TRIGGER no_outbox BEFORE INSERT ON webhook_events \
               BEGIN SELECT RAISE(ABORT, 'outbox refused by the test'); END"],
            &["DROP TRIGGER no_outbox"],
        ),
        fd_store::Backend::Postgres => (
            &[
                "CREATE FUNCTION no_outbox() RETURNS trigger AS $$ BEGIN \
                 RAISE EXCEPTION 'outbox refused by the test'; END $$ LANGUAGE plpgsql",
                "CREATE TRIGGER no_outbox BEFORE INSERT ON webhook_events FOR EACH ROW \
                 EXECUTE FUNCTION no_outbox()",
            ],
            &[
                "DROP TRIGGER no_outbox ON webhook_events",
                "DROP FUNCTION no_outbox()",
            ],
        ),
    };
    exec(&t, install).await;
    let before = ticket_count(&t).await;
    let r = t
        .app
        .create_ticket(
            &Actor::system(),
            NewTicket {
                properties: props(&[("subject", "Lost?"), ("hs_pipeline_stage", STAGE_NEW)]),
                ..NewTicket::default()
            },
        )
        .await;
    assert!(r.is_err(), "the change fails with its outbox");
    assert_eq!(ticket_count(&t).await, before);
    exec(&t, remove).await;
    assert_eq!(deliver(&t).await.requests, 0);
    assert!(h.receiver.got().is_empty());
    assert!(
        t.app
            .webhook_log(&h.access)
            .await
            .unwrap()
            .events
            .is_empty()
    );

    // With the outbox back, the same change is reported.
    let tk = ticket(&t, &Actor::system(), "Found").await;
    deliver(&t).await;
    let events = all_events(&h.receiver);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["objectId"], tk.id.0);
}

async fn exec(t: &TestApp, sqls: &[&str]) {
    let mut tx = t.app.db().write().await.unwrap();
    for sql in sqls {
        tx.exec_test_sql(sql).await.unwrap();
    }
    tx.commit().await.unwrap();
}

async fn crash(t: TestApp) {
    let h = hooked(&t, &[("ticket.creation", None)]).await;
    let first = ticket(&t, &Actor::system(), "Before the crash").await;
    // The process dies after the commit, before any delivery: a new process on the same
    // database (a fresh App, nothing in memory) sends it.
    let db = fd_store::Db::connect(&t.url).await.unwrap();
    let fresh = App::new(db, t.clock.clone());
    let run = fresh.run_webhook_deliveries().await.unwrap();
    assert_eq!(run.delivered, 1);
    assert_eq!(all_events(&h.receiver)[0]["objectId"], first.id.0);

    // A runner that claimed an event and died mid-request: the lease lapses, then another
    // sends it, as its second attempt.
    let second = ticket(&t, &Actor::system(), "During the crash").await;
    let mut tx = t.app.db().write().await.unwrap();
    let claimed = tx
        .claim_webhook_events(t.app.now(), WEBHOOK_LEASE_MS, 10)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(fresh.run_webhook_deliveries().await.unwrap().requests, 0);
    t.clock.advance_ms(WEBHOOK_LEASE_MS);
    assert_eq!(fresh.run_webhook_deliveries().await.unwrap().delivered, 1);
    let events = all_events(&h.receiver);
    assert_eq!(events.len(), 2);
    assert_eq!(events[1]["objectId"], second.id.0);
    assert_eq!(events[1]["attemptNumber"], 1);
}

async fn retries(t: TestApp) {
    let h = hooked(&t, &[("ticket.creation", None)]).await;
    ticket(&t, &Actor::system(), "Flaky receiver").await;
    h.receiver
        .answer(&[(500, None), (429, Some("120")), (200, None)]);
    let run = deliver(&t).await;
    assert_eq!((run.requests, run.retried), (1, 1));
    // Not due yet; the first retry comes within a minute (30 s less jitter).
    t.clock.advance_ms(10_000);
    assert_eq!(deliver(&t).await.requests, 0);
    t.clock.advance_ms(20_000);
    assert_eq!(deliver(&t).await.requests, 1, "second attempt after 500");
    // 429 with Retry-After: 120 waits two minutes, more than the schedule's second delay
    // allows less jitter, but not less than it asks.
    t.clock.advance_ms(100_000);
    assert_eq!(deliver(&t).await.requests, 0);
    t.clock.advance_ms(20_000);
    assert_eq!(deliver(&t).await.delivered, 1, "third attempt after 429");
    let attempts: Vec<Value> = all_events(&h.receiver)
        .iter()
        .map(|e| e["attemptNumber"].clone())
        .collect();
    assert_eq!(attempts, vec![0, 1, 2]);
    let ids: Vec<Value> = all_events(&h.receiver)
        .iter()
        .map(|e| e["eventId"].clone())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "a stable eventId");

    // 4xx other than 429: given up at once.
    for code in [400, 404] {
        ticket(&t, &Actor::system(), "Refused").await;
        h.receiver.answer(&[(code, None)]);
        let run = deliver(&t).await;
        assert_eq!((run.requests, run.failed), (1, 1));
        t.clock.advance_ms(2 * 86_400_000);
        assert_eq!(deliver(&t).await.requests, 0);
    }
    let log = t.app.webhook_log(&h.access).await.unwrap();
    assert_eq!(log.deliveries.len(), 5);
    assert_eq!(log.deliveries[0].outcome, "failed");
    assert_eq!(log.deliveries[0].status, Some(404));
    assert_eq!(log.events[0].state, "failed");
    assert_eq!(log.events[2].state, "delivered");
    // A receiver that is not there: a connection error, retried, with its words kept.
    t.app
        .put_webhook_settings(&h.access, "http://127.0.0.1:9/closed", 5)
        .await
        .unwrap();
    ticket(&t, &Actor::system(), "Nobody listens").await;
    let run = deliver(&t).await;
    assert_eq!(run.retried, 1);
    let log = t.app.webhook_log(&h.access).await.unwrap();
    assert_eq!(log.deliveries[0].outcome, "retry");
    assert_eq!(log.deliveries[0].status, None);
    assert!(
        log.deliveries[0]
            .error
            .as_deref()
            .is_some_and(|e| !e.is_empty())
    );
}

async fn ten_attempts(t: TestApp) {
    let h = hooked(&t, &[("ticket.creation", None)]).await;
    ticket(&t, &Actor::system(), "Always down").await;
    h.receiver.answer(&[(503, None); 12]);
    let mut requests = 0;
    let mut elapsed = 0;
    for _ in 0..12 {
        requests += deliver(&t).await.requests;
        // Past the longest delay of the schedule.
        t.clock.advance_ms(8 * 3_600_000);
        elapsed += 8 * 3_600_000;
    }
    assert_eq!(requests, 10);
    let log = t.app.webhook_log(&h.access).await.unwrap();
    assert_eq!(log.events[0].state, "failed");
    assert_eq!(log.events[0].attempts, 10);
    assert_eq!(log.deliveries[0].attempt_number, 9);
    assert!(elapsed > 24 * 3_600_000);
}

async fn batching(t: TestApp) {
    let h = hooked(&t, &[("contact.creation", None)]).await;
    for i in 0..150 {
        contact(&t, &format!("c{i}@example.com")).await;
    }
    let run = deliver(&t).await;
    assert_eq!((run.requests, run.delivered), (2, 150));
    let sizes: Vec<usize> = h.receiver.got().iter().map(|c| c.events().len()).collect();
    assert_eq!(sizes.iter().sum::<usize>(), 150);
    assert!(sizes.iter().all(|n| *n <= 100));
}

async fn throttling(t: TestApp) {
    let h = hooked(&t, &[("ticket.creation", None)]).await;
    // 601 events in the outbox (7 requests of at most 100), written directly: the runner
    // does not care where they came from.
    let app = h.access.app().id;
    exec(
        &t,
        &[&format!(
            "INSERT INTO webhook_events (app_id, subscription_id, event_type, object_id, body, \
             occurred_at, state, attempts, next_attempt_at) \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 601) \
             SELECT {app}, 1, 'ticket.creation', i, '{{\"objectId\":1}}', {START_MS}, 'pending', 0, {START_MS} FROM n"
        )],
    )
    .await;
    {
        let mut st = h.receiver.state.lock().unwrap();
        st.hold_until = 5;
        st.hold_total = 7;
    }
    let run = deliver(&t).await;
    assert_eq!((run.requests, run.delivered), (7, 601));
    let st = h.receiver.state.lock().unwrap();
    assert_eq!(st.max_in_flight, 5, "five at once, never more");
    drop(st);
    assert!(*h.receiver.open.borrow());
}

async fn event_kinds(t: TestApp) {
    let h = hooked(
        &t,
        &[
            ("ticket.deletion", None),
            ("ticket.restore", None),
            ("ticket.merge", None),
            ("ticket.associationChange", None),
            ("contact.associationChange", None),
            ("conversation.newMessage", None),
            ("conversation.creation", None),
        ],
    )
    .await;
    let sys = Actor::system();
    let (conv, tk, k) = conversation_with_ticket(&t, "visitor@example.com").await;
    let other = ticket(&t, &sys, "Other").await;
    t.app.trash_ticket(&sys, other.id).await.unwrap();
    t.app.restore_ticket(&sys, other.id).await.unwrap();
    t.app.merge_tickets(&sys, tk.id, other.id).await.unwrap();
    t.app.unmerge_ticket(&sys, tk.id, other.id).await.unwrap();
    t.app
        .dissociate(
            &sys,
            fd_app::AssociationEnd::new(ObjectType::Ticket, tk.id.0),
            fd_app::AssociationEnd::new(ObjectType::Contact, k.id.0),
        )
        .await
        .unwrap();
    t.app.trash_ticket(&sys, other.id).await.unwrap();
    t.clock.advance_ms(400 * 86_400_000);
    t.app.purge_trash().await.unwrap();
    deliver(&t).await;
    let events = all_events(&h.receiver);
    let kinds: Vec<String> = events
        .iter()
        .map(|e| {
            format!(
                "{} {} {}",
                e["subscriptionType"].as_str().unwrap(),
                e["objectId"],
                e.get("changeFlag")
                    .or(e.get("associationRemoved"))
                    .map(ToString::to_string)
                    .unwrap_or_default()
            )
        })
        .collect();
    let has = |s: String| assert!(kinds.contains(&s), "{s} not in {kinds:#?}");
    has(format!("conversation.creation {} \"CREATED\"", conv.id));
    has(format!(
        "conversation.newMessage {} \"NEW_MESSAGE\"",
        conv.id
    ));
    has(format!("ticket.associationChange {} false", tk.id));
    has(format!("contact.associationChange {} false", k.id));
    has(format!("ticket.deletion {} \"DELETED\"", other.id));
    has(format!("ticket.restore {} \"RESTORED\"", other.id));
    has(format!("ticket.merge {} ", tk.id));
    has(format!("ticket.associationChange {} true", tk.id));
    has(format!("contact.associationChange {} true", k.id));
    has(format!("ticket.deletion {} \"PURGED\"", other.id));
    // Restored twice: from the trash, and by the unmerge.
    assert_eq!(
        kinds
            .iter()
            .filter(|s| s.starts_with(&format!("ticket.restore {} ", other.id)))
            .count(),
        2
    );
    let merge = events
        .iter()
        .find(|e| e["subscriptionType"] == "ticket.merge")
        .unwrap();
    assert_eq!(merge["primaryObjectId"], tk.id.0);
    assert_eq!(merge["mergedObjectIds"], serde_json::json!([other.id.0]));
    let removed = events
        .iter()
        .find(|e| {
            e["subscriptionType"] == "ticket.associationChange" && e["associationRemoved"] == true
        })
        .unwrap();
    assert_eq!(removed["associationType"], "TICKET_TO_CONTACT");
    assert_eq!(removed["toObjectId"], k.id.0);
    assert!(
        events
            .iter()
            .all(|e| e["occurredAt"].as_i64().unwrap() >= START_MS)
    );
}

async fn replay_and_prune(t: TestApp) {
    let h = hooked(&t, &[("ticket.creation", None)]).await;
    ticket(&t, &Actor::system(), "Replay me").await;
    h.receiver.answer(&[(400, None)]);
    deliver(&t).await;
    let log = t.app.webhook_log(&h.access).await.unwrap();
    let (event, delivery) = (log.events[0].clone(), log.deliveries[0].clone());
    assert_eq!(event.state, "failed");
    t.app
        .replay_webhook_event(&h.access, event.id)
        .await
        .unwrap();
    assert_eq!(deliver(&t).await.delivered, 1);
    let again = all_events(&h.receiver);
    assert_eq!(again[1]["eventId"], event.id, "the same event");
    assert_eq!(again[1]["attemptNumber"], 0);
    // A whole logged request again.
    assert_eq!(
        t.app
            .replay_webhook_delivery(&h.access, delivery.id)
            .await
            .unwrap(),
        1
    );
    assert_eq!(deliver(&t).await.delivered, 1);
    assert!(
        t.app
            .replay_webhook_event(&h.access, 999_999)
            .await
            .is_err()
    );
    // Another app cannot replay this app's events.
    let other = hooked(&t, &[]).await;
    assert!(
        t.app
            .replay_webhook_event(&other.access, event.id)
            .await
            .is_err()
    );
    // Pruning keeps what is younger than the period, then removes it.
    assert_eq!(t.app.prune_webhook_events(30).await.unwrap(), 0);
    t.clock.advance_ms(31 * 86_400_000);
    assert_eq!(t.app.prune_webhook_events(30).await.unwrap(), 1);
    let log = t.app.webhook_log(&h.access).await.unwrap();
    assert!(log.events.is_empty() && log.deliveries.is_empty());
    // A new event gets a new id, never one handed out before.
    ticket(&t, &Actor::system(), "After pruning").await;
    deliver(&t).await;
    let last = all_events(&h.receiver).pop().unwrap();
    assert!(last["eventId"].as_i64().unwrap() > event.id);
}
