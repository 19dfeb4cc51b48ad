//! Secrets at rest: argon2 password hashes (on the bounded CPU pool) and the SHA-256 hex of
//! tokens, session keys and recovery codes (only the hash is stored). Depends on no other use
//! case module.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::{AppError, run_cpu};

/// A random password of 20 characters from an alphabet without look-alikes (~114 bits).
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Argon2id with the crate's defaults; runs through [`run_cpu`] (it is deliberately slow, and
/// a sign-in flood must not occupy the async runtime or more threads than there are cores).
pub async fn hash_password(password: String) -> Result<String, AppError> {
    run_cpu(move || {
        let mut salt = [0u8; 16];
        rand::rng().fill(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|e| AppError::Internal(e.to_string()))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AppError::Internal(e.to_string()))
    })
    .await?
}

/// Checks a password against an argon2 hash, through [`run_cpu`] like [`hash_password`].
pub async fn verify_password(password: String, hash: String) -> Result<bool, AppError> {
    run_cpu(move || {
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
    .await
}

/// The lowercase hex SHA-256 of `s`: how API tokens, session and device tokens, sign-in
/// challenges and recovery codes are stored (they are random, so a fast hash suffices).
pub(crate) fn sha256_hex(s: &str) -> String {
    let digest = Sha256::digest(s.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}
