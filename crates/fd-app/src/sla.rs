//! SLAs (issue 16 item 1, HD-04): policy administration, the per-ticket recomputation every
//! road calls in its own transaction (creation, customer message, agent reply, stage,
//! pipeline, priority or team change, merge), the recomputation of open tickets when a policy
//! changes, and the sweep that refreshes clocks which change by themselves (due soon,
//! breached) and tells owners once per clock.
//!
//! The rules — which policy applies, business time, pauses, what each clock says — are
//! fd-domain's `sla`; this module loads the facts, asks, and stores the answer: the
//! `ticket_sla` row lists sort and filter on, and HubSpot's read-only properties in
//! `property_values` (HUBSPOT-API-2.md §7) that the API and search read like any other.
//! Depends on the store, `notify` and automation's SLA entry (the sweep fires the "SLA due
//! soon / breached" rules where it tells the owner; automation never calls this module); must
//! not depend on other use-case modules (they call this one), HTTP or templates. The sweep
//! gets `apply_ticket_changes` handed in (`App::run_sla_sweep`, in the ticket module).

use fd_domain::notify::TicketActivity;
use fd_domain::sla::{self, Clock, ClockKind, ClockStatus, SlaClocks, SlaPolicy, SlaPolicyInput};
use fd_domain::*;
use fd_store::{Ticket, TicketSlaRow, Tx};

use crate::automation::ApplyChanges;
use crate::notify::{TicketNotice, notify_ticket_activity};
use crate::{Actor, App, AppError, Event};

/// Each clock's HubSpot properties: due date and status code (all read-only).
const CLOCK_PROPERTIES: [(ClockKind, &str, &str); 3] = [
    (
        ClockKind::FirstResponse,
        "hs_time_to_first_response_sla_at",
        "hs_time_to_first_response_sla_status",
    ),
    (
        ClockKind::NextResponse,
        "hs_time_to_next_response_sla_at",
        "hs_time_to_next_response_sla_status",
    ),
    (
        ClockKind::TimeToClose,
        "hs_time_to_close_sla_at",
        "hs_time_to_close_sla_status",
    ),
];

/// How many open tickets one transaction recomputes after a policy change.
const RECOMPUTE_PAGE: i64 = 500;

/// A policy as an administrator writes it: the goals and calendar, and the scope and pause
/// stages by id or name (`--pipeline "Support Pipeline"`, `--pause-stage "Waiting on contact"`).
#[derive(Debug, Clone, Default)]
pub struct SlaPolicyForm {
    pub input: SlaPolicyInput,
    pub pipeline: Option<String>,
    pub priorities: Vec<String>,
    pub team: Option<String>,
    pub pause_stages: Vec<String>,
}

/// A policy with its scope and stages named, for Settings and the CLI.
#[derive(Debug, Clone)]
pub struct SlaPolicyView {
    pub policy: SlaPolicy,
    pub pipeline_label: Option<String>,
    pub team_name: Option<String>,
    pub pause_stage_labels: Vec<String>,
}

/// A ticket's clocks as its page shows them: the policy that applies ("why") and each clock.
#[derive(Debug, Clone)]
pub struct TicketSla {
    pub policy_id: i64,
    pub policy_name: String,
    pub clocks: SlaClocks,
}

fn require_sla_admin(actor: &Actor) -> Result<(), AppError> {
    if !actor.viewer.has_service_seat() {
        return Err(AppError::Forbidden(
            "SLA policies require a Service Seat (HD-04)".into(),
        ));
    }
    actor.require_admin("managing SLA policies")
}

/// Resolves the form's names against the configuration into a policy (id 0 when new).
async fn resolve(tx: &mut Tx, form: &SlaPolicyForm) -> Result<SlaPolicy, AppError> {
    let mut errors: Vec<FieldError> = Vec::new();
    let goals = match form.input.validate() {
        Ok(g) => Some(g),
        Err(DomainError::Invalid(e)) => {
            errors.extend(e);
            None
        }
        Err(e) => return Err(e.into()),
    };
    let pipelines = tx.all_pipelines().await?;
    let pipeline = match form
        .pipeline
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        None => None,
        Some(p) => {
            let found = pipelines
                .iter()
                .find(|x| x.id.to_string() == p || x.label.eq_ignore_ascii_case(p));
            if found.is_none() {
                errors.push(FieldError::new(
                    "pipeline",
                    ErrorCode::InvalidOption,
                    format!("{p:?} is not a ticket pipeline (give its id or label)"),
                ));
            }
            found
        }
    };
    let priority_def = tx
        .properties("tickets", false)
        .await?
        .into_iter()
        .find(|d| d.name == "hs_ticket_priority");
    let mut priorities = Vec::new();
    for raw in form
        .priorities
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
    {
        let found = priority_def.as_ref().and_then(|d| {
            d.options
                .iter()
                .find(|o| o.value.eq_ignore_ascii_case(raw) || o.label.eq_ignore_ascii_case(raw))
        });
        match found {
            Some(o) if !priorities.contains(&o.value) => priorities.push(o.value.clone()),
            Some(_) => {}
            None => errors.push(FieldError::new(
                "priorities",
                ErrorCode::InvalidOption,
                format!("{raw:?} is not a ticket priority"),
            )),
        }
    }
    let team = match form
        .team
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        None => None,
        Some(t) => {
            let found = tx
                .teams()
                .await?
                .into_iter()
                .find(|x| x.id.to_string() == t || x.name.eq_ignore_ascii_case(t));
            if found.is_none() {
                errors.push(FieldError::new(
                    "team",
                    ErrorCode::InvalidOption,
                    format!("{t:?} is not a team (give its id or name)"),
                ));
            }
            found.map(|x| x.id)
        }
    };
    let mut pause_stage_ids = Vec::new();
    for raw in form
        .pause_stages
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
    {
        // A label names that stage in the policy's pipeline, or in every pipeline.
        let matching: Vec<&fd_domain::entities::Stage> = pipelines
            .iter()
            .filter(|p| pipeline.is_none_or(|q| q.id == p.id))
            .flat_map(|p| p.stages.iter())
            .filter(|s| s.id.to_string() == raw || s.label.eq_ignore_ascii_case(raw))
            .collect();
        if matching.is_empty() {
            errors.push(FieldError::new(
                "pause_stages",
                ErrorCode::InvalidOption,
                format!("{raw:?} is not a stage of the policy's pipeline"),
            ));
        }
        for s in matching {
            if s.state == StageState::Closed {
                errors.push(FieldError::new(
                    "pause_stages",
                    ErrorCode::InvalidOption,
                    format!("{:?} is a closed stage: clocks stop there anyway", s.label),
                ));
            } else if !pause_stage_ids.contains(&s.id) {
                pause_stage_ids.push(s.id);
            }
        }
    }
    match goals {
        Some(g) if errors.is_empty() => Ok(SlaPolicy {
            id: 0,
            name: g.name,
            pipeline_id: pipeline.map(|p| p.id),
            priorities,
            team_id: team,
            first_response_ms: g.first_response_ms,
            next_response_ms: g.next_response_ms,
            time_to_close_ms: g.time_to_close_ms,
            calendar: sla::Calendar {
                zone: g.zone,
                hours: g.hours,
                holidays: g.holidays,
            },
            pause_stage_ids,
        }),
        _ => Err(DomainError::Invalid(errors).into()),
    }
}

fn status_of(c: Option<&Clock>) -> (Option<String>, Option<Millis>) {
    match c {
        Some(c) => (Some(c.status.as_str().to_string()), c.due_at),
        None => (None, None),
    }
}

/// Recomputes one ticket's SLA state from its activity and stores it, in the caller's
/// transaction; returns the clocks when a policy applies. Every road that changes what the
/// clocks read calls this (one line each), so the state is the same whatever the road.
pub(crate) async fn recompute_ticket_sla(
    tx: &mut Tx,
    ticket: TicketId,
    now: Millis,
) -> Result<Option<SlaClocks>, AppError> {
    let Some(t) = tx.ticket(&ViewerScope::All, ticket).await? else {
        return Ok(None);
    };
    recompute_loaded_ticket_sla(tx, &t, now).await
}

/// [`recompute_ticket_sla`] for a caller that has just saved the ticket and holds it
/// (creation, `apply_ticket_changes`): the ticket is not read again.
pub(crate) async fn recompute_loaded_ticket_sla(
    tx: &mut Tx,
    t: &Ticket,
    now: Millis,
) -> Result<Option<SlaClocks>, AppError> {
    let ticket = t.id;
    let Some(timeline) = tx.sla_timeline(ticket).await? else {
        return Ok(None);
    };
    let policies = tx.sla_policies().await?;
    let first_reply = sla::first_agent_reply(&timeline);
    // A trashed ticket has no clocks (nothing is due on it), and so no notices.
    let policy = sla::select_policy(&policies, t.pipeline_id, t.priority.as_deref(), t.team_id)
        .filter(|_| t.trashed_at.is_none());
    let clocks = policy.map(|p| sla::compute(p, &timeline, now));
    let mut values: Vec<(&str, Option<String>)> = vec![
        ("first_agent_reply_date", first_reply.map(|v| v.to_string())),
        (
            "time_to_first_agent_reply",
            first_reply.map(|v| (v - t.created_at).to_string()),
        ),
        (
            "time_to_close",
            t.closed_at.map(|v| (v - t.created_at).max(0).to_string()),
        ),
    ];
    for (kind, at, status) in CLOCK_PROPERTIES {
        let c = clocks
            .as_ref()
            .and_then(|cs| cs.all().find(|c| c.kind == kind));
        values.push((at, c.and_then(|c| c.due_at).map(|v| v.to_string())));
        values.push((status, c.map(|c| c.hubspot_status().to_string())));
    }
    let current = t.custom.clone();
    for (name, value) in values {
        if current.get(name) != value.as_ref() {
            tx.set_property_value("tickets", ticket.0, name, value.as_deref())
                .await?;
        }
    }
    let previous = tx.ticket_sla(ticket).await?;
    let policy_id = policy.map(|p| p.id);
    let row = match (&clocks, policy) {
        (Some(cs), Some(p)) => {
            let (frs, frd) = status_of(Some(&cs.first_response));
            let (nrs, nrd) = status_of(cs.next_response.as_ref());
            let (tcs, tcd) = status_of(cs.time_to_close.as_ref());
            let relevant = cs.most_relevant();
            TicketSlaRow {
                ticket_id: ticket.0,
                policy_id,
                first_agent_reply_at: first_reply,
                first_response_status: frs,
                first_response_due: frd,
                next_response_status: nrs,
                next_response_due: nrd,
                time_to_close_status: tcs,
                time_to_close_due: tcd,
                relevant_status: Some(relevant.status.as_str().to_string()),
                relevant_due: relevant.due_at,
                paused_since: cs.all().filter_map(|c| c.paused_since).min(),
                next_check_at: cs
                    .all()
                    .filter_map(|c| c.next_change_at(&p.calendar, now))
                    .min(),
                // A clock notified under this policy stays notified; another policy starts over.
                notified: previous
                    .as_ref()
                    .filter(|r| r.policy_id == policy_id)
                    .map(|r| r.notified.clone())
                    .unwrap_or_default(),
                computed_at: now,
            }
        }
        _ => TicketSlaRow {
            ticket_id: ticket.0,
            first_agent_reply_at: first_reply,
            computed_at: now,
            ..TicketSlaRow::default()
        },
    };
    let unchanged = previous.as_ref().is_some_and(|p| {
        TicketSlaRow {
            computed_at: row.computed_at,
            ..p.clone()
        } == row
    });
    if !unchanged {
        tx.save_ticket_sla(&row).await?;
    }
    Ok(clocks)
}

/// The notification key of a clock that just became due soon or breached.
fn notice_key(c: &Clock) -> Option<String> {
    let status = match c.status {
        ClockStatus::DueSoon => "due_soon",
        ClockStatus::Breached => "breached",
        _ => return None,
    };
    let kind = match c.kind {
        ClockKind::FirstResponse => "first_response",
        ClockKind::NextResponse => "next_response",
        ClockKind::TimeToClose => "time_to_close",
    };
    // A next-response cycle is its own clock: each customer message may be notified.
    Some(format!("{kind}@{}:{status}", c.started_at))
}

impl App {
    /// The SLA policies with their scope named (Settings, CLI). HD-04: Service Seat.
    pub async fn sla_policies(&self, actor: &Actor) -> Result<Vec<SlaPolicyView>, AppError> {
        if !actor.viewer.has_service_seat() {
            return Err(AppError::Forbidden(
                "SLA policies require a Service Seat (HD-04)".into(),
            ));
        }
        let mut tx = self.db().read().await?;
        let policies = tx.sla_policies().await?;
        let pipelines = tx.all_pipelines().await?;
        let teams = tx.teams().await?;
        tx.commit().await?;
        Ok(policies
            .into_iter()
            .map(|p| SlaPolicyView {
                pipeline_label: p.pipeline_id.and_then(|id| {
                    pipelines
                        .iter()
                        .find(|x| x.id == id)
                        .map(|x| x.label.clone())
                }),
                team_name: p
                    .team_id
                    .and_then(|id| teams.iter().find(|x| x.id == id).map(|x| x.name.clone())),
                pause_stage_labels: p
                    .pause_stage_ids
                    .iter()
                    .filter_map(|s| {
                        pipelines
                            .iter()
                            .flat_map(|x| x.stages.iter())
                            .find(|x| x.id == *s)
                            .map(|x| x.label.clone())
                    })
                    .collect(),
                policy: p,
            })
            .collect())
    }

    /// Creates a policy and applies it to every open ticket it now governs.
    pub async fn create_sla_policy(
        &self,
        actor: &Actor,
        form: SlaPolicyForm,
    ) -> Result<SlaPolicy, AppError> {
        require_sla_admin(actor)?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let mut p = resolve(&mut tx, &form).await?;
        p.id = tx.insert_sla_policy(&p, now).await?;
        tx.commit().await?;
        self.recompute_open_tickets_sla().await?;
        Ok(p)
    }

    /// Rewrites a policy and recomputes the open tickets (HubSpot's "apply retroactively").
    pub async fn update_sla_policy(
        &self,
        actor: &Actor,
        id: i64,
        form: SlaPolicyForm,
    ) -> Result<SlaPolicy, AppError> {
        require_sla_admin(actor)?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let mut p = resolve(&mut tx, &form).await?;
        p.id = id;
        if !tx.update_sla_policy(&p, now).await? {
            return Err(AppError::NotFound {
                object: "SLA policy",
                id: id.to_string(),
            });
        }
        tx.commit().await?;
        self.recompute_open_tickets_sla().await?;
        Ok(p)
    }

    pub async fn delete_sla_policy(&self, actor: &Actor, id: i64) -> Result<(), AppError> {
        require_sla_admin(actor)?;
        let mut tx = self.db().write().await?;
        if !tx.delete_sla_policy(id).await? {
            return Err(AppError::NotFound {
                object: "SLA policy",
                id: id.to_string(),
            });
        }
        tx.commit().await?;
        self.recompute_open_tickets_sla().await?;
        Ok(())
    }

    /// Recomputes every live open ticket's clocks (after a policy change), a page of tickets
    /// per transaction so mail and agents are not kept waiting. Closed tickets keep the state
    /// they were closed with, as HubSpot's retroactive update does.
    pub async fn recompute_open_tickets_sla(&self) -> Result<u64, AppError> {
        let mut after = 0;
        let mut done = 0;
        loop {
            let now = self.now();
            let mut tx = self.db().write().await?;
            let ids = tx.open_ticket_ids_after(after, RECOMPUTE_PAGE).await?;
            for id in &ids {
                recompute_ticket_sla(&mut tx, *id, now).await?;
            }
            tx.commit().await?;
            self.publish(ids.iter().map(|id| Event::TicketChanged(*id)).collect());
            done += ids.len() as u64;
            match ids.last() {
                Some(last) => after = last.0,
                None => break,
            }
            if (ids.len() as i64) < RECOMPUTE_PAGE {
                break;
            }
        }
        Ok(done)
    }

    /// A ticket's clocks as of now, with the policy that applies (`None`: no policy). HD-04:
    /// nothing without a Service Seat; HD-09: only a ticket the actor may see.
    pub async fn ticket_sla(
        &self,
        actor: &Actor,
        ticket: TicketId,
    ) -> Result<Option<TicketSla>, AppError> {
        if !actor.viewer.has_service_seat() {
            return Ok(None);
        }
        let now = self.now();
        let mut tx = self.db().read().await?;
        let Some(t) = tx.ticket(&actor.scope(), ticket).await? else {
            return Err(AppError::NotFound {
                object: "ticket",
                id: ticket.to_string(),
            });
        };
        let policies = tx.sla_policies().await?;
        let timeline = tx.sla_timeline(ticket).await?;
        tx.commit().await?;
        let policy = sla::select_policy(&policies, t.pipeline_id, t.priority.as_deref(), t.team_id);
        Ok(match (policy, timeline) {
            (Some(p), Some(tl)) => Some(TicketSla {
                policy_id: p.id,
                policy_name: p.name.clone(),
                clocks: sla::compute(p, &tl, now),
            }),
            _ => None,
        })
    }
}

/// The sweep: recomputes tickets whose clocks change status by themselves by now, and tells
/// each ticket's owner (and followers) once when a clock becomes due soon and once when it is
/// breached; at that same once-per-clock moment, in the same transaction, the "SLA due soon"
/// and "SLA breached" automation rules run on the ticket. Runs from the periodic jobs
/// (`App::run_sla_sweep`); tests call it with the manual clock. Returns how many notices were
/// written.
pub(crate) async fn sweep(app: &App, apply: ApplyChanges) -> Result<usize, AppError> {
    let now = app.now();
    let mut notices = 0;
    let mut events = Vec::new();
    loop {
        let mut tx = app.db().write().await?;
        let ids = tx.tickets_sla_due_for_check(now, 200).await?;
        if ids.is_empty() {
            tx.commit().await?;
            break;
        }
        let mut cfg = None;
        for id in &ids {
            let clocks = recompute_ticket_sla(&mut tx, *id, now).await?;
            let Some(mut row) = tx.ticket_sla(*id).await? else {
                continue;
            };
            // A clock whose check time is past but did not change stays checked once.
            if row.next_check_at.is_some_and(|n| n <= now) {
                row.next_check_at = None;
            }
            let mut told: Vec<String> = row.notified.split(' ').map(String::from).collect();
            let name = match row.policy_id {
                Some(p) => tx.sla_policy(p).await?.map(|p| p.name).unwrap_or_default(),
                None => String::new(),
            };
            let mut transitions = Vec::new();
            for c in clocks.iter().flat_map(|cs| cs.all()) {
                let Some(key) = notice_key(c) else { continue };
                if told.contains(&key) {
                    continue;
                }
                let breached = c.status == ClockStatus::Breached;
                let excerpt = format!(
                    "{} {} under SLA policy \"{name}\"",
                    c.kind.label(),
                    if breached { "breached" } else { "is due soon" },
                );
                let n = TicketNotice::new(*id, TicketActivity::StatusChanged, &excerpt);
                let users = notify_ticket_activity(&mut tx, &Actor::system(), n, now).await?;
                events.extend(users.into_iter().map(Event::NotificationsChanged));
                told.push(key);
                transitions.push((c.kind, breached));
                notices += 1;
            }
            row.notified = told
                .into_iter()
                .filter(|k| !k.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            // Saved before the rules run: a rule's change recomputes the clocks and keeps
            // what this row says was told, so the transition is never told (or fired) twice.
            tx.save_ticket_sla(&row).await?;
            for (kind, breached) in transitions {
                if cfg.is_none() {
                    cfg = Some(app.ticket_config(&mut tx).await?);
                }
                if let Some(cfg) = &cfg {
                    events.extend(
                        crate::automation::sla_transition(
                            &mut tx, cfg, *id, kind, breached, apply, now,
                        )
                        .await?,
                    );
                }
            }
            events.push(Event::TicketChanged(*id));
        }
        tx.commit().await?;
    }
    app.publish(events);
    Ok(notices)
}
