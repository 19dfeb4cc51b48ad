//! Notifications as the bell and the notification emails read them, users' email
//! preferences and digest times, the account's follow-up period, and the links between
//! follow-up tickets and the tickets they follow up (migration 0019).
//!
//! SQL only: who is notified and when a digest is due are fd-domain's `notify` rules.

use fd_domain::notify::NotifyEmail;
use fd_domain::*;

use crate::{Notification, StoreError, Tx, args};

const COLUMNS: &str = "n.id, n.user_id, n.kind, n.ticket_id, n.conversation_id, n.comment_id, \
     n.actor_id, n.text, n.excerpt, t.subject AS ticket_subject, n.created_at, n.read_at, n.emailed_at \
     FROM notifications n LEFT JOIN tickets t ON t.id = n.ticket_id";

fn notification_from_row(r: &crate::Row) -> Result<Notification, StoreError> {
    Ok(Notification {
        id: NotificationId(r.i64("id")?),
        user_id: UserId(r.i64("user_id")?),
        kind: r.string("kind")?,
        ticket_id: r.opt_i64("ticket_id")?.map(TicketId),
        conversation_id: r.opt_i64("conversation_id")?.map(ConversationId),
        comment_id: r.opt_i64("comment_id")?.map(CommentId),
        actor_id: r.opt_i64("actor_id")?.map(UserId),
        text: r.string("text")?,
        excerpt: r.opt_string("excerpt")?,
        ticket_subject: r.opt_string("ticket_subject")?,
        created_at: r.i64("created_at")?,
        read_at: r.opt_i64("read_at")?,
        emailed_at: r.opt_i64("emailed_at")?,
    })
}

/// One notification to write (see `Tx::insert_ticket_notification`).
#[derive(Debug, Clone)]
pub struct NewNotification<'a> {
    pub user: UserId,
    pub kind: &'a str,
    pub ticket: Option<TicketId>,
    pub conversation: Option<ConversationId>,
    pub comment: Option<CommentId>,
    pub actor: Option<UserId>,
    pub text: &'a str,
    pub excerpt: Option<&'a str>,
}

impl Tx {
    pub async fn insert_ticket_notification(
        &mut self,
        n: &NewNotification<'_>,
        now: Millis,
    ) -> Result<NotificationId, StoreError> {
        let r = self
            .one(
                "INSERT INTO notifications (user_id, kind, ticket_id, conversation_id, comment_id, actor_id, text, excerpt, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                args![
                    n.user,
                    n.kind,
                    n.ticket,
                    n.conversation,
                    n.comment,
                    n.actor,
                    n.text,
                    n.excerpt.map(str::to_string),
                    now
                ],
            )
            .await?;
        Ok(NotificationId(r.i64("id")?))
    }

    /// A user's notifications, newest first. Notifications about tickets the user can no
    /// longer see are left out (HD-09 covers notifications too).
    pub async fn notifications(
        &mut self,
        user: UserId,
        scope: &ViewerScope,
        limit: i64,
    ) -> Result<Vec<Notification>, StoreError> {
        let mut sql = crate::Sql::new("SELECT ");
        sql.push(COLUMNS).push(" WHERE n.user_id = ").bind(user);
        push_visible(&mut sql, scope);
        sql.push(" ORDER BY n.created_at DESC, n.id DESC LIMIT ")
            .bind(limit);
        let rows = self.all_sql(sql).await?;
        rows.iter().map(notification_from_row).collect()
    }

    /// One of `user`'s notifications, if it exists and its ticket is visible under `scope`.
    pub async fn notification(
        &mut self,
        user: UserId,
        scope: &ViewerScope,
        id: NotificationId,
    ) -> Result<Option<Notification>, StoreError> {
        let mut sql = crate::Sql::new("SELECT ");
        sql.push(COLUMNS).push(" WHERE n.id = ").bind(id);
        sql.push(" AND n.user_id = ").bind(user);
        push_visible(&mut sql, scope);
        match self.opt_sql(sql).await? {
            Some(r) => Ok(Some(notification_from_row(&r)?)),
            None => Ok(None),
        }
    }

    /// Marks one notification read (no change when it was read already).
    pub async fn mark_notification_read(
        &mut self,
        user: UserId,
        id: NotificationId,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE notifications SET read_at = $3 WHERE id = $1 AND user_id = $2 AND read_at IS NULL",
                args![id, user, now],
            )
            .await?;
        Ok(n == 1)
    }

    /// `user`'s unread notifications not emailed yet, visible under `scope`, oldest first:
    /// what a digest gathers.
    pub async fn unemailed_notifications(
        &mut self,
        user: UserId,
        scope: &ViewerScope,
    ) -> Result<Vec<Notification>, StoreError> {
        let mut sql = crate::Sql::new("SELECT ");
        sql.push(COLUMNS).push(" WHERE n.user_id = ").bind(user);
        sql.push(" AND n.read_at IS NULL AND n.emailed_at IS NULL");
        push_visible(&mut sql, scope);
        sql.push(" ORDER BY n.created_at, n.id LIMIT 200");
        let rows = self.all_sql(sql).await?;
        rows.iter().map(notification_from_row).collect()
    }

    /// Marks notifications as emailed (or as settled without email, when the recipient may
    /// no longer see them), so no digest sends them again.
    pub async fn mark_notifications_emailed(
        &mut self,
        ids: &[NotificationId],
        now: Millis,
    ) -> Result<(), StoreError> {
        for id in ids {
            self.exec(
                "UPDATE notifications SET emailed_at = $2 WHERE id = $1 AND emailed_at IS NULL",
                args![*id, now],
            )
            .await?;
        }
        Ok(())
    }

    /// Whose notification `id` is.
    pub async fn notification_owner(
        &mut self,
        id: NotificationId,
    ) -> Result<Option<UserId>, StoreError> {
        let r = self
            .opt("SELECT user_id FROM notifications WHERE id = $1", args![id])
            .await?;
        match r {
            Some(r) => Ok(Some(UserId(r.i64("user_id")?))),
            None => Ok(None),
        }
    }

    /// The first connected team address: notifications' From when none is configured.
    pub async fn first_team_address(&mut self) -> Result<Option<String>, StoreError> {
        let r = self
            .opt(
                "SELECT address FROM team_addresses ORDER BY address LIMIT 1",
                args![],
            )
            .await?;
        match r {
            Some(r) => Ok(Some(r.string("address")?)),
            None => Ok(None),
        }
    }

    /// A user's email preference for notifications (the default when never set).
    pub async fn notify_email_mode(&mut self, user: UserId) -> Result<NotifyEmail, StoreError> {
        let r = self
            .opt(
                "SELECT email_mode FROM notification_prefs WHERE user_id = $1",
                args![user],
            )
            .await?;
        match r {
            Some(r) => NotifyEmail::parse(&r.string("email_mode")?)
                .map_err(|e| StoreError::Decode(e.to_string())),
            None => Ok(NotifyEmail::default()),
        }
    }

    pub async fn set_notify_email_mode(
        &mut self,
        user: UserId,
        mode: NotifyEmail,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO notification_prefs (user_id, email_mode) VALUES ($1, $2) \
             ON CONFLICT (user_id) DO UPDATE SET email_mode = excluded.email_mode",
            args![user, mode.as_str()],
        )
        .await?;
        Ok(())
    }

    /// Users who chose a digest and have unread notifications not emailed yet, with their
    /// mode and the time of their last digest.
    pub async fn digest_candidates(
        &mut self,
    ) -> Result<Vec<(UserId, NotifyEmail, Option<Millis>)>, StoreError> {
        let rows = self
            .all(
                "SELECT p.user_id, p.email_mode, p.last_digest_at FROM notification_prefs p \
                 WHERE p.email_mode IN ('hourly', 'daily') AND EXISTS (SELECT 1 FROM notifications n \
                 WHERE n.user_id = p.user_id AND n.read_at IS NULL AND n.emailed_at IS NULL) \
                 ORDER BY p.user_id",
                args![],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    UserId(r.i64("user_id")?),
                    NotifyEmail::parse(&r.string("email_mode")?)
                        .map_err(|e| StoreError::Decode(e.to_string()))?,
                    r.opt_i64("last_digest_at")?,
                ))
            })
            .collect()
    }

    pub async fn set_last_digest_at(
        &mut self,
        user: UserId,
        now: Millis,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE notification_prefs SET last_digest_at = $2 WHERE user_id = $1",
            args![user, now],
        )
        .await?;
        Ok(())
    }

    /// The account's follow-up period in days (0: always reopen).
    pub async fn follow_up_days(&mut self) -> Result<i64, StoreError> {
        let r = self
            .one(
                "SELECT follow_up_days FROM account_settings WHERE id = 1",
                args![],
            )
            .await?;
        r.i64("follow_up_days")
    }

    pub async fn set_follow_up_days(&mut self, days: i64, now: Millis) -> Result<(), StoreError> {
        self.exec(
            "UPDATE account_settings SET follow_up_days = $1, updated_at = $2 WHERE id = 1",
            args![days, now],
        )
        .await?;
        Ok(())
    }

    pub async fn insert_follow_up(
        &mut self,
        ticket: TicketId,
        of: TicketId,
        now: Millis,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO ticket_follow_ups (ticket_id, follow_up_of, created_at) VALUES ($1, $2, $3)",
            args![ticket, of, now],
        )
        .await?;
        Ok(())
    }

    /// A chat's follow-up: the visitor's session moves to the follow-up conversation, so
    /// the widget goes on there (and the next message does not open another follow-up).
    pub async fn move_chat_session(
        &mut self,
        from: ConversationId,
        to: ConversationId,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE chat_sessions SET conversation_id = $2, visitor_seen_message_id = NULL WHERE conversation_id = $1",
            args![from, to],
        )
        .await?;
        Ok(())
    }

    /// The ticket `ticket` follows up, if any.
    pub async fn follow_up_of(&mut self, ticket: TicketId) -> Result<Option<TicketId>, StoreError> {
        let r = self
            .opt(
                "SELECT follow_up_of FROM ticket_follow_ups WHERE ticket_id = $1",
                args![ticket],
            )
            .await?;
        match r {
            Some(r) => Ok(Some(TicketId(r.i64("follow_up_of")?))),
            None => Ok(None),
        }
    }

    /// The follow-up tickets of `ticket`, oldest first.
    pub async fn follow_ups(&mut self, ticket: TicketId) -> Result<Vec<TicketId>, StoreError> {
        let rows = self
            .all(
                "SELECT ticket_id FROM ticket_follow_ups WHERE follow_up_of = $1 ORDER BY created_at, ticket_id",
                args![ticket],
            )
            .await?;
        rows.iter()
            .map(|r| Ok(TicketId(r.i64("ticket_id")?)))
            .collect()
    }
}

/// HD-09 for notifications: those about a ticket the viewer may not see are left out.
fn push_visible(sql: &mut crate::Sql, scope: &ViewerScope) {
    if !matches!(scope, ViewerScope::All) {
        // EXISTS by primary key, not `IN (SELECT …)`, which scans every visible ticket.
        sql.push(" AND (n.ticket_id IS NULL OR EXISTS (SELECT 1 FROM tickets t2 WHERE t2.id = n.ticket_id");
        crate::push_ticket_scope(sql, scope, "t2");
        sql.push("))");
    }
}
