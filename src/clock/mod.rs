//! All waiting goes through a `Clock`, so a two-hour RTO rehearses in seconds and tests
//! never sleep for real.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration as StdDuration;

use crate::runbook::time::Timestamp;

mod cpu;
mod modeled;
mod tracked;

pub use modeled::{Shared, VirtualClock};
pub use tracked::{Tracked, TrackedTask, inherit, tracked};

pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

pub trait Clock: Send + Sync {
    /// The time runbook events are stamped with (virtual in a rehearsal).
    fn now(&self) -> Timestamp;
    /// Waits `d` of this clock's time.
    fn sleep(&self, d: StdDuration) -> Sleep;
    /// How many times faster than real time this clock runs (1 for the system clock).
    fn speed(&self) -> f64;
    /// While the guard lives, this clock runs at real time: the wall time of a `run:`
    /// command and the time a person spends reading or typing are real, never
    /// multiplied by `--speed` (a 0.77 s command must not count as 7m40s).
    fn real_time(&self) -> RealTime {
        RealTime { _hold: None }
    }
    /// What counts the futures that compute, on a clock that models time ([`tracked`]).
    fn activity(&self) -> Option<std::sync::Arc<Shared>> {
        None
    }
}

/// Holds a clock at real time until dropped.
pub struct RealTime {
    _hold: Option<Box<dyn Send>>,
}

/// Wall-clock time, for live incidents.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
    fn sleep(&self, d: StdDuration) -> Sleep {
        sleep_real(d)
    }
    fn speed(&self) -> f64 {
        1.0
    }
}

/// tokio's timer has a 1 ms grain: a zero-length wait would still wait for the next
/// tick, which adds up over a thousand steps. Nothing to wait for returns at once.
fn sleep_real(d: StdDuration) -> Sleep {
    if d.is_zero() { Box::pin(std::future::ready(())) } else { Box::pin(tokio::time::sleep(d)) }
}

/// Milliseconds between two instants (negative when `b` is before `a`): evidence holds
/// integers, never floats.
pub fn millis_between(a: Timestamp, b: Timestamp) -> i64 {
    b.duration_since(a).as_millis() as i64
}

/// Runs `fut` for at most `limit` of the clock's time.
pub async fn timeout<T>(clock: &dyn Clock, limit: StdDuration, fut: impl Future<Output = T>) -> Option<T> {
    tokio::select! {
        v = fut => Some(v),
        _ = clock.sleep(limit) => None,
    }
}

#[cfg(test)]
mod tests;
