//! One-line text fields in readline's habits — ←/→, Home/End, Ctrl-A/E/B/F, Ctrl-U/W/K/Y,
//! Alt-B/F, Delete, paste — edited by the maintained `tui-input` crate. This module only
//! adapts it to lifeboat's rules: a control key never types its letter, and a paste
//! never brings a line break or a control character into a field (what is typed here
//! goes into the incident log).

use crossterm::event::{Event, KeyEvent};
use ratatui::style::{Modifier, Style};
use ratatui::text::Span;
use tui_input::backend::crossterm::to_input_request;
use tui_input::{Input, InputRequest};
use unicode_width::UnicodeWidthChar;

#[derive(Debug, Clone, Default)]
pub struct TextField(Input);

impl PartialEq for TextField {
    fn eq(&self, other: &Self) -> bool {
        self.0.value() == other.0.value() && self.0.cursor() == other.0.cursor()
    }
}

impl Eq for TextField {}

impl From<&str> for TextField {
    fn from(s: &str) -> Self {
        TextField(Input::new(s.to_string()))
    }
}

impl TextField {
    pub fn value(&self) -> &str {
        self.0.value()
    }

    /// Where the cursor is, in characters from the start.
    pub fn cursor(&self) -> usize {
        self.0.cursor()
    }

    pub fn is_empty(&self) -> bool {
        self.0.value().is_empty()
    }

    /// One key; whether it was for the field (keys it does not edit with — Enter, Tab,
    /// ↑/↓, Esc — are left to the screen).
    pub fn key(&mut self, k: &KeyEvent) -> bool {
        match to_input_request(&Event::Key(*k)) {
            Some(InputRequest::InsertChar(c)) if c.is_control() => false,
            // Ctrl+Alt+letter types the letter in tui-input (AltGr on some keyboards);
            // here a chord with Ctrl never types.
            Some(InputRequest::InsertChar(_)) if k.modifiers.contains(crossterm::event::KeyModifiers::CONTROL) => false,
            Some(req) => {
                self.0.handle(req);
                true
            }
            None => false,
        }
    }

    /// Pasted text at the cursor: line breaks and tabs become spaces, other control
    /// characters are dropped (an escape sequence never reaches the log or the screen).
    pub fn paste(&mut self, text: &str) {
        let mut last_space = false;
        for c in text.chars() {
            let c = if matches!(c, '\n' | '\r' | '\t') { ' ' } else { c };
            if c.is_control() || (c == ' ' && last_space && text.contains(['\n', '\r'])) {
                continue;
            }
            last_space = c == ' ';
            self.0.handle(InputRequest::InsertChar(c));
        }
    }

    /// The field as spans within `width` columns: the text before the cursor, the
    /// cursor cell (reversed), the text after; scrolled so the cursor stays in view.
    /// `mask` shows each character as `•` (a secret is never drawn).
    pub fn spans(&self, width: usize, mask: bool, style: Style, focused: bool) -> Vec<Span<'static>> {
        let shown: Vec<char> =
            if mask { vec!['•'; self.0.value().chars().count()] } else { self.0.value().chars().collect() };
        let at = self.0.cursor().min(shown.len());
        let width = width.max(2);
        let w = |c: &char| c.width().unwrap_or(0);
        // Columns before the cursor that fit, leaving one for the cursor itself.
        let mut start = at;
        let mut used = 0;
        while start > 0 && used + w(&shown[start - 1]) < width {
            start -= 1;
            used += w(&shown[start]);
        }
        let before: String = shown[start..at].iter().collect();
        if !focused {
            let mut rest = String::new();
            let mut cols = used;
            for c in &shown[at..] {
                cols += w(c);
                if cols > width {
                    break;
                }
                rest.push(*c);
            }
            return vec![Span::styled(before + &rest, style)];
        }
        let cursor = shown.get(at).map_or(" ".to_string(), char::to_string);
        used += cursor.chars().map(|c| w(&c)).sum::<usize>();
        let mut after = String::new();
        for c in shown.iter().skip(at + 1) {
            used += w(c);
            if used > width {
                break;
            }
            after.push(*c);
        }
        vec![
            Span::styled(before, style),
            Span::styled(cursor, style.add_modifier(Modifier::REVERSED)),
            Span::styled(after, style),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyModifiers};

    fn typed(keys: &[(KeyCode, KeyModifiers)]) -> TextField {
        let mut f = TextField::default();
        for (code, m) in keys {
            f.key(&KeyEvent::new(*code, *m));
        }
        f
    }

    fn chars(s: &str) -> Vec<(KeyCode, KeyModifiers)> {
        s.chars().map(|c| (KeyCode::Char(c), KeyModifiers::NONE)).collect()
    }

    #[test]
    fn editing_keys_move_and_cut_as_readline_does() {
        let ctrl = |c| (KeyCode::Char(c), KeyModifiers::CONTROL);
        let none = |k| (k, KeyModifiers::NONE);
        let mut keys = chars("world");
        keys.extend([none(KeyCode::Home)]);
        keys.extend(chars("hello "));
        assert_eq!(typed(&keys).value(), "hello world", "Home moves to the start");
        keys.extend([ctrl('k')]);
        assert_eq!(typed(&keys).value(), "hello ", "Ctrl-K cuts to the end");
        keys.extend([ctrl('a'), none(KeyCode::Right), none(KeyCode::Delete)]);
        assert_eq!(typed(&keys).value(), "hllo ");
        keys.extend([ctrl('e'), none(KeyCode::Left), none(KeyCode::Backspace)]);
        assert_eq!(typed(&keys).value(), "hll ");
        keys.extend([none(KeyCode::End)]);
        keys.extend(chars("x y"));
        keys.extend([ctrl('w')]);
        assert_eq!(typed(&keys).value(), "hll x ");
        keys.extend([ctrl('u')]);
        assert_eq!(typed(&keys).value(), "");
        keys.extend([ctrl('x'), ctrl('c'), (KeyCode::Char('q'), KeyModifiers::CONTROL | KeyModifiers::ALT)]);
        assert_eq!(typed(&keys).value(), "", "a control chord never types its letter");
        let mut f = TextField::default();
        assert!(!f.key(&KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)), "Enter is the screen's");
        assert!(!f.key(&KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE)));
        assert!(!f.key(&KeyEvent::new(KeyCode::Up, KeyModifiers::NONE)));
    }

    #[test]
    fn a_paste_goes_in_at_the_cursor_without_line_breaks_or_control_characters() {
        let mut f = TextField::from("ab");
        f.key(&KeyEvent::new(KeyCode::Left, KeyModifiers::NONE));
        f.paste("1\r\n2\t3\u{1b}[31m");
        assert_eq!(f.value(), "a1 2 3[31mb");
    }

    #[test]
    fn a_long_value_scrolls_to_keep_the_cursor_in_view_and_a_secret_is_never_drawn() {
        let mut f = TextField::from("abcdefghij");
        let text = |f: &TextField, mask| {
            f.spans(5, mask, Style::default(), true).iter().map(|s| s.content.to_string()).collect::<Vec<_>>()
        };
        assert_eq!(text(&f, false), ["ghij", " ", ""], "the end in view, the cursor after it");
        f.key(&KeyEvent::new(KeyCode::Home, KeyModifiers::NONE));
        assert_eq!(text(&f, false), ["", "a", "bcde"]);
        assert_eq!(text(&f, true), ["", "•", "••••"]);
    }
}
