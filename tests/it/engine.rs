//! The engine through its public interface: a runbook in, commands in, events out.
//! Timer-only runs use tokio's paused clock; runs with real commands use a fast
//! virtual clock on real time.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use lifeboat::clock::VirtualClock;
use lifeboat::cloud::sim::Sim;
use lifeboat::engine::sink::{Redactor, Sink};
use lifeboat::engine::{Command, Engine, Outcome, Prior, RunSpec};
use lifeboat::event::{Event, Mode, Record, RunStatus, StepStatus, Stream, Verdict, Waiting};
use lifeboat::objectives::Tracker;
use lifeboat::runbook::load::{catalog_from_str, runbook_from_str};
use lifeboat::runbook::time::{Timestamp, parse_timestamp};

pub const CATALOG: &str = r#"
apiVersion: lifeboat/v1
kind: DatasetCatalog
datasets:
  - id: shop-docs
    title: Shop documents
    classification: confidential
    rpo: 1h
    rto: 2h
    primary: { region: eu-central-1 }
    backup: { region: eu-west-1 }
    resources:
      - { kind: s3-bucket, id: shop-docs-prod, role: production, batch: { role: "arn:aws:iam::000000000000:role/lifeboat-batch", reports: shop-docs-reports } }
      - { kind: s3-bucket, id: shop-docs-drill, role: drill }
  - id: ledger
    title: Ledger
    classification: regulated
    rpo: 15m
    rto: 4h
    primary: { region: eu-central-1 }
    backup: { region: eu-west-1 }
    resources:
      - { kind: rds-instance, id: ledger-prod, role: production }
"#;

fn t(s: &str) -> Timestamp {
    parse_timestamp(s).unwrap()
}

pub struct Run {
    pub outcome: Outcome,
    pub records: Vec<Record>,
    pub sim: Arc<Sim>,
}

impl Run {
    pub fn finished(&self, step: &str) -> (StepStatus, Option<String>, u64) {
        self.records
            .iter()
            .find_map(|r| match &r.event {
                Event::StepFinished { step: s, status, reason, duration_ms, .. } if s == step => {
                    Some((*status, reason.clone(), *duration_ms))
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("`{step}` never finished"))
    }
    pub fn count(&self, f: impl Fn(&Event) -> bool) -> usize {
        self.records.iter().filter(|r| f(&r.event)).count()
    }
    pub fn time_of(&self, f: impl Fn(&Event) -> bool) -> Timestamp {
        t(&self.records.iter().find(|r| f(&r.event)).expect("an event").time)
    }
}

/// Answers like an operator who confirms everything and approves as the right role.
pub fn yes(e: &Event) -> Option<Command> {
    match e {
        Event::StepWaiting { step, waiting_for: Waiting::Confirm | Waiting::Outcome, .. } => {
            Some(Command::Confirm { step: step.clone(), by: "alice".into() })
        }
        Event::StepWaiting { step, waiting_for: Waiting::Approval, .. } => {
            Some(Command::Approve { step: step.clone(), by: "carol".into(), role: None })
        }
        _ => None,
    }
}

pub async fn run(
    yaml: &str,
    mode: Mode,
    speed: f64,
    workdir: &Path,
    answer: impl Fn(&Event) -> Option<Command> + Send + 'static,
) -> Run {
    run_with(yaml, mode, speed, false, workdir, answer).await
}

pub async fn run_with(
    yaml: &str,
    mode: Mode,
    speed: f64,
    interactive: bool,
    workdir: &Path,
    answer: impl Fn(&Event) -> Option<Command> + Send + 'static,
) -> Run {
    run_with_history(yaml, mode, speed, interactive, workdir, Default::default(), answer).await
}

/// The same, with each step's p90 from a trusted history.
pub async fn run_with_history(
    yaml: &str,
    mode: Mode,
    speed: f64,
    interactive: bool,
    workdir: &Path,
    step_p90_ms: BTreeMap<String, u64>,
    answer: impl Fn(&Event) -> Option<Command> + Send + 'static,
) -> Run {
    let catalog = catalog_from_str(CATALOG).unwrap();
    let runbook = runbook_from_str(yaml, &catalog).unwrap_or_else(|d| panic!("{d:?}"));
    let dataset = catalog.get(&runbook.dataset).unwrap().clone();
    let incident = t("2026-11-24T03:00:00Z");
    let start = t("2026-11-24T03:05:00Z");
    let clock = Arc::new(VirtualClock::new(start, speed));
    let sim = Arc::new(Sim::seeded(&catalog, start, incident));
    let sink = Sink::new(None, Redactor::default());
    let mut rx = sink.subscribe();
    let mut inputs = BTreeMap::new();
    for i in &runbook.inputs {
        if let Some(lifeboat::runbook::model::InputDefault::Value(v)) = &i.default {
            inputs.insert(i.name.clone(), v.clone());
        }
    }
    let spec = RunSpec {
        runbook: runbook.clone(),
        catalog,
        dataset,
        mode,
        interactive,
        execute_commands: mode != Mode::Tabletop,
        workdir: workdir.to_path_buf(),
        run_id: "run-1".into(),
        operator: "alice".into(),
        inputs,
        incident_started_at: incident,
        skips: Default::default(),
        authority: Default::default(),
        step_p90_ms,
    };
    let genesis = Engine::genesis(&spec, "00".into(), None, None, "sim", speed as u32, None);
    let (engine, tx) = Engine::new(spec, clock, sim.clone(), sink.clone(), Prior::default());
    let collector = tokio::spawn(async move {
        let mut records = Vec::new();
        while let Some(r) = rx.recv().await {
            if let Some(c) = answer(&r.event) {
                let _ = tx.send(c);
            }
            records.push(r);
        }
        records
    });
    drop(sink);
    let outcome = engine.run(genesis).await.expect("the run is not fatal");
    let records = collector.await.unwrap();
    Run { outcome, records, sim }
}

fn runbook(dataset: &str, steps: &str) -> String {
    format!(
        "apiVersion: lifeboat/v1\nkind: Runbook\nid: t\ntitle: T\ndataset: {dataset}\nscenario: other\ninputs:\n  mode: {{ type: string, default: quick }}\nphases:\n  - id: p\n    title: P\n    budget: 1h\n    steps:\n{steps}"
    )
}

#[tokio::test(start_paused = true)]
async fn independent_steps_run_side_by_side() {
    let yaml = runbook(
        "shop-docs",
        "      - { id: a, title: A, wait: 10m, needs: [] }\n      - { id: b, title: B, wait: 10m, needs: [] }\n      - { id: c, title: C, manual: Check, needs: [a, b] }\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let r = run(&yaml, Mode::Tabletop, 1.0, dir.path(), yes).await;
    assert_eq!(r.outcome.status, RunStatus::Succeeded);
    let start = r.time_of(|e| matches!(e, Event::PhaseStarted { .. }));
    let c = r.time_of(|e| matches!(e, Event::StepStarted { step, .. } if step == "c"));
    let took = c.duration_since(start).as_secs();
    assert!((600..630).contains(&took), "two 10-minute waits took {took}s, not ~600s");
}

#[tokio::test(start_paused = true)]
async fn two_simulated_restores_take_the_longer_of_the_two_not_the_sum() {
    let yaml = runbook(
        "ledger",
        "      - { id: r1, title: R1, action: rds.restore_to_time, with: { instance: ledger-prod, new_instance: ledger-a, latest: true }, needs: [] }\n      - { id: r2, title: R2, action: rds.restore_to_time, with: { instance: ledger-prod, new_instance: ledger-b, latest: true }, needs: [] }\n      - { id: ok, title: OK, approval: { role: dpo }, needs: [r1, r2] }\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let r = run(&yaml, Mode::Tabletop, 1.0, dir.path(), yes).await;
    assert_eq!(r.outcome.status, RunStatus::Succeeded, "{:?}", r.outcome);
    let (d1, d2) = (r.finished("r1").2, r.finished("r2").2);
    assert!(d1 >= 20 * 60_000 && d2 >= 20 * 60_000, "a simulated RDS restore takes 20–40 minutes: {d1} {d2}");
    let start = r.time_of(|e| matches!(e, Event::PhaseStarted { .. }));
    let approval = r.time_of(|e| matches!(e, Event::StepStarted { step, .. } if step == "ok"));
    let both = approval.duration_since(start).as_millis() as u64;
    assert!(both < d1.max(d2) + 60_000, "side by side: {both} ms for restores of {d1} and {d2} ms");
}

#[tokio::test(start_paused = true)]
async fn manual_approval_action_and_wait_steps_all_run() {
    let yaml = runbook(
        "ledger",
        "      - { id: look, title: Look, manual: \"Check ${{ dataset.primary.region }}\", checklist: [one] }\n      - { id: go, title: Go, approval: { role: ic } }\n      - { id: posture, title: Posture, action: rds.check_posture, with: { instance: ledger-prod } }\n      - { id: restore, title: Restore, action: rds.restore_to_time, with: { instance: ledger-prod, new_instance: ledger-pitr, time: \"2026-11-24T02:59:00Z\" } }\n      - { id: poll, title: Poll, wait: { action: rds.wait_available, with: { instance: \"${{ steps.restore.outputs.instance }}\" }, until: \"outputs.status == 'available'\", every: 1m } }\n      - { id: pause, title: Pause, wait: 5m }\n      - { id: accept, title: Accept, approval: { role: dpo } }\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let r = run(&yaml, Mode::Tabletop, 1.0, dir.path(), yes).await;
    assert_eq!(r.outcome.status, RunStatus::Succeeded, "{:?}", r.outcome);
    for s in ["look", "go", "posture", "restore", "poll", "pause", "accept"] {
        assert_eq!(r.finished(s).0, StepStatus::Done, "{s}");
    }
    let prompt = r.records.iter().find_map(|x| match &x.event {
        Event::StepWaiting { step, prompt, .. } if step == "look" => prompt.clone(),
        _ => None,
    });
    assert_eq!(prompt.as_deref(), Some("Check eu-central-1"), "instructions are rendered with their expressions");
    assert!(r.finished("pause").2 >= 300_000);
    // The restore reported its recovery point: achieved RPO = incident − recovery point.
    assert_eq!(r.outcome.objectives.achieved_rpo_ms, Some(60_000));
    assert_eq!(r.outcome.objectives.rpo_met(), Some(true));
}

#[tokio::test]
async fn outputs_feed_later_steps_and_commands_really_run() {
    let yaml = runbook(
        "shop-docs",
        "      - { id: posture, title: Posture, action: s3.check_posture, with: { bucket: shop-docs-prod } }\n      - { id: emit, title: Emit, run: \"echo versioning=${{ steps.posture.outputs.versioning }}; echo greeting=hello >> $LIFEBOAT_OUTPUT\", outputs: [greeting] }\n      - { id: use, title: Use, run: \"echo got ${{ steps.emit.outputs.greeting }}\", expect: { stdout_contains: got hello } }\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let r = run(&yaml, Mode::Replay, 1000.0, dir.path(), yes).await;
    assert_eq!(r.outcome.status, RunStatus::Succeeded, "{:?}", r.outcome);
    let out: Vec<String> = r
        .records
        .iter()
        .filter_map(|x| match &x.event {
            Event::StepOutput { stream: Stream::Stdout, text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect();
    assert!(out.contains(&"versioning=Enabled".to_string()), "{out:?}");
    assert!(out.contains(&"got hello".to_string()), "{out:?}");
}

#[tokio::test]
async fn retries_back_off_with_jitter_then_succeed() {
    let yaml = runbook(
        "shop-docs",
        "      - { id: flaky, title: Flaky, run: \"n=$(cat n 2>/dev/null || echo 0); n=$((n+1)); echo $n > n; [ $n -ge 3 ]\", retries: 3 }\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let r = run(&yaml, Mode::Replay, 1000.0, dir.path(), yes).await;
    assert_eq!(r.outcome.status, RunStatus::Succeeded);
    assert_eq!(std::fs::read_to_string(dir.path().join("n")).unwrap().trim(), "3");
    let backoffs: Vec<u64> = r
        .records
        .iter()
        .filter_map(|x| match &x.event {
            Event::StepRetry { backoff_ms, .. } => Some(*backoff_ms),
            _ => None,
        })
        .collect();
    assert_eq!(backoffs.len(), 2);
    assert!(
        (1500..=2500).contains(&backoffs[0]) && (3000..=5000).contains(&backoffs[1]),
        "exponential with ±25% jitter: {backoffs:?}"
    );
}

#[tokio::test]
async fn a_step_that_keeps_failing_fails_and_on_failure_decides() {
    let yaml = runbook(
        "shop-docs",
        "      - { id: bad, title: Bad, run: \"exit 7\", retries: 1, on_failure: continue }\n      - { id: after, title: After, run: \"true\" }\n      - { id: worse, title: Worse, run: \"exit 1\" }\n      - { id: never, title: Never, run: \"true\" }\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let r = run(&yaml, Mode::Replay, 1000.0, dir.path(), yes).await;
    let (status, reason, _) = r.finished("bad");
    assert_eq!(status, StepStatus::Failed);
    assert_eq!(reason.as_deref(), Some("exit code 7, expected 0"));
    assert_eq!(r.count(|e| matches!(e, Event::StepRetry { step, .. } if step == "bad")), 1);
    assert_eq!(r.finished("after").0, StepStatus::Done, "on_failure: continue goes on");
    assert_eq!(r.finished("worse").0, StepStatus::Failed);
    assert_eq!(
        r.count(|e| matches!(e, Event::StepStarted { step, .. } if step == "never")),
        0,
        "headless default is abort"
    );
    assert_eq!(r.outcome.status, RunStatus::Failed);
}

/// Whether a killed process is gone within two seconds (a signal is not instant).
fn dies(pid: i32) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while alive(pid) {
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    true
}

/// Running, not gone and not a zombie (a killed grandchild may wait for a reaper).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'),
        Err(_) => false,
    }
}

#[tokio::test]
async fn a_timeout_kills_the_command_and_its_children() {
    let yaml = runbook(
        "shop-docs",
        "      - { id: slow, title: Slow, run: \"echo $$ > pid; sleep 300 & echo $! > child; wait\", timeout: 30s }\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let r = run(&yaml, Mode::Replay, 100.0, dir.path(), yes).await;
    let (status, reason, _) = r.finished("slow");
    assert_eq!(status, StepStatus::Failed);
    assert!(reason.unwrap().contains("did not finish within 30s"));
    for f in ["pid", "child"] {
        let pid: i32 = std::fs::read_to_string(dir.path().join(f)).unwrap().trim().parse().unwrap();
        assert!(dies(pid), "{f} {pid} still runs after the timeout");
    }
}

#[tokio::test]
async fn abort_stops_running_steps_cleanly() {
    let yaml = runbook(
        "shop-docs",
        "      - { id: long, title: Long, run: \"echo $$ > pid; echo started; sleep 300\", needs: [] }\n      - { id: wait, title: Wait, wait: 2h, needs: [] }\n",
    );
    let dir = tempfile::tempdir().unwrap();
    // Aborted once the command is surely running (it has printed), with the wait waiting.
    let r = run(&yaml, Mode::Replay, 10.0, dir.path(), move |e| match e {
        Event::StepOutput { step, .. } if step == "long" => {
            Some(Command::Abort { by: "ic".into(), reason: "wrong runbook".into() })
        }
        _ => None,
    })
    .await;
    assert_eq!(r.outcome.status, RunStatus::Aborted);
    assert_eq!(r.outcome.reason.as_deref(), Some("wrong runbook"));
    assert_eq!(r.count(|e| matches!(e, Event::RunFinished { status: RunStatus::Aborted, .. })), 1);
    assert_eq!(r.count(|e| matches!(e, Event::StepFinished { .. })), 0, "aborted steps do not pretend to finish");
    let pid: i32 = std::fs::read_to_string(dir.path().join("pid")).unwrap().trim().parse().unwrap();
    assert!(dies(pid), "the command still runs after the abort");
}

#[tokio::test(start_paused = true)]
async fn when_false_skips_and_true_runs() {
    let yaml = runbook(
        "shop-docs",
        "      - { id: full, title: Full, manual: Do it all, when: \"inputs.mode == 'full'\" }\n      - { id: quick, title: Quick, manual: Do it quickly, when: \"${{ inputs.mode == 'quick' }}\" }\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let r = run(&yaml, Mode::Tabletop, 1.0, dir.path(), yes).await;
    assert_eq!(r.finished("full"), (StepStatus::Skipped, Some("condition false".into()), 0));
    assert_eq!(r.finished("quick").0, StepStatus::Done);
    assert_eq!(r.outcome.status, RunStatus::Succeeded);
}

#[tokio::test(start_paused = true)]
async fn a_denied_approval_or_the_wrong_role_fails_the_run() {
    let yaml = runbook("shop-docs", "      - { id: go, title: Go, approval: { role: incident-commander } }\n");
    let dir = tempfile::tempdir().unwrap();
    let r = run(&yaml, Mode::Tabletop, 1.0, dir.path(), |e| match e {
        Event::StepWaiting { step, .. } => {
            Some(Command::Deny { step: step.clone(), by: "bob".into(), role: None, reason: Some("not yet".into()) })
        }
        _ => None,
    })
    .await;
    assert_eq!(r.finished("go"), (StepStatus::Failed, Some("denied by bob: not yet".into()), 0));
    assert_eq!(r.outcome.status, RunStatus::Failed);
    let r = run(&yaml, Mode::Tabletop, 1.0, dir.path(), |e| match e {
        Event::StepWaiting { step, .. } => {
            Some(Command::Approve { step: step.clone(), by: "eve".into(), role: Some("intern".into()) })
        }
        _ => None,
    })
    .await;
    assert_eq!(r.outcome.status, RunStatus::Failed);
    assert!(r.finished("go").1.unwrap().contains("needs the `incident-commander`"));
}

#[tokio::test(start_paused = true)]
async fn at_a_keyboard_a_denied_approval_offers_retry_or_abort_never_continue() {
    let yaml = runbook(
        "shop-docs",
        "      - { id: go, title: Go, approval: { role: ic, four_eyes: true }, on_failure: continue }\n      - { id: after, title: After, run: \"true\" }\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let asked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let n = asked.clone();
    let r = run_with(&yaml, Mode::Tabletop, 1.0, true, dir.path(), move |e| match e {
        // The operator (alice) approves her own run: under four eyes, a denial.
        Event::StepWaiting { step, waiting_for: Waiting::Approval, .. } => {
            Some(Command::Approve { step: step.clone(), by: "Alice".into(), role: Some("ic".into()) })
        }
        Event::StepWaiting { step, waiting_for: Waiting::RetryOrAbort, .. } => {
            Some(match n.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                0 => Command::Continue { step: step.clone(), by: "alice".into() },
                1 => Command::Skip { step: step.clone(), by: "alice".into(), reason: "hurry".into() },
                _ => Command::Abort { by: "alice".into(), reason: "no approver awake".into() },
            })
        }
        Event::StepWaiting { waiting_for: Waiting::Decision, .. } => panic!("continue was offered"),
        _ => None,
    })
    .await;
    assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 3, "asked again after each refusal");
    assert_eq!(r.count(|e| matches!(e, Event::Warning { code, .. } if code == "cannot_continue")), 2);
    assert_eq!(r.outcome.status, RunStatus::Aborted);
    assert_eq!(r.count(|e| matches!(e, Event::StepStarted { step, .. } if step == "after")), 0);
    assert!(
        r.count(
            |e| matches!(e, Event::Answer { verdict: Verdict::Deny, reason: Some(r), .. } if r.contains("four eyes"))
        ) == 1
    );
}

#[tokio::test(start_paused = true)]
async fn a_retry_after_one_attempt_is_attempt_two() {
    // A gate is not retried on its own: one attempt, then the operator asks again.
    let yaml = runbook(
        "shop-docs",
        "      - { id: a, title: A, run: \"true\", outputs: [x], expect: { outputs: { x: 1 } }, retries: 2 }\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let asked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let n = asked.clone();
    let r = run_with(&yaml, Mode::Replay, 1.0, true, dir.path(), move |e| match e {
        Event::StepWaiting { step, waiting_for: Waiting::Decision, .. } => {
            Some(match n.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                0 => Command::Retry { step: step.clone(), by: "alice".into() },
                _ => Command::Abort { by: "alice".into(), reason: "enough".into() },
            })
        }
        _ => None,
    })
    .await;
    let attempts: Vec<u32> = r
        .records
        .iter()
        .filter_map(|rec| match &rec.event {
            Event::StepStarted { attempt, .. } => Some(*attempt),
            _ => None,
        })
        .collect();
    assert_eq!(attempts, vec![1, 2], "numbered by the attempts made, not by the retries allowed");
}

#[tokio::test(start_paused = true)]
async fn after_a_hand_off_neither_operator_may_approve_under_four_eyes() {
    let yaml = runbook(
        "shop-docs",
        "      - { id: look, title: Look, manual: Look. }\n      - { id: go, title: Go, approval: { role: ic, four_eyes: true } }\n",
    );
    let dir = tempfile::tempdir().unwrap();
    for approver in ["alice", "bob"] {
        let who = approver.to_string();
        let r = run_with(&yaml, Mode::Tabletop, 1.0, true, dir.path(), move |e| match e {
            Event::StepWaiting { waiting_for: Waiting::Confirm, .. } => {
                // alice hands over to bob, then bob confirms.
                Some(Command::HandOff { by: "alice".into(), to: "bob".into() })
            }
            Event::HandOff { .. } => Some(Command::Confirm { step: "look".into(), by: "bob".into() }),
            Event::StepWaiting { step, waiting_for: Waiting::Approval, .. } => {
                Some(Command::Approve { step: step.clone(), by: who.clone(), role: Some("ic".into()) })
            }
            Event::StepWaiting { waiting_for: Waiting::RetryOrAbort, .. } => {
                Some(Command::Abort { by: "bob".into(), reason: "no one else awake".into() })
            }
            _ => None,
        })
        .await;
        assert_eq!(r.count(|e| matches!(e, Event::HandOff { from, to } if from == "alice" && to == "bob")), 1);
        let denied = r.count(|e| {
            matches!(e, Event::Answer { verdict: Verdict::Deny, by, reason: Some(why), .. } if by == approver && why.contains("four eyes"))
        });
        assert_eq!(denied, 1, "{approver} held the run: not four eyes");
        assert_eq!(r.outcome.status, RunStatus::Aborted);
    }
}

#[tokio::test(start_paused = true)]
async fn regulated_data_skipped_needs_a_recorded_acceptance() {
    let steps = "      - { id: restore, title: Restore, action: rds.restore_to_time, with: { instance: ledger-prod, new_instance: x, latest: true }, when: \"inputs.mode == 'full'\" }\n";
    let skip = |e: &Event| match e {
        Event::StepWaiting { step, waiting_for: Waiting::Approval, .. } => {
            Some(Command::Approve { step: step.clone(), by: "dora".into(), role: None })
        }
        _ => None,
    };
    let dir = tempfile::tempdir().unwrap();
    // The restore is skipped by its condition, and nobody accepted the loss.
    let yaml = runbook("ledger", steps);
    let r = run(&yaml, Mode::Tabletop, 1.0, dir.path(), skip).await;
    assert_eq!(r.finished("restore").0, StepStatus::Skipped);
    assert_eq!(r.outcome.status, RunStatus::Failed);
    assert!(r.outcome.reason.unwrap().contains("regulated data"));
    let yaml = runbook(
        "ledger",
        &format!("{steps}      - {{ id: accept, title: Accept the loss, approval: {{ role: dpo }} }}\n"),
    );
    let r = run(&yaml, Mode::Tabletop, 1.0, dir.path(), skip).await;
    assert_eq!(r.outcome.status, RunStatus::Succeeded, "{:?}", r.outcome.reason);
}

#[tokio::test(start_paused = true)]
async fn a_drill_never_writes_to_production() {
    let yaml = runbook(
        "shop-docs",
        "      - { id: prod, title: Prod, action: s3.restore_to_time, with: { bucket: shop-docs-prod, time: \"2026-11-24T03:00:00Z\" }, on_failure: continue }\n      - { id: plan, title: Plan, action: s3.restore_to_time, with: { bucket: shop-docs-prod, time: \"2026-11-24T03:00:00Z\", dry_run: true, mode: direct } }\n      - { id: batch, title: Plan a job, action: s3.restore_to_time, with: { bucket: shop-docs-prod, time: \"2026-11-24T03:00:00Z\", dry_run: true }, on_failure: continue }\n      - { id: drill, title: Drill, action: s3.copy_prefix, with: { from: { bucket: shop-docs-prod }, to: { bucket: shop-docs-drill } } }\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let versions =
        |sim: &Sim| sim.with_world(|w| w.buckets["shop-docs-prod"].objects.values().map(Vec::len).sum::<usize>());
    let r = run(&yaml, Mode::Drill, 1.0, dir.path(), yes).await;
    let (status, reason, _) = r.finished("prod");
    assert_eq!(status, StepStatus::Failed);
    assert!(reason.unwrap().contains("may not write to `shop-docs-prod`: it is a production resource"));
    assert_eq!(r.finished("plan").0, StepStatus::Done, "a dry run writes nothing");
    // The bucket has a Batch setup: a dry run that may create a job against it is a
    // write waiting to happen, and refused before the job or its manifest exist.
    let (status, reason, _) = r.finished("batch");
    assert_eq!(status, StepStatus::Failed);
    assert!(reason.unwrap().contains("may not write to `shop-docs-prod`"));
    let hint = r.count(|e| matches!(e, Event::StepFinished { step, error: Some(err), .. } if step == "batch" && err.hint.as_deref().is_some_and(|h| h.contains("give the step `mode: direct`"))));
    assert_eq!(hint, 1, "the refusal says what to do");
    r.sim.with_world(|w| {
        assert!(w.jobs.is_empty(), "no job");
        assert!(w.buckets["shop-docs-reports"].objects.is_empty(), "no manifest");
    });
    assert_eq!(r.finished("drill").0, StepStatus::Done, "copying into the drill bucket is allowed");
    let fresh = Sim::seeded(&catalog_from_str(CATALOG).unwrap(), t("2026-11-24T03:05:00Z"), t("2026-11-24T03:00:00Z"));
    assert_eq!(versions(&r.sim), versions(&fresh), "production was not written to");
}

#[tokio::test(start_paused = true)]
async fn the_drill_guard_knows_a_production_id_in_any_case() {
    // RDS lowercases identifiers: `Ledger-Prod` is the production instance.
    let yaml = runbook(
        "ledger",
        "      - { id: promote, title: Promote, action: rds.promote_replica, with: { replica: Ledger-PROD }, on_failure: continue }\n      - { id: go, title: Accept, approval: { role: dpo } }\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let r = run(&yaml, Mode::Drill, 1.0, dir.path(), yes).await;
    let (status, reason, _) = r.finished("promote");
    assert_eq!(status, StepStatus::Failed);
    assert!(reason.unwrap().contains("may not write to `Ledger-PROD`: it is a production resource of `ledger`"));
}

#[tokio::test(start_paused = true)]
async fn at_a_keyboard_a_drill_refuses_production_before_asking_for_the_name() {
    let yaml = runbook(
        "shop-docs",
        "      - { id: prod, title: Prod, action: s3.restore_to_time, with: { bucket: shop-docs-prod, time: \"2026-11-24T03:00:00Z\" }, on_failure: continue }\n      - { id: drill, title: Drill, action: s3.copy_prefix, with: { from: { bucket: shop-docs-prod }, to: { bucket: shop-docs-drill } } }\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let r = run_with(&yaml, Mode::Drill, 1000.0, true, dir.path(), move |e| match e {
        Event::StepWaiting { step, waiting_for: Waiting::Confirm, .. } => {
            assert_eq!(step, "drill", "nobody is asked to type a name the drill will refuse");
            Some(Command::Confirm { step: step.clone(), by: "alice".into() })
        }
        _ => None,
    })
    .await;
    let (status, reason, _) = r.finished("prod");
    assert_eq!(status, StepStatus::Failed);
    assert!(reason.unwrap().contains("it is a production resource"));
    assert_eq!(r.finished("drill").0, StepStatus::Done);
}

#[test]
fn objectives_arithmetic() {
    let catalog = catalog_from_str(CATALOG).unwrap();
    let yaml = "apiVersion: lifeboat/v1\nkind: Runbook\nid: t\ntitle: T\ndataset: shop-docs\nscenario: other\nobjectives: { rto: 1h, rpo: 30m }\nphases:\n  - { id: a, title: A, budget: 10m, steps: [{ id: s1, title: S1, manual: x }] }\n  - { id: b, title: B, budget: 30m, steps: [{ id: s2, title: S2, manual: x, milestone: service-restored }] }\n  - { id: c, title: C, budget: 15m, steps: [{ id: s3, title: S3, manual: x }] }\n";
    let rb = runbook_from_str(yaml, &catalog).unwrap();
    let mut tr = Tracker::new(&rb, t("2026-11-24T03:00:00Z"));
    let rec = |time: &str, event: Event| Record { seq: 0, prev: String::new(), time: time.into(), event };
    tr.observe(&rec("2026-11-24T03:05:00.000Z", Event::PhaseStarted { phase: "a".into(), budget_ms: 600_000 }));
    tr.observe(&rec(
        "2026-11-24T03:20:00.000Z",
        Event::PhaseFinished { phase: "a".into(), status: StepStatus::Done, elapsed_ms: 900_000, budget_ms: 600_000 },
    ));
    tr.observe(&rec("2026-11-24T03:20:00.000Z", Event::PhaseStarted { phase: "b".into(), budget_ms: 1_800_000 }));
    // 03:30: 30 minutes since the incident; phase b has 20 of its 30 minutes left, and
    // phase a ran 1.5× over, so the milestone is projected 30 minutes on. Phase c comes
    // after the milestone and does not count.
    let s = tr.status(t("2026-11-24T03:30:00Z"));
    assert_eq!((s.rto_elapsed_ms, s.projected_ms), (1_800_000, 3_600_000));
    let w = tr.warnings(t("2026-11-24T03:30:00Z"));
    assert!(w.is_empty(), "{w:?}");
    // 03:46: b has used 26 of its 30 minutes; projected 46m + 4m × 1.5 = 52m, inside the RTO.
    let w = |tr: &mut Tracker, at: &str| -> Vec<String> {
        tr.warnings(t(at)).into_iter().map(|e| format!("{e:?}")).collect()
    };
    let now = w(&mut tr, "2026-11-24T03:46:00Z");
    assert!(now.len() == 1 && now[0].contains("phase `b` has used 80% of its 30m budget"), "{now:?}");
    assert_eq!(tr.status(t("2026-11-24T03:46:00Z")).projected_ms, 3_120_000);
    assert!(w(&mut tr, "2026-11-24T03:47:00Z").is_empty(), "each warning once");
    let now = w(&mut tr, "2026-11-24T03:51:00Z");
    assert!(now.len() == 1 && now[0].contains("phase `b` is over its 30m budget"), "{now:?}");
    let now = w(&mut tr, "2026-11-24T04:01:00Z");
    assert!(now.len() == 1 && now[0].contains("past the RTO of 1h"), "{now:?}");
    tr.observe(&rec(
        "2026-11-24T03:48:00.000Z",
        Event::StepFinished {
            step: "x".into(),
            status: StepStatus::Done,
            reason: None,
            outputs: Default::default(),
            duration_ms: 0,
            recovery_point: Some("2026-11-24T02:35:00Z".into()),
            error: None,
        },
    ));
    tr.observe(&rec("2026-11-24T04:05:00.000Z", Event::Milestone { name: "service-restored".into() }));
    let s = tr.status(t("2026-11-24T05:00:00Z"));
    assert_eq!((s.rto_elapsed_ms, s.rto_met()), (3_900_000, false), "the RTO clock stops at the milestone");
    assert_eq!((s.achieved_rpo_ms, s.rpo_met()), (Some(1_500_000), Some(true)));
}

#[tokio::test]
async fn interactively_a_failure_asks_and_the_operator_decides() {
    let yaml = runbook(
        "shop-docs",
        "      - { id: flaky, title: Flaky, run: \"n=$(cat n 2>/dev/null || echo 0); echo $((n+1)) > n; exit 1\" }\n      - { id: next, title: Next, run: \"true\" }\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let asked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let a = asked.clone();
    let r = run_with(&yaml, Mode::Replay, 1000.0, true, dir.path(), move |e| match e {
        Event::StepStarted { step, attempt: 1, .. } if step == "flaky" => {
            Some(Command::Note { by: "alice".into(), text: "trying the flaky one".into() })
        }
        Event::StepWaiting { step, waiting_for: Waiting::Decision, .. } => {
            let n = a.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Some(if n == 0 {
                Command::Retry { step: step.clone(), by: "alice".into() }
            } else {
                Command::Continue { step: step.clone(), by: "alice".into() }
            })
        }
        _ => None,
    })
    .await;
    assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 2, "asked after each failure");
    assert_eq!(std::fs::read_to_string(dir.path().join("n")).unwrap().trim(), "2", "retried once");
    assert_eq!(r.finished("flaky").0, StepStatus::Failed);
    assert_eq!(r.finished("next").0, StepStatus::Done, "continued past it");
    assert_eq!(r.count(|e| matches!(e, Event::Note { text, .. } if text == "trying the flaky one")), 1);
    assert_eq!(r.count(|e| matches!(e, Event::Answer { verdict: lifeboat::event::Verdict::Retry, .. })), 1);
    assert_eq!(r.outcome.status, RunStatus::Failed, "a failed step fails the run even when continued past");
}

#[tokio::test]
async fn interactively_a_change_waits_for_the_resource_name_and_a_read_does_not() {
    let yaml = runbook(
        "shop-docs",
        "      - { id: look, title: Look, action: s3.check_posture, with: { bucket: shop-docs-prod }, on_failure: continue }\n      - { id: roll, title: Roll back, action: s3.restore_to_time, with: { bucket: shop-docs-prod, time: \"2026-11-24T03:00:00Z\" } }\n      - { id: again, title: Roll back again, action: s3.restore_to_time, with: { bucket: shop-docs-prod, time: \"2026-11-24T03:00:00Z\" } }\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let r = run_with(&yaml, Mode::Replay, 1000.0, true, dir.path(), move |e| match e {
        Event::StepWaiting { step, waiting_for: Waiting::Confirm, prompt } => {
            let typed = lifeboat::event::typed_parts(prompt.as_deref().unwrap()).unwrap();
            assert_eq!(typed.name, "shop-docs-prod");
            assert_eq!(typed.change, "s3.restore_to_time will change shop-docs-prod");
            // The action's dry run came first: the counts are on the screen.
            assert!(typed.plan.unwrap().starts_with("the plan: roll back "), "{prompt:?}");
            Some(if step == "roll" {
                Command::Confirm { step: step.clone(), by: "alice".into() }
            } else {
                Command::Skip { step: step.clone(), by: "alice".into(), reason: "once is enough".into() }
            })
        }
        _ => None,
    })
    .await;
    let waits: Vec<&str> = r
        .records
        .iter()
        .filter_map(|rec| match &rec.event {
            Event::StepWaiting { step, .. } => Some(step.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(waits, ["roll", "again"], "the read-only check asks nothing");
    // The plan shown is the work done: the dry run's counts are the roll-back's.
    let plan = r
        .records
        .iter()
        .find_map(|rec| match &rec.event {
            Event::StepWaiting { step, prompt: Some(p), .. } if step == "roll" => Some(p.clone()),
            _ => None,
        })
        .unwrap();
    let done = r
        .records
        .iter()
        .find_map(|rec| match &rec.event {
            Event::StepFinished { step, outputs, .. } if step == "roll" => Some(outputs.clone()),
            _ => None,
        })
        .unwrap();
    let n = |k: &str| done[k].as_u64().unwrap();
    assert!(n("restored") + n("undeleted") > 0, "the sim bucket has damage to undo: {done:?}");
    assert!(
        plan.contains(&format!("roll back {} objects, undelete {}", n("restored"), n("undeleted"))),
        "{plan} against {done:?}"
    );
    let dry = r.count(|e| matches!(e, Event::StepOutput { step, text, .. } if step == "roll" && text.contains("dry run: nothing changes")));
    assert_eq!(dry, 1, "one dry run before the typed name, none on the real call");
    // The preview's lines say they are the preview: never read as the real restore's.
    let preview = r.count(|e| matches!(e, Event::StepOutput { step, text, .. } if step == "roll" && text.starts_with("preview, before you confirm: plan for s3://shop-docs-prod")));
    assert_eq!(preview, 1);
    // The confirmed preview is the plan: the real call carries it out without listing
    // the bucket again (issue 30: four listings at a keyboard, a minute or more each).
    let real = r.count(|e| matches!(e, Event::StepOutput { step, text, .. } if step == "roll" && text.starts_with("plan for s3://shop-docs-prod") && !text.contains("dry run")));
    assert_eq!(real, 0, "no second plan on the real call");
    let carried = r.count(|e| matches!(e, Event::StepOutput { step, text, .. } if step == "roll" && text.starts_with("carrying out the confirmed plan")));
    assert_eq!(carried, 1);
    let listed = r.sim.requests().get("ListObjectVersions").copied();
    assert_eq!(
        listed,
        Some(2 * one_listing().await),
        "the two previews' listings only (`again` was previewed, then skipped)"
    );
    assert_eq!(r.finished("roll").0, StepStatus::Done);
    // The change was held to the plan confirmed, and it is the plan that ran.
    let held = format!("held to the plan confirmed: manifest sha256 {}", done["manifest_sha256"].as_str().unwrap());
    assert_eq!(r.count(|e| matches!(e, Event::StepOutput { step, text, .. } if step == "roll" && *text == held)), 1);
    assert_eq!(r.finished("again").0, StepStatus::Skipped);
    assert_eq!(
        r.count(|e| matches!(e, Event::Answer { verdict: lifeboat::event::Verdict::Confirm, by, .. } if by == "alice")),
        1
    );
}

/// Issue 32 (3): a step that runs past its p90 in the runbook's trusted history is said
/// once, while it runs; a step within its p90, or with no history, is not.
#[tokio::test]
async fn a_step_past_its_p90_is_said_once_while_it_runs() {
    let yaml = runbook(
        "shop-docs",
        "      - { id: slow, title: Slow, wait: 10m }\n      - { id: quick, title: Quick, wait: 1m }\n      - { id: new, title: New, wait: 5m }\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let p90: BTreeMap<String, u64> = [("slow".to_string(), 2 * 60_000), ("quick".to_string(), 5 * 60_000)].into();
    let r = run_with_history(&yaml, Mode::Tabletop, 1000.0, false, dir.path(), p90, yes).await;
    let said: Vec<String> = r
        .records
        .iter()
        .filter_map(|rec| match &rec.event {
            Event::Warning { code, message } if code == "step_past_p90" => Some(message.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].starts_with("step `slow` has run ") && said[0].contains("past its p90 of 2m"), "{said:?}");
    // Said while it ran, not after.
    let warned = r.time_of(|e| matches!(e, Event::Warning { code, .. } if code == "step_past_p90"));
    let ended = r.time_of(|e| matches!(e, Event::StepFinished { step, .. } if step == "slow"));
    assert!(warned < ended, "{warned} is not before {ended}");
}

/// The requests one listing of the seeded bucket takes: a dry run alone.
async fn one_listing() -> u64 {
    let yaml = runbook(
        "shop-docs",
        "      - { id: plan, title: Plan, action: s3.restore_to_time, with: { bucket: shop-docs-prod, time: \"2026-11-24T03:00:00Z\", dry_run: true } }\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let r = run(&yaml, Mode::Replay, 1000.0, dir.path(), yes).await;
    assert_eq!(r.finished("plan").0, StepStatus::Done);
    r.sim.requests().get("ListObjectVersions").copied().unwrap_or(0)
}

/// Issue 30 (9): the runbooks' shape — a plan step, the roll-back held to it, a check —
/// lists the bucket twice at a keyboard: the plan step's plan is the preview (no dry run
/// again) and the roll-back carries it out (no re-plan); the check after is the proof.
#[tokio::test]
async fn a_roll_back_at_a_keyboard_lists_the_bucket_twice_the_plan_and_the_proof() {
    let yaml = runbook(
        "shop-docs",
        "      - { id: plan, title: Plan, action: s3.restore_to_time, with: { bucket: shop-docs-prod, time: \"2026-11-24T03:00:00Z\", dry_run: true } }\n      - { id: roll, title: Roll back, action: s3.restore_to_time, with: { bucket: shop-docs-prod, time: \"2026-11-24T03:00:00Z\", plan_sha256: \"${{ steps.plan.outputs.manifest_sha256 }}\" }, assert: [\"${{ steps.roll.outputs.restored == steps.plan.outputs.restored }}\"] }\n      - { id: check, title: Check, action: s3.restore_to_time, with: { bucket: shop-docs-prod, time: \"2026-11-24T03:00:00Z\", dry_run: true }, expect: { outputs: { restored: 0, undeleted: 0 } } }\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let r = run_with(&yaml, Mode::Replay, 1000.0, true, dir.path(), move |e| match e {
        Event::StepWaiting { step, waiting_for: Waiting::Confirm, prompt } => {
            let typed = lifeboat::event::typed_parts(prompt.as_deref().unwrap()).unwrap();
            // The counts on the screen are the plan step's, with its digest.
            assert!(typed.plan.unwrap().starts_with("the plan: roll back "), "{prompt:?}");
            Some(Command::Confirm { step: step.clone(), by: "alice".into() })
        }
        _ => None,
    })
    .await;
    for step in ["plan", "roll", "check"] {
        assert_eq!(r.finished(step).0, StepStatus::Done, "{step}: {:?}", r.finished(step));
    }
    let listed = r.sim.requests().get("ListObjectVersions").copied();
    assert_eq!(listed, Some(2 * one_listing().await), "two listings' requests: {:?}", r.sim.requests());
    let said = r.count(|e| matches!(e, Event::StepOutput { step, text, .. } if step == "roll" && text == "the plan is the one step `plan` made; the change is held to it"));
    assert_eq!(said, 1);
    let outputs = |id: &str| {
        r.records
            .iter()
            .find_map(|rec| match &rec.event {
                Event::StepFinished { step, outputs, .. } if step == id => Some(outputs.clone()),
                _ => None,
            })
            .unwrap()
    };
    let (plan, roll) = (outputs("plan"), outputs("roll"));
    assert!(roll["restored"].as_u64().unwrap() > 0, "{roll:?}");
    for k in ["restored", "undeleted", "newer_kept", "manifest_sha256", "recovery_point"] {
        assert_eq!(plan[k], roll[k], "{k}");
    }
    let rp = r.records.iter().find_map(|rec| match &rec.event {
        Event::StepFinished { step, recovery_point, .. } if step == "roll" => recovery_point.clone(),
        _ => None,
    });
    assert!(rp.is_some(), "the roll-back's recovery point is the plan's");
}

/// By S3 Batch Operations: the typed confirmation shows the job the preview created and
/// its own count of copies; the job starts only once the name is typed.
#[tokio::test]
async fn interactively_a_batch_job_is_created_by_the_preview_and_started_only_after_the_typed_name() {
    let yaml = runbook(
        "shop-docs",
        "      - { id: roll, title: Roll back, action: s3.restore_to_time, with: { bucket: shop-docs-prod, time: \"2026-11-24T03:00:00Z\", mode: batch } }\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let r = run_with(&yaml, Mode::Replay, 1000.0, true, dir.path(), move |e| match e {
        Event::StepWaiting { step, waiting_for: Waiting::Confirm, prompt } => {
            let typed = lifeboat::event::typed_parts(prompt.as_deref().unwrap()).unwrap();
            let plan = typed.plan.unwrap();
            assert!(
                plan.contains("; S3 Batch Operations job ") && plan.contains(" copies and starts when you confirm"),
                "{plan}"
            );
            Some(Command::Confirm { step: step.clone(), by: "alice".into() })
        }
        _ => None,
    })
    .await;
    assert_eq!(r.finished("roll").0, StepStatus::Done, "{:?}", r.finished("roll"));
    let at = |f: &dyn Fn(&Event) -> bool| r.records.iter().position(|rec| f(&rec.event)).unwrap_or(usize::MAX);
    let created = at(
        &|e| matches!(e, Event::StepOutput { text, .. } if text.starts_with("preview, before you confirm: S3 Batch Operations job ") && text.contains("waiting for confirmation")),
    );
    let typed = at(&|e| matches!(e, Event::Answer { verdict: lifeboat::event::Verdict::Confirm, .. }));
    let held = at(
        &|e| matches!(e, Event::StepOutput { text, .. } if text.starts_with("held to the confirmed S3 Batch Operations job ")),
    );
    let started = at(
        &|e| matches!(e, Event::StepOutput { text, .. } if text.starts_with("batch job ") && text.contains(" confirmed: ")),
    );
    assert!(
        created < typed && typed < held && held < started && started < usize::MAX,
        "{created} {typed} {held} {started}"
    );
}

#[tokio::test]
async fn the_typed_confirmation_of_a_copy_names_its_real_target() {
    let yaml = runbook(
        "shop-docs",
        "      - { id: copy, title: Copy, action: s3.copy_prefix, with: { from: { bucket: shop-docs-prod, prefix: invoices/ }, to: { bucket: shop-docs-drill, prefix: restored/ } } }\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let r = run_with(&yaml, Mode::Drill, 1000.0, true, dir.path(), move |e| match e {
        Event::StepWaiting { step, waiting_for: Waiting::Confirm, prompt } => {
            let typed = lifeboat::event::typed_parts(prompt.as_deref().unwrap()).unwrap();
            assert_eq!(typed.name, "shop-docs-drill", "the bucket written to, not the action's name");
            assert_eq!(typed.change, "s3.copy_prefix will change shop-docs-drill");
            assert!(typed.plan.unwrap().starts_with("cannot preview: s3.copy_prefix has no dry run"), "{prompt:?}");
            Some(Command::Confirm { step: step.clone(), by: "alice".into() })
        }
        _ => None,
    })
    .await;
    assert_eq!(r.finished("copy").0, StepStatus::Done);
}
