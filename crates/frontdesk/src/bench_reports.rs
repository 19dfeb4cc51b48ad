//! `frontdesk bench-reports`: the reports' response time (issue 16, item 5; the goal is
//! ≤ 200 ms per report at 1M tickets). Seeds `--tickets` tickets over four teams and eight
//! agents, spreads them over the last year with first replies, closes and SLA outcomes
//! (`App::seed_report_history`), then times each report through `App::reports` — the use
//! case the page, the CSV and the API call — for the default range (the last 30 days), as
//! an administrator (all tickets) and as an agent limited to one team's tickets (HD-09), and
//! prints p50/p95 per report.

use crate::bench_db::BenchDb;
use std::time::{Duration, Instant};

use clap::Args;
use fd_app::domain::local_time::UserTimeZone;
use fd_app::domain::*;
use fd_app::{Actor, NewUserInput, ReportKind, ReportQuery, TicketSeed};

#[derive(Args, Debug, Clone)]
pub struct BenchReportsArgs {
    /// Tickets to seed (spread over the last year).
    #[arg(long, default_value_t = 100_000)]
    pub tickets: u64,
    /// Timed runs of each report per viewer.
    #[arg(long, default_value_t = 20)]
    pub samples: usize,
    /// A PostgreSQL maintenance URL: the bench creates a new database there. Without it the
    /// bench uses a new SQLite file.
    #[arg(long)]
    pub postgres_admin_url: Option<String>,
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted[rank - 1]
}

pub async fn run(args: BenchReportsArgs) -> anyhow::Result<()> {
    let bench = BenchDb::create("bench-reports", args.postgres_admin_url.as_deref()).await?;
    let (app, backend) = (bench.app.clone(), bench.backend);
    let system = Actor::system();
    let mut teams = Vec::new();
    for name in ["Support", "Billing", "Sales", "Onboarding"] {
        teams.push(app.create_team(&system, name).await?);
    }
    let mut agents = Vec::new();
    let mut team_agent = None;
    for i in 0..8 {
        let team = &teams[i % teams.len()];
        let user = app
            .create_user(
                &system,
                NewUserInput {
                    email: format!("agent{i}@bench.example"),
                    name: format!("Agent {i}"),
                    role: Role::Agent,
                    password: "bench-password".into(),
                    teams: vec![team.name.clone()],
                    // Agent 1 is in Billing, a team with open tickets in the seed (odd ids
                    // are open, and they fall to Billing and Onboarding).
                    ticket_access: if i == 1 {
                        TicketAccessLevel::Team
                    } else {
                        TicketAccessLevel::All
                    },
                    account_access: false,
                    service_access: true,
                    sales_access: false,
                    seat: Seat::Service,
                },
            )
            .await?;
        if i == 1 {
            team_agent = Some(user.id);
        }
        agents.push(user.id);
    }
    let team_ids: Vec<TeamId> = teams.iter().map(|t| t.id).collect();
    let seed = TicketSeed {
        teams: &team_ids,
        agents: &agents,
        unassigned_every: 7,
        closed_every: 2,
    };
    let started = Instant::now();
    app.seed_tickets(&system, &seed, 0, args.tickets).await?;
    app.seed_report_history(&system, 365).await?;
    println!(
        "backend: {backend}  seeded {} tickets over 365 days in {:.1} s",
        args.tickets,
        started.elapsed().as_secs_f64()
    );
    let admin = app.actor_for(agents[0]).await?;
    let limited = match team_agent {
        Some(id) => app.actor_for(id).await?,
        None => anyhow::bail!("no team-limited agent"),
    };
    let q = ReportQuery {
        from: None,
        to: None,
        team: None,
        pipeline: None,
        time_zone: UserTimeZone::utc(),
    };
    for (who, actor) in [("all tickets", &admin), ("one team's tickets", &limited)] {
        // What the fastest report says, so its speed is not that of an empty answer.
        let r = app
            .reports(actor, &q, &[ReportKind::Volume, ReportKind::Backlog])
            .await?;
        println!(
            "viewer: {who}  ({} created in the range; backlog: {} open tickets in {} stages)",
            r.per_day.iter().map(|d| d.created).sum::<i64>(),
            r.backlog.iter().map(|b| b.open).sum::<i64>(),
            r.backlog.len()
        );
        for kind in ReportKind::ALL {
            // One untimed run warms the caches, as a page's second view would be.
            app.reports(actor, &q, &[kind]).await?;
            let mut times = Vec::with_capacity(args.samples);
            for _ in 0..args.samples.max(1) {
                let t = Instant::now();
                app.reports(actor, &q, &[kind]).await?;
                times.push(t.elapsed());
            }
            times.sort();
            println!(
                "  {:<15} p50 {:>8.1} ms  p95 {:>8.1} ms",
                kind.slug(),
                percentile(&times, 50).as_secs_f64() * 1000.0,
                percentile(&times, 95).as_secs_f64() * 1000.0
            );
        }
    }
    bench.finish().await;
    Ok(())
}
