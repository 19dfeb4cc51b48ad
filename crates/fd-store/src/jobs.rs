//! The durable job queue: enqueue inside the transaction of the write that needs the job,
//! claim due jobs with a lease, finish a job in the transaction of its effect.
//!
//! Claiming is one `UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING`: on PostgreSQL the
//! subquery takes `FOR UPDATE SKIP LOCKED`, so concurrent workers on any number of nodes get
//! disjoint jobs without waiting on each other; on SQLite the surrounding `BEGIN IMMEDIATE`
//! holds the single write lock. A lease (`locked_until`) expires, so a job whose worker died
//! is claimed again; jobs must therefore be idempotent.

use fd_domain::Millis;

use crate::{Backend, StoreError, Tx, args};

/// A claimed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    /// Including the current one.
    pub attempts: i64,
    pub max_attempts: i64,
}

/// A job that ran out of attempts, for admins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedJob {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub updated_at: Millis,
}

impl Tx {
    pub async fn enqueue_job(
        &mut self,
        kind: &str,
        payload: &str,
        run_at: Millis,
        max_attempts: i64,
        now: Millis,
    ) -> Result<i64, StoreError> {
        let r = self
            .one(
                "INSERT INTO jobs (kind, payload, status, run_at, attempts, max_attempts, created_at, updated_at) \
                 VALUES ($1, $2, 'pending', $3, 0, $4, $5, $5) RETURNING id",
                args![kind, payload, run_at, max_attempts, now],
            )
            .await?;
        r.i64("id")
    }

    /// Enqueues one job of `kind` per payload in one statement.
    pub async fn enqueue_jobs(
        &mut self,
        kind: &str,
        payloads: &[String],
        run_at: Millis,
        max_attempts: i64,
        now: Millis,
    ) -> Result<(), StoreError> {
        // SQLite allows 32766 bound values per statement; 5 per row.
        for chunk in payloads.chunks(1000) {
            let mut sql = crate::Sql::new(
                "INSERT INTO jobs (kind, payload, status, run_at, attempts, max_attempts, created_at, updated_at) VALUES ",
            );
            for (i, payload) in chunk.iter().enumerate() {
                sql.push(if i == 0 { "(" } else { ", (" });
                sql.bind(kind).push(", ").bind(payload.as_str());
                sql.push(", 'pending', ").bind(run_at).push(", 0, ");
                sql.bind(max_attempts).push(", ").bind(now).push(", ");
                sql.bind(now).push(")");
            }
            self.exec_sql(sql).await?;
        }
        Ok(())
    }

    /// Leases up to `limit` due jobs to `worker` until `now + lease_ms`.
    pub async fn claim_jobs(
        &mut self,
        worker: &str,
        now: Millis,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<Job>, StoreError> {
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE jobs SET locked_by = $1, locked_until = $2, attempts = attempts + 1, updated_at = $3 \
             WHERE id IN (SELECT id FROM jobs WHERE status = 'pending' AND run_at <= $3 \
             AND (locked_until IS NULL OR locked_until <= $3) ORDER BY run_at, id LIMIT $4{lock}) \
             RETURNING id, kind, payload, attempts, max_attempts"
        );
        let rows = self
            .all(&sql, args![worker, now + lease_ms, now, limit])
            .await?;
        let mut jobs = rows
            .iter()
            .map(|r| {
                Ok(Job {
                    id: r.i64("id")?,
                    kind: r.string("kind")?,
                    payload: r.string("payload")?,
                    attempts: r.i64("attempts")?,
                    max_attempts: r.i64("max_attempts")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        // RETURNING does not keep the subquery's order.
        jobs.sort_by_key(|j| j.id);
        Ok(jobs)
    }

    /// Moves the lease of the jobs `worker` still holds among `ids` to `until` (the
    /// heartbeat of a worker that is alive but still busy), and returns how many it holds.
    /// A job another worker took over after an expired lease is left alone.
    pub async fn renew_leases(
        &mut self,
        ids: &[i64],
        worker: &str,
        until: Millis,
    ) -> Result<u64, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut sql = crate::Sql::new("UPDATE jobs SET locked_until = ");
        sql.bind(until).push(" WHERE locked_by = ").bind(worker);
        sql.push(" AND status = 'pending' AND id IN (");
        sql.bind_list(ids.iter().copied());
        sql.push(")");
        self.exec_sql(sql).await
    }

    /// Deletes a finished job, if `worker` still holds it. Returns false when the lease was
    /// lost (another worker re-ran it; jobs are idempotent, so that is harmless).
    pub async fn complete_job(&mut self, id: i64, worker: &str) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "DELETE FROM jobs WHERE id = $1 AND locked_by = $2",
                args![id, worker],
            )
            .await?;
        Ok(n == 1)
    }

    /// Deletes several finished jobs held by `worker` in one statement; returns how many
    /// were still held.
    pub async fn complete_jobs(&mut self, ids: &[i64], worker: &str) -> Result<u64, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut sql = crate::Sql::new("DELETE FROM jobs WHERE locked_by = ");
        sql.bind(worker).push(" AND id IN (");
        sql.bind_list(ids.iter().copied());
        sql.push(")");
        self.exec_sql(sql).await
    }

    /// Releases the job to run again at `run_at` (retry with backoff).
    pub async fn retry_job(
        &mut self,
        id: i64,
        run_at: Millis,
        error: &str,
        now: Millis,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE jobs SET locked_by = NULL, locked_until = NULL, run_at = $2, last_error = $3, updated_at = $4 WHERE id = $1",
            args![id, run_at, error, now],
        )
        .await?;
        Ok(())
    }

    /// Gives up on a job: it stays, marked failed, for admins to see.
    pub async fn fail_job(&mut self, id: i64, error: &str, now: Millis) -> Result<(), StoreError> {
        self.exec(
            "UPDATE jobs SET status = 'failed', locked_by = NULL, locked_until = NULL, last_error = $2, updated_at = $3 WHERE id = $1",
            args![id, error, now],
        )
        .await?;
        Ok(())
    }

    /// Pending jobs (due or not), for tests and health.
    pub async fn pending_job_count(&mut self) -> Result<i64, StoreError> {
        let r = self
            .one(
                "SELECT COUNT(*) AS n FROM jobs WHERE status = 'pending'",
                args![],
            )
            .await?;
        r.i64("n")
    }

    /// The earliest `run_at` of a pending job.
    pub async fn next_job_at(&mut self) -> Result<Option<Millis>, StoreError> {
        let r = self
            .one(
                "SELECT MIN(run_at) AS t FROM jobs WHERE status = 'pending'",
                args![],
            )
            .await?;
        r.opt_i64("t")
    }

    pub async fn failed_jobs(&mut self, limit: i64) -> Result<Vec<FailedJob>, StoreError> {
        let rows = self
            .all(
                "SELECT id, kind, payload, attempts, last_error, updated_at FROM jobs WHERE status = 'failed' \
                 ORDER BY id DESC LIMIT $1",
                args![limit],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(FailedJob {
                    id: r.i64("id")?,
                    kind: r.string("kind")?,
                    payload: r.string("payload")?,
                    attempts: r.i64("attempts")?,
                    last_error: r.opt_string("last_error")?,
                    updated_at: r.i64("updated_at")?,
                })
            })
            .collect()
    }
}
