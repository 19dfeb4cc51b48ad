//! The inbox over HTTP (issue 5, item 3) and access (item 7).

use fd_app::domain::*;
use fd_app::{Actor, InboundMessage};
use fd_testkit::TestApp;
use reqwest::StatusCode;

use crate::ui_common::*;

async fn inbox_conversation(t: &TestApp, subject: &str) -> ConversationId {
    let (c, _) = t
        .app
        .create_conversation(
            &Actor::system(),
            fd_app::NewConversation {
                channel: Channel::Chat,
                channel_account: None,
                workspace: Workspace::Inbox,
                team: None,
                owner: None,
                contact: None,
                visitor_name: Some("Eve".into()),
                visitor_email: None,
                subject: Some(subject.into()),
                ticket: fd_app::TicketCreation::None,
            },
            Some(InboundMessage {
                sender_name: Some("Eve".into()),
                text: "Is my order shipped?".into(),
                ..InboundMessage::default()
            }),
        )
        .await
        .unwrap();
    c.id
}

async fn inbox_create_ticket_owner_close_and_trash(t: TestApp) {
    let (bob, _) = agent(&t, "bob@example.com").await;
    agent(&t, "ann@example.com").await;
    // Inbox mode: tickets stay in the inbox (INB-14).
    t.app
        .set_account_mode(&Actor::system(), AccountMode::Inbox)
        .await
        .unwrap();
    let conv = inbox_conversation(&t, "Shipping question").await;
    let base = serve(&t).await;
    let a = Browser::login(&base, "ann@example.com").await;
    let list = a.get("/inbox?status=open&channel=CHAT").await;
    assert!(list.body.contains("Shipping question"));
    assert!(
        !a.get("/inbox?status=open&channel=EMAIL")
            .await
            .body
            .contains("Shipping question")
    );
    let page = a.get(&format!("/inbox/conversations/{conv}")).await;
    assert!(page.body.contains("Create ticket") && page.body.contains("Past conversations"));
    // INB-01
    let made = a
        .post(
            &format!("/conversations/{conv}/ticket"),
            &[("subject", "Shipping question")],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    assert_eq!(
        made.location.as_deref(),
        Some(format!("/inbox/conversations/{conv}").as_str())
    );
    let page = a.get(&format!("/inbox/conversations/{conv}")).await;
    let c = t.app.conversation(&Actor::system(), conv).await.unwrap();
    let ticket = c.ticket_id.unwrap();
    // INB-09: the ticket name links to the record; INB-07: View more.
    assert!(page.body.contains(&format!("href=\"/tickets/{ticket}\"")));
    assert!(page.body.contains("View more") && page.body.contains("Edit the properties shown"));
    // INB-06: the conversation's owner becomes the ticket's.
    let owned = a
        .post(
            &format!("/conversations/{conv}/owner"),
            &[("owner", &bob.id.to_string())],
        )
        .await;
    assert_eq!(owned.status, StatusCode::SEE_OTHER);
    assert_eq!(
        t.app
            .ticket(&Actor::system(), ticket)
            .await
            .unwrap()
            .owner_id,
        Some(bob.id)
    );
    // INB-07: each user picks the panel's properties.
    a.post(
        "/inbox/panel",
        &[
            ("show", "hs_ticket_priority"),
            ("show", "hs_ticket_category"),
        ],
    )
    .await;
    let page = a.get(&format!("/inbox/conversations/{conv}")).await;
    assert!(page.body.contains("name=\"p.hs_ticket_category\""));
    // INB-12: close only the conversation.
    let closed = a.post(&format!("/conversations/{conv}/close"), &[]).await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER);
    assert_eq!(
        t.app
            .conversation(&Actor::system(), conv)
            .await
            .unwrap()
            .status,
        ConversationStatus::Closed
    );
    assert!(
        t.app
            .ticket(&Actor::system(), ticket)
            .await
            .unwrap()
            .is_open,
        "the ticket stays open"
    );
    // INB-11 through the status dropdown: Closed then New reopens the single conversation.
    a.post(&format!("/conversations/{conv}/reopen"), &[]).await;
    a.post(&format!("/conversations/{conv}/status"), &[("stage", "4")])
        .await;
    assert_eq!(
        t.app
            .conversation(&Actor::system(), conv)
            .await
            .unwrap()
            .status,
        ConversationStatus::Closed
    );
    a.post(&format!("/conversations/{conv}/status"), &[("stage", "1")])
        .await;
    assert_eq!(
        t.app
            .conversation(&Actor::system(), conv)
            .await
            .unwrap()
            .status,
        ConversationStatus::Open
    );
    // INB-13: trash takes the ticket along.
    let trashed = a.post(&format!("/conversations/{conv}/trash"), &[]).await;
    assert_eq!(trashed.status, StatusCode::SEE_OTHER);
    assert!(
        t.app
            .ticket(&Actor::system(), ticket)
            .await
            .unwrap()
            .trashed_at
            .is_some()
    );
    assert!(
        a.get("/helpdesk?view=trash")
            .await
            .body
            .contains("Shipping question")
    );
}

async fn help_desk_mode_moves_the_ticket(t: TestApp) {
    agent(&t, "ann@example.com").await;
    let conv = inbox_conversation(&t, "Moving question").await;
    let base = serve(&t).await;
    let a = Browser::login(&base, "ann@example.com").await;
    let made = a.post(&format!("/conversations/{conv}/ticket"), &[]).await;
    let loc = made.location.clone().unwrap();
    assert!(loc.starts_with("/helpdesk/tickets/"), "{loc}");
    assert!(
        !a.get("/inbox").await.body.contains("Moving question"),
        "the conversation left the inbox"
    );
    assert!(a.get(&loc).await.body.contains("Moving question"));
    // HD-18: the visitor becomes a contact; the ticket is associated too. The form on the
    // ticket page says where to come back to, and the agent stays on the ticket.
    let page = a.get(&loc).await;
    let action = format!("action=\"/conversations/{conv}/visitor\"");
    let form = &page.body[page.body.find(&action).expect("the visitor form")..];
    let form = &form[..form.find("</form>").unwrap()];
    let back = attr(&form[form.find("name=\"back\"").unwrap()..], "value").unwrap();
    assert_eq!(back, loc);
    let done = a
        .post(
            &format!("/conversations/{conv}/visitor"),
            &[
                ("email", "eve@example.com"),
                ("firstname", "Eve"),
                ("back", back.as_str()),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        done.location.as_deref(),
        Some(loc.as_str()),
        "HD-18: stays on the ticket"
    );
    let page = a.get(&loc).await;
    assert!(page.body.contains("eve@example.com"));
}

async fn access_is_enforced_on_every_page(t: TestApp) {
    let system = Actor::system();
    t.team("Billing").await;
    let (owner, _) = t
        .agent("owner@example.com", TicketAccessLevel::All, &[])
        .await;
    t.agent("owned@example.com", TicketAccessLevel::Owned, &[])
        .await;
    t.user_with(
        "nosvc@example.com",
        Role::Agent,
        TicketAccessLevel::All,
        &[],
        false,
    )
    .await;
    let (core, _) = t
        .agent("core@example.com", TicketAccessLevel::All, &[])
        .await;
    t.app
        .update_user_access(
            &system,
            core.id,
            Role::Agent,
            false,
            true,
            false,
            Seat::Core,
            TicketAccessLevel::All,
        )
        .await
        .unwrap();
    let (_, tk) = crate::ui_helpdesk::inbound(&t, "Secret ticket").await;
    t.app
        .assign_ticket_owner(&system, tk, Some(owner.id))
        .await
        .unwrap();
    let base = serve(&t).await;
    // HD-09: an agent with "owned" access sees neither the ticket nor its count.
    let o = Browser::login(&base, "owned@example.com").await;
    assert!(
        !o.get("/helpdesk?view=open")
            .await
            .body
            .contains("Secret ticket")
    );
    assert_eq!(
        o.get(&format!("/helpdesk/tickets/{tk}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        o.get(&format!("/tickets/{tk}")).await.status,
        StatusCode::NOT_FOUND
    );
    // HD-05: no Service or Sales access, no help desk.
    let n = Browser::login(&base, "nosvc@example.com").await;
    assert_eq!(n.get("/helpdesk").await.status, StatusCode::FORBIDDEN);
    // HD-04: custom views and reply suggestions need a Service Seat: hidden and refused.
    let c = Browser::login(&base, "core@example.com").await;
    let list = c.get("/helpdesk").await;
    assert!(!list.body.contains("Save this list as a view"));
    assert_eq!(
        c.post(
            "/helpdesk/views",
            &[("name", "Mine"), ("query", "view=mine")]
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        c.get(&format!("/tickets/{tk}/suggestions")).await.status,
        StatusCode::FORBIDDEN
    );
    let s = Browser::login(&base, "owner@example.com").await;
    assert!(
        s.get("/helpdesk")
            .await
            .body
            .contains("Save this list as a view")
    );
    let saved = s
        .post(
            "/helpdesk/views",
            &[("name", "Mine"), ("query", "view=mine")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    assert!(s.get("/helpdesk").await.body.contains("<span>Mine</span>"));
    // Settings: admins only.
    assert_eq!(s.get("/settings/users").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        s.post("/settings/teams", &[("name", "X")]).await.status,
        StatusCode::FORBIDDEN
    );
}

async fn admin_settings_round_trip(t: TestApp) {
    t.admin("root@example.com").await;
    t.team("Support").await;
    let base = serve(&t).await;
    let a = Browser::login(&base, "root@example.com").await;
    for p in [
        "/settings",
        "/settings/users",
        "/settings/teams",
        "/settings/pipelines",
        "/settings/properties",
        "/settings/form",
        "/settings/library",
        "/settings/account",
    ] {
        assert_eq!(a.get(p).await.status, StatusCode::OK, "{p}");
    }
    let teams = t.app.teams().await.unwrap();
    let team = teams[0].id.to_string();
    // HD-03: connected addresses and the default From address.
    a.post(
        &format!("/settings/teams/{team}"),
        &[
            ("action", "connect"),
            ("address", "help@example.com"),
            ("workspace", "help_desk"),
        ],
    )
    .await;
    a.post(
        &format!("/settings/teams/{team}"),
        &[
            ("action", "connect"),
            ("address", "billing@example.com"),
            ("workspace", "help_desk"),
        ],
    )
    .await;
    let r = a
        .post(
            &format!("/settings/teams/{team}"),
            &[
                ("action", "default_from"),
                ("address", "billing@example.com"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        t.app.teams().await.unwrap()[0]
            .default_from_address
            .as_deref(),
        Some("billing@example.com")
    );
    // Properties, the create form, libraries and account mode.
    assert_eq!(
        a.post(
            "/settings/properties",
            &[
                ("label", "Order number"),
                ("name", "order_number"),
                ("type", "string")
            ]
        )
        .await
        .status,
        StatusCode::SEE_OTHER
    );
    a.post(
        "/settings/form",
        &[("field", "order_number"), ("required", "order_number")],
    )
    .await;
    assert!(
        a.get("/helpdesk/new")
            .await
            .body
            .contains("Order number <span class=\"req\">(required)</span>")
    );
    a.post(
        "/settings/library",
        &[
            ("kind", "snippet"),
            ("title", "Greeting"),
            ("body", "<p>Hello <script>x</script></p>"),
        ],
    )
    .await;
    let items = t
        .app
        .library_items(&Actor::system(), Some("snippet"))
        .await
        .unwrap();
    assert_eq!(items[0].body_html, "<p>Hello </p>");
    a.post(
        "/settings/account",
        &[("mode", "inbox"), ("retention", "30")],
    )
    .await;
    let s = t.app.account_settings().await.unwrap();
    assert_eq!((s.mode, s.trash_retention_days), (AccountMode::Inbox, 30));
    // Pipelines with a conditional stage.
    a.post(
        "/settings/pipelines",
        &[("label", "Returns"), ("stages", "Open\nDone (closed)")],
    )
    .await;
    let p = t
        .app
        .pipelines()
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.label == "Returns")
        .unwrap();
    let done = p.stages.iter().find(|s| s.label == "Done").unwrap();
    let r = a
        .post(
            &format!("/settings/stages/{}", done.id),
            &[
                ("pipeline", &p.id.to_string()),
                ("label", "Done"),
                ("closed", "1"),
                ("required", "hs_ticket_category"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let p = t.app.pipeline(p.id).await.unwrap();
    assert_eq!(
        p.stages
            .iter()
            .find(|s| s.label == "Done")
            .unwrap()
            .required_properties,
        vec!["hs_ticket_category".to_string()]
    );
    // Users: create one from the screen.
    let r = a
        .post(
            "/settings/users",
            &[
                ("name", "Nia"),
                ("email", "nia@example.com"),
                ("password", "longenough1"),
                ("role", "agent"),
                ("ticket_access", "team"),
                ("seat", "service"),
                ("service_access", "1"),
                ("team", "Support"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(
        t.app
            .user_by_email("nia@example.com")
            .await
            .unwrap()
            .is_some()
    );
}

/// HD-18 asks about visitors nobody knows: a chat visitor who left an address is asked
/// about until a contact with that address exists (made here through the contact form),
/// then the conversation shows that contact and the question is gone.
async fn visitor_question_ends_once_a_contact_has_the_address(t: TestApp) {
    agent(&t, "ann@example.com").await;
    let (c, _) = t
        .app
        .create_conversation(
            &Actor::system(),
            fd_app::NewConversation {
                channel: Channel::Chat,
                channel_account: None,
                workspace: Workspace::Inbox,
                team: None,
                owner: None,
                contact: None,
                visitor_name: Some("Vera".into()),
                visitor_email: Some("vera@customer.example".into()),
                subject: Some("Chat about sizes".into()),
                ticket: fd_app::TicketCreation::None,
            },
            Some(InboundMessage {
                sender_name: Some("Vera".into()),
                text: "Does it come in blue?".into(),
                ..InboundMessage::default()
            }),
        )
        .await
        .unwrap();
    let base = serve(&t).await;
    let a = Browser::login(&base, "ann@example.com").await;
    let page = a.get(&format!("/inbox/conversations/{}", c.id)).await;
    assert!(page.body.contains("Associate this visitor with a contact"));
    assert!(page.body.contains("(not a contact yet)"));
    let made = a
        .post(
            "/contacts",
            &[
                ("email", "Vera@Customer.example"),
                ("firstname", "Vera"),
                ("lastname", "Blue"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let page = a.get(&format!("/inbox/conversations/{}", c.id)).await;
    assert!(
        !page.body.contains("Associate this visitor"),
        "no question left"
    );
    assert!(!page.body.contains("(not a contact yet)"));
    assert!(page.body.contains("Vera Blue"));
    // The new pages list her; a refused edit keeps what was typed, next to the field.
    let list = a.get("/contacts?q=customer.example").await;
    assert!(list.body.contains("Vera Blue"), "{}", list.body);
    let id = made.location.unwrap();
    let bad = a
        .post(&id, &[("email", "no address"), ("firstname", "Vee")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("f-email-error") && bad.body.contains("value=\"Vee\""));
}

/// HD-15: a reply in the inbox is preselected to go out from the team address the customer
/// wrote to (hello@), not the team's default From (support@); a conversation that did not
/// arrive on a connected address still gets the team's default. Sending without choosing
/// goes out from the same address the editor showed.
async fn reply_from_defaults_to_the_address_written_to(t: TestApp) {
    let team = t.team("Support").await;
    for a in ["support@frontdesk.example", "hello@frontdesk.example"] {
        t.app
            .connect_team_address(&Actor::system(), team, a, Workspace::Inbox)
            .await
            .unwrap();
    }
    let (_, ann) = t
        .agent("ann@example.com", TicketAccessLevel::All, &["Support"])
        .await;
    let mut ids = Vec::new();
    for (account, subject) in [
        (Some("hello@frontdesk.example"), "Written to hello"),
        (None, "Arrived elsewhere"),
    ] {
        let (c, _) = t
            .app
            .create_conversation(
                &Actor::system(),
                fd_app::NewConversation {
                    channel: Channel::Email,
                    channel_account: account.map(str::to_string),
                    workspace: Workspace::Inbox,
                    team: Some(team),
                    owner: None,
                    contact: None,
                    visitor_name: Some("Cleo".into()),
                    visitor_email: Some("cleo@customer.example".into()),
                    subject: Some(subject.into()),
                    ticket: fd_app::TicketCreation::None,
                },
                Some(InboundMessage {
                    sender_name: Some("Cleo".into()),
                    sender_address: Some("cleo@customer.example".into()),
                    text: "Hello there".into(),
                    ..InboundMessage::default()
                }),
            )
            .await
            .unwrap();
        ids.push(c.id);
    }
    let base = serve(&t).await;
    let a = Browser::login(&base, "ann@example.com").await;
    let page = a.get(&format!("/inbox/conversations/{}", ids[0])).await;
    assert!(
        page.body
            .contains(r#"<option value="hello@frontdesk.example" selected>"#),
        "{}",
        page.body
    );
    assert!(
        !page
            .body
            .contains(r#"<option value="support@frontdesk.example" selected>"#)
    );
    let page = a.get(&format!("/inbox/conversations/{}", ids[1])).await;
    assert!(
        page.body
            .contains(r#"<option value="support@frontdesk.example" selected>"#),
        "{}",
        page.body
    );
    // The send use case picks the same when no From is given.
    assert_eq!(
        t.app
            .default_reply_from(&ann, ids[0])
            .await
            .unwrap()
            .as_deref(),
        Some("hello@frontdesk.example")
    );
    assert_eq!(
        t.app
            .default_reply_from(&ann, ids[1])
            .await
            .unwrap()
            .as_deref(),
        Some("support@frontdesk.example")
    );
}

fd_testkit::on_both_backends! {
    ui_hd_15_inbox_reply_from_is_the_address_written_to => reply_from_defaults_to_the_address_written_to;
    ui_hd_18_visitor_question_ends_once_a_contact_has_the_address => visitor_question_ends_once_a_contact_has_the_address;
    ui_inb_01_06_07_12_13_inbox_flow => inbox_create_ticket_owner_close_and_trash;
    ui_inb_14_help_desk_mode_and_hd_18_visitor => help_desk_mode_moves_the_ticket;
    ui_hd_04_05_09_access => access_is_enforced_on_every_page;
    ui_admin_settings => admin_settings_round_trip;
}
