//! The help desk workspace end to end over HTTP (issue 5, items 2, 4, 6): create a ticket by
//! hand, add a contact, start the conversation, reply with Send + status, the conditional
//! status prompt, drafts, the stale-reply check, comments with @mentions.

use fd_app::domain::*;
use fd_app::{InboundMessage, NewStage, StagePatch};
use fd_testkit::TestApp;
use reqwest::StatusCode;

use crate::ui_common::*;

async fn create_ticket_add_contact_reply_and_close(t: TestApp) {
    agent(&t, "ann@example.com").await;
    let base = serve(&t).await;
    let b = Browser::login(&base, "ann@example.com").await;
    // HD-10: the name is required; the form says so and keeps the agent on it.
    let form = b.get("/helpdesk/new").await;
    assert!(form.body.contains("Ticket name") && form.body.contains("Ticket status"));
    let refused = b
        .post(
            "/helpdesk/new",
            &[("p.subject", " "), ("p.hs_pipeline_stage", "1")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("the ticket name is required"),
        "{}",
        refused.body
    );
    let created = b
        .post(
            "/helpdesk/new",
            &[
                ("p.subject", "Printer on fire"),
                ("p.hs_pipeline_stage", "1"),
                ("p.hs_ticket_priority", "HIGH"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let id = id_in(&created.location);
    // The list shows it with its counts, and search and sort find it.
    let list = b
        .get("/helpdesk?view=open&q=printer&sort=subject_asc")
        .await;
    assert!(list.body.contains("Printer on fire"));
    assert!(
        list.body.contains("aria-label=\"1 tickets\""),
        "{}",
        list.body
    );
    // Results span every view, so the views panel marks none of them as current; the
    // plain list marks its own.
    let current_view = "aria-current=\"page\"><span>";
    assert!(!list.body.contains(current_view), "{}", list.body);
    let plain = b.get("/helpdesk?view=open").await;
    assert!(plain.body.contains(current_view), "{}", plain.body);
    assert!(
        !b.get("/helpdesk?view=open&q=nothing-like-this")
            .await
            .body
            .contains("Printer on fire")
    );
    // HD-12: no conversation yet, so the page offers "Add contact" and no editor.
    let page = b.get(&format!("/helpdesk/tickets/{id}")).await;
    assert!(page.body.contains("Add contact") && !page.body.contains("id=\"pane-reply\""));
    let added = b
        .post(
            &format!("/tickets/{id}/contacts"),
            &[("email", "carla@example.com"), ("firstname", "Carla")],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let page = b.get(&format!("/helpdesk/tickets/{id}")).await;
    assert!(
        page.body.contains("id=\"pane-reply\""),
        "editor appears once a contact is added"
    );
    assert!(page.body.contains("Carla"));
    let contact = attr(
        &page.body[page.body.find("id=\"start-contact\"").unwrap()..],
        "value",
    )
    .unwrap();
    // The first message starts the conversation.
    let sent = b
        .post(
            &format!("/tickets/{id}/start"),
            &[
                ("contact", contact.as_str()),
                (
                    "body_html",
                    "<p>Hello <b>Carla</b><script>alert(1)</script></p>",
                ),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let d = t
        .app
        .ticket_details(&fd_app::Actor::system(), TicketId(id))
        .await
        .unwrap();
    assert_eq!(d.conversations.len(), 1);
    let conv = d.conversations[0].id;
    let msgs = t
        .app
        .messages(&fd_app::Actor::system(), conv)
        .await
        .unwrap();
    assert_eq!(msgs[0].recipients.to, vec!["carla@example.com".to_string()]);
    let html = msgs[0].html.clone().unwrap();
    assert!(
        html.contains("<b>Carla</b>") && !html.contains("script"),
        "sanitised on the server: {html}"
    );
    // Property edits from the sidebar land in the history.
    let page = b.get(&format!("/helpdesk/tickets/{id}")).await;
    let version = attr(
        &page.body[page.body.find("name=\"version\"").unwrap()..],
        "value",
    )
    .unwrap();
    let saved = b
        .post(
            &format!("/tickets/{id}/properties"),
            &[
                ("version", version.as_str()),
                ("o.hs_ticket_priority", "HIGH"),
                ("p.hs_ticket_priority", "LOW"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let page = b.get(&format!("/helpdesk/tickets/{id}")).await;
    assert!(
        page.body.contains("changed Priority from High to Low"),
        "{}",
        page.body
    );
    // A stale version is a conflict, shown on the page.
    let stale = b
        .post(
            &format!("/tickets/{id}/properties"),
            &[
                ("version", version.as_str()),
                ("o.hs_ticket_priority", "LOW"),
                ("p.hs_ticket_priority", "URGENT"),
            ],
        )
        .await;
    assert_eq!(stale.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(stale.body.contains("changed by someone else") || stale.body.contains("version"));
    // HD-19 / INB-10: Send + Closed closes the conversation with the ticket.
    let closed = b
        .post(
            &format!("/conversations/{conv}/reply"),
            &[
                ("body", "All fixed."),
                ("stage", "4"),
                ("ticket", &id.to_string()),
                ("surface", "helpdesk"),
                ("back", &format!("/helpdesk/tickets/{id}")),
            ],
        )
        .await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER, "{}", closed.body);
    let c = t
        .app
        .conversation(&fd_app::Actor::system(), conv)
        .await
        .unwrap();
    assert_eq!(c.status, ConversationStatus::Closed);
    let list = b.get("/helpdesk?view=closed").await;
    assert!(list.body.contains("Printer on fire"));
}

async fn conditional_status_prompts_for_its_properties(t: TestApp) {
    let (_, actor) = agent(&t, "ann@example.com").await;
    let system = fd_app::Actor::system();
    let stage = t
        .app
        .create_stage(
            &system,
            PipelineId(0),
            NewStage {
                label: "Solved".into(),
                display_order: 9,
                state: StageState::Closed,
                required_properties: vec!["hs_ticket_category".into()],
            },
        )
        .await
        .unwrap();
    let (conv, ticket) = inbound(&t, "Where is my parcel?").await;
    let base = serve(&t).await;
    let b = Browser::login(&base, "ann@example.com").await;
    let page = b.get(&format!("/helpdesk/tickets/{ticket}")).await;
    assert!(
        page.body.contains("data-required=\"hs_ticket_category\""),
        "the editor knows what Solved needs"
    );
    let sid = stage.id.to_string();
    let refused = b
        .post(
            &format!("/conversations/{conv}/reply"),
            &[
                ("body", "Found it"),
                ("stage", sid.as_str()),
                ("ticket", &ticket.to_string()),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("needs these properties"),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("name=\"p.hs_ticket_category\""));
    assert!(refused.body.contains("Found it"), "the typed reply is kept");
    assert_eq!(
        t.app.messages(&actor, conv).await.unwrap().len(),
        1,
        "nothing was sent"
    );
    let ok = b
        .post(
            &format!("/conversations/{conv}/reply"),
            &[
                ("body", "Found it"),
                ("stage", sid.as_str()),
                ("p.hs_ticket_category", "PRODUCT_ISSUE"),
                ("ticket", &ticket.to_string()),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let tk = t.app.ticket(&actor, ticket).await.unwrap();
    assert_eq!(tk.stage_id, stage.id);
    assert_eq!(t.app.messages(&actor, conv).await.unwrap().len(), 2);
    let _ = StagePatch::default();
}

/// An email conversation in the help desk with its automatic ticket.
pub async fn inbound(t: &TestApp, subject: &str) -> (ConversationId, TicketId) {
    let (c, tk) = t
        .app
        .create_conversation(
            &fd_app::Actor::system(),
            fd_app::NewConversation {
                channel: Channel::Email,
                channel_account: Some("support@example.com".into()),
                workspace: Workspace::HelpDesk,
                team: None,
                owner: None,
                contact: None,
                visitor_name: Some("Dora".into()),
                visitor_email: Some("dora@example.com".into()),
                subject: Some(subject.into()),
                ticket: fd_app::TicketCreation::Automatic,
            },
            Some(InboundMessage {
                sender_name: Some("Dora".into()),
                sender_address: Some("dora@example.com".into()),
                subject: Some(subject.into()),
                text: "Please help.".into(),
                ..InboundMessage::default()
            }),
        )
        .await
        .unwrap();
    (c.id, tk.unwrap().id)
}

async fn drafts_are_private_and_stale_replies_are_held(t: TestApp) {
    let (_, ann) = agent(&t, "ann@example.com").await;
    agent(&t, "bob@example.com").await;
    let (conv, ticket) = inbound(&t, "Refund").await;
    let base = serve(&t).await;
    let a = Browser::login(&base, "ann@example.com").await;
    let b = Browser::login(&base, "bob@example.com").await;
    let page = a.get(&format!("/helpdesk/tickets/{ticket}")).await;
    let seen = attr(
        &page.body[page.body.find("name=\"seen\"").unwrap()..],
        "value",
    )
    .unwrap();
    // Autosave (the script posts with js=1 and gets JSON back).
    let saved = a
        .post(
            &format!("/conversations/{conv}/draft"),
            &[
                ("body", "Draft about the refund"),
                ("seen", seen.as_str()),
                ("js", "1"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert!(saved.body.contains("saved"));
    // Restored after a reload, listed in Drafts — for Ann only.
    assert!(
        a.get(&format!("/helpdesk/tickets/{ticket}"))
            .await
            .body
            .contains("Draft about the refund")
    );
    assert!(
        a.get("/helpdesk?view=drafts")
            .await
            .body
            .contains("Draft about the refund")
    );
    assert!(
        !b.get(&format!("/helpdesk/tickets/{ticket}"))
            .await
            .body
            .contains("Draft about the refund")
    );
    assert!(
        !b.get("/helpdesk?view=drafts")
            .await
            .body
            .contains("Draft about the refund")
    );
    // The customer writes again: sending the old draft is held for review.
    t.app
        .record_inbound_message(
            &fd_app::Actor::system(),
            conv,
            InboundMessage {
                sender_address: Some("dora@example.com".into()),
                text: "Actually, I found it!".into(),
                ..InboundMessage::default()
            },
        )
        .await
        .unwrap();
    let held = a
        .post(
            &format!("/conversations/{conv}/reply"),
            &[
                ("body", "Draft about the refund"),
                ("seen", seen.as_str()),
                ("ticket", &ticket.to_string()),
            ],
        )
        .await;
    assert_eq!(held.status, StatusCode::CONFLICT, "{}", held.body);
    assert!(
        held.body
            .contains("sent a new message after you started this reply")
    );
    assert!(held.body.contains("Actually, I found it!"));
    assert_eq!(
        t.app.messages(&ann, conv).await.unwrap().len(),
        2,
        "nothing sent yet"
    );
    let new_seen = attr(
        &held.body[held.body.find("name=\"seen\"").unwrap()..],
        "value",
    )
    .unwrap();
    assert!(held.body.contains("name=\"reviewed\""));
    let sent = a
        .post(
            &format!("/conversations/{conv}/reply"),
            &[
                ("body", "Glad you found it"),
                ("seen", new_seen.as_str()),
                ("reviewed", "1"),
                ("ticket", &ticket.to_string()),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    assert_eq!(t.app.messages(&ann, conv).await.unwrap().len(), 3);
    assert!(
        !a.get("/helpdesk?view=drafts")
            .await
            .body
            .contains("Draft about the refund"),
        "sending clears the draft"
    );
}

async fn mentions_notify_the_other_agent(t: TestApp) {
    agent(&t, "ann@example.com").await;
    agent(&t, "bob@example.com").await;
    let (conv, ticket) = inbound(&t, "Invoice").await;
    let base = serve(&t).await;
    let a = Browser::login(&base, "ann@example.com").await;
    let b = Browser::login(&base, "bob@example.com").await;
    let page = a
        .get(&format!("/helpdesk/tickets/{ticket}?tab=comment"))
        .await;
    assert!(page.body.contains("data-mentions=") && page.body.contains("bob@example.com"));
    let posted = a
        .post(
            &format!("/conversations/{conv}/comment"),
            &[("comment", "@bob can you check this invoice?")],
        )
        .await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
    let bell = b.get("/helpdesk").await;
    assert!(
        bell.body.contains("class=\"badge\""),
        "Bob's bell shows an unread notification"
    );
    let list = b.get("/notifications").await;
    assert!(list.body.contains("ann mentioned you"), "{}", list.body);
    // Each names its ticket and quotes the comment; its link opens it through
    // `/notifications/{id}`, which marks it read and lands on the ticket's comments.
    assert!(list.body.contains(&format!("#{ticket} ")), "{}", list.body);
    assert!(list.body.contains("@bob can you check this invoice?"));
    let href = list
        .body
        .split("href=\"/notifications/")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap();
    let opened = b.get(&format!("/notifications/{href}")).await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER);
    assert_eq!(
        opened.location.as_deref(),
        Some(format!("/helpdesk/tickets/{ticket}?tab=comment").as_str())
    );
    assert!(!b.get("/helpdesk").await.body.contains("class=\"badge\""));
    assert_eq!(
        b.get("/notifications/999999").await.status,
        StatusCode::NOT_FOUND
    );
    assert!(
        b.get("/helpdesk?view=mentions")
            .await
            .body
            .contains("Invoice")
    );
    b.post("/notifications/read", &[]).await;
    assert!(!b.get("/helpdesk").await.body.contains("class=\"badge\""));
    // The comment is internal: shown on the ticket, never a message to the contact.
    assert!(
        a.get(&format!("/helpdesk/tickets/{ticket}"))
            .await
            .body
            .contains("left an internal comment")
    );
    assert_eq!(
        t.app
            .messages(&fd_app::Actor::system(), conv)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn hostile_html_is_inert(t: TestApp) {
    agent(&t, "ann@example.com").await;
    let (c, tk) = t
        .app
        .create_conversation(
            &fd_app::Actor::system(),
            fd_app::NewConversation {
                channel: Channel::Email,
                channel_account: None,
                workspace: Workspace::HelpDesk,
                team: None,
                owner: None,
                contact: None,
                visitor_name: None,
                visitor_email: Some("mallory@example.com".into()),
                subject: Some("<script>alert('subject')</script>".into()),
                ticket: fd_app::TicketCreation::Automatic,
            },
            Some(InboundMessage {
                sender_address: Some("mallory@example.com".into()),
                text: "hi".into(),
                html: Some(r#"<p onmouseover="steal()">Hi</p><script>alert(1)</script><img src="https://tracker.example/pixel.gif"><a href="javascript:alert(2)">x</a><iframe src="https://evil.example"></iframe>"#.into()),
                ..InboundMessage::default()
            }),
        )
        .await
        .unwrap();
    let _ = c;
    let base = serve(&t).await;
    let a = Browser::login(&base, "ann@example.com").await;
    let page = a
        .get(&format!("/helpdesk/tickets/{}", tk.unwrap().id))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let body = &page.body;
    assert!(!body.contains("<script>alert"), "no raw script anywhere");
    assert!(
        body.contains("&#60;script&#62;alert(") || body.contains("&lt;script&gt;alert("),
        "subject escaped: {}",
        &body[body.find("<h1").unwrap()..body.find("</h1>").unwrap()]
    );
    assert!(
        !body.contains("onmouseover"),
        "the page never inlines customer HTML"
    );
    // The message is framed from its route, which serves it sanitised.
    let src = &body[body.find("<iframe class=\"msg-frame\"").unwrap()..];
    let src = attr(src, "src").unwrap();
    let frame = a.get(&src).await;
    assert_eq!(frame.status, StatusCode::OK, "{src}");
    assert!(frame.body.contains("Hi</p>"), "{}", frame.body);
    for bad in [
        "onmouseover",
        "alert(",
        "javascript:",
        "<iframe",
        "<script",
        "tracker.example",
    ] {
        assert!(
            !frame.body.contains(bad),
            "{bad} survived in {}",
            frame.body
        );
    }
    assert!(
        body.contains("sandbox=\"allow-same-origin allow-popups")
            && !body.contains("allow-scripts"),
        "frames never get allow-scripts"
    );
    let csp = page
        .headers
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        csp.contains("img-src 'self' data:") && csp.contains("script-src 'self'"),
        "remote images and scripts are blocked: {csp}"
    );
}

fd_testkit::on_both_backends! {
    ui_hd_10_12_create_ticket_add_contact_reply_and_close => create_ticket_add_contact_reply_and_close;
    ui_hd_19_conditional_status_prompt => conditional_status_prompts_for_its_properties;
    ui_hd_17_drafts_private_and_stale_reply_review => drafts_are_private_and_stale_replies_are_held;
    ui_hd_21_mentions_notify => mentions_notify_the_other_agent;
    ui_inb_11_follow_up_shown_on_both_tickets => follow_up_shown_on_both_tickets;
    ui_hostile_html_is_inert => hostile_html_is_inert;
}

/// A customer's late reply opens a follow-up: both ticket pages name the other, and the
/// activity says so (issue 15, item 9).
async fn follow_up_shown_on_both_tickets(t: TestApp) {
    let (_, ann) = agent(&t, "ann@example.com").await;
    let (conv, old) = inbound(&t, "Invoice").await;
    t.app
        .update_ticket(
            &ann,
            old,
            fd_app::TicketChanges {
                properties: [("hs_pipeline_stage".to_string(), "4".to_string())]
                    .into_iter()
                    .collect(),
                ..fd_app::TicketChanges::default()
            },
        )
        .await
        .unwrap();
    t.clock.advance_ms(30 * 86_400_000);
    t.app
        .record_inbound_message(
            &fd_app::Actor::system(),
            conv,
            InboundMessage {
                sender_address: Some("dora@example.com".into()),
                text: "Another invoice is wrong".into(),
                ..InboundMessage::default()
            },
        )
        .await
        .unwrap();
    let (_, ups) = t.app.follow_up_links(&ann, old).await.unwrap();
    let new = ups[0].0;
    let base = serve(&t).await;
    let a = Browser::login(&base, "ann@example.com").await;
    let old_page = a.get(&format!("/helpdesk/tickets/{old}")).await;
    assert!(
        old_page.body.contains(&format!(
            "Follow-ups: <a href=\"/helpdesk/tickets/{new}\">#{new} Invoice (follow-up of #{old})</a>"
        )),
        "{}",
        old_page.body
    );
    assert!(old_page.body.contains(&format!("opened follow-up #{new}")));
    let new_page = a.get(&format!("/helpdesk/tickets/{new}")).await;
    assert!(
        new_page.body.contains(&format!(
            "Follow-up of <a href=\"/helpdesk/tickets/{old}\">#{old} Invoice</a>"
        )),
        "{}",
        new_page.body
    );
    assert!(
        new_page
            .body
            .contains(&format!("opened this ticket as a follow-up of #{old}"))
    );
    // The settings page shows the period, and refuses a bad one.
    let (_, _) = t.admin("boss@example.com").await;
    let boss = Browser::login(&base, "boss@example.com").await;
    let settings = boss.get("/settings/account").await;
    assert!(settings.body.contains("name=\"follow_up_days\""));
    let bad = boss
        .post(
            "/settings/account",
            &[
                ("mode", "help_desk"),
                ("retention", "90"),
                ("follow_up_days", "soon"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    let ok = boss
        .post(
            "/settings/account",
            &[
                ("mode", "help_desk"),
                ("retention", "90"),
                ("follow_up_days", "0"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(t.app.follow_up_days().await.unwrap(), 0);
}
