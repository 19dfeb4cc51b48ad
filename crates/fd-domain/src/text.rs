//! The shape of small inputs every layer shares: record ids as they appear on the wire, and
//! names (users, teams, labels, views…) as people type them.
//!
//! Pure string checks: must not depend on storage, HTTP or anything of the app.

use crate::{DomainError, ErrorCode};

/// A record id written the one canonical way: ASCII digits, no sign, no spaces, no leading
/// zero (`0` alone is allowed), within `i64`. `1%20`, `+1`, `01` and `1.0` are not ids, so one
/// record never has several spellings (a cache key, a log line or an access check that
/// compares text cannot be fooled by a second one).
pub fn parse_id(raw: &str) -> Option<i64> {
    let b = raw.as_bytes();
    let canonical = match b {
        [] => false,
        [b'0'] => true,
        [b'0', ..] => false,
        _ => b.iter().all(u8::is_ascii_digit),
    };
    if !canonical {
        return None;
    }
    raw.parse::<i64>().ok()
}

/// A name or label: trimmed, required, at most `max` characters, and free of control
/// characters. NUL cannot be stored in PostgreSQL text, and CR/LF or other controls in a
/// name end up in mail headers, log lines and `Location` headers where they split or hide
/// text; no one types them in a name on purpose.
pub fn name(field: &str, raw: &str, max: usize) -> Result<String, DomainError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(DomainError::field(
            field,
            ErrorCode::Required,
            "is required",
        ));
    }
    if s.chars().count() > max {
        return Err(DomainError::field(
            field,
            ErrorCode::TooLarge,
            format!("is longer than {max} characters"),
        ));
    }
    no_controls(field, s)?;
    Ok(s.to_string())
}

/// Refuses control characters (C0, DEL, C1, and the Unicode line and paragraph separators,
/// which some clients treat as line breaks) in a single-line value.
pub fn no_controls(field: &str, s: &str) -> Result<(), DomainError> {
    if s.chars()
        .any(|c| c.is_control() || c == '\u{2028}' || c == '\u{2029}')
    {
        return Err(DomainError::field(
            field,
            ErrorCode::InvalidValue,
            "must not contain control characters (NUL, line breaks, tabs…)",
        ));
    }
    Ok(())
}

/// Refuses NUL in free text (bodies, descriptions): PostgreSQL text cannot hold it, and
/// SQLite would keep a value that PostgreSQL refuses, so both backends refuse it alike.
pub fn no_nul(field: &str, s: &str) -> Result<(), DomainError> {
    if s.contains('\0') {
        return Err(DomainError::field(
            field,
            ErrorCode::InvalidValue,
            "must not contain NUL characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_one_spelling() {
        assert_eq!(parse_id("1"), Some(1));
        assert_eq!(parse_id("0"), Some(0));
        assert_eq!(parse_id("9223372036854775807"), Some(i64::MAX));
        for bad in [
            "",
            " 1",
            "1 ",
            "+1",
            "-1",
            "01",
            "00",
            "1.0",
            "1e3",
            "0x1",
            "١",
            "9223372036854775808",
        ] {
            assert_eq!(parse_id(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn names_refuse_controls() {
        assert_eq!(name("name", "  Ann  ", 10), Ok("Ann".to_string()));
        for bad in [
            "A\0n",
            "A\r\nB",
            "A\tB",
            "A\u{7f}",
            "A\u{85}B",
            "A\u{2028}B",
            "",
            "   ",
        ] {
            assert!(name("name", bad, 10).is_err(), "{bad:?}");
        }
        assert!(name("name", "Zoë 日本", 10).is_ok());
        assert!(name("name", "abcdefghijk", 10).is_err());
    }
}
