//! Issue 16 over HTTP: the satisfaction survey's pages (a link's click records the rating,
//! the comment form, expired and unknown links, the ticket page's badge, the settings page)
//! and reply suggestions in the API (HD-04: 403 without a Service Seat).

use std::collections::BTreeMap;

use fd_app::domain::*;
use fd_app::{Actor, NewUserInput, TicketChanges};
use fd_testkit::TestApp;
use reqwest::StatusCode;

use crate::api_common::Api;
use crate::ui_common::*;

fd_testkit::on_both_backends! {
    ui_csat_link_records_rating_comment_badge_and_expiry => rating_pages;
    ui_csat_settings_page_switches_the_survey_on => settings_page;
    hd_04_api_reply_suggestions_need_a_service_seat => api_suggestions;
}

fn token_of(text: &str) -> String {
    let i = text.find("/csat/").unwrap() + "/csat/".len();
    text[i..].split('/').next().unwrap().to_string()
}

async fn rating_pages(t: TestApp) {
    let api = Api::start(t).await;
    let t = &api.t;
    let (_, admin) = t.admin("boss@example.com").await;
    t.app
        .set_csat_settings(&admin, true, "How did we do?", "Rate us.")
        .await
        .unwrap();
    let (_, tk) = api.email_thread("Broken flux").await;
    t.app
        .update_ticket(
            &admin,
            tk.id,
            TicketChanges {
                properties: BTreeMap::from([("hs_pipeline_stage".into(), "4".into())]),
                expected_version: None,
            },
        )
        .await
        .unwrap();
    let email = t.app.issue_csat_email(tk.id).await.unwrap().unwrap();
    let token = token_of(&email.text(&api.base));
    let anon = Browser::anonymous(&api.base);
    // One click: recorded, no sign-in, a page with the comment form and the other choice.
    let p = anon.get(&format!("/csat/{token}/good")).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("Thank you for your rating"));
    assert!(p.body.contains("as good"));
    assert!(p.body.contains(&format!("/csat/{token}/bad")));
    let p = anon
        .post_raw(
            &format!("/csat/{token}"),
            &[("comment", "Fast & kind")],
            &[],
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p.body.contains("Your comment"));
    assert!(p.body.contains("Fast &#38; kind</textarea>"), "{}", p.body);
    // The ticket page shows the badge and the history rows.
    t.agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let ann = Browser::login(&api.base, "ann@example.com").await;
    let page = ann.get(&format!("/helpdesk/tickets/{}", tk.id)).await;
    assert!(page.body.contains("id=\"ticket-csat\""));
    assert!(page.body.contains("Customer rating: Good"));
    assert!(page.body.contains("rating: good"), "the history row");
    // The rating is reported (item 7): the reports page, its CSV and the API count it.
    let rep = ann.get("/reports").await;
    assert!(
        rep.body.contains("<td id=\"satisfaction-good\">1</td>"),
        "{}",
        rep.body
    );
    assert!(rep.body.contains("<td id=\"satisfaction-bad\">0</td>"));
    let c = ann.get("/reports/export/satisfaction").await;
    assert_eq!(c.body, "good,bad,percent_good\r\n1,0,100.0\r\n");
    let r = api.get("/frontdesk/v1/reports/satisfaction").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["ratings"]["good"], 1);
    assert_eq!(r.body["ratings"]["bad"], 0);
    assert_eq!(r.body["ratings"]["percentGood"], 100.0);
    // The API returns the rating as a read-only property.
    let r = api
        .get(&format!(
            "/crm/v3/objects/tickets/{}?properties=frontdesk_csat_rating,frontdesk_csat_comment",
            tk.id
        ))
        .await;
    assert_eq!(r.body["properties"]["frontdesk_csat_rating"], "good");
    assert_eq!(
        r.body["properties"]["frontdesk_csat_comment"],
        "Fast & kind"
    );
    let r = api
        .patch(
            &format!("/crm/v3/objects/tickets/{}", tk.id),
            serde_json::json!({"properties": {"frontdesk_csat_rating": "bad"}}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    // Bad input and bad links get clear pages.
    let p = anon.get(&format!("/csat/{token}/meh")).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(p.body.contains("not a rating"));
    let p = anon.get("/csat/nonsense/good").await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    assert!(p.body.contains("This rating link does not work"));
    t.clock.advance_ms(fd_app::CSAT_LINK_DAYS * 86_400_000);
    let p = anon.get(&format!("/csat/{token}/bad")).await;
    assert_eq!(p.status, StatusCode::GONE);
    assert!(p.body.contains("This rating link has expired"));
}

async fn settings_page(t: TestApp) {
    let base = serve(&t).await;
    t.admin("admin@example.com").await;
    agent(&t, "ann@example.com").await;
    let a = Browser::login(&base, "admin@example.com").await;
    let p = a.get("/settings/csat").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("Satisfaction survey"));
    assert!(!p.body.contains("id=\"csat-enabled\" checked"));
    let r = a
        .post(
            "/settings/csat",
            &[("enabled", "on"), ("subject", "Rate us"), ("intro", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("must not be empty"));
    let r = a
        .post(
            "/settings/csat",
            &[
                ("enabled", "on"),
                ("subject", "Rate us"),
                ("intro", "Tell us"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let p = a.get("/settings/csat").await;
    assert!(p.body.contains("id=\"csat-enabled\" checked"));
    assert!(p.body.contains("Tell us"));
    let ann = Browser::login(&base, "ann@example.com").await;
    assert_eq!(
        ann.get("/settings/csat").await.status,
        StatusCode::FORBIDDEN
    );
}

async fn api_suggestions(t: TestApp) {
    let api = Api::start(t).await;
    let t = &api.t;
    let core = t
        .app
        .create_user(
            &Actor::system(),
            NewUserInput {
                email: "core@example.com".into(),
                name: "Core".into(),
                role: Role::Agent,
                password: PASSWORD.into(),
                teams: Vec::new(),
                ticket_access: TicketAccessLevel::All,
                account_access: false,
                service_access: true,
                sales_access: false,
                seat: Seat::Core,
            },
        )
        .await
        .unwrap();
    let (_, admin) = t.admin("boss@example.com").await;
    t.app
        .create_library_item(
            &admin,
            "article",
            "Resetting the flux printer",
            "<p>Hold the flux button.</p>",
        )
        .await
        .unwrap();
    let id = api.ticket("Flux printer broken", &[]).await;
    let path = format!("/frontdesk/v1/tickets/{id}/suggestions");
    let r = api.get(&path).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["results"][0]["kind"], "article");
    assert_eq!(r.body["results"][0]["title"], "Resetting the flux printer");
    let token = api.token_for(&core.email).await;
    let r = api
        .send_as(Some(&token), reqwest::Method::GET, &path, None)
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
}
