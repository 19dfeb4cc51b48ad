//! Any bytes as a received message: parsing, classification, reply splitting, subject
//! threading and sanitising — everything ingestion does before it writes — must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let options = fd_mail::ParseOptions {
        max_attachment_bytes: 1 << 20,
        ..fd_mail::ParseOptions::default()
    };
    if let Ok(mail) = fd_mail::parse(data, &options) {
        let split = fd_mail::split::split_reply(&mail.text);
        let _ = split.reply_with_signature();
        let subject = mail.subject.clone().unwrap_or_default();
        let _ = fd_mail::thread::normalize_subject(&subject);
        let _ = fd_mail::thread::tags_in_subject(&subject);
        let _ = fd_mail::thread::reply_subject(&subject);
        let _ = fd_mail::thread::subject_with_tag(&subject, 42);
        if let Some(html) = &mail.html {
            let _ = fd_mail::html::sanitize(html, &fd_mail::html::SanitizeOptions::default());
        }
        if let Some(from) = &mail.from {
            let _ = fd_mail::address::normalize(&from.address);
            let _ = fd_mail::address::split_detail(&from.address);
        }
    }
});
