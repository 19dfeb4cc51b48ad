//! Connections going back to the pool: whatever a request was doing when it was cancelled (a
//! client gone mid-request, a timeout), the next borrower gets a connection outside any
//! transaction.

use std::time::Duration;

/// A read transaction's `BEGIN READ ONLY` cancelled while in flight used to leave its
/// PostgreSQL connection inside that transaction (sqlx #4393, fixed in 0.9.1): a later write
/// on it failed with "cannot execute … in a read-only transaction" — the sign-in failures once
/// seen in the browser flows on PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_cancelled_begin_leaves_no_transaction_for_the_next_borrower() {
    let Some(t) = fd_testkit::TestApp::postgres().await else {
        eprintln!("{} is not set: skipped", fd_testkit::POSTGRES_ENV);
        return;
    };
    let db = t.app.db().clone();
    for round in 0..300u64 {
        // Cancel at varying points: before the connection, during BEGIN, after it.
        let _ = tokio::time::timeout(Duration::from_micros(round * 3), db.read()).await;
        let mut tx = db.write().await.unwrap();
        tx.exec_test_sql("DELETE FROM leases WHERE name = 'none'")
            .await
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        tx.commit().await.unwrap();
    }
}
