//! Unmerge and split of tickets (issue 15 items 2 and 3), one use case each, one transaction
//! each. The rules (what may be undone, which values each ticket gets back, which messages a
//! split may take) are fd-domain's `ticket_unmerge`; the rows that move are those the merge
//! record (0017) or the split record (0018) lists, so whatever arrived later stays where it
//! arrived. Undoing a split goes through `unmerge_ticket` too: the split-off ticket is taken
//! back into the ticket it came from.
//!
//! Must not depend on fd-web: every road (API, UI) calls these use cases.

use std::collections::BTreeMap;

use fd_domain::entities::Ticket;
use fd_domain::ticket_merge::MERGED_IDS_PROPERTY;
use fd_domain::ticket_unmerge::{self as rules, SplitRefusal, UndoSide, UnmergeRefusal};
use fd_domain::*;
use fd_store::{NewActivity, TicketSplit, Tx};

use crate::crm::AssociationEnd;
use crate::tickets::{NewTicket, insert_ticket};
use crate::{Actor, App, AppError, Event};

/// What an unmerge gave back.
#[derive(Debug, Clone)]
pub enum Unmerged {
    /// A merge undone: the survivor as it is now, and the ticket that came back.
    Merge {
        survivor: Ticket,
        restored: Box<Ticket>,
    },
    /// A split undone: the source ticket, and the id of the split-off ticket, now gone.
    Split { source: Ticket, removed: TicketId },
}

/// The merges and splits a ticket page names (and may offer to undo).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketLinks {
    /// Tickets merged into this one that can be taken back out.
    pub merged_in: Vec<TicketId>,
    /// The ticket this one was split from.
    pub split_from: Option<TicketId>,
    /// Tickets split off this one.
    pub split_into: Vec<TicketId>,
}

fn row(
    id: TicketId,
    actor: &Actor,
    action: &'static str,
    field: &str,
    old: Option<TicketId>,
    new: Option<TicketId>,
    at: i64,
) -> NewActivity {
    NewActivity {
        object_type: ObjectType::Ticket,
        object_id: id.0,
        actor: actor.actor_ref(),
        action,
        field: Some(field.into()),
        old_value: old.map(|t| t.0.to_string()),
        new_value: new.map(|t| t.0.to_string()),
        at,
    }
}

fn refused(field: &str, r: impl ToString) -> AppError {
    AppError::invalid(field, r.to_string())
}

async fn side(tx: &mut Tx, t: &Ticket) -> Result<UndoSide, AppError> {
    Ok(UndoSide {
        id: t.id,
        trashed: t.trashed_at.is_some(),
        merged_into: tx.ticket_merged_into(t.id).await?,
    })
}

fn conflict(id: TicketId) -> AppError {
    AppError::Conflict(format!("ticket {id} changed meanwhile"))
}

impl App {
    /// Takes ticket `other` back out of `survivor`: undoes the merge of `other` into it, or
    /// the split that opened `other` from it. A merge undone gives both tickets back with
    /// their own conversations, comments, followers, drafts, history and associations (what
    /// arrived after the merge stays where it arrived); the survivor keeps its current
    /// values but drops `other` from `hs_merged_object_ids`, the restored ticket gets its
    /// values from before the merge. A split undone moves the messages back to their
    /// conversation and deletes the split-off ticket (what reached it meanwhile moves to
    /// `survivor`). Refused as "not found" for a ticket the actor may not see (HD-09), as
    /// invalid, naming the problem, for a pair that was not merged or split, a trashed
    /// ticket, or a survivor merged away since.
    pub async fn unmerge_ticket(
        &self,
        actor: &Actor,
        survivor: TicketId,
        other: TicketId,
    ) -> Result<Unmerged, AppError> {
        actor.require_ticket_access()?;
        let mut tx = self.db().write().await?;
        let scope = actor.scope();
        // Locked in id order, as a merge locks them.
        let (first, second) = if survivor.0 < other.0 {
            (survivor, other)
        } else {
            (other, survivor)
        };
        if survivor == other {
            return Err(refused(
                "mergedObjectId",
                UnmergeRefusal::NotMergedInto {
                    ticket: survivor,
                    other,
                },
            ));
        }
        let mut locked = Vec::new();
        for id in [first, second] {
            match tx.ticket_for_update(&scope, id).await? {
                Some(t) => locked.push(t),
                None => return Err(AppError::not_found("ticket", id)),
            }
        }
        let find = |id: TicketId| locked.iter().find(|t| t.id == id).cloned();
        let (Some(s), Some(o)) = (find(survivor), find(other)) else {
            return Err(AppError::not_found("ticket", other));
        };
        let now = self.now();
        let s_side = side(&mut tx, &s).await?;
        let o_side = side(&mut tx, &o).await?;
        if let Some(record) = tx.ticket_merge_record(other).await? {
            let recorded = tx.ticket_merged_into(other).await?;
            rules::check_unmerge(s_side, o_side, recorded, true)
                .map_err(|r| refused("mergedObjectId", r))?;
            let result = self.undo_merge(&mut tx, actor, s, o, &record, now).await?;
            crate::sla::recompute_ticket_sla(&mut tx, survivor, now).await?;
            tx.commit().await?;
            self.publish(result.1);
            return Ok(result.0);
        }
        let split = tx.ticket_split(other).await?;
        rules::check_unmerge(
            s_side,
            o_side,
            split.as_ref().map(|x| x.source_ticket),
            false,
        )
        .map_err(|r| refused("mergedObjectId", r))?;
        let Some(split) = split else {
            return Err(refused(
                "mergedObjectId",
                UnmergeRefusal::NotMergedInto {
                    ticket: survivor,
                    other,
                },
            ));
        };
        let mut events = vec![
            Event::TicketChanged(survivor),
            Event::TicketChanged(other),
            Event::ConversationChanged(split.source_conversation),
        ];
        tx.move_messages(
            &split.messages,
            split.new_conversation,
            split.source_conversation,
        )
        .await?;
        if tx
            .message_count(&ViewerScope::All, split.new_conversation, None)
            .await?
            == 0
        {
            tx.purge_conversation(split.new_conversation).await?;
        } else {
            events.push(Event::ConversationChanged(split.new_conversation));
        }
        // What reached the split-off ticket meanwhile (a reply, a comment) stays, on the source.
        tx.move_ticket_contents(other, survivor).await?;
        tx.purge_ticket(other, now).await?;
        tx.touch_ticket(survivor, now).await?;
        tx.record_activity(&row(
            survivor,
            actor,
            "unsplit",
            "split",
            Some(other),
            None,
            now,
        ))
        .await?;
        let source = tx
            .ticket(&scope, survivor)
            .await?
            .ok_or_else(|| AppError::not_found("ticket", survivor))?;
        tx.commit().await?;
        self.publish(events);
        Ok(Unmerged::Split {
            source,
            removed: other,
        })
    }

    async fn undo_merge(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        s: Ticket,
        m: Ticket,
        record: &fd_store::TicketMergeRecord,
        now: i64,
    ) -> Result<(Unmerged, Vec<Event>), AppError> {
        tx.move_back_ticket_contents(s.id, m.id, &record.moved, now)
            .await?;
        tx.delete_ticket_merge(m.id).await?;
        let mut still_merged = Vec::new();
        for id in tx.tickets_merged_into(s.id).await? {
            if let Some(t) = tx.ticket(&ViewerScope::All, id).await? {
                still_merged.push(t.created_at);
            }
        }
        let primary_created = record.primary_before["created_at"]
            .as_i64()
            .unwrap_or(s.created_at);
        let mut survivor = rules::unmerge_survivor(&s, &m, primary_created, &still_merged, now);
        if !tx.save_ticket(&survivor).await? {
            return Err(conflict(s.id));
        }
        survivor.version += 1;
        tx.set_property_value(
            "tickets",
            s.id.0,
            MERGED_IDS_PROPERTY,
            survivor.custom.get(MERGED_IDS_PROPERTY).map(String::as_str),
        )
        .await?;
        let mut restored = rules::unmerge_restored(&m, m.version, now);
        if !tx.save_ticket(&restored).await? {
            return Err(conflict(m.id));
        }
        restored.version += 1;
        tx.record_activity(&row(
            s.id,
            actor,
            "unmerged",
            "merged",
            Some(m.id),
            None,
            now,
        ))
        .await?;
        tx.record_activity(&row(
            m.id,
            actor,
            "unmerged",
            "merged",
            None,
            Some(s.id),
            now,
        ))
        .await?;
        let mut events = vec![Event::TicketChanged(s.id), Event::TicketChanged(m.id)];
        events.extend(
            record
                .moved
                .conversations
                .iter()
                .map(|c| Event::ConversationChanged(ConversationId(*c))),
        );
        Ok((
            Unmerged::Merge {
                survivor,
                restored: Box::new(restored),
            },
            events,
        ))
    }

    /// Splits messages of one of ticket `id`'s conversations off to a new ticket: they move
    /// to a new conversation with the same contact, on a ticket with `properties` (the
    /// source's pipeline, status, priority and category, and the conversation's subject, for
    /// what is not given). Both tickets name each other; `unmerge_ticket(id, new)` undoes it.
    /// Refused as "not found" for a ticket the actor may not see or that is trashed, as
    /// invalid for no messages, messages of another conversation, or all of them.
    pub async fn split_ticket(
        &self,
        actor: &Actor,
        id: TicketId,
        messages: &[MessageId],
        properties: BTreeMap<String, String>,
    ) -> Result<Ticket, AppError> {
        let mut tx = self.db().write().await?;
        let source = self.locked_ticket(&mut tx, actor, id).await?;
        let now = self.now();
        let owners = tx.message_conversations_of_ticket(id, messages).await?;
        let mut sizes = BTreeMap::new();
        for c in owners.values().flatten() {
            if !sizes.contains_key(c) {
                let n = tx
                    .message_count(&ViewerScope::All, ConversationId(*c), None)
                    .await?;
                sizes.insert(*c, usize::try_from(n).unwrap_or(usize::MAX));
            }
        }
        let (conv_id, chosen) =
            rules::check_split(messages, &owners, |c| sizes.get(&c).copied().unwrap_or(0))
                .map_err(|r: SplitRefusal| refused("messageIds", r))?;
        let conv = tx
            .conversation_for_update(&ViewerScope::All, ConversationId(conv_id))
            .await?
            .ok_or_else(|| AppError::not_found("conversation", conv_id))?;
        let props = rules::split_properties(&source, conv.subject.as_deref(), &properties);
        let mut associations = Vec::new();
        if let Some(k) = conv.contact_id {
            associations.push(AssociationEnd::new(ObjectType::Contact, k.0));
        }
        let cfg = self.ticket_config(&mut tx).await?;
        let input = NewTicket {
            properties: props,
            associations,
            via_form: false,
        };
        let new = insert_ticket(&mut tx, &cfg, actor, &input, source.workspace, now).await?;
        let mut fresh = conv.clone();
        fresh.ticket_id = Some(new.id);
        fresh.created_at = now;
        fresh.updated_at = now;
        let new_conv = tx.insert_conversation(&fresh).await?;
        tx.move_messages(&chosen, conv.id, new_conv).await?;
        tx.insert_ticket_split(
            &TicketSplit {
                new_ticket: new.id,
                source_ticket: id,
                source_conversation: conv.id,
                new_conversation: new_conv,
                messages: chosen.clone(),
                at: now,
            },
            actor.user_id(),
        )
        .await?;
        tx.touch_ticket(id, now).await?;
        tx.record_activity(&row(id, actor, "split", "split", None, Some(new.id), now))
            .await?;
        tx.record_activity(&row(new.id, actor, "split", "split", Some(id), None, now))
            .await?;
        crate::sla::recompute_ticket_sla(&mut tx, id, now).await?;
        tx.commit().await?;
        self.publish(vec![
            Event::TicketChanged(id),
            Event::TicketChanged(new.id),
            Event::ConversationChanged(conv.id),
            Event::ConversationChanged(new_conv),
        ]);
        Ok(new)
    }

    /// The merges and splits ticket `id` takes part in, for its page (HD-09: "not found"
    /// for a ticket the actor may not see).
    pub async fn ticket_links(&self, actor: &Actor, id: TicketId) -> Result<TicketLinks, AppError> {
        actor.require_ticket_access()?;
        let mut tx = self.db().read().await?;
        if tx.ticket(&actor.scope(), id).await?.is_none() {
            return Err(AppError::not_found("ticket", id));
        }
        let links = TicketLinks {
            merged_in: tx.tickets_merged_into(id).await?,
            split_from: tx.ticket_split(id).await?.map(|s| s.source_ticket),
            split_into: tx
                .splits_from(id)
                .await?
                .into_iter()
                .map(|s| s.new_ticket)
                .collect(),
        };
        tx.commit().await?;
        Ok(links)
    }
}
