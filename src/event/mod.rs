//! The one stream of events a run produces. The journal appends them, views draw them,
//! reports summarise them and resume replays them: nothing else holds the truth of a run.
//! Durations are integer milliseconds and times RFC 3339 UTC: no floats in evidence.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

/// Why a step whose `when:` was false was skipped: the runbook choosing a path, not a
/// deviation from it.
pub const CONDITION_FALSE: &str = "condition false";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// A real incident.
    Live,
    /// A restore drill against the real cloud; writes to `production` resources are refused.
    Drill,
    /// A rehearsal on the simulated cloud; `run:` commands are not executed.
    Tabletop,
    /// Headless replay in CI (`run --cloud sim`): commands run, actions go to the sim.
    Replay,
    /// `lifeboat cleanup`: a drill's leftovers taken down (never counted as a drill).
    Cleanup,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Live => "live",
            Mode::Drill => "drill",
            Mode::Tabletop => "tabletop",
            Mode::Replay => "replay",
            Mode::Cleanup => "cleanup",
        }
    }
    /// A drill acts on the real cloud and must never change production. (A rehearsal
    /// runs only on the simulated cloud, where writing to the simulated production is
    /// exactly what is being rehearsed.)
    pub fn guards_production(self) -> bool {
        matches!(self, Mode::Drill)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Genesis {
    pub tool_version: String,
    pub run_id: String,
    pub runbook_id: String,
    pub runbook_sha256: String,
    pub answers_sha256: Option<String>,
    pub operator: String,
    pub mode: Mode,
    /// OpenSSH public key of the signer, or none when the log is only chained.
    pub signer: Option<String>,
    pub dataset: String,
    pub incident_started_at: String,
    pub rto_ms: u64,
    pub rpo_ms: u64,
    /// `sim` or `aws`.
    pub cloud: String,
    /// How many times faster than real time the clock ran (1 when live).
    pub clock_speed: u32,
    /// Input values as given (secrets as "[redacted]").
    pub inputs: Map<String, Json>,
    /// Whose AWS credentials the run used (STS GetCallerIdentity), for runs against AWS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<Caller>,
    #[serde(flatten)]
    pub provenance: Provenance,
}

/// Where and when a run really happened, beside what the run's own clock says: what an
/// auditor needs to tell a drill against AWS, this week, under this catalog, from one
/// that only claims to be.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// The machine's UTC time when the run began. A rehearsal's clock is virtual and
    /// starts at the incident; evidence periods and "when did this run" use this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall: Option<String>,
    /// SHA-256 of the dataset catalog (`datasets.yaml`) the run began under: a resume
    /// under an edited catalog is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_sha256: Option<String>,
    /// The dataset's resources as that catalog named them (`kind id role region`), so a
    /// refused resume can say what changed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// The endpoint the cloud's requests went to when it is not AWS's own
    /// (`AWS_ENDPOINT_URL`, a profile's `endpoint_url`): such a run is never proof.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

/// A signed approval as a run took it: the document, its SSHSIG, and the signer's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedWord {
    pub document: String,
    pub signature: String,
    pub key: String,
}

/// A range of lines a resume took on without a signature vouching for them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adopted {
    pub from_seq: u64,
    pub to_seq: u64,
    /// SHA-256 of those lines' bytes, each with its newline.
    pub sha256: String,
}

impl Adopted {
    /// "lines 12–14 were unsigned when written, adopted at resume by bob (SHA-256 …)".
    pub fn words(&self, by: &str) -> String {
        format!(
            "lines {}–{} were unsigned when written, adopted at resume by {by} (SHA-256 {})",
            self.from_seq + 1,
            self.to_seq + 1,
            self.sha256.get(..16).unwrap_or(&self.sha256)
        )
    }
}

/// The principal a run against AWS acted as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    pub account: String,
    pub arn: String,
    /// The account differs from the catalog's and the operator chose to go on.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub account_mismatch_ok: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Done,
    Skipped,
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Every step done and every objective met: the only status that exits 0.
    Succeeded,
    /// Every step done, but the RTO or the RPO was missed (exit 3).
    Missed,
    Failed,
    Aborted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Waiting {
    /// A manual step: confirm, skip or fail.
    Confirm,
    /// An approval: yes or no from someone with the role.
    Approval,
    /// A failed step with `on_failure: ask`: retry, continue or abort.
    Decision,
    /// A failed step the run may not go on without (a denied approval, a milestone):
    /// retry (a new approval) or abort; never continue.
    RetryOrAbort,
    /// A rehearsal's `run:` step: the facilitator says how it went.
    Outcome,
    /// An interrupted step on resume: run it again or not.
    Rerun,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    Stdout,
    Stderr,
    Info,
}

/// What an operator said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Confirm,
    Skip,
    Fail,
    Approve,
    Deny,
    Retry,
    Continue,
    Abort,
    Rerun,
}

/// An action's failure, shaped for a person at 3 a.m.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepError {
    pub message: String,
    /// The provider's error code (e.g. `AccessDenied`), when there is one.
    pub code: Option<String>,
    /// What to check or do next.
    pub hint: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TeardownOutcome {
    Deleted,
    /// Asked to delete; the service was still deleting when `cleanup` last looked.
    Deleting,
    /// Not there any more (deleted by hand, or by an earlier cleanup).
    Gone,
    /// Not deleted: not provably the drill's, or a `production`/`backup` resource.
    Refused,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Genesis(Box<Genesis>),
    PhaseStarted {
        phase: String,
        budget_ms: u64,
    },
    StepStarted {
        step: String,
        attempt: u32,
        /// The resolved command or action arguments (secrets redacted).
        detail: Option<String>,
    },
    /// A `run:` command's process group, so a resume can find it if lifeboat died while
    /// it ran (the boot and the group leader's start time tell it from a reused id).
    ProcessStarted {
        step: String,
        pgid: u32,
        boot_id: String,
        start_ticks: u64,
    },
    StepOutput {
        step: String,
        stream: Stream,
        text: String,
    },
    /// A step's output beyond its cap, kept in a file beside the log rather than in it:
    /// the file's SHA-256 here is what `verify` checks it against.
    OutputAside {
        step: String,
        /// The file's name, in the log's folder.
        file: String,
        bytes: u64,
        lines: u64,
        sha256: String,
    },
    StepProgress {
        step: String,
        done: u64,
        total: u64,
        unit: String,
    },
    /// A resource the step made (an instance or a table, tagged `lifeboat:run` and
    /// `lifeboat:step`; a snapshot copy), recorded the moment it exists.
    ResourceCreated {
        step: String,
        kind: String,
        id: String,
        region: String,
        /// Of an `s3-object` (`id` is `bucket/key`): the version the step wrote, the one
        /// thing `cleanup` may delete there.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<String>,
    },
    /// What `cleanup` did with one resource a drill made (refusals are evidence too).
    Teardown {
        step: String,
        kind: String,
        id: String,
        region: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<String>,
        outcome: TeardownOutcome,
        reason: Option<String>,
    },
    StepWaiting {
        step: String,
        waiting_for: Waiting,
        prompt: Option<String>,
    },
    Answer {
        step: Option<String>,
        verdict: Verdict,
        by: String,
        role: Option<String>,
        reason: Option<String>,
        /// The signed approval behind the answer, copied whole so the log alone proves it
        /// (`ssh-keygen -Y verify -n lifeboat-approval`); none for a typed name, which
        /// is a claim, recorded as typed and unverified.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signed: Option<SignedWord>,
    },
    Note {
        by: String,
        text: String,
    },
    StepRetry {
        step: String,
        attempt: u32,
        error: String,
        backoff_ms: u64,
    },
    StepFinished {
        step: String,
        status: StepStatus,
        reason: Option<String>,
        outputs: Map<String, Json>,
        duration_ms: u64,
        recovery_point: Option<String>,
        error: Option<StepError>,
    },
    PhaseFinished {
        phase: String,
        status: StepStatus,
        elapsed_ms: u64,
        budget_ms: u64,
    },
    Milestone {
        name: String,
    },
    Warning {
        code: String,
        message: String,
    },
    Resumed {
        by: String,
        /// Steps that had started but not finished when the run stopped.
        interrupted: Vec<String>,
        /// Lines no checkpoint signed when they were written, taken on by this resume in
        /// the open (verify and report name them); none for an unsigned log.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        adopted: Option<Adopted>,
    },
    /// The run passes to another operator; every later answer is theirs.
    HandOff {
        from: String,
        to: String,
    },
    /// A person ticked (or unticked) a checklist item: evidence, like any answer.
    Checklist {
        step: String,
        /// 0-based index into the step's checklist.
        item: u32,
        text: String,
        ticked: bool,
        by: String,
    },
    /// The run stopped without finishing (a signal, `q`, a question no one could
    /// answer): the log is kept, resumable.
    Detached {
        by: String,
        reason: String,
    },
    RunFinished {
        status: RunStatus,
        reason: Option<String>,
        rto_ms: u64,
        rto_met: bool,
        rpo_ms: Option<u64>,
        rpo_met: Option<bool>,
        /// The `service-restored` milestone (else the last step) was reached.
        #[serde(default)]
        service_restored: bool,
    },
    /// Written by the journal: an SSHSIG over every byte before this line.
    Checkpoint {
        signature: String,
        /// The machine's UTC time (the line's `time` is the run's clock).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wall: Option<String>,
    },
    /// Written by the journal on resume: a torn last line moved aside.
    Recovered {
        torn_bytes: u64,
        moved_to: String,
    },
    /// Written by the journal: the run is over and the log complete.
    Sealed {
        events: u64,
        /// The genesis's run id again, so a seal cannot be spliced in from another run.
        run_id: String,
    },
}

/// Every event type lifeboat writes (what `name()` returns); `verify` treats a line of
/// any other type as damaged.
pub const EVENT_TYPES: &[&str] = &[
    "genesis",
    "phase_started",
    "step_started",
    "process_started",
    "step_output",
    "output_aside",
    "step_progress",
    "resource_created",
    "teardown",
    "step_waiting",
    "answer",
    "note",
    "step_retry",
    "step_finished",
    "phase_finished",
    "milestone",
    "warning",
    "resumed",
    "hand_off",
    "checklist",
    "detached",
    "run_finished",
    "checkpoint",
    "recovered",
    "sealed",
];

/// Fields that hold structure, never free text: redaction and display cleaning leave
/// them as they are.
pub const STRUCTURE: &[&str] = &[
    "type",
    "signed",
    "seq",
    "prev",
    "time",
    "step",
    "phase",
    "run_id",
    "runbook_id",
    "runbook_sha256",
    "answers_sha256",
    "tool_version",
    "signer",
    "signature",
    "dataset",
    "incident_started_at",
    "mode",
    "cloud",
    "status",
    "verdict",
    "waiting_for",
    "code",
    "stream",
    "unit",
    "recovery_point",
    "moved_to",
    "file",
    "interrupted",
    "account",
    "arn",
    "name",
];

impl Event {
    /// The step the event is about, if any: what the event log filters on.
    pub fn step(&self) -> Option<&str> {
        match self {
            Event::StepStarted { step, .. }
            | Event::ProcessStarted { step, .. }
            | Event::StepOutput { step, .. }
            | Event::OutputAside { step, .. }
            | Event::StepProgress { step, .. }
            | Event::ResourceCreated { step, .. }
            | Event::Teardown { step, .. }
            | Event::StepWaiting { step, .. }
            | Event::StepRetry { step, .. }
            | Event::StepFinished { step, .. }
            | Event::Checklist { step, .. } => Some(step),
            Event::Answer { step, .. } => step.as_deref(),
            _ => None,
        }
    }

    /// The same event with `f` applied to every free-text string (outputs, output lines,
    /// reasons, notes, details, prompts, input values), never to its structure.
    pub fn map_text(&self, f: &dyn Fn(&str) -> String) -> Result<Event, String> {
        fn walk(v: &mut Json, f: &dyn Fn(&str) -> String) {
            match v {
                Json::String(s) => *s = f(s),
                Json::Array(items) => items.iter_mut().for_each(|i| walk(i, f)),
                Json::Object(map) => {
                    for (k, v) in map.iter_mut() {
                        // A digest is kept exact whatever it holds by chance (a hex
                        // secret inside it): a resume builds a plan's path from it.
                        if !STRUCTURE.contains(&k.as_str()) && !k.ends_with("sha256") {
                            walk(v, f);
                        }
                    }
                }
                _ => {}
            }
        }
        let mut value = serde_json::to_value(self).map_err(|e| format!("an event does not serialize: {e}"))?;
        walk(&mut value, f);
        serde_json::from_value(value).map_err(|e| format!("an event's text changed its shape: {e}"))
    }

    pub fn name(&self) -> &'static str {
        match self {
            Event::Genesis(_) => "genesis",
            Event::PhaseStarted { .. } => "phase_started",
            Event::StepStarted { .. } => "step_started",
            Event::ProcessStarted { .. } => "process_started",
            Event::StepOutput { .. } => "step_output",
            Event::OutputAside { .. } => "output_aside",
            Event::StepProgress { .. } => "step_progress",
            Event::ResourceCreated { .. } => "resource_created",
            Event::Teardown { .. } => "teardown",
            Event::StepWaiting { .. } => "step_waiting",
            Event::Answer { .. } => "answer",
            Event::Note { .. } => "note",
            Event::StepRetry { .. } => "step_retry",
            Event::StepFinished { .. } => "step_finished",
            Event::PhaseFinished { .. } => "phase_finished",
            Event::Milestone { .. } => "milestone",
            Event::Warning { .. } => "warning",
            Event::Resumed { .. } => "resumed",
            Event::HandOff { .. } => "hand_off",
            Event::Checklist { .. } => "checklist",
            Event::Detached { .. } => "detached",
            Event::RunFinished { .. } => "run_finished",
            Event::Checkpoint { .. } => "checkpoint",
            Event::Recovered { .. } => "recovered",
            Event::Sealed { .. } => "sealed",
        }
    }
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub seq: u64,
    /// SHA-256 (hex) of the previous line's exact bytes; 64 zeros for line 0.
    pub prev: String,
    pub time: String,
    #[serde(flatten)]
    pub event: Event,
}

/// The prompt of a change that waits for the resource's name to be typed; a front end finds
/// the name again with [`typed_name`].
pub fn typed_prompt(target: &str, action: &str, plan: Option<&str>) -> String {
    let mut p = format!("type `{target}` to confirm: {action} will change {target}");
    if let Some(plan) = plan {
        p.push('\n');
        p.push_str(plan);
    }
    p
}

/// A [`typed_prompt`] read back: the name to type, what changes, and the plan if one was
/// made first. `None` for any other prompt.
#[derive(Debug, PartialEq, Eq)]
pub struct Typed<'a> {
    pub name: &'a str,
    pub change: &'a str,
    pub plan: Option<&'a str>,
}

pub fn typed_parts(prompt: &str) -> Option<Typed<'_>> {
    let rest = prompt.strip_prefix("type `")?;
    let (name, rest) = rest.split_once('`')?;
    let rest = rest.strip_prefix(" to confirm: ")?;
    let (change, plan) = match rest.split_once('\n') {
        Some((c, p)) => (c, Some(p)),
        None => (rest, None),
    };
    Some(Typed { name, change, plan })
}

/// The name a [`typed_prompt`] asks for; `None` for any other prompt.
pub fn typed_name(prompt: &str) -> Option<&str> {
    typed_parts(prompt).map(|t| t.name)
}

#[cfg(test)]
mod tests;
