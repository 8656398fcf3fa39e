//! `s3.check_posture`: can this bucket be rolled back, and is its backup safe?

use serde_json::json;

use super::{Env, args, posture};
use crate::cloud::{ActionCall, ActionError, ActionResult};

pub struct Args {
    pub bucket: String,
}

impl Args {
    pub fn decode(call: &ActionCall) -> Result<Args, ActionError> {
        Ok(Args { bucket: args::text(call, "bucket")?.into() })
    }
}

pub async fn run(env: &Env<'_>, a: Args) -> Result<ActionResult, ActionError> {
    let region = env.region.as_str();
    let s3 = env.s3(region, None).await?;
    let b = a.bucket.as_str();
    let fail = env.fail(b, region);
    let versioning = s3.versioning(b).await.map_err(&fail)?.unwrap_or_else(|| "never enabled".into());
    let lock = s3.object_lock(b).await.map_err(&fail)?;
    let encryption = s3.encryption(b).await.map_err(&fail)?;
    let replication = s3.replication(b).await.map_err(&fail)?;
    let public_blocked = s3.public_access_blocked(b).await.map_err(&fail)?;
    let checks = [
        (
            "versioning",
            json!(versioning),
            versioning == "Enabled",
            "versioning is not enabled: overwritten objects cannot be rolled back",
        ),
        ("object_lock", json!(lock.clone().unwrap_or_else(|| "none".into())), true, ""),
        (
            "encryption",
            json!(encryption.clone().unwrap_or_else(|| "none".into())),
            encryption.is_some(),
            "no default encryption",
        ),
        (
            "replication",
            json!(replication.clone().unwrap_or_else(|| "none".into())),
            replication.is_some() || lock.is_some(),
            "no copy elsewhere and no object lock",
        ),
        ("public_access_blocked", json!(public_blocked), public_blocked, "public access is not fully blocked"),
    ];
    posture(&checks)
}
