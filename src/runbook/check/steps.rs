//! One step's kind from what it says (`manual:`, `approval:`, `action:`, `run:`, `wait:`),
//! its gates, and an input's default: each checked where it is written.

use super::*;

pub(super) fn input_default(cx: &mut Cx, name: &str, node: &Node, ty: InputType, secret: bool) -> Option<InputDefault> {
    if secret {
        cx.push(
            Diag::new(Kind::SecretDefault(clip(name)), node.span)
                .label("this value would be in git")
                .help("remove the default and give the secret with `env:` or at the start of the run"),
        );
        return None;
    }
    let Some(t) = node.as_str().filter(|_| !node.is_null()) else {
        cx.wrong_type(node, "a single value");
        return None;
    };
    let ok = match ty {
        InputType::String => Ok(()),
        InputType::Timestamp if t == "now" => return Some(InputDefault::Now),
        InputType::Timestamp => parse_timestamp(t).map(|_| ()).map_err(|h| (Kind::BadTimestamp(clip(t)), h)),
        InputType::Duration => Duration::parse(t).map(|_| ()).map_err(|h| (Kind::BadDuration(clip(t)), h)),
        InputType::Bool => match t {
            "true" | "false" => Ok(()),
            _ => Err((
                Kind::WrongType { expected: "`true` or `false`".into(), found: format!("`{}`", clip(t)) },
                "a bool input".into(),
            )),
        },
        InputType::Int => t.parse::<i64>().map(|_| ()).map_err(|_| {
            (
                Kind::WrongType { expected: "a whole number".into(), found: format!("`{}`", clip(t)) },
                "an int input".into(),
            )
        }),
    };
    match ok {
        Ok(()) => Some(InputDefault::Value(t.to_string())),
        Err((kind, help)) => {
            cx.push(Diag::new(kind, node.span).help(help));
            None
        }
    }
}

/// A step's gates: `expect.outputs` names only outputs the step declares, and `assert:`
/// expressions may use this step's own outputs besides everything done before it.
pub(super) fn gates(
    cx: &mut Cx,
    rc: &RefCheck,
    s: &raw::Step,
    outputs: &HashMap<&str, Vec<&str>>,
    scope: &Scope,
) -> Gates {
    let mut out = Gates::default();
    let id = s.id.as_ref().map(|i| i.as_str()).unwrap_or_default();
    let declared = outputs.get(id).cloned().unwrap_or_default();
    for (name, want) in s.expect.iter().flat_map(|e| e.outputs.iter()).flat_map(|m| m.0.iter()) {
        if !declared.contains(&name.as_str()) {
            let help = match suggest(name, declared.iter().copied()) {
                Some(x) => format!("did you mean `{x}`?"),
                None if declared.is_empty() => "this step declares no outputs".to_string(),
                None => format!("`{id}` outputs: {}", declared.join(", ")),
            };
            cx.push(
                Diag::new(Kind::UnknownGateOutput { step: id.to_string(), output: name.value.clone() }, name.span)
                    .help(help),
            );
            continue;
        }
        let Some(text) = want.as_str().filter(|_| !want.is_null()) else {
            cx.wrong_type(want, "a single value to compare the output with");
            continue;
        };
        let value = match text {
            "true" => Json::Bool(true),
            "false" => Json::Bool(false),
            t => t.parse::<i64>().map(Json::from).unwrap_or_else(|_| Json::String(t.to_string())),
        };
        out.outputs.push((name.value.clone(), value));
    }
    let before = scope.earlier;
    let earlier = |x: &str| x == id || before(x);
    let own = Scope { earlier: &earlier, this_step: None, ..*scope };
    for a in s.assert.iter().flatten() {
        if let Some(e) = rc.condition(cx, a, &own) {
            out.asserts.push((e, a.value.clone()));
        }
    }
    out
}

pub(super) fn step_kind(cx: &mut Cx, s: &raw::Step, actions: ActionLookup) -> Option<StepKind> {
    let id = s.id.as_ref().map(|i| i.value.clone()).unwrap_or_default();
    let present: Vec<(&str, Span)> = [
        ("manual", s.manual.as_ref().map(|v| v.span)),
        ("approval", s.approval.as_ref().map(|v| v.span)),
        ("action", s.action.as_ref().map(|v| v.span)),
        ("run", s.run.as_ref().map(|v| v.span)),
        (
            "wait",
            s.wait.as_ref().map(|w| match w {
                raw::Wait::For(d) => d.span,
                raw::Wait::Poll(p) => p.span,
            }),
        ),
    ]
    .into_iter()
    .filter_map(|(k, span)| span.map(|sp| (k, sp)))
    .collect();
    match present.as_slice() {
        [] => {
            cx.push(
                Diag::new(Kind::NoStepKind(id), Span { end: s.span.start, ..s.span })
                    .help("give it exactly one of `manual`, `approval`, `action`, `run`, `wait`"),
            );
            return None;
        }
        [_] => {}
        [first, second, ..] => {
            cx.push(
                Diag::new(
                    Kind::ManyStepKinds {
                        step: id,
                        kinds: present.iter().map(|(k, _)| format!("`{k}`")).collect::<Vec<_>>().join(", "),
                    },
                    second.1,
                )
                .help(format!("a step has exactly one kind; split `{}` and `{}` into two steps", first.0, second.0)),
            );
            return None;
        }
    }
    let kind = present[0].0;
    let not_for = |cx: &mut Cx, field: &'static str, span: Option<Span>| {
        if let Some(span) = span {
            cx.push(Diag::new(Kind::FieldNotForKind { field, kind }, span));
        }
    };
    if kind != "action" {
        not_for(cx, "with", s.with.as_ref().map(|w| w.span));
    }
    if !matches!(kind, "run" | "action" | "wait") {
        not_for(cx, "expect", s.expect.as_ref().map(|e| e.span));
    } else if kind != "run"
        && let Some(e) = &s.expect
    {
        not_for(cx, "expect.exit_code", e.exit_code.as_ref().map(|c| c.span));
        not_for(cx, "expect.stdout_contains", e.stdout_contains.as_ref().map(|c| c.span));
    }
    if kind != "manual" {
        not_for(cx, "checklist", s.checklist.as_ref().and_then(|c| c.first()).map(|c| c.span));
    }
    if matches!(kind, "manual" | "approval") {
        not_for(cx, "retries", s.retries.as_ref().map(|r| r.span));
    }
    if matches!(kind, "action" | "approval" | "wait") {
        not_for(cx, "outputs", s.outputs.as_ref().and_then(|o| o.first()).map(|o| o.span));
    }
    let mark = cx.diags.len();
    let out = match kind {
        "manual" => StepKind::Manual {
            instructions: s.manual.as_ref()?.value.clone(),
            checklist: s.checklist.iter().flatten().map(|c| c.value.clone()).collect(),
        },
        "approval" => {
            let a = s.approval.as_ref()?;
            if let Some(n) = a.approvers.as_ref().filter(|n| n.value == 0) {
                cx.push(Diag::new(Kind::Zero("approvers"), n.span));
            }
            StepKind::Approval(Approval {
                role: a.role.as_ref()?.value.clone(),
                description: a.description.as_ref().map(|d| d.value.trim().to_string()).filter(|d| !d.is_empty()),
                approvers: a.approvers.as_ref().map_or(1, |n| n.value),
                four_eyes: a.four_eyes.as_ref().is_some_and(|f| f.value),
            })
        }
        "action" => {
            let name = s.action.as_ref()?;
            let spec = action(cx, name, actions)?;
            let with = check_args(cx, spec, s.with.as_ref(), name.span);
            StepKind::Action { action: spec, with }
        }
        "run" => StepKind::Run {
            command: s.run.as_ref()?.value.clone(),
            expect: Expect {
                exit_code: s.expect.as_ref().and_then(|e| e.exit_code.as_ref()).map(|c| c.value).unwrap_or(0),
                stdout_contains: s.expect.as_ref().and_then(|e| text(&e.stdout_contains)),
            },
        },
        _ => match s.wait.as_ref()? {
            raw::Wait::For(d) => StepKind::Wait(WaitKind::For(d.value)),
            raw::Wait::Poll(p) => {
                let name = p.action.as_ref()?;
                let spec = action(cx, name, actions)?;
                let with = check_args(cx, spec, p.with.as_ref(), name.span);
                StepKind::Wait(WaitKind::Poll {
                    action: spec,
                    with,
                    until: Expr::Bool(true),
                    every: p.every.as_ref().map(|e| e.value).unwrap_or(Duration(30)),
                })
            }
        },
    };
    (!errors_since(cx, mark)).then_some(out)
}
