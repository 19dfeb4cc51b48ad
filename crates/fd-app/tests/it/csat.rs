//! CSAT (issue 16, item 7) on both backends: off by default; a close by any road queues one
//! survey email whose links carry a token; a click records the rating on the ticket (survey,
//! read-only properties, history), a comment and a change of mind are kept, re-closing sends
//! nothing more, expired and unknown links say so, and the report counts obey HD-09.

use fd_app::domain::*;
use fd_app::{CSAT_LINK_DAYS, CsatOutcome};
use fd_testkit::TestApp;

use crate::common::*;

fd_testkit::on_both_backends! {
    csat_is_off_by_default_and_closing_queues_nothing => off_by_default;
    csat_closing_queues_one_survey_with_rating_links => queued_once;
    csat_a_click_records_the_rating_on_the_ticket_with_comment_and_change_of_mind => rating;
    csat_expired_and_unknown_links_are_told_apart => expired;
    csat_settings_are_for_admins_and_checked => settings;
}

const DAY: i64 = 86_400_000;

async fn enable(t: &TestApp) {
    let (_, admin) = t.admin("csat-admin@example.com").await;
    t.app
        .set_csat_settings(&admin, true, "How did we do?", "Please rate us.")
        .await
        .unwrap();
}

fn token_of(text: &str) -> String {
    let i = text.find("/csat/").unwrap() + "/csat/".len();
    text[i..].split('/').next().unwrap().to_string()
}

async fn off_by_default(t: TestApp) {
    let (_, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (_, tk, _) = conversation_with_ticket(&t, "cust@example.com").await;
    let jobs = t.app.pending_jobs().await.unwrap();
    move_to_stage(&t, &ann, tk.id, STAGE_CLOSED).await;
    assert_eq!(t.app.pending_jobs().await.unwrap(), jobs);
    assert!(t.app.issue_csat_email(tk.id).await.unwrap().is_none());
}

async fn queued_once(t: TestApp) {
    enable(&t).await;
    let (_, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (_, tk, _) = conversation_with_ticket(&t, "cust@example.com").await;
    let jobs = t.app.pending_jobs().await.unwrap();
    move_to_stage(&t, &ann, tk.id, STAGE_CLOSED).await;
    assert_eq!(t.app.pending_jobs().await.unwrap(), jobs + 1);
    let acts = ticket_activity(&t, tk.id).await;
    assert!(acts.iter().any(|a| a.action == "csat_queued"));
    let email = t.app.issue_csat_email(tk.id).await.unwrap().unwrap();
    assert_eq!(email.to, "cust@example.com");
    assert_eq!(email.subject, "How did we do?");
    let text = email.text("https://desk.example.com/");
    let token = token_of(&text);
    assert!(token.len() >= 32);
    assert!(text.contains(&format!("https://desk.example.com/csat/{token}/good")));
    assert!(text.contains(&format!("https://desk.example.com/csat/{token}/bad")));
    assert!(text.starts_with("Please rate us."));
    // Reopen and close again: no second survey.
    move_to_stage(&t, &ann, tk.id, STAGE_NEW).await;
    move_to_stage(&t, &ann, tk.id, STAGE_CLOSED).await;
    assert_eq!(t.app.pending_jobs().await.unwrap(), jobs + 1);
    // Closing from another road (a waiting stage first) changes nothing either.
    let (_, tk2, _) = conversation_with_ticket(&t, "other@example.com").await;
    move_to_stage(&t, &ann, tk2.id, STAGE_WAITING).await;
    assert_eq!(t.app.pending_jobs().await.unwrap(), jobs + 1);
    move_to_stage(&t, &ann, tk2.id, STAGE_CLOSED).await;
    assert_eq!(t.app.pending_jobs().await.unwrap(), jobs + 2);
}

async fn rating(t: TestApp) {
    enable(&t).await;
    let (_, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (_, bob) = t
        .agent("bob@example.com", TicketAccessLevel::Owned, &[])
        .await;
    let (_, tk, _) = conversation_with_ticket(&t, "cust@example.com").await;
    move_to_stage(&t, &ann, tk.id, STAGE_CLOSED).await;
    let token = token_of(
        &t.app
            .issue_csat_email(tk.id)
            .await
            .unwrap()
            .unwrap()
            .text(""),
    );
    let from = t.app.now();
    let CsatOutcome::Rated { survey, subject } =
        t.app.csat_rate(&token, Some("good"), None).await.unwrap()
    else {
        panic!("not rated")
    };
    assert_eq!(survey.rating.as_deref(), Some("good"));
    assert_eq!(subject, tk.subject);
    // On the ticket: its properties (the API's), its survey, its history.
    let after = tk_props(&t, tk.id).await;
    assert_eq!(
        after.get("frontdesk_csat_rating").map(String::as_str),
        Some("good")
    );
    let s = t.app.ticket_csat(&ann, tk.id).await.unwrap().unwrap();
    assert_eq!(s.rating.as_deref(), Some("good"));
    assert!(
        ticket_activity(&t, tk.id)
            .await
            .iter()
            .any(|a| a.action == "csat_rated" && a.new_value.as_deref() == Some("good"))
    );
    // HD-09: Bob may not see the ticket, nor its survey.
    assert!(t.app.ticket_csat(&bob, tk.id).await.unwrap().is_none());
    // A comment, then a change of mind: the comment stays.
    t.app
        .csat_rate(&token, None, Some("  Quick answer, thanks  "))
        .await
        .unwrap();
    t.app.csat_rate(&token, Some("bad"), None).await.unwrap();
    let s = t.app.ticket_csat(&ann, tk.id).await.unwrap().unwrap();
    assert_eq!(s.rating.as_deref(), Some("bad"));
    assert_eq!(s.comment.as_deref(), Some("Quick answer, thanks"));
    let after = tk_props(&t, tk.id).await;
    assert_eq!(
        after.get("frontdesk_csat_rating").map(String::as_str),
        Some("bad")
    );
    assert_eq!(
        after.get("frontdesk_csat_comment").map(String::as_str),
        Some("Quick answer, thanks")
    );
    // Reports: one rating (bad) in the range, none for Bob, none outside the range.
    let to = t.app.now() + 1;
    let c = t.app.csat_counts(&ann, from, to).await.unwrap();
    assert_eq!((c.good, c.bad), (0, 1));
    let c = t.app.csat_counts(&bob, from, to).await.unwrap();
    assert_eq!((c.good, c.bad), (0, 0));
    let c = t.app.csat_counts(&ann, to, to + DAY).await.unwrap();
    assert_eq!((c.good, c.bad), (0, 0));
    assert_invalid(t.app.csat_counts(&ann, to, from).await, "to");
    // Bad input: an unknown rating, an overlong comment.
    assert_invalid(t.app.csat_rate(&token, Some("meh"), None).await, "rating");
    let long = "x".repeat(fd_app::CSAT_COMMENT_MAX + 1);
    assert_invalid(t.app.csat_rate(&token, None, Some(&long)).await, "comment");
    // Rated: the job has nothing more to send.
    assert!(t.app.issue_csat_email(tk.id).await.unwrap().is_none());
}

async fn tk_props(t: &TestApp, id: TicketId) -> std::collections::BTreeMap<String, String> {
    tk(t, id).await.custom.into_iter().collect()
}

async fn expired(t: TestApp) {
    enable(&t).await;
    let (_, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (_, tk, _) = conversation_with_ticket(&t, "cust@example.com").await;
    move_to_stage(&t, &ann, tk.id, STAGE_CLOSED).await;
    let token = token_of(
        &t.app
            .issue_csat_email(tk.id)
            .await
            .unwrap()
            .unwrap()
            .text(""),
    );
    assert_eq!(
        t.app
            .csat_rate("nonsense", Some("good"), None)
            .await
            .unwrap(),
        CsatOutcome::Unknown
    );
    // A comment before any rating is refused in words.
    assert_invalid(t.app.csat_rate(&token, None, Some("hi")).await, "rating");
    t.clock.advance_ms(CSAT_LINK_DAYS * DAY - 10_000);
    assert!(matches!(
        t.app.csat_rate(&token, Some("good"), None).await.unwrap(),
        CsatOutcome::Rated { .. }
    ));
    t.clock.advance_ms(20_000);
    assert_eq!(
        t.app.csat_rate(&token, Some("bad"), None).await.unwrap(),
        CsatOutcome::Expired
    );
    // The expired click changed nothing.
    let s = t.app.ticket_csat(&ann, tk.id).await.unwrap().unwrap();
    assert_eq!(s.rating.as_deref(), Some("good"));
}

async fn settings(t: TestApp) {
    let (_, admin) = t.admin("admin@example.com").await;
    let (_, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let s = t.app.csat_settings(&admin).await.unwrap();
    assert!(!s.enabled);
    assert_forbidden(t.app.csat_settings(&ann).await);
    assert_forbidden(t.app.set_csat_settings(&ann, true, "a", "b").await);
    assert_invalid(
        t.app.set_csat_settings(&admin, true, "Rate us", "  ").await,
        "csat_intro",
    );
    assert_invalid(
        t.app.set_csat_settings(&admin, true, "", "Hi").await,
        "csat_subject",
    );
    t.app
        .set_csat_settings(&admin, true, "Rate us", "Tell us")
        .await
        .unwrap();
    let s = t.app.csat_settings(&admin).await.unwrap();
    assert_eq!(
        (s.enabled, s.subject.as_str(), s.intro.as_str()),
        (true, "Rate us", "Tell us")
    );
}
