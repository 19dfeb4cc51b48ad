//! Web UI sign-in: password check with a per-address slowdown after repeated failures, and
//! server-side sessions whose random token lives only in the browser's cookie (the table keeps
//! its SHA-256). Each session has its own CSRF token for the forms of that browser.

use fd_store::{LoginThrottle, UiSession, User};
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::{Actor, App, AppError, verify_password};

/// Failures allowed before sign-in slows down.
pub const FREE_LOGIN_ATTEMPTS: i64 = 5;
/// The first wait after the free attempts; each further failure doubles it…
const FIRST_LOCK_MS: i64 = 30_000;
/// …up to this.
const MAX_LOCK_MS: i64 = 15 * 60_000;
/// Failures older than this are forgotten.
const FAILURE_MEMORY_MS: i64 = 60 * 60_000;
/// A session ends after this long without use…
pub const SESSION_IDLE_MS: i64 = 14 * 24 * 60 * 60_000;
/// …and its expiry is slid forward at most this often (one write per hour, not per request).
const TOUCH_EVERY_MS: i64 = 60 * 60_000;

/// An argon2id hash of a random password nobody knows: unknown addresses are checked against
/// it so that a wrong address takes as long to refuse as a wrong password.
const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$W1mZ2y0vJ9b9n2kq8N3Qe8m7Xcq9s6s2m5d7t3l0a8Y";

/// A new session: `token` goes into the cookie and is never stored.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub token: String,
    pub csrf_token: String,
    pub user: User,
}

#[derive(Debug, Clone)]
pub enum SignInOutcome {
    SignedIn(SignedIn),
    /// Wrong address or password (never says which).
    WrongCredentials,
    /// Too many failures: no password is checked until `retry_after_ms` has passed.
    Throttled {
        retry_after_ms: i64,
    },
}

/// A signed-in browser, resolved.
#[derive(Debug, Clone)]
pub struct ActiveSession {
    pub actor: Actor,
    pub user: User,
    pub csrf_token: String,
}

pub(crate) fn sha256_hex(s: &str) -> String {
    let digest = Sha256::digest(s.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn random_hex(bytes: usize) -> String {
    let mut rng = rand::rng();
    (0..bytes)
        .map(|_| format!("{:02x}", rng.random::<u8>()))
        .collect()
}

/// How long sign-in stays closed after `failures` failures.
pub fn lock_duration_ms(failures: i64) -> i64 {
    if failures < FREE_LOGIN_ATTEMPTS {
        return 0;
    }
    let doublings = (failures - FREE_LOGIN_ATTEMPTS).min(10) as u32;
    (FIRST_LOCK_MS.saturating_mul(1 << doublings)).min(MAX_LOCK_MS)
}

impl App {
    /// Checks an email and password and opens a session.
    pub async fn sign_in(&self, email: &str, password: &str) -> Result<SignInOutcome, AppError> {
        let email = email.trim().to_lowercase();
        let now = self.now();
        let mut tx = self.db().read().await?;
        let throttle = tx.login_throttle(&email).await?;
        let user = tx.user_by_email(&email).await?;
        tx.commit().await?;
        if let Some(t) = throttle
            && t.locked_until > now
        {
            return Ok(SignInOutcome::Throttled {
                retry_after_ms: t.locked_until - now,
            });
        }
        let hash = match &user {
            Some(u) if u.active => u.password_hash.clone(),
            _ => DECOY_HASH.to_string(),
        };
        let ok = verify_password(password.to_string(), hash).await?
            && user.as_ref().is_some_and(|u| u.active);
        let now = self.now();
        let mut tx = self.db().write().await?;
        let Some(user) = user.filter(|_| ok) else {
            let previous = tx
                .login_throttle(&email)
                .await?
                .filter(|t| now - t.last_failure_at < FAILURE_MEMORY_MS);
            let failures = previous.map_or(0, |t| t.failures) + 1;
            tx.set_login_throttle(
                &email,
                &LoginThrottle {
                    failures,
                    last_failure_at: now,
                    locked_until: now + lock_duration_ms(failures),
                },
            )
            .await?;
            tx.commit().await?;
            tracing::info!(email = %email, failures, "failed sign-in");
            return Ok(SignInOutcome::WrongCredentials);
        };
        tx.clear_login_throttle(&email).await?;
        tx.delete_expired_ui_sessions(now).await?;
        let token = random_hex(32);
        let csrf_token = random_hex(16);
        tx.insert_ui_session(&UiSession {
            token_hash: sha256_hex(&token),
            user_id: user.id,
            csrf_token: csrf_token.clone(),
            created_at: now,
            last_seen_at: now,
            expires_at: now + SESSION_IDLE_MS,
        })
        .await?;
        tx.commit().await?;
        Ok(SignInOutcome::SignedIn(SignedIn {
            token,
            csrf_token,
            user,
        }))
    }

    /// The live session of a cookie token: `None` when unknown, expired, or its user was
    /// deactivated. The user's permissions are read afresh on every request.
    pub async fn session(&self, token: &str) -> Result<Option<ActiveSession>, AppError> {
        let hash = sha256_hex(token);
        let now = self.now();
        let mut tx = self.db().read().await?;
        let Some(s) = tx.ui_session(&hash).await? else {
            return Ok(None);
        };
        if s.expires_at <= now {
            return Ok(None);
        }
        let user = tx.user(s.user_id).await?;
        tx.commit().await?;
        let Some(user) = user.filter(|u| u.active) else {
            return Ok(None);
        };
        if now - s.last_seen_at > TOUCH_EVERY_MS {
            let mut tx = self.db().write().await?;
            tx.touch_ui_session(&hash, now, now + SESSION_IDLE_MS)
                .await?;
            tx.commit().await?;
        }
        Ok(Some(ActiveSession {
            actor: Actor {
                viewer: user.viewer(),
            },
            user,
            csrf_token: s.csrf_token,
        }))
    }

    pub async fn sign_out(&self, token: &str) -> Result<(), AppError> {
        let mut tx = self.db().write().await?;
        tx.delete_ui_session(&sha256_hex(token)).await?;
        tx.commit().await?;
        Ok(())
    }
}
