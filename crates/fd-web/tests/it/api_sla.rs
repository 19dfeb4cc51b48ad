//! HubSpot's SLA and response-time properties over HTTP (issue 16 item 1, HUBSPOT-API-2.md
//! §7): read in GET ticket (datetimes as ISO strings, durations in milliseconds, status codes
//! "0"–"4"), filterable and sortable in the v3 search, and read-only (400 READ_ONLY_VALUE).

use fd_app::domain::sla::SlaPolicyInput;
use fd_app::{Actor, SlaPolicyForm};
use fd_testkit::TestApp;
use serde_json::json;

use crate::api_common::{Api, ids};

fd_testkit::on_both_backends! {
    sla_properties_are_read_in_records_and_search_and_are_read_only => sla_properties;
}

const MINUTE: i64 = 60_000;

async fn sla_properties(t: TestApp) {
    let api = Api::start(t).await;
    api.t
        .app
        .create_sla_policy(
            &Actor::system(),
            SlaPolicyForm {
                input: SlaPolicyInput {
                    name: "Fast".into(),
                    first_response: "1h".into(),
                    time_to_close: Some("1d".into()),
                    ..SlaPolicyInput::default()
                },
                ..SlaPolicyForm::default()
            },
        )
        .await
        .unwrap();
    let late = api.ticket("Late", &[]).await;
    api.t.clock.advance_ms(30 * MINUTE);
    let fresh = api.ticket("Fresh", &[]).await;
    api.t.clock.advance_ms(31 * MINUTE);
    api.t.app.run_sla_sweep().await.unwrap();

    let names = "first_agent_reply_date,time_to_first_agent_reply,time_to_close,\
        hs_time_to_first_response_sla_at,hs_time_to_first_response_sla_status,\
        hs_time_to_close_sla_at,hs_time_to_close_sla_status";
    let r = api
        .get(&format!(
            "/crm/v3/objects/tickets/{late}?properties={names}"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let p = &r.body["properties"];
    assert_eq!(p["hs_time_to_first_response_sla_status"], "1", "{p}");
    assert_eq!(p["hs_time_to_close_sla_status"], "0", "{p}");
    assert!(
        p["hs_time_to_first_response_sla_at"]
            .as_str()
            .is_some_and(|s| s.ends_with('Z')),
        "{p}"
    );
    assert!(p["first_agent_reply_date"].is_null(), "{p}");

    // The definitions say what they are: read-only, with HubSpot's status codes.
    let d = api
        .get("/crm/v3/properties/tickets/hs_time_to_first_response_sla_status")
        .await;
    assert_eq!(d.status, 200, "{}", d.body);
    assert_eq!(
        d.body["modificationMetadata"]["readOnlyValue"], true,
        "{}",
        d.body
    );
    let codes: Vec<&str> = d.body["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["value"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["0", "1", "2", "3", "4"]);

    // Search filters and sorts on them.
    let search = |body| api.post("/crm/v3/objects/tickets/search", body);
    let r = search(json!({"filterGroups": [{"filters": [
        {"propertyName": "hs_time_to_first_response_sla_status", "operator": "EQ", "value": "1"}]}]}))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(ids(&r.body), vec![late.clone()]);
    let r = search(json!({"filterGroups": [{"filters": [
        {"propertyName": "hs_time_to_first_response_sla_at", "operator": "HAS_PROPERTY"}]}],
        "sorts": [{"propertyName": "hs_time_to_first_response_sla_at", "direction": "DESCENDING"}]}))
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(ids(&r.body), [fresh, late.clone()]);

    // Written by the system only.
    let r = api
        .patch(
            &format!("/crm/v3/objects/tickets/{late}"),
            json!({"properties": {"hs_time_to_first_response_sla_status": "3"}}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.to_string().contains("READ_ONLY_VALUE"), "{}", r.body);
}
