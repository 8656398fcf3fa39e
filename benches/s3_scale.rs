//! The S3 roll-back at scale on the simulated cloud's latency model: a bucket of N keys,
//! every one overwritten by ransomware (2N versions), rolled back to before the attack.
//! The model's clock is tokio's paused clock, so an hour of modeled S3 passes in the
//! seconds the CPU needs; what is reported is the modeled wall time, the CPU it took, and
//! the process's peak memory.
//!
//! `cargo bench --bench s3_scale -- --objects N [--prefixes P] [--variant V]`, V one of
//! `lifeboat` (parallel listing, paced copies), `one-cursor` (the same with one listing
//! cursor), `sequential` (s3-pit-restore's algorithm over the same port: one cursor,
//! each key's copy handed to 10 workers as the listing goes), `resume` (lifeboat stopped
//! at half-way, as by `kill -9`, then run again: how many copies the second run sends).
//! One line of JSON.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use lifeboat::clock::{Clock, VirtualClock, tracked};
use lifeboat::cloud::plan::{Planner, Todo};
use lifeboat::cloud::port::s3::{ObjRef, S3Api, VersionMarker};
use lifeboat::cloud::port::{Backend, Reach};
use lifeboat::cloud::sim::Sim;
use lifeboat::cloud::{ActionCall, ActionCtx, Cloud, Progress};
use lifeboat::runbook::action_table as catalog;
use lifeboat::runbook::load::catalog_from_str;
use lifeboat::runbook::time::{Timestamp, parse_timestamp};
use serde_json::json;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn t(s: &str) -> Timestamp {
    parse_timestamp(s).unwrap_or_default()
}

/// User and system CPU of this process, in seconds (`/proc/self/stat`, clock ticks).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

/// Peak resident memory of this process (`VmHWM`), MiB.
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// s3-pit-restore's way, over lifeboat's S3 port: one listing cursor, and each key's
/// version of before the time handed to a pool of 10 workers as soon as it is known.
async fn sequential(s3: Arc<dyn S3Api>, bucket: &str, time: Timestamp) -> u64 {
    let gate = Arc::new(tokio::sync::Semaphore::new(10));
    let mut set = tokio::task::JoinSet::new();
    let mut planner = Planner::new(time, false);
    let mut from: Option<VersionMarker> = None;
    let mut copied = 0u64;
    loop {
        let Ok(page) = s3.list_versions(bucket, "", None, from.take()).await else { break };
        for v in page.versions {
            let ver = lifeboat::cloud::plan::Ver {
                id: v.version_id,
                time: v.time,
                etag: v.etag,
                marker: v.marker,
                size: v.size,
            };
            let _ = planner.push(&v.key, ver, v.latest);
        }
        for (key, todo) in planner.plan.todo.drain(..) {
            let Todo::Copy(v) = todo else { continue };
            let Ok(permit) = gate.clone().acquire_owned().await else { break };
            let (s3, bucket) = (s3.clone(), bucket.to_string());
            set.spawn(lifeboat::clock::inherit(async move {
                let src = ObjRef { bucket: bucket.clone(), key: key.clone(), version: Some(v.id) };
                let ok = s3.copy_object(&src, &bucket, &key).await.is_ok();
                drop(permit);
                ok
            }));
            while let Some(done) = set.try_join_next() {
                copied += done.unwrap_or(false) as u64;
            }
        }
        match page.next {
            Some(n) => from = Some(n),
            None => break,
        }
    }
    let last = planner.finish();
    for (key, todo) in last.todo {
        if let Todo::Copy(v) = todo {
            let src = ObjRef { bucket: bucket.to_string(), key: key.clone(), version: Some(v.id) };
            copied += s3.copy_object(&src, bucket, &key).await.is_ok() as u64;
        }
    }
    while let Some(done) = set.join_next().await {
        copied += done.unwrap_or(false) as u64;
    }
    copied
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") || arg("--objects").is_none() {
        return; // a test run of all targets builds this; only `cargo bench` with sizes runs it
    }
    let objects: u64 = arg("--objects").and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let prefixes: u64 = arg("--prefixes").and_then(|v| v.parse().ok()).unwrap_or(objects.div_ceil(100_000));
    let variant = arg("--variant").unwrap_or_else(|| "lifeboat".into());
    if variant == "one-cursor" {
        // SAFETY: set before the runtime starts, while this is the only thread.
        unsafe { std::env::set_var("LIFEBOAT_S3_LISTERS", "1") };
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build();
    let Ok(rt) = rt else { return };
    rt.block_on(async move {
        let text = format!(
            "apiVersion: lifeboat/v1\nkind: DatasetCatalog\ndatasets:\n  - id: docs\n    title: Docs\n    classification: confidential\n    rpo: 1h\n    rto: 1h\n    primary: {{ region: eu-central-1 }}\n    resources:\n      - {{ kind: s3-bucket, id: docs-prod, role: production, sim: {{ objects: {objects}, prefixes: {prefixes} }} }}\n"
        );
        let Ok(catalog) = catalog_from_str(&text) else { return };
        let (incident, now) = (t("2026-11-24T03:00:00Z"), t("2026-11-24T04:00:00Z"));
        let sim = Sim::seeded(&catalog, now, incident);
        let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(now, 1.0));
        let (cpu0, real0, start) = (cpu_seconds(), Instant::now(), clock.now());
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        // With `resume`: the copies sent before the stop, and the keys they set back.
        let mut resumed: Option<(u64, u64)> = None;
        let restored = match variant.as_str() {
            "sequential" => {
                let reach = Reach { region: "eu-central-1".into(), role_arn: None, clock: clock.clone() };
                let Ok(s3) = sim.s3(&reach).await else { return };
                tracked(clock.as_ref(), sequential(s3, "docs-prod", incident)).await
            }
            _ => {
                let sink = lines.clone();
                let half = Arc::new(tokio::sync::Notify::new());
                let signal = half.clone();
                let progress = move |p: Progress| match p {
                    Progress::Line(l) => {
                        if let Ok(mut v) = sink.lock() {
                            v.push(l);
                        }
                    }
                    Progress::Count { done, total, .. } if done * 2 >= total => signal.notify_one(),
                    Progress::Count { .. } | Progress::Created { .. } => {}
                };
                let ctx = ActionCtx {
                    clock: clock.clone(),
                    progress: &progress,
                    dataset: &catalog.datasets[0],
                    incident_started_at: incident, plan: None,
                };
                let Some(spec) = catalog::find("s3.restore_to_time") else { return };
                let call = ActionCall {
                    spec,
                    args: json!({ "bucket": "docs-prod", "time": "2026-11-24T03:00:00Z" })
                        .as_object()
                        .cloned()
                        .unwrap_or_default(),
                    run_id: "bench".into(),
                    step: "restore".into(),
                };
                let cloud = Cloud::from(&sim);
                if variant == "resume" {
                    tokio::select! {
                        _ = tracked(clock.as_ref(), cloud.call(&call, &ctx)) => {}
                        _ = half.notified() => {}
                    }
                    let copies = sim.requests().get("CopyObject").copied().unwrap_or(0);
                    let applied = sim.with_world(|w| {
                        let b = w.buckets.get("docs-prod")?;
                        let g = b.generated.as_ref()?;
                        Some((0..objects).filter(|i| b.versions(&g.key(*i)).is_some_and(|v| v.len() == 3)).count() as u64)
                    });
                    resumed = Some((copies, applied.unwrap_or(0)));
                }
                // Tracked, as the engine runs every action: the modeling clock waits for
                // the work, so this figure is the one a tabletop of the bucket models.
                match tracked(clock.as_ref(), cloud.call(&call, &ctx)).await {
                    Ok(r) => r.outputs.get("restored").and_then(|v| v.as_u64()).unwrap_or(0),
                    Err(e) => {
                        eprintln!("the roll-back failed: {e}");
                        0
                    }
                }
            }
        };
        let modeled = start.duration_until(clock.now()).as_secs_f64();
        let (cpu, real) = (cpu_seconds() - cpu0, real0.elapsed().as_secs_f64());
        // Verification: every key (a sample of 10,000 spread over the bucket beyond that)
        // holds its content of before the attack.
        let (checked, wrong) = sim.with_world(|w| {
            let Some(b) = w.buckets.get("docs-prod") else { return (0, 0) };
            let Some(g) = b.generated.as_ref() else { return (0, 0) };
            let step = (objects / 10_000).max(1);
            let (mut checked, mut wrong) = (0u64, 0u64);
            for i in (0..objects).step_by(step as usize) {
                let key = g.key(i);
                let good = b.versions(&key).map(|vs| vs[0].content.clone());
                checked += 1;
                wrong += (b.current(&key).map(|v| v.content) != good) as u64;
            }
            (checked, wrong)
        });
        let requests = sim.requests();
        let pace = lines.lock().map(|l| l.iter().rev().find(|l| l.starts_with("requests in flight")).cloned());
        println!(
            "{}",
            json!({
                "variant": variant,
                "objects": objects,
                "prefixes": prefixes,
                "versions": objects * 2,
                "restored": restored,
                "modeled_wall_s": (modeled * 10.0).round() / 10.0,
                "real_wall_s": (real * 100.0).round() / 100.0,
                "cpu_s": (cpu * 100.0).round() / 100.0,
                "cpu_us_per_key": (cpu / objects.max(1) as f64 * 1e6 * 10.0).round() / 10.0,
                "peak_mib": (peak_mib() * 10.0).round() / 10.0,
                "checked": checked,
                "wrong": wrong,
                "list_pages": requests.get("ListObjectVersions"),
                "copies": requests.get("CopyObject"),
                "pace": pace.ok().flatten(),
                "copies_sent_before_stop": resumed.map(|r| r.0),
                "keys_back_before_stop": resumed.map(|r| r.1),
                "copies_after_resume": resumed.map(|r| requests.get("CopyObject").copied().unwrap_or(0) - r.0),
            })
        );
    });
}
