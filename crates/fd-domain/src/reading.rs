//! What a list shows of a record for one agent: a one-line preview of its latest message and
//! whether it is unread for them (a customer wrote after they last opened it).
//!
//! Pure: the times are read from storage and passed in. Must not depend on storage or a clock.

use crate::model::Millis;

/// How many characters of the latest message a list row previews.
pub const PREVIEW_CHARS: usize = 140;

/// Unread for an agent: the record holds a customer message newer than the agent's last
/// opening of it (never opened counts as older than everything).
pub fn is_unread(last_customer_message: Option<Millis>, read_at: Option<Millis>) -> bool {
    match (last_customer_message, read_at) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(m), Some(r)) => m > r,
    }
}

/// The first line of a message for a one-line preview: whitespace collapsed, at most `max`
/// characters (cut on a character boundary, with an ellipsis when cut).
pub fn preview_line(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut count = 0;
    let mut words = text.split_whitespace().peekable();
    while let Some(w) = words.next() {
        if !out.is_empty() {
            if count + 2 > max {
                out.push('…');
                return out;
            }
            out.push(' ');
            count += 1;
        }
        for c in w.chars() {
            if count == max {
                out.push('…');
                return out;
            }
            out.push(c);
            count += 1;
        }
        if words.peek().is_some() && count >= max {
            out.push('…');
            return out;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unread_means_a_customer_message_after_the_last_opening() {
        assert!(!is_unread(None, None));
        assert!(!is_unread(None, Some(5)));
        assert!(is_unread(Some(5), None));
        assert!(is_unread(Some(6), Some(5)));
        assert!(!is_unread(Some(5), Some(5)));
        assert!(!is_unread(Some(4), Some(5)));
    }

    #[test]
    fn previews_are_one_line_and_cut_on_a_char_boundary() {
        assert_eq!(preview_line("Hello\n\n  world ", 80), "Hello world");
        assert_eq!(preview_line("ééééé", 3), "ééé…");
        assert_eq!(preview_line("one two three", 7), "one two…");
        assert_eq!(preview_line("one two", 7), "one two");
        assert_eq!(preview_line("🙂🙂🙂🙂", 2), "🙂🙂…");
        assert_eq!(preview_line("", 5), "");
        assert_eq!(preview_line("abc defg", 4), "abc…");
    }
}
