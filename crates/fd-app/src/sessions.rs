//! Web UI sign-in and server-side sessions whose random token lives only in the browser's
//! cookie (the table keeps its SHA-256). Each session has its own CSRF token for the forms of
//! that browser.
//!
//! Guessing is slowed three ways without letting a stranger lock anyone out (issue 11):
//! - per account, failures from browsers unknown to it are counted together and, after a few,
//!   make further attempts from unknown browsers wait (30 s doubling to 15 min). The count is
//!   forgiven only by the right password (after the wait), never by time alone, so a patient
//!   guesser gets one try per wait;
//! - a browser that has signed in to the account before carries a device cookie; its attempts
//!   are counted on their own, so the account's owner signs in at once whatever strangers did
//!   (OWASP's "device cookies" against lockout), and a stolen cookie is slowed the same way;
//! - per client address (an IPv6 /64 counts as one), failed attempts from unknown browsers
//!   draw on a token bucket across all accounts, which slows password spraying. It lives in
//!   the node's memory: it is a brake on one source, not an account state.
//!
//! Every attempt is counted before the password is checked and forgiven on success, so
//! concurrent guesses cannot slip past the count.
//!
//! With two-factor sign-in on (issue 13, item 9), the right password opens no session: it
//! yields a short-lived challenge, and the session is created only when a TOTP code (or an
//! unused recovery code) follows. Wrong codes are counted per account and per client address
//! exactly as wrong passwords are.
//!
//! Each session records a summary of its browser and its client address, so the user can
//! see their sessions and end any of them.

use std::net::IpAddr;

// One client is one IPv4 address or one IPv6 /64, as for SMTP connections.
use crate::passwords::sha256_hex;
use fd_store::{SignInChallenge, UiSession, User};
use rand::Rng;

use crate::{Actor, App, AppError, verify_password};

/// Failures allowed before sign-in slows down.
pub const FREE_LOGIN_ATTEMPTS: i64 = 5;
/// The first wait after the free attempts; each further failure doubles it…
const FIRST_LOCK_MS: i64 = 30_000;
/// …up to this.
const MAX_LOCK_MS: i64 = 15 * 60_000;
/// A session ends after this long without use…
pub const SESSION_IDLE_MS: i64 = 14 * 24 * 60 * 60_000;
/// …and its expiry is slid forward at most this often (one write per hour, not per request).
const TOUCH_EVERY_MS: i64 = 60 * 60_000;
/// A browser stays known to an account for this long after its last sign-in (and its cookie
/// lives as long).
pub const DEVICE_MEMORY_MS: i64 = 365 * 24 * 60 * 60_000;
/// Failed attempts one client address may make at once (across all accounts)…
pub const CLIENT_BURST: i64 = 10;
/// …after which it regains one attempt per this many milliseconds.
pub const CLIENT_REFILL_MS: i64 = 60_000;
/// A password accepted for an account with two-factor sign-in waits this long for the code.
pub const CHALLENGE_TTL_MS: i64 = 5 * 60_000;
/// Addresses tracked at most; beyond this, addresses whose budget is whole are forgotten.
pub(crate) const CLIENT_TABLE_MAX: usize = 65_536;

/// An argon2id hash of a random password nobody knows: unknown addresses are checked against
/// it so that a wrong address takes as long to refuse as a wrong password.
const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$W1mZ2y0vJ9b9n2kq8N3Qe8m7Xcq9s6s2m5d7t3l0a8Y";

/// A sign-in attempt as the web layer received it.
#[derive(Debug, Clone, Copy)]
pub struct SignInAttempt<'a> {
    pub email: &'a str,
    pub password: &'a str,
    /// The client's address (the TCP peer), when known.
    pub client: Option<IpAddr>,
    /// The browser's device cookie, if it sent one.
    pub device: Option<&'a str>,
    /// The browser's `User-Agent`, for the session list.
    pub user_agent: Option<&'a str>,
}

/// The second step of a two-factor sign-in.
#[derive(Debug, Clone, Copy)]
pub struct SecondFactorAttempt<'a> {
    /// The challenge token the first step handed to the browser.
    pub challenge: &'a str,
    /// A 6-digit TOTP code or a recovery code.
    pub code: &'a str,
    pub client: Option<IpAddr>,
    pub user_agent: Option<&'a str>,
}

/// A new session: `token` goes into the cookie and is never stored; `device_token` is the
/// browser's long-lived device cookie (the one it sent, or a new one).
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub token: String,
    pub csrf_token: String,
    pub device_token: String,
    pub user: User,
}

/// What is holding sign-in back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttle {
    /// Too many failures for this account from unknown browsers (or from this browser).
    Account,
    /// Too many failures from this client address, across accounts.
    Client,
}

#[derive(Debug, Clone)]
pub enum SignInOutcome {
    SignedIn(SignedIn),
    /// Wrong address or password (never says which).
    WrongCredentials,
    /// No password (or code) is checked until `retry_after_ms` has passed.
    Throttled {
        retry_after_ms: i64,
        by: Throttle,
    },
    /// The password was right and the account uses two-factor sign-in: the browser keeps
    /// `challenge` (and the device cookie) and sends a code with it.
    SecondFactor {
        challenge: String,
        device_token: String,
    },
    /// The code was wrong, or already used.
    WrongCode,
    /// The challenge is unknown or expired: sign in again from the password.
    ChallengeExpired,
}

/// A signed-in browser, resolved.
#[derive(Debug, Clone)]
pub struct ActiveSession {
    pub actor: Actor,
    pub user: User,
    pub csrf_token: String,
    /// The user's password was set by someone else (a reset, the first start): the web UI
    /// shows nothing but the change-password page until it is changed.
    pub must_change_password: bool,
}

/// One of the user's sessions, as their profile lists it.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// Names the session in "sign out" forms: the start of its token's hash (which opens
    /// nothing).
    pub id: String,
    /// "Firefox on Linux" and the like.
    pub device: String,
    pub client_addr: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    /// The session of the browser asking.
    pub current: bool,
}

/// A short name for a browser from its `User-Agent`: the browser family and the system.
pub fn describe_user_agent(ua: &str) -> String {
    if ua.trim().is_empty() {
        return "Unknown browser".into();
    }
    // First match wins: Edge and Opera also say "Chrome", Chrome also says "Safari".
    const BROWSERS: [(&[&str], &str); 8] = [
        (&["Edg/"], "Edge"),
        (&["OPR/", "Opera"], "Opera"),
        (&["Firefox/"], "Firefox"),
        (&["HeadlessChrome/"], "Headless Chrome"),
        (&["Chromium/"], "Chromium"),
        (&["Chrome/", "CriOS/"], "Chrome"),
        (&["Safari/"], "Safari"),
        (&["curl/"], "curl"),
    ];
    // Android and ChromeOS also say "Linux"; iOS also says "Mac OS X".
    const SYSTEMS: [(&[&str], &str); 6] = [
        (&["Android"], "Android"),
        (&["iPhone", "iPad"], "iOS"),
        (&["Windows"], "Windows"),
        (&["Mac OS X", "Macintosh"], "macOS"),
        (&["CrOS"], "ChromeOS"),
        (&["Linux"], "Linux"),
    ];
    let first = |table: &[(&[&str], &'static str)]| {
        table
            .iter()
            .find(|(marks, _)| marks.iter().any(|m| ua.contains(m)))
            .map(|(_, name)| *name)
    };
    let browser = first(&BROWSERS).unwrap_or("Other browser");
    let system = first(&SYSTEMS).unwrap_or("");
    if system.is_empty() {
        browser.into()
    } else {
        format!("{browser} on {system}")
    }
}

/// What a session row keeps of the User-Agent (bounded; control characters dropped).
fn stored_user_agent(ua: Option<&str>) -> String {
    ua.unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(300)
        .collect()
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

/// A device cookie as issued: 64 hexadecimal digits.
fn well_formed_device(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

impl App {
    /// Checks an email and password and opens a session (see the module header for the
    /// throttles).
    pub async fn sign_in(&self, attempt: SignInAttempt<'_>) -> Result<SignInOutcome, AppError> {
        let email = attempt.email.trim().to_lowercase();
        let device = attempt.device.filter(|d| well_formed_device(d));
        let now = self.now();
        let mut tx = self.db().read().await?;
        let credential = tx.user_credential_by_email(&email).await?;
        let (user, stored_hash) = match credential {
            Some(c) => (Some(c.user), Some(c.password_hash)),
            None => (None, None),
        };
        let known_device = match (&user, device) {
            (Some(u), Some(d)) => {
                tx.sign_in_device_known(&sha256_hex(d), u.id, now - DEVICE_MEMORY_MS)
                    .await?
            }
            _ => false,
        };
        tx.commit().await?;
        // Failures are counted per account for unknown browsers, per browser for known ones.
        let key = match (&user, device) {
            (Some(u), Some(d)) if known_device => format!("device:{}:{}", u.id.0, sha256_hex(d)),
            _ => email.clone(),
        };
        // The per-address budget is for unknown browsers: a known one is already counted on
        // its own, and its owner must get in even from an address someone is spraying from.
        let client = attempt.client.filter(|_| !known_device);
        if let Some(ip) = client
            && let Err(wait) = self.sign_in_clients.take(ip, now)
        {
            tracing::info!(client = %ip, "sign-in refused: too many failures from this client");
            return Ok(SignInOutcome::Throttled {
                retry_after_ms: wait,
                by: Throttle::Client,
            });
        }
        let mut tx = self.db().write().await?;
        let Some(failures) = tx.count_login_attempt(&key, now).await? else {
            let locked_until = tx
                .login_throttle(&key)
                .await?
                .map_or(now, |t| t.locked_until);
            tx.commit().await?;
            if let Some(ip) = client {
                self.sign_in_clients.refund(ip);
            }
            return Ok(SignInOutcome::Throttled {
                retry_after_ms: (locked_until - now).max(1),
                by: Throttle::Account,
            });
        };
        let lock = lock_duration_ms(failures);
        if lock > 0 {
            tx.lock_login(&key, now + lock).await?;
        }
        tx.commit().await?;
        let hash = match (&user, stored_hash) {
            (Some(u), Some(h)) if u.active => h,
            _ => DECOY_HASH.to_string(),
        };
        let ok = verify_password(attempt.password.to_string(), hash).await?
            && user.as_ref().is_some_and(|u| u.active);
        let Some(user) = user.filter(|_| ok) else {
            tracing::info!(email = %email, failures, known_device, "failed sign-in");
            return Ok(SignInOutcome::WrongCredentials);
        };
        if let Some(ip) = client {
            self.sign_in_clients.refund(ip);
        }
        let now = self.now();
        let device_token = device.map_or_else(|| random_hex(32), str::to_string);
        let mut tx = self.db().write().await?;
        tx.clear_login_throttle(&key).await?;
        let security = tx.user_security(user.id).await?;
        if security.is_some_and(|s| s.totp_enabled) {
            // The password was right; the session waits for the second factor.
            let challenge = random_hex(32);
            tx.insert_sign_in_challenge(&SignInChallenge {
                token_hash: sha256_hex(&challenge),
                user_id: user.id,
                device_hash: sha256_hex(&device_token),
                created_at: now,
                expires_at: now + CHALLENGE_TTL_MS,
            })
            .await?;
            tx.commit().await?;
            return Ok(SignInOutcome::SecondFactor {
                challenge,
                device_token,
            });
        }
        tx.commit().await?;
        let signed_in = self
            .open_session(
                user,
                &sha256_hex(&device_token),
                attempt.user_agent,
                attempt.client,
            )
            .await?;
        Ok(SignInOutcome::SignedIn(SignedIn {
            device_token,
            ..signed_in
        }))
    }

    /// Creates the session of a user whose sign-in succeeded, and remembers the browser.
    async fn open_session(
        &self,
        user: User,
        device_hash: &str,
        user_agent: Option<&str>,
        client: Option<IpAddr>,
    ) -> Result<SignedIn, AppError> {
        let now = self.now();
        let mut tx = self.db().write().await?;
        tx.delete_expired_ui_sessions(now).await?;
        tx.remember_sign_in_device(device_hash, user.id, now, now - DEVICE_MEMORY_MS)
            .await?;
        let token = random_hex(32);
        let csrf_token = random_hex(16);
        tx.insert_ui_session(&UiSession {
            token_hash: sha256_hex(&token),
            user_id: user.id,
            csrf_token: csrf_token.clone(),
            created_at: now,
            last_seen_at: now,
            expires_at: now + SESSION_IDLE_MS,
            user_agent: stored_user_agent(user_agent),
            client_addr: client.map(|ip| ip.to_string()).unwrap_or_default(),
            must_change_password: false,
        })
        .await?;
        tx.commit().await?;
        Ok(SignedIn {
            token,
            csrf_token,
            device_token: String::new(),
            user,
        })
    }

    /// The second step of a two-factor sign-in: a TOTP code (one step of drift either way,
    /// never a step already used) or an unused recovery code. Wrong codes are throttled per
    /// account and per client address like wrong passwords; the challenge lasts
    /// [`CHALLENGE_TTL_MS`] and is used up by success.
    pub async fn sign_in_second_factor(
        &self,
        attempt: SecondFactorAttempt<'_>,
    ) -> Result<SignInOutcome, AppError> {
        let now = self.now();
        let challenge_hash = sha256_hex(attempt.challenge);
        let mut tx = self.db().read().await?;
        let challenge = tx.sign_in_challenge(&challenge_hash).await?;
        tx.commit().await?;
        let Some(challenge) = challenge.filter(|c| c.expires_at > now) else {
            return Ok(SignInOutcome::ChallengeExpired);
        };
        let key = format!("2fa:{}", challenge.user_id.0);
        if let Some(ip) = attempt.client
            && let Err(wait) = self.sign_in_clients.take(ip, now)
        {
            return Ok(SignInOutcome::Throttled {
                retry_after_ms: wait,
                by: Throttle::Client,
            });
        }
        let mut tx = self.db().write().await?;
        let Some(failures) = tx.count_login_attempt(&key, now).await? else {
            let locked_until = tx
                .login_throttle(&key)
                .await?
                .map_or(now, |t| t.locked_until);
            tx.commit().await?;
            if let Some(ip) = attempt.client {
                self.sign_in_clients.refund(ip);
            }
            return Ok(SignInOutcome::Throttled {
                retry_after_ms: (locked_until - now).max(1),
                by: Throttle::Account,
            });
        };
        let lock = lock_duration_ms(failures);
        if lock > 0 {
            tx.lock_login(&key, now + lock).await?;
        }
        let user = tx.user(challenge.user_id).await?.filter(|u| u.active);
        let security = tx.user_security(challenge.user_id).await?;
        let accepted = match (&user, security) {
            (Some(u), Some(sec)) if sec.totp_enabled => {
                crate::totp::accept_second_factor(&mut tx, u.id, &sec, attempt.code, now).await?
            }
            _ => false,
        };
        if !accepted {
            // The attempt stays counted.
            tx.commit().await?;
            tracing::info!(
                user = challenge.user_id.0,
                failures,
                "wrong second-factor code"
            );
            return Ok(SignInOutcome::WrongCode);
        }
        tx.clear_login_throttle(&key).await?;
        if !tx.delete_sign_in_challenge(&challenge_hash).await? {
            tx.commit().await?;
            return Ok(SignInOutcome::ChallengeExpired);
        }
        tx.commit().await?;
        if let Some(ip) = attempt.client {
            self.sign_in_clients.refund(ip);
        }
        let Some(user) = user else {
            return Ok(SignInOutcome::WrongCode);
        };
        let signed_in = self
            .open_session(
                user,
                &challenge.device_hash,
                attempt.user_agent,
                attempt.client,
            )
            .await?;
        Ok(SignInOutcome::SignedIn(signed_in))
    }

    /// The signed-in user's sessions; `current_token` is the asking browser's cookie.
    pub async fn sessions_of(
        &self,
        actor: &Actor,
        current_token: &str,
    ) -> Result<Vec<SessionInfo>, AppError> {
        let id = actor.user_id().ok_or(AppError::Unauthenticated)?;
        let current = sha256_hex(current_token);
        let now = self.now();
        let mut tx = self.db().read().await?;
        let rows = tx.ui_sessions_of(id, now).await?;
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .map(|s| SessionInfo {
                id: s.token_hash.chars().take(16).collect(),
                device: describe_user_agent(&s.user_agent),
                client_addr: s.client_addr,
                created_at: s.created_at,
                last_seen_at: s.last_seen_at,
                current: s.token_hash == current,
            })
            .collect())
    }

    /// Ends one of the signed-in user's own sessions (by its [`SessionInfo::id`]).
    pub async fn sign_out_session(&self, actor: &Actor, session_id: &str) -> Result<(), AppError> {
        let id = actor.user_id().ok_or(AppError::Unauthenticated)?;
        if session_id.len() != 16 || !session_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AppError::invalid("session", "is not a session id"));
        }
        let mut tx = self.db().write().await?;
        if !tx.delete_ui_session_of(id, session_id).await? {
            return Err(AppError::not_found("session", session_id));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Ends every session of the signed-in user but the asking browser's; returns how many.
    pub async fn sign_out_other_sessions(
        &self,
        actor: &Actor,
        current_token: &str,
    ) -> Result<u64, AppError> {
        let id = actor.user_id().ok_or(AppError::Unauthenticated)?;
        let mut tx = self.db().write().await?;
        let n = tx
            .delete_other_ui_sessions_of(id, &sha256_hex(current_token))
            .await?;
        tx.commit().await?;
        Ok(n)
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
                automation: None,
            },
            user,
            csrf_token: s.csrf_token,
            must_change_password: s.must_change_password,
        }))
    }

    pub async fn sign_out(&self, token: &str) -> Result<(), AppError> {
        let mut tx = self.db().write().await?;
        tx.delete_ui_session(&sha256_hex(token)).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::describe_user_agent;

    #[test]
    fn user_agents_read_as_browser_and_system() {
        let cases = [
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0",
                "Edge on Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
                "Safari on macOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
                "Chrome on Android",
            ),
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
                "Firefox on Linux",
            ),
            ("curl/8.5.0", "curl"),
            ("", "Unknown browser"),
            ("SomethingElse/1.0", "Other browser"),
        ];
        for (ua, want) in cases {
            assert_eq!(describe_user_agent(ua), want, "{ua}");
        }
    }
}
