//! SQLite without a thread hop per statement.
//!
//! sqlx runs each SQLite connection on a worker thread of its own, so every statement is a
//! message to that thread and a wake-up on the way back. A use case runs ten or more
//! statements, and on two cores those hand-offs cost more than SQLite's own work (a single
//! row insert by key takes a few microseconds). Here a connection is a plain rusqlite
//! connection owned by the task that holds it, and statements run inline on that task.
//!
//! Running inline is sound because the work is short and never waits on anything but the
//! database file: writers of this process queue on `Db`'s async write lock before `BEGIN
//! IMMEDIATE`, so SQLite's busy handler (which sleeps) only ever waits for another process
//! such as the admin CLI; WAL readers never wait for writers.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, OpenFlags};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{Arg, StoreError};

/// Open connections kept for reuse, at most `max` readers in use at once, plus the one
/// connection every write transaction uses.
///
/// Writes share one connection because a connection that sees another one's commit throws
/// its whole page cache away at its next transaction; spread over a pool, every write would
/// start cold. (`Db`'s write lock already lets one write transaction run at a time.)
pub(crate) struct SqlitePool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    writer: Mutex<Option<Connection>>,
    permits: Arc<Semaphore>,
    /// How many pooled (reader) connections may be out at once.
    max: usize,
}

impl std::fmt::Debug for SqlitePool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlitePool")
            .field("path", &self.path)
            .finish()
    }
}

/// Enough for the statements of every use case plus a few hundred shapes of dynamic search
/// SQL; beyond it the least recently used is finalised.
const STATEMENT_CACHE: usize = 512;

impl SqlitePool {
    /// Opens (creating when missing) the database file and checks that it is usable.
    pub(crate) fn open(path: PathBuf, max: usize) -> Result<Arc<SqlitePool>, StoreError> {
        let pool = Arc::new(SqlitePool {
            path,
            idle: Mutex::new(Vec::new()),
            writer: Mutex::new(None),
            permits: Arc::new(Semaphore::new(max)),
            max,
        });
        let first = pool.connect().map_err(StoreError::SqliteConnect)?;
        pool.release(first, false);
        Ok(pool)
    }

    pub(crate) fn path(&self) -> &std::path::Path {
        &self.path
    }

    fn connect(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(30))?;
        // journal_mode answers with a row, so it is read rather than executed.
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        // WAL + NORMAL is durable against application crashes and keeps commits cheap; a
        // power loss may only roll back the last transactions (SQLite docs, "WAL"). Storing
        // accepted mail cannot accept that (RFC 5321 §6.1): `Db::write_durable` switches the
        // writers' connection to FULL for that transaction's commit.
        conn.execute_batch(
            "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
             PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;",
        )?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // Checkpoints run on the committing writer's time; every 4,000 pages (16 MB of WAL)
        // instead of 1,000 they copy a page rewritten by many transactions once, not four
        // times, and sync a quarter as often.
        conn.execute_batch("PRAGMA wal_autocheckpoint = 4000;")?;
        Ok(conn)
    }

    pub(crate) async fn acquire(self: &Arc<Self>) -> Result<PooledConn, StoreError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Internal("the database has been closed".into()))?;
        let idle = self.idle.lock().ok().and_then(|mut v| v.pop());
        self.checkout(idle, Some(permit))
    }

    /// Connections the pool may hand out (the writers' one included) and how many are out
    /// now, for the metrics endpoint.
    pub(crate) fn usage(&self) -> (usize, usize) {
        let readers = self.max.saturating_sub(self.permits.available_permits());
        let writer_out = self.writer.lock().map(|w| w.is_none()).unwrap_or(false);
        (self.max + 1, readers + usize::from(writer_out))
    }

    /// The writers' connection. Only one caller at a time may hold it: `Db` calls this
    /// under its write lock.
    pub(crate) fn acquire_writer(self: &Arc<Self>) -> Result<PooledConn, StoreError> {
        if self.permits.is_closed() {
            return Err(StoreError::Internal("the database has been closed".into()));
        }
        let kept = self.writer.lock().ok().and_then(|mut w| w.take());
        self.checkout(kept, None)
    }

    /// `kept`, or a new connection when none was kept.
    fn checkout(
        self: &Arc<Self>,
        kept: Option<Connection>,
        permit: Option<OwnedSemaphorePermit>,
    ) -> Result<PooledConn, StoreError> {
        let conn = match kept {
            Some(c) => c,
            None => self.connect().map_err(StoreError::SqliteConnect)?,
        };
        Ok(PooledConn {
            conn: Some(conn),
            pool: self.clone(),
            permit,
        })
    }

    fn release(&self, conn: Connection, writer: bool) {
        if self.permits.is_closed() {
            return;
        }
        if writer {
            if let Ok(mut w) = self.writer.lock() {
                *w = Some(conn);
            }
        } else if let Ok(mut idle) = self.idle.lock() {
            idle.push(conn);
        }
    }

    pub(crate) fn close(&self) {
        self.permits.close();
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
        if let Ok(mut w) = self.writer.lock() {
            *w = None;
        }
    }
}

/// A connection checked out of the pool; back in the pool when dropped, unless it is left
/// inside a transaction (then it is closed, which rolls the transaction back).
pub(crate) struct PooledConn {
    conn: Option<Connection>,
    pool: Arc<SqlitePool>,
    /// A reader's place in the pool; `None` for the writers' connection.
    permit: Option<OwnedSemaphorePermit>,
}

impl Drop for PooledConn {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take()
            && conn.is_autocommit()
        {
            self.pool.release(conn, self.permit.is_none());
        }
    }
}

impl PooledConn {
    fn conn(&self) -> Result<&Connection, StoreError> {
        self.conn
            .as_ref()
            .ok_or_else(|| StoreError::Internal("connection already returned".into()))
    }
}

/// A transaction on a pooled connection: `ROLLBACK` when dropped before `commit`.
pub(crate) struct SqliteTx {
    conn: PooledConn,
    open: bool,
    /// Began with `synchronous = FULL` (see `Db::write_durable`): back to `NORMAL` once
    /// the transaction has ended, as SQLite refuses to change it inside one.
    durable: bool,
}

impl SqliteTx {
    pub(crate) fn begin(conn: PooledConn, immediate: bool) -> Result<SqliteTx, StoreError> {
        run(
            conn.conn()?,
            if immediate {
                "BEGIN IMMEDIATE"
            } else {
                "BEGIN"
            },
        )?;
        Ok(SqliteTx {
            conn,
            open: true,
            durable: false,
        })
    }

    /// `BEGIN IMMEDIATE` on a connection switched to `synchronous = FULL`, whose `COMMIT`
    /// therefore syncs the WAL to disk before it returns.
    pub(crate) fn begin_durable(conn: PooledConn) -> Result<SqliteTx, StoreError> {
        run(conn.conn()?, "PRAGMA synchronous = FULL")?;
        let mut tx = SqliteTx {
            conn,
            open: false,
            durable: true,
        };
        run(tx.conn.conn()?, "BEGIN IMMEDIATE")?;
        tx.open = true;
        Ok(tx)
    }

    pub(crate) fn commit(mut self) -> Result<(), StoreError> {
        run(self.conn.conn()?, "COMMIT")?;
        self.open = false;
        Ok(())
    }

    /// Runs a statement to its end; returns the rows it changed.
    pub(crate) fn exec(&self, sql: &str, args: &[Arg]) -> Result<u64, StoreError> {
        let conn = self.conn.conn()?;
        let mut st = conn.prepare_cached(&numbered(sql))?;
        bind(&mut st, args)?;
        let mut rows = st.raw_query();
        while rows.next()?.is_some() {}
        Ok(conn.changes())
    }

    /// Rows of a query; `limit` stops after that many (the statement's changes, as for
    /// `RETURNING`, all happen at its first step).
    pub(crate) fn query(
        &self,
        sql: &str,
        args: &[Arg],
        limit: Option<usize>,
    ) -> Result<Vec<SqliteRow>, StoreError> {
        let conn = self.conn.conn()?;
        let mut st = conn.prepare_cached(&numbered(sql))?;
        bind(&mut st, args)?;
        let columns: Arc<[String]> = st.column_names().into_iter().map(String::from).collect();
        let width = columns.len();
        let mut out = Vec::new();
        let mut rows = st.raw_query();
        while let Some(r) = rows.next()? {
            let mut values = Vec::with_capacity(width);
            for i in 0..width {
                values.push(owned(r.get_ref(i)?));
            }
            out.push(SqliteRow {
                columns: columns.clone(),
                values,
            });
            if limit.is_some_and(|l| out.len() >= l) {
                break;
            }
        }
        Ok(out)
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        if self.open
            && let Ok(conn) = self.conn.conn()
            && let Err(e) = run(conn, "ROLLBACK")
        {
            tracing::warn!(error = %e, "rollback failed; the connection is discarded");
        }
        // After the commit (or rollback): the connection's other transactions keep NORMAL.
        // Should this fail, the connection only stays slower, never less safe.
        if self.durable
            && let Ok(conn) = self.conn.conn()
            && conn.is_autocommit()
            && let Err(e) = run(conn, "PRAGMA synchronous = NORMAL")
        {
            tracing::warn!(error = %e, "cannot restore synchronous = NORMAL");
        }
    }
}

fn owned(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

/// BEGIN, COMMIT, ROLLBACK: prepared once per connection like any other statement.
fn run(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.raw_execute().map(drop)
}

/// The statement with each `$N` placeholder written `?N`. SQLite numbers `$name` parameters
/// in order of first appearance and finds a name's number by walking a list, so binding
/// `$N` by name costs a walk per parameter (quadratic in a multi-row insert); `?N` is
/// parameter N itself. Quoted text and identifiers are left alone.
fn numbered(sql: &str) -> String {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<u8> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'\'' || b == b'"' => quote = Some(b),
            None if b == b'$' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                out.push_str(&sql[copied..i]);
                out.push('?');
                copied = i + 1;
            }
            None => {}
        }
        i += 1;
    }
    out.push_str(&sql[copied..]);
    out
}

/// Binds argument N to `?N`. An argument the statement does not use is not bound.
fn bind(st: &mut rusqlite::Statement<'_>, args: &[Arg]) -> Result<(), StoreError> {
    let used = st.parameter_count();
    if used > args.len() {
        return Err(StoreError::Internal(format!(
            "the statement uses {used} parameters, {} bound",
            args.len()
        )));
    }
    for (i, arg) in args.iter().take(used).enumerate() {
        let index = i + 1;
        match arg {
            Arg::I64(v) => st.raw_bind_parameter(index, v)?,
            Arg::Text(v) => st.raw_bind_parameter(index, v)?,
            Arg::Bool(v) => st.raw_bind_parameter(index, v)?,
            Arg::Bytes(v) => st.raw_bind_parameter(index, v)?,
        }
    }
    Ok(())
}

/// A row read out of SQLite, owning its values.
#[derive(Debug, Clone)]
pub struct SqliteRow {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

impl SqliteRow {
    fn at(&self, col: &str) -> Result<&Value, StoreError> {
        self.columns
            .iter()
            .position(|c| c == col)
            .and_then(|i| self.values.get(i))
            .ok_or_else(|| StoreError::Decode(format!("no column {col}")))
    }

    pub(crate) fn opt_i64(&self, col: &str) -> Result<Option<i64>, StoreError> {
        opt_i64(self.at(col)?, col)
    }
    pub(crate) fn i64(&self, col: &str) -> Result<i64, StoreError> {
        self.opt_i64(col)?
            .ok_or_else(|| StoreError::Decode(format!("column {col}: unexpected null")))
    }
    pub(crate) fn i64_at(&self, idx: usize) -> Result<i64, StoreError> {
        let v = self
            .values
            .get(idx)
            .ok_or_else(|| StoreError::Decode(format!("no column {idx}")))?;
        opt_i64(v, idx)?.ok_or_else(|| StoreError::Decode(format!("column {idx}: unexpected null")))
    }
    pub(crate) fn opt_string(&self, col: &str) -> Result<Option<String>, StoreError> {
        match self.at(col)? {
            Value::Null => Ok(None),
            Value::Text(t) => Ok(Some(t.clone())),
            Value::Integer(i) => Ok(Some(i.to_string())),
            Value::Blob(b) => String::from_utf8(b.clone())
                .map(Some)
                .map_err(|e| StoreError::Decode(format!("column {col}: {e}"))),
            Value::Real(_) => Err(StoreError::Decode(format!(
                "column {col}: real where text was expected"
            ))),
        }
    }
    pub(crate) fn string(&self, col: &str) -> Result<String, StoreError> {
        self.opt_string(col)?
            .ok_or_else(|| StoreError::Decode(format!("column {col}: unexpected null")))
    }
    pub(crate) fn bool(&self, col: &str) -> Result<bool, StoreError> {
        Ok(self.i64(col)? != 0)
    }
    pub(crate) fn bytes(&self, col: &str) -> Result<Vec<u8>, StoreError> {
        match self.at(col)? {
            Value::Blob(b) => Ok(b.clone()),
            Value::Text(t) => Ok(t.clone().into_bytes()),
            other => Err(StoreError::Decode(format!(
                "column {col}: {other:?} where bytes were expected"
            ))),
        }
    }
}

fn opt_i64(v: &Value, col: impl std::fmt::Display) -> Result<Option<i64>, StoreError> {
    match v {
        Value::Null => Ok(None),
        Value::Integer(i) => Ok(Some(*i)),
        // SUM over integers, a CASE mixing literals: SQLite's dynamic typing can hand back
        // an integral real.
        Value::Real(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(*f as i64)),
        other => Err(StoreError::Decode(format!(
            "column {col}: {other:?} where an integer was expected"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::numbered;

    #[test]
    fn placeholders_become_numbered_outside_quotes() {
        assert_eq!(
            numbered("UPDATE t SET a = $2 WHERE id = $1 AND b IN ($10, $1)"),
            "UPDATE t SET a = ?2 WHERE id = ?1 AND b IN (?10, ?1)"
        );
        assert_eq!(
            numbered("SELECT '$1', \"$2\", 'it''s $3', $4 FROM t"),
            "SELECT '$1', \"$2\", 'it''s $3', ?4 FROM t"
        );
        assert_eq!(numbered("SELECT $ || $x, $"), "SELECT $ || $x, $");
    }
}
