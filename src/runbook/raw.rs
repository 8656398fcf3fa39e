//! The files exactly as written (every field optional, every value spanned).
//! `check` turns these into the model types that cannot hold an invalid runbook.

use serde_json::{Value as Json, json};

use super::decode::{Cx, Decode, Map, keyword, record};
use super::diag::{Diag, Kind};
use super::time::Duration;
use super::yaml::{Node, Sp};

keyword! {
    /// How carefully a dataset's records must be kept.
    pub enum Classification ("classification") {
        Regulated = "regulated", Confidential = "confidential", Internal = "internal", Public = "public",
    }
}

keyword! {
    /// The failure a runbook recovers from.
    pub enum Scenario ("scenario") {
        RegionOutage = "region-outage", Ransomware = "ransomware", Deletion = "deletion",
        Corruption = "corruption", AccountCompromise = "account-compromise", Drill = "drill", Other = "other",
    }
}

keyword! {
    /// What a resource is for; a drill never writes to `production`.
    pub enum Role ("role") {
        Production = "production", Backup = "backup", Replica = "replica", Drill = "drill", Staging = "staging",
    }
}

keyword! {
    /// The kind of cloud resource.
    pub enum ResourceKind ("resource kind") {
        RdsInstance = "rds-instance", RdsCluster = "rds-cluster", S3Bucket = "s3-bucket",
        DynamodbTable = "dynamodb-table",
    }
}

keyword! {
    /// What happens when a step fails after its retries.
    pub enum OnFailure ("on_failure") {
        Abort = "abort", Continue = "continue", Ask = "ask",
    }
}

keyword! {
    /// The type of a runbook input.
    pub enum InputType ("input type") {
        String = "string", Timestamp = "timestamp", Duration = "duration", Bool = "bool", Int = "int",
    }
}

record! {
    /// Where a dataset lives: a region and an account.
    pub struct Location ("a location") {
        "region" (req) => region: Sp<String>,
        "account" => account: Sp<String>,
    }
}

record! {
    /// A cloud resource a runbook acts on.
    pub struct Resource ("a resource") {
        "kind" (req) => kind: Sp<ResourceKind>,
        "id" (req) => id: Sp<String>,
        "role" (req) => role: Sp<Role>,
        /// Region, when not the dataset's primary region.
        "region" => region: Sp<String>,
        /// Its size in the simulated cloud (a tabletop's bucket of millions); AWS never
        /// reads it.
        "sim" => sim: SimSize,
        /// S3 Batch Operations for a roll-back too big for one machine's copies.
        "batch" => batch: BatchSetup,
    }
}

record! {
    /// How a bucket is rolled back by S3 Batch Operations: the role S3 assumes for the
    /// job, the bucket its manifest and completion report go to, and from how many
    /// copies on a roll-back takes that way by itself.
    pub struct BatchSetup ("the batch setup of a bucket") {
        "role" (req) => role: Sp<String>,
        "reports" (req) => reports: Sp<String>,
        "above" => above: Sp<u32>,
    }
}

record! {
    /// How many objects the simulated cloud holds in a bucket, as a rule rather than as
    /// records, so a tabletop can rehearse a bucket of ten million.
    pub struct SimSize ("the simulated size of a resource") {
        "objects" (req) => objects: Sp<u32>,
        /// The prefixes its keys are spread over (one per 100,000 objects unless given).
        "prefixes" => prefixes: Sp<u32>,
    }
}

record! {
    /// A dataset: its objectives, where it lives and where its backups live.
    pub struct Dataset ("a dataset") {
        "id" (req) => id: Sp<String>,
        "title" (req) => title: Sp<String>,
        "owner" => owner: Sp<String>,
        "classification" (req) => classification: Sp<Classification>,
        /// Most data we may lose, measured in time.
        "rpo" (req) => rpo: Sp<Duration>,
        /// Longest the recovery may take.
        "rto" (req) => rto: Sp<Duration>,
        "primary" (req) => primary: Location,
        "backup" => backup: Location,
        "resources" => resources: Vec<Resource>,
        /// A restore drill is overdue after this.
        "drill_every" => drill_every: Sp<Duration>,
    }
}

record! {
    /// The datasets of a runbook folder (`datasets.yaml`).
    pub struct CatalogFile ("a dataset catalog") {
        "apiVersion" (req) => api_version: Sp<String>,
        "kind" (req) => kind: Sp<String>,
        "datasets" (req) => datasets: Vec<Dataset>,
        /// Where every run's log is copied as it goes (S3 Object Lock, COMPLIANCE).
        "evidence" => evidence: EvidenceBucket,
    }
}

record! {
    /// The bucket that holds an immutable copy of every run's log, written as the run
    /// proceeds: a log deleted or cut on the operator's machine is still there.
    pub struct EvidenceBucket ("the evidence bucket") {
        "bucket" (req) => bucket: Sp<String>,
        "region" (req) => region: Sp<String>,
        /// Keys start with it (`runs/`); each run's copy is under PREFIX/RUN_ID/.
        "prefix" => prefix: Sp<String>,
    }
}

record! {
    /// Objectives of a runbook; may only be stricter than the dataset's.
    pub struct Objectives ("objectives") {
        "rto" => rto: Sp<Duration>,
        "rpo" => rpo: Sp<Duration>,
    }
}

record! {
    /// An input the operator gives when the run starts.
    pub struct Input ("an input") {
        "type" => ty: Sp<InputType>,
        /// A value, or `now` for timestamps.
        "default" => default: Node,
        "description" => description: Sp<String>,
        /// Never shown, logged or reported.
        "secret" => secret: Sp<bool>,
        /// Environment variable that supplies the value.
        "env" => env: Sp<String>,
        /// The only values allowed (a menu in the start form).
        "choices" => choices: Vec<Sp<String>>,
    }
}

record! {
    /// Operators with this role record a yes or no.
    pub struct Approval ("an approval") {
        "role" (req) => role: Sp<String>,
        "description" => description: Sp<String>,
        /// How many different people must approve (default 1).
        "approvers" => approvers: Sp<u32>,
        /// No approver may be the run's operator.
        "four_eyes" => four_eyes: Sp<bool>,
    }
}

record! {
    /// What a step's result must look like: a gate no answers file can wave through.
    pub struct Expect ("expect") {
        /// `run:` steps only.
        "exit_code" => exit_code: Sp<u32>,
        /// `run:` steps only.
        "stdout_contains" => stdout_contains: Sp<String>,
        /// Each named output must equal this value (`action`, `wait` and `run` steps).
        "outputs" => outputs: Map<Node>,
    }
}

record! {
    /// Poll an action until a condition holds.
    pub struct WaitPoll ("a wait") {
        "action" (req) => action: Sp<String>,
        "with" => with: Node,
        /// Expression over `outputs.*` of the polled action.
        "until" (req) => until: Sp<String>,
        "every" => every: Sp<Duration>,
    }
}

/// `wait: 5m` sleeps; `wait: {action, with, until, every}` polls.
#[derive(Debug, Clone)]
pub enum Wait {
    For(Sp<Duration>),
    Poll(WaitPoll),
}

impl Decode for Wait {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        if node.as_str().is_some() {
            Sp::<Duration>::decode(node, cx).map(Wait::For)
        } else {
            WaitPoll::decode(node, cx).map(Wait::Poll)
        }
    }
    fn schema() -> Json {
        json!({"oneOf": [Duration::schema(), WaitPoll::schema()]})
    }
}

record! {
    /// One step; exactly one of `manual`, `approval`, `action`, `run`, `wait` makes its kind.
    pub struct Step ("a step") {
        "id" (req) => id: Sp<String>,
        "title" (req) => title: Sp<String>,
        /// Markdown instructions shown to the operator.
        "manual" => manual: Sp<String>,
        "checklist" => checklist: Vec<Sp<String>>,
        "approval" => approval: Approval,
        /// A built-in action such as `s3.restore_to_time`.
        "action" => action: Sp<String>,
        "with" => with: Node,
        /// A shell command.
        "run" => run: Sp<String>,
        "expect" => expect: Expect,
        /// Expressions that must all hold once the step has finished.
        "assert" => assert: Vec<Sp<String>>,
        "wait" => wait: Wait,
        /// Steps of this phase that must be done first; `[]` starts at once.
        "needs" => needs: Sp<Vec<Sp<String>>>,
        /// Expression; false skips the step with reason "condition false".
        "when" => when: Sp<String>,
        "timeout" => timeout: Sp<Duration>,
        "retries" => retries: Sp<u32>,
        "on_failure" => on_failure: Sp<OnFailure>,
        /// `service-restored` stops the RTO clock.
        "milestone" => milestone: Sp<String>,
        /// Names of the outputs a `run:` or manual step records.
        "outputs" => outputs: Vec<Sp<String>>,
    }
}

record! {
    /// A phase: steps with a share of the RTO.
    pub struct Phase ("a phase") {
        "id" (req) => id: Sp<String>,
        "title" (req) => title: Sp<String>,
        /// Share of the RTO this phase may use.
        "budget" (req) => budget: Sp<Duration>,
        "steps" (req) => steps: Vec<Step>,
    }
}

record! {
    /// The recovery of one dataset from one failure.
    pub struct RunbookFile ("a runbook") {
        "apiVersion" (req) => api_version: Sp<String>,
        "kind" (req) => kind: Sp<String>,
        "id" (req) => id: Sp<String>,
        "title" (req) => title: Sp<String>,
        "description" => description: Sp<String>,
        "dataset" (req) => dataset: Sp<String>,
        "scenario" (req) => scenario: Sp<Scenario>,
        "objectives" => objectives: Objectives,
        "inputs" => inputs: Map<Input>,
        "phases" (req) => phases: Vec<Phase>,
    }
}

record! {
    /// An approval given in advance in an answers file: a signed approval's file
    /// (`signed: FILE`, made with `lifeboat approve --standing`), or a typed name.
    pub struct ApprovalAnswer ("an approval answer") {
        "signed" => signed: Sp<String>,
        "approve" => approve: Sp<bool>,
        "by" => by: Sp<String>,
        "role" => role: Sp<String>,
        "reason" => reason: Sp<String>,
    }
}

/// How a headless run answers one step.
#[derive(Debug, Clone)]
pub enum StepAnswer {
    Done,
    Rerun,
    Skip(Sp<String>),
    Fail(Sp<String>),
    /// One approver, or a list of them for `approvers: N`.
    Approve(Vec<ApprovalAnswer>),
}

impl Decode for StepAnswer {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        const WORDS: &[&str] = &["done", "rerun", "skip", "fail", "approve"];
        if let Some(word) = node.as_str() {
            return match word {
                "done" => Some(StepAnswer::Done),
                "rerun" => Some(StepAnswer::Rerun),
                other => {
                    let mut d =
                        Diag::new(Kind::BadKeyword { what: "answer", text: super::decode::clip(other) }, node.span);
                    d = match super::diag::suggest(other, WORDS.iter().copied()) {
                        Some(s @ ("skip" | "fail")) => d.help(format!("write `{s}: \"<reason>\"`")),
                        Some(s) => d.label(format!("did you mean `{s}`?")),
                        None => d.help(
                            "one of: done, rerun, skip: \"<reason>\", fail: \"<reason>\", {approve: true, by: NAME}",
                        ),
                    };
                    cx.push(d);
                    None
                }
            };
        }
        if let super::yaml::Value::Seq(items) = &node.value {
            let all: Vec<_> = items.iter().filter_map(|i| ApprovalAnswer::decode(i, cx)).collect();
            return (all.len() == items.len() && !all.is_empty()).then_some(StepAnswer::Approve(all));
        }
        let entries = cx.mapping(node, "an answer")?;
        match entries {
            [(k, v)] if k.as_str() == Some("skip") => Sp::<String>::decode(v, cx).map(StepAnswer::Skip),
            [(k, v)] if k.as_str() == Some("fail") => Sp::<String>::decode(v, cx).map(StepAnswer::Fail),
            _ => ApprovalAnswer::decode(node, cx).map(|a| StepAnswer::Approve(vec![a])),
        }
    }
    fn schema() -> Json {
        json!({"oneOf": [
            {"enum": ["done", "rerun"]},
            {"type": "object", "properties": {"skip": {"type": "string"}}, "required": ["skip"], "additionalProperties": false},
            {"type": "object", "properties": {"fail": {"type": "string"}}, "required": ["fail"], "additionalProperties": false},
            ApprovalAnswer::schema(),
            {"type": "array", "items": ApprovalAnswer::schema(), "minItems": 1},
        ]})
    }
}

record! {
    /// Answers for a headless run: the operator, inputs, and each manual or approval step.
    pub struct AnswersFile ("an answers file") {
        "apiVersion" (req) => api_version: Sp<String>,
        "kind" (req) => kind: Sp<String>,
        /// The runbook these answers are for; lets `validate` check step ids.
        "runbook" => runbook: Sp<String>,
        "operator" => operator: Sp<String>,
        "inputs" => inputs: Map<Node>,
        "steps" => steps: Map<StepAnswer>,
    }
}

record! {
    /// A failure the simulated cloud plays during a rehearsal.
    pub struct Inject ("an inject") {
        /// The action that fails (every step using it), e.g. `rds.restore_from_snapshot`.
        "action" => action: Sp<String>,
        /// Or only this step.
        "step" => step: Sp<String>,
        /// Or one request of the simulated cloud (`CopyObject`, `DescribeJob`, …), whichever
        /// step sends it: the next `times` of them fail. Not with `action` or `step`.
        "operation" => operation: Sp<String>,
        /// The error code the cloud answers, e.g. `InsufficientDBInstanceCapacity`.
        "error" (req) => error: Sp<String>,
        "message" => message: Sp<String>,
        /// How many calls fail before it clears (default 1).
        "times" => times: Sp<u32>,
        /// Whether a retry may succeed (throttling, 5xx); default false.
        "retryable" => retryable: Sp<bool>,
    }
}

record! {
    /// One person of the roles file: a principal the trust root names, and their roles.
    pub struct Person ("a person") {
        "principal" (req) => principal: Sp<String>,
        "roles" (req) => roles: Vec<Sp<String>>,
    }
}

record! {
    /// Who holds which role (`roles.yaml` beside `datasets.yaml`): a signed approval
    /// counts for a role only when its signer's principal has that role here.
    pub struct RolesFile ("a roles file") {
        "apiVersion" (req) => api_version: Sp<String>,
        "kind" (req) => kind: Sp<String>,
        "people" (req) => people: Vec<Person>,
    }
}

record! {
    /// Failures for a tabletop rehearsal (`lifeboat tabletop --injects FILE`).
    pub struct InjectsFile ("an injects file") {
        "apiVersion" (req) => api_version: Sp<String>,
        "kind" (req) => kind: Sp<String>,
        "injects" (req) => injects: Vec<Inject>,
    }
}
