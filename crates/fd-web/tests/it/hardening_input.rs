//! Hardening findings 6 and 8 (bad input and loose parsing): each scenario first reproduced
//! the finding, then holds the fix. No bad input may produce a 5xx, a refused write leaves
//! nothing behind, every response carries the security headers, ids have one spelling, and
//! names refuse control characters.

use fd_testkit::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::api_common::Api;
use crate::ui_common::{Browser, serve};

fd_testkit::on_both_backends! {
    finding6_in_filter_values_are_capped_before_the_database => in_filter_values_capped;
    finding6_contains_token_length_is_capped => contains_token_length_capped;
    finding6_saved_view_with_line_breaks_is_refused_and_not_stored => saved_view_line_breaks;
    finding8_csrf_origin_check_compares_the_whole_origin => csrf_whole_origin;
    finding8_security_headers_on_every_response => security_headers_everywhere;
    finding8_strict_ids_api_path => strict_ids_api_path;
    finding8_strict_ids_api_body => strict_ids_api_body;
    finding8_strict_ids_ui_path_and_form => strict_ids_ui;
    finding8_names_refuse_control_characters => names_refuse_controls;
    hostile_values_never_produce_a_5xx => hostile_battery;
}

fn in_filter(n: usize, op: &str) -> Value {
    let values: Vec<String> = (0..n).map(|i| format!("v{i}")).collect();
    json!({"filterGroups": [{"filters": [
        {"propertyName": "subject", "operator": op, "values": values}
    ]}]})
}

async fn in_filter_values_capped(t: TestApp) {
    let api = Api::start(t).await;
    api.ticket("Kept", &[]).await;
    for op in ["IN", "NOT_IN"] {
        // 996 values made SQLite refuse the statement ("Expression tree is too large": 500).
        for n in [101, 996, 5000] {
            let r = api
                .post("/crm/v3/objects/tickets/search", in_filter(n, op))
                .await;
            assert_eq!(r.status, 400, "{op} with {n} values: {}", r.body);
            assert_eq!(r.error_category(), "VALIDATION_ERROR");
            assert!(
                r.body["message"].as_str().unwrap().contains("100 values"),
                "{}",
                r.body
            );
        }
        // HubSpot's cap itself is accepted.
        let r = api
            .post("/crm/v3/objects/tickets/search", in_filter(100, op))
            .await;
        assert_eq!(r.status, 200, "{op} with 100 values: {}", r.body);
    }
}

async fn contains_token_length_capped(t: TestApp) {
    let api = Api::start(t).await;
    for (op, len) in [
        ("CONTAINS_TOKEN", 49_999),
        ("NOT_CONTAINS_TOKEN", 60_000),
        ("EQ", 3_001),
    ] {
        let r = api
            .post(
                "/crm/v3/objects/tickets/search",
                json!({"filterGroups": [{"filters": [
                    {"propertyName": "subject", "operator": op, "value": "x".repeat(len)}
                ]}]}),
            )
            .await;
        assert_eq!(r.status, 400, "{op} of {len} characters: {}", r.body);
        assert_eq!(r.error_category(), "VALIDATION_ERROR");
    }
    let r = api
        .post(
            "/crm/v3/objects/tickets/search",
            json!({"filterGroups": [{"filters": [
                {"propertyName": "subject", "operator": "CONTAINS_TOKEN", "value": "*x".repeat(1_500)}
            ]}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn saved_view_line_breaks(t: TestApp) {
    t.admin("root@example.com").await;
    let base = serve(&t).await;
    let b = Browser::login(&base, "root@example.com").await;
    for query in [
        "view=open\r\nSet-Cookie: x=1",
        "view=open\n",
        "view=open\0",
        "view=open q",
    ] {
        let r = b
            .post(
                "/helpdesk/views",
                &[("name", "Broken view"), ("query", query)],
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query:?}: {}", r.body);
    }
    for name in ["Bad\0name", "Bad\r\nname"] {
        let r = b
            .post("/helpdesk/views", &[("name", name), ("query", "view=open")])
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{name:?}: {}", r.body);
    }
    // Nothing was stored.
    let list = b.get("/helpdesk").await;
    assert!(!list.body.contains("Broken view"), "{}", list.body);
    assert!(!list.body.contains("Bad"), "a refused view was stored");
    // A proper one still saves.
    let ok = b
        .post(
            "/helpdesk/views",
            &[("name", "Fine"), ("query", "view=open&q=caf%C3%A9")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
}

async fn csrf_whole_origin(t: TestApp) {
    t.admin("root@example.com").await;
    let base = serve(&t).await;
    let b = Browser::login(&base, "root@example.com").await;
    let host = base.trim_start_matches("http://").to_string();
    let port: u16 = host.rsplit(':').next().unwrap().parse().unwrap();
    let other_port = format!("http://127.0.0.1:{}", port.wrapping_add(1).max(1));
    let https = format!("https://{host}");
    let csrf = b.csrf.clone();
    let fields = [("_csrf", csrf.as_str()), ("name", "Origin team")];
    // Same host, other scheme or port: another origin (RFC 6454), refused.
    for origin in [
        https.as_str(),
        other_port.as_str(),
        "null",
        "http://",
        "garbage",
    ] {
        let r = b
            .post_raw("/settings/teams", &fields, &[("origin", origin)])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "Origin {origin}");
    }
    // Our own origin, and https behind a proxy that says so.
    let r = b
        .post_raw("/settings/teams", &fields, &[("origin", base.as_str())])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let fields = [("_csrf", csrf.as_str()), ("name", "Proxied team")];
    let r = b
        .post_raw(
            "/settings/teams",
            &fields,
            &[("origin", https.as_str()), ("x-forwarded-proto", "https")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

fn assert_security_headers(what: &str, h: &reqwest::header::HeaderMap) {
    assert_eq!(
        h.get("x-content-type-options").map(|v| v.to_str().unwrap()),
        Some("nosniff"),
        "{what}"
    );
    let referrer = h.get("referrer-policy").map(|v| v.to_str().unwrap());
    assert!(
        matches!(referrer, Some("same-origin" | "no-referrer")),
        "{what}: {referrer:?}"
    );
    assert!(h.get("x-frame-options").is_some(), "{what}");
    assert!(h.get("content-security-policy").is_some(), "{what}");
    assert_eq!(
        h.get("cross-origin-opener-policy")
            .map(|v| v.to_str().unwrap()),
        Some("same-origin"),
        "{what}"
    );
}

async fn security_headers_everywhere(t: TestApp) {
    let api = Api::start(t).await;
    let base = api.base.clone();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let bearer = format!("Bearer {}", api.token);
    let cases: &[(&str, Method, &str, bool)] = &[
        ("API read", Method::GET, "/crm/v3/objects/tickets", true),
        (
            "API 404",
            Method::GET,
            "/crm/v3/objects/tickets/999999",
            true,
        ),
        ("API 401", Method::GET, "/crm/v3/objects/tickets", false),
        ("unknown route", Method::GET, "/no/such/route", false),
        ("wrong method", Method::DELETE, "/healthz", false),
        ("health", Method::GET, "/healthz", false),
        ("openapi", Method::GET, "/openapi.json", false),
        ("login page", Method::GET, "/login", false),
        ("redirect to sign-in", Method::GET, "/helpdesk", false),
        ("asset", Method::GET, "/assets/app.js", false),
        ("missing asset", Method::GET, "/assets/nope.js", false),
        (
            "mail frame 404",
            Method::GET,
            "/mail/messages/1/html",
            false,
        ),
    ];
    for (what, method, path, auth) in cases {
        let mut rq = http.request(method.clone(), format!("{base}{path}"));
        if *auth {
            rq = rq.header("authorization", &bearer);
        }
        let r = rq.send().await.unwrap();
        assert!(r.status().as_u16() < 500, "{what}: {}", r.status());
        assert_security_headers(what, r.headers());
    }
    // A signed-in UI page keeps its own policy.
    api.t
        .agent(
            "ann@example.com",
            fd_app::domain::TicketAccessLevel::All,
            &[],
        )
        .await;
    let b = Browser::login(&base, "ann@example.com").await;
    let page = b.get("/helpdesk").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_security_headers("UI page", &page.headers);
    assert_eq!(page.headers.get("x-frame-options").unwrap(), "DENY");
}

async fn strict_ids_api_path(t: TestApp) {
    let api = Api::start(t).await;
    let id = api.ticket("Only one spelling", &[]).await;
    assert_eq!(
        api.get(&format!("/crm/v3/objects/tickets/{id}"))
            .await
            .status,
        200
    );
    for bad in [
        format!("0{id}"),
        format!("%2B{id}"),
        format!("{id}%20"),
        format!("%20{id}"),
        format!("{id}.0"),
        format!("-{id}"),
        "99999999999999999999999".to_string(),
    ] {
        let r = api.get(&format!("/crm/v3/objects/tickets/{bad}")).await;
        assert_eq!(r.status, 404, "{bad}: {}", r.body);
        assert_eq!(r.error_category(), "OBJECT_NOT_FOUND");
        let r = api
            .patch(
                &format!("/crm/v3/objects/tickets/{bad}"),
                json!({"properties": {"subject": "changed"}}),
            )
            .await;
        assert!(r.status == 404 || r.status == 400, "{bad}: {}", r.body);
        let r = api
            .get(&format!(
                "/crm/v4/objects/tickets/{bad}/associations/contacts"
            ))
            .await;
        assert!(r.status == 404 || r.status == 400, "{bad}: {}", r.body);
    }
    let r = api.get(&format!("/crm/v3/objects/tickets/{id}")).await;
    assert_eq!(r.body["properties"]["subject"], "Only one spelling");
    // Ids in query strings: an association filter and a thread listing's contact.
    for bad in [format!("0{id}"), format!("+{id}"), format!(" {id}")] {
        let r = api
            .post(
                "/crm/v3/objects/contacts/search",
                json!({"filterGroups": [{"filters": [
                    {"propertyName": "associations.ticket", "operator": "EQ", "value": bad}
                ]}]}),
            )
            .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        let r = api
            .get(&format!(
                "/conversations/v3/conversations/threads?threadStatus=OPEN&associatedContactId=0{id}"
            ))
            .await;
        assert_eq!(r.status, 400, "{}", r.body);
    }
}

async fn strict_ids_api_body(t: TestApp) {
    let api = Api::start(t).await;
    let id = api.ticket("Body ids", &[]).await;
    let n: i64 = id.parse().unwrap();
    // HubSpot's clients send ids as strings and as numbers: both canonical forms work.
    for good in [json!(id), json!(n)] {
        let r = api
            .post(
                "/crm/v3/objects/tickets/batch/read",
                json!({"inputs": [{"id": good}], "properties": ["subject"]}),
            )
            .await;
        assert_eq!(r.status, 200, "{good}: {}", r.body);
        assert_eq!(r.body["results"][0]["id"], id.as_str());
    }
    for bad in [
        json!(format!("0{id}")),
        json!(format!("+{id}")),
        json!(format!("{id} ")),
        json!(format!("{n}.0")),
        json!(-n),
        json!(1.5),
    ] {
        let r = api
            .post(
                "/crm/v3/objects/tickets/batch/read",
                json!({"inputs": [{"id": bad}], "properties": ["subject"]}),
            )
            .await;
        assert!(r.status < 500, "{bad}: {}", r.body);
        assert_eq!(
            r.body["results"].as_array().map(Vec::len).unwrap_or(0),
            0,
            "{bad} read a record: {}",
            r.body
        );
        let r = api
            .post(
                "/crm/v3/objects/contacts",
                json!({"properties": {"email": format!("c{}@example.com", r.status)},
                       "associations": [{"to": {"id": bad},
                         "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 16}]}]}),
            )
            .await;
        assert_eq!(r.status, 400, "association to {bad}: {}", r.body);
    }
}

async fn strict_ids_ui(t: TestApp) {
    let (_, tk) = crate::ui_helpdesk::inbound(&t, "UI ids").await;
    t.admin("root@example.com").await;
    let base = serve(&t).await;
    let b = Browser::login(&base, "root@example.com").await;
    assert_eq!(
        b.get(&format!("/helpdesk/tickets/{tk}")).await.status,
        StatusCode::OK
    );
    for bad in [format!("0{tk}"), format!("%2B{tk}"), format!("{tk}%20")] {
        let r = b.get(&format!("/helpdesk/tickets/{bad}")).await;
        assert!(
            r.status == StatusCode::NOT_FOUND || r.status == StatusCode::BAD_REQUEST,
            "{bad}: {}",
            r.status
        );
        let r = b.get(&format!("/tickets/{bad}")).await;
        assert!(
            r.status == StatusCode::NOT_FOUND || r.status == StatusCode::BAD_REQUEST,
            "{bad}: {}",
            r.status
        );
    }
    // A form field id: a team member "01" is refused, not read as user 1.
    let team = t.team("Form ids").await;
    let (user, _) = t
        .agent(
            "member@example.com",
            fd_app::domain::TicketAccessLevel::All,
            &[],
        )
        .await;
    let padded = format!("0{}", user.id);
    let r = b
        .post(
            &format!("/settings/teams/{team}"),
            &[("action", "add_member"), ("user", padded.as_str())],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
}

async fn names_refuse_controls(t: TestApp) {
    t.admin("root@example.com").await;
    let base = serve(&t).await;
    let b = Browser::login(&base, "root@example.com").await;
    for bad in ["Ops\0", "Ops\r\nX-Evil: 1", "Ops\u{7}", "Tab\there"] {
        let r = b.post("/settings/teams", &[("name", bad)]).await;
        assert_eq!(
            r.status,
            StatusCode::BAD_REQUEST,
            "team {bad:?}: {}",
            r.body
        );
        assert!(r.body.contains("control characters"), "{}", r.body);
        let r = b
            .post(
                "/settings/users",
                &[
                    ("name", bad),
                    ("email", "nul@example.com"),
                    ("password", "long enough password"),
                    ("role", "agent"),
                    ("ticket_access", "all"),
                    ("seat", "service"),
                ],
            )
            .await;
        // The users page shows the refusal in place.
        assert_ne!(r.status, StatusCode::SEE_OTHER, "user {bad:?} was created");
        assert!(r.status.as_u16() < 500, "user {bad:?}: {}", r.status);
        assert!(r.body.contains("control characters"), "{}", r.body);
    }
    let system = fd_app::Actor::system();
    assert!(
        t.app
            .user_by_email("nul@example.com")
            .await
            .unwrap()
            .is_none()
    );
    assert!(t.app.create_team(&system, "Ops\0").await.is_err());
    assert!(t.app.create_team(&system, "Ops ✓").await.is_ok());
}

fn short(v: &Value) -> String {
    v.to_string().chars().take(60).collect()
}

/// Hostile values through the search API and the object APIs: none may produce a 5xx.
async fn hostile_battery(t: TestApp) {
    let api = Api::start(t).await;
    let id = api.ticket("Target", &[]).await;
    let mut deep = json!("x");
    for _ in 0..200 {
        deep = json!([deep]);
    }
    let long = "x".repeat(100_000);
    let strings: Vec<Value> = vec![
        json!(long),
        json!("nul\0byte"),
        json!("\0"),
        json!("cr\r\nlf"),
        json!("%"),
        json!("_"),
        json!("*"),
        json!("'; DROP TABLE tickets; --"),
        json!("\u{202e}bidi\u{200b}zero"),
        json!("日本語 ✓ 🎉"),
        json!("\u{fffd}\u{ffff}"),
        json!("-1"),
        json!("-9223372036854775808"),
        json!("99999999999999999999999999"),
        json!("1e308"),
        json!(1e308),
        json!(-1),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(true),
        json!(null),
        json!({"a": 1}),
        deep.clone(),
    ];
    let ops = [
        "EQ",
        "NEQ",
        "LT",
        "GTE",
        "BETWEEN",
        "IN",
        "NOT_IN",
        "HAS_PROPERTY",
        "CONTAINS_TOKEN",
        "NOT_CONTAINS_TOKEN",
        "\0",
    ];
    let props = [
        "subject",
        "createdate",
        "hs_pipeline_stage",
        "hs_object_id",
        "associations.contact",
        "hubspot_owner_id",
        "\0",
    ];
    let mut checked = 0;
    let check = |what: String, r: crate::api_common::Reply| {
        assert!(r.status < 500, "{what} → {}: {}", r.status, short(&r.body));
    };
    for v in &strings {
        for op in ops {
            for p in props {
                let body = json!({"filterGroups": [{"filters": [{
                    "propertyName": p, "operator": op, "value": v, "highValue": v,
                    "values": [v, v]
                }]}]});
                let r = api.post("/crm/v3/objects/tickets/search", body).await;
                check(format!("search {p} {op} {}", short(v)), r);
                checked += 1;
            }
        }
        for field in [
            "query",
            "limit",
            "after",
            "sorts",
            "properties",
            "filterGroups",
        ] {
            let r = api
                .post("/crm/v3/objects/contacts/search", json!({ field: v }))
                .await;
            check(format!("search {field}={}", short(v)), r);
        }
        for prop in [
            "subject",
            "content",
            "hs_pipeline_stage",
            "hs_ticket_priority",
            "createdate",
        ] {
            let r = api
                .post(
                    "/crm/v3/objects/tickets",
                    json!({"properties": {"subject": "s", "hs_pipeline": "0",
                        "hs_pipeline_stage": "1", prop: v}}),
                )
                .await;
            check(format!("create ticket {prop}={}", short(v)), r);
            let r = api
                .patch(
                    &format!("/crm/v3/objects/tickets/{id}"),
                    json!({"properties": { prop: v }}),
                )
                .await;
            check(format!("update ticket {prop}={}", short(v)), r);
        }
        for prop in ["email", "firstname", "phone"] {
            let r = api
                .post(
                    "/crm/v3/objects/contacts",
                    json!({"properties": { prop: v }}),
                )
                .await;
            check(format!("create contact {prop}={}", short(v)), r);
        }
        let r = api
            .post(
                "/crm/v3/objects/companies",
                json!({"properties": {"name": v}}),
            )
            .await;
        check(format!("create company name={}", short(v)), r);
        let r = api
            .post(
                "/crm/v3/objects/tickets/batch/read",
                json!({"inputs": [{"id": v}], "properties": [v]}),
            )
            .await;
        check(format!("batch read id={}", short(v)), r);
        if let Some(s) = v.as_str() {
            let enc: String = s
                .chars()
                .take(2000)
                .flat_map(|c| {
                    let mut b = [0u8; 4];
                    c.encode_utf8(&mut b)
                        .bytes()
                        .map(|x| format!("%{x:02X}"))
                        .collect::<Vec<_>>()
                })
                .collect();
            for path in [
                format!("/crm/v3/objects/tickets/{enc}"),
                format!("/crm/v3/objects/tickets?limit={enc}&after={enc}&properties={enc}"),
                format!("/crm/v4/objects/tickets/{enc}/associations/contacts"),
                format!("/crm/v3/pipelines/tickets/{enc}"),
                format!("/crm/v3/properties/tickets/{enc}"),
                format!("/crm/v3/owners/{enc}"),
            ] {
                let r = api.get(&path).await;
                check(format!("GET {:.80}", path), r);
            }
        }
    }
    assert!(checked > 1000);
    // The server is still there.
    assert_eq!(
        api.get(&format!("/crm/v3/objects/tickets/{id}"))
            .await
            .status,
        200
    );
}
