//! Threading signals that live in the mail itself: subject normalisation and the ticket tag
//! Frontdesk puts in the subjects it sends (`[#123]`).

/// Reply and forward prefixes in common languages (`Re:`, `Fwd:`, `AW:`, `SV:`, `回复:`…).
const PREFIXES: &[&str] = &[
    "re", "fw", "fwd", "aw", "wg", "sv", "vs", "antw", "antwort", "tr", "rif", "r", "ref", "enc",
    "odp", "res", "ynt", "rv", "vb", "doorst", "fs", "πρθ", "απ", "回复", "答复", "転送", "返信",
];

/// The tag Frontdesk adds to subjects of mail sent from a ticket.
pub fn ticket_tag(ticket_id: i64) -> String {
    format!("[#{ticket_id}]")
}

/// Appends the ticket tag unless the subject already carries it.
pub fn subject_with_tag(subject: &str, ticket_id: i64) -> String {
    let tag = ticket_tag(ticket_id);
    if subject.contains(&tag) {
        subject.to_string()
    } else if subject.trim().is_empty() {
        tag
    } else {
        format!("{} {tag}", subject.trim_end())
    }
}

/// Ticket ids named by `[#123]` tags in a subject.
pub fn tags_in_subject(subject: &str) -> Vec<i64> {
    let mut out = Vec::new();
    let mut rest = subject;
    while let Some(i) = rest.find("[#") {
        let Some(after) = rest.get(i + 2..) else {
            break;
        };
        let digits: String = after.chars().take_while(|c| c.is_ascii_digit()).collect();
        if !digits.is_empty()
            && after
                .get(digits.len()..)
                .is_some_and(|r| r.starts_with(']'))
            && let Ok(n) = digits.parse::<i64>()
            && !out.contains(&n)
        {
            out.push(n);
        }
        rest = after;
    }
    out
}

/// The subject as a topic: reply/forward prefixes (with counters like `Re[2]:`), ticket tags,
/// `[list]` prefixes and white space removed, lower-cased. Two messages whose normalised
/// subjects differ are about different things.
pub fn normalize_subject(subject: &str) -> String {
    let mut s = subject.trim().to_string();
    // Remove ticket tags anywhere.
    // (Digits are ASCII: their count is their length in bytes.)
    while let Some(i) = s.find("[#") {
        let after = s.get(i + 2..).unwrap_or_default();
        let n = after.chars().take_while(|c| c.is_ascii_digit()).count();
        if n > 0 && after.get(n..).is_some_and(|r| r.starts_with(']')) {
            s.replace_range(i..i + 3 + n, "");
        } else {
            break;
        }
    }
    loop {
        let t = s.trim_start();
        let mut stripped = None;
        // "[list-name] " prefixes added by mailing lists.
        if let Some(rest) = t.strip_prefix('[')
            && let Some(end) = rest.find(']')
            && end < 40
        {
            stripped = rest.get(end + 1..).map(str::to_string);
        }
        if stripped.is_none() {
            for p in PREFIXES {
                if let Some(rest) = strip_prefix_ignoring_case(t, p) {
                    // Optional counter: Re[2]: / Re(2): / Re^2:
                    let rest_trim = rest.trim_start();
                    let mut after = rest_trim;
                    if let Some(r) = after.strip_prefix(['[', '(']) {
                        let n = r.chars().take_while(|c| c.is_ascii_digit()).count();
                        if n > 0
                            && let Some(r) = r.get(n..)
                            && let Some(r) = r.strip_prefix([']', ')'])
                        {
                            after = r;
                        }
                    } else if let Some(r) = after.strip_prefix('^') {
                        let n = r.chars().take_while(|c| c.is_ascii_digit()).count();
                        after = r.get(n..).unwrap_or(r);
                    }
                    let after = after.trim_start();
                    if let Some(r) = after.strip_prefix([':', '：']) {
                        stripped = Some(r.to_string());
                        break;
                    }
                }
            }
        }
        match stripped {
            Some(r) => s = r,
            None => break,
        }
    }
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// `s` without a leading `prefix` (lower case) compared case-insensitively, cut in `s`
/// itself: lower-casing the whole subject first and cutting it at the prefix's length in
/// the lowered copy cut the original in the wrong place when lowering changed a
/// character's length (`İ` is 2 bytes, its lower case 3).
fn strip_prefix_ignoring_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let mut rest = prefix;
    for (i, c) in s.char_indices() {
        if rest.is_empty() {
            return s.get(i..);
        }
        for l in c.to_lowercase() {
            rest = rest.strip_prefix(l)?;
        }
    }
    rest.is_empty().then_some("")
}

/// `Re: ` + the subject unless it already starts with a reply prefix (RFC 5322 §3.6.5).
pub fn reply_subject(subject: &str) -> String {
    let t = subject.trim();
    // `get`, not `[..3]`: the third byte may fall inside a character (`ab€`, `#订单`), and a
    // panic here once stalled the ingestion of every message behind it.
    if t.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("re:")) {
        t.to_string()
    } else {
        format!("Re: {t}")
    }
}

/// The `References` of a reply (RFC 5322 §3.6.4): the parent's `References` (or, when it has
/// none, its `In-Reply-To` if that names a single message) followed by the parent's
/// `Message-ID`. `None` when the result would be empty.
pub fn reply_references(
    parent_references: Option<&str>,
    parent_in_reply_to: Option<&str>,
    parent_message_id: Option<&str>,
) -> Option<String> {
    let single_in_reply_to =
        parent_in_reply_to.filter(|v| v.trim().starts_with('<') && v.matches('<').count() == 1);
    let mut ids: Vec<&str> = parent_references
        .filter(|r| !r.trim().is_empty())
        .or(single_in_reply_to)
        .map(|r| r.split_whitespace().collect())
        .unwrap_or_default();
    if let Some(mid) = parent_message_id.map(str::trim).filter(|m| !m.is_empty()) {
        ids.push(mid);
    }
    (!ids.is_empty()).then(|| ids.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_references_follow_rfc_5322_3_6_4() {
        assert_eq!(
            reply_references(Some("<a@x> <b@x>"), Some("<b@x>"), Some("<c@x>")).as_deref(),
            Some("<a@x> <b@x> <c@x>")
        );
        // No References: a single In-Reply-To stands in for them.
        assert_eq!(
            reply_references(None, Some("<b@x>"), Some("<c@x>")).as_deref(),
            Some("<b@x> <c@x>")
        );
        // Several ids in In-Reply-To are ambiguous: only the parent's own id.
        assert_eq!(
            reply_references(None, Some("<a@x> <b@x>"), Some("<c@x>")).as_deref(),
            Some("<c@x>")
        );
        assert_eq!(reply_references(Some("  "), None, None), None);
    }

    #[test]
    fn subjects_with_multibyte_characters_never_panic() {
        assert_eq!(reply_subject("ab€ invoice"), "Re: ab€ invoice");
        assert_eq!(reply_subject("#订单 123"), "Re: #订单 123");
        assert_eq!(reply_subject("RE: ab€"), "RE: ab€");
        for s in [
            "ab€",
            "#订单 123",
            "[#12]€",
            "Re[€]: x",
            "[€€€€€€€€€€€€€€€] x",
            "İİ: x",
            "ΑΠ: ñ",
        ] {
            let _ = normalize_subject(s);
            let _ = tags_in_subject(s);
            let _ = subject_with_tag(s, 7);
        }
    }

    #[test]
    fn subjects_normalise() {
        assert_eq!(
            normalize_subject("Re: AW: Fwd:  Order  42 [#7]"),
            "order 42"
        );
        assert_eq!(normalize_subject("RE[2]: Order 42"), "order 42");
        assert_eq!(normalize_subject("[support] Re: Order 42"), "order 42");
        assert_eq!(normalize_subject("Réponse: Order"), "réponse: order");
        assert_eq!(normalize_subject("回复：订单"), "订单");
        assert_eq!(tags_in_subject("Re: x [#12] y [#x] [#34]"), vec![12, 34]);
        assert_eq!(subject_with_tag("Re: Order", 5), "Re: Order [#5]");
        assert_eq!(subject_with_tag("Re: Order [#5]", 5), "Re: Order [#5]");
        assert_eq!(reply_subject("RE: x"), "RE: x");
        assert_eq!(reply_subject("x"), "Re: x");
    }
}
