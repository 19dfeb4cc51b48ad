//! Shared views over HTTP (issue 16 item 4): the `/frontdesk/v1/views` API (create, read,
//! replace, delete, a view's tickets) and HD-04's gate — 403 in the API and on the page's
//! posts without a Service Seat, and no create control on the page — with the view's page
//! drawing its chosen columns and the left panel its count.

use fd_app::domain::*;
use fd_app::{Actor, NewUserInput};
use fd_testkit::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::api_common::Api;
use crate::ui_common::*;

fd_testkit::on_both_backends! {
    hd_04_views_api_crud_and_403_without_a_service_seat => api_and_seat;
    hd_04_views_page_hides_creation_without_a_seat_and_shows_chosen_columns => pages;
}

async fn core_user(t: &TestApp, email: &str) {
    t.app
        .create_user(
            &Actor::system(),
            NewUserInput {
                email: email.into(),
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
}

async fn api_and_seat(t: TestApp) {
    let api = Api::start(t).await;
    api.ticket("Urgent one", &[("hs_ticket_priority", "URGENT")])
        .await;
    api.ticket("Low one", &[("hs_ticket_priority", "LOW")])
        .await;
    let body = json!({
        "name": "Urgent this week",
        "ownerKind": "everyone",
        "definition": {
            "status": "all",
            "filters": [{"propertyName": "hs_ticket_priority", "operator": "EQ", "value": "URGENT"}],
            "dates": [{"propertyName": "createdate", "range": "last_7_days"}],
            "columns": ["subject", "priority", "created"],
            "sort": "created_desc"
        }
    });
    let r = api.post("/frontdesk/v1/views", body.clone()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(r.body["ownerKind"], "everyone");
    assert_eq!(
        r.body["definition"]["columns"],
        json!(["subject", "priority", "created"])
    );
    let r = api.get(&format!("/frontdesk/v1/views/{id}/tickets")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["total"], 1);
    assert_eq!(r.body["results"][0]["subject"], "Urgent one");
    let r = api.get("/frontdesk/v1/views").await;
    assert_eq!(r.body["results"][0]["name"], "Urgent this week");
    // Bad definitions are 400 with the problem named.
    let r = api
        .post(
            "/frontdesk/v1/views",
            json!({"name": "Bad", "definition": {"dates": [{"propertyName": "createdate", "range": "soon"}]}}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.to_string().contains("soon"), "{}", r.body);
    // Without a Service Seat: the shared view is readable, every change is 403 (HD-04).
    core_user(&api.t, "core@example.com").await;
    let token = api.token_for("core@example.com").await;
    let core = |m: Method, p: String, b: Option<serde_json::Value>| {
        let (api, token) = (&api, token.clone());
        async move { api.send_as(Some(&token), m, &p, b).await }
    };
    let r = core(Method::GET, "/frontdesk/v1/views".into(), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["results"].as_array().unwrap().len(), 1);
    let r = core(
        Method::GET,
        format!("/frontdesk/v1/views/{id}/tickets"),
        None,
    )
    .await;
    assert_eq!(r.body["total"], 1);
    let mine = json!({"name": "Mine", "definition": {"status": "open"}});
    let r = core(
        Method::POST,
        "/frontdesk/v1/views".into(),
        Some(mine.clone()),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = core(
        Method::PUT,
        format!("/frontdesk/v1/views/{id}"),
        Some(body.clone()),
    )
    .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = core(Method::DELETE, format!("/frontdesk/v1/views/{id}"), None).await;
    assert_eq!(r.status, 403, "{}", r.body);
    // The seat holder replaces and deletes it.
    let mut renamed = body.clone();
    renamed["name"] = json!("Urgent, all time");
    let r = api
        .put(&format!("/frontdesk/v1/views/{id}"), Some(renamed))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["name"], "Urgent, all time");
    let r = api.delete(&format!("/frontdesk/v1/views/{id}")).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = api.get(&format!("/frontdesk/v1/views/{id}")).await;
    assert_eq!(r.status, 404, "{}", r.body);
}

async fn pages(t: TestApp) {
    t.admin("root@example.com").await;
    core_user(&t, "core@example.com").await;
    let base = serve(&t).await;
    let admin = Browser::login(&base, "root@example.com").await;
    let list = admin.get("/helpdesk").await;
    assert!(list.body.contains("/helpdesk/views/new"), "{}", list.body);
    let created = admin
        .post(
            "/helpdesk/views/new",
            &[
                ("name", "Made today"),
                ("owner", "everyone"),
                ("status", "all"),
                ("date_property", "createdate"),
                ("date_range", "today"),
                ("columns", "subject"),
                ("columns", "team"),
                ("columns", "created"),
                ("sort", "created_desc"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let id = id_in(&created.location);
    let page = admin.get(&format!("/helpdesk/views/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("<th scope=\"col\">Team</th>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("<th scope=\"col\">Created</th>"));
    assert!(!page.body.contains("<th scope=\"col\">Owner</th>"));
    assert!(page.body.contains("Made today"));
    // Without a seat: the view is listed with its count, nothing to create or edit.
    let core = Browser::login(&base, "core@example.com").await;
    let list = core.get("/helpdesk").await;
    assert!(
        list.body.contains(&format!("/helpdesk/views/{id}")),
        "{}",
        list.body
    );
    assert!(!list.body.contains("/helpdesk/views/new"), "{}", list.body);
    let page = core.get(&format!("/helpdesk/views/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("Edit view"));
    assert_eq!(
        core.get("/helpdesk/views/new").await.status,
        StatusCode::FORBIDDEN
    );
    let r = core
        .post(
            "/helpdesk/views/new",
            &[("name", "Mine"), ("owner", "user")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = core
        .post(&format!("/helpdesk/views/{id}/delete"), &[])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
}
