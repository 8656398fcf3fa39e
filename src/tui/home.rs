//! The home screen: the folder's runbooks by dataset, a filter, and a preview.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, List, ListItem, ListState, Paragraph, Wrap};

use super::field::TextField;
use super::theme::Theme;
use crate::launch::ShelfEntry;
use crate::report::human_ms;

pub struct Home {
    pub dir: String,
    pub entries: Vec<ShelfEntry>,
    pub filter: TextField,
    pub filtering: bool,
    /// Esc was pressed at the top: the next Esc (or q) leaves.
    pub quit_armed: bool,
    pub selected: usize,
    /// A line for the operator (why Enter did nothing).
    pub flash: Option<String>,
}

pub enum HomeEnd {
    Start(std::path::PathBuf),
    Quit,
}

impl Home {
    pub fn new(dir: String, mut entries: Vec<ShelfEntry>) -> Home {
        entries.sort_by_key(|e| e.runbook.as_ref().map(|r| (r.dataset.clone(), r.id.clone())));
        Home {
            dir,
            entries,
            filter: TextField::default(),
            filtering: false,
            quit_armed: false,
            selected: 0,
            flash: None,
        }
    }

    /// The entries the filter lets through, by index.
    pub fn visible(&self) -> Vec<usize> {
        let f = self.filter.value().to_lowercase();
        (0..self.entries.len())
            .filter(|&i| {
                let e = &self.entries[i];
                let hay = match &e.runbook {
                    Some(r) => format!("{} {} {} {}", r.id, r.dataset, r.scenario, r.title),
                    None => e.path.display().to_string(),
                };
                hay.to_lowercase().contains(&f)
            })
            .collect()
    }

    pub fn paste(&mut self, text: &str) {
        if self.filtering {
            self.filter.paste(text);
            self.selected = 0;
        }
    }

    pub fn key(&mut self, k: KeyEvent) -> Option<HomeEnd> {
        self.flash = None;
        let armed = std::mem::take(&mut self.quit_armed);
        if self.filtering {
            match k.code {
                KeyCode::Esc => {
                    self.filtering = false;
                    self.filter = TextField::default();
                }
                KeyCode::Enter => self.filtering = false,
                _ => {
                    self.filter.key(&k);
                }
            }
            self.selected = 0;
            return None;
        }
        let visible = self.visible();
        match k.code {
            KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => return Some(HomeEnd::Quit),
            // Esc goes back one level: a filter first; at the top it asks before leaving.
            KeyCode::Esc if !self.filter.is_empty() => {
                self.filter = TextField::default();
                self.selected = 0;
            }
            KeyCode::Esc if !armed => {
                self.quit_armed = true;
                self.flash = Some("leave lifeboat? Esc again or q to leave, any other key stays".into());
            }
            KeyCode::Char('q') | KeyCode::Esc => return Some(HomeEnd::Quit),
            KeyCode::Char('/') => self.filtering = true,
            KeyCode::Up | KeyCode::Char('k') => self.selected = self.selected.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => {
                self.selected = (self.selected + 1).min(visible.len().saturating_sub(1))
            }
            KeyCode::Enter => {
                if let Some(&i) = visible.get(self.selected) {
                    match &self.entries[i].runbook {
                        Some(_) => return Some(HomeEnd::Start(self.entries[i].path.clone())),
                        None => {
                            self.flash = Some(format!(
                                "not a valid runbook: run `lifeboat validate {}` and fix it first",
                                self.entries[i].path.display()
                            ))
                        }
                    }
                }
            }
            _ => {}
        }
        None
    }

    pub fn draw(&self, f: &mut Frame, theme: &Theme) {
        let [top, main, bottom] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(5), Constraint::Length(1)]).areas(f.area());
        f.render_widget(
            Paragraph::new(Line::styled(format!(" lifeboat ▸ runbooks in {}", self.dir), theme.title())),
            top,
        );
        let wide = main.width >= 120;
        let [list_area, preview_area] = if wide {
            Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(main)
        } else {
            Layout::vertical([Constraint::Min(5), Constraint::Length(main.height / 3)]).areas(main)
        };
        let visible = self.visible();
        let mut items = vec![];
        let mut sel = 0;
        let mut last = None;
        for (n, &i) in visible.iter().enumerate() {
            let e = &self.entries[i];
            let Some(rb) = &e.runbook else {
                items.push(ListItem::new(Line::styled(
                    format!("  ✗ {} is not valid: lifeboat validate it", e.path.display()),
                    theme.bad(),
                )));
                continue;
            };
            if last.as_ref() != Some(&rb.dataset) {
                last = Some(rb.dataset.clone());
                items.push(ListItem::new(Line::styled(rb.dataset.clone(), theme.title())));
            }
            if n == self.selected {
                sel = items.len();
            }
            let drill = if e.overdue { format!("{} OVERDUE", e.last_drill) } else { e.last_drill.clone() };
            items.push(ListItem::new(Line::from(vec![
                Span::raw(format!("  {:<34} {:<13} ", rb.id, rb.scenario.to_string())),
                Span::styled(
                    format!(
                        "RTO {:<4} RPO {:<4} {}p/{}s  ",
                        rb.objectives.rto,
                        rb.objectives.rpo,
                        rb.phases.len(),
                        rb.steps().count()
                    ),
                    theme.dim(),
                ),
                Span::styled(format!("drill {drill}"), if e.overdue { theme.warn() } else { theme.dim() }),
            ])));
        }
        if visible.is_empty() {
            items.push(ListItem::new(Line::from("  nothing matches the filter")));
        }
        let mut state = ListState::default().with_selected(Some(sel));
        f.render_stateful_widget(
            List::new(items).block(Block::bordered().title("runbooks")).highlight_style(theme.selected()),
            list_area,
            &mut state,
        );
        let mut lines = vec![];
        let chosen = visible.get(self.selected).map(|&i| &self.entries[i]);
        if let Some(problem) = chosen.and_then(|e| e.problem.as_ref()) {
            lines.push(Line::styled("not a valid runbook", theme.bad()));
            lines.push(Line::from(problem.clone()));
        }
        if let Some(rb) = chosen.and_then(|e| e.runbook.as_ref()) {
            lines.push(Line::styled(rb.title.clone(), theme.title()));
            if let Some(d) = &rb.description {
                lines.push(Line::from(d.clone()));
            }
            lines.push(Line::default());
            for (i, p) in rb.phases.iter().enumerate() {
                lines.push(Line::from(format!(
                    "{}. {} ({}) — {}",
                    i + 1,
                    p.title,
                    human_ms(p.budget.secs() * 1000),
                    p.steps.iter().map(|s| s.id.as_str()).collect::<Vec<_>>().join(", ")
                )));
            }
        }
        f.render_widget(
            Paragraph::new(lines).wrap(Wrap { trim: false }).block(Block::bordered().title("phases")),
            preview_area,
        );
        let hint = if let Some(f) = &self.flash {
            format!(" {f}")
        } else if self.filtering {
            let mut spans = vec![Span::raw(" filter: ")];
            spans.extend(self.filter.spans(40, false, theme.selected(), true));
            spans.push(Span::raw(" (Enter keeps it · Esc clears)"));
            f.render_widget(Paragraph::new(Line::from(spans)), bottom);
            return;
        } else if !self.filter.is_empty() {
            format!(" filter: {} · / change · Esc clears · ↑↓ move · Enter start · q quit", self.filter.value())
        } else {
            " / filter · ↑↓ j k move · Enter start · q quit".to_string()
        };
        f.render_widget(Paragraph::new(hint), bottom);
    }
}
