//! SLA policies, the facts a ticket's clocks are computed from (its stage history, customer
//! messages and agent replies) and each ticket's derived SLA state (migration 0021).
//!
//! SQL only: which policy applies and what the clocks say are fd-domain's `sla` rules.

use std::collections::BTreeSet;

use fd_domain::local_time::UserTimeZone;
use fd_domain::sla::{Calendar, SlaPolicy, SlaTimeline, WeeklyHours, parse_holiday};
use fd_domain::*;

use crate::error::decode;
use crate::{Sql, StoreError, Tx, args};

const POLICY_COLUMNS: &str = "id, name, pipeline_id, priorities, team_id, first_response_ms, \
     next_response_ms, time_to_close_ms, hours, time_zone, holidays, pause_stage_ids";

fn json_list<T: serde::de::DeserializeOwned>(raw: &str) -> Result<Vec<T>, StoreError> {
    decode(serde_json::from_str(raw))
}

fn policy_from_row(r: &crate::Row) -> Result<SlaPolicy, StoreError> {
    let holidays: Vec<String> = json_list(&r.string("holidays")?)?;
    let pause: Vec<i64> = json_list(&r.string("pause_stage_ids")?)?;
    Ok(SlaPolicy {
        id: r.i64("id")?,
        name: r.string("name")?,
        pipeline_id: r.opt_i64("pipeline_id")?.map(PipelineId),
        priorities: json_list(&r.string("priorities")?)?,
        team_id: r.opt_i64("team_id")?.map(TeamId),
        first_response_ms: r.i64("first_response_ms")?,
        next_response_ms: r.opt_i64("next_response_ms")?,
        time_to_close_ms: r.opt_i64("time_to_close_ms")?,
        calendar: Calendar {
            // Stored values were validated when written; a zone the bundled database later
            // dropped reads as UTC rather than failing every ticket.
            zone: UserTimeZone::or_utc(&r.string("time_zone")?),
            hours: WeeklyHours::parse(&r.string("hours")?).ok().flatten(),
            holidays: holidays
                .iter()
                .filter_map(|h| parse_holiday(h).ok())
                .collect::<BTreeSet<_>>(),
        },
        pause_stage_ids: pause.into_iter().map(StageId).collect(),
    })
}

fn policy_args(p: &SlaPolicy) -> Result<Vec<crate::Arg>, StoreError> {
    let holidays: Vec<String> = p.calendar.holidays.iter().map(|d| d.to_string()).collect();
    let pause: Vec<i64> = p.pause_stage_ids.iter().map(|s| s.0).collect();
    let json = |v: serde_json::Result<String>| v.map_err(|e| StoreError::Internal(e.to_string()));
    Ok(args![
        p.name.clone(),
        p.pipeline_id,
        json(serde_json::to_string(&p.priorities))?,
        p.team_id,
        p.first_response_ms,
        p.next_response_ms,
        p.time_to_close_ms,
        p.calendar
            .hours
            .as_ref()
            .map(WeeklyHours::spec)
            .unwrap_or_default(),
        p.calendar.zone.name().to_string(),
        json(serde_json::to_string(&holidays))?,
        json(serde_json::to_string(&pause))?
    ])
}

/// A ticket's stored SLA state (one row of `ticket_sla`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketSlaRow {
    pub ticket_id: i64,
    pub policy_id: Option<i64>,
    pub first_agent_reply_at: Option<Millis>,
    pub first_response_status: Option<String>,
    pub first_response_due: Option<Millis>,
    pub next_response_status: Option<String>,
    pub next_response_due: Option<Millis>,
    pub time_to_close_status: Option<String>,
    pub time_to_close_due: Option<Millis>,
    pub relevant_status: Option<String>,
    pub relevant_due: Option<Millis>,
    pub paused_since: Option<Millis>,
    pub next_check_at: Option<Millis>,
    /// `clock:status` pairs already notified, space-separated.
    pub notified: String,
    pub computed_at: Millis,
}

impl Tx {
    /// Every SLA policy, oldest first.
    pub async fn sla_policies(&mut self) -> Result<Vec<SlaPolicy>, StoreError> {
        let rows = self
            .all(
                &format!("SELECT {POLICY_COLUMNS} FROM sla_policies ORDER BY id"),
                args![],
            )
            .await?;
        rows.iter().map(policy_from_row).collect()
    }

    pub async fn sla_policy(&mut self, id: i64) -> Result<Option<SlaPolicy>, StoreError> {
        let r = self
            .opt(
                &format!("SELECT {POLICY_COLUMNS} FROM sla_policies WHERE id = $1"),
                args![id],
            )
            .await?;
        r.as_ref().map(policy_from_row).transpose()
    }

    /// Inserts a policy (its `id` is ignored); a duplicate name is a conflict.
    pub async fn insert_sla_policy(
        &mut self,
        p: &SlaPolicy,
        now: Millis,
    ) -> Result<i64, StoreError> {
        let mut a = policy_args(p)?;
        a.push(now.into());
        let r = self
            .one(
                "INSERT INTO sla_policies (name, pipeline_id, priorities, team_id, first_response_ms, \
                 next_response_ms, time_to_close_ms, hours, time_zone, holidays, pause_stage_ids, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
                a,
            )
            .await?;
        r.i64("id")
    }

    /// Rewrites a policy; false when it does not exist.
    pub async fn update_sla_policy(
        &mut self,
        p: &SlaPolicy,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let mut a = policy_args(p)?;
        a.push(now.into());
        a.push(p.id.into());
        let n = self
            .exec(
                "UPDATE sla_policies SET name = $1, pipeline_id = $2, priorities = $3, team_id = $4, \
                 first_response_ms = $5, next_response_ms = $6, time_to_close_ms = $7, hours = $8, \
                 time_zone = $9, holidays = $10, pause_stage_ids = $11, updated_at = $12 WHERE id = $13",
                a,
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn delete_sla_policy(&mut self, id: i64) -> Result<bool, StoreError> {
        let n = self
            .exec("DELETE FROM sla_policies WHERE id = $1", args![id])
            .await?;
        Ok(n == 1)
    }

    /// What a ticket's clocks are computed from: its creation, its stage history (from the
    /// activity history's stage changes, with each stage's CLOSED state), its customer
    /// messages and its agents' replies on every channel. `None` when it does not exist.
    pub async fn sla_timeline(
        &mut self,
        ticket: TicketId,
    ) -> Result<Option<SlaTimeline>, StoreError> {
        let Some(t) = self
            .opt(
                "SELECT created_at, stage_id FROM tickets WHERE id = $1",
                args![ticket],
            )
            .await?
        else {
            return Ok(None);
        };
        let created_at = t.i64("created_at")?;
        let current = t.i64("stage_id")?;
        self.flush_activity().await?;
        let moves = self
            .all(
                "SELECT at, old_value, new_value FROM activity WHERE object_type = 'ticket' \
                 AND object_id = $1 AND field = 'hs_pipeline_stage' ORDER BY at, id",
                args![ticket],
            )
            .await?;
        let id_of = |v: Option<String>| v.and_then(|s| s.trim().parse::<i64>().ok());
        let mut history: Vec<(Millis, i64)> = Vec::new();
        for (i, m) in moves.iter().enumerate() {
            if i == 0
                && let Some(first) = id_of(m.opt_string("old_value")?)
            {
                history.push((created_at, first));
            }
            if let Some(s) = id_of(m.opt_string("new_value")?) {
                history.push((m.i64("at")?, s));
            }
        }
        if history.is_empty() {
            history.push((created_at, current));
        }
        let ids: BTreeSet<i64> = history.iter().map(|h| h.1).collect();
        let mut sql = Sql::new("SELECT id, state FROM pipeline_stages WHERE id IN (");
        sql.bind_list(ids.iter().copied()).push(")");
        let mut closed = BTreeSet::new();
        for r in self.all_sql(sql).await? {
            if r.string("state")? == "CLOSED" {
                closed.insert(r.i64("id")?);
            }
        }
        let messages = self
            .all(
                "SELECT m.direction, m.sender_user_id, m.status, m.created_at FROM messages m \
                 JOIN conversations c ON c.id = m.conversation_id WHERE c.ticket_id = $1",
                args![ticket],
            )
            .await?;
        let mut customer_messages = Vec::new();
        let mut agent_replies = Vec::new();
        for m in &messages {
            let at = m.i64("created_at")?;
            match m.string("direction")?.as_str() {
                "INCOMING" => customer_messages.push(at),
                // An agent's reply: sent by a user (not a bot or the system), not failed.
                "OUTGOING"
                    if m.opt_i64("sender_user_id")?.is_some()
                        && m.string("status")? != "FAILED" =>
                {
                    agent_replies.push(at)
                }
                _ => {}
            }
        }
        Ok(Some(SlaTimeline {
            created_at,
            stages: history
                .into_iter()
                .map(|(at, s)| (at, StageId(s), closed.contains(&s)))
                .collect(),
            customer_messages,
            agent_replies,
        }))
    }

    pub async fn ticket_sla(
        &mut self,
        ticket: TicketId,
    ) -> Result<Option<TicketSlaRow>, StoreError> {
        let r = self
            .opt(
                "SELECT ticket_id, policy_id, first_agent_reply_at, first_response_status, first_response_due, \
                 next_response_status, next_response_due, time_to_close_status, time_to_close_due, \
                 relevant_status, relevant_due, paused_since, next_check_at, notified, computed_at \
                 FROM ticket_sla WHERE ticket_id = $1",
                args![ticket],
            )
            .await?;
        let Some(r) = r else { return Ok(None) };
        Ok(Some(TicketSlaRow {
            ticket_id: r.i64("ticket_id")?,
            policy_id: r.opt_i64("policy_id")?,
            first_agent_reply_at: r.opt_i64("first_agent_reply_at")?,
            first_response_status: r.opt_string("first_response_status")?,
            first_response_due: r.opt_i64("first_response_due")?,
            next_response_status: r.opt_string("next_response_status")?,
            next_response_due: r.opt_i64("next_response_due")?,
            time_to_close_status: r.opt_string("time_to_close_status")?,
            time_to_close_due: r.opt_i64("time_to_close_due")?,
            relevant_status: r.opt_string("relevant_status")?,
            relevant_due: r.opt_i64("relevant_due")?,
            paused_since: r.opt_i64("paused_since")?,
            next_check_at: r.opt_i64("next_check_at")?,
            notified: r.string("notified")?,
            computed_at: r.i64("computed_at")?,
        }))
    }

    /// Writes a ticket's SLA state (its `notified` list as given).
    pub async fn save_ticket_sla(&mut self, s: &TicketSlaRow) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO ticket_sla (ticket_id, policy_id, first_agent_reply_at, first_response_status, \
             first_response_due, next_response_status, next_response_due, time_to_close_status, \
             time_to_close_due, relevant_status, relevant_due, paused_since, next_check_at, notified, computed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
             ON CONFLICT (ticket_id) DO UPDATE SET policy_id = $2, first_agent_reply_at = $3, \
             first_response_status = $4, first_response_due = $5, next_response_status = $6, \
             next_response_due = $7, time_to_close_status = $8, time_to_close_due = $9, \
             relevant_status = $10, relevant_due = $11, paused_since = $12, next_check_at = $13, \
             notified = $14, computed_at = $15",
            args![
                s.ticket_id,
                s.policy_id,
                s.first_agent_reply_at,
                s.first_response_status.clone(),
                s.first_response_due,
                s.next_response_status.clone(),
                s.next_response_due,
                s.time_to_close_status.clone(),
                s.time_to_close_due,
                s.relevant_status.clone(),
                s.relevant_due,
                s.paused_since,
                s.next_check_at,
                s.notified.clone(),
                s.computed_at
            ],
        )
        .await?;
        // The reports read the first reply and the clocks' statuses from the ticket's own
        // covering index (0029): written only when one changes, a few times in its life.
        self.exec(
            "UPDATE tickets SET first_agent_reply_at = $1, sla_first_response = $3, \
             sla_next_response = $4, sla_time_to_close = $5 \
             WHERE id = $2 AND (first_agent_reply_at IS DISTINCT FROM $1 \
             OR sla_first_response IS DISTINCT FROM $3 OR sla_next_response IS DISTINCT FROM $4 \
             OR sla_time_to_close IS DISTINCT FROM $5)",
            args![
                s.first_agent_reply_at,
                s.ticket_id,
                s.first_response_status.clone(),
                s.next_response_status.clone(),
                s.time_to_close_status.clone()
            ],
        )
        .await?;
        Ok(())
    }

    /// Tickets whose clocks change status by themselves at or before `now` (the sweep).
    pub async fn tickets_sla_due_for_check(
        &mut self,
        now: Millis,
        limit: i64,
    ) -> Result<Vec<TicketId>, StoreError> {
        let rows = self
            .all(
                "SELECT ticket_id FROM ticket_sla WHERE next_check_at IS NOT NULL AND next_check_at <= $1 \
                 ORDER BY next_check_at LIMIT $2",
                args![now, limit],
            )
            .await?;
        rows.iter()
            .map(|r| Ok(TicketId(r.i64("ticket_id")?)))
            .collect()
    }

    /// Live open tickets after `after`, by id, a page at a time (recomputation after a policy
    /// change).
    pub async fn open_ticket_ids_after(
        &mut self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<TicketId>, StoreError> {
        let rows = self
            .all(
                "SELECT id FROM tickets WHERE is_open = TRUE AND trashed_at IS NULL AND id > $1 \
                 ORDER BY id LIMIT $2",
                args![after, limit],
            )
            .await?;
        rows.iter().map(|r| Ok(TicketId(r.i64("id")?))).collect()
    }

    /// Tickets shown under an SLA state (a list's filter): `breached`, `due_soon` or `at_risk`
    /// (due soon or breached).
    pub async fn ticket_ids_with_sla_status(
        &mut self,
        statuses: &[&str],
    ) -> Result<Vec<TicketId>, StoreError> {
        let mut sql = Sql::new("SELECT ticket_id FROM ticket_sla WHERE relevant_status IN (");
        sql.bind_list(statuses.iter().map(|s| s.to_string()))
            .push(") ORDER BY relevant_due");
        let rows = self.all_sql(sql).await?;
        rows.iter()
            .map(|r| Ok(TicketId(r.i64("ticket_id")?)))
            .collect()
    }
}

/// The list order of [`crate::TicketSort::SlaDueAsc`]: the shown clock's due time, soonest
/// first, tickets without a counting clock last (portable: no `NULLS LAST`).
pub(crate) const SLA_DUE_ORDER: &str = " ORDER BY (SELECT s.relevant_due FROM ticket_sla s WHERE s.ticket_id = t.id \
     AND s.relevant_status IN ('running', 'due_soon', 'breached')) IS NULL, \
     (SELECT s.relevant_due FROM ticket_sla s WHERE s.ticket_id = t.id \
     AND s.relevant_status IN ('running', 'due_soon', 'breached')) ASC, t.id ASC";

/// The statuses a list's SLA filter stands for; an unknown name matches nothing.
pub fn sla_filter_statuses(name: &str) -> &'static [&'static str] {
    match name {
        "breached" => &["breached"],
        "due_soon" => &["due_soon"],
        "at_risk" => &["due_soon", "breached"],
        "running" => &["running"],
        "paused" => &["paused"],
        "met" => &["met"],
        "met_late" => &["met_late"],
        _ => &[],
    }
}

/// Narrows a ticket query (`t`) to tickets whose shown clock is in the named SLA state.
pub(crate) fn push_sla_filter(sql: &mut Sql, name: &str) {
    let statuses = sla_filter_statuses(name);
    if statuses.is_empty() {
        sql.push(" AND 1 = 0");
        return;
    }
    sql.push(" AND t.id IN (SELECT s.ticket_id FROM ticket_sla s WHERE s.relevant_status IN (");
    sql.bind_list(statuses.iter().map(|s| s.to_string()))
        .push("))");
}
