//! One user action is one use case in one transaction, whatever the road: a ticket created
//! with a new contact leaves no contact behind when the ticket is refused; contacts and
//! companies are written through one path that records who did it; and an agent's HTML is
//! sanitised by the use case, so the API's `richText` is stored and mailed as safely as the
//! reply editor's.

use fd_app::Actor;
use fd_app::domain::*;
use fd_testkit::TestApp;
use reqwest::StatusCode;
use serde_json::json;

use crate::api_common::Api;
use crate::ui_common::*;

async fn activity_of(t: &TestApp, kind: ObjectType, id: i64) -> Vec<entities::ActivityEvent> {
    let mut tx = t.app.db().read().await.unwrap();
    let a = tx.activity(kind, id).await.unwrap();
    tx.commit().await.unwrap();
    a
}

/// HD-01/HD-02: "Create ticket" naming a new contact by email is one transaction.
async fn ticket_with_new_contact(t: TestApp) {
    let (ann, _) = agent(&t, "ann@example.com").await;
    let base = serve(&t).await;
    let b = Browser::login(&base, "ann@example.com").await;
    let refused = b
        .post(
            "/helpdesk/new",
            &[
                ("p.subject", " "),
                ("p.hs_pipeline_stage", "1"),
                ("contact_email", "new.customer@example.com"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        t.app
            .contact_id_by_email("new.customer@example.com")
            .await
            .unwrap(),
        None,
        "a refused ticket left its new contact behind"
    );
    let created = b
        .post(
            "/helpdesk/new",
            &[
                ("p.subject", "Cannot log in"),
                ("p.hs_pipeline_stage", "1"),
                ("contact_email", "new.customer@example.com"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let ticket = TicketId(id_in(&created.location));
    let contact = t
        .app
        .contact_id_by_email("new.customer@example.com")
        .await
        .unwrap()
        .expect("the contact was created with the ticket");
    let details = t
        .app
        .ticket_details(&Actor::system(), ticket)
        .await
        .unwrap();
    assert_eq!(
        details.contacts.iter().map(|c| c.id.0).collect::<Vec<_>>(),
        vec![contact]
    );
    // The contact's creation is in its history, with the agent who made it.
    let history = activity_of(&t, ObjectType::Contact, contact).await;
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0].action, "created");
    assert_eq!(history[0].actor_user_id, Some(ann.id));
    // An existing contact is reused, not duplicated.
    let again = b
        .post(
            "/helpdesk/new",
            &[
                ("p.subject", "Still cannot log in"),
                ("p.hs_pipeline_stage", "1"),
                ("contact_email", "New.Customer@example.com"),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    assert_eq!(activity_of(&t, ObjectType::Contact, contact).await.len(), 1);
}

/// Contacts and companies created, changed and archived through the API record their
/// actor, as the UI's do (one path in fd-app).
async fn crm_changes_are_recorded(t: TestApp) {
    let api = Api::start(t).await;
    let admin = api
        .t
        .app
        .user_by_email("admin@example.com")
        .await
        .unwrap()
        .unwrap();
    let r = api
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "kim@example.com", "firstname": "Kim"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id: i64 = r.body["id"].as_str().unwrap().parse().unwrap();
    let r = api
        .patch(
            &format!("/crm/v3/objects/contacts/{id}"),
            json!({"properties": {"firstname": "Kimberly"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = api.delete(&format!("/crm/v3/objects/contacts/{id}")).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let history = activity_of(&api.t, ObjectType::Contact, id).await;
    type Row<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Option<&'a str>);
    let seen: Vec<Row> = history
        .iter()
        .map(|a| {
            (
                a.action.as_str(),
                a.field.as_deref(),
                a.old_value.as_deref(),
                a.new_value.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("created", None, None, None),
            (
                "property_changed",
                Some("firstname"),
                Some("Kim"),
                Some("Kimberly")
            ),
            ("archived", None, None, None),
        ]
    );
    assert!(history.iter().all(|a| a.actor_user_id == Some(admin.id)));
    let r = api
        .post(
            "/crm/v3/objects/companies",
            json!({"properties": {"name": "Acme", "domain": "acme.example"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let company: i64 = r.body["id"].as_str().unwrap().parse().unwrap();
    let history = activity_of(&api.t, ObjectType::Company, company).await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].actor_user_id, Some(admin.id));
}

/// Agent HTML sent through the API's `richText` is sanitised by the reply use case: what is
/// stored (and mailed) has no script and no event handler.
async fn api_rich_text_is_sanitised(t: TestApp) {
    let api = Api::start(t).await;
    let team = api.t.team("Support").await;
    api.t
        .app
        .connect_team_address(
            &Actor::system(),
            team,
            "support@frontdesk.example",
            Workspace::HelpDesk,
        )
        .await
        .unwrap();
    let (c, _) = api.email_thread("Hostile reply").await;
    let me = api
        .t
        .app
        .user_by_email("admin@example.com")
        .await
        .unwrap()
        .unwrap()
        .id;
    let accounts = api
        .get("/conversations/v3/conversations/channel-accounts?channelId=1002")
        .await;
    let account = accounts.body["results"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = api
        .post(
            &format!("/conversations/v3/conversations/threads/{}/messages", c.id),
            json!({
                "type": "MESSAGE", "text": "Hello", "senderActorId": format!("A-{me}"), "channelAccountId": account,
                "richText": "<p onclick=\"steal()\">Hello</p><script>alert(1)</script><img src=x onerror=alert(2)><a href=\"javascript:alert(3)\">link</a>",
                "channelId": "1002",
                "recipients": [{"recipientField": "TO", "deliveryIdentifiers": [{"type": "HS_EMAIL_ADDRESS", "value": "cora@customer.example"}]}]
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let messages = api.t.app.messages(&Actor::system(), c.id).await.unwrap();
    let sent = messages
        .iter()
        .find(|m| m.direction == Direction::Outbound)
        .unwrap();
    let html = sent.html.as_deref().unwrap();
    for bad in ["<script", "alert(1)", "onerror", "onclick", "javascript:"] {
        assert!(!html.contains(bad), "{bad} survived: {html}");
    }
    assert!(html.contains("<p>Hello</p>"), "{html}");
    let rich = r.body["richText"].as_str().unwrap_or_default();
    assert!(
        !rich.contains("<script") && !rich.contains("onerror"),
        "{rich}"
    );
}

fd_testkit::on_both_backends! {
    hd_02_ticket_with_a_new_contact_is_one_transaction => ticket_with_new_contact;
    crm_contacts_and_companies_record_their_actor_on_every_road => crm_changes_are_recorded;
    api_rich_text_is_sanitised_by_the_reply_use_case => api_rich_text_is_sanitised;
}
