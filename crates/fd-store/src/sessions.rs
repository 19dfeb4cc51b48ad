//! Web UI sessions, the sign-in throttle (issue 5) and the browsers known to have signed in
//! to an account (issue 11). Tokens are stored only as hashes.

use fd_domain::{Millis, UserId};

use crate::{StoreError, Tx, args};

/// A signed-in browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiSession {
    pub token_hash: String,
    pub user_id: UserId,
    pub csrf_token: String,
    pub created_at: Millis,
    pub last_seen_at: Millis,
    pub expires_at: Millis,
    /// A short description of the browser (from its User-Agent) and the client address it
    /// signed in from, for the user's list of sessions.
    pub user_agent: String,
    pub client_addr: String,
    /// Read from the user, not stored with the session (ignored on insert): the user must
    /// change an administrator-set password before anything else.
    pub must_change_password: bool,
}

/// A sign-in that passed the password and waits for the second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInChallenge {
    pub token_hash: String,
    pub user_id: UserId,
    pub device_hash: String,
    pub created_at: Millis,
    pub expires_at: Millis,
}

const SESSION_COLUMNS: &str = "s.token_hash, s.user_id, s.csrf_token, s.created_at, \
     s.last_seen_at, s.expires_at, s.user_agent, s.client_addr, u.must_change_password";

fn session_of(r: &crate::db::Row) -> Result<UiSession, StoreError> {
    Ok(UiSession {
        token_hash: r.string("token_hash")?,
        user_id: UserId(r.i64("user_id")?),
        csrf_token: r.string("csrf_token")?,
        created_at: r.i64("created_at")?,
        last_seen_at: r.i64("last_seen_at")?,
        expires_at: r.i64("expires_at")?,
        user_agent: r.string("user_agent")?,
        client_addr: r.string("client_addr")?,
        must_change_password: r.bool("must_change_password")?,
    })
}

/// Failed sign-ins recorded for one key: an email address (attempts from browsers unknown to
/// that account) or one known browser of one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginThrottle {
    pub failures: i64,
    pub last_failure_at: Millis,
    pub locked_until: Millis,
}

impl Tx {
    pub async fn insert_ui_session(&mut self, s: &UiSession) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO ui_sessions (token_hash, user_id, csrf_token, created_at, last_seen_at, \
             expires_at, user_agent, client_addr) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            args![
                s.token_hash.as_str(),
                s.user_id,
                s.csrf_token.as_str(),
                s.created_at,
                s.last_seen_at,
                s.expires_at,
                s.user_agent.as_str(),
                s.client_addr.as_str()
            ],
        )
        .await?;
        Ok(())
    }

    pub async fn ui_session(&mut self, token_hash: &str) -> Result<Option<UiSession>, StoreError> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM ui_sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1"
        );
        match self.opt(&sql, args![token_hash]).await? {
            Some(r) => Ok(Some(session_of(&r)?)),
            None => Ok(None),
        }
    }

    /// A user's unexpired sessions, most recently used first.
    pub async fn ui_sessions_of(
        &mut self,
        user: UserId,
        now: Millis,
    ) -> Result<Vec<UiSession>, StoreError> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM ui_sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.user_id = $1 AND s.expires_at > $2 \
             ORDER BY s.last_seen_at DESC, s.created_at DESC"
        );
        let rows = self.all(&sql, args![user, now]).await?;
        rows.iter().map(session_of).collect()
    }

    /// Ends one session of a user, named by the start of its token hash (what the session
    /// list shows); `false` when the user has no such session.
    pub async fn delete_ui_session_of(
        &mut self,
        user: UserId,
        hash_prefix: &str,
    ) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "DELETE FROM ui_sessions WHERE user_id = $1 AND substr(token_hash, 1, 16) = $2",
                args![user, hash_prefix],
            )
            .await?;
        Ok(n > 0)
    }

    pub async fn insert_sign_in_challenge(
        &mut self,
        c: &SignInChallenge,
    ) -> Result<(), StoreError> {
        self.exec(
            "DELETE FROM sign_in_challenges WHERE expires_at < $1",
            args![c.created_at],
        )
        .await?;
        self.exec(
            "INSERT INTO sign_in_challenges (token_hash, user_id, device_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
            args![
                c.token_hash.as_str(),
                c.user_id,
                c.device_hash.as_str(),
                c.created_at,
                c.expires_at
            ],
        )
        .await?;
        Ok(())
    }

    pub async fn sign_in_challenge(
        &mut self,
        token_hash: &str,
    ) -> Result<Option<SignInChallenge>, StoreError> {
        let Some(r) = self
            .opt(
                "SELECT token_hash, user_id, device_hash, created_at, expires_at \
                 FROM sign_in_challenges WHERE token_hash = $1",
                args![token_hash],
            )
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(SignInChallenge {
            token_hash: r.string("token_hash")?,
            user_id: UserId(r.i64("user_id")?),
            device_hash: r.string("device_hash")?,
            created_at: r.i64("created_at")?,
            expires_at: r.i64("expires_at")?,
        }))
    }

    /// Removes a challenge; `false` when it was already gone (used by a concurrent request).
    pub async fn delete_sign_in_challenge(&mut self, token_hash: &str) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "DELETE FROM sign_in_challenges WHERE token_hash = $1",
                args![token_hash],
            )
            .await?;
        Ok(n == 1)
    }

    /// Slides the session's expiry forward.
    pub async fn touch_ui_session(
        &mut self,
        token_hash: &str,
        now: Millis,
        expires_at: Millis,
    ) -> Result<(), StoreError> {
        self.exec(
            "UPDATE ui_sessions SET last_seen_at = $2, expires_at = $3 WHERE token_hash = $1",
            args![token_hash, now, expires_at],
        )
        .await?;
        Ok(())
    }

    pub async fn delete_ui_session(&mut self, token_hash: &str) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "DELETE FROM ui_sessions WHERE token_hash = $1",
                args![token_hash],
            )
            .await?;
        Ok(n == 1)
    }

    /// Ends every session of a user (deactivation, password change).
    pub async fn delete_ui_sessions_of(&mut self, user: UserId) -> Result<u64, StoreError> {
        self.exec("DELETE FROM ui_sessions WHERE user_id = $1", args![user])
            .await
    }

    /// Ends every session of a user but the one with this token hash (the browser that
    /// changed its own password).
    pub async fn delete_other_ui_sessions_of(
        &mut self,
        user: UserId,
        keep_hash: &str,
    ) -> Result<u64, StoreError> {
        self.exec(
            "DELETE FROM ui_sessions WHERE user_id = $1 AND token_hash <> $2",
            args![user, keep_hash],
        )
        .await
    }

    pub async fn delete_expired_ui_sessions(&mut self, now: Millis) -> Result<u64, StoreError> {
        self.exec("DELETE FROM ui_sessions WHERE expires_at < $1", args![now])
            .await
    }

    pub async fn login_throttle(
        &mut self,
        email: &str,
    ) -> Result<Option<LoginThrottle>, StoreError> {
        let Some(r) = self
            .opt(
                "SELECT failures, last_failure_at, locked_until FROM login_throttle WHERE email = $1",
                args![email],
            )
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(LoginThrottle {
            failures: r.i64("failures")?,
            last_failure_at: r.i64("last_failure_at")?,
            locked_until: r.i64("locked_until")?,
        }))
    }

    /// Counts a sign-in attempt against `key` before its password is checked, unless the key
    /// is locked at `now`: returns the failure count including this attempt, or `None` when
    /// locked (nothing is counted then). One statement, so concurrent attempts cannot all
    /// slip past the check (PostgreSQL re-evaluates the `WHERE` on the row it locked).
    pub async fn count_login_attempt(
        &mut self,
        key: &str,
        now: Millis,
    ) -> Result<Option<i64>, StoreError> {
        match self
            .opt(
                "INSERT INTO login_throttle (email, failures, last_failure_at, locked_until) \
                 VALUES ($1, 1, $2, 0) \
                 ON CONFLICT (email) DO UPDATE SET failures = login_throttle.failures + 1, \
                 last_failure_at = $2 WHERE login_throttle.locked_until <= $2 \
                 RETURNING failures",
                args![key, now],
            )
            .await?
        {
            Some(r) => Ok(Some(r.i64("failures")?)),
            None => Ok(None),
        }
    }

    /// Sets when attempts against `key` may resume.
    pub async fn lock_login(&mut self, key: &str, locked_until: Millis) -> Result<(), StoreError> {
        self.exec(
            "UPDATE login_throttle SET locked_until = $2 WHERE email = $1",
            args![key, locked_until],
        )
        .await?;
        Ok(())
    }

    /// Whether the browser with this device-token hash has signed in to this account before
    /// (and not longer ago than `since`).
    pub async fn sign_in_device_known(
        &mut self,
        token_hash: &str,
        user: UserId,
        since: Millis,
    ) -> Result<bool, StoreError> {
        Ok(self
            .opt(
                "SELECT 1 AS known FROM sign_in_devices \
                 WHERE token_hash = $1 AND user_id = $2 AND last_used_at >= $3",
                args![token_hash, user, since],
            )
            .await?
            .is_some())
    }

    /// Records a successful sign-in from this browser, and forgets browsers unused since
    /// `forget_before`.
    pub async fn remember_sign_in_device(
        &mut self,
        token_hash: &str,
        user: UserId,
        now: Millis,
        forget_before: Millis,
    ) -> Result<(), StoreError> {
        self.exec(
            "DELETE FROM sign_in_devices WHERE last_used_at < $1",
            args![forget_before],
        )
        .await?;
        self.exec(
            "INSERT INTO sign_in_devices (token_hash, user_id, created_at, last_used_at) \
             VALUES ($1, $2, $3, $3) \
             ON CONFLICT (token_hash, user_id) DO UPDATE SET last_used_at = $3",
            args![token_hash, user, now],
        )
        .await?;
        Ok(())
    }

    pub async fn clear_login_throttle(&mut self, email: &str) -> Result<(), StoreError> {
        self.exec("DELETE FROM login_throttle WHERE email = $1", args![email])
            .await?;
        Ok(())
    }
}
