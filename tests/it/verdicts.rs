//! A run says "succeeded" and "met" only when it is true: gates, RTO verdicts at the
//! milestone, approvals that cannot be waved through, flags a command cannot honour,
//! times that cannot be, and the rehearsal clock. Each drives the real binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::run::{answers, folder, lifeboat_in, runbook};
use crate::{root, text};

/// The example runbooks, copied so a test's logs stay out of the repo.
fn examples() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let copy = Command::new("cp").arg("-r").arg(root().join("runbooks")).arg(dir.path()).status().unwrap();
    assert!(copy.success());
    dir
}

/// The same, with `scripts/demo-approvals` run in it: the four-eyes examples' signed
/// standing approvals, and a demo trust root beside the catalog. `ops`, a key it also
/// names, signs the runs whose reports are read (with a trust root, an unsigned log
/// vouches for nothing).
fn examples_with_approvals() -> (tempfile::TempDir, PathBuf) {
    let dir = examples();
    let runbooks = dir.path().join("runbooks");
    crate::demo_approvals(&runbooks);
    let home = dir.path().join("ops");
    std::fs::create_dir(&home).unwrap();
    let key = crate::journal::keygen(&home);
    let trust = runbooks.join("allowed_signers");
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let before = std::fs::read_to_string(&trust).unwrap();
    std::fs::write(&trust, format!("{before}ops@example {public}")).unwrap();
    (dir, key)
}

/// `run RUNBOOK --headless --cloud sim` of an example with an answers file of its own.
fn replay(dir: &Path, example: &str, answers_yaml: &str, extra: &[&str]) -> (Option<i32>, String, PathBuf) {
    // Beside the examples' own answers, where `runbook:` finds its runbook.
    let answers = dir.join(format!("runbooks/answers/{example}-{}.yaml", fastrand::u64(..)));
    std::fs::write(&answers, answers_yaml).unwrap();
    let log = dir.join(format!("{example}-{}.jsonl", fastrand::u64(..)));
    let rb = format!("runbooks/{example}.yaml");
    let mut args = vec![
        "run",
        &rb,
        "--headless",
        "--cloud",
        "sim",
        "--answers",
        answers.to_str().unwrap(),
        "--log",
        log.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = lifeboat_in(dir, &args, &[]);
    (out.status.code(), text(&out.stderr), log)
}

/// `run RB --headless --cloud sim --speed N --log LOG` of a one-off runbook.
fn sim_run(dir: &Path, rb: &Path, speed: &str, log: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["--speed", speed];
    args.extend_from_slice(extra);
    let out = crate::run::replay(dir, rb, log, &args, &[]);
    (out.status.code(), text(&out.stderr))
}

fn example_answers(example: &str) -> String {
    std::fs::read_to_string(root().join(format!("runbooks/answers/{example}.yaml"))).unwrap()
}

fn report(dir: &Path, log: &Path, format: &str) -> (Option<i32>, String) {
    let out = lifeboat_in(dir, &["report", log.to_str().unwrap(), "--format", format], &[]);
    (out.status.code(), text(&out.stdout))
}

#[test]
fn every_example_validates_strictly_and_passes_its_own_gates_on_the_sim() {
    let (dir, _) = examples_with_approvals();
    let out = lifeboat_in(dir.path(), &["validate", "--deny-warnings", "runbooks"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for ex in crate::example_runbooks() {
        let ex = ex.as_str();
        let (code, stderr, log) = replay(dir.path(), ex, &example_answers(ex), &[]);
        assert_eq!(code, Some(0), "{ex}: {stderr}");
        assert!(stderr.contains(&format!("{ex} succeeded: RTO")) && stderr.contains("(met)"), "{ex}: {stderr}");
        assert!(!stderr.contains("GateFailed"), "{ex}: {stderr}");
        let body = std::fs::read_to_string(&log).unwrap();
        assert!(!body.contains("\"status\":\"failed\""), "{ex}: no step failed");
    }
    // The examples do hold gates: the runbooks name them.
    let gates: usize = crate::example_runbooks()
        .iter()
        .map(|ex| {
            let y = std::fs::read_to_string(root().join(format!("runbooks/{ex}.yaml"))).unwrap();
            y.matches("expect: { outputs:").count() + y.matches("assert:").count()
        })
        .sum();
    assert!(gates >= 8, "the examples hold {gates} gates");
}

#[test]
fn the_kyc_restore_with_a_document_missing_fails_at_its_gate_whatever_the_answers_say() {
    let (dir, key) = examples_with_approvals();
    // The seeded defect: the copy never happens, so the vault's documents are missing
    // from production. The manual review is still answered `done`.
    let answers = example_answers("kyc-documents-prefix-deletion")
        .replace("  record: done", "  record: done\n  copy: { skip: \"seeded defect: nothing copied\" }");
    let (code, stderr, log) =
        replay(dir.path(), "kyc-documents-prefix-deletion", &answers, &["--sign-key", key.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("gate `expect.outputs.missing`: expected 0, got 100"), "{stderr}");
    assert!(stderr.contains("kyc-documents-prefix-deletion failed"), "{stderr}");
    assert!(stderr.contains("RTO not met: service not restored after"), "{stderr}");
    let body = std::fs::read_to_string(&log).unwrap();
    assert!(!body.contains("\"step\":\"review\",\"waiting_for\""), "nothing after the failed gate asks anyone");
    let (code, md) = report(dir.path(), &log, "md");
    assert_eq!(code, Some(0));
    assert!(md.starts_with("# kyc-documents-prefix-deletion — failed, RTO not met"), "{md}");
}

#[test]
fn a_ransomware_roll_back_that_left_work_undone_fails_its_check() {
    let dir = examples();
    // The seeded defect: the roll-back is skipped; the later dry run still finds work.
    let answers = example_answers("orders-docs-ransomware")
        .replace("steps:\n", "steps:\n  restore: { skip: \"seeded defect\" }\n");
    let (code, stderr, _) = replay(dir.path(), "orders-docs-ransomware", &answers, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("gate `expect.outputs.restored`: expected 0, got 140"), "{stderr}");
}

#[test]
fn a_drill_that_fails_before_its_milestone_does_not_meet_its_rto_anywhere() {
    let dir = examples();
    let injects = dir.path().join("injects.yaml");
    std::fs::write(
        &injects,
        "apiVersion: lifeboat/v1\nkind: Injects\ninjects:\n  - { action: rds.wait_available, error: InvalidDBInstanceState, times: 5 }\n",
    )
    .unwrap();
    let junit = dir.path().join("drill.xml");
    let (code, stderr, log) = replay(
        dir.path(),
        "customers-db-quarterly-drill",
        &example_answers("customers-db-quarterly-drill"),
        &["--injects", injects.to_str().unwrap(), "--junit", junit.to_str().unwrap()],
    );
    assert_eq!(code, Some(1), "{stderr}");
    // 1. the summary line
    assert!(
        stderr.contains("customers-db-quarterly-drill failed: RTO not met: service not restored after"),
        "{stderr}"
    );
    assert!(!stderr.contains("(met)") || stderr.contains("RPO"), "{stderr}");
    // 2. the Markdown report and its heading
    let (_, md) = report(dir.path(), &log, "md");
    assert!(md.starts_with("# customers-db-quarterly-drill — failed, RTO not met"), "{md}");
    assert!(md.contains("| RTO | 4h |") && md.contains("**not met: service not restored**"), "{md}");
    // 3. the JSON report
    let (_, json) = report(dir.path(), &log, "json");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["rto_met"], serde_json::Value::Bool(false), "{json}");
    assert_eq!(v["service_restored"], serde_json::Value::Bool(false), "{json}");
    // 4. the JUnit objective test
    let xml = std::fs::read_to_string(&junit).unwrap();
    let rto = xml.split("<testcase").find(|c| c.contains("name=\"objective RTO\"")).unwrap();
    assert!(rto.contains("<failure") && rto.contains("not met: service not restored"), "{rto}");
}

#[test]
fn a_report_never_says_succeeded_for_a_missed_objective_or_a_tampered_log() {
    let ok = "      - { id: a, title: A, wait: 2h }\n";
    let (dir, rb) = folder(&runbook("1h", "  x: { type: string, default: y }\n", ok));
    let log = dir.path().join("late.jsonl");
    let (code, stderr) = sim_run(dir.path(), &rb, "10000", &log, &[]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("(not met: 1h") && stderr.contains("over)"), "how far over: {stderr}");
    let (code, md) = report(dir.path(), &log, "md");
    assert_eq!(code, Some(0));
    assert!(md.starts_with("# rb — finished, RTO not met"), "{md}");
    // Tampered: one byte of a step's line changed.
    let body = std::fs::read_to_string(&log).unwrap().replacen("\"wait\"", "\"wa1t\"", 1);
    let body = if body.contains("wa1t") { body } else { body.replacen("\"step\":\"a\"", "\"step\":\"b\"", 1) };
    std::fs::write(&log, body).unwrap();
    let (code, md) = report(dir.path(), &log, "md");
    assert_eq!(code, Some(1), "a report of a tampered log fails");
    assert!(md.starts_with("# rb — LOG DOES NOT VERIFY"), "{md}");
    assert!(!md.lines().next().unwrap().contains("succeeded"));
}

#[test]
fn an_approval_by_the_wrong_role_or_by_the_operator_under_four_eyes_stops_the_run() {
    let (dir, _) = examples_with_approvals();
    let runbooks = dir.path().join("runbooks");
    let keys = runbooks.join(".demo-keys");
    // Bob is an incident commander, not the data-protection officer the step needs.
    crate::standing(
        dir.path(),
        &runbooks.join("kyc-documents-prefix-deletion.yaml"),
        "dpo",
        &keys.join("bob"),
        &runbooks.join("answers/approvals/bob-dpo.json"),
    );
    let base = example_answers("kyc-documents-prefix-deletion");
    let signed = "{ signed: approvals/kyc-documents-prefix-deletion-dpo.json }";
    for (operator, approval, why) in [
        (
            "ci-drill",
            "{ approve: true, by: dora, role: data-protection-officer }",
            "dora is a typed name, and `dpo` needs signed approvals (four eyes)",
        ),
        ("ci-drill", "{ signed: approvals/bob-dpo.json }", "does not hold the role `data-protection-officer`"),
        ("dora@example.com", signed, "dora@example.com runs this incident: four eyes needs someone else"),
        (
            "ci-drill",
            "{ approve: false, by: dora, role: data-protection-officer, reason: not yet }",
            "denied by dora: not yet",
        ),
    ] {
        let answers = base.replace(signed, approval).replace("operator: ci-drill", &format!("operator: {operator}"));
        assert!(answers.contains(approval), "{answers}");
        let (code, stderr, log) = replay(dir.path(), "kyc-documents-prefix-deletion", &answers, &[]);
        assert_eq!(code, Some(1), "{approval}: {stderr}");
        let body = std::fs::read_to_string(&log).unwrap();
        assert!(stderr.contains(why) || body.contains(why), "{approval}: {stderr}");
        assert!(!body.contains("\"step\":\"copy\""), "{approval}: nothing past the approval ran");
    }
}

#[test]
fn two_approvers_must_be_two_people() {
    let steps = "      - { id: go, title: Go, approval: { role: ic, approvers: 2 } }\n      - { id: a, title: A, run: \"true\" }\n";
    let (dir, rb, [_, dana, erik]) = crate::proof::people(steps);
    for (who, key) in [("dana", &dana), ("erik", &erik)] {
        crate::standing(dir.path(), &rb, "go", key, &dir.path().join(format!("{who}.json")));
    }
    let run = |body: &str| {
        let ans = answers(dir.path(), body);
        let log = dir.path().join(format!("{}.jsonl", fastrand::u64(..)));
        sim_run(dir.path(), &rb, "100", &log, &["--answers", ans.to_str().unwrap()])
    };
    let (code, stderr) = run("steps:\n  go: { signed: dana.json }\n");
    assert_eq!(code, Some(2), "validate refuses one answer for two approvers: {stderr}");
    assert!(stderr.contains("needs 2 different approvers; the answers name 1"), "{stderr}");
    let (code, stderr) = run("steps:\n  go:\n    - { signed: dana.json }\n    - { signed: dana.json }\n");
    assert_eq!(code, Some(1), "the same key twice is one approver: {stderr}");
    assert!(stderr.contains("has already approved `go` with this key"), "{stderr}");
    // Two typed names are two claims, not two people.
    let (code, stderr) =
        run("steps:\n  go:\n    - { approve: true, by: ann, role: ic }\n    - { approve: true, by: bob, role: ic }\n");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("ann is a typed name, and `go` needs signed approvals (2 approvers)"), "{stderr}");
    let (code, stderr) = run("steps:\n  go:\n    - { signed: dana.json }\n    - { signed: erik.json }\n");
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn flags_a_command_cannot_honour_are_refused_before_anything_runs() {
    let dir = examples();
    let rb = "runbooks/orders-docs-ransomware.yaml";
    for (args, says) in [
        (vec!["tabletop", rb, "--mode", "drill"], "cannot be a drill run"),
        (vec!["tabletop", rb, "--mode", "live"], "cannot be a live run"),
        (vec!["tabletop", rb, "--cloud", "aws"], "runs on the simulated cloud"),
        (vec!["tabletop", rb, "--speed", "0"], "--speed"),
        (vec!["tabletop", rb, "--speed", "1000000"], "--speed"),
        (vec!["run", rb, "--cloud", "aws", "--speed", "60"], "a run against AWS keeps real time"),
        (vec!["run", rb, "--cloud", "sim", "--account-mismatch-ok"], "the simulated cloud has none"),
    ] {
        let mut all = args.clone();
        all.extend(["--headless", "--log", "never.jsonl"]);
        let out = lifeboat_in(dir.path(), &all, &[]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!dir.path().join("never.jsonl").exists(), "{args:?}: nothing ran");
    }
}

#[test]
fn an_incident_in_the_future_is_refused_and_a_restore_after_it_is_named() {
    let dir = examples();
    let future = lifeboat::runbook::time::format_timestamp(
        lifeboat::runbook::time::Timestamp::now().checked_add(jiff::SignedDuration::from_hours(24 * 30)).unwrap(),
    );
    let answers = example_answers("orders-docs-ransomware").replace("2026-11-24T03:00:00Z", &future);
    assert!(answers.contains(&future));
    let (code, stderr, log) = replay(dir.path(), "orders-docs-ransomware", &answers, &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("is in the future"), "{stderr}");
    assert!(!log.exists(), "nothing ran");
    // A point-in-time restore to after the first bad write brings the damage back: said.
    let answers = example_answers("customers-db-corruption")
        .replace("restore_to: \"2026-11-24T02:13:00Z\"", "restore_to: \"2026-11-24T02:14:10Z\"");
    assert!(answers.contains("02:14:10Z"), "{answers}");
    let (code, stderr, _) = replay(dir.path(), "customers-db-corruption", &answers, &[]);
    assert!(stderr.contains("`pitr` restores to 2026-11-24T02:14:10Z, after the incident began"), "{stderr}");
    assert_eq!(code, Some(1), "and its gate fails the step: {stderr}");
}

#[test]
fn a_real_command_takes_real_time_on_a_fast_clock() {
    let steps = "      - { id: a, title: A, run: \"sleep 1\" }\n";
    let (dir, rb) = folder(&runbook("1h", "  x: { type: string, default: y }\n", steps));
    let log = dir.path().join("run.jsonl");
    let (code, stderr) = sim_run(dir.path(), &rb, "600", &log, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    let body = std::fs::read_to_string(&log).unwrap();
    let finished = body.lines().find(|l| l.contains("\"type\":\"step_finished\"")).unwrap();
    let v: serde_json::Value = serde_json::from_str(finished).unwrap();
    let ms = v["duration_ms"].as_u64().unwrap();
    assert!((1000..60_000).contains(&ms), "a one-second command took {ms} ms of the run's clock, not 10 minutes");
}

#[test]
fn data_brought_back_from_after_a_corruption_began_is_said_to_be_suspect() {
    let rb = "apiVersion: lifeboat/v1\nkind: Runbook\nid: rb\ntitle: RB\ndataset: ledger\nscenario: corruption\ninputs:\n  incident_at: { type: timestamp }\nphases:\n  - id: p\n    title: P\n    budget: 1h\n    steps:\n      - { id: triage, title: Triage, wait: 10m }\n      - { id: pitr, title: PITR, action: rds.restore_to_time, with: { instance: ledger-prod, new_instance: ledger-pitr, latest: true } }\n";
    let (dir, rb) = folder(rb);
    let ans = answers(dir.path(), "inputs: { incident_at: \"2026-11-24T03:00:00Z\" }\n");
    let log = dir.path().join("run.jsonl");
    let (code, stderr) = sim_run(dir.path(), &rb, "600", &log, &["--answers", ans.to_str().unwrap()]);
    // The latest restorable time trails the run's clock, which is past the incident.
    assert!(
        stderr.contains("`pitr` brought back data from")
            && stderr
                .contains("after the incident began at 2026-11-24T03:00:00.000Z: it may include what the incident did"),
        "{stderr}"
    );
    assert!(std::fs::read_to_string(&log).unwrap().contains("\"code\":\"recovery_point_after_incident\""));
    // The step did its work; the run's RPO is not met unless someone accepts the data
    // (an approval after the restore): exit 3, never `(met)`.
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("RPO not met: a recovery point is after the incident began"), "{stderr}");
    assert!(stderr.contains("✓ pitr done"), "the step itself did not fail: {stderr}");
}

#[test]
fn every_example_fails_when_its_recovery_fails() {
    let (dir, _) = examples_with_approvals();
    for (ex, action) in [
        ("orders-docs-ransomware", "s3.restore_to_time"),
        ("kyc-documents-prefix-deletion", "s3.copy_prefix"),
        ("customers-db-quarterly-drill", "rds.restore_to_time"),
        ("customers-db-region-outage", "rds.promote_replica"),
        ("customers-db-corruption", "rds.restore_to_time"),
    ] {
        let injects = dir.path().join(format!("{ex}-injects.yaml"));
        std::fs::write(
            &injects,
            format!("apiVersion: lifeboat/v1\nkind: Injects\ninjects:\n  - {{ action: {action}, error: AccessDenied, times: 10 }}\n"),
        )
        .unwrap();
        let (code, stderr, _) = replay(dir.path(), ex, &example_answers(ex), &["--injects", injects.to_str().unwrap()]);
        assert_eq!(code, Some(1), "{ex}: {stderr}");
        assert!(stderr.contains("AccessDenied") && stderr.contains(&format!("{ex} failed")), "{ex}: {stderr}");
        assert!(!stderr.contains("(met), RPO") || stderr.contains("RTO not met"), "{ex}: {stderr}");
    }
}

#[test]
fn a_run_with_nobody_named_as_operator_is_refused() {
    let (dir, rb) =
        folder(&runbook("1h", "  x: { type: string, default: y }\n", "      - { id: a, title: A, run: \"true\" }\n"));
    let log = dir.path().join("run.jsonl");
    let out = crate::run::replay(dir.path(), &rb, &log, &[], &[("LIFEBOAT_OPERATOR", " "), ("USER", "")]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("nobody is named as the operator"), "{stderr}");
    assert!(!log.exists(), "no log names `unknown`");
}

#[test]
fn the_report_lists_what_each_step_recorded() {
    let dir = examples();
    let ex = "orders-docs-ransomware";
    let (code, stderr, log) = replay(dir.path(), ex, &example_answers(ex), &[]);
    assert_eq!(code, Some(0), "{stderr}");
    let (_, md) = report(dir.path(), &log, "md");
    assert!(md.contains("## Outputs"), "{md}");
    assert!(md.contains("| restore | newer_keys | README-RESTORE-YOUR-FILES.txt |"), "the ransom note to review: {md}");
    assert!(md.contains("| posture | versioning | Enabled |"), "{md}");
}

/// One verdict everywhere: a run that finished past its RTO is `finished, RTO not met` in
/// the closing line, the progress line, every report format and JUnit, and exits 3;
/// `succeeded` is said nowhere.
#[test]
fn a_missed_rto_is_never_called_succeeded_anywhere() {
    let (dir, rb) =
        folder(&runbook("1h", "  x: { type: string, default: y }\n", "      - { id: a, title: A, wait: 2h }\n"));
    let log = dir.path().join("late.jsonl");
    let junit = dir.path().join("late.xml");
    let (code, stderr) = sim_run(dir.path(), &rb, "10000", &log, &["--junit", junit.to_str().unwrap()]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("rb finished, RTO not met: RTO 2h"), "the closing line: {stderr}");
    assert!(stderr.contains("■ run finished, RTO not met"), "the progress line: {stderr}");
    assert!(!stderr.contains("succeeded"), "{stderr}");
    let (code, md) = report(dir.path(), &log, "md");
    assert_eq!(code, Some(0));
    let heading = md.lines().next().unwrap();
    assert!(heading.starts_with("# rb — finished, RTO not met (") && heading.ends_with(" over)"), "{heading}");
    let (_, json) = report(dir.path(), &log, "json");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!((v["status"].as_str(), v["rto_met"].as_bool()), (Some("missed"), Some(false)), "{json}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    let rto = xml.split("<testcase").find(|c| c.contains("name=\"objective RTO\"")).unwrap();
    assert!(rto.contains("<failure"), "{rto}");
    for (what, text) in [("md", &md), ("json", &json), ("junit", &xml)] {
        assert!(!text.contains("succeeded"), "{what}: {text}");
    }
}

/// A restore that brought back data from after the incident began is never `met`, nor
/// `0ms` lost: the data may include the damage. The run exits 3 unless an approval after
/// the restore accepts it, and the acceptance is on record.
#[test]
fn a_recovery_point_after_the_incident_began_is_not_met_unless_someone_accepts_it() {
    let restore = "      - { id: restore, title: Restore, action: rds.restore_to_time, with: { instance: ledger-prod, new_instance: ledger-pitr, latest: true } }\n";
    let make = |steps: &str| {
        format!(
            "apiVersion: lifeboat/v1\nkind: Runbook\nid: rb\ntitle: RB\ndataset: ledger\nscenario: corruption\nobjectives: {{ rto: 4h, rpo: 15m }}\ninputs:\n  incident_at: {{ type: timestamp }}\nphases:\n  - id: p\n    title: P\n    budget: 2h\n    steps:\n{steps}"
        )
    };
    let (dir, rb) = folder(&make(restore));
    let hour_ago =
        lifeboat::runbook::time::Timestamp::now().checked_sub(jiff::SignedDuration::from_secs(3600)).unwrap();
    let ans = answers(dir.path(), &format!("inputs: {{ incident_at: \"{hour_ago}\" }}\n"));
    let log = dir.path().join("late-rp.jsonl");
    let (code, stderr) = sim_run(dir.path(), &rb, "600", &log, &["--answers", ans.to_str().unwrap()]);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("RPO not met: a recovery point is after the incident began"), "{stderr}");
    assert!(!stderr.contains("RPO 0ms") && !stderr.contains("succeeded"), "{stderr}");
    let (_, json) = report(dir.path(), &log, "json");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!((v["status"].as_str(), v["rpo_met"].as_bool()), (Some("missed"), Some(false)), "{json}");

    // With an approval after the restore, the data protection officer accepts it.
    std::fs::write(
        &rb,
        make(&format!(
            "{restore}      - {{ id: accept, title: Accept data from after the incident, approval: {{ role: dpo }} }}\n"
        )),
    )
    .unwrap();
    let ans = answers(
        dir.path(),
        &format!(
            "inputs: {{ incident_at: \"{hour_ago}\" }}\nsteps:\n  accept: {{ approve: true, by: dora, role: dpo }}\n"
        ),
    );
    let log = dir.path().join("accepted.jsonl");
    let (code, stderr) = sim_run(dir.path(), &rb, "600", &log, &["--answers", ans.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("a recovery point after the incident began, accepted by dora (approval `accept`)"),
        "{stderr}"
    );
    let body = std::fs::read_to_string(&log).unwrap();
    assert!(body.contains("\"code\":\"recovery_point_accepted\""), "{body}");
}

/// Issue 29 (9): a drill proves the backup; it never changes it. Rolling the backup
/// bucket back in place under `--mode drill` is refused at the step, exit 1, and nothing
/// is restored.
#[test]
fn a_drill_never_writes_to_the_backup_it_proves() {
    let (dir, _) = examples_with_approvals();
    let rb = dir.path().join("runbooks/backup-in-place.yaml");
    std::fs::write(
        &rb,
        "apiVersion: lifeboat/v1\nkind: Runbook\nid: backup-in-place\ntitle: Roll the backup back in place\ndataset: orders-docs\nscenario: drill\ninputs:\n  incident_at: { type: timestamp }\nphases:\n  - id: p\n    title: P\n    budget: 1h\n    steps:\n      - { id: plan, title: Plan, action: s3.restore_to_time, with: { bucket: orders-docs-backup, region: eu-west-1, time: \"${{ inputs.incident_at }}\", dry_run: true } }\n      - { id: restore, title: Restore, action: s3.restore_to_time, with: { bucket: orders-docs-backup, region: eu-west-1, time: \"${{ inputs.incident_at }}\" } }\n",
    )
    .unwrap();
    let ans = dir.path().join("runbooks/answers/backup-in-place.yaml");
    std::fs::write(&ans, "apiVersion: lifeboat/v1\nkind: Answers\nrunbook: backup-in-place\noperator: ci\ninputs: { incident_at: \"2026-11-24T03:00:00Z\" }\n").unwrap();
    let log = dir.path().join("drill.jsonl");
    let (code, stderr) =
        sim_run(dir.path(), &rb, "600", &log, &["--mode", "drill", "--answers", ans.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("✓ plan done"), "a dry run changes nothing and may run: {stderr}");
    assert!(
        stderr.contains("a drill may not write to `orders-docs-backup`: it is a backup resource of `orders-docs`"),
        "{stderr}"
    );
    let written = std::fs::read_to_string(log).unwrap();
    let restore = written
        .lines()
        .find(|l| l.contains("\"type\":\"step_finished\"") && l.contains("\"step\":\"restore\""))
        .unwrap_or_else(|| panic!("the restore step never ended: {written}"));
    assert!(restore.contains("\"status\":\"failed\"") && restore.contains("DrillGuard"), "{restore}");
}
