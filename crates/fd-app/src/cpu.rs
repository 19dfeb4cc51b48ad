//! CPU-heavy work (password hashing, parsing, sanitising) off the async runtime: on tokio's
//! blocking pool, at most one job per core at a time, so a burst of such work (a sign-in
//! flood, a huge message) neither stalls the runtime's workers nor spawns a thread per request.
//!
//! Must not depend on anything of the app: it is a scheduling helper only.

use std::sync::{Arc, OnceLock};

use tokio::sync::Semaphore;

use crate::AppError;

fn permits() -> Arc<Semaphore> {
    static PERMITS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    PERMITS
        .get_or_init(|| {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            Arc::new(Semaphore::new(cores))
        })
        .clone()
}

/// Runs `f` on a blocking thread once one of the per-core permits is free.
pub async fn run_cpu<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    let permit = permits()
        .acquire_owned()
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        f()
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))
}
