//! Notification emails and follow-up tickets over real SMTP, on SQLite and PostgreSQL: the
//! relay is this test's own Frontdesk SMTP listener, so every notification email also loops
//! back into the inbound pipeline, which must not turn it into a ticket.

use fd_app::domain::*;
use fd_app::{Actor, MailSettings, Reply};
use fd_store::TicketListQuery;
use fd_testkit::TestApp;

use crate::mail::{Env, env_with, msg};

const SUPPORT: &str = "support@help.example";
/// The agents' own mailbox, connected so the relay (our listener) accepts mail to it.
const AGENTS: &str = "agents@help.example";

fd_testkit::on_both_backends! {
    notify_emails_link_to_the_ticket_obey_hd_09_and_never_open_tickets => emails;
    notify_digest_gathers_unread_notifications_in_one_email => digest;
    notify_inb_11_a_late_email_reply_opens_a_follow_up_ticket => follow_up_by_mail;
}

async fn relayed_env(t: TestApp) -> Env {
    // The listener's address is known only once it runs: start it, then point the relay at it.
    let probe = env_with(t, MailSettings::default()).await;
    let addr = probe.smtp_addr();
    let relay =
        fd_mail::send::Relay::new(&format!("smtp://{addr}?tls=none"), "localhost", None).unwrap();
    probe
        .with_settings(MailSettings {
            relay: Some(relay),
            public_url: Some("https://help.example/".into()),
            notify_from: Some("notifications@help.example".into()),
            ..MailSettings::default()
        })
        .await
}

async fn team_id(e: &Env, name: &str) -> TeamId {
    let mut tx = e.t.app.db().read().await.unwrap();
    let t = tx.team_by_name(name).await.unwrap().unwrap();
    tx.commit().await.unwrap();
    t.id
}

async fn tickets(e: &Env) -> i64 {
    let mut tx = e.t.app.db().read().await.unwrap();
    let q = TicketListQuery {
        view: fd_store::TicketView::All,
        ..TicketListQuery::default()
    };
    let n = tx.count_tickets(&ViewerScope::All, &q).await.unwrap();
    tx.commit().await.unwrap();
    n
}

/// Raw mail received for the agents' mailbox, with its bytes, oldest first.
async fn agent_mail(e: &Env) -> Vec<(fd_store::RawMail, String)> {
    let list =
        e.t.app
            .raw_mail_list(&Actor::system(), None, 1000)
            .await
            .unwrap();
    let mut out = Vec::new();
    for r in list {
        if r.recipients.iter().any(|a| a == AGENTS) {
            let (meta, bytes) = e.t.app.raw_mail(&Actor::system(), r.id).await.unwrap();
            out.push((meta, String::from_utf8_lossy(&bytes).to_string()));
        }
    }
    out.sort_by_key(|(m, _)| m.id);
    out
}

async fn emails(t: TestApp) {
    let e = relayed_env(t).await;
    let system = Actor::system();
    e.t.app
        .connect_email(&system, AGENTS, "Support", Workspace::HelpDesk, false)
        .await
        .unwrap();
    let (ann_u, ann) =
        e.t.agent(AGENTS, TicketAccessLevel::Team, &["Support"])
            .await;
    let (_, bob) =
        e.t.agent("bob@help.example", TicketAccessLevel::All, &[])
            .await;
    e.receive(
        "gina@customer.example",
        &[SUPPORT],
        &msg(
            "Gina <gina@customer.example>",
            SUPPORT,
            "Printer on fire",
            Some("<g1@customer.example>"),
            "",
            "It is burning.\r\n",
        ),
    )
    .await;
    e.run_jobs().await;
    let tkt = e.conversations().await.remove(0).ticket_id.unwrap();
    e.t.app
        .assign_ticket_owner(&bob, tkt, Some(ann_u.id))
        .await
        .unwrap();
    let before_tickets = tickets(&e).await;
    // Bob comments: Ann (owner, immediately by default) gets one email.
    e.t.app
        .comment(
            &bob,
            Some(tkt),
            None,
            "Bring the extinguisher, quickly please",
        )
        .await
        .unwrap();
    let stats = e.run_jobs().await;
    assert_eq!(stats.sent, 2, "the assignment and the comment: {stats:?}");
    // The emails looped back into our own listener: ingest them.
    e.run_jobs().await;
    let got = agent_mail(&e).await;
    assert_eq!(got.len(), 2);
    let (meta, raw) = &got[1];
    let n = e.t.app.notifications(&ann, 10).await.unwrap();
    let comment_note = n.iter().find(|n| n.kind == "comment").unwrap();
    let flat = raw.replace("\r\n ", " ");
    assert!(flat.contains("Auto-Submitted: auto-generated"), "{raw}");
    assert!(!flat.contains("Reply-To:"), "no reply address: {raw}");
    assert!(!flat.contains("In-Reply-To:") && !flat.contains("References:"));
    assert!(
        flat.contains(&format!(
            "Subject: bob commented on \"Printer on fire\" (#{tkt})"
        )),
        "names the ticket without a [#id] tag: {raw}"
    );
    assert!(!flat.contains("[#"), "{raw}");
    assert!(
        raw.contains(&format!(
            "https://help.example/notifications/{}",
            comment_note.id
        )),
        "links to the notification, which opens the ticket: {raw}"
    );
    assert!(raw.contains("Bring the extinguisher, quickly please"));
    assert_eq!(meta.envelope_from.as_deref().unwrap_or(""), "");
    // Looping back, it was not made a ticket nor added to one.
    assert_eq!(tickets(&e).await, before_tickets);
    assert!(meta.conversation_id.is_none(), "{meta:?}");
    assert_eq!(meta.status, "ignored", "taken for automatic mail: {meta:?}");
    assert!(comment_note.emailed_at.is_some());

    // HD-09 when sending: Ann follows a Support ticket she does not own; a comment queues
    // her email, then the ticket moves to Billing before the job runs: nothing is sent.
    let other =
        e.t.app
            .create_ticket(
                &bob,
                fd_app::NewTicket {
                    properties: [
                        ("subject".to_string(), "Scanner".to_string()),
                        ("hs_pipeline_stage".to_string(), "1".to_string()),
                        (
                            "hubspot_team_id".to_string(),
                            team_id(&e, "Support").await.to_string(),
                        ),
                    ]
                    .into_iter()
                    .collect(),
                    associations: Vec::new(),
                    via_form: false,
                },
            )
            .await
            .unwrap();
    e.t.app.follow_ticket(&ann, other.id, true).await.unwrap();
    e.t.app
        .comment(&bob, Some(other.id), None, "secret")
        .await
        .unwrap();
    e.t.app
        .update_ticket(
            &bob,
            other.id,
            fd_app::TicketChanges {
                properties: [(
                    "hubspot_team_id".to_string(),
                    team_id(&e, "Billing").await.to_string(),
                )]
                .into_iter()
                .collect(),
                ..fd_app::TicketChanges::default()
            },
        )
        .await
        .unwrap();
    let stats = e.run_jobs().await;
    assert_eq!(stats.sent, 0, "{stats:?}");
    assert_eq!(stats.not_sent, 1, "{stats:?}");
    e.run_jobs().await;
    assert_eq!(agent_mail(&e).await.len(), 2);

    // Off: no email at all.
    e.t.app.set_notify_email_mode(&ann, "off").await.unwrap();
    e.t.app
        .comment(&bob, Some(tkt), None, "quiet")
        .await
        .unwrap();
    assert_eq!(e.run_jobs().await.sent, 0);
    assert_eq!(agent_mail(&e).await.len(), 2);
}

async fn digest(t: TestApp) {
    let e = relayed_env(t).await;
    let system = Actor::system();
    e.t.app
        .connect_email(&system, AGENTS, "Support", Workspace::HelpDesk, false)
        .await
        .unwrap();
    let (_, ann) = e.t.agent(AGENTS, TicketAccessLevel::All, &[]).await;
    let (_, bob) =
        e.t.agent("bob@help.example", TicketAccessLevel::All, &[])
            .await;
    e.t.app.set_notify_email_mode(&ann, "daily").await.unwrap();
    let one =
        e.t.app
            .create_ticket(&bob, ticket_input("Printer"))
            .await
            .unwrap();
    let two =
        e.t.app
            .create_ticket(&bob, ticket_input("Scanner"))
            .await
            .unwrap();
    for t in [one.id, two.id] {
        e.t.app.follow_ticket(&ann, t, true).await.unwrap();
    }
    e.t.app
        .comment(&bob, Some(one.id), None, "first note")
        .await
        .unwrap();
    e.t.app
        .comment(&bob, Some(two.id), None, "second note")
        .await
        .unwrap();
    e.t.app
        .comment(&bob, Some(two.id), None, "already seen")
        .await
        .unwrap();
    // One read already: not in the digest.
    let read = e.t.app.notifications(&ann, 10).await.unwrap()[0].id;
    e.t.app.open_notification(&ann, read).await.unwrap();
    assert_eq!(e.run_jobs().await.sent, 0, "no immediate email");
    assert_eq!(e.t.app.queue_notification_digests().await.unwrap(), 1);
    assert_eq!(e.run_jobs().await.sent, 1);
    e.run_jobs().await;
    let got = agent_mail(&e).await;
    assert_eq!(got.len(), 1);
    let raw = &got[0].1;
    assert!(raw.contains("2 new notification(s)"), "{raw}");
    assert!(
        raw.contains(&format!("Ticket #{}: Printer", one.id)),
        "{raw}"
    );
    assert!(
        raw.contains("first note") && raw.contains("second note"),
        "{raw}"
    );
    assert!(!raw.contains("already seen"), "{raw}");
    assert!(raw.contains("Auto-Submitted: auto-generated"));
    // Emailed: a later digest does not repeat them; a day later with nothing new, none.
    e.t.clock.advance_ms(86_400_000 + 1000);
    assert_eq!(e.t.app.queue_notification_digests().await.unwrap(), 0);
}

fn ticket_input(subject: &str) -> fd_app::NewTicket {
    fd_app::NewTicket {
        properties: [
            ("subject".to_string(), subject.to_string()),
            ("hs_pipeline_stage".to_string(), "1".to_string()),
        ]
        .into_iter()
        .collect(),
        associations: Vec::new(),
        via_form: false,
    }
}

async fn follow_up_by_mail(t: TestApp) {
    const DAY: i64 = 86_400_000;
    let e = env_with(t, MailSettings::default()).await;
    let (_, ann) =
        e.t.agent("ann@help.example", TicketAccessLevel::All, &[])
            .await;
    e.receive(
        "gina@customer.example",
        &[SUPPORT],
        &msg(
            "Gina <gina@customer.example>",
            SUPPORT,
            "Printer",
            Some("<p1@customer.example>"),
            "",
            "It jams.\r\n",
        ),
    )
    .await;
    e.run_jobs().await;
    let old = e.conversations().await.remove(0).ticket_id.unwrap();
    let close = |id: TicketId| {
        let app = e.t.app.clone();
        let ann = ann.clone();
        async move {
            app.update_ticket(
                &ann,
                id,
                fd_app::TicketChanges {
                    properties: [("hs_pipeline_stage".to_string(), "4".to_string())]
                        .into_iter()
                        .collect(),
                    ..fd_app::TicketChanges::default()
                },
            )
            .await
            .unwrap();
        }
    };
    close(old).await;
    // Within the week: a reply (In-Reply-To) reopens the ticket.
    e.t.clock.advance_ms(3 * DAY);
    e.receive(
        "gina@customer.example",
        &[SUPPORT],
        &msg(
            "Gina <gina@customer.example>",
            SUPPORT,
            "Re: Printer",
            Some("<p2@customer.example>"),
            "In-Reply-To: <p1@customer.example>\r\n",
            "Still jams.\r\n",
        ),
    )
    .await;
    e.run_jobs().await;
    assert_eq!(tickets(&e).await, 1);
    assert!(e.t.app.ticket(&Actor::system(), old).await.unwrap().is_open);
    close(old).await;
    // Eight days later, a reply naming the ticket's [#id] tag: a follow-up ticket.
    e.t.clock.advance_ms(8 * DAY);
    e.receive(
        "gina@customer.example",
        &[SUPPORT],
        &msg(
            "Gina <gina@customer.example>",
            SUPPORT,
            &format!("Re: Printer [#{old}]"),
            Some("<p3@customer.example>"),
            "",
            "New problem: it prints blank pages.\r\n",
        ),
    )
    .await;
    e.run_jobs().await;
    assert_eq!(tickets(&e).await, 2);
    let old_t = e.t.app.ticket(&Actor::system(), old).await.unwrap();
    assert!(!old_t.is_open, "the old ticket stays closed");
    let (_, ups) =
        e.t.app
            .follow_up_links(&Actor::system(), old)
            .await
            .unwrap();
    assert_eq!(ups.len(), 1);
    let d =
        e.t.app
            .ticket_details(&Actor::system(), ups[0].0)
            .await
            .unwrap();
    assert_eq!(d.ticket.subject, format!("Printer (follow-up of #{old})"));
    let m =
        e.t.app
            .messages(&Actor::system(), d.conversations[0].id)
            .await
            .unwrap();
    assert_eq!(m.len(), 1);
    assert!(m[0].text.contains("blank pages"));
    assert_eq!(
        d.contacts
            .iter()
            .filter_map(|k| k.email.clone())
            .collect::<Vec<_>>(),
        ["gina@customer.example"]
    );
    // The agent's reply on the follow-up threads there: the customer's answer to it lands
    // on the follow-up, not on the old ticket.
    let sent =
        e.t.app
            .send_reply(
                &ann,
                d.conversations[0].id,
                Reply {
                    text: "Looking into it".into(),
                    ..Reply::default()
                },
            )
            .await
            .unwrap();
    e.receive(
        "gina@customer.example",
        &[SUPPORT],
        &msg(
            "Gina <gina@customer.example>",
            SUPPORT,
            "Re: Printer (follow-up)",
            Some("<p4@customer.example>"),
            &format!(
                "In-Reply-To: {}\r\n",
                sent.message_id_header.clone().unwrap()
            ),
            "Thanks.\r\n",
        ),
    )
    .await;
    e.run_jobs().await;
    assert_eq!(tickets(&e).await, 2);
    assert_eq!(
        e.t.app
            .messages(&Actor::system(), d.conversations[0].id)
            .await
            .unwrap()
            .len(),
        3
    );
}
