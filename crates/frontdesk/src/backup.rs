//! `frontdesk backup --to FILE` and `frontdesk restore --from FILE` for the embedded SQLite
//! installation.
//!
//! A backup is one tar archive: `MANIFEST.json` (format, when, from which schema version),
//! `frontdesk.db` — a transactionally consistent copy taken with SQLite's `VACUUM INTO`
//! while the server keeps serving (fd-store's `sqlite_snapshot`) — and, under `files/`,
//! every other file of the data directory. Attachments (received mail's parts and agents'
//! uploads) are rows of the database (`mail_blobs`), so the database copy carries them.
//!
//! PostgreSQL installations are backed up with PostgreSQL's own tools (README,
//! "Backups"); these commands refuse them. Depends on fd-store for the copy only.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read as _, Write as _};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::Args;
use serde_json::json;

use crate::DatabaseConfig;

/// The archive's first entry names this format.
const FORMAT: &str = "frontdesk-backup";
const FORMAT_VERSION: i64 = 1;
const DB_FILE: &str = "frontdesk.db";

#[derive(Args, Debug, Clone)]
pub struct BackupArgs {
    /// The archive to write (a tar file); it must not exist yet.
    #[arg(long)]
    pub to: PathBuf,
}

#[derive(Args, Debug, Clone)]
pub struct RestoreArgs {
    /// The archive `frontdesk backup` wrote.
    #[arg(long)]
    pub from: PathBuf,
    /// Replace an existing installation in the data directory (stop its server first).
    #[arg(long)]
    pub force: bool,
}

/// Files of SQLite's that belong to the live database and are never copied as files.
fn is_database_file(name: &str) -> bool {
    [
        DB_FILE,
        "frontdesk.db-wal",
        "frontdesk.db-shm",
        "frontdesk.db-journal",
    ]
    .contains(&name)
}

fn require_sqlite(config: &DatabaseConfig, what: &str) -> anyhow::Result<()> {
    if !config.is_sqlite() {
        bail!(
            "`frontdesk {what}` works on the embedded SQLite installation; back up PostgreSQL \
             with pg_dump (see README, \"Backups\")"
        );
    }
    Ok(())
}

/// Writes the archive. Safe while a server runs on the same data directory.
pub async fn backup(config: &DatabaseConfig, args: &BackupArgs) -> anyhow::Result<BackupSummary> {
    require_sqlite(config, "backup")?;
    let db_path = config.data_dir.join(DB_FILE);
    if !db_path.is_file() {
        bail!("no Frontdesk installation at {}", config.data_dir.display());
    }
    if args.to.exists() {
        bail!("{} already exists; choose a new file", args.to.display());
    }
    let data_dir = config.data_dir.clone();
    let to = args.to.clone();
    tokio::task::spawn_blocking(move || write_archive(&data_dir, &db_path, &to))
        .await
        .context("the backup task stopped")?
}

/// What a backup or restore wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    pub database_bytes: u64,
    pub other_files: usize,
    pub schema_version: i64,
}

fn write_archive(data_dir: &Path, db_path: &Path, to: &Path) -> anyhow::Result<BackupSummary> {
    // Everything is written beside the target and renamed at the end: an interrupted backup
    // never leaves a file that looks complete.
    let partial = sibling(to, ".partial")?;
    let snapshot = sibling(to, ".db-snapshot")?;
    for p in [&partial, &snapshot] {
        if p.exists() {
            std::fs::remove_file(p).with_context(|| format!("cannot remove {}", p.display()))?;
        }
    }
    let result = (|| {
        fd_store::sqlite_snapshot(db_path, &snapshot)
            .context("cannot copy the database (VACUUM INTO)")?;
        let schema_version = schema_version(&snapshot)?;
        let database_bytes = std::fs::metadata(&snapshot)?.len();
        let others = other_files(data_dir)?;
        let file = File::create(&partial)
            .with_context(|| format!("cannot create {}", partial.display()))?;
        let mut tar = tar::Builder::new(BufWriter::new(file));
        let manifest = serde_json::to_vec_pretty(&json!({
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "createdAtMs": now_ms(),
            "schemaVersion": schema_version,
            "database": DB_FILE,
            "files": others.iter().map(|(rel, _)| rel.clone()).collect::<Vec<_>>(),
        }))?;
        append_bytes(&mut tar, "MANIFEST.json", &manifest)?;
        tar.append_path_with_name(&snapshot, DB_FILE)
            .context("cannot add the database to the archive")?;
        for (rel, path) in &others {
            tar.append_path_with_name(path, format!("files/{rel}"))
                .with_context(|| format!("cannot add {} to the archive", path.display()))?;
        }
        let mut out = tar.into_inner().context("cannot finish the archive")?;
        out.flush()?;
        out.into_inner()
            .map_err(|e| e.into_error())?
            .sync_all()
            .context("cannot write the archive to disk")?;
        std::fs::rename(&partial, to)
            .with_context(|| format!("cannot rename the archive to {}", to.display()))?;
        Ok(BackupSummary {
            database_bytes,
            other_files: others.len(),
            schema_version,
        })
    })();
    let _ = std::fs::remove_file(&snapshot);
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

fn sibling(path: &Path, suffix: &str) -> anyhow::Result<PathBuf> {
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file name", path.display()))?;
    let mut s = name.to_os_string();
    s.push(suffix);
    Ok(path.with_file_name(s))
}

/// Milliseconds since the Unix epoch, for the manifest (through the app's clock, like every
/// other reading of the time).
fn now_ms() -> i64 {
    use fd_app::Clock as _;
    fd_app::SystemClock.now_ms()
}

fn append_bytes<W: std::io::Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    bytes: &[u8],
) -> anyhow::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o600);
    header.set_cksum();
    tar.append_data(&mut header, name, bytes)
        .with_context(|| format!("cannot add {name} to the archive"))
}

/// The highest migration applied to a database file (sqlx's bookkeeping table).
fn schema_version(db: &Path) -> anyhow::Result<i64> {
    fd_store::sqlite_schema_version(db).context("cannot read the copy's schema version")
}

/// Every regular file of the data directory other than the live database, as
/// (`/`-separated relative path, path), sorted.
fn other_files(data_dir: &Path) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let mut stack = vec![data_dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?
        {
            let entry = entry?;
            let path = entry.path();
            let kind = entry.file_type()?;
            let rel = path
                .strip_prefix(data_dir)
                .map(|r| {
                    r.components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                        .join("/")
                })
                .unwrap_or_default();
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() && !(dir == data_dir && is_database_file(&rel)) {
                out.push((rel, path));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Unpacks an archive into the data directory, refusing to replace an installation unless
/// `force`; the database is checked and migrated to this version before the command ends.
pub async fn restore(config: &DatabaseConfig, args: &RestoreArgs) -> anyhow::Result<BackupSummary> {
    require_sqlite(config, "restore")?;
    let data_dir = config.data_dir.clone();
    let db_path = data_dir.join(DB_FILE);
    if db_path.exists() && !args.force {
        bail!(
            "{} already holds a Frontdesk installation; restore into a new data directory, \
             or stop its server and pass --force to replace it",
            data_dir.display()
        );
    }
    let from = args.from.clone();
    let dir = data_dir.clone();
    let summary = tokio::task::spawn_blocking(move || read_archive(&from, &dir))
        .await
        .context("the restore task stopped")??;
    // Opening migrates to this binary's schema: the restored installation is ready to serve.
    let app = crate::open(config)
        .await
        .context("the restored database cannot be opened")?;
    app.close().await;
    Ok(summary)
}

fn read_archive(from: &Path, data_dir: &Path) -> anyhow::Result<BackupSummary> {
    let file = File::open(from).with_context(|| format!("cannot open {}", from.display()))?;
    let mut archive = tar::Archive::new(BufReader::new(file));
    let mut entries = archive.entries().context("not a tar archive")?;
    let mut first = entries
        .next()
        .context("the archive is empty")?
        .context("cannot read the archive")?;
    if first.path()?.as_ref() != Path::new("MANIFEST.json") {
        bail!("{} is not a Frontdesk backup (no manifest)", from.display());
    }
    let mut manifest = String::new();
    first.by_ref().take(1 << 20).read_to_string(&mut manifest)?;
    let manifest: serde_json::Value =
        serde_json::from_str(&manifest).context("the backup's manifest is not JSON")?;
    if manifest["format"] != FORMAT {
        bail!("{} is not a Frontdesk backup", from.display());
    }
    if manifest["version"].as_i64() != Some(FORMAT_VERSION) {
        bail!(
            "this backup has format version {}; this Frontdesk reads version {FORMAT_VERSION}",
            manifest["version"]
        );
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let incoming = data_dir.join("frontdesk.db.restoring");
    let mut database_bytes = None;
    let mut other_files = 0;
    for entry in entries {
        let mut entry = entry.context("cannot read the archive")?;
        let name = entry.path()?.into_owned();
        if name == Path::new(DB_FILE) {
            let mut out = File::create(&incoming)
                .with_context(|| format!("cannot create {}", incoming.display()))?;
            let n = std::io::copy(&mut entry, &mut out)?;
            out.sync_all()?;
            database_bytes = Some(n);
        } else if let Ok(rel) = name.strip_prefix("files") {
            // Only plain relative paths: an archive cannot write outside the data directory.
            if rel.as_os_str().is_empty()
                || !rel.components().all(|c| matches!(c, Component::Normal(_)))
                || !entry.header().entry_type().is_file()
            {
                bail!("the archive holds an unsafe entry {}", name.display());
            }
            let target = data_dir.join(rel);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let mut out = File::create(&target)
                .with_context(|| format!("cannot create {}", target.display()))?;
            std::io::copy(&mut entry, &mut out)?;
            other_files += 1;
        } else {
            bail!("the archive holds an unexpected entry {}", name.display());
        }
    }
    let Some(database_bytes) = database_bytes else {
        let _ = std::fs::remove_file(&incoming);
        bail!("the archive holds no database");
    };
    // The previous installation's WAL must not be replayed onto the restored file.
    for stale in [
        "frontdesk.db-wal",
        "frontdesk.db-shm",
        "frontdesk.db-journal",
    ] {
        let p = data_dir.join(stale);
        if p.exists() {
            std::fs::remove_file(&p).with_context(|| format!("cannot remove {}", p.display()))?;
        }
    }
    std::fs::rename(&incoming, data_dir.join(DB_FILE))
        .context("cannot put the database in place")?;
    let schema_version = schema_version(&data_dir.join(DB_FILE))?;
    Ok(BackupSummary {
        database_bytes,
        other_files,
        schema_version,
    })
}
