//! `frontdesk bench-mail`: messages per second from SMTP delivery to a ticket visible in the
//! help desk's list, through the real listener, store, job queue, parser, threading and
//! ticket creation, on a fresh database. Clients are pipelining SMTP clients over loopback
//! (one persistent connection each), like an MTA relaying to Frontdesk.
//!
//! For each client count it sends `--messages` new mails and waits until that many new
//! tickets are in the "All open" list; then it sends one reply per ticket (In-Reply-To the
//! original, from the same customer) and waits until every reply is threaded.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use fd_app::domain::*;
use fd_app::{Actor, App, MailService, MailSettings, SystemClock};
use fd_store::Db;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[derive(Args, Debug, Clone)]
pub struct BenchMailArgs {
    /// New messages per run.
    #[arg(long, default_value_t = 10_000)]
    pub messages: usize,
    /// Concurrent SMTP clients, one run each (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1,8")]
    pub clients: Vec<usize>,
    /// Job workers.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// A PostgreSQL maintenance URL: the bench creates a new database there (default: SQLite).
    #[arg(long)]
    pub postgres_admin_url: Option<String>,
    /// Directory for the SQLite file (default: a temporary directory, removed afterwards).
    #[arg(long)]
    pub dir: Option<std::path::PathBuf>,
}

pub async fn run(args: BenchMailArgs) -> anyhow::Result<()> {
    let tmp = std::env::temp_dir().join(format!("frontdesk-bench-mail-{}", std::process::id()));
    let (url, backend) = match &args.postgres_admin_url {
        Some(admin) => (
            fd_store::create_postgres_database(
                admin,
                &format!("frontdesk_bench_mail_{}", std::process::id()),
            )
            .await?,
            "postgresql",
        ),
        None => {
            let dir = args.dir.clone().unwrap_or_else(|| tmp.clone());
            std::fs::create_dir_all(&dir)?;
            (dir.join("bench.db").display().to_string(), "sqlite")
        }
    };
    let app = bench_app(&url).await?;
    let service = MailService::new(app.clone(), MailSettings::default());
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let mut runtime = crate::mail::MailRuntime::basic(app.clone());
    runtime.service = service.clone();
    // The listener's default limits, widened only where this run's clients (all from
    // 127.0.0.1) would exceed them: one connection per client per pass, two passes a run.
    let mut mail_args = crate::mail::MailArgs::default_for_bench();
    let most = args.clients.iter().copied().max().unwrap_or(1);
    let attempts: usize = args.clients.iter().map(|c| 2 * c.max(&1)).sum();
    mail_args.smtp_max_connections_per_address =
        mail_args.smtp_max_connections_per_address.max(most);
    mail_args.smtp_max_connections = mail_args.smtp_max_connections.max(2 * most);
    mail_args.smtp_connection_burst = mail_args
        .smtp_connection_burst
        .max(u32::try_from(attempts).unwrap_or(u32::MAX));
    let runtime = runtime
        .with_smtp(listener, mail_args.smtp_config()?)
        .workers(args.workers);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let running = tokio::spawn(runtime.run(stop_rx));

    println!(
        "backend: {backend}  messages per run: {}  job workers: {}",
        args.messages, args.workers
    );
    println!(
        "{:>8} {:>10} {:>16} {:>18} {:>18}",
        "clients", "kind", "smtp 250 msg/s", "to visible msg/s", "p50/p99 ack ms"
    );
    let mut run_no = 0;
    for &clients in &args.clients {
        run_no += 1;
        let before = open_tickets(&app).await?;
        let ids: Vec<String> = (0..args.messages)
            .map(|i| format!("<bench-{run_no}-{i}@customer.example>"))
            .collect();
        let started = Instant::now();
        let acks = deliver(addr, clients, &ids, run_no, None).await?;
        let delivered = started.elapsed();
        let target = before + args.messages as i64;
        wait_until(|| async { Ok(open_tickets(&app).await? >= target) }).await?;
        let visible = started.elapsed();
        report(clients, "new", args.messages, delivered, visible, &acks);

        // Replies threading onto the tickets just made.
        let threaded_before = threaded(&app).await?;
        let started = Instant::now();
        let acks = deliver(addr, clients, &ids, run_no, Some(())).await?;
        let delivered = started.elapsed();
        // Every ingest job done (the jobs table is small; counting outcomes is not).
        wait_until(|| async { Ok(app.pending_jobs().await? == 0) }).await?;
        let visible = started.elapsed();
        let got = threaded(&app).await? - threaded_before;
        if got != args.messages as i64 {
            anyhow::bail!("{got} of {} replies threaded", args.messages);
        }
        report(clients, "replies", args.messages, delivered, visible, &acks);
    }
    let _ = stop_tx.send(true);
    let _ = running.await;
    app.close().await;
    if args.dir.is_none() && args.postgres_admin_url.is_none() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    Ok(())
}

fn report(
    clients: usize,
    kind: &str,
    n: usize,
    delivered: Duration,
    visible: Duration,
    acks: &[Duration],
) {
    let mut a = acks.to_vec();
    a.sort();
    let pct = |p: f64| {
        a.get(((a.len() as f64 * p) as usize).min(a.len().saturating_sub(1)))
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(0.0)
    };
    println!(
        "{:>8} {:>10} {:>16.0} {:>18.0} {:>11.2}/{:.2}",
        clients,
        kind,
        n as f64 / delivered.as_secs_f64(),
        n as f64 / visible.as_secs_f64(),
        pct(0.5),
        pct(0.99)
    );
}

async fn open_tickets(app: &App) -> anyhow::Result<i64> {
    Ok(app.count_all_open_tickets().await?)
}

async fn threaded(app: &App) -> anyhow::Result<i64> {
    Ok(app.count_ingested_mail("threaded").await?)
}

async fn wait_until<F, Fut>(mut done: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let deadline = Instant::now() + Duration::from_secs(600);
    while !done().await? {
        if Instant::now() > deadline {
            anyhow::bail!("timed out waiting for the messages to become visible");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

/// Sends `ids.len()` messages over `clients` pipelining connections; returns per-message
/// acknowledgement latencies.
async fn deliver(
    addr: std::net::SocketAddr,
    clients: usize,
    ids: &[String],
    run_no: usize,
    reply: Option<()>,
) -> anyhow::Result<Vec<std::time::Duration>> {
    let ids = Arc::new(ids.to_vec());
    let mut tasks = Vec::new();
    for c in 0..clients.max(1) {
        let ids = ids.clone();
        tasks.push(tokio::spawn(async move {
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let mut s = BufReader::new(stream);
            let mut line = String::new();
            let mut read_reply = async |s: &mut BufReader<TcpStream>| -> anyhow::Result<String> {
                let mut all = String::new();
                loop {
                    line.clear();
                    if s.read_line(&mut line).await? == 0 {
                        anyhow::bail!("connection closed");
                    }
                    all.push_str(&line);
                    if line.len() < 4 || line.as_bytes()[3] == b' ' {
                        return Ok(all);
                    }
                }
            };
            read_reply(&mut s).await?;
            s.get_mut().write_all(b"EHLO bench.example\r\n").await?;
            read_reply(&mut s).await?;
            let mut acks = Vec::new();
            let mut i = c;
            while i < ids.len() {
                let customer = format!("customer{run_no}x{i}@customer.example");
                let body = match reply {
                    None => format!(
                        "From: Customer {i} <{customer}>\r\nTo: support@bench.example\r\nSubject: Order {run_no}-{i} did not arrive\r\nMessage-ID: {}\r\nDate: Thu, 1 Jan 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello,\r\nmy order {run_no}-{i} has not arrived yet. Can you help?\r\n\r\nThanks,\r\nCustomer {i}\r\n",
                        ids[i]
                    ),
                    Some(()) => format!(
                        "From: Customer {i} <{customer}>\r\nTo: support@bench.example\r\nSubject: Re: Order {run_no}-{i} did not arrive\r\nMessage-ID: <reply-{run_no}-{i}@customer.example>\r\nIn-Reply-To: {id}\r\nReferences: {id}\r\nDate: Thu, 1 Jan 2026 11:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nIt is here now, thanks!\r\n\r\nOn Thu, 1 Jan 2026 at 10:00, Customer {i} <{customer}> wrote:\r\n> Hello,\r\n> my order {run_no}-{i} has not arrived yet.\r\n",
                        id = ids[i]
                    ),
                };
                let t = Instant::now();
                // RFC 2920 pipelining: envelope and DATA in one write.
                s.get_mut()
                    .write_all(
                        format!("MAIL FROM:<{customer}>\r\nRCPT TO:<support@bench.example>\r\nDATA\r\n")
                            .as_bytes(),
                    )
                    .await?;
                for _ in 0..3 {
                    read_reply(&mut s).await?;
                }
                s.get_mut().write_all(body.as_bytes()).await?;
                s.get_mut().write_all(b".\r\n").await?;
                let r = read_reply(&mut s).await?;
                if !r.starts_with("250") {
                    anyhow::bail!("message refused: {r}");
                }
                acks.push(t.elapsed());
                i += clients.max(1);
            }
            s.get_mut().write_all(b"QUIT\r\n").await?;
            anyhow::Ok(acks)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    Ok(all)
}

/// A migrated database at `url` with the "Support" team and its address
/// `support@bench.example` connected to the help desk: what the mail benchmarks deliver to.
pub(crate) async fn bench_app(url: &str) -> anyhow::Result<App> {
    let db = Db::connect(url).await.context("open bench database")?;
    db.migrate().await?;
    let app = App::new(db, Arc::new(SystemClock));
    let system = Actor::system();
    app.create_team(&system, "Support").await?;
    app.connect_email(
        &system,
        "support@bench.example",
        "Support",
        Workspace::HelpDesk,
        false,
    )
    .await?;
    Ok(app)
}
