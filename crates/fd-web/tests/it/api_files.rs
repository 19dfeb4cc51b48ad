//! Files v3 and FILE attachments on sendMessage (issue 15, item 7): the multipart upload
//! answers 201 with HubSpot's file object, its `url` downloads the bytes with the same token,
//! another user's unsent upload is neither readable nor attachable (HD-09), a file over the
//! account's limit is 413 with the rule's words, and the sent message lists the file.

use fd_app::Actor;
use fd_app::domain::Workspace;
use fd_app::domain::outgoing::AttachmentLimits;
use fd_testkit::{TestApp, on_both_backends};
use serde_json::{Value, json};

use crate::api_common::Api;

on_both_backends! {
    item_7_files_api_upload_read_download_and_attach => files_api;
}

struct Sent {
    status: u16,
    body: Value,
}

/// A multipart upload as HubSpot's clients send it (`file`, `fileName`, `options`).
async fn upload(api: &Api, token: &str, name: &str, ct: &str, bytes: &[u8], options: &str) -> Sent {
    let b = "fdBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"upload.bin\"\r\nContent-Type: {ct}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(
        format!(
            "\r\n--{b}\r\nContent-Disposition: form-data; name=\"fileName\"\r\n\r\n{name}\r\n--{b}\r\nContent-Disposition: form-data; name=\"options\"\r\n\r\n{options}\r\n--{b}--\r\n"
        )
        .as_bytes(),
    );
    let res = api
        .http
        .post(format!("{}/files/v3/files", api.base))
        .bearer_auth(token)
        .header("content-type", format!("multipart/form-data; boundary={b}"))
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body: Value = serde_json::from_str(&res.text().await.unwrap()).unwrap();
    Sent { status, body }
}

async fn files_api(t: TestApp) {
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
    let (c, _) = api.email_thread("Need the invoice").await;
    let bytes: Vec<u8> = (0..=255u8).cycle().take(2000).collect();
    let r = upload(
        &api,
        &api.token,
        "Invoice 7.pdf",
        "application/pdf",
        &bytes,
        r#"{"access": "PRIVATE"}"#,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let f = &r.body;
    assert_eq!(f["name"], "Invoice 7");
    assert_eq!(f["extension"], "pdf");
    assert_eq!(f["type"], "DOCUMENT");
    assert_eq!(f["size"], 2000);
    assert_eq!(f["access"], "PRIVATE");
    assert_eq!(f["archived"], false);
    assert!(f["createdAt"].as_str().unwrap().ends_with('Z'));
    let id = f["id"].as_str().unwrap().to_string();
    let url = f["url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&api.base), "{url}");

    // GET returns the same object; the url downloads the bytes with the token.
    let g = api.get(&format!("/files/v3/files/{id}")).await;
    assert_eq!(g.status, 200);
    assert_eq!(g.body["id"], id.as_str());
    let dl = api
        .http
        .get(&url)
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(dl.status().as_u16(), 200);
    assert_eq!(dl.headers()["content-type"], "application/pdf");
    assert!(
        dl.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(dl.bytes().await.unwrap().to_vec(), bytes);
    assert_eq!(
        api.http.get(&url).send().await.unwrap().status().as_u16(),
        401
    );

    // HD-09: another agent can neither read nor attach it.
    api.t
        .agent(
            "bob@example.com",
            fd_app::domain::TicketAccessLevel::All,
            &[],
        )
        .await;
    let bob = api.token_for("bob@example.com").await;
    let r = api
        .send_as(
            Some(&bob),
            reqwest::Method::GET,
            &format!("/files/v3/files/{id}"),
            None,
        )
        .await;
    assert_eq!(r.status, 404);
    let dl = api.http.get(&url).bearer_auth(&bob).send().await.unwrap();
    assert_eq!(dl.status().as_u16(), 404);

    // Bad uploads: not multipart, no file, bad options.
    let r = api.post("/files/v3/files", json!({"file": "x"})).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = upload(
        &api,
        &api.token,
        "a.txt",
        "text/plain",
        b"x",
        r#"{"access": "EVERYONE"}"#,
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("options.access"),
        "{}",
        r.body
    );
    let r = upload(&api, &api.token, "empty.txt", "text/plain", b"", "{}").await;
    assert_eq!(r.status, 400);

    // Over the account's per-file limit: 413 with the rule's words.
    let admin = api.t.app.actor_for_token(&api.token).await.unwrap();
    api.t
        .app
        .set_attachment_limits(
            &admin,
            AttachmentLimits {
                max_file_bytes: 4096,
                max_message_bytes: 4096,
            },
        )
        .await
        .unwrap();
    let r = upload(
        &api,
        &api.token,
        "big.bin",
        "application/octet-stream",
        &[0u8; 5000],
        "{}",
    )
    .await;
    assert_eq!(r.status, 413, "{}", r.body);
    assert_eq!(r.body["category"], "PAYLOAD_TOO_LARGE");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("over the limit of 4 KiB per file"),
        "{}",
        r.body
    );

    // Sending a MESSAGE with the file: Bob may not, the owner may; the message lists it.
    let me = admin.user_id().unwrap();
    let bob_id = api
        .t
        .app
        .user_by_email("bob@example.com")
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
    let msg = |sender: String, file: &str| {
        json!({"type": "MESSAGE", "text": "The invoice is attached", "senderActorId": sender,
            "channelId": "1002", "channelAccountId": account,
            "recipients": [{"recipientField": "TO", "deliveryIdentifiers": [{"type": "HS_EMAIL_ADDRESS", "value": "need-the-invoice@customer.example"}]}],
            "attachments": [{"type": "FILE", "fileId": file}]})
    };
    let path = format!("/conversations/v3/conversations/threads/{}/messages", c.id);
    let r = api
        .send_as(
            Some(&bob),
            reqwest::Method::POST,
            &path,
            Some(msg(format!("A-{bob_id}"), &id)),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = api.post(&path, json!({"type": "COMMENT", "text": "x", "attachments": [{"type": "FILE", "fileId": id}]})).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = api.post(&path, msg(format!("A-{me}"), "abc")).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = api.post(&path, msg(format!("A-{me}"), &id)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["attachments"][0]["type"], "FILE");
    assert_eq!(r.body["attachments"][0]["name"], "Invoice 7.pdf");
    assert_eq!(r.body["attachments"][0]["size"], 2000);
    // Once sent, whoever sees the thread may read the file; it is not sent twice.
    let r = api
        .send_as(
            Some(&bob),
            reqwest::Method::GET,
            &format!("/files/v3/files/{id}"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = api.post(&path, msg(format!("A-{me}"), &id)).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body["message"].as_str().unwrap().contains("already sent"),
        "{}",
        r.body
    );
}
