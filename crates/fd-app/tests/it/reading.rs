//! Issue 13, item 8: the lists' unread state per agent (a customer message newer than the
//! agent's last opening), their one-line previews, and each user's own time zone. The clock
//! is the manual one: "newer" is decided by the times the test sets.

use fd_app::domain::*;
use fd_app::{Actor, Opened, TicketCreation};
use fd_testkit::TestApp;

use crate::common::*;

async fn digest(t: &TestApp, actor: &Actor, id: TicketId) -> fd_app::RowDigest {
    let ticket = tk(t, id).await;
    let d = t
        .app
        .ticket_digests(actor, std::slice::from_ref(&ticket))
        .await
        .unwrap();
    d.get(&id).cloned().unwrap()
}

async fn conv_digest(t: &TestApp, actor: &Actor, id: ConversationId) -> fd_app::RowDigest {
    let c = conv(t, id).await;
    let d = t
        .app
        .conversation_digests(actor, std::slice::from_ref(&c))
        .await
        .unwrap();
    d.get(&id).cloned().unwrap()
}

/// A ticket with a customer message is unread for every agent until that agent opens it;
/// opening is per agent; a newer customer message makes it unread again, an agent's own
/// reply does not.
async fn unread_until_opened_per_agent(t: TestApp) {
    let (_, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (_, bob) = t
        .agent("bob@example.com", TicketAccessLevel::All, &[])
        .await;
    let (c, ticket, k) = conversation_with_ticket(&t, "carla@example.com").await;
    let d = digest(&t, &ann, ticket.id).await;
    assert!(d.unread);
    assert_eq!(d.preview, "My printer is on fire");

    t.clock.advance_ms(1_000);
    t.app
        .mark_opened(&ann, Opened::Ticket(ticket.id))
        .await
        .unwrap();
    assert!(!digest(&t, &ann, ticket.id).await.unread);
    assert!(
        digest(&t, &bob, ticket.id).await.unread,
        "Bob has not opened it"
    );

    // Ann answers: her own message changes the preview but nobody's unread state.
    t.clock.advance_ms(1_000);
    t.app
        .send_reply(&ann, c.id, reply("We are on our way\nwith a bucket"))
        .await
        .unwrap();
    let d = digest(&t, &ann, ticket.id).await;
    assert!(!d.unread);
    assert_eq!(d.preview, "We are on our way with a bucket");

    // The customer writes again: unread for Ann again.
    t.clock.advance_ms(1_000);
    let from = k.email.clone().unwrap();
    t.app
        .record_inbound_message(
            &Actor::system(),
            c.id,
            inbound("Still burning", &from, &unique_message_id()),
        )
        .await
        .unwrap();
    let d = digest(&t, &ann, ticket.id).await;
    assert!(d.unread);
    assert_eq!(d.preview, "Still burning");

    // Conversations keep their own reading state.
    assert!(conv_digest(&t, &ann, c.id).await.unread);
    t.clock.advance_ms(1_000);
    t.app
        .mark_opened(&ann, Opened::Conversation(c.id))
        .await
        .unwrap();
    assert!(!conv_digest(&t, &ann, c.id).await.unread);
    assert!(conv_digest(&t, &bob, c.id).await.unread);
}

/// A ticket without any message previews its description and is never unread; an agent may
/// not mark a ticket outside their scope (HD-09), and the system actor has no reading state.
async fn previews_without_messages_and_scope(t: TestApp) {
    let (_, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (_, owned) = t
        .agent("olga@example.com", TicketAccessLevel::Owned, &[])
        .await;
    let long = "é".repeat(500);
    let ticket = ticket_with(&t, &ann, &[("subject", "No mail"), ("content", &long)]).await;
    let d = digest(&t, &ann, ticket.id).await;
    assert!(!d.unread);
    assert_eq!(
        d.preview.chars().count(),
        fd_app::domain::reading::PREVIEW_CHARS + 1
    );
    assert!(d.preview.ends_with('…'));
    let r = t.app.mark_opened(&owned, Opened::Ticket(ticket.id)).await;
    assert!(matches!(r, Err(fd_app::AppError::NotFound { .. })), "{r:?}");
    let r = t
        .app
        .mark_opened(&Actor::system(), Opened::Ticket(ticket.id))
        .await;
    assert!(matches!(r, Err(fd_app::AppError::Forbidden(_))), "{r:?}");
    let (c, none) = email_conversation(
        &t,
        &contact(&t, "dan@example.com").await,
        TicketCreation::None,
    )
    .await;
    assert!(none.is_none());
    assert!(
        t.app
            .conversation_digests(&Actor::system(), std::slice::from_ref(&c))
            .await
            .unwrap()
            .is_empty()
    );
}

/// Each user's own time zone: an IANA name is stored in the database's spelling, anything
/// else is refused and leaves the setting alone.
async fn time_zone_is_a_checked_per_user_setting(t: TestApp) {
    let (ann_user, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    assert_eq!(ann_user.time_zone, "UTC");
    let tz = t.app.set_own_time_zone(&ann, "europe/rome").await.unwrap();
    assert_eq!(tz.name(), "Europe/Rome");
    let r = t.app.set_own_time_zone(&ann, "Mars/Olympus").await;
    assert_invalid(r, "time_zone");
    let users = t.app.users().await.unwrap();
    let ann_now = users.iter().find(|u| u.id == ann_user.id).unwrap();
    assert_eq!(ann_now.time_zone, "Europe/Rome");
    let bob = users.iter().find(|u| u.email != "ann@example.com");
    assert!(bob.is_none_or(|u| u.time_zone == "UTC"));
}

fd_testkit::on_both_backends! {
    reading_unread_until_opened_per_agent => unread_until_opened_per_agent;
    reading_previews_without_messages_and_scope => previews_without_messages_and_scope;
    reading_time_zone_is_a_checked_per_user_setting => time_zone_is_a_checked_per_user_setting;
}
