//! `rds.restore_from_snapshot`: a new instance from a snapshot, waited on until available.

use super::rds_instance::{instance_outputs, own_instance, until_available};
use super::{Env, args, own_tags};
use crate::cloud::port::rds::NewInstance;
use crate::cloud::{ActionCall, ActionError, ActionResult};

pub struct Args {
    pub snapshot: String,
    pub new_instance: String,
    pub instance_class: Option<String>,
}

impl Args {
    pub fn decode(call: &ActionCall) -> Result<Args, ActionError> {
        Ok(Args {
            snapshot: args::text(call, "snapshot")?.into(),
            new_instance: args::text(call, "new_instance")?.into(),
            instance_class: args::opt_name(call, "instance_class")?.map(str::to_string),
        })
    }
}

pub async fn run(env: &Env<'_>, a: Args) -> Result<ActionResult, ActionError> {
    let region = env.region.as_str();
    let (snap, id) = (a.snapshot.as_str(), a.new_instance.as_str());
    let rds = env.rds(region).await?;
    let time =
        rds.describe_snapshot(snap).await.map_err(env.fail(snap, region))?.and_then(|s| s.time).ok_or_else(|| {
            let e = env.not_found("snapshot", snap, region);
            let h = format!(
                "{}; copy it with rds.copy_snapshot, or restore in its region",
                e.hint.clone().unwrap_or_default()
            );
            e.hint(h)
        })?;
    if own_instance(env, rds.as_ref(), id, region).await?.is_none() {
        let new = NewInstance { id: id.into(), class: a.instance_class, tags: own_tags(env.call) };
        rds.restore_from_snapshot(snap, &new).await.map_err(env.fail(id, region))?;
        env.created("rds-instance", id, region);
    }
    let inst = until_available(env, &rds, id, region, None).await?;
    Ok(ActionResult { outputs: instance_outputs(&inst, false, Some(time)), recovery_point: Some(time) })
}
