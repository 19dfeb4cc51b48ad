//! The help desk's search (issue 13): one box finds a ticket by subject, any message of its
//! conversations, any comment, its contact's name or email, its company's name or its id,
//! with accents and case folded both ways, across every view, within the viewer's scope
//! (HD-09), and says where it matched; the API's `query` uses the same index.

use fd_app::domain::*;
use fd_app::{Actor, AssociationEnd, NewContact, SearchRequest, TicketCreation};
use fd_store::*;
use fd_testkit::{TestApp, on_both_backends};

use crate::common::*;

on_both_backends! {
    search_finds_every_field_of_a_ticket_and_says_where => every_field;
    search_folds_accents_and_case_both_ways => accents_both_ways;
    search_finds_closed_tickets_when_not_narrowed_to_open => closed_found;
    hd_09_search_never_finds_a_ticket_the_agent_cannot_see => scoped;
    search_follows_a_renamed_contact_and_a_new_association => follows_changes;
    search_api_query_uses_the_whole_ticket_index => api_query;
}

/// The ticket: Zoë Dupont's email about a printer, a later message with an accented word, a
/// comment, and the company Société Générale.
struct Desk {
    ticket: TicketId,
    other: TicketId,
    admin: Actor,
}

async fn desk(t: &TestApp) -> Desk {
    let (_, admin) = t.admin("lead@desk.example").await;
    let zoe = t
        .app
        .create_contact(
            &Actor::system(),
            NewContact {
                email: Some("zoe.dupont@example.org".into()),
                firstname: Some("Zoë".into()),
                lastname: Some("Dupont".into()),
                ..NewContact::default()
            },
        )
        .await
        .unwrap();
    let (conv, ticket) = email_conversation(t, &zoe, TicketCreation::Automatic).await;
    let ticket = ticket.unwrap().id;
    t.app
        .record_inbound_message(
            &Actor::system(),
            conv.id,
            inbound(
                "Bonjour,\nj'ai un problème de facturation sur la commande 4471.",
                "zoe.dupont@example.org",
                &unique_message_id(),
            ),
        )
        .await
        .unwrap();
    t.app
        .comment(
            &admin,
            Some(ticket),
            None,
            "Escalated: refund approved by billing",
        )
        .await
        .unwrap();
    let company = t
        .app
        .create_company(&Actor::system(), Some("Société Générale".into()), None)
        .await
        .unwrap();
    t.app
        .associate(
            &Actor::system(),
            AssociationEnd::new(ObjectType::Ticket, ticket.0),
            AssociationEnd::new(ObjectType::Company, company.id.0),
        )
        .await
        .unwrap();
    let other = ticket_with(t, &Actor::system(), &[("subject", "Password reset")])
        .await
        .id;
    Desk {
        ticket,
        other,
        admin,
    }
}

/// Ids found and the label of where each matched, for `actor` over `view`.
async fn search_as(
    t: &TestApp,
    actor: &Actor,
    view: TicketView,
    text: &str,
) -> Vec<(TicketId, String)> {
    let q = TicketListQuery {
        view,
        limit: 100,
        text: Some(text.into()),
        ..TicketListQuery::default()
    };
    t.app
        .search_tickets(actor, &q)
        .await
        .unwrap()
        .into_iter()
        .map(|(tk, m)| (tk.id, m.map(|m| m.source.label()).unwrap_or_default()))
        .collect()
}

async fn search(t: &TestApp, text: &str) -> Vec<(TicketId, String)> {
    search_as(t, &Actor::system(), TicketView::All, text).await
}

async fn every_field(t: TestApp) {
    let d = desk(&t).await;
    let one = |label: &str| vec![(d.ticket, label.to_string())];
    assert_eq!(
        search(&t, "zoe.dupont@example.org").await,
        one("contact email")
    );
    assert_eq!(search(&t, "Dupont").await, one("contact name"));
    assert_eq!(search(&t, "generale").await, one("company name"));
    // The first message (the ticket's description and first message) and a later one.
    assert_eq!(search(&t, "fire").await[0].0, d.ticket);
    assert_eq!(
        search(&t, "facturation 4471").await,
        one("message from Customer")
    );
    assert_eq!(search(&t, "refund").await, one("comment by lead"));
    assert_eq!(
        search(&t, "password").await,
        vec![(d.other, "subject".to_string())]
    );
    // The id alone, and the id with a word of the ticket.
    assert_eq!(search(&t, &d.ticket.0.to_string()).await[0].0, d.ticket);
    assert_eq!(
        search(&t, &format!("{} password", d.other.0)).await,
        vec![(d.other, "subject".to_string())]
    );
    // Every word must match somewhere in the ticket, not necessarily in one field.
    assert_eq!(search(&t, "zoe refund").await[0].0, d.ticket);
    assert!(search(&t, "zoe password").await.is_empty());

    // The snippet marks the matched words of the original text; the template escapes it.
    let q = TicketListQuery {
        view: TicketView::All,
        text: Some("PROBLEME".into()),
        ..TicketListQuery::default()
    };
    let found = t.app.search_tickets(&d.admin, &q).await.unwrap();
    let m = found[0].1.clone().unwrap();
    let marked: Vec<&str> = m
        .pieces
        .iter()
        .filter(|p| p.1)
        .map(|p| p.0.as_str())
        .collect();
    assert_eq!(marked, ["problème"]);
}

async fn accents_both_ways(t: TestApp) {
    let d = desk(&t).await;
    let plain = ticket_with(
        &t,
        &Actor::system(),
        &[("subject", "Probleme de connexion")],
    )
    .await
    .id;
    // An accented word in the ticket, typed without accent and in capitals.
    assert_eq!(search(&t, "probleme").await.len(), 2);
    assert_eq!(search(&t, "PROBLEME facturation").await[0].0, d.ticket);
    // An unaccented word in the ticket, typed with an accent.
    let found: Vec<TicketId> = search(&t, "problème connexion")
        .await
        .into_iter()
        .map(|x| x.0)
        .collect();
    assert_eq!(found, vec![plain]);
    assert_eq!(search(&t, "ZOË").await[0].0, d.ticket);
    assert_eq!(search(&t, "zoe").await[0].0, d.ticket);
    assert_eq!(search(&t, "SOCIÉTÉ").await[0].0, d.ticket);
}

async fn closed_found(t: TestApp) {
    let d = desk(&t).await;
    move_to_stage(&t, &d.admin, d.ticket, STAGE_CLOSED).await;
    assert!(
        search_as(&t, &d.admin, TicketView::AllOpen, "facturation")
            .await
            .is_empty()
    );
    assert_eq!(
        search_as(&t, &d.admin, TicketView::Closed, "facturation").await[0].0,
        d.ticket
    );
    assert_eq!(
        search_as(&t, &d.admin, TicketView::All, "facturation").await[0].0,
        d.ticket
    );
}

async fn scoped(t: TestApp) {
    let d = desk(&t).await;
    let (ann, ann_actor) = t
        .agent("ann@desk.example", TicketAccessLevel::Owned, &[])
        .await;
    for q in [
        "zoe.dupont@example.org".to_string(),
        "facturation".into(),
        "refund".into(),
        "generale".into(),
        d.ticket.0.to_string(),
    ] {
        assert!(
            search_as(&t, &ann_actor, TicketView::All, &q)
                .await
                .is_empty(),
            "{q}"
        );
    }
    update(
        &t,
        &d.admin,
        d.ticket,
        &[("hubspot_owner_id", &ann.id.0.to_string())],
    )
    .await;
    assert_eq!(
        search_as(&t, &ann_actor, TicketView::All, "facturation").await[0].0,
        d.ticket
    );
    assert!(
        search_as(&t, &ann_actor, TicketView::All, "password")
            .await
            .is_empty()
    );
}

async fn follows_changes(t: TestApp) {
    let d = desk(&t).await;
    let contact = t
        .app
        .search_contacts("zoe.dupont@example.org", 1)
        .await
        .unwrap()[0]
        .id;
    t.app
        .update_record(
            &Actor::system(),
            ObjectType::Contact,
            contact.0,
            props(&[("lastname", "Martin")]),
        )
        .await
        .unwrap();
    // The old name is still in the email address, no longer in the contact's name.
    assert_eq!(
        search(&t, "dupont").await,
        vec![(d.ticket, "contact email".to_string())]
    );
    assert_eq!(
        search(&t, "martin").await,
        vec![(d.ticket, "contact name".to_string())]
    );
    let acme = t
        .app
        .create_company(&Actor::system(), Some("Acme Widgets".into()), None)
        .await
        .unwrap();
    t.app
        .associate(
            &Actor::system(),
            AssociationEnd::new(ObjectType::Ticket, d.other.0),
            AssociationEnd::new(ObjectType::Company, acme.id.0),
        )
        .await
        .unwrap();
    assert_eq!(
        search(&t, "widgets").await,
        vec![(d.other, "company name".to_string())]
    );
}

async fn api_query(t: TestApp) {
    let d = desk(&t).await;
    let req = |q: &str| SearchRequest {
        groups: Vec::new(),
        query: Some(q.into()),
        sort: None,
        limit: 10,
        offset: 0,
    };
    for q in ["probleme", "refund", "zoe.dupont@example.org", "Générale"] {
        let (total, records) = t
            .app
            .search_records(&Actor::system(), ObjectType::Ticket, &req(q))
            .await
            .unwrap();
        assert_eq!(total, 1, "{q}");
        assert_eq!(records[0].id, d.ticket.0, "{q}");
    }
}
