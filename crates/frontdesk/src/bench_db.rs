//! The fresh database a benchmark runs on: a new PostgreSQL database on the server named by
//! `--postgres-admin-url`, else a new SQLite file in a temporary directory, migrated and
//! opened as an `App` on the system clock. Must not depend on any one benchmark.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use fd_app::{App, SystemClock};
use fd_store::Db;

/// A benchmark's database, opened; `finish` closes it and removes the SQLite directory.
pub struct BenchDb {
    pub app: App,
    /// "sqlite" or "postgresql", for the benchmark's report.
    pub backend: &'static str,
    sqlite_dir: Option<PathBuf>,
}

impl BenchDb {
    /// A new database named after the benchmark (`bench-bulk` → `frontdesk_bench_bulk_<pid>`
    /// on PostgreSQL, `$TMP/frontdesk-bench-bulk-<pid>/bench.db` on SQLite).
    pub async fn create(bench: &str, postgres_admin_url: Option<&str>) -> anyhow::Result<BenchDb> {
        let pid = std::process::id();
        let (url, backend, sqlite_dir) = match postgres_admin_url {
            Some(admin) => {
                let name = format!("frontdesk_{}_{pid}", bench.replace('-', "_"));
                (
                    fd_store::create_postgres_database(admin, &name).await?,
                    "postgresql",
                    None,
                )
            }
            None => {
                let dir = std::env::temp_dir().join(format!("frontdesk-{bench}-{pid}"));
                std::fs::create_dir_all(&dir)?;
                (
                    dir.join("bench.db").display().to_string(),
                    "sqlite",
                    Some(dir),
                )
            }
        };
        let db = Db::connect(&url).await.context("open bench database")?;
        db.migrate().await?;
        Ok(BenchDb {
            app: App::new(db, Arc::new(SystemClock)),
            backend,
            sqlite_dir,
        })
    }

    /// Closes the database; a SQLite one is deleted (a PostgreSQL one is left for inspection).
    pub async fn finish(self) {
        self.app.close().await;
        if let Some(dir) = self.sqlite_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
