//! Sign-in throttles, sessions ended by password changes, token revocation seen by another
//! process at once, and CPU work off the runtime (issue 11, finding 7). Time is the manual
//! clock; nothing sleeps.

use std::net::IpAddr;
use std::sync::Arc;

use fd_app::domain::*;
use fd_app::{Actor, App, ManualClock, SignInAttempt, SignInOutcome, Throttle};
use fd_store::Db;
use fd_testkit::TestApp;

const PASSWORD: &str = "correct horse battery";

fn attempt<'a>(
    email: &'a str,
    password: &'a str,
    client: Option<IpAddr>,
    device: Option<&'a str>,
) -> SignInAttempt<'a> {
    SignInAttempt {
        email,
        password,
        client,
        device,
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"),
    }
}

async fn agent(t: &TestApp, email: &str) -> (fd_store::User, Actor) {
    t.agent(email, TicketAccessLevel::All, &[]).await
}

/// Finding 7: password spraying from one client is slowed across accounts; another client,
/// and the same client's known browser, are not held back; the budget refills with time.
async fn per_client_budget_across_accounts(t: TestApp) {
    agent(&t, "ann@example.com").await;
    let ip: IpAddr = "203.0.113.7".parse().unwrap();
    let other: IpAddr = "198.51.100.1".parse().unwrap();
    let SignInOutcome::SignedIn(s) = t
        .app
        .sign_in(attempt("ann@example.com", PASSWORD, Some(ip), None))
        .await
        .unwrap()
    else {
        panic!("sign-in failed")
    };
    let device = s.device_token;
    for i in 0..fd_app::CLIENT_BURST {
        let r = t
            .app
            .sign_in(attempt(
                &format!("u{i}@example.com"),
                "guess",
                Some(ip),
                None,
            ))
            .await
            .unwrap();
        assert!(matches!(r, SignInOutcome::WrongCredentials), "{r:?}");
    }
    let r = t
        .app
        .sign_in(attempt("u99@example.com", "guess", Some(ip), None))
        .await
        .unwrap();
    let SignInOutcome::Throttled { retry_after_ms, by } = r else {
        panic!("{r:?}")
    };
    assert_eq!(by, Throttle::Client);
    assert!(retry_after_ms > 0 && retry_after_ms <= fd_app::CLIENT_REFILL_MS);
    // The right password from an unknown browser at that address waits too…
    let r = t
        .app
        .sign_in(attempt("ann@example.com", PASSWORD, Some(ip), None))
        .await
        .unwrap();
    assert!(matches!(r, SignInOutcome::Throttled { .. }), "{r:?}");
    // …but Ann's known browser there, and anyone elsewhere, get in.
    let r = t
        .app
        .sign_in(attempt(
            "ann@example.com",
            PASSWORD,
            Some(ip),
            Some(&device),
        ))
        .await
        .unwrap();
    assert!(matches!(r, SignInOutcome::SignedIn(_)), "{r:?}");
    let r = t
        .app
        .sign_in(attempt("u1@example.com", "guess", Some(other), None))
        .await
        .unwrap();
    assert!(matches!(r, SignInOutcome::WrongCredentials), "{r:?}");
    // One IPv6 client is its /64.
    let v6 = |s: &str| -> Option<IpAddr> { Some(s.parse().unwrap()) };
    for i in 0..fd_app::CLIENT_BURST {
        let addr = format!("2001:db8:1:2::{:x}", i + 1);
        t.app
            .sign_in(attempt(
                &format!("v{i}@example.com"),
                "guess",
                v6(&addr),
                None,
            ))
            .await
            .unwrap();
    }
    let r = t
        .app
        .sign_in(attempt(
            "y@example.com",
            "guess",
            v6("2001:db8:1:2::ffff"),
            None,
        ))
        .await
        .unwrap();
    assert!(
        matches!(
            r,
            SignInOutcome::Throttled {
                by: Throttle::Client,
                ..
            }
        ),
        "{r:?}"
    );
    t.clock
        .advance_ms(retry_after_ms + fd_app::CLIENT_REFILL_MS);
    let r = t
        .app
        .sign_in(attempt("u99@example.com", "guess", Some(ip), None))
        .await
        .unwrap();
    assert!(matches!(r, SignInOutcome::WrongCredentials), "{r:?}");
}

/// Finding 7: a password reset or change ends the user's other sessions; deactivation ends
/// them all, for good.
async fn password_changes_end_sessions(t: TestApp) {
    let (admin, admin_actor) = t.admin("boss@example.com").await;
    let (ann, ann_actor) = agent(&t, "ann@example.com").await;
    let sign_in = |password: &'static str| {
        let app = t.app.clone();
        async move {
            match app
                .sign_in(attempt("ann@example.com", password, None, None))
                .await
                .unwrap()
            {
                SignInOutcome::SignedIn(s) => s.token,
                other => panic!("{other:?}"),
            }
        }
    };
    let a = sign_in(PASSWORD).await;
    let b = sign_in(PASSWORD).await;
    t.app
        .set_user_password(&admin_actor, ann.id, "reset secret 1".into())
        .await
        .unwrap();
    assert!(t.app.session(&a).await.unwrap().is_none());
    assert!(t.app.session(&b).await.unwrap().is_none());
    let a = sign_in("reset secret 1").await;
    let b = sign_in("reset secret 1").await;
    let wrong = t
        .app
        .change_own_password(&ann_actor, &a, "not it", "own secret 2".into())
        .await;
    assert!(
        matches!(wrong, Err(fd_app::AppError::Domain(_))),
        "{wrong:?}"
    );
    assert!(t.app.session(&b).await.unwrap().is_some());
    t.app
        .change_own_password(&ann_actor, &a, "reset secret 1", "own secret 2".into())
        .await
        .unwrap();
    assert!(t.app.session(&a).await.unwrap().is_some());
    assert!(t.app.session(&b).await.unwrap().is_none());
    t.app
        .set_user_active(&admin_actor, ann.id, false)
        .await
        .unwrap();
    t.app
        .set_user_active(&admin_actor, ann.id, true)
        .await
        .unwrap();
    assert!(t.app.session(&a).await.unwrap().is_none());
    let _ = admin;
}

/// Finding 7: a token revoked by another process on the same database (the admin CLI) is
/// refused by this one on its very next use, although this one had cached it.
async fn revocation_by_another_process_is_immediate(t: TestApp) {
    t.agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let token = t
        .app
        .create_api_token(&Actor::system(), "ann@example.com", Some("ci"))
        .await
        .unwrap();
    for _ in 0..3 {
        t.app.actor_for_token(&token.token).await.unwrap();
    }
    let cli = App::new(
        Db::connect(&t.url).await.unwrap(),
        Arc::new(ManualClock::new(fd_testkit::START_MS)),
    );
    cli.revoke_api_token(&Actor::system(), token.id)
        .await
        .unwrap();
    let r = t.app.actor_for_token(&token.token).await;
    assert!(matches!(r, Err(fd_app::AppError::Unauthenticated)), "{r:?}");
}

fd_testkit::on_both_backends! {
    sign_in_per_client_budget_across_accounts => per_client_budget_across_accounts;
    sign_in_password_changes_end_sessions => password_changes_end_sessions;
    sign_in_token_revocation_by_another_process_is_immediate => revocation_by_another_process_is_immediate;
}

/// Password hashing goes through `run_cpu`: on another thread than the runtime's (this
/// test's runtime has a single thread), with its value returned.
#[tokio::test]
async fn cpu_work_runs_off_the_runtime_and_returns_its_value() {
    let here = std::thread::current().id();
    let there = fd_app::run_cpu(|| std::thread::current().id())
        .await
        .unwrap();
    assert_ne!(here, there);
    let many: Vec<_> = (0..16)
        .map(|i| tokio::spawn(fd_app::run_cpu(move || i * 2)))
        .collect();
    let mut sum = 0;
    for h in many {
        sum += h.await.unwrap().unwrap();
    }
    assert_eq!(sum, (0..16).map(|i| i * 2).sum::<i32>());
}
