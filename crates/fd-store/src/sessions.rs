//! Web UI sessions and the sign-in throttle (issue 5). Tokens are stored only as hashes.

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
}

/// Failed sign-ins recorded for one email address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginThrottle {
    pub failures: i64,
    pub last_failure_at: Millis,
    pub locked_until: Millis,
}

impl Tx {
    pub async fn insert_ui_session(&mut self, s: &UiSession) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO ui_sessions (token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            args![
                s.token_hash.as_str(),
                s.user_id,
                s.csrf_token.as_str(),
                s.created_at,
                s.last_seen_at,
                s.expires_at
            ],
        )
        .await?;
        Ok(())
    }

    pub async fn ui_session(&mut self, token_hash: &str) -> Result<Option<UiSession>, StoreError> {
        let Some(r) = self
            .opt(
                "SELECT token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at \
                 FROM ui_sessions WHERE token_hash = $1",
                args![token_hash],
            )
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(UiSession {
            token_hash: r.string("token_hash")?,
            user_id: UserId(r.i64("user_id")?),
            csrf_token: r.string("csrf_token")?,
            created_at: r.i64("created_at")?,
            last_seen_at: r.i64("last_seen_at")?,
            expires_at: r.i64("expires_at")?,
        }))
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

    pub async fn set_login_throttle(
        &mut self,
        email: &str,
        t: &LoginThrottle,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO login_throttle (email, failures, last_failure_at, locked_until) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (email) DO UPDATE SET failures = $2, last_failure_at = $3, locked_until = $4",
            args![email, t.failures, t.last_failure_at, t.locked_until],
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
