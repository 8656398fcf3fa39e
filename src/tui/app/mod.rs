//! The run screen's state: built from the engine's events, changed by messages, and turned
//! into engine commands. Views only read it.

use std::collections::HashMap;

use crate::engine::Command;
use crate::event::{Event, Record, RunStatus, StepError, StepStatus, Stream, Waiting, typed_name};
use crate::launch::RunMeta;
use crate::objectives::Tracker;
use crate::runbook::model::StepKind;
use crate::runbook::time::{Timestamp, parse_timestamp};

mod input;

use super::field::TextField;
use super::keys::{Action, action_for};
use super::output::{OutputView, ViewKey};

/// The most output lines kept per step: the log file has them all.
const OUTPUT_KEPT: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepState {
    Pending,
    Running,
    Waiting,
    Done,
    Skipped,
    Failed,
}

impl StepState {
    /// A symbol for every status, so colour is never the only sign.
    pub fn symbol(self, spin: usize) -> &'static str {
        const SPIN: [&str; 8] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧"];
        match self {
            StepState::Pending => "·",
            StepState::Running => SPIN[spin % SPIN.len()],
            StepState::Waiting => "?",
            StepState::Done => "✓",
            StepState::Skipped => "↷",
            StepState::Failed => "✗",
        }
    }
}

#[derive(Debug, Clone)]
pub struct StepEntry {
    pub id: String,
    pub title: String,
    pub phase: usize,
    pub status: StepState,
    pub attempt: u32,
    pub started: Option<Timestamp>,
    pub duration_ms: Option<u64>,
    pub detail: Option<String>,
    pub progress: Option<(u64, u64, String)>,
    pub output: Vec<(Stream, String)>,
    pub error: Option<StepError>,
    pub reason: Option<String>,
    pub waiting: Option<(Waiting, Option<String>)>,
    /// Checklist boxes as the log has them (ticks are events, not screen state).
    pub ticks: Vec<bool>,
    /// The checklist item Space toggles (`[` and `]` move it).
    pub check_at: usize,
    pub recovery_point: Option<String>,
    /// A manual step's instructions as the engine resolved them.
    pub shown_instructions: Option<String>,
    /// What the step recorded once finished (the restore's `newer_keys`, a posture).
    pub outputs: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Steps,
    Detail,
    Log,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Skip,
    Fail,
    Deny,
}

// One dialog is open at a time: its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialog {
    /// A reason for a skip, a failure or a refusal.
    Reason {
        purpose: Purpose,
        step: String,
        input: TextField,
    },
    Note {
        input: TextField,
    },
    /// Who takes over the run.
    HandOff {
        input: TextField,
    },
    /// Who approves, and as what role — typed (a claim), or signed with the approver's
    /// own key (their key file and its passphrase), which is what four eyes needs.
    Approve {
        step: String,
        role: String,
        name: TextField,
        given_role: TextField,
        key: TextField,
        passphrase: TextField,
        /// Which field keys go to: name, role, key, passphrase.
        focus: usize,
    },
    /// A change to what exists: the resource's name, typed.
    Typed {
        step: String,
        expected: String,
        prompt: String,
        input: TextField,
    },
    /// Abort asks why (it goes into the log and the report), then once more.
    Abort {
        reason: TextField,
        second: bool,
    },
}

impl Dialog {
    /// The field that keys and pastes go to, if the dialog has one open.
    pub fn field(&mut self) -> Option<&mut TextField> {
        match self {
            Dialog::Reason { input, .. }
            | Dialog::Note { input }
            | Dialog::HandOff { input }
            | Dialog::Typed { input, .. } => Some(input),
            Dialog::Approve { name, given_role, key, passphrase, focus, .. } => Some(match *focus {
                1 => given_role,
                2 => key,
                3 => passphrase,
                _ => name,
            }),
            Dialog::Abort { reason, second: false } => Some(reason),
            Dialog::Abort { second: true, .. } => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    Key(crossterm::event::KeyEvent),
    /// Text pasted into the terminal (bracketed paste): into the open field, if any.
    Paste(String),
    /// A click or the wheel, with where the screen's parts were when it happened.
    Mouse(crossterm::event::MouseEvent, super::layout::Regions),
    Tick(Timestamp),
}

/// One line of the event log, with the row of the step it is about (what `e` filters
/// on; an index, not a copy of the id: 100,000 lines stay cheap).
#[derive(Debug, Clone)]
pub struct LogLine {
    pub text: String,
    pub step: Option<usize>,
}

/// What the event log shows: lines holding `text` (any case), of the step at row `step` only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogFilter {
    pub text: String,
    pub step: Option<usize>,
}

impl LogFilter {
    pub fn is_empty(&self) -> bool {
        self.text.is_empty() && self.step.is_none()
    }

    fn lets(&self, l: &LogLine) -> bool {
        self.step.is_none_or(|s| l.step == Some(s))
            && (self.text.is_empty() || l.text.to_lowercase().contains(&self.text.to_lowercase()))
    }
}

/// A run followed from outside it (`lifeboat watch`): nothing a key does reaches an
/// engine, and the banner says what the lines read are worth.
#[derive(Debug, Clone, Default)]
pub struct Watching {
    pub source: String,
    pub words: String,
    pub alarming: bool,
}

pub struct RunApp {
    pub meta: RunMeta,
    pub watching: Option<Watching>,
    pub steps: Vec<StepEntry>,
    index: HashMap<String, usize>,
    pub selected: usize,
    pub focus: Pane,
    pub log: Vec<LogLine>,
    pub log_filter: LogFilter,
    /// The lines the filter lets through, by index (kept as lines arrive, so a frame
    /// never scans the whole log); `None`: every line.
    pub log_shown: Option<Vec<usize>>,
    /// The event log's search, open while it is typed.
    pub log_typing: Option<TextField>,
    /// Lines up from the newest; 0 follows the log.
    pub log_scroll: usize,
    /// A step's whole output, full screen (`v`).
    pub output: Option<OutputView>,
    /// The detail pane's scroll as asked (`u16::MAX`: the end).
    pub detail_scroll: u16,
    /// The scroll the pane was last drawn at (asked, held to the pane's length, moved to
    /// keep the checklist item in view), where ↑ and ↓ go on from.
    pub detail_shown: std::cell::Cell<u16>,
    /// Keep the checklist's current item in view (Space ticks what is seen).
    pub detail_to_check: bool,
    /// Whether the checklist's current item was on screen at the last draw.
    pub check_in_view: std::cell::Cell<bool>,
    pub tracker: Tracker,
    pub now: Timestamp,
    pub started_real: std::time::Instant,
    /// Set by tests so the real-time clock draws the same every time.
    pub real_elapsed: Option<std::time::Duration>,
    pub dialog: Option<Dialog>,
    pub help: bool,
    /// Lines the help overlay is scrolled by (it is taller than a small terminal).
    pub help_scroll: u16,
    pub finished: Option<(RunStatus, Option<String>)>,
    pub spin: usize,
    /// A line for the operator: what just happened or what a key needs.
    pub flash: Option<String>,
    pub confirm_unticked: Option<String>,
    /// `q` was pressed once while an action or command ran: the next `q` leaves.
    pub quit_armed: bool,
    pub leave: bool,
}

impl RunApp {
    /// Where each part of the run screen is in `area`, for drawing and for the mouse.
    pub fn regions(&self, area: ratatui::layout::Rect) -> super::layout::Regions {
        let banner = matches!(self.meta.mode, crate::event::Mode::Tabletop | crate::event::Mode::Replay)
            || self.watching.is_some();
        super::layout::regions(area, banner, self.tracker.phases.len())
    }

    /// The steps tree's rows: a phase heading (`None`) or a step (its index).
    pub fn tree_rows(&self) -> Vec<Option<usize>> {
        let mut rows = Vec::with_capacity(self.steps.len() + self.meta.runbook.phases.len());
        let mut last_phase = usize::MAX;
        for (i, s) in self.steps.iter().enumerate() {
            if s.phase != last_phase {
                last_phase = s.phase;
                rows.push(None);
            }
            rows.push(Some(i));
        }
        rows
    }

    pub fn new(meta: RunMeta, tracker: Tracker, now: Timestamp) -> RunApp {
        let mut steps = Vec::new();
        for (pi, p) in meta.runbook.phases.iter().enumerate() {
            for s in &p.steps {
                let boxes = match &s.kind {
                    StepKind::Manual { checklist, .. } => checklist.len(),
                    _ => 0,
                };
                steps.push(StepEntry {
                    id: s.id.clone(),
                    title: s.title.clone(),
                    phase: pi,
                    status: StepState::Pending,
                    attempt: 0,
                    started: None,
                    duration_ms: None,
                    detail: None,
                    progress: None,
                    output: Vec::new(),
                    error: None,
                    reason: None,
                    waiting: None,
                    ticks: vec![false; boxes],
                    check_at: 0,
                    recovery_point: None,
                    shown_instructions: None,
                    outputs: serde_json::Map::new(),
                });
            }
        }
        let index = steps.iter().enumerate().map(|(i, s)| (s.id.clone(), i)).collect();
        RunApp {
            meta,
            watching: None,
            steps,
            index,
            selected: 0,
            focus: Pane::Steps,
            log: Vec::new(),
            log_filter: LogFilter::default(),
            log_shown: None,
            log_typing: None,
            log_scroll: 0,
            output: None,
            detail_scroll: 0,
            detail_shown: std::cell::Cell::new(0),
            detail_to_check: false,
            check_in_view: std::cell::Cell::new(true),
            tracker,
            now,
            started_real: std::time::Instant::now(),
            real_elapsed: None,
            dialog: None,
            help: false,
            help_scroll: 0,
            finished: None,
            spin: 0,
            flash: None,
            confirm_unticked: None,
            quit_armed: false,
            leave: false,
        }
    }

    pub fn step(&self) -> Option<&StepEntry> {
        self.steps.get(self.selected)
    }

    /// One event from the engine.
    pub fn observe(&mut self, r: &Record) {
        self.tracker.observe(r);
        self.show(r);
    }

    /// The record as the screen may show it: control characters from outside made
    /// visible (an escape sequence in a command's output never reaches the terminal).
    fn printable(r: &Record) -> std::borrow::Cow<'_, Record> {
        match r.event.map_text(&|t| crate::printable::block(t).into_owned()) {
            Ok(event) if event != r.event => std::borrow::Cow::Owned(Record { event, ..r.clone() }),
            _ => std::borrow::Cow::Borrowed(r),
        }
    }

    /// One event into the tree and the event log (the tracker aside: on resume it has
    /// seen the log's records already).
    pub fn show(&mut self, r: &Record) {
        let clean = Self::printable(r);
        let r: &Record = &clean;
        let at = parse_timestamp(&r.time).ok();
        if let Some(t) = at
            && t > self.now
        {
            self.now = t;
        }
        for line in crate::report::lines(&r.event) {
            let clock = r.time.get(11..19).unwrap_or("");
            let step = r.event.step().and_then(|s| self.index.get(s).copied());
            let line = LogLine { text: format!("{clock} {line}"), step };
            let shown = self.log_filter.lets(&line);
            if let Some(idx) = self.log_shown.as_mut().filter(|_| shown) {
                idx.push(self.log.len());
            }
            self.log.push(line);
            if self.log_scroll > 0 && shown {
                self.log_scroll += 1;
            }
        }
        let row = |s: &str| self.index.get(s).copied();
        match &r.event {
            Event::StepStarted { step, attempt, detail } => {
                if let Some(i) = row(step) {
                    let s = &mut self.steps[i];
                    s.status = StepState::Running;
                    s.attempt = *attempt;
                    s.started = at;
                    s.detail = detail.clone().or(s.detail.take());
                    s.error = None;
                    let first_running = !self.steps.iter().any(|x| x.status == StepState::Waiting);
                    if first_running && self.steps[self.selected].status != StepState::Running {
                        self.selected = i;
                    }
                }
            }
            Event::StepProgress { step, done, total, unit } => {
                if let Some(i) = row(step) {
                    self.steps[i].progress = Some((*done, *total, unit.clone()));
                }
            }
            Event::StepOutput { step, stream, text } => {
                // A batch: a line each (a line itself never holds a break).
                for text in text.split('\n') {
                    if let Some(v) = self.output.as_mut().filter(|v| &v.step == step) {
                        v.push(*stream, text.to_string());
                    }
                    if let Some(i) = row(step) {
                        self.steps[i].output.push((*stream, text.to_string()));
                    }
                }
                if let Some(i) = row(step) {
                    let out = &mut self.steps[i].output;
                    if out.len() > OUTPUT_KEPT {
                        out.drain(..out.len() - OUTPUT_KEPT);
                    }
                }
            }
            Event::StepWaiting { step, waiting_for, prompt } => {
                if let Some(i) = row(step) {
                    self.steps[i].status = StepState::Waiting;
                    self.steps[i].waiting = Some((*waiting_for, prompt.clone()));
                    if *waiting_for == Waiting::Confirm
                        && matches!(self.meta.runbook.step(step).map(|s| &s.kind), Some(StepKind::Manual { .. }))
                    {
                        self.steps[i].shown_instructions = prompt.clone();
                    }
                    if self.steps[i].started.is_none() {
                        self.steps[i].started = at;
                    }
                    // What needs a person comes to the front.
                    if self.dialog.is_none() {
                        self.selected = i;
                        self.detail_scroll = 0;
                    }
                }
            }
            Event::StepRetry { step, error, .. } => {
                if let Some(i) = row(step) {
                    self.steps[i].error = Some(StepError { message: error.clone(), code: None, hint: None });
                }
            }
            Event::StepFinished { step, status, reason, duration_ms, recovery_point, error, outputs } => {
                if let Some(i) = row(step) {
                    let s = &mut self.steps[i];
                    s.outputs = outputs.clone();
                    s.status = match status {
                        StepStatus::Done => StepState::Done,
                        StepStatus::Skipped => StepState::Skipped,
                        StepStatus::Failed => StepState::Failed,
                    };
                    s.waiting = None;
                    s.duration_ms = Some(*duration_ms);
                    s.reason = reason.clone();
                    s.error = error.clone();
                    s.recovery_point = recovery_point.clone();
                    if let Some(Dialog::Typed { step: d, .. } | Dialog::Approve { step: d, .. }) = &self.dialog
                        && d == step
                    {
                        self.dialog = None;
                    }
                }
            }
            Event::Answer { step: Some(step), .. } => {
                if let Some(i) = row(step)
                    && self.steps[i].status == StepState::Waiting
                {
                    self.steps[i].status = StepState::Running;
                    self.steps[i].waiting = None;
                }
            }
            Event::RunFinished { status, reason, .. } => {
                self.finished = Some((*status, reason.clone()));
                // What was still running or waiting stopped with the run: its clock
                // stops and it offers no answer (nothing is there to take one).
                for s in self.steps.iter_mut().filter(|s| matches!(s.status, StepState::Running | StepState::Waiting)) {
                    s.status = StepState::Failed;
                    s.waiting = None;
                    s.duration_ms = s.started.zip(at).map(|(a, b)| b.duration_since(a).as_millis().max(0) as u64);
                    s.reason = Some(match status {
                        crate::event::RunStatus::Aborted => "stopped: the run was aborted".into(),
                        _ => "stopped: the run ended".into(),
                    });
                }
                self.dialog =
                    self.dialog.take().filter(|d| !matches!(d, Dialog::Typed { .. } | Dialog::Approve { .. }));
            }
            // Every later answer is the new operator's.
            Event::HandOff { to: who, .. } | Event::Resumed { by: who, .. } => self.meta.operator = who.clone(),
            Event::Checklist { step, item, ticked, .. } => {
                if let Some(i) = row(step)
                    && let Some(b) = self.steps[i].ticks.get_mut(*item as usize)
                {
                    *b = *ticked;
                }
            }
            _ => {}
        }
    }

    /// Lines the event log shows with its filter.
    pub fn log_len(&self) -> usize {
        self.log_shown.as_ref().map_or(self.log.len(), Vec::len)
    }

    /// The `i`-th line the event log shows.
    pub fn log_line(&self, i: usize) -> Option<&LogLine> {
        match &self.log_shown {
            Some(idx) => idx.get(i).and_then(|&j| self.log.get(j)),
            None => self.log.get(i),
        }
    }

    pub fn set_log_filter(&mut self, filter: LogFilter) {
        self.log_shown =
            (!filter.is_empty()).then(|| (0..self.log.len()).filter(|&i| filter.lets(&self.log[i])).collect());
        self.log_filter = filter;
        self.log_scroll = 0;
    }
}
