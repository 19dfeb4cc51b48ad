//! Ticket pipelines and stages: CRUD with HubSpot's codes (201 create, 204 delete) and the
//! stage `metadata` map of strings: `ticketState` (OPEN/CLOSED), `isClosed`, and Frontdesk's
//! `requiredProperties` (`;`-separated: HD-19's conditional stage).

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use fd_app::domain::entities::{Pipeline, Stage};
use fd_app::domain::{ObjectType, PipelineId, StageId, StageState};
use fd_app::{NewPipeline, NewStage, StagePatch};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Auth, Body, Params, object_type, parse_id, scalar_string, time};
use crate::{ApiError, WebState};

pub(super) fn routes() -> Router<WebState> {
    Router::new()
        .route("/crm/v3/pipelines/{object_type}", get(list).post(create))
        .route(
            "/crm/v3/pipelines/{object_type}/{pipeline_id}",
            get(read).put(replace).patch(update).delete(archive),
        )
        .route(
            "/crm/v3/pipelines/{object_type}/{pipeline_id}/stages",
            get(list_stages).post(create_stage),
        )
        .route(
            "/crm/v3/pipelines/{object_type}/{pipeline_id}/stages/{stage_id}",
            get(read_stage)
                .put(replace_stage)
                .patch(update_stage)
                .delete(archive_stage),
        )
}

fn tickets_only(raw: &str) -> Result<(), ApiError> {
    match object_type(raw)? {
        ObjectType::Ticket => Ok(()),
        _ => Err(ApiError::validation(format!(
            "Pipelines exist for tickets only, not for {raw}"
        ))),
    }
}

pub(crate) fn stage_json(s: &Stage) -> Value {
    let mut metadata = Map::new();
    metadata.insert("ticketState".into(), json!(s.state.as_str()));
    metadata.insert(
        "isClosed".into(),
        json!(if s.state == StageState::Closed {
            "true"
        } else {
            "false"
        }),
    );
    if !s.required_properties.is_empty() {
        metadata.insert(
            "requiredProperties".into(),
            json!(s.required_properties.join(";")),
        );
    }
    let mut v = json!({
        "id": s.id.to_string(),
        "label": s.label,
        "displayOrder": s.display_order,
        "metadata": metadata,
        "archived": s.archived,
        "createdAt": time(s.created_at),
        "updatedAt": time(s.updated_at),
        "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
    });
    if s.archived {
        v["archivedAt"] = time(s.updated_at);
    }
    v
}

pub(crate) fn pipeline_json(p: &Pipeline) -> Value {
    let stages: Vec<Value> = p
        .stages
        .iter()
        .filter(|s| !s.archived)
        .map(stage_json)
        .collect();
    let mut v = json!({
        "id": p.id.to_string(),
        "label": p.label,
        "displayOrder": p.display_order,
        "stages": stages,
        "archived": p.archived,
        "createdAt": time(p.created_at),
        "updatedAt": time(p.updated_at),
    });
    if p.archived {
        v["archivedAt"] = time(p.updated_at);
    }
    v
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct StageIn {
    label: Option<String>,
    display_order: Option<i64>,
    metadata: Option<Map<String, Value>>,
    archived: Option<bool>,
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

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct PipelineIn {
    label: Option<String>,
    display_order: Option<i64>,
    stages: Option<Vec<StageIn>>,
    archived: Option<bool>,
}

async fn list(
    State(s): State<WebState>,
    Auth(_actor): Auth,
    Path(object_type): Path<String>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    tickets_only(&object_type)?;
    let archived = params.bool("archived", false)?;
    let pipelines = s.app.pipelines_in_state(archived).await?;
    let results: Vec<Value> = pipelines.iter().map(pipeline_json).collect();
    Ok(Json(json!({ "results": results })))
}

async fn read(
    State(s): State<WebState>,
    Auth(_actor): Auth,
    Path((object_type, pipeline_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    tickets_only(&object_type)?;
    let id = PipelineId(parse_id("pipeline", &pipeline_id)?);
    Ok(Json(pipeline_json(&s.app.pipeline(id).await?)))
}

async fn create(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(object_type): Path<String>,
    Body(input): Body<PipelineIn>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
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
    Ok((StatusCode::CREATED, Json(pipeline_json(&p))))
}

async fn replace(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((object_type, pipeline_id)): Path<(String, String)>,
    Body(input): Body<PipelineIn>,
) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(pipeline_json(&p)))
}

async fn update(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((object_type, pipeline_id)): Path<(String, String)>,
    Body(input): Body<PipelineIn>,
) -> Result<Json<Value>, ApiError> {
    tickets_only(&object_type)?;
    let id = PipelineId(parse_id("pipeline", &pipeline_id)?);
    let p = s
        .app
        .update_pipeline(&actor, id, input.label, input.display_order, input.archived)
        .await?;
    Ok(Json(pipeline_json(&p)))
}

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

async fn list_stages(
    State(s): State<WebState>,
    Auth(_actor): Auth,
    Path((object_type, pipeline_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    tickets_only(&object_type)?;
    let id = PipelineId(parse_id("pipeline", &pipeline_id)?);
    let p = s.app.pipeline(id).await?;
    let results: Vec<Value> = p
        .stages
        .iter()
        .filter(|s| !s.archived)
        .map(stage_json)
        .collect();
    Ok(Json(json!({ "results": results })))
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

async fn read_stage(
    State(s): State<WebState>,
    Auth(_actor): Auth,
    Path((object_type, pipeline_id, stage_id)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (_, stage) = find_stage(&s, &object_type, &pipeline_id, &stage_id).await?;
    Ok(Json(stage_json(&stage)))
}

async fn create_stage(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((object_type, pipeline_id)): Path<(String, String)>,
    Body(input): Body<StageIn>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    tickets_only(&object_type)?;
    let pid = PipelineId(parse_id("pipeline", &pipeline_id)?);
    let stage = s.app.create_stage(&actor, pid, new_stage(&input)?).await?;
    Ok((StatusCode::CREATED, Json(stage_json(&stage))))
}

async fn replace_stage(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((object_type, pipeline_id, stage_id)): Path<(String, String, String)>,
    Body(input): Body<StageIn>,
) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(stage_json(&updated)))
}

async fn update_stage(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((object_type, pipeline_id, stage_id)): Path<(String, String, String)>,
    Body(input): Body<StageIn>,
) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(stage_json(&updated)))
}

async fn archive_stage(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path((object_type, pipeline_id, stage_id)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let (pid, stage) = find_stage(&s, &object_type, &pipeline_id, &stage_id).await?;
    s.app.delete_stage(&actor, pid, stage.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
