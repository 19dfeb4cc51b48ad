//! Sign-in, sessions and the refusal of cross-site posts (issue 5, item 1).

use fd_testkit::TestApp;
use reqwest::StatusCode;

use crate::ui_common::*;

async fn sign_in_out_and_slowdown(t: TestApp) {
    agent(&t, "ann@example.com").await;
    let base = serve(&t).await;
    let anon = Browser::anonymous(&base);
    // Pages need a session.
    let p = anon.get("/helpdesk").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.location.as_deref(), Some("/login?next=/helpdesk"));
    let login = anon.get("/login").await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.body.contains("Sign in to Frontdesk"));
    // A wrong password gets a clear page, not a redirect.
    let wrong = anon
        .post_raw(
            "/login",
            &[("email", "ann@example.com"), ("password", "nope")],
            &[],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(
        wrong.body.contains("Wrong email address or password"),
        "{}",
        wrong.body
    );
    assert!(wrong.headers.get("set-cookie").is_none());
    // After the free attempts, sign-in waits — even with the right password.
    for _ in 1..fd_app::FREE_LOGIN_ATTEMPTS {
        anon.post_raw(
            "/login",
            &[("email", "ann@example.com"), ("password", "nope")],
            &[],
        )
        .await;
    }
    let slow = anon
        .post_raw(
            "/login",
            &[("email", "ann@example.com"), ("password", PASSWORD)],
            &[],
        )
        .await;
    assert_eq!(slow.status, StatusCode::TOO_MANY_REQUESTS, "{}", slow.body);
    assert!(slow.body.contains("Too many failed attempts"));
    t.clock
        .advance_ms(fd_app::lock_duration_ms(fd_app::FREE_LOGIN_ATTEMPTS) + 1);
    let b = Browser::login(&base, "ann@example.com").await;
    let list = b.get("/helpdesk").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("All open"));
    assert_eq!(
        list.headers
            .get("content-security-policy")
            .map(|v| v.to_str().unwrap().contains("script-src 'self'")),
        Some(true)
    );
    // Cross-site posts are refused, whatever the cookie says.
    let cross = b
        .post_raw(
            "/helpdesk/new",
            &[("_csrf", b.csrf.as_str()), ("p.subject", "x")],
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    let foreign = b
        .post_raw(
            "/helpdesk/new",
            &[("_csrf", b.csrf.as_str()), ("p.subject", "x")],
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    let no_token = b
        .post_raw(
            "/helpdesk/new",
            &[("p.subject", "x")],
            &[("origin", base.as_str())],
        )
        .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    assert!(no_token.body.contains("security token"));
    let login_cross = anon
        .post_raw(
            "/login",
            &[("email", "ann@example.com"), ("password", PASSWORD)],
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(login_cross.status, StatusCode::FORBIDDEN);
    // Signing out ends the session on the server.
    let out = b.post("/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(b.get("/helpdesk").await.status, StatusCode::SEE_OTHER);
}

fd_testkit::on_both_backends! {
    ui_sign_in_sessions_csrf_and_slowdown => sign_in_out_and_slowdown;
}
