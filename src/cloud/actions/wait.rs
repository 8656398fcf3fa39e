//! Waiting for a resource on the run's clock: look, back off, look again — as the AWS
//! CLI's waiters do — until it is ready, has failed, or the time allowed has passed.

use std::time::Duration as StdDuration;

use super::Env;
use crate::cloud::{ActionError, Progress};

/// What one look found.
pub enum Look<T> {
    Ready(T),
    /// Not yet: its status now.
    Busy(String),
}

/// Looks every `first`, doubling to two minutes; each status is a progress line.
pub async fn until<T, F: Future<Output = Result<Look<T>, ActionError>>>(
    env: &Env<'_>,
    what: &str,
    first: StdDuration,
    limit: Option<StdDuration>,
    hint: &str,
    mut look: impl FnMut() -> F,
) -> Result<T, ActionError> {
    let clock = &env.ctx.clock;
    let started = clock.now();
    let mut wait = first;
    loop {
        let status = match look().await? {
            Look::Ready(t) => return Ok(t),
            Look::Busy(status) => status,
        };
        (env.ctx.progress)(Progress::Line(format!("{what}: {status}")));
        if let Some(limit) = limit
            && clock.now().duration_since(started).as_secs() as u64 >= limit.as_secs()
        {
            return Err(ActionError::new(
                env.op(),
                what,
                "WaiterTimeout",
                format!("`{what}` was not ready after {}s: still {status}", limit.as_secs()),
            )
            .hint(hint));
        }
        clock.sleep(wait).await;
        wait = (wait * 2).min(StdDuration::from_secs(120));
    }
}
