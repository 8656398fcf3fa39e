//! `s3.restore_to_time`: every key under a prefix back to its newest version at or before
//! a time, in the fewest requests — one listing, one copy per overwritten key, delete
//! markers removed a thousand at a time — each copy proved, the newer keys kept.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use serde_json::{Map, Value as Json};

use super::key_ranges::{Cuts, Range, Splitting, rest};

use super::s3_batch;
use super::s3_changes::{Pieces, job};
use super::tasks::{self, concurrency};
use super::{Env, args};
use crate::cloud::manifest::{self, Manifest, ManifestError, Part, PartWriter};
use crate::cloud::plan::{Plan, Planner, Tally, Ver};
use crate::cloud::port::s3::{S3Api, VersionMarker};
use crate::cloud::{ActionCall, ActionError, ActionResult, Progress, outputs};
use crate::runbook::model::BatchSetup;
use crate::runbook::raw::ResourceKind;
use crate::runbook::time::{Timestamp, parse_timestamp};

pub struct Args {
    pub bucket: String,
    pub prefix: String,
    pub time: Timestamp,
    pub time_text: String,
    pub delete_newer: bool,
    pub dry_run: bool,
    /// The plan confirmed: the roll-back changes nothing it does not list.
    pub plan_sha256: Option<String>,
    pub mode: Mode,
    /// The S3 Batch Operations job the confirmed dry run created.
    pub job: Option<String>,
}

/// Who makes the copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// S3 Batch Operations when the bucket has a `batch:` setup and the plan holds at
    /// least its `above` copies; else this machine.
    Auto,
    Direct,
    Batch,
}

/// Copies from which `auto` uses S3 Batch Operations unless `batch.above` says.
const BATCH_ABOVE: u64 = 1_000_000;

impl Args {
    pub fn decode(call: &ActionCall) -> Result<Args, ActionError> {
        Ok(Args {
            bucket: args::text(call, "bucket")?.into(),
            prefix: args::opt_text(call, "prefix")?.unwrap_or("").into(),
            time: args::timestamp(call, "time")?,
            time_text: args::text(call, "time")?.into(),
            delete_newer: args::flag(call, "delete_newer")?,
            dry_run: args::flag(call, "dry_run")?,
            plan_sha256: args::opt_name(call, "plan_sha256")?.map(str::to_string),
            mode: match args::opt_text(call, "mode")? {
                None | Some("auto") => Mode::Auto,
                Some("direct") => Mode::Direct,
                Some("batch") => Mode::Batch,
                Some(_) => return Err(args::bad(call, "mode", "is not auto, direct or batch")),
            },
            job: args::opt_name(call, "job")?.map(str::to_string),
        })
    }
}

/// Cursors listing at once (`LIFEBOAT_S3_LISTERS`; 1 lists the whole prefix from one
/// cursor). One cursor reads about a million versions in five minutes (AWS's roll-back
/// guidance), so a bucket of tens of millions is listed by many.
pub fn listers() -> usize {
    std::env::var("LIFEBOAT_S3_LISTERS").ok().and_then(|v| v.parse().ok()).filter(|n| *n > 0).unwrap_or(16)
}

/// Pages one cursor reads of a share before the rest of it may be cut between cursors
/// by the keys' next character (`LIFEBOAT_S3_SPLIT_AFTER`): a flat prefix of millions
/// (UUIDs, hashes, sequential names) has no `/` to split it by.
fn split_after() -> usize {
    std::env::var("LIFEBOAT_S3_SPLIT_AFTER").ok().and_then(|v| v.parse().ok()).filter(|n| *n > 0).unwrap_or(10)
}

/// A roll-back's plan: its counts and recovery point in memory, its changes on disk.
pub struct Planned {
    pub tally: Tally,
    pub newest: Option<Timestamp>,
    pub manifest: Manifest,
}

/// What one cursor found.
struct Listed {
    plan: Plan,
    parts: Vec<Part>,
    /// The prefixes one level down (a listing by level).
    below: Vec<String>,
    /// Stopped early: everything of the range after this key is still to list.
    rest: Option<String>,
    /// Then, the key after it (its versions read in part): no key lies between the two.
    next: Option<String>,
    /// The greatest key it listed.
    greatest: Option<String>,
    /// The characters its first pages' keys use after its prefix: where a cut makes pieces.
    alphabet: BTreeSet<char>,
}

/// What a roll-back of everything under `prefix` to `time` must do, decided key by key as
/// the listing passes (one key's versions held, not the bucket's) and written to the
/// manifest a page at a time. The key space is shared between `lanes` cursors
/// ([`key_ranges`]): one cursor lists the whole prefix until it proves long, then what
/// is left is shared — the prefixes beside its last key found by listings by level and
/// each listed by its own cursor, a level too long for one cursor cut by the keys' next
/// character — while cursors would otherwise idle.
pub async fn plan(
    s3: &Arc<dyn S3Api>,
    op: &'static str,
    bucket: &str,
    prefix: &str,
    region: &str,
    (time, delete_newer): (Timestamp, bool),
    lanes: usize,
) -> Result<Planned, ActionError> {
    let dir = manifest::work_dir();
    let at = |e: ManifestError| e.at(op, &format!("s3://{bucket}/{prefix}"));
    let (mut tally, mut newest, mut parts) = (Tally::default(), None, Vec::new());
    let mut queue: VecDeque<Range> = VecDeque::new();
    let mut cuts = Cuts::default();
    // What a finished range found: its counts, its parts, and what is left to list.
    let mut add = |mut l: Listed, range: &Range, queue: &mut VecDeque<Range>, cuts: &mut Cuts| {
        tally.merge(l.plan.tally);
        newest = newest.max(l.plan.newest);
        parts.append(&mut l.parts);
        queue.extend(l.below.drain(..).map(|p| Range::all(&p)));
        if let Some(g) = &l.greatest {
            cuts.saw(range, g);
        }
        let next = match &l.rest {
            Some(last) => {
                let (pieces, gaps, beside) = rest(range, (last, l.next.as_deref()), &l.alphabet);
                let mut next = cuts.open(range, last, pieces, gaps);
                next.extend(beside);
                next
            }
            None => cuts.done(range),
        };
        queue.extend(next);
    };
    // The whole prefix from one cursor first: a bucket of fewer pages than a split waits
    // for is listed in the fewest requests, as by one cursor; a longer one hands back its
    // rest after that many pages, to be shared by its prefixes and its keys' characters.
    let split = (lanes > 1).then(|| Splitting::new(split_after(), lanes));
    let all = Range::all(prefix);
    let l = list_range(s3.as_ref(), op, bucket, &all, region, (time, delete_newer), split.as_ref()).await?;
    add(l, &all, &mut queue, &mut cuts);
    let mut set = tokio::task::JoinSet::new();
    loop {
        while set.len() < lanes {
            let Some(range) = queue.pop_front() else { break };
            let (s3, bucket, region, split) = (s3.clone(), bucket.to_string(), region.to_string(), split.clone());
            set.spawn(crate::clock::inherit(async move {
                let l = list_range(s3.as_ref(), op, &bucket, &range, &region, (time, delete_newer), split.as_ref());
                (l.await, range)
            }));
        }
        if let Some(s) = &split {
            s.set_waiting(queue.len());
        }
        let Some(done) = set.join_next().await else { break };
        let (l, range) = match done {
            Ok((l, range)) => (l?, range),
            Err(e) => {
                return Err(ActionError::new(op, bucket, "InternalError", format!("a listing ended abnormally: {e}")));
            }
        };
        add(l, &range, &mut queue, &mut cuts);
    }
    let manifest = Manifest::join(&dir, parts).map_err(at)?;
    Ok(Planned { tally, newest, manifest })
}

/// One cursor over its range, page after page on the key and version markers, its
/// decisions written to the manifest as each page is read. Listing by level (delimiter
/// `/`), the prefixes under it are collected, and the keys beside them are written in
/// runs between two prefixes, so that the parts joined by their first keys are the
/// bucket's order, however many cursors listed it. With `split`, it may stop once a key
/// is decided and hand back the rest of its range to be cut.
async fn list_range(
    s3: &dyn S3Api,
    op: &str,
    bucket: &str,
    range: &Range,
    region: &str,
    (time, delete_newer): (Timestamp, bool),
    split: Option<&Splitting>,
) -> Result<Listed, ActionError> {
    let prefix = range.prefix.as_str();
    let at = |e: ManifestError| e.at(op, &format!("s3://{bucket}/{prefix}"));
    let dir = manifest::work_dir();
    let mut out = Listed {
        plan: Plan::new(),
        parts: Vec::new(),
        below: Vec::new(),
        rest: None,
        next: None,
        greatest: None,
        alphabet: BTreeSet::new(),
    };
    // The part being written: its writer, first key, and how many prefixes sort before it.
    let mut open: Option<(PartWriter, String, usize)> = None;
    let mut planner = Planner::new(time, delete_newer);
    let delimiter = range.by_level.then_some("/");
    let mut from = range.from.clone().map(|key| VersionMarker { key, version_id: None });
    let mut pages = 0;
    loop {
        let page =
            s3.list_versions(bucket, prefix, delimiter, from.take()).await.map_err(|e| e.at(op, bucket, region))?;
        pages += 1;
        let past = page.versions.iter().any(|v| range.beyond(&v.key)) || page.prefixes.iter().any(|p| range.beyond(p));
        out.below.extend(page.prefixes.into_iter().filter(|p| range.holds(p)));
        // Only its own keys: one beyond its end may sort after what a gap must list.
        if let Some(g) = page.versions.iter().map(|v| &v.key).filter(|k| range.holds(k)).max()
            && out.greatest.as_ref().is_none_or(|x| g > x)
        {
            out.greatest = Some(g.clone());
        }
        let mut versions: Vec<_> = page.versions.into_iter().filter(|v| range.holds(&v.key)).collect();
        if split.is_some_and(|s| pages <= s.pages(range)) {
            for v in &versions {
                out.alphabet.extend(v.key.get(prefix.len()..).unwrap_or_default().chars());
            }
        }
        // Versions and delete markers come as two lists; a stable sort by key puts each
        // key's entries together.
        versions.sort_by(|a, b| a.key.cmp(&b.key));
        let last_page = page.next.is_none() || past;
        for v in versions {
            let ver = Ver { id: v.version_id, time: v.time, etag: v.etag, marker: v.marker, size: v.size };
            planner
                .push(&v.key, ver, v.latest)
                .map_err(|e| ActionError::new(op, &format!("s3://{bucket}/{prefix}"), "OutOfOrder", e.to_string()))?;
        }
        let stop_early = !last_page && split.is_some_and(|s| s.now(range, pages));
        if last_page {
            planner.flush();
        } else if stop_early && let Some((last, next)) = planner.abandon() {
            // What the listing passed is decided; the rest of the level goes to others.
            out.below.retain(|p| p.as_str() <= last.as_str());
            out.rest = Some(last);
            out.next = next;
        }
        for (key, todo) in planner.plan.todo.drain(..) {
            let gap = out.below.partition_point(|p| p.as_str() < key.as_str());
            if open.as_ref().is_some_and(|(_, _, g)| *g != gap)
                && let Some((w, first, _)) = open.take()
            {
                out.parts.push(w.finish(&first).map_err(at)?);
            }
            if open.is_none() {
                open = Some((PartWriter::create(&dir, bucket).map_err(at)?, key.clone(), gap));
            }
            if let Some((w, _, _)) = open.as_mut() {
                w.write(&key, &todo).map_err(at)?;
            }
        }
        if last_page || out.rest.is_some() {
            break;
        }
        from = page.next;
    }
    if let Some((w, first, _)) = open.take() {
        out.parts.push(w.finish(&first).map_err(at)?);
    }
    out.plan = planner.finish();
    Ok(out)
}

pub async fn run(env: &Env<'_>, a: Args) -> Result<ActionResult, ActionError> {
    let (op, region) = (env.op(), env.region.as_str());
    let s3 = env.s3(region, None).await?;
    if let Some(plan) = confirmed_plan(env, &a) {
        return carry_out(env, &a, &s3, plan).await;
    }
    let planned = plan(&s3, op, &a.bucket, &a.prefix, region, (a.time, a.delete_newer), listers()).await?;
    let (tally, manifest) = (&planned.tally, &planned.manifest);
    let rp = planned.newest.unwrap_or(a.time);
    let mut result = outputs::rolled_back(tally, a.delete_newer, rp, region);
    result.insert("manifest_sha256".into(), manifest.sha256.clone().into());
    result.insert("manifest_records".into(), manifest.records.into());
    (env.ctx.progress)(Progress::Line(format!(
        "{}; manifest {} ({} changes, sha256 {})",
        tally.describe(&a.bucket, &a.prefix, &a.time_text, a.dry_run),
        manifest.path.display(),
        manifest.records,
        manifest.sha256
    )));
    let setup = batch_setup(env, &a, tally.copies)?;
    if a.dry_run {
        if let Some(setup) = setup {
            let records = manifest.records().map_err(|e| e.at(op, &a.bucket))?;
            let (job, tasks) = s3_batch::create(env, setup, &a.bucket, &manifest.sha256, records).await?;
            (env.ctx.progress)(Progress::Line(if job == s3_batch::NO_JOB {
                "no S3 Batch Operations job: the plan holds no copy for one (what it holds is done here)".to_string()
            } else {
                format!(
                    "S3 Batch Operations job {job} created, waiting for confirmation: {tasks} copies read from its manifest"
                )
            }));
            result.insert("batch_job".into(), job.into());
            result.insert("batch_tasks".into(), tasks.into());
        }
        return Ok(ActionResult { outputs: result, recovery_point: None });
    }
    // What runs is what was confirmed: planned again (a retry or a resume finds less to
    // do), but never a change the confirmed plan did not list.
    if let Some(sha) = &a.plan_sha256 {
        let refused = |why: String| {
            ActionError::new(op, &format!("s3://{}/{}", a.bucket, a.prefix), "PlanChanged", why)
                .hint("nothing was changed: run the dry run again, review its plan and confirm that one".to_string())
        };
        let confirmed = Manifest::confirmed(&manifest::work_dir(), sha)
            .map_err(|e| refused(format!("the confirmed plan cannot be read: {e}")))?;
        let outside = manifest.outside(&confirmed).map_err(|e| refused(e.to_string()))?;
        if let Some(change) = outside {
            if manifest.sha256 != *sha {
                manifest.remove();
            }
            return Err(refused(format!(
                "the bucket changed after the plan {}… was confirmed: {change}, which that plan does not list",
                sha.get(..16).unwrap_or(sha)
            )));
        }
    }
    let done = match setup {
        None => {
            let records = manifest.records().map_err(|e| e.at(op, &a.bucket))?;
            let work = Pieces::new(records).map(|p| job(p, &s3, op, &a.bucket, region));
            tasks::run(work, tally.changes(a.delete_newer), concurrency(), env.ctx).await
        }
        Some(setup) => by_batch(env, &a, setup, &s3, &planned).await,
    };
    // A confirmed plan stays, as the record of what was agreed; this run's own goes.
    if a.plan_sha256.as_deref() != Some(manifest.sha256.as_str()) {
        manifest.remove();
    }
    done?;
    // Deleting only what was created after the time brings nothing back.
    let brought_back = tally.copies + tally.undeletes > 0;
    Ok(ActionResult { outputs: result, recovery_point: brought_back.then_some(rp) })
}

/// The confirmed dry run's outputs, when this call may carry out its plan as it stands:
/// a first attempt held to that plan (`plan_sha256` the outputs' own digest), in the same
/// region, copying here (a Batch job is started and checked by its own path).
fn confirmed_plan<'p>(env: &Env<'p>, a: &Args) -> Option<&'p Map<String, Json>> {
    let plan = env.ctx.plan?;
    let sha = a.plan_sha256.as_deref()?;
    let n = |k: &str| plan.get(k).and_then(Json::as_u64).unwrap_or(0);
    let ours = plan.get("manifest_sha256").and_then(Json::as_str) == Some(sha)
        && plan.get("region").and_then(Json::as_str) == Some(env.region.as_str());
    let by_batch = batch_setup(env, a, n("restored")).ok().flatten().is_some() || a.job.is_some();
    (ours && !a.dry_run && !by_batch).then_some(plan)
}

/// Carries out the confirmed plan without listing the bucket again: the preview the
/// operator confirmed (or the plan step the runbook names) is the plan, and the check
/// after is the proof — at a million keys each listing is more than a minute of the RTO.
/// The outputs are the plan's, as the log holds them; the manifest is the one its digest
/// names, read through to prove it.
async fn carry_out(
    env: &Env<'_>,
    a: &Args,
    s3: &Arc<dyn S3Api>,
    plan: &Map<String, Json>,
) -> Result<ActionResult, ActionError> {
    let (op, region) = (env.op(), env.region.as_str());
    let sha = a.plan_sha256.as_deref().unwrap_or_default();
    let (manifest, keys) = Manifest::open_confirmed(&manifest::work_dir(), sha, &a.bucket).map_err(|e| {
        ActionError::new(op, &format!("s3://{}/{}", a.bucket, a.prefix), "PlanChanged", e.to_string())
            .hint("nothing was changed: run the dry run again, review its plan and confirm that one".to_string())
    })?;
    (env.ctx.progress)(Progress::Line(format!(
        "carrying out the confirmed plan {} ({} changes to {keys} objects, sha256 {sha}) without listing s3://{}/{} again",
        manifest.path.display(),
        manifest.records,
        a.bucket,
        a.prefix
    )));
    let records = manifest.records().map_err(|e| e.at(op, &a.bucket))?;
    let work = Pieces::new(records).map(|p| job(p, s3, op, &a.bucket, region));
    tasks::run(work, keys, concurrency(), env.ctx).await?;
    let mut outputs = plan.clone();
    outputs.retain(|k, _| !matches!(k.as_str(), "batch_job" | "batch_tasks"));
    let n = |k: &str| plan.get(k).and_then(Json::as_u64).unwrap_or(0);
    let recovery_point = plan
        .get("recovery_point")
        .and_then(Json::as_str)
        .and_then(|t| parse_timestamp(t).ok())
        .filter(|_| n("restored") + n("undeleted") > 0);
    Ok(ActionResult { outputs, recovery_point })
}

/// Which batch setup a roll-back uses, if any: asked for, or `auto` above its threshold.
fn batch_setup<'e>(env: &'e Env<'_>, a: &Args, copies: u64) -> Result<Option<&'e BatchSetup>, ActionError> {
    let setup = env
        .ctx
        .dataset
        .resources
        .iter()
        .find(|r| r.kind == ResourceKind::S3Bucket && r.id == a.bucket)
        .and_then(|r| r.batch.as_ref());
    match (a.mode, setup) {
        (Mode::Direct, _) | (Mode::Auto, None) => Ok(None),
        (Mode::Batch, None) => Err(ActionError::new(
            env.op(),
            &format!("s3://{}", a.bucket),
            "NoBatchSetup",
            format!("`mode: batch` needs the bucket's `batch:` setup in datasets.yaml, and `{}` has none", a.bucket),
        )
        .hint(
            "add `batch: { role: ARN, reports: BUCKET }` to the bucket's resource, or roll back with `mode: direct`",
        )),
        (Mode::Batch, Some(s)) => Ok(Some(s)),
        (Mode::Auto, Some(s)) => Ok((a.job.is_some() || copies >= s.above.unwrap_or(BATCH_ABOVE)).then_some(s)),
    }
}

/// A confirmed roll-back by its job: lifeboat removes the delete markers and makes the
/// copies too big for the job, the job makes the rest once confirmed, and the step ends
/// when the job's report is read.
async fn by_batch(
    env: &Env<'_>,
    a: &Args,
    setup: &BatchSetup,
    s3: &Arc<dyn S3Api>,
    planned: &Planned,
) -> Result<u64, ActionError> {
    let (op, region) = (env.op(), env.region.as_str());
    let where_ = format!("s3://{}/{}", a.bucket, a.prefix);
    let (Some(id), Some(_)) = (&a.job, &a.plan_sha256) else {
        return Err(ActionError::new(
            op,
            &where_,
            "BatchNotConfirmed",
            "a roll-back by S3 Batch Operations runs the job its confirmed dry run created: give `job` and `plan_sha256`",
        )
        .hint("plan with `dry_run: true` (it creates the job unconfirmed), confirm its counts, then pass `job: ${{ steps.PLAN.outputs.batch_job }}` and `plan_sha256`"));
    };
    let manifest = &planned.manifest;
    // Counted while planning: the manifest is read once, for what this machine does.
    let copies = planned.tally.batch_copies;
    let found = s3_batch::run(env, id, &a.bucket, copies).await?;
    // The rest is this machine's: delete markers (Batch has no delete) and copies over
    // 5 GiB or in parts — or everything left, when the job finished before (a retry).
    // No key has both a copy and a marker change, so order does not matter.
    let finished = matches!(found, s3_batch::Found::Finished);
    let records = manifest.records().map_err(|e| e.at(op, &a.bucket))?;
    let rest = records.filter(|r| finished || !r.as_ref().is_ok_and(s3_batch::by_job));
    let total = planned.tally.changes(a.delete_newer);
    let mine = if finished { total } else { total.saturating_sub(copies) };
    let work = Pieces::new(rest).map(|p| job(p, s3, op, &a.bucket, region));
    tasks::run(work, mine, concurrency(), env.ctx).await?;
    let copied = match &found {
        s3_batch::Found::Finished => 0,
        s3_batch::Found::Running(ctl) => s3_batch::follow(env, ctl, id, &a.bucket, setup).await?,
    };
    // The job's copies are proved the way a roll-back is: planned again, nothing is left.
    let check = plan(s3, op, &a.bucket, &a.prefix, region, (a.time, a.delete_newer), listers()).await?;
    check.manifest.remove();
    let left = check.tally.changes(a.delete_newer);
    if left > 0 {
        return Err(ActionError::new(
            op,
            &where_,
            "BatchIncomplete",
            format!("{left} keys still differ from {} after {} copies by the job", a.time_text, copied),
        )
        .hint("retry the step: the plan is made again and only what is left is done"));
    }
    (env.ctx.progress)(Progress::Line(format!(
        "proved: planned again after the job, s3://{}/{} needs no change",
        a.bucket, a.prefix
    )));
    Ok(mine + copied as u64)
}
