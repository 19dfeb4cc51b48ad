//! CPU-heavy work of a request, run off the async runtime and bounded.
//!
//! A handler that parses, rewrites or hashes on a runtime worker stalls every other request
//! on that worker (finding 1 of the hardening issue: two views of one hostile message held
//! `/healthz` for 210 s). [`run`] moves such work to tokio's blocking pool, and a semaphore
//! sized to the machine's cores keeps many concurrent requests from queueing more CPU work
//! than there are cores: the rest wait their turn asynchronously, without holding a thread.
//!
//! Depends on tokio only; knows nothing of the work it runs.

use std::sync::OnceLock;

use tokio::sync::Semaphore;

use crate::AppError;

fn permits() -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Semaphore::new(cores)
    })
}

/// Runs `work` on a blocking thread once one of the per-core permits is free.
pub async fn run<T, F>(work: F) -> Result<T, AppError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let _permit = permits()
        .acquire()
        .await
        .map_err(|e| AppError::Internal(format!("CPU permits closed: {e}")))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AppError::Internal(format!("CPU work stopped: {e}")))
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn runs_the_work_and_returns_its_result() {
        assert_eq!(super::run(|| 6 * 7).await.ok(), Some(42));
    }
}
