//! Shared views (issue 16 item 4, HD-04, HD-09) on both backends: who sees a view of each
//! owner kind and who may manage it, relative dates read with the injected clock, standard,
//! custom-property, owner ("me") and SLA filters, counts scoped by the viewer's access, the
//! Service Seat gate, and views saved before sharing read as personal views.

use fd_app::domain::property::PropertyType;
use fd_app::domain::sla::SlaPolicyInput;
use fd_app::domain::views::{ViewDateFilter, ViewDefinition, ViewFilter, ViewOwner, ViewStatus};
use fd_app::domain::*;
use fd_app::{Actor, NewProperty, SlaPolicyForm, View, ViewInput};
use fd_testkit::TestApp;

use crate::common::*;

fd_testkit::on_both_backends! {
    hd_04_views_are_seen_by_their_owner_team_or_everyone_and_managed_by_the_rule => visibility;
    hd_04_creating_views_needs_a_service_seat => seat_gate;
    views_relative_dates_are_read_with_the_clock_at_query_time => relative_dates;
    views_filter_on_standard_and_custom_properties_owner_and_sla_state => property_filters;
    hd_09_view_counts_and_pages_are_scoped_by_the_viewers_access => counts_scoped;
    views_saved_from_the_list_before_sharing_stay_personal_views => legacy_rows;
}

const DAY: i64 = 86_400_000;

fn eq(name: &str, value: &str) -> ViewFilter {
    ViewFilter {
        property_name: name.into(),
        operator: "EQ".into(),
        value: Some(value.into()),
        high_value: None,
        values: Vec::new(),
    }
}

fn input(name: &str, kind: &str, team: Option<TeamId>, d: ViewDefinition) -> ViewInput {
    ViewInput {
        name: name.into(),
        owner_kind: kind.into(),
        team_id: team,
        definition: d,
    }
}

fn all() -> ViewDefinition {
    ViewDefinition {
        status: ViewStatus::All,
        sort: "created_asc".into(),
        ..ViewDefinition::default()
    }
}

fn names(views: &[View]) -> Vec<String> {
    let mut n: Vec<String> = views.iter().map(|v| v.name.clone()).collect();
    n.sort();
    n
}

fn without_seat(a: &Actor) -> Actor {
    let mut a = a.clone();
    if let Viewer::User { seat, .. } = &mut a.viewer {
        *seat = Seat::Core;
    }
    a
}

async fn subjects(t: &TestApp, actor: &Actor, v: &View) -> Vec<String> {
    let (tickets, total) = t.app.view_tickets(actor, v, 100, 0).await.unwrap();
    assert_eq!(total, tickets.len() as i64);
    assert_eq!(t.app.view_count(actor, v).await.unwrap(), total);
    tickets.into_iter().map(|t| t.subject).collect()
}

async fn visibility(t: TestApp) {
    let (_, admin) = t.admin("root@example.com").await;
    let support = t.team("Support").await;
    t.team("Billing").await;
    let (_, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &["Support"])
        .await;
    let (_, bob) = t
        .agent("bob@example.com", TicketAccessLevel::All, &["Billing"])
        .await;
    let mine = t
        .app
        .create_view(&ann, &input("Ann's", "user", None, all()))
        .await
        .unwrap();
    assert_eq!(mine.owner, ViewOwner::User(ann.user_id().unwrap()));
    let team = t
        .app
        .create_view(&ann, &input("Support queue", "team", Some(support), all()))
        .await
        .unwrap();
    // A member of another team may not create a view for Support, nor anyone's for all.
    assert_forbidden(
        t.app
            .create_view(&bob, &input("Not mine", "team", Some(support), all()))
            .await,
    );
    assert_forbidden(
        t.app
            .create_view(&ann, &input("For all", "everyone", None, all()))
            .await,
    );
    let everyone = t
        .app
        .create_view(&admin, &input("Everything", "everyone", None, all()))
        .await
        .unwrap();
    assert_eq!(
        names(&t.app.views(&ann).await.unwrap()),
        ["Ann's", "Everything", "Support queue"]
    );
    assert_eq!(names(&t.app.views(&bob).await.unwrap()), ["Everything"]);
    // Administrators see (and manage) every team's views.
    assert_eq!(
        names(&t.app.views(&admin).await.unwrap()),
        ["Everything", "Support queue"]
    );
    // A view one may not see is not found, and cannot be changed or deleted.
    assert_not_found(t.app.view(&bob, mine.id).await);
    assert_not_found(t.app.view(&bob, team.id).await);
    assert_not_found(t.app.delete_view(&bob, team.id).await);
    // Bob sees the view for everyone but may not change it; the admin may change a team's.
    assert_forbidden(
        t.app
            .update_view(
                &bob,
                everyone.id,
                &input("Mine now", "everyone", None, all()),
            )
            .await,
    );
    let renamed = t
        .app
        .update_view(
            &admin,
            team.id,
            &input("Support (all)", "team", Some(support), all()),
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "Support (all)");
    assert_eq!(renamed.created_by, ann.user_id().unwrap());
    t.app.delete_view(&ann, team.id).await.unwrap();
    assert_eq!(
        names(&t.app.views(&ann).await.unwrap()),
        ["Ann's", "Everything"]
    );
    // Bad definitions are refused with the field named.
    let mut bad = all();
    bad.dates.push(ViewDateFilter {
        property_name: "createdate".into(),
        range: "next_year".into(),
    });
    assert_invalid(
        t.app
            .create_view(&ann, &input("Bad", "user", None, bad))
            .await,
        "range",
    );
    let mut bad = all();
    bad.filters.push(eq("no_such_property", "1"));
    assert_invalid(
        t.app
            .create_view(&ann, &input("Bad", "user", None, bad))
            .await,
        "no_such_property",
    );
    let mut bad = all();
    bad.columns = vec!["nonsense".into()];
    assert_invalid(
        t.app
            .create_view(&ann, &input("Bad", "user", None, bad))
            .await,
        "columns",
    );
    assert_invalid(
        t.app
            .create_view(&ann, &input(" ", "user", None, all()))
            .await,
        "name",
    );
}

async fn seat_gate(t: TestApp) {
    let (_, admin) = t.admin("root@example.com").await;
    let (_, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let shared = t
        .app
        .create_view(&admin, &input("Everything", "everyone", None, all()))
        .await
        .unwrap();
    let seatless = without_seat(&ann);
    assert_forbidden(
        t.app
            .create_view(&seatless, &input("Mine", "user", None, all()))
            .await,
    );
    assert_forbidden(t.app.save_view(&seatless, "Mine", "view=open").await);
    assert_forbidden(t.app.delete_view(&without_seat(&admin), shared.id).await);
    // Seeing and opening a shared view needs ticket access only.
    assert_eq!(
        names(&t.app.views(&seatless).await.unwrap()),
        ["Everything"]
    );
    assert_eq!(t.app.view_count(&seatless, &shared).await.unwrap(), 0);
}

async fn relative_dates(t: TestApp) {
    let (_, admin) = t.admin("root@example.com").await;
    // START_MS is Thursday 2026-01-01 00:00 UTC.
    t.clock.set_ms(fd_testkit::START_MS + 10 * 3_600_000);
    ticket(&t, &admin, "old").await;
    t.clock.advance_ms(5 * DAY);
    ticket(&t, &admin, "tuesday").await;
    t.clock.advance_ms(DAY);
    let closed = ticket(&t, &admin, "wednesday").await;
    move_to_stage(&t, &admin, closed.id, STAGE_CLOSED).await;
    let mut d = all();
    d.dates.push(ViewDateFilter {
        property_name: "createdate".into(),
        range: "last_2_days".into(),
    });
    let recent = t
        .app
        .create_view(&admin, &input("Recent", "user", None, d))
        .await
        .unwrap();
    let mut d = all();
    d.dates.push(ViewDateFilter {
        property_name: "closed_date".into(),
        range: "this_week".into(),
    });
    let closed_this_week = t
        .app
        .create_view(&admin, &input("Closed this week", "user", None, d))
        .await
        .unwrap();
    assert_eq!(
        subjects(&t, &admin, &recent).await,
        ["tuesday", "wednesday"]
    );
    assert_eq!(subjects(&t, &admin, &closed_this_week).await, ["wednesday"]);
    // The same views read later: the ranges move with the clock.
    t.clock.advance_ms(DAY + 12 * 3_600_000);
    assert_eq!(subjects(&t, &admin, &recent).await, ["wednesday"]);
    assert_eq!(subjects(&t, &admin, &closed_this_week).await, ["wednesday"]);
    t.clock.advance_ms(6 * DAY);
    assert!(subjects(&t, &admin, &recent).await.is_empty());
    assert!(subjects(&t, &admin, &closed_this_week).await.is_empty());
}

async fn property_filters(t: TestApp) {
    let (_, admin) = t.admin("root@example.com").await;
    let (ann_user, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    t.app
        .create_property(
            &admin,
            "tickets",
            NewProperty {
                name: "region".into(),
                label: "Region".into(),
                kind: PropertyType::String,
                field_type: None,
                group_name: "ticketinformation".into(),
                description: String::new(),
                options: vec![],
                display_order: 1,
                form_field: false,
            },
        )
        .await
        .unwrap();
    let owner = ann_user.id.to_string();
    ticket_with(
        &t,
        &admin,
        &[
            ("subject", "urgent emea"),
            ("hs_ticket_priority", "URGENT"),
            ("region", "emea"),
        ],
    )
    .await;
    ticket_with(
        &t,
        &admin,
        &[
            ("subject", "urgent apac"),
            ("hs_ticket_priority", "URGENT"),
            ("region", "apac"),
        ],
    )
    .await;
    ticket_with(
        &t,
        &admin,
        &[
            ("subject", "ann's low"),
            ("hs_ticket_priority", "LOW"),
            ("hubspot_owner_id", &owner),
        ],
    )
    .await;
    let mut d = all();
    d.filters = vec![eq("hs_ticket_priority", "URGENT"), eq("region", "emea")];
    d.columns = vec!["subject".into(), "region".into(), "team".into()];
    let v = t
        .app
        .create_view(&admin, &input("Urgent EMEA", "everyone", None, d))
        .await
        .unwrap();
    assert_eq!(v.definition.columns, ["subject", "region", "team"]);
    assert_eq!(subjects(&t, &admin, &v).await, ["urgent emea"]);
    // `me` is whoever reads the view.
    let mut d = all();
    d.filters = vec![eq("hubspot_owner_id", "me")];
    let mine = t
        .app
        .create_view(&admin, &input("Mine", "everyone", None, d))
        .await
        .unwrap();
    assert_eq!(subjects(&t, &ann, &mine).await, ["ann's low"]);
    assert!(subjects(&t, &admin, &mine).await.is_empty());
    // SLA state: the list's own filter (`ticket_sla`), after the clock passes the goal.
    let mut f = SlaPolicyForm {
        input: SlaPolicyInput {
            name: "Urgent".into(),
            first_response: "1h".into(),
            ..SlaPolicyInput::default()
        },
        ..SlaPolicyForm::default()
    };
    f.priorities = vec!["URGENT".into()];
    t.app.create_sla_policy(&admin, f).await.unwrap();
    let mut d = all();
    d.sla = Some("breached".into());
    let breached = t
        .app
        .create_view(&admin, &input("Breached", "everyone", None, d))
        .await
        .unwrap();
    assert!(subjects(&t, &admin, &breached).await.is_empty());
    t.clock.advance_ms(2 * 3_600_000);
    t.app.run_sla_sweep().await.unwrap();
    assert_eq!(
        subjects(&t, &admin, &breached).await,
        ["urgent emea", "urgent apac"]
    );
}

async fn counts_scoped(t: TestApp) {
    let (_, admin) = t.admin("root@example.com").await;
    let support = t.team("Support").await;
    let (ann_user, ann) = t
        .agent("ann@example.com", TicketAccessLevel::Owned, &["Support"])
        .await;
    let (_, cid) = t
        .agent("cid@example.com", TicketAccessLevel::Team, &["Support"])
        .await;
    ticket_with(
        &t,
        &admin,
        &[
            ("subject", "ann's"),
            ("hubspot_owner_id", &ann_user.id.to_string()),
        ],
    )
    .await;
    ticket_with(
        &t,
        &admin,
        &[
            ("subject", "support's"),
            ("hubspot_team_id", &support.to_string()),
        ],
    )
    .await;
    ticket_with(&t, &admin, &[("subject", "nobody's")]).await;
    let v = t
        .app
        .create_view(
            &admin,
            &input(
                "Open",
                "team",
                Some(support),
                ViewDefinition {
                    status: ViewStatus::Open,
                    sort: "created_asc".into(),
                    ..ViewDefinition::default()
                },
            ),
        )
        .await
        .unwrap();
    // The admin (not a member) lists it too; every ticket counts for their access.
    assert_eq!(t.app.views(&admin).await.unwrap().len(), 1);
    assert_eq!(t.app.view_count(&admin, &v).await.unwrap(), 3);
    assert_eq!(subjects(&t, &ann, &v).await, ["ann's"]);
    assert_eq!(subjects(&t, &cid, &v).await, ["ann's", "support's"]);
    let listed = t.app.views(&cid).await.unwrap();
    assert_eq!(t.app.view_count(&cid, &listed[0]).await.unwrap(), 2);
}

async fn legacy_rows(t: TestApp) {
    let (_, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (_, bob) = t
        .agent("bob@example.com", TicketAccessLevel::All, &[])
        .await;
    ticket_with(
        &t,
        &ann,
        &[("subject", "high"), ("hs_ticket_priority", "HIGH")],
    )
    .await;
    ticket_with(
        &t,
        &ann,
        &[("subject", "low"), ("hs_ticket_priority", "LOW")],
    )
    .await;
    let v = t
        .app
        .save_view(
            &ann,
            "High ones",
            "view=open&priority=HIGH&sort=created_desc",
        )
        .await
        .unwrap();
    assert_eq!(v.owner, ViewOwner::User(ann.user_id().unwrap()));
    assert_eq!(subjects(&t, &ann, &v).await, ["high"]);
    assert!(t.app.views(&bob).await.unwrap().is_empty());
    // A row written before this change (a query string, no definition, no owner kind
    // given) is its user's personal view with the same filters.
    let mut tx = t.app.db().write().await.unwrap();
    let id = tx
        .insert_saved_view(&fd_store::SavedView {
            id: 0,
            user_id: bob.user_id().unwrap(),
            owner_kind: "user".into(),
            team_id: None,
            name: "Bob's old view".into(),
            query: "view=open&priority=LOW".into(),
            definition: None,
            created_at: 1,
            updated_at: 1,
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let old = t.app.view(&bob, id).await.unwrap();
    assert_eq!(old.owner, ViewOwner::User(bob.user_id().unwrap()));
    assert_eq!(subjects(&t, &bob, &old).await, ["low"]);
    assert_not_found(t.app.view(&ann, id).await);
}
