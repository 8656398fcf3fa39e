//! Run-screen benchmark (run with `cargo bench --bench tui`): the time to draw one frame of
//! the run screen holding 500 steps and 100,000 logged events, on ratatui's TestBackend
//! and through crossterm into a byte buffer (what a terminal would be sent), at three
//! sizes. Each frame moves the clock a second on, as the once-a-second tick does, so the
//! title, the gauge and the running step's time change between frames.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use lifeboat::event::{Event, Mode, Record, Stream, Waiting};
use lifeboat::launch::RunMeta;
use lifeboat::runbook::load::{catalog_from_str, runbook_from_str};
use lifeboat::runbook::time::Timestamp;
use lifeboat::tui::app::RunApp;
use lifeboat::tui::theme::Theme;
use lifeboat::tui::view::draw_run;
use ratatui::backend::{CrosstermBackend, TestBackend};
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

const PHASES: usize = 10;
const STEPS_PER_PHASE: usize = 50;
const EVENTS: usize = 100_000;

fn runbook_yaml() -> String {
    let mut y = String::from(
        "apiVersion: lifeboat/v1\nkind: Runbook\nid: big\ntitle: Five hundred steps\ndataset: ds\nscenario: other\nphases:\n",
    );
    for p in 0..PHASES {
        y.push_str(&format!("  - id: p{p}\n    title: Phase {p}\n    budget: 30m\n    steps:\n"));
        for s in 0..STEPS_PER_PHASE {
            match s % 3 {
                0 => y.push_str(&format!(
                    "      - id: s{p}-{s}\n        title: Check the replica lag of shard {s}\n        manual: |\n          ## Shard {s}\n          1. Open the **console**\n          2. Run `SELECT now() - pg_last_xact_replay_timestamp()`\n        checklist: [Lag under a minute, Noted in the channel]\n"
                )),
                1 => y.push_str(&format!(
                    "      - id: s{p}-{s}\n        title: Restore shard {s} of the bucket\n        action: s3.restore_to_time\n        with: {{ bucket: docs-prod, prefix: \"shard-{s}/\", time: \"2026-11-24T02:00:00Z\" }}\n"
                )),
                _ => y.push_str(&format!(
                    "      - id: s{p}-{s}\n        title: Smoke test shard {s}\n        run: ./smoke.sh {s}\n"
                )),
            }
        }
    }
    y
}

fn app() -> RunApp {
    let catalog = catalog_from_str(
        "apiVersion: lifeboat/v1\nkind: DatasetCatalog\ndatasets:\n  - id: ds\n    title: Docs\n    classification: confidential\n    rpo: 1h\n    rto: 8h\n    primary: { region: eu-central-1 }\n    resources:\n      - { kind: s3-bucket, id: docs-prod, role: production }\n",
    )
    .unwrap();
    let runbook = runbook_from_str(&runbook_yaml(), &catalog).unwrap();
    let start: Timestamp = "2026-11-24T03:00:00Z".parse().unwrap();
    let tracker = lifeboat::objectives::Tracker::new(&runbook, start);
    let meta = RunMeta {
        runbook,
        runbook_path: PathBuf::from("runbooks/big.yaml"),
        log_path: PathBuf::from("incidents/big-20261124T030000Z.jsonl"),
        signed: true,
        operator: "alice".into(),
        mode: Mode::Drill,
        cloud: "sim",
        speed: 1,
        tabletop: false,
        answers_path: None,
        junit: None,
        await_approvals: None,
        copy_problems: vec![],
    };
    RunApp::new(meta, tracker, start)
}

/// 100,000 events: half the steps run to the end, one is running and printing, one waits.
fn events() -> Vec<Event> {
    let mut out = Vec::with_capacity(EVENTS);
    let half = PHASES * STEPS_PER_PHASE / 2;
    for i in 0..half {
        let (p, s) = (i / STEPS_PER_PHASE, i % STEPS_PER_PHASE);
        if s == 0 {
            out.push(Event::PhaseStarted { phase: format!("p{p}"), budget_ms: 1_800_000 });
        }
        let step = format!("s{p}-{s}");
        out.push(Event::StepStarted { step: step.clone(), attempt: 1, detail: None });
        out.push(Event::StepFinished {
            step,
            status: lifeboat::event::StepStatus::Done,
            reason: None,
            outputs: Default::default(),
            duration_ms: 4_000,
            recovery_point: None,
            error: None,
        });
    }
    let running = format!("s{}-{}", half / STEPS_PER_PHASE, half % STEPS_PER_PHASE + 2);
    out.push(Event::StepStarted { step: running.clone(), attempt: 1, detail: Some("./smoke.sh".into()) });
    let waiting = format!("s{}-{}", half / STEPS_PER_PHASE, half % STEPS_PER_PHASE);
    out.push(Event::StepStarted { step: waiting.clone(), attempt: 1, detail: None });
    out.push(Event::StepWaiting { step: waiting, waiting_for: Waiting::Confirm, prompt: None });
    let mut i = 0;
    while out.len() < EVENTS {
        out.push(Event::StepOutput {
            step: running.clone(),
            stream: Stream::Stdout,
            text: format!("object {i} of 98,000 restored to its version before the attack"),
        });
        i += 1;
    }
    out
}

/// What a terminal would be sent, counted and dropped.
struct Counted(std::rc::Rc<std::cell::Cell<usize>>);

impl std::io::Write for Counted {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.set(self.0.get() + buf.len());
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn stats(mut v: Vec<Duration>) -> String {
    v.sort();
    let at = |q: f64| v[((v.len() - 1) as f64 * q) as usize];
    format!(
        "median {:>7.3} ms  p99 {:>7.3} ms  max {:>7.3} ms",
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        at(1.0).as_secs_f64() * 1e3
    )
}

/// Draws `n` frames, `change` making each differ from the one before; the times of the
/// draws alone.
fn frames<B: ratatui::backend::Backend>(
    term: &mut Terminal<B>,
    app: &mut RunApp,
    n: usize,
    change: impl Fn(&mut RunApp, usize),
) -> Vec<Duration>
where
    B::Error: std::fmt::Debug,
{
    let theme = Theme { color: true };
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        change(app, i);
        let t = Instant::now();
        term.draw(|f| draw_run(f, app, &theme)).unwrap();
        times.push(t.elapsed());
    }
    times
}

/// A second later, as the once-a-second tick redraws: the clocks, the gauge, the running
/// step's time and its spinner change.
fn tick(app: &mut RunApp, _: usize) {
    app.now = app.now.checked_add(jiff::SignedDuration::from_secs(1)).unwrap();
    app.spin += 1;
}

/// The event log scrolled a line further: every line of that pane changes.
fn scroll(app: &mut RunApp, i: usize) {
    app.log_scroll = i + 1;
}

fn main() {
    // `cargo bench` passes --bench; a test run of all targets does not, and need not draw
    // thousands of frames.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let mut app = app();
    let events = events();
    let start: Timestamp = "2026-11-24T03:00:00Z".parse().unwrap();
    let t = Instant::now();
    for (seq, event) in events.into_iter().enumerate() {
        let time = start.checked_add(jiff::SignedDuration::from_millis(seq as i64 * 20)).unwrap();
        app.observe(&Record {
            seq: seq as u64,
            prev: String::new(),
            time: lifeboat::runbook::time::format_timestamp(time),
            event,
        });
    }
    let took = t.elapsed();
    println!(
        "observe: {} events into {} steps and {} log lines in {:.1} ms ({:.2} µs an event)",
        EVENTS,
        app.steps.len(),
        app.log.len(),
        took.as_secs_f64() * 1e3,
        took.as_secs_f64() * 1e6 / EVENTS as f64
    );
    // The waiting step is the one an operator would be looking at.
    app.selected = app.steps.iter().position(|s| s.waiting.is_some()).unwrap_or(0);
    let n = 2_000;
    for (w, h) in [(80u16, 24u16), (120, 40), (160, 48)] {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        frames(&mut term, &mut app, 50, tick);
        let test = frames(&mut term, &mut app, n, tick);
        let sent = std::rc::Rc::new(std::cell::Cell::new(0));
        let mut term = Terminal::with_options(
            CrosstermBackend::new(Counted(sent.clone())),
            TerminalOptions { viewport: Viewport::Fixed(Rect::new(0, 0, w, h)) },
        )
        .unwrap();
        frames(&mut term, &mut app, 50, tick);
        let before = sent.get();
        let cross = frames(&mut term, &mut app, n, tick);
        let bytes = (sent.get() - before) / n;
        let before = sent.get();
        let scrolled = frames(&mut term, &mut app, n, scroll);
        app.log_scroll = 0;
        let scroll_bytes = (sent.get() - before) / n;
        println!("frame {w}x{h} TestBackend: {}", stats(test));
        println!("frame {w}x{h} crossterm:   {}  ({bytes} bytes a frame)", stats(cross));
        println!("frame {w}x{h} log scroll:  {}  ({scroll_bytes} bytes a frame)", stats(scrolled));
    }
    if let Ok(s) = std::fs::read_to_string("/proc/self/status") {
        for l in s.lines().filter(|l| l.starts_with("VmHWM") || l.starts_with("VmRSS")) {
            println!("process {}", l.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
}
