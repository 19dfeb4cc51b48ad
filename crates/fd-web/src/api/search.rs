//! `POST /crm/v3/objects/{objectType}/search`: filter groups, `query`, one sort (as
//! `"-createdate"` or `{"propertyName", "direction"}`), `limit`/`after`, and the total.

use axum::Json;
use axum::extract::{Path, State};
use fd_app::{FilterInput, SearchRequest};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::objects::{Shape, SimplePublicObject};
use super::{Auth, Body, CrmObjectType, Paging, crm_type, scalar_string};
use crate::{ApiError, WebState};

pub(super) fn routes() -> OpenApiRouter<WebState> {
    OpenApiRouter::new().routes(routes!(search))
}

/// One filter; values may be sent as strings or numbers.
#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Filter)]
struct FilterIn {
    #[schema(required = true, nullable = false)]
    #[serde(default)]
    property_name: Option<String>,
    #[schema(value_type = Option<FilterOperator>, required = true, nullable = false)]
    #[serde(default)]
    operator: Option<String>,
    #[schema(value_type = Option<String>, nullable = false)]
    #[serde(default)]
    value: Option<Value>,
    #[schema(value_type = Option<String>, nullable = false)]
    #[serde(default)]
    high_value: Option<Value>,
    #[schema(value_type = Option<Vec<String>>, nullable = false)]
    #[serde(default)]
    values: Option<Vec<Value>>,
}

/// The operators the store's search understands.
#[derive(ToSchema)]
#[schema(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(dead_code)] // a request field's description: fd-app reads the operator's text
enum FilterOperator {
    Eq,
    Neq,
    Lt,
    Lte,
    Gt,
    Gte,
    Between,
    In,
    NotIn,
    HasProperty,
    NotHasProperty,
    ContainsToken,
    NotContainsToken,
}

#[derive(Deserialize, Default, ToSchema)]
struct GroupIn {
    #[schema(required = true)]
    #[serde(default)]
    filters: Vec<FilterIn>,
}

/// One sort: a property name (`-` in front for descending) or
/// `{"propertyName", "direction"}`; `sort` reads it from the JSON value.
#[allow(dead_code)] // a request field's description, never built
struct SortIn;

impl PartialSchema for SortIn {
    fn schema() -> RefOr<Schema> {
        let direction = ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(["ASCENDING", "DESCENDING"]));
        let object = ObjectBuilder::new()
            .schema_type(Type::Object)
            .property(
                "propertyName",
                ObjectBuilder::new().schema_type(Type::String),
            )
            .required("propertyName")
            .property("direction", direction);
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::String))
            .item(object)
            .into()
    }
}

impl ToSchema for SortIn {}

#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SearchRequest)]
pub(super) struct SearchIn {
    #[schema(nullable = false)]
    #[serde(default)]
    query: Option<String>,
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 200, nullable = false)]
    #[serde(default)]
    limit: Option<Value>,
    #[schema(value_type = Option<String>, nullable = false)]
    #[serde(default)]
    after: Option<Value>,
    /// at most one sort
    #[schema(value_type = Vec<SortIn>, inline)]
    #[serde(default)]
    sorts: Vec<Value>,
    #[serde(default)]
    pub(super) properties: Vec<String>,
    /// at most 5 groups of at most 6 filters, 18 filters in all
    #[schema(inline)]
    #[serde(default)]
    filter_groups: Vec<GroupIn>,
}

/// One page of matches and how many there are in all.
#[derive(Serialize, ToSchema)]
pub(super) struct SearchResponse {
    pub(super) total: i64,
    pub(super) results: Vec<SimplePublicObject>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub(super) paging: Option<Paging>,
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

#[utoipa::path(
    post,
    path = "/crm/v3/objects/{objectType}/search",
    operation_id = "searchObjects",
    tag = "search",
    summary = "Search records",
    params(("objectType" = inline(CrmObjectType), Path)),
    request_body = SearchIn,
    responses((status = 200, description = "success", body = SearchResponse)),
)]
async fn search(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(object_type): Path<String>,
    Body(input): Body<SearchIn>,
) -> Result<Json<SearchResponse>, ApiError> {
    let kind = crm_type(&object_type)?;
    let req = request(&input)?;
    let offset = req.offset;
    let (total, records) = s.app.search_records(&actor, kind, &req).await?;
    let shape = Shape::new(&s.app, kind, &input.properties).await?;
    let results = records.iter().map(|r| shape.render(r)).collect();
    let next = offset + records.len() as i64;
    let paging = (!records.is_empty() && next < total).then(|| Paging::after(next));
    Ok(Json(SearchResponse {
        total,
        results,
        paging,
    }))
}

/// The use cases' search request from the body (one sort, integers, filter values as text).
pub(super) fn request(input: &SearchIn) -> Result<SearchRequest, ApiError> {
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
    Ok(req)
}
