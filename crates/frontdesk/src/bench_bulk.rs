//! `frontdesk bench-bulk`: a bulk status change of many tickets (issue 15 item 6) on a fresh
//! database. Seeds N open tickets, each with an email conversation, then runs one bulk action
//! — "all open tickets matching the filter" moved to the CLOSED stage — through
//! `App::bulk_tickets` as an agent with access to all tickets: the selection resolved with
//! the agent's scope, then each ticket through the single-edit use case in its own transaction
//! (HD-19 check, INB-10 closing its conversation, history). Reports the wall time, tickets per
//! second and how long the selection took to resolve, and checks that every ticket changed.

use crate::bench_db::BenchDb;
use std::time::Instant;

use anyhow::bail;
use clap::Args;
use fd_app::domain::*;
use fd_app::{
    Actor, BulkAction, BulkSelection, NewUserInput, TicketListQuery, TicketSeed, TicketView,
};

#[derive(Args, Debug, Clone)]
pub struct BenchBulkArgs {
    /// Tickets to seed and change in one bulk action.
    #[arg(long, default_value_t = 10_000)]
    pub tickets: u64,
    /// A PostgreSQL maintenance URL: the bench creates a new database there. Without it the
    /// bench uses a new SQLite file.
    #[arg(long)]
    pub postgres_admin_url: Option<String>,
}

pub async fn run(args: BenchBulkArgs) -> anyhow::Result<()> {
    let bench = BenchDb::create("bench-bulk", args.postgres_admin_url.as_deref()).await?;
    let (app, backend) = (bench.app.clone(), bench.backend);
    let system = Actor::system();
    let team = app.create_team(&system, "Support").await?;
    let user = app
        .create_user(
            &system,
            NewUserInput {
                email: "agent@bench.example".into(),
                name: "Bench Agent".into(),
                role: Role::Agent,
                password: "bench-password".into(),
                teams: vec![team.name.clone()],
                ticket_access: TicketAccessLevel::All,
                account_access: false,
                service_access: true,
                sales_access: false,
                seat: Seat::Service,
            },
        )
        .await?;
    let agent = app.actor_for(user.id).await?;
    let seed = TicketSeed {
        teams: &[team.id],
        agents: &[user.id],
        unassigned_every: 5,
        closed_every: 0,
    };
    let started = Instant::now();
    app.seed_tickets(&system, &seed, 0, args.tickets).await?;
    let seeded = app.count_all_open_tickets().await?;
    println!(
        "backend: {backend}  seeded {seeded} open tickets with a conversation each in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let selection = BulkSelection::Matching(TicketListQuery {
        view: TicketView::AllOpen,
        ..TicketListQuery::default()
    });
    let resolve = Instant::now();
    let ids = app.bulk_selection_ids(&agent, &selection).await?;
    let resolve_ms = resolve.elapsed().as_secs_f64() * 1000.0;
    let closed_stage = "4".to_string();
    let action = BulkAction::Update(
        [("hs_pipeline_stage".to_string(), closed_stage)]
            .into_iter()
            .collect(),
    );
    let started = Instant::now();
    let outcome = app.bulk_tickets(&agent, &selection, &action).await?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{:>10} {:>10} {:>10} {:>12} {:>12} {:>14}",
        "selected", "changed", "refused", "resolve ms", "total s", "tickets/s"
    );
    println!(
        "{:>10} {:>10} {:>10} {:>12.1} {:>12.2} {:>14.0}",
        ids.len(),
        outcome.changed.len(),
        outcome.refused.len(),
        resolve_ms,
        secs,
        outcome.changed.len() as f64 / secs.max(1e-9)
    );
    let left = app.count_all_open_tickets().await?;
    if !outcome.refused.is_empty() || outcome.changed.len() as i64 != seeded || left != 0 {
        bail!(
            "expected all {seeded} tickets closed: {} changed, {} refused (first: {:?}), {left} still open",
            outcome.changed.len(),
            outcome.refused.len(),
            outcome.refused.first()
        );
    }
    println!("all {seeded} tickets closed, each with its conversation (INB-10)");
    bench.finish().await;
    Ok(())
}
