//! HD-06/HD-07 and INB-11 on every road: the stage where automatic tickets start and where a
//! customer's message reopens a closed ticket is one rule (`hd_06_intake_stage`,
//! `inb_11_reopen_stage`), and no pipeline edit — from the settings pages or the pipelines
//! API — can take it away; inbound mail still becomes a ticket after every attempt.

use fd_app::domain::entities::Ticket;
use fd_app::domain::*;
use fd_app::{Actor, MailService, MailSettings};
use fd_mail::{IncomingMail, MailSource};
use fd_testkit::TestApp;
use reqwest::StatusCode;
use serde_json::json;

use crate::api_common::Api;
use crate::ui_common::*;

const SUPPORT: &str = "support@help.example";

async fn mail_service(t: &TestApp) -> MailService {
    t.team("Support").await;
    t.app
        .connect_email(
            &Actor::system(),
            SUPPORT,
            "Support",
            Workspace::HelpDesk,
            false,
        )
        .await
        .unwrap();
    MailService::new(t.app.clone(), MailSettings::default())
}

/// Delivers a customer's mail as the SMTP listener would and runs the ingest job; returns
/// the ticket it was filed on, as stored now.
async fn deliver(
    mail: &MailService,
    msgid: &str,
    subject: &str,
    in_reply_to: Option<&str>,
) -> Ticket {
    let reply = in_reply_to
        .map(|r| format!("In-Reply-To: <{r}>\r\nReferences: <{r}>\r\n"))
        .unwrap_or_default();
    let raw = format!(
        "From: Carol <carol@customer.example>\r\nTo: {SUPPORT}\r\nSubject: {subject}\r\n\
         Message-ID: <{msgid}>\r\n{reply}MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nPlease help\r\n"
    );
    let id = mail
        .accept(IncomingMail {
            source: MailSource::Smtp {
                peer: "127.0.0.1:1".into(),
                helo: "test".into(),
                tls: false,
            },
            envelope_from: Some("carol@customer.example".into()),
            recipients: vec![SUPPORT.into()],
            raw: raw.into_bytes(),
            truncated_from: None,
        })
        .await
        .unwrap();
    mail.run_pending_jobs().await.unwrap();
    let system = Actor::system();
    let (stored, _) = mail.app().raw_mail(&system, id).await.unwrap();
    let conversation = mail
        .app()
        .conversation(&system, stored.conversation_id.expect("the mail was filed"))
        .await
        .unwrap();
    let ticket = conversation.ticket_id.expect("a help-desk ticket");
    mail.app().ticket(&system, ticket).await.unwrap()
}

/// The settings pages refuse to archive, close or make conditional the intake stage ("New",
/// id 1), saying why; mail keeps creating tickets there.
async fn ui_road(t: TestApp) {
    t.admin("root@example.com").await;
    let mail = mail_service(&t).await;
    let base = serve(&t).await;
    let b = Browser::login(&base, "root@example.com").await;
    let attempts: [&[(&str, &str)]; 3] = [
        &[("pipeline", "0"), ("action", "archive")],
        &[
            ("pipeline", "0"),
            ("label", "New"),
            ("order", "0"),
            ("required", "hs_ticket_priority"),
        ],
        &[
            ("pipeline", "0"),
            ("label", "New"),
            ("order", "0"),
            ("closed", "on"),
        ],
    ];
    for fields in attempts {
        let r = b.post("/settings/stages/1", fields).await;
        assert_ne!(r.status, StatusCode::SEE_OTHER, "{fields:?} was accepted");
        assert!(r.status.is_client_error(), "{}: {}", r.status, r.body);
        assert!(
            r.body.contains("HD-06") && r.body.contains("automatically created tickets start"),
            "{}",
            r.body
        );
    }
    let stage = t.app.pipeline(PipelineId(0)).await.unwrap().stages[0].clone();
    assert_eq!(stage.id, StageId(1));
    assert!(stage.takes_automatic_tickets(), "{stage:?}");
    let ticket = deliver(&mail, "m1@customer.example", "Printer jam", None).await;
    assert_eq!(ticket.stage_id, StageId(1));
    // The create form preselects the same stage.
    let form = b.get("/helpdesk/new").await;
    assert_eq!(form.status, StatusCode::OK);
    // Reordering so another OPEN stage comes first is allowed, and mail lands there; "New"
    // is no longer the intake stage, so it may become conditional.
    let r = b
        .post(
            "/settings/stages/3",
            &[
                ("pipeline", "0"),
                ("label", "Waiting on us"),
                ("order", "-1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = b
        .post(
            "/settings/stages/1",
            &[
                ("pipeline", "0"),
                ("label", "New"),
                ("order", "0"),
                ("required", "hs_ticket_priority"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let ticket = deliver(&mail, "m2@customer.example", "Scanner jam", None).await;
    assert_eq!(ticket.stage_id, StageId(3));
}

/// The pipelines API refuses the same edits with 400 and the rule's id, on the stage routes
/// and on a whole-pipeline replace; mail keeps creating tickets.
async fn api_road(t: TestApp) {
    let api = Api::start(t).await;
    let mail = mail_service(&api.t).await;
    let stage = "/crm/v3/pipelines/tickets/0/stages/1";
    let refused = [
        api.delete(stage).await,
        api.patch(stage, json!({"archived": true})).await,
        api.patch(
            stage,
            json!({"metadata": {"ticketState": "OPEN", "requiredProperties": "hs_ticket_priority"}}),
        )
        .await,
        api.patch(stage, json!({"metadata": {"ticketState": "CLOSED"}}))
            .await,
        api.put(
            "/crm/v3/pipelines/tickets/0",
            Some(json!({"label": "Support", "displayOrder": 0, "stages": [
                {"label": "Waiting on contact", "displayOrder": 0, "metadata": {"ticketState": "OPEN"}},
                {"label": "Closed", "displayOrder": 1, "metadata": {"ticketState": "CLOSED"}},
            ]})),
        )
        .await,
        // Archiving the only pipeline.
        api.delete("/crm/v3/pipelines/tickets/0").await,
        api.patch("/crm/v3/pipelines/tickets/0", json!({"archived": true}))
            .await,
        // A new pipeline in front of the default one, with nowhere for tickets to start.
        api.post(
            "/crm/v3/pipelines/tickets",
            json!({"label": "Archive only", "displayOrder": -10, "stages": [
                {"label": "Done", "displayOrder": 0, "metadata": {"ticketState": "CLOSED"}},
            ]}),
        )
        .await,
    ];
    for r in &refused {
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.error_category(), "VALIDATION_ERROR");
        assert_eq!(r.body["context"]["rule"][0], "HD-06", "{}", r.body);
    }
    let p = api.get("/crm/v3/pipelines/tickets/0").await;
    assert_eq!(p.body["stages"].as_array().unwrap().len(), 4, "{}", p.body);
    assert_eq!(
        api.get("/crm/v3/pipelines/tickets").await.body["results"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let ticket = deliver(&mail, "a1@customer.example", "Broken login", None).await;
    assert_eq!(ticket.stage_id, StageId(1));
    assert_eq!(ticket.pipeline_id, PipelineId(0));
}

/// INB-11 through the use case, on the mail road and on another channel: a customer's
/// message on a closed ticket moves it to its pipeline's first OPEN stage (the same rule),
/// and a pipeline edit cannot leave a pipeline with nowhere to reopen into.
async fn reopen_road(t: TestApp) {
    let api = Api::start(t).await;
    let mail = mail_service(&api.t).await;
    let first = deliver(&mail, "r1@customer.example", "Refund", None).await;
    let path = format!("/crm/v3/objects/tickets/{}", first.id);
    let r = api
        .patch(&path, json!({"properties": {"hs_pipeline_stage": "4"}}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let reopened = deliver(
        &mail,
        "r2@customer.example",
        "Re: Refund",
        Some("r1@customer.example"),
    )
    .await;
    assert_eq!(reopened.id, first.id);
    assert!(reopened.is_open);
    assert_eq!(reopened.stage_id, StageId(1));

    // Another channel, straight through the use case that records a customer's message.
    let (c, t) = api.email_thread("Chat about billing").await;
    let r = api
        .patch(
            &format!("/crm/v3/objects/tickets/{}", t.id),
            json!({"properties": {"hs_pipeline_stage": "4"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    api.t
        .app
        .record_inbound_message(
            &Actor::system(),
            c.id,
            fd_app::InboundMessage {
                text: "Still broken".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let t2 = api.t.app.ticket(&Actor::system(), t.id).await.unwrap();
    assert!(t2.is_open);
    assert_eq!(t2.stage_id, StageId(1));
    let conv = api
        .t
        .app
        .conversation(&Actor::system(), c.id)
        .await
        .unwrap();
    assert_eq!(conv.status, ConversationStatus::Open);

    // A second pipeline may not lose its only OPEN stage (INB-11's reopen target).
    let p = api
        .post(
            "/crm/v3/pipelines/tickets",
            json!({"label": "Billing", "displayOrder": 5, "stages": [
                {"label": "Open", "displayOrder": 0, "metadata": {"ticketState": "OPEN"}},
                {"label": "Done", "displayOrder": 1, "metadata": {"ticketState": "CLOSED"}},
            ]}),
        )
        .await;
    assert_eq!(p.status, 201, "{}", p.body);
    let pid = p.body["id"].as_str().unwrap();
    let open = p.body["stages"][0]["id"].as_str().unwrap();
    let r = api
        .delete(&format!("/crm/v3/pipelines/tickets/{pid}/stages/{open}"))
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["context"]["rule"][0], "INB-11", "{}", r.body);
}

fd_testkit::on_both_backends! {
    hd_06_ui_pipeline_edits_cannot_take_the_intake_stage => ui_road;
    hd_06_api_pipeline_edits_cannot_take_the_intake_stage => api_road;
    inb_11_a_customer_message_reopens_a_closed_ticket_on_any_channel => reopen_road;
}
