//! Many objects at once: work fed as places free up (so a plan of millions is never a
//! million tasks), as many in flight as raise the throughput and S3 allows, and one loop
//! that counts, reports and stops at the first failure.

use std::future::Future;
use std::sync::Arc;

use tracing::Instrument;

use super::s3_object::PART_COPIES;
use crate::cloud::{ActionCtx, ActionError, BoxFuture, Progress};
use crate::runbook::time::Timestamp;

/// The most copies in flight at once during a roll-back or a copy
/// (`LIFEBOAT_S3_CONCURRENCY`): a ceiling, not a setting — the pace finds the number that
/// the throughput asks for below it. S3 takes 3,500 writes a second per prefix; at 100 ms
/// a request that is 350 in flight, so the default leaves room for several prefixes.
pub fn concurrency() -> usize {
    let asked =
        std::env::var("LIFEBOAT_S3_CONCURRENCY").ok().and_then(|v| v.parse().ok()).filter(|n| *n > 0).unwrap_or(512);
    // Each copy in flight may hold a connection a part (an object stored in parts is
    // copied 8 parts at a time): never more than the open-file limit allows, less a
    // margin for the log, the manifest and the terminal — "too many open files" at 3 a.m.
    // would fail the step, not slow it.
    asked.min((open_files().saturating_sub(64) / PART_COPIES).max(1))
}

/// This process's limit on open files (`RLIMIT_NOFILE`, soft).
fn open_files() -> usize {
    let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit only writes the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } == 0 {
        usize::try_from(r.rlim_cur).unwrap_or(usize::MAX)
    } else {
        1024
    }
}

/// What each task did: objects, bytes, and whether the copy could be proved by its size
/// alone.
pub type Done = Result<(u64, u64, bool), ActionError>;

/// One piece of work that can be started again: a throttled request is put back in the
/// queue, not lost.
pub type Job = Arc<dyn Fn() -> BoxFuture<'static, Done> + Send + Sync>;

pub fn job<F, Fut>(f: F) -> Job
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Done> + Send + 'static,
{
    Arc::new(move || Box::pin(f()))
}

/// Work that fails as soon as it starts: what stands in the queue for a change that
/// could not be read back, so the run stops there rather than skip it.
pub fn failed(e: ActionError) -> Job {
    job(move || std::future::ready(Err(e.clone())))
}

/// Throttled (after the SDK's own retries) this many times, a piece of work fails the
/// step: S3 that keeps saying "slow down" at one in flight is an outage, not a pace.
const REQUEUES: u32 = 8;

/// Is this S3 (or a proxy) asking for fewer requests?
pub fn throttled(e: &ActionError) -> bool {
    matches!(
        e.code.as_deref(),
        Some("SlowDown" | "Throttling" | "ThrottlingException" | "RequestLimitExceeded" | "ServiceUnavailable" | "503")
    )
}

/// How many requests to keep in flight: doubled while each round of them raises the
/// throughput (measured on the run's clock), then one more a round (additive increase),
/// halved whenever S3 throttles (multiplicative decrease); never above the ceiling.
#[derive(Debug, Clone)]
pub struct Pace {
    limit: usize,
    ceiling: usize,
    growing: bool,
    round: usize,
    since: Option<Timestamp>,
    last_rate: f64,
    /// Bumped at each decrease: a request sent before it was sent at the old rate, and
    /// its throttling is not a reason to halve again (one decrease a round trip).
    epoch: u64,
    pub peak: usize,
    pub backoffs: u64,
}

/// Where a run starts: enough to measure, few enough not to be throttled at once.
const START: usize = 8;

impl Pace {
    pub fn new(ceiling: usize) -> Pace {
        let limit = START.min(ceiling.max(1));
        Pace {
            limit,
            ceiling: ceiling.max(1),
            growing: true,
            round: 0,
            since: None,
            last_rate: 0.0,
            epoch: 0,
            peak: limit,
            backoffs: 0,
        }
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    pub fn start(&mut self, now: Timestamp) {
        self.since.get_or_insert(now);
    }

    /// One piece of work finished.
    pub fn done(&mut self, now: Timestamp) {
        self.round += 1;
        if self.round < self.limit {
            return;
        }
        let since = self.since.replace(now).unwrap_or(now);
        let secs = since.duration_until(now).as_secs_f64();
        let rate = if secs > 0.0 { self.round as f64 / secs } else { f64::INFINITY };
        self.round = 0;
        if self.growing && rate > self.last_rate * 1.05 {
            self.limit = (self.limit * 2).min(self.ceiling);
        } else {
            self.growing = false;
            self.limit = (self.limit + 1).min(self.ceiling);
        }
        self.last_rate = rate;
        self.peak = self.peak.max(self.limit);
    }

    /// S3 said slow down to a request sent in `epoch`.
    pub fn throttled(&mut self, epoch: u64, now: Timestamp) {
        if epoch != self.epoch {
            return;
        }
        self.epoch += 1;
        self.backoffs += 1;
        self.growing = false;
        self.limit = (self.limit / 2).max(1);
        self.round = 0;
        self.since = Some(now);
    }
}

/// Runs every job, at most as many at once as the pace allows, reporting progress as
/// objects finish; the first error that is not throttling stops the rest. Returns the
/// bytes copied.
pub async fn run(
    jobs: impl Iterator<Item = Job>,
    total: u64,
    ceiling: usize,
    ctx: &ActionCtx<'_>,
) -> Result<u64, ActionError> {
    let mut jobs = jobs.map(|j| (j, 0u32));
    let mut again: Vec<(Job, u32)> = Vec::new();
    let mut set = tokio::task::JoinSet::new();
    let mut pace = Pace::new(ceiling);
    pace.start(ctx.clock.now());
    let (mut done, mut shown, mut bytes, mut by_size) = (0u64, 0u64, 0u64, 0u64);
    loop {
        while set.len() < pace.limit() {
            let Some((job, tries)) = again.pop().or_else(|| jobs.next()) else { break };
            let (epoch, clock) = (pace.epoch(), ctx.clock.clone());
            set.spawn(
                async move {
                    // Sent again after throttling: a second more a time, beyond the SDK's own waits.
                    clock.sleep(std::time::Duration::from_secs(tries as u64)).await;
                    (job().await, job, tries, epoch)
                }
                .in_current_span(),
            );
        }
        let Some(r) = set.join_next().await else { break };
        let (r, job, tries, epoch) = match r {
            Ok(x) => x,
            Err(e) => {
                set.abort_all();
                return Err(ActionError::new(
                    "s3",
                    "tasks",
                    "InternalError",
                    format!("a copy task ended abnormally: {e}"),
                ));
            }
        };
        match r {
            Ok((n, b, size_only)) => {
                pace.done(ctx.clock.now());
                done += n;
                bytes += b;
                by_size += size_only as u64;
            }
            Err(e) if throttled(&e) && tries < REQUEUES => {
                let before = pace.limit();
                pace.throttled(epoch, ctx.clock.now());
                if pace.limit() < before {
                    (ctx.progress)(Progress::Line(format!(
                        "S3 asked to slow down ({}): {} request(s) in flight now, the throttled one queued again",
                        e.code.as_deref().unwrap_or("throttled"),
                        pace.limit()
                    )));
                }
                again.push((job, tries + 1));
            }
            Err(e) => {
                set.abort_all();
                return Err(e);
            }
        }
        if done - shown >= 25 || done == total {
            shown = done;
            (ctx.progress)(Progress::Count { done, total, unit: "objects" });
        }
    }
    if by_size > 0 {
        (ctx.progress)(Progress::Line(format!(
            "{by_size} object(s) checked by size only: their ETags are no digest (KMS or customer keys) and they store no checksum"
        )));
    }
    if total > 0 {
        (ctx.progress)(Progress::Line(format!(
            "requests in flight: up to {} (ceiling {ceiling}), backed off {} time(s) when S3 throttled",
            pace.peak, pace.backoffs
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millisecond(ms).unwrap()
    }

    /// A server that answers a request in 100 ms and holds at most `cap` at once: the
    /// throughput grows with what is in flight until `cap`, then stays.
    fn simulate(pace: &mut Pace, cap: usize, rounds: usize) -> Vec<usize> {
        let mut now = 0i64;
        pace.start(at(0));
        let mut seen = vec![];
        for _ in 0..rounds {
            let n = pace.limit();
            let waves = n.div_ceil(cap.min(n)) as i64;
            for i in 0..n {
                let t = now + 100 * ((i / cap.min(n)) as i64 + 1);
                pace.done(at(t));
            }
            now += 100 * waves;
            seen.push(pace.limit());
        }
        seen
    }

    #[test]
    fn the_pace_doubles_while_throughput_grows_then_creeps_and_halves_when_throttled() {
        let mut p = Pace::new(512);
        let seen = simulate(&mut p, 64, 6);
        assert_eq!(&seen[..3], &[16, 32, 64], "doubling while each round is faster: {seen:?}");
        assert!(seen[3] <= 129 && seen[4] <= seen[3] + 1, "then one more a round: {seen:?}");
        let (before, sent) = (p.limit(), p.epoch());
        p.throttled(sent, at(10_000));
        assert_eq!(p.limit(), before / 2);
        p.throttled(sent, at(10_001));
        assert_eq!(p.limit(), before / 2, "a request sent before the decrease does not halve again");
        let mut q = Pace::new(20);
        simulate(&mut q, 1000, 10);
        assert_eq!(q.limit(), 20, "never above the ceiling");
        let mut one = Pace::new(1);
        one.throttled(0, at(0));
        assert_eq!(one.limit(), 1, "never below one");
    }

    #[test]
    fn the_ceiling_stays_inside_the_open_file_limit() {
        // nextest runs each test in its own process: lowering this one's limit is safe.
        let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) }, 0);
        r.rlim_cur = 200;
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &r) }, 0);
        assert_eq!(concurrency(), (200 - 64) / PART_COPIES, "eight connections a copy, a margin of 64");
    }
}
