//! The SMTP listener over real sockets: pipelining, unknown recipients, size and line
//! limits, a connection dropped mid-DATA, timeouts, STARTTLS (a certificate made by rcgen)
//! and shutdown. The sink here records what it is handed; storing it is fd-app's business
//! and is tested end to end in crates/frontdesk/tests/it/mail.rs.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fd_mail::smtp::{SessionConfig, SmtpServerConfig, serve};
use fd_mail::{DeliveryError, IncomingMail, MailSink, RecipientVerdict};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[derive(Default)]
struct Recorder {
    mails: Mutex<Vec<IncomingMail>>,
    fail_next: Mutex<bool>,
}

impl MailSink for Recorder {
    async fn check_recipient(&self, address: &str) -> RecipientVerdict {
        if address.ends_with("@help.example") {
            RecipientVerdict::Accept
        } else {
            RecipientVerdict::Unknown
        }
    }
    async fn deliver(&self, mail: IncomingMail) -> Result<(), DeliveryError> {
        let mut fail = self.fail_next.lock().unwrap();
        if *fail {
            *fail = false;
            return Err(DeliveryError::Temporary("database unavailable".into()));
        }
        self.mails.lock().unwrap().push(mail);
        Ok(())
    }
    async fn imap_checkpoint(&self, _: &str) -> Result<Option<(u32, u32)>, DeliveryError> {
        Ok(None)
    }
}

struct Server {
    addr: std::net::SocketAddr,
    sink: Arc<Recorder>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(config: SmtpServerConfig) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let sink = Arc::new(Recorder::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, config, sink.clone(), async move {
        let _ = stopped.await;
    }));
    Server {
        addr,
        sink,
        stop: Some(stop),
        task,
    }
}

fn small_config() -> SmtpServerConfig {
    SmtpServerConfig {
        session: SessionConfig {
            hostname: "mx.help.example".into(),
            max_message_size: 10_000,
            ..SessionConfig::default()
        },
        ..SmtpServerConfig::default()
    }
}

struct Client<S> {
    reader: BufReader<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    /// One reply, multi-line replies joined.
    async fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line).await.unwrap() == 0 {
                return all;
            }
            all.push_str(&line);
            if line.len() < 4 || line.as_bytes()[3] == b' ' {
                return all;
            }
        }
    }
    async fn send(&mut self, s: &str) {
        self.reader.get_mut().write_all(s.as_bytes()).await.unwrap();
    }
    async fn cmd(&mut self, s: &str) -> String {
        self.send(&format!("{s}\r\n")).await;
        self.reply().await
    }
}

async fn connect(addr: std::net::SocketAddr) -> Client<TcpStream> {
    let mut c = Client {
        reader: BufReader::new(TcpStream::connect(addr).await.unwrap()),
    };
    let greeting = c.reply().await;
    assert!(greeting.starts_with("220 mx.help.example"), "{greeting}");
    c
}

#[tokio::test]
async fn pipelined_delivery_with_an_unknown_recipient_and_trace_headers() {
    let s = start(small_config()).await;
    let mut c = connect(s.addr).await;
    let ehlo = c.cmd("EHLO client.example").await;
    for cap in [
        "SIZE 10000",
        "8BITMIME",
        "PIPELINING",
        "SMTPUTF8",
        "ENHANCEDSTATUSCODES",
    ] {
        assert!(ehlo.contains(cap), "{ehlo}");
    }
    assert!(
        !ehlo.contains("STARTTLS"),
        "no certificate, no STARTTLS: {ehlo}"
    );
    // RFC 2920: the whole transaction in one write.
    c.send("MAIL FROM:<Alice@Customer.example> BODY=8BITMIME\r\nRCPT TO:<support@help.example>\r\nRCPT TO:<nobody@elsewhere.example>\r\nRCPT TO:<billing@help.example>\r\nDATA\r\n").await;
    assert!(c.reply().await.starts_with("250 2.1.0"));
    assert!(c.reply().await.starts_with("250 2.1.5"));
    let unknown = c.reply().await;
    assert!(
        unknown.starts_with("550 5.1.1") && unknown.contains("nobody@elsewhere.example"),
        "{unknown}"
    );
    assert!(c.reply().await.starts_with("250 2.1.5"));
    assert!(c.reply().await.starts_with("354"));
    let done = c
        .cmd(
            "Subject: Grüße\r\nMessage-ID: <p1@customer.example>\r\n\r\n..leading dot\r\nbody\r\n.",
        )
        .await;
    assert!(done.starts_with("250 2.0.0"), "{done}");
    assert!(c.cmd("QUIT").await.starts_with("221"));
    let mails = s.sink.mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 1);
    let m = &mails[0];
    assert_eq!(m.envelope_from.as_deref(), Some("alice@customer.example"));
    assert_eq!(
        m.recipients,
        vec![
            "support@help.example".to_string(),
            "billing@help.example".to_string()
        ]
    );
    let raw = String::from_utf8(m.raw.clone()).unwrap();
    assert!(
        raw.starts_with("Return-Path: <alice@customer.example>\r\nReceived: from client.example"),
        "{raw}"
    );
    assert!(
        raw.ends_with("\r\n\r\n.leading dot\r\nbody\r\n"),
        "dot-stuffing undone: {raw:?}"
    );
}

#[tokio::test]
async fn sequence_errors_limits_and_temporary_failures() {
    let s = start(small_config()).await;
    let mut c = connect(s.addr).await;
    assert!(
        c.cmd("MAIL FROM:<a@b.example>").await.starts_with("503"),
        "EHLO first"
    );
    assert!(c.cmd("HELO client").await.starts_with("250"));
    assert!(
        c.cmd("RCPT TO:<support@help.example>")
            .await
            .starts_with("503"),
        "MAIL first"
    );
    assert!(
        c.cmd("MAIL FROM:<>").await.starts_with("250"),
        "null reverse-path is fine"
    );
    assert!(
        c.cmd("DATA").await.starts_with("554"),
        "no valid recipients"
    );
    assert!(c.cmd("RSET").await.starts_with("250"));
    assert!(
        c.cmd("MAIL FROM:<a@b.example> SIZE=20000")
            .await
            .starts_with("552 5.3.4"),
        "SIZE over the limit"
    );
    assert!(
        c.cmd(&format!("NOOP {}", "x".repeat(5000)))
            .await
            .starts_with("500 5.5.2"),
        "line too long"
    );
    assert!(
        c.cmd("NOOP").await.starts_with("250"),
        "the session goes on after a long line"
    );
    assert!(c.cmd("BOGUS").await.starts_with("500"));
    assert!(c.cmd("VRFY someone").await.starts_with("252"));
    // A message over the limit is refused with 552 after DATA; its headers are kept so the
    // agent learns about it.
    assert!(c.cmd("MAIL FROM:<a@b.example>").await.starts_with("250"));
    assert!(
        c.cmd("RCPT TO:<support@help.example>")
            .await
            .starts_with("250")
    );
    assert!(c.cmd("DATA").await.starts_with("354"));
    let big = format!(
        "Subject: big\r\nMessage-ID: <big@b.example>\r\n\r\n{}\r\n.",
        "y".repeat(30_000)
    );
    let r = c.cmd(&big).await;
    assert!(r.starts_with("552 5.3.4"), "{r}");
    {
        let mails = s.sink.mails.lock().unwrap();
        assert_eq!(mails.len(), 1);
        assert_eq!(
            mails[0].truncated_from,
            Some(30_000 + "Subject: big\r\nMessage-ID: <big@b.example>\r\n\r\n\r\n".len() as u64)
        );
        assert!(mails[0].raw.len() < 1000, "only the header section is kept");
    }
    // The sink cannot store: 451, the client will retry; nothing is lost silently.
    *s.sink.fail_next.lock().unwrap() = true;
    assert!(c.cmd("MAIL FROM:<a@b.example>").await.starts_with("250"));
    assert!(
        c.cmd("RCPT TO:<support@help.example>")
            .await
            .starts_with("250")
    );
    assert!(c.cmd("DATA").await.starts_with("354"));
    assert!(
        c.cmd("Subject: retry me\r\n\r\nx\r\n.")
            .await
            .starts_with("451 4.3.0")
    );
    assert_eq!(s.sink.mails.lock().unwrap().len(), 1);
    // Bad commands beyond the limit end the session.
    let mut last = String::new();
    for _ in 0..12 {
        last = c.cmd("XYZZY").await;
        if last.starts_with("421") {
            break;
        }
    }
    assert!(last.starts_with("421"), "{last}");
}

#[tokio::test]
async fn a_connection_dropped_mid_data_stores_nothing() {
    let s = start(small_config()).await;
    let mut c = connect(s.addr).await;
    c.cmd("EHLO x").await;
    c.cmd("MAIL FROM:<a@b.example>").await;
    c.cmd("RCPT TO:<support@help.example>").await;
    assert!(c.cmd("DATA").await.starts_with("354"));
    c.send("Subject: half\r\n\r\nthis never ends").await;
    drop(c);
    // The server notices the EOF; a fresh connection works and nothing was stored (the
    // sending MTA never got a 250, so it still owns the message).
    let mut c = connect(s.addr).await;
    assert!(c.cmd("QUIT").await.starts_with("221"));
    assert!(s.sink.mails.lock().unwrap().is_empty());
    // Also: NUL bytes and bare LFs inside DATA are stored as received.
    let mut c = connect(s.addr).await;
    c.cmd("EHLO x").await;
    c.cmd("MAIL FROM:<a@b.example>").await;
    c.cmd("RCPT TO:<support@help.example>").await;
    c.cmd("DATA").await;
    assert!(
        c.cmd("Subject: nul\r\n\r\na\0b\nc\r\n.")
            .await
            .starts_with("250")
    );
    let mails = s.sink.mails.lock().unwrap();
    assert!(mails[0].raw.ends_with(b"a\0b\nc\r\n"));
}

#[tokio::test(start_paused = true)]
async fn an_idle_client_times_out_with_421() {
    let mut config = small_config();
    config.command_timeout = Duration::from_secs(300);
    let s = start(config).await;
    let mut c = connect(s.addr).await;
    // With tokio's clock paused, the runtime jumps to the timeout as soon as everyone waits.
    let r = c.reply().await;
    assert!(r.starts_with("421 4.4.2"), "{r}");
}

#[tokio::test]
async fn shutdown_tells_idle_clients_421() {
    let mut s = start(small_config()).await;
    let mut c = connect(s.addr).await;
    assert!(c.cmd("EHLO x").await.starts_with("250"));
    s.stop.take().unwrap().send(()).unwrap();
    let r = c.reply().await;
    assert!(r.starts_with("421 4.3.2"), "{r}");
    s.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn starttls_upgrades_and_discards_pipelined_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let mut config = small_config();
    config.tls = Some(fd_mail::tls::server_config(&cert_path, &key_path).unwrap());
    let s = start(config).await;
    let mut c = connect(s.addr).await;
    assert!(c.cmd("EHLO x").await.contains("STARTTLS"));
    // A command injected after STARTTLS in the same packet must not run (CVE-2011-0411).
    c.send("STARTTLS\r\nRSET\r\n").await;
    assert!(c.reply().await.starts_with("220 2.0.0"));
    let tcp = c.reader.into_inner();
    let client_config = fd_mail::tls::client_config(Some(&cert_path)).unwrap();
    let connector = tokio_rustls::TlsConnector::from(client_config);
    let tls = connector
        .connect(
            rustls_pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .unwrap();
    let mut c = Client {
        reader: BufReader::new(tls),
    };
    let ehlo = c.cmd("EHLO x").await;
    assert!(
        ehlo.starts_with("250") && !ehlo.contains("STARTTLS"),
        "{ehlo}"
    );
    assert!(c.cmd("MAIL FROM:<a@b.example>").await.starts_with("250"));
    assert!(
        c.cmd("RCPT TO:<support@help.example>")
            .await
            .starts_with("250")
    );
    assert!(c.cmd("DATA").await.starts_with("354"));
    assert!(
        c.cmd("Subject: secret\r\n\r\nx\r\n.")
            .await
            .starts_with("250")
    );
    let mails = s.sink.mails.lock().unwrap();
    assert!(String::from_utf8_lossy(&mails[0].raw).contains("with ESMTPS"));
}
