//! The arithmetic of a token bucket kept in milliseconds of refill, shared by every
//! per-client limit (sign-in failures, form submissions, new chats). Pure: the caller passes
//! `now` and keeps the level.

/// With `level` left at `at`, may one more take happen at `now`, for a bucket of `burst`
/// takes that regains one per `refill_ms`? `Ok(new level)`, or how many milliseconds until
/// one may.
pub fn take_from_bucket(
    level: i64,
    at: i64,
    now: i64,
    burst: i64,
    refill_ms: i64,
) -> Result<i64, i64> {
    let current = (level + (now - at).max(0)).min(burst * refill_ms);
    if current < refill_ms {
        Err(refill_ms - current)
    } else {
        Ok(current - refill_ms)
    }
}
