//! CPU-heavy work of a request (password hashing, parsing, rewriting message HTML), run off
//! the async runtime and bounded.
//!
//! A handler that parses, rewrites or hashes on a runtime worker stalls every other request
//! on that worker (finding 1 of the hardening issue: two views of one hostile message held
//! `/healthz` for 210 s). [`run_cpu`] moves such work to tokio's blocking pool, and a
//! semaphore sized to the machine's cores keeps a burst (a sign-in flood, many views of a
//! huge message) from running more CPU work at once than there are cores or spawning a
//! thread per request: the rest wait their turn asynchronously, without holding a thread.
//!
//! Depends on tokio only; knows nothing of the work it runs.

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

/// Runs `f` on a blocking thread once one of the per-core permits is free. The permit goes
/// with the work, not with the caller: a request that gives up waiting does not free a core
/// its work still occupies.
pub async fn run_cpu<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    let permit = permits()
        .acquire_owned()
        .await
        .map_err(|e| AppError::Internal(format!("CPU permits closed: {e}")))?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        f()
    })
    .await
    .map_err(|e| AppError::Internal(format!("CPU work stopped: {e}")))
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn runs_the_work_and_returns_its_result() {
        assert_eq!(super::run_cpu(|| 6 * 7).await.ok(), Some(42));
    }
}
