//! HD-07 threading checked against notmuch as the reference: a simulated mix of support and
//! list traffic is delivered both into a maildir that notmuch indexes and, through the real
//! ingestion (sink, job, database), into a fresh Frontdesk; then, for every pair of
//! messages, "same thread in notmuch" must agree with "same conversation in Frontdesk".
//!
//! The traffic has what real desks meet: agents' replies (sent by Frontdesk, with its own
//! Message-IDs), customers' replies with broken or missing In-Reply-To (only References, an
//! unclosed `<id`, a phrase around the id, no References, References cut to first and last
//! entries), colleagues in Cc replying to each other, list members and strangers who were
//! never on the conversation, subject edits, forwarded copies (new mail, no references),
//! list threads whose root we never received (ghost parents), replies delivered before
//! their parent, and new mail without any Message-ID.
//!
//! What the sets leave out, because Frontdesk threads differently on purpose and the
//! comparison is meant to measure threading by references: the `[#id]` subject tag and the
//! reply address (signals notmuch does not know); one message referring to two different
//! threads (notmuch merges the threads, Frontdesk keeps the sender's own conversation and
//! never merges tickets); bounces, auto-replies and bulk mail (never tickets); an agent's
//! reply to mail without a Message-ID (Frontdesk knows its reply belongs to the
//! conversation, notmuch cannot); and a reply delivered before its parent *without* the
//! parent's ancestors in its References (Frontdesk does not merge conversations
//! afterwards: the early reply stays on its own).
//!
//! notmuch is Debian's `notmuch` package. Without it the test is skipped with a message,
//! unless `FRONTDESK_REQUIRE_NOTMUCH=1` (as CI sets it), where it fails.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use fd_app::domain::*;
use fd_app::{Actor, Reply};
use fd_testkit::TestApp;

use crate::mail::{Env, env};

const SUPPORT: &str = "support@help.example";

fn notmuch_available() -> bool {
    Command::new("notmuch")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Deterministic xorshift: the same traffic on every run, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn percent(&mut self, p: u64) -> bool {
        self.next() % 100 < p
    }
}

/// A message of a simulated thread, as later replies see it.
#[derive(Clone)]
struct Node {
    id: String,
    /// Its References as written (what a reply to it builds on).
    refs: Vec<String>,
    /// Someone outside our desk wrote it (agents' replies are ours).
    inbound: bool,
}

struct Thread {
    subject: String,
    customer: String,
    colleagues: Vec<String>,
    nodes: Vec<Node>,
    list: bool,
}

struct Sim<'a> {
    e: &'a Env,
    agent: Actor,
    maildir: PathBuf,
    files: usize,
    rng: Rng,
    ids: usize,
    /// Keys (Message-ID, or the subject of mail without one) of every delivered message.
    delivered: Vec<String>,
}

impl Sim<'_> {
    fn new_id(&mut self, domain: &str) -> String {
        self.ids += 1;
        format!("<sim.{}.{}@{domain}>", self.ids, self.rng.next() % 100_000)
    }

    fn write_maildir(&mut self, raw: &str) {
        self.files += 1;
        std::fs::write(
            self.maildir.join("new").join(format!("{}.sim", self.files)),
            raw,
        )
        .unwrap();
    }

    /// Into notmuch's maildir and through Frontdesk's ingestion.
    async fn deliver(&mut self, from: &str, raw: String, key: String) {
        self.write_maildir(&raw);
        self.e.receive(from, &[SUPPORT], &raw).await;
        let stats = self.e.run_jobs().await;
        assert_eq!(stats.ingested, 1, "{key}: {stats:?}");
        self.delivered.push(key);
    }

    /// Headers of a reply to `parent`, in one of the shapes real clients write.
    fn reply_headers(&mut self, parent: &Node, full_references: bool) -> (String, Vec<String>) {
        let mut chain = parent.refs.clone();
        chain.push(parent.id.clone());
        let refs = chain.join(" ");
        let irt = &parent.id;
        let shape = if full_references {
            9
        } else {
            self.rng.below(10)
        };
        match shape {
            // No In-Reply-To at all, only References.
            0 => (format!("References: {refs}\r\n"), chain),
            // The `>` of In-Reply-To lost.
            1 => (
                format!(
                    "In-Reply-To: {}\r\nReferences: {refs}\r\n",
                    irt.trim_end_matches('>')
                ),
                chain,
            ),
            // A phrase around the id (old clients).
            2 => (
                format!(
                    "In-Reply-To: Your message of Mon, 5 Jan 2026 09:00:00 +0000\r\n\t{irt}\r\nReferences: {refs}\r\n"
                ),
                chain,
            ),
            // In-Reply-To only: the next reply's References start from it (RFC 5322 §3.6.4).
            3 => (format!("In-Reply-To: {irt}\r\n"), vec![irt.clone()]),
            // References cut to the first and the last two entries (long threads).
            4 if chain.len() > 3 => {
                let mut cut = vec![chain[0].clone()];
                cut.extend(chain[chain.len() - 2..].iter().cloned());
                (
                    format!("In-Reply-To: {irt}\r\nReferences: {}\r\n", cut.join(" ")),
                    cut,
                )
            }
            _ => (
                format!("In-Reply-To: {irt}\r\nReferences: {refs}\r\n"),
                chain,
            ),
        }
    }

    fn reply_subject(&mut self, t: &Thread) -> String {
        match self.rng.below(10) {
            0 => format!("Re: {} (and the invoice)", t.subject),
            1 => "A different question, same order".to_string(),
            _ => format!("Re: {}", t.subject),
        }
    }

    /// An inbound reply to `parent` from `from`.
    async fn reply(&mut self, t: &mut Thread, parent: Node, from: String, full_refs: bool) {
        let (headers, refs) = self.reply_headers(&parent, full_refs);
        let domain = from.split('@').nth(1).unwrap_or("x.example").to_string();
        let id = self.new_id(&domain);
        let mut extra = headers;
        if !t.colleagues.is_empty() && self.rng.percent(50) {
            extra.push_str(&format!("Cc: {}\r\n", t.colleagues.join(", ")));
        }
        if t.list {
            extra.push_str("List-Id: Users <users.lists.example>\r\n");
        }
        let subject = self.reply_subject(t);
        let raw = crate::mail::msg(
            &from,
            SUPPORT,
            &subject,
            Some(&id),
            &extra,
            "Thanks, see below.\r\n\r\n> earlier text\r\n",
        );
        self.deliver(&from, raw, id.clone()).await;
        t.nodes.push(Node {
            id,
            refs,
            inbound: true,
        });
    }

    /// An agent answers `parent` in Frontdesk; the mail it would send goes to notmuch too.
    async fn agent_reply(&mut self, t: &mut Thread, parent: &Node) {
        let (conversation, message) = {
            let mut tx = self.e.t.app.db().read().await.unwrap();
            let m = tx
                .messages_by_header(std::slice::from_ref(&parent.id))
                .await
                .unwrap();
            tx.commit().await.unwrap();
            let m = m.first().expect("the parent was ingested");
            (m.conversation_id, m.message_id)
        };
        let sent = self
            .e
            .t
            .app
            .send_reply(
                &self.agent,
                conversation,
                Reply {
                    text: "We are on it.".into(),
                    reply_to: Some(message),
                    ..Reply::default()
                },
            )
            .await
            .unwrap();
        self.e.run_jobs().await;
        let id = sent.message_id_header.clone().unwrap();
        let refs: Vec<String> = sent
            .references_header
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let mut extra = String::new();
        if let Some(irt) = &sent.in_reply_to {
            extra.push_str(&format!("In-Reply-To: {irt}\r\n"));
        }
        if !refs.is_empty() {
            extra.push_str(&format!("References: {}\r\n", refs.join(" ")));
        }
        let raw = crate::mail::msg(
            SUPPORT,
            &t.customer,
            sent.subject.as_deref().unwrap_or("Re:"),
            Some(&id),
            &extra,
            "We are on it.\r\n",
        );
        self.write_maildir(&raw);
        self.delivered.push(id.clone());
        t.nodes.push(Node {
            id,
            refs,
            inbound: false,
        });
    }
}

async fn threading_agrees_with_notmuch(t: TestApp) {
    if !notmuch_available() {
        if std::env::var("FRONTDESK_REQUIRE_NOTMUCH").as_deref() == Ok("1") {
            panic!("notmuch is required (FRONTDESK_REQUIRE_NOTMUCH=1) but is not installed");
        }
        eprintln!("notmuch is not installed: threading comparison skipped");
        return;
    }
    let e = env(t).await;
    let (_, agent) =
        e.t.agent("agent@help.example", TicketAccessLevel::All, &["Support"])
            .await;
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("mail");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    let mut sim = Sim {
        e: &e,
        agent,
        maildir: maildir.clone(),
        files: 0,
        rng: Rng(0x5eed_1234_abcd_9876),
        ids: 0,
        delivered: Vec::new(),
    };
    let mut threads: Vec<Thread> = Vec::new();
    let mut strangers = 0;
    for round in 0..260 {
        let action = if threads.len() < 3 {
            0
        } else {
            sim.rng.below(100)
        };
        match action {
            // A customer writes in, sometimes with colleagues in Cc.
            0..=9 => {
                let k = threads.len();
                let customer = format!("customer{k}@client{k}.example");
                let colleagues: Vec<String> = (0..sim.rng.below(3))
                    .map(|i| format!("colleague{i}@client{k}.example"))
                    .collect();
                let id = sim.new_id(&format!("client{k}.example"));
                let subject = format!("Order {} is late", 1000 + k);
                let extra = if colleagues.is_empty() {
                    String::new()
                } else {
                    format!("Cc: {}\r\n", colleagues.join(", "))
                };
                let raw = crate::mail::msg(
                    &customer,
                    SUPPORT,
                    &subject,
                    Some(&id),
                    &extra,
                    "Hello.\r\n",
                );
                sim.deliver(&customer, raw, id.clone()).await;
                threads.push(Thread {
                    subject,
                    customer,
                    colleagues,
                    nodes: vec![Node {
                        id,
                        refs: Vec::new(),
                        inbound: true,
                    }],
                    list: false,
                });
            }
            // A list thread whose root never reached us: the first reply starts it.
            10..=13 => {
                let k = threads.len();
                let root = sim.new_id("lists.example");
                let mut t = Thread {
                    subject: format!("[users] Release {k}.0 breaks login"),
                    customer: format!("member{k}@users{k}.example"),
                    colleagues: Vec::new(),
                    nodes: Vec::new(),
                    list: true,
                };
                let ghost = Node {
                    id: root,
                    refs: Vec::new(),
                    inbound: true,
                };
                let from = t.customer.clone();
                sim.reply(&mut t, ghost, from, false).await;
                threads.push(t);
            }
            // New mail without a Message-ID (a singleton in both).
            14..=15 => {
                let subject = format!("No id {round}");
                let raw = crate::mail::msg(
                    "old-client@legacy.example",
                    SUPPORT,
                    &subject,
                    None,
                    "",
                    "Sent from an old client.\r\n",
                );
                sim.deliver(
                    "old-client@legacy.example",
                    raw,
                    format!("subject:{subject}"),
                )
                .await;
            }
            // A forwarded copy: new mail, the old message quoted, no references.
            16..=19 => {
                let ti = sim.rng.below(threads.len());
                let Some(orig) = threads[ti].nodes.last().cloned() else {
                    continue;
                };
                let from = threads[ti].customer.clone();
                let id = sim.new_id("fwd.example");
                let body = format!(
                    "See below.\r\n\r\n---------- Forwarded message ---------\r\nMessage-ID: {}\r\nSubject: {}\r\n\r\nHello.\r\n",
                    orig.id, threads[ti].subject
                );
                let subject = format!("Fwd: {}", threads[ti].subject);
                let raw = crate::mail::msg(&from, SUPPORT, &subject, Some(&id), "", &body);
                sim.deliver(&from, raw, id.clone()).await;
                threads.push(Thread {
                    subject,
                    customer: from,
                    colleagues: Vec::new(),
                    nodes: vec![Node {
                        id,
                        refs: Vec::new(),
                        inbound: true,
                    }],
                    list: false,
                });
            }
            // The customer replies to the newest message.
            20..=44 => {
                let ti = sim.rng.below(threads.len());
                let mut t = std::mem::replace(&mut threads[ti], empty());
                if let Some(p) = t.nodes.last().cloned() {
                    let from = t.customer.clone();
                    sim.reply(&mut t, p, from, false).await;
                }
                threads[ti] = t;
            }
            // An agent answers the newest inbound message.
            45..=64 => {
                let ti = sim.rng.below(threads.len());
                let mut t = std::mem::replace(&mut threads[ti], empty());
                if let Some(p) = t.nodes.iter().rev().find(|n| n.inbound).cloned() {
                    sim.agent_reply(&mut t, &p).await;
                }
                threads[ti] = t;
            }
            // A colleague in Cc replies to any message of the thread.
            65..=77 => {
                let ti = sim.rng.below(threads.len());
                let mut t = std::mem::replace(&mut threads[ti], empty());
                if !t.colleagues.is_empty() && !t.nodes.is_empty() {
                    let p = t.nodes[sim.rng.below(t.nodes.len())].clone();
                    let from = t.colleagues[sim.rng.below(t.colleagues.len())].clone();
                    sim.reply(&mut t, p, from, false).await;
                }
                threads[ti] = t;
            }
            // Someone never on the conversation (a list member, a new contact) replies.
            78..=89 => {
                let ti = sim.rng.below(threads.len());
                let mut t = std::mem::replace(&mut threads[ti], empty());
                if !t.nodes.is_empty() {
                    strangers += 1;
                    let p = t.nodes[sim.rng.below(t.nodes.len())].clone();
                    let from = format!("stranger{strangers}@elsewhere{strangers}.example");
                    sim.reply(&mut t, p, from, false).await;
                }
                threads[ti] = t;
            }
            // A reply and its answer delivered in the wrong order (full References).
            _ => {
                let ti = sim.rng.below(threads.len());
                let mut t = std::mem::replace(&mut threads[ti], empty());
                if let Some(p) = t.nodes.last().cloned() {
                    let (h1, refs1) = sim.reply_headers(&p, true);
                    let id1 = sim.new_id("client-late.example");
                    let child = Node {
                        id: id1.clone(),
                        refs: refs1,
                        inbound: true,
                    };
                    let (h2, refs2) = sim.reply_headers(&child, true);
                    let id2 = sim.new_id("client-late.example");
                    let from = t.customer.clone();
                    let subject = format!("Re: {}", t.subject);
                    let raw1 =
                        crate::mail::msg(&from, SUPPORT, &subject, Some(&id1), &h1, "First.\r\n");
                    let raw2 =
                        crate::mail::msg(&from, SUPPORT, &subject, Some(&id2), &h2, "Second.\r\n");
                    sim.deliver(&from, raw2, id2.clone()).await;
                    sim.deliver(&from, raw1, id1).await;
                    t.nodes.push(child);
                    t.nodes.push(Node {
                        id: id2,
                        refs: refs2,
                        inbound: true,
                    });
                }
                threads[ti] = t;
            }
        }
    }

    // notmuch's threads.
    let config = dir.path().join("notmuch-config");
    std::fs::write(
        &config,
        format!(
            "[database]\npath={}\n[user]\nname=Test\nprimary_email=test@help.example\n[new]\ntags=\nignore=\n[search]\nexclude_tags=\n[maildir]\nsynchronize_flags=false\n",
            maildir.display()
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = Command::new("notmuch")
            .args(args)
            .env("NOTMUCH_CONFIG", &config)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "notmuch {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    run(&["new", "--quiet"]);
    let shown: serde_json::Value =
        serde_json::from_slice(&run(&["show", "--format=json", "--body=false", "*"])).unwrap();
    let mut notmuch_thread: BTreeMap<String, usize> = BTreeMap::new();
    for (i, thread) in shown.as_array().unwrap().iter().enumerate() {
        collect_ids(thread, i, &mut notmuch_thread);
    }
    let threads_listed = String::from_utf8(run(&["search", "--output=threads", "*"])).unwrap();
    assert_eq!(
        threads_listed.lines().count(),
        shown.as_array().unwrap().len(),
        "one JSON element per notmuch thread"
    );

    // Frontdesk's conversations.
    let mut frontdesk_conv: BTreeMap<String, ConversationId> = BTreeMap::new();
    for c in e.conversations().await {
        for m in e.messages(c.id).await {
            let key = match (&m.message_id_header, &m.subject) {
                (Some(id), _) => id.clone(),
                (None, Some(s)) if m.direction == Direction::Inbound => format!("subject:{s}"),
                _ => continue,
            };
            frontdesk_conv.insert(key, c.id);
        }
    }

    let keys: BTreeSet<&String> = sim.delivered.iter().collect();
    assert_eq!(keys.len(), sim.delivered.len(), "keys are unique");
    for k in &keys {
        assert!(notmuch_thread.contains_key(*k), "{k} not in notmuch");
        assert!(frontdesk_conv.contains_key(*k), "{k} not in Frontdesk");
    }
    let keys: Vec<&String> = keys.into_iter().collect();
    let (mut pairs, mut agree, mut together, mut together_agree) = (0u64, 0u64, 0u64, 0u64);
    let mut disagreements = Vec::new();
    for i in 0..keys.len() {
        for j in i + 1..keys.len() {
            let nm = notmuch_thread[keys[i]] == notmuch_thread[keys[j]];
            let fd = frontdesk_conv[keys[i]] == frontdesk_conv[keys[j]];
            pairs += 1;
            if nm == fd {
                agree += 1;
            } else if disagreements.len() < 20 {
                disagreements.push(format!(
                    "{} / {}: notmuch {}, Frontdesk {}",
                    keys[i],
                    keys[j],
                    if nm { "same" } else { "apart" },
                    if fd { "same" } else { "apart" }
                ));
            }
            // The pairs either side threads together: the part of the measure that the
            // many unrelated pairs cannot dilute.
            if nm || fd {
                together += 1;
                if nm && fd {
                    together_agree += 1;
                }
            }
        }
    }
    let notmuch_threads: BTreeSet<usize> = notmuch_thread.values().copied().collect();
    let conversations: BTreeSet<ConversationId> = frontdesk_conv.values().copied().collect();
    let rate = agree as f64 / pairs as f64;
    let together_rate = together_agree as f64 / together.max(1) as f64;
    eprintln!(
        "threading vs notmuch: {} messages, {} notmuch threads, {} conversations; pairwise agreement {:.4} ({agree}/{pairs}), on pairs threaded together by either {:.4} ({together_agree}/{together})",
        keys.len(),
        notmuch_threads.len(),
        conversations.len(),
        rate,
        together_rate
    );
    assert!(keys.len() > 200, "{} messages", keys.len());
    assert!(together > 500, "the sets have threads worth comparing");
    assert!(
        rate >= 0.99 && together_rate >= 0.99,
        "agreement {rate:.4}, together {together_rate:.4}:\n{}",
        disagreements.join("\n")
    );
}

fn empty() -> Thread {
    Thread {
        subject: String::new(),
        customer: String::new(),
        colleagues: Vec::new(),
        nodes: Vec::new(),
        list: false,
    }
}

/// Every message of a notmuch `show --format=json` thread (nested `[message, replies]`
/// pairs), keyed by `<Message-ID>`, or by subject for notmuch's ids of id-less mail.
fn collect_ids(v: &serde_json::Value, thread: usize, out: &mut BTreeMap<String, usize>) {
    match v {
        serde_json::Value::Array(items) => {
            for i in items {
                collect_ids(i, thread, out);
            }
        }
        serde_json::Value::Object(m) => {
            if let Some(id) = m.get("id").and_then(|i| i.as_str()) {
                let key = if id.starts_with("notmuch-sha1-") {
                    format!(
                        "subject:{}",
                        m["headers"]["Subject"].as_str().unwrap_or_default()
                    )
                } else {
                    format!("<{id}>")
                };
                out.insert(key, thread);
            }
        }
        _ => {}
    }
}

fd_testkit::on_both_backends! {
    mail_hd07_threading_agrees_with_notmuch => threading_agrees_with_notmuch;
}
