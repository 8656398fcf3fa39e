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
    id: usize,
    pace: std::sync::Mutex<Pace>,
    bell: tokio::sync::Notify,
}

/// The virtual time at the last change of pace, and what decides the pace now.
struct Pace {
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
    id: usize,
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
const HANDOFF: StdDuration = StdDuration::from_millis(2);

/// Real time below which a modeled wait is jumped rather than slept: tokio's timer
/// has a 1 ms grain, and sleeping 10 µs for a 100 ms request at 10,000× would cost 1 ms,
/// a hundred times the wait.
const GRAIN: StdDuration = StdDuration::from_millis(1);

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Pace> {
        self.pace.lock().unwrap_or_else(|e| e.into_inner())
    }
    /// Moves work between waiting, pending and running; when none is left, the driver
    /// may race ahead. Something starting to run ends a hand-off.
    fn shift(&self, running: isize, pending: isize) {
        self.shift_and(running, pending, false, StdDuration::ZERO)
    }
    /// The same, and a hand-off begins in the same instant when `handing` (a spawned
    /// child ended; its parent runs next); `worked` is the CPU time of a poll that ended.
    fn shift_and(&self, running: isize, pending: isize, handing: bool, worked: StdDuration) {
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
async fn driver(shared: std::sync::Weak<Shared>) {
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

struct Hold(std::sync::Arc<Shared>);

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
struct VirtualSleep {
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

/// `fut`, counted as computing on `clock` whenever it runs or has been woken: what the
/// modeling clock must not race past. On a clock that does not model, `fut` as it is.
pub fn tracked<F: Future>(clock: &dyn Clock, fut: F) -> Tracked<F> {
    track(clock.activity(), false, fut)
}

/// `fut` tracked as the future being polled now is, for a task it spawns and joins: the
/// work a step hands to other tasks is still work the modeling clock waits for, and the
/// moment between the child's end and its parent's wake-up is not a wait.
pub fn inherit<F: Future>(fut: F) -> Tracked<F> {
    track(CURRENT.with(|c| c.borrow().clone()), true, fut)
}

thread_local! {
    /// The clock of the tracked future this thread is polling, if any.
    static CURRENT: std::cell::RefCell<Option<std::sync::Arc<Shared>>> = const { std::cell::RefCell::new(None) };
    /// The outermost tracked poll under way on this thread: its clock's id, and the
    /// thread's CPU time and tokio's instant when it began.
    static POLL: std::cell::Cell<Option<(usize, StdDuration, tokio::time::Instant)>> = const { std::cell::Cell::new(None) };
}

/// Numbers the modeling clocks, so a poll in progress is counted by its own clock only.
static CLOCKS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The CPU time this thread has used: what computation costs, whatever else the machine
/// is doing (the wall time of the same work doubles when another process shares the core).
fn thread_cpu() -> StdDuration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec for the call's duration.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return StdDuration::ZERO;
    }
    StdDuration::new(ts.tv_sec.max(0) as u64, ts.tv_nsec.clamp(0, 999_999_999) as u32)
}

/// The work of a poll that began at `cpu0`/`wall0`: its CPU time, never more than the
/// tokio time it took (none on a paused test clock, where polls are instantaneous).
fn poll_work(cpu0: StdDuration, wall0: tokio::time::Instant) -> StdDuration {
    thread_cpu().saturating_sub(cpu0).min(wall0.elapsed())
}

/// The work of the poll under way on this thread, when it belongs to clock `id`.
fn in_progress(id: usize) -> StdDuration {
    match POLL.with(|p| p.get()) {
        Some((of, cpu0, wall0)) if of == id => poll_work(cpu0, wall0),
        _ => StdDuration::ZERO,
    }
}

/// `child`: spawned by a tracked future that joins it (its end is handed over).
fn track<F: Future>(activity: Option<std::sync::Arc<Shared>>, child: bool, fut: F) -> Tracked<F> {
    let task = activity.map(|shared| {
        shared.shift(0, 1);
        std::sync::Arc::new(TrackedTask {
            shared,
            state: std::sync::atomic::AtomicU8::new(SCHEDULED),
            inner: std::sync::Mutex::new(None),
            child,
        })
    });
    Tracked { fut: Box::pin(fut), task }
}

/// Not counted: waiting on something.
const IDLE: u8 = 0;
/// Counted as pending: woken, not yet polled.
const SCHEDULED: u8 = 1;
/// Counted as running: being polled.
const RUNNING: u8 = 2;
/// Counted as running: woken while being polled.
const NOTIFIED: u8 = 3;
/// Finished: never counted again.
const DONE: u8 = 4;

/// One tracked future's state, and the waker that tells the clock when it is woken.
pub struct TrackedTask {
    shared: std::sync::Arc<Shared>,
    state: std::sync::atomic::AtomicU8,
    inner: std::sync::Mutex<Option<std::task::Waker>>,
    /// Spawned by a tracked task that joins it.
    child: bool,
}

impl std::task::Wake for TrackedTask {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref()
    }
    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        use std::sync::atomic::Ordering::{AcqRel, Acquire};
        let mut s = self.state.load(Acquire);
        loop {
            let to = match s {
                IDLE => SCHEDULED,
                RUNNING => NOTIFIED,
                _ => break,
            };
            if to == SCHEDULED {
                // Counted before the exchange, so the clock never races in between.
                self.shared.shift(0, 1);
            }
            match self.state.compare_exchange(s, to, AcqRel, Acquire) {
                Ok(_) => break,
                Err(now) => {
                    if to == SCHEDULED {
                        self.shared.shift(0, -1);
                    }
                    s = now;
                }
            }
        }
        if let Some(w) = self.inner.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            w.wake_by_ref();
        }
    }
}

/// A future the modeling clock counts as computing while it runs or is woken.
pub struct Tracked<F> {
    fut: Pin<Box<F>>,
    task: Option<std::sync::Arc<TrackedTask>>,
}

impl<F: Future> Future for Tracked<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<F::Output> {
        use std::sync::atomic::Ordering::{AcqRel, Acquire, SeqCst};
        let this = &mut *self;
        let Some(task) = this.task.clone() else { return this.fut.as_mut().poll(cx) };
        {
            let mut inner = task.inner.lock().unwrap_or_else(|e| e.into_inner());
            if !inner.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *inner = Some(cx.waker().clone());
            }
        }
        // Running now: what woke it (if anything did) is no longer pending.
        let was_scheduled = (task.state.swap(RUNNING, AcqRel) == SCHEDULED) as isize;
        task.shared.shift(1, -was_scheduled);
        let waker = std::task::Waker::from(task.clone());
        // A tracked future inside another is measured by the outer one.
        let outermost = POLL.with(|p| p.get()).is_none();
        let id = task.shared.id;
        if outermost {
            POLL.with(|p| p.set(Some((id, thread_cpu(), tokio::time::Instant::now()))));
        }
        let outer = CURRENT.with(|c| c.replace(Some(task.shared.clone())));
        let out = this.fut.as_mut().poll(&mut std::task::Context::from_waker(&waker));
        CURRENT.with(|c| *c.borrow_mut() = outer);
        let worked = match outermost.then(|| POLL.with(|p| p.take())).flatten() {
            Some((_, cpu0, wall0)) => poll_work(cpu0, wall0),
            None => StdDuration::ZERO,
        };
        if out.is_ready() {
            task.state.store(DONE, SeqCst);
            task.shared.shift_and(-1, 0, task.child, worked);
            this.task = None;
            return out;
        }
        // Out of tokio's cooperative budget, the task was made to yield and is woken
        // later (a deferred wake): runnable, not waiting. Counted as woken, and woken
        // now, or the clock would race ahead in the gap.
        if !tokio::task::coop::has_budget_remaining() {
            task.state.store(SCHEDULED, SeqCst);
            task.shared.shift_and(-1, 1, false, worked);
            cx.waker().wake_by_ref();
            return out;
        }
        match task.state.compare_exchange(RUNNING, IDLE, AcqRel, Acquire) {
            Ok(_) => task.shared.shift_and(-1, 0, false, worked),
            // Woken while polled: pending until polled again.
            Err(_) => {
                task.state.store(SCHEDULED, SeqCst);
                task.shared.shift_and(-1, 1, false, worked);
            }
        }
        out
    }
}

impl<F> Drop for Tracked<F> {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            match task.state.swap(DONE, std::sync::atomic::Ordering::AcqRel) {
                SCHEDULED => task.shared.shift(0, -1),
                RUNNING | NOTIFIED => task.shared.shift(-1, 0),
                _ => {}
            }
        }
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
        // Nothing waits on the clock and nothing holds it: time passes as it does.
        tokio::time::sleep(StdDuration::from_secs(1)).await;
        assert_eq!(millis_between(start, clock.now()), 1_770);
        // A modeled wait: ten minutes in one real second.
        let real = tokio::time::Instant::now();
        clock.sleep(StdDuration::from_secs(600)).await;
        assert_eq!(millis_between(start, clock.now()), 601_770);
        assert_eq!(real.elapsed(), StdDuration::from_secs(1));
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

    /// Work that really takes the CPU inside a tracked future, between modeled waits.
    async fn work(clock: Arc<dyn Clock>, rounds: u32, wait: StdDuration, cpu: StdDuration) {
        for _ in 0..rounds {
            clock.sleep(wait).await;
            spin(cpu);
        }
    }

    /// Spends `cpu` of this thread's CPU time.
    fn spin(cpu: StdDuration) {
        let from = thread_cpu();
        while thread_cpu() - from < cpu {
            std::hint::black_box(0u64.wrapping_add(1));
        }
    }

    use std::sync::Arc;

    /// The modeled length of `tasks` tracked tasks each doing `work`, at `speed`.
    async fn modeled(speed: f64, tasks: usize, rounds: u32, wait: StdDuration, cpu: StdDuration) -> (i64, StdDuration) {
        let start = Timestamp::UNIX_EPOCH;
        let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(start, speed));
        let real = std::time::Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..tasks {
            set.spawn(tracked(clock.as_ref(), work(clock.clone(), rounds, wait, cpu)));
        }
        while set.join_next().await.is_some() {}
        (millis_between(start, clock.now()), real.elapsed())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn computation_counts_its_cpu_once_and_waits_their_modeled_length() {
        // 5 × (100 ms modeled + 20 ms of CPU): 600 ms, at any speed — never 20 ms × 10,000.
        for speed in [20.0, 1_000.0, 10_000.0] {
            let (ms, real) = modeled(speed, 1, 5, StdDuration::from_millis(100), StdDuration::from_millis(20)).await;
            // 20 ms of CPU counted once, never 10,000 times (200 s); the rest of a poll
            // (scheduling, the timer) is microseconds.
            assert!((600..650).contains(&ms), "at {speed}×: {ms} ms modeled");
            assert!(real < StdDuration::from_millis(100 * 5 / speed as u64 + 100 + 300), "at {speed}×: {real:?} real");
        }
    }

    /// Pins the calling thread to CPU 0 (what a busy machine does to a thread, on demand).
    fn pin_to_first_cpu() {
        // SAFETY: a zeroed cpu_set_t is the empty set; the calls only read and write it.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(0, &mut set);
            assert_eq!(libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set), 0);
        }
    }

    /// The rehearsal that modeled a roll-back at 15 s alone and 23 s beside another test:
    /// the same work, with two busy threads on its core, models what it does alone.
    #[test]
    fn computation_counts_its_cpu_not_the_time_a_busy_machine_adds() {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let hogs: Vec<_> = (0..2)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    pin_to_first_cpu();
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        std::hint::black_box(0u64.wrapping_add(1));
                    }
                })
            })
            .collect();
        pin_to_first_cpu();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (ms, real) =
            rt.block_on(modeled(10_000.0, 1, 5, StdDuration::from_millis(100), StdDuration::from_millis(20)));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        hogs.into_iter().for_each(|h| h.join().unwrap());
        // Sharing the core, 100 ms of CPU took about 300 ms of wall time.
        assert!(real >= StdDuration::from_millis(150), "the core was not shared: {real:?}");
        assert!((600..650).contains(&ms), "{ms} ms modeled, not 600 (the wall time was {real:?})");
    }

    /// On tokio's paused clock the polls' own CPU takes no time, so the figure is the
    /// model's alone and exact: what a busy machine adds at real time is the test above.
    #[tokio::test(start_paused = true)]
    async fn waits_in_parallel_overlap_and_the_figure_does_not_move_with_the_speed() {
        // 300 tasks × 10 requests of 100 ms, in parallel: one modeled second, not 300.
        for speed in [20.0, 1_000.0, 10_000.0] {
            let (ms, _) = modeled(speed, 300, 10, StdDuration::from_millis(100), StdDuration::ZERO).await;
            assert_eq!(ms, 1_000, "at {speed}×");
        }
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
