//! The reports page (issue 16, item 5): `/reports` shows tickets created and closed per day,
//! first-response and resolution medians and p90s by team, agent and channel, SLA attainment
//! per clock and open tickets per stage, for a date range (the viewer's time zone) and an
//! optional team and pipeline; `/reports/export/{report}` serves each as CSV. Charts are SVG
//! drawn here from the figures (no script, nothing fetched from elsewhere), each with the
//! table of its numbers beside it.
//!
//! Only translates requests into `fd_app::App::reports` (HD-09 and HD-05 apply there) and
//! lays out the answer; must not contain SQL or compute a figure.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use fd_app::domain::local_time::UserTimeZone;
use fd_app::domain::reports::clock_label;
use fd_app::domain::sla::format_duration;
use fd_app::domain::{PipelineId, TeamId};
use fd_app::{ReportKind, ReportQuery, Reports, TimeRow, TimeTables};
use serde::Deserialize;

use super::{Agent, Chrome, UiError, UiResult, UiState, page, with_security_headers};

pub(crate) fn routes() -> Router<UiState> {
    Router::new()
        .route("/reports", get(reports_page))
        .route("/reports/export/{report}", get(export_csv))
}

/// The page's and the exports' query string.
#[derive(Deserialize, Default, Clone)]
pub(crate) struct ReportParams {
    from: Option<String>,
    to: Option<String>,
    team: Option<String>,
    pipeline: Option<String>,
}

fn optional_id(field: &str, raw: Option<&str>) -> Result<Option<i64>, UiError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
            UiError::new(
                StatusCode::BAD_REQUEST,
                format!("{field} must be a {field} id, not {v:?}"),
            )
        }),
    }
}

fn query_of(agent: &Agent, p: &ReportParams) -> Result<ReportQuery, UiError> {
    Ok(ReportQuery {
        from: p.from.clone(),
        to: p.to.clone(),
        team: optional_id("team", p.team.as_deref())?.map(TeamId),
        pipeline: optional_id("pipeline", p.pipeline.as_deref())?.map(PipelineId),
        time_zone: UserTimeZone::or_utc(&agent.user.time_zone),
    })
}

/// A number for an SVG attribute.
fn n(v: f64) -> String {
    format!("{v:.1}")
}

/// One rectangle of a chart, with its tooltip.
pub(crate) struct Bar {
    x: String,
    y: String,
    w: String,
    h: String,
    class: &'static str,
    title: String,
}

/// A text of a chart.
pub(crate) struct Label {
    x: String,
    y: String,
    anchor: &'static str,
    text: String,
}

/// A drawn chart: its size, accessible name, bars and labels.
pub(crate) struct Chart {
    width: u32,
    height: u32,
    name: String,
    bars: Vec<Bar>,
    labels: Vec<Label>,
}

const WIDTH: f64 = 720.0;

/// Created and closed per day: a pair of columns per day.
fn volume_chart(r: &Reports) -> Chart {
    let (left, top, bottom) = (40.0, 10.0, 24.0);
    let height = 200.0;
    let plot_h = height - top - bottom;
    let max = r
        .per_day
        .iter()
        .map(|d| d.created.max(d.closed))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let count = r.per_day.len().max(1) as f64;
    let slot = (WIDTH - left - 10.0) / count;
    let bar_w = (slot * 0.4).max(1.0);
    let mut bars = Vec::new();
    let mut labels = vec![
        Label {
            x: n(left - 4.0),
            y: n(top + 4.0),
            anchor: "end",
            text: format!("{}", max as i64),
        },
        Label {
            x: n(left - 4.0),
            y: n(top + plot_h),
            anchor: "end",
            text: "0".into(),
        },
    ];
    let every = (r.per_day.len() / 6).max(1);
    for (i, d) in r.per_day.iter().enumerate() {
        let x0 = left + slot * i as f64;
        for (k, v, class, what) in [
            (0.0, d.created, "bar-created", "created"),
            (1.0, d.closed, "bar-closed", "closed"),
        ] {
            let h = plot_h * v as f64 / max;
            bars.push(Bar {
                x: n(x0 + slot * 0.1 + bar_w * k),
                y: n(top + plot_h - h),
                w: n(bar_w),
                h: n(h),
                class,
                title: format!("{}: {v} {what}", d.day),
            });
        }
        if i % every == 0 {
            labels.push(Label {
                x: n(x0 + slot * 0.5),
                y: n(height - 6.0),
                anchor: "middle",
                text: d.day.get(5..).unwrap_or(&d.day).to_string(),
            });
        }
    }
    Chart {
        width: WIDTH as u32,
        height: height as u32,
        name: "Tickets created and closed per day".into(),
        bars,
        labels,
    }
}

/// A row of a horizontal bar chart: its label and each bar's value, class and tooltip.
type HBarRow = (String, Vec<(i64, &'static str, String)>);

/// Horizontal bars, one row per `(label, values)`; each value a bar of its class.
fn hbar_chart(name: &str, rows: &[HBarRow]) -> Chart {
    let (left, row_h) = (180.0, 26.0);
    let height = (rows.len().max(1) as f64 * row_h + 8.0).round();
    let max = rows
        .iter()
        .flat_map(|(_, vs)| vs.iter().map(|(v, _, _)| *v))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let plot_w = WIDTH - left - 90.0;
    let mut bars = Vec::new();
    let mut labels = Vec::new();
    for (i, (label, values)) in rows.iter().enumerate() {
        let y0 = 4.0 + row_h * i as f64;
        let each = (row_h - 6.0) / values.len().max(1) as f64;
        labels.push(Label {
            x: n(left - 6.0),
            y: n(y0 + row_h / 2.0 + 4.0),
            anchor: "end",
            text: label.chars().take(28).collect(),
        });
        for (k, (v, class, title)) in values.iter().enumerate() {
            bars.push(Bar {
                x: n(left),
                y: n(y0 + each * k as f64),
                w: n((plot_w * *v as f64 / max).max(1.0)),
                h: n(each - 1.0),
                class,
                title: title.clone(),
            });
        }
        if let Some((_, _, last)) = values.last() {
            let widest = values.iter().map(|(v, _, _)| *v).max().unwrap_or(0);
            labels.push(Label {
                x: n(left + plot_w * widest as f64 / max + 6.0),
                y: n(y0 + row_h / 2.0 + 4.0),
                anchor: "start",
                text: last.rsplit(": ").next().unwrap_or("").to_string(),
            });
        }
    }
    Chart {
        width: WIDTH as u32,
        height: height as u32,
        name: name.into(),
        bars,
        labels,
    }
}

fn times_chart(name: &str, rows: &[TimeRow]) -> Chart {
    let rows: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r.label.clone(),
                vec![
                    (
                        r.median_ms,
                        "bar-median",
                        format!("{} median: {}", r.label, format_duration(r.median_ms)),
                    ),
                    (
                        r.p90_ms,
                        "bar-p90",
                        format!("{} p90: {}", r.label, format_duration(r.p90_ms)),
                    ),
                ],
            )
        })
        .collect();
    hbar_chart(name, &rows)
}

/// One grouping of a duration report, drawn and tabled.
pub(crate) struct TimeGroup {
    heading: &'static str,
    chart: Chart,
    rows: Vec<(String, usize, String, String)>,
}

fn time_groups(what: &str, t: &TimeTables) -> Vec<TimeGroup> {
    [
        ("By team", &t.by_team),
        ("By agent", &t.by_agent),
        ("By channel", &t.by_channel),
    ]
    .into_iter()
    .map(|(heading, rows)| TimeGroup {
        heading,
        chart: times_chart(&format!("{what}, {}", heading.to_lowercase()), rows),
        rows: rows
            .iter()
            .map(|r| {
                (
                    r.label.clone(),
                    r.count,
                    format_duration(r.median_ms),
                    format_duration(r.p90_ms),
                )
            })
            .collect(),
    })
    .collect()
}

/// A duration report: its slug (CSV link, ids), heading and groupings.
pub(crate) struct DurationReport {
    slug: &'static str,
    title: &'static str,
    groups: Vec<TimeGroup>,
}

/// A row of the SLA table.
pub(crate) struct SlaRow {
    clock: &'static str,
    met: i64,
    breached: i64,
    open: i64,
    percent: String,
}

#[derive(Template)]
#[template(path = "ui/reports.html")]
struct ReportsPage {
    chrome: Chrome,
    from: String,
    to: String,
    team: String,
    pipeline: String,
    teams: Vec<(String, String)>,
    pipelines: Vec<(String, String)>,
    /// The query string the CSV links carry.
    query: String,
    time_zone: String,
    volume: Chart,
    created_total: i64,
    closed_total: i64,
    days: Vec<(String, i64, i64)>,
    /// First response, then resolution.
    durations: Vec<DurationReport>,
    sla_chart: Chart,
    sla: Vec<SlaRow>,
    backlog_chart: Chart,
    backlog: Vec<(String, String, i64)>,
    /// Customer satisfaction ratings given in the range: good, bad, share good.
    rated_good: i64,
    rated_bad: i64,
    percent_good: String,
}

async fn reports_page(
    State(st): State<UiState>,
    agent: Agent,
    Query(p): Query<ReportParams>,
) -> UiResult {
    let q = query_of(&agent, &p)?;
    let r = st.app.reports(&agent.actor, &q, &ReportKind::ALL).await?;
    let from = r.range.first.to_string();
    let to = r.range.last.to_string();
    let team = q.team.map(|t| t.0.to_string()).unwrap_or_default();
    let pipeline = q.pipeline.map(|p| p.0.to_string()).unwrap_or_default();
    let query = serde_urlencoded::to_string(
        [
            ("from", from.as_str()),
            ("to", to.as_str()),
            ("team", team.as_str()),
            ("pipeline", pipeline.as_str()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect::<Vec<_>>(),
    )
    .unwrap_or_default();
    let sla: Vec<SlaRow> = r
        .sla
        .iter()
        .map(|a| SlaRow {
            clock: clock_label(a.clock),
            met: a.met,
            breached: a.breached,
            open: a.open,
            percent: a
                .percent_met()
                .map(|p| format!("{p:.1}%"))
                .unwrap_or_else(|| "–".into()),
        })
        .collect();
    let sla_rows: Vec<_> = sla
        .iter()
        .map(|s| {
            (
                s.clock.to_string(),
                vec![
                    (s.met, "bar-met", format!("{}: {} met", s.clock, s.met)),
                    (
                        s.breached,
                        "bar-breached",
                        format!("{}: {} breached", s.clock, s.breached),
                    ),
                    (
                        s.open,
                        "bar-open",
                        format!("{}: {} running, {}", s.clock, s.open, s.percent),
                    ),
                ],
            )
        })
        .collect();
    let backlog: Vec<(String, String, i64)> = r
        .backlog
        .iter()
        .map(|b| (b.pipeline.clone(), b.stage.clone(), b.open))
        .collect();
    let backlog_rows: Vec<_> = backlog
        .iter()
        .map(|(p, s, open)| {
            (
                s.clone(),
                vec![(*open, "bar-open-tickets", format!("{p} › {s}: {open}"))],
            )
        })
        .collect();
    let teams = st
        .app
        .teams()
        .await?
        .into_iter()
        .map(|t| (t.id.0.to_string(), t.name))
        .collect();
    let pipelines = st
        .app
        .pipelines()
        .await?
        .into_iter()
        .filter(|p| !p.archived)
        .map(|p| (p.id.0.to_string(), p.label))
        .collect();
    page(&ReportsPage {
        chrome: Chrome::load(&st.app, &agent, "reports", "Reports").await?,
        volume: volume_chart(&r),
        created_total: r.per_day.iter().map(|d| d.created).sum(),
        closed_total: r.per_day.iter().map(|d| d.closed).sum(),
        days: r
            .per_day
            .iter()
            .map(|d| (d.day.clone(), d.created, d.closed))
            .collect(),
        durations: vec![
            DurationReport {
                slug: "first-response",
                title: "First response time",
                groups: time_groups("First response", &r.first_response),
            },
            DurationReport {
                slug: "resolution",
                title: "Resolution time",
                groups: time_groups("Resolution", &r.resolution),
            },
        ],
        sla_chart: hbar_chart("SLA attainment per clock", &sla_rows),
        sla,
        backlog_chart: hbar_chart("Open tickets per stage", &backlog_rows),
        backlog,
        rated_good: r.satisfaction.good,
        rated_bad: r.satisfaction.bad,
        percent_good: percent_good(&r)
            .map(|p| format!("{p:.1}%"))
            .unwrap_or_else(|| "–".into()),
        from,
        to,
        team,
        pipeline,
        teams,
        pipelines,
        query,
        time_zone: q.time_zone.name().to_string(),
    })
}

/// One CSV field: quoted when it holds a separator, a quote or a line break (RFC 4180), and
/// a text starting with `=`, `+`, `-` or `@` (a team or person's name) prefixed with `'` so
/// a spreadsheet shows it rather than evaluating it as a formula.
pub(crate) fn csv_field(raw: &str) -> String {
    let guarded = if raw.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{raw}")
    } else {
        raw.to_string()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

fn csv(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut out = header.join(",");
    out.push_str("\r\n");
    for r in rows {
        out.push_str(&r.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

fn seconds(ms: i64) -> String {
    (ms / 1000).to_string()
}

/// A report's CSV text (also the body of the page's export links).
pub(crate) fn report_csv(kind: ReportKind, r: &Reports) -> String {
    match kind {
        ReportKind::Volume => csv(
            &["day", "created", "closed"],
            r.per_day
                .iter()
                .map(|d| vec![d.day.clone(), d.created.to_string(), d.closed.to_string()])
                .collect(),
        ),
        ReportKind::FirstResponse | ReportKind::Resolution => {
            let t = if kind == ReportKind::FirstResponse {
                &r.first_response
            } else {
                &r.resolution
            };
            let mut rows = Vec::new();
            for (group, list) in [
                ("team", &t.by_team),
                ("agent", &t.by_agent),
                ("channel", &t.by_channel),
            ] {
                for row in list {
                    rows.push(vec![
                        group.to_string(),
                        row.label.clone(),
                        row.count.to_string(),
                        seconds(row.median_ms),
                        seconds(row.p90_ms),
                    ]);
                }
            }
            csv(
                &[
                    "group_by",
                    "name",
                    "tickets",
                    "median_seconds",
                    "p90_seconds",
                ],
                rows,
            )
        }
        ReportKind::Sla => csv(
            &["clock", "met", "breached", "running", "percent_met"],
            r.sla
                .iter()
                .map(|a| {
                    vec![
                        a.clock.to_string(),
                        a.met.to_string(),
                        a.breached.to_string(),
                        a.open.to_string(),
                        a.percent_met()
                            .map(|p| format!("{p:.1}"))
                            .unwrap_or_default(),
                    ]
                })
                .collect(),
        ),
        ReportKind::Backlog => csv(
            &["pipeline", "stage", "open"],
            r.backlog
                .iter()
                .map(|b| vec![b.pipeline.clone(), b.stage.clone(), b.open.to_string()])
                .collect(),
        ),
        ReportKind::Satisfaction => csv(
            &["good", "bad", "percent_good"],
            vec![vec![
                r.satisfaction.good.to_string(),
                r.satisfaction.bad.to_string(),
                percent_good(r)
                    .map(|p| format!("{p:.1}"))
                    .unwrap_or_default(),
            ]],
        ),
    }
}

/// Good ratings as a share of all ratings given (fd-domain's arithmetic).
fn percent_good(r: &Reports) -> Option<f64> {
    fd_app::domain::reports::percent_of(r.satisfaction.good, r.satisfaction.bad)
}

async fn export_csv(
    State(st): State<UiState>,
    agent: Agent,
    Path(report): Path<String>,
    Query(p): Query<ReportParams>,
) -> Result<Response, UiError> {
    let kind = ReportKind::parse(&report).ok_or_else(|| {
        UiError::new(
            StatusCode::NOT_FOUND,
            format!("There is no report named {report:?}."),
        )
    })?;
    let q = query_of(&agent, &p)?;
    let r = st.app.reports(&agent.actor, &q, &[kind]).await?;
    let file = format!(
        "attachment; filename=\"frontdesk-{}-{}-{}.csv\"",
        kind.slug(),
        r.range.first,
        r.range.last
    );
    Ok(with_security_headers(
        (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, file),
            ],
            report_csv(kind, &r),
        )
            .into_response(),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("Support"), "Support");
        assert_eq!(csv_field("Sales, EMEA"), "\"Sales, EMEA\"");
        assert_eq!(csv_field("the \"A\" team"), "\"the \"\"A\"\" team\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
    }
}
