//! The identity of a message that has no Message-ID: a hash of what its sender sent, so that
//! the same message delivered twice (a retrying MTA, a second route, IMAP and SMTP both) is
//! one message. Mail syntax only; the application decides what the identity is used for.

/// Header fields that the mail system adds on the way, not the sender: they differ between
/// two deliveries of the same message, so they are left out of the identity.
///
/// - RFC 5322 §3.6.7 trace fields: `Return-Path` (written at final delivery) and `Received`
///   (one per hop);
/// - delivery fields: `Delivered-To`, `X-Original-To`, `Envelope-To`, `X-Envelope-To`/`-From`
///   (the final MTA's record of the envelope), and Gmail's `X-Received`;
/// - verdicts of the receiving side: `Authentication-Results` (RFC 8601), `Received-SPF`
///   (RFC 7208), ARC sets (RFC 8617, one per forwarding hop), spam and virus filters.
///
/// `DKIM-Signature` stays: the sender's domain signs before sending, so every delivery
/// carries the same one.
const DELIVERY_FIELDS: &[&str] = &[
    "return-path",
    "received",
    "delivered-to",
    "x-original-to",
    "envelope-to",
    "x-envelope-to",
    "x-envelope-from",
    "x-received",
    "authentication-results",
    "x-original-authentication-results",
    "received-spf",
    "x-virus-scanned",
    "x-virus-status",
];

/// Prefixes of delivery-added fields (ARC hops, spam filters' scores). `Resent-` is here on
/// purpose, although a person (not the mail system) writes the resent block (RFC 5322
/// §3.6.6): resending introduces the *same* message again, and a message with a Message-ID
/// keeps its identity when resent (its `Message-ID` field is the author's, the resender's
/// is `Resent-Message-ID`). Leaving the block out gives id-less mail that same rule, so a
/// copy redirected to us twice is one message whether or not its author's client wrote an id.
const DELIVERY_PREFIXES: &[&str] = &["arc-", "x-spam", "x-ham-", "resent-"];

/// `content:<hex SHA-256>` of the message without its delivery fields. Line ends are
/// normalised (a delivery through a Unix pipe turns CRLF into LF), and a leading mbox
/// `From ` line (added by local delivery agents) is dropped. Never panics.
pub fn content_key(raw: &[u8]) -> String {
    use sha2::Digest;
    let start = raw
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(raw.len());
    let raw = raw.get(start..).unwrap_or_default();
    let mut hasher = sha2::Sha256::new();
    let mut in_header = true;
    let mut skipping = false;
    let mut first = true;
    for line in lines(raw) {
        if in_header {
            if line.is_empty() {
                in_header = false;
                hasher.update(b"\n");
                continue;
            }
            let continuation = line.first().is_some_and(|b| *b == b' ' || *b == b'\t');
            if !continuation {
                skipping = (first && line.starts_with(b"From ")) || is_delivery_field(line);
            }
            first = false;
            if skipping {
                continue;
            }
        }
        hasher.update(line);
        hasher.update(b"\n");
    }
    format!("content:{}", hex::encode(hasher.finalize()))
}

fn is_delivery_field(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|b| *b == b':') else {
        return false;
    };
    let name = String::from_utf8_lossy(line.get(..colon).unwrap_or_default())
        .trim()
        .to_ascii_lowercase();
    DELIVERY_FIELDS.contains(&name.as_str())
        || DELIVERY_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Lines without their ends, whatever the ends are (CRLF, LF or a lone CR).
fn lines(raw: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = raw;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = rest
            .iter()
            .position(|b| *b == b'\n' || *b == b'\r')
            .unwrap_or(rest.len());
        let line = rest.get(..end).unwrap_or_default();
        let mut next = end;
        if rest.get(next) == Some(&b'\r') {
            next += 1;
        }
        if rest.get(next) == Some(&b'\n') {
            next += 1;
        }
        rest = rest.get(next..).unwrap_or_default();
        Some(line)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_fields_and_line_ends_do_not_change_the_identity() {
        let sent = "From: a@x.example\r\nTo: s@h.example\r\nSubject: Hi\r\n\r\nBody\r\n";
        let one = format!(
            "Return-Path: <a@x.example>\r\nReceived: from mx1 by mx; Thu, 1 Jan 2026\r\n\tfolded\r\nDelivered-To: s@h.example\r\n{sent}"
        );
        let two = format!(
            "From a@x.example Thu Jan  1 10:00:00 2026\nReturn-Path: <bounce@x.example>\nReceived: from mx2\nX-Original-To: s@h.example\nARC-Seal: i=1\n{}",
            sent.replace("\r\n", "\n")
        );
        assert_eq!(content_key(one.as_bytes()), content_key(two.as_bytes()));
        assert_eq!(content_key(sent.as_bytes()), content_key(one.as_bytes()));
        // What the sender wrote does count.
        let other = sent.replace("Body", "Body!");
        assert_ne!(content_key(sent.as_bytes()), content_key(other.as_bytes()));
        let other = sent.replace("Subject: Hi", "Subject: Hi again");
        assert_ne!(content_key(sent.as_bytes()), content_key(other.as_bytes()));
        // A `Received:` line in the body is the sender's text.
        let body = sent.replace("Body", "Received: quoted");
        assert_ne!(content_key(sent.as_bytes()), content_key(body.as_bytes()));
    }
}
