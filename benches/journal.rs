//! Journal benchmarks (run with `cargo bench --bench journal`): appends with fdatasync
//! per event, and `verify` of a 100,000-event signed log. Prints one line per figure.

use std::time::Instant;

use lifeboat::event::{Event, Genesis, Mode};
use lifeboat::journal::Journal;
use lifeboat::journal::sign::Signer;
use lifeboat::journal::verify::verify_file;

fn genesis(signer: Option<String>) -> Event {
    Event::Genesis(Box::new(Genesis {
        tool_version: "bench".into(),
        run_id: "bench".into(),
        runbook_id: "bench".into(),
        runbook_sha256: "00".into(),
        answers_sha256: None,
        operator: "bench".into(),
        mode: Mode::Tabletop,
        signer,
        dataset: "ds".into(),
        incident_started_at: "2026-11-24T03:00:00Z".into(),
        rto_ms: 1,
        rpo_ms: 1,
        cloud: "sim".into(),
        clock_speed: 1,
        inputs: Default::default(),
        caller: None,
        provenance: Default::default(),
    }))
}

fn main() {
    // `cargo bench` passes --bench; a test run of all targets does not, and must not
    // spend a minute writing 100,000 synced events.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = std::env::var("BENCH_DIR").map(std::path::PathBuf::from).unwrap_or_else(|_| std::env::temp_dir());
    let key = dir.join("lifeboat-bench-key");
    let _ = std::fs::remove_file(&key);
    let _ = std::fs::remove_file(key.with_extension("pub"));
    let ok = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(ok.success());
    let t: lifeboat::runbook::time::Timestamp = "2026-11-24T03:00:00Z".parse().unwrap();
    let note = |i: u64| Event::StepOutput {
        step: format!("step-{}", i % 1000),
        stream: lifeboat::event::Stream::Stdout,
        text: format!("object {i} of 100000 restored to its version before the attack"),
    };

    // Appends, each synced to disk (the engine waits for each).
    let path = dir.join("lifeboat-bench-append.jsonl");
    let _ = std::fs::remove_file(&path);
    let mut j = Journal::create(&path, None).unwrap();
    j.append(t, genesis(None)).unwrap();
    let n = 2_000;
    let start = Instant::now();
    for i in 0..n {
        j.append(t, note(i)).unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "append+fdatasync: {n} events in {secs:.3} s = {:.0} events/s ({:.3} ms each) in {}",
        n as f64 / secs,
        secs * 1000.0 / n as f64,
        dir.display()
    );
    drop(j);

    // A 100,000-event signed log, checkpointed every 64 events, sealed.
    let path = dir.join("lifeboat-bench-100k.jsonl");
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(lifeboat::journal::sig_path(&path));
    let signer = Signer::load(&key, || None).unwrap();
    let public = signer.public_openssh();
    let mut j = Journal::create(&path, Some(signer)).unwrap();
    j.append(t, genesis(Some(public))).unwrap();
    let start = Instant::now();
    for i in 0..100_000 {
        j.append(t, note(i)).unwrap();
    }
    j.seal(t).unwrap();
    let write = start.elapsed().as_secs_f64();
    drop(j);
    let size = std::fs::metadata(&path).unwrap().len();
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        let r = verify_file(&path, None).unwrap();
        best = best.min(start.elapsed().as_secs_f64());
        assert!(r.tampered.is_none() && r.sealed);
        assert!(r.lines > 100_000 && r.checkpoints > 1_500);
    }
    let r = verify_file(&path, None).unwrap();
    println!(
        "verify: {} lines ({:.1} MB, {} signed checkpoints) in {:.3} s (best of 5); writing it took {write:.1} s",
        r.lines,
        size as f64 / 1e6,
        r.checkpoints,
        best
    );
}
