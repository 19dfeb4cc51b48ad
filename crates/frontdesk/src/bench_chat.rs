//! `frontdesk bench-chat`: live chat measured as the widget and the agent's browser see it
//! (issue 14, item 7) — how many idle chat visitors one node holds and at what memory, and
//! the time from a visitor's message to the agent's live stream.
//!
//! The server is this same binary's `serve`, run as a child process on a fresh database, so
//! its memory (`/proc/<pid>/status`: `VmRSS` now, `VmHWM` the peak) holds the server's
//! connections only, never the bench's own clients. The bench speaks exactly the widget's
//! HTTP (`assets/chat-widget.js`): `GET /chat/{id}/state`, the first message as a
//! `text/plain` JSON `POST /chat/{id}/messages`, `GET /chat/{id}/state?token=` and then the
//! `GET /chat/{id}/events?token=` stream, held open. The agent holds the stream their
//! conversation screen holds (`app.js`: `GET /ui/events?watch=ticket:{id}` with the session
//! cookie) and answers through the conversations API.
//!
//! New chats are rationed per client address (`CHAT_STARTS_BURST`, then one a minute) and the
//! server keeps that default: as many real visitors would, the bench's visitors come from
//! different addresses — loopback is all of 127.0.0.0/8 on Linux, so each group of visitors
//! binds its own source address (127.1.x.y).
//!
//! Depends on `frontdesk`'s `serve` (as a process) and on fd-app only to set up the desk
//! before the server starts; everything measured goes over HTTP.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Args;
use fd_app::domain::{Role, Seat, TicketAccessLevel, Workspace};
use fd_app::{Actor, App, NewUserInput, SignInAttempt, SignInOutcome, SystemClock};
use fd_store::Db;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::sync::mpsc;

#[derive(Args, Debug, Clone)]
pub struct BenchChatArgs {
    /// Idle chat visitors to open and hold (each has written once and holds its stream).
    #[arg(long, default_value_t = 5_000)]
    pub visitors: usize,
    /// Visitor messages timed to the agent's stream, in each phase.
    #[arg(long, default_value_t = 200)]
    pub samples: usize,
    /// Pause between two timed messages, in milliseconds (spaced messages, not a flood).
    #[arg(long, default_value_t = 50)]
    pub interval_ms: u64,
    /// How long the visitors stay idle before they are checked, in seconds; more than the
    /// server's 20 s keep-alive, so every stream that is still open has received one.
    #[arg(long, default_value_t = 25)]
    pub settle_secs: u64,
    /// Visitors (spread over all of them) that the agent answers after the settle period:
    /// their widget streams must carry the reply.
    #[arg(long, default_value_t = 100)]
    pub probes: usize,
    /// Visitors starting their chat at the same time while they are opened.
    #[arg(long, default_value_t = 32)]
    pub open_concurrency: usize,
    /// A PostgreSQL maintenance URL: the bench creates a new database there. Without it the
    /// server uses a new SQLite file.
    #[arg(long)]
    pub postgres_admin_url: Option<String>,
}

const PASSWORD: &str = "bench-password";
const AGENT: &str = "agent@bench.example";
/// Browsers send the embedding page's origin with the widget's requests.
const ORIGIN: &str = "https://shop.bench.example";

pub async fn run(args: BenchChatArgs) -> anyhow::Result<()> {
    let limit = crate::raise_open_file_limit();
    let needed = args.visitors as u64 * 2 + 256;
    if let Some(l) = limit
        && l < needed
    {
        eprintln!(
            "warning: {l} open files allowed; {} visitors need about {needed} (both ends of each connection)",
            args.visitors
        );
    }
    let pid = std::process::id();
    let dir = std::env::temp_dir().join(format!("frontdesk-bench-chat-{pid}"));
    std::fs::create_dir_all(&dir)?;
    let (url, backend) = match &args.postgres_admin_url {
        Some(admin) => (
            fd_store::create_postgres_database(admin, &format!("frontdesk_bench_chat_{pid}"))
                .await?,
            "postgresql",
        ),
        None => (dir.join("frontdesk.db").display().to_string(), "sqlite"),
    };
    let desk = set_up(&url).await?;
    let result = measure(&args, &dir, &url, backend, &desk, limit).await;
    desk.app.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The desk the bench needs, written before the server starts: a team, an available agent
/// with all access (signed in, and with an API token to answer), and a help-desk chat
/// channel. Kept open for lookups (which ticket a visitor's chat opened).
struct Desk {
    app: App,
    channel: i64,
    cookie: String,
    api_token: String,
    agent: fd_app::domain::UserId,
}

async fn set_up(url: &str) -> anyhow::Result<Desk> {
    let db = Db::connect(url).await.context("open bench database")?;
    db.migrate().await?;
    let app = App::new(db, Arc::new(SystemClock));
    let system = Actor::system();
    let team = app.create_team(&system, "Support").await?;
    let agent = app
        .create_user(
            &system,
            NewUserInput {
                email: AGENT.into(),
                name: "Ann Agent".into(),
                role: Role::Agent,
                password: PASSWORD.into(),
                teams: vec![team.name.clone()],
                ticket_access: TicketAccessLevel::All,
                account_access: false,
                service_access: true,
                sales_access: false,
                seat: Seat::Service,
            },
        )
        .await?;
    let actor = app.actor_for(agent.id).await?;
    // Someone available: the widget answers live and asks for no address.
    app.set_availability(&actor, true).await?;
    let channel = app
        .create_chat_channel(&system, "Website", team.id, Workspace::HelpDesk)
        .await?
        .id;
    let cookie = match app
        .sign_in(SignInAttempt {
            email: AGENT,
            password: PASSWORD,
            client: None,
            device: None,
            user_agent: Some("frontdesk bench-chat"),
        })
        .await?
    {
        SignInOutcome::SignedIn(s) => format!("fd_session={}", s.token),
        other => bail!("the bench agent could not sign in: {other:?}"),
    };
    let api_token = app
        .create_api_token(&system, AGENT, Some("bench-chat"))
        .await?
        .token;
    Ok(Desk {
        app,
        channel,
        cookie,
        api_token,
        agent: agent.id,
    })
}

/// The server: `frontdesk serve` on 127.0.0.1:0, killed when dropped.
struct Server {
    child: tokio::process::Child,
    pid: u32,
    base: String,
}

async fn start_server(dir: &Path, url: &str, backend: &str) -> anyhow::Result<Server> {
    let exe = std::env::current_exe().context("cannot find this binary to run its `serve`")?;
    let mut cmd = tokio::process::Command::new(exe);
    cmd.arg("serve")
        .args(["--listen", "127.0.0.1:0"])
        .env("FRONTDESK_LOG", "warn")
        .env_remove("FRONTDESK_DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    if backend == "sqlite" {
        cmd.arg("--data-dir").arg(dir);
    } else {
        cmd.args(["--database-url", url]);
    }
    let mut child = cmd.spawn().context("cannot start `frontdesk serve`")?;
    let pid = child.id().context("the server exited at once")?;
    let stdout = child.stdout.take().context("no server stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let mut base = None;
    let started = Instant::now();
    while base.is_none() {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .context("the server did not start within 60 s")??
            .context("the server exited before it was running")?;
        if let Some(rest) = line.trim().strip_prefix("Frontdesk is running at ") {
            base = Some(rest.trim_end_matches('/').to_string());
        }
    }
    // Keep draining stdout so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let base = base.context("no address")?;
    println!(
        "server: `frontdesk serve` as child process {pid} at {base} (up in {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    Ok(Server { child, pid, base })
}

/// `VmRSS` and `VmHWM` of a process, in KiB.
fn memory_kib(pid: u32) -> anyhow::Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("cannot read /proc/{pid}/status"))?;
    parse_memory(&status).context("no VmRSS/VmHWM in /proc status")
}

fn parse_memory(status: &str) -> Option<(u64, u64)> {
    Some((status_kib(status, "VmRSS:")?, status_kib(status, "VmHWM:")?))
}

/// One `Name:  1234 kB` line of `/proc/<pid>/status`.
fn status_kib(status: &str, name: &str) -> Option<u64> {
    status.lines().find_map(|l| {
        l.strip_prefix(name)?
            .trim()
            .strip_suffix("kB")?
            .trim()
            .parse::<u64>()
            .ok()
    })
}

/// `RssAnon` (heap: connections, tasks, SQLite's page cache) and `RssFile` (the mapped binary
/// and libraries), in KiB, for the record.
fn memory_split(pid: u32) -> String {
    match std::fs::read_to_string(format!("/proc/{pid}/status")) {
        Ok(s) => format!(
            "RssAnon {} KiB, RssFile {} KiB",
            status_kib(&s, "RssAnon:").unwrap_or(0),
            status_kib(&s, "RssFile:").unwrap_or(0)
        ),
        Err(_) => "?".into(),
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// One server-sent event as a client reads it: a named event with its data, or a comment
/// (the server's keep-alive).
#[derive(Debug, Clone, PartialEq)]
enum Sse {
    Event { name: String, data: String },
    Comment,
}

/// Splits complete events off the front of `buf` (text up to a blank line), leaving an
/// unfinished one in it.
fn take_events(buf: &mut String) -> Vec<Sse> {
    let mut out = Vec::new();
    while let Some(end) = buf.find("\n\n") {
        let block: String = buf.drain(..end + 2).collect();
        let mut name = String::from("message");
        let mut data: Vec<&str> = Vec::new();
        let mut fields = 0;
        for line in block.lines().map(|l| l.trim_end_matches('\r')) {
            if line.is_empty() || line.starts_with(':') {
                continue;
            }
            fields += 1;
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => name = value.to_string(),
                "data" => data.push(value),
                _ => {}
            }
        }
        out.push(if fields == 0 {
            Sse::Comment
        } else {
            Sse::Event {
                name,
                data: data.join("\n"),
            }
        });
    }
    out
}

/// What a held stream reported, with when it arrived.
#[derive(Debug)]
enum Heard {
    Sse(Instant, Sse),
    Ended(String),
}

/// Reads a stream until it ends, passing each event (and its arrival time) on.
fn follow(mut resp: reqwest::Response, tx: mpsc::UnboundedSender<Heard>) {
    tokio::spawn(async move {
        let mut buf = String::new();
        loop {
            match resp.chunk().await {
                Ok(Some(bytes)) => {
                    let at = Instant::now();
                    buf.push_str(&String::from_utf8_lossy(&bytes));
                    for e in take_events(&mut buf) {
                        if tx.send(Heard::Sse(at, e)).is_err() {
                            return;
                        }
                    }
                }
                Ok(None) => {
                    let _ = tx.send(Heard::Ended("the server closed the stream".into()));
                    return;
                }
                Err(e) => {
                    let _ = tx.send(Heard::Ended(format!("{e}")));
                    return;
                }
            }
        }
    });
}

/// A visitor whose widget has started a chat and holds its event stream.
struct Visitor {
    http: reqwest::Client,
    token: String,
    heard: mpsc::UnboundedReceiver<Heard>,
}

async fn ok_json(resp: reqwest::Response, what: &str) -> anyhow::Result<Value> {
    let status = resp.status();
    let text = resp.text().await?;
    if !status.is_success() {
        bail!("{what} answered {status}: {text}");
    }
    if text.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(&text).with_context(|| format!("{what} answered no JSON: {text}"))
}

/// The widget's first visit and first message, as `chat-widget.js` makes them: `load()`'s
/// state, `sendMessage()`'s post (`text/plain`, the empty name and email fields), then
/// `load()` again and `stream()`.
async fn open_visitor(
    http: reqwest::Client,
    chat: &str,
    text: &str,
    timeout: Duration,
) -> anyhow::Result<Visitor> {
    let steps = async {
        let r = http
            .get(format!("{chat}/state"))
            .header("origin", ORIGIN)
            .send()
            .await?;
        ok_json(r, "GET state").await?;
        let body = json!({"token": null, "text": text, "name": "", "email": ""});
        let r = http
            .post(format!("{chat}/messages"))
            .header("origin", ORIGIN)
            .header("content-type", "text/plain")
            .body(body.to_string())
            .send()
            .await?;
        let sent = ok_json(r, "POST messages").await?;
        let token = sent["token"]
            .as_str()
            .context("the first message returned no token")?
            .to_string();
        let r = http
            .get(format!("{chat}/state?token={token}"))
            .header("origin", ORIGIN)
            .send()
            .await?;
        ok_json(r, "GET state?token").await?;
        let heard = open_stream(&http, chat, &token).await?;
        anyhow::Ok(Visitor {
            http: http.clone(),
            token,
            heard,
        })
    };
    tokio::time::timeout(timeout, steps)
        .await
        .map_err(|_| anyhow::anyhow!("no answer within {} s", timeout.as_secs()))?
}

/// The widget's `stream()`: `GET /chat/{id}/events?token=`, read until its first state.
async fn open_stream(
    http: &reqwest::Client,
    chat: &str,
    token: &str,
) -> anyhow::Result<mpsc::UnboundedReceiver<Heard>> {
    let r = http
        .get(format!("{chat}/events?token={token}"))
        .header("origin", ORIGIN)
        .header("accept", "text/event-stream")
        .send()
        .await?;
    if !r.status().is_success() {
        bail!("GET events answered {}", r.status());
    }
    let (tx, mut heard) = mpsc::unbounded_channel();
    follow(r, tx);
    // The stream opens with the conversation's state.
    loop {
        match heard.recv().await {
            Some(Heard::Sse(_, Sse::Event { name, .. })) if name == "state" => return Ok(heard),
            Some(Heard::Sse(..)) => {}
            Some(Heard::Ended(why)) => bail!("the widget stream ended at once: {why}"),
            None => bail!("the widget stream ended at once"),
        }
    }
}

/// A client whose connections come from `ip`.
fn client_from(ip: Ipv4Addr) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .local_address(IpAddr::V4(ip))
        .connect_timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(2)
        .build()?)
}

/// The source address of the `group`-th group of visitors: 127.1.x.y, never .0 or .255.
fn visitor_address(group: usize) -> Ipv4Addr {
    let x = (group / 250) % 256;
    let y = group % 250 + 1;
    Ipv4Addr::new(127, 1, x as u8, y as u8)
}

/// Nearest-rank percentile of sorted samples (`p` in 0..=1).
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn summary(times: &mut [Duration]) -> String {
    times.sort();
    format!(
        "p50 {:.2} ms  p95 {:.2} ms  max {:.2} ms  ({} samples)",
        ms(percentile(times, 0.50)),
        ms(percentile(times, 0.95)),
        ms(times.last().copied().unwrap_or_default()),
        times.len()
    )
}

/// The agent's conversation screen: its live stream, watching the chat's ticket.
struct AgentScreen {
    heard: mpsc::UnboundedReceiver<Heard>,
}

async fn agent_screen(base: &str, cookie: &str, watch: &str) -> anyhow::Result<AgentScreen> {
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()?;
    let r = http
        .get(format!("{base}/ui/events?watch={watch}"))
        .header("cookie", cookie)
        .header("accept", "text/event-stream")
        .send()
        .await?;
    if !r.status().is_success() {
        bail!("the agent's /ui/events answered {}", r.status());
    }
    let (tx, heard) = mpsc::unbounded_channel();
    follow(r, tx);
    Ok(AgentScreen { heard })
}

/// Throws away what a stream has said so far; errs if it ended.
fn drain(heard: &mut mpsc::UnboundedReceiver<Heard>) -> anyhow::Result<usize> {
    let mut comments = 0;
    loop {
        match heard.try_recv() {
            Ok(Heard::Sse(_, Sse::Comment)) => comments += 1,
            Ok(Heard::Sse(..)) => {}
            Ok(Heard::Ended(why)) => bail!("stream ended: {why}"),
            Err(mpsc::error::TryRecvError::Empty) => return Ok(comments),
            Err(mpsc::error::TryRecvError::Disconnected) => bail!("stream ended"),
        }
    }
}

/// Times `samples` visitor messages from just before the POST to the agent's stream
/// delivering the `message` event of that conversation.
async fn visitor_to_agent(
    visitor: &mut Visitor,
    agent: &mut AgentScreen,
    chat: &str,
    conversation: &str,
    args: &BenchChatArgs,
) -> anyhow::Result<Vec<Duration>> {
    let mut times = Vec::with_capacity(args.samples);
    let prefix = format!("{conversation},");
    for i in 0..args.samples {
        drain(&mut agent.heard)?;
        drain(&mut visitor.heard)?;
        let body = json!({"token": visitor.token, "text": format!("Timed message {i}")});
        let started = Instant::now();
        let post = async {
            let r = visitor
                .http
                .post(format!("{chat}/messages"))
                .header("origin", ORIGIN)
                .header("content-type", "text/plain")
                .body(body.to_string())
                .send()
                .await?;
            ok_json(r, "POST messages").await
        };
        let seen = async {
            loop {
                match agent.heard.recv().await {
                    Some(Heard::Sse(at, Sse::Event { name, data }))
                        if name == "message" && data.starts_with(&prefix) =>
                    {
                        return Ok(at);
                    }
                    Some(Heard::Sse(..)) => {}
                    Some(Heard::Ended(why)) => bail!("the agent's stream ended: {why}"),
                    None => bail!("the agent's stream ended"),
                }
            }
        };
        let (sent, seen) =
            tokio::time::timeout(Duration::from_secs(30), async { tokio::join!(post, seen) })
                .await
                .context("a message did not reach the agent's stream within 30 s")?;
        sent?;
        times.push(seen?.duration_since(started));
        tokio::time::sleep(Duration::from_millis(args.interval_ms)).await;
    }
    Ok(times)
}

/// The agent answers through the conversations API; timed to the visitor's widget stream
/// carrying a state with the reply.
async fn agent_to_visitor(
    api: &reqwest::Client,
    desk: &Desk,
    base: &str,
    visitor: &mut Visitor,
    text: &str,
) -> anyhow::Result<Duration> {
    let conversation = desk
        .app
        .chat_view(desk.channel, Some(&visitor.token))
        .await?
        .conversation
        .context("the visitor has no conversation")?;
    drain(&mut visitor.heard)?;
    let body = json!({
        "type": "MESSAGE", "text": text, "senderActorId": format!("A-{}", desk.agent),
        "channelId": "1000", "channelAccountId": (fd_app::CHAT_ACCOUNT_BASE + desk.channel).to_string(),
        "recipients": [],
    });
    let started = Instant::now();
    let post = async {
        let r = api
            .post(format!(
                "{base}/conversations/v3/conversations/threads/{conversation}/messages"
            ))
            .bearer_auth(&desk.api_token)
            .json(&body)
            .send()
            .await?;
        ok_json(r, "POST thread message").await
    };
    let needle = serde_json::to_string(text)?;
    let seen = async {
        loop {
            match visitor.heard.recv().await {
                Some(Heard::Sse(at, Sse::Event { name, data }))
                    if name == "state" && data.contains(&needle) =>
                {
                    return Ok(at);
                }
                Some(Heard::Sse(..)) => {}
                Some(Heard::Ended(why)) => bail!("the widget's stream ended: {why}"),
                None => bail!("the widget's stream ended"),
            }
        }
    };
    let (sent, seen) =
        tokio::time::timeout(Duration::from_secs(30), async { tokio::join!(post, seen) })
            .await
            .context("a reply did not reach the widget's stream within 30 s")?;
    sent?;
    Ok(seen?.duration_since(started))
}

async fn measure(
    args: &BenchChatArgs,
    dir: &Path,
    url: &str,
    backend: &str,
    desk: &Desk,
    limit: Option<u64>,
) -> anyhow::Result<()> {
    println!("load average at start: {}", load_average());
    println!(
        "backend: {backend}  open files allowed: {}",
        limit.map_or("?".to_string(), |l| l.to_string())
    );
    let mut server = start_server(dir, url, backend).await?;
    let result = phases(args, desk, &server).await;
    let _ = server.child.kill().await;
    println!("load average at end: {}", load_average());
    result
}

async fn phases(args: &BenchChatArgs, desk: &Desk, server: &Server) -> anyhow::Result<()> {
    let base = &server.base;
    let chat = format!("{base}/chat/{}", desk.channel);
    let timeout = Duration::from_secs(60);

    // The visitor who writes the timed messages, from an address of its own, and the agent
    // with that chat's ticket open.
    let mut timed = open_visitor(
        client_from(Ipv4Addr::new(127, 0, 0, 2))?,
        &chat,
        "Hello, I have a question about my order.",
        timeout,
    )
    .await?;
    let conversation = desk
        .app
        .chat_view(desk.channel, Some(&timed.token))
        .await?
        .conversation
        .context("the timed visitor has no conversation")?;
    let ticket = desk
        .app
        .conversation(&Actor::system(), conversation)
        .await?
        .ticket_id
        .context("a help-desk chat has a ticket")?;
    let mut agent = agent_screen(base, &desk.cookie, &format!("ticket:{ticket}")).await?;
    let api = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()?;

    let (rss0, _) = memory_kib(server.pid)?;
    println!("server memory, one chat and the agent's screen open: VmRSS {rss0} KiB");
    let mut idle0 = visitor_to_agent(
        &mut timed,
        &mut agent,
        &chat,
        &conversation.to_string(),
        args,
    )
    .await?;
    println!(
        "visitor message -> agent's stream, no other visitors: {}",
        summary(&mut idle0)
    );
    let (rss_before, _) = memory_kib(server.pid)?;
    println!("server memory before the idle visitors: VmRSS {rss_before} KiB");

    // The idle visitors: CHAT_STARTS_BURST of them per source address.
    let per_address = usize::try_from(fd_app::domain::chat::CHAT_STARTS_BURST)
        .unwrap_or(1)
        .max(1);
    let started = Instant::now();
    let sem = Arc::new(tokio::sync::Semaphore::new(args.open_concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let mut client = None;
    for i in 0..args.visitors {
        if i % per_address == 0 || client.is_none() {
            client = Some(client_from(visitor_address(i / per_address))?);
        }
        let http = client.clone().context("client")?;
        let sem = sem.clone();
        let chat = chat.clone();
        tasks.spawn(async move {
            let _permit = sem.acquire_owned().await?;
            let t = Instant::now();
            let v = open_visitor(
                http,
                &chat,
                &format!("Hello, visitor {i} here: where is my parcel?"),
                timeout,
            )
            .await?;
            anyhow::Ok((v, t.elapsed()))
        });
    }
    let mut visitors = Vec::with_capacity(args.visitors);
    let mut failures: Vec<String> = Vec::new();
    let mut open_times = Vec::with_capacity(args.visitors);
    let mut last = (0usize, Duration::ZERO);
    let mut done = 0;
    // In the order they finish: the rate per thousand shows whether starting a chat slows
    // as more are held.
    while let Some(t) = tasks.join_next().await {
        match t {
            Ok(Ok((v, took))) => {
                visitors.push(v);
                open_times.push(took);
            }
            Ok(Err(e)) => failures.push(format!("{e:#}")),
            Err(e) => failures.push(format!("{e}")),
        }
        done += 1;
        if done % 1000 == 0 {
            let now = started.elapsed();
            println!(
                "  {done:>6} opened at {:>6.1} s ({:.0}/s for the last {})",
                now.as_secs_f64(),
                (done - last.0) as f64 / (now - last.1).as_secs_f64().max(1e-9),
                done - last.0
            );
            last = (done, now);
        }
    }
    println!(
        "one visitor's four requests (state, first message, state, stream): {}",
        summary(&mut open_times)
    );
    let opened_in = started.elapsed();
    println!(
        "opened {} of {} visitors in {:.1} s ({:.0} chat starts/s, {} at once, {} per source address)",
        visitors.len(),
        args.visitors,
        opened_in.as_secs_f64(),
        visitors.len() as f64 / opened_in.as_secs_f64().max(1e-9),
        args.open_concurrency,
        per_address
    );
    if let Some(f) = failures.first() {
        println!("{} failed; the first: {f}", failures.len());
    }
    let (rss_open, _) = memory_kib(server.pid)?;
    println!("server memory just after opening: VmRSS {rss_open} KiB");

    // Idle: every stream must still be open and hear the server's keep-alive.
    let mut ended = 0;
    for v in &mut visitors {
        if drain(&mut v.heard).is_err() {
            ended += 1;
        }
    }
    tokio::time::sleep(Duration::from_secs(args.settle_secs)).await;
    let mut alive = 0;
    let mut silent = 0;
    for v in &mut visitors {
        match drain(&mut v.heard) {
            Ok(0) => silent += 1,
            Ok(_) => alive += 1,
            Err(_) => ended += 1,
        }
    }
    let (rss_idle, hwm_idle) = memory_kib(server.pid)?;
    println!(
        "after {} s idle: {alive} streams open and heard the keep-alive, {silent} open but silent, {ended} ended",
        args.settle_secs
    );
    let held = alive;
    let per = (rss_idle.saturating_sub(rss_before)) as f64 / held.max(1) as f64;
    println!(
        "server memory with {held} idle visitors: VmRSS {rss_idle} KiB (peak VmHWM {hwm_idle} KiB; {}); \
         {:.1} KiB more than before them, {per:.1} KiB per visitor (their chats' rows in the \
         database's page cache included)",
        memory_split(server.pid),
        rss_idle.saturating_sub(rss_before) as f64
    );

    // The timed visitor's messages again, with every idle visitor connected.
    let mut loaded = visitor_to_agent(
        &mut timed,
        &mut agent,
        &chat,
        &conversation.to_string(),
        args,
    )
    .await?;
    println!(
        "visitor message -> agent's stream, {held} idle visitors connected: {}",
        summary(&mut loaded)
    );

    // Replies to visitors spread over all of them: each widget stream carries its reply.
    let probes = args.probes.min(visitors.len());
    let mut replies = Vec::with_capacity(probes);
    let mut missed = 0;
    if let Some(step) = visitors.len().checked_div(probes) {
        for k in 0..probes {
            let v = &mut visitors[k * step];
            match agent_to_visitor(&api, desk, base, v, &format!("Reply {k} from Ann")).await {
                Ok(t) => replies.push(t),
                Err(e) => {
                    missed += 1;
                    if missed == 1 {
                        println!("a reply did not arrive: {e:#}");
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(args.interval_ms)).await;
        }
        println!(
            "agent reply -> visitor's widget stream, {held} idle visitors connected: {} ; {missed} of {probes} missed",
            summary(&mut replies)
        );
    }
    // A second tab of every visitor: one more stream each on chats that exist, so what the
    // server's memory grows by is the held streams alone, without new rows.
    let (rss_pre_tabs, _) = memory_kib(server.pid)?;
    let started = Instant::now();
    let mut tabs = Vec::with_capacity(visitors.len());
    for v in &visitors {
        let (http, token, chat) = (v.http.clone(), v.token.clone(), chat.clone());
        let sem = sem.clone();
        tabs.push(tokio::spawn(async move {
            let _permit = sem.acquire_owned().await?;
            tokio::time::timeout(timeout, open_stream(&http, &chat, &token))
                .await
                .map_err(|_| anyhow::anyhow!("no stream within {} s", timeout.as_secs()))?
        }));
    }
    let mut seconds = Vec::with_capacity(tabs.len());
    let mut second_failures = 0;
    for t in tabs {
        match t.await {
            Ok(Ok(h)) => seconds.push(h),
            _ => second_failures += 1,
        }
    }
    let (rss_tabs, _) = memory_kib(server.pid)?;
    println!(
        "a second stream for each visitor: {} opened in {:.1} s ({second_failures} failed); \
         VmRSS {rss_pre_tabs} -> {rss_tabs} KiB ({}), {:.1} KiB per held stream",
        seconds.len(),
        started.elapsed().as_secs_f64(),
        memory_split(server.pid),
        rss_tabs.saturating_sub(rss_pre_tabs) as f64 / seconds.len().max(1) as f64
    );
    drop(seconds);
    let (rss_end, hwm_end) = memory_kib(server.pid)?;
    println!("server memory at the end: VmRSS {rss_end} KiB (peak VmHWM {hwm_end} KiB)");
    println!(
        "held {held} of {} idle visitors concurrently (target 5,000)",
        args.visitors
    );
    if !failures.is_empty() || ended > 0 || silent > 0 || missed > 0 {
        bail!(
            "not every visitor was held: {} failed to open, {ended} ended, {silent} silent, {missed} replies missed",
            failures.len()
        );
    }
    drop(visitors);
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let ms = |n: u64| Duration::from_millis(n);
        let v: Vec<Duration> = (1..=100).map(ms).collect();
        assert_eq!(percentile(&v, 0.50), ms(50));
        assert_eq!(percentile(&v, 0.95), ms(95));
        assert_eq!(percentile(&v, 1.0), ms(100));
        assert_eq!(percentile(&v, 0.0), ms(1));
        assert_eq!(percentile(&[ms(7)], 0.95), ms(7));
        assert_eq!(percentile(&[], 0.95), Duration::ZERO);
    }

    #[test]
    fn events_are_split_at_blank_lines_and_keep_alives_are_comments() {
        let mut buf = String::from(
            ":\n\nevent: state\ndata: {\"a\":1}\n\nevent: message\ndata: 12,3\n\nevent: pre",
        );
        let got = take_events(&mut buf);
        assert_eq!(
            got,
            vec![
                Sse::Comment,
                Sse::Event {
                    name: "state".into(),
                    data: "{\"a\":1}".into()
                },
                Sse::Event {
                    name: "message".into(),
                    data: "12,3".into()
                },
            ]
        );
        // The unfinished event waits for the rest.
        assert_eq!(buf, "event: pre");
        buf.push_str("sence\r\ndata: []\r\ndata: x\n\n");
        assert_eq!(
            take_events(&mut buf),
            vec![Sse::Event {
                name: "presence".into(),
                data: "[]\nx".into()
            }]
        );
        assert!(buf.is_empty());
    }

    #[test]
    fn memory_is_read_from_proc_status() {
        let status = "Name:\tfrontdesk\nVmHWM:\t  81234 kB\nVmRSS:\t   70000 kB\n";
        assert_eq!(parse_memory(status), Some((70000, 81234)));
        assert_eq!(parse_memory("Name: x\n"), None);
    }

    #[test]
    fn visitor_addresses_are_distinct_loopback_hosts() {
        let mut seen = std::collections::HashSet::new();
        for g in 0..5_000 {
            let a = visitor_address(g);
            assert!(a.is_loopback());
            assert!(a.octets()[3] != 0 && a.octets()[3] != 255);
            assert!(seen.insert(a));
        }
    }
}
