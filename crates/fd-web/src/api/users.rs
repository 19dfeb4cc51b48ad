//! HubSpot's users object (HUBSPOT-API-2.md §8) at `/crm/v3/objects/users` (and
//! `/crm/v3/objects/0-115`, which the router rewrites to it): list, read, update, batch read
//! and update, and search. Its own module rather than the generic `{objectType}` road because
//! a user is not a CRM record: the account (Settings → Users) creates and deactivates users,
//! so create and archive are not routes (the router's 405 says where users are managed),
//! and its properties are a fixed set
//! (`fd_domain::users`), not property definitions. The static paths take precedence over
//! the generic `{objectType}` routes, so Python's `basic_api.get_page("users", …)` and
//! `.update("users", …)` land here.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fd_app::UserObject;
use fd_app::domain::property::format_time;
use fd_app::domain::users::{DEFAULT_PROPERTIES, TIME_PROPERTIES, is_user_property};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::objects::{
    BatchReadIn, BatchUpdateIn, SimplePublicObject, batch_read_ids, batch_update_inputs,
};
use super::search::{SearchIn, SearchResponse, request};
use super::{Auth, BatchResponse, Body, Paging, Params, Time, batch_response, property_strings};
use crate::{ApiError, WebState};

pub(super) fn routes() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(read, update))
        .routes(routes!(batch_read))
        .routes(routes!(batch_update))
        .routes(routes!(search))
}

/// Why users cannot be created or archived here: the router's 405 for the users paths
/// (`crate::method_not_allowed`) says this instead of its general words.
pub(crate) const MANAGED_IN_SETTINGS: &str = "Users are created, deactivated and removed in Settings → Users (or with `frontdesk admin create-user`), not through the users object; it reads users and updates their availability, time zone, working hours, out-of-office hours and job title";

/// The 405 message for a method the users object does not have at `path`, if it is one of
/// its paths.
pub(crate) fn method_not_allowed(path: &str) -> Option<&'static str> {
    (path == "/crm/v3/objects/users" || path.starts_with("/crm/v3/objects/users/"))
        .then_some(MANAGED_IN_SETTINGS)
}

/// A page of users in id order.
#[derive(Serialize, ToSchema)]
pub(crate) struct UserPage {
    results: Vec<SimplePublicObject>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    paging: Option<Paging>,
}

/// The properties to show: those asked that users have (others are ignored, as HubSpot
/// does), or the defaults; the id and the two dates always.
fn shown(requested: &[String]) -> Vec<String> {
    let mut names: Vec<String> = if requested.is_empty() {
        DEFAULT_PROPERTIES.iter().map(|s| s.to_string()).collect()
    } else {
        requested
            .iter()
            .filter(|n| is_user_property(n))
            .cloned()
            .collect()
    };
    for a in ["hs_object_id", "hs_createdate", "hs_lastmodifieddate"] {
        if !names.iter().any(|n| n == a) {
            names.push(a.to_string());
        }
    }
    names
}

fn render(u: &UserObject, names: &[String]) -> SimplePublicObject {
    let props = u.properties();
    let properties = names
        .iter()
        .map(|n| {
            let v = props.get(n).map(|raw| {
                if TIME_PROPERTIES.contains(&n.as_str()) {
                    raw.parse::<i64>()
                        .map(format_time)
                        .unwrap_or_else(|_| raw.clone())
                } else {
                    raw.clone()
                }
            });
            (n.clone(), v)
        })
        .collect();
    SimplePublicObject {
        id: u.id().to_string(),
        properties,
        created_at: Time::at(u.user.created_at),
        updated_at: Time::at(u.updated_at),
        archived: !u.user.active,
        archived_at: None,
        associations: None,
    }
}

/// A user id by `idProperty`: `hs_object_id` (the default) or `hs_email`; `None` when no
/// such user.
async fn resolve(
    s: &WebState,
    actor: &fd_app::Actor,
    raw: &str,
    id_property: Option<&str>,
    archived: bool,
) -> Result<Option<i64>, ApiError> {
    match id_property.map(str::trim) {
        None | Some("") | Some("hs_object_id") => Ok(fd_app::domain::text::parse_id(raw)),
        Some("hs_email") => Ok(s
            .app
            .user_objects(actor, archived)
            .await?
            .iter()
            .find(|u| u.user.email.eq_ignore_ascii_case(raw.trim()))
            .map(UserObject::id)),
        Some(other) => Err(ApiError::validation(format!(
            "idProperty {other:?} is not a unique property of users (hs_object_id or hs_email)"
        ))),
    }
}

#[utoipa::path(
    get,
    path = "/crm/v3/objects/users",
    operation_id = "listUsers",
    tag = "users",
    summary = "A page of users in id order (also at /crm/v3/objects/0-115)",
    params(
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100),
        ("after" = Option<String>, Query),
        ("properties" = Option<Vec<String>>, Query, style = Form, explode),
        ("propertiesWithHistory" = Option<Vec<String>>, Query, style = Form, explode),
        ("associations" = Option<Vec<String>>, Query, style = Form, explode),
        ("archived" = Option<bool>, Query),
    ),
    responses((status = 200, description = "success", body = UserPage)),
)]
async fn list(
    State(s): State<WebState>,
    Auth(actor): Auth,
    params: Params,
) -> Result<Json<UserPage>, ApiError> {
    let limit = params.int("limit", 10, 1, 100)?;
    let after = params.cursor("after")?;
    let archived = params.bool("archived", false)?;
    let names = shown(&params.list("properties"));
    let users: Vec<UserObject> = s
        .app
        .user_objects(&actor, archived)
        .await?
        .into_iter()
        .filter(|u| u.id() > after)
        .collect();
    let page = &users[..users.len().min(limit as usize)];
    let results = page.iter().map(|u| render(u, &names)).collect();
    let paging = page
        .last()
        .filter(|_| users.len() > page.len())
        .map(|last| Paging::after(last.id()));
    Ok(Json(UserPage { results, paging }))
}

#[utoipa::path(
    get,
    path = "/crm/v3/objects/users/{userId}",
    operation_id = "getUser",
    tag = "users",
    summary = "Read a user",
    params(
        ("userId" = String, Path),
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
    Path(user_id): Path<String>,
    params: Params,
) -> Result<Json<SimplePublicObject>, ApiError> {
    let archived = params.bool("archived", false)?;
    let id = resolve(&s, &actor, &user_id, params.get("idProperty"), archived)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user {user_id} not found")))?;
    let u = s.app.user_object(&actor, id, archived).await?;
    Ok(Json(render(&u, &shown(&params.list("properties")))))
}

/// The properties to change: `hs_availability_status`, `hs_standard_time_zone`,
/// `hs_working_hours`, `hs_out_of_office_hours`, `hs_job_title` (an empty string clears).
#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = UserPropertiesInput)]
pub(crate) struct UserPropertiesIn {
    #[schema(value_type = BTreeMap<String, Option<String>>, required = true)]
    #[serde(default)]
    properties: Option<BTreeMap<String, Value>>,
}

#[utoipa::path(
    patch,
    path = "/crm/v3/objects/users/{userId}",
    operation_id = "updateUser",
    tag = "users",
    summary = "Update a user's availability, time zone, working hours, out-of-office hours or job title (yours, or anyone's as an administrator)",
    params(("userId" = String, Path), ("idProperty" = Option<String>, Query)),
    request_body = UserPropertiesIn,
    responses((status = 200, description = "success", body = SimplePublicObject)),
)]
async fn update(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(user_id): Path<String>,
    params: Params,
    Body(input): Body<UserPropertiesIn>,
) -> Result<Json<SimplePublicObject>, ApiError> {
    let id = resolve(&s, &actor, &user_id, params.get("idProperty"), false)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user {user_id} not found")))?;
    let props = input
        .properties
        .ok_or_else(|| ApiError::validation("Missing required field: properties"))?;
    let props = property_strings(&props)?;
    let mut names: Vec<String> = DEFAULT_PROPERTIES.iter().map(|s| s.to_string()).collect();
    names.extend(props.keys().cloned());
    let u = s.app.update_user_object(&actor, id, &props).await?;
    Ok(Json(render(&u, &shown(&names))))
}

/// A user id in a batch body (a digit string, or a number).
#[utoipa::path(
    post,
    path = "/crm/v3/objects/users/batch/read",
    operation_id = "batchReadUsers",
    tag = "users",
    summary = "Read up to 100 users",
    params(("archived" = Option<bool>, Query)),
    request_body = BatchReadIn,
    responses(
        (status = 200, description = "success", body = BatchResponse<SimplePublicObject>),
        (status = 207, description = "some inputs failed", body = BatchResponse<SimplePublicObject>),
    ),
)]
async fn batch_read(
    State(s): State<WebState>,
    Auth(actor): Auth,
    params: Params,
    Body(input): Body<BatchReadIn>,
) -> Result<Response, ApiError> {
    let raw = batch_read_ids(&input)?;
    let started = s.app.now();
    let archived = params.bool("archived", false)?;
    let users = s.app.user_objects(&actor, archived).await?;
    let by_email = matches!(
        input.id_property.as_deref().map(str::trim),
        Some("hs_email")
    );
    match input.id_property.as_deref().map(str::trim) {
        None | Some("") | Some("hs_object_id") | Some("hs_email") => {}
        Some(other) => {
            return Err(ApiError::validation(format!(
                "idProperty {other:?} is not a unique property of users (hs_object_id or hs_email)"
            )));
        }
    }
    let names = shown(&input.properties);
    let mut results = Vec::new();
    let mut missing = Vec::new();
    for r in &raw {
        let found = users.iter().find(|u| {
            if by_email {
                u.user.email.eq_ignore_ascii_case(r.trim())
            } else {
                fd_app::domain::text::parse_id(r) == Some(u.id())
            }
        });
        match found {
            Some(u) => results.push(render(u, &names)),
            None => missing.push(r.clone()),
        }
    }
    let errors = if missing.is_empty() {
        Vec::new()
    } else {
        vec![
            ApiError::not_found(
                "Could not get some users objects, they may be deleted or not exist. Check that ids are valid.",
            )
            .with_context(json!({ "ids": missing })),
        ]
    };
    Ok(batch_response(started, s.app.now(), results, errors, StatusCode::OK).into_response())
}

#[utoipa::path(
    post,
    path = "/crm/v3/objects/users/batch/update",
    operation_id = "batchUpdateUsers",
    tag = "users",
    summary = "Update up to 100 users",
    request_body = BatchUpdateIn,
    responses(
        (status = 200, description = "success", body = BatchResponse<SimplePublicObject>),
        (status = 207, description = "some inputs failed", body = BatchResponse<SimplePublicObject>),
    ),
)]
async fn batch_update(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Body(input): Body<BatchUpdateIn>,
) -> Result<Response, ApiError> {
    let (raw, prepared) = batch_update_inputs(&input)?;
    let started = s.app.now();
    let mut names: Vec<String> = DEFAULT_PROPERTIES.iter().map(|s| s.to_string()).collect();
    for p in &prepared {
        names.extend(p.keys().cloned());
    }
    let names = shown(&names);
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for ((one, props), raw_id) in input.inputs.iter().zip(prepared).zip(&raw) {
        let Some(id) = resolve(&s, &actor, raw_id, one.id_property.as_deref(), false).await? else {
            errors.push(
                ApiError::not_found(format!("user {raw_id} not found"))
                    .with_context(json!({"ids": [raw_id]})),
            );
            continue;
        };
        match s.app.update_user_object(&actor, id, &props).await {
            Ok(u) => results.push(render(&u, &names)),
            Err(e) => {
                let e = ApiError::from(e);
                errors.push(ApiError {
                    context: Some(json!({"ids": [raw_id]})),
                    ..e
                });
            }
        }
    }
    Ok(batch_response(started, s.app.now(), results, errors, StatusCode::OK).into_response())
}

#[utoipa::path(
    post,
    path = "/crm/v3/objects/users/search",
    operation_id = "searchUsers",
    tag = "users",
    summary = "Search users (the CRM search's filters on the users properties)",
    request_body = SearchIn,
    responses((status = 200, description = "success", body = SearchResponse)),
)]
async fn search(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Body(input): Body<SearchIn>,
) -> Result<Json<SearchResponse>, ApiError> {
    let req = request(&input)?;
    let (total, users) = s.app.search_user_objects(&actor, &req).await?;
    let names = shown(&input.properties);
    let results: Vec<SimplePublicObject> = users.iter().map(|u| render(u, &names)).collect();
    let next = req.offset + users.len() as i64;
    let paging = (!users.is_empty() && next < total).then(|| Paging::after(next));
    Ok(Json(SearchResponse {
        total,
        results,
        paging,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Requested names that users do not have are dropped; the id and dates always come.
    #[test]
    fn shown_properties() {
        let names = shown(&["hs_job_title".into(), "colour".into()]);
        assert_eq!(
            names,
            [
                "hs_job_title",
                "hs_object_id",
                "hs_createdate",
                "hs_lastmodifieddate"
            ]
        );
    }
}
