//! `rds.copy_snapshot`: a snapshot copied into another region (or found there already),
//! waited on until it is available there.

use std::time::Duration as StdDuration;

use super::{Env, args, own_tags};
use crate::cloud::{ActionCall, ActionError, ActionResult, Progress, outputs};

pub struct Args {
    pub snapshot: String,
    pub to_region: String,
    pub kms_key: Option<String>,
}

impl Args {
    pub fn decode(call: &ActionCall) -> Result<Args, ActionError> {
        Ok(Args {
            snapshot: args::text(call, "snapshot")?.into(),
            to_region: args::text(call, "to_region")?.into(),
            kms_key: args::opt_name(call, "kms_key")?.map(str::to_string),
        })
    }
}

pub async fn run(env: &Env<'_>, a: Args) -> Result<ActionResult, ActionError> {
    let region = env.region.as_str();
    let (snap, to) = (a.snapshot.as_str(), a.to_region.as_str());
    // The source is named by ARN in the destination region's call.
    let source = env.rds(region).await?;
    let arn = source
        .describe_snapshot(snap)
        .await
        .map_err(env.fail(snap, region))?
        .ok_or_else(|| env.not_found("snapshot", snap, region))?
        .arn;
    let target = format!("{}-copy-{to}", snap.trim_start_matches("rds:").replace(':', "-"));
    let dest = env.rds(to).await?;
    if dest.describe_snapshot(&target).await.map_err(env.fail(&target, to))?.is_none() {
        dest.copy_snapshot(&arn, &target, a.kms_key.as_deref(), &own_tags(env.call))
            .await
            .map_err(env.fail(snap, to))?;
        env.created("rds-snapshot", &target, to);
    }
    let mut wait = StdDuration::from_secs(30);
    loop {
        let s = dest.describe_snapshot(&target).await.map_err(env.fail(&target, to))?;
        let status = s.map(|s| s.status).unwrap_or_else(|| "creating".into());
        (env.ctx.progress)(Progress::Line(format!("{target} in {to}: {status}")));
        match status.as_str() {
            "available" => break,
            "failed" | "error" => {
                return Err(ActionError::new(env.op(), &target, "SnapshotCopyFailed", format!("the copy is {status}"))
                    .hint("check the KMS key: a copy into another region needs a key there"));
            }
            _ => {}
        }
        env.ctx.clock.sleep(wait).await;
        wait = (wait * 2).min(StdDuration::from_secs(120));
    }
    Ok(ActionResult { outputs: outputs::snapshot(&target), recovery_point: None })
}
