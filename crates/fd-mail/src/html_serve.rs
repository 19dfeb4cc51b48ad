//! Stored message HTML → the document served in the message frame, in one linear pass.
//!
//! Mail HTML is sanitised once, at ingestion ([`crate::html::sanitize`], `cid:` URLs and
//! remote images kept), and stored in html5ever's canonical serialisation: lower-case tag
//! names, attribute values always in double quotes with `"` written `&quot;` (`<` and `>` may
//! stay raw inside them), `<` in text written `&lt;`, no comments. Re-parsing that on every
//! view cost a tree build per request; [`serve`] instead reads it as a flat token stream and
//! decides each URL:
//! - `img src="cid:…"` becomes the URL of that attachment of the same message (unknown ids
//!   are dropped);
//! - remote images (`http://`, `https://`, `//`) are kept only when the agent allowed them,
//!   and counted either way;
//! - every other `img src`, and every `a href` that is not `http://`, `https://`, `mailto:` or
//!   `tel:`, is dropped: relative, `..` and same-origin paths would make the agent's browser
//!   request Frontdesk's own pages (finding 5 of the hardening issue:
//!   `/mail/messages/1/attachments/../../../../notifications` passed a prefix check).
//!
//! Being a rewrite of trusted-shape input, it still trusts nothing: a tag that is not in the
//! canonical shape is written out as text (`&lt;…`), tags and attributes outside the
//! sanitiser's allow-lists are dropped, and no raw-text element (style, script, textarea…)
//! can come out, so the browser tokenizes the output exactly as this pass did. HTML stored by
//! earlier versions (also sanitised by ammonia) goes through the same pass.
//!
//! Depends on nothing but the allow-lists of [`crate::html`].

use std::collections::{HashMap, HashSet};

use crate::html::{GENERIC_ATTRIBUTES, RemoteContent, TAGS, tag_attributes};

/// What a view needs besides the stored HTML.
#[derive(Debug, Clone)]
pub struct ServeOptions<'a> {
    pub remote: RemoteContent,
    /// `cid:` content ids (without angle brackets) → the URL that serves that attachment of
    /// this message.
    pub cid_urls: &'a HashMap<String, String>,
    /// The origin the agent reached Frontdesk by (the request's `Host`): a "remote" image
    /// there is dropped even when remote images are allowed, since it would make the
    /// agent's browser request Frontdesk's own pages with the session cookie (the same
    /// attack as a relative path, finding 5 of the hardening issue). Without a port in
    /// `Host` (the usual case behind a proxy) both default ports count as ours.
    pub own_host: Option<&'a str>,
}

/// The frame's HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    pub html: String,
    /// Remote images left out (remote content blocked).
    pub blocked_remote: usize,
}

/// Rewrites stored, sanitised HTML for the frame (see the module header).
pub fn serve(stored: &str, options: &ServeOptions<'_>) -> Served {
    let allowed_tags: HashSet<&str> = TAGS.iter().copied().collect();
    let per_tag = tag_attributes();
    let mut w = Writer {
        out: String::with_capacity(stored.len() + stored.len() / 8),
        blocked_remote: 0,
        options,
        allowed_tags,
        per_tag,
    };
    let bytes = stored.as_bytes();
    let mut text_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'<' {
            i += 1;
            continue;
        }
        w.out
            .push_str(stored.get(text_start..i).unwrap_or_default());
        match read_tag(stored, i) {
            Some((tag, end)) => {
                w.write_tag(&tag);
                i = end;
                // Content the sanitiser drops with its tag (and that a browser would read
                // as raw text): HTML stored by paths that did not sanitise it goes too.
                if !tag.end
                    && DROPPED_WITH_CONTENT
                        .iter()
                        .any(|n| n.eq_ignore_ascii_case(tag.name))
                {
                    i = skip_past_end_tag(stored, i, tag.name);
                }
            }
            None => {
                w.out.push_str("&lt;");
                i += 1;
            }
        }
        text_start = i;
    }
    w.out.push_str(stored.get(text_start..).unwrap_or_default());
    Served {
        html: w.out,
        blocked_remote: w.blocked_remote,
    }
}

const DROPPED_WITH_CONTENT: &[&str] = &[
    "script",
    "style",
    "title",
    "head",
    "template",
    "noscript",
    "xmp",
    "iframe",
    "noembed",
    "noframes",
    "textarea",
    "plaintext",
];

/// The index after `</name…>` at or after `from` (case-insensitive), or the end.
fn skip_past_end_tag(s: &str, from: usize, name: &str) -> usize {
    let b = s.as_bytes();
    let mut i = from;
    while let Some(at) = s.get(i..).and_then(|r| r.find("</")) {
        let start = i + at + 2;
        if b.get(start..start + name.len())
            .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
        {
            return s
                .get(start..)
                .and_then(|r| r.find('>'))
                .map_or(s.len(), |e| start + e + 1);
        }
        i = start;
    }
    s.len()
}

struct Tag<'a> {
    end: bool,
    name: &'a str,
    attributes: Vec<(&'a str, &'a str)>,
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':')
}

/// Reads a canonical tag at `start` (a `<`): `<name( attr="value")*>` or `</name>`.
/// Returns the tag and the index after its `>`, or `None` when it is not in that shape.
fn read_tag(s: &str, start: usize) -> Option<(Tag<'_>, usize)> {
    let b = s.as_bytes();
    let mut i = start + 1;
    let end = b.get(i) == Some(&b'/');
    if end {
        i += 1;
    }
    let name_start = i;
    if !b.get(i).is_some_and(u8::is_ascii_alphabetic) {
        return None;
    }
    while b.get(i).is_some_and(|c| c.is_ascii_alphanumeric()) {
        i += 1;
    }
    let name = s.get(name_start..i)?;
    let mut attributes = Vec::new();
    loop {
        match b.get(i)? {
            b'>' => {
                return Some((
                    Tag {
                        end,
                        name,
                        attributes,
                    },
                    i + 1,
                ));
            }
            b' ' if !end => {
                i += 1;
                let a = i;
                while b.get(i).copied().is_some_and(is_name_byte) {
                    i += 1;
                }
                if i == a || b.get(i) != Some(&b'=') || b.get(i + 1) != Some(&b'"') {
                    return None;
                }
                let attr = s.get(a..i)?;
                let v = i + 2;
                let close = v + s.get(v..)?.find('"')?;
                attributes.push((attr, s.get(v..close)?));
                i = close + 1;
            }
            _ => return None,
        }
    }
}

struct Writer<'a> {
    out: String,
    blocked_remote: usize,
    options: &'a ServeOptions<'a>,
    allowed_tags: HashSet<&'static str>,
    per_tag: HashMap<&'static str, HashSet<&'static str>>,
}

impl Writer<'_> {
    fn write_tag(&mut self, tag: &Tag<'_>) {
        let name = tag.name.to_ascii_lowercase();
        if !self.allowed_tags.contains(name.as_str()) {
            // Dropped, its content stays (as the sanitiser does with unknown tags).
            return;
        }
        if tag.end {
            self.out.push_str("</");
            self.out.push_str(&name);
            self.out.push('>');
            return;
        }
        self.out.push('<');
        self.out.push_str(&name);
        for (attr, value) in &tag.attributes {
            let attr = attr.to_ascii_lowercase();
            let allowed = GENERIC_ATTRIBUTES.contains(&attr.as_str())
                || self
                    .per_tag
                    .get(name.as_str())
                    .is_some_and(|set| set.contains(attr.as_str()));
            if !allowed {
                continue;
            }
            let kept: Option<String> = match (name.as_str(), attr.as_str()) {
                ("a", "href") => link(value).then(|| (*value).to_string()),
                ("img", "src") => self.image(value),
                // Stored styles were filtered at ingestion; anything that could load or
                // escape is refused again rather than repaired.
                (_, "style") => style_is_inert(value).then(|| (*value).to_string()),
                ("blockquote", "cite") => None,
                _ => Some((*value).to_string()),
            };
            if let Some(v) = kept {
                self.out.push(' ');
                self.out.push_str(&attr);
                self.out.push_str("=\"");
                self.out.push_str(&v);
                self.out.push('"');
            }
        }
        if name == "a" {
            self.out.push_str(" rel=\"noopener noreferrer nofollow\"");
        }
        self.out.push('>');
    }

    /// The `src` to write for an image, already escaped, or `None` to drop it.
    fn image(&mut self, value: &str) -> Option<String> {
        let url = decode(value)?;
        let url = url.trim_matches(|c: char| c.is_ascii_whitespace());
        if url.len() > 4 && url.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("cid:")) {
            let id = url
                .get(4..)
                .unwrap_or_default()
                .trim_start_matches('<')
                .trim_end_matches('>');
            return self.options.cid_urls.get(id).map(|u| escape(u));
        }
        if is_remote(url) {
            if let Some(own) = self.options.own_host
                && points_at(url, own)
            {
                return None;
            }
            return match self.options.remote {
                RemoteContent::Allow => Some(value.to_string()),
                RemoteContent::Block => {
                    self.blocked_remote += 1;
                    None
                }
            };
        }
        // data:, relative and `..` paths, anything else.
        None
    }
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

/// Remote in every browser's reading: a scheme-relative or http(s) URL with its two slashes.
/// (`https:/x` or `http:x` would be relative to an http(s) page, hence not accepted.)
fn is_remote(url: &str) -> bool {
    url.starts_with("//")
        || starts_with_ignore_case(url, "http://")
        || starts_with_ignore_case(url, "https://")
}

/// Whether a remote URL points at `own` (a `Host` header value), as a browser would read it:
/// the WHATWG parser decodes percent-escapes, numeric IPv4 forms and case, and a trailing dot
/// names the same host. With a port in `own` the URL's port must match it; without one, a
/// URL on its scheme's default port matches.
fn points_at(url: &str, own: &str) -> bool {
    fn canonical(host: &str) -> String {
        host.trim_end_matches('.').to_ascii_lowercase()
    }
    let Ok(base) = url::Url::parse("https://base.invalid/") else {
        return false;
    };
    let Ok(parsed) = url::Url::options().base_url(Some(&base)).parse(url) else {
        // A browser could not load it either.
        return false;
    };
    let Ok(own) = url::Url::parse(&format!("https://{own}/")) else {
        return false;
    };
    let same_host = match (parsed.host_str(), own.host_str()) {
        (Some(h), Some(o)) => canonical(h) == canonical(o),
        _ => false,
    };
    // `port()` is `None` for a scheme's default port (and for `own`, for none given or 443).
    let same_port = match own.port() {
        Some(p) => parsed.port_or_known_default() == Some(p),
        None => parsed.port().is_none(),
    };
    same_host && same_port
}

fn link(value: &str) -> bool {
    let Some(url) = decode(value) else {
        return false;
    };
    let url = url.trim_matches(|c: char| c.is_ascii_whitespace());
    ["http://", "https://", "mailto:", "tel:"]
        .iter()
        .any(|p| starts_with_ignore_case(url, p))
}

fn style_is_inert(value: &str) -> bool {
    let l = value.to_ascii_lowercase();
    ![
        "url",
        "expression",
        "image",
        "javascript",
        "\\",
        "@",
        "&#",
        "/*",
        "<",
        ">",
        "{",
        "}",
    ]
    .iter()
    .any(|bad| l.contains(bad))
}

/// The value of a canonical attribute: only the entities the serialiser writes are decoded;
/// any other `&` makes the value unreadable (and the URL is dropped).
fn decode(value: &str) -> Option<String> {
    if !value.contains('&') {
        return Some(value.to_string());
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(i) = rest.find('&') {
        let (before, from) = rest.split_at_checked(i)?;
        out.push_str(before);
        rest = from;
        let (entity, c) = [
            ("&amp;", '&'),
            ("&quot;", '"'),
            ("&nbsp;", '\u{a0}'),
            ("&lt;", '<'),
            ("&gt;", '>'),
        ]
        .into_iter()
        .find(|(e, _)| rest.starts_with(e))?;
        out.push(c);
        rest = rest.get(entity.len()..)?;
    }
    out.push_str(rest);
    Some(out)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::html::{SanitizeOptions, sanitize};

    fn cids() -> HashMap<String, String> {
        [(
            "logo@x".to_string(),
            "/mail/messages/7/attachments/0".to_string(),
        )]
        .into_iter()
        .collect()
    }

    fn stored(html: &str) -> String {
        sanitize(
            html,
            &SanitizeOptions {
                remote: RemoteContent::Allow,
                keep_cid: true,
                ..SanitizeOptions::default()
            },
        )
        .html
    }

    fn view(html: &str, remote: RemoteContent) -> Served {
        let cids = cids();
        serve(
            html,
            &ServeOptions {
                remote,
                cid_urls: &cids,
                own_host: Some("help.example:8080"),
            },
        )
    }

    /// Remote images are allowed, but one on Frontdesk's own host is a request to its pages.
    #[test]
    fn images_on_our_own_host_are_dropped_even_when_remote_is_allowed() {
        for own in [
            "https://help.example:8080/notifications",
            "//HELP.example.:8080/logout",
            "http://help.example:8080/ui/events",
            "https://u@help%2Eexample:8080/x",
        ] {
            let html = stored(&format!(r#"<p><img src="{own}"></p>"#));
            let out = view(&html, RemoteContent::Allow).html;
            assert!(!out.contains("src="), "{own}: {out}");
        }
        for other in [
            "https://cdn.example/logo.png",
            "http://help.example:9999/logo.png",
        ] {
            let html = stored(&format!(r#"<img src="{other}">"#));
            assert!(
                view(&html, RemoteContent::Allow).html.contains(other),
                "{other}"
            );
        }
        // Behind a proxy `Host` has no port: both default ports are ours.
        let cids = cids();
        for own in ["https://help.example/x", "http://help.example/x"] {
            let html = stored(&format!(r#"<img src="{own}">"#));
            let out = serve(
                &html,
                &ServeOptions {
                    remote: RemoteContent::Allow,
                    cid_urls: &cids,
                    own_host: Some("help.example"),
                },
            );
            assert!(!out.html.contains("src="), "{own}: {}", out.html);
        }
    }

    /// Finding 5 of the hardening issue: a relative path that climbs out of the message.
    #[test]
    fn finding_5_relative_and_same_origin_urls_are_gone() {
        let dirty = r#"<p><img src="/mail/messages/7/attachments/../../../../notifications"><img src="/mail/messages/7/attachments/%2e%2e/%2e%2e/x"><img src="../../ui/events"><img src="https:/notifications"><a href="/notifications">a</a><a href="../x">b</a><a href="https:/x">c</a><a href="//evil.example/">d</a><img src="cid:logo@x"><img src="cid:other@x"><a href="https://example.com/?a=1&amp;b=2">ok</a><a href="mailto:a@example.com">m</a></p>"#;
        for html in [dirty.to_string(), stored(dirty)] {
            let out = view(&html, RemoteContent::Block).html;
            assert!(!out.contains("notifications"), "{out}");
            assert!(!out.contains(".."), "{out}");
            assert!(!out.contains("ui/events"), "{out}");
            assert!(!out.contains("href=\"/"), "{out}");
            assert!(!out.contains("href=\"../"), "{out}");
            assert!(!out.contains("https:/x"), "{out}");
            assert!(!out.contains("evil.example"), "{out}");
            assert!(!out.contains("cid:"), "{out}");
            assert!(
                out.contains(r#"<img src="/mail/messages/7/attachments/0">"#),
                "{out}"
            );
            assert!(
                out.contains(r#"href="https://example.com/?a=1&amp;b=2""#),
                "{out}"
            );
            assert!(out.contains(r#"href="mailto:a@example.com""#), "{out}");
        }
    }

    #[test]
    fn remote_images_are_counted_and_kept_only_when_allowed() {
        let html = r#"<img src="https://t.example/p.gif"><img src="//t.example/q.gif">"#;
        let blocked = view(html, RemoteContent::Block);
        assert_eq!(blocked.blocked_remote, 2);
        assert!(!blocked.html.contains("t.example"), "{}", blocked.html);
        let allowed = view(html, RemoteContent::Allow);
        assert_eq!(allowed.blocked_remote, 0);
        assert!(allowed.html.contains("https://t.example/p.gif"));
    }

    #[test]
    fn non_canonical_markup_comes_out_as_text() {
        for dirty in [
            r#"<img src=/notifications>"#,
            r#"<img src='/notifications'>"#,
            r#"<img x="1"src="/notifications">"#,
            r#"<!-- <img src="/x"> --><script>alert(1)</script><style>*{}</style><textarea><img src=x></textarea>"#,
            r#"<svg><image href="/notifications"/></svg><img src="java&#115;cript:alert(1)">"#,
        ] {
            let out = view(dirty, RemoteContent::Allow).html;
            for tag in ["<script", "<style", "<textarea", "<svg", "<image", "<!--"] {
                assert!(!out.contains(tag), "{out}");
            }
            for (i, _) in out.match_indices("<img") {
                let tail = out.get(i..).unwrap_or_default();
                let tag = tail
                    .get(..tail.find('>').unwrap_or(tail.len()))
                    .unwrap_or_default();
                assert_eq!(tag, "<img", "{out}");
            }
        }
    }

    #[test]
    fn ordinary_mail_is_unchanged_but_for_link_rel() {
        let html = stored(
            r#"<div style="color: red"><p>Hi &amp; <b>bye</b> 1 &lt; 2</p><table width="100%"><tr><td>x</td></tr></table></div>"#,
        );
        assert_eq!(view(&html, RemoteContent::Block).html, html);
    }
}
