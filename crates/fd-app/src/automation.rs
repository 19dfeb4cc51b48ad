//! Automation (issue 16, item 3; HD-20): the engine that runs rules when something happens
//! on a ticket, the time-trigger sweep, and the administration of rules.
//!
//! The use cases call one function here each, inside their own transaction
//! (`insert_ticket` → [`ticket_created`], `record_inbound_in` → [`customer_message`],
//! `send_reply_in` → [`agent_reply`], `apply_ticket_changes` → [`ticket_changed`], the SLA
//! sweep → [`sla_transition`]), so a rule's actions commit with their trigger. Which rules fire and with which actions is
//! fd-domain's `automation::evaluate`; the actions go through the same internals an agent's
//! change uses (`apply_ticket_changes` for properties, status, owner and team, HD-19
//! included; the outgoing mail path for emails; notifications through the store and
//! `notify_ticket_activity`), acting as the system with the chain of rules that led here
//! (`Actor::automation`), which is what stops loops. A refused action is logged on the
//! ticket's activity and in the rule's run log, and notifies the administrators.
//!
//! Depends on the mail and notify internals and the config; the ticket module calls it and
//! hands it `apply_ticket_changes` (`ApplyChanges`), so it does not import the ticket
//! module back. Must not depend on HTTP or HTML.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use fd_domain::automation::{self as rules, Action, Condition, Rule, TicketEvent, Trigger};
use fd_domain::engagements::ReplyDelivery;
use fd_domain::notify::TicketActivity;
use fd_domain::*;
use fd_store::{
    AutomationRuleInput, AutomationRuleRow, AutomationRun, NewActivity, NewMessage, Recipients,
    Ticket, Tx,
};

use crate::config::TicketConfig;
use crate::notify::{TicketNotice, notify_ticket_activity};
use crate::{Actor, App, AppError, Event};

pub(crate) type EngineFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<Event>, AppError>> + Send + 'a>>;

/// How a rule's property, status, owner and team changes are applied: the ticket module's
/// `apply_ticket_changes` (as `tickets::apply_for_automation`), handed in by the caller.
/// That module calls this one after every change, so this one must not import it back.
pub(crate) type ApplyChanges = for<'a> fn(
    &'a mut Tx,
    &'a TicketConfig,
    &'a Actor,
    &'a mut Ticket,
    &'a BTreeMap<String, String>,
    i64,
) -> EngineFuture<'a>;

/// A rule as the settings page and the API show it: the stored row and its parsed parts.
#[derive(Debug, Clone)]
pub struct AutomationRule {
    pub rule: Rule,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_run_at: Option<i64>,
    pub last_ticket: Option<TicketId>,
    pub last_outcome: Option<String>,
}

/// A rule to create or replace.
#[derive(Debug, Clone)]
pub struct RuleInput {
    pub name: String,
    pub enabled: bool,
    pub trigger: Trigger,
    pub conditions: Vec<Condition>,
    pub actions: Vec<Action>,
}

fn parse_row(r: &AutomationRuleRow) -> Result<Rule, AppError> {
    let bad = |what: &str, e: serde_json::Error| {
        AppError::Internal(format!("automation rule {} has a bad {what}: {e}", r.id))
    };
    Ok(Rule {
        id: r.id,
        name: r.name.clone(),
        enabled: r.enabled,
        position: r.position,
        trigger: serde_json::from_str(&r.trigger_json).map_err(|e| bad("trigger", e))?,
        conditions: serde_json::from_str(&r.conditions_json).map_err(|e| bad("conditions", e))?,
        actions: serde_json::from_str(&r.actions_json).map_err(|e| bad("actions", e))?,
        builtin: r.builtin.clone(),
    })
}

async fn enabled_rules(tx: &mut Tx) -> Result<Vec<Rule>, AppError> {
    let mut out = Vec::new();
    for row in tx.automation_rules().await? {
        if row.enabled {
            out.push(parse_row(&row)?);
        }
    }
    Ok(out)
}

/// "Ticket created": called by `insert_ticket` once the ticket row exists.
pub(crate) async fn ticket_created(
    tx: &mut Tx,
    cfg: &TicketConfig,
    actor: &Actor,
    t: &mut Ticket,
    apply: ApplyChanges,
    now: i64,
) -> Result<Vec<Event>, AppError> {
    let events = run(tx, cfg, actor, t.id, TicketEvent::Created, apply, now).await?;
    reload(tx, t, &events).await?;
    Ok(events)
}

/// "Properties changed" (status, owner, any property): called by `apply_ticket_changes`
/// after it saved the ticket.
pub(crate) fn ticket_changed<'a>(
    tx: &'a mut Tx,
    cfg: &'a TicketConfig,
    actor: &'a Actor,
    t: &'a mut Ticket,
    changed: Vec<String>,
    apply: ApplyChanges,
    now: i64,
) -> EngineFuture<'a> {
    Box::pin(async move {
        if changed.is_empty() {
            return Ok(Vec::new());
        }
        let event = TicketEvent::Changed {
            properties: changed,
        };
        let events = run(tx, cfg, actor, t.id, event, apply, now).await?;
        reload(tx, t, &events).await?;
        Ok(events)
    })
}

/// "Customer message": called by `record_inbound_in` for a customer's message on a ticket.
pub(crate) async fn customer_message(
    app: &App,
    tx: &mut Tx,
    ticket: Option<TicketId>,
    apply: ApplyChanges,
    now: i64,
) -> Result<Vec<Event>, AppError> {
    let Some(ticket) = ticket else {
        return Ok(Vec::new());
    };
    let cfg = app.ticket_config(tx).await?;
    run(
        tx,
        &cfg,
        &Actor::system(),
        ticket,
        TicketEvent::CustomerMessage,
        apply,
        now,
    )
    .await
}

/// "Agent reply" / "email sent to the customer": called by `send_reply_in` after the
/// message is stored. `chose_status`: the agent chose a status at send time (HD-20: it wins).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn agent_reply(
    app: &App,
    tx: &mut Tx,
    actor: &Actor,
    ticket: Option<TicketId>,
    by_email: bool,
    chose_status: bool,
    apply: ApplyChanges,
    now: i64,
) -> Result<Vec<Event>, AppError> {
    let Some(ticket) = ticket else {
        return Ok(Vec::new());
    };
    let cfg = app.ticket_config(tx).await?;
    let event = TicketEvent::AgentReply {
        by_email,
        chose_status,
    };
    run(tx, &cfg, actor, ticket, event, apply, now).await
}

/// "SLA due soon" / "SLA breached": called by the SLA sweep in its transaction at the moment
/// it tells the owner, which is once per clock and state, so a rule fires once per clock.
pub(crate) async fn sla_transition(
    tx: &mut Tx,
    cfg: &TicketConfig,
    ticket: TicketId,
    clock: fd_domain::sla::ClockKind,
    breached: bool,
    apply: ApplyChanges,
    now: i64,
) -> Result<Vec<Event>, AppError> {
    let event = if breached {
        TicketEvent::SlaBreached { clock }
    } else {
        TicketEvent::SlaDueSoon { clock }
    };
    run(tx, cfg, &Actor::system(), ticket, event, apply, now).await
}

/// After rules ran, the caller's copy of the ticket is brought up to date.
async fn reload(tx: &mut Tx, t: &mut Ticket, events: &[Event]) -> Result<(), AppError> {
    if !events.is_empty()
        && let Some(fresh) = tx.ticket(&ViewerScope::All, t.id).await?
    {
        *t = fresh;
    }
    Ok(())
}

/// Evaluates the enabled rules for an event on a ticket and carries out what fires.
fn run<'a>(
    tx: &'a mut Tx,
    cfg: &'a TicketConfig,
    actor: &'a Actor,
    ticket: TicketId,
    event: TicketEvent,
    apply: ApplyChanges,
    now: i64,
) -> EngineFuture<'a> {
    Box::pin(async move {
        let chain = actor.automation.clone().unwrap_or_default();
        if chain.depth() >= rules::MAX_CHAIN_DEPTH {
            return Ok(Vec::new());
        }
        let rules_now = enabled_rules(tx).await?;
        // Most events answer no rule (the built-in HD-20 rule only answers emails to the
        // customer): then the ticket is not read at all.
        if !rules_now
            .iter()
            .any(|r| rules::trigger_matches(&r.trigger, r.id, &event))
        {
            return Ok(Vec::new());
        }
        let Some(t) = tx.ticket(&ViewerScope::All, ticket).await? else {
            return Ok(Vec::new());
        };
        if t.trashed_at.is_some() {
            return Ok(Vec::new());
        }
        let firings = rules::evaluate(&rules_now, &event, &t, now, &chain);
        let mut events = Vec::new();
        for f in firings {
            let Some(rule) = rules_now.iter().find(|r| r.id == f.rule) else {
                continue;
            };
            let rule_actor = Actor {
                viewer: Viewer::System,
                automation: Some(chain.with(rule.id)),
            };
            let mut done = Vec::new();
            let mut refusals = Vec::new();
            for a in &f.actions {
                match act(tx, cfg, &rule_actor, rule, ticket, a, apply, now).await {
                    Ok((what, more)) => {
                        done.push(what);
                        events.extend(more);
                    }
                    Err(Refused(why)) => refusals.push(why),
                    Err(Failed(e)) => return Err(e),
                }
            }
            for (_, why) in &f.skipped {
                done.push(format!("skipped: {why}"));
            }
            let mut outcome = done.join("; ");
            if !refusals.is_empty() {
                if !outcome.is_empty() {
                    outcome.push_str("; ");
                }
                outcome.push_str(&format!("refused: {}", refusals.join("; ")));
                events.extend(refused(tx, rule, ticket, &refusals.join("; "), now).await?);
            }
            tx.record_automation_run(rule.id, ticket, !refusals.is_empty(), &outcome, now)
                .await?;
            events.push(Event::TicketChanged(ticket));
        }
        Ok(events)
    })
}

enum ActError {
    Refused(String),
    Failed(AppError),
}
use ActError::{Failed, Refused};

impl From<AppError> for ActError {
    fn from(e: AppError) -> Self {
        match e {
            // What the use case refused (a rule of SPEC.md, access, a bad value) is the
            // action's refusal; anything else (the database) fails the whole transaction.
            AppError::Domain(d) => Refused(d.to_string()),
            AppError::Forbidden(m) | AppError::Conflict(m) => Refused(m),
            AppError::NotFound { .. } => Refused(e.to_string()),
            other => Failed(other),
        }
    }
}

impl From<fd_store::StoreError> for ActError {
    fn from(e: fd_store::StoreError) -> Self {
        Failed(e.into())
    }
}

/// Whether `user` is active and may see the ticket (HD-09): whom a rule may assign, make a
/// follower or notify.
async fn may_see(tx: &mut Tx, user: UserId, ticket: TicketId) -> Result<bool, AppError> {
    let Some(u) = tx.user(user).await? else {
        return Ok(false);
    };
    Ok(u.active
        && tx
            .ticket(&u.viewer().ticket_scope(), ticket)
            .await?
            .is_some())
}

/// Carries out one action; returns what it did, for the run log.
#[allow(clippy::too_many_arguments)]
async fn act(
    tx: &mut Tx,
    cfg: &TicketConfig,
    actor: &Actor,
    rule: &Rule,
    ticket: TicketId,
    action: &Action,
    apply: ApplyChanges,
    now: i64,
) -> Result<(String, Vec<Event>), ActError> {
    let mut t = tx
        .ticket_for_update(&ViewerScope::All, ticket)
        .await?
        .ok_or_else(|| Refused(format!("ticket {ticket} is gone")))?;
    let mut props = BTreeMap::new();
    let what = match action {
        Action::SetProperty { property, value } => {
            props.insert(property.clone(), value.clone());
            format!("set {property} to {value:?}")
        }
        Action::SetStage { stage } => {
            props.insert("hs_pipeline_stage".into(), stage.to_string());
            format!("set the status to {}", stage_label(cfg, *stage))
        }
        Action::SetStageNamed { label } => {
            let stages = cfg
                .pipeline(t.pipeline_id)
                .map(|p| {
                    p.stages
                        .iter()
                        .map(|s| (s.id, s.label.as_str(), s.archived))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            let Some(stage) = rules::stage_named(stages, label) else {
                return Err(Refused(format!(
                    "the ticket's pipeline has no status named {label:?}"
                )));
            };
            if stage == t.stage_id {
                return Ok((format!("the status was already {label}"), Vec::new()));
            }
            props.insert("hs_pipeline_stage".into(), stage.to_string());
            format!("set the status to {label}")
        }
        Action::SetOwner { owner } => {
            if let Some(o) = owner
                && !may_see(tx, *o, ticket).await?
            {
                return Err(Refused(format!(
                    "user {o} may not see this ticket, so cannot own it (HD-09)"
                )));
            }
            props.insert(
                "hubspot_owner_id".into(),
                owner.map(|o| o.to_string()).unwrap_or_default(),
            );
            match owner {
                Some(o) => format!("set the owner to user {o}"),
                None => "removed the owner".into(),
            }
        }
        Action::SetTeam { team } => {
            props.insert(
                "hubspot_team_id".into(),
                team.map(|o| o.to_string()).unwrap_or_default(),
            );
            match team {
                Some(x) => format!("set the team to team {x}"),
                None => "removed the team".into(),
            }
        }
        Action::AddFollower { user } => {
            if !may_see(tx, *user, ticket).await? {
                return Err(Refused(format!(
                    "user {user} may not see this ticket, so cannot follow it (HD-09)"
                )));
            }
            tx.follow(*user, ticket, now).await?;
            return Ok((format!("added user {user} as a follower"), Vec::new()));
        }
        Action::Comment { body } => {
            let id = tx
                .insert_comment(Some(ticket), None, None, body, &[], now)
                .await?;
            tx.record_activity(&NewActivity {
                object_type: ObjectType::Ticket,
                object_id: ticket.0,
                actor: ActorRef::System,
                action: "commented",
                field: None,
                old_value: None,
                new_value: Some(id.to_string()),
                at: now,
            })
            .await?;
            let mut n = TicketNotice::new(ticket, TicketActivity::Comment, body);
            n.comment = Some(id);
            let told = notify_ticket_activity(tx, actor, n, now).await?;
            let events = told.into_iter().map(Event::NotificationsChanged).collect();
            return Ok(("posted an internal comment".into(), events));
        }
        Action::Notify {
            users,
            owner,
            message,
        } => {
            let mut whom: Vec<UserId> = users.clone();
            if *owner && let Some(o) = t.owner_id {
                whom.push(o);
            }
            whom.sort();
            whom.dedup();
            let mut told = Vec::new();
            for u in whom {
                if may_see(tx, u, ticket).await? {
                    notify_user(tx, u, ticket, &rule.name, message, now).await?;
                    told.push(u);
                }
            }
            let what = format!("notified {} user(s)", told.len());
            return Ok((
                what,
                told.into_iter().map(Event::NotificationsChanged).collect(),
            ));
        }
        Action::SendEmail { body } => {
            return send_email(tx, cfg, actor, ticket, body, apply, now).await;
        }
    };
    let events = apply(tx, cfg, actor, &mut t, &props, now).await?;
    Ok((what, events))
}

fn stage_label(cfg: &TicketConfig, stage: StageId) -> String {
    cfg.stage(stage)
        .map(|s| s.label.clone())
        .unwrap_or_else(|| format!("stage {stage}"))
}

async fn notify_user(
    tx: &mut Tx,
    user: UserId,
    ticket: TicketId,
    rule: &str,
    message: &str,
    now: i64,
) -> Result<(), AppError> {
    let text = format!("Automation “{rule}”");
    let excerpt = fd_domain::notify::excerpt(message);
    let id = tx
        .insert_ticket_notification(
            &fd_store::NewNotification {
                user,
                kind: "automation",
                ticket: Some(ticket),
                conversation: None,
                comment: None,
                actor: None,
                text: &text,
                excerpt: Some(&excerpt),
            },
            now,
        )
        .await?;
    // Emailed like every other notification, as the user chose.
    if tx.notify_email_mode(user).await? == fd_domain::notify::NotifyEmail::Immediately {
        tx.enqueue_job(
            crate::notify::JOB_NOTIFY_EMAIL,
            &serde_json::json!({ "notification_id": id.0 }).to_string(),
            now,
            5,
            now,
        )
        .await?;
    }
    Ok(())
}

/// A template email to the ticket's customer, on its newest email-capable conversation,
/// through the outbox like an agent's reply; it is itself an email sent to the customer.
async fn send_email(
    tx: &mut Tx,
    cfg: &TicketConfig,
    actor: &Actor,
    ticket: TicketId,
    body: &str,
    apply: ApplyChanges,
    now: i64,
) -> Result<(String, Vec<Event>), ActError> {
    let convs = tx
        .conversations_of_ticket(&ViewerScope::All, ticket, false)
        .await?;
    let mut chosen = None;
    for c in convs.into_iter().rev() {
        let contact_email = match c.contact_id {
            Some(cid) => tx.contact(cid).await?.and_then(|k| k.email),
            None => None,
        };
        let has_email =
            c.channel == Channel::Email || c.visitor_email.is_some() || contact_email.is_some();
        let by_email = matches!(
            fd_domain::engagements::hd_15_reply_delivery(c.channel, has_email, false),
            ReplyDelivery::Email
        );
        if by_email {
            chosen = Some((c, contact_email));
            break;
        }
    }
    let Some((mut c, contact_email)) = chosen else {
        return Err(Refused(
            "the ticket has no conversation with an email address to send to (HD-15)".into(),
        ));
    };
    let thread = tx
        .messages(&ViewerScope::All, c.id)
        .await?
        .unwrap_or_default();
    let target = thread.last();
    let newest_inbound = thread
        .iter()
        .rev()
        .find(|m| m.direction == Direction::Inbound);
    let Some(to) =
        fd_domain::rules::hd_14_default_to(target, newest_inbound, &c, contact_email.as_deref())
    else {
        return Err(Refused("the customer has no email address".into()));
    };
    let new = NewMessage {
        conversation_id: c.id,
        direction: Direction::Outbound,
        channel: Channel::Email,
        sender_user_id: None,
        sender_name: None,
        sender_address: None,
        recipients: Recipients {
            to: vec![to.clone()],
            ..Recipients::default()
        },
        subject: c.subject.as_deref().map(fd_mail::thread::reply_subject),
        text: body.to_string(),
        html: None,
        attachments: Vec::new(),
        message_id_header: None,
        in_reply_to: target.and_then(|m| m.message_id_header.clone()),
        references_header: target.and_then(|m| {
            fd_mail::thread::reply_references(
                m.references_header.as_deref(),
                m.in_reply_to.as_deref(),
                m.message_id_header.as_deref(),
            )
        }),
        reply_to_message_id: target.map(|m| m.id),
        status: DeliveryStatus::Queued,
        created_at: now,
    };
    let mid = tx.insert_message(&new).await?;
    crate::mail::prepare_outbound_email(tx, &c, mid, None, true, now).await?;
    c.last_message_at = now;
    c.updated_at = now;
    if !tx.save_conversation(&c).await? {
        return Err(Failed(AppError::Conflict(format!(
            "conversation {} changed meanwhile",
            c.id
        ))));
    }
    tx.touch_ticket(ticket, now).await?;
    let mut events = vec![Event::MessageAdded {
        conversation: c.id,
        ticket: Some(ticket),
    }];
    let mut n = TicketNotice::new(ticket, TicketActivity::Reply, body);
    n.conversation = Some(c.id);
    let told = notify_ticket_activity(tx, actor, n, now).await?;
    events.extend(told.into_iter().map(Event::NotificationsChanged));
    // An email went to the customer: the rules on that fire too (the chain stops loops).
    let event = TicketEvent::AgentReply {
        by_email: true,
        chose_status: false,
    };
    events.extend(run(tx, cfg, actor, ticket, event, apply, now).await?);
    Ok((format!("emailed the customer at {to}"), events))
}

/// A refused action: logged on the ticket's activity, and every active administrator who
/// may see the ticket is notified.
async fn refused(
    tx: &mut Tx,
    rule: &Rule,
    ticket: TicketId,
    why: &str,
    now: i64,
) -> Result<Vec<Event>, AppError> {
    tx.record_activity(&NewActivity {
        object_type: ObjectType::Ticket,
        object_id: ticket.0,
        actor: ActorRef::System,
        action: "automation_refused",
        field: Some(rule.name.clone()),
        old_value: None,
        new_value: Some(why.to_string()),
        at: now,
    })
    .await?;
    let mut events = Vec::new();
    let admins: Vec<UserId> = tx
        .users()
        .await?
        .into_iter()
        .filter(|u| u.active && u.viewer().is_account_admin())
        .map(|u| u.id)
        .collect();
    for a in admins {
        if may_see(tx, a, ticket).await? {
            notify_user(
                tx,
                a,
                ticket,
                &rule.name,
                &format!("An action was refused: {why}"),
                now,
            )
            .await?;
            events.push(Event::NotificationsChanged(a));
        }
    }
    Ok(events)
}

/// How many tickets a sweep handles per rule at most (the next sweep takes the rest).
const SWEEP_BATCH: i64 = 200;

/// Time triggers: fires each enabled "time since" rule once per ticket per occurrence of its
/// event, for occurrences at least the rule's delay before now. One transaction per ticket;
/// the occurrence is claimed in it, so two nodes sweeping never fire it twice. Returns how
/// many tickets rules ran on. (`App::run_automation_sweep`, in the ticket module, hands in
/// `apply`.)
pub(crate) async fn sweep(app: &App, apply: ApplyChanges) -> Result<usize, AppError> {
    let now = app.now();
    let timed: Vec<Rule> = {
        let mut tx = app.db().read().await?;
        let rows = tx.automation_rules().await?;
        tx.commit().await?;
        let mut out = Vec::new();
        for r in &rows {
            let rule = parse_row(r)?;
            if rule.enabled && matches!(rule.trigger, Trigger::TimeSince { .. }) {
                out.push(rule);
            }
        }
        out
    };
    let mut fired = 0;
    for rule in timed {
        let Trigger::TimeSince { event, minutes } = rule.trigger else {
            continue;
        };
        let cutoff = now.saturating_sub(minutes.saturating_mul(60_000));
        let due = {
            let mut tx = app.db().read().await?;
            let due = tx
                .automation_time_candidates(rule.id, event, cutoff, SWEEP_BATCH)
                .await?;
            tx.commit().await?;
            due
        };
        for (ticket, occurred) in due {
            let mut tx = app.db().write().await?;
            if !tx
                .claim_automation_occurrence(rule.id, ticket, occurred, now)
                .await?
            {
                tx.commit().await?;
                continue;
            }
            let cfg = app.ticket_config(&mut tx).await?;
            let events = run(
                &mut tx,
                &cfg,
                &Actor::system(),
                ticket,
                TicketEvent::TimeDue { rule: rule.id },
                apply,
                now,
            )
            .await?;
            tx.commit().await?;
            if !events.is_empty() {
                fired += 1;
            }
            app.publish(events);
        }
    }
    Ok(fired)
}

impl App {
    /// Settings → Automation: every rule in order, with what it did last (admins only).
    pub async fn automation_rules(&self, actor: &Actor) -> Result<Vec<AutomationRule>, AppError> {
        actor.require_admin("managing automation")?;
        let mut tx = self.db().read().await?;
        let rows = tx.automation_rules().await?;
        tx.commit().await?;
        rows.iter()
            .map(|r| {
                Ok(AutomationRule {
                    rule: parse_row(r)?,
                    created_at: r.created_at,
                    updated_at: r.updated_at,
                    last_run_at: r.last_run_at,
                    last_ticket: r.last_ticket_id,
                    last_outcome: r.last_outcome.clone(),
                })
            })
            .collect()
    }

    pub async fn automation_rule(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<AutomationRule, AppError> {
        self.automation_rules(actor)
            .await?
            .into_iter()
            .find(|r| r.rule.id == id)
            .ok_or_else(|| AppError::not_found("automation rule", id))
    }

    /// A rule's newest runs (what it did on which ticket, or why it was refused).
    pub async fn automation_runs(
        &self,
        actor: &Actor,
        id: i64,
        limit: i64,
    ) -> Result<Vec<AutomationRun>, AppError> {
        actor.require_admin("managing automation")?;
        let mut tx = self.db().read().await?;
        let runs = tx.automation_runs(id, limit.clamp(1, 500)).await?;
        tx.commit().await?;
        Ok(runs)
    }

    pub async fn create_automation_rule(
        &self,
        actor: &Actor,
        input: RuleInput,
    ) -> Result<i64, AppError> {
        actor.require_admin("managing automation")?;
        let now = self.now();
        let json = RuleJson::of(&input)?;
        let mut tx = self.db().write().await?;
        check_references(self, &mut tx, &input).await?;
        let id = tx.insert_automation_rule(&json.input(&input), now).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn update_automation_rule(
        &self,
        actor: &Actor,
        id: i64,
        input: RuleInput,
    ) -> Result<(), AppError> {
        actor.require_admin("managing automation")?;
        let now = self.now();
        let json = RuleJson::of(&input)?;
        let mut tx = self.db().write().await?;
        check_references(self, &mut tx, &input).await?;
        if !tx
            .update_automation_rule(id, &json.input(&input), now)
            .await?
        {
            return Err(AppError::not_found("automation rule", id));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Turns a rule on or off (HD-20's built-in rule included).
    pub async fn set_automation_rule_enabled(
        &self,
        actor: &Actor,
        id: i64,
        enabled: bool,
    ) -> Result<(), AppError> {
        actor.require_admin("managing automation")?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        if !tx.set_automation_rule_enabled(id, enabled, now).await? {
            return Err(AppError::not_found("automation rule", id));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a rule; a built-in one can only be turned off.
    pub async fn delete_automation_rule(&self, actor: &Actor, id: i64) -> Result<(), AppError> {
        actor.require_admin("managing automation")?;
        let mut tx = self.db().write().await?;
        match tx.automation_rule(id).await? {
            None => return Err(AppError::not_found("automation rule", id)),
            Some(r) if r.builtin.is_some() => {
                return Err(AppError::invalid(
                    "rule",
                    "a built-in rule cannot be deleted; turn it off instead",
                ));
            }
            Some(_) => {}
        }
        tx.delete_automation_rule(id).await?;
        tx.commit().await?;
        Ok(())
    }
}

struct RuleJson {
    trigger: String,
    conditions: String,
    actions: String,
}

impl RuleJson {
    fn of(input: &RuleInput) -> Result<RuleJson, AppError> {
        rules::validate(
            &input.name,
            &input.trigger,
            &input.conditions,
            &input.actions,
        )?;
        let ser = |e: serde_json::Error| AppError::Internal(format!("rule JSON: {e}"));
        Ok(RuleJson {
            trigger: serde_json::to_string(&input.trigger).map_err(ser)?,
            conditions: serde_json::to_string(&input.conditions).map_err(ser)?,
            actions: serde_json::to_string(&input.actions).map_err(ser)?,
        })
    }
    fn input<'a>(&'a self, input: &'a RuleInput) -> AutomationRuleInput<'a> {
        AutomationRuleInput {
            name: input.name.trim(),
            enabled: input.enabled,
            trigger_json: &self.trigger,
            conditions_json: &self.conditions,
            actions_json: &self.actions,
        }
    }
}

/// Names in a rule must exist when it is saved: properties, stages, users, teams.
async fn check_references(app: &App, tx: &mut Tx, input: &RuleInput) -> Result<(), AppError> {
    let cfg = app.ticket_config(tx).await?;
    let mut errors = Vec::new();
    let mut names: Vec<(&str, &str)> = Vec::new();
    if let Trigger::PropertyChanged { property: p } = &input.trigger {
        names.push(("trigger", p));
    }
    for c in &input.conditions {
        if let Condition::Property { property: p, .. } = c {
            names.push(("conditions", p));
        }
    }
    for a in &input.actions {
        if let Action::SetProperty { property: p, .. } = a {
            names.push(("actions", p));
        }
    }
    for (field, name) in names {
        if !cfg.properties.contains_key(name) {
            errors.push(FieldError::new(
                field,
                ErrorCode::PropertyDoesntExist,
                format!("{name:?} is not a ticket property"),
            ));
        }
    }
    let mut users = Vec::new();
    let mut teams = Vec::new();
    for a in &input.actions {
        match a {
            Action::SetStage { stage } if cfg.stage(*stage).is_none() => {
                errors.push(FieldError::new(
                    "actions",
                    ErrorCode::InvalidOption,
                    format!("{stage} is not a status"),
                ))
            }
            Action::SetOwner { owner: Some(u) } | Action::AddFollower { user: u } => users.push(*u),
            Action::Notify { users: us, .. } => users.extend(us.iter().copied()),
            Action::SetTeam { team: Some(x) } => teams.push(*x),
            _ => {}
        }
    }
    for c in &input.conditions {
        if let Condition::Team { teams: ts } = c {
            teams.extend(ts.iter().copied());
        }
    }
    for u in users {
        if tx.user_active(u).await? != Some(true) {
            errors.push(FieldError::new(
                "actions",
                ErrorCode::InvalidOption,
                format!("{u} is not an active user"),
            ));
        }
    }
    for x in teams {
        if !tx.team_exists(x).await? {
            errors.push(FieldError::new(
                "actions",
                ErrorCode::InvalidOption,
                format!("{x} is not a team"),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(DomainError::Invalid(errors).into())
    }
}
