//! Bulk actions on tickets (issue 15 item 6): one action applied to a selection — ids the
//! agent ticked, or every ticket matching a list filter, resolved here with the viewer's
//! scope (HD-09). Each ticket goes through the same `App` use case as a single edit (update
//! with its INB-10/11, HD-19 and HD-22 rules, follow, merge, trash, restore), each in its own
//! transaction, so one refusal undoes nothing else and no selection holds one huge
//! transaction. The outcome lists what changed and why each other ticket was refused.
//!
//! Must not depend on fd-web; it calls the other modules' use cases through `App` only.

use std::collections::BTreeMap;

use fd_domain::*;
use fd_store::TicketListQuery;

use crate::tickets::TicketChanges;
use crate::{Actor, App, AppError};

/// Which tickets a bulk action applies to.
#[derive(Debug, Clone)]
pub enum BulkSelection {
    /// Tickets ticked on a page, in the order given (duplicates are dropped).
    Ids(Vec<TicketId>),
    /// Every ticket of this view and filters the actor may see, whatever page they were on
    /// ("select all N matching this filter"); `limit`/`offset` are ignored.
    Matching(TicketListQuery),
}

/// What to do to each selected ticket.
#[derive(Debug, Clone)]
pub enum BulkAction {
    /// Property changes as a single edit takes them: owner, status, priority, any property,
    /// or `hs_pipeline` (with or without `hs_pipeline_stage`) to move pipeline (HD-22).
    Update(BTreeMap<String, String>),
    /// Follow (`true`) or unfollow every ticket (HD-22).
    Follow(bool),
    /// Merge each selected ticket into this one, each as its own merge.
    MergeInto(TicketId),
    /// Move to the trash (INB-13).
    Trash,
    /// Bring back from the trash.
    Restore,
}

/// A ticket the action was refused for, and why, in words for the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkRefusal {
    pub id: TicketId,
    /// The ticket's name when the actor may see it (never for a ticket outside their access).
    pub subject: Option<String>,
    pub reason: String,
}

/// What a bulk action did.
#[derive(Debug, Clone, Default)]
pub struct BulkOutcome {
    /// Tickets the action was applied to, in processing order (ticket id order for a filter).
    pub changed: Vec<TicketId>,
    pub refused: Vec<BulkRefusal>,
}

impl App {
    /// The ids a selection stands for, scoped to what the actor may see for a filter.
    pub async fn bulk_selection_ids(
        &self,
        actor: &Actor,
        selection: &BulkSelection,
    ) -> Result<Vec<TicketId>, AppError> {
        actor.require_ticket_access()?;
        match selection {
            BulkSelection::Ids(ids) => {
                let mut seen = std::collections::BTreeSet::new();
                Ok(ids.iter().copied().filter(|id| seen.insert(*id)).collect())
            }
            BulkSelection::Matching(q) => {
                let mut tx = self.db().read().await?;
                let ids = tx.ticket_ids_matching(&actor.scope(), q).await?;
                tx.commit().await?;
                Ok(ids)
            }
        }
    }

    /// Applies `action` to every selected ticket, one use case call (and transaction) per
    /// ticket, in order; returns which changed and why the others were refused. Fails as a
    /// whole only for a problem with the request itself (no ticket access, an empty update).
    pub async fn bulk_tickets(
        &self,
        actor: &Actor,
        selection: &BulkSelection,
        action: &BulkAction,
    ) -> Result<BulkOutcome, AppError> {
        if let BulkAction::Update(props) = action
            && props.is_empty()
        {
            return Err(AppError::invalid(
                "properties",
                "choose at least one property to change",
            ));
        }
        if let BulkAction::Follow(_) = action {
            actor.require_user()?;
        }
        let ids = self.bulk_selection_ids(actor, selection).await?;
        let mut outcome = BulkOutcome::default();
        let mut failures = Vec::new();
        for id in ids {
            let done = match action {
                BulkAction::Update(props) => self
                    .update_ticket(
                        actor,
                        id,
                        TicketChanges {
                            properties: props.clone(),
                            expected_version: None,
                        },
                    )
                    .await
                    .map(|_| ()),
                BulkAction::Follow(on) => self.follow_ticket(actor, id, *on).await,
                // The primary is the survivor, not one of the tickets merged into it.
                BulkAction::MergeInto(primary) if *primary == id => continue,
                BulkAction::MergeInto(primary) => {
                    self.merge_tickets(actor, *primary, id).await.map(|_| ())
                }
                BulkAction::Trash => self.trash_ticket(actor, id).await,
                BulkAction::Restore => self.restore_ticket(actor, id).await.map(|_| ()),
            };
            match done {
                Ok(()) => outcome.changed.push(id),
                Err(e) => failures.push((id, e)),
            }
        }
        if !failures.is_empty() {
            outcome.refused = self.describe_refusals(actor, failures).await?;
        }
        Ok(outcome)
    }

    /// Words for each refusal, with property and stage labels, and the ticket's name when
    /// the actor may see it (one read for all of them).
    async fn describe_refusals(
        &self,
        actor: &Actor,
        failures: Vec<(TicketId, AppError)>,
    ) -> Result<Vec<BulkRefusal>, AppError> {
        let ids: Vec<TicketId> = failures.iter().map(|(id, _)| *id).collect();
        let mut tx = self.db().read().await?;
        let subjects: BTreeMap<TicketId, String> = tx
            .tickets_by_ids(&actor.scope(), &ids)
            .await?
            .into_iter()
            .map(|t| (t.id, t.subject))
            .collect();
        let properties = tx.properties("tickets", false).await?;
        tx.commit().await?;
        let label = |name: &str| {
            properties
                .iter()
                .find(|p| p.name == name)
                .map_or_else(|| name.to_string(), |p| p.label.clone())
        };
        Ok(failures
            .into_iter()
            .map(|(id, e)| BulkRefusal {
                id,
                subject: subjects.get(&id).cloned(),
                reason: refusal_reason(&e, &label),
            })
            .collect())
    }
}

/// A use case's refusal in an agent's words.
fn refusal_reason(e: &AppError, label: &dyn Fn(&str) -> String) -> String {
    match e {
        // HD-09: a ticket outside the actor's access reads as missing, never as "forbidden".
        AppError::NotFound { .. } => "not found, or not in your ticket access".into(),
        AppError::Forbidden(m) => format!("not allowed: {m}"),
        AppError::Unauthenticated => "not signed in".into(),
        AppError::Domain(DomainError::MissingRequiredProperties {
            stage_label,
            missing,
        }) => {
            let names: Vec<String> = missing.iter().map(|m| label(m)).collect();
            let (noun, verb) = if names.len() == 1 {
                ("property", "is")
            } else {
                ("properties", "are")
            };
            format!(
                "required {noun} {} {verb} missing for stage {stage_label} (HD-19)",
                names.join(", ")
            )
        }
        AppError::Domain(DomainError::Invalid(fields)) => fields
            .iter()
            .map(|f| format!("{}: {}", label(&f.field), f.message))
            .collect::<Vec<_>>()
            .join("; "),
        AppError::Domain(e @ DomainError::RuleViolation { .. }) => e.to_string(),
        AppError::Conflict(m) => m.clone(),
        AppError::Store(_) | AppError::Internal(_) => {
            tracing::error!(error = %e, "bulk action failed on a ticket");
            "an internal error stopped this ticket's change; it is in the server log".into()
        }
    }
}
