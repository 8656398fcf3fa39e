//! Trust by proof: no verdict rests on something anyone can type — an unsigned line, a
//! typed name, a local endpoint, an environment variable a script can read. Each test
//! reproduces an attack through the real binary.

use std::path::Path;
use std::process::Command;

use crate::run::{answers, folder, lifeboat_in, replay, runbook};
use crate::text;

/// A passphrase-protected ed25519 key made by the real ssh-keygen.
fn keygen_with(dir: &Path, passphrase: &str) -> std::path::PathBuf {
    let key = dir.join("id_protected");
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-C", "ops@example", "-N", passphrase, "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(ok.success());
    key
}

#[test]
fn a_command_never_sees_the_signing_secrets_and_credentials_never_reach_the_log() {
    let steps = concat!(
        "      - { id: show, title: Show, run: \"env; env | grep -c '^LIFEBOAT_SIGN_KEY' || true\" }\n",
        "      - { id: peek, title: Peek, run: \"echo ${{ env.LIFEBOAT_SIGN_KEY_PASSPHRASE }}\" }\n",
    );
    let (dir, rb) = folder(&runbook("1h", "  x: { type: string, default: y }\n", steps));
    const PASSPHRASE: &str = "correct-horse-battery";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const TOKEN: &str = "FwoGZXIvYXdzEJr//////////wEaDM-session-token";
    let key = keygen_with(dir.path(), PASSPHRASE);
    let ans = answers(dir.path(), "");
    let log = dir.path().join("run.jsonl");
    let out = replay(
        dir.path(),
        &rb,
        &log,
        &["--answers", ans.to_str().unwrap()],
        &[
            ("LIFEBOAT_SIGN_KEY", key.to_str().unwrap()),
            ("LIFEBOAT_SIGN_KEY_PASSPHRASE", PASSPHRASE),
            ("AWS_SECRET_ACCESS_KEY", SECRET),
            ("AWS_SESSION_TOKEN", TOKEN),
        ],
    );
    let stderr = text(&out.stderr);
    // `peek` cannot read the passphrase: the run fails there, naming why.
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("`env.LIFEBOAT_SIGN_KEY_PASSPHRASE` is lifeboat's signing secret"), "{stderr}");
    let body = std::fs::read_to_string(&log).unwrap();
    assert!(body.contains("\"signer\":\"ssh-ed25519"), "the run was signed with the key from the environment");
    for leaked in [PASSPHRASE, SECRET, TOKEN, key.to_str().unwrap()] {
        assert!(!body.contains(leaked), "{leaked} reached the log");
        assert!(!stderr.contains(leaked), "{leaked} reached the screen");
    }
    // The command still acts as the operator (the AWS variables pass, redacted in the log),
    // but the signing variables are not in its environment at all.
    assert!(body.contains("AWS_SECRET_ACCESS_KEY=[redacted]"), "{body}");
    assert!(!body.contains("LIFEBOAT_SIGN_KEY=") && !body.contains("LIFEBOAT_SIGN_KEY_PASSPHRASE="), "{body}");
    // The count is the output's last line (alone in its batch, or after the others).
    assert!(body.contains("\"text\":\"0\"") || body.contains("\\n0\"}"), "grep counted no signing variable: {body}");
    let md = text(&lifeboat_in(dir.path(), &["report", log.to_str().unwrap()], &[]).stdout);
    assert!(!md.contains(SECRET) && !md.contains(PASSPHRASE), "{md}");
}

/// Appends a correctly chained, unsigned line at `time`, as someone with write access to
/// the file (but not the key) could.
pub(crate) fn forge_at(log: &Path, time: &str, event: serde_json::Value) {
    let body = std::fs::read_to_string(log).unwrap();
    let last = body.lines().last().unwrap();
    let seq = serde_json::from_str::<serde_json::Value>(last).unwrap()["seq"].as_u64().unwrap() + 1;
    let mut line =
        serde_json::json!({ "seq": seq, "prev": lifeboat::journal::sha256_hex(last.as_bytes()), "time": time });
    line.as_object_mut().unwrap().extend(event.as_object().unwrap().clone());
    std::fs::write(log, format!("{body}{}\n", serde_json::to_string(&line).unwrap())).unwrap();
}

fn lines_of(log: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn an_unsigned_line_appended_before_a_resume_never_sets_the_clock_or_the_milestone() {
    let steps = concat!(
        "      - { id: a, title: A, wait: 100m }\n",
        "      - { id: b, title: B, manual: Look. }\n",
        "      - { id: c, title: C, wait: 30m, milestone: service-restored }\n",
    );
    let (dir, rb) = folder(&runbook("2h", "  x: { type: string, default: y }\n", steps));
    let key = crate::journal::keygen(dir.path());
    let log = dir.path().join("run.jsonl");
    let sign = ["--sign-key", key.to_str().unwrap(), "--speed", "1000"];
    let out = replay(dir.path(), &rb, &log, &sign, &[]);
    assert_eq!(out.status.code(), Some(1), "stops at the manual step: {}", text(&out.stderr));
    let lines = lines_of(&log);
    let incident = lines[0]["incident_started_at"].as_str().unwrap().to_string();
    let a_done = lines.iter().find(|l| l["type"] == "step_finished" && l["step"] == "a").unwrap()["time"]
        .as_str()
        .unwrap()
        .to_string();
    // Two chained, unsigned lines dated a minute into the incident: a note and the milestone.
    let early: lifeboat::runbook::time::Timestamp = incident.parse().unwrap();
    let early = early.checked_add(jiff::SignedDuration::from_secs(60)).unwrap().to_string();
    forge_at(&log, &early, serde_json::json!({ "type": "note", "by": "ciso", "text": "clock check" }));
    forge_at(&log, &early, serde_json::json!({ "type": "milestone", "name": "service-restored" }));
    let ans = answers(dir.path(), "steps:\n  b: done\n");
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
            "--speed",
            "1000",
        ],
        &[],
    );
    let stderr = text(&out.stderr);
    // 100m + 30m of waits cannot meet a 2h RTO, whatever the appended lines say.
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("(not met"), "{stderr}");
    let lines = lines_of(&log);
    let resumed = lines.iter().find(|l| l["type"] == "resumed").unwrap();
    assert!(resumed["time"].as_str().unwrap() >= a_done.as_str(), "the clock went back: {resumed} before {a_done}");
    let v = lifeboat_in(dir.path(), &["verify", log.to_str().unwrap()], &[]);
    assert!(text(&v.stdout).contains("adopted at resume by ci"), "{}", text(&v.stdout));
}

#[test]
fn report_never_vouches_for_an_ending_no_signature_covers() {
    let (dir, rb) =
        folder(&runbook("1h", "  x: { type: string, default: y }\n", "      - { id: a, title: A, run: \"exit 3\" }\n"));
    let key = crate::journal::keygen(dir.path());
    let log = dir.path().join("run.jsonl");
    let out = replay(dir.path(), &rb, &log, &["--sign-key", key.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    // Cut the signed log after the failed step's checkpoint, drop its seal, and append
    // an unsigned milestone and a successful ending.
    let body = std::fs::read_to_string(&log).unwrap();
    let kept: Vec<&str> = body.lines().collect();
    let cut = kept.iter().position(|l| l.contains("\"type\":\"step_finished\"")).unwrap() + 2;
    assert!(kept[cut - 1].contains("\"type\":\"checkpoint\""), "the step's end is signed at once");
    std::fs::write(&log, kept[..cut].iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    std::fs::remove_file(lifeboat::journal::sig_path(&log)).unwrap();
    let time = lines_of(&log).last().unwrap()["time"].as_str().unwrap().to_string();
    forge_at(&log, &time, serde_json::json!({ "type": "milestone", "name": "service-restored" }));
    forge_at(
        &log,
        &time,
        serde_json::json!({ "type": "run_finished", "status": "succeeded", "reason": null, "rto_ms": 1000, "rto_met": true, "rpo_ms": null, "rpo_met": null, "service_restored": true }),
    );
    let report = |format: &str| {
        let out = lifeboat_in(dir.path(), &["report", log.to_str().unwrap(), "--format", format], &[]);
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    let (code, md, err) = report("md");
    assert_eq!(code, Some(1), "{md}{err}");
    let heading = md.lines().next().unwrap();
    assert!(!heading.contains("succeeded") && heading.contains("NOT PROVEN"), "{heading}");
    assert!(err.contains("carry no signature"), "{err}");
    let (code, json, _) = report("json");
    assert_eq!(code, Some(1));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_ne!(v["status"], "succeeded", "{json}");
    assert_ne!(v["rto_met"], true, "{json}");
    let (code, xml, _) = report("junit");
    assert_eq!(code, Some(1));
    let rto_case = xml.split("<testcase").find(|c| c.contains("name=\"objective RTO\"")).unwrap();
    assert!(rto_case.contains("<failure"), "{rto_case}");

    // A genesis and fifty-one forged lines, no checkpoint at all: the same.
    let genesis = body.lines().next().unwrap();
    std::fs::write(&log, format!("{genesis}\n")).unwrap();
    for i in 0..50 {
        forge_at(&log, &time, serde_json::json!({ "type": "note", "by": "x", "text": format!("n{i}") }));
    }
    forge_at(
        &log,
        &time,
        serde_json::json!({ "type": "run_finished", "status": "succeeded", "reason": null, "rto_ms": 1000, "rto_met": true, "rpo_ms": null, "rpo_met": null, "service_restored": true }),
    );
    let (code, md, _) = report("md");
    assert_eq!(code, Some(1), "{md}");
    assert!(!md.lines().next().unwrap().contains("succeeded"), "{md}");
}

#[test]
fn a_resume_under_an_edited_catalog_is_refused_naming_what_changed() {
    let steps =
        "      - { id: b, title: B, manual: Look. }\n      - { id: c, title: C, run: \"echo ran > effects\" }\n";
    let (dir, rb) = folder(&runbook("2h", "  x: { type: string, default: y }\n", steps));
    let log = dir.path().join("run.jsonl");
    let out = replay(dir.path(), &rb, &log, &[], &[]);
    assert_eq!(out.status.code(), Some(1), "stops at the manual step: {}", text(&out.stderr));
    let genesis = &lines_of(&log)[0];
    assert_eq!(genesis["catalog_sha256"].as_str().map(str::len), Some(64), "{genesis}");
    // Between the stop and the resume, the drill bucket is relabelled production's.
    let catalog = dir.path().join("datasets.yaml");
    let edited = std::fs::read_to_string(&catalog).unwrap().replace(
        "{ kind: s3-bucket, id: shop-docs-drill, role: drill }",
        "{ kind: s3-bucket, id: shop-docs-drill, role: production }",
    );
    std::fs::write(&catalog, edited).unwrap();
    let ans = answers(dir.path(), "steps:\n  b: done\n");
    let resume = ["--resume", log.to_str().unwrap(), "--answers", ans.to_str().unwrap()];
    let out = lifeboat_in(
        dir.path(),
        &[&["run", rb.to_str().unwrap(), "--headless", "--cloud", "sim"][..], &resume[..]].concat(),
        &[],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("changed since this run began"), "{stderr}");
    assert!(
        stderr.contains("`s3-bucket shop-docs-drill drill eu-central-1`")
            && stderr.contains("`s3-bucket shop-docs-drill production eu-central-1`"),
        "names the resource then and now: {stderr}"
    );
    assert!(!dir.path().join("effects").exists(), "nothing ran");
}

/// A folder with a trust root naming `key`, an `incidents/` folder, and the test runbook.
fn trusted_folder(steps: &str, inputs: &str) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let (dir, rb) = folder(&runbook("2h", inputs, steps));
    let key = crate::journal::keygen(dir.path());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    std::fs::write(dir.path().join("allowed_signers"), format!("ops@example {public}")).unwrap();
    std::fs::create_dir(dir.path().join("incidents")).unwrap();
    (dir, rb, key)
}

fn evidence_json(dir: &Path, extra: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let out = lifeboat_in(
        dir,
        &[&["evidence", "--dir", ".", "--incidents", "incidents", "--out", "pack"][..], extra].concat(),
        &[],
    );
    let json =
        std::fs::read_to_string(dir.join("pack/evidence.json")).unwrap_or_else(|_| panic!("{}", text(&out.stderr)));
    (out.status.code(), serde_json::from_str(&json).unwrap(), text(&out.stdout))
}

#[test]
fn a_rehearsal_of_a_past_incident_is_dated_when_it_ran_and_a_copy_of_its_log_counts_once() {
    let (dir, rb, key) =
        trusted_folder("      - { id: a, title: A, manual: Look. }\n", "  incident_at: { type: timestamp }\n");
    let ans = answers(dir.path(), "inputs: { incident_at: \"2026-11-24T03:00:00Z\" }\nsteps:\n  a: done\n");
    let log = dir.path().join("incidents/rehearsal.jsonl");
    let before = lifeboat::runbook::time::Timestamp::now();
    let out = lifeboat_in(
        dir.path(),
        &[
            "tabletop",
            rb.to_str().unwrap(),
            "--headless",
            "--answers",
            ans.to_str().unwrap(),
            "--log",
            log.to_str().unwrap(),
            "--sign-key",
            key.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines = lines_of(&log);
    assert!(lines[0]["time"].as_str().unwrap().starts_with("2026-11-24"), "the run's clock is the incident's");
    let wall: lifeboat::runbook::time::Timestamp = lines[0]["wall"].as_str().unwrap().parse().unwrap();
    assert!(wall >= before.checked_sub(jiff::SignedDuration::from_secs(1)).unwrap(), "wall {wall} is now");
    assert!(lines.iter().filter(|l| l["type"] == "checkpoint").all(|l| l["wall"].is_string()));

    // A pack for the period since the run began lists it.
    let since = before.checked_sub(jiff::SignedDuration::from_secs(60)).unwrap().to_string();
    let (_, pack, said) = evidence_json(dir.path(), &["--since", &since]);
    let runs = &pack["datasets"][0]["runs"];
    assert_eq!(runs.as_array().map(Vec::len), Some(1), "{said}\n{pack:#}");
    assert!(runs[0]["started"].as_str().unwrap() >= since.as_str(), "{:#}", runs[0]);

    // Two copies of the log under other names, one of them edited: one run, two copies skipped.
    let sig = lifeboat::journal::sig_path(&log);
    for name in ["copy", "edited"] {
        let copy = dir.path().join(format!("incidents/{name}.jsonl"));
        std::fs::copy(&log, &copy).unwrap();
        std::fs::copy(&sig, lifeboat::journal::sig_path(&copy)).unwrap();
    }
    let edited = dir.path().join("incidents/edited.jsonl");
    let body = std::fs::read_to_string(&edited).unwrap().replacen("\"by\":\"ci\"", "\"by\":\"cj\"", 1);
    std::fs::write(&edited, body).unwrap();
    let (_, pack, said) = evidence_json(dir.path(), &["--since", &since]);
    let runs = pack["datasets"][0]["runs"].as_array().unwrap().clone();
    assert_eq!(runs.len(), 1, "{said}\n{pack:#}");
    assert_eq!(
        runs[0]["log"].as_str().map(|l| l.ends_with("copy.jsonl") || l.ends_with("rehearsal.jsonl")),
        Some(true)
    );
    assert_eq!(runs[0]["counts"], true, "{:#}", runs[0]);
    let copies = pack["copies"].as_array().unwrap();
    assert_eq!(copies.len(), 2, "{copies:?}");
    let tampered = copies.iter().find(|c| c["log"].as_str().unwrap().ends_with("edited.jsonl")).unwrap();
    assert!(tampered["tampered"].as_str().is_some_and(|t| t.starts_with("TAMPERED")), "{tampered}");
    let md = std::fs::read_to_string(dir.path().join("pack/evidence.md")).unwrap();
    assert!(md.contains("skipped as copies of a run already listed"), "{md}");
}

#[test]
fn a_signer_whose_name_only_looks_different_from_the_operators_is_the_operator_under_four_eyes() {
    let (dir, rb, [_, dana, erik]) = people(FOUR_EYES);
    let until = lifeboat::runbook::time::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(3600))
        .unwrap()
        .to_string();
    for (who, key) in [("dana", &dana), ("erik", &erik)] {
        let out = lifeboat_in(
            dir.path(),
            &[
                &["approve", rb.to_str().unwrap(), "--step", "go", "--standing", "--until", &until][..],
                &["--sign-key", key.to_str().unwrap(), "--out", &format!("{who}.json")],
            ]
            .concat(),
            &[],
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    // Dana runs the incident under names that only look different from her principal.
    for operator in
        ["dana\u{2010}example".replace('\u{2010}', "@"), "DANA@example".into(), "dana\u{200B}@example".into()]
    {
        let ans = dir.path().join("answers.yaml");
        std::fs::write(
            &ans,
            format!(
                "apiVersion: lifeboat/v1\nkind: Answers\noperator: \"{operator}\"\nsteps:\n  go: [{{ signed: dana.json }}, {{ signed: erik.json }}]\n"
            ),
        )
        .unwrap();
        let log = dir.path().join(format!("{}.jsonl", fastrand::u64(..)));
        let out = replay(dir.path(), &rb, &log, &["--answers", ans.to_str().unwrap()], &[]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{operator:?}: {stderr}");
        let body = std::fs::read_to_string(&log).unwrap();
        assert!(body.contains("dana@example runs this incident: four eyes needs someone else"), "{operator:?}: {body}");
        assert!(!dir.path().join("effects").exists(), "nothing ran past the approval");
    }
}

/// A run's folder where three people hold keys the trust root names: `ops` signs the
/// run's log, `dana` and `erik` are incident commanders in the roles file.
pub(crate) fn people(steps: &str) -> (tempfile::TempDir, std::path::PathBuf, [std::path::PathBuf; 3]) {
    let (dir, rb) = folder(&runbook("2h", "  x: { type: string, default: y }\n", steps));
    let mut trust = String::new();
    let keys = ["ops", "dana", "erik"].map(|who| {
        let home = dir.path().join(format!("keys-{who}"));
        std::fs::create_dir(&home).unwrap();
        let key = crate::journal::keygen(&home);
        trust += &format!("{who}@example {}", std::fs::read_to_string(key.with_extension("pub")).unwrap());
        key
    });
    std::fs::write(dir.path().join("allowed_signers"), trust).unwrap();
    std::fs::write(
        dir.path().join("roles.yaml"),
        "apiVersion: lifeboat/v1\nkind: Roles\npeople:\n  - { principal: dana@example, roles: [ic] }\n  - { principal: erik@example, roles: [ic] }\n  - { principal: fay@example, roles: [ic] }\n  - { principal: ops@example, roles: [sre] }\n",
    )
    .unwrap();
    (dir, rb, keys)
}

const FOUR_EYES: &str = "      - { id: go, title: Go, approval: { role: ic, approvers: 2, four_eyes: true, description: Fail over } }\n      - { id: after, title: After, run: \"echo ran > effects\" }\n";

#[test]
fn under_four_eyes_a_typed_name_is_a_denial_at_the_step_and_validate_says_so_first() {
    let (dir, rb, [ops, ..]) = people(FOUR_EYES);
    let ans = answers(
        dir.path(),
        "runbook: rb\nsteps:\n  go: [{ approve: true, by: dana, role: ic }, { approve: true, by: erik, role: ic }]\n",
    );
    let v = lifeboat_in(dir.path(), &["validate", rb.to_str().unwrap(), ans.to_str().unwrap()], &[]);
    let said = text(&v.stderr);
    assert_eq!(v.status.code(), Some(0), "a warning, not an error: {said}");
    assert!(said.contains("a typed name cannot approve `go`: it needs signed approvals"), "{said}");
    let log = dir.path().join("run.jsonl");
    let out =
        replay(dir.path(), &rb, &log, &["--answers", ans.to_str().unwrap(), "--sign-key", ops.to_str().unwrap()], &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("dana is a typed name, and `go` needs signed approvals"), "{stderr}");
    assert!(!dir.path().join("effects").exists(), "nothing ran past the approval");
}

/// A signed, headless run of `rb` that waits up to `wait` for approvals from its inbox.
fn awaiting_approvals(dir: &Path, rb: &Path, log: &Path, ans: &Path, key: &Path, wait: &str) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args(["run", rb.to_str().unwrap(), "--headless", "--cloud", "sim", "--log", log.to_str().unwrap()])
        .args(["--answers", ans.to_str().unwrap(), "--sign-key", key.to_str().unwrap(), "--await-approvals", wait])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("LIFEBOAT_OPERATOR", "ci")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn two_signed_approvals_from_the_inbox_pass_four_eyes_and_the_log_alone_proves_them() {
    let (dir, rb, [ops, dana, erik]) = people(FOUR_EYES);
    let ans = answers(dir.path(), "");
    let log = dir.path().join("run.jsonl");
    let child = awaiting_approvals(dir.path(), &rb, &log, &ans, &ops, "40s");
    let asks = |n: usize| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let waiting = std::fs::read_to_string(&log)
                .unwrap_or_default()
                .lines()
                .filter(|l| l.contains("\"type\":\"step_waiting\"") && l.contains("\"step\":\"go\""))
                .count();
            if waiting >= n {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "the run never asked for approval {n}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    let approve = |key: &Path| {
        lifeboat_in(
            dir.path(),
            &["approve", log.to_str().unwrap(), "--step", "go", "--sign-key", key.to_str().unwrap()],
            &[],
        )
    };
    asks(1);
    // The run's own key cannot approve it.
    let own = approve(&ops);
    assert_eq!(own.status.code(), Some(2), "{}", text(&own.stderr));
    assert!(text(&own.stderr).contains("a run cannot approve itself"), "{}", text(&own.stderr));
    let first = approve(&dana);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    asks(2);
    // Dana again (a second file, the same key): refused as the same person; Erik counts.
    let again = approve(&dana);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    asks(3);
    let second = approve(&erik);
    assert_eq!(second.status.code(), Some(0), "{}", text(&second.stderr));
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(dir.path().join("effects").exists(), "the step after the approval ran");
    let lines = lines_of(&log);
    let signed: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["type"] == "answer" && l["signed"].is_object()).collect();
    assert_eq!(signed.len(), 2, "{lines:#?}");
    assert_eq!(signed.iter().map(|l| l["by"].as_str().unwrap()).collect::<Vec<_>>(), ["dana@example", "erik@example"]);
    assert!(lines.iter().any(|l| l["type"] == "warning" && l["code"] == "same_approver"), "dana twice is one approver");
    // The log alone proves each approval, with stock ssh-keygen.
    for (l, who) in signed.iter().zip(["dana@example", "erik@example"]) {
        let doc = dir.path().join("doc.json");
        let sig = dir.path().join("doc.json.sig");
        std::fs::write(&doc, l["signed"]["document"].as_str().unwrap()).unwrap();
        std::fs::write(&sig, l["signed"]["signature"].as_str().unwrap()).unwrap();
        let ok = std::process::Command::new("ssh-keygen")
            .args(["-Y", "verify", "-f"])
            .arg(dir.path().join("allowed_signers"))
            .args(["-I", who, "-n", "lifeboat-approval", "-s"])
            .arg(&sig)
            .stdin(std::fs::File::open(&doc).unwrap())
            .output()
            .unwrap();
        assert!(ok.status.success(), "{who}: {}", text(&ok.stderr));
    }
    let v = lifeboat_in(dir.path(), &["verify", log.to_str().unwrap(), "--dir", "."], &[]);
    assert_eq!(v.status.code(), Some(0), "{}", text(&v.stdout));
    let md = text(&lifeboat_in(dir.path(), &["report", log.to_str().unwrap(), "--dir", "."], &[]).stdout);
    assert!(md.contains("approved `go` (signed, SHA256:"), "{md}");
    // The README's auditor recipe, as written, checks each approval with stock tools.
    let readme = std::fs::read_to_string(crate::root().join("README.md")).unwrap();
    let at = readme.find("signer's principal):\n\n```sh\n").expect("the recipe in README");
    let recipe = &readme[at..].split("```").nth(1).unwrap()["sh\n".len()..];
    for (n, who) in ["dana@example", "erik@example"].iter().enumerate() {
        let out = std::process::Command::new("bash")
            .args(["-euo", "pipefail", "-c", recipe])
            .current_dir(dir.path())
            .env("LOG", &log)
            .env("N", n.to_string())
            .env("WHO", who)
            .output()
            .unwrap();
        assert!(out.status.success(), "{who}: {}{}", text(&out.stdout), text(&out.stderr));
        let said = text(&out.stdout);
        let hashes: Vec<&str> = said.lines().filter(|l| l.len() == 64).collect();
        assert!(hashes.len() == 2 && hashes[0] == hashes[1], "{who}: {said}");
        assert!(said.contains(&format!("Good \"lifeboat-approval\" signature for {who}")), "{said}");
    }
}

#[test]
fn standing_approvals_serve_rehearsals_of_exactly_that_runbook_until_their_time() {
    let (dir, rb, [_, dana, erik]) = people(FOUR_EYES);
    let until = lifeboat::runbook::time::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(3600))
        .unwrap()
        .to_string();
    for (who, key) in [("dana", &dana), ("erik", &erik)] {
        let out = lifeboat_in(
            dir.path(),
            &[
                "approve",
                rb.to_str().unwrap(),
                "--step",
                "go",
                "--standing",
                "--until",
                &until,
                "--sign-key",
                key.to_str().unwrap(),
                "--out",
                &format!("{who}.json"),
            ],
            &[],
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    let ans = answers(dir.path(), "steps:\n  go: [{ signed: dana.json }, { signed: erik.json }]\n");
    let v = lifeboat_in(dir.path(), &["validate", "--deny-warnings", rb.to_str().unwrap(), ans.to_str().unwrap()], &[]);
    assert_eq!(v.status.code(), Some(0), "{}", text(&v.stderr));
    let log = dir.path().join("run.jsonl");
    let out = replay(dir.path(), &rb, &log, &["--answers", ans.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(dir.path().join("effects").exists());

    // The runbook changes after the approvals were given: they no longer hold.
    std::fs::remove_file(dir.path().join("effects")).unwrap();
    let edited = std::fs::read_to_string(&rb).unwrap().replace("title: After", "title: After edited");
    std::fs::write(&rb, edited).unwrap();
    let log = dir.path().join("run2.jsonl");
    let out = replay(dir.path(), &rb, &log, &["--answers", ans.to_str().unwrap()], &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("another version of this runbook"), "{stderr}");
    assert!(!dir.path().join("effects").exists());
}

#[test]
fn validate_says_when_an_approval_can_never_be_given_with_signatures() {
    let (dir, rb) = folder(&runbook("2h", "  x: { type: string, default: y }\n", FOUR_EYES));
    let validate = || {
        let out = lifeboat_in(dir.path(), &["validate", rb.to_str().unwrap()], &[]);
        (out.status.code(), text(&out.stderr))
    };
    let (code, said) = validate();
    assert_eq!(code, Some(0), "warnings only: {said}");
    assert!(said.contains("`go` needs signed approvals, and there is no roles file"), "{said}");
    // Two approvers under four eyes need three people with the role: the operator may be one.
    std::fs::write(
        dir.path().join("roles.yaml"),
        "apiVersion: lifeboat/v1\nkind: Roles\npeople:\n  - { principal: dana@example, roles: [ic] }\n  - { principal: erik@example, roles: [ic] }\n",
    )
    .unwrap();
    let (_, said) = validate();
    assert!(said.contains("role `ic` has 2 people in the roles file; this approval needs 3"), "{said}");
    std::fs::write(dir.path().join("roles.yaml"), "apiVersion: lifeboat/v1\nkind: Roles\npeople:\n  - { principal: dana@example, roles: [] }\n  - { principal: dana@example, roles: [ic] }\n").unwrap();
    let out = lifeboat_in(dir.path(), &["validate", dir.path().join("roles.yaml").to_str().unwrap()], &[]);
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("principal `dana@example` is listed twice") && said.contains("roles.yaml:5:"), "{said}");
}

/// Issue 29, attack pass: the inbox is written by other people. A named pipe (which
/// would block the reader for ever), a link, and a file too big to be an approval are
/// passed over; the real approvals after them still count, both, though they arrive
/// together.
#[test]
fn the_inbox_passes_over_pipes_links_and_giant_files_and_still_takes_approvals() {
    let (dir, rb, [ops, dana, erik]) = people(FOUR_EYES);
    let ans = answers(dir.path(), "");
    let log = dir.path().join("run.jsonl");
    let inbox = dir.path().join("run.jsonl.inbox");
    let child = awaiting_approvals(dir.path(), &rb, &log, &ans, &ops, "20s");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !std::fs::read_to_string(&log).unwrap_or_default().contains("\"type\":\"step_waiting\"") {
        assert!(std::time::Instant::now() < deadline, "the run never asked");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::fs::create_dir_all(&inbox).unwrap();
    // Sorted before the real ones: each would be read first.
    let fifo = inbox.join("0-a.json");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    std::fs::write(inbox.join("0-a.json.sig"), "x").unwrap();
    std::os::unix::fs::symlink("/etc/hostname", inbox.join("0-b.json")).unwrap();
    std::fs::write(inbox.join("0-b.json.sig"), "x").unwrap();
    std::fs::write(inbox.join("0-c.json"), vec![b'{'; 50 << 20]).unwrap();
    std::fs::write(inbox.join("0-c.json.sig"), "x").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    // Both approvers sign while the run is held still, so it finds both at one look: the
    // second arrives while the first is being recorded (it was dropped: "not waiting").
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-STOP", &pid]).status().unwrap().success());
    for key in [&dana, &erik] {
        let out = lifeboat_in(
            dir.path(),
            &["approve", log.to_str().unwrap(), "--step", "go", "--sign-key", key.to_str().unwrap()],
            &[],
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    assert!(std::process::Command::new("kill").args(["-CONT", &pid]).status().unwrap().success());
    // A reader stuck on the pipe would hold the run for ever: a deadline, then a kill.
    let out = crate::run::finish_within(child, 60, "the run, on what lay in its inbox,");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let size = std::fs::metadata(&log).unwrap().len();
    assert!(size < 1 << 20, "the giant file did not reach the log ({size} bytes)");
}
