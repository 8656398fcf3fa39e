//! A YAML tree that remembers where every value came from.
//!
//! serde stops at the first error and forgets positions; a DR runbook deserves every
//! mistake reported at once with its line and column, so we build our own small tree
//! from the parser's events and convert it by hand (see `decode`).

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError};

/// A byte range in the source plus the human position of its start (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub line: u32,
    pub col: u32,
}

impl Span {
    pub fn point(start: usize, line: u32, col: u32) -> Self {
        Span { start, end: start, line, col }
    }
}

/// A value and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Sp<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Sp<T> {
    pub fn new(value: T, span: Span) -> Self {
        Sp { value, span }
    }
}

impl<T> std::ops::Deref for Sp<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar keeps its text: types are decided by the field that reads it, so an
    /// account id like `012345678901` is never mangled into a number.
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
}

impl Node {
    /// `null`, `~` or nothing at all, written without quotes.
    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar { text, plain: true } if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    pub fn kind_name(&self) -> &'static str {
        match &self.value {
            _ if self.is_null() => "nothing (null)",
            Value::Scalar { .. } => "a scalar",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Why a file could not be read as one YAML document.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub message: String,
    pub span: Span,
    pub help: Option<String>,
}

/// Aliases can multiply a small file into billions of nodes; refuse long before that.
const MAX_NODES: usize = 1_000_000;
/// Deep nesting is never a runbook; it is a mistake or an attack on the stack.
const MAX_DEPTH: usize = 64;

enum Frame {
    Seq { items: Vec<Node>, span: Span, anchor: usize },
    Map { entries: Vec<(Node, Node)>, key: Option<Node>, span: Span, anchor: usize },
}

/// Maps the parser's character indexes to byte offsets (identity for ASCII files).
struct Offsets {
    table: Option<Vec<usize>>,
    len: usize,
}

impl Offsets {
    fn new(src: &str) -> Self {
        let table = (!src.is_ascii()).then(|| src.char_indices().map(|(b, _)| b).collect());
        Offsets { table, len: src.len() }
    }
    fn byte(&self, char_index: usize) -> usize {
        match &self.table {
            None => char_index.min(self.len),
            Some(t) => t.get(char_index).copied().unwrap_or(self.len),
        }
    }
    fn span(&self, s: &saphyr_parser::Span) -> Span {
        let start = self.byte(s.start.index());
        let end = self.byte(s.end.index()).max(start);
        Span { start, end, line: s.start.line() as u32, col: s.start.col() as u32 + 1 }
    }
}

/// Parses exactly one YAML document. `Ok(None)` is an empty file (or only comments).
pub fn parse(src: &str) -> Result<Option<Node>, SyntaxError> {
    let offsets = Offsets::new(src);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, (Node, usize)> = HashMap::new();
    let mut root: Option<Node> = None;
    let mut docs = 0usize;
    let mut nodes = 0usize;

    for item in Parser::new_from_str(src) {
        let (event, raw_span) = item.map_err(|e| scan_error(src, &offsets, &e))?;
        let span = offsets.span(&raw_span);
        let node = match event {
            Event::DocumentStart(_) => {
                docs += 1;
                if docs > 1 {
                    return Err(SyntaxError {
                        message: "a second YAML document starts here".into(),
                        span,
                        help: Some("a lifeboat file holds one document: remove the `---` or split the file".into()),
                    });
                }
                continue;
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => continue,
            Event::Scalar(text, style, anchor, _tag) => {
                nodes += 1;
                let node =
                    Node { value: Value::Scalar { text: text.into_owned(), plain: style == ScalarStyle::Plain }, span };
                if anchor > 0 {
                    anchors.insert(anchor, (node.clone(), 1));
                }
                node
            }
            Event::Alias(id) => {
                let Some((node, size)) = anchors.get(&id) else {
                    return Err(SyntaxError { message: "alias to an unknown anchor".into(), span, help: None });
                };
                nodes += size;
                if nodes > MAX_NODES {
                    return Err(SyntaxError {
                        message: "aliases expand this file to over a million values".into(),
                        span,
                        help: Some("a runbook never needs this many; remove the nested aliases".into()),
                    });
                }
                Node { value: node.value.clone(), span }
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                nodes += 1;
                if stack.len() >= MAX_DEPTH {
                    return Err(SyntaxError {
                        message: format!("values nested more than {MAX_DEPTH} levels deep"),
                        span,
                        help: Some("a runbook is a few levels deep; check the indentation or brackets".into()),
                    });
                }
                stack.push(if matches!(event, Event::SequenceStart(..)) {
                    Frame::Seq { items: Vec::new(), span, anchor }
                } else {
                    Frame::Map { entries: Vec::new(), key: None, span, anchor }
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (value, mut start, anchor) = match stack.pop() {
                    Some(Frame::Seq { items, span, anchor }) => (Value::Seq(items), span, anchor),
                    Some(Frame::Map { entries, span, anchor, .. }) => (Value::Map(entries), span, anchor),
                    None => continue,
                };
                // A flow collection ends at its bracket; a block one at its last value
                // (its end event sits on the next line, which would smear the underline).
                let last_child = match &value {
                    Value::Seq(items) => items.last().map(|n| n.span.end),
                    Value::Map(entries) => entries.last().map(|(_, v)| v.span.end),
                    Value::Scalar { .. } => None,
                };
                start.end = if matches!(src.as_bytes().get(span.start), Some(b']' | b'}')) {
                    span.end
                } else {
                    last_child.unwrap_or(start.start)
                }
                .max(start.start);
                let node = Node { value, span: start };
                if anchor > 0 {
                    anchors.insert(anchor, (node.clone(), count(&node)));
                }
                node
            }
        };
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
        }
    }
    Ok(root.filter(|n| !(n.is_null() && n.span.start == n.span.end)))
}

fn count(node: &Node) -> usize {
    match &node.value {
        Value::Scalar { .. } => 1,
        Value::Seq(items) => 1 + items.iter().map(count).sum::<usize>(),
        Value::Map(entries) => 1 + entries.iter().map(|(k, v)| count(k) + count(v)).sum::<usize>(),
    }
}

fn scan_error(src: &str, offsets: &Offsets, e: &ScanError) -> SyntaxError {
    let m = e.marker();
    let start = offsets.byte(m.index());
    let mut span = Span::point(start, m.line() as u32, m.col() as u32 + 1);
    // The scanner reports a tab where the scalar before it began: point at the tab.
    if e.info().contains("tab")
        && let Some(off) = src.get(start..).and_then(|rest| rest.find('\t'))
    {
        let at = start + off;
        let line = src[..at].matches('\n').count() as u32 + 1;
        let col = src[..at].rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1;
        span = Span::point(at, line, col);
    }
    let line_text = src.lines().nth((m.line().max(1)) - 1).unwrap_or("");
    let info = e.info();
    let help = if line_text.trim_end().starts_with([' ', '\t']) && line_text.contains('\t') || info.contains("tab") {
        Some("YAML indentation must use spaces, not tabs: replace the tab with spaces".to_string())
    } else if info.contains("mapping values are not allowed") {
        Some("a value containing `: ` must be quoted, or a key is indented wrongly".to_string())
    } else if info.contains("did not find expected") || info.contains("unclosed") {
        Some("check for an unclosed quote or bracket on this line or the lines above".to_string())
    } else {
        Some("check this line and the ones above for a wrong indentation or an unclosed quote or bracket".to_string())
    };
    SyntaxError { message: format!("invalid YAML: {info}"), span, help }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_point_at_values() {
        let src = "a: 1\nb:\n  - x\n  - \"yé\"\nc: {d: true}\n";
        let root = parse(src).unwrap().unwrap();
        let b = root.get("b").unwrap();
        let Value::Seq(items) = &b.value else { panic!("not a seq") };
        assert_eq!((items[1].span.line, items[1].span.col), (4, 5));
        assert_eq!(&src[items[1].span.start..items[1].span.end], "\"yé\"");
        let d = root.get("c").unwrap().get("d").unwrap();
        assert_eq!((d.span.line, d.span.col, d.as_str()), (5, 8, Some("true")));
        assert_eq!(&src[d.span.start..d.span.end], "true");
    }

    #[test]
    fn empty_and_comment_only_files_have_no_document() {
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse("# only a comment\n").unwrap(), None);
    }

    #[test]
    fn second_document_is_refused() {
        let e = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!(e.span.line, 2);
    }

    #[test]
    fn deep_nesting_is_refused_without_recursion() {
        let src = "[".repeat(10_000);
        let e = parse(&src).unwrap_err();
        assert!(e.message.contains("nested") || e.message.contains("recursion"), "{e:?}");
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut src = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let p = i - 1;
            src += &format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n");
        }
        assert!(parse(&src).unwrap_err().message.contains("aliases"));
    }
}
