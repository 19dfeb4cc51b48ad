//! Ticket pipelines and stages: CRUD with HubSpot's codes (201 create, 204 delete) and the
//! stage `metadata` map of strings: `ticketState` (OPEN/CLOSED), `isClosed`, and Frontdesk's
//! `requiredProperties` (`;`-separated: HD-19's conditional stage).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use fd_app::domain::entities::{Pipeline, Stage};
use fd_app::domain::{ObjectType, PipelineId, StageId, StageState};
use fd_app::{NewPipeline, NewStage, StagePatch};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Auth, Body, Params, Time, object_type, parse_id, scalar_string};
use crate::{ApiError, WebState};

pub(super) fn routes() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, replace, update, archive))
        .routes(routes!(list_stages, create_stage))
        .routes(routes!(
            read_stage,
            replace_stage,
            update_stage,
            archive_stage
        ))
}

/// A ticket stage. `metadata` holds `ticketState` (`OPEN`/`CLOSED`), `isClosed` (`true`/
/// `false`) and, when the stage has any, `requiredProperties` (`;`-separated, HD-19).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PipelineStage {
    id: String,
    label: String,
    display_order: i64,
    metadata: BTreeMap<String, String>,
    archived: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    archived_at: Option<Time>,
    created_at: Time,
    updated_at: Time,
    write_permissions: WritePermissions,
}

/// Who may change a stage: here, whoever the account's permissions allow.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum WritePermissions {
    CrmPermissionsEnforcement,
}

/// A ticket pipeline with its stages that are not archived.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Pipeline)]
pub(crate) struct PipelineOut {
    id: String,
    label: String,
    display_order: i64,
    stages: Vec<PipelineStage>,
    archived: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    archived_at: Option<Time>,
    created_at: Time,
    updated_at: Time,
}

#[derive(Serialize, ToSchema)]
struct Pipelines {
    results: Vec<PipelineOut>,
}

#[derive(Serialize, ToSchema)]
struct PipelineStages {
    results: Vec<PipelineStage>,
}

fn tickets_only(raw: &str) -> Result<(), ApiError> {
    match object_type(raw)? {
        ObjectType::Ticket => Ok(()),
        _ => Err(ApiError::validation(format!(
            "Pipelines exist for tickets only, not for {raw}"
        ))),
    }
}

fn stage_out(s: &Stage) -> PipelineStage {
    let mut metadata = BTreeMap::new();
    metadata.insert("ticketState".into(), s.state.as_str().to_string());
    let closed = if s.state == StageState::Closed {
        "true"
    } else {
        "false"
    };
    metadata.insert("isClosed".into(), closed.to_string());
    if !s.required_properties.is_empty() {
        metadata.insert("requiredProperties".into(), s.required_properties.join(";"));
    }
    PipelineStage {
        id: s.id.to_string(),
        label: s.label.clone(),
        display_order: s.display_order,
        metadata,
        archived: s.archived,
        archived_at: s.archived.then(|| Time::at(s.updated_at)),
        created_at: Time::at(s.created_at),
        updated_at: Time::at(s.updated_at),
        write_permissions: WritePermissions::CrmPermissionsEnforcement,
    }
}

fn pipeline_out(p: &Pipeline) -> PipelineOut {
    PipelineOut {
        id: p.id.to_string(),
        label: p.label.clone(),
        display_order: p.display_order,
        stages: p
            .stages
            .iter()
            .filter(|s| !s.archived)
            .map(stage_out)
            .collect(),
        archived: p.archived,
        archived_at: p.archived.then(|| Time::at(p.updated_at)),
        created_at: Time::at(p.created_at),
        updated_at: Time::at(p.updated_at),
    }
}

/// A whole stage, to create or replace one.
#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PipelineStageInput)]
struct StageIn {
    #[schema(required = true, nullable = false)]
    #[serde(default)]
    label: Option<String>,
    #[schema(required = true, nullable = false)]
    #[serde(default)]
    display_order: Option<i64>,
    /// `ticketState` (`OPEN` or `CLOSED`, or `isClosed`), `requiredProperties`
    #[schema(value_type = Option<BTreeMap<String, String>>, nullable = false)]
    #[serde(default)]
    metadata: Option<Map<String, Value>>,
}

/// The fields of a stage to change.
#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PipelineStagePatch)]
struct StagePatchIn {
    #[schema(nullable = false)]
    #[serde(default)]
    label: Option<String>,
    #[schema(nullable = false)]
    #[serde(default)]
    display_order: Option<i64>,
    #[schema(nullable = false)]
    #[serde(default)]
    archived: Option<bool>,
    #[schema(value_type = Option<BTreeMap<String, String>>, nullable = false)]
    #[serde(default)]
    metadata: Option<Map<String, Value>>,
}

/// Reads `ticketState` (or `isClosed`) and `requiredProperties` from a stage's metadata.
fn metadata(m: &Map<String, Value>) -> Result<(Option<StageState>, Option<Vec<String>>), ApiError> {
    let state = match m.get("ticketState").and_then(scalar_string) {
        Some(s) => Some(match s.trim().to_ascii_uppercase().as_str() {
            "OPEN" => StageState::Open,
            "CLOSED" => StageState::Closed,
            other => {
                return Err(ApiError::validation(format!(
                    "metadata.ticketState {other:?} is not OPEN or CLOSED"
                )));
            }
        }),
        None => match m.get("isClosed").and_then(scalar_string) {
            Some(c) if c.eq_ignore_ascii_case("true") => Some(StageState::Closed),
            Some(c) if c.eq_ignore_ascii_case("false") => Some(StageState::Open),
            Some(c) => {
                return Err(ApiError::validation(format!(
                    "metadata.isClosed {c:?} is not true or false"
                )));
            }
            None => None,
        },
    };
    let required = m
        .get("requiredProperties")
        .and_then(scalar_string)
        .map(|s| {
            s.split([';', ','])
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        });
    Ok((state, required))
}

fn new_stage(s: &StageIn) -> Result<NewStage, ApiError> {
    let label = s
        .label
        .clone()
        .ok_or_else(|| ApiError::validation("Missing required field: label"))?;
    let (state, required) = metadata(&s.metadata.clone().unwrap_or_default())?;
    let state = state.ok_or_else(|| {
        ApiError::validation("Ticket stages need metadata.ticketState (OPEN or CLOSED)")
    })?;
    Ok(NewStage {
        label,
        display_order: s.display_order.unwrap_or(0),
        state,
        required_properties: required.unwrap_or_default(),
    })
}

/// A whole pipeline, to create or replace one.
#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PipelineInput)]
struct PipelineIn {
    #[schema(required = true, nullable = false)]
    #[serde(default)]
    label: Option<String>,
    #[schema(required = true, nullable = false)]
    #[serde(default)]
    display_order: Option<i64>,
    #[schema(required = true, nullable = false)]
    #[serde(default)]
    stages: Option<Vec<StageIn>>,
}

/// The fields of a pipeline to change.
#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = PipelinePatch)]
struct PipelinePatchIn {
    #[schema(nullable = false)]
    #[serde(default)]
    label: Option<String>,
    #[schema(nullable = false)]
    #[serde(default)]
    display_order: Option<i64>,
    #[schema(nullable = false)]
    #[serde(default)]
    archived: Option<bool>,
}

#[utoipa::path(
    get,
    path = "/crm/v3/pipelines/{objectType}",
    operation_id = "listPipelines",
    tag = "pipelines",
    summary = "Ticket pipelines with their stages",
    params(("objectType" = inline(TicketsOnly), Path), ("archived" = Option<bool>, Query)),
    responses((status = 200, description = "success", body = Pipelines)),
)]
async fn list(
    State(s): State<WebState>,
    Auth(_actor): Auth,
    Path(object_type): Path<String>,
    params: Params,
) -> Result<Json<Pipelines>, ApiError> {
    tickets_only(&object_type)?;
    let archived = params.bool("archived", false)?;
    let pipelines = s.app.pipelines_in_state(archived).await?;
    let results = pipelines.iter().map(pipeline_out).collect();
    Ok(Json(Pipelines { results }))
}

#[utoipa::path(
    get,
    path = "/crm/v3/pipelines/{objectType}/{pipelineId}",
    operation_id = "getPipeline",
    tag = "pipelines",
    summary = "Read a pipeline",
    params(("objectType" = inline(TicketsOnly), Path), ("pipelineId" = String, Path, pattern = "^[0-9]{1,12}$")),
    responses((status = 200, description = "success", body = PipelineOut)),
)]
async fn read(
    State(s): State<WebState>,
    Auth(_actor): Auth,
    Path((object_type, pipeline_id)): Path<(String, String)>,
) -> Result<Json<PipelineOut>, ApiError> {
    tickets_only(&object_type)?;
    let id = PipelineId(parse_id("pipeline", &pipeline_id)?);
    Ok(Json(pipeline_out(&s.app.pipeline(id).await?)))
}

#[utoipa::path(
    post,
    path = "/crm/v3/pipelines/{objectType}",
    operation_id = "createPipeline",
    tag = "pipelines",
    summary = "Create a pipeline",
    params(("objectType" = inline(TicketsOnly), Path)),
    request_body = PipelineIn,
    responses((status = 201, description = "success", body = PipelineOut, links(("getPipeline" = (operation_id = "getPipeline", parameters(("objectType" = "$request.path.objectType"), ("pipelineId" = "$response.body#/id")))), ("updatePipeline" = (operation_id = "updatePipeline", parameters(("objectType" = "$request.path.objectType"), ("pipelineId" = "$response.body#/id")))), ("replacePipeline" = (operation_id = "replacePipeline", parameters(("objectType" = "$request.path.objectType"), ("pipelineId" = "$response.body#/id")))), ("archivePipeline" = (operation_id = "archivePipeline", parameters(("objectType" = "$request.path.objectType"), ("pipelineId" = "$response.body#/id")))), ("createStage" = (operation_id = "createStage", parameters(("objectType" = "$request.path.objectType"), ("pipelineId" = "$response.body#/id"))))))),
)]
async fn create(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(object_type): Path<String>,
    Body(input): Body<PipelineIn>,
) -> Result<(StatusCode, Json<PipelineOut>), ApiError> {
    tickets_only(&object_type)?;
    let label = input
        .label
        .ok_or_else(|| ApiError::validation("Missing required field: label"))?;
    let stages = input
        .stages
        .ok_or_else(|| ApiError::validation("Missing required field: stages"))?
        .iter()
        .map(new_stage)
        .collect::<Result<Vec<_>, _>>()?;
    let p = s
        .app
        .create_pipeline(
            &actor,
            NewPipeline {
                label,
                display_order: input.display_order.unwrap_or(0),
                stages,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(pipeline_out(&p))))
}

#[utoipa::path(
    put,
    path = "/crm/v3/pipelines/{objectType}/{pipelineId}",
    operation_id = "replacePipeline",
    tag = "pipelines",
    summary = "Replace a pipeline and its stages",
    params(("objectType" = inline(TicketsOnly), Path), ("pipelineId" = String, Path, pattern = "^[0-9]{1,12}$")),
    request_body = PipelineIn,
    responses((status = 200, description = "success", body = PipelineOut)),
)]
async fn replace(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((object_type, pipeline_id)): Path<(String, String)>,
    Body(input): Body<PipelineIn>,
) -> Result<Json<PipelineOut>, ApiError> {
    tickets_only(&object_type)?;
    let id = PipelineId(parse_id("pipeline", &pipeline_id)?);
    let label = input
        .label
        .ok_or_else(|| ApiError::validation("Missing required field: label"))?;
    let stages = input
        .stages
        .ok_or_else(|| ApiError::validation("Missing required field: stages"))?
        .iter()
        .map(new_stage)
        .collect::<Result<Vec<_>, _>>()?;
    let p = s
        .app
        .replace_pipeline(&actor, id, &label, input.display_order.unwrap_or(0), stages)
        .await?;
    Ok(Json(pipeline_out(&p)))
}

#[utoipa::path(
    patch,
    path = "/crm/v3/pipelines/{objectType}/{pipelineId}",
    operation_id = "updatePipeline",
    tag = "pipelines",
    summary = "Update a pipeline",
    params(("objectType" = inline(TicketsOnly), Path), ("pipelineId" = String, Path, pattern = "^[0-9]{1,12}$")),
    request_body = PipelinePatchIn,
    responses((status = 200, description = "success", body = PipelineOut)),
)]
async fn update(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((object_type, pipeline_id)): Path<(String, String)>,
    Body(input): Body<PipelinePatchIn>,
) -> Result<Json<PipelineOut>, ApiError> {
    tickets_only(&object_type)?;
    let id = PipelineId(parse_id("pipeline", &pipeline_id)?);
    let p = s
        .app
        .update_pipeline(&actor, id, input.label, input.display_order, input.archived)
        .await?;
    Ok(Json(pipeline_out(&p)))
}

#[utoipa::path(
    delete,
    path = "/crm/v3/pipelines/{objectType}/{pipelineId}",
    operation_id = "archivePipeline",
    tag = "pipelines",
    summary = "Archive a pipeline without tickets",
    params(("objectType" = inline(TicketsOnly), Path), ("pipelineId" = String, Path, pattern = "^[0-9]{1,12}$")),
    responses((status = 204, description = "no content")),
)]
async fn archive(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((object_type, pipeline_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    tickets_only(&object_type)?;
    let id = PipelineId(parse_id("pipeline", &pipeline_id)?);
    s.app.delete_pipeline(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/crm/v3/pipelines/{objectType}/{pipelineId}/stages",
    operation_id = "listStages",
    tag = "pipelines",
    summary = "A pipeline's stages",
    params(("objectType" = inline(TicketsOnly), Path), ("pipelineId" = String, Path, pattern = "^[0-9]{1,12}$")),
    responses((status = 200, description = "success", body = PipelineStages)),
)]
async fn list_stages(
    State(s): State<WebState>,
    Auth(_actor): Auth,
    Path((object_type, pipeline_id)): Path<(String, String)>,
) -> Result<Json<PipelineStages>, ApiError> {
    tickets_only(&object_type)?;
    let id = PipelineId(parse_id("pipeline", &pipeline_id)?);
    let p = s.app.pipeline(id).await?;
    let results = p
        .stages
        .iter()
        .filter(|s| !s.archived)
        .map(stage_out)
        .collect();
    Ok(Json(PipelineStages { results }))
}

async fn find_stage(
    s: &WebState,
    object_type: &str,
    pipeline_id: &str,
    stage_id: &str,
) -> Result<(PipelineId, Stage), ApiError> {
    tickets_only(object_type)?;
    let pid = PipelineId(parse_id("pipeline", pipeline_id)?);
    let sid = StageId(parse_id("stage", stage_id)?);
    let p = s.app.pipeline(pid).await?;
    let stage = p
        .stages
        .into_iter()
        .find(|st| st.id == sid && !st.archived)
        .ok_or_else(|| ApiError::not_found(format!("stage {sid} not found in pipeline {pid}")))?;
    Ok((pid, stage))
}

#[utoipa::path(
    get,
    path = "/crm/v3/pipelines/{objectType}/{pipelineId}/stages/{stageId}",
    operation_id = "getStage",
    tag = "pipelines",
    summary = "Read a stage",
    params(("objectType" = inline(TicketsOnly), Path), ("pipelineId" = String, Path, pattern = "^[0-9]{1,12}$"), ("stageId" = String, Path, pattern = "^[0-9]{1,12}$")),
    responses((status = 200, description = "success", body = PipelineStage)),
)]
async fn read_stage(
    State(s): State<WebState>,
    Auth(_actor): Auth,
    Path((object_type, pipeline_id, stage_id)): Path<(String, String, String)>,
) -> Result<Json<PipelineStage>, ApiError> {
    let (_, stage) = find_stage(&s, &object_type, &pipeline_id, &stage_id).await?;
    Ok(Json(stage_out(&stage)))
}

#[utoipa::path(
    post,
    path = "/crm/v3/pipelines/{objectType}/{pipelineId}/stages",
    operation_id = "createStage",
    tag = "pipelines",
    summary = "Add a stage",
    params(("objectType" = inline(TicketsOnly), Path), ("pipelineId" = String, Path, pattern = "^[0-9]{1,12}$")),
    request_body = StageIn,
    responses((status = 201, description = "success", body = PipelineStage, links(("getStage" = (operation_id = "getStage", parameters(("objectType" = "$request.path.objectType"), ("pipelineId" = "$request.path.pipelineId"), ("stageId" = "$response.body#/id")))), ("replaceStage" = (operation_id = "replaceStage", parameters(("objectType" = "$request.path.objectType"), ("pipelineId" = "$request.path.pipelineId"), ("stageId" = "$response.body#/id")))), ("updateStage" = (operation_id = "updateStage", parameters(("objectType" = "$request.path.objectType"), ("pipelineId" = "$request.path.pipelineId"), ("stageId" = "$response.body#/id")))), ("archiveStage" = (operation_id = "archiveStage", parameters(("objectType" = "$request.path.objectType"), ("pipelineId" = "$request.path.pipelineId"), ("stageId" = "$response.body#/id"))))))),
)]
async fn create_stage(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((object_type, pipeline_id)): Path<(String, String)>,
    Body(input): Body<StageIn>,
) -> Result<(StatusCode, Json<PipelineStage>), ApiError> {
    tickets_only(&object_type)?;
    let pid = PipelineId(parse_id("pipeline", &pipeline_id)?);
    let stage = s.app.create_stage(&actor, pid, new_stage(&input)?).await?;
    Ok((StatusCode::CREATED, Json(stage_out(&stage))))
}

#[utoipa::path(
    put,
    path = "/crm/v3/pipelines/{objectType}/{pipelineId}/stages/{stageId}",
    operation_id = "replaceStage",
    tag = "pipelines",
    summary = "Replace a stage",
    params(("objectType" = inline(TicketsOnly), Path), ("pipelineId" = String, Path, pattern = "^[0-9]{1,12}$"), ("stageId" = String, Path, pattern = "^[0-9]{1,12}$")),
    request_body = StageIn,
    responses((status = 200, description = "success", body = PipelineStage)),
)]
async fn replace_stage(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((object_type, pipeline_id, stage_id)): Path<(String, String, String)>,
    Body(input): Body<StageIn>,
) -> Result<Json<PipelineStage>, ApiError> {
    let (pid, stage) = find_stage(&s, &object_type, &pipeline_id, &stage_id).await?;
    let full = new_stage(&input)?;
    let updated = s
        .app
        .update_stage(
            &actor,
            pid,
            stage.id,
            StagePatch {
                label: Some(full.label),
                display_order: Some(full.display_order),
                state: Some(full.state),
                archived: Some(false),
                required_properties: Some(full.required_properties),
            },
        )
        .await?;
    Ok(Json(stage_out(&updated)))
}

#[utoipa::path(
    patch,
    path = "/crm/v3/pipelines/{objectType}/{pipelineId}/stages/{stageId}",
    operation_id = "updateStage",
    tag = "pipelines",
    summary = "Update a stage",
    params(("objectType" = inline(TicketsOnly), Path), ("pipelineId" = String, Path, pattern = "^[0-9]{1,12}$"), ("stageId" = String, Path, pattern = "^[0-9]{1,12}$")),
    request_body = StagePatchIn,
    responses((status = 200, description = "success", body = PipelineStage)),
)]
async fn update_stage(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((object_type, pipeline_id, stage_id)): Path<(String, String, String)>,
    Body(input): Body<StagePatchIn>,
) -> Result<Json<PipelineStage>, ApiError> {
    let (pid, stage) = find_stage(&s, &object_type, &pipeline_id, &stage_id).await?;
    let (state, required) = metadata(&input.metadata.clone().unwrap_or_default())?;
    let updated = s
        .app
        .update_stage(
            &actor,
            pid,
            stage.id,
            StagePatch {
                label: input.label,
                display_order: input.display_order,
                state,
                archived: input.archived,
                required_properties: required,
            },
        )
        .await?;
    Ok(Json(stage_out(&updated)))
}

#[utoipa::path(
    delete,
    path = "/crm/v3/pipelines/{objectType}/{pipelineId}/stages/{stageId}",
    operation_id = "archiveStage",
    tag = "pipelines",
    summary = "Archive a stage without tickets",
    params(("objectType" = inline(TicketsOnly), Path), ("pipelineId" = String, Path, pattern = "^[0-9]{1,12}$"), ("stageId" = String, Path, pattern = "^[0-9]{1,12}$")),
    responses((status = 204, description = "no content")),
)]
async fn archive_stage(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((object_type, pipeline_id, stage_id)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let (pid, stage) = find_stage(&s, &object_type, &pipeline_id, &stage_id).await?;
    s.app.delete_stage(&actor, pid, stage.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The object types with pipelines here (`tickets_only` also takes `ticket` and `0-5`).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // a parameter's description: handlers read the path with `tickets_only`
enum TicketsOnly {
    Tickets,
}
