//! `/frontdesk/v1/automation/rules` (issue 16, item 3): create, list, read, replace and
//! delete rules as JSON of fd-domain's automation types; admins only; a created rule runs on
//! a ticket the API creates; HD-20's built-in rule is listed and cannot be deleted; the
//! routes are in `/openapi.json`.

use fd_app::domain::TicketAccessLevel;
use fd_testkit::TestApp;
use reqwest::Method;
use serde_json::json;

use crate::api_common::*;

fd_testkit::on_both_backends! {
    automation_rules_api_crud_admin_only_and_the_rule_runs => rules_api;
}

async fn rules_api(t: TestApp) {
    t.agent("ann@example.com", TicketAccessLevel::All, &[])
        .await;
    let api = Api::start(t).await;
    let rules = "/frontdesk/v1/automation/rules";
    let list = api.get(rules).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let builtin = list.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["builtin"] == "hd_20_waiting_on_contact")
        .expect("HD-20's rule")
        .clone();
    assert_eq!(builtin["enabled"], true);
    assert_eq!(builtin["trigger"], json!({"kind": "email_to_customer"}));
    let builtin_id = builtin["id"].as_str().unwrap().to_string();
    let r = api.delete(&format!("{rules}/{builtin_id}")).await;
    assert_eq!(r.status, 400, "{}", r.body);

    let body = json!({
        "name": "High priority from the start",
        "trigger": {"kind": "ticket_created"},
        "conditions": [{"kind": "property", "property": "subject", "op": "in", "values": ["Fire", "Flood"]}],
        "actions": [{"kind": "set_property", "property": "hs_ticket_priority", "value": "HIGH"}]
    });
    let created = api.post(rules, body.clone()).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(created.body["enabled"], true);
    assert!(created.body.get("lastRunAt").is_none());

    // It runs on the API's own ticket creation, in the same request.
    let fire = api.ticket("Fire", &[]).await;
    let read = api
        .get(&format!(
            "/crm/v3/objects/tickets/{fire}?properties=hs_ticket_priority"
        ))
        .await;
    assert_eq!(read.body["properties"]["hs_ticket_priority"], "HIGH");
    let rule = api.get(&format!("{rules}/{id}")).await;
    assert_eq!(rule.status, 200, "{}", rule.body);
    assert_eq!(rule.body["lastTicketId"], fire);
    assert!(
        rule.body["lastOutcome"]
            .as_str()
            .unwrap()
            .contains("hs_ticket_priority")
    );

    // Replace: off, and renamed.
    let mut off = body.clone();
    off["enabled"] = json!(false);
    off["name"] = json!("Off for now");
    let r = api.put(&format!("{rules}/{id}"), Some(off)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["enabled"], false);
    assert_eq!(r.body["name"], "Off for now");

    // Refusals: a bad trigger, a missing field, an unknown property, an unknown rule.
    let bad = api
        .post(
            rules,
            json!({"name": "x", "trigger": {"kind": "sometimes"}, "actions": []}),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body["message"].as_str().unwrap().contains("trigger"));
    let bad = api.post(rules, json!({"name": "x"})).await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    let mut unknown = body.clone();
    unknown["actions"] = json!([{"kind": "set_property", "property": "nope", "value": "1"}]);
    let bad = api.post(rules, unknown).await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(api.get(&format!("{rules}/999999")).await.status, 404);

    // The SLA triggers: the clock is kept, and "any" when left out.
    let sla = api
        .post(
            rules,
            json!({
                "name": "Next response due soon",
                "trigger": {"kind": "sla_due_soon", "clock": "next_response"},
                "actions": [{"kind": "comment", "body": "Hurry"}]
            }),
        )
        .await;
    assert_eq!(sla.status, 201, "{}", sla.body);
    assert_eq!(
        sla.body["trigger"],
        json!({"kind": "sla_due_soon", "clock": "next_response"})
    );
    let any = api
        .post(
            rules,
            json!({
                "name": "Breached",
                "trigger": {"kind": "sla_breached"},
                "actions": [{"kind": "comment", "body": "Late"}]
            }),
        )
        .await;
    assert_eq!(any.status, 201, "{}", any.body);
    assert_eq!(
        any.body["trigger"],
        json!({"kind": "sla_breached", "clock": "any"})
    );
    let bad = api
        .post(
            rules,
            json!({
                "name": "x",
                "trigger": {"kind": "sla_breached", "clock": "lunch"},
                "actions": [{"kind": "comment", "body": "Late"}]
            }),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(
        bad.body["message"].as_str().unwrap().contains("lunch"),
        "{}",
        bad.body
    );

    // Agents may not manage automation.
    let agent = api.token_for("ann@example.com").await;
    let r = api.send_as(Some(&agent), Method::GET, rules, None).await;
    assert_eq!(r.status, 403, "{}", r.body);

    let r = api.delete(&format!("{rules}/{id}")).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(api.get(&format!("{rules}/{id}")).await.status, 404);

    // Documented like every /frontdesk/v1 route.
    let doc = api.get("/openapi.json").await;
    assert!(doc.body["paths"][rules]["post"].is_object());
    assert!(doc.body["paths"]["/frontdesk/v1/automation/rules/{ruleId}"]["put"].is_object());
    let trigger_doc = doc.body["components"]["schemas"]["AutomationRuleInput"]["properties"]
        ["trigger"]["description"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        trigger_doc.contains("sla_due_soon") && trigger_doc.contains("time_to_close"),
        "{trigger_doc}"
    );
}
