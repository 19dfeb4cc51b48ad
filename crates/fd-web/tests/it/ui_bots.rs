//! Rule-based chat bots over HTTP (issue 14 item 4, HD-08): Settings → Chat bots (admins
//! only; a bad import is a 400 naming the reason and stores nothing; the step editor's form
//! round-trips; the export is a JSON download), and the widget's state carrying the bot's
//! quick replies, a quick reply sent as the visitor's message moving the bot on.

use fd_app::Actor;
use fd_app::domain::*;
use fd_testkit::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::ui_common::*;

fd_testkit::on_both_backends! {
    hd_08_bot_settings_import_edit_export_admins_only => settings;
    hd_08_widget_shows_the_bots_quick_replies_and_no_ticket => widget;
}

async fn setup(t: &TestApp) -> (TeamId, i64) {
    t.admin("ann@example.com").await;
    let team = t.team("Support").await;
    let ch = t
        .app
        .create_chat_channel(&Actor::system(), "Website", team, Workspace::HelpDesk)
        .await
        .unwrap()
        .id;
    (team, ch)
}

fn bot(team: TeamId) -> String {
    json!({
        "name": "Greeter",
        "steps": [
            {"id": "hello", "kind": "ask", "text": "Sales or support?",
             "options": [{"label": "Sales", "next": "sales"}, {"label": "Support", "next": "bye"}]},
            {"id": "sales", "kind": "hand_off", "team": team.0, "text": "Connecting you."},
            {"id": "bye", "kind": "end", "text": "Bye!"}
        ]
    })
    .to_string()
}

async fn settings(t: TestApp) {
    let (team, ch) = setup(&t).await;
    agent(&t, "bob@example.com").await;
    let base = serve(&t).await;
    let ann = Browser::login(&base, "ann@example.com").await;
    let page = ann.get("/settings/bots").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("No bot on this channel"));
    // A bad import: 400, the reason on the page, the JSON kept, nothing stored.
    let bad = bot(TeamId(999_999));
    let p = ann
        .post(
            "/settings/bots",
            &[("channel", &ch.to_string()), ("name", ""), ("json", &bad)],
        )
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(
        p.body.contains("team 999999, which does not exist"),
        "{}",
        p.body
    );
    assert!(p.body.contains("role=\"alert\""));
    let admin = t
        .app
        .actor_for(
            t.app
                .user_by_email("ann@example.com")
                .await
                .unwrap()
                .unwrap()
                .id,
        )
        .await
        .unwrap();
    assert!(t.app.bots(&admin, ch).await.unwrap().is_empty());
    // A good one: to its editor.
    let p = ann
        .post(
            "/settings/bots",
            &[
                ("channel", &ch.to_string()),
                ("name", ""),
                ("json", &bot(team)),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let id = id_in(&p.location);
    let editor = ann.get(&format!("/settings/bots/{id}")).await;
    assert!(
        editor.body.contains("Sales -&#62; sales"),
        "{}",
        editor.body
    );
    // The step form posted back as shown (plus a renamed bot) changes nothing else.
    let before = t.app.bot(&admin, id).await.unwrap();
    let step = |sid: &'static str,
                kind: &'static str,
                text: &'static str,
                choices: &'static str,
                team_id: String| {
        vec![
            ("step_id", sid.to_string()),
            ("step_kind", kind.to_string()),
            ("step_text", text.to_string()),
            ("step_next", String::new()),
            ("step_choices", choices.to_string()),
            ("step_else", String::new()),
            ("step_on", String::new()),
            ("step_team", team_id),
            ("step_subject", String::new()),
        ]
    };
    let mut fields = vec![("name", "Front door".to_string())];
    fields.extend(step(
        "hello",
        "ask",
        "Sales or support?",
        "Sales -> sales\nSupport -> bye",
        String::new(),
    ));
    fields.extend(step(
        "sales",
        "hand_off",
        "Connecting you.",
        "",
        team.to_string(),
    ));
    fields.extend(step("bye", "end", "Bye!", "", String::new()));
    fields.extend(step("", "message", "", "", String::new()));
    let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let p = ann.post(&format!("/settings/bots/{id}"), &refs).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let after = t.app.bot(&admin, id).await.unwrap();
    assert_eq!(after.name, "Front door");
    assert_eq!(after.definition, before.definition);
    // The export: a JSON download.
    let r = ann.get(&format!("/settings/bots/{id}/export")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let v: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["name"], "Front door");
    // Agents may not see or change bots.
    let bob = Browser::login(&base, "bob@example.com").await;
    assert_eq!(
        bob.get("/settings/bots").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        bob.get(&format!("/settings/bots/{id}/export")).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        bob.post(&format!("/settings/bots/{id}/enabled"), &[("enabled", "1")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert!(!t.app.bot(&admin, id).await.unwrap().enabled);
    let p = ann
        .post(&format!("/settings/bots/{id}/enabled"), &[("enabled", "1")])
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert!(t.app.bot(&admin, id).await.unwrap().enabled);
}

async fn widget(t: TestApp) {
    let (team, ch) = setup(&t).await;
    let admin = t
        .app
        .actor_for(
            t.app
                .user_by_email("ann@example.com")
                .await
                .unwrap()
                .unwrap()
                .id,
        )
        .await
        .unwrap();
    let b = t
        .app
        .import_bot(&admin, ch, None, &bot(team))
        .await
        .unwrap();
    t.app.set_bot_enabled(&admin, b.id, true).await.unwrap();
    let base = serve(&t).await;
    let http = reqwest::Client::new();
    let state: Value = http
        .get(format!("{base}/chat/{ch}/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Nobody is available, yet a bot answers: no address asked for.
    assert_eq!(
        (state["available"].clone(), state["bot"].clone()),
        (json!(false), json!(true))
    );
    let post = |body: Value| {
        let http = http.clone();
        let url = format!("{base}/chat/{ch}/messages");
        async move {
            let r = http
                .post(url)
                .header("content-type", "text/plain")
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::CREATED);
            r.json::<Value>().await.unwrap()
        }
    };
    let token = post(json!({"text": "Hello"})).await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let state: Value = http
        .get(format!("{base}/chat/{ch}/state?token={token}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["quickReplies"], json!(["Sales", "Support"]));
    let last = state["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (
            last["from"].as_str(),
            last["name"].as_str(),
            last["text"].as_str()
        ),
        (Some("agent"), Some("Greeter"), Some("Sales or support?"))
    );
    // A quick reply is the visitor's message with the label.
    post(json!({"token": token, "text": "Sales"})).await;
    let state: Value = http
        .get(format!("{base}/chat/{ch}/state?token={token}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["quickReplies"], json!([]));
    assert_eq!(state["bot"], false, "handed off: a live chat now");
    let texts: Vec<&str> = state["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        vec!["Hello", "Sales or support?", "Sales", "Connecting you."]
    );
    // HD-08: a help-desk channel, and still no ticket.
    let tickets = t
        .app
        .count_tickets(
            &Actor::system(),
            &fd_app::TicketListQuery {
                view: fd_app::TicketView::All,
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(tickets, 0);
}
