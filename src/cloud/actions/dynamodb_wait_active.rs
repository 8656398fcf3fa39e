//! `dynamodb.wait_active`: until a table is `ACTIVE` (a restore takes minutes to hours).

use std::sync::Arc;
use std::time::Duration as StdDuration;

use super::{Env, args};
use crate::cloud::port::dynamodb::{DynamoApi, Table};
use crate::cloud::{ActionCall, ActionError, ActionResult, Progress, outputs};

pub struct Args {
    pub table: String,
    pub timeout: Option<StdDuration>,
}

impl Args {
    pub fn decode(call: &ActionCall) -> Result<Args, ActionError> {
        Ok(Args { table: args::text(call, "table")?.into(), timeout: args::opt_duration(call, "timeout")? })
    }
}

/// Polls with backoff (10 s, doubling to 2 min) on the run's clock.
pub async fn until_active(
    env: &Env<'_>,
    db: &Arc<dyn DynamoApi>,
    name: &str,
    region: &str,
    limit: Option<StdDuration>,
) -> Result<Table, ActionError> {
    let clock = &env.ctx.clock;
    let started = clock.now();
    let mut wait = StdDuration::from_secs(10);
    loop {
        let t = db
            .describe_table(name)
            .await
            .map_err(env.fail(name, region))?
            .ok_or_else(|| env.not_found("table", name, region))?;
        (env.ctx.progress)(Progress::Line(format!("{name}: {}", t.status)));
        if t.status == "ACTIVE" {
            return Ok(t);
        }
        if matches!(t.status.as_str(), "DELETING" | "INACCESSIBLE_ENCRYPTION_CREDENTIALS" | "ARCHIVED") {
            return Err(ActionError::new(
                env.op(),
                name,
                "ResourceInUseException",
                format!("`{name}` is {}", t.status),
            )
            .hint("check the table in the console (and its KMS key)"));
        }
        if let Some(limit) = limit
            && clock.now().duration_since(started).as_secs() as u64 >= limit.as_secs()
        {
            return Err(ActionError::new(
                env.op(),
                name,
                "WaiterTimeout",
                format!("`{name}` was not active after {}s: still {}", limit.as_secs(), t.status),
            )
            .hint("restores of large tables take longer; raise the timeout"));
        }
        clock.sleep(wait).await;
        wait = (wait * 2).min(StdDuration::from_secs(120));
    }
}

pub async fn run(env: &Env<'_>, a: Args) -> Result<ActionResult, ActionError> {
    let region = env.region.as_str();
    let db = env.dynamodb(region).await?;
    let t = until_active(env, &db, &a.table, region, a.timeout).await?;
    Ok(ActionResult { outputs: outputs::table(&t.name, &t.status, t.items), recovery_point: None })
}
