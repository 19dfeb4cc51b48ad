//! The reports page's aggregates (issue 16, item 5): tickets per quarter-hour slot created
//! and closed, first-response and resolution durations with what they are grouped by, SLA
//! clock outcomes, and open tickets per stage. Every query is scoped by the viewer's ticket
//! access through `push_ticket_scope` (HD-09) and served by migration 0026's indexes.
//!
//! SQL only: days in a time zone, medians and attainment are fd-domain's `reports`.

use fd_domain::{Millis, PipelineId, TeamId, ViewerScope};

use crate::scope::push_ticket_scope;
use crate::{Sql, StoreError, Tx};

/// What every report is restricted to: the viewer's access, the instants `[from, to)`, and
/// optionally one team and one pipeline.
#[derive(Debug, Clone)]
pub struct ReportFilter {
    pub scope: ViewerScope,
    pub from: Millis,
    pub to: Millis,
    pub team: Option<TeamId>,
    pub pipeline: Option<PipelineId>,
}

/// One ticket's duration and the three things the reports group it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationRow {
    pub team_id: Option<i64>,
    pub owner_id: Option<i64>,
    pub channel: Option<String>,
    pub ms: i64,
}

/// The slot width in milliseconds (fd-domain's `reports::SLOT_MS`).
const SLOT: i64 = fd_domain::reports::SLOT_MS;

/// The team and pipeline filters and the viewer's scope (HD-09), on tickets aliased `t`.
pub(crate) fn push_report_filters(sql: &mut Sql, f: &ReportFilter) {
    if let Some(team) = f.team {
        sql.push(" AND t.team_id = ").bind(team);
    }
    if let Some(p) = f.pipeline {
        sql.push(" AND t.pipeline_id = ").bind(p);
    }
    push_ticket_scope(sql, &f.scope, "t");
}

impl Tx {
    /// Tickets whose `column` (`created_at` or `closed_at`) falls in the range, counted per
    /// slot of `SLOT` milliseconds: `(slot number, count)`.
    async fn report_slots(
        &mut self,
        f: &ReportFilter,
        column: &'static str,
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        let mut sql = Sql::new(&format!(
            "SELECT t.{column} / {SLOT} AS slot, COUNT(*) AS n FROM tickets t \
             WHERE t.trashed_at IS NULL AND t.{column} >= "
        ));
        sql.bind(f.from)
            .push(&format!(" AND t.{column} < "))
            .bind(f.to);
        push_report_filters(&mut sql, f);
        sql.push(" GROUP BY slot");
        self.all_sql(sql)
            .await?
            .iter()
            .map(|r| Ok((r.i64("slot")?, r.i64("n")?)))
            .collect()
    }

    /// Tickets created in the range, per slot.
    pub async fn report_created_slots(
        &mut self,
        f: &ReportFilter,
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        self.report_slots(f, "created_at").await
    }

    /// Tickets closed in the range (and still closed), per slot.
    pub async fn report_closed_slots(
        &mut self,
        f: &ReportFilter,
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        self.report_slots(f, "closed_at").await
    }

    /// Time from creation to the first agent reply, for tickets created in the range that
    /// have one. The SLA recomputation keeps the reply's time on the ticket as well as in
    /// `ticket_sla` (migration 0029), so this reads the created-at covering index alone.
    pub async fn report_first_response_times(
        &mut self,
        f: &ReportFilter,
    ) -> Result<Vec<DurationRow>, StoreError> {
        let mut sql = Sql::new(
            "SELECT t.team_id, t.owner_id, t.source_type, t.first_agent_reply_at - t.created_at AS ms \
             FROM tickets t \
             WHERE t.trashed_at IS NULL AND t.first_agent_reply_at IS NOT NULL AND t.created_at >= ",
        );
        sql.bind(f.from).push(" AND t.created_at < ").bind(f.to);
        push_report_filters(&mut sql, f);
        self.duration_rows(sql).await
    }

    /// Time from creation to close, for tickets closed in the range.
    pub async fn report_resolution_times(
        &mut self,
        f: &ReportFilter,
    ) -> Result<Vec<DurationRow>, StoreError> {
        let mut sql = Sql::new(
            "SELECT t.team_id, t.owner_id, t.source_type, t.closed_at - t.created_at AS ms \
             FROM tickets t WHERE t.trashed_at IS NULL AND t.closed_at >= ",
        );
        sql.bind(f.from).push(" AND t.closed_at < ").bind(f.to);
        push_report_filters(&mut sql, f);
        self.duration_rows(sql).await
    }

    async fn duration_rows(&mut self, sql: Sql) -> Result<Vec<DurationRow>, StoreError> {
        self.all_sql(sql)
            .await?
            .iter()
            .map(|r| {
                Ok(DurationRow {
                    team_id: r.opt_i64("team_id")?,
                    owner_id: r.opt_i64("owner_id")?,
                    channel: r.opt_string("source_type")?,
                    ms: r.i64("ms")?,
                })
            })
            .collect()
    }

    /// SLA clock outcomes of tickets created in the range: `(clock, status, count)` with the
    /// statuses `ticket_sla` stores, read from their copy on the ticket (migration 0029).
    pub async fn report_sla_statuses(
        &mut self,
        f: &ReportFilter,
    ) -> Result<Vec<(String, String, i64)>, StoreError> {
        let mut sql = Sql::new(
            "SELECT t.sla_first_response AS fr, t.sla_next_response AS nr, \
             t.sla_time_to_close AS tc, COUNT(*) AS n \
             FROM tickets t \
             WHERE t.trashed_at IS NULL AND t.created_at >= ",
        );
        sql.bind(f.from).push(" AND t.created_at < ").bind(f.to);
        push_report_filters(&mut sql, f);
        sql.push(" GROUP BY t.sla_first_response, t.sla_next_response, t.sla_time_to_close");
        let mut out = Vec::new();
        for r in self.all_sql(sql).await? {
            let n = r.i64("n")?;
            for (clock, col) in [
                ("first_response", "fr"),
                ("next_response", "nr"),
                ("time_to_close", "tc"),
            ] {
                if let Some(status) = r.opt_string(col)? {
                    out.push((clock.to_string(), status, n));
                }
            }
        }
        Ok(out)
    }

    /// Open tickets now, per stage id (the range does not apply: a backlog is a state).
    ///
    /// Summed from `ticket_tallies` (migration 0011), which the ticket triggers keep exact in
    /// the writer's transaction: counting the open tickets themselves grew with the backlog
    /// (about 100 ms at 100k tickets in a debug build), the tallies are a few thousand rows
    /// whatever the size. Team, pipeline and the viewer's scope read the same columns there
    /// (absent owners and teams are 0, which no scope or filter names).
    pub async fn report_backlog(
        &mut self,
        f: &ReportFilter,
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        // The sum is NUMERIC on PostgreSQL: cast back to the count's type.
        let mut sql = Sql::new(
            "SELECT t.stage_id, CAST(SUM(t.n) AS BIGINT) AS n FROM ticket_tallies t \
             WHERE t.is_open = TRUE AND t.trashed = FALSE",
        );
        push_report_filters(&mut sql, f);
        sql.push(" GROUP BY t.stage_id HAVING SUM(t.n) > 0");
        self.all_sql(sql)
            .await?
            .iter()
            .map(|r| Ok((r.i64("stage_id")?, r.i64("n")?)))
            .collect()
    }

    /// Benchmarks only: spreads the seeded tickets (see `seed.rs`) over the `days` before
    /// `now` — ticket `id` on day `id % days`, at an hour and minute its id picks — closes
    /// closed ones hours later, and gives every ticket a first agent reply and SLA clock
    /// outcomes as the recomputation would store them, so the reports read a desk's history
    /// rather than a million tickets of the same minute.
    pub async fn seed_report_history(&mut self, now: Millis, days: i64) -> Result<(), StoreError> {
        const DAY: i64 = 86_400_000;
        let days = days.max(1);
        self.exec(
            &format!(
                "UPDATE tickets SET created_at = $1 - (id % {days}) * {DAY} - ((id * 7919) % {DAY}), \
                 last_activity_at = $1 - (id % {days}) * {DAY}"
            ),
            crate::args![now],
        )
        .await?;
        self.exec(
            "UPDATE tickets SET closed_at = created_at + (id % 97) * 3600000 WHERE closed_at IS NOT NULL",
            crate::args![],
        )
        .await?;
        self.exec(
            "INSERT INTO ticket_sla (ticket_id, first_agent_reply_at, first_response_status, \
             time_to_close_status, computed_at) \
             SELECT id, created_at + (id % 240) * 60000, \
             CASE WHEN id % 240 < 60 THEN 'met' WHEN id % 5 = 0 THEN 'running' ELSE 'met_late' END, \
             CASE WHEN closed_at IS NULL THEN 'running' WHEN id % 97 < 48 THEN 'met' ELSE 'breached' END, $1 \
             FROM tickets WHERE NOT EXISTS (SELECT 1 FROM ticket_sla s WHERE s.ticket_id = tickets.id)",
            crate::args![now],
        )
        .await?;
        self.exec(
            "UPDATE tickets SET first_agent_reply_at = s.first_agent_reply_at, \
             sla_first_response = s.first_response_status, sla_next_response = s.next_response_status, \
             sla_time_to_close = s.time_to_close_status \
             FROM ticket_sla s WHERE s.ticket_id = tickets.id",
            crate::args![],
        )
        .await?;
        Ok(())
    }
}
