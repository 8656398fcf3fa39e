//! Every screen and dialog drawn on ratatui's TestBackend at 80×24, 120×40 and 160×48, pinned as
//! text snapshots; the gauge's colour is checked cell by cell at 50%, 85% and 120% of the
//! RTO.

use std::path::PathBuf;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

use super::app::{Dialog, Msg, Purpose, RunApp};
use super::theme::Theme;
use crate::engine::Command;
use crate::event::{Event, Mode, Record, StepStatus, Stream, Waiting};
use crate::launch::{ChosenMode, RunMeta};
use crate::runbook::load::{catalog_from_str, runbook_from_str};
use crate::runbook::time::{Timestamp, parse_timestamp};

const CATALOG: &str = "apiVersion: lifeboat/v1\nkind: DatasetCatalog\ndatasets:\n  - id: orders-docs\n    title: Order documents\n    classification: confidential\n    rpo: 1h\n    rto: 2h\n    primary: { region: eu-central-1, account: \"111122223333\" }\n    resources:\n      - { kind: s3-bucket, id: orders-docs-prod, role: production }\n";

const RUNBOOK: &str = r#"apiVersion: lifeboat/v1
kind: Runbook
id: orders-docs-ransomware
title: Order documents — ransomware
dataset: orders-docs
scenario: ransomware
inputs:
  incident_at: { type: timestamp, description: "When the first malicious write happened" }
  token: { type: string, secret: true, env: TOKEN }
phases:
  - id: assess
    title: Assess
    budget: 20m
    steps:
      - id: confirm
        title: Confirm the attack
        manual: |
          ## Find the first write
          1. Open the [CloudTrail console](https://console.aws.amazon.com/cloudtrail)
          2. Filter on `PutObject`
        checklist: [Alert acknowledged, Commander named]
      - id: go
        title: Approve the roll-back
        approval:
          role: incident-commander
          description: Every object goes back to its version before the attack; newer objects are kept.
  - id: recover
    title: Recover
    budget: 1h
    steps:
      - id: restore
        title: Roll the bucket back
        action: s3.restore_to_time
        with: { bucket: orders-docs-prod, time: "${{ inputs.incident_at }}" }
      - id: smoke
        title: Smoke test
        run: ./smoke.sh
"#;

fn t(s: &str) -> Timestamp {
    parse_timestamp(s).unwrap()
}

fn app(mode: Mode) -> RunApp {
    let catalog = catalog_from_str(CATALOG).unwrap();
    let runbook = runbook_from_str(RUNBOOK, &catalog).unwrap();
    let tracker = crate::objectives::Tracker::new(&runbook, t("2026-11-24T03:00:00Z"));
    let meta = RunMeta {
        runbook,
        runbook_path: PathBuf::from("runbooks/orders-docs-ransomware.yaml"),
        log_path: PathBuf::from("incidents/orders-docs-ransomware-20261124T030500Z.jsonl"),
        signed: true,
        operator: "alice".into(),
        mode,
        cloud: if mode == Mode::Live { "aws" } else { "sim" },
        speed: 60,
        tabletop: mode == Mode::Tabletop,
        answers_path: None,
        junit: None,
        await_approvals: None,
        copy_problems: vec![],
    };
    let mut app = RunApp::new(meta, tracker, t("2026-11-24T03:05:00Z"));
    // Fixed so the title bar's real-time clock is the same in every run.
    app.real_elapsed = Some(std::time::Duration::from_secs(72));
    app
}

fn feed(app: &mut RunApp, at: &str, event: Event) {
    let seq = app.log.len() as u64;
    app.observe(&Record { seq, prev: String::new(), time: at.into(), event });
}

/// A run under way: confirm done, the approval done, the restore running with progress.
/// The approval step `go` started and waiting for an approver, selected.
fn approval_waiting(a: &mut RunApp) {
    feed(a, "2026-11-24T03:06:00Z", Event::StepStarted { step: "go".into(), attempt: 1, detail: None });
    feed(
        a,
        "2026-11-24T03:06:01Z",
        Event::StepWaiting { step: "go".into(), waiting_for: Waiting::Approval, prompt: None },
    );
    a.selected = a.steps.iter().position(|s| s.id == "go").unwrap();
}

fn under_way(mode: Mode) -> RunApp {
    let mut a = app(mode);
    feed(&mut a, "2026-11-24T03:05:00Z", Event::PhaseStarted { phase: "assess".into(), budget_ms: 1_200_000 });
    feed(&mut a, "2026-11-24T03:05:01Z", Event::StepStarted { step: "confirm".into(), attempt: 1, detail: None });
    feed(
        &mut a,
        "2026-11-24T03:05:02Z",
        Event::StepWaiting {
            step: "confirm".into(),
            waiting_for: Waiting::Confirm,
            prompt: Some("## Find the first write\n1. Open the [CloudTrail console](https://console.aws.amazon.com/cloudtrail)\n2. Filter on `PutObject`\n".into()),
        },
    );
    a
}

fn text(term: &Terminal<TestBackend>) -> String {
    let buf = term.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let line: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol().to_string()).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn draw(app: &RunApp, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| super::view::draw_run(f, app, &Theme { color: true })).unwrap();
    term
}

/// The sizes every screen is pinned at: the smallest supported, a laptop, a wide monitor.
const SIZES: [(u16, u16); 3] = [(80, 24), (120, 40), (160, 48)];

fn both(name: &str, app: &RunApp) {
    for (w, h) in SIZES {
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), text(&draw(app, w, h)));
    }
}

#[test]
fn run_screen_waiting_for_a_manual_step() {
    both("run_manual", &under_way(Mode::Live));
}

#[test]
fn run_screen_in_a_rehearsal_with_progress_and_output() {
    let mut a = under_way(Mode::Tabletop);
    feed(
        &mut a,
        "2026-11-24T03:09:00Z",
        Event::Answer {
            step: Some("confirm".into()),
            verdict: crate::event::Verdict::Confirm,
            by: "alice".into(),
            role: None,
            reason: None,
            signed: None,
        },
    );
    feed(&mut a, "2026-11-24T03:09:00Z", finished("confirm", StepStatus::Done, 240_000));
    feed(&mut a, "2026-11-24T03:09:01Z", Event::StepStarted { step: "go".into(), attempt: 1, detail: None });
    feed(&mut a, "2026-11-24T03:09:30Z", finished("go", StepStatus::Done, 29_000));
    feed(
        &mut a,
        "2026-11-24T03:09:31Z",
        Event::PhaseFinished {
            phase: "assess".into(),
            status: StepStatus::Done,
            elapsed_ms: 271_000,
            budget_ms: 1_200_000,
        },
    );
    feed(&mut a, "2026-11-24T03:09:31Z", Event::PhaseStarted { phase: "recover".into(), budget_ms: 3_600_000 });
    feed(
        &mut a,
        "2026-11-24T03:09:32Z",
        Event::StepStarted {
            step: "restore".into(),
            attempt: 1,
            detail: Some("s3.restore_to_time bucket=orders-docs-prod time=2026-11-24T03:00:00Z".into()),
        },
    );
    feed(
        &mut a,
        "2026-11-24T03:09:33Z",
        Event::StepOutput {
            step: "restore".into(),
            stream: Stream::Stdout,
            text: "plan: 1,800 to roll back, 200 to undelete".into(),
        },
    );
    feed(
        &mut a,
        "2026-11-24T03:10:00Z",
        Event::StepProgress { step: "restore".into(), done: 1234, total: 2000, unit: "objects".into() },
    );
    a.selected = 2;
    both("run_rehearsal_progress", &a);
}

fn finished(step: &str, status: StepStatus, ms: u64) -> Event {
    Event::StepFinished {
        step: step.into(),
        status,
        reason: None,
        duration_ms: ms,
        outputs: Default::default(),
        recovery_point: None,
        error: None,
    }
}

#[test]
fn a_failed_step_shows_the_aws_error_and_the_hint_in_place() {
    let mut a = under_way(Mode::Live);
    feed(
        &mut a,
        "2026-11-24T03:10:00Z",
        Event::StepStarted {
            step: "restore".into(),
            attempt: 1,
            detail: Some("s3.restore_to_time bucket=orders-docs-prod".into()),
        },
    );
    let mut e = finished("restore", StepStatus::Failed, 3_000);
    if let Event::StepFinished { error, .. } = &mut e {
        *error = Some(crate::event::StepError {
            message: "s3.restore_to_time on `s3://orders-docs-prod/a.pdf` failed: Access Denied".into(),
            code: Some("AccessDenied".into()),
            hint: Some(
                "check the credentials (AWS_PROFILE, SSO session) and that the role may do this on this resource"
                    .into(),
            ),
        });
    }
    feed(&mut a, "2026-11-24T03:10:03Z", e);
    a.selected = 2;
    both("run_failed_step", &a);
}

#[test]
fn every_dialog_and_the_help() {
    let mut a = under_way(Mode::Live);
    let dialogs = [
        (
            "dialog_skip",
            Dialog::Reason { purpose: Purpose::Skip, step: "confirm".into(), input: "done by hand".into() },
        ),
        ("dialog_note", Dialog::Note { input: "paged the DBA".into() }),
        ("dialog_hand_off", Dialog::HandOff { input: "bob".into() }),
        (
            "dialog_approve",
            Dialog::Approve {
                step: "go".into(),
                role: "incident-commander".into(),
                name: "carol".into(),
                given_role: "incident-commander".into(),
                key: crate::tui::field::TextField::default(),
                passphrase: "hunter22".into(),
                focus: 0,
            },
        ),
        (
            "dialog_typed",
            Dialog::Typed {
                step: "restore".into(),
                expected: "orders-docs-prod".into(),
                prompt: crate::event::typed_prompt(
                    "orders-docs-prod",
                    "s3.restore_to_time",
                    Some("the plan: roll back 1,800 objects, undelete 200, keep 1 created after the time"),
                ),
                input: "orders".into(),
            },
        ),
        ("dialog_abort_1", Dialog::Abort { reason: "wrong bucket".into(), second: false }),
        ("dialog_abort_2", Dialog::Abort { reason: "wrong bucket".into(), second: true }),
    ];
    for (name, d) in dialogs {
        a.dialog = Some(d);
        both(name, &a);
    }
    a.dialog = None;
    a.help = true;
    both("help", &a);
}

#[test]
fn the_gauge_is_green_then_amber_at_80_percent_then_red_past_the_rto() {
    for (minutes, want) in [(60, Color::Green), (102, Color::Yellow), (144, Color::Red)] {
        let mut a = under_way(Mode::Live);
        let now = t("2026-11-24T03:00:00Z").checked_add(jiff::SignedDuration::from_mins(minutes)).unwrap();
        a.update(Msg::Tick(now));
        let term = draw(&a, 160, 48);
        let buf = term.backend().buffer();
        // The gauge is the first row inside the objectives box.
        let row = 2;
        let colours: Vec<Color> = (1..buf.area.width - 1).filter_map(|x| buf[(x, row)].style().fg).collect();
        assert!(colours.contains(&want), "{minutes}m: {colours:?}");
        let label = text(&term).lines().nth(row as usize).unwrap().to_string();
        let pct = minutes * 100 / 120;
        assert!(label.contains(&format!("({pct}%")), "{label}");
        if minutes == 144 {
            assert!(label.contains("OVER"), "never colour alone: {label}");
        }
        insta::assert_snapshot!(format!("gauge_{pct}"), label);
    }
}

#[test]
fn the_gauge_never_says_ok_while_its_own_projection_is_past_the_rto() {
    let mut a = under_way(Mode::Live);
    // The first phase took 45m of its 20m: at that pace the rest reaches past the 2h RTO.
    feed(
        &mut a,
        "2026-11-24T03:50:00Z",
        Event::PhaseFinished {
            phase: "assess".into(),
            status: crate::event::StepStatus::Done,
            elapsed_ms: 2_700_000,
            budget_ms: 1_200_000,
        },
    );
    feed(&mut a, "2026-11-24T03:50:00Z", Event::PhaseStarted { phase: "recover".into(), budget_ms: 3_600_000 });
    a.update(Msg::Tick(t("2026-11-24T03:55:00Z")));
    let label = text(&draw(&a, 160, 48)).lines().nth(2).unwrap().to_string();
    assert!(label.contains("(46%, at risk)") && label.contains("projected 2h58m45s"), "{label}");
    assert!(!label.contains("ok"), "{label}");
}

/// Issue 32 (3): with a trusted history, the objectives say when the service is forecast
/// to be restored — the time so far plus each step's p50 (and p90) still to come, less
/// what a running step has taken — and the gauge is "at risk" when the history's p50 is
/// past the RTO, though the run's own pace is not.
#[test]
fn the_objectives_show_the_history_s_forecast_band() {
    let mut a = under_way(Mode::Live);
    let ids: Vec<String> = a.steps.iter().map(|s| s.id.clone()).collect();
    for id in &ids {
        a.tracker.step_p50_ms.insert(id.clone(), 10 * 60_000);
        a.tracker.step_p90_ms.insert(id.clone(), 15 * 60_000);
    }
    a.update(Msg::Tick(t("2026-11-24T03:10:00Z")));
    let before = a.tracker.forecast(t("2026-11-24T03:10:00Z")).unwrap();
    let screen = text(&draw(&a, 160, 48));
    let label = screen.lines().nth(2).unwrap().to_string();
    assert!(label.contains("history: restored by"), "{label}");
    insta::assert_snapshot!("objectives_history_band_160x48", screen);
    // A step finishing takes its p50 and p90 off what is left.
    feed(
        &mut a,
        "2026-11-24T03:11:00Z",
        Event::StepFinished {
            step: "confirm".into(),
            status: crate::event::StepStatus::Done,
            reason: None,
            outputs: Default::default(),
            duration_ms: 599_000,
            recovery_point: None,
            error: None,
        },
    );
    let after = a.tracker.forecast(t("2026-11-24T03:11:00Z")).unwrap();
    assert!(after.0 < before.0 && after.1 < before.1, "{before:?} then {after:?}");
    // Past the RTO by the history's p50: at risk, however young the run.
    for id in &ids {
        a.tracker.step_p50_ms.insert(id.clone(), 60 * 60_000);
        a.tracker.step_p90_ms.insert(id.clone(), 90 * 60_000);
    }
    let label = text(&draw(&a, 160, 48)).lines().nth(2).unwrap().to_string();
    assert!(label.contains("at risk"), "{label}");
}

#[test]
fn a_run_that_stopped_before_its_milestone_says_rto_not_met_in_red() {
    let mut a = under_way(Mode::Live);
    feed(
        &mut a,
        "2026-11-24T03:42:03Z",
        Event::RunFinished {
            status: crate::event::RunStatus::Failed,
            reason: Some("step `restore` failed".into()),
            rto_ms: 2_523_000,
            rto_met: false,
            rpo_ms: None,
            rpo_met: None,
            service_restored: false,
        },
    );
    a.update(Msg::Tick(t("2026-11-24T03:43:00Z")));
    let term = draw(&a, 160, 48);
    let label = text(&term).lines().nth(2).unwrap().to_string();
    assert!(label.contains("RTO not met: service not restored after 42m3s (RTO 2h)"), "{label}");
    assert!(!label.contains("ok"), "{label}");
    let buf = term.backend().buffer();
    let colours: Vec<Color> = (1..buf.area.width - 1).filter_map(|x| buf[(x, 2)].style().fg).collect();
    assert!(colours.contains(&Color::Red), "{colours:?}");
}

#[test]
fn abort_asks_why_then_once_more_and_records_the_reason() {
    for k in ['y', 'x'] {
        let mut a = under_way(Mode::Live);
        assert!(a.update(key('x')).is_empty());
        assert!(matches!(a.dialog, Some(Dialog::Abort { second: false, .. })), "x opens the abort dialog");
        assert!(a.update(enter()).is_empty(), "no reason, no abort");
        assert!(a.flash.as_deref().is_some_and(|f| f.contains("why abort")), "{:?}", a.flash);
        for c in "wrong runbook".chars() {
            assert!(a.update(key(c)).is_empty(), "letters (x and y too) type the reason");
        }
        assert!(a.update(enter()).is_empty(), "asked once more");
        let cmds = a.update(key(k));
        match cmds.as_slice() {
            [Command::Abort { reason, by }] => {
                assert_eq!((reason.as_str(), by.as_str()), ("wrong runbook", "alice"), "{k}")
            }
            other => panic!("{k}: {other:?}"),
        }
    }
    let mut a = under_way(Mode::Live);
    a.dialog = Some(Dialog::Abort { reason: "because".into(), second: false });
    a.update(enter());
    assert!(a.update(enter()).is_empty(), "Enter never confirms the second time");
    assert!(a.dialog.is_none(), "any other key keeps the run going");
}

#[test]
fn the_closing_line_says_how_the_run_ended_and_stays() {
    let mut a = under_way(Mode::Live);
    // Succeeded, but the milestone came after the RTO: not "succeeded".
    feed(&mut a, "2026-11-24T05:30:00Z", Event::Milestone { name: "service-restored".into() });
    feed(
        &mut a,
        "2026-11-24T05:31:00Z",
        Event::RunFinished {
            status: crate::event::RunStatus::Succeeded,
            reason: None,
            rto_ms: 9_000_000,
            rto_met: false,
            rpo_ms: None,
            rpo_met: None,
            service_restored: true,
        },
    );
    a.update(key('r')); // a key that only says something
    let term = draw(&a, 160, 48);
    let last = text(&term).lines().last().unwrap_or_default().to_string();
    assert!(last.contains("run finished, RTO not met · log sealed"), "{last}");
    assert!(last.contains("retry is for a failed step"), "the key's message comes after: {last}");
}

#[test]
fn the_header_says_where_the_run_acts_before_its_title() {
    for (mode, want) in [
        (Mode::Live, " lifeboat ▸ LIVE on AWS · alice · Order"),
        (Mode::Replay, " lifeboat ▸ REPLAY on sim at 60× · alice"),
        (Mode::Tabletop, " lifeboat ▸ TABLETOP on sim at 60× · alice"),
    ] {
        let a = under_way(mode);
        let screen = text(&draw(&a, 80, 24));
        let first = screen.lines().next().unwrap_or_default().to_string();
        assert!(first.starts_with(want), "{first}");
        if mode == Mode::Replay {
            assert!(screen.contains("REPLAY · actions go to the simulated cloud"), "a banner: {screen}");
        }
    }
}

#[test]
fn at_80x24_the_phases_show_and_a_tiny_terminal_is_told() {
    let mut a = under_way(Mode::Live);
    feed(
        &mut a,
        "2026-11-24T03:20:00Z",
        Event::PhaseFinished {
            phase: "assess".into(),
            status: StepStatus::Done,
            elapsed_ms: 900_000,
            budget_ms: 1_200_000,
        },
    );
    feed(&mut a, "2026-11-24T03:20:00Z", Event::PhaseStarted { phase: "recover".into(), budget_ms: 3_600_000 });
    let screen = text(&draw(&a, 80, 24));
    let line = screen.lines().nth(3).unwrap_or_default();
    assert!(line.contains("✓ assess") && line.contains("▶ recover"), "every phase, the current one marked: {screen}");
    let tiny = text(&draw(&a, 50, 12));
    assert!(tiny.contains("terminal too small") && tiny.contains("needs 60×16"), "{tiny}");
}

#[test]
fn the_key_bar_never_cuts_a_word() {
    let a = under_way(Mode::Live);
    let whole: Vec<String> = crate::tui::keys::hints(false).split(" · ").map(str::to_string).collect();
    for w in [80u16, 120, 160] {
        let term = draw(&a, w, 40);
        let last = text(&term).lines().last().unwrap_or_default().trim().to_string();
        assert!(!last.is_empty());
        for piece in last.split(" · ") {
            assert!(
                whole.contains(&piece.to_string()) || piece.starts_with("log "),
                "{w} columns: `{piece}` in `{last}`"
            );
        }
        assert!(last.starts_with("Enter act"), "the most important key first: {last}");
    }
}

#[test]
fn a_finished_step_shows_what_it_recorded() {
    let mut a = under_way(Mode::Live);
    feed(&mut a, "2026-11-24T03:06:00Z", Event::StepStarted { step: "restore".into(), attempt: 1, detail: None });
    let outputs = serde_json::json!({ "restored": 140, "newer_keys": ["README-RESTORE-YOUR-FILES.txt", "x.bin"] });
    feed(
        &mut a,
        "2026-11-24T03:20:00Z",
        Event::StepFinished {
            step: "restore".into(),
            status: StepStatus::Done,
            reason: None,
            outputs: outputs.as_object().unwrap().clone(),
            duration_ms: 840_000,
            recovery_point: Some("2026-11-24T02:47:01Z".into()),
            error: None,
        },
    );
    a.selected = a.steps.iter().position(|s| s.id == "restore").unwrap();
    let screen = text(&draw(&a, 160, 48));
    for want in ["outputs", "restored: 140", "newer_keys (2):", "    README-RESTORE-YOUR-FILES.txt", "    x.bin"] {
        assert!(screen.contains(want), "{want}:\n{screen}");
    }
}

#[test]
fn leaving_while_an_action_runs_is_asked_first() {
    let mut a = under_way(Mode::Live);
    feed(&mut a, "2026-11-24T03:06:00Z", Event::StepStarted { step: "restore".into(), attempt: 1, detail: None });
    assert!(a.update(key('q')).is_empty(), "the first q only asks");
    assert!(!a.leave && a.flash.as_deref().is_some_and(|f| f.contains("`restore` is running")), "{:?}", a.flash);
    let cmds = a.update(key('q'));
    assert!(a.leave && matches!(cmds.as_slice(), [Command::Detach { .. }]), "{cmds:?}");
}

#[test]
fn escape_sequences_in_output_never_reach_the_terminal() {
    let mut a = under_way(Mode::Live);
    feed(&mut a, "2026-11-24T03:06:00Z", Event::StepStarted { step: "restore".into(), attempt: 1, detail: None });
    feed(
        &mut a,
        "2026-11-24T03:06:01Z",
        Event::StepOutput {
            step: "restore".into(),
            stream: Stream::Stdout,
            text: "\u{1b}]0;owned\u{7}\u{1b}[2Jafter".into(),
        },
    );
    a.selected = a.steps.iter().position(|s| s.id == "restore").unwrap();
    let term = draw(&a, 160, 48);
    let buf = term.backend().buffer();
    let all: String = buf.content().iter().map(|c| c.symbol()).collect();
    assert!(!all.contains('\u{1b}') && !all.contains('\u{7}'), "a raw control character in a cell");
    assert!(text(&term).contains("␛]0;owned␇␛[2Jafter"), "{}", text(&term));
}

fn key(c: char) -> Msg {
    Msg::Key(crossterm::event::KeyEvent::new(crossterm::event::KeyCode::Char(c), crossterm::event::KeyModifiers::NONE))
}

fn enter() -> Msg {
    Msg::Key(crossterm::event::KeyEvent::new(crossterm::event::KeyCode::Enter, crossterm::event::KeyModifiers::NONE))
}

#[test]
fn an_approval_is_never_prefilled_with_the_operator_and_a_denied_one_cannot_be_continued_past() {
    let mut a = under_way(Mode::Live);
    approval_waiting(&mut a);
    assert!(a.update(key('a')).is_empty());
    match &a.dialog {
        Some(Dialog::Approve { name, .. }) => assert_eq!(name.value(), "", "the operator (alice) is not offered"),
        other => panic!("{:?}", other.is_some()),
    }
    assert!(a.update(enter()).is_empty(), "no name, no approval");
    a.dialog = None;
    // Denied: the step waits for a retry or an abort; Enter never continues past it.
    feed(
        &mut a,
        "2026-11-24T03:07:00Z",
        Event::StepWaiting {
            step: "go".into(),
            waiting_for: Waiting::RetryOrAbort,
            prompt: Some("denied by dora — the run cannot go on without this approval".into()),
        },
    );
    let cmds = a.update(enter());
    assert!(!cmds.iter().any(|c| matches!(c, Command::Continue { .. })), "{cmds:?}");
    let cmds = a.update(key('r'));
    assert!(matches!(cmds.as_slice(), [Command::Retry { .. }]), "{cmds:?}");
    let screen = text(&draw(&a, 160, 48));
    assert!(screen.contains("r retry · x abort (it cannot be continued past)"), "{screen}");
}

/// Issue 30 (7): an approver sees what they approve: the runbook's description is in
/// the detail pane (as the engine asks it) and in the approval dialog, at 80×24 too.
#[test]
fn an_approver_sees_the_description_of_what_they_approve() {
    let mut a = under_way(Mode::Live);
    approval_waiting(&mut a);
    feed(
        &mut a,
        "2026-11-24T03:06:02Z",
        Event::StepWaiting {
            step: "go".into(),
            waiting_for: Waiting::Approval,
            prompt: Some(
                "Approval needed from the incident-commander\nEvery object goes back to its version before the attack; newer objects are kept."
                    .into(),
            ),
        },
    );
    let said = "Every object goes back to its version before the attack";
    for (w, h) in [(120, 40), (160, 48)] {
        let screen = text(&draw(&a, w, h));
        assert!(screen.contains(said), "{w}x{h}: {screen}");
    }
    a.update(key('a'));
    for (w, h) in [(80, 24), (120, 40)] {
        let screen = text(&draw(&a, w, h));
        assert!(screen.contains("Every object goes back"), "the dialog at {w}x{h}: {screen}");
    }
}

/// Issue 30 (7): after an abort, the step that was waiting stops with the run: no keys
/// that would answer it, its clock no longer counting.
#[test]
fn an_aborted_runs_waiting_step_stops_with_it() {
    let mut a = under_way(Mode::Live);
    approval_waiting(&mut a);
    feed(
        &mut a,
        "2026-11-24T03:07:00Z",
        Event::RunFinished {
            status: crate::event::RunStatus::Aborted,
            reason: Some("wrong bucket".into()),
            rto_ms: 120_000,
            rto_met: false,
            rpo_ms: None,
            rpo_met: None,
            service_restored: false,
        },
    );
    a.update(Msg::Tick(t("2026-11-24T03:20:00Z")));
    let go = a.steps.iter().find(|s| s.id == "go").unwrap();
    assert_eq!((go.status, go.duration_ms), (crate::tui::app::StepState::Failed, Some(60_000)), "stopped at the abort");
    let screen = text(&draw(&a, 120, 40));
    assert!(!screen.contains("a approve") && !screen.contains("r retry"), "{screen}");
    assert!(screen.contains("stopped: the run was aborted"), "{screen}");
}

#[test]
fn home_shows_why_a_runbook_is_broken_and_esc_clears_a_filter_before_it_quits() {
    let catalog = catalog_from_str(CATALOG).unwrap();
    let good = crate::shelf::ShelfEntry {
        p90_ms: None,
        path: PathBuf::from("runbooks/a.yaml"),
        runbook: Some(runbook_from_str(RUNBOOK, &catalog).unwrap()),
        last_drill: "never".into(),
        overdue: false,
        problem: None,
    };
    let broken = crate::shelf::ShelfEntry {
        p90_ms: None,
        path: PathBuf::from("runbooks/b.yaml"),
        runbook: None,
        last_drill: String::new(),
        overdue: false,
        problem: Some("runbooks/b.yaml:25:5: unknown field `budjet` in a phase".into()),
    };
    let mut home = super::home::Home::new("runbooks".into(), vec![good, broken]);
    let press = |h: &mut super::home::Home, code| {
        h.key(crossterm::event::KeyEvent::new(code, crossterm::event::KeyModifiers::NONE))
    };
    use crossterm::event::KeyCode;
    let b = home.entries.iter().position(|e| e.runbook.is_none()).unwrap();
    home.selected = home.visible().iter().position(|&i| i == b).unwrap();
    assert!(press(&mut home, KeyCode::Enter).is_none(), "a broken runbook does not start");
    let mut term = Terminal::new(TestBackend::new(160, 48)).unwrap();
    term.draw(|f| home.draw(f, &Theme { color: true })).unwrap();
    let screen = text(&term);
    assert!(
        screen.contains("not a valid runbook") && screen.contains("b.yaml:25:5: unknown field `budjet`"),
        "{screen}"
    );
    assert!(screen.contains("run `lifeboat validate runbooks/b.yaml`"), "{screen}");
    // A filter, then Esc: the filter goes, the program stays.
    for c in ['/', 'x', 'y'] {
        press(&mut home, KeyCode::Char(c));
    }
    press(&mut home, KeyCode::Enter);
    assert_eq!(home.filter.value(), "xy");
    assert!(press(&mut home, KeyCode::Esc).is_none(), "Esc with a filter clears it");
    assert!(home.filter.is_empty());
    assert!(press(&mut home, KeyCode::Esc).is_none(), "Esc at the top asks first");
    assert!(home.flash.as_deref().is_some_and(|f| f.contains("leave lifeboat?")), "{:?}", home.flash);
    assert!(press(&mut home, KeyCode::Down).is_none(), "any other key stays");
    assert!(press(&mut home, KeyCode::Esc).is_none());
    assert!(matches!(press(&mut home, KeyCode::Esc), Some(super::home::HomeEnd::Quit)), "Esc twice leaves");
}

/// Issue 30 (7): text with line breaks (a runbook's description, a plan under a typed
/// confirmation) never runs its words together on screen (`aserializer`).
#[test]
fn line_breaks_in_text_never_join_words_on_screen() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks");
    let shelf = crate::shelf::shelf(&dir, &dir.join("no-incidents"), t("2026-11-24T03:00:00Z")).unwrap();
    let i = shelf.iter().position(|e| e.path.ends_with("customer-profiles-bad-deploy.yaml")).unwrap();
    let mut home = super::home::Home::new("runbooks".into(), shelf);
    for _ in 0..i {
        home.key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Down));
    }
    let theme = Theme { color: true };
    let mut term = Terminal::new(TestBackend::new(160, 48)).unwrap();
    term.draw(|f| home.draw(f, &theme)).unwrap();
    let screen = text(&term);
    assert!(screen.contains("a serializer bug"), "{screen}");
    assert!(!screen.contains("aserializer"), "{screen}");

    let mut a = under_way(Mode::Live);
    a.dialog = Some(Dialog::Typed {
        step: "restore".into(),
        expected: "orders-docs-prod".into(),
        prompt: crate::event::typed_prompt("orders-docs-prod", "s3.restore_to_time", Some("the plan: 153 copies")),
        input: crate::tui::field::TextField::default(),
    });
    let screen = text(&draw(&a, 120, 40));
    assert!(screen.contains("will change orders-docs-prod") && screen.contains("the plan: 153 copies"), "{screen}");
    assert!(!screen.contains("orders-docs-prodthe plan"), "{screen}");
}

/// Issue 30 (7): at 80×24 the checklist can sit below the fold. Space never ticks an
/// item nobody can see (the pane shows it first), `]` brings the item it moves to into
/// view, and `G` goes to the end of the detail pane.
#[test]
fn the_checklist_item_space_ticks_is_always_on_screen_and_g_goes_to_the_end() {
    let mut a = under_way(Mode::Live);
    a.steps[0].check_at = 1;
    let screen = text(&draw(&a, 80, 24));
    assert!(!screen.contains("Commander named"), "below the fold to begin with: {screen}");
    assert!(a.update(key(' ')).is_empty(), "an item nobody can see is not ticked");
    let screen = text(&draw(&a, 80, 24));
    assert!(screen.contains("▸[ ] Commander named"), "{screen}");
    let cmds = a.update(key(' '));
    assert!(matches!(cmds.as_slice(), [Command::Tick { item: 1, .. }]), "{cmds:?}");

    let mut a = under_way(Mode::Live);
    text(&draw(&a, 80, 24));
    a.update(key(']'));
    assert!(text(&draw(&a, 80, 24)).contains("▸[ ] Commander named"), "] shows where it moved");

    let mut a = under_way(Mode::Live);
    a.focus = crate::tui::app::Pane::Detail;
    a.update(key('G'));
    let screen = text(&draw(&a, 80, 24));
    assert!(screen.contains("Commander named"), "G: the end of the pane: {screen}");
    a.update(key('g'));
    assert!(text(&draw(&a, 80, 24)).contains("Confirm the attack · manual"), "g: back to the top");
}

/// Issue 32 (4): the home screen says the runbook's p90 in its trusted history beside
/// its RTO, and says OVER when the history is past it.
#[test]
fn home_shows_the_history_s_p90_beside_the_rto() {
    let catalog = catalog_from_str(CATALOG).unwrap();
    let runbook = runbook_from_str(RUNBOOK, &catalog).unwrap();
    for (p90, said) in
        [(47 * 60_000, "p90 in its trusted history: 47m of the 2h RTO"), (150 * 60_000, "2h30m of the 2h RTO — OVER")]
    {
        let entry = crate::shelf::ShelfEntry {
            p90_ms: Some(p90),
            path: PathBuf::from("runbooks/orders-docs-ransomware.yaml"),
            runbook: Some(runbook.clone()),
            last_drill: "never".into(),
            overdue: false,
            problem: None,
        };
        let home = super::home::Home::new("runbooks".into(), vec![entry]);
        let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
        term.draw(|f| home.draw(f, &Theme { color: true })).unwrap();
        assert!(text(&term).contains(said), "{}", text(&term));
    }
}

#[test]
fn home_and_start_form() {
    let catalog = catalog_from_str(CATALOG).unwrap();
    let runbook = runbook_from_str(RUNBOOK, &catalog).unwrap();
    let entry = crate::shelf::ShelfEntry {
        p90_ms: None,
        path: PathBuf::from("runbooks/orders-docs-ransomware.yaml"),
        runbook: Some(runbook.clone()),
        last_drill: "never".into(),
        overdue: true,
        problem: None,
    };
    let drilled = crate::shelf::ShelfEntry {
        p90_ms: None,
        path: PathBuf::from("runbooks/orders-docs-ransomware-copy.yaml"),
        runbook: Some(runbook.clone()),
        last_drill: "2026-09-01 (84d ago)".into(),
        overdue: false,
        problem: None,
    };
    let home = super::home::Home::new("runbooks".into(), vec![entry, drilled]);
    let theme = Theme { color: true };
    for (w, h) in SIZES {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        term.draw(|f| home.draw(f, &theme)).unwrap();
        insta::assert_snapshot!(format!("home_{w}x{h}"), text(&term));
    }
    let prefill = runbook
        .inputs
        .iter()
        .map(|d| (d.clone(), if d.name == "token" { "s3cr3t".into() } else { "yesterday".into() }))
        .collect();
    let mut form = super::form::Form::new(
        runbook.id.clone(),
        prefill,
        "alice".into(),
        ChosenMode::Live,
        vec![ChosenMode::Live, ChosenMode::Drill, ChosenMode::Tabletop],
    );
    let check = |_: &str, v: &str| {
        if v == "yesterday" {
            Err("`yesterday` is not a timestamp (RFC 3339, e.g. 2026-11-24T03:00:00Z)".to_string())
        } else {
            Ok(())
        }
    };
    let target = |_| "AWS account 111122223333 in eu-central-1".to_string();
    form.key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Enter), &check, &target);
    assert!(form.fields[0].error.is_some(), "a timestamp that does not parse is refused in place");
    for (w, h) in SIZES {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        term.draw(|f| form.draw(f, &theme)).unwrap();
        let shown = text(&term);
        assert!(!shown.contains("s3cr3t") && shown.contains("••••••"), "secrets are masked");
        insta::assert_snapshot!(format!("form_{w}x{h}"), shown);
    }
    form.fields[0].value = "2026-11-24T03:00:00Z".into();
    form.at = form.fields.len();
    form.key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Enter), &check, &target);
    for (w, h) in SIZES {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        term.draw(|f| form.draw(f, &theme)).unwrap();
        insta::assert_snapshot!(format!("form_confirm_{w}x{h}"), text(&term));
    }
}

fn code(c: crossterm::event::KeyCode) -> Msg {
    Msg::Key(crossterm::event::KeyEvent::new(c, crossterm::event::KeyModifiers::NONE))
}

/// The screen as text, the temporary folder named `[dir]` (a snapshot holds no random path).
fn in_dir(term: &Terminal<TestBackend>, dir: &std::path::Path) -> String {
    text(term).replace(&dir.display().to_string(), "[dir]")
}

/// A run whose smoke test printed 300 lines into a real log file (the view reads the log).
fn with_long_output(dir: &std::path::Path) -> RunApp {
    let mut a = under_way(Mode::Tabletop);
    let log = dir.join("run.jsonl");
    let mut j = crate::journal::Journal::create(&log, None).unwrap();
    j.append(t("2026-11-24T03:05:00Z"), crate::journal::tests::genesis(None)).unwrap();
    a.meta.log_path = log;
    feed(&mut a, "2026-11-24T03:20:00Z", Event::StepStarted { step: "smoke".into(), attempt: 1, detail: None });
    for i in 1..=300 {
        let text =
            if i == 150 { "ERROR: checksum mismatch on a.pdf".to_string() } else { format!("checked object {i}") };
        let e = Event::StepOutput { step: "smoke".into(), stream: Stream::Stdout, text };
        j.append(t("2026-11-24T03:20:01Z"), e.clone()).unwrap();
        feed(&mut a, "2026-11-24T03:20:01Z", e);
    }
    a.selected = 3;
    a
}

#[test]
fn the_output_view_shows_every_line_from_the_log_searches_and_jumps() {
    use crossterm::event::KeyCode;
    let dir = tempfile::tempdir().unwrap();
    let mut a = with_long_output(dir.path());
    assert_eq!(a.steps[3].output.len(), 200, "the screen keeps only the last lines");
    a.update(key('v'));
    let v = a.output.as_ref().expect("v opens the view");
    assert_eq!(v.lines.len(), 300, "the view has the whole output, from the log");
    for (w, h) in SIZES {
        insta::assert_snapshot!(format!("output_view_end_{w}x{h}"), in_dir(&draw(&a, w, h), dir.path()));
    }
    a.update(key('g'));
    let screen = text(&draw(&a, 120, 40));
    assert!(screen.contains("│  1 │ checked object 1 ") && screen.contains("lines 1–"), "{screen}");
    a.update(key('/'));
    for c in "checksum".chars() {
        a.update(key(c));
    }
    for (w, h) in SIZES {
        insta::assert_snapshot!(format!("output_view_search_typed_{w}x{h}"), in_dir(&draw(&a, w, h), dir.path()));
    }
    a.update(enter());
    let screen = text(&draw(&a, 120, 40));
    assert!(
        screen.contains("│150 │ ERROR: checksum mismatch") && screen.contains("`checksum` match 1 of 1"),
        "{screen}"
    );
    for (w, h) in SIZES {
        insta::assert_snapshot!(format!("output_view_found_{w}x{h}"), in_dir(&draw(&a, w, h), dir.path()));
    }
    // A line printed while the view is open is shown when following (G).
    a.update(key('G'));
    feed(
        &mut a,
        "2026-11-24T03:21:00Z",
        Event::StepOutput { step: "smoke".into(), stream: Stream::Stderr, text: "late line".into() },
    );
    let screen = text(&draw(&a, 120, 40));
    assert!(screen.contains("│301 ! late line"), "{screen}");
    a.update(code(KeyCode::Esc));
    assert!(a.output.is_none(), "Esc goes back to the run screen");
}

/// Issue 30 (7): `v` cut long lines (`…4.4 MiB t`): a line past the edge ends in `›`,
/// and → scrolls sideways to its end, at every size.
#[test]
fn the_output_view_scrolls_sideways_to_the_end_of_a_long_line() {
    use crossterm::event::KeyCode;
    let sha = "ac12568ca3fe02c38f83c18a7fce0fbc57d3fb915db2905ac421b4ef1bd847e4";
    let long = format!(
        "plan for s3://orders-docs-prod/: 140 to roll back, 15 to undelete; 4.4 MiB to copy; manifest /var/tmp/lifeboat/plan-{sha}.csv (155 changes, sha256 {sha})"
    );
    for (w, h) in SIZES {
        let dir = tempfile::tempdir().unwrap();
        let mut a = with_long_output(dir.path());
        a.update(key('v'));
        a.output.as_mut().unwrap().push(Stream::Info, long.clone());
        let screen = text(&draw(&a, w, h));
        assert!(screen.contains("›") && !screen.contains(&format!("sha256 {sha})")), "{w}x{h}: {screen}");
        for _ in 0..20 {
            a.update(code(KeyCode::Right));
        }
        let screen = text(&draw(&a, w, h));
        assert!(screen.contains(&format!("{})", &sha[sha.len() - 20..])), "{w}x{h}: the end is shown: {screen}");
        assert!(screen.contains("columns "), "{w}x{h}: {screen}");
        insta::assert_snapshot!(format!("output_view_sideways_{w}x{h}"), in_dir(&draw(&a, w, h), dir.path()));
        a.update(key('0'));
        let screen = text(&draw(&a, w, h));
        assert!(screen.contains("│301 │ plan for s3://"), "{w}x{h}: back to the first column: {screen}");
    }
}

#[test]
fn the_event_log_filters_by_step_and_by_text_and_esc_shows_all_again() {
    use crossterm::event::KeyCode;
    let dir = tempfile::tempdir().unwrap();
    let mut a = with_long_output(dir.path());
    let all = a.log.len();
    a.selected = 0;
    a.update(key('e'));
    assert!(a.log_len() < all && a.log_len() > 0);
    assert!((0..a.log_len()).all(|i| a.log_line(i).unwrap().step == Some(0)), "only `confirm`'s lines");
    let screen = text(&draw(&a, 120, 40));
    assert!(screen.contains("only step `confirm`") && screen.contains("Esc shows all"), "{screen}");
    a.update(key('e'));
    assert_eq!(a.log_len(), all, "e again shows every step");
    a.update(key('/'));
    for c in "object 29".chars() {
        a.update(key(c));
    }
    for (w, h) in SIZES {
        insta::assert_snapshot!(format!("event_log_search_typed_{w}x{h}"), in_dir(&draw(&a, w, h), dir.path()));
    }
    a.update(enter());
    // object 29, 290..=299
    assert_eq!(a.log_len(), 11, "only lines with the text");
    for (w, h) in SIZES {
        insta::assert_snapshot!(format!("event_log_filtered_{w}x{h}"), in_dir(&draw(&a, w, h), dir.path()));
    }
    // New lines obey the filter as they arrive.
    feed(
        &mut a,
        "2026-11-24T03:22:00Z",
        Event::StepOutput { step: "smoke".into(), stream: Stream::Stdout, text: "checked object 2900".into() },
    );
    feed(
        &mut a,
        "2026-11-24T03:22:00Z",
        Event::StepOutput { step: "smoke".into(), stream: Stream::Stdout, text: "something else".into() },
    );
    assert_eq!(a.log_len(), 12);
    a.update(code(KeyCode::Esc));
    assert_eq!(a.log_len(), a.log.len(), "Esc clears the filter");
}

#[test]
fn a_click_selects_the_step_under_it_and_the_wheel_scrolls_the_pane_under_the_pointer() {
    use crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
    let mut a = under_way(Mode::Live);
    for (w, h) in SIZES {
        let area = ratatui::layout::Rect::new(0, 0, w, h);
        let screen = text(&draw(&a, w, h));
        let regions = a.regions(area);
        // Find the row that shows "Smoke test" and click it.
        let row = screen.lines().position(|l| l.contains("Smoke test")).expect("the tree shows the step") as u16;
        let at = |kind, row| MouseEvent { kind, column: regions.tree.x + 3, row, modifiers: KeyModifiers::NONE };
        a.update(Msg::Mouse(at(MouseEventKind::Down(MouseButton::Left), row), regions));
        assert_eq!(a.steps[a.selected].id, "smoke", "{w}x{h}");
        // A click on a phase heading selects nothing new.
        let heading = screen.lines().position(|l| l.contains("Recover (1h)")).unwrap() as u16;
        a.update(Msg::Mouse(at(MouseEventKind::Down(MouseButton::Left), heading), regions));
        assert_eq!(a.steps[a.selected].id, "smoke");
        a.update(Msg::Mouse(at(MouseEventKind::ScrollUp, row), regions));
        assert_eq!(a.steps[a.selected].id, "restore", "the wheel moves through the steps");
        let in_detail = MouseEvent {
            kind: MouseEventKind::ScrollDown,
            column: regions.detail.x + 2,
            row: regions.detail.y + 2,
            modifiers: KeyModifiers::NONE,
        };
        a.update(Msg::Mouse(in_detail, regions));
        assert_eq!(a.detail_scroll, 3);
        a.update(Msg::Mouse(MouseEvent { kind: MouseEventKind::Down(MouseButton::Left), ..in_detail }, regions));
        assert_eq!(a.focus, super::app::Pane::Detail);
        a.detail_scroll = 0;
        a.focus = super::app::Pane::Steps;
    }
}

#[test]
fn the_key_bar_shows_only_whole_hints_at_80_and_120_columns() {
    let whole: Vec<String> = super::keys::hints(false).split(" · ").map(str::to_string).collect();
    let dir = tempfile::tempdir().unwrap();
    let apps = [under_way(Mode::Live), under_way(Mode::Tabletop), with_long_output(dir.path())];
    for a in &apps {
        for (w, h) in [(80, 24), (120, 40)] {
            let screen = text(&draw(a, w, h));
            let bar = screen.lines().last().unwrap().trim().to_string();
            let pieces: Vec<&str> = bar.split(" · ").collect();
            assert!(pieces.len() >= 5, "{w}: the main keys fit: {bar}");
            for p in pieces {
                assert!(whole.iter().any(|h| h == p) || p.starts_with("log "), "{w}x{h}: `{p}` is cut: {bar}");
            }
        }
    }
}

/// `lifeboat watch`: the banner says it is read-only and what the log is worth, the detail
/// names who answers instead of the keys, and no key or click sends a command.
#[test]
fn a_watcher_sees_the_run_and_no_key_of_theirs_reaches_it() {
    let mut a = under_way(Mode::Tabletop);
    a.watching = Some(super::app::Watching {
        source: "incidents/orders-docs-ransomware-20261124T030500Z.jsonl".into(),
        words: "4 lines read, chain intact, 1 checkpoints verify (lines 1–3), signer ops@example".into(),
        alarming: false,
    });
    both("watching", &a);
    let answering = [
        enter(),
        key(' '),
        key('s'),
        key('f'),
        key('r'),
        key('a'),
        key('d'),
        key('n'),
        key('o'),
        key('x'),
        key('x'),
        enter(),
    ];
    for k in answering {
        assert!(a.update(k).is_empty(), "a watcher's key became a command");
        assert!(a.dialog.is_none(), "a watcher was offered a dialog");
    }
    let screen = text(&draw(&a, 120, 40));
    assert!(screen.contains("read-only: alice answers in the run's own session; this screen only watches"), "{screen}");
    // Moving about and reading stay: the help, the output view.
    a.update(key('?'));
    let screen = text(&draw(&a, 120, 40));
    assert!(screen.contains("watching read-only: keys that answer the run are not here"), "{screen}");
    assert!(!screen.contains("approve (asks who"), "{screen}");
    assert!(screen.contains("stop watching; the run goes on in its own session"), "{screen}");
    a.update(key('?'));
    a.update(key('q'));
    assert!(a.leave, "q leaves at once: there is nothing to detach from");

    // When the chain breaks, the banner says so in the alarm's colours.
    let mut b = under_way(Mode::Live);
    b.watching = Some(super::app::Watching {
        source: "s3://lifeboat-evidence/runs/r1".into(),
        words: "LOG DOES NOT VERIFY at line 3: its `prev` hash was edited — nothing after it is shown".into(),
        alarming: true,
    });
    let term = draw(&b, 120, 40);
    let screen = text(&term);
    assert!(screen.lines().nth(1).unwrap().contains("WATCHING read-only · LOG DOES NOT VERIFY at line 3"), "{screen}");
    let cell = &term.backend().buffer()[(3, 1)];
    assert!(cell.modifier.contains(ratatui::style::Modifier::REVERSED), "the alarm is not only words: {cell:?}");
}

/// The approver at the operator's keyboard signs with their own key (and passphrase,
/// never drawn): the approval goes into the run's inbox, signed, as `lifeboat approve`
/// would put it there; a wrong passphrase signs nothing.
#[test]
fn an_approver_signs_in_the_dialog_with_their_own_key_and_it_goes_to_the_inbox() {
    use crate::journal::{Journal, approval, tests::keygen};
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.jsonl");
    let mut j = Journal::create(&log, None).unwrap();
    j.append(t("2026-11-24T03:05:00Z"), crate::journal::tests::genesis(None)).unwrap();
    j.append(
        t("2026-11-24T03:06:01Z"),
        Event::StepWaiting { step: "go".into(), waiting_for: Waiting::Approval, prompt: None },
    )
    .unwrap();
    let key_file = keygen(dir.path(), "open sesame");
    let mut a = under_way(Mode::Live);
    a.meta.log_path = log.clone();
    approval_waiting(&mut a);
    a.update(key('a'));
    let tab = || {
        Msg::Key(crossterm::event::KeyEvent::new(crossterm::event::KeyCode::Tab, crossterm::event::KeyModifiers::NONE))
    };
    a.update(tab());
    a.update(tab());
    for c in key_file.to_str().unwrap().chars() {
        a.update(key(c));
    }
    a.update(tab());
    for c in "wrong".chars() {
        a.update(key(c));
    }
    assert!(a.update(enter()).is_empty());
    assert!(a.flash.as_deref().is_some_and(|f| f.starts_with("not signed: wrong passphrase")), "{:?}", a.flash);
    assert!(!crate::inbox::path(&log).exists() || std::fs::read_dir(crate::inbox::path(&log)).unwrap().count() == 0);
    let screen = text(&draw(&a, 160, 48));
    assert!(screen.contains("passphrase: •••••") && !screen.contains("passphrase: wrong"), "never drawn: {screen}");
    if let Some(Dialog::Approve { passphrase, .. }) = &mut a.dialog {
        *passphrase = "open sesame".into();
    }
    assert!(a.update(enter()).is_empty(), "the engine takes it from the inbox, not from the keyboard");
    assert!(a.dialog.is_none(), "{:?}", a.flash);
    let doc = crate::inbox::path(&log).join("1-approval.json");
    let (text_doc, pem) = approval::read(&doc).unwrap();
    let public = std::fs::read_to_string(key_file.with_extension("pub")).unwrap();
    let trust = crate::journal::trust::AllowedSigners::parse(&format!("dana@example {public}"));
    let v = approval::verify(&text_doc, &pem, &trust, crate::runbook::time::Timestamp::now()).unwrap();
    assert_eq!((v.principals.as_str(), v.document.step()), ("dana@example", "go"));
}
