//! HD-15 in the UI (issue 14, item 6): the reply editor says when a channel cannot deliver a
//! reply, and the refused post shows why and stores nothing as sent.

use fd_app::domain::*;
use fd_app::{Actor, InboundMessage};
use fd_testkit::TestApp;

use crate::ui_common::*;

/// A bot's conversation: nothing but its bot answers it until it is handed off.
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
    assert!(page.body.contains("id=\"delivery-note\""), "{}", page.body);
    assert!(
        page.body
            .contains("a bot conversation is answered by its bot")
    );
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
        r.body.contains("a bot conversation is answered by its bot"),
        "{}",
        r.body
    );
    let messages = t.app.messages(&Actor::system(), c.id).await.unwrap();
    assert_eq!(messages.len(), 1, "the refused reply was not stored");
}

fd_testkit::on_both_backends! {
    ui_hd_15_a_reply_nothing_can_deliver_is_refused_with_its_reason => chat_reply_is_refused_with_its_reason;
}
