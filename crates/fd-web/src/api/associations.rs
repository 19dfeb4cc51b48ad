//! Associations v4: labelled PUT (201), default PUT (200), list, DELETE (204), the batch
//! endpoints and the label schema. Removing a ticket–thread association is refused (INB-04)
//! by the use case, like on every other road.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fd_app::domain::ObjectType;
use fd_app::{Actor, App, AssociationEnd, AssociationKind, HUBSPOT_DEFINED, default_type};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::objects::AssociationCategory;
use super::{
    Auth, BatchResponse, Body, Paging, Params, batch_response, body_id, check_batch_size,
    object_type, parse_id, scalar_string, type_id,
};
use crate::{ApiError, WebState};

pub(super) fn routes() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(create_default))
        .routes(routes!(create_labelled, remove))
        .routes(routes!(list))
        .routes(routes!(batch_create))
        .routes(routes!(batch_default))
        .routes(routes!(batch_read))
        .routes(routes!(batch_archive))
        .routes(routes!(batch_archive_labels))
        .routes(routes!(labels, create_label, update_label))
        .routes(routes!(delete_label))
}

/// The object types of association paths, as documented (`object_type` also takes singular
/// names and type ids).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // a parameter's description: handlers read the path with `object_type`
enum AssociationObjectType {
    Tickets,
    Contacts,
    Companies,
    Deals,
    Threads,
}

/// The labels between two records after a change.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct LabelsBetweenObjectPair {
    from_object_type_id: String,
    from_object_id: i64,
    to_object_type_id: String,
    to_object_id: i64,
    labels: Vec<String>,
}

/// An association type: HubSpot's unlabelled default or a label.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct AssociationType {
    category: String,
    type_id: i64,
    /// `null` for an unlabelled type
    label: Option<String>,
}

/// One associated record with every type between the two.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct AssociatedObject {
    to_object_id: i64,
    association_types: Vec<AssociationType>,
}

#[derive(Serialize, ToSchema)]
struct AssociationList {
    results: Vec<AssociatedObject>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    paging: Option<Paging>,
}

#[derive(Serialize, ToSchema)]
struct AssociationLabels {
    results: Vec<AssociationType>,
}

/// A record id in an answer.
#[derive(Serialize, ToSchema)]
struct IdOut {
    id: String,
}

/// A default association made, one per direction.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DefaultAssociation {
    #[schema(inline)]
    from: IdOut,
    #[schema(inline)]
    to: IdOut,
    association_spec: AssociationSpecOut,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct AssociationSpecOut {
    association_category: String,
    association_type_id: i64,
}

/// The records associated with one input of a batch read.
#[derive(Serialize, ToSchema)]
struct AssociationsOf {
    #[schema(inline)]
    from: IdOut,
    to: Vec<AssociatedObject>,
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

/// An association type as a request names it.
#[derive(Deserialize, Default, Clone, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AssociationTypeSpec)]
struct SpecIn {
    #[schema(value_type = Option<AssociationCategory>, nullable = false)]
    #[serde(default)]
    association_category: Option<String>,
    #[schema(value_type = Option<i32>, nullable = false)]
    #[serde(default)]
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

fn labels_between(
    a: AssociationEnd,
    b: AssociationEnd,
    labels: Vec<String>,
) -> LabelsBetweenObjectPair {
    LabelsBetweenObjectPair {
        from_object_type_id: type_id(a.kind).to_string(),
        from_object_id: a.id,
        to_object_type_id: type_id(b.kind).to_string(),
        to_object_id: b.id,
        labels,
    }
}

fn default_results(a: AssociationEnd, b: AssociationEnd) -> Vec<DefaultAssociation> {
    let mut out = Vec::new();
    for (x, y) in [(a, b), (b, a)] {
        if let Some(t) = default_type(x.kind, y.kind) {
            out.push(DefaultAssociation {
                from: IdOut {
                    id: x.id.to_string(),
                },
                to: IdOut {
                    id: y.id.to_string(),
                },
                association_spec: AssociationSpecOut {
                    association_category: HUBSPOT_DEFINED.to_string(),
                    association_type_id: t,
                },
            });
        }
    }
    out
}

#[utoipa::path(
    put,
    path = "/crm/v4/objects/{fromObjectType}/{fromObjectId}/associations/{toObjectType}/{toObjectId}",
    operation_id = "createAssociation",
    tag = "associations",
    summary = "Associate two records with types",
    params(("fromObjectType" = inline(AssociationObjectType), Path), ("fromObjectId" = String, Path, pattern = "^[0-9]{1,12}$"), ("toObjectType" = inline(AssociationObjectType), Path), ("toObjectId" = String, Path, pattern = "^[0-9]{1,12}$")),
    request_body = Vec<SpecIn>,
    responses((status = 201, description = "success", body = LabelsBetweenObjectPair)),
)]
async fn create_labelled(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((from_type, from_id, to_type, to_id)): Path<(String, String, String, String)>,
    Body(input): Body<Vec<SpecIn>>,
) -> Result<(StatusCode, Json<LabelsBetweenObjectPair>), ApiError> {
    let (fa, fb) = pair(&from_type, &to_type)?;
    let a = AssociationEnd::new(fa, parse_id(fa.as_str(), &from_id)?);
    let b = AssociationEnd::new(fb, parse_id(fb.as_str(), &to_id)?);
    let labels = s
        .app
        .associate_with_types(&actor, a, b, &specs(&input)?)
        .await?;
    Ok((StatusCode::CREATED, Json(labels_between(a, b, labels))))
}

#[utoipa::path(
    put,
    path = "/crm/v4/objects/{fromObjectType}/{fromObjectId}/associations/default/{toObjectType}/{toObjectId}",
    operation_id = "createDefaultAssociation",
    tag = "associations",
    summary = "Associate two records with the default type",
    params(("fromObjectType" = inline(AssociationObjectType), Path), ("fromObjectId" = String, Path, pattern = "^[0-9]{1,12}$"), ("toObjectType" = inline(AssociationObjectType), Path), ("toObjectId" = String, Path, pattern = "^[0-9]{1,12}$")),
    responses((status = 200, description = "success", body = BatchResponse<DefaultAssociation>)),
)]
async fn create_default(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((from_type, from_id, to_type, to_id)): Path<(String, String, String, String)>,
) -> Result<Json<BatchResponse<DefaultAssociation>>, ApiError> {
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

#[utoipa::path(
    delete,
    path = "/crm/v4/objects/{fromObjectType}/{fromObjectId}/associations/{toObjectType}/{toObjectId}",
    operation_id = "removeAssociation",
    tag = "associations",
    summary = "Remove every type between two records",
    params(("fromObjectType" = inline(AssociationObjectType), Path), ("fromObjectId" = String, Path, pattern = "^[0-9]{1,12}$"), ("toObjectType" = inline(AssociationObjectType), Path), ("toObjectId" = String, Path, pattern = "^[0-9]{1,12}$")),
    responses((status = 204, description = "no content")),
)]
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
) -> Result<Vec<AssociatedObject>, ApiError> {
    let kinds: Vec<AssociationKind> = app.association_kinds(from.kind, to).await?;
    let rows = app.association_rows(actor, from, to).await?;
    let mut grouped: BTreeMap<i64, Vec<AssociationType>> = BTreeMap::new();
    for r in rows {
        let kind = kinds.iter().find(|k| k.type_id == r.type_id);
        grouped.entry(r.to_id).or_default().push(AssociationType {
            category: kind.map(|k| k.category.clone()).unwrap_or(r.category),
            type_id: r.type_id,
            label: kind.and_then(|k| k.label.clone()),
        });
    }
    Ok(grouped
        .into_iter()
        .map(|(id, types)| AssociatedObject {
            to_object_id: id,
            association_types: types,
        })
        .collect())
}

#[utoipa::path(
    get,
    path = "/crm/v4/objects/{fromObjectType}/{fromObjectId}/associations/{toObjectType}",
    operation_id = "listAssociations",
    tag = "associations",
    summary = "Records associated with one record",
    params(("fromObjectType" = inline(AssociationObjectType), Path), ("fromObjectId" = String, Path, pattern = "^[0-9]{1,12}$"), ("toObjectType" = inline(AssociationObjectType), Path), ("after" = Option<String>, Query), ("limit" = Option<i64>, Query, minimum = 1, maximum = 500)),
    responses((status = 200, description = "success", body = AssociationList)),
)]
async fn list(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((from_type, from_id, to_type)): Path<(String, String, String)>,
    params: Params,
) -> Result<Json<AssociationList>, ApiError> {
    let (fa, fb) = pair(&from_type, &to_type)?;
    let from = AssociationEnd::new(fa, parse_id(fa.as_str(), &from_id)?);
    let limit = params.int("limit", 500, 1, 500)?;
    let after = params.cursor("after")?;
    let all = associated(&s.app, &actor, from, fb).await?;
    let mut rest: Vec<AssociatedObject> =
        all.into_iter().filter(|v| v.to_object_id > after).collect();
    let more = rest.len() > limit as usize;
    rest.truncate(limit as usize);
    let paging = rest
        .last()
        .filter(|_| more)
        .map(|last| Paging::after(last.to_object_id));
    Ok(Json(AssociationList {
        results: rest,
        paging,
    }))
}

/// A record id in a body: a digit string (or a number).
#[derive(Deserialize, Default, Clone, ToSchema)]
#[schema(as = AssociationRecordId)]
struct IdIn {
    #[serde(default)]
    #[schema(value_type = String, required = true)]
    id: Value,
}

fn id_of(kind: ObjectType, v: &Value) -> Result<AssociationEnd, ApiError> {
    let raw = scalar_string(v).ok_or_else(|| ApiError::validation("ids must be strings"))?;
    Ok(AssociationEnd::new(kind, parse_id(kind.as_str(), &raw)?))
}

#[derive(Deserialize, Default, Clone, ToSchema)]
struct PairIn {
    #[schema(required = true, inline)]
    #[serde(default)]
    from: IdIn,
    #[schema(required = true, inline)]
    #[serde(default)]
    to: IdIn,
    #[serde(default)]
    types: Vec<SpecIn>,
}

/// Pairs of records, with the types to add or remove between them.
#[derive(Deserialize, Default, ToSchema)]
#[schema(as = AssociationBatchInput)]
struct PairsIn {
    /// at most 100 inputs
    #[schema(required = true, inline)]
    #[serde(default)]
    inputs: Vec<PairIn>,
}

#[utoipa::path(
    post,
    path = "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/create",
    operation_id = "batchCreateAssociations",
    tag = "associations",
    summary = "Associate up to 100 pairs",
    params(("fromObjectType" = inline(AssociationObjectType), Path), ("toObjectType" = inline(AssociationObjectType), Path)),
    request_body = PairsIn,
    responses((status = 201, description = "success", body = BatchResponse<LabelsBetweenObjectPair>), (status = 207, description = "some inputs failed", body = BatchResponse<LabelsBetweenObjectPair>)),
)]
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

#[utoipa::path(
    post,
    path = "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/associate/default",
    operation_id = "batchDefaultAssociations",
    tag = "associations",
    summary = "Default-associate up to 100 pairs",
    params(("fromObjectType" = inline(AssociationObjectType), Path), ("toObjectType" = inline(AssociationObjectType), Path)),
    request_body = PairsIn,
    responses((status = 200, description = "success", body = BatchResponse<DefaultAssociation>), (status = 207, description = "some inputs failed", body = BatchResponse<DefaultAssociation>)),
)]
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

/// Records whose associations to read.
#[derive(Deserialize, Default, ToSchema)]
#[schema(as = AssociationBatchRead)]
struct ReadIn {
    /// at most 100 inputs
    #[schema(required = true, inline)]
    #[serde(default)]
    inputs: Vec<IdIn>,
}

#[utoipa::path(
    post,
    path = "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read",
    operation_id = "batchReadAssociations",
    tag = "associations",
    summary = "Associations of up to 100 records",
    params(("fromObjectType" = inline(AssociationObjectType), Path), ("toObjectType" = inline(AssociationObjectType), Path)),
    request_body = ReadIn,
    responses((status = 200, description = "success", body = BatchResponse<AssociationsOf>), (status = 207, description = "some inputs failed", body = BatchResponse<AssociationsOf>)),
)]
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
            Ok::<_, ApiError>(AssociationsOf {
                from: IdOut {
                    id: a.id.to_string(),
                },
                to,
            })
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

#[derive(Deserialize, Default, ToSchema)]
struct ArchiveOne {
    #[schema(required = true, inline)]
    #[serde(default)]
    from: IdIn,
    #[schema(required = true, inline)]
    #[serde(default)]
    to: Vec<IdIn>,
}

/// Records and the records to dissociate from each.
#[derive(Deserialize, Default, ToSchema)]
#[schema(as = AssociationBatchArchive)]
struct ArchiveIn {
    /// at most 100 inputs
    #[schema(required = true, inline)]
    #[serde(default)]
    inputs: Vec<ArchiveOne>,
}

#[utoipa::path(
    post,
    path = "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/archive",
    operation_id = "batchArchiveAssociations",
    tag = "associations",
    summary = "Remove associations of up to 100 records",
    params(("fromObjectType" = inline(AssociationObjectType), Path), ("toObjectType" = inline(AssociationObjectType), Path)),
    request_body = ArchiveIn,
    responses((status = 204, description = "no content")),
)]
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

#[utoipa::path(
    post,
    path = "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/labels/archive",
    operation_id = "batchArchiveAssociationLabels",
    tag = "associations",
    summary = "Remove some types between up to 100 pairs",
    params(("fromObjectType" = inline(AssociationObjectType), Path), ("toObjectType" = inline(AssociationObjectType), Path)),
    request_body = PairsIn,
    responses((status = 204, description = "no content")),
)]
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

fn kind_out(k: &AssociationKind) -> AssociationType {
    AssociationType {
        category: k.category.clone(),
        type_id: k.type_id,
        label: k.label.clone(),
    }
}

#[utoipa::path(
    get,
    path = "/crm/v4/associations/{fromObjectType}/{toObjectType}/labels",
    operation_id = "listAssociationLabels",
    tag = "associations",
    summary = "Association types between two object types",
    params(("fromObjectType" = inline(AssociationObjectType), Path), ("toObjectType" = inline(AssociationObjectType), Path)),
    responses((status = 200, description = "success", body = AssociationLabels)),
)]
async fn labels(
    State(s): State<WebState>,
    Auth(_actor): Auth,
    Path((from_type, to_type)): Path<(String, String)>,
) -> Result<Json<AssociationLabels>, ApiError> {
    let (fa, fb) = pair(&from_type, &to_type)?;
    let results = s
        .app
        .association_kinds(fa, fb)
        .await?
        .iter()
        .map(kind_out)
        .collect();
    Ok(Json(AssociationLabels { results }))
}

/// A label to create (both directions; `inverseLabel` names the way back).
#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AssociationLabelInput)]
struct LabelIn {
    #[schema(required = true, nullable = false)]
    #[serde(default)]
    label: Option<String>,
    #[schema(required = true, nullable = false)]
    #[serde(default)]
    name: Option<String>,
    #[schema(nullable = false)]
    #[serde(default)]
    inverse_label: Option<String>,
}

/// A label to rename.
#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AssociationLabelUpdate)]
struct LabelUpdateIn {
    #[schema(value_type = Option<i64>, required = true, nullable = false)]
    #[serde(default)]
    association_type_id: Option<Value>,
    #[schema(required = true, nullable = false)]
    #[serde(default)]
    label: Option<String>,
    #[schema(nullable = false)]
    #[serde(default)]
    inverse_label: Option<String>,
}

#[utoipa::path(
    post,
    path = "/crm/v4/associations/{fromObjectType}/{toObjectType}/labels",
    operation_id = "createAssociationLabel",
    tag = "associations",
    summary = "Create a label (both directions)",
    params(("fromObjectType" = inline(AssociationObjectType), Path), ("toObjectType" = inline(AssociationObjectType), Path)),
    request_body = LabelIn,
    responses((status = 200, description = "success", body = AssociationLabels)),
)]
async fn create_label(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((from_type, to_type)): Path<(String, String)>,
    Body(input): Body<LabelIn>,
) -> Result<Json<AssociationLabels>, ApiError> {
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
    let kind = |type_id, label| AssociationType {
        category: fd_app::USER_DEFINED.to_string(),
        type_id,
        label: Some(label),
    };
    Ok(Json(AssociationLabels {
        results: vec![kind(ab, label), kind(ba, inverse)],
    }))
}

#[utoipa::path(
    put,
    path = "/crm/v4/associations/{fromObjectType}/{toObjectType}/labels",
    operation_id = "updateAssociationLabel",
    tag = "associations",
    summary = "Rename a label",
    params(("fromObjectType" = inline(AssociationObjectType), Path), ("toObjectType" = inline(AssociationObjectType), Path)),
    request_body = LabelUpdateIn,
    responses((status = 204, description = "no content")),
)]
async fn update_label(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((from_type, to_type)): Path<(String, String)>,
    Body(input): Body<LabelUpdateIn>,
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

#[utoipa::path(
    delete,
    path = "/crm/v4/associations/{fromObjectType}/{toObjectType}/labels/{associationTypeId}",
    operation_id = "deleteAssociationLabel",
    tag = "associations",
    summary = "Delete a label and its associations",
    params(("fromObjectType" = inline(AssociationObjectType), Path), ("toObjectType" = inline(AssociationObjectType), Path), ("associationTypeId" = String, Path, pattern = "^[0-9]{1,12}$")),
    responses((status = 204, description = "no content")),
)]
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
