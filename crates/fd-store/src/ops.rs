//! Operations: what `/metrics` reads from the database at each scrape (the job queue's
//! states, the outbox's oldest unsent message) and the consistent copy of a SQLite
//! database that `frontdesk backup` archives.
//!
//! Only SQL and SQLite's own copy mechanism; no knowledge of HTTP or of the archive format.

use std::path::Path;
use std::time::Duration;

use fd_domain::Millis;

use crate::{StoreError, Tx, args};

/// Gauges read from the database at a scrape.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpsGauges {
    /// Pending jobs no worker holds a live lease on (due now or later).
    pub jobs_queued: i64,
    /// Pending jobs a worker holds a live lease on.
    pub jobs_running: i64,
    /// Jobs that ran out of attempts.
    pub jobs_failed: i64,
    /// Outgoing messages still waiting for the relay.
    pub outbox_queued: i64,
    /// When the oldest of them was written, if any.
    pub outbox_oldest_at: Option<Millis>,
}

impl Tx {
    /// The job queue by state and the outbox's backlog, as of `now` (leases past `now` have
    /// expired: their jobs count as queued, as the next claim will take them).
    pub async fn ops_gauges(&mut self, now: Millis) -> Result<OpsGauges, StoreError> {
        let jobs = self
            .one(
                "SELECT \
                   COALESCE(SUM(CASE WHEN status = 'pending' AND (locked_until IS NULL OR locked_until <= $1) THEN 1 ELSE 0 END), 0) AS queued, \
                   COALESCE(SUM(CASE WHEN status = 'pending' AND locked_until > $1 THEN 1 ELSE 0 END), 0) AS running, \
                   COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) AS failed \
                 FROM jobs",
                args![now],
            )
            .await?;
        let outbox = self
            .one(
                "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM messages WHERE status = 'queued'",
                args![],
            )
            .await?;
        Ok(OpsGauges {
            jobs_queued: jobs.i64("queued")?,
            jobs_running: jobs.i64("running")?,
            jobs_failed: jobs.i64("failed")?,
            outbox_queued: outbox.i64("n")?,
            outbox_oldest_at: outbox.opt_i64("oldest")?,
        })
    }
}

/// Writes a transactionally consistent copy of the SQLite database at `source` to `dest`
/// (which must not exist) with `VACUUM INTO`: it reads one snapshot of the database, WAL
/// included, while a server keeps writing (WAL readers never block writers), and the copy is
/// a compact, self-contained file without a WAL. Blocking; call it off the async runtime.
pub fn sqlite_snapshot(source: &Path, dest: &Path) -> Result<(), StoreError> {
    use rusqlite::{Connection, OpenFlags};
    if dest.exists() {
        return Err(StoreError::Internal(format!(
            "{} already exists; the snapshot needs a new file",
            dest.display()
        )));
    }
    let conn = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(StoreError::SqliteConnect)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    let dest = dest
        .to_str()
        .ok_or_else(|| StoreError::Internal(format!("{} is not UTF-8", dest.display())))?;
    conn.execute("VACUUM INTO ?1", [dest])?;
    Ok(())
}

/// The highest migration applied to a SQLite database file (sqlx's bookkeeping table), to
/// describe a backup. Blocking.
pub fn sqlite_schema_version(path: &Path) -> Result<i64, StoreError> {
    use rusqlite::{Connection, OpenFlags};
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(StoreError::SqliteConnect)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    let v: Option<i64> = conn.query_row(
        "SELECT MAX(version) FROM _sqlx_migrations WHERE success",
        [],
        |r| r.get(0),
    )?;
    Ok(v.unwrap_or(0))
}
