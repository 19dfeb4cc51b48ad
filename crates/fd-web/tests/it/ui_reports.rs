//! Reports over HTTP (issue 16, item 5): the page with its SVG charts and filters, each
//! report's CSV export (`text/csv`, RFC 4180 quoting), the JSON API and its place in
//! `/openapi.json`, HD-09 (a team-limited agent's figures) and HD-05 (403 without ticket
//! access, on the page, the export and the API).

use fd_app::domain::*;
use fd_testkit::TestApp;
use reqwest::StatusCode;

use crate::api_common::Api;
use crate::ui_common::*;

fd_testkit::on_both_backends! {
    hd_09_ui_reports_page_csv_and_api_show_the_viewers_figures => page_csv_api;
    hd_05_ui_reports_need_ticket_access => forbidden;
}

const DAY: i64 = 86_400_000;
/// 2026-12-01T00:00:00Z.
const DEC_1: i64 = 1_796_083_200_000;

async fn page_csv_api(t: TestApp) {
    let api = Api::start(t).await;
    let t = &api.t;
    let emea = t.team("Sales, \"EMEA\"").await;
    let support = t.team("Support").await;
    t.agent("sue@example.com", TicketAccessLevel::Team, &["Support"])
        .await;
    t.clock.set_ms(DEC_1 + 9 * 3_600_000);
    let a = api
        .ticket("Refund", &[("hubspot_team_id", &emea.to_string())])
        .await;
    api.ticket("Login", &[("hubspot_team_id", &support.to_string())])
        .await;
    t.clock.set_ms(DEC_1 + DAY + 9 * 3_600_000);
    let r = api
        .patch(
            &format!("/crm/v3/objects/tickets/{a}"),
            serde_json::json!({"properties": {"hs_pipeline_stage": "4"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let range = "from=2026-12-01&to=2026-12-02";

    // The page: charts drawn as SVG in the page, the filter form, a CSV link per report.
    let admin = Browser::login(&api.base, "admin@example.com").await;
    let p = admin.get(&format!("/reports?{range}")).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p.body.contains("href=\"/reports\" aria-current=\"page\""));
    assert!(p.body.contains("<svg class=\"report-chart\" role=\"img\""));
    assert!(p.body.contains("id=\"volume-created\">2<"), "{}", p.body);
    assert!(p.body.contains("id=\"volume-closed\">1<"));
    for slug in [
        "volume",
        "first-response",
        "resolution",
        "sla",
        "backlog",
        "satisfaction",
    ] {
        assert!(
            p.body.contains(&format!(
                "/reports/export/{slug}?from=2026-12-01&#38;to=2026-12-02\""
            )),
            "{slug}"
        );
    }
    assert!(p.body.contains("value=\"2026-12-01\""));
    assert!(
        !p.body.contains("<script src=\"http"),
        "nothing from elsewhere"
    );

    // CSV: the type, a file name, quoting of a name holding a comma and quotes.
    let c = admin.get(&format!("/reports/export/volume?{range}")).await;
    assert_eq!(c.status, StatusCode::OK);
    assert_eq!(c.headers["content-type"], "text/csv; charset=utf-8");
    assert!(
        c.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("frontdesk-volume-2026-12-01-2026-12-02.csv")
    );
    assert_eq!(
        c.body,
        "day,created,closed\r\n2026-12-01,2,0\r\n2026-12-02,0,1\r\n"
    );
    let c = admin
        .get(&format!("/reports/export/resolution?{range}"))
        .await;
    assert!(
        c.body
            .contains("team,\"Sales, \"\"EMEA\"\"\",1,86400,86400\r\n"),
        "{}",
        c.body
    );
    let c = admin.get(&format!("/reports/export/backlog?{range}")).await;
    assert!(c.body.starts_with("pipeline,stage,open\r\n"));
    assert!(c.body.ends_with(",1\r\n"), "{}", c.body);
    // Filters: the team filter, and bad input is told.
    let c = admin
        .get(&format!("/reports/export/volume?{range}&team={support}"))
        .await;
    assert_eq!(
        c.body,
        "day,created,closed\r\n2026-12-01,1,0\r\n2026-12-02,0,0\r\n"
    );
    assert_eq!(
        admin.get("/reports/export/nothing").await.status,
        StatusCode::NOT_FOUND
    );
    let bad = admin.get("/reports?from=2026-12-09&to=2026-12-01").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("must not be before from"), "{}", bad.body);
    assert_eq!(
        admin.get("/reports?team=sales").await.status,
        StatusCode::BAD_REQUEST
    );

    // HD-09: Sue sees Support's ticket only.
    let sue = Browser::login(&api.base, "sue@example.com").await;
    let c = sue.get(&format!("/reports/export/volume?{range}")).await;
    assert_eq!(
        c.body,
        "day,created,closed\r\n2026-12-01,1,0\r\n2026-12-02,0,0\r\n"
    );
    let sue_token = api.token_for("sue@example.com").await;
    let r = api
        .send_as(
            Some(&sue_token),
            reqwest::Method::GET,
            &format!("/frontdesk/v1/reports/backlog?{range}"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["stages"][0]["open"], 1);

    // The API: one report per call, days in the asked zone.
    let r = api
        .get(&format!(
            "/frontdesk/v1/reports/volume?{range}&timeZone=Europe/Rome"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["timeZone"], "Europe/Rome");
    assert_eq!(r.body["days"][0]["created"], 2);
    assert_eq!(r.body["days"][1]["closed"], 1);
    assert!(r.body.get("stages").is_none());
    let r = api
        .get(&format!(
            "/frontdesk/v1/reports/resolution?{range}&teamId={emea}"
        ))
        .await;
    assert_eq!(r.body["times"]["byTeam"][0]["name"], "Sales, \"EMEA\"");
    assert_eq!(
        r.body["times"]["byTeam"][0]["medianMs"].as_i64().unwrap() / 1000,
        86_400
    );
    assert_eq!(api.get("/frontdesk/v1/reports/nothing").await.status, 404);
    assert_eq!(
        api.get("/frontdesk/v1/reports/sla?from=soon").await.status,
        400
    );
    assert_eq!(
        api.get("/frontdesk/v1/reports/sla?timeZone=Mars/Olympus")
            .await
            .status,
        400
    );
    let doc = api.get("/openapi.json").await;
    assert!(doc.body["paths"]["/frontdesk/v1/reports/{report}"]["get"].is_object());
}

async fn forbidden(t: TestApp) {
    let api = Api::start(t).await;
    let t = &api.t;
    t.user_with(
        "viewer@example.com",
        Role::Agent,
        TicketAccessLevel::All,
        &[],
        false,
    )
    .await;
    let b = Browser::login(&api.base, "viewer@example.com").await;
    let home = b.get("/inbox").await;
    assert!(
        !home.body.contains("href=\"/reports\""),
        "no link without access"
    );
    assert_eq!(b.get("/reports").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        b.get("/reports/export/volume").await.status,
        StatusCode::FORBIDDEN
    );
    let token = api.token_for("viewer@example.com").await;
    let r = api
        .send_as(
            Some(&token),
            reqwest::Method::GET,
            "/frontdesk/v1/reports/volume",
            None,
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
}
