//! Keybindings are data: one table of actions, keys and words, from which the help overlay
//! and the status line are made, so what the screen says is what the keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    Enter,
    Tick,
    ItemPrev,
    ItemNext,
    Skip,
    Fail,
    Retry,
    Approve,
    Deny,
    Note,
    HandOff,
    View,
    Search,
    StepEvents,
    Top,
    Bottom,
    Back,
    Abort,
    Pane,
    Help,
    Quit,
}

impl Action {
    /// The key speaks for the operator (answers, changes or ends the run): refused when watching.
    pub fn answers(self) -> bool {
        matches!(
            self,
            Action::Enter
                | Action::Tick
                | Action::Skip
                | Action::Fail
                | Action::Retry
                | Action::Approve
                | Action::Deny
                | Action::Note
                | Action::HandOff
                | Action::Abort
        )
    }
}

pub struct Binding {
    pub action: Action,
    pub keys: &'static str,
    pub says: &'static str,
    /// The word on the status line; empty: only in `?`.
    pub short: &'static str,
}

const fn b(action: Action, keys: &'static str, says: &'static str, short: &'static str) -> Binding {
    Binding { action, keys, says, short }
}

pub const KEYS: &[Binding] = &[
    b(Action::Up, "↑ k", "move up (steps), scroll (detail, log)", ""),
    b(Action::Down, "↓ j", "move down (steps), scroll (detail, log)", ""),
    b(Action::PageUp, "PgUp", "scroll the event log back", ""),
    b(Action::PageDown, "PgDn", "scroll the event log forward", ""),
    b(Action::Enter, "Enter", "confirm / act on the selected step", "act"),
    b(Action::Tick, "Space", "tick or untick the checklist item marked ▸ (recorded)", "tick"),
    b(Action::ItemPrev, "[", "mark the checklist item above", ""),
    b(Action::ItemNext, "]", "mark the checklist item below", ""),
    b(Action::Skip, "s", "skip the step (asks for a reason)", "skip"),
    b(Action::Fail, "f", "fail the step (asks for a reason)", "fail"),
    b(Action::Retry, "r", "retry a failed step", ""),
    b(Action::Approve, "a", "approve (asks who and in what role)", "approve"),
    b(Action::Deny, "d", "deny an approval (asks why)", ""),
    b(Action::Note, "n", "add a note to the incident log", "note"),
    b(Action::HandOff, "o", "hand the run to another operator (asks the name)", ""),
    b(Action::View, "v", "the selected step's whole output, full screen (/ searches it)", "output"),
    b(Action::Search, "/", "search the event log (only lines that match are shown)", ""),
    b(Action::StepEvents, "e", "the event log: only the selected step's events, or all again", ""),
    b(Action::Top, "g", "to the top of the focused pane (steps, detail, log)", ""),
    b(Action::Bottom, "G", "to the end of the focused pane (the log follows again)", ""),
    b(Action::Abort, "x", "abort the run (asks twice)", "abort"),
    b(Action::Back, "Esc", "back one level: clears the event log's filter", ""),
    b(Action::Pane, "Tab", "next pane: steps, detail, log", ""),
    b(Action::Help, "?", "this help", "help"),
    b(Action::Quit, "q", "leave; the log is kept and the run can be resumed", "leave"),
];

pub fn action_for(k: &KeyEvent) -> Option<Action> {
    if k.modifiers.contains(KeyModifiers::CONTROL) {
        // Ctrl-C in raw mode is a key: leave safely, as `q` does.
        return matches!(k.code, KeyCode::Char('c')).then_some(Action::Quit);
    }
    Some(match k.code {
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::Enter => Action::Enter,
        KeyCode::Char(' ') => Action::Tick,
        KeyCode::Char('[') => Action::ItemPrev,
        KeyCode::Char(']') => Action::ItemNext,
        KeyCode::Char('s') => Action::Skip,
        KeyCode::Char('f') => Action::Fail,
        KeyCode::Char('r') => Action::Retry,
        KeyCode::Char('a') => Action::Approve,
        KeyCode::Char('d') => Action::Deny,
        KeyCode::Char('n') => Action::Note,
        KeyCode::Char('o') => Action::HandOff,
        KeyCode::Char('v') => Action::View,
        KeyCode::Char('/') => Action::Search,
        KeyCode::Char('e') => Action::StepEvents,
        KeyCode::Char('g') | KeyCode::Home => Action::Top,
        KeyCode::Char('G') | KeyCode::End => Action::Bottom,
        KeyCode::Char('x') => Action::Abort,
        KeyCode::Tab => Action::Pane,
        KeyCode::Esc => Action::Back,
        KeyCode::Char('?') => Action::Help,
        KeyCode::Char('q') => Action::Quit,
        _ => return None,
    })
}

/// The status line's key hints (when watching, only keys that do not answer).
pub fn hints(watching: bool) -> String {
    KEYS.iter()
        .filter(|k| !k.short.is_empty())
        .filter(|k| !watching || !k.action.answers())
        .map(|k| format!("{} {}", k.keys, k.short))
        .collect::<Vec<_>>()
        .join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every action in the table is reachable by the key the table names.
    #[test]
    fn the_table_says_what_the_keys_do() {
        for b in KEYS {
            let first = b.keys.split(' ').next().unwrap();
            let code = match first {
                "↑" => KeyCode::Up,
                "↓" => KeyCode::Down,
                "PgUp" => KeyCode::PageUp,
                "PgDn" => KeyCode::PageDown,
                "Enter" => KeyCode::Enter,
                "Space" => KeyCode::Char(' '),
                "Tab" => KeyCode::Tab,
                "Esc" => KeyCode::Esc,
                s => KeyCode::Char(s.chars().next().unwrap()),
            };
            assert_eq!(action_for(&KeyEvent::new(code, KeyModifiers::NONE)), Some(b.action), "{}", b.keys);
        }
    }
}
