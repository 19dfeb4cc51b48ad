//! The SMTP listener over real sockets: pipelining, unknown recipients, size and line
//! limits, a connection dropped mid-DATA, timeouts, STARTTLS (a certificate made by rcgen)
//! and shutdown. The sink here records what it is handed; storing it is fd-app's business
//! and is tested end to end in crates/frontdesk/tests/it/mail.rs.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fd_mail::smtp::{ConnectionLimits, SessionConfig, SmtpServerConfig, serve};
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
    fn now_unix(&self) -> i64 {
        // 2027-01-15T08:00:00Z: the Received date must come from here, not the system clock.
        1_800_000_000
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

impl<S: AsyncRead + Unpin> Client<S> {
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
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    async fn send(&mut self, s: &str) {
        self.reader.get_mut().write_all(s.as_bytes()).await.unwrap();
    }
    async fn cmd(&mut self, s: &str) -> String {
        self.send(&format!("{s}\r\n")).await;
        self.reply().await
    }
}

async fn connect(addr: std::net::SocketAddr) -> Client<TcpStream> {
    let stream = TcpStream::connect(addr).await.unwrap();
    // Tests on tokio's paused clock: Nagle would hold a small write back until a delayed
    // ACK arrives in real time, while virtual time has already jumped ahead.
    stream.set_nodelay(true).unwrap();
    let mut c = Client {
        reader: BufReader::new(stream),
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
        raw.contains("\r\n\tFri, 15 Jan 2027 08:00:00 +0000\r\n"),
        "the Received date comes from the sink's clock: {raw}"
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

// Hardening finding 2: one address could hold every connection slot (and keep each for ever
// by sending a byte now and then), locking legitimate senders out.

/// A client connected from another loopback address (127.0.0.0/8 is all local on Linux).
async fn connect_from(from: [u8; 4], addr: std::net::SocketAddr) -> Client<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(std::net::SocketAddr::from((from, 0))).unwrap();
    socket.set_nodelay(true).unwrap();
    Client {
        reader: BufReader::new(socket.connect(addr).await.unwrap()),
    }
}

/// Delivers one message over a fresh connection from `from`; returns the reply to the data.
async fn deliver_from(from: [u8; 4], addr: std::net::SocketAddr) -> String {
    let mut c = connect_from(from, addr).await;
    let greeting = c.reply().await;
    assert!(greeting.starts_with("220"), "{greeting}");
    assert!(c.cmd("EHLO other.example").await.starts_with("250"));
    assert!(
        c.cmd("MAIL FROM:<b@other.example>")
            .await
            .starts_with("250")
    );
    assert!(
        c.cmd("RCPT TO:<support@help.example>")
            .await
            .starts_with("250")
    );
    assert!(c.cmd("DATA").await.starts_with("354"));
    let r = c.cmd("Subject: still served\r\n\r\nhello\r\n.").await;
    quit(c).await;
    r
}

/// QUIT, then wait for the server to close: its slot is free once we see the end.
async fn quit<S: AsyncRead + AsyncWrite + Unpin>(mut c: Client<S>) {
    assert!(c.cmd("QUIT").await.starts_with("221"));
    assert_eq!(c.reply().await, "");
}

#[tokio::test]
async fn finding_2_one_address_is_capped_while_another_still_delivers() {
    let s = start(small_config()).await;
    // The default per-address cap is 10: ten idle connections are accepted...
    let mut idle = Vec::new();
    for _ in 0..10 {
        idle.push(connect(s.addr).await);
    }
    // ...the eleventh from the same address is refused with a reason, then closed.
    let mut c = connect_from([127, 0, 0, 1], s.addr).await;
    let r = c.reply().await;
    assert!(
        r.starts_with("421 4.7.0") && r.contains("from your address"),
        "{r}"
    );
    assert_eq!(c.reply().await, "", "closed after the 421");
    // A sender from another address is served.
    let r = deliver_from([127, 0, 0, 2], s.addr).await;
    assert!(r.starts_with("250 2.0.0"), "{r}");
    assert_eq!(s.sink.mails.lock().unwrap().len(), 1);
    // Once one of the idle connections goes, the first address may connect again.
    quit(idle.pop().unwrap()).await;
    quit(connect(s.addr).await).await;
}

#[tokio::test(start_paused = true)]
async fn finding_2_a_client_silent_after_the_greeting_is_dropped_soon() {
    let s = start(small_config()).await;
    let mut c = connect(s.addr).await;
    // Well under the old 300 s per-read timeout (virtual time: the clock is paused).
    let r = tokio::time::timeout(Duration::from_secs(60), c.reply())
        .await
        .expect("the idle client is not dropped within 60 s");
    assert!(r.starts_with("421 4.4.2"), "{r}");
}

#[tokio::test(start_paused = true)]
async fn finding_2_a_command_dripped_one_byte_at_a_time_hits_the_deadline() {
    let s = start(small_config()).await;
    let mut c = connect(s.addr).await;
    assert!(c.cmd("EHLO x").await.starts_with("250"));
    let (read, mut write) = c.reader.into_inner().into_split();
    // One byte every 20 s: each read comes well within any per-read timeout, but the line
    // never ends; the command deadline (120 s by default) must end the connection.
    let drip = tokio::spawn(async move {
        for _ in 0..1000 {
            if write.write_all(b"x").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(20)).await;
        }
    });
    let mut c = Client {
        reader: BufReader::new(read),
    };
    let r = tokio::time::timeout(Duration::from_secs(150), c.reply())
        .await
        .expect("a dripping client is still connected after 150 s");
    assert!(r.starts_with("421 4.4.2"), "{r}");
    drip.abort();
}

#[tokio::test(start_paused = true)]
async fn finding_2_data_dripped_slowly_ends_at_the_data_deadline() {
    let s = start(small_config()).await;
    let mut c = connect(s.addr).await;
    c.cmd("EHLO x").await;
    c.cmd("MAIL FROM:<a@b.example>").await;
    c.cmd("RCPT TO:<support@help.example>").await;
    assert!(c.cmd("DATA").await.starts_with("354"));
    let (read, mut write) = c.reader.into_inner().into_split();
    // A line every 170 s stays inside RFC 5321's 3-minute data-block wait, for ever.
    let drip = tokio::spawn(async move {
        for _ in 0..1000 {
            if write.write_all(b"x\r\n").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(170)).await;
        }
    });
    let mut c = Client {
        reader: BufReader::new(read),
    };
    // The DATA phase has an overall deadline of 10 minutes (§4.5.3.2.6).
    let r = tokio::time::timeout(Duration::from_secs(11 * 60), c.reply())
        .await
        .expect("a dripping DATA phase is still open after 11 minutes");
    assert!(r.starts_with("421 4.4.2"), "{r}");
    assert!(s.sink.mails.lock().unwrap().is_empty());
    drip.abort();
}

#[tokio::test(start_paused = true)]
async fn finding_2_new_connections_per_address_are_rate_limited() {
    let mut config = small_config();
    config.limits = ConnectionLimits {
        per_address_per_minute: 1,
        per_address_burst: 3,
        ..ConnectionLimits::default()
    };
    // No other timer may fire while the paused clock waits on sockets: time moves only by
    // `advance` below.
    config.first_command_timeout = Duration::from_secs(24 * 3600);
    config.command_timeout = Duration::from_secs(24 * 3600);
    config.max_session = Duration::from_secs(48 * 3600);
    let s = start(config).await;
    // The burst: three connections one after another (each closed again).
    for _ in 0..3 {
        quit(connect(s.addr).await).await;
    }
    let mut c = connect_from([127, 0, 0, 1], s.addr).await;
    let r = c.reply().await;
    assert!(
        r.starts_with("421 4.7.0") && r.contains("Too many new connections"),
        "{r}"
    );
    assert_eq!(c.reply().await, "", "closed after the 421");
    // Another address has its own bucket.
    assert!(
        deliver_from([127, 0, 0, 2], s.addr)
            .await
            .starts_with("250 2.0.0")
    );
    // At 1 a minute, one more connection is allowed a minute later (virtual time).
    tokio::time::advance(Duration::from_secs(60)).await;
    quit(connect(s.addr).await).await;
}

#[tokio::test]
async fn finding_2_the_last_quarter_of_the_listener_is_kept_for_new_addresses() {
    let mut config = small_config();
    config.limits = ConnectionLimits {
        max_total: 8,
        max_per_address: 8,
        ..ConnectionLimits::default()
    };
    let s = start(config).await;
    // One address takes 3/4 of the listener (6 of 8)...
    let mut flood = Vec::new();
    for _ in 0..6 {
        flood.push(connect(s.addr).await);
    }
    // ...and gets no more, although it is under its own cap.
    let mut c = connect_from([127, 0, 0, 1], s.addr).await;
    let r = c.reply().await;
    assert!(
        r.starts_with("421 4.7.0") && r.contains("Server busy"),
        "{r}"
    );
    // An address with no connection yet is served.
    assert!(
        deliver_from([127, 0, 0, 2], s.addr)
            .await
            .starts_with("250 2.0.0")
    );
    // Up to the global cap; past it everyone is refused.
    let mut held = Vec::new();
    for last in [3u8, 4] {
        let mut c = connect_from([127, 0, 0, last], s.addr).await;
        assert!(c.reply().await.starts_with("220"));
        held.push(c);
    }
    let mut c = connect_from([127, 0, 0, 5], s.addr).await;
    let r = c.reply().await;
    assert!(
        r.starts_with("421 4.7.0") && r.contains("Too many connections"),
        "{r}"
    );
    assert_eq!(s.sink.mails.lock().unwrap().len(), 1);
}
