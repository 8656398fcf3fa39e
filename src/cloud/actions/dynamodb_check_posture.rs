//! `dynamodb.check_posture`: can this table be brought back to a point in time, and is it
//! protected from deletion, encrypted with the customer's key, and copied elsewhere?

use serde_json::json;

use super::{Env, args, posture};
use crate::cloud::{ActionCall, ActionError, ActionResult};
use crate::runbook::time::format_timestamp;

pub struct Args {
    pub table: String,
}

impl Args {
    pub fn decode(call: &ActionCall) -> Result<Args, ActionError> {
        Ok(Args { table: args::text(call, "table")?.into() })
    }
}

pub async fn run(env: &Env<'_>, a: Args) -> Result<ActionResult, ActionError> {
    let region = env.region.as_str();
    let name = a.table.as_str();
    let db = env.dynamodb(region).await?;
    let t = db
        .describe_table(name)
        .await
        .map_err(env.fail(name, region))?
        .ok_or_else(|| env.not_found("table", name, region))?;
    let pitr = db.continuous_backups(name).await.map_err(env.fail(name, region))?;
    let window_days = match (pitr.enabled, pitr.days) {
        (false, _) => 0,
        (true, Some(d)) => d,
        (true, None) => 35,
    };
    let earliest = pitr.earliest.map(format_timestamp).unwrap_or_else(|| "none".into());
    let checks = [
        ("pitr", json!(pitr.enabled), pitr.enabled, "point-in-time recovery is off"),
        (
            "pitr_window_days",
            json!(window_days),
            !pitr.enabled || window_days >= 7,
            "the recovery window is under 7 days",
        ),
        ("earliest_restorable", json!(earliest), true, ""),
        ("deletion_protection", json!(t.deletion_protection), t.deletion_protection, "deletion protection is off"),
        (
            "encryption",
            json!(t.kms_key.clone().unwrap_or_else(|| "AWS owned key".into())),
            t.kms_key.is_some(),
            "not encrypted with a customer-managed KMS key",
        ),
        (
            "cross_region",
            json!(if t.replicas.is_empty() { "none".to_string() } else { t.replicas.join(", ") }),
            !t.replicas.is_empty(),
            "no replica or backup copy in another region",
        ),
    ];
    posture(&checks)
}
