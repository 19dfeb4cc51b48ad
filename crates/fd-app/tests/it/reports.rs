//! Reports (issue 16, item 5) on both backends with the injected clock: tickets created and
//! closed per local day, first-response and resolution medians and p90s by team and
//! channel, SLA attainment per clock, open tickets per stage, the team and pipeline filters,
//! the date range's checks, and HD-09: an agent limited to a team's tickets sees only the
//! figures of those tickets; a user without ticket access is refused (HD-05).

use fd_app::domain::local_time::UserTimeZone;
use fd_app::domain::sla::SlaPolicyInput;
use fd_app::domain::*;
use fd_app::{Actor, ReportKind, ReportQuery, Reports, SlaPolicyForm, TimeRow};
use fd_testkit::TestApp;

use crate::common::*;

fd_testkit::on_both_backends! {
    hd_09_reports_count_per_day_time_medians_attainment_and_backlog_in_the_viewers_scope => figures;
    hd_05_reports_need_ticket_access_and_a_valid_range => refusals;
}

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

fn utc(s: &str) -> i64 {
    let tz = UserTimeZone::utc();
    fd_app::domain::local_time::parse_datetime_input(s, &tz).unwrap()
}

fn query(from: &str, to: &str, team: Option<TeamId>) -> ReportQuery {
    ReportQuery {
        from: Some(from.into()),
        to: Some(to.into()),
        team,
        pipeline: None,
        time_zone: UserTimeZone::utc(),
    }
}

async fn all(t: &TestApp, actor: &Actor, q: &ReportQuery) -> Reports {
    t.app.reports(actor, q, &ReportKind::ALL).await.unwrap()
}

/// The manual clock moves a millisecond on every read, so durations lie a few
/// milliseconds off the instants the test set.
#[track_caller]
fn assert_row(row: &TimeRow, label: &str, count: usize, median: i64, p90: i64) {
    assert_eq!((row.label.as_str(), row.count), (label, count), "{row:?}");
    assert!((row.median_ms - median).abs() < 1_000, "median {row:?}");
    assert!((row.p90_ms - p90).abs() < 1_000, "p90 {row:?}");
}

fn days(r: &Reports) -> Vec<(String, i64, i64)> {
    r.per_day
        .iter()
        .map(|d| (d.day.clone(), d.created, d.closed))
        .collect()
}

/// An email ticket of `team` created at `created`, answered by `agent` after `reply_after`
/// (none: unanswered), closed at `closed`.
async fn scenario_ticket(
    t: &TestApp,
    agent: &Actor,
    team: TeamId,
    created: &str,
    reply_after: Option<i64>,
    closed: Option<&str>,
) -> TicketId {
    t.clock.set_ms(utc(created));
    let (c, tk, _) =
        conversation_with_ticket(t, &format!("c{}@customer.example", utc(created))).await;
    update(t, agent, tk.id, &[("hubspot_team_id", &team.to_string())]).await;
    if let Some(after) = reply_after {
        t.clock.set_ms(utc(created) + after);
        t.app.send_reply(agent, c.id, reply("On it")).await.unwrap();
    }
    if let Some(at) = closed {
        t.clock.set_ms(utc(at));
        move_to_stage(t, agent, tk.id, STAGE_CLOSED).await;
    }
    tk.id
}

async fn figures(t: TestApp) {
    hd_20_rule_off(&t).await;
    let (_, admin) = t.admin("lead@desk.example").await;
    let support = t.team("Support").await;
    let sales = t.team("Sales").await;
    let (_, sue) = t
        .agent("sue@desk.example", TicketAccessLevel::Team, &["Support"])
        .await;
    t.app
        .create_sla_policy(
            &admin,
            SlaPolicyForm {
                input: SlaPolicyInput {
                    name: "Everyone".into(),
                    first_response: "1h".into(),
                    ..SlaPolicyInput::default()
                },
                ..SlaPolicyForm::default()
            },
        )
        .await
        .unwrap();
    // Support: answered in 10 and 30 minutes, one closed a day later. Sales: answered
    // late (2 h) and closed after 4 h; one unanswered, its clock still running.
    let a = scenario_ticket(
        &t,
        &admin,
        support,
        "2026-12-01T10:00",
        Some(10 * MINUTE),
        Some("2026-12-02T10:00"),
    )
    .await;
    scenario_ticket(
        &t,
        &admin,
        support,
        "2026-12-01T11:00",
        Some(30 * MINUTE),
        None,
    )
    .await;
    scenario_ticket(
        &t,
        &admin,
        sales,
        "2026-12-02T09:00",
        Some(2 * HOUR),
        Some("2026-12-02T13:00"),
    )
    .await;
    scenario_ticket(&t, &admin, sales, "2026-12-03T09:00", None, None).await;
    t.clock.set_ms(utc("2026-12-03T12:00"));

    let r = all(&t, &admin, &query("2026-12-01", "2026-12-03", None)).await;
    assert_eq!(
        days(&r),
        vec![
            ("2026-12-01".into(), 2, 0),
            ("2026-12-02".into(), 1, 2),
            ("2026-12-03".into(), 1, 0),
        ]
    );
    let fr = &r.first_response.by_team;
    assert_eq!(fr.len(), 2, "{fr:?}");
    assert_row(&fr[0], "Sales", 1, 2 * HOUR, 2 * HOUR);
    // Nearest rank: of two values the median is the smaller, the p90 the larger.
    assert_row(&fr[1], "Support", 2, 10 * MINUTE, 30 * MINUTE);
    assert_eq!(r.first_response.by_channel.len(), 1);
    assert_row(
        &r.first_response.by_channel[0],
        "email",
        3,
        30 * MINUTE,
        2 * HOUR,
    );
    let res = &r.resolution.by_team;
    assert_eq!(res.len(), 2, "{res:?}");
    assert_row(&res[0], "Sales", 1, 4 * HOUR, 4 * HOUR);
    assert_row(&res[1], "Support", 1, 24 * HOUR, 24 * HOUR);
    let fr_sla = &r.sla[0];
    assert_eq!(fr_sla.clock, "first_response");
    assert_eq!((fr_sla.met, fr_sla.breached, fr_sla.open), (2, 1, 1));
    assert_eq!(fr_sla.percent_met(), Some(66.7));
    let new_label = t
        .app
        .pipelines()
        .await
        .unwrap()
        .into_iter()
        .flat_map(|p| p.stages)
        .find(|s| s.id.to_string() == STAGE_NEW)
        .unwrap()
        .label;
    assert_eq!(r.backlog.len(), 1, "{:?}", r.backlog);
    assert_eq!(
        (r.backlog[0].stage.as_str(), r.backlog[0].open),
        (new_label.as_str(), 2)
    );

    // One day: only what happened that day.
    let r = all(&t, &admin, &query("2026-12-02", "2026-12-02", None)).await;
    assert_eq!(days(&r), vec![("2026-12-02".into(), 1, 2)]);
    assert_eq!(r.first_response.by_team.len(), 1);

    // In New York the 10:00 and 11:00 UTC tickets are still on 1 December, and 09:00 UTC on
    // 2 December is 04:00 there: the same day.
    let mut ny = query("2026-12-01", "2026-12-03", None);
    ny.time_zone = UserTimeZone::parse("America/New_York").unwrap();
    let r = all(&t, &admin, &ny).await;
    assert_eq!(
        days(&r),
        vec![
            ("2026-12-01".into(), 2, 0),
            ("2026-12-02".into(), 1, 2),
            ("2026-12-03".into(), 1, 0),
        ]
    );

    // The team filter: Sales only.
    let r = all(&t, &admin, &query("2026-12-01", "2026-12-03", Some(sales))).await;
    assert_eq!(r.per_day.iter().map(|d| d.created).sum::<i64>(), 2);
    assert_eq!(r.first_response.by_team.len(), 1);
    assert_eq!(r.first_response.by_team[0].label, "Sales");
    assert_eq!((r.sla[0].met, r.sla[0].breached, r.sla[0].open), (0, 1, 1));
    // The pipeline filter: the default pipeline holds them all; another holds none.
    let mut q = query("2026-12-01", "2026-12-03", None);
    q.pipeline = Some(PipelineId(0));
    assert_eq!(all(&t, &admin, &q).await.backlog[0].open, 2);
    q.pipeline = Some(PipelineId(987_654));
    let r = all(&t, &admin, &q).await;
    assert!(r.backlog.is_empty() && r.per_day.iter().all(|d| d.created == 0));

    // HD-09: Sue sees Support's tickets only, whatever she asks for.
    let r = all(&t, &sue, &query("2026-12-01", "2026-12-03", None)).await;
    assert_eq!(
        days(&r),
        vec![
            ("2026-12-01".into(), 2, 0),
            ("2026-12-02".into(), 0, 1),
            ("2026-12-03".into(), 0, 0),
        ]
    );
    assert_eq!(r.first_response.by_team.len(), 1);
    assert_row(
        &r.first_response.by_team[0],
        "Support",
        2,
        10 * MINUTE,
        30 * MINUTE,
    );
    assert_eq!((r.sla[0].met, r.sla[0].breached, r.sla[0].open), (2, 0, 0));
    assert_eq!(r.backlog[0].open, 1);
    let r = all(&t, &sue, &query("2026-12-01", "2026-12-03", Some(sales))).await;
    assert_eq!(r.per_day.iter().map(|d| d.created).sum::<i64>(), 0);
    assert!(r.backlog.is_empty());

    // A trashed ticket leaves every figure.
    t.app.trash_ticket(&admin, a).await.unwrap();
    let r = all(&t, &admin, &query("2026-12-01", "2026-12-03", None)).await;
    assert_eq!(r.per_day[0].created, 1);
    assert_eq!(r.resolution.by_team.len(), 1);

    // Default range: the 30 days ending today (the injected clock's 3 December).
    let mut q = query("", "", None);
    q.from = None;
    q.to = None;
    let r = all(&t, &admin, &q).await;
    assert_eq!(r.per_day.len(), 30);
    assert_eq!(r.per_day.last().unwrap().day, "2026-12-03");
    // Only what was asked for is computed.
    let r = t
        .app
        .reports(&admin, &q, &[ReportKind::Backlog])
        .await
        .unwrap();
    assert!(r.per_day.is_empty() && r.sla.is_empty() && !r.backlog.is_empty());
}

async fn refusals(t: TestApp) {
    let (_, nobody) = t
        .user_with(
            "viewer@desk.example",
            Role::Agent,
            TicketAccessLevel::All,
            &[],
            false,
        )
        .await;
    let q = query("2026-12-01", "2026-12-03", None);
    assert_forbidden(t.app.reports(&nobody, &q, &ReportKind::ALL).await);
    let (_, admin) = t.admin("lead@desk.example").await;
    assert_invalid(
        t.app
            .reports(
                &admin,
                &query("2026-12-03", "2026-12-01", None),
                &ReportKind::ALL,
            )
            .await,
        "to",
    );
    assert_invalid(
        t.app
            .reports(
                &admin,
                &query("first", "2026-12-01", None),
                &ReportKind::ALL,
            )
            .await,
        "from",
    );
    assert_invalid(
        t.app
            .reports(
                &admin,
                &query("2024-01-01", "2026-12-01", None),
                &ReportKind::ALL,
            )
            .await,
        "from",
    );
}
