//! Every action, written once over the ports (`cloud::port`), one file each. Both clouds
//! run this code: a rehearsal on the simulated cloud pages, copies in parts, retries and
//! verifies exactly as the night against AWS will.
//!
//! Each action file holds its typed arguments (`Args::decode`, from the step's `with:`,
//! once: a missing or malformed argument is an error naming it, never `""`) and `run`.

mod args;
mod dynamodb_check_posture;
mod dynamodb_restore_to_time;
mod dynamodb_wait_active;
mod key_ranges;
mod listing;
mod rds_check_posture;
mod rds_copy_snapshot;
mod rds_find_snapshot;
mod rds_instance;
mod rds_promote_replica;
mod rds_restore_from_snapshot;
mod rds_restore_to_time;
mod rds_wait_available;
mod s3_batch;
mod s3_changes;
mod s3_check_posture;
mod s3_compare;
mod s3_copy_prefix;
mod s3_object;
pub mod s3_restore_to_time;
mod tasks;
mod wait;

use std::sync::Arc;

pub use s3_object::{MIN_PART, ranges};

use serde_json::{Map, Value as Json, json};

use super::port::dynamodb::DynamoApi;
use super::port::rds::RdsApi;
use super::port::s3::S3Api;
use super::port::{ApiError, Backend, Reach};
use super::{ActionCall, ActionCtx, ActionError, ActionResult, BoxFuture, outputs};
use crate::runbook::action_spec::ActionKind;

/// What an action works with: the call, the run's context, and the cloud's ports.
pub struct Env<'a> {
    pub backend: &'a dyn Backend,
    pub call: &'a ActionCall,
    pub ctx: &'a ActionCtx<'a>,
    /// The step's `region:`, else the dataset's primary region.
    pub region: String,
}

impl Env<'_> {
    pub fn op(&self) -> &'static str {
        self.call.spec.name
    }
    fn reach(&self, region: &str, role: Option<&str>) -> Reach {
        Reach { region: region.to_string(), role_arn: role.map(str::to_string), clock: self.ctx.clock.clone() }
    }
    pub async fn s3(&self, region: &str, role: Option<&str>) -> Result<Arc<dyn S3Api>, ActionError> {
        let at = self.reach(region, role);
        self.backend.s3(&at).await.map_err(|e| e.at(self.op(), role.unwrap_or(region), region))
    }
    pub async fn rds(&self, region: &str) -> Result<Arc<dyn RdsApi>, ActionError> {
        let at = self.reach(region, None);
        self.backend.rds(&at).await.map_err(|e| e.at(self.op(), region, region))
    }
    pub async fn dynamodb(&self, region: &str) -> Result<Arc<dyn DynamoApi>, ActionError> {
        let at = self.reach(region, None);
        self.backend.dynamodb(&at).await.map_err(|e| e.at(self.op(), region, region))
    }
    /// Says, for the log, that this step made `id` (of `kind`) in `region`.
    pub fn created(&self, kind: &'static str, id: &str, region: &str) {
        let created = crate::cloud::Progress::Created { kind, id: id.into(), region: region.into(), version: None };
        (self.ctx.progress)(created);
    }
    /// A bucket, instance, snapshot or table that is not there.
    pub fn not_found(&self, kind: &str, id: &str, region: &str) -> ActionError {
        let e = outputs::not_found(self.op(), kind, id, region);
        match self.backend.not_found_hint() {
            Some(h) => e.hint(format!("check the name and the region ({h}); {kind}s are regional")),
            None => e,
        }
    }
    /// The service's error, said about `resource`.
    pub fn fail(&self, resource: &str, region: &str) -> impl Fn(ApiError) -> ActionError + '_ {
        let (resource, region) = (resource.to_string(), region.to_string());
        move |e| e.at(self.op(), &resource, &region)
    }
}

/// Runs one action on a backend.
pub fn perform<'a>(
    backend: &'a dyn Backend,
    call: &'a ActionCall,
    ctx: &'a ActionCtx<'a>,
) -> BoxFuture<'a, Result<ActionResult, ActionError>> {
    Box::pin(async move {
        if let Some((name, bad)) = bad_region(&Json::Object(call.args.clone()), "") {
            return Err(ActionError::new(
                call.spec.name,
                &name,
                "InvalidRegion",
                format!("`{name}` is `{}`, which is not an AWS region", bad.escape_debug()),
            )
            .hint("a region is part of the host name called (rds.REGION.amazonaws.com): e.g. eu-central-1"));
        }
        let region = args::opt_text(call, "region")?.unwrap_or(&ctx.dataset.primary.region).to_string();
        let env = Env { backend, call, ctx, region };
        match call.spec.kind {
            ActionKind::S3RestoreToTime => s3_restore_to_time::run(&env, s3_restore_to_time::Args::decode(call)?).await,
            ActionKind::S3CopyPrefix => s3_copy_prefix::run(&env, s3_copy_prefix::Args::decode(call)?).await,
            ActionKind::S3Compare => s3_compare::run(&env, s3_compare::Args::decode(call)?).await,
            ActionKind::S3CheckPosture => s3_check_posture::run(&env, s3_check_posture::Args::decode(call)?).await,
            ActionKind::RdsFindSnapshot => rds_find_snapshot::run(&env, rds_find_snapshot::Args::decode(call)?).await,
            ActionKind::RdsCopySnapshot => rds_copy_snapshot::run(&env, rds_copy_snapshot::Args::decode(call)?).await,
            ActionKind::RdsRestoreFromSnapshot => {
                rds_restore_from_snapshot::run(&env, rds_restore_from_snapshot::Args::decode(call)?).await
            }
            ActionKind::RdsRestoreToTime => {
                rds_restore_to_time::run(&env, rds_restore_to_time::Args::decode(call)?).await
            }
            ActionKind::RdsPromoteReplica => {
                rds_promote_replica::run(&env, rds_promote_replica::Args::decode(call)?).await
            }
            ActionKind::RdsWaitAvailable => {
                rds_wait_available::run(&env, rds_wait_available::Args::decode(call)?).await
            }
            ActionKind::RdsCheckPosture => rds_check_posture::run(&env, rds_check_posture::Args::decode(call)?).await,
            ActionKind::DynamodbRestoreToTime => {
                dynamodb_restore_to_time::run(&env, dynamodb_restore_to_time::Args::decode(call)?).await
            }
            ActionKind::DynamodbWaitActive => {
                dynamodb_wait_active::run(&env, dynamodb_wait_active::Args::decode(call)?).await
            }
            ActionKind::DynamodbCheckPosture => {
                dynamodb_check_posture::run(&env, dynamodb_check_posture::Args::decode(call)?).await
            }
        }
    })
}

/// Decodes a call's arguments as its action would, without running it: what a test
/// walking the catalog checks for every action.
pub fn decode(call: &ActionCall) -> Result<(), ActionError> {
    match call.spec.kind {
        ActionKind::S3RestoreToTime => s3_restore_to_time::Args::decode(call).map(drop),
        ActionKind::S3CopyPrefix => s3_copy_prefix::Args::decode(call).map(drop),
        ActionKind::S3Compare => s3_compare::Args::decode(call).map(drop),
        ActionKind::S3CheckPosture => s3_check_posture::Args::decode(call).map(drop),
        ActionKind::RdsFindSnapshot => rds_find_snapshot::Args::decode(call).map(drop),
        ActionKind::RdsCopySnapshot => rds_copy_snapshot::Args::decode(call).map(drop),
        ActionKind::RdsRestoreFromSnapshot => rds_restore_from_snapshot::Args::decode(call).map(drop),
        ActionKind::RdsRestoreToTime => rds_restore_to_time::Args::decode(call).map(drop),
        ActionKind::RdsPromoteReplica => rds_promote_replica::Args::decode(call).map(drop),
        ActionKind::RdsWaitAvailable => rds_wait_available::Args::decode(call).map(drop),
        ActionKind::RdsCheckPosture => rds_check_posture::Args::decode(call).map(drop),
        ActionKind::DynamodbRestoreToTime => dynamodb_restore_to_time::Args::decode(call).map(drop),
        ActionKind::DynamodbWaitActive => dynamodb_wait_active::Args::decode(call).map(drop),
        ActionKind::DynamodbCheckPosture => dynamodb_check_posture::Args::decode(call).map(drop),
    }
}

/// A posture check: every property an output, failed (with outputs kept) when any fails.
fn posture(checks: &[(&str, Json, bool, &str)]) -> Result<ActionResult, ActionError> {
    let mut outputs = Map::new();
    let mut failed = Vec::new();
    for (name, value, ok, why) in checks {
        outputs.insert(name.to_string(), value.clone());
        if !ok {
            failed.push(*why);
        }
    }
    // A posture check reports; it does not decide. Weak protection is a finding, not a
    // failed step (during a corruption the restore behind it must still run); a gate on
    // `passed` (or on one check) is how a runbook makes it a stop. Only a failed API
    // call fails the step.
    outputs.insert("passed".into(), json!(failed.is_empty()));
    outputs.insert("findings".into(), json!(failed.join("; ")));
    Ok(ActionResult { outputs, recovery_point: None })
}

/// Tags that let a retried or resumed step find what it created itself.
pub const RUN_TAG: &str = "lifeboat:run";
pub const STEP_TAG: &str = "lifeboat:step";

fn own_tags(call: &ActionCall) -> Vec<(String, String)> {
    vec![(RUN_TAG.into(), call.run_id.clone()), (STEP_TAG.into(), call.step.clone())]
}

fn tagged_by(tags: &[(String, String)], call: &ActionCall) -> bool {
    let tag = |k: &str| tags.iter().find(|(t, _)| t == k).map(|(_, v)| v.as_str());
    tag(RUN_TAG) == Some(call.run_id.as_str()) && tag(STEP_TAG) == Some(call.step.as_str())
}

/// The first argument naming a region (`region`, `to_region`, `from.region`…) whose value
/// is no AWS region: it would become part of a host name the SDK calls.
fn bad_region(v: &Json, at: &str) -> Option<(String, String)> {
    let Json::Object(map) = v else { return None };
    for (k, v) in map {
        let name = if at.is_empty() { k.clone() } else { format!("{at}.{k}") };
        match v {
            Json::String(s) if (k == "region" || k.ends_with("_region")) && !crate::runbook::check::is_region(s) => {
                return Some((name, s.clone()));
            }
            Json::Object(_) => {
                if let Some(found) = bad_region(v, &name) {
                    return Some(found);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runbook::action_spec::{Param, ParamType};
    use crate::runbook::action_table::ACTIONS;

    fn sample(p: &Param) -> Json {
        match p.ty {
            ParamType::String => json!("x-1"),
            ParamType::Timestamp => json!("2026-11-24T03:00:00Z"),
            ParamType::Duration => json!("15m"),
            ParamType::Bool => json!(true),
            ParamType::Int => json!(3),
            ParamType::Object(inner) => {
                Json::Object(inner.iter().filter(|p| p.required).map(|p| (p.name.to_string(), sample(p))).collect())
            }
        }
    }

    fn call_with(spec: &'static crate::runbook::action_spec::ActionSpec, args: Map<String, Json>) -> ActionCall {
        ActionCall { spec, args, run_id: "r".into(), step: "s".into() }
    }

    /// Every action of the catalog decodes its required arguments, and refuses each one
    /// missing by name: no action goes to a cloud with a `""` where an argument was.
    #[test]
    fn every_action_of_the_catalog_has_a_decoder_that_names_what_is_missing() {
        for spec in ACTIONS {
            let mut args: Map<String, Json> =
                spec.params.iter().filter(|p| p.required).map(|p| (p.name.to_string(), sample(p))).collect();
            // One of each `one_of` group (`time` or `latest`).
            for group in spec.one_of {
                let p = spec.param(group[0]).unwrap();
                args.insert(p.name.into(), sample(p));
            }
            decode(&call_with(spec, args.clone())).unwrap_or_else(|e| panic!("{}: {e} {:?}", spec.name, e.hint));
            for p in spec.params.iter().filter(|p| p.required) {
                let mut less = args.clone();
                less.remove(p.name);
                let e = decode(&call_with(spec, less)).expect_err(spec.name);
                assert_eq!(e.code.as_deref(), Some("BadArgument"), "{}: {e}", spec.name);
                assert!(e.message.contains(p.name), "{}: {e}", spec.name);
            }
        }
    }
}
