//! The simulated cloud runs the same action code as AWS: an S3 roll-back on it pages
//! through more than a thousand versions, copies a multipart object in its own parts,
//! rides out throttling the way the SDK does, and proves every copy.

use std::sync::Arc;

use lifeboat::clock::{Clock, VirtualClock};
use lifeboat::cloud::port::{Backend, Reach};
use lifeboat::cloud::sim::Sim;
use lifeboat::cloud::sim::world::{Bucket, Content, Version, World, etag_of};
use lifeboat::cloud::{ActionCall, ActionCtx, Cloud, Progress};
use lifeboat::runbook::action_table as catalog;
use lifeboat::runbook::load::catalog_from_str;
use lifeboat::runbook::time::{Timestamp, parse_timestamp};
use serde_json::{Map, Value as Json, json};

fn t(s: &str) -> Timestamp {
    parse_timestamp(s).unwrap()
}

const MIB: u64 = 1024 * 1024;

fn object(n: u64, time: Timestamp, size: u64, part_size: Option<u64>) -> Version {
    let content = Content::Seeded(n);
    Version {
        id: format!("v{n:06}"),
        time,
        etag: etag_of(&content, size, part_size, true),
        size,
        delete_marker: false,
        content,
        part_size,
        crc32: part_size.is_none(),
    }
}

/// 1,200 keys: 600 overwritten after the incident, 300 deleted, 300 untouched; one
/// 12 MiB object stored in 5 MiB parts, overwritten in 6 MiB parts.
pub fn world(good: Timestamp, bad: Timestamp) -> World {
    let mut b = Bucket { region: "eu-central-1".into(), versioning: true, kms: true, ..Bucket::default() };
    for i in 0..1200u64 {
        let key = format!("docs/{i:05}.pdf");
        let mut vs = vec![object(i * 10, good, 2048, None)];
        match i % 4 {
            0 | 1 => vs.push(object(i * 10 + 1, bad, 2048, None)),
            2 => vs.push(Version::marker(format!("m{i:06}"), bad)),
            _ => {}
        }
        b.objects.insert(key, vs);
    }
    b.objects.insert(
        "big/archive.tar".into(),
        vec![object(900_001, good, 12 * MIB, Some(5 * MIB)), object(900_002, bad, 12 * MIB, Some(6 * MIB))],
    );
    let mut w = World::default();
    w.buckets.insert("ledger-docs".into(), b);
    w
}

const CATALOG: &str = "apiVersion: lifeboat/v1\nkind: DatasetCatalog\ndatasets:\n  - id: docs\n    title: Docs\n    classification: confidential\n    rpo: 1h\n    rto: 2h\n    primary: { region: eu-central-1 }\n    resources:\n      - { kind: s3-bucket, id: ledger-docs, role: production }\n";

/// The simulated cloud seeded from the catalog with `ledger-docs` sized to `objects` keys
/// over `prefixes` prefixes, its ransomware an hour before now.
fn sized(objects: u64, prefixes: u64) -> (lifeboat::runbook::model::Catalog, Sim, Timestamp, Timestamp) {
    let catalog = catalog_from_str(&CATALOG.replace(
        "{ kind: s3-bucket, id: ledger-docs, role: production }",
        &format!("{{ kind: s3-bucket, id: ledger-docs, role: production, sim: {{ objects: {objects}, prefixes: {prefixes} }} }}"),
    ))
    .unwrap();
    let (incident, now) = (t("2026-11-24T03:00:00Z"), t("2026-11-24T04:00:00Z"));
    let sim = Sim::seeded(&catalog, now, incident);
    (catalog, sim, incident, now)
}

fn action_call(action: &str, args: Json, step: &str) -> ActionCall {
    ActionCall {
        spec: catalog::find(action).unwrap(),
        args: args.as_object().unwrap().clone(),
        run_id: "run-1".into(),
        step: step.into(),
    }
}

async fn roll_back(sim: &Sim, clock: Arc<dyn Clock>, args: Json) -> (Result<Map<String, Json>, String>, Vec<Progress>) {
    let (r, seen) = crate::act(sim, clock, (CATALOG, None), ("s3.restore_to_time", args, "restore")).await;
    (r.map(|r| r.outputs).map_err(|e| format!("{e} [{:?}]", e.code)), seen)
}

#[tokio::test(start_paused = true)]
async fn a_roll_back_pages_copies_in_parts_rides_out_throttling_and_proves_every_copy() {
    let (good, bad) = (t("2026-11-20T10:00:00Z"), t("2026-11-24T03:10:00Z"));
    let sim = Sim::of(world(good, bad));
    // S3 throttles: the first two copies and the second page of the listing answer 503
    // SlowDown; the SDK's retries (played by the simulated cloud as by AWS's) absorb them.
    sim.fault("CopyObject", "SlowDown", 2);
    sim.fault("UploadPartCopy", "SlowDown", 1);
    sim.fault("ListObjectVersions", "SlowDown", 1);
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(t("2026-11-24T04:00:00Z"), 1.0));
    let (out, progress) =
        roll_back(&sim, clock.clone(), json!({ "bucket": "ledger-docs", "time": "2026-11-24T03:00:00Z" })).await;
    let out = out.unwrap();
    assert_eq!((out["restored"].as_u64(), out["undeleted"].as_u64()), (Some(601), Some(300)), "{out:?}");
    assert_eq!(out["recovery_point"], json!("2026-11-20T10:00:00Z"));

    let requests = sim.requests();
    let n = |op: &str| requests.get(op).copied().unwrap_or(0);
    // Under ten pages, the bucket is listed whole from one cursor, in the fewest pages:
    // `big/`'s object and `docs/`'s 1,200 keys with 2,100 versions and markers in three
    // pages of a thousand; plus the throttled page.
    assert_eq!(n("ListObjectVersions"), 3 + 1, "{requests:?}");
    // One copy an overwritten key, plus the two throttled attempts.
    assert_eq!(n("CopyObject"), 600 + 2, "{requests:?}");
    // The multipart object in its own three 5 MiB parts (one part retried once).
    assert_eq!(
        (n("HeadObject"), n("CreateMultipartUpload"), n("UploadPartCopy"), n("CompleteMultipartUpload")),
        (1, 1, 3 + 1, 1)
    );
    // 300 delete markers removed in one DeleteObjects.
    assert_eq!(n("DeleteObjects"), 1, "{requests:?}");
    assert!(
        !progress.iter().any(|p| matches!(p, Progress::Line(l) if l.contains("size only"))),
        "every copy proved by its ETag"
    );
    assert!(progress.contains(&Progress::Count { done: 901, total: 901, unit: "objects" }), "{progress:?}");

    sim.with_world(|w| {
        let b = &w.buckets["ledger-docs"];
        let big = b.current("big/archive.tar").unwrap();
        assert_eq!(big.etag, b.objects["big/archive.tar"][0].etag, "the copy in the source's parts has its ETag");
        assert!(big.etag.ends_with("-3\""), "{}", big.etag);
        for (k, vs) in &b.objects {
            assert_eq!(b.current(k).map(|v| v.etag), Some(vs[0].etag.clone()), "{k} holds its good version");
        }
    });

    // A second roll-back finds nothing left to do: one listing, no writes.
    let before = sim.requests();
    let (again, _) = roll_back(&sim, clock, json!({ "bucket": "ledger-docs", "time": "2026-11-24T03:00:00Z" })).await;
    assert_eq!(
        (again.as_ref().unwrap()["restored"].as_u64(), again.unwrap()["undeleted"].as_u64()),
        (Some(0), Some(0))
    );
    let after = sim.requests();
    let writes = |m: &std::collections::BTreeMap<String, u64>| {
        m.iter().filter(|(k, _)| !k.starts_with("List")).map(|(_, v)| v).sum::<u64>()
    };
    assert_eq!(writes(&after), writes(&before), "{after:?}");
}

#[tokio::test(start_paused = true)]
async fn throttling_past_the_sdk_s_retries_slows_the_roll_back_down_unless_it_never_ends_and_a_locked_version_is_never_deleted()
 {
    let (good, bad) = (t("2026-11-20T10:00:00Z"), t("2026-11-24T03:10:00Z"));
    // Thirty throttled copies: the first eight copies in flight each throttled past the
    // SDK's three attempts, then more. The pace halves what is in flight and queues the
    // throttled copies again; every object comes back.
    let sim = Sim::of(world(good, bad));
    sim.fault("CopyObject", "SlowDown", 30);
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(t("2026-11-24T04:00:00Z"), 1.0));
    let (out, progress) =
        roll_back(&sim, clock.clone(), json!({ "bucket": "ledger-docs", "time": "2026-11-24T03:00:00Z" })).await;
    let out = out.unwrap();
    assert_eq!(out["restored"].as_u64(), Some(601));
    let lines: Vec<String> =
        progress.iter().filter_map(|p| if let Progress::Line(l) = p { Some(l.clone()) } else { None }).collect();
    assert!(lines.iter().any(|l| l.starts_with("S3 asked to slow down (SlowDown)")), "{lines:?}");
    assert_eq!(sim.requests()["CopyObject"], 600 + 30, "each throttled attempt counted, each key copied once");
    // Throttled without end: the step fails, retryable, naming S3's word.
    let sim = Sim::of(world(good, bad));
    sim.fault("CopyObject", "SlowDown", 1_000_000);
    let (out, _) =
        roll_back(&sim, clock.clone(), json!({ "bucket": "ledger-docs", "time": "2026-11-24T03:00:00Z" })).await;
    let e = out.unwrap_err();
    assert!(e.contains("SlowDown"), "{e}");

    // Object lock: a delete of a protected version is refused per key, and said so.
    let sim = Sim::of(world(good, bad));
    sim.with_world(|w| {
        let b = w.buckets.get_mut("ledger-docs").unwrap();
        b.object_lock_days = Some(30);
        // Only created after the time: with delete_newer the roll-back places a delete
        // marker (allowed under object lock) and never removes the version.
        b.objects.insert("late.txt".into(), vec![object(777, bad, 10, None)]);
    });
    let (out, _) = roll_back(
        &sim,
        clock,
        json!({ "bucket": "ledger-docs", "time": "2026-11-24T03:00:00Z", "delete_newer": true }),
    )
    .await;
    out.unwrap();
    sim.with_world(|w| {
        let vs = &w.buckets["ledger-docs"].objects["late.txt"];
        assert_eq!((vs.len(), vs[1].delete_marker), (2, true), "the version stays, a marker on top");
    });
    // The port itself refuses to delete a locked version, as S3 does, per key.
    let reach = Reach { region: "eu-central-1".into(), role_arn: None, clock: Arc::new(VirtualClock::new(bad, 1.0)) };
    let s3 = Backend::s3(&sim, &reach).await.unwrap();
    let failed = s3.delete_objects("ledger-docs", &[("late.txt".into(), Some("v000777".into()))]).await.unwrap();
    assert_eq!(failed.iter().map(|f| f.code.as_str()).collect::<Vec<_>>(), ["AccessDenied"]);
    sim.with_world(|w| assert_eq!(w.buckets["ledger-docs"].objects["late.txt"].len(), 2));
}

/// 24 prefixes of 500 keys, each key overwritten after the incident: 24,000 versions.
fn wide_world(good: Timestamp, bad: Timestamp) -> World {
    let mut b = Bucket { region: "eu-central-1".into(), versioning: true, ..Bucket::default() };
    for p in 0..24u64 {
        for i in 0..500u64 {
            let n = p * 1000 + i;
            b.objects.insert(
                format!("tenant-{p:02}/docs/{i:04}.pdf"),
                vec![object(n * 10, good, 1024, None), object(n * 10 + 1, bad, 1024, None)],
            );
        }
    }
    // Keys beside the prefixes, sorting between them: the manifest keeps the bucket's order.
    for (n, key) in [(900_001u64, "tenant-05.txt"), (900_002, "zz-top.txt")] {
        b.objects.insert(key.into(), vec![object(n * 10, good, 1024, None), object(n * 10 + 1, bad, 1024, None)]);
    }
    let mut w = World::default();
    w.buckets.insert("wide".into(), b);
    w
}

#[tokio::test(start_paused = true)]
async fn the_key_space_is_listed_by_many_cursors_and_plans_exactly_as_one_cursor_does() {
    use lifeboat::cloud::actions::s3_restore_to_time::plan;
    // nextest runs each test in its own process: the rest is shared after two pages
    // read whole, not ten, so that this bucket of 25 pages is shared at all.
    unsafe { std::env::set_var("LIFEBOAT_S3_SPLIT_AFTER", "2") };
    let (good, bad) = (t("2026-11-20T10:00:00Z"), t("2026-11-24T03:10:00Z"));
    let mut plans = Vec::new();
    for lanes in [1, 16] {
        let sim = Sim::of(wide_world(good, bad));
        let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(t("2026-11-24T04:00:00Z"), 1.0));
        let reach = Reach { region: "eu-central-1".into(), role_arn: None, clock: clock.clone() };
        let s3 = sim.s3(&reach).await.unwrap();
        let start = clock.now();
        let p = plan(&s3, "s3.restore_to_time", "wide", "", "eu-central-1", (t("2026-11-24T03:00:00Z"), false), lanes)
            .await
            .unwrap();
        let took = start.duration_until(clock.now()).as_secs_f64();
        let pages = sim.requests().get("ListObjectVersions").copied().unwrap_or(0);
        plans.push(((p.manifest.sha256.clone(), p.tally.clone()), p.newest, took, pages));
        p.manifest.remove();
    }
    let ((one, newest1, t1, pages1), (many, newest16, t16, pages16)) = (&plans[0], &plans[1]);
    assert_eq!(one, many, "the same decisions: the same manifest, byte for byte, and the same counts");
    assert_eq!(newest1, newest16);
    assert_eq!(one.1.copies, 12_002);
    // One cursor: 25 pages of a thousand, one after another (300 ms each on the model).
    assert_eq!(*pages1, 25);
    assert!((7.4..7.8).contains(t1), "one cursor took {t1} s");
    // Many: two pages whole (two prefixes), then the second's rest and a page by level
    // after it that finds the 22 other prefixes, each prefix's page in parallel, 16 at a
    // time (one more page where a prefix's 1,000 versions end exactly on a page).
    assert!(*pages16 >= 25 && *pages16 <= 49, "{pages16} pages");
    assert!(*t16 < t1 / 4.0, "sixteen cursors took {t16} s against {t1} s ({pages16} pages)");
}

#[tokio::test(start_paused = true)]
async fn over_s3_s_request_rate_for_a_prefix_the_pace_backs_off_and_every_key_comes_back() {
    let (good, bad) = (t("2026-11-20T10:00:00Z"), t("2026-11-24T03:10:00Z"));
    // A prefix that takes 60 writes a second (S3's is 3,500): the pace's doubling meets
    // it, S3 answers SlowDown, the SDK retries, the pace halves.
    let model = lifeboat::cloud::sim::Model { s3_writes_per_prefix: Some(60), ..Default::default() };
    let sim = Sim::of(world(good, bad)).with_model(model);
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(t("2026-11-24T04:00:00Z"), 1.0));
    let (out, progress) =
        roll_back(&sim, clock.clone(), json!({ "bucket": "ledger-docs", "time": "2026-11-24T03:00:00Z" })).await;
    let out = out.unwrap();
    assert_eq!((out["restored"].as_u64(), out["undeleted"].as_u64()), (Some(601), Some(300)));
    let copies = sim.requests()["CopyObject"];
    assert!(copies > 600, "throttled attempts are sent again: {copies}");
    let pace = progress
        .iter()
        .rev()
        .find_map(|p| match p {
            Progress::Line(l) if l.starts_with("requests in flight") => Some(l.clone()),
            _ => None,
        })
        .unwrap();
    assert!(!pace.contains("backed off 0 time"), "{pace}");
    let restored = sim.with_world(|w| {
        let b = &w.buckets["ledger-docs"];
        (0..1200u64)
            .filter(|i| b.current(&format!("docs/{i:05}.pdf")).is_some_and(|v| v.content == Content::Seeded(i * 10)))
            .count()
    });
    assert_eq!(restored, 1200, "every key holds its content of before the incident");
}

#[tokio::test(start_paused = true)]
async fn a_bucket_sized_in_the_catalog_is_rolled_back_whole_on_the_simulated_cloud_without_a_record_a_key() {
    let (_, sim, incident, now) = sized(20000, 8);
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(now, 1.0));
    let args = json!({ "bucket": "ledger-docs", "time": "2026-11-24T03:00:00Z" });
    let (out, _) = roll_back(&sim, clock.clone(), args.clone()).await;
    let out = out.unwrap();
    assert_eq!(out["restored"].as_u64(), Some(20_000), "every key was overwritten a minute in: {out:?}");
    let requests = sim.requests();
    // 8 prefixes of 2,500 keys of 2 versions: 5 pages each. One cursor lists ten pages
    // whole (two prefixes, a key short), then the second's last key (a page) while a page
    // by level after it finds the six other prefixes, each listed by its own cursor.
    assert_eq!(requests["ListObjectVersions"], 10 + 1 + 1 + 6 * 5, "{requests:?}");
    assert_eq!(requests["CopyObject"], 20_000, "{requests:?}");
    let (held, back) = sim.with_world(|w| {
        let b = &w.buckets["ledger-docs"];
        let g = b.generated.as_ref().unwrap();
        let back = (0..20_000).filter(|i| {
            let vs = b.versions(&g.key(*i)).unwrap();
            vs.len() == 3 && vs[2].content == vs[0].content && vs[2].time > incident
        });
        (b.objects.len(), back.count())
    });
    assert_eq!((held, back), (0, 20_000), "each key set back to its first version, held as a time, not a record");
    let (again, _) =
        roll_back(&sim, clock, json!({ "bucket": "ledger-docs", "time": "2026-11-24T03:00:00Z", "dry_run": true }))
            .await;
    assert_eq!(again.unwrap()["restored"].as_u64(), Some(0), "nothing left to do");
}

#[tokio::test(start_paused = true)]
async fn a_roll_back_stopped_half_way_resumes_without_copying_a_finished_key_again() {
    let (catalog, sim, incident, now) = sized(40000, 4);
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(now, 1.0));
    let half = Arc::new(tokio::sync::Notify::new());
    let signal = half.clone();
    let progress = move |p: Progress| {
        if let Progress::Count { done, total, .. } = p
            && done * 2 >= total
        {
            signal.notify_one();
        }
    };
    let ctx = ActionCtx {
        clock: clock.clone(),
        progress: &progress,
        dataset: &catalog.datasets[0],
        incident_started_at: incident,
        plan: None,
    };
    let call = action_call(
        "s3.restore_to_time",
        json!({ "bucket": "ledger-docs", "time": "2026-11-24T03:00:00Z" }),
        "restore",
    );
    // The process dies half-way: the call is dropped where it stands, copies in flight
    // and all.
    let cloud = Cloud::from(&sim);
    tokio::select! {
        r = cloud.call(&call, &ctx) => panic!("finished before half-way: {r:?}"),
        _ = half.notified() => {}
    }
    let applied = |sim: &Sim| {
        sim.with_world(|w| {
            let b = &w.buckets["ledger-docs"];
            let g = b.generated.as_ref().unwrap();
            (0..40_000).filter(|i| b.versions(&g.key(*i)).unwrap().len() == 3).count() as u64
        })
    };
    let first = applied(&sim);
    assert!((20_000..40_000).contains(&first), "{first} keys were set back before the stop");
    let copies_before = sim.requests()["CopyObject"];
    let (out, _) = roll_back(&sim, clock, json!({ "bucket": "ledger-docs", "time": "2026-11-24T03:00:00Z" })).await;
    let out = out.unwrap();
    let copies = sim.requests()["CopyObject"] - copies_before;
    assert_eq!(out["restored"].as_u64(), Some(40_000 - first), "only what was left is planned");
    assert_eq!(copies, 40_000 - first, "no finished key copied again");
    assert_eq!(applied(&sim), 40_000, "and every key is back");
}

#[tokio::test(start_paused = true)]
async fn a_comparison_walks_both_listings_side_by_side_across_their_pages() {
    let good = t("2026-11-20T10:00:00Z");
    let mut a = Bucket { region: "eu-central-1".into(), versioning: true, kms: true, ..Bucket::default() };
    for i in 0..2_500u64 {
        a.objects.insert(format!("docs/{i:05}.pdf"), vec![object(i, good, 100, None)]);
    }
    let mut b = a.clone();
    for i in [0u64, 1_000, 2_499] {
        b.objects.remove(&format!("docs/{i:05}.pdf")); // missing from b, at page edges
    }
    for key in ["docs/00000a.pdf", "docs/99999.pdf"] {
        b.objects.insert(key.into(), vec![object(7, good, 100, None)]); // only in b
    }
    b.objects.insert("docs/01500.pdf".into(), vec![object(999_999, good, 101, None)]); // other bytes
    let mut w = World::default();
    w.buckets.insert("a".into(), a);
    w.buckets.insert("b".into(), b);
    let sim = Sim::of(w);
    let catalog = catalog_from_str(CATALOG).unwrap();
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(t("2026-11-24T04:00:00Z"), 1.0));
    let progress = |_: Progress| {};
    let ctx = ActionCtx {
        clock: clock.clone(),
        progress: &progress,
        dataset: &catalog.datasets[0],
        incident_started_at: good,
        plan: None,
    };
    let args = json!({ "a": { "bucket": "a", "prefix": "docs/" }, "b": { "bucket": "b", "prefix": "docs/" } });
    let call = action_call("s3.compare", args, "compare");
    let out = Cloud::from(&sim).call(&call, &ctx).await.unwrap().outputs;
    assert_eq!(
        (out["same"].as_u64(), out["missing"].as_u64(), out["extra"].as_u64(), out["different"].as_u64()),
        (Some(2_496), Some(3), Some(2), Some(1)),
        "{out:?}"
    );
    assert_eq!(sim.requests()["ListObjectsV2"], 3 + 3, "three pages a side");

    // A copy walks the two listings the same way: what b lacks, then (with `overwrite`)
    // what differs too.
    let copy = |overwrite: bool| json!({ "from": { "bucket": "a", "prefix": "docs/" }, "to": { "bucket": "b", "prefix": "docs/" }, "overwrite": overwrite });
    let out = Cloud::from(&sim).call(&action_call("s3.copy_prefix", copy(false), "copy"), &ctx).await.unwrap().outputs;
    assert_eq!(out["copied"].as_u64(), Some(3), "{out:?}");
    let out = Cloud::from(&sim).call(&action_call("s3.copy_prefix", copy(true), "copy"), &ctx).await.unwrap().outputs;
    assert_eq!(out["copied"].as_u64(), Some(1), "now only the one with other bytes: {out:?}");
    let out = Cloud::from(&sim).call(&call, &ctx).await.unwrap().outputs;
    assert_eq!((out["missing"].as_u64(), out["different"].as_u64()), (Some(0), Some(0)), "{out:?}");
}

#[tokio::test(start_paused = true)]
async fn a_roll_back_held_to_a_confirmed_plan_refuses_a_change_it_did_not_list_and_a_plan_edited_since() {
    let (good, bad) = (t("2026-11-20T10:00:00Z"), t("2026-11-24T03:10:00Z"));
    let work = tempfile::tempdir().unwrap();
    // SAFETY of the test: nextest runs each test in its own process.
    unsafe { std::env::set_var("LIFEBOAT_WORK_DIR", work.path()) };
    let sim = Sim::of(world(good, bad));
    let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(t("2026-11-24T04:00:00Z"), 1.0));
    let time = "2026-11-24T03:00:00Z";
    let (plan, _) =
        roll_back(&sim, clock.clone(), json!({ "bucket": "ledger-docs", "time": time, "dry_run": true })).await;
    let sha = plan.unwrap()["manifest_sha256"].as_str().unwrap().to_string();
    assert!(work.path().join(format!("plan-{sha}.csv")).exists(), "the dry run's plan stays, named by its digest");

    // After the plan, an untouched key is overwritten: rolling it back was never confirmed.
    sim.with_world(|w| {
        let b = w.buckets.get_mut("ledger-docs").unwrap();
        b.objects.get_mut("docs/00003.pdf").unwrap().push(object(31, t("2026-11-24T03:50:00Z"), 2048, None));
    });
    let held = json!({ "bucket": "ledger-docs", "time": time, "plan_sha256": sha });
    let (out, _) = roll_back(&sim, clock.clone(), held.clone()).await;
    let e = out.unwrap_err();
    assert!(e.contains("the bucket changed after the plan") && e.contains("`docs/00003.pdf` now needs copy"), "{e}");
    assert!(e.contains("PlanChanged"), "{e}");
    assert_eq!(sim.requests().get("CopyObject"), None, "nothing was changed");

    // Put back as it was: the plan holds again, and a retry after part of it ran is a
    // smaller plan inside the confirmed one.
    sim.with_world(|w| {
        w.buckets.get_mut("ledger-docs").unwrap().objects.get_mut("docs/00003.pdf").unwrap().pop();
    });
    let (out, _) = roll_back(&sim, clock.clone(), held.clone()).await;
    assert_eq!(out.unwrap()["restored"].as_u64(), Some(601));
    let (again, _) = roll_back(&sim, clock.clone(), held.clone()).await;
    assert_eq!(again.unwrap()["restored"].as_u64(), Some(0), "nothing left, nothing outside the plan");

    // A confirmed plan edited on disk is no longer the one confirmed.
    let path = work.path().join(format!("plan-{sha}.csv"));
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("copy", "copy ", 1)).unwrap();
    let (out, _) = roll_back(&sim, clock, held).await;
    let e = out.unwrap_err();
    assert!(e.contains("the file changed after it was planned"), "{e}");
}

/// A flat prefix (hash-named keys, no `/` to split by) of 30,000 keys and their versions,
/// with names at and around the cuts: digits, letters of both cases, a key that is a cut
/// itself, a space, `~`, `_`, a control character, DEL, non-ASCII, a deeper prefix inside
/// the flat one, a double slash.
fn flat_world(good: Timestamp, bad: Timestamp) -> (World, usize) {
    let mut keys: Vec<String> = (0..30_000u64)
        .map(|i| format!("flat/{:016x}", lifeboat::cloud::sim::world::det(&i.to_string(), 0, u64::MAX - 1)))
        .collect();
    for odd in [
        "a",
        "A",
        "0",
        "z",
        "zz",
        "~tilde",
        "~",
        "_under",
        " space",
        "\u{1}ctl",
        "\u{7f}del",
        "éclair",
        "日本",
        "z/deeper/1",
        "z/deeper/2",
        "/double",
        "9/x",
    ] {
        keys.push(format!("flat/{odd}"));
    }
    flat_bucket(&keys, good, bad)
}

/// Bucket `flat` holding `keys`, each written before the incident and overwritten after.
fn flat_bucket(keys: &[String], good: Timestamp, bad: Timestamp) -> (World, usize) {
    let mut b = Bucket { region: "eu-central-1".into(), versioning: true, ..Bucket::default() };
    for (n, key) in keys.iter().enumerate() {
        let n = n as u64;
        b.objects.insert(key.clone(), vec![object(n * 10, good, 100, None), object(n * 10 + 1, bad, 100, None)]);
    }
    let mut w = World::default();
    w.buckets.insert("flat".into(), b);
    (w, keys.len())
}

/// Prefixes some levels deep (`t/a/2026/11/00000.pdf` …), one of them long enough to be
/// cut: a listing stopped on a key three levels below the share it lists must hand back
/// the rest of every level above that key, not only of the key's own.
fn nested_world(good: Timestamp, bad: Timestamp) -> (World, usize) {
    let mut keys: Vec<String> = (0..3000).map(|i| format!("t/a/2026/11/{i:05}.pdf")).collect();
    keys.extend((0..1000).map(|i| format!("t/a/2026/12/{i:05}.pdf")));
    keys.extend((0..1000).map(|i| format!("t/b/2026/11/{i:05}.pdf")));
    keys.extend(["t/a/readme", "t/a/2026/notes", "t/a0", "t/z.txt", "u/x", "top"].map(String::from));
    flat_bucket(&keys, good, bad)
}

/// A flat prefix of 20,000 sequential names (`seq/000000.log` …): every key's next
/// character is `0` for three levels, so only a cut made again a character deeper, as a
/// piece proves long, spreads it over cursors.
fn sequential_world(good: Timestamp, bad: Timestamp) -> (World, usize) {
    let mut b = Bucket { region: "eu-central-1".into(), versioning: true, ..Bucket::default() };
    for i in 0..20_000u64 {
        b.objects.insert(
            format!("seq/{i:06}.log"),
            vec![object(i * 10, good, 100, None), object(i * 10 + 1, bad, 100, None)],
        );
    }
    let mut w = World::default();
    w.buckets.insert("flat".into(), b);
    (w, 20_000)
}

/// Plans the world with one cursor and with 16 (a share cut after two pages): the same
/// manifest byte for byte, every key once; returns the modeled seconds of each.
async fn one_cursor_and_sixteen(world: fn(Timestamp, Timestamp) -> (World, usize)) -> [f64; 2] {
    use lifeboat::cloud::actions::s3_restore_to_time::plan;
    // nextest runs each test in its own process: one cursor reads two pages of a share,
    // then the rest may be cut.
    unsafe { std::env::set_var("LIFEBOAT_S3_SPLIT_AFTER", "2") };
    let (good, bad) = (t("2026-11-20T10:00:00Z"), t("2026-11-24T03:10:00Z"));
    let mut seen = Vec::new();
    for lanes in [1, 16] {
        let (world, n) = world(good, bad);
        let sim = Sim::of(world);
        let clock: Arc<dyn Clock> = Arc::new(VirtualClock::new(t("2026-11-24T04:00:00Z"), 1.0));
        let reach = Reach { region: "eu-central-1".into(), role_arn: None, clock: clock.clone() };
        let s3 = sim.s3(&reach).await.unwrap();
        let start = clock.now();
        let p = plan(&s3, "s3.restore_to_time", "flat", "", "eu-central-1", (t("2026-11-24T03:00:00Z"), false), lanes)
            .await
            .unwrap();
        let took = start.duration_until(clock.now()).as_secs_f64();
        assert_eq!(p.tally.copies, n as u64, "every key planned once, with {lanes} cursor(s)");
        seen.push((p.manifest.sha256.clone(), took));
        p.manifest.remove();
    }
    assert_eq!(seen[0].0, seen[1].0, "the same manifest, byte for byte");
    [seen[0].1, seen[1].1]
}

#[tokio::test(start_paused = true)]
async fn a_flat_prefix_is_cut_by_the_keys_next_character_and_plans_exactly_as_one_cursor_does() {
    let [one, sixteen] = one_cursor_and_sixteen(flat_world).await;
    assert!(sixteen < one / 2.0, "cut between cursors it is faster: {one} s, then {sixteen} s");
}

#[tokio::test(start_paused = true)]
async fn a_share_stopped_on_a_key_levels_down_hands_back_every_level_above_it() {
    let [one, sixteen] = one_cursor_and_sixteen(nested_world).await;
    assert!(sixteen < one, "shared between cursors it is faster: {one} s, then {sixteen} s");
}

#[tokio::test(start_paused = true)]
async fn sequential_names_are_cut_again_a_character_deeper_and_plan_exactly_as_one_cursor_does() {
    let [one, sixteen] = one_cursor_and_sixteen(sequential_world).await;
    assert!(sixteen < one / 2.5, "cut between cursors it is faster: {one} s, then {sixteen} s");
}
