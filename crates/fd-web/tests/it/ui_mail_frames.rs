//! Customer mail in the agents' UI (issue 5, email item 5): HTML is framed from
//! `/mail/messages/{id}/html` in a sandbox without script, remote images stay blocked until
//! the agent asks ("Load remote images" → `?remote=1`), and the frame route keeps HD-09's
//! scoping for the session cookie the frame request carries.

use fd_app::domain::*;
use fd_app::{Actor, MailService, MailSettings};
use fd_mail::{IncomingMail, MailSource};
use fd_testkit::TestApp;
use reqwest::StatusCode;

use crate::ui_common::*;

const SUPPORT: &str = "support@help.example";
const TRACKER: &str = "https://tracker.example/open.gif";

/// Delivers a message as the SMTP listener would and runs the ingest job; returns the
/// ticket and message it became.
async fn deliver(mail: &MailService, subject: &str, content: &str) -> (TicketId, MessageId) {
    let raw = format!(
        "From: Carol <carol@customer.example>\r\nTo: {SUPPORT}\r\nSubject: {subject}\r\n\
         Message-ID: <{}@customer.example>\r\nMIME-Version: 1.0\r\n{content}",
        subject.replace(' ', "-")
    );
    let id = mail
        .accept(IncomingMail {
            source: MailSource::Smtp {
                peer: "127.0.0.1:1".into(),
                helo: "test".into(),
                tls: false,
            },
            envelope_from: Some("carol@customer.example".into()),
            recipients: vec![SUPPORT.into()],
            raw: raw.into_bytes(),
            truncated_from: None,
        })
        .await
        .unwrap();
    mail.run_pending_jobs().await.unwrap();
    let system = Actor::system();
    let (stored, _) = mail.app().raw_mail(&system, id).await.unwrap();
    let message = stored.message_id.expect("the mail became a message");
    let conversation = mail
        .app()
        .conversation(&system, stored.conversation_id.unwrap())
        .await
        .unwrap();
    (conversation.ticket_id.expect("a help-desk ticket"), message)
}

fn html_mail(html: &str) -> String {
    format!(
        "Content-Type: multipart/alternative; boundary=\"A\"\r\n\r\n--A\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nHello in text\r\n--A\r\n\
         Content-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n--A--\r\n"
    )
}

fn csp(page: &Page) -> String {
    page.headers
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string()
}

/// What every policy of the frame route must say, remote images allowed or not.
fn assert_no_script_forms_or_frames(csp: &str) {
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(
        !csp.contains("script-src"),
        "no script source at all: {csp}"
    );
    assert!(csp.contains("form-action 'none'"), "{csp}");
    assert!(csp.contains("frame-src 'none'"), "{csp}");
    assert!(csp.contains("object-src 'none'"), "{csp}");
    assert!(
        csp.contains("sandbox") && !csp.contains("allow-scripts") && !csp.contains("allow-forms"),
        "{csp}"
    );
}

/// The `<iframe …>` tag of a message on a page.
fn frame_tag(body: &str, message: MessageId) -> String {
    let start = body
        .find(&format!("id=\"msg-frame-{message}\""))
        .and_then(|at| body[..at].rfind("<iframe"))
        .unwrap_or_else(|| panic!("no frame for message {message} in {body}"));
    let end = body[start..].find('>').unwrap() + start;
    body[start..=end].to_string()
}

async fn customer_html_is_framed_and_remote_images_wait(t: TestApp) {
    let system = Actor::system();
    t.team("Support").await;
    t.team("Billing").await;
    t.app
        .connect_email(&system, SUPPORT, "Support", Workspace::HelpDesk, false)
        .await
        .unwrap();
    let mail = MailService::new(t.app.clone(), MailSettings::default());
    t.agent("ann@example.com", TicketAccessLevel::Team, &["Support"])
        .await;
    t.agent("bob@example.com", TicketAccessLevel::Team, &["Billing"])
        .await;

    let (tracked_ticket, tracked) = deliver(
        &mail,
        "Newsletter reply",
        &html_mail(&format!(
            r#"<p>Hello from <b>Carol</b></p><img src="{TRACKER}" alt="logo"><img src="https://tracker.example/two.gif">"#
        )),
    )
    .await;
    let (plain_html_ticket, plain_html) =
        deliver(&mail, "No images", &html_mail("<p>Just <i>words</i></p>")).await;
    let (text_ticket, text_only) = deliver(
        &mail,
        "Text only",
        "Content-Type: text/plain; charset=utf-8\r\n\r\nOnly text here\r\n",
    )
    .await;

    let base = serve(&t).await;
    let ann = Browser::login(&base, "ann@example.com").await;

    // The page frames the route: sandboxed, no script, and the notice with its link.
    let page = ann
        .get(&format!("/helpdesk/tickets/{tracked_ticket}"))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let tag = frame_tag(&page.body, tracked);
    assert!(
        tag.contains(&format!("src=\"/mail/messages/{tracked}/html\"")),
        "{tag}"
    );
    assert!(tag.contains("sandbox=\""), "{tag}");
    assert!(!tag.contains("allow-scripts"), "{tag}");
    assert!(!tag.contains("srcdoc"), "{tag}");
    assert!(
        !page.body.contains("tracker.example"),
        "the page itself never carries the customer's HTML"
    );
    assert!(
        page.body.contains("2 remote images were blocked"),
        "{}",
        page.body
    );
    let link =
        format!("href=\"/mail/messages/{tracked}/html?remote=1\" target=\"msg-frame-{tracked}\"");
    assert!(page.body.contains(&link), "a plain link reloads the frame");
    assert!(
        page.headers
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("frame-src 'self'"),
        "the page may frame our own route"
    );

    // HTML without remote images: framed, no notice. Text only: the text, no frame.
    let page = ann
        .get(&format!("/helpdesk/tickets/{plain_html_ticket}"))
        .await;
    frame_tag(&page.body, plain_html);
    assert!(!page.body.contains("remote image"), "{}", page.body);
    assert!(!page.body.contains("Load remote images"));
    let page = ann.get(&format!("/helpdesk/tickets/{text_ticket}")).await;
    assert!(page.body.contains("Only text here"), "{}", page.body);
    assert!(!page.body.contains(&format!("msg-frame-{text_only}")));
    assert!(!page.body.contains("Load remote images"));

    // The route, with the session cookie the frame request carries: remote images stripped
    // and counted, a CSP without script or remote loads.
    let frame = ann.get(&format!("/mail/messages/{tracked}/html")).await;
    assert_eq!(frame.status, StatusCode::OK, "{}", frame.body);
    assert!(
        frame.body.contains("Hello from <b>Carol</b>"),
        "{}",
        frame.body
    );
    assert!(!frame.body.contains("tracker.example"), "{}", frame.body);
    assert_eq!(
        frame
            .headers
            .get("x-frontdesk-blocked-remote-images")
            .unwrap(),
        "2"
    );
    let policy = csp(&frame);
    assert_no_script_forms_or_frames(&policy);
    assert!(policy.contains("img-src 'self' data:;"), "{policy}");
    assert!(!policy.contains("https:"), "{policy}");
    assert_eq!(frame.headers.get("x-frame-options").unwrap(), "SAMEORIGIN");
    assert_eq!(
        frame.headers.get("cache-control").unwrap(),
        "no-store",
        "customer content must not outlive sign-out in a browser cache"
    );

    // Asked for: the remote images are kept and the policy lets them load, nothing more.
    let shown = ann
        .get(&format!("/mail/messages/{tracked}/html?remote=1"))
        .await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(shown.body.contains(TRACKER), "{}", shown.body);
    assert_eq!(
        shown
            .headers
            .get("x-frontdesk-blocked-remote-images")
            .unwrap(),
        "0"
    );
    let policy = csp(&shown);
    assert_no_script_forms_or_frames(&policy);
    assert!(
        policy.contains("img-src 'self' data: https: http:"),
        "{policy}"
    );

    // Another team's agent sees neither the ticket nor the frame; nobody signed out does.
    let bob = Browser::login(&base, "bob@example.com").await;
    assert_eq!(
        bob.get(&format!("/helpdesk/tickets/{tracked_ticket}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    for path in [
        format!("/mail/messages/{tracked}/html"),
        format!("/mail/messages/{tracked}/html?remote=1"),
    ] {
        let refused = bob.get(&path).await;
        assert_eq!(refused.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!refused.body.contains("Carol"), "{}", refused.body);
        assert_eq!(
            Browser::anonymous(&base).get(&path).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
}

/// Finding 1 of the hardening issue: hostile HTML bodies (200,000 nested `<div>`s or
/// `<blockquote>`s, a tag with 500,000 attributes) are stored as their text with a notice,
/// never parsed into a tree, and the ticket page shows that text without a frame.
async fn hostile_html_is_flattened_at_ingestion(t: TestApp) {
    let system = Actor::system();
    t.team("Support").await;
    t.app
        .connect_email(&system, SUPPORT, "Support", Workspace::HelpDesk, false)
        .await
        .unwrap();
    let mail = MailService::new(t.app.clone(), MailSettings::default());
    t.agent("ann@example.com", TicketAccessLevel::Team, &["Support"])
        .await;
    let nest = |tag: &str, inner: &str| {
        format!(
            "{}{inner}{}",
            format!("<{tag}>").repeat(200_000),
            format!("</{tag}>").repeat(200_000)
        )
    };
    let attrs: String = (0..500_000).map(|i| format!(" a{i}=\"\"")).collect();
    let bodies = [
        ("Deep divs", nest("div", "words inside divs")),
        ("Deep quotes", nest("blockquote", "words inside quotes")),
        (
            "Attributes",
            format!("<p{attrs}>words after attributes</p>"),
        ),
    ];
    let base = serve(&t).await;
    let ann = Browser::login(&base, "ann@example.com").await;
    for (subject, html) in bodies {
        let words = html.split('>').find(|s| s.starts_with("words")).unwrap();
        let words = words.split('<').next().unwrap().to_string();
        let (ticket, message) = deliver(
            &mail,
            subject,
            &format!("Content-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n"),
        )
        .await;
        // Stored as text: what is served is that text, not 200,000 tags.
        let served = mail
            .app()
            .message_html(&system, message, false, None, |i| format!("/a/{i}"))
            .await
            .unwrap();
        assert!(served.html.contains(&words), "{subject}");
        assert!(
            served.html.len() < 1_000,
            "{subject}: {}",
            served.html.len()
        );
        let meta = mail
            .app()
            .message_mail_meta(&system, message)
            .await
            .unwrap()
            .unwrap();
        assert!(
            meta.notices
                .iter()
                .any(|n| n.contains("formatted (HTML) version")),
            "{subject}: {:?}",
            meta.notices
        );
        let page = ann.get(&format!("/helpdesk/tickets/{ticket}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains(&words), "{subject}");
        assert!(!page.body.contains(&format!("msg-frame-{message}")));
        assert!(page.body.contains("formatted (HTML) version"), "{subject}");
    }
}

/// Finding 5 of the hardening issue: relative, `..` and same-origin URLs never reach the
/// frame, while the message's own `cid:` image still resolves to its attachment.
async fn frame_html_references_only_its_own_message(t: TestApp) {
    let system = Actor::system();
    t.team("Support").await;
    t.app
        .connect_email(&system, SUPPORT, "Support", Workspace::HelpDesk, false)
        .await
        .unwrap();
    let mail = MailService::new(t.app.clone(), MailSettings::default());
    t.agent("ann@example.com", TicketAccessLevel::Team, &["Support"])
        .await;
    let html = r#"<p>Logo <img src="cid:logo@customer.example"></p><img src="/mail/messages/1/attachments/../../../../notifications"><img src="/mail/messages/1/attachments/%2e%2e/%2e%2e/%2e%2e/ui/events"><img src="../../../notifications"><img src="/notifications"><img src="https:/notifications"><a href="/notifications">n</a><a href="../ui/events">e</a><a href="https://customer.example/ok">ok</a>"#;
    let content = format!(
        "Content-Type: multipart/related; boundary=\"R\"\r\n\r\n--R\r\n\
         Content-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n--R\r\n\
         Content-Type: image/png\r\nContent-ID: <logo@customer.example>\r\n\
         Content-Disposition: inline; filename=\"logo.png\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--R--\r\n"
    );
    let (_, message) = deliver(&mail, "Climbing paths", &content).await;
    let base = serve(&t).await;
    let ann = Browser::login(&base, "ann@example.com").await;
    for path in [
        format!("/mail/messages/{message}/html"),
        format!("/mail/messages/{message}/html?remote=1"),
    ] {
        let frame = ann.get(&path).await;
        assert_eq!(frame.status, StatusCode::OK, "{}", frame.body);
        let body = &frame.body;
        assert!(!body.contains("notifications"), "{body}");
        assert!(!body.contains("ui/events"), "{body}");
        assert!(!body.contains(".."), "{body}");
        assert!(!body.contains("%2e"), "{body}");
        assert!(
            body.contains(&format!(
                "<img src=\"/mail/messages/{message}/attachments/0\">"
            )),
            "{body}"
        );
        assert!(
            body.contains("href=\"https://customer.example/ok\""),
            "{body}"
        );
    }
}

/// Inbound attachments in the thread (issue "The agent's workspace", item 2): each is a link
/// to the attachment route with its size; a PDF downloads (`attachment`, served as
/// `application/pdf`), a PNG previews inline; the links lead to this message's own
/// attachments, in the order the message has them.
async fn attachments_are_links_and_images_preview(t: TestApp) {
    let system = Actor::system();
    t.team("Support").await;
    t.app
        .connect_email(&system, SUPPORT, "Support", Workspace::HelpDesk, false)
        .await
        .unwrap();
    let mail = MailService::new(t.app.clone(), MailSettings::default());
    t.agent("ann@example.com", TicketAccessLevel::Team, &["Support"])
        .await;
    // A 1×1 PNG and a small PDF, base64 as a mail client sends them.
    const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
    const PDF: &str = "JVBERi0xLjQKJcOkw7zDtsOfCjEgMCBvYmoKPDwvVHlwZS9DYXRhbG9nPj4KZW5kb2JqCnRyYWlsZXIKPDwvUm9vdCAxIDAgUj4+CiUlRU9GCg==";
    let (ticket, message) = deliver(
        &mail,
        "Broken invoice",
        &format!(
            "Content-Type: multipart/mixed; boundary=\"M\"\r\n\r\n--M\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\nSee the invoice and the screenshot.\r\n--M\r\n\
             Content-Type: application/pdf; name=\"invoice 42.pdf\"\r\n\
             Content-Disposition: attachment; filename=\"invoice 42.pdf\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{PDF}\r\n--M\r\n\
             Content-Type: image/png; name=\"screen.png\"\r\n\
             Content-Disposition: attachment; filename=\"screen.png\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{PNG}\r\n--M--\r\n"
        ),
    )
    .await;
    let base = serve(&t).await;
    let ann = Browser::login(&base, "ann@example.com").await;
    let page = ann.get(&format!("/helpdesk/tickets/{ticket}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let pdf_href = format!("/mail/messages/{message}/attachments/0");
    let png_href = format!("/mail/messages/{message}/attachments/1");
    assert!(
        page.body.contains(&format!(
            "<a href=\"{pdf_href}\" download>invoice 42.pdf</a>"
        )),
        "the PDF is a download link: {}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!("<a href=\"{png_href}\">screen.png</a>")),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!("<img src=\"{png_href}\" alt=\"screen.png\"")),
        "the image previews inline"
    );
    assert!(
        !page.body.contains(&format!("<img src=\"{pdf_href}\"")),
        "no preview of a PDF"
    );
    assert!(page.body.contains("bytes</span>"), "sizes are shown");

    let pdf = ann.get(&pdf_href).await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert_eq!(pdf.headers.get("content-type").unwrap(), "application/pdf");
    let disposition = pdf
        .headers
        .get("content-disposition")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.starts_with("attachment;") && disposition.contains("invoice 42.pdf"),
        "{disposition}"
    );
    assert!(pdf.body.starts_with("%PDF-1.4"), "the stored bytes");
    let png = ann.get(&png_href).await;
    assert_eq!(png.status, StatusCode::OK);
    assert_eq!(png.headers.get("content-type").unwrap(), "image/png");
    assert!(
        png.headers
            .get("content-disposition")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("inline;")
    );
}

fd_testkit::on_both_backends! {
    ui_mail_html_framed_remote_images_on_request => customer_html_is_framed_and_remote_images_wait;
    ui_mail_hostile_html_flattened_finding_1 => hostile_html_is_flattened_at_ingestion;
    ui_mail_frame_only_own_message_finding_5 => frame_html_references_only_its_own_message;
    ui_mail_attachments_link_and_preview => attachments_are_links_and_images_preview;
}
