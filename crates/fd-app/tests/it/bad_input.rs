//! Bad input gets a clear error naming the field, and nothing is half-written.

use fd_app::domain::property::PropertyType;
use fd_app::domain::*;
use fd_app::{Actor, AppError, NewConversation, NewProperty, NewTicket, TicketChanges};
use fd_app::{AssociationEnd, TicketCreation};
use fd_store::*;
use fd_testkit::TestApp;

use crate::common::*;

fd_testkit::on_both_backends! {
    bad_input_update_is_refused_naming_the_field_and_changes_nothing => bad_update;
    bad_input_create_is_refused_naming_the_field_and_writes_nothing => bad_create;
    bad_input_unknown_ids_are_refused => unknown_ids;
    bad_input_every_problem_is_reported_at_once => all_problems;
    bad_input_hostile_strings_are_stored_verbatim => hostile_strings;
    bad_input_unknown_or_inactive_owner_is_refused_everywhere => bad_owner;
    storage_failure_is_not_quoted_to_sending_servers => storage_failure_to_smtp;
}

/// A sending server told to retry hears our words, never the database's (the SMTP reply
/// quotes the text); the cause goes to the log.
async fn storage_failure_to_smtp(t: TestApp) {
    use fd_mail::{DeliveryError, IncomingMail, MailSink, MailSource, RecipientVerdict};
    let service = fd_app::MailService::new(t.app.clone(), fd_app::MailSettings::default());
    t.app.db().close().await;
    let mail = IncomingMail {
        source: MailSource::Mailgate,
        envelope_from: Some("a@example.com".into()),
        recipients: vec!["support@example.com".into()],
        raw: b"Subject: hi\r\n\r\nhello\r\n".to_vec(),
        truncated_from: None,
    };
    match service.deliver(mail).await {
        Err(DeliveryError::Temporary(why)) => assert_eq!(why, "local storage problem"),
        other => panic!("expected a temporary failure, got {other:?}"),
    }
    match service.check_recipient("support@example.com").await {
        RecipientVerdict::TempFail(why) => assert_eq!(why, "local storage problem"),
        other => panic!("expected a temporary failure, got {other:?}"),
    }
}

async fn number_property(t: &TestApp, admin: &Actor) {
    t.app
        .create_property(
            admin,
            "tickets",
            NewProperty {
                name: "order_count".into(),
                label: "Order count".into(),
                kind: PropertyType::Number,
                field_type: None,
                group_name: "ticketinformation".into(),
                description: String::new(),
                options: vec![],
                display_order: 50,
                form_field: true,
            },
        )
        .await
        .unwrap();
}

/// Each bad (property, value) with the field its error must name.
fn bad_pairs(missing_user: &str, missing_team: &str) -> Vec<(String, String, String)> {
    [
        ("no_such_property", "x", "no_such_property"),
        ("order_count", "twelve", "order_count"),
        ("order_count", "NaN", "order_count"),
        ("order_count", "1e999", "order_count"),
        ("hs_ticket_priority", "SUPERURGENT", "hs_ticket_priority"),
        (
            "hs_ticket_category",
            "BILLING_ISSUE;NOPE",
            "hs_ticket_category",
        ),
        ("hubspot_owner_id", missing_user, "hubspot_owner_id"),
        ("hubspot_owner_id", "not-a-number", "hubspot_owner_id"),
        ("hubspot_team_id", missing_team, "hubspot_team_id"),
        ("hs_pipeline", "424242", "hs_pipeline"),
        ("hs_pipeline_stage", "424242", "hs_pipeline_stage"),
        ("createdate", "2026-01-02T00:00:00Z", "createdate"),
        ("hs_object_id", "7", "hs_object_id"),
        ("closed_date", "1767225600000", "closed_date"),
        ("subject", "", "subject"),
        ("subject", "   ", "subject"),
        ("content", "nul\0byte", "content"),
    ]
    .into_iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect()
}

/// A valid change to send along with a bad one (never the same property).
fn companion(name: &str) -> (&'static str, &'static str) {
    if name == "hs_ticket_category" {
        ("content", "changed")
    } else {
        ("hs_ticket_category", "PRODUCT_ISSUE")
    }
}

async fn bad_update(t: TestApp) {
    let (_, admin) = t.admin("boss@example.com").await;
    number_property(&t, &admin).await;
    let (_, a) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (c, created, _) = conversation_with_ticket(&t, "carl@customer.example").await;
    let created = update(
        &t,
        &a,
        created.id,
        &[("order_count", "3"), ("hs_ticket_priority", "LOW")],
    )
    .await;
    let before = tk(&t, created.id).await;
    let history = t
        .app
        .ticket_details(&a, created.id)
        .await
        .unwrap()
        .activity
        .len();

    for (name, value, field) in bad_pairs("987654", "987654") {
        // Paired with a valid change that must not be written either.
        let r = t
            .app
            .update_ticket(
                &a,
                created.id,
                TicketChanges {
                    properties: props(&[(&name, &value), companion(&name)]),
                    expected_version: None,
                },
            )
            .await;
        assert_invalid(r, &field);
        assert_eq!(
            tk(&t, created.id).await,
            before,
            "{name}={value:?} changed nothing"
        );
    }
    // A stage move refused for another field does not close the conversation.
    let r = t
        .app
        .update_ticket(
            &a,
            created.id,
            TicketChanges {
                properties: props(&[
                    ("hs_pipeline_stage", STAGE_CLOSED),
                    ("hs_ticket_priority", "SUPERURGENT"),
                ]),
                expected_version: None,
            },
        )
        .await;
    assert_invalid(r, "hs_ticket_priority");
    assert_eq!(conv(&t, c.id).await.status, ConversationStatus::Open);
    assert_eq!(tk(&t, created.id).await, before);
    assert_eq!(
        t.app
            .ticket_details(&a, created.id)
            .await
            .unwrap()
            .activity
            .len(),
        history,
        "no activity was recorded"
    );
    // Good values are normalised.
    let ok = update(&t, &a, created.id, &[("order_count", " 12.0 ")]).await;
    assert_eq!(ok.property("order_count").as_deref(), Some("12"));
}

async fn bad_create(t: TestApp) {
    let (_, admin) = t.admin("boss@example.com").await;
    number_property(&t, &admin).await;
    let before = ticket_count_with_trash(&t).await;
    for (name, value, field) in bad_pairs("987654", "987654") {
        let mut p = props(&[("subject", "Bad"), ("hs_pipeline_stage", STAGE_NEW)]);
        p.insert(name.clone(), value.clone());
        let r = t
            .app
            .create_ticket(
                &admin,
                NewTicket {
                    properties: p,
                    ..NewTicket::default()
                },
            )
            .await;
        assert_invalid(r, &field);
    }
    assert_eq!(ticket_count_with_trash(&t).await, before);
    // Creating a ticket from a conversation with bad properties leaves the conversation alone.
    let k = contact(&t, "carl@customer.example").await;
    let (c, _) = email_conversation(&t, &k, TicketCreation::None).await;
    let r = t
        .app
        .create_ticket_from_conversation(
            &admin,
            c.id,
            props(&[("hs_ticket_priority", "SUPERURGENT")]),
        )
        .await;
    assert_invalid(r, "hs_ticket_priority");
    let c = conv(&t, c.id).await;
    assert_eq!(c.ticket_id, None);
    assert_eq!(c.workspace, Workspace::Inbox);
    assert_eq!(ticket_count_with_trash(&t).await, before);
}

async fn unknown_ids(t: TestApp) {
    let (_, a) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let missing_ticket = TicketId(987_654);
    let missing_conv = ConversationId(987_654);
    assert_not_found(t.app.ticket(&a, missing_ticket).await);
    assert_not_found(
        t.app
            .update_ticket(
                &a,
                missing_ticket,
                TicketChanges {
                    properties: props(&[("subject", "x")]),
                    expected_version: None,
                },
            )
            .await,
    );
    assert_not_found(t.app.trash_ticket(&a, missing_ticket).await);
    assert_not_found(t.app.restore_ticket(&a, missing_ticket).await);
    assert_not_found(t.app.conversation(&a, missing_conv).await);
    assert_not_found(t.app.send_reply(&a, missing_conv, reply("hello")).await);
    assert_not_found(t.app.close_conversation(&a, missing_conv).await);
    assert_not_found(
        t.app
            .create_ticket_from_conversation(&a, missing_conv, Default::default())
            .await,
    );
    assert_not_found(
        t.app
            .comment(&a, Some(missing_ticket), None, "anyone?")
            .await,
    );
    assert_not_found(t.app.pipeline(PipelineId(987_654)).await);

    let (c, created, k) = conversation_with_ticket(&t, "carl@customer.example").await;
    // Unknown owner of a conversation; nothing changes on it or its ticket.
    assert_invalid(
        t.app
            .assign_conversation_owner(&a, c.id, Some(UserId(987_654)))
            .await,
        "owner",
    );
    assert_eq!(conv(&t, c.id).await.owner_id, None);
    assert_eq!(tk(&t, created.id).await.owner_id, None);
    // Unknown records to associate.
    assert_not_found(
        t.app
            .associate(
                &a,
                AssociationEnd::new(ObjectType::Ticket, created.id.0),
                AssociationEnd::new(ObjectType::Company, 987_654),
            )
            .await,
    );
    assert_not_found(
        t.app
            .associate(
                &a,
                AssociationEnd::new(ObjectType::Ticket, missing_ticket.0),
                AssociationEnd::new(ObjectType::Contact, k.id.0),
            )
            .await,
    );
    // Unknown contact or team on a new conversation: refused, nothing stored.
    let listed_before = t
        .app
        .list_conversations(&Actor::system(), &ConversationListQuery::default())
        .await
        .unwrap()
        .len();
    assert_invalid(
        t.app
            .create_conversation(
                &Actor::system(),
                new_conversation(Channel::Email, Some(ContactId(987_654))),
                None,
            )
            .await,
        "contact",
    );
    assert_invalid(
        t.app
            .create_conversation(
                &Actor::system(),
                NewConversation {
                    team: Some(TeamId(987_654)),
                    ..new_conversation(Channel::Chat, None)
                },
                None,
            )
            .await,
        "team",
    );
    assert_invalid(
        t.app
            .create_conversation(
                &Actor::system(),
                NewConversation {
                    visitor_email: Some("not an address".into()),
                    ..new_conversation(Channel::Chat, None)
                },
                None,
            )
            .await,
        "email",
    );
    assert_eq!(
        t.app
            .list_conversations(&Actor::system(), &ConversationListQuery::default())
            .await
            .unwrap()
            .len(),
        listed_before
    );
    // Unknown stage to send with.
    assert_invalid(
        t.app
            .send_reply(
                &a,
                c.id,
                fd_app::Reply {
                    set_stage: Some(StageId(987_654)),
                    ..reply("bye")
                },
            )
            .await,
        "hs_pipeline_stage",
    );
    assert_eq!(t.app.messages(&a, c.id).await.unwrap().len(), 1);
    // Bad recipients.
    let r = t
        .app
        .send_reply(
            &a,
            c.id,
            fd_app::Reply {
                recipients: Recipients {
                    to: vec!["carl@customer.example".into()],
                    cc: vec!["<script>@x".into()],
                    bcc: vec![],
                },
                ..reply("hello")
            },
        )
        .await;
    assert_invalid(r, "email");
    assert_invalid(t.app.send_reply(&a, c.id, reply("  ")).await, "text");
    assert_eq!(t.app.messages(&a, c.id).await.unwrap().len(), 1);
}

async fn all_problems(t: TestApp) {
    let (_, admin) = t.admin("boss@example.com").await;
    number_property(&t, &admin).await;
    let created = ticket(&t, &admin, "Many problems").await;
    let r = t
        .app
        .update_ticket(
            &admin,
            created.id,
            TicketChanges {
                properties: props(&[
                    ("order_count", "many"),
                    ("hs_ticket_priority", "SUPERURGENT"),
                    ("createdate", "0"),
                    ("bogus", "1"),
                ]),
                expected_version: None,
            },
        )
        .await;
    match r {
        Err(AppError::Domain(DomainError::Invalid(fields))) => {
            let mut names: Vec<String> = fields.into_iter().map(|f| f.field).collect();
            names.sort();
            assert_eq!(
                names,
                vec!["bogus", "createdate", "hs_ticket_priority", "order_count"]
            );
        }
        other => panic!("expected every field to be reported, got {other:?}"),
    }
    assert_eq!(tk(&t, created.id).await, created);
}

async fn hostile_strings(t: TestApp) {
    let (_, a) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let hostile =
        "Robert'); DROP TABLE tickets;-- <script>alert(1)</script> 100% _x_ \\ ünïcødé 🎫";
    let created = ticket_with(&t, &a, &[("subject", hostile), ("content", hostile)]).await;
    let stored = tk(&t, created.id).await;
    assert_eq!(stored.subject, hostile);
    assert_eq!(stored.content.as_deref(), Some(hostile));
    // LIKE wildcards in a search are literal.
    ticket(&t, &a, "plain").await;
    for (text, n) in [
        ("100%", 1),
        ("_x_", 1),
        ("%", 1),
        ("_", 1),
        ("\\", 1),
        ("DROP TABLE", 1),
    ] {
        let q = TicketListQuery {
            text: Some(text.into()),
            ..all_tickets()
        };
        assert_eq!(
            t.app.count_tickets(&a, &q).await.unwrap(),
            n,
            "search {text:?}"
        );
    }
    // Over-long subjects are refused, not truncated.
    let long = "x".repeat(1001);
    let r = t
        .app
        .update_ticket(
            &a,
            created.id,
            TicketChanges {
                properties: props(&[("subject", &long)]),
                expected_version: None,
            },
        )
        .await;
    assert_invalid(r, "subject");
    assert_eq!(tk(&t, created.id).await, stored);
}

async fn bad_owner(t: TestApp) {
    let (_, admin) = t.admin("boss@example.com").await;
    let (gone, _) = t
        .agent("gone@example.com", TicketAccessLevel::All, &[])
        .await;
    t.app.set_user_active(&admin, gone.id, false).await.unwrap();
    let listed = || async {
        t.app
            .list_conversations(&Actor::system(), &ConversationListQuery::default())
            .await
            .unwrap()
            .len()
    };
    for owner in [UserId(987_654), gone.id] {
        // A new conversation, with or without its ticket.
        for ticket in [TicketCreation::None, TicketCreation::Automatic] {
            let r = t
                .app
                .create_conversation(
                    &Actor::system(),
                    NewConversation {
                        owner: Some(owner),
                        ticket,
                        ..new_conversation(Channel::Chat, None)
                    },
                    None,
                )
                .await;
            assert!(
                matches!(r, Err(AppError::Domain(DomainError::Invalid(_)))),
                "owner {owner} ({ticket:?}): {r:?}"
            );
        }
        assert_eq!(listed().await, 0);
        assert_eq!(ticket_count_with_trash(&t).await, 0);
        // A new ticket.
        let r = t
            .app
            .create_ticket(
                &admin,
                NewTicket {
                    properties: props(&[
                        ("subject", "Owned by a ghost"),
                        ("hs_pipeline_stage", STAGE_NEW),
                        ("hubspot_owner_id", &owner.to_string()),
                    ]),
                    ..NewTicket::default()
                },
            )
            .await;
        assert_invalid(r, "hubspot_owner_id");
    }
    let (c, created, _) = conversation_with_ticket(&t, "carl@customer.example").await;
    assert_invalid(
        t.app
            .assign_conversation_owner(&admin, c.id, Some(gone.id))
            .await,
        "owner",
    );
    assert_invalid(
        t.app
            .assign_ticket_owner(&admin, created.id, Some(gone.id))
            .await,
        "hubspot_owner_id",
    );
    assert_eq!(tk(&t, created.id).await, created);
}
