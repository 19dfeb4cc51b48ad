//! Finding 1 of the hardening issue: hostile HTML bodies must not be parsed into a tree.
//! Each test asserts what comes out (flattened to text with a notice, or kept), never how
//! long it took; before the bounds, the first of them ran for minutes.

use fd_mail::{ParseOptions, parse};

pub fn html_mail(html: &str) -> Vec<u8> {
    format!(
        "From: Mallory <m@example.com>\r\nTo: help@example.com\r\nSubject: hostile\r\nMessage-ID: <h@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}"
    )
    .into_bytes()
}

pub fn deep(tag: &str, n: usize, inner: &str) -> String {
    format!(
        "{}{inner}{}",
        format!("<{tag}>").repeat(n),
        format!("</{tag}>").repeat(n)
    )
}

fn assert_flattened(raw: &[u8], text: &str) {
    let mail = parse(raw, &ParseOptions::default()).unwrap();
    assert_eq!(mail.html, None);
    assert!(
        mail.text.contains(text),
        "{:?}",
        &mail.text[..200.min(mail.text.len())]
    );
    assert!(
        mail.notices
            .iter()
            .any(|n| n.contains("formatted (HTML) version")),
        "{:?}",
        mail.notices
    );
}

#[test]
fn finding_1_deep_div_and_blockquote_are_flattened() {
    assert_flattened(
        &html_mail(&deep("div", 200_000, "secret words")),
        "secret words",
    );
    assert_flattened(
        &html_mail(&deep("blockquote", 200_000, "quoted words")),
        "quoted words",
    );
}

#[test]
fn finding_1_a_tag_with_500000_attributes_is_flattened() {
    let attrs: String = (0..500_000).map(|i| format!(" a{i}=\"\"")).collect();
    assert_flattened(&html_mail(&format!("<p{attrs}>kept text</p>")), "kept text");
}

#[test]
fn finding_1_many_parts_are_parsed_and_kept() {
    let mut raw = String::from(
        "From: m@example.com\r\nTo: help@example.com\r\nSubject: parts\r\nMessage-ID: <p@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n",
    );
    for i in 0..20_000 {
        raw.push_str(&format!(
            "--b\r\nContent-Type: text/html\r\nContent-Disposition: inline\r\n\r\n<div><div>part {i}</div></div>\r\n"
        ));
    }
    raw.push_str("--b--\r\n");
    let mail = parse(raw.as_bytes(), &ParseOptions::default()).unwrap();
    let html = mail.html.unwrap_or_default();
    // Either kept whole or flattened with a notice: never lost, never parsed unbounded.
    if html.is_empty() {
        assert!(mail.notices.iter().any(|n| n.contains("(HTML)")));
    } else {
        assert!(html.contains("part 19999"));
    }
    assert!(mail.text.contains("part 19999"));
}
