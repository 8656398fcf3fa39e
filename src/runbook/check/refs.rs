//! What `${{ }}` expressions may refer to where they are written, and the check that
//! every reference resolves.

use super::*;

/// What expressions in one place may refer to.
pub(super) struct Scope<'a> {
    pub(super) inputs: &'a HashSet<&'a str>,
    /// Whether a step is done before this one (earlier phases, and ancestors in this
    /// phase). A question, not a set: a set per step grows with the square of the steps.
    pub(super) earlier: &'a dyn Fn(&str) -> bool,
    /// Every step's declared outputs, for messages about steps that run later.
    pub(super) outputs: &'a HashMap<&'a str, Vec<&'a str>>,
    /// `outputs.*` of a polled action, inside `until:`.
    pub(super) poll_outputs: Option<&'a [&'a str]>,
    pub(super) this_step: Option<&'a str>,
}

pub(super) struct RefCheck<'s> {
    pub(super) src: &'s str,
}

impl RefCheck<'_> {
    /// Narrows a node's span to where `needle` is written, when it can be found.
    pub(super) fn locate(&self, span: Span, needle: &str) -> Span {
        let end = span.end.min(self.src.len());
        let hay = self.src.get(span.start..end).unwrap_or("");
        match hay.find(needle) {
            Some(off) => {
                let before = &hay[..off];
                let lines = before.matches('\n').count() as u32;
                let col = match before.rfind('\n') {
                    Some(nl) => before[nl + 1..].chars().count() as u32 + 1,
                    None => span.col + before.chars().count() as u32,
                };
                Span { start: span.start + off, end: span.start + off + needle.len(), line: span.line + lines, col }
            }
            None => span,
        }
    }

    pub(super) fn refs(&self, cx: &mut Cx, expr: &Expr, span: Span, scope: &Scope) {
        for path in expr.refs() {
            if let Err((why, help)) = resolve(path, scope) {
                let text = path.join(".");
                let mut d = Diag::new(Kind::Unresolved { reference: text.clone(), why }, self.locate(span, &text));
                if let Some(h) = help {
                    d = d.help(h);
                }
                cx.push(d);
            }
        }
    }

    /// Checks every `${{ }}` in a piece of text.
    pub(super) fn template(&self, cx: &mut Cx, text: &str, span: Span, scope: &Scope) {
        match expr::parse_template(text) {
            Ok(pieces) => {
                for p in pieces {
                    if let Piece::Hole(e, _) = p {
                        self.refs(cx, &e, span, scope);
                    }
                }
            }
            Err(e) => cx.push(Diag::new(Kind::BadExpression(e.into()), self.locate(span, "${{"))),
        }
    }

    pub(super) fn condition(&self, cx: &mut Cx, text: &Sp<String>, scope: &Scope) -> Option<Expr> {
        match expr::parse_condition(text) {
            Ok(e) => {
                self.refs(cx, &e, text.span, scope);
                Some(e)
            }
            Err(e) => {
                cx.push(
                    Diag::new(Kind::BadExpression(e.into()), text.span)
                        .help("e.g. `inputs.mode == 'full'` or `steps.check.outputs.passed`"),
                );
                None
            }
        }
    }
}

pub(super) type Unresolved = (String, Option<String>);

pub(super) fn resolve(path: &[String], scope: &Scope) -> Result<(), Unresolved> {
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    let names = |xs: &mut dyn Iterator<Item = &str>| xs.collect::<Vec<_>>().join(", ");
    match p.as_slice() {
        ["inputs", name] => {
            if scope.inputs.contains(name) {
                Ok(())
            } else {
                let help = match suggest(name, scope.inputs.iter().copied()) {
                    Some(s) => format!("did you mean `inputs.{s}`?"),
                    None if scope.inputs.is_empty() => "the runbook declares no `inputs:`".to_string(),
                    None => format!("inputs are: {}", names(&mut scope.inputs.iter().copied())),
                };
                Err((format!("no input `{name}`"), Some(help)))
            }
        }
        ["steps", step, "outputs", out] => {
            let Some(outputs) = scope.outputs.get(step) else {
                let help = suggest(step, scope.outputs.keys().copied()).map(|s| format!("did you mean `{s}`?"));
                return Err((format!("no step `{step}`"), help));
            };
            if scope.this_step == Some(step) {
                return Err(("a step cannot use its own outputs".into(), None));
            }
            if !(scope.earlier)(step) {
                return Err((
                    format!("step `{step}` is not done before this point"),
                    Some(format!("add `{step}` to `needs`, or move this step after it")),
                ));
            }
            if outputs.contains(out) {
                Ok(())
            } else if outputs.is_empty() {
                Err((format!("step `{step}` has no outputs"), Some("declare them with `outputs: [name]`".into())))
            } else {
                let help = match suggest(out, outputs.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("`{step}` outputs: {}", outputs.join(", ")),
                };
                Err((format!("step `{step}` has no output `{out}`"), Some(help)))
            }
        }
        ["steps", ..] => Err(("step outputs are written `steps.<id>.outputs.<name>`".into(), None)),
        ["dataset", rest @ ..] => {
            let f = rest.join(".");
            if DATASET_FIELDS.contains(&f.as_str()) {
                Ok(())
            } else {
                Err((
                    format!("datasets have no field `{f}`"),
                    Some(format!("dataset fields: {}", DATASET_FIELDS.join(", "))),
                ))
            }
        }
        ["incident", f] if INCIDENT_FIELDS.contains(f) => Ok(()),
        ["incident", ..] => {
            Err(("unknown incident field".into(), Some(format!("incident fields: {}", INCIDENT_FIELDS.join(", ")))))
        }
        ["env", _] => Ok(()),
        ["outputs", out] => match scope.poll_outputs {
            Some(outs) if outs.contains(out) => Ok(()),
            Some(outs) => {
                Err((format!("the polled action has no output `{out}`"), Some(format!("outputs: {}", outs.join(", ")))))
            }
            None => Err(("`outputs.*` is only meaningful in a wait's `until:`".into(), None)),
        },
        _ => Err((
            "unknown name".into(),
            Some("expressions can use inputs.*, steps.<id>.outputs.*, dataset.*, incident.* and env.*".into()),
        )),
    }
}
