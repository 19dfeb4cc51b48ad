//! The calls, notes and emails (engagements) on a ticket's or a contact's timeline: their
//! view model, read through `App::timeline_engagements` (which checks the viewer may see the
//! record), and shown by `_engagements.html`.
//!
//! Must not import a screen module: the ticket and record pages call it.

use fd_app::domain::ObjectType;
use fd_app::{Actor, App, AppError, AssociationEnd, Engagement};

/// One engagement as the timeline shows it.
pub(crate) struct EngagementVm {
    /// `Call`, `Note` or `Email`.
    pub kind: &'static str,
    pub title: String,
    /// Direction, status, numbers and duration of a call; direction and status of an email.
    pub detail: String,
    /// Plain text (notes and call bodies may be HTML; the template escapes this).
    pub body: String,
    /// A call's recording, only when it is an http(s) address.
    pub recording: Option<String>,
    /// `hs_timestamp`, else the creation time.
    pub at: i64,
}

/// The engagements associated with a ticket or a contact, newest first.
pub(crate) async fn timeline(
    app: &App,
    actor: &Actor,
    kind: ObjectType,
    id: i64,
) -> Result<Vec<EngagementVm>, AppError> {
    Ok(app
        .timeline_engagements(actor, AssociationEnd::new(kind, id))
        .await?
        .iter()
        .map(vm)
        .collect())
}

fn vm(r: &Engagement) -> EngagementVm {
    let get = |name: &str| r.values.get(name).cloned().unwrap_or_default();
    let at = r.at();
    match r.kind {
        ObjectType::Call => {
            let mut detail = Vec::new();
            match get("hs_call_direction").as_str() {
                "INBOUND" => detail.push("Inbound".to_string()),
                "OUTBOUND" => detail.push("Outbound".to_string()),
                _ => {}
            }
            let status = get("hs_call_status");
            if !status.is_empty() {
                detail.push(words(&status));
            }
            let from = get("hs_call_from_number");
            if !from.is_empty() {
                detail.push(format!("from {from}"));
            }
            let to = get("hs_call_to_number");
            if !to.is_empty() {
                detail.push(format!("to {to}"));
            }
            if let Ok(ms) = get("hs_call_duration").parse::<i64>() {
                detail.push(duration(ms));
            }
            let recording = Some(get("hs_call_recording_url"))
                .filter(|u| u.starts_with("https://") || u.starts_with("http://"));
            let title = get("hs_call_title");
            EngagementVm {
                kind: "Call",
                title: if title.is_empty() {
                    "Call".into()
                } else {
                    title
                },
                detail: detail.join(" · "),
                body: plain(&get("hs_call_body")),
                recording,
                at,
            }
        }
        ObjectType::Email => {
            let mut detail = Vec::new();
            match get("hs_email_direction").as_str() {
                "EMAIL" => detail.push("Outgoing".to_string()),
                "INCOMING_EMAIL" => detail.push("Incoming".to_string()),
                "FORWARDED_EMAIL" => detail.push("Forwarded".to_string()),
                _ => {}
            }
            let status = get("hs_email_status");
            if !status.is_empty() {
                detail.push(words(&status));
            }
            let subject = get("hs_email_subject");
            let text = get("hs_email_text");
            EngagementVm {
                kind: "Email",
                title: if subject.is_empty() {
                    "Email".into()
                } else {
                    subject
                },
                detail: detail.join(" · "),
                body: if text.is_empty() {
                    plain(&get("hs_email_html"))
                } else {
                    text
                },
                recording: None,
                at,
            }
        }
        _ => EngagementVm {
            kind: "Note",
            title: "Note".into(),
            detail: String::new(),
            body: plain(&get("hs_note_body")),
            recording: None,
            at,
        },
    }
}

/// `NO_ANSWER` → `No answer`.
fn words(code: &str) -> String {
    let lower = code.replace('_', " ").to_lowercase();
    let mut c = lower.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    if s >= 60 {
        format!("{} min {} s", s / 60, s % 60)
    } else {
        format!("{s} s")
    }
}

/// The text of an HTML fragment: tags dropped, the common entities decoded, blanks folded.
/// Only for display: the template escapes the result.
fn plain(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(ch),
            _ => {}
        }
    }
    let decoded = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_helpers() {
        assert_eq!(words("NO_ANSWER"), "No answer");
        assert_eq!(duration(65_000), "1 min 5 s");
        assert_eq!(
            plain("<p>Called&nbsp;back</p><p>ok &amp; done</p>"),
            "Called back ok & done"
        );
    }
}
