//! Turning a spanned YAML tree into typed records, collecting every problem on the way.
//!
//! One declaration (`record!`, `keyword!`) yields the struct, its decoder and its JSON
//! Schema, so what `lifeboat schema` promises editors is exactly what the loader accepts.

use serde_json::{Value as Json, json};

use super::diag::{Diag, Kind, suggest};
use super::time::{Duration, Timestamp, parse_timestamp};
use super::yaml::{Node, Sp, Span, Value};

/// Collects diagnostics while decoding and checking one file.
#[derive(Default)]
pub struct Cx {
    pub diags: Vec<Diag>,
}

impl Cx {
    pub fn push(&mut self, d: Diag) {
        self.diags.push(d);
    }

    pub fn wrong_type(&mut self, node: &Node, expected: &str) {
        let found = match &node.value {
            Value::Scalar { text, .. } if !node.is_null() => format!("`{}`", clip(text)),
            _ => node.kind_name().to_string(),
        };
        // Underline where the collection starts, not all of its lines.
        let span = match &node.value {
            Value::Map(entries) => entries.first().map_or(node.span, |(k, _)| k.span),
            Value::Seq(items) => items.first().map_or(node.span, |n| Span { end: n.span.start, ..node.span }),
            Value::Scalar { .. } => node.span,
        };
        self.push(Diag::new(Kind::WrongType { expected: expected.to_string(), found }, span));
    }

    /// The entries of a mapping, with duplicate keys reported (YAML parsers silently keep
    /// the last one, which in a runbook means a step quietly vanishes).
    pub fn mapping<'n>(&mut self, node: &'n Node, expected: &str) -> Option<&'n [(Node, Node)]> {
        match &node.value {
            Value::Map(entries) => {
                for (i, (k, _)) in entries.iter().enumerate() {
                    if let Some(key) = k.as_str()
                        && let Some((first, _)) = entries[..i].iter().find(|(p, _)| p.as_str() == Some(key))
                    {
                        self.push(
                            Diag::new(Kind::DuplicateKey(key.to_string()), k.span)
                                .label("written again here")
                                .help(format!("`{key}` is first written on line {}; keep one", first.span.line)),
                        );
                    }
                }
                Some(entries)
            }
            _ => {
                self.wrong_type(node, expected);
                None
            }
        }
    }

    pub fn key<'n>(&mut self, k: &'n Node) -> Option<&'n str> {
        match &k.value {
            Value::Scalar { text, .. } => Some(text),
            _ => {
                self.wrong_type(k, "a plain key");
                None
            }
        }
    }

    /// Reports an unknown key; returns the field it is probably a typo of, so that the
    /// same mistake is not reported a second time as a missing field.
    pub fn unknown_field(
        &mut self,
        key: &Node,
        field: &str,
        known: &[&'static str],
        within: &'static str,
    ) -> Option<&'static str> {
        let mut d = Diag::new(Kind::UnknownField { field: clip(field), within }, key.span);
        let typo = if field == "<<" { None } else { suggest(field, known.iter().copied()) };
        if field == "<<" {
            d = d.help("YAML merge keys (`<<`) are not supported; write the fields out");
        } else if let Some(s) = typo {
            d = d.label(format!("did you mean `{s}`?"));
        } else {
            d = d.help(format!("the fields of {within} are: {}", known.join(", ")));
        }
        self.push(d);
        typo
    }
}

pub fn clip(text: &str) -> String {
    let t: String = text.chars().take(40).collect();
    if t.len() < text.len() { format!("{t}…") } else { t }
}

/// A type that can be read from a YAML node; problems go to `cx`.
pub trait Decode: Sized {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self>;
    fn schema() -> Json;
}

impl Decode for String {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        match &node.value {
            Value::Scalar { text, .. } if !node.is_null() => Some(text.clone()),
            _ => {
                cx.wrong_type(node, "a string");
                None
            }
        }
    }
    fn schema() -> Json {
        json!({"type": "string"})
    }
}

impl Decode for bool {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        match node.as_str() {
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(t @ ("yes" | "no" | "on" | "off" | "y" | "n" | "True" | "False" | "TRUE" | "FALSE")) => {
                cx.push(
                    Diag::new(
                        Kind::WrongType { expected: "`true` or `false`".into(), found: format!("`{t}`") },
                        node.span,
                    )
                    .help("YAML 1.2 booleans are exactly `true` and `false`"),
                );
                None
            }
            _ => {
                cx.wrong_type(node, "`true` or `false`");
                None
            }
        }
    }
    fn schema() -> Json {
        json!({"type": "boolean"})
    }
}

impl Decode for u32 {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        match node.as_str().map(str::parse::<u32>) {
            Some(Ok(n)) => Some(n),
            _ => {
                cx.wrong_type(node, "a whole number");
                None
            }
        }
    }
    fn schema() -> Json {
        json!({"type": "integer", "minimum": 0})
    }
}

impl Decode for Duration {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let text = String::decode(node, cx)?;
        Duration::parse(&text)
            .map_err(|help| cx.push(Diag::new(Kind::BadDuration(clip(&text)), node.span).help(help)))
            .ok()
    }
    fn schema() -> Json {
        json!({"type": "string", "pattern": DURATION_PATTERN, "examples": ["90s", "15m", "2h", "1h30m", "3d"]})
    }
}

pub const DURATION_PATTERN: &str = "^([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?$";

impl Decode for Timestamp {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        let text = String::decode(node, cx)?;
        parse_timestamp(&text)
            .map_err(|help| cx.push(Diag::new(Kind::BadTimestamp(clip(&text)), node.span).help(help)))
            .ok()
    }
    fn schema() -> Json {
        json!({"type": "string", "format": "date-time"})
    }
}

impl<T: Decode> Decode for Sp<T> {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        T::decode(node, cx).map(|v| Sp::new(v, node.span))
    }
    fn schema() -> Json {
        T::schema()
    }
}

impl<T: Decode> Decode for Vec<T> {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        match &node.value {
            Value::Seq(items) => Some(items.iter().filter_map(|n| T::decode(n, cx)).collect()),
            _ if node.is_null() => Some(Vec::new()),
            _ => {
                cx.wrong_type(node, "a list");
                None
            }
        }
    }
    fn schema() -> Json {
        json!({"type": "array", "items": T::schema()})
    }
}

/// Any YAML, kept with its spans (action arguments are checked against the catalog later).
impl Decode for Node {
    fn decode(node: &Node, _cx: &mut Cx) -> Option<Self> {
        Some(node.clone())
    }
    fn schema() -> Json {
        json!({})
    }
}

/// A mapping from user-chosen names to values, in file order.
#[derive(Debug, Clone, Default)]
pub struct Map<T>(pub Vec<(Sp<String>, T)>);

impl<T> Map<T> {
    pub fn get(&self, key: &str) -> Option<&T> {
        self.0.iter().find(|(k, _)| k.value == key).map(|(_, v)| v)
    }
    pub fn keys(&self) -> impl Iterator<Item = &Sp<String>> {
        self.0.iter().map(|(k, _)| k)
    }
}

impl<T: Decode> Decode for Map<T> {
    fn decode(node: &Node, cx: &mut Cx) -> Option<Self> {
        if node.is_null() {
            return Some(Map(Vec::new()));
        }
        let entries = cx.mapping(node, "a mapping")?;
        let mut out = Vec::new();
        for (k, v) in entries {
            if let (Some(key), Some(val)) = (cx.key(k).map(str::to_string), T::decode(v, cx)) {
                out.push((Sp::new(key, k.span), val));
            }
        }
        Some(Map(out))
    }
    fn schema() -> Json {
        json!({"type": "object", "additionalProperties": T::schema()})
    }
}

/// Declares a record: a mapping with known fields, some required.
macro_rules! record {
    (
        $(#[doc = $doc:literal])*
        pub struct $name:ident ($what:literal) {
            $( $(#[doc = $fdoc:literal])* $key:literal $(($req:ident))? => $field:ident : $ty:ty, )*
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Default)]
        pub struct $name {
            $( $(#[doc = $fdoc])* pub $field: Option<$ty>, )*
            /// Where the whole record was written.
            pub span: $crate::runbook::yaml::Span,
        }

        impl $name {
            pub const FIELDS: &'static [&'static str] = &[$($key),*];
        }

        impl $crate::runbook::decode::Decode for $name {
            fn decode(node: &$crate::runbook::yaml::Node, cx: &mut $crate::runbook::decode::Cx) -> Option<Self> {
                let entries = cx.mapping(node, $what)?;
                let mut out = Self { span: node.span, ..Default::default() };
                let mut seen: Vec<&str> = Vec::new();
                for (k, v) in entries {
                    let Some(key) = cx.key(k) else { continue };
                    match key {
                        $( $key => {
                            seen.push($key);
                            if v.is_null() {
                                $( let _ = stringify!($req);
                                   cx.push($crate::runbook::diag::Diag::new(
                                       $crate::runbook::diag::Kind::MissingField { field: $key, within: $what }, k.span)
                                       .label("this field has no value"));
                                )?
                            } else {
                                out.$field = <$ty as $crate::runbook::decode::Decode>::decode(v, cx);
                            }
                        } )*
                        other => {
                            if let Some(typo_of) = cx.unknown_field(k, other, Self::FIELDS, $what) {
                                seen.push(typo_of);
                            }
                        }
                    }
                }
                $( $( let _ = stringify!($req);
                    if !seen.contains(&$key) {
                        cx.push($crate::runbook::diag::Diag::new(
                            $crate::runbook::diag::Kind::MissingField { field: $key, within: $what },
                            $crate::runbook::yaml::Span { end: node.span.start, ..node.span })
                            .help(concat!("add `", $key, ":` to ", $what)));
                    }
                )? )*
                Some(out)
            }

            fn schema() -> serde_json::Value {
                let mut props = serde_json::Map::new();
                $( {
                    let mut s = <$ty as $crate::runbook::decode::Decode>::schema();
                    let doc: &[&str] = &[$($fdoc),*];
                    if !doc.is_empty() {
                        s["description"] = doc.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ").into();
                    }
                    props.insert($key.to_string(), s);
                } )*
                let required: Vec<&str> = vec![$( $( { let _ = stringify!($req); $key }, )? )*];
                let doc: &[&str] = &[$($doc),*];
                serde_json::json!({
                    "type": "object",
                    "description": doc.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" "),
                    "properties": props,
                    "required": required,
                    "additionalProperties": false,
                })
            }
        }
    };
}

/// Declares a closed set of words (classification, scenario, …).
macro_rules! keyword {
    ($(#[doc = $doc:literal])* pub enum $name:ident ($what:literal) { $( $variant:ident = $text:literal, )* }) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $( $variant, )* }

        impl $name {
            pub const ALL: &'static [&'static str] = &[$($text),*];
            pub fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $text, )* }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::runbook::decode::Decode for $name {
            fn decode(node: &$crate::runbook::yaml::Node, cx: &mut $crate::runbook::decode::Cx) -> Option<Self> {
                let text = <String as $crate::runbook::decode::Decode>::decode(node, cx)?;
                match text.as_str() {
                    $( $text => Some($name::$variant), )*
                    other => {
                        let mut d = $crate::runbook::diag::Diag::new(
                            $crate::runbook::diag::Kind::BadKeyword { what: $what, text: $crate::runbook::decode::clip(other) }, node.span);
                        d = match $crate::runbook::diag::suggest(other, Self::ALL.iter().copied()) {
                            Some(s) => d.label(format!("did you mean `{s}`?")),
                            None => d.help(format!("one of: {}", Self::ALL.join(", "))),
                        };
                        cx.push(d);
                        None
                    }
                }
            }
            fn schema() -> serde_json::Value {
                serde_json::json!({"type": "string", "enum": Self::ALL})
            }
        }
    };
}

pub(crate) use {keyword, record};
