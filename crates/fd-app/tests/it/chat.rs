//! Live chat (issue 14, item 3): HD-06 (a help-desk chat opens a ticket per conversation, an
//! inbox chat none), HD-15 (an agent's chat reply reaches the widget, or goes by email when the
//! visitor left an address while nobody was available, or is refused), HD-18 (a visitor's name
//! and address), visitor identification tokens, availability, read state and bad input.

use fd_app::domain::*;
use fd_app::{Actor, AppError, VisitorContact, VisitorMessage};
use fd_store::ChatChannel;
use fd_testkit::TestApp;

use crate::common::*;

fd_testkit::on_both_backends! {
    hd_06_help_desk_chat_opens_one_ticket_per_conversation => hd_06_help_desk;
    hd_06_inbox_chat_opens_no_ticket => hd_06_inbox;
    hd_15_chat_reply_reaches_the_widget_and_no_widget_means_refused => hd_15_widget;
    hd_15_nobody_available_asks_for_email_and_replies_go_by_email => hd_15_offline;
    hd_18_visitor_gives_name_and_email_then_becomes_a_contact => hd_18_chat;
    visitor_identification_token_makes_the_chat_the_contacts => identification;
    chat_read_state_and_bad_input => read_state_and_bad_input;
}

fn says(text: &str) -> VisitorMessage {
    VisitorMessage {
        text: text.into(),
        ..VisitorMessage::default()
    }
}

/// A team "Support" with an available agent Ann, and a chat channel in `ws`.
async fn setup(t: &TestApp, ws: Workspace) -> (Actor, ChatChannel) {
    let team = t.team("Support").await;
    let (_, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &["Support"])
        .await;
    t.app.set_availability(&ann, true).await.unwrap();
    let ch = t
        .app
        .create_chat_channel(&Actor::system(), "Website", team, ws)
        .await
        .unwrap();
    (ann, ch)
}

async fn hd_06_help_desk(t: TestApp) {
    let (ann, ch) = setup(&t, Workspace::HelpDesk).await;
    let before = ticket_count(&t).await;
    let first = t
        .app
        .chat_visitor_message(ch.id, None, says("My printer is on fire"))
        .await
        .unwrap();
    assert!(first.token.len() > 30, "an unguessable token");
    let c = conv(&t, first.conversation).await;
    assert_eq!(c.channel, Channel::Chat);
    assert_eq!(c.team_id, Some(ch.team_id));
    assert_eq!(c.workspace, Workspace::HelpDesk);
    let tk = t
        .app
        .ticket(&ann, c.ticket_id.expect("HD-06: a ticket"))
        .await
        .unwrap();
    assert_eq!(tk.subject, "My printer is on fire");
    assert_eq!(tk.team_id, Some(ch.team_id));
    // The same visitor again: the same conversation, no second ticket.
    let again = t
        .app
        .chat_visitor_message(ch.id, Some(&first.token), says("Still burning"))
        .await
        .unwrap();
    assert_eq!(again.conversation, first.conversation);
    assert_eq!(again.token, first.token);
    assert_eq!(ticket_count(&t).await, before + 1);
    // Another visitor: another conversation, another ticket.
    let other = t
        .app
        .chat_visitor_message(ch.id, None, says("Hello"))
        .await
        .unwrap();
    assert_ne!(other.conversation, first.conversation);
    assert_eq!(ticket_count(&t).await, before + 2);
    // What the widget shows: its own conversation only.
    let v = t.app.chat_view(ch.id, Some(&first.token)).await.unwrap();
    let texts: Vec<&str> = v.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, vec!["My printer is on fire", "Still burning"]);
    assert!(v.available);
}

async fn hd_06_inbox(t: TestApp) {
    let (_, ch) = setup(&t, Workspace::Inbox).await;
    let before = ticket_count(&t).await;
    let s = t
        .app
        .chat_visitor_message(ch.id, None, says("Question about sizes"))
        .await
        .unwrap();
    let c = conv(&t, s.conversation).await;
    assert_eq!(c.ticket_id, None);
    assert_eq!(c.workspace, Workspace::Inbox);
    assert_eq!(ticket_count(&t).await, before);
}

async fn hd_15_widget(t: TestApp) {
    let (ann, ch) = setup(&t, Workspace::HelpDesk).await;
    let s = t
        .app
        .chat_visitor_message(ch.id, None, says("Hi"))
        .await
        .unwrap();
    let m = t
        .app
        .send_reply(&ann, s.conversation, reply("Hello, how can I help?"))
        .await
        .unwrap();
    assert_eq!(m.channel, Channel::Chat);
    assert_eq!(m.status, DeliveryStatus::Sent);
    let v = t.app.chat_view(ch.id, Some(&s.token)).await.unwrap();
    let last = v.messages.last().unwrap();
    assert_eq!(
        (last.id, last.direction, last.text.as_str()),
        (m.id, Direction::Outbound, "Hello, how can I help?")
    );
    // A chat conversation no widget reads and with no address: refused, nothing stored.
    let (orphan, _) = t
        .app
        .create_conversation(
            &Actor::system(),
            new_conversation(Channel::Chat, None),
            Some(inbound("hi", "", "<o@x>")),
        )
        .await
        .unwrap();
    let n = t.app.messages(&ann, orphan.id).await.unwrap().len();
    match t.app.send_reply(&ann, orphan.id, reply("Anyone?")).await {
        Err(AppError::Domain(DomainError::RuleViolation { rule: "HD-15", .. })) => {}
        other => panic!("expected HD-15, got {other:?}"),
    }
    assert_eq!(t.app.messages(&ann, orphan.id).await.unwrap().len(), n);
}

async fn hd_15_offline(t: TestApp) {
    let (ann, ch) = setup(&t, Workspace::Inbox).await;
    t.app.set_availability(&ann, false).await.unwrap();
    assert!(!t.app.chat_view(ch.id, None).await.unwrap().available);
    // A member of another team being available does not help.
    t.team("Sales").await;
    let (_, bob) = t
        .agent("bob@example.com", TicketAccessLevel::All, &["Sales"])
        .await;
    t.app.set_availability(&bob, true).await.unwrap();
    assert!(!t.app.chat_view(ch.id, None).await.unwrap().available);
    let convs = t
        .app
        .count_conversations(&Actor::system(), &Default::default())
        .await
        .unwrap();
    assert_invalid(
        t.app
            .chat_visitor_message(ch.id, None, says("Do you ship to Norway?"))
            .await,
        "email",
    );
    assert_eq!(
        t.app
            .count_conversations(&Actor::system(), &Default::default())
            .await
            .unwrap(),
        convs,
        "nothing stored"
    );
    let s = t
        .app
        .chat_visitor_message(
            ch.id,
            None,
            VisitorMessage {
                email: Some("Nora@Example.com".into()),
                ..says("Do you ship to Norway?")
            },
        )
        .await
        .unwrap();
    let v = t.app.chat_view(ch.id, Some(&s.token)).await.unwrap();
    assert!(v.by_email);
    assert_eq!(
        conv(&t, s.conversation).await.visitor_email.as_deref(),
        Some("nora@example.com")
    );
    let m = t
        .app
        .send_reply(&ann, s.conversation, reply("Yes, we do."))
        .await
        .unwrap();
    assert_eq!(m.channel, Channel::Email, "the answer goes by email");
    assert_eq!(m.recipients.to, vec!["nora@example.com".to_string()]);
    assert_ne!(
        m.status,
        DeliveryStatus::Sent,
        "not sent until mail sends it"
    );
}

async fn hd_18_chat(t: TestApp) {
    let (ann, ch) = setup(&t, Workspace::HelpDesk).await;
    let s = t
        .app
        .chat_visitor_message(ch.id, None, says("Hi there"))
        .await
        .unwrap();
    t.app
        .chat_visitor_details(
            ch.id,
            &s.token,
            Some("Vera Blue"),
            Some("vera@customer.example"),
        )
        .await
        .unwrap();
    let c = conv(&t, s.conversation).await;
    assert_eq!(c.visitor_name.as_deref(), Some("Vera Blue"));
    assert_eq!(c.visitor_email.as_deref(), Some("vera@customer.example"));
    assert_eq!(c.contact_id, None, "the agent decides (HD-18)");
    let k = t
        .app
        .associate_visitor_with_contact(
            &ann,
            c.id,
            VisitorContact::New(fd_app::NewContact {
                email: c.visitor_email.clone(),
                firstname: Some("Vera".into()),
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    let d = t
        .app
        .ticket_details(&ann, c.ticket_id.unwrap())
        .await
        .unwrap();
    assert_eq!(
        d.contacts.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![k.id]
    );
    assert_invalid(
        t.app
            .chat_visitor_details(ch.id, &s.token, None, Some("not an address"))
            .await,
        "email",
    );
}

async fn identification(t: TestApp) {
    let (ann, ch) = setup(&t, Workspace::HelpDesk).await;
    let token = t
        .app
        .create_visitor_token(&ann, "Ada@Example.com", Some("Ada"), Some("Lovelace"))
        .await
        .unwrap();
    let ident = |email: &str, tok: &str| VisitorMessage {
        identification: Some((email.into(), tok.into())),
        ..says("Hello, it's Ada")
    };
    // Another address than the token's, or an unknown token: refused.
    assert_invalid(
        t.app
            .chat_visitor_message(ch.id, None, ident("eve@example.com", &token))
            .await,
        "identificationToken",
    );
    assert_invalid(
        t.app
            .chat_visitor_message(ch.id, None, ident("ada@example.com", "fdi_guess"))
            .await,
        "identificationToken",
    );
    let s = t
        .app
        .chat_visitor_message(ch.id, None, ident("ada@example.com", &token))
        .await
        .unwrap();
    let c = conv(&t, s.conversation).await;
    let k = t.app.contact(c.contact_id.unwrap()).await.unwrap();
    assert_eq!(k.email.as_deref(), Some("ada@example.com"));
    assert_eq!(k.firstname.as_deref(), Some("Ada"));
    let d = t
        .app
        .ticket_details(&ann, c.ticket_id.unwrap())
        .await
        .unwrap();
    assert_eq!(d.contacts.len(), 1, "the ticket is the contact's too");
    // A second token for the same address finds the same contact; tokens expire in 12 hours.
    let again = t
        .app
        .create_visitor_token(&ann, "ada@example.com", None, None)
        .await
        .unwrap();
    t.clock
        .advance_ms(fd_app::domain::chat::VISITOR_TOKEN_TTL_MS);
    assert_invalid(
        t.app
            .chat_visitor_message(ch.id, None, ident("ada@example.com", &again))
            .await,
        "identificationToken",
    );
    assert_forbidden(
        t.app
            .create_visitor_token(&Actor::system(), "ada@example.com", None, None)
            .await,
    );
    assert_invalid(
        t.app.create_visitor_token(&ann, "nope", None, None).await,
        "email",
    );
}

async fn read_state_and_bad_input(t: TestApp) {
    let (ann, ch) = setup(&t, Workspace::Inbox).await;
    let s = t
        .app
        .chat_visitor_message(ch.id, None, says("Hi"))
        .await
        .unwrap();
    let m = t
        .app
        .send_reply(&ann, s.conversation, reply("Hello"))
        .await
        .unwrap();
    t.app
        .chat_visitor_seen(ch.id, &s.token, m.id)
        .await
        .unwrap();
    let session = t
        .app
        .chat_session_of(&ann, s.conversation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.visitor_seen_message_id, Some(m.id));
    // An older mark never moves it back; another conversation's message is not theirs.
    t.app
        .chat_visitor_seen(ch.id, &s.token, s.message)
        .await
        .unwrap();
    let session = t
        .app
        .chat_session_of(&ann, s.conversation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(session.visitor_seen_message_id, Some(m.id));
    let other = t
        .app
        .chat_visitor_message(ch.id, None, says("Me too"))
        .await
        .unwrap();
    assert_not_found(
        t.app
            .chat_visitor_seen(ch.id, &s.token, other.message)
            .await,
    );
    // The agent opening the conversation is the visitor's "seen".
    assert_eq!(
        t.app
            .chat_view(ch.id, Some(&s.token))
            .await
            .unwrap()
            .agent_read_at,
        None
    );
    // Bad input.
    assert_not_found(
        t.app
            .chat_visitor_message(ch.id, Some("fdv_unknown"), says("hi"))
            .await,
    );
    assert_not_found(
        t.app
            .chat_visitor_message(ch.id + 100, None, says("hi"))
            .await,
    );
    assert_invalid(
        t.app
            .chat_visitor_message(ch.id, Some(&s.token), says("   "))
            .await,
        "text",
    );
    assert_invalid(
        t.app
            .chat_visitor_message(ch.id, Some(&s.token), says(&"x".repeat(4001)))
            .await,
        "text",
    );
    assert_forbidden(
        t.app
            .create_chat_channel(&ann, "Mine", ch.team_id, Workspace::Inbox)
            .await,
    );
    assert_not_found(
        t.app
            .create_chat_channel(&Actor::system(), "X", TeamId(999), Workspace::Inbox)
            .await,
    );
    assert_invalid(
        t.app
            .create_chat_channel(&Actor::system(), "  ", ch.team_id, Workspace::Inbox)
            .await,
        "name",
    );
    // An archived channel takes nothing more, not even from a known visitor.
    t.app
        .archive_chat_channel(&Actor::system(), ch.id)
        .await
        .unwrap();
    assert_not_found(
        t.app
            .chat_visitor_message(ch.id, Some(&s.token), says("hello?"))
            .await,
    );
    assert_not_found(t.app.chat_view(ch.id, Some(&s.token)).await);
}
