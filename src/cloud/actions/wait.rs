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
    // A line when the status changes, else one every five minutes with how long it has been: a
    // restore that is `creating` for forty minutes is not forty identical lines.
    let mut said: Option<(String, jiff::Timestamp)> = None;
    loop {
        let status = match look().await? {
            Look::Ready(t) => return Ok(t),
            Look::Busy(status) => status,
        };
        let now = clock.now();
        let due = match &said {
            Some((s, at)) => *s != status || now.duration_since(*at).as_secs() >= 300,
            None => true,
        };
        if due {
            let waited = now.duration_since(started).as_millis().max(0) as u64;
            let line = if waited < 1000 {
                format!("{what}: {status}")
            } else {
                format!("{what}: {status} ({} so far)", so_far(waited))
            };
            (env.ctx.progress)(Progress::Line(line));
            said = Some((status.clone(), now));
        }
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

/// `4m10s`, `1h2m`: how long a wait has gone on (the cloud layer formats its own lines).
fn so_far(ms: u64) -> String {
    let s = ms / 1000;
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}
