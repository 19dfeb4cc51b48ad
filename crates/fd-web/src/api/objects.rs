//! CRM objects v3 for tickets, contacts and companies: list, read, create (201), update,
//! archive (204) and the batch endpoints (207 on partial failure).

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fd_app::domain::property::{PropertyDefinition, PropertyType, format_time};
use fd_app::domain::ticket_merge::MERGED_IDS_PROPERTY;
use fd_app::domain::{CompanyId, ContactId, ObjectType, TicketId};
use fd_app::{Actor, App, AssociationEnd, CrmRecord, default_type, properties_type};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{
    Auth, BatchResponse, Body, CrmObjectType, Paging, Params, Time, batch_response, body_id,
    check_batch_size, crm_type, object_type, parse_id, property_strings, scalar_string, singular,
};
use crate::{ApiError, WebState};

pub(super) fn routes() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, update, archive))
        .routes(routes!(merge))
        .routes(routes!(batch_read))
        .routes(routes!(batch_create))
        .routes(routes!(batch_update))
        .routes(routes!(batch_archive))
}

/// A CRM record (HubSpot's `SimplePublicObject`): its requested properties as strings (`null`
/// when unset), and the ids associated with it when `associations` were asked for.
#[derive(Serialize, ToSchema, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SimplePublicObject {
    pub id: String,
    pub properties: BTreeMap<String, Option<String>>,
    pub created_at: Time,
    pub updated_at: Time,
    pub archived: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub archived_at: Option<Time>,
    /// Per requested object type (its name as asked), when any are associated.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub associations: Option<BTreeMap<String, AssociatedIds>>,
}

/// The records of one object type associated with a record.
#[derive(Serialize, ToSchema, Debug)]
pub(crate) struct AssociatedIds {
    pub results: Vec<AssociatedId>,
}

#[derive(Serialize, ToSchema, Debug)]
pub(crate) struct AssociatedId {
    pub id: String,
    /// `ticket_to_contact`, or `ticket_to_contact_{typeId}` for a labelled type.
    #[serde(rename = "type")]
    pub kind: String,
}

/// A page of records in id order.
#[derive(Serialize, ToSchema)]
pub(crate) struct ObjectPage {
    results: Vec<SimplePublicObject>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    paging: Option<Paging>,
}

/// Properties returned when the request names none (HubSpot's defaults per object type).
pub(crate) fn default_properties(kind: ObjectType) -> &'static [&'static str] {
    match kind {
        ObjectType::Ticket => &[
            "content",
            "hs_pipeline",
            "hs_pipeline_stage",
            "hs_ticket_category",
            "hs_ticket_priority",
            "subject",
            "createdate",
            "hs_lastmodifieddate",
            "hs_object_id",
        ],
        ObjectType::Contact => &[
            "createdate",
            "email",
            "firstname",
            "hs_object_id",
            "lastmodifieddate",
            "lastname",
        ],
        k if k.is_engagement() => &["hs_createdate", "hs_lastmodifieddate", "hs_object_id"],
        _ => &[
            "createdate",
            "domain",
            "hs_lastmodifieddate",
            "hs_object_id",
            "name",
        ],
    }
}

/// Properties every record carries whatever was asked.
fn always(kind: ObjectType) -> [&'static str; 3] {
    match kind {
        ObjectType::Contact => ["hs_object_id", "createdate", "lastmodifieddate"],
        k if k.is_engagement() => ["hs_object_id", "hs_createdate", "hs_lastmodifieddate"],
        _ => ["hs_object_id", "createdate", "hs_lastmodifieddate"],
    }
}

/// Standard properties and how they render; anything else needs the definitions.
fn standard_type(kind: ObjectType, name: &str) -> Option<PropertyType> {
    let time = [
        "createdate",
        "hs_lastmodifieddate",
        "lastmodifieddate",
        "closed_date",
        "hs_last_activity_date",
    ];
    if time.contains(&name) {
        return Some(PropertyType::Datetime);
    }
    let standard: &[&str] = match kind {
        ObjectType::Ticket => &[
            "subject",
            "content",
            "hs_pipeline",
            "hs_pipeline_stage",
            "hs_ticket_priority",
            "hs_ticket_category",
            "hubspot_owner_id",
            "hubspot_team_id",
            "source_type",
            "hs_object_id",
            // Set by a merge (`;`-separated ids the ticket absorbed), read-only.
            "hs_merged_object_ids",
        ],
        ObjectType::Contact => &[
            "email",
            "firstname",
            "lastname",
            "phone",
            "company",
            "hs_object_id",
        ],
        k if k.is_engagement() => &["hs_object_id"],
        _ => &["name", "domain", "phone", "hs_object_id"],
    };
    standard.contains(&name).then_some(PropertyType::String)
}

/// How each requested property renders; undefined names are dropped (HubSpot ignores them).
pub(crate) struct Shape {
    kind: ObjectType,
    names: Vec<(String, PropertyType)>,
}

impl Shape {
    /// The properties to show: `requested`, or the defaults when none; plus the always-on ones.
    pub(crate) async fn new(
        app: &App,
        kind: ObjectType,
        requested: &[String],
    ) -> Result<Shape, ApiError> {
        let mut wanted: Vec<String> = if requested.is_empty() {
            default_properties(kind)
                .iter()
                .map(|s| s.to_string())
                .collect()
        } else {
            requested.to_vec()
        };
        for a in always(kind) {
            if !wanted.iter().any(|w| w == a) {
                wanted.push(a.to_string());
            }
        }
        let mut defs: Option<Vec<PropertyDefinition>> = None;
        let mut names = Vec::with_capacity(wanted.len());
        for w in wanted {
            if let Some(t) = standard_type(kind, &w) {
                names.push((w, t));
                continue;
            }
            if defs.is_none() {
                defs = Some(app.properties(properties_type(kind)?).await?);
            }
            if let Some(d) = defs.as_ref().and_then(|ds| ds.iter().find(|d| d.name == w)) {
                names.push((w, d.kind));
            }
        }
        Ok(Shape { kind, names })
    }

    pub(crate) fn render(&self, r: &CrmRecord) -> SimplePublicObject {
        let properties = self
            .names
            .iter()
            .map(|(name, kind)| {
                let v = r.values.get(name).map(|raw| render_value(*kind, raw));
                (name.clone(), v)
            })
            .collect();
        let _ = self.kind;
        SimplePublicObject {
            id: r.id.to_string(),
            properties,
            created_at: Time::at(r.created_at),
            updated_at: Time::at(r.updated_at),
            archived: r.archived_at.is_some(),
            archived_at: r.archived_at.map(Time::at),
            associations: None,
        }
    }
}

/// Stored canonical text → HubSpot's wire form (ISO instants, calendar dates).
fn render_value(kind: PropertyType, raw: &str) -> String {
    match kind {
        PropertyType::Datetime => raw
            .parse::<i64>()
            .map(format_time)
            .unwrap_or_else(|_| raw.to_string()),
        PropertyType::Date => raw
            .parse::<i64>()
            .map(|ms| format_time(ms).chars().take(10).collect())
            .unwrap_or_else(|_| raw.to_string()),
        _ => raw.to_string(),
    }
}

/// The `associations` block of a record: associated ids per requested object type.
pub(crate) async fn associations_block(
    app: &App,
    actor: &Actor,
    kind: ObjectType,
    id: i64,
    requested: &[String],
) -> Result<Option<BTreeMap<String, AssociatedIds>>, ApiError> {
    if requested.is_empty() {
        return Ok(None);
    }
    let mut block = BTreeMap::new();
    for name in requested {
        let Ok(other) = object_type(name) else {
            continue;
        };
        if default_type(kind, other).is_none() {
            continue;
        }
        let rows = app
            .association_rows(actor, AssociationEnd::new(kind, id), other)
            .await?;
        if rows.is_empty() {
            continue;
        }
        let results = rows
            .iter()
            .map(|r| {
                let base = format!("{}_to_{}", singular(kind), singular(other));
                let t = if Some(r.type_id) == default_type(kind, other) {
                    base
                } else {
                    format!("{base}_{}", r.type_id)
                };
                AssociatedId {
                    id: r.to_id.to_string(),
                    kind: t,
                }
            })
            .collect();
        block.insert(name.clone(), AssociatedIds { results });
    }
    Ok(if block.is_empty() { None } else { Some(block) })
}

/// Resolves `idProperty` (only `hs_object_id`, and `email` for contacts, are unique here).
async fn resolve_id(
    app: &App,
    kind: ObjectType,
    raw: &str,
    id_property: Option<&str>,
) -> Result<Option<i64>, ApiError> {
    match id_property.map(str::trim) {
        None | Some("") | Some("hs_object_id") => Ok(fd_app::domain::text::parse_id(raw)),
        Some("email") if kind == ObjectType::Contact => Ok(app.contact_id_by_email(raw).await?),
        Some(other) => Err(ApiError::validation(format!(
            "idProperty {other:?} is not a unique property of {}",
            kind.plural()
        ))),
    }
}

#[utoipa::path(
    get,
    path = "/crm/v3/objects/{objectType}",
    operation_id = "listObjects",
    tag = "objects",
    summary = "A page of records in id order",
    params(
        ("objectType" = inline(CrmObjectType), Path),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100),
        ("after" = Option<String>, Query),
        ("properties" = Option<Vec<String>>, Query, style = Form, explode),
        ("propertiesWithHistory" = Option<Vec<String>>, Query, style = Form, explode),
        ("associations" = Option<Vec<String>>, Query, style = Form, explode),
        ("archived" = Option<bool>, Query),
    ),
    responses((status = 200, description = "success", body = ObjectPage)),
)]
async fn list(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(object_type): Path<String>,
    params: Params,
) -> Result<Json<ObjectPage>, ApiError> {
    let kind = crm_type(&object_type)?;
    let limit = params.int("limit", 10, 1, 100)?;
    let after = params.cursor("after")?;
    let archived = params.bool("archived", false)?;
    let shape = Shape::new(&s.app, kind, &params.list("properties")).await?;
    let assoc = params.list("associations");
    let mut records = s
        .app
        .record_page(&actor, kind, after, limit + 1, archived)
        .await?;
    let more = records.len() as i64 > limit;
    records.truncate(limit as usize);
    let mut results = Vec::with_capacity(records.len());
    for r in &records {
        let mut v = shape.render(r);
        v.associations = associations_block(&s.app, &actor, kind, r.id, &assoc).await?;
        results.push(v);
    }
    let paging = records
        .last()
        .filter(|_| more)
        .map(|last| Paging::after(last.id));
    Ok(Json(ObjectPage { results, paging }))
}

#[utoipa::path(
    get,
    path = "/crm/v3/objects/{objectType}/{objectId}",
    operation_id = "getObject",
    tag = "objects",
    summary = "Read a record",
    params(
        ("objectType" = inline(CrmObjectType), Path),
        ("objectId" = String, Path, pattern = "^[0-9]{1,12}$"),
        ("idProperty" = Option<String>, Query),
        ("properties" = Option<Vec<String>>, Query, style = Form, explode),
        ("propertiesWithHistory" = Option<Vec<String>>, Query, style = Form, explode),
        ("associations" = Option<Vec<String>>, Query, style = Form, explode),
        ("archived" = Option<bool>, Query),
    ),
    responses((status = 200, description = "success", body = SimplePublicObject)),
)]
async fn read(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((object_type, object_id)): Path<(String, String)>,
    params: Params,
) -> Result<Json<SimplePublicObject>, ApiError> {
    let kind = crm_type(&object_type)?;
    let archived = params.bool("archived", false)?;
    let id = resolve_id(&s.app, kind, &object_id, params.get("idProperty"))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("{} {object_id} not found", singular(kind))))?;
    let shape = Shape::new(&s.app, kind, &params.list("properties")).await?;
    // A merged-away contact's, company's or ticket's id answers with the record it was
    // merged into.
    let r = s
        .app
        .record_following_merges(&actor, kind, id, archived)
        .await?;
    let mut v = shape.render(&r);
    v.associations =
        associations_block(&s.app, &actor, kind, r.id, &params.list("associations")).await?;
    Ok(Json(v))
}

/// HubSpot's `PublicMergeInput`: both ids as digit strings (numbers are read too).
#[derive(Deserialize, Default, ToSchema)]
#[schema(as = PublicMergeInput)]
pub(crate) struct MergeIn {
    #[serde(rename = "primaryObjectId", default)]
    #[schema(value_type = String, required = true)]
    primary_object_id: Value,
    #[serde(rename = "objectIdToMerge", default)]
    #[schema(value_type = String, required = true)]
    object_id_to_merge: Value,
}

fn merge_id(v: &Value, field: &str) -> Result<i64, ApiError> {
    if v.is_null() {
        return Err(ApiError::validation(format!(
            "Missing required field: {field}"
        )));
    }
    body_id(v).ok_or_else(|| ApiError::validation(format!("{field} must be a record id")))
}

#[utoipa::path(
    post,
    path = "/crm/v3/objects/{objectType}/merge",
    operation_id = "mergeObjects",
    tag = "objects",
    summary = "Merge two records into the primary (tickets, contacts, companies)",
    description = "The primary keeps its id and its values; the merged record's conversations, associations and history move to it, and reading the merged id answers with the primary. Tickets: the create date becomes the older one and hs_merged_object_ids lists the absorbed ids.",
    params(("objectType" = inline(CrmObjectType), Path)),
    request_body = MergeIn,
    responses((status = 200, description = "the surviving record", body = SimplePublicObject)),
)]
async fn merge(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(object_type): Path<String>,
    Body(input): Body<MergeIn>,
) -> Result<Json<SimplePublicObject>, ApiError> {
    let kind = crm_type(&object_type)?;
    let primary = merge_id(&input.primary_object_id, "primaryObjectId")?;
    let merged = merge_id(&input.object_id_to_merge, "objectIdToMerge")?;
    let survivor = match kind {
        ObjectType::Ticket => {
            s.app
                .merge_tickets(&actor, TicketId(primary), TicketId(merged))
                .await?
                .id
                .0
        }
        ObjectType::Contact => {
            s.app
                .merge_contacts(&actor, ContactId(primary), ContactId(merged))
                .await?
                .id
                .0
        }
        ObjectType::Company => {
            s.app
                .merge_companies(&actor, CompanyId(primary), CompanyId(merged))
                .await?
                .id
                .0
        }
        _ => {
            return Err(ApiError::validation(format!(
                "{} cannot be merged: merge serves tickets, contacts and companies",
                kind.plural()
            )));
        }
    };
    let record = s.app.record(&actor, kind, survivor, false).await?;
    let mut names: Vec<String> = default_properties(kind)
        .iter()
        .map(|n| n.to_string())
        .collect();
    if kind == ObjectType::Ticket {
        names.push(MERGED_IDS_PROPERTY.to_string());
    }
    let shape = Shape::new(&s.app, kind, &names).await?;
    Ok(Json(shape.render(&record)))
}

/// An association type as a request names it.
#[derive(Deserialize, Default, ToSchema)]
#[schema(as = AssociationSpec)]
pub(crate) struct AssociationTypeIn {
    #[serde(rename = "associationCategory")]
    #[schema(value_type = Option<AssociationCategory>, nullable = false)]
    #[serde(default)]
    category: Option<String>,
    #[serde(rename = "associationTypeId")]
    #[schema(value_type = Option<i32>, nullable = false)]
    #[serde(default)]
    type_id: Option<i64>,
}

/// Who defined an association type.
#[derive(ToSchema)]
#[schema(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(dead_code)] // a request field's description: handlers compare the text
#[allow(clippy::enum_variant_names)] // HubSpot's names
pub(super) enum AssociationCategory {
    HubspotDefined,
    UserDefined,
    IntegratorDefined,
}

/// A record id in a body: clients send a digit string (or a number, which `body_id` reads).
#[derive(Deserialize, Default, ToSchema)]
pub(crate) struct IdIn {
    #[serde(default)]
    #[schema(value_type = String, required = true)]
    id: Value,
}

#[derive(Deserialize, Default, ToSchema)]
pub(crate) struct AssociationIn {
    #[schema(required = true, inline)]
    #[serde(default)]
    to: IdIn,
    #[schema(required = true)]
    #[serde(default)]
    types: Vec<AssociationTypeIn>,
}

/// A record to create, with associations to existing records.
#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ObjectInputForCreate)]
pub(crate) struct CreateIn {
    #[schema(value_type = BTreeMap<String, Option<String>>, required = true)]
    #[serde(default)]
    properties: Option<BTreeMap<String, Value>>,
    #[schema(inline)]
    #[serde(default)]
    associations: Vec<AssociationIn>,
    #[allow(dead_code)]
    #[schema(nullable = false)]
    #[serde(default)]
    object_write_trace_id: Option<String>,
}

/// The object type a HubSpot-defined association type id leads to from `kind`.
async fn target_of(
    app: &App,
    kind: ObjectType,
    category: &str,
    type_id: i64,
) -> Result<ObjectType, ApiError> {
    for other in [
        ObjectType::Contact,
        ObjectType::Company,
        ObjectType::Ticket,
        ObjectType::Deal,
        ObjectType::Call,
        ObjectType::Note,
        ObjectType::Email,
    ] {
        if default_type(kind, other).is_none() {
            continue;
        }
        if app
            .association_kinds(kind, other)
            .await?
            .iter()
            .any(|k| k.type_id == type_id && k.category == category)
        {
            return Ok(other);
        }
    }
    Err(ApiError::validation(format!(
        "associationTypeId {type_id} ({category}) does not start from {}",
        kind.plural()
    )))
}

/// Creates one record with its inline associations; the unlabelled association is made in
/// the create's transaction, labels right after.
async fn create_one(
    app: &App,
    actor: &Actor,
    kind: ObjectType,
    input: CreateIn,
) -> Result<CrmRecord, ApiError> {
    let props = input
        .properties
        .ok_or_else(|| ApiError::validation("Missing required field: properties"))?;
    let props = property_strings(&props)?;
    let mut ends = Vec::new();
    let mut typed = Vec::new();
    for a in &input.associations {
        let id = body_id(&a.to.id)
            .ok_or_else(|| ApiError::validation("associations[].to.id must be a record id"))?;
        let first = a
            .types
            .first()
            .ok_or_else(|| ApiError::validation("associations[].types must name a type"))?;
        let category = first
            .category
            .clone()
            .unwrap_or_else(|| fd_app::HUBSPOT_DEFINED.to_string());
        let type_id = first.type_id.ok_or_else(|| {
            ApiError::validation("associations[].types[].associationTypeId is required")
        })?;
        let other = target_of(app, kind, &category, type_id).await?;
        ends.push(AssociationEnd::new(other, id));
        let types: Vec<(String, i64)> = a
            .types
            .iter()
            .map(|t| {
                (
                    t.category
                        .clone()
                        .unwrap_or_else(|| fd_app::HUBSPOT_DEFINED.to_string()),
                    t.type_id.unwrap_or_default(),
                )
            })
            .collect();
        if types
            .iter()
            .any(|(_, t)| Some(*t) != default_type(kind, other))
        {
            typed.push((AssociationEnd::new(other, id), types));
        }
    }
    let record = app.create_record(actor, kind, props, ends).await?;
    for (end, types) in typed {
        app.associate_with_types(actor, AssociationEnd::new(kind, record.id), end, &types)
            .await?;
    }
    Ok(record)
}

fn input_shape_names(kind: ObjectType, props: &Option<BTreeMap<String, Value>>) -> Vec<String> {
    let mut names: Vec<String> = default_properties(kind)
        .iter()
        .map(|s| s.to_string())
        .collect();
    if let Some(p) = props {
        for k in p.keys() {
            if !names.contains(k) {
                names.push(k.clone());
            }
        }
    }
    names
}

#[utoipa::path(
    post,
    path = "/crm/v3/objects/{objectType}",
    operation_id = "createObject",
    tag = "objects",
    summary = "Create a record",
    params(("objectType" = inline(CrmObjectType), Path)),
    request_body = CreateIn,
    responses((status = 201, description = "success", body = SimplePublicObject, links(
        ("getObject" = (operation_id = "getObject", parameters(
            ("objectType" = "$request.path.objectType"), ("objectId" = "$response.body#/id")))),
        ("updateObject" = (operation_id = "updateObject", parameters(
            ("objectType" = "$request.path.objectType"), ("objectId" = "$response.body#/id")))),
        ("archiveObject" = (operation_id = "archiveObject", parameters(
            ("objectType" = "$request.path.objectType"), ("objectId" = "$response.body#/id")))),
    ))),
)]
async fn create(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(object_type): Path<String>,
    Body(input): Body<CreateIn>,
) -> Result<(StatusCode, Json<SimplePublicObject>), ApiError> {
    let kind = crm_type(&object_type)?;
    let names = input_shape_names(kind, &input.properties);
    let record = create_one(&s.app, &actor, kind, input).await?;
    let shape = Shape::new(&s.app, kind, &names).await?;
    Ok((StatusCode::CREATED, Json(shape.render(&record))))
}

/// New property values; `null` or `""` clears one.
#[derive(Deserialize, Default, ToSchema)]
#[schema(as = ObjectInput)]
pub(crate) struct UpdateIn {
    #[schema(value_type = BTreeMap<String, Option<String>>, required = true)]
    #[serde(default)]
    properties: Option<BTreeMap<String, Value>>,
}

#[utoipa::path(
    patch,
    path = "/crm/v3/objects/{objectType}/{objectId}",
    operation_id = "updateObject",
    tag = "objects",
    summary = "Update a record",
    params(
        ("objectType" = inline(CrmObjectType), Path),
        ("objectId" = String, Path, pattern = "^[0-9]{1,12}$"),
        ("idProperty" = Option<String>, Query),
    ),
    request_body = UpdateIn,
    responses((status = 200, description = "success", body = SimplePublicObject)),
)]
async fn update(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((object_type, object_id)): Path<(String, String)>,
    params: Params,
    Body(input): Body<UpdateIn>,
) -> Result<Json<SimplePublicObject>, ApiError> {
    let kind = crm_type(&object_type)?;
    let id = resolve_id(&s.app, kind, &object_id, params.get("idProperty"))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("{} {object_id} not found", singular(kind))))?;
    let names = input_shape_names(kind, &input.properties);
    let props = input
        .properties
        .ok_or_else(|| ApiError::validation("Missing required field: properties"))?;
    let props = property_strings(&props)?;
    let record = s.app.update_record(&actor, kind, id, props).await?;
    let shape = Shape::new(&s.app, kind, &names).await?;
    Ok(Json(shape.render(&record)))
}

#[utoipa::path(
    delete,
    path = "/crm/v3/objects/{objectType}/{objectId}",
    operation_id = "archiveObject",
    tag = "objects",
    summary = "Archive a record (tickets go to the trash)",
    params(
        ("objectType" = inline(CrmObjectType), Path),
        ("objectId" = String, Path, pattern = "^[0-9]{1,12}$"),
    ),
    responses((status = 204, description = "no content")),
)]
async fn archive(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((object_type, object_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let kind = crm_type(&object_type)?;
    let id = parse_id(singular(kind), &object_id)?;
    s.app.archive_record(&actor, kind, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Records to read: at most 100 inputs.
#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = BatchReadObjects)]
pub(crate) struct BatchReadIn {
    /// at most 100 inputs
    #[schema(required = true, inline)]
    #[serde(default)]
    pub(super) inputs: Vec<IdIn>,
    #[serde(default)]
    pub(super) properties: Vec<String>,
    #[allow(dead_code)]
    #[serde(default)]
    properties_with_history: Vec<String>,
    #[schema(nullable = false)]
    #[serde(default)]
    pub(super) id_property: Option<String>,
}

fn duplicates<'a>(ids: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut dup = BTreeSet::new();
    for id in ids {
        if !seen.insert(id) {
            dup.insert(id.to_string());
        }
    }
    dup.into_iter().collect()
}

fn refuse_duplicates(ids: &[String]) -> Result<(), ApiError> {
    let dup = duplicates(ids.iter().map(String::as_str));
    if dup.is_empty() {
        Ok(())
    } else {
        Err(
            ApiError::validation(format!("Duplicate IDs found in batch input: {dup:?}"))
                .with_context(json!({ "ids": dup })),
        )
    }
}

fn input_id(v: &Value) -> Result<String, ApiError> {
    scalar_string(v).ok_or_else(|| ApiError::validation("inputs[].id must be a string"))
}

/// A batch read's ids as sent, checked: at most 100, each a string, none twice (HubSpot's
/// answers). The users object's batch read takes the same input.
pub(super) fn batch_read_ids(input: &BatchReadIn) -> Result<Vec<String>, ApiError> {
    check_batch_size(input.inputs.len())?;
    let raw: Vec<String> = input
        .inputs
        .iter()
        .map(|i| input_id(&i.id))
        .collect::<Result<_, _>>()?;
    refuse_duplicates(&raw)?;
    Ok(raw)
}

/// Each input's id as sent, and its properties as strings.
pub(super) type BatchUpdates = (Vec<String>, Vec<BTreeMap<String, String>>);

/// A batch update's ids and properties as sent, checked as a batch read's ids are, and every
/// input with its properties. The users object's batch update takes the same input.
pub(super) fn batch_update_inputs(input: &BatchUpdateIn) -> Result<BatchUpdates, ApiError> {
    check_batch_size(input.inputs.len())?;
    let raw: Vec<String> = input
        .inputs
        .iter()
        .map(|i| input_id(&i.id))
        .collect::<Result<_, _>>()?;
    refuse_duplicates(&raw)?;
    let mut prepared = Vec::with_capacity(input.inputs.len());
    for i in &input.inputs {
        let props = i
            .properties
            .as_ref()
            .ok_or_else(|| ApiError::validation("Missing required field: inputs[].properties"))?;
        prepared.push(property_strings(props)?);
    }
    Ok((raw, prepared))
}

#[utoipa::path(
    post,
    path = "/crm/v3/objects/{objectType}/batch/read",
    operation_id = "batchReadObjects",
    tag = "objects",
    summary = "Read up to 100 records",
    params(("objectType" = inline(CrmObjectType), Path), ("archived" = Option<bool>, Query)),
    request_body = BatchReadIn,
    responses(
        (status = 200, description = "success", body = BatchResponse<SimplePublicObject>),
        (status = 207, description = "some inputs failed", body = BatchResponse<SimplePublicObject>),
    ),
)]
async fn batch_read(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(object_type): Path<String>,
    params: Params,
    Body(input): Body<BatchReadIn>,
) -> Result<Response, ApiError> {
    let kind = crm_type(&object_type)?;
    let raw = batch_read_ids(&input)?;
    let started = s.app.now();
    let archived = params.bool("archived", false)?;
    let mut ids = Vec::new();
    let mut missing = Vec::new();
    for r in &raw {
        match resolve_id(&s.app, kind, r, input.id_property.as_deref()).await? {
            Some(id) => ids.push((r.clone(), id)),
            None => missing.push(r.clone()),
        }
    }
    let numeric: Vec<i64> = ids.iter().map(|(_, id)| *id).collect();
    let records = s.app.records(&actor, kind, &numeric, archived).await?;
    for (r, id) in &ids {
        if !records.iter().any(|rec| rec.id == *id) {
            missing.push(r.clone());
        }
    }
    let shape = Shape::new(&s.app, kind, &input.properties).await?;
    let results = records.iter().map(|r| shape.render(r)).collect();
    let errors = if missing.is_empty() {
        Vec::new()
    } else {
        vec![
            ApiError::not_found(format!("Could not get some {} objects, they may be deleted or not exist. Check that ids are valid.", kind.plural()))
                .with_context(json!({ "ids": missing })),
        ]
    };
    Ok(batch_response(started, s.app.now(), results, errors, StatusCode::OK).into_response())
}

#[derive(Deserialize, Default, ToSchema)]
#[schema(as = BatchCreateObjects)]
pub(crate) struct BatchCreateIn {
    /// at most 100 inputs
    #[schema(required = true)]
    #[serde(default)]
    inputs: Vec<CreateIn>,
}

#[utoipa::path(
    post,
    path = "/crm/v3/objects/{objectType}/batch/create",
    operation_id = "batchCreateObjects",
    tag = "objects",
    summary = "Create up to 100 records",
    params(("objectType" = inline(CrmObjectType), Path)),
    request_body = BatchCreateIn,
    responses(
        (status = 201, description = "success", body = BatchResponse<SimplePublicObject>),
        (status = 207, description = "some inputs failed", body = BatchResponse<SimplePublicObject>),
    ),
)]
async fn batch_create(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(object_type): Path<String>,
    Body(input): Body<BatchCreateIn>,
) -> Result<Response, ApiError> {
    let kind = crm_type(&object_type)?;
    check_batch_size(input.inputs.len())?;
    if input.inputs.iter().any(|i| i.properties.is_none()) {
        return Err(ApiError::validation(
            "Missing required field: inputs[].properties",
        ));
    }
    let started = s.app.now();
    let mut names: Vec<String> = Vec::new();
    for i in &input.inputs {
        for n in input_shape_names(kind, &i.properties) {
            if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for (index, one) in input.inputs.into_iter().enumerate() {
        match create_one(&s.app, &actor, kind, one).await {
            Ok(r) => results.push(r),
            Err(e) => {
                let ctx = json!({"index": [index.to_string()]});
                errors.push(ApiError {
                    context: Some(ctx),
                    ..e
                });
            }
        }
    }
    let shape = Shape::new(&s.app, kind, &names).await?;
    let results = results.iter().map(|r| shape.render(r)).collect();
    Ok(batch_response(started, s.app.now(), results, errors, StatusCode::CREATED).into_response())
}

#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BatchUpdateOne {
    #[schema(value_type = String, required = true)]
    #[serde(default)]
    id: Value,
    #[schema(value_type = BTreeMap<String, Option<String>>, required = true)]
    #[serde(default)]
    properties: Option<BTreeMap<String, Value>>,
    #[schema(nullable = false)]
    #[serde(default)]
    pub(super) id_property: Option<String>,
}

#[derive(Deserialize, Default, ToSchema)]
#[schema(as = BatchUpdateObjects)]
pub(crate) struct BatchUpdateIn {
    /// at most 100 inputs
    #[schema(required = true, inline)]
    #[serde(default)]
    pub(super) inputs: Vec<BatchUpdateOne>,
}

#[utoipa::path(
    post,
    path = "/crm/v3/objects/{objectType}/batch/update",
    operation_id = "batchUpdateObjects",
    tag = "objects",
    summary = "Update up to 100 records",
    params(("objectType" = inline(CrmObjectType), Path)),
    request_body = BatchUpdateIn,
    responses(
        (status = 200, description = "success", body = BatchResponse<SimplePublicObject>),
        (status = 207, description = "some inputs failed", body = BatchResponse<SimplePublicObject>),
    ),
)]
async fn batch_update(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(object_type): Path<String>,
    Body(input): Body<BatchUpdateIn>,
) -> Result<Response, ApiError> {
    let kind = crm_type(&object_type)?;
    let (raw, prepared) = batch_update_inputs(&input)?;
    let started = s.app.now();
    let mut names: Vec<String> = default_properties(kind)
        .iter()
        .map(|s| s.to_string())
        .collect();
    for p in &prepared {
        for k in p.keys() {
            if !names.contains(k) {
                names.push(k.clone());
            }
        }
    }
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for ((one, props), raw_id) in input.inputs.iter().zip(prepared).zip(&raw) {
        let id = match resolve_id(&s.app, kind, raw_id, one.id_property.as_deref()).await? {
            Some(id) => id,
            None => {
                errors.push(
                    ApiError::not_found(format!("{} {raw_id} not found", singular(kind)))
                        .with_context(json!({"ids": [raw_id]})),
                );
                continue;
            }
        };
        match s.app.update_record(&actor, kind, id, props).await {
            Ok(r) => results.push(r),
            Err(e) => errors.push(item_error(e, raw_id)),
        }
    }
    let shape = Shape::new(&s.app, kind, &names).await?;
    let results = results.iter().map(|r| shape.render(r)).collect();
    Ok(batch_response(started, s.app.now(), results, errors, StatusCode::OK).into_response())
}

#[derive(Deserialize, Default, ToSchema)]
#[schema(as = BatchArchiveObjects)]
pub(crate) struct BatchIdsIn {
    /// at most 100 inputs
    #[schema(required = true, inline)]
    #[serde(default)]
    inputs: Vec<IdIn>,
}

#[utoipa::path(
    post,
    path = "/crm/v3/objects/{objectType}/batch/archive",
    operation_id = "batchArchiveObjects",
    tag = "objects",
    summary = "Archive up to 100 records",
    params(("objectType" = inline(CrmObjectType), Path)),
    request_body = BatchIdsIn,
    responses(
        (status = 204, description = "no content"),
        (status = 207, description = "some inputs were refused: `errors` names each id and why", body = BatchResponse<SimplePublicObject>),
    ),
)]
async fn batch_archive(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(object_type): Path<String>,
    Body(input): Body<BatchIdsIn>,
) -> Result<Response, ApiError> {
    let kind = crm_type(&object_type)?;
    check_batch_size(input.inputs.len())?;
    let raw: Vec<String> = input
        .inputs
        .iter()
        .map(|i| input_id(&i.id))
        .collect::<Result<_, _>>()?;
    refuse_duplicates(&raw)?;
    let started = s.app.now();
    // Each id is its own use case call: a refused one (a rule, a conflict) is reported in
    // `errors` and does not undo the others.
    let mut errors = Vec::new();
    for r in &raw {
        let Ok(id) = parse_id(singular(kind), r) else {
            continue;
        };
        match s.app.archive_record(&actor, kind, id).await {
            // HubSpot answers 204 whether or not each id still existed.
            Ok(()) | Err(fd_app::AppError::NotFound { .. }) => {}
            Err(e) => errors.push(item_error(e, r)),
        }
    }
    if errors.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let results: Vec<SimplePublicObject> = Vec::new();
    Ok(batch_response(started, s.app.now(), results, errors, StatusCode::OK).into_response())
}

/// A batch input's refusal: the use case's error with the input's id added to its context
/// (keeping what the error already named, such as the properties a rule needs).
fn item_error(e: fd_app::AppError, raw_id: &str) -> ApiError {
    let e = ApiError::from(e);
    let mut ctx = match e.context.clone() {
        Some(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    ctx.insert("ids".into(), json!([raw_id]));
    ApiError {
        context: Some(Value::Object(ctx)),
        ..e
    }
}
