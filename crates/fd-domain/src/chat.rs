//! Live chat's rules: how an agent's reply on a chat conversation reaches the visitor (HD-15),
//! what a visitor may send, whether a visitor is answered live or asked for an address, and
//! when a visitor identification token holds.
//!
//! Pure decisions on plain values; no storage, clock or randomness (the caller passes `now`).

use crate::{DomainError, ErrorCode};

/// The longest chat message a visitor may send, in characters.
pub const MAX_VISITOR_MESSAGE_CHARS: usize = 4_000;
/// The longest name a visitor may give.
pub const MAX_VISITOR_NAME_CHARS: usize = 200;
/// HubSpot's visitor identification tokens live 12 hours.
pub const VISITOR_TOKEN_TTL_MS: i64 = 12 * 60 * 60 * 1000;

/// New chats one client address may start at once (a visitor's later messages are not
/// counted), and how often one more is allowed: the widget's endpoints are public, and every
/// new chat is a conversation and perhaps a ticket.
pub const CHAT_STARTS_BURST: i64 = 5;
pub const CHAT_START_REFILL_MS: i64 = 60_000;

/// A token bucket measured in milliseconds of refill: with `level` left at `at`, may one
/// more start happen at `now`? `Ok(new level)`, or how many milliseconds until one may.
pub fn chat_start_budget(level: i64, at: i64, now: i64) -> Result<i64, i64> {
    crate::limits::take_from_bucket(level, at, now, CHAT_STARTS_BURST, CHAT_START_REFILL_MS)
}

/// How an agent's reply on a chat conversation is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatDelivery {
    /// The visitor's widget shows it (it reads the conversation with its token, live).
    Widget,
    /// The visitor left an address while nobody was available: the answer goes by email.
    Email,
}

/// What the reply use case knows about a chat conversation's visitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChatVisitor<'a> {
    /// A widget session started the conversation (so a widget can read the reply).
    pub has_session: bool,
    /// The visitor asked to be answered by email.
    pub by_email: bool,
    /// The address they gave, if any.
    pub email: Option<&'a str>,
}

/// HD-15 for chat: a reply goes to the widget that started the conversation, or by email when
/// the visitor asked for that; a chat conversation no widget can read (made through the API,
/// say) cannot be answered in it, and the reply is refused rather than shown as sent.
pub fn hd_15_chat_delivery(v: ChatVisitor<'_>) -> Result<ChatDelivery, DomainError> {
    match (v.has_session, v.by_email, v.email) {
        (_, true, Some(_)) => Ok(ChatDelivery::Email),
        (true, _, _) => Ok(ChatDelivery::Widget),
        (false, _, Some(_)) => Ok(ChatDelivery::Email),
        (false, _, None) => Err(DomainError::RuleViolation {
            rule: "HD-15",
            message: "this chat conversation has no visitor's chat window and no email \
                      address to deliver a reply to"
                .into(),
        }),
    }
}

/// Whether the widget answers live or, with nobody of the team available, asks for an
/// email address (HubSpot routes chat to available users only).
pub fn chat_answered_live(available_members: i64) -> bool {
    available_members > 0
}

/// A visitor's message, trimmed; empty or too long is refused.
pub fn visitor_text(text: &str) -> Result<String, DomainError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(DomainError::field(
            "text",
            ErrorCode::Required,
            "the message is empty",
        ));
    }
    if t.chars().count() > MAX_VISITOR_MESSAGE_CHARS {
        return Err(DomainError::field(
            "text",
            ErrorCode::TooLarge,
            format!("a chat message has at most {MAX_VISITOR_MESSAGE_CHARS} characters"),
        ));
    }
    Ok(t.to_string())
}

/// A visitor's name: trimmed, empty is none, too long or with control characters refused.
pub fn visitor_name(name: Option<&str>) -> Result<Option<String>, DomainError> {
    let Some(n) = name.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    if n.chars().count() > MAX_VISITOR_NAME_CHARS || n.chars().any(char::is_control) {
        return Err(DomainError::field(
            "name",
            ErrorCode::InvalidValue,
            format!(
                "a name has at most {MAX_VISITOR_NAME_CHARS} characters and no control characters"
            ),
        ));
    }
    Ok(Some(n.to_string()))
}

/// A visitor identification token holds until it expires, and only for the address it was
/// made for (HubSpot: the email must match the token).
pub fn visitor_token_holds(
    token_email: &str,
    expires_at: i64,
    given_email: &str,
    now: i64,
) -> bool {
    now < expires_at && token_email.eq_ignore_ascii_case(given_email.trim())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hd_15_chat_reply_goes_to_the_widget_or_by_email_or_is_refused() {
        let v = |has_session, by_email, email| ChatVisitor {
            has_session,
            by_email,
            email,
        };
        assert_eq!(
            hd_15_chat_delivery(v(true, false, None)),
            Ok(ChatDelivery::Widget)
        );
        assert_eq!(
            hd_15_chat_delivery(v(true, false, Some("a@b.example"))),
            Ok(ChatDelivery::Widget)
        );
        assert_eq!(
            hd_15_chat_delivery(v(true, true, Some("a@b.example"))),
            Ok(ChatDelivery::Email)
        );
        assert_eq!(
            hd_15_chat_delivery(v(false, false, Some("a@b.example"))),
            Ok(ChatDelivery::Email)
        );
        assert!(matches!(
            hd_15_chat_delivery(v(false, false, None)),
            Err(DomainError::RuleViolation { rule: "HD-15", .. })
        ));
    }

    #[test]
    fn visitor_input_is_checked() {
        assert!(visitor_text("  ").is_err());
        assert!(visitor_text(&"x".repeat(MAX_VISITOR_MESSAGE_CHARS + 1)).is_err());
        assert_eq!(visitor_text(" hi ").ok().as_deref(), Some("hi"));
        assert_eq!(visitor_name(Some("  ")), Ok(None));
        assert!(visitor_name(Some("a\u{7}b")).is_err());
        assert!(chat_answered_live(1) && !chat_answered_live(0));
    }

    #[test]
    fn chat_starts_are_rationed_per_client() {
        let full = CHAT_STARTS_BURST * CHAT_START_REFILL_MS;
        let mut level = full;
        for _ in 0..CHAT_STARTS_BURST {
            level = chat_start_budget(level, 0, 0).unwrap();
        }
        assert_eq!(chat_start_budget(level, 0, 0), Err(CHAT_START_REFILL_MS));
        assert_eq!(chat_start_budget(level, 0, CHAT_START_REFILL_MS), Ok(0));
    }

    #[test]
    fn visitor_tokens_expire_and_name_one_address() {
        assert!(visitor_token_holds(
            "ada@x.example",
            100,
            "Ada@X.example ",
            99
        ));
        assert!(!visitor_token_holds(
            "ada@x.example",
            100,
            "ada@x.example",
            100
        ));
        assert!(!visitor_token_holds(
            "ada@x.example",
            100,
            "eve@x.example",
            1
        ));
    }
}
