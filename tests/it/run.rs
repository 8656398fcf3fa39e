//! `lifeboat run` and `tabletop` as a CI job drives them: exit codes, answers, secrets,
//! resume, and a crash at any moment.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::{root, text};

/// A runbook folder of its own: the test catalog and one runbook.
pub(crate) fn folder(runbook: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("datasets.yaml"), crate::engine::CATALOG).unwrap();
    let path = dir.path().join("rb.yaml");
    std::fs::write(&path, runbook).unwrap();
    (dir, path)
}

pub(crate) fn runbook(rto: &str, inputs: &str, steps: &str) -> String {
    format!(
        "apiVersion: lifeboat/v1\nkind: Runbook\nid: rb\ntitle: RB\ndataset: shop-docs\nscenario: other\nobjectives: {{ rto: {rto} }}\ninputs:\n{inputs}phases:\n  - id: p\n    title: P\n    budget: 30m\n    steps:\n{steps}"
    )
}

pub(crate) fn answers(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("answers.yaml");
    std::fs::write(&path, format!("apiVersion: lifeboat/v1\nkind: Answers\noperator: ci\n{body}")).unwrap();
    path
}

/// `lifeboat run RB --headless --cloud sim --log LOG EXTRA…` in `dir`, with a deadline.
pub(crate) fn replay(dir: &Path, rb: &Path, log: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut args = vec!["run", rb.to_str().unwrap(), "--headless", "--cloud", "sim", "--log", log.to_str().unwrap()];
    args.extend_from_slice(extra);
    lifeboat_in(dir, &args, env)
}

/// Runs the real binary with a deadline: a headless run must never hang.
pub(crate) fn lifeboat_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        // Someone runs every run (the machine may have no $USER); a test says who.
        .env("LIFEBOAT_OPERATOR", "ci")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    finish_within(child, 60, &format!("lifeboat {args:?}"))
}

/// The child's output once it exits, its pipes drained meanwhile (a run that prints more
/// than a pipe holds must not look hung because nobody read it); past `secs`, it is
/// killed and the test fails naming `what`.
pub(crate) fn finish_within(child: std::process::Child, secs: u64, what: &str) -> Output {
    let pid = child.id().to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid]).status();
            panic!("{what} hung")
        }
    }
}

#[test]
fn exit_codes_say_how_the_run_went() {
    let ok = "      - { id: a, title: A, run: \"true\" }\n";
    let (dir, rb) = folder(&runbook("1h", "  x: { type: string, default: y }\n", ok));
    // Objectives are measured on the virtual clock, where a stall of the loaded test
    // machine counts N times: runs that must meet them use a modest speed.
    let run = |rb: &Path, extra: &[&str]| {
        let speed = if extra.contains(&"--speed") { vec![] } else { vec!["--speed", "100"] };
        let mut args = vec!["run", rb.to_str().unwrap(), "--headless", "--cloud", "sim"];
        args.extend(speed);
        args.push("--log");
        let log = dir.path().join(format!("{}.jsonl", fastrand::u64(..)));
        let log = log.to_str().unwrap().to_string();
        args.push(&log);
        args.extend_from_slice(extra);
        lifeboat_in(dir.path(), &args, &[]).status.code()
    };
    assert_eq!(run(&rb, &[]), Some(0), "every step done, objectives met");
    std::fs::write(
        &rb,
        runbook("1h", "  x: { type: string, default: y }\n", "      - { id: a, title: A, run: \"exit 3\" }\n"),
    )
    .unwrap();
    assert_eq!(run(&rb, &[]), Some(1), "a step failed");
    std::fs::write(
        &rb,
        runbook("1h", "  x: { type: string, default: y }\n", "      - { id: a, title: A, wait: 2h }\n"),
    )
    .unwrap();
    assert_eq!(run(&rb, &["--speed", "10000"]), Some(3), "finished, but the RTO was missed");
    std::fs::write(&rb, runbook("1h", "  x: { type: timestamp }\n", ok)).unwrap();
    assert_eq!(run(&rb, &[]), Some(2), "an input without a value: nothing was run");
    std::fs::write(
        &rb,
        runbook("1h", "  x: { type: string, default: y }\n", "      - { id: a, title: A, run: true, bogus: 1 }\n"),
    )
    .unwrap();
    assert_eq!(run(&rb, &[]), Some(2), "an invalid runbook: nothing was run");
    assert_eq!(run(&rb, &["--speed", "fast"]), Some(2), "bad usage");
}

#[test]
fn a_manual_step_without_an_answer_stops_with_its_name_and_never_hangs() {
    let steps = "      - { id: confirm, title: Confirm, manual: Look }\n      - { id: go, title: Go, approval: { role: ic } }\n";
    let (dir, rb) = folder(&runbook("1h", "  x: { type: string, default: y }\n", steps));
    let a = answers(dir.path(), "steps:\n  go: { approve: true, by: alice, role: ic }\n");
    let log = dir.path().join("run.jsonl");
    let out = lifeboat_in(
        dir.path(),
        &[
            "tabletop",
            rb.to_str().unwrap(),
            "--answers",
            a.to_str().unwrap(),
            "--log",
            log.to_str().unwrap(),
            "--speed",
            "100",
        ],
        &[],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("manual step `confirm` has no answer in"), "{stderr}");
    assert!(stderr.contains("--resume"), "says how to go on: {stderr}");
    assert!(
        stderr.contains(
            "it goes on in tabletop mode on the simulated cloud, as the log began; no --cloud or --mode needed"
        ),
        "the resume needs no cloud to be named: {stderr}"
    );
    // The log is intact and resumable: add the answer and go on.
    let v = lifeboat_in(dir.path(), &["verify", log.to_str().unwrap()], &[]);
    assert_eq!(v.status.code(), Some(3), "intact but not sealed: {}", text(&v.stdout));
    let a = answers(dir.path(), "steps:\n  confirm: done\n  go: { approve: true, by: alice, role: ic }\n");
    let out = lifeboat_in(
        dir.path(),
        &[
            "tabletop",
            "--dir",
            dir.path().to_str().unwrap(),
            "--answers",
            a.to_str().unwrap(),
            "--resume",
            log.to_str().unwrap(),
            "--speed",
            "100",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Sealed and intact, but unsigned: no trust root can vouch for it (exit 4).
    assert_eq!(lifeboat_in(dir.path(), &["verify", log.to_str().unwrap()], &[]).status.code(), Some(4));
    let report = text(&lifeboat_in(dir.path(), &["report", log.to_str().unwrap()], &[]).stdout);
    assert!(report.contains("| alice (ic) | approved `go`: typed, unverified |"), "{report}");
}

#[test]
fn secrets_never_reach_the_log_the_report_or_the_screen() {
    let secret = "s3cr3t-Pa55word-4711";
    let steps = "      - { id: use, title: Use the token, run: \"echo token=${{ inputs.token }}; echo ${{ inputs.token }} >&2\" }\n      - { id: show, title: Show, manual: \"Token is ${{ inputs.token }}\" }\n";
    let (dir, rb) = folder(&runbook("1h", "  token: { type: string, secret: true, env: SHOP_TOKEN }\n", steps));
    let a = answers(dir.path(), "steps:\n  show: done\n");
    let log = dir.path().join("run.jsonl");
    let key = crate::journal::keygen(dir.path());
    let out = lifeboat_in(
        dir.path(),
        &[
            "run",
            rb.to_str().unwrap(),
            "--headless",
            "--cloud",
            "sim",
            "--answers",
            a.to_str().unwrap(),
            "--log",
            log.to_str().unwrap(),
            "--sign-key",
            key.to_str().unwrap(),
            "--junit",
            "junit.xml",
        ],
        &[("SHOP_TOKEN", secret)],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut seen = vec![
        ("stderr", text(&out.stderr)),
        ("stdout", text(&out.stdout)),
        ("log", std::fs::read_to_string(&log).unwrap()),
    ];
    seen.push(("junit", std::fs::read_to_string(dir.path().join("junit.xml")).unwrap()));
    for format in ["md", "json", "junit"] {
        seen.push((
            "report",
            text(&lifeboat_in(dir.path(), &["report", log.to_str().unwrap(), "--format", format], &[]).stdout),
        ));
    }
    for (what, body) in &seen {
        assert!(!body.contains(secret), "the secret is in the {what}");
    }
    assert!(seen[2].1.contains("token=[redacted]"), "the log shows where the secret was");
}

/// A runbook whose `run:` steps leave a trace of every time they ran.
fn crash_runbook() -> String {
    let mut steps = String::new();
    for i in 0..8 {
        steps += &format!("      - {{ id: s{i}, title: Step {i}, run: \"echo s{i} >> ../effects; sleep 0.1\" }}\n");
    }
    runbook("2h", "  x: { type: string, default: y }\n", &steps)
}

#[test]
fn a_run_killed_at_any_moment_leaves_a_verifiable_log_and_resumes_without_repeating_finished_steps() {
    let base = tempfile::tempdir().unwrap();
    let mut rerun_answers = String::from("steps:\n");
    for i in 0..8 {
        rerun_answers += &format!("  s{i}: rerun\n");
    }
    let mut killed_mid_run = 0;
    for round in 0..28 {
        let work = base.path().join(format!("round{round}"));
        std::fs::create_dir_all(work.join("rb")).unwrap();
        std::fs::write(work.join("rb/datasets.yaml"), crate::engine::CATALOG).unwrap();
        std::fs::write(work.join("rb/rb.yaml"), crash_runbook()).unwrap();
        answers(&work, &rerun_answers);
        let log = work.join("run.jsonl");
        let args = [
            "run",
            "rb/rb.yaml",
            "--headless",
            "--cloud",
            "sim",
            "--speed",
            "100",
            "--log",
            "run.jsonl",
            "--answers",
            "answers.yaml",
        ];
        let mut child = Command::new(env!("CARGO_BIN_EXE_lifeboat"))
            .args(args)
            .current_dir(&work)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(fastrand::u64(30..800)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if !log.exists() {
            continue;
        }
        // Sealed and intact (unsigned, so no trust root vouches: exit 4).
        let sealed = lifeboat_in(&work, &["verify", "run.jsonl"], &[]).status.code() == Some(4);
        if sealed {
            continue; // killed after the seal: nothing to resume
        }
        if round % 4 == 3 {
            // A kill in the middle of a write: half a line at the end.
            let mut bytes = std::fs::read(&log).unwrap();
            bytes.extend_from_slice(b"{\"seq\":999,\"prev\":\"00");
            std::fs::write(&log, bytes).unwrap();
        }
        let before = std::fs::read_to_string(&log).unwrap();
        let finished_before: Vec<String> = before
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["type"] == "step_finished")
            .map(|v| v["step"].as_str().unwrap().to_string())
            .collect();
        let verify = lifeboat_in(&work, &["verify", "run.jsonl"], &[]);
        assert_eq!(
            verify.status.code(),
            Some(3),
            "round {round}: intact up to its last complete line: {}",
            text(&verify.stdout)
        );
        killed_mid_run += 1;
        let resumed = lifeboat_in(
            &work,
            &[
                "run",
                "rb/rb.yaml",
                "--headless",
                "--cloud",
                "sim",
                "--speed",
                "100",
                "--resume",
                "run.jsonl",
                "--answers",
                "answers.yaml",
            ],
            &[],
        );
        assert_eq!(resumed.status.code(), Some(0), "round {round}: {}", text(&resumed.stderr));
        let verify = lifeboat_in(&work, &["verify", "run.jsonl"], &[]);
        assert_eq!(verify.status.code(), Some(4), "round {round}: sealed, intact: {}", text(&verify.stdout));
        let effects = std::fs::read_to_string(work.join("effects")).unwrap_or_default();
        for i in 0..8 {
            let id = format!("s{i}");
            let times = effects.lines().filter(|l| *l == id).count();
            if finished_before.contains(&id) {
                assert_eq!(times, 1, "round {round}: finished step {id} ran again");
            } else {
                assert!(times >= 1, "round {round}: {id} never ran");
            }
        }
        if round % 4 == 3 {
            assert!(
                std::fs::read(work.join("run.jsonl.torn")).unwrap().ends_with(b"\"prev\":\"00"),
                "the torn bytes are kept"
            );
        }
    }
    assert!(killed_mid_run >= 20, "only {killed_mid_run} kills landed mid-run");
}

/// A README command as written, from a copy of the repository's runbooks: `cargo run -q --`
/// and `lifeboat` are the built binary; nothing is added to the arguments.
fn readme_command(line: &str) -> (Option<i32>, String, tempfile::TempDir) {
    let args: Vec<&str> = match line.split_once(" -- ") {
        Some((_, rest)) => rest.split_whitespace().collect(),
        None => line.split_whitespace().skip(1).collect(),
    };
    let dir = tempfile::tempdir().unwrap();
    let copy = Command::new("cp").arg("-r").arg(root().join("runbooks")).arg(dir.path()).status().unwrap();
    assert!(copy.success());
    let out = lifeboat_in(dir.path(), &args, &[]);
    (out.status.code(), text(&out.stderr), dir)
}

#[test]
fn the_readme_commands_do_what_the_readme_says() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let first = readme
        .lines()
        .find(|l| l.starts_with("cargo run") && l.contains("tabletop"))
        .expect("the README's first command is a tabletop");
    assert!(first.contains("--headless"), "the same at a terminal as in a pipe: {first}");
    let (code, stderr, dir) = readme_command(first);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("orders-docs-ransomware succeeded: RTO") && stderr.contains("(met), RPO"), "{stderr}");
    assert!(stderr.contains("155 to roll back") || stderr.contains("roll back"), "{stderr}");
    let logs: Vec<_> = std::fs::read_dir(dir.path().join("incidents")).unwrap().collect();
    assert_eq!(logs.len(), 1, "its incident log is under incidents/");

    // The CI drill, joined across its line continuations, exactly as written.
    let block = readme.split("```sh").find(|b| b.contains("customers-db-quarterly-drill.yaml --headless")).unwrap();
    let drill = block.split("```").next().unwrap().replace("\\\n", " ");
    let drill = drill.lines().find(|l| l.trim_start().starts_with("lifeboat run")).unwrap().trim().to_string();
    let (code, stderr, dir) = readme_command(&drill);
    assert_eq!(code, Some(0), "{drill}: {stderr}");
    assert!(stderr.contains("customers-db-quarterly-drill succeeded: RTO"), "{stderr}");
    assert!(stderr.contains("nothing was checked"), "the example script says it checked nothing on the sim: {stderr}");
    let junit = std::fs::read_to_string(dir.path().join("drill.xml")).unwrap();
    assert!(junit.contains("objective RTO") && !junit.contains("<failure"), "{junit}");
}

#[test]
fn injected_failures_are_retried_or_fail_the_rehearsal() {
    let steps = "      - { id: restore, title: Restore, action: s3.restore_to_time, with: { bucket: shop-docs-prod, time: \"${{ incident.started_at }}\" }, retries: 2 }\n";
    let (dir, rb) = folder(&runbook("2h", "  x: { type: string, default: y }\n", steps));
    let injects = |body: &str| {
        let p = dir.path().join("injects.yaml");
        std::fs::write(&p, format!("apiVersion: lifeboat/v1\nkind: Injects\ninjects:\n{body}")).unwrap();
        p
    };
    let go = |inj: &Path| {
        let log = dir.path().join(format!("{}.jsonl", fastrand::u64(..)));
        lifeboat_in(
            dir.path(),
            &[
                "tabletop",
                rb.to_str().unwrap(),
                "--speed",
                "100",
                "--injects",
                inj.to_str().unwrap(),
                "--log",
                log.to_str().unwrap(),
            ],
            &[],
        )
    };
    let out = go(&injects(
        "  - { action: s3.restore_to_time, error: SlowDown, message: reduce your request rate, times: 2, retryable: true }\n",
    ));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        stderr.matches("↻ restore: s3.restore_to_time on `shop-docs-prod` failed: reduce your request rate").count(),
        2,
        "{stderr}"
    );
    let out = go(&injects("  - { step: restore, error: AccessDenied, message: no s3:PutObject on the bucket }\n"));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("✗ restore failed")
            && stderr.contains("no s3:PutObject on the bucket")
            && !stderr.contains("↻"),
        "not retryable: {stderr}"
    );
}

#[test]
fn a_rehearsal_never_executes_commands() {
    let steps = "      - { id: touch, title: Touch, run: \"touch executed\" }\n";
    let (dir, rb) = folder(&runbook("2h", "  x: { type: string, default: y }\n", steps));
    let out = lifeboat_in(dir.path(), &["tabletop", rb.to_str().unwrap(), "--speed", "100", "--log", "t.jsonl"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!dir.path().join("executed").exists(), "a tabletop ran a command");
    // Nobody said how the command went: lifeboat records it as not executed, and puts no
    // confirmation in anyone's mouth.
    let log = std::fs::read_to_string(dir.path().join("t.jsonl")).unwrap();
    assert!(!log.contains("\"type\":\"answer\""), "an answer nobody gave: {log}");
    assert!(log.contains("\"reason\":\"not executed (rehearsal): nobody reported how it went\""), "{log}");
    let md = text(&lifeboat_in(dir.path(), &["report", "t.jsonl"], &[]).stdout);
    assert!(md.contains("| touch | p | done |") && md.contains("not executed (rehearsal)"), "{md}");
    let out = lifeboat_in(
        dir.path(),
        &["run", rb.to_str().unwrap(), "--headless", "--cloud", "sim", "--speed", "100", "--log", "r.jsonl"],
        &[("GITHUB_STEP_SUMMARY", "summary.md")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(dir.path().join("executed").exists(), "the CI replay runs commands for real");
    let out = lifeboat_in(dir.path(), &["report", "r.jsonl", "--format", "junit"], &[]);
    let junit = text(&out.stdout);
    assert!(
        junit.contains("<testsuite name=\"rb\" tests=\"3\" ")
            && junit.contains("<testcase name=\"touch\" classname=\"rb.p\""),
        "{junit}"
    );
    assert!(junit.contains("<testcase name=\"objective RTO\"") && junit.contains("failures=\"0\""), "{junit}");
    let summary = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(summary.starts_with("# rb — succeeded") && summary.contains("| RTO | 2h |"), "{summary}");
}

#[test]
fn an_encrypted_signing_key_is_unlocked_from_the_environment_and_never_shown() {
    let (dir, rb) =
        folder(&runbook("2h", "  x: { type: string, default: y }\n", "      - { id: a, title: A, run: \"true\" }\n"));
    let key = dir.path().join("signing_key");
    let pass = "correct horse battery staple";
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-C", "ops@example", "-N", pass, "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(ok.success());
    let key_s = key.to_str().unwrap();
    let args = ["run", rb.to_str().unwrap(), "--headless", "--cloud", "sim", "--speed", "100", "--log", "signed.jsonl"];
    // Without the passphrase and no terminal: a clear refusal, nothing run, no hang.
    let out = lifeboat_in(dir.path(), &args, &[("LIFEBOAT_SIGN_KEY", key_s)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("passphrase-protected; set LIFEBOAT_SIGN_KEY_PASSPHRASE"),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.path().join("signed.jsonl").exists());
    let out = lifeboat_in(dir.path(), &args, &[("LIFEBOAT_SIGN_KEY", key_s), ("LIFEBOAT_SIGN_KEY_PASSPHRASE", pass)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let log = std::fs::read_to_string(dir.path().join("signed.jsonl")).unwrap();
    assert!(log.contains("\"type\":\"checkpoint\"") && log.contains("\"signer\":\"ssh-ed25519 "));
    assert!(!log.contains(pass) && !text(&out.stderr).contains(pass));
    assert_eq!(lifeboat_in(dir.path(), &["verify", "signed.jsonl"], &[]).status.code(), Some(4), "no trust root");
    let allowed = crate::journal::allowed_signers(dir.path(), &key);
    let trusted =
        lifeboat_in(dir.path(), &["verify", "signed.jsonl", "--allowed-signers", allowed.to_str().unwrap()], &[]);
    assert_eq!(trusted.status.code(), Some(0), "{}", text(&trusted.stdout));
}

/// An argument that comes out blank (here an input of spaces), at the top of `with:` or
/// inside an object, is refused by name before any cloud call, never sent on as `""`.
#[test]
fn a_blank_argument_fails_the_step_naming_it() {
    let cases = [
        (
            "`bucket` is empty",
            "      - { id: posture, title: Posture, action: s3.check_posture, with: { bucket: \"${{ inputs.b }}\" } }\n",
        ),
        (
            "`to.bucket` is empty",
            "      - { id: copy, title: Copy, action: s3.copy_prefix, with: { from: { bucket: shop-docs-drill }, to: { bucket: \"${{ inputs.b }}\" } } }\n",
        ),
    ];
    for (want, steps) in cases {
        let (dir, rb) = folder(&runbook("2h", "  b: { type: string, default: \" \" }\n", steps));
        let log = dir.path().join("run.jsonl");
        let out = replay(dir.path(), &rb, &log, &[], &[]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(want), "{want}: {stderr}");
        assert!(std::fs::read_to_string(&log).unwrap().contains("\"code\":\"BadArgument\""));
    }
}

/// The example runbooks in a folder of their own, the ransomware's bucket given `more`
/// (`sim:`, `batch:`) in the catalog.
fn examples_with_bucket(more: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let status =
        Command::new("cp").args(["-r", "runbooks", dir.path().to_str().unwrap()]).current_dir(crate::root()).status();
    assert!(status.unwrap().success());
    let folder = dir.path().join("runbooks");
    let catalog = std::fs::read_to_string(folder.join("datasets.yaml")).unwrap();
    let bucket = "{ kind: s3-bucket, id: orders-docs-prod,   role: production";
    let changed = catalog.replace(&format!("{bucket} }}"), &format!("{bucket}, {more} }}"));
    assert_ne!(changed, catalog, "the example catalog names the bucket as this test expects");
    std::fs::write(folder.join("datasets.yaml"), changed).unwrap();
    (dir, folder)
}

/// A tabletop of a bucket sized in the catalog (`sim: { objects: N }`) tells the team
/// whether the roll-back fits the RTO on the latency model: the example runbook, its
/// bucket made 20,000 keys every one overwritten, plans, rolls back, proves nothing is
/// left, and says its RTO.
#[test]
fn a_tabletop_of_a_bucket_sized_in_the_catalog_rolls_every_key_back_and_says_its_rto() {
    let (dir, folder) = examples_with_bucket("sim: { objects: 20000, prefixes: 4 }");
    let work = dir.path().join("plans");
    let out = lifeboat_in(
        &folder,
        &[
            "tabletop",
            "orders-docs-ransomware.yaml",
            "--headless",
            "--speed",
            "20",
            "--answers",
            "answers/orders-docs-ransomware.yaml",
            "--log",
            "sized.jsonl",
        ],
        &[("LIFEBOAT_WORK_DIR", work.to_str().unwrap())],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("plan for s3://orders-docs-prod/: 20000 to roll back"), "{stderr}");
    // Each count is a line synced to disk: the copies' progress is recorded a percent at a
    // time (and once a second), not every 25 objects (800 lines here, 400,000 at 10M).
    let log = std::fs::read_to_string(folder.join("sized.jsonl")).unwrap();
    let counts: Vec<&str> = log.lines().filter(|l| l.contains("\"type\":\"step_progress\"")).collect();
    assert!((2..=150).contains(&counts.len()), "{} progress lines", counts.len());
    assert!(counts.iter().any(|l| l.contains("\"done\":20000,\"total\":20000")), "the last count: {counts:?}");
    assert!(
        stderr.contains("plan for s3://orders-docs-prod/: 0 to roll back"),
        "the check finds nothing left: {stderr}"
    );
    assert!(stderr.contains("orders-docs-ransomware succeeded: RTO") && stderr.contains("(met), RPO"), "{stderr}");
    assert!(stderr.contains("of 1h (met)"), "the RPO too: the last key was written a minute before: {stderr}");
    let left: Vec<_> = std::fs::read_dir(&work).unwrap().collect();
    assert_eq!(left.len(), 2, "the two dry runs' manifests stay for review; the roll-back's is removed: {left:?}");
}

/// The example ransomware runbook with its bucket of 5,000 objects rolled back by S3
/// Batch Operations (the plan creates the job, the roll-back starts it).
fn batch_example() -> (tempfile::TempDir, PathBuf) {
    let (dir, folder) = examples_with_bucket(
        "sim: { objects: 5000, prefixes: 2 }, batch: { role: \"arn:aws:iam::111111111111:role/lifeboat-batch\", reports: orders-lifeboat-reports }",
    );
    let rb = std::fs::read_to_string(folder.join("orders-docs-ransomware.yaml")).unwrap();
    let by_batch = rb
        .replace(
            "time: \"${{ inputs.incident_at }}\", dry_run: true }\n        timeout: 10m\n        retries: 2",
            "time: \"${{ inputs.incident_at }}\", dry_run: true, mode: batch }\n        timeout: 10m\n        retries: 2",
        )
        .replace(
            "plan_sha256: \"${{ steps.plan.outputs.manifest_sha256 }}\" }",
            "plan_sha256: \"${{ steps.plan.outputs.manifest_sha256 }}\", mode: batch, job: \"${{ steps.plan.outputs.batch_job }}\" }",
        );
    assert_eq!(by_batch.matches("mode: batch").count(), 2, "the example's plan and roll-back steps are as expected");
    std::fs::write(folder.join("orders-docs-ransomware.yaml"), by_batch).unwrap();
    (dir, folder)
}

/// The example rehearsed headless with its answers, its plans in a work folder of its own.
fn batch_tabletop(dir: &std::path::Path, folder: &std::path::Path, more: &[&str]) -> std::process::Output {
    let work = dir.join("plans");
    let mut args = vec!["tabletop", "orders-docs-ransomware.yaml", "--headless", "--speed", "50"];
    args.extend(["--answers", "answers/orders-docs-ransomware.yaml"]);
    args.extend_from_slice(more);
    lifeboat_in(folder, &args, &[("LIFEBOAT_WORK_DIR", work.to_str().unwrap())])
}

/// The same tabletop with the bucket's copies made by S3 Batch Operations: the plan
/// creates the job unconfirmed, the roll-back (given the plan's job) starts it, follows
/// it, and the check proves nothing is left.
#[test]
fn a_tabletop_by_s3_batch_operations_creates_the_job_at_the_plan_and_starts_it_only_at_the_roll_back() {
    let (dir, folder) = batch_example();
    let out = batch_tabletop(dir.path(), &folder, &["--log", "batch.jsonl"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("waiting for confirmation: 5000 copies read from its manifest"), "{stderr}");
    let confirmed = stderr.find("confirmed: 5000 copies into s3://orders-docs-prod").expect(&stderr);
    let created = stderr.find("created, waiting for confirmation").unwrap();
    assert!(created < confirmed, "created at the plan, started at the roll-back: {stderr}");
    assert!(stderr.contains("proved: planned again after the job"), "{stderr}");
    assert!(stderr.contains("plan for s3://orders-docs-prod/: 0 to roll back"), "the check: {stderr}");
    assert!(stderr.contains("orders-docs-ransomware succeeded"), "{stderr}");
    let log = std::fs::read_to_string(folder.join("batch.jsonl")).unwrap();
    assert!(log.contains("\"batch_job\":") && log.contains("\"batch_tasks\":5000"), "the job is on record");
    let verify = lifeboat_in(&folder, &["verify", "batch.jsonl"], &[]);
    let said = format!("{}{}", text(&verify.stdout), text(&verify.stderr));
    assert!(said.contains("sealed and intact"), "the log of a batch roll-back verifies: {said}");
}

/// The binary end to end: a rehearsal's inject refuses one of the job's copies
/// (`operation: CopyObject`), the job's completion report names it, and the step fails
/// with that key — never "succeeded" over a copy that did not happen.
#[test]
fn a_failed_task_in_a_batch_job_s_report_fails_the_roll_back_with_its_key_named() {
    let (dir, folder) = batch_example();
    std::fs::write(
        folder.join("deny-one.yaml"),
        "apiVersion: lifeboat/v1\nkind: Injects\ninjects:\n  - operation: CopyObject\n    error: AccessDenied\n    message: the job's role may not write this object\n    times: 1\n",
    )
    .unwrap();
    let out = batch_tabletop(dir.path(), &folder, &["--log", "denied.jsonl", "--injects", "deny-one.yaml"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    // The report's failed task, read back: its key, then the step's failure naming it.
    let task = stderr.lines().find(|l| l.contains("restore │ batch job") && l.contains(" failed: AccessDenied"));
    let task = task.unwrap_or_else(|| panic!("no failed task in the job's report: {stderr}"));
    let key = task.split("s3://orders-docs-prod/").nth(1).and_then(|r| r.split(' ').next()).unwrap();
    let failed = stderr.lines().find(|l| l.contains("✗ restore failed")).unwrap_or_else(|| panic!("{stderr}"));
    assert!(failed.contains("1 of 5000 copies failed in batch job") && failed.contains(key), "{failed}");
    assert!(failed.contains("the job's role may not write this object"), "the inject's own words: {failed}");
    assert!(stderr.contains("orders-docs-ransomware failed: RTO not met"), "{stderr}");
    assert!(!stderr.contains("succeeded"), "{stderr}");
    let log = std::fs::read_to_string(folder.join("denied.jsonl")).unwrap();
    assert!(log.contains("\"type\":\"step_finished\",\"step\":\"restore\",\"status\":\"failed\""), "{log}");
}

/// What a drill creates is on record the moment it exists — the instance, its region and
/// the step — and the report lists it, so what is left to take down can be found.
#[test]
fn a_drill_records_every_resource_it_creates_and_the_report_lists_them() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("drill.jsonl");
    let rb = "customers-db-quarterly-drill";
    let out = crate::tabletop_example(rb, &log, &["--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let records: Vec<serde_json::Value> =
        std::fs::read_to_string(&log).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let created: Vec<&serde_json::Value> = records.iter().filter(|r| r["type"] == "resource_created").collect();
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(
        (
            created[0]["step"].as_str(),
            created[0]["kind"].as_str(),
            created[0]["id"].as_str(),
            created[0]["region"].as_str()
        ),
        (Some("restore"), Some("rds-instance"), Some("customers-drill"), Some("eu-west-1"))
    );
    assert!(
        text(&out.stderr).contains("+ restore created rds-instance customers-drill in eu-west-1"),
        "{}",
        text(&out.stderr)
    );
    let report = lifeboat_in(crate::root(), &["report", log.to_str().unwrap()], &[]);
    let md = text(&report.stdout);
    assert!(
        md.contains("## Resources created") && md.contains("| restore | rds-instance | customers-drill | eu-west-1 |"),
        "{md}"
    );
}

/// Issue 30: one forgotten flag in CI is not a production change. A headless `run`
/// without `--cloud` is refused before anything runs (exit 2); a resume without it goes
/// on where the run began (the simulated cloud here), never to AWS by default.
#[test]
fn a_headless_run_names_its_cloud_and_a_resume_keeps_the_one_it_began_on() {
    let steps = "      - { id: a, title: A, manual: Do A }\n      - { id: b, title: B, run: \"true\" }\n";
    let (dir, rb) = folder(&runbook("1h", "  x: { type: string, default: y }\n", steps));
    let d = dir.path();
    let log = d.join("run.jsonl");
    let ans = answers(d, "");
    let out = lifeboat_in(
        d,
        &["run", rb.to_str().unwrap(), "--headless", "--answers", ans.to_str().unwrap(), "--log", "run.jsonl"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("a headless run names its cloud"), "{}", text(&out.stderr));
    assert!(!log.exists(), "something ran");
    // Begun on the simulated cloud, stopped at the manual step, resumed without --cloud.
    let out = replay(d, &rb, &log, &["--answers", ans.to_str().unwrap()], &[]);
    assert!(log.exists(), "{}", text(&out.stderr));
    let done = answers(d, "steps: { a: done }\n");
    let out = lifeboat_in(
        d,
        &["run", rb.to_str().unwrap(), "--resume", "run.jsonl", "--headless", "--answers", done.to_str().unwrap()],
        &[("AWS_ACCESS_KEY_ID", "nope"), ("AWS_SECRET_ACCESS_KEY", "nope"), ("AWS_ENDPOINT_URL", "http://127.0.0.1:9")],
    );
    // Against AWS the STS pre-flight would fail on that endpoint (exit 2): it finished.
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains("■ run succeeded"), "{said}");
}

/// Issue 30: an unanswered approval in a headless run names the answers an approval
/// takes (a signed file, or a typed name where one may approve), never `done`.
#[test]
fn an_unanswered_approval_names_the_answers_an_approval_takes() {
    let steps = "      - { id: go, title: Go, approval: { role: incident-commander } }\n";
    let (dir, rb) = folder(&runbook("1h", "  x: { type: string, default: y }\n", steps));
    let ans = answers(dir.path(), "");
    let log = dir.path().join("run.jsonl");
    let out = replay(dir.path(), &rb, &log, &["--answers", ans.to_str().unwrap()], &[]);
    let said = text(&out.stderr);
    assert!(said.contains("approval step `go` has no answer in"), "{said}");
    assert!(!said.contains("`go: done`"), "`done` answers no approval: {said}");
    assert!(said.contains("`go: { signed: FILE }`") && said.contains("--standing"), "{said}");
}

/// Issue 30 (4): a backup listed in the catalog without a region is in the dataset's
/// backup region, so a step that names that region finds it there (it was looked for in
/// the primary region: "the bucket is in eu-central-1, not eu-west-1"). Issue 30 (3): a
/// gate and a condition test part of an output (`object_lock` is `COMPLIANCE 30d`).
#[test]
fn a_backup_listed_without_a_region_is_in_the_datasets_backup_region() {
    let (dir, rb) = folder(&runbook(
        "2h",
        "  x: { type: string, default: y }\n",
        concat!(
            "      - { id: look, title: Look, action: s3.check_posture, with: { bucket: shop-docs-vault, region: eu-west-1 },\n",
            "          assert: [\"${{ startsWith(steps.look.outputs.object_lock, 'compliance') }}\"] }\n",
            "      - { id: never, title: Never, run: \"exit 1\", when: \"contains(steps.look.outputs.object_lock, 'GOVERNANCE')\" }\n",
        ),
    ));
    let catalog = crate::engine::CATALOG.replace(
        "      - { kind: s3-bucket, id: shop-docs-drill, role: drill }\n",
        "      - { kind: s3-bucket, id: shop-docs-drill, role: drill }\n      - { kind: s3-bucket, id: shop-docs-vault, role: backup }\n",
    );
    std::fs::write(dir.path().join("datasets.yaml"), catalog).unwrap();
    let log = dir.path().join("run.jsonl");
    let out = replay(dir.path(), &rb, &log, &[], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let body = std::fs::read_to_string(&log).unwrap();
    assert!(body.contains("\"step\":\"never\",\"status\":\"skipped\""), "the false condition skipped it");
}

/// Issue 30 (7): what an approval approves, in the runbook's words, is asked with it:
/// in the log (and so on every screen that shows the question).
#[test]
fn an_approval_is_asked_with_its_description() {
    let steps = "      - { id: go, title: Go, approval: { role: incident-commander, description: \"Roll back ${{ inputs.x }} in place\" } }\n";
    let (dir, rb) = folder(&runbook("2h", "  x: { type: string, default: shop-docs-prod }\n", steps));
    let ans = answers(dir.path(), "steps:\n  go: { approve: true, by: bob, role: incident-commander }\n");
    let log = dir.path().join("run.jsonl");
    let out = replay(dir.path(), &rb, &log, &["--answers", ans.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let body = std::fs::read_to_string(&log).unwrap();
    assert!(body.contains("Approval needed from the incident-commander\\nRoll back shop-docs-prod in place"), "{body}");
}

/// Issue 30: a restore that is `creating` for twenty minutes says so when the status
/// changes and every five minutes with how long it has been, not once a poll.
#[test]
fn a_long_wait_says_how_long_not_the_same_line_each_poll() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.jsonl");
    let out = crate::tabletop_example("customers-db-corruption", &log, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let body = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<String> = body
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["type"] == "step_output")
        .flat_map(|r| r["text"].as_str().unwrap().lines().map(str::to_string).collect::<Vec<_>>())
        .filter(|l| l.contains(": creating"))
        .collect();
    assert!(lines.len() >= 2 && lines.len() <= 8, "{lines:?}");
    assert!(lines[1..].iter().all(|l| l.contains("so far)")), "{lines:?}");
}
