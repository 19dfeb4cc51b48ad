//! The tokio listener around [`Session`]: one task per connection, per-command and DATA
//! timeouts (RFC 5321 §4.5.3.2), a connection limit, STARTTLS, trace headers
//! (`Return-Path`, `Received`, RFC 5321 §4.4) and graceful shutdown (421 to idle clients).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

use super::session::{Action, Envelope, Session, SessionConfig};
use crate::sink::{IncomingMail, MailSink, MailSource};

/// How the listener behaves.
#[derive(Clone)]
pub struct SmtpServerConfig {
    pub session: SessionConfig,
    /// Waiting for a command (RFC 5321 §4.5.3.2.7: at least 5 minutes).
    pub command_timeout: Duration,
    /// Waiting for the next chunk of DATA (§4.5.3.2.5: 3 minutes for the client; we allow more).
    pub data_timeout: Duration,
    pub max_connections: usize,
    /// Enables STARTTLS.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl Default for SmtpServerConfig {
    fn default() -> Self {
        SmtpServerConfig {
            session: SessionConfig::default(),
            command_timeout: Duration::from_secs(300),
            data_timeout: Duration::from_secs(600),
            max_connections: 256,
            tls: None,
        }
    }
}

impl std::fmt::Debug for SmtpServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpServerConfig")
            .field("session", &self.session)
            .field("command_timeout", &self.command_timeout)
            .field("data_timeout", &self.data_timeout)
            .field("max_connections", &self.max_connections)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

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
    let limit = Arc::new(Semaphore::new(config.max_connections.max(1)));
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
                        // EMFILE and friends: log and keep serving.
                        tracing::warn!(error = %e, "smtp: accept failed");
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let permit = limit.clone().try_acquire_owned();
                let config = config.clone();
                let sink = sink.clone();
                let stop = stop_rx.clone();
                tasks.spawn(async move {
                    match permit {
                        Ok(_permit) => connection(stream, peer, config, sink, stop).await,
                        Err(_) => {
                            let mut s = stream;
                            let _ = s.write_all(b"421 4.7.0 Too many connections, try again later\r\n").await;
                            let _ = s.shutdown().await;
                        }
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

async fn connection<S: MailSink>(
    stream: TcpStream,
    peer: SocketAddr,
    config: Arc<SmtpServerConfig>,
    sink: Arc<S>,
    stop: watch::Receiver<bool>,
) {
    let mut session = Session::new(config.session.clone());
    let mut stream = stream;
    if stream
        .write_all(session.greeting().as_bytes())
        .await
        .is_err()
    {
        return;
    }
    match drive(stream, &mut session, peer, &config, &sink, stop.clone()).await {
        Outcome::Done => {}
        Outcome::StartTls(tcp) => {
            let Some(tls) = config.tls.clone() else {
                return;
            };
            let acceptor = TlsAcceptor::from(tls);
            let handshake =
                tokio::time::timeout(config.command_timeout, acceptor.accept(tcp)).await;
            match handshake {
                Ok(Ok(tls_stream)) => {
                    session.tls_established();
                    let _ = drive(tls_stream, &mut session, peer, &config, &sink, stop).await;
                }
                Ok(Err(e)) => tracing::info!(%peer, error = %e, "smtp: TLS handshake failed"),
                Err(_) => tracing::info!(%peer, "smtp: TLS handshake timed out"),
            }
        }
    }
}

/// The received message with the trace fields a final delivery adds (RFC 5321 §4.4).
fn with_trace(env: &Envelope, peer: SocketAddr, hostname: &str, tls: bool) -> Vec<u8> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
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
    peer: SocketAddr,
    config: &SmtpServerConfig,
    sink: &Arc<S>,
    mut stop: watch::Receiver<bool>,
) -> Outcome<IO>
where
    IO: AsyncRead + AsyncWrite + Unpin,
    S: MailSink,
{
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = String::new();
    loop {
        while let Some(action) = session.poll() {
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
                        if io.write_all(out.as_bytes()).await.is_err() {
                            return Outcome::Done;
                        }
                        out.clear();
                    }
                    let raw =
                        with_trace(&env, peer, &config.session.hostname, session.tls_active());
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
                    if io.write_all(out.as_bytes()).await.is_err() {
                        return Outcome::Done;
                    }
                    let _ = io.flush().await;
                    return Outcome::StartTls(io);
                }
            }
        }
        if !out.is_empty() {
            if io.write_all(out.as_bytes()).await.is_err() {
                return Outcome::Done;
            }
            out.clear();
        }
        if session.is_closed() {
            let _ = io.shutdown().await;
            return Outcome::Done;
        }
        let wait = if session.in_data() {
            config.data_timeout
        } else {
            config.command_timeout
        };
        let read = tokio::select! {
            r = tokio::time::timeout(wait, io.read(&mut buf)) => r,
            _ = stop.changed() => {
                let _ = io.write_all(session.shutdown_reply().as_bytes()).await;
                let _ = io.shutdown().await;
                return Outcome::Done;
            }
        };
        match read {
            Err(_) => {
                let _ = io.write_all(session.timeout_reply().as_bytes()).await;
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
