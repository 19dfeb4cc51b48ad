//! Activity history, notifications and follows.

use fd_domain::entities::{AdminChange, AdminChangeRecord, AdminObject};
use fd_domain::*;

use crate::error::decode;
use crate::{ActivityEvent, NewActivity, StoreError, Tx, args};

impl Tx {
    /// Records a change in the history; written with the transaction's other activity rows
    /// in one statement when it commits (see [`Tx::flush_activity`]).
    pub async fn record_activity(&mut self, a: &NewActivity) -> Result<(), StoreError> {
        self.pending_activity.push(a.clone());
        Ok(())
    }

    /// Writes the recorded activity rows in one multi-row insert (one round trip for all).
    /// Runs at commit and before anything in this transaction reads or deletes activity.
    pub(crate) async fn flush_activity(&mut self) -> Result<(), StoreError> {
        // SQLite allows 32766 bound values per statement; 8 per row.
        const ROWS_PER_STATEMENT: usize = 1000;
        let pending = std::mem::take(&mut self.pending_activity);
        self.note_activity(&pending);
        for chunk in pending.chunks(ROWS_PER_STATEMENT) {
            let mut sql = crate::Sql::new(
                "INSERT INTO activity (object_type, object_id, actor_user_id, action, field, old_value, new_value, at) VALUES ",
            );
            for (i, a) in chunk.iter().enumerate() {
                sql.push(if i == 0 { "(" } else { ", (" });
                sql.bind_list(args![
                    a.object_type.as_str(),
                    a.object_id,
                    a.actor.user_id(),
                    a.action,
                    a.field.clone(),
                    a.old_value.clone(),
                    a.new_value.clone(),
                    a.at
                ]);
                sql.push(")");
            }
            self.exec_sql(sql).await?;
        }
        Ok(())
    }

    /// Records an administrative change (users, teams, pipelines, properties, settings) with
    /// its actor and time, in this transaction.
    pub async fn record_admin_change(&mut self, c: &AdminChange) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO activity (object_type, object_id, actor_user_id, action, field, old_value, new_value, at) \
             VALUES ($1, $2, $3, $4, $5, NULL, $6, $7)",
            args![
                c.object.as_str(),
                c.object_id,
                c.actor.user_id(),
                c.action,
                c.field.clone(),
                c.new_value.clone(),
                c.at
            ],
        )
        .await?;
        Ok(())
    }

    /// The administrative changes made to one kind of object, oldest first.
    pub async fn admin_changes(
        &mut self,
        object: AdminObject,
    ) -> Result<Vec<AdminChangeRecord>, StoreError> {
        let rows = self
            .all(
                "SELECT object_id, actor_user_id, action, field, new_value, at FROM activity \
                 WHERE object_type = $1 ORDER BY at, id",
                args![object.as_str()],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(AdminChangeRecord {
                    object_id: r.i64("object_id")?,
                    actor_user_id: r.opt_i64("actor_user_id")?.map(UserId),
                    action: r.string("action")?,
                    field: r.opt_string("field")?,
                    new_value: r.opt_string("new_value")?,
                    at: r.i64("at")?,
                })
            })
            .collect()
    }

    /// The history of one record, oldest first.
    pub async fn activity(
        &mut self,
        object_type: ObjectType,
        object_id: i64,
    ) -> Result<Vec<ActivityEvent>, StoreError> {
        self.flush_activity().await?;
        let rows = self
            .all(
                "SELECT id, object_type, object_id, actor_user_id, action, field, old_value, new_value, at \
                 FROM activity WHERE object_type = $1 AND object_id = $2 ORDER BY at, id",
                args![object_type.as_str(), object_id],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ActivityEvent {
                    id: r.i64("id")?,
                    object_type: decode(r.string("object_type")?.parse())?,
                    object_id: r.i64("object_id")?,
                    actor_user_id: r.opt_i64("actor_user_id")?.map(UserId),
                    action: r.string("action")?,
                    field: r.opt_string("field")?,
                    old_value: r.opt_string("old_value")?,
                    new_value: r.opt_string("new_value")?,
                    at: r.i64("at")?,
                })
            })
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn insert_notification(
        &mut self,
        user: UserId,
        kind: &str,
        ticket: Option<TicketId>,
        conversation: Option<ConversationId>,
        comment: Option<CommentId>,
        actor: Option<UserId>,
        text: &str,
        now: Millis,
    ) -> Result<NotificationId, StoreError> {
        let r = self
            .one(
                "INSERT INTO notifications (user_id, kind, ticket_id, conversation_id, comment_id, actor_id, text, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                args![user, kind, ticket, conversation, comment, actor, text, now],
            )
            .await?;
        Ok(NotificationId(r.i64("id")?))
    }

    pub async fn mark_notifications_read(
        &mut self,
        user: UserId,
        now: Millis,
    ) -> Result<u64, StoreError> {
        self.exec(
            "UPDATE notifications SET read_at = $2 WHERE user_id = $1 AND read_at IS NULL",
            args![user, now],
        )
        .await
    }

    pub async fn follow(
        &mut self,
        user: UserId,
        ticket: TicketId,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "INSERT INTO follows (user_id, ticket_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                args![user, ticket, now],
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn unfollow(&mut self, user: UserId, ticket: TicketId) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "DELETE FROM follows WHERE user_id = $1 AND ticket_id = $2",
                args![user, ticket],
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn followers(&mut self, ticket: TicketId) -> Result<Vec<UserId>, StoreError> {
        let rows = self
            .all(
                "SELECT user_id FROM follows WHERE ticket_id = $1 ORDER BY user_id",
                args![ticket],
            )
            .await?;
        rows.iter().map(|r| Ok(UserId(r.i64("user_id")?))).collect()
    }
}
