//! Ticket use cases: create, update (stage moves, INB-10/11, HD-19), trash and restore
//! (INB-13), purge, and scoped reads.

use std::collections::BTreeMap;

use fd_domain::property::PropertyDefinition;
use fd_domain::rules::{self, StageMoveEffects};
use fd_domain::*;
use fd_store::{
    ActivityEvent, Association, Comment, Company, Contact, Conversation, Deal, NewActivity,
    TICKET_COLUMN_PROPERTIES, Ticket, TicketListQuery, Tx,
};

use fd_domain::notify::{self, TicketActivity};

use crate::config::TicketConfig;
use crate::crm::{AssociationEnd, association_pair};
use crate::notify::{TicketNotice, notify_ticket_activity};
use crate::{Actor, App, AppError, Event};

/// Input of "create ticket" (HD-10, HD-11), in HubSpot's property vocabulary.
#[derive(Debug, Clone, Default)]
pub struct NewTicket {
    pub properties: BTreeMap<String, String>,
    /// Records to associate at creation (contacts, companies, deals).
    pub associations: Vec<AssociationEnd>,
    /// Enforce the admin-configured required fields of the create form (the UI's form).
    pub via_form: bool,
}

/// Property changes to a ticket; `expected_version` makes a stale edit a conflict.
#[derive(Debug, Clone, Default)]
pub struct TicketChanges {
    pub properties: BTreeMap<String, String>,
    pub expected_version: Option<i64>,
}

/// A ticket with what its record page shows (HD-13).
#[derive(Debug, Clone)]
pub struct TicketDetails {
    pub ticket: Ticket,
    pub conversations: Vec<Conversation>,
    pub contacts: Vec<Contact>,
    pub companies: Vec<Company>,
    pub deals: Vec<Deal>,
    pub comments: Vec<Comment>,
    pub activity: Vec<ActivityEvent>,
    pub followers: Vec<UserId>,
}

pub(crate) struct Applied {
    pub events: Vec<Event>,
}

fn activity(ticket: TicketId, actor: &Actor, action: &'static str, at: i64) -> NewActivity {
    NewActivity {
        object_type: ObjectType::Ticket,
        object_id: ticket.0,
        actor: actor.actor_ref(),
        action,
        field: None,
        old_value: None,
        new_value: None,
        at,
    }
}

pub(crate) fn change(
    ticket: TicketId,
    actor: &Actor,
    field: &str,
    old: Option<String>,
    new: Option<String>,
    at: i64,
) -> NewActivity {
    NewActivity {
        field: Some(field.to_string()),
        old_value: old,
        new_value: new,
        ..activity(ticket, actor, "property_changed", at)
    }
}

/// Parses and checks `raw` properties against their definitions; collects every problem.
pub(crate) fn normalize_properties(
    cfg: &TicketConfig,
    raw: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, Option<String>>, AppError> {
    let defs: &BTreeMap<String, PropertyDefinition> = &cfg.properties;
    let mut errors = Vec::new();
    let mut out = BTreeMap::new();
    for (name, value) in raw {
        let Some(def) = defs.get(name) else {
            errors.push(FieldError::new(
                name,
                ErrorCode::PropertyDoesntExist,
                "is not a ticket property",
            ));
            continue;
        };
        if def.read_only {
            errors.push(FieldError::new(
                name,
                ErrorCode::ReadOnlyValue,
                "is read-only",
            ));
            continue;
        }
        let normalized = match name.as_str() {
            // Ids and references are validated against their tables below, not as options.
            "hs_pipeline" | "hs_pipeline_stage" | "hubspot_owner_id" | "hubspot_team_id" => {
                let v = value.trim();
                if v.is_empty() {
                    Ok(None)
                } else if v.parse::<i64>().is_ok() {
                    Ok(Some(v.to_string()))
                } else {
                    Err(FieldError::new(
                        name,
                        ErrorCode::InvalidInteger,
                        format!("{value:?} is not a numeric id"),
                    ))
                }
            }
            _ => def.normalize(value),
        };
        match normalized {
            Ok(v) => {
                out.insert(name.clone(), v);
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(DomainError::Invalid(errors).into())
    }
}

fn id_of(v: &Option<String>) -> Option<i64> {
    v.as_deref().and_then(|s| s.parse().ok())
}

/// Applies normalised property values to a ticket in memory; checks the references (pipeline,
/// stage of that pipeline, active owner, team). Returns the activity of the changed fields.
async fn apply_properties(
    tx: &mut Tx,
    cfg: &TicketConfig,
    t: &mut Ticket,
    props: &BTreeMap<String, Option<String>>,
    errors: &mut Vec<FieldError>,
) -> Result<Vec<(String, Option<String>, Option<String>)>, AppError> {
    let mut changed = Vec::new();
    let before = t.clone();
    for (name, value) in props {
        match name.as_str() {
            "subject" => match value.as_deref().map(rules::ticket_subject) {
                Some(Ok(s)) => t.subject = s,
                Some(Err(DomainError::Invalid(mut e))) => errors.append(&mut e),
                Some(Err(other)) => return Err(other.into()),
                None => errors.push(FieldError::new(
                    "subject",
                    ErrorCode::Required,
                    "the ticket name is required",
                )),
            },
            "content" => t.content = value.clone(),
            "hs_ticket_priority" => t.priority = value.clone(),
            "hs_ticket_category" => t.category = value.clone(),
            "source_type" => t.source_type = value.clone(),
            "hs_pipeline" => match id_of(value) {
                Some(p) => t.pipeline_id = PipelineId(p),
                None => errors.push(FieldError::new(
                    "hs_pipeline",
                    ErrorCode::Required,
                    "the pipeline is required",
                )),
            },
            "hs_pipeline_stage" => match id_of(value) {
                Some(s) => t.stage_id = StageId(s),
                None => errors.push(FieldError::new(
                    "hs_pipeline_stage",
                    ErrorCode::Required,
                    "the status is required",
                )),
            },
            "hubspot_owner_id" => match id_of(value) {
                None => t.owner_id = None,
                Some(u) => match tx.user_active(UserId(u)).await? {
                    Some(true) => t.owner_id = Some(UserId(u)),
                    _ => errors.push(FieldError::new(
                        "hubspot_owner_id",
                        ErrorCode::InvalidOption,
                        format!("{u} is not an active user"),
                    )),
                },
            },
            "hubspot_team_id" => match id_of(value) {
                None => t.team_id = None,
                Some(team) => match tx.team_exists(TeamId(team)).await? {
                    true => t.team_id = Some(TeamId(team)),
                    false => errors.push(FieldError::new(
                        "hubspot_team_id",
                        ErrorCode::InvalidOption,
                        format!("{team} is not a team"),
                    )),
                },
            },
            custom => match value {
                Some(v) => {
                    t.custom.insert(custom.to_string(), v.clone());
                }
                None => {
                    t.custom.remove(custom);
                }
            },
        }
    }
    // The stage must belong to the ticket's pipeline and be live.
    if t.pipeline_id != before.pipeline_id || t.stage_id != before.stage_id {
        match cfg.pipeline(t.pipeline_id) {
            None => errors.push(FieldError::new(
                "hs_pipeline",
                ErrorCode::InvalidOption,
                format!("{} is not a ticket pipeline", t.pipeline_id),
            )),
            Some(p) if p.archived => errors.push(FieldError::new(
                "hs_pipeline",
                ErrorCode::InvalidOption,
                format!("pipeline {} is archived", t.pipeline_id),
            )),
            Some(p) => match p.stages.iter().find(|s| s.id == t.stage_id) {
                Some(s) if !s.archived => {}
                Some(_) => errors.push(FieldError::new(
                    "hs_pipeline_stage",
                    ErrorCode::InvalidOption,
                    format!("stage {} is archived", t.stage_id),
                )),
                None => errors.push(FieldError::new(
                    "hs_pipeline_stage",
                    ErrorCode::InvalidOption,
                    format!(
                        "{} is not a stage of pipeline {}",
                        t.stage_id, t.pipeline_id
                    ),
                )),
            },
        }
    }
    for name in props.keys() {
        let (old, new) = (before.property(name), t.property(name));
        if old != new {
            changed.push((name.clone(), old, new));
        }
    }
    Ok(changed)
}

/// HD-19: refuses entering a conditional stage while its required properties are empty.
fn check_stage_requirements<'c>(
    cfg: &'c TicketConfig,
    t: &Ticket,
) -> Result<&'c fd_store::Stage, AppError> {
    let stage = cfg.stage(t.stage_id).ok_or_else(|| {
        AppError::invalid(
            "hs_pipeline_stage",
            format!("{} is not a stage", t.stage_id),
        )
    })?;
    rules::hd_19_check_conditional_stage(&stage.label, &stage.required_properties, |name| {
        t.property(name).is_some_and(|v| !v.trim().is_empty())
    })?;
    Ok(stage)
}

/// Carries out a stage move's consequences on the ticket's conversations (INB-10, INB-11).
async fn apply_stage_effects(
    tx: &mut Tx,
    actor: &Actor,
    t: &mut Ticket,
    effects: &StageMoveEffects,
    now: i64,
    events: &mut Vec<Event>,
) -> Result<(), AppError> {
    if let Some(closed) = effects.closed_date {
        t.closed_at = closed;
    }
    if !(effects.close_all_conversations || effects.reopen_single_conversation) {
        return Ok(());
    }
    // The rule concerns every conversation of the ticket, whoever moves it.
    let convs = tx
        .conversations_of_ticket(&ViewerScope::All, t.id, false)
        .await?;
    let targets: Vec<Conversation> = if effects.close_all_conversations {
        convs
            .into_iter()
            .filter(|c| c.status == ConversationStatus::Open)
            .collect()
    } else if convs.len() == 1 {
        convs
            .into_iter()
            .filter(|c| c.status == ConversationStatus::Closed)
            .collect()
    } else {
        Vec::new()
    };
    let new_status = if effects.close_all_conversations {
        ConversationStatus::Closed
    } else {
        ConversationStatus::Open
    };
    for mut c in targets {
        let old = c.status;
        c.status = new_status;
        c.closed_at = (new_status == ConversationStatus::Closed).then_some(now);
        c.updated_at = now;
        if !tx.save_conversation(&c).await? {
            return Err(AppError::Conflict(format!(
                "conversation {} changed meanwhile",
                c.id
            )));
        }
        tx.record_activity(&crate::activity::conv_change(
            c.id,
            actor,
            "status",
            Some(old.to_string()),
            Some(new_status.to_string()),
            now,
        ))
        .await?;
        events.push(Event::ConversationChanged(c.id));
    }
    Ok(())
}

/// HD-22 (move to another pipeline): a new pipeline without a chosen stage lands in the stage
/// fd-domain's `hd_22_pipeline_move_stage` maps the current one to; with none, the move is
/// refused naming the stage to choose. An unknown or archived pipeline is left to
/// `apply_properties`, which refuses it; a chosen stage is checked against the pipeline there.
fn map_pipeline_move(
    cfg: &TicketConfig,
    t: &Ticket,
    props: &mut BTreeMap<String, Option<String>>,
) -> Result<(), AppError> {
    if props.contains_key("hs_pipeline_stage") {
        return Ok(());
    }
    let Some(target) = props
        .get("hs_pipeline")
        .and_then(id_of)
        .map(PipelineId)
        .filter(|p| *p != t.pipeline_id)
        .and_then(|p| cfg.pipeline(p))
        .filter(|p| !p.archived)
    else {
        return Ok(());
    };
    let current = cfg
        .stage(t.stage_id)
        .ok_or_else(|| AppError::Internal(format!("stage {} vanished", t.stage_id)))?;
    match rules::hd_22_pipeline_move_stage(current, target) {
        Some(stage) => {
            props.insert("hs_pipeline_stage".into(), Some(stage.id.to_string()));
            Ok(())
        }
        None => Err(rules::hd_22_stage_choice_needed(current, target).into()),
    }
}

/// The single path that changes a locked ticket's properties, for every use case.
pub(crate) async fn apply_ticket_changes(
    tx: &mut Tx,
    cfg: &TicketConfig,
    actor: &Actor,
    t: &mut Ticket,
    raw: &BTreeMap<String, String>,
    now: i64,
) -> Result<Applied, AppError> {
    let mut props = normalize_properties(cfg, raw)?;
    map_pipeline_move(cfg, t, &mut props)?;
    let before = t.clone();
    let mut errors = Vec::new();
    let changed = apply_properties(tx, cfg, t, &props, &mut errors).await?;
    if !errors.is_empty() {
        return Err(DomainError::Invalid(errors).into());
    }
    let mut events = vec![Event::TicketChanged(t.id)];
    if changed.is_empty() {
        return Ok(Applied { events: Vec::new() });
    }
    let old_stage = cfg
        .stage(before.stage_id)
        .ok_or_else(|| AppError::Internal(format!("stage {} vanished", before.stage_id)))?;
    let new_stage = check_stage_requirements(cfg, t)?;
    if old_stage.id != new_stage.id {
        let live = tx
            .conversations_of_ticket(&ViewerScope::All, t.id, false)
            .await?
            .len();
        let effects =
            rules::inb_10_11_stage_move_effects(old_stage.state, new_stage.state, live, now);
        t.is_open = new_stage.state == StageState::Open;
        apply_stage_effects(tx, actor, t, &effects, now, &mut events).await?;
        if new_stage.state == StageState::Closed && old_stage.state != StageState::Closed {
            crate::csat::queue_survey_in(tx, t.id, now).await?;
        }
    }
    t.updated_at = now;
    t.last_activity_at = t.last_activity_at.max(now);
    if !tx.save_ticket(t).await? {
        return Err(AppError::Conflict(format!(
            "ticket {} was changed by someone else; reload and try again",
            t.id
        )));
    }
    t.version += 1;
    for (name, _, _) in &changed {
        if !TICKET_COLUMN_PROPERTIES.contains(&name.as_str()) {
            tx.set_property_value(
                "tickets",
                t.id.0,
                name,
                t.custom.get(name).map(String::as_str),
            )
            .await?;
        }
    }
    let changed_names: Vec<String> = changed.iter().map(|(n, _, _)| n.clone()).collect();
    for (name, old, new) in changed {
        tx.record_activity(&change(t.id, actor, &name, old, new, now))
            .await?;
    }
    // Follow and notify: a status change and an owner change each tell the owner and the
    // followers; an assignment tells the new owner.
    if old_stage.id != new_stage.id {
        let excerpt = notify::change_excerpt(&old_stage.label, &new_stage.label);
        let n = TicketNotice::new(t.id, TicketActivity::StatusChanged, &excerpt);
        let told = notify_ticket_activity(tx, actor, n, now).await?;
        events.extend(told.into_iter().map(Event::NotificationsChanged));
    }
    if before.owner_id != t.owner_id {
        let excerpt = notify::change_excerpt(
            &owner_name(tx, before.owner_id).await?,
            &owner_name(tx, t.owner_id).await?,
        );
        let mut n = TicketNotice::new(t.id, TicketActivity::OwnerChanged, &excerpt);
        n.new_owner = t.owner_id;
        n.previous_owner = before.owner_id;
        let told = notify_ticket_activity(tx, actor, n, now).await?;
        events.extend(told.into_iter().map(Event::NotificationsChanged));
    }
    crate::sla::recompute_loaded_ticket_sla(tx, t, now).await?;
    events.extend(
        crate::automation::ticket_changed(
            tx,
            cfg,
            actor,
            t,
            changed_names,
            apply_for_automation,
            now,
        )
        .await?,
    );
    Ok(Applied { events })
}

/// A user's name for a notification's `old → new` (nobody: "Unassigned").
async fn owner_name(tx: &mut Tx, owner: Option<UserId>) -> Result<String, AppError> {
    Ok(match owner {
        Some(u) => tx
            .user(u)
            .await?
            .map(|u| u.name)
            .unwrap_or_else(|| format!("user {u}")),
        None => "Unassigned".to_string(),
    })
}

/// Builds and inserts a ticket inside an open transaction, then runs what follows a creation
/// ([`ticket_created`]): the roads whose ticket is complete once its row exists (by hand, the
/// API, unmerge, objects).
pub(crate) async fn insert_ticket(
    tx: &mut Tx,
    cfg: &TicketConfig,
    actor: &Actor,
    input: &NewTicket,
    workspace: Workspace,
    now: i64,
) -> Result<Ticket, AppError> {
    let mut t = insert_ticket_row(tx, cfg, actor, input, workspace, now).await?;
    ticket_created(tx, cfg, actor, &mut t, now).await?;
    Ok(t)
}

/// Builds and inserts a ticket inside an open transaction, routed (validation, the row,
/// its creation activity, associations, the owner's notice, routing) — without the SLA
/// computation and the "ticket created" automation. A channel's conversation creates the
/// ticket first and its first message after, then calls [`ticket_created`], so that the
/// clocks and the rules see the thread (a "created" rule emailing the customer answers the
/// message the ticket came from).
pub(crate) async fn insert_ticket_row(
    tx: &mut Tx,
    cfg: &TicketConfig,
    actor: &Actor,
    input: &NewTicket,
    workspace: Workspace,
    now: i64,
) -> Result<Ticket, AppError> {
    let mut raw = input.properties.clone();
    let mut errors = Vec::new();
    // HubSpot: a missing pipeline means the default one.
    raw.entry("hs_pipeline".into())
        .or_insert_with(|| "0".into());
    if raw.get("subject").is_none_or(|s| s.trim().is_empty()) {
        errors.push(FieldError::new(
            "subject",
            ErrorCode::Required,
            "the ticket name is required",
        ));
    }
    if raw
        .get("hs_pipeline_stage")
        .is_none_or(|s| s.trim().is_empty())
    {
        errors.push(FieldError::new(
            "hs_pipeline_stage",
            ErrorCode::Required,
            "the status is required",
        ));
    }
    if input.via_form {
        for (name, required) in tx.ticket_form_fields().await? {
            if required && raw.get(&name).is_none_or(|v| v.trim().is_empty()) {
                errors.push(FieldError::new(
                    name,
                    ErrorCode::Required,
                    "is required by the create-ticket form",
                ));
            }
        }
    }
    // Unknown or malformed values are reported together with the missing ones.
    let props = match normalize_properties(cfg, &raw) {
        Ok(p) if errors.is_empty() => p,
        Ok(_) => return Err(DomainError::Invalid(errors).into()),
        Err(AppError::Domain(DomainError::Invalid(mut more))) => {
            errors.append(&mut more);
            return Err(DomainError::Invalid(errors).into());
        }
        Err(e) => return Err(e),
    };
    let mut t = Ticket {
        id: TicketId(0),
        subject: String::new(),
        content: None,
        pipeline_id: PipelineId(-1),
        stage_id: StageId(-1),
        priority: None,
        category: None,
        owner_id: None,
        team_id: None,
        source_type: None,
        workspace,
        is_open: true,
        created_by: actor.user_id(),
        created_at: now,
        updated_at: now,
        closed_at: None,
        last_activity_at: now,
        version: 1,
        trashed_at: None,
        custom: BTreeMap::new(),
    };
    apply_properties(tx, cfg, &mut t, &props, &mut errors).await?;
    if !errors.is_empty() {
        return Err(DomainError::Invalid(errors).into());
    }
    // A team-scoped creator keeps sight of what they create: it lands in their first team.
    if t.team_id.is_none()
        && let Viewer::User { teams, .. } = &actor.viewer
    {
        t.team_id = teams.first().copied();
    }
    // An agent who may see only their own tickets owns what they create unless they chose
    // an owner; otherwise the ticket would vanish from their sight on creation.
    if t.owner_id.is_none()
        && !props.contains_key("hubspot_owner_id")
        && let Viewer::User { id, access, .. } = &actor.viewer
        && access.level == TicketAccessLevel::Owned
    {
        t.owner_id = Some(*id);
    }
    let stage = check_stage_requirements(cfg, &t)?;
    t.is_open = stage.state == StageState::Open;
    let effects = rules::inb_10_initial_stage_effects(stage.state, now);
    if let Some(closed) = effects.closed_date {
        t.closed_at = closed;
    }
    t.id = tx.insert_ticket(&t).await?;
    tx.record_activity(&activity(t.id, actor, "created", now))
        .await?;
    for end in &input.associations {
        let ticket_end = AssociationEnd::new(ObjectType::Ticket, t.id.0);
        if !tx.record_exists(end.kind, end.id).await? {
            return Err(AppError::invalid(
                "associations",
                format!("{} {} does not exist", end.kind, end.id),
            ));
        }
        for a in association_pair(&ticket_end, end)? {
            tx.insert_association(&a, now).await?;
        }
        tx.record_activity(&NewActivity {
            field: Some(end.kind.to_string()),
            new_value: Some(end.id.to_string()),
            ..activity(t.id, actor, "associated", now)
        })
        .await?;
    }
    // Assignment at creation by someone else tells the new owner.
    if t.owner_id.is_some() && t.owner_id != actor.user_id() {
        let excerpt = notify::change_excerpt("Unassigned", &owner_name(tx, t.owner_id).await?);
        let mut n = TicketNotice::new(t.id, TicketActivity::OwnerChanged, &excerpt);
        n.new_owner = t.owner_id;
        notify_ticket_activity(tx, actor, n, now).await?;
    }
    crate::routing::route_new_ticket(tx, &mut t, now).await?;
    Ok(t)
}

/// What follows a ticket's creation once everything it came with exists (its conversation
/// and first message, for a channel): the SLA clocks and the "ticket created" rules, in the
/// caller's transaction; `ticket` is brought up to date with what the rules changed. Returns
/// the rules' events.
pub(crate) async fn ticket_created(
    tx: &mut Tx,
    cfg: &TicketConfig,
    actor: &Actor,
    ticket: &mut Ticket,
    now: i64,
) -> Result<Vec<Event>, AppError> {
    crate::sla::recompute_loaded_ticket_sla(tx, ticket, now).await?;
    crate::automation::ticket_created(tx, cfg, actor, ticket, apply_for_automation, now).await
}

impl App {
    /// HD-01/HD-02/HD-10/HD-11: creates a ticket by hand (UI or API).
    pub async fn create_ticket(&self, actor: &Actor, input: NewTicket) -> Result<Ticket, AppError> {
        actor.require_ticket_access()?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let mode = tx.account_settings().await?.mode;
        let workspace = match mode {
            AccountMode::HelpDesk => Workspace::HelpDesk,
            AccountMode::Inbox => Workspace::Inbox,
        };
        let cfg = self.ticket_config(&mut tx).await?;
        let t = insert_ticket(&mut tx, &cfg, actor, &input, workspace, now).await?;
        tx.commit().await?;
        self.publish(vec![Event::TicketChanged(t.id)]);
        Ok(t)
    }

    /// HD-01/HD-02: creates a ticket for the contact with this email address — the existing
    /// one, or a new contact — as one action in one transaction: a refused ticket leaves no
    /// contact behind.
    pub async fn create_ticket_with_contact(
        &self,
        actor: &Actor,
        mut input: NewTicket,
        contact_email: &str,
    ) -> Result<Ticket, AppError> {
        actor.require_ticket_access()?;
        let now = self.now();
        let mut contact = crate::crm::contact_row(
            crate::NewContact {
                email: Some(contact_email.to_string()),
                ..crate::NewContact::default()
            },
            now,
        )?;
        let mut tx = self.db().write().await?;
        let existing = match &contact.email {
            Some(e) => tx.contact_by_email(e).await?,
            None => None,
        };
        match existing {
            Some(k) => contact.id = k.id,
            None => crate::crm::insert_contact_in(&mut tx, actor, &mut contact, now).await?,
        }
        input.associations.push(crate::AssociationEnd::new(
            ObjectType::Contact,
            contact.id.0,
        ));
        let mode = tx.account_settings().await?.mode;
        let workspace = match mode {
            AccountMode::HelpDesk => Workspace::HelpDesk,
            AccountMode::Inbox => Workspace::Inbox,
        };
        let cfg = self.ticket_config(&mut tx).await?;
        let t = insert_ticket(&mut tx, &cfg, actor, &input, workspace, now).await?;
        tx.commit().await?;
        self.publish(vec![Event::TicketChanged(t.id)]);
        Ok(t)
    }

    /// Loads a live ticket the actor may see, locked for update.
    pub(crate) async fn locked_ticket(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        id: TicketId,
    ) -> Result<Ticket, AppError> {
        actor.require_ticket_access()?;
        match tx.ticket_for_update(&actor.scope(), id).await? {
            Some(t) if t.trashed_at.is_none() => Ok(t),
            _ => Err(AppError::not_found("ticket", id)),
        }
    }

    /// Changes ticket properties; a stage move closes or reopens conversations (INB-10, INB-11)
    /// and is refused for a conditional stage without its required properties (HD-19).
    pub async fn update_ticket(
        &self,
        actor: &Actor,
        id: TicketId,
        changes: TicketChanges,
    ) -> Result<Ticket, AppError> {
        let mut tx = self.db().write().await?;
        let mut t = self.locked_ticket(&mut tx, actor, id).await?;
        // Read the clock only once the ticket is ours: a writer that waited for the lock must
        // not stamp its change (history, updated_at) earlier than the one it waited for.
        let now = self.now();
        if let Some(v) = changes.expected_version
            && v != t.version
        {
            return Err(AppError::Conflict(format!(
                "ticket {id} is at version {}, not {v}; reload and try again",
                t.version
            )));
        }
        let cfg = self.ticket_config(&mut tx).await?;
        let applied =
            apply_ticket_changes(&mut tx, &cfg, actor, &mut t, &changes.properties, now).await?;
        tx.commit().await?;
        self.publish(applied.events);
        Ok(t)
    }

    /// Assigns the ticket owner; conversations keep theirs (INB-06, second half).
    pub async fn assign_ticket_owner(
        &self,
        actor: &Actor,
        id: TicketId,
        owner: Option<UserId>,
    ) -> Result<Ticket, AppError> {
        let mut props = BTreeMap::new();
        props.insert(
            "hubspot_owner_id".to_string(),
            owner.map(|o| o.to_string()).unwrap_or_default(),
        );
        self.update_ticket(
            actor,
            id,
            TicketChanges {
                properties: props,
                expected_version: None,
            },
        )
        .await
    }

    /// INB-13: deleting a ticket moves it and its conversations to the trash.
    pub async fn trash_ticket(&self, actor: &Actor, id: TicketId) -> Result<(), AppError> {
        let now = self.now();
        let mut tx = self.db().write().await?;
        let mut t = self.locked_ticket(&mut tx, actor, id).await?;
        let events = trash_ticket_in(&mut tx, actor, &mut t, now).await?;
        tx.commit().await?;
        self.publish(events);
        Ok(())
    }

    /// Brings a trashed ticket back with the conversations that were trashed with it.
    pub async fn restore_ticket(&self, actor: &Actor, id: TicketId) -> Result<Ticket, AppError> {
        actor.require_ticket_access()?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let mut t = match tx.ticket_for_update(&actor.scope(), id).await? {
            // A merged-away ticket waits for an unmerge, not a restore.
            Some(_) if tx.ticket_merged_into(id).await?.is_some() => {
                return Err(AppError::Conflict(format!(
                    "ticket {id} was merged into another ticket"
                )));
            }
            Some(t) if t.trashed_at.is_some() => t,
            Some(_) => {
                return Err(AppError::Conflict(format!(
                    "ticket {id} is not in the trash"
                )));
            }
            None => return Err(AppError::not_found("ticket", id)),
        };
        let events = restore_ticket_in(&mut tx, actor, &mut t, now).await?;
        tx.commit().await?;
        self.publish(events);
        Ok(t)
    }

    /// A ticket the actor may see (trashed ones included: the Trash view opens them).
    pub async fn ticket(&self, actor: &Actor, id: TicketId) -> Result<Ticket, AppError> {
        actor.require_ticket_access()?;
        let mut tx = self.db().read().await?;
        let t = tx.ticket(&actor.scope(), id).await?;
        tx.commit().await?;
        t.ok_or_else(|| AppError::not_found("ticket", id))
    }

    /// HD-13: a ticket with its conversations, associated records, comments and history.
    pub async fn ticket_details(
        &self,
        actor: &Actor,
        id: TicketId,
    ) -> Result<TicketDetails, AppError> {
        actor.require_ticket_access()?;
        let mut tx = self.db().read().await?;
        let ticket = tx
            .ticket(&actor.scope(), id)
            .await?
            .ok_or_else(|| AppError::not_found("ticket", id))?;
        let scope = actor.scope();
        let conversations = tx
            .conversations_of_ticket(&scope, id, ticket.trashed_at.is_some())
            .await?;
        let assoc = tx.associations_from(ObjectType::Ticket, id.0, None).await?;
        let mut contacts = Vec::new();
        let mut companies = Vec::new();
        let mut deals = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for Association { to_type, to_id, .. } in assoc {
            if !seen.insert((to_type, to_id)) {
                continue;
            }
            match to_type {
                ObjectType::Contact => contacts.extend(tx.contact(ContactId(to_id)).await?),
                ObjectType::Company => companies.extend(tx.company(CompanyId(to_id)).await?),
                ObjectType::Deal => deals.extend(tx.deal(DealId(to_id)).await?),
                _ => {}
            }
        }
        let comments = tx.comments_of_ticket(&scope, id).await?;
        let activity = tx.activity(ObjectType::Ticket, id.0).await?;
        let followers = tx.followers(id).await?;
        tx.commit().await?;
        Ok(TicketDetails {
            ticket,
            conversations,
            contacts,
            companies,
            deals,
            comments,
            activity,
            followers,
        })
    }

    /// A page of a ticket view, scoped (HD-09).
    pub async fn list_tickets(
        &self,
        actor: &Actor,
        q: &TicketListQuery,
    ) -> Result<Vec<Ticket>, AppError> {
        actor.require_ticket_access()?;
        let mut tx = self.db().read().await?;
        let out = tx.list_tickets(&actor.scope(), q).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// The help desk's search (issue 13): a page of tickets whose subject, description,
    /// messages, comments, contacts' names or emails, companies' names or id match `q.text`
    /// (accents and case folded, `fd_domain::search::fold`), scoped (HD-09) and narrowed by
    /// the query's view and filters, each with where it matched. One read transaction, so the
    /// snippets come from the same snapshot as the page.
    pub async fn search_tickets(
        &self,
        actor: &Actor,
        q: &TicketListQuery,
    ) -> Result<Vec<(Ticket, Option<fd_domain::search::MatchSnippet>)>, AppError> {
        actor.require_ticket_access()?;
        let text = q.text.clone().unwrap_or_default();
        let mut tx = self.db().read().await?;
        let tickets = tx.list_tickets(&actor.scope(), q).await?;
        let ids: Vec<i64> = tickets.iter().map(|t| t.id.0).collect();
        let mut parts = tx.ticket_search_parts(&ids).await?;
        tx.commit().await?;
        Ok(tickets
            .into_iter()
            .map(|t| {
                let found = parts
                    .remove(&t.id.0)
                    .and_then(|p| fd_domain::search::locate(&p, &text))
                    .or_else(|| {
                        // Found by its id alone.
                        fd_domain::search::query_words(&text)
                            .iter()
                            .any(|w| *w == t.id.0.to_string())
                            .then(|| fd_domain::search::MatchSnippet {
                                source: fd_domain::search::MatchSource::Id,
                                pieces: vec![(t.id.0.to_string(), true)],
                            })
                    });
                (t, found)
            })
            .collect())
    }

    pub async fn count_tickets(&self, actor: &Actor, q: &TicketListQuery) -> Result<i64, AppError> {
        actor.require_ticket_access()?;
        let mut tx = self.db().read().await?;
        let n = tx.count_tickets(&actor.scope(), q).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Folds the view tallies' change rows (fd-store's `compact_ticket_tallies`): upkeep,
    /// not a user action, run by the server's periodic jobs.
    pub async fn compact_view_tallies(&self) -> Result<(), AppError> {
        let mut tx = self.db().write().await?;
        tx.compact_ticket_tallies().await?;
        tx.commit().await?;
        Ok(())
    }

    /// HD-22: follow a ticket (followers are notified of its activity).
    pub async fn follow_ticket(
        &self,
        actor: &Actor,
        id: TicketId,
        follow: bool,
    ) -> Result<(), AppError> {
        let user = actor.require_user()?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        self.locked_ticket(&mut tx, actor, id).await?;
        if follow {
            tx.follow(user, id, now).await?;
        } else {
            tx.unfollow(user, id).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes for good what has been in the trash longer than the retention period (INB-13).
    /// Returns how many tickets and conversations were purged.
    pub async fn purge_trash(&self) -> Result<(usize, usize), AppError> {
        let now = self.now();
        let mut purged = (0, 0);
        loop {
            let mut tx = self.db().write().await?;
            let days = tx.account_settings().await?.trash_retention_days;
            let cutoff = now - days * 86_400_000;
            let tickets = tx.trashed_tickets_before(cutoff, 100).await?;
            let convs = if tickets.is_empty() {
                tx.trashed_conversations_before(cutoff, 100).await?
            } else {
                Vec::new()
            };
            if tickets.is_empty() && convs.is_empty() {
                tx.commit().await?;
                return Ok(purged);
            }
            for t in &tickets {
                tx.purge_ticket(*t, now).await?;
            }
            for c in &convs {
                tx.purge_conversation(*c).await?;
            }
            tx.commit().await?;
            purged.0 += tickets.len();
            purged.1 += convs.len();
        }
    }
}

pub(crate) async fn trash_ticket_in(
    tx: &mut Tx,
    actor: &Actor,
    t: &mut Ticket,
    now: i64,
) -> Result<Vec<Event>, AppError> {
    let mut events = vec![Event::TicketChanged(t.id)];
    let mut conversations = tx
        .conversations_of_ticket(&ViewerScope::All, t.id, false)
        .await?;
    rules::inb_13_trash_ticket(t, &mut conversations, now);
    if !tx.save_ticket(t).await? {
        return Err(AppError::Conflict(format!(
            "ticket {} changed meanwhile",
            t.id
        )));
    }
    t.version += 1;
    tx.record_activity(&activity(t.id, actor, "trashed", now))
        .await?;
    for c in conversations {
        if !tx.save_conversation(&c).await? {
            return Err(AppError::Conflict(format!(
                "conversation {} changed meanwhile",
                c.id
            )));
        }
        tx.record_activity(&crate::activity::conv_event(c.id, actor, "trashed", now))
            .await?;
        events.push(Event::ConversationChanged(c.id));
    }
    Ok(events)
}

pub(crate) async fn restore_ticket_in(
    tx: &mut Tx,
    actor: &Actor,
    t: &mut Ticket,
    now: i64,
) -> Result<Vec<Event>, AppError> {
    let mut events = vec![Event::TicketChanged(t.id)];
    t.trashed_at = None;
    t.updated_at = now;
    if !tx.save_ticket(t).await? {
        return Err(AppError::Conflict(format!(
            "ticket {} changed meanwhile",
            t.id
        )));
    }
    t.version += 1;
    tx.record_activity(&activity(t.id, actor, "restored", now))
        .await?;
    for mut c in tx
        .conversations_of_ticket(&ViewerScope::All, t.id, true)
        .await?
    {
        if c.trashed_at.is_none() {
            continue;
        }
        c.trashed_at = None;
        c.updated_at = now;
        if !tx.save_conversation(&c).await? {
            return Err(AppError::Conflict(format!(
                "conversation {} changed meanwhile",
                c.id
            )));
        }
        tx.record_activity(&crate::activity::conv_event(c.id, actor, "restored", now))
            .await?;
        events.push(Event::ConversationChanged(c.id));
    }
    Ok(events)
}

/// `apply_ticket_changes` as automation applies a rule's changes (`automation::ApplyChanges`):
/// handed to it, so that the automation module does not import this one, which calls it.
pub(crate) fn apply_for_automation<'a>(
    tx: &'a mut Tx,
    cfg: &'a TicketConfig,
    actor: &'a Actor,
    t: &'a mut Ticket,
    raw: &'a BTreeMap<String, String>,
    now: i64,
) -> crate::automation::EngineFuture<'a> {
    Box::pin(async move {
        Ok(apply_ticket_changes(tx, cfg, actor, t, raw, now)
            .await?
            .events)
    })
}

impl App {
    /// Automation's time triggers ("no customer reply for 3 days"), each occurrence once:
    /// see `automation::sweep`.
    pub async fn run_automation_sweep(&self) -> Result<usize, AppError> {
        crate::automation::sweep(self, apply_for_automation).await
    }

    /// The SLA sweep (due soon, breached: notices and the SLA automation triggers, once per
    /// clock): see `sla::sweep`. Returns how many notices were written.
    pub async fn run_sla_sweep(&self) -> Result<usize, AppError> {
        crate::sla::sweep(self, apply_for_automation).await
    }
}
