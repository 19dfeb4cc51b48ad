//! Reports over the API (issue 16, item 5): `GET /frontdesk/v1/reports/{report}` answers one
//! report (`volume`, `first-response`, `resolution`, `sla`, `backlog`, `satisfaction`) as JSON for a date
//! range, team and pipeline. Calls the one use case the reports page calls
//! (`App::reports`: HD-05 and HD-09 apply there); no figure is computed here.

use axum::Json;
use axum::extract::{Path, State};
use fd_app::domain::local_time::UserTimeZone;
use fd_app::domain::{PipelineId, TeamId};
use fd_app::{AppError, ReportKind, ReportQuery, TimeRow};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Auth, Params};
use crate::{ApiError, WebState};

pub(super) fn routes() -> OpenApiRouter<WebState> {
    OpenApiRouter::new().routes(routes!(report))
}

/// Tickets created and closed on one local day.
#[derive(Serialize, ToSchema)]
#[schema(as = ReportDay)]
pub(crate) struct DayOut {
    /// `YYYY-MM-DD` in the report's time zone.
    day: String,
    created: i64,
    closed: i64,
}

/// One group's durations.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ReportTimeRow)]
pub(crate) struct TimeOut {
    /// The team's or agent's name, or the channel.
    name: String,
    tickets: usize,
    /// Median in milliseconds (nearest rank).
    median_ms: i64,
    /// 90th percentile in milliseconds (nearest rank).
    p90_ms: i64,
}

fn times(rows: &[TimeRow]) -> Vec<TimeOut> {
    rows.iter()
        .map(|r| TimeOut {
            name: r.label.clone(),
            tickets: r.count,
            median_ms: r.median_ms,
            p90_ms: r.p90_ms,
        })
        .collect()
}

/// Durations grouped by team, agent and channel.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ReportTimes)]
pub(crate) struct TimesOut {
    by_team: Vec<TimeOut>,
    by_agent: Vec<TimeOut>,
    by_channel: Vec<TimeOut>,
}

/// One SLA clock's outcomes for tickets created in the range.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ReportSlaClock)]
pub(crate) struct ClockOut {
    /// `first_response`, `next_response` or `time_to_close`.
    clock: String,
    met: i64,
    /// Met late or still overdue.
    breached: i64,
    /// Running, due soon or paused.
    running: i64,
    /// Share of decided clocks met on time, in percent (absent when none was decided).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    percent_met: Option<f64>,
}

/// Open tickets in one stage.
#[derive(Serialize, ToSchema)]
#[schema(as = ReportStage)]
pub(crate) struct StageOut {
    pipeline: String,
    stage: String,
    open: i64,
}

/// One report. Only the section of the report asked for is present.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Report)]
pub(crate) struct ReportOut {
    report: String,
    /// First day of the range (`YYYY-MM-DD`).
    from: String,
    /// Last day of the range, included.
    to: String,
    time_zone: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    days: Option<Vec<DayOut>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    times: Option<TimesOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    clocks: Option<Vec<ClockOut>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    stages: Option<Vec<StageOut>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    ratings: Option<RatingsOut>,
}

/// Customer satisfaction ratings given in the range.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ReportRatings)]
pub(crate) struct RatingsOut {
    good: i64,
    bad: i64,
    /// Good as a share of all ratings, in percent; absent without ratings.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    percent_good: Option<f64>,
}

fn optional_id(p: &Params, key: &str) -> Result<Option<i64>, ApiError> {
    match p.get(key).map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(v) => fd_app::domain::text::parse_id(v).map(Some).ok_or_else(|| {
            ApiError::validation(format!("Query parameter {key}={v:?} is not an id"))
        }),
    }
}

#[utoipa::path(
    get,
    path = "/frontdesk/v1/reports/{report}",
    operation_id = "getReport",
    tag = "reports",
    summary = "One help-desk report",
    description = "`volume`: tickets created and closed per day; `first-response` and `resolution`: median and 90th percentile by team, agent and channel (first response of tickets created in the range, resolution of tickets closed in it); `sla`: SLA clocks met, breached and running for tickets created in the range; `backlog`: open tickets per stage now; `satisfaction`: good and bad customer ratings given in the range. Days are whole days in `timeZone` (default UTC); the range defaults to the 30 days ending today and covers at most 366 days. Every figure counts only tickets the caller may see (HD-09); a caller without ticket access gets 403.",
    params(
        ("report" = String, Path, description = "volume, first-response, resolution, sla, backlog or satisfaction"),
        ("from" = Option<String>, Query, description = "first day, YYYY-MM-DD"),
        ("to" = Option<String>, Query, description = "last day (included), YYYY-MM-DD"),
        ("teamId" = Option<String>, Query, description = "only tickets of this team"),
        ("pipelineId" = Option<String>, Query, description = "only tickets of this pipeline"),
        ("timeZone" = Option<String>, Query, description = "IANA time zone of the days (default UTC)"),
    ),
    responses((status = 200, description = "the report", body = ReportOut)),
)]
async fn report(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(report): Path<String>,
    params: Params,
) -> Result<Json<ReportOut>, ApiError> {
    let kind = ReportKind::parse(&report).ok_or_else(|| {
        ApiError::not_found(format!(
            "report {report:?} not found: volume, first-response, resolution, sla, backlog or satisfaction"
        ))
    })?;
    let time_zone = match params
        .get("timeZone")
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => UserTimeZone::utc(),
        Some(z) => UserTimeZone::parse(z).map_err(AppError::from)?,
    };
    let q = ReportQuery {
        from: params.get("from").map(str::to_string),
        to: params.get("to").map(str::to_string),
        team: optional_id(&params, "teamId")?.map(TeamId),
        pipeline: optional_id(&params, "pipelineId")?.map(PipelineId),
        time_zone,
    };
    let r = s.app.reports(&actor, &q, &[kind]).await?;
    let t = match kind {
        ReportKind::FirstResponse => Some(&r.first_response),
        ReportKind::Resolution => Some(&r.resolution),
        _ => None,
    };
    Ok(Json(ReportOut {
        report: kind.slug().to_string(),
        from: r.range.first.to_string(),
        to: r.range.last.to_string(),
        time_zone: q.time_zone.name().to_string(),
        days: (kind == ReportKind::Volume).then(|| {
            r.per_day
                .iter()
                .map(|d| DayOut {
                    day: d.day.clone(),
                    created: d.created,
                    closed: d.closed,
                })
                .collect()
        }),
        times: t.map(|t| TimesOut {
            by_team: times(&t.by_team),
            by_agent: times(&t.by_agent),
            by_channel: times(&t.by_channel),
        }),
        clocks: (kind == ReportKind::Sla).then(|| {
            r.sla
                .iter()
                .map(|a| ClockOut {
                    clock: a.clock.to_string(),
                    met: a.met,
                    breached: a.breached,
                    running: a.open,
                    percent_met: a.percent_met(),
                })
                .collect()
        }),
        stages: (kind == ReportKind::Backlog).then(|| {
            r.backlog
                .iter()
                .map(|b| StageOut {
                    pipeline: b.pipeline.clone(),
                    stage: b.stage.clone(),
                    open: b.open,
                })
                .collect()
        }),
        ratings: (kind == ReportKind::Satisfaction).then(|| RatingsOut {
            good: r.satisfaction.good,
            bad: r.satisfaction.bad,
            percent_good: fd_app::domain::reports::percent_of(
                r.satisfaction.good,
                r.satisfaction.bad,
            ),
        }),
    }))
}
