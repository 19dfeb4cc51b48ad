//! Properties and property groups of tickets, contacts and companies: read, create (201),
//! update, archive (204), and the batch endpoints. Custom properties created here are at
//! once usable in create, update and search, because those validate against these
//! definitions.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fd_app::domain::ObjectType;
use fd_app::domain::entities::PropertyGroup;
use fd_app::domain::property::{PropertyDefinition, PropertyOption, PropertyType};
use fd_app::{Actor, App, NewProperty, properties_type};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{
    Auth, BatchResponse, Body, CrmObjectType, Params, batch_response, check_batch_size, crm_type,
};
use crate::{ApiError, WebState};

pub(super) fn routes() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, update, archive))
        .routes(routes!(list_groups, create_group))
        .routes(routes!(read_group, update_group, archive_group))
        .routes(routes!(batch_create))
        .routes(routes!(batch_read))
        .routes(routes!(batch_archive))
}

/// A property definition.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Property)]
pub(crate) struct PropertyOut {
    name: String,
    label: String,
    /// `string`, `number`, `date`, `datetime`, `enumeration` or `bool`
    #[serde(rename = "type")]
    kind: String,
    field_type: String,
    group_name: String,
    description: String,
    display_order: i32,
    hidden: bool,
    has_unique_value: bool,
    form_field: bool,
    hubspot_defined: bool,
    calculated: bool,
    external_options: bool,
    archived: bool,
    modification_metadata: ModificationMetadata,
    options: Vec<OptionOut>,
}

/// What may change about a property: HubSpot's own definitions are fixed.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ModificationMetadata {
    archivable: bool,
    read_only_definition: bool,
    read_only_value: bool,
}

/// One choice of an enumeration property.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Option)]
struct OptionOut {
    label: String,
    value: String,
    display_order: i32,
    hidden: bool,
}

#[derive(Serialize, ToSchema)]
struct Properties {
    results: Vec<PropertyOut>,
}

/// A property group.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PropertyGroup)]
struct GroupOut {
    name: String,
    label: String,
    display_order: i64,
    archived: bool,
}

#[derive(Serialize, ToSchema)]
struct PropertyGroups {
    results: Vec<GroupOut>,
}

const FIELD_TYPES: &[&str] = &[
    "textarea",
    "text",
    "date",
    "file",
    "number",
    "select",
    "radio",
    "checkbox",
    "booleancheckbox",
    "calculation_equation",
    "html",
    "phonenumber",
];

fn pt(raw: &str) -> Result<(ObjectType, &'static str), ApiError> {
    let kind = crm_type(raw)?;
    Ok((kind, properties_type(kind)?))
}

fn property_out(kind: ObjectType, p: &PropertyDefinition) -> PropertyOut {
    let options = p
        .options
        .iter()
        .map(|o| OptionOut {
            label: o.label.clone(),
            value: o.value.clone(),
            display_order: o.display_order,
            hidden: o.hidden,
        })
        .collect();
    PropertyOut {
        name: p.name.clone(),
        label: p.label.clone(),
        kind: p.kind.as_str().to_string(),
        field_type: p.field_type.clone(),
        group_name: p.group_name.clone(),
        description: p.description.clone(),
        display_order: p.display_order,
        hidden: false,
        has_unique_value: kind == ObjectType::Contact && p.name == "email",
        form_field: p.form_field,
        hubspot_defined: p.hubspot_defined,
        calculated: false,
        external_options: false,
        archived: p.archived,
        modification_metadata: ModificationMetadata {
            archivable: !p.hubspot_defined,
            read_only_definition: p.hubspot_defined,
            read_only_value: p.read_only,
        },
        options,
    }
}

fn group_out(g: &PropertyGroup) -> GroupOut {
    GroupOut {
        name: g.name.clone(),
        label: g.label.clone(),
        display_order: g.display_order,
        archived: g.archived,
    }
}

/// One choice of an enumeration property, as a request gives it.
#[derive(Deserialize, Default, Clone, ToSchema)]
#[serde(rename_all = "camelCase")]
struct OptionIn {
    #[schema(required = true, nullable = false)]
    #[serde(default)]
    label: Option<String>,
    #[schema(required = true, nullable = false)]
    #[serde(default)]
    value: Option<String>,
    #[schema(nullable = false)]
    #[serde(default)]
    display_order: Option<i32>,
    #[schema(required = true, nullable = false)]
    #[serde(default)]
    hidden: Option<bool>,
    #[allow(dead_code)]
    #[schema(nullable = false)]
    #[serde(default)]
    description: Option<String>,
}

fn options(raw: &[OptionIn]) -> Result<Vec<PropertyOption>, ApiError> {
    let mut out: Vec<PropertyOption> = Vec::with_capacity(raw.len());
    for (i, o) in raw.iter().enumerate() {
        let value = o
            .value
            .clone()
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| ApiError::validation("options[].value is required"))?;
        if out.iter().any(|x| x.value == value) {
            return Err(ApiError::validation(format!(
                "options: the value {value:?} appears twice"
            )));
        }
        out.push(PropertyOption {
            label: o.label.clone().unwrap_or_else(|| value.clone()),
            value,
            display_order: o.display_order.unwrap_or(i as i32),
            hidden: o.hidden.unwrap_or(false),
        });
    }
    Ok(out)
}

/// A custom property to create.
#[derive(Deserialize, Default, Clone, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PropertyCreate)]
struct PropertyIn {
    #[schema(required = true, nullable = false)]
    #[serde(default)]
    name: Option<String>,
    #[schema(required = true, nullable = false)]
    #[serde(default)]
    label: Option<String>,
    #[serde(rename = "type")]
    #[schema(value_type = Option<PropertyTypeName>, required = true, nullable = false)]
    #[serde(default)]
    kind: Option<String>,
    #[schema(value_type = Option<FieldType>, required = true, nullable = false)]
    #[serde(default)]
    field_type: Option<String>,
    #[schema(required = true, nullable = false)]
    #[serde(default)]
    group_name: Option<String>,
    #[schema(nullable = false)]
    #[serde(default)]
    description: Option<String>,
    #[schema(nullable = false, inline)]
    #[serde(default)]
    options: Option<Vec<OptionIn>>,
    #[schema(nullable = false)]
    #[serde(default)]
    display_order: Option<i32>,
    #[allow(dead_code)]
    #[schema(nullable = false)]
    #[serde(default)]
    hidden: Option<bool>,
    #[schema(nullable = false)]
    #[serde(default)]
    has_unique_value: Option<bool>,
    #[schema(nullable = false)]
    #[serde(default)]
    form_field: Option<bool>,
}

/// The fields of a property to change.
#[derive(Deserialize, Default, Clone, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PropertyUpdate)]
struct PropertyUpdateIn {
    #[schema(nullable = false)]
    #[serde(default)]
    label: Option<String>,
    #[serde(rename = "type")]
    #[schema(value_type = Option<PropertyTypeName>, nullable = false)]
    #[serde(default)]
    kind: Option<String>,
    #[schema(value_type = Option<FieldType>, nullable = false)]
    #[serde(default)]
    field_type: Option<String>,
    #[schema(nullable = false)]
    #[serde(default)]
    group_name: Option<String>,
    #[schema(nullable = false)]
    #[serde(default)]
    description: Option<String>,
    #[schema(nullable = false, inline)]
    #[serde(default)]
    options: Option<Vec<OptionIn>>,
    #[schema(nullable = false)]
    #[serde(default)]
    display_order: Option<i32>,
    #[allow(dead_code)]
    #[schema(nullable = false)]
    #[serde(default)]
    hidden: Option<bool>,
    #[schema(nullable = false)]
    #[serde(default)]
    form_field: Option<bool>,
}

/// The property types (`PropertyType::parse` reads the text).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // a request field's description
enum PropertyTypeName {
    String,
    Number,
    Date,
    Datetime,
    Enumeration,
    Bool,
}

/// The field types `FIELD_TYPES` accepts.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // a request field's description: `field_type` reads the text
enum FieldType {
    Textarea,
    Text,
    Date,
    File,
    Number,
    Select,
    Radio,
    Checkbox,
    Booleancheckbox,
    #[schema(rename = "calculation_equation")]
    CalculationEquation,
    Html,
    Phonenumber,
}

fn field_type(raw: &Option<String>) -> Result<Option<String>, ApiError> {
    match raw {
        None => Ok(None),
        Some(f) if FIELD_TYPES.contains(&f.as_str()) => Ok(Some(f.clone())),
        Some(f) => Err(ApiError::validation(format!(
            "fieldType {f:?} is not one of {}",
            FIELD_TYPES.join(", ")
        ))),
    }
}

fn new_property(input: &PropertyIn) -> Result<NewProperty, ApiError> {
    let missing = |f: &str| ApiError::validation(format!("Missing required field: {f}"));
    let kind_text = input.kind.as_deref().ok_or_else(|| missing("type"))?;
    let kind = PropertyType::parse(kind_text).map_err(|e| ApiError::validation(e.to_string()))?;
    if input.has_unique_value == Some(true) {
        return Err(ApiError::validation(
            "hasUniqueValue: unique custom properties are not supported",
        ));
    }
    Ok(NewProperty {
        name: input.name.clone().ok_or_else(|| missing("name"))?,
        label: input.label.clone().ok_or_else(|| missing("label"))?,
        kind,
        field_type: Some(field_type(&input.field_type)?.ok_or_else(|| missing("fieldType"))?),
        group_name: input
            .group_name
            .clone()
            .ok_or_else(|| missing("groupName"))?,
        description: input.description.clone().unwrap_or_default(),
        options: options(input.options.as_deref().unwrap_or_default())?,
        display_order: input.display_order.unwrap_or(0),
        form_field: input.form_field.unwrap_or(true),
    })
}

async fn find(
    app: &App,
    pt: &str,
    name: &str,
    archived: bool,
) -> Result<PropertyDefinition, ApiError> {
    app.properties_in_state(pt, archived)
        .await?
        .into_iter()
        .find(|p| p.name == name)
        .ok_or_else(|| ApiError::not_found(format!("property {name:?} of {pt} not found")))
}

#[utoipa::path(
    get,
    path = "/crm/v3/properties/{objectType}",
    operation_id = "listProperties",
    tag = "properties",
    summary = "Property definitions",
    params(("objectType" = inline(CrmObjectType), Path), ("archived" = Option<bool>, Query), ("properties" = Option<Vec<String>>, Query, style = Form, explode)),
    responses((status = 200, description = "success", body = Properties)),
)]
async fn list(
    State(s): State<WebState>,
    Auth(_actor): Auth,
    Path(object_type): Path<String>,
    params: Params,
) -> Result<Json<Properties>, ApiError> {
    let (kind, pt) = pt(&object_type)?;
    let archived = params.bool("archived", false)?;
    let only = params.list("properties");
    let results = s
        .app
        .properties_in_state(pt, archived)
        .await?
        .iter()
        .filter(|p| only.is_empty() || only.contains(&p.name))
        .map(|p| property_out(kind, p))
        .collect();
    Ok(Json(Properties { results }))
}

#[utoipa::path(
    get,
    path = "/crm/v3/properties/{objectType}/{propertyName}",
    operation_id = "getProperty",
    tag = "properties",
    summary = "Read a property",
    params(("objectType" = inline(CrmObjectType), Path), ("propertyName" = String, Path), ("archived" = Option<bool>, Query)),
    responses((status = 200, description = "success", body = PropertyOut)),
)]
async fn read(
    State(s): State<WebState>,
    Auth(_actor): Auth,
    Path((object_type, name)): Path<(String, String)>,
    params: Params,
) -> Result<Json<PropertyOut>, ApiError> {
    let (kind, pt) = pt(&object_type)?;
    let archived = params.bool("archived", false)?;
    Ok(Json(property_out(
        kind,
        &find(&s.app, pt, &name, archived).await?,
    )))
}

async fn create_one(
    app: &App,
    actor: &Actor,
    kind: ObjectType,
    pt: &str,
    input: &PropertyIn,
) -> Result<PropertyOut, ApiError> {
    let p = app
        .create_property_in_group(actor, pt, new_property(input)?)
        .await?;
    Ok(property_out(kind, &p))
}

#[utoipa::path(
    post,
    path = "/crm/v3/properties/{objectType}",
    operation_id = "createProperty",
    tag = "properties",
    summary = "Create a custom property",
    params(("objectType" = inline(CrmObjectType), Path)),
    request_body = PropertyIn,
    responses((status = 201, description = "success", body = PropertyOut, links(("getProperty" = (operation_id = "getProperty", parameters(("objectType" = "$request.path.objectType"), ("propertyName" = "$response.body#/name")))), ("updateProperty" = (operation_id = "updateProperty", parameters(("objectType" = "$request.path.objectType"), ("propertyName" = "$response.body#/name")))), ("archiveProperty" = (operation_id = "archiveProperty", parameters(("objectType" = "$request.path.objectType"), ("propertyName" = "$response.body#/name"))))))),
)]
async fn create(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(object_type): Path<String>,
    Body(input): Body<PropertyIn>,
) -> Result<(StatusCode, Json<PropertyOut>), ApiError> {
    let (kind, pt) = pt(&object_type)?;
    let v = create_one(&s.app, &actor, kind, pt, &input).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

#[utoipa::path(
    patch,
    path = "/crm/v3/properties/{objectType}/{propertyName}",
    operation_id = "updateProperty",
    tag = "properties",
    summary = "Update a property",
    params(("objectType" = inline(CrmObjectType), Path), ("propertyName" = String, Path)),
    request_body = PropertyUpdateIn,
    responses((status = 200, description = "success", body = PropertyOut)),
)]
async fn update(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((object_type, name)): Path<(String, String)>,
    Body(input): Body<PropertyUpdateIn>,
) -> Result<Json<PropertyOut>, ApiError> {
    let (kind, pt) = pt(&object_type)?;
    let mut def = find(&s.app, pt, &name, false).await?;
    if let Some(l) = &input.label {
        def.label = l.clone();
    }
    if let Some(d) = &input.description {
        def.description = d.clone();
    }
    if let Some(k) = &input.kind {
        def.kind = PropertyType::parse(k).map_err(|e| ApiError::validation(e.to_string()))?;
    }
    if let Some(f) = field_type(&input.field_type)? {
        def.field_type = f;
    }
    if let Some(g) = &input.group_name {
        s.app
            .property_group(pt, g)
            .await
            .map_err(|_| ApiError::validation(format!("{g:?} is not a property group of {pt}")))?;
        def.group_name = g.clone();
    }
    if let Some(o) = &input.options {
        def.options = options(o)?;
    }
    if let Some(o) = input.display_order {
        def.display_order = o;
    }
    if let Some(f) = input.form_field {
        def.form_field = f;
    }
    let p = s.app.update_property(&actor, pt, def).await?;
    Ok(Json(property_out(kind, &p)))
}

#[utoipa::path(
    delete,
    path = "/crm/v3/properties/{objectType}/{propertyName}",
    operation_id = "archiveProperty",
    tag = "properties",
    summary = "Archive a custom property",
    params(("objectType" = inline(CrmObjectType), Path), ("propertyName" = String, Path)),
    responses((status = 204, description = "no content")),
)]
async fn archive(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((object_type, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (_, pt) = pt(&object_type)?;
    s.app.archive_property(&actor, pt, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Default, ToSchema)]
#[schema(as = BatchCreateProperties)]
struct BatchCreateIn {
    /// at most 100 inputs
    #[schema(required = true)]
    #[serde(default)]
    inputs: Vec<PropertyIn>,
}

#[utoipa::path(
    post,
    path = "/crm/v3/properties/{objectType}/batch/create",
    operation_id = "batchCreateProperties",
    tag = "properties",
    summary = "Create up to 100 properties",
    params(("objectType" = inline(CrmObjectType), Path)),
    request_body = BatchCreateIn,
    responses((status = 201, description = "success", body = BatchResponse<PropertyOut>), (status = 207, description = "some inputs failed", body = BatchResponse<PropertyOut>)),
)]
async fn batch_create(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(object_type): Path<String>,
    Body(input): Body<BatchCreateIn>,
) -> Result<Response, ApiError> {
    let (kind, pt) = pt(&object_type)?;
    check_batch_size(input.inputs.len())?;
    let started = s.app.now();
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for (i, one) in input.inputs.iter().enumerate() {
        match create_one(&s.app, &actor, kind, pt, one).await {
            Ok(v) => results.push(v),
            Err(e) => errors.push(ApiError {
                context: Some(json!({"index": [i.to_string()]})),
                ..e
            }),
        }
    }
    Ok(batch_response(started, s.app.now(), results, errors, StatusCode::CREATED).into_response())
}

#[derive(Deserialize, Default, ToSchema)]
struct NameIn {
    #[schema(required = true)]
    #[serde(default)]
    name: String,
}

/// Properties to read by name.
#[derive(Deserialize, Default, ToSchema)]
#[schema(as = BatchReadProperties)]
struct BatchNamesIn {
    /// at most 100 inputs
    #[schema(required = true, inline)]
    #[serde(default)]
    inputs: Vec<NameIn>,
    #[serde(default)]
    archived: bool,
}

/// Properties to archive by name.
#[derive(Deserialize, Default, ToSchema)]
#[schema(as = BatchArchiveProperties)]
struct BatchArchiveIn {
    /// at most 100 inputs
    #[schema(required = true, inline)]
    #[serde(default)]
    inputs: Vec<NameIn>,
}

#[utoipa::path(
    post,
    path = "/crm/v3/properties/{objectType}/batch/read",
    operation_id = "batchReadProperties",
    tag = "properties",
    summary = "Read up to 100 properties",
    params(("objectType" = inline(CrmObjectType), Path)),
    request_body = BatchNamesIn,
    responses((status = 200, description = "success", body = BatchResponse<PropertyOut>), (status = 207, description = "some inputs failed", body = BatchResponse<PropertyOut>)),
)]
async fn batch_read(
    State(s): State<WebState>,
    Auth(_actor): Auth,
    Path(object_type): Path<String>,
    Body(input): Body<BatchNamesIn>,
) -> Result<Response, ApiError> {
    let (kind, pt) = pt(&object_type)?;
    check_batch_size(input.inputs.len())?;
    let started = s.app.now();
    let all = s.app.properties_in_state(pt, input.archived).await?;
    let mut results = Vec::new();
    let mut missing = Vec::new();
    for n in &input.inputs {
        match all.iter().find(|p| p.name == n.name) {
            Some(p) => results.push(property_out(kind, p)),
            None => missing.push(n.name.clone()),
        }
    }
    let errors = if missing.is_empty() {
        Vec::new()
    } else {
        vec![
            ApiError::not_found(format!("Some properties of {pt} were not found"))
                .with_context(json!({ "names": missing })),
        ]
    };
    Ok(batch_response(started, s.app.now(), results, errors, StatusCode::OK).into_response())
}

#[utoipa::path(
    post,
    path = "/crm/v3/properties/{objectType}/batch/archive",
    operation_id = "batchArchiveProperties",
    tag = "properties",
    summary = "Archive up to 100 properties",
    params(("objectType" = inline(CrmObjectType), Path)),
    request_body = BatchArchiveIn,
    responses((status = 204, description = "no content")),
)]
async fn batch_archive(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(object_type): Path<String>,
    Body(input): Body<BatchArchiveIn>,
) -> Result<StatusCode, ApiError> {
    let (_, pt) = pt(&object_type)?;
    check_batch_size(input.inputs.len())?;
    for n in &input.inputs {
        match s.app.archive_property(&actor, pt, &n.name).await {
            Ok(()) | Err(fd_app::AppError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/crm/v3/properties/{objectType}/groups",
    operation_id = "listPropertyGroups",
    tag = "properties",
    summary = "Property groups",
    params(("objectType" = inline(CrmObjectType), Path)),
    responses((status = 200, description = "success", body = PropertyGroups)),
)]
async fn list_groups(
    State(s): State<WebState>,
    Auth(_actor): Auth,
    Path(object_type): Path<String>,
) -> Result<Json<PropertyGroups>, ApiError> {
    let (_, pt) = pt(&object_type)?;
    let results = s
        .app
        .property_groups(pt)
        .await?
        .iter()
        .map(group_out)
        .collect();
    Ok(Json(PropertyGroups { results }))
}

#[utoipa::path(
    get,
    path = "/crm/v3/properties/{objectType}/groups/{groupName}",
    operation_id = "getPropertyGroup",
    tag = "properties",
    summary = "Read a property group",
    params(("objectType" = inline(CrmObjectType), Path), ("groupName" = String, Path)),
    responses((status = 200, description = "success", body = GroupOut)),
)]
async fn read_group(
    State(s): State<WebState>,
    Auth(_actor): Auth,
    Path((object_type, name)): Path<(String, String)>,
) -> Result<Json<GroupOut>, ApiError> {
    let (_, pt) = pt(&object_type)?;
    Ok(Json(group_out(&s.app.property_group(pt, &name).await?)))
}

/// A property group to create.
#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PropertyGroupInput)]
struct GroupIn {
    #[schema(required = true, nullable = false)]
    #[serde(default)]
    name: Option<String>,
    #[schema(required = true, nullable = false)]
    #[serde(default)]
    label: Option<String>,
    #[schema(nullable = false)]
    #[serde(default)]
    display_order: Option<i64>,
}

/// The fields of a property group to change.
#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PropertyGroupPatch)]
struct GroupPatchIn {
    #[schema(nullable = false)]
    #[serde(default)]
    label: Option<String>,
    #[schema(nullable = false)]
    #[serde(default)]
    display_order: Option<i64>,
}

#[utoipa::path(
    post,
    path = "/crm/v3/properties/{objectType}/groups",
    operation_id = "createPropertyGroup",
    tag = "properties",
    summary = "Create a property group",
    params(("objectType" = inline(CrmObjectType), Path)),
    request_body = GroupIn,
    responses((status = 201, description = "success", body = GroupOut)),
)]
async fn create_group(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(object_type): Path<String>,
    Body(input): Body<GroupIn>,
) -> Result<(StatusCode, Json<GroupOut>), ApiError> {
    let (_, pt) = pt(&object_type)?;
    let name = input
        .name
        .ok_or_else(|| ApiError::validation("Missing required field: name"))?;
    let label = input
        .label
        .ok_or_else(|| ApiError::validation("Missing required field: label"))?;
    let g = s
        .app
        .create_property_group(&actor, pt, &name, &label, input.display_order.unwrap_or(0))
        .await?;
    Ok((StatusCode::CREATED, Json(group_out(&g))))
}

#[utoipa::path(
    patch,
    path = "/crm/v3/properties/{objectType}/groups/{groupName}",
    operation_id = "updatePropertyGroup",
    tag = "properties",
    summary = "Update a property group",
    params(("objectType" = inline(CrmObjectType), Path), ("groupName" = String, Path)),
    request_body = GroupPatchIn,
    responses((status = 200, description = "success", body = GroupOut)),
)]
async fn update_group(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((object_type, name)): Path<(String, String)>,
    Body(input): Body<GroupPatchIn>,
) -> Result<Json<GroupOut>, ApiError> {
    let (_, pt) = pt(&object_type)?;
    let g = s
        .app
        .update_property_group(
            &actor,
            pt,
            &name,
            input.label.as_deref(),
            input.display_order,
        )
        .await?;
    Ok(Json(group_out(&g)))
}

#[utoipa::path(
    delete,
    path = "/crm/v3/properties/{objectType}/groups/{groupName}",
    operation_id = "archivePropertyGroup",
    tag = "properties",
    summary = "Archive an empty property group",
    params(("objectType" = inline(CrmObjectType), Path), ("groupName" = String, Path)),
    responses((status = 204, description = "no content")),
)]
async fn archive_group(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((object_type, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (_, pt) = pt(&object_type)?;
    s.app.archive_property_group(&actor, pt, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
