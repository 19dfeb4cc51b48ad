//! Issue 15 items 7 and 8 as use cases: uploads and their limits, attaching only one's own
//! unsent files (HD-09), the reply carrying them, template variables (HD-16) and signatures.

use fd_app::domain::outgoing::AttachmentLimits;
use fd_app::domain::*;
use fd_app::{Actor, AppError, Reply};
use fd_testkit::{TestApp, on_both_backends};

use crate::common::*;

on_both_backends! {
    item_7_reply_carries_uploaded_files_and_they_download => item_7_reply_carries_files;
    item_7_limits_refuse_big_files_and_keep_nothing_half_done => item_7_limits;
    item_7_hd_09_only_the_uploader_attaches_an_unsent_file => item_7_owner;
    item_8_hd_16_snippet_variables_are_checked_and_filled => item_8_variables;
    item_8_signatures_address_first_then_agent => item_8_signatures;
}

fn too_large<T: std::fmt::Debug>(r: Result<T, AppError>) -> String {
    match r {
        Err(AppError::Domain(e)) => {
            assert_eq!(e.codes(), vec![ErrorCode::TooLarge], "{e}");
            e.to_string()
        }
        other => panic!("expected a size refusal, got {other:?}"),
    }
}

async fn item_7_reply_carries_files(t: TestApp) {
    let (_, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (c, _, _) = conversation_with_ticket(&t, "carl@customer.example").await;
    let bytes: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let f = t
        .app
        .upload_file(&agent, "report.pdf", None, &bytes)
        .await
        .unwrap();
    assert_eq!(f.content_type, "application/pdf", "guessed from the name");
    assert_eq!(f.size, 3000);
    assert_eq!(f.message_id, None);
    let sent = t
        .app
        .send_reply(
            &agent,
            c.id,
            Reply {
                text: "Here it is".into(),
                attachments: vec![f.id],
                ..Reply::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(sent.attachments.len(), 1);
    assert_eq!(sent.attachments[0].filename, "report.pdf");
    // The reply's attachment downloads like a received one.
    let d = t.app.message_attachment(&agent, sent.id, 0).await.unwrap();
    assert_eq!(d.bytes, bytes);
    let f = t.app.file(&agent, f.id).await.unwrap();
    assert_eq!(f.message_id, Some(sent.id));
    // Sent once: attaching it again is refused.
    let again = t
        .app
        .send_reply(
            &agent,
            c.id,
            Reply {
                text: "Again".into(),
                attachments: vec![f.id],
                ..Reply::default()
            },
        )
        .await;
    assert_invalid(again, "attachments");
    // A reply with only a file (no text) is fine.
    let g = t
        .app
        .upload_file(&agent, "photo.png", Some("image/png"), b"\x89PNG...")
        .await
        .unwrap();
    let only = t
        .app
        .send_reply(
            &agent,
            c.id,
            Reply {
                attachments: vec![g.id],
                ..Reply::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(only.attachments[0].content_type, "image/png");
}

async fn item_7_limits(t: TestApp) {
    let (_, admin) = t.admin("boss@example.com").await;
    let (_, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    assert_eq!(
        t.app.attachment_limits().await.unwrap(),
        AttachmentLimits::default()
    );
    // Only administrators change them, and only to sane values.
    let small = AttachmentLimits {
        max_file_bytes: 2048,
        max_message_bytes: 3072,
    };
    assert_forbidden(t.app.set_attachment_limits(&agent, small).await);
    assert_invalid(
        t.app
            .set_attachment_limits(
                &admin,
                AttachmentLimits {
                    max_file_bytes: 4096,
                    max_message_bytes: 2048,
                },
            )
            .await,
        "max_attachment_bytes",
    );
    t.app.set_attachment_limits(&admin, small).await.unwrap();
    assert_eq!(t.app.attachment_limits().await.unwrap(), small);

    let msg = too_large(
        t.app
            .upload_file(&agent, "big.bin", None, &[1u8; 2049])
            .await,
    );
    assert!(msg.contains("over the limit of 2 KiB per file"), "{msg}");
    assert_invalid(
        t.app.upload_file(&agent, "empty.txt", None, b"").await,
        "file",
    );
    assert_invalid(
        t.app.upload_file(&agent, "  ", None, b"x").await,
        "fileName",
    );

    let (c, _, _) = conversation_with_ticket(&t, "carl@customer.example").await;
    let a = t
        .app
        .upload_file(&agent, "a.bin", None, &[1u8; 2000])
        .await
        .unwrap();
    let b = t
        .app
        .upload_file(&agent, "b.bin", None, &[2u8; 2000])
        .await
        .unwrap();
    let before = t.app.messages(&agent, c.id).await.unwrap().len();
    let msg = too_large(
        t.app
            .send_reply(
                &agent,
                c.id,
                Reply {
                    text: "two files".into(),
                    attachments: vec![a.id, b.id],
                    ..Reply::default()
                },
            )
            .await,
    );
    assert!(msg.contains("over the limit of 3 KiB per message"), "{msg}");
    // Nothing was sent and both files are still the agent's to attach.
    assert_eq!(t.app.messages(&agent, c.id).await.unwrap().len(), before);
    assert_eq!(t.app.file(&agent, a.id).await.unwrap().message_id, None);
    t.app
        .send_reply(
            &agent,
            c.id,
            Reply {
                text: "one file".into(),
                attachments: vec![a.id],
                ..Reply::default()
            },
        )
        .await
        .unwrap();
}

async fn item_7_owner(t: TestApp) {
    let (_, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (_, bob) = t
        .agent("bob@example.com", TicketAccessLevel::All, &[])
        .await;
    let (c, _, _) = conversation_with_ticket(&t, "carl@customer.example").await;
    let f = t
        .app
        .upload_file(&ann, "secret.txt", None, b"ann's")
        .await
        .unwrap();
    // Bob can neither read nor attach Ann's unsent upload.
    assert_not_found(t.app.file(&bob, f.id).await);
    assert_not_found(t.app.file_download(&bob, f.id).await);
    assert_invalid(
        t.app
            .send_reply(
                &bob,
                c.id,
                Reply {
                    text: "stealing".into(),
                    attachments: vec![f.id],
                    ..Reply::default()
                },
            )
            .await,
        "attachments",
    );
    assert_invalid(
        t.app
            .send_reply(
                &bob,
                c.id,
                Reply {
                    text: "nothing".into(),
                    attachments: vec![999_999],
                    ..Reply::default()
                },
            )
            .await,
        "attachments",
    );
    // Once Ann sends it, whoever sees the conversation may download it.
    t.app
        .send_reply(
            &ann,
            c.id,
            Reply {
                text: "here".into(),
                attachments: vec![f.id],
                ..Reply::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        t.app.file_download(&bob, f.id).await.unwrap().bytes,
        b"ann's"
    );
    // An agent who cannot see the ticket still cannot.
    let (_, own) = t
        .agent("olga@example.com", TicketAccessLevel::Owned, &[])
        .await;
    assert_not_found(t.app.file(&own, f.id).await);
}

async fn item_8_variables(t: TestApp) {
    let (_, admin) = t.admin("grace.hopper@example.com").await;
    let refused = t
        .app
        .create_library_item(&admin, "snippet", "Bad", "<p>Hi {{contact.nickname}}</p>")
        .await;
    assert_invalid(refused, "body");
    let s = t
        .app
        .create_library_item(
            &admin,
            "snippet",
            "Greeting",
            "<p>Hi {{contact.firstname}}, about #{{ticket.id}} ({{ticket.subject}}) - {{agent.firstname}}{{company.name}}</p>",
        )
        .await
        .unwrap();
    assert_invalid(
        t.app
            .update_library_item(&admin, s.id, "Greeting", "{{ticket.nope}}")
            .await,
        "body",
    );
    let (_, tk, k) = conversation_with_ticket(&t, "carl@customer.example").await;
    let filled = t
        .app
        .fill_variables(&admin, Some(tk.id), &[&s.body_html], true)
        .await
        .unwrap();
    let firstname = k.firstname.clone().unwrap();
    assert_eq!(
        filled[0],
        format!(
            "<p>Hi {firstname}, about #{} ({}) - grace.hopper</p>",
            tk.id,
            tk.subject.replace('&', "&amp;").replace('<', "&lt;")
        )
    );
    // Without a ticket the ticket's and contact's variables are empty.
    let bare = t
        .app
        .fill_variables(&admin, None, &["Hi {{contact.firstname}}!"], false)
        .await
        .unwrap();
    assert_eq!(bare[0], "Hi !");
    // A ticket the agent may not see fills nothing from it (HD-09).
    let (_, own) = t
        .agent("olga@example.com", TicketAccessLevel::Owned, &[])
        .await;
    let hidden = t
        .app
        .fill_variables(&own, Some(tk.id), &["[{{ticket.subject}}]"], false)
        .await
        .unwrap();
    assert_eq!(hidden[0], "[]");
}

async fn item_8_signatures(t: TestApp) {
    let (_, admin) = t.admin("boss@example.com").await;
    t.team("Support").await;
    let (_, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &["Support"])
        .await;
    t.app
        .connect_email(
            &Actor::system(),
            "help@desk.example",
            "Support",
            Workspace::HelpDesk,
            false,
        )
        .await
        .unwrap();
    let (_, tk, k) = conversation_with_ticket(&t, "carl@customer.example").await;
    assert_eq!(
        t.app
            .reply_signature(&ann, None, Some(tk.id))
            .await
            .unwrap(),
        ""
    );
    assert_invalid(
        t.app.set_my_signature(&ann, "-- {{agent.nick}}").await,
        "signature",
    );
    t.app
        .set_my_signature(&ann, "Cheers, {{agent.name}}\nfor {{contact.firstname}}")
        .await
        .unwrap();
    assert_eq!(
        t.app.my_signature(&ann).await.unwrap(),
        "Cheers, {{agent.name}}\nfor {{contact.firstname}}"
    );
    let firstname = k.firstname.clone().unwrap();
    assert_eq!(
        t.app
            .reply_signature(&ann, Some("help@desk.example"), Some(tk.id))
            .await
            .unwrap(),
        format!("Cheers, ann\nfor {firstname}")
    );
    // The address's signature comes first; only administrators set it, on a connected address.
    assert_forbidden(
        t.app
            .set_address_signature(&ann, "help@desk.example", "Team")
            .await,
    );
    assert_not_found(
        t.app
            .set_address_signature(&admin, "nobody@desk.example", "Team")
            .await,
    );
    t.app
        .set_address_signature(
            &admin,
            "Help@Desk.example",
            "The Support team, ticket {{ticket.id}}",
        )
        .await
        .unwrap();
    assert_eq!(
        t.app
            .reply_signature(&ann, Some("help@desk.example"), Some(tk.id))
            .await
            .unwrap(),
        format!("The Support team, ticket {}", tk.id)
    );
    // Clearing it falls back to the agent's.
    t.app
        .set_address_signature(&admin, "help@desk.example", "  ")
        .await
        .unwrap();
    assert!(
        t.app
            .reply_signature(&ann, Some("help@desk.example"), Some(tk.id))
            .await
            .unwrap()
            .starts_with("Cheers, ann")
    );
}
