//! Senders become contacts (their company found by the address's domain, free-mail
//! providers excluded), contact and company merges, and the record pages' HD-09 scope.

use fd_app::domain::*;
use fd_app::{Actor, MailService, MailSettings, NewContact};
use fd_mail::{IncomingMail, MailSource};
use fd_store::*;
use fd_testkit::TestApp;

fd_testkit::on_both_backends! {
    contacts_sender_becomes_contact_named_from_display_name_with_company_by_domain => sender_becomes_contact;
    contacts_sender_matches_existing_contact_case_insensitively => existing_contact_reused;
    contacts_free_mail_sender_gets_no_company => free_mail_no_company;
    contacts_merge_moves_tickets_conversations_and_companies_to_the_primary => merge_contacts;
    contacts_company_merge_moves_contacts_and_tickets => merge_companies;
    contacts_hd_09_record_pages_show_only_what_the_agent_may_see => scoped_record_pages;
    contacts_merged_away_ids_lead_to_the_surviving_record => merged_ids_lead_to_survivor;
}

const SUPPORT: &str = "support@help.example";
const BILLING: &str = "billing@help.example";

async fn mail_env(t: &TestApp) -> MailService {
    let system = Actor::system();
    t.team("Support").await;
    t.team("Billing").await;
    for (addr, team) in [(SUPPORT, "Support"), (BILLING, "Billing")] {
        t.app
            .connect_email(&system, addr, team, Workspace::HelpDesk, false)
            .await
            .unwrap();
    }
    MailService::new(t.app.clone(), MailSettings::default())
}

/// A message from `from` (a whole `From:` value) to `to`, stored and ingested.
async fn deliver(mail: &MailService, from: &str, to: &str, subject: &str) {
    let raw = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{}@customer.example>\r\n\
         Date: Mon, 7 Dec 2026 09:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nHello, something is broken.\r\n",
        subject.replace(' ', "-").to_lowercase()
    );
    mail.accept(IncomingMail {
        source: MailSource::Mailgate,
        envelope_from: None,
        recipients: vec![to.to_string()],
        raw: raw.into_bytes(),
        truncated_from: None,
    })
    .await
    .unwrap();
    mail.run_pending_jobs().await.unwrap();
}

async fn conversation_about(t: &TestApp, subject: &str) -> Conversation {
    let all = t
        .app
        .list_conversations(
            &Actor::system(),
            &ConversationListQuery {
                limit: 1000,
                ..ConversationListQuery::default()
            },
        )
        .await
        .unwrap();
    all.into_iter()
        .find(|c| c.subject.as_deref() == Some(subject))
        .unwrap_or_else(|| panic!("no conversation {subject:?}"))
}

async fn contact_of(t: &TestApp, email: &str) -> Option<Contact> {
    let mut tx = t.app.db().read().await.unwrap();
    let c = tx.contact_by_email(email).await.unwrap();
    tx.commit().await.unwrap();
    c
}

async fn company_ids_of(t: &TestApp, contact: ContactId) -> Vec<i64> {
    let mut tx = t.app.db().read().await.unwrap();
    let a = tx
        .associations_from(ObjectType::Contact, contact.0, Some(ObjectType::Company))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    a.iter().map(|a| a.to_id).collect()
}

async fn activity(t: &TestApp, kind: ObjectType, id: i64) -> Vec<ActivityEvent> {
    let mut tx = t.app.db().read().await.unwrap();
    let a = tx.activity(kind, id).await.unwrap();
    tx.commit().await.unwrap();
    a
}

async fn contacts_count(t: &TestApp) -> usize {
    t.app
        .contacts_list(&Actor::system(), "", 0, 100)
        .await
        .unwrap()
        .items
        .len()
}

async fn sender_becomes_contact(t: TestApp) {
    let mail = mail_env(&t).await;
    let acme = t
        .app
        .create_company(
            &Actor::system(),
            Some("Acme".into()),
            Some("Acme.Example".into()),
        )
        .await
        .unwrap();
    deliver(
        &mail,
        "\"Jane Doe\" <Jane.Doe@ACME.example>",
        SUPPORT,
        "Printer on fire",
    )
    .await;
    let k = contact_of(&t, "jane.doe@acme.example")
        .await
        .expect("the sender is a contact");
    assert_eq!(k.firstname.as_deref(), Some("Jane"));
    assert_eq!(k.lastname.as_deref(), Some("Doe"));
    assert_eq!(company_ids_of(&t, k.id).await, vec![acme.id.0]);
    // Created by the system, recorded in the contact's history.
    let created = activity(&t, ObjectType::Contact, k.id.0).await;
    assert!(
        created
            .iter()
            .any(|a| a.action == "created" && a.actor_user_id.is_none()),
        "{created:?}"
    );
    // The conversation and its ticket are the contact's.
    let c = conversation_about(&t, "Printer on fire").await;
    assert_eq!(c.contact_id, Some(k.id));
    let ticket = c.ticket_id.expect("a help-desk address makes a ticket");
    let d = t
        .app
        .ticket_details(&Actor::system(), ticket)
        .await
        .unwrap();
    assert_eq!(
        d.contacts.iter().map(|x| x.id).collect::<Vec<_>>(),
        vec![k.id]
    );
    // A second mail from the same sender makes no second contact.
    deliver(
        &mail,
        "Jane <jane.doe@acme.example>",
        SUPPORT,
        "Also the fax",
    )
    .await;
    assert_eq!(contacts_count(&t).await, 1);
    assert_eq!(
        conversation_about(&t, "Also the fax").await.contact_id,
        Some(k.id)
    );
}

async fn existing_contact_reused(t: TestApp) {
    let mail = mail_env(&t).await;
    let carl = t
        .app
        .create_contact(
            &Actor::system(),
            NewContact {
                email: Some("carl@customer.example".into()),
                firstname: Some("Carl".into()),
                ..NewContact::default()
            },
        )
        .await
        .unwrap();
    deliver(
        &mail,
        "Somebody Else <CARL@Customer.EXAMPLE>",
        SUPPORT,
        "Invoice question",
    )
    .await;
    assert_eq!(contacts_count(&t).await, 1, "no second contact");
    let c = conversation_about(&t, "Invoice question").await;
    assert_eq!(c.contact_id, Some(carl.id));
    // The existing contact keeps its own name.
    let k = t.app.contact(carl.id).await.unwrap();
    assert_eq!(k.firstname.as_deref(), Some("Carl"));
    assert_eq!(k.lastname, None);
}

async fn free_mail_no_company(t: TestApp) {
    let mail = mail_env(&t).await;
    // Even a company claiming a free-mail domain does not collect its users.
    t.app
        .create_company(
            &Actor::system(),
            Some("Google".into()),
            Some("gmail.com".into()),
        )
        .await
        .unwrap();
    deliver(&mail, "Pat <pat@GMAIL.com>", SUPPORT, "Lost password").await;
    let k = contact_of(&t, "pat@gmail.com").await.expect("a contact");
    assert_eq!(k.firstname.as_deref(), Some("Pat"));
    assert!(company_ids_of(&t, k.id).await.is_empty());
    // A company address without a company of that domain: no company either, none made up.
    deliver(&mail, "Quinn <q@nowhere.example>", SUPPORT, "Question").await;
    let q = contact_of(&t, "q@nowhere.example")
        .await
        .expect("a contact");
    assert!(company_ids_of(&t, q.id).await.is_empty());
}

async fn merge_contacts(t: TestApp) {
    let mail = mail_env(&t).await;
    let (_, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let acme = t
        .app
        .create_company(
            &Actor::system(),
            Some("Acme".into()),
            Some("acme.example".into()),
        )
        .await
        .unwrap();
    deliver(&mail, "Jane Doe <jane@acme.example>", SUPPORT, "First").await;
    deliver(&mail, "J. Doe <jd@private.example>", BILLING, "Second").await;
    let primary = contact_of(&t, "jane@acme.example").await.unwrap();
    let dup = contact_of(&t, "jd@private.example").await.unwrap();
    let second = conversation_about(&t, "Second").await;

    let merged = t
        .app
        .merge_contacts(&agent, primary.id, dup.id)
        .await
        .unwrap();
    assert_eq!(merged.id, primary.id, "the primary keeps its id");
    assert_eq!(merged.email.as_deref(), Some("jane@acme.example"));
    let o = t.app.contact_overview(&agent, primary.id).await.unwrap();
    let mut subjects: Vec<_> = o.tickets.iter().map(|t| t.subject.clone()).collect();
    subjects.sort();
    assert_eq!(subjects, vec!["First".to_string(), "Second".to_string()]);
    assert_eq!(o.conversations.len(), 2);
    assert_eq!(
        conversation_about(&t, "Second").await.contact_id,
        Some(primary.id)
    );
    let d = t
        .app
        .ticket_details(&agent, second.ticket_id.unwrap())
        .await
        .unwrap();
    assert_eq!(
        d.contacts.iter().map(|x| x.id).collect::<Vec<_>>(),
        vec![primary.id]
    );
    assert_eq!(company_ids_of(&t, primary.id).await, vec![acme.id.0]);
    // The duplicate is gone from lists and record pages; both histories name the merge.
    assert_eq!(contacts_count(&t).await, 1);
    assert!(t.app.contact_overview(&agent, dup.id).await.is_err());
    let ann = agent.user_id();
    assert!(
        activity(&t, ObjectType::Contact, primary.id.0)
            .await
            .iter()
            .any(|a| a.action == "merged"
                && a.old_value.as_deref() == Some(&dup.id.to_string())
                && a.actor_user_id == ann)
    );
    assert!(
        activity(&t, ObjectType::Contact, dup.id.0)
            .await
            .iter()
            .any(
                |a| a.action == "merged" && a.new_value.as_deref() == Some(&primary.id.to_string())
            )
    );
    // Merging into itself or a merged-away record is refused.
    assert!(
        t.app
            .merge_contacts(&agent, primary.id, primary.id)
            .await
            .is_err()
    );
    assert!(
        t.app
            .merge_contacts(&agent, primary.id, dup.id)
            .await
            .is_err()
    );
    // Mail from the primary's address still finds it.
    deliver(&mail, "Jane <JANE@acme.example>", SUPPORT, "Third").await;
    assert_eq!(contacts_count(&t).await, 1);
}

async fn merge_companies(t: TestApp) {
    let mail = mail_env(&t).await;
    let (_, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let system = Actor::system();
    let primary = t
        .app
        .create_company(&system, Some("Acme".into()), None)
        .await
        .unwrap();
    let dup = t
        .app
        .create_company(
            &system,
            Some("ACME Inc".into()),
            Some("acme.example".into()),
        )
        .await
        .unwrap();
    deliver(&mail, "Jane Doe <jane@acme.example>", SUPPORT, "First").await;
    let jane = contact_of(&t, "jane@acme.example").await.unwrap();
    assert_eq!(company_ids_of(&t, jane.id).await, vec![dup.id.0]);
    let ticket = conversation_about(&t, "First").await.ticket_id.unwrap();
    t.app
        .associate(
            &agent,
            fd_app::AssociationEnd::new(ObjectType::Ticket, ticket.0),
            fd_app::AssociationEnd::new(ObjectType::Company, dup.id.0),
        )
        .await
        .unwrap();

    let p = t
        .app
        .merge_companies(&agent, primary.id, dup.id)
        .await
        .unwrap();
    assert_eq!(p.id, primary.id);
    assert_eq!(p.name.as_deref(), Some("Acme"), "the primary's values win");
    assert_eq!(
        p.domain.as_deref(),
        Some("acme.example"),
        "an empty value takes the duplicate's"
    );
    assert_eq!(company_ids_of(&t, jane.id).await, vec![primary.id.0]);
    let o = t.app.company_overview(&agent, primary.id).await.unwrap();
    assert_eq!(o.contacts.len(), 1);
    assert_eq!(o.tickets.len(), 1);
    assert_eq!(o.conversations.len(), 1);
    let list = t.app.companies_list(&agent, "", 0, 100).await.unwrap();
    assert_eq!(
        list.items.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![primary.id]
    );
    // The next sender of that domain joins the primary.
    deliver(&mail, "Bob <bob@acme.example>", SUPPORT, "Second").await;
    let bob = contact_of(&t, "bob@acme.example").await.unwrap();
    assert_eq!(company_ids_of(&t, bob.id).await, vec![primary.id.0]);
}

async fn scoped_record_pages(t: TestApp) {
    let mail = mail_env(&t).await;
    let (_, support_agent) = t
        .agent("sam@example.com", TicketAccessLevel::Team, &["Support"])
        .await;
    t.app
        .create_company(
            &Actor::system(),
            Some("Acme".into()),
            Some("acme.example".into()),
        )
        .await
        .unwrap();
    deliver(
        &mail,
        "Jane Doe <jane@acme.example>",
        SUPPORT,
        "Support question",
    )
    .await;
    deliver(
        &mail,
        "Jane Doe <jane@acme.example>",
        BILLING,
        "Billing question",
    )
    .await;
    let jane = contact_of(&t, "jane@acme.example").await.unwrap();
    let all = t
        .app
        .contact_overview(&Actor::system(), jane.id)
        .await
        .unwrap();
    assert_eq!(all.tickets.len(), 2);
    assert_eq!(all.conversations.len(), 2);

    let o = t
        .app
        .contact_overview(&support_agent, jane.id)
        .await
        .unwrap();
    let subjects = |ts: &[Ticket]| ts.iter().map(|t| t.subject.clone()).collect::<Vec<_>>();
    assert_eq!(subjects(&o.tickets), vec!["Support question".to_string()]);
    assert_eq!(
        o.conversations
            .iter()
            .map(|c| c.subject.clone().unwrap_or_default())
            .collect::<Vec<_>>(),
        vec!["Support question".to_string()]
    );
    let company = o.companies.first().expect("the contact's company").id;
    let co = t
        .app
        .company_overview(&support_agent, company)
        .await
        .unwrap();
    assert_eq!(
        co.conversations
            .iter()
            .map(|c| c.subject.clone().unwrap_or_default())
            .collect::<Vec<_>>(),
        vec!["Support question".to_string()]
    );
}

/// An old id of a merged-away contact or company reads as the record it was merged into
/// (HubSpot's answer for a merged id), through a chain of merges; a live, unknown or merely
/// archived id does not.
async fn merged_ids_lead_to_survivor(t: TestApp) {
    let (_, agent) = t
        .agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let system = Actor::system();
    let new = |email: &str| NewContact {
        email: Some(email.into()),
        ..NewContact::default()
    };
    let a = t
        .app
        .create_contact(&system, new("a@example.com"))
        .await
        .unwrap();
    let b = t
        .app
        .create_contact(&system, new("b@example.com"))
        .await
        .unwrap();
    let c = t
        .app
        .create_contact(&system, new("c@example.com"))
        .await
        .unwrap();
    let lone = t
        .app
        .create_contact(&system, new("d@example.com"))
        .await
        .unwrap();
    // a into b, then b into c: a's and b's old ids both answer with c.
    t.app.merge_contacts(&agent, b.id, a.id).await.unwrap();
    assert_eq!(
        t.app
            .merge_survivor(ObjectType::Contact, a.id.0)
            .await
            .unwrap(),
        Some(b.id.0)
    );
    t.app.merge_contacts(&agent, c.id, b.id).await.unwrap();
    for old in [a.id, b.id] {
        assert_eq!(
            t.app
                .merge_survivor(ObjectType::Contact, old.0)
                .await
                .unwrap(),
            Some(c.id.0)
        );
        let r = t
            .app
            .record_following_merges(&agent, ObjectType::Contact, old.0, false)
            .await
            .unwrap();
        assert_eq!(r.id, c.id.0);
    }
    // The live one, an unknown id and one archived without a merge lead nowhere.
    assert_eq!(
        t.app
            .merge_survivor(ObjectType::Contact, c.id.0)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        t.app
            .merge_survivor(ObjectType::Contact, 999_999)
            .await
            .unwrap(),
        None
    );
    t.app
        .archive_record(&agent, ObjectType::Contact, lone.id.0)
        .await
        .unwrap();
    assert_eq!(
        t.app
            .merge_survivor(ObjectType::Contact, lone.id.0)
            .await
            .unwrap(),
        None
    );
    assert!(
        t.app
            .record_following_merges(&agent, ObjectType::Contact, lone.id.0, false)
            .await
            .is_err()
    );
    // Asked for archived records, an old id is the archived duplicate itself.
    let archived = t
        .app
        .record_following_merges(&agent, ObjectType::Contact, a.id.0, true)
        .await
        .unwrap();
    assert_eq!(archived.id, a.id.0);
    // A survivor archived since: the old id is gone too.
    t.app
        .archive_record(&agent, ObjectType::Contact, c.id.0)
        .await
        .unwrap();
    assert_eq!(
        t.app
            .merge_survivor(ObjectType::Contact, a.id.0)
            .await
            .unwrap(),
        None
    );

    // Companies alike.
    let acme = t
        .app
        .create_company(&system, Some("Acme".into()), None)
        .await
        .unwrap();
    let dup = t
        .app
        .create_company(&system, Some("ACME".into()), None)
        .await
        .unwrap();
    t.app
        .merge_companies(&agent, acme.id, dup.id)
        .await
        .unwrap();
    assert_eq!(
        t.app
            .merge_survivor(ObjectType::Company, dup.id.0)
            .await
            .unwrap(),
        Some(acme.id.0)
    );
    let r = t
        .app
        .record_following_merges(&agent, ObjectType::Company, dup.id.0, false)
        .await
        .unwrap();
    assert_eq!(r.id, acme.id.0);
}
