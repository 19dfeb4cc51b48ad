//! The HubSpot-compatible REST API (HUBSPOT-API.md): CRM objects v3 with batch and search,
//! pipelines, properties, owners, associations v4 and conversations v3. Every handler
//! authenticates the bearer token into an [`Actor`] and calls a use case of [`fd_app::App`];
//! nothing here decides a rule of SPEC.md.
//!
//! Wire quirks the official clients need live here: exact success codes, case-insensitive
//! booleans, repeated or comma-separated array parameters, empty JSON bodies.

mod associations;
mod automation;
mod calling;
mod conversations;
pub(crate) mod files;
mod forms;
mod objects;
pub(crate) mod openapi;
mod owners;
mod pipelines;
mod properties;
mod reports;
mod search;
mod suggestions;
mod thread_assignee;
mod ticket_unmerge;
mod users;
mod views;
mod visitor_identification;
mod webhooks;

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use fd_app::Actor;
use fd_app::domain::ObjectType;
use fd_app::domain::property::format_time;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::{OpenApi, PartialSchema, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use crate::{ApiError, WebState};

pub(crate) use forms::{peer_ip as form_peer_ip, values_from_pairs as form_values_from_pairs};
pub(crate) use users::method_not_allowed as users_method_not_allowed;

/// Every API route with its OpenAPI operation: utoipa-axum's `routes!` registers each handler
/// at the path and methods of its `#[utoipa::path]`, and the same annotation is its operation
/// in the document, so what is served and what is documented are one list. Add routes here
/// only through `routes!`; a plain `.route()` would be served but not documented.
fn api() -> OpenApiRouter<WebState> {
    // The root first: merging keeps the receiving document's `info` and `security`.
    route_files().into_iter().fold(
        OpenApiRouter::with_openapi(openapi::ApiDoc::openapi()),
        |api, (_, file)| api.merge(file),
    )
}

/// Each route file's routes, by name.
fn route_files() -> [(&'static str, OpenApiRouter<WebState>); 19] {
    [
        ("files", files::routes()),
        ("users", users::routes()),
        ("calling", calling::routes()),
        ("thread_assignee", thread_assignee::routes()),
        ("objects", objects::routes()),
        ("search", search::routes()),
        ("pipelines", pipelines::routes()),
        ("properties", properties::routes()),
        ("owners", owners::routes()),
        ("associations", associations::routes()),
        ("conversations", conversations::routes()),
        ("forms", forms::routes()),
        ("visitor_identification", visitor_identification::routes()),
        ("ticket_unmerge", ticket_unmerge::routes()),
        ("automation", automation::routes()),
        ("suggestions", suggestions::routes()),
        ("reports", reports::routes()),
        ("views", views::routes()),
        ("webhooks", webhooks::routes()),
    ]
}

pub(crate) fn routes() -> Router<WebState> {
    api().split_for_parts().0
}

/// Every API route as a (method, path) pair in OpenAPI's spelling, as `routes!` registered
/// it. The served document must list exactly these (fd-web's tests).
pub fn route_list() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, item) in api().into_openapi().paths.paths {
        let methods = [
            ("get", item.get.is_some()),
            ("put", item.put.is_some()),
            ("post", item.post.is_some()),
            ("delete", item.delete.is_some()),
            ("options", item.options.is_some()),
            ("head", item.head.is_some()),
            ("patch", item.patch.is_some()),
            ("trace", item.trace.is_some()),
        ];
        for (method, present) in methods {
            if present {
                out.push((method.to_string(), path.clone()));
            }
        }
    }
    out
}

/// The document derived from the routes (OpenAPI 3.1 as utoipa writes it).
pub(crate) fn derived_openapi() -> utoipa::openapi::OpenApi {
    api().into_openapi()
}

/// The actor a request's bearer token stands for (HD-05 and HD-09 apply to it).
pub(crate) struct Auth(pub Actor);

impl FromRequestParts<WebState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(ApiError::unauthenticated)?;
        let (scheme, token) = header
            .trim()
            .split_once(' ')
            .ok_or_else(ApiError::unauthenticated)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(ApiError::unauthenticated());
        }
        Ok(Auth(state.app.actor_for_token(token.trim()).await?))
    }
}

/// Query parameters, keeping repeated keys (`properties=a&properties=b`).
pub(crate) struct Params(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str::<Vec<(String, String)>>(q)
            .map(Params)
            .map_err(|e| ApiError::validation(format!("Invalid query string: {e}")))
    }
}

impl Params {
    /// The last value given for `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value for `key`, repeated or comma-separated, without empties or duplicates.
    pub fn list(&self, key: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (k, v) in &self.0 {
            if k == key {
                for part in v.split(',') {
                    let part = part.trim();
                    if !part.is_empty() && !out.iter().any(|x| x == part) {
                        out.push(part.to_string());
                    }
                }
            }
        }
        out
    }

    /// A boolean in any letter case (`archived=False` from Python, `false` from Node).
    pub fn bool(&self, key: &str, default: bool) -> Result<bool, ApiError> {
        match self.get(key).map(str::trim) {
            None | Some("") => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(ApiError::validation(format!(
                "Query parameter {key}={v:?} is not a boolean (true or false)"
            ))),
        }
    }

    /// An integer within `min..=max`.
    pub fn int(&self, key: &str, default: i64, min: i64, max: i64) -> Result<i64, ApiError> {
        match self.get(key).map(str::trim) {
            None | Some("") => Ok(default),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(ApiError::validation(format!(
                    "Query parameter {key}={v:?} must be an integer from {min} to {max}"
                ))),
            },
        }
    }

    /// An integer paging cursor (`after`); empty or absent is the start.
    pub fn cursor(&self, key: &str) -> Result<i64, ApiError> {
        match self.get(key).map(str::trim) {
            None | Some("") => Ok(0),
            Some(v) => v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                ApiError::validation(format!(
                    "Query parameter {key}={v:?} is not a paging cursor"
                ))
            }),
        }
    }
}

/// A JSON body. An empty body (which the Python client sends with a JSON content type) reads
/// as `T::default()`; anything else must be JSON and parse into `T`.
pub(crate) struct Body<T>(pub T);

impl<T, S> FromRequest<S> for Body<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase);
        let bytes = Bytes::from_request(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body(T::default()));
        }
        if let Some(ct) = content_type
            && !(ct.starts_with("application/json") || ct.contains("+json"))
        {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                format!("Expected a JSON body (Content-Type: application/json), got {ct:?}"),
            ));
        }
        Ok(Body(serde_json::from_slice(&bytes)?))
    }
}

/// An id in a path: canonical digits only (`fd_domain::text::parse_id`); anything else,
/// `01`, `+1` or `1%20` included, names no record (Hardening finding 8).
pub(crate) fn parse_id(kind: &str, raw: &str) -> Result<i64, ApiError> {
    fd_app::domain::text::parse_id(raw)
        .ok_or_else(|| ApiError::not_found(format!("{kind} {raw:?} not found: ids are numeric")))
}

/// An id in a body (`to.id`, `inputs[].id`…): a JSON integer or a canonical digit string,
/// as HubSpot's clients send both; `None` for anything else.
pub(crate) fn body_id(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().filter(|n| *n >= 0),
        Value::String(s) => fd_app::domain::text::parse_id(s),
        _ => None,
    }
}

/// An object type in a path: plural or singular name, or HubSpot's type id.
pub(crate) fn object_type(raw: &str) -> Result<ObjectType, ApiError> {
    Ok(match raw.trim().to_ascii_lowercase().as_str() {
        "tickets" | "ticket" | "0-5" => ObjectType::Ticket,
        "contacts" | "contact" | "0-1" => ObjectType::Contact,
        "companies" | "company" | "0-2" => ObjectType::Company,
        "deals" | "deal" | "0-3" => ObjectType::Deal,
        "threads" | "thread" | "conversations" | "conversation" => ObjectType::Conversation,
        "calls" | "call" | "0-48" => ObjectType::Call,
        "notes" | "note" | "0-46" => ObjectType::Note,
        "emails" | "email" | "0-49" => ObjectType::Email,
        _ => {
            return Err(ApiError::validation(format!(
                "Unable to infer object type from: {raw}"
            )));
        }
    })
}

/// An object type served by the CRM object, search and properties APIs.
pub(crate) fn crm_type(raw: &str) -> Result<ObjectType, ApiError> {
    // The users object has its own routes (`users.rs`); what reaches the generic ones with
    // it is what users do not offer.
    if matches!(
        raw.trim().to_ascii_lowercase().as_str(),
        "users" | "user" | "0-115"
    ) {
        return Err(ApiError::validation(
            "The users object offers reads, updates, batch read and update, and search at /crm/v3/objects/users: users are created and deactivated in Settings → Users",
        ));
    }
    match object_type(raw)? {
        t @ (ObjectType::Ticket
        | ObjectType::Contact
        | ObjectType::Company
        | ObjectType::Call
        | ObjectType::Note
        | ObjectType::Email) => Ok(t),
        _ => Err(ApiError::validation(format!(
            "Unable to infer object type from: {raw} (this server serves tickets, contacts, companies, calls, notes and emails)"
        ))),
    }
}

/// HubSpot's object type id (`0-5` for tickets…).
pub(crate) fn type_id(kind: ObjectType) -> &'static str {
    match kind {
        ObjectType::Contact => "0-1",
        ObjectType::Company => "0-2",
        ObjectType::Deal => "0-3",
        ObjectType::Ticket => "0-5",
        ObjectType::Conversation => "0-11",
        ObjectType::Note => "0-46",
        ObjectType::Call => "0-48",
        ObjectType::Email => "0-49",
    }
}

pub(crate) fn singular(kind: ObjectType) -> &'static str {
    match kind {
        ObjectType::Ticket => "ticket",
        ObjectType::Contact => "contact",
        ObjectType::Company => "company",
        ObjectType::Deal => "deal",
        ObjectType::Conversation => "thread",
        ObjectType::Call => "call",
        ObjectType::Note => "note",
        ObjectType::Email => "email",
    }
}

/// A timestamp on the wire: `format_time`'s ISO 8601 in UTC with milliseconds
/// (`2026-01-05T10:00:00.000Z`), a `date-time` string in the document.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(transparent)]
pub(crate) struct Time(String);

impl Time {
    pub fn at(ms: i64) -> Self {
        Time(format_time(ms))
    }
}

impl PartialSchema for Time {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .into()
    }
}

impl ToSchema for Time {}

/// `paging.next.after`: where the next page starts, present only when there is one.
#[derive(Serialize, ToSchema, Debug)]
pub(crate) struct Paging {
    pub next: PagingNext,
}

#[derive(Serialize, ToSchema, Debug)]
pub(crate) struct PagingNext {
    pub after: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub link: Option<String>,
}

impl Paging {
    /// A `paging` member for a page that has more after it.
    pub fn after(after: impl ToString) -> Self {
        Paging {
            next: PagingNext {
                after: after.to_string(),
                link: None,
            },
        }
    }
}

/// Property values as the clients send them: strings, or numbers and booleans to stringify;
/// `null` clears. Objects and arrays are refused.
pub(crate) fn property_strings(
    raw: &BTreeMap<String, Value>,
) -> Result<BTreeMap<String, String>, ApiError> {
    let mut out = BTreeMap::new();
    let mut bad = Vec::new();
    for (k, v) in raw {
        match v {
            Value::String(s) => {
                out.insert(k.clone(), s.clone());
            }
            Value::Number(n) => {
                out.insert(k.clone(), n.to_string());
            }
            Value::Bool(b) => {
                out.insert(k.clone(), b.to_string());
            }
            Value::Null => {
                out.insert(k.clone(), String::new());
            }
            _ => bad.push(k.clone()),
        }
    }
    if bad.is_empty() {
        Ok(out)
    } else {
        Err(ApiError::validation(format!(
            "Property values must be strings, numbers or booleans: {}",
            bad.join(", ")
        ))
        .with_context(serde_json::json!({"properties": bad})))
    }
}

/// A JSON scalar as text (ids and filter values may come as numbers).
pub(crate) fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A batch answer: `{"status":"COMPLETE","results":…,"startedAt":…,"completedAt":…}` plus
/// the errors of a partial failure.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BatchResponse<T> {
    pub status: BatchStatus,
    pub results: Vec<T>,
    pub started_at: Time,
    pub completed_at: Time,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub num_errors: Option<usize>,
    /// `ApiError::standard_error` of each failed input.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, value_type = Option<Vec<openapi::StandardError>>)]
    pub errors: Option<Vec<Value>>,
}

/// Batches here run to completion within the request.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub(crate) enum BatchStatus {
    Complete,
}

/// The batch answer for `results` and `errors`; the status code is 207 when there are errors.
pub(crate) fn batch_response<T: Serialize>(
    started: i64,
    finished: i64,
    results: Vec<T>,
    errors: Vec<ApiError>,
    ok: StatusCode,
) -> (StatusCode, axum::Json<BatchResponse<T>>) {
    let mut body = BatchResponse {
        status: BatchStatus::Complete,
        results,
        started_at: Time::at(started),
        completed_at: Time::at(finished),
        num_errors: None,
        errors: None,
    };
    if errors.is_empty() {
        return (ok, axum::Json(body));
    }
    body.num_errors = Some(errors.len());
    body.errors = Some(errors.iter().map(ApiError::standard_error).collect());
    (StatusCode::MULTI_STATUS, axum::Json(body))
}

/// The object types of the CRM object, search and properties paths, as documented
/// (`crm_type` also takes singular names and type ids).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // a parameter's description: handlers read the path with `crm_type`
pub(crate) enum CrmObjectType {
    Tickets,
    Contacts,
    Companies,
    Calls,
    Notes,
    Emails,
}

/// HubSpot's limit on batch inputs.
pub(crate) const MAX_BATCH: usize = 100;

pub(crate) fn check_batch_size(n: usize) -> Result<(), ApiError> {
    if n > MAX_BATCH {
        return Err(ApiError::validation(format!(
            "Too many inputs: {n} were given, at most {MAX_BATCH} are allowed per batch"
        ))
        .with_context(serde_json::json!({"inputs": [n.to_string()]})));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Merging route files keeps one schema per component name, so two types with the same
    /// name in different files would silently document one file's body with the other's.
    #[test]
    fn component_names_mean_one_schema_across_route_files() {
        let mut seen: BTreeMap<String, (&str, Value)> = BTreeMap::new();
        let root = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi());
        for (file, router) in [("openapi", root)].into_iter().chain(route_files()) {
            let components = router.get_openapi().components.clone().unwrap_or_default();
            for (name, schema) in components.schemas {
                let schema = serde_json::to_value(schema).unwrap();
                match seen.get(&name) {
                    Some((other, known)) => {
                        assert_eq!(known, &schema, "{name} differs in {file} and {other}")
                    }
                    None => {
                        seen.insert(name, (file, schema));
                    }
                }
            }
        }
        assert!(seen.contains_key("SimplePublicObject") && seen.contains_key("Error"));
    }
}
