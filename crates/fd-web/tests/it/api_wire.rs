//! Wire fidelity and bad input: HubSpot's error body on every refusal, never a 500, nothing
//! stored changes; the clients' quirks are accepted; `/openapi.json` covers every route.

use std::collections::BTreeSet;

use fd_testkit::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

use crate::api_common::{Api, ids};

async fn bad_input(t: TestApp) {
    let api = Api::start(t).await;
    let id = api
        .ticket("Keep me", &[("hs_ticket_priority", "LOW")])
        .await;
    let before = api.live_ticket_count().await;
    let raw = |method: Method, path: &str, ct: Option<&str>, body: Vec<u8>| {
        let mut req = api
            .http
            .request(method, format!("{}{path}", api.base))
            .bearer_auth(&api.token)
            .body(body);
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        async move {
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap();
            (status, body)
        }
    };
    let category = |b: &Value| b["category"].as_str().unwrap().to_string();

    // Malformed JSON, and JSON of the wrong shape.
    let (s, b) = raw(
        Method::POST,
        "/crm/v3/objects/tickets",
        Some("application/json"),
        b"{\"properties\":".to_vec(),
    )
    .await;
    assert_eq!((s, category(&b).as_str()), (400, "VALIDATION_ERROR"));
    assert!(b["correlationId"].as_str().is_some());
    let (s, b) = raw(
        Method::POST,
        "/crm/v3/objects/tickets",
        Some("application/json"),
        b"{\"properties\": [1, 2]}".to_vec(),
    )
    .await;
    assert_eq!((s, category(&b).as_str()), (400, "VALIDATION_ERROR"));
    // Not JSON at all.
    let (s, b) = raw(
        Method::POST,
        "/crm/v3/objects/tickets",
        Some("application/x-www-form-urlencoded"),
        b"a=b".to_vec(),
    )
    .await;
    assert_eq!(s, 415);
    assert_eq!(b["status"], "error");
    // Unknown property, bad enumeration option, wrong type (object, not a number).
    let r = api
        .post(
            "/crm/v3/objects/tickets",
            json!({"properties": {"not_a_property": "x"}}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_category(), "VALIDATION_ERROR");
    let msg = r.body["message"].as_str().unwrap();
    assert!(
        msg.contains("not_a_property") && msg.contains("PROPERTY_DOESNT_EXIST"),
        "{msg}"
    );
    let path = format!("/crm/v3/objects/tickets/{id}");
    let r = api
        .patch(
            &path,
            json!({"properties": {"hs_ticket_priority": "SOMEDAY"}}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("INVALID_OPTION")
    );
    let r = api
        .patch(&path, json!({"properties": {"subject": {"nested": true}}}))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_category(), "VALIDATION_ERROR");
    let r = api
        .patch(&path, json!({"properties": {"hs_pipeline_stage": "nope"}}))
        .await;
    assert_eq!(r.status, 400);
    let r = api
        .patch(&path, json!({"properties": {"createdate": "2020-01-01"}}))
        .await;
    assert_eq!(r.status, 400, "read-only: {}", r.body);
    // More than 100 batch inputs; more than 5 filter groups; a second sort; too deep paging.
    let inputs: Vec<Value> = (0..101)
        .map(|i| json!({"properties": {"subject": format!("t{i}"), "hs_pipeline_stage": "1"}}))
        .collect();
    let r = api
        .post(
            "/crm/v3/objects/tickets/batch/create",
            json!({ "inputs": inputs }),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body["message"].as_str().unwrap().contains("100"));
    let group = json!({"filters": [{"propertyName": "subject", "operator": "HAS_PROPERTY"}]});
    let r = api
        .post(
            "/crm/v3/objects/tickets/search",
            json!({"filterGroups": vec![group; 6]}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_category(), "VALIDATION_ERROR");
    assert!(r.body["message"].as_str().unwrap().contains("filterGroups"));
    let r = api
        .post(
            "/crm/v3/objects/tickets/search",
            json!({"sorts": ["subject", "-createdate"]}),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = api
        .post("/crm/v3/objects/tickets/search", json!({"limit": 201}))
        .await;
    assert_eq!(r.status, 400);
    let r = api
        .post(
            "/crm/v3/objects/tickets/search",
            json!({"after": "9995", "limit": 10}),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = api
        .post(
            "/crm/v3/objects/tickets/search",
            json!({"filterGroups": [{"filters": [
            {"propertyName": "nope", "operator": "EQ", "value": "x"}]}]}),
        )
        .await;
    assert_eq!(r.status, 400);
    let r = api
        .post(
            "/crm/v3/objects/tickets/search",
            json!({"filterGroups": [{"filters": [
            {"propertyName": "subject", "operator": "LIKE", "value": "x"}]}]}),
        )
        .await;
    assert_eq!(r.status, 400);
    // An oversized body.
    let huge = vec![b' '; fd_web::MAX_BODY_BYTES + 1024];
    let (s, b) = raw(
        Method::POST,
        "/crm/v3/objects/tickets",
        Some("application/json"),
        huge,
    )
    .await;
    assert_eq!(s, 413);
    assert_eq!(b["status"], "error");
    // Unknown object type, unknown ids, unknown routes, wrong methods.
    let r = api.get("/crm/v3/objects/widgets").await;
    assert_eq!(r.status, 400);
    assert!(r.body["message"].as_str().unwrap().contains("widgets"));
    for p in [
        "/crm/v3/objects/tickets/999999",
        "/crm/v3/objects/tickets/abc",
        "/crm/v3/objects/contacts/424242",
        "/crm/v3/pipelines/tickets/77",
        "/crm/v3/properties/tickets/no_such_property",
        "/crm/v3/owners/999",
        "/conversations/v3/conversations/threads/999",
        "/no/such/route",
    ] {
        let r = api.get(p).await;
        assert_eq!(r.status, 404, "{p}: {}", r.body);
        assert_eq!(r.error_category(), "OBJECT_NOT_FOUND");
    }
    let r = api
        .patch(
            "/crm/v3/objects/tickets/999999",
            json!({"properties": {"subject": "x"}}),
        )
        .await;
    assert_eq!(r.status, 404);
    let r = api.delete("/crm/v3/objects/tickets/999999").await;
    assert_eq!(r.status, 404);
    let r = api.put("/crm/v3/objects/tickets", Some(json!({}))).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.body["status"], "error");
    let r = api
        .send_as(
            Some(&api.token),
            Method::GET,
            "/crm/v3/objects/tickets?limit=1000",
            None,
        )
        .await;
    assert_eq!(r.status, 400);
    let r = api
        .send_as(
            Some(&api.token),
            Method::GET,
            "/crm/v3/objects/tickets?archived=maybe",
            None,
        )
        .await;
    assert_eq!(r.status, 400);
    // Nothing stored changed.
    assert_eq!(api.live_ticket_count().await, before);
    let r = api
        .get(&format!(
            "{path}?properties=subject,hs_ticket_priority,hs_pipeline_stage"
        ))
        .await;
    assert_eq!(r.body["properties"]["subject"], "Keep me");
    assert_eq!(r.body["properties"]["hs_ticket_priority"], "LOW");
    assert_eq!(r.body["properties"]["hs_pipeline_stage"], "1");
}

async fn quirks(t: TestApp) {
    let api = Api::start(t).await;
    let a = api.ticket("Alpha", &[("content", "first")]).await;
    let b = api.ticket("Beta", &[]).await;
    // Python's capitalised booleans, repeated and comma-separated arrays.
    let r = api
        .get("/crm/v3/objects/tickets?limit=10&archived=False&properties=subject&properties=content,hs_pipeline_stage")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(ids(&r.body), vec![a.clone(), b.clone()]);
    let first = &r.body["results"][0]["properties"];
    assert_eq!(first["subject"], "Alpha");
    assert_eq!(first["content"], "first");
    assert_eq!(first["hs_pipeline_stage"], "1");
    assert!(first.get("hs_ticket_priority").is_none());
    // Paging: one per page, following paging.next.after, last page has none.
    let mut seen = Vec::new();
    let mut after = String::new();
    loop {
        let r = api
            .get(&format!("/crm/v3/objects/tickets?limit=1&after={after}"))
            .await;
        seen.extend(ids(&r.body));
        match r.body["paging"]["next"]["after"].as_str() {
            Some(next) => after = next.to_string(),
            None => break,
        }
    }
    assert_eq!(seen, vec![a.clone(), b.clone()]);
    // Owners with and without a trailing slash, and a doubled slash from a base URL.
    for p in [
        "/crm/v3/owners",
        "/crm/v3/owners/",
        "//crm/v3/owners/?limit=100",
    ] {
        let r = api.get(p).await;
        assert_eq!(r.status, 200, "{p}");
        assert_eq!(r.body["results"][0]["email"], "admin@example.com");
    }
    // A body-less PUT with a JSON content type (Python's default association) → 200.
    let contact = api
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "dee@example.com"}}),
        )
        .await;
    assert_eq!(contact.status, 201);
    let cid = contact.body["id"].as_str().unwrap().to_string();
    let res = api
        .http
        .put(format!(
            "{}/crm/v4/objects/tickets/{a}/associations/default/contacts/{cid}",
            api.base
        ))
        .bearer_auth(&api.token)
        .header("content-type", "application/json")
        .header("content-length", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // DELETE with a JSON content type and no body, 204 with an empty body.
    let res = api
        .http
        .delete(format!("{}/crm/v3/objects/tickets/{b}", api.base))
        .bearer_auth(&api.token)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert!(res.bytes().await.unwrap().is_empty());
    // Search takes `{}` and sorts in both forms; `after` may be a number.
    let r = api.post("/crm/v3/objects/tickets/search", json!({})).await;
    assert_eq!(r.body["total"], 1);
    let r = api
        .post("/crm/v3/objects/tickets/search", json!({"sorts": [{"propertyName": "createdate", "direction": "DESCENDING"}], "after": 0}))
        .await;
    assert_eq!(r.status, 200);
    // Numbers and booleans as property values are stringified.
    let r = api
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "num@example.com", "phone": 5551234}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let got = api
        .get(&format!(
            "/crm/v3/objects/contacts/{}?properties=phone",
            r.body["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(got.body["properties"]["phone"], "5551234");
    // Contacts: duplicate email → 409 CONFLICT; idProperty=email.
    let r = api
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "DEE@example.com"}}),
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.error_category(), "CONFLICT");
    let r = api
        .get("/crm/v3/objects/contacts/dee@example.com?idProperty=email")
        .await;
    assert_eq!(r.body["id"], cid);
}

/// Every route the API router registers is documented in `/openapi.json` with its method and
/// every documented operation is a route: the served document's (method, path) pairs are
/// exactly the router's, each of them is served (no route fallback, no 405), and on every
/// documented path the methods it does not document answer 405.
async fn openapi(t: TestApp) {
    let api = Api::start(t).await;
    let doc = api.send_as(None, Method::GET, "/openapi.json", None).await;
    assert_eq!(doc.status, 200);
    assert_eq!(doc.body["openapi"], "3.0.3");
    let routes: BTreeSet<(String, String)> = fd_web::api_routes().into_iter().collect();
    assert!(routes.len() >= 60, "{} routes", routes.len());
    let mut documented = BTreeSet::new();
    for (path, item) in doc.body["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["responses"]["default"].is_object(),
                "{method} {path}: no error response"
            );
            documented.insert((method.clone(), path.clone()));
        }
    }
    assert_eq!(
        routes.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "routes missing from /openapi.json"
    );
    assert_eq!(
        documented.difference(&routes).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "documented operations that are not routes"
    );
    let concrete = |path: &str| {
        path.replace("{objectType}", "tickets")
            .replace("{fromObjectType}", "tickets")
            .replace("{toObjectType}", "contacts")
            .split('/')
            .map(|seg| if seg.starts_with('{') { "12345" } else { seg })
            .collect::<Vec<_>>()
            .join("/")
    };
    let paths: BTreeSet<&String> = documented.iter().map(|(_, p)| p).collect();
    for path in paths {
        for m in [
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ] {
            let method = m.as_str().to_lowercase();
            let is_documented = documented.contains(&(method.clone(), path.clone()));
            let body = matches!(m, Method::POST | Method::PUT | Method::PATCH).then(|| json!({}));
            let url = concrete(path);
            let r = api.send_as(Some(&api.token), m, &url, body).await;
            if !is_documented {
                assert_eq!(r.status, 405, "{method} {url} is served but not documented");
                continue;
            }
            assert_ne!(r.status, 405, "{method} {url}");
            assert!(r.status < 500, "{method} {url}: {}", r.body);
            if r.status == 404 {
                assert!(
                    !r.body["message"]
                        .as_str()
                        .unwrap_or_default()
                        .starts_with("No API route"),
                    "{method} {url} is not routed"
                );
            }
        }
    }
}

fd_testkit::on_both_backends! {
    bad_input_gets_4xx_in_hubspot_shape_and_changes_nothing => bad_input;
    client_quirks_are_accepted => quirks;
    openapi_describes_every_served_route => openapi;
}
