//! The home screen: the folder's runbooks by dataset, a filter, and a preview.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState, Wrap};

use super::field::TextField;
use super::theme::Theme;
use crate::format::human_ms;
use crate::shelf::ShelfEntry;

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

/// `text` cut to `room` characters with `…` marking the cut, so a cut is never mistaken
/// for a whole name.
fn ellipsis(text: &str, room: usize) -> String {
    if text.chars().count() <= room {
        return text.to_string();
    }
    text.chars().take(room.saturating_sub(1)).chain(['…']).collect()
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
        // Side by side only where the table keeps every column; below, the preview sits under it.
        let wide = main.width >= 160;
        let [list_area, preview_area] = if wide {
            Layout::horizontal([Constraint::Percentage(64), Constraint::Percentage(36)]).areas(main)
        } else {
            Layout::vertical([Constraint::Min(5), Constraint::Length(main.height / 3)]).areas(main)
        };
        let visible = self.visible();
        // The last drill is a column where there is room (the preview says it always).
        let roomy = list_area.width >= 100;
        // The fixed columns (failure, RTO, RPO, phases/steps, last drill where there is
        // room); the runbook's id takes the rest: the borders, each fixed column with the
        // gap before it, and one spare column come off.
        let mut names = vec!["runbook", "failure", "RTO", "RPO", "phases/steps"];
        let mut fixed: Vec<u16> = vec![13, 5, 5, 12];
        if roomy {
            names.push("last drill");
            fixed.push(28);
        }
        let id_room = (list_area.width as usize)
            .saturating_sub(2 + fixed.iter().map(|w| *w as usize).sum::<usize>() + fixed.len() + 1);
        let mut rows = vec![];
        let mut sel = None;
        let mut last = None;
        for (n, &i) in visible.iter().enumerate() {
            let e = &self.entries[i];
            let Some(rb) = &e.runbook else {
                if n == self.selected {
                    sel = Some(rows.len());
                }
                rows.push(
                    Row::new(vec![
                        Cell::from(format!("✗ {}", e.path.display())),
                        // Fits the column at any width; the pane beside says why.
                        Cell::from("not valid"),
                    ])
                    .style(theme.bad()),
                );
                continue;
            };
            if last.as_ref() != Some(&rb.dataset) {
                last = Some(rb.dataset.clone());
                rows.push(Row::new(vec![Cell::from(rb.dataset.clone())]).style(theme.title()));
            }
            if n == self.selected {
                sel = Some(rows.len());
            }
            let drill = if e.overdue { format!("{} OVERDUE", e.last_drill) } else { e.last_drill.clone() };
            rows.push(Row::new(vec![
                Cell::from(format!("  {}", ellipsis(&rb.id, id_room.saturating_sub(2)))),
                Cell::from(rb.scenario.to_string()),
                Cell::from(rb.objectives.rto.to_string()),
                Cell::from(rb.objectives.rpo.to_string()),
                Cell::from(format!("{:>2} / {}", rb.phases.len(), rb.steps().count())),
                Cell::from(Span::styled(drill, if e.overdue { theme.warn() } else { theme.dim() })),
            ]));
        }
        if visible.is_empty() {
            rows.push(Row::new(vec![Cell::from("  nothing matches the filter")]));
        }
        let widths: Vec<Constraint> =
            std::iter::once(Constraint::Min(18)).chain(fixed.iter().map(|w| Constraint::Length(*w))).collect();
        let header = Row::new(names).style(theme.dim().add_modifier(ratatui::style::Modifier::UNDERLINED));
        let mut state = TableState::default().with_selected(sel);
        f.render_stateful_widget(
            Table::new(rows, widths)
                .header(header)
                .column_spacing(1)
                .block(Block::bordered().title("runbooks"))
                .row_highlight_style(theme.selected()),
            list_area,
            &mut state,
        );
        let mut lines = vec![];
        let chosen = visible.get(self.selected).map(|&i| &self.entries[i]);
        if let Some(problem) = chosen.and_then(|e| e.problem.as_ref()) {
            lines.push(Line::styled("not a valid runbook (`lifeboat validate` lists every problem):", theme.bad()));
            lines.extend(super::layout::text_lines(problem, ratatui::style::Style::default()));
        }
        if let Some((e, rb)) = chosen.and_then(|e| e.runbook.as_ref().map(|r| (e, r))) {
            lines.push(Line::styled(rb.title.clone(), theme.title()));
            lines.push(Line::styled(
                format!("last drill: {}{}", e.last_drill, if e.overdue { " — OVERDUE" } else { "" }),
                if e.overdue { theme.warn() } else { theme.dim() },
            ));
            // The history's p90 beside the RTO it is held to (`lifeboat forecast`).
            if let Some(p90) = e.p90_ms {
                let rto = rb.objectives.rto.secs() * 1000;
                lines.push(Line::styled(
                    format!(
                        "p90 in its trusted history: {} of the {} RTO{}",
                        crate::format::human_ms(p90),
                        crate::format::human_ms(rto),
                        if p90 > rto { " — OVER" } else { "" }
                    ),
                    if p90 > rto { theme.warn() } else { theme.dim() },
                ));
            }
            if let Some(d) = &rb.description {
                // Prose: the YAML block's line breaks are where the author's editor
                // wrapped, so the words flow again (with their spaces) in the pane.
                lines.push(Line::from(d.split_whitespace().collect::<Vec<_>>().join(" ")));
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
