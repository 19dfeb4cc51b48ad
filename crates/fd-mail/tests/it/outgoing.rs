//! Outgoing mail with attachments (issue 15, item 7): built by `build::build`, read back by
//! our own parser, so name, type and bytes survive the round trip.

use fd_mail::build::{OutgoingAttachment, OutgoingMail, build};
use fd_mail::{Mailbox, ParseOptions, parse};

fn mailbox(a: &str) -> Mailbox {
    Mailbox {
        name: None,
        address: a.into(),
    }
}

#[test]
fn item_7_attachments_are_mixed_parts_with_encoded_names_and_exact_bytes() {
    let bytes: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    let mail = OutgoingMail {
        from: mailbox("support@example.com"),
        to: vec![mailbox("ada@example.org")],
        subject: "Re: printer".into(),
        message_id: "<fd.x@example.com>".into(),
        date: 1_700_000_000,
        text: "See attached.".into(),
        html: Some("<p>See attached.</p>".into()),
        attachments: vec![
            OutgoingAttachment {
                filename: "Jahresabschluß 2024.pdf".into(),
                content_type: "application/pdf".into(),
                content: bytes.clone(),
            },
            OutgoingAttachment {
                filename: "log.txt".into(),
                content_type: "text/plain; <script>".into(),
                content: b"hello".to_vec(),
            },
        ],
        ..Default::default()
    };
    let raw = build(&mail).unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("multipart/mixed"), "{text}");
    assert!(text.contains("multipart/alternative"), "{text}");
    assert!(text.contains("Content-Disposition: attachment"), "{text}");
    assert!(
        text.contains("filename*=UTF-8''Jahresabschlu%C3%9F%202024.pdf"),
        "{text}"
    );
    assert!(text.contains("Content-Transfer-Encoding: base64"), "{text}");
    let parsed = parse(&raw, &ParseOptions::default()).unwrap();
    assert_eq!(parsed.attachments.len(), 2, "{:?}", parsed.attachments);
    let a = &parsed.attachments[0];
    assert_eq!(a.filename, "Jahresabschluß 2024.pdf");
    assert_eq!(a.content_type, "application/pdf");
    assert_eq!(a.data, bytes);
    // A malformed type is sent as bytes rather than breaking the header.
    assert_eq!(
        parsed.attachments[1].content_type,
        "application/octet-stream"
    );
    assert_eq!(parsed.attachments[1].data, b"hello");
    assert_eq!(parsed.text.trim(), "See attached.");
}
