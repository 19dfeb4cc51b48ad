//! Account settings, users, teams and team addresses.

use fd_domain::*;

use crate::error::decode;
use crate::records::user_from_row;
use crate::{AccountSettings, StoreError, Team, Tx, User, args};

const USER_COLUMNS: &str = "id, email, name, password_hash, role, account_access, service_access, \
    sales_access, seat, ticket_access, active, created_at, time_zone";

/// A user with the password hash the store keeps for them. Only sign-in and password changes
/// read it; `User` itself has no hash, so nothing that lists or renders users can leak one.
#[derive(Debug, Clone)]
pub struct UserCredential {
    pub user: User,
    pub password_hash: String,
}

/// A user's password and second-factor state (never rendered as such: the TOTP secret is
/// shown only while the user enrols).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSecurity {
    pub must_change_password: bool,
    pub totp_secret: Option<String>,
    pub totp_enabled: bool,
    pub totp_last_step: i64,
    pub recovery_codes_left: i64,
}

/// Fields of a new user.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: EmailAddress,
    pub name: String,
    pub password_hash: String,
    pub role: Role,
    pub account_access: bool,
    pub service_access: bool,
    pub sales_access: bool,
    pub seat: Seat,
    pub ticket_access: TicketAccessLevel,
}

impl Tx {
    pub async fn account_settings(&mut self) -> Result<AccountSettings, StoreError> {
        let r = self
            .one(
                "SELECT mode, trash_retention_days FROM account_settings WHERE id = 1",
                args![],
            )
            .await?;
        Ok(AccountSettings {
            mode: decode(r.string("mode")?.parse())?,
            trash_retention_days: r.i64("trash_retention_days")?,
        })
    }

    pub async fn set_account_mode(
        &mut self,
        mode: AccountMode,
        now: Millis,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE account_settings SET mode = $1, updated_at = $2 WHERE id = 1",
            args![mode.as_str(), now],
        )
        .await?;
        Ok(())
    }

    pub async fn set_trash_retention_days(
        &mut self,
        days: i64,
        now: Millis,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE account_settings SET trash_retention_days = $1, updated_at = $2 WHERE id = 1",
            args![days, now],
        )
        .await?;
        Ok(())
    }

    pub async fn insert_user(&mut self, u: &NewUser, now: Millis) -> Result<UserId, StoreError> {
        let r = self
            .one(
                "INSERT INTO users (email, name, password_hash, role, account_access, service_access, \
                 sales_access, seat, ticket_access, active, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, TRUE, $10, $10) RETURNING id",
                args![
                    u.email.as_str(),
                    u.name.as_str(),
                    u.password_hash.as_str(),
                    u.role.as_str(),
                    u.account_access,
                    u.service_access,
                    u.sales_access,
                    u.seat.as_str(),
                    u.ticket_access.as_str(),
                    now
                ],
            )
            .await?;
        Ok(UserId(r.i64("id")?))
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn update_user_access(
        &mut self,
        id: UserId,
        role: Role,
        account_access: bool,
        service_access: bool,
        sales_access: bool,
        seat: Seat,
        ticket_access: TicketAccessLevel,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE users SET role = $2, account_access = $3, service_access = $4, sales_access = $5, \
                 seat = $6, ticket_access = $7, updated_at = $8 WHERE id = $1",
                args![
                    id,
                    role.as_str(),
                    account_access,
                    service_access,
                    sales_access,
                    seat.as_str(),
                    ticket_access.as_str(),
                    now
                ],
            )
            .await?;
        Ok(n == 1)
    }

    /// Sets a user's password hash; `must_change` when someone other than the user chose it
    /// (an administrator's reset, the first start), so the user is asked to replace it.
    pub async fn set_user_password_hash(
        &mut self,
        id: UserId,
        hash: &str,
        must_change: bool,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE users SET password_hash = $2, must_change_password = $3, updated_at = $4 \
                 WHERE id = $1",
                args![id, hash, must_change, now],
            )
            .await?;
        Ok(n == 1)
    }

    /// Marks a user's password as one they must change (first start, created by an admin).
    pub async fn set_must_change_password(
        &mut self,
        id: UserId,
        must_change: bool,
    ) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE users SET must_change_password = $2 WHERE id = $1",
                args![id, must_change],
            )
            .await?;
        Ok(n == 1)
    }

    /// The account-security state of a user (`None` for an unknown id).
    pub async fn user_security(&mut self, id: UserId) -> Result<Option<UserSecurity>, StoreError> {
        let Some(r) = self
            .opt(
                "SELECT must_change_password, totp_secret, totp_enabled, totp_last_step, \
                 (SELECT COUNT(*) FROM totp_recovery_codes c \
                  WHERE c.user_id = users.id AND c.used_at IS NULL) AS recovery_left \
                 FROM users WHERE id = $1",
                args![id],
            )
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(UserSecurity {
            must_change_password: r.bool("must_change_password")?,
            totp_secret: r.opt_string("totp_secret")?,
            totp_enabled: r.bool("totp_enabled")?,
            totp_last_step: r.i64("totp_last_step")?,
            recovery_codes_left: r.i64("recovery_left")?,
        }))
    }

    /// Stores a TOTP secret: pending (`enabled` false) until the user confirms a code, or
    /// none at all (`secret` `None`: two-factor sign-in off, recovery codes dropped).
    pub async fn set_user_totp(
        &mut self,
        id: UserId,
        secret: Option<&str>,
        enabled: bool,
        last_step: i64,
    ) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE users SET totp_secret = $2, totp_enabled = $3, totp_last_step = $4 \
                 WHERE id = $1",
                args![id, secret, enabled, last_step],
            )
            .await?;
        if secret.is_none() {
            self.exec(
                "DELETE FROM totp_recovery_codes WHERE user_id = $1",
                args![id],
            )
            .await?;
        }
        Ok(n == 1)
    }

    /// Records that a code of time step `step` was accepted, unless one of that step or a
    /// later one already was: `false` means a replay (one statement, so two concurrent
    /// requests with the same code cannot both pass).
    pub async fn use_totp_step(&mut self, id: UserId, step: i64) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2",
                args![id, step],
            )
            .await?;
        Ok(n == 1)
    }

    /// The users who have two-factor sign-in on.
    pub async fn users_with_totp(&mut self) -> Result<Vec<UserId>, StoreError> {
        let rows = self
            .all(
                "SELECT id FROM users WHERE totp_enabled = $1 ORDER BY id",
                args![true],
            )
            .await?;
        rows.iter().map(|r| Ok(UserId(r.i64("id")?))).collect()
    }

    /// Replaces a user's recovery codes with these hashes.
    pub async fn replace_recovery_codes(
        &mut self,
        id: UserId,
        hashes: &[String],
    ) -> Result<(), StoreError> {
        self.exec(
            "DELETE FROM totp_recovery_codes WHERE user_id = $1",
            args![id],
        )
        .await?;
        for h in hashes {
            self.exec(
                "INSERT INTO totp_recovery_codes (user_id, code_hash) VALUES ($1, $2)",
                args![id, h.as_str()],
            )
            .await?;
        }
        Ok(())
    }

    /// Uses up an unused recovery code; `false` when it is unknown or already used.
    pub async fn use_recovery_code(
        &mut self,
        id: UserId,
        hash: &str,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE totp_recovery_codes SET used_at = $3 \
                 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
                args![id, hash, now],
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn set_user_active(
        &mut self,
        id: UserId,
        active: bool,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE users SET active = $2, updated_at = $3 WHERE id = $1",
                args![id, active, now],
            )
            .await?;
        Ok(n == 1)
    }

    async fn user_teams(&mut self, id: UserId) -> Result<Vec<TeamId>, StoreError> {
        let rows = self
            .all(
                "SELECT team_id FROM team_members WHERE user_id = $1 ORDER BY team_id",
                args![id],
            )
            .await?;
        rows.iter().map(|r| Ok(TeamId(r.i64("team_id")?))).collect()
    }

    pub async fn user(&mut self, id: UserId) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let Some(r) = self.opt(&sql, args![id]).await? else {
            return Ok(None);
        };
        let mut u = user_from_row(&r)?;
        u.teams = self.user_teams(u.id).await?;
        Ok(Some(u))
    }

    /// The user with this email address and their password hash (sign-in).
    pub async fn user_credential_by_email(
        &mut self,
        email: &str,
    ) -> Result<Option<UserCredential>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        let Some(r) = self.opt(&sql, args![email.to_lowercase()]).await? else {
            return Ok(None);
        };
        let mut user = user_from_row(&r)?;
        user.teams = self.user_teams(user.id).await?;
        Ok(Some(UserCredential {
            user,
            password_hash: r.string("password_hash")?,
        }))
    }

    /// A user's password hash (password changes check the current one).
    pub async fn user_password_hash(&mut self, id: UserId) -> Result<Option<String>, StoreError> {
        match self
            .opt("SELECT password_hash FROM users WHERE id = $1", args![id])
            .await?
        {
            Some(r) => Ok(Some(r.string("password_hash")?)),
            None => Ok(None),
        }
    }

    pub async fn user_by_email(&mut self, email: &str) -> Result<Option<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        let Some(r) = self.opt(&sql, args![email.to_lowercase()]).await? else {
            return Ok(None);
        };
        let mut u = user_from_row(&r)?;
        u.teams = self.user_teams(u.id).await?;
        Ok(Some(u))
    }

    pub async fn users(&mut self) -> Result<Vec<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY id");
        let rows = self.all(&sql, args![]).await?;
        let members = self
            .all(
                "SELECT user_id, team_id FROM team_members ORDER BY team_id",
                args![],
            )
            .await?;
        let mut users = rows
            .iter()
            .map(user_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        for m in &members {
            let uid = UserId(m.i64("user_id")?);
            if let Some(u) = users.iter_mut().find(|u| u.id == uid) {
                u.teams.push(TeamId(m.i64("team_id")?));
            }
        }
        Ok(users)
    }

    /// `Some(active)` for an existing user, `None` for an unknown id (one light query).
    pub async fn user_active(&mut self, id: UserId) -> Result<Option<bool>, StoreError> {
        match self
            .opt("SELECT active FROM users WHERE id = $1", args![id])
            .await?
        {
            Some(r) => Ok(Some(r.bool("active")?)),
            None => Ok(None),
        }
    }

    pub async fn team_exists(&mut self, id: TeamId) -> Result<bool, StoreError> {
        Ok(self
            .opt("SELECT 1 AS one FROM teams WHERE id = $1", args![id])
            .await?
            .is_some())
    }

    pub async fn user_count(&mut self) -> Result<i64, StoreError> {
        self.one("SELECT COUNT(*) AS n FROM users", args![])
            .await?
            .i64("n")
    }

    pub async fn insert_team(&mut self, name: &str, now: Millis) -> Result<TeamId, StoreError> {
        let r = self
            .one(
                "INSERT INTO teams (name, created_at, updated_at) VALUES ($1, $2, $2) RETURNING id",
                args![name, now],
            )
            .await?;
        Ok(TeamId(r.i64("id")?))
    }

    pub async fn team(&mut self, id: TeamId) -> Result<Option<Team>, StoreError> {
        let Some(r) = self
            .opt(
                "SELECT id, name, default_from_address FROM teams WHERE id = $1",
                args![id],
            )
            .await?
        else {
            return Ok(None);
        };
        let members = self
            .all(
                "SELECT user_id FROM team_members WHERE team_id = $1 ORDER BY user_id",
                args![id],
            )
            .await?;
        Ok(Some(Team {
            id: TeamId(r.i64("id")?),
            name: r.string("name")?,
            default_from_address: r.opt_string("default_from_address")?,
            members: members
                .iter()
                .map(|m| m.i64("user_id").map(UserId))
                .collect::<Result<_, _>>()?,
        }))
    }

    pub async fn team_by_name(&mut self, name: &str) -> Result<Option<Team>, StoreError> {
        let Some(r) = self
            .opt("SELECT id FROM teams WHERE name = $1", args![name])
            .await?
        else {
            return Ok(None);
        };
        self.team(TeamId(r.i64("id")?)).await
    }

    pub async fn teams(&mut self) -> Result<Vec<Team>, StoreError> {
        let rows = self
            .all("SELECT id FROM teams ORDER BY name", args![])
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            if let Some(t) = self.team(TeamId(r.i64("id")?)).await? {
                out.push(t);
            }
        }
        Ok(out)
    }

    pub async fn add_team_member(
        &mut self,
        team: TeamId,
        user: UserId,
    ) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "INSERT INTO team_members (team_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                args![team, user],
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn remove_team_member(
        &mut self,
        team: TeamId,
        user: UserId,
    ) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "DELETE FROM team_members WHERE team_id = $1 AND user_id = $2",
                args![team, user],
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn set_team_default_from(
        &mut self,
        team: TeamId,
        address: Option<&str>,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE teams SET default_from_address = $2, updated_at = $3 WHERE id = $1",
                args![team, address, now],
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn insert_team_address(
        &mut self,
        team: TeamId,
        address: &str,
        workspace: Workspace,
        now: Millis,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO team_addresses (team_id, address, workspace, created_at) VALUES ($1, $2, $3, $4)",
            args![team, address, workspace.as_str(), now],
        )
        .await?;
        Ok(())
    }

    pub async fn team_addresses(
        &mut self,
        team: TeamId,
    ) -> Result<Vec<(String, Workspace)>, StoreError> {
        let rows = self
            .all(
                "SELECT address, workspace FROM team_addresses WHERE team_id = $1 ORDER BY id",
                args![team],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.string("address")?,
                    decode(r.string("workspace")?.parse())?,
                ))
            })
            .collect()
    }
}
