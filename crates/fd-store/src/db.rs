//! Connections, transactions and the one execution path for SQL on both backends.
//!
//! Queries are written once with `$1…$n` placeholders: PostgreSQL (through sqlx) reads them
//! natively, and the SQLite path (`sqlite.rs`, rusqlite) rewrites them to `?N`. Where the
//! dialects differ (row locks, identity sequences, text search), callers branch on
//! [`Backend`].

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{AssertSqlSafe, ConnectOptions as _, Connection as _, PgPool, Row as _};

use crate::StoreError;
use crate::sqlite::{SqlitePool, SqliteRow, SqliteTx};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A handle on the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    pub(crate) pool: Pool,
    /// SQLite allows one writer at a time. Writers of this process queue on this async lock
    /// instead of racing for the file lock, because SQLite's busy handler waits by sleeping
    /// and polling, which collapses throughput under contention. Other processes (the admin
    /// CLI) still meet the busy timeout.
    write_lock: Arc<tokio::sync::Mutex<()>>,
    /// Ordinary writers pass this gate before queueing on `write_lock`, urgent ones do not:
    /// an urgent writer waits for at most the transaction running and one queued ordinary
    /// one, however many ordinary writers are waiting.
    write_gate: Arc<tokio::sync::Mutex<()>>,
    /// Urgent writers waiting for `write_lock`.
    urgent_waiting: Arc<std::sync::atomic::AtomicUsize>,
    /// The active webhook subscriptions, for the outbox (`webhooks.rs`).
    hooks: Arc<crate::webhooks::HookCache>,
}

#[derive(Clone, Debug)]
pub(crate) enum Pool {
    Sqlite(Arc<SqlitePool>),
    Postgres(PgPool),
}

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Db {
    /// Opens `postgres://…` / `postgresql://…` on PostgreSQL, `sqlite:…` or a file path on SQLite
    /// (created when missing). Does not migrate.
    pub async fn connect(url: &str) -> Result<Db, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url).map_err(StoreError::connect)?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
                .map_err(StoreError::connect)?;
            Ok(Db {
                pool: Pool::Postgres(pool),
                write_lock: Arc::new(tokio::sync::Mutex::new(())),
                write_gate: Arc::new(tokio::sync::Mutex::new(())),
                urgent_waiting: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
                hooks: Arc::default(),
            })
        } else {
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"));
            let pool = SqlitePool::open(path.unwrap_or(url).into(), 8)?;
            Ok(Db {
                pool: Pool::Sqlite(pool),
                write_lock: Arc::new(tokio::sync::Mutex::new(())),
                write_gate: Arc::new(tokio::sync::Mutex::new(())),
                urgent_waiting: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
                hooks: Arc::default(),
            })
        }
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies pending migrations (idempotent; safe while other nodes run).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(p) => {
                // Migrations keep sqlx's runner and its bookkeeping table, on a connection
                // of their own.
                let mut conn = SqliteConnectOptions::new()
                    .filename(p.path())
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(30))
                    .connect()
                    .await
                    .map_err(StoreError::connect)?;
                SQLITE_MIGRATOR.run(&mut conn).await?;
                conn.close().await?;
            }
            Pool::Postgres(p) => POSTGRES_MIGRATOR.run(p).await?,
        }
        // A migration that rebuilds the search index queues every record; index them now,
        // before the node serves, in batches that keep each transaction short.
        crate::search_index::backfill(self, 2000).await?;
        Ok(())
    }

    /// A write transaction. On SQLite it is `BEGIN IMMEDIATE`: a deferred transaction that
    /// reads and then writes fails with SQLITE_BUSY when another writer committed meanwhile.
    pub async fn write(&self) -> Result<Tx, StoreError> {
        self.begin_write(false).await
    }

    /// A write transaction that goes ahead of ordinary ones waiting on SQLite's single
    /// writer: for short transactions someone is waiting on, such as storing received mail
    /// before SMTP may answer 250 (ingesting it can wait; the sending server cannot).
    pub async fn write_urgent(&self) -> Result<Tx, StoreError> {
        self.begin_write(true).await
    }

    /// An urgent write transaction whose commit is on disk when `commit` returns, for
    /// storing accepted mail. RFC 5321 §6.1: once a server has answered 250 to the end of
    /// DATA it is responsible for the message, so the commit that stores it must survive a
    /// power failure before that answer goes out (the same holds for an IMAP message marked
    /// or `mailgate` exiting 0). The rest of the database runs with SQLite's
    /// `synchronous=NORMAL`, whose WAL commits survive a crash of the process but may be
    /// rolled back by a power loss: this transaction switches the writers' connection to
    /// `FULL` (in WAL mode, an fsync of the WAL at each commit) for its own commit only. On
    /// PostgreSQL it sets `synchronous_commit = on` for itself, whatever the server, database
    /// or role default says. Callers group several messages into one such commit, so the
    /// sync is paid once per batch.
    pub async fn write_durable(&self) -> Result<Tx, StoreError> {
        let mut tx = self.begin_write_with(true, true).await?;
        if let Conn::Postgres(t) = &mut tx.conn {
            sqlx::query("SET LOCAL synchronous_commit = on")
                .execute(&mut **t)
                .await?;
        }
        Ok(tx)
    }

    /// Whether an urgent writer is waiting for SQLite's writer: a long series of writes
    /// should commit what it has and let it in.
    pub fn writer_wanted(&self) -> bool {
        self.urgent_waiting
            .load(std::sync::atomic::Ordering::SeqCst)
            > 0
    }

    async fn begin_write(&self, urgent: bool) -> Result<Tx, StoreError> {
        self.begin_write_with(urgent, false).await
    }

    async fn begin_write_with(&self, urgent: bool, durable: bool) -> Result<Tx, StoreError> {
        let mut tx = self.begin_write_conn(urgent, durable).await?;
        tx.hooks = Some(self.hooks.clone());
        Ok(tx)
    }

    async fn begin_write_conn(&self, urgent: bool, durable: bool) -> Result<Tx, StoreError> {
        Ok(match &self.pool {
            Pool::Sqlite(p) => {
                let guard = if urgent {
                    use std::sync::atomic::Ordering;
                    self.urgent_waiting.fetch_add(1, Ordering::SeqCst);
                    let guard = self.write_lock.clone().lock_owned().await;
                    self.urgent_waiting.fetch_sub(1, Ordering::SeqCst);
                    guard
                } else {
                    let _gate = self.write_gate.lock().await;
                    self.write_lock.clone().lock_owned().await
                };
                Tx::new(Conn::Sqlite(
                    if durable {
                        SqliteTx::begin_durable(p.acquire_writer()?)?
                    } else {
                        SqliteTx::begin(p.acquire_writer()?, true)?
                    },
                    Some(guard),
                ))
            }
            Pool::Postgres(p) => Tx::new(Conn::Postgres(p.begin().await?)),
        })
    }

    /// A read transaction: one consistent snapshot for a page's several queries.
    pub async fn read(&self) -> Result<Tx, StoreError> {
        let mut tx = self.read_tx().await?;
        tx.writes = false;
        Ok(tx)
    }

    async fn read_tx(&self) -> Result<Tx, StoreError> {
        Ok(match &self.pool {
            Pool::Sqlite(p) => Tx::new(Conn::Sqlite(
                SqliteTx::begin(p.acquire().await?, false)?,
                None,
            )),
            Pool::Postgres(p) => Tx::new(Conn::Postgres(p.begin_with("BEGIN READ ONLY").await?)),
        })
    }

    /// `SELECT 1`, for `/healthz`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match &self.pool {
            Pool::Sqlite(p) => SqliteTx::begin(p.acquire().await?, false)?
                .query("SELECT 1", &[], Some(1))
                .map(drop)?,
            Pool::Postgres(p) => sqlx::query("SELECT 1").execute(p).await.map(drop)?,
        }
        Ok(())
    }

    /// The connection pool's capacity and the connections in use now (`/metrics`).
    pub fn pool_usage(&self) -> PoolUsage {
        match &self.pool {
            Pool::Sqlite(p) => {
                let (max, in_use) = p.usage();
                PoolUsage {
                    max: max as u64,
                    open: max as u64,
                    in_use: in_use as u64,
                }
            }
            Pool::Postgres(p) => {
                let open = u64::from(p.size());
                PoolUsage {
                    max: u64::from(p.options().get_max_connections()),
                    open,
                    in_use: open.saturating_sub(p.num_idle() as u64),
                }
            }
        }
    }

    /// The SQLite database file, or `None` on PostgreSQL (`frontdesk backup`).
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        match &self.pool {
            Pool::Sqlite(p) => Some(p.path().to_path_buf()),
            Pool::Postgres(_) => None,
        }
    }

    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(p) => p.close(),
            Pool::Postgres(p) => p.close().await,
        }
    }
}

/// A snapshot of the connection pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    /// The most connections the pool opens.
    pub max: u64,
    /// Connections open now.
    pub open: u64,
    /// Connections handed out now.
    pub in_use: u64,
}

/// One value bound to a `$N` placeholder.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    I64(Option<i64>),
    Text(Option<String>),
    Bool(bool),
    Bytes(Vec<u8>),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::I64(Some(v))
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::I64(v)
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(Some(v.to_string()))
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(Some(v))
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Arg::Text(Some(v.clone()))
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::Text(v)
    }
}
impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Arg::Text(v.map(str::to_string))
    }
}
impl From<&Option<String>> for Arg {
    fn from(v: &Option<String>) -> Self {
        Arg::Text(v.clone())
    }
}

macro_rules! id_args {
    ($($t:ident),*) => {$(
        impl From<fd_domain::$t> for Arg {
            fn from(v: fd_domain::$t) -> Self { Arg::I64(Some(v.0)) }
        }
        impl From<Option<fd_domain::$t>> for Arg {
            fn from(v: Option<fd_domain::$t>) -> Self { Arg::I64(v.map(|x| x.0)) }
        }
    )*};
}
id_args!(
    UserId,
    TeamId,
    ContactId,
    CompanyId,
    DealId,
    PipelineId,
    StageId,
    TicketId,
    ConversationId,
    MessageId,
    CommentId,
    DraftId,
    NotificationId
);

/// Builds the argument list of a query: `args![a, b, c]`.
#[macro_export]
macro_rules! args {
    ($($x:expr),* $(,)?) => { vec![$($crate::Arg::from($x)),*] };
}

/// Dynamic SQL made only of fixed fragments and numbered placeholders; values never enter
/// the text (the reason `AssertSqlSafe` is sound here).
#[derive(Debug, Default, Clone)]
pub struct Sql {
    text: String,
    args: Vec<Arg>,
}

impl Sql {
    pub fn new(fragment: &str) -> Self {
        Sql {
            text: fragment.to_string(),
            args: Vec::new(),
        }
    }
    pub fn push(&mut self, fragment: &str) -> &mut Self {
        self.text.push_str(fragment);
        self
    }
    /// Appends a placeholder bound to `value`.
    pub fn bind(&mut self, value: impl Into<Arg>) -> &mut Self {
        self.args.push(value.into());
        self.text.push('$');
        self.text.push_str(&self.args.len().to_string());
        self
    }
    /// Appends `$a, $b, …` for each value.
    pub fn bind_list<T: Into<Arg>>(&mut self, values: impl IntoIterator<Item = T>) -> &mut Self {
        let mut first = true;
        for v in values {
            if !first {
                self.text.push_str(", ");
            }
            first = false;
            self.bind(v);
        }
        if first {
            // An empty IN () is a syntax error on both backends; NULL matches nothing.
            self.text.push_str("NULL");
        }
        self
    }
    pub fn text(&self) -> &str {
        &self.text
    }
    pub(crate) fn args(&self) -> &[Arg] {
        &self.args
    }
}

/// A transaction on either backend. Dropped without `commit` it rolls back.
pub struct Tx {
    pub(crate) conn: Conn,
    /// Activity rows recorded but not yet written: they go out as one multi-row insert at
    /// commit (or before anything reads or deletes activity in this transaction), because a
    /// use case records several and each statement is a round trip to the database.
    pub(crate) pending_activity: Vec<crate::NewActivity>,
    /// `account_settings.config_version` as this transaction read it.
    pub(crate) config_version_seen: Option<i64>,
    /// Write transactions note the changes webhooks report and write their events at commit
    /// (`webhooks.rs`); the cache of subscriptions they match against.
    pub(crate) hooks: Option<Arc<crate::webhooks::HookCache>>,
    pub(crate) noted_changes: Vec<crate::webhooks::Noted>,
    /// The actor and time of the last activity row written: the transaction's own, for the
    /// changes noted where neither is known.
    pub(crate) last_activity: Option<(fd_domain::ActorRef, fd_domain::Millis)>,
    /// A write transaction: on PostgreSQL its commit indexes the records it changed
    /// (`search_index`); a read-only one has nothing to index.
    pub(crate) writes: bool,
}

pub(crate) enum Conn {
    /// The guard, for write transactions, holds this process's SQLite writer slot until the
    /// transaction ends.
    Sqlite(SqliteTx, Option<tokio::sync::OwnedMutexGuard<()>>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Tx {
    fn new(conn: Conn) -> Tx {
        Tx {
            conn,
            pending_activity: Vec::new(),
            config_version_seen: None,
            hooks: None,
            noted_changes: Vec::new(),
            last_activity: None,
            writes: true,
        }
    }
}

macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::I64(v) => q.bind(v),
                Arg::Text(v) => q.bind(v),
                Arg::Bool(v) => q.bind(v),
                Arg::Bytes(v) => q.bind(v),
            };
        }
        q
    }};
}

impl Tx {
    pub fn backend(&self) -> Backend {
        match self.conn {
            Conn::Sqlite(..) => Backend::Sqlite,
            Conn::Postgres(_) => Backend::Postgres,
        }
    }

    pub async fn commit(mut self) -> Result<(), StoreError> {
        self.flush_activity().await?;
        self.write_outbox().await?;
        if self.writes && self.backend() == Backend::Postgres {
            crate::search_index::sync_postgres(&mut self).await?;
        }
        match self.conn {
            Conn::Sqlite(t, guard) => {
                if guard.is_some() {
                    crate::search_index::sync(&t)?;
                }
                t.commit()?
            }
            Conn::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    /// ` FOR UPDATE` on PostgreSQL; nothing on SQLite, whose `BEGIN IMMEDIATE` already holds
    /// the database's single write lock.
    pub fn lock_rows(&self) -> &'static str {
        match self.conn {
            Conn::Sqlite(..) => "",
            Conn::Postgres(_) => " FOR UPDATE",
        }
    }

    /// Runs a statement; returns the number of rows it changed.
    /// How durably this transaction's commit reaches the disk, as the database names it:
    /// SQLite's `synchronous` level (`"1"` NORMAL, `"2"` FULL), PostgreSQL's
    /// `synchronous_commit` (`"on"`, `"off"`…). Lets tests and diagnostics check RFC 5321 §6.1.
    pub async fn commit_durability(&mut self) -> Result<String, StoreError> {
        match self.backend() {
            Backend::Sqlite => {
                let row = self.one("PRAGMA synchronous", Vec::new()).await?;
                Ok(row.i64("synchronous")?.to_string())
            }
            Backend::Postgres => {
                let row = self.one("SHOW synchronous_commit", Vec::new()).await?;
                row.string("synchronous_commit")
            }
        }
    }

    /// Runs SQL text a test wrote (fault injection). Compiled only with the `test-sql`
    /// feature, which only `fd-testkit` turns on.
    #[cfg(feature = "test-sql")]
    pub async fn exec_test_sql(&mut self, sql: &str) -> Result<u64, StoreError> {
        self.exec(sql, Vec::new()).await
    }

    pub(crate) async fn exec(&mut self, sql: &str, args: Vec<Arg>) -> Result<u64, StoreError> {
        Ok(match &mut self.conn {
            Conn::Sqlite(t, guard) => {
                crate::search_index::before_statement(t, guard.is_some(), sql)?;
                t.exec(sql, &args)?
            }
            Conn::Postgres(t) => bind_all!(sqlx::query(AssertSqlSafe(sql.to_string())), args)
                .execute(&mut **t)
                .await?
                .rows_affected(),
        })
    }

    pub(crate) async fn all(&mut self, sql: &str, args: Vec<Arg>) -> Result<Vec<Row>, StoreError> {
        self.index_before_search(sql).await?;
        Ok(match &mut self.conn {
            Conn::Sqlite(t, guard) => {
                crate::search_index::before_statement(t, guard.is_some(), sql)?;
                t.query(sql, &args, None)?
                    .into_iter()
                    .map(Row::Sqlite)
                    .collect()
            }
            Conn::Postgres(t) => bind_all!(sqlx::query(AssertSqlSafe(sql.to_string())), args)
                .fetch_all(&mut **t)
                .await?
                .into_iter()
                .map(Row::Postgres)
                .collect(),
        })
    }

    /// A search inside a PostgreSQL write transaction first indexes what the transaction
    /// changed so far, as SQLite's `search_index::before_statement` does (boxed: indexing
    /// reads through `all`).
    async fn index_before_search(&mut self, sql: &str) -> Result<(), StoreError> {
        if self.writes && self.backend() == Backend::Postgres && sql.contains("search_vector @@") {
            Box::pin(crate::search_index::sync_postgres(self)).await?;
        }
        Ok(())
    }

    pub(crate) async fn opt(
        &mut self,
        sql: &str,
        args: Vec<Arg>,
    ) -> Result<Option<Row>, StoreError> {
        self.index_before_search(sql).await?;
        Ok(match &mut self.conn {
            Conn::Sqlite(t, guard) => {
                crate::search_index::before_statement(t, guard.is_some(), sql)?;
                t.query(sql, &args, Some(1))?.pop().map(Row::Sqlite)
            }
            Conn::Postgres(t) => bind_all!(sqlx::query(AssertSqlSafe(sql.to_string())), args)
                .fetch_optional(&mut **t)
                .await?
                .map(Row::Postgres),
        })
    }

    pub(crate) async fn one(&mut self, sql: &str, args: Vec<Arg>) -> Result<Row, StoreError> {
        self.opt(sql, args)
            .await?
            .ok_or_else(|| StoreError::Internal(format!("query returned no row: {sql}")))
    }

    pub(crate) async fn exec_sql(&mut self, sql: Sql) -> Result<u64, StoreError> {
        self.exec(&sql.text, sql.args).await
    }
    pub(crate) async fn all_sql(&mut self, sql: Sql) -> Result<Vec<Row>, StoreError> {
        self.all(&sql.text, sql.args).await
    }
    pub(crate) async fn opt_sql(&mut self, sql: Sql) -> Result<Option<Row>, StoreError> {
        self.opt(&sql.text, sql.args).await
    }

    /// `SELECT COUNT(*) …` convenience.
    pub(crate) async fn count_sql(&mut self, sql: Sql) -> Result<i64, StoreError> {
        let row = self
            .opt_sql(sql)
            .await?
            .ok_or_else(|| StoreError::Internal("count returned no row".into()))?;
        row.i64_at(0)
    }
}

/// A result row from either backend, read by column name.
pub enum Row {
    Sqlite(SqliteRow),
    Postgres(PgRow),
}

macro_rules! getter {
    ($name:ident, $ty:ty) => {
        pub fn $name(&self, col: &str) -> Result<$ty, StoreError> {
            match self {
                Row::Sqlite(r) => r.$name(col),
                Row::Postgres(r) => r
                    .try_get::<$ty, _>(col)
                    .map_err(|e| StoreError::Decode(format!("column {col}: {e}"))),
            }
        }
    };
}

impl Row {
    getter!(i64, i64);
    getter!(opt_i64, Option<i64>);
    getter!(string, String);
    getter!(opt_string, Option<String>);
    getter!(bool, bool);
    getter!(bytes, Vec<u8>);

    pub fn i64_at(&self, idx: usize) -> Result<i64, StoreError> {
        match self {
            Row::Sqlite(r) => r.i64_at(idx),
            Row::Postgres(r) => r
                .try_get::<i64, _>(idx)
                .map_err(|e| StoreError::Decode(format!("column {idx}: {e}"))),
        }
    }
}

/// Test and tooling support: creates a PostgreSQL database next to the one `admin_url` names
/// and returns its URL. Used by the test kit and the benchmark for a fresh database each run.
pub async fn create_postgres_database(admin_url: &str, name: &str) -> Result<String, StoreError> {
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(StoreError::Internal(format!(
            "invalid database name {name:?}"
        )));
    }
    let options = PgConnectOptions::from_str(admin_url).map_err(StoreError::connect)?;
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .map_err(StoreError::connect)?;
    sqlx::query(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&pool)
        .await?;
    pool.close().await;
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin_url, None),
    };
    let authority_end = base
        .find("://")
        .map(|i| i + 3)
        .and_then(|start| base[start..].find('/').map(|j| start + j))
        .unwrap_or(base.len());
    let mut url = format!("{}/{name}", &base[..authority_end]);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    Ok(url)
}
