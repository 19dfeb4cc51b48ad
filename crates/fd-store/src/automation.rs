//! Automation rules' rows (migration 0023): the ordered rules (trigger, conditions and
//! actions as the JSON of fd-domain's `automation` types), what each did last, the run log,
//! and the occurrences time triggers have fired for.
//!
//! Plain reads and writes: what a rule means and when it fires are fd-domain's
//! (`automation`); fd-app validates before it stores. Never reads the clock.

use fd_domain::automation::TimedEvent;
use fd_domain::*;

use crate::{StoreError, Tx, args};

/// A stored rule; the three JSON columns hold fd-domain's `Trigger`, `Vec<Condition>` and
/// `Vec<Action>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutomationRuleRow {
    pub id: i64,
    pub name: String,
    pub enabled: bool,
    pub position: i64,
    pub trigger_json: String,
    pub conditions_json: String,
    pub actions_json: String,
    pub builtin: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub last_run_at: Option<Millis>,
    pub last_ticket_id: Option<TicketId>,
    pub last_outcome: Option<String>,
}

/// One line of a rule's run log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutomationRun {
    pub rule_id: i64,
    pub ticket_id: TicketId,
    pub at: Millis,
    pub refused: bool,
    pub outcome: String,
}

const RULE_COLS: &str = "id, name, enabled, position, trigger_json, conditions_json, actions_json, \
     builtin, created_at, updated_at, last_run_at, last_ticket_id, last_outcome";

fn rule_from_row(r: &crate::Row) -> Result<AutomationRuleRow, StoreError> {
    Ok(AutomationRuleRow {
        id: r.i64("id")?,
        name: r.string("name")?,
        enabled: r.bool("enabled")?,
        position: r.i64("position")?,
        trigger_json: r.string("trigger_json")?,
        conditions_json: r.string("conditions_json")?,
        actions_json: r.string("actions_json")?,
        builtin: r.opt_string("builtin")?,
        created_at: r.i64("created_at")?,
        updated_at: r.i64("updated_at")?,
        last_run_at: r.opt_i64("last_run_at")?,
        last_ticket_id: r.opt_i64("last_ticket_id")?.map(TicketId),
        last_outcome: r.opt_string("last_outcome")?,
    })
}

/// A rule to insert or replace.
#[derive(Debug, Clone)]
pub struct AutomationRuleInput<'a> {
    pub name: &'a str,
    pub enabled: bool,
    pub trigger_json: &'a str,
    pub conditions_json: &'a str,
    pub actions_json: &'a str,
}

impl Tx {
    /// Every rule, in order.
    pub async fn automation_rules(&mut self) -> Result<Vec<AutomationRuleRow>, StoreError> {
        let rows = self
            .all(
                &format!("SELECT {RULE_COLS} FROM automation_rules ORDER BY position, id"),
                args![],
            )
            .await?;
        rows.iter().map(rule_from_row).collect()
    }

    pub async fn automation_rule(
        &mut self,
        id: i64,
    ) -> Result<Option<AutomationRuleRow>, StoreError> {
        self.opt(
            &format!("SELECT {RULE_COLS} FROM automation_rules WHERE id = $1"),
            args![id],
        )
        .await?
        .as_ref()
        .map(rule_from_row)
        .transpose()
    }

    /// Adds a rule after the others.
    pub async fn insert_automation_rule(
        &mut self,
        r: &AutomationRuleInput<'_>,
        now: Millis,
    ) -> Result<i64, StoreError> {
        self.one(
            "INSERT INTO automation_rules (name, enabled, position, trigger_json, conditions_json, actions_json, created_at, updated_at) \
             VALUES ($1, $2, (SELECT COALESCE(MAX(position), 0) + 1 FROM automation_rules), $3, $4, $5, $6, $6) RETURNING id",
            args![r.name, r.enabled, r.trigger_json, r.conditions_json, r.actions_json, now],
        )
        .await?
        .i64("id")
    }

    /// Replaces a rule's definition; false when there is no such rule.
    pub async fn update_automation_rule(
        &mut self,
        id: i64,
        r: &AutomationRuleInput<'_>,
        now: Millis,
    ) -> Result<bool, StoreError> {
        Ok(self
            .exec(
                "UPDATE automation_rules SET name = $2, enabled = $3, trigger_json = $4, conditions_json = $5, \
                 actions_json = $6, updated_at = $7 WHERE id = $1",
                args![id, r.name, r.enabled, r.trigger_json, r.conditions_json, r.actions_json, now],
            )
            .await?
            > 0)
    }

    pub async fn set_automation_rule_enabled(
        &mut self,
        id: i64,
        enabled: bool,
        now: Millis,
    ) -> Result<bool, StoreError> {
        Ok(self
            .exec(
                "UPDATE automation_rules SET enabled = $2, updated_at = $3 WHERE id = $1",
                args![id, enabled, now],
            )
            .await?
            > 0)
    }

    pub async fn delete_automation_rule(&mut self, id: i64) -> Result<bool, StoreError> {
        Ok(self
            .exec("DELETE FROM automation_rules WHERE id = $1", args![id])
            .await?
            > 0)
    }

    /// Logs a rule's run on a ticket and keeps it as the rule's last run.
    pub async fn record_automation_run(
        &mut self,
        rule: i64,
        ticket: TicketId,
        refused: bool,
        outcome: &str,
        now: Millis,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO automation_runs (rule_id, ticket_id, at, refused, outcome) VALUES ($1, $2, $3, $4, $5)",
            args![rule, ticket, now, refused, outcome],
        )
        .await?;
        self.exec(
            "UPDATE automation_rules SET last_run_at = $2, last_ticket_id = $3, last_outcome = $4 WHERE id = $1",
            args![rule, now, ticket, outcome],
        )
        .await?;
        Ok(())
    }

    /// A rule's newest runs, newest first.
    pub async fn automation_runs(
        &mut self,
        rule: i64,
        limit: i64,
    ) -> Result<Vec<AutomationRun>, StoreError> {
        let rows = self
            .all(
                "SELECT rule_id, ticket_id, at, refused, outcome FROM automation_runs \
                 WHERE rule_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
                args![rule, limit],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(AutomationRun {
                    rule_id: r.i64("rule_id")?,
                    ticket_id: TicketId(r.i64("ticket_id")?),
                    at: r.i64("at")?,
                    refused: r.bool("refused")?,
                    outcome: r.string("outcome")?,
                })
            })
            .collect()
    }

    /// Live open tickets whose `event` occurred at or before `cutoff` and that this rule has
    /// not fired for at that occurrence: `(ticket, occurred_at)`, at most `limit`.
    pub async fn automation_time_candidates(
        &mut self,
        rule: i64,
        event: TimedEvent,
        cutoff: Millis,
        limit: i64,
    ) -> Result<Vec<(TicketId, Millis)>, StoreError> {
        let occurred = match event {
            TimedEvent::Created => {
                "SELECT t.id AS ticket_id, t.created_at AS occurred FROM tickets t \
                 WHERE t.is_open AND t.trashed_at IS NULL"
            }
            TimedEvent::NoCustomerReply => {
                "SELECT x.ticket_id, x.last_out AS occurred FROM (\
                   SELECT c.ticket_id, \
                     MAX(CASE WHEN m.direction = 'OUTGOING' THEN m.created_at END) AS last_out, \
                     MAX(CASE WHEN m.direction = 'INCOMING' THEN m.created_at END) AS last_in \
                   FROM messages m JOIN conversations c ON c.id = m.conversation_id \
                   JOIN tickets t ON t.id = c.ticket_id \
                   WHERE t.is_open AND t.trashed_at IS NULL GROUP BY c.ticket_id) x \
                 WHERE x.last_out IS NOT NULL AND (x.last_in IS NULL OR x.last_in < x.last_out)"
            }
            TimedEvent::NoAgentReply => {
                "SELECT x.ticket_id, x.last_in AS occurred FROM (\
                   SELECT c.ticket_id, \
                     MAX(CASE WHEN m.direction = 'OUTGOING' THEN m.created_at END) AS last_out, \
                     MAX(CASE WHEN m.direction = 'INCOMING' THEN m.created_at END) AS last_in \
                   FROM messages m JOIN conversations c ON c.id = m.conversation_id \
                   JOIN tickets t ON t.id = c.ticket_id \
                   WHERE t.is_open AND t.trashed_at IS NULL GROUP BY c.ticket_id) x \
                 WHERE x.last_in IS NOT NULL AND (x.last_out IS NULL OR x.last_out < x.last_in)"
            }
        };
        let rows = self
            .all(
                &format!(
                    "SELECT o.ticket_id, o.occurred FROM ({occurred}) o \
                     WHERE o.occurred <= $2 AND NOT EXISTS (SELECT 1 FROM automation_timed_fired f \
                       WHERE f.rule_id = $1 AND f.ticket_id = o.ticket_id AND f.occurred_at = o.occurred) \
                     ORDER BY o.ticket_id LIMIT $3"
                ),
                args![rule, cutoff, limit],
            )
            .await?;
        rows.iter()
            .map(|r| Ok((TicketId(r.i64("ticket_id")?), r.i64("occurred")?)))
            .collect()
    }

    /// Claims one occurrence of a time trigger on a ticket; false when it was claimed before
    /// (another node's sweep), so it fires once.
    pub async fn claim_automation_occurrence(
        &mut self,
        rule: i64,
        ticket: TicketId,
        occurred_at: Millis,
        now: Millis,
    ) -> Result<bool, StoreError> {
        Ok(self
            .exec(
                "INSERT INTO automation_timed_fired (rule_id, ticket_id, occurred_at, fired_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                args![rule, ticket, occurred_at, now],
            )
            .await?
            > 0)
    }
}
