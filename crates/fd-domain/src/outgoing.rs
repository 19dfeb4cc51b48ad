//! What an agent's outgoing reply may carry (issue 15, items 7 and 8): the size limits of
//! attachments, who may attach an uploaded file, and the small template language of
//! snippets, templates and signatures (`{{contact.firstname}}`, `{{ticket.id}}`…).
//!
//! Pure: the caller passes the limits (account settings), the files and the values; no
//! storage, no clock, no HTTP.

use crate::error::{DomainError, ErrorCode, FieldError};
use crate::model::UserId;

/// Default limit for one file: 10 MiB.
pub const DEFAULT_MAX_FILE_BYTES: i64 = 10 * 1024 * 1024;
/// Default limit for all the files of one message: 25 MiB.
pub const DEFAULT_MAX_MESSAGE_BYTES: i64 = 25 * 1024 * 1024;
/// The largest limit an administrator may set (what the web layer accepts as a body).
pub const MAX_CONFIGURABLE_BYTES: i64 = 50 * 1024 * 1024;
/// At most this many files on one reply.
pub const MAX_FILES_PER_MESSAGE: usize = 20;

/// The account's attachment limits (Settings → Account).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttachmentLimits {
    pub max_file_bytes: i64,
    pub max_message_bytes: i64,
}

impl Default for AttachmentLimits {
    fn default() -> Self {
        AttachmentLimits {
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        }
    }
}

/// Human size for refusals: "10 MiB", "512 KiB", "12 bytes".
pub fn human_bytes(n: i64) -> String {
    const MIB: i64 = 1024 * 1024;
    if n >= MIB && n % MIB == 0 {
        format!("{} MiB", n / MIB)
    } else if n >= MIB {
        format!("{:.1} MiB", n as f64 / MIB as f64)
    } else if n >= 1024 {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}

/// Checks limits an administrator sets: each at least 1 KiB and at most
/// [`MAX_CONFIGURABLE_BYTES`], and a file's limit no more than a message's.
pub fn check_limits(l: AttachmentLimits) -> Result<AttachmentLimits, DomainError> {
    for (field, v) in [
        ("max_attachment_bytes", l.max_file_bytes),
        ("max_message_attachments_bytes", l.max_message_bytes),
    ] {
        if !(1024..=MAX_CONFIGURABLE_BYTES).contains(&v) {
            return Err(DomainError::field(
                field,
                ErrorCode::InvalidValue,
                format!(
                    "must be between 1 KiB and {}",
                    human_bytes(MAX_CONFIGURABLE_BYTES)
                ),
            ));
        }
    }
    if l.max_file_bytes > l.max_message_bytes {
        return Err(DomainError::field(
            "max_attachment_bytes",
            ErrorCode::InvalidValue,
            "a file's limit cannot be larger than a message's",
        ));
    }
    Ok(l)
}

/// An upload: refused when empty, nameless or over the per-file limit.
pub fn check_upload(name: &str, size: i64, limits: AttachmentLimits) -> Result<(), DomainError> {
    if name.trim().is_empty() {
        return Err(DomainError::field(
            "fileName",
            ErrorCode::Required,
            "a file needs a name",
        ));
    }
    if name.chars().count() > 255 || name.chars().any(|c| c.is_control()) {
        return Err(DomainError::field(
            "fileName",
            ErrorCode::InvalidValue,
            "a file name has at most 255 characters and no control characters",
        ));
    }
    if size == 0 {
        return Err(DomainError::field(
            "file",
            ErrorCode::InvalidValue,
            format!("{name} is empty"),
        ));
    }
    if size > limits.max_file_bytes {
        return Err(DomainError::field(
            "file",
            ErrorCode::TooLarge,
            format!(
                "{name} is {}, over the limit of {} per file",
                human_bytes(size),
                human_bytes(limits.max_file_bytes)
            ),
        ));
    }
    Ok(())
}

/// An uploaded file as the attach rule sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachCandidate {
    pub id: i64,
    pub name: String,
    pub size: i64,
    pub owner: UserId,
    /// Already on a message (sent files are not attached again by id).
    pub attached: bool,
}

/// HD-09 and the limits: may `sender` attach these files to one reply? Only their own
/// files not yet sent, each within the per-file limit, all together within the message's.
/// Someone else's file is refused as not found (it is not theirs to see).
pub fn check_attach(
    sender: UserId,
    files: &[AttachCandidate],
    limits: AttachmentLimits,
) -> Result<(), DomainError> {
    if files.len() > MAX_FILES_PER_MESSAGE {
        return Err(DomainError::field(
            "attachments",
            ErrorCode::TooLarge,
            format!("a reply carries at most {MAX_FILES_PER_MESSAGE} files"),
        ));
    }
    let mut errors = Vec::new();
    for f in files {
        if f.owner != sender {
            errors.push(FieldError::new(
                "attachments",
                ErrorCode::InvalidValue,
                format!("file {} not found", f.id),
            ));
        } else if f.attached {
            errors.push(FieldError::new(
                "attachments",
                ErrorCode::InvalidValue,
                format!(
                    "file {} ({}) was already sent with another message",
                    f.id, f.name
                ),
            ));
        } else if f.size > limits.max_file_bytes {
            errors.push(FieldError::new(
                "attachments",
                ErrorCode::TooLarge,
                format!(
                    "{} is {}, over the limit of {} per file",
                    f.name,
                    human_bytes(f.size),
                    human_bytes(limits.max_file_bytes)
                ),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(DomainError::Invalid(errors));
    }
    let total: i64 = files.iter().map(|f| f.size).sum();
    if total > limits.max_message_bytes {
        return Err(DomainError::field(
            "attachments",
            ErrorCode::TooLarge,
            format!(
                "the attachments come to {}, over the limit of {} per message",
                human_bytes(total),
                human_bytes(limits.max_message_bytes)
            ),
        ));
    }
    Ok(())
}

/// The variables snippets, templates and signatures may use.
pub const VARIABLES: &[&str] = &[
    "contact.firstname",
    "contact.lastname",
    "contact.email",
    "ticket.id",
    "ticket.subject",
    "agent.name",
    "agent.firstname",
    "company.name",
];

/// The values at insert time; `None` (no contact, no company…) fills as empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VariableValues {
    pub contact_firstname: Option<String>,
    pub contact_lastname: Option<String>,
    pub contact_email: Option<String>,
    pub ticket_id: Option<String>,
    pub ticket_subject: Option<String>,
    pub agent_name: Option<String>,
    pub agent_firstname: Option<String>,
    pub company_name: Option<String>,
}

impl VariableValues {
    fn get(&self, name: &str) -> Option<&str> {
        let v = match name {
            "contact.firstname" => &self.contact_firstname,
            "contact.lastname" => &self.contact_lastname,
            "contact.email" => &self.contact_email,
            "ticket.id" => &self.ticket_id,
            "ticket.subject" => &self.ticket_subject,
            "agent.name" => &self.agent_name,
            "agent.firstname" => &self.agent_firstname,
            "company.name" => &self.company_name,
            _ => return None,
        };
        v.as_deref()
    }
}

/// One piece of a template: text, or `{{ name }}` (the name trimmed, lower-cased).
enum Piece<'a> {
    Text(&'a str),
    Var(String),
}

fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let (before, after) = rest.split_at(start);
        let inner_start = after.get(2..).unwrap_or("");
        match inner_start.find("}}") {
            Some(end) if !inner_start.get(..end).unwrap_or("").contains("{{") => {
                if !before.is_empty() {
                    out.push(Piece::Text(before));
                }
                let name = inner_start.get(..end).unwrap_or("").trim().to_lowercase();
                out.push(Piece::Var(name));
                rest = inner_start.get(end + 2..).unwrap_or("");
            }
            _ => {
                // An unclosed `{{` (or one reopened before closing) is literal text.
                let (lit, next) = after.split_at(2);
                out.push(Piece::Text(before));
                out.push(Piece::Text(lit));
                rest = next;
            }
        }
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    out
}

/// HD-16: refuses a snippet, template or signature naming a variable that does not exist,
/// listing the ones that do.
pub fn check_variables(field: &str, text: &str) -> Result<(), DomainError> {
    let unknown: Vec<String> = pieces(text)
        .into_iter()
        .filter_map(|p| match p {
            Piece::Var(n) if !VARIABLES.contains(&n.as_str()) => Some(n),
            _ => None,
        })
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(DomainError::field(
        field,
        ErrorCode::InvalidValue,
        format!(
            "unknown variable{} {}; the variables are {}",
            if unknown.len() > 1 { "s" } else { "" },
            unknown
                .iter()
                .map(|n| format!("{{{{{n}}}}}"))
                .collect::<Vec<_>>()
                .join(", "),
            VARIABLES
                .iter()
                .map(|n| format!("{{{{{n}}}}}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ))
}

/// HD-16: fills the variables at insert time. A variable without a value becomes empty; an
/// unknown one (saved before this rule existed) also becomes empty, never raw braces in a
/// customer's mail. `escape` turns a value into the target's syntax (HTML-escaping for rich
/// text) so a contact's name cannot inject markup.
pub fn fill_variables(
    text: &str,
    values: &VariableValues,
    escape: impl Fn(&str) -> String,
) -> String {
    let mut out = String::with_capacity(text.len());
    for p in pieces(text) {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Var(n) => {
                if let Some(v) = values.get(&n) {
                    out.push_str(&escape(v));
                }
            }
        }
    }
    out
}

/// The first word of a name (`agent.firstname`).
pub fn first_name(name: &str) -> Option<String> {
    name.split_whitespace().next().map(str::to_string)
}

/// Which signature a reply starts with: the sending address's, else the agent's; `None`
/// when neither is set (blank counts as unset).
pub fn reply_signature<'a>(address: Option<&'a str>, agent: Option<&'a str>) -> Option<&'a str> {
    address
        .filter(|s| !s.trim().is_empty())
        .or(agent.filter(|s| !s.trim().is_empty()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;

    fn vals() -> VariableValues {
        VariableValues {
            contact_firstname: Some("Ada".into()),
            ticket_id: Some("42".into()),
            agent_name: Some("Grace Hopper".into()),
            ..Default::default()
        }
    }

    #[test]
    fn hd_16_variables_fill_and_missing_ones_are_empty() {
        let t =
            "Hi {{contact.firstname}}, ticket #{{ ticket.id }} - {{agent.name}}{{company.name}}.";
        assert_eq!(
            fill_variables(t, &vals(), str::to_string),
            "Hi Ada, ticket #42 - Grace Hopper."
        );
        assert_eq!(fill_variables("a {{ b", &vals(), str::to_string), "a {{ b");
        assert_eq!(
            fill_variables("{{x{{ticket.id}}", &vals(), str::to_string),
            "{{x42"
        );
    }

    #[test]
    fn hd_16_unknown_variables_are_refused_with_the_list() {
        assert!(check_variables("body", "Hi {{contact.firstname}}").is_ok());
        let e = check_variables("body", "Hi {{contact.nickname}}").unwrap_err();
        let s = e.to_string();
        assert!(s.contains("{{contact.nickname}}"), "{s}");
        assert!(s.contains("{{ticket.id}}"), "{s}");
    }

    #[test]
    fn attachments_respect_owner_and_limits() {
        let l = AttachmentLimits {
            max_file_bytes: 100,
            max_message_bytes: 150,
        };
        let f = |id, size, owner| AttachCandidate {
            id,
            name: format!("f{id}"),
            size,
            owner: UserId(owner),
            attached: false,
        };
        assert!(check_attach(UserId(1), &[f(1, 100, 1)], l).is_ok());
        assert!(check_attach(UserId(1), &[f(1, 101, 1)], l).is_err());
        assert!(check_attach(UserId(1), &[f(1, 100, 1), f(2, 100, 1)], l).is_err());
        assert!(check_attach(UserId(1), &[f(1, 10, 2)], l).is_err());
        assert!(check_upload("a.txt", 0, l).is_err());
        assert_eq!(
            check_upload("a.txt", 101, l).unwrap_err().codes(),
            vec![ErrorCode::TooLarge]
        );
        assert_eq!(reply_signature(Some(" "), Some("me")), Some("me"));
        assert_eq!(reply_signature(Some("team"), Some("me")), Some("team"));
    }
}
