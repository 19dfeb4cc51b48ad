//! Agents' rich text crosses the trust boundary here, whatever road it came by (reply editor,
//! HubSpot API `richText`, drafts, library items): it is sanitised (ammonia: no script, no
//! event handler, no `javascript:` URL, no style) before it is stored or mailed, so every road
//! stores and sends the same safe HTML.
//!
//! Must not depend on HTTP nor on any use case: pure (`conversations::clean_reply` runs it on
//! the CPU pool).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use ammonia::{Builder, UrlRelative};

/// An agent's reply or a library item: the editor's formatting only (bold, italic,
/// underline, lists, links, quotes, line breaks) and pasted images as `data:image/*` URLs.
pub fn sanitize_agent_html(html: &str) -> String {
    // Bounded before it is parsed, as customers' mail is (finding 1 of the hardening issue:
    // html5ever's cost grows with the square of the nesting depth): beyond the bounds the
    // text is kept, as escaped paragraphs, and no tree is built.
    if let Some(text) = crate::mail::flatten_unbounded_html(html) {
        return text;
    }
    let tags: HashSet<&str> = [
        "p",
        "br",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "s",
        "ul",
        "ol",
        "li",
        "a",
        "blockquote",
        "img",
        "div",
        "span",
        "h3",
        "h4",
        "pre",
        "code",
    ]
    .into_iter()
    .collect();
    let mut attrs: HashMap<&str, HashSet<&str>> = HashMap::new();
    attrs.insert("a", ["href", "title"].into_iter().collect());
    attrs.insert(
        "img",
        ["src", "alt", "width", "height"].into_iter().collect(),
    );
    let schemes: HashSet<&str> = ["http", "https", "mailto", "tel", "data"]
        .into_iter()
        .collect();
    Builder::default()
        .tags(tags)
        .tag_attributes(attrs)
        .generic_attributes(HashSet::new())
        .url_schemes(schemes)
        .url_relative(UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer"))
        .attribute_filter(|element, attribute, value| {
            let is_data = value.trim_start().to_ascii_lowercase().starts_with("data:");
            match (element, attribute) {
                // Pasted images only: data URLs of raster image types, nothing else.
                ("img", "src") => {
                    let v = value.trim_start().to_ascii_lowercase();
                    let ok = [
                        "data:image/png;",
                        "data:image/jpeg;",
                        "data:image/gif;",
                        "data:image/webp;",
                    ]
                    .iter()
                    .any(|p| v.starts_with(p))
                        || v.starts_with("https://")
                        || v.starts_with("http://");
                    ok.then_some(Cow::Borrowed(value))
                }
                (_, "href") if is_data => None,
                _ => Some(Cow::Borrowed(value)),
            }
        })
        .clean(html)
        .to_string()
}
