//! Ticket routing's rows (migration 0022): each team's mode, capacity and round-robin cursor,
//! its channels' overrides, and what routing reads about the team's members (availability
//! and open tickets owned).
//!
//! Plain reads and writes; which member gets a ticket is fd-domain's `routing::choose_owner`,
//! asked by fd-app. Never reads the clock.

use fd_domain::routing::{RoutingChannel, RoutingMode, RoutingSetting};
use fd_domain::*;

use crate::error::decode;
use crate::records::user_from_row;
use crate::{StoreError, Tx, User, args};

/// A team's routing as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamRouting {
    pub team_id: TeamId,
    pub setting: RoutingSetting,
    /// The member the team's last routed ticket went to.
    pub last_user_id: Option<UserId>,
    /// Channels with their own setting.
    pub channels: Vec<(RoutingChannel, RoutingSetting)>,
}

/// A member of a team as routing sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingMember {
    pub user: User,
    pub available: bool,
    /// Open, not trashed tickets the user owns (in any team).
    pub open_tickets: i64,
}

fn setting_from_row(r: &crate::Row) -> Result<RoutingSetting, StoreError> {
    Ok(RoutingSetting {
        mode: decode(RoutingMode::parse(&r.string("mode")?).map_err(|e| e.message))?,
        capacity: r.opt_i64("capacity")?,
    })
}

impl Tx {
    /// A team's routing with its channel overrides; `None` when never set (manual). With
    /// `lock`, the team's row is locked until commit (PostgreSQL; SQLite's write transaction
    /// already excludes every other writer), so the cursor and the members' loads read after
    /// it are what the previous routing of this team committed.
    pub async fn team_routing(
        &mut self,
        team: TeamId,
        lock: bool,
    ) -> Result<Option<TeamRouting>, StoreError> {
        let sql = format!(
            "SELECT team_id, mode, capacity, last_user_id FROM team_routing WHERE team_id = $1{}",
            if lock { self.lock_rows() } else { "" }
        );
        let Some(r) = self.opt(&sql, args![team]).await? else {
            return Ok(None);
        };
        let mut out = TeamRouting {
            team_id: team,
            setting: setting_from_row(&r)?,
            last_user_id: r.opt_i64("last_user_id")?.map(UserId),
            channels: Vec::new(),
        };
        for c in self
            .all(
                "SELECT channel, mode, capacity FROM team_channel_routing WHERE team_id = $1 ORDER BY channel",
                args![team],
            )
            .await?
        {
            let channel = decode(RoutingChannel::parse(&c.string("channel")?).map_err(|e| e.message))?;
            out.channels.push((channel, setting_from_row(&c)?));
        }
        Ok(Some(out))
    }

    /// Every team's routing (the settings page).
    pub async fn all_team_routing(&mut self) -> Result<Vec<TeamRouting>, StoreError> {
        let teams = self
            .all("SELECT team_id FROM team_routing ORDER BY team_id", args![])
            .await?;
        let mut out = Vec::new();
        for t in teams {
            if let Some(r) = self.team_routing(TeamId(t.i64("team_id")?), false).await? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Sets a team's own setting (keeps its cursor and channel overrides).
    pub async fn set_team_routing(
        &mut self,
        team: TeamId,
        setting: RoutingSetting,
        now: Millis,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO team_routing (team_id, mode, capacity, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (team_id) DO UPDATE SET mode = excluded.mode, capacity = excluded.capacity, \
             updated_at = excluded.updated_at",
            args![team, setting.mode.as_str(), setting.capacity, now],
        )
        .await?;
        Ok(())
    }

    /// Sets (or, with `None`, removes) a channel's override. The team gets a (manual) row
    /// first if it has none: the team's row holds the cursor and is what creation locks.
    pub async fn set_channel_routing(
        &mut self,
        team: TeamId,
        channel: RoutingChannel,
        setting: Option<RoutingSetting>,
        now: Millis,
    ) -> Result<(), StoreError> {
        match setting {
            None => {
                self.exec(
                    "DELETE FROM team_channel_routing WHERE team_id = $1 AND channel = $2",
                    args![team, channel.as_str()],
                )
                .await?;
            }
            Some(s) => {
                self.exec(
                    "INSERT INTO team_routing (team_id, mode, capacity, updated_at) VALUES ($1, 'manual', NULL, $2) \
                     ON CONFLICT (team_id) DO NOTHING",
                    args![team, now],
                )
                .await?;
                self.exec(
                    "INSERT INTO team_channel_routing (team_id, channel, mode, capacity, updated_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (team_id, channel) DO UPDATE SET \
                     mode = excluded.mode, capacity = excluded.capacity, updated_at = excluded.updated_at",
                    args![team, channel.as_str(), s.mode.as_str(), s.capacity, now],
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Moves a team's round-robin cursor to the member just given a ticket.
    pub async fn set_routing_cursor(
        &mut self,
        team: TeamId,
        user: UserId,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE team_routing SET last_user_id = $2 WHERE team_id = $1",
            args![team, user],
        )
        .await?;
        Ok(())
    }

    /// A team's members in id order with their availability (no row: away) and the open
    /// tickets each owns.
    pub async fn routing_members(
        &mut self,
        team: TeamId,
    ) -> Result<Vec<RoutingMember>, StoreError> {
        let rows = self
            .all(
                "SELECT u.id, u.email, u.name, u.role, u.account_access, u.service_access, u.sales_access, \
                 u.seat, u.ticket_access, u.active, u.created_at, u.time_zone, \
                 a.status AS availability, \
                 (SELECT COUNT(*) FROM tickets t WHERE t.owner_id = u.id AND t.is_open = TRUE \
                  AND t.trashed_at IS NULL) AS open_tickets \
                 FROM team_members m JOIN users u ON u.id = m.user_id \
                 LEFT JOIN user_availability a ON a.user_id = u.id \
                 WHERE m.team_id = $1 ORDER BY u.id",
                args![team],
            )
            .await?;
        rows.iter()
            .map(|r| {
                // `teams` stays empty: routing needs the member's access, not their teams.
                Ok(RoutingMember {
                    user: user_from_row(r)?,
                    available: r.opt_string("availability")?.as_deref() == Some("available"),
                    open_tickets: r.i64("open_tickets")?,
                })
            })
            .collect()
    }
}
