//! Web forms on the wire (HD-06): `/account-info/v3/details`, the forms v3 API in HubSpot's
//! shape (with and without the trailing slash), the public submission endpoint (CORS and its
//! preflight, JSON and plain HTML form bodies, HubSpot's `errorType`s, 404s, the honeypot,
//! the per-address limit) and the hosted page.

use fd_app::Actor;
use fd_app::ConversationListQuery;
use fd_app::domain::*;
use fd_testkit::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

use crate::api_common::Api;
use crate::ui_common::*;

fd_testkit::on_both_backends! {
    hd_06_account_details_give_the_stable_portal_id => account_details;
    hd_06_forms_v3_definitions_in_hubspots_shape => definitions;
    hd_06_public_submissions_answer_in_hubspots_shape_with_cors => submissions;
    hd_06_submissions_are_limited_per_client_address => rate_limit;
    hd_06_the_hosted_page_works_without_javascript => hosted_page;
}

fn support_form() -> Value {
    json!({
        "name": "Support form",
        "formType": "hubspot",
        "fieldGroups": [
            {"groupType": "default_group", "richTextType": "text", "fields": [
                {"objectTypeId": "0-1", "name": "email", "label": "Email", "fieldType": "email",
                 "required": true, "hidden": false, "dependentFields": []}]},
            {"groupType": "default_group", "richTextType": "text", "fields": [
                {"objectTypeId": "0-1", "name": "firstname", "label": "First name",
                 "fieldType": "single_line_text", "required": false, "hidden": false}]},
            {"groupType": "default_group", "richTextType": "text", "fields": [
                {"objectTypeId": "0-5", "name": "subject", "label": "Subject",
                 "fieldType": "single_line_text", "required": true, "hidden": false}]},
        ],
        "configuration": {"language": "en", "postSubmitAction": {"type": "thank_you", "value": "Thanks, we got it."}},
        "displayOptions": {"renderRawHtml": false, "theme": "default_style", "submitButtonText": "Send", "style": {}},
        "legalConsentOptions": {"type": "none"},
    })
}

async fn conversation_count(t: &TestApp) -> usize {
    t.app
        .list_conversations(
            &Actor::system(),
            &ConversationListQuery {
                limit: 1000,
                ..ConversationListQuery::default()
            },
        )
        .await
        .unwrap()
        .len()
}

async fn account_details(t: TestApp) {
    let api = Api::start(t).await;
    let portal = api.t.app.portal_id().await.unwrap();
    let r = api.get("/account-info/v3/details").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["portalId"], json!(portal));
    assert!(r.body["timeZone"].is_string() && r.body["uiDomain"].is_string());
    // Again: the same id (it is stored, not drawn per request).
    assert_eq!(
        api.get("/account-info/v3/details").await.body["portalId"],
        json!(portal)
    );
    let anonymous = api
        .send_as(None, Method::GET, "/account-info/v3/details", None)
        .await;
    assert_eq!(anonymous.status, 401);
}

async fn definitions(t: TestApp) {
    let api = Api::start(t).await;
    api.t.team("Support").await;
    let team = api.t.app.team_named("Support").await.unwrap();
    let mut body = support_form();
    body["teamId"] = json!(team.to_string());
    // Both clients send the trailing slash; the spec spells it without.
    let created = api.post("/marketing/v3/forms/", body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let f = &created.body;
    let id = f["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 36, "a GUID: {id}");
    assert_eq!(f["formType"], "hubspot");
    assert_eq!(f["archived"], false);
    assert_eq!(f["connectedTo"], "help_desk");
    assert_eq!(f["teamId"], json!(team.to_string()));
    assert_eq!(
        f["configuration"]["postSubmitAction"],
        json!({"type": "thank_you", "value": "Thanks, we got it."})
    );
    assert_eq!(f["legalConsentOptions"], json!({"type": "none"}));
    let fields: Vec<&Value> = f["fieldGroups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["fields"].as_array().unwrap())
        .collect();
    assert_eq!(fields.len(), 3);
    assert_eq!(fields[0]["name"], "email");
    assert_eq!(fields[0]["fieldType"], "email");
    assert_eq!(fields[0]["objectTypeId"], "0-1");
    assert_eq!(fields[0]["required"], true);
    assert!(fields[0]["validation"]["blockedEmailDomains"].is_array());
    assert_eq!(fields[2]["objectTypeId"], "0-5");
    for key in ["createdAt", "updatedAt", "configuration", "displayOptions"] {
        assert!(!f[key].is_null(), "{key} missing: {f}");
    }
    // Read, list (with and without the slash), paging.
    let read = api.get(&format!("/marketing/v3/forms/{id}")).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["name"], "Support form");
    let second = api
        .post(
            "/marketing/v3/forms",
            json!({"name": "Second", "connectedTo": "inbox"}),
        )
        .await;
    assert_eq!(second.status, 201, "{}", second.body);
    assert_eq!(second.body["connectedTo"], "inbox");
    // Without fields: email (required), first and last name, subject and message.
    assert_eq!(second.body["fieldGroups"].as_array().unwrap().len(), 5);
    let page = api.get("/marketing/v3/forms/?limit=1").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.body["results"][0]["id"], json!(id));
    let after = page.body["paging"]["next"]["after"]
        .as_str()
        .unwrap()
        .to_string();
    let next = api
        .get(&format!("/marketing/v3/forms?limit=1&after={after}"))
        .await;
    assert_eq!(next.body["results"][0]["name"], "Second");
    assert!(next.body.get("paging").is_none(), "{}", next.body);
    // PATCH changes what it names; PUT needs the whole definition.
    let patched = api
        .patch(
            &format!("/marketing/v3/forms/{id}"),
            json!({"name": "Help form", "configuration": {"postSubmitAction": {"type": "redirect_url", "value": "https://example.com/thanks"}}}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["name"], "Help form");
    assert_eq!(patched.body["fieldGroups"].as_array().unwrap().len(), 3);
    assert_eq!(
        patched.body["configuration"]["postSubmitAction"]["type"],
        "redirect_url"
    );
    let partial = api
        .put(
            &format!("/marketing/v3/forms/{id}"),
            Some(json!({"name": "X"})),
        )
        .await;
    assert_eq!(partial.status, 400);
    assert_eq!(partial.error_category(), "VALIDATION_ERROR");
    let replaced = api
        .put(&format!("/marketing/v3/forms/{id}"), Some(support_form()))
        .await;
    assert_eq!(replaced.status, 200, "{}", replaced.body);
    assert_eq!(replaced.body["name"], "Support form");
    // Refusals, in HubSpot's error shape.
    for bad in [
        json!({"name": "A", "formType": "captured"}),
        json!({"name": "A", "fieldGroups": [{"fields": [{"objectTypeId": "0-1", "name": "shoe_size"}]}]}),
        json!({"name": "A", "fieldGroups": [{"fields": [{"objectTypeId": "0-1", "name": "firstname"}]}]}),
        json!({"name": "A", "configuration": {"postSubmitAction": {"type": "redirect_url", "value": "javascript:x"}}}),
        json!({"name": "A", "teamId": "999999"}),
        json!({"name": ""}),
    ] {
        let r = api.post("/marketing/v3/forms", bad.clone()).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert_eq!(r.error_category(), "VALIDATION_ERROR");
    }
    // Agents may not build forms.
    api.t
        .agent("agent@example.com", TicketAccessLevel::All, &["Support"])
        .await;
    let agent = api.token_for("agent@example.com").await;
    let r = api
        .send_as(
            Some(&agent),
            Method::POST,
            "/marketing/v3/forms",
            Some(support_form()),
        )
        .await;
    assert_eq!(r.status, 403);
    // Archive: 204, then 404 unless archived=true.
    let gone = api.delete(&format!("/marketing/v3/forms/{id}")).await;
    assert_eq!(gone.status, 204);
    assert_eq!(
        api.get(&format!("/marketing/v3/forms/{id}")).await.status,
        404
    );
    let archived = api
        .get(&format!("/marketing/v3/forms/{id}?archived=true"))
        .await;
    assert_eq!(archived.status, 200);
    assert_eq!(archived.body["archived"], true);
    assert!(archived.body["archivedAt"].is_string());
    assert_eq!(
        api.delete(&format!("/marketing/v3/forms/{id}"))
            .await
            .status,
        404
    );
    let unknown = api.get("/marketing/v3/forms/not-a-form").await;
    assert_eq!(unknown.status, 404);
}

async fn create_form(api: &Api, body: Value) -> String {
    let r = api.post("/marketing/v3/forms", body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

async fn submissions(t: TestApp) {
    let api = Api::start(t).await;
    api.t.team("Support").await;
    let id = create_form(&api, support_form()).await;
    let portal = api.t.app.portal_id().await.unwrap();
    let path = format!("/submissions/v3/integration/submit/{portal}/{id}");
    let url = format!("{}{path}", api.base);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // The preflight of a browser on another site.
    let pre = http
        .request(Method::OPTIONS, &url)
        .header("Origin", "https://customer.example")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(pre.status().is_success(), "{}", pre.status());
    assert_eq!(pre.headers()["access-control-allow-origin"], "*");
    assert!(
        pre.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    assert!(
        pre.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_ascii_lowercase()
            .contains("content-type")
    );
    // HubSpot's JSON body, no token.
    let ok = http
        .post(&url)
        .header("Origin", "https://customer.example")
        .json(&json!({
            "fields": [
                {"objectTypeId": "0-1", "name": "email", "value": "ada@example.com"},
                {"objectTypeId": "0-5", "name": "subject", "value": "Printer on fire"},
            ],
            "submittedAt": "1767225600000",
            "context": {"pageUri": "https://customer.example/help", "pageName": "Help"},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["access-control-allow-origin"], "*");
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body, json!({"inlineMessage": "Thanks, we got it."}));
    assert_eq!(conversation_count(&api.t).await, 1);
    // Refusals: 400 with HubSpot's body and errorTypes, still readable cross-origin.
    let cases: [(Value, &[&str]); 3] = [
        (
            json!({"fields": [{"name": "email", "value": "nope"}, {"objectTypeId": "0-5", "name": "subject", "value": "x"}]}),
            &["INVALID_EMAIL"],
        ),
        (
            json!({"fields": [{"name": "email", "value": "a@example.com"}]}),
            &["REQUIRED_FIELD"],
        ),
        (
            json!({"fields": [{"name": "email", "value": "a@example.com"}, {"objectTypeId": "0-5", "name": "subject", "value": "x"}, {"name": "favourite_colour", "value": "blue"}]}),
            &["FIELD_NOT_IN_FORM_DEFINITION"],
        ),
    ];
    for (bad, types) in cases {
        let r = http.post(&url).json(&bad).send().await.unwrap();
        assert_eq!(r.status(), 400);
        assert_eq!(r.headers()["access-control-allow-origin"], "*");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["status"], "error");
        assert_eq!(body["correlationId"].as_str().unwrap().len(), 36);
        let got: Vec<&str> = body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["errorType"].as_str().unwrap())
            .collect();
        assert_eq!(got, types, "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .starts_with("Error in 'fields."),
            "{body}"
        );
    }
    assert_eq!(conversation_count(&api.t).await, 1);
    // A plain HTML form's fields: JSON for a script, a page for a browser.
    let form_body = [
        ("email", "grace@example.com"),
        ("subject", "Plain form"),
        ("fd_website", ""),
    ];
    let plain = http.post(&url).form(&form_body).send().await.unwrap();
    assert_eq!(plain.status(), 200);
    let body: Value = plain.json().await.unwrap();
    assert_eq!(body["inlineMessage"], "Thanks, we got it.");
    let page = http
        .post(&url)
        .header("Accept", "text/html,application/xhtml+xml")
        .form(&form_body)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Thanks, we got it."));
    assert_eq!(conversation_count(&api.t).await, 3);
    // The honeypot: answered as a success, nothing stored.
    let bot = http
        .post(&url)
        .form(&[
            ("email", "bot@spam.example"),
            ("subject", "Buy now"),
            ("fd_website", "http://spam.example"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bot.status(), 200);
    assert_eq!(conversation_count(&api.t).await, 3);
    // A redirect form answers redirectUri (and a browser is sent there).
    let mut redirect = support_form();
    redirect["configuration"]["postSubmitAction"] =
        json!({"type": "redirect_url", "value": "https://customer.example/thanks"});
    let rid = create_form(&api, redirect).await;
    let rurl = format!(
        "{}/submissions/v3/integration/submit/{portal}/{rid}",
        api.base
    );
    let fields = json!({"fields": [{"name": "email", "value": "r@example.com"}, {"name": "subject", "value": "R"}]});
    let r: Value = http
        .post(&rurl)
        .json(&fields)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r, json!({"redirectUri": "https://customer.example/thanks"}));
    let browser = http
        .post(&rurl)
        .header("Accept", "text/html")
        .form(&[("email", "r@example.com"), ("subject", "R")])
        .send()
        .await
        .unwrap();
    assert_eq!(browser.status(), 303);
    assert_eq!(
        browser.headers()["location"],
        "https://customer.example/thanks"
    );
    // 404: unknown form, wrong portal, archived form.
    let valid = json!({"fields": [{"name": "email", "value": "a@example.com"}, {"name": "subject", "value": "x"}]});
    for p in [
        format!("/submissions/v3/integration/submit/{portal}/00000000-0000-4000-8000-000000000000"),
        format!("/submissions/v3/integration/submit/{}/{id}", portal + 1),
        format!("/submissions/v3/integration/submit/abc/{id}"),
    ] {
        let r = api
            .send_as(None, Method::POST, &p, Some(valid.clone()))
            .await;
        assert_eq!(r.status, 404, "{p}: {}", r.body);
        assert_eq!(r.error_category(), "OBJECT_NOT_FOUND");
    }
    assert_eq!(
        api.delete(&format!("/marketing/v3/forms/{id}"))
            .await
            .status,
        204
    );
    let r = api.send_as(None, Method::POST, &path, Some(valid)).await;
    assert_eq!(r.status, 404);
    // Not JSON nor form fields.
    let r = http
        .post(&url)
        .header("Content-Type", "text/plain")
        .body("email=a@example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
}

async fn rate_limit(t: TestApp) {
    let base = serve_with_peers(&t).await;
    t.team("Support").await;
    let api = Api::start(t).await;
    let id = create_form(&api, support_form()).await;
    let portal = api.t.app.portal_id().await.unwrap();
    let url = format!("{base}/submissions/v3/integration/submit/{portal}/{id}");
    let http = reqwest::Client::new();
    // Every request counts (refused ones are cheap to send); the clock stands still.
    let still = api.t.app.now();
    for _ in 0..fd_app::SUBMIT_BURST {
        api.t.clock.set_ms(still);
        let r = http
            .post(&url)
            .json(&json!({"fields": []}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
    }
    api.t.clock.set_ms(still);
    let before = conversation_count(&api.t).await;
    let r = http
        .post(&url)
        .json(&json!({"fields": [{"name": "email", "value": "a@example.com"}, {"name": "subject", "value": "x"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert!(r.headers().contains_key("retry-after"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "error");
    assert_eq!(body["category"], "RATE_LIMITS");
    assert_eq!(conversation_count(&api.t).await, before);
    // The hosted page shares the budget.
    api.t.clock.set_ms(still);
    let page = Browser::anonymous(&base)
        .post_raw(
            &format!("/forms/{id}"),
            &[("email", "a@example.com"), ("subject", "x")],
            &[],
        )
        .await;
    assert_eq!(page.status, 429);
}

async fn hosted_page(t: TestApp) {
    let base = serve(&t).await;
    t.team("Support").await;
    let api = Api::start(t).await;
    let id = create_form(&api, support_form()).await;
    let anon = Browser::anonymous(&base);
    let page = anon.get(&format!("/forms/{id}")).await;
    assert_eq!(page.status, 200);
    for needle in [
        "<label for=\"f-email\">Email",
        "name=\"email\" type=\"email\"",
        "name=\"subject\"",
        "name=\"fd_website\"",
        &format!("action=\"/forms/{id}\""),
    ] {
        assert!(
            page.body.contains(needle),
            "{needle} missing: {}",
            page.body
        );
    }
    // Missing the required email: the form again, with the reason next to the field.
    let again = anon
        .post_raw(
            &format!("/forms/{id}"),
            &[
                ("email", ""),
                ("subject", "Lost parcel"),
                ("fd_website", ""),
            ],
            &[],
        )
        .await;
    assert_eq!(again.status, 400);
    assert!(
        again.body.contains("aria-invalid=\"true\""),
        "{}",
        again.body
    );
    assert!(
        again.body.contains("value=\"Lost parcel\""),
        "{}",
        again.body
    );
    assert_eq!(conversation_count(&api.t).await, 0);
    let done = anon
        .post_raw(
            &format!("/forms/{id}"),
            &[
                ("email", "eve@example.com"),
                ("subject", "Lost parcel"),
                ("fd_website", ""),
            ],
            &[],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Thanks, we got it."), "{}", done.body);
    assert_eq!(conversation_count(&api.t).await, 1);
    assert_eq!(
        anon.get("/forms/00000000-0000-4000-8000-000000000000")
            .await
            .status,
        404
    );
}
