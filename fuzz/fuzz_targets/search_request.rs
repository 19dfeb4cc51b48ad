//! Any bytes as the body of `POST /crm/v3/objects/{type}/search`, sent through the real
//! router to a real SQLite database holding a few tickets, contacts and companies: the answer
//! is never a 5xx (bad input is a 400 in HubSpot's shape, checked before the database sees
//! it). The first byte picks the object type and whether a team-scoped agent asks.
#![no_main]

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use fd_app::Actor;
use fd_app::domain::TicketAccessLevel;
use fd_testkit::TestApp;
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

struct World {
    rt: tokio::runtime::Runtime,
    router: axum::Router,
    tokens: [String; 2],
    _t: TestApp,
}

async fn send(router: &axum::Router, token: &str, path: &str, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
    let req = Request::post(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap_or_else(|e| panic!("request: {e}"));
    let res = router.clone().oneshot(req).await.unwrap_or_else(|e| match e {});
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 24)
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    (status, bytes)
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"));
        let (t, router, tokens) = rt.block_on(async {
            let t = TestApp::sqlite().await;
            t.team("Support").await;
            t.admin("admin@example.com").await;
            t.agent("ann@example.com", TicketAccessLevel::Team, &["Support"]).await;
            let router = fd_web::router(t.app.clone());
            let mut tokens = Vec::new();
            for email in ["admin@example.com", "ann@example.com"] {
                let token = t
                    .app
                    .create_api_token(&Actor::system(), email, None)
                    .await
                    .unwrap_or_else(|e| panic!("token: {e}"))
                    .token;
                tokens.push(token);
            }
            let create = async |path: &str, body: String| -> String {
                let (status, out) = send(&router, &tokens[0], path, body.into_bytes()).await;
                assert!(status.is_success(), "seeding {path}: {status} {}", String::from_utf8_lossy(&out));
                let v: serde_json::Value = serde_json::from_slice(&out).unwrap_or_default();
                v["id"].as_str().unwrap_or_default().to_string()
            };
            create("/crm/v3/objects/companies", r#"{"properties":{"name":"Acme","domain":"acme.example"}}"#.into()).await;
            let contact = create("/crm/v3/objects/contacts", r#"{"properties":{"email":"bo@acme.example","firstname":"Bo"}}"#.into()).await;
            create("/crm/v3/objects/tickets", r#"{"properties":{"subject":"Printer on fire","content":"Help","hs_pipeline":"0","hs_pipeline_stage":"1","hs_ticket_priority":"HIGH"}}"#.into()).await;
            create(
                "/crm/v3/objects/tickets",
                format!(r#"{{"properties":{{"subject":"Café crème","hs_pipeline":"0","hs_pipeline_stage":"4"}},"associations":[{{"to":{{"id":"{contact}"}},"types":[{{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":16}}]}}]}}"#),
            )
            .await;
            (t, router, [tokens[0].clone(), tokens[1].clone()])
        });
        World { rt, router, tokens, _t: t }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let w = world();
    let kind = ["tickets", "contacts", "companies"][usize::from(pick % 3)];
    let token = &w.tokens[usize::from((pick / 3) % 2)];
    let path = format!("/crm/v3/objects/{kind}/search");
    let (status, out) = w.rt.block_on(send(&w.router, token, &path, body.to_vec()));
    assert!(
        !status.is_server_error(),
        "{status} for {kind} search {:?}: {}",
        String::from_utf8_lossy(body),
        String::from_utf8_lossy(&out)
    );
});
