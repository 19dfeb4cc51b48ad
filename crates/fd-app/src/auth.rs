//! API bearer tokens (private-app style): created for a user by an administrator, stored as
//! a SHA-256 hash, revocable. A token acts as its user, so HD-05 and HD-09 apply to it as to
//! any other road.

use std::collections::HashMap;
use std::sync::Mutex;

use fd_domain::EmailAddress;
use fd_store::ApiToken;
use rand::Rng;

use crate::{Actor, App, AppError};

/// Every token starts with this, so leaked tokens are easy to recognise (secret scanners).
pub const TOKEN_PREFIX: &str = "fdpat-";

/// A token just created: `token` is shown once and never stored.
#[derive(Debug, Clone)]
pub struct NewApiToken {
    pub id: i64,
    pub token: String,
    pub record: ApiToken,
}

fn hash_token(token: &str) -> String {
    crate::passwords::sha256_hex(token)
}

fn generate_token() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    // 32 characters of a 62-letter alphabet: about 190 bits.
    let body: String = (0..32)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{TOKEN_PREFIX}{body}")
}

/// Token → actor resolutions, valid while the store's auth counter is unchanged (any change
/// to tokens, users or team membership bumps it, by triggers, whichever process makes it).
/// The counter is read on every request — one single-row read by primary key — so a
/// revocation made anywhere, the admin CLI included, takes effect on the next request
/// (issue 11: a one-second trust window let a revoked token keep working).
#[derive(Default)]
pub(crate) struct AuthCache {
    state: Mutex<AuthState>,
}

#[derive(Default)]
struct AuthState {
    version: i64,
    actors: HashMap<String, Actor>,
}

impl AuthCache {
    /// After reading the counter: drops everything if it moved.
    fn checked(&self, version: i64, hash: &str) -> Option<Actor> {
        let mut guard = self.state.lock().ok()?;
        if guard.version != version {
            guard.version = version;
            guard.actors.clear();
        }
        guard.actors.get(hash).cloned()
    }

    fn put(&self, version: i64, hash: String, actor: Actor) {
        if let Ok(mut guard) = self.state.lock()
            && guard.version == version
        {
            if guard.actors.len() >= 10_000 {
                guard.actors.clear();
            }
            guard.actors.insert(hash, actor);
        }
    }

    /// Forgets everything (a change made through this process; the counter would tell too).
    pub(crate) fn clear(&self) {
        if let Ok(mut guard) = self.state.lock() {
            guard.actors.clear();
        }
    }
}

impl App {
    /// Creates a token for the user with this email (admin CLI; the system actor or an admin).
    pub async fn create_api_token(
        &self,
        actor: &Actor,
        email: &str,
        name: Option<&str>,
    ) -> Result<NewApiToken, AppError> {
        actor.require_admin("creating API tokens")?;
        let email = EmailAddress::parse(email)?;
        let name = name
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .unwrap_or("API token");
        if name.chars().count() > 255 {
            return Err(AppError::invalid("name", "is longer than 255 characters"));
        }
        let now = self.now();
        let token = generate_token();
        let prefix: String = token.chars().take(TOKEN_PREFIX.len() + 6).collect();
        let mut tx = self.db().write().await?;
        let user = tx
            .user_by_email(email.as_str())
            .await?
            .filter(|u| u.active)
            .ok_or_else(|| AppError::not_found("user", email.as_str()))?;
        let id = tx
            .insert_api_token(user.id, name, &hash_token(&token), &prefix, now)
            .await?;
        tx.commit().await?;
        Ok(NewApiToken {
            id,
            token,
            record: ApiToken {
                id,
                user_id: user.id,
                name: name.to_string(),
                prefix,
                created_at: now,
                revoked_at: None,
            },
        })
    }

    /// Revokes a token by id; the next request with it is refused, on every node.
    pub async fn revoke_api_token(&self, actor: &Actor, id: i64) -> Result<(), AppError> {
        actor.require_admin("revoking API tokens")?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        if !tx.revoke_api_token(id, now).await? {
            return Err(AppError::not_found("live API token", id));
        }
        tx.commit().await?;
        self.auth_cache.clear();
        Ok(())
    }

    pub async fn api_tokens(&self, actor: &Actor) -> Result<Vec<ApiToken>, AppError> {
        actor.require_admin("listing API tokens")?;
        let mut tx = self.db().read().await?;
        let t = tx.api_tokens().await?;
        tx.commit().await?;
        Ok(t)
    }

    /// The actor a bearer token stands for; unknown, revoked or malformed tokens, and tokens
    /// of deactivated users, are `Unauthenticated`.
    pub async fn actor_for_token(&self, token: &str) -> Result<Actor, AppError> {
        let token = token.trim();
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 200 {
            return Err(AppError::Unauthenticated);
        }
        let hash = hash_token(token);
        let mut tx = self.db().read().await?;
        let version = tx.auth_version().await?;
        if let Some(actor) = self.auth_cache.checked(version, &hash) {
            tx.commit().await?;
            return Ok(actor);
        }
        let record = tx.api_token_by_hash(&hash).await?;
        let user = match &record {
            Some(r) => tx.user(r.user_id).await?,
            None => None,
        };
        tx.commit().await?;
        match user {
            Some(u) if u.active => {
                let actor = Actor {
                    viewer: u.viewer(),
                    automation: None,
                };
                self.auth_cache.put(version, hash, actor.clone());
                Ok(actor)
            }
            _ => Err(AppError::Unauthenticated),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_random_and_hashed_to_hex() {
        let a = generate_token();
        let b = generate_token();
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 32);
        assert_ne!(a, b);
        assert_eq!(hash_token("x").len(), 64);
        assert_ne!(hash_token(&a), hash_token(&b));
    }
}
