//! The reports use case (issue 16, item 5): reads the aggregates of one date range and
//! filter in one read transaction, scoped by the viewer's ticket access (HD-09, applied in
//! fd-store's SQL), and turns them into figures with fd-domain's `reports` functions.
//! The page, its CSV files, the JSON API and the benchmark all call [`App::reports`].
//!
//! Must not depend on HTTP; it reads no clock but the app's.

use std::collections::HashMap;

use fd_domain::local_time::UserTimeZone;
use fd_domain::reports::{self, Attainment, DayCounts, ReportRange, TimeStats};
use fd_domain::{PipelineId, TeamId};
use fd_store::{CsatCounts, DurationRow, ReportFilter};

use crate::{Actor, App, AppError};

/// The reports there are; each is computed, exported and benchmarked on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// Tickets created and closed per day.
    Volume,
    FirstResponse,
    Resolution,
    Sla,
    Backlog,
    /// Customer satisfaction: good and bad ratings given in the range (CSAT, item 7).
    Satisfaction,
}

impl ReportKind {
    pub const ALL: [ReportKind; 6] = [
        ReportKind::Volume,
        ReportKind::FirstResponse,
        ReportKind::Resolution,
        ReportKind::Sla,
        ReportKind::Backlog,
        ReportKind::Satisfaction,
    ];

    /// The name in URLs and file names.
    pub fn slug(self) -> &'static str {
        match self {
            ReportKind::Volume => "volume",
            ReportKind::FirstResponse => "first-response",
            ReportKind::Resolution => "resolution",
            ReportKind::Sla => "sla",
            ReportKind::Backlog => "backlog",
            ReportKind::Satisfaction => "satisfaction",
        }
    }

    pub fn parse(slug: &str) -> Option<ReportKind> {
        ReportKind::ALL.into_iter().find(|k| k.slug() == slug)
    }
}

/// What the viewer asked for: local days `from..=to` (`YYYY-MM-DD`, empty for the default
/// range), in `time_zone`, optionally one team and one pipeline.
#[derive(Debug, Clone)]
pub struct ReportQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub team: Option<TeamId>,
    pub pipeline: Option<PipelineId>,
    pub time_zone: UserTimeZone,
}

/// One group's durations: its label and median/p90 in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeRow {
    pub label: String,
    pub count: usize,
    pub median_ms: i64,
    pub p90_ms: i64,
}

/// Durations grouped three ways.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimeTables {
    pub by_team: Vec<TimeRow>,
    pub by_agent: Vec<TimeRow>,
    pub by_channel: Vec<TimeRow>,
}

/// Open tickets in one stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BacklogRow {
    pub pipeline: String,
    pub stage: String,
    pub open: i64,
}

/// The figures of the kinds asked for (the others stay empty).
#[derive(Debug, Clone)]
pub struct Reports {
    pub range: ReportRange,
    pub per_day: Vec<DayCounts>,
    pub first_response: TimeTables,
    pub resolution: TimeTables,
    pub sla: Vec<Attainment>,
    pub backlog: Vec<BacklogRow>,
    /// Ratings given in the range on the tickets the filter and scope keep.
    pub satisfaction: CsatCounts,
}

/// Names for the ids durations are grouped by.
struct Labels {
    teams: HashMap<i64, String>,
    users: HashMap<i64, String>,
}

fn tables(rows: &[DurationRow], labels: &Labels) -> TimeTables {
    let group = |key: &dyn Fn(&DurationRow) -> String, label: &dyn Fn(&str) -> String| {
        let stats: Vec<TimeStats> =
            reports::time_stats(rows.iter().map(|r| (key(r), r.ms)).collect());
        let mut out: Vec<TimeRow> = stats
            .into_iter()
            .map(|s| TimeRow {
                label: label(&s.key),
                count: s.count,
                median_ms: s.median,
                p90_ms: s.p90,
            })
            .collect();
        out.sort_by(|a, b| a.label.cmp(&b.label));
        out
    };
    let id_key = |id: Option<i64>| id.map(|i| i.to_string()).unwrap_or_default();
    TimeTables {
        by_team: group(&|r| id_key(r.team_id), &|k| {
            k.parse::<i64>()
                .ok()
                .and_then(|id| labels.teams.get(&id).cloned())
                .unwrap_or_else(|| "No team".into())
        }),
        by_agent: group(&|r| id_key(r.owner_id), &|k| {
            k.parse::<i64>()
                .ok()
                .and_then(|id| labels.users.get(&id).cloned())
                .unwrap_or_else(|| "Unassigned".into())
        }),
        by_channel: group(&|r| r.channel.clone().unwrap_or_default(), &|k| {
            if k.is_empty() {
                "Unknown".into()
            } else {
                k.to_ascii_lowercase()
            }
        }),
    }
}

impl App {
    /// Computes the `kinds` of reports for `q`, on the tickets the actor may see (HD-09), in
    /// one read transaction. Needs ticket access (HD-05); the range is validated
    /// (fd-domain's `ReportRange`: at most a year, `from` not after `to`).
    pub async fn reports(
        &self,
        actor: &Actor,
        q: &ReportQuery,
        kinds: &[ReportKind],
    ) -> Result<Reports, AppError> {
        actor.require_ticket_access()?;
        let range =
            ReportRange::parse(q.from.as_deref(), q.to.as_deref(), &q.time_zone, self.now())?;
        let f = ReportFilter {
            scope: actor.scope(),
            from: range.from,
            to: range.to,
            team: q.team,
            pipeline: q.pipeline,
        };
        let wants = |k: ReportKind| kinds.contains(&k);
        let mut tx = self.db().read().await?;
        let mut out = Reports {
            range: range.clone(),
            per_day: Vec::new(),
            first_response: TimeTables::default(),
            resolution: TimeTables::default(),
            sla: Vec::new(),
            backlog: Vec::new(),
            satisfaction: CsatCounts::default(),
        };
        if wants(ReportKind::Volume) {
            let created = tx.report_created_slots(&f).await?;
            let closed = tx.report_closed_slots(&f).await?;
            out.per_day = reports::per_day(&range, &q.time_zone, &created, &closed);
        }
        if wants(ReportKind::FirstResponse) || wants(ReportKind::Resolution) {
            let labels = Labels {
                teams: tx
                    .teams()
                    .await?
                    .into_iter()
                    .map(|t| (t.id.0, t.name))
                    .collect(),
                users: tx
                    .users()
                    .await?
                    .into_iter()
                    .map(|u| (u.id.0, u.name))
                    .collect(),
            };
            if wants(ReportKind::FirstResponse) {
                let rows = tx.report_first_response_times(&f).await?;
                out.first_response = tables(&rows, &labels);
            }
            if wants(ReportKind::Resolution) {
                let rows = tx.report_resolution_times(&f).await?;
                out.resolution = tables(&rows, &labels);
            }
        }
        if wants(ReportKind::Sla) {
            out.sla = reports::attainment(&tx.report_sla_statuses(&f).await?);
        }
        if wants(ReportKind::Backlog) {
            let counts: HashMap<i64, i64> = tx.report_backlog(&f).await?.into_iter().collect();
            for p in tx.pipelines(true).await? {
                for s in &p.stages {
                    if let Some(&open) = counts.get(&s.id.0) {
                        out.backlog.push(BacklogRow {
                            pipeline: p.label.clone(),
                            stage: s.label.clone(),
                            open,
                        });
                    }
                }
            }
        }
        if wants(ReportKind::Satisfaction) {
            out.satisfaction = tx.csat_counts(&f).await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Benchmarks only (the system actor): spreads seeded tickets over the `days` before now
    /// with first replies and SLA outcomes (fd-store's `seed_report_history`), one
    /// transaction.
    pub async fn seed_report_history(&self, actor: &Actor, days: i64) -> Result<(), AppError> {
        if actor.viewer != fd_domain::Viewer::System {
            return Err(AppError::Forbidden("only the system seeds data".into()));
        }
        let mut tx = self.db().write().await?;
        tx.seed_report_history(self.now(), days).await?;
        tx.commit().await?;
        Ok(())
    }
}
