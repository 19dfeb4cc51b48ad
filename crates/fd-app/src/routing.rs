//! Ticket routing (issue 16, item 2; HUBSPOT-API-2.md §8): [`route_new_ticket`] gives a new
//! unassigned ticket of a team an owner, inside the transaction that creates it (every road
//! creates tickets through `tickets::insert_ticket`, which calls it), and the administration
//! of each team's mode and capacity per channel (Settings → Routing, `admin set-routing`).
//! Availability is chat's (`set_user_availability`): routing reads what it writes.
//!
//! Which member is chosen is fd-domain's `routing::choose_owner`; this module loads what it
//! needs under the team's routing row lock, writes the owner, its activity and the
//! notification. Must not depend on the other use-case modules (they call this one), on
//! HTTP or on templates.

use fd_domain::access::TicketAccessFacts;
use fd_domain::entities::AdminObject;
use fd_domain::notify::{self as notify_rules, TicketActivity};
use fd_domain::routing::{self, Candidate, RoutingChannel, RoutingSetting};
use fd_domain::*;
use fd_store::{NewActivity, RoutingMember, Team, TeamRouting, Ticket, Tx};

use crate::notify::{TicketNotice, notify_ticket_activity};
use crate::{Actor, App, AppError};

/// One team's routing as the settings page shows it.
#[derive(Debug, Clone)]
pub struct TeamRoutingView {
    pub team: Team,
    /// The team's own setting (manual when never set).
    pub setting: RoutingSetting,
    /// Channels with their own setting.
    pub channels: Vec<(RoutingChannel, RoutingSetting)>,
    /// The team's members with their availability and open tickets.
    pub members: Vec<RoutingMember>,
    /// Who the next round-robin ticket would go to after (the last routed member).
    pub last_user_id: Option<UserId>,
}

impl TeamRoutingView {
    /// The setting that applies to `channel`'s tickets.
    pub fn effective(&self, channel: RoutingChannel) -> RoutingSetting {
        routing::effective_setting(Some(self.setting), self.channel(channel))
    }

    /// `channel`'s own setting, if it has one.
    pub fn channel(&self, channel: RoutingChannel) -> Option<RoutingSetting> {
        self.channels
            .iter()
            .find(|(c, _)| *c == channel)
            .map(|(_, s)| *s)
    }
}

/// What routing knows of a member, for fd-domain's rule: a member of the ticket's team who
/// would see the ticket once it is theirs (HD-05/HD-09, by the access policy's own predicate).
fn candidate(team: TeamId, m: &RoutingMember) -> Candidate {
    let owned = TicketAccessFacts {
        owner: Some(m.user.id),
        team: Some(team),
        owner_teams: vec![team],
    };
    Candidate {
        user: m.user.id,
        active: m.user.active,
        in_team: true,
        available: m.available,
        may_access: m.user.viewer().ticket_scope().allows(&owned),
        open_tickets: m.open_tickets,
    }
}

/// Routes a ticket just inserted in `tx` (issue 16 item 2): when it is open, has a team and
/// no owner, and the team's setting for the ticket's channel (`source_type`) is not manual,
/// the chosen member becomes its owner — in this transaction, recorded as a change by the
/// system, and notified as an assignment. On PostgreSQL the team's routing row stays
/// locked until commit, so concurrent creations (several nodes, many mails at once) take
/// turns: each reads the cursor and the loads the previous one committed. Nobody eligible
/// (all away or full): the ticket stays unassigned.
pub(crate) async fn route_new_ticket(
    tx: &mut Tx,
    t: &mut Ticket,
    now: Millis,
) -> Result<(), AppError> {
    let Some(team) = t.team_id else {
        return Ok(());
    };
    if t.owner_id.is_some() || !t.is_open || t.trashed_at.is_some() {
        return Ok(());
    }
    let channel = RoutingChannel::of_source_type(t.source_type.as_deref());
    let setting_of = |r: &TeamRouting| {
        routing::effective_setting(
            Some(r.setting),
            r.channels
                .iter()
                .find(|(c, _)| *c == channel)
                .map(|(_, s)| *s),
        )
    };
    // A manual team is not locked: its tickets need no turn.
    match tx.team_routing(team, false).await? {
        Some(r) if setting_of(&r).mode != routing::RoutingMode::Manual => {}
        _ => return Ok(()),
    }
    let Some(r) = tx.team_routing(team, true).await? else {
        return Ok(());
    };
    let setting = setting_of(&r);
    let members = tx.routing_members(team).await?;
    let candidates: Vec<Candidate> = members.iter().map(|m| candidate(team, m)).collect();
    let Some(owner) = routing::choose_owner(setting, &candidates, r.last_user_id) else {
        return Ok(());
    };
    t.owner_id = Some(owner);
    if !tx.save_ticket(t).await? {
        return Err(AppError::Internal(
            "a ticket changed before its creation committed".into(),
        ));
    }
    t.version += 1;
    tx.set_routing_cursor(team, owner).await?;
    let system = Actor::system();
    tx.record_activity(&NewActivity {
        object_type: ObjectType::Ticket,
        object_id: t.id.0,
        actor: system.actor_ref(),
        action: "property_changed",
        field: Some("hubspot_owner_id".into()),
        old_value: None,
        new_value: Some(owner.to_string()),
        at: now,
    })
    .await?;
    let name = members
        .iter()
        .find(|m| m.user.id == owner)
        .map(|m| m.user.name.clone())
        .unwrap_or_else(|| format!("user {owner}"));
    let how = match setting.mode {
        routing::RoutingMode::LoadBalanced => "load balanced",
        _ => "round robin",
    };
    let excerpt = notify_rules::change_excerpt("Unassigned", &format!("{name} ({how} routing)"));
    let mut n = TicketNotice::new(t.id, TicketActivity::OwnerChanged, &excerpt);
    n.new_owner = Some(owner);
    notify_ticket_activity(tx, &system, n, now).await?;
    Ok(())
}

impl App {
    /// Every team's routing with its members (Settings → Routing; administrators).
    pub async fn routing_overview(&self, actor: &Actor) -> Result<Vec<TeamRoutingView>, AppError> {
        actor.require_admin("viewing routing")?;
        let mut tx = self.db().read().await?;
        let mut out = Vec::new();
        for team in tx.teams().await? {
            let r = tx.team_routing(team.id, false).await?;
            let members = tx.routing_members(team.id).await?;
            out.push(TeamRoutingView {
                setting: r.as_ref().map_or(RoutingSetting::MANUAL, |r| r.setting),
                channels: r.as_ref().map(|r| r.channels.clone()).unwrap_or_default(),
                last_user_id: r.as_ref().and_then(|r| r.last_user_id),
                members,
                team,
            });
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Sets how a team routes new tickets (administrators): its own mode and capacity, or
    /// with `channel` that channel's override; `None` with a channel removes the override
    /// (the team's setting applies again). Recorded in the team's administrative history.
    pub async fn set_routing(
        &self,
        actor: &Actor,
        team: TeamId,
        channel: Option<RoutingChannel>,
        setting: Option<RoutingSetting>,
    ) -> Result<(), AppError> {
        actor.require_admin("changing routing")?;
        if let Some(s) = setting {
            routing::check_capacity(s.capacity).map_err(|e| DomainError::Invalid(vec![e]))?;
        }
        let now = self.now();
        let mut tx = self.db().write().await?;
        if !tx.team_exists(team).await? {
            return Err(AppError::not_found("team", team));
        }
        let described = match setting {
            Some(s) => format!(
                "{}{}",
                s.mode.as_cli(),
                s.capacity
                    .map(|c| format!(", capacity {c}"))
                    .unwrap_or_default()
            ),
            None => "team default".to_string(),
        };
        match (channel, setting) {
            (None, Some(s)) => tx.set_team_routing(team, s, now).await?,
            (None, None) => {
                return Err(AppError::invalid(
                    "mode",
                    "a team's own routing needs a mode (manual, round-robin or load-balanced)",
                ));
            }
            (Some(c), s) => tx.set_channel_routing(team, c, s, now).await?,
        }
        let field = match channel {
            Some(c) => format!("routing.{}", c.as_str()),
            None => "routing".to_string(),
        };
        self.audit(
            &mut tx,
            actor,
            AdminObject::Team,
            team.0,
            "routing_changed",
            Some(&field),
            Some(described),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
