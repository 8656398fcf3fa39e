//! The start form: inputs (checked in place), the operator, the mode, and a last
//! confirmation that names where the run will act.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::field::TextField;
use super::theme::Theme;
use crate::launch::{Choice, ChosenMode};
use crate::runbook::model::InputDef;

pub struct Field {
    pub def: Option<InputDef>,
    pub label: String,
    pub value: TextField,
    pub error: Option<String>,
}

pub struct Form {
    pub runbook: String,
    pub fields: Vec<Field>,
    pub mode: ChosenMode,
    /// The modes this command may start: a rehearsal offers only `tabletop`.
    pub modes: Vec<ChosenMode>,
    /// Index into fields; `fields.len()` is the mode row.
    pub at: usize,
    /// The last question, with where the run will act.
    pub confirming: Option<String>,
    /// Why the run could not start (credentials refused, no operator): shown on the
    /// form, which stays filled in so the operator can put it right and try again.
    pub refused: Option<String>,
}

pub enum FormEnd {
    Go(Choice),
    Back,
}

impl Form {
    pub fn new(
        runbook: String,
        prefill: Vec<(InputDef, String)>,
        operator: String,
        mode: ChosenMode,
        modes: Vec<ChosenMode>,
    ) -> Form {
        let mut fields: Vec<Field> = prefill
            .into_iter()
            .map(|(def, value)| Field {
                label: def.name.clone(),
                def: Some(def),
                value: TextField::from(value.as_str()),
                error: None,
            })
            .collect();
        fields.push(Field {
            def: None,
            label: "operator".into(),
            value: TextField::from(operator.as_str()),
            error: None,
        });
        let mode = if modes.contains(&mode) { mode } else { modes.first().copied().unwrap_or(mode) };
        Form { runbook, fields, mode, modes, at: 0, confirming: None, refused: None }
    }

    fn check(&mut self, i: usize, check: &dyn Fn(&str, &str) -> Result<(), String>) -> bool {
        let Some(f) = self.fields.get_mut(i) else { return true };
        f.error = match &f.def {
            Some(d) if f.value.is_empty() => Some(format!("`{}` needs a value", d.name)),
            Some(d) => check(&d.name, f.value.value()).err(),
            None if f.value.value().trim().is_empty() => Some("who is running this? it goes into the log".into()),
            None => None,
        };
        f.error.is_none()
    }

    /// `check` validates one input; `target` names where a mode acts.
    pub fn key(
        &mut self,
        k: KeyEvent,
        check: &dyn Fn(&str, &str) -> Result<(), String>,
        target: &dyn Fn(ChosenMode) -> String,
    ) -> Option<FormEnd> {
        if k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL) {
            return Some(FormEnd::Back);
        }
        if self.confirming.is_some() {
            match k.code {
                KeyCode::Char('y') | KeyCode::Enter => {
                    self.confirming = None;
                    return Some(FormEnd::Go(self.choice()));
                }
                _ => self.confirming = None,
            }
            return None;
        }
        if self.refused.take().is_some() {
            return None;
        }
        let rows = self.fields.len() + 1;
        let on_mode = self.at == self.fields.len();
        match k.code {
            KeyCode::Esc => return Some(FormEnd::Back),
            KeyCode::Tab | KeyCode::Down => {
                self.check(self.at, check);
                self.at = (self.at + 1) % rows;
            }
            KeyCode::BackTab | KeyCode::Up => {
                self.check(self.at, check);
                self.at = (self.at + rows - 1) % rows;
            }
            KeyCode::Left | KeyCode::Right | KeyCode::Char(' ') if on_mode => {
                let all = &self.modes;
                let n = all.len().max(1);
                let i = all.iter().position(|m| *m == self.mode).unwrap_or(0);
                let step = if k.code == KeyCode::Left { n - 1 } else { 1 };
                if let Some(m) = all.get((i + step) % n) {
                    self.mode = *m;
                }
            }
            KeyCode::Enter => {
                if !self.check(self.at, check) {
                    return None;
                }
                if !on_mode {
                    self.at += 1;
                    return None;
                }
                let mut first_bad = None;
                for i in 0..self.fields.len() {
                    if !self.check(i, check) && first_bad.is_none() {
                        first_bad = Some(i);
                    }
                }
                match first_bad {
                    Some(i) => self.at = i,
                    None => {
                        self.confirming = Some(format!(
                            "Start `{}` in {} mode against {} as {}?",
                            self.runbook,
                            self.mode.as_str().to_uppercase(),
                            target(self.mode),
                            self.fields.last().map(|f| f.value.value()).unwrap_or("")
                        ))
                    }
                }
            }
            KeyCode::Left | KeyCode::Right | KeyCode::Char(' ') if !self.options(self.at).is_empty() => {
                let options = self.options(self.at);
                let f = &mut self.fields[self.at];
                let n = options.len();
                let next = match options.iter().position(|o| o == f.value.value()) {
                    Some(i) if k.code == KeyCode::Left => (i + n - 1) % n,
                    Some(i) => (i + 1) % n,
                    None => 0,
                };
                f.value = TextField::from(options[next].as_str());
                f.error = None;
            }
            // A select is never typed into: what it holds is always one of its options.
            _ if !self.options(self.at).is_empty() => {}
            _ if !on_mode && self.fields[self.at].value.key(&k) => {
                self.fields[self.at].error = None;
            }
            _ => {}
        }
        None
    }

    /// What an enumerated input may be (its `choices`, or true/false): such a field is a
    /// select, changed with ←/→, never typed into.
    fn options(&self, i: usize) -> Vec<String> {
        match self.fields.get(i).and_then(|f| f.def.as_ref()) {
            Some(d) if !d.choices.is_empty() => d.choices.clone(),
            Some(d) if d.ty == crate::runbook::raw::InputType::Bool => vec!["true".into(), "false".into()],
            _ => vec![],
        }
    }

    /// Pasted text into the field being edited (never into the mode row).
    pub fn paste(&mut self, text: &str) {
        if self.confirming.is_none()
            && self.options(self.at).is_empty()
            && let Some(f) = self.fields.get_mut(self.at)
        {
            f.value.paste(text);
            f.error = None;
        }
    }

    pub fn choice(&self) -> Choice {
        let inputs: BTreeMap<String, String> = self
            .fields
            .iter()
            .filter_map(|f| f.def.as_ref().map(|d| (d.name.clone(), f.value.value().to_string())))
            .collect();
        Choice {
            inputs: Some(inputs),
            operator: self.fields.last().map(|f| f.value.value().trim().to_string()).unwrap_or_default(),
            mode: self.mode,
        }
    }

    pub fn draw(&self, f: &mut Frame, theme: &Theme) {
        let [top, main, bottom] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(5), Constraint::Length(1)]).areas(f.area());
        f.render_widget(
            Paragraph::new(Line::styled(format!(" lifeboat ▸ start {}", self.runbook), theme.title())),
            top,
        );
        let width = main.width.saturating_sub(2) as usize;
        let mut lines = vec![];
        for (i, fl) in self.fields.iter().enumerate() {
            let active = i == self.at;
            let secret = fl.def.as_ref().is_some_and(|d| d.secret);
            let style = if active { theme.selected() } else { ratatui::style::Style::default() };
            let mut spans =
                vec![Span::styled(format!("{} {:<14} ", if active { "▶" } else { " " }, fl.label), theme.title())];
            let options = self.options(i);
            if options.is_empty() {
                spans.extend(fl.value.spans(width.saturating_sub(17).max(8), secret, style, active));
            } else {
                for o in &options {
                    if o == fl.value.value() {
                        spans.push(Span::styled(format!("[ {o} ]"), theme.selected()));
                    } else {
                        spans.push(Span::raw(format!("  {o}  ")));
                    }
                }
                if active {
                    spans.push(Span::styled("  ←→ choose", theme.dim()));
                }
            }
            if let Some(e) = &fl.error {
                spans.push(Span::styled(format!("  ✗ {e}"), theme.bad()));
            }
            lines.push(Line::from(spans));
            let about = match &fl.def {
                Some(d) => {
                    let mut a = format!("{:?}", d.ty).to_lowercase();
                    if let Some(desc) = &d.description {
                        a = format!("{desc} ({a})");
                    }
                    if !d.choices.is_empty() {
                        a.push_str(&format!("; one of: {}", d.choices.join(", ")));
                    }
                    if d.secret {
                        a.push_str("; secret: masked, never logged");
                    }
                    a
                }
                None => "who runs this: recorded with every answer (LIFEBOAT_OPERATOR, else $USER)".into(),
            };
            lines.extend(hanging(&about, width).into_iter().map(|l| Line::styled(l, theme.dim())));
        }
        let on_mode = self.at == self.fields.len();
        let modes: Vec<Span> = self
            .modes
            .iter()
            .map(|m| {
                let label = format!(" {} ", m.as_str());
                if *m == self.mode && *m == ChosenMode::Live {
                    // Live acts on production: the alarm colour, and in capitals.
                    Span::styled("[ LIVE ]", theme.bad().add_modifier(ratatui::style::Modifier::REVERSED))
                } else if *m == self.mode {
                    Span::styled(format!("[{label}]"), theme.selected())
                } else {
                    Span::raw(format!(" {label} "))
                }
            })
            .collect();
        let mut mode_line =
            vec![Span::styled(format!("{} {:<14} ", if on_mode { "▶" } else { " " }, "mode"), theme.title())];
        mode_line.extend(modes);
        lines.push(Line::from(mode_line));
        let about_modes = "live acts on AWS · drill acts on AWS but never writes to production · tabletop rehearses on the simulated cloud";
        lines.extend(hanging(about_modes, width).into_iter().map(|l| Line::styled(l, theme.dim())));
        f.render_widget(
            Paragraph::new(lines).wrap(Wrap { trim: false }).block(Block::bordered().title("inputs")),
            main,
        );
        f.render_widget(
            // The keys that matter most first; a narrow terminal shows the ones that fit,
            // whole (never `… · Ent`).
            Paragraph::new(super::layout::fit_pieces(
                &[
                    "Enter next / start".to_string(),
                    "Esc back".to_string(),
                    "Tab/↑↓ move".to_string(),
                    "←→ change the mode".to_string(),
                    "type to edit (←→ Home End, Ctrl-U/W/K)".to_string(),
                ],
                bottom.width as usize,
            )),
            bottom,
        );
        if let Some(q) = &self.confirming {
            let live = self.mode == ChosenMode::Live;
            let r = super::layout::centered(f.area(), 70, 7);
            f.render_widget(Clear, r);
            f.render_widget(
                Paragraph::new(vec![
                    Line::styled(q.clone(), if live { theme.bad() } else { ratatui::style::Style::default() }),
                    Line::default(),
                    Line::from("y or Enter: start · any other key: back"),
                ])
                .wrap(Wrap { trim: false })
                .block(
                    Block::bordered()
                        .title(if live { "start a LIVE run?" } else { "start the run?" })
                        .border_style(if live { theme.bad() } else { theme.warn() }),
                ),
                r,
            );
        }
        if let Some(why) = &self.refused {
            let lines = super::layout::wrap_words(why, 64);
            let r = super::layout::centered(f.area(), 70, (lines.len() as u16 + 4).min(f.area().height));
            f.render_widget(Clear, r);
            let mut text: Vec<Line> = lines.into_iter().map(|l| Line::styled(l, theme.bad())).collect();
            text.push(Line::default());
            text.push(Line::styled("any key: back to the form (nothing was run)", theme.dim()));
            f.render_widget(
                Paragraph::new(text).block(Block::bordered().title("cannot start").border_style(theme.bad())),
                r,
            );
        }
    }
}

/// Words wrapped under the value column, so a long description reads as one block beside
/// its field instead of running back to the border.
fn hanging(text: &str, width: usize) -> Vec<String> {
    const INDENT: usize = 17;
    let room = width.saturating_sub(INDENT).max(20);
    super::layout::wrap_words(text, room)
        .into_iter()
        .filter(|l| !l.is_empty())
        .map(|l| format!("{:INDENT$}{l}", ""))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctrl_u_and_ctrl_w_edit_a_field_and_never_type_their_letter() {
        let mut f =
            Form::new("rb".into(), vec![], "alice bob".into(), ChosenMode::Tabletop, vec![ChosenMode::Tabletop]);
        let ctrl = |c| crossterm::event::KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL);
        f.key(ctrl('w'), &|_, _| Ok(()), &|m| m.as_str().to_string());
        assert_eq!(f.fields[0].value.value(), "alice ");
        f.key(ctrl('u'), &|_, _| Ok(()), &|m| m.as_str().to_string());
        assert_eq!(f.fields[0].value.value(), "");
        f.key(ctrl('x'), &|_, _| Ok(()), &|m| m.as_str().to_string());
        assert_eq!(f.fields[0].value.value(), "", "no stray letter");
    }

    #[test]
    fn a_rehearsal_form_offers_no_live_or_drill_mode() {
        let mut f = Form::new("rb".into(), vec![], "alice".into(), ChosenMode::Live, vec![ChosenMode::Tabletop]);
        assert_eq!(f.mode, ChosenMode::Tabletop, "a rehearsal starts as one");
        f.at = f.fields.len();
        for code in [KeyCode::Left, KeyCode::Left, KeyCode::Right, KeyCode::Char(' ')] {
            let k = crossterm::event::KeyEvent::new(code, crossterm::event::KeyModifiers::NONE);
            f.key(k, &|_, _| Ok(()), &|m| m.as_str().to_string());
            assert_eq!(f.mode, ChosenMode::Tabletop);
        }
    }

    #[test]
    fn descriptions_wrap_under_the_value_column() {
        let lines = super::hanging("one two three four five six seven eight nine ten eleven", 40);
        assert_eq!(lines.len(), 3, "{lines:?}");
        for l in &lines {
            assert!(l.starts_with(&" ".repeat(17)) && !l.starts_with(&" ".repeat(18)), "{l:?}");
            assert!(l.chars().count() <= 40, "{l:?}");
        }
        assert_eq!(lines.join(" ").split_whitespace().count(), 11);
    }

    #[test]
    fn an_enumerated_input_is_a_select_never_typed_into() {
        let def = |name: &str, choices: &[&str], ty| InputDef {
            name: name.into(),
            ty,
            default: None,
            description: None,
            secret: false,
            env: None,
            choices: choices.iter().map(|c| c.to_string()).collect(),
        };
        use crate::runbook::raw::InputType;
        let mut f = Form::new(
            "rb".into(),
            vec![
                (def("strategy", &["replica", "snapshot", "pitr"], InputType::String), "replica".into()),
                (def("dry", &[], InputType::Bool), "true".into()),
            ],
            "alice".into(),
            ChosenMode::Tabletop,
            vec![ChosenMode::Tabletop],
        );
        let press = |f: &mut Form, code| {
            f.key(crossterm::event::KeyEvent::new(code, KeyModifiers::NONE), &|_, _| Ok(()), &|m| m.as_str().into())
        };
        press(&mut f, KeyCode::Right);
        assert_eq!(f.fields[0].value.value(), "snapshot");
        press(&mut f, KeyCode::Left);
        press(&mut f, KeyCode::Left);
        assert_eq!(f.fields[0].value.value(), "pitr", "← wraps round");
        press(&mut f, KeyCode::Char('z'));
        press(&mut f, KeyCode::Backspace);
        f.paste("anything");
        assert_eq!(f.fields[0].value.value(), "pitr", "typing, deleting and pasting never change a select");
        press(&mut f, KeyCode::Tab);
        press(&mut f, KeyCode::Char(' '));
        assert_eq!(f.fields[1].value.value(), "false", "a bool is a select of true and false");
        let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 24)).unwrap();
        term.draw(|fr| f.draw(fr, &Theme { color: false })).unwrap();
        let screen: String = term.backend().buffer().content().iter().map(|c| c.symbol()).collect();
        assert!(screen.contains("replica    snapshot  [ pitr ]"), "{screen}");
        assert!(screen.contains("true  [ false ]  ←→ choose"), "{screen}");
    }
}
