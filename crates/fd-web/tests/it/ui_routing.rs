//! Settings → Routing (issue 16, item 2) over HTTP: administrators see each team's routing
//! and members, save a setting (a bad one is refused with the form as typed), switch a
//! member's availability; agents are refused.

use fd_app::Actor;
use fd_app::domain::routing::{RoutingChannel, RoutingMode, RoutingSetting};
use fd_app::domain::*;
use fd_testkit::TestApp;

use crate::ui_common::*;

async fn routing_settings_page(t: TestApp) {
    t.admin("boss@example.com").await;
    let team = t.team("Support").await;
    let (ann, _) = t
        .agent("ann@example.com", TicketAccessLevel::Team, &["Support"])
        .await;
    let base = serve(&t).await;
    let boss = Browser::login(&base, "boss@example.com").await;
    let page = boss.get("/settings/routing").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Save routing of Support"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Skipped: away"), "{}", page.body);

    let path = format!("/settings/routing/{team}");
    let refused = boss
        .post(
            &path,
            &[("team_mode", "load-balanced"), ("team_capacity", "lots")],
        )
        .await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("role=\"alert\""), "{}", refused.body);
    assert!(refused.body.contains("value=\"lots\""));
    assert!(
        refused
            .body
            .contains("<option value=\"load-balanced\" selected>")
    );
    let unchanged = t.app.routing_overview(&Actor::system()).await.unwrap();
    assert_eq!(unchanged[0].setting, RoutingSetting::MANUAL);

    let saved = boss
        .post(
            &path,
            &[
                ("team_mode", "round-robin"),
                ("team_capacity", "4"),
                ("calls_mode", "load-balanced"),
                ("calls_capacity", ""),
                ("email_mode", ""),
            ],
        )
        .await;
    assert_eq!(saved.status.as_u16(), 303, "{}", saved.body);
    let v = t.app.routing_overview(&Actor::system()).await.unwrap();
    assert_eq!(
        v[0].setting,
        RoutingSetting {
            mode: RoutingMode::RoundRobin,
            capacity: Some(4)
        }
    );
    assert_eq!(
        v[0].effective(RoutingChannel::Calls).mode,
        RoutingMode::LoadBalanced
    );
    assert_eq!(
        v[0].effective(RoutingChannel::Email).mode,
        RoutingMode::RoundRobin
    );

    // An administrator sets Ann available (HubSpot's Availability Management).
    let r = boss
        .post(
            &format!("/settings/routing/availability/{}", ann.id),
            &[("available", "1")],
        )
        .await;
    assert_eq!(r.status.as_u16(), 303);
    assert!(t.app.availability(ann.id).await.unwrap());

    let agent = Browser::login(&base, "ann@example.com").await;
    assert_eq!(agent.get("/settings/routing").await.status, 403);
    assert_eq!(
        agent.post(&path, &[("team_mode", "manual")]).await.status,
        403
    );
    let r = agent
        .post(
            &format!("/settings/routing/availability/{}", ann.id),
            &[("available", "0")],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(t.app.availability(ann.id).await.unwrap());
}

fd_testkit::on_both_backends! {
    ui_routing_settings_save_refuse_and_availability => routing_settings_page;
}
