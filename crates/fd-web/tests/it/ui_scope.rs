//! Ticket access (HD-09) on the UI's other roads, from the hardening review: presence and
//! the live event stream (finding 4), writes for a hidden ticket that used to leave records
//! behind (finding 8), and the message routes of a hidden ticket's mail.

use std::collections::BTreeMap;

use fd_app::domain::*;
use fd_app::{Actor, InboundMessage, NewConversation, NewTicket, TicketChanges, TicketCreation};
use fd_testkit::TestApp;
use reqwest::StatusCode;

use crate::ui_common::*;

fd_testkit::on_both_backends! {
    hardening_4_presence_of_a_hidden_ticket_is_refused => presence_of_hidden_ticket_is_refused;
    hardening_4_live_events_follow_current_access => live_events_follow_current_access;
    hardening_8_hidden_ticket_add_contact_writes_nothing => hidden_ticket_add_contact_writes_nothing;
    hd_09_message_routes_of_a_hidden_ticket => message_routes_of_hidden_ticket;
}

/// A ticket with an email conversation (one inbound message), owned by
/// `owner` (or nobody).
async fn ticket_with_mail(t: &TestApp, owner: Option<UserId>) -> (TicketId, ConversationId) {
    let sys = Actor::system();
    let (c, tk) = t
        .app
        .create_conversation(
            &sys,
            NewConversation {
                channel: Channel::Email,
                channel_account: None,
                workspace: Workspace::Inbox,
                team: None,
                owner,
                contact: None,
                visitor_name: Some("Carl".into()),
                visitor_email: Some("carl@customer.example".into()),
                subject: Some("Help".into()),
                ticket: TicketCreation::Automatic,
            },
            Some(InboundMessage {
                sender_name: Some("Carl".into()),
                sender_address: Some("carl@customer.example".into()),
                subject: Some("Help".into()),
                text: "The secret plans are attached".into(),
                html: Some("<p>The secret plans are attached</p>".into()),
                ..InboundMessage::default()
            }),
        )
        .await
        .unwrap();
    let tk = tk.unwrap();
    // Routing may have given it to an agent: the owner is set here, whoever it is.
    t.app.assign_ticket_owner(&sys, tk.id, owner).await.unwrap();
    assert_eq!(t.app.ticket(&sys, tk.id).await.unwrap().owner_id, owner);
    (tk.id, c.id)
}

async fn touch(t: &TestApp, id: TicketId, priority: &str) {
    let mut props = BTreeMap::new();
    props.insert("hs_ticket_priority".to_string(), priority.to_string());
    t.app
        .update_ticket(
            &Actor::system(),
            id,
            TicketChanges {
                properties: props,
                expected_version: None,
            },
        )
        .await
        .unwrap();
}

/// Finding 4: watching a ticket one may not see is refused, announces nobody, and shows
/// nobody; the watchers who may see it still see each other.
async fn presence_of_hidden_ticket_is_refused(t: TestApp) {
    t.admin("ann@example.com").await;
    t.agent("olga@example.com", TicketAccessLevel::Owned, &[])
        .await;
    agent(&t, "bob@example.com").await;
    t.user_with(
        "nora@example.com",
        Role::Agent,
        TicketAccessLevel::All,
        &[],
        false,
    )
    .await;
    let (hidden, _) = ticket_with_mail(&t, None).await;
    let base = serve(&t).await;
    let ann = Browser::login(&base, "ann@example.com").await;
    let olga = Browser::login(&base, "olga@example.com").await;
    let bob = Browser::login(&base, "bob@example.com").await;
    let nora = Browser::login(&base, "nora@example.com").await;
    let watch = format!("?watch=ticket:{hidden}");

    let mut ann_stream = Stream::open(&ann, &watch).await.unwrap();
    assert_eq!(ann_stream.next().await, ("presence".into(), "[]".into()));
    // Owned-only access and no Service access: refused before anyone hears of them.
    for who in [&olga, &nora] {
        assert_eq!(
            Stream::open(who, &watch).await.err(),
            Some(StatusCode::NOT_FOUND)
        );
        let typing = who
            .post(
                "/ui/presence",
                &[("watch", &format!("ticket:{hidden}")), ("replying", "1")],
            )
            .await;
        assert!(typing.status.is_success(), "{}", typing.status);
    }
    // Bob may see it: Ann's next presence is Bob alone, and Bob sees Ann alone.
    let mut bob_stream = Stream::open(&bob, &watch).await.unwrap();
    let seen_by_bob = bob_stream.next_named("presence").await;
    assert!(
        seen_by_bob.contains("ann") && !seen_by_bob.contains("olga"),
        "{seen_by_bob}"
    );
    let seen_by_ann = ann_stream.next_named("presence").await;
    assert!(
        seen_by_ann.contains("bob")
            && !seen_by_ann.contains("olga")
            && !seen_by_ann.contains("nora"),
        "{seen_by_ann}"
    );
}

/// Finding 4 (and the SSE forwarding): an event about a ticket reaches a stream only while
/// its agent may see the ticket, judged by their access now, not when the stream began.
async fn live_events_follow_current_access(t: TestApp) {
    let (_, admin) = t.admin("ann@example.com").await;
    let (carl, _) = agent(&t, "carl@example.com").await;
    let (olga, _) = t
        .agent("olga@example.com", TicketAccessLevel::Owned, &[])
        .await;
    let (hidden, _) = ticket_with_mail(&t, None).await;
    let (carls, _) = ticket_with_mail(&t, Some(carl.id)).await;
    let (olgas, _) = ticket_with_mail(&t, Some(olga.id)).await;
    let (olgas_next, _) = ticket_with_mail(&t, Some(olga.id)).await;
    let base = serve(&t).await;
    let carl_b = Browser::login(&base, "carl@example.com").await;
    let olga_b = Browser::login(&base, "olga@example.com").await;

    // An owned-only agent hears of their own ticket, never of the hidden one.
    let mut olga_events = Stream::open(&olga_b, "").await.unwrap();
    touch(&t, hidden, "HIGH").await;
    touch(&t, olgas, "HIGH").await;
    assert_eq!(olga_events.next_named("ticket").await, olgas.to_string());

    // Carl's stream begins with all-access; then he becomes owned-only.
    let mut carl_events = Stream::open(&carl_b, "").await.unwrap();
    t.app
        .update_user_access(
            &admin,
            carl.id,
            Role::Agent,
            false,
            true,
            false,
            Seat::Service,
            TicketAccessLevel::Owned,
        )
        .await
        .unwrap();
    touch(&t, hidden, "LOW").await;
    touch(&t, carls, "LOW").await;
    assert_eq!(carl_events.next_named("ticket").await, carls.to_string());

    // Olga watches her ticket; it is given to someone else, then Bob comes to look at it:
    // she hears nothing of Bob, and her stream goes on with what she may see.
    let mut olga_watch = Stream::open(&olga_b, &format!("?watch=ticket:{olgas}"))
        .await
        .unwrap();
    assert_eq!(olga_watch.next().await, ("presence".into(), "[]".into()));
    t.app
        .assign_ticket_owner(&admin, olgas, Some(carl.id))
        .await
        .unwrap();
    agent(&t, "bob@example.com").await;
    let bob_b = Browser::login(&base, "bob@example.com").await;
    let _bob_watch = Stream::open(&bob_b, &format!("?watch=ticket:{olgas}"))
        .await
        .unwrap();
    touch(&t, olgas_next, "LOW").await;
    let (name, data) = olga_watch.next().await;
    assert_eq!(
        (name.as_str(), data.as_str()),
        ("ticket", olgas_next.to_string().as_str()),
        "nothing about the ticket she lost"
    );
}

/// Finding 8: adding a contact, company or deal to a hidden ticket answers 404 and leaves
/// nothing behind.
async fn hidden_ticket_add_contact_writes_nothing(t: TestApp) {
    let (_, olga_actor) = t
        .agent("olga@example.com", TicketAccessLevel::Owned, &[])
        .await;
    let (hidden, _) = ticket_with_mail(&t, None).await;
    let base = serve(&t).await;
    let olga = Browser::login(&base, "olga@example.com").await;
    let r = olga
        .post(
            &format!("/tickets/{hidden}/contacts"),
            &[
                ("email", "sneaky@customer.example"),
                ("firstname", "Sneaky"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(
        t.app
            .contact_id_by_email("sneaky@customer.example")
            .await
            .unwrap(),
        None,
        "no contact was created"
    );
    for fields in [
        &[("kind", "company"), ("name", "Sneaky Ltd")][..],
        &[("kind", "deal"), ("name", "Sneaky deal")][..],
    ] {
        let r = olga
            .post(&format!("/tickets/{hidden}/associate"), fields)
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    }
    assert!(
        t.app
            .search_companies("Sneaky", 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Her own ticket takes the same contact.
    let mut props = BTreeMap::new();
    props.insert("subject".to_string(), "Mine".to_string());
    props.insert("hs_pipeline_stage".to_string(), "1".to_string());
    let mine = t
        .app
        .create_ticket(
            &olga_actor,
            NewTicket {
                properties: props,
                ..NewTicket::default()
            },
        )
        .await
        .unwrap();
    let r = olga
        .post(
            &format!("/tickets/{}/contacts", mine.id),
            &[("email", "sneaky@customer.example")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(
        t.app
            .contact_id_by_email("sneaky@customer.example")
            .await
            .unwrap()
            .is_some()
    );
}

/// A hidden ticket's messages: their HTML and attachments are "not found", like the ticket.
async fn message_routes_of_hidden_ticket(t: TestApp) {
    t.admin("ann@example.com").await;
    t.agent("olga@example.com", TicketAccessLevel::Owned, &[])
        .await;
    let (_, conv) = ticket_with_mail(&t, None).await;
    let m = t.app.messages(&Actor::system(), conv).await.unwrap()[0].id;
    let base = serve(&t).await;
    let ann = Browser::login(&base, "ann@example.com").await;
    let olga = Browser::login(&base, "olga@example.com").await;
    let html = format!("/mail/messages/{m}/html");
    assert_eq!(ann.get(&html).await.status, StatusCode::OK);
    let page = olga.get(&html).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(!page.body.contains("secret plans"));
    assert_eq!(
        olga.get(&format!("/mail/messages/{m}/attachments/0"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        olga.get(&format!("/inbox/conversations/{conv}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}
