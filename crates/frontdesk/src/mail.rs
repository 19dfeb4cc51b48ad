//! Wiring of the email channel: `serve`'s mail flags (SMTP listener, relay, IMAP mailboxes),
//! the background job workers, `frontdesk mailgate`, and the mail admin commands.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use fd_app::domain::Workspace;
use fd_app::{Actor, App, MailService, MailSettings};
use fd_mail::imap::ImapConfig;
use fd_mail::smtp::{ConnectionLimits, SessionConfig, SmtpServerConfig};
use fd_mail::{IncomingMail, MailSource};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// `serve`'s mail options.
#[derive(Args, Debug, Clone, Default)]
pub struct MailArgs {
    /// Receive mail over SMTP on this address (e.g. 127.0.0.1:2525 behind an MTA, or :25).
    #[arg(long, env = "FRONTDESK_SMTP_LISTEN")]
    pub smtp_listen: Option<SocketAddr>,
    /// The name the SMTP listener greets with and puts in Received headers.
    #[arg(long, env = "FRONTDESK_SMTP_HOSTNAME", default_value = "localhost")]
    pub smtp_hostname: String,
    /// PEM certificate chain for STARTTLS on the SMTP listener (with --smtp-tls-key).
    #[arg(long, env = "FRONTDESK_SMTP_TLS_CERT", requires = "smtp_tls_key")]
    pub smtp_tls_cert: Option<PathBuf>,
    /// PEM private key for STARTTLS.
    #[arg(long, env = "FRONTDESK_SMTP_TLS_KEY", requires = "smtp_tls_cert")]
    pub smtp_tls_key: Option<PathBuf>,
    /// Send replies through this relay: smtp[s]://[user:pass@]host:port (`?tls=required|none`).
    #[arg(long, env = "FRONTDESK_SMTP_RELAY")]
    pub smtp_relay: Option<String>,
    /// The address people open the web UI at (https://help.example.com): links in
    /// notification emails start with it.
    #[arg(long, env = "FRONTDESK_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The From address of notification emails (default: the first connected address).
    #[arg(long, env = "FRONTDESK_NOTIFY_FROM")]
    pub notify_from: Option<String>,
    /// Extra CA certificate (PEM) to trust for the relay.
    #[arg(long, env = "FRONTDESK_SMTP_RELAY_CA")]
    pub smtp_relay_ca: Option<PathBuf>,
    /// Largest message accepted whole, in bytes (SMTP SIZE; IMAP and mailgate keep only the
    /// headers of larger ones, with a notice to the agent).
    #[arg(long, env = "FRONTDESK_MAIL_MAX_SIZE", default_value_t = fd_mail::DEFAULT_MAX_MESSAGE_BYTES)]
    pub mail_max_size: usize,
    /// Poll an IMAP mailbox (repeatable): imaps://user:pass@host[:993][/MAILBOX][?after=seen|delete|move:FOLDER&recipient=ADDR&ca=PEM].
    #[arg(long = "imap", env = "FRONTDESK_IMAP", value_delimiter = ' ')]
    pub imap: Vec<String>,
    /// Seconds between IMAP polls.
    #[arg(long, env = "FRONTDESK_IMAP_INTERVAL", default_value_t = 60)]
    pub imap_interval: u64,
    /// Background job workers on this node (ingestion, sending).
    #[arg(long, env = "FRONTDESK_MAIL_WORKERS", default_value_t = 2)]
    pub mail_workers: usize,
    /// SMTP connections open at once; the last quarter is kept for addresses that hold none.
    #[arg(long, env = "FRONTDESK_SMTP_MAX_CONNECTIONS", default_value_t = ConnectionLimits::default().max_total)]
    pub smtp_max_connections: usize,
    /// SMTP connections open at once from one client address (IPv6: one /64). Raise it when
    /// an MTA on one address relays all mail to Frontdesk.
    #[arg(long, env = "FRONTDESK_SMTP_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = ConnectionLimits::default().max_per_address)]
    pub smtp_max_connections_per_address: usize,
    /// New SMTP connections per minute from one client address (0: no limit).
    #[arg(long, env = "FRONTDESK_SMTP_CONNECTIONS_PER_MINUTE", default_value_t = ConnectionLimits::default().per_address_per_minute)]
    pub smtp_connections_per_minute: u32,
    /// New SMTP connections one address may open at once before the per-minute rate applies.
    #[arg(long, env = "FRONTDESK_SMTP_CONNECTION_BURST", default_value_t = ConnectionLimits::default().per_address_burst)]
    pub smtp_connection_burst: u32,
    /// Seconds an SMTP client has for each command line (30 for the first one, and while the
    /// listener is more than half full).
    #[arg(long, env = "FRONTDESK_SMTP_COMMAND_TIMEOUT", default_value_t = SmtpServerConfig::default().command_timeout.as_secs())]
    pub smtp_command_timeout: u64,
    /// Seconds an SMTP connection may last in all.
    #[arg(long, env = "FRONTDESK_SMTP_MAX_SESSION", default_value_t = SmtpServerConfig::default().max_session.as_secs())]
    pub smtp_max_session: u64,
}

impl MailArgs {
    /// No listener address, no relay, default limits (benchmarks, `admin run-jobs`).
    pub fn default_for_bench() -> MailArgs {
        let server = SmtpServerConfig::default();
        let limits = &server.limits;
        MailArgs {
            smtp_hostname: "localhost".into(),
            mail_max_size: fd_mail::DEFAULT_MAX_MESSAGE_BYTES,
            imap_interval: 60,
            mail_workers: 2,
            smtp_max_connections: limits.max_total,
            smtp_max_connections_per_address: limits.max_per_address,
            smtp_connections_per_minute: limits.per_address_per_minute,
            smtp_connection_burst: limits.per_address_burst,
            smtp_command_timeout: server.command_timeout.as_secs(),
            smtp_max_session: server.max_session.as_secs(),
            ..MailArgs::default()
        }
    }

    /// The app-side settings (relay, limits).
    pub fn settings(&self) -> anyhow::Result<MailSettings> {
        let relay = match &self.smtp_relay {
            Some(url) => Some(
                fd_mail::send::Relay::new(url, &self.smtp_hostname, self.smtp_relay_ca.as_deref())
                    .context("--smtp-relay")?,
            ),
            None => None,
        };
        if let Some(u) = &self.public_url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            anyhow::bail!("--public-url must start with http:// or https://, not {u:?}");
        }
        Ok(MailSettings {
            max_message_bytes: self.mail_max_size,
            relay,
            public_url: self.public_url.clone(),
            notify_from: self.notify_from.clone(),
            ..MailSettings::default()
        })
    }

    pub fn smtp_config(&self) -> anyhow::Result<SmtpServerConfig> {
        let tls = match (&self.smtp_tls_cert, &self.smtp_tls_key) {
            (Some(c), Some(k)) => {
                Some(fd_mail::tls::server_config(c, k).context("STARTTLS certificate")?)
            }
            _ => None,
        };
        Ok(SmtpServerConfig {
            session: SessionConfig {
                hostname: self.smtp_hostname.clone(),
                max_message_size: self.mail_max_size,
                ..SessionConfig::default()
            },
            limits: ConnectionLimits {
                max_total: self.smtp_max_connections.max(1),
                max_per_address: self.smtp_max_connections_per_address.max(1),
                per_address_per_minute: self.smtp_connections_per_minute,
                per_address_burst: self.smtp_connection_burst.max(1),
            },
            command_timeout: Duration::from_secs(self.smtp_command_timeout.max(1)),
            max_session: Duration::from_secs(self.smtp_max_session.max(1)),
            tls,
            ..SmtpServerConfig::default()
        })
    }

    pub fn imap_configs(&self) -> anyhow::Result<Vec<ImapConfig>> {
        self.imap
            .iter()
            .filter(|u| !u.trim().is_empty())
            .map(|u| {
                let mut c = ImapConfig::from_url(u.trim())?;
                c.max_message_size = self.mail_max_size;
                Ok(c)
            })
            .collect()
    }
}

/// The mail side of a running node.
pub struct MailRuntime {
    pub service: MailService,
    smtp: Option<(TcpListener, SmtpServerConfig)>,
    imap: Vec<ImapConfig>,
    imap_interval: Duration,
    workers: usize,
}

impl MailRuntime {
    /// Job workers only (no listener, no relay, no IMAP): replies are kept as not sent.
    pub fn basic(app: App) -> MailRuntime {
        MailRuntime {
            service: MailService::new(app, MailSettings::default()),
            smtp: None,
            imap: Vec::new(),
            imap_interval: Duration::from_secs(60),
            workers: 1,
        }
    }

    /// From `serve`'s flags: binds the SMTP listener now, so errors show at start.
    pub async fn from_args(app: App, args: &MailArgs) -> anyhow::Result<MailRuntime> {
        let service = MailService::new(app, args.settings()?);
        let smtp = match args.smtp_listen {
            Some(addr) => {
                let listener = TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen for SMTP on {addr}"))?;
                Some((listener, args.smtp_config()?))
            }
            None => None,
        };
        Ok(MailRuntime {
            service,
            smtp,
            imap: args.imap_configs()?,
            imap_interval: Duration::from_secs(args.imap_interval.max(1)),
            workers: args.mail_workers.max(1),
        })
    }

    /// For tests: an SMTP listener that is already bound.
    pub fn with_smtp(mut self, listener: TcpListener, config: SmtpServerConfig) -> MailRuntime {
        self.smtp = Some((listener, config));
        self
    }

    /// Sets the number of job workers.
    pub fn workers(mut self, n: usize) -> MailRuntime {
        self.workers = n.max(1);
        self
    }

    pub fn smtp_addr(&self) -> Option<SocketAddr> {
        self.smtp.as_ref().and_then(|(l, _)| l.local_addr().ok())
    }

    /// Runs the listener, the job workers and the IMAP pollers until `stop` turns true.
    pub async fn run(self, stop: watch::Receiver<bool>) {
        let mut tasks = tokio::task::JoinSet::new();
        if let Some((listener, config)) = self.smtp {
            let sink = Arc::new(self.service.clone());
            let mut stop = stop.clone();
            tasks.spawn(async move {
                let shutdown = async move {
                    let _ = stop.wait_for(|s| *s).await;
                };
                if let Err(e) = fd_mail::smtp::serve(listener, config, sink, shutdown).await {
                    tracing::error!(error = %e, "SMTP listener failed");
                }
            });
        }
        for _ in 0..self.workers {
            let service = self.service.clone();
            let mut stop = stop.clone();
            tasks.spawn(async move {
                let wake = service.wake_signal();
                loop {
                    // Register interest before running, so a wake-up during the run is kept.
                    let notified = wake.notified();
                    match service.run_pending_jobs().await {
                        Ok(stats) if stats.total() > 0 => {
                            tracing::debug!(?stats, "jobs ran");
                            continue;
                        }
                        Ok(_) => {}
                        Err(e) => tracing::error!(error = %e, "job runner failed"),
                    }
                    tokio::select! {
                        _ = notified => {}
                        // Retries fall due and other nodes enqueue work: look every second.
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = stop.wait_for(|s| *s) => return,
                    }
                }
            });
        }
        for config in self.imap {
            let service = self.service.clone();
            let interval = self.imap_interval;
            let mut stop = stop.clone();
            let lease = format!("imap:{}", config.account_key());
            let lease_ms = i64::try_from(interval.as_millis().saturating_mul(3))
                .unwrap_or(i64::MAX)
                .max(30_000);
            tasks.spawn(async move {
                let mut tick = tokio::time::interval(interval);
                loop {
                    let go = tokio::select! {
                        _ = tick.tick() => true,
                        _ = stop.wait_for(|s| *s) => false,
                    };
                    if !go {
                        let _ = service.app().release_lease(&lease).await;
                        return;
                    }
                    // One node polls a mailbox at a time (several nodes on one database):
                    // the lease outlives three missed polls, then another node takes over.
                    match service.app().hold_lease(&lease, lease_ms).await {
                        Ok(true) => {}
                        Ok(false) => continue,
                        Err(e) => {
                            tracing::warn!(account = %config.account_key(), error = %e, "imap: cannot take the mailbox's lease");
                            continue;
                        }
                    }
                    match fd_mail::imap::poll_once(&config, &service).await {
                        Ok(r) if r.stored > 0 => tracing::info!(account = %config.account_key(), stored = r.stored, "imap: fetched"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(account = %config.account_key(), error = %e, "imap poll failed"),
                    }
                }
            });
        }
        while tasks.join_next().await.is_some() {}
    }
}

/// `frontdesk mailgate`: one message on stdin, for an MTA's pipe transport.
#[derive(Args, Debug, Clone)]
pub struct MailgateArgs {
    /// The envelope recipient (e.g. Postfix's ${recipient}); without it the message's
    /// Delivered-To/To/Cc headers decide.
    #[arg(long)]
    pub recipient: Vec<String>,
    /// The envelope sender (e.g. ${sender}); empty for the null reverse-path.
    #[arg(long)]
    pub sender: Option<String>,
    /// Largest message accepted whole.
    #[arg(long, env = "FRONTDESK_MAIL_MAX_SIZE", default_value_t = fd_mail::DEFAULT_MAX_MESSAGE_BYTES)]
    pub mail_max_size: usize,
}

/// sysexits.h codes the MTA understands.
pub const EX_OK: u8 = 0;
pub const EX_DATAERR: u8 = 65;
pub const EX_TEMPFAIL: u8 = 75;

/// Reads stdin and stores it; returns the exit code (0 stored, 65 refused for size — the
/// MTA bounces it, and the agent gets a notice —, 75 try again later).
pub async fn mailgate(app: App, args: MailgateArgs) -> u8 {
    let limit = args.mail_max_size;
    let read = tokio::task::spawn_blocking(move || -> std::io::Result<(Vec<u8>, u64)> {
        use std::io::Read as _;
        let mut stdin = std::io::stdin().lock();
        let mut raw = Vec::new();
        (&mut stdin).take(limit as u64 + 1).read_to_end(&mut raw)?;
        // Over the limit: count the rest without keeping it.
        let mut total = raw.len() as u64;
        if raw.len() > limit {
            total += std::io::copy(&mut stdin, &mut std::io::sink())?;
        }
        Ok((raw, total))
    })
    .await;
    let (mut raw, total) = match read {
        Ok(Ok(x)) => x,
        Ok(Err(e)) => {
            eprintln!("mailgate: cannot read the message: {e}");
            return EX_TEMPFAIL;
        }
        Err(e) => {
            eprintln!("mailgate: cannot read the message: {e}");
            return EX_TEMPFAIL;
        }
    };
    let mut truncated_from = None;
    if raw.len() > args.mail_max_size {
        raw = fd_mail::header_section(&raw, fd_mail::OVERSIZE_KEEP_BYTES);
        truncated_from = Some(total);
    }
    if raw.iter().all(|b| b.is_ascii_whitespace()) {
        eprintln!("mailgate: empty message refused");
        return EX_DATAERR;
    }
    let service = MailService::new(
        app,
        MailSettings {
            max_message_bytes: args.mail_max_size,
            ..MailSettings::default()
        },
    );
    let recipients = args
        .recipient
        .iter()
        .filter_map(|r| fd_mail::address::normalize(r))
        .collect();
    let mail = IncomingMail {
        source: MailSource::Mailgate,
        envelope_from: args
            .sender
            .map(|s| fd_mail::address::normalize(&s).unwrap_or_default()),
        recipients,
        raw,
        truncated_from,
    };
    match service.accept(mail).await {
        Ok(id) if truncated_from.is_some() => {
            eprintln!(
                "mailgate: message too large ({} bytes, limit {}); kept its headers as raw mail {id} and refused it",
                truncated_from.unwrap_or(0),
                args.mail_max_size
            );
            EX_DATAERR
        }
        Ok(id) => {
            println!("stored as raw mail {id}");
            EX_OK
        }
        Err(e) => {
            eprintln!("mailgate: cannot store the message, try again later: {e}");
            EX_TEMPFAIL
        }
    }
}

/// `frontdesk admin …` commands of the mail channel.
#[derive(Subcommand, Debug, Clone)]
pub enum MailAdminCommand {
    /// Connect an email address to a team (the team's first address becomes its default From).
    ConnectEmail {
        #[arg(long)]
        address: String,
        /// Team name or id.
        #[arg(long)]
        team: String,
        /// New mail opens tickets in the help desk (the default).
        #[arg(long, conflicts_with = "inbox")]
        help_desk: bool,
        /// New mail opens conversations in the inbox, without tickets.
        #[arg(long)]
        inbox: bool,
        /// Make it the team's default From address (HD-03).
        #[arg(long)]
        default_from: bool,
        /// Acknowledge new tickets with an automatic reply (rate-limited per sender).
        #[arg(long)]
        acknowledge: bool,
    },
    /// List inbound mail that could not be processed (kept raw).
    ListFailedMail {
        #[arg(long, default_value_t = 100)]
        limit: i64,
        /// Show every status (pending, done, ignored, failed), not only failures.
        #[arg(long)]
        all: bool,
    },
    /// Print one stored raw message exactly as received.
    ShowRawMail {
        #[arg(long)]
        id: i64,
    },
    /// Process a failed raw message again.
    RetryMail {
        #[arg(long)]
        id: i64,
    },
    /// Run due background jobs once (ingestion, sending) and exit.
    RunJobs {
        /// Relay for sending (else replies are kept as not sent).
        #[arg(long, env = "FRONTDESK_SMTP_RELAY")]
        smtp_relay: Option<String>,
    },
    /// Poll one IMAP mailbox once (same URL syntax as `serve --imap`).
    PollImap {
        #[arg(long)]
        url: String,
    },
}

pub async fn admin(app: &App, command: MailAdminCommand) -> anyhow::Result<()> {
    let system = Actor::system();
    match command {
        MailAdminCommand::ConnectEmail {
            address,
            team,
            help_desk: _,
            inbox,
            default_from,
            acknowledge,
        } => {
            let workspace = if inbox {
                Workspace::Inbox
            } else {
                Workspace::HelpDesk
            };
            let team_id = app
                .connect_email(&system, &address, &team, workspace, acknowledge)
                .await?;
            if default_from {
                app.set_team_default_from(&system, team_id, &address)
                    .await?;
            }
            let t = app.teams().await?.into_iter().find(|t| t.id == team_id);
            println!(
                "connected {} to team {:?} ({}); default From: {}",
                address.trim().to_lowercase(),
                t.as_ref().map(|t| t.name.as_str()).unwrap_or(""),
                workspace.as_str(),
                t.as_ref()
                    .and_then(|t| t.default_from_address.clone())
                    .unwrap_or_default()
            );
        }
        MailAdminCommand::ListFailedMail { limit, all } => {
            let rows = app
                .raw_mail_list(&system, if all { None } else { Some("failed") }, limit)
                .await?;
            println!(
                "{:<8} {:<8} {:<9} {:<24} {:>9}  detail",
                "id", "source", "status", "outcome", "bytes"
            );
            for r in &rows {
                println!(
                    "{:<8} {:<8} {:<9} {:<24} {:>9}  {}",
                    r.id,
                    r.source,
                    r.status,
                    r.outcome.clone().unwrap_or_default(),
                    r.size,
                    r.detail.clone().unwrap_or_default()
                );
            }
            if rows.is_empty() {
                println!("(none)");
            }
            for j in app.failed_jobs(&system, limit).await? {
                println!(
                    "job {} {} {} failed after {} attempts: {}",
                    j.id,
                    j.kind,
                    j.payload,
                    j.attempts,
                    j.last_error.unwrap_or_default()
                );
            }
        }
        MailAdminCommand::ShowRawMail { id } => {
            let (_, bytes) = app.raw_mail(&system, id).await?;
            use std::io::Write as _;
            std::io::stdout().write_all(&bytes)?;
        }
        MailAdminCommand::RetryMail { id } => {
            app.retry_raw_mail(&system, id).await?;
            println!("raw mail {id} will be processed again");
        }
        MailAdminCommand::RunJobs { smtp_relay } => {
            let args = MailArgs {
                smtp_relay,
                ..MailArgs::default_for_bench()
            };
            let service = MailService::new(app.clone(), args.settings()?);
            let stats = service.run_pending_jobs().await?;
            println!(
                "ingested {}, sent {}, not sent {}, retrying {}, failed {}, errors {}",
                stats.ingested,
                stats.sent,
                stats.not_sent,
                stats.retried,
                stats.failed,
                stats.errors
            );
        }
        MailAdminCommand::PollImap { url } => {
            let config = ImapConfig::from_url(&url)?;
            let service = MailService::new(app.clone(), MailSettings::default());
            let r = fd_mail::imap::poll_once(&config, &service).await?;
            println!(
                "stored {} message(s) ({} over the size limit); UIDVALIDITY {}{}; last UID {}",
                r.stored,
                r.too_large,
                r.uid_validity,
                if r.uid_validity_changed {
                    " (changed)"
                } else {
                    ""
                },
                r.last_uid
            );
        }
    }
    Ok(())
}
