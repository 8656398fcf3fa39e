//! Reports of a run, from its log alone: a Markdown timeline, JUnit XML for CI, and a
//! JSON summary. Who did what and when, each phase against its budget, RTO and RPO
//! against the objectives, failures and skips with reasons, and whether the log verified.

use std::time::Duration as StdDuration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use serde::Serialize;

use crate::event::{Event, Record, RunStatus, StepStatus, Stream, Verdict, Waiting};
pub use crate::format::{human_ms, json_text};

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

fn did(s: &mut Summary, name: &str, what: String) {
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
fn signed_words(w: &crate::event::SignedWord) -> String {
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

fn push(s: &mut Summary, r: &Record, who: Option<String>, what: String) {
    s.timeline.push(Entry { time: r.time.clone(), who, what });
}

fn yes_no(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "met",
        Some(false) => "**missed**",
        None => "—",
    }
}

/// The RTO's verdict as the report and JUnit say it; "—" while the run is unfinished.
fn rto_words(s: &Summary) -> Option<String> {
    Some(crate::objectives::rto_words(s.rto_ms?, s.rto_objective_ms, s.service_restored.unwrap_or(false)))
}

fn rto_cell(s: &Summary) -> String {
    match (s.rto_met, s.rto_ms, s.service_restored) {
        (Some(true), ..) => "met".into(),
        (Some(false), _, Some(false) | None) => "**not met: service not restored**".into(),
        (Some(false), Some(ms), _) => {
            format!("**not met: {} over**", human_ms(ms.saturating_sub(s.rto_objective_ms)))
        }
        _ => yes_no(s.rto_met).into(),
    }
}

pub fn markdown(s: &Summary) -> String {
    let mut md = String::new();
    md += &format!("# {} — {}\n\n", s.runbook_id, s.verdict());
    use crate::printable::cell;
    md += &format!(
        "| | |\n|---|---|\n| run | `{}` |\n| dataset | `{}` |\n| mode | {} on {} |\n| operator | {} |\n| incident started | {} |\n",
        cell(&s.run_id),
        cell(&s.dataset),
        cell(&s.mode),
        cell(&s.cloud),
        cell(&s.operator),
        cell(&s.incident_started_at)
    );
    if let Some(r) = &s.reason {
        md += &format!("| outcome | {} |\n", cell(r));
    }
    if let Some(e) = &s.endpoint {
        md += &format!("| **endpoint** | {} (not AWS's own: this run proves nothing about AWS) |\n", cell(e));
    }
    for a in &s.adopted {
        md += &format!("| **unsigned lines** | {} |\n", cell(a));
    }
    md += &format!(
        "| log | {} |\n\n",
        cell(&s.verification.clone().unwrap_or_else(|| if s.signed {
            "signed".into()
        } else {
            "chained, unsigned".into()
        }))
    );
    md += "## Objectives\n\n| | objective | achieved | |\n|---|---|---|---|\n";
    md += &format!(
        "| RTO | {} | {} | {} |\n",
        human_ms(s.rto_objective_ms),
        s.rto_ms.map(human_ms).unwrap_or("—".into()),
        rto_cell(s)
    );
    md += &format!(
        "| RPO | {} | {} | {} |\n\n",
        human_ms(s.rpo_objective_ms),
        s.rpo_ms.map(human_ms).unwrap_or("—".into()),
        yes_no(s.rpo_met)
    );
    if !s.inputs.is_empty() {
        md += "## Inputs\n\n| input | value |\n|---|---|\n";
        for (k, v) in &s.inputs {
            md += &format!("| {} | {} |\n", cell(k), cell(&json_text(v)));
        }
        md += "\n";
    }
    md += "## Phases\n\n| phase | budget | took | |\n|---|---|---|---|\n";
    for p in &s.phases {
        md += &format!(
            "| {} | {} | {} | {} |\n",
            p.id,
            human_ms(p.budget_ms),
            p.elapsed_ms.map(human_ms).unwrap_or("—".into()),
            if p.over_budget { "**over budget**" } else { "" }
        );
    }
    md += "\n## Steps\n\n| step | phase | status | took | detail |\n|---|---|---|---|---|\n";
    for st in &s.steps {
        let status = st.status.map(|x| format!("{x:?}").to_lowercase()).unwrap_or_else(|| "interrupted".into());
        let mut detail = st.reason.clone().unwrap_or_default();
        if let Some(rp) = &st.recovery_point {
            detail = format!("recovery point {rp}");
        }
        if let Some(h) = &st.hint {
            detail += &format!(" (hint: {h})");
        }
        md +=
            &format!("| {} | {} | {} | {} | {} |\n", st.id, st.phase, status, human_ms(st.duration_ms), cell(&detail));
    }
    if s.steps.iter().any(|st| !st.outputs.is_empty()) {
        md += "\n## Outputs\n\n| step | output | value |\n|---|---|---|\n";
        for st in s.steps.iter().filter(|st| !st.outputs.is_empty()) {
            for (k, v) in &st.outputs {
                md += &format!("| {} | {} | {} |\n", cell(&st.id), cell(k), cell(&json_text(v)));
            }
        }
    }
    if !s.created.is_empty() {
        md += "\n## Resources created\n\n| step | kind | id | region | when (UTC) |\n|---|---|---|---|---|\n";
        for c in &s.created {
            md += &format!(
                "| {} | {} | {} | {} | {} |\n",
                cell(&c.step),
                cell(&c.kind),
                cell(&c.id),
                cell(&c.region),
                cell(&c.time)
            );
        }
    }
    if !s.sign_offs.is_empty() {
        md += "\n## Sign-offs\n\n";
        for line in &s.sign_offs {
            md += &format!("- {}\n", cell(line).replace('<', "&lt;"));
        }
    }
    if !s.teardown.is_empty() {
        md += "\n## Teardown\n\n| outcome | kind | id | region | why | when (UTC) |\n|---|---|---|---|---|---|\n";
        for t in &s.teardown {
            let id = match &t.version {
                Some(v) => format!("{} (version {v})", t.id),
                None => t.id.clone(),
            };
            md += &format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                format!("{:?}", t.outcome).to_lowercase(),
                cell(&t.kind),
                cell(&id),
                cell(&t.region),
                cell(t.reason.as_deref().unwrap_or("")),
                cell(&t.time)
            );
        }
    }
    if !s.participants.is_empty() {
        md += "\n## Participants\n\n| who | what they did |\n|---|---|\n";
        for p in &s.participants {
            md += &format!("| {} | {} |\n", cell(&p.name), cell(&p.did.join("; ")));
        }
    }
    if !s.checklists.is_empty() {
        md += "\n## Checklists\n\n| step | item | state | by | when (UTC) |\n|---|---|---|---|---|\n";
        for c in &s.checklists {
            md += &format!(
                "| {} | {} | {} | {} | {} |\n",
                cell(&c.step),
                cell(&c.text),
                if c.ticked { "☑ ticked" } else { "☐ unticked" },
                cell(&c.by),
                cell(&c.time)
            );
        }
    }
    md += "\n## Timeline\n\n| time (UTC) | who | what |\n|---|---|---|\n";
    for e in &s.timeline {
        md += &format!("| {} | {} | {} |\n", cell(&e.time), cell(&e.who.clone().unwrap_or_default()), cell(&e.what));
    }
    md
}

pub fn json(s: &Summary) -> String {
    serde_json::to_string_pretty(s).expect("summaries serialize")
}

pub fn junit(s: &Summary) -> String {
    let mut suite = TestSuite::new(s.runbook_id.clone());
    for st in &s.steps {
        let mut status = match st.status {
            Some(StepStatus::Done) => TestCaseStatus::success(),
            Some(StepStatus::Skipped) => TestCaseStatus::skipped(),
            Some(StepStatus::Failed) => TestCaseStatus::non_success(NonSuccessKind::Failure),
            None => TestCaseStatus::non_success(NonSuccessKind::Error),
        };
        if let Some(reason) = &st.reason {
            status.set_message(reason.clone());
        } else if st.status.is_none() {
            status.set_message("interrupted: the step did not finish");
        }
        let mut case = TestCase::new(st.id.clone(), status);
        case.set_classname(format!("{}.{}", s.runbook_id, st.phase));
        case.set_time(StdDuration::from_millis(st.duration_ms));
        suite.add_test_case(case);
    }
    for (name, met, achieved, objective) in
        [("RTO", s.rto_met, s.rto_ms, s.rto_objective_ms), ("RPO", s.rpo_met, s.rpo_ms, s.rpo_objective_ms)]
    {
        let met = if s.unsigned_decides { Some(false) } else { met };
        let mut status = match met {
            Some(true) => TestCaseStatus::success(),
            Some(false) => TestCaseStatus::non_success(NonSuccessKind::Failure),
            None => TestCaseStatus::skipped(),
        };
        status.set_message(match (name, rto_words(s)) {
            _ if s.unsigned_decides => format!("{name} not proven: {}", s.verdict()),
            ("RTO", Some(words)) => format!("RTO {words}"),
            _ => format!(
                "{name} {} against an objective of {}",
                achieved.map(human_ms).unwrap_or("not measured".into()),
                human_ms(objective)
            ),
        });
        let mut case = TestCase::new(format!("objective {name}"), status);
        case.set_classname(format!("{}.objectives", s.runbook_id));
        suite.add_test_case(case);
    }
    if s.tampered {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status.set_message(s.verification.clone().unwrap_or_else(|| "the incident log does not verify".into()));
        let mut case = TestCase::new("incident log verifies", status);
        case.set_classname(format!("{}.evidence", s.runbook_id));
        suite.add_test_case(case);
    }
    let mut report = Report::new("lifeboat");
    report.add_test_suite(suite);
    report.to_string().expect("junit serializes")
}

/// When a finished run ended by the machine's clock (the last checkpoint's wall time,
/// the seal's) in a log whose genesis keeps both clocks; by the run's own clock in an
/// older log; none for a run that did not finish.
pub fn ended_at(records: &[Record]) -> Option<String> {
    let end = records.iter().rev().find(|r| matches!(r.event, Event::RunFinished { .. }))?;
    let two_clocks =
        matches!(records.first().map(|r| &r.event), Some(Event::Genesis(g)) if g.provenance.wall.is_some());
    let wall = records.iter().rev().find_map(|r| match &r.event {
        Event::Checkpoint { wall: Some(w), .. } if two_clocks => Some(w.clone()),
        _ => None,
    });
    Some(wall.unwrap_or_else(|| end.time.clone()))
}

/// The last successful restore drill of each dataset, from the logs in `dir`: only
/// sealed, intact logs of `--mode drill` runs against AWS's own endpoint that succeeded,
/// brought data back (`Summary::proves_restore`) and are signed by a key the trust root
/// names count (a drill on the simulated cloud proves
/// nothing about the real backups; an unsigned log, anyone could have written). Without a
/// trust root, nothing counts.
pub fn last_drills(
    dir: &std::path::Path,
    trust: Option<&crate::journal::trust::AllowedSigners>,
) -> std::collections::HashMap<String, crate::runbook::time::Timestamp> {
    let mut out: std::collections::HashMap<String, crate::runbook::time::Timestamp> = Default::default();
    let Some(trust) = trust else { return out };
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
    {
        let Ok(bytes) = std::fs::read(&path) else { continue };
        let sig = std::fs::read_to_string(crate::journal::sig_path(&path)).ok();
        let v = crate::journal::verify::verify_bytes(&bytes, sig.as_deref(), Some(trust));
        if v.tampered.is_some() || !v.sealed || v.signer_identity.is_none() {
            continue;
        }
        let records = crate::journal::records(&bytes);
        let s = summarize(&records);
        let ended = ended_at(&records);
        if s.proves_restore()
            && let Some(t) = ended.and_then(|at| crate::runbook::time::parse_timestamp(&at).ok())
        {
            let e = out.entry(s.dataset.clone()).or_insert(t);
            *e = (*e).max(t);
        }
    }
    out
}

/// A line as a person is shown it: at most `SHOWN_CHARS` (the log keeps more).
const SHOWN_CHARS: usize = 2000;

fn shown_part(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(SHOWN_CHARS) {
        None => text.into(),
        Some((at, _)) => {
            format!("{} … [{} more characters in the log]", &text[..at], text[at..].chars().count()).into()
        }
    }
}

/// The lines an event is worth to a person: the progress lines, the TUI's event log
/// (none, one, or a batch of a command's output, a line each). Control characters from
/// outside are shown, never sent to the terminal.
pub fn lines(e: &Event) -> Vec<String> {
    if let Event::StepOutput { step, stream, text } = e {
        let mark = if *stream == Stream::Stderr { "!" } else { "│" };
        return text
            .split('\n')
            .map(|t| crate::printable::line(&format!("  {step} {mark} {}", shown_part(t))).into_owned())
            .collect();
    }
    raw_line(e).map(|l| crate::printable::line(&l).into_owned()).into_iter().collect()
}

fn raw_line(e: &Event) -> Option<String> {
    Some(match e {
        Event::Genesis(g) => {
            format!("▶ {} ({} on {}, operator {})", g.runbook_id, g.mode.as_str(), g.cloud, g.operator)
        }
        Event::PhaseStarted { phase, budget_ms } => format!("── phase {phase} (budget {})", human_ms(*budget_ms)),
        Event::StepStarted { step, attempt, detail } => {
            format!(
                "▶ {step}{}{}",
                if *attempt > 1 { format!(" (attempt {attempt})") } else { String::new() },
                detail.as_ref().map(|d| format!(": {d}")).unwrap_or_default()
            )
        }
        Event::StepOutput { .. } => return None,
        Event::OutputAside { step, file, bytes, lines, .. } => format!(
            "  {step} ⤷ {lines} more line(s) of output ({:.1} MiB) over the log's cap, kept in {file}",
            *bytes as f64 / (1024.0 * 1024.0)
        ),
        Event::StepWaiting { step, waiting_for, .. } => format!(
            "? {step} waits for {}",
            match waiting_for {
                Waiting::Confirm => "confirmation",
                Waiting::Approval => "approval",
                Waiting::Decision => "a decision",
                Waiting::RetryOrAbort => "a retry or an abort",
                Waiting::Outcome => "the rehearsed outcome",
                Waiting::Rerun => "a decision to re-run",
            }
        ),
        Event::Answer { step, verdict, by, role, reason, signed } => format!(
            "✎ {by}{} {}{}{}{}",
            role.as_ref().map(|r| format!(" ({r})")).unwrap_or_default(),
            verdict_words(verdict),
            step.as_ref().map(|s| format!(" `{s}`")).unwrap_or_default(),
            signed.as_ref().map(signed_words).unwrap_or_default(),
            reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default()
        ),
        Event::Note { by, text } => format!("✎ note by {by}: {text}"),
        Event::StepRetry { step, attempt, error, backoff_ms } => {
            format!("↻ {step}: {error}; attempt {attempt} in {}", human_ms(*backoff_ms))
        }
        Event::StepFinished { step, status, reason, duration_ms, recovery_point, error, .. } => {
            let mark = match status {
                StepStatus::Done => "✓",
                StepStatus::Skipped => "↷",
                StepStatus::Failed => "✗",
            };
            let mut line =
                format!("{mark} {step} {} ({})", format!("{status:?}").to_lowercase(), human_ms(*duration_ms));
            if let Some(rp) = recovery_point {
                line.push_str(&format!(", recovery point {rp}"));
            }
            if let Some(r) = reason.as_ref().filter(|_| error.is_none()) {
                line.push_str(&format!(": {r}"));
            }
            if let Some(e) = error {
                line.push_str(&format!(": {}", e.message));
                if let Some(h) = &e.hint {
                    line.push_str(&format!(" (hint: {h})"));
                }
            }
            line
        }
        Event::PhaseFinished { phase, elapsed_ms, budget_ms, .. } => {
            format!("── {phase} took {} of its {} budget", human_ms(*elapsed_ms), human_ms(*budget_ms))
        }
        Event::Milestone { name } => format!("★ milestone {name}"),
        Event::Warning { message, .. } => format!("⚠ {message}"),
        Event::Resumed { by, interrupted, adopted } => format!(
            "▶ resumed by {by}{}{}",
            if interrupted.is_empty() { String::new() } else { format!("; interrupted: {}", interrupted.join(", ")) },
            adopted.as_ref().map(|a| format!("; ⚠ {}", a.words(by))).unwrap_or_default()
        ),
        Event::Recovered { torn_bytes, moved_to } => {
            format!("⚠ a torn last line ({torn_bytes} bytes) was moved to {moved_to}")
        }
        Event::Detached { by, reason } => format!("⏸ run left by {by}: {reason} (the log can be resumed)"),
        Event::HandOff { from, to } => format!("⇄ {from} handed the run to {to}"),
        Event::Checklist { step, text, ticked, by, .. } => {
            format!(
                "{} {step}: {text} ({} by {by})",
                if *ticked { "☑" } else { "☐" },
                if *ticked { "ticked" } else { "unticked" }
            )
        }
        Event::RunFinished { status, rto_met, rpo_met, service_restored, .. } => {
            format!("■ run {}", crate::objectives::ending_words(*status, *rto_met && *service_restored, *rpo_met))
        }
        Event::Teardown { kind, id, region, version, outcome, reason, .. } => {
            let what = match version {
                Some(v) => format!("{kind} {id} (version {v}) in {region}"),
                None => format!("{kind} {id} in {region}"),
            };
            let outcome = format!("{outcome:?}").to_lowercase();
            match reason {
                Some(why) => format!("− {outcome}: {what} ({why})"),
                None => format!("− {outcome}: {what}"),
            }
        }
        Event::ResourceCreated { step, kind, id, region, version } => match version {
            Some(v) => format!("+ {step} created {kind} {id} (version {v}) in {region}"),
            None => format!("+ {step} created {kind} {id} in {region}"),
        },
        Event::StepProgress { .. } | Event::ProcessStarted { .. } | Event::Checkpoint { .. } | Event::Sealed { .. } => {
            return None;
        }
    })
}
