//! Error bodies and their logs: each field error carries the HubSpot code its rule chose; a
//! unique-constraint failure answers 409 in our words, never the database's; a store failure
//! answers a generic 500; and every error body's `correlationId` is in the log line for it
//! (with the request's id, which it equals), a 5xx line with its cause.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use fd_testkit::TestApp;
use serde_json::{Value, json};

use crate::api_common::Api;

fd_testkit::on_both_backends! {
    field_errors_carry_the_code_of_each_typed_case => field_codes;
    unique_constraint_conflict_answers_our_message_not_the_database_s => unique_conflict;
    error_correlation_id_is_logged_with_the_request_id => logged_correlation;
    store_failure_is_a_generic_500_whose_log_has_the_cause => store_failure;
}

/// `in` → `code` of an error body's `errors[]`.
fn codes(body: &Value) -> BTreeMap<String, String> {
    body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors[]: {body}"))
        .iter()
        .map(|e| {
            (
                e["in"].as_str().unwrap().to_string(),
                e["code"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn field_codes(t: TestApp) {
    let api = Api::start(t).await;
    for (name, kind) in [("seats", "number"), ("due", "date")] {
        let r = api
            .post(
                "/crm/v3/properties/tickets",
                json!({"name": name, "label": name, "type": kind, "fieldType": kind,
                       "groupName": "ticketinformation"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let r = api
        .post(
            "/crm/v3/objects/tickets",
            json!({"properties": {
                "subject": "Codes", "hs_pipeline": "0", "hs_pipeline_stage": "1",
                "not_a_property": "x",
                "createdate": "2026-01-01",
                "hs_ticket_priority": "SOMEDAY",
                "hubspot_owner_id": "12a",
                "seats": "ten",
                "due": "next week",
            }}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.error_category(), "VALIDATION_ERROR");
    let want: BTreeMap<String, String> = [
        ("not_a_property", "PROPERTY_DOESNT_EXIST"),
        ("createdate", "READ_ONLY_VALUE"),
        ("hs_ticket_priority", "INVALID_OPTION"),
        ("hubspot_owner_id", "INVALID_INTEGER"),
        ("seats", "INVALID_NUMBER"),
        ("due", "INVALID_DATE"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(codes(&r.body), want, "{}", r.body);
    // HubSpot's message wraps the same codes (the clients show only the message).
    let msg = r.body["message"].as_str().unwrap();
    assert!(msg.contains("\"error\":\"READ_ONLY_VALUE\""), "{msg}");
    assert!(
        msg.contains("Property \\\"not_a_property\\\" does not exist"),
        "{msg}"
    );

    // A required value missing; a stage outside the pipeline's options.
    let r = api
        .post(
            "/crm/v3/objects/tickets",
            json!({"properties": {"hs_pipeline": "0", "hs_pipeline_stage": "1"}}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(codes(&r.body)["subject"], "REQUIRED", "{}", r.body);
    let r = api
        .post(
            "/crm/v3/objects/tickets",
            json!({"properties": {"subject": "x", "hs_pipeline": "0", "hs_pipeline_stage": "999"}}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        codes(&r.body)["hs_pipeline_stage"],
        "INVALID_OPTION",
        "{}",
        r.body
    );
    // Search limits: a typed code too, not a guess from the words.
    let r = api
        .post(
            "/crm/v3/objects/tickets/search",
            json!({"limit": 1000, "sorts": ["-nope"]}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let c = codes(&r.body);
    assert_eq!(c["limit"], "INVALID_INTEGER", "{}", r.body);
}

/// Words of a database's own unique-violation messages, on either backend.
const DATABASE_WORDS: [&str; 6] = [
    "UNIQUE constraint",
    "duplicate key",
    "violates",
    "pipelines.label",
    "pipelines_live_label",
    "already exists (",
];

async fn unique_conflict(t: TestApp) {
    let api = Api::start(t).await;
    let pipeline = json!({"label": "Escalations", "displayOrder": 1, "stages": [
        {"label": "Open", "displayOrder": 0, "metadata": {"ticketState": "OPEN"}}]});
    let r = api
        .post("/crm/v3/pipelines/tickets", pipeline.clone())
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // No use case checks pipeline labels first: the database's unique index refuses it.
    let r = api.post("/crm/v3/pipelines/tickets", pipeline).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.error_category(), "CONFLICT");
    assert_eq!(
        r.body["message"], "A pipeline with this label already exists",
        "{}",
        r.body
    );
    let text = r.body.to_string();
    for w in DATABASE_WORDS {
        assert!(!text.contains(w), "{w:?} leaked: {text}");
    }
    assert_eq!(
        api.get("/crm/v3/pipelines/tickets").await.body["results"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "nothing was stored by the refused create"
    );
}

/// Log lines of this test binary, captured once for all tests (the server's tasks run on
/// the runtime's threads, so a thread-local subscriber would miss them).
fn captured() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUF: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUF.get_or_init(|| {
        let buf: Arc<Mutex<Vec<u8>>> = Arc::default();
        let sink = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || Capture(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("the test binary sets no other global subscriber");
        buf
    })
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The captured line that carries `correlation_id`.
fn log_line_with(correlation_id: &str) -> String {
    let all = String::from_utf8_lossy(&captured().lock().unwrap()).to_string();
    all.lines()
        .find(|l| l.contains(&format!("correlation_id=\"{correlation_id}\"")))
        .unwrap_or_else(|| panic!("no log line has {correlation_id}"))
        .to_string()
}

async fn logged_correlation(t: TestApp) {
    captured();
    let api = Api::start(t).await;
    let res = api
        .http
        .get(format!("{}/crm/v3/objects/tickets/424242", api.base))
        .bearer_auth(&api.token)
        .header("x-request-id", "proxy-7")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404);
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    let body: Value = res.json().await.unwrap();
    let cid = body["correlationId"].as_str().unwrap();
    assert_eq!(cid, request_id, "the correlation id is the request's id");
    let line = log_line_with(cid);
    assert!(line.contains(&format!("request_id={cid}")), "{line}");
    assert!(line.contains("upstream_id=\"proxy-7\""), "{line}");
    assert!(line.contains("status=404"), "{line}");
    assert!(line.contains("OBJECT_NOT_FOUND"), "{line}");
    // A validation error too, and two requests never share an id.
    let r = api
        .post(
            "/crm/v3/objects/tickets",
            json!({"properties": {"nope": "1"}}),
        )
        .await;
    let second = r.body["correlationId"].as_str().unwrap();
    assert_ne!(second, cid);
    assert!(log_line_with(second).contains("status=400"));
}

async fn store_failure(t: TestApp) {
    captured();
    let api = Api::start(t).await;
    // Every request reads the database (the token's resolution); a closed one fails them.
    api.t.app.db().close().await;
    let r = api.get("/crm/v3/objects/tickets").await;
    assert_eq!(r.status, 500, "{}", r.body);
    assert_eq!(r.error_category(), "INTERNAL_ERROR");
    assert_eq!(r.body["message"], "internal error", "{}", r.body);
    let cid = r.body["correlationId"].as_str().unwrap();
    let line = log_line_with(cid);
    assert!(line.contains("ERROR"), "{line}");
    assert!(line.contains("status=500"), "{line}");
    assert!(line.contains("closed"), "the cause is logged: {line}");
}
