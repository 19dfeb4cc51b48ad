//! Loop and noise detection: is this mail from a person, or an auto-reply, bulk mail, a
//! bounce (delivery status notification) or an abuse feedback report?
//!
//! Sources: RFC 3834 (auto-responses: `Auto-Submitted`, null reverse-path, §2 "when not to
//! respond"), RFC 3464 (DSN `multipart/report; report-type=delivery-status`), RFC 6533
//! (internationalised DSNs), RFC 8098 (MDN read receipts), RFC 5965 (ARF feedback reports),
//! RFC 2076 / common practice (`Precedence`, `X-Autoreply`, Exchange's
//! `X-Auto-Response-Suppress`), and the non-standard bounce formats real MTAs still send
//! (qmail, Exchange 2003, Notes, carrier gateways), recognised by subject and wording.

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

use crate::parse::{Mailbox, ParseOptions, clean_id, header_texts, raw_ids};
use crate::{clean_text, truncate_chars};

/// What kind of sender produced a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Automation {
    /// A person wrote it: it may open a ticket and may get an acknowledgement.
    Human,
    /// An automatic response (vacation, out-of-office, read receipt, auto-acknowledgement).
    AutoReply(String),
    /// Bulk, list or junk mail (`Precedence`).
    Bulk(String),
    /// A delivery failure (or delay) report about a message sent earlier.
    Bounce(BounceInfo),
    /// An abuse/feedback-loop report (RFC 5965).
    Feedback,
}

impl Automation {
    /// Only mail written by a person opens a ticket (auto-replies and bounces never do).
    pub fn opens_ticket(&self) -> bool {
        matches!(self, Automation::Human)
    }

    /// A short label stored with the raw mail (`human`, `auto_reply`, `bulk`, `bounce`, `feedback`).
    pub fn label(&self) -> &'static str {
        match self {
            Automation::Human => "human",
            Automation::AutoReply(_) => "auto_reply",
            Automation::Bulk(_) => "bulk",
            Automation::Bounce(_) => "bounce",
            Automation::Feedback => "feedback",
        }
    }

    pub fn reason(&self) -> String {
        match self {
            Automation::Human => String::new(),
            Automation::AutoReply(r) | Automation::Bulk(r) => r.clone(),
            Automation::Bounce(b) => b.summary(),
            Automation::Feedback => "feedback report (RFC 5965)".into(),
        }
    }
}

/// What a bounce tells about the message it returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BounceInfo {
    /// The Message-ID of the message that could not be delivered, when the report carries it.
    pub original_message_id: Option<String>,
    pub recipients: Vec<String>,
    /// RFC 3463 status code such as `5.1.1`.
    pub status: Option<String>,
    /// RFC 3464 §2.3.3 action: failed, delayed, delivered, relayed, expanded.
    pub action: Option<String>,
    pub diagnostic: Option<String>,
    /// A permanent failure (5.x.x or `Action: failed`); a delay is not.
    pub permanent: bool,
}

impl BounceInfo {
    pub fn summary(&self) -> String {
        let mut s = if self.permanent {
            "delivery failed".to_string()
        } else {
            "delivery delayed or failed temporarily".to_string()
        };
        if !self.recipients.is_empty() {
            s.push_str(&format!(" for {}", self.recipients.join(", ")));
        }
        if let Some(st) = &self.status {
            s.push_str(&format!(" (status {st})"));
        }
        if let Some(d) = &self.diagnostic {
            s.push_str(": ");
            s.push_str(d);
        }
        truncate_chars(&s, 1000)
    }
}

pub(crate) fn classify(
    msg: &Message<'_>,
    options: &ParseOptions,
    return_path: Option<&str>,
    from: Option<&Mailbox>,
    subject: Option<&str>,
    text: &str,
) -> Automation {
    let null_sender = options.envelope_from.as_deref() == Some("") || return_path == Some("");
    let machine_from = from.is_some_and(|f| crate::address::is_machine_sender(&f.address));
    let subject_l = subject.unwrap_or("").to_lowercase();

    // 1. Structured reports (RFC 3462/6522 multipart/report).
    if let Some(ct) = msg.content_type()
        && ct.c_type.eq_ignore_ascii_case("multipart")
        && ct
            .c_subtype
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("report"))
    {
        let report_type = ct
            .attribute("report-type")
            .unwrap_or("")
            .to_ascii_lowercase();
        match report_type.as_str() {
            "delivery-status" | "global-delivery-status" => {
                return Automation::Bounce(dsn_info(msg, text));
            }
            "feedback-report" => return Automation::Feedback,
            "disposition-notification" | "global-disposition-notification" => {
                return Automation::AutoReply("read receipt (RFC 8098)".into());
            }
            _ => {}
        }
    }
    // A delivery-status part without the multipart/report wrapper (seen from some gateways).
    if find_part(
        msg,
        &["message/delivery-status", "message/global-delivery-status"],
    )
    .is_some()
    {
        return Automation::Bounce(dsn_info(msg, text));
    }
    if find_part(msg, &["message/feedback-report"]).is_some() {
        return Automation::Feedback;
    }

    // 2. Non-standard bounces: a returned message plus bounce wording, from a mail system.
    let has_original = original_part(msg).is_some();
    let subject_bounce = BOUNCE_SUBJECTS.iter().any(|p| subject_l.contains(p));
    let text_l = text.to_lowercase();
    let body_bounce = BOUNCE_PHRASES.iter().any(|p| text_l.contains(p));
    let from_daemon = from.is_some_and(|f| {
        let l = f.address.split('@').next().unwrap_or("");
        matches!(
            l,
            "mailer-daemon" | "mailerdaemon" | "mail-daemon" | "postmaster" | "post_master"
        )
    });
    let auto_submitted = header_text(msg, "auto-submitted")
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty() && !v.starts_with("no"));
    // Mail from a mailer daemon or a postmaster is a bounce unless it plainly is not (RT and
    // Zendesk treat it so): delay warnings ("Warning: message has not yet been delivered")
    // use wording no list can hold, and a daemon's notice must never open a ticket. Reports
    // of another kind were recognised above; `Auto-Submitted: no` is a person writing from
    // the postmaster address, which RFC 3834 §5 lets them say.
    let person_says_so =
        header_text(msg, "auto-submitted").is_some_and(|v| v.trim().eq_ignore_ascii_case("no"));
    let machine = machine_from || null_sender;
    let looks_bounce = (from_daemon && !person_says_so)
        || (subject_bounce && body_bounce)
        || (subject_bounce && has_original && machine)
        || (body_bounce && has_original && machine);
    if looks_bounce {
        return Automation::Bounce(heuristic_bounce_info(msg, text, &subject_l));
    }

    // 3. Auto-responses (RFC 3834 §5 Auto-Submitted; vendor headers; wording).
    if let Some(v) = auto_submitted {
        return Automation::AutoReply(format!("Auto-Submitted: {v}"));
    }
    for name in [
        "x-autoreply",
        "x-autorespond",
        "x-autoresponder",
        "x-autoreply-from",
        "x-mail-autoreply",
        "x-autogenerated",
    ] {
        if header_text(msg, name).is_some() {
            return Automation::AutoReply(format!("{name} header"));
        }
    }
    if let Some(v) = header_text(msg, "x-auto-response-suppress") {
        let l = v.to_ascii_lowercase();
        if l.contains("all") || l.contains("oof") || l.contains("autoreply") {
            return Automation::AutoReply(format!("X-Auto-Response-Suppress: {}", v.trim()));
        }
    }
    for name in ["precedence", "x-precedence"] {
        if let Some(v) = header_text(msg, name) {
            let l = v.trim().to_ascii_lowercase();
            match l.as_str() {
                "bulk" | "junk" | "list" => return Automation::Bulk(format!("Precedence: {l}")),
                "auto_reply" | "auto-reply" => {
                    return Automation::AutoReply(format!("Precedence: {l}"));
                }
                _ => {}
            }
        }
    }
    if OOO_SUBJECTS.iter().any(|p| {
        subject_l.starts_with(p)
            || subject_l.contains(&format!(" {p}"))
            || subject_l.contains(&format!(":{p}"))
    }) {
        return Automation::AutoReply(format!(
            "out-of-office subject: {}",
            truncate_chars(subject.unwrap_or(""), 100)
        ));
    }
    if null_sender {
        return Automation::AutoReply("null reverse-path <> (RFC 5321 §4.5.5)".into());
    }
    Automation::Human
}

/// Subject fragments of bounces (lower case), from the MTAs in sisimai's catalogue.
const BOUNCE_SUBJECTS: &[&str] = &[
    "undeliver",
    "undelivered mail",
    "delivery status notification",
    "delivery failure",
    "delivery failed",
    "failed delivery",
    "delivery has failed",
    "delivery problem",
    "delivery notification",
    "mail delivery failed",
    "mail delivery system",
    "mail delivery subsystem",
    "failure notice",
    "returned mail",
    "returned to sender",
    "non-delivery",
    "nondeliverable",
    "non delivery",
    "could not send message",
    "message not delivered",
    "message could not be delivered",
    "mail system error",
    "delivery report",
    "unzustellbar",
    "non remis",
    "no se puede entregar",
    "nicht zugestellt",
    "mail could not be delivered",
    "warning: could not send",
    "mail failure",
    "permanent error",
    "not yet been delivered",
    "delivery delayed",
    "delayed mail",
    "delivery status notification (delay)",
    "メールエラー",
    "エラー通知",
    "配信不能",
    "退信",
    "系统退信",
];

/// Phrases of bounce bodies (lower case).
const BOUNCE_PHRASES: &[&str] = &[
    "could not be delivered",
    "was not delivered",
    "wasn't able to deliver",
    "was not able to deliver",
    "unable to deliver",
    "delivery to the following recipient",
    "delivery has failed",
    "delivery to the following recipients failed",
    "the following addresses had permanent fatal errors",
    "this is the mail system at host",
    "message could not be delivered",
    "your message could not be delivered",
    "permanent error",
    "this is a permanent error",
    "user unknown",
    "no such user",
    "mailbox unavailable",
    "mailbox is full",
    "mailbox full",
    "recipient address rejected",
    "address not found",
    "the email account that you tried to reach does not exist",
    "message delivery has failed",
    "your message wasn't delivered",
    "your message was not delivered",
    "couldn't be delivered",
    "undeliverable",
    "delivery status notification",
    "the original message was received",
    "returned mail: see transcript",
    "transcript of session follows",
    "rejected your message",
    "message was rejected",
    "550 5.",
    "554 5.",
    "553 5.",
    "552 5.",
    "smtp error from remote",
    "no such user here",
    "invalid user address",
    "requested action not taken",
    "送信できませんでした",
];

/// Wording of delay warnings (lower case): the message is still queued and will be tried
/// again, so the report is temporary (RFC 3464 `Action: delayed`) unless a 5.x.x status says
/// otherwise.
const DELAY_PHRASES: &[&str] = &[
    "not yet been delivered",
    "has been delayed",
    "delivery delayed",
    "delivery is delayed",
    "delayed mail",
    "message delayed",
    "(delay)",
    "will continue trying",
    "will keep trying",
    "will retry",
    "still trying",
    "warning only",
    "do not need to resend",
    "could not send message for past",
    "is still in the queue",
    "no action is required",
];

/// Out-of-office subject prefixes in the languages help desks meet most.
const OOO_SUBJECTS: &[&str] = &[
    "auto:",
    "automatic reply",
    "auto reply",
    "auto-reply",
    "autoreply",
    "auto response",
    "auto-response",
    "autoresponse",
    "out of office",
    "out of the office",
    "ooo:",
    "abwesenheitsnotiz",
    "automatische antwort",
    "abwesend",
    "réponse automatique",
    "reponse automatique",
    "absence du bureau",
    "respuesta automática",
    "respuesta automatica",
    "fuera de la oficina",
    "risposta automatica",
    "fuori sede",
    "automatisch antwoord",
    "afwezig",
    "autosvar",
    "automatisk svar",
    "automaattinen vastaus",
    "resposta automática",
    "resposta automatica",
    "automatyczna odpowiedź",
    "автоматический ответ",
    "自動応答",
    "自动回复",
    "vacation reply",
    "on vacation",
    "away from my mail",
    "away from the office",
];

fn header_text(msg: &Message<'_>, name: &str) -> Option<String> {
    msg.headers()
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case(name))
        .map(|h| header_texts(h.value()).join(", "))
}

fn part_type(part: &mail_parser::MessagePart<'_>) -> Option<String> {
    part.content_type().map(|ct| match &ct.c_subtype {
        Some(s) => format!("{}/{}", ct.c_type, s).to_ascii_lowercase(),
        None => ct.c_type.to_ascii_lowercase(),
    })
}

fn find_part<'a>(msg: &'a Message<'a>, types: &[&str]) -> Option<&'a mail_parser::MessagePart<'a>> {
    msg.parts
        .iter()
        .find(|p| part_type(p).is_some_and(|t| types.contains(&t.as_str())))
}

/// Parts that carry the returned original message (or its headers) inside a report; the
/// report's own machine-readable parts (delivery-status, feedback-report…) are not it, even
/// though the parser may treat them as nested messages.
fn original_parts<'a>(msg: &'a Message<'a>) -> Vec<&'a mail_parser::MessagePart<'a>> {
    const REPORT_PARTS: &[&str] = &[
        "message/delivery-status",
        "message/global-delivery-status",
        "message/feedback-report",
        "message/disposition-notification",
        "message/global-disposition-notification",
    ];
    msg.parts
        .iter()
        .skip(1)
        .filter(|p| {
            let t = part_type(p);
            if t.as_deref().is_some_and(|t| REPORT_PARTS.contains(&t)) {
                return false;
            }
            matches!(p.body, PartType::Message(_))
                || t.is_some_and(|t| {
                    matches!(
                        t.as_str(),
                        "message/rfc822"
                            | "text/rfc822-headers"
                            | "message/global"
                            | "message/global-headers"
                    )
                })
        })
        .collect()
}

fn original_part<'a>(msg: &'a Message<'a>) -> Option<&'a mail_parser::MessagePart<'a>> {
    original_parts(msg).into_iter().next()
}

fn original_message_id(msg: &Message<'_>, text: &str) -> Option<String> {
    for part in original_parts(msg) {
        // Read leniently, as the message's own id is (an id without its `>` is still one).
        if let Some(inner) = part.message()
            && let Some(id) = raw_ids(inner, "message-id")
                .into_iter()
                .next()
                .or_else(|| inner.message_id().and_then(clean_id))
        {
            return Some(id);
        }
        // A header block without its closing empty line loses its last field in the
        // parser; returned headers often end right at the boundary.
        let mut headers = part.contents().to_vec();
        headers.extend_from_slice(b"\r\n\r\n");
        if let Some(inner) = MessageParser::default().parse_headers(&headers)
            && let Some(id) = raw_ids(&inner, "message-id")
                .into_iter()
                .next()
                .or_else(|| inner.message_id().and_then(clean_id))
        {
            return Some(id);
        }
    }
    // Inline copies ("--- Below this line is a copy of the message."): the first
    // Message-ID line of the body text belongs to the returned message.
    for line in text.lines() {
        let l = line.trim_start();
        if let (Some(name), Some(value)) = (l.get(..11), l.get(11..))
            && name.eq_ignore_ascii_case("message-id:")
            && let Some(id) = clean_id(value.trim())
        {
            return Some(id);
        }
    }
    // Some MTAs thread the bounce onto the original instead.
    msg.in_reply_to().as_text().and_then(clean_id)
}

/// Fields of the message/delivery-status part (RFC 3464 §2): one per-message block, then one
/// block per recipient; continuation lines start with white space.
fn dsn_info(msg: &Message<'_>, text: &str) -> BounceInfo {
    let mut info = BounceInfo {
        original_message_id: original_message_id(msg, text),
        ..BounceInfo::default()
    };
    let Some(part) = find_part(
        msg,
        &["message/delivery-status", "message/global-delivery-status"],
    ) else {
        info.permanent = true;
        info.diagnostic = first_lines(text);
        return info;
    };
    let body = String::from_utf8_lossy(part.contents()).replace("\r\n", "\n");
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in body.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = fields.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            fields.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let mut permanent = false;
    let mut any_failed = false;
    for (k, v) in &fields {
        match k.as_str() {
            "final-recipient" | "original-recipient" => {
                let addr = v.split_once(';').map(|(_, a)| a).unwrap_or(v);
                if let Some(a) = crate::address::normalize(addr)
                    && !info.recipients.contains(&a)
                {
                    info.recipients.push(a);
                }
            }
            "action" => {
                let a = v.to_ascii_lowercase();
                any_failed |= a.starts_with("failed");
                if info.action.is_none() || a.starts_with("failed") {
                    info.action = Some(a);
                }
            }
            "status" => {
                let s = v.split_whitespace().next().unwrap_or("").to_string();
                permanent |= s.starts_with('5');
                if info.status.is_none() || s.starts_with('5') {
                    info.status = Some(s);
                }
            }
            "diagnostic-code" => {
                let d = v.split_once(';').map(|(_, d)| d).unwrap_or(v).trim();
                if info.diagnostic.is_none() && !d.is_empty() {
                    info.diagnostic = Some(truncate_chars(&clean_text(d), 500));
                }
            }
            _ => {}
        }
    }
    info.permanent = permanent || any_failed || (info.status.is_none() && info.action.is_none());
    if info.diagnostic.is_none() {
        info.diagnostic = first_lines(text);
    }
    info
}

fn heuristic_bounce_info(msg: &Message<'_>, text: &str, subject_l: &str) -> BounceInfo {
    let mut info = BounceInfo {
        original_message_id: original_message_id(msg, text),
        permanent: true,
        diagnostic: first_lines(text),
        ..BounceInfo::default()
    };
    // An RFC 3463 status code in the text tells permanent from temporary.
    for word in text.split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == '#') {
        let w = word.trim_matches(|c: char| !c.is_ascii_digit() && c != '.');
        let parts: Vec<&str> = w.split('.').collect();
        if parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.len() <= 3 && p.chars().all(|c| c.is_ascii_digit()))
            && matches!(parts[0], "4" | "5")
        {
            info.status = Some(w.to_string());
            info.permanent = parts[0] == "5";
            break;
        }
    }
    // Without a status code, a delay warning's wording makes it temporary.
    if info.status.is_none() {
        let text_l = text.to_lowercase();
        if DELAY_PHRASES
            .iter()
            .any(|p| subject_l.contains(p) || text_l.contains(p))
        {
            info.permanent = false;
            info.action = Some("delayed".into());
        }
    }
    info
}

fn first_lines(text: &str) -> Option<String> {
    let s: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.chars().all(|c| c == '#' || c == '-' || c == '='))
        .take(4)
        .collect();
    if s.is_empty() {
        None
    } else {
        Some(truncate_chars(&clean_text(&s.join(" ")), 500))
    }
}
