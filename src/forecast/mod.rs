//! Will we make the RTO? A forecast of one runbook from its trusted history only: the
//! logs that verify and whose signer the trust root names, each run counted once (copies
//! told apart by run id after they verify). Per step the sample size, p50 and p90 and
//! where the time went; for the whole run p50 and p90 of the time to the milestone, and
//! the probability of meeting the RTO from the run simulated many times over its real
//! shape (phases in order, `needs` in parallel, each step's time drawn from its own
//! history, retries as they happened). Order statistics, not means: a step that once hung
//! for a day moves p90 at most one rank, and is named as an outlier.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::event::{Mode, StepStatus};
use crate::journal::trust::AllowedSigners;
use crate::runbook::model::{Runbook, StepKind};
use crate::runbook::time::{Timestamp, parse_timestamp};

mod render;

pub use render::{prometheus, text};

/// Figures are given from this many runs on; fewer say so and give none.
pub const MIN_RUNS: usize = 3;

/// Runs simulated for the probability of meeting the RTO.
const SIMULATED: usize = 10_000;

/// What kind of run a log is: measured on AWS, or modeled on the simulated cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// An incident, against AWS.
    Live,
    /// A restore drill against AWS.
    Drill,
    /// A replay in CI on the simulated cloud.
    Replay,
    /// A tabletop rehearsal on the simulated cloud (modeled durations).
    Rehearsal,
}

impl Kind {
    fn of(mode: Mode, cloud: &str) -> Kind {
        match (mode, cloud) {
            (Mode::Tabletop, _) => Kind::Rehearsal,
            (_, "sim") => Kind::Replay,
            (Mode::Live, _) => Kind::Live,
            _ => Kind::Drill,
        }
    }
    /// Measured (on AWS) or modeled (on the simulated cloud).
    pub fn evidence(self) -> &'static str {
        match self {
            Kind::Live | Kind::Drill => "measured",
            Kind::Replay | Kind::Rehearsal => "modeled",
        }
    }
}

/// A log that does not count, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Excluded {
    pub path: PathBuf,
    pub why: String,
}

/// One step's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepForecast {
    pub id: String,
    /// Finished runs of the step the figures come from.
    pub n: usize,
    pub p50_ms: Option<u64>,
    pub p90_ms: Option<u64>,
    /// Where the median run's time went: this machine (`run:` commands), people
    /// (answers, approvals, checklists), the cloud (actions and waits).
    pub machine_p50_ms: Option<u64>,
    pub people_p50_ms: Option<u64>,
    pub cloud_p50_ms: Option<u64>,
    /// Runs whose time for this step lies far above the rest (past Q3 + 3 IQR).
    pub outliers: usize,
}

/// The forecast of one runbook.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forecast {
    pub runbook: String,
    pub rto_ms: u64,
    /// Trusted runs counted, and of which kinds.
    pub runs: usize,
    pub kinds: BTreeMap<Kind, usize>,
    /// `measured`, `modeled`, or `measured and modeled`.
    pub evidence: String,
    pub excluded: Vec<Excluded>,
    /// Runs of an older runbook (another SHA-256), counted only for the steps whose id
    /// and action are still the same.
    pub older_runs: usize,
    /// Steps of this runbook whose history includes older runbooks' runs.
    pub steps_from_older: Vec<String>,
    /// Time from the run's first step to the milestone (else its last step), over the
    /// runs of this very runbook.
    pub duration_n: usize,
    pub duration_p50_ms: Option<u64>,
    pub duration_p90_ms: Option<u64>,
    /// Of the runs simulated over the steps' histories, the share that reach the
    /// milestone within the RTO.
    pub p_meet_rto: Option<f64>,
    pub steps: Vec<StepForecast>,
    /// In words: outliers and why figures are missing.
    pub notes: Vec<String>,
}

/// One step's time in one run, and where it went.
#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    total: u64,
    people: u64,
}

/// Only what the forecast reads of a log line (the rest, outputs and all, is skipped
/// unparsed: a thousand logs are read in a second).
#[derive(serde::Deserialize)]
struct Line {
    #[serde(rename = "type")]
    kind: String,
    time: String,
    step: Option<String>,
    status: Option<StepStatus>,
    duration_ms: Option<u64>,
    detail: Option<String>,
    run_id: Option<String>,
    runbook_id: Option<String>,
    runbook_sha256: Option<String>,
    mode: Option<Mode>,
    cloud: Option<String>,
}

/// What one trusted run contributes.
struct Run {
    kind: Kind,
    current: bool,
    steps: HashMap<String, Sample>,
    duration: Option<u64>,
}

/// The forecast of `runbook` (whose file has SHA-256 `sha256`) from the logs in `logs`,
/// trusted by `trust`; only runs of `kinds` when any are given.
pub fn forecast(
    runbook: &Runbook,
    sha256: &str,
    logs: &Path,
    trust: Option<&AllowedSigners>,
    kinds: &[Kind],
) -> std::io::Result<Forecast> {
    let mut excluded = Vec::new();
    let mut runs: Vec<Run> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(logs) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    paths.sort();
    for path in paths {
        match read_run(runbook, sha256, &path, trust) {
            Ok(None) => {} // another runbook's log
            Ok(Some((id, run))) => {
                if !kinds.is_empty() && !kinds.contains(&run.kind) {
                    continue;
                }
                if !seen.insert(id.clone()) {
                    excluded.push(Excluded { path, why: format!("a copy of run {id}, counted once") });
                    continue;
                }
                runs.push(run);
            }
            Err(why) => excluded.push(Excluded { path, why }),
        }
    }
    Ok(summarize(runbook, runs, excluded))
}

/// One log read as a run of `runbook`: `None` when it is another runbook's; why not when
/// it does not count.
fn read_run(
    runbook: &Runbook,
    sha256: &str,
    path: &Path,
    trust: Option<&AllowedSigners>,
) -> Result<Option<(String, Run)>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot be read: {e}"))?;
    // Another runbook's log, by its genesis, is passed over before it is verified: a
    // folder of many runbooks' logs (`list` forecasts each runbook) verifies each log once.
    let mut first = Vec::new();
    std::io::BufRead::read_until(&mut std::io::BufReader::new(file), b'\n', &mut first)
        .map_err(|e| format!("cannot be read: {e}"))?;
    if serde_json::from_slice::<Line>(&first).ok().and_then(|l| l.runbook_id).is_some_and(|id| id != runbook.id) {
        return Ok(None);
    }
    let sig = std::fs::read_to_string(crate::journal::sig_path(path)).ok();
    let read = |quick: bool| -> Result<crate::journal::verify::Report, String> {
        let file = std::fs::File::open(path).map_err(|e| format!("cannot be read: {e}"))?;
        let r = std::io::BufReader::new(file);
        let v = if quick {
            crate::journal::verify::verify_reader_quick(r, sig.as_deref(), trust)
        } else {
            crate::journal::verify::verify_reader(r, sig.as_deref(), trust)
        };
        v.map_err(|e| format!("cannot be read: {e}"))
    };
    // The last signature stands for the lines before it; a log it finds broken is read
    // again in full, so its first bad line is named as `verify` names it.
    let mut v = read(true)?;
    if v.tampered.is_some() {
        v = read(false)?;
    }
    if let Some(bad) = &v.tampered {
        return Err(format!("does not verify: line {}: {}", bad.line, bad.why));
    }
    if trust.is_none() {
        return Err("no trust root (allowed_signers) to say whose key signed it".into());
    }
    if v.signer.is_none() {
        return Err("not signed: anyone could have written it".into());
    }
    if v.signer_identity.is_none() {
        return Err("signed by a key the trust root does not name".into());
    }
    if !v.sealed {
        return Err("not sealed: the run did not finish".into());
    }
    // Lines a resume adopted were unsigned when written: such a log is not counted
    // rather than read twice over to tell its lines apart.
    if !v.adopted.is_empty() {
        return Err(format!(
            "holds lines a resume adopted ({}): only logs signed throughout count",
            v.adopted.join(", ")
        ));
    }
    let mut kind = None;
    let mut current = false;
    let mut id = String::new();
    let mut steps: HashMap<String, Sample> = HashMap::new();
    let mut waiting: HashMap<String, Timestamp> = HashMap::new();
    let mut actions: HashMap<String, String> = HashMap::new();
    let (mut first, mut milestone_at, mut last_end) = (None::<Timestamp>, None::<Timestamp>, None::<Timestamp>);
    let milestone = runbook.phases.iter().flat_map(|p| &p.steps).find(|s| s.milestone.is_some()).map(|s| &s.id);
    let file = std::fs::File::open(path).map_err(|e| format!("cannot be read: {e}"))?;
    let mut reader = std::io::BufReader::new(file);
    let mut buf = Vec::new();
    // Only what a signature vouched for decides: the lines up to the last checkpoint.
    for i in 0..=v.signed_through {
        buf.clear();
        if std::io::BufRead::read_until(&mut reader, b'\n', &mut buf).map_err(|e| format!("cannot be read: {e}"))? == 0
        {
            break;
        }
        let Ok(line) = serde_json::from_slice::<Line>(&buf) else { continue };
        let Ok(at) = parse_timestamp(&line.time) else { continue };
        let step = line.step;
        match (line.kind.as_str(), step) {
            ("genesis", _) if i == 0 => {
                kind = Some(Kind::of(line.mode.unwrap_or(Mode::Live), line.cloud.as_deref().unwrap_or("aws")));
                current = line.runbook_sha256.as_deref() == Some(sha256);
                id = line.run_id.unwrap_or_default();
            }
            ("step_started", Some(step)) => {
                first = Some(first.map_or(at, |f: Timestamp| f.min(at)));
                if let Some(d) = line.detail {
                    actions.insert(step, d.split_whitespace().next().unwrap_or_default().to_string());
                }
            }
            ("step_waiting", Some(step)) => {
                waiting.entry(step).or_insert(at);
            }
            ("step_finished", Some(step)) => {
                if let Some(w) = waiting.remove(&step) {
                    steps.entry(step.clone()).or_default().people += crate::clock::millis_between(w, at).max(0) as u64;
                }
                let done = line.status == Some(StepStatus::Done);
                if done {
                    steps.entry(step.clone()).or_default().total = line.duration_ms.unwrap_or(0);
                } else {
                    steps.remove(&step);
                }
                last_end = Some(last_end.map_or(at, |l: Timestamp| l.max(at)));
                if Some(&step) == milestone && done {
                    milestone_at = Some(at);
                }
            }
            // An answer, an approval, a tick ends a wait: the person's time is from the
            // question to it.
            (k, Some(step)) if !matches!(k, "step_output" | "step_progress" | "output_aside" | "process_started") => {
                if let Some(w) = waiting.remove(&step) {
                    steps.entry(step).or_default().people += crate::clock::millis_between(w, at).max(0) as u64;
                }
            }
            _ => {}
        }
    }
    let Some(kind) = kind else { return Err("has no genesis line".into()) };
    // An older runbook's step counts only where it is still the same step: the same id,
    // and for an action the same action.
    if !current {
        let here: HashMap<&str, &StepKind> =
            runbook.phases.iter().flat_map(|p| &p.steps).map(|s| (s.id.as_str(), &s.kind)).collect();
        steps.retain(|id, _| match here.get(id.as_str()) {
            Some(StepKind::Action { action, .. }) => actions.get(id).is_some_and(|a| a == action.name),
            Some(_) => true,
            None => false,
        });
    }
    let duration = match (first, milestone_at.or(last_end)) {
        (Some(f), Some(e)) => Some(crate::clock::millis_between(f, e).max(0) as u64),
        _ => None,
    };
    for s in steps.values_mut() {
        s.people = s.people.min(s.total);
    }
    Ok(Some((id, Run { kind, current, steps, duration })))
}

/// The `q`-quantile of sorted values, by nearest rank.
pub fn quantile(sorted: &[u64], q: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

fn summarize(runbook: &Runbook, runs: Vec<Run>, excluded: Vec<Excluded>) -> Forecast {
    let rto_ms = runbook.objectives.rto.secs() * 1000;
    let mut kinds: BTreeMap<Kind, usize> = BTreeMap::new();
    for r in &runs {
        *kinds.entry(r.kind).or_default() += 1;
    }
    let evidence = {
        let e: std::collections::BTreeSet<&str> = kinds.keys().map(|k| k.evidence()).collect();
        e.into_iter().collect::<Vec<_>>().join(" and ")
    };
    let older_runs = runs.iter().filter(|r| !r.current).count();
    let enough = runs.len() >= MIN_RUNS;
    let mut notes = Vec::new();
    let mut steps = Vec::new();
    let mut histories: HashMap<&str, Vec<u64>> = HashMap::new();
    let mut steps_from_older = Vec::new();
    for s in runbook.phases.iter().flat_map(|p| &p.steps) {
        let samples: Vec<Sample> = runs.iter().filter_map(|r| r.steps.get(&s.id).copied()).collect();
        if runs.iter().any(|r| !r.current && r.steps.contains_key(&s.id)) {
            steps_from_older.push(s.id.clone());
        }
        let mut totals: Vec<u64> = samples.iter().map(|x| x.total).collect();
        totals.sort_unstable();
        // A manual step or an approval is people's time throughout.
        let by_people = matches!(s.kind, StepKind::Manual { .. } | StepKind::Approval(_));
        let mut people: Vec<u64> = samples.iter().map(|x| if by_people { x.total } else { x.people }).collect();
        people.sort_unstable();
        let rest: Vec<u64> = {
            let mut v: Vec<u64> = samples.iter().map(|x| x.total - x.people).collect();
            v.sort_unstable();
            v
        };
        let (machine, cloud) = match s.kind {
            StepKind::Run { .. } => (quantile(&rest, 0.5), Some(0)),
            StepKind::Action { .. } | StepKind::Wait(_) => (Some(0), quantile(&rest, 0.5)),
            StepKind::Manual { .. } | StepKind::Approval(_) => (Some(0), Some(0)),
        };
        let outliers = outliers(&totals);
        if outliers > 0
            && let (Some(p90), Some(max)) = (quantile(&totals, 0.9), totals.last())
        {
            notes.push(format!(
                "`{}`: {outliers} of {} runs far slower than the rest (the slowest {}, p90 {}); counted, and p50 barely moves",
                s.id,
                totals.len(),
                crate::format::human_ms(*max),
                crate::format::human_ms(p90)
            ));
        }
        let shown = enough && !totals.is_empty();
        steps.push(StepForecast {
            id: s.id.clone(),
            n: totals.len(),
            p50_ms: shown.then(|| quantile(&totals, 0.5)).flatten(),
            p90_ms: shown.then(|| quantile(&totals, 0.9)).flatten(),
            machine_p50_ms: shown.then_some(machine).flatten(),
            people_p50_ms: shown.then(|| quantile(&people, 0.5)).flatten(),
            cloud_p50_ms: shown.then_some(cloud).flatten(),
            outliers,
        });
        histories.insert(s.id.as_str(), totals);
    }
    let mut durations: Vec<u64> = runs.iter().filter(|r| r.current).filter_map(|r| r.duration).collect();
    durations.sort_unstable();
    let duration_n = durations.len();
    let whole = duration_n >= MIN_RUNS;
    if !enough {
        notes.push(format!("{} trusted runs: figures are given from {MIN_RUNS} on", runs.len()));
    } else if !whole {
        notes.push(format!(
            "{duration_n} runs of this very runbook: the whole run's p50/p90 are given from {MIN_RUNS} on (the chance of meeting the RTO uses every run's steps)"
        ));
    }
    let p_meet_rto = enough.then(|| simulate(runbook, &histories, rto_ms));
    Forecast {
        runbook: runbook.id.clone(),
        rto_ms,
        runs: runs.len(),
        kinds,
        evidence,
        excluded,
        older_runs,
        steps_from_older,
        duration_n,
        duration_p50_ms: whole.then(|| quantile(&durations, 0.5)).flatten(),
        duration_p90_ms: whole.then(|| quantile(&durations, 0.9)).flatten(),
        p_meet_rto,
        steps,
        notes,
    }
}

/// How many values lie past Q3 + 3 IQR (and past twice the median: a spread of a few
/// milliseconds is no outlier).
fn outliers(sorted: &[u64]) -> usize {
    let (Some(q1), Some(q2), Some(q3)) = (quantile(sorted, 0.25), quantile(sorted, 0.5), quantile(sorted, 0.75)) else {
        return 0;
    };
    if sorted.len() < 4 {
        return 0;
    }
    let fence = (q3 + 3 * (q3 - q1)).max(2 * q2);
    sorted.iter().filter(|&&v| v > fence).count()
}

/// The share of simulated runs that reach the milestone within the RTO: phases in
/// order, a phase's steps as their `needs` allow, each step's time drawn from its own
/// history (a step with none takes none). Seeded, so the same history gives the same
/// figure.
fn simulate(runbook: &Runbook, histories: &HashMap<&str, Vec<u64>>, rto_ms: u64) -> f64 {
    let mut rng = fastrand::Rng::with_seed(0x6c69_6665_626f_6174);
    let milestone = runbook.phases.iter().flat_map(|p| &p.steps).find(|s| s.milestone.is_some()).map(|s| &s.id);
    let mut met = 0usize;
    let mut ends: HashMap<&str, u64> = HashMap::new();
    for _ in 0..SIMULATED {
        ends.clear();
        let mut phase_start = 0u64;
        let mut reached = None;
        for p in &runbook.phases {
            let mut phase_end = phase_start;
            for s in &p.steps {
                let start = s.needs.iter().filter_map(|n| ends.get(n.as_str())).copied().max().unwrap_or(phase_start);
                let took = match histories.get(s.id.as_str()) {
                    Some(h) if !h.is_empty() => h[rng.usize(..h.len())],
                    _ => 0,
                };
                let end = start.max(phase_start) + took;
                ends.insert(s.id.as_str(), end);
                phase_end = phase_end.max(end);
                if Some(&s.id) == milestone {
                    reached = Some(end);
                }
            }
            phase_start = phase_end;
        }
        if reached.unwrap_or(phase_start) <= rto_ms {
            met += 1;
        }
    }
    met as f64 / SIMULATED as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_by_nearest_rank_and_one_day_long_step_is_an_outlier_that_barely_moves_p50() {
        let mut v: Vec<u64> = (1..=10).map(|i| i * 1000).collect();
        assert_eq!(quantile(&v, 0.5), Some(5000));
        assert_eq!(quantile(&v, 0.9), Some(9000));
        v.push(86_400_000);
        v.sort_unstable();
        assert_eq!(quantile(&v, 0.5), Some(6000), "one rank, not the mean's 2.4 hours");
        assert_eq!(outliers(&v), 1);
        assert_eq!(outliers(&[5, 5, 5, 6, 6]), 0, "a few milliseconds of spread is no outlier");
    }
}
