//! Where actions go: one trait, the ports ([`port::Backend`]), with AWS and the simulated
//! cloud behind it; every action written once over them ([`actions`]); the [`Cloud`] a
//! run calls, which wraps the simulator's own part of an action around the backend in a
//! rehearsal; the drill guard.

pub mod actions;
pub mod aws;
pub mod manifest;
pub mod outputs;
pub mod plan;
pub mod port;
pub mod sim;
pub mod teardown;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::{Map, Value as Json};

use crate::clock::Clock;
use crate::event::Mode;
use crate::runbook::action_spec::{ActionSpec, Effect};
use crate::runbook::model::{Catalog, Dataset};
use crate::runbook::raw::Role;
use crate::runbook::time::Timestamp;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One action to perform, arguments resolved.
#[derive(Debug, Clone)]
pub struct ActionCall {
    pub spec: &'static ActionSpec,
    pub args: Map<String, Json>,
    /// Who asks: an action asked twice by the same run and step finds its own earlier
    /// work instead of failing or doing it twice.
    pub run_id: String,
    pub step: String,
}

impl ActionCall {
    pub fn str(&self, name: &str) -> Option<&str> {
        self.args.get(name).and_then(Json::as_str)
    }

    /// A required argument's text (`bucket`, or `from.bucket` inside an object). Missing,
    /// empty (a `${{ }}` that came out blank) or not text is an error naming the
    /// argument — never `""` sent on to a cloud API.
    pub fn required(&self, path: &str) -> Result<&str, ActionError> {
        let mut parts = path.split('.');
        let mut cur = parts.next().and_then(|first| self.args.get(first));
        for p in parts {
            cur = cur.and_then(|c| c.get(p));
        }
        match cur {
            Some(Json::String(s)) if !s.trim().is_empty() => Ok(s),
            other => Err(ActionError::new(
                self.spec.name,
                &self.step,
                "BadArgument",
                format!(
                    "`{path}` is {}",
                    match other {
                        None => "missing",
                        Some(Json::String(_)) => "empty",
                        Some(_) => "not text",
                    }
                ),
            )
            .hint("check the step's `with:` and the inputs its `${{ }}` expressions read")),
        }
    }
    pub fn bool(&self, name: &str) -> bool {
        match self.args.get(name) {
            Some(Json::Bool(b)) => *b,
            Some(Json::String(s)) => s == "true",
            _ => false,
        }
    }
    /// `a.b` inside nested arguments.
    pub fn path(&self, path: &str) -> Option<&str> {
        let mut parts = path.split('.');
        let mut cur = self.args.get(parts.next()?)?;
        for p in parts {
            cur = cur.get(p)?;
        }
        cur.as_str()
    }
}

/// What a provider reports while it works (objects done, instance status, …).
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    Count {
        done: u64,
        total: u64,
        unit: &'static str,
    },
    Line(String),
    /// The action made a resource: recorded in the log the moment it exists, so what a
    /// drill leaves behind can be found and taken down.
    Created {
        kind: &'static str,
        id: String,
        region: String,
        version: Option<String>,
    },
}

pub struct ActionCtx<'a> {
    pub clock: Arc<dyn Clock>,
    pub progress: &'a (dyn Fn(Progress) + Send + Sync),
    pub dataset: &'a Dataset,
    pub incident_started_at: Timestamp,
    /// The outputs the log holds for the confirmed dry run this call is held to (its
    /// `plan_sha256`), on the call's first attempt only: a roll-back then carries out that
    /// plan as confirmed instead of listing the bucket again to plan it anew (a retry or a
    /// resume lists again, and finds less to do).
    pub plan: Option<&'a Map<String, Json>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActionResult {
    pub outputs: Map<String, Json>,
    /// The time of the data a restore brought back.
    pub recovery_point: Option<Timestamp>,
}

/// A failed action, said so that the person on call knows what to check.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{operation} on `{resource}` failed: {message}")]
pub struct ActionError {
    pub operation: String,
    pub resource: String,
    pub code: Option<String>,
    pub message: String,
    pub hint: Option<String>,
    /// Worth retrying (throttling, 5xx, a transient state).
    pub retryable: bool,
    /// Outputs known despite the failure (a posture check that found problems).
    pub outputs: Option<Map<String, Json>>,
}

impl ActionError {
    pub fn new(operation: &str, resource: &str, code: &str, message: impl Into<String>) -> Self {
        ActionError {
            operation: operation.into(),
            resource: resource.into(),
            code: Some(code.into()),
            message: message.into(),
            hint: None,
            retryable: false,
            outputs: None,
        }
    }
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    pub fn retryable(mut self) -> Self {
        self.retryable = true;
        self
    }
}

/// What a run calls its actions on: one backend behind the ports, and in a rehearsal the
/// simulator's own part of an action — the round trip each costs on the model, and the
/// failures the facilitator injects — wrapped around it (as object_store's
/// `ThrottledStore` wraps a store), so nothing of the simulator sits on AWS's path.
#[derive(Clone)]
pub struct Cloud {
    backend: Arc<dyn port::Backend>,
    rehearsal: Option<Arc<sim::Sim>>,
}

impl Cloud {
    /// `sim` or `aws`, as recorded in the log.
    pub fn name(&self) -> &'static str {
        self.backend.name()
    }
    /// The ports, for what reads the cloud without an action (the pre-flight, audit).
    pub fn backend(&self) -> Arc<dyn port::Backend> {
        self.backend.clone()
    }
    pub fn call<'a>(
        &'a self,
        call: &'a ActionCall,
        ctx: &'a ActionCtx<'a>,
    ) -> BoxFuture<'a, Result<ActionResult, ActionError>> {
        Box::pin(async move {
            if let Some(sim) = &self.rehearsal
                && let Some(e) = sim.before_action(call, ctx).await
            {
                return Err(e);
            }
            actions::perform(self.backend.as_ref(), call, ctx).await
        })
    }
}

impl From<Arc<sim::Sim>> for Cloud {
    fn from(sim: Arc<sim::Sim>) -> Cloud {
        Cloud { backend: sim.clone(), rehearsal: Some(sim) }
    }
}

impl From<sim::Sim> for Cloud {
    fn from(sim: sim::Sim) -> Cloud {
        Arc::new(sim).into()
    }
}

impl From<&sim::Sim> for Cloud {
    fn from(sim: &sim::Sim) -> Cloud {
        sim.clone().into()
    }
}

impl From<&aws::Aws> for Cloud {
    fn from(aws: &aws::Aws) -> Cloud {
        aws.clone().into()
    }
}

impl From<Arc<aws::Aws>> for Cloud {
    fn from(aws: Arc<aws::Aws>) -> Cloud {
        Cloud { backend: aws, rehearsal: None }
    }
}

impl From<aws::Aws> for Cloud {
    fn from(aws: aws::Aws) -> Cloud {
        Arc::new(aws).into()
    }
}

/// The drill guard: in a drill or rehearsal, an action that would write to a resource
/// whose catalog role is `production` is refused before any call is made.
/// A dry run that may create an S3 Batch Operations job: `mode: batch`, or `auto` on a
/// bucket with a batch setup. The job is a write waiting to happen (and its manifest a
/// write now), so a drill's guard treats the dry run as the change.
fn batch_job(call: &ActionCall, catalog: &Catalog) -> bool {
    if !call.spec.params.iter().any(|p| p.name == "mode") {
        return false;
    }
    match call.str("mode") {
        Some("batch") => true,
        None | Some("auto") => call
            .spec
            .targets
            .iter()
            .filter_map(|t| call.path(t))
            .any(|id| catalog.datasets.iter().flat_map(|d| &d.resources).any(|r| r.id == id && r.batch.is_some())),
        Some(_) => false,
    }
}

pub fn guard(call: &ActionCall, mode: Mode, catalog: &Catalog) -> Result<(), ActionError> {
    if !mode.guards_production()
        || call.spec.effect == Effect::Read
        || (call.bool("dry_run") && !batch_job(call, catalog))
    {
        return Ok(());
    }
    for target in call.spec.targets {
        let Some(id) = call.path(target) else { continue };
        // A drill writes only to what it makes or what the catalog keeps for drills: never
        // to production, nor to the backup (or replica, or staging) it is there to prove.
        let guarded = [Role::Production, Role::Backup, Role::Replica, Role::Staging];
        if let Some((d, r)) = catalog.resource_in_role(id, &guarded) {
            let e = ActionError::new(
                call.spec.name,
                id,
                "DrillGuard",
                format!(
                    "a {} may not write to `{id}`: it is a {} resource of `{}`",
                    mode.as_str(),
                    r.role.as_str(),
                    d.id
                ),
            );
            return Err(if call.bool("dry_run") {
                e.hint("this dry run would create an S3 Batch Operations job against it: give the step `mode: direct` in a drill")
            } else {
                e.hint("point the step at a resource with role `drill` (or run with --mode live in a real incident)")
            });
        }
    }
    Ok(())
}
