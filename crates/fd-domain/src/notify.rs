//! Following and notifying (who hears of what happens on a ticket, and how they are told by
//! email) and follow-up tickets (a customer writing long after a ticket closed).
//!
//! Pure decisions only: the use cases in fd-app load owners, followers, preferences and
//! times, ask these functions, and write what they answer. No I/O, no clock reads.

use crate::model::{Millis, UserId};
use crate::{DomainError, ErrorCode, FieldError};

/// What happened on a ticket that its owner and followers hear of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketActivity {
    /// A customer wrote (mail, chat, a form, a call's note from the customer's side).
    CustomerMessage,
    /// An agent replied to the customer.
    Reply,
    /// An internal comment.
    Comment,
    /// The ticket moved to another stage.
    StatusChanged,
    /// The ticket changed owner.
    OwnerChanged,
    /// Another ticket was merged into this one.
    Merged,
    /// A customer's late reply opened a follow-up ticket of this one.
    FollowUp,
}

impl TicketActivity {
    /// The notification's `kind` column.
    pub fn kind(self) -> &'static str {
        match self {
            TicketActivity::CustomerMessage => "customer_message",
            TicketActivity::Reply => "reply",
            TicketActivity::Comment => "comment",
            TicketActivity::StatusChanged => "status",
            TicketActivity::OwnerChanged => "owner",
            TicketActivity::Merged => "merge",
            TicketActivity::FollowUp => "follow_up",
        }
    }

    /// The notification's headline, given who did it (`None`: the customer or the system).
    pub fn headline(self, actor_name: Option<&str>) -> String {
        let who = actor_name.filter(|n| !n.trim().is_empty());
        match (self, who) {
            (TicketActivity::CustomerMessage, _) => "The customer wrote".into(),
            (TicketActivity::Reply, Some(n)) => format!("{n} replied"),
            (TicketActivity::Reply, None) => "A reply was sent".into(),
            (TicketActivity::Comment, Some(n)) => format!("{n} commented"),
            (TicketActivity::Comment, None) => "A comment was added".into(),
            (TicketActivity::StatusChanged, Some(n)) => format!("{n} changed the status"),
            (TicketActivity::StatusChanged, None) => "The status changed".into(),
            (TicketActivity::OwnerChanged, Some(n)) => format!("{n} changed the owner"),
            (TicketActivity::OwnerChanged, None) => "The owner changed".into(),
            (TicketActivity::Merged, Some(n)) => format!("{n} merged a ticket into it"),
            (TicketActivity::Merged, None) => "A ticket was merged into it".into(),
            (TicketActivity::FollowUp, _) => "The customer wrote again: follow-up opened".into(),
        }
    }
}

/// Who is told of an activity on a ticket: its owner and its followers, less the person who
/// did it (nobody needs to hear of their own action); `new_owner` (an assignment) is told
/// even when not a follower. Each user once, in a stable order. Whether each may still see
/// the ticket (HD-09) is for the caller to check against the store, at the time it writes
/// and again when it emails.
pub fn ticket_activity_recipients(
    owner: Option<UserId>,
    followers: &[UserId],
    new_owner: Option<UserId>,
    actor: Option<UserId>,
) -> Vec<UserId> {
    let mut out: Vec<UserId> = Vec::new();
    for u in owner.iter().chain(new_owner.iter()).chain(followers.iter()) {
        if Some(*u) != actor && !out.contains(u) {
            out.push(*u);
        }
    }
    out
}

/// Longest excerpt a notification shows, in characters.
pub const EXCERPT_CHARS: usize = 140;

/// A notification's excerpt: the text on one line (runs of whitespace become one space),
/// cut at [`EXCERPT_CHARS`] characters with an ellipsis.
pub fn excerpt(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= EXCERPT_CHARS {
        return flat;
    }
    let cut: String = flat.chars().take(EXCERPT_CHARS - 1).collect();
    format!("{}…", cut.trim_end())
}

/// The excerpt of a change: `old → new`.
pub fn change_excerpt(old: &str, new: &str) -> String {
    excerpt(&format!("{old} → {new}"))
}

/// How a user wants their notifications by email.
///
/// The default is [`NotifyEmail::Immediately`]: mature help desks (Zendesk's triggers,
/// HubSpot's ticket notifications, Freshdesk) email an agent at once when a customer
/// writes or a ticket is assigned to them, because a reply that waits an hour for a digest
/// breaks response-time targets; users who find it noisy choose a digest or turn it off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NotifyEmail {
    Off,
    #[default]
    Immediately,
    Hourly,
    Daily,
}

impl NotifyEmail {
    pub const ALL: [NotifyEmail; 4] = [
        NotifyEmail::Off,
        NotifyEmail::Immediately,
        NotifyEmail::Hourly,
        NotifyEmail::Daily,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotifyEmail::Off => "off",
            NotifyEmail::Immediately => "immediately",
            NotifyEmail::Hourly => "hourly",
            NotifyEmail::Daily => "daily",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            NotifyEmail::Off => "Off: only in the app",
            NotifyEmail::Immediately => "Immediately: one email per notification",
            NotifyEmail::Hourly => "Hourly digest",
            NotifyEmail::Daily => "Daily digest",
        }
    }

    pub fn parse(s: &str) -> Result<NotifyEmail, DomainError> {
        NotifyEmail::ALL
            .into_iter()
            .find(|m| m.as_str() == s.trim())
            .ok_or_else(|| {
                DomainError::Invalid(vec![FieldError::new(
                    "notify_email",
                    ErrorCode::InvalidOption,
                    format!(
                        "{s:?} is not an email notification setting (off, immediately, hourly, daily)"
                    ),
                )])
            })
    }

    /// The digest period in milliseconds (`None`: not a digest).
    pub fn digest_period_ms(self) -> Option<Millis> {
        match self {
            NotifyEmail::Hourly => Some(3_600_000),
            NotifyEmail::Daily => Some(86_400_000),
            NotifyEmail::Off | NotifyEmail::Immediately => None,
        }
    }
}

/// Whether a digest is due for a user now: they chose a digest and a whole period has
/// passed since the last one (the first one is due at once, it then sets the rhythm).
pub fn digest_due(mode: NotifyEmail, last_digest_at: Option<Millis>, now: Millis) -> bool {
    match (mode.digest_period_ms(), last_digest_at) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(p), Some(last)) => now - last >= p,
    }
}

/// The default follow-up period in days. A week: a customer who answers within days of a
/// close is usually saying "it is not fixed yet" (reopen the same ticket, its history and
/// owner are what they need); weeks later it is nearly always a new matter, and reopening
/// the old ticket would skew its resolution time and hand it to someone who has moved on.
/// (Zendesk's solved tickets close after four days by default and then take follow-ups.)
pub const DEFAULT_FOLLOW_UP_DAYS: i64 = 7;

/// Largest accepted period (ten years): beyond that "always reopen" is what is meant (0).
pub const MAX_FOLLOW_UP_DAYS: i64 = 3650;

/// Checks an account's follow-up period: whole days, 0 (always reopen) to
/// [`MAX_FOLLOW_UP_DAYS`].
pub fn check_follow_up_days(days: i64) -> Result<i64, DomainError> {
    if (0..=MAX_FOLLOW_UP_DAYS).contains(&days) {
        Ok(days)
    } else {
        Err(DomainError::Invalid(vec![FieldError::new(
            "follow_up_days",
            ErrorCode::InvalidValue,
            format!(
                "the follow-up period is whole days from 0 (always reopen) to {MAX_FOLLOW_UP_DAYS}, not {days}"
            ),
        )]))
    }
}

/// INB-11 with follow-ups: a customer's message on a ticket closed at `closed_at` opens a
/// follow-up ticket (true) when the ticket has been closed longer than `period_days`;
/// within the period, or with a period of 0, it reopens as INB-11 says (false). An open
/// ticket, or one without a close time, never takes a follow-up.
pub fn inb_11_follow_up(
    is_open: bool,
    closed_at: Option<Millis>,
    now: Millis,
    period_days: i64,
) -> bool {
    if is_open || period_days <= 0 {
        return false;
    }
    match closed_at {
        Some(c) => now - c > period_days.saturating_mul(86_400_000),
        None => false,
    }
}

/// The subject of a follow-up ticket: the old one's, named as a follow-up.
pub fn follow_up_subject(old_subject: &str, old_id: i64) -> String {
    let s = old_subject.trim();
    if s.is_empty() {
        format!("Follow-up of #{old_id}")
    } else {
        format!("{s} (follow-up of #{old_id})")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    #[test]
    fn recipients_are_owner_and_followers_less_the_actor_and_the_new_owner() {
        let (a, b, c) = (UserId(1), UserId(2), UserId(3));
        assert_eq!(
            ticket_activity_recipients(Some(a), &[a, b], None, None),
            vec![a, b]
        );
        assert_eq!(
            ticket_activity_recipients(Some(a), &[b], None, Some(b)),
            vec![a]
        );
        assert_eq!(
            ticket_activity_recipients(Some(a), &[b], Some(c), Some(a)),
            vec![c, b]
        );
        assert!(ticket_activity_recipients(None, &[], None, None).is_empty());
    }

    #[test]
    fn excerpts_are_one_line_and_bounded() {
        assert_eq!(excerpt("  Hello\n\n world "), "Hello world");
        let long = "é".repeat(300);
        let e = excerpt(&long);
        assert_eq!(e.chars().count(), EXCERPT_CHARS);
        assert!(e.ends_with('…'));
        assert_eq!(change_excerpt("New", "Closed"), "New → Closed");
    }

    #[test]
    fn email_modes_parse_and_digests_fall_due_per_period() {
        for m in NotifyEmail::ALL {
            assert_eq!(NotifyEmail::parse(m.as_str()).unwrap(), m);
        }
        assert!(NotifyEmail::parse("weekly").is_err());
        assert_eq!(NotifyEmail::default(), NotifyEmail::Immediately);
        assert!(!digest_due(NotifyEmail::Immediately, None, 0));
        assert!(!digest_due(NotifyEmail::Off, None, 0));
        assert!(digest_due(NotifyEmail::Hourly, None, 0));
        assert!(!digest_due(NotifyEmail::Hourly, Some(0), 3_599_999));
        assert!(digest_due(NotifyEmail::Hourly, Some(0), 3_600_000));
        assert!(!digest_due(NotifyEmail::Daily, Some(0), DAY - 1));
        assert!(digest_due(NotifyEmail::Daily, Some(0), DAY));
    }

    #[test]
    fn inb_11_follow_up_only_after_the_period() {
        assert!(!inb_11_follow_up(false, Some(0), 7 * DAY, 7));
        assert!(inb_11_follow_up(false, Some(0), 7 * DAY + 1, 7));
        assert!(
            !inb_11_follow_up(false, Some(0), 900 * DAY, 0),
            "0 = always reopen"
        );
        assert!(
            !inb_11_follow_up(true, Some(0), 900 * DAY, 7),
            "open tickets"
        );
        assert!(!inb_11_follow_up(false, None, 900 * DAY, 7));
        assert!(check_follow_up_days(-1).is_err());
        assert!(check_follow_up_days(MAX_FOLLOW_UP_DAYS + 1).is_err());
        assert_eq!(check_follow_up_days(0).unwrap(), 0);
        assert_eq!(follow_up_subject("Printer", 4), "Printer (follow-up of #4)");
    }
}
