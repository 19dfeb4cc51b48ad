//! Follow and notify (issue 15, item 5) and follow-up tickets (item 9, INB-11 with a
//! follow-up period), on both backends. Emails themselves go through a real SMTP listener
//! in the frontdesk crate's tests; here: who is notified of what, HD-09, reading, the
//! email jobs queued, digests falling due, and the follow-up rule on every road.

use fd_app::domain::*;
use fd_app::{Actor, MailService, MailSettings};
use fd_store::{Conversation, Notification, Ticket};
use fd_testkit::TestApp;

use crate::common::*;

fd_testkit::on_both_backends! {
    notify_owner_and_followers_hear_of_every_activity => every_activity;
    notify_hd_09_recipients_who_may_not_see_the_ticket_are_left_out => hd_09_recipients;
    notify_opening_a_notification_marks_it_read => opening_marks_read;
    notify_email_preference_queues_immediate_emails_or_digests => email_preference;
    notify_inb_11_follow_up_after_the_period_reopen_within => follow_up_period;
    notify_inb_11_follow_up_period_zero_always_reopens => follow_up_zero;
    notify_follow_up_period_is_checked => follow_up_setting;
    notify_inb_11_a_late_chat_message_opens_a_follow_up_and_the_chat_goes_on_there => follow_up_chat;
}

async fn notes(t: &TestApp, actor: &Actor) -> Vec<Notification> {
    t.app.notifications(actor, 100).await.unwrap()
}

fn kinds(n: &[Notification]) -> Vec<String> {
    // Newest first in the bell; oldest first here, as they happened.
    n.iter().rev().map(|n| n.kind.clone()).collect()
}

async fn every_activity(t: TestApp) {
    let system = Actor::system();
    // Each notification here follows an agent's own action.
    hd_20_rule_off(&t).await;
    let (ann_u, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (_, bob) = t
        .agent("bob@example.com", TicketAccessLevel::All, &[])
        .await;
    let (carl_u, carl) = t
        .agent("carl@example.com", TicketAccessLevel::All, &[])
        .await;
    let (dan_u, dan) = t
        .agent("dan@example.com", TicketAccessLevel::All, &[])
        .await;
    let (c, tkt, _) = conversation_with_ticket(&t, "gina@customer.example").await;
    update(
        &t,
        &system,
        tkt.id,
        &[("hubspot_owner_id", &ann_u.id.to_string())],
    )
    .await;
    t.app.follow_ticket(&bob, tkt.id, true).await.unwrap();
    // Assigned by the system: Ann (the new owner) is told, with old → new.
    let a = notes(&t, &ann).await;
    assert_eq!(kinds(&a), ["owner"]);
    assert_eq!(a[0].text, "You were assigned the ticket");
    assert_eq!(a[0].excerpt.as_deref(), Some("Unassigned → ann"));
    assert_eq!(a[0].ticket_subject.as_deref(), Some(tkt.subject.as_str()));

    // A customer message, a reply, a comment, a status change by Carl.
    t.app
        .record_inbound_message(
            &system,
            c.id,
            inbound(
                "Still  burning,\nplease hurry",
                "gina@customer.example",
                "<m2@x>",
            ),
        )
        .await
        .unwrap();
    t.app
        .send_reply(&carl, c.id, reply("We are on our way"))
        .await
        .unwrap();
    t.app
        .comment(&carl, Some(tkt.id), None, "Bring an extinguisher")
        .await
        .unwrap();
    move_to_stage(&t, &carl, tkt.id, STAGE_WAITING).await;
    // Owner change by Carl to Dan: Dan is told he was assigned, Ann and Bob of the change.
    update(
        &t,
        &carl,
        tkt.id,
        &[("hubspot_owner_id", &dan_u.id.to_string())],
    )
    .await;
    // A merge by Carl into this ticket.
    let other = ticket(&t, &carl, "Smoke alarm").await;
    t.app.merge_tickets(&carl, tkt.id, other.id).await.unwrap();

    let expected = [
        "customer_message",
        "reply",
        "comment",
        "status",
        "owner",
        "merge",
    ];
    // Ann, owner until Carl gave the ticket to Dan, hears of that change and then no more.
    let a = notes(&t, &ann).await;
    assert_eq!(kinds(&a), [&["owner"][..], &expected[..5]].concat());
    let b = notes(&t, &bob).await;
    assert_eq!(kinds(&b), expected);
    // Each names its ticket, quotes an excerpt, and says who did it.
    let by_kind = |k: &str| b.iter().find(|n| n.kind == k).unwrap().clone();
    assert_eq!(
        by_kind("customer_message").excerpt.as_deref(),
        Some("Still burning, please hurry")
    );
    assert_eq!(by_kind("reply").text, "carl replied");
    assert_eq!(
        by_kind("reply").excerpt.as_deref(),
        Some("We are on our way")
    );
    assert_eq!(
        by_kind("comment").excerpt.as_deref(),
        Some("Bring an extinguisher")
    );
    assert_eq!(
        by_kind("status").excerpt.as_deref(),
        Some("New → Waiting on contact")
    );
    assert_eq!(by_kind("owner").excerpt.as_deref(), Some("ann → dan"));
    assert_eq!(
        by_kind("merge").excerpt.as_deref(),
        Some(format!("#{} Smoke alarm merged into #{}", other.id, tkt.id).as_str())
    );
    assert!(b.iter().all(|n| n.ticket_id == Some(tkt.id)));
    assert!(
        b.iter()
            .all(|n| n.ticket_subject.as_deref() == Some(tkt.subject.as_str()))
    );
    // The actor hears nothing of their own actions; the new owner hears of the assignment
    // and then, as owner, of the merge.
    assert!(notes(&t, &carl).await.is_empty(), "{:?}", carl_u.id);
    let d = notes(&t, &dan).await;
    assert_eq!(kinds(&d), ["owner", "merge"]);
    assert_eq!(d[1].text, "carl assigned you the ticket");
    // Dan changes the status himself: Ann (no longer owner, not a follower) hears nothing
    // more, Bob does, Dan does not.
    let before_ann = notes(&t, &ann).await.len();
    move_to_stage(&t, &dan, tkt.id, STAGE_NEW).await;
    assert_eq!(notes(&t, &ann).await.len(), before_ann);
    assert_eq!(notes(&t, &bob).await.len(), expected.len() + 1);
    assert_eq!(notes(&t, &dan).await.len(), 2);
    let _ = ann_u;
}

async fn hd_09_recipients(t: TestApp) {
    let system = Actor::system();
    let red = t.team("Red").await;
    let blue = t.team("Blue").await;
    let (_, rita) = t
        .agent("rita@example.com", TicketAccessLevel::Team, &["Red"])
        .await;
    let (olga_u, olga) = t
        .agent("olga@example.com", TicketAccessLevel::Owned, &[])
        .await;
    let (_, admin) = t.admin("boss@example.com").await;
    let tkt = ticket_with(&t, &admin, &[("hubspot_team_id", &red.to_string())]).await;
    t.app.follow_ticket(&rita, tkt.id, true).await.unwrap();
    t.app
        .comment(&admin, Some(tkt.id), None, "first")
        .await
        .unwrap();
    assert_eq!(notes(&t, &rita).await.len(), 1);
    // The ticket moves to another team: Rita still follows it but may no longer see it, so
    // she is not told, and what she was told before is hidden too.
    update(
        &t,
        &system,
        tkt.id,
        &[("hubspot_team_id", &blue.to_string())],
    )
    .await;
    t.app
        .comment(&admin, Some(tkt.id), None, "second")
        .await
        .unwrap();
    assert!(notes(&t, &rita).await.is_empty());
    assert_eq!(t.app.unread_notification_count(&rita).await.unwrap(), 0);
    // An owned-only agent assigned the ticket sees it: told.
    update(
        &t,
        &admin,
        tkt.id,
        &[("hubspot_owner_id", &olga_u.id.to_string())],
    )
    .await;
    assert_eq!(kinds(&notes(&t, &olga).await), ["owner"]);
    // Unassigned again, she may not see it: the earlier notification disappears from her
    // bell, and opening it is "not found".
    let id = notes(&t, &olga).await[0].id;
    update(&t, &admin, tkt.id, &[("hubspot_owner_id", "")]).await;
    assert!(notes(&t, &olga).await.is_empty());
    assert!(matches!(
        t.app.open_notification(&olga, id).await,
        Err(fd_app::AppError::NotFound { .. })
    ));
}

async fn opening_marks_read(t: TestApp) {
    let (_, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (_, bob) = t
        .agent("bob@example.com", TicketAccessLevel::All, &[])
        .await;
    let tkt = ticket(&t, &bob, "Printer").await;
    t.app.follow_ticket(&ann, tkt.id, true).await.unwrap();
    t.app
        .comment(&bob, Some(tkt.id), None, "one")
        .await
        .unwrap();
    t.app
        .comment(&bob, Some(tkt.id), None, "two")
        .await
        .unwrap();
    assert_eq!(t.app.unread_notification_count(&ann).await.unwrap(), 2);
    let n = notes(&t, &ann).await;
    let opened = t.app.open_notification(&ann, n[0].id).await.unwrap();
    assert_eq!(opened.ticket_id, Some(tkt.id), "it leads to its ticket");
    assert_eq!(t.app.unread_notification_count(&ann).await.unwrap(), 1);
    let after = notes(&t, &ann).await;
    assert!(after[0].read_at.is_some());
    assert!(after[1].read_at.is_none(), "only the opened one is read");
    // Opening it again changes nothing; someone else's is not found.
    t.app.open_notification(&ann, n[0].id).await.unwrap();
    assert_eq!(t.app.unread_notification_count(&ann).await.unwrap(), 1);
    assert!(matches!(
        t.app.open_notification(&bob, n[1].id).await,
        Err(fd_app::AppError::NotFound { .. })
    ));
}

async fn email_preference(t: TestApp) {
    const HOUR: i64 = 3_600_000;
    let (_, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (_, bob) = t
        .agent("bob@example.com", TicketAccessLevel::All, &[])
        .await;
    let (_, cleo) = t
        .agent("cleo@example.com", TicketAccessLevel::All, &[])
        .await;
    let (_, carl) = t
        .agent("carl@example.com", TicketAccessLevel::All, &[])
        .await;
    // Default: immediately.
    assert_eq!(
        t.app.notify_email_mode(&ann).await.unwrap(),
        notify::NotifyEmail::Immediately
    );
    assert_invalid(
        t.app.set_notify_email_mode(&ann, "weekly").await,
        "notify_email",
    );
    t.app.set_notify_email_mode(&bob, "hourly").await.unwrap();
    t.app.set_notify_email_mode(&cleo, "off").await.unwrap();
    let tkt = ticket(&t, &carl, "Printer").await;
    for a in [&ann, &bob, &cleo] {
        t.app.follow_ticket(a, tkt.id, true).await.unwrap();
    }
    let jobs = t.app.pending_jobs().await.unwrap();
    t.app
        .comment(&carl, Some(tkt.id), None, "one")
        .await
        .unwrap();
    // One email job, for Ann (immediately); Bob waits for his digest, Cleo gets none.
    assert_eq!(t.app.pending_jobs().await.unwrap(), jobs + 1);
    // No relay: the email job fails and retries; the notification stays in the app.
    let mail = MailService::new(t.app.clone(), MailSettings::default());
    let stats = mail.run_pending_jobs().await.unwrap();
    assert_eq!(stats.errors, 1);
    assert_eq!(t.app.unread_notification_count(&ann).await.unwrap(), 1);
    // Digests: Bob's first is due at once, then only after a whole hour.
    assert_eq!(t.app.queue_notification_digests().await.unwrap(), 1);
    assert_eq!(t.app.queue_notification_digests().await.unwrap(), 0);
    // (The test clock moves a millisecond per read: margins of a second.)
    t.clock.advance_ms(HOUR - 1000);
    t.app
        .comment(&carl, Some(tkt.id), None, "two")
        .await
        .unwrap();
    assert_eq!(t.app.queue_notification_digests().await.unwrap(), 0);
    t.clock.advance_ms(1000);
    assert_eq!(t.app.queue_notification_digests().await.unwrap(), 1);
    // Read everything: nothing left for a digest.
    t.app.mark_notifications_read(&bob).await.unwrap();
    t.clock.advance_ms(HOUR);
    assert_eq!(t.app.queue_notification_digests().await.unwrap(), 0);
}

/// A customer writes to the conversation of a ticket closed `days_closed` days ago.
async fn late_reply(
    t: &TestApp,
    days_closed: i64,
    extra_ms: i64,
) -> (Ticket, Conversation, ConversationId) {
    const DAY: i64 = 86_400_000;
    let (_, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (c, tkt, _) = conversation_with_ticket(t, "gina@customer.example").await;
    update(
        t,
        &ann,
        tkt.id,
        &[("hubspot_owner_id", &ann.user_id().unwrap().to_string())],
    )
    .await;
    move_to_stage(t, &ann, tkt.id, STAGE_CLOSED).await;
    t.clock.advance_ms(days_closed * DAY + extra_ms);
    t.app
        .record_inbound_message(
            &Actor::system(),
            c.id,
            inbound("It broke again", "gina@customer.example", "<late@x>"),
        )
        .await
        .unwrap();
    let last = t
        .app
        .list_tickets(&Actor::system(), &all_tickets())
        .await
        .unwrap();
    let newest = last.iter().map(|t| t.id).max().unwrap();
    let conv_of_newest = t
        .app
        .ticket_details(&Actor::system(), newest)
        .await
        .unwrap()
        .conversations[0]
        .id;
    (tkt, c, conv_of_newest)
}

async fn follow_up_period(t: TestApp) {
    assert_eq!(t.app.follow_up_days().await.unwrap(), 7, "the default");
    // Within the period (a second short of seven days; the test clock moves a millisecond
    // per read): reopens, as INB-11 says.
    let (old, c, _) = late_reply(&t, 7, -1000).await;
    assert_eq!(ticket_count(&t).await, 1);
    assert!(tk(&t, old.id).await.is_open);
    assert_eq!(
        t.app.messages(&Actor::system(), c.id).await.unwrap().len(),
        2
    );

    // Closed again, and a reply a moment more than seven days later: a follow-up.
    let (_, ann) = t
        .agent("ann2@example.com", TicketAccessLevel::All, &[])
        .await;
    move_to_stage(&t, &ann, old.id, STAGE_CLOSED).await;
    t.clock.advance_ms(7 * 86_400_000 + 1000);
    let ann_owner = tk(&t, old.id).await.owner_id.unwrap();
    let owner = t.app.actor_for(ann_owner).await.unwrap();
    let before = notes(&t, &owner).await.len();
    t.app
        .record_inbound_message(
            &Actor::system(),
            c.id,
            inbound(
                "Hello again, new problem",
                "gina@customer.example",
                "<late2@x>",
            ),
        )
        .await
        .unwrap();
    assert_eq!(ticket_count(&t).await, 2);
    let old_now = tk(&t, old.id).await;
    assert!(!old_now.is_open, "the old ticket stays closed");
    assert_eq!(
        t.app.messages(&Actor::system(), c.id).await.unwrap().len(),
        2
    );
    let (_, ups) = t
        .app
        .follow_up_links(&Actor::system(), old.id)
        .await
        .unwrap();
    assert_eq!(ups.len(), 1);
    let new_id = ups[0].0;
    let (of, _) = t
        .app
        .follow_up_links(&Actor::system(), new_id)
        .await
        .unwrap();
    assert_eq!(of.map(|o| o.0), Some(old.id));
    let d = t
        .app
        .ticket_details(&Actor::system(), new_id)
        .await
        .unwrap();
    assert!(d.ticket.is_open);
    assert_eq!(
        d.ticket.subject,
        format!("{} (follow-up of #{})", old.subject, old.id)
    );
    assert_eq!(d.ticket.owner_id, Some(ann_owner), "same owner");
    let old_d = t
        .app
        .ticket_details(&Actor::system(), old.id)
        .await
        .unwrap();
    assert_eq!(
        d.contacts.iter().map(|k| k.id).collect::<Vec<_>>(),
        old_d.contacts.iter().map(|k| k.id).collect::<Vec<_>>(),
        "same contact"
    );
    assert_eq!(d.conversations.len(), 1);
    let msgs = t
        .app
        .messages(&Actor::system(), d.conversations[0].id)
        .await
        .unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].text, "Hello again, new problem");
    // Both tickets' activity names the other.
    assert!(d.activity.iter().any(|a| a.action == "follow_up_of"
        && a.new_value.as_deref() == Some(old.id.to_string().as_str())));
    assert!(old_d.activity.iter().any(|a| a.action == "follow_up_opened"
        && a.new_value.as_deref() == Some(new_id.to_string().as_str())));
    // The owner hears of it on both tickets, and that the new one is hers.
    let n = notes(&t, &owner).await;
    assert_eq!(n.len(), before + 3);
    assert!(
        n.iter()
            .any(|n| n.kind == "owner" && n.ticket_id == Some(new_id))
    );
    assert!(
        n.iter()
            .any(|n| n.kind == "follow_up" && n.ticket_id == Some(old.id))
    );
    assert!(
        n.iter()
            .any(|n| n.kind == "customer_message" && n.ticket_id == Some(new_id))
    );
}

async fn follow_up_zero(t: TestApp) {
    let (_, admin) = t.admin("boss@example.com").await;
    t.app.set_follow_up_days(&admin, 0).await.unwrap();
    let (old, _, _) = late_reply(&t, 400, 0).await;
    assert_eq!(ticket_count(&t).await, 1, "0 always reopens");
    assert!(tk(&t, old.id).await.is_open);
}

async fn follow_up_setting(t: TestApp) {
    let (_, admin) = t.admin("boss@example.com").await;
    let (_, agent) = t
        .agent("zoe@example.com", TicketAccessLevel::All, &[])
        .await;
    assert_invalid(t.app.set_follow_up_days(&admin, -1).await, "follow_up_days");
    assert_invalid(
        t.app.set_follow_up_days(&admin, 3651).await,
        "follow_up_days",
    );
    assert!(matches!(
        t.app.set_follow_up_days(&agent, 3).await,
        Err(fd_app::AppError::Forbidden(_))
    ));
    assert_eq!(t.app.set_follow_up_days(&admin, 30).await.unwrap(), 30);
    assert_eq!(t.app.follow_up_days().await.unwrap(), 30);
    // Within 30 days: reopens.
    let (old, _, _) = late_reply(&t, 20, 0).await;
    assert_eq!(ticket_count(&t).await, 1);
    assert!(tk(&t, old.id).await.is_open);
}

async fn follow_up_chat(t: TestApp) {
    const DAY: i64 = 86_400_000;
    let team = t.team("Support").await;
    let (_, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &["Support"])
        .await;
    t.app.set_availability(&ann, true).await.unwrap();
    let ch = t
        .app
        .create_chat_channel(&Actor::system(), "Website", team, Workspace::HelpDesk)
        .await
        .unwrap();
    let says = |text: &str| fd_app::VisitorMessage {
        text: text.into(),
        ..fd_app::VisitorMessage::default()
    };
    let first = t
        .app
        .chat_visitor_message(ch.id, None, says("My printer is on fire"))
        .await
        .unwrap();
    let old = conv(&t, first.conversation).await.ticket_id.unwrap();
    move_to_stage(&t, &ann, old, STAGE_CLOSED).await;
    t.clock.advance_ms(8 * DAY);
    let late = t
        .app
        .chat_visitor_message(ch.id, Some(&first.token), says("Now the scanner too"))
        .await
        .unwrap();
    assert_ne!(late.conversation, first.conversation, "a new conversation");
    let new = conv(&t, late.conversation).await.ticket_id.unwrap();
    assert_ne!(new, old);
    assert!(!tk(&t, old).await.is_open);
    let (of, _) = t.app.follow_up_links(&Actor::system(), new).await.unwrap();
    assert_eq!(of.map(|o| o.0), Some(old));
    // The widget goes on in the follow-up: the next message stays there.
    let next = t
        .app
        .chat_visitor_message(ch.id, Some(&first.token), says("Hello?"))
        .await
        .unwrap();
    assert_eq!(next.conversation, late.conversation);
    assert_eq!(ticket_count(&t).await, 2);
    let v = t.app.chat_view(ch.id, Some(&first.token)).await.unwrap();
    let texts: Vec<&str> = v.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, vec!["Now the scanner too", "Hello?"]);
}
