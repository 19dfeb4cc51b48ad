//! Rule-based chat bots (issue 14, item 4): HD-08 (a bot conversation on a help-desk chat
//! creates no ticket by itself; its create-ticket step makes exactly one, as a ticket made by
//! hand), the hand-off to a team's inbox with the transcript (then HD-15's chat delivery),
//! HD-18 (an address the bot collects is the visitor's, for the agent to make a contact), and
//! bad definitions refused whole.

use fd_app::domain::*;
use fd_app::{Actor, Event, VisitorContact, VisitorMessage};
use fd_store::{ChatChannel, ConversationListQuery};
use fd_testkit::TestApp;

use crate::common::*;

fd_testkit::on_both_backends! {
    hd_08_bot_conversation_on_a_help_desk_chat_creates_no_ticket => hd_08_no_ticket;
    hd_08_create_ticket_step_makes_one_ticket_as_by_hand => hd_08_create_ticket;
    hd_08_hand_off_puts_the_conversation_in_the_teams_inbox_then_replies_reach_the_widget => hd_08_hand_off;
    hd_18_bot_collected_email_is_the_visitors_and_becomes_a_contact => hd_18_collect_email;
    hd_15_an_agent_reply_takes_a_bot_chat_over_and_reaches_the_widget => take_over;
    hd_08_bad_bot_import_is_refused_and_stores_nothing => bad_import;
    hd_08_one_bot_per_channel_and_a_disabled_bot_hands_over_to_the_team => one_bot_per_channel;
    inb_13_a_trashed_bot_conversation_is_purged_with_its_bot_state => purged;
}

fn says(text: &str) -> VisitorMessage {
    VisitorMessage {
        text: text.into(),
        ..VisitorMessage::default()
    }
}

/// Teams "Support" (the channel's, agent Ann, away) and "Sales" (agent Sam, available); a
/// help-desk chat channel of Support; an admin.
struct World {
    ann: Actor,
    sam: Actor,
    admin: Actor,
    sales: TeamId,
    ch: ChatChannel,
}

async fn world(t: &TestApp) -> World {
    let support = t.team("Support").await;
    let sales = t.team("Sales").await;
    let (_, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &["Support"])
        .await;
    let (_, sam) = t
        .agent("sam@example.com", TicketAccessLevel::Team, &["Sales"])
        .await;
    t.app.set_availability(&sam, true).await.unwrap();
    let (_, admin) = t.admin("boss@example.com").await;
    let ch = t
        .app
        .create_chat_channel(&admin, "Website", support, Workspace::HelpDesk)
        .await
        .unwrap();
    World {
        ann,
        sam,
        admin,
        sales,
        ch,
    }
}

/// Sales goes to the Sales team; support asks a name and an address, then opens a ticket.
fn bot_json(sales: TeamId) -> String {
    format!(
        r#"{{
          "name": "Greeter",
          "steps": [
            {{"id": "hello", "kind": "ask", "text": "Hi! Sales or support?",
             "options": [{{"label": "Sales", "next": "sales"}}, {{"label": "Support", "next": "name"}}],
             "else": "bye"}},
            {{"id": "name", "kind": "collect_name", "text": "Your name?", "next": "email"}},
            {{"id": "email", "kind": "collect_email", "text": "Your email, {{{{name}}}}?", "next": "ticket"}},
            {{"id": "ticket", "kind": "create_ticket", "text": "We opened a ticket for you.",
             "subject": "Support for {{{{name}}}}", "next": "bye"}},
            {{"id": "sales", "kind": "hand_off", "team": {sales}, "text": "Connecting you to Sales."}},
            {{"id": "bye", "kind": "end", "text": "Goodbye!"}}
          ]
        }}"#
    )
}

async fn enabled_bot(t: &TestApp, w: &World) -> fd_app::Bot {
    let bot = t
        .app
        .import_bot(&w.admin, w.ch.id, None, &bot_json(w.sales))
        .await
        .unwrap();
    t.app.set_bot_enabled(&w.admin, bot.id, true).await.unwrap();
    bot
}

async fn texts(t: &TestApp, ch: i64, token: &str) -> Vec<(Direction, Option<String>, String)> {
    t.app
        .chat_view(ch, Some(token))
        .await
        .unwrap()
        .messages
        .into_iter()
        .map(|m| {
            (
                m.direction,
                (m.direction == Direction::Outbound)
                    .then_some(m.sender_name)
                    .flatten(),
                m.text,
            )
        })
        .collect()
}

async fn hd_08_no_ticket(t: TestApp) {
    let w = world(&t).await;
    enabled_bot(&t, &w).await;
    let before = ticket_count(&t).await;
    // Nobody of Support is available, yet the bot answers without asking for an address.
    let s = t
        .app
        .chat_visitor_message(w.ch.id, None, says("hello"))
        .await
        .unwrap();
    let c = conv(&t, s.conversation).await;
    assert_eq!(c.channel, Channel::Bot);
    assert_eq!(
        c.ticket_id, None,
        "HD-08: the bot conversation has no ticket"
    );
    assert_eq!(ticket_count(&t).await, before);
    let v = t.app.chat_view(w.ch.id, Some(&s.token)).await.unwrap();
    assert!(v.bot);
    assert!(!v.by_email);
    assert_eq!(v.quick_replies, vec!["Sales", "Support"]);
    assert_eq!(
        texts(&t, w.ch.id, &s.token).await,
        vec![
            (Direction::Inbound, None, "hello".to_string()),
            (
                Direction::Outbound,
                Some("Greeter".to_string()),
                "Hi! Sales or support?".to_string()
            ),
        ]
    );
    // An answer that is no option is asked again; still no ticket.
    t.app
        .chat_visitor_message(w.ch.id, Some(&s.token), says("pizza"))
        .await
        .unwrap();
    let last = texts(&t, w.ch.id, &s.token).await;
    assert_eq!(last.last().unwrap().2, "Hi! Sales or support?");
    assert_eq!(ticket_count(&t).await, before);
    // Without a bot the same channel opens a ticket per conversation (HD-06).
    t.app.set_availability(&w.ann, true).await.unwrap();
    let bots = t.app.bots(&w.admin, w.ch.id).await.unwrap();
    t.app
        .set_bot_enabled(&w.admin, bots[0].id, false)
        .await
        .unwrap();
    let plain = t
        .app
        .chat_visitor_message(w.ch.id, None, says("no bot now"))
        .await
        .unwrap();
    assert!(conv(&t, plain.conversation).await.ticket_id.is_some());
    assert_eq!(ticket_count(&t).await, before + 1);
}

async fn hd_08_create_ticket(t: TestApp) {
    let w = world(&t).await;
    enabled_bot(&t, &w).await;
    let before = ticket_count(&t).await;
    let s = t
        .app
        .chat_visitor_message(w.ch.id, None, says("hi"))
        .await
        .unwrap();
    for answer in ["support", "Vera Blue"] {
        t.app
            .chat_visitor_message(w.ch.id, Some(&s.token), says(answer))
            .await
            .unwrap();
    }
    assert_eq!(ticket_count(&t).await, before, "no ticket before the step");
    t.app
        .chat_visitor_message(w.ch.id, Some(&s.token), says("vera@customer.example"))
        .await
        .unwrap();
    assert_eq!(ticket_count(&t).await, before + 1, "exactly one ticket");
    let c = conv(&t, s.conversation).await;
    let tk = t
        .app
        .ticket(&w.ann, c.ticket_id.expect("the step's ticket"))
        .await
        .unwrap();
    assert_eq!(tk.subject, "Support for Vera Blue");
    // As a ticket made by hand from a conversation: the intake stage of the default
    // pipeline (HD-06), the channel's team, the conversation attached and moved to the help
    // desk with it (INB-04, INB-14).
    let (other, _) = t
        .app
        .create_conversation(
            &Actor::system(),
            new_conversation(Channel::Chat, None),
            Some(inbound("hi", "", &unique_message_id())),
        )
        .await
        .unwrap();
    let by_hand = t
        .app
        .create_ticket_from_conversation(&w.ann, other.id, props(&[]))
        .await
        .unwrap();
    assert_eq!(
        (tk.pipeline_id, tk.stage_id),
        (by_hand.pipeline_id, by_hand.stage_id)
    );
    assert_eq!(tk.team_id, Some(w.ch.team_id));
    assert_eq!(tk.workspace, Workspace::HelpDesk);
    assert_eq!(c.workspace, Workspace::HelpDesk);
    assert_eq!(tk.source_type.as_deref(), Some("CHAT"));
    let said = texts(&t, w.ch.id, &s.token).await;
    let bot_said: Vec<&str> = said
        .iter()
        .filter(|m| m.0 == Direction::Outbound)
        .map(|m| m.2.as_str())
        .collect();
    assert_eq!(
        bot_said,
        vec![
            "Hi! Sales or support?",
            "Your name?",
            "Your email, Vera Blue?",
            "We opened a ticket for you.",
            "Goodbye!"
        ]
    );
    // The bot starts over at the next message; the ticket path again makes no second
    // ticket (INB-04: one per conversation).
    let before = ticket_count(&t).await;
    for answer in ["again", "Support", "Vera", "vera@customer.example"] {
        t.app
            .chat_visitor_message(w.ch.id, Some(&s.token), says(answer))
            .await
            .unwrap();
    }
    assert_eq!(ticket_count(&t).await, before);
    assert_eq!(conv(&t, s.conversation).await.ticket_id, Some(tk.id));
}

async fn hd_08_hand_off(t: TestApp) {
    let w = world(&t).await;
    enabled_bot(&t, &w).await;
    let before = ticket_count(&t).await;
    let s = t
        .app
        .chat_visitor_message(w.ch.id, None, says("hi"))
        .await
        .unwrap();
    assert_eq!(
        conv(&t, s.conversation).await.team_id,
        None,
        "no team before the hand-off"
    );
    let mut events = t.app.subscribe();
    t.app
        .chat_visitor_message(w.ch.id, Some(&s.token), says("Sales"))
        .await
        .unwrap();
    let mut changed = false;
    while let Ok(e) = events.try_recv() {
        changed |= e == Event::ConversationChanged(s.conversation);
    }
    assert!(changed, "agents' screens hear of the hand-off");
    let c = conv(&t, s.conversation).await;
    assert_eq!(c.channel, Channel::Chat);
    assert_eq!(c.team_id, Some(w.sales));
    assert_eq!(c.ticket_id, None);
    assert_eq!(ticket_count(&t).await, before);
    // In Sam's inbox, with the whole transcript.
    let inbox = t
        .app
        .list_conversations(
            &w.sam,
            &ConversationListQuery {
                workspace: Some(Workspace::Inbox),
                status: Some(ConversationStatus::Open),
                owner: None,
                channel: None,
                trashed: false,
                limit: 50,
                offset: 0,
            },
        )
        .await
        .unwrap();
    assert!(inbox.iter().any(|x| x.id == s.conversation));
    let transcript: Vec<String> = t
        .app
        .messages(&w.sam, s.conversation)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(
        transcript,
        vec![
            "hi",
            "Hi! Sales or support?",
            "Sales",
            "Connecting you to Sales."
        ]
    );
    // Now a live chat: Sam's reply reaches the widget (HD-15), the bot stays quiet.
    let m = t
        .app
        .send_reply(&w.sam, s.conversation, reply("Sam here, how can I help?"))
        .await
        .unwrap();
    assert_eq!((m.channel, m.status), (Channel::Chat, DeliveryStatus::Sent));
    let v = t.app.chat_view(w.ch.id, Some(&s.token)).await.unwrap();
    assert!(!v.bot);
    assert!(v.quick_replies.is_empty());
    assert_eq!(v.messages.last().unwrap().id, m.id);
    t.app
        .chat_visitor_message(w.ch.id, Some(&s.token), says("Sales"))
        .await
        .unwrap();
    let after = texts(&t, w.ch.id, &s.token).await;
    assert_eq!(after.last().unwrap().2, "Sales", "no bot answer any more");
    assert_eq!(ticket_count(&t).await, before);
}

/// An agent who answers before the bot hands off takes the chat over: the bot stops, the
/// conversation is a live chat of the channel's team, and the reply reaches the widget even
/// though the team is marked away and the bot collected an address (someone is there).
async fn take_over(t: TestApp) {
    let w = world(&t).await;
    enabled_bot(&t, &w).await;
    let before = ticket_count(&t).await;
    let s = t
        .app
        .chat_visitor_message(w.ch.id, None, says("hello"))
        .await
        .unwrap();
    // The bot takes the visitor to its ticket (collecting an address), then says goodbye.
    for answer in ["Support", "Eve", "eve@example.com"] {
        t.app
            .chat_visitor_message(w.ch.id, Some(&s.token), says(answer))
            .await
            .unwrap();
    }
    let ticket = conv(&t, s.conversation).await.ticket_id;
    assert!(ticket.is_some());
    let m = t
        .app
        .send_reply(&w.ann, s.conversation, reply("Ann here, what do you need?"))
        .await
        .unwrap();
    assert_eq!((m.channel, m.status), (Channel::Chat, DeliveryStatus::Sent));
    let c = conv(&t, s.conversation).await;
    assert_eq!(c.channel, Channel::Chat);
    assert_eq!(c.team_id, Some(w.ch.team_id));
    assert_eq!(c.ticket_id, ticket, "the bot's one ticket stays");
    let v = t.app.chat_view(w.ch.id, Some(&s.token)).await.unwrap();
    assert!(!v.bot);
    assert!(!v.by_email, "the agent answers in the chat window");
    assert!(v.quick_replies.is_empty());
    assert_eq!(v.messages.last().unwrap().id, m.id);
    // The bot no longer answers the visitor.
    t.app
        .chat_visitor_message(w.ch.id, Some(&s.token), says("Support"))
        .await
        .unwrap();
    let after = texts(&t, w.ch.id, &s.token).await;
    assert_eq!(after.last().unwrap().2, "Support");
    assert_eq!(ticket_count(&t).await, before + 1);
}

async fn hd_18_collect_email(t: TestApp) {
    let w = world(&t).await;
    enabled_bot(&t, &w).await;
    let s = t
        .app
        .chat_visitor_message(w.ch.id, None, says("hi"))
        .await
        .unwrap();
    for answer in ["Support", "Vera Blue", "vera at customer"] {
        t.app
            .chat_visitor_message(w.ch.id, Some(&s.token), says(answer))
            .await
            .unwrap();
    }
    // A bad address is asked again; nothing is kept.
    let c = conv(&t, s.conversation).await;
    assert_eq!(c.visitor_email, None);
    assert_eq!(c.ticket_id, None);
    let last = texts(&t, w.ch.id, &s.token).await;
    assert_eq!(last.last().unwrap().2, "Your email, Vera Blue?");
    t.app
        .chat_visitor_message(w.ch.id, Some(&s.token), says("Vera@Customer.example"))
        .await
        .unwrap();
    let c = conv(&t, s.conversation).await;
    assert_eq!(c.visitor_name.as_deref(), Some("Vera Blue"));
    assert_eq!(c.visitor_email.as_deref(), Some("vera@customer.example"));
    assert_eq!(c.contact_id, None, "the agent decides (HD-18)");
    let k = t
        .app
        .associate_visitor_with_contact(
            &w.ann,
            c.id,
            VisitorContact::New(fd_app::NewContact {
                email: c.visitor_email.clone(),
                firstname: Some("Vera".into()),
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    assert_eq!(k.email.as_deref(), Some("vera@customer.example"));
    let d = t
        .app
        .ticket_details(&w.ann, c.ticket_id.unwrap())
        .await
        .unwrap();
    assert_eq!(
        d.contacts.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![k.id]
    );
}

async fn bad_import(t: TestApp) {
    let w = world(&t).await;
    let good = bot_json(w.sales);
    let cases = [
        ("not json", "definition"),
        (r#"{"name": "x", "steps": []}"#, "steps"),
        (
            &good.replace("\"next\": \"ticket\"", "\"next\": \"nowhere\""),
            "steps[2].next",
        ),
        (
            &good.replace(&format!("\"team\": {}", w.sales), "\"team\": 999999"),
            "steps[4].team",
        ),
        (
            &good.replace("\"id\": \"name\"", "\"id\": \"hello\""),
            "steps[1].id",
        ),
        (
            r#"{"name": "Loop", "steps": [
                {"id": "a", "kind": "message", "text": "a", "next": "b"},
                {"id": "b", "kind": "message", "text": "b", "next": "a"}]}"#,
            "steps",
        ),
        (
            &good.replace("\"kind\": \"end\"", "\"kind\": \"dance\""),
            "definition",
        ),
    ];
    for (json, field) in cases {
        assert_invalid(t.app.import_bot(&w.admin, w.ch.id, None, json).await, field);
    }
    assert!(t.app.bots(&w.admin, w.ch.id).await.unwrap().is_empty());
    // Admins only.
    assert_forbidden(t.app.import_bot(&w.ann, w.ch.id, None, &good).await);
    assert!(t.app.bots(&w.admin, w.ch.id).await.unwrap().is_empty());
    // The good one is stored, and its export reads back the same.
    let bot = t
        .app
        .import_bot(&w.admin, w.ch.id, None, &good)
        .await
        .unwrap();
    assert_eq!(bot.name, "Greeter");
    assert!(!bot.enabled);
    let json = t.app.export_bot(&w.admin, bot.id).await.unwrap();
    let again = t
        .app
        .import_bot(&w.admin, w.ch.id, Some("Copy"), &json)
        .await
        .unwrap();
    assert_eq!(
        (again.name.as_str(), &again.definition),
        ("Copy", &bot.definition)
    );
    // An update to an invalid definition leaves the stored one.
    let (_, mut broken) = fd_app::parse_bot_json(&good).unwrap();
    broken.start = Some("missing".into());
    assert_invalid(
        t.app.update_bot(&w.admin, bot.id, "Greeter", &broken).await,
        "start",
    );
    assert_eq!(
        t.app.bot(&w.admin, bot.id).await.unwrap().definition,
        bot.definition
    );
}

async fn one_bot_per_channel(t: TestApp) {
    let w = world(&t).await;
    let first = enabled_bot(&t, &w).await;
    let second = t
        .app
        .import_bot(&w.admin, w.ch.id, Some("Second"), &bot_json(w.sales))
        .await
        .unwrap();
    let s = t
        .app
        .chat_visitor_message(w.ch.id, None, says("hi"))
        .await
        .unwrap();
    t.app
        .set_bot_enabled(&w.admin, second.id, true)
        .await
        .unwrap();
    let bots = t.app.bots(&w.admin, w.ch.id).await.unwrap();
    let enabled: Vec<i64> = bots.iter().filter(|b| b.enabled).map(|b| b.id).collect();
    assert_eq!(enabled, vec![second.id]);
    // The conversation's bot was disabled meanwhile: the channel's team takes it over.
    t.app
        .chat_visitor_message(w.ch.id, Some(&s.token), says("Support"))
        .await
        .unwrap();
    let c = conv(&t, s.conversation).await;
    assert_eq!((c.channel, c.team_id), (Channel::Chat, Some(w.ch.team_id)));
    assert_eq!(c.ticket_id, None);
    t.app.delete_bot(&w.admin, first.id).await.unwrap();
    assert_not_found(t.app.bot(&w.admin, first.id).await);
}

async fn purged(t: TestApp) {
    const DAY: i64 = 86_400_000;
    let w = world(&t).await;
    enabled_bot(&t, &w).await;
    let s = t
        .app
        .chat_visitor_message(w.ch.id, None, says("hi"))
        .await
        .unwrap();
    t.app
        .trash_conversation(&w.ann, s.conversation)
        .await
        .unwrap();
    t.app.set_trash_retention_days(&w.admin, 7).await.unwrap();
    t.clock.advance_ms(8 * DAY);
    assert_eq!(t.app.purge_trash().await.unwrap(), (0, 1));
    assert_not_found(t.app.conversation(&w.ann, s.conversation).await);
    // The visitor's token reaches nothing any more.
    assert_not_found(t.app.chat_view(w.ch.id, Some(&s.token)).await);
}
