//! SPEC.md's rules on the API road: the same use cases answer, so the same rules hold.

use fd_app::domain::*;
use fd_testkit::TestApp;
use serde_json::json;

use crate::api_common::{Api, ids};

const THREADS: &str = "/conversations/v3/conversations/threads";

/// INB-10: PATCH of a ticket into a CLOSED stage closes its threads; closed_date is set.
async fn inb_10(t: TestApp) {
    let api = Api::start(t).await;
    let (c, ticket) = api.email_thread("Broken invoice").await;
    let r = api
        .patch(
            &format!("/crm/v3/objects/tickets/{}", ticket.id),
            json!({"properties": {"hs_pipeline_stage": "4"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["properties"]["hs_pipeline_stage"], "4");
    let r = api
        .get(&format!(
            "/crm/v3/objects/tickets/{}?properties=closed_date,hs_pipeline_stage",
            ticket.id
        ))
        .await;
    assert!(
        r.body["properties"]["closed_date"].as_str().is_some(),
        "{}",
        r.body
    );
    let th = api
        .get(&format!("{THREADS}/{}?association=TICKET", c.id))
        .await;
    assert_eq!(th.status, 200);
    assert_eq!(th.body["status"], "CLOSED");
    assert_eq!(
        th.body["threadAssociations"]["associatedTicketId"],
        ticket.id.to_string()
    );
}

/// INB-12: closing a thread through the API leaves its ticket open.
async fn inb_12(t: TestApp) {
    let api = Api::start(t).await;
    let (c, ticket) = api.email_thread("Late parcel").await;
    let r = api
        .patch(&format!("{THREADS}/{}", c.id), json!({"status": "CLOSED"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "CLOSED");
    let tk = api
        .get(&format!(
            "/crm/v3/objects/tickets/{}?properties=hs_pipeline_stage,closed_date",
            ticket.id
        ))
        .await;
    assert_eq!(tk.body["properties"]["hs_pipeline_stage"], "1");
    assert!(tk.body["properties"]["closed_date"].is_null());
    // Reopening works the same way.
    let r = api
        .patch(&format!("{THREADS}/{}", c.id), json!({"status": "OPEN"}))
        .await;
    assert_eq!(r.body["status"], "OPEN");
}

/// INB-13: DELETE of a thread trashes its ticket; PATCH archived=false restores both;
/// DELETE of the ticket trashes the thread.
async fn inb_13(t: TestApp) {
    let api = Api::start(t).await;
    let (c, ticket) = api.email_thread("Wrong size").await;
    let tpath = format!("/crm/v3/objects/tickets/{}", ticket.id);
    assert_eq!(api.delete(&format!("{THREADS}/{}", c.id)).await.status, 204);
    let gone = api.get(&tpath).await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.error_category(), "OBJECT_NOT_FOUND");
    let archived = api.get(&format!("{tpath}?archived=true")).await;
    assert_eq!(archived.status, 200);
    assert_eq!(archived.body["archived"], true);
    assert_eq!(api.get(&format!("{THREADS}/{}", c.id)).await.status, 404);
    let listed = api.get(&format!("{THREADS}?archived=true")).await;
    assert!(ids(&listed.body).contains(&c.id.to_string()));

    let r = api
        .patch(&format!("{THREADS}/{}", c.id), json!({"archived": false}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["archived"], false);
    assert_eq!(api.get(&tpath).await.status, 200);

    assert_eq!(api.delete(&tpath).await.status, 204);
    let th = api.get(&format!("{THREADS}/{}?archived=true", c.id)).await;
    assert_eq!(th.status, 200);
    assert_eq!(th.body["archived"], true);
}

/// INB-04: the ticket–thread association cannot be removed; a second ticket is refused.
async fn inb_04(t: TestApp) {
    let api = Api::start(t).await;
    let (c, ticket) = api.email_thread("Refund").await;
    let path = format!(
        "/crm/v4/objects/tickets/{}/associations/threads/{}",
        ticket.id, c.id
    );
    let r = api.delete(&path).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.error_category(), "VALIDATION_ERROR");
    assert!(r.body["message"].as_str().unwrap().contains("INB-04"));
    let list = api
        .get(&format!(
            "/crm/v4/objects/tickets/{}/associations/threads",
            ticket.id
        ))
        .await;
    assert_eq!(list.body["results"][0]["toObjectId"], c.id.0);
    assert_eq!(list.body["results"][0]["associationTypes"][0]["typeId"], 32);
    let reverse = api
        .get(&format!(
            "/crm/v4/objects/threads/{}/associations/tickets",
            c.id
        ))
        .await;
    assert_eq!(reverse.body["results"][0]["toObjectId"], ticket.id.0);
    // A conversation has at most one ticket.
    let other = api.ticket("Another", &[]).await;
    let r = api
        .put(
            &format!(
                "/crm/v4/objects/tickets/{other}/associations/default/threads/{}",
                c.id
            ),
            None,
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let th = api
        .get(&format!("{THREADS}/{}?association=TICKET", c.id))
        .await;
    assert_eq!(
        th.body["threadAssociations"]["associatedTicketId"],
        ticket.id.to_string()
    );
}

/// HD-19: a conditional stage refuses a ticket without its required properties, with 400
/// VALIDATION_ERROR naming them; with them the move succeeds.
async fn hd_19(t: TestApp) {
    let api = Api::start(t).await;
    let r = api
        .post(
            "/crm/v3/properties/tickets",
            json!({"name": "resolution_code", "label": "Resolution code", "type": "enumeration",
                   "fieldType": "select", "groupName": "ticketinformation",
                   "options": [{"label": "Fixed", "value": "FIXED"}, {"label": "Wontfix", "value": "WONTFIX"}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let stage = api
        .post(
            "/crm/v3/pipelines/tickets/0/stages",
            json!({"label": "Resolved", "displayOrder": 5,
                   "metadata": {"ticketState": "CLOSED", "requiredProperties": "resolution_code"}}),
        )
        .await;
    assert_eq!(stage.status, 201, "{}", stage.body);
    assert_eq!(
        stage.body["metadata"]["requiredProperties"],
        "resolution_code"
    );
    let sid = stage.body["id"].as_str().unwrap().to_string();
    let id = api.ticket("Needs a resolution", &[]).await;
    let path = format!("/crm/v3/objects/tickets/{id}");
    let r = api
        .patch(&path, json!({"properties": {"hs_pipeline_stage": sid}}))
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.error_category(), "VALIDATION_ERROR");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("resolution_code")
    );
    assert_eq!(r.body["errors"][0]["in"], "resolution_code");
    // Nothing changed.
    let now = api
        .get(&format!("{path}?properties=hs_pipeline_stage"))
        .await;
    assert_eq!(now.body["properties"]["hs_pipeline_stage"], "1");
    // A bad option is refused too, naming the allowed ones.
    let r = api
        .patch(
            &path,
            json!({"properties": {"hs_pipeline_stage": sid, "resolution_code": "MAYBE"}}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("INVALID_OPTION"),
        "{}",
        r.body
    );
    let r = api
        .patch(
            &path,
            json!({"properties": {"hs_pipeline_stage": sid, "resolution_code": "FIXED"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["properties"]["hs_pipeline_stage"], sid);
    assert_eq!(r.body["properties"]["resolution_code"], "FIXED");
    // The custom property is searchable.
    let s = api
        .post(
            "/crm/v3/objects/tickets/search",
            json!({"filterGroups": [{"filters": [
                {"propertyName": "resolution_code", "operator": "EQ", "value": "FIXED"}]}]}),
        )
        .await;
    assert_eq!(ids(&s.body), vec![id]);
}

/// HD-09 (and HD-05): a token acts as its user — a team-limited agent's token sees and
/// changes only the team's tickets; a user without Service access gets 403.
async fn hd_09(t: TestApp) {
    let api = Api::start(t).await;
    let red = api.t.team("Red").await;
    let blue = api.t.team("Blue").await;
    api.t
        .agent("rita@example.com", TicketAccessLevel::Team, &["Red"])
        .await;
    let rita = api.token_for("rita@example.com").await;
    let mine = api
        .ticket("Red ticket", &[("hubspot_team_id", &red.to_string())])
        .await;
    let theirs = api
        .ticket("Blue ticket", &[("hubspot_team_id", &blue.to_string())])
        .await;
    let as_rita = |m: reqwest::Method, p: String, b: Option<serde_json::Value>| {
        let api = &api;
        let rita = rita.clone();
        async move { api.send_as(Some(&rita), m, &p, b).await }
    };
    use reqwest::Method;
    let list = as_rita(
        Method::GET,
        "/crm/v3/objects/tickets?limit=100".into(),
        None,
    )
    .await;
    assert_eq!(ids(&list.body), vec![mine.clone()]);
    let search = as_rita(
        Method::POST,
        "/crm/v3/objects/tickets/search".into(),
        Some(json!({"query": "ticket"})),
    )
    .await;
    assert_eq!(search.body["total"], 1);
    assert_eq!(ids(&search.body), vec![mine.clone()]);
    let hidden = as_rita(
        Method::GET,
        format!("/crm/v3/objects/tickets/{theirs}"),
        None,
    )
    .await;
    assert_eq!(hidden.status, 404);
    let patch = as_rita(
        Method::PATCH,
        format!("/crm/v3/objects/tickets/{theirs}"),
        Some(json!({"properties": {"subject": "mine now"}})),
    )
    .await;
    assert_eq!(patch.status, 404);
    let del = as_rita(
        Method::DELETE,
        format!("/crm/v3/objects/tickets/{theirs}"),
        None,
    )
    .await;
    assert_eq!(del.status, 404);
    let batch = as_rita(
        Method::POST,
        "/crm/v3/objects/tickets/batch/read".into(),
        Some(json!({"inputs": [{"id": mine}, {"id": theirs}], "properties": ["subject"], "propertiesWithHistory": []})),
    )
    .await;
    assert_eq!(batch.status, 207);
    assert_eq!(ids(&batch.body), vec![mine.clone()]);
    assert_eq!(batch.body["errors"][0]["context"]["ids"][0], theirs);
    // The blue ticket is untouched.
    let r = api
        .get(&format!(
            "/crm/v3/objects/tickets/{theirs}?properties=subject"
        ))
        .await;
    assert_eq!(r.body["properties"]["subject"], "Blue ticket");

    // HD-05: no Service or Sales access, no tickets; admin actions need admin rights.
    api.t
        .user_with(
            "nora@example.com",
            Role::Agent,
            TicketAccessLevel::All,
            &[],
            false,
        )
        .await;
    let nora = api.token_for("nora@example.com").await;
    let r = api
        .send_as(Some(&nora), Method::GET, "/crm/v3/objects/tickets", None)
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.error_category(), "MISSING_SCOPES");
    let r = as_rita(
        Method::POST,
        "/crm/v3/pipelines/tickets".into(),
        Some(json!({"label": "Mine", "displayOrder": 1, "stages": [{"label": "A", "displayOrder": 0, "metadata": {"ticketState": "OPEN"}}]})),
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.error_category(), "MISSING_SCOPES");
}

/// A revoked token stops working at once; unknown and missing ones are 401.
async fn tokens(t: TestApp) {
    let api = Api::start(t).await;
    let issued = api
        .t
        .app
        .create_api_token(
            &fd_app::Actor::system(),
            "admin@example.com",
            Some("short-lived"),
        )
        .await
        .unwrap();
    let r = api
        .send_as(
            Some(&issued.token),
            reqwest::Method::GET,
            "/crm/v3/owners",
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    api.t
        .app
        .revoke_api_token(&fd_app::Actor::system(), issued.id)
        .await
        .unwrap();
    let r = api
        .send_as(
            Some(&issued.token),
            reqwest::Method::GET,
            "/crm/v3/owners",
            None,
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.error_category(), "INVALID_AUTHENTICATION");
    let r = api
        .send_as(None, reqwest::Method::GET, "/crm/v3/objects/tickets", None)
        .await;
    assert_eq!(r.status, 401);
    let r = api
        .send_as(
            Some("fdpat-unknown"),
            reqwest::Method::GET,
            "/crm/v3/objects/tickets",
            None,
        )
        .await;
    assert_eq!(r.status, 401);
    // Listing shows a short prefix and the state, never the token.
    let listed = api
        .t
        .app
        .api_tokens(&fd_app::Actor::system())
        .await
        .unwrap();
    let rec = listed.iter().find(|t| t.id == issued.id).unwrap();
    assert!(issued.token.starts_with(&rec.prefix));
    assert!(rec.prefix.len() < issued.token.len());
    assert!(rec.revoked_at.is_some());
}

fd_testkit::on_both_backends! {
    inb_10_patching_a_ticket_into_a_closed_stage_closes_its_threads => inb_10;
    inb_12_closing_a_thread_leaves_its_ticket_open => inb_12;
    inb_13_deleting_a_thread_trashes_its_ticket_and_back => inb_13;
    inb_04_ticket_thread_association_cannot_be_removed => inb_04;
    hd_19_conditional_stage_refusal_names_the_missing_properties => hd_19;
    hd_09_a_team_token_sees_and_changes_only_team_tickets => hd_09;
    hd_22_patch_of_hs_pipeline_maps_the_stage_or_names_the_choice => hd_22_move;
    batch_update_applies_hd_19_and_access_per_item_with_207 => batch_update_rules;
    batch_archive_reports_each_refused_id_with_207 => batch_archive_refusals;
    revoked_unknown_and_missing_tokens_are_401 => tokens;
}

/// A pipeline "Billing" (Triage OPEN, Escalated OPEN needing a priority, Done CLOSED) made
/// through the app; returns its id and stage ids by label.
async fn billing(api: &Api) -> (String, std::collections::BTreeMap<String, String>) {
    let admin = fd_app::Actor::system();
    let stage = |label: &str, order: i64, state: StageState, req: &[&str]| fd_app::NewStage {
        label: label.into(),
        display_order: order,
        state,
        required_properties: req.iter().map(|s| s.to_string()).collect(),
    };
    let p = api
        .t
        .app
        .create_pipeline(
            &admin,
            fd_app::NewPipeline {
                label: "Billing".into(),
                display_order: 1,
                stages: vec![
                    stage("Triage", 0, StageState::Open, &[]),
                    stage("Escalated", 1, StageState::Open, &["hs_ticket_priority"]),
                    stage("Done", 2, StageState::Closed, &[]),
                ],
            },
        )
        .await
        .unwrap();
    let stages = p
        .stages
        .iter()
        .map(|s| (s.label.clone(), s.id.to_string()))
        .collect();
    (p.id.to_string(), stages)
}

/// HD-22: `PATCH` with `hs_pipeline` alone maps the status (same name, else same state); with
/// a stage of another pipeline it is a clear 400; with no stage to map to, a 400 naming the
/// choice (`hs_pipeline_stage`) and nothing changes.
async fn hd_22_move(t: TestApp) {
    let api = Api::start(t).await;
    let (billing, stages) = billing(&api).await;
    let open = api.ticket("Open one", &[]).await;
    let r = api
        .patch(
            &format!("/crm/v3/objects/tickets/{open}"),
            json!({"properties": {"hs_pipeline": billing}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["properties"]["hs_pipeline"], billing.as_str());
    assert_eq!(
        r.body["properties"]["hs_pipeline_stage"],
        stages["Triage"].as_str()
    );
    let closed = api
        .ticket("Closed one", &[("hs_pipeline_stage", "4")])
        .await;
    let r = api
        .patch(
            &format!("/crm/v3/objects/tickets/{closed}"),
            json!({"properties": {"hs_pipeline": billing}}),
        )
        .await;
    assert_eq!(
        r.body["properties"]["hs_pipeline_stage"],
        stages["Done"].as_str()
    );
    // A stage of another pipeline.
    let r = api
        .patch(
            &format!("/crm/v3/objects/tickets/{closed}"),
            json!({"properties": {"hs_pipeline": "0", "hs_pipeline_stage": stages["Triage"]}}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["errors"][0]["in"], "hs_pipeline_stage");
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("is not a stage of pipeline 0"),
        "{}",
        r.body
    );
    // A pipeline with no stage of the ticket's name or state: the client must choose.
    let admin = fd_app::Actor::system();
    let intake = api
        .t
        .app
        .create_pipeline(
            &admin,
            fd_app::NewPipeline {
                label: "Intake".into(),
                display_order: 2,
                stages: vec![fd_app::NewStage {
                    label: "Arrived".into(),
                    display_order: 0,
                    state: StageState::Open,
                    required_properties: vec![],
                }],
            },
        )
        .await
        .unwrap();
    let r = api
        .patch(
            &format!("/crm/v3/objects/tickets/{closed}"),
            json!({"properties": {"hs_pipeline": intake.id.to_string()}}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["category"], "VALIDATION_ERROR");
    assert_eq!(r.body["errors"][0]["in"], "hs_pipeline_stage");
    assert_eq!(r.body["errors"][0]["code"], "REQUIRED");
    assert!(
        r.body["message"].as_str().unwrap().contains("Intake"),
        "{}",
        r.body
    );
    let r = api
        .get(&format!(
            "/crm/v3/objects/tickets/{closed}?properties=hs_pipeline"
        ))
        .await;
    assert_eq!(
        r.body["properties"]["hs_pipeline"],
        billing.as_str(),
        "unchanged"
    );
}

/// Batch update: each input is a single update (HD-19, HD-09); the refused ones are in
/// `errors` with their id and reason, the others changed — 207.
async fn batch_update_rules(t: TestApp) {
    let api = Api::start(t).await;
    let (billing, stages) = billing(&api).await;
    let red = api.t.team("Red").await;
    api.t
        .agent("rita@example.com", TicketAccessLevel::Team, &["Red"])
        .await;
    let rita = api.token_for("rita@example.com").await;
    let team = red.to_string();
    let in_billing = [
        ("hs_pipeline", billing.as_str()),
        ("hs_pipeline_stage", stages["Triage"].as_str()),
        ("hubspot_team_id", team.as_str()),
    ];
    let with_priority = api
        .ticket(
            "Has priority",
            &[
                in_billing[0],
                in_billing[1],
                in_billing[2],
                ("hs_ticket_priority", "HIGH"),
            ],
        )
        .await;
    let without = api.ticket("No priority", &in_billing).await;
    let hidden = api.ticket("Other team", &in_billing[..2]).await;
    let esc = stages["Escalated"].clone();
    let body = json!({"inputs": [
        {"id": with_priority, "properties": {"hs_pipeline_stage": esc}},
        {"id": without, "properties": {"hs_pipeline_stage": esc}},
        {"id": hidden, "properties": {"hs_pipeline_stage": esc}},
    ]});
    let r = api
        .send_as(
            Some(&rita),
            reqwest::Method::POST,
            "/crm/v3/objects/tickets/batch/update",
            Some(body),
        )
        .await;
    assert_eq!(r.status, 207, "{}", r.body);
    assert_eq!(ids(&r.body), vec![with_priority.clone()]);
    assert_eq!(r.body["numErrors"], 2);
    let errors = r.body["errors"].as_array().unwrap();
    assert_eq!(errors[0]["context"]["ids"][0], without.as_str());
    assert_eq!(errors[0]["category"], "VALIDATION_ERROR");
    assert_eq!(errors[0]["errors"][0]["code"], "REQUIRED");
    assert_eq!(errors[0]["context"]["properties"][0], "hs_ticket_priority");
    assert_eq!(errors[1]["context"]["ids"][0], hidden.as_str());
    assert_eq!(errors[1]["category"], "OBJECT_NOT_FOUND");
    for (id, stage) in [
        (&with_priority, &esc),
        (&without, &stages["Triage"]),
        (&hidden, &stages["Triage"]),
    ] {
        let r = api
            .get(&format!(
                "/crm/v3/objects/tickets/{id}?properties=hs_pipeline_stage"
            ))
            .await;
        assert_eq!(
            r.body["properties"]["hs_pipeline_stage"],
            stage.as_str(),
            "ticket {id}"
        );
    }
}

/// Batch archive: HubSpot's 204 when every id is archived or already gone (an id outside the
/// token's access reads as gone and stays); a refused id makes it 207 with `errors` naming it.
async fn batch_archive_refusals(t: TestApp) {
    let api = Api::start(t).await;
    let red = api.t.team("Red").await;
    api.t
        .agent("rita@example.com", TicketAccessLevel::Team, &["Red"])
        .await;
    let rita = api.token_for("rita@example.com").await;
    let mine = api
        .ticket("Red ticket", &[("hubspot_team_id", &red.to_string())])
        .await;
    let hidden = api.ticket("Other team", &[]).await;
    let r = api
        .send_as(
            Some(&rita),
            reqwest::Method::POST,
            "/crm/v3/objects/tickets/batch/archive",
            Some(json!({"inputs": [{"id": mine}, {"id": hidden}]})),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(
        api.get(&format!("/crm/v3/objects/tickets/{mine}"))
            .await
            .status,
        404
    );
    assert_eq!(
        api.get(&format!("/crm/v3/objects/tickets/{hidden}"))
            .await
            .status,
        200
    );
    // A user without Service access (HD-05) is refused per id.
    api.t
        .user_with(
            "sam@example.com",
            Role::Agent,
            TicketAccessLevel::All,
            &[],
            false,
        )
        .await;
    let sam = api.token_for("sam@example.com").await;
    let r = api
        .send_as(
            Some(&sam),
            reqwest::Method::POST,
            "/crm/v3/objects/tickets/batch/archive",
            Some(json!({"inputs": [{"id": hidden}]})),
        )
        .await;
    assert_eq!(r.status, 207, "{}", r.body);
    assert_eq!(r.body["results"], json!([]));
    assert_eq!(r.body["numErrors"], 1);
    assert_eq!(r.body["errors"][0]["context"]["ids"][0], hidden.as_str());
    assert_eq!(r.body["errors"][0]["category"], "MISSING_SCOPES");
    assert_eq!(
        api.get(&format!("/crm/v3/objects/tickets/{hidden}"))
            .await
            .status,
        200
    );
}
