//! What the store reports when a write is refused, and how durable a mail acceptance is.

use fd_store::{Backend, StoreError};
use fd_testkit::TestApp;

fd_testkit::on_both_backends! {
    unique_constraint_failure_is_a_conflict_in_our_words => unique_conflict;
    rfc_5321_mail_acceptance_commit_is_synchronous => durable_write;
}

/// A unique-constraint failure is `StoreError::Conflict` naming what is taken in our words;
/// the database's message (table and column names) is kept only as the detail for logs.
async fn unique_conflict(t: TestApp) {
    let db = t.app.db();
    let mut tx = db.write().await.unwrap();
    tx.insert_team("Support", fd_testkit::START_MS)
        .await
        .unwrap();
    let err = tx
        .insert_team("Support", fd_testkit::START_MS)
        .await
        .unwrap_err();
    drop(tx);
    match &err {
        StoreError::Conflict { what, detail } => {
            assert_eq!(*what, "A team with this name");
            assert!(
                detail.contains("teams"),
                "the detail keeps the cause: {detail}"
            );
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    let shown = err.to_string();
    assert_eq!(shown, "A team with this name already exists");
}

/// RFC 5321 §6.1: the transaction that stores accepted mail commits synchronously — SQLite
/// with `synchronous = FULL` (2) for it, then back to NORMAL (1) for ordinary writes;
/// PostgreSQL with `synchronous_commit = on` even where the server's default is off (as in
/// the throwaway test cluster).
async fn durable_write(t: TestApp) {
    let db = t.app.db();
    for _ in 0..2 {
        let mut tx = db.write_durable().await.unwrap();
        let during = tx.commit_durability().await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = db.write().await.unwrap();
        let after = tx.commit_durability().await.unwrap();
        tx.commit().await.unwrap();
        match t.backend {
            Backend::Sqlite => {
                assert_eq!(during, "2", "FULL while storing accepted mail");
                assert_eq!(after, "1", "NORMAL again for ordinary writes");
            }
            Backend::Postgres => assert_eq!(during, "on"),
        }
    }
    // A durable transaction that fails restores NORMAL too.
    if t.backend == Backend::Sqlite {
        let tx = db.write_durable().await.unwrap();
        drop(tx);
        let mut tx = db.write().await.unwrap();
        assert_eq!(tx.commit_durability().await.unwrap(), "1");
        tx.commit().await.unwrap();
    }
}
