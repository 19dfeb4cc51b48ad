//! Comments and what they notify (HD-21): internal notes on tickets and conversations,
//! `@mentions`, followers' notifications, the notification bell and the Mentions view.
//!
//! Depends on the conversations module (its lock order) and the tickets' lock; must not be
//! depended on by them, nor depend on HTTP, HTML or drafts' use cases.

use fd_domain::rules::{self, Mentionable};
use fd_domain::*;
use fd_store::{Comment, Conversation, NewActivity, Notification, Ticket};

use fd_domain::notify::TicketActivity;

use crate::conversations::lock_conversation;
use crate::notify::{TicketNotice, notify_ticket_activity};
use crate::{Actor, App, AppError, Event};

impl App {
    /// HD-21: an internal note on a ticket or a conversation; `@mentions` notify, and
    /// followers of the ticket hear of it.
    pub async fn comment(
        &self,
        actor: &Actor,
        ticket: Option<TicketId>,
        conversation: Option<ConversationId>,
        body: &str,
    ) -> Result<Comment, AppError> {
        let author = actor.require_user()?;
        if body.trim().is_empty() {
            return Err(AppError::invalid("body", "the comment is empty"));
        }
        let now = self.now();
        let mut tx = self.db().write().await?;
        let (ticket_id, conv) = match (ticket, conversation) {
            (_, Some(cid)) => {
                let c = lock_conversation(&mut tx, actor, cid).await?;
                (c.ticket_id, Some(c))
            }
            (Some(tid), None) => {
                self.locked_ticket(&mut tx, actor, tid).await?;
                (Some(tid), None)
            }
            (None, None) => {
                return Err(AppError::invalid(
                    "target",
                    "a comment needs a ticket or a conversation",
                ));
            }
        };
        // HD-21: on a call's conversation, commenting opens once an email is drafted or sent.
        let call_convs: Vec<Conversation> = match (&conv, ticket_id) {
            (Some(c), _) => vec![c.clone()],
            (None, Some(t)) => tx.conversations_of_ticket(&actor.scope(), t, false).await?,
            (None, None) => Vec::new(),
        };
        let channels: Vec<Channel> = call_convs.iter().map(|c| c.channel).collect();
        if !rules::hd_21_comments_open(&channels, false) {
            let mut email_started = tx.draft(author, ticket_id, None).await?.is_some();
            for c in &call_convs {
                email_started |= tx.draft(author, ticket_id, Some(c.id)).await?.is_some()
                    || tx
                        .message_count(&actor.scope(), c.id, Some(Direction::Outbound))
                        .await?
                        > 0;
            }
            rules::hd_21_check_comment(&channels, email_started)?;
        }
        let users: Vec<Mentionable> = tx
            .users()
            .await?
            .into_iter()
            .filter(|u| u.active)
            .map(|u| Mentionable {
                id: u.id,
                name: u.name,
                email: u.email,
            })
            .collect();
        let mentions = rules::hd_21_find_mentions(body, &users);
        let conv_id = conv.as_ref().map(|c| c.id);
        let id = tx
            .insert_comment(ticket_id, conv_id, Some(author), body, &mentions, now)
            .await?;
        let author_name = users
            .iter()
            .find(|u| u.id == author)
            .map(|u| u.name.clone())
            .unwrap_or_default();
        let mut notified = Vec::new();
        for m in &mentions {
            if *m == author {
                continue;
            }
            let excerpt = fd_domain::notify::excerpt(body);
            tx.insert_ticket_notification(
                &fd_store::NewNotification {
                    user: *m,
                    kind: "mention",
                    ticket: ticket_id,
                    conversation: conv_id,
                    comment: Some(id),
                    actor: Some(author),
                    text: &format!("{author_name} mentioned you"),
                    excerpt: Some(&excerpt),
                },
                now,
            )
            .await?;
            notified.push(*m);
        }
        if let Some(t) = ticket_id {
            // Owner and followers hear of it through the one notification path; those
            // @mentioned were told already.
            let mut n = TicketNotice::new(t, TicketActivity::Comment, body);
            n.conversation = conv_id;
            n.comment = Some(id);
            n.already_told = notified.clone();
            notified.extend(notify_ticket_activity(&mut tx, actor, n, now).await?);
            tx.touch_ticket(t, now).await?;
            tx.record_activity(&NewActivity {
                object_type: ObjectType::Ticket,
                object_id: t.0,
                actor: actor.actor_ref(),
                action: "commented",
                field: None,
                old_value: None,
                new_value: Some(id.to_string()),
                at: now,
            })
            .await?;
        }
        tx.commit().await?;
        let mut events: Vec<Event> = notified
            .into_iter()
            .map(Event::NotificationsChanged)
            .collect();
        if let Some(t) = ticket_id {
            events.push(Event::TicketChanged(t));
        }
        if let Some(c) = conv_id {
            events.push(Event::ConversationChanged(c));
        }
        self.publish(events);
        Ok(Comment {
            id,
            ticket_id,
            conversation_id: conv_id,
            author_id: Some(author),
            body: body.to_string(),
            mentions,
            created_at: now,
        })
    }

    pub async fn notifications(
        &self,
        actor: &Actor,
        limit: i64,
    ) -> Result<Vec<Notification>, AppError> {
        let user = actor.require_user()?;
        let mut tx = self.db().read().await?;
        let n = tx
            .notifications(user, &actor.scope(), limit.clamp(1, 500))
            .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// The bell: how many unread notifications the actor may see.
    pub async fn unread_notification_count(&self, actor: &Actor) -> Result<i64, AppError> {
        let user = actor.require_user()?;
        let mut tx = self.db().read().await?;
        let n = tx.unread_notification_count(user, &actor.scope()).await?;
        tx.commit().await?;
        Ok(n)
    }

    pub async fn mark_notifications_read(&self, actor: &Actor) -> Result<(), AppError> {
        let user = actor.require_user()?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        tx.mark_notifications_read(user, now).await?;
        tx.commit().await?;
        self.publish(vec![crate::Event::NotificationsChanged(user)]);
        Ok(())
    }

    /// The Mentions view: tickets whose comments @mention the actor.
    pub async fn mentioned_tickets(
        &self,
        actor: &Actor,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Ticket>, i64), AppError> {
        actor.require_ticket_access()?;
        let user = actor.require_user()?;
        let mut tx = self.db().read().await?;
        let list = tx
            .mentioned_tickets(&actor.scope(), user, limit, offset)
            .await?;
        let n = tx.count_mentioned_tickets(&actor.scope(), user).await?;
        tx.commit().await?;
        Ok((list, n))
    }
}
