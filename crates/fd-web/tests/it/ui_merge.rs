//! Ticket merge in the web UI (issue 15): a merged-away ticket's address opens the ticket it
//! was merged into, and says so; an agent who may not see the survivor learns nothing.

use std::collections::BTreeMap;

use fd_app::domain::*;
use fd_app::{Actor, NewTicket};
use fd_testkit::TestApp;
use reqwest::StatusCode;

use crate::ui_common::*;

fd_testkit::on_both_backends! {
    ui_merged_ticket_address_leads_to_the_survivor => merged_ticket_address;
    ui_merge_searches_the_other_ticket_previews_and_confirms => merge_flow;
}

async fn new_ticket(t: &TestApp, actor: &Actor, subject: &str) -> TicketId {
    let properties: BTreeMap<String, String> = [
        ("subject".to_string(), subject.to_string()),
        ("hs_pipeline_stage".to_string(), "1".to_string()),
    ]
    .into();
    t.app
        .create_ticket(
            actor,
            NewTicket {
                properties,
                ..NewTicket::default()
            },
        )
        .await
        .unwrap()
        .id
}

async fn merged_ticket_address(t: TestApp) {
    let (_, ann) = agent(&t, "ann@example.com").await;
    t.agent("own@example.com", TicketAccessLevel::Owned, &[])
        .await;
    let base = serve(&t).await;
    let b = Browser::login(&base, "ann@example.com").await;
    let old = new_ticket(&t, &ann, "Printer").await;
    let primary = new_ticket(&t, &ann, "Printer again").await;
    t.app.merge_tickets(&ann, primary, old).await.unwrap();
    for (page, to) in [
        (
            format!("/helpdesk/tickets/{old}"),
            format!("/helpdesk/tickets/{primary}"),
        ),
        (format!("/tickets/{old}"), format!("/tickets/{primary}")),
    ] {
        let r = b.get(&page).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{page}");
        assert_eq!(r.location.as_deref(), Some(to.as_str()));
        assert!(
            r.headers
                .get_all("set-cookie")
                .iter()
                .any(|c| c.to_str().unwrap().starts_with("fd_flash=ticket-merged;"))
        );
    }
    let shown = b
        .get_with_cookie(
            &format!("/helpdesk/tickets/{primary}"),
            "fd_flash=ticket-merged",
        )
        .await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(shown.body.contains("That ticket was merged into this one"));
    // An agent who may not see the survivor is not sent to it.
    let own = Browser::login(&base, "own@example.com").await;
    let r = own.get(&format!("/helpdesk/tickets/{old}")).await;
    assert_ne!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location, None);
}

async fn merge_flow(t: TestApp) {
    let (_, ann) = agent(&t, "ann@example.com").await;
    let base = serve(&t).await;
    let b = Browser::login(&base, "ann@example.com").await;
    let old = new_ticket(&t, &ann, "Toner is empty").await;
    t.clock.advance_ms(60_000);
    let primary = new_ticket(&t, &ann, "Printer says no").await;

    let page = b.get(&format!("/helpdesk/tickets/{primary}")).await;
    assert!(
        page.body
            .contains(&format!("/helpdesk/tickets/{primary}/merge"))
    );
    let found = b
        .get(&format!("/helpdesk/tickets/{primary}/merge?q=toner"))
        .await;
    assert_eq!(found.status, StatusCode::OK);
    assert!(
        found
            .body
            .contains(&format!("/helpdesk/tickets/{primary}/merge?other={old}")),
        "{}",
        found.body
    );
    let preview = b
        .get(&format!("/helpdesk/tickets/{primary}/merge?other={old}"))
        .await;
    assert_eq!(preview.status, StatusCode::OK);
    assert!(preview.body.contains("After the merge"));
    assert!(
        preview
            .body
            .contains(&format!("Merge #{old} into this ticket"))
    );

    // Refused: the ticket itself; nothing changes.
    let refused = b
        .post(
            &format!("/helpdesk/tickets/{primary}/merge"),
            &[("other", &primary.to_string())],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("cannot be merged into itself"),
        "{}",
        refused.body
    );

    let done = b
        .post(
            &format!("/helpdesk/tickets/{primary}/merge"),
            &[("other", &old.to_string())],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        done.location.as_deref(),
        Some(format!("/helpdesk/tickets/{primary}").as_str())
    );
    let survivor = t.app.ticket(&Actor::system(), primary).await.unwrap();
    let merged = t.app.ticket(&Actor::system(), old).await.unwrap();
    assert!(merged.trashed_at.is_some());
    assert_eq!(
        survivor.created_at, merged.created_at,
        "create date is the oldest"
    );
}
