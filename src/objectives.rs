//! RTO, phase budgets, the projected finish and the achieved RPO, computed from the
//! event stream alone, so the engine, the screen, the report and a resumed run agree.

use crate::event::{Event, Record, RunStatus, Verdict};
use crate::runbook::model::Runbook;
use crate::runbook::time::{Timestamp, parse_timestamp};

pub const SERVICE_RESTORED: &str = "service-restored";

#[derive(Debug, Clone, PartialEq)]
pub struct PhaseClock {
    pub id: String,
    pub budget_ms: u64,
    pub started: Option<Timestamp>,
    pub finished: Option<Timestamp>,
    warned: u8,
}

impl PhaseClock {
    pub fn elapsed_ms(&self, now: Timestamp) -> u64 {
        match (self.started, self.finished) {
            (Some(s), Some(f)) => ms(s, f),
            (Some(s), None) => ms(s, now),
            _ => 0,
        }
    }
}

/// Milliseconds from `a` to `b`, none if `b` is earlier.
pub fn ms(a: Timestamp, b: Timestamp) -> u64 {
    b.duration_since(a).as_millis().max(0) as u64
}

#[derive(Debug, Clone)]
pub struct Tracker {
    pub incident_start: Timestamp,
    pub rto_ms: u64,
    pub rpo_ms: u64,
    pub phases: Vec<PhaseClock>,
    /// Index of the last phase that counts toward the RTO (the one holding the
    /// `service-restored` milestone, else the last phase).
    rto_phase: usize,
    pub restored_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
    pub recovery_points: Vec<Timestamp>,
    warned_projection: bool,
    /// The runbook marks a `service-restored` milestone.
    has_milestone: bool,
    /// The run finished with every step done (what stands in for the milestone).
    completed: bool,
    /// A restore brought back data from after the incident began (it may hold the
    /// damage), and whether an approval after it accepted that, by whom.
    late_recovery: bool,
    late_accepted: Option<String>,
    /// The runbook's approval steps: an approval after a late recovery point accepts it.
    approval_steps: Vec<String>,
    /// Each step's p90 from the runbook's trusted history (`lifeboat forecast`): a step
    /// running past it is said once, while there is still time to act.
    pub step_p90_ms: std::collections::BTreeMap<String, u64>,
    /// Each step's p50 in the same history: with the p90s, the forecast band.
    pub step_p50_ms: std::collections::BTreeMap<String, u64>,
    /// The steps up to the milestone (or all), in order: what is left to forecast.
    to_milestone: Vec<String>,
    /// Steps finished (done, skipped or failed past).
    finished: std::collections::BTreeSet<String>,
    /// Steps started and not yet finished, from their first start.
    running: std::collections::BTreeMap<String, Timestamp>,
    /// Steps already said to be past their p90.
    warned_p90: std::collections::BTreeSet<String>,
}

/// What the objectives look like at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    pub rto_elapsed_ms: u64,
    pub rto_ms: u64,
    /// From incident start to the projected `service-restored`.
    pub projected_ms: u64,
    pub achieved_rpo_ms: Option<u64>,
    pub rpo_ms: u64,
    pub rto_stopped: bool,
    /// The `service-restored` milestone was reached (or, in a runbook without one, the
    /// run finished with every step done): the only way the RTO can be met.
    pub service_restored: bool,
    /// A recovery point after the incident began: the data may include the damage.
    pub recovery_after_incident: bool,
    /// Who accepted that, with an approval after the restore.
    pub late_accepted_by: Option<String>,
}

impl Standing {
    pub fn rto_fraction(&self) -> f64 {
        self.rto_elapsed_ms as f64 / self.rto_ms.max(1) as f64
    }
    /// Met only when the service was restored, and in time; a run that failed or
    /// stopped before that point did not meet its RTO, however early it stopped.
    pub fn rto_met(&self) -> bool {
        self.service_restored && self.rto_elapsed_ms <= self.rto_ms
    }
    /// How far past the RTO the clock is (0 within it).
    pub fn rto_over_ms(&self) -> u64 {
        self.rto_elapsed_ms.saturating_sub(self.rto_ms)
    }
    /// The RTO's verdict in words, as the summary, the report and JUnit say it.
    pub fn rto_words(&self) -> String {
        rto_words(self.rto_elapsed_ms, self.rto_ms, self.service_restored)
    }
    /// Never met when data from after the incident came back, unless an approval after
    /// the restore accepted it: "0ms lost" would hide that the damage may be restored too.
    pub fn rpo_met(&self) -> Option<bool> {
        if self.recovery_after_incident && self.late_accepted_by.is_none() {
            return Some(false);
        }
        self.achieved_rpo_ms.map(|r| r <= self.rpo_ms)
    }
    /// The RPO's verdict in words, as the closing line and the screen say it.
    pub fn rpo_words(&self) -> String {
        use crate::format::human_ms;
        match (self.recovery_after_incident, &self.late_accepted_by, self.achieved_rpo_ms) {
            (true, None, _) => format!(
                "not met: a recovery point is after the incident began, so the data may include the damage (RPO {})",
                human_ms(self.rpo_ms)
            ),
            (true, Some(by), _) => {
                format!("a recovery point after the incident began, accepted by {by} (RPO {})", human_ms(self.rpo_ms))
            }
            (false, _, Some(r)) => format!(
                "{} of {} ({})",
                human_ms(r),
                human_ms(self.rpo_ms),
                if r <= self.rpo_ms { "met" } else { "not met" }
            ),
            (false, _, None) => {
                format!("not measured of {} (no restore reported a recovery point)", human_ms(self.rpo_ms))
            }
        }
    }
}

/// The one verdict of a run, from its status and objectives: every place that says how a
/// run ended (closing line, progress, screen, reports, JUnit, evidence, exit code) says
/// it through these, so none can say `succeeded` where another says `not met`.
pub fn ending(status: RunStatus, rto_met: bool, rpo_met: Option<bool>) -> RunStatus {
    match status {
        RunStatus::Succeeded | RunStatus::Missed if !rto_met || rpo_met == Some(false) => RunStatus::Missed,
        RunStatus::Missed => RunStatus::Succeeded,
        other => other,
    }
}

/// "succeeded", "finished, RTO not met", "failed", "aborted".
pub fn ending_words(status: RunStatus, rto_met: bool, rpo_met: Option<bool>) -> String {
    match ending(status, rto_met, rpo_met) {
        RunStatus::Succeeded => "succeeded".into(),
        RunStatus::Missed => {
            let missed: Vec<&str> =
                [("RTO", !rto_met), ("RPO", rpo_met == Some(false))].iter().filter(|x| x.1).map(|x| x.0).collect();
            format!("finished, {} not met", missed.join(" and "))
        }
        RunStatus::Failed => "failed".into(),
        RunStatus::Aborted => "aborted".into(),
    }
}

/// 0 succeeded, 3 finished with an objective missed, 1 failed or aborted.
pub fn exit_code(status: RunStatus) -> u8 {
    match status {
        RunStatus::Succeeded => 0,
        RunStatus::Missed => 3,
        RunStatus::Failed | RunStatus::Aborted => 1,
    }
}

/// "5m2s of 2h (met)", "not met: service not restored after 42m3s (RTO 4h)",
/// "2h30m of 2h (not met: 30m over)".
pub fn rto_words(elapsed_ms: u64, rto_ms: u64, restored: bool) -> String {
    use crate::format::human_ms;
    if !restored {
        return format!("not met: service not restored after {} (RTO {})", human_ms(elapsed_ms), human_ms(rto_ms));
    }
    if elapsed_ms > rto_ms {
        return format!(
            "{} of {} (not met: {} over)",
            human_ms(elapsed_ms),
            human_ms(rto_ms),
            human_ms(elapsed_ms - rto_ms)
        );
    }
    format!("{} of {} (met)", human_ms(elapsed_ms), human_ms(rto_ms))
}

impl Tracker {
    pub fn new(runbook: &Runbook, incident_start: Timestamp) -> Tracker {
        let rto_phase = runbook
            .phases
            .iter()
            .position(|p| p.steps.iter().any(|s| s.milestone.as_deref() == Some(SERVICE_RESTORED)))
            .unwrap_or(runbook.phases.len().saturating_sub(1));
        Tracker {
            incident_start,
            rto_ms: runbook.objectives.rto.secs() * 1000,
            rpo_ms: runbook.objectives.rpo.secs() * 1000,
            phases: runbook
                .phases
                .iter()
                .map(|p| PhaseClock {
                    id: p.id.clone(),
                    budget_ms: p.budget.secs() * 1000,
                    started: None,
                    finished: None,
                    warned: 0,
                })
                .collect(),
            rto_phase,
            has_milestone: runbook.steps().any(|s| s.milestone.as_deref() == Some(SERVICE_RESTORED)),
            completed: false,
            late_recovery: false,
            late_accepted: None,
            approval_steps: runbook
                .steps()
                .filter(|s| matches!(s.kind, crate::runbook::model::StepKind::Approval(_)))
                .map(|s| s.id.clone())
                .collect(),
            restored_at: None,
            ended_at: None,
            recovery_points: Vec::new(),
            warned_projection: false,
            step_p90_ms: Default::default(),
            step_p50_ms: Default::default(),
            to_milestone: {
                let all: Vec<&crate::runbook::model::Step> = runbook.steps().collect();
                let end = all.iter().position(|s| s.milestone.as_deref() == Some(SERVICE_RESTORED));
                all[..end.map_or(all.len(), |i| i + 1)].iter().map(|s| s.id.clone()).collect()
            },
            finished: Default::default(),
            running: Default::default(),
            warned_p90: Default::default(),
        }
    }

    pub fn observe(&mut self, r: &Record) {
        let Ok(t) = parse_timestamp(&r.time) else { return };
        match &r.event {
            Event::PhaseStarted { phase, .. } => {
                if let Some(p) = self.phases.iter_mut().find(|p| &p.id == phase) {
                    p.started.get_or_insert(t);
                }
            }
            Event::PhaseFinished { phase, .. } => {
                if let Some(p) = self.phases.iter_mut().find(|p| &p.id == phase) {
                    p.finished = Some(t);
                }
            }
            Event::Milestone { name } if name == SERVICE_RESTORED => {
                self.restored_at.get_or_insert(t);
            }
            Event::StepStarted { step, .. } => {
                self.running.entry(step.clone()).or_insert(t);
            }
            Event::StepFinished { step, recovery_point, .. } => {
                self.running.remove(step);
                self.finished.insert(step.clone());
                if let Some(Ok(rp)) = recovery_point.as_deref().map(parse_timestamp) {
                    self.recovery_points.push(rp);
                    if rp > self.incident_start {
                        self.late_recovery = true;
                        self.late_accepted = None;
                    }
                }
            }
            Event::Answer { step: Some(step), verdict: Verdict::Approve, by, .. }
                if self.late_recovery && self.approval_steps.contains(step) =>
            {
                self.late_accepted.get_or_insert_with(|| format!("{by} (approval `{step}`)"));
            }
            // Warnings already given (a resumed run read them back): not given again.
            Event::Warning { code, message } if code == "step_past_p90" => {
                if let Some(step) = message.split('`').nth(1) {
                    self.warned_p90.insert(step.to_string());
                }
            }
            Event::Warning { code, message } => {
                let rank = match code.as_str() {
                    "phase_budget_80" => 1,
                    "phase_over_budget" => 2,
                    "rto_projection" => {
                        self.warned_projection = true;
                        0
                    }
                    _ => 0,
                };
                if rank > 0
                    && let Some(p) = self.phases.iter_mut().find(|p| message.contains(&format!("phase `{}` ", p.id)))
                {
                    p.warned = p.warned.max(rank);
                }
            }
            Event::RunFinished { status, .. } => {
                self.ended_at = Some(t);
                self.completed = matches!(status, RunStatus::Succeeded | RunStatus::Missed);
            }
            _ => {}
        }
    }

    /// The run is ending with this verdict: without a milestone, a run that succeeded is
    /// what restores the service.
    pub fn conclude(&mut self, succeeded: bool) {
        self.completed = succeeded;
    }

    pub fn status(&self, now: Timestamp) -> Standing {
        let stop = self.restored_at.or(self.ended_at);
        let rto_elapsed_ms = ms(self.incident_start, stop.unwrap_or(now));
        // Finished phases that ran over budget suggest the rest will too.
        let (spent, planned) = self
            .phases
            .iter()
            .filter(|p| p.finished.is_some())
            .fold((0u64, 0u64), |(s, b), p| (s + p.elapsed_ms(now), b + p.budget_ms));
        let overrun = if planned > 0 && spent > planned { spent as f64 / planned as f64 } else { 1.0 };
        let remaining: u64 = self.phases[..=self.rto_phase.min(self.phases.len().saturating_sub(1))]
            .iter()
            .filter(|p| p.finished.is_none())
            .map(|p| p.budget_ms.saturating_sub(p.elapsed_ms(now)))
            .sum();
        let projected_ms =
            if stop.is_some() { rto_elapsed_ms } else { rto_elapsed_ms + (remaining as f64 * overrun) as u64 };
        // The oldest data brought back sets the loss; data newer than the incident loses nothing.
        let achieved_rpo_ms = self.recovery_points.iter().min().map(|rp| ms(*rp, self.incident_start));
        Standing {
            rto_elapsed_ms,
            rto_ms: self.rto_ms,
            projected_ms,
            achieved_rpo_ms,
            rpo_ms: self.rpo_ms,
            rto_stopped: stop.is_some(),
            service_restored: self.restored_at.is_some() || (!self.has_milestone && self.completed),
            recovery_after_incident: self.late_recovery,
            late_accepted_by: self.late_accepted.clone(),
        }
    }

    /// Warnings not given before: a phase past 80% and past 100% of its budget, and a
    /// projected finish past the RTO.
    /// When the service is forecast to be restored, from the incident's start: the time
    /// so far and, for each step still to come before the milestone, its p50 (and p90) in
    /// the runbook's trusted history, less what a running step has already taken. Steps
    /// are added one after another (conservative where `needs` would run them side by
    /// side). None without a history for every step left, or once the RTO clock stopped.
    pub fn forecast(&self, now: Timestamp) -> Option<(u64, u64)> {
        if self.restored_at.is_some() || self.ended_at.is_some() || self.step_p50_ms.is_empty() {
            return None;
        }
        let elapsed = now.duration_since(self.incident_start).as_millis().max(0) as u64;
        let (mut p50, mut p90) = (elapsed, elapsed);
        for step in self.to_milestone.iter().filter(|s| !self.finished.contains(*s)) {
            let (a, b) = (*self.step_p50_ms.get(step)?, *self.step_p90_ms.get(step)?);
            let ran = self.running.get(step).map_or(0, |t| now.duration_since(*t).as_millis().max(0) as u64);
            p50 += a.saturating_sub(ran);
            p90 += b.saturating_sub(ran);
        }
        Some((p50, p90))
    }

    pub fn warnings(&mut self, now: Timestamp) -> Vec<Event> {
        let mut out = Vec::new();
        for p in &mut self.phases {
            if p.started.is_none() || p.finished.is_some() || p.budget_ms == 0 {
                continue;
            }
            let used = p.elapsed_ms(now) * 100 / p.budget_ms;
            for (rank, level, code, text) in
                [(1, 80, "phase_budget_80", "has used 80% of"), (2, 100, "phase_over_budget", "is over")]
            {
                if used >= level && p.warned < rank {
                    p.warned = rank;
                    out.push(Event::Warning {
                        code: code.into(),
                        message: format!("phase `{}` {text} its {} budget", p.id, crate::format::human_ms(p.budget_ms)),
                    });
                }
            }
        }
        for (step, started) in &self.running {
            let Some(&p90) = self.step_p90_ms.get(step) else { continue };
            let ran = now.duration_since(*started).as_millis().max(0) as u64;
            if ran > p90 && self.warned_p90.insert(step.clone()) {
                out.push(Event::Warning {
                    code: "step_past_p90".into(),
                    message: format!(
                        "step `{step}` has run {}, past its p90 of {} in the runbook's trusted history: look at it now",
                        crate::format::human_ms(ran),
                        crate::format::human_ms(p90)
                    ),
                });
            }
        }
        let s = self.status(now);
        if !self.warned_projection && !s.rto_stopped && s.projected_ms > s.rto_ms {
            self.warned_projection = true;
            out.push(Event::Warning {
                code: "rto_projection".into(),
                message: format!(
                    "at this pace the service is restored after {}, past the RTO of {}",
                    crate::format::human_ms(s.projected_ms),
                    crate::format::human_ms(s.rto_ms)
                ),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runbook::load::{catalog_from_str, runbook_from_str};

    #[test]
    fn warnings_already_in_the_log_are_not_given_again() {
        let catalog = catalog_from_str("apiVersion: lifeboat/v1\nkind: DatasetCatalog\ndatasets:\n  - { id: d, title: D, classification: internal, rpo: 1h, rto: 2h, primary: { region: eu-west-1 } }\n").unwrap();
        let rb = runbook_from_str("apiVersion: lifeboat/v1\nkind: Runbook\nid: r\ntitle: R\ndataset: d\nscenario: other\nphases:\n  - { id: p, title: P, budget: 10m, steps: [ { id: a, title: A, wait: 1h } ] }\n", &catalog).unwrap();
        let t0: Timestamp = "2026-11-24T03:00:00Z".parse().unwrap();
        let at = |m: i64| t0.checked_add(jiff::SignedDuration::from_mins(m)).unwrap();
        let rec = |m: i64, event: Event| Record {
            seq: 0,
            prev: String::new(),
            time: crate::runbook::time::format_timestamp(at(m)),
            event,
        };
        let mut first = Tracker::new(&rb, t0);
        first.observe(&rec(0, Event::PhaseStarted { phase: "p".into(), budget_ms: 600_000 }));
        let given = first.warnings(at(11));
        assert_eq!(given.len(), 2, "80% and over: {given:?}");
        // A resumed run's tracker reads the same records back, warnings included.
        let mut resumed = Tracker::new(&rb, t0);
        resumed.observe(&rec(0, Event::PhaseStarted { phase: "p".into(), budget_ms: 600_000 }));
        for w in given {
            resumed.observe(&rec(11, w));
        }
        assert!(resumed.warnings(at(12)).is_empty());
    }
}
