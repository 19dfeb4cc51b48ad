//! Ticket merges (migration 0017): moving what hangs off a ticket onto another, the durable
//! record of each merge (what moved and both tickets' values before it, for unmerge), and
//! the lookup of the ticket a merged-away id now lives on. The decisions (who survives,
//! which values) are fd-domain's `ticket_merge`; the use case is fd-app's `merge_tickets`.

use fd_domain::entities::Ticket;
use fd_domain::*;
use serde::{Deserialize, Serialize};

use crate::{StoreError, Tx, args};

/// One association row that moved, as it was on the merged ticket (`from` is the ticket).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedAssociation {
    pub to_type: String,
    pub to_id: i64,
    pub type_id: i64,
    pub category: String,
}

/// What a merge moved from the merged ticket onto the survivor, by id: what unmerge gives
/// back. Follows and drafts the survivor already had for the same user stay where they were
/// (listed in `follows_kept` / not moved), so they are not counted twice.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedFromTicket {
    pub conversations: Vec<i64>,
    pub comments: Vec<i64>,
    /// Users who followed the merged ticket (each now follows the survivor).
    pub follows: Vec<i64>,
    pub drafts: Vec<i64>,
    pub activity: Vec<i64>,
    pub associations: Vec<MovedAssociation>,
}

/// The stored record of one merge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketMergeRecord {
    pub primary_before: serde_json::Value,
    pub merged_before: serde_json::Value,
    pub moved: MovedFromTicket,
}

/// A ticket's values as JSON, for a merge record (every column and custom value).
pub fn ticket_snapshot(t: &Ticket) -> serde_json::Value {
    serde_json::json!({
        "id": t.id.0,
        "subject": t.subject,
        "content": t.content,
        "pipeline_id": t.pipeline_id.0,
        "stage_id": t.stage_id.0,
        "priority": t.priority,
        "category": t.category,
        "owner_id": t.owner_id.map(|u| u.0),
        "team_id": t.team_id.map(|u| u.0),
        "source_type": t.source_type,
        "workspace": t.workspace.as_str(),
        "is_open": t.is_open,
        "created_by": t.created_by.map(|u| u.0),
        "created_at": t.created_at,
        "updated_at": t.updated_at,
        "closed_at": t.closed_at,
        "last_activity_at": t.last_activity_at,
        "trashed_at": t.trashed_at,
        "custom": t.custom,
    })
}

impl Tx {
    async fn ids(&mut self, sql: &str, id: TicketId) -> Result<Vec<i64>, StoreError> {
        self.all(sql, args![id])
            .await?
            .iter()
            .map(|r| r.i64_at(0))
            .collect()
    }

    /// Moves everything that hangs off ticket `from` onto ticket `to`: its conversations
    /// (and so their messages), comments, followers, drafts (an author's draft stays where it
    /// is when they already have one on `to`), history rows and associations (not doubled).
    /// Returns what moved, by id.
    pub async fn move_ticket_contents(
        &mut self,
        from: TicketId,
        to: TicketId,
    ) -> Result<MovedFromTicket, StoreError> {
        // History rows buffered in this transaction are written before they are moved.
        self.flush_activity().await?;
        let mut moved = MovedFromTicket {
            conversations: self
                .ids("SELECT id FROM conversations WHERE ticket_id = $1 ORDER BY id", from)
                .await?,
            comments: self
                .ids("SELECT id FROM comments WHERE ticket_id = $1 ORDER BY id", from)
                .await?,
            follows: self
                .ids("SELECT user_id FROM follows WHERE ticket_id = $1 ORDER BY user_id", from)
                .await?,
            activity: self
                .ids(
                    "SELECT id FROM activity WHERE object_type = 'ticket' AND object_id = $1 ORDER BY id",
                    from,
                )
                .await?,
            ..MovedFromTicket::default()
        };
        self.exec(
            "UPDATE conversations SET ticket_id = $2 WHERE ticket_id = $1",
            args![from, to],
        )
        .await?;
        self.exec(
            "UPDATE comments SET ticket_id = $2 WHERE ticket_id = $1",
            args![from, to],
        )
        .await?;
        self.exec(
            "INSERT INTO follows (user_id, ticket_id, created_at) SELECT user_id, $2, created_at \
             FROM follows WHERE ticket_id = $1 ON CONFLICT DO NOTHING",
            args![from, to],
        )
        .await?;
        self.exec("DELETE FROM follows WHERE ticket_id = $1", args![from])
            .await?;
        let to_target = format!("ticket:{}", to.0);
        moved.drafts = self
            .all(
                "SELECT d.id FROM drafts d WHERE d.ticket_id = $1 AND NOT EXISTS \
                 (SELECT 1 FROM drafts o WHERE o.author_id = d.author_id AND o.target = $2) ORDER BY d.id",
                args![from, to_target.clone()],
            )
            .await?
            .iter()
            .map(|r| r.i64_at(0))
            .collect::<Result<_, _>>()?;
        for d in &moved.drafts {
            self.exec(
                "UPDATE drafts SET ticket_id = $2, target = $3 WHERE id = $1",
                args![*d, to, to_target.clone()],
            )
            .await?;
        }
        self.exec(
            "UPDATE activity SET object_id = $2 WHERE object_type = 'ticket' AND object_id = $1",
            args![from, to],
        )
        .await?;
        moved.associations = self
            .associations_from(ObjectType::Ticket, from.0, None)
            .await?
            .into_iter()
            .map(|a| MovedAssociation {
                to_type: a.to_type.as_str().to_string(),
                to_id: a.to_id,
                type_id: a.type_id,
                category: a.category,
            })
            .collect();
        self.move_associations(ObjectType::Ticket, from.0, to.0)
            .await?;
        Ok(moved)
    }

    /// Records that `merged` was merged into `survivor`.
    pub async fn insert_ticket_merge(
        &mut self,
        merged: TicketId,
        survivor: TicketId,
        actor: Option<UserId>,
        at: Millis,
        record: &TicketMergeRecord,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(record)
            .map_err(|e| StoreError::Internal(format!("merge record: {e}")))?;
        self.exec(
            "INSERT INTO ticket_merges (merged_id, survivor_id, actor_user_id, merged_at, record) \
             VALUES ($1, $2, $3, $4, $5)",
            args![merged, survivor, actor, at, json],
        )
        .await?;
        Ok(())
    }

    /// The ticket `id` was merged into, when it was merged away.
    pub async fn ticket_merged_into(
        &mut self,
        id: TicketId,
    ) -> Result<Option<TicketId>, StoreError> {
        Ok(self
            .opt(
                "SELECT survivor_id FROM ticket_merges WHERE merged_id = $1",
                args![id],
            )
            .await?
            .map(|r| r.i64("survivor_id"))
            .transpose()?
            .map(TicketId))
    }

    /// The ticket `id` now lives on: itself when it was not merged away, else the end of
    /// its chain of merges (followed up to `max_hops`).
    pub async fn ticket_following_merges(
        &mut self,
        id: TicketId,
        max_hops: usize,
    ) -> Result<TicketId, StoreError> {
        let mut current = id;
        for _ in 0..max_hops {
            match self.ticket_merged_into(current).await? {
                Some(next) if next != current => current = next,
                _ => break,
            }
        }
        Ok(current)
    }

    /// The record of the merge that consumed `id`.
    pub async fn ticket_merge_record(
        &mut self,
        id: TicketId,
    ) -> Result<Option<TicketMergeRecord>, StoreError> {
        match self
            .opt(
                "SELECT record FROM ticket_merges WHERE merged_id = $1",
                args![id],
            )
            .await?
        {
            Some(r) => serde_json::from_str(&r.string("record")?)
                .map(Some)
                .map_err(|e| StoreError::Decode(format!("merge record of ticket {}: {e}", id.0))),
            None => Ok(None),
        }
    }
}
