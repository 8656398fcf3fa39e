//! The run screen's state: built from the engine's events, changed by messages, and turned
//! into engine commands. Views only read it.

use std::collections::HashMap;

use crate::engine::Command;
use crate::event::{Event, Record, RunStatus, StepError, StepStatus, Stream, Waiting, typed_name};
use crate::launch::RunMeta;
use crate::objectives::Tracker;
use crate::runbook::model::StepKind;
use crate::runbook::time::{Timestamp, parse_timestamp};

use super::field::TextField;
use super::keys::{Action, action_for};
use super::output::{OutputView, ViewKey};

/// The most output lines kept per step: the log file has them all.
const OUTPUT_KEPT: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pending,
    Running,
    Waiting,
    Done,
    Skipped,
    Failed,
}

impl Status {
    /// A symbol for every status, so colour is never the only sign.
    pub fn symbol(self, spin: usize) -> &'static str {
        const SPIN: [&str; 8] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧"];
        match self {
            Status::Pending => "·",
            Status::Running => SPIN[spin % SPIN.len()],
            Status::Waiting => "?",
            Status::Done => "✓",
            Status::Skipped => "↷",
            Status::Failed => "✗",
        }
    }
}

#[derive(Debug, Clone)]
pub struct StepRow {
    pub id: String,
    pub title: String,
    pub phase: usize,
    pub status: Status,
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
    pub steps: Vec<StepRow>,
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
                steps.push(StepRow {
                    id: s.id.clone(),
                    title: s.title.clone(),
                    phase: pi,
                    status: Status::Pending,
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

    pub fn step(&self) -> Option<&StepRow> {
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
                    s.status = Status::Running;
                    s.attempt = *attempt;
                    s.started = at;
                    s.detail = detail.clone().or(s.detail.take());
                    s.error = None;
                    let first_running = !self.steps.iter().any(|x| x.status == Status::Waiting);
                    if first_running && self.steps[self.selected].status != Status::Running {
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
                    self.steps[i].status = Status::Waiting;
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
                        StepStatus::Done => Status::Done,
                        StepStatus::Skipped => Status::Skipped,
                        StepStatus::Failed => Status::Failed,
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
                    && self.steps[i].status == Status::Waiting
                {
                    self.steps[i].status = Status::Running;
                    self.steps[i].waiting = None;
                }
            }
            Event::RunFinished { status, reason, .. } => {
                self.finished = Some((*status, reason.clone()));
                // What was still running or waiting stopped with the run: its clock
                // stops and it offers no answer (nothing is there to take one).
                for s in self.steps.iter_mut().filter(|s| matches!(s.status, Status::Running | Status::Waiting)) {
                    s.status = Status::Failed;
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

    /// A key or a tick; returns what to tell the engine.
    pub fn update(&mut self, msg: Msg) -> Vec<Command> {
        match msg {
            Msg::Tick(now) => {
                if now > self.now {
                    self.now = now;
                }
                self.spin = self.spin.wrapping_add(1);
                vec![]
            }
            Msg::Paste(text) => {
                if let Some(field) = self.dialog.as_mut().and_then(Dialog::field) {
                    field.paste(&text);
                } else if let Some(v) = &mut self.output {
                    v.paste(&text);
                } else if let Some(field) = &mut self.log_typing {
                    field.paste(&text);
                }
                vec![]
            }
            Msg::Mouse(m, at) => {
                self.mouse(m, at);
                vec![]
            }
            Msg::Key(k) => {
                if k.kind != crossterm::event::KeyEventKind::Press {
                    return vec![];
                }
                if self.dialog.is_some() {
                    return self.dialog_key(k);
                }
                if self.help {
                    use crossterm::event::KeyCode;
                    match k.code {
                        KeyCode::Down | KeyCode::Char('j') | KeyCode::PageDown => {
                            self.help_scroll = self.help_scroll.saturating_add(1).min(super::keys::KEYS.len() as u16)
                        }
                        KeyCode::Up | KeyCode::Char('k') | KeyCode::PageUp => {
                            self.help_scroll = self.help_scroll.saturating_sub(1)
                        }
                        _ => {
                            self.help = false;
                            self.help_scroll = 0;
                        }
                    }
                    return vec![];
                }
                if let Some(v) = &mut self.output {
                    if let ViewKey::Close = v.key(&k) {
                        self.output = None;
                    }
                    return vec![];
                }
                if self.log_typing.is_some() {
                    self.log_search_key(&k);
                    return vec![];
                }
                match action_for(&k) {
                    Some(a) => self.act(a),
                    None => vec![],
                }
            }
        }
    }

    fn by(&self) -> String {
        self.meta.operator.clone()
    }

    fn act(&mut self, a: Action) -> Vec<Command> {
        if self.watching.is_some() {
            if a.answers() {
                self.flash = Some(format!(
                    "read-only: {} answers in the run's own session; this screen only watches",
                    crate::printable::line(&self.meta.operator)
                ));
                return vec![];
            }
            if a == Action::Quit {
                self.leave = true;
                return vec![];
            }
        }
        let by = self.by();
        self.flash = None;
        if a != Action::Enter {
            self.confirm_unticked = None;
        }
        let armed = std::mem::take(&mut self.quit_armed);
        let step = self.step().cloned();
        let waiting = step.as_ref().and_then(|s| s.waiting.clone());
        let id = step.as_ref().map(|s| s.id.clone()).unwrap_or_default();
        match a {
            Action::Up => match self.focus {
                Pane::Steps => {
                    self.selected = self.selected.saturating_sub(1);
                    self.detail_scroll = 0;
                }
                Pane::Detail => {
                    self.detail_scroll = self.detail_shown.get().saturating_sub(1);
                    self.detail_to_check = false;
                }
                Pane::Log => self.log_scroll = (self.log_scroll + 1).min(self.log_len().saturating_sub(1)),
            },
            Action::Down => match self.focus {
                Pane::Steps => {
                    self.selected = (self.selected + 1).min(self.steps.len().saturating_sub(1));
                    self.detail_scroll = 0;
                }
                Pane::Detail => {
                    self.detail_scroll = self.detail_shown.get().saturating_add(1);
                    self.detail_to_check = false;
                }
                Pane::Log => self.log_scroll = self.log_scroll.saturating_sub(1),
            },
            Action::PageUp => self.log_scroll = (self.log_scroll + 10).min(self.log_len().saturating_sub(1)),
            Action::PageDown => self.log_scroll = self.log_scroll.saturating_sub(10),
            Action::Pane => {
                self.focus = match self.focus {
                    Pane::Steps => Pane::Detail,
                    Pane::Detail => Pane::Log,
                    Pane::Log => Pane::Steps,
                }
            }
            Action::Help => self.help = true,
            Action::Tick => match step.as_ref().filter(|s| !s.ticks.is_empty()) {
                // The log decides: the box changes when the engine has recorded it.
                // An item nobody can see is not ticked: the pane shows it first.
                Some(_) if !self.check_in_view.get() => {
                    self.detail_to_check = true;
                    self.flash = Some("the checklist is shown now: Space ticks the ▸ item".into());
                }
                Some(s) => {
                    self.detail_to_check = true;
                    let item = s.check_at.min(s.ticks.len() - 1);
                    return vec![Command::Tick { step: id, item, ticked: !s.ticks[item], by }];
                }
                None => self.flash = Some(format!("`{id}` has no checklist")),
            },
            Action::ItemPrev | Action::ItemNext => {
                if let Some(s) = self.steps.get_mut(self.selected)
                    && !s.ticks.is_empty()
                {
                    let n = s.ticks.len();
                    s.check_at = if a == Action::ItemNext { (s.check_at + 1) % n } else { (s.check_at + n - 1) % n };
                    self.detail_to_check = true;
                }
            }
            Action::Enter => match waiting {
                Some((Waiting::Confirm, Some(prompt))) if typed_name(&prompt).is_some() => {
                    let expected = typed_name(&prompt).unwrap_or_default().to_string();
                    self.dialog = Some(Dialog::Typed { step: id, expected, prompt, input: TextField::default() });
                }
                Some((Waiting::Confirm, _)) => {
                    let open = step.as_ref().map(|s| s.ticks.iter().filter(|t| !**t).count()).unwrap_or(0);
                    if open > 0 && self.confirm_unticked.as_deref() != Some(id.as_str()) {
                        self.flash =
                            Some(format!("{open} checklist item(s) not ticked (Space ticks); Enter again to confirm"));
                        self.confirm_unticked = Some(id);
                    } else {
                        self.confirm_unticked = None;
                        return vec![Command::Confirm { step: id, by }];
                    }
                }
                Some((Waiting::Outcome, _)) => return vec![Command::Confirm { step: id, by }],
                Some((Waiting::Approval, _)) => return self.act(Action::Approve),
                Some((Waiting::Decision, _)) => return vec![Command::Continue { step: id, by }],
                Some((Waiting::RetryOrAbort, _)) => {
                    self.flash = Some(format!("the run cannot go on without `{id}`: r retry · x abort"))
                }
                Some((Waiting::Rerun, _)) => return vec![Command::Rerun { step: id, by }],
                None => self.flash = Some(format!("`{id}` is not waiting for you")),
            },
            Action::Skip | Action::Fail => {
                if waiting.is_some() {
                    let purpose = if a == Action::Skip { Purpose::Skip } else { Purpose::Fail };
                    self.dialog = Some(Dialog::Reason { purpose, step: id, input: TextField::default() });
                } else {
                    self.flash =
                        Some(format!("only a step that waits for you can be skipped or failed; `{id}` does not"));
                }
            }
            Action::Retry => match waiting {
                Some((Waiting::Decision | Waiting::RetryOrAbort, _)) => return vec![Command::Retry { step: id, by }],
                _ => self.flash = Some("retry is for a failed step that asks what to do".into()),
            },
            Action::Approve => match waiting {
                Some((Waiting::Approval, _)) => {
                    let role = match self.meta.runbook.step(&id).map(|s| &s.kind) {
                        Some(StepKind::Approval(a)) => a.role.clone(),
                        _ => String::new(),
                    };
                    // The approver types their own name: the operator is never the
                    // default, so approving one's own run is never a single key.
                    self.dialog = Some(Dialog::Approve {
                        step: id,
                        given_role: TextField::from(role.as_str()),
                        role,
                        name: TextField::default(),
                        key: TextField::default(),
                        passphrase: TextField::default(),
                        focus: 0,
                    });
                }
                _ => self.flash = Some(format!("`{id}` does not wait for an approval")),
            },
            Action::Deny => match waiting {
                Some((Waiting::Approval, _)) => {
                    self.dialog = Some(Dialog::Reason { purpose: Purpose::Deny, step: id, input: TextField::default() })
                }
                _ => self.flash = Some(format!("`{id}` does not wait for an approval")),
            },
            Action::Note => self.dialog = Some(Dialog::Note { input: TextField::default() }),
            Action::HandOff => self.dialog = Some(Dialog::HandOff { input: TextField::default() }),
            Action::View => match &step {
                Some(s) => {
                    let log = self.watching.is_none().then_some(self.meta.log_path.as_path());
                    self.output = Some(OutputView::open(&s.id, &s.title, log, &s.output))
                }
                None => self.flash = Some("no step is selected".into()),
            },
            Action::Search => self.log_typing = Some(TextField::from(self.log_filter.text.as_str())),
            Action::StepEvents => {
                let mut filter = self.log_filter.clone();
                filter.step = match filter.step {
                    Some(s) if s == self.selected => None,
                    _ => Some(self.selected),
                };
                self.set_log_filter(filter);
            }
            Action::Top => match self.focus {
                Pane::Steps => self.selected = 0,
                Pane::Detail => {
                    self.detail_scroll = 0;
                    self.detail_to_check = false;
                }
                Pane::Log => self.log_scroll = self.log_len().saturating_sub(1),
            },
            Action::Bottom => match self.focus {
                Pane::Steps => self.selected = self.steps.len().saturating_sub(1),
                // The pane's length is known when drawn: the end is held to it there.
                Pane::Detail => {
                    self.detail_scroll = u16::MAX;
                    self.detail_to_check = false;
                }
                Pane::Log => self.log_scroll = 0,
            },
            Action::Back => {
                if self.log_filter.is_empty() {
                    self.flash = Some("q leaves the screen (the run can be resumed); x aborts it".into());
                } else {
                    self.set_log_filter(LogFilter::default());
                }
            }
            Action::Abort => {
                if self.finished.is_none() {
                    self.dialog = Some(Dialog::Abort { reason: TextField::default(), second: false });
                }
            }
            Action::Quit => {
                // Leaving while something changes the world stops it midway: asked first.
                let running = self.steps.iter().find(|s| s.status == Status::Running && s.waiting.is_none());
                if let (Some(r), false, None) = (running, armed, &self.finished) {
                    self.flash = Some(format!(
                        "`{}` is running: leaving stops it midway (the run can be resumed). q again to leave",
                        r.id
                    ));
                    self.quit_armed = true;
                    return vec![];
                }
                self.leave = true;
                if self.finished.is_none() {
                    return vec![Command::Detach {
                        by,
                        reason: "the operator left the screen; the run can be resumed".into(),
                    }];
                }
            }
        }
        vec![]
    }

    /// A click selects the step under it and focuses the pane; the wheel scrolls the pane
    /// under the pointer. Nothing the mouse does answers a step: answers take keys.
    fn mouse(&mut self, m: crossterm::event::MouseEvent, at: super::layout::Regions) {
        use crossterm::event::{MouseButton, MouseEventKind};
        let inside = |r: ratatui::layout::Rect| {
            m.column >= r.x && m.column < r.x + r.width && m.row >= r.y && m.row < r.y + r.height
        };
        if self.dialog.is_some() || self.help {
            return;
        }
        if let Some(v) = &mut self.output {
            let code = match m.kind {
                MouseEventKind::ScrollUp => crossterm::event::KeyCode::Up,
                MouseEventKind::ScrollDown => crossterm::event::KeyCode::Down,
                _ => return,
            };
            for _ in 0..3 {
                v.key(&crossterm::event::KeyEvent::new(code, crossterm::event::KeyModifiers::NONE));
            }
            return;
        }
        let pane = if inside(at.tree) {
            Pane::Steps
        } else if inside(at.detail) {
            Pane::Detail
        } else if inside(at.log) {
            Pane::Log
        } else {
            return;
        };
        match m.kind {
            MouseEventKind::Down(MouseButton::Left) => {
                self.focus = pane;
                if pane == Pane::Steps && m.row > at.tree.y {
                    let rows = self.tree_rows();
                    let height = at.tree.height.saturating_sub(2) as usize;
                    let sel_row = rows.iter().position(|r| *r == Some(self.selected)).unwrap_or(0);
                    let row = super::layout::tree_offset(sel_row, height) + (m.row - at.tree.y - 1) as usize;
                    if let Some(Some(i)) = rows.get(row) {
                        self.selected = *i;
                        self.detail_scroll = 0;
                    }
                }
            }
            MouseEventKind::ScrollUp | MouseEventKind::ScrollDown => {
                let up = m.kind == MouseEventKind::ScrollUp;
                match pane {
                    Pane::Steps => {
                        self.selected = if up {
                            self.selected.saturating_sub(1)
                        } else {
                            (self.selected + 1).min(self.steps.len().saturating_sub(1))
                        };
                        self.detail_scroll = 0;
                    }
                    Pane::Detail => {
                        self.detail_scroll =
                            if up { self.detail_scroll.saturating_sub(3) } else { self.detail_scroll.saturating_add(3) }
                    }
                    Pane::Log => {
                        self.log_scroll = if up {
                            (self.log_scroll + 3).min(self.log_len().saturating_sub(1))
                        } else {
                            self.log_scroll.saturating_sub(3)
                        }
                    }
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

    fn log_search_key(&mut self, k: &crossterm::event::KeyEvent) {
        use crossterm::event::KeyCode;
        let Some(field) = self.log_typing.as_mut() else { return };
        match k.code {
            KeyCode::Esc => self.log_typing = None,
            KeyCode::Enter => {
                let text = field.value().trim().to_string();
                self.log_typing = None;
                let filter = LogFilter { text, step: self.log_filter.step };
                self.set_log_filter(filter);
            }
            _ => {
                field.key(k);
            }
        }
    }

    fn dialog_key(&mut self, k: crossterm::event::KeyEvent) -> Vec<Command> {
        use crossterm::event::{KeyCode, KeyModifiers};
        let by = self.by();
        let Some(d) = self.dialog.as_mut() else { return vec![] };
        if k.code == KeyCode::Esc || (k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL)) {
            self.dialog = None;
            return vec![];
        }
        if let Some(input) = d.field()
            && input.key(&k)
        {
            return vec![];
        }
        if let Dialog::Approve { focus, .. } = d
            && matches!(k.code, KeyCode::Tab | KeyCode::Down | KeyCode::Up | KeyCode::BackTab)
        {
            let back = matches!(k.code, KeyCode::Up | KeyCode::BackTab);
            *focus = if back { (*focus + 3) % 4 } else { (*focus + 1) % 4 };
            return vec![];
        }
        if let Dialog::Abort { reason, second } = d {
            return match (k.code, *second) {
                (KeyCode::Enter, false) if reason.value().trim().is_empty() => {
                    self.flash = Some("why abort? the reason goes into the log and the report".into());
                    vec![]
                }
                (KeyCode::Enter, false) => {
                    *second = true;
                    vec![]
                }
                (_, false) => vec![],
                // The last word is a deliberate key: Enter, pressed once too often, never aborts.
                (KeyCode::Char('x') | KeyCode::Char('y'), true) => {
                    let reason = reason.value().trim().to_string();
                    self.dialog = None;
                    self.flash = None;
                    vec![Command::Abort { by, reason }]
                }
                _ => {
                    self.dialog = None;
                    vec![]
                }
            };
        }
        if k.code != KeyCode::Enter {
            return vec![];
        }
        let cmd = match d.clone() {
            Dialog::Reason { input, .. } | Dialog::Note { input } if input.value().trim().is_empty() => {
                self.flash = Some("a reason is needed: it goes into the incident log".into());
                return vec![];
            }
            Dialog::Reason { purpose, step, input } => match purpose {
                Purpose::Skip => Command::Skip { step, by, reason: input.value().trim().into() },
                Purpose::Fail => Command::Fail { step, by, reason: input.value().trim().into() },
                Purpose::Deny => Command::Deny { step, by, role: None, reason: Some(input.value().trim().into()) },
            },
            Dialog::Note { input } => Command::Note { by, text: input.value().trim().into() },
            Dialog::HandOff { input } if input.value().trim().is_empty() => {
                self.flash = Some("who takes over? type their name".into());
                return vec![];
            }
            Dialog::HandOff { input } => Command::HandOff { by, to: input.value().trim().into() },
            Dialog::Approve { step, key, passphrase, .. } if !key.value().trim().is_empty() => {
                // Signed with the approver's own key: it goes through the run's inbox, as
                // `lifeboat approve` from another terminal would, and the engine checks it.
                let path = std::path::PathBuf::from(key.value().trim());
                let pass = passphrase.value().to_string();
                let signed = crate::journal::sign::Signer::load(&path, || (!pass.is_empty()).then_some(pass.clone()))
                    .map_err(|e| e.to_string())
                    .and_then(|signer| {
                        crate::inbox::deliver(
                            &self.meta.log_path,
                            &step,
                            &signer,
                            crate::journal::approval::Decision::Approve,
                            None,
                        )
                    });
                let ok = signed.is_ok();
                self.flash = Some(match signed {
                    Ok(_) => format!("signed approval of `{step}` handed to the run; it is checked before it counts"),
                    Err(e) => format!("not signed: {e}"),
                });
                if ok {
                    self.dialog = None;
                }
                return vec![];
            }
            Dialog::Approve { step, name, given_role, .. } => {
                if name.value().trim().is_empty() {
                    self.flash = Some("who approves? type a name".into());
                    return vec![];
                }
                let role = Some(given_role.value().trim().to_string()).filter(|r| !r.is_empty());
                Command::Approve { step, by: name.value().trim().into(), role }
            }
            Dialog::Typed { step, expected, input, .. } => {
                if input.value() != expected {
                    self.flash = Some(format!("type `{expected}` exactly to go ahead, or Esc"));
                    return vec![];
                }
                Command::Confirm { step, by }
            }
            Dialog::Abort { .. } => unreachable!("handled above"),
        };
        self.dialog = None;
        self.flash = None;
        vec![cmd]
    }
}
