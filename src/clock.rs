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
    /// While the guard lives, this clock runs at real time: the wall time of a `run:`
    /// command and the time a person spends reading or typing are real, never
    /// multiplied by `--speed` (a 0.77 s command must not count as 7m40s).
    fn real_time(&self) -> RealTime {
        RealTime { _hold: None }
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

/// Runs `speed` times faster than real time from a chosen start, except while something
/// holds it at real time (`real_time`). Built on tokio's clock, so under `start_paused`
/// tests it advances instantly and deterministically.
pub struct VirtualClock {
    state: std::sync::Arc<std::sync::Mutex<Pace>>,
    speed: f64,
}

/// The virtual time at the last change of pace, and how many hold it at real time.
struct Pace {
    at: Timestamp,
    since: tokio::time::Instant,
    holds: u32,
    speed: f64,
}

impl Pace {
    fn rate(&self) -> f64 {
        if self.holds > 0 { 1.0 } else { self.speed }
    }
    fn now(&self) -> Timestamp {
        let virt = self.since.elapsed().as_secs_f64() * self.rate();
        let nanos = (virt * 1e9).min(i64::MAX as f64) as i64;
        self.at.checked_add(jiff::SignedDuration::from_nanos(nanos)).unwrap_or(self.at)
    }
    /// Starts a new stretch at the current virtual time (before the pace changes).
    fn rebase(&mut self) {
        self.at = self.now();
        self.since = tokio::time::Instant::now();
    }
}

/// Longest real wait between two looks at the pace, so a sleep notices when the clock
/// is held at real time or let go.
const PACE_CHECK: StdDuration = StdDuration::from_millis(250);

impl VirtualClock {
    pub fn new(start: Timestamp, speed: f64) -> Self {
        assert!(speed > 0.0 && speed.is_finite(), "speed must be positive");
        let pace = Pace { at: start, since: tokio::time::Instant::now(), holds: 0, speed };
        VirtualClock { state: std::sync::Arc::new(std::sync::Mutex::new(pace)), speed }
    }
}

struct Hold(std::sync::Arc<std::sync::Mutex<Pace>>);

impl Drop for Hold {
    fn drop(&mut self) {
        let mut p = self.0.lock().unwrap_or_else(|e| e.into_inner());
        p.rebase();
        p.holds = p.holds.saturating_sub(1);
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Timestamp {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).now()
    }
    fn sleep(&self, d: StdDuration) -> Sleep {
        if d.is_zero() {
            return sleep_real(d);
        }
        let state = self.state.clone();
        let until = self.now().checked_add(jiff::SignedDuration::try_from(d).unwrap_or(jiff::SignedDuration::MAX));
        Box::pin(async move {
            let Ok(until) = until else { return std::future::pending().await };
            loop {
                let (left, rate) = {
                    let p = state.lock().unwrap_or_else(|e| e.into_inner());
                    (p.now().duration_until(until), p.rate())
                };
                let Ok(left) = StdDuration::try_from(left) else { return };
                if left.is_zero() {
                    return;
                }
                tokio::time::sleep(left.div_f64(rate).min(PACE_CHECK)).await;
            }
        })
    }
    fn speed(&self) -> f64 {
        self.speed
    }
    fn real_time(&self) -> RealTime {
        let mut p = self.state.lock().unwrap_or_else(|e| e.into_inner());
        p.rebase();
        p.holds += 1;
        RealTime { _hold: Some(Box::new(Hold(self.state.clone()))) }
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
    async fn held_at_real_time_the_clock_counts_real_seconds_then_speeds_up_again() {
        let start: Timestamp = "2026-11-24T03:00:00Z".parse().unwrap();
        let clock = VirtualClock::new(start, 600.0);
        {
            let _held = clock.real_time();
            tokio::time::sleep(StdDuration::from_millis(770)).await; // a command's wall time
            assert_eq!(millis_between(start, clock.now()), 770, "real time, not 7m42s");
        }
        tokio::time::sleep(StdDuration::from_secs(1)).await;
        assert_eq!(millis_between(start, clock.now()), 770 + 600_000);
        // A wait that began fast and is held halfway counts the rest at real time.
        let t0 = clock.now();
        let wait = clock.sleep(StdDuration::from_secs(600));
        tokio::pin!(wait);
        tokio::select! { _ = &mut wait => panic!("too early"), _ = tokio::time::sleep(StdDuration::from_millis(500)) => {} }
        let held = clock.real_time();
        assert!(timeout(&SystemClock, StdDuration::from_secs(10), &mut wait).await.is_none(), "held: real seconds");
        drop(held);
        wait.await;
        assert!(millis_between(t0, clock.now()) >= 600_000);
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
