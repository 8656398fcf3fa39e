//! Headless runs: answers from a file instead of a keyboard, progress on stderr.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::Duration as StdDuration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc;

use crate::engine::Command;
use crate::event::{Event, Record, Waiting};
use crate::format::human_ms;
use crate::objectives::Tracker;
use crate::runbook::model::{Answer, Answers};
use crate::runbook::time::parse_timestamp;

/// Answers every question the engine asks from the answers file; a question it has no
/// answer for stops the run (to be resumed), never a hang.
///
/// `await_approvals`: an approval the file does not give is waited for that long (real
/// time) in the run's inbox (`lifeboat approve LOG --step …` from another terminal)
/// before the run stops.
pub fn answerer(
    clock: &dyn crate::clock::Clock,
    answers: Option<Answers>,
    answers_path: Option<std::path::PathBuf>,
    operator: String,
    await_approvals: Option<StdDuration>,
    mut rx: mpsc::UnboundedReceiver<Record>,
    tx: mpsc::UnboundedSender<Command>,
) -> tokio::task::JoinHandle<()> {
    // Tracked: the engine waits on this task's answers, and a modeling clock must not
    // race past the time it takes to give one (`clock::tracked`).
    tokio::spawn(crate::clock::tracked(clock, async move {
        let answers = answers.unwrap_or_default();
        let by = answers.operator.clone().unwrap_or(operator);
        let file = answers_path
            .as_ref()
            .map(|p| format!("`{}`", p.display()))
            .unwrap_or_else(|| "an answers file (--answers FILE)".into());
        // A signed approval's file is named relative to the answers file.
        let base = answers_path.as_ref().and_then(|p| p.parent()).map(std::path::Path::to_path_buf).unwrap_or_default();
        // The approvers of each approval step already asked, in the file's order.
        let mut asked: HashMap<String, usize> = HashMap::new();
        // Approvals waited for in the inbox: step → when the wait ends.
        let mut awaiting: HashMap<String, tokio::time::Instant> = HashMap::new();
        loop {
            let next_deadline = awaiting.values().min().copied();
            let record = tokio::select! {
                r = rx.recv() => match r { Some(r) => r, None => return },
                _ = async { tokio::time::sleep_until(next_deadline.unwrap_or_else(tokio::time::Instant::now)).await }, if next_deadline.is_some() => {
                    let now = tokio::time::Instant::now();
                    let late: Vec<String> = awaiting.iter().filter(|(_, d)| **d <= now).map(|(s, _)| s.clone()).collect();
                    for step in late {
                        awaiting.remove(&step);
                        let reason = format!(
                            "approval step `{step}` was not approved within {} (--await-approvals); approve it with `lifeboat approve LOG --step {step}` and resume",
                            human_ms(await_approvals.unwrap_or_default().as_millis() as u64)
                        );
                        if tx.send(Command::Detach { by: by.clone(), reason }).is_err() {
                            return;
                        }
                    }
                    continue;
                }
            };
            if let Event::Answer { step: Some(s), .. } | Event::StepFinished { step: s, .. } = &record.event {
                awaiting.remove(s);
            }
            let Event::StepWaiting { step, waiting_for, .. } = record.event else { continue };
            let by = by.clone();
            let answer = answers.step(&step).cloned();
            // The answer to add is one this kind of step takes: `done` answers no approval.
            let missing = |what: &str| {
                let add = if what == "approval" {
                    format!(
                        "`{step}: {{ signed: FILE }}` (a standing approval: `lifeboat approve RUNBOOK --step {step} --standing --until TIME --sign-key KEY --out FILE`), or `{step}: {{ approve: true, by: NAME, role: ROLE }}` where a typed name may approve"
                    )
                } else {
                    format!("`{step}: done` (or skip/fail with a reason)")
                };
                Command::Detach {
                    by: by.clone(),
                    reason: format!("{what} step `{step}` has no answer in {file}; add {add} and resume"),
                }
            };
            let cmd = match (waiting_for, answer) {
                (Waiting::Confirm | Waiting::Outcome, Some(Answer::Done)) => Command::Confirm { step, by },
                // Nobody said how a rehearsed command went: never the operator's word.
                (Waiting::Outcome, None) => Command::NoAnswer { step },
                (_, Some(Answer::Skip(reason))) => Command::Skip { step, by, reason },
                (_, Some(Answer::Fail(reason))) => Command::Fail { step, by, reason },
                (Waiting::Approval, Some(Answer::Approve(list))) => {
                    let n = asked.entry(step.clone()).or_default();
                    *n += 1;
                    match list.get(*n - 1).cloned() {
                        Some(a) if a.signed.is_some() => {
                            let path = base.join(a.signed.unwrap_or_default());
                            match crate::journal::approval::read(&path) {
                                Ok((document, signature)) => Command::Signed { step, document, signature },
                                Err(e) => Command::Detach {
                                    by: by.clone(),
                                    reason: format!(
                                        "the signed approval for `{step}` cannot be read ({e}); fix {file} and resume"
                                    ),
                                },
                            }
                        }
                        Some(a) if a.approve => Command::Approve { step, by: a.by, role: a.role },
                        Some(a) => Command::Deny { step, by: a.by, role: a.role, reason: a.reason },
                        None if await_approvals.is_some() => {
                            awaiting
                                .entry(step)
                                .or_insert_with(|| tokio::time::Instant::now() + await_approvals.unwrap_or_default());
                            continue;
                        }
                        None => Command::Detach {
                            by: by.clone(),
                            reason: format!(
                                "approval step `{step}` needs another approver and {file} names only {}; list one `{{signed: FILE}}` (from `lifeboat approve --standing`) or `{{approve: true, by: NAME, role: ROLE}}` per approver and resume",
                                list.len()
                            ),
                        },
                    }
                }
                (Waiting::Rerun, Some(Answer::Rerun)) => Command::Rerun { step, by },
                (Waiting::Rerun, _) => Command::Fail {
                    reason: format!(
                        "`{step}` was interrupted and may have done part of its work; it is not re-run unless the answers say `{step}: rerun`"
                    ),
                    step,
                    by,
                },
                (Waiting::Decision | Waiting::RetryOrAbort, _) => {
                    Command::Abort { by, reason: format!("step `{step}` failed") }
                }
                (Waiting::Approval, _) if await_approvals.is_some() => {
                    awaiting
                        .entry(step)
                        .or_insert_with(|| tokio::time::Instant::now() + await_approvals.unwrap_or_default());
                    continue;
                }
                (Waiting::Approval, _) => missing("approval"),
                (Waiting::Confirm, _) => missing("manual"),
                (Waiting::Outcome, Some(_)) => Command::Confirm { step, by },
            };
            if tx.send(cmd).is_err() {
                return;
            }
        }
    }))
}

/// Progress on stderr: a bar per running step and the RTO clock on a terminal, plain
/// lines otherwise (CI logs).
pub fn progress(mut rx: mpsc::UnboundedReceiver<Record>, mut tracker: Tracker) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let tty = std::io::stderr().is_terminal();
        let mp = MultiProgress::with_draw_target(if tty {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        let clock_bar = mp.add(ProgressBar::new(1000));
        clock_bar.set_style(ProgressStyle::with_template("RTO {bar:30} {msg}").expect("template"));
        let mut bars: HashMap<String, ProgressBar> = HashMap::new();
        let say = |line: String| {
            if tty {
                mp.println(line).ok();
            } else {
                eprintln!("{line}");
            }
        };
        loop {
            let Some(r) = rx.recv().await else { break };
            tracker.observe(&r);
            let clock = r.time.get(11..19).unwrap_or("").to_string();
            let lines = crate::report::lines(&r.event);
            if !lines.is_empty() {
                // A batch of output is one write, not a write a line.
                say(lines.iter().map(|l| format!("{clock}  {l}")).collect::<Vec<_>>().join("\n"));
            }
            match &r.event {
                Event::StepStarted { step, detail, .. } => {
                    let bar = bars.entry(step.clone()).or_insert_with(|| {
                        let b = mp.add(ProgressBar::new_spinner());
                        b.set_style(ProgressStyle::with_template("  {spinner} {prefix} {wide_msg}").expect("template"));
                        b.enable_steady_tick(StdDuration::from_millis(120));
                        b
                    });
                    bar.set_prefix(step.clone());
                    bar.set_message(detail.clone().unwrap_or_default());
                }
                Event::StepProgress { step, done, total, unit } => {
                    if let Some(bar) = bars.get(step) {
                        bar.set_message(format!("{done}/{total} {unit}"));
                    }
                }
                Event::StepFinished { step, .. } => {
                    if let Some(bar) = bars.remove(step) {
                        bar.finish_and_clear();
                    }
                }
                _ => {}
            }
            if let Ok(now) = parse_timestamp(&r.time) {
                let s = tracker.status(now);
                clock_bar.set_position((s.rto_fraction() * 1000.0).min(1000.0) as u64);
                clock_bar.set_message(format!(
                    "{} of {}, projected {}{}{}",
                    human_ms(s.rto_elapsed_ms),
                    human_ms(s.rto_ms),
                    human_ms(s.projected_ms),
                    tracker
                        .forecast(now)
                        .map(|(p50, p90)| format!(", history {}–{}", human_ms(p50), human_ms(p90)))
                        .unwrap_or_default(),
                    s.achieved_rpo_ms.map(|r| format!(", RPO {}", human_ms(r))).unwrap_or_default()
                ));
            }
        }
        for (_, b) in bars.drain() {
            b.finish_and_clear();
        }
        clock_bar.finish_and_clear();
    })
}
