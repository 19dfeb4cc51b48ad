//! SQLite's single writer: how write transactions of one process queue for it. PostgreSQL
//! takes row locks instead and has no such queue, so these run on SQLite only.

use std::sync::{Arc, Mutex};

use fd_store::Db;

/// Lets every spawned task run until it waits (the test runtime has one thread).
async fn settle() {
    for _ in 0..16 {
        tokio::task::yield_now().await;
    }
}

/// Storing received mail is an urgent write (an SMTP client waits for its 250): it waits for
/// the transaction running and the one ordinary writer already queued, never for every
/// ordinary writer behind them.
#[tokio::test]
async fn sqlite_urgent_writer_goes_ahead_of_queued_ordinary_writers() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&dir.path().join("writers.db").display().to_string())
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let order: Arc<Mutex<Vec<&'static str>>> = Arc::default();
    let writer = |name: &'static str, urgent: bool| {
        let db = db.clone();
        let order = order.clone();
        tokio::spawn(async move {
            let tx = if urgent {
                db.write_urgent().await
            } else {
                db.write().await
            }
            .unwrap();
            order.lock().unwrap().push(name);
            tx.commit().await.unwrap();
        })
    };

    let running = db.write().await.unwrap();
    let mut tasks = Vec::new();
    for name in ["ordinary 1", "ordinary 2", "ordinary 3"] {
        tasks.push(writer(name, false));
        settle().await;
    }
    assert!(!db.writer_wanted(), "no urgent writer yet");
    tasks.push(writer("urgent", true));
    settle().await;
    assert!(db.writer_wanted(), "an ingest batch would now commit early");
    assert!(
        order.lock().unwrap().is_empty(),
        "all wait for the running one"
    );

    running.commit().await.unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(
        *order.lock().unwrap(),
        ["ordinary 1", "urgent", "ordinary 2", "ordinary 3"]
    );
    assert!(!db.writer_wanted());
}
