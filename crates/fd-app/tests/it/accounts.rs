//! Account security (issue 13, item 9): a password set by someone else must be changed, an
//! administrator cannot lock the account out of administration (ACCOUNTS-ADMIN), the session
//! list and signing out, and TOTP two-factor sign-in (RFC 6238) with its recovery codes,
//! replay refusal and throttle. Time is the manual clock; nothing sleeps.

use std::net::IpAddr;

use fd_app::domain::*;
use fd_app::{
    Actor, SecondFactorAttempt, SignInAttempt, SignInOutcome, SignedIn, Throttle, TotpStatus,
};
use fd_testkit::TestApp;

use crate::common::{assert_invalid, assert_rule};

const PASSWORD: &str = "correct horse battery";
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0";
const SAFARI: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1";

async fn sign_in_as(t: &TestApp, email: &str, password: &str, ua: &str, ip: &str) -> SignInOutcome {
    let client: IpAddr = ip.parse().unwrap();
    t.app
        .sign_in(SignInAttempt {
            email,
            password,
            client: Some(client),
            device: None,
            user_agent: Some(ua),
        })
        .await
        .unwrap()
}

async fn signed_in(t: &TestApp, email: &str, password: &str, ua: &str, ip: &str) -> SignedIn {
    match sign_in_as(t, email, password, ua, ip).await {
        SignInOutcome::SignedIn(s) => s,
        other => panic!("sign-in of {email} failed: {other:?}"),
    }
}

async fn challenge(t: &TestApp, email: &str, ip: &str) -> String {
    match sign_in_as(t, email, PASSWORD, FIREFOX, ip).await {
        SignInOutcome::SecondFactor { challenge, .. } => challenge,
        other => panic!("expected a second-factor challenge, got {other:?}"),
    }
}

async fn second(t: &TestApp, challenge: &str, code: &str, ip: &str) -> SignInOutcome {
    t.app
        .sign_in_second_factor(SecondFactorAttempt {
            challenge,
            code,
            client: Some(ip.parse().unwrap()),
            user_agent: Some(FIREFOX),
        })
        .await
        .unwrap()
}

fn now_code(t: &TestApp, secret: &str) -> String {
    use fd_app::Clock;
    let step = t.clock.now_ms().div_euclid(30_000);
    fd_app::totp_code(secret, step).unwrap()
}

/// Enrols `actor` in two-factor sign-in; returns the secret and the recovery codes.
async fn enrol(t: &TestApp, actor: &Actor) -> (String, Vec<String>) {
    let e = t.app.start_totp_enrolment(actor).await.unwrap();
    assert!(e.uri.starts_with("otpauth://totp/Frontdesk:"));
    assert!(e.uri.contains(&format!("secret={}", e.secret)));
    // A wrong code does not turn it on.
    let wrong = if now_code(t, &e.secret) == "000000" {
        "111111"
    } else {
        "000000"
    };
    assert_invalid(t.app.confirm_totp(actor, wrong).await, "code");
    assert!(matches!(
        t.app.totp_status(actor).await.unwrap(),
        TotpStatus::Pending(_)
    ));
    let codes = t
        .app
        .confirm_totp(actor, &now_code(t, &e.secret))
        .await
        .unwrap();
    assert_eq!(codes.len(), fd_app::RECOVERY_CODES);
    (e.secret, codes)
}

/// A reset password, and the first-start one, must be changed before the web UI does
/// anything else; the user's API tokens are not affected.
async fn accounts_forced_password_change(t: TestApp) {
    let (_, admin) = t.admin("boss@example.com").await;
    let (ann, ann_actor) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let token = t
        .app
        .create_api_token(&admin, "ann@example.com", None)
        .await
        .unwrap();
    // Her own change does not force anything.
    let s = signed_in(&t, "ann@example.com", PASSWORD, FIREFOX, "192.0.2.1").await;
    let active = t.app.session(&s.token).await.unwrap().unwrap();
    assert!(!active.must_change_password);
    // An administrator's reset does.
    t.app
        .set_user_password(&admin, ann.id, "given by boss 1".into())
        .await
        .unwrap();
    let s = signed_in(
        &t,
        "ann@example.com",
        "given by boss 1",
        FIREFOX,
        "192.0.2.1",
    )
    .await;
    assert!(
        t.app
            .session(&s.token)
            .await
            .unwrap()
            .unwrap()
            .must_change_password
    );
    assert!(t.app.actor_for_token(&token.token).await.is_ok());
    // The given password cannot simply be kept…
    assert_invalid(
        t.app
            .change_own_password(
                &ann_actor,
                &s.token,
                "given by boss 1",
                "given by boss 1".into(),
            )
            .await,
        "password",
    );
    // …a new one lifts the requirement, and this session stays.
    t.app
        .change_own_password(
            &ann_actor,
            &s.token,
            "given by boss 1",
            "ann's own 2".into(),
        )
        .await
        .unwrap();
    assert!(
        !t.app
            .session(&s.token)
            .await
            .unwrap()
            .unwrap()
            .must_change_password
    );
    // The first start's administrator is asked the same.
    let (first, _) = t.admin("admin@localhost").await;
    t.app
        .require_password_change(&Actor::system(), first.id)
        .await
        .unwrap();
    let s = signed_in(&t, "admin@localhost", PASSWORD, FIREFOX, "192.0.2.1").await;
    assert!(
        t.app
            .session(&s.token)
            .await
            .unwrap()
            .unwrap()
            .must_change_password
    );
}

/// ACCOUNTS-ADMIN: no one deactivates their own account, and the last active administrator
/// can neither be deactivated nor lose the permission — by another admin or the CLI.
async fn accounts_admin_cannot_remove_themself_or_the_last_admin(t: TestApp) {
    let (boss, boss_actor) = t.admin("boss@example.com").await;
    let (ann, _) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    assert_rule(
        t.app.set_user_active(&boss_actor, boss.id, false).await,
        "ACCOUNTS-ADMIN",
    );
    assert_rule(
        t.app
            .set_user_active(&Actor::system(), boss.id, false)
            .await,
        "ACCOUNTS-ADMIN",
    );
    assert_rule(
        t.app
            .update_user_access(
                &Actor::system(),
                boss.id,
                Role::Agent,
                false,
                true,
                false,
                Seat::Service,
                TicketAccessLevel::All,
            )
            .await,
        "ACCOUNTS-ADMIN",
    );
    assert!(
        t.app
            .user_by_email("boss@example.com")
            .await
            .unwrap()
            .unwrap()
            .active
    );
    // Agents can be deactivated; with a second administrator, the first can go.
    t.app
        .set_user_active(&boss_actor, ann.id, false)
        .await
        .unwrap();
    let (_, eve_actor) = t.admin("eve@example.com").await;
    t.app
        .set_user_active(&eve_actor, boss.id, false)
        .await
        .unwrap();
    // Now Eve is the last one.
    let eve = t
        .app
        .user_by_email("eve@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_rule(
        t.app.set_user_active(&Actor::system(), eve.id, false).await,
        "ACCOUNTS-ADMIN",
    );
}

/// The profile's session list: browser, address, times, this browser marked; one session
/// ends alone, then "everywhere else" leaves only this one.
async fn accounts_sessions_list_and_sign_out_everywhere_else(t: TestApp) {
    let (_, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let here = signed_in(&t, "ann@example.com", PASSWORD, FIREFOX, "192.0.2.10").await;
    t.clock.advance_ms(60_000);
    let phone = signed_in(&t, "ann@example.com", PASSWORD, SAFARI, "2001:db8::5").await;
    t.clock.advance_ms(60_000);
    let third = signed_in(&t, "ann@example.com", PASSWORD, FIREFOX, "198.51.100.3").await;
    let list = t.app.sessions_of(&ann, &here.token).await.unwrap();
    assert_eq!(list.len(), 3);
    let mine = list.iter().find(|s| s.current).unwrap();
    assert_eq!(mine.device, "Firefox on Linux");
    assert_eq!(mine.client_addr, "192.0.2.10");
    assert!(mine.created_at < mine.last_seen_at + 1);
    let p = list
        .iter()
        .find(|s| s.client_addr == "2001:db8::5")
        .unwrap();
    assert_eq!(p.device, "Safari on iOS");
    assert!(!p.current);
    // Sign out the phone alone.
    t.app.sign_out_session(&ann, &p.id).await.unwrap();
    assert!(t.app.session(&phone.token).await.unwrap().is_none());
    assert!(t.app.session(&third.token).await.unwrap().is_some());
    // Someone else's session id is not Ann's to end.
    let (_, bob) = t
        .agent("bob@example.com", TicketAccessLevel::All, &[])
        .await;
    let mine_id = mine.id.clone();
    assert!(t.app.sign_out_session(&bob, &mine_id).await.is_err());
    assert!(t.app.sign_out_session(&ann, "not-an-id").await.is_err());
    // Everywhere else.
    assert_eq!(
        t.app
            .sign_out_other_sessions(&ann, &here.token)
            .await
            .unwrap(),
        1
    );
    assert!(t.app.session(&third.token).await.unwrap().is_none());
    assert!(t.app.session(&here.token).await.unwrap().is_some());
    let list = t.app.sessions_of(&ann, &here.token).await.unwrap();
    assert_eq!(list.len(), 1);
    assert!(list[0].current);
}

/// TOTP: enrolment is confirmed by a code; sign-in then needs a code after the password and
/// opens no session before it; a used code cannot be replayed; a recovery code works once;
/// an administrator's reset turns it off.
async fn accounts_totp_enrol_verify_replay_and_recovery(t: TestApp) {
    let (_, admin) = t.admin("boss@example.com").await;
    let (ann, ann_actor) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (secret, recovery) = enrol(&t, &ann_actor).await;
    assert!(matches!(
        t.app.totp_status(&ann_actor).await.unwrap(),
        TotpStatus::On {
            recovery_codes_left: 10
        }
    ));
    let ip = "192.0.2.20";
    let c = challenge(&t, "ann@example.com", ip).await;
    // No session exists before the code.
    assert!(t.app.sessions_of(&ann_actor, "").await.unwrap().is_empty());
    // The code confirmed at enrolment is of this step: replaying it is refused.
    let used = now_code(&t, &secret);
    assert!(matches!(
        second(&t, &c, &used, ip).await,
        SignInOutcome::WrongCode
    ));
    // The next step's code is accepted (one step of drift), once.
    t.clock.advance_ms(30_000);
    let code = now_code(&t, &secret);
    let SignInOutcome::SignedIn(s) = second(&t, &c, &code, ip).await else {
        panic!("the current code was refused")
    };
    assert_eq!(s.user.id, ann.id);
    assert!(t.app.session(&s.token).await.unwrap().is_some());
    // The challenge is used up; a new one with the same code is a replay.
    assert!(matches!(
        second(&t, &c, &code, ip).await,
        SignInOutcome::ChallengeExpired
    ));
    let c2 = challenge(&t, "ann@example.com", ip).await;
    assert!(matches!(
        second(&t, &c2, &code, ip).await,
        SignInOutcome::WrongCode
    ));
    // A recovery code signs in once (typed in capitals, without its dash).
    let rc = recovery[3].replace('-', "").to_uppercase();
    assert!(matches!(
        second(&t, &c2, &rc, ip).await,
        SignInOutcome::SignedIn(_)
    ));
    let c3 = challenge(&t, "ann@example.com", ip).await;
    assert!(matches!(
        second(&t, &c3, &rc, ip).await,
        SignInOutcome::WrongCode
    ));
    assert!(matches!(
        t.app.totp_status(&ann_actor).await.unwrap(),
        TotpStatus::On {
            recovery_codes_left: 9
        }
    ));
    // A challenge expires.
    t.clock.advance_ms(fd_app::CHALLENGE_TTL_MS + 1);
    let code = now_code(&t, &secret);
    assert!(matches!(
        second(&t, &c3, &code, ip).await,
        SignInOutcome::ChallengeExpired
    ));
    // An agent cannot reset someone's second factor; an administrator can.
    assert!(t.app.reset_user_totp(&ann_actor, ann.id).await.is_err());
    t.app.reset_user_totp(&admin, ann.id).await.unwrap();
    assert!(matches!(
        sign_in_as(&t, "ann@example.com", PASSWORD, FIREFOX, ip).await,
        SignInOutcome::SignedIn(_)
    ));
    // Turning it off oneself needs the password.
    let (_, _) = enrol(&t, &ann_actor).await;
    assert_invalid(t.app.disable_own_totp(&ann_actor, "wrong").await, "current");
    t.app.disable_own_totp(&ann_actor, PASSWORD).await.unwrap();
    assert!(matches!(
        t.app.totp_status(&ann_actor).await.unwrap(),
        TotpStatus::Off
    ));
}

/// The code step is throttled like the password step: after the free attempts, wrong codes
/// make the account wait (even the right code waits), and one address is slowed across
/// accounts.
async fn accounts_totp_code_step_is_rate_limited(t: TestApp) {
    let (_, ann_actor) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (secret, _) = enrol(&t, &ann_actor).await;
    t.clock.advance_ms(30_000);
    let ip = "192.0.2.30";
    let c = challenge(&t, "ann@example.com", ip).await;
    let right = now_code(&t, &secret);
    let wrong = if right == "123456" {
        "654321"
    } else {
        "123456"
    };
    for _ in 0..fd_app::FREE_LOGIN_ATTEMPTS {
        assert!(matches!(
            second(&t, &c, wrong, ip).await,
            SignInOutcome::WrongCode
        ));
    }
    let r = second(&t, &c, &right, "198.51.100.30").await;
    let SignInOutcome::Throttled { retry_after_ms, by } = r else {
        panic!("{r:?}")
    };
    assert_eq!(by, Throttle::Account);
    assert!(retry_after_ms > 0);
    t.clock.advance_ms(retry_after_ms);
    let c = challenge(&t, "ann@example.com", "198.51.100.30").await;
    let right = now_code(&t, &secret);
    assert!(matches!(
        second(&t, &c, &right, "198.51.100.30").await,
        SignInOutcome::SignedIn(_)
    ));
    // Per address: wrong codes for several accounts (each below its own limit) run out the
    // address's budget of CLIENT_BURST.
    let spray = "203.0.113.9";
    let mut outcomes = Vec::new();
    for who in ["bob", "cid", "dee"] {
        let email = format!("{who}@example.com");
        let (_, actor) = t.agent(&email, TicketAccessLevel::All, &[]).await;
        enrol(&t, &actor).await;
        let c = challenge(&t, &email, spray).await;
        for _ in 0..fd_app::FREE_LOGIN_ATTEMPTS - 1 {
            outcomes.push(second(&t, &c, "000001", spray).await);
        }
    }
    let wrong = outcomes
        .iter()
        .filter(|o| matches!(o, SignInOutcome::WrongCode))
        .count() as i64;
    assert_eq!(wrong, fd_app::CLIENT_BURST, "{outcomes:?}");
    assert!(matches!(
        outcomes.last(),
        Some(SignInOutcome::Throttled {
            by: Throttle::Client,
            ..
        })
    ));
}

fd_testkit::on_both_backends! {
    accounts_forced_password_change => accounts_forced_password_change;
    accounts_admin_cannot_remove_themself_or_the_last_admin => accounts_admin_cannot_remove_themself_or_the_last_admin;
    accounts_sessions_list_and_sign_out_everywhere_else => accounts_sessions_list_and_sign_out_everywhere_else;
    accounts_totp_enrol_verify_replay_and_recovery => accounts_totp_enrol_verify_replay_and_recovery;
    accounts_totp_code_step_is_rate_limited => accounts_totp_code_step_is_rate_limited;
}
