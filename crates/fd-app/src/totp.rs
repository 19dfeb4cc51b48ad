//! Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP): HMAC-SHA-1, 6 digits,
//! 30-second steps, one step of drift either way — what authenticator apps expect from an
//! `otpauth://totp/` URI with default parameters. Also the recovery codes of the second
//! factor.
//!
//! The codes themselves are pure computation with the time passed in; the use cases at the
//! end (enrol, confirm, turn off, an administrator's reset) read the app's clock and store
//! through fd-store. Which steps a code may match, and that a used step cannot be used
//! again, is decided by `fd_domain::accounts`.

use data_encoding::BASE32_NOPAD;
use fd_domain::accounts::totp_candidate_steps;
use hmac::{Hmac, KeyInit, Mac};
use rand::Rng;
use sha1::Sha1;

use fd_domain::UserId;
use fd_domain::entities::AdminObject;
use fd_store::{Tx, UserSecurity};

use crate::{Actor, App, AppError, verify_password};

/// Digits of a code.
pub const TOTP_DIGITS: u32 = 6;
/// Recovery codes issued at once.
pub const RECOVERY_CODES: usize = 10;

/// A new random shared secret (160 bits, RFC 4226's recommendation), in base32 without
/// padding as authenticator apps take it.
pub fn new_totp_secret() -> String {
    let mut key = [0u8; 20];
    rand::rng().fill(&mut key);
    BASE32_NOPAD.encode(&key)
}

/// HOTP value of `key` at `counter` (RFC 4226 §5.3, dynamic truncation).
fn hotp(key: &[u8], counter: u64) -> Option<u32> {
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(key).ok()?;
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest.get(19)? & 0x0f) as usize;
    let bytes = digest.get(offset..offset + 4)?;
    let bin = u32::from_be_bytes([bytes[0] & 0x7f, bytes[1], bytes[2], bytes[3]]);
    Some(bin % 10u32.pow(TOTP_DIGITS))
}

/// The code for time step `step` of a base32 secret, as the user's app shows it.
pub fn totp_code(secret_b32: &str, step: i64) -> Option<String> {
    let key = BASE32_NOPAD.decode(secret_b32.as_bytes()).ok()?;
    let counter = u64::try_from(step).ok()?;
    Some(format!(
        "{:0width$}",
        hotp(&key, counter)?,
        width = TOTP_DIGITS as usize
    ))
}

/// The time step `code` belongs to, if it is right for `now_ms` (±1 step) and later than
/// `last_used_step`. Spaces in the typed code are ignored.
pub fn totp_match(secret_b32: &str, code: &str, now_ms: i64, last_used_step: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != TOTP_DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    totp_candidate_steps(now_ms, last_used_step)
        .into_iter()
        .find(|s| totp_code(secret_b32, *s).is_some_and(|c| constant_eq(&c, &code)))
}

fn constant_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The `otpauth://` URI an authenticator app reads (Key Uri Format): issuer "Frontdesk",
/// the account's email as the label.
pub fn totp_uri(secret_b32: &str, email: &str) -> String {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~@".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }
    format!(
        "otpauth://totp/Frontdesk:{}?secret={secret_b32}&issuer=Frontdesk&algorithm=SHA1&digits={TOTP_DIGITS}&period=30",
        enc(email)
    )
}

/// Fresh recovery codes, `xxxxx-xxxxx` from an alphabet without look-alikes (~50 bits each).
pub fn new_recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut s: String = (0..10)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                .collect();
            s.insert(5, '-');
            s
        })
        .collect()
}

/// How a recovery code is stored and looked up: the SHA-256 of its letters, lower-cased,
/// without dashes or spaces (so it may be typed either way).
pub fn recovery_code_hash(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    crate::passwords::sha256_hex(&normal)
}

/// A secret being enrolled: shown to the user (as text and as an `otpauth://` URI) until
/// they confirm it with a code.
#[derive(Debug, Clone)]
pub struct TotpEnrolment {
    pub secret: String,
    pub uri: String,
}

/// The signed-in user's second-factor state, as their profile shows it.
#[derive(Debug, Clone)]
pub enum TotpStatus {
    Off,
    /// Enrolment started, not yet confirmed.
    Pending(TotpEnrolment),
    On {
        recovery_codes_left: i64,
    },
}

/// Checks a second factor within the caller's transaction: a TOTP code (its step is then
/// marked used, atomically, so it cannot be replayed) or an unused recovery code (then used
/// up).
pub(crate) async fn accept_second_factor(
    tx: &mut Tx,
    user: UserId,
    security: &UserSecurity,
    code: &str,
    now: i64,
) -> Result<bool, AppError> {
    let Some(secret) = security.totp_secret.as_deref() else {
        return Ok(false);
    };
    if let Some(step) = totp_match(secret, code, now, security.totp_last_step) {
        return Ok(tx.use_totp_step(user, step).await?);
    }
    let letters = code.chars().filter(|c| c.is_ascii_alphanumeric()).count();
    if letters == 10 {
        return Ok(tx
            .use_recovery_code(user, &recovery_code_hash(code), now)
            .await?);
    }
    Ok(false)
}

impl App {
    /// The signed-in user's second-factor state.
    pub async fn totp_status(&self, actor: &Actor) -> Result<TotpStatus, AppError> {
        let id = actor.user_id().ok_or(AppError::Unauthenticated)?;
        let mut tx = self.db().read().await?;
        let sec = tx.user_security(id).await?;
        let user = tx.user(id).await?;
        tx.commit().await?;
        let (Some(sec), Some(user)) = (sec, user) else {
            return Err(AppError::not_found("user", id));
        };
        Ok(match (sec.totp_enabled, sec.totp_secret) {
            (true, _) => TotpStatus::On {
                recovery_codes_left: sec.recovery_codes_left,
            },
            (false, Some(secret)) => TotpStatus::Pending(TotpEnrolment {
                uri: totp_uri(&secret, &user.email),
                secret,
            }),
            (false, None) => TotpStatus::Off,
        })
    }

    /// The users who have two-factor sign-in on (the users screen offers to reset it).
    pub async fn users_with_totp(&self, actor: &Actor) -> Result<Vec<UserId>, AppError> {
        actor.require_admin("managing users")?;
        let mut tx = self.db().read().await?;
        let ids = tx.users_with_totp().await?;
        tx.commit().await?;
        Ok(ids)
    }

    /// Starts (or restarts) enrolment: a new secret, stored but not in use until confirmed.
    pub async fn start_totp_enrolment(&self, actor: &Actor) -> Result<TotpEnrolment, AppError> {
        let id = actor.user_id().ok_or(AppError::Unauthenticated)?;
        let secret = new_totp_secret();
        let mut tx = self.db().write().await?;
        let sec = tx
            .user_security(id)
            .await?
            .ok_or_else(|| AppError::not_found("user", id))?;
        if sec.totp_enabled {
            return Err(AppError::Conflict(
                "two-factor sign-in is already on; turn it off first".into(),
            ));
        }
        let user = tx
            .user(id)
            .await?
            .ok_or_else(|| AppError::not_found("user", id))?;
        tx.set_user_totp(id, Some(&secret), false, 0).await?;
        tx.commit().await?;
        Ok(TotpEnrolment {
            uri: totp_uri(&secret, &user.email),
            secret,
        })
    }

    /// Turns two-factor sign-in on once the user typed a valid code of the pending secret;
    /// returns the recovery codes, shown this once (only their hashes are kept).
    pub async fn confirm_totp(&self, actor: &Actor, code: &str) -> Result<Vec<String>, AppError> {
        let id = actor.user_id().ok_or(AppError::Unauthenticated)?;
        let now = self.now();
        let codes = new_recovery_codes();
        let hashes: Vec<String> = codes.iter().map(|c| recovery_code_hash(c)).collect();
        let mut tx = self.db().write().await?;
        let sec = tx
            .user_security(id)
            .await?
            .ok_or_else(|| AppError::not_found("user", id))?;
        let Some(secret) = sec.totp_secret.filter(|_| !sec.totp_enabled) else {
            return Err(AppError::Conflict(
                "no two-factor enrolment is waiting for a code".into(),
            ));
        };
        let Some(step) = totp_match(&secret, code, now, 0) else {
            return Err(AppError::invalid(
                "code",
                "is not the current code of the authenticator app; check the device's time and try again",
            ));
        };
        tx.set_user_totp(id, Some(&secret), true, step).await?;
        tx.replace_recovery_codes(id, &hashes).await?;
        self.audit(
            &mut tx,
            actor,
            AdminObject::User,
            id.0,
            "two_factor_enabled",
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// The user turns two-factor sign-in off (or abandons an enrolment); their password
    /// must be right.
    pub async fn disable_own_totp(&self, actor: &Actor, password: &str) -> Result<(), AppError> {
        let id = actor.user_id().ok_or(AppError::Unauthenticated)?;
        let mut tx = self.db().read().await?;
        let hash = tx.user_password_hash(id).await?;
        tx.commit().await?;
        let hash = hash.ok_or_else(|| AppError::not_found("user", id))?;
        if !verify_password(password.to_string(), hash).await? {
            return Err(AppError::invalid("current", "is not your current password"));
        }
        self.clear_totp(actor, UserId(id.0), "two_factor_disabled")
            .await
    }

    /// An administrator turns a user's two-factor sign-in off (a lost phone); the user signs
    /// in with their password alone and may enrol again.
    pub async fn reset_user_totp(&self, actor: &Actor, id: UserId) -> Result<(), AppError> {
        actor.require_admin("resetting two-factor sign-in")?;
        self.clear_totp(actor, id, "two_factor_reset").await
    }

    async fn clear_totp(
        &self,
        actor: &Actor,
        id: UserId,
        what: &'static str,
    ) -> Result<(), AppError> {
        let mut tx = self.db().write().await?;
        if !tx.set_user_totp(id, None, false, 0).await? {
            return Err(AppError::not_found("user", id));
        }
        self.audit(&mut tx, actor, AdminObject::User, id.0, what, None, None)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows (the key is "12345678901234567890"), last 6 digits.
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = BASE32_NOPAD.encode(b"12345678901234567890");
        for (t, code) in [
            (59_i64, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(totp_code(&secret, t / 30).unwrap(), code, "t={t}");
            assert_eq!(totp_match(&secret, code, t * 1000, 0), Some(t / 30));
        }
    }

    #[test]
    fn codes_match_one_step_either_way_and_never_twice() {
        let secret = new_totp_secret();
        let now = 1_700_000_000_000_i64;
        let step = now / 30_000;
        let prev = totp_code(&secret, step - 1).unwrap();
        let next = totp_code(&secret, step + 1).unwrap();
        let far = totp_code(&secret, step + 2).unwrap();
        assert_eq!(totp_match(&secret, &prev, now, 0), Some(step - 1));
        assert_eq!(totp_match(&secret, &next, now, 0), Some(step + 1));
        // Two steps away is refused (unless it happens to equal an in-window code).
        if far != prev && far != next && Some(&far) != totp_code(&secret, step).as_ref() {
            assert_eq!(totp_match(&secret, &far, now, 0), None);
        }
        // Once step was used, its code (and older ones) no longer match.
        let cur = totp_code(&secret, step).unwrap();
        assert_eq!(totp_match(&secret, &cur, now, step), None);
        assert_eq!(totp_match(&secret, "12345", now, 0), None);
        assert_eq!(totp_match(&secret, "abcdef", now, 0), None);
    }

    #[test]
    fn recovery_codes_are_distinct_and_hash_ignoring_format() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let c = &codes[0];
        assert_eq!(
            recovery_code_hash(c),
            recovery_code_hash(&c.replace('-', " ").to_uppercase())
        );
        assert_ne!(recovery_code_hash(&codes[0]), recovery_code_hash(&codes[1]));
        assert!(totp_uri("ABC", "a b@x.org").contains("Frontdesk:a%20b@x.org?secret=ABC"));
    }
}
