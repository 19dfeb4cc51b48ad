//! HD-15 in the UI (issue 14, item 6): the reply editor says when a channel cannot deliver a
//! reply, and the refused post shows why and stores nothing as sent.

use fd_app::domain::*;
use fd_app::{Actor, InboundMessage};
use fd_testkit::TestApp;

use crate::ui_common::*;

/// A bot's conversation no chat window holds (made through the API): an agent's reply would
/// take it over from the bot, but there is no visitor to answer, so the post is refused.
async fn chat_reply_is_refused_with_its_reason(t: TestApp) {
    agent(&t, "ann@example.com").await;
    let (c, _) = t
        .app
        .create_conversation(
            &Actor::system(),
            fd_app::NewConversation {
                channel: Channel::Bot,
                channel_account: None,
                workspace: Workspace::Inbox,
                team: None,
                owner: None,
                contact: None,
                visitor_name: Some("Eve".into()),
                visitor_email: None,
                subject: Some("Where is my order".into()),
                ticket: fd_app::TicketCreation::None,
            },
            Some(InboundMessage {
                sender_name: Some("Eve".into()),
                text: "Is my order shipped?".into(),
                ..InboundMessage::default()
            }),
        )
        .await
        .unwrap();
    let base = serve(&t).await;
    let a = Browser::login(&base, "ann@example.com").await;
    let page = a.get(&format!("/inbox/conversations/{}", c.id)).await;
    assert!(page.body.contains("Is my order shipped?"), "{}", page.body);
    let r = a
        .post(
            &format!("/conversations/{}/reply", c.id),
            &[
                ("body", "It ships tomorrow"),
                ("surface", "inbox"),
                ("back", &format!("/inbox/conversations/{}", c.id)),
            ],
        )
        .await;
    assert!(
        r.body
            .contains("this bot conversation has no chat window to answer in"),
        "{}",
        r.body
    );
    let messages = t.app.messages(&Actor::system(), c.id).await.unwrap();
    assert_eq!(messages.len(), 1, "the refused reply was not stored");
}

/// Settings → Calling without script: an admin connects a number and sees its secret once,
/// a bad number comes back at its field with what was typed, rotation shows a new secret,
/// disconnecting removes it; agents may not open the page.
async fn calling_settings_page(t: TestApp) {
    t.admin("boss@example.com").await;
    agent(&t, "ann@example.com").await;
    let team = t.team("Phones").await;
    let base = serve(&t).await;
    let boss = Browser::login(&base, "boss@example.com").await;
    let page = boss.get("/settings/calling").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("No number is connected yet."),
        "{}",
        page.body
    );
    assert!(page.body.contains("/calling/v1/events"));

    let refused = boss
        .post(
            "/settings/calling",
            &[
                ("number", "415 555 0100"),
                ("team", &team.to_string()),
                ("workspace", "inbox"),
            ],
        )
        .await;
    assert_eq!(refused.status, 400);
    assert!(
        refused.body.contains("id=\"calling-number-error\""),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("value=\"415 555 0100\""));
    assert!(refused.body.contains("<option value=\"inbox\" selected>"));
    assert!(t.app.calling_channels().await.unwrap().is_empty());

    let done = boss
        .post(
            "/settings/calling",
            &[
                ("number", "+1 415 555 0100"),
                ("team", &team.to_string()),
                ("workspace", "help_desk"),
            ],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    let ch = t.app.calling_channels().await.unwrap().remove(0);
    assert_eq!(ch.number, "+14155550100");
    assert!(done.body.contains(&ch.secret), "the secret is shown once");
    let listed = boss.get("/settings/calling").await;
    assert!(listed.body.contains("+14155550100"));
    assert!(!listed.body.contains(&ch.secret), "and only once");

    let rotated = boss
        .post(&format!("/settings/calling/{}/rotate", ch.id), &[])
        .await;
    assert_eq!(rotated.status, 200);
    let new_secret = t.app.calling_channels().await.unwrap().remove(0).secret;
    assert_ne!(new_secret, ch.secret);
    assert!(rotated.body.contains(&new_secret));

    let gone = boss
        .post(&format!("/settings/calling/{}/disconnect", ch.id), &[])
        .await;
    assert_eq!(gone.status.as_u16(), 303);
    assert!(t.app.calling_channels().await.unwrap().is_empty());

    let ann = Browser::login(&base, "ann@example.com").await;
    assert_eq!(ann.get("/settings/calling").await.status, 403);
    let r = ann
        .post(
            "/settings/calling",
            &[("number", "+14155550101"), ("team", &team.to_string())],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(t.app.calling_channels().await.unwrap().is_empty());
}

fd_testkit::on_both_backends! {
    ui_hd_15_a_reply_nothing_can_deliver_is_refused_with_its_reason => chat_reply_is_refused_with_its_reason;
    ui_calling_settings_connect_rotate_disconnect => calling_settings_page;
}
