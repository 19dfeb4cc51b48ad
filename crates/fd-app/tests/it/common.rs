//! Small builders and assertions shared by the scenarios.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use fd_app::domain::*;
use fd_app::{Actor, AppError, InboundMessage, NewContact, NewConversation, NewTicket, Reply};
use fd_app::{TicketChanges, TicketCreation};
use fd_store::*;
use fd_testkit::TestApp;

/// The default pipeline and its seeded stages ("1" New … "4" Closed).
pub const PIPELINE: &str = "0";
pub const STAGE_NEW: &str = "1";
pub const STAGE_WAITING: &str = "2";
pub const STAGE_CLOSED: &str = "4";

pub fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Every live ticket, one page big enough for any test.
pub fn all_tickets() -> TicketListQuery {
    TicketListQuery {
        view: TicketView::All,
        limit: 1000,
        ..TicketListQuery::default()
    }
}

/// How many live tickets exist, whoever may see them.
pub async fn ticket_count(t: &TestApp) -> i64 {
    t.app
        .count_tickets(&Actor::system(), &all_tickets())
        .await
        .unwrap()
}

/// Every ticket, trashed ones included.
pub async fn ticket_count_with_trash(t: &TestApp) -> i64 {
    let trash = TicketListQuery {
        view: TicketView::Trash,
        ..all_tickets()
    };
    ticket_count(t).await + t.app.count_tickets(&Actor::system(), &trash).await.unwrap()
}

/// A ticket by hand in the default pipeline's first stage.
pub async fn ticket(t: &TestApp, actor: &Actor, subject: &str) -> Ticket {
    ticket_with(t, actor, &[("subject", subject)]).await
}

/// A ticket by hand with extra properties (subject and stage default when not given).
pub async fn ticket_with(t: &TestApp, actor: &Actor, extra: &[(&str, &str)]) -> Ticket {
    let mut p = props(&[("subject", "A ticket"), ("hs_pipeline_stage", STAGE_NEW)]);
    p.extend(props(extra));
    t.app
        .create_ticket(
            actor,
            NewTicket {
                properties: p,
                ..NewTicket::default()
            },
        )
        .await
        .unwrap()
}

pub async fn update(t: &TestApp, actor: &Actor, id: TicketId, pairs: &[(&str, &str)]) -> Ticket {
    t.app
        .update_ticket(
            actor,
            id,
            TicketChanges {
                properties: props(pairs),
                expected_version: None,
            },
        )
        .await
        .unwrap()
}

pub async fn move_to_stage(t: &TestApp, actor: &Actor, id: TicketId, stage: &str) -> Ticket {
    update(t, actor, id, &[("hs_pipeline_stage", stage)]).await
}

pub async fn contact(t: &TestApp, email: &str) -> Contact {
    t.app
        .create_contact(
            &Actor::system(),
            NewContact {
                email: Some(email.into()),
                firstname: Some(email.split('@').next().unwrap_or(email).into()),
                ..NewContact::default()
            },
        )
        .await
        .unwrap()
}

pub fn new_conversation(channel: Channel, contact: Option<ContactId>) -> NewConversation {
    NewConversation {
        channel,
        channel_account: None,
        workspace: Workspace::Inbox,
        team: None,
        owner: None,
        contact,
        visitor_name: None,
        visitor_email: None,
        subject: Some(format!("{channel} from a customer")),
        ticket: TicketCreation::None,
    }
}

pub fn inbound(text: &str, from: &str, message_id: &str) -> InboundMessage {
    InboundMessage {
        sender_name: Some("Customer".into()),
        sender_address: Some(from.into()),
        subject: Some("Help".into()),
        text: text.into(),
        message_id_header: Some(message_id.into()),
        ..InboundMessage::default()
    }
}

/// An email conversation from `contact` with a first inbound message; `ticket` says whether
/// the channel creates its ticket.
pub async fn email_conversation(
    t: &TestApp,
    contact: &Contact,
    ticket: TicketCreation,
) -> (Conversation, Option<Ticket>) {
    let from = contact.email.clone().unwrap_or_default();
    let input = NewConversation {
        ticket,
        ..new_conversation(Channel::Email, Some(contact.id))
    };
    let msgid = unique_message_id();
    t.app
        .create_conversation(
            &Actor::system(),
            input,
            Some(inbound("My printer is on fire", &from, &msgid)),
        )
        .await
        .unwrap()
}

/// An email conversation from a new contact, with its ticket.
pub async fn conversation_with_ticket(t: &TestApp, email: &str) -> (Conversation, Ticket, Contact) {
    let k = contact(t, email).await;
    let (c, tk) = email_conversation(t, &k, TicketCreation::Automatic).await;
    (c, tk.expect("an automatic ticket"), k)
}

/// A further conversation of `contact` attached to `ticket` (a ticket may have several).
pub async fn attach_new_conversation(
    t: &TestApp,
    actor: &Actor,
    ticket: TicketId,
    contact: &Contact,
) -> Conversation {
    let (c, none) = email_conversation(t, contact, TicketCreation::None).await;
    assert!(none.is_none());
    t.app
        .associate(
            actor,
            fd_app::AssociationEnd::new(ObjectType::Ticket, ticket.0),
            fd_app::AssociationEnd::new(ObjectType::Conversation, c.id.0),
        )
        .await
        .unwrap();
    conv(t, c.id).await
}

/// A conversation as the system sees it (trashed ones too).
pub async fn conv(t: &TestApp, id: ConversationId) -> Conversation {
    t.app.conversation(&Actor::system(), id).await.unwrap()
}

/// A ticket as the system sees it (trashed ones too).
pub async fn tk(t: &TestApp, id: TicketId) -> Ticket {
    t.app.ticket(&Actor::system(), id).await.unwrap()
}

pub fn reply(text: &str) -> Reply {
    Reply {
        text: text.into(),
        ..Reply::default()
    }
}

/// Asserts a `DomainError::Invalid` naming `field`.
#[track_caller]
pub fn assert_invalid<T: std::fmt::Debug>(r: Result<T, AppError>, field: &str) {
    match r {
        Err(AppError::Domain(DomainError::Invalid(fields))) => assert!(
            fields.iter().any(|f| f.field == field),
            "expected an error naming {field:?}, got {fields:?}"
        ),
        other => panic!("expected DomainError::Invalid naming {field:?}, got {other:?}"),
    }
}

/// Asserts a `DomainError::RuleViolation` of `rule`.
#[track_caller]
pub fn assert_rule<T: std::fmt::Debug>(r: Result<T, AppError>, rule: &str) {
    match r {
        Err(AppError::Domain(DomainError::RuleViolation { rule: got, .. })) => {
            assert_eq!(got, rule)
        }
        other => panic!("expected a {rule} rule violation, got {other:?}"),
    }
}

#[track_caller]
pub fn assert_not_found<T: std::fmt::Debug>(r: Result<T, AppError>) {
    assert!(
        matches!(r, Err(AppError::NotFound { .. })),
        "expected NotFound, got {r:?}"
    );
}

#[track_caller]
pub fn assert_forbidden<T: std::fmt::Debug>(r: Result<T, AppError>) {
    assert!(
        matches!(r, Err(AppError::Forbidden(_))),
        "expected Forbidden, got {r:?}"
    );
}

/// A Message-ID no other message of the run has.
pub fn unique_message_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "<m{}@customer.example>",
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A ticket's history rows, as the store reads them.
pub async fn ticket_activity(t: &TestApp, id: TicketId) -> Vec<ActivityEvent> {
    let mut tx = t.app.db().read().await.unwrap();
    let a = tx.activity(ObjectType::Ticket, id.0).await.unwrap();
    tx.commit().await.unwrap();
    a
}

/// Turns HD-20's built-in automation off, for scenarios about what agents' own actions do
/// (with it on, an email reply also moves the ticket to "Waiting on contact").
pub async fn hd_20_rule_off(t: &TestApp) {
    let rules = t.app.automation_rules(&Actor::system()).await.unwrap();
    let builtin = rules
        .iter()
        .find(|r| r.rule.builtin.as_deref() == Some(fd_app::domain::automation::HD_20_BUILTIN))
        .expect("the built-in HD-20 rule");
    t.app
        .set_automation_rule_enabled(&Actor::system(), builtin.rule.id, false)
        .await
        .unwrap();
}
