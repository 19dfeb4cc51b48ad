//! Agents' rich-text replies get their plain-text twin here, for the `text/plain` part and
//! for search; they are sanitised by fd-app's one sanitiser (`fd_app::sanitize_agent_html`,
//! which the reply use cases apply on every road). Customers' mail is not rendered into
//! pages at all: it is shown in a sandboxed frame served by `/mail/messages/{id}/html`
//! (`attachments.rs`).

/// An agent's reply or a library item, sanitised by the application's one sanitiser (the
/// same the API's `richText` goes through).
pub(crate) fn sanitize_reply(html: &str) -> String {
    fd_app::sanitize_agent_html(html)
}

/// The plain text of sanitised HTML: block ends become line breaks, tags go, the few
/// entities ammonia emits are decoded.
pub(crate) fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('>') else {
            rest = "";
            break;
        };
        let tag = rest[start + 1..start + end].to_ascii_lowercase();
        let name = tag
            .trim_start_matches('/')
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or("");
        let closing = tag.starts_with('/');
        match name {
            "br" => out.push('\n'),
            "p" | "div" | "blockquote" | "h3" | "h4" | "pre" | "ul" | "ol" if closing => {
                out.push('\n')
            }
            "li" if !closing => out.push_str("\n- "),
            _ => {}
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    let decoded = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    // Collapse runs of blank lines the block tags leave behind.
    let mut text = String::new();
    let mut blank = 0;
    for line in decoded.lines() {
        if line.trim().is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text.trim().to_string()
}

/// Plain text as HTML paragraphs (a reply typed without the rich editor).
pub(crate) fn text_to_html(text: &str) -> String {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    escaped
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| format!("<p>{}</p>", p.trim().replace('\n', "<br>")))
        .collect()
}

/// The document shown in a message's sandboxed frame: the page's reading styles around
/// already-sanitised HTML. Agents' replies get it as `srcdoc`; customers' mail from the frame
/// route, `attachments::html`.
pub(crate) fn frame_document(body_html: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><base target=\"_blank\">\
         <style>body{{font:14px/1.5 system-ui,sans-serif;color:#1f2933;margin:0;overflow-wrap:anywhere}}\
         img{{max-width:100%;height:auto}}blockquote{{border-left:3px solid #cbd6e2;margin:0 0 0 4px;padding-left:8px;color:#516f90}}</style>\
         </head><body>{body_html}</body></html>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_html_is_made_inert() {
        let dirty = r#"<p onclick="x()">Hi<script>alert(1)</script><img src=x onerror=alert(1)>
            <a href="javascript:alert(1)">x</a><iframe src="https://evil"></iframe>
            <div style="background:url(https://evil/x)">s</div></p>"#;
        let clean = sanitize_reply(dirty);
        for bad in [
            "<script",
            "onerror",
            "onclick",
            "javascript:",
            "<iframe",
            "style=",
        ] {
            assert!(!clean.contains(bad), "{bad} survived: {clean}");
        }
        let reply = sanitize_reply(
            r#"<b>ok</b><a href="data:text/html,x">d</a><img src="data:image/svg+xml;base64,AA"><img src="data:image/png;base64,AA">"#,
        );
        assert!(reply.contains("<b>ok</b>"));
        assert!(!reply.contains("data:text/html"));
        assert!(!reply.contains("svg+xml"));
        assert!(reply.contains("data:image/png;base64,AA"));
    }

    #[test]
    fn text_of_html_keeps_lines() {
        assert_eq!(
            html_to_text("<p>Hello <b>Ann</b></p><p>Line&amp;two<br>three</p><ul><li>a</li></ul>"),
            "Hello Ann\nLine&two\nthree\n\n- a"
        );
    }

    /// Finding 1 of the hardening issue, for agents' HTML: a deep document is not parsed.
    #[test]
    fn deep_reply_html_is_flattened_to_its_text() {
        let deep = format!(
            "{}deep text{}",
            "<div>".repeat(100_000),
            "</div>".repeat(100_000)
        );
        let out = sanitize_reply(&deep);
        assert!(out.contains("deep text"), "{out}");
        assert!(out.len() < 100, "{out}");
    }
}
