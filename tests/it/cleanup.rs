//! `lifeboat cleanup` against moto: a signed drill restores an instance and copies
//! objects into its drill bucket; cleanup deletes exactly those after the typed
//! confirmation, refuses what the drill did not make, and its own log verifies.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::moto::{MOTO_ACCOUNT, Moto, body, bucket, customers_with_nightly, put};
use crate::text;

const CATALOG: &str = "apiVersion: lifeboat/v1\nkind: DatasetCatalog\ndatasets:\n  - id: customers\n    title: Customers\n    classification: confidential\n    rpo: 15m\n    rto: 4h\n    primary: { region: eu-central-1, account: \"ACCOUNT\" }\n    drill_every: 90d\n    resources:\n      - { kind: rds-instance, id: customers-prod, role: production }\n      - { kind: rds-instance, id: customers-drill, role: drill }\n      - { kind: s3-bucket, id: docs-prod, role: production }\n      - { kind: s3-bucket, id: docs-drill, role: DRILL_ROLE }\n";

const RUNBOOK: &str = "apiVersion: lifeboat/v1\nkind: Runbook\nid: drill\ntitle: Drill\ndataset: customers\nscenario: drill\nphases:\n  - id: restore\n    title: Restore\n    budget: 1h\n    steps:\n      - { id: restore, title: Restore, action: rds.restore_from_snapshot, with: { snapshot: nightly, new_instance: customers-drill } }\n      - { id: copy, title: Copy the documents, action: s3.copy_prefix, with: { from: { bucket: docs-prod, prefix: docs/ }, to: { bucket: docs-drill, prefix: docs/ } } }\n  - id: teardown\n    title: Teardown\n    budget: 10m\n    steps:\n      - { id: teardown, title: Delete it, manual: Run lifeboat cleanup. }\n";

struct Drill {
    moto: Moto,
    dir: tempfile::TempDir,
    rds: aws_sdk_rds::Client,
    s3: aws_sdk_s3::Client,
    key: PathBuf,
}

impl Drill {
    fn lifeboat(&self, args: &[&str]) -> Output {
        let mut env = self.moto.env();
        env.push(("LIFEBOAT_OPERATOR", "ci".into()));
        std::process::Command::new(env!("CARGO_BIN_EXE_lifeboat"))
            .args(args)
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .unwrap()
    }
    fn catalog(&self, drill_role: &str) {
        let text = CATALOG.replace("ACCOUNT", MOTO_ACCOUNT).replace("DRILL_ROLE", drill_role);
        std::fs::write(self.dir.path().join("datasets.yaml"), text).unwrap();
    }
    async fn versions(&self, bucket: &str) -> Vec<(String, String)> {
        let out = self.s3.list_object_versions().bucket(bucket).send().await.unwrap();
        out.versions().iter().map(|v| (v.key().unwrap().to_string(), v.version_id().unwrap().to_string())).collect()
    }
    async fn instance(&self, id: &str) -> bool {
        self.rds.describe_db_instances().db_instance_identifier(id).send().await.is_ok()
    }
}

/// A signed drill run on moto: customers-drill restored, three documents copied into
/// docs-drill.
async fn drill() -> Drill {
    let moto = Moto::start();
    let rds = customers_with_nightly(&moto).await;
    let s3 = moto.s3().await;
    bucket(&s3, "docs-prod", true).await;
    bucket(&s3, "docs-drill", true).await;
    for i in 0..3 {
        put(&s3, "docs-prod", &format!("docs/{i}.pdf"), body(i)).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = crate::journal::keygen(dir.path());
    crate::journal::allowed_signers(dir.path(), &key);
    std::fs::write(dir.path().join("rb.yaml"), RUNBOOK).unwrap();
    std::fs::write(
        dir.path().join("answers.yaml"),
        "apiVersion: lifeboat/v1\nkind: Answers\noperator: ci\nsteps:\n  teardown: done\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("incidents")).unwrap();
    let d = Drill { moto, dir, rds, s3, key };
    d.catalog("drill");
    let key = d.key.to_str().unwrap().to_string();
    let work = d.dir.path().join("work").to_str().unwrap().to_string();
    let mut env = d.moto.env();
    env.push(("LIFEBOAT_WORK_DIR", work));
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args(["run", "rb.yaml", "--headless", "--cloud", "aws", "--mode", "drill", "--answers", "answers.yaml"])
        .args(["--log", "incidents/drill.jsonl", "--sign-key", &key])
        .current_dir(d.dir.path())
        .env("NO_COLOR", "1")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    d
}

fn phrase(said: &str) -> String {
    let at = said.find("--confirm '").map(|i| i + "--confirm '".len()).expect(said);
    said[at..].split('\'').next().unwrap().to_string()
}

fn cleanup_log(dir: &Path) -> PathBuf {
    let found = std::fs::read_dir(dir.join("incidents")).unwrap().filter_map(|e| e.ok().map(|e| e.path()));
    let mut logs: Vec<_> = found
        .filter(|p| p.to_string_lossy().contains(".cleanup-") && p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    logs.remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_deletes_the_drills_instance_and_copies_and_nothing_else() {
    let d = drill().await;
    let drill_versions = d.versions("docs-drill").await;
    assert_eq!(drill_versions.len(), 3, "{drill_versions:?}");
    // After the drill someone writes a new version of a copied key: not the drill's.
    put(&d.s3, "docs-drill", "docs/0.pdf", b"someone else's".to_vec()).await;
    let key = d.key.to_str().unwrap().to_string();

    // No terminal and no --confirm: nothing happens, and the phrase is named.
    let asked = tokio::task::block_in_place(|| d.lifeboat(&["cleanup", "incidents/drill.jsonl", "--dir", "."]));
    let said = format!("{}{}", text(&asked.stdout), text(&asked.stderr));
    assert_eq!(asked.status.code(), Some(1), "{said}");
    assert!(said.contains("delete   rds-instance customers-drill in eu-central-1"), "{said}");
    assert!(said.contains("delete   s3-object docs-drill/docs/0.pdf (version "), "{said}");
    assert!(said.contains("nothing was deleted"), "{said}");
    let want = phrase(&said);
    assert!(want.starts_with("delete 4 of drill drill-"), "{want}");
    assert!(d.instance("customers-drill").await);

    let wrong = tokio::task::block_in_place(|| {
        d.lifeboat(&["cleanup", "incidents/drill.jsonl", "--dir", ".", "--confirm", "delete 4 of drill x"])
    });
    assert_eq!(wrong.status.code(), Some(1), "{}", text(&wrong.stderr));
    assert!(d.instance("customers-drill").await);

    let done = tokio::task::block_in_place(|| {
        d.lifeboat(&["cleanup", "incidents/drill.jsonl", "--dir", ".", "--confirm", &want, "--sign-key", &key])
    });
    let said = text(&done.stdout);
    assert_eq!(done.status.code(), Some(0), "{said}{}", text(&done.stderr));
    assert!(said.contains("deleted: rds-instance customers-drill in eu-central-1"), "{said}");
    assert!(!d.instance("customers-drill").await, "the drill's instance is still there");
    let left = d.versions("docs-drill").await;
    assert_eq!(left.len(), 1, "only the other writer's version stays: {left:?}");
    assert!(!drill_versions.contains(&left[0]), "{left:?}");
    let prod = d.versions("docs-prod").await;
    assert_eq!(prod.len(), 3, "production untouched: {prod:?}");
    assert!(d.instance("customers-prod").await);

    // Its own log: signed, sealed, naming the drill, one teardown line per resource.
    let log = cleanup_log(d.dir.path());
    let verified = tokio::task::block_in_place(|| d.lifeboat(&["verify", log.to_str().unwrap(), "--dir", "."]));
    assert_eq!(verified.status.code(), Some(0), "{}{}", text(&verified.stdout), text(&verified.stderr));
    let bytes = std::fs::read(&log).unwrap();
    let records = lifeboat::journal::records(&bytes);
    let lifeboat::event::Event::Genesis(g) = &records[0].event else { panic!("no genesis") };
    assert_eq!(g.mode, lifeboat::event::Mode::Cleanup);
    assert!(want.ends_with(g.inputs["drill_run_id"].as_str().unwrap()), "{:?}", g.inputs);
    let deleted = records
        .iter()
        .filter(|r| {
            matches!(
                r.event,
                lifeboat::event::Event::Teardown { outcome: lifeboat::event::TeardownOutcome::Deleted, .. }
            )
        })
        .count();
    assert_eq!(deleted, 4);
    // The cleanup is no drill: audit does not count it, and finds nothing left.
    let audit = tokio::task::block_in_place(|| d.lifeboat(&["audit", "--dir", ".", "--incidents", "incidents"]));
    assert!(!text(&audit.stdout).contains("drill leftover"), "{}", text(&audit.stdout));
    // The evidence pack: this drill is verified and signed, but it ran against moto's
    // local endpoint, so it proves nothing about AWS and the dataset is still due a
    // drill; it restored into production's own account (moto has one), which the pack
    // says rather than hides.
    let ev = tokio::task::block_in_place(|| {
        d.lifeboat(&["evidence", "customers", "--dir", ".", "--incidents", "incidents", "--out", "pack"])
    });
    assert_eq!(ev.status.code(), Some(1), "{}{}", text(&ev.stdout), text(&ev.stderr));
    let pack: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.dir.path().join("pack/evidence.json")).unwrap()).unwrap();
    let customers = &pack["datasets"][0];
    assert_eq!(
        customers["runs"].as_array().unwrap().len(),
        1,
        "the cleanup's log is no run of the dataset: {customers}"
    );
    let r = &customers["runs"][0];
    assert_eq!((r["cloud"].as_str(), r["proves_restore"].as_bool()), (Some("aws"), Some(false)), "{r}");
    assert!(r["not_counted_because"].as_str().unwrap().contains("not AWS's own endpoint"), "{r}");
    assert!(customers["overdue"].is_string(), "{customers}");
    assert_eq!(r["segregation"]["segregated"], false, "{r}");
    assert_eq!(r["segregation"]["account"], MOTO_ACCOUNT, "{r}");
    // Run again: all gone, nothing to do.
    let again = tokio::task::block_in_place(|| d.lifeboat(&["cleanup", "incidents/drill.jsonl", "--dir", "."]));
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stdout));
    assert!(text(&again.stdout).contains("nothing of the drill is left to delete"), "{}", text(&again.stdout));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_refuses_what_the_drill_did_not_make() {
    let d = drill().await;
    // The drill's instance was deleted by hand and someone made another of that name.
    d.rds
        .delete_db_instance()
        .db_instance_identifier("customers-drill")
        .skip_final_snapshot(true)
        .send()
        .await
        .unwrap();
    d.rds
        .restore_db_instance_from_db_snapshot()
        .db_instance_identifier("customers-drill")
        .db_snapshot_identifier("nightly")
        .send()
        .await
        .unwrap();
    // And the drill bucket is now a backup in the catalog.
    d.catalog("backup");
    let out = tokio::task::block_in_place(|| d.lifeboat(&["cleanup", "incidents/drill.jsonl", "--dir", "."]));
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{said}{}", text(&out.stderr));
    assert!(
        said.contains(
            "REFUSED  rds-instance customers-drill in eu-central-1 — customers-drill has no lifeboat:run tag"
        ),
        "{said}"
    );
    assert!(said.contains("is a backup resource in the catalog: never deleted"), "{said}");
    assert!(said.contains("nothing deleted; 4 refused"), "{said}");
    assert!(d.instance("customers-drill").await);
    assert_eq!(d.versions("docs-drill").await.len(), 3);

    // A log no trusted key signed is not believed at all.
    std::fs::remove_file(d.dir.path().join("allowed_signers")).unwrap();
    let out = tokio::task::block_in_place(|| d.lifeboat(&["cleanup", "incidents/drill.jsonl", "--dir", "."]));
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no trust root"), "{}", text(&out.stderr));
}
