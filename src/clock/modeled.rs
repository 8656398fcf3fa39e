//! The rehearsal's modeling clock: its pace, its driver, its sleeps.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration as StdDuration;

use super::cpu::{CLOCKS, in_progress};
use super::{Clock, RealTime, Sleep, sleep_real};
use crate::runbook::time::Timestamp;

/// The rehearsal's clock: it models time instead of measuring the machine. A wait the
/// model or the runbook defines (a request's latency, `wait:`, a back-off, a job's
/// progress) advances it by the wait's modeled length, taking 1/`speed` of that in real
/// time — or none, when that would be less than the timer's grain; a command or a person
/// passes at real time; computation counts the CPU time it took. So modeled durations do
/// not depend on `--speed` or on the machine's load: the simulator's CPU is never counted
/// `speed` times over, and a 10,000× rehearsal models what a 20× one does.
///
/// What computes is told by the futures [`tracked`] wraps (the engine, its steps, the
/// actions' tasks, the simulator's jobs): while one of them is polled the clock advances
/// by the CPU time of that poll (never more than the poll's wall time) — not by the wall
/// time, which on a busy machine includes the time the thread waited for a core, and
/// once made the same rehearsal model a roll-back at 15 s and at 23 s; while one is
/// woken and not yet polled the clock stands still; when none is and something sleeps on
/// the clock, the clock runs at `speed` up to the earliest wake-up, or jumps there. Built
/// on tokio's clock, so under `start_paused` tests it advances instantly and
/// deterministically (a poll there takes no tokio time, so it counts none).
pub struct VirtualClock {
    shared: std::sync::Arc<Shared>,
    speed: f64,
}

/// The clock's state, and the driver's bell.
pub struct Shared {
    /// The clock's number (a copy of `Pace::id`, read without the lock on every poll).
    pub(super) id: usize,
    pace: std::sync::Mutex<Pace>,
    bell: tokio::sync::Notify,
}

/// The virtual time at the last change of pace, and what decides the pace now.
pub(super) struct Pace {
    at: Timestamp,
    since: tokio::time::Instant,
    /// Guards holding the clock at real time (commands, people).
    holds: u32,
    /// Tracked futures being polled: computation, which passes at real time.
    running: usize,
    /// Tracked futures woken and sleeps fired, not yet polled: the clock stands still
    /// for them (the scheduler's latency is the simulator's, not the night's), and never
    /// races past the work that follows them.
    pending: usize,
    /// A spawned child just ended: tokio wakes the parent that joins it only once the
    /// child's task is torn down (tens of µs, which at 10,000× are modeled seconds), so
    /// the clock stands still until something runs or this real instant passes.
    handoff: Option<tokio::time::Instant>,
    speed: f64,
    /// CPU time of the tracked polls that ended since `since`: while something computes
    /// and nothing holds the clock, the clock advances by this, not by the wall time.
    worked: StdDuration,
    /// The latest time handed out: a thread mid-poll counts its own poll's CPU so far,
    /// which another thread cannot see, and time must never run backwards between them.
    high: Timestamp,
    /// Which clock a thread's poll in progress ([`POLL`]) belongs to.
    pub(super) id: usize,
    /// Who waits for which virtual time.
    sleepers: std::collections::BTreeMap<(Timestamp, u64), std::task::Waker>,
    next_id: u64,
    /// The driver's task, so a clock used from a new runtime starts a new one.
    driver: Option<tokio::task::AbortHandle>,
}

impl Pace {
    /// The earliest wake-up, when the clock runs at its speed toward it.
    fn racing_to(&self) -> Option<Timestamp> {
        if self.holds > 0 || self.running > 0 || self.pending > 0 {
            return None;
        }
        self.sleepers.keys().next().map(|(t, _)| *t)
    }
    /// Whether nothing runs but something is about to: the clock stands still.
    fn still(&self) -> bool {
        self.holds == 0
            && self.running == 0
            && (self.pending > 0 || self.handoff.is_some_and(|h| tokio::time::Instant::now() < h))
    }
    /// The time to hand out: with the work of this thread's poll so far.
    fn now(&mut self) -> Timestamp {
        let t = self.model(in_progress(self.id)).max(self.high);
        self.high = t;
        t
    }
    /// The time the pace has reached, with `ongoing` work of a poll not yet ended (none
    /// when rebasing: a poll's work is added once, when it ends).
    fn model(&self, ongoing: StdDuration) -> Timestamp {
        if self.holds == 0 && self.running > 0 {
            // Computing: the CPU time the polls took, not the wall time that passed.
            let worked = self.worked + ongoing;
            return self.at.checked_add(jiff::SignedDuration::try_from(worked).unwrap_or_default()).unwrap_or(self.at);
        }
        if self.still() {
            return self.at;
        }
        match self.racing_to() {
            Some(until) => {
                // A hand-off that lapsed held the clock until then.
                let from = self.handoff.map_or(self.since, |h| h.max(self.since));
                let virt = from.elapsed().as_secs_f64() * self.speed;
                let nanos = (virt * 1e9).min(i64::MAX as f64) as i64;
                let t = self.at.checked_add(jiff::SignedDuration::from_nanos(nanos)).unwrap_or(until);
                t.min(until).max(self.at)
            }
            None => {
                let real = self.since.elapsed();
                self.at.checked_add(jiff::SignedDuration::try_from(real).unwrap_or_default()).unwrap_or(self.at)
            }
        }
    }
    /// Starts a new stretch at the current virtual time (before the pace changes).
    fn rebase(&mut self) {
        self.at = self.model(StdDuration::ZERO);
        self.worked = StdDuration::ZERO;
        self.since = tokio::time::Instant::now();
        if self.handoff.is_some_and(|h| self.since >= h) {
            self.handoff = None;
        }
    }
}

/// How long a hand-off holds the clock at most, when no parent runs after it.
pub(super) const HANDOFF: StdDuration = StdDuration::from_millis(2);

/// Real time below which a modeled wait is jumped rather than slept: tokio's timer
/// has a 1 ms grain, and sleeping 10 µs for a 100 ms request at 10,000× would cost 1 ms,
/// a hundred times the wait.
pub(super) const GRAIN: StdDuration = StdDuration::from_millis(1);

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Pace> {
        self.pace.lock().unwrap_or_else(|e| e.into_inner())
    }
    /// Moves work between waiting, pending and running; when none is left, the driver
    /// may race ahead. Something starting to run ends a hand-off.
    pub(super) fn shift(&self, running: isize, pending: isize) {
        self.shift_and(running, pending, false, StdDuration::ZERO)
    }
    /// The same, and a hand-off begins in the same instant when `handing` (a spawned
    /// child ended; its parent runs next); `worked` is the CPU time of a poll that ended.
    pub(super) fn shift_and(&self, running: isize, pending: isize, handing: bool, worked: StdDuration) {
        let mut p = self.lock();
        p.worked += worked;
        p.rebase();
        p.running = p.running.saturating_add_signed(running);
        p.pending = p.pending.saturating_add_signed(pending);
        if running > 0 {
            p.handoff = None;
        }
        if handing {
            p.handoff = Some(tokio::time::Instant::now() + HANDOFF);
        }
        let none = p.running == 0 && p.pending == 0;
        drop(p);
        if none {
            self.bell.notify_one();
        }
    }
}

impl VirtualClock {
    pub fn new(start: Timestamp, speed: f64) -> Self {
        assert!(speed > 0.0 && speed.is_finite(), "speed must be positive");
        let id = CLOCKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let pace = Pace {
            at: start,
            since: tokio::time::Instant::now(),
            holds: 0,
            running: 0,
            pending: 0,
            handoff: None,
            speed,
            worked: StdDuration::ZERO,
            high: start,
            id,
            sleepers: Default::default(),
            next_id: 0,
            driver: None,
        };
        let shared =
            std::sync::Arc::new(Shared { id, pace: std::sync::Mutex::new(pace), bell: tokio::sync::Notify::new() });
        VirtualClock { shared, speed }
    }

    /// Starts the driver in the current runtime unless one runs there already.
    fn drive(&self, p: &mut Pace) {
        if p.driver.as_ref().is_some_and(|d| !d.is_finished()) {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else { return };
        let weak = std::sync::Arc::downgrade(&self.shared);
        p.driver = Some(rt.spawn(driver(weak)).abort_handle());
    }
}

impl Drop for VirtualClock {
    fn drop(&mut self) {
        if let Some(d) = self.shared.lock().driver.take() {
            d.abort();
        }
    }
}

/// Wakes each sleeper when the clock reaches its time: at real time while something
/// computes, at the clock's speed (or at once) while everything waits.
pub(super) async fn driver(shared: std::sync::Weak<Shared>) {
    enum Next {
        Wake(Vec<std::task::Waker>),
        Sleep(StdDuration),
        Bell,
    }
    loop {
        let Some(sh) = shared.upgrade() else { return };
        let next = {
            let mut p = sh.lock();
            p.rebase();
            let due: Vec<(Timestamp, u64)> = p.sleepers.range(..=(p.at, u64::MAX)).map(|(k, _)| *k).collect();
            if !due.is_empty() {
                // Each fired sleep is pending until its owner has seen it, so the clock
                // cannot race past the work that follows it.
                p.pending += due.len();
                Next::Wake(due.iter().filter_map(|k| p.sleepers.remove(k)).collect())
            } else {
                let held =
                    p.handoff.filter(|_| p.still()).map(|h| h.saturating_duration_since(tokio::time::Instant::now()));
                match (p.racing_to(), p.sleepers.keys().next()) {
                    // A hand-off: its parent is about to run.
                    _ if let Some(held) = held => Next::Sleep(held.max(StdDuration::from_micros(50))),
                    (Some(until), _) => {
                        let left = StdDuration::try_from(p.at.duration_until(until)).unwrap_or_default();
                        let real = left.div_f64(p.speed);
                        if real < GRAIN {
                            p.at = until;
                            p.since = tokio::time::Instant::now();
                            continue;
                        }
                        Next::Sleep(real)
                    }
                    (None, Some((until, _))) => {
                        Next::Sleep(StdDuration::try_from(p.at.duration_until(*until)).unwrap_or_default().max(GRAIN))
                    }
                    (None, None) => Next::Bell,
                }
            }
        };
        match next {
            Next::Wake(wakers) => wakers.into_iter().for_each(|w| w.wake()),
            Next::Sleep(d) => {
                let bell = sh.bell.notified();
                tokio::select! {
                    _ = tokio::time::sleep(d) => {}
                    _ = bell => {}
                }
            }
            Next::Bell => sh.bell.notified().await,
        }
    }
}

pub(super) struct Hold(std::sync::Arc<Shared>);

impl Drop for Hold {
    fn drop(&mut self) {
        let mut p = self.0.lock();
        p.rebase();
        p.holds = p.holds.saturating_sub(1);
        drop(p);
        self.0.bell.notify_one();
    }
}

/// One wait on the virtual clock, woken by the driver.
pub(super) struct VirtualSleep {
    shared: std::sync::Arc<Shared>,
    key: Option<(Timestamp, u64)>,
    until: Timestamp,
    fired: bool,
}

impl Future for VirtualSleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        let this = &mut *self;
        let mut p = this.shared.lock();
        match this.key {
            Some(key) if !p.sleepers.contains_key(&key) => {
                // The driver took it off and counted it pending: seen now.
                this.key = None;
                this.fired = true;
                drop(p);
                this.shared.shift(0, -1);
                std::task::Poll::Ready(())
            }
            Some(key) => {
                if let Some(w) = p.sleepers.get_mut(&key)
                    && !w.will_wake(cx.waker())
                {
                    *w = cx.waker().clone();
                }
                std::task::Poll::Pending
            }
            None if this.fired => std::task::Poll::Ready(()),
            None => {
                if p.now() >= this.until {
                    this.fired = true;
                    return std::task::Poll::Ready(());
                }
                p.rebase();
                let key = (this.until, p.next_id);
                p.next_id += 1;
                let earliest = p.sleepers.keys().next().is_none_or(|k| key < *k);
                p.sleepers.insert(key, cx.waker().clone());
                this.key = Some(key);
                drop(p);
                if earliest {
                    this.shared.bell.notify_one();
                }
                std::task::Poll::Pending
            }
        }
    }
}

impl Drop for VirtualSleep {
    fn drop(&mut self) {
        let Some(key) = self.key else { return };
        let mut p = self.shared.lock();
        p.rebase();
        if p.sleepers.remove(&key).is_none() {
            // Fired and counted pending, but never seen: uncount it.
            drop(p);
            self.shared.shift(0, -1);
        }
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Timestamp {
        self.shared.lock().now()
    }
    fn sleep(&self, d: StdDuration) -> Sleep {
        if d.is_zero() {
            return sleep_real(d);
        }
        let mut p = self.shared.lock();
        self.drive(&mut p);
        let until = p.now().checked_add(jiff::SignedDuration::try_from(d).unwrap_or(jiff::SignedDuration::MAX));
        drop(p);
        let Ok(until) = until else { return Box::pin(std::future::pending()) };
        Box::pin(VirtualSleep { shared: self.shared.clone(), key: None, until, fired: false })
    }
    fn speed(&self) -> f64 {
        self.speed
    }
    fn real_time(&self) -> RealTime {
        let mut p = self.shared.lock();
        p.rebase();
        p.holds += 1;
        RealTime { _hold: Some(Box::new(Hold(self.shared.clone()))) }
    }
    fn activity(&self) -> Option<std::sync::Arc<Shared>> {
        Some(self.shared.clone())
    }
}
