//! Many objects at once: a gate on how many requests are in flight, and one loop that
//! waits for them, counts, and stops at the first failure.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tracing::Instrument;

use crate::cloud::{ActionCtx, ActionError, Progress};

/// Copies in flight at once during a roll-back or a copy (`LIFEBOAT_S3_CONCURRENCY`
/// overrides: real S3 takes thousands of writes a second per prefix).
pub fn concurrency() -> usize {
    std::env::var("LIFEBOAT_S3_CONCURRENCY").ok().and_then(|v| v.parse().ok()).filter(|n| *n > 0).unwrap_or(32)
}

/// What each task did: objects, bytes, and whether the copy could be proved by its size
/// alone.
pub type Done = Result<(u64, u64, bool), ActionError>;

pub struct Tasks {
    set: tokio::task::JoinSet<Done>,
    gate: Arc<Semaphore>,
}

impl Tasks {
    pub fn new(in_flight: usize) -> Tasks {
        Tasks { set: tokio::task::JoinSet::new(), gate: Arc::new(Semaphore::new(in_flight.max(1))) }
    }

    /// Runs `work` once a place at the gate is free, in the caller's tracing span.
    pub fn spawn(&mut self, work: impl Future<Output = Done> + Send + 'static) {
        let gate = self.gate.clone();
        self.set.spawn(
            async move {
                let Ok(_permit) = gate.acquire_owned().await else {
                    return Err(ActionError::new("s3", "tasks", "Cancelled", "the work was stopped"));
                };
                work.await
            }
            .in_current_span(),
        );
    }

    /// Waits for every task, reporting progress as objects finish; the first error
    /// stops the rest. Returns the bytes copied.
    pub async fn drain(mut self, total: u64, ctx: &ActionCtx<'_>) -> Result<u64, ActionError> {
        let (mut done, mut shown, mut bytes, mut by_size) = (0u64, 0u64, 0u64, 0u64);
        while let Some(r) = self.set.join_next().await {
            let r = r.unwrap_or_else(|e| {
                Err(ActionError::new("s3", "tasks", "InternalError", format!("a copy task ended abnormally: {e}")))
            });
            match r {
                Ok((n, b, size_only)) => {
                    done += n;
                    bytes += b;
                    by_size += size_only as u64;
                }
                Err(e) => {
                    self.set.abort_all();
                    return Err(e);
                }
            }
            if done - shown >= 25 || done == total {
                shown = done;
                (ctx.progress)(Progress::Count { done, total, unit: "objects" });
            }
        }
        if by_size > 0 {
            (ctx.progress)(Progress::Line(format!(
                "{by_size} object(s) checked by size only: their ETags are no digest (KMS or customer keys) and they store no checksum"
            )));
        }
        Ok(bytes)
    }
}
