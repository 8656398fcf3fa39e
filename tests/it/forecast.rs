//! Issue 32: `lifeboat forecast` from a history of signed runs with known step durations
//! (drawn from known distributions), a tampered copy, a log signed by a stranger and a
//! log of an older runbook. The figures must be the distribution's within its sampling
//! error, the chance of meeting the RTO the history's own fraction, and every log that
//! does not count named with why.

use std::path::Path;

use lifeboat::event::{Event, Genesis, Mode, RunStatus, StepStatus};
use lifeboat::runbook::time::Timestamp;
use serde_json::Value as Json;

use crate::{root, text};

const RUNBOOK: &str = "orders-docs-ransomware";

/// One signed, sealed drill of the example ransomware runbook: each step `(id, ms)` in
/// order, the milestone (`smoke`) where the runbook has it. Returns the time from the
/// first step to the milestone.
pub(crate) fn drill(log: &Path, key: &Path, run: usize, sha: &str, steps: &[(&str, u64)]) -> u64 {
    let signer = lifeboat::journal::sign::Signer::load(key, || None).unwrap();
    let public = signer.public_openssh();
    let mut j = lifeboat::journal::Journal::create(log, Some(signer)).unwrap();
    let mut t: Timestamp = "2026-11-02T03:00:00Z".parse().unwrap();
    t = t.checked_add(jiff::SignedDuration::from_hours(24 * run as i64)).unwrap();
    let start = t;
    j.append(
        t,
        Event::Genesis(Box::new(Genesis {
            tool_version: "t".into(),
            run_id: format!("drill-{run}"),
            runbook_id: RUNBOOK.into(),
            runbook_sha256: sha.into(),
            answers_sha256: None,
            operator: "ops".into(),
            mode: Mode::Drill,
            signer: Some(public),
            dataset: "orders-docs".into(),
            incident_started_at: lifeboat::runbook::time::format_timestamp(t),
            rto_ms: 90 * 60_000,
            rpo_ms: 3_600_000,
            cloud: "aws".into(),
            clock_speed: 1,
            inputs: Default::default(),
            caller: None,
            provenance: Default::default(),
        })),
    )
    .unwrap();
    let mut to_milestone = 0;
    for (id, ms) in steps {
        let detail = match *id {
            "posture" => Some("s3.check_posture bucket=orders-docs-prod".to_string()),
            "plan" | "restore" | "check" => Some("s3.restore_to_time bucket=orders-docs-prod".to_string()),
            _ => None,
        };
        j.append(t, Event::StepStarted { step: id.to_string(), attempt: 1, detail }).unwrap();
        t = t.checked_add(jiff::SignedDuration::from_millis(*ms as i64)).unwrap();
        j.append(
            t,
            Event::StepFinished {
                step: id.to_string(),
                status: StepStatus::Done,
                reason: None,
                outputs: Default::default(),
                duration_ms: *ms,
                recovery_point: None,
                error: None,
            },
        )
        .unwrap();
        if *id == "smoke" {
            to_milestone = lifeboat::clock::millis_between(start, t) as u64;
        }
    }
    j.append(
        t,
        Event::RunFinished {
            status: RunStatus::Succeeded,
            reason: None,
            rto_ms: to_milestone,
            rto_met: to_milestone <= 90 * 60_000,
            rpo_ms: None,
            rpo_met: None,
            service_restored: true,
        },
    )
    .unwrap();
    j.seal(t).unwrap();
    to_milestone
}

/// The example runbooks in a folder of their own, a key the trust root beside them names,
/// the runbook's digest, and an empty `incidents/`.
pub(crate) struct History {
    pub dir: tempfile::TempDir,
    pub key: std::path::PathBuf,
    pub runbook: std::path::PathBuf,
    pub sha: String,
    pub logs: std::path::PathBuf,
}

impl History {
    pub fn new() -> History {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert!(
            std::process::Command::new("cp").arg("-r").arg(root().join("runbooks")).arg(d).status().unwrap().success()
        );
        crate::demo_approvals(&d.join("runbooks"));
        let key = crate::journal::keygen(d);
        let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
        let trust = d.join("runbooks/allowed_signers");
        let before = std::fs::read_to_string(&trust).unwrap_or_default();
        std::fs::write(&trust, format!("{before}ops@example {public}")).unwrap();
        let runbook = d.join(format!("runbooks/{RUNBOOK}.yaml"));
        let sha = lifeboat::journal::sha256_hex(&std::fs::read(&runbook).unwrap());
        let logs = d.join("incidents");
        std::fs::create_dir_all(&logs).unwrap();
        History { dir, key, runbook, sha, logs }
    }
}

const MIN: u64 = 60_000;

#[test]
fn the_forecast_is_the_history_s_within_its_sampling_error_and_names_what_it_did_not_count() {
    let History { dir, key, runbook, sha, logs } = History::new();
    let d = dir.path();

    // 60 drills: the roll-back uniform over 40–100 minutes, the plan over 1–5, the rest a
    // minute each. The milestone is reached after the four steps of `assess`, the plan,
    // the roll-back, the check and the smoke test.
    let mut rng = fastrand::Rng::with_seed(7);
    let (n, rto) = (60usize, 90 * MIN);
    let mut met = 0;
    for run in 0..n {
        let restore = rng.u64(40 * MIN..=100 * MIN);
        let plan = rng.u64(MIN..=5 * MIN);
        let steps = [
            ("confirm", MIN),
            ("contain", MIN),
            ("posture", MIN),
            ("go", MIN),
            ("plan", plan),
            ("restore", restore),
            ("check", MIN),
            ("smoke", MIN),
            ("evidence", MIN),
            ("notify", MIN),
        ];
        let took = drill(&logs.join(format!("drill-{run:02}.jsonl")), &key, run, &sha, &steps);
        assert_eq!(took, 6 * MIN + plan + restore);
        met += (took <= rto) as usize;
    }
    // What must not count: a copy with a duration changed, a log signed by a stranger,
    // and a copy of a counted run under another name.
    let bytes = std::fs::read_to_string(logs.join("drill-00.jsonl")).unwrap();
    let changed = bytes.replacen("\"duration_ms\":60000", "\"duration_ms\":6000", 1);
    assert_ne!(changed, bytes);
    std::fs::write(logs.join("edited.jsonl"), changed).unwrap();
    let other = tempfile::tempdir().unwrap();
    let stranger = crate::journal::keygen(other.path());
    drill(&logs.join("stranger.jsonl"), &stranger, 99, &sha, &[("confirm", MIN), ("restore", 1)]);
    std::fs::copy(logs.join("drill-01.jsonl"), logs.join("zz-copy.jsonl")).unwrap();
    std::fs::copy(logs.join("drill-01.jsonl.sig"), logs.join("zz-copy.jsonl.sig")).unwrap();
    // A run of an older runbook counts for the steps still the same.
    drill(&logs.join("older.jsonl"), &key, 100, "00", &[("confirm", MIN), ("restore", 70 * MIN), ("gone", MIN)]);

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args(["forecast", runbook.to_str().unwrap(), "--incidents", logs.to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    let f: Json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stderr)));
    assert_eq!(f["runs"], n + 1, "{f:#}");
    assert_eq!(f["older_runs"], 1);
    assert_eq!(f["evidence"], "measured");
    let excluded: Vec<(String, String)> = f["excluded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let p = e["path"].as_str().unwrap();
            (Path::new(p).file_name().unwrap().to_string_lossy().into_owned(), e["why"].as_str().unwrap().to_string())
        })
        .collect();
    let why = |name: &str| excluded.iter().find(|(p, _)| p == name).map(|(_, w)| w.clone());
    assert!(why("edited.jsonl").is_some_and(|w| w.starts_with("does not verify: line ")), "{excluded:?}");
    // In `verify`'s own words, as every place that judges a log says it.
    assert_eq!(
        why("stranger.jsonl").as_deref(),
        Some("does not verify: line 1: the log's signer is not in the allowed signers file")
    );
    assert_eq!(why("zz-copy.jsonl").as_deref(), Some("a copy of run drill-1, counted once"));
    assert_eq!(excluded.len(), 3, "{excluded:?}");

    // The roll-back: uniform over 40–100 min, so p50 50 % of the way and p90 90 %. The
    // sample median of 60 draws has a standard error of about 60/(2·√60) ≈ 3.9 minutes;
    // four of them is the tolerance (p90's is smaller). The older run adds one sample.
    let step = |id: &str| f["steps"].as_array().unwrap().iter().find(|s| s["id"] == id).unwrap().clone();
    let restore = step("restore");
    assert_eq!(restore["n"], n + 1);
    let p50 = restore["p50_ms"].as_u64().unwrap() as f64 / MIN as f64;
    let p90 = restore["p90_ms"].as_u64().unwrap() as f64 / MIN as f64;
    assert!((p50 - 70.0).abs() < 16.0, "p50 {p50} min against 70");
    assert!((p90 - 94.0).abs() < 10.0, "p90 {p90} min against 94");
    assert_eq!(restore["cloud_p50_ms"], restore["p50_ms"], "an action's time is the cloud's");
    assert_eq!(step("confirm")["people_p50_ms"], MIN, "a manual step is people's time");
    assert_eq!(step("plan")["n"], n, "the older run had no plan step");
    assert!(f["steps_from_older"].as_array().unwrap().iter().any(|s| s == "restore"));
    // The whole run, over this runbook's own runs only.
    assert_eq!(f["duration_n"], n);
    let p = f["p_meet_rto"].as_f64().unwrap();
    let empirical = met as f64 / n as f64;
    // The fraction of 60 runs has a standard error of √(p(1−p)/60) ≈ 0.06.
    assert!((p - empirical).abs() < 0.15, "p_meet_rto {p} against the history's {empirical}");
    assert_eq!(out.status.code(), Some(if p < 0.5 { 1 } else { 0 }), "exit 1 exactly when the RTO is likely missed");
    assert!(empirical > 0.2 && empirical < 0.9, "the test's RTO must be in the spread: {empirical}");

    // `list` puts the whole run's p90 beside the RTO.
    let listed = std::process::Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args(["list", "--dir", d.join("runbooks").to_str().unwrap(), "--incidents", logs.to_str().unwrap()])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let listed = text(&listed.stdout);
    let p90 = lifeboat::format::human_ms(f["duration_p90_ms"].as_u64().unwrap());
    let row = listed.lines().find(|l| l.starts_with(RUNBOOK)).unwrap_or_else(|| panic!("{listed}"));
    assert!(row.contains(&format!("1h30m  {p90}")), "{row}");
    assert!(listed.lines().next().unwrap().contains("RTO    P90"), "{listed}");

    // The same figures for people and for Prometheus.
    let text_out = std::process::Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args(["forecast", runbook.to_str().unwrap(), "--incidents", logs.to_str().unwrap()])
        .output()
        .unwrap();
    let t = text(&text_out.stdout);
    assert!(t.contains("From 61 trusted runs (61 drill; measured); 1 of an older runbook"), "{t}");
    assert!(t.contains(&format!("Chance of meeting the RTO: {:.0}%", p * 100.0)), "{t}");
    assert!(t.contains("edited.jsonl: does not verify"), "{t}");
    let prom = std::process::Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args(["forecast", runbook.to_str().unwrap(), "--incidents", logs.to_str().unwrap(), "--format", "prometheus"])
        .output()
        .unwrap();
    let prom = text(&prom.stdout);
    assert!(prom.contains(&format!("lifeboat_forecast_runs{{runbook=\"{RUNBOOK}\"}} 61")), "{prom}");
    assert!(prom.contains(&format!("lifeboat_forecast_p_meet_rto{{runbook=\"{RUNBOOK}\"}} {p}")), "{prom}");
    assert!(prom.contains(
        "lifeboat_forecast_step_duration_seconds{runbook=\"orders-docs-ransomware\",step=\"restore\",quantile=\"0.9\"}"
    ));
}

/// Under three runs the forecast says so and gives no figure; a run without a trust root
/// counts for nothing.
#[test]
fn fewer_than_three_runs_give_no_figures_and_say_why() {
    let History { dir, key, runbook, sha, logs } = History::new();
    let d = dir.path();
    for run in 0..2 {
        drill(&logs.join(format!("d{run}.jsonl")), &key, run, &sha, &[("confirm", MIN), ("smoke", MIN)]);
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args(["forecast", runbook.to_str().unwrap(), "--incidents", logs.to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    let f: Json = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(f["runs"], 2);
    assert_eq!(f["p_meet_rto"], Json::Null);
    assert_eq!(f["duration_p50_ms"], Json::Null);
    assert!(f["steps"].as_array().unwrap().iter().all(|s| s["p50_ms"].is_null()));
    assert!(f["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().contains("figures are given from 3 on")));
    assert!(out.status.success());
    // Without a trust root nothing is counted, and each log says why.
    std::fs::remove_file(d.join("runbooks/allowed_signers")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args(["forecast", runbook.to_str().unwrap(), "--incidents", logs.to_str().unwrap(), "--format", "json"])
        .env_remove("LIFEBOAT_ALLOWED_SIGNERS")
        .output()
        .unwrap();
    let f: Json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stderr)));
    assert_eq!(f["runs"], 0);
    let why: Vec<&str> = f["excluded"].as_array().unwrap().iter().map(|e| e["why"].as_str().unwrap()).collect();
    assert_eq!(why, ["no trust root (allowed_signers) to say whose key signed it"; 2]);
}
