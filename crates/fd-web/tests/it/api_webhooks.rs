//! HubSpot's webhooks v3 management API (HUBSPOT-API-2.md §5.1) as the official clients call
//! it: the developer key in `hapikey` (401 without or with an unknown one, 403 with another
//! app's), settings (200, 404 before any, 204 on clear), subscriptions (201, string ids,
//! PATCH, 204 on delete, batch update with 207 for unknown ids), validation errors in
//! HubSpot's shape, and the routes in `/openapi.json`.

use fd_app::Actor;
use fd_testkit::TestApp;
use reqwest::Method;
use serde_json::json;

use crate::api_common::*;

fd_testkit::on_both_backends! {
    webhooks_management_api_by_developer_key => management;
}

async fn management(t: TestApp) {
    let api = Api::start(t).await;
    let app = api
        .t
        .app
        .create_webhook_app(&Actor::system(), "Sync")
        .await
        .unwrap();
    let other = api
        .t
        .app
        .create_webhook_app(&Actor::system(), "Other")
        .await
        .unwrap();
    let id = app.app.id;
    let key = &app.developer_key;
    let base = format!("/webhooks/v3/{id}");
    let with_key = |path: &str, k: &str| format!("{base}{path}?hapikey={k}");

    // Authentication: the developer key, not a bearer token.
    let r = api
        .send_as(None, Method::GET, &format!("{base}/settings"), None)
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.error_category(), "INVALID_AUTHENTICATION");
    let r = api.get(&format!("{base}/subscriptions")).await;
    assert_eq!(
        r.status, 401,
        "a bearer token is not a developer key: {}",
        r.body
    );
    let r = api
        .send_as(None, Method::GET, &with_key("/settings", "nope"), None)
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
    let r = api
        .send_as(
            None,
            Method::GET,
            &with_key("/settings", &other.developer_key),
            None,
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = api
        .send_as(
            None,
            Method::GET,
            &format!("/webhooks/v3/x1/settings?hapikey={key}"),
            None,
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);

    // Settings.
    let r = api
        .send_as(None, Method::GET, &with_key("/settings", key), None)
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let bad = api
        .send_as(
            None,
            Method::PUT,
            &with_key("/settings", key),
            Some(json!({"targetUrl": "ftp://x", "throttling": {"maxConcurrentRequests": 1}})),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(bad.error_category(), "VALIDATION_ERROR");
    let text = bad.body.to_string();
    assert!(
        text.contains("targetUrl") && text.contains("maxConcurrentRequests"),
        "{text}"
    );
    let r = api
        .send_as(
            None,
            Method::PUT,
            &with_key("/settings", key),
            Some(json!({"targetUrl": "https://hooks.example.com/in", "throttling": {"maxConcurrentRequests": 10}})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["targetUrl"], "https://hooks.example.com/in");
    assert_eq!(r.body["throttling"]["maxConcurrentRequests"], 10);
    assert!(r.body["createdAt"].as_str().unwrap().ends_with('Z'));
    let r = api
        .send_as(None, Method::GET, &with_key("/settings", key), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["throttling"]["maxConcurrentRequests"], 10);

    // Subscriptions.
    let subs = with_key("/subscriptions", key);
    let r = api
        .send_as(
            None,
            Method::POST,
            &subs,
            Some(json!({"eventType": "ticket.propertyChange", "propertyName": "hs_pipeline_stage", "active": true})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let sub_id = r.body["id"].as_str().expect("a string id").to_string();
    assert_eq!(r.body["eventType"], "ticket.propertyChange");
    assert_eq!(r.body["propertyName"], "hs_pipeline_stage");
    assert_eq!(r.body["active"], true);
    let r = api
        .send_as(
            None,
            Method::POST,
            &subs,
            Some(json!({"eventType": "contact.creation"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["active"], false, "off unless asked");
    let second = r.body["id"].as_str().unwrap().to_string();
    for body in [
        json!({"eventType": "deal.creation"}),
        json!({"eventType": "ticket.propertyChange"}),
        json!({"eventType": "ticket.creation", "propertyName": "subject"}),
        json!({}),
    ] {
        let r = api
            .send_as(None, Method::POST, &subs, Some(body.clone()))
            .await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(r.error_category(), "VALIDATION_ERROR");
    }
    let r = api.send_as(None, Method::GET, &subs, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["results"].as_array().unwrap().len(), 2);
    let one = with_key(&format!("/subscriptions/{sub_id}"), key);
    let r = api
        .send_as(None, Method::PATCH, &one, Some(json!({"active": false})))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["active"], false);
    let r = api.send_as(None, Method::GET, &one, None).await;
    assert_eq!((r.status, r.body["active"].clone()), (200, json!(false)));
    // Another app's key cannot see or change this app's subscriptions.
    let r = api
        .send_as(
            None,
            Method::GET,
            &with_key(&format!("/subscriptions/{sub_id}"), &other.developer_key),
            None,
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);

    // Batch update: unknown ids are reported (207), the others changed.
    let batch = with_key("/subscriptions/batch/update", key);
    let r = api
        .send_as(
            None,
            Method::POST,
            &batch,
            Some(json!({"inputs": [{"id": sub_id.parse::<i64>().unwrap(), "active": true}, {"id": second, "active": true}]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "COMPLETE");
    assert_eq!(r.body["results"].as_array().unwrap().len(), 2);
    assert!(
        r.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["active"] == true)
    );
    let r = api
        .send_as(
            None,
            Method::POST,
            &batch,
            Some(json!({"inputs": [{"id": 999999, "active": false}, {"id": second, "active": false}]})),
        )
        .await;
    assert_eq!(r.status, 207, "{}", r.body);
    assert_eq!(r.body["numErrors"], 1);
    assert_eq!(r.body["results"][0]["active"], false);

    let r = api.send_as(None, Method::DELETE, &one, None).await;
    assert_eq!(r.status, 204);
    let r = api.send_as(None, Method::DELETE, &one, None).await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = api
        .send_as(None, Method::DELETE, &with_key("/settings", key), None)
        .await;
    assert_eq!(r.status, 204);
    let r = api
        .send_as(None, Method::GET, &with_key("/settings", key), None)
        .await;
    assert_eq!(r.status, 404);

    // Documented, with the developer key as a query parameter.
    let doc = api.get("/openapi.json").await;
    let paths = &doc.body["paths"];
    for (path, method) in [
        ("/webhooks/v3/{appId}/settings", "put"),
        ("/webhooks/v3/{appId}/settings", "delete"),
        ("/webhooks/v3/{appId}/subscriptions", "post"),
        (
            "/webhooks/v3/{appId}/subscriptions/{subscriptionId}",
            "patch",
        ),
        ("/webhooks/v3/{appId}/subscriptions/batch/update", "post"),
    ] {
        let op = &paths[path][method];
        assert!(op.is_object(), "{method} {path}");
        assert!(
            op["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "hapikey" && p["in"] == "query"),
            "{method} {path}"
        );
    }
}
