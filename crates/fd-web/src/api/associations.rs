//! Associations v4: labelled PUT (201), default PUT (200), list, DELETE (204), the batch
//! endpoints and the label schema. Removing a ticket–thread association is refused (INB-04)
//! by the use case, like on every other road.

use std::collections::BTreeMap;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use fd_app::domain::ObjectType;
use fd_app::{Actor, App, AssociationEnd, AssociationKind, HUBSPOT_DEFINED, default_type};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Auth, Body, Params, batch_response, body_id, check_batch_size, object_type, parse_id,
    scalar_string, type_id,
};
use crate::{ApiError, WebState};

pub(super) fn routes() -> Router<WebState> {
    Router::new()
        .route(
            "/crm/v4/objects/{from_type}/{from_id}/associations/default/{to_type}/{to_id}",
            put(create_default),
        )
        .route(
            "/crm/v4/objects/{from_type}/{from_id}/associations/{to_type}/{to_id}",
            put(create_labelled).delete(remove),
        )
        .route(
            "/crm/v4/objects/{from_type}/{from_id}/associations/{to_type}",
            get(list),
        )
        .route(
            "/crm/v4/associations/{from_type}/{to_type}/batch/create",
            post(batch_create),
        )
        .route(
            "/crm/v4/associations/{from_type}/{to_type}/batch/associate/default",
            post(batch_default),
        )
        .route(
            "/crm/v4/associations/{from_type}/{to_type}/batch/read",
            post(batch_read),
        )
        .route(
            "/crm/v4/associations/{from_type}/{to_type}/batch/archive",
            post(batch_archive),
        )
        .route(
            "/crm/v4/associations/{from_type}/{to_type}/batch/labels/archive",
            post(batch_archive_labels),
        )
        .route(
            "/crm/v4/associations/{from_type}/{to_type}/labels",
            get(labels).post(create_label).put(update_label),
        )
        .route(
            "/crm/v4/associations/{from_type}/{to_type}/labels/{type_id}",
            delete(delete_label),
        )
}

/// The two object types of a pair, refused when they cannot be associated.
fn pair(from: &str, to: &str) -> Result<(ObjectType, ObjectType), ApiError> {
    let (a, b) = (object_type(from)?, object_type(to)?);
    if default_type(a, b).is_none() {
        return Err(ApiError::validation(format!(
            "{} and {} cannot be associated",
            a.plural(),
            b.plural()
        )));
    }
    Ok((a, b))
}

fn numeric(id: i64) -> Value {
    Value::from(id)
}

#[derive(Deserialize, Default, Clone)]
#[serde(default, rename_all = "camelCase")]
struct SpecIn {
    association_category: Option<String>,
    association_type_id: Option<Value>,
}

fn specs(raw: &[SpecIn]) -> Result<Vec<(String, i64)>, ApiError> {
    raw.iter()
        .map(|s| {
            let t = s
                .association_type_id
                .as_ref()
                .and_then(body_id)
                .ok_or_else(|| ApiError::validation("associationTypeId must be an integer"))?;
            Ok((
                s.association_category
                    .clone()
                    .unwrap_or_else(|| HUBSPOT_DEFINED.to_string()),
                t,
            ))
        })
        .collect()
}

fn labels_between(a: AssociationEnd, b: AssociationEnd, labels: Vec<String>) -> Value {
    json!({
        "fromObjectTypeId": type_id(a.kind),
        "fromObjectId": numeric(a.id),
        "toObjectTypeId": type_id(b.kind),
        "toObjectId": numeric(b.id),
        "labels": labels,
    })
}

fn default_results(a: AssociationEnd, b: AssociationEnd) -> Vec<Value> {
    let mut out = Vec::new();
    for (x, y) in [(a, b), (b, a)] {
        if let Some(t) = default_type(x.kind, y.kind) {
            out.push(json!({
                "from": {"id": x.id.to_string()},
                "to": {"id": y.id.to_string()},
                "associationSpec": {"associationCategory": HUBSPOT_DEFINED, "associationTypeId": t},
            }));
        }
    }
    out
}

async fn create_labelled(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((from_type, from_id, to_type, to_id)): Path<(String, String, String, String)>,
    Body(input): Body<Vec<SpecIn>>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (fa, fb) = pair(&from_type, &to_type)?;
    let a = AssociationEnd::new(fa, parse_id(fa.as_str(), &from_id)?);
    let b = AssociationEnd::new(fb, parse_id(fb.as_str(), &to_id)?);
    let labels = s
        .app
        .associate_with_types(&actor, a, b, &specs(&input)?)
        .await?;
    Ok((StatusCode::CREATED, Json(labels_between(a, b, labels))))
}

async fn create_default(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((from_type, from_id, to_type, to_id)): Path<(String, String, String, String)>,
) -> Result<Json<super::BatchResponse<Value>>, ApiError> {
    let (fa, fb) = pair(&from_type, &to_type)?;
    let a = AssociationEnd::new(fa, parse_id(fa.as_str(), &from_id)?);
    let b = AssociationEnd::new(fb, parse_id(fb.as_str(), &to_id)?);
    let started = s.app.now();
    s.app.associate(&actor, a, b).await?;
    let (_, Json(body)) = batch_response(
        started,
        s.app.now(),
        default_results(a, b),
        Vec::new(),
        StatusCode::OK,
    );
    Ok(Json(body))
}

async fn remove(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((from_type, from_id, to_type, to_id)): Path<(String, String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let (fa, fb) = pair(&from_type, &to_type)?;
    let a = AssociationEnd::new(fa, parse_id(fa.as_str(), &from_id)?);
    let b = AssociationEnd::new(fb, parse_id(fb.as_str(), &to_id)?);
    s.app.dissociate(&actor, a, b).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Associated records of one record, grouped by target with every type between them.
async fn associated(
    app: &App,
    actor: &Actor,
    from: AssociationEnd,
    to: ObjectType,
) -> Result<Vec<Value>, ApiError> {
    let kinds: Vec<AssociationKind> = app.association_kinds(from.kind, to).await?;
    let rows = app.association_rows(actor, from, to).await?;
    let mut grouped: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
    for r in rows {
        let kind = kinds.iter().find(|k| k.type_id == r.type_id);
        grouped.entry(r.to_id).or_default().push(json!({
            "category": kind.map(|k| k.category.clone()).unwrap_or(r.category),
            "typeId": r.type_id,
            "label": kind.and_then(|k| k.label.clone()),
        }));
    }
    Ok(grouped
        .into_iter()
        .map(|(id, types)| json!({"toObjectId": numeric(id), "associationTypes": types}))
        .collect())
}

async fn list(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((from_type, from_id, to_type)): Path<(String, String, String)>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let (fa, fb) = pair(&from_type, &to_type)?;
    let from = AssociationEnd::new(fa, parse_id(fa.as_str(), &from_id)?);
    let limit = params.int("limit", 500, 1, 500)?;
    let after = params.cursor("after")?;
    let all = associated(&s.app, &actor, from, fb).await?;
    let rest: Vec<Value> = all
        .into_iter()
        .filter(|v| v["toObjectId"].as_i64().is_some_and(|id| id > after))
        .collect();
    let page: Vec<Value> = rest.iter().take(limit as usize).cloned().collect();
    let mut body = json!({ "results": page });
    if rest.len() > page.len()
        && let Some(last) = page.last().and_then(|v| v["toObjectId"].as_i64())
    {
        body["paging"] = json!({"next": {"after": last.to_string()}});
    }
    Ok(Json(body))
}

#[derive(Deserialize, Default, Clone)]
struct IdIn {
    #[serde(default)]
    id: Value,
}

fn id_of(kind: ObjectType, v: &Value) -> Result<AssociationEnd, ApiError> {
    let raw = scalar_string(v).ok_or_else(|| ApiError::validation("ids must be strings"))?;
    Ok(AssociationEnd::new(kind, parse_id(kind.as_str(), &raw)?))
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct PairIn {
    from: IdIn,
    to: IdIn,
    types: Vec<SpecIn>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PairsIn {
    inputs: Vec<PairIn>,
}

async fn batch_create(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((from_type, to_type)): Path<(String, String)>,
    Body(input): Body<PairsIn>,
) -> Result<Response, ApiError> {
    let (fa, fb) = pair(&from_type, &to_type)?;
    check_batch_size(input.inputs.len())?;
    let started = s.app.now();
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for one in &input.inputs {
        let outcome = async {
            let a = id_of(fa, &one.from.id)?;
            let b = id_of(fb, &one.to.id)?;
            let labels = s
                .app
                .associate_with_types(&actor, a, b, &specs(&one.types)?)
                .await?;
            Ok::<_, ApiError>(labels_between(a, b, labels))
        }
        .await;
        match outcome {
            Ok(v) => results.push(v),
            Err(e) => errors.push(e),
        }
    }
    Ok(batch_response(started, s.app.now(), results, errors, StatusCode::CREATED).into_response())
}

async fn batch_default(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((from_type, to_type)): Path<(String, String)>,
    Body(input): Body<PairsIn>,
) -> Result<Response, ApiError> {
    let (fa, fb) = pair(&from_type, &to_type)?;
    check_batch_size(input.inputs.len())?;
    let started = s.app.now();
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for one in &input.inputs {
        let outcome = async {
            let a = id_of(fa, &one.from.id)?;
            let b = id_of(fb, &one.to.id)?;
            s.app.associate(&actor, a, b).await?;
            Ok::<_, ApiError>(default_results(a, b))
        }
        .await;
        match outcome {
            Ok(v) => results.extend(v),
            Err(e) => errors.push(e),
        }
    }
    Ok(batch_response(started, s.app.now(), results, errors, StatusCode::OK).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ReadIn {
    inputs: Vec<IdIn>,
}

async fn batch_read(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((from_type, to_type)): Path<(String, String)>,
    Body(input): Body<ReadIn>,
) -> Result<Response, ApiError> {
    let (fa, fb) = pair(&from_type, &to_type)?;
    check_batch_size(input.inputs.len())?;
    let started = s.app.now();
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for one in &input.inputs {
        let outcome = async {
            let a = id_of(fa, &one.id)?;
            let to = associated(&s.app, &actor, a, fb).await?;
            Ok::<_, ApiError>(json!({"from": {"id": a.id.to_string()}, "to": to}))
        }
        .await;
        match outcome {
            Ok(v) => results.push(v),
            Err(e) => {
                let ctx = json!({"ids": [scalar_string(&one.id).unwrap_or_default()]});
                errors.push(ApiError {
                    context: Some(ctx),
                    ..e
                });
            }
        }
    }
    Ok(batch_response(started, s.app.now(), results, errors, StatusCode::OK).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ArchiveOne {
    from: IdIn,
    to: Vec<IdIn>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ArchiveIn {
    inputs: Vec<ArchiveOne>,
}

async fn batch_archive(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((from_type, to_type)): Path<(String, String)>,
    Body(input): Body<ArchiveIn>,
) -> Result<StatusCode, ApiError> {
    let (fa, fb) = pair(&from_type, &to_type)?;
    check_batch_size(input.inputs.len())?;
    for one in &input.inputs {
        let a = id_of(fa, &one.from.id)?;
        for to in &one.to {
            let b = id_of(fb, &to.id)?;
            s.app.dissociate(&actor, a, b).await?;
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn batch_archive_labels(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((from_type, to_type)): Path<(String, String)>,
    Body(input): Body<PairsIn>,
) -> Result<StatusCode, ApiError> {
    let (fa, fb) = pair(&from_type, &to_type)?;
    check_batch_size(input.inputs.len())?;
    for one in &input.inputs {
        let a = id_of(fa, &one.from.id)?;
        let b = id_of(fb, &one.to.id)?;
        let ids: Vec<i64> = specs(&one.types)?.into_iter().map(|(_, t)| t).collect();
        s.app.remove_association_types(&actor, a, b, &ids).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

fn kind_json(k: &AssociationKind) -> Value {
    json!({"category": k.category, "typeId": k.type_id, "label": k.label})
}

async fn labels(
    State(s): State<WebState>,
    Auth(_actor): Auth,
    Path((from_type, to_type)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (fa, fb) = pair(&from_type, &to_type)?;
    let results: Vec<Value> = s
        .app
        .association_kinds(fa, fb)
        .await?
        .iter()
        .map(kind_json)
        .collect();
    Ok(Json(json!({ "results": results })))
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct LabelIn {
    label: Option<String>,
    name: Option<String>,
    inverse_label: Option<String>,
    association_type_id: Option<Value>,
}

async fn create_label(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((from_type, to_type)): Path<(String, String)>,
    Body(input): Body<LabelIn>,
) -> Result<Json<Value>, ApiError> {
    let (fa, fb) = pair(&from_type, &to_type)?;
    let label = input
        .label
        .ok_or_else(|| ApiError::validation("Missing required field: label"))?;
    let name = input
        .name
        .ok_or_else(|| ApiError::validation("Missing required field: name"))?;
    let (ab, ba) = s
        .app
        .create_association_label(
            &actor,
            fa,
            fb,
            &name,
            &label,
            input.inverse_label.as_deref(),
        )
        .await?;
    let inverse = input.inverse_label.unwrap_or_else(|| label.clone());
    Ok(Json(json!({"results": [
        {"category": fd_app::USER_DEFINED, "typeId": ab, "label": label},
        {"category": fd_app::USER_DEFINED, "typeId": ba, "label": inverse},
    ]})))
}

async fn update_label(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((from_type, to_type)): Path<(String, String)>,
    Body(input): Body<LabelIn>,
) -> Result<StatusCode, ApiError> {
    let (fa, fb) = pair(&from_type, &to_type)?;
    let id = input
        .association_type_id
        .as_ref()
        .and_then(body_id)
        .ok_or_else(|| ApiError::validation("associationTypeId must be an integer"))?;
    let label = input
        .label
        .ok_or_else(|| ApiError::validation("Missing required field: label"))?;
    s.app
        .update_association_label(&actor, fa, fb, id, &label, input.inverse_label.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_label(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((from_type, to_type, type_id)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let (fa, fb) = pair(&from_type, &to_type)?;
    let id = parse_id("association label", &type_id)?;
    s.app.delete_association_label(&actor, fa, fb, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
