//! `frontdesk bench`: generates tickets with conversations and messages through the real use
//! cases on a fresh database, and measures write throughput and the latency of the help
//! desk's first page (open tickets the user may see, newest activity first).
//!
//! First it writes `--use-case-writes` tickets (each with its email conversation and first
//! message) through the real use case with `--writers` concurrent tasks and reports that
//! rate. Then, for each size of `--tickets` (cumulative on one database), it tops the data up
//! with bulk multi-row inserts of the same shape and measures the first page.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use fd_app::domain::*;
use fd_app::{
    Actor, App, InboundMessage, NewConversation, NewUserInput, SystemClock, TicketCreation,
};
use fd_store::{Db, TicketListQuery, TicketSort, TicketView};

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Cumulative ticket counts at which to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10000")]
    pub tickets: Vec<u64>,
    /// Tickets written through the use case (the measured write rate); the rest is bulk-seeded.
    #[arg(long, default_value_t = 10_000)]
    pub use_case_writes: u64,
    /// Concurrent writers.
    #[arg(long, default_value_t = 8)]
    pub writers: usize,
    /// First-page queries timed per measurement.
    #[arg(long, default_value_t = 500)]
    pub samples: usize,
    /// A PostgreSQL maintenance URL (e.g. postgres://postgres@127.0.0.1:5432/postgres): the
    /// bench creates a new database there. Without it the bench uses a new SQLite file.
    #[arg(long)]
    pub postgres_admin_url: Option<String>,
    /// Directory for the SQLite file (default: a new temporary directory, removed afterwards).
    #[arg(long)]
    pub dir: Option<std::path::PathBuf>,
}

struct Fixture {
    teams: Vec<TeamId>,
    agents: Vec<UserId>,
    all_access: Actor,
    team_access: Actor,
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let tmp;
    let (url, backend) = match &args.postgres_admin_url {
        Some(admin) => {
            let name = format!("frontdesk_bench_{}", std::process::id());
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
                    tmp = tempfile_dir()?;
                    tmp.clone()
                }
            };
            (dir.join("bench.db").display().to_string(), "sqlite")
        }
    };
    let db = Db::connect(&url).await.context("open bench database")?;
    db.migrate().await?;
    let app = App::new(db, Arc::new(SystemClock));
    let fx = fixture(&app).await?;
    println!(
        "backend: {backend}  writers: {}  samples: {}",
        args.writers, args.samples
    );
    let fx = Arc::new(fx);
    let n = args.use_case_writes;
    let started = Instant::now();
    write_tickets(&app, &fx, 0, n, args.writers).await?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "use case (ticket + email conversation + message): {n} tickets in {secs:.1} s = {:.0} tickets/s",
        if secs > 0.0 { n as f64 / secs } else { 0.0 }
    );
    println!(
        "{:>10} {:>14} {:>12} {:>12} {:>12} {:>12}",
        "tickets", "seeded/s", "all p50 ms", "all p95 ms", "team p50 ms", "team p95 ms"
    );
    let mut written = n;
    for &target in &args.tickets {
        let seeded = target.saturating_sub(written);
        let started = Instant::now();
        seed(&app, &fx, written, target).await?;
        let secs = started.elapsed().as_secs_f64();
        written = written.max(target);
        let all = first_page_latency(&app, &fx.all_access, args.samples).await?;
        let team = first_page_latency(&app, &fx.team_access, args.samples).await?;
        println!(
            "{:>10} {:>14.0} {:>12.3} {:>12.3} {:>12.3} {:>12.3}",
            written,
            if secs > 0.0 && seeded > 0 {
                seeded as f64 / secs
            } else {
                0.0
            },
            ms(all.0),
            ms(all.1),
            ms(team.0),
            ms(team.1)
        );
    }
    app.close().await;
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

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("frontdesk-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

async fn fixture(app: &App) -> anyhow::Result<Fixture> {
    let system = Actor::system();
    let mut teams = Vec::new();
    for i in 0..4 {
        teams.push(app.create_team(&system, &format!("Team {i}")).await?);
    }
    let mut agents = Vec::new();
    let mut actors = Vec::new();
    for i in 0..20 {
        let team = &teams[i % teams.len()];
        let u = app
            .create_user(
                &system,
                NewUserInput {
                    email: format!("agent{i}@bench.example"),
                    name: format!("Agent {i}"),
                    role: Role::Agent,
                    password: "bench-password".into(),
                    teams: vec![team.name.clone()],
                    ticket_access: if i == 0 {
                        TicketAccessLevel::All
                    } else {
                        TicketAccessLevel::Team
                    },
                    account_access: false,
                    service_access: true,
                    sales_access: false,
                    seat: Seat::Service,
                },
            )
            .await?;
        agents.push(u.id);
        actors.push(app.actor_for(u.id).await?);
    }
    Ok(Fixture {
        teams: teams.iter().map(|t| t.id).collect(),
        agents,
        all_access: actors[0].clone(),
        team_access: actors[1].clone(),
    })
}

async fn write_tickets(
    app: &App,
    fx: &Arc<Fixture>,
    start: u64,
    n: u64,
    writers: usize,
) -> anyhow::Result<()> {
    let writers = writers.max(1) as u64;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let app = app.clone();
        let fx = fx.clone();
        tasks.push(tokio::spawn(async move {
            let mut i = start + w;
            while i < start + n {
                let owner =
                    (!i.is_multiple_of(5)).then(|| fx.agents[(i as usize) % fx.agents.len()]);
                let team = fx.teams[(i as usize) % fx.teams.len()];
                app.create_conversation(
                    &Actor::system(),
                    NewConversation {
                        channel: Channel::Email,
                        channel_account: Some("support@bench.example".into()),
                        workspace: Workspace::HelpDesk,
                        team: Some(team),
                        owner,
                        contact: None,
                        visitor_name: Some(format!("Customer {i}")),
                        visitor_email: Some(format!("customer{i}@example.com")),
                        subject: Some(format!("Order {i} did not arrive")),
                        ticket: TicketCreation::Automatic,
                    },
                    Some(InboundMessage {
                        sender_name: Some(format!("Customer {i}")),
                        sender_address: Some(format!("customer{i}@example.com")),
                        subject: Some(format!("Order {i} did not arrive")),
                        text: format!(
                            "Hello, my order number {i} has not arrived yet. Can you help?"
                        ),
                        message_id_header: Some(format!("<bench-{i}@example.com>")),
                        ..InboundMessage::default()
                    }),
                )
                .await?;
                i += writers;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

/// Bulk-inserts tickets `from..to` through the seeding use case.
async fn seed(app: &App, fx: &Fixture, from: u64, to: u64) -> anyhow::Result<()> {
    let seed = fd_app::TicketSeed {
        teams: &fx.teams,
        agents: &fx.agents,
        unassigned_every: 5,
        closed_every: 3,
    };
    app.seed_tickets(&Actor::system(), &seed, from, to).await?;
    Ok(())
}

/// (p50, p95) of the first page of "All open", newest activity first, as `actor` sees it.
async fn first_page_latency(
    app: &App,
    actor: &Actor,
    samples: usize,
) -> anyhow::Result<(Duration, Duration)> {
    let q = TicketListQuery {
        view: TicketView::AllOpen,
        sort: TicketSort::LastActivityDesc,
        limit: 25,
        ..TicketListQuery::default()
    };
    // Warm the statement cache and pages once.
    app.list_tickets(actor, &q).await?;
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples.max(1) {
        let t = Instant::now();
        let page = app.list_tickets(actor, &q).await?;
        times.push(t.elapsed());
        if page.is_empty() {
            anyhow::bail!("the first page is empty: the bench data is wrong");
        }
    }
    times.sort();
    let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    Ok((pct(0.50), pct(0.95)))
}
