//! `dynamodb.wait_active`: until a table is `ACTIVE` (a restore takes minutes to hours).

use std::sync::Arc;
use std::time::Duration as StdDuration;

use super::wait::{Look, until};
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

/// Until the table is `ACTIVE`, looking every 10 s and less often after.
pub async fn until_active(
    env: &Env<'_>,
    db: &Arc<dyn DynamoApi>,
    name: &str,
    region: &str,
    limit: Option<StdDuration>,
) -> Result<Table, ActionError> {
    let hint = "restores of large tables take longer; raise the timeout";
    until(env, name, StdDuration::from_secs(10), limit, hint, || async move {
        let t = db
            .describe_table(name)
            .await
            .map_err(env.fail(name, region))?
            .ok_or_else(|| env.not_found("table", name, region))?;
        match t.status.as_str() {
            "ACTIVE" => {
                (env.ctx.progress)(Progress::Line(format!("{name}: ACTIVE")));
                Ok(Look::Ready(t))
            }
            "DELETING" | "INACCESSIBLE_ENCRYPTION_CREDENTIALS" | "ARCHIVED" => {
                Err(ActionError::new(env.op(), name, "ResourceInUseException", format!("`{name}` is {}", t.status))
                    .hint("check the table in the console (and its KMS key)"))
            }
            _ => Ok(Look::Busy(t.status)),
        }
    })
    .await
}

pub async fn run(env: &Env<'_>, a: Args) -> Result<ActionResult, ActionError> {
    let region = env.region.as_str();
    let db = env.dynamodb(region).await?;
    let t = until_active(env, &db, &a.table, region, a.timeout).await?;
    Ok(ActionResult { outputs: outputs::table(&t.name, &t.status, t.items), recovery_point: None })
}
