//! Bulk seeding and counters for the `bench*` commands: they reach the database only through
//! these methods, like every other road, so no command outside `fd-store` runs SQL or holds a
//! transaction of its own.
//!
//! Seeding bypasses the per-ticket use cases on purpose (a million tickets must load in
//! minutes); the rows are shaped exactly like the ones the use cases write. Only the system
//! actor may seed. Must not depend on HTTP or mail syntax.

use fd_domain::{TeamId, UserId, ViewerScope};
use fd_store::{SeedSpec, TicketListQuery};

use crate::{Actor, App, AppError};

/// What the seeded tickets look like.
pub struct TicketSeed<'a> {
    pub teams: &'a [TeamId],
    pub agents: &'a [UserId],
    /// Every `unassigned_every`-th ticket has no owner.
    pub unassigned_every: u64,
    /// Every `closed_every`-th ticket is closed.
    pub closed_every: u64,
}

/// Tickets per transaction: large enough to load fast, small enough that the writer lock is
/// released often (other writers interleave).
const SEED_BATCH: u64 = 5_000;

impl App {
    /// Inserts tickets numbered `from..to`, each with one email conversation and one inbound
    /// message, in transactions of [`SEED_BATCH`] tickets.
    pub async fn seed_tickets(
        &self,
        actor: &Actor,
        seed: &TicketSeed<'_>,
        from: u64,
        to: u64,
    ) -> Result<(), AppError> {
        if actor.viewer != fd_domain::Viewer::System {
            return Err(AppError::Forbidden("only the system seeds data".into()));
        }
        if seed.agents.is_empty() || seed.teams.is_empty() {
            return Err(AppError::invalid(
                "agents",
                "seeding needs at least one agent and one team",
            ));
        }
        let spec = SeedSpec {
            teams: seed.teams,
            agents: seed.agents,
            unassigned_every: seed.unassigned_every,
            closed_every: seed.closed_every,
            now: self.now(),
        };
        let mut start = from;
        while start < to {
            let end = (start + SEED_BATCH).min(to);
            let mut tx = self.db.write().await?;
            tx.seed_tickets(&spec, start, end).await?;
            tx.commit().await?;
            start = end;
        }
        Ok(())
    }

    /// Open tickets in the whole desk (the benchmarks' progress counter).
    pub async fn count_all_open_tickets(&self) -> Result<i64, AppError> {
        let mut tx = self.db.read().await?;
        let n = tx
            .count_tickets(&ViewerScope::All, &TicketListQuery::default())
            .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Raw messages whose ingestion ended with `outcome` ("threaded", "created", …).
    pub async fn count_ingested_mail(&self, outcome: &str) -> Result<i64, AppError> {
        let mut tx = self.db.read().await?;
        let n = tx.count_raw_mail_outcome(outcome).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Checks the database answers (the health endpoint).
    pub async fn ping_database(&self) -> Result<(), AppError> {
        Ok(self.db.ping().await?)
    }

    /// Closes the database pool (shutdown, end of a benchmark).
    pub async fn close(&self) {
        self.db.close().await;
    }
}
