//! The outgoing SMTP relay (lettre, raw bytes): `smtp://[user:pass@]host[:port]` (STARTTLS
//! when the relay offers it; `?tls=required` or `?tls=none` to insist either way) or
//! `smtps://…` (implicit TLS, RFC 8314). Errors are classified so the outbox can retry
//! transient failures (4xx, connection trouble) and give up on permanent ones (5xx).

use std::path::Path;
use std::time::Duration;

use lettre::address::{Address, Envelope};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

/// Why a message was not handed to the relay.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Retry later (4xx, timeouts, connection refused).
    #[error("temporary failure: {0}")]
    Transient(String),
    /// Do not retry (5xx: unknown recipient, message refused).
    #[error("permanent failure: {0}")]
    Permanent(String),
    /// The relay URL or TLS settings are wrong.
    #[error("relay configuration: {0}")]
    Config(String),
}

/// A parsed relay URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayUrl {
    pub implicit_tls: bool,
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
    /// `opportunistic` (default for smtp://), `required`, `none`.
    pub starttls: String,
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

impl RelayUrl {
    pub fn parse(url: &str) -> Result<RelayUrl, SendError> {
        let bad = |why: &str| {
            SendError::Config(format!("{why} (expected smtp[s]://[user:pass@]host:port)"))
        };
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("no scheme"))?;
        let implicit_tls = match scheme.to_ascii_lowercase().as_str() {
            "smtp" => false,
            "smtps" => true,
            other => return Err(bad(&format!("unknown scheme {other:?}"))),
        };
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let rest = rest.trim_end_matches('/');
        let (userinfo, hostport) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let (username, password) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((a, b)) => (Some(percent_decode(a)), Some(percent_decode(b))),
                None => (Some(percent_decode(u)), None),
            },
            None => (None, None),
        };
        let (host, port) = if let Some(h) = hostport.strip_prefix('[') {
            let (h, after) = h.split_once(']').ok_or_else(|| bad("bad IPv6 host"))?;
            let port = after.strip_prefix(':').map(str::parse::<u16>).transpose();
            (h.to_string(), port.map_err(|_| bad("bad port"))?)
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (
                    h.to_string(),
                    Some(p.parse::<u16>().map_err(|_| bad("bad port"))?),
                ),
                None => (hostport.to_string(), None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let mut starttls = if implicit_tls {
            "none"
        } else {
            "opportunistic"
        }
        .to_string();
        if let Some(q) = query {
            for pair in q.split('&') {
                if let Some(("tls", v)) = pair.split_once('=') {
                    match v {
                        "required" | "opportunistic" | "none" => starttls = v.to_string(),
                        _ => return Err(bad("tls must be required, opportunistic or none")),
                    }
                }
            }
        }
        Ok(RelayUrl {
            implicit_tls,
            port: port.unwrap_or(if implicit_tls { 465 } else { 25 }),
            host,
            username,
            password,
            starttls,
        })
    }

    /// The URL without the password, for logs.
    pub fn redacted(&self) -> String {
        let user = match &self.username {
            Some(u) => format!("{u}:***@"),
            None => String::new(),
        };
        format!(
            "{}://{user}{}:{}",
            if self.implicit_tls { "smtps" } else { "smtp" },
            self.host,
            self.port
        )
    }
}

/// A connection pool to the relay.
#[derive(Clone)]
pub struct Relay {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    url: RelayUrl,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Relay({})", self.url.redacted())
    }
}

impl Relay {
    /// `hello_name` is the name given in EHLO; `ca_file` adds a trusted CA (PEM) for a relay
    /// with a private certificate.
    pub fn new(url: &str, hello_name: &str, ca_file: Option<&Path>) -> Result<Relay, SendError> {
        let parsed = RelayUrl::parse(url)?;
        let tls_params = || -> Result<TlsParameters, SendError> {
            let mut b = TlsParameters::builder(parsed.host.clone());
            if let Some(path) = ca_file {
                let pem = std::fs::read(path)
                    .map_err(|e| SendError::Config(format!("{}: {e}", path.display())))?;
                let cert = Certificate::from_pem(&pem)
                    .map_err(|e| SendError::Config(format!("{}: {e}", path.display())))?;
                b = b.add_root_certificate(cert);
            }
            b.build_rustls()
                .map_err(|e| SendError::Config(e.to_string()))
        };
        let tls = if parsed.implicit_tls {
            Tls::Wrapper(tls_params()?)
        } else {
            match parsed.starttls.as_str() {
                "required" => Tls::Required(tls_params()?),
                "none" => Tls::None,
                _ => Tls::Opportunistic(tls_params()?),
            }
        };
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(parsed.host.clone())
                .port(parsed.port)
                .tls(tls)
                .timeout(Some(Duration::from_secs(60)))
                .hello_name(ClientId::Domain(hello_name.to_string()))
                .pool_config(
                    PoolConfig::new()
                        .max_size(4)
                        .idle_timeout(Duration::from_secs(30)),
                );
        if let (Some(u), Some(p)) = (&parsed.username, &parsed.password) {
            builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
        }
        Ok(Relay {
            transport: builder.build(),
            url: parsed,
        })
    }

    pub fn url(&self) -> &RelayUrl {
        &self.url
    }

    /// Hands one message to the relay. `envelope_from` empty means the null reverse-path.
    pub async fn send(
        &self,
        envelope_from: &str,
        recipients: &[String],
        raw: &[u8],
    ) -> Result<String, SendError> {
        let from =
            if envelope_from.is_empty() {
                None
            } else {
                Some(envelope_from.parse::<Address>().map_err(|e| {
                    SendError::Permanent(format!("bad sender {envelope_from}: {e}"))
                })?)
            };
        let mut to = Vec::new();
        for r in recipients {
            to.push(
                r.parse::<Address>()
                    .map_err(|e| SendError::Permanent(format!("bad recipient {r}: {e}")))?,
            );
        }
        let envelope = Envelope::new(from, to).map_err(|e| SendError::Permanent(e.to_string()))?;
        match self.transport.send_raw(&envelope, raw).await {
            Ok(response) => Ok(response.message().collect::<Vec<_>>().join(" ")),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
            Err(e) => Err(SendError::Transient(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_urls() {
        let u = RelayUrl::parse("smtps://me%40x.com:p%3Ass@mail.example.com:465").ok();
        assert_eq!(
            u,
            Some(RelayUrl {
                implicit_tls: true,
                host: "mail.example.com".into(),
                port: 465,
                username: Some("me@x.com".into()),
                password: Some("p:ss".into()),
                starttls: "none".into(),
            })
        );
        let u = RelayUrl::parse("smtp://127.0.0.1:2526?tls=none").ok();
        assert_eq!(
            u.map(|u| (u.port, u.starttls)),
            Some((2526, "none".to_string()))
        );
        assert!(RelayUrl::parse("http://x").is_err());
        assert!(RelayUrl::parse("smtp://:25").is_err());
    }
}
