//! Ticket routing (issue 16, item 2; HUBSPOT-API-2.md §8): per team, and per channel within a
//! team, new unassigned tickets stay unassigned (manual), go to the next member in turn (round
//! robin) or to the member with the fewest open tickets (load balanced) — only among members
//! who are active, in the team, available, allowed to see the ticket (HD-05/HD-09) and below
//! the capacity (open tickets they own).
//!
//! Pure: no I/O, no clock. fd-app loads the members, their availability and open-ticket
//! counts and the team's round-robin cursor inside the creating transaction (the team's
//! routing row locked), asks [`choose_owner`], and writes the owner and the new cursor.

use crate::model::UserId;
use crate::{ErrorCode, FieldError};

/// How a team (or one of its channels) hands out new tickets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoutingMode {
    /// HubSpot's default: tickets arrive unassigned and agents take them.
    Manual,
    /// One ticket to each eligible member per cycle, in a fixed order.
    RoundRobin,
    /// The eligible member with the fewest open tickets (ties in round-robin order).
    LoadBalanced,
}

impl RoutingMode {
    pub const ALL: [RoutingMode; 3] = [
        RoutingMode::Manual,
        RoutingMode::RoundRobin,
        RoutingMode::LoadBalanced,
    ];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RoutingMode::Manual => "manual",
            RoutingMode::RoundRobin => "round_robin",
            RoutingMode::LoadBalanced => "load_balanced",
        }
    }

    /// The spelling of the CLI and the settings form.
    pub fn as_cli(self) -> &'static str {
        match self {
            RoutingMode::Manual => "manual",
            RoutingMode::RoundRobin => "round-robin",
            RoutingMode::LoadBalanced => "load-balanced",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            RoutingMode::Manual => "Manual (unassigned)",
            RoutingMode::RoundRobin => "Round robin",
            RoutingMode::LoadBalanced => "Load balanced (fewest open tickets)",
        }
    }

    /// Reads either spelling (`round-robin` or `round_robin`), case-insensitively.
    pub fn parse(raw: &str) -> Result<RoutingMode, FieldError> {
        let v = raw.trim().to_ascii_lowercase().replace('-', "_");
        RoutingMode::ALL
            .into_iter()
            .find(|m| m.as_str() == v)
            .ok_or_else(|| {
                FieldError::new(
                    "mode",
                    ErrorCode::InvalidOption,
                    format!(
                        "{:?} is not one of: manual, round-robin, load-balanced",
                        raw.trim()
                    ),
                )
            })
    }
}

/// The channel a ticket came by, as routing distinguishes them: HubSpot's `source_type` of
/// the ticket (`EMAIL`, `FORM`, `CHAT`, `PHONE`); anything else (the API, a ticket made by
/// hand) is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoutingChannel {
    Email,
    Form,
    Chat,
    Calls,
    Other,
}

impl RoutingChannel {
    pub const ALL: [RoutingChannel; 5] = [
        RoutingChannel::Email,
        RoutingChannel::Form,
        RoutingChannel::Chat,
        RoutingChannel::Calls,
        RoutingChannel::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RoutingChannel::Email => "email",
            RoutingChannel::Form => "form",
            RoutingChannel::Chat => "chat",
            RoutingChannel::Calls => "calls",
            RoutingChannel::Other => "other",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            RoutingChannel::Email => "Email",
            RoutingChannel::Form => "Forms",
            RoutingChannel::Chat => "Chat",
            RoutingChannel::Calls => "Calls",
            RoutingChannel::Other => "API and other",
        }
    }

    pub fn parse(raw: &str) -> Result<RoutingChannel, FieldError> {
        let v = raw.trim().to_ascii_lowercase();
        let alias = match v.as_str() {
            "forms" => "form",
            "call" | "phone" => "calls",
            "api" => "other",
            other => other,
        };
        RoutingChannel::ALL
            .into_iter()
            .find(|c| c.as_str() == alias)
            .ok_or_else(|| {
                FieldError::new(
                    "channel",
                    ErrorCode::InvalidOption,
                    format!(
                        "{:?} is not one of: email, form, chat, calls, other",
                        raw.trim()
                    ),
                )
            })
    }

    /// The routing channel of a ticket's `source_type`.
    pub fn of_source_type(source_type: Option<&str>) -> RoutingChannel {
        match source_type {
            Some("EMAIL") => RoutingChannel::Email,
            Some("FORM") => RoutingChannel::Form,
            Some("CHAT") => RoutingChannel::Chat,
            Some("PHONE") => RoutingChannel::Calls,
            _ => RoutingChannel::Other,
        }
    }
}

/// A mode and a capacity (the most open tickets a member may own and still be given one;
/// `None`: no limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoutingSetting {
    pub mode: RoutingMode,
    pub capacity: Option<i64>,
}

impl RoutingSetting {
    pub const MANUAL: RoutingSetting = RoutingSetting {
        mode: RoutingMode::Manual,
        capacity: None,
    };
}

/// The largest capacity accepted.
pub const MAX_CAPACITY: i64 = 100_000;

/// A capacity must be a positive number of tickets (0 would route nothing: that is manual).
pub fn check_capacity(capacity: Option<i64>) -> Result<Option<i64>, FieldError> {
    match capacity {
        Some(n) if !(1..=MAX_CAPACITY).contains(&n) => Err(FieldError::new(
            "capacity",
            ErrorCode::InvalidValue,
            format!(
                "must be between 1 and {MAX_CAPACITY} open tickets (leave it empty for no limit)"
            ),
        )),
        c => Ok(c),
    }
}

/// Reads a capacity typed in a form: empty means no limit.
pub fn parse_capacity(raw: &str) -> Result<Option<i64>, FieldError> {
    let v = raw.trim();
    if v.is_empty() {
        return Ok(None);
    }
    match v.parse::<i64>() {
        Ok(n) => check_capacity(Some(n)),
        Err(_) => Err(FieldError::new(
            "capacity",
            ErrorCode::InvalidInteger,
            format!("{v:?} is not a whole number of tickets"),
        )),
    }
}

/// The setting that applies to a ticket of `channel`: the channel's own, else the team's,
/// else manual (HubSpot: tickets are unassigned by default).
pub fn effective_setting(
    team: Option<RoutingSetting>,
    channel: Option<RoutingSetting>,
) -> RoutingSetting {
    channel.or(team).unwrap_or(RoutingSetting::MANUAL)
}

/// What routing knows of one user it might give a ticket to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub user: UserId,
    /// Not deactivated.
    pub active: bool,
    /// A member of the ticket's team.
    pub in_team: bool,
    /// `hs_availability_status` is `available`.
    pub available: bool,
    /// Would see the ticket once it is theirs (HD-05: Service or Sales access; HD-09).
    pub may_access: bool,
    /// Open, not trashed tickets the user owns now.
    pub open_tickets: i64,
}

/// Why a member was passed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ineligible {
    Inactive,
    NotInTeam,
    Away,
    NoAccess,
    AtCapacity,
}

/// Whether `c` may be given a ticket under `capacity`.
pub fn eligibility(c: &Candidate, capacity: Option<i64>) -> Result<(), Ineligible> {
    if !c.active {
        return Err(Ineligible::Inactive);
    }
    if !c.in_team {
        return Err(Ineligible::NotInTeam);
    }
    if !c.available {
        return Err(Ineligible::Away);
    }
    if !c.may_access {
        return Err(Ineligible::NoAccess);
    }
    if capacity.is_some_and(|cap| c.open_tickets >= cap) {
        return Err(Ineligible::AtCapacity);
    }
    Ok(())
}

/// The owner routing gives a new ticket, or `None` (manual, or nobody eligible: the ticket
/// stays unassigned).
///
/// Round robin walks the eligible members in user-id order, starting after `cursor` (the
/// member the team's last routed ticket went to) and wrapping: as long as eligibility does
/// not change, nobody gets a second ticket before everyone got one, and a member who becomes
/// eligible joins the current cycle at their place without resetting it. Load balanced
/// takes the fewest open tickets, ties broken in that same round-robin order, so equal
/// loads rotate instead of always favouring the lowest id. The caller stores the chosen
/// member as the new cursor.
pub fn choose_owner(
    setting: RoutingSetting,
    candidates: &[Candidate],
    cursor: Option<UserId>,
) -> Option<UserId> {
    if setting.mode == RoutingMode::Manual {
        return None;
    }
    let mut eligible: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| eligibility(c, setting.capacity).is_ok())
        .collect();
    eligible.sort_by_key(|c| c.user);
    eligible.dedup_by_key(|c| c.user);
    // Round-robin order: those after the cursor, then the rest.
    let split = eligible
        .iter()
        .position(|c| cursor.is_none_or(|k| c.user > k))
        .unwrap_or(eligible.len());
    eligible.rotate_left(split);
    match setting.mode {
        RoutingMode::Manual => None,
        RoutingMode::RoundRobin => eligible.first().map(|c| c.user),
        // `min_by_key` keeps the first of equal minima, i.e. the next in turn.
        RoutingMode::LoadBalanced => eligible
            .iter()
            .min_by_key(|c| c.open_tickets)
            .map(|c| c.user),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn member(id: i64, open: i64) -> Candidate {
        Candidate {
            user: UserId(id),
            active: true,
            in_team: true,
            available: true,
            may_access: true,
            open_tickets: open,
        }
    }

    fn rr(capacity: Option<i64>) -> RoutingSetting {
        RoutingSetting {
            mode: RoutingMode::RoundRobin,
            capacity,
        }
    }

    fn lb(capacity: Option<i64>) -> RoutingSetting {
        RoutingSetting {
            mode: RoutingMode::LoadBalanced,
            capacity,
        }
    }

    /// Runs `n` routings, feeding each choice back as the cursor and as an open ticket.
    fn run(setting: RoutingSetting, members: &mut [Candidate], n: usize) -> Vec<i64> {
        let mut cursor = None;
        let mut out = Vec::new();
        for _ in 0..n {
            let Some(u) = choose_owner(setting, members, cursor) else {
                break;
            };
            cursor = Some(u);
            members
                .iter_mut()
                .find(|m| m.user == u)
                .unwrap()
                .open_tickets += 1;
            out.push(u.0);
        }
        out
    }

    #[test]
    fn routing_manual_assigns_nobody() {
        assert_eq!(
            choose_owner(RoutingSetting::MANUAL, &[member(1, 0)], None),
            None
        );
    }

    #[test]
    fn routing_round_robin_gives_each_member_one_per_cycle_in_order() {
        let mut m = vec![member(30, 5), member(10, 0), member(20, 9)];
        assert_eq!(run(rr(None), &mut m, 7), vec![10, 20, 30, 10, 20, 30, 10]);
    }

    #[test]
    fn routing_round_robin_continues_after_the_cursor_and_wraps() {
        let m = [member(1, 0), member(2, 0), member(3, 0)];
        assert_eq!(choose_owner(rr(None), &m, Some(UserId(2))), Some(UserId(3)));
        assert_eq!(choose_owner(rr(None), &m, Some(UserId(3))), Some(UserId(1)));
        // The last assignee left the team: the next one after their place.
        let m = [member(1, 0), member(3, 0)];
        assert_eq!(choose_owner(rr(None), &m, Some(UserId(2))), Some(UserId(3)));
    }

    #[test]
    fn routing_skips_away_inactive_outsiders_no_access_and_full_members() {
        let mut away = member(1, 0);
        away.available = false;
        let mut inactive = member(2, 0);
        inactive.active = false;
        let mut outsider = member(3, 0);
        outsider.in_team = false;
        let mut blind = member(4, 0);
        blind.may_access = false;
        let full = member(5, 2);
        let ok = member(6, 1);
        let all = [away, inactive, outsider, blind, full, ok];
        assert_eq!(eligibility(&all[0], None), Err(Ineligible::Away));
        assert_eq!(eligibility(&all[1], None), Err(Ineligible::Inactive));
        assert_eq!(eligibility(&all[2], None), Err(Ineligible::NotInTeam));
        assert_eq!(eligibility(&all[3], None), Err(Ineligible::NoAccess));
        assert_eq!(eligibility(&all[4], Some(2)), Err(Ineligible::AtCapacity));
        assert_eq!(eligibility(&all[4], Some(3)), Ok(()));
        for s in [rr(Some(2)), lb(Some(2))] {
            assert_eq!(choose_owner(s, &all, None), Some(UserId(6)));
            assert_eq!(choose_owner(s, &all, Some(UserId(6))), Some(UserId(6)));
        }
    }

    #[test]
    fn routing_everyone_at_capacity_leaves_the_ticket_unassigned() {
        let mut m = vec![member(1, 0), member(2, 0)];
        assert_eq!(run(rr(Some(2)), &mut m, 10), vec![1, 2, 1, 2]);
        assert_eq!(choose_owner(rr(Some(2)), &m, Some(UserId(2))), None);
        assert_eq!(choose_owner(lb(Some(2)), &m, None), None);
    }

    #[test]
    fn routing_load_balanced_picks_the_fewest_open_and_rotates_ties() {
        let m = [member(1, 4), member(2, 1), member(3, 2)];
        assert_eq!(choose_owner(lb(None), &m, None), Some(UserId(2)));
        let mut m = vec![member(1, 3), member(2, 0), member(3, 0)];
        // 2 and 3 catch up with 1, then all three take turns.
        assert_eq!(run(lb(None), &mut m, 9), vec![2, 3, 2, 3, 2, 3, 1, 2, 3]);
    }

    #[test]
    fn routing_a_member_who_becomes_available_joins_the_current_cycle() {
        let mut m = vec![member(1, 0), member(2, 0), member(3, 0)];
        m[1].available = false;
        assert_eq!(choose_owner(rr(None), &m, None), Some(UserId(1)));
        m[1].available = true;
        // The cycle goes on from 1: 2 is next, nobody restarts.
        assert_eq!(choose_owner(rr(None), &m, Some(UserId(1))), Some(UserId(2)));
    }

    #[test]
    fn routing_channel_setting_overrides_the_team_setting() {
        let team = rr(Some(3));
        let chat = lb(None);
        assert_eq!(effective_setting(Some(team), Some(chat)), chat);
        assert_eq!(effective_setting(Some(team), None), team);
        assert_eq!(effective_setting(None, None), RoutingSetting::MANUAL);
    }

    #[test]
    fn routing_modes_channels_and_capacities_are_parsed_with_clear_errors() {
        assert_eq!(
            RoutingMode::parse("Round-Robin").unwrap(),
            RoutingMode::RoundRobin
        );
        assert_eq!(
            RoutingMode::parse("load_balanced").unwrap(),
            RoutingMode::LoadBalanced
        );
        let e = RoutingMode::parse("random").unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidOption);
        assert!(e.message.contains("round-robin"), "{}", e.message);
        assert_eq!(
            RoutingChannel::parse("phone").unwrap(),
            RoutingChannel::Calls
        );
        assert!(RoutingChannel::parse("fax").is_err());
        assert_eq!(
            RoutingChannel::of_source_type(Some("EMAIL")),
            RoutingChannel::Email
        );
        assert_eq!(RoutingChannel::of_source_type(None), RoutingChannel::Other);
        assert_eq!(parse_capacity(" ").unwrap(), None);
        assert_eq!(parse_capacity("5").unwrap(), Some(5));
        assert!(parse_capacity("0").is_err());
        assert!(parse_capacity("-1").is_err());
        assert!(parse_capacity("many").is_err());
    }
}
