//! Properties and property groups of tickets, contacts and companies: read, create (201),
//! update, archive (204), and the batch endpoints. Custom properties created here are at
//! once usable in create, update and search, because those validate against these
//! definitions.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use fd_app::domain::ObjectType;
use fd_app::domain::entities::PropertyGroup;
use fd_app::domain::property::{PropertyDefinition, PropertyOption, PropertyType};
use fd_app::{Actor, App, NewProperty, properties_type};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Auth, Body, Params, batch_response, check_batch_size, crm_type};
use crate::{ApiError, WebState};

pub(super) fn routes() -> Router<WebState> {
    Router::new()
        .route("/crm/v3/properties/{object_type}", get(list).post(create))
        .route(
            "/crm/v3/properties/{object_type}/{property_name}",
            get(read).patch(update).delete(archive),
        )
        .route(
            "/crm/v3/properties/{object_type}/groups",
            get(list_groups).post(create_group),
        )
        .route(
            "/crm/v3/properties/{object_type}/groups/{group_name}",
            get(read_group).patch(update_group).delete(archive_group),
        )
        .route(
            "/crm/v3/properties/{object_type}/batch/create",
            post(batch_create),
        )
        .route(
            "/crm/v3/properties/{object_type}/batch/read",
            post(batch_read),
        )
        .route(
            "/crm/v3/properties/{object_type}/batch/archive",
            post(batch_archive),
        )
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

pub(crate) fn property_json(kind: ObjectType, p: &PropertyDefinition) -> Value {
    let options: Vec<Value> = p
        .options
        .iter()
        .map(|o| {
            json!({
                "label": o.label,
                "value": o.value,
                "displayOrder": o.display_order,
                "hidden": o.hidden,
            })
        })
        .collect();
    json!({
        "name": p.name,
        "label": p.label,
        "type": p.kind.as_str(),
        "fieldType": p.field_type,
        "groupName": p.group_name,
        "description": p.description,
        "displayOrder": p.display_order,
        "hidden": false,
        "hasUniqueValue": kind == ObjectType::Contact && p.name == "email",
        "formField": p.form_field,
        "hubspotDefined": p.hubspot_defined,
        "calculated": false,
        "externalOptions": false,
        "archived": p.archived,
        "modificationMetadata": {
            "archivable": !p.hubspot_defined,
            "readOnlyDefinition": p.hubspot_defined,
            "readOnlyValue": p.read_only,
        },
        "options": options,
    })
}

fn group_json(g: &PropertyGroup) -> Value {
    json!({
        "name": g.name,
        "label": g.label,
        "displayOrder": g.display_order,
        "archived": g.archived,
    })
}

#[derive(Deserialize, Default, Clone)]
#[serde(default, rename_all = "camelCase")]
struct OptionIn {
    label: Option<String>,
    value: Option<String>,
    display_order: Option<i32>,
    hidden: Option<bool>,
    #[allow(dead_code)]
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

#[derive(Deserialize, Default, Clone)]
#[serde(default, rename_all = "camelCase")]
struct PropertyIn {
    name: Option<String>,
    label: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    field_type: Option<String>,
    group_name: Option<String>,
    description: Option<String>,
    options: Option<Vec<OptionIn>>,
    display_order: Option<i32>,
    #[allow(dead_code)]
    hidden: Option<bool>,
    has_unique_value: Option<bool>,
    form_field: Option<bool>,
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

async fn list(
    State(s): State<WebState>,
    Auth(_actor): Auth,
    Path(object_type): Path<String>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let (kind, pt) = pt(&object_type)?;
    let archived = params.bool("archived", false)?;
    let only = params.list("properties");
    let results: Vec<Value> = s
        .app
        .properties_in_state(pt, archived)
        .await?
        .iter()
        .filter(|p| only.is_empty() || only.contains(&p.name))
        .map(|p| property_json(kind, p))
        .collect();
    Ok(Json(json!({ "results": results })))
}

async fn read(
    State(s): State<WebState>,
    Auth(_actor): Auth,
    Path((object_type, name)): Path<(String, String)>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let (kind, pt) = pt(&object_type)?;
    let archived = params.bool("archived", false)?;
    Ok(Json(property_json(
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
) -> Result<Value, ApiError> {
    let p = app
        .create_property_in_group(actor, pt, new_property(input)?)
        .await?;
    Ok(property_json(kind, &p))
}

async fn create(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(object_type): Path<String>,
    Body(input): Body<PropertyIn>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (kind, pt) = pt(&object_type)?;
    let v = create_one(&s.app, &actor, kind, pt, &input).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

async fn update(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((object_type, name)): Path<(String, String)>,
    Body(input): Body<PropertyIn>,
) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(property_json(kind, &p)))
}

async fn archive(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((object_type, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (_, pt) = pt(&object_type)?;
    s.app.archive_property(&actor, pt, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct BatchCreateIn {
    inputs: Vec<PropertyIn>,
}

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

#[derive(Deserialize, Default)]
#[serde(default)]
struct NameIn {
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct BatchNamesIn {
    inputs: Vec<NameIn>,
    archived: bool,
}

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
            Some(p) => results.push(property_json(kind, p)),
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

async fn batch_archive(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(object_type): Path<String>,
    Body(input): Body<BatchNamesIn>,
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

async fn list_groups(
    State(s): State<WebState>,
    Auth(_actor): Auth,
    Path(object_type): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (_, pt) = pt(&object_type)?;
    let results: Vec<Value> = s
        .app
        .property_groups(pt)
        .await?
        .iter()
        .map(group_json)
        .collect();
    Ok(Json(json!({ "results": results })))
}

async fn read_group(
    State(s): State<WebState>,
    Auth(_actor): Auth,
    Path((object_type, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (_, pt) = pt(&object_type)?;
    Ok(Json(group_json(&s.app.property_group(pt, &name).await?)))
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct GroupIn {
    name: Option<String>,
    label: Option<String>,
    display_order: Option<i64>,
}

async fn create_group(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(object_type): Path<String>,
    Body(input): Body<GroupIn>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
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
    Ok((StatusCode::CREATED, Json(group_json(&g))))
}

async fn update_group(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((object_type, name)): Path<(String, String)>,
    Body(input): Body<GroupIn>,
) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(group_json(&g)))
}

async fn archive_group(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((object_type, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (_, pt) = pt(&object_type)?;
    s.app.archive_property_group(&actor, pt, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
