//! The email channel end to end, on SQLite and PostgreSQL: real SMTP clients (Python's
//! smtplib) delivering to the listener, the raw-mail-first store, the ingest job (driven
//! explicitly with `run_pending_jobs`, never by sleeping), threading (HD-07), loops and
//! noise, content, the outbox against real SMTP servers (our own listener; aiosmtpd and
//! Dovecot when `.ci/mail-peers` provides them), bad input, and the shared corpus.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;

use fd_app::domain::*;
use fd_app::{Actor, MailService, MailSettings, Reply};
use fd_mail::smtp::{SessionConfig, SmtpServerConfig};
use fd_mail::{IncomingMail, MailSource};
use fd_store::{ConversationListQuery, TicketListQuery};
use fd_testkit::TestApp;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

const SUPPORT: &str = "support@help.example";
const BILLING: &str = "billing@help.example";

pub(crate) struct Env {
    pub(crate) t: TestApp,
    pub(crate) mail: MailService,
    smtp: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

pub(crate) async fn env_with(t: TestApp, settings: MailSettings) -> Env {
    let system = Actor::system();
    t.team("Support").await;
    t.team("Billing").await;
    t.app
        .connect_email(&system, SUPPORT, "Support", Workspace::HelpDesk, false)
        .await
        .unwrap();
    t.app
        .connect_email(&system, BILLING, "Billing", Workspace::HelpDesk, false)
        .await
        .unwrap();
    let mail = MailService::new(t.app.clone(), settings);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let smtp = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = SmtpServerConfig {
        session: SessionConfig {
            hostname: "mx.help.example".into(),
            max_message_size: settings_max(&mail),
            ..SessionConfig::default()
        },
        ..SmtpServerConfig::default()
    };
    tokio::spawn(fd_mail::smtp::serve(
        listener,
        config,
        Arc::new(mail.clone()),
        async move {
            let _ = stopped.await;
        },
    ));
    Env {
        t,
        mail,
        smtp,
        stop: Some(stop),
    }
}

fn settings_max(m: &MailService) -> usize {
    m.settings().max_message_bytes
}

pub(crate) async fn env(t: TestApp) -> Env {
    env_with(t, MailSettings::default()).await
}

fn python() -> String {
    std::env::var("FRONTDESK_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn helper(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../e2e/mail")
        .join(name)
}

/// Delivers with Python's smtplib; returns its JSON report.
async fn smtplib_send(
    addr: std::net::SocketAddr,
    from: &str,
    to: &[&str],
    raw: &str,
) -> serde_json::Value {
    let mut child = tokio::process::Command::new(python())
        .arg(helper("smtp_send.py"))
        .args([
            addr.ip().to_string(),
            addr.port().to_string(),
            from.to_string(),
            to.join(","),
            "-".to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(raw.as_bytes())
        .await
        .unwrap();
    let out = child.wait_with_output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "smtp_send.py: {e}: {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// A plain RFC 5322 message.
pub(crate) fn msg(
    from: &str,
    to: &str,
    subject: &str,
    id: Option<&str>,
    extra: &str,
    body: &str,
) -> String {
    let mut m = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: Thu, 01 Jan 2026 10:00:00 +0000\r\n"
    );
    if let Some(id) = id {
        m.push_str(&format!("Message-ID: {id}\r\n"));
    }
    m.push_str(extra);
    m.push_str("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
    m.push_str(body);
    m
}

impl Env {
    /// The SMTP listener's address (a relay pointing here loops mail back in).
    pub(crate) fn smtp_addr(&self) -> std::net::SocketAddr {
        self.smtp
    }

    /// The same database and listener, with another mail service (its relay) for the jobs.
    pub(crate) async fn with_settings(mut self, settings: MailSettings) -> Env {
        self.mail = MailService::new(self.t.app.clone(), settings);
        self
    }

    /// Stores a message as the SMTP listener would (same sink, no socket).
    pub(crate) async fn receive(&self, envelope_from: &str, to: &[&str], raw: &str) -> i64 {
        self.mail
            .accept(IncomingMail {
                source: MailSource::Smtp {
                    peer: "127.0.0.1:1".into(),
                    helo: "test".into(),
                    tls: false,
                },
                envelope_from: Some(envelope_from.to_string()),
                recipients: to.iter().map(|s| s.to_string()).collect(),
                raw: raw.as_bytes().to_vec(),
                truncated_from: None,
            })
            .await
            .unwrap()
    }

    pub(crate) async fn run_jobs(&self) -> fd_app::JobStats {
        self.mail.run_pending_jobs().await.unwrap()
    }

    async fn raw(&self, id: i64) -> fd_store::RawMail {
        self.t.app.raw_mail(&Actor::system(), id).await.unwrap().0
    }

    async fn tickets(&self) -> i64 {
        let mut tx = self.t.app.db().read().await.unwrap();
        let q = TicketListQuery {
            view: fd_store::TicketView::All,
            ..TicketListQuery::default()
        };
        let n = tx.count_tickets(&ViewerScope::All, &q).await.unwrap();
        tx.commit().await.unwrap();
        n
    }

    pub(crate) async fn conversations(&self) -> Vec<fd_store::Conversation> {
        self.t
            .app
            .list_conversations(
                &Actor::system(),
                &ConversationListQuery {
                    limit: 1000,
                    ..ConversationListQuery::default()
                },
            )
            .await
            .unwrap()
    }

    pub(crate) async fn messages(&self, c: ConversationId) -> Vec<fd_store::Message> {
        self.t.app.messages(&Actor::system(), c).await.unwrap()
    }

    /// The reply-address token of a conversation (`support+<token>@…`).
    pub(crate) async fn reply_token(&self, c: ConversationId) -> String {
        let mut tx = self.t.app.db().read().await.unwrap();
        let tok = tx.reply_token_of(c).await.unwrap().unwrap();
        tx.commit().await.unwrap();
        tok
    }

    pub(crate) async fn meta(&self, m: MessageId) -> fd_store::MessageMailMeta {
        self.t
            .app
            .message_mail_meta(&Actor::system(), m)
            .await
            .unwrap()
            .unwrap()
    }
}

// ---------------------------------------------------------------------------------------

async fn smtp_delivery_stores_first_and_makes_one_ticket(t: TestApp) {
    let e = env(t).await;
    let raw = msg(
        "Alice Customer <alice@customer.example>",
        "support@help.example, billing@help.example",
        "Printer on fire",
        Some("<fire-1@customer.example>"),
        "",
        "Hello,\r\nthe printer is on fire.\r\n\r\nAlice\r\n",
    );
    // One email to two connected addresses plus an unknown one, with a real client.
    let r = smtplib_send(
        e.smtp,
        "alice@customer.example",
        &[SUPPORT, BILLING, "ghost@help.example"],
        &raw,
    )
    .await;
    assert_eq!(r["error"], serde_json::Value::Null, "{r}");
    assert_eq!(r["refused"]["ghost@help.example"][0], 550, "{r}");
    // 250 came only after the commit: the raw message is there before any job ran.
    let stored =
        e.t.app
            .raw_mail_list(&Actor::system(), Some("pending"), 10)
            .await
            .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].recipients,
        vec![SUPPORT.to_string(), BILLING.to_string()]
    );
    assert_eq!(e.tickets().await, 0);
    // The same message again (a retrying MTA) and via the other address.
    let again = smtplib_send(e.smtp, "alice@customer.example", &[BILLING], &raw).await;
    assert_eq!(again["error"], serde_json::Value::Null);
    let stats = e.run_jobs().await;
    assert_eq!(stats.ingested, 2);
    assert_eq!(
        e.tickets().await,
        1,
        "one email to two addresses, twice: one ticket"
    );
    let all =
        e.t.app
            .raw_mail_list(&Actor::system(), None, 10)
            .await
            .unwrap();
    let outcomes: Vec<_> = all
        .iter()
        .map(|r| r.outcome.clone().unwrap_or_default())
        .collect();
    assert!(
        outcomes.contains(&"conversation_created".to_string()),
        "{outcomes:?}"
    );
    assert!(outcomes.contains(&"duplicate".to_string()), "{outcomes:?}");
    // Running jobs again changes nothing (idempotent).
    assert_eq!(e.run_jobs().await.total(), 0);
    let convs = e.conversations().await;
    assert_eq!(convs.len(), 1);
    let c = &convs[0];
    assert_eq!(c.channel_account.as_deref(), Some(SUPPORT));
    assert_eq!(c.subject.as_deref(), Some("Printer on fire"));
    assert!(c.ticket_id.is_some());
    let msgs = e.messages(c.id).await;
    assert_eq!(msgs.len(), 1);
    assert_eq!(
        msgs[0].sender_address.as_deref(),
        Some("alice@customer.example")
    );
    assert_eq!(
        msgs[0].message_id_header.as_deref(),
        Some("<fire-1@customer.example>")
    );
    assert!(
        msgs[0].text.starts_with("Hello,\nthe printer is on fire."),
        "{:?}",
        msgs[0].text
    );
    assert_eq!(
        e.meta(msgs[0].id).await.thread_signal.as_deref(),
        Some("new")
    );
}

async fn threading_follows_hd07(t: TestApp) {
    let e = env(t).await;
    let (_, agent) =
        e.t.agent("agent@help.example", TicketAccessLevel::All, &["Support"])
            .await;
    e.receive(
        "bob@customer.example",
        &[SUPPORT],
        &msg(
            "Bob <bob@customer.example>",
            SUPPORT,
            "Invoice question",
            Some("<q1@customer.example>"),
            "",
            "Why is my invoice wrong?\r\n",
        ),
    )
    .await;
    e.run_jobs().await;
    let conv = e.conversations().await.remove(0);
    let ticket = conv.ticket_id.unwrap();
    // The agent answers: our Message-ID, the team's From, a reply address, an outbox job.
    let sent =
        e.t.app
            .send_reply(
                &agent,
                conv.id,
                Reply {
                    text: "Let me check.".into(),
                    ..Reply::default()
                },
            )
            .await
            .unwrap();
    assert_eq!(sent.status, DeliveryStatus::Queued);
    let our_id = sent.message_id_header.clone().unwrap();
    assert!(
        our_id.starts_with("<fd.") && our_id.ends_with("@help.example>"),
        "{our_id}"
    );
    assert_eq!(
        sent.sender_address.as_deref(),
        Some(SUPPORT),
        "HD-15: team default From"
    );
    assert_eq!(sent.in_reply_to.as_deref(), Some("<q1@customer.example>"));
    // No relay configured: kept, shown as not sent, nothing crashes.
    let stats = e.run_jobs().await;
    assert_eq!(stats.not_sent, 1);
    let m = e
        .messages(conv.id)
        .await
        .into_iter()
        .find(|m| m.id == sent.id)
        .unwrap();
    assert_eq!(m.status, DeliveryStatus::NotSent);
    assert!(m.status_detail.unwrap().contains("no SMTP relay"));

    // 1. References naming our message, from the customer: same ticket.
    e.receive("bob@customer.example", &[SUPPORT], &msg("Bob <bob@customer.example>", SUPPORT, "Re: Invoice question", Some("<q2@customer.example>"), &format!("In-Reply-To: {our_id}\r\nReferences: <q1@customer.example> {our_id}\r\n"), "Thanks!\r\n\r\nOn Thu, Jan 1, 2026 at 10:00 AM Support <support@help.example> wrote:\r\n> Let me check.\r\n")).await;
    // 2. The reply address alone (no threading headers, e.g. a new mail to the address).
    let token = e.reply_token(conv.id).await;
    assert!(token.len() >= 20, "unguessable token");
    let reply_addr = format!("support+{token}@help.example");
    e.receive(
        "bob@customer.example",
        &[&reply_addr],
        &msg(
            "Bob <bob@customer.example>",
            &reply_addr,
            "Re: Invoice question [#1]",
            Some("<q3@customer.example>"),
            "",
            "One more thing.\r\n",
        ),
    )
    .await;
    // 3. The ticket tag only, from a participant.
    e.receive(
        "bob@customer.example",
        &[SUPPORT],
        &msg(
            "Bob <bob@customer.example>",
            SUPPORT,
            &format!("Re: Invoice question [#{ticket}]"),
            Some("<q4@customer.example>"),
            "",
            "And another.\r\n",
        ),
    )
    .await;
    e.run_jobs().await;
    assert_eq!(e.tickets().await, 1);
    let msgs = e.messages(conv.id).await;
    let signals: Vec<String> = {
        let mut v = Vec::new();
        for m in msgs.iter().filter(|m| m.direction == Direction::Inbound) {
            v.push(e.meta(m.id).await.thread_signal.unwrap());
        }
        v
    };
    assert_eq!(
        signals,
        vec!["new", "references", "reply_address", "subject_tag"]
    );
    let threaded = msgs
        .iter()
        .find(|m| m.message_id_header.as_deref() == Some("<q2@customer.example>"))
        .unwrap();
    assert_eq!(threaded.text, "Thanks!", "the quoted history is split off");
    assert!(
        e.meta(threaded.id)
            .await
            .quoted_text
            .unwrap()
            .contains("> Let me check.")
    );

    // Someone not yet on the conversation replying with our References (a colleague the
    // customer forwarded our answer to): kept on the ticket, flagged as a new participant.
    e.receive(
        "eve@other.example",
        &[SUPPORT],
        &msg(
            "Eve <eve@other.example>",
            SUPPORT,
            "Re: Invoice question",
            Some("<x1@other.example>"),
            &format!("In-Reply-To: {our_id}\r\n"),
            "Who are you?\r\n",
        ),
    )
    .await;
    // A new subject on a reply that references the ticket: still the ticket.
    e.receive(
        "bob@customer.example",
        &[SUPPORT],
        &msg(
            "Bob <bob@customer.example>",
            SUPPORT,
            "Password reset",
            Some("<q5@customer.example>"),
            &format!("In-Reply-To: {our_id}\r\n"),
            "Different topic.\r\n",
        ),
    )
    .await;
    // The tag from a stranger is not enough: ticket ids can be guessed.
    e.receive(
        "mallory@other.example",
        &[SUPPORT],
        &msg(
            "m@other.example",
            SUPPORT,
            &format!("Re: [#{ticket}]"),
            Some("<x2@other.example>"),
            "",
            "Inject.\r\n",
        ),
    )
    .await;
    e.run_jobs().await;
    assert_eq!(e.tickets().await, 2, "only the stranger's tag opened one");
    let msgs = e.messages(conv.id).await;
    let eve = msgs
        .iter()
        .find(|m| m.message_id_header.as_deref() == Some("<x1@other.example>"))
        .expect("the new participant's reply is on the ticket");
    let eve_meta = e.meta(eve.id).await;
    assert_eq!(eve_meta.thread_signal.as_deref(), Some("references"));
    assert!(
        eve_meta
            .notices
            .iter()
            .any(|n| n.starts_with("New participant: eve@other.example")),
        "{:?}",
        eve_meta.notices
    );
    let reset = msgs
        .iter()
        .find(|m| m.message_id_header.as_deref() == Some("<q5@customer.example>"))
        .expect("a changed subject does not split the ticket");
    let reset_meta = e.meta(reset.id).await;
    assert_eq!(reset_meta.thread_signal.as_deref(), Some("references"));
    assert!(
        reset_meta
            .notices
            .iter()
            .all(|n| !n.starts_with("New participant")),
        "Bob is a participant: {:?}",
        reset_meta.notices
    );

    // A reply to a closed ticket reopens it.
    let closed_stage = {
        let mut tx = e.t.app.db().read().await.unwrap();
        let p = tx.pipelines(false).await.unwrap().remove(0);
        tx.commit().await.unwrap();
        p.stages
            .iter()
            .find(|s| s.state == StageState::Closed)
            .unwrap()
            .id
    };
    let mut props = std::collections::BTreeMap::new();
    props.insert("hs_pipeline_stage".to_string(), closed_stage.to_string());
    e.t.app
        .update_ticket(
            &agent,
            ticket,
            fd_app::TicketChanges {
                properties: props,
                expected_version: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        e.t.app.conversation(&agent, conv.id).await.unwrap().status,
        ConversationStatus::Closed
    );
    e.receive(
        "bob@customer.example",
        &[SUPPORT],
        &msg(
            "Bob <bob@customer.example>",
            SUPPORT,
            "Re: Invoice question",
            Some("<q6@customer.example>"),
            &format!("References: {our_id}\r\n"),
            "It is wrong again.\r\n",
        ),
    )
    .await;
    e.run_jobs().await;
    let t = e.t.app.ticket(&agent, ticket).await.unwrap();
    assert!(t.is_open, "reopened by the customer's reply");
    assert_eq!(
        e.t.app.conversation(&agent, conv.id).await.unwrap().status,
        ConversationStatus::Open
    );
    assert_eq!(e.tickets().await, 2);
}

async fn loops_and_noise_never_open_tickets(t: TestApp) {
    let e = env(t).await;
    let (_, agent) =
        e.t.agent("agent@help.example", TicketAccessLevel::All, &["Support"])
            .await;
    let system = Actor::system();
    e.t.app
        .set_auto_acknowledge(&system, SUPPORT, true)
        .await
        .unwrap();
    // A customer's first mail gets an acknowledgement (automatic mail, Auto-Submitted).
    e.receive(
        "carol@customer.example",
        &[SUPPORT],
        &msg(
            "Carol <carol@customer.example>",
            SUPPORT,
            "Broken login",
            Some("<c1@customer.example>"),
            "",
            "I cannot log in.\r\n",
        ),
    )
    .await;
    e.run_jobs().await;
    let conv = e.conversations().await.remove(0);
    let msgs = e.messages(conv.id).await;
    assert_eq!(msgs.len(), 2, "the mail and our acknowledgement");
    let ack = msgs
        .iter()
        .find(|m| m.direction == Direction::Outbound)
        .unwrap();
    assert!(e.meta(ack.id).await.auto_submitted);
    assert_eq!(
        ack.recipients.to,
        vec!["carol@customer.example".to_string()]
    );
    // A second new mail from her within the hour: a ticket, but no second acknowledgement.
    e.receive(
        "carol@customer.example",
        &[SUPPORT],
        &msg(
            "Carol <carol@customer.example>",
            SUPPORT,
            "Another thing",
            Some("<c2@customer.example>"),
            "",
            "Also this.\r\n",
        ),
    )
    .await;
    e.run_jobs().await;
    let second = e
        .conversations()
        .await
        .into_iter()
        .find(|c| c.subject.as_deref() == Some("Another thing"))
        .unwrap();
    assert_eq!(e.messages(second.id).await.len(), 1, "rate-limited");

    // Our reply to Carol, then her out-of-office answer: joins silently, reopens nothing.
    let sent =
        e.t.app
            .send_reply(
                &agent,
                conv.id,
                Reply {
                    text: "Try resetting it.".into(),
                    ..Reply::default()
                },
            )
            .await
            .unwrap();
    let our_id = sent.message_id_header.clone().unwrap();
    e.t.app.close_conversation(&agent, conv.id).await.unwrap();
    e.receive(
        "carol@customer.example",
        &[SUPPORT],
        &msg(
            "Carol <carol@customer.example>",
            SUPPORT,
            "Automatic reply: Broken login",
            Some("<ooo1@customer.example>"),
            &format!("Auto-Submitted: auto-replied\r\nIn-Reply-To: {our_id}\r\n"),
            "I am out of the office until Monday.\r\n",
        ),
    )
    .await;
    // Auto-replies and bulk mail with no thread: nothing.
    e.receive(
        "dave@customer.example",
        &[SUPPORT],
        &msg(
            "Dave <dave@customer.example>",
            SUPPORT,
            "Out of Office: hello",
            Some("<ooo2@customer.example>"),
            "X-Autoreply: yes\r\n",
            "Away.\r\n",
        ),
    )
    .await;
    e.receive(
        "news@shop.example",
        &[SUPPORT],
        &msg(
            "Shop <news@shop.example>",
            SUPPORT,
            "Our deals",
            Some("<bulk1@shop.example>"),
            "Precedence: bulk\r\n",
            "Buy now.\r\n",
        ),
    )
    .await;
    e.receive(
        "",
        &[SUPPORT],
        &msg(
            "Someone <x@customer.example>",
            SUPPORT,
            "Vacation",
            Some("<ooo3@customer.example>"),
            "",
            "Null sender.\r\n",
        ),
    )
    .await;
    e.run_jobs().await;
    assert_eq!(
        e.tickets().await,
        2,
        "auto-replies and bulk mail open no ticket"
    );
    let c = e.t.app.conversation(&agent, conv.id).await.unwrap();
    assert_eq!(
        c.status,
        ConversationStatus::Closed,
        "an auto-reply reopens nothing"
    );
    let ooo = e
        .messages(conv.id)
        .await
        .into_iter()
        .find(|m| m.message_id_header.as_deref() == Some("<ooo1@customer.example>"))
        .unwrap();
    assert_eq!(
        e.meta(ooo.id).await.automation.as_deref(),
        Some("auto_reply")
    );
    // …and no acknowledgement was sent to any of them.
    let outbound: usize = {
        let mut n = 0;
        for c in e.conversations().await {
            n += e
                .messages(c.id)
                .await
                .iter()
                .filter(|m| m.direction == Direction::Outbound)
                .count();
        }
        n
    };
    assert_eq!(outbound, 2, "one acknowledgement and one agent reply");

    // A DSN for our reply marks it failed; it opens nothing.
    let dsn = format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.customer.example>\r\nTo: {SUPPORT}\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn1@mx.customer.example>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.customer.example\r\n\r\nFinal-Recipient: rfc822; carol@customer.example\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\r\n--B\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: {SUPPORT}\r\nTo: carol@customer.example\r\nSubject: Re: Broken login\r\nMessage-ID: {our_id}\r\n--B--\r\n"
    );
    let dsn_id = e.receive("", &[SUPPORT], &dsn).await;
    e.run_jobs().await;
    assert_eq!(e.tickets().await, 2);
    let dsn_raw = e.raw(dsn_id).await;
    assert_eq!(
        dsn_raw.outcome.as_deref(),
        Some("bounce_marked_failed"),
        "{dsn_raw:?}"
    );
    let m = e
        .messages(conv.id)
        .await
        .into_iter()
        .find(|m| m.id == sent.id)
        .unwrap();
    assert_eq!(m.status, DeliveryStatus::Failed);
    assert!(m.status_detail.unwrap().contains("5.1.1"));
}

async fn content_attachments_and_charsets(t: TestApp) {
    let e = env(t).await;
    let png: Vec<u8> = vec![0x89, b'P', b'N', b'G', 13, 10, 26, 10, 0, 0, 0, 13, 1, 2, 3];
    let b64 = |d: &[u8]| {
        // Tiny base64 so the test needs no extra crate.
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for c in d.chunks(3) {
            let n = (c[0] as u32) << 16
                | (*c.get(1).unwrap_or(&0) as u32) << 8
                | *c.get(2).unwrap_or(&0) as u32;
            for i in 0..4 {
                if i <= c.len() {
                    out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    };
    let raw = format!(
        "From: =?ISO-8859-1?Q?J=F6rg?= <joerg@customer.example>\r\nTo: {SUPPORT}\r\nSubject: =?ISO-8859-1?Q?Gr=FC=DFe?=\r\nMessage-ID: <att1@customer.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"M\"\r\n\r\n--M\r\nContent-Type: multipart/related; boundary=\"R\"\r\n\r\n--R\r\nContent-Type: multipart/alternative; boundary=\"A\"\r\n\r\n--A\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nSch=F6ne Gr=FC=DFe\r\n--A\r\nContent-Type: text/html; charset=iso-8859-1\r\n\r\n<p onclick=\"steal()\">Sch\u{f6}ne Gr\u{fc}\u{df}e <img src=\"cid:logo@x\"><img src=\"https://tracker.example/p.gif\"></p><script>alert(1)</script>\r\n--A--\r\n--R\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\nContent-Transfer-Encoding: base64\r\n\r\n{png}\r\n--R--\r\n--M\r\nContent-Type: image/svg+xml; name=\"evil.svg\"\r\nContent-Disposition: attachment; filename=\"evil.svg\"\r\n\r\n<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>\r\n--M\r\nContent-Type: image/png; name=\"copy.png\"\r\nContent-Disposition: attachment; filename=\"copy.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{png}\r\n--M--\r\n",
        png = b64(&png)
    );
    let raw_bytes: Vec<u8> = raw.chars().map(|c| c as u32 as u8).collect();
    e.mail
        .accept(IncomingMail {
            source: MailSource::Mailgate,
            envelope_from: None,
            recipients: vec![SUPPORT.into()],
            raw: raw_bytes,
            truncated_from: None,
        })
        .await
        .unwrap();
    e.run_jobs().await;
    let conv = e.conversations().await.remove(0);
    assert_eq!(conv.subject.as_deref(), Some("Grüße"));
    let m = e.messages(conv.id).await.remove(0);
    assert_eq!(m.sender_name.as_deref(), Some("Jörg"));
    assert_eq!(m.text.trim(), "Schöne Grüße");
    let stored_html = m.html.clone().unwrap();
    assert!(
        !stored_html.contains("script") && !stored_html.contains("onclick"),
        "{stored_html}"
    );
    assert_eq!(m.attachments.len(), 3, "{:?}", m.attachments);
    let inline = m
        .attachments
        .iter()
        .find(|a| a.content_id.as_deref() == Some("logo@x"))
        .unwrap();
    let copy = m
        .attachments
        .iter()
        .find(|a| a.filename == "copy.png")
        .unwrap();
    assert_eq!(inline.sha256, copy.sha256, "same bytes");
    {
        let mut tx = e.t.app.db().read().await.unwrap();
        assert_eq!(
            tx.blob_count().await.unwrap(),
            2,
            "content-addressed: stored once"
        );
        tx.commit().await.unwrap();
    }
    // The iframe view: cid: rewritten to our URL, the tracker blocked, a strict CSP.
    let (_, agent) =
        e.t.agent("agent@help.example", TicketAccessLevel::All, &["Support"])
            .await;
    let page =
        e.t.app
            .message_html(&agent, m.id, false, None, |i| {
                format!("/mail/messages/{}/attachments/{i}", m.id)
            })
            .await
            .unwrap();
    assert!(
        page.html
            .contains(&format!("/mail/messages/{}/attachments/", m.id)),
        "{}",
        page.html
    );
    assert!(!page.html.contains("tracker.example"));
    assert_eq!(page.blocked_remote, 1);
    assert!(page.csp.contains("default-src 'none'") && page.csp.contains("sandbox"));
    let shown =
        e.t.app
            .message_html(&agent, m.id, true, None, |i| {
                format!("/mail/messages/{}/attachments/{i}", m.id)
            })
            .await
            .unwrap();
    assert!(
        shown.html.contains("https://tracker.example/p.gif"),
        "remote images on request"
    );

    // Over HTTP: downloads with safe headers; the SVG never renders from our origin.
    let token =
        e.t.app
            .create_api_token(&Actor::system(), "agent@help.example", Some("t"))
            .await
            .unwrap()
            .token;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = e.t.app.clone();
    tokio::spawn(async move { axum::serve(listener, fd_web::router(app)).await });
    let client = reqwest::Client::new();
    let svg_index = m
        .attachments
        .iter()
        .position(|a| a.filename == "evil.svg")
        .unwrap();
    let png_index = m
        .attachments
        .iter()
        .position(|a| a.filename == "copy.png")
        .unwrap();
    let r = client
        .get(format!(
            "http://{addr}/mail/messages/{}/attachments/{svg_index}",
            m.id
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "application/octet-stream");
    assert!(
        h["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"evil.svg\"")
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    let r = client
        .get(format!(
            "http://{addr}/mail/messages/{}/attachments/{png_index}",
            m.id
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.bytes().await.unwrap().to_vec(), png);
    let r = client
        .get(format!("http://{addr}/mail/messages/{}/html", m.id))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'")
    );
    assert!(!r.text().await.unwrap().contains("tracker.example"));
    let anonymous = client
        .get(format!(
            "http://{addr}/mail/messages/{}/attachments/0",
            m.id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

async fn outbox_sends_through_a_relay_with_retries(t: TestApp) {
    // The relay is a real SMTP server: our own listener (accepts connected addresses,
    // answers 550 to others). First: a relay that is down → retries with backoff.
    let dead = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead);
    let settings = MailSettings {
        relay: Some(
            fd_mail::send::Relay::new(
                &format!("smtp://127.0.0.1:{dead_port}?tls=none"),
                "localhost",
                None,
            )
            .unwrap(),
        ),
        send_max_attempts: 3,
        ..MailSettings::default()
    };
    let e = env_with(t, settings).await;
    let (_, agent) =
        e.t.agent("agent@help.example", TicketAccessLevel::All, &["Support"])
            .await;
    e.receive(
        "frank@customer.example",
        &[SUPPORT],
        &msg(
            "Frank <frank@customer.example>",
            SUPPORT,
            "Hello",
            Some("<f1@customer.example>"),
            "",
            "Hi.\r\n",
        ),
    )
    .await;
    e.run_jobs().await;
    let conv = e.conversations().await.remove(0);
    // HD-15: a From that is not connected is refused.
    let bad =
        e.t.app
            .send_reply(
                &agent,
                conv.id,
                Reply {
                    text: "x".into(),
                    from_address: Some("me@elsewhere.example".into()),
                    ..Reply::default()
                },
            )
            .await;
    assert!(bad.is_err());
    let other_team =
        e.t.app
            .send_reply(
                &agent,
                conv.id,
                Reply {
                    text: "x".into(),
                    from_address: Some(BILLING.into()),
                    ..Reply::default()
                },
            )
            .await;
    // Any connected address may be chosen explicitly (it is sent too, and fails alike).
    assert_eq!(other_team.unwrap().sender_address.as_deref(), Some(BILLING));
    let sent =
        e.t.app
            .send_reply(
                &agent,
                conv.id,
                Reply {
                    text: "Hello Frank".into(),
                    ..Reply::default()
                },
            )
            .await
            .unwrap();
    let s1 = e.run_jobs().await;
    assert_eq!(s1.retried, 2);
    let m = e
        .messages(conv.id)
        .await
        .into_iter()
        .find(|m| m.id == sent.id)
        .unwrap();
    assert_eq!(m.status, DeliveryStatus::Queued);
    assert!(m.status_detail.unwrap().contains("retrying in 30 s"));
    // Nothing is due until the backoff passes.
    assert_eq!(e.run_jobs().await.total(), 0);
    e.t.clock.advance_ms(30_000);
    assert_eq!(e.run_jobs().await.retried, 2);
    e.t.clock.advance_ms(60_000);
    assert_eq!(e.run_jobs().await.failed, 2);
    let m = e
        .messages(conv.id)
        .await
        .into_iter()
        .find(|m| m.id == sent.id)
        .unwrap();
    assert_eq!(
        m.status,
        DeliveryStatus::Failed,
        "send failures show on the message"
    );
    assert!(m.status_detail.unwrap().contains("after 3 attempt"));
}

async fn outbox_relay_accepts_and_refuses(t: TestApp) {
    // Relay = this test's own SMTP listener: connected addresses are accepted, others 550.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let _ = port;
    let e = env(t).await;
    let relay =
        fd_mail::send::Relay::new(&format!("smtp://{}?tls=none", e.smtp), "localhost", None)
            .unwrap();
    let mail = MailService::new(
        e.t.app.clone(),
        MailSettings {
            relay: Some(relay),
            ..MailSettings::default()
        },
    );
    let (_, agent) =
        e.t.agent("agent@help.example", TicketAccessLevel::All, &["Support"])
            .await;
    e.receive(
        "gina@customer.example",
        &[SUPPORT],
        &msg(
            "Gina <gina@customer.example>",
            SUPPORT,
            "Question",
            Some("<g1@customer.example>"),
            "",
            "Hi.\r\n",
        ),
    )
    .await;
    mail.run_pending_jobs().await.unwrap();
    let conv = e.conversations().await.remove(0);
    // To a connected address (the relay accepts it) and to a stranger (550: permanent).
    let ok =
        e.t.app
            .send_reply(
                &agent,
                conv.id,
                Reply {
                    text: "Forwarding to billing".into(),
                    recipients: fd_store::Recipients {
                        to: vec![BILLING.into()],
                        ..Default::default()
                    },
                    ..Reply::default()
                },
            )
            .await
            .unwrap();
    let refused =
        e.t.app
            .send_reply(
                &agent,
                conv.id,
                Reply {
                    text: "Hello Gina".into(),
                    ..Reply::default()
                },
            )
            .await
            .unwrap();
    let stats = mail.run_pending_jobs().await.unwrap();
    assert_eq!((stats.sent, stats.failed), (1, 1), "{stats:?}");
    let msgs = e.messages(conv.id).await;
    let ok = msgs.iter().find(|m| m.id == ok.id).unwrap();
    assert_eq!(ok.status, DeliveryStatus::Sent);
    let refused = msgs.iter().find(|m| m.id == refused.id).unwrap();
    assert_eq!(refused.status, DeliveryStatus::Failed);
    assert!(
        refused.status_detail.clone().unwrap().contains("550"),
        "{:?}",
        refused.status_detail
    );
    // Our listener received the sent reply: billing@ now has it as a new mail whose
    // headers carry our threading.
    mail.run_pending_jobs().await.unwrap();
    let raw =
        e.t.app
            .raw_mail_list(&Actor::system(), None, 10)
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.envelope_from.as_deref() == Some(SUPPORT))
            .unwrap();
    let (_, bytes) = e.t.app.raw_mail(&Actor::system(), raw.id).await.unwrap();
    let parsed = fd_mail::parse(&bytes, &Default::default()).unwrap();
    assert_eq!(parsed.message_id, ok.message_id_header);
    assert_eq!(
        parsed.in_reply_to,
        vec!["<g1@customer.example>".to_string()]
    );
    let tag = format!("[#{}]", conv.ticket_id.unwrap());
    assert_eq!(
        parsed.subject.as_deref(),
        Some(format!("Re: Question {tag}").as_str())
    );
    assert!(parsed.reply_to[0].address.starts_with("support+"));
}

async fn bad_input_has_clear_outcomes(t: TestApp) {
    let e = env_with(
        t,
        MailSettings {
            max_message_bytes: 50_000,
            ..MailSettings::default()
        },
    )
    .await;
    let long_header = format!("X-Long: {}\r\n", "a".repeat(20_000));
    let mut deep = String::from(
        "From: deep@customer.example\r\nTo: support@help.example\r\nSubject: deep\r\nMessage-ID: <deep@x>\r\nMIME-Version: 1.0\r\n",
    );
    for i in 0..200 {
        deep.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"
        ));
    }
    deep.push_str("Content-Type: text/plain\r\n\r\ndeep inside\r\n");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("malformed", b"From: a@customer.example\r\nTo: support@help.example\r\nSubject: broken\r\nMessage-ID: <m1@x>\r\nContent-Type: multipart/mixed; boundary=\"nope\"\r\n\r\n--wrong\r\nno closing boundary at all".to_vec()),
        ("8bit headers", b"From: \xe9t\xe9 <ete@customer.example>\r\nTo: support@help.example\r\nSubject: caf\xe9 cr\xe8me\r\nMessage-ID: <m2@x>\r\n\r\nbody \xff\xfe\r\n".to_vec()),
        ("long header", format!("From: long@customer.example\r\nTo: support@help.example\r\nSubject: {}\r\nMessage-ID: <m3@x>\r\n{long_header}\r\nbody\r\n", "s".repeat(5000)).into_bytes()),
        ("nul bytes", b"From: nul@customer.example\r\nTo: support@help.example\r\nSubject: n\0ul\r\nMessage-ID: <m4@x>\r\n\r\na\0b\r\n".to_vec()),
        ("deep nesting", deep.into_bytes()),
        ("no message-id", b"From: noid@customer.example\r\nTo: support@help.example\r\nSubject: no id\r\n\r\nno id here\r\n".to_vec()),
        ("no headers", b"just some text\r\nwithout any header\r\n".to_vec()),
    ];
    let mut ids = Vec::new();
    for (name, raw) in &cases {
        let id = e
            .mail
            .accept(IncomingMail {
                source: MailSource::Mailgate,
                envelope_from: None,
                recipients: vec![SUPPORT.into()],
                raw: raw.clone(),
                truncated_from: None,
            })
            .await
            .unwrap();
        ids.push((name.to_string(), id));
    }
    // Over the limit: smtplib declares SIZE, so MAIL FROM gets 552 (RFC 1870) and the
    // sender's MTA bounces it to them.
    let big = msg(
        "big@customer.example",
        SUPPORT,
        "Huge file",
        Some("<big@x>"),
        "",
        &"z".repeat(60_000),
    );
    let r = smtplib_send(e.smtp, "big@customer.example", &[SUPPORT], &big).await;
    assert!(r["error"].as_str().unwrap_or("").starts_with("552"), "{r}");
    // Without SIZE the listener reads to the end, answers 552 and keeps the header section
    // (crates/fd-mail/tests/it/listener.rs): the agent is told.
    e.mail
        .accept(IncomingMail {
            source: MailSource::Smtp {
                peer: "127.0.0.1:1".into(),
                helo: "x".into(),
                tls: false,
            },
            envelope_from: Some("big@customer.example".into()),
            recipients: vec![SUPPORT.into()],
            raw: fd_mail::header_section(big.as_bytes(), fd_mail::OVERSIZE_KEEP_BYTES),
            truncated_from: Some(big.len() as u64),
        })
        .await
        .unwrap();
    let stats = e.run_jobs().await;
    assert_eq!(stats.errors, 0, "{stats:?}");
    for (name, id) in &ids {
        let raw = e.raw(*id).await;
        match name.as_str() {
            "no headers" => {
                assert_eq!(raw.status, "failed");
                assert_eq!(raw.outcome.as_deref(), Some("unparseable"));
            }
            _ => assert_eq!(raw.status, "done", "{name}: {raw:?}"),
        }
    }
    let failed =
        e.t.app
            .raw_mail_list(&Actor::system(), Some("failed"), 10)
            .await
            .unwrap();
    assert_eq!(failed.len(), 1, "listed for admins");
    let convs = e.conversations().await;
    let all_raw =
        e.t.app
            .raw_mail_list(&Actor::system(), None, 100)
            .await
            .unwrap();
    assert_eq!(
        convs.len(),
        7,
        "six messages and the oversize notice: {:?} {:?}",
        convs.iter().map(|c| c.subject.clone()).collect::<Vec<_>>(),
        all_raw
            .iter()
            .map(|r| (r.id, r.outcome.clone(), r.detail.clone()))
            .collect::<Vec<_>>()
    );
    let huge = convs
        .iter()
        .find(|c| c.subject.as_deref() == Some("Huge file"))
        .unwrap();
    let m = e.messages(huge.id).await.remove(0);
    let notices = e.meta(m.id).await.notices;
    assert!(
        notices.iter().any(|n| n.contains("over the")),
        "{notices:?}"
    );
    let nul = convs
        .iter()
        .find(|c| {
            c.subject
                .as_deref()
                .is_some_and(|s| s.starts_with('n') && s.ends_with("ul"))
        })
        .unwrap();
    assert!(!e.messages(nul.id).await[0].text.contains('\0'));
    let noid = convs
        .iter()
        .find(|c| c.subject.as_deref() == Some("no id"))
        .unwrap();
    let noid_msg = e.messages(noid.id).await.remove(0);
    assert!(noid_msg.message_id_header.is_none());
    // The same id-less message again is recognised by its content.
    let again = e
        .mail
        .accept(IncomingMail {
            source: MailSource::Mailgate,
            envelope_from: None,
            recipients: vec![SUPPORT.into()],
            raw: cases[5].1.clone(),
            truncated_from: None,
        })
        .await
        .unwrap();
    e.run_jobs().await;
    assert_eq!(e.raw(again).await.outcome.as_deref(), Some("duplicate"));
}

/// Every message of the shared corpus ingests (no panic, nothing left pending); bounces
/// and auto-replies open no ticket.
async fn corpus_ingests(t: TestApp) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/mime");
    let root = if root.join("index.tsv").exists() {
        root
    } else {
        PathBuf::from("/work/shared/corpus/mime")
    };
    if !root.join("index.tsv").exists() {
        eprintln!("corpus not found: skipped");
        return;
    }
    let e = env(t).await;
    let index = std::fs::read_to_string(root.join("index.tsv")).unwrap();
    let mut expected_noise = Vec::new();
    let mut n = 0;
    for line in index.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let raw = std::fs::read(root.join(f[0])).unwrap();
        let id = e
            .mail
            .accept(IncomingMail {
                source: MailSource::Mailgate,
                envelope_from: None,
                recipients: vec![SUPPORT.into()],
                raw,
                truncated_from: None,
            })
            .await
            .unwrap();
        let exp = f.get(2).unwrap_or(&"").to_lowercase();
        if exp.starts_with("bounce") || exp.starts_with("auto-reply") || exp.starts_with("feedback")
        {
            expected_noise.push((f[0].to_string(), id));
        }
        n += 1;
    }
    let stats = e.run_jobs().await;
    assert_eq!(stats.errors, 0, "{stats:?}");
    assert_eq!(stats.ingested, n);
    let all =
        e.t.app
            .raw_mail_list(&Actor::system(), None, 10_000)
            .await
            .unwrap();
    assert!(
        all.iter().all(|r| r.status != "pending"),
        "nothing left unprocessed"
    );
    for (file, id) in &expected_noise {
        let r = e.raw(*id).await;
        assert!(
            r.conversation_id.is_none() || r.outcome.as_deref() != Some("conversation_created"),
            "{file} opened a conversation: {r:?}"
        );
        assert_ne!(r.outcome.as_deref(), Some("conversation_created"), "{file}");
    }
    let failed = all.iter().filter(|r| r.status == "failed").count();
    eprintln!(
        "corpus ingest: {n} messages, {} noise, {failed} failed (kept raw), {} tickets",
        expected_noise.len(),
        e.tickets().await
    );
    assert!(failed <= 1);
}

/// Hardening: a worker that is alive but slow keeps its jobs. Before the heartbeat, a job
/// that outlived its 2-minute lease (a message that took minutes to sanitise) was claimed
/// by a second worker, so both were busy on it while other mail waited.
async fn busy_worker_keeps_its_lease(t: TestApp) {
    let clock = t.clock.clone();
    let e = env(t).await;
    let other = MailService::new(
        e.t.app.clone(),
        MailSettings {
            worker: "node-b".into(),
            ..MailSettings::default()
        },
    );
    e.receive(
        "ann@customer.example",
        &[SUPPORT],
        &msg(
            "ann@customer.example",
            SUPPORT,
            "Slow one",
            Some("<slow@customer.example>"),
            "",
            "Hello",
        ),
    )
    .await;
    let claimed = e.mail.claim_due_jobs().await.unwrap();
    assert_eq!(claimed.len(), 1);
    let ids: Vec<i64> = claimed.iter().map(|j| j.id).collect();
    // Still working after 100 s: the heartbeat renews the lease.
    clock.advance_ms(100_000);
    assert_eq!(e.mail.renew_leases(&ids).await.unwrap(), 1);
    // 200 s after the claim, past the original lease: the other worker finds nothing.
    clock.advance_ms(100_000);
    assert_eq!(other.run_pending_jobs().await.unwrap().total(), 0);
    assert_eq!(e.tickets().await, 0);
    // A worker that stopped beating (it died) loses the job to the other one.
    clock.advance_ms(fd_app::LEASE_MS + 1);
    let stats = other.run_pending_jobs().await.unwrap();
    assert_eq!(stats.ingested, 1, "{stats:?}");
    assert_eq!(e.tickets().await, 1);
    // The first worker's lease is gone for good: renewing it holds nothing.
    assert_eq!(e.mail.renew_leases(&ids).await.unwrap(), 0);
}

/// Defects of the issue "Domain core" found by sending real mail over SMTP: an id-less
/// message delivered twice (each delivery with its own Return-Path and Received lines) opened
/// two tickets; `Message-ID: <abc@example.com` (no `>`) was read as no id; a delay warning
/// from MAILER-DAEMON opened a ticket.
async fn smtp_redelivery_lenient_ids_and_delay_warnings(t: TestApp) {
    let e = env(t).await;
    let (_, agent) =
        e.t.agent("agent@help.example", TicketAccessLevel::All, &["Support"])
            .await;
    let system = Actor::system();
    // 1. No Message-ID, delivered twice over SMTP by two routes. Our listener adds its own
    //    Return-Path and Received lines to each, on top of the upstream ones.
    let sent = msg(
        "Dora <dora@customer.example>",
        SUPPORT,
        "Parcel never came",
        None,
        "",
        "My order 1234 never arrived.\r\n",
    );
    let first = format!(
        "Received: from laptop.customer.example by mx1.customer.example; Thu, 01 Jan 2026 10:00:01 +0000\r\n{sent}"
    );
    let second = format!(
        "Received: from mx2.customer.example by relay.customer.example; Thu, 01 Jan 2026 12:00:09 +0000\r\nReceived: from laptop.customer.example by mx2.customer.example; Thu, 01 Jan 2026 10:00:02 +0000\r\n{sent}"
    );
    let r = smtplib_send(e.smtp, "dora@customer.example", &[SUPPORT], &first).await;
    assert_eq!(r["error"], serde_json::Value::Null, "{r}");
    let r = smtplib_send(e.smtp, "bounces-dora@customer.example", &[SUPPORT], &second).await;
    assert_eq!(r["error"], serde_json::Value::Null, "{r}");
    let stored = e.t.app.raw_mail_list(&system, None, 10).await.unwrap();
    assert_eq!(stored.len(), 2);
    let (_, a) = e.t.app.raw_mail(&system, stored[0].id).await.unwrap();
    let (_, b) = e.t.app.raw_mail(&system, stored[1].id).await.unwrap();
    assert_ne!(a, b, "the bytes as stored differ in their trace lines");
    e.run_jobs().await;
    assert_eq!(e.tickets().await, 1, "one message, one ticket");
    let outcomes: Vec<String> =
        e.t.app
            .raw_mail_list(&system, None, 10)
            .await
            .unwrap()
            .iter()
            .map(|r| r.outcome.clone().unwrap_or_default())
            .collect();
    assert!(outcomes.contains(&"duplicate".to_string()), "{outcomes:?}");
    let dora = e.conversations().await.remove(0);
    assert_eq!(e.messages(dora.id).await.len(), 1);

    // 2. A Message-ID without its `>`: read as the id, so a redelivery is a duplicate and
    //    a reply to it threads.
    let unclosed = msg(
        "Ed <ed@customer.example>",
        SUPPORT,
        "Broken id",
        Some("<abc-unclosed@customer.example"),
        "",
        "Hello.\r\n",
    );
    for from in ["ed@customer.example", "ed@customer.example"] {
        let r = smtplib_send(e.smtp, from, &[SUPPORT], &unclosed).await;
        assert_eq!(r["error"], serde_json::Value::Null, "{r}");
    }
    e.run_jobs().await;
    assert_eq!(e.tickets().await, 2);
    let ed = e
        .conversations()
        .await
        .into_iter()
        .find(|c| c.subject.as_deref() == Some("Broken id"))
        .unwrap();
    let first_ed = e.messages(ed.id).await.remove(0);
    assert_eq!(
        first_ed.message_id_header.as_deref(),
        Some("<abc-unclosed@customer.example>")
    );
    assert!(
        e.meta(first_ed.id)
            .await
            .notices
            .iter()
            .all(|n| !n.contains("no Message-ID")),
        "read as an id"
    );
    let reply = msg(
        "Ed <ed@customer.example>",
        SUPPORT,
        "Re: Broken id",
        Some("<abc-2@customer.example>"),
        "In-Reply-To: <abc-unclosed@customer.example\r\n",
        "And more.\r\n",
    );
    smtplib_send(e.smtp, "ed@customer.example", &[SUPPORT], &reply).await;
    e.run_jobs().await;
    assert_eq!(
        e.messages(ed.id).await.len(),
        2,
        "In-Reply-To without `>` threads"
    );

    // 3. A delay warning from MAILER-DAEMON (plain text, no report part, no failure words):
    //    a temporary bounce, no ticket; sent back to our reply address it names our message
    //    without marking it failed.
    let sent_reply =
        e.t.app
            .send_reply(
                &agent,
                dora.id,
                Reply {
                    text: "We are looking.".into(),
                    ..Reply::default()
                },
            )
            .await
            .unwrap();
    e.run_jobs().await;
    let token = e.reply_token(dora.id).await;
    let verp = format!("support+{token}@help.example");
    let warning = "From: Mail Delivery System <MAILER-DAEMON@mx.customer.example>\r\nTo: support@help.example\r\nSubject: Warning: message has not yet been delivered\r\nDate: Fri, 02 Jan 2026 10:00:00 +0000\r\nMessage-ID: <warn-1@mx.customer.example>\r\n\r\nThis message was created automatically by mail delivery software.\r\n\r\nA message that you sent has not yet reached one or more of its recipients after\r\nmore than 24 hours on the queue on mx.customer.example.\r\n\r\nNo action is required on your part. Delivery attempts will continue for some time.\r\n";
    for (id, to) in [
        ("<warn-1@mx.customer.example>", SUPPORT),
        ("<warn-2@mx.customer.example>", verp.as_str()),
    ] {
        let raw = warning.replace("<warn-1@mx.customer.example>", id);
        let r = smtplib_send(e.smtp, "", &[to], &raw).await;
        assert_eq!(r["error"], serde_json::Value::Null, "{r}");
    }
    e.run_jobs().await;
    assert_eq!(e.tickets().await, 2, "a delay warning opens no ticket");
    let outcomes: Vec<String> =
        e.t.app
            .raw_mail_list(&system, None, 20)
            .await
            .unwrap()
            .iter()
            .map(|r| r.outcome.clone().unwrap_or_default())
            .collect();
    assert!(outcomes.contains(&"bounce".to_string()), "{outcomes:?}");
    assert!(
        outcomes.contains(&"bounce_delay".to_string()),
        "{outcomes:?}"
    );
    let ours = e
        .messages(dora.id)
        .await
        .into_iter()
        .find(|m| m.id == sent_reply.id)
        .unwrap();
    assert_ne!(
        ours.status,
        DeliveryStatus::Failed,
        "a delay is not a failure"
    );
}

/// HD-07 threading over every reference, and new participants kept on the ticket.
async fn threading_walks_every_reference_and_keeps_new_participants(t: TestApp) {
    let e = env(t).await;
    let (_, agent) =
        e.t.agent("agent@help.example", TicketAccessLevel::All, &["Support"])
            .await;
    let system = Actor::system();
    let first = |from: &str, subject: &str, id: &str| {
        msg(from, SUPPORT, subject, Some(id), "", "Hello.\r\n")
    };
    e.receive(
        "alice@customer.example",
        &[SUPPORT],
        &first(
            "Alice <alice@customer.example>",
            "Delivery late",
            "<a1@customer.example>",
        ),
    )
    .await;
    e.receive(
        "bob@customer.example",
        &[SUPPORT],
        &first(
            "Bob <bob@customer.example>",
            "Refund",
            "<b1@customer.example>",
        ),
    )
    .await;
    e.receive(
        "cy@customer.example",
        &[SUPPORT],
        &first("Cy <cy@customer.example>", "Spam", "<c1@customer.example>"),
    )
    .await;
    e.run_jobs().await;
    let convs = e.conversations().await;
    let by_subject = |s: &str| {
        convs
            .iter()
            .find(|c| c.subject.as_deref() == Some(s))
            .unwrap()
            .clone()
    };
    let (a, b, c) = (
        by_subject("Delivery late"),
        by_subject("Refund"),
        by_subject("Spam"),
    );
    e.t.app.trash_conversation(&agent, c.id).await.unwrap();
    let signal_of = |conv: ConversationId, id: &'static str| {
        let e = &e;
        async move {
            let m = e
                .messages(conv)
                .await
                .into_iter()
                .find(|m| m.message_id_header.as_deref() == Some(id))
                .unwrap_or_else(|| panic!("{id} is not in conversation {conv}"));
            e.meta(m.id).await
        }
    };

    // Bob's reply whose In-Reply-To names Alice's conversation (he is not on it) and whose
    // older reference is his own: his own conversation, without stopping at the first.
    e.receive("bob@customer.example", &[SUPPORT], &msg("Bob <bob@customer.example>", SUPPORT, "Re: Refund", Some("<b2@customer.example>"), "In-Reply-To: <a1@customer.example>\r\nReferences: <b1@customer.example> <a1@customer.example>\r\n", "Any news?\r\n")).await;
    // Alice's reply whose newest reference is in a trashed conversation: the older one.
    e.receive("alice@customer.example", &[SUPPORT], &msg("Alice <alice@customer.example>", SUPPORT, "Re: Delivery late", Some("<a2@customer.example>"), "In-Reply-To: <c1@customer.example>\r\nReferences: <a1@customer.example> <c1@customer.example>\r\n", "Still late.\r\n")).await;
    e.run_jobs().await;
    let m = signal_of(b.id, "<b2@customer.example>").await;
    assert_eq!(m.thread_signal.as_deref(), Some("references"));
    assert!(
        m.notices.iter().all(|n| !n.starts_with("New participant")),
        "{:?}",
        m.notices
    );
    assert_eq!(
        signal_of(a.id, "<a2@customer.example>")
            .await
            .thread_signal
            .as_deref(),
        Some("references")
    );

    // Carol, a colleague of Alice's who was not on the conversation, replies to it with
    // another subject: the ticket keeps it, flags her and associates her contact.
    let carol =
        e.t.app
            .create_contact(
                &system,
                fd_app::NewContact {
                    email: Some("carol@customer.example".into()),
                    firstname: Some("Carol".into()),
                    lastname: None,
                    phone: None,
                    company: None,
                },
            )
            .await
            .unwrap();
    e.receive("carol@customer.example", &[SUPPORT], &msg("Carol <carol@customer.example>", SUPPORT, "Our delivery address changed", Some("<k1@customer.example>"), "In-Reply-To: <a2@customer.example>\r\nReferences: <a1@customer.example> <a2@customer.example>\r\nCc: alice@customer.example\r\n", "Please use the new address.\r\n")).await;
    e.run_jobs().await;
    let m = signal_of(a.id, "<k1@customer.example>").await;
    assert_eq!(m.thread_signal.as_deref(), Some("references"));
    assert!(
        m.notices
            .iter()
            .any(|n| n.starts_with("New participant: carol@customer.example")),
        "{:?}",
        m.notices
    );
    let ticket_a = a.ticket_id.unwrap();
    let linked =
        e.t.app
            .associations(
                &system,
                fd_app::AssociationEnd::new(ObjectType::Ticket, ticket_a.0),
                ObjectType::Contact,
            )
            .await
            .unwrap();
    assert!(linked.iter().any(|r| r.to_id == carol.id.0), "{linked:?}");
    // From now on she is a participant: the ticket tag alone threads her mail.
    e.receive(
        "carol@customer.example",
        &[SUPPORT],
        &msg(
            "Carol <carol@customer.example>",
            SUPPORT,
            &format!("Update [#{ticket_a}]"),
            Some("<k2@customer.example>"),
            "",
            "One more thing.\r\n",
        ),
    )
    .await;
    e.run_jobs().await;
    let m = signal_of(a.id, "<k2@customer.example>").await;
    assert_eq!(m.thread_signal.as_deref(), Some("subject_tag"));
    assert!(m.notices.iter().all(|n| !n.starts_with("New participant")));

    // A reply token decides alone: a stranger's mail to Alice's reply address that also
    // references Bob's conversation joins Alice's (the token proves what they received)
    // and nothing of Bob's is touched or sent.
    e.t.app
        .send_reply(
            &agent,
            a.id,
            Reply {
                text: "Noted.".into(),
                ..Reply::default()
            },
        )
        .await
        .unwrap();
    e.run_jobs().await;
    let token = e.reply_token(a.id).await;
    let bob_before = e.messages(b.id).await.len();
    let reply_addr = format!("support+{token}@help.example");
    e.receive("mallory@other.example", &[&reply_addr], &msg("Mallory <mallory@other.example>", &reply_addr, "Re: Refund", Some("<m1@other.example>"), "In-Reply-To: <b2@customer.example>\r\nReferences: <b1@customer.example> <b2@customer.example>\r\n", "Hi.\r\n")).await;
    e.run_jobs().await;
    let m = signal_of(a.id, "<m1@other.example>").await;
    assert_eq!(m.thread_signal.as_deref(), Some("reply_address"));
    assert!(
        m.notices
            .iter()
            .any(|n| n.starts_with("New participant: mallory@other.example"))
    );
    assert_eq!(
        e.messages(b.id).await.len(),
        bob_before,
        "Bob's conversation untouched"
    );
    let queued =
        e.t.app
            .raw_mail_list(&system, Some("pending"), 10)
            .await
            .unwrap();
    assert!(queued.is_empty());

    // A thread whose root we never received (a list post): two replies to it are one
    // conversation, and the root arriving late joins them.
    let tickets_before = e.tickets().await;
    e.receive(
        "erin@customer.example",
        &[SUPPORT],
        &msg(
            "Erin <erin@customer.example>",
            SUPPORT,
            "Re: [users] Release 2.0",
            Some("<e1@customer.example>"),
            "In-Reply-To: <root@lists.example>\r\nReferences: <root@lists.example>\r\n",
            "Broken for me.\r\n",
        ),
    )
    .await;
    e.run_jobs().await;
    e.receive(
        "frank@customer.example",
        &[SUPPORT],
        &msg(
            "Frank <frank@customer.example>",
            SUPPORT,
            "Re: [users] Release 2.0",
            Some("<f1@customer.example>"),
            "In-Reply-To: <root@lists.example>\r\nReferences: <root@lists.example>\r\n",
            "Me too.\r\n",
        ),
    )
    .await;
    e.receive(
        "gina@lists.example",
        &[SUPPORT],
        &msg(
            "Gina <gina@lists.example>",
            SUPPORT,
            "[users] Release 2.0",
            Some("<root@lists.example>"),
            "",
            "Released.\r\n",
        ),
    )
    .await;
    e.run_jobs().await;
    assert_eq!(e.tickets().await, tickets_before + 1);
    let erin = e
        .conversations()
        .await
        .into_iter()
        .find(|c| c.subject.as_deref() == Some("Re: [users] Release 2.0"))
        .unwrap();
    let ids: Vec<String> = e
        .messages(erin.id)
        .await
        .into_iter()
        .filter_map(|m| m.message_id_header)
        .collect();
    assert_eq!(
        ids,
        vec![
            "<e1@customer.example>",
            "<f1@customer.example>",
            "<root@lists.example>"
        ]
    );
}

/// Raw mail first, whatever goes wrong: an error while processing one message (here the
/// database refuses its row, through a trigger the test installs) leaves the others going
/// on, keeps the message raw, retries it with backoff, then marks it failed and lists it;
/// after the fault is gone an admin's retry ingests it. (A panic takes the same road: the
/// worker's `contained` turns it into this error, see its unit test in fd-app.)
async fn one_failing_message_is_kept_and_the_others_go_on(t: TestApp) {
    let e = env(t).await;
    let system = Actor::system();
    let (install, remove): (&[&str], &[&str]) = match e.t.app.db().backend() {
        fd_store::Backend::Sqlite => (
            &[
                "CREATE TRIGGER poison BEFORE INSERT ON messages WHEN NEW.subject = 'Poison pill' \
               BEGIN SELECT RAISE(ABORT, 'poisoned by the test'); END",
            ],
            &["DROP TRIGGER poison"],
        ),
        fd_store::Backend::Postgres => (
            &[
                "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN \
                 IF NEW.subject = 'Poison pill' THEN RAISE EXCEPTION 'poisoned by the test'; END IF; \
                 RETURN NEW; END $$ LANGUAGE plpgsql",
                "CREATE TRIGGER poison BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION poison()",
            ],
            &["DROP TRIGGER poison ON messages", "DROP FUNCTION poison()"],
        ),
    };
    let exec = |sqls: &'static [&'static str]| {
        let app = e.t.app.clone();
        async move {
            let mut tx = app.db().write().await.unwrap();
            for sql in sqls {
                tx.exec_test_sql(sql).await.unwrap();
            }
            tx.commit().await.unwrap();
        }
    };
    exec(install).await;
    let mut ids = Vec::new();
    for (i, subject) in ["First", "Poison pill", "Third"].iter().enumerate() {
        let raw = msg(
            "Pat <pat@customer.example>",
            SUPPORT,
            subject,
            Some(&format!("<p{i}@customer.example>")),
            "",
            "Hello.\r\n",
        );
        ids.push((
            e.receive("pat@customer.example", &[SUPPORT], &raw).await,
            raw,
        ));
    }
    let stats = e.run_jobs().await;
    assert_eq!(stats.ingested, 2, "{stats:?}");
    assert_eq!(stats.errors, 1, "{stats:?}");
    assert_eq!(e.tickets().await, 2, "the others went on");
    let poison = ids[1].0;
    assert_eq!(e.raw(poison).await.status, "pending", "retried later");
    // Each retry after its backoff, until the attempts run out.
    for _ in 0..10 {
        e.t.clock.advance_ms(3_600_000);
        if e.run_jobs().await.total() == 0 {
            break;
        }
    }
    let failed = e.raw(poison).await;
    assert_eq!(failed.status, "failed");
    assert_eq!(failed.outcome.as_deref(), Some("error"));
    assert!(
        failed.detail.as_deref().unwrap_or("").contains("poisoned"),
        "{failed:?}"
    );
    let listed =
        e.t.app
            .raw_mail_list(&system, Some("failed"), 10)
            .await
            .unwrap();
    assert_eq!(
        listed.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![poison]
    );
    let (_, kept) = e.t.app.raw_mail(&system, poison).await.unwrap();
    assert_eq!(kept, ids[1].1.as_bytes(), "kept raw, byte for byte");
    // Fixed: the admin's retry ingests it.
    exec(remove).await;
    e.t.app.retry_raw_mail(&system, poison).await.unwrap();
    let stats = e.run_jobs().await;
    assert_eq!((stats.ingested, stats.errors), (1, 0), "{stats:?}");
    assert_eq!(e.raw(poison).await.status, "done");
    assert_eq!(e.tickets().await, 3);
    // Mail that became a message is not run again (it would be a second copy).
    assert!(e.t.app.retry_raw_mail(&system, ids[0].0).await.is_err());
    assert_eq!(e.run_jobs().await.total(), 0);
    assert_eq!(e.tickets().await, 3);
}

fd_testkit::on_both_backends! {
    mail_smtp_delivery_stores_first_and_makes_one_ticket => smtp_delivery_stores_first_and_makes_one_ticket;
    mail_threading_follows_hd07 => threading_follows_hd07;
    mail_loops_and_noise_never_open_tickets => loops_and_noise_never_open_tickets;
    mail_content_attachments_and_charsets => content_attachments_and_charsets;
    mail_outbox_retries_with_backoff_then_fails => outbox_sends_through_a_relay_with_retries;
    mail_outbox_relay_accepts_and_refuses => outbox_relay_accepts_and_refuses;
    mail_bad_input_has_clear_outcomes => bad_input_has_clear_outcomes;
    mail_corpus_ingests => corpus_ingests;
    mail_busy_worker_keeps_its_lease => busy_worker_keeps_its_lease;
    mail_smtp_redelivery_lenient_ids_and_delay_warnings => smtp_redelivery_lenient_ids_and_delay_warnings;
    mail_one_failing_message_is_kept_and_the_others_go_on => one_failing_message_is_kept_and_the_others_go_on;
    mail_hd07_threading_walks_every_reference_and_keeps_new_participants => threading_walks_every_reference_and_keeps_new_participants;
}

// --- Real peers from .ci/mail-peers -----------------------------------------------------

/// The venv Python with aiosmtpd, when `.ci/mail-peers` provides it.
fn peer_python() -> Option<String> {
    let py = std::env::var("FRONTDESK_TEST_PYTHON").ok()?;
    let ok = std::process::Command::new(&py)
        .args(["-c", "import aiosmtpd"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok && std::env::var("FRONTDESK_TEST_REQUIRE_PEERS").is_ok() {
        panic!("FRONTDESK_TEST_REQUIRE_PEERS is set but {py} has no aiosmtpd");
    }
    ok.then_some(py)
}

fn skip(what: &str) {
    assert!(
        std::env::var("FRONTDESK_TEST_REQUIRE_PEERS").is_err(),
        "{what} required by .ci/mail-peers but not available"
    );
    eprintln!("{what} not available (run .ci/mail-peers): skipped");
}

/// Outgoing mail captured by a real aiosmtpd server: headers, threading, retries after a
/// temporary refusal, and our automatic mail marked as such.
async fn aiosmtpd_captures_outgoing_mail(t: TestApp) {
    let Some(py) = peer_python() else {
        return skip("aiosmtpd");
    };
    let out = tempfile::tempdir().unwrap();
    let mut sink = tokio::process::Command::new(&py)
        .arg(helper("smtp_sink.py"))
        .arg(out.path())
        .args(["--fail-first", "1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(sink.stdout.take().unwrap());
    let mut first = String::new();
    tokio::io::AsyncBufReadExt::read_line(&mut lines, &mut first)
        .await
        .unwrap();
    let port: u16 = first.trim().strip_prefix("PORT ").unwrap().parse().unwrap();
    let relay = fd_mail::send::Relay::new(
        &format!("smtp://127.0.0.1:{port}?tls=none"),
        "localhost",
        None,
    )
    .unwrap();
    let e = env_with(
        t,
        MailSettings {
            relay: Some(relay),
            ..MailSettings::default()
        },
    )
    .await;
    e.t.app
        .set_auto_acknowledge(&Actor::system(), SUPPORT, true)
        .await
        .unwrap();
    let (_, agent) =
        e.t.agent("agent@help.example", TicketAccessLevel::All, &["Support"])
            .await;
    e.receive(
        "hana@customer.example",
        &[SUPPORT],
        &msg(
            "Hana <hana@customer.example>",
            SUPPORT,
            "Cannot export",
            Some("<h1@customer.example>"),
            "References: <h0@customer.example>\r\n",
            "Export fails.\r\n",
        ),
    )
    .await;
    // Ingest; the acknowledgement meets the 451 and is retried.
    let s = e.run_jobs().await;
    assert_eq!((s.ingested, s.retried), (1, 1), "{s:?}");
    let conv = e.conversations().await.remove(0);
    let reply =
        e.t.app
            .send_reply(
                &agent,
                conv.id,
                Reply {
                    text: "We are on it.".into(),
                    html: Some("<p>We are <b>on it</b>.</p>".into()),
                    recipients: fd_store::Recipients {
                        to: vec!["hana@customer.example".into()],
                        cc: vec!["boss@customer.example".into()],
                        bcc: vec!["audit@help.example".into()],
                    },
                    ..Reply::default()
                },
            )
            .await
            .unwrap();
    assert_eq!(e.run_jobs().await.sent, 1);
    e.t.clock.advance_ms(30_000);
    assert_eq!(
        e.run_jobs().await.sent,
        1,
        "the acknowledgement after its backoff"
    );
    let _ = sink.stdin.take();
    let _ = sink.wait().await;
    let read = |n: usize| {
        let raw = std::fs::read(out.path().join(format!("{n}.eml"))).unwrap();
        let env: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.path().join(format!("{n}.json"))).unwrap(),
        )
        .unwrap();
        (raw, env)
    };
    let (raw1, env1) = read(1);
    let (raw2, env2) = read(2);
    let (agent_raw, agent_env, ack_raw, ack_env) =
        if String::from_utf8_lossy(&raw1).contains("We are on it") {
            (raw1, env1, raw2, env2)
        } else {
            (raw2, env2, raw1, env1)
        };
    let text = String::from_utf8_lossy(&agent_raw).to_string();
    let p = fd_mail::parse(&agent_raw, &Default::default()).unwrap();
    let ticket = conv.ticket_id.unwrap();
    assert_eq!(p.from.as_ref().unwrap().address, SUPPORT);
    assert_eq!(p.to[0].address, "hana@customer.example");
    assert_eq!(p.cc[0].address, "boss@customer.example");
    assert!(
        !text.contains("audit@help.example"),
        "Bcc stays out of the headers"
    );
    assert_eq!(agent_env["rcpt_tos"].as_array().unwrap().len(), 3);
    assert_eq!(agent_env["mail_from"], SUPPORT);
    assert_eq!(
        p.subject.as_deref(),
        Some(format!("Re: Cannot export [#{ticket}]").as_str())
    );
    assert_eq!(p.message_id, reply.message_id_header);
    // HD-14: the reply answers the newest message, here our acknowledgement of <h1>.
    let ack_id = e
        .messages(conv.id)
        .await
        .into_iter()
        .find(|m| m.direction == Direction::Outbound && m.sender_user_id.is_none())
        .unwrap()
        .message_id_header
        .unwrap();
    assert_eq!(p.in_reply_to, vec![ack_id.clone()]);
    assert_eq!(
        p.references,
        vec!["<h1@customer.example>".to_string(), ack_id]
    );
    let reply_to = &p.reply_to[0].address;
    assert!(
        reply_to.starts_with("support+") && reply_to.ends_with("@help.example"),
        "{reply_to}"
    );
    assert!(text.contains("multipart/alternative"), "text and HTML");
    assert!(p.html.unwrap().contains("<b>on it</b>"));
    assert!(!text.to_ascii_lowercase().contains("auto-submitted"));
    let ack = String::from_utf8_lossy(&ack_raw).to_string();
    assert!(ack.contains("Auto-Submitted: auto-replied"), "{ack}");
    assert_eq!(
        ack_env["mail_from"], "<>",
        "automatic mail goes out with a null reverse-path"
    );
    let msgs = e.messages(conv.id).await;
    assert!(
        msgs.iter()
            .filter(|m| m.direction == Direction::Outbound)
            .all(|m| m.status == DeliveryStatus::Sent)
    );
    // The customer answers our reply through its Reply-To: it lands on the ticket.
    e.receive(
        "hana@customer.example",
        &[reply_to],
        &msg(
            "Hana <hana@customer.example>",
            reply_to,
            &format!("Re: Cannot export [#{ticket}]"),
            Some("<h2@customer.example>"),
            &format!("In-Reply-To: {}\r\n", p.message_id.unwrap()),
            "Thanks!\r\n",
        ),
    )
    .await;
    e.run_jobs().await;
    assert_eq!(e.tickets().await, 1);
}

fn imap_env() -> Option<(String, String)> {
    let url = std::env::var("FRONTDESK_TEST_IMAP_URL").ok()?;
    let ca = std::env::var("FRONTDESK_TEST_IMAP_CA").ok()?;
    Some((url, ca))
}

async fn imap_tool(args: &[&str], ca: &str) -> String {
    let out = tokio::process::Command::new(python())
        .arg(helper("imap_tool.py"))
        .args(args)
        .env("IMAP_CA", ca)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "imap_tool {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// The IMAP poller against a real Dovecot over TLS: UID tracking, \Seen after storing, a
/// UIDVALIDITY change, MOVE, an oversized message, duplicates.
async fn dovecot_imap_poller(t: TestApp) {
    let Some((url, ca)) = imap_env() else {
        return skip("Dovecot");
    };
    let e = env(t).await;
    let backend = format!("{:?}", e.t.backend).to_lowercase();
    let mailbox = format!("fd-{backend}-{}", std::process::id());
    let hostport = url.rsplit('@').next().unwrap().to_string();
    let (host, port) = hostport.split_once(':').unwrap();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, body: String| {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        p.display().to_string()
    };
    let m1 = write(
        "1.eml",
        msg(
            "Ivo <ivo@customer.example>",
            SUPPORT,
            "Via IMAP",
            Some("<i1@customer.example>"),
            "",
            "From the mailbox.\r\n",
        ),
    );
    let m1_again = m1.clone();
    let m2 = write(
        "2.eml",
        msg(
            "Ivo <ivo@customer.example>",
            "someone@elsewhere.example",
            "Also via IMAP",
            Some("<i2@customer.example>"),
            "",
            "The configured recipient decides.\r\n",
        ),
    );
    let big = write(
        "3.eml",
        msg(
            "Ivo <ivo@customer.example>",
            SUPPORT,
            "Big one",
            Some("<i3@customer.example>"),
            "",
            &"x".repeat(5000),
        ),
    );
    imap_tool(&["recreate", host, port, "fduser", "fdpass", &mailbox], &ca).await;
    imap_tool(
        &[
            "append", host, port, "fduser", "fdpass", &mailbox, &m1, &m2, &big, &m1_again,
        ],
        &ca,
    )
    .await;
    let mut config = fd_mail::imap::ImapConfig::from_url(&format!(
        "{url}/{mailbox}?recipient={SUPPORT}&ca={ca}"
    ))
    .unwrap();
    config.max_message_size = 3000;
    let r = fd_mail::imap::poll_once(&config, &e.mail).await.unwrap();
    assert_eq!((r.stored, r.too_large), (4, 1), "{r:?}");
    e.run_jobs().await;
    assert_eq!(e.tickets().await, 3, "the duplicate made no second ticket");
    let flags = imap_tool(&["flags", host, port, "fduser", "fdpass", &mailbox], &ca).await;
    assert_eq!(flags.matches("\\Seen").count(), 4, "{flags}");
    let big_conv = e
        .conversations()
        .await
        .into_iter()
        .find(|c| c.subject.as_deref() == Some("Big one"))
        .unwrap();
    let big_msg = e.messages(big_conv.id).await.remove(0);
    assert!(
        e.meta(big_msg.id)
            .await
            .notices
            .iter()
            .any(|n| n.contains("only its headers were kept"))
    );
    // Nothing new: nothing fetched (UID checkpoint, committed with the messages).
    assert_eq!(
        fd_mail::imap::poll_once(&config, &e.mail)
            .await
            .unwrap()
            .stored,
        0
    );
    // A new UIDVALIDITY (mailbox recreated): re-read, recognised by Message-ID.
    imap_tool(&["recreate", host, port, "fduser", "fdpass", &mailbox], &ca).await;
    imap_tool(
        &["append", host, port, "fduser", "fdpass", &mailbox, &m1],
        &ca,
    )
    .await;
    let r = fd_mail::imap::poll_once(&config, &e.mail).await.unwrap();
    assert!(r.uid_validity_changed);
    assert_eq!(r.stored, 1);
    e.run_jobs().await;
    assert_eq!(e.tickets().await, 3);
    // Move after storing.
    let m4 = write(
        "4.eml",
        msg(
            "Ivo <ivo@customer.example>",
            SUPPORT,
            "Moved",
            Some("<i4@customer.example>"),
            "",
            "Move me.\r\n",
        ),
    );
    imap_tool(
        &["append", host, port, "fduser", "fdpass", &mailbox, &m4],
        &ca,
    )
    .await;
    let processed = format!("{mailbox}-done");
    imap_tool(
        &["recreate", host, port, "fduser", "fdpass", &processed],
        &ca,
    )
    .await;
    let moving = fd_mail::imap::ImapConfig::from_url(&format!(
        "{url}/{mailbox}?recipient={SUPPORT}&ca={ca}&after=move:{processed}"
    ))
    .unwrap();
    assert_eq!(
        fd_mail::imap::poll_once(&moving, &e.mail)
            .await
            .unwrap()
            .stored,
        1
    );
    assert_eq!(
        imap_tool(&["count", host, port, "fduser", "fdpass", &mailbox], &ca)
            .await
            .trim(),
        "1"
    );
    assert_eq!(
        imap_tool(&["count", host, port, "fduser", "fdpass", &processed], &ca)
            .await
            .trim(),
        "1"
    );
    e.run_jobs().await;
    assert_eq!(e.tickets().await, 4);
}

fd_testkit::on_both_backends! {
    mail_peer_aiosmtpd_captures_outgoing_mail => aiosmtpd_captures_outgoing_mail;
    mail_peer_dovecot_imap_poller => dovecot_imap_poller;
}

// --- The binary: connect-email, mailgate exit codes, admin listing ------------------------

fn frontdesk_cmd(data: &std::path::Path) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_frontdesk"));
    c.env_remove("FRONTDESK_DATABASE_URL")
        .env("FRONTDESK_DATA_DIR", data)
        .env("FRONTDESK_LOG", "warn");
    c
}

fn mailgate(data: &std::path::Path, args: &[&str], input: &[u8]) -> (i32, String, String) {
    use std::io::Write as _;
    let mut child = frontdesk_cmd(data)
        .arg("mailgate")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn mail_cli_connect_email_mailgate_and_failed_mail() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let ok = |args: &[&str]| {
        let out = frontdesk_cmd(&data).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    ok(&["admin", "create-team", "--name", "Support"]);
    let out = ok(&[
        "admin",
        "connect-email",
        "--address",
        "Support@Help.example",
        "--team",
        "Support",
    ]);
    assert!(
        out.contains("connected support@help.example")
            && out.contains("default From: support@help.example"),
        "{out}"
    );
    let out = ok(&[
        "admin",
        "connect-email",
        "--address",
        "help@help.example",
        "--team",
        "Support",
        "--inbox",
        "--default-from",
    ]);
    assert!(
        out.contains("(inbox)") && out.contains("default From: help@help.example"),
        "{out}"
    );
    // Exit 0: stored.
    let m = msg(
        "Kim <kim@customer.example>",
        SUPPORT,
        "Via the pipe",
        Some("<k1@customer.example>"),
        "",
        "Hello.\r\n",
    );
    let (code, stdout, _) = mailgate(
        &data,
        &["--recipient", SUPPORT, "--sender", "kim@customer.example"],
        m.as_bytes(),
    );
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("stored as raw mail"));
    // Exit 65: over the limit (the MTA bounces it; its headers are kept for the agent).
    let big = msg(
        "Kim <kim@customer.example>",
        SUPPORT,
        "Too big",
        Some("<k2@customer.example>"),
        "",
        &"x".repeat(5000),
    );
    let (code, _, stderr) = mailgate(
        &data,
        &["--recipient", SUPPORT, "--mail-max-size", "1000"],
        big.as_bytes(),
    );
    assert_eq!(code, 65, "{stderr}");
    assert!(stderr.contains("too large"));
    // Exit 65 for nothing at all; exit 75 when the database cannot be reached.
    assert_eq!(mailgate(&data, &[], b"").0, 65);
    let (code, _, stderr) = mailgate(
        &data,
        &["--database-url", "postgres://nobody@127.0.0.1:1/none"],
        m.as_bytes(),
    );
    assert_eq!(code, 75, "{stderr}");
    // Not parseable: kept raw, listed for admins.
    assert_eq!(
        mailgate(&data, &["--recipient", SUPPORT], b"no header here\n").0,
        0
    );
    let out = ok(&["admin", "run-jobs"]);
    assert!(out.contains("ingested 3"), "{out}");
    let out = ok(&["admin", "list-failed-mail"]);
    assert!(out.contains("unparseable"), "{out}");
    let out = ok(&["admin", "list-failed-mail", "--all"]);
    assert!(
        out.contains("conversation_created") && out.contains("mailgate"),
        "{out}"
    );
    let id = out
        .lines()
        .find(|l| l.contains("unparseable"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    let raw = ok(&["admin", "show-raw-mail", "--id", &id]);
    assert_eq!(raw, "no header here\n");
}
