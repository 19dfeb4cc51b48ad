//! Ticket routing (issue 16, items 2 and 8) on both backends: round robin's order, who is
//! skipped (away, deactivated, without ticket access, at capacity), load balancing, manual
//! teams and channel overrides, routing on the mail and API roads with the owner notified,
//! the administration's checks, and fairness when many tickets are created at once by two
//! app instances (two nodes) on one database.

use std::collections::BTreeMap;
use std::sync::Arc;

use fd_app::domain::routing::{RoutingChannel, RoutingMode, RoutingSetting};
use fd_app::domain::*;
use fd_app::{Actor, App, MailService, MailSettings, NewTicket};
use fd_mail::{IncomingMail, MailSource};
use fd_store::{Db, Ticket, User};
use fd_testkit::TestApp;

use crate::common::*;

fd_testkit::on_both_backends! {
    routing_round_robin_takes_turns_in_order => round_robin_order;
    routing_skips_away_deactivated_and_members_without_ticket_access => skips_ineligible;
    routing_capacity_skips_full_members_and_everyone_full_leaves_unassigned => capacity;
    routing_load_balanced_picks_the_fewest_open_tickets => load_balanced;
    routing_manual_leaves_tickets_unassigned_and_channels_override_the_team => manual_and_channels;
    routing_mail_tickets_are_routed_and_the_owner_is_notified => from_mail;
    routing_settings_are_for_administrators_and_checked => settings_checked;
    routing_concurrent_creations_on_two_nodes_give_everyone_one_before_anyone_two => concurrent_fairness;
}

const SUPPORT: &str = "support@help.example";

fn setting(mode: RoutingMode, capacity: Option<i64>) -> Option<RoutingSetting> {
    Some(RoutingSetting { mode, capacity })
}

/// A team "Support" with agents of team access, each available.
async fn team_of(t: &TestApp, names: &[&str]) -> (TeamId, Vec<(User, Actor)>) {
    let team = t.team("Support").await;
    let mut out = Vec::new();
    for n in names {
        let (u, a) = t
            .agent(
                &format!("{n}@example.com"),
                TicketAccessLevel::Team,
                &["Support"],
            )
            .await;
        t.app.set_availability(&a, true).await.unwrap();
        out.push((u, a));
    }
    (team, out)
}

async fn set(
    t: &TestApp,
    team: TeamId,
    channel: Option<RoutingChannel>,
    s: Option<RoutingSetting>,
) {
    t.app
        .set_routing(&Actor::system(), team, channel, s)
        .await
        .unwrap();
}

/// A ticket of `team` created through the API road (no channel: "other").
async fn api_ticket(app: &App, team: TeamId) -> Ticket {
    let mut p = BTreeMap::new();
    p.insert("subject".to_string(), "Routed".to_string());
    p.insert("hs_pipeline_stage".to_string(), STAGE_NEW.to_string());
    p.insert("hubspot_team_id".to_string(), team.to_string());
    app.create_ticket(
        &Actor::system(),
        NewTicket {
            properties: p,
            ..NewTicket::default()
        },
    )
    .await
    .unwrap()
}

/// The owners of `n` new API tickets, by name.
async fn owners(t: &TestApp, team: TeamId, n: usize, people: &[(User, Actor)]) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        let tk = api_ticket(&t.app, team).await;
        out.push(name_of(tk.owner_id, people));
    }
    out
}

fn name_of(owner: Option<UserId>, people: &[(User, Actor)]) -> String {
    match owner {
        Some(o) => people
            .iter()
            .find(|(u, _)| u.id == o)
            .map(|(u, _)| u.name.clone())
            .unwrap_or_else(|| format!("user {o}")),
        None => "-".into(),
    }
}

async fn round_robin_order(t: TestApp) {
    let (team, people) = team_of(&t, &["ann", "bob", "carl"]).await;
    set(&t, team, None, setting(RoutingMode::RoundRobin, None)).await;
    assert_eq!(
        owners(&t, team, 7, &people).await,
        ["ann", "bob", "carl", "ann", "bob", "carl", "ann"]
    );
    // A ticket that already has an owner is not routed and does not move the turn.
    let mut p = props(&[
        ("subject", "Chosen"),
        ("hs_pipeline_stage", STAGE_NEW),
        ("hubspot_owner_id", &people[2].0.id.to_string()),
    ]);
    p.insert("hubspot_team_id".into(), team.to_string());
    let chosen = t
        .app
        .create_ticket(
            &Actor::system(),
            NewTicket {
                properties: p,
                ..NewTicket::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(chosen.owner_id, Some(people[2].0.id));
    assert_eq!(owners(&t, team, 2, &people).await, ["bob", "carl"]);
    // A ticket without a team is not routed.
    let loose = ticket(&t, &Actor::system(), "No team").await;
    assert_eq!(loose.owner_id, None);
}

async fn skips_ineligible(t: TestApp) {
    let (team, mut people) = team_of(&t, &["ann", "bob", "carl", "dan"]).await;
    // Erin is in the team but has no Service access (HD-05): she would not see the ticket.
    let (erin, erin_a) = t
        .user_with(
            "erin@example.com",
            Role::Agent,
            TicketAccessLevel::Team,
            &["Support"],
            false,
        )
        .await;
    t.app.set_availability(&erin_a, true).await.unwrap();
    people.push((erin, erin_a));
    // Fred is available but in another team.
    t.team("Sales").await;
    let (fred, fred_a) = t
        .agent("fred@example.com", TicketAccessLevel::All, &["Sales"])
        .await;
    t.app.set_availability(&fred_a, true).await.unwrap();
    people.push((fred, fred_a));
    set(&t, team, None, setting(RoutingMode::RoundRobin, None)).await;
    // Bob is away; Carl is deactivated.
    t.app.set_availability(&people[1].1, false).await.unwrap();
    t.app
        .set_user_active(&Actor::system(), people[2].0.id, false)
        .await
        .unwrap();
    assert_eq!(
        owners(&t, team, 4, &people).await,
        ["ann", "dan", "ann", "dan"]
    );
    // Bob is back: he joins the cycle at his place, after Ann, without restarting it.
    t.app.set_availability(&people[1].1, true).await.unwrap();
    assert_eq!(owners(&t, team, 3, &people).await, ["ann", "bob", "dan"]);
    // Everybody away: tickets stay unassigned.
    for i in [0, 1, 3] {
        t.app.set_availability(&people[i].1, false).await.unwrap();
    }
    assert_eq!(owners(&t, team, 1, &people).await, ["-"]);
}

async fn capacity(t: TestApp) {
    let (team, people) = team_of(&t, &["ann", "bob"]).await;
    set(&t, team, None, setting(RoutingMode::RoundRobin, Some(2))).await;
    let got = {
        let mut v = Vec::new();
        for _ in 0..5 {
            v.push(api_ticket(&t.app, team).await);
        }
        v
    };
    let names: Vec<String> = got.iter().map(|k| name_of(k.owner_id, &people)).collect();
    assert_eq!(names, ["ann", "bob", "ann", "bob", "-"]);
    // Closing one of Ann's tickets frees a place: the next ticket is hers.
    move_to_stage(&t, &Actor::system(), got[0].id, STAGE_CLOSED).await;
    assert_eq!(owners(&t, team, 2, &people).await, ["ann", "-"]);
    // Trashed tickets do not count either.
    t.app
        .trash_ticket(&Actor::system(), got[1].id)
        .await
        .unwrap();
    assert_eq!(owners(&t, team, 1, &people).await, ["bob"]);
}

async fn load_balanced(t: TestApp) {
    let (team, people) = team_of(&t, &["ann", "bob", "carl"]).await;
    // Ann owns two open tickets, Carl one (open tickets of any team count).
    for (who, n) in [(0, 2), (2, 1)] {
        for _ in 0..n {
            ticket_with(
                &t,
                &Actor::system(),
                &[("hubspot_owner_id", &people[who].0.id.to_string())],
            )
            .await;
        }
    }
    set(&t, team, None, setting(RoutingMode::LoadBalanced, None)).await;
    // Bob has fewest (0 against 1 and 2); then he ties with Carl and the turn passes him by;
    // at two each, all three take turns after the last one routed.
    assert_eq!(
        owners(&t, team, 6, &people).await,
        ["bob", "carl", "bob", "carl", "ann", "bob"]
    );
}

async fn manual_and_channels(t: TestApp) {
    let (team, people) = team_of(&t, &["ann", "bob"]).await;
    // Never configured: manual.
    assert_eq!(owners(&t, team, 1, &people).await, ["-"]);
    set(&t, team, None, setting(RoutingMode::Manual, Some(3))).await;
    assert_eq!(owners(&t, team, 1, &people).await, ["-"]);
    // The API ("other") channel routes while the team stays manual.
    set(
        &t,
        team,
        Some(RoutingChannel::Other),
        setting(RoutingMode::RoundRobin, None),
    )
    .await;
    assert_eq!(owners(&t, team, 2, &people).await, ["ann", "bob"]);
    // Removing the override brings the team's (manual) setting back.
    set(&t, team, Some(RoutingChannel::Other), None).await;
    assert_eq!(owners(&t, team, 1, &people).await, ["-"]);
    // The team routes, but its email channel is manual: API tickets routed, email not.
    set(&t, team, None, setting(RoutingMode::RoundRobin, None)).await;
    set(
        &t,
        team,
        Some(RoutingChannel::Email),
        setting(RoutingMode::Manual, None),
    )
    .await;
    let view = t.app.routing_overview(&Actor::system()).await.unwrap();
    let v = view.iter().find(|v| v.team.id == team).unwrap();
    assert_eq!(v.effective(RoutingChannel::Email).mode, RoutingMode::Manual);
    assert_eq!(
        v.effective(RoutingChannel::Chat).mode,
        RoutingMode::RoundRobin
    );
    assert_eq!(owners(&t, team, 1, &people).await, ["ann"]);
    let mut p = props(&[
        ("subject", "By email"),
        ("hs_pipeline_stage", STAGE_NEW),
        ("source_type", "EMAIL"),
    ]);
    p.insert("hubspot_team_id".into(), team.to_string());
    let mail = t
        .app
        .create_ticket(
            &Actor::system(),
            NewTicket {
                properties: p,
                ..NewTicket::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(mail.owner_id, None);
}

async fn deliver(mail: &MailService, from: &str, subject: &str) {
    let raw = format!(
        "From: {from}\r\nTo: {SUPPORT}\r\nSubject: {subject}\r\nMessage-ID: <{}>\r\n\
         Date: Mon, 7 Dec 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nHello, something is broken.\r\n",
        unique_message_id()
    );
    mail.accept(IncomingMail {
        source: MailSource::Mailgate,
        envelope_from: None,
        recipients: vec![SUPPORT.to_string()],
        raw: raw.into_bytes(),
        truncated_from: None,
    })
    .await
    .unwrap();
    mail.run_pending_jobs().await.unwrap();
}

async fn from_mail(t: TestApp) {
    let system = Actor::system();
    let (team, people) = team_of(&t, &["ann", "bob"]).await;
    t.app
        .connect_email(&system, SUPPORT, "Support", Workspace::HelpDesk, false)
        .await
        .unwrap();
    set(
        &t,
        team,
        Some(RoutingChannel::Email),
        setting(RoutingMode::RoundRobin, None),
    )
    .await;
    let mail = MailService::new(t.app.clone(), MailSettings::default());
    deliver(&mail, "gina@customer.example", "Printer on fire").await;
    deliver(&mail, "hal@customer.example", "Cannot log in").await;
    let mut list = t.app.list_tickets(&system, &all_tickets()).await.unwrap();
    list.sort_by_key(|k| k.id);
    assert_eq!(list.len(), 2);
    let names: Vec<String> = list.iter().map(|k| name_of(k.owner_id, &people)).collect();
    assert_eq!(names, ["ann", "bob"]);
    assert!(list.iter().all(|k| k.team_id == Some(team)));
    // The change is the system's, in the ticket's history.
    let history = ticket_activity(&t, list[0].id).await;
    assert!(
        history.iter().any(|e| e.action == "property_changed"
            && e.field.as_deref() == Some("hubspot_owner_id")
            && e.new_value.as_deref() == Some(people[0].0.id.to_string().as_str())
            && e.actor_user_id.is_none()),
        "{history:?}"
    );
    // Each owner is told of the assignment; the other is not told of it.
    for (i, (_, actor)) in people.iter().enumerate() {
        let n = t.app.notifications(actor, 10).await.unwrap();
        assert_eq!(n.len(), 1, "{n:?}");
        assert_eq!(n[0].kind, "owner");
        assert_eq!(n[0].ticket_id, Some(list[i].id));
        assert_eq!(n[0].text, "You were assigned the ticket");
        assert!(
            n[0].excerpt
                .as_deref()
                .unwrap_or("")
                .contains("round robin routing"),
            "{:?}",
            n[0].excerpt
        );
    }
}

async fn settings_checked(t: TestApp) {
    let (team, people) = team_of(&t, &["ann"]).await;
    let ann = &people[0].1;
    assert_forbidden(
        t.app
            .set_routing(ann, team, None, setting(RoutingMode::RoundRobin, None))
            .await,
    );
    assert_forbidden(t.app.routing_overview(ann).await);
    let (_, admin) = t.admin("root@example.com").await;
    assert_invalid(
        t.app
            .set_routing(
                &admin,
                team,
                None,
                setting(RoutingMode::RoundRobin, Some(0)),
            )
            .await,
        "capacity",
    );
    assert_invalid(t.app.set_routing(&admin, team, None, None).await, "mode");
    assert_not_found(
        t.app
            .set_routing(
                &admin,
                TeamId(999_999),
                None,
                setting(RoutingMode::Manual, None),
            )
            .await,
    );
    t.app
        .set_routing(
            &admin,
            team,
            None,
            setting(RoutingMode::LoadBalanced, Some(4)),
        )
        .await
        .unwrap();
    let view = t.app.routing_overview(&admin).await.unwrap();
    assert_eq!(
        view[0].setting,
        RoutingSetting {
            mode: RoutingMode::LoadBalanced,
            capacity: Some(4)
        }
    );
    assert_eq!(view[0].members.len(), 1);
    assert!(view[0].members[0].available);
    let changes = t
        .app
        .admin_changes(&admin, fd_app::domain::entities::AdminObject::Team)
        .await
        .unwrap();
    assert!(
        changes.iter().any(|c| c.action == "routing_changed"
            && c.new_value.as_deref() == Some("load-balanced, capacity 4")),
        "{changes:?}"
    );
}

async fn concurrent_fairness(t: TestApp) {
    const MEMBERS: usize = 4;
    const PER_NODE: usize = 15;
    let names: Vec<String> = (0..MEMBERS).map(|i| format!("agent{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let (team, people) = team_of(&t, &refs).await;
    set(&t, team, None, setting(RoutingMode::RoundRobin, None)).await;
    // A second node: another app with its own pool on the same database.
    let db = Db::connect(&t.url).await.unwrap();
    let other = App::new(db, Arc::clone(&t.clock) as Arc<dyn fd_app::Clock>);
    let mut tasks = Vec::new();
    for node in [t.app.clone(), other.clone()] {
        for _ in 0..PER_NODE {
            let app = node.clone();
            tasks.push(tokio::spawn(async move { api_ticket(&app, team).await }));
        }
    }
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for task in tasks {
        let tk = task.await.unwrap();
        *counts.entry(name_of(tk.owner_id, &people)).or_default() += 1;
    }
    let total = 2 * PER_NODE;
    let n = total / MEMBERS;
    assert_eq!(counts.len(), MEMBERS, "everyone got tickets: {counts:?}");
    assert!(
        counts.values().all(|&c| c == n || c == n + 1),
        "each of {MEMBERS} members gets {n} or {}: {counts:?}",
        n + 1
    );
    assert_eq!(counts.values().sum::<usize>(), total);
    other.close().await;
}
