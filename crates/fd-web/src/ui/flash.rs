//! Confirmations that survive post/redirect/get ("Ticket created", "Saved", "Reply sent"…):
//! a successful post redirects with a short-lived `fd_flash` cookie holding one of the fixed
//! codes below, the next page shows that code's sentence in its toast (`role=status`), and the
//! response that showed it clears the cookie (see [`clear_shown`]).
//!
//! Only a code travels, never words: an unknown code is ignored, so neither a crafted link nor
//! a cookie can put text of its own on the page. Nothing here depends on a screen module.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use super::{UiResult, see_other};

const COOKIE: &str = "fd_flash";

/// What a post came to, in the agent's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flash {
    TicketCreated,
    Saved,
    Trashed,
    Restored,
    TeamCreated,
    TeamSaved,
    UserCreated,
    UserSaved,
    ReplyQueued,
    MessageSent,
    ReplyNotSent,
    CommentAdded,
    RetryQueued,
    ContactAdded,
    RecordAdded,
    Followed,
    Unfollowed,
    PropertyCreated,
    SettingsSaved,
    ContactMerged,
    CompanyMerged,
    TicketMerged,
    TicketsMerged,
    TicketsUnmerged,
    SplitUndone,
    TicketSplit,
    TicketMoved,
    ReplayQueued,
}

const ALL: &[(Flash, &str, &str)] = &[
    (Flash::TicketCreated, "ticket-created", "Ticket created."),
    (Flash::Saved, "saved", "Saved."),
    (
        Flash::Trashed,
        "trashed",
        "Moved to the trash. Open it from Trash to restore it.",
    ),
    (Flash::Restored, "restored", "Ticket restored."),
    (Flash::TeamCreated, "team-created", "Team created."),
    (Flash::TeamSaved, "team-saved", "Team saved."),
    (Flash::UserCreated, "user-created", "User created."),
    (Flash::UserSaved, "user-saved", "User saved."),
    (
        Flash::ReplyQueued,
        "reply-queued",
        "Reply queued for sending. Its delivery state is shown on the message.",
    ),
    (Flash::MessageSent, "message-sent", "Message sent."),
    (
        Flash::ReplyNotSent,
        "reply-not-sent",
        "Reply saved but not sent: the reason is shown on the message.",
    ),
    (Flash::CommentAdded, "comment-added", "Comment added."),
    (
        Flash::RetryQueued,
        "retry-queued",
        "Sending again: the message is back in the queue.",
    ),
    (Flash::ContactAdded, "contact-added", "Contact added."),
    (Flash::RecordAdded, "record-added", "Record associated."),
    (Flash::Followed, "followed", "You now follow this ticket."),
    (
        Flash::Unfollowed,
        "unfollowed",
        "You no longer follow this ticket.",
    ),
    (
        Flash::PropertyCreated,
        "property-created",
        "Property created.",
    ),
    (Flash::SettingsSaved, "settings-saved", "Settings saved."),
    (
        Flash::ReplayQueued,
        "replay-queued",
        "Queued to be sent again within a few seconds.",
    ),
    (
        Flash::ContactMerged,
        "contact-merged",
        "That contact was merged into this one: its tickets and conversations are here.",
    ),
    (
        Flash::CompanyMerged,
        "company-merged",
        "That company was merged into this one: its contacts and tickets are here.",
    ),
    (
        Flash::TicketMerged,
        "ticket-merged",
        "That ticket was merged into this one: its conversations, comments and history are here.",
    ),
    (
        Flash::TicketsMerged,
        "tickets-merged",
        "Tickets merged: the other ticket's conversations, comments and history are here.",
    ),
    (
        Flash::TicketsUnmerged,
        "tickets-unmerged",
        "Merge undone: the other ticket is back with its own conversations, comments and history.",
    ),
    (
        Flash::SplitUndone,
        "split-undone",
        "Split undone: the messages are back in their conversation.",
    ),
    (
        Flash::TicketSplit,
        "ticket-split",
        "Ticket split: the chosen messages are in this new ticket.",
    ),
    (
        Flash::TicketMoved,
        "ticket-moved",
        "Ticket moved to the other pipeline.",
    ),
];

impl Flash {
    pub(crate) fn code(self) -> &'static str {
        ALL.iter()
            .find(|(f, _, _)| *f == self)
            .map(|(_, c, _)| *c)
            .unwrap_or("saved")
    }

    pub(crate) fn message(self) -> &'static str {
        ALL.iter()
            .find(|(f, _, _)| *f == self)
            .map(|(_, _, m)| *m)
            .unwrap_or("Changes saved.")
    }

    /// The confirmation a code names; anything else is no confirmation at all.
    pub(crate) fn from_code(code: &str) -> Option<Flash> {
        ALL.iter().find(|(_, c, _)| *c == code).map(|(f, _, _)| *f)
    }

    /// The confirmation waiting in a request's cookies, if any.
    pub(crate) fn pending(headers: &HeaderMap) -> Option<Flash> {
        flash_cookie(headers).and_then(|c| Flash::from_code(&c))
    }
}

fn flash_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

/// [`see_other`] that confirms `flash` on the page it leads to.
pub(crate) fn see_other_flash(to: &str, flash: Flash) -> UiResult {
    let mut r = see_other(to)?;
    // A minute is plenty for the redirect to be followed; the page that shows it clears it.
    let cookie = format!(
        "{COOKIE}={}; Path=/; Max-Age=60; HttpOnly; SameSite=Lax",
        flash.code()
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(r)
}

/// Middleware: a page rendered while a confirmation was pending has shown it, so the
/// response clears the cookie (a redirect passes it on to the page it leads to).
pub(crate) async fn clear_shown(req: Request, next: Next) -> Response {
    let pending = flash_cookie(req.headers()).is_some();
    let mut r = next.run(req).await;
    if pending && !r.status().is_redirection() {
        r.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_static("fd_flash=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"),
        );
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_codes_become_confirmations() {
        for (f, code, _) in ALL {
            assert_eq!(Flash::from_code(code), Some(*f));
        }
        assert_eq!(Flash::from_code("<script>alert(1)</script>"), None);
        assert_eq!(Flash::from_code("Ticket created."), None);
    }
}
