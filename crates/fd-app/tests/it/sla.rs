//! SLAs (issue 16 items 1 and 8, HD-04) on both backends with the injected clock: business
//! hours across a weekend and a holiday, pause and resume, next response after each customer
//! message, recomputation when a policy changes, the same clocks for tickets from mail, the
//! API and forms, the sweep's due-soon and breached notices, HubSpot's read-only properties
//! in records and search, and the Service Seat gate.

use fd_app::domain::forms::{PostSubmit, SubmittedValue};
use fd_app::domain::sla::SlaPolicyInput;
use fd_app::domain::*;
use fd_app::{
    Actor, FilterInput, FormSubmission, MailService, MailSettings, NewForm, NewUserInput,
    SearchRequest, SlaPolicyForm, SubmitOutcome, TicketCreation,
};
use fd_mail::{IncomingMail, MailSource};
use fd_testkit::TestApp;

use crate::common::*;

fd_testkit::on_both_backends! {
    sla_first_response_counts_business_hours_across_a_weekend_and_a_holiday => weekend_and_holiday;
    sla_clock_pauses_in_waiting_on_contact_and_resumes => pause_and_resume;
    sla_clock_stops_at_close_and_resumes_on_reopen => stop_at_close;
    sla_next_response_runs_after_each_customer_message => next_response;
    sla_policy_change_recomputes_open_tickets_and_the_most_specific_applies => policy_change;
    sla_tickets_from_mail_api_and_form_get_the_same_sla => every_road;
    sla_due_soon_and_breached_notify_the_owner_once_per_clock => sweep_notifies;
    sla_properties_are_read_only_and_searchable => properties_in_search;
    sla_hd_04_policies_need_a_service_seat_and_an_admin => hd_04;
}

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

/// Milliseconds of a local time in a zone (`2026-12-04T16:00`).
fn at(zone: &str, s: &str) -> i64 {
    let tz = fd_app::domain::local_time::UserTimeZone::parse(zone).unwrap();
    fd_app::domain::local_time::parse_datetime_input(s, &tz).unwrap()
}

fn form(name: &str, first: &str) -> SlaPolicyForm {
    SlaPolicyForm {
        input: SlaPolicyInput {
            name: name.into(),
            first_response: first.into(),
            ..SlaPolicyInput::default()
        },
        ..SlaPolicyForm::default()
    }
}

/// The manual clock moves a millisecond on every read, so times recorded by use cases lie a
/// few milliseconds after the instant the test set; SLA times are meant to the minute.
#[track_caller]
fn assert_near(actual: Option<i64>, expected: Option<i64>) {
    match (actual, expected) {
        (Some(a), Some(e)) => assert!(
            (a - e).abs() < 1_000,
            "{a} is not {e} (off by {} ms)",
            a - e
        ),
        (a, e) => assert_eq!(a, e),
    }
}

async fn prop(t: &TestApp, id: TicketId, name: &str) -> Option<String> {
    tk(t, id).await.custom.get(name).cloned()
}

async fn prop_i64(t: &TestApp, id: TicketId, name: &str) -> Option<i64> {
    prop(t, id, name).await.map(|v| v.parse().unwrap())
}

async fn weekend_and_holiday(t: TestApp) {
    let (_, admin) = t.admin("lead@desk.example").await;
    t.app
        .create_sla_policy(
            &admin,
            SlaPolicyForm {
                input: SlaPolicyInput {
                    name: "Office hours".into(),
                    first_response: "2h".into(),
                    hours: Some("Mon-Fri 09:00-17:00".into()),
                    time_zone: Some("Europe/Rome".into()),
                    holidays: vec!["2026-12-07".into()],
                    ..SlaPolicyInput::default()
                },
                ..SlaPolicyForm::default()
            },
        )
        .await
        .unwrap();
    // Friday 16:00 in Rome: one hour on Friday, none at the weekend nor on Monday's holiday,
    // the second on Tuesday from 09:00.
    t.clock.set_ms(at("Europe/Rome", "2026-12-04T16:00"));
    let (c, tkt, _) = conversation_with_ticket(&t, "gina@customer.example").await;
    assert_near(
        prop_i64(&t, tkt.id, "hs_time_to_first_response_sla_at").await,
        Some(at("Europe/Rome", "2026-12-08T10:00")),
    );
    assert_eq!(
        prop(&t, tkt.id, "hs_time_to_first_response_sla_status")
            .await
            .as_deref(),
        Some("0")
    );
    // Monday (the holiday) at noon: still running with an hour left.
    t.clock.set_ms(at("Europe/Rome", "2026-12-07T12:00"));
    let sla = t.app.ticket_sla(&admin, tkt.id).await.unwrap().unwrap();
    assert_eq!(sla.policy_name, "Office hours");
    assert_near(Some(sla.clocks.first_response.elapsed_ms), Some(HOUR));
    assert_eq!(
        sla.clocks.first_response.status,
        fd_app::domain::sla::ClockStatus::Running
    );
    // The agent answers on Tuesday at 09:30: met on time, first reply recorded.
    let reply_at = at("Europe/Rome", "2026-12-08T09:30");
    t.clock.set_ms(reply_at);
    t.app
        .send_reply(&admin, c.id, reply("Looking into it"))
        .await
        .unwrap();
    assert_eq!(
        prop(&t, tkt.id, "hs_time_to_first_response_sla_status")
            .await
            .as_deref(),
        Some("3")
    );
    assert_near(
        prop_i64(&t, tkt.id, "first_agent_reply_date").await,
        Some(reply_at),
    );
    assert_near(
        prop_i64(&t, tkt.id, "time_to_first_agent_reply").await,
        Some(reply_at - tkt.created_at),
    );
}

async fn pause_and_resume(t: TestApp) {
    let (_, admin) = t.admin("lead@desk.example").await;
    let mut f = form("Around the clock", "4h");
    f.input.time_to_close = Some("8h".into());
    f.pause_stages = vec!["Waiting on contact".into()];
    t.app.create_sla_policy(&admin, f).await.unwrap();
    let t0 = t.app.now();
    let tkt = ticket(&t, &admin, "Pause me").await;
    t.clock.advance_ms(HOUR);
    move_to_stage(&t, &admin, tkt.id, STAGE_WAITING).await;
    t.clock.advance_ms(9 * HOUR);
    let sla = t.app.ticket_sla(&admin, tkt.id).await.unwrap().unwrap();
    let fr = &sla.clocks.first_response;
    assert_eq!(fr.status, fd_app::domain::sla::ClockStatus::Paused);
    assert_near(fr.paused_since, Some(t0 + HOUR));
    assert_near(Some(fr.elapsed_ms), Some(HOUR));
    // While paused, the stored due times are unknown; status stays active ("0").
    assert_eq!(
        prop(&t, tkt.id, "hs_time_to_first_response_sla_status")
            .await
            .as_deref(),
        Some("0")
    );
    assert_eq!(
        prop(&t, tkt.id, "hs_time_to_first_response_sla_at").await,
        None
    );
    // Back to "Waiting on us" ten hours after creation: three hours are left.
    move_to_stage(&t, &admin, tkt.id, "3").await;
    assert_near(
        prop_i64(&t, tkt.id, "hs_time_to_first_response_sla_at").await,
        Some(t0 + 13 * HOUR),
    );
    assert_near(
        prop_i64(&t, tkt.id, "hs_time_to_close_sla_at").await,
        Some(t0 + 17 * HOUR),
    );
}

async fn stop_at_close(t: TestApp) {
    let (_, admin) = t.admin("lead@desk.example").await;
    let mut f = form("Close fast", "1h");
    f.input.time_to_close = Some("4h".into());
    t.app.create_sla_policy(&admin, f).await.unwrap();
    let t0 = t.app.now();
    let (c, tkt, _) = conversation_with_ticket(&t, "gina@customer.example").await;
    t.clock.advance_ms(30 * MINUTE);
    t.app.send_reply(&admin, c.id, reply("Done")).await.unwrap();
    t.clock.advance_ms(90 * MINUTE);
    move_to_stage(&t, &admin, tkt.id, STAGE_CLOSED).await;
    assert_eq!(
        prop(&t, tkt.id, "hs_time_to_close_sla_status")
            .await
            .as_deref(),
        Some("3")
    );
    assert_near(prop_i64(&t, tkt.id, "time_to_close").await, Some(2 * HOUR));
    // Two days later the customer writes again (INB-11 reopens): the clock resumes with
    // two hours left, not breached by the time it spent closed.
    t.clock.advance_ms(48 * HOUR);
    let back = t.app.now();
    t.app
        .record_inbound_message(
            &Actor::system(),
            c.id,
            inbound("It is back", "gina@customer.example", &unique_message_id()),
        )
        .await
        .unwrap();
    assert!(tk(&t, tkt.id).await.is_open);
    assert_eq!(
        prop(&t, tkt.id, "hs_time_to_close_sla_status")
            .await
            .as_deref(),
        Some("0")
    );
    assert_near(
        prop_i64(&t, tkt.id, "hs_time_to_close_sla_at").await,
        Some(back + 2 * HOUR),
    );
    let _ = t0;
}

async fn next_response(t: TestApp) {
    let (_, admin) = t.admin("lead@desk.example").await;
    let mut f = form("Chatty", "1h");
    f.input.next_response = Some("2h".into());
    t.app.create_sla_policy(&admin, f).await.unwrap();
    let (c, tkt, _) = conversation_with_ticket(&t, "gina@customer.example").await;
    // No next response before the first reply.
    assert_eq!(
        prop(&t, tkt.id, "hs_time_to_next_response_sla_status").await,
        None
    );
    t.clock.advance_ms(10 * MINUTE);
    t.app.send_reply(&admin, c.id, reply("Hi")).await.unwrap();
    assert_eq!(
        prop(&t, tkt.id, "hs_time_to_next_response_sla_status").await,
        None
    );
    let customer = |text: &str| inbound(text, "gina@customer.example", &unique_message_id());
    for round in 0..2 {
        t.clock.advance_ms(HOUR);
        let wrote = t.app.now();
        t.app
            .record_inbound_message(&Actor::system(), c.id, customer("One more thing"))
            .await
            .unwrap();
        // A second message before the answer does not move the clock.
        t.clock.advance_ms(30 * MINUTE);
        t.app
            .record_inbound_message(&Actor::system(), c.id, customer("And another"))
            .await
            .unwrap();
        assert_near(
            prop_i64(&t, tkt.id, "hs_time_to_next_response_sla_at").await,
            Some(wrote + 2 * HOUR),
        );
        assert_eq!(
            prop(&t, tkt.id, "hs_time_to_next_response_sla_status")
                .await
                .as_deref(),
            Some("0")
        );
        // The first round is answered in time, the second late.
        t.clock.advance_ms(if round == 0 { HOUR } else { 3 * HOUR });
        t.app
            .send_reply(&admin, c.id, reply("Answer"))
            .await
            .unwrap();
        assert_eq!(
            prop(&t, tkt.id, "hs_time_to_next_response_sla_status")
                .await
                .as_deref(),
            Some(if round == 0 { "3" } else { "4" })
        );
    }
}

async fn policy_change(t: TestApp) {
    let (_, admin) = t.admin("lead@desk.example").await;
    let low = ticket_with(&t, &admin, &[("hs_ticket_priority", "LOW")]).await;
    let high = ticket_with(&t, &admin, &[("hs_ticket_priority", "HIGH")]).await;
    let created = tk(&t, high.id).await.created_at;
    assert_eq!(
        prop(&t, low.id, "hs_time_to_first_response_sla_at").await,
        None
    );
    // A policy for all tickets applies to the open tickets at once.
    let all = t
        .app
        .create_sla_policy(&admin, form("Everyone", "8h"))
        .await
        .unwrap();
    for id in [low.id, high.id] {
        assert_near(
            prop_i64(&t, id, "hs_time_to_first_response_sla_at").await,
            Some(created + 8 * HOUR),
        );
    }
    // A more specific one (pipeline and priority) wins for the urgent ticket.
    let mut urgent = form("Urgent", "1h");
    urgent.pipeline = Some("Support Pipeline".into());
    urgent.priorities = vec!["High".into(), "URGENT".into()];
    let urgent = t.app.create_sla_policy(&admin, urgent).await.unwrap();
    assert_near(
        prop_i64(&t, high.id, "hs_time_to_first_response_sla_at").await,
        Some(created + HOUR),
    );
    assert_near(
        prop_i64(&t, low.id, "hs_time_to_first_response_sla_at").await,
        Some(created + 8 * HOUR),
    );
    // Editing a goal recomputes; a priority change moves a ticket to the other policy.
    let mut edit = form("Everyone", "4h");
    edit.input.time_to_close = Some("3d".into());
    t.app.update_sla_policy(&admin, all.id, edit).await.unwrap();
    assert_near(
        prop_i64(&t, low.id, "hs_time_to_first_response_sla_at").await,
        Some(created + 4 * HOUR),
    );
    assert_near(
        prop_i64(&t, low.id, "hs_time_to_close_sla_at").await,
        Some(created + 72 * HOUR),
    );
    update(&t, &admin, low.id, &[("hs_ticket_priority", "URGENT")]).await;
    assert_near(
        prop_i64(&t, low.id, "hs_time_to_first_response_sla_at").await,
        Some(created + HOUR),
    );
    // Deleting the policies removes the clocks.
    t.app.delete_sla_policy(&admin, urgent.id).await.unwrap();
    t.app.delete_sla_policy(&admin, all.id).await.unwrap();
    assert_eq!(
        prop(&t, low.id, "hs_time_to_first_response_sla_at").await,
        None
    );
    assert!(t.app.sla_policies(&admin).await.unwrap().is_empty());
    // Bad input is refused with every problem named.
    let mut bad = form("", "soon");
    bad.pipeline = Some("Nope".into());
    bad.priorities = vec!["Whenever".into()];
    bad.team = Some("Ghosts".into());
    bad.pause_stages = vec!["Closed".into()];
    let err = t.app.create_sla_policy(&admin, bad).await.unwrap_err();
    let text = err.to_string();
    for field in [
        "name",
        "first_response",
        "pipeline",
        "priorities",
        "team",
        "pause_stages",
    ] {
        assert!(text.contains(field), "{field} in {text}");
    }
    // Names are unique.
    t.app
        .create_sla_policy(&admin, form("Twin", "1h"))
        .await
        .unwrap();
    assert!(matches!(
        t.app.create_sla_policy(&admin, form("Twin", "2h")).await,
        Err(fd_app::AppError::Conflict(_))
    ));
}

async fn every_road(t: TestApp) {
    let system = Actor::system();
    let (_, admin) = t.admin("lead@desk.example").await;
    t.team("Support").await;
    t.app
        .connect_email(
            &system,
            "support@help.example",
            "Support",
            Workspace::HelpDesk,
            false,
        )
        .await
        .unwrap();
    let mut f = form("Business", "3h");
    f.input.hours = Some("Mon-Fri 09:00-17:00".into());
    f.input.time_zone = Some("America/New_York".into());
    t.app.create_sla_policy(&admin, f).await.unwrap();
    // Thursday 16:00 in New York: one hour today, two on Friday.
    t.clock.set_ms(at("America/New_York", "2026-12-03T16:00"));
    let due = Some(at("America/New_York", "2026-12-04T11:00"));

    // By API.
    let api = ticket(&t, &admin, "By API").await;
    // By mail.
    let mail = MailService::new(t.app.clone(), MailSettings::default());
    mail.accept(IncomingMail {
        source: MailSource::Mailgate,
        envelope_from: None,
        recipients: vec!["support@help.example".into()],
        raw: b"From: Ada <ada@customer.example>\r\nTo: support@help.example\r\nSubject: By mail\r\n\
Message-ID: <by-mail@customer.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nHelp.\r\n"
            .to_vec(),
        truncated_from: None,
    })
    .await
    .unwrap();
    mail.run_pending_jobs().await.unwrap();
    let by_mail = t
        .app
        .list_tickets(&system, &all_tickets())
        .await
        .unwrap()
        .into_iter()
        .find(|x| x.subject == "By mail")
        .expect("a ticket from mail");
    // By form.
    let form_def = t
        .app
        .create_form(
            &system,
            NewForm {
                name: "Support form".into(),
                fields: fd_app::domain::forms::default_fields(),
                post_submit: PostSubmit::ThankYou("Thanks".into()),
                team: None,
                workspace: Workspace::HelpDesk,
            },
        )
        .await
        .unwrap();
    let v = |object: Option<&str>, name: &str, value: &str| SubmittedValue {
        object_type_id: object.map(str::to_string),
        name: name.into(),
        value: value.into(),
    };
    let outcome = t
        .app
        .submit_form(FormSubmission {
            portal_id: t.app.portal_id().await.unwrap(),
            form_id: form_def.id.clone(),
            values: vec![
                v(Some("0-1"), "email", "bo@customer.example"),
                v(Some("0-5"), "subject", "By form"),
                v(Some("0-5"), "content", "Help"),
            ],
            honeypot: None,
            client: None,
            page_uri: None,
        })
        .await
        .unwrap();
    let SubmitOutcome::Accepted {
        ticket: Some(by_form),
        ..
    } = outcome
    else {
        panic!("form refused: {outcome:?}")
    };
    for (road, id) in [("api", api.id), ("mail", by_mail.id), ("form", by_form)] {
        assert_near(
            prop_i64(&t, id, "hs_time_to_first_response_sla_at").await,
            due,
        );
        assert_eq!(
            prop(&t, id, "hs_time_to_first_response_sla_status")
                .await
                .as_deref(),
            Some("0"),
            "{road}"
        );
    }
}

async fn sweep_notifies(t: TestApp) {
    let (_, admin) = t.admin("lead@desk.example").await;
    let (ann_u, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    t.app
        .create_sla_policy(&admin, form("Fast", "4h"))
        .await
        .unwrap();
    let (_, tkt, _) = conversation_with_ticket(&t, "gina@customer.example").await;
    update(
        &t,
        &admin,
        tkt.id,
        &[("hubspot_owner_id", &ann_u.id.to_string())],
    )
    .await;
    let sla_notes = |n: &[fd_store::Notification]| {
        n.iter()
            .filter(|n| n.excerpt.as_deref().is_some_and(|e| e.contains("SLA")))
            .map(|n| n.excerpt.clone().unwrap_or_default())
            .collect::<Vec<_>>()
    };
    // Nothing is due yet.
    t.clock.advance_ms(2 * HOUR);
    assert_eq!(t.app.run_sla_sweep().await.unwrap(), 0);
    // Three hours in, a quarter is left: due soon, once.
    t.clock.advance_ms(HOUR);
    assert_eq!(t.app.run_sla_sweep().await.unwrap(), 1);
    assert_eq!(t.app.run_sla_sweep().await.unwrap(), 0);
    assert_eq!(
        prop(&t, tkt.id, "hs_time_to_first_response_sla_status")
            .await
            .as_deref(),
        Some("2")
    );
    // Past due: breached, once.
    t.clock.advance_ms(HOUR + MINUTE);
    assert_eq!(t.app.run_sla_sweep().await.unwrap(), 1);
    t.clock.advance_ms(HOUR);
    assert_eq!(t.app.run_sla_sweep().await.unwrap(), 0);
    assert_eq!(
        prop(&t, tkt.id, "hs_time_to_first_response_sla_status")
            .await
            .as_deref(),
        Some("1")
    );
    let told = sla_notes(&t.app.notifications(&ann, 100).await.unwrap());
    assert_eq!(told.len(), 2, "{told:?}");
    assert!(
        told.iter()
            .any(|e| e.contains("First response is due soon"))
    );
    assert!(told.iter().any(|e| e.contains("First response breached")));
}

async fn properties_in_search(t: TestApp) {
    let (_, admin) = t.admin("lead@desk.example").await;
    t.app
        .create_sla_policy(&admin, form("Fast", "1h"))
        .await
        .unwrap();
    let late = ticket(&t, &admin, "Late").await;
    t.clock.advance_ms(30 * MINUTE);
    let fresh = ticket(&t, &admin, "Fresh").await;
    t.clock.advance_ms(31 * MINUTE);
    t.app.run_sla_sweep().await.unwrap();
    // Written by the system only.
    let r = t
        .app
        .update_ticket(
            &admin,
            late.id,
            fd_app::TicketChanges {
                properties: props(&[("hs_time_to_first_response_sla_status", "3")]),
                expected_version: None,
            },
        )
        .await;
    assert_invalid(r, "hs_time_to_first_response_sla_status");
    let search = |filters: Vec<FilterInput>, sort: Option<(String, bool)>| SearchRequest {
        groups: vec![filters],
        query: None,
        sort,
        limit: 10,
        offset: 0,
    };
    let eq = |name: &str, value: &str| FilterInput {
        property_name: name.into(),
        operator: "EQ".into(),
        value: Some(value.into()),
        high_value: None,
        values: Vec::new(),
    };
    let (total, found) = t
        .app
        .search_records(
            &admin,
            ObjectType::Ticket,
            &search(vec![eq("hs_time_to_first_response_sla_status", "1")], None),
        )
        .await
        .unwrap();
    assert_eq!(total, 1);
    assert_eq!(found[0].id, late.id.0);
    let (_, sorted) = t
        .app
        .search_records(
            &admin,
            ObjectType::Ticket,
            &search(
                vec![FilterInput {
                    operator: "HAS_PROPERTY".into(),
                    value: None,
                    ..eq("hs_time_to_first_response_sla_at", "")
                }],
                Some(("hs_time_to_first_response_sla_at".into(), true)),
            ),
        )
        .await
        .unwrap();
    let ids: Vec<i64> = sorted.iter().map(|r| r.id).collect();
    assert_eq!(ids, [fresh.id.0, late.id.0]);
    // The help desk's list filters and sorts on the stored state.
    let none = ticket(&t, &admin, "No clock yet").await;
    t.app
        .update_sla_policy(
            &admin,
            t.app.sla_policies(&admin).await.unwrap()[0].policy.id,
            SlaPolicyForm {
                pipeline: Some("Support Pipeline".into()),
                priorities: vec!["LOW".into()],
                ..form("Fast", "1h")
            },
        )
        .await
        .unwrap();
    update(&t, &admin, late.id, &[("hs_ticket_priority", "LOW")]).await;
    update(&t, &admin, fresh.id, &[("hs_ticket_priority", "LOW")]).await;
    // Fresh has 29 minutes left; 15 minutes later it is due soon (the sweep notices).
    t.clock.advance_ms(15 * MINUTE);
    t.app.run_sla_sweep().await.unwrap();
    let list = |sla: Option<&str>, sort| fd_store::TicketListQuery {
        sla: sla.map(String::from),
        sort,
        ..all_tickets()
    };
    let ids = |v: Vec<fd_store::Ticket>| v.iter().map(|x| x.id).collect::<Vec<_>>();
    let breached = t
        .app
        .list_tickets(
            &admin,
            &list(Some("breached"), fd_store::TicketSort::CreatedAsc),
        )
        .await
        .unwrap();
    assert_eq!(ids(breached), [late.id]);
    let at_risk = t
        .app
        .list_tickets(
            &admin,
            &list(Some("at_risk"), fd_store::TicketSort::CreatedAsc),
        )
        .await
        .unwrap();
    assert_eq!(ids(at_risk), [late.id, fresh.id]);
    let by_due = t
        .app
        .list_tickets(&admin, &list(None, fd_store::TicketSort::SlaDueAsc))
        .await
        .unwrap();
    assert_eq!(ids(by_due), [late.id, fresh.id, none.id]);
}

async fn hd_04(t: TestApp) {
    let (_, admin) = t.admin("lead@desk.example").await;
    let (_, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let seatless = t
        .app
        .create_user(
            &Actor::system(),
            NewUserInput {
                email: "sam@example.com".into(),
                name: "sam".into(),
                role: Role::SuperAdmin,
                password: "correct horse battery".into(),
                teams: Vec::new(),
                ticket_access: TicketAccessLevel::All,
                account_access: true,
                service_access: true,
                sales_access: false,
                seat: Seat::Core,
            },
        )
        .await
        .unwrap();
    let seatless = t.app.actor_for(seatless.id).await.unwrap();
    // An admin without a Service Seat: no SLA settings.
    assert_forbidden(t.app.create_sla_policy(&seatless, form("A", "1h")).await);
    assert_forbidden(t.app.sla_policies(&seatless).await);
    // An agent with a seat but no admin rights may read, not write.
    assert_forbidden(t.app.create_sla_policy(&agent, form("A", "1h")).await);
    assert!(t.app.sla_policies(&agent).await.unwrap().is_empty());
    let p = t
        .app
        .create_sla_policy(&admin, form("A", "1h"))
        .await
        .unwrap();
    assert_forbidden(t.app.delete_sla_policy(&agent, p.id).await);
    assert_forbidden(
        t.app
            .update_sla_policy(&seatless, p.id, form("B", "2h"))
            .await,
    );
    // The ticket's clocks are not shown without a seat.
    let tkt = ticket(&t, &admin, "Seat").await;
    assert!(t.app.ticket_sla(&admin, tkt.id).await.unwrap().is_some());
    assert!(t.app.ticket_sla(&seatless, tkt.id).await.unwrap().is_none());
    let _ = TicketCreation::None;
}
