//! Address helpers: normalisation and RFC 5233 sub-addresses (`local+detail@domain`).

/// Trims, strips one pair of angle brackets and lower-cases an address; `None` unless it
/// looks like `local@domain`. (The local part is case-sensitive in theory, RFC 5321 §2.4, but
/// every mailbox provider treats it case-insensitively, and connected addresses are stored
/// lower-cased.)
pub fn normalize(addr: &str) -> Option<String> {
    let a = addr.trim();
    let a = a
        .strip_prefix('<')
        .and_then(|x| x.strip_suffix('>'))
        .unwrap_or(a)
        .trim();
    let (local, domain) = a.rsplit_once('@')?;
    if local.is_empty()
        || domain.is_empty()
        || a.len() > 320
        || a.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return None;
    }
    Some(a.to_lowercase())
}

/// Splits `local+detail@domain` into (`local@domain`, `Some(detail)`); addresses without a
/// detail come back unchanged with `None`.
pub fn split_detail(addr: &str) -> (String, Option<String>) {
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return (addr.to_string(), None);
    };
    match local.split_once('+') {
        Some((base, detail)) if !base.is_empty() && !detail.is_empty() => {
            (format!("{base}@{domain}"), Some(detail.to_string()))
        }
        _ => (addr.to_string(), None),
    }
}

/// `local@domain` + `detail` → `local+detail@domain`.
pub fn with_detail(addr: &str, detail: &str) -> String {
    match addr.rsplit_once('@') {
        Some((local, domain)) => format!("{local}+{detail}@{domain}"),
        None => addr.to_string(),
    }
}

/// The domain part of an address.
pub fn domain(addr: &str) -> Option<&str> {
    addr.rsplit_once('@')
        .map(|(_, d)| d)
        .filter(|d| !d.is_empty())
}

/// Local parts that only machines write from (RFC 3834 §2 "responders should not respond to
/// … list or automated senders"; RFC 2142 mailbox names).
pub fn is_machine_sender(addr: &str) -> bool {
    let local = addr
        .rsplit_once('@')
        .map(|(l, _)| l)
        .unwrap_or(addr)
        .to_ascii_lowercase();
    let local = local.split('+').next().unwrap_or("");
    matches!(
        local,
        "mailer-daemon"
            | "mailerdaemon"
            | "mail-daemon"
            | "postmaster"
            | "noreply"
            | "no-reply"
            | "no_reply"
            | "donotreply"
            | "do-not-reply"
            | "do_not_reply"
            | "bounce"
            | "bounces"
            | "listserv"
            | "majordomo"
            | "owner"
    ) || local.starts_with("owner-")
        || local.ends_with("-request")
        || local.ends_with("-bounces")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_round_trip() {
        assert_eq!(
            split_detail("support+abc@example.com"),
            ("support@example.com".into(), Some("abc".into()))
        );
        assert_eq!(
            split_detail("support@example.com"),
            ("support@example.com".into(), None)
        );
        assert_eq!(
            with_detail("support@example.com", "t1"),
            "support+t1@example.com"
        );
        assert_eq!(
            normalize(" <Support@Example.COM> ").as_deref(),
            Some("support@example.com")
        );
        assert_eq!(normalize("nobody"), None);
        assert!(is_machine_sender("MAILER-DAEMON@mx.example.com"));
        assert!(!is_machine_sender("alice@example.com"));
    }
}
