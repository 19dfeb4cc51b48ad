//! The calling channel and every reply delivered or refused (issue 14, items 5 and 6):
//! signed provider events open one CALL conversation and its ticket (HD-06) with the caller
//! matched by number and a call engagement; replays and stale or unsigned events change
//! nothing; HD-21's comment gate holds on those tickets; HD-15 decides how a reply leaves.

use fd_app::domain::*;
use fd_app::{
    Actor, AssociationEnd, CallEvent, CallEventOutcome, NewContact, NewConversation,
    TicketCreation, call_event_signature,
};
use fd_testkit::TestApp;

use crate::common::*;

fd_testkit::on_both_backends! {
    hd_06_inbound_call_on_help_desk_number_opens_one_conversation_and_ticket => inbound_call;
    calling_events_need_a_fresh_signature_and_replays_are_ignored => signatures;
    inb_14_inbound_call_on_inbox_number_opens_a_conversation_without_ticket => inbox_call;
    hd_21_call_ticket_from_the_calling_channel_opens_comments_after_an_email_draft => hd_21;
    hd_15_call_reply_goes_by_email_and_undeliverable_replies_are_refused => hd_15;
    calling_settings_rotate_disconnect_and_reconnect_a_number => settings_lifecycle;
}

const OUR_NUMBER: &str = "+14155550100";

struct Channel1 {
    secret: String,
}

async fn connect(t: &TestApp, workspace: Workspace) -> Channel1 {
    let team = t.team("Phones").await;
    let ch = t
        .app
        .connect_calling(
            &Actor::system(),
            "+1 415-555-0100",
            &team.to_string(),
            workspace,
        )
        .await
        .unwrap();
    assert_eq!(ch.number, OUR_NUMBER);
    Channel1 { secret: ch.secret }
}

fn body(event: &str, call: &str, kind: &str, from: &str) -> String {
    format!(
        r#"{{"eventId":"{event}","callId":"{call}","type":"{kind}","from":"{from}","to":"{OUR_NUMBER}"}}"#
    )
}

fn event(event: &str, call: &str, kind: &str, from: &str) -> CallEvent {
    CallEvent {
        event_id: event.into(),
        call_id: call.into(),
        kind: kind.into(),
        from: from.into(),
        to: OUR_NUMBER.into(),
        ..CallEvent::default()
    }
}

/// Posts an event signed with `secret` at the test clock's time.
async fn post(t: &TestApp, secret: &str, e: CallEvent) -> CallEventOutcome {
    let raw = body(&e.event_id, &e.call_id, &e.kind, &e.from);
    let ts = t.app.now().to_string();
    let sig = call_event_signature(secret, &ts, raw.as_bytes());
    t.app
        .receive_call_event(raw.as_bytes(), Some(&ts), Some(&sig), e)
        .await
        .unwrap()
}

fn applied(o: CallEventOutcome) -> (ConversationId, Option<TicketId>, i64, bool) {
    match o {
        CallEventOutcome::Applied {
            conversation,
            ticket,
            call,
            created,
        } => (conversation, ticket, call, created),
        other => panic!("not applied: {other:?}"),
    }
}

async fn inbound_call(t: TestApp) {
    let ch = connect(&t, Workspace::HelpDesk).await;
    // A contact whose phone was typed with spaces and dashes is found by its E.164 form.
    let known = t
        .app
        .create_contact(
            &Actor::system(),
            NewContact {
                email: Some("carl@customer.example".into()),
                phone: Some("+44 20 7946-0000".into()),
                ..NewContact::default()
            },
        )
        .await
        .unwrap();
    let (conv_id, ticket, call, created) = applied(
        post(
            &t,
            &ch.secret,
            event("e1", "c1", "ringing", "+442079460000"),
        )
        .await,
    );
    assert!(created);
    let ticket = ticket.expect("a help-desk number opens a ticket");
    let c = conv(&t, conv_id).await;
    assert_eq!(c.channel, Channel::Call);
    assert_eq!(c.workspace, Workspace::HelpDesk);
    assert_eq!(c.contact_id, Some(known.id));
    assert_eq!(c.ticket_id, Some(ticket));
    let tkt = tk(&t, ticket).await;
    assert_eq!(tkt.source_type.as_deref(), Some("PHONE"));
    assert_eq!(tkt.subject, "Call from +442079460000");

    // Later events of the same call update its engagement; no second conversation.
    let mut done = event("e2", "c1", "completed", "+442079460000");
    done.duration_ms = Some(65_000);
    done.recording_url = Some("https://recordings.example/c1.mp3".into());
    let raw = r#"{"eventId":"e2","callId":"c1","type":"completed","from":"+442079460000","to":"+14155550100","durationMs":65000,"recordingUrl":"https://recordings.example/c1.mp3"}"#;
    let ts = t.app.now().to_string();
    let sig = call_event_signature(&ch.secret, &ts, raw.as_bytes());
    let (conv2, _, call2, created2) = applied(
        t.app
            .receive_call_event(raw.as_bytes(), Some(&ts), Some(&sig), done)
            .await
            .unwrap(),
    );
    assert_eq!((conv2, call2, created2), (conv_id, call, false));
    // A late "answered" does not reopen a completed call.
    applied(
        post(
            &t,
            &ch.secret,
            event("e3", "c1", "answered", "+442079460000"),
        )
        .await,
    );

    let timeline = t
        .app
        .timeline_engagements(
            &Actor::system(),
            AssociationEnd::new(ObjectType::Ticket, ticket.0),
        )
        .await
        .unwrap();
    assert_eq!(timeline.len(), 1);
    let e = &timeline[0];
    assert_eq!(e.id, call);
    assert_eq!(e.values["hs_call_status"], "COMPLETED");
    assert_eq!(e.values["hs_call_duration"], "65000");
    assert_eq!(
        e.values["hs_call_recording_url"],
        "https://recordings.example/c1.mp3"
    );
    assert_eq!(e.values["hs_call_direction"], "INBOUND");
    assert_eq!(e.values["hs_call_from_number"], "+442079460000");
    let on_contact = t
        .app
        .timeline_engagements(
            &Actor::system(),
            AssociationEnd::new(ObjectType::Contact, known.id.0),
        )
        .await
        .unwrap();
    assert_eq!(on_contact.len(), 1);
    // A trashed ticket's page still shows its calls.
    t.app.trash_ticket(&Actor::system(), ticket).await.unwrap();
    let trashed = t
        .app
        .timeline_engagements(
            &Actor::system(),
            AssociationEnd::new(ObjectType::Ticket, ticket.0),
        )
        .await
        .unwrap();
    assert_eq!(trashed.len(), 1);

    // An unknown caller becomes a contact with that number.
    let (conv3, ticket3, _, _) = applied(
        post(
            &t,
            &ch.secret,
            event("e4", "c2", "missed", "+33 1 23 45 67 89"),
        )
        .await,
    );
    assert_ne!(conv3, conv_id);
    assert!(ticket3.is_some());
    let c3 = conv(&t, conv3).await;
    let k = t.app.contact(c3.contact_id.unwrap()).await.unwrap();
    assert_eq!(k.phone.as_deref(), Some("+33123456789"));
    assert!(k.email.is_none());
}

async fn signatures(t: TestApp) {
    let ch = connect(&t, Workspace::HelpDesk).await;
    let e = || event("e1", "c1", "ringing", "+442079460000");
    let raw = body("e1", "c1", "ringing", "+442079460000");
    let now = t.app.now();
    let refused = |o: CallEventOutcome, words: &str| match o {
        CallEventOutcome::Refused(reason) => assert!(reason.contains(words), "{reason}"),
        other => panic!("not refused: {other:?}"),
    };
    // No headers, a wrong secret, a body changed after signing, a stale timestamp.
    refused(
        t.app
            .receive_call_event(raw.as_bytes(), None, None, e())
            .await
            .unwrap(),
        "signature",
    );
    let ts = now.to_string();
    let wrong = call_event_signature("not the secret", &ts, raw.as_bytes());
    refused(
        t.app
            .receive_call_event(raw.as_bytes(), Some(&ts), Some(&wrong), e())
            .await
            .unwrap(),
        "does not match",
    );
    let sig = call_event_signature(&ch.secret, &ts, raw.as_bytes());
    let tampered = raw.replace("ringing", "missed");
    refused(
        t.app
            .receive_call_event(tampered.as_bytes(), Some(&ts), Some(&sig), e())
            .await
            .unwrap(),
        "does not match",
    );
    let old = (now - 10 * 60 * 1000).to_string();
    let old_sig = call_event_signature(&ch.secret, &old, raw.as_bytes());
    refused(
        t.app
            .receive_call_event(raw.as_bytes(), Some(&old), Some(&old_sig), e())
            .await
            .unwrap(),
        "stale",
    );
    // An event for a number that is not ours.
    let mut other = e();
    other.to = "+14155550999".into();
    refused(
        t.app
            .receive_call_event(raw.as_bytes(), Some(&ts), Some(&sig), other)
            .await
            .unwrap(),
        "not connected",
    );
    assert_eq!(ticket_count(&t).await, 0, "nothing refused was stored");

    // Applied once; the same event id again is ignored and changes nothing.
    applied(post(&t, &ch.secret, e()).await);
    assert_eq!(post(&t, &ch.secret, e()).await, CallEventOutcome::Duplicate);
    assert_eq!(ticket_count(&t).await, 1);
    // A signed event with a bad type is a clear error.
    let r = t
        .app
        .receive_call_event(
            body("e9", "c1", "exploded", "+442079460000").as_bytes(),
            Some(&ts),
            Some(&call_event_signature(
                &ch.secret,
                &ts,
                body("e9", "c1", "exploded", "+442079460000").as_bytes(),
            )),
            event("e9", "c1", "exploded", "+442079460000"),
        )
        .await;
    assert_invalid(r, "type");
}

async fn inbox_call(t: TestApp) {
    let ch = connect(&t, Workspace::Inbox).await;
    let (conv_id, ticket, _, _) = applied(
        post(
            &t,
            &ch.secret,
            event("e1", "c1", "ringing", "+442079460000"),
        )
        .await,
    );
    assert!(ticket.is_none());
    let c = conv(&t, conv_id).await;
    assert_eq!(c.workspace, Workspace::Inbox);
    assert!(c.ticket_id.is_none());
    assert_eq!(ticket_count(&t).await, 0);
}

fn draft_on(conversation: ConversationId, text: &str) -> fd_store::Draft {
    fd_store::Draft {
        id: DraftId(0),
        author_id: UserId(0),
        ticket_id: None,
        conversation_id: Some(conversation),
        body_text: text.into(),
        body_html: None,
        recipients: fd_store::Recipients::default(),
        from_address: None,
        reply_to_message_id: None,
        seen_message_id: None,
        created_at: 0,
        updated_at: 0,
    }
}

async fn hd_21(t: TestApp) {
    let (_, a) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let ch = connect(&t, Workspace::HelpDesk).await;
    let (conv_id, ticket, _, _) = applied(
        post(
            &t,
            &ch.secret,
            event("e1", "c1", "ringing", "+442079460000"),
        )
        .await,
    );
    let ticket = ticket.unwrap();
    assert_rule(
        t.app.comment(&a, Some(ticket), None, "called back").await,
        "HD-21",
    );
    t.app
        .save_draft(&a, draft_on(conv_id, "Following up on your call"))
        .await
        .unwrap();
    t.app
        .comment(&a, Some(ticket), None, "called back")
        .await
        .unwrap();
}

async fn hd_15(t: TestApp) {
    let (_, a) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let ch = connect(&t, Workspace::HelpDesk).await;
    t.app
        .connect_email(
            &Actor::system(),
            "help@example.com",
            "Phones",
            Workspace::HelpDesk,
            false,
        )
        .await
        .unwrap();
    // The caller has no email address yet: a reply cannot be delivered and is refused.
    let (conv_id, _, _, _) = applied(
        post(
            &t,
            &ch.secret,
            event("e1", "c1", "ringing", "+442079460000"),
        )
        .await,
    );
    let r = t
        .app
        .send_reply(&a, conv_id, reply("We called you back"))
        .await;
    assert_rule(r, "HD-15");
    assert!(t.app.messages(&a, conv_id).await.unwrap().is_empty());

    // Once the contact has an address, the reply goes there by email (queued for the
    // outbox, From the team's address, threaded by our Message-ID).
    let c = conv(&t, conv_id).await;
    t.app
        .update_record(
            &Actor::system(),
            ObjectType::Contact,
            c.contact_id.unwrap().0,
            props(&[("email", "carl@customer.example")]),
        )
        .await
        .unwrap();
    let m = t
        .app
        .send_reply(&a, conv_id, reply("We called you back"))
        .await
        .unwrap();
    assert_eq!(m.status, DeliveryStatus::Queued);
    assert_eq!(m.recipients.to, vec!["carl@customer.example".to_string()]);
    assert_eq!(m.sender_address.as_deref(), Some("help@example.com"));
    assert!(m.message_id_header.is_some());

    // Chat and bot conversations have no delivery here: refused, never stored as sent.
    let k = contact(&t, "dora@customer.example").await;
    for channel in [Channel::Chat, Channel::Bot, Channel::Whatsapp] {
        let (c, _) = t
            .app
            .create_conversation(
                &Actor::system(),
                NewConversation {
                    ticket: TicketCreation::None,
                    ..new_conversation(channel, Some(k.id))
                },
                None,
            )
            .await
            .unwrap();
        assert_rule(t.app.send_reply(&a, c.id, reply("Hello")).await, "HD-15");
        assert!(t.app.messages(&a, c.id).await.unwrap().is_empty());
    }
}

/// Settings → Calling's use cases: only administrators manage numbers; a rotated secret
/// replaces the old one at once; a disconnected number refuses events and leaves the list,
/// and connecting it again brings it back with a new secret and a new team.
async fn settings_lifecycle(t: TestApp) {
    let ch = connect(&t, Workspace::HelpDesk).await;
    let (_, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (_, admin) = t.admin("boss@example.com").await;
    assert!(matches!(
        t.app.calling_settings(&agent).await,
        Err(fd_app::AppError::Forbidden(_))
    ));
    let listed = t.app.calling_settings(&admin).await.unwrap();
    assert_eq!(listed.len(), 1);
    let id = listed[0].id;
    assert!(matches!(
        t.app.rotate_calling_secret(&agent, id).await,
        Err(fd_app::AppError::Forbidden(_))
    ));
    assert!(matches!(
        t.app.disconnect_calling(&agent, id).await,
        Err(fd_app::AppError::Forbidden(_))
    ));
    // An invalid number is refused by the E.164 rule, an existing one as a conflict.
    let team = t.team("Other").await;
    let bad = t
        .app
        .connect_calling(
            &admin,
            "415 555 0199",
            &team.to_string(),
            Workspace::HelpDesk,
        )
        .await
        .unwrap_err();
    assert!(matches!(bad, fd_app::AppError::Domain(_)), "{bad:?}");
    let dup = t
        .app
        .connect_calling(&admin, OUR_NUMBER, &team.to_string(), Workspace::HelpDesk)
        .await
        .unwrap_err();
    assert!(matches!(dup, fd_app::AppError::Conflict(_)), "{dup:?}");

    // Rotation: the old secret no longer signs, the new one does.
    let rotated = t.app.rotate_calling_secret(&admin, id).await.unwrap();
    assert_ne!(rotated.secret, ch.secret);
    assert!(matches!(
        post(&t, &ch.secret, event("e1", "c1", "ringing", "+14155550123")).await,
        CallEventOutcome::Refused(_)
    ));
    let (_, ticket, _, created) = applied(
        post(
            &t,
            &rotated.secret,
            event("e2", "c1", "ringing", "+14155550123"),
        )
        .await,
    );
    assert!(created && ticket.is_some());

    // Disconnect: out of the list, events refused, its ticket kept.
    t.app.disconnect_calling(&admin, id).await.unwrap();
    assert!(t.app.calling_settings(&admin).await.unwrap().is_empty());
    assert!(matches!(
        t.app.disconnect_calling(&admin, id).await,
        Err(fd_app::AppError::NotFound { .. })
    ));
    assert!(matches!(
        post(
            &t,
            &rotated.secret,
            event("e3", "c2", "ringing", "+14155550123")
        )
        .await,
        CallEventOutcome::Refused(_)
    ));
    assert!(t.app.ticket(&admin, ticket.unwrap()).await.is_ok());

    // Connecting it again: same channel row, the new team, a new secret.
    let again = t
        .app
        .connect_calling(&admin, OUR_NUMBER, &team.to_string(), Workspace::Inbox)
        .await
        .unwrap();
    assert_eq!(again.id, id);
    assert_eq!(again.team_id, team);
    assert_eq!(again.workspace, Workspace::Inbox);
    assert_ne!(again.secret, rotated.secret);
    // Each is an administrative change of the team, recorded without the secret.
    let changes = t
        .app
        .admin_changes(&admin, fd_app::domain::entities::AdminObject::Team)
        .await
        .unwrap();
    let actions: Vec<&str> = changes.iter().map(|c| c.action.as_str()).collect();
    for a in [
        "calling_channel_connected",
        "calling_secret_rotated",
        "calling_channel_disconnected",
    ] {
        assert!(actions.contains(&a), "{actions:?}");
    }
    assert!(
        changes
            .iter()
            .all(|c| !c.new_value.as_deref().unwrap_or("").contains(&again.secret))
    );
    let (_, ticket, _, _) = applied(
        post(
            &t,
            &again.secret,
            event("e4", "c3", "ringing", "+14155550123"),
        )
        .await,
    );
    assert!(ticket.is_none(), "an inbox number opens no ticket");
}
