//! Reports of a run, from its log alone: a Markdown timeline, JUnit XML for CI, and a
//! JSON summary. Who did what and when, each phase against its budget, RTO and RPO
//! against the objectives, failures and skips with reasons, and whether the log verified.

use std::time::Duration as StdDuration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use serde::Serialize;

use crate::event::{Event, Record, RunStatus, StepStatus, Stream, Verdict, Waiting};
pub use crate::format::{human_ms, json_text};

mod drills;
mod lines;
mod render;
mod summarize;

pub use drills::*;
pub use lines::*;
pub use render::*;
pub use summarize::*;

#[derive(Debug, Clone, Serialize, Default)]
pub struct StepRow {
    pub id: String,
    pub phase: String,
    pub status: Option<StepStatus>,
    pub started: Option<String>,
    pub duration_ms: u64,
    pub attempts: u32,
    pub reason: Option<String>,
    pub error_code: Option<String>,
    pub hint: Option<String>,
    pub recovery_point: Option<String>,
    /// What the step recorded (secrets already redacted in the log).
    pub outputs: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PhaseRow {
    pub id: String,
    pub budget_ms: u64,
    pub elapsed_ms: Option<u64>,
    pub over_budget: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub time: String,
    pub who: Option<String>,
    pub what: String,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Summary {
    pub run_id: String,
    pub runbook_id: String,
    pub dataset: String,
    pub mode: String,
    pub operator: String,
    pub cloud: String,
    pub incident_started_at: String,
    pub status: Option<RunStatus>,
    pub reason: Option<String>,
    pub rto_objective_ms: u64,
    pub rpo_objective_ms: u64,
    pub rto_ms: Option<u64>,
    pub rto_met: Option<bool>,
    /// The `service-restored` milestone (else the last step) was reached.
    pub service_restored: Option<bool>,
    pub rpo_ms: Option<u64>,
    pub rpo_met: Option<bool>,
    pub phases: Vec<PhaseRow>,
    pub steps: Vec<StepRow>,
    pub timeline: Vec<Entry>,
    pub warnings: Vec<String>,
    pub signed: bool,
    pub sealed: bool,
    /// The verifier's verdict: "sealed and intact", "intact, not sealed", or the tampering.
    pub verification: Option<String>,
    /// The log does not verify: nothing in it can be taken as true.
    pub tampered: bool,
    /// Ranges a resume took on without a signature having vouched for them.
    pub adopted: Vec<String>,
    /// Lines of a signed log no signature vouched for when they were written (1-based
    /// ranges): shown in the timeline, never counted.
    pub unsigned_lines: Vec<(u64, u64)>,
    /// One of those lines would have decided something (a step's end, a milestone, the
    /// run's end, an answer): the report cannot vouch for the outcome.
    pub unsigned_decides: bool,
    /// Each checklist item's last state: who ticked or unticked it, when.
    pub checklists: Vec<ChecklistRow>,
    /// Everyone who took part, in the order they first did, with what each did.
    pub participants: Vec<Participant>,
    /// The endpoint the run's requests went to when it was not AWS's own: never proof.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The run's inputs as the genesis recorded them (a secret as "[redacted]").
    pub inputs: serde_json::Map<String, serde_json::Value>,
    /// What the run made (instances, tables, snapshot copies), by step: what a drill
    /// must take down again.
    pub created: Vec<CreatedRow>,
    /// A cleanup's log: what it did with each resource of the drill.
    pub teardown: Vec<TeardownRow>,
    /// The sign-offs beside the log, each in words (one that does not count says so).
    pub sign_offs: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TeardownRow {
    pub kind: String,
    pub id: String,
    pub region: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub outcome: crate::event::TeardownOutcome,
    pub reason: Option<String>,
    pub time: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CreatedRow {
    pub step: String,
    pub kind: String,
    pub id: String,
    pub region: String,
    pub time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Participant {
    pub name: String,
    pub did: Vec<String>,
}

pub(super) fn did(s: &mut Summary, name: &str, what: String) {
    match s.participants.iter_mut().find(|p| p.name == name) {
        Some(p) => p.did.push(what),
        None => s.participants.push(Participant { name: name.to_string(), did: vec![what] }),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ChecklistRow {
    pub step: String,
    pub item: u32,
    pub text: String,
    pub ticked: bool,
    pub by: String,
    pub time: String,
}

/// A step that brought data back: where to, and what.
#[derive(Debug, Clone, Serialize)]
pub struct Restore {
    pub step: String,
    pub region: Option<String>,
    pub what: String,
}

impl Summary {
    /// The steps that brought data back. A restore action gives a recovery point only
    /// when it did (objects copied or rolled back, an instance or a table made from a
    /// backup): a copy of nothing is no restore.
    pub fn restores(&self) -> Vec<Restore> {
        let count = |st: &StepRow, k: &str| st.outputs.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
        self.steps
            .iter()
            .filter(|st| st.status == Some(StepStatus::Done) && st.recovery_point.is_some())
            .map(|st| {
                let made = self.created.iter().find(|c| c.step == st.id && c.kind != "s3-object");
                let region = st
                    .outputs
                    .get("region")
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
                    .or_else(|| self.created.iter().find(|c| c.step == st.id).map(|c| c.region.clone()));
                let objects = count(st, "copied") + count(st, "restored") + count(st, "undeleted");
                let what = match (made, st.outputs.get("instance").and_then(|v| v.as_str())) {
                    (Some(c), _) => format!("{} {}", c.kind, c.id),
                    (None, Some(i)) => format!("rds-instance {i}"),
                    (None, None) => format!("{objects} object(s)"),
                };
                Restore { step: st.id.clone(), region, what }
            })
            .collect()
    }

    /// A drill against AWS's own endpoint that succeeded and brought data back: what
    /// `evidence`, `list`, `audit` and the home screen all call a proven drill (each
    /// also asks that the log verifies under the trust root).
    pub fn proves_restore(&self) -> bool {
        self.mode == "drill"
            && self.cloud == "aws"
            && self.endpoint.is_none()
            && self.status == Some(RunStatus::Succeeded)
            && !self.restores().is_empty()
    }

    /// The worst of: the log not verifying, a step failing or the run aborting, an
    /// objective missed, the run not finishing. "succeeded" only when none holds.
    pub fn verdict(&self) -> String {
        if self.tampered {
            return "LOG DOES NOT VERIFY".into();
        }
        if self.unsigned_decides {
            return format!(
                "{}; NOT PROVEN: lines {} carry no signature and were not counted",
                self.signed_verdict(),
                crate::journal::vouch::ranges_words(&self.unsigned_lines)
            );
        }
        self.signed_verdict()
    }

    /// The verdict of the lines a signature vouched for.
    fn signed_verdict(&self) -> String {
        let missed: Vec<&str> = [("RTO", self.rto_met), ("RPO", self.rpo_met)]
            .into_iter()
            .filter(|(_, m)| *m == Some(false))
            .map(|(n, _)| n)
            .collect();
        let objectives = if missed.is_empty() { String::new() } else { format!(", {} not met", missed.join(" and ")) };
        match self.status {
            None => "not finished".into(),
            Some(RunStatus::Succeeded) if missed.is_empty() => "succeeded".into(),
            Some(RunStatus::Succeeded | RunStatus::Missed) => {
                let over = match (self.rto_met, self.service_restored, self.rto_ms) {
                    (Some(false), Some(true), Some(ms)) if ms > self.rto_objective_ms => {
                        format!(" ({} over)", human_ms(ms - self.rto_objective_ms))
                    }
                    _ => String::new(),
                };
                format!("finished{objectives}{over}")
            }
            Some(other) => format!("{}{objectives}", format!("{other:?}").to_lowercase()),
        }
    }
}
