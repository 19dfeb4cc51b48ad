//! Raw RFC 5322 bytes → [`ParsedMail`]: owned, NUL-free, charset-decoded values that the
//! application can store without knowing MIME. Wraps `mail-parser` 0.11, which never panics and
//! makes a best effort on malformed input; what it had to guess is reported in `notices`.

use std::collections::HashSet;

use mail_parser::{Address, HeaderValue, MessageParser, MimeHeaders, PartType};

use crate::classify::{self, Automation};
use crate::{clean_text, truncate_chars};

/// Limits and context for one parse.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    /// Attachments beyond this many bytes in total are not kept (the agent gets a notice).
    pub max_attachment_bytes: usize,
    /// The SMTP envelope sender when known: `Some("")` is the null reverse-path `<>` that
    /// RFC 5321 §4.5.5 reserves for notifications (bounces, auto-replies).
    pub envelope_from: Option<String>,
    /// The raw message is only the header section of an over-limit message.
    pub truncated_from: Option<u64>,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            max_attachment_bytes: crate::DEFAULT_MAX_MESSAGE_BYTES,
            envelope_from: None,
            truncated_from: None,
        }
    }
}

/// A display name and an address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    /// Lower-cased `local@domain`.
    pub address: String,
}

/// One attachment or inline part (an image referenced from HTML by `cid:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    /// Without angle brackets.
    pub content_id: Option<String>,
    pub inline: bool,
    pub data: Vec<u8>,
}

/// Why a message could not be parsed at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the message is empty")]
    Empty,
    #[error("no RFC 5322 header section could be found")]
    NoHeaders,
}

/// What the application needs of an inbound message.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedMail {
    /// `<id@host>`, angle brackets included (the form used in In-Reply-To/References).
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub subject: Option<String>,
    pub from: Option<Mailbox>,
    pub sender: Option<Mailbox>,
    pub reply_to: Vec<Mailbox>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    /// Delivered-To / X-Original-To / Envelope-To: where the mail system delivered it.
    pub delivered_to: Vec<String>,
    /// The Return-Path header: `Some("")` for `<>`.
    pub return_path: Option<String>,
    pub date_ms: Option<i64>,
    /// The plain-text body (HTML-only mail converted to text).
    pub text: String,
    /// The HTML body as sent — unsanitised; render only through [`crate::html::sanitize`].
    /// Present only within [`crate::html_bound::HtmlBounds::default`] (beyond them parsing
    /// keeps the text and adds a notice).
    pub html: Option<String>,
    pub attachments: Vec<Attachment>,
    pub automation: Automation,
    /// Lists and mailing-list style headers (RFC 2369 / RFC 2919) are present.
    pub has_list_headers: bool,
    /// Things an agent should know (dropped attachments, repaired encodings…).
    pub notices: Vec<String>,
}

impl ParsedMail {
    /// Reply-To if given, else From (RFC 5322 §3.6.2: replies go to Reply-To).
    pub fn reply_address(&self) -> Option<&Mailbox> {
        self.reply_to.first().or(self.from.as_ref())
    }

    /// Every Message-ID this message refers to, In-Reply-To first, then References newest
    /// first (RFC 5322 §3.6.4: References lists the thread oldest first).
    pub fn referenced_ids(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for id in self.in_reply_to.iter().chain(self.references.iter().rev()) {
            if !out.contains(id) {
                out.push(id.clone());
            }
        }
        out
    }
}

const MAX_SUBJECT: usize = 998;
const MAX_IDS: usize = 100;

/// Parses one message. Never panics; fails only when there is no header section at all.
pub fn parse(raw: &[u8], options: &ParseOptions) -> Result<ParsedMail, ParseError> {
    parse_at(raw, options, 0)
}

fn parse_at(raw: &[u8], options: &ParseOptions, depth: u8) -> Result<ParsedMail, ParseError> {
    if raw.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ParseError::Empty);
    }
    let normalized = normalize_raw(raw);
    let raw: &[u8] = &normalized;
    let parser = MessageParser::default();
    let headers_only = options.truncated_from.is_some();
    let msg = if headers_only {
        parser.parse_headers(raw)
    } else {
        parser.parse(raw)
    }
    .ok_or(ParseError::NoHeaders)?;
    // mail-parser treats a body-only blob as a message without headers: demand at least one
    // header it recognised, else this is not RFC 5322.
    if msg.headers().is_empty() {
        return Err(ParseError::NoHeaders);
    }

    let mut notices = Vec::new();
    // Read from the raw fields, leniently (`<abc@example.com` without its `>` is still an
    // id): mail-parser drops an unclosed id, which made such mail look id-less.
    let message_id = raw_ids(&msg, "message-id")
        .into_iter()
        .next()
        .or_else(|| msg.message_id().and_then(clean_id));
    if message_id.is_none() {
        notices.push(
            "The message has no Message-ID header; it was identified by its content instead."
                .to_string(),
        );
    }
    let in_reply_to = ids_of(&msg, "in-reply-to", msg.in_reply_to());
    let references = ids_of(&msg, "references", msg.references());
    let subject = msg
        .subject()
        .map(|s| truncate_chars(clean_text(s).trim(), MAX_SUBJECT))
        .filter(|s| !s.is_empty());
    let from = msg.from().and_then(first_mailbox);
    let sender = msg.sender().and_then(first_mailbox);
    let reply_to = msg.reply_to().map(mailboxes).unwrap_or_default();
    let to = msg.to().map(mailboxes).unwrap_or_default();
    let cc = msg.cc().map(mailboxes).unwrap_or_default();
    let mut delivered_to = Vec::new();
    let mut return_path = None;
    let mut has_list_headers = false;
    for h in msg.headers() {
        let name = h.name().to_ascii_lowercase();
        match name.as_str() {
            "delivered-to" | "x-original-to" | "envelope-to" | "x-envelope-to" => {
                for v in header_texts(h.value()) {
                    if let Some(a) = crate::address::normalize(&v)
                        && !delivered_to.contains(&a)
                    {
                        delivered_to.push(a);
                    }
                }
            }
            "return-path" => {
                let v = header_texts(h.value())
                    .into_iter()
                    .next()
                    .unwrap_or_default();
                let v = v
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .trim();
                return_path = Some(v.to_lowercase());
            }
            "list-id" | "list-unsubscribe" | "list-post" | "list-help" | "list-subscribe" => {
                has_list_headers = true;
            }
            _ => {}
        }
    }
    let date_ms = msg
        .date()
        .filter(|d| d.is_valid())
        .map(|d| d.to_timestamp().saturating_mul(1000));

    let mut text = String::new();
    let mut html: Option<String> = None;
    let mut attachments = Vec::new();
    let mut attachment_bytes = 0usize;
    let mut dropped = Vec::new();
    if !headers_only {
        let mut body_parts: HashSet<u32> = HashSet::new();
        for (i, id) in msg.text_body.iter().enumerate() {
            if let Some(part) = msg.parts.get(*id as usize) {
                match &part.body {
                    PartType::Text(_) | PartType::Html(_) => {
                        body_parts.insert(*id);
                        if let Some(t) = msg.body_text(i) {
                            if !text.is_empty() && !text.ends_with('\n') {
                                text.push('\n');
                            }
                            text.push_str(&t);
                        }
                    }
                    _ => {}
                }
            }
        }
        let mut html_out = String::new();
        for (i, id) in msg.html_body.iter().enumerate() {
            if let Some(part) = msg.parts.get(*id as usize)
                && let PartType::Html(_) = &part.body
            {
                body_parts.insert(*id);
                if let Some(h) = msg.body_html(i) {
                    html_out.push_str(&h);
                }
            }
        }
        if !html_out.trim().is_empty() {
            html = Some(clean_text(&html_out));
        }
        if msg.parts.iter().any(|p| p.is_encoding_problem) {
            notices.push(
                "Part of this message was badly encoded; it was decoded as well as possible."
                    .to_string(),
            );
        }
        // Attachments: the parser's list plus non-text parts that sit in the body lists
        // (inline images of multipart/related).
        let mut ids: Vec<u32> = msg.attachments.clone();
        // A set, not `ids.contains`: a message of many parts must not cost their square.
        let mut listed: HashSet<u32> = ids.iter().copied().collect();
        for id in msg.text_body.iter().chain(msg.html_body.iter()) {
            if !body_parts.contains(id) && listed.insert(*id) {
                ids.push(*id);
            }
        }
        for (n, id) in ids.iter().enumerate() {
            let Some(part) = msg.parts.get(*id as usize) else {
                continue;
            };
            if matches!(part.body, PartType::Multipart(_)) {
                continue;
            }
            let data = part.contents();
            let content_type = part
                .content_type()
                .map(|ct| match &ct.c_subtype {
                    Some(sub) => format!("{}/{}", ct.c_type, sub),
                    None => ct.c_type.to_string(),
                })
                .map(|s| s.to_ascii_lowercase())
                .filter(|s| s.len() < 128 && !s.contains(['\r', '\n', '"', ';']))
                .unwrap_or_else(|| match part.body {
                    PartType::Message(_) => "message/rfc822".to_string(),
                    PartType::Text(_) => "text/plain".to_string(),
                    PartType::Html(_) => "text/html".to_string(),
                    _ => "application/octet-stream".to_string(),
                });
            let filename = part
                .attachment_name()
                .map(safe_filename)
                .filter(|f| !f.is_empty())
                .unwrap_or_else(|| default_filename(n + 1, &content_type));
            let content_id = part
                .content_id()
                .map(|c| clean_text(c.trim().trim_start_matches('<').trim_end_matches('>')))
                .filter(|c| !c.is_empty());
            let inline = part
                .content_disposition()
                .map(|d| d.is_inline())
                .unwrap_or(content_id.is_some());
            if attachment_bytes.saturating_add(data.len()) > options.max_attachment_bytes {
                dropped.push(format!("{filename} ({})", human_size(data.len() as u64)));
                continue;
            }
            attachment_bytes += data.len();
            attachments.push(Attachment {
                filename,
                content_type,
                content_id,
                inline,
                data: data.to_vec(),
            });
        }
        if !dropped.is_empty() {
            notices.push(format!(
                "Not stored because the attachments exceed the {} limit: {}.",
                human_size(options.max_attachment_bytes as u64),
                dropped.join(", ")
            ));
        }
    }
    if let Some(size) = options.truncated_from {
        notices.push(format!(
            "This email is {}, over the {} limit: only its headers were kept, its body and attachments were not stored.",
            human_size(size),
            human_size(options.max_attachment_bytes as u64)
        ));
    }
    // A multipart part whose boundary parameter was lost (an unfolded continuation line, as
    // some MTAs write) comes out as an opaque "multipart/…" attachment. RFC 2046 §5.1.1
    // delimiter lines are "--" + boundary, so the boundary can be read off its first line.
    if depth == 0 {
        let mut i = 0;
        while i < attachments.len() {
            if attachments[i].content_type.starts_with("multipart/")
                && let Some(repaired) = repair_multipart(&attachments[i], options)
            {
                let a = attachments.remove(i);
                if !repaired.text.trim().is_empty() {
                    if !text.is_empty() && !text.ends_with('\n') {
                        text.push('\n');
                    }
                    text.push_str(&repaired.text);
                }
                if html.is_none() {
                    html = repaired.html;
                }
                attachments.extend(repaired.attachments);
                notices.push(format!(
                    "A {} part had lost its boundary; its content was recovered.",
                    a.content_type
                ));
                continue;
            }
            i += 1;
        }
    }
    // Finding 1 of the hardening issue: HTML beyond the bounds is never parsed into a tree
    // (the sanitiser's cost grows with the square of its depth); the agent gets its text.
    if let Some(h) = &html
        && let Err(why) = crate::html_bound::check(h, &crate::html_bound::HtmlBounds::default())
    {
        if text.trim().is_empty() {
            text = crate::html::to_text(h);
        }
        html = None;
        notices.push(format!(
            "The formatted (HTML) version of this message is not shown because {why}; its plain text is shown instead."
        ));
    }
    let text = clean_text(&text);
    let automation = classify::classify(
        &msg,
        options,
        return_path.as_deref(),
        from.as_ref(),
        subject.as_deref(),
        &text,
    );

    Ok(ParsedMail {
        message_id,
        in_reply_to,
        references,
        subject,
        from,
        sender,
        reply_to,
        to,
        cc,
        delivered_to,
        return_path,
        date_ms,
        text,
        html,
        attachments,
        automation,
        has_list_headers,
        notices,
    })
}

fn repair_multipart(part: &Attachment, options: &ParseOptions) -> Option<ParsedMail> {
    let body = String::from_utf8_lossy(&part.data);
    let first = body
        .lines()
        .map(str::trim_end)
        .find(|l| l.starts_with("--") && l.len() > 2)?;
    let boundary = first.strip_prefix("--")?;
    if boundary.len() > 200 || boundary.contains('"') {
        return None;
    }
    let mut synth = format!(
        "Content-Type: {}; boundary=\"{boundary}\"\r\n\r\n",
        part.content_type
    )
    .into_bytes();
    synth.extend_from_slice(&part.data);
    let inner = parse_at(&synth, options, 1).ok()?;
    (!inner.text.trim().is_empty() || inner.html.is_some()).then_some(inner)
}

/// Repairs what real mail does to the framing before parsing (the stored raw message is
/// never changed): white space before the first header line (FirstHeaderLineIsContinuation),
/// and classic Mac OS line ends (a lone CR) turned into CRLF.
fn normalize_raw(raw: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let start = raw
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(raw.len());
    let raw = &raw[start..];
    if raw.contains(&b'\r') && !raw.contains(&b'\n') {
        let mut out = Vec::with_capacity(raw.len() + raw.len() / 20);
        for &b in raw {
            out.push(b);
            if b == b'\r' {
                out.push(b'\n');
            }
        }
        return std::borrow::Cow::Owned(out);
    }
    std::borrow::Cow::Borrowed(raw)
}

/// `id@host` (as mail-parser hands it) → `<id@host>`; rejects empty or absurd values.
pub(crate) fn clean_id(id: &str) -> Option<String> {
    let id = id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    if id.is_empty() || id.len() > 900 || id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    Some(format!("<{id}>"))
}

/// The ids of an identification field, from its raw text when there is one (lenient, see
/// [`message_ids`]), else from mail-parser's reading.
fn ids_of(msg: &mail_parser::Message<'_>, name: &str, parsed: &HeaderValue<'_>) -> Vec<String> {
    let raw = raw_ids(msg, name);
    if raw.is_empty() { id_list(parsed) } else { raw }
}

/// The ids of every top-level `name` field (several `References` fields are joined).
pub(crate) fn raw_ids(msg: &mail_parser::Message<'_>, name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (n, value) in msg.headers_raw() {
        if n.eq_ignore_ascii_case(name) {
            for id in message_ids(value) {
                if !out.contains(&id) {
                    out.push(id);
                }
            }
        }
    }
    keep_newest(out)
}

/// Keep the newest ones: References grows at its end (RFC 5322 §3.6.4).
fn keep_newest(mut out: Vec<String>) -> Vec<String> {
    if out.len() > MAX_IDS {
        out.drain(..out.len() - MAX_IDS);
    }
    out
}

/// The message ids in the raw value of a Message-ID, In-Reply-To or References field
/// (RFC 5322 §3.6.4 `msg-id = "<" id-left "@" id-right ">"`), read as leniently as real
/// mail needs, each as `<id>`:
/// - `<a@b>` as the RFC writes it (also without `@`, which old clients send);
/// - `<a@b` with its `>` lost (cut by a client or a gateway): up to the next white space
///   or `<`, and only with an `@`, so that a stray `<` in a phrase is not an id;
/// - a bare `a@b` when it is the whole value (`Message-ID: abc@example.com`). Bare words in
///   a phrase (`In-Reply-To: your message of … from bob@example.com`) are not ids: they
///   would tie unrelated mail together.
///
/// Comments in parentheses are skipped. Never panics, whatever the input.
pub fn message_ids(value: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |id: &str, need_at: bool| {
        if need_at && !id.contains('@') {
            return;
        }
        if let Some(id) = clean_id(id)
            && !out.contains(&id)
        {
            out.push(id);
        }
    };
    let trimmed = value.trim();
    if !trimmed.contains(['<', '(']) {
        if !trimmed.contains(char::is_whitespace) {
            push(trimmed.trim_end_matches('>'), true);
        }
        return keep_newest(out);
    }
    let mut chars = value.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '(' => {
                // A comment (nested ones counted), outside any id.
                let mut depth = 1usize;
                for (_, c) in chars.by_ref() {
                    match c {
                        '(' => depth += 1,
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            '<' => {
                let start = i + c.len_utf8();
                let mut end = value.len();
                let mut closed = false;
                while let Some(&(j, d)) = chars.peek() {
                    if d == '>' {
                        end = j;
                        closed = true;
                        chars.next();
                        break;
                    }
                    if d == '<' || d.is_whitespace() {
                        end = j;
                        break;
                    }
                    chars.next();
                }
                if let Some(id) = value.get(start..end) {
                    push(id, !closed);
                }
            }
            _ => {}
        }
    }
    keep_newest(out)
}

fn id_list(v: &HeaderValue<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for s in header_texts(v) {
        // Some clients put several ids in one text value.
        for piece in s.split(|c: char| c.is_whitespace() || c == ',') {
            if let Some(id) = clean_id(piece)
                && !out.contains(&id)
            {
                out.push(id);
            }
        }
        if out.len() >= MAX_IDS {
            break;
        }
    }
    // Keep the newest ones: References grows at its end (RFC 5322 §3.6.4).
    if out.len() > MAX_IDS {
        out.drain(..out.len() - MAX_IDS);
    }
    out
}

pub(crate) fn header_texts(v: &HeaderValue<'_>) -> Vec<String> {
    match v {
        HeaderValue::Text(t) => vec![t.to_string()],
        HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
        HeaderValue::Address(a) => address_list(a).into_iter().map(|m| m.address).collect(),
        _ => Vec::new(),
    }
}

fn address_list(a: &Address<'_>) -> Vec<Mailbox> {
    let mut out = Vec::new();
    let mut push = |name: Option<&str>, addr: Option<&str>| {
        if let Some(address) = addr.and_then(crate::address::normalize) {
            let name = name
                .map(|n| truncate_chars(clean_text(n).trim(), 200))
                .filter(|n| !n.is_empty() && n.to_lowercase() != address);
            if !out.iter().any(|m: &Mailbox| m.address == address) {
                out.push(Mailbox { name, address });
            }
        }
    };
    match a {
        Address::List(list) => {
            for x in list {
                push(x.name.as_deref(), x.address.as_deref());
            }
        }
        Address::Group(groups) => {
            for g in groups {
                for x in &g.addresses {
                    push(x.name.as_deref(), x.address.as_deref());
                }
            }
        }
    }
    out
}

fn mailboxes(a: &Address<'_>) -> Vec<Mailbox> {
    address_list(a)
}

fn first_mailbox(a: &Address<'_>) -> Option<Mailbox> {
    address_list(a).into_iter().next()
}

/// A file name safe to put in a Content-Disposition header and on a disk: no path, no
/// controls, no quotes, at most 200 characters.
pub fn safe_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base
        .chars()
        .filter(|c| {
            !c.is_control() && !matches!(c, '"' | '\\' | '/' | ':' | '*' | '?' | '<' | '>' | '|')
        })
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    truncate_chars(trimmed, 200)
}

fn default_filename(n: usize, content_type: &str) -> String {
    let ext = match content_type {
        "message/rfc822" => "eml",
        "text/plain" => "txt",
        "text/html" => "html",
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/gif" => "gif",
        "application/pdf" => "pdf",
        _ => "bin",
    };
    format!("attachment-{n}.{ext}")
}

/// `26214400` → `25 MB`.
pub fn human_size(bytes: u64) -> String {
    const MB: f64 = 1024.0 * 1024.0;
    let b = bytes as f64;
    if b >= MB {
        let v = b / MB;
        if (v - v.round()).abs() < 0.05 {
            format!("{} MB", v.round() as u64)
        } else {
            format!("{v:.1} MB")
        }
    } else if bytes >= 1024 {
        format!("{} KB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}
