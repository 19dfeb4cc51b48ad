//! Any byte stream from an SMTP client, cut into chunks where the input says: the session
//! must never panic, every reply must be one or more CRLF-terminated lines with a 3-digit
//! code, and a delivered message never exceeds the size limit (beyond it only the header
//! section is kept).
#![no_main]

use fd_mail::smtp::{Action, Session, SessionConfig};
use fd_mail::{DeliveryError, RecipientVerdict};
use libfuzzer_sys::fuzz_target;

const MAX: usize = 4096;

fn check_reply(r: &str) {
    assert!(r.ends_with("\r\n"), "reply without CRLF: {r:?}");
    for line in r.trim_end_matches("\r\n").split("\r\n") {
        let code = line.get(..3).unwrap_or("");
        assert!(
            code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()),
            "reply line without a code: {line:?}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let mut session = Session::new(SessionConfig {
        max_message_size: MAX,
        tls_available: true,
        ..SessionConfig::default()
    });
    check_reply(&session.greeting());
    // The first byte picks chunk sizes, so the fuzzer explores lines split across reads.
    let (step, mut rest) = match data.split_first() {
        Some((s, r)) => (usize::from(*s % 64) + 1, r),
        None => return,
    };
    let mut turn = 0usize;
    while !rest.is_empty() && !session.is_closed() {
        let n = step.min(rest.len());
        session.feed(&rest[..n]);
        rest = &rest[n..];
        let mut actions = 0;
        while let Some(action) = session.poll() {
            actions += 1;
            assert!(actions < 100_000, "the session loops");
            turn += 1;
            let follow = match action {
                Action::Reply(r) => {
                    check_reply(&r);
                    None
                }
                Action::CheckRecipient(_) => Some(session.recipient_verdict(match turn % 3 {
                    0 => RecipientVerdict::Accept,
                    1 => RecipientVerdict::Unknown,
                    _ => RecipientVerdict::TempFail("busy".into()),
                })),
                Action::Deliver(envelope) => {
                    if envelope.too_large.is_none() {
                        assert!(envelope.data.len() <= MAX, "{} bytes kept", envelope.data.len());
                    }
                    Some(session.delivered(match turn % 3 {
                        0 => Ok(()),
                        1 => Err(DeliveryError::Temporary("later".into())),
                        _ => Err(DeliveryError::Permanent("no".into())),
                    }))
                }
                Action::StartTls => {
                    session.tls_established();
                    None
                }
            };
            if let Some(Action::Reply(r)) = follow {
                check_reply(&r);
            }
        }
    }
});
