//! Headers as real mail writes them: lenient message ids, daemon mail as bounces (delay
//! warnings temporary), the identity of id-less mail, and — over every message of the shared
//! corpus — no panic in anything of fd-mail that reads subjects or headers.

use fd_mail::parse::message_ids;
use fd_mail::thread::{normalize_subject, reply_subject, subject_with_tag, tags_in_subject};
use fd_mail::{Automation, ParseOptions, parse};

use crate::corpus::corpus_dir;

#[test]
fn message_ids_are_read_leniently() {
    let ids = |v: &str| message_ids(v);
    assert_eq!(ids("<abc@example.com>"), vec!["<abc@example.com>"]);
    // The closing `>` lost (the defect): still the id.
    assert_eq!(ids("<abc@example.com"), vec!["<abc@example.com>"]);
    assert_eq!(ids("  <abc@example.com\r\n"), vec!["<abc@example.com>"]);
    assert_eq!(
        ids("<a@x.example> <b@x.example"),
        vec!["<a@x.example>", "<b@x.example>"]
    );
    assert_eq!(
        ids("<a@x.example\r\n <b@x.example>"),
        vec!["<a@x.example>", "<b@x.example>"]
    );
    // Bare, as the whole value.
    assert_eq!(ids("abc@example.com"), vec!["<abc@example.com>"]);
    // Comments and phrases are not ids; a stray `<` without `@` is not one either.
    assert_eq!(
        ids("<a@x.example> (Bob's message of 1 Jan, from bob@x.example)"),
        vec!["<a@x.example>"]
    );
    assert_eq!(
        ids("your message of Monday from bob@x.example"),
        Vec::<String>::new()
    );
    assert_eq!(ids("< not an id"), Vec::<String>::new());
    assert_eq!(ids(""), Vec::<String>::new());
    // Old clients' ids without `@` stay readable when closed.
    assert_eq!(ids("<12345.local>"), vec!["<12345.local>"]);
    // Multibyte input never panics.
    for v in [
        "<€",
        "<€@€",
        "€<>€",
        "((<a@b>",
        "<a@b>)",
        "<<<<",
        ">>>",
        "<é@ü> <ö",
    ] {
        let _ = ids(v);
    }

    // The returned message's id inside a bounce, read the same way.
    let dsn = "From: MAILER-DAEMON@mx.example\r\nTo: support@help.example\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn@mx.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\nFinal-Recipient: rfc822; bob@customer.example\r\nAction: failed\r\nStatus: 5.1.1\r\n--B\r\nContent-Type: message/rfc822\r\n\r\nFrom: support@help.example\r\nTo: bob@customer.example\r\nSubject: Re: x\r\nMessage-ID: <fd.abc@help.example\r\n\r\nHello\r\n--B--\r\n";
    let Automation::Bounce(info) = parse(dsn.as_bytes(), &ParseOptions::default())
        .unwrap()
        .automation
    else {
        panic!("a DSN is a bounce");
    };
    assert_eq!(
        info.original_message_id.as_deref(),
        Some("<fd.abc@help.example>")
    );

    let raw = "From: Ann <ann@customer.example>\r\nTo: support@help.example\r\nSubject: Hi\r\nMessage-ID: <abc@example.com\r\nIn-Reply-To: <p1@help.example\r\nReferences: <p0@help.example> <p1@help.example\r\n\r\nHello\r\n";
    let mail = parse(raw.as_bytes(), &ParseOptions::default()).unwrap();
    assert_eq!(mail.message_id.as_deref(), Some("<abc@example.com>"));
    assert_eq!(mail.in_reply_to, vec!["<p1@help.example>"]);
    assert_eq!(
        mail.references,
        vec!["<p0@help.example>", "<p1@help.example>"]
    );
    assert!(
        mail.notices.iter().all(|n| !n.contains("no Message-ID")),
        "{:?}",
        mail.notices
    );
}

fn daemon_mail(from: &str, subject: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: support@help.example\r\nSubject: {subject}\r\nDate: Thu, 01 Jan 2026 10:00:00 +0000\r\nMessage-ID: <d1@mx.example>\r\n{extra}\r\n{body}"
    )
    .into_bytes()
}

#[test]
fn mail_from_a_mailer_daemon_is_a_bounce_and_a_delay_warning_is_temporary() {
    // The message that opened a ticket: a plain-text delay warning, no report part, no
    // wording of a failure.
    let raw = daemon_mail(
        "Mail Delivery System <MAILER-DAEMON@mx.customer.example>",
        "Warning: message has not yet been delivered",
        "",
        "This message was created automatically by mail delivery software.\r\n\r\nA message that you sent has not yet reached one or more of its recipients after\r\nmore than 24 hours on the queue on mx.customer.example.\r\n\r\nThe message identifier is:     1abcde-000123-AB\r\n\r\nNo action is required on your part. Delivery attempts will continue for\r\nsome time.\r\n",
    );
    let mail = parse(&raw, &ParseOptions::default()).unwrap();
    let Automation::Bounce(info) = &mail.automation else {
        panic!("not a bounce: {:?}", mail.automation);
    };
    assert!(!info.permanent, "a delay is temporary: {info:?}");
    assert!(!mail.automation.opens_ticket());

    // A status code decides when there is one.
    let raw = daemon_mail(
        "postmaster@mx.customer.example",
        "Delivery report",
        "",
        "Your mail to bob@customer.example: 550 5.1.1 mailbox does not exist\r\n",
    );
    let mail = parse(&raw, &ParseOptions::default()).unwrap();
    let Automation::Bounce(info) = &mail.automation else {
        panic!("not a bounce: {:?}", mail.automation);
    };
    assert!(info.permanent);
    assert_eq!(info.status.as_deref(), Some("5.1.1"));

    // Any wording at all from MAILER-DAEMON is a bounce…
    let raw = daemon_mail(
        "MAILER-DAEMON@mx.example",
        "Hmm",
        "",
        "Something happened.\r\n",
    );
    assert!(matches!(
        parse(&raw, &ParseOptions::default()).unwrap().automation,
        Automation::Bounce(_)
    ));
    // …unless it plainly is not: a person writing from the postmaster address says so
    // (RFC 3834 §5 `Auto-Submitted: no`).
    let raw = daemon_mail(
        "Postmaster <postmaster@customer.example>",
        "Question about your SPF record",
        "Auto-Submitted: no\r\n",
        "Hi, your SPF record looks wrong to us.\r\n",
    );
    assert_eq!(
        parse(&raw, &ParseOptions::default()).unwrap().automation,
        Automation::Human
    );
    // A person's mail that mentions delivery is still a person's mail.
    let raw = daemon_mail(
        "Ann <ann@customer.example>",
        "Warning: message has not yet been delivered?",
        "",
        "Your system told me my message has not yet been delivered. Is that so?\r\n",
    );
    assert_eq!(
        parse(&raw, &ParseOptions::default()).unwrap().automation,
        Automation::Human
    );
}

#[test]
fn identity_leaves_out_what_delivery_added() {
    let sent = "From: Ann <ann@customer.example>\r\nTo: support@help.example\r\nSubject: No id\r\nDate: Thu, 01 Jan 2026 10:00:00 +0000\r\n\r\nHello\r\n";
    let first = format!(
        "Return-Path: <ann@customer.example>\r\nDelivered-To: support@help.example\r\nReceived: from mx1.customer.example by mx.help.example; Thu, 01 Jan 2026 10:00:05 +0000\r\n{sent}"
    );
    let second = format!(
        "Return-Path: <ann@customer.example>\r\nX-Original-To: support@help.example\r\nReceived: from mx2.customer.example by mx.help.example; Thu, 01 Jan 2026 11:30:00 +0000\r\nReceived: from laptop by mx2.customer.example; Thu, 01 Jan 2026 10:00:01 +0000\r\nAuthentication-Results: mx.help.example; spf=pass\r\n{sent}"
    );
    assert_eq!(
        fd_mail::identity::content_key(first.as_bytes()),
        fd_mail::identity::content_key(second.as_bytes())
    );
    let edited = sent.replace("Hello", "Hello again");
    assert_ne!(
        fd_mail::identity::content_key(sent.as_bytes()),
        fd_mail::identity::content_key(edited.as_bytes())
    );
}

/// Every file of the corpus (MIME messages and replies), and each returned message inside
/// them, through everything of fd-mail that reads subjects or headers: parsing (with
/// classification), the identity, the id lists and address readings of every raw header
/// value, subject normalisation, tags, reply subjects, reply splitting. A panic fails the
/// test.
#[test]
fn no_panic_on_any_corpus_subject_or_header() {
    let Some(root) = corpus_dir() else {
        eprintln!("corpus not found: skipped");
        return;
    };
    let mut files = Vec::new();
    for sub in ["mime", "replies"] {
        collect(&root.join(sub), &mut files);
    }
    assert!(files.len() > 400, "{} files", files.len());
    let mut subjects = 0;
    for f in &files {
        let raw = std::fs::read(f).unwrap();
        let mut queue = vec![raw];
        while let Some(raw) = queue.pop() {
            let _ = fd_mail::identity::content_key(&raw);
            if let Some(m) = mail_parser::MessageParser::default().parse_headers(&raw) {
                for (_, value) in m.headers_raw() {
                    let _ = message_ids(value);
                    exercise_subject(value);
                    let _ = fd_mail::address::normalize(value);
                    let _ = fd_mail::address::is_machine_sender(value);
                    let _ = fd_mail::address::split_detail(value);
                }
            }
            let Ok(mail) = parse(&raw, &ParseOptions::default()) else {
                continue;
            };
            if let Some(s) = &mail.subject {
                subjects += 1;
                exercise_subject(s);
            }
            let _ = mail.referenced_ids();
            let _ = fd_mail::split::split_reply(&mail.text);
            for a in &mail.attachments {
                if a.content_type == "message/rfc822" && queue.len() < 8 {
                    queue.push(a.data.clone());
                }
            }
        }
    }
    assert!(subjects > 300, "{subjects} subjects");
}

fn exercise_subject(s: &str) {
    let _ = normalize_subject(s);
    let _ = tags_in_subject(s);
    let _ = reply_subject(s);
    let _ = subject_with_tag(s, 42);
    // Every cut of the subject, too: truncation in transit ends anywhere.
    for (i, _) in s.char_indices().skip(1).take(64) {
        let (head, tail) = s.split_at(i);
        let _ = normalize_subject(head);
        let _ = normalize_subject(tail);
        let _ = reply_subject(tail);
    }
}

fn collect(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else if p
            .extension()
            .is_some_and(|x| x != "tsv" && x != "json" && x != "md")
        {
            out.push(p);
        }
    }
}
