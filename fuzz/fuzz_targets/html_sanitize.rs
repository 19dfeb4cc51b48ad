//! Any text as customer HTML, down the road it takes: the bounds check before parsing, the
//! sanitiser at ingestion (remote images and `cid:` kept), then the linear rewrite that
//! serves it, with remote images blocked and allowed. Nothing may panic; what is served may
//! hold no script element, and every URL in it must be either this message's attachment,
//! a remote image the agent allowed, or an `http(s)`/`mailto`/`tel` link (finding 5 of the
//! hardening issue: no path back into Frontdesk).
#![no_main]

use std::collections::HashMap;

use fd_mail::html::{RemoteContent, SanitizeOptions, sanitize};
use fd_mail::html_bound::{HtmlBounds, check};
use fd_mail::html_serve::{ServeOptions, serve};
use libfuzzer_sys::fuzz_target;

const ATTACHMENT: &str = "/mail/messages/1/attachments/0";

/// The attribute values of `name` inside tags of canonical output (values in double quotes).
fn values<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        let after = &rest[lt + 1..];
        if !after.starts_with(|c: char| c.is_ascii_alphabetic()) {
            rest = after;
            continue;
        }
        // The tag runs to the first `>` outside double quotes.
        let mut in_quotes = false;
        let mut end = after.len();
        for (i, c) in after.char_indices() {
            match c {
                '"' => in_quotes = !in_quotes,
                '>' if !in_quotes => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        let tag = &after[..end];
        let needle = format!(" {name}=\"");
        let mut t = tag;
        while let Some(p) = t.find(&needle) {
            let v = &t[p + needle.len()..];
            let close = v.find('"').unwrap_or(v.len());
            out.push(&v[..close]);
            t = &v[close..];
        }
        rest = &after[end.min(after.len())..];
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(html) = std::str::from_utf8(data) else {
        return;
    };
    if check(html, &HtmlBounds::default()).is_err() {
        return;
    }
    let stored = sanitize(
        html,
        &SanitizeOptions {
            remote: RemoteContent::Allow,
            keep_cid: true,
            ..SanitizeOptions::default()
        },
    );
    let cids: HashMap<String, String> = [("x".to_string(), ATTACHMENT.to_string())].into();
    for remote in [RemoteContent::Block, RemoteContent::Allow] {
        let served = serve(
            &stored.html,
            &ServeOptions { remote, cid_urls: &cids, own_host: Some("help.example") },
        );
        let lower = served.html.to_ascii_lowercase();
        assert!(!lower.contains("<script"), "script served: {}", served.html);
        for src in values(&served.html, "src") {
            let remote_ok = remote == RemoteContent::Allow
                && (src.starts_with("http://") || src.starts_with("https://") || src.starts_with("//"));
            assert!(src == ATTACHMENT || remote_ok, "img src {src:?} served: {}", served.html);
        }
        for href in values(&served.html, "href") {
            let h = href.to_ascii_lowercase();
            assert!(
                ["http://", "https://", "mailto:", "tel:"].iter().any(|p| h.starts_with(p)),
                "href {href:?} served: {}",
                served.html
            );
        }
    }
});
