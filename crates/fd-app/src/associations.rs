//! Associations between records (the API's and the UI's link and unlink): any two records,
//! ticket–conversation links through the conversation's single ticket slot (INB-04).
//!
//! Depends on the CRM rows (`crm.rs`) and on conversations (their ticket slot); must not be
//! depended on by either, nor depend on HTTP.

use fd_domain::association_type as at;
use fd_domain::*;
use fd_store::{Association, NewActivity};

use crate::crm::{AssociationEnd, association_pair};
use crate::{Actor, App, AppError, Event};

impl App {
    /// Associates two records. Ticket–conversation links go through the conversation's single
    /// ticket slot (INB-04: at most one ticket per conversation).
    pub async fn associate(
        &self,
        actor: &Actor,
        a: AssociationEnd,
        b: AssociationEnd,
    ) -> Result<(), AppError> {
        let now = self.now();
        let mut tx = self.db().write().await?;
        let events = self.associate_in(&mut tx, actor, a, b, now).await?;
        tx.commit().await?;
        self.publish(events);
        Ok(())
    }

    /// [`App::associate`] inside an open write transaction (shared with the API's creates,
    /// which associate the new record in the same transaction).
    pub(crate) async fn associate_in(
        &self,
        tx: &mut fd_store::Tx,
        actor: &Actor,
        a: AssociationEnd,
        b: AssociationEnd,
        now: i64,
    ) -> Result<Vec<Event>, AppError> {
        let mut events = Vec::new();
        for end in [a, b] {
            self.check_end(tx, actor, end).await?;
            if end.kind == ObjectType::Ticket {
                events.push(Event::TicketChanged(TicketId(end.id)));
            }
        }
        match (a.kind, b.kind) {
            (ObjectType::Ticket, ObjectType::Conversation) => {
                crate::conversations::attach_conversation(
                    tx,
                    actor,
                    TicketId(a.id),
                    ConversationId(b.id),
                    now,
                )
                .await?
            }
            (ObjectType::Conversation, ObjectType::Ticket) => {
                crate::conversations::attach_conversation(
                    tx,
                    actor,
                    TicketId(b.id),
                    ConversationId(a.id),
                    now,
                )
                .await?
            }
            _ => {
                let mut inserted = false;
                for row in association_pair(&a, &b)? {
                    inserted |= tx.insert_association(&row, now).await?;
                }
                if inserted {
                    for (x, y) in [(a, b), (b, a)] {
                        if x.kind == ObjectType::Ticket {
                            tx.record_activity(&NewActivity {
                                object_type: ObjectType::Ticket,
                                object_id: x.id,
                                actor: actor.actor_ref(),
                                action: "associated",
                                field: Some(y.kind.to_string()),
                                old_value: None,
                                new_value: Some(y.id.to_string()),
                                at: now,
                            })
                            .await?;
                        }
                    }
                }
            }
        }
        Ok(events)
    }

    /// Removes an association; a ticket–conversation one is refused (INB-04).
    pub async fn dissociate(
        &self,
        actor: &Actor,
        a: AssociationEnd,
        b: AssociationEnd,
    ) -> Result<(), AppError> {
        let now = self.now();
        let kinds = (a.kind, b.kind);
        if matches!(
            kinds,
            (ObjectType::Ticket, ObjectType::Conversation)
                | (ObjectType::Conversation, ObjectType::Ticket)
        ) {
            return Err(fd_domain::rules::inb_04_refuse_dissociation().into());
        }
        let mut tx = self.db().write().await?;
        for end in [a, b] {
            self.check_end(&mut tx, actor, end).await?;
        }
        let n = tx
            .delete_associations_between(a.kind, a.id, b.kind, b.id, now)
            .await?;
        if n > 0 {
            for (x, y) in [(a, b), (b, a)] {
                if x.kind == ObjectType::Ticket {
                    tx.record_activity(&NewActivity {
                        object_type: ObjectType::Ticket,
                        object_id: x.id,
                        actor: actor.actor_ref(),
                        action: "dissociated",
                        field: Some(y.kind.to_string()),
                        old_value: Some(y.id.to_string()),
                        new_value: None,
                        at: now,
                    })
                    .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Associated record ids of `kind` from one record; ticket lists obey the actor's access.
    pub async fn associations(
        &self,
        actor: &Actor,
        from: AssociationEnd,
        kind: ObjectType,
    ) -> Result<Vec<Association>, AppError> {
        let mut tx = self.db().read().await?;
        self.check_end(&mut tx, actor, from).await?;
        let mut rows = if from.kind == ObjectType::Ticket && kind == ObjectType::Conversation {
            tx.conversations_of_ticket(&actor.scope(), TicketId(from.id), false)
                .await?
                .into_iter()
                .map(|c| Association {
                    from_type: ObjectType::Ticket,
                    from_id: from.id,
                    to_type: ObjectType::Conversation,
                    to_id: c.id.0,
                    type_id: i64::from(at::TICKET_TO_THREAD),
                    category: "HUBSPOT_DEFINED".into(),
                })
                .collect()
        } else {
            tx.associations_from(from.kind, from.id, Some(kind)).await?
        };
        if kind == ObjectType::Ticket {
            let ids: Vec<TicketId> = rows.iter().map(|r| TicketId(r.to_id)).collect();
            let visible: std::collections::BTreeSet<TicketId> = tx
                .tickets_by_ids(&actor.scope(), &ids)
                .await?
                .into_iter()
                .filter(|t| t.trashed_at.is_none())
                .map(|t| t.id)
                .collect();
            rows.retain(|r| visible.contains(&TicketId(r.to_id)));
        }
        tx.commit().await?;
        Ok(rows)
    }

    /// A record must exist, and a ticket (or a conversation's ticket) must be visible.
    pub(crate) async fn check_end(
        &self,
        tx: &mut fd_store::Tx,
        actor: &Actor,
        end: AssociationEnd,
    ) -> Result<(), AppError> {
        let missing = || AppError::not_found(end_name(end.kind), end.id);
        match end.kind {
            ObjectType::Ticket => {
                actor.require_ticket_access()?;
                match tx.ticket(&actor.scope(), TicketId(end.id)).await? {
                    Some(t) if t.trashed_at.is_none() => Ok(()),
                    _ => Err(missing()),
                }
            }
            ObjectType::Conversation => match tx
                .conversation(&actor.scope(), ConversationId(end.id))
                .await?
            {
                Some(c) if c.trashed_at.is_none() => Ok(()),
                _ => Err(missing()),
            },
            other => {
                if tx.record_exists(other, end.id).await? {
                    Ok(())
                } else {
                    Err(missing())
                }
            }
        }
    }
}

fn end_name(kind: ObjectType) -> &'static str {
    match kind {
        ObjectType::Ticket => "ticket",
        ObjectType::Contact => "contact",
        ObjectType::Company => "company",
        ObjectType::Deal => "deal",
        ObjectType::Conversation => "conversation",
        ObjectType::Call => "call",
        ObjectType::Note => "note",
        ObjectType::Email => "email",
    }
}
