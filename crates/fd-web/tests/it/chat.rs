//! Live chat over HTTP (issue 14, item 3): the widget's script and its cross-origin endpoints
//! (CORS, no cookies, a visitor token), the live stream carrying an agent's reply sent through
//! the conversations API (HD-15), visitor identification tokens (HubSpot's API), the chat
//! settings page and the availability toggle.

use fd_app::Actor;
use fd_app::domain::*;
use fd_testkit::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::api_common::Api;
use crate::ui_common::*;

fd_testkit::on_both_backends! {
    chat_widget_endpoints_answer_any_origin_without_cookies => widget_endpoints;
    hd_15_api_reply_on_a_chat_thread_reaches_the_widget_stream => api_reply_live;
    visitor_identification_token_from_the_api_identifies_the_chat => identification;
    chat_settings_page_and_availability_toggle => settings;
    new_chats_are_rationed_per_client_address => rationed;
}

/// A team with an available admin agent and a help-desk chat channel; returns its id.
async fn channel(t: &TestApp, admin_email: &str) -> i64 {
    let team = t.team("Support").await;
    let u = t.app.user_by_email(admin_email).await.unwrap().unwrap();
    t.app
        .set_team_membership(&Actor::system(), team, u.id, true)
        .await
        .unwrap();
    let actor = t.app.actor_for(u.id).await.unwrap();
    t.app.set_availability(&actor, true).await.unwrap();
    t.app
        .create_chat_channel(&Actor::system(), "Website", team, Workspace::HelpDesk)
        .await
        .unwrap()
        .id
}

/// A post as the widget sends it: JSON as `text/plain` (no preflight), from another origin.
async fn widget_post(base: &str, path: &str, body: Value) -> (StatusCode, Value, Option<String>) {
    let r = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header("content-type", "text/plain;charset=UTF-8")
        .header("origin", "http://shop.example")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status();
    let acao = r
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_string());
    let text = r.text().await.unwrap();
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    (status, v, acao)
}

async fn widget_endpoints(t: TestApp) {
    t.admin("ann@example.com").await;
    let ch = channel(&t, "ann@example.com").await;
    let base = serve(&t).await;
    let http = reqwest::Client::new();
    // The script: JavaScript, cacheable, readable from any origin, and small.
    let r = http
        .get(format!("{base}/chat/widget.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let js = r.text().await.unwrap();
    assert!(js.contains("data-frontdesk-chat") && js.len() < 16 * 1024);
    // A preflight is answered.
    let r = http
        .request(
            reqwest::Method::OPTIONS,
            format!("{base}/chat/{ch}/messages"),
        )
        .header("origin", "http://shop.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert!(
        r.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    // A first message: a token, no cookie.
    let r = http
        .post(format!("{base}/chat/{ch}/messages"))
        .header("content-type", "text/plain")
        .body(json!({"text": "Hello from the shop"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(r.headers().get("set-cookie").is_none(), "no cookies");
    let token = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, _, acao) = widget_post(
        &base,
        &format!("/chat/{ch}/messages"),
        json!({"token": token, "text": "Second"}),
    )
    .await;
    assert_eq!((s, acao.as_deref()), (StatusCode::CREATED, Some("*")));
    let r = http
        .get(format!("{base}/chat/{ch}/state?token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let state: Value = r.json().await.unwrap();
    let texts: Vec<&str> = state["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, vec!["Hello from the shop", "Second"]);
    assert_eq!(state["available"], true);
    assert_eq!(state["started"], true);
    // Without the token, nothing of it.
    let fresh: Value = http
        .get(format!("{base}/chat/{ch}/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fresh["messages"], json!([]));
    // Bad input: clear errors, still readable cross-origin.
    let (s, body, acao) = widget_post(
        &base,
        &format!("/chat/{ch}/messages"),
        json!({"token": token, "text": " "}),
    )
    .await;
    assert_eq!((s, acao.as_deref()), (StatusCode::BAD_REQUEST, Some("*")));
    assert_eq!(body["field"], "text");
    let (s, _, acao) = widget_post(
        &base,
        &format!("/chat/{ch}/messages"),
        json!({"token": "fdv_forged", "text": "hi"}),
    )
    .await;
    assert_eq!((s, acao.as_deref()), (StatusCode::NOT_FOUND, Some("*")));
    let (s, _, _) = widget_post(&base, "/chat/999/messages", json!({"text": "hi"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let r = http
        .post(format!("{base}/chat/{ch}/messages"))
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let (s, _, _) = widget_post(&base, "/chat/01/messages", json!({"text": "hi"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "ids are written one way");
}

/// Reads the event stream until an event's data contains `needle`.
async fn read_until(r: &mut reqwest::Response, buf: &mut String, needle: &str) {
    while !buf.contains(needle) {
        let chunk = r.chunk().await.unwrap().expect("the stream ended");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

async fn api_reply_live(t: TestApp) {
    let api = Api::start(t).await;
    let ch = channel(&api.t, "admin@example.com").await;
    let (_, sent, _) = widget_post(
        &api.base,
        &format!("/chat/{ch}/messages"),
        json!({"text": "Is anyone there?"}),
    )
    .await;
    let token = sent["token"].as_str().unwrap().to_string();
    let mut stream = reqwest::Client::new()
        .get(format!("{}/chat/{ch}/events?token={token}", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert_eq!(stream.headers()["access-control-allow-origin"], "*");
    let mut buf = String::new();
    read_until(&mut stream, &mut buf, "Is anyone there?").await;
    assert!(buf.contains("event: state"));
    // The agent answers through HubSpot's conversations API: the widget's stream carries it.
    let thread = api
        .t
        .app
        .chat_view(ch, Some(&token))
        .await
        .unwrap()
        .conversation
        .unwrap();
    let me = api
        .t
        .app
        .user_by_email("admin@example.com")
        .await
        .unwrap()
        .unwrap()
        .id;
    let r = api
        .post(
            &format!("/conversations/v3/conversations/threads/{thread}/messages"),
            // The chat channel's account (`CHAT_ACCOUNT_BASE` + its id), as channel accounts list it.
            json!({"type": "MESSAGE", "text": "Yes, Ann here.", "senderActorId": format!("A-{me}"),
                   "channelId": "1000", "channelAccountId": (fd_app::CHAT_ACCOUNT_BASE + ch).to_string(),
                   "recipients": []}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    read_until(&mut stream, &mut buf, "Yes, Ann here.").await;
    // A stream needs a visitor's token.
    let r = reqwest::get(format!("{}/chat/{ch}/events", api.base))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = reqwest::get(format!("{}/chat/{ch}/events?token=fdv_forged", api.base))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

async fn identification(t: TestApp) {
    let api = Api::start(t).await;
    let ch = channel(&api.t, "admin@example.com").await;
    let path = "/visitor-identification/v3/tokens/create";
    let r = api
        .post(
            path,
            json!({"email": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = r.body["token"].as_str().unwrap().to_string();
    // No bearer token, or no address: refused.
    let r = api
        .send_as(
            None,
            reqwest::Method::POST,
            path,
            Some(json!({"email": "ada@example.com"})),
        )
        .await;
    assert_eq!(r.status, 401);
    let r = api.post(path, json!({})).await;
    assert_eq!(r.status, 400, "{}", r.body);
    // The page passes it to the widget (hsConversationsSettings): the chat is Ada's.
    let (s, sent, _) = widget_post(
        &api.base,
        &format!("/chat/{ch}/messages"),
        json!({"text": "Hi, Ada here", "identificationEmail": "ada@example.com", "identificationToken": token}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{sent}");
    let c = api
        .t
        .app
        .chat_view(ch, sent["token"].as_str())
        .await
        .unwrap()
        .conversation
        .unwrap();
    let c = api.t.app.conversation(&Actor::system(), c).await.unwrap();
    let k = api.t.app.contact(c.contact_id.unwrap()).await.unwrap();
    assert_eq!(k.email.as_deref(), Some("ada@example.com"));
    let (s, body, _) = widget_post(
        &api.base,
        &format!("/chat/{ch}/messages"),
        json!({"text": "Hi", "identificationEmail": "eve@example.com", "identificationToken": token}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(body["field"], "identificationToken");
}

async fn settings(t: TestApp) {
    t.admin("ann@example.com").await;
    let team = t.team("Support").await;
    agent(&t, "bob@example.com").await;
    let base = serve(&t).await;
    let ann = Browser::login(&base, "ann@example.com").await;
    let p = ann
        .post(
            "/settings/chat",
            &[
                ("name", "Website"),
                ("team", &team.to_string()),
                ("workspace", "inbox"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let ch = t.app.chat_channels().await.unwrap();
    assert_eq!(ch.len(), 1);
    assert_eq!(ch[0].workspace, Workspace::Inbox);
    let page = ann.get("/settings/chat").await;
    assert!(
        page.body.contains(&format!(
            "/chat/widget.js&#34; data-frontdesk-chat=&#34;{}&#34;",
            ch[0].id
        )),
        "{}",
        page.body
    );
    let bad = ann
        .post("/settings/chat", &[("name", "X"), ("team", "01")])
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // Agents may not manage channels, but each sets their own availability.
    let bob = Browser::login(&base, "bob@example.com").await;
    assert_eq!(
        bob.get("/settings/chat").await.status,
        StatusCode::FORBIDDEN
    );
    let bob_id = t
        .app
        .user_by_email("bob@example.com")
        .await
        .unwrap()
        .unwrap()
        .id;
    assert!(
        !t.app.availability(bob_id).await.unwrap(),
        "away until chosen"
    );
    let page = bob.get("/inbox").await;
    assert!(page.body.contains("aria-pressed=\"false\""));
    let p = bob
        .post("/availability", &[("available", "1"), ("back", "/inbox")])
        .await;
    assert_eq!(p.location.as_deref(), Some("/inbox"));
    assert!(t.app.availability(bob_id).await.unwrap());
    assert!(
        bob.get("/inbox")
            .await
            .body
            .contains("aria-pressed=\"true\"")
    );
    // Only a path on this site is a way back.
    let p = bob
        .post(
            "/availability",
            &[("available", "0"), ("back", "//evil.example/")],
        )
        .await;
    assert_eq!(p.location.as_deref(), Some("/"));
    assert!(!t.app.availability(bob_id).await.unwrap());
    // The CLI road shares the use case: archiving stops the widget.
    t.app
        .archive_chat_channel(&Actor::system(), ch[0].id)
        .await
        .unwrap();
    let (s, _, _) = widget_post(
        &base,
        &format!("/chat/{}/messages", ch[0].id),
        json!({"text": "hi"}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn rationed(t: TestApp) {
    t.admin("ann@example.com").await;
    let ch = channel(&t, "ann@example.com").await;
    let base = serve_with_peers(&t).await;
    let path = format!("/chat/{ch}/messages");
    let mut first = None;
    for i in 0..fd_app::domain::chat::CHAT_STARTS_BURST {
        let (s, body, _) = widget_post(&base, &path, json!({"text": format!("chat {i}")})).await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        first.get_or_insert(body["token"].as_str().unwrap().to_string());
    }
    let r = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .body(json!({"text": "one too many"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert_eq!(r.headers()["retry-after"], "60");
    assert!(r.text().await.unwrap().contains("Too many new chats"));
    // A visitor already chatting goes on.
    let (s, _, _) = widget_post(
        &base,
        &path,
        json!({"token": first.unwrap(), "text": "still here"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    // Time refills the budget (the injected clock).
    t.clock
        .advance_ms(fd_app::domain::chat::CHAT_START_REFILL_MS);
    let (s, _, _) = widget_post(&base, &path, json!({"text": "a minute later"})).await;
    assert_eq!(s, StatusCode::CREATED);
}
