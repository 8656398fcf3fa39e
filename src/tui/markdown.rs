//! A step's Markdown instructions as terminal lines: headings, lists, code, links. Links
//! keep their address in view, since a terminal cannot always follow them.

use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::theme::Theme;

pub fn render(text: &str, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines: Vec<Line<'static>> = vec![];
    let mut cur: Vec<Span<'static>> = vec![];
    let mut style = Style::default();
    let mut stack: Vec<Style> = vec![];
    let mut lists: Vec<Option<u64>> = vec![];
    let mut link: Option<String> = None;
    let mut in_code = false;
    let flush = |cur: &mut Vec<Span<'static>>, lines: &mut Vec<Line<'static>>| {
        if !cur.is_empty() {
            lines.push(Line::from(std::mem::take(cur)));
        }
    };
    for ev in Parser::new(text) {
        match ev {
            Event::Start(tag) => {
                stack.push(style);
                match tag {
                    Tag::Heading { level, .. } => {
                        flush(&mut cur, &mut lines);
                        style = style.add_modifier(Modifier::BOLD);
                        if level == HeadingLevel::H1 {
                            style = style.add_modifier(Modifier::UNDERLINED);
                        }
                    }
                    Tag::Paragraph => flush(&mut cur, &mut lines),
                    Tag::Emphasis => style = style.add_modifier(Modifier::ITALIC),
                    Tag::Strong => style = style.add_modifier(Modifier::BOLD),
                    Tag::CodeBlock(_) => {
                        flush(&mut cur, &mut lines);
                        in_code = true;
                        style = theme.code();
                    }
                    Tag::List(start) => {
                        flush(&mut cur, &mut lines);
                        lists.push(start);
                    }
                    Tag::Item => {
                        flush(&mut cur, &mut lines);
                        let depth = lists.len().saturating_sub(1);
                        let bullet = match lists.last_mut() {
                            Some(Some(n)) => {
                                *n += 1;
                                format!("{}. ", *n - 1)
                            }
                            _ => "• ".to_string(),
                        };
                        cur.push(Span::raw(format!("{}{bullet}", "  ".repeat(depth))));
                    }
                    Tag::Link { dest_url, .. } => {
                        link = Some(dest_url.to_string());
                        style = style.add_modifier(Modifier::UNDERLINED);
                    }
                    _ => {}
                }
            }
            Event::End(tag) => {
                style = stack.pop().unwrap_or_default();
                match tag {
                    TagEnd::Heading(_) | TagEnd::Paragraph => {
                        flush(&mut cur, &mut lines);
                        lines.push(Line::default());
                    }
                    TagEnd::CodeBlock => {
                        in_code = false;
                        lines.push(Line::default());
                    }
                    TagEnd::List(_) => {
                        flush(&mut cur, &mut lines);
                        lists.pop();
                        if lists.is_empty() {
                            lines.push(Line::default());
                        }
                    }
                    TagEnd::Item => flush(&mut cur, &mut lines),
                    TagEnd::Link => {
                        if let Some(url) = link.take() {
                            cur.push(Span::styled(format!(" <{url}>"), theme.dim()));
                        }
                    }
                    _ => {}
                }
            }
            Event::Text(t) if in_code => {
                for l in t.lines() {
                    lines.push(Line::from(Span::styled(format!("  {l}"), style)));
                }
            }
            Event::Text(t) => cur.push(Span::styled(t.to_string(), style)),
            Event::Code(t) => cur.push(Span::styled(format!("`{t}`"), theme.code())),
            Event::SoftBreak => cur.push(Span::raw(" ")),
            Event::HardBreak => flush(&mut cur, &mut lines),
            _ => {}
        }
    }
    flush(&mut cur, &mut lines);
    while lines.last().is_some_and(|l| l.spans.is_empty()) {
        lines.pop();
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(lines: &[Line]) -> Vec<String> {
        lines.iter().map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect()).collect()
    }

    #[test]
    fn headings_lists_code_and_links_read_as_text() {
        let md = "# Stop the writers\nScale the **API** to zero.\n\n1. Open the [console](https://example.com/c)\n2. Run `kubectl scale`\n\n- one\n- two\n\n```\nkubectl get pods\n```\n";
        let out = plain(&render(md, &Theme { color: false }));
        assert_eq!(
            out,
            [
                "Stop the writers",
                "",
                "Scale the API to zero.",
                "",
                "1. Open the console <https://example.com/c>",
                "2. Run `kubectl scale`",
                "",
                "• one",
                "• two",
                "",
                "  kubectl get pods",
            ]
        );
    }

    #[test]
    fn a_soft_break_is_a_space_so_no_words_are_ever_joined() {
        let md = "We copied it\neverywhere it helps.\nWe restore from the vault,\nthen check `orders-docs-prod`\nthe plan: roll back.";
        let out = plain(&render(md, &Theme { color: false }));
        assert_eq!(
            out,
            [
                "We copied it everywhere it helps. We restore from the vault, then check `orders-docs-prod` the plan: roll back."
            ]
        );
        // And wrapped on a narrow pane, every word of the source is still a word on screen.
        let lines = render(md, &Theme { color: false });
        let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(24, 12)).unwrap();
        term.draw(|f| {
            f.render_widget(
                ratatui::widgets::Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: false }),
                f.area(),
            )
        })
        .unwrap();
        let buf = term.backend().buffer();
        let screen: Vec<String> = (0..buf.area.height)
            .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>())
            .collect();
        let words: Vec<&str> = screen.iter().flat_map(|l| l.split_whitespace()).collect();
        let source: Vec<&str> = md.split_whitespace().collect();
        assert_eq!(words, source, "{screen:#?}");
    }
}
