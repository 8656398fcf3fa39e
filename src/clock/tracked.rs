//! What computes, told to the modeling clock: futures it counts while they run or are
//! woken, and the CPU time their polls take.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration as StdDuration;

use super::Clock;
use super::cpu::{POLL, poll_work, thread_cpu};
use super::modeled::Shared;

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
}

/// `child`: spawned by a tracked future that joins it (its end is handed over).
pub(super) fn track<F: Future>(activity: Option<std::sync::Arc<Shared>>, child: bool, fut: F) -> Tracked<F> {
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
pub(super) const IDLE: u8 = 0;
/// Counted as pending: woken, not yet polled.
pub(super) const SCHEDULED: u8 = 1;
/// Counted as running: being polled.
pub(super) const RUNNING: u8 = 2;
/// Counted as running: woken while being polled.
pub(super) const NOTIFIED: u8 = 3;
/// Finished: never counted again.
pub(super) const DONE: u8 = 4;

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
