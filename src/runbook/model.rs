//! Checked runbooks, catalogs and answers: once built, they are known to be coherent
//! (ids unique, references resolvable, actions known), so the engine need not re-check.

use serde_json::Value as Json;

use super::action_spec::ActionSpec;
use super::expr::Expr;
use super::raw::{Classification, InputType, OnFailure, ResourceKind, Role, Scenario};
use super::time::Duration;

#[derive(Debug, Clone)]
pub struct Catalog {
    pub datasets: Vec<Dataset>,
    pub evidence: Option<EvidenceStore>,
}

/// Where each run's log is copied as it goes: `s3://bucket/prefix/RUN_ID/`.
#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceStore {
    pub bucket: String,
    pub region: String,
    /// Empty, or ending in `/`.
    pub prefix: String,
}

impl Catalog {
    pub fn get(&self, id: &str) -> Option<&Dataset> {
        self.datasets.iter().find(|d| d.id == id)
    }
    /// The resource named `id` whose role is one of `roles`, and its dataset. Names are
    /// compared as AWS compares them: RDS identifiers are not case-sensitive
    /// (`Ledger-Prod` is `ledger-prod`), and S3 bucket names are lowercase anyway.
    pub fn resource_in_role(&self, id: &str, roles: &[Role]) -> Option<(&Dataset, &Resource)> {
        self.datasets
            .iter()
            .flat_map(|d| d.resources.iter().map(move |r| (d, r)))
            .find(|(_, r)| r.id.eq_ignore_ascii_case(id.trim()) && roles.contains(&r.role))
    }
}

#[derive(Debug, Clone)]
pub struct Location {
    pub region: String,
    pub account: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Resource {
    pub kind: ResourceKind,
    pub id: String,
    pub role: Role,
    pub region: Option<String>,
    /// Held by the simulated cloud as a rule of this size (`sim: { objects: N }`).
    pub sim: Option<SimSize>,
    pub batch: Option<BatchSetup>,
}

/// A bucket's S3 Batch Operations: the job's role, the bucket for its manifest and
/// report, and the copies from which a roll-back uses it unasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchSetup {
    pub role: String,
    pub reports: String,
    pub above: Option<u64>,
}

/// A bucket of `objects` keys spread over `prefixes` prefixes, in the simulated cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimSize {
    pub objects: u64,
    pub prefixes: u64,
}

impl SimSize {
    /// Keys a prefix holds unless the catalog says how many prefixes.
    pub const PER_PREFIX: u64 = 100_000;
    /// The most a simulated bucket holds.
    pub const MAX_OBJECTS: u64 = 1_000_000_000;
}

#[derive(Debug, Clone)]
pub struct Dataset {
    pub id: String,
    pub title: String,
    pub owner: Option<String>,
    pub classification: Classification,
    pub rpo: Duration,
    pub rto: Duration,
    pub primary: Location,
    pub backup: Option<Location>,
    pub resources: Vec<Resource>,
    pub drill_every: Option<Duration>,
}

/// The `dataset.*` names an expression may use.
pub const DATASET_FIELDS: &[&str] = &[
    "id",
    "title",
    "owner",
    "classification",
    "rpo",
    "rto",
    "primary.region",
    "primary.account",
    "backup.region",
    "backup.account",
    "drill_every",
];

/// The `incident.*` names an expression may use.
pub const INCIDENT_FIELDS: &[&str] = &["id", "started_at", "mode", "operator", "runbook"];

impl Dataset {
    /// The value of `dataset.<path>` (text, as expressions see it).
    pub fn field(&self, path: &str) -> Option<String> {
        Some(match path {
            "id" => self.id.clone(),
            "title" => self.title.clone(),
            "owner" => self.owner.clone()?,
            "classification" => self.classification.to_string(),
            "rpo" => self.rpo.to_string(),
            "rto" => self.rto.to_string(),
            "primary.region" => self.primary.region.clone(),
            "primary.account" => self.primary.account.clone()?,
            "backup.region" => self.backup.as_ref()?.region.clone(),
            "backup.account" => self.backup.as_ref()?.account.clone()?,
            "drill_every" => self.drill_every?.to_string(),
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Objectives {
    pub rto: Duration,
    pub rpo: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub enum InputDefault {
    /// `now`: the moment the run starts.
    Now,
    Value(String),
}

#[derive(Debug, Clone)]
pub struct InputDef {
    pub name: String,
    pub ty: InputType,
    pub default: Option<InputDefault>,
    pub description: Option<String>,
    pub secret: bool,
    pub env: Option<String>,
    pub choices: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Runbook {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub dataset: String,
    pub scenario: Scenario,
    /// The runbook's own objectives where given, else the dataset's.
    pub objectives: Objectives,
    pub inputs: Vec<InputDef>,
    pub phases: Vec<Phase>,
}

impl Runbook {
    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.phases.iter().flat_map(|p| p.steps.iter())
    }
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps().find(|s| s.id == id)
    }
    pub fn budget_total(&self) -> Duration {
        Duration(self.phases.iter().map(|p| p.budget.0).sum())
    }
}

#[derive(Debug, Clone)]
pub struct Phase {
    pub id: String,
    pub title: String,
    pub budget: Duration,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone)]
pub struct Expect {
    pub exit_code: u32,
    pub stdout_contains: Option<String>,
}

#[derive(Debug, Clone)]
pub enum WaitKind {
    For(Duration),
    Poll { action: &'static ActionSpec, with: Json, until: Expr, every: Duration },
}

/// What must hold once a step has finished: a check that fails the step, whatever an
/// answers file or a hurried operator says.
#[derive(Debug, Clone, Default)]
pub struct Gates {
    /// `expect.outputs`: each named output must equal this value.
    pub outputs: Vec<(String, Json)>,
    /// `assert:` expressions, with the text as written for messages.
    pub asserts: Vec<(Expr, String)>,
}

impl Gates {
    pub fn is_empty(&self) -> bool {
        self.outputs.is_empty() && self.asserts.is_empty()
    }
}

#[derive(Debug, Clone)]
pub struct Approval {
    pub role: String,
    /// What is being approved, in the runbook's words: shown wherever the approval is
    /// asked for (an approver must see what they approve).
    pub description: Option<String>,
    /// Different people, each with the role, who must say yes.
    pub approvers: u32,
    /// No approver may be the run's operator.
    pub four_eyes: bool,
}

#[derive(Debug, Clone)]
pub enum StepKind {
    Manual { instructions: String, checklist: Vec<String> },
    Approval(Approval),
    Action { action: &'static ActionSpec, with: Json },
    Run { command: String, expect: Expect },
    Wait(WaitKind),
}

impl StepKind {
    pub fn name(&self) -> &'static str {
        match self {
            StepKind::Manual { .. } => "manual",
            StepKind::Approval { .. } => "approval",
            StepKind::Action { .. } => "action",
            StepKind::Run { .. } => "run",
            StepKind::Wait(_) => "wait",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Step {
    pub id: String,
    pub title: String,
    pub kind: StepKind,
    /// Steps of the same phase that must be done first (the step above, when `needs`
    /// is not written).
    pub needs: Vec<String>,
    pub when: Option<Expr>,
    pub timeout: Option<Duration>,
    pub retries: u32,
    pub on_failure: Option<OnFailure>,
    pub milestone: Option<String>,
    pub outputs: Vec<String>,
    pub gates: Gates,
}

impl Step {
    /// The outputs later steps may reference.
    pub fn output_names(&self) -> Vec<&str> {
        match &self.kind {
            StepKind::Action { action, .. } | StepKind::Wait(WaitKind::Poll { action, .. }) => action.outputs.to_vec(),
            _ => self.outputs.iter().map(String::as_str).collect(),
        }
    }
    pub fn restores_data(&self) -> bool {
        matches!(&self.kind, StepKind::Action { action, .. } if action.restores)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Done,
    Rerun,
    Skip(String),
    Fail(String),
    /// One entry per approver, in the order they are asked (`approvers: N` asks N times).
    Approve(Vec<Approver>),
}

/// One person's yes or no on an approval, given in advance in an answers file.
#[derive(Debug, Clone, PartialEq)]
pub struct Approver {
    pub approve: bool,
    pub by: String,
    pub role: Option<String>,
    pub reason: Option<String>,
    /// A signed approval's file (beside it, `FILE.sig`), as written in the answers file;
    /// read relative to the answers file's folder. `by`/`role` are then the signer's.
    pub signed: Option<String>,
}

/// Who holds which role: principals the trust root names (`roles.yaml`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Roles {
    pub people: Vec<(String, Vec<String>)>,
}

impl Roles {
    /// The people (principals) who hold `role`.
    pub fn holders(&self, role: &str) -> Vec<&str> {
        self.people.iter().filter(|(_, r)| r.iter().any(|x| x == role)).map(|(p, _)| p.as_str()).collect()
    }
}

#[derive(Debug, Clone, Default)]
pub struct Answers {
    pub runbook: Option<String>,
    pub operator: Option<String>,
    pub inputs: Vec<(String, String)>,
    pub steps: Vec<(String, Answer)>,
}

impl Answers {
    pub fn step(&self, id: &str) -> Option<&Answer> {
        self.steps.iter().find(|(s, _)| s == id).map(|(_, a)| a)
    }
    pub fn input(&self, name: &str) -> Option<&str> {
        self.inputs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}
