//! The simulated cloud and AWS run the same action code: the same data in moto and in
//! the simulated cloud (imported from moto, version by version, bytes and all), the
//! same calls on both, and the outputs and the resulting buckets compared.

use std::collections::BTreeMap;
use std::sync::Arc;

use lifeboat::clock::{Clock, SystemClock};
use lifeboat::cloud::Cloud;
use lifeboat::cloud::aws::Aws;
use lifeboat::cloud::sim::Sim;
use lifeboat::cloud::sim::world::{Bucket, Content, Snapshot, Version, World};
use lifeboat::runbook::load::catalog_from_str;
use lifeboat::runbook::time::Timestamp;
use serde_json::{Map, Value as Json, json};

use crate::moto::Moto;

const CATALOG: &str = "apiVersion: lifeboat/v1\nkind: DatasetCatalog\ndatasets:\n  - id: orders\n    title: Orders\n    classification: confidential\n    rpo: 1h\n    rto: 2h\n    primary: { region: eu-central-1 }\n    resources:\n      - { kind: s3-bucket, id: orders-docs-prod, role: production }\n      - { kind: rds-instance, id: customers-prod, role: production }\n";

fn ts(dt: &aws_sdk_s3::primitives::DateTime) -> Timestamp {
    Timestamp::new(dt.secs(), dt.subsec_nanos() as i32).unwrap()
}

/// Every version of a moto bucket, as the simulated cloud holds them.
async fn import_bucket(s3: &aws_sdk_s3::Client, name: &str) -> Bucket {
    let mut b = Bucket { region: "eu-central-1".into(), versioning: true, ..Bucket::default() };
    let mut listed: Vec<(String, Version, bool)> = vec![];
    let (mut key, mut version) = (None, None);
    loop {
        let page = s3
            .list_object_versions()
            .bucket(name)
            .set_key_marker(key.take())
            .set_version_id_marker(version.take())
            .send()
            .await
            .unwrap();
        for v in page.versions() {
            let got = s3
                .get_object()
                .bucket(name)
                .key(v.key().unwrap())
                .version_id(v.version_id().unwrap())
                .send()
                .await
                .unwrap();
            let bytes = got.body.collect().await.unwrap().into_bytes().to_vec();
            listed.push((
                v.key().unwrap().into(),
                Version {
                    id: v.version_id().unwrap().into(),
                    time: ts(v.last_modified().unwrap()),
                    etag: v.e_tag().unwrap().into(),
                    size: bytes.len() as u64,
                    delete_marker: false,
                    content: Content::Bytes(Arc::new(bytes)),
                    part_size: None,
                    crc32: true,
                },
                v.is_latest() == Some(true),
            ));
        }
        for m in page.delete_markers() {
            let v = Version::marker(m.version_id().unwrap().into(), ts(m.last_modified().unwrap()));
            listed.push((m.key().unwrap().into(), v, m.is_latest() == Some(true)));
        }
        if page.is_truncated() != Some(true) {
            break;
        }
        key = page.next_key_marker().map(str::to_string);
        version = page.next_version_id_marker().map(str::to_string);
    }
    // Oldest first; within one second, the current version last.
    listed.sort_by(|a, b| (a.0.as_str(), a.1.time, a.2).cmp(&(b.0.as_str(), b.1.time, b.2)));
    for (k, v, _) in listed {
        b.objects.entry(k).or_default().push(v);
    }
    b
}

/// The AWS backend, pointed at the moto server.
async fn aws_on(moto: &Moto) -> Aws {
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("eu-central-1"))
        .endpoint_url(&moto.url)
        .credentials_provider(aws_sdk_s3::config::Credentials::new("testing", "testing", None, None, "test"))
        .load()
        .await;
    Aws::with_config(conf)
}

async fn call(cloud: impl Into<Cloud>, action: &str, args: Json, step: &str) -> Result<Map<String, Json>, String> {
    let (r, _) = crate::act(cloud, Arc::new(SystemClock), (CATALOG, None), (action, args, step)).await;
    r.map(|r| r.outputs).map_err(|e| format!("{} [{:?}]", e.message, e.code))
}

/// Each key's current content, as a listing of current objects says.
async fn current_on_moto(s3: &aws_sdk_s3::Client, name: &str) -> BTreeMap<String, String> {
    let page = s3.list_objects_v2().bucket(name).send().await.unwrap();
    page.contents().iter().map(|o| (o.key().unwrap().to_string(), o.e_tag().unwrap().to_string())).collect()
}

fn current_on_sim(sim: &Sim, name: &str) -> BTreeMap<String, String> {
    sim.with_world(|w| {
        let b = &w.buckets[name];
        b.objects.keys().filter_map(|k| Some((k.clone(), b.current(k)?.etag.clone()))).collect()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_roll_back_on_moto_and_on_the_simulated_cloud_gives_the_same_outputs_and_the_same_bucket() {
    let moto = Moto::start();
    let s3 = moto.s3().await;
    crate::moto::bucket(&s3, "orders-docs-prod", true).await;
    for i in 0..30 {
        crate::moto::put(&s3, "orders-docs-prod", &format!("invoices/{i:03}.pdf"), crate::moto::body(i)).await;
    }
    let t = crate::moto::between_good_and_bad().await;
    for i in 0..12 {
        crate::moto::put(&s3, "orders-docs-prod", &format!("invoices/{i:03}.pdf"), vec![0xEE; 96]).await;
    }
    for i in 20..26 {
        s3.delete_object().bucket("orders-docs-prod").key(format!("invoices/{i:03}.pdf")).send().await.unwrap();
    }
    crate::moto::put(&s3, "orders-docs-prod", "HOW_TO_DECRYPT.txt", b"pay up".to_vec()).await;

    let mut world = World::default();
    world.buckets.insert("orders-docs-prod".into(), import_bucket(&s3, "orders-docs-prod").await);
    let sim = Sim::of(world);
    let aws = aws_on(&moto).await;
    assert_eq!(
        current_on_moto(&s3, "orders-docs-prod").await,
        current_on_sim(&sim, "orders-docs-prod"),
        "the same data"
    );

    // The ransomware example's calls: plan, roll back, prove nothing is left.
    let steps = [
        ("s3.check_posture", json!({ "bucket": "orders-docs-prod" }), "posture"),
        ("s3.restore_to_time", json!({ "bucket": "orders-docs-prod", "time": t, "dry_run": true }), "plan"),
        ("s3.restore_to_time", json!({ "bucket": "orders-docs-prod", "time": t }), "restore"),
        ("s3.restore_to_time", json!({ "bucket": "orders-docs-prod", "time": t, "dry_run": true }), "check"),
        (
            "s3.compare",
            json!({ "a": { "bucket": "orders-docs-prod", "prefix": "invoices/" }, "b": { "bucket": "orders-docs-prod", "prefix": "invoices/" } }),
            "compare",
        ),
    ];
    for (action, args, step) in steps {
        let (on_moto, on_sim) = (call(&aws, action, args.clone(), step).await, call(&sim, action, args, step).await);
        match action {
            // Every finding the same but one: S3 encrypts every bucket by default
            // (SSE-S3, since January 2023), as the simulated cloud does; moto reports
            // no default encryption at all.
            "s3.check_posture" => {
                let on_moto = on_moto.map(|mut o| {
                    let findings =
                        o["findings"].as_str().unwrap_or_default().replacen("no default encryption; ", "", 1);
                    o.insert("findings".into(), json!(findings));
                    o.insert("encryption".into(), json!("AES256"));
                    o
                });
                assert_eq!(on_moto, on_sim, "{step}");
                // A finding is reported, not a failed step.
                let on_sim = on_sim.unwrap();
                assert_eq!(on_sim["passed"], json!(false));
                assert!(
                    on_sim["findings"].as_str().unwrap().contains("public access is not fully blocked"),
                    "{on_sim:?}"
                );
            }
            _ => {
                assert!(on_moto.is_ok(), "{step}: {on_moto:?}");
                assert_eq!(on_moto, on_sim, "{step}");
            }
        }
    }
    let restored =
        call(&sim, "s3.restore_to_time", json!({ "bucket": "orders-docs-prod", "time": t, "dry_run": true }), "again")
            .await
            .unwrap();
    assert_eq!((restored["restored"].as_u64(), restored["newer_kept"].as_u64()), (Some(0), Some(1)));
    // The same bucket afterwards: every key's current content, on both.
    let (m, s) = (current_on_moto(&s3, "orders-docs-prod").await, current_on_sim(&sim, "orders-docs-prod"));
    assert_eq!(m, s);
    assert_eq!(m.len(), 31, "30 invoices and the kept note");
    for i in 0..30 {
        let key = format!("invoices/{i:03}.pdf");
        assert_eq!(
            crate::moto::get(&s3, "orders-docs-prod", &key).await.as_deref(),
            Some(crate::moto::body(i).as_slice())
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_snapshot_is_found_on_moto_and_on_the_simulated_cloud() {
    let moto = Moto::start();
    let rds = moto.rds("eu-central-1").await;
    crate::moto::customers_prod(&rds).await;
    let mut world = World::default();
    for id in ["nightly-1", "nightly-2"] {
        rds.create_db_snapshot()
            .db_instance_identifier("customers-prod")
            .db_snapshot_identifier(id)
            .send()
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    }
    let snaps = rds.describe_db_snapshots().db_instance_identifier("customers-prod").send().await.unwrap();
    for s in snaps.db_snapshots() {
        let time = Timestamp::new(
            s.snapshot_create_time().unwrap().secs(),
            s.snapshot_create_time().unwrap().subsec_nanos() as i32,
        )
        .unwrap();
        world.snapshots.insert(
            s.db_snapshot_identifier().unwrap().into(),
            Snapshot {
                instance: "customers-prod".into(),
                region: "eu-central-1".into(),
                time,
                available_at: time,
                tags: vec![],
            },
        );
    }
    let sim = Sim::of(world);
    let aws = aws_on(&moto).await;
    let first = snaps.db_snapshots().iter().find(|s| s.db_snapshot_identifier() == Some("nightly-1")).unwrap();
    let t1 = first.snapshot_create_time().unwrap();
    let before = (Timestamp::new(t1.secs(), t1.subsec_nanos() as i32).unwrap()
        + jiff::SignedDuration::from_millis(300))
    .to_string();
    for args in [json!({ "instance": "customers-prod" }), json!({ "instance": "customers-prod", "before": before })] {
        let (m, s) = (
            call(&aws, "rds.find_snapshot", args.clone(), "find").await,
            call(&sim, "rds.find_snapshot", args, "find").await,
        );
        assert_eq!(m, s);
        assert!(m.is_ok(), "{m:?}");
    }
    let latest = call(&sim, "rds.find_snapshot", json!({ "instance": "customers-prod" }), "find").await.unwrap();
    assert_eq!(latest["snapshot"], "nightly-2");
    let older = call(&sim, "rds.find_snapshot", json!({ "instance": "customers-prod", "before": before }), "find")
        .await
        .unwrap();
    assert_eq!(older["snapshot"], "nightly-1");
}

/// How the roll-back splits a bucket to list it in parallel: one level at a time with the
/// delimiter `/`. Both clouds give the same keys beside the prefixes and the same prefixes.
#[tokio::test]
async fn a_listing_by_level_finds_the_same_prefixes_on_moto_and_on_the_simulated_cloud() {
    use lifeboat::cloud::port::{Backend, Reach};
    let moto = Moto::start();
    let s3 = moto.s3().await;
    crate::moto::bucket(&s3, "levels", true).await;
    for (i, key) in ["a/1.pdf", "a/b/2.pdf", "a/b/c/3.pdf", "c/4.pdf", "top.txt", "z/5.pdf"].iter().enumerate() {
        crate::moto::put(&s3, "levels", key, crate::moto::body(i)).await;
    }
    s3.delete_object().bucket("levels").key("c/4.pdf").send().await.unwrap();
    let sim = Sim::of({
        let mut w = World::default();
        w.buckets.insert("levels".into(), import_bucket(&s3, "levels").await);
        w
    });
    let aws = aws_on(&moto).await;
    let reach = Reach { region: "eu-central-1".into(), role_arn: None, clock: Arc::new(SystemClock) };
    let (on_moto, on_sim) = (aws.s3(&reach).await.unwrap(), sim.s3(&reach).await.unwrap());
    for level in ["", "a/", "a/b/", "c/"] {
        let mut seen = Vec::new();
        for s3 in [&on_moto, &on_sim] {
            let page = s3.list_versions("levels", level, Some("/"), None).await.unwrap();
            let mut keys: Vec<(String, bool)> = page.versions.iter().map(|v| (v.key.clone(), v.marker)).collect();
            keys.sort();
            seen.push((keys, page.prefixes.clone(), page.next.is_some()));
        }
        assert_eq!(seen[0], seen[1], "level `{level}`: moto, then the simulated cloud");
        if level.is_empty() {
            assert_eq!(seen[0].1, ["a/", "c/", "z/"], "the prefixes one level down");
            assert_eq!(seen[0].0, [("top.txt".to_string(), false)], "the key beside them");
        }
        if level == "c/" {
            assert_eq!(seen[0].0.len(), 2, "a version and its delete marker");
        }
    }
}

/// Held to a confirmed plan, the roll-back on AWS (moto, through the real SDK) refuses a
/// key that changed after the plan, and sends no write; on the simulated cloud, the same.
#[tokio::test]
async fn a_change_after_the_confirmed_plan_is_refused_on_moto_as_on_the_simulated_cloud() {
    use md5::Digest as _;
    let work = tempfile::tempdir().unwrap();
    // nextest runs each test in its own process: the variable is this test's alone.
    unsafe { std::env::set_var("LIFEBOAT_WORK_DIR", work.path()) };
    let moto = Moto::start();
    let s3 = moto.s3().await;
    crate::moto::bucket(&s3, "orders-docs-prod", true).await;
    for i in 0..10 {
        crate::moto::put(&s3, "orders-docs-prod", &format!("invoices/{i:03}.pdf"), crate::moto::body(i)).await;
    }
    let t = crate::moto::between_good_and_bad().await;
    for i in 0..5 {
        crate::moto::put(&s3, "orders-docs-prod", &format!("invoices/{i:03}.pdf"), vec![0xEE; 64]).await;
    }
    let sim = Sim::of({
        let mut w = World::default();
        w.buckets.insert("orders-docs-prod".into(), import_bucket(&s3, "orders-docs-prod").await);
        w
    });
    let aws = aws_on(&moto).await;
    let plan = json!({ "bucket": "orders-docs-prod", "time": t, "dry_run": true });
    let (on_moto, on_sim) = (
        call(&aws, "s3.restore_to_time", plan.clone(), "plan").await.unwrap(),
        call(&sim, "s3.restore_to_time", plan, "plan").await.unwrap(),
    );
    assert_eq!(on_moto["manifest_sha256"], on_sim["manifest_sha256"], "the same plan, the same digest");
    let sha = on_moto["manifest_sha256"].as_str().unwrap().to_string();
    // After the plan: an invoice the plan left alone is overwritten too.
    crate::moto::put(&s3, "orders-docs-prod", "invoices/007.pdf", vec![0xEE; 64]).await;
    sim.with_world(|w| {
        let b = w.buckets.get_mut("orders-docs-prod").unwrap();
        let vs = b.objects.get_mut("invoices/007.pdf").unwrap();
        let mut v = vs[0].clone();
        v.id = "after-the-plan".into();
        v.content = Content::Bytes(Arc::new(vec![0xEE; 64]));
        v.etag = format!("\"{}\"", hex::encode(md5::Md5::digest([0xEE; 64])));
        v.size = 64;
        v.time = Timestamp::now();
        vs.push(v);
    });
    let versions = |s3: aws_sdk_s3::Client| async move {
        s3.list_object_versions().bucket("orders-docs-prod").send().await.unwrap().versions().len()
    };
    let before = versions(s3.clone()).await;
    let held = json!({ "bucket": "orders-docs-prod", "time": t, "plan_sha256": sha });
    for (name, cloud) in [("moto", Cloud::from(&aws)), ("sim", Cloud::from(&sim))] {
        let e = call(cloud, "s3.restore_to_time", held.clone(), "restore").await.unwrap_err();
        assert!(e.contains("`invoices/007.pdf` now needs copy"), "{name}: {e}");
    }
    assert_eq!(versions(s3.clone()).await, before, "moto: no write was sent");
    assert_eq!(sim.requests().get("CopyObject"), None, "sim: no write was sent");
}

/// A flat prefix cut between cursors by the keys' next character, on moto through the
/// real SDK (its own marker semantics) and on the simulated cloud holding the same
/// versions: one manifest, byte for byte, whatever the number of cursors. Hash names and
/// odd ones, and 600 sequential names beyond the hashes' characters (`w-0000.log` …),
/// listed in a gap between pieces and cut again there, deeper, as each share proves long.
#[tokio::test]
async fn a_flat_prefix_cut_between_cursors_plans_the_same_on_moto_and_on_the_simulated_cloud() {
    let mut keys: Vec<String> =
        (0..500).map(|i| format!("flat/{:08x}", (i as u64).wrapping_mul(0x9e37_79b9) >> 3)).collect();
    keys.extend(["a", "A", "0", "z", "zz", "~t", "_u", " s", "é", "z/deeper/1"].iter().map(|k| format!("flat/{k}")));
    keys.extend((0..600).map(|i| format!("flat/w-{i:04}.log")));
    plans_the_same_on_moto_and_on_the_sim(&keys).await;
}

/// Folders some levels deep, one page a share: each cursor stops on a key three levels
/// below the share it lists and hands back the levels above it, listed by level after
/// that key — on moto through the real SDK (its own marker and delimiter semantics) as
/// on the simulated cloud: one manifest, byte for byte, every key once.
#[tokio::test]
async fn folders_levels_deep_shared_between_cursors_plan_the_same_on_moto_and_on_the_simulated_cloud() {
    let mut keys: Vec<String> = (0..700).map(|i| format!("t/a/2026/11/{i:04}.pdf")).collect();
    keys.extend((0..300).map(|i| format!("t/a/2026/12/{i:04}.pdf")));
    keys.extend((0..300).map(|i| format!("t/b/2026/11/{i:04}.pdf")));
    keys.extend(["t/a/readme", "t/a/2026/notes", "t/a0", "t/z.txt", "u/x", "top"].map(String::from));
    plans_the_same_on_moto_and_on_the_sim(&keys).await;
}

/// `keys` written to moto's bucket `flat`, then overwritten after a time; imported
/// version by version into the simulated cloud; planned back to that time with one
/// cursor and with 16, a share handed back after one page: the same manifest in all four.
async fn plans_the_same_on_moto_and_on_the_sim(keys: &[String]) {
    use lifeboat::cloud::actions::s3_restore_to_time::plan;
    use lifeboat::cloud::port::{Backend, Reach};
    // nextest runs each test in its own process: one page of a level, then the cut.
    unsafe { std::env::set_var("LIFEBOAT_S3_SPLIT_AFTER", "1") };
    let work = tempfile::tempdir().unwrap();
    unsafe { std::env::set_var("LIFEBOAT_WORK_DIR", work.path()) };
    let moto = Moto::start();
    let s3 = moto.s3().await;
    crate::moto::bucket(&s3, "flat", true).await;
    for (i, k) in keys.iter().enumerate() {
        crate::moto::put(&s3, "flat", k, crate::moto::body(i)).await;
    }
    let t = crate::moto::between_good_and_bad().await;
    let t: Timestamp = t.parse().unwrap();
    for k in keys {
        crate::moto::put(&s3, "flat", k, vec![0xEE; 32]).await;
    }
    let sim = Sim::of({
        let mut w = World::default();
        w.buckets.insert("flat".into(), import_bucket(&s3, "flat").await);
        w
    });
    let aws = aws_on(&moto).await;
    let reach = Reach { region: "eu-central-1".into(), role_arn: None, clock: Arc::new(SystemClock) };
    let mut seen = Vec::new();
    for (name, backend) in [("moto", &aws as &dyn Backend), ("sim", &sim)] {
        let port = backend.s3(&reach).await.unwrap();
        for lanes in [1, 16] {
            let p = plan(&port, "s3.restore_to_time", "flat", "", "eu-central-1", (t, false), lanes).await.unwrap();
            assert_eq!(p.tally.copies, keys.len() as u64, "{name}, {lanes} cursor(s): every key once");
            seen.push((name, lanes, p.manifest.sha256.clone()));
        }
    }
    assert!(seen.iter().all(|s| s.2 == seen[0].2), "{seen:?}");
}

/// The KYC example's calls — the deleted prefix copied back from the vault in the backup
/// account's region through its role, then proved by a comparison — on moto and on the
/// simulated cloud holding the same two buckets: the same outputs, the same production
/// bucket afterwards.
#[tokio::test]
async fn the_vault_copy_of_the_kyc_example_gives_the_same_outputs_and_bucket_on_moto_and_on_the_sim() {
    let work = tempfile::tempdir().unwrap();
    // nextest runs each test in its own process: the variable is this test's alone.
    unsafe { std::env::set_var("LIFEBOAT_WORK_DIR", work.path()) };
    let moto = Moto::start();
    let s3 = moto.s3().await;
    let vault = crate::moto::vault(&moto).await;
    crate::moto::bucket(&s3, "kyc-documents-prod", true).await;
    for i in 0..12 {
        let (nov, oct) = (
            format!("customers/2026/11/cus_{i:03}/passport.jpg"),
            format!("customers/2026/10/cus_{i:03}/passport.jpg"),
        );
        crate::moto::put(&vault, "kyc-documents-vault", &nov, crate::moto::body(i)).await;
        crate::moto::put(&vault, "kyc-documents-vault", &oct, crate::moto::body(100 + i)).await;
        crate::moto::put(&s3, "kyc-documents-prod", &oct, crate::moto::body(100 + i)).await;
    }
    // One November document survived in production: it stays as it is.
    crate::moto::put(&s3, "kyc-documents-prod", "customers/2026/11/cus_005/passport.jpg", crate::moto::body(5)).await;
    let sim = Sim::of({
        let mut w = World::default();
        let mut v = import_bucket(&vault, "kyc-documents-vault").await;
        v.region = "eu-west-1".into();
        w.buckets.insert("kyc-documents-vault".into(), v);
        w.buckets.insert("kyc-documents-prod".into(), import_bucket(&s3, "kyc-documents-prod").await);
        w
    });
    let aws = aws_on(&moto).await;
    let prefix = "customers/2026/11/";
    let steps = [
        (
            "s3.copy_prefix",
            json!({
                "from": { "bucket": "kyc-documents-vault", "prefix": prefix, "region": "eu-west-1", "role_arn": "arn:aws:iam::222222222222:role/lifeboat-vault-read" },
                "to": { "bucket": "kyc-documents-prod", "prefix": prefix, "region": "eu-central-1" },
                "overwrite": false
            }),
            "copy",
        ),
        (
            "s3.compare",
            json!({
                "a": { "bucket": "kyc-documents-vault", "prefix": prefix, "region": "eu-west-1" },
                "b": { "bucket": "kyc-documents-prod", "prefix": prefix, "region": "eu-central-1" }
            }),
            "verify",
        ),
    ];
    for (action, args, step) in steps {
        let (on_moto, on_sim) = (call(&aws, action, args.clone(), step).await, call(&sim, action, args, step).await);
        assert!(on_moto.is_ok(), "{step}: {on_moto:?}");
        assert_eq!(on_moto, on_sim, "{step}");
        if step == "copy" {
            assert_eq!(on_moto.unwrap()["copied"], 11, "eleven were missing");
        } else {
            let out = on_moto.unwrap();
            assert_eq!((out["same"].as_u64(), out["missing"].as_u64()), (Some(12), Some(0)));
        }
    }
    let (m, s) = (current_on_moto(&s3, "kyc-documents-prod").await, current_on_sim(&sim, "kyc-documents-prod"));
    assert_eq!(m, s, "the same production bucket afterwards");
    assert_eq!(m.len(), 24);
}

/// The same call on both clouds, on a given clock and incident start: the simulated cloud
/// takes its minutes on a fast virtual clock, moto answers at once.
async fn call_on(
    cloud: impl Into<Cloud>,
    clock: Arc<dyn Clock>,
    incident: Option<Timestamp>,
    catalog: &str,
    action: &str,
    args: Json,
    step: &str,
) -> Result<Map<String, Json>, (String, String)> {
    let (r, _) = crate::act(cloud, clock, (catalog, incident), (action, args, step)).await;
    r.map(|r| r.outputs).map_err(|e| (e.code.unwrap_or_default(), e.message))
}

fn fast_clock() -> Arc<dyn Clock> {
    Arc::new(lifeboat::clock::VirtualClock::new(Timestamp::now(), 20_000.0))
}

fn ts_rds(dt: &aws_sdk_rds::primitives::DateTime) -> Timestamp {
    Timestamp::new(dt.secs(), dt.subsec_nanos() as i32).unwrap()
}

/// Every instance and snapshot moto holds in `regions`, as the simulated cloud holds them.
async fn import_rds(moto: &Moto, world: &mut World, regions: &[&str]) {
    use lifeboat::cloud::sim::world::Instance;
    for region in regions {
        let rds = moto.rds(region).await;
        for i in rds.describe_db_instances().send().await.unwrap().db_instances() {
            let created = ts_rds(i.instance_create_time().unwrap());
            let source =
                i.read_replica_source_db_instance_identifier().map(|s| s.rsplit(':').next().unwrap().to_string());
            world.instances.insert(
                i.db_instance_identifier().unwrap().into(),
                Instance {
                    region: region.to_string(),
                    available_at: created,
                    busy_status: "creating",
                    replica_of: source,
                    replica_lag_secs: 0,
                    retention_days: i.backup_retention_period().unwrap_or(0) as u32,
                    encrypted: i.storage_encrypted() == Some(true),
                    deletion_protection: i.deletion_protection() == Some(true),
                    tags: vec![],
                    recovery_point: None,
                    created_at: created,
                    backup_region: None,
                },
            );
        }
        for s in rds.describe_db_snapshots().send().await.unwrap().db_snapshots() {
            let time = ts_rds(s.snapshot_create_time().unwrap());
            world.snapshots.insert(
                s.db_snapshot_identifier().unwrap().into(),
                Snapshot {
                    instance: s.db_instance_identifier().unwrap().into(),
                    region: region.to_string(),
                    time,
                    available_at: time,
                    tags: vec![],
                },
            );
        }
    }
}

/// Outputs on both clouds, the endpoint aside (each cloud names its own hosts): it must
/// be there on both.
fn same_but_endpoint(m: &Result<Map<String, Json>, (String, String)>, s: &Result<Map<String, Json>, (String, String)>) {
    let strip = |r: &Result<Map<String, Json>, (String, String)>| {
        r.clone().map(|mut o| {
            if let Some(e) = o.remove("endpoint") {
                assert!(e.as_str().is_some_and(|e| !e.is_empty()), "an endpoint: {o:?}");
            }
            o
        })
    };
    assert_eq!(strip(m), strip(s), "moto, then the simulated cloud");
}

const CUSTOMERS: &str = "apiVersion: lifeboat/v1\nkind: DatasetCatalog\ndatasets:\n  - id: customers\n    title: Customers\n    classification: confidential\n    rpo: 15m\n    rto: 4h\n    primary: { region: eu-central-1 }\n    resources:\n      - { kind: rds-instance, id: customers-prod, role: production }\n";

/// The corruption and quarterly-drill examples: posture, a restore to a point in time
/// (and one outside the window), waiting for the new instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_point_in_time_examples_give_the_same_outputs_on_moto_and_on_the_simulated_cloud() {
    let moto = Moto::start();
    crate::moto::customers_prod(&moto.rds("eu-central-1").await).await;
    let mut world = World::default();
    import_rds(&moto, &mut world, &["eu-central-1"]).await;
    let sim = Sim::of(world);
    let aws = aws_on(&moto).await;
    let (real, fast): (Arc<dyn Clock>, Arc<dyn Clock>) = (Arc::new(SystemClock), fast_clock());
    // Ten minutes ago lies in both windows: moto's ends now (its LatestRestorableTime is
    // always "now"), AWS's and the simulated cloud's about five minutes ago.
    let at = Timestamp::new(Timestamp::now().as_second() - 600, 0).unwrap().to_string();
    let too_old = (Timestamp::now() - jiff::SignedDuration::from_hours(8 * 24)).to_string();
    let cases = [
        ("rds.check_posture", json!({ "instance": "customers-prod" }), "posture"),
        (
            "rds.restore_to_time",
            json!({ "instance": "customers-prod", "new_instance": "customers-pitr", "time": at }),
            "pitr",
        ),
        (
            "rds.restore_to_time",
            json!({ "instance": "customers-prod", "new_instance": "customers-old", "time": too_old }),
            "old",
        ),
        ("rds.wait_available", json!({ "instance": "customers-pitr" }), "available"),
    ];
    for (action, args, step) in cases {
        let m = call_on(&aws, real.clone(), None, CUSTOMERS, action, args.clone(), step).await;
        let s = call_on(&sim, fast.clone(), None, CUSTOMERS, action, args, step).await;
        match (&m, &s) {
            // The window's bounds are each cloud's own "now": the refusal and its code agree.
            (Err((mc, _)), Err((sc, _))) if mc == "InvalidRestoreTime" => assert_eq!(mc, sc),
            _ => same_but_endpoint(&m, &s),
        }
        match step {
            "posture" => assert!(
                m.as_ref().is_ok_and(|o| o["passed"] == json!(false)
                    && o["findings"].as_str().unwrap_or_default().contains("deletion protection is off")),
                "{m:?}"
            ),
            "pitr" => assert_eq!(m.as_ref().unwrap()["recovery_point"], json!(at)),
            "old" => assert!(m.as_ref().is_err_and(|e| e.0 == "InvalidRestoreTime"), "{m:?}"),
            _ => assert_eq!(m.as_ref().unwrap()["instance"], "customers-pitr"),
        }
    }
}

/// The region-outage example: promote the replica in the other region (or, the other
/// strategy, find the copied snapshot there, restore it and wait for it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_region_outage_example_gives_the_same_outputs_on_moto_and_on_the_simulated_cloud() {
    let moto = Moto::start();
    let (central, west) = crate::moto::nightly_copied_west(&moto).await;
    let prod = central.describe_db_instances().db_instance_identifier("customers-prod").send().await.unwrap();
    west.create_db_instance_read_replica()
        .db_instance_identifier("customers-replica-dr")
        .source_db_instance_identifier(prod.db_instances()[0].db_instance_arn().unwrap())
        .send()
        .await
        .unwrap();
    let mut world = World::default();
    import_rds(&moto, &mut world, &["eu-central-1", "eu-west-1"]).await;
    assert_eq!(world.instances["customers-replica-dr"].replica_of.as_deref(), Some("customers-prod"));
    let sim = Sim::of(world);
    let aws = aws_on(&moto).await;
    let (real, fast): (Arc<dyn Clock>, Arc<dyn Clock>) = (Arc::new(SystemClock), fast_clock());
    let cases = [
        ("rds.find_snapshot", json!({ "instance": "customers-prod", "region": "eu-west-1" }), "find"),
        (
            "rds.restore_from_snapshot",
            json!({ "snapshot": "customers-prod-nightly-copy", "new_instance": "customers-dr", "region": "eu-west-1" }),
            "restore",
        ),
        ("rds.wait_available", json!({ "instance": "customers-dr", "region": "eu-west-1" }), "available"),
        (
            "rds.restore_from_snapshot",
            json!({ "snapshot": "customers-prod-nightly-copy", "new_instance": "x", "region": "us-east-1" }),
            "elsewhere",
        ),
    ];
    for (action, args, step) in cases {
        let m = call_on(&aws, real.clone(), None, CUSTOMERS, action, args.clone(), step).await;
        let s = call_on(&sim, fast.clone(), None, CUSTOMERS, action, args, step).await;
        same_but_endpoint(&m, &s);
        match step {
            "find" => assert_eq!(m.as_ref().unwrap()["snapshot"], "customers-prod-nightly-copy"),
            "elsewhere" => assert!(m.as_ref().is_err_and(|e| e.1.contains("in us-east-1")), "{m:?}"),
            _ => assert_eq!(m.as_ref().unwrap()["instance"], "customers-dr", "{m:?}"),
        }
    }
    // The promotion: the recovery point is when the primary stopped less the replica's
    // lag — the incident start on both, as neither reports a lag before the promotion.
    let at = Timestamp::new(Timestamp::now().as_second(), 0).unwrap();
    let promote = json!({ "replica": "customers-replica-dr", "region": "eu-west-1" });
    let m = call_on(&aws, real, Some(at), CUSTOMERS, "rds.promote_replica", promote.clone(), "promote").await;
    let s = call_on(&sim, fast, Some(at), CUSTOMERS, "rds.promote_replica", promote, "promote").await;
    same_but_endpoint(&m, &s);
    assert_eq!(m.unwrap()["recovery_point"], json!(lifeboat::runbook::time::format_timestamp(at)));
}

fn ts_db(dt: &aws_sdk_dynamodb::primitives::DateTime) -> Timestamp {
    Timestamp::new(dt.secs(), dt.subsec_nanos() as i32).unwrap()
}

const PROFILES: &str = "apiVersion: lifeboat/v1\nkind: DatasetCatalog\ndatasets:\n  - id: customer-profiles\n    title: Customer profiles\n    classification: confidential\n    rpo: 5m\n    rto: 1h\n    primary: { region: eu-central-1 }\n    resources:\n      - { kind: dynamodb-table, id: customer-profiles-prod, role: production }\n";

/// The bad-deploy example: posture, a point-in-time restore beside production (and one
/// before the window), waiting for the table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dynamodb_example_gives_the_same_outputs_on_moto_and_on_the_simulated_cloud() {
    use lifeboat::cloud::sim::world::Table;
    let moto = Moto::start();
    let db = moto.dynamodb("eu-central-1").await;
    crate::moto::profiles_table(&db, true).await;
    let t = db.describe_table().table_name("customer-profiles-prod").send().await.unwrap();
    let t = t.table().unwrap();
    let backups = db.describe_continuous_backups().table_name("customer-profiles-prod").send().await.unwrap();
    let pitr = backups.continuous_backups_description().unwrap().point_in_time_recovery_description().unwrap();
    let (earliest, latest) =
        (ts_db(pitr.earliest_restorable_date_time().unwrap()), ts_db(pitr.latest_restorable_date_time().unwrap()));
    let mut world = World::default();
    world.tables.insert(
        "customer-profiles-prod".into(),
        Table {
            region: "eu-central-1".into(),
            active_at: earliest,
            pitr: true,
            pitr_days: pitr.recovery_period_in_days().unwrap_or(35),
            pitr_since: earliest,
            deletion_protection: t.deletion_protection_enabled() == Some(true),
            kms_key: t.sse_description().and_then(|s| s.kms_master_key_arn()).map(str::to_string),
            replicas: t.replicas().iter().filter_map(|r| r.region_name().map(str::to_string)).collect(),
            items: t.item_count().unwrap_or(0),
            tags: vec![],
            recovery_point: None,
        },
    );
    let sim = Sim::of(world);
    let aws = aws_on(&moto).await;
    // moto's window is the instant recovery was turned on (AWS's and the simulated
    // cloud's run to about five minutes ago): the simulated cloud's clock starts six
    // minutes on, so that instant lies inside both.
    let real: Arc<dyn Clock> = Arc::new(SystemClock);
    let ahead: Arc<dyn Clock> =
        Arc::new(lifeboat::clock::VirtualClock::new(Timestamp::now() + jiff::SignedDuration::from_mins(6), 20_000.0));
    let at = latest.to_string();
    let before = lifeboat::runbook::time::format_timestamp(earliest - jiff::SignedDuration::from_secs(60));
    let restore = |new: &str, time: &str| json!({ "table": "customer-profiles-prod", "new_table": new, "time": time });
    let cases = [
        ("dynamodb.check_posture", json!({ "table": "customer-profiles-prod" }), "posture"),
        ("dynamodb.restore_to_time", restore("customer-profiles-pitr", &at), "pitr"),
        ("dynamodb.restore_to_time", restore("customer-profiles-old", &before), "old"),
        ("dynamodb.wait_active", json!({ "table": "customer-profiles-pitr" }), "active"),
    ];
    for (action, args, step) in cases {
        let m = call_on(&aws, real.clone(), None, PROFILES, action, args.clone(), step).await;
        let s = call_on(&sim, ahead.clone(), None, PROFILES, action, args, step).await;
        match (&m, &s) {
            (Err((mc, _)), Err((sc, _))) if mc == "InvalidRestoreTime" => assert_eq!(mc, sc),
            _ => assert_eq!(m, s, "moto, then the simulated cloud"),
        }
        match step {
            // moto ignores ReplicaUpdates: no copy in another region, on either cloud.
            "posture" => assert!(
                m.as_ref().is_ok_and(|o| o["findings"] == json!("no replica or backup copy in another region")),
                "{m:?}"
            ),
            "pitr" => assert_eq!(
                m.as_ref().unwrap()["recovery_point"],
                json!(lifeboat::runbook::time::format_timestamp(latest))
            ),
            "old" => assert!(m.as_ref().is_err_and(|e| e.0 == "InvalidRestoreTime"), "{m:?}"),
            _ => assert_eq!(m.as_ref().unwrap()["table"], "customer-profiles-pitr"),
        }
    }
}

/// Every action an example runbook uses is compared above: a new action in an example
/// without its twin fails here.
#[test]
fn every_action_of_the_example_runbooks_is_compared_on_both_clouds() {
    let dir = crate::root().join("runbooks");
    let catalog = catalog_from_str(&std::fs::read_to_string(dir.join("datasets.yaml")).unwrap()).unwrap();
    let here = include_str!("twins.rs");
    let mut used = std::collections::BTreeSet::new();
    for f in lifeboat::runbook::load::yaml_files(&dir).unwrap() {
        let text = std::fs::read_to_string(&f).unwrap();
        if !text.contains("kind: Runbook") {
            continue;
        }
        let rb = lifeboat::runbook::load::runbook_from_str(&text, &catalog).unwrap();
        for s in rb.steps() {
            if let lifeboat::runbook::model::StepKind::Action { action, .. } = &s.kind {
                used.insert(action.name);
            }
        }
    }
    assert!(used.len() >= 13, "{used:?}");
    let missing: Vec<_> = used.iter().filter(|a| !here.contains(&format!("\"{a}\""))).collect();
    assert!(missing.is_empty(), "example actions never compared on moto and the sim: {missing:?}");
}
