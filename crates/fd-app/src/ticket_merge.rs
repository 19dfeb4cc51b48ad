//! Ticket merge (issue 15 item 1): one use case, one transaction. The survivor keeps the
//! primary's id and values (fd-domain's `ticket_merge` decides them); conversations,
//! comments, followers, drafts, history and associations of the merged ticket move to it;
//! the merged ticket is kept, trashed and named in `ticket_merges` with what moved and both
//! tickets' values before the merge, for the unmerge still to come (item 2).
//!
//! Must not depend on fd-web: every road (API, UI) calls `App::merge_tickets`.

use fd_domain::entities::Ticket;
use fd_domain::ticket_merge::{self, MergeRefusal};
use fd_domain::*;
use fd_store::{NewActivity, TicketMergeRecord, ticket_snapshot};

use fd_domain::notify::TicketActivity;

use crate::notify::{TicketNotice, notify_ticket_activity};
use crate::{Actor, App, AppError, Event};

fn merge_row(
    id: TicketId,
    actor: &Actor,
    old: Option<String>,
    new: Option<String>,
    at: i64,
) -> NewActivity {
    NewActivity {
        object_type: ObjectType::Ticket,
        object_id: id.0,
        actor: actor.actor_ref(),
        action: "merged",
        field: Some("merged".into()),
        old_value: old,
        new_value: new,
        at,
    }
}

impl App {
    /// Merges ticket `merged` into `primary` and returns the survivor (the primary, with the
    /// oldest create date and `hs_merged_object_ids` listing what it absorbed). Refused as
    /// "not found" for a ticket the actor may not edit (HD-09), that is trashed or was
    /// already merged away; refused as invalid for a ticket merged into itself.
    pub async fn merge_tickets(
        &self,
        actor: &Actor,
        primary: TicketId,
        merged: TicketId,
    ) -> Result<Ticket, AppError> {
        actor.require_ticket_access()?;
        if primary == merged {
            return Err(AppError::invalid(
                "merge",
                "a ticket cannot be merged into itself",
            ));
        }
        let mut tx = self.db().write().await?;
        // Locked in id order, so two merges of the same pair cannot wait on each other.
        let (first, second) = if primary.0 < merged.0 {
            (primary, merged)
        } else {
            (merged, primary)
        };
        let a = self.locked_ticket(&mut tx, actor, first).await?;
        let b = self.locked_ticket(&mut tx, actor, second).await?;
        let (p, mut m) = if a.id == primary { (a, b) } else { (b, a) };
        let now = self.now();
        match ticket_merge::check_ticket_merge(&p, &m) {
            Ok(()) => {}
            Err(MergeRefusal::SameTicket) => {
                return Err(AppError::invalid(
                    "merge",
                    "a ticket cannot be merged into itself",
                ));
            }
            Err(MergeRefusal::Trashed(id)) => return Err(AppError::not_found("ticket", id)),
        }
        let mut survivor = ticket_merge::merge_survivor(&p, &m, now);
        let primary_before = ticket_snapshot(&p);
        let merged_before = ticket_snapshot(&m);
        let moved = tx.move_ticket_contents(m.id, p.id).await?;
        if !tx.save_ticket(&survivor).await? {
            return Err(AppError::Conflict(format!(
                "ticket {} changed meanwhile",
                p.id
            )));
        }
        survivor.version += 1;
        let merged_ids = survivor
            .custom
            .get(ticket_merge::MERGED_IDS_PROPERTY)
            .cloned();
        tx.set_property_value(
            "tickets",
            survivor.id.0,
            ticket_merge::MERGED_IDS_PROPERTY,
            merged_ids.as_deref(),
        )
        .await?;
        m.trashed_at = Some(now);
        m.updated_at = now;
        if !tx.save_ticket(&m).await? {
            return Err(AppError::Conflict(format!(
                "ticket {} changed meanwhile",
                m.id
            )));
        }
        tx.insert_ticket_merge(
            m.id,
            p.id,
            actor.user_id(),
            now,
            &TicketMergeRecord {
                primary_before,
                merged_before,
                moved: moved.clone(),
            },
        )
        .await?;
        // "merged" on both, each naming the other (the contacts' and companies' shape): the
        // merged ticket's own history moved to the survivor, this row stays with it.
        tx.record_activity(&merge_row(p.id, actor, Some(m.id.0.to_string()), None, now))
            .await?;
        tx.record_activity(&merge_row(m.id, actor, None, Some(p.id.0.to_string()), now))
            .await?;
        // Follow and notify: the survivor's owner and followers (the merged ticket's
        // followers moved over) hear of the merge.
        let excerpt = format!("#{} {} merged into #{}", m.id, m.subject, p.id);
        let n = TicketNotice::new(p.id, TicketActivity::Merged, &excerpt);
        let told = notify_ticket_activity(&mut tx, actor, n, now).await?;
        crate::sla::recompute_ticket_sla(&mut tx, p.id, now).await?;
        tx.commit().await?;
        let mut events = vec![Event::TicketChanged(p.id), Event::TicketChanged(m.id)];
        events.extend(told.into_iter().map(Event::NotificationsChanged));
        events.extend(
            moved
                .conversations
                .iter()
                .map(|c| Event::ConversationChanged(ConversationId(*c))),
        );
        self.publish(events);
        Ok(survivor)
    }
}

impl App {
    /// The live ticket a merged-away ticket id now lives on (following merges of merges up
    /// to `max_hops`); `None` when `id` was not merged away or its survivor is trashed. Part
    /// of [`App::merge_survivor`], the one "old id leads to the survivor" road.
    pub(crate) async fn ticket_merge_survivor(
        &self,
        id: TicketId,
        max_hops: usize,
    ) -> Result<Option<i64>, AppError> {
        let mut tx = self.db().read().await?;
        let current = tx.ticket_following_merges(id, max_hops).await?;
        let live =
            current != id && matches!(tx.ticket_open_state(current).await?, Some((_, false)));
        tx.commit().await?;
        Ok(live.then_some(current.0))
    }
}
