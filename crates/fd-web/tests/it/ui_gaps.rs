//! The agent's workspace, remaining gaps (issue 13): new properties named from their label,
//! date and date-time properties posted as the browser's date inputs in the agent's own zone,
//! and a merged-away contact's or company's old address leading to the record it became.

use fd_app::domain::*;
use fd_app::{Actor, NewContact};
use fd_testkit::TestApp;
use reqwest::StatusCode;

use crate::api_common::Api;
use crate::ui_common::*;

fd_testkit::on_both_backends! {
    ui_new_property_internal_name_is_made_from_the_label => property_named_from_label;
    ui_date_and_datetime_properties_are_read_in_the_agents_zone => dates_in_the_agents_zone;
    ui_merged_contact_and_company_addresses_lead_to_the_survivor => merged_addresses;
    api_merged_contact_id_reads_as_the_survivor => api_merged_id;
}

/// The text of the element with `id` (up to its closing tag).
fn text_of(body: &str, id: &str) -> Option<String> {
    let start = body.find(&format!("id=\"{id}\""))?;
    let open = body[start..].find('>')? + start + 1;
    let close = body[open..].find('<')? + open;
    Some(body[open..close].to_string())
}

async fn property_named_from_label(t: TestApp) {
    t.admin("root@example.com").await;
    let base = serve(&t).await;
    let b = Browser::login(&base, "root@example.com").await;
    let created = b
        .post(
            "/settings/properties",
            &[
                ("label", "Priorité client"),
                ("name", ""),
                ("type", "string"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let defs = t.app.properties("tickets").await.unwrap();
    let def = defs.iter().find(|d| d.name == "priorite_client").unwrap();
    assert_eq!(def.label, "Priorité client");

    // The same label again: refused at the label, naming the internal name, typing kept.
    let again = b
        .post(
            "/settings/properties",
            &[("label", "Priorite Client!"), ("type", "string")],
        )
        .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    let reason = text_of(&again.body, "np-label-error").unwrap();
    assert!(reason.contains("priorite_client"), "{reason}");
    assert!(again.body.contains("value=\"Priorite Client!\""));
    // Overridden under "Advanced", the same label is fine.
    let overridden = b
        .post(
            "/settings/properties",
            &[
                ("label", "Priorite Client!"),
                ("name", "client_priority"),
                ("type", "string"),
            ],
        )
        .await;
    assert_eq!(
        overridden.status,
        StatusCode::SEE_OTHER,
        "{}",
        overridden.body
    );
    // A typed name that is taken is refused at the name, with Advanced open.
    let taken = b
        .post(
            "/settings/properties",
            &[
                ("label", "Other"),
                ("name", "client_priority"),
                ("type", "string"),
            ],
        )
        .await;
    assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        text_of(&taken.body, "np-name-error")
            .unwrap()
            .contains("already taken")
    );
    assert!(taken.body.contains("<details class=\"advanced\" open>"));
    // A label nothing can be made from asks for a name.
    let script = b
        .post(
            "/settings/properties",
            &[("label", "顧客"), ("type", "string")],
        )
        .await;
    assert_eq!(script.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text_of(&script.body, "np-name-error").is_some());
    assert!(
        !t.app
            .properties("tickets")
            .await
            .unwrap()
            .iter()
            .any(|d| d.label == "顧客" || d.label == "Other")
    );
}

async fn dates_in_the_agents_zone(t: TestApp) {
    let (_, ann) = agent(&t, "ann@example.com").await;
    t.admin("root@example.com").await;
    let base = serve(&t).await;
    let root = Browser::login(&base, "root@example.com").await;
    for (label, kind) in [("Follow-up at", "datetime"), ("Renewal", "date")] {
        let r = root
            .post("/settings/properties", &[("label", label), ("type", kind)])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    t.app.set_own_time_zone(&ann, "Europe/Rome").await.unwrap();
    let b = Browser::login(&base, "ann@example.com").await;
    let created = b
        .post(
            "/helpdesk/new",
            &[("p.subject", "Call back"), ("p.hs_pipeline_stage", "1")],
        )
        .await;
    let id = id_in(&created.location);
    let save = |value: &'static str, name: &'static str| {
        let b = &b;
        async move {
            b.post(
                &format!("/tickets/{id}/properties"),
                &[
                    (&format!("p.{name}") as &str, value),
                    (&format!("o.{name}"), ""),
                ],
            )
            .await
        }
    };
    // 14:05 in Rome on 7 Dec 2026 is 13:05 UTC; the day is midnight UTC (HubSpot's date).
    let r = save("2026-12-07T14:05", "follow_up_at").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = save("2026-12-07", "renewal").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let ticket = t.app.ticket(&Actor::system(), TicketId(id)).await.unwrap();
    assert_eq!(
        ticket.property("follow_up_at").as_deref(),
        Some("1796648700000")
    );
    assert_eq!(ticket.property("renewal").as_deref(), Some("1796601600000"));
    // Shown back in the agent's zone, in the browser's own inputs.
    let page = b.get(&format!("/helpdesk/tickets/{id}")).await;
    assert!(
        page.body.contains(
            "id=\"f-follow_up_at\" name=\"p.follow_up_at\" type=\"datetime-local\" placeholder=\"2026-12-31T09:30\" value=\"2026-12-07T14:05\""
        ),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("id=\"f-renewal\" name=\"p.renewal\" type=\"date\" value=\"2026-12-07\"")
    );
    // Another agent in UTC sees the same instant at 13:05, and the same day.
    let (_, bob) = agent(&t, "bob@example.com").await;
    t.app.set_own_time_zone(&bob, "UTC").await.unwrap();
    let bob = Browser::login(&base, "bob@example.com").await;
    let page = bob.get(&format!("/helpdesk/tickets/{id}")).await;
    assert!(page.body.contains("value=\"2026-12-07T13:05\""));
    assert!(page.body.contains("value=\"2026-12-07\""));
    // Something unreadable is refused at its field and kept as typed (a text input, so the
    // browser does not drop it); nothing is saved.
    let bad = save("next tuesday", "follow_up_at").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body.contains(
            "id=\"f-follow_up_at\" name=\"p.follow_up_at\" type=\"text\" placeholder=\"2026-12-31T09:30\" value=\"next tuesday\""
        ),
        "{}",
        bad.body
    );
    let reason = text_of(&bad.body, "f-follow_up_at-error").unwrap();
    assert!(reason.contains("Europe/Rome"), "{reason}");
    let bad_day = save("31/12/2026", "renewal").await;
    assert_eq!(bad_day.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text_of(&bad_day.body, "f-renewal-error").is_some());
    let ticket = t.app.ticket(&Actor::system(), TicketId(id)).await.unwrap();
    assert_eq!(
        ticket.property("follow_up_at").as_deref(),
        Some("1796648700000")
    );
    assert_eq!(ticket.property("renewal").as_deref(), Some("1796601600000"));
    // Cleared: an empty input removes the value.
    let cleared = b
        .post(
            &format!("/tickets/{id}/properties"),
            &[("p.renewal", ""), ("o.renewal", "2026-12-07")],
        )
        .await;
    assert_eq!(cleared.status, StatusCode::SEE_OTHER, "{}", cleared.body);
    let ticket = t.app.ticket(&Actor::system(), TicketId(id)).await.unwrap();
    assert_eq!(ticket.property("renewal"), None);
}

async fn merged_addresses(t: TestApp) {
    let (_, ann) = agent(&t, "ann@example.com").await;
    let base = serve(&t).await;
    let b = Browser::login(&base, "ann@example.com").await;
    let system = Actor::system();
    let new = |email: &str| NewContact {
        email: Some(email.into()),
        ..NewContact::default()
    };
    let primary = t
        .app
        .create_contact(&system, new("p@example.com"))
        .await
        .unwrap();
    let dup = t
        .app
        .create_contact(&system, new("d@example.com"))
        .await
        .unwrap();
    t.app
        .merge_contacts(&ann, primary.id, dup.id)
        .await
        .unwrap();
    let r = b.get(&format!("/contacts/{}", dup.id)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.location.as_deref(),
        Some(format!("/contacts/{}", primary.id).as_str())
    );
    assert!(
        r.headers
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("fd_flash=contact-merged;"))
    );
    let shown = b
        .get_with_cookie(
            &format!("/contacts/{}", primary.id),
            "fd_flash=contact-merged",
        )
        .await;
    assert!(
        shown.body.contains("was merged into this one"),
        "{}",
        shown.body
    );
    // An id that never existed is still "not found".
    assert_eq!(
        b.get("/contacts/999999").await.status,
        StatusCode::NOT_FOUND
    );

    let acme = t
        .app
        .create_company(&system, Some("Acme".into()), None)
        .await
        .unwrap();
    let old = t
        .app
        .create_company(&system, Some("ACME".into()), None)
        .await
        .unwrap();
    t.app.merge_companies(&ann, acme.id, old.id).await.unwrap();
    let r = b.get(&format!("/companies/{}", old.id)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.location.as_deref(),
        Some(format!("/companies/{}", acme.id).as_str())
    );
}

async fn api_merged_id(t: TestApp) {
    let api = Api::start(t).await;
    let system = Actor::system();
    let new = |email: &str| NewContact {
        email: Some(email.into()),
        ..NewContact::default()
    };
    let primary = api
        .t
        .app
        .create_contact(&system, new("p@example.com"))
        .await
        .unwrap();
    let dup = api
        .t
        .app
        .create_contact(&system, new("d@example.com"))
        .await
        .unwrap();
    api.t
        .app
        .merge_contacts(&system, primary.id, dup.id)
        .await
        .unwrap();
    let r = api
        .get(&format!("/crm/v3/objects/contacts/{}", dup.id))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["id"], primary.id.to_string());
    assert_eq!(r.body["properties"]["email"], "p@example.com");
    // Asked for archived records, the old id is the archived duplicate itself.
    let r = api
        .get(&format!(
            "/crm/v3/objects/contacts/{}?archived=true",
            dup.id
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["id"], dup.id.to_string());
    assert_eq!(api.get("/crm/v3/objects/contacts/999999").await.status, 404);
}
