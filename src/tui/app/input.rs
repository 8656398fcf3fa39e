//! What the operator's keys and mouse do to the run screen: the state changes, and the
//! engine commands they send.

use super::*;

impl RunApp {
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
                            self.help_scroll =
                                self.help_scroll.saturating_add(1).min(crate::tui::keys::KEYS.len() as u16)
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

    pub(super) fn by(&self) -> String {
        self.meta.operator.clone()
    }

    pub(super) fn act(&mut self, a: Action) -> Vec<Command> {
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
                let running = self.steps.iter().find(|s| s.status == StepState::Running && s.waiting.is_none());
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
    pub(super) fn mouse(&mut self, m: crossterm::event::MouseEvent, at: crate::tui::layout::Regions) {
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
                    let row = crate::tui::layout::tree_offset(sel_row, height) + (m.row - at.tree.y - 1) as usize;
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

    pub(super) fn log_search_key(&mut self, k: &crossterm::event::KeyEvent) {
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

    pub(super) fn dialog_key(&mut self, k: crossterm::event::KeyEvent) -> Vec<Command> {
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
