//! Mail syntax for Frontdesk: everything that knows RFC 5321 (SMTP) and RFC 5322 / MIME.
//!
//! - [`parse`]: raw bytes → [`ParsedMail`] (wrapping `mail-parser` 0.11), with the loop and
//!   noise classification of [`classify`] (RFC 3834 auto-replies, RFC 3464 DSNs, bulk mail);
//! - [`split`]: the new text of a reply apart from its quoted history and signature;
//! - [`html`]: HTML sanitising (ammonia) for a sandboxed iframe, remote content blocked on demand;
//!   [`html_bound`]: the bounds checked before any HTML is parsed; [`html_serve`]: the linear
//!   rewrite that serves stored (sanitised) HTML;
//! - [`identity`]: the identity of a message without a Message-ID (delivery fields left out);
//! - [`thread`]: threading signals (Message-ID lists, subject normalisation, ticket tags);
//! - [`build`]: outgoing messages (mail-builder);
//! - [`smtp`]: the receiving SMTP session as a sans-IO state machine plus its tokio listener;
//! - [`imap`]: the IMAP poller; [`send`]: the SMTP relay client (lettre).
//!
//! This crate never calls the application: received mail is handed to a [`MailSink`], which
//! must store it durably before answering (the SMTP listener says 250 only after that).

// Slicing a `str` by byte offsets panics inside a character; mail subjects and headers are
// any language, so every cut goes through `get`, `strip_prefix`, `split_at_checked`…
#![warn(clippy::string_slice)]

pub mod address;
pub mod build;
pub mod classify;
pub mod html;
pub mod html_bound;
pub mod html_serve;
pub mod identity;
pub mod imap;
pub mod parse;
pub mod send;
pub mod sink;
pub mod smtp;
pub mod split;
pub mod thread;
pub mod tls;

pub use classify::{Automation, BounceInfo};
pub use parse::{Attachment, Mailbox, ParseOptions, ParsedMail, parse};
pub use sink::{DeliveryError, IncomingMail, MailSink, MailSource, RecipientVerdict};

/// 25 MB: the default limit for one message (SMTP `SIZE`, IMAP, mailgate).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 25 * 1024 * 1024;

/// How much of an over-limit message is kept (its header section) so an agent can be told.
pub const OVERSIZE_KEEP_BYTES: usize = 64 * 1024;

/// Hex SHA-256 of some bytes (content addressing of raw mail and attachments).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Text safe to store anywhere: NUL bytes removed (PostgreSQL `text` refuses them) and other
/// C0 controls except tab/newline/CR turned into spaces.
pub fn clean_text(s: &str) -> String {
    if !s
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return s.to_string();
    }
    s.chars()
        .filter(|&c| c != '\0')
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' && c != '\r' {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// Cuts `s` to at most `max` characters.
pub fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => s.get(..i).unwrap_or(s).to_string(),
        None => s.to_string(),
    }
}

/// The header section of a raw message: up to and including the first empty line, at most
/// `max` bytes (used to keep something of a message that is over the size limit).
pub fn header_section(raw: &[u8], max: usize) -> Vec<u8> {
    let limit = raw.len().min(max);
    let head = &raw[..limit];
    for (i, w) in head.windows(4).enumerate() {
        if w == b"\r\n\r\n" {
            return raw[..i + 4].to_vec();
        }
    }
    for (i, w) in head.windows(2).enumerate() {
        if w == b"\n\n" {
            return raw[..i + 2].to_vec();
        }
    }
    head.to_vec()
}
