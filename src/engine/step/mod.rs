//! One step, start to finish: its condition, its kind, timeouts, retries with backoff,
//! and what happens when it fails.

mod action;
mod approval;
mod command;
mod gate;

use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use serde_json::{Map, Value as Json};

use super::aside::{Aside, Route};
use super::scope::Scope;
use super::{Command, Ctx, Fatal, shell};
use crate::cloud::{self, ActionCall, ActionCtx, ActionError, Progress};
use crate::event::{Event, StepError, StepStatus, Stream, Verdict, Waiting};
use crate::runbook::action_spec::ActionSpec;
use crate::runbook::action_spec::Effect;
use crate::runbook::model::{Approval, Step, StepKind, WaitKind};
use crate::runbook::raw::OnFailure;
use crate::runbook::time::{Timestamp, format_timestamp};
use action::*;
use approval::*;
use gate::*;

pub enum StepEnd {
    Finished {
        status: StepStatus,
        abort_run: bool,
    },
    /// The operator left (or no one can answer): the run stops, to be resumed.
    Detached(String),
    Fatal(Fatal),
}

/// How one attempt ended.
enum Attempt {
    Done {
        outputs: Map<String, Json>,
        recovery_point: Option<Timestamp>,
    },
    /// A rehearsed command nobody reported on: done, and said to be not executed, never
    /// put down as anyone's confirmation.
    Rehearsed,
    Skipped(String),
    Failed {
        error: StepError,
        retryable: bool,
        outputs: Map<String, Json>,
    },
    Detached(String),
}

fn failed(message: impl Into<String>) -> Attempt {
    Attempt::Failed {
        error: StepError { message: message.into(), code: None, hint: None },
        retryable: false,
        outputs: Map::new(),
    }
}

fn timed_out(step: &Step, what: &str) -> Attempt {
    Attempt::Failed {
        error: StepError {
            message: format!("{what} did not finish within {}", step.timeout.unwrap_or_default()),
            code: Some("Timeout".into()),
            hint: Some("raise `timeout` if this is expected to take longer".into()),
        },
        retryable: true,
        outputs: Map::new(),
    }
}

fn from_action(e: ActionError) -> Attempt {
    let retryable = e.retryable;
    let outputs = e.outputs.clone().unwrap_or_default();
    Attempt::Failed { error: StepError { message: e.to_string(), code: e.code, hint: e.hint }, retryable, outputs }
}

impl Ctx {
    fn scope_render(&self, text: &str) -> Result<String, String> {
        let outputs = self.outputs.lock().unwrap();
        Scope { spec: &self.spec, outputs: &outputs, poll: None }.render(text)
    }

    async fn answer(&self, step: &Step, waiting: Waiting, prompt: Option<String>) -> Result<Command, Fatal> {
        self.answer_at(step, waiting, prompt).await.map(|(c, _)| c)
    }

    /// The answer, and the `seq` of the line that asked for it.
    async fn answer_at(&self, step: &Step, waiting: Waiting, prompt: Option<String>) -> Result<(Command, u64), Fatal> {
        let rx = self.register(&step.id);
        let asked = self.emit(Event::StepWaiting { step: step.id.clone(), waiting_for: waiting, prompt })?;
        // A person reads and types at real speed, at a keyboard or approving from another
        // terminal (`--await-approvals`): a rehearsal's fast clock must not turn a
        // minute's thought into an hour of RTO. An answers file answers at once.
        let _real = self.clock.real_time();
        // The engine holds the sender; a dropped one means the run is ending.
        let cmd = rx.await.unwrap_or(Command::Detach { by: String::new(), reason: "the run is ending".into() });
        Ok((cmd, asked.seq))
    }

    fn record(
        &self,
        step: &Step,
        verdict: Verdict,
        by: &str,
        role: Option<String>,
        reason: Option<String>,
    ) -> Result<(), Fatal> {
        self.record_signed(step, verdict, by, role, reason, None)
    }

    fn record_signed(
        &self,
        step: &Step,
        verdict: Verdict,
        by: &str,
        role: Option<String>,
        reason: Option<String>,
        signed: Option<crate::event::SignedWord>,
    ) -> Result<(), Fatal> {
        let event = Event::Answer { step: Some(step.id.clone()), verdict, by: by.to_string(), role, reason, signed };
        self.emit(event).map(|_| ())
    }
}

pub(crate) async fn run(ctx: Arc<Ctx>, step: Step) -> (String, StepEnd) {
    use tracing::Instrument;
    let id = step.id.clone();
    // The step's span holds every SDK request it makes: the diagnostics say which step
    // a slow call or a retry belonged to, and how long the step took.
    let span = tracing::info_span!("step", id = %id, kind = step.kind.name());
    let end = match run_inner(&ctx, &step).instrument(span).await {
        Ok(end) => end,
        Err(f) => StepEnd::Fatal(f),
    };
    (id, end)
}

async fn run_inner(ctx: &Ctx, step: &Step) -> Result<StepEnd, Fatal> {
    let started = ctx.clock.now();
    // An interrupted step is not re-run blindly: someone decides.
    if ctx.interrupted.contains(&step.id) || ctx.lost.contains(&step.id) {
        let prompt = if ctx.lost.contains(&step.id) {
            format!(
                "`{}` gave outputs holding a secret, which the log keeps only redacted; the steps after it need the real ones. Run it again?",
                step.id
            )
        } else {
            format!("`{}` had started when the run stopped; it may have done part of its work. Run it again?", step.id)
        };
        match ctx.answer(step, Waiting::Rerun, Some(prompt)).await? {
            Command::Rerun { by, .. } => ctx.record(step, Verdict::Rerun, &by, None, None)?,
            Command::Skip { by, reason, .. } => {
                ctx.record(step, Verdict::Skip, &by, None, Some(reason.clone()))?;
                return finish(ctx, step, started, Attempt::Skipped(reason), false);
            }
            Command::Fail { by, reason, .. } => {
                ctx.record(step, Verdict::Fail, &by, None, Some(reason.clone()))?;
                return finish(ctx, step, started, failed(reason), true);
            }
            Command::Detach { reason, .. } => return Ok(StepEnd::Detached(reason)),
            other => return finish(ctx, step, started, failed(format!("unexpected answer {other:?}")), true),
        }
    }
    if let Some(reason) = ctx.spec.skips.get(&step.id) {
        ctx.record(step, Verdict::Skip, &ctx.spec.operator, None, Some(reason.clone()))?;
        return finish(ctx, step, started, Attempt::Skipped(reason.clone()), false);
    }
    if let Some(when) = &step.when {
        let verdict = {
            let outputs = ctx.outputs.lock().unwrap();
            Scope { spec: &ctx.spec, outputs: &outputs, poll: None }.condition(when)
        };
        match verdict {
            Ok(false) => {
                return finish(ctx, step, started, Attempt::Skipped(crate::event::CONDITION_FALSE.into()), false);
            }
            Ok(true) => {}
            Err(e) => return finish(ctx, step, started, failed(format!("`when` cannot be evaluated: {e}")), false),
        }
    }
    // A denied approval or a missed milestone is never continued past: only a new
    // attempt (a new approval from someone entitled to give it) or an abort.
    let must_hold = matches!(step.kind, StepKind::Approval(_)) || step.milestone.is_some();
    let policy = match step.on_failure {
        Some(OnFailure::Continue) if must_hold => OnFailure::Ask,
        Some(p) => p,
        None if ctx.spec.interactive => OnFailure::Ask,
        None => OnFailure::Abort,
    };
    let mut attempt_base = 0;
    loop {
        let (result, made) = attempts(ctx, step, attempt_base).await?;
        let Attempt::Failed { error, .. } = &result else {
            if let Attempt::Detached(reason) = result {
                return Ok(StepEnd::Detached(reason));
            }
            return finish(ctx, step, started, result, false);
        };
        match policy {
            OnFailure::Continue => return finish(ctx, step, started, result, false),
            OnFailure::Abort => return finish(ctx, step, started, result, true),
            OnFailure::Ask if !ctx.spec.interactive => return finish(ctx, step, started, result, true),
            OnFailure::Ask if must_hold => {
                let what = if matches!(step.kind, StepKind::Approval(_)) { "approval" } else { "milestone" };
                let prompt = format!(
                    "{} — the run cannot go on without this {what}: retry{} or abort the run?",
                    error.message,
                    if what == "approval" { " (ask someone entitled to approve)" } else { "" }
                );
                loop {
                    match ctx.answer(step, Waiting::RetryOrAbort, Some(prompt.clone())).await? {
                        Command::Retry { by, .. } => {
                            ctx.record(step, Verdict::Retry, &by, None, None)?;
                            attempt_base += made;
                            break;
                        }
                        Command::Detach { reason, .. } => return Ok(StepEnd::Detached(reason)),
                        Command::Fail { by, reason, .. } => {
                            ctx.record(step, Verdict::Fail, &by, None, Some(reason))?;
                            return finish(ctx, step, started, result, true);
                        }
                        other => {
                            ctx.emit(Event::Warning {
                                code: "cannot_continue".into(),
                                message: format!(
                                    "`{}` is a {what} the run cannot go on without; {} was refused: retry or abort",
                                    step.id,
                                    command_word(&other)
                                ),
                            })?;
                        }
                    }
                }
            }
            OnFailure::Ask => {
                let prompt = format!("{} — retry, continue without it, or abort the run?", error.message);
                match ctx.answer(step, Waiting::Decision, Some(prompt)).await? {
                    Command::Retry { by, .. } => {
                        ctx.record(step, Verdict::Retry, &by, None, None)?;
                        attempt_base += made;
                    }
                    Command::Continue { by, .. } => {
                        ctx.record(step, Verdict::Continue, &by, None, None)?;
                        return finish(ctx, step, started, result, false);
                    }
                    Command::Skip { by, reason, .. } => {
                        ctx.record(step, Verdict::Skip, &by, None, Some(reason.clone()))?;
                        return finish(ctx, step, started, Attempt::Skipped(reason), false);
                    }
                    Command::Detach { reason, .. } => return Ok(StepEnd::Detached(reason)),
                    _ => return finish(ctx, step, started, result, true),
                }
            }
        }
    }
}

/// Failures that damage the data itself: data from after they began is suspect.
fn damages_data(ctx: &Ctx) -> bool {
    use crate::runbook::raw::Scenario;
    matches!(
        ctx.spec.runbook.scenario,
        Scenario::Ransomware | Scenario::Corruption | Scenario::Deletion | Scenario::AccountCompromise
    )
}

/// The word for a command in a refusal ("continue", "skip").
fn command_word(c: &Command) -> &'static str {
    match c {
        Command::Continue { .. } => "continuing without it",
        Command::Skip { .. } => "skipping it",
        Command::Confirm { .. } => "confirming it",
        _ => "that answer",
    }
}

/// Records the end of a step, its outputs for later steps, and its milestone.
fn finish(ctx: &Ctx, step: &Step, started: Timestamp, result: Attempt, abort_run: bool) -> Result<StepEnd, Fatal> {
    let duration_ms = ctx.clock.now().duration_since(started).as_millis().max(0) as u64;
    let (status, reason, outputs, recovery_point, error) = match result {
        Attempt::Done { outputs, recovery_point } => (StepStatus::Done, None, outputs, recovery_point, None),
        Attempt::Rehearsed => (
            StepStatus::Done,
            Some("not executed (rehearsal): nobody reported how it went".into()),
            Map::new(),
            None,
            None,
        ),
        Attempt::Skipped(reason) => (StepStatus::Skipped, Some(reason), Map::new(), None, None),
        Attempt::Failed { error, outputs, .. } => {
            (StepStatus::Failed, Some(error.message.clone()), outputs, None, Some(error))
        }
        Attempt::Detached(reason) => return Ok(StepEnd::Detached(reason)),
    };
    if status == StepStatus::Done {
        ctx.outputs.lock().unwrap().insert(step.id.clone(), outputs.clone());
    }
    // Data from after the incident began may hold what the incident did (the ransomware's
    // writes, the bad deploy's rows): an RPO of 0 there is no good news. Said, not hidden.
    if let Some(rp) = recovery_point.filter(|rp| *rp > ctx.spec.incident_started_at && damages_data(ctx)) {
        ctx.emit(Event::Warning {
            code: "recovery_point_after_incident".into(),
            message: format!(
                "`{}` brought back data from {}, after the incident began at {}: it may include what the incident did",
                step.id,
                crate::runbook::time::format_timestamp_ms(rp),
                crate::runbook::time::format_timestamp_ms(ctx.spec.incident_started_at)
            ),
        })?;
    }
    ctx.emit(Event::StepFinished {
        step: step.id.clone(),
        status,
        reason,
        outputs,
        duration_ms,
        // To the millisecond, as the warning compares it: a recovery point 65 ms after
        // the incident is after it, which a log in whole seconds would hide.
        recovery_point: recovery_point.map(crate::runbook::time::format_timestamp_ms),
        error,
    })?;
    if status == StepStatus::Done
        && let Some(m) = &step.milestone
    {
        ctx.emit(Event::Milestone { name: m.clone() })?;
    }
    Ok(StepEnd::Finished { status, abort_run: abort_run && status == StepStatus::Failed })
}

/// Backoff before retry `n` (1-based): 2s, 4s, 8s … capped at 2 min, ±25% jitter.
fn backoff(n: u32) -> StdDuration {
    let base = 2u64.saturating_pow(n.min(16)).min(120) as f64;
    StdDuration::from_secs_f64(base * (0.75 + fastrand::f64() * 0.5))
}

/// The step's kind, tried up to `retries + 1` times; and how many tries were made (a
/// retry the operator asks for goes on numbering from there).
async fn attempts(ctx: &Ctx, step: &Step, base: u32) -> Result<(Attempt, u32), Fatal> {
    let tries = match step.kind {
        StepKind::Action { .. } | StepKind::Run { .. } | StepKind::Wait(_) => step.retries + 1,
        _ => 1,
    };
    let mut last = failed("not attempted");
    for n in 1..=tries {
        let attempt = base + n;
        last = once(ctx, step, attempt).await?;
        if let Attempt::Done { outputs, .. } = &last
            && let Some(error) = gate_failure(ctx, step, outputs)
        {
            // A gate is a fact about the data, not a passing fault: no retry.
            let outputs = outputs.clone();
            last = Attempt::Failed { error, retryable: false, outputs };
        }
        let retry = match &last {
            Attempt::Failed { retryable, .. } => *retryable && n < tries,
            _ => false,
        };
        if !retry {
            return Ok((last, n));
        }
        let Attempt::Failed { error, .. } = &last else { unreachable!() };
        let wait = backoff(n);
        ctx.emit(Event::StepRetry {
            step: step.id.clone(),
            attempt: attempt + 1,
            error: error.message.clone(),
            backoff_ms: wait.as_millis() as u64,
        })?;
        ctx.clock.sleep(wait).await;
    }
    Ok((last, tries))
}

async fn once(ctx: &Ctx, step: &Step, attempt: u32) -> Result<Attempt, Fatal> {
    let limit = step.timeout.map(|t| StdDuration::from_secs(t.secs()));
    match &step.kind {
        StepKind::Manual { instructions, .. } => {
            ctx.emit(Event::StepStarted { step: step.id.clone(), attempt, detail: None })?;
            let prompt = ctx.scope_render(instructions).unwrap_or_else(|_| instructions.clone());
            let said = ctx.answer(step, Waiting::Confirm, Some(prompt)).await?;
            confirmed(ctx, step, said, "failed by", "a manual step")
        }
        StepKind::Approval(a) => {
            ctx.emit(Event::StepStarted { step: step.id.clone(), attempt, detail: Some(approval_needs(a)) })?;
            approve(ctx, step, a).await
        }
        StepKind::Action { action, with } => act(ctx, step, attempt, action, with, limit).await,
        StepKind::Run { command, expect } => command::run(ctx, step, attempt, command, expect, limit).await,
        StepKind::Wait(WaitKind::For(d)) => {
            ctx.emit(Event::StepStarted { step: step.id.clone(), attempt, detail: Some(format!("waiting {d}")) })?;
            ctx.clock.sleep(StdDuration::from_secs(d.secs())).await;
            Ok(Attempt::Done { outputs: Map::new(), recovery_point: None })
        }
        StepKind::Wait(WaitKind::Poll { action, with, until, every }) => {
            ctx.emit(Event::StepStarted {
                step: step.id.clone(),
                attempt,
                detail: Some(format!("polling {} every {every}", action.name)),
            })?;
            let poll = async {
                loop {
                    let args = match resolve(ctx, with, None) {
                        Ok(a) => a,
                        Err(e) => return Ok(failed(format!("arguments cannot be resolved: {e}"))),
                    };
                    match call_action(ctx, step, action, args, None, false, None).await? {
                        Some(Attempt::Done { outputs, recovery_point }) => {
                            let met = {
                                let steps = ctx.outputs.lock().unwrap();
                                Scope { spec: &ctx.spec, outputs: &steps, poll: Some(&outputs) }.condition(until)
                            };
                            match met {
                                Ok(true) => return Ok(Attempt::Done { outputs, recovery_point }),
                                Ok(false) => {}
                                Err(e) => return Ok(failed(format!("`until` cannot be evaluated: {e}"))),
                            }
                        }
                        Some(other) => return Ok(other),
                        None => {}
                    }
                    ctx.clock.sleep(StdDuration::from_secs(every.secs().max(1))).await;
                }
            };
            match limit {
                Some(l) => Ok(crate::clock::timeout(ctx.clock.as_ref(), l, poll)
                    .await
                    .transpose()?
                    .unwrap_or_else(|| timed_out(step, "the condition"))),
                None => poll.await,
            }
        }
    }
}

/// A person's word on a step that is confirmed, skipped or failed, put on record.
fn confirmed(ctx: &Ctx, step: &Step, said: Command, failed_by: &str, what: &str) -> Result<Attempt, Fatal> {
    Ok(match said {
        Command::Confirm { by, .. } => {
            ctx.record(step, Verdict::Confirm, &by, None, None)?;
            Attempt::Done { outputs: Map::new(), recovery_point: None }
        }
        Command::Skip { by, reason, .. } => {
            ctx.record(step, Verdict::Skip, &by, None, Some(reason.clone()))?;
            Attempt::Skipped(reason)
        }
        Command::Fail { by, reason, .. } => {
            ctx.record(step, Verdict::Fail, &by, None, Some(reason.clone()))?;
            failed(format!("{failed_by} {by}: {reason}"))
        }
        Command::Detach { reason, .. } => Attempt::Detached(reason),
        Command::NoAnswer { .. } if !ctx.spec.execute_commands => Attempt::Rehearsed,
        other => failed(format!("{what} cannot take {other:?}")),
    })
}
