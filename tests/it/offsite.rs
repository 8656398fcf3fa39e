//! The log's immutable copy on moto with Object Lock: segments arrive while the run
//! goes, a locked segment cannot be deleted, a second version of one is called out,
//! and `verify s3://…` tells a local log cut after a checkpoint.

use std::time::{Duration, Instant};

use crate::moto::{MOTO_ACCOUNT, Moto, lifeboat_with as lifeboat, locked_bucket};
use crate::text;

fn catalog() -> String {
    format!(
        "apiVersion: lifeboat/v1\nkind: DatasetCatalog\nevidence: {{ bucket: lifeboat-evidence, region: eu-central-1, prefix: runs/ }}\ndatasets:\n  - id: customers\n    title: Customers\n    classification: confidential\n    rpo: 15m\n    rto: 4h\n    primary: {{ region: eu-central-1, account: \"{MOTO_ACCOUNT}\" }}\n    resources:\n      - {{ kind: rds-instance, id: customers-prod, role: production }}\n"
    )
}

const RUNBOOK: &str = "apiVersion: lifeboat/v1\nkind: Runbook\nid: copied\ntitle: Copied as it goes\ndataset: customers\nscenario: corruption\nphases:\n  - id: assess\n    title: Assess\n    budget: 1h\n    steps:\n      - { id: confirm, title: Confirm, manual: Look. }\n      - { id: wait, title: Wait for the test, run: ./wait-for-go.sh, expect: { exit_code: 0 } }\n      - { id: after, title: After, manual: Done. }\n";

async fn segments(s3: &aws_sdk_s3::Client) -> Vec<String> {
    let out = s3.list_objects_v2().bucket("lifeboat-evidence").prefix("runs/").send().await.unwrap();
    out.contents().iter().filter_map(|o| o.key().map(str::to_string)).collect()
}

/// moto with the Object Lock evidence bucket, and a folder for the run.
async fn with_evidence_bucket() -> (Moto, aws_sdk_s3::Client, tempfile::TempDir) {
    let moto = Moto::start();
    let s3 = moto.s3().await;
    locked_bucket(&s3, "lifeboat-evidence").await;
    (moto, s3, tempfile::tempdir().unwrap())
}

/// The copy's keys once the first segment is there (the run still going).
async fn first_segments(s3: &aws_sdk_s3::Client) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = segments(s3).await;
        if !now.is_empty() {
            return now;
        }
        assert!(Instant::now() < deadline, "no segment arrived while the run went on");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A signed headless run against moto whose middle step waits until a file `go` exists.
fn start_run(d: &std::path::Path, env: &[(&'static str, String)]) -> tokio::task::JoinHandle<std::process::Output> {
    std::fs::write(d.join("datasets.yaml"), catalog()).unwrap();
    std::fs::write(d.join("rb.yaml"), RUNBOOK).unwrap();
    std::fs::write(d.join("wait-for-go.sh"), "#!/bin/sh\nwhile [ ! -f go ]; do sleep 0.1; done\necho OK\n").unwrap();
    std::fs::set_permissions(d.join("wait-for-go.sh"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::write(
        d.join("answers.yaml"),
        "apiVersion: lifeboat/v1\nkind: Answers\noperator: ci\nsteps:\n  confirm: done\n  after: done\n",
    )
    .unwrap();
    let key = crate::journal::keygen(d);
    crate::journal::allowed_signers(d, &key);
    let (run_env, run_dir, key_arg) = (env.to_vec(), d.to_path_buf(), key.to_str().unwrap().to_string());
    tokio::task::spawn_blocking(move || {
        lifeboat(
            &run_env,
            &run_dir,
            &[
                "run",
                "rb.yaml",
                "--headless",
                "--cloud",
                "aws",
                "--answers",
                "answers.yaml",
                "--log",
                "run.jsonl",
                "--sign-key",
                &key_arg,
            ],
        )
    })
}

/// The run's id, from the genesis of its local log.
fn run_id(log: &std::path::Path) -> String {
    let bytes = std::fs::read(log).unwrap();
    lifeboat::journal::records(&bytes)
        .first()
        .and_then(|r| match &r.event {
            lifeboat::event::Event::Genesis(g) => Some(g.run_id.clone()),
            _ => None,
        })
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_is_copied_as_the_run_goes_and_a_cut_local_log_is_told() {
    let (moto, s3, dir) = with_evidence_bucket().await;
    let d = dir.path().to_path_buf();
    let env = moto.env();
    let run = start_run(&d, &env);
    // While the command waits, the confirmed step's segment is already in the bucket.
    let during = first_segments(&s3).await;
    assert!(during.iter().all(|k| k.contains("/segment-")), "{during:?}");
    assert!(!d.join("run.jsonl.sig").exists(), "the run has ended already: the test proves nothing");
    std::fs::write(d.join("go"), "").unwrap();
    let out = run.await.unwrap();
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(!said.contains("evidence_copy") && !said.contains("warning"), "{said}");
    let after = segments(&s3).await;
    assert!(after.len() > during.len(), "later segments: {after:?}");
    let bytes = std::fs::read(d.join("run.jsonl")).unwrap();
    let run_id = run_id(&d.join("run.jsonl"));
    assert!(after.contains(&format!("runs/{run_id}/log.sig")), "{after:?}");
    let url = format!("s3://lifeboat-evidence/runs/{run_id}");
    let verify = |local: &str| lifeboat(&env, &d, &["verify", &url, "--dir", ".", "--local", local]);

    // The copy verifies as the log does, and the local log is whole.
    let v = tokio::task::block_in_place(|| verify("run.jsonl"));
    let said = text(&v.stdout);
    assert_eq!(v.status.code(), Some(0), "{said}{}", text(&v.stderr));
    assert!(said.contains("sealed and intact, signed by ops@example"), "{said}");
    assert!(said.contains("local      run.jsonl: the same as the copy, byte for byte"), "{said}");

    // Someone cuts the local log after its first checkpoint: the copy says so.
    let lines: Vec<&[u8]> = bytes.split_inclusive(|b| *b == b'\n').collect();
    let first_checkpoint = lines
        .iter()
        .position(|l| {
            let needle = b"\"type\":\"checkpoint\"";
            l.windows(needle.len()).any(|w| w == needle)
        })
        .unwrap();
    let cut: Vec<u8> = lines[..=first_checkpoint].concat();
    std::fs::write(d.join("cut.jsonl"), &cut).unwrap();
    let v = tokio::task::block_in_place(|| verify("cut.jsonl"));
    let said = text(&v.stdout);
    assert_eq!(v.status.code(), Some(1), "{said}");
    let more = lines.len() - first_checkpoint - 1;
    assert!(
        said.contains(&format!(
            "CUT: the copy holds {more} line(s) more, from line {}: the local log lost its tail",
            first_checkpoint + 2
        )),
        "{said}"
    );
    // On its own the cut log still verifies as far as it goes: only the copy tells.
    let alone = tokio::task::block_in_place(|| lifeboat(&env, &d, &["verify", "cut.jsonl", "--dir", "."]));
    assert_eq!(alone.status.code(), Some(3), "{}", text(&alone.stdout));

    // The copy itself: a locked segment cannot be deleted; a second version is called out.
    let first = format!("runs/{run_id}/segment-000001.jsonl");
    let versions = s3.list_object_versions().bucket("lifeboat-evidence").prefix(&first).send().await.unwrap();
    let version = versions.versions()[0].version_id().unwrap().to_string();
    let deleted = s3.delete_object().bucket("lifeboat-evidence").key(&first).version_id(&version).send().await;
    assert!(deleted.is_err(), "a COMPLIANCE-locked segment was deleted");
    s3.put_object()
        .bucket("lifeboat-evidence")
        .key(&first)
        .body(aws_sdk_s3::primitives::ByteStream::from(b"{\"forged\":true}\n".to_vec()))
        .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Crc32)
        .send()
        .await
        .unwrap();
    let v = tokio::task::block_in_place(|| verify("run.jsonl"));
    let said = text(&v.stdout);
    assert_eq!(v.status.code(), Some(1), "{said}");
    assert!(said.contains(&format!("COPY       {first} was written 2 times")), "{said}");
    assert!(said.contains("the same as the copy, byte for byte"), "the first version is what is read: {said}");
}

/// `lifeboat watch s3://…` from "another machine" (nothing local but the runbook folder):
/// the commander sees the run from its copy while it goes, and the seal with its signer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_is_watched_from_its_copy_in_the_evidence_bucket() {
    let (moto, s3, dir) = with_evidence_bucket().await;
    let d = dir.path().to_path_buf();
    let env = moto.env();
    let run = start_run(&d, &env);
    first_segments(&s3).await;
    let url = format!("s3://lifeboat-evidence/runs/{}", run_id(&d.join("run.jsonl")));
    // The commander's folder holds the runbooks and the trust root, not the log.
    let away = tempfile::tempdir().unwrap();
    for f in ["datasets.yaml", "rb.yaml", "allowed_signers"] {
        std::fs::copy(d.join(f), away.path().join(f)).unwrap();
    }
    let vars: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let bin = env!("CARGO_BIN_EXE_lifeboat");
    let ic = crate::tui::Tmux::start(away.path(), "copy", &format!("env {} {bin} watch {url} --dir .", vars.join(" ")));
    let s = tokio::task::block_in_place(|| ic.wait_for("WATCHING read-only"));
    assert!(s.contains("chain intact") && s.contains("signer ops@example"), "{s}");
    tokio::task::block_in_place(|| ic.wait_for("✓ Confirm"));
    assert!(!d.join("run.jsonl.sig").exists(), "the run has ended already: the test proves nothing");
    std::fs::write(d.join("go"), "").unwrap();
    let out = run.await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = tokio::task::block_in_place(|| ic.wait_for("sealed and intact, signed by ops@example"));
    assert!(s.contains("✓ After") && s.contains("run succeeded · watched from s3://lifeboat-evidence/runs/"), "{s}");
    ic.keys(&["q"]);
    tokio::task::block_in_place(|| ic.wait_for("EXIT=0"));
}

/// An approver who cannot reach the operator's machine approves from the run's copy in
/// the evidence bucket: `approve s3://…` reads the copy (the line where the step asks is
/// signed and copied as it asks) and writes a signed approval into `inbox/` beside it;
/// the running lifeboat takes it from there, checks it against the trust root and the
/// roles file, and goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approver_far_away_approves_through_the_evidence_buckets_copy() {
    let (moto, s3, dir) = with_evidence_bucket().await;
    let d = dir.path().to_path_buf();
    std::fs::write(d.join("datasets.yaml"), catalog()).unwrap();
    std::fs::write(
        d.join("rb.yaml"),
        "apiVersion: lifeboat/v1\nkind: Runbook\nid: copied\ntitle: Approved from afar\ndataset: customers\nscenario: corruption\nphases:\n  - id: assess\n    title: Assess\n    budget: 1h\n    steps:\n      - { id: go, title: Go, approval: { role: ic, four_eyes: true } }\n      - { id: after, title: After, run: \"echo ran > effects\" }\n",
    )
    .unwrap();
    std::fs::write(d.join("answers.yaml"), "apiVersion: lifeboat/v1\nkind: Answers\noperator: ci\n").unwrap();
    let mut trust = String::new();
    let [ops, dana] = ["ops", "dana"].map(|who| {
        let home = d.join(format!("keys-{who}"));
        std::fs::create_dir(&home).unwrap();
        let key = crate::journal::keygen(&home);
        trust += &format!("{who}@example {}", std::fs::read_to_string(key.with_extension("pub")).unwrap());
        key
    });
    std::fs::write(d.join("allowed_signers"), trust).unwrap();
    std::fs::write(
        d.join("roles.yaml"),
        "apiVersion: lifeboat/v1\nkind: Roles\npeople:\n  - { principal: dana@example, roles: [ic] }\n  - { principal: erik@example, roles: [ic] }\n",
    )
    .unwrap();
    let env = moto.env();
    let (run_env, run_dir, key_arg) = (env.clone(), d.clone(), ops.to_str().unwrap().to_string());
    let run = tokio::task::spawn_blocking(move || {
        let args =
            ["run", "rb.yaml", "--headless", "--cloud", "aws", "--answers", "answers.yaml", "--log", "run.jsonl"];
        lifeboat(&run_env, &run_dir, &[&args[..], &["--sign-key", &key_arg, "--await-approvals", "60s"]].concat())
    });
    // Dana has only the bucket: she approves as soon as the copy shows `go` asking (until
    // then `approve` says the run is not waiting).
    let log = d.join("run.jsonl");
    let deadline = Instant::now() + Duration::from_secs(60);
    let approved = loop {
        if log.exists() {
            let place = format!("s3://lifeboat-evidence/runs/{}", run_id(&log));
            let (a_env, a_dir, a_key) = (env.clone(), d.clone(), dana.to_str().unwrap().to_string());
            let out = tokio::task::spawn_blocking(move || {
                lifeboat(&a_env, &a_dir, &["approve", &place, "--step", "go", "--sign-key", &a_key, "--dir", "."])
            })
            .await
            .unwrap();
            if out.status.success() {
                break out;
            }
            // Not copied yet, or copied up to before the question: not an error of the approval.
            let said = text(&out.stderr);
            assert!(
                said.contains("is not waiting for an approval of `go`") || said.contains("no copy of a log at"),
                "{said}"
            );
        }
        assert!(Instant::now() < deadline, "the waiting line never reached the bucket: {:?}", segments(&s3).await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(text(&approved.stdout).contains("/inbox/1-approval.json"), "{}", text(&approved.stdout));
    let out = run.await.unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(d.join("effects").exists(), "the step after the approval ran");
    let body = std::fs::read_to_string(&log).unwrap();
    let answer = body.lines().find(|l| l.contains("\"type\":\"answer\"") && l.contains("\"signed\"")).unwrap();
    assert!(answer.contains("\"by\":\"dana@example\""), "{answer}");
}
