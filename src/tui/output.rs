//! A step's whole output, full screen (`v`): read back from the incident log, so it holds
//! every line the step printed, not only the last few the detail pane keeps; new lines
//! follow while the step runs. `/` searches, `n`/`N` go from match to match, `g`/`G` to
//! the first and last line; a line wider than the screen ends in `›` and `←`/`→` scroll
//! sideways (as `less -S` does: a manifest's path and digest are read whole, not cut).

use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::field::TextField;
use super::theme::Theme;
use crate::event::{Event, Stream};

pub struct OutputView {
    pub step: String,
    pub title: String,
    pub lines: Vec<(Stream, String)>,
    /// The first line shown.
    pub top: usize,
    /// At the end and staying there as lines arrive (as `tail -f` does).
    pub follow: bool,
    /// Open while a search is typed.
    pub typing: Option<TextField>,
    pub query: String,
    /// Lines that hold the query, in order.
    pub matches: Vec<usize>,
    /// Why the log could not be read, if it could not (then only the kept lines show).
    pub note: Option<String>,
    /// Rows of text on screen at the last draw (what a page is); set by `draw`.
    pub page: std::cell::Cell<usize>,
    /// The first column shown (characters scrolled past on the left).
    pub left: usize,
    /// Columns of text on screen at the last draw; set by `draw`.
    pub room: std::cell::Cell<usize>,
}

/// What a key did to the view.
pub enum ViewKey {
    Stay,
    Close,
}

impl OutputView {
    /// The step's output from the log at `log`; `kept` (the lines the screen holds) if
    /// the log cannot be read.
    /// `log`: where the whole output is read from; none when watching, where only lines
    /// that passed the chain may be shown (the ones kept on screen).
    pub fn open(step: &str, title: &str, log: Option<&Path>, kept: &[(Stream, String)]) -> OutputView {
        let mut lines = Vec::new();
        let mut note = None;
        if let Some(log) = log.filter(|l| l.exists()) {
            for r in crate::journal::stream_records(log) {
                if let Event::StepOutput { step: s, stream, text } = r.event
                    && s == step
                {
                    for text in text.split('\n') {
                        lines.push((stream, crate::printable::line(text).into_owned()));
                    }
                }
            }
        } else {
            note = Some(match log {
                Some(log) => format!("`{}` cannot be read: only the last lines kept on screen", log.display()),
                None => "watching: the last lines kept on screen (the whole output is in the log)".into(),
            });
            lines = kept.to_vec();
        }
        OutputView {
            step: step.to_string(),
            title: title.to_string(),
            lines,
            top: 0,
            follow: true,
            typing: None,
            query: String::new(),
            matches: Vec::new(),
            note,
            page: std::cell::Cell::new(20),
            left: 0,
            room: std::cell::Cell::new(60),
        }
    }

    /// A line the step printed while the view is open.
    pub fn push(&mut self, stream: Stream, text: String) {
        if !self.query.is_empty() && contains(&text, &self.query) {
            self.matches.push(self.lines.len());
        }
        self.lines.push((stream, text));
    }

    fn last_top(&self) -> usize {
        self.lines.len().saturating_sub(self.page.get().max(1))
    }

    /// The first line shown, as drawn: following means the last page.
    pub fn shown_top(&self) -> usize {
        if self.follow { self.last_top() } else { self.top.min(self.last_top()) }
    }

    fn scroll_to(&mut self, top: usize) {
        self.top = top.min(self.last_top());
        self.follow = self.top >= self.last_top();
    }

    /// Sideways by half a screen, never past where the longest line ends.
    fn scroll_sideways(&mut self, right: bool) {
        let room = self.room.get().max(1);
        let step = (room / 2).max(1);
        let widest = self.lines.iter().map(|(_, t)| t.chars().count()).max().unwrap_or(0);
        self.left = if right {
            (self.left + step).min(widest.saturating_sub(room.saturating_sub(1)))
        } else {
            self.left.saturating_sub(step)
        };
    }

    fn search(&mut self) {
        self.matches = (0..self.lines.len())
            .filter(|&i| !self.query.is_empty() && contains(&self.lines[i].1, &self.query))
            .collect();
        let from = self.shown_top();
        if let Some(&m) = self.matches.iter().find(|&&m| m >= from).or(self.matches.first()) {
            self.scroll_to(m);
        }
    }

    fn next_match(&mut self, forward: bool) {
        let at = self.shown_top();
        let next = if forward {
            self.matches.iter().find(|&&m| m > at).or(self.matches.first())
        } else {
            self.matches.iter().rev().find(|&&m| m < at).or(self.matches.last())
        };
        if let Some(&m) = next {
            self.scroll_to(m);
        }
    }

    pub fn paste(&mut self, text: &str) {
        if let Some(f) = &mut self.typing {
            f.paste(text);
        }
    }

    pub fn key(&mut self, k: &KeyEvent) -> ViewKey {
        if let Some(field) = &mut self.typing {
            match k.code {
                KeyCode::Esc => self.typing = None,
                KeyCode::Enter => {
                    self.query = field.value().to_string();
                    self.typing = None;
                    self.search();
                }
                _ => {
                    field.key(k);
                }
            }
            return ViewKey::Stay;
        }
        let top = self.shown_top();
        match k.code {
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('v') => return ViewKey::Close,
            KeyCode::Up | KeyCode::Char('k') => self.scroll_to(top.saturating_sub(1)),
            KeyCode::Down | KeyCode::Char('j') => self.scroll_to(top + 1),
            KeyCode::PageUp => self.scroll_to(top.saturating_sub(self.page.get())),
            KeyCode::PageDown | KeyCode::Char(' ') => self.scroll_to(top + self.page.get()),
            KeyCode::Char('g') | KeyCode::Home => self.scroll_to(0),
            KeyCode::Left | KeyCode::Char('h') => self.scroll_sideways(false),
            KeyCode::Right | KeyCode::Char('l') => self.scroll_sideways(true),
            KeyCode::Char('0') => self.left = 0,
            KeyCode::Char('G') | KeyCode::End => self.follow = true,
            KeyCode::Char('/') => self.typing = Some(TextField::from(self.query.as_str())),
            KeyCode::Char('n') => self.next_match(true),
            KeyCode::Char('N') => self.next_match(false),
            _ => {}
        }
        ViewKey::Stay
    }

    /// Drawn over the whole screen; `page` is set from the height it got.
    pub fn draw(&self, f: &mut Frame, area: Rect, theme: &Theme) {
        f.render_widget(Clear, area);
        let [body, bar] = Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
        let rows = body.height.saturating_sub(2) as usize;
        let page = rows.max(1);
        self.page.set(page);
        let top = self.shown_top();
        let width = body.width.saturating_sub(2) as usize;
        let number_width = self.lines.len().max(1).to_string().len();
        let room = width.saturating_sub(number_width + 3);
        self.room.set(room);
        let shown_lines = &self.lines[top..(top + page).min(self.lines.len())];
        let wider = shown_lines.iter().any(|(_, t)| t.chars().count() > room);
        let lines: Vec<Line> = shown_lines
            .iter()
            .enumerate()
            .map(|(i, (stream, text))| {
                let n = top + i + 1;
                let mark = if *stream == Stream::Stderr { "!" } else { "│" };
                let mut spans = vec![Span::styled(format!("{n:>number_width$} {mark} "), theme.dim())];
                // A line that goes on past the edge says so in its last column.
                let more = text.chars().count() > self.left + room;
                let cut: String = text.chars().skip(self.left).take(room.saturating_sub(more as usize)).collect();
                spans.extend(highlight(&cut, &self.query, theme));
                if more {
                    spans.push(Span::styled("›", theme.warn()));
                }
                Line::from(spans)
            })
            .collect();
        // Whole pieces only, the step and where the view is first: a title is never cut mid-word.
        let mut pieces = vec![
            format!("output of `{}`", self.step),
            format!(
                "lines {}–{} of {}",
                if self.lines.is_empty() { 0 } else { top + 1 },
                (top + page).min(self.lines.len()),
                self.lines.len()
            ),
        ];
        if self.left > 0 || wider {
            pieces.push(format!("columns {}–{} (← →)", self.left + 1, self.left + room));
        }
        if !self.query.is_empty() {
            let at = self.matches.iter().position(|&m| m >= top && m < top + page).map(|i| i + 1);
            pieces.push(match (self.matches.len(), at) {
                (0, _) => format!("`{}` not found", self.query),
                (n, Some(i)) => format!("`{}` match {i} of {n}", self.query),
                (1, None) => format!("`{}` 1 match", self.query),
                (n, None) => format!("`{}` {n} matches", self.query),
            });
        }
        pieces.push(self.title.clone());
        let title = format!("{} ", super::layout::fit_pieces(&pieces, body.width.saturating_sub(3) as usize));
        let mut shown = lines;
        if shown.is_empty() {
            shown.push(Line::styled(
                self.note.clone().unwrap_or_else(|| "this step has printed nothing (yet)".into()),
                theme.dim(),
            ));
        } else if let Some(n) = &self.note {
            shown.insert(0, Line::styled(n.clone(), theme.warn()));
        }
        f.render_widget(Paragraph::new(shown).block(Block::bordered().title(title).border_style(theme.title())), body);
        let hint = match &self.typing {
            Some(field) => {
                let mut spans = vec![Span::styled(" search: ", theme.title())];
                spans.extend(field.spans(width.saturating_sub(40).max(10), false, theme.selected(), true));
                spans.push(Span::styled("  Enter find · Esc cancel", theme.dim()));
                Line::from(spans)
            }
            None => Line::from(super::layout::fit_pieces(
                &[
                    "j k scroll".into(),
                    "← → sideways".into(),
                    "PgUp PgDn".into(),
                    "g G first/last".into(),
                    "/ search".into(),
                    "Esc back".into(),
                    "n N next/previous match".into(),
                    "G follows new lines".into(),
                ],
                bar.width as usize,
            )),
        };
        f.render_widget(Paragraph::new(hint), bar);
    }
}

/// Case-insensitive, as `less -i` searches.
fn contains(text: &str, query: &str) -> bool {
    text.to_lowercase().contains(&query.to_lowercase())
}

/// The text with every match of `query` marked, so a match is seen without colour too.
fn highlight(text: &str, query: &str, theme: &Theme) -> Vec<Span<'static>> {
    if query.is_empty() {
        return vec![Span::raw(text.to_string())];
    }
    let lower = text.to_lowercase();
    let q = query.to_lowercase();
    // Lower-casing can change byte lengths; highlight only where offsets still agree.
    if lower.len() != text.len() {
        return vec![Span::raw(text.to_string())];
    }
    let mut out = vec![];
    let mut at = 0;
    while let Some(i) = lower[at..].find(&q) {
        let start = at + i;
        let end = start + q.len();
        if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
            break;
        }
        out.push(Span::raw(text[at..start].to_string()));
        out.push(Span::styled(
            text[start..end].to_string(),
            theme.selected().add_modifier(ratatui::style::Modifier::UNDERLINED),
        ));
        at = end;
    }
    out.push(Span::raw(text[at..].to_string()));
    out
}
