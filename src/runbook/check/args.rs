//! An action's `with:` against its parameters: names, types, required ones, nested
//! objects — and the JSON the engine will get.

use super::*;

pub(super) fn action(cx: &mut Cx, name: &Sp<String>, actions: ActionLookup) -> Option<&'static ActionSpec> {
    let found = actions(name);
    if found.is_none() {
        let all: Vec<&str> = crate::runbook::action_table::ACTIONS.iter().map(|a| a.name).collect();
        let mut d = Diag::new(Kind::UnknownAction(clip(name)), name.span);
        d = match suggest(name, all.iter().copied()) {
            Some(s) => d.label(format!("did you mean `{s}`?")),
            None => d.help(format!("actions are: {}", all.join(", "))),
        };
        cx.push(d);
    }
    found
}

/// Checks `with:` against the action's parameters and turns it into JSON for the engine.
pub(super) fn check_args(cx: &mut Cx, spec: &ActionSpec, with: Option<&Node>, action_span: Span) -> Json {
    let empty = Node { value: Value::Map(Vec::new()), span: action_span };
    let node = with.filter(|n| !n.is_null()).unwrap_or(&empty);
    let json = check_object(cx, spec.name, spec.params, node, action_span);
    if let Json::Object(map) = &json {
        for group in spec.one_of {
            let given: Vec<&&str> = group.iter().filter(|p| map.contains_key(**p)).collect();
            if given.len() != 1 {
                let names = group.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(" or ");
                let kind = if given.is_empty() {
                    Kind::MissingArg { action: spec.name.into(), arg: group.join("` or `") }
                } else {
                    Kind::UnknownArg { action: spec.name.into(), arg: group.join("` and `") }
                };
                cx.push(Diag::new(kind, node.span).help(format!("give exactly one of {names}")));
            }
        }
    }
    json
}

pub(super) fn check_object(cx: &mut Cx, action: &str, params: &[Param], node: &Node, blame: Span) -> Json {
    let Some(entries) = cx.mapping(node, "a mapping of arguments") else {
        return Json::Null;
    };
    let mut out = serde_json::Map::new();
    let mut typos = Vec::new();
    for (k, v) in entries {
        let Some(key) = cx.key(k) else { continue };
        let Some(param) = params.iter().find(|p| p.name == key) else {
            let mut d = Diag::new(Kind::UnknownArg { action: action.into(), arg: clip(key) }, k.span);
            d = match suggest(key, params.iter().map(|p| p.name)) {
                Some(s) => {
                    typos.push(s);
                    d.label(format!("did you mean `{s}`?"))
                }
                None => d.help(format!(
                    "`{action}` takes: {}",
                    params.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
                )),
            };
            cx.push(d);
            continue;
        };
        out.insert(key.to_string(), check_arg(cx, action, param, v));
    }
    for p in params.iter().filter(|p| p.required && !typos.contains(&p.name)) {
        if !out.contains_key(p.name) {
            let at = if node.span.start == node.span.end { blame } else { Span { end: node.span.start, ..node.span } };
            cx.push(
                Diag::new(Kind::MissingArg { action: action.into(), arg: p.name.into() }, at)
                    .help(format!("`{}`: {}", p.name, p.doc)),
            );
        }
    }
    Json::Object(out)
}

pub(super) fn check_arg(cx: &mut Cx, action: &str, p: &Param, v: &Node) -> Json {
    if let ParamType::Object(inner) = p.ty {
        return check_object(cx, action, inner, v, v.span);
    }
    let Some(t) = v.as_str().filter(|_| !v.is_null()) else {
        cx.push(
            Diag::new(Kind::WrongType { expected: p.ty.describe().into(), found: v.kind_name().into() }, v.span)
                .label(format!("`{}` of `{action}`", p.name)),
        );
        return Json::Null;
    };
    if t.contains("${{") {
        return Json::String(t.to_string());
    }
    let bad = |cx: &mut Cx, kind: Kind, help: String| {
        cx.push(Diag::new(kind, v.span).label(format!("`{}` of `{action}`", p.name)).help(help));
        Json::Null
    };
    match p.ty {
        ParamType::String => Json::String(t.to_string()),
        ParamType::Timestamp => match parse_timestamp(t) {
            Ok(_) => Json::String(t.to_string()),
            Err(h) => bad(cx, Kind::BadTimestamp(clip(t)), h),
        },
        ParamType::Duration => match Duration::parse(t) {
            Ok(_) => Json::String(t.to_string()),
            Err(h) => bad(cx, Kind::BadDuration(clip(t)), h),
        },
        ParamType::Bool => match t {
            "true" => Json::Bool(true),
            "false" => Json::Bool(false),
            "yes" | "no" | "on" | "off" | "y" | "n" | "True" | "False" => bad(
                cx,
                Kind::WrongType { expected: "`true` or `false`".into(), found: format!("`{t}`") },
                "YAML 1.2 booleans are exactly `true` and `false`".into(),
            ),
            _ => bad(
                cx,
                Kind::WrongType { expected: "`true` or `false`".into(), found: format!("`{}`", clip(t)) },
                p.doc.to_string(),
            ),
        },
        ParamType::Int => match t.parse::<i64>() {
            Ok(n) => Json::from(n),
            Err(_) => bad(
                cx,
                Kind::WrongType { expected: "a whole number".into(), found: format!("`{}`", clip(t)) },
                p.doc.to_string(),
            ),
        },
        ParamType::Object(_) => unreachable!("handled above"),
    }
}
