//! The forecast's cost (run with `cargo bench --bench forecast`): 1,000 signed, sealed
//! logs of a 100-step runbook, each verified and read once. Prints the time, and the peak
//! memory before and after (the forecast holds each run's step times, never a log).

use std::time::Instant;

use lifeboat::event::{Event, Genesis, Mode, RunStatus, StepStatus};
use lifeboat::journal::Journal;
use lifeboat::journal::sign::Signer;
use lifeboat::runbook::time::Timestamp;

const LOGS: usize = 1_000;
const STEPS: usize = 100;

fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary folder");
    let d = dir.path();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let runbooks = d.join("runbooks");
    std::fs::create_dir_all(&runbooks).unwrap();
    std::fs::copy(root.join("runbooks/datasets.yaml"), runbooks.join("datasets.yaml")).unwrap();
    let mut yaml = String::from(
        "apiVersion: lifeboat/v1\nkind: Runbook\nid: bench-forecast\ntitle: Bench\ndataset: orders-docs\nscenario: ransomware\n\
         objectives: { rto: 2h, rpo: 1h }\nphases:\n  - id: all\n    title: All\n    budget: 2h\n    steps:\n",
    );
    for i in 0..STEPS {
        yaml.push_str(&format!("      - {{ id: s{i:03}, title: Step {i}, manual: Do it }}\n"));
    }
    let rb_path = runbooks.join("bench-forecast.yaml");
    std::fs::write(&rb_path, &yaml).unwrap();
    let mut ws = lifeboat::runbook::load::Workspace::default();
    let i = ws.add(&rb_path);
    ws.check(i);
    let Some(runbook) = ws.runbook(i).cloned() else {
        eprintln!("{}", ws.file(i).report().render());
        return;
    };
    let sha = lifeboat::journal::sha256_hex(yaml.as_bytes());
    let key = d.join("key");
    assert!(
        std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-C", "bench", "-N", "", "-f"])
            .arg(&key)
            .status()
            .unwrap()
            .success()
    );
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    std::fs::write(runbooks.join("allowed_signers"), format!("bench@example {public}")).unwrap();
    let logs = d.join("incidents");
    std::fs::create_dir_all(&logs).unwrap();
    let made = Instant::now();
    let mut rng = fastrand::Rng::with_seed(1);
    for run in 0..LOGS {
        let signer = Signer::load(&key, || None).unwrap();
        let signed = signer.public_openssh();
        let mut j = Journal::create(&logs.join(format!("run-{run:04}.jsonl")), Some(signer)).unwrap();
        let mut t: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        j.append(
            t,
            Event::Genesis(Box::new(Genesis {
                tool_version: "bench".into(),
                run_id: format!("run-{run}"),
                runbook_id: "bench-forecast".into(),
                runbook_sha256: sha.clone(),
                answers_sha256: None,
                operator: "bench".into(),
                mode: Mode::Drill,
                signer: Some(signed),
                dataset: "orders-docs".into(),
                incident_started_at: "2026-01-01T00:00:00Z".into(),
                rto_ms: 2 * 3_600_000,
                rpo_ms: 3_600_000,
                cloud: "aws".into(),
                clock_speed: 1,
                inputs: Default::default(),
                caller: None,
                provenance: Default::default(),
            })),
        )
        .unwrap();
        for s in 0..STEPS {
            let step = format!("s{s:03}");
            j.append(t, Event::StepStarted { step: step.clone(), attempt: 1, detail: None }).unwrap();
            let ms = rng.u64(10_000..=80_000);
            t = t.checked_add(jiff::SignedDuration::from_millis(ms as i64)).unwrap();
            let finished = Event::StepFinished {
                step,
                status: StepStatus::Done,
                reason: None,
                outputs: Default::default(),
                duration_ms: ms,
                recovery_point: None,
                error: None,
            };
            j.append(t, finished).unwrap();
        }
        let run_finished = Event::RunFinished {
            status: RunStatus::Succeeded,
            reason: None,
            rto_ms: 1,
            rto_met: true,
            rpo_ms: None,
            rpo_met: None,
            service_restored: true,
        };
        j.append(t, run_finished).unwrap();
        j.seal(t).unwrap();
    }
    let bytes: u64 = std::fs::read_dir(&logs).unwrap().filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum();
    println!("made {LOGS} logs of {STEPS} steps ({} MiB) in {:.1?}", bytes / (1 << 20), made.elapsed());
    let trust = lifeboat::journal::trust::load(None, &runbooks).unwrap().map(|(_, t)| t);
    // What verification alone costs, for the record beside the whole.
    let verified = Instant::now();
    for e in std::fs::read_dir(&logs).unwrap().filter_map(|e| e.ok()) {
        let p = e.path();
        let sig = std::fs::read_to_string(lifeboat::journal::sig_path(&p)).ok();
        let f = std::io::BufReader::new(std::fs::File::open(&p).unwrap());
        let _ = lifeboat::journal::verify::verify_reader(f, sig.as_deref(), trust.as_ref());
    }
    println!("verify alone: {:.3?}", verified.elapsed());
    let before = peak_kib();
    let started = Instant::now();
    let f = lifeboat::forecast::forecast(&runbook, &sha, &logs, trust.as_ref(), &[]).unwrap();
    let took = started.elapsed();
    println!(
        "forecast: {} runs counted, {} excluded, p_meet_rto {:?}, in {:.3?}; peak memory {} MiB before, {} MiB after",
        f.runs,
        f.excluded.len(),
        f.p_meet_rto,
        took,
        before / 1024,
        peak_kib() / 1024
    );
}
