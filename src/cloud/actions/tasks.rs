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

/// One piece of work that can be started again (a throttled request is put back in the
/// queue, not lost), and the prefix S3 counts its requests against.
#[derive(Clone)]
pub struct Job {
    work: Arc<dyn Fn() -> BoxFuture<'static, Done> + Send + Sync>,
    lane: Arc<str>,
}

/// The part of a key S3's request rates are counted by here: up to its first `/`.
pub fn lane_of(key: &str) -> &str {
    key.split_once('/').map_or("", |(p, _)| p)
}

/// Work on `key` (its prefix is the pace it keeps).
pub fn job<F, Fut>(key: &str, f: F) -> Job
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Done> + Send + 'static,
{
    Job { work: Arc::new(move || Box::pin(f())), lane: lane_of(key).into() }
}

/// Work that fails as soon as it starts: what stands in the queue for a change that
/// could not be read back, so the run stops there rather than skip it.
pub fn failed(e: ActionError) -> Job {
    job("", move || std::future::ready(Err(e.clone())))
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

/// How many requests to keep in flight in all: doubled while each round of them raises
/// the throughput (measured on the run's clock), then one more a round; never above the
/// ceiling. Throttling is a prefix's own: its [`Lane`] halves, the others keep going.
#[derive(Debug, Clone)]
pub struct Pace {
    limit: usize,
    ceiling: usize,
    growing: bool,
    round: usize,
    since: Option<Timestamp>,
    last_rate: f64,
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
            peak: limit,
            backoffs: 0,
        }
    }

    pub fn limit(&self) -> usize {
        self.limit
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
}

/// One prefix's own pace: S3 throttles a prefix, not the bucket, so a hot prefix is
/// slowed down while the others keep theirs. No limit until S3 first says slow down;
/// then half of what it had in flight, one more for each round that goes through
/// (additive increase, multiplicative decrease).
#[derive(Default)]
struct Lane {
    in_flight: usize,
    limit: Option<usize>,
    round: usize,
    epoch: u64,
    /// Jobs waiting for a place in this lane.
    waiting: std::collections::VecDeque<(Job, u32)>,
}

impl Lane {
    fn open(&self) -> bool {
        self.limit.is_none_or(|l| self.in_flight < l)
    }
    fn done(&mut self, ceiling: usize) {
        let Some(l) = self.limit else { return };
        self.round += 1;
        if self.round >= l {
            self.round = 0;
            self.limit = (l + 1 < ceiling).then_some(l + 1);
        }
    }
    /// Halved once for each round trip: a request sent before the last decrease says
    /// nothing new.
    fn throttled(&mut self, epoch: u64) -> bool {
        if epoch != self.epoch {
            return false;
        }
        self.epoch += 1;
        self.round = 0;
        self.limit = Some(self.in_flight.div_ceil(2).max(1));
        true
    }
}

/// Jobs held back at most, ahead of their lane's place, before no more are taken: a
/// throttled prefix never holds the whole plan in memory.
const WAITING: usize = 4096;

/// Runs every job, at most as many at once as the pace allows and as many per prefix as
/// S3 takes there, reporting progress as objects finish; the first error that is not
/// throttling stops the rest. Returns the bytes copied.
pub async fn run(
    jobs: impl Iterator<Item = Job>,
    total: u64,
    ceiling: usize,
    ctx: &ActionCtx<'_>,
) -> Result<u64, ActionError> {
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    let mut jobs = jobs.map(|j| (j, 0u32));
    let mut lanes: std::collections::HashMap<Arc<str>, Lane> = Default::default();
    let (mut waiting, mut slowed) = (0usize, std::collections::BTreeSet::<Arc<str>>::new());
    // The lanes holding jobs back (few: the throttled ones), so finding work stays cheap.
    let mut held: Vec<Arc<str>> = Vec::new();
    // Throttled jobs waiting out their delay hold no place of the pace's.
    let sleeping = Arc::new(AtomicUsize::new(0));
    let mut set = tokio::task::JoinSet::new();
    let mut pace = Pace::new(ceiling);
    pace.start(ctx.clock.now());
    let (mut done, mut shown, mut bytes, mut by_size) = (0u64, 0u64, 0u64, 0u64);
    loop {
        while set.len().saturating_sub(sleeping.load(Relaxed)) < pace.limit() {
            // A job whose lane has room: one held back first, else the next of the plan
            // (held back in its lane while that lane is full).
            held.retain(|name| lanes.get(name).is_some_and(|l| !l.waiting.is_empty()));
            let open = held.iter().find(|name| lanes.get(*name).is_some_and(Lane::open)).cloned();
            let (job, tries) = match open.and_then(|name| lanes.get_mut(&name)?.waiting.pop_front()) {
                Some(j) => {
                    waiting -= 1;
                    j
                }
                None if waiting >= WAITING => break,
                None => match jobs.next() {
                    None => break,
                    Some((job, tries)) => {
                        let lane = lanes.entry(job.lane.clone()).or_default();
                        if !lane.open() || !lane.waiting.is_empty() {
                            if lane.waiting.is_empty() {
                                held.push(job.lane.clone());
                            }
                            lane.waiting.push_back((job, tries));
                            waiting += 1;
                            continue;
                        }
                        (job, tries)
                    }
                },
            };
            let lane = lanes.entry(job.lane.clone()).or_default();
            lane.in_flight += 1;
            let (epoch, clock, asleep) = (lane.epoch, ctx.clock.clone(), sleeping.clone());
            set.spawn(crate::clock::inherit(
                async move {
                    // Sent again after throttling: a second more a time, beyond the SDK's own waits.
                    if tries > 0 {
                        asleep.fetch_add(1, Relaxed);
                        clock.sleep(std::time::Duration::from_secs(tries as u64)).await;
                        asleep.fetch_sub(1, Relaxed);
                    }
                    ((job.work)().await, job, tries, epoch)
                }
                .in_current_span(),
            ));
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
        let lane = lanes.entry(job.lane.clone()).or_default();
        lane.in_flight = lane.in_flight.saturating_sub(1);
        match r {
            Ok((n, b, size_only)) => {
                lane.done(ceiling);
                pace.done(ctx.clock.now());
                done += n;
                bytes += b;
                by_size += size_only as u64;
            }
            Err(e) if throttled(&e) && tries < REQUEUES => {
                if lane.throttled(epoch) {
                    pace.backoffs += 1;
                    slowed.insert(job.lane.clone());
                    let name = match &*job.lane {
                        "" => "the bucket's top level".to_string(),
                        p => format!("prefix `{p}/`"),
                    };
                    (ctx.progress)(Progress::Line(format!(
                        "S3 asked to slow down ({}) on {name}: {} request(s) in flight there now, the throttled one queued again; other prefixes keep their pace",
                        e.code.as_deref().unwrap_or("throttled"),
                        lane.limit.unwrap_or(1)
                    )));
                }
                if lane.waiting.is_empty() {
                    held.push(job.lane.clone());
                }
                lane.waiting.push_front((job, tries + 1));
                waiting += 1;
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
            "requests in flight: up to {} (ceiling {ceiling}), backed off {} time(s) when S3 throttled{}",
            pace.peak,
            pace.backoffs,
            match slowed.len() {
                0 => String::new(),
                1 => " (one prefix)".into(),
                n => format!(" (on {n} prefixes)"),
            }
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
    fn the_pace_doubles_while_throughput_grows_then_creeps_and_a_throttled_lane_halves() {
        let mut p = Pace::new(512);
        let seen = simulate(&mut p, 64, 6);
        assert_eq!(&seen[..3], &[16, 32, 64], "doubling while each round is faster: {seen:?}");
        assert!(seen[3] <= 129 && seen[4] <= seen[3] + 1, "then one more a round: {seen:?}");
        let mut q = Pace::new(20);
        simulate(&mut q, 1000, 10);
        assert_eq!(q.limit(), 20, "never above the ceiling");
        let mut lane = Lane { in_flight: 40, ..Lane::default() };
        assert!(lane.open(), "no limit until S3 first says slow down");
        assert!(lane.throttled(0));
        assert_eq!(lane.limit, Some(20), "half of what it had in flight");
        assert!(!lane.throttled(0), "a request sent before the decrease does not halve again");
        lane.in_flight = 1;
        assert!(lane.throttled(1));
        assert_eq!(lane.limit, Some(1), "never below one");
        lane.done(512);
        assert_eq!(lane.limit, Some(2), "one more for each round that goes through");
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

    /// Two prefixes, one that S3 throttles past 4 requests at once, every round: that one
    /// is held to its rate; the other keeps its place and goes on growing (one pace for
    /// the whole bucket, halved at each throttle, holds it near 5).
    #[tokio::test(start_paused = true)]
    async fn a_throttled_prefix_slows_down_alone() {
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        let catalog = crate::runbook::load::catalog_from_str(
            "apiVersion: lifeboat/v1\nkind: DatasetCatalog\ndatasets:\n  - { id: d, title: D, classification: internal, rpo: 1h, rto: 1h, primary: { region: eu-central-1 } }\n",
        )
        .unwrap();
        let clock: Arc<dyn crate::clock::Clock> = Arc::new(crate::clock::VirtualClock::new(at(0), 1.0));
        let progress = |_: Progress| {};
        let ctx = ActionCtx {
            clock: clock.clone(),
            progress: &progress,
            dataset: &catalog.datasets[0],
            incident_started_at: clock.now(),
            plan: None,
        };
        let counter = || Arc::new(AtomicUsize::new(0));
        let (hot, cold, cold_peak, throttled) = (counter(), counter(), counter(), counter());
        let jobs = (0..4000).map(|i| {
            let key = if i % 2 == 0 { format!("hot/{i}") } else { format!("cold/{i}") };
            let (hot, cold, cold_peak, throttled) = (hot.clone(), cold.clone(), cold_peak.clone(), throttled.clone());
            job(&key.clone(), move || {
                let (hot, cold, cold_peak, throttled, key) =
                    (hot.clone(), cold.clone(), cold_peak.clone(), throttled.clone(), key.clone());
                async move {
                    let here = if key.starts_with("hot/") { &hot } else { &cold };
                    let n = here.fetch_add(1, SeqCst) + 1;
                    if key.starts_with("cold/") && throttled.load(SeqCst) > 0 {
                        cold_peak.fetch_max(n, SeqCst);
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    here.fetch_sub(1, SeqCst);
                    if key.starts_with("hot/") && n > 4 {
                        throttled.fetch_add(1, SeqCst);
                        return Err(ActionError::new("s3", &key, "SlowDown", "Please reduce your request rate."));
                    }
                    Ok((1, 0, false))
                }
            })
        });
        run(jobs, 4000, 256, &ctx).await.unwrap();
        assert!(throttled.load(SeqCst) > 100, "throttled round after round: {}", throttled.load(SeqCst));
        assert!(cold_peak.load(SeqCst) >= 32, "the other kept growing after: {} at most", cold_peak.load(SeqCst));
    }
}
