//! Contacts, companies, deals, and the association rows between records (`AssociationEnd`,
//! `association_pair`); the association use cases are in `associations.rs`.
//!
//! Must not depend on conversations or tickets (they build on these rows), nor on HTTP.

use fd_domain::association_type as at;
use fd_domain::*;
use fd_store::{Association, Company, Contact, Deal, NewActivity, Tx};

use crate::{Actor, App, AppError, Event};

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
        (Ticket, Call) => (at::TICKET_TO_CALL, at::CALL_TO_TICKET),
        (Call, Ticket) => (at::CALL_TO_TICKET, at::TICKET_TO_CALL),
        (Ticket, Email) => (at::TICKET_TO_EMAIL, at::EMAIL_TO_TICKET),
        (Email, Ticket) => (at::EMAIL_TO_TICKET, at::TICKET_TO_EMAIL),
        (Ticket, Note) => (at::TICKET_TO_NOTE, at::NOTE_TO_TICKET),
        (Note, Ticket) => (at::NOTE_TO_TICKET, at::TICKET_TO_NOTE),
        (Contact, Call) => (at::CONTACT_TO_CALL, at::CALL_TO_CONTACT),
        (Call, Contact) => (at::CALL_TO_CONTACT, at::CONTACT_TO_CALL),
        (Contact, Email) => (at::CONTACT_TO_EMAIL, at::EMAIL_TO_CONTACT),
        (Email, Contact) => (at::EMAIL_TO_CONTACT, at::CONTACT_TO_EMAIL),
        (Contact, Note) => (at::CONTACT_TO_NOTE, at::NOTE_TO_CONTACT),
        (Note, Contact) => (at::NOTE_TO_CONTACT, at::CONTACT_TO_NOTE),
        (Company, Call) => (at::COMPANY_TO_CALL, at::CALL_TO_COMPANY),
        (Call, Company) => (at::CALL_TO_COMPANY, at::COMPANY_TO_CALL),
        (Company, Email) => (at::COMPANY_TO_EMAIL, at::EMAIL_TO_COMPANY),
        (Email, Company) => (at::EMAIL_TO_COMPANY, at::COMPANY_TO_EMAIL),
        (Company, Note) => (at::COMPANY_TO_NOTE, at::NOTE_TO_COMPANY),
        (Note, Company) => (at::NOTE_TO_COMPANY, at::COMPANY_TO_NOTE),
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

/// The contact an inbound mail's sender is, found by address (case-insensitive) or created
/// in the caller's transaction: named from the `From:` display name (fd-domain's
/// `split_display_name`) and, when the address's domain is a company's (fd-domain's
/// `sender_company_domain`: never a free-mail provider), associated with that company.
/// The creation is recorded with `actor` (the system, for mail).
pub(crate) async fn contact_for_sender_in(
    app: &App,
    tx: &mut Tx,
    actor: &Actor,
    address: &str,
    display_name: Option<&str>,
    now: i64,
) -> Result<(ContactId, Vec<Event>), AppError> {
    if let Some(existing) = tx.contact_by_email(address).await? {
        return Ok((existing.id, Vec::new()));
    }
    let (firstname, lastname) = display_name
        .map(fd_domain::contacts::split_display_name)
        .unwrap_or((None, None));
    let company = match fd_domain::contacts::sender_company_domain(address) {
        Some(domain) => tx.company_by_domain(&domain).await?,
        None => None,
    };
    let mut c = contact_row(
        NewContact {
            email: Some(address.to_string()),
            firstname,
            lastname,
            phone: None,
            company: company.as_ref().and_then(|k| k.name.clone()),
        },
        now,
    )?;
    insert_contact_in(tx, actor, &mut c, now).await?;
    let mut events = Vec::new();
    if let Some(k) = company {
        events.extend(
            app.associate_in(
                tx,
                actor,
                AssociationEnd::new(ObjectType::Contact, c.id.0),
                AssociationEnd::new(ObjectType::Company, k.id.0),
                now,
            )
            .await?,
        );
    }
    Ok((c.id, events))
}

/// One merge's activity row: `action` "merged" on both records, naming the other.
fn merge_activity(
    kind: ObjectType,
    id: i64,
    actor: &Actor,
    other: i64,
    primary: bool,
    at: i64,
) -> NewActivity {
    let (old_value, new_value) = if primary {
        (Some(other.to_string()), None)
    } else {
        (None, Some(other.to_string()))
    };
    NewActivity {
        field: Some("merged".into()),
        old_value,
        new_value,
        ..crm_activity(kind, id, actor, "merged", at)
    }
}

/// A paged list of records and whether another page follows.
#[derive(Debug, Clone)]
pub struct RecordList<T> {
    pub items: Vec<T>,
    pub has_more: bool,
}

fn paged<T>(mut items: Vec<T>, limit: i64) -> RecordList<T> {
    let has_more = items.len() as i64 > limit;
    items.truncate(usize::try_from(limit).unwrap_or(0));
    RecordList { items, has_more }
}

fn refuse_self_merge(kind: &str, primary: i64, merged: i64) -> Result<(), AppError> {
    if primary == merged {
        return Err(AppError::invalid(
            "merge",
            format!("a {kind} cannot be merged into itself"),
        ));
    }
    Ok(())
}

impl App {
    /// The oldest live company with this domain (any case).
    pub async fn company_id_by_domain(&self, domain: &str) -> Result<Option<i64>, AppError> {
        let mut tx = self.db().read().await?;
        let c = tx.company_by_domain(domain).await?;
        tx.commit().await?;
        Ok(c.map(|c| c.id.0))
    }

    /// The contacts list: name, email (and so its domain) or company name containing `text`.
    pub async fn contacts_list(
        &self,
        actor: &Actor,
        text: &str,
        offset: i64,
        limit: i64,
    ) -> Result<RecordList<Contact>, AppError> {
        actor.require_ticket_access()?;
        let limit = limit.clamp(1, 100);
        let mut tx = self.db().read().await?;
        let items = tx.contacts_page(text, offset.max(0), limit + 1).await?;
        tx.commit().await?;
        Ok(paged(items, limit))
    }

    /// The companies list: name or domain containing `text`.
    pub async fn companies_list(
        &self,
        actor: &Actor,
        text: &str,
        offset: i64,
        limit: i64,
    ) -> Result<RecordList<Company>, AppError> {
        actor.require_ticket_access()?;
        let limit = limit.clamp(1, 100);
        let mut tx = self.db().read().await?;
        let items = tx.companies_page(text, offset.max(0), limit + 1).await?;
        tx.commit().await?;
        Ok(paged(items, limit))
    }

    /// Merges contact `merged` into `primary`, as HubSpot merges a duplicate: the primary
    /// keeps its id and its values (an empty one takes the duplicate's), its create date
    /// becomes the older of the two; every association of the duplicate (tickets,
    /// companies) and its conversations move to the primary; the duplicate is archived, so
    /// it leaves lists and searches. One transaction, recorded on both with the actor.
    pub async fn merge_contacts(
        &self,
        actor: &Actor,
        primary: ContactId,
        merged: ContactId,
    ) -> Result<Contact, AppError> {
        actor.require_ticket_access()?;
        refuse_self_merge("contact", primary.0, merged.0)?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let live = |c: Option<Contact>, id: ContactId| {
            c.filter(|c| c.archived_at.is_none())
                .ok_or_else(|| AppError::not_found("contact", id))
        };
        let mut p = live(tx.contact(primary).await?, primary)?;
        let mut m = live(tx.contact(merged).await?, merged)?;
        let events = tickets_of_record(&mut tx, ObjectType::Contact, m.id.0).await?;
        tx.move_associations(ObjectType::Contact, m.id.0, p.id.0)
            .await?;
        tx.move_conversations_to_contact(m.id, p.id).await?;
        // Archived first: the duplicate's email address is free for the primary to take.
        m.archived_at = Some(now);
        m.updated_at = now;
        tx.save_contact(&m).await?;
        let changed = fill_from_duplicate([
            ("email", &mut p.email, &m.email),
            ("firstname", &mut p.firstname, &m.firstname),
            ("lastname", &mut p.lastname, &m.lastname),
            ("phone", &mut p.phone, &m.phone),
            ("company", &mut p.company, &m.company),
        ]);
        p.created_at = p.created_at.min(m.created_at);
        p.updated_at = now;
        tx.save_contact(&p).await?;
        record_merge(
            &mut tx,
            actor,
            ObjectType::Contact,
            p.id.0,
            m.id.0,
            changed,
            now,
        )
        .await?;
        tx.commit().await?;
        self.publish(events);
        Ok(p)
    }

    /// Merges company `merged` into `primary` (see `merge_contacts`): its contacts and
    /// tickets move to the primary, empty values are filled, the duplicate is archived.
    pub async fn merge_companies(
        &self,
        actor: &Actor,
        primary: CompanyId,
        merged: CompanyId,
    ) -> Result<Company, AppError> {
        actor.require_ticket_access()?;
        refuse_self_merge("company", primary.0, merged.0)?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let live = |c: Option<Company>, id: CompanyId| {
            c.filter(|c| c.archived_at.is_none())
                .ok_or_else(|| AppError::not_found("company", id))
        };
        let mut p = live(tx.company(primary).await?, primary)?;
        let mut m = live(tx.company(merged).await?, merged)?;
        let events = tickets_of_record(&mut tx, ObjectType::Company, m.id.0).await?;
        tx.move_associations(ObjectType::Company, m.id.0, p.id.0)
            .await?;
        m.archived_at = Some(now);
        m.updated_at = now;
        tx.save_company(&m).await?;
        let changed = fill_from_duplicate([
            ("name", &mut p.name, &m.name),
            ("domain", &mut p.domain, &m.domain),
            ("phone", &mut p.phone, &m.phone),
        ]);
        p.created_at = p.created_at.min(m.created_at);
        p.updated_at = now;
        tx.save_company(&p).await?;
        record_merge(
            &mut tx,
            actor,
            ObjectType::Company,
            p.id.0,
            m.id.0,
            changed,
            now,
        )
        .await?;
        tx.commit().await?;
        self.publish(events);
        Ok(p)
    }
}

/// Longest chain of merges followed to the surviving record (A into B, B into C…).
pub(crate) const MAX_MERGE_HOPS: usize = 20;

impl App {
    /// The record a merged-away contact, company or ticket now lives on, as HubSpot answers an old
    /// id with the primary record: the duplicate's newest "merged" history row names the
    /// primary, followed while that was merged away too. `None` when `id` is live, missing,
    /// archived without a merge, or its survivor was archived since. It tells no more than
    /// reading the records themselves does (contacts and companies are not scoped by ticket
    /// access; what the survivor's page lists of tickets is, HD-09).
    pub async fn merge_survivor(&self, kind: ObjectType, id: i64) -> Result<Option<i64>, AppError> {
        if kind == ObjectType::Ticket {
            return self
                .ticket_merge_survivor(TicketId(id), MAX_MERGE_HOPS)
                .await;
        }
        if !matches!(kind, ObjectType::Contact | ObjectType::Company) {
            return Ok(None);
        }
        let mut tx = self.db().read().await?;
        let mut current = id;
        let mut survivor = None;
        for _ in 0..MAX_MERGE_HOPS {
            let archived = match kind {
                ObjectType::Contact => tx.contact(ContactId(current)).await?.map(|c| c.archived_at),
                _ => tx.company(CompanyId(current)).await?.map(|c| c.archived_at),
            };
            match archived {
                // Live: the end of the chain (the asked id itself is not "merged").
                Some(None) => {
                    if current != id {
                        survivor = Some(current);
                    }
                    break;
                }
                Some(Some(_)) => {}
                None => break,
            }
            let into = tx
                .activity(kind, current)
                .await?
                .into_iter()
                .rev()
                // The duplicate's row names the primary in `new_value`; a record merged into
                // later may have been a primary before (its rows name no primary).
                .find(|a| {
                    a.action == "merged"
                        && a.field.as_deref() == Some("merged")
                        && a.new_value.is_some()
                })
                .and_then(|a| a.new_value)
                .and_then(|v| fd_domain::text::parse_id(&v));
            match into {
                Some(next) if next != current => current = next,
                _ => break,
            }
        }
        tx.commit().await?;
        Ok(survivor)
    }
}

/// Live screens showing the tickets a merge re-points must refresh.
async fn tickets_of_record(tx: &mut Tx, kind: ObjectType, id: i64) -> Result<Vec<Event>, AppError> {
    Ok(tx
        .associations_from(kind, id, Some(ObjectType::Ticket))
        .await?
        .iter()
        .map(|a| Event::TicketChanged(TicketId(a.to_id)))
        .collect())
}

/// A merge keeps the primary's values and fills only its empty ones from the duplicate
/// (HubSpot's merge); what changed on the primary, as (property, old, new).
fn fill_from_duplicate<const N: usize>(
    fields: [(&str, &mut Option<String>, &Option<String>); N],
) -> Vec<(String, Option<String>, Option<String>)> {
    let mut changed = Vec::new();
    for (name, mine, theirs) in fields {
        if mine.is_none() && theirs.is_some() {
            changed.push((name.to_string(), None, theirs.clone()));
            mine.clone_from(theirs);
        }
    }
    changed
}

/// The history of a merge: "merged" on both records (each naming the other) and the
/// primary's filled values, by `actor`.
async fn record_merge(
    tx: &mut Tx,
    actor: &Actor,
    kind: ObjectType,
    primary: i64,
    merged: i64,
    changed: Vec<(String, Option<String>, Option<String>)>,
    now: i64,
) -> Result<(), AppError> {
    tx.record_activity(&merge_activity(kind, primary, actor, merged, true, now))
        .await?;
    tx.record_activity(&merge_activity(kind, merged, actor, primary, false, now))
        .await?;
    record_crm_change(tx, actor, kind, primary, changed, now).await
}
