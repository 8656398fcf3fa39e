//! `rds.find_snapshot`: the newest available snapshot of an instance taken before a time.

use super::{Env, args};
use crate::cloud::{ActionCall, ActionError, ActionResult, outputs};
use crate::runbook::time::Timestamp;

pub struct Args {
    pub instance: String,
    pub before: Option<Timestamp>,
}

impl Args {
    pub fn decode(call: &ActionCall) -> Result<Args, ActionError> {
        Ok(Args { instance: args::text(call, "instance")?.into(), before: args::opt_timestamp(call, "before")? })
    }
}

pub async fn run(env: &Env<'_>, a: Args) -> Result<ActionResult, ActionError> {
    let region = env.region.as_str();
    let before = a.before.unwrap_or_else(|| env.ctx.clock.now());
    let rds = env.rds(region).await?;
    let snaps = rds.snapshots_of(&a.instance).await.map_err(env.fail(&a.instance, region))?;
    let best = snaps
        .into_iter()
        .filter_map(|s| Some((s.time?, s)))
        .filter(|(t, s)| *t <= before && s.status == "available")
        .max_by_key(|(t, _)| *t);
    let Some((t, s)) = best else {
        return Err(outputs::no_snapshot_before(env.op(), &a.instance, region, before, "available "));
    };
    Ok(ActionResult { outputs: outputs::snapshot_found(&s.id, t), recovery_point: None })
}
