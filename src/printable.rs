//! Text from outside (command output, reasons typed by people, object keys an attacker
//! chose) shown on a terminal or in a report: control characters never reach a
//! terminal raw (an `ESC ]` could retitle the window, `ESC [2J` wipe the screen), and a
//! line break never splits a one-line field or a Markdown table row.

use std::borrow::Cow;

/// One line: control characters as visible pictures (`␛`, `␇`), a line break as `⏎`.
pub fn line(s: &str) -> Cow<'_, str> {
    clean(s, false)
}

/// Several lines: line breaks and tabs kept, every other control character visible.
pub fn block(s: &str) -> Cow<'_, str> {
    clean(s, true)
}

/// A Markdown table cell: one line, `|` escaped.
pub fn cell(s: &str) -> String {
    line(s).replace('|', "\\|")
}

fn clean(s: &str, keep_breaks: bool) -> Cow<'_, str> {
    let bad = |c: char| c.is_control() && !(keep_breaks && (c == '\n' || c == '\t'));
    if !s.chars().any(bad) {
        return Cow::Borrowed(s);
    }
    s.chars()
        .map(|c| match c {
            _ if !bad(c) => c,
            '\n' => '⏎',
            '\t' => ' ',
            '\u{7f}' => '␡',
            // C0 controls have pictures at U+2400 + code.
            c if (c as u32) < 0x20 => char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}'),
            _ => '\u{fffd}', // C1 controls (U+0080–U+009F)
        })
        .collect::<String>()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_breaks_become_visible() {
        assert_eq!(line("\u{1b}]0;owned\u{7}\u{1b}[2J"), "␛]0;owned␇␛[2J");
        assert_eq!(line("a\nb\r"), "a⏎b␍");
        assert_eq!(block("a\n\tb\u{9b}c"), "a\n\tb\u{fffd}c");
        assert_eq!(cell("x | y\nz"), "x \\| y⏎z");
        assert!(matches!(line("plain text, ünïcode ✓"), Cow::Borrowed(_)));
    }
}
