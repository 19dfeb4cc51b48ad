//! Rules about user accounts that need no storage: an administrator cannot lock the account
//! out of administration (issue 13, item 9), and which TOTP time steps a code may match.
//!
//! Pure: the caller loads the users and passes the time in; no I/O, no clock, no async.

use crate::entities::User;
use crate::error::DomainError;
use crate::model::{Role, UserId};

/// What an administrator is about to do to a user's account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountChange {
    Deactivate,
    /// The role and the Account Access permission become these.
    SetAccess {
        role: Role,
        account_access: bool,
    },
}

/// Whether a user may manage users: a Super Admin, or anyone with Account Access (the same
/// test as `Viewer::is_account_admin`).
pub fn is_admin(role: Role, account_access: bool) -> bool {
    role == Role::SuperAdmin || account_access
}

/// Refuses a change that would deactivate the actor's own account, or leave the account
/// without an active administrator (nobody could then manage users, reset a password or
/// undo the change). `users` is every user as stored before the change.
pub fn check_admin_change(
    actor: Option<UserId>,
    target: UserId,
    change: AccountChange,
    users: &[User],
) -> Result<(), DomainError> {
    let refuse = |message: &str| DomainError::RuleViolation {
        rule: "ACCOUNTS-ADMIN",
        message: message.into(),
    };
    if change == AccountChange::Deactivate && actor == Some(target) {
        return Err(refuse(
            "you cannot deactivate your own account; ask another Super Admin",
        ));
    }
    let is_active_admin = |u: &User| u.active && is_admin(u.role, u.account_access);
    let Some(subject) = users.iter().find(|u| u.id == target) else {
        return Ok(());
    };
    let removes_admin = match change {
        AccountChange::Deactivate => true,
        AccountChange::SetAccess {
            role,
            account_access,
        } => !is_admin(role, account_access),
    };
    if removes_admin
        && is_active_admin(subject)
        && !users.iter().any(|u| u.id != target && is_active_admin(u))
    {
        return Err(refuse(
            "this is the last active administrator; give another user Super Admin or Account Access first",
        ));
    }
    Ok(())
}

/// RFC 6238's time step (30 s) of a moment in milliseconds since the epoch.
pub fn totp_step(now_ms: i64) -> i64 {
    now_ms.div_euclid(30_000)
}

/// The steps a code typed at `now_ms` may belong to, in the order to try them: the current
/// one, then one before and one after (clock drift and typing time), never one at or before
/// `last_used_step` — a code once accepted cannot be replayed within its window, nor any
/// older code.
pub fn totp_candidate_steps(now_ms: i64, last_used_step: i64) -> Vec<i64> {
    let t = totp_step(now_ms);
    [t, t - 1, t + 1]
        .into_iter()
        .filter(|s| *s > last_used_step)
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::{Seat, TicketAccessLevel};

    fn user(id: i64, role: Role, active: bool) -> User {
        let account_access = role == Role::SuperAdmin;
        User {
            id: UserId(id),
            email: format!("u{id}@example.com"),
            name: format!("u{id}"),
            role,
            account_access,
            service_access: true,
            sales_access: false,
            seat: Seat::Service,
            ticket_access: TicketAccessLevel::All,
            active,
            teams: Vec::new(),
            created_at: 0,
            time_zone: "UTC".into(),
        }
    }

    #[test]
    fn accounts_admin_cannot_deactivate_themself() {
        let users = [
            user(1, Role::SuperAdmin, true),
            user(2, Role::SuperAdmin, true),
        ];
        let r = check_admin_change(
            Some(UserId(1)),
            UserId(1),
            AccountChange::Deactivate,
            &users,
        );
        assert!(r.unwrap_err().to_string().contains("your own account"));
        assert!(
            check_admin_change(
                Some(UserId(1)),
                UserId(2),
                AccountChange::Deactivate,
                &users
            )
            .is_ok()
        );
    }

    #[test]
    fn accounts_the_last_active_admin_stays() {
        // User 2 is a Super Admin but deactivated: user 1 is the last active one.
        let users = [
            user(1, Role::SuperAdmin, true),
            user(2, Role::SuperAdmin, false),
            user(3, Role::Agent, true),
        ];
        // The system actor (CLI) may not remove them either.
        let r = check_admin_change(None, UserId(1), AccountChange::Deactivate, &users);
        assert!(
            r.unwrap_err()
                .to_string()
                .contains("last active administrator")
        );
        let r = check_admin_change(
            None,
            UserId(1),
            AccountChange::SetAccess {
                role: Role::Agent,
                account_access: false,
            },
            &users,
        );
        assert!(r.is_err());
        // Keeping the role, or changing an agent, is fine.
        assert!(
            check_admin_change(
                None,
                UserId(1),
                AccountChange::SetAccess {
                    role: Role::Agent,
                    account_access: true
                },
                &users
            )
            .is_ok()
        );
        assert!(check_admin_change(None, UserId(3), AccountChange::Deactivate, &users).is_ok());
    }

    #[test]
    fn totp_steps_are_the_window_minus_used_ones() {
        let now = 59 * 1000; // step 1
        assert_eq!(totp_candidate_steps(now, 0), vec![1, 2]);
        assert_eq!(totp_candidate_steps(now, -1), vec![1, 0, 2]);
        assert_eq!(totp_candidate_steps(now, 1), vec![2]);
        assert_eq!(totp_candidate_steps(now, 2), Vec::<i64>::new());
    }
}
