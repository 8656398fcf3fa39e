use super::cpu::thread_cpu;
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
    let (ms, real) = rt.block_on(modeled(10_000.0, 1, 5, StdDuration::from_millis(100), StdDuration::from_millis(20)));
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
