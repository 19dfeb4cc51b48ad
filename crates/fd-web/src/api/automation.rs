//! Frontdesk's own automation endpoints (issue 16, item 3): the rules, in order, with what
//! each did last; create, read, replace, delete. Administrators only (the use cases check).
//!
//! The trigger, conditions and actions are the JSON of fd-domain's `automation` types, read
//! here with serde and validated by the use case; no rule lives here.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use fd_app::domain::automation::{Action, Condition, Trigger};
use fd_app::{AutomationRule, RuleInput};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Auth, Body, parse_id};
use crate::{ApiError, WebState};

pub(super) fn routes() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(list_rules, create_rule))
        .routes(routes!(get_rule, replace_rule, delete_rule))
}

/// A rule to create or replace.
#[derive(Deserialize, Default, ToSchema)]
#[schema(as = AutomationRuleInput)]
pub(crate) struct RuleIn {
    #[schema(required = true)]
    name: Option<String>,
    /// On when absent.
    enabled: Option<bool>,
    /// `{"kind": "ticket_created" | "customer_message" | "agent_reply" | "email_to_customer"
    /// | "status_changed" | "owner_changed"}`, `{"kind": "property_changed", "property": P}`,
    /// `{"kind": "time_since", "event": "created" | "no_customer_reply" |
    /// "no_agent_reply", "minutes": N}`, or `{"kind": "sla_due_soon" | "sla_breached",
    /// "clock": "any" | "first_response" | "next_response" | "time_to_close"}` (once per SLA
    /// clock, when it becomes due soon or passes its goal; `clock` defaults to `any`).
    #[schema(value_type = Object, required = true)]
    trigger: Option<Value>,
    /// All must hold: `{"kind": "property", "property": P, "op": "equals" | "not_equals" |
    /// "in" | "not_in" | "empty" | "not_empty", "values": [...]}`, `{"kind": "channel",
    /// "channels": ["EMAIL", …]}`, `{"kind": "team", "teams": [id…]}`, `{"kind": "pipeline",
    /// "pipeline": id}`, `{"kind": "business_hours", "inside": true, "hours": {"days": [0…6],
    /// "start_minute": 540, "end_minute": 1020, "time_zone": "Europe/Rome"}}`.
    #[schema(value_type = Vec<Object>)]
    conditions: Option<Value>,
    /// In order: `set_property` (property, value), `set_stage` (stage), `set_stage_named`
    /// (label), `set_owner` (owner or null), `set_team` (team or null), `add_follower` (user),
    /// `send_email` (body), `comment` (body), `notify` (users, owner, message).
    #[schema(value_type = Vec<Object>, required = true)]
    actions: Option<Value>,
}

/// A rule with what it did last.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AutomationRule)]
pub(crate) struct RuleOut {
    id: String,
    name: String,
    enabled: bool,
    position: i64,
    /// The built-in rule's key (HD-20's `hd_20_waiting_on_contact`): it cannot be deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    builtin: Option<String>,
    #[schema(value_type = Object)]
    trigger: Value,
    #[schema(value_type = Vec<Object>)]
    conditions: Value,
    #[schema(value_type = Vec<Object>)]
    actions: Value,
    /// Epoch milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    last_run_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    last_ticket_id: Option<String>,
    /// What the last run did, or why an action was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    last_outcome: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = AutomationRuleList)]
pub(crate) struct RuleList {
    results: Vec<RuleOut>,
}

fn out(r: AutomationRule) -> RuleOut {
    let json = |v: Result<Value, serde_json::Error>| v.unwrap_or(Value::Null);
    RuleOut {
        id: r.rule.id.to_string(),
        name: r.rule.name,
        enabled: r.rule.enabled,
        position: r.rule.position,
        builtin: r.rule.builtin,
        trigger: json(serde_json::to_value(&r.rule.trigger)),
        conditions: json(serde_json::to_value(&r.rule.conditions)),
        actions: json(serde_json::to_value(&r.rule.actions)),
        last_run_at: r.last_run_at,
        last_ticket_id: r.last_ticket.map(|t| t.0.to_string()),
        last_outcome: r.last_outcome,
    }
}

fn input(b: RuleIn) -> Result<RuleInput, ApiError> {
    let name = b
        .name
        .ok_or_else(|| ApiError::validation("Missing required field: name"))?;
    let trigger: Trigger = serde_json::from_value(
        b.trigger
            .ok_or_else(|| ApiError::validation("Missing required field: trigger"))?,
    )
    .map_err(|e| ApiError::validation(format!("trigger: {e}")))?;
    let conditions: Vec<Condition> =
        serde_json::from_value(b.conditions.unwrap_or(Value::Array(Vec::new())))
            .map_err(|e| ApiError::validation(format!("conditions: {e}")))?;
    let actions: Vec<Action> = serde_json::from_value(
        b.actions
            .ok_or_else(|| ApiError::validation("Missing required field: actions"))?,
    )
    .map_err(|e| ApiError::validation(format!("actions: {e}")))?;
    Ok(RuleInput {
        name,
        enabled: b.enabled.unwrap_or(true),
        trigger,
        conditions,
        actions,
    })
}

#[utoipa::path(
    get,
    path = "/frontdesk/v1/automation/rules",
    operation_id = "listAutomationRules",
    tag = "automation",
    summary = "Automation rules, in the order they run",
    description = "Each rule with when it last ran, on which ticket, and what it did (or why an action was refused). Administrators only (403 otherwise).",
    responses((status = 200, description = "the rules", body = RuleList)),
)]
async fn list_rules(
    State(s): State<WebState>,
    Auth(actor): Auth,
) -> Result<Json<RuleList>, ApiError> {
    let rules = s.app.automation_rules(&actor).await?;
    Ok(Json(RuleList {
        results: rules.into_iter().map(out).collect(),
    }))
}

#[utoipa::path(
    post,
    path = "/frontdesk/v1/automation/rules",
    operation_id = "createAutomationRule",
    tag = "automation",
    summary = "Create an automation rule",
    description = "The rule runs after the others. Its actions go through the same rules as an agent's change (HD-19, access); loops are stopped (a rule never runs twice in one chain, and chains are at most 5 deep). 400 names each problem.",
    request_body = RuleIn,
    responses((status = 201, description = "the rule", body = RuleOut)),
)]
async fn create_rule(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Body(b): Body<RuleIn>,
) -> Result<(StatusCode, Json<RuleOut>), ApiError> {
    let id = s.app.create_automation_rule(&actor, input(b)?).await?;
    let r = s.app.automation_rule(&actor, id).await?;
    Ok((StatusCode::CREATED, Json(out(r))))
}

#[utoipa::path(
    get,
    path = "/frontdesk/v1/automation/rules/{ruleId}",
    operation_id = "getAutomationRule",
    tag = "automation",
    summary = "An automation rule",
    params(("ruleId" = String, Path)),
    responses((status = 200, description = "the rule", body = RuleOut)),
)]
async fn get_rule(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(rule_id): Path<String>,
) -> Result<Json<RuleOut>, ApiError> {
    let id = parse_id("automation rule", &rule_id)?;
    Ok(Json(out(s.app.automation_rule(&actor, id).await?)))
}

#[utoipa::path(
    put,
    path = "/frontdesk/v1/automation/rules/{ruleId}",
    operation_id = "replaceAutomationRule",
    tag = "automation",
    summary = "Replace an automation rule",
    description = "Name, on/off, trigger, conditions and actions are replaced; the rule keeps its place and its run log. A built-in rule may be changed and turned off.",
    params(("ruleId" = String, Path)),
    request_body = RuleIn,
    responses((status = 200, description = "the rule", body = RuleOut)),
)]
async fn replace_rule(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(rule_id): Path<String>,
    Body(b): Body<RuleIn>,
) -> Result<Json<RuleOut>, ApiError> {
    let id = parse_id("automation rule", &rule_id)?;
    s.app.update_automation_rule(&actor, id, input(b)?).await?;
    Ok(Json(out(s.app.automation_rule(&actor, id).await?)))
}

#[utoipa::path(
    delete,
    path = "/frontdesk/v1/automation/rules/{ruleId}",
    operation_id = "deleteAutomationRule",
    tag = "automation",
    summary = "Delete an automation rule",
    description = "A built-in rule cannot be deleted (400); turn it off instead.",
    params(("ruleId" = String, Path)),
    responses((status = 204, description = "deleted")),
)]
async fn delete_rule(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(rule_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id("automation rule", &rule_id)?;
    s.app.delete_automation_rule(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
