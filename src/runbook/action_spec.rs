//! What an action accepts and produces, so `validate` can check `with:` before anything
//! runs. The table itself lives in `cloud::catalog`, beside the actions.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    String,
    Timestamp,
    Duration,
    Bool,
    Int,
    /// A nested mapping with its own parameters (e.g. `from: {bucket, prefix?}`).
    Object(&'static [Param]),
}

impl ParamType {
    pub fn describe(self) -> &'static str {
        match self {
            ParamType::String => "a string",
            ParamType::Timestamp => "an RFC 3339 timestamp",
            ParamType::Duration => "a duration like `15m`",
            ParamType::Bool => "`true` or `false`",
            ParamType::Int => "a whole number",
            ParamType::Object(_) => "a mapping",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    pub name: &'static str,
    pub ty: ParamType,
    pub required: bool,
    pub doc: &'static str,
}

pub const fn req(name: &'static str, ty: ParamType, doc: &'static str) -> Param {
    Param { name, ty, required: true, doc }
}

pub const fn opt(name: &'static str, ty: ParamType, doc: &'static str) -> Param {
    Param { name, ty, required: false, doc }
}

/// What an action does to the world, which decides confirmations and the drill guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Only reads (checks, comparisons, finding a snapshot).
    Read,
    /// Creates something new (a restored instance, a snapshot copy).
    Create,
    /// Changes or deletes what exists (rolls a bucket back, promotes a replica).
    Modify,
}

/// Every action there is. `cloud::actions` matches on it with no catch-all arm, so an
/// action added here without an implementation and a decoder does not compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionKind {
    S3RestoreToTime,
    S3CopyPrefix,
    S3Compare,
    S3CheckPosture,
    RdsFindSnapshot,
    RdsCopySnapshot,
    RdsRestoreFromSnapshot,
    RdsRestoreToTime,
    RdsPromoteReplica,
    RdsWaitAvailable,
    RdsCheckPosture,
    DynamodbRestoreToTime,
    DynamodbWaitActive,
    DynamodbCheckPosture,
}

#[derive(Debug, Clone, Copy)]
pub struct ActionSpec {
    pub kind: ActionKind,
    pub name: &'static str,
    pub summary: &'static str,
    pub params: &'static [Param],
    /// Groups of parameters of which exactly one must be given (`time` or `latest`).
    pub one_of: &'static [&'static [&'static str]],
    pub outputs: &'static [&'static str],
    /// Restores data, so it reports a `recovery_point` (and counts for regulated data).
    pub restores: bool,
    pub effect: Effect,
    /// Arguments naming what the action writes to (`to.bucket`, `new_instance`), checked
    /// against the catalog's roles before any call: a drill never writes to production.
    pub targets: &'static [&'static str],
}

impl ActionSpec {
    pub fn param(&self, name: &str) -> Option<&'static Param> {
        self.params.iter().find(|p| p.name == name)
    }
}

/// Every action may name the region it acts in.
pub const REGION: Param = opt("region", ParamType::String, "AWS region; default: the dataset's primary region");
