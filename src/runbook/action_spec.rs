//! What an action accepts and produces, so `validate` can check `with:` before anything
//! runs. The table itself is `runbook::action_table`; the actions behind it are in
//! `cloud::actions`.

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

/// What an output holds: the docs say it, and every call an action makes in the tests
/// is held to it (a count is a JSON number, never `"3"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A whole number, zero or more.
    Count,
    /// `true` or `false`.
    Flag,
    /// A UTC time to the second, or to the millisecond when it has a fraction (a
    /// recovery point 65 ms after an incident began must not read as its start):
    /// `2026-11-24T02:59:00Z`, `2026-11-24T02:59:00.065Z`.
    Time,
    /// A time as above, or `none`.
    TimeOrNone,
    /// Text (an id, a region, a setting as AWS names it).
    Text,
    /// 64 lowercase hexadecimal characters.
    Digest,
    /// A list of texts.
    Names,
}

impl Shape {
    pub fn describe(self) -> &'static str {
        match self {
            Shape::Count => "whole number",
            Shape::Flag => "`true` / `false`",
            Shape::Time => "UTC time (`2026-11-24T02:59:00Z`, or `…:00.065Z` to the millisecond)",
            Shape::TimeOrNone => "UTC time, or `none`",
            Shape::Text => "text",
            Shape::Digest => "SHA-256, 64 hex digits",
            Shape::Names => "list of texts",
        }
    }

    /// Whether `v` is a value of this shape.
    pub fn holds(self, v: &serde_json::Value) -> bool {
        use serde_json::Value as J;
        let time = |s: &str| {
            let shaped = s.len() == 20 || (s.len() == 24 && s.as_bytes()[19] == b'.');
            shaped && s.ends_with('Z') && crate::runbook::time::parse_timestamp(s).is_ok()
        };
        match (self, v) {
            (Shape::Count, J::Number(n)) => n.is_u64(),
            (Shape::Flag, J::Bool(_)) => true,
            (Shape::Time, J::String(s)) => time(s),
            (Shape::TimeOrNone, J::String(s)) => s == "none" || time(s),
            (Shape::Text, J::String(_)) => true,
            (Shape::Digest, J::String(s)) => {
                s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            }
            (Shape::Names, J::Array(items)) => items.iter().all(|i| i.is_string()),
            _ => false,
        }
    }
}

/// One output an action may give: what it holds, in what form, an example.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputDoc {
    pub name: &'static str,
    pub shape: Shape,
    pub doc: &'static str,
    pub example: &'static str,
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
