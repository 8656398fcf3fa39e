//! `rds.promote_replica`: a cross-region read replica made a standalone primary.

use jiff::SignedDuration;

use super::rds_instance::{describe, instance_outputs, until_available};
use super::{Env, args};
use crate::cloud::{ActionCall, ActionError, ActionResult, Progress};

pub struct Args {
    pub replica: String,
}

impl Args {
    pub fn decode(call: &ActionCall) -> Result<Args, ActionError> {
        Ok(Args { replica: args::text(call, "replica")?.into() })
    }
}

pub async fn run(env: &Env<'_>, a: Args) -> Result<ActionResult, ActionError> {
    let region = env.region.as_str();
    let id = a.replica.as_str();
    let rds = env.rds(region).await?;
    let inst = describe(env, rds.as_ref(), id, region).await?;
    let lag = inst.replica_lag_secs.unwrap_or(0);
    if inst.replica_source.is_some() {
        (env.ctx.progress)(Progress::Line(format!("{id}: promoting (replica lag was {lag}s)")));
        rds.promote_replica(id).await.map_err(env.fail(id, region))?;
    } else {
        (env.ctx.progress)(Progress::Line(format!("{id} is not (or no longer) a replica: nothing to promote")));
    }
    let inst = until_available(env, &rds, id, region, None).await?;
    // The replica holds what reached it before the primary stopped, less its lag where
    // that is known (the RDS API does not report it: then the incident start, or now).
    let stop = env.ctx.incident_started_at.min(env.ctx.clock.now());
    let rp = stop.checked_sub(SignedDuration::from_secs(lag)).unwrap_or(stop);
    Ok(ActionResult { outputs: instance_outputs(&inst, false, Some(rp)), recovery_point: Some(rp) })
}
