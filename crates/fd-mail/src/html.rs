//! Customer HTML made safe to show: an ammonia allow-list (no script, no event handler, no
//! `javascript:`/`data:` URL, no `<style>`/`<link>`/`<meta>`/`<base>`/forms/frames/SVG), inline
//! CSS reduced to harmless properties without `url()` or `expression()`, and remote content
//! either kept (the agent asked for it) or removed with a count so the page can offer "show
//! remote images". The result is meant for a sandboxed `<iframe>` served with [`csp`]: two
//! independent layers, so one bypass is not enough.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ammonia::{Builder, UrlRelative};

pub use crate::html_bound::{HtmlBounds, HtmlTooComplex};

/// Whether remote images (and other remote loads) are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteContent {
    /// Default: nothing outside Frontdesk loads; trackers learn nothing.
    Block,
    /// The agent asked to see remote images of this message.
    Allow,
}

/// How to sanitise one document.
#[derive(Debug, Clone)]
pub struct SanitizeOptions {
    pub remote: RemoteContent,
    /// `cid:` content ids → the URL that serves that attachment. Unknown ids are dropped.
    pub cid_urls: HashMap<String, String>,
    /// Keep `cid:` URLs as they are (for storage; rewritten when served, see
    /// [`crate::html_serve`]).
    pub keep_cid: bool,
}

impl Default for SanitizeOptions {
    fn default() -> Self {
        SanitizeOptions {
            remote: RemoteContent::Block,
            cid_urls: HashMap::new(),
            keep_cid: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sanitized {
    pub html: String,
    /// Remote images (or other loads) removed because remote content is blocked.
    pub blocked_remote: usize,
    /// Remote images in the document, kept or removed: what blocking removes, so one pass
    /// that allows them also tells how many a blocking pass would remove.
    pub remote_images: usize,
}

/// The Content-Security-Policy for the iframe document that shows sanitised mail HTML:
/// nothing runs, nothing is framed or submitted, images only from Frontdesk (and `data:`),
/// plus remote `https:`/`http:` images when the agent allowed them.
///
/// The `sandbox` directive keeps the document's own origin (`allow-same-origin`) but never
/// grants `allow-scripts`, and `default-src 'none'` gives no script source either, so script
/// stays impossible by two independent rules. The origin is kept because an opaque origin is
/// cross-site to everything: browsers would then withhold the `SameSite` session cookie from
/// the message's own inline (`cid:`) images, which are served by Frontdesk behind sign-in, and
/// the agent UI could not size the frame to its content.
pub fn csp(remote: RemoteContent) -> String {
    let img = match remote {
        RemoteContent::Block => "img-src 'self' data:",
        RemoteContent::Allow => "img-src 'self' data: https: http:",
    };
    format!(
        "default-src 'none'; {img}; style-src 'unsafe-inline'; font-src 'none'; media-src 'none'; \
         connect-src 'none'; frame-src 'none'; object-src 'none'; base-uri 'none'; \
         form-action 'none'; frame-ancestors 'self'; \
         sandbox allow-same-origin allow-popups allow-popups-to-escape-sandbox"
    )
}

pub(crate) const TAGS: &[&str] = &[
    "a",
    "abbr",
    "acronym",
    "address",
    "b",
    "bdi",
    "bdo",
    "big",
    "blockquote",
    "br",
    "caption",
    "center",
    "cite",
    "code",
    "col",
    "colgroup",
    "dd",
    "del",
    "details",
    "dfn",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "font",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "samp",
    "small",
    "span",
    "strike",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "tt",
    "u",
    "ul",
    "var",
    "wbr",
];

pub(crate) const GENERIC_ATTRIBUTES: &[&str] =
    &["style", "title", "lang", "dir", "align", "valign"];

pub(crate) fn tag_attributes() -> HashMap<&'static str, HashSet<&'static str>> {
    let mut m: HashMap<&'static str, HashSet<&'static str>> = HashMap::new();
    m.insert("a", ["href", "hreflang"].into_iter().collect());
    m.insert(
        "img",
        [
            "src", "alt", "width", "height", "border", "hspace", "vspace",
        ]
        .into_iter()
        .collect(),
    );
    let cell: HashSet<&str> = ["colspan", "rowspan", "width", "height", "bgcolor", "nowrap"]
        .into_iter()
        .collect();
    m.insert("td", cell.clone());
    m.insert("th", cell);
    m.insert(
        "table",
        [
            "width",
            "border",
            "cellpadding",
            "cellspacing",
            "bgcolor",
            "height",
        ]
        .into_iter()
        .collect(),
    );
    m.insert("tr", ["bgcolor", "height"].into_iter().collect());
    m.insert("col", ["span", "width"].into_iter().collect());
    m.insert("colgroup", ["span", "width"].into_iter().collect());
    m.insert("font", ["color", "face", "size"].into_iter().collect());
    m.insert("ol", ["start", "type"].into_iter().collect());
    m.insert("ul", ["type"].into_iter().collect());
    m.insert("li", ["value"].into_iter().collect());
    m.insert("hr", ["width", "size", "noshade"].into_iter().collect());
    m.insert("blockquote", ["cite"].into_iter().collect());
    m
}

/// CSS properties that cannot fetch anything or escape the message's box.
const CSS_PROPERTIES: &[&str] = &[
    "color",
    "background",
    "background-color",
    "font",
    "font-family",
    "font-size",
    "font-style",
    "font-variant",
    "font-weight",
    "text-align",
    "text-decoration",
    "text-indent",
    "text-transform",
    "line-height",
    "letter-spacing",
    "word-spacing",
    "white-space",
    "word-break",
    "word-wrap",
    "overflow-wrap",
    "vertical-align",
    "margin",
    "margin-top",
    "margin-right",
    "margin-bottom",
    "margin-left",
    "padding",
    "padding-top",
    "padding-right",
    "padding-bottom",
    "padding-left",
    "border",
    "border-top",
    "border-right",
    "border-bottom",
    "border-left",
    "border-color",
    "border-style",
    "border-width",
    "border-radius",
    "border-collapse",
    "border-spacing",
    "border-top-color",
    "border-bottom-color",
    "border-left-color",
    "border-right-color",
    "border-top-width",
    "border-bottom-width",
    "border-left-width",
    "border-right-width",
    "border-top-style",
    "border-bottom-style",
    "border-left-style",
    "border-right-style",
    "width",
    "height",
    "max-width",
    "min-width",
    "max-height",
    "min-height",
    "display",
    "list-style-type",
    "direction",
    "table-layout",
    "float",
    "clear",
    "text-overflow",
    "caption-side",
    "empty-cells",
    "visibility",
    "opacity",
];

/// Keeps only allowed declarations whose values call no function other than colour ones and
/// carry no escapes, comments, `url(`, `expression(`, `@import` or angle brackets.
pub fn filter_style(style: &str) -> String {
    let mut out = Vec::new();
    for decl in style.split(';') {
        let Some((prop, value)) = decl.split_once(':') else {
            continue;
        };
        let prop = prop.trim().to_ascii_lowercase();
        let value = value.trim();
        if !CSS_PROPERTIES.contains(&prop.as_str()) || value.is_empty() || value.len() > 200 {
            continue;
        }
        let lower = value.to_ascii_lowercase();
        if lower.contains(['\\', '<', '>', '@', '{', '}'])
            || lower.contains("/*")
            || lower.contains("url")
            || lower.contains("expression")
            || lower.contains("javascript")
            || lower.contains("image")
            || lower.contains("&#")
        {
            continue;
        }
        // Functions: only colours and simple arithmetic.
        let mut ok = true;
        let mut rest = lower.as_str();
        while let Some(i) = rest.find('(') {
            let name: String = rest
                .get(..i)
                .unwrap_or_default()
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            if !matches!(name.as_str(), "rgb" | "rgba" | "hsl" | "hsla" | "calc") {
                ok = false;
                break;
            }
            rest = rest.get(i + 1..).unwrap_or_default();
        }
        if ok {
            out.push(format!("{prop}: {value}"));
        }
    }
    out.join("; ")
}

fn is_remote(url: &str) -> bool {
    let l = url.trim().to_ascii_lowercase();
    l.starts_with("http:")
        || l.starts_with("https:")
        || l.starts_with("//")
        || l.starts_with("ftp:")
}

/// Relative URLs in mail point nowhere meaningful, and at Frontdesk itself when loaded:
/// only the exact attachment URLs this pass wrote for `cid:` images survive. (A prefix check
/// let `/mail/messages/1/attachments/../../../../notifications` through: finding 5 of the
/// hardening issue.)
struct LocalOnly(HashSet<String>);

impl<'a> ammonia::UrlRelativeEvaluate<'a> for LocalOnly {
    fn evaluate<'url>(&self, url: &'url str) -> Option<Cow<'url, str>> {
        self.0.contains(url).then_some(Cow::Borrowed(url))
    }
}

/// Sanitises mail HTML. A document beyond [`HtmlBounds::default`] is not parsed at all: its
/// text (by a linear converter) comes back as escaped paragraphs, so no input can make this
/// cost more than a bounded tree (callers that can tell the agent check
/// [`crate::html_bound::check`] first and say so).
pub fn sanitize(html: &str, options: &SanitizeOptions) -> Sanitized {
    if crate::html_bound::check(html, &HtmlBounds::default()).is_err() {
        return Sanitized {
            html: crate::build::text_to_html(&to_text(html)),
            blocked_remote: 0,
            remote_images: 0,
        };
    }
    sanitize_within_bounds(html, options)
}

/// [`sanitize`] for HTML already found within [`HtmlBounds::default`] — such as
/// [`crate::ParsedMail::html`], which parsing keeps only then — so ingestion does not measure
/// each document twice (the depth measure is a tree build of its own).
pub fn sanitize_within_bounds(html: &str, options: &SanitizeOptions) -> Sanitized {
    let blocked = Arc::new(AtomicUsize::new(0));
    let counter = blocked.clone();
    let remote_seen = Arc::new(AtomicUsize::new(0));
    let seen = remote_seen.clone();
    let remote = options.remote;
    let cids = options.cid_urls.clone();
    let keep_cid = options.keep_cid;
    let own_urls: HashSet<String> = options.cid_urls.values().cloned().collect();
    let own_urls_for_relative = own_urls.clone();

    let mut b = Builder::empty();
    b.tags(TAGS.iter().copied().collect())
        .generic_attributes(GENERIC_ATTRIBUTES.iter().copied().collect())
        .tag_attributes(tag_attributes())
        .url_schemes(
            ["http", "https", "mailto", "tel", "cid"]
                .into_iter()
                .collect(),
        )
        .link_rel(Some("noopener noreferrer nofollow"))
        .strip_comments(true)
        .clean_content_tags(
            [
                "script", "style", "title", "head", "template", "noscript", "xmp",
            ]
            .into_iter()
            .collect(),
        )
        .url_relative(UrlRelative::Custom(Box::new(LocalOnly(
            own_urls_for_relative,
        ))))
        .attribute_filter(move |element, attribute, value| {
            match (element, attribute) {
                (_, "style") => {
                    let f = filter_style(value);
                    if f.is_empty() {
                        None
                    } else {
                        Some(Cow::Owned(f))
                    }
                }
                // The value is never rewritten into something else: ammonia checked the URL
                // scheme before this filter runs, so trimming " javascript:" (with a Unicode
                // space, harmless as a relative URL) into "javascript:" would create an XSS.
                ("img", "src") => {
                    let v = value.trim_matches(|c: char| c.is_ascii_whitespace());
                    if v.len() > 4 && v.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("cid:")) {
                        if keep_cid {
                            return Some(Cow::Borrowed(value));
                        }
                        let id = v
                            .get(4..)
                            .unwrap_or_default()
                            .trim_start_matches('<')
                            .trim_end_matches('>');
                        return cids.get(id).map(|u| Cow::Owned(u.clone()));
                    }
                    if is_remote(v) {
                        seen.fetch_add(1, Ordering::Relaxed);
                        return match remote {
                            RemoteContent::Allow => Some(Cow::Borrowed(value)),
                            RemoteContent::Block => {
                                counter.fetch_add(1, Ordering::Relaxed);
                                None
                            }
                        };
                    }
                    if own_urls.contains(v) {
                        return Some(Cow::Borrowed(value));
                    }
                    // data:, javascript:, relative paths…
                    None
                }
                ("a", "href") => {
                    let v = value.trim_matches(|c: char| c.is_ascii_whitespace());
                    if v.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("cid:")) {
                        return None;
                    }
                    Some(Cow::Borrowed(value))
                }
                ("blockquote", "cite") => None,
                _ => Some(Cow::Borrowed(value)),
            }
        });
    let html = b.clean(html).to_string();
    Sanitized {
        html,
        blocked_remote: blocked.load(Ordering::Relaxed),
        remote_images: remote_seen.load(Ordering::Relaxed),
    }
}

/// Plain text of an HTML document (for search, previews and reply splitting).
pub fn to_text(html: &str) -> String {
    mail_parser::decoders::html::html_to_text(html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_handlers_and_remote_images_go() {
        let s = sanitize(
            r#"<p onclick="x()" style="color: red; background: url(http://t.example/p.gif); position: fixed">Hi<script>alert(1)</script><img src="https://t.example/pixel.gif"><img src="cid:logo@x"><a href="javascript:alert(1)">x</a></p><style>p{}</style>"#,
            &SanitizeOptions {
                cid_urls: [(
                    "logo@x".to_string(),
                    "/mail/messages/1/attachments/0".to_string(),
                )]
                .into_iter()
                .collect(),
                ..SanitizeOptions::default()
            },
        );
        assert!(!s.html.contains("script"), "{}", s.html);
        assert!(!s.html.contains("onclick"), "{}", s.html);
        assert!(!s.html.contains("t.example"), "{}", s.html);
        assert!(!s.html.contains("javascript"), "{}", s.html);
        assert!(s.html.contains(r#"style="color: red""#), "{}", s.html);
        assert!(
            s.html.contains("/mail/messages/1/attachments/0"),
            "{}",
            s.html
        );
        assert_eq!(s.blocked_remote, 1);
        let allowed = sanitize(
            r#"<img src="https://t.example/pixel.gif">"#,
            &SanitizeOptions {
                remote: RemoteContent::Allow,
                ..SanitizeOptions::default()
            },
        );
        assert!(allowed.html.contains("https://t.example/pixel.gif"));
        // Allowing keeps them and still counts what blocking would remove.
        assert_eq!(allowed.blocked_remote, 0);
        assert_eq!(allowed.remote_images, s.remote_images);
        assert_eq!(s.remote_images, s.blocked_remote);
    }
}
