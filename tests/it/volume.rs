//! Issue 29 (3): a command's output at volume. Half a million lines go to the log in
//! batches (not one synced event a line), every line still there and in order; past a
//! step's cap the rest goes to a file beside the log whose SHA-256 the log records and
//! `verify` checks. Each test drives the real binary.

use std::path::Path;

use serde_json::Value as Json;
use ssh_key::sha2::{Digest, Sha256};

use crate::run::{folder, lifeboat_in, replay};
use crate::text;

fn records(log: &Path) -> Vec<Json> {
    std::fs::read_to_string(log).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// The step's output lines as the log holds them, and how many events carried them.
fn output_of(records: &[Json], step: &str) -> (Vec<String>, usize) {
    let batches: Vec<&Json> =
        records.iter().filter(|r| r["type"] == "step_output" && r["step"] == step && r["stream"] != "info").collect();
    let lines = batches.iter().flat_map(|r| r["text"].as_str().unwrap().split('\n').map(str::to_string)).collect();
    (lines, batches.len())
}

#[test]
fn half_a_million_lines_go_to_the_log_in_batches_every_line_kept_in_order() {
    let steps = "      - { id: flood, title: Flood, run: \"seq 1 500000\", timeout: 10m }\n";
    let (dir, rb) = folder(&crate::run::runbook("2h", "  x: { type: string, default: y }\n", steps));
    let log = dir.path().join("run.jsonl");
    let out = replay(dir.path(), &rb, &log, &[], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let records = records(&log);
    let (lines, events) = output_of(&records, "flood");
    let want: Vec<String> = (1..=500_000).map(|i| i.to_string()).collect();
    assert!(lines == want, "every line, in order, none split or joined ({} lines)", lines.len());
    // 3.4 MB of output: a few dozen 64 KiB batches, not 500,000 events.
    assert!(events < 500, "{events} events for 500,000 lines: not batched");
    let printed = want.iter().map(|l| l.len() + 1).sum::<usize>() as u64;
    let size = std::fs::metadata(&log).unwrap().len();
    assert!(size < 3 * printed, "the log is {size} bytes for {printed} bytes of output");
    let v = lifeboat_in(dir.path(), &["verify", log.to_str().unwrap()], &[]);
    assert!(text(&v.stdout).contains("sealed and intact"), "{}", text(&v.stdout));
}

#[test]
fn output_past_the_cap_goes_aside_redacted_and_verify_checks_the_file() {
    let secret = "hunter2-swordfish";
    // 12 MiB of 64-byte lines, then a line with the secret and a last line.
    let steps = concat!(
        "      - { id: flood, title: Flood, run: \"yes 0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmn ",
        "| head -n 196608; echo \\\"pw ${{ inputs.pw }}\\\"; echo last\", timeout: 10m }\n",
    );
    let (dir, rb) = folder(&crate::run::runbook("2h", "  pw: { type: string, secret: true, env: RB_PW }\n", steps));
    let key = crate::journal::keygen(dir.path());
    let log = dir.path().join("run.jsonl");
    let out = replay(dir.path(), &rb, &log, &["--sign-key", key.to_str().unwrap()], &[("RB_PW", secret)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let records = records(&log);
    let (logged, _) = output_of(&records, "flood");
    let logged_bytes: usize = logged.iter().map(|l| l.len() + 1).sum();
    assert!(logged_bytes <= 10 << 20, "the log holds {logged_bytes} bytes of one step's output");
    assert!(logged_bytes > 9 << 20, "the log holds output up to its cap ({logged_bytes} bytes)");
    let aside: Vec<&Json> = records.iter().filter(|r| r["type"] == "output_aside").collect();
    assert_eq!(aside.len(), 1, "one record of the file kept aside");
    let file = dir.path().join(aside[0]["file"].as_str().unwrap());
    let kept = std::fs::read(&file).unwrap();
    assert_eq!(aside[0]["sha256"], hex::encode(Sha256::digest(&kept)), "the log records the file's digest");
    assert_eq!(aside[0]["bytes"], kept.len() as u64);
    let kept = String::from_utf8(kept).unwrap();
    assert_eq!(logged.len() + kept.lines().count(), 196_608 + 2, "every line is in the log or in the file");
    assert!(
        kept.ends_with("pw [redacted]\nlast\n"),
        "the file is redacted like the log: …{}",
        &kept[kept.len() - 40..]
    );
    let body = std::fs::read_to_string(&log).unwrap();
    assert!(!body.contains(secret) && !kept.contains(secret) && !text(&out.stderr).contains(secret));

    let v = lifeboat_in(dir.path(), &["verify", log.to_str().unwrap()], &[]);
    let said = text(&v.stdout);
    assert!(said.contains("sealed and intact") && said.contains("intact (sha256 matches)"), "{said}");
    // The file altered after the run: verify says so and fails.
    std::fs::write(&file, kept.replace("last", "lost")).unwrap();
    let v = lifeboat_in(dir.path(), &["verify", log.to_str().unwrap()], &[]);
    let said = text(&v.stdout);
    assert_eq!(v.status.code(), Some(1), "{said}");
    assert!(said.contains("ALTERED"), "{said}");
    std::fs::remove_file(&file).unwrap();
    let v = lifeboat_in(dir.path(), &["verify", log.to_str().unwrap()], &[]);
    assert!(text(&v.stdout).contains("MISSING") && v.status.code() == Some(1), "{}", text(&v.stdout));
}
