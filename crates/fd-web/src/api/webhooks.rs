//! HubSpot's webhooks v3 management API (HUBSPOT-API-2.md §5.1): an app's settings (target
//! URL, throttling) and its subscriptions, at the paths and with the bodies HubSpot's
//! official clients use. Authenticated by the app's developer key in the `hapikey` query
//! parameter (the clients send no `Authorization` header): no key or an unknown one is 401,
//! another app's key 403.
//!
//! Handlers only translate; the use cases and the checks are `fd-app`'s `webhooks.rs` and
//! `fd_domain::webhooks`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fd_app::{WebhookAccess, WebhookSettings, WebhookSubscription};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Body, Params, Time, batch_response, body_id, check_batch_size, parse_id};
use crate::{ApiError, WebState};

pub(super) fn routes() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(get_settings, put_settings, clear_settings))
        .routes(routes!(list_subscriptions, create_subscription))
        .routes(routes!(
            get_subscription,
            update_subscription,
            delete_subscription
        ))
        .routes(routes!(batch_update))
}

/// The app of the path, if the request's `hapikey` is its developer key.
async fn access(s: &WebState, app_id: &str, params: &Params) -> Result<WebhookAccess, ApiError> {
    let id = parse_id("app", app_id)?;
    Ok(s.app.webhook_app_for_key(id, params.get("hapikey")).await?)
}

#[derive(Deserialize, Serialize, Default, ToSchema, Clone, Copy)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ThrottlingSettings {
    /// At least 5, at most 100.
    #[serde(default)]
    max_concurrent_requests: i64,
}

#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SettingsChangeRequest {
    #[schema(required = true)]
    #[serde(default)]
    target_url: String,
    #[schema(required = true)]
    #[serde(default)]
    throttling: ThrottlingSettings,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SettingsResponse {
    target_url: String,
    throttling: ThrottlingSettings,
    created_at: Time,
    updated_at: Time,
}

fn settings_out(s: WebhookSettings) -> SettingsResponse {
    SettingsResponse {
        target_url: s.target_url,
        throttling: ThrottlingSettings {
            max_concurrent_requests: s.max_concurrent,
        },
        created_at: Time::at(s.created_at),
        updated_at: Time::at(s.updated_at),
    }
}

#[utoipa::path(
    get,
    path = "/webhooks/v3/{appId}/settings",
    operation_id = "getWebhookSettings",
    tag = "webhooks",
    summary = "An app's webhook settings (404 before any are set)",
    params(("appId" = String, Path), ("hapikey" = String, Query, description = "the app's developer API key")),
    security(()),
    responses((status = 200, description = "the settings", body = SettingsResponse)),
)]
async fn get_settings(
    State(s): State<WebState>,
    Path(app_id): Path<String>,
    params: Params,
) -> Result<Json<SettingsResponse>, ApiError> {
    let a = access(&s, &app_id, &params).await?;
    let settings = s.app.webhook_settings(&a).await?.ok_or_else(|| {
        ApiError::not_found(format!("No webhook settings for app {}", a.app().id))
    })?;
    Ok(Json(settings_out(settings)))
}

#[utoipa::path(
    put,
    path = "/webhooks/v3/{appId}/settings",
    operation_id = "configureWebhookSettings",
    tag = "webhooks",
    summary = "Set where an app's events go and how many requests may be in flight",
    description = "`targetUrl` is an http or https URL (hosts on the local network are allowed: a self-hosted desk calls its own services); `throttling.maxConcurrentRequests` is from 5 to 100. 400 names each problem.",
    params(("appId" = String, Path), ("hapikey" = String, Query, description = "the app's developer API key")),
    security(()),
    request_body = SettingsChangeRequest,
    responses((status = 200, description = "the settings", body = SettingsResponse)),
)]
async fn put_settings(
    State(s): State<WebState>,
    Path(app_id): Path<String>,
    params: Params,
    Body(b): Body<SettingsChangeRequest>,
) -> Result<Json<SettingsResponse>, ApiError> {
    let a = access(&s, &app_id, &params).await?;
    let settings = s
        .app
        .put_webhook_settings(&a, &b.target_url, b.throttling.max_concurrent_requests)
        .await?;
    Ok(Json(settings_out(settings)))
}

#[utoipa::path(
    delete,
    path = "/webhooks/v3/{appId}/settings",
    operation_id = "clearWebhookSettings",
    tag = "webhooks",
    summary = "Remove an app's settings: nothing is sent until they are set again",
    params(("appId" = String, Path), ("hapikey" = String, Query, description = "the app's developer API key")),
    security(()),
    responses((status = 204, description = "cleared")),
)]
async fn clear_settings(
    State(s): State<WebState>,
    Path(app_id): Path<String>,
    params: Params,
) -> Result<StatusCode, ApiError> {
    let a = access(&s, &app_id, &params).await?;
    s.app.clear_webhook_settings(&a).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SubscriptionResponse {
    id: String,
    event_type: String,
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    property_name: Option<String>,
    created_at: Time,
    updated_at: Time,
}

fn subscription_out(s: WebhookSubscription) -> SubscriptionResponse {
    SubscriptionResponse {
        id: s.id.to_string(),
        event_type: s.event_type,
        active: s.active,
        property_name: s.property_name,
        created_at: Time::at(s.created_at),
        updated_at: Time::at(s.updated_at),
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct SubscriptionListResponse {
    results: Vec<SubscriptionResponse>,
}

#[utoipa::path(
    get,
    path = "/webhooks/v3/{appId}/subscriptions",
    operation_id = "listWebhookSubscriptions",
    tag = "webhooks",
    summary = "An app's subscriptions (all of them, no paging)",
    params(("appId" = String, Path), ("hapikey" = String, Query, description = "the app's developer API key")),
    security(()),
    responses((status = 200, description = "the subscriptions", body = SubscriptionListResponse)),
)]
async fn list_subscriptions(
    State(s): State<WebState>,
    Path(app_id): Path<String>,
    params: Params,
) -> Result<Json<SubscriptionListResponse>, ApiError> {
    let a = access(&s, &app_id, &params).await?;
    let results = s
        .app
        .webhook_subscriptions(&a)
        .await?
        .into_iter()
        .map(subscription_out)
        .collect();
    Ok(Json(SubscriptionListResponse { results }))
}

#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SubscriptionCreateRequest {
    /// `ticket.creation`, `ticket.propertyChange`, `contact.merge`, `conversation.newMessage`…
    #[schema(required = true)]
    #[serde(default)]
    event_type: String,
    /// Required for `*.propertyChange`, refused elsewhere.
    #[schema(nullable = false)]
    property_name: Option<String>,
    /// Off unless true, as HubSpot.
    #[schema(nullable = false)]
    active: Option<bool>,
    /// Accepted for the clients' sake; the event type already names the object.
    #[schema(nullable = false)]
    object_type_id: Option<String>,
}

#[utoipa::path(
    post,
    path = "/webhooks/v3/{appId}/subscriptions",
    operation_id = "createWebhookSubscription",
    tag = "webhooks",
    summary = "Subscribe an app to an event type",
    description = "Event types: creation, deletion, propertyChange (with `propertyName`), associationChange, merge and restore of tickets, contacts and companies; creation, deletion, propertyChange (`assignedTo`, `status`) and newMessage of conversations.",
    params(("appId" = String, Path), ("hapikey" = String, Query, description = "the app's developer API key")),
    security(()),
    request_body = SubscriptionCreateRequest,
    responses((status = 201, description = "the subscription", body = SubscriptionResponse)),
)]
async fn create_subscription(
    State(s): State<WebState>,
    Path(app_id): Path<String>,
    params: Params,
    Body(b): Body<SubscriptionCreateRequest>,
) -> Result<(StatusCode, Json<SubscriptionResponse>), ApiError> {
    let a = access(&s, &app_id, &params).await?;
    let _ = b.object_type_id;
    let sub = s
        .app
        .create_webhook_subscription(
            &a,
            &b.event_type,
            b.property_name.as_deref(),
            b.active.unwrap_or(false),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(subscription_out(sub))))
}

#[utoipa::path(
    get,
    path = "/webhooks/v3/{appId}/subscriptions/{subscriptionId}",
    operation_id = "getWebhookSubscription",
    tag = "webhooks",
    summary = "One subscription",
    params(("appId" = String, Path), ("subscriptionId" = String, Path), ("hapikey" = String, Query, description = "the app's developer API key")),
    security(()),
    responses((status = 200, description = "the subscription", body = SubscriptionResponse)),
)]
async fn get_subscription(
    State(s): State<WebState>,
    Path((app_id, sub_id)): Path<(String, String)>,
    params: Params,
) -> Result<Json<SubscriptionResponse>, ApiError> {
    let a = access(&s, &app_id, &params).await?;
    let id = parse_id("subscription", &sub_id)?;
    Ok(Json(subscription_out(
        s.app.webhook_subscription(&a, id).await?,
    )))
}

#[derive(Deserialize, Default, ToSchema)]
pub(crate) struct SubscriptionPatchRequest {
    #[schema(nullable = false)]
    active: Option<bool>,
}

#[utoipa::path(
    patch,
    path = "/webhooks/v3/{appId}/subscriptions/{subscriptionId}",
    operation_id = "updateWebhookSubscription",
    tag = "webhooks",
    summary = "Turn a subscription on or off",
    params(("appId" = String, Path), ("subscriptionId" = String, Path), ("hapikey" = String, Query, description = "the app's developer API key")),
    security(()),
    request_body = SubscriptionPatchRequest,
    responses((status = 200, description = "the subscription", body = SubscriptionResponse)),
)]
async fn update_subscription(
    State(s): State<WebState>,
    Path((app_id, sub_id)): Path<(String, String)>,
    params: Params,
    Body(b): Body<SubscriptionPatchRequest>,
) -> Result<Json<SubscriptionResponse>, ApiError> {
    let a = access(&s, &app_id, &params).await?;
    let id = parse_id("subscription", &sub_id)?;
    let sub = match b.active {
        Some(active) => {
            s.app
                .set_webhook_subscription_active(&a, id, active)
                .await?
        }
        None => s.app.webhook_subscription(&a, id).await?,
    };
    Ok(Json(subscription_out(sub)))
}

#[utoipa::path(
    delete,
    path = "/webhooks/v3/{appId}/subscriptions/{subscriptionId}",
    operation_id = "archiveWebhookSubscription",
    tag = "webhooks",
    summary = "Delete a subscription",
    params(("appId" = String, Path), ("subscriptionId" = String, Path), ("hapikey" = String, Query, description = "the app's developer API key")),
    security(()),
    responses((status = 204, description = "deleted")),
)]
async fn delete_subscription(
    State(s): State<WebState>,
    Path((app_id, sub_id)): Path<(String, String)>,
    params: Params,
) -> Result<StatusCode, ApiError> {
    let a = access(&s, &app_id, &params).await?;
    let id = parse_id("subscription", &sub_id)?;
    s.app.delete_webhook_subscription(&a, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Default, ToSchema)]
pub(crate) struct SubscriptionBatchUpdateOne {
    #[schema(value_type = i64, required = true)]
    #[serde(default)]
    id: Value,
    #[schema(required = true)]
    #[serde(default)]
    active: bool,
}

#[derive(Deserialize, Default, ToSchema)]
pub(crate) struct SubscriptionBatchUpdateRequest {
    /// at most 100 inputs
    #[schema(required = true)]
    #[serde(default)]
    inputs: Vec<SubscriptionBatchUpdateOne>,
}

#[utoipa::path(
    post,
    path = "/webhooks/v3/{appId}/subscriptions/batch/update",
    operation_id = "batchUpdateWebhookSubscriptions",
    tag = "webhooks",
    summary = "Turn several subscriptions on or off",
    description = "Unknown ids are listed in `errors` (207); the others are changed.",
    params(("appId" = String, Path), ("hapikey" = String, Query, description = "the app's developer API key")),
    security(()),
    request_body = SubscriptionBatchUpdateRequest,
    responses(
        (status = 200, description = "success", body = super::BatchResponse<SubscriptionResponse>),
        (status = 207, description = "some inputs failed", body = super::BatchResponse<SubscriptionResponse>),
    ),
)]
async fn batch_update(
    State(s): State<WebState>,
    Path(app_id): Path<String>,
    params: Params,
    Body(b): Body<SubscriptionBatchUpdateRequest>,
) -> Result<Response, ApiError> {
    let a = access(&s, &app_id, &params).await?;
    check_batch_size(b.inputs.len())?;
    let started = s.app.now();
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    for one in &b.inputs {
        match body_id(&one.id) {
            Some(id) => inputs.push((id, one.active)),
            None => errors.push(
                ApiError::validation(format!("{} is not a subscription id", one.id))
                    .with_context(json!({"ids": [one.id.to_string()]})),
            ),
        }
    }
    let out = s.app.set_webhook_subscriptions_active(&a, &inputs).await?;
    if !out.missing.is_empty() {
        let ids: Vec<String> = out.missing.iter().map(ToString::to_string).collect();
        errors.push(
            ApiError::not_found(format!("No such subscriptions: {}", ids.join(", ")))
                .with_context(json!({ "ids": ids })),
        );
    }
    let results: Vec<SubscriptionResponse> =
        out.updated.into_iter().map(subscription_out).collect();
    Ok(batch_response(started, s.app.now(), results, errors, StatusCode::OK).into_response())
}
