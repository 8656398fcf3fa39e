//! Input is hostile: a value never becomes shell syntax, a secret never reaches argv or
//! the log, whatever the value. Each test drives the real binary.

use std::path::Path;
use std::process::Command;

use crate::run::{answers, folder, lifeboat_in, replay};
use crate::text;

/// Values that would be code if pasted into `sh -c` text.
const HOSTILE: &[&str] = &[
    "x\"; touch PWNED; echo \"",
    "$(touch PWNED)",
    "`touch PWNED`",
    "'; touch PWNED; echo '",
    "a\ntouch PWNED",
    "a && touch PWNED",
    "a | touch PWNED",
    "$HOME ${PATH} \\\" \\",
    "*",
    "-n",
];

fn runbook_with(inputs: &str, steps: &str) -> String {
    format!(
        "apiVersion: lifeboat/v1\nkind: Runbook\nid: rb\ntitle: RB\ndataset: shop-docs\nscenario: other\ninputs:\n{inputs}phases:\n  - id: p\n    title: P\n    budget: 30m\n    steps:\n{steps}"
    )
}

fn go(dir: &Path, rb: &Path, answers_body: &str) -> (Option<i32>, String) {
    let ans = answers(dir, answers_body);
    let log = dir.join(format!("{}.jsonl", fastrand::u64(..)));
    let out = replay(dir, rb, &log, &["--answers", ans.to_str().unwrap()], &[]);
    (out.status.code(), text(&out.stderr))
}

#[test]
fn a_value_never_becomes_shell_syntax_quoted_or_not() {
    // The same value, written bare, in double quotes, in single quotes and inside text.
    let steps = concat!(
        "      - { id: bare, title: Bare, run: \"printf '%s' ${{ inputs.x }} > bare.txt\" }\n",
        "      - { id: dq, title: DQ, run: \"printf '%s' \\\"${{ inputs.x }}\\\" > dq.txt\" }\n",
        "      - { id: sq, title: SQ, run: \"printf '%s' '${{ inputs.x }}' > sq.txt\" }\n",
        "      - { id: mixed, title: Mixed, run: \"printf '%s' \\\"v=${{ inputs.x }};\\\" > mixed.txt\" }\n",
        "      - { id: emit, title: Emit, run: \"printf 'val=%s\\\\n' '$(touch PWNED2)' >> \\\"$LIFEBOAT_OUTPUT\\\"\", outputs: [val] }\n",
        "      - { id: use, title: Use, run: \"echo ${{ steps.emit.outputs.val }} > use.txt\" }\n",
    );
    let (dir, rb) = folder(&runbook_with("  x: { type: string }\n", steps));
    for value in HOSTILE {
        let quoted = serde_json::to_string(value).unwrap();
        let (code, stderr) = go(dir.path(), &rb, &format!("inputs: {{ x: {quoted} }}\n"));
        assert_eq!(code, Some(0), "{value:?}: {stderr}");
        assert!(!dir.path().join("PWNED").exists(), "{value:?} ran as code: {stderr}");
        assert!(!dir.path().join("PWNED2").exists(), "a step output ran as code: {stderr}");
        for f in ["bare", "dq", "sq"] {
            let got = std::fs::read_to_string(dir.path().join(format!("{f}.txt"))).unwrap();
            assert_eq!(got, *value, "{f}: the command got the value, whole and unchanged");
        }
        let mixed = std::fs::read_to_string(dir.path().join("mixed.txt")).unwrap();
        assert_eq!(mixed, format!("v={value};"));
        let used = std::fs::read_to_string(dir.path().join("use.txt")).unwrap();
        assert_eq!(used.trim_end(), "$(touch PWNED2)");
    }
}

#[test]
fn a_secret_reaches_a_command_through_the_environment_never_argv() {
    let steps = "      - { id: a, title: A, run: \"tr '\\\\0' ' ' < /proc/$$/cmdline > argv.txt; printf '%s' ${{ inputs.pw }} | wc -c > len.txt\" }\n";
    let (dir, rb) = folder(&runbook_with("  pw: { type: string, secret: true, env: RB_PW }\n", steps));
    let secret = "s3cr3t-Value-42";
    let ans = answers(dir.path(), "");
    let log = dir.path().join("run.jsonl");
    let out = replay(dir.path(), &rb, &log, &["--answers", ans.to_str().unwrap()], &[("RB_PW", secret)]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let argv = std::fs::read_to_string(dir.path().join("argv.txt")).unwrap();
    assert!(argv.contains("LIFEBOAT_IN_1") && !argv.contains(secret), "argv: {argv}");
    assert_eq!(std::fs::read_to_string(dir.path().join("len.txt")).unwrap().trim(), secret.len().to_string());
    assert!(!stderr.contains(secret), "{stderr}");
    assert!(!std::fs::read_to_string(&log).unwrap().contains(secret));
    // The report lists the inputs, the secret as redacted.
    let out = lifeboat_in(dir.path(), &["report", log.to_str().unwrap()], &[]);
    let md = text(&out.stdout);
    assert!(md.contains("## Inputs") && md.contains("| pw | [redacted] |"), "{md}");
    assert!(!md.contains(secret), "{md}");
}

/// Runs `rb` with the secret input `pw` set to `secret`, signed, and returns the exit
/// code, stderr, and the log's text.
fn with_secret(secret: &str, steps: &str) -> (Option<i32>, String, String, tempfile::TempDir) {
    let (dir, rb) = folder(&runbook_with("  pw: { type: string, secret: true, env: RB_PW }\n", steps));
    let key = crate::journal::keygen(dir.path());
    let ans = answers(dir.path(), "");
    let log = dir.path().join("run.jsonl");
    let out = replay(
        dir.path(),
        &rb,
        &log,
        &["--answers", ans.to_str().unwrap(), "--sign-key", key.to_str().unwrap()],
        &[("RB_PW", secret)],
    );
    let body = std::fs::read_to_string(&log).unwrap_or_default();
    (out.status.code(), text(&out.stderr), body, dir)
}

#[test]
fn a_secret_too_short_to_redact_is_refused_before_anything_runs() {
    for secret in ["a", "ab", "AAAA", "2026", "prod", "12345"] {
        let (code, stderr, body, _dir) = with_secret(secret, "      - { id: a, title: A, run: \"true\" }\n");
        assert_eq!(code, Some(2), "{secret:?}: {stderr}");
        assert!(stderr.contains("shorter than 6 characters"), "{stderr}");
        assert!(body.is_empty(), "nothing ran");
    }
}

#[test]
fn redaction_rewrites_free_text_never_ids_keys_times_or_event_types() {
    use base64::Engine as _;
    let steps = concat!(
        "      - { id: restore-prod, title: Restore prod, run: \"printf '%s\\\\n' ${{ inputs.pw }}; printf '%s' ${{ inputs.pw }} | base64 -w0; echo; printf 'x=%s\\\\n' ${{ inputs.pw }} >> \\\"$LIFEBOAT_OUTPUT\\\"\", outputs: [x] }\n",
        "      - { id: finished-check, title: Check, run: \"echo fine\" }\n",
    );
    // Secrets equal to what ids, keys, times, hashes and event types are made of.
    for secret in [
        "sealed",
        "20261201",
        "restore",
        "restore-prod",
        "step_finished",
        "genesis",
        "AAAAC3NzaC1lZDI1NTE5",
        "ssh-ed25519",
        "2026-12-01",
        "checkpoint",
        "0000000000",
        "-----BEGIN KEY-----\nline-two-of-it\n-----END KEY-----",
    ] {
        let (code, stderr, body, dir) = with_secret(secret, steps);
        assert_eq!(code, Some(0), "{secret:?}: {stderr}");
        // The log is whole: it parses, verifies, and keeps its ids and types.
        let allowed = crate::journal::allowed_signers(dir.path(), &dir.path().join("id_ed25519"));
        let out =
            lifeboat_in(dir.path(), &["verify", "run.jsonl", "--allowed-signers", allowed.to_str().unwrap()], &[]);
        assert_eq!(out.status.code(), Some(0), "{secret:?}: {}", text(&out.stdout));
        for needle in [
            "\"step\":\"restore-prod\"",
            "\"type\":\"step_finished\"",
            "\"type\":\"genesis\"",
            "\"signer\":\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5",
        ] {
            assert!(body.contains(needle), "{secret:?}: {needle} was rewritten");
        }
        // The secret's own appearances in free text are gone, in every form.
        let outputs: Vec<serde_json::Value> = body
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v["type"] == "step_output" && v["step"] == "restore-prod")
            .collect();
        assert!(!outputs.is_empty());
        for o in &outputs {
            let t = o["text"].as_str().unwrap();
            assert!(t.contains("[redacted]") || t.is_empty(), "{secret:?}: {t:?}");
        }
        let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
        assert!(!body.contains(&b64) && !stderr.contains(&b64), "{secret:?}: base64 form leaked");
        for line in secret.lines().filter(|l| l.len() >= 6) {
            let free: String = outputs.iter().map(|o| o["text"].as_str().unwrap().to_string()).collect();
            assert!(!free.contains(line), "{secret:?}: a line of it leaked");
        }
        assert!(body.contains("\"x\":\"[redacted]\""), "{secret:?}: the output value is redacted");
    }
}

#[test]
fn output_that_is_not_utf8_a_background_child_and_a_huge_line_never_hang_a_step() {
    let steps = concat!(
        "      - { id: bytes, title: Bytes, run: \"printf 'a\\\\377b\\\\n'; echo after\", timeout: 1h }\n",
        "      - { id: bg, title: Background, run: \"sleep 1000 & echo started\", timeout: 1h }\n",
        "      - { id: huge, title: Huge, run: \"head -c 20000000 /dev/zero | tr '\\\\0' x; echo; echo end\", timeout: 1h }\n",
    );
    let (dir, rb) = folder(&crate::run::runbook("2h", "  x: { type: string, default: y }\n", steps));
    let log = dir.path().join("run.jsonl");
    let started = std::time::Instant::now();
    let out = replay(dir.path(), &rb, &log, &["--speed", "1"], &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "no step waited for its timeout");
    let body = std::fs::read_to_string(&log).unwrap();
    assert!(body.contains("\"text\":\"a\u{FFFD}b\\nafter\""), "read on past the bad byte");
    assert!(body.contains("\"code\":\"leftover_processes\""), "the killed background child is said");
    let lines: Vec<&str> = body.lines().collect();
    assert!(lines.iter().all(|l| l.len() < 70 * 1024), "no log line holds the whole 20 MB line");
    assert!(body.contains("more bytes of this line not kept") && body.contains("\"text\":\"end\""));
    let ps = Command::new("pgrep").args(["-f", "^sleep 1000$"]).output().unwrap();
    assert!(ps.stdout.is_empty(), "the background child was killed with its step");
}

#[test]
fn a_command_left_running_by_a_killed_run_is_stopped_before_the_resume_reruns_it() {
    let base = tempfile::tempdir().unwrap();
    let mut landed = 0;
    for round in 0..30 {
        let work = base.path().join(format!("round{round}"));
        std::fs::create_dir_all(work.join("rb")).unwrap();
        std::fs::write(work.join("rb/datasets.yaml"), crate::engine::CATALOG).unwrap();
        // The first run's command runs for a minute; after the kill, the rerun is quick.
        let marker = format!("60.{round:03}");
        let steps = format!(
            "      - {{ id: s0, title: S0, run: \"echo s0 >> ../effects\" }}\n      - {{ id: s1, title: S1, run: \"echo s1 >> ../effects; if [ -e ../resumed ]; then true; else sleep {marker}; fi\" }}\n      - {{ id: s2, title: S2, run: \"echo s2 >> ../effects\" }}\n"
        );
        std::fs::write(
            work.join("rb/rb.yaml"),
            crate::run::runbook("2h", "  x: { type: string, default: y }\n", &steps),
        )
        .unwrap();
        answers(&work, "steps:\n  s0: rerun\n  s1: rerun\n  s2: rerun\n");
        let args =
            ["run", "rb/rb.yaml", "--headless", "--cloud", "sim", "--log", "run.jsonl", "--answers", "answers.yaml"];
        let mut child = Command::new(env!("CARGO_BIN_EXE_lifeboat"))
            .args(args)
            .current_dir(&work)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(fastrand::u64(20..600)));
        child.kill().unwrap(); // SIGKILL: no chance to clean up
        child.wait().unwrap();
        let log = work.join("run.jsonl");
        if !log.exists() {
            continue;
        }
        let code = lifeboat_in(&work, &["verify", "run.jsonl"], &[]).status.code();
        assert!(matches!(code, Some(4) | Some(3)), "round {round}: verify said {code:?}");
        if code == Some(4) {
            continue;
        }
        let before = std::fs::read_to_string(&log).unwrap();
        let finished_before: Vec<String> = before
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["type"] == "step_finished")
            .map(|v| v["step"].as_str().unwrap().to_string())
            .collect();
        if before.contains("\"type\":\"process_started\",\"step\":\"s1\"") && !finished_before.contains(&"s1".into()) {
            landed += 1;
        }
        std::fs::write(work.join("resumed"), "").unwrap();
        let resumed = lifeboat_in(
            &work,
            &[
                "run",
                "rb/rb.yaml",
                "--headless",
                "--cloud",
                "sim",
                "--resume",
                "run.jsonl",
                "--answers",
                "answers.yaml",
            ],
            &[],
        );
        assert_eq!(resumed.status.code(), Some(0), "round {round}: {}", text(&resumed.stderr));
        assert_eq!(lifeboat_in(&work, &["verify", "run.jsonl"], &[]).status.code(), Some(4), "round {round}: sealed");
        let ps = Command::new("pgrep").args(["-f", &format!("sleep {marker}")]).output().unwrap();
        assert!(ps.stdout.is_empty(), "round {round}: the killed run's command survived the resume");
        let effects = std::fs::read_to_string(work.join("effects")).unwrap_or_default();
        for id in ["s0", "s1", "s2"] {
            let times = effects.lines().filter(|l| *l == id).count();
            if finished_before.iter().any(|f| f == id) {
                assert_eq!(times, 1, "round {round}: finished step {id} ran again");
            } else {
                assert!(times >= 1, "round {round}: {id} never ran");
            }
        }
    }
    assert!(landed >= 15, "only {landed} kills landed while the command ran");
}

#[test]
fn escape_sequences_and_line_breaks_from_outside_never_reach_a_terminal_or_break_a_report() {
    let steps = concat!(
        "      - { id: noisy, title: Noisy, run: \"printf '\\\\033]0;owned\\\\007\\\\033[2Jafter\\\\n'\" }\n",
        "      - { id: later, title: Later, manual: Do it. }\n",
    );
    let (dir, rb) = folder(&crate::run::runbook("2h", "  x: { type: string, default: y }\n", steps));
    let ans = answers(dir.path(), "steps:\n  later: { skip: \"first line\\nsecond | line \\u001b[31mred\" }\n");
    let log = dir.path().join("run.jsonl");
    let out = replay(dir.path(), &rb, &log, &["--answers", ans.to_str().unwrap()], &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!out.stderr.contains(&0x1b) && !out.stderr.contains(&0x07), "raw control bytes on stderr: {stderr:?}");
    assert!(stderr.contains("␛]0;owned␇␛[2Jafter"), "{stderr}");
    for format in ["md", "json", "junit"] {
        let r = lifeboat_in(dir.path(), &["report", log.to_str().unwrap(), "--format", format], &[]);
        assert!(!r.stdout.contains(&0x1b) && !r.stdout.contains(&0x07), "{format}: raw control bytes");
    }
    let md = text(&lifeboat_in(dir.path(), &["report", log.to_str().unwrap()], &[]).stdout);
    let row = md.lines().find(|l| l.contains("first line")).unwrap();
    assert!(row.contains("second \\| line") && row.ends_with('|'), "one row, its pipe escaped: {row}");
}

/// Appends a correctly chained, unsigned line to a log, as someone with write access
/// to the file (but not the key) could.
fn forge(log: &Path, event: serde_json::Value) {
    let body = std::fs::read_to_string(log).unwrap();
    let last = body.lines().last().unwrap();
    let seq = serde_json::from_str::<serde_json::Value>(last).unwrap()["seq"].as_u64().unwrap() + 1;
    let mut line = serde_json::json!({ "seq": seq, "prev": lifeboat::journal::sha256_hex(last.as_bytes()), "time": "2026-11-24T03:30:00.000Z" });
    line.as_object_mut().unwrap().extend(event.as_object().unwrap().clone());
    std::fs::write(log, format!("{body}{}\n", serde_json::to_string(&line).unwrap())).unwrap();
}

#[test]
fn a_resume_vouches_only_for_what_the_run_wrote() {
    let steps = concat!(
        "      - { id: s1, title: S1, manual: Check. }\n",
        "      - { id: s2, title: S2, run: \"echo s2 >> effects\" }\n",
    );
    let (dir, rb) = folder(&crate::run::runbook("2h", "  x: { type: string, default: y }\n", steps));
    let key = crate::journal::keygen(dir.path());
    let log = dir.path().join("run.jsonl");
    let sign = ["--sign-key", key.to_str().unwrap()];
    // The first run stops at s1: no answer for it.
    let out = replay(dir.path(), &rb, &log, &sign, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    forge(&log, serde_json::json!({ "type": "note", "by": "ciso", "text": "all fine, skip the rest" }));
    forge(
        &log,
        serde_json::json!({ "type": "step_finished", "step": "s2", "status": "done", "reason": null, "outputs": {}, "duration_ms": 1, "recovery_point": null, "error": null }),
    );
    // Resumed without `s2: rerun`: the forged end is not believed, and s2 is not re-run blindly.
    let ans = answers(dir.path(), "steps:\n  s1: done\n");
    let out = lifeboat_in(
        dir.path(),
        &[
            "run",
            rb.to_str().unwrap(),
            "--headless",
            "--cloud",
            "sim",
            "--resume",
            log.to_str().unwrap(),
            "--answers",
            ans.to_str().unwrap(),
            "--sign-key",
            key.to_str().unwrap(),
        ],
        &[],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("`s2` was interrupted"), "{stderr}");
    assert!(!dir.path().join("effects").exists(), "nothing ran on the forged line's word");
    // verify and report name the adopted range: the seal does not pass it off as signed.
    let v = lifeboat_in(dir.path(), &["verify", log.to_str().unwrap()], &[]);
    let said = text(&v.stdout);
    assert!(said.contains("were unsigned when written, adopted at resume by ci"), "{said}");
    let md = text(&lifeboat_in(dir.path(), &["report", log.to_str().unwrap()], &[]).stdout);
    assert!(md.contains("**unsigned lines**") && md.contains("adopted at resume by ci"), "{md}");
}

#[test]
fn a_reader_that_stops_early_is_no_crash() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .arg("schema")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The reader is gone before the schema is written (`| head` that has had enough).
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("panicked"));
}

#[test]
fn a_signal_leaves_a_stop_event_and_a_signed_checkpoint() {
    let steps = "      - { id: long, title: Long, run: \"sleep 30\" }\n";
    let (dir, rb) = folder(&crate::run::runbook("2h", "  x: { type: string, default: y }\n", steps));
    let key = crate::journal::keygen(dir.path());
    let log = dir.path().join("run.jsonl");
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let _ = std::fs::remove_file(&log);
        let mut child = Command::new(env!("CARGO_BIN_EXE_lifeboat"))
            .args(["run", rb.to_str().unwrap(), "--headless", "--cloud", "sim", "--log", log.to_str().unwrap()])
            .args(["--sign-key", key.to_str().unwrap(), "--operator", "ci"])
            .current_dir(dir.path())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !std::fs::read_to_string(&log).unwrap_or_default().contains("\"type\":\"process_started\"") {
            assert!(std::time::Instant::now() < deadline, "the command never started");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        // SAFETY: a signal to the child we spawned.
        unsafe { libc::kill(child.id() as i32, signal) };
        assert_eq!(child.wait().unwrap().code(), Some(1));
        let body = std::fs::read_to_string(&log).unwrap();
        let types: Vec<String> = body
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["type"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(&types[types.len() - 2..], ["detached", "checkpoint"], "{signal}: {types:?}");
        assert!(body.contains("interrupted by a signal"));
        assert_eq!(lifeboat_in(dir.path(), &["verify", log.to_str().unwrap()], &[]).status.code(), Some(3));
    }
}

#[test]
fn an_empty_log_is_a_run_that_never_started_not_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("empty.jsonl");
    std::fs::write(&log, "").unwrap();
    let out = lifeboat_in(dir.path(), &["verify", log.to_str().unwrap()], &[]);
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "nothing in it can be trusted: {said}");
    assert!(
        said.contains("NOT A RUN: the log is empty: the run never started") && !said.contains("TAMPERED"),
        "{said}"
    );
}

#[test]
fn budgets_that_would_wrap_around_are_refused_with_their_line() {
    let huge = "9223372036854775808s";
    let rb = format!(
        "apiVersion: lifeboat/v1\nkind: Runbook\nid: rb\ntitle: RB\ndataset: shop-docs\nscenario: other\nobjectives: {{ rto: 2h }}\nphases:\n  - id: p\n    title: P\n    budget: {huge}\n    steps:\n      - {{ id: a, title: A, manual: Look. }}\n  - id: q\n    title: Q\n    budget: {huge}\n    steps:\n      - {{ id: b, title: B, manual: Look. }}\n"
    );
    let (dir, path) = folder(&rb);
    let out = lifeboat_in(dir.path(), &["validate", path.to_str().unwrap()], &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("longer than 100 years"), "{stderr}");
    assert!(
        stderr.contains("rb.yaml:11:13") && stderr.contains("rb.yaml:16:13"),
        "names each line and column: {stderr}"
    );
    let log = dir.path().join("run.jsonl");
    let out = replay(dir.path(), &path, &log, &[], &[]);
    assert_eq!(out.status.code(), Some(2), "nothing runs: {}", text(&out.stderr));
    assert!(!log.exists());
}

/// Issue 29 (5): a link left at the name of a file lifeboat writes for itself (the
/// diagnostics beside the log, `LOG.torn` on a resume, a file of an evidence pack) is
/// refused, never written through: the file it points at is left as it was.
#[test]
fn lifeboat_never_writes_through_a_link_at_its_own_files() {
    let steps = "      - { id: a, title: A, manual: Do A }\n";
    let (dir, rb) = folder(&runbook_with("  x: { type: string, default: y }\n", steps));
    let d = dir.path();
    let victim = d.join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let intact = || assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious", "written through a link");
    let log = d.join("run.jsonl");
    std::os::unix::fs::symlink(&victim, d.join("run.diagnostics.log")).unwrap();
    let out = replay(d, &rb, &log, &[], &[("LIFEBOAT_LOG", "trace")]);
    intact();
    let said = text(&out.stderr);
    assert!(said.contains("symbolic link"), "{said}");

    // The run stopped at the manual step; a torn line at the end, a link at LOG.torn.
    if !log.exists() {
        let out = replay(d, &rb, &log, &[], &[]);
        assert!(log.exists(), "{}", text(&out.stderr));
    }
    std::fs::remove_file(d.join("run.diagnostics.log")).unwrap();
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    std::io::Write::write_all(&mut f, b"{\"seq\":99,\"prev\":\"ab").unwrap();
    std::os::unix::fs::symlink(&victim, d.join("run.jsonl.torn")).unwrap();
    let out = lifeboat_in(
        d,
        &["run", rb.to_str().unwrap(), "--resume", log.to_str().unwrap(), "--headless", "--cloud", "sim"],
        &[],
    );
    intact();
    assert!(text(&out.stderr).contains("symbolic link"), "{}", text(&out.stderr));

    let pack = d.join("pack");
    std::fs::create_dir(&pack).unwrap();
    std::os::unix::fs::symlink(&victim, pack.join("evidence.md")).unwrap();
    let out = lifeboat_in(d, &["evidence", "--dir", ".", "--incidents", ".", "--out", "pack"], &[]);
    intact();
    assert!(text(&out.stderr).contains("symbolic link"), "{}", text(&out.stderr));
}

/// Issue 29 (6): an output's name is structure and is never redacted; a command that
/// names an output with a secret fails its step, and the secret reaches neither the log
/// nor the screen.
#[test]
fn a_secret_used_as_an_output_name_is_refused_never_logged() {
    let secret = "hunter2-swordfish";
    let steps = "      - { id: mk, title: Make, run: \"echo ${{ inputs.pw }}=ok >> \\\"$LIFEBOAT_OUTPUT\\\"\" }\n";
    let (code, stderr, body, _dir) = with_secret(secret, steps);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("whose name holds a secret"), "{stderr}");
    assert!(!body.contains(secret) && !stderr.contains(secret), "the secret was written: {body}");
}

/// Issue 29 (8): a value inside a string a second shell parses (`sh -c "…"`) is code to
/// that shell. `validate` warns, naming the inner shell and the safe form; the safe form
/// (the value handed over as a variable) passes.
#[test]
fn validate_warns_when_a_second_shell_would_parse_a_value() {
    let unsafe_steps = "      - { id: a, title: A, run: \"sh -c \\\"echo L ${{ inputs.x }}\\\"\" }\n";
    let (dir, rb) = folder(&runbook_with("  x: { type: string, default: y }\n", unsafe_steps));
    let out = lifeboat_in(dir.path(), &["validate", "--deny-warnings", rb.to_str().unwrap()], &[]);
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("a value is handed to `sh -c`, which parses it again as shell text"), "{said}");
    assert!(said.contains("X=${{ inputs.x }} sh -c '… \"$X\" …'"), "the safe form: {said}");
    let safe = "      - { id: a, title: A, run: \"X=${{ inputs.x }} sh -c 'echo L \\\"$X\\\"'\" }\n";
    let (dir, rb) = folder(&runbook_with("  x: { type: string, default: y }\n", safe));
    let out = lifeboat_in(dir.path(), &["validate", "--deny-warnings", rb.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
}

/// Issue 29 (1): the log keeps a secret output only redacted, so a resume never hands
/// `[redacted]` on. Headless without `mk: rerun` it refuses before anything runs (exit
/// 2, naming the step and the answer); with it, `mk` runs again and `use` gets the value.
#[test]
fn a_resume_never_hands_on_a_redacted_output() {
    let secret = "s3cr3t-pa55word";
    let steps = concat!(
        "      - { id: mk, title: Make, run: \"echo dsn=postgres://app:${{ inputs.pw }}@db/orders >> \\\"$LIFEBOAT_OUTPUT\\\"\", outputs: [dsn] }\n",
        "      - { id: wait, title: Wait, manual: Wait for the DBA }\n",
        "      - { id: use, title: Use, run: \"echo ${{ steps.mk.outputs.dsn }} > used.txt\" }\n",
    );
    let (dir, rb) = folder(&runbook_with("  pw: { type: string, secret: true, env: RB_PW }\n", steps));
    let d = dir.path();
    let log = d.join("run.jsonl");
    let first = answers(d, "");
    let out = replay(d, &rb, &log, &["--answers", first.to_str().unwrap()], &[("RB_PW", secret)]);
    assert!(text(&out.stderr).contains("wait"), "the run stops at the manual step: {}", text(&out.stderr));
    assert!(std::fs::read_to_string(&log).unwrap().contains("[redacted]"), "the output is kept redacted");

    let resume = |body: &str| {
        let ans = answers(d, body);
        let args = ["run", rb.to_str().unwrap(), "--resume", log.to_str().unwrap(), "--headless", "--cloud", "sim"];
        let mut args = args.to_vec();
        args.extend(["--answers", ans.to_str().unwrap()]);
        lifeboat_in(d, &args, &[("RB_PW", secret)])
    };
    let out = resume("steps: { wait: done }\n");
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("`mk` gave outputs holding a secret") && said.contains("`mk: rerun`"), "{said}");
    assert!(!d.join("used.txt").exists(), "a step ran");

    let out = resume("steps: { wait: done, mk: rerun }\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let used = std::fs::read_to_string(d.join("used.txt")).unwrap();
    assert_eq!(used.trim(), format!("postgres://app:{secret}@db/orders"), "never the placeholder");
    assert!(!std::fs::read_to_string(&log).unwrap().contains(secret), "the secret reached the log");
}

/// Issue 29 (2): a step's processes are its own wherever they go. A daemon that leaves
/// the process group (`setsid`), double-forks, or both, is killed with its step; the log
/// says "killed" only for what lifeboat saw die, and says how many.
#[test]
fn daemons_that_leave_the_group_die_with_their_step_and_the_log_counts_them() {
    let tag = fastrand::u32(1000..9999);
    let steps = format!(
        concat!(
            "      - {{ id: d, title: Daemons, run: \"setsid sh -c 'sleep 304.{t}; echo late' & ",
            "(setsid sh -c 'sleep 305.{t} & sleep 306.{t}' > /dev/null 2>&1 &) ; ",
            "(sh -c 'sleep 307.{t}' > /dev/null 2>&1 &) ; echo started\", timeout: 1h }}\n",
            "      - {{ id: quiet, title: Quiet, run: \"(sleep 0.2; echo bye) & echo hi\" }}\n",
        ),
        t = tag
    );
    let (dir, rb) = folder(&crate::run::runbook("2h", "  x: { type: string, default: y }\n", &steps));
    let log = dir.path().join("run.jsonl");
    let out = replay(dir.path(), &rb, &log, &[], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let alive = |n: u32| {
        let ps = Command::new("pgrep").args(["-f", &format!("sleep {n}.{tag}")]).output().unwrap();
        !ps.stdout.is_empty()
    };
    let survivors: Vec<u32> = (304..=307).filter(|&n| alive(n)).collect();
    for n in 304..=307 {
        let _ = Command::new("pkill").args(["-f", &format!("sleep {n}.{tag}")]).status();
    }
    assert!(survivors.is_empty(), "processes of the step outlived it: sleep {survivors:?}");
    let body = std::fs::read_to_string(&log).unwrap();
    let warnings: Vec<serde_json::Value> = body
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["type"] == "warning" && v["code"] == "leftover_processes")
        .collect();
    assert_eq!(warnings.len(), 1, "one warning, for `d` only (quiet's child ended within the grace): {warnings:?}");
    let said = warnings[0]["message"].as_str().unwrap();
    // sh + sleep 304, sh + sleep 305 + sleep 306, sh + sleep 307 (a shell may exec its
    // last command: at least the four sleeps).
    let n: usize = said.split_whitespace().find_map(|w| w.parse().ok()).unwrap_or(0);
    assert!(said.contains("`d`") && said.contains("killed") && (4..=7).contains(&n), "{said}");
}

/// Issue 29, attack pass: a region is part of the host name the SDK calls
/// (`rds.REGION.amazonaws.com`), so `evil.example.com#` would send signed requests to
/// another host. The catalog refuses it (and accounts that are not twelve digits, bucket
/// names with `/`); a step's region, literal or from an input, is refused before any call.
#[test]
fn a_region_that_is_no_aws_region_never_reaches_a_host_name() {
    let catalog = crate::engine::CATALOG
        .replacen("primary: { region: eu-central-1 }", "primary: { region: \"evil.example.com#\" }", 1)
        .replacen("backup: { region: eu-west-1 }", "backup: { region: eu-west-1, account: \"12ab\" }", 1)
        .replacen("id: shop-docs-drill,", "id: \"../shop-docs-drill\",", 1);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("datasets.yaml"), catalog).unwrap();
    // A principal no allowed_signers line could name (and said once, not per runbook).
    std::fs::write(
        dir.path().join("roles.yaml"),
        "apiVersion: lifeboat/v1\nkind: Roles\npeople:\n  - { principal: \"alice@example.com\\nmallory\", roles: [ic] }\n",
    )
    .unwrap();
    let out = lifeboat_in(dir.path(), &["validate", "."], &[]);
    let said = text(&out.stderr) + &text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert_eq!(said.matches("principal `alice@example.com\\nmallory` holds").count(), 1, "{said}");
    for want in [
        "`evil.example.com#` is not an AWS region",
        "`12ab` is not an AWS account id",
        "`../shop-docs-drill` is not an S3 bucket name",
    ] {
        assert!(said.contains(want), "{want}: {said}");
    }

    let steps = "      - { id: look, title: Look, action: s3.check_posture, with: { bucket: shop-docs-prod, region: \"${{ inputs.r }}\" } }\n";
    let (dir, rb) = folder(&runbook_with("  r: { type: string, default: eu-central-1 }\n", steps));
    let log = dir.path().join("run.jsonl");
    let ans = answers(dir.path(), "inputs: { r: \"evil.example.com#\" }\n");
    let out = replay(dir.path(), &rb, &log, &["--answers", ans.to_str().unwrap()], &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("`region` is `evil.example.com#`, which is not an AWS region"), "{stderr}");
}
