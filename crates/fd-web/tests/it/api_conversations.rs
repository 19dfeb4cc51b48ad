//! Conversations v3 over HTTP: inboxes, channels, channel accounts, threads and their
//! filters, messages (list, get, send MESSAGE and COMMENT) and actors.

use fd_app::Actor;
use fd_app::domain::Workspace;
use fd_testkit::TestApp;
use serde_json::json;

use crate::api_common::{Api, ids};

const BASE: &str = "/conversations/v3/conversations";

async fn conversations(t: TestApp) {
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
    let (c, ticket) = api.email_thread("Lost password").await;
    let (c2, _) = api.email_thread("Invoice copy").await;

    let r = api.get(&format!("{BASE}/inboxes")).await;
    assert_eq!(r.body["total"], 2);
    assert_eq!(r.body["results"][1]["type"], "HELP_DESK");
    // Only channels something is connected to (issue 14): here the team's address.
    let r = api.get(&format!("{BASE}/channels")).await;
    assert_eq!(
        r.body["results"],
        serde_json::json!([{"id": "1002", "name": "Email"}])
    );
    let r = api
        .get(&format!("{BASE}/channel-accounts?channelId=1002"))
        .await;
    let account = &r.body["results"][0];
    assert_eq!(
        account["deliveryIdentifier"]["value"],
        "support@frontdesk.example"
    );
    let account_id = account["id"].as_str().unwrap().to_string();
    assert_eq!(
        api.get(&format!("{BASE}/channel-accounts/{account_id}"))
            .await
            .status,
        200
    );

    // Threads: list with filters, get with association=TICKET.
    let r = api
        .get(&format!(
            "{BASE}/threads?association=TICKET&threadStatus=OPEN&inboxId=2"
        ))
        .await;
    assert_eq!(ids(&r.body), vec![c.id.to_string(), c2.id.to_string()]);
    assert_eq!(
        r.body["results"][0]["threadAssociations"]["associatedTicketId"],
        ticket.id.to_string()
    );
    assert_eq!(r.body["results"][0]["originalChannelId"], "1002");
    assert_eq!(r.body["results"][0]["originalChannelAccountId"], account_id);
    let contact = c.contact_id.unwrap();
    let r = api
        .get(&format!(
            "{BASE}/threads?associatedContactId={contact}&threadStatus=OPEN"
        ))
        .await;
    assert_eq!(ids(&r.body), vec![c.id.to_string()]);
    let r = api
        .get(&format!(
            "{BASE}/threads?limit=1&sort=-latestMessageTimestamp"
        ))
        .await;
    assert_eq!(r.body["results"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["paging"]["next"]["after"], "1");
    let r = api.get(&format!("{BASE}/threads?inboxId=1")).await;
    assert!(ids(&r.body).is_empty());
    let r = api.get(&format!("{BASE}/threads/{}", c.id)).await;
    assert!(r.body.get("threadAssociations").is_none());
    assert_eq!(r.body["associatedContactId"], contact.to_string());

    // Send a MESSAGE as the token's agent, and a COMMENT.
    let me = api
        .t
        .app
        .user_by_email("admin@example.com")
        .await
        .unwrap()
        .unwrap()
        .id;
    let r = api
        .post(&format!("{BASE}/threads/{}/messages", c.id), json!({
            "type": "MESSAGE", "text": "Here is a reset link", "richText": "<p>Here is a reset link</p>",
            "senderActorId": format!("A-{me}"), "channelId": "1002", "channelAccountId": account_id,
            "recipients": [{"recipientField": "TO", "deliveryIdentifiers": [{"type": "HS_EMAIL_ADDRESS", "value": "lost-password@customer.example"}]}]}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["direction"], "OUTGOING");
    assert_eq!(r.body["createdBy"], format!("A-{me}"));
    assert_eq!(
        r.body["recipients"][0]["deliveryIdentifier"]["value"],
        "lost-password@customer.example"
    );
    assert_eq!(
        r.body["senders"][0]["deliveryIdentifier"]["value"],
        "support@frontdesk.example"
    );
    let mid = r.body["id"].as_str().unwrap().to_string();
    let r = api
        .post(
            &format!("{BASE}/threads/{}/messages", c.id),
            json!({"type": "COMMENT", "text": "Customer is a VIP"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["type"], "COMMENT");
    let comment_id = r.body["id"].as_str().unwrap().to_string();
    // Sending as somebody else, or to an agent, is refused.
    let r = api
        .post(&format!("{BASE}/threads/{}/messages", c.id), json!({"type": "MESSAGE", "text": "x",
            "senderActorId": "A-999", "channelId": "1002", "channelAccountId": account_id, "recipients": []}))
        .await;
    assert_eq!(r.status, 400);
    // Messages: newest first by default, oldest first on request; get one; original content.
    let r = api.get(&format!("{BASE}/threads/{}/messages", c.id)).await;
    let kinds: Vec<&str> = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["COMMENT", "MESSAGE", "MESSAGE"]);
    let r = api
        .get(&format!("{BASE}/threads/{}/messages?sort=createdAt", c.id))
        .await;
    assert_eq!(r.body["results"][0]["direction"], "INCOMING");
    assert_eq!(r.body["results"][0]["createdBy"], format!("V-{contact}"));
    let r = api
        .get(&format!("{BASE}/threads/{}/messages/{mid}", c.id))
        .await;
    assert_eq!(r.body["text"], "Here is a reset link");
    let r = api
        .get(&format!("{BASE}/threads/{}/messages/{comment_id}", c.id))
        .await;
    assert_eq!(r.body["text"], "Customer is a VIP");
    let r = api
        .get(&format!(
            "{BASE}/threads/{}/messages/{mid}/original-content",
            c.id
        ))
        .await;
    assert_eq!(r.body["richText"], "<p>Here is a reset link</p>");

    // Actors.
    let r = api.get(&format!("{BASE}/actors/A-{me}")).await;
    assert_eq!(r.body["type"], "AGENT");
    assert_eq!(r.body["email"], "admin@example.com");
    let r = api
        .post(
            &format!("{BASE}/actors/batch/read"),
            json!({"inputs": [format!("A-{me}"), format!("V-{contact}"), "V-999999"]}),
        )
        .await;
    assert_eq!(r.status, 207);
    assert_eq!(r.body["results"][1]["type"], "VISITOR");
    assert_eq!(
        r.body["results"][1]["email"],
        "lost-password@customer.example"
    );
    assert_eq!(api.get(&format!("{BASE}/actors/X-1")).await.status, 404);

    // Status changes are refused while archived.
    assert_eq!(
        api.delete(&format!("{BASE}/threads/{}", c2.id))
            .await
            .status,
        204
    );
    let r = api
        .patch(
            &format!("{BASE}/threads/{}", c2.id),
            json!({"status": "CLOSED"}),
        )
        .await;
    assert_eq!(r.status, 400);
}

fd_testkit::on_both_backends! {
    conversations_api_reads_sends_and_comments => conversations;
}
