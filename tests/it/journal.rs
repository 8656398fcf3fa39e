//! The incident log as an auditor meets it: every example run verifies with lifeboat and
//! with stock ssh-keygen; every kind of tampering is found, on the right line.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use lifeboat::event::{Event, Genesis, Mode, Record, Verdict};
use lifeboat::journal::sign::Signer;
use lifeboat::journal::verify::{AllowedSigners, verify_bytes};
use lifeboat::journal::{Journal, sig_path};
use proptest::prelude::*;

use crate::{lifeboat, text};

pub fn keygen(dir: &Path) -> PathBuf {
    let key = dir.join("id_ed25519");
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-C", "ops@example", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(ok.success());
    key
}

pub fn allowed_signers(dir: &Path, key: &Path) -> PathBuf {
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let path = dir.join("allowed_signers");
    std::fs::write(&path, format!("ops@example {public}")).unwrap();
    path
}

/// An example runbook rehearsed with its answers, the log signed with `key`.
fn signed_tabletop(rb: &str, log: &Path, key: &Path) -> std::process::Output {
    crate::tabletop_example(rb, log, &["--sign-key", key.to_str().unwrap()])
}

fn ssh_keygen_verify(allowed: &Path, namespace: &str, sig: &Path, message: &[u8]) -> Result<(), String> {
    ssh_keygen_verify_as("ops@example", allowed, namespace, sig, message)
}

fn ssh_keygen_verify_as(
    identity: &str,
    allowed: &Path,
    namespace: &str,
    sig: &Path,
    message: &[u8],
) -> Result<(), String> {
    let mut child = Command::new("ssh-keygen")
        .args(["-Y", "verify", "-f"])
        .arg(allowed)
        .args(["-I", identity, "-n", namespace, "-s"])
        .arg(sig)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(message).unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.success() { Ok(()) } else { Err(text(&out.stderr)) }
}

#[test]
fn every_example_run_verifies_with_lifeboat_and_with_ssh_keygen() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path());
    let allowed = allowed_signers(dir.path(), &key);
    for rb in crate::example_runbooks() {
        let rb = rb.as_str();
        let log = dir.path().join(format!("{rb}.jsonl"));
        let out = signed_tabletop(rb, &log, &key);
        assert_eq!(out.status.code(), Some(0), "{rb}: {}", text(&out.stderr));
        let v = lifeboat(&["verify", log.to_str().unwrap(), "--allowed-signers", allowed.to_str().unwrap()]);
        assert_eq!(v.status.code(), Some(0), "{rb}: {}", text(&v.stdout));
        assert!(text(&v.stdout).contains("sealed and intact, signed") && text(&v.stdout).contains("ops@example"));

        let bytes = std::fs::read(&log).unwrap();
        ssh_keygen_verify(&allowed, "lifeboat-incident-log", &sig_path(&log), &bytes)
            .unwrap_or_else(|e| panic!("{rb}: {e}"));
        // Every checkpoint with nothing but `head -n N | ssh-keygen -Y verify`.
        let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
        let mut checkpoints = 0;
        for (n, line) in lines.iter().enumerate() {
            let record: Record = serde_json::from_slice(line).unwrap();
            if let Event::Checkpoint { signature, .. } = record.event {
                let sig = dir.path().join("cp.sig");
                std::fs::write(&sig, signature).unwrap();
                ssh_keygen_verify(&allowed, "lifeboat-checkpoint", &sig, &lines[..n].concat())
                    .unwrap_or_else(|e| panic!("{rb} line {}: {e}", n + 1));
                // A checkpoint signature can never pass for a seal.
                assert!(ssh_keygen_verify(&allowed, "lifeboat-incident-log", &sig, &lines[..n].concat()).is_err());
                checkpoints += 1;
            }
        }
        assert!(checkpoints >= 5, "{rb}: only {checkpoints} checkpoints");
    }
}

/// A small sealed, signed log written through the real journal.
fn small_log(dir: &Path, run_id: &str) -> (Vec<u8>, String) {
    let key = dir.join(format!("{run_id}.key"));
    if !key.exists() {
        let k = keygen(dir);
        std::fs::rename(&k, &key).unwrap();
        std::fs::rename(k.with_extension("pub"), key.with_extension("pub")).unwrap();
    }
    let path = dir.join(format!("{run_id}.jsonl"));
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(sig_path(&path));
    let signer = Signer::load(&key, || None).unwrap();
    let signer_key = signer.public_openssh();
    let mut j = Journal::create(&path, Some(signer)).unwrap();
    let t: lifeboat::runbook::time::Timestamp = "2026-11-24T03:00:00Z".parse().unwrap();
    j.append(
        t,
        Event::Genesis(Box::new(Genesis {
            tool_version: "test".into(),
            run_id: run_id.into(),
            runbook_id: "rb".into(),
            runbook_sha256: "ab".into(),
            answers_sha256: None,
            operator: "alice".into(),
            mode: Mode::Tabletop,
            signer: Some(signer_key),
            dataset: "ds".into(),
            incident_started_at: "2026-11-24T03:00:00Z".into(),
            rto_ms: 1,
            rpo_ms: 1,
            cloud: "sim".into(),
            clock_speed: 1,
            inputs: Default::default(),
            caller: None,
            provenance: Default::default(),
        })),
    )
    .unwrap();
    j.append(t, Event::PhaseStarted { phase: "assess".into(), budget_ms: 600_000 }).unwrap();
    j.append(t, Event::Note { by: "alice".into(), text: "paged at 03:02".into() }).unwrap();
    j.append(
        t,
        Event::Answer {
            step: Some("go".into()),
            verdict: Verdict::Approve,
            by: "alice".into(),
            role: Some("ic".into()),
            reason: None,
            signed: None,
        },
    )
    .unwrap();
    j.append(t, Event::Milestone { name: "service-restored".into() }).unwrap();
    j.seal(t).unwrap();
    (std::fs::read(&path).unwrap(), std::fs::read_to_string(sig_path(&path)).unwrap())
}

fn line_of(bytes: &[u8], index: usize) -> usize {
    bytes[..index].iter().filter(|&&b| b == b'\n').count() + 1
}

fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes.split_inclusive(|&b| b == b'\n').map(<[u8]>::to_vec).collect()
}

#[test]
fn any_single_changed_byte_is_found_on_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let (log, sig) = small_log(dir.path(), "run-a");
    assert!(verify_bytes(&log, Some(&sig), None).tampered.is_none());
    for i in 0..log.len() {
        for flip in [0x01u8, 0x20] {
            let mut bad = log.clone();
            bad[i] ^= flip;
            let r = verify_bytes(&bad, Some(&sig), None);
            let t = r.tampered.unwrap_or_else(|| panic!("byte {i} ^ {flip:#x} was not detected"));
            assert_eq!(t.line, line_of(&log, i), "byte {i} ^ {flip:#x} ({:?}): {}", log[i] as char, t.why);
        }
    }
}

#[test]
fn deleted_swapped_truncated_and_spliced_lines_are_found_on_the_right_line() {
    let dir = tempfile::tempdir().unwrap();
    let (log, sig) = small_log(dir.path(), "run-a");
    let (other, _) = small_log(dir.path(), "run-b");
    let ls = lines(&log);
    let theirs = lines(&other);
    let check = |bytes: Vec<u8>, want: usize, what: &str| {
        let t = verify_bytes(&bytes, Some(&sig), None).tampered.unwrap_or_else(|| panic!("{what} was not detected"));
        assert_eq!(t.line, want, "{what}: {}", t.why);
    };
    for i in 0..ls.len() {
        let mut v = ls.clone();
        v.remove(i);
        check(v.concat(), i + 1, &format!("deleting line {}", i + 1));
        // Cut after line i: everything from line i+1 is missing.
        check(ls[..i].concat(), i + 1, &format!("truncating to {i} lines"));
        // A line of another run, in place of this one or added before it.
        let mut v = ls.clone();
        v[i] = theirs[i].clone();
        check(v.concat(), i + 1, &format!("replacing line {} with another run's", i + 1));
        let mut v = ls.clone();
        v.insert(i, theirs[i].clone());
        check(v.concat(), i + 1, &format!("inserting another run's line at {}", i + 1));
    }
    for i in 0..ls.len() - 1 {
        for j in i + 1..ls.len() {
            let mut v = ls.clone();
            v.swap(i, j);
            check(v.concat(), i + 1, &format!("swapping lines {} and {}", i + 1, j + 1));
        }
    }
    // A whole log re-chained by someone without the key: the signatures fail.
    let forged = String::from_utf8(log.clone()).unwrap().replace("paged at 03:02", "paged at 03:20");
    assert!(verify_bytes(forged.as_bytes(), Some(&sig), None).tampered.is_some());
}

#[test]
fn the_signer_must_be_an_allowed_one_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let (log, sig) = small_log(dir.path(), "run-a");
    let public = std::fs::read_to_string(dir.path().join("run-a.key").with_extension("pub")).unwrap();
    let ok = AllowedSigners::parse(&format!("# auditors\nops@example {public}"));
    assert_eq!(verify_bytes(&log, Some(&sig), Some(&ok)).signer_identity.as_deref(), Some("ops@example"));
    let stranger = AllowedSigners::parse(
        "mallory ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ5x3J0y5vP6U7qVhYGcM8o9wS1x8yQ3T7QmHq4b2m9N",
    );
    assert!(verify_bytes(&log, Some(&sig), Some(&stranger)).tampered.is_some());
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Delete(usize, usize),
    Insert(usize, Vec<u8>),
    SwapLines(usize, usize),
    DuplicateLine(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(i, x)| Mutation::Flip(i, x)),
        (any::<usize>(), 1usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..16)).prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        any::<usize>().prop_map(Mutation::DuplicateLine),
    ]
}

fn apply(log: &[u8], m: &Mutation) -> Vec<u8> {
    let mut v = log.to_vec();
    match m {
        Mutation::Flip(i, x) => v[i % log.len()] ^= x,
        Mutation::Delete(i, n) => {
            let a = i % log.len();
            v.drain(a..(a + n).min(log.len()));
        }
        Mutation::Insert(i, b) => {
            let a = i % (log.len() + 1);
            v.splice(a..a, b.iter().copied());
        }
        Mutation::SwapLines(a, b) => {
            let mut ls = lines(log);
            let n = ls.len();
            ls.swap(a % n, b % n);
            v = ls.concat();
        }
        Mutation::DuplicateLine(i) => {
            let mut ls = lines(log);
            let l = ls[i % ls.len()].clone();
            ls.insert(i % ls.len(), l);
            v = ls.concat();
        }
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn no_random_mutation_verifies(muts in proptest::collection::vec(mutation(), 1..4)) {
        let dir = tempfile::tempdir().unwrap();
        let (log, sig) = small_log(dir.path(), "run-p");
        let mut bad = log.clone();
        for m in &muts {
            bad = apply(&bad, m);
        }
        prop_assume!(bad != log);
        let r = verify_bytes(&bad, Some(&sig), None);
        prop_assert!(r.tampered.is_some(), "a mutated log verified: {:?}", muts);
    }
}

/// lifeboat's answer about a sealed log equals `ssh-keygen -Y verify`'s over the same
/// allowed_signers file: principals with wildcards and negation, namespaces, validity
/// (at the log's own time, as `-Overify-time`), cert-authority, strangers' keys.
#[test]
fn allowed_signers_are_read_as_ssh_keygen_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path());
    let other = tempfile::tempdir().unwrap();
    let stranger = keygen(other.path());
    std::fs::write(dir.path().join("datasets.yaml"), crate::engine::CATALOG).unwrap();
    let rb = dir.path().join("rb.yaml");
    std::fs::write(
        &rb,
        crate::run::runbook(
            "1h",
            "  x: { type: string, default: y }\n",
            "      - { id: a, title: A, run: \"true\" }\n",
        ),
    )
    .unwrap();
    let log = dir.path().join("run.jsonl");
    let out = crate::run::replay(dir.path(), &rb, &log, &["--sign-key", key.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let body = std::fs::read(&log).unwrap();
    let sealed_at = String::from_utf8_lossy(&body)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["type"] == "sealed")
        .map(|v| v["time"].as_str().unwrap().to_string())
        .unwrap();
    let at: lifeboat::runbook::time::Timestamp = sealed_at.parse().unwrap();
    let verify_time = format!("-Overify-time={}Z", at.strftime("%Y%m%d%H%M%S"));
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap().trim().to_string();
    let theirs = std::fs::read_to_string(stranger.with_extension("pub")).unwrap().trim().to_string();
    let variants = [
        format!("ops@example {public}"),
        format!("*@example {public}"),
        format!("other@example {public}"),
        format!("dev@example,ops@example {public}"),
        format!("*,!ops@example {public}"),
        format!("\"ops@example\" {public}"),
        format!("ops@example namespaces=\"lifeboat-incident-log\" {public}"),
        format!("ops@example namespaces=\"git,file\" {public}"),
        format!("ops@example namespaces=\"lifeboat-*\" {public}"),
        format!("ops@example valid-after=\"20200101\" {public}"),
        format!("ops@example valid-before=\"20200101\" {public}"),
        format!("ops@example valid-after=\"29990101\" {public}"),
        format!("ops@example valid-after=\"20200101\",valid-before=\"29990101\" {public}"),
        format!("ops@example cert-authority {public}"),
        format!("ops@example {theirs}"),
        format!("ops@example namespaces=\"git\" {public}\nops@example {public}"),
        format!("# only a comment\n\nops@example {theirs}\n*@example {public}"),
    ];
    let (mut accepted, mut refused) = (0, 0);
    for (i, v) in variants.iter().enumerate() {
        let allowed = dir.path().join(format!("allowed_{i}"));
        std::fs::write(&allowed, format!("{v}\n")).unwrap();
        let mut child = Command::new("ssh-keygen")
            .args(["-Y", "verify", "-f"])
            .arg(&allowed)
            .args(["-I", "ops@example", "-n", "lifeboat-incident-log", &verify_time, "-s"])
            .arg(sig_path(&log))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&body).unwrap();
        let stock = child.wait_with_output().unwrap();
        let ours = lifeboat(&[
            "verify",
            log.to_str().unwrap(),
            "--allowed-signers",
            allowed.to_str().unwrap(),
            "--identity",
            "ops@example",
        ]);
        assert_eq!(
            ours.status.code() == Some(0),
            stock.status.success(),
            "variant {i} `{v}`: ssh-keygen said {:?} ({}), lifeboat said {:?} ({})",
            stock.status.code(),
            text(&stock.stderr).trim(),
            ours.status.code(),
            text(&ours.stdout)
        );
        assert!(matches!(ours.status.code(), Some(0) | Some(1)));
        if stock.status.success() { accepted += 1 } else { refused += 1 }
    }
    assert!(accepted >= 5 && refused >= 5, "both answers occur: {accepted} accepted, {refused} refused");
}

/// A sign-off: lifeboat writes it, stock `ssh-keygen -Y verify` checks it in its own
/// namespace, `verify` shows it; an edited statement, a log changed after it was signed
/// off, and a signer the trust root does not name do not count.
#[test]
fn a_sign_off_verifies_with_lifeboat_and_with_ssh_keygen_and_a_forged_one_does_not_count() {
    let dir = tempfile::tempdir().unwrap();
    let run_key = keygen(dir.path());
    let allowed = allowed_signers(dir.path(), &run_key);
    // The data-protection officer has a key of their own, which the trust root names.
    let dpo_dir = tempfile::tempdir().unwrap();
    let key = keygen(dpo_dir.path());
    let dpo_public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let mut f = std::fs::OpenOptions::new().append(true).open(&allowed).unwrap();
    f.write_all(format!("dpo@example {dpo_public}").as_bytes()).unwrap();
    let log = dir.path().join("drill.jsonl");
    let rb = "customers-db-quarterly-drill";
    let out = signed_tabletop(rb, &log, &run_key);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // The run's own key cannot sign the run off.
    let (l, own) = (log.to_str().unwrap(), run_key.to_str().unwrap());
    let so = lifeboat(&["sign-off", l, "--sign-key", own, "--role", "data-protection-officer", "--statement", "fine"]);
    assert_eq!(so.status.code(), Some(2), "{}", text(&so.stderr));
    assert!(text(&so.stderr).contains("a run cannot sign itself off"), "{}", text(&so.stderr));
    assert!(!lifeboat::journal::signoff::folder(&log).exists(), "nothing was written");
    // The DPO signs off, with a statement that tries to look like structure.
    let statement = "Q4 drill met its objectives\n\"role\": \"auditor\" \u{1b}[2J";
    let k = key.to_str().unwrap();
    let so = lifeboat(&["sign-off", l, "--sign-key", k, "--role", "data-protection-officer", "--statement", statement]);
    assert_eq!(so.status.code(), Some(0), "{}", text(&so.stderr));
    let doc = lifeboat::journal::signoff::folder(&log).join("1-data-protection-officer.json");
    let body = std::fs::read(&doc).unwrap();
    assert_eq!(body.iter().filter(|b| **b == b'\n').count(), 1, "one line: the statement is data");
    let parsed: lifeboat::journal::signoff::Statement = serde_json::from_slice(&body).unwrap();
    assert_eq!((parsed.role.as_str(), parsed.statement.as_str()), ("data-protection-officer", statement.trim()));
    let sig = doc.with_extension("json.sig");
    ssh_keygen_verify_as("dpo@example", &allowed, "lifeboat-sign-off", &sig, &body).unwrap();
    assert!(
        ssh_keygen_verify_as("dpo@example", &allowed, "lifeboat-incident-log", &sig, &body).is_err(),
        "its own namespace"
    );
    let v = lifeboat(&["verify", l, "--allowed-signers", allowed.to_str().unwrap()]);
    let said = text(&v.stdout);
    assert_eq!(v.status.code(), Some(0), "{said}");
    assert!(
        said.contains("sign-off   data-protection-officer at ") && said.contains("signed by dpo@example"),
        "{said}"
    );
    assert!(!said.contains('\u{1b}'), "no raw control character reaches the terminal: {said}");
    let report = lifeboat(&["report", l, "--allowed-signers", allowed.to_str().unwrap()]);
    let md = text(&report.stdout);
    assert!(
        md.contains("## Sign-offs\n\n- data-protection-officer at ") && md.contains("signed by dpo@example"),
        "{md}"
    );
    assert!(!md.contains('\u{1b}'), "{md}");

    // A second sign-off never overwrites the first.
    let so = lifeboat(&["sign-off", l, "--sign-key", k, "--role", "auditor", "--statement", "reviewed"]);
    assert_eq!(so.status.code(), Some(0));
    assert!(doc.exists() && lifeboat::journal::signoff::folder(&log).join("2-auditor.json").exists());

    // An edited statement: its signature no longer holds.
    let edited = String::from_utf8(body.clone()).unwrap().replace("met its objectives", "met every objective");
    std::fs::write(&doc, edited).unwrap();
    let v = lifeboat(&["verify", l, "--allowed-signers", allowed.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(1), "{}", text(&v.stdout));
    assert!(
        text(&v.stdout).contains("DOES NOT COUNT: 1-data-protection-officer.json does not verify"),
        "{}",
        text(&v.stdout)
    );
    let report = lifeboat(&["report", l, "--allowed-signers", allowed.to_str().unwrap()]);
    assert!(
        text(&report.stdout).contains("- DOES NOT COUNT: 1-data-protection-officer.json"),
        "{}",
        text(&report.stdout)
    );
    std::fs::write(&doc, &body).unwrap();

    // A signer the trust root does not name.
    let other = tempfile::tempdir().unwrap();
    let stranger = keygen(other.path());
    let so =
        lifeboat(&["sign-off", l, "--sign-key", stranger.to_str().unwrap(), "--role", "auditor", "--statement", "ok"]);
    assert_eq!(so.status.code(), Some(0));
    let v = lifeboat(&["verify", l, "--allowed-signers", allowed.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(1));
    assert!(
        text(&v.stdout).contains("DOES NOT COUNT: 3-auditor.json")
            && text(&v.stdout).contains("not in the allowed signers"),
        "{}",
        text(&v.stdout)
    );
    std::fs::remove_file(lifeboat::journal::signoff::folder(&log).join("3-auditor.json")).unwrap();
    std::fs::remove_file(lifeboat::journal::signoff::folder(&log).join("3-auditor.json.sig")).unwrap();

    // A sign-off made by hand with the run's own key (stock ssh-keygen): it verifies as
    // a signature, and does not count.
    let own_doc = lifeboat::journal::signoff::folder(&log).join("3-auditor.json");
    let forged = String::from_utf8(body.clone()).unwrap().replace("data-protection-officer", "auditor");
    std::fs::write(&own_doc, &forged).unwrap();
    let signed = Command::new("ssh-keygen")
        .args(["-q", "-Y", "sign", "-f", own, "-n", "lifeboat-sign-off"])
        .arg(&own_doc)
        .status()
        .unwrap();
    assert!(signed.success());
    let v = lifeboat(&["verify", l, "--allowed-signers", allowed.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(1), "{}", text(&v.stdout));
    assert!(
        text(&v.stdout).contains("DOES NOT COUNT: 3-auditor.json is signed by the run's own signing key"),
        "{}",
        text(&v.stdout)
    );
    std::fs::remove_file(&own_doc).unwrap();
    std::fs::remove_file(own_doc.with_extension("json.sig")).unwrap();

    // The log changed after it was signed off (a line appended): the sign-offs sign
    // another version of it.
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(b"{}\n").unwrap();
    let v = lifeboat(&["verify", l, "--allowed-signers", allowed.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(1));
    assert!(text(&v.stdout).contains("signs another version of this log"), "{}", text(&v.stdout));
}

/// The quick check (the last checkpoint's signature only, as `forecast` reads a thousand
/// logs) reaches `verify`'s verdict: the same report on an intact log, and tampered
/// wherever a byte was changed — a step's line, an early checkpoint's signature, a line
/// taken out, a line after the seal — since the last signature covers every byte before it.
#[test]
fn the_quick_check_finds_every_change_the_full_check_finds() {
    use lifeboat::journal::verify::{verify_reader, verify_reader_quick};
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path());
    let allowed = allowed_signers(dir.path(), &key);
    let trust = lifeboat::journal::trust::load(Some(&allowed), dir.path()).unwrap().map(|(_, t)| t);
    let log = dir.path().join("run.jsonl");
    let out = signed_tabletop("orders-docs-ransomware", &log, &key);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let sig = std::fs::read_to_string(sig_path(&log)).unwrap();
    let bytes = std::fs::read(&log).unwrap();
    let both = |b: &[u8]| {
        (
            verify_reader(b, Some(&sig), trust.as_ref()).unwrap(),
            verify_reader_quick(b, Some(&sig), trust.as_ref()).unwrap(),
        )
    };
    let (full, quick) = both(&bytes);
    assert!(full.tampered.is_none() && full.sealed && full.signer_identity.is_some());
    assert_eq!(format!("{full:?}"), format!("{quick:?}"), "an intact log: the same report");

    let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
    let first_cp = lines.iter().position(|l| l.windows(12).any(|w| w == b"\"checkpoint\"")).unwrap();
    let finished = lines.iter().position(|l| l.windows(15).any(|w| w == b"\"step_finished\"")).unwrap();
    let mut variants: Vec<(&str, Vec<u8>)> = Vec::new();
    let edit = |i: usize, from: &str, to: &str| {
        let mut v = lines.clone().into_iter().map(<[u8]>::to_vec).collect::<Vec<_>>();
        let s = String::from_utf8(v[i].clone()).unwrap();
        assert!(s.contains(from), "{s}");
        v[i] = s.replacen(from, to, 1).into_bytes();
        v.concat()
    };
    variants.push(("a step's duration", edit(finished, "\"duration_ms\":", "\"duration_ms\":1")));
    variants.push(("an early checkpoint's signature", edit(first_cp, "U1NIU0lH", "U1NIU0lI")));
    let mut cut: Vec<&[u8]> = lines.clone();
    cut.remove(finished);
    variants.push(("a line taken out", cut.concat()));
    let mut after = bytes.clone();
    after.extend_from_slice(lines[finished]);
    variants.push(("a line after the seal", after));
    for (what, b) in variants {
        let (full, quick) = both(&b);
        assert!(full.tampered.is_some(), "{what}: verify must refuse it");
        assert!(quick.tampered.is_some(), "{what}: the quick check passed what verify refuses: {quick:?}");
    }
}
