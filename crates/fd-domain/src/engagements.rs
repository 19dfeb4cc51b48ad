//! Calls, notes and emails (HubSpot's engagement objects), the calling channel's vocabulary,
//! and the one rule that decides how an agent's reply leaves on each channel (HD-15).
//!
//! Pure: no I/O, no clock. fd-app's use cases ask these functions; the screens and the API
//! show what they answer.

use crate::error::{DomainError, ErrorCode};
use crate::model::Channel;

/// How an agent's reply on a conversation reaches the customer (HD-15: the reply editor
/// answers an email, a chat message, a form or a call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyDelivery {
    /// Sent by email through the outbound mail path (threaded so the answer lands on the
    /// same conversation).
    Email,
    /// Delivered to the visitor's chat widget.
    LiveChat,
    /// Nothing can deliver it: the reply is refused with this reason, never stored as sent.
    Refused(String),
}

/// HD-15 / issue 14 item 6: every reply is delivered or refused. `has_email` says whether the
/// conversation has an address to write to (a visitor's address, or its contact's).
///
/// Email conversations answer by email. Form and call conversations answer the contact by
/// email, so they need an address. Chat is answered in the widget only when live-chat
/// delivery exists (`live_chat_delivery`); until then it is refused rather than shown as sent.
/// Bots and channels that are not connected here (WhatsApp, Messenger) have no delivery.
/// HD-15: whether a channel's replies go to the customer by email (given an address), so
/// the customer's email answers thread back onto its conversations.
pub fn hd_15_answered_by_email(channel: Channel) -> bool {
    matches!(
        hd_15_reply_delivery(channel, true, false),
        ReplyDelivery::Email
    )
}

pub fn hd_15_reply_delivery(
    channel: Channel,
    has_email: bool,
    live_chat_delivery: bool,
) -> ReplyDelivery {
    let needs_address = |what: &str| {
        if has_email {
            ReplyDelivery::Email
        } else {
            ReplyDelivery::Refused(format!(
                "this {what} conversation has no email address to answer: add one to its contact \
                 first"
            ))
        }
    };
    match channel {
        Channel::Email => needs_address("email"),
        Channel::Form => needs_address("form"),
        Channel::Call => needs_address("call"),
        Channel::Chat if live_chat_delivery => ReplyDelivery::LiveChat,
        Channel::Chat => ReplyDelivery::Refused(
            "live chat replies cannot be delivered: no chat widget is connected to this \
             conversation"
                .into(),
        ),
        // A bot's hand-off turns its conversation into a CHAT conversation of the team
        // (fd-app `bots.rs`), which this rule then answers like any live chat. An agent who
        // answers before that takes the conversation over from the bot, as in HubSpot's inbox:
        // fd-app hands it to the chat channel's team first, and the reply reaches the chat
        // window. A bot conversation no chat window holds (one made through the API) has no
        // visitor to answer.
        Channel::Bot if live_chat_delivery => ReplyDelivery::LiveChat,
        Channel::Bot => {
            ReplyDelivery::Refused("this bot conversation has no chat window to answer in".into())
        }
        Channel::Whatsapp | Channel::Messenger => ReplyDelivery::Refused(format!(
            "no {channel} channel is connected, so the reply cannot be delivered"
        )),
    }
}

/// A phone number in E.164 (`+` and 8 to 15 digits, no leading zero), from what people
/// type: spaces, dots, dashes and parentheses are dropped, `00` becomes `+`.
pub fn normalize_e164(field: &str, raw: &str) -> Result<String, DomainError> {
    let bad = || {
        DomainError::field(
            field,
            ErrorCode::InvalidOption,
            format!("{raw:?} is not a phone number in E.164 form (such as +14155550123)"),
        )
    };
    let trimmed = raw.trim();
    let (plus, rest) = match trimmed.strip_prefix('+') {
        Some(r) => (true, r),
        None => match trimmed.strip_prefix("00") {
            Some(r) => (true, r),
            None => (false, trimmed),
        },
    };
    if !plus {
        return Err(bad());
    }
    let mut digits = String::new();
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '.' | '-' | '(' | ')' => {}
            _ => return Err(bad()),
        }
    }
    if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
        return Err(bad());
    }
    Ok(format!("+{digits}"))
}

/// The key a stored contact phone is matched on: its E.164 form when it has one, else
/// nothing (a local number without a country code cannot be matched safely).
pub fn phone_match_key(raw: &str) -> Option<String> {
    normalize_e164("phone", raw).ok()
}

/// What a telephony provider reports about a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallEventKind {
    Ringing,
    Answered,
    Completed,
    Missed,
}

impl CallEventKind {
    pub fn parse(raw: &str) -> Result<CallEventKind, DomainError> {
        Ok(match raw.trim().to_ascii_lowercase().as_str() {
            "ringing" => CallEventKind::Ringing,
            "answered" => CallEventKind::Answered,
            "completed" => CallEventKind::Completed,
            "missed" => CallEventKind::Missed,
            _ => {
                return Err(DomainError::field(
                    "type",
                    ErrorCode::InvalidOption,
                    format!("{raw:?} is not one of: ringing, answered, completed, missed"),
                ));
            }
        })
    }

    /// HubSpot's `hs_call_status` for a call in this state.
    pub fn hs_call_status(self) -> &'static str {
        match self {
            CallEventKind::Ringing => "RINGING",
            CallEventKind::Answered => "IN_PROGRESS",
            CallEventKind::Completed => "COMPLETED",
            CallEventKind::Missed => "MISSED",
        }
    }

    /// Later events win; an event arriving after the call ended does not reopen it.
    pub fn supersedes(self, current: Option<&str>) -> bool {
        !matches!(current, Some("COMPLETED") | Some("MISSED"))
            || matches!(self, CallEventKind::Completed | CallEventKind::Missed)
    }
}

/// HubSpot's default call disposition GUIDs (HUBSPOT-API-2.md §4.2).
pub mod disposition {
    pub const CONNECTED: &str = "f240bbac-87c9-4f6e-bf70-924b57d47db7";
    pub const NO_ANSWER: &str = "73a0d17f-1163-4015-bdd5-ec830791da20";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hd_15_every_channel_is_delivered_or_refused() {
        assert_eq!(
            hd_15_reply_delivery(Channel::Email, true, false),
            ReplyDelivery::Email
        );
        assert_eq!(
            hd_15_reply_delivery(Channel::Call, true, false),
            ReplyDelivery::Email
        );
        assert_eq!(
            hd_15_reply_delivery(Channel::Form, true, false),
            ReplyDelivery::Email
        );
        assert!(matches!(
            hd_15_reply_delivery(Channel::Call, false, false),
            ReplyDelivery::Refused(r) if r.contains("no email address")
        ));
        assert!(matches!(
            hd_15_reply_delivery(Channel::Chat, true, false),
            ReplyDelivery::Refused(_)
        ));
        assert_eq!(
            hd_15_reply_delivery(Channel::Chat, false, true),
            ReplyDelivery::LiveChat
        );
        for c in [Channel::Whatsapp, Channel::Messenger] {
            assert!(matches!(
                hd_15_reply_delivery(c, true, true),
                ReplyDelivery::Refused(_)
            ));
        }
        // An agent's reply takes a bot's chat over; without a chat window it is refused.
        assert_eq!(
            hd_15_reply_delivery(Channel::Bot, false, true),
            ReplyDelivery::LiveChat
        );
        assert!(matches!(
            hd_15_reply_delivery(Channel::Bot, true, false),
            ReplyDelivery::Refused(_)
        ));
    }

    #[test]
    fn e164_normalisation() {
        assert_eq!(
            normalize_e164("n", "+1 (415) 555-0123").ok(),
            Some("+14155550123".into())
        );
        assert_eq!(
            normalize_e164("n", "0044 20 7946 0000").ok(),
            Some("+442079460000".into())
        );
        assert!(normalize_e164("n", "4155550123").is_err());
        assert!(normalize_e164("n", "+0123456789").is_err());
        assert!(normalize_e164("n", "+1234").is_err());
        assert!(normalize_e164("n", "+1415555x123").is_err());
    }

    #[test]
    fn a_finished_call_is_not_reopened_by_a_late_event() {
        assert!(CallEventKind::Answered.supersedes(Some("RINGING")));
        assert!(!CallEventKind::Ringing.supersedes(Some("COMPLETED")));
        assert!(CallEventKind::Completed.supersedes(Some("IN_PROGRESS")));
    }
}
