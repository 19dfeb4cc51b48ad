//! Settings → Webhooks (issue 17, item 4): administrators only; creating an app shows its
//! developer key and client secret in that answer only, and the key works on the management
//! API; settings are checked at their fields; a subscription's events show in the delivery
//! log with status and attempts, and Replay sends them again.

use fd_testkit::TestApp;

use crate::ui_common::*;

fd_testkit::on_both_backends! {
    webhooks_settings_page_creates_apps_subscribes_and_replays => settings_page;
}

async fn settings_page(t: TestApp) {
    t.admin("admin@example.com").await;
    agent(&t, "ann@example.com").await;
    let base = serve(&t).await;
    let ann = Browser::login(&base, "ann@example.com").await;
    assert_eq!(ann.get("/settings/webhooks").await.status, 403);
    let a = Browser::login(&base, "admin@example.com").await;
    let list = a.get("/settings/webhooks").await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains("No developer app yet"), "{}", list.body);

    let refused = a.post("/settings/webhooks", &[("name", "  ")]).await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("app-name-error"));
    let created = a.post("/settings/webhooks", &[("name", "Sync")]).await;
    assert_eq!(created.status, 200);
    let html = &created.body;
    let value_of = |id: &str| {
        let at = html.find(&format!("id=\"{id}\"")).unwrap();
        attr(&html[at..], "value").unwrap()
    };
    let (app_id, key) = (value_of("app-id"), value_of("app-key"));
    assert_eq!(value_of("app-secret").len(), 36);
    // Shown once: the list does not show the key again.
    let list = a.get("/settings/webhooks").await;
    assert!(list.body.contains("Sync") && !list.body.contains(&key));
    let access = t
        .app
        .webhook_app_for_key(app_id.parse().unwrap(), Some(&key))
        .await
        .expect("the key shown works");

    let page = format!("/settings/webhooks/{app_id}");
    let bad = a
        .post(
            &format!("{page}/settings"),
            &[("target_url", "ftp://nowhere"), ("max_concurrent", "2")],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("hook-url-error") && bad.body.contains("hook-max-error"));
    assert!(
        bad.body.contains("ftp://nowhere"),
        "the form keeps what was typed"
    );
    // A receiver that refuses (port 9 on loopback has no listener): the log shows the error.
    let ok = a
        .post(
            &format!("{page}/settings"),
            &[
                ("target_url", "http://127.0.0.1:9/hook"),
                ("max_concurrent", "5"),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let ok = a
        .post(
            &format!("{page}/subscriptions"),
            &[("event_type", "ticket.creation"), ("active", "on")],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let bad = a
        .post(
            &format!("{page}/subscriptions"),
            &[("event_type", "ticket.propertyChange")],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("sub-property-error"), "{}", bad.body);
    let subs = t.app.webhook_subscriptions(&access).await.unwrap();
    assert_eq!(subs.len(), 1);
    assert!(subs[0].active);

    let tk = t
        .app
        .create_ticket(
            &fd_app::Actor::system(),
            fd_app::NewTicket {
                properties: [("subject", "Hook me"), ("hs_pipeline_stage", "1")]
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                ..fd_app::NewTicket::default()
            },
        )
        .await
        .unwrap();
    let run = t.app.run_webhook_deliveries().await.unwrap();
    assert_eq!(run.retried, 1);
    let shown = a.get(&page).await;
    assert_eq!(shown.status, 200);
    assert!(shown.body.contains("Will retry"), "{}", shown.body);
    assert!(shown.body.contains(&tk.id.0.to_string()));
    let log = t.app.webhook_log(&access).await.unwrap();
    let (event, delivery) = (log.events[0].id, log.deliveries[0].id);
    let replay = a.post(&format!("{page}/events/{event}/replay"), &[]).await;
    assert_eq!(replay.status, 303);
    // Due again at once, whatever the schedule said.
    assert_eq!(t.app.run_webhook_deliveries().await.unwrap().requests, 1);
    let replay = a
        .post(&format!("{page}/deliveries/{delivery}/replay"), &[])
        .await;
    assert_eq!(replay.status, 303);
    assert_eq!(t.app.run_webhook_deliveries().await.unwrap().requests, 1);
    // Pause and delete the subscription.
    let sub = subs[0].id;
    a.post(&format!("{page}/subscriptions/{sub}/toggle"), &[])
        .await;
    assert!(!t.app.webhook_subscriptions(&access).await.unwrap()[0].active);
    a.post(&format!("{page}/subscriptions/{sub}/delete"), &[])
        .await;
    assert!(
        t.app
            .webhook_subscriptions(&access)
            .await
            .unwrap()
            .is_empty()
    );
    // Another administrator's post for an app that does not exist: 404.
    assert_eq!(a.get("/settings/webhooks/999999").await.status, 404);
    assert_eq!(
        ann.post(&format!("{page}/settings/clear"), &[])
            .await
            .status,
        403
    );
}
