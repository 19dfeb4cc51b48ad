//! Separates the new text of a reply from the quoted history and the signature.
//!
//! The quotation detection follows talon's plain-text algorithm (Mailgun, Apache-2.0): each
//! line is marked `e` (empty), `m` (quotation marker `>`), `s` (a splitter such as
//! "On … wrote:", "-----Original Message-----" or a From:/Sent:/To: block, possibly over
//! several lines), `f` (forwarded-message header) or `t` (text); then the marker string
//! decides what the quotation is. Signatures are recognised conservatively: the RFC 3676
//! §4.3 delimiter `-- ` and "Sent from my …" mobile lines at the end.

use std::sync::LazyLock;

use regex::Regex;

/// A reply cut into its parts. `reply` + `signature` is what the sender wrote this time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SplitReply {
    /// The new text, without quotation or signature.
    pub reply: String,
    pub signature: Option<String>,
    /// The quoted history, kept for display (collapsed).
    pub quoted: Option<String>,
}

impl SplitReply {
    /// The new text including its signature (what talon calls the reply).
    pub fn reply_with_signature(&self) -> String {
        match &self.signature {
            Some(s) if !self.reply.is_empty() => format!("{}\n\n{}", self.reply, s),
            Some(s) => s.clone(),
            None => self.reply.clone(),
        }
    }
}

/// Lines beyond this are not examined (talon's MAX_LINES_COUNT); they stay part of the text.
const MAX_LINES: usize = 1000;
/// A splitter spans at most this many lines (talon's SPLITTER_MAX_LINES).
const SPLITTER_MAX_LINES: usize = 6;

fn re(pattern: &str) -> Option<Regex> {
    Regex::new(pattern).ok()
}

static ON_DATE_SMB_WROTE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    // The keyword must end its line: "On Monday, I sent you…" is not a splitter.
    re(
        r"(?m)-*>? ?(?:On|Le|W dniu|Op|Am|Em|På|Den|Vào|El|Il|Dne) .*(?:,|użytkownik)(?:.*\n){0,2}.*(?:wrote|sent|a écrit|napisał|schreef|verzond|geschreven|schrieb|escreveu|skrev|đã viết|escribió|ha scritto|napsal|kirjoitti|написал)[ \t]?:?-*[ \t]*$",
    )
});

static ON_DATE_WROTE_SMB: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(r"\A-*>? ?(?:Op|Am) .*(?:.*\n){0,2}.*(?:schreef|verzond|geschreven|schrieb) *.*:")
});

static FROM_COLON_OR_DATE_COLON: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(
        r"(?i)\A(?:(?:_+\r?\n)?\s*:?\*?(?:From|Van|De|Von|Fra|Från|Od|Da|От|Date|Sent|Datum|Envoyé|Skickat|Sendt|Gesendet|Enviado|Inviato|Wysłano|Verzonden|Отправлено|Subject|Betreff|Objet|Emne|Ämne|Onderwerp|Asunto|Oggetto|Temat|Тема|To|An|Til|À|Till|Aan|Para|Do|A|Кому)\s?:(?:[^\n$]+\n){1,2}){2,}",
    )
});

static SPLITTERS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // -----Original Message----- and its translations.
        r"(?i)\A\s*-+ *(?:Original Message|Reply Message|Ursprüngliche Nachricht|Antwort Nachricht|Oprindelig meddelelse|Message d'origine|Mensaje original|Messaggio originale|Oorspronkelijk bericht|Originalmeddelande|Oprindelig besked|Opprinnelig melding|Alkuperäinen viesti|Wiadomość oryginalna|Исходное сообщение|Mensagem original) *-+",
        // 02.04.2012 14:20 пользователь "bob@example.com" <bob@xxx.mailgun.org> написал:
        r"(?s)\A(?:\d+/\d+/\d+|\d+\.\d+\.\d+).*\s\S+@\S+",
        // 2014-10-17 11:28 GMT+03:00 Bob <bob@example.com>:
        r"(?s)\A\d{4}-\d{2}-\d{2}\s+\d{2}:\d{2}\s+GMT.*\s\S+@\S+",
        // Thu, 26 Jun 2014 14:00:51 +0400 Bob <bob@example.com>:
        r"\A\S{3,10}, \d\d? \S{3,10} 20\d\d,? \d\d?:\d\d(?::\d\d)?(?: \S+){3,6}@\S+:",
        // Sent from Samsung MobileName <address@example.com> wrote:
        r"\ASent from Samsung.* \S+@\S+> wrote",
        // ---- John Smith wrote ---- (Android)
        r"(?i)\A\s*-+.*wrote *-+",
        // polymail: On … \n\n<\nmailto:John <john@x>\n> wrote:
        r"(?is)\AOn.*\s{2}<\smailto:.*\s> wrote:",
        // Attribution lines in any language: a date and an address in angle brackets, ending
        // with a colon, over at most three lines ("ср, 30 апр. 2025 г. в 15:19, John
        // <john@x>:", "pe 20. lokakuuta 2017 klo 17.50 John\n<john@x> kirjoitti:").
        r"\A[^\n]{0,200}\d[^\n]{0,200}(?:\n[^\n]{0,200}){0,2}?<\s*[^\s<>@]+@[^\s<>]+\s*>[^\n<>]{0,60}:[ \t]*(?:\n|\z)",
        r"\A[^\n]{0,200}\d[^\n]{0,200}<[^\s<>@]+@[^\s<>]+\n>[^\n<>]{0,60}:[ \t]*(?:\n|\z)",
    ]
    .iter()
    .filter_map(|p| re(p))
    .collect()
});

static FORWARD: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(
        r"(?i)\A-+ *(?:Forwarded message|Weitergeleitete Nachricht|Message transféré|Mensaje reenviado|Messaggio inoltrato|Doorgestuurd bericht|Videresendt meddelelse|Vidarebefordrat meddelande) *-+\s*\z",
    )
});

static LINK: LazyLock<Option<Regex>> = LazyLock::new(|| re(r"<(https?://[^>]*)>"));
static NORMALIZED_LINK: LazyLock<Option<Regex>> = LazyLock::new(|| re(r"@@(https?://[^>@]*)@@"));
// talon's patterns over the line markers (s: splitter, m: quote marker, t: text, e: empty,
// f: forward), compiled once: building a regex costs far more than running it.
static SPLITTER_THEN_TEXT: LazyLock<Option<Regex>> = LazyLock::new(|| re(r"(?:se*)+(?:[tf]+e*)+"));
static QUOTE_BLOCK_THEN_TEXT: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r"((?:s|(?:me*){2,}).*me*)[te]*$"));
static QUOTE_BLOCK: LazyLock<Option<Regex>> = LazyLock::new(|| re(r"((?:se*)+|(?:me*){2,})e*"));
static PARENTHESIS_LINK: LazyLock<Option<Regex>> = LazyLock::new(|| re(r"\(https?://"));

static MOBILE_SIGNATURE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(
        r"(?i)\A\s*(?:sent from (?:my |the )?|sent via |sent with |sent on |get outlook for |envoyé de mon |envoyé depuis |envoyé à partir de |von meinem |gesendet von |enviado desde |enviado do meu |inviato da(?:l mio)? |verzonden met |verstuurd vanaf mijn |sendt fra min |skickat från min |lähetetty |wysłane z |отправлено с )",
    )
});

fn is_splitter(text: &str) -> Option<usize> {
    let mut candidates: Vec<&Regex> = Vec::new();
    if let Some(r) = ON_DATE_SMB_WROTE.as_ref() {
        candidates.push(r);
    }
    if let Some(r) = ON_DATE_WROTE_SMB.as_ref() {
        candidates.push(r);
    }
    if let Some(r) = FROM_COLON_OR_DATE_COLON.as_ref() {
        candidates.push(r);
    }
    candidates.extend(SPLITTERS.iter());
    for r in candidates {
        if let Some(m) = r.find(text)
            && m.start() == 0
            && !m.as_str().trim().is_empty()
        {
            return Some(m.as_str().lines().count().max(1));
        }
    }
    None
}

fn is_quote_marker(line: &str) -> bool {
    line.starts_with('>')
}

fn mark_lines(lines: &[String]) -> Vec<u8> {
    let mut markers = vec![b'e'; lines.len()];
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i];
        if line.trim().is_empty() {
            markers[i] = b'e';
        } else if is_quote_marker(line) {
            markers[i] = b'm';
        } else if FORWARD
            .as_ref()
            .is_some_and(|r| r.is_match(line.trim_end()))
        {
            markers[i] = b'f';
        } else {
            let end = (i + SPLITTER_MAX_LINES).min(lines.len());
            let joined = lines[i..end].join("\n");
            match is_splitter(&joined) {
                Some(n) => {
                    for marker in markers.iter_mut().skip(i).take(n.min(end - i)) {
                        *marker = b's';
                    }
                    i += n.min(end - i).max(1) - 1;
                }
                None => markers[i] = b't',
            }
        }
        i += 1;
    }
    markers
}

/// talon's `process_marked_lines`: returns the range of lines that is the quotation.
fn quotation_range(lines: &[String], markers: &[u8]) -> Option<(usize, usize)> {
    let mut m: Vec<u8> = markers.to_vec();
    let has_s = m.contains(&b's');
    // Without a splitter, quote markers need at least three lines to count ((me*){3}).
    if !has_s && !three_marker_lines(&m) {
        for x in m.iter_mut() {
            if *x == b'm' {
                *x = b't';
            }
        }
    }
    // A forward at the top is not a quotation: keep everything ([te]*f).
    if let Some(first) = m.iter().position(|&c| c != b't' && c != b'e')
        && m[first] == b'f'
    {
        return None;
    }
    // Inline replies (text between quotation markers) are kept whole, unless the "text" is a
    // long link broken across lines.
    let mut idx = 0;
    while idx < m.len() {
        if m[idx] == b'm' {
            let mut j = idx + 1;
            while j < m.len() && m[j] == b'e' {
                j += 1;
            }
            let t_start = j;
            let mut saw_t = false;
            while j < m.len() && (m[j] == b't' || m[j] == b'e') {
                saw_t |= m[j] == b't';
                j += 1;
            }
            if saw_t && j < m.len() && m[j] == b'm' {
                let first_t = (t_start..j).find(|&k| m[k] == b't').unwrap_or(t_start);
                let link_before = first_t > 0
                    && PARENTHESIS_LINK
                        .as_ref()
                        .is_some_and(|r| r.is_match(&lines[first_t - 1]));
                let link_here = PARENTHESIS_LINK.as_ref().is_some_and(|r| {
                    r.find(lines[first_t].trim())
                        .is_some_and(|x| x.start() == 0)
                });
                if !(link_before || link_here) {
                    return None;
                }
            }
        }
        idx += 1;
    }
    let s: String = m.iter().map(|&c| c as char).collect();
    // Text after a splitter without markers: everything from the splitter on is quotation.
    if let Some(r) = SPLITTER_THEN_TEXT.as_ref()
        && let Some(x) = r.find(&s)
    {
        return Some((x.start(), m.len()));
    }
    // Splitter or marker block, ending with a marker line, followed only by text.
    if let Some(r) = QUOTE_BLOCK_THEN_TEXT.as_ref()
        && let Some(c) = r.captures(&s)
        && let Some(g) = c.get(1)
    {
        return Some((g.start(), g.end()));
    }
    if let Some(r) = QUOTE_BLOCK.as_ref()
        && let Some(c) = r.captures(&s)
        && let Some(g) = c.get(1)
    {
        return Some((g.start(), g.end()));
    }
    None
}

fn three_marker_lines(m: &[u8]) -> bool {
    // (me*){3}: three marker lines separated only by empty lines.
    let mut count = 0;
    for &c in m {
        match c {
            b'm' => {
                count += 1;
                if count >= 3 {
                    return true;
                }
            }
            b'e' => {}
            _ => count = 0,
        }
    }
    false
}

/// talon's preprocessing: protects `<http://…>` links that do not start a line (so a `>` that
/// wraps onto the next line is not a quote marker), and puts an "On … wrote:" that shares a
/// line with text onto its own line.
fn preprocess(text: &str) -> String {
    let mut out = text.to_string();
    if let Some(link) = LINK.as_ref() {
        let mut result = String::with_capacity(out.len());
        let mut last = 0;
        for c in link.captures_iter(&out) {
            let (Some(all), Some(url)) = (c.get(0), c.get(1)) else {
                continue;
            };
            let before = out.get(..all.start()).unwrap_or_default();
            let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
            result.push_str(out.get(last..all.start()).unwrap_or_default());
            if out.get(line_start..).is_some_and(|l| l.starts_with('>')) {
                result.push_str(all.as_str());
            } else {
                result.push_str("@@");
                result.push_str(url.as_str());
                result.push_str("@@");
            }
            last = all.end();
        }
        result.push_str(out.get(last..).unwrap_or_default());
        out = result;
    }
    if let Some(r) = ON_DATE_SMB_WROTE.as_ref() {
        let mut result = String::with_capacity(out.len() + 8);
        let mut last = 0;
        for m in r.find_iter(&out) {
            result.push_str(out.get(last..m.start()).unwrap_or_default());
            if m.start() > 0 && !out.get(..m.start()).is_some_and(|b| b.ends_with('\n')) {
                result.push('\n');
            }
            result.push_str(m.as_str());
            last = m.end();
        }
        result.push_str(out.get(last..).unwrap_or_default());
        out = result;
    }
    out
}

fn postprocess(text: &str) -> String {
    match NORMALIZED_LINK.as_ref() {
        Some(r) => r.replace_all(text, "<$1>").trim().to_string(),
        None => text.trim().to_string(),
    }
}

/// Splits a plain-text reply.
pub fn split_reply(text: &str) -> SplitReply {
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    let pre = preprocess(&normalized);
    let all: Vec<String> = pre.lines().map(|l| l.trim_end().to_string()).collect();
    let (lines, rest) = if all.len() > MAX_LINES {
        (all[..MAX_LINES].to_vec(), all[MAX_LINES..].to_vec())
    } else {
        (all.clone(), Vec::new())
    };
    let markers = mark_lines(&lines);
    let (mut kept, quoted): (Vec<String>, Vec<String>) = match quotation_range(&lines, &markers) {
        Some((a, b)) => {
            let mut k = lines[..a].to_vec();
            k.extend_from_slice(&lines[b..]);
            (k, lines[a..b].to_vec())
        }
        None => (lines, Vec::new()),
    };
    kept.extend(rest);
    let mut quoted = quoted;
    // A horizontal rule right before the quotation belongs to it (Outlook's "_____" or
    // "-----" above the From: block).
    if !quoted.is_empty() {
        while let Some(last) = kept.iter().rposition(|l| !l.trim().is_empty()) {
            if is_rule(&kept[last]) && kept[..last].iter().any(|l| !l.trim().is_empty()) {
                let tail: Vec<String> = kept.drain(last..).collect();
                let mut q = tail;
                q.extend(quoted);
                quoted = q;
            } else {
                break;
            }
        }
    }
    // A "Sent from my phone" line ends what was written on a phone: what follows is the
    // quoted message that mobile clients append without markers.
    if let Some(pos) = kept.iter().position(|l| {
        l.trim().chars().count() <= 80 && MOBILE_SIGNATURE.as_ref().is_some_and(|r| r.is_match(l))
    }) && pos > 0
        && kept[..pos].iter().any(|l| !l.trim().is_empty())
        && kept[pos + 1..].iter().any(|l| !l.trim().is_empty())
    {
        let after: Vec<String> = kept.drain(pos + 1..).collect();
        let mut q = after;
        q.extend(quoted);
        quoted = q;
    }
    let (reply_lines, signature) = split_signature(&kept);
    let reply = postprocess(&reply_lines.join("\n"));
    let signature = signature
        .map(|s| postprocess(&s.join("\n")))
        .filter(|s| !s.is_empty());
    let quoted = Some(postprocess(&quoted.join("\n"))).filter(|q| !q.is_empty());
    SplitReply {
        reply,
        signature,
        quoted,
    }
}

fn is_rule(line: &str) -> bool {
    let t = line.trim();
    t.len() >= 4
        && (t.chars().all(|c| c == '-')
            || t.chars().all(|c| c == '_')
            || t.chars().all(|c| c == '='))
}

/// The signature at the end of the new text: from an RFC 3676 `-- ` delimiter within the last
/// 20 lines, or a trailing "Sent from my …" line.
fn split_signature(lines: &[String]) -> (Vec<String>, Option<Vec<String>>) {
    let last_text = lines.iter().rposition(|l| !l.trim().is_empty());
    let Some(last) = last_text else {
        return (lines.to_vec(), None);
    };
    let window_start = last.saturating_sub(20);
    if let Some(pos) = (window_start..=last).rev().find(|&i| {
        // RFC 3676 §4.3 "-- ", its trimmed variants, and the "__" that list footers and some
        // clients use.
        let l = lines[i].trim_end();
        l == "--" || (l.len() >= 2 && l.len() <= 80 && l.chars().all(|c| c == '_'))
    }) && pos > 0
        && lines[..pos].iter().any(|l| !l.trim().is_empty())
    {
        return (lines[..pos].to_vec(), Some(lines[pos..=last].to_vec()));
    }
    let line = lines[last].trim();
    if line.chars().count() <= 80
        && last > 0
        && MOBILE_SIGNATURE.as_ref().is_some_and(|r| r.is_match(line))
        && lines[..last].iter().any(|l| !l.trim().is_empty())
    {
        return (lines[..last].to_vec(), Some(vec![lines[last].clone()]));
    }
    (lines.to_vec(), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_wrote_and_signature() {
        let s = split_reply(
            "Thanks, that works.\n\n-- \nAlice\n\nOn Mon, Jan 5, 2026 at 10:00 AM, Support <support@example.com> wrote:\n> Try again\n> please\n",
        );
        assert_eq!(s.reply, "Thanks, that works.");
        assert_eq!(s.signature.as_deref(), Some("--\nAlice"));
        assert!(s.quoted.unwrap_or_default().contains("> Try again"));
    }

    #[test]
    fn forwarded_mail_is_kept() {
        let s = split_reply("FYI\n\n---------- Forwarded message ----------\nFrom: a@b.c\n\nText");
        assert!(s.reply.contains("Forwarded message"));
        assert!(s.quoted.is_none());
    }
}
