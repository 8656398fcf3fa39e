//! `rds.check_posture`: are this instance's backups kept, encrypted, protected and copied
//! to another region?

use serde_json::json;

use super::rds_instance::describe;
use super::{Env, args, posture};
use crate::cloud::{ActionCall, ActionError, ActionResult};

pub struct Args {
    pub instance: String,
}

impl Args {
    pub fn decode(call: &ActionCall) -> Result<Args, ActionError> {
        Ok(Args { instance: args::text(call, "instance")?.into() })
    }
}

pub async fn run(env: &Env<'_>, a: Args) -> Result<ActionResult, ActionError> {
    let region = env.region.as_str();
    let rds = env.rds(region).await?;
    let i = describe(env, rds.as_ref(), &a.instance, region).await?;
    let cross = !i.backup_replicas.is_empty();
    let checks = [
        (
            "backup_retention_days",
            json!(i.retention_days),
            i.retention_days >= 7,
            "automated backups are kept less than 7 days",
        ),
        ("encrypted", json!(i.encrypted), i.encrypted, "storage is not encrypted"),
        ("deletion_protection", json!(i.deletion_protection), i.deletion_protection, "deletion protection is off"),
        ("cross_region_backups", json!(cross), cross, "automated backups are not replicated to another region"),
    ];
    posture(&checks)
}
