//! A log's records read into one [`Summary`]: who did what and when, each step's end,
//! the phases, the objectives, what was created and torn down.

use super::*;

/// The summary of a run from its records, one at a time (a log need not fit in memory).
/// In a signed log only the lines a signature vouched for count; the others are shown
/// in the timeline as not counted (`journal::vouch`).
pub fn summarize<R: std::borrow::Borrow<Record>>(records: impl IntoIterator<Item = R>) -> Summary {
    let mut s = Summary::default();
    let mut phase = String::new();
    let mut unsigned = Vec::new();
    let records = records.into_iter().map(|r| r.borrow().clone());
    for (r, vouched) in crate::journal::vouch::Vouched::new(records) {
        let r = &r;
        if !vouched {
            unsigned.push(r.seq);
            s.unsigned_decides |= crate::journal::vouch::decides(&r.event);
            push(&mut s, r, None, format!("⚠ line {}, `{}`: unsigned, not counted", r.seq + 1, r.event.name()));
            continue;
        }
        let step_row = |s: &mut Summary, id: &str| -> usize {
            if let Some(i) = s.steps.iter().position(|x| x.id == id) {
                return i;
            }
            s.steps.push(StepRow { id: id.to_string(), phase: phase.clone(), ..StepRow::default() });
            s.steps.len() - 1
        };
        match &r.event {
            Event::Genesis(g) => {
                s.run_id = g.run_id.clone();
                s.runbook_id = g.runbook_id.clone();
                s.dataset = g.dataset.clone();
                s.mode = g.mode.as_str().into();
                s.operator = g.operator.clone();
                s.cloud = g.cloud.clone();
                s.incident_started_at = g.incident_started_at.clone();
                s.rto_objective_ms = g.rto_ms;
                s.rpo_objective_ms = g.rpo_ms;
                s.signed = g.signer.is_some();
                s.inputs = g.inputs.clone();
                s.endpoint = g.provenance.endpoint.clone();
                did(&mut s, &g.operator, "started the run".into());
                push(&mut s, r, Some(g.operator.clone()), format!("run started ({} on {})", g.mode.as_str(), g.cloud));
            }
            Event::PhaseStarted { phase: p, budget_ms } => {
                phase = p.clone();
                if !s.phases.iter().any(|x| &x.id == p) {
                    s.phases.push(PhaseRow {
                        id: p.clone(),
                        budget_ms: *budget_ms,
                        elapsed_ms: None,
                        over_budget: false,
                    });
                }
                push(&mut s, r, None, format!("phase `{p}` started (budget {})", human_ms(*budget_ms)));
            }
            Event::PhaseFinished { phase: p, elapsed_ms, budget_ms, .. } => {
                if let Some(row) = s.phases.iter_mut().find(|x| &x.id == p) {
                    row.elapsed_ms = Some(*elapsed_ms);
                    row.over_budget = elapsed_ms > budget_ms;
                }
                push(
                    &mut s,
                    r,
                    None,
                    format!("phase `{p}` finished in {} of {}", human_ms(*elapsed_ms), human_ms(*budget_ms)),
                );
            }
            Event::StepStarted { step, attempt, detail } => {
                let i = step_row(&mut s, step);
                s.steps[i].started.get_or_insert(r.time.clone());
                s.steps[i].attempts = s.steps[i].attempts.max(*attempt);
                push(
                    &mut s,
                    r,
                    None,
                    format!("`{step}` started{}", detail.as_ref().map(|d| format!(": {d}")).unwrap_or_default()),
                );
            }
            Event::Answer { step, verdict, by, role, reason, signed } => {
                let what = verdict_words(verdict);
                did(&mut s, by, format!("{what}{}", step.as_ref().map(|x| format!(" `{x}`")).unwrap_or_default()));
                let who = format!("{by}{}", role.as_ref().map(|r| format!(" ({r})")).unwrap_or_default());
                let line = format!(
                    "{what}{}{}{}",
                    step.as_ref().map(|x| format!(" `{x}`")).unwrap_or_default(),
                    signed.as_ref().map(signed_words).unwrap_or_default(),
                    reason.as_ref().map(|x| format!(": {x}")).unwrap_or_default()
                );
                push(&mut s, r, Some(who), line);
            }
            Event::Note { by, text } => {
                did(&mut s, by, "wrote a note".into());
                push(&mut s, r, Some(by.clone()), format!("note: {text}"))
            }
            Event::StepRetry { step, attempt, error, .. } => {
                push(&mut s, r, None, format!("`{step}` retried (attempt {attempt}): {error}"))
            }
            Event::StepFinished { step, status, reason, duration_ms, recovery_point, error, outputs } => {
                let i = step_row(&mut s, step);
                let row = &mut s.steps[i];
                row.outputs = outputs.clone();
                row.status = Some(*status);
                row.duration_ms = *duration_ms;
                row.reason = reason.clone();
                row.recovery_point = recovery_point.clone();
                row.error_code = error.as_ref().and_then(|e| e.code.clone());
                row.hint = error.as_ref().and_then(|e| e.hint.clone());
                let what = format!(
                    "`{step}` {}{}{}",
                    format!("{status:?}").to_lowercase(),
                    reason.as_ref().map(|x| format!(": {x}")).unwrap_or_default(),
                    recovery_point.as_ref().map(|x| format!(" (recovery point {x})")).unwrap_or_default()
                );
                push(&mut s, r, None, what);
            }
            Event::Milestone { name } => push(&mut s, r, None, format!("milestone `{name}`")),
            Event::Warning { message, .. } => {
                s.warnings.push(message.clone());
                push(&mut s, r, None, format!("warning: {message}"));
            }
            Event::Resumed { by, interrupted, adopted } => {
                did(&mut s, by, "resumed the run".into());
                if let Some(a) = adopted {
                    s.adopted.push(a.words(by));
                }
                push(
                    &mut s,
                    r,
                    Some(by.clone()),
                    format!(
                        "resumed the run{}{}",
                        if interrupted.is_empty() {
                            String::new()
                        } else {
                            format!(" (interrupted: {})", interrupted.join(", "))
                        },
                        adopted.as_ref().map(|a| format!("; {}", a.words(by))).unwrap_or_default()
                    ),
                )
            }
            Event::Recovered { torn_bytes, moved_to } => {
                push(&mut s, r, None, format!("{torn_bytes} bytes of a torn line moved to {moved_to}"))
            }
            Event::RunFinished { status, reason, rto_ms, rto_met, rpo_ms, rpo_met, service_restored } => {
                // An older log may say `succeeded` beside a missed objective: one verdict.
                s.status = Some(crate::objectives::ending(*status, *rto_met && *service_restored, *rpo_met));
                s.reason = reason.clone();
                s.rto_ms = Some(*rto_ms);
                // Never more than the milestone allows, whatever an older log says.
                s.rto_met = Some(*rto_met && *service_restored);
                s.service_restored = Some(*service_restored);
                s.rpo_ms = *rpo_ms;
                s.rpo_met = *rpo_met;
                push(
                    &mut s,
                    r,
                    None,
                    format!(
                        "run {}",
                        crate::objectives::ending_words(*status, *rto_met && *service_restored, *rpo_met)
                    ),
                );
            }
            Event::HandOff { from, to } => {
                did(&mut s, from, format!("handed the run to {to}"));
                did(&mut s, to, format!("took the run over from {from}"));
                push(&mut s, r, Some(from.clone()), format!("handed the run to {to}"))
            }
            Event::Checklist { step, item, text, ticked, by } => {
                did(&mut s, by, format!("{} `{step}`: {text}", if *ticked { "ticked" } else { "unticked" }));
                let row = ChecklistRow {
                    step: step.clone(),
                    item: *item,
                    text: text.clone(),
                    ticked: *ticked,
                    by: by.clone(),
                    time: r.time.clone(),
                };
                match s.checklists.iter_mut().find(|c| c.step == *step && c.item == *item) {
                    Some(c) => *c = row,
                    None => s.checklists.push(row),
                }
                push(
                    &mut s,
                    r,
                    Some(by.clone()),
                    format!("{} `{step}`: {text}", if *ticked { "ticked" } else { "unticked" }),
                )
            }
            Event::Detached { by, reason } => {
                did(&mut s, by, "left the run (resumable)".into());
                push(&mut s, r, Some(by.clone()), format!("left the run: {reason} (resumable)"))
            }
            Event::Sealed { .. } => s.sealed = true,
            Event::Teardown { kind, id, region, version, outcome, reason, .. } => s.teardown.push(TeardownRow {
                kind: kind.clone(),
                id: id.clone(),
                region: region.clone(),
                version: version.clone(),
                outcome: *outcome,
                reason: reason.clone(),
                time: r.time.clone(),
            }),
            Event::ResourceCreated { step, kind, id, region, version } => s.created.push(CreatedRow {
                step: step.clone(),
                kind: kind.clone(),
                id: id.clone(),
                region: region.clone(),
                time: r.time.clone(),
                version: version.clone(),
            }),
            Event::StepOutput { .. }
            | Event::OutputAside { .. }
            | Event::ProcessStarted { .. }
            | Event::StepProgress { .. }
            | Event::StepWaiting { .. }
            | Event::Checkpoint { .. } => {}
        }
    }
    s.unsigned_lines = crate::journal::vouch::ranges(&unsigned);
    s
}

/// " (signed, SHA256:…)": whose key an answer was signed with.
pub(super) fn signed_words(w: &crate::event::SignedWord) -> String {
    let fp = ssh_key::PublicKey::from_openssh(&w.key)
        .map(|k| k.fingerprint(ssh_key::HashAlg::Sha256).to_string())
        .unwrap_or_else(|_| "a key that cannot be read".into());
    format!(" (signed, {fp})")
}

pub fn verdict_words(v: &Verdict) -> &'static str {
    match v {
        Verdict::Confirm => "confirmed",
        Verdict::Skip => "skipped",
        Verdict::Fail => "failed",
        Verdict::Approve => "approved",
        Verdict::Deny => "denied",
        Verdict::Retry => "chose to retry",
        Verdict::Continue => "chose to continue past",
        Verdict::Abort => "aborted the run",
        Verdict::Rerun => "chose to re-run",
    }
}

pub(super) fn push(s: &mut Summary, r: &Record, who: Option<String>, what: String) {
    s.timeline.push(Entry { time: r.time.clone(), who, what });
}
