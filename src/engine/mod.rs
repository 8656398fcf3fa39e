//! Runs a runbook: phases in order, `needs` as a DAG inside a phase, every step kind,
//! timeouts, retries, cancellation. It emits events and takes commands; it never prints
//! and never knows who watches.

mod aside;
mod command;
mod prior;
pub mod scope;
pub mod shell;
pub mod sink;
mod step;
mod tree;

pub use command::Command;
pub use prior::Prior;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use serde_json::{Map, Value as Json};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use crate::clock::Clock;
use crate::cloud::Cloud;
use crate::event::{Event, Genesis, Mode, Record, RunStatus, StepStatus, Verdict};
use crate::objectives::{Standing, Tracker};
use crate::runbook::model::{Catalog, Dataset, Runbook, StepKind};
use crate::runbook::raw::Classification;
use crate::runbook::time::Timestamp;
use sink::Sink;

/// Everything fixed about a run before it starts.
pub struct RunSpec {
    pub runbook: Runbook,
    pub catalog: Catalog,
    pub dataset: Dataset,
    pub mode: Mode,
    /// Someone can answer (the TUI); headless runs never wait on a keyboard.
    pub interactive: bool,
    /// False in a rehearsal: `run:` commands are shown, not executed.
    pub execute_commands: bool,
    /// Where `run:` commands run (the runbook's folder).
    pub workdir: PathBuf,
    pub run_id: String,
    pub operator: String,
    pub inputs: BTreeMap<String, String>,
    pub incident_started_at: Timestamp,
    /// Steps that act (`action`, `run`, `wait`) skipped in advance, with the reason given
    /// (an answers file's `step: { skip: … }`): recorded like any skip, never run.
    pub skips: BTreeMap<String, String>,
    /// Who may say yes with a signature (empty: only typed approvals exist).
    pub authority: Authority,
    /// Each step's p90 from the runbook's trusted history: a step past it is said once.
    pub step_p90_ms: BTreeMap<String, u64>,
}

/// What a signed approval is checked against: the trust root (whose key), the roles
/// file (in what role), the run's own key (which never approves), the runbook file a
/// standing approval must name, and the log a live approval's signer saw.
#[derive(Debug, Clone, Default)]
pub struct Authority {
    pub trust: Option<crate::journal::trust::AllowedSigners>,
    pub roles: Option<crate::runbook::model::Roles>,
    /// `ssh-ed25519 AAAA…` of the key that signs this run's log.
    pub run_key: Option<String>,
    pub runbook_sha256: String,
    pub log: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: RunStatus,
    pub reason: Option<String>,
    pub objectives: Standing,
    /// The run stopped without finishing (detached): the log can be resumed.
    pub detached: bool,
}

/// State shared by the scheduler and the step tasks.
pub(crate) struct Ctx {
    pub spec: Arc<RunSpec>,
    pub clock: Arc<dyn Clock>,
    pub cloud: Cloud,
    pub sink: Sink,
    pub outputs: Mutex<HashMap<String, Map<String, Json>>>,
    waiters: Mutex<HashMap<String, oneshot::Sender<Command>>>,
    /// Signed words that came while their step was between two asks (two approvers who
    /// sign at once: the second arrives while the first is being recorded). Each is
    /// handed to the step when it next asks, never dropped.
    held: Mutex<HashMap<String, std::collections::VecDeque<Command>>>,
    tracker: Mutex<Tracker>,
    pub interrupted: HashSet<String>,
    /// Steps run again on a resume because the log holds their outputs only redacted.
    pub lost: std::collections::BTreeSet<String>,
    /// Everyone who has held the run, the current operator last: four eyes means none
    /// of them approves.
    pub operators: Mutex<Vec<String>>,
    /// The plan each step's operator confirmed (a manifest's digest, and the Batch job
    /// it made), as the arguments that hold the step's every attempt to it.
    pub confirmed_plans: Mutex<HashMap<String, serde_json::Map<String, serde_json::Value>>>,
    /// The outputs of the dry run each step's operator confirmed (the preview), which
    /// the step's first attempt carries out as they stand.
    pub previews: Mutex<HashMap<String, Map<String, Json>>>,
}

/// The run cannot go on: the journal failed (nothing may happen unrecorded).
#[derive(Debug, Clone)]
pub struct Fatal(pub String);

impl Ctx {
    pub fn emit(&self, event: Event) -> Result<Record, Fatal> {
        let r = self.sink.emit(self.clock.now(), event).map_err(Fatal)?;
        self.tracker.lock().unwrap().observe(&r);
        Ok(r)
    }

    /// Waits for the operator's word on a step. The waiter is registered before the
    /// caller announces it, so an answer can never arrive too early.
    pub fn register(&self, step: &str) -> oneshot::Receiver<Command> {
        let (tx, rx) = oneshot::channel();
        let early = self.held.lock().unwrap().get_mut(step).and_then(|q| q.pop_front());
        match early {
            Some(cmd) => {
                let _ = tx.send(cmd);
            }
            None => {
                self.waiters.lock().unwrap().insert(step.to_string(), tx);
            }
        }
        rx
    }
}

pub struct Engine {
    ctx: Arc<Ctx>,
    commands: mpsc::UnboundedReceiver<Command>,
    prior: Prior,
}

/// How often budgets and the projection are checked, in the run's clock.
const TICK: StdDuration = StdDuration::from_secs(15);

impl Engine {
    pub fn new(
        spec: RunSpec,
        clock: Arc<dyn Clock>,
        cloud: impl Into<Cloud>,
        sink: Sink,
        prior: Prior,
    ) -> (Engine, mpsc::UnboundedSender<Command>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut tracker = Tracker::new(&spec.runbook, spec.incident_started_at);
        tracker.step_p90_ms = spec.step_p90_ms.clone();
        for r in &prior.vouched {
            tracker.observe(r);
        }
        // Who held the run before it was resumed, from the log.
        let mut operators = Vec::new();
        for r in &prior.vouched {
            match &r.event {
                Event::Genesis(g) => operators.push(g.operator.clone()),
                Event::HandOff { to, .. } => operators.push(to.clone()),
                Event::Resumed { by, .. } => operators.push(by.clone()),
                _ => {}
            }
        }
        operators.push(spec.operator.clone());
        let mut outputs = HashMap::new();
        for (step, (status, outs)) in &prior.finished {
            if *status == StepStatus::Done {
                outputs.insert(step.clone(), outs.clone());
            }
        }
        let ctx = Ctx {
            interrupted: prior.interrupted.clone(),
            lost: prior.lost.clone(),
            spec: Arc::new(spec),
            clock,
            cloud: cloud.into(),
            sink,
            outputs: Mutex::new(outputs),
            waiters: Mutex::new(HashMap::new()),
            held: Mutex::new(HashMap::new()),
            tracker: Mutex::new(tracker),
            operators: Mutex::new(operators),
            confirmed_plans: Mutex::new(HashMap::new()),
            previews: Mutex::new(HashMap::new()),
        };
        (Engine { ctx: Arc::new(ctx), commands: rx, prior }, tx)
    }

    pub fn genesis(
        spec: &RunSpec,
        runbook_sha256: String,
        answers_sha256: Option<String>,
        signer: Option<String>,
        cloud: &str,
        speed: u32,
        caller: Option<crate::event::Caller>,
    ) -> Event {
        let secret: HashSet<&str> = spec.runbook.inputs.iter().filter(|i| i.secret).map(|i| i.name.as_str()).collect();
        let inputs = spec
            .inputs
            .iter()
            .map(|(k, v)| {
                (k.clone(), Json::String(if secret.contains(k.as_str()) { sink::REDACTED.into() } else { v.clone() }))
            })
            .collect();
        Event::Genesis(Box::new(Genesis {
            tool_version: env!("CARGO_PKG_VERSION").into(),
            run_id: spec.run_id.clone(),
            runbook_id: spec.runbook.id.clone(),
            runbook_sha256,
            answers_sha256,
            operator: spec.operator.clone(),
            mode: spec.mode,
            signer,
            dataset: spec.dataset.id.clone(),
            incident_started_at: crate::runbook::time::format_timestamp(spec.incident_started_at),
            rto_ms: spec.runbook.objectives.rto.secs() * 1000,
            rpo_ms: spec.runbook.objectives.rpo.secs() * 1000,
            cloud: cloud.into(),
            clock_speed: speed,
            inputs,
            caller,
            provenance: Default::default(),
        }))
    }

    /// Runs to the end (or until aborted or detached). `first` is the genesis of a new
    /// run or the `resumed` event of a continued one. The run is work the modeling clock
    /// waits for (`clock::tracked`).
    pub async fn run(self, first: Event) -> Result<Outcome, Fatal> {
        let clock = self.ctx.clock.clone();
        crate::clock::tracked(clock.as_ref(), self.run_tracked(first)).await
    }

    async fn run_tracked(mut self, first: Event) -> Result<Outcome, Fatal> {
        let ctx = self.ctx.clone();
        ctx.emit(first)?;
        // A command the killed run left running is stopped before anything runs again:
        // never a second copy beside the first.
        for (step, pgid, boot, start) in &self.prior.processes {
            if shell::stop_leftover(*pgid, boot, *start).await {
                ctx.emit(Event::Warning {
                    code: "leftover_stopped".into(),
                    message: format!(
                        "`{step}`'s command (process group {pgid}) was still running from before the run stopped; \
                         it was stopped before anything runs again"
                    ),
                })?;
            }
        }
        let mut status: HashMap<String, StepStatus> =
            self.prior.finished.iter().map(|(k, (s, _))| (k.clone(), *s)).collect();
        let mut end: Option<(RunStatus, String)> = None;
        let mut detached = None;
        'phases: for phase in &ctx.spec.runbook.phases {
            if self.prior.finished_phases.contains(&phase.id) {
                continue;
            }
            if !self.prior.started_phases.contains(&phase.id) {
                ctx.emit(Event::PhaseStarted { phase: phase.id.clone(), budget_ms: phase.budget.secs() * 1000 })?;
            }
            let mut set: JoinSet<(String, step::StepEnd)> = JoinSet::new();
            let mut running: HashSet<String> = HashSet::new();
            loop {
                for s in &phase.steps {
                    if status.contains_key(&s.id) || running.contains(&s.id) {
                        continue;
                    }
                    // A failed step that the run continued past counts as finished: the
                    // runbook said go on, and a step that needs its outputs says so.
                    if !s.needs.iter().all(|n| status.contains_key(n)) {
                        continue;
                    }
                    running.insert(s.id.clone());
                    set.spawn(crate::clock::inherit(step::run(ctx.clone(), s.clone())));
                }
                if set.is_empty() {
                    break;
                }
                tokio::select! {
                    done = set.join_next() => {
                        let Some(done) = done else { continue };
                        let (id, result) = match done {
                            Ok(pair) => pair,
                            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                            Err(_) => continue,
                        };
                        running.remove(&id);
                        match result {
                            step::StepEnd::Finished { status: s, abort_run } => {
                                status.insert(id.clone(), s);
                                if abort_run {
                                    end = Some((RunStatus::Failed, format!("step `{id}` failed")));
                                    drain(&mut set).await;
                                    break 'phases;
                                }
                            }
                            step::StepEnd::Fatal(f) => return Err(f),
                            step::StepEnd::Detached(reason) => {
                                detached = Some((ctx.spec.operator.clone(), reason));
                                drain(&mut set).await;
                                break 'phases;
                            }
                        }
                    }
                    cmd = self.commands.recv() => match cmd {
                        None | Some(Command::Detach { .. }) => {
                            detached = Some(match cmd {
                                Some(Command::Detach { by, reason }) => (by, reason),
                                _ => (ctx.spec.operator.clone(), "the operator left".into()),
                            });
                            drain(&mut set).await;
                            break 'phases;
                        }
                        Some(Command::Abort { by, reason }) => {
                            ctx.emit(Event::Answer { step: None, verdict: Verdict::Abort, by, role: None, reason: Some(reason.clone()), signed: None })?;
                            end = Some((RunStatus::Aborted, reason));
                            drain(&mut set).await;
                            break 'phases;
                        }
                        Some(Command::Note { by, text }) => {
                            ctx.emit(Event::Note { by, text })?;
                        }
                        Some(Command::HandOff { by, to }) => {
                            let to = to.trim().to_string();
                            if to.is_empty() {
                                ctx.emit(Event::Warning { code: "no_operator".into(), message: "a hand-off needs the new operator's name".into() })?;
                            } else {
                                ctx.operators.lock().unwrap_or_else(|e| e.into_inner()).push(to.clone());
                                ctx.emit(Event::HandOff { from: by, to })?;
                            }
                        }
                        Some(Command::Tick { step, item, ticked, by }) => {
                            let text = ctx.spec.runbook.step(&step).and_then(|s| match &s.kind {
                                StepKind::Manual { checklist, .. } => checklist.get(item).cloned(),
                                _ => None,
                            });
                            match text {
                                Some(text) => { ctx.emit(Event::Checklist { step, item: item as u32, text, ticked, by })?; }
                                None => { ctx.emit(Event::Warning { code: "no_checklist_item".into(), message: format!("step `{step}` has no checklist item {}", item + 1) })?; }
                            }
                        }
                        Some(cmd) => {
                            let step = cmd.step().unwrap_or_default().to_string();
                            let waiter = ctx.waiters.lock().unwrap().remove(&step);
                            let pending = !status.contains_key(&step)
                                && ctx.spec.runbook.step(&step).is_some_and(|s| matches!(s.kind, StepKind::Approval(_)));
                            match waiter {
                                Some(tx) => { let _ = tx.send(cmd); }
                                // A signed word for an approval still under way waits for its next ask.
                                None if pending && matches!(cmd, Command::Signed { .. }) => {
                                    ctx.held.lock().unwrap().entry(step).or_default().push_back(cmd);
                                }
                                None => { ctx.emit(Event::Warning { code: "no_waiting_step".into(), message: format!("step `{step}` is not waiting for an answer") })?; }
                            }
                        }
                    },
                    _ = ctx.clock.sleep(TICK) => {
                        let warnings = ctx.tracker.lock().unwrap().warnings(ctx.clock.now());
                        for w in warnings {
                            ctx.emit(w)?;
                        }
                    }
                }
            }
            let failed = phase.steps.iter().any(|s| status.get(&s.id) == Some(&StepStatus::Failed));
            let elapsed_ms = ctx
                .tracker
                .lock()
                .unwrap()
                .phases
                .iter()
                .find(|p| p.id == phase.id)
                .map_or(0, |p| p.elapsed_ms(ctx.clock.now()));
            ctx.emit(Event::PhaseFinished {
                phase: phase.id.clone(),
                status: if failed { StepStatus::Failed } else { StepStatus::Done },
                elapsed_ms,
                budget_ms: phase.budget.secs() * 1000,
            })?;
        }
        if let Some((by, reason)) = detached {
            // Why the run stopped is on record, signed: a resume starts from a known end.
            ctx.emit(Event::Detached { by, reason: reason.clone() })?;
            ctx.sink.checkpoint(ctx.clock.now()).map_err(Fatal)?;
            let objectives = ctx.tracker.lock().unwrap().status(ctx.clock.now());
            return Ok(Outcome { status: RunStatus::Failed, reason: Some(reason), objectives, detached: true });
        }
        let (status, reason) = end.unwrap_or_else(|| self.verdict(&status));
        let s = {
            let mut t = ctx.tracker.lock().unwrap();
            t.conclude(status == RunStatus::Succeeded);
            t.status(ctx.clock.now())
        };
        let mut s_end = s.clone();
        let status = crate::objectives::ending(status, s.rto_met(), s.rpo_met());
        if let Some(by) = &s.late_accepted_by {
            ctx.emit(Event::Warning {
                code: "recovery_point_accepted".into(),
                message: format!("data from after the incident began was brought back; accepted by {by}"),
            })?;
        }
        ctx.emit(Event::RunFinished {
            status,
            reason: reason_opt(&reason),
            rto_ms: s.rto_elapsed_ms,
            rto_met: s.rto_met(),
            rpo_ms: s.achieved_rpo_ms,
            rpo_met: s.rpo_met(),
            service_restored: s.service_restored,
        })?;
        ctx.sink.seal(ctx.clock.now()).map_err(Fatal)?;
        s_end.rto_stopped = true;
        Ok(Outcome { status, reason: reason_opt(&reason), objectives: s_end, detached: false })
    }

    /// Failed steps fail the run; regulated data restored only in part needs a recorded
    /// acceptance of the loss.
    fn verdict(&self, status: &HashMap<String, StepStatus>) -> (RunStatus, String) {
        let steps: Vec<_> = self.ctx.spec.runbook.steps().collect();
        if let Some(f) = steps.iter().find(|s| status.get(&s.id) == Some(&StepStatus::Failed)) {
            return (RunStatus::Failed, format!("step `{}` failed", f.id));
        }
        if self.ctx.spec.dataset.classification == Classification::Regulated {
            for (i, s) in steps.iter().enumerate() {
                let skipped = status.get(&s.id) == Some(&StepStatus::Skipped);
                let accepted = steps[i + 1..].iter().any(|t| {
                    matches!(t.kind, StepKind::Approval { .. }) && status.get(&t.id) == Some(&StepStatus::Done)
                });
                if s.restores_data() && skipped && !accepted {
                    return (
                        RunStatus::Failed,
                        format!(
                            "regulated data: restore step `{}` was skipped and no approval after it accepted the loss",
                            s.id
                        ),
                    );
                }
            }
        }
        (RunStatus::Succeeded, String::new())
    }
}

/// Cancels running steps and waits until each is dropped (its commands killed).
async fn drain(set: &mut JoinSet<(String, step::StepEnd)>) {
    set.abort_all();
    while set.join_next().await.is_some() {}
}

fn reason_opt(r: &str) -> Option<String> {
    (!r.is_empty()).then(|| r.to_string())
}
