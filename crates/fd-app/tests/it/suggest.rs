//! Reply suggestions (issue 16, item 6) on both backends: BM25's ranking where word overlap
//! fails (IDF, term-frequency saturation), past replies only from resolved tickets the agent
//! may see (HD-09), the index catching up without a rebuild, and the Service Seat (HD-04).

use fd_app::domain::*;
use fd_app::{Actor, InboundMessage, NewUserInput, Suggestion, SuggestionKind, TicketCreation};
use fd_store::Ticket;
use fd_testkit::TestApp;

use crate::common::*;

fd_testkit::on_both_backends! {
    hd_04_suggestions_bm25_weighs_rare_words_over_common_ones => idf;
    hd_04_suggestions_bm25_saturates_repeated_words => saturation;
    hd_09_suggestions_past_replies_only_from_resolved_tickets_the_agent_may_see => scoping;
    hd_04_suggestions_need_a_service_seat => seat;
}

async fn article(t: &TestApp, admin: &Actor, title: &str, body: &str) -> i64 {
    t.app
        .create_library_item(admin, "article", title, &format!("<p>{body}</p>"))
        .await
        .unwrap()
        .id
}

/// A customer's email ticket with `text`, answered by `agent` with `answer`.
async fn answered(t: &TestApp, agent: &Actor, subject: &str, text: &str, answer: &str) -> Ticket {
    let k = contact(
        t,
        &format!(
            "{}@example.com",
            unique_message_id()
                .trim_matches(['<', '>'])
                .replace('@', ".")
        ),
    )
    .await;
    let from = k.email.clone().unwrap_or_default();
    let mut input = new_conversation(Channel::Email, Some(k.id));
    input.ticket = TicketCreation::Automatic;
    input.subject = Some(subject.into());
    let (c, tk) = t
        .app
        .create_conversation(
            &Actor::system(),
            input,
            Some(InboundMessage {
                subject: Some(subject.into()),
                ..inbound(text, &from, &unique_message_id())
            }),
        )
        .await
        .unwrap();
    t.app.send_reply(agent, c.id, reply(answer)).await.unwrap();
    tk.unwrap()
}

fn titles(s: &[Suggestion]) -> Vec<String> {
    s.iter().map(|s| s.title.clone()).collect()
}

async fn idf(t: TestApp) {
    let (_, admin) = t.admin("admin@example.com").await;
    for (title, body) in [
        (
            "Printer setup",
            "Set up the office printer and its printer queue.",
        ),
        (
            "Printer drivers",
            "Download printer drivers for every printer model.",
        ),
        ("Printer paper", "Which paper sizes the printer takes."),
        ("Money back", "How to ask for a refund of an order."),
    ] {
        article(&t, &admin, title, body).await;
    }
    // Both words are shared with one article each in word-overlap terms; "refund" is rare,
    // "printer" is everywhere, so BM25 puts the refund article first.
    let s = t
        .app
        .suggest_for_text(&admin, "I want a refund for my printer", None, 3)
        .await
        .unwrap();
    assert_eq!(s[0].title, "Money back", "{:?}", titles(&s));
    assert_eq!(s[0].kind, SuggestionKind::Article);
    assert!(s[0].score > s[1].score);
}

async fn saturation(t: TestApp) {
    let (_, admin) = t.admin("admin@example.com").await;
    article(&t, &admin, "Printer printer", &"printer ".repeat(40)).await;
    article(
        &t,
        &admin,
        "Toner",
        "Replace the printer toner cartridge when the light blinks.",
    )
    .await;
    for i in 0..4 {
        article(
            &t,
            &admin,
            &format!("Other {i}"),
            "Unrelated words about the weather.",
        )
        .await;
    }
    // Raw term frequency would rank the page of "printer" first; BM25 saturates it, and the
    // article with both words wins.
    let s = t
        .app
        .suggest_for_text(&admin, "printer toner", None, 3)
        .await
        .unwrap();
    assert_eq!(titles(&s), ["Toner", "Printer printer"]);
}

async fn scoping(t: TestApp) {
    let (_, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let (bob_user, bob) = t
        .agent("bob@example.com", TicketAccessLevel::Owned, &[])
        .await;
    let hidden = answered(
        &t,
        &ann,
        "Flux capacitor flickers",
        "The flux capacitor flickers after the update.",
        "Hold the flux button for ten seconds to recalibrate.",
    )
    .await;
    move_to_stage(&t, &ann, hidden.id, STAGE_CLOSED).await;
    let open = answered(
        &t,
        &ann,
        "Flux capacitor is noisy",
        "My flux capacitor makes a noise.",
        "Still looking into the flux noise.",
    )
    .await;
    // Bob's ticket asks the same question.
    let asked = answered(
        &t,
        &ann,
        "Flux capacitor flickering",
        "Why does my flux capacitor flicker?",
        "Checking.",
    )
    .await;
    update(
        &t,
        &ann,
        asked.id,
        &[("hubspot_owner_id", &bob_user.id.to_string())],
    )
    .await;
    // Ann may see the resolved ticket: its reply is suggested, first; the open ticket's is not,
    // nor the ticket's own.
    let s = t.app.reply_suggestions(&ann, asked.id).await.unwrap();
    assert_eq!(s[0].kind, SuggestionKind::Reply);
    assert_eq!(s[0].ticket, Some(hidden.id));
    assert!(s[0].body_html.contains("Hold the flux button"));
    assert!(
        s.iter()
            .all(|x| x.ticket != Some(open.id) && x.ticket != Some(asked.id))
    );
    // Bob owns only his ticket: the resolved one's reply never reaches him.
    let s = t.app.reply_suggestions(&bob, asked.id).await.unwrap();
    assert!(s.iter().all(|x| x.kind != SuggestionKind::Reply), "{s:?}");
    // A ticket Bob owns resolves later: the index catches up (no rebuild) and it appears.
    let mine = answered(
        &t,
        &ann,
        "Flux capacitor flicker again",
        "The flux capacitor flickers again.",
        "Replace the flux fuse.",
    )
    .await;
    update(
        &t,
        &ann,
        mine.id,
        &[("hubspot_owner_id", &bob_user.id.to_string())],
    )
    .await;
    move_to_stage(&t, &ann, mine.id, STAGE_CLOSED).await;
    let s = t.app.reply_suggestions(&bob, asked.id).await.unwrap();
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!(s[0].ticket, Some(mine.id));
    // Reopened: no longer resolved, no longer suggested.
    move_to_stage(&t, &ann, mine.id, STAGE_NEW).await;
    assert!(
        t.app
            .reply_suggestions(&bob, asked.id)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn seat(t: TestApp) {
    let (_, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let user = t
        .app
        .create_user(
            &Actor::system(),
            NewUserInput {
                email: "core@example.com".into(),
                name: "Core".into(),
                role: Role::Agent,
                password: "correct horse battery".into(),
                teams: Vec::new(),
                ticket_access: TicketAccessLevel::All,
                account_access: false,
                service_access: true,
                sales_access: false,
                seat: Seat::Core,
            },
        )
        .await
        .unwrap();
    let core = t.app.actor_for(user.id).await.unwrap();
    let tk = ticket(&t, &ann, "Printer").await;
    assert!(t.app.reply_suggestions(&ann, tk.id).await.is_ok());
    assert_forbidden(t.app.reply_suggestions(&core, tk.id).await);
}
