//! Conversations and their tickets: INB-01, INB-03, INB-04, INB-06, INB-12, INB-14, automatic
//! tickets (HD-06/07/08), replies (HD-14, HD-19), drafts (HD-17), visitors (HD-18), comments
//! and mentions (HD-21), follows (HD-22).

use fd_app::domain::*;
use fd_app::{Actor, AppError, AssociationEnd, NewContact, NewStage, Reply, TicketCreation};
use fd_app::{NewConversation, VisitorContact};
use fd_store::*;
use fd_testkit::TestApp;

use crate::common::*;

fd_testkit::on_both_backends! {
    inb_01_any_conversation_can_get_a_ticket => inb_01;
    inb_03_sidebar_shows_ticket_contact_and_other_conversations => inb_03;
    inb_04_ticket_conversation_association_cannot_be_removed => inb_04_dissociate;
    inb_04_conversation_has_at_most_one_ticket => inb_04_one_ticket;
    inb_06_conversation_owner_change_sets_ticket_owner => inb_06;
    inb_12_close_conversation_closes_only_that_conversation => inb_12;
    inb_14_help_desk_mode_moves_conversation_to_help_desk => inb_14_help_desk;
    inb_14_inbox_mode_keeps_conversation_in_inbox => inb_14_inbox;
    hd_06_form_submission_on_connected_form_creates_ticket => hd_06;
    hd_07_email_to_connected_address_creates_ticket_and_replies_join_it => hd_07;
    hd_08_bot_conversation_creates_no_ticket => hd_08;
    hd_14_reply_answers_newest_message_or_chosen_one => hd_14;
    hd_17_drafts_are_visible_only_to_their_author => hd_17;
    hd_18_visitor_associated_with_contact_associates_ticket_too => hd_18;
    hd_19_send_with_conditional_stage_needs_its_properties => hd_19;
    hd_21_mentions_notify_the_mentioned_user => hd_21_mentions;
    hd_21_call_conversation_comments_open_after_email_draft => hd_21_call;
    hd_22_followers_are_notified_of_comments => hd_22_follow;
    retry_delivery_requeues_only_failed_or_unsent_outgoing_mail => retry_delivery;
    reply_form_posted_twice_sends_one_message => reply_posted_twice;
}

async fn inb_01(t: TestApp) {
    let (ann, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let k = contact(&t, "carl@customer.example").await;
    for channel in [
        Channel::Email,
        Channel::Chat,
        Channel::Form,
        Channel::Call,
        Channel::Whatsapp,
    ] {
        let (c, none) = t
            .app
            .create_conversation(
                &Actor::system(),
                NewConversation {
                    owner: Some(ann.id),
                    ..new_conversation(channel, Some(k.id))
                },
                None,
            )
            .await
            .unwrap();
        assert!(none.is_none());
        let created = t
            .app
            .create_ticket_from_conversation(&agent, c.id, Default::default())
            .await
            .unwrap();
        assert_eq!(created.subject, format!("{channel} from a customer"));
        assert_eq!(created.pipeline_id, PipelineId(0));
        assert_eq!(created.stage_id, StageId(1), "the first open stage");
        assert_eq!(created.owner_id, Some(ann.id), "the conversation's owner");
        assert_eq!(conv(&t, c.id).await.ticket_id, Some(created.id));
        let d = t.app.ticket_details(&agent, created.id).await.unwrap();
        assert_eq!(
            d.conversations.iter().map(|c| c.id).collect::<Vec<_>>(),
            vec![c.id]
        );
        assert_eq!(
            d.contacts.iter().map(|c| c.id).collect::<Vec<_>>(),
            vec![k.id]
        );
    }
    // Properties given with the creation are used.
    let (c, _) = t
        .app
        .create_conversation(
            &Actor::system(),
            new_conversation(Channel::Chat, None),
            None,
        )
        .await
        .unwrap();
    let created = t
        .app
        .create_ticket_from_conversation(
            &agent,
            c.id,
            props(&[("subject", "Custom name"), ("hs_ticket_priority", "HIGH")]),
        )
        .await
        .unwrap();
    assert_eq!(created.subject, "Custom name");
    assert_eq!(created.priority.as_deref(), Some("HIGH"));
}

async fn inb_03(t: TestApp) {
    let (_, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (c1, ticket, k) = conversation_with_ticket(&t, "carl@customer.example").await;
    let (c2, _) = email_conversation(&t, &k, TicketCreation::Automatic).await;
    let (c3, _) = email_conversation(&t, &k, TicketCreation::None).await;
    let stranger = contact(&t, "dora@customer.example").await;
    let (other, _) = email_conversation(&t, &stranger, TicketCreation::None).await;

    // The sidebar: the conversation's ticket and contact …
    let c = t.app.conversation(&agent, c1.id).await.unwrap();
    assert_eq!(c.ticket_id, Some(ticket.id));
    assert_eq!(c.contact_id, Some(k.id));
    let d = t.app.ticket_details(&agent, ticket.id).await.unwrap();
    assert_eq!(
        d.contacts.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![k.id]
    );
    // … and the contact's other conversations, not this one nor someone else's.
    let mut others: Vec<ConversationId> = t
        .app
        .other_conversations_of_contact(&agent, c1.id)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    others.sort();
    assert_eq!(others, vec![c2.id, c3.id]);
    assert!(!others.contains(&other.id));
    // A trashed conversation is no longer among them.
    t.app.trash_conversation(&agent, c3.id).await.unwrap();
    let others: Vec<ConversationId> = t
        .app
        .other_conversations_of_contact(&agent, c1.id)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(others, vec![c2.id]);
}

async fn inb_04_dissociate(t: TestApp) {
    let (_, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (c, ticket, _) = conversation_with_ticket(&t, "carl@customer.example").await;
    let te = AssociationEnd::new(ObjectType::Ticket, ticket.id.0);
    let ce = AssociationEnd::new(ObjectType::Conversation, c.id.0);
    assert_rule(t.app.dissociate(&agent, te, ce).await, "INB-04");
    assert_rule(t.app.dissociate(&agent, ce, te).await, "INB-04");
    assert_rule(t.app.dissociate(&Actor::system(), te, ce).await, "INB-04");

    assert_eq!(conv(&t, c.id).await.ticket_id, Some(ticket.id));
    let rows = t
        .app
        .associations(&agent, te, ObjectType::Conversation)
        .await
        .unwrap();
    assert_eq!(
        rows.iter().map(|r| r.to_id).collect::<Vec<_>>(),
        vec![c.id.0]
    );
}

async fn inb_04_one_ticket(t: TestApp) {
    let (_, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let k = contact(&t, "carl@customer.example").await;
    let (c, _) = email_conversation(&t, &k, TicketCreation::None).await;
    let first = t
        .app
        .create_ticket_from_conversation(&agent, c.id, Default::default())
        .await
        .unwrap();
    let again = t
        .app
        .create_ticket_from_conversation(&agent, c.id, Default::default())
        .await;
    assert_rule(again, "INB-04");
    assert_eq!(ticket_count(&t).await, 1);
    assert_eq!(conv(&t, c.id).await.ticket_id, Some(first.id));

    // Attaching the conversation to another ticket is refused too; to its own is a no-op.
    let second = ticket(&t, &agent, "Another").await;
    let r = t
        .app
        .associate(
            &agent,
            AssociationEnd::new(ObjectType::Ticket, second.id.0),
            AssociationEnd::new(ObjectType::Conversation, c.id.0),
        )
        .await;
    assert_rule(r, "INB-04");
    t.app
        .associate(
            &agent,
            AssociationEnd::new(ObjectType::Conversation, c.id.0),
            AssociationEnd::new(ObjectType::Ticket, first.id.0),
        )
        .await
        .unwrap();
    assert_eq!(conv(&t, c.id).await.ticket_id, Some(first.id));
    let d = t.app.ticket_details(&agent, second.id).await.unwrap();
    assert!(d.conversations.is_empty());
}

async fn inb_06(t: TestApp) {
    let (ann, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (bob, _) = t
        .agent("bob@example.com", TicketAccessLevel::All, &[])
        .await;
    let (c1, ticket, k) = conversation_with_ticket(&t, "carl@customer.example").await;
    let c2 = attach_new_conversation(&t, &agent, ticket.id, &k).await;

    // Conversation owner → ticket owner.
    let c = t
        .app
        .assign_conversation_owner(&agent, c1.id, Some(ann.id))
        .await
        .unwrap();
    assert_eq!(c.owner_id, Some(ann.id));
    assert_eq!(tk(&t, ticket.id).await.owner_id, Some(ann.id));

    // Ticket owner → conversations keep theirs.
    let changed = t
        .app
        .assign_ticket_owner(&agent, ticket.id, Some(bob.id))
        .await
        .unwrap();
    assert_eq!(changed.owner_id, Some(bob.id));
    assert_eq!(conv(&t, c1.id).await.owner_id, Some(ann.id));
    assert_eq!(conv(&t, c2.id).await.owner_id, None);

    // Unassigning the conversation unassigns the ticket.
    t.app
        .assign_conversation_owner(&agent, c1.id, None)
        .await
        .unwrap();
    assert_eq!(tk(&t, ticket.id).await.owner_id, None);
    assert_eq!(conv(&t, c2.id).await.owner_id, None);
}

async fn inb_12(t: TestApp) {
    let (_, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (c1, ticket, k) = conversation_with_ticket(&t, "carl@customer.example").await;
    let c2 = attach_new_conversation(&t, &agent, ticket.id, &k).await;

    let closed = t.app.close_conversation(&agent, c1.id).await.unwrap();
    assert_eq!(closed.status, ConversationStatus::Closed);
    assert!(closed.closed_at.is_some());
    let stored = tk(&t, ticket.id).await;
    assert!(stored.is_open);
    assert_eq!(stored.stage_id, ticket.stage_id);
    assert_eq!(stored.closed_at, None);
    assert_eq!(conv(&t, c2.id).await.status, ConversationStatus::Open);

    let reopened = t.app.reopen_conversation(&agent, c1.id).await.unwrap();
    assert_eq!(reopened.status, ConversationStatus::Open);
    assert_eq!(reopened.closed_at, None);
}

async fn inb_14_help_desk(t: TestApp) {
    let (_, admin) = t.admin("boss@example.com").await;
    t.app
        .set_account_mode(&admin, AccountMode::HelpDesk)
        .await
        .unwrap();
    let k = contact(&t, "carl@customer.example").await;
    let (c, _) = email_conversation(&t, &k, TicketCreation::None).await;
    assert_eq!(c.workspace, Workspace::Inbox);
    let created = t
        .app
        .create_ticket_from_conversation(&admin, c.id, Default::default())
        .await
        .unwrap();
    assert_eq!(created.workspace, Workspace::HelpDesk);
    assert_eq!(conv(&t, c.id).await.workspace, Workspace::HelpDesk);
    let inbox = t
        .app
        .list_conversations(
            &admin,
            &ConversationListQuery {
                workspace: Some(Workspace::Inbox),
                ..ConversationListQuery::default()
            },
        )
        .await
        .unwrap();
    assert!(inbox.is_empty(), "the conversation left the inbox");
}

async fn inb_14_inbox(t: TestApp) {
    let (_, admin) = t.admin("boss@example.com").await;
    t.app
        .set_account_mode(&admin, AccountMode::Inbox)
        .await
        .unwrap();
    assert_eq!(
        t.app.account_settings().await.unwrap().mode,
        AccountMode::Inbox
    );
    let k = contact(&t, "carl@customer.example").await;
    let (c, _) = email_conversation(&t, &k, TicketCreation::None).await;
    let created = t
        .app
        .create_ticket_from_conversation(&admin, c.id, Default::default())
        .await
        .unwrap();
    assert_eq!(created.workspace, Workspace::Inbox);
    assert_eq!(conv(&t, c.id).await.workspace, Workspace::Inbox);
    // A non-admin may not switch the mode.
    let (_, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    assert_forbidden(t.app.set_account_mode(&agent, AccountMode::HelpDesk).await);
    assert_eq!(
        t.app.account_settings().await.unwrap().mode,
        AccountMode::Inbox
    );
}

async fn hd_06(t: TestApp) {
    let k = contact(&t, "carl@customer.example").await;
    let before = ticket_count(&t).await;
    let mut form = inbound("name: Carl\nmessage: broken", "carl@customer.example", "");
    form.message_id_header = None;
    let (c, created) = t
        .app
        .create_conversation(
            &Actor::system(),
            NewConversation {
                workspace: Workspace::HelpDesk,
                ticket: TicketCreation::Automatic,
                ..new_conversation(Channel::Form, Some(k.id))
            },
            Some(form),
        )
        .await
        .unwrap();
    let created = created.expect("a form submission creates a ticket");
    assert_eq!(c.ticket_id, Some(created.id));
    assert_eq!(created.source_type.as_deref(), Some("FORM"));
    assert_eq!(
        created.content.as_deref(),
        Some("name: Carl\nmessage: broken")
    );
    assert!(created.is_open);
    assert_eq!(ticket_count(&t).await, before + 1);
    let d = t
        .app
        .ticket_details(&Actor::system(), created.id)
        .await
        .unwrap();
    assert_eq!(
        d.contacts.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![k.id]
    );
}

async fn hd_07(t: TestApp) {
    let (_, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let team = t.team("Support").await;
    let (c, created) = {
        let k = contact(&t, "carl@customer.example").await;
        let (c, tk) = t
            .app
            .create_conversation(
                &Actor::system(),
                NewConversation {
                    team: Some(team),
                    ticket: TicketCreation::Automatic,
                    ..new_conversation(Channel::Email, Some(k.id))
                },
                Some(inbound("First mail", "carl@customer.example", "<a@x>")),
            )
            .await
            .unwrap();
        (
            c,
            tk.expect("an email to a connected address creates a ticket"),
        )
    };
    assert_eq!(created.source_type.as_deref(), Some("EMAIL"));
    assert_eq!(created.team_id, Some(team));
    assert_eq!(ticket_count(&t).await, 1);

    // The customer's answers join that ticket's conversation, never a new ticket.
    let sent = t
        .app
        .send_reply(&agent, c.id, reply("We're on it"))
        .await
        .unwrap();
    t.app.close_conversation(&agent, c.id).await.unwrap();
    let mut answer = inbound("Thanks, still broken", "carl@customer.example", "<b@x>");
    answer.in_reply_to = sent.message_id_header.clone().or(Some("<a@x>".into()));
    t.app
        .record_inbound_message(&Actor::system(), c.id, answer)
        .await
        .unwrap();
    assert_eq!(ticket_count(&t).await, 1);
    let c = conv(&t, c.id).await;
    assert_eq!(c.ticket_id, Some(created.id));
    assert_eq!(
        c.status,
        ConversationStatus::Open,
        "a customer's answer reopens it"
    );
    assert_eq!(t.app.messages(&agent, c.id).await.unwrap().len(), 3);
}

async fn hd_08(t: TestApp) {
    let (c, none) = t
        .app
        .create_conversation(
            &Actor::system(),
            NewConversation {
                workspace: Workspace::HelpDesk,
                ticket: TicketCreation::Automatic,
                visitor_name: Some("Visitor 12".into()),
                ..new_conversation(Channel::Bot, None)
            },
            Some(inbound("hi bot", "", "<bot@x>")),
        )
        .await
        .unwrap();
    assert!(none.is_none(), "a rule-based bot does not create a ticket");
    assert_eq!(c.ticket_id, None);
    assert_eq!(ticket_count(&t).await, 0);
    // Chat channels connected to the help desk still do.
    let (_, some) = t
        .app
        .create_conversation(
            &Actor::system(),
            NewConversation {
                ticket: TicketCreation::Automatic,
                ..new_conversation(Channel::Chat, None)
            },
            None,
        )
        .await
        .unwrap();
    assert!(some.is_some());
    // A bot may create one explicitly (an action), through the ordinary use case.
    let explicit = t
        .app
        .create_ticket_from_conversation(&Actor::system(), c.id, Default::default())
        .await
        .unwrap();
    assert_eq!(conv(&t, c.id).await.ticket_id, Some(explicit.id));
    assert_eq!(ticket_count(&t).await, 2);
}

async fn hd_14(t: TestApp) {
    let (_, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let k = contact(&t, "carl@customer.example").await;
    let (c, _) = t
        .app
        .create_conversation(
            &Actor::system(),
            NewConversation {
                ticket: TicketCreation::Automatic,
                ..new_conversation(Channel::Email, Some(k.id))
            },
            Some(inbound(
                "first",
                "carl@customer.example",
                "<m1@customer.example>",
            )),
        )
        .await
        .unwrap();
    t.clock.advance_ms(1_000);
    let m2 = t
        .app
        .record_inbound_message(
            &Actor::system(),
            c.id,
            inbound(
                "second",
                "carl.alt@customer.example",
                "<m2@customer.example>",
            ),
        )
        .await
        .unwrap();
    let msgs = t.app.messages(&agent, c.id).await.unwrap();
    let m1 = msgs[0].id;

    let newest = t
        .app
        .send_reply(&agent, c.id, reply("to the newest"))
        .await
        .unwrap();
    assert_eq!(newest.reply_to_message_id, Some(m2));
    assert_eq!(newest.in_reply_to.as_deref(), Some("<m2@customer.example>"));
    assert_eq!(
        newest.recipients.to,
        vec!["carl.alt@customer.example".to_string()]
    );

    let earlier = t
        .app
        .send_reply(
            &agent,
            c.id,
            Reply {
                reply_to: Some(m1),
                ..reply("to the first")
            },
        )
        .await
        .unwrap();
    assert_eq!(earlier.reply_to_message_id, Some(m1));
    assert_eq!(
        earlier.in_reply_to.as_deref(),
        Some("<m1@customer.example>")
    );
    assert_eq!(
        earlier.recipients.to,
        vec!["carl@customer.example".to_string()]
    );

    // A message of another conversation is refused and nothing is stored.
    let (other, _) = email_conversation(&t, &k, TicketCreation::None).await;
    let foreign = t.app.messages(&agent, other.id).await.unwrap()[0].id;
    let r = t
        .app
        .send_reply(
            &agent,
            c.id,
            Reply {
                reply_to: Some(foreign),
                ..reply("misdirected")
            },
        )
        .await;
    assert_invalid(r, "reply_to");
    assert_eq!(t.app.messages(&agent, c.id).await.unwrap().len(), 4);
    assert_eq!(t.app.messages(&agent, other.id).await.unwrap().len(), 1);
}

fn draft_on(conversation: ConversationId, text: &str) -> Draft {
    Draft {
        id: DraftId(0),
        author_id: UserId(0),
        ticket_id: None,
        conversation_id: Some(conversation),
        body_text: text.into(),
        body_html: None,
        recipients: Recipients::default(),
        from_address: None,
        reply_to_message_id: None,
        seen_message_id: None,
        created_at: 0,
        updated_at: 0,
    }
}

async fn hd_17(t: TestApp) {
    let (ann, a) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (bob, b) = t
        .agent("bob@example.com", TicketAccessLevel::All, &[])
        .await;
    let (c, ticket, _) = conversation_with_ticket(&t, "carl@customer.example").await;

    let saved = t
        .app
        .save_draft(&a, draft_on(c.id, "Dear Carl, "))
        .await
        .unwrap();
    assert_eq!(saved.author_id, ann.id);
    assert_eq!(saved.ticket_id, Some(ticket.id));
    // Autosave replaces the draft, it does not add one.
    t.app
        .save_draft(&a, draft_on(c.id, "Dear Carl, we found"))
        .await
        .unwrap();
    let mine = t.app.draft(&a, None, Some(c.id)).await.unwrap().unwrap();
    assert_eq!(mine.body_text, "Dear Carl, we found");
    assert_eq!(t.app.drafts(&a).await.unwrap().len(), 1);

    // Bob sees none of it and keeps his own.
    assert_eq!(t.app.draft(&b, None, Some(c.id)).await.unwrap(), None);
    assert!(t.app.drafts(&b).await.unwrap().is_empty());
    t.app
        .save_draft(&b, draft_on(c.id, "Bob's take"))
        .await
        .unwrap();
    assert_eq!(
        t.app
            .draft(&a, None, Some(c.id))
            .await
            .unwrap()
            .unwrap()
            .body_text,
        "Dear Carl, we found"
    );
    assert_eq!(
        t.app
            .draft(&b, None, Some(c.id))
            .await
            .unwrap()
            .unwrap()
            .author_id,
        bob.id
    );

    // Sending deletes the sender's draft only.
    t.app
        .send_reply(&a, c.id, reply("Dear Carl, we found it"))
        .await
        .unwrap();
    assert_eq!(t.app.draft(&a, None, Some(c.id)).await.unwrap(), None);
    assert!(t.app.drafts(&a).await.unwrap().is_empty());
    assert_eq!(
        t.app
            .draft(&b, None, Some(c.id))
            .await
            .unwrap()
            .unwrap()
            .body_text,
        "Bob's take"
    );
    assert!(t.app.discard_draft(&b, None, Some(c.id)).await.unwrap());
    assert!(t.app.drafts(&b).await.unwrap().is_empty());
}

async fn hd_18(t: TestApp) {
    let (_, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let chat = |name: &str| NewConversation {
        visitor_name: Some(name.into()),
        ticket: TicketCreation::Automatic,
        ..new_conversation(Channel::Chat, None)
    };
    // A new contact.
    let (c, tk1) = t
        .app
        .create_conversation(
            &Actor::system(),
            chat("Visitor 1"),
            Some(inbound("hi", "", "<v1@x>")),
        )
        .await
        .unwrap();
    let tk1 = tk1.unwrap();
    assert!(
        t.app
            .ticket_details(&agent, tk1.id)
            .await
            .unwrap()
            .contacts
            .is_empty()
    );
    let k = t
        .app
        .associate_visitor_with_contact(
            &agent,
            c.id,
            VisitorContact::New(NewContact {
                email: Some("Vera@Customer.example".into()),
                firstname: Some("Vera".into()),
                ..NewContact::default()
            }),
        )
        .await
        .unwrap();
    assert_eq!(k.email.as_deref(), Some("vera@customer.example"));
    assert_eq!(conv(&t, c.id).await.contact_id, Some(k.id));
    let d = t.app.ticket_details(&agent, tk1.id).await.unwrap();
    assert_eq!(
        d.contacts.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![k.id]
    );

    // An existing contact.
    let (c2, tk2) = t
        .app
        .create_conversation(&Actor::system(), chat("Visitor 2"), None)
        .await
        .unwrap();
    let tk2 = tk2.unwrap();
    t.app
        .associate_visitor_with_contact(&agent, c2.id, VisitorContact::Existing(k.id))
        .await
        .unwrap();
    assert_eq!(conv(&t, c2.id).await.contact_id, Some(k.id));
    let mut tickets: Vec<i64> = t
        .app
        .associations(
            &agent,
            AssociationEnd::new(ObjectType::Contact, k.id.0),
            ObjectType::Ticket,
        )
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.to_id)
        .collect();
    tickets.sort();
    assert_eq!(tickets, vec![tk1.id.0, tk2.id.0]);
    // The contact now sees the other conversation in INB-03's list.
    let others = t
        .app
        .other_conversations_of_contact(&agent, c.id)
        .await
        .unwrap();
    assert_eq!(others.iter().map(|c| c.id).collect::<Vec<_>>(), vec![c2.id]);
}

async fn hd_19(t: TestApp) {
    let (_, admin) = t.admin("boss@example.com").await;
    let (_, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let stage = t
        .app
        .create_stage(
            &admin,
            PipelineId(0),
            NewStage {
                label: "Escalated".into(),
                display_order: 5,
                state: StageState::Open,
                required_properties: vec!["hs_ticket_priority".into()],
            },
        )
        .await
        .unwrap();
    assert_eq!(
        stage.required_properties,
        vec!["hs_ticket_priority".to_string()]
    );
    let (c, ticket, _) = conversation_with_ticket(&t, "carl@customer.example").await;
    assert_eq!(ticket.priority, None);

    let r = t
        .app
        .send_reply(
            &agent,
            c.id,
            Reply {
                set_stage: Some(stage.id),
                ..reply("Escalating")
            },
        )
        .await;
    match &r {
        Err(AppError::Domain(DomainError::MissingRequiredProperties {
            missing,
            stage_label,
        })) => {
            assert_eq!(missing, &vec!["hs_ticket_priority".to_string()]);
            assert_eq!(stage_label, "Escalated");
        }
        other => panic!("expected MissingRequiredProperties, got {other:?}"),
    }
    assert_eq!(
        t.app.messages(&agent, c.id).await.unwrap().len(),
        1,
        "no message stored"
    );
    let stored = tk(&t, ticket.id).await;
    assert_eq!(stored.stage_id, ticket.stage_id, "stage unchanged");
    assert_eq!(stored.version, ticket.version);

    // update_ticket is held to the same rule.
    let r = t
        .app
        .update_ticket(
            &agent,
            ticket.id,
            fd_app::TicketChanges {
                properties: props(&[("hs_pipeline_stage", &stage.id.to_string())]),
                expected_version: None,
            },
        )
        .await;
    assert!(matches!(
        r,
        Err(AppError::Domain(
            DomainError::MissingRequiredProperties { .. }
        ))
    ));

    let m = t
        .app
        .send_reply(
            &agent,
            c.id,
            Reply {
                set_stage: Some(stage.id),
                properties: props(&[("hs_ticket_priority", "URGENT")]),
                ..reply("Escalating")
            },
        )
        .await
        .unwrap();
    assert_eq!(m.text, "Escalating");
    assert_eq!(t.app.messages(&agent, c.id).await.unwrap().len(), 2);
    let stored = tk(&t, ticket.id).await;
    assert_eq!(stored.stage_id, stage.id);
    assert_eq!(stored.priority.as_deref(), Some("URGENT"));

    // Send-and-close: the message goes out and INB-10 closes the conversation.
    let m = t
        .app
        .send_reply(
            &agent,
            c.id,
            Reply {
                set_stage: Some(StageId(4)),
                ..reply("Solved, closing")
            },
        )
        .await
        .unwrap();
    assert_eq!(m.direction, Direction::Outbound);
    assert!(!tk(&t, ticket.id).await.is_open);
    assert_eq!(conv(&t, c.id).await.status, ConversationStatus::Closed);
}

async fn hd_21_mentions(t: TestApp) {
    let (ann, a) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (bob, b) = t
        .agent("bob@example.com", TicketAccessLevel::All, &[])
        .await;
    let (_, cy) = t
        .agent("cyril@example.com", TicketAccessLevel::All, &[])
        .await;
    let (c, ticket, _) = conversation_with_ticket(&t, "carl@customer.example").await;

    let comment = t
        .app
        .comment(
            &a,
            None,
            Some(c.id),
            "@bob can you check the invoice? @ann noted.",
        )
        .await
        .unwrap();
    assert_eq!(comment.ticket_id, Some(ticket.id));
    let mut mentioned = comment.mentions.clone();
    mentioned.sort();
    assert_eq!(mentioned, vec![ann.id, bob.id]);

    let notes = t.app.notifications(&b, 50).await.unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].kind, "mention");
    assert_eq!(notes[0].conversation_id, Some(c.id));
    assert_eq!(notes[0].ticket_id, Some(ticket.id));
    assert_eq!(notes[0].actor_id, Some(ann.id));
    assert!(
        t.app.notifications(&a, 50).await.unwrap().is_empty(),
        "no self-notification"
    );
    assert!(t.app.notifications(&cy, 50).await.unwrap().is_empty());

    // A comment is internal: it is not a message to the contact.
    assert_eq!(t.app.messages(&a, c.id).await.unwrap().len(), 1);
    let d = t.app.ticket_details(&a, ticket.id).await.unwrap();
    assert_eq!(d.comments.len(), 1);
    assert_invalid(
        t.app.comment(&a, Some(ticket.id), None, "   ").await,
        "body",
    );
}

async fn hd_21_call(t: TestApp) {
    let (_, a) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let k = contact(&t, "carl@customer.example").await;
    let (c, ticket) = t
        .app
        .create_conversation(
            &Actor::system(),
            NewConversation {
                ticket: TicketCreation::Automatic,
                ..new_conversation(Channel::Call, Some(k.id))
            },
            None,
        )
        .await
        .unwrap();
    let ticket = ticket.unwrap();
    assert_eq!(ticket.source_type.as_deref(), Some("PHONE"));

    assert_rule(
        t.app.comment(&a, None, Some(c.id), "called back").await,
        "HD-21",
    );
    assert_rule(
        t.app
            .comment(&a, Some(ticket.id), None, "called back")
            .await,
        "HD-21",
    );
    assert!(
        t.app
            .ticket_details(&a, ticket.id)
            .await
            .unwrap()
            .comments
            .is_empty()
    );

    t.app
        .save_draft(&a, draft_on(c.id, "Following up on your call"))
        .await
        .unwrap();
    t.app
        .comment(&a, None, Some(c.id), "called back")
        .await
        .unwrap();
    t.app
        .comment(&a, Some(ticket.id), None, "and again")
        .await
        .unwrap();
    assert_eq!(
        t.app
            .ticket_details(&a, ticket.id)
            .await
            .unwrap()
            .comments
            .len(),
        2
    );
}

async fn hd_22_follow(t: TestApp) {
    let (ann, a) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (_, b) = t
        .agent("bob@example.com", TicketAccessLevel::All, &[])
        .await;
    let (_, cy) = t
        .agent("cyril@example.com", TicketAccessLevel::All, &[])
        .await;
    let created = ticket(&t, &a, "Follow me").await;
    t.app.follow_ticket(&b, created.id, true).await.unwrap();
    t.app.follow_ticket(&a, created.id, true).await.unwrap();
    let d = t.app.ticket_details(&a, created.id).await.unwrap();
    assert_eq!(d.followers.len(), 2);

    t.app
        .comment(&a, Some(created.id), None, "Status update")
        .await
        .unwrap();
    let notes = t.app.notifications(&b, 50).await.unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].kind, "comment");
    assert_eq!(notes[0].ticket_id, Some(created.id));
    assert_eq!(notes[0].actor_id, Some(ann.id));
    assert!(
        t.app.notifications(&a, 50).await.unwrap().is_empty(),
        "the author is not notified"
    );
    assert!(
        t.app.notifications(&cy, 50).await.unwrap().is_empty(),
        "non-followers are not"
    );

    // A follower who is also mentioned gets one notification, the mention.
    t.app
        .comment(&a, Some(created.id), None, "@bob see above")
        .await
        .unwrap();
    let notes = t.app.notifications(&b, 50).await.unwrap();
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[0].kind, "mention");

    // Unfollowing stops them.
    t.app.follow_ticket(&b, created.id, false).await.unwrap();
    t.app
        .comment(&a, Some(created.id), None, "Later")
        .await
        .unwrap();
    assert_eq!(t.app.notifications(&b, 50).await.unwrap().len(), 2);
    let following = t
        .app
        .list_tickets(
            &a,
            &TicketListQuery {
                view: TicketView::Following(ann.id),
                ..all_tickets()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        following.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![created.id]
    );
}

/// Retry on an unsent reply: with still nothing to send from it stays unsent (with the
/// reason); once an address is connected it is queued with an outbox job; a queued message,
/// a received one or a chat message is refused, so nothing is delivered twice.
async fn retry_delivery(t: TestApp) {
    let (_, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let k = contact(&t, "carl@customer.example").await;
    let (c, _) = t
        .app
        .create_conversation(
            &Actor::system(),
            NewConversation {
                channel_account: Some("support@example.com".into()),
                ..new_conversation(Channel::Email, Some(k.id))
            },
            Some(inbound("First mail", "carl@customer.example", "<r1@x>")),
        )
        .await
        .unwrap();
    let sent = t
        .app
        .send_reply(&agent, c.id, reply("We're on it"))
        .await
        .unwrap();
    let unsent = |m: &Message| (m.status, m.status_detail.clone().unwrap_or_default());
    let stored = |id: MessageId| {
        let t = &t;
        let agent = &agent;
        async move {
            t.app
                .messages(agent, c.id)
                .await
                .unwrap()
                .into_iter()
                .find(|m| m.id == id)
                .unwrap()
        }
    };
    let m = stored(sent.id).await;
    assert_eq!(m.status, DeliveryStatus::NotSent);
    let jobs_before = pending_jobs(&t).await;
    // Still no address: the retry is honest about it and enqueues nothing.
    let again = t.app.retry_delivery(&agent, sent.id).await.unwrap();
    let (status, why) = unsent(&again);
    assert_eq!(status, DeliveryStatus::NotSent);
    assert!(why.contains("no email address is connected"), "{why}");
    assert_eq!(pending_jobs(&t).await, jobs_before);
    // Connected: queued, with its job.
    t.team("Support").await;
    t.app
        .connect_email(
            &Actor::system(),
            "support@example.com",
            "Support",
            Workspace::HelpDesk,
            false,
        )
        .await
        .unwrap();
    let queued = t.app.retry_delivery(&agent, sent.id).await.unwrap();
    assert_eq!(queued.status, DeliveryStatus::Queued);
    assert_eq!(
        queued.sender_address.as_deref(),
        Some("support@example.com")
    );
    assert_eq!(pending_jobs(&t).await, jobs_before + 1);
    assert_eq!(stored(sent.id).await.status, DeliveryStatus::Queued);
    // Queued already, or received: refused.
    assert_invalid(t.app.retry_delivery(&agent, sent.id).await, "message");
    let first = t.app.messages(&agent, c.id).await.unwrap()[0].id;
    assert_invalid(t.app.retry_delivery(&agent, first).await, "message");
    assert_not_found(t.app.retry_delivery(&agent, MessageId(999_999)).await);
}

async fn pending_jobs(t: &TestApp) -> i64 {
    let mut tx = t.app.db().read().await.unwrap();
    let n = tx.pending_job_count().await.unwrap();
    tx.commit().await.unwrap();
    n
}

/// A double click on Send posts the same form twice: one message, the second post answered
/// with the first's message; the same words sent again from a page that showed the first
/// reply are a new message.
async fn reply_posted_twice(t: TestApp) {
    let (_, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (c, _, _) = conversation_with_ticket(&t, "carl@customer.example").await;
    let seen = t
        .app
        .messages(&agent, c.id)
        .await
        .unwrap()
        .last()
        .unwrap()
        .id;
    let post = || Reply {
        html: Some("<p>On it</p>".into()),
        ..reply("On it")
    };
    let send = |seen| {
        let app = t.app.clone();
        let agent = agent.clone();
        let r = post();
        async move {
            match app
                .send_reply_checked(&agent, c.id, r, Some(seen), false)
                .await
                .unwrap()
            {
                fd_app::ReplyOutcome::Sent(m) => m.id,
                other => panic!("not sent: {other:?}"),
            }
        }
    };
    let first = send(seen).await;
    t.clock.advance_ms(500);
    let again = send(seen).await;
    assert_eq!(
        again, first,
        "the repeated post answers with the first message"
    );
    let msgs = t.app.messages(&agent, c.id).await.unwrap();
    assert_eq!(msgs.len(), 2, "one reply stored");
    // From the page reloaded after the send (it showed the reply), the same words again
    // are a second message.
    let second = send(first).await;
    assert_ne!(second, first);
    assert_eq!(t.app.messages(&agent, c.id).await.unwrap().len(), 3);
    // Other words from the stale page are sent (the page's `seen` only decides repeats).
    let other = t
        .app
        .send_reply_checked(&agent, c.id, reply("Also this"), Some(seen), false)
        .await
        .unwrap();
    assert!(matches!(other, fd_app::ReplyOutcome::Sent(_)));
    assert_eq!(t.app.messages(&agent, c.id).await.unwrap().len(), 4);
}
