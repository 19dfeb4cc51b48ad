//! Ticket unmerge and split (issue 15 items 2 and 3): both tickets come back as they were,
//! what arrived after stays where it arrived, later merges in between, the survivor's values,
//! split messages moving to a new ticket, the undo of a split, history on both, and refusals.

use std::collections::BTreeMap;

use fd_app::domain::ticket_merge::MERGED_IDS_PROPERTY;
use fd_app::domain::*;
use fd_app::{Actor, AppError, Unmerged};
use fd_store::*;
use fd_testkit::TestApp;

use crate::common::*;

fd_testkit::on_both_backends! {
    unmerge_gives_both_tickets_back_with_their_own_conversations_associations_and_values => gives_both_back;
    unmerge_what_arrived_after_the_merge_stays_on_the_conversation_it_arrived_on => later_arrivals_stay;
    unmerge_with_a_later_merge_in_between_and_of_a_survivor_merged_away => later_merges;
    unmerge_is_refused_clearly_for_unmerged_pairs_hidden_and_trashed_tickets => unmerge_refusals;
    split_moves_messages_to_a_new_conversation_and_ticket_linked_both_ways => split_moves_messages;
    split_is_refused_for_no_messages_foreign_messages_all_messages_and_hidden_tickets => split_refusals;
    split_undo_moves_the_messages_back_and_removes_the_new_ticket => split_undo;
}

async fn contact_ids(t: &TestApp, id: TicketId) -> Vec<ContactId> {
    let d = t.app.ticket_details(&Actor::system(), id).await.unwrap();
    let mut ids: Vec<_> = d.contacts.iter().map(|c| c.id).collect();
    ids.sort();
    ids
}

async fn message_ids(t: &TestApp, c: ConversationId) -> Vec<MessageId> {
    t.app
        .messages(&Actor::system(), c)
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect()
}

async fn add_message(t: &TestApp, c: ConversationId, text: &str) -> MessageId {
    t.app
        .record_inbound_message(
            &Actor::system(),
            c,
            inbound(text, "someone@customer.example", &unique_message_id()),
        )
        .await
        .unwrap()
}

fn restored(u: Unmerged) -> (Ticket, Ticket) {
    match u {
        Unmerged::Merge { survivor, restored } => (survivor, *restored),
        other => panic!("expected a merge undone, got {other:?}"),
    }
}

async fn gives_both_back(t: TestApp) {
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
    let old_history = ticket_activity(&t, old.id).await.len();
    let primary_history = ticket_activity(&t, primary.id).await.len();
    t.clock.advance_ms(60_000);
    t.app.merge_tickets(&ann, primary.id, old.id).await.unwrap();
    // An edit on the survivor after the merge: the survivor keeps it.
    update(&t, &ann, primary.id, &[("hs_ticket_priority", "MEDIUM")]).await;
    t.clock.advance_ms(60_000);

    let (s, r) = restored(
        t.app
            .unmerge_ticket(&ann, primary.id, old.id)
            .await
            .unwrap(),
    );
    assert_eq!(s.id, primary.id);
    assert_eq!(r.id, old.id);
    let s = tk(&t, primary.id).await;
    let r = tk(&t, old.id).await;
    assert_eq!(
        s.priority.as_deref(),
        Some("MEDIUM"),
        "the survivor keeps its current values"
    );
    assert_eq!(
        s.created_at, primary.created_at,
        "its own create date again"
    );
    assert!(
        !s.custom.contains_key(MERGED_IDS_PROPERTY),
        "hs_merged_object_ids drops the unmerged id"
    );
    assert_eq!(r.trashed_at, None, "the merged ticket is live again");
    assert_eq!(
        r.priority.as_deref(),
        Some("LOW"),
        "with its values from before"
    );
    assert_eq!(r.subject, old.subject);
    assert_eq!(r.created_at, old.created_at);

    // Each with its own conversations, contacts, comments and followers.
    assert_eq!(conv(&t, c1.id).await.ticket_id, Some(old.id));
    assert_eq!(conv(&t, c2.id).await.ticket_id, Some(primary.id));
    assert_eq!(contact_ids(&t, old.id).await, vec![k1.id]);
    assert_eq!(contact_ids(&t, primary.id).await, vec![k2.id]);
    let d_old = t.app.ticket_details(&ann, old.id).await.unwrap();
    assert!(
        d_old
            .comments
            .iter()
            .any(|c| c.body.contains("Checked the printer"))
    );
    assert!(d_old.followers.contains(&bob_user.id));
    let d_primary = t.app.ticket_details(&ann, primary.id).await.unwrap();
    assert!(d_primary.comments.is_empty());
    assert!(
        !d_primary.followers.contains(&bob_user.id),
        "bob followed only the merged ticket"
    );
    let k1_tickets = t
        .app
        .ticket_details(&ann, old.id)
        .await
        .unwrap()
        .contacts
        .len();
    assert_eq!(k1_tickets, 1);

    // History: each ticket has its own back, plus merged and unmerged rows.
    let h_old = ticket_activity(&t, old.id).await;
    let h_primary = ticket_activity(&t, primary.id).await;
    assert_eq!(
        h_old.len(),
        old_history + 2,
        "its history, the merged row and the unmerged row"
    );
    assert!(h_old.iter().any(|a| a.action == "unmerged"
        && a.new_value.as_deref() == Some(primary.id.0.to_string().as_str())
        && a.actor_user_id == Some(ann_user.id)));
    assert!(h_primary.len() > primary_history);
    assert!(h_primary.iter().any(|a| a.action == "merged"));
    assert!(
        h_primary.iter().any(|a| a.action == "unmerged"
            && a.old_value.as_deref() == Some(old.id.0.to_string().as_str()))
    );

    // The old id is its own ticket again, listed, and no longer named as merged.
    let r = t
        .app
        .record_following_merges(&ann, ObjectType::Ticket, old.id.0, false)
        .await
        .unwrap();
    assert_eq!(r.id, old.id.0);
    assert_eq!(ticket_count(&t).await, 2);
    let links = t.app.ticket_links(&ann, primary.id).await.unwrap();
    assert!(links.merged_in.is_empty());
    // Undone once: a second unmerge of the same pair is refused.
    assert_invalid(
        t.app.unmerge_ticket(&ann, primary.id, old.id).await,
        "mergedObjectId",
    );
}

async fn later_arrivals_stay(t: TestApp) {
    let (_, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (c1, old, k1) = conversation_with_ticket(&t, "first@customer.example").await;
    let (c2, primary, _) = conversation_with_ticket(&t, "second@customer.example").await;
    t.app.merge_tickets(&ann, primary.id, old.id).await.unwrap();
    // After the merge: a reply on the merged ticket's conversation, a comment on the survivor,
    // and a new conversation attached to the survivor.
    let reply = add_message(&t, c1.id, "Still broken").await;
    t.app
        .comment(&ann, Some(primary.id), None, "Written after the merge")
        .await
        .unwrap();
    let c3 = attach_new_conversation(&t, &ann, primary.id, &k1).await;
    t.app
        .unmerge_ticket(&ann, primary.id, old.id)
        .await
        .unwrap();
    assert!(
        message_ids(&t, c1.id).await.contains(&reply),
        "the reply stays with the conversation it arrived on"
    );
    assert_eq!(conv(&t, c1.id).await.ticket_id, Some(old.id));
    assert_eq!(conv(&t, c2.id).await.ticket_id, Some(primary.id));
    assert_eq!(
        conv(&t, c3.id).await.ticket_id,
        Some(primary.id),
        "a conversation added to the survivor stays"
    );
    let d = t.app.ticket_details(&ann, primary.id).await.unwrap();
    assert!(
        d.comments
            .iter()
            .any(|c| c.body == "Written after the merge")
    );
    let d_old = t.app.ticket_details(&ann, old.id).await.unwrap();
    assert!(d_old.comments.is_empty());
}

async fn later_merges(t: TestApp) {
    let (_, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let x = ticket(&t, &ann, "X").await;
    t.clock.advance_ms(1000);
    let a = ticket(&t, &ann, "A").await;
    let b = ticket(&t, &ann, "B").await;
    let c = ticket(&t, &ann, "C").await;
    // B absorbed X, then A absorbed B, then A absorbed C.
    t.app.merge_tickets(&ann, b.id, x.id).await.unwrap();
    t.app.merge_tickets(&ann, a.id, b.id).await.unwrap();
    let s = t.app.merge_tickets(&ann, a.id, c.id).await.unwrap();
    assert_eq!(
        s.custom[MERGED_IDS_PROPERTY],
        format!("{};{};{}", x.id.0, b.id.0, c.id.0)
    );
    assert_eq!(s.created_at, x.created_at);
    // Undo B (C merged in between): B comes back with X still inside it, A keeps C.
    let (s, r) = restored(t.app.unmerge_ticket(&ann, a.id, b.id).await.unwrap());
    assert_eq!(s.custom[MERGED_IDS_PROPERTY], c.id.0.to_string());
    assert_eq!(s.created_at, a.created_at, "X's older date left with B");
    assert_eq!(r.custom[MERGED_IDS_PROPERTY], x.id.0.to_string());
    let x_lives_on = t
        .app
        .record_following_merges(&ann, ObjectType::Ticket, x.id.0, false)
        .await
        .unwrap();
    assert_eq!(x_lives_on.id, b.id.0);
    // A merged away itself: undoing C from it is refused until A comes back out of D.
    let d = ticket(&t, &ann, "D").await;
    t.app.merge_tickets(&ann, d.id, a.id).await.unwrap();
    match t.app.unmerge_ticket(&ann, a.id, c.id).await {
        Err(AppError::Domain(DomainError::Invalid(f))) => assert!(
            f[0].message
                .contains(&format!("merged into ticket {}", d.id)),
            "{f:?}"
        ),
        other => panic!("expected a refusal, got {other:?}"),
    }
    t.app.unmerge_ticket(&ann, d.id, a.id).await.unwrap();
    t.app.unmerge_ticket(&ann, a.id, c.id).await.unwrap();
    assert!(!tk(&t, a.id).await.custom.contains_key(MERGED_IDS_PROPERTY));
    assert_eq!(ticket_count(&t).await, 4, "A, B, C and D");
}

async fn unmerge_refusals(t: TestApp) {
    let (_, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (_, own) = t
        .agent("own@example.com", TicketAccessLevel::Owned, &[])
        .await;
    let a = ticket(&t, &ann, "One").await;
    let b = ticket(&t, &ann, "Two").await;
    let c = ticket(&t, &ann, "Three").await;
    assert_invalid(
        t.app.unmerge_ticket(&ann, a.id, b.id).await,
        "mergedObjectId",
    );
    assert_invalid(
        t.app.unmerge_ticket(&ann, a.id, a.id).await,
        "mergedObjectId",
    );
    assert_not_found(t.app.unmerge_ticket(&ann, a.id, TicketId(999_999)).await);
    t.app.merge_tickets(&ann, a.id, b.id).await.unwrap();
    // Not the survivor of that merge.
    assert_invalid(
        t.app.unmerge_ticket(&ann, c.id, b.id).await,
        "mergedObjectId",
    );
    // HD-09: an agent who may not see the tickets gets "not found", nothing moves.
    assert_not_found(t.app.unmerge_ticket(&own, a.id, b.id).await);
    assert!(tk(&t, b.id).await.trashed_at.is_some());
    // A trashed survivor must be restored first.
    t.app.trash_ticket(&ann, a.id).await.unwrap();
    match t.app.unmerge_ticket(&ann, a.id, b.id).await {
        Err(AppError::Domain(DomainError::Invalid(f))) => {
            assert!(f[0].message.contains("in the trash"), "{f:?}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    t.app.restore_ticket(&ann, a.id).await.unwrap();
    t.app.unmerge_ticket(&ann, a.id, b.id).await.unwrap();
}

async fn split_setup(t: &TestApp) -> (Actor, Conversation, Ticket, Contact, Vec<MessageId>) {
    let (_, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (c, src, k) = conversation_with_ticket(t, "first@customer.example").await;
    t.clock.advance_ms(1000);
    add_message(t, c.id, "Second: the scanner too").await;
    t.clock.advance_ms(1000);
    add_message(t, c.id, "Third: and the fax").await;
    let ids = message_ids(t, c.id).await;
    assert_eq!(ids.len(), 3);
    (ann, c, src, k, ids)
}

async fn split_moves_messages(t: TestApp) {
    let (ann, c, src, k, ids) = split_setup(&t).await;
    update(&t, &ann, src.id, &[("hs_ticket_priority", "HIGH")]).await;
    let props: BTreeMap<String, String> =
        [("subject".to_string(), "The scanner".to_string())].into();
    let new = t
        .app
        .split_ticket(&ann, src.id, &[ids[2], ids[1]], props)
        .await
        .unwrap();
    assert_ne!(new.id, src.id);
    assert_eq!(new.subject, "The scanner");
    assert_eq!(
        new.priority.as_deref(),
        Some("HIGH"),
        "defaults from the source"
    );
    assert_eq!(message_ids(&t, c.id).await, vec![ids[0]]);
    let d = t.app.ticket_details(&ann, new.id).await.unwrap();
    assert_eq!(d.conversations.len(), 1);
    let nc = &d.conversations[0];
    assert_ne!(nc.id, c.id);
    assert_eq!(nc.contact_id, Some(k.id), "same contact");
    assert_eq!(message_ids(&t, nc.id).await, vec![ids[1], ids[2]]);
    assert_eq!(contact_ids(&t, new.id).await, vec![k.id]);
    // Each ticket links to the other, and both histories record the split.
    let l_src = t.app.ticket_links(&ann, src.id).await.unwrap();
    let l_new = t.app.ticket_links(&ann, new.id).await.unwrap();
    assert_eq!(l_src.split_into, vec![new.id]);
    assert_eq!(l_new.split_from, Some(src.id));
    assert!(
        ticket_activity(&t, src.id)
            .await
            .iter()
            .any(|a| a.action == "split"
                && a.new_value.as_deref() == Some(new.id.0.to_string().as_str()))
    );
    assert!(
        ticket_activity(&t, new.id)
            .await
            .iter()
            .any(|a| a.action == "split"
                && a.old_value.as_deref() == Some(src.id.0.to_string().as_str()))
    );
    // Unknown properties are refused like on create, and nothing is split.
    let bad: BTreeMap<String, String> = [("no_such_property".to_string(), "x".to_string())].into();
    assert!(
        t.app
            .split_ticket(&ann, src.id, &[ids[0]], bad)
            .await
            .is_err()
    );
}

async fn split_refusals(t: TestApp) {
    let (ann, c, src, _, ids) = split_setup(&t).await;
    let (_, own) = t
        .agent("own@example.com", TicketAccessLevel::Owned, &[])
        .await;
    let (c2, other, _) = conversation_with_ticket(&t, "second@customer.example").await;
    let foreign = message_ids(&t, c2.id).await[0];
    let none = BTreeMap::new;
    assert_invalid(
        t.app.split_ticket(&ann, src.id, &[], none()).await,
        "messageIds",
    );
    assert_invalid(
        t.app
            .split_ticket(&ann, src.id, &[ids[1], foreign], none())
            .await,
        "messageIds",
    );
    assert_invalid(
        t.app
            .split_ticket(&ann, src.id, &[MessageId(999_999)], none())
            .await,
        "messageIds",
    );
    assert_invalid(
        t.app.split_ticket(&ann, src.id, &ids, none()).await,
        "messageIds",
    );
    // A second conversation on the same ticket: messages from both are refused.
    t.app.merge_tickets(&ann, src.id, other.id).await.unwrap();
    assert_invalid(
        t.app
            .split_ticket(&ann, src.id, &[ids[1], foreign], none())
            .await,
        "messageIds",
    );
    assert_not_found(t.app.split_ticket(&own, src.id, &[ids[1]], none()).await);
    t.app.trash_ticket(&ann, src.id).await.unwrap();
    assert_not_found(t.app.split_ticket(&ann, src.id, &[ids[1]], none()).await);
    assert_eq!(message_ids(&t, c.id).await.len(), 3, "nothing moved");
}

async fn split_undo(t: TestApp) {
    let (ann, c, src, _, ids) = split_setup(&t).await;
    let new = t
        .app
        .split_ticket(&ann, src.id, &[ids[2]], BTreeMap::new())
        .await
        .unwrap();
    let nc = t
        .app
        .ticket_details(&ann, new.id)
        .await
        .unwrap()
        .conversations[0]
        .id;
    // A reply arriving on the split-off conversation, and a comment on the new ticket.
    let reply = add_message(&t, nc, "Fax reply").await;
    t.app
        .comment(&ann, Some(new.id), None, "On the new ticket")
        .await
        .unwrap();
    match t.app.unmerge_ticket(&ann, src.id, new.id).await.unwrap() {
        Unmerged::Split { source, removed } => {
            assert_eq!(source.id, src.id);
            assert_eq!(removed, new.id);
        }
        other => panic!("expected a split undone, got {other:?}"),
    }
    assert_eq!(message_ids(&t, c.id).await, ids, "the messages are back");
    assert_not_found(t.app.ticket(&Actor::system(), new.id).await);
    let d = t.app.ticket_details(&ann, src.id).await.unwrap();
    // The reply stays with the conversation it arrived on, now on the source ticket.
    assert_eq!(d.conversations.len(), 2);
    assert_eq!(message_ids(&t, nc).await, vec![reply]);
    assert!(d.comments.iter().any(|c| c.body == "On the new ticket"));
    assert!(
        ticket_activity(&t, src.id)
            .await
            .iter()
            .any(|a| a.action == "unsplit")
    );
    assert!(
        t.app
            .ticket_links(&ann, src.id)
            .await
            .unwrap()
            .split_into
            .is_empty()
    );
    assert_eq!(ticket_count(&t).await, 1);

    // Without later arrivals the split-off conversation disappears with its ticket.
    let new = t
        .app
        .split_ticket(&ann, src.id, &[ids[1]], BTreeMap::new())
        .await
        .unwrap();
    let nc = t
        .app
        .ticket_details(&ann, new.id)
        .await
        .unwrap()
        .conversations[0]
        .id;
    t.app.unmerge_ticket(&ann, src.id, new.id).await.unwrap();
    assert_not_found(t.app.conversation(&Actor::system(), nc).await);
    assert_eq!(message_ids(&t, c.id).await, ids);
    // A split-off ticket in the trash must be restored before the split is undone.
    let new = t
        .app
        .split_ticket(&ann, src.id, &[ids[1]], BTreeMap::new())
        .await
        .unwrap();
    t.app.trash_ticket(&ann, new.id).await.unwrap();
    assert_invalid(
        t.app.unmerge_ticket(&ann, src.id, new.id).await,
        "mergedObjectId",
    );
}
