//! Calls, notes and emails (HubSpot's engagement objects, HUBSPOT-API-2.md §4) over HTTP:
//! the objects v3 surface with its exact status codes, search, and associations to tickets
//! and contacts with HubSpot's type ids.

use fd_testkit::TestApp;
use serde_json::json;

use crate::api_common::{Api, ids};

async fn engagements_crud_batch_search(t: TestApp) {
    let api = Api::start(t).await;
    let ticket = api.ticket("Printer on fire", &[]).await;
    let contact = api
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "ada@example.com", "phone": "+1 415 555 0123"}}),
        )
        .await;
    assert_eq!(contact.status, 201);
    let cid = contact.body["id"].as_str().unwrap().to_string();

    // Create with inline associations in the engagement → record direction (220, 194).
    let call = api
        .post(
            "/crm/v3/objects/calls",
            json!({"properties": {"hs_timestamp": "2026-01-05T10:00:00Z", "hs_call_title": "Support call",
                "hs_call_body": "Caller says the printer smokes", "hs_call_direction": "INBOUND",
                "hs_call_status": "COMPLETED", "hs_call_duration": "65000",
                "hs_call_from_number": "+14155550123"},
                "associations": [
                    {"to": {"id": ticket}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 220}]},
                    {"to": {"id": cid}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 194}]}]}),
        )
        .await;
    assert_eq!(call.status, 201, "{}", call.body);
    let call_id = call.body["id"].as_str().unwrap().to_string();
    assert_eq!(call.body["properties"]["hs_call_status"], "COMPLETED");
    assert_eq!(
        call.body["properties"]["hs_timestamp"],
        "2026-01-05T10:00:00.000Z"
    );
    assert_eq!(call.body["properties"]["hs_object_id"], call_id);
    assert!(call.body["properties"]["hs_createdate"].is_string());
    assert_eq!(call.body["archived"], false);

    // hs_timestamp is required; enumerations are checked.
    let r = api
        .post(
            "/crm/v3/objects/calls",
            json!({"properties": {"hs_call_title": "No time"}}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.error_category(), "VALIDATION_ERROR");
    assert!(r.body["message"].as_str().unwrap().contains("hs_timestamp"));
    let r = api
        .post(
            "/crm/v3/objects/calls",
            json!({"properties": {"hs_timestamp": "1767607200000", "hs_call_status": "ON_FIRE"}}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = api
        .post(
            "/crm/v3/objects/calls",
            json!({"properties": {"hs_timestamp": "1767607200000", "no_such": "x"}}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);

    // Notes and emails, by HubSpot's object type ids too.
    let note = api
        .post(
            "/crm/v3/objects/0-46",
            json!({"properties": {"hs_timestamp": "1767607300000", "hs_note_body": "<p>Called back</p>"},
                "associations": [{"to": {"id": ticket}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 228}]}]}),
        )
        .await;
    assert_eq!(note.status, 201, "{}", note.body);
    let note_id = note.body["id"].as_str().unwrap().to_string();
    let email = api
        .post(
            "/crm/v3/objects/emails",
            json!({"properties": {"hs_timestamp": "1767607400000", "hs_email_direction": "EMAIL",
                "hs_email_status": "SENT", "hs_email_subject": "Your printer",
                "hs_email_text": "We are sending a technician",
                "hs_email_headers": "{\"from\":{\"email\":\"support@example.com\"},\"to\":[{\"email\":\"ada@example.com\"}]}"},
                "associations": [{"to": {"id": ticket}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 224}]}]}),
        )
        .await;
    assert_eq!(email.status, 201, "{}", email.body);
    let email_id = email.body["id"].as_str().unwrap().to_string();

    // Read, with associations in both directions and HubSpot's type ids.
    let r = api
        .get(&format!(
            "/crm/v3/objects/calls/{call_id}?properties=hs_call_title,hs_call_duration&associations=tickets,contacts"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["properties"]["hs_call_title"], "Support call");
    assert_eq!(r.body["properties"]["hs_call_duration"], "65000");
    assert_eq!(
        r.body["associations"]["tickets"]["results"][0]["id"],
        ticket
    );
    assert_eq!(
        r.body["associations"]["tickets"]["results"][0]["type"],
        "call_to_ticket"
    );
    assert_eq!(r.body["associations"]["contacts"]["results"][0]["id"], cid);
    let r = api
        .get(&format!(
            "/crm/v4/objects/tickets/{ticket}/associations/calls"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["results"][0]["toObjectId"].to_string(), call_id);
    assert_eq!(r.body["results"][0]["associationTypes"][0]["typeId"], 219);
    let r = api
        .get(&format!(
            "/crm/v4/objects/contacts/{cid}/associations/calls"
        ))
        .await;
    assert_eq!(r.body["results"][0]["associationTypes"][0]["typeId"], 193);
    let r = api
        .get(&format!(
            "/crm/v3/objects/notes/{note_id}?associations=tickets"
        ))
        .await;
    assert_eq!(
        r.body["associations"]["tickets"]["results"][0]["type"],
        "note_to_ticket"
    );
    // A call id is not a note.
    let r = api.get(&format!("/crm/v3/objects/notes/{call_id}")).await;
    assert_eq!(r.status, 404, "{}", r.body);

    // Associating afterwards through v4's default association.
    let later = api
        .post(
            "/crm/v3/objects/calls",
            json!({"properties": {"hs_timestamp": "1767600000000", "hs_call_status": "MISSED", "hs_call_title": "Missed one"}}),
        )
        .await;
    let later_id = later.body["id"].as_str().unwrap().to_string();
    let r = api
        .put(
            &format!("/crm/v4/objects/calls/{later_id}/associations/default/tickets/{ticket}"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Update (200) and a cleared timestamp refused.
    let r = api
        .patch(
            &format!("/crm/v3/objects/calls/{call_id}"),
            json!({"properties": {"hs_call_body": "Technician booked"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["properties"]["hs_call_body"], "Technician booked");
    let r = api
        .patch(
            &format!("/crm/v3/objects/calls/{call_id}"),
            json!({"properties": {"hs_timestamp": ""}}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);

    // List with paging: only calls, in id order.
    let r = api.get("/crm/v3/objects/calls?limit=1").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(ids(&r.body), vec![call_id.clone()]);
    let after = r.body["paging"]["next"]["after"]
        .as_str()
        .unwrap()
        .to_string();
    let r = api
        .get(&format!("/crm/v3/objects/calls?limit=10&after={after}"))
        .await;
    assert_eq!(ids(&r.body), vec![later_id.clone()]);
    assert!(r.body.get("paging").is_none());

    // Search: by association, by enumeration, by text, sorted by the timeline's time.
    let r = api
        .post(
            "/crm/v3/objects/calls/search",
            json!({"filterGroups": [{"filters": [{"propertyName": "associations.ticket", "operator": "EQ", "value": ticket}]}],
                "sorts": [{"propertyName": "hs_timestamp", "direction": "DESCENDING"}],
                "properties": ["hs_call_title"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["total"], 2);
    assert_eq!(ids(&r.body), vec![call_id.clone(), later_id.clone()]);
    let r = api
        .post(
            "/crm/v3/objects/calls/search",
            json!({"filterGroups": [{"filters": [{"propertyName": "hs_call_status", "operator": "EQ", "value": "MISSED"}]}]}),
        )
        .await;
    assert_eq!(ids(&r.body), vec![later_id.clone()]);
    let r = api
        .post(
            "/crm/v3/objects/calls/search",
            json!({"query": "technician"}),
        )
        .await;
    assert_eq!(ids(&r.body), vec![call_id.clone()]);
    let r = api
        .post(
            "/crm/v3/objects/emails/search",
            json!({"filterGroups": [{"filters": [{"propertyName": "hs_timestamp", "operator": "GTE", "value": "1767607400000"}]}]}),
        )
        .await;
    assert_eq!(ids(&r.body), vec![email_id.clone()]);

    // Batch: create 201, read 200 (207 with a missing id), update 200, archive 204.
    let r = api
        .post(
            "/crm/v3/objects/notes/batch/create",
            json!({"inputs": [
                {"properties": {"hs_timestamp": "1767607500000", "hs_note_body": "one"}},
                {"properties": {"hs_timestamp": "1767607600000", "hs_note_body": "two"}}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let made = ids(&r.body);
    assert_eq!(made.len(), 2);
    let r = api
        .post(
            "/crm/v3/objects/notes/batch/read",
            json!({"inputs": [{"id": made[0]}, {"id": made[1]}], "properties": ["hs_note_body"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = api
        .post(
            "/crm/v3/objects/notes/batch/read",
            json!({"inputs": [{"id": made[0]}, {"id": "999999"}]}),
        )
        .await;
    assert_eq!(r.status, 207, "{}", r.body);
    let r = api
        .post(
            "/crm/v3/objects/notes/batch/update",
            json!({"inputs": [{"id": made[0], "properties": {"hs_note_body": "uno"}}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["results"][0]["properties"]["hs_note_body"], "uno");
    let r = api
        .post(
            "/crm/v3/objects/notes/batch/archive",
            json!({"inputs": [{"id": made[0]}, {"id": made[1]}]}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);

    // Archive: 204, then gone from reads; archived=true finds it.
    let r = api
        .delete(&format!("/crm/v3/objects/calls/{later_id}"))
        .await;
    assert_eq!(r.status, 204);
    let r = api.get(&format!("/crm/v3/objects/calls/{later_id}")).await;
    assert_eq!(r.status, 404);
    let r = api
        .get(&format!("/crm/v3/objects/calls/{later_id}?archived=true"))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["archived"], true);
    let r = api
        .delete(&format!("/crm/v3/objects/calls/{later_id}"))
        .await;
    assert_eq!(r.status, 404);

    // The properties API describes them.
    let r = api.get("/crm/v3/properties/calls/hs_call_status").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["type"], "enumeration");

    // The ticket's timeline lists the live ones, newest first.
    let admin = fd_app::Actor::system();
    let tl = api
        .t
        .app
        .timeline_engagements(
            &admin,
            fd_app::AssociationEnd::new(
                fd_app::domain::ObjectType::Ticket,
                ticket.parse().unwrap(),
            ),
        )
        .await
        .unwrap();
    let tl_ids: Vec<String> = tl.iter().map(|r| r.id.to_string()).collect();
    assert_eq!(tl_ids, vec![email_id, note_id, call_id]);
}

async fn post_signed(api: &Api, body: &str, ts: &str, sig: &str) -> (u16, serde_json::Value) {
    let res = api
        .http
        .post(format!("{}/calling/v1/events", api.base))
        .header("content-type", "application/json")
        .header("x-frontdesk-timestamp", ts)
        .header("x-frontdesk-signature", sig)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn calling_webhook_channels_and_assignee(t: TestApp) {
    let api = Api::start(t).await;
    let system = fd_app::Actor::system();
    let team = api.t.team("Phones").await;
    // Before anything is connected, no channel exists.
    let r = api.get("/conversations/v3/conversations/channels").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["total"], 0, "{}", r.body);
    let ch = api
        .t
        .app
        .connect_calling(
            &system,
            "+14155550100",
            &team.to_string(),
            fd_app::domain::Workspace::HelpDesk,
        )
        .await
        .unwrap();
    let r = api.get("/conversations/v3/conversations/channels").await;
    assert_eq!(
        r.body["results"],
        json!([{"id": "1005", "name": "Calling"}])
    );
    let r = api
        .get("/conversations/v3/conversations/channels/1000")
        .await;
    assert_eq!(r.status, 404, "no chat is connected: {}", r.body);
    let r = api
        .get("/conversations/v3/conversations/channel-accounts")
        .await;
    assert_eq!(r.body["total"], 1, "{}", r.body);
    let account = r.body["results"][0].clone();
    assert_eq!(account["channelId"], "1005");
    assert_eq!(account["inboxId"], "2");
    assert_eq!(account["deliveryIdentifier"]["type"], "HS_PHONE_NUMBER");
    assert_eq!(account["deliveryIdentifier"]["value"], "+14155550100");

    // The webhook: unsigned 401, signed 200, replay ignored, stale 401, junk 400.
    let body = r#"{"eventId":"e1","callId":"c1","type":"ringing","from":"+442079460000","to":"+14155550100"}"#;
    let now = api.t.app.now();
    let ts = now.to_string();
    let sig = fd_app::call_event_signature(&ch.secret, &ts, body.as_bytes());
    let res = api
        .http
        .post(format!("{}/calling/v1/events", api.base))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    let (status, wrong) = post_signed(&api, body, &ts, "00ff").await;
    assert_eq!(status, 401, "{wrong}");
    assert_eq!(wrong["category"], "INVALID_AUTHENTICATION");
    assert!(wrong["message"].as_str().unwrap().contains("signature"));
    let (status, ok) = post_signed(&api, body, &ts, &sig).await;
    assert_eq!(status, 200, "{ok}");
    assert_eq!(ok["status"], "applied");
    let thread_id = ok["conversationId"].as_str().unwrap().to_string();
    let ticket_id = ok["ticketId"].as_str().unwrap().to_string();
    let call_id = ok["callId"].as_str().unwrap().to_string();
    let (status, again) = post_signed(&api, body, &ts, &sig).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["status"], "ignored");
    let old = (now - 3_600_000).to_string();
    let old_sig = fd_app::call_event_signature(&ch.secret, &old, body.as_bytes());
    let (status, stale) = post_signed(&api, body, &old, &old_sig).await;
    assert_eq!(status, 401, "{stale}");
    assert!(stale["message"].as_str().unwrap().contains("stale"));
    let (status, junk) = post_signed(&api, "{}", &ts, &sig).await;
    assert_eq!(status, 400, "{junk}");

    // The call is an engagement on the ticket; the thread is a CALL thread on its account.
    let r = api
        .get(&format!("/crm/v3/objects/calls/{call_id}?properties=hs_call_status,hs_call_from_number&associations=tickets"))
        .await;
    assert_eq!(r.body["properties"]["hs_call_status"], "RINGING");
    assert_eq!(
        r.body["associations"]["tickets"]["results"][0]["id"],
        ticket_id
    );
    let r = api
        .get(&format!(
            "/conversations/v3/conversations/threads/{thread_id}"
        ))
        .await;
    assert_eq!(r.body["originalChannelId"], "1005", "{}", r.body);
    assert_eq!(r.body["originalChannelAccountId"], account["id"]);

    // Thread assignee at both prefixes: PUT → 200 thread, DELETE → 204.
    let (ann, _) = api
        .t
        .agent(
            "ann@example.com",
            fd_app::domain::TicketAccessLevel::All,
            &[],
        )
        .await;
    let r = api
        .put(
            &format!("/conversations/conversations/v3/threads/{thread_id}/assignee"),
            Some(json!({"actorId": format!("A-{}", ann.id)})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["assignedTo"], format!("A-{}", ann.id));
    assert_eq!(r.body["id"], thread_id);
    let r = api
        .get(&format!(
            "/crm/v3/objects/tickets/{ticket_id}?properties=hubspot_owner_id"
        ))
        .await;
    assert_eq!(r.body["properties"]["hubspot_owner_id"], ann.id.to_string());
    let r = api
        .delete(&format!(
            "/conversations/v3/conversations/threads/{thread_id}/assignee"
        ))
        .await;
    assert_eq!(r.status, 204);
    let r = api
        .get(&format!(
            "/conversations/v3/conversations/threads/{thread_id}"
        ))
        .await;
    assert!(
        r.body.get("assignedTo").is_none_or(|v| v.is_null()),
        "{}",
        r.body
    );
    let r = api
        .put(
            &format!("/conversations/v3/conversations/threads/{thread_id}/assignee"),
            Some(json!({"actorId": "V-12"})),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = api
        .put(
            "/conversations/conversations/v3/threads/999999/assignee",
            Some(json!({"actorId": format!("A-{}", ann.id)})),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
}

fd_testkit::on_both_backends! {
    engagements_objects_batch_search_and_associations => engagements_crud_batch_search;
    calling_webhook_channels_and_thread_assignee => calling_webhook_channels_and_assignee;
}
