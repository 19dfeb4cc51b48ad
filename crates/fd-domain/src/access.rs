//! Ticket access (HD-05, HD-09) as data, so the query layer can turn it into SQL and tests can
//! compare every list against the same predicate.

use crate::model::{Role, Seat, TeamId, TicketAccessLevel, UserId};

/// The permissions of a user that decide what they may see and do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketAccess {
    pub level: TicketAccessLevel,
    pub service_access: bool,
    pub sales_access: bool,
}

/// Who is reading or writing: the system (unrestricted) or one user with their permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    System,
    User {
        id: UserId,
        role: Role,
        account_access: bool,
        seat: Seat,
        access: TicketAccess,
        teams: Vec<TeamId>,
    },
}

/// The row filter a viewer's access reduces to. The store turns exactly this into a WHERE clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViewerScope {
    /// Every ticket.
    All,
    /// No ticket at all (HD-05: neither Service nor Sales access).
    Nothing,
    /// Tickets owned by `user`, assigned to one of `teams`, or owned by a member of one of `teams`.
    Teams { user: UserId, teams: Vec<TeamId> },
    /// Tickets owned by `user`.
    Owned { user: UserId },
}

/// The facts about one ticket that access depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketAccessFacts {
    pub owner: Option<UserId>,
    pub team: Option<TeamId>,
    /// Teams the owner belongs to.
    pub owner_teams: Vec<TeamId>,
}

impl Viewer {
    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Viewer::System => None,
            Viewer::User { id, .. } => Some(*id),
        }
    }

    /// HD-03 and admin screens: Super Admins and users with Account Access.
    pub fn is_account_admin(&self) -> bool {
        match self {
            Viewer::System => true,
            Viewer::User {
                role,
                account_access,
                ..
            } => *role == Role::SuperAdmin || *account_access,
        }
    }

    /// HD-04: custom views, SLAs and reply suggestions need a Service Seat.
    pub fn has_service_seat(&self) -> bool {
        match self {
            Viewer::System => true,
            Viewer::User { seat, .. } => *seat == Seat::Service,
        }
    }

    /// HD-05: viewing, editing and replying to tickets needs Service or Sales access.
    pub fn can_use_tickets(&self) -> bool {
        match self {
            Viewer::System => true,
            Viewer::User { access, .. } => access.service_access || access.sales_access,
        }
    }

    pub fn ticket_scope(&self) -> ViewerScope {
        match self {
            Viewer::System => ViewerScope::All,
            Viewer::User {
                id, access, teams, ..
            } => {
                if !(access.service_access || access.sales_access) {
                    return ViewerScope::Nothing;
                }
                match access.level {
                    TicketAccessLevel::All => ViewerScope::All,
                    TicketAccessLevel::Team => ViewerScope::Teams {
                        user: *id,
                        teams: teams.clone(),
                    },
                    TicketAccessLevel::Owned => ViewerScope::Owned { user: *id },
                }
            }
        }
    }
}

impl ViewerScope {
    /// The reference predicate: the store's SQL must select exactly the tickets this accepts.
    pub fn allows(&self, ticket: &TicketAccessFacts) -> bool {
        match self {
            ViewerScope::All => true,
            ViewerScope::Nothing => false,
            ViewerScope::Owned { user } => ticket.owner == Some(*user),
            ViewerScope::Teams { user, teams } => {
                ticket.owner == Some(*user)
                    || ticket.team.is_some_and(|t| teams.contains(&t))
                    || ticket.owner_teams.iter().any(|t| teams.contains(t))
            }
        }
    }
}
