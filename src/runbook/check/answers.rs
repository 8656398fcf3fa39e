//! The files beside runbooks: answers (checked as `run` will use them) and injects.

use super::*;

/// An input's value in an answers file, checked as `run` will check it: a value `run`
/// would refuse never passes `validate`.
pub(super) fn answer_input(cx: &mut Cx, def: &InputDef, node: &Node) {
    let Some(t) = node.as_str().filter(|_| !node.is_null()) else { return };
    let bad = match def.ty {
        InputType::String => None,
        InputType::Timestamp => parse_timestamp(t).err().map(|h| (Kind::BadTimestamp(clip(t)), h)),
        InputType::Duration => Duration::parse(t).err().map(|h| (Kind::BadDuration(clip(t)), h)),
        InputType::Bool => (!matches!(t, "true" | "false")).then(|| {
            (
                Kind::WrongType { expected: "`true` or `false`".into(), found: format!("`{}`", clip(t)) },
                format!("input `{}` is a bool", def.name),
            )
        }),
        InputType::Int => t.parse::<i64>().is_err().then(|| {
            (
                Kind::WrongType { expected: "a whole number".into(), found: format!("`{}`", clip(t)) },
                format!("input `{}` is an int", def.name),
            )
        }),
    };
    let bad = bad.or_else(|| {
        (!def.choices.is_empty() && !def.choices.iter().any(|c| c == t)).then(|| {
            (Kind::BadKeyword { what: "choice", text: clip(t) }, format!("one of: {}", def.choices.join(", ")))
        })
    });
    if let Some((kind, help)) = bad {
        cx.push(Diag::new(kind, node.span).label(format!("input `{}`", def.name)).help(help));
    }
}

/// Calls `f` for every string scalar below `node`.
pub(super) fn each_string(node: &Node, f: &mut dyn FnMut(&Node, &str)) {
    match &node.value {
        Value::Scalar { text, .. } => f(node, text),
        Value::Seq(items) => items.iter().for_each(|n| each_string(n, f)),
        Value::Map(entries) => entries.iter().for_each(|(_, v)| each_string(v, f)),
    }
}

pub fn answers(raw: &raw::AnswersFile, runbook: Option<&Runbook>, cx: &mut Cx) -> Option<Answers> {
    let mark = cx.diags.len();
    header(cx, &raw.api_version);
    let steps = raw.steps.as_ref().map(|m| m.0.as_slice()).unwrap_or_default();
    check_unique(cx, "answered step", steps.iter().map(|(k, _)| k));
    let inputs = raw.inputs.as_ref().map(|m| m.0.as_slice()).unwrap_or_default();
    if let Some(rb) = runbook {
        for (id, answer) in steps {
            match rb.step(id) {
                None => {
                    let mut d = Diag::new(Kind::UnknownAnswerStep(clip(id)), id.span);
                    if let Some(s) = suggest(id, rb.steps().map(|s| s.id.as_str())) {
                        d = d.label(format!("did you mean `{s}`?"));
                    }
                    cx.push(d.help(format!("runbook `{}` has no such step", rb.id)));
                }
                Some(step) => {
                    let fits = match answer {
                        raw::StepAnswer::Approve(_) => {
                            matches!(step.kind, StepKind::Approval { .. })
                        }
                        raw::StepAnswer::Done => !matches!(step.kind, StepKind::Approval { .. }),
                        _ => true,
                    };
                    let yes =
                        |x: &raw::ApprovalAnswer| x.signed.is_some() || x.approve.as_ref().is_some_and(|v| v.value);
                    if let (raw::StepAnswer::Approve(list), StepKind::Approval(a)) = (answer, &step.kind)
                        && list.iter().filter(|x| yes(x)).count() < a.approvers as usize
                        && list.iter().all(yes)
                    {
                        cx.push(
                            Diag::new(Kind::TooFewApprovers { need: a.approvers, given: list.len() }, id.span).help(
                                "list one `signed: FILE` (or `{approve: true, by: NAME, role: ROLE}`) per approver",
                            ),
                        );
                    }
                    // A typed name is a claim: under four eyes or several approvers it is
                    // a denial when the step is reached (the run stops there).
                    if let (raw::StepAnswer::Approve(list), StepKind::Approval(a)) = (answer, &step.kind)
                        && (a.four_eyes || a.approvers > 1)
                        && list.iter().any(|x| x.signed.is_none() && x.approve.as_ref().is_some_and(|v| v.value))
                    {
                        cx.push(Diag::new(Kind::TypedUnderFourEyes(step.id.clone()), id.span).help(format!(
                            "the run will stop at `{0}`: give signed approvals, `{0}: {{ signed: FILE }}` from `lifeboat approve RUNBOOK --step {0} --standing --until TIME --sign-key KEY --out FILE` (for rehearsals, replays and drills), or `lifeboat approve LOG --step {0}` while a live run waits",
                            step.id
                        )));
                    }
                    // The role as the run compares it (case aside): a typo is a denial
                    // at the step, so `validate` says so now.
                    if let (raw::StepAnswer::Approve(list), StepKind::Approval(a)) = (answer, &step.kind) {
                        for r in list.iter().filter_map(|x| x.role.as_ref()) {
                            if !r.value.trim().eq_ignore_ascii_case(&a.role) {
                                cx.push(
                                    Diag::new(
                                        Kind::AnswerWrongRole {
                                            step: step.id.clone(),
                                            given: clip(&r.value),
                                            want: a.role.clone(),
                                        },
                                        r.span,
                                    )
                                    .label(format!("did you mean `{}`?", a.role))
                                    .help(format!("`{}: {{ approve: true, by: NAME, role: {} }}`", step.id, a.role)),
                                );
                            }
                        }
                    }
                    if !fits {
                        let help = match step.kind {
                            StepKind::Approval { .. } => {
                                "answer an approval with `{ approve: true, by: NAME, role: ROLE }`, or `{ signed: FILE }` from `lifeboat approve --standing`"
                            }
                            _ => "answer it with `done`, `skip: \"<reason>\"` or `fail: \"<reason>\"`",
                        };
                        cx.push(Diag::new(Kind::AnswerKind(step.kind.name()), id.span).help(help));
                    }
                }
            }
        }
        for (name, node) in inputs {
            if let Some(def) = rb.inputs.iter().find(|i| i.name == name.value) {
                answer_input(cx, def, node);
            }
            if !rb.inputs.iter().any(|i| i.name == name.value) {
                let mut d = Diag::new(Kind::UnknownInput(clip(name)), name.span);
                if let Some(s) = suggest(name, rb.inputs.iter().map(|i| i.name.as_str())) {
                    d = d.label(format!("did you mean `{s}`?"));
                }
                cx.push(d.help(format!("runbook `{}` has no such input", rb.id)));
            }
        }
    }
    // (A field that did not decode was said already; what is missing is said only then.)
    let decoded = !cx.diags.iter().any(|d| d.severity() == Severity::Error);
    for (_, answer) in steps.iter().filter(|_| decoded) {
        if let raw::StepAnswer::Approve(list) = answer {
            for ap in list {
                match (&ap.signed, &ap.approve, &ap.by) {
                    (Some(s), a, b) if a.is_some() || b.is_some() => {
                        cx.push(Diag::new(Kind::SignedAndTyped, s.span));
                    }
                    (None, None, _) | (None, _, None) => cx.push(
                        Diag::new(Kind::ApprovalAnswerIncomplete, Span { end: ap.span.start, ..ap.span })
                            .help("`{approve: true, by: NAME, role: ROLE}`, or `{signed: FILE}` from `lifeboat approve --standing`"),
                    ),
                    _ => {}
                }
            }
        }
    }
    let mut model_inputs = Vec::new();
    for (name, node) in inputs {
        match node.as_str().filter(|_| !node.is_null()) {
            Some(v) => model_inputs.push((name.value.clone(), v.to_string())),
            None => cx.wrong_type(node, "a single value"),
        }
    }
    if errors_since(cx, mark) {
        return None;
    }
    Some(Answers {
        runbook: text(&raw.runbook),
        operator: text(&raw.operator),
        inputs: model_inputs,
        steps: steps
            .iter()
            .map(|(k, a)| {
                let a = match a {
                    raw::StepAnswer::Done => Answer::Done,
                    raw::StepAnswer::Rerun => Answer::Rerun,
                    raw::StepAnswer::Skip(r) => Answer::Skip(r.value.clone()),
                    raw::StepAnswer::Fail(r) => Answer::Fail(r.value.clone()),
                    raw::StepAnswer::Approve(list) => Answer::Approve(
                        list.iter()
                            .map(|ap| Approver {
                                approve: ap.signed.is_some() || ap.approve.as_ref().is_some_and(|x| x.value),
                                by: text(&ap.by).unwrap_or_default(),
                                role: text(&ap.role),
                                reason: text(&ap.reason),
                                signed: text(&ap.signed),
                            })
                            .collect(),
                    ),
                };
                (k.value.clone(), a)
            })
            .collect(),
    })
}

/// An injects file: each inject names a known action or a step, and says how it fails.
pub fn injects(raw: &raw::InjectsFile, actions: ActionLookup, cx: &mut Cx) {
    header(cx, &raw.api_version);
    for i in raw.injects.iter().flatten() {
        if let Some(name) = &i.action {
            action(cx, name, actions);
        }
        if let Some(op) = &i.operation {
            let known = crate::runbook::simulated::OPERATIONS;
            if !known.contains(&op.value.as_str()) {
                let mut d =
                    Diag::new(Kind::BadKeyword { what: "operation of the simulated cloud", text: clip(op) }, op.span);
                d = match suggest(op, known.iter().copied()) {
                    Some(s) => d.label(format!("did you mean `{s}`?")),
                    None => d.help(format!("operations are: {}", known.join(", "))),
                };
                cx.push(d);
            }
            let with = [
                ("action", i.action.as_ref().map(|x| x.span)),
                ("step", i.step.as_ref().map(|x| x.span)),
                ("retryable", i.retryable.as_ref().map(|x| x.span)),
            ];
            for (field, given) in with {
                if let Some(span) = given {
                    let help = if field == "retryable" {
                        "a request's fault is retried as the SDK retries its error code (`SlowDown`, 5xx): drop `retryable`"
                    } else {
                        "a request's fault is the simulated cloud's, not a step's: write it as an inject of its own"
                    };
                    cx.push(Diag::new(Kind::OperationWith(field), span).help(help));
                }
            }
        } else if i.action.is_none() && i.step.is_none() {
            cx.push(
                Diag::new(
                    Kind::MissingField { field: "action", within: "an inject" },
                    Span { end: i.span.start, ..i.span },
                )
                .help("name the failing `action` (every step that uses it), one `step`, or an `operation`"),
            );
        }
        if let Some(t) = i.times.as_ref().filter(|t| t.value == 0) {
            cx.push(Diag::new(Kind::Zero("times"), t.span));
        }
    }
}

/// A roles file: each principal once, each with at least one role.
pub fn roles(raw: &raw::RolesFile, cx: &mut Cx) -> Option<Roles> {
    let mark = cx.diags.len();
    header(cx, &raw.api_version);
    let people = raw.people.as_deref().unwrap_or_default();
    let mut seen: Vec<&str> = Vec::new();
    let mut out = Roles::default();
    for p in people {
        let Some(principal) = &p.principal else { continue };
        if principal.value.is_empty()
            || principal.value.chars().any(|c| c.is_whitespace() || c.is_control() || c == ',')
        {
            cx.push(
                Diag::new(Kind::BadPrincipal(clip(principal).escape_debug().to_string()), principal.span)
                    .help("the principal as allowed_signers names the key, e.g. alice@example.com"),
            );
        }
        if seen.contains(&principal.value.as_str()) {
            cx.push(
                Diag::new(Kind::DuplicatePrincipal(clip(principal)), principal.span)
                    .help("list each person once, with all their roles"),
            );
        }
        seen.push(&principal.value);
        let roles: Vec<String> = p.roles.iter().flatten().map(|r| r.value.trim().to_string()).collect();
        if let Some(r) = p.roles.as_ref().filter(|r| r.is_empty()) {
            cx.push(
                Diag::new(
                    Kind::MissingField { field: "roles", within: "a person" },
                    Span { end: p.span.start, ..p.span },
                )
                .help("give the roles this person holds, e.g. `roles: [incident-commander]`"),
            );
            let _ = r;
        }
        out.people.push((principal.value.trim().to_string(), roles));
    }
    (!errors_since(cx, mark)).then_some(out)
}

/// Approvals that only signatures can give: without a roles file no signed approval can
/// count, and a role with too few people (one more than needed under four eyes, for the
/// operator may hold it) can never be given. Warnings: the run starts and stops there.
pub fn approvers(rb: &Runbook, raw: &raw::RunbookFile, roles: Option<&Roles>, cx: &mut Cx) {
    let spans = raw.phases.iter().flatten().flat_map(|p| p.steps.iter().flatten());
    for st in spans {
        let (Some(id), Some(ap)) = (&st.id, &st.approval) else { continue };
        let Some(StepKind::Approval(a)) = rb.step(&id.value).map(|s| &s.kind) else { continue };
        if !(a.four_eyes || a.approvers > 1) {
            continue;
        }
        let span = ap.role.as_ref().map(|r| r.span).unwrap_or(id.span);
        match roles {
            None => cx.push(Diag::new(Kind::NoRolesFile(id.value.clone()), span).help(
                "a signed approval counts for a role only when roles.yaml (kind: Roles, beside datasets.yaml) gives its signer that role",
            )),
            Some(r) => {
                let need = a.approvers as usize + usize::from(a.four_eyes);
                let have = r.holders(&a.role).len();
                if have < need {
                    cx.push(Diag::new(Kind::TooFewHolders { role: a.role.clone(), need, have }, span).help(
                        "list more people with this role in roles.yaml (under four eyes, one more than the approvers: the operator may hold it)",
                    ));
                }
            }
        }
    }
}
