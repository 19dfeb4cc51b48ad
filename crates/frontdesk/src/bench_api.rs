//! `frontdesk bench-api`: the HubSpot-compatible API measured over HTTP on loopback. Starts
//! the real server (`launch`) on 127.0.0.1:0 over a fresh database, then
//! 1. creates tickets with `POST /crm/v3/objects/tickets` from 4 and 16 concurrent
//!    connections and reports creates per second;
//! 2. fills the database up to `--search-tickets` (batch creates), and times searches
//!    (`POST /crm/v3/objects/tickets/search`), reporting p50 and p95.
//!
//! The client runs in the same process as the server, so both share the machine's cores,
//! as they would on a one-box deployment.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Args;
use fd_app::domain::{Role, Seat, TicketAccessLevel};
use fd_app::{Actor, App, NewUserInput, SystemClock};
use fd_store::Db;
use serde_json::{Value, json};

#[derive(Args, Debug, Clone)]
pub struct BenchApiArgs {
    /// Concurrent connections for the create measurement, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "4,16")]
    pub concurrency: Vec<usize>,
    /// Tickets created per concurrency level.
    #[arg(long, default_value_t = 20_000)]
    pub creates: u64,
    /// Tickets in the database when searches are timed.
    #[arg(long, default_value_t = 100_000)]
    pub search_tickets: u64,
    /// Searches timed per query shape.
    #[arg(long, default_value_t = 200)]
    pub samples: usize,
    /// A PostgreSQL maintenance URL: the bench creates a new database there. Without it the
    /// bench uses a new SQLite file.
    #[arg(long)]
    pub postgres_admin_url: Option<String>,
    /// Directory for the SQLite file (default: a new temporary directory, removed afterwards).
    #[arg(long)]
    pub dir: Option<std::path::PathBuf>,
    /// Servers on the one database (PostgreSQL only beyond 1), each with its own pool, relay
    /// and port, as `frontdesk serve` nodes have; the creates' connections are spread over
    /// them in turn.
    #[arg(long, default_value_t = 1)]
    pub nodes: usize,
}

const PRIORITIES: [&str; 3] = ["LOW", "MEDIUM", "HIGH"];

fn ticket_body(i: u64) -> Value {
    json!({"properties": {
        "subject": format!("Order {i} did not arrive"),
        "content": format!("Hello, my order number {i} has not arrived yet. Can you help?"),
        "hs_pipeline": "0",
        "hs_pipeline_stage": ((i % 3) + 1).to_string(),
        "hs_ticket_priority": PRIORITIES[(i % 3) as usize],
    }})
}

pub async fn run(args: BenchApiArgs) -> anyhow::Result<()> {
    let tmp;
    let (url, backend) = match &args.postgres_admin_url {
        Some(admin) => {
            let name = format!("frontdesk_bench_api_{}", std::process::id());
            (
                fd_store::create_postgres_database(admin, &name).await?,
                "postgresql",
            )
        }
        None => {
            let dir = match &args.dir {
                Some(d) => {
                    std::fs::create_dir_all(d)?;
                    d.clone()
                }
                None => {
                    tmp = std::env::temp_dir()
                        .join(format!("frontdesk-bench-api-{}", std::process::id()));
                    std::fs::create_dir_all(&tmp)?;
                    tmp.clone()
                }
            };
            (dir.join("bench.db").display().to_string(), "sqlite")
        }
    };
    if args.nodes > 1 && args.postgres_admin_url.is_none() {
        bail!("--nodes above 1 needs --postgres-admin-url: SQLite is one node");
    }
    let db = Db::connect(&url).await.context("open bench database")?;
    db.migrate().await?;
    let app = App::new(db, Arc::new(SystemClock));
    app.create_user(
        &Actor::system(),
        NewUserInput {
            email: "bench@bench.example".into(),
            name: "Bench Admin".into(),
            role: Role::SuperAdmin,
            password: "bench-password".into(),
            teams: Vec::new(),
            ticket_access: TicketAccessLevel::All,
            account_access: true,
            service_access: true,
            sales_access: false,
            seat: Seat::Service,
        },
    )
    .await?;
    let token = app
        .create_api_token(&Actor::system(), "bench@bench.example", Some("bench"))
        .await?
        .token;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut bases = Vec::new();
    let mut servers = Vec::new();
    let mut apps = Vec::new();
    for n in 0..args.nodes.max(1) {
        let node = if n == 0 {
            app.clone()
        } else {
            App::new(Db::connect(&url).await?, Arc::new(SystemClock))
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        bases.push(format!("http://{}", listener.local_addr()?));
        let mut stop = stop_rx.clone();
        servers.push(tokio::spawn(crate::launch(
            node.clone(),
            listener,
            async move {
                let _ = stop.wait_for(|s| *s).await;
            },
        )));
        apps.push(node);
    }
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let ctx = Arc::new((http, bases[0].clone(), token));

    println!(
        "backend: {backend}  nodes: {}  (client and servers in one process, loopback HTTP/1.1)",
        bases.len()
    );
    println!(
        "{:>12} {:>10} {:>12}",
        "connections", "tickets", "creates/s"
    );
    let mut next = 0u64;
    for &c in &args.concurrency {
        let started = Instant::now();
        create_concurrently(&ctx, &bases, next, args.creates, c.max(1)).await?;
        let secs = started.elapsed().as_secs_f64();
        next += args.creates;
        println!(
            "{:>12} {:>10} {:>12.0}",
            c,
            args.creates,
            args.creates as f64 / secs.max(1e-9)
        );
    }
    if next < args.search_tickets {
        let started = Instant::now();
        fill(&ctx, next, args.search_tickets - next).await?;
        println!(
            "filled to {} tickets with batch/create in {:.1}s",
            args.search_tickets,
            started.elapsed().as_secs_f64()
        );
        next = args.search_tickets;
    }
    let total = search(&ctx, &json!({"limit": 0})).await?["total"]
        .as_i64()
        .unwrap_or_default();
    println!(
        "search latency at {total} tickets ({} samples each):",
        args.samples
    );
    println!("{:<44} {:>10} {:>10}", "query", "p50 ms", "p95 ms");
    let shapes: Vec<(&str, QueryShape)> = vec![
        (
            "stage EQ, newest first, 10 results",
            Box::new(|i| {
                json!({"filterGroups": [{"filters": [{"propertyName": "hs_pipeline_stage",
                    "operator": "EQ", "value": ((i % 3) + 1).to_string()}]}],
                    "sorts": ["-createdate"], "properties": ["subject"], "limit": 10})
            }),
        ),
        (
            "priority IN + stage NEQ, by id, 100 results",
            Box::new(|_| {
                json!({"filterGroups": [{"filters": [
                    {"propertyName": "hs_ticket_priority", "operator": "IN", "values": ["HIGH", "MEDIUM"]},
                    {"propertyName": "hs_pipeline_stage", "operator": "NEQ", "value": "3"}]}],
                    "limit": 100})
            }),
        ),
        (
            "query text (one order number)",
            Box::new(
                move |i| json!({"query": format!("order {}", (i as u64 * 7919) % next.max(1)), "limit": 10}),
            ),
        ),
        (
            "subject CONTAINS_TOKEN, 10 results",
            Box::new(move |i| {
                json!({"filterGroups": [{"filters": [{"propertyName": "subject",
                    "operator": "CONTAINS_TOKEN", "value": format!("{}*", (i as u64 * 104_729) % next.max(1))}]}],
                    "limit": 10})
            }),
        ),
    ];
    for (name, body) in &shapes {
        // Warm the statement cache and pages once.
        search(&ctx, &body(0)).await?;
        let mut times = Vec::with_capacity(args.samples);
        for i in 0..args.samples.max(1) {
            let b = body(i);
            let t = Instant::now();
            search(&ctx, &b).await?;
            times.push(t.elapsed());
        }
        times.sort();
        let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
        println!(
            "{:<44} {:>10.2} {:>10.2}",
            name,
            ms(pct(0.50)),
            ms(pct(0.95))
        );
    }
    let _ = stop_tx.send(true);
    for server in servers {
        server.await??;
    }
    for node in apps {
        node.close().await;
    }
    if args.dir.is_none() && args.postgres_admin_url.is_none() {
        let _ = std::fs::remove_dir_all(
            std::path::Path::new(&url)
                .parent()
                .unwrap_or(std::path::Path::new(".")),
        );
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

type Ctx = Arc<(reqwest::Client, String, String)>;

/// A search body for the i-th sample.
type QueryShape = Box<dyn Fn(usize) -> Value>;

/// Creates `n` tickets over `connections` workers; worker `w` talks to node `w % nodes`.
async fn create_concurrently(
    ctx: &Ctx,
    bases: &[String],
    start: u64,
    n: u64,
    connections: usize,
) -> anyhow::Result<()> {
    let mut tasks = Vec::new();
    let workers = connections as u64;
    for w in 0..workers {
        let ctx = ctx.clone();
        let base = bases[(w as usize) % bases.len()].clone();
        tasks.push(tokio::spawn(async move {
            let (http, _, token) = &*ctx;
            let url = format!("{base}/crm/v3/objects/tickets");
            let mut i = start + w;
            while i < start + n {
                let res = http
                    .post(&url)
                    .bearer_auth(token)
                    .json(&ticket_body(i))
                    .send()
                    .await?;
                if res.status().as_u16() != 201 {
                    let status = res.status();
                    bail!(
                        "create answered {status}: {}",
                        res.text().await.unwrap_or_default()
                    );
                }
                // Read the body so the connection goes back to the pool.
                res.bytes().await?;
                i += workers;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

async fn fill(ctx: &Ctx, start: u64, n: u64) -> anyhow::Result<()> {
    let chunks: Vec<(u64, u64)> = (0..n.div_ceil(100))
        .map(|k| (start + k * 100, (n - k * 100).min(100)))
        .collect();
    let workers = 4usize;
    let chunks = Arc::new(tokio::sync::Mutex::new(chunks.into_iter()));
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let ctx = ctx.clone();
        let chunks = chunks.clone();
        tasks.push(tokio::spawn(async move {
            let (http, base, token) = &*ctx;
            let url = format!("{base}/crm/v3/objects/tickets/batch/create");
            loop {
                let next = chunks.lock().await.next();
                let Some((from, count)) = next else {
                    return anyhow::Ok(());
                };
                let inputs: Vec<Value> = (from..from + count).map(ticket_body).collect();
                let res = http
                    .post(&url)
                    .bearer_auth(token)
                    .json(&json!({ "inputs": inputs }))
                    .send()
                    .await?;
                if res.status().as_u16() != 201 {
                    let status = res.status();
                    bail!(
                        "batch create answered {status}: {}",
                        res.text().await.unwrap_or_default()
                    );
                }
                res.bytes().await?;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

async fn search(ctx: &Ctx, body: &Value) -> anyhow::Result<Value> {
    let (http, base, token) = &**ctx;
    let res = http
        .post(format!("{base}/crm/v3/objects/tickets/search"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await?;
    if res.status().as_u16() != 200 {
        let status = res.status();
        bail!(
            "search answered {status}: {}",
            res.text().await.unwrap_or_default()
        );
    }
    Ok(res.json().await?)
}
