//! The AWS provider through the real SDK against a local moto server that the tests
//! start on a free port and stop afterwards. A missing moto is a failure, never a skip:
//! `pip install 'moto[server]'` (scripts/test does it, into target/pyenv).

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;

use crate::text;

pub struct Moto {
    child: Child,
    pub url: String,
}

impl Moto {
    pub fn start() -> Moto {
        Moto::start_with(&[])
    }

    /// `env` reaches moto's own settings, e.g. `INITIAL_NO_AUTH_ACTION_COUNT`.
    pub fn start_with(env: &[(&str, &str)]) -> Moto {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        // The module, not the `moto_server` script: no dependence on PATH shims.
        let child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start moto ({e}): scripts/test installs moto 5.2.5 into target/pyenv and puts it first on PATH")
            });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut child = child;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "moto exited ({status}): is it installed? scripts/test installs moto 5.2.5 into target/pyenv and puts it first on PATH"
                );
            }
            assert!(Instant::now() < deadline, "moto did not start on port {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Moto { child, url: format!("http://127.0.0.1:{port}") }
    }

    /// Dummy credentials, this endpoint, and nothing from the developer's own AWS setup.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.url.clone()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "eu-central-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("AWS_CONFIG_FILE", "/nonexistent".into()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent".into()),
        ]
    }

    /// The same, with requests sent to `url` instead (a proxy, or nobody listening); STS
    /// still answers from moto (`AWS_ENDPOINT_URL_STS`), so the pre-flight knows who
    /// the credentials are and the request under test is the one that meets `url`.
    pub fn env_via(&self, url: &str) -> Vec<(&'static str, String)> {
        let mut env: Vec<_> = self
            .env()
            .into_iter()
            .map(|(k, v)| if k == "AWS_ENDPOINT_URL" { (k, url.to_string()) } else { (k, v) })
            .collect();
        env.push(("AWS_ENDPOINT_URL_STS", self.url.clone()));
        env
    }

    pub async fn s3(&self) -> aws_sdk_s3::Client {
        self.s3_in("eu-central-1").await
    }

    pub async fn s3_in(&self, region: &str) -> aws_sdk_s3::Client {
        let creds = aws_sdk_s3::config::Credentials::new("testing", "testing", None, None, "test");
        let conf = aws_sdk_s3::config::Builder::new()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new(region.to_string()))
            .endpoint_url(&self.url)
            .credentials_provider(creds)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn bucket(s3: &aws_sdk_s3::Client, name: &str, versioned: bool) {
    use aws_sdk_s3::types::{
        BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration, VersioningConfiguration,
    };
    s3.create_bucket()
        .bucket(name)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder().location_constraint(BucketLocationConstraint::EuCentral1).build(),
        )
        .send()
        .await
        .unwrap();
    if versioned {
        s3.put_bucket_versioning()
            .bucket(name)
            .versioning_configuration(
                VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build(),
            )
            .send()
            .await
            .unwrap();
    }
}

pub async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: Vec<u8>) {
    s3.put_object().bucket(bucket).key(key).body(ByteStream::from(body)).send().await.unwrap();
}

pub async fn get(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Option<Vec<u8>> {
    let o = s3.get_object().bucket(bucket).key(key).send().await.ok()?;
    Some(o.body.collect().await.unwrap().into_bytes().to_vec())
}

const CATALOG: &str = r#"apiVersion: lifeboat/v1
kind: DatasetCatalog
datasets:
  - id: orders-docs
    title: Order documents
    classification: confidential
    rpo: 1h
    rto: 2h
    primary: { region: eu-central-1 }
    resources:
      - { kind: s3-bucket, id: orders-docs-prod, role: production }
      - { kind: s3-bucket, id: plain-bucket, role: backup }
"#;

fn folder(steps: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("datasets.yaml"), CATALOG).unwrap();
    let rb = format!(
        "apiVersion: lifeboat/v1\nkind: Runbook\nid: s3-test\ntitle: S3 test\ndataset: orders-docs\nscenario: ransomware\ninputs:\n  incident_at: {{ type: timestamp }}\n  bucket: {{ type: string, default: orders-docs-prod }}\nphases:\n  - id: recover\n    title: Recover\n    budget: 1h\n    steps:\n{steps}"
    );
    std::fs::write(dir.path().join("rb.yaml"), rb).unwrap();
    dir
}

fn run_aws(env: Vec<(&'static str, String)>, dir: &Path, incident_at: &str) -> Output {
    std::fs::write(
        dir.join("answers.yaml"),
        format!("apiVersion: lifeboat/v1\nkind: Answers\noperator: ci\ninputs: {{ incident_at: \"{incident_at}\" }}\n"),
    )
    .unwrap();
    let _ = std::fs::remove_file(dir.join("run.jsonl"));
    Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args(["run", "rb.yaml", "--headless", "--cloud", "aws", "--answers", "answers.yaml", "--log", "run.jsonl"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .envs(env)
        .output()
        .unwrap()
}

/// The binary in `dir` with moto's environment, colour off.
pub fn lifeboat_with(env: &[(&'static str, String)], dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap()
}

/// The binary, off the async workers.
async fn lifeboat_aws(moto: &Moto, dir: &Path, incident_at: &str) -> Output {
    let (env, dir, t) = (moto.env(), dir.to_path_buf(), incident_at.to_string());
    tokio::task::spawn_blocking(move || run_aws(env, &dir, &t)).await.unwrap()
}

/// The incident time, with a clear second either side: S3 times have one-second
/// precision, so what was written before it and what after must not share a second.
pub async fn between_good_and_bad() -> String {
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let t = lifeboat::runbook::time::format_timestamp(lifeboat::runbook::time::Timestamp::now());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    t
}

pub fn body(i: usize) -> Vec<u8> {
    format!("invoice {i:03} — the good content, padded to a fixed size")
        .into_bytes()
        .into_iter()
        .chain(std::iter::repeat_n(b'.', 64))
        .take(96)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ransomware_roll_back_restores_every_object_and_keeps_the_note() {
    let moto = Moto::start();
    let s3 = moto.s3().await;
    bucket(&s3, "orders-docs-prod", true).await;
    for i in 0..40 {
        put(&s3, "orders-docs-prod", &format!("invoices/{i:03}.pdf"), body(i)).await;
    }
    let t = between_good_and_bad().await;
    for i in 0..30 {
        put(&s3, "orders-docs-prod", &format!("invoices/{i:03}.pdf"), vec![0xEE; 96]).await; // same size
    }
    for i in 30..35 {
        s3.delete_object().bucket("orders-docs-prod").key(format!("invoices/{i:03}.pdf")).send().await.unwrap();
    }
    put(&s3, "orders-docs-prod", "HOW_TO_DECRYPT.txt", b"pay up".to_vec()).await;

    let dir = folder(
        "      - { id: restore, title: Roll back, action: s3.restore_to_time, with: { bucket: \"${{ inputs.bucket }}\", time: \"${{ inputs.incident_at }}\" } }\n",
    );
    let out = lifeboat_aws(&moto, dir.path(), &t).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("30 to roll back, 5 to undelete, 1 created after") && stderr.contains("; 2.8 KiB to copy"),
        "{stderr}"
    );
    for i in 0..40 {
        assert_eq!(
            get(&s3, "orders-docs-prod", &format!("invoices/{i:03}.pdf")).await.as_deref(),
            Some(body(i).as_slice()),
            "invoice {i}"
        );
    }
    assert_eq!(
        get(&s3, "orders-docs-prod", "HOW_TO_DECRYPT.txt").await.as_deref(),
        Some(&b"pay up"[..]),
        "kept, not quietly deleted"
    );
    let log = std::fs::read_to_string(dir.path().join("run.jsonl")).unwrap();
    assert!(
        log.contains("\"newer_keys\":[\"HOW_TO_DECRYPT.txt\"]")
            && log.contains("\"restored\":30")
            && log.contains("\"undeleted\":5"),
        "{log}"
    );
    // Every version stays as evidence: nothing was deleted but the delete markers.
    let versions = s3.list_object_versions().bucket("orders-docs-prod").send().await.unwrap();
    assert_eq!(versions.versions().len(), 40 + 30 + 1 + 30, "originals, garbage, note, restored copies");
    assert!(versions.delete_markers().is_empty());

    // A second run finds nothing left to do: resumable without redoing finished objects.
    let again = lifeboat_aws(&moto, dir.path(), &t).await;
    assert!(text(&again.stderr).contains("0 to roll back, 0 to undelete, 1 created after"), "{}", text(&again.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_posture_check_finds_a_bucket_without_versioning() {
    let moto = Moto::start();
    let s3 = moto.s3().await;
    bucket(&s3, "plain-bucket", false).await;
    bucket(&s3, "orders-docs-prod", true).await;
    let dir = folder(
        "      - { id: plain, title: Plain, action: s3.check_posture, with: { bucket: plain-bucket }, on_failure: continue }\n      - { id: prod, title: Prod, action: s3.check_posture, with: { bucket: orders-docs-prod }, on_failure: continue }\n",
    );
    let out = lifeboat_aws(&moto, dir.path(), "2026-11-24T03:00:00Z").await;
    let stderr = text(&out.stderr);
    // The check reports (no gate here decides): both steps done, the finding on record
    // (exit 3 only for the RTO of an incident weeks ago).
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("✓ plain done") && stderr.contains("✓ prod done"), "{stderr}");
    let log = std::fs::read_to_string(dir.path().join("run.jsonl")).unwrap();
    let plain = log.lines().find(|l| l.contains("\"type\":\"step_finished\",\"step\":\"plain\"")).unwrap();
    assert!(
        plain.contains("\"passed\":false")
            && plain.contains("versioning is not enabled: overwritten objects cannot be rolled back"),
        "{plain}"
    );
    assert!(log.contains("\"versioning\":\"never enabled\"") && log.contains("\"versioning\":\"Enabled\""), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_fails_clearly_and_names_the_resource() {
    let moto = Moto::start();
    let dir = folder(
        "      - { id: restore, title: Roll back, action: s3.restore_to_time, with: { bucket: no-such-bucket, time: \"${{ inputs.incident_at }}\" } }\n",
    );
    let out = lifeboat_aws(&moto, dir.path(), "2026-11-24T03:00:00Z").await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("s3.restore_to_time on `no-such-bucket` failed")
            && stderr.contains("(hint: check the bucket name and the account)"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("DispatchFailure") && !stderr.contains("SdkError") && !stderr.contains("{"),
        "no Debug dumps: {stderr}"
    );
    // Nobody listening: a connection failure, said plainly, with what to check.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let env = moto.env_via(&format!("http://127.0.0.1:{port}"));
    let d = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || run_aws(env, &d, "2026-11-24T03:00:00Z")).await.unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot reach AWS in eu-central-1")
            && stderr.contains("check the network, AWS_ENDPOINT_URL and the region"),
        "{stderr}"
    );
}

impl Moto {
    pub async fn rds(&self, region: &str) -> aws_sdk_rds::Client {
        let creds = aws_sdk_rds::config::Credentials::new("testing", "testing", None, None, "test");
        let conf = aws_sdk_rds::config::Builder::new()
            .behavior_version(aws_sdk_rds::config::BehaviorVersion::latest())
            .region(aws_sdk_rds::config::Region::new(region.to_string()))
            .endpoint_url(&self.url)
            .credentials_provider(creds)
            .build();
        aws_sdk_rds::Client::from_conf(conf)
    }
}

/// The example runbooks folder, copied so a test's logs stay out of the repo.
fn examples() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = crate::root().join("runbooks");
    for f in lifeboat::runbook::load::yaml_files(&src).unwrap() {
        let rel = f.strip_prefix(&src).unwrap();
        std::fs::create_dir_all(dir.path().join(rel).parent().unwrap()).unwrap();
        // The catalog's production account becomes moto's, as a real catalog names the
        // account its credentials belong to (the pre-flight refuses any other).
        let text = std::fs::read_to_string(&f).unwrap().replace("\"111111111111\"", &format!("\"{MOTO_ACCOUNT}\""));
        std::fs::write(dir.path().join(rel), text).unwrap();
    }
    dir
}

/// The account moto answers STS GetCallerIdentity with.
pub const MOTO_ACCOUNT: &str = "123456789012";

async fn run_example(moto: &Moto, dir: &Path, runbook: &str, answers: &str) -> Output {
    std::fs::write(
        dir.join("answers.yaml"),
        format!("apiVersion: lifeboat/v1\nkind: Answers\noperator: ci\n{answers}"),
    )
    .unwrap();
    run_example_approved(moto, dir, runbook, &[]).await
}

/// The run (answers already in `answers.yaml`), live against moto; each of `approvals`
/// (a step and the demo key of `scripts/demo-approvals` that signs it) is given with
/// `lifeboat approve LOG` from outside while the run waits for it, as a person would.
async fn run_example_approved(moto: &Moto, dir: &Path, runbook: &str, approvals: &[(&str, &str)]) -> Output {
    let (env, dir, rb) = (moto.env(), dir.to_path_buf(), runbook.to_string());
    let approvals: Vec<(String, String)> = approvals.iter().map(|(s, k)| (s.to_string(), k.to_string())).collect();
    if !approvals.is_empty() {
        crate::demo_approvals(&dir);
    }
    tokio::task::spawn_blocking(move || {
        let child = Command::new(env!("CARGO_BIN_EXE_lifeboat"))
            .args(["run", &rb, "--headless", "--cloud", "aws", "--answers", "answers.yaml", "--log", "run.jsonl"])
            .args(["--await-approvals", "60s"])
            .current_dir(&dir)
            .env("NO_COLOR", "1")
            .envs(env.clone())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        for (step, who) in &approvals {
            let deadline = Instant::now() + Duration::from_secs(60);
            let waits = format!("\"type\":\"step_waiting\",\"step\":\"{step}\"");
            while !std::fs::read_to_string(dir.join("run.jsonl")).unwrap_or_default().contains(&waits) {
                assert!(Instant::now() < deadline, "the run never asked for `{step}`");
                std::thread::sleep(Duration::from_millis(50));
            }
            let key = dir.join(".demo-keys").join(who);
            let args = ["approve", "run.jsonl", "--step", step, "--sign-key", key.to_str().unwrap()];
            let approved = lifeboat_with(&env, &dir, &args);
            assert!(approved.status.success(), "{}", text(&approved.stderr));
        }
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

/// customers-prod in eu-central-1 with a manual snapshot `nightly`.
pub async fn customers_with_nightly(moto: &Moto) -> aws_sdk_rds::Client {
    let rds = moto.rds("eu-central-1").await;
    customers_prod(&rds).await;
    rds.create_db_snapshot()
        .db_instance_identifier("customers-prod")
        .db_snapshot_identifier("nightly")
        .send()
        .await
        .unwrap();
    rds
}

pub async fn customers_prod(rds: &aws_sdk_rds::Client) {
    rds.create_db_instance()
        .db_instance_identifier("customers-prod")
        .db_instance_class("db.r6g.large")
        .engine("postgres")
        .allocated_storage(20)
        .master_username("admin")
        .master_user_password("not-a-real-password")
        .backup_retention_period(7)
        .storage_encrypted(true)
        .send()
        .await
        .unwrap();
}

/// The region outage's world: customers-prod in eu-central-1, its nightly snapshot, and
/// that snapshot copied to eu-west-1 as `customers-prod-nightly-copy`.
pub async fn nightly_copied_west(moto: &Moto) -> (aws_sdk_rds::Client, aws_sdk_rds::Client) {
    let (central, west) = (moto.rds("eu-central-1").await, moto.rds("eu-west-1").await);
    customers_prod(&central).await;
    let snap = central
        .create_db_snapshot()
        .db_instance_identifier("customers-prod")
        .db_snapshot_identifier("customers-prod-nightly")
        .send()
        .await
        .unwrap();
    west.copy_db_snapshot()
        .source_db_snapshot_identifier(snap.db_snapshot().unwrap().db_snapshot_arn().unwrap())
        .target_db_snapshot_identifier("customers-prod-nightly-copy")
        .send()
        .await
        .unwrap();
    (central, west)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_region_outage_runbook_restores_a_cross_region_snapshot() {
    let moto = Moto::start();
    let (_, west) = nightly_copied_west(&moto).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let t = lifeboat::runbook::time::format_timestamp(lifeboat::runbook::time::Timestamp::now());
    let dir = examples();
    std::fs::write(
        dir.path().join("answers.yaml"),
        format!("apiVersion: lifeboat/v1\nkind: Answers\noperator: ci\ninputs: {{ incident_at: \"{t}\", strategy: snapshot }}\nsteps:\n  confirm: done\n  repoint: done\n  smoke: {{ skip: \"no customer API in this test\" }}\n  accept: {{ approve: true, by: dora, role: data-protection-officer }}\n"),
    )
    .unwrap();
    // The failover is behind four eyes: the incident commander signs it from outside.
    let out = run_example_approved(&moto, dir.path(), "customers-db-region-outage.yaml", &[("decide", "bob")]).await;
    let stderr = text(&out.stderr);
    // The smoke test holds the `service-restored` milestone; skipped, nothing proves the
    // service came back, so the RTO cannot be met (exit 3), however fast the restore was.
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("RTO not met: service not restored after"), "{stderr}");
    assert!(stderr.contains("↷ promote skipped") && stderr.contains("recovery point"), "{stderr}");
    let dr = west.describe_db_instances().db_instance_identifier("customers-dr").send().await.unwrap();
    assert_eq!(dr.db_instances()[0].db_instance_status(), Some("available"));
    let log = std::fs::read_to_string(dir.path().join("run.jsonl")).unwrap();
    assert!(log.contains("\"snapshot\":\"customers-prod-nightly-copy\""), "found the copy in eu-west-1");
    assert!(
        log.contains("\"verdict\":\"skip\",\"by\":\"ci\",\"role\":null,\"reason\":\"no customer API in this test\""),
        "the skip is on record"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_corruption_runbook_restores_to_a_point_in_time_and_checks_the_window() {
    let moto = Moto::start();
    let central = moto.rds("eu-central-1").await;
    customers_prod(&central).await;
    let now = lifeboat::runbook::time::Timestamp::now();
    let at = |secs: i64| {
        lifeboat::runbook::time::format_timestamp(now.checked_sub(jiff::SignedDuration::from_secs(secs)).unwrap())
    };
    let dir = examples();
    let answers = |restore_to: &str| {
        format!(
            "inputs: {{ incident_at: \"{}\", restore_to: \"{restore_to}\" }}\nsteps:\n  stop-writers: done\n  pin-time: done\n  approve-restore: {{ approve: true, by: alice, role: incident-commander }}\n  verify: {{ skip: \"no database client in this test\" }}\n  reconcile: done\n  reopen: done\n  accept: {{ approve: true, by: dora, role: data-protection-officer }}\n",
            at(60)
        )
    };
    let out = run_example(&moto, dir.path(), "customers-db-corruption.yaml", &answers(&at(120))).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let pitr = central.describe_db_instances().db_instance_identifier("customers-pitr").send().await.unwrap();
    assert_eq!(pitr.db_instances()[0].db_instance_status(), Some("available"));
    assert!(stderr.contains("RPO 1m of 15m (met)"), "{stderr}");
    // Before the oldest retained backup: refused before any call, like AWS would.
    std::fs::remove_file(dir.path().join("run.jsonl")).unwrap();
    let out = run_example(&moto, dir.path(), "customers-db-corruption.yaml", &answers(&at(8 * 86_400))).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is outside the restorable window"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_finds_a_bucket_without_versioning() {
    let moto = Moto::start();
    let s3 = moto.s3().await;
    bucket(&s3, "orders-docs-prod", false).await;
    bucket(&s3, "plain-bucket", true).await;
    let dir = folder("      - { id: noop, title: Nothing, wait: 0s }\n");
    let (env, d) = (moto.env(), dir.path().to_path_buf());
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_lifeboat"))
            .args(["audit", "--dir", ".", "--cloud", "aws"])
            .current_dir(&d)
            .env("NO_COLOR", "1")
            .envs(env)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    let row = stdout.lines().find(|l| l.starts_with("orders-docs ")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(row.contains("orders-docs-prod: versioning is not enabled"), "{row}");
    assert!(row.contains("✗ no backup location in the catalog") && row.contains("✗ never"), "{row}");
}

/// The KYC example's vault: `kyc-documents-vault` in eu-west-1 (the backup account's
/// region); a client there.
pub async fn vault(moto: &Moto) -> aws_sdk_s3::Client {
    use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
    let s3 = moto.s3_in("eu-west-1").await;
    s3.create_bucket()
        .bucket("kyc-documents-vault")
        .create_bucket_configuration(
            CreateBucketConfiguration::builder().location_constraint(BucketLocationConstraint::EuWest1).build(),
        )
        .send()
        .await
        .unwrap();
    s3
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deleted_prefix_comes_back_from_the_vault_through_the_backup_accounts_role() {
    let moto = Moto::start();
    let s3 = moto.s3().await;
    vault(&moto).await;
    bucket(&s3, "kyc-documents-prod", true).await;
    for i in 0..20 {
        put(&s3, "kyc-documents-vault", &format!("customers/2026/11/cus_{i:03}/passport.jpg"), body(i)).await;
        put(&s3, "kyc-documents-vault", &format!("customers/2026/10/cus_{i:03}/passport.jpg"), body(100 + i)).await;
        put(&s3, "kyc-documents-prod", &format!("customers/2026/10/cus_{i:03}/passport.jpg"), body(100 + i)).await;
    }
    let dir = examples();
    std::fs::write(
        dir.path().join("answers.yaml"),
        "apiVersion: lifeboat/v1\nkind: Answers\noperator: ci\ninputs: { prefix: customers/2026/11/ }\nsteps:\n  scope: done\n  freeze: done\n  review: done\n  record: done\n",
    )
    .unwrap();
    // The data-protection officer signs the restore from outside (four eyes).
    let out = run_example_approved(&moto, dir.path(), "kyc-documents-prefix-deletion.yaml", &[("dpo", "dora")]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for i in 0..20 {
        assert_eq!(
            get(&s3, "kyc-documents-prod", &format!("customers/2026/11/cus_{i:03}/passport.jpg")).await.as_deref(),
            Some(body(i).as_slice())
        );
    }
    let log = std::fs::read_to_string(dir.path().join("run.jsonl")).unwrap();
    assert!(log.contains("\"copied\":20") && log.contains("\"missing\":0,\"same\":20"), "{log}");
    // Only the prefix: the rest of the vault was not copied over production.
    let listed = s3.list_objects_v2().bucket("kyc-documents-prod").send().await.unwrap();
    assert_eq!(listed.key_count(), Some(40));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_a_snapshot_across_regions_promote_a_replica_and_check_posture() {
    let moto = Moto::start();
    let (central, west) = (moto.rds("eu-central-1").await, moto.rds("eu-west-1").await);
    customers_prod(&central).await;
    central
        .create_db_snapshot()
        .db_instance_identifier("customers-prod")
        .db_snapshot_identifier("nightly")
        .send()
        .await
        .unwrap();
    let prod_arn =
        central.describe_db_instances().db_instance_identifier("customers-prod").send().await.unwrap().db_instances()
            [0]
        .db_instance_arn()
        .unwrap()
        .to_string();
    west.create_db_instance_read_replica()
        .db_instance_identifier("customers-replica-dr")
        .source_db_instance_identifier(prod_arn)
        .send()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("datasets.yaml"),
        "apiVersion: lifeboat/v1\nkind: DatasetCatalog\ndatasets:\n  - id: customers\n    title: Customers\n    classification: confidential\n    rpo: 15m\n    rto: 4h\n    primary: { region: eu-central-1 }\n    resources:\n      - { kind: rds-instance, id: customers-prod, role: production }\n",
    )
    .unwrap();
    let steps = "      - { id: copy, title: Copy, action: rds.copy_snapshot, with: { snapshot: nightly, to_region: eu-west-1 } }\n      - { id: again, title: Copy again, action: rds.copy_snapshot, with: { snapshot: nightly, to_region: eu-west-1 } }\n      - { id: promote, title: Promote, action: rds.promote_replica, with: { replica: customers-replica-dr, region: eu-west-1 } }\n      - { id: posture, title: Posture, action: rds.check_posture, with: { instance: customers-prod }, on_failure: continue }\n      - { id: missing, title: Missing, action: rds.restore_from_snapshot, with: { snapshot: no-such-snapshot, new_instance: x }, on_failure: continue }\n      - { id: elsewhere, title: Wrong region, action: rds.restore_from_snapshot, with: { snapshot: nightly, new_instance: y, region: us-east-1 }, on_failure: continue }\n";
    std::fs::write(
        dir.path().join("rb.yaml"),
        format!("apiVersion: lifeboat/v1\nkind: Runbook\nid: rds-test\ntitle: RDS\ndataset: customers\nscenario: region-outage\ninputs:\n  incident_at: {{ type: timestamp }}\nphases:\n  - id: p\n    title: P\n    budget: 1h\n    steps:\n{steps}"),
    )
    .unwrap();
    let out = lifeboat_aws(&moto, dir.path(), "2026-11-24T03:00:00Z").await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "the posture and the missing snapshot fail: {stderr}");
    assert!(
        stderr.contains("✓ copy done") && stderr.contains("✓ again done"),
        "a second copy finds the first: {stderr}"
    );
    assert_eq!(
        west.describe_db_snapshots()
            .db_snapshot_identifier("nightly-copy-eu-west-1")
            .send()
            .await
            .unwrap()
            .db_snapshots()
            .len(),
        1
    );
    // moto 5.2.5 keeps ReadReplicaSourceDBInstanceIdentifier after a promotion (checked
    // with boto3 too), so the promotion shows in what lifeboat recorded, not in moto.
    assert!(
        stderr.contains("✓ promote done") && stderr.contains("recovery point 2026-11-24T03:00:00.000Z"),
        "{stderr}"
    );
    let log = std::fs::read_to_string(dir.path().join("run.jsonl")).unwrap();
    assert!(
        log.contains("\"instance\":\"customers-replica-dr\"") && log.contains("customers-replica-dr: available"),
        "{log}"
    );
    // Weak protection is a finding, not a failed step.
    assert!(stderr.contains("✓ posture done"), "{stderr}");
    let posture = log.lines().find(|l| l.contains("\"type\":\"step_finished\",\"step\":\"posture\"")).unwrap();
    assert!(posture.contains("\"passed\":false") && posture.contains("deletion protection is off"), "{posture}");
    assert!(
        stderr.contains(
            "rds.restore_from_snapshot on `no-such-snapshot` failed: no snapshot `no-such-snapshot` in eu-central-1"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("rds.restore_from_snapshot on `nightly` failed: no snapshot `nightly` in us-east-1")
            && stderr.contains("check the name and the region: snapshots are regional"),
        "the wrong region is named: {stderr}"
    );
}

/// A real HTTP proxy in front of moto that answers the first `faults` CopyObject requests
/// with S3's own `503 SlowDown`, and forwards everything else.
fn faulty_proxy(upstream: &str, faults: usize) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let served = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = served.clone();
    let url = proxy(upstream, move |head| {
        let is_copy = head.starts_with("PUT ") && head.to_ascii_lowercase().contains("x-amz-copy-source:");
        (is_copy && counter.fetch_add(1, Ordering::SeqCst) < faults).then(|| {
            let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
            format!(
                "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{xml}",
                xml.len()
            )
        })
    });
    (url, served)
}

/// A real HTTP proxy in front of moto (one request a connection): `answer` may answer a
/// request itself from its head; everything else is forwarded.
fn proxy(upstream: &str, answer: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let upstream = upstream.trim_start_matches("http://").to_string();
    let answer = std::sync::Arc::new(answer);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut client) = conn else { continue };
            let (upstream, answer) = (upstream.clone(), answer.clone());
            std::thread::spawn(move || {
                let mut reader = BufReader::new(client.try_clone().unwrap());
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let end = line == "\r\n";
                    if !line.to_ascii_lowercase().starts_with("connection:") {
                        head.push_str(&line);
                    }
                    if end {
                        break;
                    }
                }
                let length = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                    })
                    .unwrap_or(0);
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                if let Some(response) = answer(&head) {
                    let _ = client.write_all(response.as_bytes());
                    return;
                }
                let head = head.replacen("\r\n\r\n", "\r\nConnection: close\r\n\r\n", 1);
                let mut up = TcpStream::connect(&upstream).unwrap();
                up.write_all(head.as_bytes()).unwrap();
                up.write_all(&body).unwrap();
                let mut response = Vec::new();
                up.read_to_end(&mut response).unwrap();
                let _ = client.write_all(&response);
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_retried_and_the_roll_back_still_completes() {
    let moto = Moto::start();
    let s3 = moto.s3().await;
    bucket(&s3, "orders-docs-prod", true).await;
    for i in 0..10 {
        put(&s3, "orders-docs-prod", &format!("invoices/{i:03}.pdf"), body(i)).await;
    }
    let t = between_good_and_bad().await;
    for i in 0..10 {
        put(&s3, "orders-docs-prod", &format!("invoices/{i:03}.pdf"), vec![0xEE; 96]).await;
    }
    let (proxy, served) = faulty_proxy(&moto.url, 4);
    let dir = folder(
        "      - { id: restore, title: Roll back, action: s3.restore_to_time, with: { bucket: orders-docs-prod, time: \"${{ inputs.incident_at }}\" } }\n",
    );
    let env = moto.env_via(&proxy);
    let (d, tt) = (dir.path().to_path_buf(), t.clone());
    let out = tokio::task::spawn_blocking(move || run_aws(env, &d, &tt)).await.unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(served.load(std::sync::atomic::Ordering::SeqCst) >= 14, "4 throttled copies were retried: {stderr}");
    for i in 0..10 {
        assert_eq!(
            get(&s3, "orders-docs-prod", &format!("invoices/{i:03}.pdf")).await.as_deref(),
            Some(body(i).as_slice()),
            "invoice {i}"
        );
    }
    // Throttling that never clears: the step fails, saying so plainly.
    for i in 0..10 {
        put(&s3, "orders-docs-prod", &format!("invoices/{i:03}.pdf"), vec![0xEE; 96]).await;
    }
    let (proxy, _) = faulty_proxy(&moto.url, usize::MAX);
    let env = moto.env_via(&proxy);
    let d = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || run_aws(env, &d, &t)).await.unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("failed: Please reduce your request rate.") && stderr.contains("AWS is throttling or failing"),
        "{stderr}"
    );
}

/// A bucket in eu-central-1 with Object Lock on, COMPLIANCE for a day by default.
pub async fn locked_bucket(s3: &aws_sdk_s3::Client, name: &str) {
    use aws_sdk_s3::types::{
        BucketLocationConstraint, CreateBucketConfiguration, DefaultRetention, ObjectLockConfiguration,
        ObjectLockEnabled, ObjectLockRetentionMode, ObjectLockRule,
    };
    s3.create_bucket()
        .bucket(name)
        .object_lock_enabled_for_bucket(true)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder().location_constraint(BucketLocationConstraint::EuCentral1).build(),
        )
        .send()
        .await
        .unwrap();
    let rule = ObjectLockRule::builder()
        .default_retention(DefaultRetention::builder().mode(ObjectLockRetentionMode::Compliance).days(1).build())
        .build();
    s3.put_object_lock_configuration()
        .bucket(name)
        .object_lock_configuration(
            ObjectLockConfiguration::builder().object_lock_enabled(ObjectLockEnabled::Enabled).rule(rule).build(),
        )
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_locked_bucket_rolls_back_without_deleting_any_version() {
    let moto = Moto::start();
    let s3 = moto.s3().await;
    locked_bucket(&s3, "orders-docs-prod").await;
    for i in 0..5 {
        put(&s3, "orders-docs-prod", &format!("invoices/{i:03}.pdf"), body(i)).await;
    }
    let t = between_good_and_bad().await;
    for i in 0..5 {
        put(&s3, "orders-docs-prod", &format!("invoices/{i:03}.pdf"), vec![0xEE; 96]).await;
    }
    let dir = folder(
        "      - { id: restore, title: Roll back, action: s3.restore_to_time, with: { bucket: orders-docs-prod, time: \"${{ inputs.incident_at }}\" } }\n",
    );
    let out = lifeboat_aws(&moto, dir.path(), &t).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for i in 0..5 {
        assert_eq!(
            get(&s3, "orders-docs-prod", &format!("invoices/{i:03}.pdf")).await.as_deref(),
            Some(body(i).as_slice())
        );
    }
    // The attacker's versions are still there, and locked: evidence nobody can remove.
    let versions =
        s3.list_object_versions().bucket("orders-docs-prod").prefix("invoices/000.pdf").send().await.unwrap();
    assert_eq!(versions.versions().len(), 3, "original, garbage, restored copy");
    let garbage = versions
        .versions()
        .iter()
        .find(|v| {
            v.size() == Some(96) && !v.is_latest().unwrap_or(false) && v.last_modified().is_some_and(|m| m.secs() > 0)
        })
        .unwrap();
    let refused = s3
        .delete_object()
        .bucket("orders-docs-prod")
        .key("invoices/000.pdf")
        .version_id(garbage.version_id().unwrap())
        .send()
        .await;
    let code =
        refused.as_ref().err().and_then(|e| aws_sdk_s3::error::ProvideErrorMetadata::code(e)).map(str::to_string);
    assert_eq!(code.as_deref(), Some("AccessDenied"), "a locked version's delete is refused");
}

/// moto enforces IAM once `INITIAL_NO_AUTH_ACTION_COUNT` requests have passed: the set-up
/// (boto3, which moto brings) makes exactly that many, then gives lifeboat a user that may
/// read the bucket but not write it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_denied_names_the_object_and_what_to_check() {
    const SETUP: &str = r#"
import boto3, json, sys, time, datetime
kw = dict(endpoint_url=sys.argv[1], aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-central-1")
s3, iam = boto3.client("s3", **kw), boto3.client("iam", **kw)
s3.create_bucket(Bucket="orders-docs-prod", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
s3.put_bucket_versioning(Bucket="orders-docs-prod", VersioningConfiguration={"Status": "Enabled"})
s3.put_object(Bucket="orders-docs-prod", Key="invoices/000.pdf", Body=b"good")
time.sleep(1.1); t = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"); time.sleep(1.1)
s3.put_object(Bucket="orders-docs-prod", Key="invoices/000.pdf", Body=b"bad!")
iam.create_user(UserName="reader")
iam.put_user_policy(UserName="reader", PolicyName="read-only", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:ListBucket", "s3:ListBucketVersions", "s3:GetObject", "s3:GetObjectVersion"], "Resource": "*"}]}))
key = iam.create_access_key(UserName="reader")["AccessKey"]
print(t, key["AccessKeyId"], key["SecretAccessKey"])
"#;
    let moto = Moto::start_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", "7")]);
    let setup = Command::new("python3").args(["-c", SETUP, &moto.url]).output().unwrap();
    assert!(setup.status.success(), "{}", text(&setup.stderr));
    let out = text(&setup.stdout);
    let [t, id, secret] = out.split_whitespace().collect::<Vec<_>>()[..] else { panic!("{out}") };
    let (t, id, secret) = (t.to_string(), id.to_string(), secret.to_string());
    let env: Vec<(&'static str, String)> = moto
        .env()
        .into_iter()
        .map(|(k, v)| match k {
            "AWS_ACCESS_KEY_ID" => (k, id.clone()),
            "AWS_SECRET_ACCESS_KEY" => (k, secret.clone()),
            _ => (k, v),
        })
        .collect();
    let dir = folder(
        "      - { id: restore, title: Roll back, action: s3.restore_to_time, with: { bucket: orders-docs-prod, time: \"${{ inputs.incident_at }}\" } }\n",
    );
    let d = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || run_aws(env, &d, &t)).await.unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("1 to roll back"), "the reader may list, so the plan is made: {stderr}");
    assert!(
        stderr.contains("s3.restore_to_time on `s3://orders-docs-prod/invoices/000.pdf` failed: Access Denied")
            && stderr.contains("check the credentials (AWS_PROFILE, SSO session) and that the role may do this"),
        "{stderr}"
    );
    assert!(!stderr.contains(&secret) && !stderr.contains("SdkError"), "{stderr}");
}

/// Real S3 answers a request sent to the wrong region with `301 PermanentRedirect` and the
/// bucket's region in a header; moto does not, so a proxy answers as S3 would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_in_another_region_is_named_with_its_region() {
    let moto = Moto::start();
    let url = proxy(&moto.url, |_| {
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.</Message><Bucket>orders-docs-prod</Bucket></Error>";
        Some(format!(
            "HTTP/1.1 301 Moved Permanently\r\nx-amz-bucket-region: eu-west-1\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{xml}",
            xml.len()
        ))
    });
    let env = moto.env_via(&url);
    let dir = folder(
        "      - { id: restore, title: Roll back, action: s3.restore_to_time, with: { bucket: orders-docs-prod, time: \"${{ inputs.incident_at }}\" } }\n",
    );
    let d = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || run_aws(env, &d, "2026-11-24T03:00:00Z")).await.unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("s3.restore_to_time on `orders-docs-prod` failed")
            && stderr.contains("the bucket is in eu-west-1, not eu-central-1: set `region: eu-west-1` on the step"),
        "{stderr}"
    );
}

/// `delete_newer`, approved: what was created after the time gets a delete marker (one
/// DeleteObjects request), so even the ransom note stays on record as a version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approved_deletion_of_newer_objects_leaves_them_recoverable() {
    let moto = Moto::start();
    let s3 = moto.s3().await;
    bucket(&s3, "orders-docs-prod", true).await;
    for i in 0..3 {
        put(&s3, "orders-docs-prod", &format!("invoices/{i:03}.pdf"), body(i)).await;
    }
    let t = between_good_and_bad().await;
    s3.delete_object().bucket("orders-docs-prod").key("invoices/001.pdf").send().await.unwrap();
    put(&s3, "orders-docs-prod", "HOW_TO_DECRYPT.txt", b"pay up".to_vec()).await;
    put(&s3, "orders-docs-prod", "README_NOW.txt", b"pay up".to_vec()).await;
    let dir = folder(
        "      - { id: ok, title: Accept deleting newer objects, approval: { role: incident-commander } }\n      - { id: restore, title: Roll back, action: s3.restore_to_time, with: { bucket: orders-docs-prod, time: \"${{ inputs.incident_at }}\", delete_newer: true } }\n",
    );
    std::fs::write(
        dir.path().join("answers.yaml"),
        format!("apiVersion: lifeboat/v1\nkind: Answers\noperator: ci\ninputs: {{ incident_at: \"{t}\" }}\nsteps:\n  ok: {{ approve: true, by: alice, role: incident-commander }}\n"),
    )
    .unwrap();
    let (env, d) = (moto.env(), dir.path().to_path_buf());
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_lifeboat"))
            .args(["run", "rb.yaml", "--headless", "--cloud", "aws", "--answers", "answers.yaml", "--log", "run.jsonl"])
            .current_dir(d)
            .env("NO_COLOR", "1")
            .envs(env)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for i in 0..3 {
        assert_eq!(
            get(&s3, "orders-docs-prod", &format!("invoices/{i:03}.pdf")).await.as_deref(),
            Some(body(i).as_slice()),
            "invoice {i}"
        );
    }
    for note in ["HOW_TO_DECRYPT.txt", "README_NOW.txt"] {
        assert_eq!(get(&s3, "orders-docs-prod", note).await, None, "{note} is deleted");
        let v = s3.list_object_versions().bucket("orders-docs-prod").prefix(note).send().await.unwrap();
        assert_eq!((v.versions().len(), v.delete_markers().len()), (1, 1), "{note} stays as a version");
    }
}

/// Uploads `body` in parts of `part` bytes, as the AWS CLI does for large files.
async fn put_in_parts(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: &[u8], part: usize) -> String {
    use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
    let up = s3.create_multipart_upload().bucket(bucket).key(key).send().await.unwrap();
    let id = up.upload_id().unwrap();
    let mut parts = vec![];
    for (i, chunk) in body.chunks(part).enumerate() {
        let n = i as i32 + 1;
        let p = s3
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(id)
            .part_number(n)
            .body(ByteStream::from(chunk.to_vec()))
            .send()
            .await
            .unwrap();
        parts.push(CompletedPart::builder().part_number(n).e_tag(p.e_tag().unwrap()).build());
    }
    let done = s3
        .complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
        .send()
        .await
        .unwrap();
    done.e_tag().unwrap().to_string()
}

async fn etag(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> String {
    s3.head_object().bucket(bucket).key(key).send().await.unwrap().e_tag().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_objects_are_copied_in_parts_and_proved_by_their_etags() {
    const MIB: usize = 1024 * 1024;
    let moto = Moto::start();
    let s3 = moto.s3().await;
    bucket(&s3, "orders-docs-prod", true).await;
    bucket(&s3, "plain-bucket", false).await;
    let multi: Vec<u8> = (0..12 * MIB).map(|i| (i * 7 % 251) as u8).collect();
    let whole: Vec<u8> = (0..7 * MIB).map(|i| (i * 13 % 241) as u8).collect();
    let multi_etag = put_in_parts(&s3, "orders-docs-prod", "big/multi.bin", &multi, 5 * MIB).await;
    assert!(multi_etag.ends_with("-3\""), "{multi_etag}");
    put(&s3, "orders-docs-prod", "big/whole.bin", whole.clone()).await;
    let whole_etag = etag(&s3, "orders-docs-prod", "big/whole.bin").await;
    let t = between_good_and_bad().await;
    // Encrypted by the attacker: same sizes, one of them re-uploaded in other parts.
    put_in_parts(&s3, "orders-docs-prod", "big/multi.bin", &vec![0xEE; 12 * MIB], 6 * MIB).await;
    put(&s3, "orders-docs-prod", "big/whole.bin", vec![0xEE; 7 * MIB]).await;

    // Roll back (the multipart version is copied in its own parts), then copy the prefix
    // through this machine as another identity (5 MiB parts in memory, not the object)
    // and server-side.
    let dir = folder(
        "      - { id: restore, title: Roll back, action: s3.restore_to_time, with: { bucket: orders-docs-prod, time: \"${{ inputs.incident_at }}\" } }
      - id: streamed
        title: Copy through this machine
        action: s3.copy_prefix
        with:
          from: { bucket: orders-docs-prod, prefix: big/, role_arn: \"arn:aws:iam::123456789012:role/vault-reader\" }
          to: { bucket: plain-bucket, prefix: streamed/ }
        needs: [restore]
      - id: server
        title: Copy server-side
        action: s3.copy_prefix
        with: { from: { bucket: orders-docs-prod, prefix: big/ }, to: { bucket: plain-bucket, prefix: server/ } }
        needs: [restore]
",
    );
    let mut env = moto.env();
    env.push(("LIFEBOAT_S3_PART_SIZE", (5 * MIB).to_string()));
    let (d, tt) = (dir.path().to_path_buf(), t.clone());
    let out = tokio::task::spawn_blocking(move || run_aws(env, &d, &tt)).await.unwrap();
    let stderr = text(&out.stderr);
    // The copies bring back production as it is now, after the incident began: the data
    // may hold the damage, so the RPO is not met (exit 3) though every copy is whole.
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("RPO not met: a recovery point is after the incident began"), "{stderr}");
    assert!(!stderr.contains("checked by size only"), "every copy proved by a digest: {stderr}");

    for (bucket, key) in [("orders-docs-prod", "big/"), ("plain-bucket", "streamed/"), ("plain-bucket", "server/")] {
        let at = |name: &str| format!("{key}{name}");
        assert_eq!(get(&s3, bucket, &at("multi.bin")).await.as_deref(), Some(multi.as_slice()), "{bucket}/{key}");
        assert_eq!(get(&s3, bucket, &at("whole.bin")).await.as_deref(), Some(whole.as_slice()), "{bucket}/{key}");
        // Copied in the source's own parts: the very same ETag.
        assert_eq!(etag(&s3, bucket, &at("multi.bin")).await, multi_etag, "{bucket}/{key}");
    }
    assert_eq!(etag(&s3, "orders-docs-prod", "big/whole.bin").await, whole_etag);
    assert_eq!(etag(&s3, "plain-bucket", "server/whole.bin").await, whole_etag);
    // 7 MiB through this machine went in two 5 MiB-bounded parts, checked by its MD5.
    assert!(etag(&s3, "plain-bucket", "streamed/whole.bin").await.ends_with("-2\""));
    // No upload left half done to cost storage.
    for b in ["orders-docs-prod", "plain-bucket"] {
        let open = s3.list_multipart_uploads().bucket(b).send().await.unwrap();
        assert!(open.uploads().is_empty(), "{b}: {:?}", open.uploads());
    }
}

/// Before a live or drill run, STS says whose credentials these are: the confirmation
/// and the log name moto's account, and a catalog naming another account is refused
/// unless the operator says `--account-mismatch-ok` (which the log records).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pre_flight_names_the_real_account_and_refuses_another() {
    let moto = Moto::start();
    let dir = folder(
        "      - { id: posture, title: Posture, action: s3.check_posture, with: { bucket: orders-docs-prod }, on_failure: continue }\n",
    );
    let catalog = |account: &str| {
        std::fs::write(
            dir.path().join("datasets.yaml"),
            CATALOG.replace(
                "primary: { region: eu-central-1 }",
                &format!("primary: {{ region: eu-central-1, account: \"{account}\" }}"),
            ),
        )
        .unwrap();
    };
    let run = |extra: &'static [&'static str]| {
        let (env, d) = (moto.env(), dir.path().to_path_buf());
        tokio::task::spawn_blocking(move || {
            std::fs::write(d.join("answers.yaml"), "apiVersion: lifeboat/v1\nkind: Answers\noperator: ci\ninputs: { incident_at: \"2026-11-24T03:00:00Z\" }\n").unwrap();
            let _ = std::fs::remove_file(d.join("run.jsonl"));
            let mut args = vec![
                "run",
                "rb.yaml",
                "--headless",
                "--cloud",
                "aws",
                "--answers",
                "answers.yaml",
                "--log",
                "run.jsonl",
            ];
            args.extend_from_slice(extra);
            lifeboat_with(&env, &d, &args)
        })
    };
    catalog("111111111111");
    let out = run(&[]).await.unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("the AWS credentials are for account {MOTO_ACCOUNT}"))
            && stderr.contains("account 111111111111")
            && stderr.contains("nothing was run"),
        "{stderr}"
    );
    assert!(!dir.path().join("run.jsonl").exists(), "refused before the log began");

    let out = run(&["--account-mismatch-ok"]).await.unwrap();
    assert_ne!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let genesis = std::fs::read_to_string(dir.path().join("run.jsonl")).unwrap().lines().next().unwrap().to_string();
    assert!(
        genesis.contains(&format!("\"caller\":{{\"account\":\"{MOTO_ACCOUNT}\""))
            && genesis.contains("\"account_mismatch_ok\":true"),
        "{genesis}"
    );

    catalog(MOTO_ACCOUNT);
    let out = run(&[]).await.unwrap();
    assert_ne!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let genesis = std::fs::read_to_string(dir.path().join("run.jsonl")).unwrap().lines().next().unwrap().to_string();
    assert!(genesis.contains("\"arn\":\"arn:aws:") && !genesis.contains("account_mismatch_ok"), "{genesis}");
}

/// `LIFEBOAT_LOG` writes the SDK's own requests, attempts and retries beside the incident
/// log (here through a proxy that throttles four copies), and no credential or secret
/// input ever reaches that file, even at `trace`; nothing of it reaches stderr.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnostics_show_the_sdk_s_requests_and_retries_beside_the_log_and_never_a_secret() {
    let moto = Moto::start();
    let s3 = moto.s3().await;
    bucket(&s3, "orders-docs-prod", true).await;
    for i in 0..6 {
        put(&s3, "orders-docs-prod", &format!("invoices/{i:03}.pdf"), body(i)).await;
    }
    let t = between_good_and_bad().await;
    for i in 0..6 {
        put(&s3, "orders-docs-prod", &format!("invoices/{i:03}.pdf"), vec![0xEE; 96]).await;
    }
    let (proxy, _) = faulty_proxy(&moto.url, 4);
    let dir = folder(
        "      - { id: restore, title: Roll back, action: s3.restore_to_time, with: { bucket: orders-docs-prod, time: \"${{ inputs.incident_at }}\" } }\n      - { id: use-token, title: Use the token, run: \"test -n \\\"$LIFEBOAT_TOKEN\\\" && echo token-is-set\" }\n",
    );
    // A secret input, fed from the environment.
    let rb = std::fs::read_to_string(dir.path().join("rb.yaml"))
        .unwrap()
        .replace("inputs:\n", "inputs:\n  token: { type: string, secret: true, env: DIAG_TOKEN }\n");
    let rb = rb.replace("run: \"test -n \\\"$LIFEBOAT_TOKEN\\\"", "run: \"test -n \\\"${{ inputs.token }}\\\"");
    std::fs::write(dir.path().join("rb.yaml"), rb).unwrap();
    const KEY: &str = "diag-secret-key-0f9e8d7c6b5a";
    const SESSION: &str = "diag-session-token-1a2b3c4d5e6f";
    const TOKEN: &str = "diag-input-token-77aa88bb99cc";
    let mut env: Vec<(&'static str, String)> = moto
        .env_via(&proxy)
        .into_iter()
        .map(|(k, v)| if k == "AWS_SECRET_ACCESS_KEY" { (k, KEY.to_string()) } else { (k, v) })
        .collect();
    env.push(("AWS_SESSION_TOKEN", SESSION.into()));
    env.push(("DIAG_TOKEN", TOKEN.into()));
    env.push(("LIFEBOAT_LOG", "trace".into()));
    let (d, tt) = (dir.path().to_path_buf(), t.clone());
    let out = tokio::task::spawn_blocking(move || run_aws(env, &d, &tt)).await.unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let diag = std::fs::read_to_string(dir.path().join("run.diagnostics.log")).expect("the file beside the log");
    for want in [
        "aws_smithy_runtime",
        "CopyObject",
        "SlowDown",
        "step{id=restore kind=\"action\"}:S3.CopyObject",
        "run starting",
    ] {
        assert!(diag.contains(want), "{want} in the diagnostics:\n{}", &diag[..diag.len().min(4000)]);
    }
    assert!(diag.lines().any(|l| l.contains("attempt") && l.contains('2')), "a retry is visible");
    for secret in [KEY, SESSION, TOKEN] {
        assert!(!diag.contains(secret), "{secret} leaked into the diagnostics");
        assert!(!stderr.contains(secret), "{secret} on stderr");
    }
    assert!(!stderr.contains("aws_smithy_runtime") && !stderr.contains("TRACE"), "nothing on stderr: {stderr}");
    assert!(stderr.contains("diagnostics: run.diagnostics.log (not evidence"), "{stderr}");
}

impl Moto {
    pub async fn dynamodb(&self, region: &str) -> aws_sdk_dynamodb::Client {
        let creds = aws_sdk_dynamodb::config::Credentials::new("testing", "testing", None, None, "test");
        let conf = aws_sdk_dynamodb::config::Builder::new()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new(region.to_string()))
            .endpoint_url(&self.url)
            .credentials_provider(creds)
            .build();
        aws_sdk_dynamodb::Client::from_conf(conf)
    }
}

/// A table with point-in-time recovery on and a few profiles in it.
pub async fn profiles_table(db: &aws_sdk_dynamodb::Client, pitr: bool) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, PointInTimeRecoverySpecification,
        ScalarAttributeType,
    };
    db.create_table()
        .table_name("customer-profiles-prod")
        .attribute_definitions(
            AttributeDefinition::builder().attribute_name("id").attribute_type(ScalarAttributeType::S).build().unwrap(),
        )
        .key_schema(KeySchemaElement::builder().attribute_name("id").key_type(KeyType::Hash).build().unwrap())
        .billing_mode(BillingMode::PayPerRequest)
        .deletion_protection_enabled(true)
        .sse_specification(
            aws_sdk_dynamodb::types::SseSpecification::builder()
                .enabled(true)
                .sse_type(aws_sdk_dynamodb::types::SseType::Kms)
                .kms_master_key_id("arn:aws:kms:eu-central-1:123456789012:key/profiles")
                .build(),
        )
        .send()
        .await
        .unwrap();
    if pitr {
        db.update_continuous_backups()
            .table_name("customer-profiles-prod")
            .point_in_time_recovery_specification(
                PointInTimeRecoverySpecification::builder().point_in_time_recovery_enabled(true).build().unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    for i in 0..25 {
        db.put_item()
            .table_name("customer-profiles-prod")
            .item("id", AttributeValue::S(format!("customer-{i:03}")))
            .item("consent", AttributeValue::Bool(i % 3 != 0))
            .send()
            .await
            .unwrap();
    }
}

fn profiles_answers(incident_at: &str, restore_to: &str) -> String {
    format!(
        "inputs: {{ incident_at: \"{incident_at}\", restore_to: \"{restore_to}\" }}\nsteps:\n  roll-back-deploy: done\n  approve-restore: {{ approve: true, by: alice, role: incident-commander }}\n  verify: {{ skip: \"no item check in this test\" }}\n  reconcile: done\n  reopen: done\n  accept: {{ approve: true, by: dora, role: data-protection-officer }}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dynamodb_runbook_restores_a_table_to_a_point_in_time_beside_production() {
    let moto = Moto::start();
    let db = moto.dynamodb("eu-central-1").await;
    profiles_table(&db, true).await;
    // moto's window of restorable time is the instant recovery was turned on (real AWS:
    // from then to about five minutes ago): restore to that instant, to the nanosecond.
    let backups = db.describe_continuous_backups().table_name("customer-profiles-prod").send().await.unwrap();
    let latest = backups
        .continuous_backups_description()
        .and_then(|c| c.point_in_time_recovery_description())
        .and_then(|p| p.latest_restorable_date_time())
        .unwrap();
    let latest = lifeboat::runbook::time::Timestamp::new(latest.secs(), latest.subsec_nanos() as i32).unwrap();
    let restore_to = latest.to_string();
    let incident_at = lifeboat::runbook::time::format_timestamp(latest + jiff::SignedDuration::from_secs(2));
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let dir = examples();
    let answers = profiles_answers(&incident_at, &restore_to);
    let out = run_example(&moto, dir.path(), "customer-profiles-bad-deploy.yaml", &answers).await;
    let stderr = text(&out.stderr);
    // moto keeps no replica of a table in another region (it ignores ReplicaUpdates): the
    // posture finding stands on record (`passed: false`); the example gates only on
    // point-in-time recovery, so the restore runs and nothing fails.
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let log = std::fs::read_to_string(dir.path().join("run.jsonl")).unwrap();
    let posture = log.lines().find(|l| l.contains("\"type\":\"step_finished\",\"step\":\"posture\"")).unwrap();
    assert!(
        posture.contains("\"passed\":false")
            && posture.contains("no replica or backup copy in another region")
            && !posture.contains("customer-managed KMS key"),
        "{posture}"
    );
    assert_eq!(stderr.matches(" failed (").count(), 0, "{stderr}");
    assert!(stderr.contains("✓ pitr done") && stderr.contains("✓ active done"), "{stderr}");
    assert!(stderr.contains("of 15m (met)"), "{stderr}");
    let t = db.describe_table().table_name("customer-profiles-pitr").send().await.unwrap();
    let t = t.table().unwrap();
    assert_eq!(t.table_status().map(|s| s.as_str()), Some("ACTIVE"));
    let tags = db.list_tags_of_resource().resource_arn(t.table_arn().unwrap()).send().await.unwrap();
    assert!(tags.tags().iter().any(|t| t.key() == "lifeboat:step" && t.value() == "pitr"), "{tags:?}");
    let log = std::fs::read_to_string(dir.path().join("run.jsonl")).unwrap();
    assert!(log.contains("\"table\":\"customer-profiles-pitr\""), "{log}");

    // Run again under another run id: the table exists and is not this run's, so the
    // restore stops rather than adopting someone else's table.
    std::fs::remove_file(dir.path().join("run.jsonl")).unwrap();
    let out = run_example(&moto, dir.path(), "customer-profiles-bad-deploy.yaml", &answers).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("a table named `customer-profiles-pitr` already exists"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_without_point_in_time_recovery_fails_its_posture_gate_and_audit_says_why() {
    let moto = Moto::start();
    let db = moto.dynamodb("eu-central-1").await;
    profiles_table(&db, false).await;
    let now = lifeboat::runbook::time::format_timestamp(lifeboat::runbook::time::Timestamp::now());
    let dir = examples();
    let out = run_example(&moto, dir.path(), "customer-profiles-bad-deploy.yaml", &profiles_answers(&now, &now)).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // The example's gate on `pitr` makes the finding a stop (on_failure: continue goes on
    // to the restore, which refuses a table without point-in-time recovery).
    assert!(stderr.contains("✗ posture failed") && stderr.contains("gate `expect.outputs.pitr`"), "{stderr}");
    let log = std::fs::read_to_string(dir.path().join("run.jsonl")).unwrap();
    assert!(log.contains("point-in-time recovery is off"), "the finding is on record: {log}");
    assert!(stderr.contains("✗ pitr failed") && stderr.contains("point-in-time recovery is not enabled"), "{stderr}");
    assert!(db.describe_table().table_name("customer-profiles-pitr").send().await.is_err(), "nothing restored");

    let (env, d) = (moto.env(), dir.path().to_path_buf());
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_lifeboat"))
            .args(["audit", "--dir", ".", "--cloud", "aws", "customer-profiles"])
            .current_dir(&d)
            .env("NO_COLOR", "1")
            .envs(env)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = text(&out.stdout);
    let row = stdout
        .lines()
        .find(|l| l.starts_with("customer-profiles "))
        .unwrap_or_else(|| panic!("{stdout}{}", text(&out.stderr)));
    assert!(row.contains("✗"), "{row}");
}

/// A drill's restored instance left running is named by `audit`, with its age, the run
/// and the step that made it; once deleted, it is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_names_a_drill_instance_left_behind_until_it_is_deleted() {
    let moto = Moto::start();
    let rds = customers_with_nightly(&moto).await;
    let dir = tempfile::tempdir().unwrap();
    drill_folder(dir.path(), "");
    std::fs::create_dir(dir.path().join("incidents")).unwrap();
    let (env, d) = (moto.env(), dir.path().to_path_buf());
    let lifeboat_here = move |args: Vec<&'static str>| {
        let (env, d) = (env.clone(), d.clone());
        tokio::task::spawn_blocking(move || lifeboat_with(&env, &d, &args))
    };
    let run = lifeboat_here(vec![
        "run",
        "rb.yaml",
        "--headless",
        "--cloud",
        "aws",
        "--mode",
        "drill",
        "--answers",
        "answers.yaml",
        "--log",
        "incidents/drill.jsonl",
    ])
    .await
    .unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let audit = lifeboat_here(vec!["audit", "--dir", ".", "--incidents", "incidents", "--cloud", "aws"]).await.unwrap();
    let said = text(&audit.stdout);
    assert_eq!(audit.status.code(), Some(1), "{said}");
    assert!(
        said.contains("✗ drill leftover: rds-instance customers-drill in eu-central-1, made ")
            && said.contains("(step restore) and still there"),
        "{said}"
    );
    rds.delete_db_instance().db_instance_identifier("customers-drill").skip_final_snapshot(true).send().await.unwrap();
    let audit = lifeboat_here(vec!["audit", "--dir", ".", "--incidents", "incidents", "--cloud", "aws"]).await.unwrap();
    assert!(!text(&audit.stdout).contains("drill leftover"), "{}", text(&audit.stdout));
}

/// A signed drill against a local endpoint (moto here; a stray `AWS_ENDPOINT_URL` left in
/// a shell elsewhere) is never proof: the genesis names the endpoint, and neither the
/// evidence pack nor `list` counts it, whatever its signature.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_drill_against_a_local_endpoint_is_never_proof() {
    let moto = Moto::start();
    let _rds = customers_with_nightly(&moto).await;
    let dir = tempfile::tempdir().unwrap();
    drill_folder(dir.path(), "    drill_every: 90d\n");
    let key = crate::journal::keygen(dir.path());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    std::fs::write(dir.path().join("allowed_signers"), format!("ops@example {public}")).unwrap();
    std::fs::create_dir(dir.path().join("incidents")).unwrap();
    let (env, d, k) = (moto.env(), dir.path().to_path_buf(), key.to_str().unwrap().to_string());
    let here = move |args: Vec<String>| {
        let (env, d) = (env.clone(), d.clone());
        tokio::task::spawn_blocking(move || {
            lifeboat_with(&env, &d, &args.iter().map(String::as_str).collect::<Vec<_>>())
        })
    };
    let args = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    let run = here(
        [args("run rb.yaml --headless --cloud aws --mode drill --answers answers.yaml --log incidents/drill.jsonl --sign-key"), vec![k]]
            .concat(),
    )
    .await
    .unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let body = std::fs::read_to_string(dir.path().join("incidents/drill.jsonl")).unwrap();
    let genesis: serde_json::Value = serde_json::from_str(body.lines().next().unwrap()).unwrap();
    assert_eq!(genesis["endpoint"].as_str(), Some(moto.url.as_str()), "{genesis}");

    let out = here(args("evidence --dir . --incidents incidents --out pack")).await.unwrap();
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("0 counted, 0 proven drill(s)"), "{said}");
    let pack: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("pack/evidence.json")).unwrap()).unwrap();
    let run = &pack["datasets"][0]["runs"][0];
    assert_eq!((run["counts"].as_bool(), run["proves_restore"].as_bool()), (Some(false), Some(false)), "{run:#}");
    assert!(run["not_counted_because"].as_str().unwrap().contains(&moto.url), "{run:#}");
    assert!(pack["datasets"][0]["overdue"].is_string(), "a drill is still due: {pack:#}");

    let list = here(args("list --dir . --incidents incidents")).await.unwrap();
    let row = text(&list.stdout).lines().find(|l| l.starts_with("drill")).map(str::to_string).unwrap_or_default();
    assert!(row.contains("never"), "list counts no drill: {}", text(&list.stdout));
}

/// A folder for a restore drill of `customers` on moto: the catalog (with `extra` lines
/// in the dataset), a runbook restoring `nightly` into `customers-drill`, its answers.
fn drill_folder(dir: &Path, extra: &str) {
    std::fs::write(
        dir.join("datasets.yaml"),
        format!("apiVersion: lifeboat/v1\nkind: DatasetCatalog\ndatasets:\n  - id: customers\n    title: Customers\n    classification: confidential\n    rpo: 15m\n    rto: 4h\n{extra}    primary: {{ region: eu-central-1, account: \"{MOTO_ACCOUNT}\" }}\n    resources:\n      - {{ kind: rds-instance, id: customers-prod, role: production }}\n      - {{ kind: rds-instance, id: customers-drill, role: drill }}\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("rb.yaml"),
        "apiVersion: lifeboat/v1\nkind: Runbook\nid: drill\ntitle: Drill\ndataset: customers\nscenario: drill\nphases:\n  - id: restore\n    title: Restore\n    budget: 1h\n    steps:\n      - { id: restore, title: Restore, action: rds.restore_from_snapshot, with: { snapshot: nightly, new_instance: customers-drill } }\n  - id: teardown\n    title: Teardown\n    budget: 10m\n    steps:\n      - { id: teardown, title: Delete it, manual: Delete customers-drill. }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("answers.yaml"),
        "apiVersion: lifeboat/v1\nkind: Answers\noperator: ci\nsteps:\n  teardown: done\n",
    )
    .unwrap();
}

/// A posture check reports, a gate decides: a bucket without versioning is a finding
/// (`passed: false`, the findings named) and the steps after it still run; with a gate
/// on `passed` the same finding stops the run there, naming the gate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weak_posture_is_reported_and_only_a_gate_makes_it_a_stop() {
    let moto = Moto::start();
    let s3 = moto.s3().await;
    bucket(&s3, "plain-bucket", false).await;
    let after = "      - { id: after, title: After, run: \"echo ran > effects\" }\n";
    for (gate, code) in [("", 0), (", expect: { outputs: { passed: true } }", 1)] {
        let dir = folder(&format!(
            "      - {{ id: posture, title: Posture, action: s3.check_posture, with: {{ bucket: plain-bucket }}{gate} }}\n{after}"
        ));
        let t = lifeboat::runbook::time::format_timestamp(lifeboat::runbook::time::Timestamp::now());
        let (env, d) = (moto.env(), dir.path().to_path_buf());
        let out = tokio::task::spawn_blocking(move || run_aws(env, &d, &t)).await.unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{gate}: {stderr}");
        let log = std::fs::read_to_string(dir.path().join("run.jsonl")).unwrap();
        let finished = log.lines().find(|l| l.contains("\"type\":\"step_finished\",\"step\":\"posture\"")).unwrap();
        assert!(finished.contains("\"passed\":false") && finished.contains("versioning"), "{finished}");
        if code == 0 {
            assert!(finished.contains("\"status\":\"done\""), "a weak posture is no failed step: {finished}");
            assert!(dir.path().join("effects").exists(), "the step after it ran");
        } else {
            assert!(stderr.contains("gate `expect.outputs.passed`: expected true, got false"), "{stderr}");
            assert!(!dir.path().join("effects").exists(), "nothing ran past the gate");
        }
    }
}

/// Isolation is judged where the backup was found, not from the catalog's word: a backup
/// bucket the catalog names in another region and account that does not exist is never
/// `✓ isolated`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_never_calls_a_backup_isolated_that_it_could_not_find() {
    let moto = Moto::start();
    let s3 = moto.s3().await;
    bucket(&s3, "orders-docs-prod", true).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("datasets.yaml"),
        format!("apiVersion: lifeboat/v1\nkind: DatasetCatalog\ndatasets:\n  - id: statements\n    title: Statements\n    classification: confidential\n    rpo: 1h\n    rto: 2h\n    primary: {{ region: eu-central-1, account: \"{MOTO_ACCOUNT}\" }}\n    backup: {{ region: eu-west-1, account: \"444444444444\" }}\n    resources:\n      - {{ kind: s3-bucket, id: orders-docs-prod, role: production }}\n      - {{ kind: s3-bucket, id: statements-vault, role: backup, region: eu-west-1 }}\n"),
    )
    .unwrap();
    let (env, d) = (moto.env(), dir.path().to_path_buf());
    let out = tokio::task::spawn_blocking(move || lifeboat_with(&env, &d, &["audit", "--dir", ".", "--cloud", "aws"]))
        .await
        .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    let row = stdout.lines().find(|l| l.starts_with("statements ")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(!row.contains("✓ eu-west-1"), "{row}");
    assert!(row.contains("✗ the backup could not be checked") && row.contains("statements-vault"), "{row}");
}

/// Issue 29 (4): a secret the SDK writes URL-encoded (a prefix) never reaches the trace
/// diagnostics in any encoding: `%2F`, `%2f`, `%20`, `+` for a space.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_in_a_url_never_reaches_the_diagnostics_in_any_encoding() {
    let moto = Moto::start();
    let s3 = moto.s3().await;
    bucket(&s3, "orders-docs-prod", true).await;
    let secret = "abc def/ghij+kl";
    put(&s3, "orders-docs-prod", &format!("{secret}/a.pdf"), body(1)).await;
    let dir = folder("");
    let rb = std::fs::read_to_string(dir.path().join("rb.yaml"))
        .unwrap()
        .replace("inputs:\n", "inputs:\n  pw: { type: string, secret: true, env: RB_PW }\n")
        + "      - { id: copy, title: Copy, action: s3.copy_prefix, with: { from: { bucket: orders-docs-prod, prefix: \"${{ inputs.pw }}/\" }, to: { bucket: orders-docs-prod, prefix: \"copy/\" } } }\n";
    std::fs::write(dir.path().join("rb.yaml"), rb).unwrap();
    let mut env = moto.env();
    env.push(("LIFEBOAT_LOG", "trace".into()));
    env.push(("RB_PW", secret.into()));
    let d = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || run_aws(env, &d, "2026-11-24T03:00:00Z")).await.unwrap();
    let stderr = text(&out.stderr);
    assert!(stderr.contains("✓ copy done"), "{stderr}");
    let trace = std::fs::read_to_string(dir.path().join("run.diagnostics.log")).unwrap();
    assert!(trace.contains("[redacted]"), "the trace never showed the prefix: {}", &trace[..trace.len().min(2000)]);
    for form in
        ["abc def/ghij+kl", "abc%20def%2Fghij%2Bkl", "abc%20def%2fghij%2bkl", "abc+def%2Fghij%2Bkl", "def%2Fghij"]
    {
        assert!(!trace.contains(form), "`{form}` is in the diagnostics");
    }
    assert!(!std::fs::read_to_string(dir.path().join("run.jsonl")).unwrap().contains("ghij"), "in the log");
}
