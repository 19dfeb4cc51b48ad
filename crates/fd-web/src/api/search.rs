//! `POST /crm/v3/objects/{objectType}/search`: filter groups, `query`, one sort (as
//! `"-createdate"` or `{"propertyName", "direction"}`), `limit`/`after`, and the total.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::post;
use fd_app::{FilterInput, SearchRequest};
use serde::Deserialize;
use serde_json::{Value, json};

use super::objects::Shape;
use super::{Auth, Body, crm_type, scalar_string};
use crate::{ApiError, WebState};

pub(super) fn routes() -> Router<WebState> {
    Router::new().route("/crm/v3/objects/{object_type}/search", post(search))
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct FilterIn {
    property_name: Option<String>,
    operator: Option<String>,
    value: Option<Value>,
    high_value: Option<Value>,
    values: Option<Vec<Value>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct GroupIn {
    filters: Vec<FilterIn>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct SearchIn {
    query: Option<String>,
    limit: Option<Value>,
    after: Option<Value>,
    sorts: Vec<Value>,
    properties: Vec<String>,
    filter_groups: Vec<GroupIn>,
}

fn int(field: &str, v: &Option<Value>, default: i64) -> Result<i64, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(default),
        Some(v) => match scalar_string(v).map(|s| s.trim().to_string()) {
            Some(s) if s.is_empty() => Ok(default),
            Some(s) => s.parse::<i64>().map_err(|_| {
                ApiError::validation(format!("{field} must be an integer, not {s:?}"))
            }),
            None => Err(ApiError::validation(format!("{field} must be an integer"))),
        },
    }
}

/// One sort: `"prop"`, `"-prop"`, or `{"propertyName": "prop", "direction": "DESCENDING"}`.
fn sort(v: &Value) -> Result<(String, bool), ApiError> {
    match v {
        Value::String(s) => {
            let s = s.trim();
            Ok(match s.strip_prefix('-') {
                Some(name) => (name.to_string(), true),
                None => (s.trim_start_matches('+').to_string(), false),
            })
        }
        Value::Object(o) => {
            let name = o
                .get("propertyName")
                .and_then(Value::as_str)
                .ok_or_else(|| ApiError::validation("sorts[].propertyName is required"))?;
            let descending = match o.get("direction").and_then(Value::as_str) {
                None => false,
                Some(d) if d.eq_ignore_ascii_case("ASCENDING") => false,
                Some(d) if d.eq_ignore_ascii_case("DESCENDING") => true,
                Some(d) => {
                    return Err(ApiError::validation(format!(
                        "sorts[].direction {d:?} is not ASCENDING or DESCENDING"
                    )));
                }
            };
            Ok((name.to_string(), descending))
        }
        _ => Err(ApiError::validation(
            "sorts[] must be a property name or {\"propertyName\", \"direction\"}",
        )),
    }
}

fn text(field: &str, v: &Option<Value>) -> Result<Option<String>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => scalar_string(v)
            .map(Some)
            .ok_or_else(|| ApiError::validation(format!("{field} must be a string"))),
    }
}

async fn search(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(object_type): Path<String>,
    Body(input): Body<SearchIn>,
) -> Result<Json<Value>, ApiError> {
    let kind = crm_type(&object_type)?;
    if input.sorts.len() > 1 {
        return Err(ApiError::validation(format!(
            "Only one sort is allowed, {} were given",
            input.sorts.len()
        )));
    }
    let limit = int("limit", &input.limit, 10)?;
    let offset = int("after", &input.after, 0)?;
    let mut groups = Vec::with_capacity(input.filter_groups.len());
    for g in &input.filter_groups {
        let mut filters = Vec::with_capacity(g.filters.len());
        for f in &g.filters {
            let values = match &f.values {
                None => Vec::new(),
                Some(vs) => vs
                    .iter()
                    .map(|v| {
                        scalar_string(v).ok_or_else(|| {
                            ApiError::validation("filters[].values must hold strings")
                        })
                    })
                    .collect::<Result<_, _>>()?,
            };
            filters.push(FilterInput {
                property_name: f
                    .property_name
                    .clone()
                    .ok_or_else(|| ApiError::validation("filters[].propertyName is required"))?,
                operator: f.operator.clone().unwrap_or_else(|| "EQ".into()),
                value: text("filters[].value", &f.value)?,
                high_value: text("filters[].highValue", &f.high_value)?,
                values,
            });
        }
        groups.push(filters);
    }
    let req = SearchRequest {
        groups,
        query: input.query.clone(),
        sort: input.sorts.first().map(sort).transpose()?,
        limit,
        offset,
    };
    let (total, records) = s.app.search_records(&actor, kind, &req).await?;
    let shape = Shape::new(&s.app, kind, &input.properties).await?;
    let results: Vec<Value> = records.iter().map(|r| shape.render(r)).collect();
    let mut body = json!({ "total": total, "results": results });
    let next = offset + records.len() as i64;
    if !records.is_empty() && next < total {
        body["paging"] = json!({"next": {"after": next.to_string()}});
    }
    Ok(Json(body))
}
