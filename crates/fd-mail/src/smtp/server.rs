//! The tokio listener around [`Session`]: one task per connection, connection limits per
//! client address and overall ([`super::limits`]), deadlines for commands, DATA and the whole
//! session (RFC 5321 §4.5.3.2), STARTTLS, trace headers (`Return-Path`, `Received`, RFC 5321
//! §4.4) and graceful shutdown (421 to idle clients).
//!
//! Every wait for the client is a deadline, not a per-read timeout: a client that sends one
//! byte just before each read would time out would otherwise keep its connection for ever
//! (hardening finding 2).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

use super::limits::{ConnectionLimits, Limiter, Permit, Refusal};
use super::session::{Action, Envelope, Session, SessionConfig};
use crate::sink::{IncomingMail, MailSink, MailSource};

/// How the listener behaves.
///
/// RFC 5321 §4.5.3.2.7 asks a server to wait at least 5 minutes for the next command. That
/// figure is from the days of slow links; a sending MTA writes its next command as soon as it
/// reads our reply, and an idle connection is exactly what an attacker uses to fill the
/// listener. Like Postfix under stress (`smtpd_timeout` 10 s), we wait less: 30 s for the
/// first command after the greeting, 2 minutes between commands, 30 s when the listener is
/// more than half full. The waits for a client that is sending DATA keep the RFC's minimums
/// (§4.5.3.2.5: 3 minutes per data block) and add one deadline for the whole DATA phase
/// (§4.5.3.2.6 gives the client 10 minutes for the end of data), so a drip-feed ends.
#[derive(Clone)]
pub struct SmtpServerConfig {
    pub session: SessionConfig,
    /// Connection caps and rate (see [`ConnectionLimits`]).
    pub limits: ConnectionLimits,
    /// Deadline for the first command line after the greeting (and after STARTTLS).
    pub first_command_timeout: Duration,
    /// Deadline for each further command line, counted from our previous reply.
    pub command_timeout: Duration,
    /// The command deadline while more than half the listener's slots are in use.
    pub busy_command_timeout: Duration,
    /// Longest wait for the next chunk of DATA (RFC 5321 §4.5.3.2.5: at least 3 minutes).
    pub data_block_timeout: Duration,
    /// Deadline for the whole DATA phase, from the 354 to the final dot (§4.5.3.2.6).
    pub data_timeout: Duration,
    /// A connection is closed (421 at the next wait) once it is this old, however busy.
    pub max_session: Duration,
    /// Enables STARTTLS.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl Default for SmtpServerConfig {
    fn default() -> Self {
        SmtpServerConfig {
            session: SessionConfig::default(),
            limits: ConnectionLimits::default(),
            first_command_timeout: Duration::from_secs(30),
            command_timeout: Duration::from_secs(120),
            busy_command_timeout: Duration::from_secs(30),
            data_block_timeout: Duration::from_secs(180),
            data_timeout: Duration::from_secs(600),
            // Three full DATA phases and then some; an MTA with a long queue reconnects.
            max_session: Duration::from_secs(30 * 60),
            tls: None,
        }
    }
}

impl std::fmt::Debug for SmtpServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpServerConfig")
            .field("session", &self.session)
            .field("limits", &self.limits)
            .field("first_command_timeout", &self.first_command_timeout)
            .field("command_timeout", &self.command_timeout)
            .field("busy_command_timeout", &self.busy_command_timeout)
            .field("data_block_timeout", &self.data_block_timeout)
            .field("data_timeout", &self.data_timeout)
            .field("max_session", &self.max_session)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// How long a refused client gets to take its 421.
const REFUSAL_WRITE: Duration = Duration::from_secs(10);

/// Accepts connections until `shutdown` resolves, then tells idle clients 421 and waits for
/// the connections still delivering.
pub async fn serve<S: MailSink>(
    listener: TcpListener,
    config: SmtpServerConfig,
    sink: Arc<S>,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let mut config = config;
    config.session.tls_available = config.tls.is_some();
    let config = Arc::new(config);
    let limiter = Limiter::new(config.limits.clone());
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        // EMFILE and friends: log, pause briefly instead of spinning, and
                        // keep serving.
                        tracing::warn!(error = %e, "smtp: accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let admitted = limiter.admit(peer.ip(), Instant::now().into_std());
                let config = config.clone();
                let sink = sink.clone();
                let stop = stop_rx.clone();
                let limiter = limiter.clone();
                tasks.spawn(async move {
                    match admitted {
                        Ok(permit) => {
                            connection(stream, peer, config, sink, stop, limiter, permit).await
                        }
                        Err(why) => refuse(stream, peer, &config, why).await,
                    }
                });
                // Reap finished connections so the set does not grow.
                while tasks.try_join_next().is_some() {}
            }
        }
    }
    let _ = stop_tx.send(true);
    while tasks.join_next().await.is_some() {}
    Ok(())
}

enum Outcome<IO> {
    Done,
    StartTls(IO),
}

/// Answers a connection over a limit with 421 4.7.0 and the reason (RFC 5321 §3.1: a server
/// may refuse at the greeting with 421 and close), then closes it.
async fn refuse(mut stream: TcpStream, peer: SocketAddr, config: &SmtpServerConfig, why: Refusal) {
    tracing::debug!(%peer, reason = why.reason(), "smtp: connection refused");
    let line = format!("421 4.7.0 {} {}\r\n", config.session.hostname, why.reason());
    let _ = tokio::time::timeout(REFUSAL_WRITE, async {
        let _ = stream.write_all(line.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

/// What one connection's waits need to know.
struct Conn {
    peer: SocketAddr,
    config: Arc<SmtpServerConfig>,
    limiter: Arc<Limiter>,
    /// The end of the session's lifetime (`max_session` after accept).
    session_end: Instant,
}

impl Conn {
    /// The deadline for the next command line, set when we start waiting for it.
    fn command_deadline(&self, first: bool) -> Instant {
        let mut wait = if first {
            self.config.first_command_timeout
        } else {
            self.config.command_timeout
        };
        if self.limiter.busy() {
            wait = wait.min(self.config.busy_command_timeout);
        }
        (Instant::now() + wait).min(self.session_end)
    }

    /// How long a write to the client may take: a client that does not read our replies
    /// (while pipelining more commands) must not hold its slot either.
    fn write_deadline(&self) -> Instant {
        (Instant::now() + self.config.command_timeout).min(self.session_end)
    }
}

async fn write_by<IO: AsyncWrite + Unpin>(io: &mut IO, bytes: &[u8], deadline: Instant) -> bool {
    matches!(
        tokio::time::timeout_at(deadline, io.write_all(bytes)).await,
        Ok(Ok(()))
    )
}

async fn connection<S: MailSink>(
    stream: TcpStream,
    peer: SocketAddr,
    config: Arc<SmtpServerConfig>,
    sink: Arc<S>,
    stop: watch::Receiver<bool>,
    limiter: Arc<Limiter>,
    _permit: Permit,
) {
    let conn = Conn {
        peer,
        session_end: Instant::now() + config.max_session,
        config,
        limiter,
    };
    let mut session = Session::new(conn.config.session.clone());
    let mut stream = stream;
    if !write_by(
        &mut stream,
        session.greeting().as_bytes(),
        conn.write_deadline(),
    )
    .await
    {
        return;
    }
    match drive(stream, &mut session, &conn, &sink, stop.clone()).await {
        Outcome::Done => {}
        Outcome::StartTls(tcp) => {
            let Some(tls) = conn.config.tls.clone() else {
                return;
            };
            let acceptor = TlsAcceptor::from(tls);
            let handshake =
                tokio::time::timeout_at(conn.command_deadline(true), acceptor.accept(tcp)).await;
            match handshake {
                Ok(Ok(tls_stream)) => {
                    session.tls_established();
                    let _ = drive(tls_stream, &mut session, &conn, &sink, stop).await;
                }
                Ok(Err(e)) => tracing::info!(%peer, error = %e, "smtp: TLS handshake failed"),
                Err(_) => tracing::info!(%peer, "smtp: TLS handshake timed out"),
            }
        }
    }
}

/// The received message with the trace fields a final delivery adds (RFC 5321 §4.4).
fn with_trace(env: &Envelope, peer: SocketAddr, hostname: &str, tls: bool, now: i64) -> Vec<u8> {
    let date = mail_parser::DateTime::from_timestamp(now).to_rfc822();
    let helo: String = env
        .helo
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(255)
        .collect();
    let mut out = Vec::with_capacity(env.data.len() + 256);
    out.extend_from_slice(format!("Return-Path: <{}>\r\n", env.mail_from).as_bytes());
    out.extend_from_slice(
        format!(
            "Received: from {helo} ([{}])\r\n\tby {hostname} (Frontdesk) with {};\r\n\t{date}\r\n",
            peer.ip(),
            if tls { "ESMTPS" } else { "ESMTP" }
        )
        .as_bytes(),
    );
    out.extend_from_slice(&env.data);
    out
}

async fn drive<IO, S>(
    mut io: IO,
    session: &mut Session,
    conn: &Conn,
    sink: &Arc<S>,
    mut stop: watch::Receiver<bool>,
) -> Outcome<IO>
where
    IO: AsyncRead + AsyncWrite + Unpin,
    S: MailSink,
{
    let peer = conn.peer;
    let config = &*conn.config;
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = String::new();
    // No command answered yet on this stream (after the greeting, or after STARTTLS).
    let mut first = true;
    // Set when we start waiting for a command line, cleared once one is answered: bytes that
    // do not complete a line do not move it.
    let mut command_deadline: Option<Instant> = None;
    // Set at the 354: the whole DATA phase must end by then.
    let mut data_deadline: Option<Instant> = None;
    loop {
        let mut answered = false;
        while let Some(action) = session.poll() {
            answered = true;
            match action {
                Action::Reply(r) => out.push_str(&r),
                Action::CheckRecipient(addr) => {
                    let verdict = sink.check_recipient(&addr).await;
                    if let Action::Reply(r) = session.recipient_verdict(verdict) {
                        out.push_str(&r);
                    }
                }
                Action::Deliver(env) => {
                    // Replies to the commands before DATA go out first, so a pipelining
                    // client is not kept waiting on them during the store.
                    if !out.is_empty() {
                        if !write_by(&mut io, out.as_bytes(), conn.write_deadline()).await {
                            return Outcome::Done;
                        }
                        out.clear();
                    }
                    let raw = with_trace(
                        &env,
                        peer,
                        &config.session.hostname,
                        session.tls_active(),
                        sink.now_unix(),
                    );
                    let mail = IncomingMail {
                        source: MailSource::Smtp {
                            peer: peer.to_string(),
                            helo: env.helo.clone(),
                            tls: session.tls_active(),
                        },
                        envelope_from: Some(env.mail_from.clone()),
                        recipients: env.recipients.clone(),
                        raw,
                        truncated_from: env.too_large,
                    };
                    let result = sink.deliver(mail).await;
                    if let Err(e) = &result {
                        tracing::warn!(%peer, error = %e, "smtp: delivery not accepted");
                    }
                    if let Action::Reply(r) = session.delivered(result) {
                        out.push_str(&r);
                    }
                }
                Action::StartTls => {
                    if !write_by(&mut io, out.as_bytes(), conn.write_deadline()).await {
                        return Outcome::Done;
                    }
                    let _ = io.flush().await;
                    return Outcome::StartTls(io);
                }
            }
        }
        if answered {
            first = false;
            command_deadline = None;
        }
        if !out.is_empty() {
            if !write_by(&mut io, out.as_bytes(), conn.write_deadline()).await {
                return Outcome::Done;
            }
            out.clear();
        }
        if session.is_closed() {
            let _ = io.shutdown().await;
            return Outcome::Done;
        }
        let deadline = if session.in_data() {
            command_deadline = None;
            let whole = *data_deadline.get_or_insert_with(|| Instant::now() + config.data_timeout);
            (Instant::now() + config.data_block_timeout)
                .min(whole)
                .min(conn.session_end)
        } else {
            data_deadline = None;
            *command_deadline.get_or_insert_with(|| conn.command_deadline(first))
        };
        let read = tokio::select! {
            r = tokio::time::timeout_at(deadline, io.read(&mut buf)) => r,
            _ = stop.changed() => {
                let _ = write_by(&mut io, session.shutdown_reply().as_bytes(), conn.write_deadline()).await;
                let _ = io.shutdown().await;
                return Outcome::Done;
            }
        };
        match read {
            Err(_) => {
                if session.in_data() {
                    tracing::info!(%peer, "smtp: DATA not finished in time; message discarded, not acknowledged");
                }
                let reply = if deadline >= conn.session_end {
                    session.lifetime_reply()
                } else {
                    session.timeout_reply()
                };
                let _ = write_by(&mut io, reply.as_bytes(), Instant::now() + REFUSAL_WRITE).await;
                let _ = io.shutdown().await;
                return Outcome::Done;
            }
            Ok(Ok(0)) => {
                if session.in_data() {
                    // The client vanished mid-DATA: nothing was acknowledged, so nothing is
                    // stored; the sending MTA keeps the message and retries (RFC 5321 §4.5.4).
                    tracing::info!(%peer, "smtp: connection dropped during DATA; message discarded, not acknowledged");
                }
                return Outcome::Done;
            }
            Ok(Ok(n)) => session.feed(&buf[..n]),
            Ok(Err(e)) => {
                tracing::debug!(%peer, error = %e, "smtp: read failed");
                return Outcome::Done;
            }
        }
    }
}
