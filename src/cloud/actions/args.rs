//! Reading one argument of `with:` as its type, or failing with its name: the pieces
//! each action's `Args::decode` is made of.

use std::time::Duration as StdDuration;

use serde_json::Value as Json;

use crate::cloud::{ActionCall, ActionError};
use crate::runbook::time::{Duration, Timestamp, parse_timestamp};

fn at<'a>(call: &'a ActionCall, path: &str) -> Option<&'a Json> {
    let mut parts = path.split('.');
    let mut cur = call.args.get(parts.next()?)?;
    for p in parts {
        cur = cur.get(p)?;
    }
    Some(cur)
}

pub fn bad(call: &ActionCall, path: &str, why: impl std::fmt::Display) -> ActionError {
    ActionError::new(call.spec.name, &call.step, "BadArgument", format!("`{path}` {why}"))
        .hint("check the step's `with:` and the inputs its `${{ }}` expressions read")
}

/// Required text: missing, blank or not text fails naming it.
pub fn text<'a>(call: &'a ActionCall, path: &str) -> Result<&'a str, ActionError> {
    call.required(path)
}

/// Optional text, as given (a `prefix: ""` is the whole bucket).
pub fn opt_text<'a>(call: &'a ActionCall, path: &str) -> Result<Option<&'a str>, ActionError> {
    match at(call, path) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad(call, path, "is not text")),
    }
}

/// An optional name (a region, a role, a key): absent is fine, blank is not.
pub fn opt_name<'a>(call: &'a ActionCall, path: &str) -> Result<Option<&'a str>, ActionError> {
    match opt_text(call, path)? {
        Some(s) if s.trim().is_empty() => Err(bad(call, path, "is empty")),
        other => Ok(other),
    }
}

/// `true`/`false` (or their text, from an expression); absent is false.
pub fn flag(call: &ActionCall, path: &str) -> Result<bool, ActionError> {
    match at(call, path) {
        None | Some(Json::Null) => Ok(false),
        Some(Json::Bool(b)) => Ok(*b),
        Some(Json::String(s)) if s == "true" => Ok(true),
        Some(Json::String(s)) if s == "false" => Ok(false),
        Some(_) => Err(bad(call, path, "is not `true` or `false`")),
    }
}

pub fn timestamp(call: &ActionCall, path: &str) -> Result<Timestamp, ActionError> {
    let t = text(call, path)?;
    parse_timestamp(t).map_err(|h| bad(call, path, format_args!("is not a timestamp: {h}")))
}

pub fn opt_timestamp(call: &ActionCall, path: &str) -> Result<Option<Timestamp>, ActionError> {
    match opt_name(call, path)? {
        None => Ok(None),
        Some(_) => timestamp(call, path).map(Some),
    }
}

pub fn opt_duration(call: &ActionCall, path: &str) -> Result<Option<StdDuration>, ActionError> {
    match opt_name(call, path)? {
        None => Ok(None),
        Some(t) => Duration::parse(t)
            .map(|d| Some(StdDuration::from_secs(d.secs())))
            .map_err(|h| bad(call, path, format_args!("is not a duration: {h}"))),
    }
}

/// `time: T` or `latest: true`, exactly one (validate holds that too).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PointInTime {
    Latest,
    At(Timestamp),
}

pub fn point_in_time(call: &ActionCall) -> Result<PointInTime, ActionError> {
    if flag(call, "latest")? {
        if at(call, "time").is_some_and(|t| !t.is_null()) {
            return Err(bad(call, "time", "and `latest: true` are both given: choose one"));
        }
        return Ok(PointInTime::Latest);
    }
    match at(call, "time") {
        None | Some(Json::Null) => Err(bad(call, "time", "is missing (or give `latest: true`)")),
        Some(_) => timestamp(call, "time").map(PointInTime::At),
    }
}
