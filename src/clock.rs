//! All waiting goes through a `Clock`, so a two-hour RTO rehearses in seconds and tests
//! never sleep for real.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration as StdDuration;

use crate::runbook::time::Timestamp;

pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

pub trait Clock: Send + Sync {
    /// The time runbook events are stamped with (virtual in a rehearsal).
    fn now(&self) -> Timestamp;
    /// Waits `d` of this clock's time.
    fn sleep(&self, d: StdDuration) -> Sleep;
    /// How many times faster than real time this clock runs (1 for the system clock).
    fn speed(&self) -> f64;
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

/// Runs `speed` times faster than real time from a chosen start. Built on tokio's
/// clock, so under `start_paused` tests it advances instantly and deterministically.
pub struct VirtualClock {
    start: Timestamp,
    origin: tokio::time::Instant,
    speed: f64,
}

impl VirtualClock {
    pub fn new(start: Timestamp, speed: f64) -> Self {
        assert!(speed > 0.0 && speed.is_finite(), "speed must be positive");
        VirtualClock { start, origin: tokio::time::Instant::now(), speed }
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Timestamp {
        let real = self.origin.elapsed();
        let virt = real.as_secs_f64() * self.speed;
        let nanos = (virt * 1e9).min(i64::MAX as f64) as i64;
        self.start.checked_add(jiff::SignedDuration::from_nanos(nanos)).unwrap_or(self.start)
    }
    fn sleep(&self, d: StdDuration) -> Sleep {
        sleep_real(d.div_f64(self.speed))
    }
    fn speed(&self) -> f64 {
        self.speed
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
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn virtual_time_runs_n_times_faster_without_real_sleeping() {
        let start: Timestamp = "2026-11-24T03:00:00Z".parse().unwrap();
        let clock = VirtualClock::new(start, 60.0);
        let real = std::time::Instant::now();
        clock.sleep(StdDuration::from_secs(3600)).await; // one virtual hour = 60 s of tokio time
        assert_eq!(millis_between(start, clock.now()), 3_600_000);
        assert!(real.elapsed() < StdDuration::from_secs(1), "paused time must not really sleep");
    }

    #[tokio::test(start_paused = true)]
    async fn timeouts_use_the_clock() {
        let clock = VirtualClock::new(Timestamp::UNIX_EPOCH, 100.0);
        let slow = clock.sleep(StdDuration::from_secs(600));
        assert!(timeout(&clock, StdDuration::from_secs(60), slow).await.is_none());
        let fast = clock.sleep(StdDuration::from_secs(10));
        assert!(timeout(&clock, StdDuration::from_secs(60), fast).await.is_some());
        assert_eq!(millis_between(Timestamp::UNIX_EPOCH, clock.now()), 70_000);
    }
}
