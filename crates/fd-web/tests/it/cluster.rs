//! Several nodes on one PostgreSQL database (issue 17, item 3): two apps on the same
//! database, each with its own pool, relay listener and router on a port of its own, as two
//! `frontdesk serve` processes have. What one node commits or learns must reach the other:
//! live events, presence, token revocation, configuration. (The process-level test that
//! starts two `frontdesk serve` binaries is in the frontdesk crate.)

use fd_app::domain::*;
use fd_app::{Actor, App, NewTicket};
use fd_testkit::TestApp;
use reqwest::StatusCode;
use serde_json::json;

use crate::ui_common::*;

/// A second node on `t`'s database, relaying like the first.
async fn second_node(t: &TestApp) -> App {
    let app = t.another_node().await;
    assert!(app.start_cluster_relay().await.unwrap().is_some());
    app
}

async fn ticket(app: &App, subject: &str) -> TicketId {
    app.create_ticket(
        &Actor::system(),
        NewTicket {
            properties: [
                ("subject".to_string(), subject.to_string()),
                ("hs_pipeline_stage".to_string(), "1".to_string()),
            ]
            .into(),
            ..NewTicket::default()
        },
    )
    .await
    .unwrap()
    .id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_live_events_presence_tokens_and_configuration_postgres() {
    let Some(t) = TestApp::postgres().await else {
        return;
    };
    assert!(t.app.start_cluster_relay().await.unwrap().is_some());
    let node_b = second_node(&t).await;
    assert_ne!(t.app.node_id(), node_b.node_id());
    t.admin("ann@example.com").await;
    agent(&t, "bob@example.com").await;
    let base_a = serve(&t).await;
    let base_b = serve_app(node_b.clone()).await;
    let id = ticket(&t.app, "Printer on fire").await;

    // Live events: a change committed through node A (an API write) reaches a stream on
    // node B.
    let http = reqwest::Client::new();
    let admin_token = t
        .app
        .create_api_token(&Actor::system(), "ann@example.com", None)
        .await
        .unwrap()
        .token;
    let ann_b = Browser::login(&base_b, "ann@example.com").await;
    let mut stream_b = Stream::open(&ann_b, &format!("?watch=ticket:{id}"))
        .await
        .unwrap();
    assert_eq!(stream_b.next_named("presence").await, "[]");
    let patched = http
        .patch(format!("{base_a}/crm/v3/objects/tickets/{id}"))
        .bearer_auth(&admin_token)
        .json(&json!({"properties": {"hs_ticket_priority": "HIGH"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::OK);
    assert_eq!(stream_b.next_named("ticket").await, id.to_string());

    // Presence: Bob opens the ticket on node A; Ann on node B sees him, and he sees her.
    let bob_a = Browser::login(&base_a, "bob@example.com").await;
    let mut stream_a = Stream::open(&bob_a, &format!("?watch=ticket:{id}"))
        .await
        .unwrap();
    let seen_by_bob = stream_a.next_named("presence").await;
    let seen_by_ann = stream_b.next_named("presence").await;
    assert!(seen_by_ann.contains("bob"), "{seen_by_ann}");
    // Bob's first list may predate Ann's report reaching node A; the next one has her.
    if !seen_by_bob.contains("ann") {
        let again = stream_a.next_named("presence").await;
        assert!(again.contains("ann"), "{again}");
    }
    let typing = bob_a
        .post(
            "/ui/presence",
            &[("watch", &format!("ticket:{id}")), ("replying", "1")],
        )
        .await;
    assert!(typing.status.is_success(), "{}", typing.status);
    let replying = stream_b.next_named("presence").await;
    assert!(replying.contains("\"replying\":true"), "{replying}");
    // Bob leaves (his page closes on node A): node B forgets him.
    drop(stream_a);
    let left = stream_b.next_named("presence").await;
    assert_eq!(left, "[]");

    // Token revocation: a token revoked through node B stops working on node A at once.
    let token = t
        .app
        .create_api_token(&Actor::system(), "ann@example.com", None)
        .await
        .unwrap();
    let read = |base: String, token: String| {
        let http = http.clone();
        async move {
            http.get(format!("{base}/crm/v3/objects/tickets/{id}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(
        read(base_a.clone(), token.token.clone()).await,
        StatusCode::OK
    );
    node_b
        .revoke_api_token(&Actor::system(), token.id)
        .await
        .unwrap();
    assert_eq!(
        read(base_a.clone(), token.token.clone()).await,
        StatusCode::UNAUTHORIZED
    );

    // Configuration: a property created through node A is known to node B's next request,
    // and node B validates a write against it.
    let created = http
        .post(format!("{base_a}/crm/v3/properties/tickets"))
        .bearer_auth(&admin_token)
        .json(&json!({
            "name": "plan", "label": "Plan", "type": "enumeration", "fieldType": "select",
            "groupName": "ticketinformation",
            "options": [{"label": "Gold", "value": "gold"}, {"label": "Free", "value": "free"}]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        created.status(),
        StatusCode::CREATED,
        "{}",
        created.text().await.unwrap()
    );
    let update = |value: &'static str| {
        let (http, base, token) = (http.clone(), base_b.clone(), admin_token.clone());
        async move {
            http.patch(format!("{base}/crm/v3/objects/tickets/{id}"))
                .bearer_auth(token)
                .json(&json!({"properties": {"plan": value}}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(update("gold").await, StatusCode::OK);
    assert_eq!(update("platinum").await, StatusCode::BAD_REQUEST);
}

/// Issue 17, item 3: work that must run on one node at a time (an IMAP mailbox's poller,
/// the periodic sweeps) runs on the holder of its lease; a node that stops renewing (it was
/// killed) loses the lease once it expires, and a node shutting down gives it up at once.
async fn leases_keep_work_on_one_node_until_its_holder_stops(t: TestApp) {
    let node_b = t.another_node().await;
    let a = &t.app;
    assert!(a.hold_lease("imap:support", 30_000).await.unwrap());
    assert!(!node_b.hold_lease("imap:support", 30_000).await.unwrap());
    assert_eq!(
        node_b
            .lease_holder("imap:support")
            .await
            .unwrap()
            .as_deref(),
        Some(a.node_id())
    );
    // Another mailbox is another lease.
    assert!(node_b.hold_lease("imap:sales", 30_000).await.unwrap());
    // The holder renews; the other node still cannot take it.
    t.clock.advance_ms(20_000);
    assert!(a.hold_lease("imap:support", 30_000).await.unwrap());
    t.clock.advance_ms(20_000);
    assert!(!node_b.hold_lease("imap:support", 30_000).await.unwrap());
    // Node A stops renewing (killed): once the lease expires, node B takes it over.
    t.clock.advance_ms(10_001);
    assert!(node_b.hold_lease("imap:support", 30_000).await.unwrap());
    assert!(!a.hold_lease("imap:support", 30_000).await.unwrap());
    // Node B shuts down and gives both up; node A takes one at once.
    node_b.release_lease("imap:support").await.unwrap();
    node_b.release_lease("imap:sales").await.unwrap();
    assert_eq!(node_b.lease_holder("imap:sales").await.unwrap(), None);
    assert!(a.hold_lease("imap:support", 30_000).await.unwrap());
    // Releasing a lease one does not hold changes nothing.
    node_b.release_lease("imap:support").await.unwrap();
    assert_eq!(
        node_b
            .lease_holder("imap:support")
            .await
            .unwrap()
            .as_deref(),
        Some(a.node_id())
    );
}

fd_testkit::on_both_backends! {
    cluster_leases_keep_work_on_one_node => leases_keep_work_on_one_node_until_its_holder_stops;
}

/// Two nodes racing for one lease many times: exactly one wins each round.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_nodes_never_both_hold_a_lease_postgres() {
    let Some(t) = TestApp::postgres().await else {
        return;
    };
    let node_b = t.another_node().await;
    for round in 0..20 {
        let name = format!("race-{round}");
        let (x, y) = tokio::join!(
            t.app.hold_lease(&name, 30_000),
            node_b.hold_lease(&name, 30_000)
        );
        assert!(
            x.unwrap() ^ y.unwrap(),
            "round {round}: exactly one node holds it"
        );
    }
}
