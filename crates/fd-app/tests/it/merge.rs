//! Ticket merge (issue 15 item 1): what moves to the survivor, which values it keeps, the
//! durable record unmerge will read, old ids leading to the survivor, and the refusals.

use fd_app::domain::ticket_merge::MERGED_IDS_PROPERTY;
use fd_app::domain::*;
use fd_app::{Actor, AppError, MailService, MailSettings};
use fd_mail::{IncomingMail, MailSource};
use fd_store::*;
use fd_testkit::TestApp;

use crate::common::*;

fd_testkit::on_both_backends! {
    merge_moves_everything_to_the_primary_which_keeps_its_values_and_the_oldest_create_date => moves_everything;
    merge_old_ticket_id_leads_to_the_survivor_and_leaves_lists_and_trash => old_id_leads_to_survivor;
    merge_is_refused_for_itself_trashed_merged_away_and_hidden_tickets => refusals;
    merge_mail_answering_the_merged_ticket_lands_on_the_survivor => mail_lands_on_survivor;
    merge_inb_13_merged_tickets_are_not_purged_alone_but_with_their_survivor => purge;
}

fn draft_on(ticket: TicketId, text: &str) -> Draft {
    Draft {
        id: DraftId(0),
        author_id: UserId(0),
        ticket_id: Some(ticket),
        conversation_id: None,
        body_text: text.into(),
        body_html: None,
        recipients: Recipients::default(),
        from_address: None,
        reply_to_message_id: None,
        seen_message_id: None,
        created_at: 0,
        updated_at: 0,
    }
}

async fn moves_everything(t: TestApp) {
    let (ann_user, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (bob_user, bob) = t
        .agent("bob@example.com", TicketAccessLevel::All, &[])
        .await;
    let (c1, old, k1) = conversation_with_ticket(&t, "first@customer.example").await;
    t.clock.advance_ms(60_000);
    let (c2, primary, k2) = conversation_with_ticket(&t, "second@customer.example").await;
    update(&t, &ann, primary.id, &[("hs_ticket_priority", "HIGH")]).await;
    update(&t, &ann, old.id, &[("hs_ticket_priority", "LOW")]).await;
    t.app
        .comment(&ann, Some(old.id), None, "Checked the printer")
        .await
        .unwrap();
    t.app.follow_ticket(&bob, old.id, true).await.unwrap();
    t.app
        .save_draft(&bob, draft_on(old.id, "Half an answer"))
        .await
        .unwrap();
    let old_history = ticket_activity(&t, old.id).await.len();
    assert!(old_history > 0);
    t.clock.advance_ms(60_000);

    let s = t.app.merge_tickets(&ann, primary.id, old.id).await.unwrap();
    assert_eq!(s.id, primary.id, "the primary survives with its id");
    assert_eq!(
        s.priority.as_deref(),
        Some("HIGH"),
        "properties follow the primary"
    );
    assert_eq!(s.created_at, old.created_at, "create date is the oldest");
    assert_eq!(s.custom[MERGED_IDS_PROPERTY], old.id.0.to_string());
    let stored = tk(&t, primary.id).await;
    assert_eq!(stored.created_at, old.created_at);
    assert_eq!(
        stored.custom.get(MERGED_IDS_PROPERTY),
        Some(&old.id.0.to_string())
    );

    // Conversations (and so their messages and the replies that thread on them), contacts,
    // comments, followers, drafts and history of both are on the survivor.
    assert_eq!(conv(&t, c1.id).await.ticket_id, Some(primary.id));
    assert_eq!(conv(&t, c2.id).await.ticket_id, Some(primary.id));
    let d = t.app.ticket_details(&ann, primary.id).await.unwrap();
    assert_eq!(d.conversations.len(), 2);
    let mut contacts: Vec<_> = d.contacts.iter().map(|c| c.id).collect();
    contacts.sort();
    assert_eq!(contacts, vec![k1.id, k2.id]);
    assert!(
        d.comments
            .iter()
            .any(|c| c.body.contains("Checked the printer"))
    );
    assert!(d.followers.contains(&bob_user.id));
    let draft = t.app.draft(&bob, Some(primary.id), None).await.unwrap();
    assert_eq!(
        draft.map(|d| d.body_text).as_deref(),
        Some("Half an answer")
    );
    let history = ticket_activity(&t, primary.id).await;
    assert!(
        history.len() > old_history,
        "the merged ticket's history moved"
    );
    assert!(history.iter().any(|a| a.action == "merged"
        && a.old_value.as_deref() == Some(&old.id.0.to_string())
        && a.actor_user_id == Some(ann_user.id)));
    let merged_history = ticket_activity(&t, old.id).await;
    assert_eq!(merged_history.len(), 1);
    assert_eq!(
        merged_history[0].new_value.as_deref(),
        Some(primary.id.0.to_string().as_str())
    );

    // The record unmerge will read: what moved and both tickets' values before the merge.
    let mut tx = t.app.db().read().await.unwrap();
    let record = tx.ticket_merge_record(old.id).await.unwrap().unwrap();
    tx.commit().await.unwrap();
    assert_eq!(record.moved.conversations, vec![c1.id.0]);
    assert_eq!(record.moved.follows, vec![bob_user.id.0]);
    assert_eq!(record.moved.drafts.len(), 1);
    assert_eq!(record.moved.comments.len(), 1);
    assert_eq!(record.moved.activity.len(), old_history);
    assert!(record.moved.associations.iter().any(|a| a.to_id == k1.id.0));
    assert_eq!(record.merged_before["priority"], "LOW");
    assert_eq!(record.primary_before["created_at"], primary.created_at);
}

async fn old_id_leads_to_survivor(t: TestApp) {
    let (_, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let a = ticket(&t, &ann, "Printer").await;
    let b = ticket(&t, &ann, "Printer again").await;
    let c = ticket(&t, &ann, "Printer, third time").await;
    t.app.merge_tickets(&ann, b.id, a.id).await.unwrap();
    let s = t.app.merge_tickets(&ann, c.id, b.id).await.unwrap();
    // The union of both lists plus the merged id.
    assert_eq!(
        s.custom[MERGED_IDS_PROPERTY],
        format!("{};{}", a.id.0, b.id.0)
    );
    for old in [a.id, b.id] {
        let r = t
            .app
            .record_following_merges(&ann, ObjectType::Ticket, old.0, false)
            .await
            .unwrap();
        assert_eq!(r.id, c.id.0, "ticket {old} leads to the survivor");
    }
    assert_eq!(ticket_count(&t).await, 1);
    let trash = TicketListQuery {
        view: TicketView::Trash,
        ..all_tickets()
    };
    assert!(t.app.list_tickets(&ann, &trash).await.unwrap().is_empty());
    // Merged away is not trashed: restore is refused.
    assert!(matches!(
        t.app.restore_ticket(&ann, a.id).await,
        Err(AppError::Conflict(_))
    ));
}

async fn refusals(t: TestApp) {
    let (_, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (_, own) = t
        .agent("own@example.com", TicketAccessLevel::Owned, &[])
        .await;
    let a = ticket(&t, &ann, "One").await;
    let b = ticket(&t, &ann, "Two").await;
    let trashed = ticket(&t, &ann, "Gone").await;
    t.app.trash_ticket(&ann, trashed.id).await.unwrap();
    assert_invalid(t.app.merge_tickets(&ann, a.id, a.id).await, "merge");
    assert_not_found(t.app.merge_tickets(&ann, a.id, trashed.id).await);
    assert_not_found(t.app.merge_tickets(&ann, trashed.id, a.id).await);
    assert_not_found(t.app.merge_tickets(&ann, a.id, TicketId(999_999)).await);
    // An agent who may not edit (see) the tickets gets "not found", nothing moves.
    assert_not_found(t.app.merge_tickets(&own, a.id, b.id).await);
    assert!(tk(&t, b.id).await.trashed_at.is_none());
    t.app.merge_tickets(&ann, a.id, b.id).await.unwrap();
    assert_not_found(t.app.merge_tickets(&ann, a.id, b.id).await);
    assert_not_found(t.app.merge_tickets(&ann, b.id, a.id).await);
}

const SUPPORT: &str = "support@help.example";

/// A message from `from` to the support address, stored and ingested.
async fn deliver(
    mail: &MailService,
    from: &str,
    subject: &str,
    id: &str,
    in_reply_to: Option<&str>,
) {
    let reply = in_reply_to
        .map(|r| format!("In-Reply-To: <{r}>\r\nReferences: <{r}>\r\n"))
        .unwrap_or_default();
    let raw = format!(
        "From: {from}\r\nTo: {SUPPORT}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n{reply}\
         Date: Mon, 7 Dec 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nHello, something is broken.\r\n"
    );
    mail.accept(IncomingMail {
        source: MailSource::Mailgate,
        envelope_from: None,
        recipients: vec![SUPPORT.to_string()],
        raw: raw.into_bytes(),
        truncated_from: None,
    })
    .await
    .unwrap();
    mail.run_pending_jobs().await.unwrap();
}

async fn mail_lands_on_survivor(t: TestApp) {
    let system = Actor::system();
    t.team("Support").await;
    t.app
        .connect_email(&system, SUPPORT, "Support", Workspace::HelpDesk, false)
        .await
        .unwrap();
    let mail = MailService::new(t.app.clone(), MailSettings::default());
    deliver(
        &mail,
        "a@customer.example",
        "Printer",
        "m1@customer.example",
        None,
    )
    .await;
    deliver(
        &mail,
        "b@customer.example",
        "Scanner",
        "m2@customer.example",
        None,
    )
    .await;
    let tickets = t.app.list_tickets(&system, &all_tickets()).await.unwrap();
    let find = |s: &str| tickets.iter().find(|t| t.subject == s).unwrap().id;
    let (printer, scanner) = (find("Printer"), find("Scanner"));
    t.app
        .merge_tickets(&system, scanner, printer)
        .await
        .unwrap();

    // A reply naming the merged ticket's tag, and one referencing its first message.
    deliver(
        &mail,
        "a@customer.example",
        &format!("Re: Printer [#{printer}]"),
        "m3@customer.example",
        None,
    )
    .await;
    deliver(
        &mail,
        "a@customer.example",
        "Re: Printer",
        "m4@customer.example",
        Some("m1@customer.example"),
    )
    .await;
    assert_eq!(ticket_count(&t).await, 1, "no new ticket was opened");
    let d = t.app.ticket_details(&system, scanner).await.unwrap();
    assert_eq!(d.conversations.len(), 2);
    let printer_conv = d
        .conversations
        .iter()
        .find(|c| c.subject.as_deref() == Some("Printer"))
        .unwrap();
    let messages = t.app.messages(&system, printer_conv.id).await.unwrap();
    assert_eq!(
        messages.len(),
        3,
        "both replies landed on the survivor's conversation"
    );
}

async fn purge(t: TestApp) {
    const DAY: i64 = 24 * 3600 * 1000;
    let (_, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let a = ticket(&t, &ann, "One").await;
    let b = ticket(&t, &ann, "Two").await;
    t.app.merge_tickets(&ann, b.id, a.id).await.unwrap();
    // Merged away is kept for an unmerge, however long ago.
    t.clock.advance_ms(400 * DAY);
    assert_eq!(t.app.purge_trash().await.unwrap(), (0, 0));
    assert!(tk(&t, a.id).await.trashed_at.is_some());
    // Purging the survivor takes the tickets merged into it along.
    t.app.trash_ticket(&ann, b.id).await.unwrap();
    t.clock.advance_ms(91 * DAY);
    assert_eq!(t.app.purge_trash().await.unwrap().0, 1);
    assert_not_found(t.app.ticket(&Actor::system(), b.id).await);
    assert_not_found(t.app.ticket(&Actor::system(), a.id).await);
}
