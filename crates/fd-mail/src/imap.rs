//! The IMAP poller (RFC 9051 / RFC 3501 via async-imap): fetches new messages of one mailbox
//! by UID, hands each to the [`MailSink`] (which stores it durably together with the
//! checkpoint), then marks it `\Seen`, moves it (RFC 6851 MOVE, or COPY + `\Deleted` +
//! UID EXPUNGE) or deletes it. UIDs are only meaningful with their UIDVALIDITY (RFC 9051
//! §2.3.1.1): when it changes, the checkpoint restarts from zero and the job's Message-ID
//! deduplication keeps re-fetched messages from making second tickets.
//!
//! A message over the size limit is fetched as its header section only and stored with a
//! notice; the original stays in the mailbox. A message the sink refuses is left unmarked
//! and the poll stops, to be retried on the next one.

use std::path::PathBuf;
use std::time::Duration;

use async_imap::Client;
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;

use crate::sink::{DeliveryError, IncomingMail, MailSink, MailSource};

/// How to secure the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImapSecurity {
    /// Implicit TLS (`imaps://`, port 993; RFC 8314 recommends it).
    Tls,
    /// Plain connection upgraded with STARTTLS (`imap://…?tls=starttls`).
    StartTls,
    /// No encryption (`imap://`): only sensible on loopback.
    Plain,
}

/// What to do with a message once it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterFetch {
    /// Set `\Seen` (the default).
    Seen,
    /// Move to this mailbox.
    Move(String),
    /// Set `\Deleted` and expunge it.
    Delete,
}

/// One mailbox to poll.
#[derive(Debug, Clone)]
pub struct ImapConfig {
    pub host: String,
    pub port: u16,
    pub security: ImapSecurity,
    pub username: String,
    pub password: String,
    pub mailbox: String,
    pub after: AfterFetch,
    /// The connected address this mailbox receives for (used when the headers name none).
    pub recipient: Option<String>,
    pub max_message_size: usize,
    /// Extra trusted CA (PEM), for a server with a private certificate.
    pub ca_file: Option<PathBuf>,
    /// At most this many messages per poll.
    pub batch: usize,
    /// Per network operation.
    pub timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("IMAP configuration: {0}")]
    Config(String),
    #[error("IMAP connection to {0} failed: {1}")]
    Connect(String, String),
    #[error("IMAP login failed: {0}")]
    Login(String),
    #[error("IMAP: {0}")]
    Protocol(String),
    #[error("IMAP operation timed out")]
    Timeout,
    #[error("storing a fetched message failed: {0}")]
    Sink(String),
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(v) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl ImapConfig {
    /// `imaps://user:pass@host[:993][/MAILBOX][?after=seen|delete|move:FOLDER&recipient=ADDR&ca=PATH&batch=N]`,
    /// or `imap://…` (plain; add `tls=starttls` for STARTTLS). User and password are
    /// percent-decoded (`%40` for `@`).
    pub fn from_url(url: &str) -> Result<ImapConfig, ImapError> {
        let bad = |why: &str| {
            ImapError::Config(format!(
                "{why}: expected imaps://user:pass@host:port/MAILBOX"
            ))
        };
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("no scheme"))?;
        let mut security = match scheme.to_ascii_lowercase().as_str() {
            "imaps" => ImapSecurity::Tls,
            "imap" => ImapSecurity::Plain,
            other => return Err(bad(&format!("unknown scheme {other:?}"))),
        };
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let (authority, path) = match rest.split_once('/') {
            Some((a, p)) => (a, p),
            None => (rest, ""),
        };
        let (userinfo, hostport) = authority.rsplit_once('@').ok_or_else(|| bad("no user"))?;
        let (username, password) = userinfo
            .split_once(':')
            .map(|(u, p)| (percent_decode(u), percent_decode(p)))
            .ok_or_else(|| bad("no password"))?;
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (
                h.trim_start_matches('[').trim_end_matches(']').to_string(),
                Some(p.parse::<u16>().map_err(|_| bad("bad port"))?),
            ),
            None => (hostport.to_string(), None),
        };
        if host.is_empty() || username.is_empty() {
            return Err(bad("empty host or user"));
        }
        let mailbox = if path.trim_matches('/').is_empty() {
            "INBOX".to_string()
        } else {
            percent_decode(path.trim_matches('/'))
        };
        let mut config = ImapConfig {
            port: port.unwrap_or(if security == ImapSecurity::Tls {
                993
            } else {
                143
            }),
            host,
            security,
            username,
            password,
            mailbox,
            after: AfterFetch::Seen,
            recipient: None,
            max_message_size: crate::DEFAULT_MAX_MESSAGE_BYTES,
            ca_file: None,
            batch: 200,
            timeout: Duration::from_secs(60),
        };
        if let Some(q) = query {
            for pair in q.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                let v = percent_decode(v);
                match k {
                    "after" => {
                        config.after = match v.as_str() {
                            "seen" => AfterFetch::Seen,
                            "delete" => AfterFetch::Delete,
                            m if m.strip_prefix("move:").is_some_and(|f| !f.is_empty()) => {
                                AfterFetch::Move(m.strip_prefix("move:").unwrap_or(m).to_string())
                            }
                            _ => return Err(bad("after must be seen, delete or move:FOLDER")),
                        }
                    }
                    "recipient" => {
                        config.recipient = Some(
                            crate::address::normalize(&v).ok_or_else(|| bad("bad recipient"))?,
                        )
                    }
                    "ca" => config.ca_file = Some(PathBuf::from(v)),
                    "batch" => {
                        config.batch = v.parse().map_err(|_| bad("bad batch"))?;
                    }
                    "tls" if v == "starttls" && security == ImapSecurity::Plain => {
                        security = ImapSecurity::StartTls;
                        config.security = security;
                    }
                    _ => return Err(bad(&format!("unknown parameter {k:?}"))),
                }
            }
        }
        Ok(config)
    }

    /// The checkpoint key: user, server and mailbox.
    pub fn account_key(&self) -> String {
        format!(
            "{}@{}:{}/{}",
            self.username, self.host, self.port, self.mailbox
        )
    }
}

/// What one poll did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollReport {
    pub uid_validity: u32,
    /// The stored checkpoint did not match the mailbox's UIDVALIDITY and was reset.
    pub uid_validity_changed: bool,
    pub stored: usize,
    pub too_large: usize,
    pub last_uid: u32,
}

async fn timed<T, E: std::fmt::Display>(
    d: Duration,
    f: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, ImapError> {
    match tokio::time::timeout(d, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(ImapError::Protocol(e.to_string())),
        Err(_) => Err(ImapError::Timeout),
    }
}

/// Connects, fetches what is new, stores it through `sink`, marks it, logs out.
pub async fn poll_once<S: MailSink>(
    config: &ImapConfig,
    sink: &S,
) -> Result<PollReport, ImapError> {
    let addr = format!("{}:{}", config.host, config.port);
    let tcp = match tokio::time::timeout(config.timeout, TcpStream::connect(&addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(ImapError::Connect(addr, e.to_string())),
        Err(_) => return Err(ImapError::Timeout),
    };
    let tls = || -> Result<(TlsConnector, ServerName<'static>), ImapError> {
        let cfg = crate::tls::client_config(config.ca_file.as_deref())
            .map_err(|e| ImapError::Config(e.to_string()))?;
        let name = ServerName::try_from(config.host.clone())
            .map_err(|e| ImapError::Config(format!("server name {}: {e}", config.host)))?;
        Ok((TlsConnector::from(cfg), name))
    };
    match config.security {
        ImapSecurity::Plain => {
            let mut client = Client::new(tcp);
            greeting(&mut client, config).await?;
            session(client, config, sink).await
        }
        ImapSecurity::Tls => {
            let (connector, name) = tls()?;
            let stream = timed(config.timeout, connector.connect(name, tcp)).await?;
            let mut client = Client::new(stream);
            greeting(&mut client, config).await?;
            session(client, config, sink).await
        }
        ImapSecurity::StartTls => {
            let mut client = Client::new(tcp);
            greeting(&mut client, config).await?;
            timed(
                config.timeout,
                client.run_command_and_check_ok("STARTTLS", None),
            )
            .await?;
            let tcp = client.into_inner();
            let (connector, name) = tls()?;
            let stream = timed(config.timeout, connector.connect(name, tcp)).await?;
            // No greeting after STARTTLS (RFC 9051 §6.2.1).
            session(Client::new(stream), config, sink).await
        }
    }
}

async fn greeting<T>(client: &mut Client<T>, config: &ImapConfig) -> Result<(), ImapError>
where
    T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    match tokio::time::timeout(config.timeout, client.read_response()).await {
        Ok(Ok(Some(_))) => Ok(()),
        Ok(Ok(None)) => Err(ImapError::Protocol(
            "connection closed before the greeting".into(),
        )),
        Ok(Err(e)) => Err(ImapError::Protocol(e.to_string())),
        Err(_) => Err(ImapError::Timeout),
    }
}

/// `1,3:5,9` from sorted UIDs.
fn uid_set(uids: &[u32]) -> String {
    let mut out = Vec::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end + 1 {
            i += 1;
            end = uids[i];
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}:{end}")
        });
        i += 1;
    }
    out.join(",")
}

async fn session<T, S>(
    client: Client<T>,
    config: &ImapConfig,
    sink: &S,
) -> Result<PollReport, ImapError>
where
    T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
    S: MailSink,
{
    let t = config.timeout;
    let mut session =
        match tokio::time::timeout(t, client.login(&config.username, &config.password)).await {
            Ok(Ok(s)) => s,
            Ok(Err((e, _))) => return Err(ImapError::Login(e.to_string())),
            Err(_) => return Err(ImapError::Timeout),
        };
    let result = fetch_new(&mut session, config, sink).await;
    // Log out whatever happened; a failed logout changes nothing already stored.
    let _ = tokio::time::timeout(t, session.logout()).await;
    result
}

async fn fetch_new<T, S>(
    session: &mut async_imap::Session<T>,
    config: &ImapConfig,
    sink: &S,
) -> Result<PollReport, ImapError>
where
    T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
    S: MailSink,
{
    let t = config.timeout;
    let account = config.account_key();
    let mailbox = timed(t, session.select(&config.mailbox)).await?;
    let uid_validity = mailbox
        .uid_validity
        .ok_or_else(|| ImapError::Protocol("the server sent no UIDVALIDITY".into()))?;
    let checkpoint = sink
        .imap_checkpoint(&account)
        .await
        .map_err(|e| ImapError::Sink(e.to_string()))?;
    let mut report = PollReport {
        uid_validity,
        ..PollReport::default()
    };
    let mut last_uid = match checkpoint {
        Some((v, last)) if v == uid_validity => last,
        Some(_) => {
            report.uid_validity_changed = true;
            tracing::warn!(
                account,
                "imap: UIDVALIDITY changed; re-reading the mailbox (duplicates are recognised by Message-ID)"
            );
            0
        }
        None => 0,
    };
    report.last_uid = last_uid;
    if mailbox.exists == 0 {
        return Ok(report);
    }
    // `n:*` always includes the highest UID even when it is below n (RFC 9051 §6.4.8), so
    // filter again.
    let found = timed(
        t,
        session.uid_search(format!("UID {}:*", last_uid.saturating_add(1))),
    )
    .await?;
    let mut uids: Vec<u32> = found.into_iter().filter(|u| *u > last_uid).collect();
    uids.sort_unstable();
    uids.truncate(config.batch.max(1));
    if uids.is_empty() {
        return Ok(report);
    }
    // Sizes first, so an oversized message is never downloaded whole.
    let mut sizes = std::collections::HashMap::new();
    {
        let mut stream = timed(t, session.uid_fetch(uid_set(&uids), "(UID RFC822.SIZE)")).await?;
        while let Some(item) = tokio::time::timeout(t, stream.next())
            .await
            .map_err(|_| ImapError::Timeout)?
        {
            let f = item.map_err(|e| ImapError::Protocol(e.to_string()))?;
            if let (Some(uid), Some(size)) = (f.uid, f.size) {
                sizes.insert(uid, size);
            }
        }
    }
    let mut done: Vec<u32> = Vec::new();
    for uid in uids {
        let size = sizes.get(&uid).copied().unwrap_or(0) as usize;
        let too_large = size > config.max_message_size;
        let query = if too_large {
            "(UID BODY.PEEK[HEADER])"
        } else {
            "(UID BODY.PEEK[])"
        };
        let mut raw: Option<Vec<u8>> = None;
        {
            let mut stream = timed(t, session.uid_fetch(uid.to_string(), query)).await?;
            while let Some(item) = tokio::time::timeout(t, stream.next())
                .await
                .map_err(|_| ImapError::Timeout)?
            {
                let f = item.map_err(|e| ImapError::Protocol(e.to_string()))?;
                if f.uid == Some(uid) || f.uid.is_none() {
                    let bytes = if too_large { f.header() } else { f.body() };
                    if let Some(b) = bytes {
                        raw = Some(b.to_vec());
                    }
                }
            }
        }
        let Some(raw) = raw else {
            // Expunged by someone else meanwhile: nothing to store.
            last_uid = uid;
            continue;
        };
        let mail = IncomingMail {
            source: MailSource::Imap {
                account: account.clone(),
                uid_validity,
                uid,
            },
            envelope_from: None,
            recipients: config.recipient.iter().cloned().collect(),
            raw,
            truncated_from: too_large.then_some(size as u64),
        };
        match sink.deliver(mail).await {
            Ok(()) => {
                report.stored += 1;
                if too_large {
                    report.too_large += 1;
                }
                last_uid = uid;
                done.push(uid);
            }
            Err(DeliveryError::Temporary(e)) => {
                // Leave it (and everything after it) for the next poll.
                tracing::warn!(account, uid, error = %e, "imap: storing failed; will retry");
                break;
            }
            Err(DeliveryError::Permanent(e)) => {
                tracing::error!(account, uid, error = %e, "imap: message refused; left in the mailbox");
                last_uid = uid;
            }
        }
    }
    report.last_uid = last_uid;
    if !done.is_empty() {
        mark(session, config, &done).await?;
    }
    Ok(report)
}

async fn mark<T>(
    session: &mut async_imap::Session<T>,
    config: &ImapConfig,
    uids: &[u32],
) -> Result<(), ImapError>
where
    T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    let t = config.timeout;
    let set = uid_set(uids);
    match &config.after {
        AfterFetch::Seen => {
            let mut s = timed(t, session.uid_store(&set, "+FLAGS.SILENT (\\Seen)")).await?;
            while let Some(r) = tokio::time::timeout(t, s.next())
                .await
                .map_err(|_| ImapError::Timeout)?
            {
                r.map_err(|e| ImapError::Protocol(e.to_string()))?;
            }
        }
        AfterFetch::Move(folder) => {
            let caps = timed(t, session.capabilities()).await?;
            if caps.has_str("MOVE") {
                timed(t, session.uid_mv(&set, folder)).await?;
            } else {
                timed(t, session.uid_copy(&set, folder)).await?;
                delete(session, config, &set).await?;
            }
        }
        AfterFetch::Delete => delete(session, config, &set).await?,
    }
    Ok(())
}

async fn delete<T>(
    session: &mut async_imap::Session<T>,
    config: &ImapConfig,
    set: &str,
) -> Result<(), ImapError>
where
    T: AsyncRead + AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    let t = config.timeout;
    {
        let mut s = timed(t, session.uid_store(set, "+FLAGS.SILENT (\\Deleted)")).await?;
        while let Some(r) = tokio::time::timeout(t, s.next())
            .await
            .map_err(|_| ImapError::Timeout)?
        {
            r.map_err(|e| ImapError::Protocol(e.to_string()))?;
        }
    }
    // UID EXPUNGE (RFC 4315 / RFC 9051) removes only our messages.
    let s = timed(t, session.uid_expunge(set)).await?;
    let mut s = std::pin::pin!(s);
    while let Some(r) = tokio::time::timeout(t, s.next())
        .await
        .map_err(|_| ImapError::Timeout)?
    {
        r.map_err(|e| ImapError::Protocol(e.to_string()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_sets() {
        let c = ImapConfig::from_url(
            "imaps://help%40x.com:s%3Acret@mail.x.com/Support?after=move:Done&recipient=Help@x.com",
        );
        let c = c.ok();
        assert_eq!(c.as_ref().map(|c| c.username.as_str()), Some("help@x.com"));
        assert_eq!(c.as_ref().map(|c| c.password.as_str()), Some("s:cret"));
        assert_eq!(c.as_ref().map(|c| c.port), Some(993));
        assert_eq!(c.as_ref().map(|c| c.mailbox.as_str()), Some("Support"));
        assert_eq!(
            c.as_ref().map(|c| c.after.clone()),
            Some(AfterFetch::Move("Done".into()))
        );
        assert_eq!(
            c.as_ref().and_then(|c| c.recipient.clone()),
            Some("help@x.com".into())
        );
        assert_eq!(uid_set(&[1, 2, 3, 5, 7, 8]), "1:3,5,7:8");
        assert!(ImapConfig::from_url("imap://nopass@host").is_err());
    }
}
