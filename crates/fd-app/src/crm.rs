//! Contacts, companies, deals, and the association rows between records (`AssociationEnd`,
//! `association_pair`); the association use cases are in `associations.rs`.
//!
//! Must not depend on conversations or tickets (they build on these rows), nor on HTTP.

use fd_domain::association_type as at;
use fd_domain::*;
use fd_store::{Association, Company, Contact, Deal, NewActivity, Tx};

use crate::{Actor, App, AppError};

/// One side of an association.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssociationEnd {
    pub kind: ObjectType,
    pub id: i64,
}

impl AssociationEnd {
    pub fn new(kind: ObjectType, id: i64) -> Self {
        AssociationEnd { kind, id }
    }
}

/// A new contact's fields (email optional: phone callers and chat visitors may have none).
#[derive(Debug, Clone, Default)]
pub struct NewContact {
    pub email: Option<String>,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
}

/// The two directed rows of a default (HubSpot-defined) association between two records.
pub(crate) fn association_pair(
    a: &AssociationEnd,
    b: &AssociationEnd,
) -> Result<[Association; 2], AppError> {
    use ObjectType::*;
    let (ab, ba) = match (a.kind, b.kind) {
        (Ticket, Contact) => (at::TICKET_TO_CONTACT, at::CONTACT_TO_TICKET),
        (Contact, Ticket) => (at::CONTACT_TO_TICKET, at::TICKET_TO_CONTACT),
        (Ticket, Company) => (at::TICKET_TO_COMPANY, at::COMPANY_TO_TICKET),
        (Company, Ticket) => (at::COMPANY_TO_TICKET, at::TICKET_TO_COMPANY),
        (Ticket, Deal) => (at::TICKET_TO_DEAL, at::DEAL_TO_TICKET),
        (Deal, Ticket) => (at::DEAL_TO_TICKET, at::TICKET_TO_DEAL),
        (Contact, Company) => (at::CONTACT_TO_COMPANY, at::COMPANY_TO_CONTACT),
        (Company, Contact) => (at::COMPANY_TO_CONTACT, at::CONTACT_TO_COMPANY),
        (x, y) => {
            return Err(AppError::invalid(
                "associations",
                format!("{x} and {y} records cannot be associated"),
            ));
        }
    };
    let row = |from: &AssociationEnd, to: &AssociationEnd, type_id: i32| Association {
        from_type: from.kind,
        from_id: from.id,
        to_type: to.kind,
        to_id: to.id,
        type_id: i64::from(type_id),
        category: "HUBSPOT_DEFINED".into(),
    };
    Ok([row(a, b, ab), row(b, a, ba)])
}

fn clean(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// A record created from a ticket's page and associated with it in the same transaction.
#[derive(Debug, Clone)]
pub enum NewLinkedRecord {
    /// A new contact; one with the same email address is reused instead.
    Contact(NewContact),
    Company {
        name: String,
        domain: Option<String>,
    },
    Deal {
        name: String,
        amount: Option<String>,
    },
}

/// A new contact's row, checked; nothing is written.
pub(crate) fn contact_row(input: NewContact, now: i64) -> Result<Contact, AppError> {
    let mut c = Contact {
        id: ContactId(0),
        email: None,
        firstname: None,
        lastname: None,
        phone: None,
        company: None,
        created_at: now,
        updated_at: now,
        archived_at: None,
    };
    for (name, v) in [
        ("email", input.email),
        ("firstname", input.firstname),
        ("lastname", input.lastname),
        ("phone", input.phone),
        ("company", input.company),
    ] {
        c.set_standard(name, v.as_deref())?;
    }
    Ok(c)
}

fn company_row(name: Option<String>, domain: Option<String>, now: i64) -> Company {
    let mut c = Company {
        id: CompanyId(0),
        name: None,
        domain: None,
        phone: None,
        created_at: now,
        updated_at: now,
        archived_at: None,
    };
    c.set_standard("name", name.as_deref());
    c.set_standard("domain", domain.as_deref());
    c
}

fn deal_row(name: Option<String>, amount: Option<String>, now: i64) -> Deal {
    Deal {
        id: DealId(0),
        name: clean(name),
        amount: clean(amount),
        dealstage: None,
        created_at: now,
        updated_at: now,
        archived_at: None,
    }
}

/// A CRM record's activity row.
fn crm_activity(
    kind: ObjectType,
    id: i64,
    actor: &Actor,
    action: &'static str,
    at: i64,
) -> NewActivity {
    NewActivity {
        object_type: kind,
        object_id: id,
        actor: actor.actor_ref(),
        action,
        field: None,
        old_value: None,
        new_value: None,
        at,
    }
}

/// A contact's email address is unique among contacts.
pub(crate) async fn check_unique_email(tx: &mut Tx, c: &Contact) -> Result<(), AppError> {
    if let Some(e) = &c.email
        && let Some(existing) = tx.contact_by_email(e).await?
        && existing.id != c.id
    {
        return Err(AppError::Conflict(format!(
            "Contact already exists. Existing ID: {}",
            existing.id
        )));
    }
    Ok(())
}

/// The one way a new contact is written — from the UI, the API, a visitor becoming a contact
/// or a ticket created with a new contact: its email must be free, and its creation is
/// recorded with the actor in the activity history.
pub(crate) async fn insert_contact_in(
    tx: &mut Tx,
    actor: &Actor,
    c: &mut Contact,
    now: i64,
) -> Result<(), AppError> {
    check_unique_email(tx, c).await?;
    c.id = tx.insert_contact(c).await?;
    tx.record_activity(&crm_activity(
        ObjectType::Contact,
        c.id.0,
        actor,
        "created",
        now,
    ))
    .await?;
    Ok(())
}

/// The one way a new company is written, with its activity row.
pub(crate) async fn insert_company_in(
    tx: &mut Tx,
    actor: &Actor,
    c: &mut Company,
    now: i64,
) -> Result<(), AppError> {
    c.id = tx.insert_company(c).await?;
    tx.record_activity(&crm_activity(
        ObjectType::Company,
        c.id.0,
        actor,
        "created",
        now,
    ))
    .await?;
    Ok(())
}

/// Records a CRM record's changed fields (`(name, old, new)`) or its archiving.
pub(crate) async fn record_crm_change(
    tx: &mut Tx,
    actor: &Actor,
    kind: ObjectType,
    id: i64,
    changed: Vec<(String, Option<String>, Option<String>)>,
    now: i64,
) -> Result<(), AppError> {
    for (field, old, new) in changed {
        tx.record_activity(&NewActivity {
            field: Some(field),
            old_value: old,
            new_value: new,
            ..crm_activity(kind, id, actor, "property_changed", now)
        })
        .await?;
    }
    Ok(())
}

pub(crate) async fn record_crm_archived(
    tx: &mut Tx,
    actor: &Actor,
    kind: ObjectType,
    id: i64,
    now: i64,
) -> Result<(), AppError> {
    tx.record_activity(&crm_activity(kind, id, actor, "archived", now))
        .await?;
    Ok(())
}

impl App {
    pub async fn create_contact(
        &self,
        actor: &Actor,
        input: NewContact,
    ) -> Result<Contact, AppError> {
        let now = self.now();
        let mut c = contact_row(input, now)?;
        let mut tx = self.db().write().await?;
        insert_contact_in(&mut tx, actor, &mut c, now).await?;
        tx.commit().await?;
        Ok(c)
    }

    /// Creates a contact, company or deal and associates it with `ticket`, in one
    /// transaction that checks the ticket first: a ticket the actor may not see (HD-09)
    /// is "not found" and nothing is written (finding 8 of the hardening review: the
    /// contact used to be created before the refusal).
    pub async fn create_for_ticket(
        &self,
        actor: &Actor,
        ticket: TicketId,
        new: NewLinkedRecord,
    ) -> Result<AssociationEnd, AppError> {
        let now = self.now();
        let ticket_end = AssociationEnd::new(ObjectType::Ticket, ticket.0);
        let mut tx = self.db().write().await?;
        self.check_end(&mut tx, actor, ticket_end).await?;
        let other = match new {
            NewLinkedRecord::Contact(input) => {
                let mut c = contact_row(input, now)?;
                let existing = match &c.email {
                    Some(e) => tx.contact_by_email(e).await?,
                    None => None,
                };
                match existing {
                    Some(e) => c.id = e.id,
                    None => insert_contact_in(&mut tx, actor, &mut c, now).await?,
                }
                AssociationEnd::new(ObjectType::Contact, c.id.0)
            }
            NewLinkedRecord::Company { name, domain } => {
                let mut c = company_row(Some(name), domain, now);
                insert_company_in(&mut tx, actor, &mut c, now).await?;
                AssociationEnd::new(ObjectType::Company, c.id.0)
            }
            NewLinkedRecord::Deal { name, amount } => {
                let id = tx.insert_deal(&deal_row(Some(name), amount, now)).await?;
                AssociationEnd::new(ObjectType::Deal, id.0)
            }
        };
        let events = self
            .associate_in(&mut tx, actor, ticket_end, other, now)
            .await?;
        tx.commit().await?;
        self.publish(events);
        Ok(other)
    }

    pub async fn contact(&self, id: ContactId) -> Result<Contact, AppError> {
        let mut tx = self.db().read().await?;
        let c = tx.contact(id).await?;
        tx.commit().await?;
        c.filter(|c| c.archived_at.is_none())
            .ok_or_else(|| AppError::not_found("contact", id))
    }

    pub async fn search_contacts(&self, text: &str, limit: i64) -> Result<Vec<Contact>, AppError> {
        let mut tx = self.db().read().await?;
        let out = tx.search_contacts(text, limit.clamp(1, 100)).await?;
        tx.commit().await?;
        Ok(out)
    }

    pub async fn create_company(
        &self,
        actor: &Actor,
        name: Option<String>,
        domain: Option<String>,
    ) -> Result<Company, AppError> {
        let now = self.now();
        let mut c = company_row(name, domain, now);
        let mut tx = self.db().write().await?;
        insert_company_in(&mut tx, actor, &mut c, now).await?;
        tx.commit().await?;
        Ok(c)
    }

    pub async fn search_companies(&self, text: &str, limit: i64) -> Result<Vec<Company>, AppError> {
        let mut tx = self.db().read().await?;
        let out = tx.search_companies(text, limit.clamp(1, 100)).await?;
        tx.commit().await?;
        Ok(out)
    }

    pub async fn create_deal(
        &self,
        name: Option<String>,
        amount: Option<String>,
    ) -> Result<Deal, AppError> {
        let mut d = deal_row(name, amount, self.now());
        let mut tx = self.db().write().await?;
        d.id = tx.insert_deal(&d).await?;
        tx.commit().await?;
        Ok(d)
    }
}
