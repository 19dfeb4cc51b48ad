//! Tickets: stage moves and their conversations (INB-10, INB-11), closed_date and history,
//! creation rules (HD-10, HD-11, HD-12), trash, restore and purge (INB-13).

use fd_app::domain::*;
use fd_app::{Actor, AppError, AssociationEnd, NewPipeline, NewStage, NewTicket, TicketCreation};
use fd_store::*;
use fd_testkit::TestApp;

use crate::common::*;

fd_testkit::on_both_backends! {
    inb_10_closing_ticket_closes_its_conversations => inb_10;
    inb_11_reopening_ticket_reopens_its_single_conversation => inb_11_single;
    inb_11_reopening_ticket_with_two_conversations_reopens_none => inb_11_two;
    closing_sets_closed_date_and_reopening_clears_it => closed_date;
    activity_history_records_old_and_new_stage => stage_history;
    hd_10_subject_and_stage_are_required => hd_10_required;
    hd_10_form_required_fields_are_enforced => hd_10_form_fields;
    hd_10_stage_of_another_pipeline_is_refused => hd_10_other_pipeline;
    hd_11_ticket_associated_at_creation_with_contacts_and_companies => hd_11_associations;
    hd_11_missing_association_target_writes_nothing => hd_11_missing;
    hd_12_ticket_by_hand_starts_conversation_with_associated_contact => hd_12;
    hd_12_failed_first_message_leaves_nothing_behind => hd_12_failed;
    inb_13_trashing_conversation_trashes_ticket_and_its_conversations => inb_13_trash_conversation;
    inb_13_trashing_ticket_trashes_conversations_and_restore_brings_both_back => inb_13_trash_ticket;
    inb_13_purge_deletes_only_after_retention => inb_13_purge;
}

async fn inb_10(t: TestApp) {
    let (_, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (c1, ticket, k) = conversation_with_ticket(&t, "carl@customer.example").await;
    let c2 = attach_new_conversation(&t, &agent, ticket.id, &k).await;
    assert_eq!(c2.ticket_id, Some(ticket.id));
    assert!(ticket.is_open);

    let closed = move_to_stage(&t, &agent, ticket.id, STAGE_CLOSED).await;
    assert!(!closed.is_open);
    for id in [c1.id, c2.id] {
        let c = conv(&t, id).await;
        assert_eq!(c.status, ConversationStatus::Closed, "conversation {id}");
        assert!(c.closed_at.is_some(), "conversation {id} has closed_at");
    }
    let stored = tk(&t, ticket.id).await;
    assert!(!stored.is_open);
    assert_eq!(stored.stage_id, StageId(4));
}

async fn inb_11_single(t: TestApp) {
    let (_, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (c, ticket, _) = conversation_with_ticket(&t, "carl@customer.example").await;
    move_to_stage(&t, &agent, ticket.id, STAGE_CLOSED).await;
    assert_eq!(conv(&t, c.id).await.status, ConversationStatus::Closed);

    let reopened = move_to_stage(&t, &agent, ticket.id, STAGE_WAITING).await;
    assert!(reopened.is_open);
    let c = conv(&t, c.id).await;
    assert_eq!(c.status, ConversationStatus::Open);
    assert_eq!(c.closed_at, None);
}

async fn inb_11_two(t: TestApp) {
    let (_, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (c1, ticket, k) = conversation_with_ticket(&t, "carl@customer.example").await;
    let c2 = attach_new_conversation(&t, &agent, ticket.id, &k).await;
    move_to_stage(&t, &agent, ticket.id, STAGE_CLOSED).await;

    let reopened = move_to_stage(&t, &agent, ticket.id, STAGE_NEW).await;
    assert!(reopened.is_open);
    for id in [c1.id, c2.id] {
        let c = conv(&t, id).await;
        assert_eq!(c.status, ConversationStatus::Closed, "conversation {id}");
        assert!(c.closed_at.is_some());
    }
}

async fn closed_date(t: TestApp) {
    let (_, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let created = ticket(&t, &agent, "Printer on fire").await;
    assert_eq!(created.closed_at, None);
    assert_eq!(created.property("closed_date"), None);

    t.clock.advance_ms(60_000);
    let before = t.app.now();
    let closed = move_to_stage(&t, &agent, created.id, STAGE_CLOSED).await;
    let at = closed.closed_at.expect("closed_date is set");
    assert!(
        at >= before,
        "closed_date {at} is the time of closing ({before})"
    );
    assert_eq!(tk(&t, created.id).await.closed_at, Some(at));
    assert_eq!(
        tk(&t, created.id).await.property("closed_date"),
        Some(at.to_string())
    );

    // Moving between two CLOSED-free open stages and back keeps it cleared.
    let reopened = move_to_stage(&t, &agent, created.id, STAGE_NEW).await;
    assert_eq!(reopened.closed_at, None);
    assert_eq!(tk(&t, created.id).await.closed_at, None);

    // A ticket created directly in a closed stage starts closed.
    let born_closed = ticket_with(&t, &agent, &[("hs_pipeline_stage", STAGE_CLOSED)]).await;
    assert!(!born_closed.is_open);
    assert!(born_closed.closed_at.is_some());
}

async fn stage_history(t: TestApp) {
    let (ann, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let created = ticket(&t, &agent, "Printer on fire").await;
    move_to_stage(&t, &agent, created.id, STAGE_WAITING).await;
    move_to_stage(&t, &agent, created.id, STAGE_CLOSED).await;

    let details = t.app.ticket_details(&agent, created.id).await.unwrap();
    let moves: Vec<(Option<String>, Option<String>)> = details
        .activity
        .iter()
        .filter(|a| {
            a.action == "property_changed" && a.field.as_deref() == Some("hs_pipeline_stage")
        })
        .map(|a| {
            assert_eq!(a.actor_user_id, Some(ann.id));
            (a.old_value.clone(), a.new_value.clone())
        })
        .collect();
    assert_eq!(
        moves,
        vec![
            (Some(STAGE_NEW.into()), Some(STAGE_WAITING.into())),
            (Some(STAGE_WAITING.into()), Some(STAGE_CLOSED.into())),
        ]
    );
    assert_eq!(details.activity[0].action, "created");
}

async fn hd_10_required(t: TestApp) {
    let (_, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let create = |p: &[(&str, &str)]| {
        let properties = props(p);
        let app = t.app.clone();
        let agent = agent.clone();
        async move {
            app.create_ticket(
                &agent,
                NewTicket {
                    properties,
                    ..NewTicket::default()
                },
            )
            .await
        }
    };
    assert_invalid(create(&[("hs_pipeline_stage", STAGE_NEW)]).await, "subject");
    assert_invalid(
        create(&[("subject", "   "), ("hs_pipeline_stage", STAGE_NEW)]).await,
        "subject",
    );
    assert_invalid(
        create(&[("subject", "No status")]).await,
        "hs_pipeline_stage",
    );
    assert_invalid(
        create(&[("subject", "Blank status"), ("hs_pipeline_stage", "")]).await,
        "hs_pipeline_stage",
    );
    assert_eq!(ticket_count(&t).await, 0);

    let ok = create(&[
        ("subject", "Has both"),
        ("hs_pipeline", PIPELINE),
        ("hs_pipeline_stage", STAGE_NEW),
    ])
    .await
    .unwrap();
    assert_eq!(ok.subject, "Has both");
    assert_eq!(ok.pipeline_id, PipelineId(0));
    assert_eq!(ok.stage_id, StageId(1));
    assert_eq!(ticket_count(&t).await, 1);
}

async fn hd_10_form_fields(t: TestApp) {
    let (_, admin) = t.admin("boss@example.com").await;
    t.app
        .set_ticket_form_fields(
            &admin,
            vec![
                ("hs_ticket_priority".into(), true),
                ("hs_ticket_category".into(), false),
            ],
        )
        .await
        .unwrap();
    let base = props(&[("subject", "Via form"), ("hs_pipeline_stage", STAGE_NEW)]);

    let r = t
        .app
        .create_ticket(
            &admin,
            NewTicket {
                properties: base.clone(),
                via_form: true,
                ..NewTicket::default()
            },
        )
        .await;
    match &r {
        Err(AppError::Domain(DomainError::Invalid(fields))) => {
            let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
            assert_eq!(names, vec!["hs_ticket_priority"], "only the required field");
        }
        other => panic!("expected the form's required field to be refused, got {other:?}"),
    }
    assert_eq!(ticket_count(&t).await, 0);

    // The API (not the form) does not enforce the form's fields.
    t.app
        .create_ticket(
            &admin,
            NewTicket {
                properties: base.clone(),
                via_form: false,
                ..NewTicket::default()
            },
        )
        .await
        .unwrap();

    let mut with_priority = base;
    with_priority.insert("hs_ticket_priority".into(), "HIGH".into());
    let ok = t
        .app
        .create_ticket(
            &admin,
            NewTicket {
                properties: with_priority,
                via_form: true,
                ..NewTicket::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(ok.priority.as_deref(), Some("HIGH"));
    assert_eq!(ticket_count(&t).await, 2);
}

async fn hd_10_other_pipeline(t: TestApp) {
    let (_, admin) = t.admin("boss@example.com").await;
    let other = t
        .app
        .create_pipeline(
            &admin,
            NewPipeline {
                label: "Billing".into(),
                display_order: 1,
                stages: vec![
                    NewStage {
                        label: "Open".into(),
                        display_order: 0,
                        state: StageState::Open,
                        required_properties: vec![],
                    },
                    NewStage {
                        label: "Done".into(),
                        display_order: 1,
                        state: StageState::Closed,
                        required_properties: vec![],
                    },
                ],
            },
        )
        .await
        .unwrap();
    let foreign_stage = other.stages[0].id.to_string();

    let r = t
        .app
        .create_ticket(
            &admin,
            NewTicket {
                properties: props(&[
                    ("subject", "Wrong stage"),
                    ("hs_pipeline", PIPELINE),
                    ("hs_pipeline_stage", &foreign_stage),
                ]),
                ..NewTicket::default()
            },
        )
        .await;
    assert_invalid(r, "hs_pipeline_stage");
    assert_eq!(ticket_count(&t).await, 0);

    // Updating an existing ticket to that stage is refused the same way and changes nothing.
    let mine = ticket(&t, &admin, "Right stage").await;
    let r = t
        .app
        .update_ticket(
            &admin,
            mine.id,
            fd_app::TicketChanges {
                properties: props(&[("hs_pipeline_stage", &foreign_stage)]),
                expected_version: None,
            },
        )
        .await;
    assert_invalid(r, "hs_pipeline_stage");
    assert_eq!(tk(&t, mine.id).await, mine);

    // In its own pipeline the stage is fine.
    let ok = ticket_with(
        &t,
        &admin,
        &[
            ("hs_pipeline", &other.id.to_string()),
            ("hs_pipeline_stage", &foreign_stage),
        ],
    )
    .await;
    assert_eq!(ok.pipeline_id, other.id);
}

async fn hd_11_associations(t: TestApp) {
    let (_, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let k1 = contact(&t, "carl@customer.example").await;
    let k2 = contact(&t, "dora@customer.example").await;
    let co = t
        .app
        .create_company(
            &Actor::system(),
            Some("Acme".into()),
            Some("acme.example".into()),
        )
        .await
        .unwrap();
    let created = t
        .app
        .create_ticket(
            &agent,
            NewTicket {
                properties: props(&[("subject", "Associated"), ("hs_pipeline_stage", STAGE_NEW)]),
                associations: vec![
                    AssociationEnd::new(ObjectType::Contact, k1.id.0),
                    AssociationEnd::new(ObjectType::Contact, k2.id.0),
                    AssociationEnd::new(ObjectType::Company, co.id.0),
                ],
                via_form: false,
            },
        )
        .await
        .unwrap();
    let d = t.app.ticket_details(&agent, created.id).await.unwrap();
    let mut contacts: Vec<ContactId> = d.contacts.iter().map(|c| c.id).collect();
    contacts.sort();
    assert_eq!(contacts, vec![k1.id, k2.id]);
    assert_eq!(
        d.companies.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![co.id]
    );
    assert!(d.conversations.is_empty());

    // Both directions are stored: the contact and the company list the ticket.
    for from in [
        AssociationEnd::new(ObjectType::Contact, k1.id.0),
        AssociationEnd::new(ObjectType::Company, co.id.0),
    ] {
        let rows = t
            .app
            .associations(&agent, from, ObjectType::Ticket)
            .await
            .unwrap();
        assert_eq!(
            rows.iter().map(|r| r.to_id).collect::<Vec<_>>(),
            vec![created.id.0]
        );
    }
}

async fn hd_11_missing(t: TestApp) {
    let (_, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let k = contact(&t, "carl@customer.example").await;
    let before = ticket_count_with_trash(&t).await;
    for missing in [
        AssociationEnd::new(ObjectType::Company, 987_654),
        AssociationEnd::new(ObjectType::Contact, 987_654),
    ] {
        let r = t
            .app
            .create_ticket(
                &agent,
                NewTicket {
                    properties: props(&[("subject", "Half"), ("hs_pipeline_stage", STAGE_NEW)]),
                    // The valid association comes first: it must not survive the refusal.
                    associations: vec![AssociationEnd::new(ObjectType::Contact, k.id.0), missing],
                    via_form: false,
                },
            )
            .await;
        assert_invalid(r, "associations");
    }
    assert_eq!(ticket_count_with_trash(&t).await, before);
    let rows = t
        .app
        .associations(
            &agent,
            AssociationEnd::new(ObjectType::Contact, k.id.0),
            ObjectType::Ticket,
        )
        .await
        .unwrap();
    assert!(
        rows.is_empty(),
        "no association row was left behind: {rows:?}"
    );
    // A ticket created afterwards is the first one the store ever kept.
    let next = ticket(&t, &agent, "Whole").await;
    assert_eq!(ticket_count(&t).await, 1);
    let d = t.app.ticket_details(&agent, next.id).await.unwrap();
    assert!(d.contacts.is_empty());
}

async fn hd_12(t: TestApp) {
    let (ann, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let created = ticket(&t, &agent, "Called about invoices").await;
    let d = t.app.ticket_details(&agent, created.id).await.unwrap();
    assert!(
        d.conversations.is_empty(),
        "a ticket by hand has no conversation"
    );

    let k = contact(&t, "carl@customer.example").await;
    // Not associated yet: refused, and no conversation is left behind.
    let r = t
        .app
        .start_conversation_on_ticket(&agent, created.id, k.id, reply("Hello Carl"))
        .await;
    assert_invalid(r, "contact");
    let d = t.app.ticket_details(&agent, created.id).await.unwrap();
    assert!(d.conversations.is_empty());
    let listed = t
        .app
        .list_conversations(&Actor::system(), &ConversationListQuery::default())
        .await
        .unwrap();
    assert!(listed.is_empty(), "no stray conversation: {listed:?}");

    // "Add contact", then the first message starts an email conversation with them.
    t.app
        .associate(
            &agent,
            AssociationEnd::new(ObjectType::Ticket, created.id.0),
            AssociationEnd::new(ObjectType::Contact, k.id.0),
        )
        .await
        .unwrap();
    let (c, m) = t
        .app
        .start_conversation_on_ticket(&agent, created.id, k.id, reply("Hello Carl"))
        .await
        .unwrap();
    assert_eq!(c.channel, Channel::Email);
    assert_eq!(c.ticket_id, Some(created.id));
    assert_eq!(c.contact_id, Some(k.id));
    assert_eq!(m.conversation_id, c.id);
    assert_eq!(m.direction, Direction::Outbound);
    assert_eq!(m.sender_user_id, Some(ann.id));
    assert_eq!(m.text, "Hello Carl");
    assert_eq!(m.recipients.to, vec!["carl@customer.example".to_string()]);

    let msgs = t.app.messages(&agent, c.id).await.unwrap();
    assert_eq!(msgs.len(), 1);
    // The same first message posted again (a double click on Send): no second conversation
    // nor message; the answer is the first one's.
    let (again, m2) = t
        .app
        .start_conversation_on_ticket(&agent, created.id, k.id, reply("Hello Carl"))
        .await
        .unwrap();
    assert_eq!((again.id, m2.id), (c.id, m.id));
    assert_eq!(t.app.messages(&agent, c.id).await.unwrap().len(), 1);
    let d = t.app.ticket_details(&agent, created.id).await.unwrap();
    assert_eq!(
        d.conversations.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![c.id]
    );
}

async fn hd_12_failed(t: TestApp) {
    let (_, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let k = contact(&t, "carl@customer.example").await;
    let created = t
        .app
        .create_ticket(
            &agent,
            NewTicket {
                properties: props(&[("subject", "Quiet"), ("hs_pipeline_stage", STAGE_NEW)]),
                associations: vec![AssociationEnd::new(ObjectType::Contact, k.id.0)],
                via_form: false,
            },
        )
        .await
        .unwrap();
    let before = t.app.ticket_details(&agent, created.id).await.unwrap();
    for bad in [
        reply("   "),
        fd_app::Reply {
            set_stage: Some(StageId(987_654)),
            ..reply("Hello")
        },
        fd_app::Reply {
            recipients: Recipients {
                to: vec!["not an address".into()],
                ..Recipients::default()
            },
            ..reply("Hello")
        },
    ] {
        let r = t
            .app
            .start_conversation_on_ticket(&agent, created.id, k.id, bad)
            .await;
        assert!(matches!(r, Err(AppError::Domain(_))), "{r:?}");
    }
    let after = t.app.ticket_details(&agent, created.id).await.unwrap();
    assert!(after.conversations.is_empty());
    assert_eq!(after.ticket, before.ticket, "the ticket is unchanged");
    assert_eq!(
        after.activity, before.activity,
        "no history of a conversation that does not exist"
    );
    let listed = t
        .app
        .list_conversations(&Actor::system(), &ConversationListQuery::default())
        .await
        .unwrap();
    assert!(listed.is_empty(), "{listed:?}");
}

async fn inb_13_trash_conversation(t: TestApp) {
    let (_, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (c1, ticket, k) = conversation_with_ticket(&t, "carl@customer.example").await;
    let c2 = attach_new_conversation(&t, &agent, ticket.id, &k).await;

    t.app.trash_conversation(&agent, c1.id).await.unwrap();
    assert!(
        tk(&t, ticket.id).await.trashed_at.is_some(),
        "the ticket is trashed"
    );
    for id in [c1.id, c2.id] {
        assert!(
            conv(&t, id).await.trashed_at.is_some(),
            "conversation {id} is trashed"
        );
    }
    assert_eq!(ticket_count(&t).await, 0, "trashed tickets leave the views");
    let trash = t
        .app
        .list_tickets(
            &agent,
            &TicketListQuery {
                view: TicketView::Trash,
                ..all_tickets()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        trash.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![ticket.id]
    );
    let live = t
        .app
        .list_conversations(&agent, &ConversationListQuery::default())
        .await
        .unwrap();
    assert!(live.is_empty());

    // Restoring the conversation brings the ticket and its other conversation back.
    let restored = t.app.restore_conversation(&agent, c1.id).await.unwrap();
    assert_eq!(restored.trashed_at, None);
    assert_eq!(tk(&t, ticket.id).await.trashed_at, None);
    assert_eq!(conv(&t, c2.id).await.trashed_at, None);
    assert_eq!(ticket_count(&t).await, 1);
}

async fn inb_13_trash_ticket(t: TestApp) {
    let (_, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (c1, ticket, k) = conversation_with_ticket(&t, "carl@customer.example").await;
    let c2 = attach_new_conversation(&t, &agent, ticket.id, &k).await;

    t.app.trash_ticket(&agent, ticket.id).await.unwrap();
    for id in [c1.id, c2.id] {
        assert!(
            conv(&t, id).await.trashed_at.is_some(),
            "conversation {id} is trashed"
        );
    }
    // A trashed ticket cannot be edited until restored.
    assert_not_found(
        t.app
            .update_ticket(
                &agent,
                ticket.id,
                fd_app::TicketChanges {
                    properties: props(&[("hs_ticket_priority", "HIGH")]),
                    expected_version: None,
                },
            )
            .await,
    );

    let restored = t.app.restore_ticket(&agent, ticket.id).await.unwrap();
    assert_eq!(restored.trashed_at, None);
    for id in [c1.id, c2.id] {
        assert_eq!(
            conv(&t, id).await.trashed_at,
            None,
            "conversation {id} is back"
        );
    }
    assert!(matches!(
        t.app.restore_ticket(&agent, ticket.id).await,
        Err(AppError::Conflict(_))
    ));
    let d = t.app.ticket_details(&agent, ticket.id).await.unwrap();
    assert_eq!(d.conversations.len(), 2);
    let actions: Vec<&str> = d.activity.iter().map(|a| a.action.as_str()).collect();
    assert!(
        actions.contains(&"trashed") && actions.contains(&"restored"),
        "{actions:?}"
    );
}

async fn inb_13_purge(t: TestApp) {
    const DAY: i64 = 86_400_000;
    let (_, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    // Mentioned below, so the purge also has a notification to take along.
    t.agent("bob@example.com", TicketAccessLevel::All, &[])
        .await;
    assert_eq!(
        t.app.account_settings().await.unwrap().trash_retention_days,
        90
    );

    // A trashed ticket with everything that can hang off it.
    let (c1, doomed, k) = conversation_with_ticket(&t, "carl@customer.example").await;
    let c2 = attach_new_conversation(&t, &agent, doomed.id, &k).await;
    t.app
        .send_reply(&agent, c1.id, reply("On it"))
        .await
        .unwrap();
    t.app.follow_ticket(&agent, doomed.id, true).await.unwrap();
    t.app
        .comment(&agent, Some(doomed.id), None, "@bob have a look")
        .await
        .unwrap();
    t.app
        .save_draft(
            &agent,
            Draft {
                id: DraftId(0),
                author_id: UserId(0),
                ticket_id: None,
                conversation_id: Some(c2.id),
                body_text: "half a reply".into(),
                body_html: None,
                recipients: Recipients::default(),
                from_address: None,
                reply_to_message_id: None,
                seen_message_id: None,
                created_at: 0,
                updated_at: 0,
            },
        )
        .await
        .unwrap();
    // A trashed conversation without ticket, and a ticket trashed then restored.
    let (lone, _) = email_conversation(&t, &k, TicketCreation::None).await;
    let kept = ticket(&t, &agent, "Kept").await;

    t.app.trash_conversation(&agent, c1.id).await.unwrap();
    t.app.trash_conversation(&agent, lone.id).await.unwrap();
    t.app.trash_ticket(&agent, kept.id).await.unwrap();
    t.app.restore_ticket(&agent, kept.id).await.unwrap();

    // Before the retention period ends nothing is purged.
    t.clock.advance_ms(89 * DAY);
    assert_eq!(t.app.purge_trash().await.unwrap(), (0, 0));
    assert!(tk(&t, doomed.id).await.trashed_at.is_some());
    assert!(conv(&t, lone.id).await.trashed_at.is_some());
    assert_eq!(
        t.app.messages(&Actor::system(), c1.id).await.unwrap().len(),
        2
    );

    // After it, the trash is deleted for good (the ticket takes its conversations along).
    t.clock.advance_ms(2 * DAY);
    assert_eq!(t.app.purge_trash().await.unwrap(), (1, 1));
    assert_not_found(t.app.ticket(&Actor::system(), doomed.id).await);
    for id in [c1.id, c2.id, lone.id] {
        assert_not_found(t.app.conversation(&Actor::system(), id).await);
        assert_not_found(t.app.messages(&Actor::system(), id).await);
    }
    assert!(t.app.drafts(&agent).await.unwrap().is_empty());
    let rows = t
        .app
        .associations(
            &Actor::system(),
            AssociationEnd::new(ObjectType::Contact, k.id.0),
            ObjectType::Ticket,
        )
        .await
        .unwrap();
    assert!(
        rows.is_empty(),
        "associations went with the ticket: {rows:?}"
    );
    // What was restored stays.
    assert_eq!(tk(&t, kept.id).await.trashed_at, None);
    assert_eq!(t.app.purge_trash().await.unwrap(), (0, 0));
}
