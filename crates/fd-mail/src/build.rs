//! Outgoing messages (RFC 5322 + MIME), built with mail-builder: `multipart/alternative` text
//! and HTML, threading headers (RFC 5322 §3.6.4), the ticket's reply address, and
//! `Auto-Submitted: auto-replied` on automatic mail (RFC 3834 §5).

use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::text::Text;

use crate::parse::Mailbox;

/// Everything an outgoing message says.
#[derive(Debug, Clone, Default)]
pub struct OutgoingMail {
    pub from: Mailbox,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub reply_to: Option<Mailbox>,
    pub subject: String,
    /// `<id@host>`.
    pub message_id: String,
    pub in_reply_to: Option<String>,
    /// Oldest first.
    pub references: Vec<String>,
    /// Seconds since the Unix epoch.
    pub date: i64,
    pub text: String,
    pub html: Option<String>,
    /// Frontdesk's own automatic mail (acknowledgements): `Auto-Submitted: auto-replied`.
    pub auto_submitted: bool,
    /// Files sent with the message: with any, the message is `multipart/mixed` (the body
    /// first, `multipart/alternative` when there is HTML), each file a base64 part with
    /// `Content-Disposition: attachment` and its name (RFC 2231-encoded when not ASCII).
    pub attachments: Vec<OutgoingAttachment>,
}

/// One file of an outgoing message.
#[derive(Debug, Clone, Default)]
pub struct OutgoingAttachment {
    pub filename: String,
    pub content_type: String,
    pub content: Vec<u8>,
}

fn bare(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}

fn address(m: &Mailbox) -> Address<'static> {
    match &m.name {
        Some(n) if !n.trim().is_empty() => Address::new_address(Some(n.clone()), m.address.clone()),
        _ => Address::new_address(None::<String>, m.address.clone()),
    }
}

/// A new Message-ID for mail sent by Frontdesk: unguessable, tied to the sending domain
/// (RFC 5322 §3.6.4: "the right-hand side … should be a domain name … of the host").
pub fn new_message_id(domain: &str) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    let token: String = (0..24)
        .map(|_| {
            let n = rng.random_range(0..36u8);
            if n < 10 {
                (b'0' + n) as char
            } else {
                (b'a' + n - 10) as char
            }
        })
        .collect();
    let domain = if domain.trim().is_empty() {
        "frontdesk.invalid"
    } else {
        domain.trim()
    };
    format!("<fd.{token}@{domain}>")
}

/// A random token of `len` characters from `[a-z0-9]`, for reply addresses.
pub fn random_token(len: usize) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..len)
        .map(|_| {
            let n = rng.random_range(0..36u8);
            if n < 10 {
                (b'0' + n) as char
            } else {
                (b'a' + n - 10) as char
            }
        })
        .collect()
}

/// Serialises the message (CRLF line ends, folded and encoded headers).
pub fn build(mail: &OutgoingMail) -> std::io::Result<Vec<u8>> {
    build_as(mail, "auto-replied")
}

/// A notification to an agent: like [`build`], but `Auto-Submitted: auto-generated`
/// (RFC 3834 §5: not a response to a message) whatever `auto_submitted` says, so any
/// mail system (ours included, if it loops back) treats it as automatic.
pub fn build_notification(mail: &OutgoingMail) -> std::io::Result<Vec<u8>> {
    build_as(
        &OutgoingMail {
            auto_submitted: true,
            ..mail.clone()
        },
        "auto-generated",
    )
}

fn build_as(mail: &OutgoingMail, auto_kind: &'static str) -> std::io::Result<Vec<u8>> {
    let mut b = MessageBuilder::new()
        .from(address(&mail.from))
        .subject(mail.subject.clone())
        .message_id(bare(&mail.message_id))
        .date(mail.date);
    if !mail.to.is_empty() {
        b = b.to(Address::new_list(mail.to.iter().map(address).collect()));
    }
    if !mail.cc.is_empty() {
        b = b.cc(Address::new_list(mail.cc.iter().map(address).collect()));
    }
    if let Some(r) = &mail.reply_to {
        b = b.reply_to(address(r));
    }
    if let Some(irt) = &mail.in_reply_to {
        b = b.in_reply_to(bare(irt));
    }
    if !mail.references.is_empty() {
        b = b.references(MessageId::new_list(mail.references.iter().map(|r| bare(r))));
    }
    if mail.auto_submitted {
        // RFC 3834 §5: automatic responses carry Auto-Submitted: auto-replied, and §3.1.8
        // suggests keeping other responders quiet too.
        b = b
            .header("Auto-Submitted", Text::new(auto_kind))
            .header("X-Auto-Response-Suppress", Text::new("All"))
            .header("Precedence", Text::new("auto_reply"));
    }
    b = b.text_body(mail.text.clone());
    if let Some(h) = &mail.html {
        b = b.html_body(h.clone());
    }
    for a in &mail.attachments {
        // A type that is not `type/subtype` would break the header: send it as bytes.
        let ct = a.content_type.trim();
        let ct = if ct.split_once('/').is_some_and(|(t, s)| {
            !t.is_empty()
                && !s.is_empty()
                && ct
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"/.+-_".contains(&c))
        }) {
            ct.to_ascii_lowercase()
        } else {
            "application/octet-stream".to_string()
        };
        b = b.attachment(ct, a.filename.clone(), a.content.clone());
    }
    b.write_to_vec()
}

/// Minimal HTML for a plain-text reply (escaped, paragraphs and line breaks kept).
pub fn text_to_html(text: &str) -> String {
    let mut out = String::from("<div>");
    for (i, para) in text.split("\n\n").enumerate() {
        if i > 0 {
            out.push_str("</div><div><br></div><div>");
        }
        for (j, line) in para.lines().enumerate() {
            if j > 0 {
                out.push_str("<br>");
            }
            for c in line.chars() {
                match c {
                    '<' => out.push_str("&lt;"),
                    '>' => out.push_str("&gt;"),
                    '&' => out.push_str("&amp;"),
                    '"' => out.push_str("&quot;"),
                    '\'' => out.push_str("&#39;"),
                    c => out.push(c),
                }
            }
        }
    }
    out.push_str("</div>");
    out
}
