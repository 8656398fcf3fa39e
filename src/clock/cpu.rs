//! What a poll's computation costs: the thread's CPU time, measured around the outermost
//! tracked poll, and counted by the modeling clock the poll belongs to.

use std::time::Duration as StdDuration;

thread_local! {
    /// The outermost tracked poll under way on this thread: its clock's id, and the
    /// thread's CPU time and tokio's instant when it began.
    pub(super) static POLL: std::cell::Cell<Option<(usize, StdDuration, tokio::time::Instant)>> = const { std::cell::Cell::new(None) };
}

/// Numbers the modeling clocks, so a poll in progress is counted by its own clock only.
pub(super) static CLOCKS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The CPU time this thread has used: what computation costs, whatever else the machine
/// is doing (the wall time of the same work doubles when another process shares the core).
pub(super) fn thread_cpu() -> StdDuration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec for the call's duration.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return StdDuration::ZERO;
    }
    StdDuration::new(ts.tv_sec.max(0) as u64, ts.tv_nsec.clamp(0, 999_999_999) as u32)
}

/// The work of a poll that began at `cpu0`/`wall0`: its CPU time, never more than the
/// tokio time it took (none on a paused test clock, where polls are instantaneous).
pub(super) fn poll_work(cpu0: StdDuration, wall0: tokio::time::Instant) -> StdDuration {
    thread_cpu().saturating_sub(cpu0).min(wall0.elapsed())
}

/// The work of the poll under way on this thread, when it belongs to clock `id`.
pub(super) fn in_progress(id: usize) -> StdDuration {
    match POLL.with(|p| p.get()) {
        Some((of, cpu0, wall0)) if of == id => poll_work(cpu0, wall0),
        _ => StdDuration::ZERO,
    }
}
