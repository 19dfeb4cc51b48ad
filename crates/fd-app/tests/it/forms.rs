//! Web forms (HD-06, HD-15): a submission is one use case — the contact by email, a FORM
//! conversation on the form's team with the fields as its first message, and on the help
//! desk its ticket through the automatic-ticket path; refusals, the honeypot and the
//! per-address budget store nothing; the agent's reply goes out by email and the
//! submitter's answer threads back onto the same ticket.

use std::net::IpAddr;

use fd_app::domain::forms::{FieldObject, FormField, PostSubmit, SubmittedValue};
use fd_app::domain::*;
use fd_app::{
    Actor, FormChanges, FormSubmission, MailService, MailSettings, NewForm, SUBMIT_BURST,
    SUBMIT_REFILL_MS, SubmitOutcome,
};
use fd_mail::{IncomingMail, MailSource};
use fd_store::ConversationListQuery;
use fd_testkit::TestApp;

use crate::common::*;

fd_testkit::on_both_backends! {
    hd_06_a_help_desk_form_submission_is_a_contact_a_form_conversation_and_a_ticket => help_desk_submission;
    hd_06_an_inbox_form_submission_opens_a_conversation_without_a_ticket => inbox_submission;
    hd_06_refused_discarded_and_throttled_submissions_store_nothing => nothing_stored;
    hd_06_form_definitions_are_checked_and_archived_forms_take_no_submissions => definitions;
    hd_15_the_reply_to_a_form_goes_by_email_and_the_answer_lands_on_the_same_ticket => reply_by_email;
}

const SUPPORT: &str = "support@help.example";

fn value(object: Option<&str>, name: &str, v: &str) -> SubmittedValue {
    SubmittedValue {
        object_type_id: object.map(str::to_string),
        name: name.into(),
        value: v.into(),
    }
}

async fn form(t: &TestApp, workspace: Workspace) -> fd_app::domain::forms::Form {
    let team = t.team("Support").await;
    t.app
        .create_form(
            &Actor::system(),
            NewForm {
                name: "Support form".into(),
                fields: fd_app::domain::forms::default_fields(),
                post_submit: PostSubmit::ThankYou("Thanks, we got it.".into()),
                team: Some(team),
                workspace,
            },
        )
        .await
        .unwrap()
}

async fn submit(t: &TestApp, form_id: &str, values: Vec<SubmittedValue>) -> SubmitOutcome {
    t.app
        .submit_form(FormSubmission {
            portal_id: t.app.portal_id().await.unwrap(),
            form_id: form_id.into(),
            values,
            honeypot: None,
            client: None,
            page_uri: Some("https://example.com/help".into()),
        })
        .await
        .unwrap()
}

async fn conversations(t: &TestApp) -> Vec<fd_store::Conversation> {
    t.app
        .list_conversations(
            &Actor::system(),
            &ConversationListQuery {
                limit: 1000,
                ..ConversationListQuery::default()
            },
        )
        .await
        .unwrap()
}

async fn help_desk_submission(t: TestApp) {
    let f = form(&t, Workspace::HelpDesk).await;
    // The contact exists already: the submission joins it whatever the address's case.
    let known = contact(&t, "ada@example.com").await;
    let outcome = submit(
        &t,
        &f.id,
        vec![
            value(Some("0-1"), "email", "ADA@Example.com"),
            value(None, "firstname", "Ada"),
            value(Some("0-5"), "subject", "Printer on fire"),
            value(Some("0-5"), "content", "It is smoking.\nPlease help."),
        ],
    )
    .await;
    let SubmitOutcome::Accepted {
        post_submit,
        contact,
        conversation,
        ticket,
    } = outcome
    else {
        panic!("not accepted: {outcome:?}")
    };
    assert_eq!(
        post_submit,
        PostSubmit::ThankYou("Thanks, we got it.".into())
    );
    assert_eq!(contact, known.id);
    let c = conv(&t, conversation).await;
    assert_eq!(c.channel, Channel::Form);
    assert_eq!(c.team_id, f.team);
    assert_eq!(c.workspace, Workspace::HelpDesk);
    assert_eq!(c.contact_id, Some(known.id));
    assert_eq!(c.subject.as_deref(), Some("Printer on fire"));
    let ticket = tk(&t, ticket.expect("HD-06: a ticket")).await;
    assert_eq!(c.ticket_id, Some(ticket.id));
    assert_eq!(ticket.subject, "Printer on fire");
    assert_eq!(ticket.source_type.as_deref(), Some("FORM"));
    assert_eq!(ticket.team_id, f.team);
    let messages = t.app.messages(&Actor::system(), c.id).await.unwrap();
    assert_eq!(messages.len(), 1);
    let first = &messages[0];
    assert_eq!(first.direction, Direction::Inbound);
    assert_eq!(first.sender_address.as_deref(), Some("ada@example.com"));
    assert!(
        first.text.contains("Subject:\nPrinter on fire"),
        "{}",
        first.text
    );
    assert!(
        first
            .text
            .contains("Message:\nIt is smoking.\nPlease help."),
        "{}",
        first.text
    );
    assert_eq!(
        t.app
            .form_submission_count(&Actor::system(), &f.id)
            .await
            .unwrap(),
        1
    );
    // A new address creates its contact, named from the form.
    let SubmitOutcome::Accepted { contact, .. } = submit(
        &t,
        &f.id,
        vec![
            value(None, "email", "grace@navy.example"),
            value(None, "firstname", "Grace"),
            value(None, "lastname", "Hopper"),
        ],
    )
    .await
    else {
        panic!("not accepted")
    };
    let k = t.app.contact(contact).await.unwrap();
    assert_eq!(k.email.as_deref(), Some("grace@navy.example"));
    assert_eq!(k.firstname.as_deref(), Some("Grace"));
    assert_eq!(k.lastname.as_deref(), Some("Hopper"));
    // Without a subject field the conversation and ticket are named after the form.
    let c = conversations(&t)
        .await
        .into_iter()
        .find(|c| c.contact_id == Some(contact))
        .unwrap();
    assert_eq!(c.subject.as_deref(), Some("Form: Support form"));
}

async fn inbox_submission(t: TestApp) {
    let f = form(&t, Workspace::Inbox).await;
    let before = ticket_count(&t).await;
    let SubmitOutcome::Accepted {
        conversation,
        ticket,
        ..
    } = submit(&t, &f.id, vec![value(None, "email", "bob@example.com")]).await
    else {
        panic!("not accepted")
    };
    assert_eq!(ticket, None);
    assert_eq!(ticket_count(&t).await, before);
    let c = conv(&t, conversation).await;
    assert_eq!(c.channel, Channel::Form);
    assert_eq!(c.workspace, Workspace::Inbox);
    assert_eq!(c.ticket_id, None);
}

async fn nothing_stored(t: TestApp) {
    let f = form(&t, Workspace::HelpDesk).await;
    let portal = t.app.portal_id().await.unwrap();
    let empty = (conversations(&t).await.len(), ticket_count(&t).await);
    // Refused: every reason, HubSpot's errorTypes.
    let SubmitOutcome::Rejected(errors) = submit(
        &t,
        &f.id,
        vec![
            value(None, "email", "not an address"),
            value(None, "shoe", "42"),
        ],
    )
    .await
    else {
        panic!("not refused")
    };
    let types: Vec<&str> = errors.iter().map(|e| e.error_type.as_str()).collect();
    assert_eq!(types, ["FIELD_NOT_IN_FORM_DEFINITION", "INVALID_EMAIL"]);
    let SubmitOutcome::Rejected(errors) = submit(&t, &f.id, vec![]).await else {
        panic!("not refused")
    };
    assert_eq!(errors[0].error_type.as_str(), "REQUIRED_FIELD");
    // The honeypot: a success for the bot, nothing for us.
    let bot = t
        .app
        .submit_form(FormSubmission {
            portal_id: portal,
            form_id: f.id.clone(),
            values: vec![value(None, "email", "bot@spam.example")],
            honeypot: Some("http://spam.example".into()),
            client: None,
            page_uri: None,
        })
        .await
        .unwrap();
    assert!(matches!(bot, SubmitOutcome::Discarded { .. }), "{bot:?}");
    // Unknown form, wrong portal: not found.
    assert_not_found(
        t.app
            .submit_form(FormSubmission {
                portal_id: portal + 1,
                form_id: f.id.clone(),
                ..FormSubmission::default()
            })
            .await,
    );
    assert_not_found(
        t.app
            .submit_form(FormSubmission {
                portal_id: portal,
                form_id: "00000000-0000-4000-8000-000000000000".into(),
                ..FormSubmission::default()
            })
            .await,
    );
    // A ticket value the ticket rules refuse rolls the whole submission back.
    let priority = t
        .app
        .update_form(
            &Actor::system(),
            &f.id,
            FormChanges {
                fields: Some(
                    fd_app::domain::forms::default_fields()
                        .into_iter()
                        .chain([FormField {
                            object: FieldObject::Ticket,
                            name: "hs_ticket_priority".into(),
                            label: "Priority".into(),
                            required: false,
                        }])
                        .collect(),
                ),
                ..FormChanges::default()
            },
        )
        .await
        .unwrap();
    let SubmitOutcome::Rejected(errors) = submit(
        &t,
        &priority.id,
        vec![
            value(None, "email", "carol@example.com"),
            value(Some("0-5"), "hs_ticket_priority", "WHENEVER"),
        ],
    )
    .await
    else {
        panic!("not refused")
    };
    assert_eq!(
        errors[0].error_type.as_str(),
        "VALUE_NOT_IN_FIELD_DEFINITION"
    );
    assert_eq!(
        (conversations(&t).await.len(), ticket_count(&t).await),
        empty
    );
    {
        let mut tx = t.app.db().read().await.unwrap();
        assert!(
            tx.contact_by_email("carol@example.com")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            tx.contact_by_email("bot@spam.example")
                .await
                .unwrap()
                .is_none()
        );
        tx.commit().await.unwrap();
    }
    // A valid priority goes through the ticket rules onto the ticket.
    let SubmitOutcome::Accepted { ticket, .. } = submit(
        &t,
        &priority.id,
        vec![
            value(None, "email", "carol@example.com"),
            value(Some("0-5"), "hs_ticket_priority", "HIGH"),
        ],
    )
    .await
    else {
        panic!("not accepted")
    };
    assert_eq!(
        tk(&t, ticket.unwrap()).await.priority.as_deref(),
        Some("HIGH")
    );
    // The per-address budget: every request counts; over it, nothing is even read.
    let ip: IpAddr = "203.0.113.5".parse().unwrap();
    let other: IpAddr = "198.51.100.7".parse().unwrap();
    let attempt = |client: IpAddr| FormSubmission {
        portal_id: portal,
        form_id: f.id.clone(),
        values: vec![],
        honeypot: None,
        client: Some(client),
        page_uri: None,
    };
    // Each clock read moves a manual clock by a millisecond: hold time still.
    let still = t.app.now();
    for _ in 0..SUBMIT_BURST {
        t.clock.set_ms(still);
        let r = t.app.submit_form(attempt(ip)).await.unwrap();
        assert!(matches!(r, SubmitOutcome::Rejected(_)), "{r:?}");
    }
    t.clock.set_ms(still);
    let r = t.app.submit_form(attempt(ip)).await.unwrap();
    let SubmitOutcome::Throttled { retry_after_ms } = r else {
        panic!("not throttled: {r:?}")
    };
    assert_eq!(retry_after_ms, SUBMIT_REFILL_MS);
    // Another address is not affected; time refills the budget.
    assert!(matches!(
        t.app.submit_form(attempt(other)).await.unwrap(),
        SubmitOutcome::Rejected(_)
    ));
    t.clock.set_ms(still + SUBMIT_REFILL_MS);
    assert!(matches!(
        t.app.submit_form(attempt(ip)).await.unwrap(),
        SubmitOutcome::Rejected(_)
    ));
}

async fn definitions(t: TestApp) {
    let f = form(&t, Workspace::HelpDesk).await;
    let (agent_user, agent) = t
        .agent("agent@example.com", TicketAccessLevel::All, &["Support"])
        .await;
    let _ = agent_user;
    // Only administrators build forms.
    assert_forbidden(
        t.app
            .create_form(
                &agent,
                NewForm {
                    name: "Mine".into(),
                    fields: fd_app::domain::forms::default_fields(),
                    post_submit: PostSubmit::ThankYou(String::new()),
                    team: None,
                    workspace: Workspace::HelpDesk,
                },
            )
            .await,
    );
    // HD-15: the submitter is answered by email, so email stays a required field.
    let no_email = t
        .app
        .update_form(
            &Actor::system(),
            &f.id,
            FormChanges {
                fields: Some(vec![FormField {
                    object: FieldObject::Ticket,
                    name: "subject".into(),
                    label: String::new(),
                    required: true,
                }]),
                ..FormChanges::default()
            },
        )
        .await;
    assert_invalid(no_email, "fields.email");
    assert_invalid(
        t.app
            .update_form(
                &Actor::system(),
                &f.id,
                FormChanges {
                    post_submit: Some(PostSubmit::Redirect("javascript:alert(1)".into())),
                    ..FormChanges::default()
                },
            )
            .await,
        "postSubmitAction",
    );
    assert_invalid(
        t.app
            .update_form(
                &Actor::system(),
                &f.id,
                FormChanges {
                    team: Some(Some(TeamId(999_999))),
                    ..FormChanges::default()
                },
            )
            .await,
        "team",
    );
    // The portal id is stable.
    assert_eq!(
        t.app.portal_id().await.unwrap(),
        t.app.portal_id().await.unwrap()
    );
    // Archived: gone from the live list, no hosted page, no submissions; restorable.
    t.app.archive_form(&Actor::system(), &f.id).await.unwrap();
    let (live, _) = t.app.forms(&Actor::system(), false, 0, 10).await.unwrap();
    assert!(live.is_empty());
    let (archived, _) = t.app.forms(&Actor::system(), true, 0, 10).await.unwrap();
    assert_eq!(archived.len(), 1);
    assert!(archived[0].archived_at.is_some());
    assert!(t.app.public_form(&f.id).await.unwrap().is_none());
    assert_not_found(
        t.app
            .submit_form(FormSubmission {
                portal_id: t.app.portal_id().await.unwrap(),
                form_id: f.id.clone(),
                values: vec![value(None, "email", "a@example.com")],
                ..FormSubmission::default()
            })
            .await,
    );
    let restored = t
        .app
        .update_form(
            &Actor::system(),
            &f.id,
            FormChanges {
                archived: Some(false),
                ..FormChanges::default()
            },
        )
        .await
        .unwrap();
    assert!(!restored.archived && restored.archived_at.is_none());
    // Paging: one page at a time, in creation order.
    for i in 0..3 {
        t.clock.advance_ms(1);
        t.app
            .create_form(
                &Actor::system(),
                NewForm {
                    name: format!("Form {i}"),
                    fields: fd_app::domain::forms::default_fields(),
                    post_submit: PostSubmit::ThankYou(String::new()),
                    team: None,
                    workspace: Workspace::HelpDesk,
                },
            )
            .await
            .unwrap();
    }
    let (first, more) = t.app.forms(&Actor::system(), false, 0, 2).await.unwrap();
    assert!(more);
    assert_eq!(first[0].id, f.id);
    let (rest, more) = t.app.forms(&Actor::system(), false, 2, 2).await.unwrap();
    assert!(!more);
    assert_eq!(
        rest.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
        ["Form 1", "Form 2"]
    );
}

async fn reply_by_email(t: TestApp) {
    let f = form(&t, Workspace::HelpDesk).await;
    t.app
        .connect_email(
            &Actor::system(),
            SUPPORT,
            "Support",
            Workspace::HelpDesk,
            false,
        )
        .await
        .unwrap();
    let (_, agent) = t
        .agent("agent@example.com", TicketAccessLevel::All, &["Support"])
        .await;
    let SubmitOutcome::Accepted {
        conversation,
        ticket,
        ..
    } = submit(
        &t,
        &f.id,
        vec![
            value(None, "email", "dana@customer.example"),
            value(None, "subject", "Where is my order?"),
        ],
    )
    .await
    else {
        panic!("not accepted")
    };
    let ticket = ticket.unwrap();
    let sent = t
        .app
        .send_reply(&agent, conversation, reply("It ships today."))
        .await
        .unwrap();
    // Queued for the outbox (shown as sent only once a relay accepts it), to the submitter,
    // from the team's address, with our Message-ID.
    assert_eq!(sent.status, DeliveryStatus::Queued);
    assert_eq!(sent.channel, Channel::Form);
    assert_eq!(sent.recipients.to, ["dana@customer.example"]);
    assert_eq!(sent.sender_address.as_deref(), Some(SUPPORT));
    let our_id = sent.message_id_header.clone().expect("a Message-ID");
    {
        let mut tx = t.app.db().read().await.unwrap();
        assert!(tx.pending_job_count().await.unwrap() >= 1);
        tx.commit().await.unwrap();
    }
    // The submitter answers the email: it lands on the same conversation and ticket.
    let mail = MailService::new(t.app.clone(), MailSettings::default());
    let raw = format!(
        "From: Dana <dana@customer.example>\r\nTo: {SUPPORT}\r\nSubject: Re: Where is my order?\r\n\
         Message-ID: <answer-1@customer.example>\r\nIn-Reply-To: {our_id}\r\nReferences: {our_id}\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThank you!\r\n"
    );
    mail.accept(IncomingMail {
        source: MailSource::Mailgate,
        envelope_from: None,
        recipients: vec![SUPPORT.into()],
        raw: raw.into_bytes(),
        truncated_from: None,
    })
    .await
    .unwrap();
    mail.run_pending_jobs().await.unwrap();
    let messages = t
        .app
        .messages(&Actor::system(), conversation)
        .await
        .unwrap();
    let answer = messages.last().unwrap();
    assert_eq!(answer.direction, Direction::Inbound);
    assert!(answer.text.contains("Thank you!"), "{}", answer.text);
    assert_eq!(conv(&t, conversation).await.ticket_id, Some(ticket));
    assert_eq!(ticket_count(&t).await, 1, "no second ticket");
}
