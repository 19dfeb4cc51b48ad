//! The agents' reading state (issue 13, item 8): one row per agent and record, rewritten on
//! each opening, gone when the record is purged; list digests read a page of records by id.

use std::collections::BTreeMap;

use fd_app::domain::*;
use fd_app::{Actor, NewTicket};
use fd_testkit::TestApp;

fd_testkit::on_both_backends! {
    reads_are_per_agent_rewritten_and_purged_with_the_record => per_agent_rewritten_purged;
}

async fn per_agent_rewritten_purged(t: TestApp) {
    let (ann, _) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (bob, _) = t
        .agent("bob@example.com", TicketAccessLevel::All, &[])
        .await;
    let props: BTreeMap<String, String> = [
        ("subject", "Kettle"),
        ("hs_pipeline_stage", "1"),
        ("content", "It leaks"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let ticket = t
        .app
        .create_ticket(
            &Actor::system(),
            NewTicket {
                properties: props,
                ..NewTicket::default()
            },
        )
        .await
        .unwrap();
    let db = t.app.db();
    let mut tx = db.write().await.unwrap();
    tx.mark_read(ann.id, "ticket", ticket.id.0, 100)
        .await
        .unwrap();
    tx.mark_read(ann.id, "ticket", ticket.id.0, 200)
        .await
        .unwrap();
    tx.mark_read(bob.id, "ticket", ticket.id.0, 150)
        .await
        .unwrap();
    assert_eq!(
        tx.read_at(ann.id, "ticket", ticket.id.0).await.unwrap(),
        Some(200)
    );
    assert_eq!(
        tx.read_at(bob.id, "ticket", ticket.id.0).await.unwrap(),
        Some(150)
    );
    assert_eq!(
        tx.read_at(ann.id, "conversation", ticket.id.0)
            .await
            .unwrap(),
        None
    );
    let d = tx
        .ticket_digests(ann.id, &[ticket.id, TicketId(999_999)])
        .await
        .unwrap();
    assert_eq!(d.len(), 1, "an unknown id has no digest");
    assert_eq!(d[0].id, ticket.id.0);
    assert_eq!(d[0].latest_text, None, "no message yet");
    assert_eq!(d[0].last_customer_message_at, None);
    assert_eq!(d[0].read_at, Some(200));
    assert!(tx.ticket_digests(ann.id, &[]).await.unwrap().is_empty());
    tx.commit().await.unwrap();
    // An unknown kind of record is refused by the table's check.
    let mut tx = db.write().await.unwrap();
    assert!(tx.mark_read(ann.id, "company", 1, 1).await.is_err());
    drop(tx);
    let mut tx = db.write().await.unwrap();
    assert_eq!(
        tx.read_at(ann.id, "ticket", ticket.id.0).await.unwrap(),
        Some(200)
    );
    tx.purge_ticket(ticket.id, 0).await.unwrap();
    assert_eq!(
        tx.read_at(ann.id, "ticket", ticket.id.0).await.unwrap(),
        None
    );
    assert_eq!(
        tx.read_at(bob.id, "ticket", ticket.id.0).await.unwrap(),
        None
    );
    tx.commit().await.unwrap();
}
