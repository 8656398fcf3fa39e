//! `lifeboat audit`: are each dataset's backups isolated, immutable, encrypted, and
//! proven by a recent drill? The posture checks go through the same actions as runbooks.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value as Json};

use super::exit;
use super::run::CloudArg;
use crate::clock::{Clock, SystemClock};
use crate::cloud::port::Backend;
use crate::cloud::{ActionCall, ActionCtx, Cloud};
use crate::runbook::load::{self, Workspace};
use crate::runbook::model::{Dataset, Resource};
use crate::runbook::raw::{ResourceKind, Role};
use crate::runbook::time::Timestamp;

struct Row {
    dataset: String,
    isolated: (bool, String),
    immutable: (bool, String),
    encrypted: (bool, String),
    drilled: (bool, String),
}

async fn posture(
    cloud: &Cloud,
    clock: &Arc<dyn Clock>,
    d: &Dataset,
    r: &Resource,
) -> Result<Map<String, Json>, String> {
    let (action, arg) = match r.kind {
        ResourceKind::S3Bucket => ("s3.check_posture", "bucket"),
        ResourceKind::RdsInstance | ResourceKind::RdsCluster => ("rds.check_posture", "instance"),
        ResourceKind::DynamodbTable => ("dynamodb.check_posture", "table"),
    };
    let mut args = Map::new();
    args.insert(arg.into(), Json::String(r.id.clone()));
    if let Some(region) = &r.region {
        args.insert("region".into(), Json::String(region.clone()));
    }
    let call = ActionCall {
        spec: crate::runbook::action_table::find(action).expect("a built-in action"),
        args,
        run_id: "audit".into(),
        step: r.id.clone(),
    };
    let quiet = |_| {};
    let ctx =
        ActionCtx { clock: clock.clone(), progress: &quiet, dataset: d, incident_started_at: clock.now(), plan: None };
    match cloud.call(&call, &ctx).await {
        Ok(r) => Ok(r.outputs),
        // A failed check still reports what it found.
        Err(e) => e.outputs.clone().ok_or_else(|| format!("{}: {}", r.id, e.message)),
    }
}

fn yes(v: &Json) -> bool {
    v.as_bool().unwrap_or(false) || v.as_str().is_some_and(|s| s != "none" && s != "false")
}

async fn audit_dataset(cloud: &Cloud, clock: &Arc<dyn Clock>, d: &Dataset, last_drill: Option<Timestamp>) -> Row {
    let mut notes_enc = Vec::new();
    let mut immutable = (false, "no backup bucket with object lock".to_string());
    let mut encrypted = true;
    // A backup resource of the catalog that could not be checked where it says.
    let mut backup_missing: Option<String> = None;
    // Drill resources exist only while a drill runs (restored into, then torn down).
    for r in d.resources.iter().filter(|r| r.role != Role::Drill) {
        match posture(cloud, clock, d, r).await {
            Ok(p) => {
                let enc = p.get("encryption").or(p.get("encrypted")).is_some_and(yes);
                if !enc {
                    encrypted = false;
                    notes_enc.push(format!("{} not encrypted", r.id));
                }
                if r.role == Role::Backup && p.get("object_lock").is_some_and(yes) {
                    immutable = (true, format!("{}: {}", r.id, p["object_lock"].as_str().unwrap_or("locked")));
                }
                if r.role == Role::Production
                    && r.kind == ResourceKind::S3Bucket
                    && p.get("versioning").and_then(Json::as_str) != Some("Enabled")
                {
                    notes_enc.push(format!("{}: versioning is not enabled", r.id));
                }
                // Deletion protection and replicated backups are worth having, and are not
                // immutability: only an object lock (or a vault lock) is.
            }
            Err(e) => {
                encrypted = false;
                if r.role == Role::Backup {
                    backup_missing.get_or_insert_with(|| e.clone());
                }
                notes_enc.push(e);
            }
        }
    }
    let isolated = match &d.backup {
        // Isolated only where the backup was found: a name in the catalog proves nothing.
        _ if backup_missing.is_some() => {
            (false, format!("the backup could not be checked ({})", backup_missing.clone().unwrap_or_default()))
        }
        None => (false, "no backup location in the catalog".into()),
        Some(b) if b.region == d.primary.region => (false, format!("backup in the same region ({})", b.region)),
        Some(b) if b.account.is_none() || b.account == d.primary.account => {
            (false, format!("{}, but the same account", b.region))
        }
        Some(b) => (true, format!("{} / {}", b.region, b.account.clone().unwrap_or_default())),
    };
    let drilled = match (last_drill, d.drill_every) {
        (Some(t), Some(every)) if clock.now().duration_since(t).as_secs() as u64 <= every.secs() => {
            (true, t.strftime("%Y-%m-%d").to_string())
        }
        (Some(t), _) => (d.drill_every.is_none(), format!("{} (overdue)", t.strftime("%Y-%m-%d"))),
        (None, _) => (false, "never".into()),
    };
    Row {
        dataset: d.id.clone(),
        isolated,
        immutable,
        encrypted: (encrypted, if notes_enc.is_empty() { "all resources".into() } else { notes_enc.join("; ") }),
        drilled,
    }
}

pub fn audit(dir: &Path, incidents: &Path, only: &[String], cloud: CloudArg) -> u8 {
    let mut ws = Workspace::default();
    let path = dir.join(load::CATALOG_FILE);
    if !path.is_file() {
        return super::usage(&format!("no `{}` in `{}`", load::CATALOG_FILE, dir.display()));
    }
    let i = ws.add(&path);
    ws.check(i);
    let Some(catalog) = ws.catalog_for(&dir.join("x.yaml")).cloned() else {
        let _ = write!(anstream::stderr(), "{}", ws.file(i).report().render());
        return super::usage("the dataset catalog has errors");
    };
    for name in only {
        if catalog.get(name).is_none() {
            return super::usage(&format!("no dataset `{name}` in the catalog"));
        }
    }
    let trust = match crate::journal::trust::load(None, dir) {
        Ok(t) => t,
        Err(e) => return super::usage(&e),
    };
    if trust.is_none() {
        let _ = writeln!(
            anstream::stderr(),
            "note: no {} beside {} (nor LIFEBOAT_ALLOWED_SIGNERS): no drill log can count, since none can be told from a forgery",
            crate::journal::trust::FILE,
            path.display()
        );
    }
    let drills = crate::report::last_drills(incidents, trust.as_ref().map(|(_, a)| a));
    let runtime = super::runtime();
    let (rows, left): (Vec<Row>, Vec<Leftover>) = runtime.block_on(async {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let provider: Cloud = match cloud {
            CloudArg::Aws => crate::cloud::aws::Aws::from_env().await.into(),
            CloudArg::Sim => crate::cloud::sim::Sim::seeded_for(
                &catalog,
                clock.now(),
                clock.now(),
                None,
                crate::cloud::sim::Damage::None,
            )
            .into(),
        };
        let backend = provider.backend();
        let mut rows = Vec::new();
        for d in catalog.datasets.iter().filter(|d| only.is_empty() || only.contains(&d.id)) {
            rows.push(audit_dataset(&provider, &clock, d, drills.get(&d.id).copied()).await);
        }
        let cloud_name = backend.name();
        (rows, leftovers(backend.as_ref(), &clock, incidents, cloud_name, only).await)
    });
    let mark = |(ok, note): &(bool, String)| format!("{} {note}", if *ok { "✓" } else { "✗" });
    let mut table = vec![["DATASET", "ISOLATED", "IMMUTABLE", "ENCRYPTED", "DRILLED"].map(String::from).to_vec()];
    for r in &rows {
        table.push(vec![
            r.dataset.clone(),
            mark(&r.isolated),
            mark(&r.immutable),
            mark(&r.encrypted),
            mark(&r.drilled),
        ]);
    }
    super::print_table(&table);
    let mut out = anstream::stdout();
    for l in &left {
        let _ = writeln!(
            out,
            "✗ drill leftover: {} {} in {}, made {} ago by drill {} (step {}) and still there: restored data must not linger; `lifeboat cleanup {}` deletes it",
            l.kind,
            crate::printable::line(&l.id),
            crate::printable::line(&l.region),
            crate::format::human_ms(l.age_ms),
            crate::printable::line(&l.run),
            crate::printable::line(&l.step),
            crate::printable::line(&l.log.display().to_string())
        );
    }
    let all = rows.iter().all(|r| r.isolated.0 && r.immutable.0 && r.encrypted.0 && r.drilled.0);
    if all && left.is_empty() { exit::OK } else { exit::PROBLEM }
}

/// A resource a drill made that is still there.
struct Leftover {
    kind: String,
    id: String,
    region: String,
    run: String,
    step: String,
    age_ms: u64,
    log: std::path::PathBuf,
}

/// What the drills of `incidents` created (their `resource_created` events) and the
/// cloud still holds. A log whose chain is broken is not read; a drill on another cloud
/// (a rehearsal's) made nothing here.
async fn leftovers(
    backend: &dyn Backend,
    clock: &Arc<dyn Clock>,
    incidents: &Path,
    cloud: &str,
    only: &[String],
) -> Vec<Leftover> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(incidents) else { return out };
    let mut logs: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    logs.sort();
    let now = clock.now();
    for path in logs {
        let Ok(bytes) = std::fs::read(&path) else { continue };
        if crate::journal::verify::verify_bytes(&bytes, None, None).tampered.is_some() {
            continue;
        }
        let records = crate::journal::records(&bytes);
        let s = crate::report::summarize(&records);
        if s.mode != "drill" || s.cloud != cloud || !(only.is_empty() || only.contains(&s.dataset)) {
            continue;
        }
        for c in &s.created {
            let exists = match crate::cloud::teardown::Made::parse(&c.kind, &c.id, c.version.as_deref()) {
                Some(m) => crate::cloud::teardown::look(backend, clock, &m, &c.region, &s.run_id)
                    .await
                    .map(|l| l != crate::cloud::teardown::Look::Gone),
                None => Ok(true),
            };
            // A resource that cannot be looked at is said to be there: unknown is not gone.
            if exists.unwrap_or(true) {
                let made = crate::runbook::time::parse_timestamp(&c.time).unwrap_or(now);
                out.push(Leftover {
                    kind: c.kind.clone(),
                    id: c.id.clone(),
                    region: c.region.clone(),
                    run: s.run_id.clone(),
                    step: c.step.clone(),
                    age_ms: crate::clock::millis_between(made, now).max(0) as u64,
                    log: path.clone(),
                });
            }
        }
    }
    out
}
