//! CRM records (tickets, contacts, companies) in HubSpot's vocabulary: one set of use cases
//! over the three object types, as the HubSpot-compatible API needs them — read one or many,
//! page, create, update, archive and search. Tickets go through the ticket use cases, so
//! INB-10, INB-13, HD-19 and HD-09 hold here exactly as in the UI.

use std::collections::{BTreeMap, BTreeSet};

use fd_domain::property::{PropertyDefinition, PropertyType, parse_time};
use fd_domain::*;
use fd_store::{
    Company, Contact, SearchField, SearchFilter, SearchOperator, SearchQuery, SearchSort, Ticket,
    Tx, ValueKind,
};

use crate::crm::{AssociationEnd, check_unique_email};
use crate::tickets::{NewTicket, TicketChanges};
use crate::{Actor, App, AppError};

/// A record as the API shows it: canonical property values by name (times in epoch ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrmRecord {
    pub kind: ObjectType,
    pub id: i64,
    pub values: BTreeMap<String, String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub archived_at: Option<Millis>,
}

/// The `object_type` under which a kind's properties are defined (`tickets`, …).
pub fn properties_type(kind: ObjectType) -> Result<&'static str, AppError> {
    match kind {
        ObjectType::Ticket => Ok("tickets"),
        ObjectType::Contact => Ok("contacts"),
        ObjectType::Company => Ok("companies"),
        ObjectType::Call => Ok("calls"),
        ObjectType::Note => Ok("notes"),
        ObjectType::Email => Ok("emails"),
        other => Err(AppError::invalid(
            "objectType",
            format!(
                "{} records are not available through this API",
                other.plural()
            ),
        )),
    }
}

fn name_of(kind: ObjectType) -> &'static str {
    match kind {
        ObjectType::Ticket => "ticket",
        ObjectType::Contact => "contact",
        ObjectType::Company => "company",
        ObjectType::Deal => "deal",
        ObjectType::Conversation => "conversation",
        ObjectType::Call => "call",
        ObjectType::Note => "note",
        ObjectType::Email => "email",
    }
}

impl CrmRecord {
    fn from_engagement(e: crate::engagements::Engagement) -> CrmRecord {
        CrmRecord {
            kind: e.kind,
            id: e.id,
            values: e.values,
            created_at: e.created_at,
            updated_at: e.updated_at,
            archived_at: e.archived_at,
        }
    }

    pub fn from_ticket(t: &Ticket) -> CrmRecord {
        let mut values = BTreeMap::new();
        for name in fd_store::TICKET_COLUMN_PROPERTIES {
            if let Some(v) = t.property(name) {
                values.insert((*name).to_string(), v);
            }
        }
        for (k, v) in &t.custom {
            values.insert(k.clone(), v.clone());
        }
        CrmRecord {
            kind: ObjectType::Ticket,
            id: t.id.0,
            values,
            created_at: t.created_at,
            updated_at: t.updated_at,
            archived_at: t.trashed_at,
        }
    }

    fn from_contact(c: &Contact, custom: BTreeMap<String, String>) -> CrmRecord {
        let mut values = custom;
        for (k, v) in [
            ("email", &c.email),
            ("firstname", &c.firstname),
            ("lastname", &c.lastname),
            ("phone", &c.phone),
            ("company", &c.company),
        ] {
            if let Some(v) = v {
                values.insert(k.into(), v.clone());
            }
        }
        values.insert("createdate".into(), c.created_at.to_string());
        values.insert("lastmodifieddate".into(), c.updated_at.to_string());
        values.insert("hs_object_id".into(), c.id.to_string());
        CrmRecord {
            kind: ObjectType::Contact,
            id: c.id.0,
            values,
            created_at: c.created_at,
            updated_at: c.updated_at,
            archived_at: c.archived_at,
        }
    }

    fn from_company(c: &Company, custom: BTreeMap<String, String>) -> CrmRecord {
        let mut values = custom;
        for (k, v) in [
            ("name", &c.name),
            ("domain", &c.domain),
            ("phone", &c.phone),
        ] {
            if let Some(v) = v {
                values.insert(k.into(), v.clone());
            }
        }
        values.insert("createdate".into(), c.created_at.to_string());
        values.insert("hs_lastmodifieddate".into(), c.updated_at.to_string());
        values.insert("hs_object_id".into(), c.id.to_string());
        CrmRecord {
            kind: ObjectType::Company,
            id: c.id.0,
            values,
            created_at: c.created_at,
            updated_at: c.updated_at,
            archived_at: c.archived_at,
        }
    }
}

/// One filter of a search request, as the client sent it.
#[derive(Debug, Clone, Default)]
pub struct FilterInput {
    pub property_name: String,
    pub operator: String,
    pub value: Option<String>,
    pub high_value: Option<String>,
    pub values: Vec<String>,
}

/// A search request in HubSpot's terms; [`App::search_records`] checks its limits.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub groups: Vec<Vec<FilterInput>>,
    pub query: Option<String>,
    /// (property, descending)
    pub sort: Option<(String, bool)>,
    pub limit: i64,
    pub offset: i64,
}

/// HubSpot's search limits (search guide): 5 groups, 6 filters per group, 18 in all, pages
/// of at most 200, and no paging past the 10,000th result.
pub const MAX_FILTER_GROUPS: usize = 5;
pub const MAX_FILTERS_PER_GROUP: usize = 6;
pub const MAX_FILTERS: usize = 18;
pub const MAX_SEARCH_LIMIT: i64 = 200;
pub const MAX_SEARCH_RESULTS: i64 = 10_000;
/// HubSpot's documented cap on `IN`/`NOT_IN`: 100 values per filter. Beyond a thousand or so
/// SQLite refuses the statement ("Expression tree is too large"), so the cap is checked
/// before the database sees the filter (Hardening finding 6).
pub const MAX_FILTER_VALUES: usize = 100;
/// HubSpot caps a whole search request at 3,000 characters, so no one value can be longer;
/// a `CONTAINS_TOKEN` pattern near 50,000 bytes is "too complex" for SQLite's `LIKE`.
pub const MAX_FILTER_VALUE_CHARS: usize = 3_000;

fn value_kind(def: &PropertyDefinition) -> ValueKind {
    match def.kind {
        PropertyType::Number | PropertyType::Date | PropertyType::Datetime => ValueKind::Number,
        PropertyType::Enumeration if def.field_type == "checkbox" => ValueKind::MultiEnum,
        PropertyType::Enumeration => ValueKind::Enum,
        PropertyType::String | PropertyType::Bool => ValueKind::Text,
    }
}

/// A filter value in the stored form: dates as epoch ms, booleans lower-cased.
fn filter_value(def: &PropertyDefinition, raw: &str) -> Result<String, FieldError> {
    match def.kind {
        PropertyType::Date | PropertyType::Datetime => {
            parse_time(raw).map(|ms| ms.to_string()).ok_or_else(|| {
                FieldError::new(
                    def.name.clone(),
                    ErrorCode::InvalidDate,
                    format!("{raw:?} is not a date (epoch milliseconds or ISO-8601)"),
                )
            })
        }
        PropertyType::Bool => Ok(raw.trim().to_lowercase()),
        _ => Ok(raw.to_string()),
    }
}

fn association_kind(name: &str) -> Option<ObjectType> {
    Some(match name.trim_end_matches('s') {
        "ticket" => ObjectType::Ticket,
        "contact" => ObjectType::Contact,
        "company" | "companie" => ObjectType::Company,
        "deal" => ObjectType::Deal,
        "call" => ObjectType::Call,
        "note" => ObjectType::Note,
        "email" => ObjectType::Email,
        _ => return None,
    })
}

/// Checks raw values against the kind's definitions: unknown and read-only properties and
/// malformed values are all reported together.
fn normalize(
    defs: &[PropertyDefinition],
    kind: ObjectType,
    raw: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, Option<String>>, AppError> {
    let mut errors = Vec::new();
    let mut out = BTreeMap::new();
    for (name, value) in raw {
        let Some(def) = defs.iter().find(|d| &d.name == name) else {
            errors.push(FieldError::new(
                name,
                ErrorCode::PropertyDoesntExist,
                format!("is not a {} property", name_of(kind)),
            ));
            continue;
        };
        if def.read_only {
            errors.push(FieldError::new(
                name,
                ErrorCode::ReadOnlyValue,
                "is read-only",
            ));
            continue;
        }
        match def.normalize(value) {
            Ok(v) => {
                out.insert(name.clone(), v);
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(DomainError::Invalid(errors).into())
    }
}

impl App {
    /// An engagement's raw values checked against its kind's definitions (read only here,
    /// before the write transaction: definitions of engagement properties are fixed).
    async fn engagement_values(
        &self,
        kind: ObjectType,
        raw: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, Option<String>>, AppError> {
        let defs = self.properties(properties_type(kind)?).await?;
        normalize(&defs, kind, raw)
    }

    async fn load_records(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        kind: ObjectType,
        ids: &[i64],
    ) -> Result<Vec<CrmRecord>, AppError> {
        let mut out = match kind {
            ObjectType::Ticket => {
                let ids: Vec<TicketId> = ids.iter().map(|i| TicketId(*i)).collect();
                tx.tickets_by_ids(&actor.scope(), &ids)
                    .await?
                    .iter()
                    .map(CrmRecord::from_ticket)
                    .collect::<Vec<_>>()
            }
            ObjectType::Contact => {
                let contacts = tx.contacts_by_ids(ids).await?;
                let mut custom = tx.property_values_of("contacts", ids).await?;
                contacts
                    .iter()
                    .map(|c| CrmRecord::from_contact(c, custom.remove(&c.id.0).unwrap_or_default()))
                    .collect()
            }
            ObjectType::Company => {
                let companies = tx.companies_by_ids(ids).await?;
                let mut custom = tx.property_values_of("companies", ids).await?;
                companies
                    .iter()
                    .map(|c| CrmRecord::from_company(c, custom.remove(&c.id.0).unwrap_or_default()))
                    .collect()
            }
            k if k.is_engagement() => crate::engagements::load(tx, k, ids)
                .await?
                .into_iter()
                .map(CrmRecord::from_engagement)
                .collect(),
            other => {
                properties_type(other)?;
                Vec::new()
            }
        };
        // Keep the callers' order (search results are sorted).
        let position: BTreeMap<i64, usize> =
            ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        out.sort_by_key(|r| position.get(&r.id).copied().unwrap_or(usize::MAX));
        Ok(out)
    }

    /// Several records by id, live ones (or, with `archived`, archived ones) the actor may
    /// see; ids that are missing, hidden or in the other state are left out.
    pub async fn records(
        &self,
        actor: &Actor,
        kind: ObjectType,
        ids: &[i64],
        archived: bool,
    ) -> Result<Vec<CrmRecord>, AppError> {
        properties_type(kind)?;
        if kind == ObjectType::Ticket {
            actor.require_ticket_access()?;
        }
        let mut tx = self.db().read().await?;
        let out = self.load_records(&mut tx, actor, kind, ids).await?;
        tx.commit().await?;
        Ok(out
            .into_iter()
            .filter(|r| r.archived_at.is_some() == archived)
            .collect())
    }

    /// One record; `NotFound` when it is missing, hidden (HD-09) or not in the asked state.
    pub async fn record(
        &self,
        actor: &Actor,
        kind: ObjectType,
        id: i64,
        archived: bool,
    ) -> Result<CrmRecord, AppError> {
        self.records(actor, kind, &[id], archived)
            .await?
            .pop()
            .ok_or_else(|| AppError::not_found(name_of(kind), id))
    }

    /// A contact by its email address (HubSpot's `idProperty=email`).
    pub async fn contact_id_by_email(&self, email: &str) -> Result<Option<i64>, AppError> {
        let mut tx = self.db().read().await?;
        let c = tx.contact_by_email(email.trim()).await?;
        tx.commit().await?;
        Ok(c.map(|c| c.id.0))
    }

    /// A page in id order after the cursor `after`.
    pub async fn record_page(
        &self,
        actor: &Actor,
        kind: ObjectType,
        after: i64,
        limit: i64,
        archived: bool,
    ) -> Result<Vec<CrmRecord>, AppError> {
        properties_type(kind)?;
        if kind == ObjectType::Ticket {
            actor.require_ticket_access()?;
        }
        let mut tx = self.db().read().await?;
        let ids = tx
            .object_ids_after(&actor.scope(), kind, after, limit, archived)
            .await?;
        let out = self.load_records(&mut tx, actor, kind, &ids).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Creates a record with its properties and associations, in one transaction.
    pub async fn create_record(
        &self,
        actor: &Actor,
        kind: ObjectType,
        properties: BTreeMap<String, String>,
        associations: Vec<AssociationEnd>,
    ) -> Result<CrmRecord, AppError> {
        match kind {
            ObjectType::Ticket => {
                let t = self
                    .create_ticket_grouped(
                        actor,
                        NewTicket {
                            properties,
                            associations,
                            via_form: false,
                        },
                    )
                    .await?;
                Ok(CrmRecord::from_ticket(&t))
            }
            ObjectType::Contact | ObjectType::Company => {
                let now = self.now();
                let mut tx = self.db().write().await?;
                let defs = tx.properties(properties_type(kind)?, false).await?;
                let values = normalize(&defs, kind, &properties)?;
                let id = if kind == ObjectType::Contact {
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
                    apply_contact(&mut c, &values)?;
                    crate::crm::insert_contact_in(&mut tx, actor, &mut c, now).await?;
                    c.id.0
                } else {
                    let mut c = Company {
                        id: CompanyId(0),
                        name: None,
                        domain: None,
                        phone: None,
                        created_at: now,
                        updated_at: now,
                        archived_at: None,
                    };
                    apply_company(&mut c, &values);
                    crate::crm::insert_company_in(&mut tx, actor, &mut c, now).await?;
                    c.id.0
                };
                let pt = properties_type(kind)?;
                for (name, v) in &values {
                    if !is_column(kind, name) {
                        tx.set_property_value(pt, id, name, v.as_deref()).await?;
                    }
                }
                let mut events = Vec::new();
                let me = AssociationEnd::new(kind, id);
                for other in associations {
                    events.extend(self.associate_in(&mut tx, actor, me, other, now).await?);
                }
                let record = self
                    .load_records(&mut tx, actor, kind, &[id])
                    .await?
                    .pop()
                    .ok_or_else(|| AppError::Internal("the new record vanished".into()))?;
                tx.commit().await?;
                self.publish(events);
                Ok(record)
            }
            k if k.is_engagement() => {
                let values = self.engagement_values(k, &properties).await?;
                let e = self
                    .create_engagement(actor, k, values, associations)
                    .await?;
                Ok(CrmRecord::from_engagement(e))
            }
            other => Err(properties_type(other)
                .err()
                .unwrap_or_else(|| AppError::Internal("unsupported object type".into()))),
        }
    }

    /// Changes a record's properties; an empty string clears one.
    pub async fn update_record(
        &self,
        actor: &Actor,
        kind: ObjectType,
        id: i64,
        properties: BTreeMap<String, String>,
    ) -> Result<CrmRecord, AppError> {
        match kind {
            ObjectType::Ticket => {
                let t = self
                    .update_ticket(
                        actor,
                        TicketId(id),
                        TicketChanges {
                            properties,
                            expected_version: None,
                        },
                    )
                    .await?;
                Ok(CrmRecord::from_ticket(&t))
            }
            ObjectType::Contact | ObjectType::Company => {
                let now = self.now();
                let pt = properties_type(kind)?;
                let mut tx = self.db().write().await?;
                let defs = tx.properties(pt, false).await?;
                let values = normalize(&defs, kind, &properties)?;
                let mut changed = Vec::new();
                if kind == ObjectType::Contact {
                    let mut c = tx
                        .contact(ContactId(id))
                        .await?
                        .filter(|c| c.archived_at.is_none())
                        .ok_or_else(|| AppError::not_found("contact", id))?;
                    let before = c.clone();
                    apply_contact(&mut c, &values)?;
                    check_unique_email(&mut tx, &c).await?;
                    c.updated_at = now;
                    tx.save_contact(&c).await?;
                    for (name, old, new) in [
                        ("email", &before.email, &c.email),
                        ("firstname", &before.firstname, &c.firstname),
                        ("lastname", &before.lastname, &c.lastname),
                        ("phone", &before.phone, &c.phone),
                        ("company", &before.company, &c.company),
                    ] {
                        if old != new {
                            changed.push((name.to_string(), old.clone(), new.clone()));
                        }
                    }
                } else {
                    let mut c = tx
                        .company(CompanyId(id))
                        .await?
                        .filter(|c| c.archived_at.is_none())
                        .ok_or_else(|| AppError::not_found("company", id))?;
                    let before = c.clone();
                    apply_company(&mut c, &values);
                    c.updated_at = now;
                    tx.save_company(&c).await?;
                    for (name, old, new) in [
                        ("name", &before.name, &c.name),
                        ("domain", &before.domain, &c.domain),
                        ("phone", &before.phone, &c.phone),
                    ] {
                        if old != new {
                            changed.push((name.to_string(), old.clone(), new.clone()));
                        }
                    }
                }
                for (name, v) in &values {
                    if !is_column(kind, name) {
                        tx.set_property_value(pt, id, name, v.as_deref()).await?;
                        changed.push((name.clone(), None, v.clone()));
                    }
                }
                crate::crm::record_crm_change(&mut tx, actor, kind, id, changed, now).await?;
                let record = self
                    .load_records(&mut tx, actor, kind, &[id])
                    .await?
                    .pop()
                    .ok_or_else(|| AppError::not_found(name_of(kind), id))?;
                tx.commit().await?;
                Ok(record)
            }
            k if k.is_engagement() => {
                let values = self.engagement_values(k, &properties).await?;
                let e = self.update_engagement(k, id, values).await?;
                Ok(CrmRecord::from_engagement(e))
            }
            other => Err(properties_type(other)
                .err()
                .unwrap_or_else(|| AppError::Internal("unsupported object type".into()))),
        }
    }

    /// Archives a record: a ticket goes to the trash with its conversations (INB-13);
    /// contacts and companies are archived and leave searches and lists.
    pub async fn archive_record(
        &self,
        actor: &Actor,
        kind: ObjectType,
        id: i64,
    ) -> Result<(), AppError> {
        match kind {
            ObjectType::Ticket => self.trash_ticket(actor, TicketId(id)).await,
            ObjectType::Contact => {
                let now = self.now();
                let mut tx = self.db().write().await?;
                let mut c = tx
                    .contact(ContactId(id))
                    .await?
                    .filter(|c| c.archived_at.is_none())
                    .ok_or_else(|| AppError::not_found("contact", id))?;
                c.archived_at = Some(now);
                c.updated_at = now;
                tx.save_contact(&c).await?;
                crate::crm::record_crm_archived(&mut tx, actor, kind, id, now).await?;
                tx.commit().await?;
                Ok(())
            }
            ObjectType::Company => {
                let now = self.now();
                let mut tx = self.db().write().await?;
                let mut c = tx
                    .company(CompanyId(id))
                    .await?
                    .filter(|c| c.archived_at.is_none())
                    .ok_or_else(|| AppError::not_found("company", id))?;
                c.archived_at = Some(now);
                c.updated_at = now;
                tx.save_company(&c).await?;
                crate::crm::record_crm_archived(&mut tx, actor, kind, id, now).await?;
                tx.commit().await?;
                Ok(())
            }
            k if k.is_engagement() => self.archive_engagement(k, id).await,
            other => Err(properties_type(other)
                .err()
                .unwrap_or_else(|| AppError::Internal("unsupported object type".into()))),
        }
    }

    /// HubSpot's CRM search: checks the limits and the filters against the property
    /// definitions, then returns the total and one page of records the actor may see.
    pub async fn search_records(
        &self,
        actor: &Actor,
        kind: ObjectType,
        req: &SearchRequest,
    ) -> Result<(i64, Vec<CrmRecord>), AppError> {
        let pt = properties_type(kind)?;
        if kind == ObjectType::Ticket {
            actor.require_ticket_access()?;
        }
        let mut errors = search_limits(req);
        if !errors.is_empty() {
            return Err(DomainError::Invalid(errors).into());
        }
        let mut tx = self.db().read().await?;
        let defs = tx.properties(pt, false).await?;
        let def = |name: &str| defs.iter().find(|d| d.name == name);
        let mut groups = Vec::with_capacity(req.groups.len());
        for group in &req.groups {
            let mut filters = Vec::with_capacity(group.len());
            for f in group {
                match self.search_filter(kind, f, &def) {
                    Ok(sf) => filters.push(sf),
                    Err(e) => errors.push(e),
                }
            }
            groups.push(filters);
        }
        let sort = match &req.sort {
            Some((name, descending)) => match def(name) {
                Some(d) => Some(SearchSort {
                    name: name.clone(),
                    kind: value_kind(d),
                    descending: *descending,
                }),
                None => {
                    errors.push(FieldError::new(
                        "sorts",
                        ErrorCode::PropertyDoesntExist,
                        format!("{name:?} is not a {} property", name_of(kind)),
                    ));
                    None
                }
            },
            None => None,
        };
        if !errors.is_empty() {
            return Err(DomainError::Invalid(errors).into());
        }
        let q = SearchQuery {
            object: kind,
            groups,
            text: req
                .query
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            sort,
            limit: req.limit,
            offset: req.offset,
        };
        let page = tx.search(&actor.scope(), &q).await?;
        let records = self.load_records(&mut tx, actor, kind, &page.ids).await?;
        tx.commit().await?;
        Ok((page.total, records))
    }

    pub(crate) fn search_filter<'d>(
        &self,
        kind: ObjectType,
        f: &FilterInput,
        def: &impl Fn(&str) -> Option<&'d PropertyDefinition>,
    ) -> Result<SearchFilter, FieldError> {
        use SearchOperator::*;
        let name = f.property_name.trim();
        let op = SearchOperator::parse(f.operator.trim()).ok_or_else(|| {
            FieldError::new(
                name,
                ErrorCode::InvalidOption,
                format!(
                    "{:?} is not an operator (EQ, NEQ, LT, LTE, GT, GTE, BETWEEN, IN, NOT_IN, \
                     HAS_PROPERTY, NOT_HAS_PROPERTY, CONTAINS_TOKEN, NOT_CONTAINS_TOKEN)",
                    f.operator
                ),
            )
        })?;
        let needs_value = matches!(
            op,
            Eq | Neq | Lt | Lte | Gt | Gte | Between | ContainsToken | NotContainsToken
        );
        if needs_value && f.value.is_none() {
            return Err(FieldError::new(
                name,
                ErrorCode::Required,
                format!("{op:?} needs a value"),
            ));
        }
        if op == Between && f.high_value.is_none() {
            return Err(FieldError::new(
                name,
                ErrorCode::Required,
                "BETWEEN needs a value and a highValue",
            ));
        }
        if matches!(op, In | NotIn) && f.values.is_empty() {
            return Err(FieldError::new(
                name,
                ErrorCode::Required,
                format!("{op:?} needs values"),
            ));
        }
        if let Some(rest) = name.strip_prefix("associations.") {
            let other = association_kind(rest).ok_or_else(|| {
                FieldError::new(
                    name,
                    ErrorCode::InvalidOption,
                    format!("{rest:?} is not an object type"),
                )
            })?;
            if !matches!(op, Eq | Neq | In | NotIn | HasProperty | NotHasProperty) {
                return Err(FieldError::new(
                    name,
                    ErrorCode::InvalidValue,
                    format!("{op:?} does not apply to associations"),
                ));
            }
            if other == kind {
                return Err(FieldError::new(
                    name,
                    ErrorCode::InvalidValue,
                    format!(
                        "{} records are not associated with each other",
                        kind.plural()
                    ),
                ));
            }
            // Record ids have one spelling (Hardening finding 8): `01` or `+1` is refused
            // rather than matched as record 1.
            if let Some(bad) = f
                .value
                .iter()
                .chain(&f.values)
                .find(|v| fd_domain::text::parse_id(v).is_none())
            {
                return Err(FieldError::new(
                    name,
                    ErrorCode::InvalidInteger,
                    format!("{bad:?} is not a record id (digits only)"),
                ));
            }
            return Ok(SearchFilter {
                field: SearchField::Association(other),
                op,
                value: f.value.clone(),
                high_value: None,
                values: f.values.clone(),
            });
        }
        let d = def(name).ok_or_else(|| {
            FieldError::new(
                name,
                ErrorCode::PropertyDoesntExist,
                format!("is not a {} property", name_of(kind)),
            )
        })?;
        let value = f.value.as_deref().map(|v| filter_value(d, v)).transpose()?;
        let high_value = f
            .high_value
            .as_deref()
            .map(|v| filter_value(d, v))
            .transpose()?;
        let values = f
            .values
            .iter()
            .map(|v| filter_value(d, v))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SearchFilter {
            field: SearchField::Property {
                name: name.to_string(),
                kind: value_kind(d),
            },
            op,
            value,
            high_value,
            values,
        })
    }
}

/// HubSpot's search limits on a request (groups, filters, page, values), every problem at
/// once; checked before anything reads the database. The users search checks the same.
pub(crate) fn search_limits(req: &SearchRequest) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if req.groups.len() > MAX_FILTER_GROUPS {
        errors.push(FieldError::new(
            "filterGroups",
            ErrorCode::TooLarge,
            format!(
                "at most {MAX_FILTER_GROUPS} filter groups are allowed, {} were given",
                req.groups.len()
            ),
        ));
    }
    let total_filters: usize = req.groups.iter().map(Vec::len).sum();
    if total_filters > MAX_FILTERS {
        errors.push(FieldError::new(
            "filters",
            ErrorCode::TooLarge,
            format!("at most {MAX_FILTERS} filters are allowed in all, {total_filters} were given"),
        ));
    }
    if req.groups.iter().any(|g| g.len() > MAX_FILTERS_PER_GROUP) {
        errors.push(FieldError::new(
            "filters",
            ErrorCode::TooLarge,
            format!("at most {MAX_FILTERS_PER_GROUP} filters are allowed per group"),
        ));
    }
    if !(0..=MAX_SEARCH_LIMIT).contains(&req.limit) {
        errors.push(FieldError::new(
            "limit",
            ErrorCode::InvalidInteger,
            format!("must be between 0 and {MAX_SEARCH_LIMIT}"),
        ));
    }
    if req.offset < 0 || req.offset.saturating_add(req.limit.max(0)) > MAX_SEARCH_RESULTS {
        errors.push(FieldError::new(
            "after",
            ErrorCode::TooLarge,
            format!("paging is limited to the first {MAX_SEARCH_RESULTS} results"),
        ));
    }
    if let Some(q) = &req.query {
        if q.chars().count() > MAX_FILTER_VALUE_CHARS {
            errors.push(FieldError::new(
                "query",
                ErrorCode::TooLarge,
                format!("is longer than {MAX_FILTER_VALUE_CHARS} characters"),
            ));
        }
        if let Err(DomainError::Invalid(e)) = fd_domain::text::no_nul("query", q) {
            errors.extend(e);
        }
    }
    for f in req.groups.iter().flatten() {
        errors.extend(filter_limits(f));
    }
    errors
}

/// The limits of one filter that hold whatever its property: checked before any query runs.
fn filter_limits(f: &FilterInput) -> Vec<FieldError> {
    let name = f.property_name.trim();
    let mut errors = Vec::new();
    if f.values.len() > MAX_FILTER_VALUES {
        errors.push(FieldError::new(
            name,
            ErrorCode::TooLarge,
            format!(
                "at most {MAX_FILTER_VALUES} values are allowed per filter, {} were given",
                f.values.len()
            ),
        ));
    }
    if name.chars().count() > MAX_FILTER_VALUE_CHARS {
        errors.push(FieldError::new(
            "propertyName",
            ErrorCode::TooLarge,
            format!("is longer than {MAX_FILTER_VALUE_CHARS} characters"),
        ));
    }
    let given = [&f.value, &f.high_value]
        .into_iter()
        .flatten()
        .chain(&f.values)
        .chain([&f.property_name, &f.operator]);
    let mut long = false;
    let mut nul = false;
    for v in given {
        long |= v.chars().count() > MAX_FILTER_VALUE_CHARS;
        nul |= v.contains('\0');
    }
    if long {
        errors.push(FieldError::new(
            name,
            ErrorCode::TooLarge,
            format!("a filter value is longer than {MAX_FILTER_VALUE_CHARS} characters"),
        ));
    }
    if nul {
        errors.push(FieldError::new(
            name,
            ErrorCode::InvalidValue,
            "filter values must not contain NUL characters",
        ));
    }
    errors
}

fn is_column(kind: ObjectType, name: &str) -> bool {
    match kind {
        ObjectType::Contact => {
            ["email", "firstname", "lastname", "phone", "company"].contains(&name)
        }
        ObjectType::Company => ["name", "domain", "phone"].contains(&name),
        _ => fd_store::TICKET_COLUMN_PROPERTIES.contains(&name),
    }
}

/// The contact's own properties from normalised values (the rule is `Contact::set_standard`,
/// shared with the screens' contact forms).
fn apply_contact(
    c: &mut Contact,
    values: &BTreeMap<String, Option<String>>,
) -> Result<(), AppError> {
    for (name, v) in values {
        c.set_standard(name, v.as_deref())?;
    }
    Ok(())
}

fn apply_company(c: &mut Company, values: &BTreeMap<String, Option<String>>) {
    for (name, v) in values {
        c.set_standard(name, v.as_deref());
    }
}

/// Ids that appear more than once in a batch (HubSpot refuses duplicate inputs).
pub fn duplicate_ids(ids: &[i64]) -> Vec<i64> {
    let mut seen = BTreeSet::new();
    let mut dup = BTreeSet::new();
    for id in ids {
        if !seen.insert(*id) {
            dup.insert(*id);
        }
    }
    dup.into_iter().collect()
}

/// Concurrent ticket creates from the API, committed together. A create's cost is mostly
/// its transaction's round trips (begin, configuration check, commit) rather than its two
/// inserts, and SQLite has a single writer anyway; creates that arrive while one group commits form the next
/// group and share one transaction. Each create still runs the whole `insert_ticket` rule
/// path; if any of them fails, the group is rolled back and every create of it runs alone, so
/// one bad request never affects another.
#[derive(Default)]
pub(crate) struct CreateGroups {
    sender: std::sync::OnceLock<tokio::sync::mpsc::Sender<CreateJob>>,
}

struct CreateJob {
    actor: Actor,
    input: NewTicket,
    reply: tokio::sync::oneshot::Sender<Result<Ticket, AppError>>,
}

/// The largest group: bounds the time one transaction holds the writer.
const MAX_GROUP: usize = 64;

impl App {
    /// [`App::create_ticket`] for the API's many small concurrent creates (see
    /// [`CreateGroups`]).
    pub(crate) async fn create_ticket_grouped(
        &self,
        actor: &Actor,
        input: NewTicket,
    ) -> Result<Ticket, AppError> {
        actor.require_ticket_access()?;
        let sender = self
            .create_groups
            .sender
            .get_or_init(|| {
                let (tx, rx) = tokio::sync::mpsc::channel(1024);
                tokio::spawn(group_worker(self.clone(), rx));
                tx
            })
            .clone();
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = CreateJob {
            actor: actor.clone(),
            input,
            reply,
        };
        if let Err(tokio::sync::mpsc::error::SendError(job)) = sender.send(job).await {
            return self.create_ticket(&job.actor, job.input).await;
        }
        answer
            .await
            .map_err(|_| AppError::Internal("the ticket create worker stopped".into()))?
    }

    /// Inserts every job's ticket in one transaction; any failure undoes them all.
    async fn create_group(&self, jobs: &[CreateJob]) -> Result<Vec<Ticket>, AppError> {
        let now = self.now();
        let mut tx = self.db().write().await?;
        let workspace = match tx.account_settings().await?.mode {
            AccountMode::HelpDesk => Workspace::HelpDesk,
            AccountMode::Inbox => Workspace::Inbox,
        };
        let cfg = self.ticket_config(&mut tx).await?;
        let mut out = Vec::with_capacity(jobs.len());
        for job in jobs {
            out.push(
                crate::tickets::insert_ticket(
                    &mut tx, &cfg, &job.actor, &job.input, workspace, now,
                )
                .await?,
            );
        }
        tx.commit().await?;
        Ok(out)
    }
}

async fn group_worker(app: App, mut rx: tokio::sync::mpsc::Receiver<CreateJob>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let grouped = if jobs.len() > 1 {
            app.create_group(&jobs).await.ok()
        } else {
            None
        };
        match grouped {
            Some(tickets) => {
                app.publish(
                    tickets
                        .iter()
                        .map(|t| crate::Event::TicketChanged(t.id))
                        .collect(),
                );
                for (job, t) in jobs.into_iter().zip(tickets) {
                    let _ = job.reply.send(Ok(t));
                }
            }
            None => {
                for job in jobs {
                    let r = app.create_ticket(&job.actor, job.input).await;
                    let _ = job.reply.send(r);
                }
            }
        }
    }
}

impl App {
    /// One live record by id, a merged-away contact's, company's or ticket's id answering
    /// with the record it was merged into (HubSpot's read of an old id). Archived reads are
    /// plain [`App::record`] reads.
    pub async fn record_following_merges(
        &self,
        actor: &Actor,
        kind: ObjectType,
        id: i64,
        archived: bool,
    ) -> Result<CrmRecord, AppError> {
        // A merged-away ticket is kept trashed only for an unmerge: `archived=true` does not
        // show it (lists leave it out too), it leads to the survivor like a plain read.
        if archived
            && kind == ObjectType::Ticket
            && let Some(survivor) = self.merge_survivor(kind, id).await?
        {
            return self.record(actor, kind, survivor, false).await;
        }
        match self.record(actor, kind, id, archived).await {
            Err(e @ AppError::NotFound { .. }) if !archived => {
                match self.merge_survivor(kind, id).await? {
                    Some(survivor) => self.record(actor, kind, survivor, false).await,
                    None => Err(e),
                }
            }
            other => other,
        }
    }
}
