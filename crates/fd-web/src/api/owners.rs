//! Owners: every user is an owner whose id is their user id (what `hubspot_owner_id` holds
//! on tickets), with their teams; deactivated users are the archived owners.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use fd_app::domain::entities::{Team, User};
use serde_json::{Value, json};

use super::{Auth, Params, parse_id, time};
use crate::{ApiError, WebState};

pub(super) fn routes() -> Router<WebState> {
    Router::new()
        .route("/crm/v3/owners", get(list))
        .route("/crm/v3/owners/{owner_id}", get(read))
}

fn owner_json(u: &User, teams: &[Team]) -> Value {
    let (first, last) = match u.name.split_once(' ') {
        Some((f, l)) => (f.to_string(), l.trim().to_string()),
        None => (u.name.clone(), String::new()),
    };
    let team_list: Vec<Value> = u
        .teams
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            teams.iter().find(|x| x.id == *t).map(
                |team| json!({"id": team.id.to_string(), "name": team.name, "primary": i == 0}),
            )
        })
        .collect();
    json!({
        "id": u.id.to_string(),
        "email": u.email,
        "firstName": first,
        "lastName": last,
        "userId": u.id.0,
        "userIdIncludingInactive": u.id.0,
        "type": "PERSON",
        "createdAt": time(u.created_at),
        "updatedAt": time(u.created_at),
        "archived": !u.active,
        "teams": team_list,
    })
}

async fn list(
    State(s): State<WebState>,
    Auth(_actor): Auth,
    params: Params,
) -> Result<Json<Value>, ApiError> {
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
    let results: Vec<Value> = page.iter().map(|u| owner_json(u, &teams)).collect();
    let mut body = json!({ "results": results });
    if users.len() > page.len()
        && let Some(last) = page.last()
    {
        body["paging"] = json!({"next": {"after": last.id.to_string()}});
    }
    Ok(Json(body))
}

async fn read(
    State(s): State<WebState>,
    Auth(_actor): Auth,
    Path(owner_id): Path<String>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(owner_json(&user, &teams)))
}
