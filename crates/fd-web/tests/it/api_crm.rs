//! CRM objects, search, batch, pipelines, properties, owners and associations over HTTP,
//! with the exact success codes the official clients require (HUBSPOT-API.md §2.3).

use fd_testkit::TestApp;
use serde_json::{Value, json};

use crate::api_common::{Api, ids};

async fn search_ids(api: &Api, body: Value) -> Vec<String> {
    let r = api.post("/crm/v3/objects/tickets/search", body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    ids(&r.body)
}

fn filter(prop: &str, op: &str, value: Value) -> Value {
    let mut f = json!({"propertyName": prop, "operator": op});
    match value {
        Value::Array(_) => f["values"] = value,
        Value::Null => {}
        v => f["value"] = v,
    }
    json!({"filterGroups": [{"filters": [f]}], "limit": 100})
}

async fn lifecycle_and_search(t: TestApp) {
    let api = Api::start(t).await;
    let contact = api
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "ada@example.com", "firstname": "Ada"}}),
        )
        .await;
    assert_eq!(contact.status, 201);
    let cid = contact.body["id"].as_str().unwrap().to_string();
    let created = api
        .post(
            "/crm/v3/objects/tickets",
            json!({"properties": {"subject": "Printer on fire", "content": "Flames everywhere",
                "hs_pipeline": "0", "hs_pipeline_stage": "1", "hs_ticket_priority": "HIGH",
                "hs_ticket_category": "PRODUCT_ISSUE;BILLING_ISSUE"},
                "associations": [{"to": {"id": cid}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 16}]}]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let fire = created.body["id"].as_str().unwrap().to_string();
    assert!(fire.chars().all(|c| c.is_ascii_digit()));
    assert_eq!(created.body["properties"]["hs_object_id"], fire);
    assert!(
        created.body["properties"]["createdate"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    let calm = api
        .ticket(
            "Calm question",
            &[
                ("hs_ticket_priority", "LOW"),
                ("content", "How do I export?"),
            ],
        )
        .await;
    let other = api
        .ticket("Other matter", &[("hs_ticket_priority", "MEDIUM")])
        .await;

    // Read with associations.
    let r = api
        .get(&format!(
            "/crm/v3/objects/tickets/{fire}?properties=subject,closed_date&associations=contacts"
        ))
        .await;
    assert_eq!(r.body["properties"]["subject"], "Printer on fire");
    assert!(r.body["properties"]["closed_date"].is_null());
    assert_eq!(r.body["associations"]["contacts"]["results"][0]["id"], cid);
    assert_eq!(
        r.body["associations"]["contacts"]["results"][0]["type"],
        "ticket_to_contact"
    );

    // Every operator.
    assert_eq!(
        search_ids(&api, filter("hs_ticket_priority", "EQ", json!("HIGH"))).await,
        vec![fire.clone()]
    );
    assert_eq!(
        search_ids(&api, filter("hs_ticket_priority", "NEQ", json!("HIGH"))).await,
        vec![calm.clone(), other.clone()]
    );
    assert_eq!(
        search_ids(
            &api,
            filter("hs_ticket_priority", "IN", json!(["HIGH", "LOW"]))
        )
        .await,
        vec![fire.clone(), calm.clone()]
    );
    assert_eq!(
        search_ids(
            &api,
            filter("hs_ticket_priority", "NOT_IN", json!(["HIGH", "LOW"]))
        )
        .await,
        vec![other.clone()]
    );
    assert_eq!(
        search_ids(&api, filter("subject", "EQ", json!("printer ON FIRE"))).await,
        vec![fire.clone()]
    );
    assert_eq!(
        search_ids(&api, filter("subject", "CONTAINS_TOKEN", json!("print*"))).await,
        vec![fire.clone()]
    );
    assert_eq!(
        search_ids(
            &api,
            filter("subject", "NOT_CONTAINS_TOKEN", json!("print*"))
        )
        .await,
        vec![calm.clone(), other.clone()]
    );
    assert_eq!(
        search_ids(&api, filter("content", "HAS_PROPERTY", Value::Null)).await,
        vec![fire.clone(), calm.clone()]
    );
    assert_eq!(
        search_ids(&api, filter("content", "NOT_HAS_PROPERTY", Value::Null)).await,
        vec![other.clone()]
    );
    assert_eq!(
        search_ids(
            &api,
            filter("hs_ticket_category", "EQ", json!("BILLING_ISSUE"))
        )
        .await,
        vec![fire.clone()]
    );
    let fire_n: i64 = fire.parse().unwrap();
    assert_eq!(
        search_ids(
            &api,
            filter("hs_object_id", "GT", json!(fire_n.to_string()))
        )
        .await,
        vec![calm.clone(), other.clone()]
    );
    assert_eq!(
        search_ids(&api, filter("hs_object_id", "GTE", json!(fire)))
            .await
            .len(),
        3
    );
    assert_eq!(
        search_ids(&api, filter("hs_object_id", "LT", json!(calm))).await,
        vec![fire.clone()]
    );
    assert_eq!(
        search_ids(&api, filter("hs_object_id", "LTE", json!(calm))).await,
        vec![fire.clone(), calm.clone()]
    );
    let mut between = filter("createdate", "BETWEEN", json!("2025-01-01T00:00:00Z"));
    between["filterGroups"][0]["filters"][0]["highValue"] = json!("2030-01-01");
    assert_eq!(search_ids(&api, between).await.len(), 3);
    assert_eq!(
        search_ids(&api, filter("createdate", "LT", json!("1577836800000")))
            .await
            .len(),
        0
    );
    assert_eq!(
        search_ids(&api, filter("associations.contact", "EQ", json!(cid))).await,
        vec![fire.clone()]
    );
    // Groups are ORed, filters ANDed; query; one sort each way; paging with total.
    let ored = json!({"filterGroups": [
        {"filters": [{"propertyName": "hs_ticket_priority", "operator": "EQ", "value": "HIGH"}]},
        {"filters": [{"propertyName": "hs_ticket_priority", "operator": "EQ", "value": "LOW"},
                     {"propertyName": "content", "operator": "CONTAINS_TOKEN", "value": "export"}]}]});
    assert_eq!(
        search_ids(&api, ored).await,
        vec![fire.clone(), calm.clone()]
    );
    assert_eq!(
        search_ids(&api, json!({"query": "printer"})).await,
        vec![fire.clone()]
    );
    assert_eq!(
        search_ids(&api, json!({"query": "EXPORT"})).await,
        vec![calm.clone()]
    );
    assert_eq!(
        search_ids(&api, json!({"sorts": ["-hs_object_id"]})).await,
        vec![other.clone(), calm.clone(), fire.clone()]
    );
    assert_eq!(
        search_ids(
            &api,
            json!({"sorts": [{"propertyName": "subject", "direction": "ASCENDING"}]})
        )
        .await,
        vec![calm.clone(), other.clone(), fire.clone()]
    );
    let page = api
        .post(
            "/crm/v3/objects/tickets/search",
            json!({"limit": 2, "properties": ["subject"]}),
        )
        .await;
    assert_eq!(page.body["total"], 3);
    assert_eq!(page.body["paging"]["next"]["after"], "2");
    assert_eq!(
        page.body["results"][0]["properties"]["subject"],
        "Printer on fire"
    );
    let last = api
        .post(
            "/crm/v3/objects/tickets/search",
            json!({"limit": 2, "after": "2"}),
        )
        .await;
    assert_eq!(ids(&last.body), vec![other.clone()]);
    assert!(last.body.get("paging").is_none());

    // Update into the CLOSED stage sets closed_date; back to OPEN clears it.
    let r = api
        .patch(
            &format!("/crm/v3/objects/tickets/{fire}"),
            json!({"properties": {"hs_pipeline_stage": "4"}}),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = api
        .get(&format!(
            "/crm/v3/objects/tickets/{fire}?properties=closed_date"
        ))
        .await;
    assert!(
        r.body["properties"]["closed_date"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert_eq!(
        search_ids(&api, filter("hs_pipeline_stage", "EQ", json!("4"))).await,
        vec![fire.clone()]
    );
    assert_eq!(
        search_ids(&api, filter("closed_date", "HAS_PROPERTY", Value::Null)).await,
        vec![fire.clone()]
    );

    // Archive: 204, then 404, visible with archived=true, gone from search and lists.
    assert_eq!(
        api.delete(&format!("/crm/v3/objects/tickets/{fire}"))
            .await
            .status,
        204
    );
    assert_eq!(
        api.get(&format!("/crm/v3/objects/tickets/{fire}"))
            .await
            .status,
        404
    );
    let r = api
        .get(&format!("/crm/v3/objects/tickets/{fire}?archived=true"))
        .await;
    assert_eq!(r.body["archived"], true);
    assert!(r.body["archivedAt"].as_str().is_some());
    assert!(
        !search_ids(&api, json!({"query": "printer"}))
            .await
            .contains(&fire)
    );
    let list = api.get("/crm/v3/objects/tickets?archived=true").await;
    assert_eq!(ids(&list.body), vec![fire.clone()]);

    // Contacts and companies: update, search, archive.
    let co = api
        .post(
            "/crm/v3/objects/companies",
            json!({"properties": {"name": "Acme", "domain": "ACME.example"}}),
        )
        .await;
    assert_eq!(co.status, 201);
    assert_eq!(co.body["properties"]["domain"], "acme.example");
    let coid = co.body["id"].as_str().unwrap().to_string();
    let r = api
        .patch(
            &format!("/crm/v3/objects/contacts/{cid}"),
            json!({"properties": {"lastname": "Lovelace"}}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["properties"]["lastname"], "Lovelace");
    let s = api
        .post(
            "/crm/v3/objects/contacts/search",
            json!({"query": "lovelace"}),
        )
        .await;
    assert_eq!(ids(&s.body), vec![cid.clone()]);
    let s = api.post("/crm/v3/objects/companies/search", json!({"filterGroups": [{"filters": [{"propertyName": "domain", "operator": "EQ", "value": "acme.example"}]}]})).await;
    assert_eq!(ids(&s.body), vec![coid.clone()]);
    assert_eq!(
        api.delete(&format!("/crm/v3/objects/companies/{coid}"))
            .await
            .status,
        204
    );
    let s = api
        .post("/crm/v3/objects/companies/search", json!({}))
        .await;
    assert_eq!(s.body["total"], 0);
}

async fn batches(t: TestApp) {
    let api = Api::start(t).await;
    let r = api
        .post(
            "/crm/v3/objects/tickets/batch/create",
            json!({"inputs": [
            {"properties": {"subject": "One", "hs_pipeline_stage": "1"}},
            {"properties": {"subject": "Two", "hs_pipeline_stage": "2"}}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["status"], "COMPLETE");
    let made = ids(&r.body);
    assert_eq!(made.len(), 2);
    let r = api
        .post(
            "/crm/v3/objects/tickets/batch/create",
            json!({"inputs": [
            {"properties": {"subject": "Three", "hs_pipeline_stage": "1"}},
            {"properties": {"subject": "Bad", "hs_pipeline_stage": "99"}}]}),
        )
        .await;
    assert_eq!(r.status, 207, "{}", r.body);
    assert_eq!(r.body["numErrors"], 1);
    assert_eq!(r.body["errors"][0]["category"], "VALIDATION_ERROR");
    let three = ids(&r.body)[0].clone();
    let r = api
        .post("/crm/v3/objects/tickets/batch/read", json!({"inputs": [{"id": made[0]}, {"id": "999999"}], "properties": ["subject"], "propertiesWithHistory": []}))
        .await;
    assert_eq!(r.status, 207);
    assert_eq!(r.body["results"][0]["properties"]["subject"], "One");
    assert_eq!(r.body["errors"][0]["category"], "OBJECT_NOT_FOUND");
    assert_eq!(r.body["errors"][0]["context"]["ids"][0], "999999");
    let r = api
        .post("/crm/v3/objects/tickets/batch/read", json!({"inputs": [{"id": made[0]}, {"id": made[1]}], "properties": ["subject"], "propertiesWithHistory": []}))
        .await;
    assert_eq!(r.status, 200);
    let r = api
        .post(
            "/crm/v3/objects/tickets/batch/update",
            json!({"inputs": [
            {"id": made[0], "properties": {"hs_ticket_priority": "HIGH"}},
            {"id": made[1], "properties": {"hs_ticket_priority": "NOPE"}}]}),
        )
        .await;
    assert_eq!(r.status, 207, "{}", r.body);
    assert_eq!(
        r.body["results"][0]["properties"]["hs_ticket_priority"],
        "HIGH"
    );
    assert_eq!(r.body["errors"][0]["context"]["ids"][0], made[1]);
    let r = api
        .post(
            "/crm/v3/objects/tickets/batch/archive",
            json!({"inputs": [{"id": made[0]}, {"id": three}]}),
        )
        .await;
    assert_eq!(r.status, 204);
    let left = api.post("/crm/v3/objects/tickets/search", json!({})).await;
    assert_eq!(ids(&left.body), vec![made[1].clone()]);
}

async fn pipelines_properties_owners(t: TestApp) {
    let api = Api::start(t).await;
    let r = api.get("/crm/v3/pipelines/tickets").await;
    let p0 = &r.body["results"][0];
    assert_eq!(p0["id"], "0");
    let states: Vec<&str> = p0["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["metadata"]["ticketState"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["OPEN", "OPEN", "OPEN", "CLOSED"]);
    let r = api
        .post(
            "/crm/v3/pipelines/tickets",
            json!({"label": "Escalations", "displayOrder": 1, "stages": [
            {"label": "Escalated", "displayOrder": 0, "metadata": {"ticketState": "OPEN"}},
            {"label": "Done", "displayOrder": 1, "metadata": {"ticketState": "CLOSED"}}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let pid = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        api.get(&format!("/crm/v3/pipelines/tickets/{pid}"))
            .await
            .body["label"],
        "Escalations"
    );
    let r = api
        .patch(
            &format!("/crm/v3/pipelines/tickets/{pid}"),
            json!({"label": "Escalation"}),
        )
        .await;
    assert_eq!(r.body["label"], "Escalation");
    let r = api
        .post(
            &format!("/crm/v3/pipelines/tickets/{pid}/stages"),
            json!({"label": "Waiting", "displayOrder": 2, "metadata": {"ticketState": "OPEN"}}),
        )
        .await;
    assert_eq!(r.status, 201);
    let wid = r.body["id"].as_str().unwrap().to_string();
    let r = api
        .patch(
            &format!("/crm/v3/pipelines/tickets/{pid}/stages/{wid}"),
            json!({"label": "Waiting on vendor"}),
        )
        .await;
    assert_eq!(r.body["label"], "Waiting on vendor");
    assert_eq!(
        api.delete(&format!("/crm/v3/pipelines/tickets/{pid}/stages/{wid}"))
            .await
            .status,
        204
    );
    let r = api
        .put(
            &format!("/crm/v3/pipelines/tickets/{pid}"),
            Some(json!({"label": "Escalation", "displayOrder": 1, "stages": [
            {"label": "Escalated", "displayOrder": 0, "metadata": {"ticketState": "OPEN"}},
            {"label": "Fixed", "displayOrder": 1, "metadata": {"ticketState": "CLOSED"}}]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let labels: Vec<&str> = r.body["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["Escalated", "Fixed"]);
    // A ticket in the pipeline keeps it from being deleted (409); without, 204.
    let first_stage = r.body["stages"][0]["id"].as_str().unwrap().to_string();
    let tid = api
        .ticket(
            "Escalate me",
            &[("hs_pipeline", &pid), ("hs_pipeline_stage", &first_stage)],
        )
        .await;
    assert_eq!(
        api.delete(&format!("/crm/v3/pipelines/tickets/{pid}"))
            .await
            .status,
        409
    );
    // A stage of another pipeline is refused.
    let r = api
        .patch(
            &format!("/crm/v3/objects/tickets/{tid}"),
            json!({"properties": {"hs_pipeline_stage": "2"}}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        api.delete(&format!("/crm/v3/objects/tickets/{tid}"))
            .await
            .status,
        204
    );

    // Properties and groups.
    let r = api.get("/crm/v3/properties/tickets").await;
    let names: Vec<&str> = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"hs_ticket_priority") && names.contains(&"subject"));
    let r = api
        .get("/crm/v3/properties/tickets/hs_ticket_priority")
        .await;
    assert_eq!(r.body["options"][0]["value"], "LOW");
    let r = api
        .post(
            "/crm/v3/properties/tickets/groups",
            json!({"name": "sla", "label": "SLA", "displayOrder": 3}),
        )
        .await;
    assert_eq!(r.status, 201);
    let r = api
        .post("/crm/v3/properties/tickets", json!({"name": "sla_hours", "label": "SLA hours", "type": "number", "fieldType": "number", "groupName": "sla"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = api
        .patch(
            "/crm/v3/properties/tickets/sla_hours",
            json!({"label": "SLA (hours)"}),
        )
        .await;
    assert_eq!(r.body["label"], "SLA (hours)");
    let id = api.ticket("Has SLA", &[("sla_hours", "4.5")]).await;
    let s = api
        .post(
            "/crm/v3/objects/tickets/search",
            filter("sla_hours", "GT", json!("4")),
        )
        .await;
    assert_eq!(ids(&s.body), vec![id.clone()]);
    let r = api
        .patch(
            &format!("/crm/v3/objects/tickets/{id}"),
            json!({"properties": {"sla_hours": "soon"}}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        api.delete("/crm/v3/properties/tickets/groups/sla")
            .await
            .status,
        409
    );
    assert_eq!(
        api.delete("/crm/v3/properties/tickets/sla_hours")
            .await
            .status,
        204
    );
    assert_eq!(
        api.delete("/crm/v3/properties/tickets/groups/sla")
            .await
            .status,
        204
    );
    assert_eq!(
        api.delete("/crm/v3/properties/tickets/subject")
            .await
            .status,
        400
    );
    let r = api
        .post(
            "/crm/v3/properties/contacts/batch/read",
            json!({"inputs": [{"name": "email"}, {"name": "nope"}], "archived": false}),
        )
        .await;
    assert_eq!(r.status, 207);
    assert_eq!(r.body["results"][0]["hasUniqueValue"], true);

    // Owners: users with their teams.
    api.t.team("Support").await;
    api.t
        .agent(
            "sam@example.com",
            fd_app::domain::TicketAccessLevel::All,
            &["Support"],
        )
        .await;
    let r = api.get("/crm/v3/owners?email=sam@example.com").await;
    let owner = &r.body["results"][0];
    assert_eq!(owner["email"], "sam@example.com");
    assert_eq!(owner["teams"][0]["name"], "Support");
    let oid = owner["id"].as_str().unwrap().to_string();
    assert_eq!(
        api.get(&format!("/crm/v3/owners/{oid}")).await.body["userId"],
        oid.parse::<i64>().unwrap()
    );
    let t2 = api.ticket("Owned", &[("hubspot_owner_id", &oid)]).await;
    let s = api
        .post(
            "/crm/v3/objects/tickets/search",
            filter("hubspot_owner_id", "EQ", json!(oid)),
        )
        .await;
    assert_eq!(ids(&s.body), vec![t2]);
}

async fn associations(t: TestApp) {
    let api = Api::start(t).await;
    let tid = api.ticket("Assoc", &[]).await;
    let c = api
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "x@example.com"}}),
        )
        .await;
    let cid = c.body["id"].as_str().unwrap().to_string();
    let co = api
        .post(
            "/crm/v3/objects/companies",
            json!({"properties": {"name": "Initech"}}),
        )
        .await;
    let coid = co.body["id"].as_str().unwrap().to_string();
    // Labelled PUT → 201 with numeric ids.
    let r = api
        .put(
            &format!("/crm/v4/objects/tickets/{tid}/associations/contacts/{cid}"),
            Some(json!([{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 16}])),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["fromObjectTypeId"], "0-5");
    assert_eq!(r.body["toObjectId"], cid.parse::<i64>().unwrap());
    let r = api
        .get(&format!(
            "/crm/v4/objects/contacts/{cid}/associations/tickets"
        ))
        .await;
    assert_eq!(
        r.body["results"][0]["toObjectId"],
        tid.parse::<i64>().unwrap()
    );
    assert_eq!(r.body["results"][0]["associationTypes"][0]["typeId"], 15);
    // Primary company.
    let r = api
        .put(
            &format!("/crm/v4/objects/tickets/{tid}/associations/companies/{coid}"),
            Some(json!([{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 26}])),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = api
        .get(&format!(
            "/crm/v4/objects/tickets/{tid}/associations/companies"
        ))
        .await;
    let types: Vec<i64> = r.body["results"][0]["associationTypes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["typeId"].as_i64().unwrap())
        .collect();
    assert_eq!(types, [26, 339]);
    // A wrong type is refused.
    let r = api
        .put(
            &format!("/crm/v4/objects/tickets/{tid}/associations/contacts/{cid}"),
            Some(json!([{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 999}])),
        )
        .await;
    assert_eq!(r.status, 400);
    // Labels.
    let r = api
        .post("/crm/v4/associations/contacts/companies/labels", json!({"label": "Billing contact", "name": "billing_contact", "inverseLabel": "Billed company"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let label = r.body["results"][0]["typeId"].as_i64().unwrap();
    let r = api
        .put(
            &format!("/crm/v4/objects/contacts/{cid}/associations/companies/{coid}"),
            Some(json!([{"associationCategory": "USER_DEFINED", "associationTypeId": label}])),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["labels"][0], "Billing contact");
    let r = api
        .get(&format!(
            "/crm/v4/objects/companies/{coid}/associations/contacts"
        ))
        .await;
    let types = r.body["results"][0]["associationTypes"].as_array().unwrap();
    assert!(
        types
            .iter()
            .any(|t| t["label"] == "Billed company" && t["category"] == "USER_DEFINED")
    );
    let r = api
        .get("/crm/v4/associations/contacts/companies/labels")
        .await;
    assert!(
        r.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["typeId"] == label)
    );
    let r = api
        .put(
            "/crm/v4/associations/contacts/companies/labels",
            Some(json!({"associationTypeId": label, "label": "Invoice contact"})),
        )
        .await;
    assert_eq!(r.status, 204);
    let r = api
        .post("/crm/v4/associations/contacts/companies/batch/labels/archive", json!({"inputs": [{"from": {"id": cid}, "to": {"id": coid}, "types": [{"associationCategory": "USER_DEFINED", "associationTypeId": label}]}]}))
        .await;
    assert_eq!(r.status, 204);
    let r = api
        .get(&format!(
            "/crm/v4/objects/contacts/{cid}/associations/companies"
        ))
        .await;
    assert_eq!(
        r.body["results"][0]["associationTypes"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        api.delete(&format!(
            "/crm/v4/associations/contacts/companies/labels/{label}"
        ))
        .await
        .status,
        204
    );
    // Batch create / read / archive.
    let t2 = api.ticket("Second", &[]).await;
    let r = api
        .post("/crm/v4/associations/tickets/contacts/batch/create", json!({"inputs": [
            {"from": {"id": t2}, "to": {"id": cid}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 16}]},
            {"from": {"id": t2}, "to": {"id": "999999"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 16}]}]}))
        .await;
    assert_eq!(r.status, 207, "{}", r.body);
    let r = api
        .post(
            "/crm/v4/associations/tickets/contacts/batch/read",
            json!({"inputs": [{"id": tid}, {"id": t2}]}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body["results"][1]["to"][0]["toObjectId"],
        cid.parse::<i64>().unwrap()
    );
    let r = api
        .post(
            "/crm/v4/associations/tickets/contacts/batch/archive",
            json!({"inputs": [{"from": {"id": t2}, "to": [{"id": cid}]}]}),
        )
        .await;
    assert_eq!(r.status, 204);
    let r = api
        .post(
            "/crm/v4/associations/tickets/contacts/batch/associate/default",
            json!({"inputs": [{"from": {"id": t2}, "to": {"id": cid}}]}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["results"].as_array().unwrap().len(), 2);
    // DELETE removes every type → 204, and the search pseudo-property follows.
    assert_eq!(
        api.delete(&format!(
            "/crm/v4/objects/tickets/{tid}/associations/contacts/{cid}"
        ))
        .await
        .status,
        204
    );
    let s = api
        .post(
            "/crm/v3/objects/tickets/search",
            filter("associations.contact", "EQ", json!(cid)),
        )
        .await;
    assert_eq!(ids(&s.body), vec![t2]);
}

/// Concurrent creates (grouped into shared transactions on SQLite) each get their own ticket,
/// and a bad one among them fails alone.
async fn concurrent_creates(t: TestApp) {
    let api = Api::start(t).await;
    let mut calls = Vec::new();
    for i in 0..40 {
        let stage = if i == 17 { "99" } else { "1" };
        let body = json!({"properties": {"subject": format!("Concurrent {i}"), "hs_pipeline_stage": stage}});
        let (http, url, token) = (
            api.http.clone(),
            format!("{}/crm/v3/objects/tickets", api.base),
            api.token.clone(),
        );
        calls.push(tokio::spawn(async move {
            let res = http
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap();
            (status, body)
        }));
    }
    let mut made = std::collections::BTreeSet::new();
    for (i, call) in calls.into_iter().enumerate() {
        let (status, body) = call.await.unwrap();
        if i == 17 {
            assert_eq!(status, 400, "{body}");
            assert!(
                body["message"]
                    .as_str()
                    .unwrap()
                    .contains("hs_pipeline_stage")
            );
        } else {
            assert_eq!(status, 201, "{body}");
            assert_eq!(body["properties"]["subject"], format!("Concurrent {i}"));
            made.insert(body["id"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(made.len(), 39);
    assert_eq!(api.live_ticket_count().await, 39);
}

fd_testkit::on_both_backends! {
    concurrent_creates_each_get_a_ticket_and_fail_alone => concurrent_creates;
    ticket_lifecycle_and_every_search_operator => lifecycle_and_search;
    batch_endpoints_answer_201_200_207_204 => batches;
    pipelines_properties_and_owners => pipelines_properties_owners;
    associations_v4_labels_and_batches => associations;
    merge_tickets_api_answers_200_with_the_survivor_and_old_ids_read_as_it => merge_tickets_api;
    unmerge_and_split_api_under_frontdesk_v1 => unmerge_and_split_api;
}

/// `POST /crm/v3/objects/tickets/merge` (HUBSPOT-API-2.md §2): string ids, 200 with the
/// survivor (the primary's id and values, the oldest create date, `hs_merged_object_ids`),
/// the merged id read as the survivor, 404 OBJECT_NOT_FOUND and 400 VALIDATION_ERROR.
async fn merge_tickets_api(t: TestApp) {
    let api = Api::start(t).await;
    let create = |subject: &str, priority: &str| {
        json!({"properties": {"subject": subject, "hs_pipeline": "0", "hs_pipeline_stage": "1",
            "hs_ticket_priority": priority}})
    };
    let old = api
        .post("/crm/v3/objects/tickets", create("First", "LOW"))
        .await;
    assert_eq!(old.status, 201, "{}", old.body);
    api.t.clock.advance_ms(60_000);
    let primary = api
        .post("/crm/v3/objects/tickets", create("Second", "HIGH"))
        .await;
    assert_eq!(primary.status, 201, "{}", primary.body);
    let old_id = old.body["id"].as_str().unwrap().to_string();
    let primary_id = primary.body["id"].as_str().unwrap().to_string();

    let r = api
        .post(
            "/crm/v3/objects/tickets/merge",
            json!({"primaryObjectId": primary_id, "objectIdToMerge": old_id}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["id"], primary_id);
    assert_eq!(r.body["properties"]["subject"], "Second");
    assert_eq!(r.body["properties"]["hs_ticket_priority"], "HIGH");
    assert_eq!(r.body["properties"]["hs_merged_object_ids"], old_id);
    assert_eq!(r.body["createdAt"], old.body["createdAt"]);
    assert_eq!(
        r.body["properties"]["createdate"],
        old.body["properties"]["createdate"]
    );

    // The merged id reads as the survivor; lists show only the survivor.
    let r = api
        .get(&format!(
            "/crm/v3/objects/tickets/{old_id}?properties=hs_merged_object_ids"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["id"], primary_id);
    assert_eq!(r.body["properties"]["hs_merged_object_ids"], old_id);
    let list = api.get("/crm/v3/objects/tickets").await;
    assert_eq!(ids(&list.body), vec![primary_id.clone()]);
    let archived = api.get("/crm/v3/objects/tickets?archived=true").await;
    assert_eq!(archived.status, 200, "{}", archived.body);
    assert!(
        ids(&archived.body).is_empty(),
        "a merged id is not archived: {}",
        archived.body
    );

    // Refusals: merged away already, missing, itself, malformed.
    let again = api
        .post(
            "/crm/v3/objects/tickets/merge",
            json!({"primaryObjectId": primary_id, "objectIdToMerge": old_id}),
        )
        .await;
    assert_eq!(again.status, 404, "{}", again.body);
    assert_eq!(again.error_category(), "OBJECT_NOT_FOUND");
    let missing = api
        .post(
            "/crm/v3/objects/tickets/merge",
            json!({"primaryObjectId": primary_id, "objectIdToMerge": "999999"}),
        )
        .await;
    assert_eq!(missing.status, 404, "{}", missing.body);
    for body in [
        json!({"primaryObjectId": primary_id, "objectIdToMerge": primary_id}),
        json!({"primaryObjectId": primary_id}),
        json!({"primaryObjectId": "abc", "objectIdToMerge": old_id}),
    ] {
        let r = api.post("/crm/v3/objects/tickets/merge", body).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.error_category(), "VALIDATION_ERROR");
    }
    // Contacts merge on the same route, the primary keeping its id.
    let mut contact_ids = Vec::new();
    for email in ["p@example.com", "d@example.com"] {
        let c = api
            .post(
                "/crm/v3/objects/contacts",
                json!({"properties": {"email": email}}),
            )
            .await;
        assert_eq!(c.status, 201, "{}", c.body);
        contact_ids.push(c.body["id"].as_str().unwrap().to_string());
    }
    let r = api
        .post(
            "/crm/v3/objects/contacts/merge",
            json!({"primaryObjectId": contact_ids[0], "objectIdToMerge": contact_ids[1]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["id"], contact_ids[0]);
    assert_eq!(r.body["properties"]["email"], "p@example.com");
    // Engagements have no merge.
    let r = api
        .post(
            "/crm/v3/objects/notes/merge",
            json!({"primaryObjectId": "1", "objectIdToMerge": "2"}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
}

/// `POST /frontdesk/v1/tickets/{id}/unmerge` and `/split` (issue 15 items 2 and 3): 200 with
/// both tickets, 201 with the new ticket, the links both ways, 400 naming the problem, 404.
async fn unmerge_and_split_api(t: TestApp) {
    use fd_app::domain::{Channel, Workspace};
    use fd_app::{Actor, InboundMessage, NewConversation, TicketCreation};
    let api = Api::start(t).await;
    let create = |subject: &str, priority: &str| {
        json!({"properties": {"subject": subject, "hs_pipeline": "0", "hs_pipeline_stage": "1",
            "hs_ticket_priority": priority}})
    };
    let a = api
        .post("/crm/v3/objects/tickets", create("First", "LOW"))
        .await;
    let b = api
        .post("/crm/v3/objects/tickets", create("Second", "HIGH"))
        .await;
    let a_id = a.body["id"].as_str().unwrap().to_string();
    let b_id = b.body["id"].as_str().unwrap().to_string();
    let r = api
        .post(
            "/crm/v3/objects/tickets/merge",
            json!({"primaryObjectId": b_id, "objectIdToMerge": a_id}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let archived = api
        .get(&format!("/crm/v3/objects/tickets/{a_id}?archived=true"))
        .await;
    assert_eq!(archived.status, 200, "{}", archived.body);
    assert_eq!(
        archived.body["id"], b_id,
        "a merged id is not archived: it reads as the survivor"
    );
    let links = api
        .get(&format!("/frontdesk/v1/tickets/{b_id}/links"))
        .await;
    assert_eq!(links.status, 200, "{}", links.body);
    assert_eq!(links.body["mergedObjectIds"], json!([a_id]));
    let path = format!("/frontdesk/v1/tickets/{b_id}/unmerge");
    let r = api.post(&path, json!({"mergedObjectId": a_id})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["survivor"]["id"], b_id);
    assert_eq!(
        r.body["survivor"]["properties"]["hs_merged_object_ids"],
        Value::Null
    );
    assert_eq!(r.body["restored"]["id"], a_id);
    assert_eq!(r.body["restored"]["properties"]["subject"], "First");
    assert_eq!(
        r.body["restored"]["properties"]["hs_ticket_priority"],
        "LOW"
    );
    let read = api.get(&format!("/crm/v3/objects/tickets/{a_id}")).await;
    assert_eq!(read.body["id"], a_id, "the old id reads as itself again");
    // Refusals: not merged (any more), itself, missing field, unknown ticket.
    for body in [
        json!({"mergedObjectId": a_id}),
        json!({"mergedObjectId": b_id}),
        json!({}),
        json!({"mergedObjectId": "x"}),
    ] {
        let r = api.post(&path, body).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.error_category(), "VALIDATION_ERROR");
    }
    let r = api.post(&path, json!({"mergedObjectId": a_id})).await;
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("was not merged"),
        "{}",
        r.body
    );
    let r = api
        .post(
            "/frontdesk/v1/tickets/999999/unmerge",
            json!({"mergedObjectId": a_id}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);

    // Split: a conversation with three messages on a ticket.
    let app = &api.t.app;
    let msg = |text: &str, id: &str| InboundMessage {
        sender_address: Some("k@customer.example".into()),
        subject: Some("Printer".into()),
        text: text.into(),
        message_id_header: Some(id.into()),
        ..InboundMessage::default()
    };
    let (c, ticket) = app
        .create_conversation(
            &Actor::system(),
            NewConversation {
                channel: Channel::Email,
                channel_account: None,
                workspace: Workspace::HelpDesk,
                team: None,
                owner: None,
                contact: None,
                visitor_name: None,
                visitor_email: None,
                subject: Some("Printer".into()),
                ticket: TicketCreation::Automatic,
            },
            Some(msg("one", "s1@customer.example")),
        )
        .await
        .unwrap();
    let src = ticket.unwrap().id.0.to_string();
    for (text, id) in [
        ("two", "s2@customer.example"),
        ("three", "s3@customer.example"),
    ] {
        app.record_inbound_message(&Actor::system(), c.id, msg(text, id))
            .await
            .unwrap();
    }
    let msgs: Vec<String> = app
        .messages(&Actor::system(), c.id)
        .await
        .unwrap()
        .iter()
        .map(|m| m.id.0.to_string())
        .collect();
    let split = format!("/frontdesk/v1/tickets/{src}/split");
    let r = api
        .post(
            &split,
            json!({"messageIds": [msgs[2]], "properties": {"subject": "The fax"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["properties"]["subject"], "The fax");
    let new_id = r.body["id"].as_str().unwrap().to_string();
    let l = api
        .get(&format!("/frontdesk/v1/tickets/{new_id}/links"))
        .await;
    assert_eq!(l.body["splitFromId"], src);
    let l = api.get(&format!("/frontdesk/v1/tickets/{src}/links")).await;
    assert_eq!(l.body["splitIntoIds"], json!([new_id]));
    for (body, needle) in [
        (json!({"messageIds": []}), "at least one message"),
        (
            json!({"messageIds": msgs[..2]}),
            "at least one message in the conversation",
        ),
        (json!({"messageIds": ["999999"]}), "999999"),
        (json!({"properties": {}}), "messageIds"),
    ] {
        let r = api.post(&split, body).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(
            r.body["message"].as_str().unwrap().contains(needle),
            "{}",
            r.body
        );
    }
    // Undo the split the same way as a merge.
    let r = api
        .post(
            &format!("/frontdesk/v1/tickets/{src}/unmerge"),
            json!({"mergedObjectId": new_id}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["removedId"], new_id);
    assert_eq!(app.messages(&Actor::system(), c.id).await.unwrap().len(), 3);
    let gone = api.get(&format!("/crm/v3/objects/tickets/{new_id}")).await;
    assert_eq!(gone.status, 404, "{}", gone.body);
    // The operations are documented.
    let doc = api.get("/openapi.json").await;
    for p in ["unmerge", "split", "links"] {
        assert!(
            doc.body["paths"]
                .get(format!("/frontdesk/v1/tickets/{{ticketId}}/{p}"))
                .is_some(),
            "{p} is documented"
        );
    }
}
