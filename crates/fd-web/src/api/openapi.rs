//! `/openapi.json`, derived with utoipa from the types the handlers answer with: each handler
//! carries a `#[utoipa::path]` annotation, utoipa-axum's `routes!` registers it at exactly the
//! path and methods that annotation documents, and its response bodies are `ToSchema` structs,
//! so the document and the handlers cannot drift apart. The acceptance suite runs schemathesis
//! against this document and checks every response against its schemas.
//!
//! Conventions kept from the hand-written document this replaces:
//! * Size limits (100 batch inputs, 5 filter groups…) are stated in descriptions rather than
//!   `maxItems`: the server answers them with 400, and schemathesis's generator fails building
//!   maximum-size arrays of these objects.
//! * Every operation has a `default` response with HubSpot's error body (`Error` below).
//! * The document is OpenAPI 3.0.3. utoipa 5 writes 3.1 (`"type": ["string", "null"]`,
//!   `oneOf` with `{"type": "null"}`, `propertyNames` on maps); [`to_openapi_30`] rewrites
//!   those into 3.0's `nullable` and drops `propertyNames` and the licence `identifier`.
//!   The API has always served 3.0.3 and its acceptance run (schemathesis's response checks
//!   and stateful links) was established against it; 3.1 would change how nullability is
//!   read without any gain for the clients.
//!
//! Must not decide anything about requests: it only describes the handlers of `api/`.

use std::sync::OnceLock;

use serde_json::{Map, Value, json};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// The root of the derived document: what is not an operation.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Frontdesk HubSpot-compatible API",
        description = "The subset of HubSpot's public API that Frontdesk serves: CRM objects v3 \
            (tickets, contacts, companies, and the calls, notes and emails engagements) with batch \
            and search, pipelines, properties, owners, associations v4, conversations v3 (with \
            thread assignment and FILE attachments), files v3 (uploads to attach), forms v3, public form submissions (no token) and the account's \
            details. Authenticate with a bearer token from `frontdesk admin create-token`; the \
            calling webhook is signed instead.",
    ),
    security(("bearer" = [])),
    modifiers(&BearerScheme),
    components(schemas(ErrorBody, StandardError)),
)]
pub(crate) struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// HubSpot's error body, as `error.rs` writes it for every 4xx and 5xx. It is described here
/// (error.rs builds the body itself) so that every operation's `default` response names it.
#[derive(ToSchema)]
#[schema(as = Error)]
#[allow(dead_code)] // a description only: error.rs writes this body
pub(crate) struct ErrorBody {
    status: String,
    message: String,
    #[schema(rename = "correlationId")]
    correlation_id: String,
    category: String,
    #[schema(rename = "subCategory")]
    #[schema(nullable = false)]
    sub_category: Option<String>,
    #[schema(nullable = false, value_type = Option<Object>)]
    context: Option<Map<String, Value>>,
    #[schema(nullable = false)]
    links: Option<std::collections::BTreeMap<String, String>>,
    #[schema(nullable = false)]
    errors: Option<Vec<ErrorDetail>>,
}

/// One entry of an error's `errors`.
#[derive(ToSchema)]
#[allow(dead_code)] // a description only: error.rs writes this body
pub(crate) struct ErrorDetail {
    message: String,
    #[schema(rename = "in", nullable = false)]
    in_: Option<String>,
    #[schema(nullable = false)]
    code: Option<String>,
    #[schema(rename = "subCategory", nullable = false)]
    sub_category: Option<String>,
    #[schema(nullable = false, value_type = Option<Object>)]
    context: Option<Map<String, Value>>,
}

/// One failed input of a batch (`ApiError::standard_error` in error.rs).
#[derive(ToSchema)]
#[allow(dead_code)] // a description only: error.rs writes this body
pub(crate) struct StandardError {
    status: String,
    category: String,
    message: String,
    #[schema(rename = "subCategory", nullable = false)]
    sub_category: Option<String>,
    #[schema(nullable = false)]
    id: Option<String>,
    #[schema(value_type = Object)]
    context: Map<String, Value>,
    #[schema(value_type = Vec<Object>)]
    errors: Vec<Map<String, Value>>,
    links: std::collections::BTreeMap<String, String>,
}

/// The whole document, built once.
pub fn document() -> Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(build).clone()
}

fn build() -> Value {
    let mut doc = match serde_json::to_value(super::derived_openapi()) {
        Ok(v) => v,
        Err(e) => {
            // Serialising plain data cannot fail; say so loudly if it ever does.
            tracing::error!(error = %e, "the OpenAPI document does not serialise");
            return json!({"openapi": "3.0.3", "paths": {}});
        }
    };
    to_openapi_30(&mut doc);
    fix_links(&mut doc);
    doc["openapi"] = json!("3.0.3");
    // The licence's SPDX `identifier` (from Cargo.toml) is 3.1 only; 3.0 has `name` and `url`.
    if let Some(license) = doc["info"]["license"].as_object_mut() {
        license.remove("identifier");
    }
    add_error_responses(&mut doc);
    doc
}

/// Every operation answers errors in HubSpot's shape.
fn add_error_responses(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for op in item.values_mut() {
            if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
                responses.insert(
                    "default".into(),
                    json!({"description": "an error in HubSpot's shape",
                           "content": {"application/json": {"schema":
                               {"$ref": "#/components/schemas/Error"}}}}),
                );
            }
        }
    }
}

/// utoipa 5 writes a response link's fields in snake case (`operation_id`); OpenAPI (and
/// schemathesis's stateful phase, which follows the links) reads `operationId`.
fn fix_links(v: &mut Value) {
    match v {
        Value::Array(items) => items.iter_mut().for_each(fix_links),
        Value::Object(o) => {
            if let Some(Value::Object(links)) = o.get_mut("links") {
                for link in links.values_mut().filter_map(Value::as_object_mut) {
                    for (from, to) in [
                        ("operation_id", "operationId"),
                        ("operation_ref", "operationRef"),
                        ("request_body", "requestBody"),
                    ] {
                        if let Some(x) = link.remove(from) {
                            link.insert(to.into(), x);
                        }
                    }
                }
            }
            o.values_mut().for_each(fix_links);
        }
        _ => {}
    }
}

/// Rewrites what utoipa 5 writes in OpenAPI 3.1 into 3.0.3:
/// * `"type": ["T", "null"]` becomes `"type": "T", "nullable": true`;
/// * `"oneOf": [{"type": "null"}, X]` becomes X (a `$ref` as `allOf: [X]`) with
///   `"nullable": true`;
/// * `propertyNames` (3.1 only; map keys are strings anyway) is dropped;
/// * a parameter is absent rather than null, so an optional parameter's schema is not
///   nullable.
pub(crate) fn to_openapi_30(v: &mut Value) {
    match v {
        Value::Array(items) => items.iter_mut().for_each(to_openapi_30),
        Value::Object(o) => {
            o.remove("propertyNames");
            if let Some(Value::Array(types)) = o.get("type") {
                let rest: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
                let nullable = rest.len() < types.len();
                match rest.as_slice() {
                    [one] => {
                        o.insert("type".into(), one.clone());
                    }
                    _ => {
                        o.insert("type".into(), Value::Array(rest));
                    }
                }
                if nullable {
                    o.insert("nullable".into(), Value::Bool(true));
                }
            }
            if let Some(Value::Array(alts)) = o.get("oneOf") {
                let null = json!({"type": "null"});
                let rest: Vec<Value> = alts.iter().filter(|a| **a != null).cloned().collect();
                if rest.len() < alts.len() {
                    o.remove("oneOf");
                    o.insert("nullable".into(), Value::Bool(true));
                    match rest.as_slice() {
                        [Value::Object(one)] if one.contains_key("$ref") => {
                            o.insert("allOf".into(), json!([one]));
                        }
                        [Value::Object(one)] => {
                            for (k, x) in one {
                                o.entry(k.clone()).or_insert_with(|| x.clone());
                            }
                        }
                        _ => {
                            o.insert("oneOf".into(), Value::Array(rest));
                        }
                    }
                }
            }
            if o.get("in").and_then(Value::as_str).is_some()
                && let Some(schema) = o.get_mut("schema").and_then(Value::as_object_mut)
            {
                if let Some(Value::Array(types)) = schema.get("type") {
                    let rest: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
                    if let [one] = rest.as_slice() {
                        schema.insert("type".into(), one.clone());
                    }
                }
                if let Some(Value::Array(alts)) = schema.get("oneOf") {
                    let null = json!({"type": "null"});
                    let rest: Vec<Value> = alts.iter().filter(|a| **a != null).cloned().collect();
                    if let [one] = rest.as_slice() {
                        schema.remove("oneOf");
                        schema.insert("allOf".into(), json!([one]));
                    }
                }
            }
            o.values_mut().for_each(to_openapi_30);
        }
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn nullable_types_and_refs_become_openapi_30() {
        let mut v = json!({
            "a": {"type": ["string", "null"]},
            "b": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/X"}]},
            "c": {"type": "object", "propertyNames": {"type": "string"},
                  "additionalProperties": {"type": "string"}},
            "p": {"name": "limit", "in": "query", "schema": {"type": ["integer", "null"]}},
        });
        to_openapi_30(&mut v);
        assert_eq!(v["a"], json!({"type": "string", "nullable": true}));
        assert_eq!(
            v["b"],
            json!({"allOf": [{"$ref": "#/components/schemas/X"}], "nullable": true})
        );
        assert_eq!(
            v["c"],
            json!({"type": "object", "additionalProperties": {"type": "string"}})
        );
        assert_eq!(v["p"]["schema"], json!({"type": "integer"}));
    }

    /// Nothing of OpenAPI 3.1 is left in the served 3.0.3 document.
    #[test]
    fn the_document_is_openapi_30() {
        fn walk(v: &Value, at: &str) {
            match v {
                Value::Object(o) => {
                    for (k, x) in o {
                        assert!(k != "propertyNames" && k != "identifier", "{at}/{k}");
                        if k == "type" {
                            assert!(
                                x.is_string() || at.contains("/properties"),
                                "{at}/type: {x}"
                            );
                        }
                        if k == "oneOf" || k == "anyOf" {
                            let null = json!({"type": "null"});
                            assert!(!x.as_array().unwrap().contains(&null), "{at}/{k}");
                        }
                        walk(x, &format!("{at}/{k}"));
                    }
                }
                Value::Array(items) => items.iter().for_each(|x| walk(x, at)),
                _ => {}
            }
        }
        let doc = document();
        assert_eq!(doc["openapi"], "3.0.3");
        assert_eq!(doc["info"]["title"], "Frontdesk HubSpot-compatible API");
        assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(doc["security"], json!([{"bearer": []}]));
        walk(&doc, "");
    }

    #[test]
    fn links_name_their_operation_in_camel_case() {
        let doc = document();
        let link = &doc["paths"]["/crm/v3/objects/{objectType}"]["post"]["responses"]["201"]["links"]
            ["getObject"];
        assert_eq!(link["operationId"], "getObject");
        assert_eq!(link["parameters"]["objectId"], "$response.body#/id");
        assert!(link.get("operation_id").is_none());
    }
}
