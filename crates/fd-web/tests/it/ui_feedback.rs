//! Honest feedback and property editing (issue 13, items 5 and 6) over HTTP: confirmations
//! across post/redirect/get, delivery state with its reason and Retry, refusals at the field
//! with what was typed kept, per-field saves, HD-19 at the status field, activity in words.

use fd_app::NewStage;
use fd_app::domain::*;
use fd_testkit::TestApp;
use reqwest::StatusCode;

use crate::ui_common::*;
use crate::ui_helpdesk::inbound;

/// The `fd_flash=…` pair a response sets, if any.
fn flash_cookie(p: &Page) -> Option<String> {
    p.headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("fd_flash="))
        .map(|c| c.split(';').next().unwrap().to_string())
}

/// The toast's text on a page.
fn toast(body: &str) -> String {
    let start = body.find("id=\"toast\"").expect("every page has the toast");
    let open = body[start..].find('>').unwrap() + start + 1;
    let close = body[open..].find("</div>").unwrap() + open;
    body[open..close].trim().to_string()
}

async fn confirmations_survive_the_redirect_and_only_fixed_words_show(t: TestApp) {
    agent(&t, "ann@example.com").await;
    let base = serve(&t).await;
    let b = Browser::login(&base, "ann@example.com").await;
    let created = b
        .post(
            "/helpdesk/new",
            &[
                ("p.subject", "Printer on fire"),
                ("p.hs_pipeline_stage", "1"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let cookie = flash_cookie(&created).expect("the redirect carries a confirmation");
    assert_eq!(cookie, "fd_flash=ticket-created");
    let shown = b
        .get_with_cookie(created.location.as_deref().unwrap(), &cookie)
        .await;
    assert_eq!(toast(&shown.body), "Ticket created.");
    assert!(shown.body.contains("role=\"status\""));
    assert_eq!(
        flash_cookie(&shown).as_deref(),
        Some("fd_flash="),
        "the page that showed it clears it"
    );
    // Without the cookie there is nothing to confirm; a code we do not know shows nothing,
    // so no link or cookie can put words of its own on the page.
    let id = id_in(&created.location);
    let plain = b.get(&format!("/helpdesk/tickets/{id}")).await;
    assert_eq!(toast(&plain.body), "");
    let crafted = b
        .get_with_cookie(
            &format!("/helpdesk/tickets/{id}?flash=Hacked"),
            "fd_flash=%3Cb%3EYou%20won%3C%2Fb%3E",
        )
        .await;
    assert_eq!(toast(&crafted.body), "");
    assert!(!crafted.body.contains("Hacked") && !crafted.body.contains("You won"));
    // Trash and restore confirm themselves too.
    let trashed = b.post(&format!("/tickets/{id}/trash"), &[]).await;
    assert_eq!(flash_cookie(&trashed).as_deref(), Some("fd_flash=trashed"));
    let restored = b.post(&format!("/tickets/{id}/restore"), &[]).await;
    assert_eq!(
        flash_cookie(&restored).as_deref(),
        Some("fd_flash=restored")
    );
}

async fn a_refused_create_keeps_what_was_typed_with_the_error_at_the_field(t: TestApp) {
    agent(&t, "ann@example.com").await;
    let base = serve(&t).await;
    let b = Browser::login(&base, "ann@example.com").await;
    let refused = b
        .post(
            "/helpdesk/new",
            &[("p.subject", " "), ("p.hs_pipeline_stage", "2")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let body = &refused.body;
    // The reason sits under the name field, which points to it.
    let field = body.find("id=\"f-subject-field\"").expect("the name field");
    let error = body.find("id=\"f-subject-error\"").expect("its error");
    assert!(error > field);
    assert!(
        body[error..].starts_with("id=\"f-subject-error\">the ticket name is required"),
        "{body}"
    );
    assert!(body.contains("aria-describedby=\"f-subject-error\""));
    assert!(
        body.contains("<option value=\"2\" selected>"),
        "the status chosen is kept: {body}"
    );
}

async fn per_field_saves_and_hd_19_at_the_status_field(t: TestApp) {
    let (_, actor) = agent(&t, "ann@example.com").await;
    let stage = t
        .app
        .create_stage(
            &fd_app::Actor::system(),
            PipelineId(0),
            NewStage {
                label: "Solved".into(),
                display_order: 9,
                state: StageState::Closed,
                required_properties: vec!["hs_ticket_category".into()],
            },
        )
        .await
        .unwrap();
    let (_, ticket) = inbound(&t, "Where is my parcel?").await;
    let base = serve(&t).await;
    let b = Browser::login(&base, "ann@example.com").await;
    let page = b.get(&format!("/helpdesk/tickets/{ticket}")).await;
    // Category is a group of checkbox chips, not a clipped listbox.
    assert!(
        page.body
            .contains("<fieldset class=\"chips\" id=\"f-hs_ticket_category\"")
    );
    assert!(
        page.body
            .contains("type=\"checkbox\" name=\"p.hs_ticket_category\" value=\"PRODUCT_ISSUE\"")
    );
    assert!(!page.body.contains("multiple size=\"3\""));
    let version = t
        .app
        .ticket(&actor, ticket)
        .await
        .unwrap()
        .version
        .to_string();
    // HD-19: the status needs Category, and says so at the fields, as JSON for the script…
    let sid = stage.id.to_string();
    let refused = b
        .post(
            &format!("/tickets/{ticket}/properties"),
            &[
                ("version", version.as_str()),
                ("o.hs_pipeline_stage", "1"),
                ("p.hs_pipeline_stage", sid.as_str()),
                ("_respond", "json"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let j: serde_json::Value = serde_json::from_str(&refused.body).unwrap();
    assert_eq!(j["ok"], false);
    assert!(
        j["errors"]["hs_pipeline_stage"]
            .as_str()
            .unwrap()
            .contains("HD-19"),
        "{j}"
    );
    assert!(j["errors"]["hs_ticket_category"].is_string(), "{j}");
    // …and, without script, as the page with the chosen status kept and the reasons shown.
    let page = b
        .post(
            &format!("/tickets/{ticket}/properties"),
            &[
                ("version", version.as_str()),
                ("o.hs_pipeline_stage", "1"),
                ("p.hs_pipeline_stage", sid.as_str()),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body
            .contains(&format!("<option value=\"{sid}\" selected>Solved")),
        "the chosen status is kept"
    );
    assert!(
        page.body
            .contains("id=\"f-hs_pipeline_stage-error\">The status")
    );
    assert!(
        page.body
            .contains("id=\"f-hs_ticket_category-error\">Required for the status")
    );
    assert_eq!(
        t.app.ticket(&actor, ticket).await.unwrap().stage_id,
        StageId(1)
    );
    // One field saved on its own: the answer gives the new version and a confirmation.
    let saved = b
        .post(
            &format!("/tickets/{ticket}/properties"),
            &[
                ("version", version.as_str()),
                ("o.hs_ticket_category", ""),
                ("p.hs_ticket_category", "PRODUCT_ISSUE"),
                ("p.hs_ticket_category", "BILLING_ISSUE"),
                ("_respond", "json"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let j: serde_json::Value = serde_json::from_str(&saved.body).unwrap();
    assert_eq!(j["message"], "Category saved.");
    let tk = t.app.ticket(&actor, ticket).await.unwrap();
    assert_eq!(j["version"], tk.version);
    assert_eq!(
        tk.property("hs_ticket_category").as_deref(),
        Some("PRODUCT_ISSUE;BILLING_ISSUE")
    );
    // The history tells it in labels, not stored values.
    let page = b.get(&format!("/helpdesk/tickets/{ticket}")).await;
    assert!(
        page.body
            .contains("changed Category from (empty) to Product issue, Billing issue"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("to PRODUCT_ISSUE"));
}

async fn activity_names_associated_records(t: TestApp) {
    agent(&t, "ann@example.com").await;
    let base = serve(&t).await;
    let b = Browser::login(&base, "ann@example.com").await;
    let created = b
        .post(
            "/helpdesk/new",
            &[
                ("p.subject", "Printer on fire"),
                ("p.hs_pipeline_stage", "1"),
                ("contact_email", "jane@example.com"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let id = id_in(&created.location);
    let added = b
        .post(
            &format!("/tickets/{id}/associate"),
            &[("kind", "company"), ("name", "Acme")],
        )
        .await;
    assert_eq!(
        flash_cookie(&added).as_deref(),
        Some("fd_flash=record-added")
    );
    let page = b.get(&format!("/helpdesk/tickets/{id}")).await;
    assert!(
        page.body.contains("associated company Acme"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("associated contact jane@example.com"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("associated a contact ("));
}

async fn unsent_reply_shows_its_reason_and_retry_queues_it_again(t: TestApp) {
    let (_, actor) = agent(&t, "ann@example.com").await;
    let (conv, ticket) = inbound(&t, "Where is my parcel?").await;
    let base = serve(&t).await;
    let b = Browser::login(&base, "ann@example.com").await;
    // Send returns to the thread at the new message, with what became of it.
    let sent = b
        .post(
            &format!("/conversations/{conv}/reply"),
            &[
                ("body", "On its way"),
                ("ticket", &ticket.to_string()),
                ("back", &format!("/helpdesk/tickets/{ticket}")),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let messages = t.app.messages(&actor, conv).await.unwrap();
    let reply = messages.last().unwrap();
    assert_eq!(
        sent.location.as_deref(),
        Some(format!("/helpdesk/tickets/{ticket}#message-{}", reply.id).as_str())
    );
    // No address is connected: not sent, and the page says why and offers Retry.
    assert_eq!(reply.status, DeliveryStatus::NotSent);
    assert_eq!(
        flash_cookie(&sent).as_deref(),
        Some("fd_flash=reply-not-sent")
    );
    let page = b.get(&format!("/helpdesk/tickets/{ticket}")).await;
    assert!(
        page.body
            .contains(&format!("id=\"delivery-{}\">Not sent", reply.id))
    );
    assert!(
        page.body.contains("no email address is connected"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!("action=\"/messages/{}/retry\"", reply.id))
    );
    // Once an address is connected, Retry queues it again and returns to it.
    let system = fd_app::Actor::system();
    t.app.create_team(&system, "Support").await.unwrap();
    t.app
        .connect_email(
            &system,
            "support@example.com",
            "Support",
            Workspace::HelpDesk,
            false,
        )
        .await
        .unwrap();
    let retried = b
        .post(
            &format!("/messages/{}/retry", reply.id),
            &[("back", &format!("/helpdesk/tickets/{ticket}"))],
        )
        .await;
    assert_eq!(retried.status, StatusCode::SEE_OTHER, "{}", retried.body);
    assert_eq!(
        retried.location.as_deref(),
        Some(format!("/helpdesk/tickets/{ticket}#message-{}", reply.id).as_str())
    );
    assert_eq!(
        flash_cookie(&retried).as_deref(),
        Some("fd_flash=retry-queued")
    );
    let m = t.app.messages(&actor, conv).await.unwrap();
    let again = m.iter().find(|x| x.id == reply.id).unwrap();
    assert_eq!(
        again.status,
        DeliveryStatus::Queued,
        "{:?}",
        again.status_detail
    );
    let page = b.get(&format!("/helpdesk/tickets/{ticket}")).await;
    assert!(
        page.body
            .contains(&format!("id=\"delivery-{}\">Queued", reply.id))
    );
    assert!(
        !page
            .body
            .contains(&format!("action=\"/messages/{}/retry\"", reply.id))
    );
    // A queued message is not sent twice.
    let twice = b.post(&format!("/messages/{}/retry", reply.id), &[]).await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST, "{}", twice.body);
}

async fn a_refused_property_keeps_the_form(t: TestApp) {
    t.admin("root@example.com").await;
    let base = serve(&t).await;
    let b = Browser::login(&base, "root@example.com").await;
    let refused = b
        .post(
            "/settings/properties",
            &[
                ("label", "Order number"),
                ("name", "Order Number!"),
                ("type", "enumeration"),
                ("options", "Small, Large"),
            ],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    let body = &refused.body;
    assert!(body.contains("value=\"Order number\""), "{body}");
    assert!(body.contains("value=\"Order Number!\""), "{body}");
    assert!(body.contains("value=\"Small, Large\""), "{body}");
    assert!(
        body.contains("<option value=\"enumeration\" selected>"),
        "{body}"
    );
    assert!(
        body.contains("id=\"np-name-error\""),
        "the reason is at the name: {body}"
    );
    // The table shows labels first, the internal name as a detail.
    assert!(
        body.contains("Category")
            && body.contains("<span class=\"secondary-name\">hs_ticket_category</span>")
    );
}

fd_testkit::on_both_backends! {
    ui_feedback_refused_property_keeps_the_form => a_refused_property_keeps_the_form;
    ui_feedback_confirmations_survive_redirects => confirmations_survive_the_redirect_and_only_fixed_words_show;
    ui_feedback_refused_create_keeps_typing => a_refused_create_keeps_what_was_typed_with_the_error_at_the_field;
    ui_hd_19_per_field_save_and_refusal_at_the_field => per_field_saves_and_hd_19_at_the_status_field;
    ui_feedback_activity_names_records => activity_names_associated_records;
    ui_feedback_unsent_reply_reason_and_retry => unsent_reply_shows_its_reason_and_retry_queues_it_again;
}
