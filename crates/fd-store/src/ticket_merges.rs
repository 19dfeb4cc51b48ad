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
    /// Rows pointing at the merged ticket (`to_type`/`to_id` name the record they come from).
    #[serde(default)]
    pub associations_in: Vec<MovedAssociation>,
    /// Users who follow the survivor only because of the merge.
    #[serde(default)]
    pub follows_added: Vec<i64>,
    /// Association rows the survivor gained by the merge, from it and to it.
    #[serde(default)]
    pub added_out: Vec<MovedAssociation>,
    #[serde(default)]
    pub added_in: Vec<MovedAssociation>,
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

/// A ticket split (migration 0020): which messages left which conversation for which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketSplit {
    pub new_ticket: TicketId,
    pub source_ticket: TicketId,
    pub source_conversation: ConversationId,
    pub new_conversation: ConversationId,
    pub messages: Vec<MessageId>,
    pub at: Millis,
}

impl Tx {
    /// The association rows of ticket `id`: from it (`out`) or to it.
    async fn ticket_assoc_rows(
        &mut self,
        id: TicketId,
        out: bool,
    ) -> Result<Vec<MovedAssociation>, StoreError> {
        let sql = if out {
            "SELECT to_type AS other_type, to_id AS other_id, type_id, category FROM associations \
             WHERE from_type = 'ticket' AND from_id = $1 ORDER BY to_type, to_id, type_id"
        } else {
            "SELECT from_type AS other_type, from_id AS other_id, type_id, category FROM associations \
             WHERE to_type = 'ticket' AND to_id = $1 ORDER BY from_type, from_id, type_id"
        };
        self.all(sql, args![id])
            .await?
            .iter()
            .map(|r| {
                Ok(MovedAssociation {
                    to_type: r.string("other_type")?,
                    to_id: r.i64("other_id")?,
                    type_id: r.i64("type_id")?,
                    category: r.string("category")?,
                })
            })
            .collect()
    }

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
        let follows_before = self
            .ids("SELECT user_id FROM follows WHERE ticket_id = $1", to)
            .await?;
        let out_before = self.ticket_assoc_rows(to, true).await?;
        let in_before = self.ticket_assoc_rows(to, false).await?;
        let associations_in = self.ticket_assoc_rows(from, false).await?;
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
        moved.associations_in = associations_in;
        moved.follows_added = moved
            .follows
            .iter()
            .filter(|u| !follows_before.contains(u))
            .copied()
            .collect();
        moved.added_out = self
            .ticket_assoc_rows(to, true)
            .await?
            .into_iter()
            .filter(|a| !out_before.contains(a))
            .collect();
        moved.added_in = self
            .ticket_assoc_rows(to, false)
            .await?
            .into_iter()
            .filter(|a| !in_before.contains(a))
            .collect();
        Ok(moved)
    }

    /// The undo of [`Tx::move_ticket_contents`]: moves what `moved` lists back from `from`
    /// (the survivor) to `to` (the merged ticket), as far as it is still on `from`, and takes
    /// from `from` the follows and associations it gained by the merge. What reached `from`
    /// after the merge is not listed, so it stays.
    pub async fn move_back_ticket_contents(
        &mut self,
        from: TicketId,
        to: TicketId,
        moved: &MovedFromTicket,
        now: Millis,
    ) -> Result<(), StoreError> {
        self.flush_activity().await?;
        for c in &moved.conversations {
            self.exec(
                "UPDATE conversations SET ticket_id = $3 WHERE id = $1 AND ticket_id = $2",
                args![*c, from, to],
            )
            .await?;
        }
        for c in &moved.comments {
            self.exec(
                "UPDATE comments SET ticket_id = $3 WHERE id = $1 AND ticket_id = $2",
                args![*c, from, to],
            )
            .await?;
        }
        let to_target = format!("ticket:{}", to.0);
        for d in &moved.drafts {
            self.exec(
                "UPDATE drafts SET ticket_id = $3, target = $4 WHERE id = $1 AND ticket_id = $2",
                args![*d, from, to, to_target.clone()],
            )
            .await?;
        }
        for a in &moved.activity {
            self.exec(
                "UPDATE activity SET object_id = $3 WHERE id = $1 AND object_type = 'ticket' AND object_id = $2",
                args![*a, from, to],
            )
            .await?;
        }
        for u in &moved.follows {
            self.exec(
                "INSERT INTO follows (user_id, ticket_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                args![*u, to, now],
            )
            .await?;
        }
        for u in &moved.follows_added {
            self.exec(
                "DELETE FROM follows WHERE user_id = $1 AND ticket_id = $2",
                args![*u, from],
            )
            .await?;
        }
        for a in &moved.added_out {
            self.exec(
                "DELETE FROM associations WHERE from_type = 'ticket' AND from_id = $1 \
                 AND to_type = $2 AND to_id = $3 AND type_id = $4",
                args![from, a.to_type.clone(), a.to_id, a.type_id],
            )
            .await?;
        }
        for a in &moved.added_in {
            self.exec(
                "DELETE FROM associations WHERE to_type = 'ticket' AND to_id = $1 \
                 AND from_type = $2 AND from_id = $3 AND type_id = $4",
                args![from, a.to_type.clone(), a.to_id, a.type_id],
            )
            .await?;
        }
        for a in &moved.associations {
            self.exec(
                "INSERT INTO associations (from_type, from_id, to_type, to_id, type_id, category, created_at) \
                 VALUES ('ticket', $1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                args![to, a.to_type.clone(), a.to_id, a.type_id, a.category.clone(), now],
            )
            .await?;
        }
        for a in &moved.associations_in {
            self.exec(
                "INSERT INTO associations (from_type, from_id, to_type, to_id, type_id, category, created_at) \
                 VALUES ($2, $3, 'ticket', $1, $4, $5, $6) ON CONFLICT DO NOTHING",
                args![to, a.to_type.clone(), a.to_id, a.type_id, a.category.clone(), now],
            )
            .await?;
        }
        Ok(())
    }

    /// Forgets the merge of `merged` (after an unmerge).
    pub async fn delete_ticket_merge(&mut self, merged: TicketId) -> Result<(), StoreError> {
        self.exec(
            "DELETE FROM ticket_merges WHERE merged_id = $1",
            args![merged],
        )
        .await?;
        Ok(())
    }

    /// The tickets merged directly into `survivor`, oldest merge first.
    pub async fn tickets_merged_into(
        &mut self,
        survivor: TicketId,
    ) -> Result<Vec<TicketId>, StoreError> {
        Ok(self
            .ids(
                "SELECT merged_id FROM ticket_merges WHERE survivor_id = $1 ORDER BY merged_at, merged_id",
                survivor,
            )
            .await?
            .into_iter()
            .map(TicketId)
            .collect())
    }

    /// Records a split.
    pub async fn insert_ticket_split(
        &mut self,
        s: &TicketSplit,
        actor: Option<UserId>,
    ) -> Result<(), StoreError> {
        let ids: Vec<i64> = s.messages.iter().map(|m| m.0).collect();
        let json = serde_json::to_string(&ids)
            .map_err(|e| StoreError::Internal(format!("split record: {e}")))?;
        self.exec(
            "INSERT INTO ticket_splits (new_ticket_id, source_ticket_id, source_conversation_id, \
             new_conversation_id, actor_user_id, split_at, message_ids) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![
                s.new_ticket,
                s.source_ticket,
                s.source_conversation,
                s.new_conversation,
                actor,
                s.at,
                json
            ],
        )
        .await?;
        Ok(())
    }

    fn split_from_row(r: &crate::Row) -> Result<TicketSplit, StoreError> {
        let ids: Vec<i64> = serde_json::from_str(&r.string("message_ids")?)
            .map_err(|e| StoreError::Decode(format!("split record: {e}")))?;
        Ok(TicketSplit {
            new_ticket: TicketId(r.i64("new_ticket_id")?),
            source_ticket: TicketId(r.i64("source_ticket_id")?),
            source_conversation: ConversationId(r.i64("source_conversation_id")?),
            new_conversation: ConversationId(r.i64("new_conversation_id")?),
            messages: ids.into_iter().map(MessageId).collect(),
            at: r.i64("split_at")?,
        })
    }

    /// The split that opened ticket `new_ticket`, if it was opened by one.
    pub async fn ticket_split(
        &mut self,
        new_ticket: TicketId,
    ) -> Result<Option<TicketSplit>, StoreError> {
        self.opt(
            "SELECT * FROM ticket_splits WHERE new_ticket_id = $1",
            args![new_ticket],
        )
        .await?
        .as_ref()
        .map(Self::split_from_row)
        .transpose()
    }

    /// The splits made from ticket `source`, oldest first.
    pub async fn splits_from(&mut self, source: TicketId) -> Result<Vec<TicketSplit>, StoreError> {
        self.all(
            "SELECT * FROM ticket_splits WHERE source_ticket_id = $1 ORDER BY split_at, new_ticket_id",
            args![source],
        )
        .await?
        .iter()
        .map(Self::split_from_row)
        .collect()
    }

    /// Forgets a split (after its undo).
    pub async fn delete_ticket_split(&mut self, new_ticket: TicketId) -> Result<(), StoreError> {
        self.exec(
            "DELETE FROM ticket_splits WHERE new_ticket_id = $1",
            args![new_ticket],
        )
        .await?;
        Ok(())
    }

    /// For each id, the conversation of ticket `ticket` holding that message, if any.
    pub async fn message_conversations_of_ticket(
        &mut self,
        ticket: TicketId,
        ids: &[MessageId],
    ) -> Result<std::collections::BTreeMap<MessageId, Option<i64>>, StoreError> {
        let mut out = std::collections::BTreeMap::new();
        for id in ids {
            let conv = self
                .opt(
                    "SELECT m.conversation_id FROM messages m JOIN conversations c ON c.id = m.conversation_id \
                     WHERE m.id = $1 AND c.ticket_id = $2 AND c.trashed_at IS NULL",
                    args![*id, ticket],
                )
                .await?
                .map(|r| r.i64_at(0))
                .transpose()?;
            out.insert(*id, conv);
        }
        Ok(out)
    }

    /// Moves messages (those still in conversation `from`) to conversation `to`, and sets
    /// both conversations' last-message time from what they then hold.
    pub async fn move_messages(
        &mut self,
        ids: &[MessageId],
        from: ConversationId,
        to: ConversationId,
    ) -> Result<(), StoreError> {
        for id in ids {
            self.exec(
                "UPDATE messages SET conversation_id = $3 WHERE id = $1 AND conversation_id = $2",
                args![*id, from, to],
            )
            .await?;
        }
        for c in [from, to] {
            self.exec(
                "UPDATE conversations SET last_message_at = COALESCE((SELECT MAX(created_at) FROM messages \
                 WHERE conversation_id = $1), last_message_at), version = version + 1 WHERE id = $1",
                args![c],
            )
            .await?;
        }
        Ok(())
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
