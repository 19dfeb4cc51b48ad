//! Any text as customer HTML: sanitising must never panic, and neither the stored form nor
//! the form shown from it may hold a script element.
#![no_main]

use fd_mail::html::{RemoteContent, SanitizeOptions, sanitize};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(html) = std::str::from_utf8(data) else {
        return;
    };
    let stored = sanitize(
        html,
        &SanitizeOptions {
            remote: RemoteContent::Allow,
            keep_cid: true,
            ..SanitizeOptions::default()
        },
    );
    let shown = sanitize(&stored.html, &SanitizeOptions::default());
    // Text that looks like a tag is escaped (`&lt;script`), so this can only be an element.
    let lower = shown.html.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "script survived: {}", shown.html);
});
