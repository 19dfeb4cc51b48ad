//! Search text: the one folding of accents and case that both the index and the query go
//! through (so `probleme` finds `problème` and `PROBLÈME` finds `probleme`, on SQLite and on
//! PostgreSQL alike), the query's words, and where in a record's text a query matched (the
//! result's snippet, with its matched words marked).
//!
//! Pure text functions: must not depend on storage, HTTP or anything of the app. Callers
//! escape the snippet's pieces when they render them.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Folds one character: compatibility decomposition (NFKD, so `ﬁ` is `fi` and `é` is `e` +
/// a combining accent), combining marks dropped, then lower case.
fn fold_char(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    for d in std::iter::once(c).nfkd() {
        if !is_combining_mark(d) {
            out.extend(d.to_lowercase());
        }
    }
}

/// The search form of a text: accents and other combining marks removed, compatibility
/// characters decomposed, lower case. Used when a record is indexed and when a query is read,
/// so both sides compare the same form.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        fold_char(c, &mut out);
    }
    out
}

/// Words beyond this many are ignored: each is a clause of the statement.
pub const MAX_QUERY_TERMS: usize = 20;

/// The words of a folded text: its runs of letters and digits. Everything else separates
/// words, in the index as in the query.
pub fn words(folded: &str) -> impl Iterator<Item = &str> {
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// Which part of a ticket a piece of searchable text comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchSource {
    Subject,
    /// The ticket's description.
    Description,
    /// A message of one of the ticket's conversations, with its sender as shown.
    Message {
        from: String,
    },
    Comment {
        author: String,
    },
    ContactName,
    ContactEmail,
    CompanyName,
    Id,
}

impl MatchSource {
    /// How the result list names the place of the match.
    pub fn label(&self) -> String {
        match self {
            MatchSource::Subject => "subject".into(),
            MatchSource::Description => "description".into(),
            MatchSource::Message { from } if from.is_empty() => "message".into(),
            MatchSource::Message { from } => format!("message from {from}"),
            MatchSource::Comment { author } if author.is_empty() => "comment".into(),
            MatchSource::Comment { author } => format!("comment by {author}"),
            MatchSource::ContactName => "contact name".into(),
            MatchSource::ContactEmail => "contact email".into(),
            MatchSource::CompanyName => "company name".into(),
            MatchSource::Id => "ticket id".into(),
        }
    }
}

/// Where a query matched: the source and a short excerpt of the original text, cut into
/// pieces that are either matched words (`true`) or the text between them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchSnippet {
    pub source: MatchSource,
    pub pieces: Vec<(String, bool)>,
}

/// Characters of context kept before the first matched word of a snippet.
const SNIPPET_BEFORE: usize = 40;
/// Characters a snippet holds at most.
const SNIPPET_CHARS: usize = 160;

/// The matched ranges (in chars of `text`) of the query's words in `text`: a word of the text
/// matches when its folded form starts with a folded query word (the index matches words by
/// prefix too).
fn matched_ranges(text: &str, query_words: &[String]) -> Vec<(usize, usize)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_alphanumeric() {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        let folded = fold(&word);
        if query_words.iter().any(|q| folded.starts_with(q.as_str())) {
            out.push((start, i));
        }
    }
    out
}

/// The folded words of a query, as the index is asked for them.
pub fn query_words(query: &str) -> Vec<String> {
    let folded = fold(query);
    let mut out: Vec<String> = Vec::new();
    for w in words(&folded).take(MAX_QUERY_TERMS * 4) {
        if !out.iter().any(|o| o == w) {
            out.push(w.to_string());
        }
    }
    out
}

/// The first of `parts` (in the order given: the caller puts the most telling first) in which
/// the query matched, as a snippet. `None` when no word of the query is in any part (the
/// record was found by its id, or by a term the index matched differently).
/// Whether a description is the start of one of the ticket's messages (whitespace aside).
fn repeats_a_message(description: &str, parts: &[(MatchSource, String)]) -> bool {
    let d = description.trim();
    !d.is_empty()
        && parts
            .iter()
            .any(|(s, t)| matches!(s, MatchSource::Message { .. }) && t.trim_start().starts_with(d))
}

/// A part that matched: how many distinct query words, its source, its text, and the matched
/// char ranges.
type Candidate<'a> = (usize, &'a MatchSource, &'a str, Vec<(usize, usize)>);

pub fn locate(parts: &[(MatchSource, String)], query: &str) -> Option<MatchSnippet> {
    let qw = query_words(query);
    if qw.is_empty() {
        return None;
    }
    // The part matching the most distinct query words wins; the first such part on a tie.
    let mut best: Option<Candidate> = None;
    for (source, text) in parts {
        // A ticket made from mail carries its first message as its description: the message,
        // which names its sender, says more about the same words.
        if *source == MatchSource::Description && repeats_a_message(text, parts) {
            continue;
        }
        let ranges = matched_ranges(text, &qw);
        if ranges.is_empty() {
            continue;
        }
        let chars: Vec<char> = text.chars().collect();
        let distinct = qw
            .iter()
            .filter(|q| {
                ranges.iter().any(|(a, b)| {
                    fold(&chars[*a..*b].iter().collect::<String>()).starts_with(q.as_str())
                })
            })
            .count();
        if best.as_ref().is_none_or(|b| distinct > b.0) {
            best = Some((distinct, source, text.as_str(), ranges));
        }
    }
    let (_, source, text, ranges) = best?;
    let chars: Vec<char> = text.chars().collect();
    let first = ranges.first().map(|r| r.0).unwrap_or(0);
    let mut from = first.saturating_sub(SNIPPET_BEFORE);
    // Start at a word boundary.
    while from > 0 && from < first && chars[from - 1].is_alphanumeric() {
        from += 1;
    }
    let to = (from + SNIPPET_CHARS).min(chars.len());
    let mut pieces: Vec<(String, bool)> = Vec::new();
    let mut push = |s: String, hit: bool| {
        if !s.is_empty() {
            pieces.push((s, hit));
        }
    };
    let mut at = from;
    if from > 0 {
        push("… ".into(), false);
    }
    for (a, b) in ranges
        .iter()
        .copied()
        .filter(|(a, b)| *a >= from && *b <= to)
    {
        if a > at {
            push(leading_space(&chars[at..a]), false);
        }
        push(chars[a..b].iter().collect(), true);
        at = b;
    }
    if to > at {
        push(leading_space(&chars[at..to]), false);
    }
    if to < chars.len() {
        push(" …".into(), false);
    }
    Some(MatchSnippet {
        source: source.clone(),
        pieces,
    })
}

/// A run of text between matches, its outer whitespace kept as one space each side.
fn leading_space(chars: &[char]) -> String {
    let s: String = chars.iter().collect();
    let inner = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let lead = if s.starts_with(char::is_whitespace) {
        " "
    } else {
        ""
    };
    let trail = if s.ends_with(char::is_whitespace) && !inner.is_empty() {
        " "
    } else {
        ""
    };
    format!("{lead}{inner}{trail}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn folding_removes_accents_and_case_both_ways() {
        assert_eq!(fold("Problème"), "probleme");
        assert_eq!(fold("PROBLÈME"), "probleme");
        assert_eq!(fold("probleme"), "probleme");
        assert_eq!(fold("Ångström Ｆｕｌｌ ﬁn"), "angstrom full fin");
        assert_eq!(fold("Zoë@Example.COM"), "zoe@example.com");
        assert_eq!(fold(&fold("Crème Brûlée")), fold("Crème Brûlée"));
    }

    #[test]
    fn query_words_are_folded_and_split_like_the_index() {
        assert_eq!(
            query_words("Zoë@Exämple.com  zoe"),
            ["zoe", "example", "com"]
        );
        assert!(query_words(" %% ").is_empty());
    }

    #[test]
    fn locate_marks_the_matched_words_in_the_original_text() {
        let parts = vec![
            (MatchSource::Subject, "Order question".to_string()),
            (
                MatchSource::Message {
                    from: "Zoë".into()
                },
                "Hello,\n\nI have a problème with <b>my</b> order.".to_string(),
            ),
        ];
        let hit = locate(&parts, "PROBLEME order").unwrap();
        assert_eq!(hit.source.label(), "message from Zoë");
        let marked: Vec<&str> = hit
            .pieces
            .iter()
            .filter(|p| p.1)
            .map(|p| p.0.as_str())
            .collect();
        assert_eq!(marked, ["problème", "order"]);
        let text: String = hit.pieces.iter().map(|p| p.0.as_str()).collect();
        assert_eq!(text, "Hello, I have a problème with <b>my</b> order.");
        assert!(locate(&parts, "refund").is_none());
    }

    #[test]
    fn long_texts_are_cut_around_the_first_match() {
        let long = format!("{} needle {}", "word ".repeat(100), "tail ".repeat(100));
        let hit = locate(
            &[(
                MatchSource::Comment {
                    author: String::new(),
                },
                long,
            )],
            "needle",
        )
        .unwrap();
        assert_eq!(hit.source.label(), "comment");
        assert!(hit.pieces.first().unwrap().0.starts_with('…'));
        assert!(hit.pieces.last().unwrap().0.ends_with('…'));
        let chars: usize = hit.pieces.iter().map(|p| p.0.chars().count()).sum();
        assert!(chars <= SNIPPET_CHARS + 4, "{chars}");
    }

    #[test]
    fn a_description_copied_from_a_message_yields_to_the_message() {
        let parts = vec![
            (
                MatchSource::Description,
                "Bonjour, ma commande 4471".to_string(),
            ),
            (
                MatchSource::Message {
                    from: "Zoé".into()
                },
                "Bonjour, ma commande 4471\n\nMerci".to_string(),
            ),
        ];
        let m = locate(&parts, "commande").unwrap();
        assert_eq!(
            m.source,
            MatchSource::Message {
                from: "Zoé".into()
            }
        );
        // A description of its own still matches first.
        let own = vec![
            (MatchSource::Description, "commande perdue".to_string()),
            (
                MatchSource::Message {
                    from: "Zoé".into()
                },
                "Bonjour, ma commande".to_string(),
            ),
        ];
        assert_eq!(
            locate(&own, "commande").unwrap().source,
            MatchSource::Description
        );
    }
}
