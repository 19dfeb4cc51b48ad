//! `frontdesk bench-ui`: the server time of each web UI page on a fresh SQLite database
//! (or PostgreSQL) holding `--tickets` tickets (issue 5's quality bar: p95 ≤ 50 ms at 100k).
//!
//! Tickets are bulk-seeded in the shape the use cases write (one email conversation and one
//! inbound message each). Each page is requested through the real router in process, with a
//! real session cookie, so the time is the server's: session lookup, the page's use cases and
//! queries, and template rendering — without network or browser.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use clap::Args;
use fd_app::domain::*;
use fd_app::{Actor, App, NewUserInput, SignInOutcome, SystemClock};
use fd_store::Db;
use tower::ServiceExt as _;

#[derive(Args, Debug, Clone)]
pub struct BenchUiArgs {
    /// Tickets in the database.
    #[arg(long, default_value_t = 100_000)]
    pub tickets: u64,
    /// Requests timed per page.
    #[arg(long, default_value_t = 200)]
    pub samples: usize,
    /// A PostgreSQL maintenance URL; without it the bench uses a new SQLite file.
    #[arg(long)]
    pub postgres_admin_url: Option<String>,
    /// Keep the seeded SQLite database in this file and, when it already holds the desk a
    /// previous run seeded, time the pages on it without seeding again (a million tickets
    /// take a minute or more to seed).
    #[arg(long, conflicts_with = "postgres_admin_url")]
    pub database: Option<std::path::PathBuf>,
}

const PASSWORD: &str = "bench-password";

pub async fn run(args: BenchUiArgs) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("frontdesk-bench-ui-{}", std::process::id()));
    let url = match (&args.postgres_admin_url, &args.database) {
        (Some(admin), _) => {
            let name = format!("frontdesk_bench_ui_{}", std::process::id());
            fd_store::create_postgres_database(admin, &name).await?
        }
        (None, Some(file)) => file.display().to_string(),
        (None, None) => {
            std::fs::create_dir_all(&dir)?;
            dir.join("bench.db").display().to_string()
        }
    };
    let db = Db::connect(&url).await.context("open bench database")?;
    db.migrate().await?;
    let app = App::new(db, Arc::new(SystemClock));
    let system = Actor::system();
    let every_ticket = fd_store::TicketListQuery {
        view: fd_store::TicketView::All,
        ..Default::default()
    };
    let reused = app.count_tickets(&system, &every_ticket).await? > 0;
    let agents = if reused {
        let mut agents = Vec::new();
        for i in 0..20 {
            let email = format!("agent{i}@bench.example");
            let user = app
                .user_by_email(&email)
                .await?
                .with_context(|| format!("{email} is not in the kept database"))?;
            agents.push(user.id);
        }
        println!("reusing the desk seeded in {url}");
        agents
    } else {
        seed_desk(&app, args.tickets).await?
    };
    run_pages(&app, &agents, &args).await?;
    app.close().await;
    if args.postgres_admin_url.is_none() && args.database.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}

/// Teams, twenty agents (the first sees every ticket, the others their team's) and
/// `tickets` tickets.
async fn seed_desk(app: &App, tickets: u64) -> anyhow::Result<Vec<UserId>> {
    let system = Actor::system();
    let mut teams = Vec::new();
    for i in 0..4 {
        teams.push(app.create_team(&system, &format!("Team {i}")).await?);
    }
    let mut agents = Vec::new();
    for i in 0..20 {
        let u = app
            .create_user(
                &system,
                NewUserInput {
                    email: format!("agent{i}@bench.example"),
                    name: format!("Agent {i}"),
                    role: Role::Agent,
                    password: PASSWORD.into(),
                    teams: vec![teams[i % teams.len()].name.clone()],
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
    }
    let started = Instant::now();
    let seed = fd_app::TicketSeed {
        teams: &teams.iter().map(|t| t.id).collect::<Vec<_>>(),
        agents: &agents,
        unassigned_every: 5,
        closed_every: 3,
    };
    app.seed_tickets(&Actor::system(), &seed, 0, tickets)
        .await?;
    println!(
        "seeded {} tickets in {:.1} s",
        tickets,
        started.elapsed().as_secs_f64()
    );
    Ok(agents)
}

/// Times every page for the agent with all access and a team-scoped one.
async fn run_pages(app: &App, agents: &[UserId], args: &BenchUiArgs) -> anyhow::Result<()> {
    let every_ticket = fd_store::TicketListQuery {
        view: fd_store::TicketView::All,
        ..Default::default()
    };
    let tickets = app.count_tickets(&Actor::system(), &every_ticket).await?;
    let tickets = u64::try_from(tickets).unwrap_or(0);
    let router = fd_web::router(app.clone());
    println!(
        "{:<44} {:>10} {:>10} {:>10}",
        "page (agent with all / team access)", "p50 ms", "p95 ms", "max ms"
    );
    let mut worst = Duration::ZERO;
    for (who, email) in [
        ("all", "agent0@bench.example"),
        ("team", "agent1@bench.example"),
    ] {
        let attempt = fd_app::SignInAttempt {
            email,
            password: PASSWORD,
            client: None,
            device: None,
            user_agent: None,
        };
        let cookie = match app.sign_in(attempt).await? {
            SignInOutcome::SignedIn(s) => format!("fd_session={}", s.token),
            other => anyhow::bail!("bench sign-in failed: {other:?}"),
        };
        let actor = app
            .actor_for(agents[if who == "all" { 0 } else { 1 }])
            .await?;
        let open = app
            .list_tickets(
                &actor,
                &fd_store::TicketListQuery {
                    limit: 1,
                    ..Default::default()
                },
            )
            .await?;
        let ticket = open
            .first()
            .map(|t| t.id)
            .context("the bench agent sees no open ticket")?;
        // A seeded ticket number in the middle of the desk, with the "réclamation" topic, and
        // its customer (a name one ticket in 2,000 shares).
        let probe = (tickets / 2) / 8 * 8 + 5;
        let (first, last) = fd_store::seed_customer(probe);
        let email = fd_store::seed_customer_email(probe).replace('@', "%40");
        let name = format!("{first}+{last}");
        let pages = [
            "/helpdesk".to_string(),
            "/helpdesk?view=unassigned".into(),
            "/helpdesk?view=mine".into(),
            "/helpdesk?view=closed&sort=created_asc".into(),
            "/helpdesk?view=open&sort=priority_desc".into(),
            "/helpdesk?view=open&sort=subject_asc".into(),
            "/helpdesk?view=open&q=order+99".into(),
            // The search of issue 13 (every field, every view, accents folded), from the
            // open view: a customer's email, a contact's name, a word of the seeded message
            // typed without its accent (one ticket in eight has it), that word with an
            // order number, and a ticket id.
            format!("/helpdesk?view=open&q={email}"),
            format!("/helpdesk?view=open&q={name}"),
            "/helpdesk?view=open&q=reclamation".into(),
            format!("/helpdesk?view=open&q=reclamation+{probe}"),
            format!("/helpdesk?view=open&q={ticket}"),
            "/helpdesk?view=drafts".into(),
            format!("/helpdesk/tickets/{ticket}"),
            format!("/tickets/{ticket}"),
            "/helpdesk/new".into(),
            "/inbox".into(),
            "/notifications".into(),
        ];
        for path in pages {
            let times = time_page(&router, &cookie, &path, args.samples).await?;
            let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
            worst = worst.max(pct(0.95));
            println!(
                "{:<44} {:>10.2} {:>10.2} {:>10.2}",
                format!("{path} ({who})"),
                ms(pct(0.50)),
                ms(pct(0.95)),
                ms(times[times.len() - 1])
            );
        }
    }
    println!("worst page p95: {:.2} ms", ms(worst));
    Ok(())
}

async fn time_page(
    router: &axum::Router,
    cookie: &str,
    path: &str,
    samples: usize,
) -> anyhow::Result<Vec<Duration>> {
    let request = || {
        Request::builder()
            .uri(path)
            .header("cookie", cookie)
            .header("host", "bench.local")
            .body(Body::empty())
    };
    // Warm caches and prepared statements once.
    router.clone().oneshot(request()?).await?;
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples.max(1) {
        let t = Instant::now();
        let resp = router.clone().oneshot(request()?).await?;
        let status = resp.status();
        let body = axum::body::to_bytes(resp.into_body(), 16 * 1024 * 1024).await?;
        times.push(t.elapsed());
        if status != StatusCode::OK || body.is_empty() {
            anyhow::bail!("{path} answered {status}");
        }
    }
    times.sort();
    Ok(times)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
