//! Owners: every user is an owner whose id is their user id (what `hubspot_owner_id` holds
//! on tickets), with their teams; deactivated users are the archived owners.

use axum::Json;
use axum::extract::{Path, State};
use fd_app::domain::entities::{Team, User};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Auth, Paging, Params, Time, parse_id};
use crate::{ApiError, WebState};

pub(super) fn routes() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(read))
}

/// An owner: a user (`PERSON`), whose id is their user id.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Owner {
    id: String,
    email: String,
    first_name: String,
    last_name: String,
    user_id: i64,
    user_id_including_inactive: i64,
    #[serde(rename = "type")]
    kind: OwnerType,
    created_at: Time,
    updated_at: Time,
    archived: bool,
    teams: Vec<OwnerTeam>,
}

/// HubSpot also has `QUEUE` owners; every owner here is a user.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
enum OwnerType {
    Person,
}

#[derive(Serialize, ToSchema)]
struct OwnerTeam {
    id: String,
    name: String,
    /// The user's first team.
    primary: bool,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Owners {
    results: Vec<Owner>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    paging: Option<Paging>,
}

fn owner(u: &User, teams: &[Team]) -> Owner {
    let (first, last) = match u.name.split_once(' ') {
        Some((f, l)) => (f.to_string(), l.trim().to_string()),
        None => (u.name.clone(), String::new()),
    };
    let team_list = u
        .teams
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            teams.iter().find(|x| x.id == *t).map(|team| OwnerTeam {
                id: team.id.to_string(),
                name: team.name.clone(),
                primary: i == 0,
            })
        })
        .collect();
    Owner {
        id: u.id.to_string(),
        email: u.email.clone(),
        first_name: first,
        last_name: last,
        user_id: u.id.0,
        user_id_including_inactive: u.id.0,
        kind: OwnerType::Person,
        created_at: Time::at(u.created_at),
        updated_at: Time::at(u.created_at),
        archived: !u.active,
        teams: team_list,
    }
}

#[utoipa::path(
    get,
    path = "/crm/v3/owners",
    operation_id = "listOwners",
    tag = "owners",
    summary = "Users as owners (also at /crm/v3/owners/)",
    params(
        ("email" = Option<String>, Query),
        ("after" = Option<String>, Query),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 500),
        ("archived" = Option<bool>, Query),
    ),
    responses((status = 200, description = "success", body = Owners)),
)]
async fn list(
    State(s): State<WebState>,
    Auth(_actor): Auth,
    params: Params,
) -> Result<Json<Owners>, ApiError> {
    let limit = params.int("limit", 100, 1, 500)?;
    let after = params.cursor("after")?;
    let archived = params.bool("archived", false)?;
    let email = params.get("email").map(|e| e.trim().to_lowercase());
    let teams = s.app.teams().await?;
    let users: Vec<User> = s
        .app
        .users()
        .await?
        .into_iter()
        .filter(|u| u.active != archived)
        .filter(|u| email.as_deref().is_none_or(|e| u.email == e))
        .filter(|u| u.id.0 > after)
        .collect();
    let page: Vec<&User> = users.iter().take(limit as usize).collect();
    let results = page.iter().map(|u| owner(u, &teams)).collect();
    let paging = page
        .last()
        .filter(|_| users.len() > page.len())
        .map(|last| Paging::after(last.id));
    Ok(Json(Owners { results, paging }))
}

#[utoipa::path(
    get,
    path = "/crm/v3/owners/{ownerId}",
    operation_id = "getOwner",
    tag = "owners",
    summary = "An owner by id",
    params(
        ("ownerId" = String, Path, pattern = "^[0-9]{1,12}$"),
        ("idProperty" = inline(Option<IdProperty>), Query),
        ("archived" = Option<bool>, Query),
    ),
    responses((status = 200, description = "success", body = Owner)),
)]
async fn read(
    State(s): State<WebState>,
    Auth(_actor): Auth,
    Path(owner_id): Path<String>,
    params: Params,
) -> Result<Json<Owner>, ApiError> {
    // Owner ids and user ids are the same number here, so `idProperty` needs no lookup.
    match params.get("idProperty") {
        None | Some("id") | Some("userId") => {}
        Some(other) => {
            return Err(ApiError::validation(format!(
                "idProperty {other:?} is not id or userId"
            )));
        }
    }
    let archived = params.bool("archived", false)?;
    let id = parse_id("owner", &owner_id)?;
    let teams = s.app.teams().await?;
    let user = s
        .app
        .users()
        .await?
        .into_iter()
        .find(|u| u.id.0 == id && u.active != archived)
        .ok_or_else(|| ApiError::not_found(format!("owner {id} not found")))?;
    Ok(Json(owner(&user, &teams)))
}

/// The `idProperty` values `read` accepts (its parameter's schema).
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)] // a parameter's description: `read` matches the text itself
enum IdProperty {
    Id,
    UserId,
}
