//! Follow and notify: the one place every use case calls when something happens on a
//! ticket ([`notify_ticket_activity`], inside the use case's transaction), opening a
//! notification, users' email preferences, and the notification emails (one per
//! notification, or a periodic digest) that the job queue sends.
//!
//! Who is told is fd-domain's `notify::ticket_activity_recipients`; HD-09 is checked here
//! against the store, when the notification is written and again when it is emailed.
//! Depends on the store, the mail service's relay and fd-mail's builder; must not depend on
//! the other use-case modules (they call this one), on HTTP or on HTML templates.

use fd_domain::notify::{self, NotifyEmail, TicketActivity};
use fd_domain::*;
use fd_store::{NewNotification, Notification, Tx};

use crate::mail::MailService;
use crate::{Actor, App, AppError, Event};

/// Job kind: email one notification (payload `{"notification_id": n}`).
pub(crate) const JOB_NOTIFY_EMAIL: &str = "notify.email";
/// Job kind: email a user's digest (payload `{"user_id": n}`).
pub(crate) const JOB_NOTIFY_DIGEST: &str = "notify.digest";

/// What happened on a ticket, as a use case reports it to [`notify_ticket_activity`].
#[derive(Debug, Clone)]
pub(crate) struct TicketNotice {
    pub ticket: TicketId,
    pub activity: TicketActivity,
    pub conversation: Option<ConversationId>,
    pub comment: Option<CommentId>,
    /// The message, comment or change the notification quotes (made an excerpt here).
    pub excerpt: String,
    /// An assignment: the new owner hears of it even when not following the ticket.
    pub new_owner: Option<UserId>,
    /// A reassignment: the previous owner hears that the ticket left them.
    pub previous_owner: Option<UserId>,
    /// Users already told of this by another notification (a comment's @mentions).
    pub already_told: Vec<UserId>,
}

impl TicketNotice {
    pub(crate) fn new(ticket: TicketId, activity: TicketActivity, excerpt: &str) -> TicketNotice {
        TicketNotice {
            ticket,
            activity,
            conversation: None,
            comment: None,
            excerpt: excerpt.to_string(),
            new_owner: None,
            previous_owner: None,
            already_told: Vec::new(),
        }
    }
}

/// Writes the notifications of one activity on a ticket, in the caller's transaction:
/// owner and followers (and a new owner), less the actor, less anyone who may not see the
/// ticket now (HD-09); queues one email each for those who want them immediately. Returns
/// the users notified, for the caller's `NotificationsChanged` events.
pub(crate) async fn notify_ticket_activity(
    tx: &mut Tx,
    actor: &Actor,
    notice: TicketNotice,
    now: Millis,
) -> Result<Vec<UserId>, AppError> {
    let Some(ticket) = tx.ticket(&ViewerScope::All, notice.ticket).await? else {
        return Ok(Vec::new());
    };
    let followers = tx.followers(ticket.id).await?;
    let actor_id = actor.user_id();
    let mut recipients =
        notify::ticket_activity_recipients(ticket.owner_id, &followers, notice.new_owner, actor_id);
    if let Some(p) = notice.previous_owner
        && Some(p) != actor_id
        && !recipients.contains(&p)
    {
        recipients.push(p);
    }
    if recipients.is_empty() {
        return Ok(Vec::new());
    }
    let actor_name = match actor_id {
        Some(id) => tx.user(id).await?.map(|u| u.name),
        None => None,
    };
    let activity = if notice.new_owner.is_some() && notice.activity == TicketActivity::OwnerChanged
    {
        TicketActivity::OwnerChanged
    } else {
        notice.activity
    };
    let excerpt = notify::excerpt(&notice.excerpt);
    let mut told = Vec::new();
    for user in recipients {
        if notice.already_told.contains(&user) {
            continue;
        }
        let Some(u) = tx.user(user).await? else {
            continue;
        };
        if !u.active
            || tx
                .ticket(&u.viewer().ticket_scope(), ticket.id)
                .await?
                .is_none()
        {
            continue;
        }
        let text = if notice.new_owner == Some(user) {
            match &actor_name {
                Some(n) => format!("{n} assigned you the ticket"),
                None => "You were assigned the ticket".to_string(),
            }
        } else {
            activity.headline(actor_name.as_deref())
        };
        let id = tx
            .insert_ticket_notification(
                &NewNotification {
                    user,
                    kind: activity.kind(),
                    ticket: Some(ticket.id),
                    conversation: notice.conversation,
                    comment: notice.comment,
                    actor: actor_id,
                    text: &text,
                    excerpt: (!excerpt.is_empty()).then_some(excerpt.as_str()),
                },
                now,
            )
            .await?;
        if tx.notify_email_mode(user).await? == NotifyEmail::Immediately {
            tx.enqueue_job(
                JOB_NOTIFY_EMAIL,
                &serde_json::json!({ "notification_id": id.0 }).to_string(),
                now,
                5,
                now,
            )
            .await?;
        }
        told.push(user);
    }
    Ok(told)
}

impl App {
    /// Opens one of the actor's notifications: marks it read and returns it (its ticket is
    /// where the caller goes next). One the actor may no longer see is "not found" (HD-09).
    pub async fn open_notification(
        &self,
        actor: &Actor,
        id: NotificationId,
    ) -> Result<Notification, AppError> {
        let user = actor.require_user()?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let Some(n) = tx.notification(user, &actor.scope(), id).await? else {
            return Err(AppError::not_found("notification", id));
        };
        let changed = tx.mark_notification_read(user, id, now).await?;
        tx.commit().await?;
        if changed {
            self.publish(vec![Event::NotificationsChanged(user)]);
        }
        Ok(n)
    }

    /// The actor's email preference for notifications.
    pub async fn notify_email_mode(&self, actor: &Actor) -> Result<NotifyEmail, AppError> {
        let user = actor.require_user()?;
        let mut tx = self.db().read().await?;
        let m = tx.notify_email_mode(user).await?;
        tx.commit().await?;
        Ok(m)
    }

    /// Sets how the actor is emailed about notifications (off, immediately, a digest).
    pub async fn set_notify_email_mode(
        &self,
        actor: &Actor,
        mode: &str,
    ) -> Result<NotifyEmail, AppError> {
        let user = actor.require_user()?;
        let mode = NotifyEmail::parse(mode)?;
        let mut tx = self.db().write().await?;
        tx.set_notify_email_mode(user, mode).await?;
        tx.commit().await?;
        Ok(mode)
    }

    /// The account's follow-up period in days (0: a customer's reply always reopens).
    pub async fn follow_up_days(&self) -> Result<i64, AppError> {
        let mut tx = self.db().read().await?;
        let d = tx.follow_up_days().await?;
        tx.commit().await?;
        Ok(d)
    }

    /// Sets the follow-up period (administrators only).
    pub async fn set_follow_up_days(&self, actor: &Actor, days: i64) -> Result<i64, AppError> {
        actor.require_admin("changing the follow-up period")?;
        let days = notify::check_follow_up_days(days)?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        tx.set_follow_up_days(days, now).await?;
        tx.commit().await?;
        Ok(days)
    }

    /// Follow-up links of a ticket the actor may see: the ticket it follows up and its own
    /// follow-ups, each with its subject, only those the actor may see (HD-09).
    pub async fn follow_up_links(
        &self,
        actor: &Actor,
        ticket: TicketId,
    ) -> Result<(Option<(TicketId, String)>, Vec<(TicketId, String)>), AppError> {
        let scope = actor.scope();
        let mut tx = self.db().read().await?;
        if tx.ticket(&scope, ticket).await?.is_none() {
            return Err(AppError::not_found("ticket", ticket));
        }
        let of = match tx.follow_up_of(ticket).await? {
            Some(o) => tx.ticket(&scope, o).await?.map(|t| (t.id, t.subject)),
            None => None,
        };
        let mut ups = Vec::new();
        for f in tx.follow_ups(ticket).await? {
            if let Some(t) = tx.ticket(&scope, f).await? {
                ups.push((t.id, t.subject));
            }
        }
        tx.commit().await?;
        Ok((of, ups))
    }

    /// The periodic part of digests: queues one digest job for each user whose digest is
    /// due and who has something unread not emailed yet. The server calls it every few
    /// minutes; tests call it after moving the clock. Returns how many were queued.
    pub async fn queue_notification_digests(&self) -> Result<usize, AppError> {
        let now = self.now();
        let mut tx = self.db().write().await?;
        let mut queued = 0;
        for (user, mode, last) in tx.digest_candidates().await? {
            if notify::digest_due(mode, last, now) {
                tx.enqueue_job(
                    JOB_NOTIFY_DIGEST,
                    &serde_json::json!({ "user_id": user.0 }).to_string(),
                    now,
                    5,
                    now,
                )
                .await?;
                tx.set_last_digest_at(user, now).await?;
                queued += 1;
            }
        }
        tx.commit().await?;
        Ok(queued)
    }
}

/// What a notification job did.
pub(crate) enum NotifyOutcome {
    Sent,
    NotSent,
}

/// One notification as an email's lines: headline, ticket, excerpt, link.
fn notification_lines(n: &Notification, base: &str) -> String {
    let ticket = match (n.ticket_id, &n.ticket_subject) {
        (Some(t), Some(s)) => format!("Ticket #{t}: {s}"),
        (Some(t), None) => format!("Ticket #{t}"),
        _ => String::new(),
    };
    let mut out = format!("{}\n{ticket}\n", n.text);
    if let Some(e) = &n.excerpt {
        out.push_str(&format!("> {e}\n"));
    }
    out.push_str(&format!("Open: {base}/notifications/{}\n", n.id));
    out
}

impl MailService {
    /// The public base URL links in notification emails start with (no trailing slash).
    fn public_base(&self) -> String {
        self.settings()
            .public_url
            .clone()
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_string()
    }

    /// Emails one notification, if its recipient still wants email, has not read it, and
    /// may still see its ticket (HD-09, checked again now). Never threads into a ticket: no
    /// reply token, no `[#id]` tag, no references, and `Auto-Submitted: auto-generated`.
    pub(crate) async fn send_notification_email(
        &self,
        id: NotificationId,
    ) -> Result<NotifyOutcome, AppError> {
        let app = self.app();
        let mut tx = app.db().read().await?;
        let owner = tx.notification_owner(id).await?;
        let Some(user) = owner else {
            tx.commit().await?;
            return Ok(NotifyOutcome::NotSent);
        };
        let Some(u) = tx.user(user).await?.filter(|u| u.active) else {
            tx.commit().await?;
            return Ok(NotifyOutcome::NotSent);
        };
        let n = tx
            .notification(user, &u.viewer().ticket_scope(), id)
            .await?;
        let mode = tx.notify_email_mode(user).await?;
        tx.commit().await?;
        let Some(n) = n.filter(|n| n.read_at.is_none() && n.emailed_at.is_none()) else {
            return Ok(NotifyOutcome::NotSent);
        };
        if mode != NotifyEmail::Immediately {
            // Changed since: a digest will gather it, or the user wants no email.
            return Ok(NotifyOutcome::NotSent);
        }
        let subject = match (n.ticket_id, &n.ticket_subject) {
            (Some(t), Some(s)) => format!("{} on \"{s}\" (#{t})", n.text),
            _ => n.text.clone(),
        };
        let base = self.public_base();
        let text = format!(
            "{}\nYou get this email because you own or follow this ticket. \
             Change how you are notified in your profile: {base}/profile\n",
            notification_lines(&n, &base)
        );
        self.deliver_notification(&u.email, &u.name, &subject, &text)
            .await?;
        let now = app.now();
        let mut tx = app.db().write().await?;
        tx.mark_notifications_emailed(&[n.id], now).await?;
        tx.commit().await?;
        Ok(NotifyOutcome::Sent)
    }

    /// Emails a user's digest: their unread notifications not emailed yet that they may
    /// still see (HD-09, checked now), in one message.
    pub(crate) async fn send_notification_digest(
        &self,
        user: UserId,
    ) -> Result<NotifyOutcome, AppError> {
        let app = self.app();
        let mut tx = app.db().read().await?;
        let Some(u) = tx.user(user).await?.filter(|u| u.active) else {
            tx.commit().await?;
            return Ok(NotifyOutcome::NotSent);
        };
        let items = tx
            .unemailed_notifications(user, &u.viewer().ticket_scope())
            .await?;
        tx.commit().await?;
        if items.is_empty() {
            return Ok(NotifyOutcome::NotSent);
        }
        let base = self.public_base();
        let mut text = format!(
            "{} new notification(s) on tickets you own or follow:\n\n",
            items.len()
        );
        for n in &items {
            text.push_str(&notification_lines(n, &base));
            text.push('\n');
        }
        text.push_str(&format!(
            "Change how you are notified in your profile: {base}/profile\n"
        ));
        let subject = format!("Frontdesk digest: {} new notification(s)", items.len());
        self.deliver_notification(&u.email, &u.name, &subject, &text)
            .await?;
        let now = app.now();
        let mut tx = app.db().write().await?;
        let ids: Vec<NotificationId> = items.iter().map(|n| n.id).collect();
        tx.mark_notifications_emailed(&ids, now).await?;
        tx.commit().await?;
        Ok(NotifyOutcome::Sent)
    }

    /// Hands a notification email to the relay (see `send_automatic_mail`; the notification
    /// stays in the app either way).
    async fn deliver_notification(
        &self,
        to: &str,
        name: &str,
        subject: &str,
        text: &str,
    ) -> Result<(), AppError> {
        let to = fd_mail::Mailbox {
            name: Some(name.to_string()),
            address: to.to_string(),
        };
        self.send_automatic_mail(
            "notification email",
            "Frontdesk notifications",
            to,
            subject,
            text.to_string(),
        )
        .await
    }
}
