//! Automation (issue 16, item 3; HD-20), on both backends with the injected clock: each
//! trigger, the conditions, each action, HD-20's built-in rule (on by default, a status
//! chosen at send time wins, off when turned off), loop protection, a refused action logged
//! and told to the administrators, and a time trigger firing once per occurrence.

use fd_app::domain::automation::*;
use fd_app::domain::*;
use fd_app::{Actor, Reply, RuleInput};
use fd_testkit::TestApp;

use crate::common::*;

fd_testkit::on_both_backends! {
    hd_20_builtin_rule_is_on_by_default_and_moves_an_emailed_ticket_to_waiting_on_contact => hd_20_default;
    hd_20_a_status_chosen_at_send_time_wins_over_the_rule => hd_20_chosen_status_wins;
    hd_20_the_builtin_rule_can_be_turned_off_and_not_deleted => hd_20_off;
    automation_ticket_created_with_conditions_posts_a_comment_and_sets_team => created_trigger;
    automation_customer_message_sets_a_property_and_emails_the_customer => customer_message_trigger;
    automation_status_owner_and_property_changes_trigger_their_rules => change_triggers;
    automation_business_hours_condition_follows_the_clock => business_hours;
    automation_loop_protection_ends_a_ping_pong_of_rules => loop_protection;
    automation_a_refused_action_is_logged_and_notifies_an_admin => refused_action;
    automation_hd_19_applies_to_a_rules_status_change => hd_19_applies;
    automation_time_trigger_fires_once_per_occurrence => time_trigger;
    automation_rules_are_validated_and_admin_only => validation;
    automation_sla_due_soon_and_breached_fire_once_per_clock => sla_triggers;
}

fn rule(
    name: &str,
    trigger: Trigger,
    conditions: Vec<Condition>,
    actions: Vec<Action>,
) -> RuleInput {
    RuleInput {
        name: name.into(),
        enabled: true,
        trigger,
        conditions,
        actions,
    }
}

async fn add(t: &TestApp, r: RuleInput) -> i64 {
    t.app
        .create_automation_rule(&Actor::system(), r)
        .await
        .unwrap()
}

async fn hd_20_rule(t: &TestApp) -> fd_app::AutomationRule {
    t.app
        .automation_rules(&Actor::system())
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.rule.builtin.as_deref() == Some(HD_20_BUILTIN))
        .expect("the built-in HD-20 rule")
}

async fn last_outcome(t: &TestApp, id: i64) -> String {
    t.app
        .automation_rule(&Actor::system(), id)
        .await
        .unwrap()
        .last_outcome
        .unwrap_or_default()
}

async fn hd_20_default(t: TestApp) {
    let (_, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let r = hd_20_rule(&t).await;
    assert!(r.rule.enabled, "HD-20's rule is on in a new installation");
    let (c, tkt, _) = conversation_with_ticket(&t, "gina@customer.example").await;
    assert_eq!(tkt.stage_id.to_string(), STAGE_NEW);
    t.app.send_reply(&ann, c.id, reply("On it")).await.unwrap();
    let after = tk(&t, tkt.id).await;
    assert_eq!(after.stage_id.to_string(), STAGE_WAITING);
    let r = hd_20_rule(&t).await;
    assert_eq!(r.last_ticket, Some(tkt.id));
    assert!(r.last_run_at.is_some_and(|at| at <= t.app.now()));
    assert!(r.last_outcome.unwrap().contains("Waiting on contact"));
    // The change is in the ticket's history, made by the system.
    let moved = ticket_activity(&t, tkt.id)
        .await
        .into_iter()
        .find(|a| a.field.as_deref() == Some("hs_pipeline_stage"))
        .expect("the status change");
    assert_eq!(moved.new_value.as_deref(), Some(STAGE_WAITING));
    assert_eq!(moved.actor_user_id, None);
    // A reply on a ticket already waiting leaves it there and says so.
    t.app.send_reply(&ann, c.id, reply("Again")).await.unwrap();
    assert_eq!(tk(&t, tkt.id).await.stage_id.to_string(), STAGE_WAITING);
}

async fn hd_20_chosen_status_wins(t: TestApp) {
    let (_, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (c, tkt, _) = conversation_with_ticket(&t, "gina@customer.example").await;
    // The agent chooses "Waiting on us" (3) at send time: the rule does not move it.
    t.app
        .send_reply(
            &ann,
            c.id,
            Reply {
                set_stage: Some(StageId(3)),
                ..reply("Looking into it")
            },
        )
        .await
        .unwrap();
    assert_eq!(tk(&t, tkt.id).await.stage_id, StageId(3));
    let id = hd_20_rule(&t).await.rule.id;
    assert!(last_outcome(&t, id).await.contains("HD-20"));
    // Choosing the status the ticket already has wins too.
    t.app
        .send_reply(
            &ann,
            c.id,
            Reply {
                set_stage: Some(StageId(3)),
                ..reply("Still looking")
            },
        )
        .await
        .unwrap();
    assert_eq!(tk(&t, tkt.id).await.stage_id, StageId(3));
}

async fn hd_20_off(t: TestApp) {
    let (_, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let id = hd_20_rule(&t).await.rule.id;
    assert_invalid(
        t.app.delete_automation_rule(&Actor::system(), id).await,
        "rule",
    );
    hd_20_rule_off(&t).await;
    let (c, tkt, _) = conversation_with_ticket(&t, "gina@customer.example").await;
    t.app.send_reply(&ann, c.id, reply("On it")).await.unwrap();
    assert_eq!(tk(&t, tkt.id).await.stage_id.to_string(), STAGE_NEW);
    assert_eq!(hd_20_rule(&t).await.last_run_at, None);
    // Turned on again, the next email moves the ticket.
    t.app
        .set_automation_rule_enabled(&Actor::system(), id, true)
        .await
        .unwrap();
    t.app.send_reply(&ann, c.id, reply("Now")).await.unwrap();
    assert_eq!(tk(&t, tkt.id).await.stage_id.to_string(), STAGE_WAITING);
}

async fn created_trigger(t: TestApp) {
    let red = t.team("Red").await;
    add(
        &t,
        rule(
            "Email tickets to Red",
            Trigger::TicketCreated,
            vec![Condition::Channel {
                channels: vec!["EMAIL".into()],
            }],
            vec![
                Action::SetTeam { team: Some(red) },
                Action::Comment {
                    body: "Routed by automation".into(),
                },
            ],
        ),
    )
    .await;
    let (_, tkt, _) = conversation_with_ticket(&t, "gina@customer.example").await;
    let after = tk(&t, tkt.id).await;
    assert_eq!(after.team_id, Some(red));
    let d = t
        .app
        .ticket_details(&Actor::system(), tkt.id)
        .await
        .unwrap();
    assert_eq!(d.comments.len(), 1);
    assert_eq!(d.comments[0].body, "Routed by automation");
    assert_eq!(d.comments[0].author_id, None);
    // A ticket by hand has no channel: the condition does not hold.
    let manual = ticket(&t, &Actor::system(), "By hand").await;
    assert_eq!(tk(&t, manual.id).await.team_id, None);

    // "Ticket created" runs once the channel's first message exists: a rule emailing the
    // customer answers it, on the conversation, after the inbound message.
    add(
        &t,
        rule(
            "Acknowledge email tickets",
            Trigger::TicketCreated,
            vec![Condition::Channel {
                channels: vec!["EMAIL".into()],
            }],
            vec![Action::SendEmail {
                body: "We have your request.".into(),
            }],
        ),
    )
    .await;
    let assert_answered = |thread: &[fd_store::Message], from: &str| {
        assert_eq!(thread.len(), 2, "{thread:?}");
        assert_eq!(thread[0].direction, Direction::Inbound);
        assert_eq!(thread[1].direction, Direction::Outbound);
        assert_eq!(thread[1].text, "We have your request.");
        assert_eq!(thread[1].recipients.to, vec![from.to_string()]);
        assert_eq!(thread[1].reply_to_message_id, Some(thread[0].id));
    };
    let (c, tkt, _) = conversation_with_ticket(&t, "hugo@customer.example").await;
    let thread = t.app.messages(&Actor::system(), c.id).await.unwrap();
    assert_answered(&thread, "hugo@customer.example");
    assert!(
        !ticket_activity(&t, tkt.id)
            .await
            .iter()
            .any(|a| a.action == "automation_refused")
    );
    // The same through mail ingestion.
    t.app
        .connect_email(
            &Actor::system(),
            "support@help.example",
            "Red",
            Workspace::HelpDesk,
            false,
        )
        .await
        .unwrap();
    let mail = fd_app::MailService::new(t.app.clone(), fd_app::MailSettings::default());
    mail.accept(fd_mail::IncomingMail {
        source: fd_mail::MailSource::Mailgate,
        envelope_from: None,
        recipients: vec!["support@help.example".into()],
        raw: b"From: Ida <ida@customer.example>\r\nTo: support@help.example\r\nSubject: By mail\r\n\
Message-ID: <created-rule@customer.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nHelp.\r\n"
            .to_vec(),
        truncated_from: None,
    })
    .await
    .unwrap();
    mail.run_pending_jobs().await.unwrap();
    let by_mail = t
        .app
        .list_tickets(&Actor::system(), &all_tickets())
        .await
        .unwrap()
        .into_iter()
        .find(|x| x.subject == "By mail")
        .expect("a ticket from mail");
    let d = t
        .app
        .ticket_details(&Actor::system(), by_mail.id)
        .await
        .unwrap();
    assert_eq!(d.conversations.len(), 1);
    let thread = t
        .app
        .messages(&Actor::system(), d.conversations[0].id)
        .await
        .unwrap();
    assert_answered(&thread, "ida@customer.example");
}

async fn customer_message_trigger(t: TestApp) {
    hd_20_rule_off(&t).await;
    add(
        &t,
        rule(
            "Customer wrote while waiting",
            Trigger::CustomerMessage,
            vec![Condition::Property {
                property: "hs_ticket_priority".into(),
                op: PropertyOp::Empty,
                values: vec![],
            }],
            vec![
                Action::SetProperty {
                    property: "hs_ticket_priority".into(),
                    value: "HIGH".into(),
                },
                Action::SendEmail {
                    body: "We got your message.".into(),
                },
            ],
        ),
    )
    .await;
    let (c, tkt, _) = conversation_with_ticket(&t, "gina@customer.example").await;
    t.app
        .record_inbound_message(
            &Actor::system(),
            c.id,
            inbound("Any news?", "gina@customer.example", &unique_message_id()),
        )
        .await
        .unwrap();
    assert_eq!(tk(&t, tkt.id).await.priority.as_deref(), Some("HIGH"));
    let thread = t.app.messages(&Actor::system(), c.id).await.unwrap();
    let sent = thread.last().unwrap();
    assert_eq!(sent.direction, Direction::Outbound);
    assert_eq!(sent.text, "We got your message.");
    assert_eq!(
        sent.recipients.to,
        vec!["gina@customer.example".to_string()]
    );
    // Through the outbox (no address is connected in this test, so it stays unsent).
    assert!(matches!(
        sent.status,
        DeliveryStatus::Queued | DeliveryStatus::NotSent
    ));
    // The condition no longer holds: a second message changes nothing more.
    t.app
        .record_inbound_message(
            &Actor::system(),
            c.id,
            inbound("Hello?", "gina@customer.example", &unique_message_id()),
        )
        .await
        .unwrap();
    let thread = t.app.messages(&Actor::system(), c.id).await.unwrap();
    assert_eq!(thread.last().unwrap().direction, Direction::Inbound);
}

async fn change_triggers(t: TestApp) {
    let (ann_u, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (bob_u, bob) = t
        .agent("bob@example.com", TicketAccessLevel::All, &[])
        .await;
    add(
        &t,
        rule(
            "Closed: unassign",
            Trigger::StatusChanged,
            vec![Condition::Property {
                property: "hs_pipeline_stage".into(),
                op: PropertyOp::Equals,
                values: vec![STAGE_CLOSED.into()],
            }],
            vec![Action::SetOwner { owner: None }],
        ),
    )
    .await;
    add(
        &t,
        rule(
            "Owner changed: Bob follows",
            Trigger::OwnerChanged,
            vec![Condition::Pipeline { pipeline: 0 }],
            vec![Action::AddFollower { user: bob_u.id }],
        ),
    )
    .await;
    add(
        &t,
        rule(
            "Priority changed: tell the owner and Bob",
            Trigger::PropertyChanged {
                property: "hs_ticket_priority".into(),
            },
            vec![Condition::Property {
                property: "hs_ticket_priority".into(),
                op: PropertyOp::In,
                values: vec!["HIGH".into(), "URGENT".into()],
            }],
            vec![Action::Notify {
                users: vec![bob_u.id],
                owner: true,
                message: "Priority went up".into(),
            }],
        ),
    )
    .await;
    let tkt = ticket(&t, &Actor::system(), "Printer").await;
    update(
        &t,
        &Actor::system(),
        tkt.id,
        &[("hubspot_owner_id", &ann_u.id.to_string())],
    )
    .await;
    let d = t
        .app
        .ticket_details(&Actor::system(), tkt.id)
        .await
        .unwrap();
    assert_eq!(d.followers, vec![bob_u.id]);
    // A low priority is not in the condition; a high one notifies both.
    update(
        &t,
        &Actor::system(),
        tkt.id,
        &[("hs_ticket_priority", "LOW")],
    )
    .await;
    let autos = |n: Vec<fd_store::Notification>| {
        n.into_iter()
            .filter(|n| n.kind == "automation")
            .collect::<Vec<_>>()
    };
    assert!(autos(t.app.notifications(&bob, 50).await.unwrap()).is_empty());
    update(
        &t,
        &Actor::system(),
        tkt.id,
        &[("hs_ticket_priority", "HIGH")],
    )
    .await;
    let b = autos(t.app.notifications(&bob, 50).await.unwrap());
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].excerpt.as_deref(), Some("Priority went up"));
    assert_eq!(autos(t.app.notifications(&ann, 50).await.unwrap()).len(), 1);
    // Closing unassigns, which is an owner change: Bob already follows.
    let closed = move_to_stage(&t, &ann, tkt.id, STAGE_CLOSED).await;
    assert_eq!(closed.owner_id, None, "the caller sees the rule's change");
    assert_eq!(tk(&t, tkt.id).await.owner_id, None);
}

async fn business_hours(t: TestApp) {
    hd_20_rule_off(&t).await;
    add(
        &t,
        rule(
            "Out of hours",
            Trigger::TicketCreated,
            vec![Condition::BusinessHours {
                hours: WeeklyHours {
                    days: vec![0, 1, 2, 3, 4],
                    start_minute: 9 * 60,
                    end_minute: 17 * 60,
                    time_zone: "UTC".into(),
                },
                inside: false,
            }],
            vec![Action::SetProperty {
                property: "hs_ticket_priority".into(),
                value: "LOW".into(),
            }],
        ),
    )
    .await;
    // The clock starts on Thursday 1 January 2026, 00:00 UTC: outside the hours.
    let night = ticket(&t, &Actor::system(), "At night").await;
    assert_eq!(tk(&t, night.id).await.priority.as_deref(), Some("LOW"));
    t.clock.advance_ms(10 * 3_600_000);
    let day = ticket(&t, &Actor::system(), "At ten").await;
    assert_eq!(tk(&t, day.id).await.priority, None);
}

async fn loop_protection(t: TestApp) {
    let a = add(
        &t,
        rule(
            "Ping",
            Trigger::StatusChanged,
            vec![],
            vec![Action::SetStage { stage: StageId(3) }],
        ),
    )
    .await;
    let b = add(
        &t,
        rule(
            "Pong",
            Trigger::StatusChanged,
            vec![],
            vec![Action::SetStage { stage: StageId(1) }],
        ),
    )
    .await;
    let tkt = ticket(&t, &Actor::system(), "Loop").await;
    let after = move_to_stage(&t, &Actor::system(), tkt.id, STAGE_WAITING).await;
    // Ping moved it to 3, which made Pong move it to 1; neither ran twice in that chain.
    assert_eq!(after.stage_id, StageId(1));
    let stage_moves = ticket_activity(&t, tkt.id)
        .await
        .into_iter()
        .filter(|x| x.field.as_deref() == Some("hs_pipeline_stage"))
        .count();
    assert!(stage_moves <= 4, "{stage_moves} moves");
    for id in [a, b] {
        let runs = t
            .app
            .automation_runs(&Actor::system(), id, 50)
            .await
            .unwrap();
        assert!(!runs.is_empty() && runs.len() <= 2, "{runs:?}");
    }
}

async fn refused_action(t: TestApp) {
    let red = t.team("Red").await;
    let _ = red;
    let (rita_u, _) = t
        .agent("rita@example.com", TicketAccessLevel::Team, &["Red"])
        .await;
    let (_, boss) = t.admin("boss@example.com").await;
    let id = add(
        &t,
        rule(
            "Give new tickets to Rita",
            Trigger::TicketCreated,
            vec![],
            vec![Action::SetOwner {
                owner: Some(rita_u.id),
            }],
        ),
    )
    .await;
    let jobs = |t: &TestApp| {
        let db = t.app.db().clone();
        async move {
            let mut tx = db.read().await.unwrap();
            let n = tx.pending_job_count().await.unwrap();
            tx.commit().await.unwrap();
            n
        }
    };
    let jobs_before = jobs(&t).await;
    // The ticket is in no team of Rita's: she may not see it, so may not own it (HD-09).
    let tkt = ticket(&t, &Actor::system(), "Not Red").await;
    // The admin's notification is emailed as they chose (immediately, by default).
    assert_eq!(jobs(&t).await, jobs_before + 1);
    assert_eq!(tk(&t, tkt.id).await.owner_id, None);
    let runs = t
        .app
        .automation_runs(&Actor::system(), id, 10)
        .await
        .unwrap();
    assert_eq!(runs.len(), 1);
    assert!(runs[0].refused);
    assert!(runs[0].outcome.contains("HD-09"), "{}", runs[0].outcome);
    let logged = ticket_activity(&t, tkt.id)
        .await
        .into_iter()
        .find(|a| a.action == "automation_refused")
        .expect("the refusal on the ticket's history");
    assert_eq!(logged.field.as_deref(), Some("Give new tickets to Rita"));
    let told: Vec<_> = t
        .app
        .notifications(&boss, 20)
        .await
        .unwrap()
        .into_iter()
        .filter(|n| n.kind == "automation")
        .collect();
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].ticket_id, Some(tkt.id));
    assert!(told[0].excerpt.as_deref().unwrap().contains("refused"));
}

async fn hd_19_applies(t: TestApp) {
    t.app
        .update_stage(
            &Actor::system(),
            PipelineId(0),
            StageId(3),
            fd_app::StagePatch {
                required_properties: Some(vec!["hs_ticket_category".into()]),
                ..fd_app::StagePatch::default()
            },
        )
        .await
        .unwrap();
    let id = add(
        &t,
        rule(
            "Urgent: waiting on us",
            Trigger::PropertyChanged {
                property: "hs_ticket_priority".into(),
            },
            vec![],
            vec![Action::SetStage { stage: StageId(3) }],
        ),
    )
    .await;
    let tkt = ticket(&t, &Actor::system(), "Conditional").await;
    update(
        &t,
        &Actor::system(),
        tkt.id,
        &[("hs_ticket_priority", "HIGH")],
    )
    .await;
    // The rule's move was refused like an agent's; the priority change itself stands.
    let after = tk(&t, tkt.id).await;
    assert_eq!(after.stage_id.to_string(), STAGE_NEW);
    assert_eq!(after.priority.as_deref(), Some("HIGH"));
    let outcome = last_outcome(&t, id).await;
    assert!(
        outcome.contains("refused") && outcome.contains("hs_ticket_category"),
        "{outcome}"
    );
}

async fn time_trigger(t: TestApp) {
    let (_, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let id = add(
        &t,
        rule(
            "No customer reply for 3 days",
            Trigger::TimeSince {
                event: TimedEvent::NoCustomerReply,
                minutes: 3 * 24 * 60,
            },
            vec![],
            vec![Action::SetStage { stage: StageId(4) }],
        ),
    )
    .await;
    let (c, tkt, _) = conversation_with_ticket(&t, "gina@customer.example").await;
    t.app
        .send_reply(&ann, c.id, reply("Try turning it off"))
        .await
        .unwrap();
    t.clock.advance_ms(2 * 86_400_000);
    assert_eq!(t.app.run_automation_sweep().await.unwrap(), 0);
    assert_eq!(tk(&t, tkt.id).await.stage_id.to_string(), STAGE_WAITING);
    t.clock.advance_ms(86_400_000 + 60_000);
    assert_eq!(t.app.run_automation_sweep().await.unwrap(), 1);
    assert_eq!(tk(&t, tkt.id).await.stage_id.to_string(), STAGE_CLOSED);
    // Once per occurrence: reopened by hand, the same reply does not fire it again.
    move_to_stage(&t, &ann, tkt.id, STAGE_NEW).await;
    t.clock.advance_ms(86_400_000);
    assert_eq!(t.app.run_automation_sweep().await.unwrap(), 0);
    assert_eq!(tk(&t, tkt.id).await.stage_id.to_string(), STAGE_NEW);
    // A new reply is a new occurrence.
    t.app
        .send_reply(&ann, c.id, reply("Any luck?"))
        .await
        .unwrap();
    t.clock.advance_ms(3 * 86_400_000);
    assert_eq!(t.app.run_automation_sweep().await.unwrap(), 1);
    assert_eq!(
        t.app
            .automation_runs(&Actor::system(), id, 10)
            .await
            .unwrap()
            .len(),
        2
    );
}

async fn validation(t: TestApp) {
    let (_, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let ok = rule(
        "Comment",
        Trigger::TicketCreated,
        vec![],
        vec![Action::Comment { body: "hi".into() }],
    );
    assert_forbidden(t.app.create_automation_rule(&ann, ok.clone()).await);
    assert_forbidden(t.app.automation_rules(&ann).await);
    assert_invalid(
        t.app
            .create_automation_rule(
                &Actor::system(),
                rule("", Trigger::TicketCreated, vec![], vec![]),
            )
            .await,
        "actions",
    );
    assert_invalid(
        t.app
            .create_automation_rule(
                &Actor::system(),
                rule(
                    "Unknown property",
                    Trigger::PropertyChanged {
                        property: "nope".into(),
                    },
                    vec![],
                    vec![Action::SetOwner {
                        owner: Some(UserId(999_999)),
                    }],
                ),
            )
            .await,
        "trigger",
    );
    let id = add(&t, ok.clone()).await;
    t.app
        .update_automation_rule(
            &Actor::system(),
            id,
            RuleInput {
                name: "Renamed".into(),
                enabled: false,
                ..ok
            },
        )
        .await
        .unwrap();
    let r = t.app.automation_rule(&Actor::system(), id).await.unwrap();
    assert_eq!(r.rule.name, "Renamed");
    assert!(!r.rule.enabled);
    t.app
        .delete_automation_rule(&Actor::system(), id)
        .await
        .unwrap();
    assert_not_found(t.app.automation_rule(&Actor::system(), id).await);
}

/// Issue 16 items 3 and 8: "SLA due soon" and "SLA breached" fire from the SLA sweep, once per
/// clock, for the clock the rule names; running the sweep again does nothing.
async fn sla_triggers(t: TestApp) {
    let (lead_u, lead) = t.admin("lead@desk.example").await;
    t.app
        .create_sla_policy(
            &lead,
            fd_app::SlaPolicyForm {
                input: fd_app::domain::sla::SlaPolicyInput {
                    name: "Fast".into(),
                    first_response: "4h".into(),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let soon = add(
        &t,
        rule(
            "First response due soon",
            Trigger::SlaDueSoon {
                clock: SlaClock::FirstResponse,
            },
            vec![],
            vec![
                Action::SetProperty {
                    property: "hs_ticket_priority".into(),
                    value: "HIGH".into(),
                },
                Action::Comment {
                    body: "Due soon".into(),
                },
            ],
        ),
    )
    .await;
    let breached = add(
        &t,
        rule(
            "Any clock breached",
            Trigger::SlaBreached {
                clock: SlaClock::Any,
            },
            vec![],
            vec![
                Action::SetOwner {
                    owner: Some(lead_u.id),
                },
                Action::Comment {
                    body: "Breached".into(),
                },
            ],
        ),
    )
    .await;
    // The policy has no time-to-close goal: this rule never fires.
    let close = add(
        &t,
        rule(
            "Time to close due soon",
            Trigger::SlaDueSoon {
                clock: SlaClock::TimeToClose,
            },
            vec![],
            vec![Action::Comment {
                body: "Never".into(),
            }],
        ),
    )
    .await;
    let (_, tkt, _) = conversation_with_ticket(&t, "gina@customer.example").await;
    let comments = |t: &TestApp| {
        let app = t.app.clone();
        async move {
            app.ticket_details(&Actor::system(), tkt.id)
                .await
                .unwrap()
                .comments
                .into_iter()
                .map(|c| c.body)
                .collect::<Vec<_>>()
        }
    };
    let runs = |id: i64| {
        let app = t.app.clone();
        async move {
            app.automation_runs(&Actor::system(), id, 10)
                .await
                .unwrap()
                .len()
        }
    };
    const HOUR: i64 = 3_600_000;
    // Two hours in: nothing is due.
    t.clock.advance_ms(2 * HOUR);
    assert_eq!(t.app.run_sla_sweep().await.unwrap(), 0);
    assert!(comments(&t).await.is_empty());
    assert_eq!(tk(&t, tkt.id).await.priority, None);
    // Past due soon (a quarter left): the due-soon rule runs, once.
    t.clock.advance_ms(HOUR + 60_000);
    assert_eq!(t.app.run_sla_sweep().await.unwrap(), 1);
    assert_eq!(comments(&t).await, vec!["Due soon".to_string()]);
    assert_eq!(tk(&t, tkt.id).await.priority.as_deref(), Some("HIGH"));
    assert_eq!(tk(&t, tkt.id).await.owner_id, None);
    assert_eq!(runs(soon).await, 1);
    assert_eq!(t.app.run_sla_sweep().await.unwrap(), 0);
    assert_eq!(runs(soon).await, 1);
    assert_eq!(comments(&t).await.len(), 1);
    // Past breach: the breached rule runs, once; the due-soon rule does not run again.
    t.clock.advance_ms(HOUR);
    assert_eq!(t.app.run_sla_sweep().await.unwrap(), 1);
    assert_eq!(
        comments(&t).await,
        vec!["Due soon".to_string(), "Breached".to_string()]
    );
    assert_eq!(tk(&t, tkt.id).await.owner_id, Some(lead_u.id));
    assert_eq!(runs(breached).await, 1);
    t.clock.advance_ms(HOUR);
    assert_eq!(t.app.run_sla_sweep().await.unwrap(), 0);
    assert_eq!(comments(&t).await.len(), 2);
    assert_eq!((runs(soon).await, runs(breached).await), (1, 1));
    assert_eq!(runs(close).await, 0);
    // The rule's last run is shown with what it did.
    let outcome = last_outcome(&t, breached).await;
    assert!(outcome.contains("owner"), "{outcome}");
}
