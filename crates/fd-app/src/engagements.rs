//! Calls, notes and emails (HubSpot's engagement objects): create, update and archive in one
//! transaction each, loading, and the timeline reads of a ticket or a contact. The objects
//! use cases (`objects.rs`) check values against the property definitions and route the
//! engagement kinds here, so the API's list, batch and search endpoints serve them unchanged;
//! the calling channel (`calling.rs`) writes its call engagements through `create_in`.
//!
//! Must not depend on `objects.rs` (which depends on this), tickets or conversations, nor on
//! HTTP.

use std::collections::BTreeMap;

use fd_domain::*;
use fd_store::Tx;

use crate::crm::AssociationEnd;
use crate::{Actor, App, AppError};

/// An engagement with its properties as stored (canonical text; times in epoch ms),
/// including `hs_object_id`, `hs_createdate` and `hs_lastmodifieddate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Engagement {
    pub kind: ObjectType,
    pub id: i64,
    pub values: BTreeMap<String, String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub archived_at: Option<Millis>,
}

impl Engagement {
    /// `hs_timestamp` (where it sits on a timeline), else its creation time.
    pub fn at(&self) -> Millis {
        self.values
            .get("hs_timestamp")
            .and_then(|v| v.parse().ok())
            .unwrap_or(self.created_at)
    }
}

/// Where an engagement kind's properties live in `property_values` (`calls`…).
fn values_type(kind: ObjectType) -> Result<&'static str, AppError> {
    if kind.is_engagement() {
        Ok(kind.plural())
    } else {
        Err(AppError::Internal(format!("{kind} is not an engagement")))
    }
}

/// The engagement kind's rows: stored properties plus the always-present ones.
pub(crate) async fn load(
    tx: &mut Tx,
    kind: ObjectType,
    ids: &[i64],
) -> Result<Vec<Engagement>, AppError> {
    let rows = tx.engagements_by_ids(kind, ids).await?;
    let pt = values_type(kind)?;
    let live: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut values = tx.property_values_of(pt, &live).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let mut v = values.remove(&r.id).unwrap_or_default();
            v.insert("hs_object_id".into(), r.id.to_string());
            v.insert("hs_createdate".into(), r.created_at.to_string());
            v.insert("hs_lastmodifieddate".into(), r.updated_at.to_string());
            Engagement {
                kind,
                id: r.id,
                values: v,
                created_at: r.created_at,
                updated_at: r.updated_at,
                archived_at: r.archived_at,
            }
        })
        .collect())
}

/// Writes a new engagement with its properties (already checked against the definitions)
/// and associations; HubSpot requires `hs_timestamp`, which places it on the timeline.
/// Returns its id.
pub(crate) async fn create_in(
    app: &App,
    tx: &mut Tx,
    actor: &Actor,
    kind: ObjectType,
    values: &BTreeMap<String, Option<String>>,
    associations: &[AssociationEnd],
    now: Millis,
) -> Result<(i64, Vec<crate::Event>), AppError> {
    let pt = values_type(kind)?;
    if values
        .get("hs_timestamp")
        .and_then(|v| v.as_ref())
        .is_none()
    {
        return Err(DomainError::field(
            "hs_timestamp",
            ErrorCode::Required,
            format!(
                "is required: it places the {} on the timeline",
                kind.as_str()
            ),
        )
        .into());
    }
    let id = tx.insert_engagement(kind, now).await?;
    for (name, v) in values {
        tx.set_property_value(pt, id, name, v.as_deref()).await?;
    }
    let mut events = Vec::new();
    let me = AssociationEnd::new(kind, id);
    for other in associations {
        events.extend(app.associate_in(tx, actor, me, *other, now).await?);
    }
    Ok((id, events))
}

impl App {
    pub(crate) async fn create_engagement(
        &self,
        actor: &Actor,
        kind: ObjectType,
        values: BTreeMap<String, Option<String>>,
        associations: Vec<AssociationEnd>,
    ) -> Result<Engagement, AppError> {
        let now = self.now();
        let mut tx = self.db().write().await?;
        let (id, events) =
            create_in(self, &mut tx, actor, kind, &values, &associations, now).await?;
        let record = load(&mut tx, kind, &[id])
            .await?
            .pop()
            .ok_or_else(|| AppError::Internal("the new engagement vanished".into()))?;
        tx.commit().await?;
        self.publish(events);
        Ok(record)
    }

    /// Changes an engagement's properties (checked values; `None` clears one). Archived ones
    /// are not found.
    pub(crate) async fn update_engagement(
        &self,
        kind: ObjectType,
        id: i64,
        values: BTreeMap<String, Option<String>>,
    ) -> Result<Engagement, AppError> {
        let now = self.now();
        let pt = values_type(kind)?;
        let mut tx = self.db().write().await?;
        let row = live_row(&mut tx, kind, id).await?;
        if values.get("hs_timestamp").is_some_and(Option::is_none) {
            return Err(DomainError::field(
                "hs_timestamp",
                ErrorCode::Required,
                "cannot be cleared: it places the engagement on the timeline",
            )
            .into());
        }
        for (name, v) in &values {
            tx.set_property_value(pt, id, name, v.as_deref()).await?;
        }
        tx.touch_engagement(row.id, now, None).await?;
        let record = load(&mut tx, kind, &[id])
            .await?
            .pop()
            .ok_or_else(|| AppError::not_found(kind_name(kind), id))?;
        tx.commit().await?;
        Ok(record)
    }

    /// Archives an engagement: it leaves lists, searches and timelines.
    pub(crate) async fn archive_engagement(
        &self,
        kind: ObjectType,
        id: i64,
    ) -> Result<(), AppError> {
        let now = self.now();
        let mut tx = self.db().write().await?;
        live_row(&mut tx, kind, id).await?;
        tx.touch_engagement(id, now, Some(now)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The live calls, notes and emails associated with a ticket or a contact, newest first
    /// (at most 200): what its timeline shows. The ticket must be visible to the actor (HD-09);
    /// a trashed one still shows them.
    pub async fn timeline_engagements(
        &self,
        actor: &Actor,
        of: AssociationEnd,
    ) -> Result<Vec<Engagement>, AppError> {
        let mut tx = self.db().read().await?;
        if of.kind == ObjectType::Ticket {
            // A trashed ticket's page still shows its history (and offers Restore).
            actor.require_ticket_access()?;
            if tx.ticket(&actor.scope(), TicketId(of.id)).await?.is_none() {
                return Err(AppError::not_found("ticket", of.id));
            }
        } else {
            self.check_end(&mut tx, actor, of).await?;
        }
        let rows = tx.engagements_of(of.kind, of.id, 200).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.extend(load(&mut tx, r.kind, &[r.id]).await?);
        }
        tx.commit().await?;
        Ok(out)
    }
}

async fn live_row(
    tx: &mut Tx,
    kind: ObjectType,
    id: i64,
) -> Result<fd_store::EngagementRow, AppError> {
    tx.engagements_by_ids(kind, &[id])
        .await?
        .pop()
        .filter(|r| r.archived_at.is_none())
        .ok_or_else(|| AppError::not_found(kind_name(kind), id))
}

fn kind_name(kind: ObjectType) -> &'static str {
    match kind {
        ObjectType::Call => "call",
        ObjectType::Note => "note",
        _ => "email",
    }
}
