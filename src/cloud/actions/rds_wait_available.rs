//! `rds.wait_available`: until an instance is available, or the timeout.

use std::time::Duration as StdDuration;

use super::rds_instance::{instance_outputs, until_available};
use super::{Env, args};
use crate::cloud::{ActionCall, ActionError, ActionResult};

pub struct Args {
    pub instance: String,
    pub timeout: Option<StdDuration>,
}

impl Args {
    pub fn decode(call: &ActionCall) -> Result<Args, ActionError> {
        Ok(Args { instance: args::text(call, "instance")?.into(), timeout: args::opt_duration(call, "timeout")? })
    }
}

pub async fn run(env: &Env<'_>, a: Args) -> Result<ActionResult, ActionError> {
    let region = env.region.as_str();
    let rds = env.rds(region).await?;
    let inst = until_available(env, &rds, &a.instance, region, a.timeout).await?;
    Ok(ActionResult { outputs: instance_outputs(&inst, true, None), recovery_point: None })
}
