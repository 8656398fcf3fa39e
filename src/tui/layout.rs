//! Where things go on a screen, from plain sizes and counts: the run screen's regions
//! (shared by drawing and the mouse, so a click lands where the drawing put a thing),
//! boxes in the middle, and text fitted to a width. It knows no screen's state.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;

/// Where each part of the run screen is, for drawing and for the mouse alike.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Regions {
    pub top: Rect,
    pub banner: Rect,
    pub objectives: Rect,
    pub tree: Rect,
    pub detail: Rect,
    pub log: Rect,
    pub status: Rect,
}

/// The run screen in `area`: `banner` when a line says it is a rehearsal or a watch;
/// `phases` rows in the objectives box when the screen is tall enough for them.
pub fn regions(area: Rect, banner: bool, phases: usize) -> Regions {
    let tall = area.height >= 32;
    let [top, banner, objectives, main, log, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(if banner { 1 } else { 0 }),
        // Tall: the border, the gauge, the RPO, then a row per phase (up to six).
        Constraint::Length(if tall { 4 + phases.min(6) as u16 } else { 4 }),
        Constraint::Min(6),
        Constraint::Length(if tall { 10 } else { 5 }),
        Constraint::Length(1),
    ])
    .areas(area);
    let tree_width = if area.width >= 120 {
        44
    } else if area.width >= 100 {
        36
    } else {
        30
    };
    let [tree, detail] = Layout::horizontal([Constraint::Length(tree_width), Constraint::Min(20)]).areas(main);
    Regions { top, banner, objectives, tree, detail, log, status }
}

/// The first row a list shows: the selected row is always on screen (the same rule for
/// drawing and for clicks, so a click lands on the step it is on).
pub fn tree_offset(selected_row: usize, height: usize) -> usize {
    (selected_row + 1).saturating_sub(height.max(1))
}

/// Free text as screen lines, a line each: a line break inside one `Line` is drawn as
/// nothing, and the words either side ran together (`a⏎serializer` read `aserializer`).
pub fn text_lines(text: &str, style: Style) -> Vec<Line<'static>> {
    text.lines().map(|l| Line::styled(l.to_string(), style)).collect()
}

/// Words into lines of at most `width` columns, never breaking a word unless it alone
/// is wider (then it is cut there).
pub fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let mut out = vec![];
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || out.is_empty() {
        out.push(line);
    }
    out
}

/// ` a · b · c`: the leading pieces that fit in `width` columns, whole.
pub fn fit_pieces(pieces: &[String], width: usize) -> String {
    let mut out = String::new();
    for p in pieces {
        let next = if out.is_empty() { format!(" {p}") } else { format!("{out} · {p}") };
        if next.chars().count() > width {
            break;
        }
        out = next;
    }
    out
}

/// A box in the middle of `area`, at most `w`×`h`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h }
}
