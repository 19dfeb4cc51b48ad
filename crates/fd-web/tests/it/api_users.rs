//! HubSpot's users object over HTTP (HUBSPOT-API-2.md §8): `/crm/v3/objects/users` and its
//! type id `0-115` — list with paging, read, PATCH (availability through the same use case as
//! the top bar's toggle, so the chat widget follows it), batch read and update, search, the
//! 400 shapes of bad values, who may change whom, and 405 for create and archive.

use fd_app::Actor;
use fd_app::domain::*;
use fd_testkit::TestApp;
use reqwest::Method;
use serde_json::json;

use crate::api_common::Api;

fd_testkit::on_both_backends! {
    users_object_list_read_patch_batch_and_search => users_object;
    users_object_refuses_bad_values_other_users_and_create => users_object_refusals;
}

async fn users_object(t: TestApp) {
    let api = Api::start(t).await;
    let team = api.t.team("Support").await;
    let (ann, ann_actor) = api
        .t
        .agent("ann@example.com", TicketAccessLevel::All, &["Support"])
        .await;
    let channel = api
        .t
        .app
        .create_chat_channel(&Actor::system(), "Website", team, Workspace::HelpDesk)
        .await
        .unwrap()
        .id;
    api.t.app.set_availability(&ann_actor, true).await.unwrap();
    assert!(api.t.app.chat_view(channel, None).await.unwrap().available);
    let admin = api
        .t
        .app
        .user_by_email("admin@example.com")
        .await
        .unwrap()
        .unwrap();

    // List, with the requested properties, in id order and paged.
    let r = api
        .get("/crm/v3/objects/users?limit=1&properties=hs_availability_status,hs_email,hubspot_owner_id,hubspot_team_id,hs_standard_time_zone,no_such")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let first = &r.body["results"][0];
    assert_eq!(first["id"], admin.id.to_string());
    assert_eq!(first["properties"]["hs_email"], "admin@example.com");
    assert_eq!(first["properties"]["hs_availability_status"], "away");
    assert_eq!(first["properties"]["hs_standard_time_zone"], "UTC");
    assert_eq!(
        first["properties"]["hubspot_owner_id"],
        admin.id.to_string()
    );
    assert!(first["properties"].get("no_such").is_none());
    assert_eq!(first["archived"], false);
    assert!(first["createdAt"].as_str().unwrap().ends_with('Z'));
    let after = r.body["paging"]["next"]["after"]
        .as_str()
        .unwrap()
        .to_string();
    let r = api
        .get(&format!(
            "/crm/v3/objects/0-115?after={after}&properties=hs_availability_status,hubspot_team_id,hs_email"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["results"].as_array().unwrap().len(), 1);
    let second = &r.body["results"][0];
    assert_eq!(second["id"], ann.id.to_string());
    assert_eq!(second["properties"]["hs_availability_status"], "available");
    assert_eq!(second["properties"]["hubspot_team_id"], team.to_string());
    assert!(r.body.get("paging").is_none());

    // The owners API's id for the user is the users object's hubspot_owner_id.
    let owner = api.get(&format!("/crm/v3/owners/{}", ann.id)).await;
    assert_eq!(owner.body["email"], "ann@example.com");

    // PATCH to away goes through the toggle's use case: the chat widget finds nobody.
    let path = format!("/crm/v3/objects/users/{}", ann.id);
    let r = api
        .patch(
            &path,
            json!({"properties": {
                "hs_availability_status": "away",
                "hs_standard_time_zone": "America/Detroit",
                "hs_working_hours": "[{\"days\":\"MONDAY_TO_FRIDAY\",\"startMinute\":540,\"endMinute\":1020}]",
                "hs_job_title": "Support lead",
            }}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["properties"]["hs_availability_status"], "away");
    assert_eq!(r.body["properties"]["hs_job_title"], "Support lead");
    assert!(!api.t.app.availability(ann.id).await.unwrap());
    assert!(!api.t.app.chat_view(channel, None).await.unwrap().available);
    // The time zone is the profile's own.
    let profile = api
        .t
        .app
        .user_by_email("ann@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(profile.time_zone, "America/Detroit");
    // The administrator changed someone else: recorded with actor and time.
    let changes = api
        .t
        .app
        .admin_changes(
            &Actor::system(),
            fd_app::domain::entities::AdminObject::User,
        )
        .await
        .unwrap();
    let ann_changes: Vec<_> = changes
        .iter()
        .filter(|c| c.object_id == ann.id.0 && c.action == "user_property_changed")
        .collect();
    assert_eq!(ann_changes.len(), 4, "{changes:?}");
    assert!(
        ann_changes
            .iter()
            .all(|c| c.actor_user_id == Some(admin.id))
    );

    // Read by id and by type id, with the stored working hours.
    let r = api
        .get(&format!(
            "/crm/v3/objects/0-115/{}?properties=hs_working_hours,hs_job_title,hs_standard_time_zone",
            ann.id
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["properties"]["hs_working_hours"],
        "[{\"days\":\"MONDAY_TO_FRIDAY\",\"startMinute\":540,\"endMinute\":1020}]"
    );
    assert_eq!(
        r.body["properties"]["hs_standard_time_zone"],
        "America/Detroit"
    );
    let r = api
        .get("/crm/v3/objects/users/ann@example.com?idProperty=hs_email")
        .await;
    assert_eq!(r.body["id"], ann.id.to_string());
    let r = api.get("/crm/v3/objects/users/999999").await;
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.error_category(), "OBJECT_NOT_FOUND");

    // Batch update back to available (the widget follows), and batch read with a miss.
    let r = api
        .post(
            "/crm/v3/objects/users/batch/update",
            json!({"inputs": [{"id": ann.id.to_string(), "properties": {"hs_availability_status": "available"}}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["results"][0]["properties"]["hs_availability_status"],
        "available"
    );
    assert!(api.t.app.chat_view(channel, None).await.unwrap().available);
    let r = api
        .post(
            "/crm/v3/objects/users/batch/read",
            json!({"properties": ["hs_email"], "inputs": [{"id": ann.id.to_string()}, {"id": "424242"}]}),
        )
        .await;
    assert_eq!(r.status, 207, "{}", r.body);
    assert_eq!(
        r.body["results"][0]["properties"]["hs_email"],
        "ann@example.com"
    );
    assert_eq!(r.body["errors"][0]["context"]["ids"][0], "424242");

    // Search: the CRM search's operators on the users properties, one sort, paging.
    let r = api
        .post(
            "/crm/v3/objects/users/search",
            json!({"filterGroups": [{"filters": [
                {"propertyName": "hs_availability_status", "operator": "EQ", "value": "available"}]}],
                "properties": ["hs_email"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["total"], 1);
    assert_eq!(
        r.body["results"][0]["properties"]["hs_email"],
        "ann@example.com"
    );
    let r = api
        .post(
            "/crm/v3/objects/users/search",
            json!({"filterGroups": [{"filters": [
                {"propertyName": "hs_email", "operator": "CONTAINS_TOKEN", "value": "*@example.com"}]}],
                "sorts": [{"propertyName": "hs_email", "direction": "DESCENDING"}], "limit": 1}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["total"], 2);
    assert_eq!(r.body["results"][0]["id"], ann.id.to_string());
    assert_eq!(r.body["paging"]["next"]["after"], "1");
    let r = api
        .post(
            "/crm/v3/objects/users/search",
            json!({"query": "SUPPORT LEAD"}),
        )
        .await;
    assert_eq!(r.body["total"], 1, "{}", r.body);
    let r = api
        .post(
            "/crm/v3/objects/users/search",
            json!({"filterGroups": [{"filters": [{"propertyName": "colour", "operator": "EQ", "value": "red"}]}]}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.error_category(), "VALIDATION_ERROR");
    assert_eq!(r.body["errors"][0]["code"], "PROPERTY_DOESNT_EXIST");
}

async fn users_object_refusals(t: TestApp) {
    let api = Api::start(t).await;
    api.t.team("Support").await;
    let (ann, _) = api
        .t
        .agent("ann@example.com", TicketAccessLevel::All, &["Support"])
        .await;
    let (bob, _) = api
        .t
        .agent("bob@example.com", TicketAccessLevel::All, &["Support"])
        .await;
    let ann_token = api.token_for("ann@example.com").await;
    let path = format!("/crm/v3/objects/users/{}", ann.id);

    // Unknown, read-only and malformed values: HubSpot's 400 with one entry per problem.
    let r = api
        .patch(
            &path,
            json!({"properties": {
                "hs_email": "new@example.com",
                "favourite_colour": "red",
                "hs_working_hours": "[{\"days\":\"WEEKDAYS\",\"startMinute\":540,\"endMinute\":1020}]",
                "hs_availability_status": "busy",
            }}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.error_category(), "VALIDATION_ERROR");
    let mut codes: Vec<&str> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    codes.sort();
    assert_eq!(
        codes,
        [
            "INVALID_OPTION",
            "INVALID_OPTION",
            "PROPERTY_DOESNT_EXIST",
            "READ_ONLY_VALUE"
        ]
    );
    let r = api
        .patch(&path, json!({"properties": {"hs_standard_time_zone": ""}}))
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["errors"][0]["code"], "REQUIRED");
    let r = api.patch(&path, json!({})).await;
    assert_eq!(r.status, 400, "{}", r.body);
    // Nothing was written by the refused requests.
    assert_eq!(
        api.t
            .app
            .user_by_email("ann@example.com")
            .await
            .unwrap()
            .unwrap()
            .email,
        "ann@example.com"
    );

    // An agent's token changes its own user, not another's (an administrator's permission).
    let r = api
        .send_as(
            Some(&ann_token),
            Method::PATCH,
            &path,
            Some(json!({"properties": {"hs_availability_status": "available"}})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(api.t.app.availability(ann.id).await.unwrap());
    let r = api
        .send_as(
            Some(&ann_token),
            Method::PATCH,
            &format!("/crm/v3/objects/users/{}", bob.id),
            Some(json!({"properties": {"hs_availability_status": "available"}})),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(!api.t.app.availability(bob.id).await.unwrap());
    // …but reads them all.
    let r = api
        .send_as(Some(&ann_token), Method::GET, "/crm/v3/objects/users", None)
        .await;
    assert_eq!(r.body["results"].as_array().unwrap().len(), 3, "{}", r.body);
    // No token, no users.
    let r = api
        .send_as(None, Method::GET, "/crm/v3/objects/users", None)
        .await;
    assert_eq!(r.status, 401);

    // Users are created and deactivated in Settings → Users.
    let r = api
        .post(
            "/crm/v3/objects/users",
            json!({"properties": {"hs_email": "new@example.com"}}),
        )
        .await;
    assert_eq!(r.status, 405, "{}", r.body);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("Settings → Users")
    );
    let r = api.delete(&path).await;
    assert_eq!(r.status, 405, "{}", r.body);
    let r = api
        .post(
            "/crm/v3/objects/0-115/batch/archive",
            json!({"inputs": [{"id": ann.id.to_string()}]}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("Settings → Users"),
        "{}",
        r.body
    );
    assert_eq!(api.t.app.users().await.unwrap().len(), 3);

    // A deactivated user is archived: not listed, not patched.
    api.t
        .app
        .set_user_active(&Actor::system(), bob.id, false)
        .await
        .unwrap();
    let r = api
        .patch(
            &format!("/crm/v3/objects/users/{}", bob.id),
            json!({"properties": {"hs_job_title": "Gone"}}),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = api.get("/crm/v3/objects/users?archived=true").await;
    assert_eq!(r.body["results"][0]["id"], bob.id.to_string(), "{}", r.body);
    assert_eq!(r.body["results"][0]["archived"], true);
}
