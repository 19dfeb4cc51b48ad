//! The `frontdesk` binary's library half: configuration, wiring, first start and graceful
//! shutdown. `launch` serves on any listener so tests can start the real server on port 0.
//!
//! Depends on every other crate; nothing depends on it.

pub mod backup;
pub mod bench;
pub mod bench_api;
pub mod bench_bulk;
pub mod bench_chat;
pub mod bench_db;
pub mod bench_forms;
pub mod bench_hostile;
pub mod bench_mail;
pub mod bench_merge;
pub mod bench_reports;
pub mod bench_suggest;
pub mod bench_ui;
pub mod export;
pub mod forms;
pub mod logging;
pub mod mail;
pub mod ops;
pub mod routing;
pub mod sla;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use fd_app::domain::{Role, Seat, TicketAccessLevel};
use fd_app::{Actor, App, NewUserInput, SystemClock};
use fd_store::Db;
use tokio::net::TcpListener;

/// Where the data lives.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    pub data_dir: PathBuf,
    /// A `postgres://` URL, or `None` for the embedded SQLite file in `data_dir`.
    pub database_url: Option<String>,
}

impl DatabaseConfig {
    /// The URL the store opens: the given one, or `<data_dir>/frontdesk.db`.
    pub fn url(&self) -> String {
        match &self.database_url {
            Some(u) if !u.trim().is_empty() => u.trim().to_string(),
            _ => self.data_dir.join("frontdesk.db").display().to_string(),
        }
    }

    pub fn is_sqlite(&self) -> bool {
        let u = self.url();
        !(u.starts_with("postgres://") || u.starts_with("postgresql://"))
    }
}

/// Opens (creating the data directory for SQLite) and migrates the database.
pub async fn open(config: &DatabaseConfig) -> anyhow::Result<App> {
    if config.is_sqlite() {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!("cannot create data directory {}", config.data_dir.display())
        })?;
    }
    let url = config.url();
    let db = Db::connect(&url)
        .await
        .with_context(|| format!("cannot open database {}", redact(&url)))?;
    db.migrate()
        .await
        .context("cannot apply database migrations")?;
    Ok(App::new(db, Arc::new(SystemClock)))
}

/// Hides a password in a database URL before it is printed.
pub fn redact(url: &str) -> String {
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        if let Some(at) = rest.find('@') {
            let userinfo = &rest[..at];
            if let Some(colon) = userinfo.find(':') {
                return format!(
                    "{}://{}:***{}",
                    &url[..scheme_end],
                    &userinfo[..colon],
                    &rest[at..]
                );
            }
        }
    }
    url.to_string()
}

/// On a database without users, creates the Super Admin `admin@localhost` and returns its
/// generated password (printed once by `serve`). That password must be changed at the first
/// sign-in: it has been on a console and perhaps in a log.
pub async fn ensure_first_admin(app: &App) -> anyhow::Result<Option<(String, String)>> {
    if app.user_count().await? > 0 {
        return Ok(None);
    }
    let password = fd_app::generate_password();
    let email = "admin@localhost".to_string();
    match app
        .create_user(
            &Actor::system(),
            NewUserInput {
                email: email.clone(),
                name: "Administrator".into(),
                role: Role::SuperAdmin,
                password: password.clone(),
                teams: Vec::new(),
                ticket_access: TicketAccessLevel::All,
                account_access: true,
                service_access: true,
                sales_access: true,
                seat: Seat::Service,
            },
        )
        .await
    {
        Ok(user) => {
            app.require_password_change(&Actor::system(), user.id)
                .await?;
            Ok(Some((email, password)))
        }
        // Another node created it first.
        Err(fd_app::AppError::Conflict(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Serves HTTP on `listener` until `shutdown` resolves, then finishes in-flight requests.
/// Background jobs (the trash purge, the job queue's workers) run alongside and stop with it.
pub async fn launch(
    app: App,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let mail = mail::MailRuntime::basic(app.clone());
    launch_with_mail(app, listener, mail, shutdown).await
}

/// [`launch`] with the mail channel configured (`serve --smtp-listen/--smtp-relay/--imap`).
pub async fn launch_with_mail(
    app: App,
    listener: TcpListener,
    mail: mail::MailRuntime,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    // Several nodes on one PostgreSQL database: relay live events and presence (before the
    // router exists, so its presence joins in). Nothing to do on SQLite.
    let relay = app
        .start_cluster_relay()
        .await
        .context("cannot listen to the other nodes")?;
    if relay.is_some() {
        tracing::info!(node = app.node_id(), "relaying live events to other nodes");
    }
    let jobs = tokio::spawn(run_jobs(app.clone(), stop_rx.clone()));
    let hooks = tokio::spawn(run_webhooks(app.clone(), stop_rx.clone()));
    let mail_task = tokio::spawn(mail.run(stop_rx));
    // Each connection's peer address reaches the handlers: sign-in limits failures per client.
    let router = fd_web::router(app).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let result = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
        .context("HTTP server failed");
    let _ = stop_tx.send(true);
    let _ = jobs.await;
    let _ = hooks.await;
    let _ = mail_task.await;
    if let Some(r) = relay {
        r.abort();
    }
    result
}

/// The lease that keeps the periodic jobs on one node of several (`cluster.rs` in fd-app).
/// It outlives two missed sweeps; a node that stops renewing it hands the work over then.
const PERIODIC_LEASE: &str = "periodic-jobs";
const PERIODIC_LEASE_MS: i64 = 150_000;

/// Whether this node runs the periodic jobs now: it holds (or just took) their lease.
async fn runs_periodic_jobs(app: &App) -> bool {
    match app.hold_lease(PERIODIC_LEASE, PERIODIC_LEASE_MS).await {
        Ok(held) => held,
        Err(e) => {
            tracing::error!(error = %e, "cannot take the periodic jobs' lease");
            false
        }
    }
}

/// The lease that keeps webhook deliveries on one node of several, so an app's
/// `maxConcurrentRequests` holds across nodes; renewed every round.
const WEBHOOKS_LEASE: &str = "webhook-deliveries";
const WEBHOOKS_LEASE_MS: i64 = 30_000;

/// Webhook deliveries every two seconds, on a task of their own: a receiver that takes its
/// whole 5 s timeout must not hold up the other periodic jobs. A round in progress when the
/// server stops is abandoned; its leases lapse and the next start sends those events again.
/// With several nodes, only the holder of their lease delivers.
async fn run_webhooks(app: App, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                match app.hold_lease(WEBHOOKS_LEASE, WEBHOOKS_LEASE_MS).await {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot take the webhook deliveries' lease");
                        continue;
                    }
                }
                tokio::select! {
                    r = app.run_webhook_deliveries() => match r {
                        Ok(run) if run.requests > 0 => tracing::debug!(
                            requests = run.requests,
                            delivered = run.delivered,
                            retried = run.retried,
                            failed = run.failed,
                            "webhook deliveries"
                        ),
                        Ok(_) => {}
                        Err(e) => tracing::error!(error = %e, "webhook deliveries failed"),
                    },
                    _ = stop.changed() => break,
                }
            }
            _ = stop.changed() => break,
        }
    }
    let _ = app.release_lease(WEBHOOKS_LEASE).await;
}

/// Periodic jobs: the trash purge (INB-13) and the pruning of delivered webhook events
/// older than 30 days once at start and then hourly; notification
/// digests due every five minutes; the SLA sweep and automation's time triggers every minute; folding the view
/// tallies' change rows every minute (they only grow on PostgreSQL). With several nodes on one
/// database only the holder of their lease runs them (renewed every minute by the sweeps).
async fn run_jobs(app: App, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    let mut fold = tokio::time::interval(Duration::from_secs(60));
    // Notification digests: which users' hourly or daily digest is due, every five minutes
    // (the job queue then sends them).
    let mut digests = tokio::time::interval(Duration::from_secs(300));
    // Every minute: SLA clocks that became due soon or breached (refreshed, their owners
    // told), then automation's time triggers ("no customer reply for 3 days").
    let mut sweeps = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = sweeps.tick() => {
                if !runs_periodic_jobs(&app).await {
                    continue;
                }
                if let Err(e) = app.run_sla_sweep().await {
                    tracing::error!(error = %e, "the SLA sweep failed");
                }
                if let Err(e) = app.run_automation_sweep().await {
                    tracing::error!(error = %e, "the automation sweep failed");
                }
            }
            _ = digests.tick() => {
                if !runs_periodic_jobs(&app).await {
                    continue;
                }
                if let Err(e) = app.queue_notification_digests().await {
                    tracing::error!(error = %e, "queueing notification digests failed");
                }
            }
            _ = fold.tick() => {
                if !runs_periodic_jobs(&app).await {
                    continue;
                }
                if let Err(e) = app.compact_view_tallies().await {
                    tracing::error!(error = %e, "folding the view tallies failed");
                }
            }
            _ = tick.tick() => {
                if !runs_periodic_jobs(&app).await {
                    continue;
                }
                match app.purge_trash().await {
                    Ok((0, 0)) => {}
                    Ok((t, c)) => tracing::info!(tickets = t, conversations = c, "purged trash past retention"),
                    Err(e) => tracing::error!(error = %e, "trash purge failed"),
                }
                match app.prune_webhook_events(fd_app::domain::webhooks::DEFAULT_KEEP_DAYS).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(events = n, "pruned delivered webhook events"),
                    Err(e) => tracing::error!(error = %e, "webhook event pruning failed"),
                }
            }
            _ = stop.changed() => {
                let _ = app.release_lease(PERIODIC_LEASE).await;
                return;
            }
        }
    }
}

/// Resolves on SIGINT or SIGTERM; the handlers are active as soon as this returns.
pub fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()> + Send + 'static> {
    // The handlers are installed here, before the caller announces that it is running: a
    // signal that arrives between the banner and the first poll must not kill the process
    // with the default action.
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {},
                _ = int.recv() => {},
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

/// Raises this process's soft limit on open files to its hard limit and returns the limit
/// now in force (`None` where it cannot be read). Every held chat, event stream and SMTP
/// session is a file descriptor: the soft limit many systems start with (1,024) would refuse
/// connections long before the node's memory or CPU is used up, while the hard limit is what
/// the administrator allows.
pub fn raise_open_file_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => Some(n),
        Err(e) => {
            tracing::warn!(error = %e, "cannot raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE)
                .ok()
                .map(|(soft, _)| soft)
        }
    }
}

/// The default data directory, relative to where `frontdesk` runs.
pub fn default_data_dir() -> &'static Path {
    Path::new("./frontdesk-data")
}
