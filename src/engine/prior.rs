//! What an earlier, interrupted run of the same log already did, read back for a resume.

use super::*;

/// What an earlier, interrupted run of the same log already did.
#[derive(Debug, Default, Clone)]
pub struct Prior {
    pub finished: HashMap<String, (StepStatus, Map<String, Json>)>,
    /// Started (with side effects possible) but never finished.
    pub interrupted: HashSet<String>,
    pub started_phases: HashSet<String>,
    pub finished_phases: HashSet<String>,
    /// The process groups of `run:` commands that were running when the run stopped.
    pub processes: Vec<(String, u32, String, u64)>,
    /// Finished steps whose outputs held a secret: the log keeps them only redacted, so
    /// they run again (when someone says `rerun`) rather than hand the placeholder on.
    pub lost: std::collections::BTreeSet<String>,
    /// Every line of the log, for the screen.
    pub records: Vec<Record>,
    /// The lines a signature vouched for (all of them in an unsigned log): what the
    /// objectives, the clock and who held the run are taken from.
    pub vouched: Vec<Record>,
}

impl Prior {
    /// Only lines a signature vouched for decide anything (`journal::vouch`): a step's
    /// end that no checkpoint signed, or that a resume adopted, is not taken on its word;
    /// the step counts as interrupted and someone decides whether it runs again (a forged
    /// `step_finished` never skips one), and an unsigned milestone or answer is not one.
    pub fn from_records(runbook: &Runbook, records: Vec<Record>) -> Prior {
        let mut p = Prior::default();
        let mut started = HashSet::new();
        let mut groups = Vec::new();
        for (r, vouched) in crate::journal::vouch::Vouched::new(records.iter().cloned()) {
            if !vouched {
                if let Event::StepStarted { step, .. } | Event::StepFinished { step, .. } = &r.event {
                    started.insert(step.clone());
                }
                continue;
            }
            match &r.event {
                Event::PhaseStarted { phase, .. } => {
                    p.started_phases.insert(phase.clone());
                }
                Event::PhaseFinished { phase, .. } => {
                    p.finished_phases.insert(phase.clone());
                }
                Event::StepStarted { step, .. } => {
                    started.insert(step.clone());
                }
                Event::ProcessStarted { step, pgid, boot_id, start_ticks } => {
                    groups.push((step.clone(), *pgid, boot_id.clone(), *start_ticks));
                }
                Event::StepFinished { step, status, outputs, .. } => {
                    p.finished.insert(step.clone(), (*status, outputs.clone()));
                }
                _ => {}
            }
            p.vouched.push(r);
        }
        // An output the log holds only as `[redacted]` is gone: never handed on as it is.
        for (step, (status, outputs)) in &p.finished {
            let redacted = |v: &Json| v.as_str().is_some_and(|t| t.contains(crate::engine::sink::REDACTED));
            if *status == StepStatus::Done && outputs.values().any(redacted) {
                p.lost.insert(step.clone());
            }
        }
        for step in &p.lost {
            p.finished.remove(step);
            if let Some(phase) = runbook.phases.iter().find(|ph| ph.steps.iter().any(|st| &st.id == step)) {
                p.finished_phases.remove(&phase.id);
            }
        }
        p.interrupted = started
            .into_iter()
            .filter(|s| !p.finished.contains_key(s))
            .filter(|s| {
                runbook
                    .step(s)
                    .is_some_and(|st| !matches!(st.kind, StepKind::Manual { .. } | StepKind::Approval { .. }))
            })
            .collect();
        p.processes = groups.into_iter().filter(|(s, ..)| !p.finished.contains_key(s)).collect();
        p.records = records;
        p
    }
}
