//! Raw files to checked models. Every rule of the format is one function here, each
//! adding diagnostics and carrying on, so one run of `validate` shows every mistake.

use std::collections::{HashMap, HashSet};

use serde_json::Value as Json;

use super::action_spec::{ActionSpec, Param, ParamType};
use super::decode::{Cx, clip};
use super::diag::{Diag, Kind, Severity, suggest};
use super::expr::{self, Expr, Piece};
use super::model::*;
use super::raw::{self, Classification, InputType, OnFailure};
use super::time::{Duration, parse_timestamp};
use super::yaml::{Node, Sp, Span, Value};

/// Looks up an action by name; the table lives in `cloud`.
pub type ActionLookup<'a> = &'a dyn Fn(&str) -> Option<&'static ActionSpec>;

fn errors_since(cx: &Cx, mark: usize) -> bool {
    cx.diags[mark..].iter().any(|d| d.severity() == Severity::Error)
}

/// Ids appear in expressions, file names and logs: keep them boring.
fn check_id(cx: &mut Cx, id: &Sp<String>) {
    let ok = !id.is_empty() && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ok {
        let fixed: String =
            id.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
        let mut d = Diag::new(Kind::BadId(clip(id)), id.span).label("ids use only `a-z`, `0-9` and `-`");
        if !fixed.trim_matches('-').is_empty() {
            d = d.help(format!("write `{}`", fixed.trim_matches('-')));
        }
        cx.push(d);
    }
}

fn check_unique<'a>(cx: &mut Cx, what: &'static str, ids: impl IntoIterator<Item = &'a Sp<String>>) {
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for id in ids {
        if let Some(first) = seen.get(id.as_str()) {
            cx.push(
                Diag::new(Kind::DuplicateId { what, id: id.value.clone() }, id.span)
                    .label("used again here")
                    .help(format!("first used on line {}; ids must be unique", first.line)),
            );
        } else {
            seen.insert(id.as_str(), id.span);
        }
    }
}

pub fn header(cx: &mut Cx, api: &Option<Sp<String>>) {
    if let Some(v) = api
        && v.as_str() != "lifeboat/v1"
    {
        cx.push(Diag::new(Kind::BadApiVersion(clip(v)), v.span).help("this lifeboat reads `apiVersion: lifeboat/v1`"));
    }
}

pub fn catalog(raw: &raw::CatalogFile, cx: &mut Cx) -> Option<Catalog> {
    let mark = cx.diags.len();
    header(cx, &raw.api_version);
    let datasets = raw.datasets.as_deref().unwrap_or_default();
    for d in datasets {
        if let Some(id) = &d.id {
            check_id(cx, id);
        }
        for (name, value) in [("rpo", &d.rpo), ("rto", &d.rto), ("drill_every", &d.drill_every)] {
            if let Some(v) = value
                && v.0 == 0
            {
                cx.push(Diag::new(Kind::Zero(name), v.span));
            }
        }
    }
    check_unique(cx, "dataset", datasets.iter().filter_map(|d| d.id.as_ref()));
    if errors_since(cx, mark) {
        return None;
    }
    let loc = |l: &raw::Location| Location {
        region: l.region.as_ref().map(|r| r.value.clone()).unwrap_or_default(),
        account: l.account.as_ref().map(|a| a.value.clone()),
    };
    Some(Catalog {
        datasets: datasets
            .iter()
            .map(|d| Dataset {
                id: d.id.as_ref().map(|v| v.value.clone()).unwrap_or_default(),
                title: d.title.as_ref().map(|v| v.value.clone()).unwrap_or_default(),
                owner: d.owner.as_ref().map(|v| v.value.clone()),
                classification: d.classification.as_ref().map(|v| v.value).unwrap_or(Classification::Internal),
                rpo: d.rpo.as_ref().map(|v| v.value).unwrap_or_default(),
                rto: d.rto.as_ref().map(|v| v.value).unwrap_or_default(),
                primary: d.primary.as_ref().map(loc).unwrap_or(Location { region: String::new(), account: None }),
                backup: d.backup.as_ref().map(loc),
                resources: d
                    .resources
                    .iter()
                    .flatten()
                    .map(|r| Resource {
                        kind: r.kind.as_ref().map(|v| v.value).unwrap_or(raw::ResourceKind::S3Bucket),
                        id: r.id.as_ref().map(|v| v.value.clone()).unwrap_or_default(),
                        role: r.role.as_ref().map(|v| v.value).unwrap_or(raw::Role::Production),
                        region: r.region.as_ref().map(|v| v.value.clone()),
                    })
                    .collect(),
                drill_every: d.drill_every.as_ref().map(|v| v.value),
            })
            .collect(),
    })
}

/// The catalog a runbook is checked against, or why there is none.
pub enum CatalogFor<'a> {
    Found(&'a Catalog),
    Missing { expected: String },
    Invalid { path: String },
}

/// What expressions in one place may refer to.
struct Scope<'a> {
    inputs: &'a HashSet<&'a str>,
    /// Whether a step is done before this one (earlier phases, and ancestors in this
    /// phase). A question, not a set: a set per step grows with the square of the steps.
    earlier: &'a dyn Fn(&str) -> bool,
    /// Every step's declared outputs, for messages about steps that run later.
    outputs: &'a HashMap<&'a str, Vec<&'a str>>,
    /// `outputs.*` of a polled action, inside `until:`.
    poll_outputs: Option<&'a [&'a str]>,
    this_step: Option<&'a str>,
}

struct RefCheck<'s> {
    src: &'s str,
}

impl RefCheck<'_> {
    /// Narrows a node's span to where `needle` is written, when it can be found.
    fn locate(&self, span: Span, needle: &str) -> Span {
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

    fn refs(&self, cx: &mut Cx, expr: &Expr, span: Span, scope: &Scope) {
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
    fn template(&self, cx: &mut Cx, text: &str, span: Span, scope: &Scope) {
        match expr::parse_template(text) {
            Ok(pieces) => {
                for p in pieces {
                    if let Piece::Hole(e, _) = p {
                        self.refs(cx, &e, span, scope);
                    }
                }
            }
            Err(e) => cx.push(Diag::new(Kind::BadExpression(e), self.locate(span, "${{"))),
        }
    }

    fn condition(&self, cx: &mut Cx, text: &Sp<String>, scope: &Scope) -> Option<Expr> {
        match expr::parse_condition(text) {
            Ok(e) => {
                self.refs(cx, &e, text.span, scope);
                Some(e)
            }
            Err(e) => {
                cx.push(
                    Diag::new(Kind::BadExpression(e), text.span)
                        .help("e.g. `inputs.mode == 'full'` or `steps.check.outputs.passed`"),
                );
                None
            }
        }
    }
}

type Unresolved = (String, Option<String>);

fn resolve(path: &[String], scope: &Scope) -> Result<(), Unresolved> {
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

fn text(v: &Option<Sp<String>>) -> Option<String> {
    v.as_ref().map(|s| s.value.clone())
}

pub fn runbook(
    raw: &raw::RunbookFile,
    catalog: CatalogFor,
    actions: ActionLookup,
    src: &str,
    cx: &mut Cx,
) -> Option<Runbook> {
    let mark = cx.diags.len();
    header(cx, &raw.api_version);
    let rc = RefCheck { src };
    if let Some(id) = &raw.id {
        check_id(cx, id);
    }
    let phases = raw.phases.as_deref().unwrap_or_default();
    if raw.phases.as_ref().is_some_and(Vec::is_empty) {
        cx.push(Diag::new(
            Kind::WrongType { expected: "at least one phase".into(), found: "an empty list".into() },
            raw.span,
        ));
    }

    // The dataset this runbook is for, and its objectives.
    let dataset = match (&raw.dataset, &catalog) {
        (Some(name), CatalogFor::Found(cat)) => match cat.get(name) {
            Some(d) => Some(d),
            None => {
                let mut d = Diag::new(Kind::UnknownDataset(name.value.clone()), name.span);
                d = match suggest(name, cat.datasets.iter().map(|d| d.id.as_str())) {
                    Some(s) => d.label(format!("did you mean `{s}`?")),
                    None => d.help(format!(
                        "the catalog lists: {}",
                        cat.datasets.iter().map(|d| d.id.as_str()).collect::<Vec<_>>().join(", ")
                    )),
                };
                cx.push(d);
                None
            }
        },
        (Some(name), CatalogFor::Missing { expected }) => {
            cx.push(
                Diag::new(Kind::NoCatalog, name.span)
                    .help(format!("create `{expected}` listing dataset `{}`", name.value)),
            );
            None
        }
        (Some(name), CatalogFor::Invalid { path }) => {
            cx.push(
                Diag::new(Kind::NoCatalog, name.span)
                    .label("the catalog has errors")
                    .help(format!("run `lifeboat validate {path}` and fix it first")),
            );
            None
        }
        (None, _) => None,
    };
    let objectives = raw.objectives.as_ref();
    let mut rto = dataset.map(|d| d.rto);
    let mut rpo = dataset.map(|d| d.rpo);
    for (which, mine, theirs) in [
        ("RTO", objectives.and_then(|o| o.rto.as_ref()), dataset.map(|d| d.rto)),
        ("RPO", objectives.and_then(|o| o.rpo.as_ref()), dataset.map(|d| d.rpo)),
    ] {
        if let Some(mine) = mine {
            if let Some(theirs) = theirs.filter(|t| mine.value > *t) {
                cx.push(
                    Diag::new(
                        Kind::LooserObjective { which, runbook: mine.to_string(), dataset: theirs.to_string() },
                        mine.span,
                    )
                    .help(format!("a runbook may only promise a stricter {which}; use {theirs} or less")),
                );
            }
            if which == "RTO" {
                rto = Some(mine.value);
            } else {
                rpo = Some(mine.value);
            }
        }
    }
    let budget = Duration(phases.iter().filter_map(|p| p.budget.as_ref()).map(|b| b.0).sum());
    if let Some(rto) = rto
        && budget > rto
    {
        // Blame the phase whose budget carries the running total past the RTO.
        let mut total = 0;
        let span = phases
            .iter()
            .filter_map(|p| p.budget.as_ref())
            .find(|b| {
                total += b.0;
                total > rto.0
            })
            .map_or(raw.span, |b| b.span);
        let per: Vec<String> = phases
            .iter()
            .filter_map(|p| Some(format!("{} {}", p.id.as_ref()?.value, p.budget.as_ref()?.value)))
            .collect();
        cx.push(
            Diag::new(Kind::BudgetOverRto { sum: budget.to_string(), rto: rto.to_string() }, span)
                .label("the budgets reach past the RTO here")
                .help(format!("phase budgets: {}; shorten them or split the work", per.join(", "))),
        );
    }
    for p in phases {
        if let Some(b) = p.budget.as_ref().filter(|b| b.0 == 0) {
            cx.push(Diag::new(Kind::Zero("budget"), b.span));
        }
    }

    // Inputs.
    let raw_inputs = raw.inputs.as_ref().map(|m| m.0.as_slice()).unwrap_or_default();
    let mut inputs = Vec::new();
    for (name, def) in raw_inputs {
        if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            || name.starts_with(|c: char| c.is_ascii_digit())
        {
            cx.push(Diag::new(Kind::BadId(clip(name)), name.span).label("input names use `a-z`, `0-9` and `_`").help(
                format!("write `{}` so expressions can say `inputs.{0}`", name.to_lowercase().replace('-', "_")),
            ));
        }
        let ty = def.ty.as_ref().map(|t| t.value).unwrap_or(InputType::String);
        let secret = def.secret.as_ref().is_some_and(|s| s.value);
        let default = def.default.as_ref().and_then(|n| input_default(cx, name, n, ty, secret));
        let choices: Vec<String> = def.choices.iter().flatten().map(|c| c.value.clone()).collect();
        if let (Some(InputDefault::Value(v)), Some(node)) = (&default, &def.default)
            && !choices.is_empty()
            && !choices.contains(v)
        {
            cx.push(
                Diag::new(Kind::BadKeyword { what: "choice", text: clip(v) }, node.span)
                    .help(format!("the default must be one of the choices: {}", choices.join(", "))),
            );
        }
        inputs.push(InputDef {
            name: name.value.clone(),
            ty,
            default,
            description: text(&def.description),
            secret,
            env: text(&def.env),
            choices,
        });
    }
    let input_names: HashSet<&str> = raw_inputs.iter().map(|(k, _)| k.as_str()).collect();

    // Ids.
    for p in phases {
        if let Some(id) = &p.id {
            check_id(cx, id);
        }
        for s in p.steps.iter().flatten() {
            if let Some(id) = &s.id {
                check_id(cx, id);
            }
        }
    }
    check_unique(cx, "phase", phases.iter().filter_map(|p| p.id.as_ref()));
    check_unique(cx, "step", phases.iter().flat_map(|p| p.steps.iter().flatten()).filter_map(|s| s.id.as_ref()));

    // Step kinds and the outputs each step declares.
    let mut kinds: HashMap<*const raw::Step, Option<StepKind>> = HashMap::new();
    let mut outputs: HashMap<&str, Vec<&str>> = HashMap::new();
    for s in phases.iter().flat_map(|p| p.steps.iter().flatten()) {
        let kind = step_kind(cx, s, actions);
        if let Some(id) = &s.id {
            let outs: Vec<&str> = match &kind {
                Some(StepKind::Action { action, .. }) | Some(StepKind::Wait(WaitKind::Poll { action, .. })) => {
                    action.outputs.to_vec()
                }
                _ => s.outputs.iter().flatten().map(|o| o.as_str()).collect(),
            };
            outputs.entry(id.as_str()).or_insert(outs);
        }
        kinds.insert(s as *const _, kind);
    }

    // Order inside each phase, then every expression against what is done before it.
    let mut done_before: HashSet<&str> = HashSet::new();
    let mut model_phases = Vec::new();
    let mut milestones: HashMap<String, Span> = HashMap::new();
    let approvals: HashSet<&str> = phases
        .iter()
        .flat_map(|p| p.steps.iter().flatten())
        .filter(|s| s.approval.is_some())
        .filter_map(|s| s.id.as_ref().map(|x| x.as_str()))
        .collect();
    for p in phases {
        let steps = p.steps.as_deref().unwrap_or_default();
        let needs = step_needs(cx, p, phases);
        check_cycles(cx, steps, &needs);
        let index: HashMap<&str, usize> =
            steps.iter().enumerate().filter_map(|(i, s)| Some((s.id.as_ref()?.as_str(), i))).collect();
        let mut model_steps = Vec::new();
        for (i, s) in steps.iter().enumerate() {
            let earlier =
                |x: &str| done_before.contains(x) || index.get(x).is_some_and(|&j| j != i && reaches(&needs, i, j));
            let scope = Scope {
                inputs: &input_names,
                earlier: &earlier,
                outputs: &outputs,
                poll_outputs: None,
                this_step: s.id.as_ref().map(|x| x.as_str()),
            };
            for t in [&s.title, &s.manual, &s.run].into_iter().flatten() {
                rc.template(cx, t, t.span, &scope);
            }
            for item in s.checklist.iter().flatten() {
                rc.template(cx, item, item.span, &scope);
            }
            if let Some(t) = s.expect.as_ref().and_then(|e| e.stdout_contains.as_ref()) {
                rc.template(cx, t, t.span, &scope);
            }
            for with in [
                s.with.as_ref(),
                match &s.wait {
                    Some(raw::Wait::Poll(w)) => w.with.as_ref(),
                    _ => None,
                },
            ]
            .into_iter()
            .flatten()
            {
                each_string(with, &mut |n, t| rc.template(cx, t, n.span, &scope));
            }
            // Deleting what was created after the incident throws away the attacker's
            // evidence and maybe real new records: a person must say yes first, on record.
            if let Some(d) = s.with.as_ref().and_then(|w| w.get("delete_newer")).filter(|d| d.as_str() != Some("false"))
                && !approvals.iter().any(|a| earlier(a))
            {
                cx.push(
                    Diag::new(
                        Kind::UnapprovedDelete(s.id.as_ref().map(|x| x.value.clone()).unwrap_or_default()),
                        d.span,
                    )
                    .label("this deletes objects created after `time`")
                    .help("add an approval step before it (in an earlier phase, or in its `needs`)"),
                );
            }
            let when = s.when.as_ref().and_then(|w| rc.condition(cx, w, &scope));
            let mut kind = kinds.remove(&(s as *const _)).flatten();
            if let (Some(raw::Wait::Poll(w)), Some(StepKind::Wait(WaitKind::Poll { action, until, .. }))) =
                (&s.wait, &mut kind)
            {
                let poll_scope = Scope { poll_outputs: Some(action.outputs), ..scope };
                match w.until.as_ref().and_then(|u| rc.condition(cx, u, &poll_scope)) {
                    Some(e) => *until = e,
                    None => kind = None,
                }
            }
            let gates = gates(cx, &rc, s, &outputs, &scope);
            if let Some(m) = &s.milestone {
                let valid =
                    !m.is_empty() && m.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
                if !valid {
                    cx.push(Diag::new(Kind::BadId(clip(m)), m.span).label("milestones use `a-z`, `0-9` and `-`"));
                } else if let Some(first) = milestones.get(m.as_str()) {
                    cx.push(
                        Diag::new(Kind::DuplicateMilestone(m.value.clone()), m.span)
                            .help(format!("first set on line {}", first.line)),
                    );
                } else {
                    milestones.insert(m.value.clone(), m.span);
                }
            }
            if let (Some(kind), Some(id), Some(title)) = (kind, &s.id, &s.title) {
                model_steps.push(Step {
                    id: id.value.clone(),
                    title: title.value.clone(),
                    kind,
                    needs: needs[i]
                        .iter()
                        .map(|&j| steps[j].id.as_ref().map(|x| x.value.clone()).unwrap_or_default())
                        .collect(),
                    when,
                    timeout: s.timeout.as_ref().map(|t| t.value),
                    retries: s.retries.as_ref().map(|r| r.value).unwrap_or(0),
                    on_failure: s.on_failure.as_ref().map(|o| o.value),
                    milestone: text(&s.milestone),
                    outputs: s.outputs.iter().flatten().map(|o| o.value.clone()).collect(),
                    gates,
                });
            }
        }
        done_before.extend(steps.iter().filter_map(|s| s.id.as_ref().map(|x| x.as_str())));
        if let (Some(id), Some(title), Some(budget)) = (&p.id, &p.title, &p.budget) {
            model_phases.push(Phase {
                id: id.value.clone(),
                title: title.value.clone(),
                budget: budget.value,
                steps: model_steps,
            });
        }
    }

    if let Some(d) = dataset.filter(|d| d.classification == Classification::Regulated) {
        regulated_skips(cx, phases, &model_phases, d);
        regulated_four_eyes(cx, phases, &model_phases, d);
    }

    if errors_since(cx, mark) {
        return None;
    }
    Some(Runbook {
        id: text(&raw.id)?,
        title: text(&raw.title)?,
        description: text(&raw.description),
        dataset: text(&raw.dataset)?,
        scenario: raw.scenario.as_ref()?.value,
        objectives: Objectives { rto: rto?, rpo: rpo? },
        inputs,
        phases: model_phases,
    })
}

fn input_default(cx: &mut Cx, name: &str, node: &Node, ty: InputType, secret: bool) -> Option<InputDefault> {
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
fn gates(cx: &mut Cx, rc: &RefCheck, s: &raw::Step, outputs: &HashMap<&str, Vec<&str>>, scope: &Scope) -> Gates {
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

/// An input's value in an answers file, checked as `run` will check it: a value `run`
/// would refuse never passes `validate`.
fn answer_input(cx: &mut Cx, def: &InputDef, node: &Node) {
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
fn each_string(node: &Node, f: &mut dyn FnMut(&Node, &str)) {
    match &node.value {
        Value::Scalar { text, .. } => f(node, text),
        Value::Seq(items) => items.iter().for_each(|n| each_string(n, f)),
        Value::Map(entries) => entries.iter().for_each(|(_, v)| each_string(v, f)),
    }
}

fn step_kind(cx: &mut Cx, s: &raw::Step, actions: ActionLookup) -> Option<StepKind> {
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

fn action(cx: &mut Cx, name: &Sp<String>, actions: ActionLookup) -> Option<&'static ActionSpec> {
    let found = actions(name);
    if found.is_none() {
        let all: Vec<&str> = crate::cloud::catalog::ACTIONS.iter().map(|a| a.name).collect();
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
fn check_args(cx: &mut Cx, spec: &ActionSpec, with: Option<&Node>, action_span: Span) -> Json {
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

fn check_object(cx: &mut Cx, action: &str, params: &[Param], node: &Node, blame: Span) -> Json {
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

fn check_arg(cx: &mut Cx, action: &str, p: &Param, v: &Node) -> Json {
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

/// For each step of a phase, the indexes of the steps it needs (written or implied).
fn step_needs(cx: &mut Cx, p: &raw::Phase, all: &[raw::Phase]) -> Vec<Vec<usize>> {
    let steps = p.steps.as_deref().unwrap_or_default();
    let index: HashMap<&str, usize> =
        steps.iter().enumerate().filter_map(|(i, s)| Some((s.id.as_ref()?.as_str(), i))).collect();
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| match &s.needs {
            None if i > 0 => vec![i - 1],
            None => Vec::new(),
            Some(needs) => needs
                .iter()
                .filter_map(|n| {
                    if let Some(&j) = index.get(n.as_str()) {
                        return Some(j);
                    }
                    let other = all
                        .iter()
                        .find(|q| q.steps.iter().flatten().any(|s| s.id.as_ref().is_some_and(|x| x.value == n.value)));
                    match other {
                        Some(q) => cx.push(
                            Diag::new(
                                Kind::NeedOtherPhase {
                                    step: n.value.clone(),
                                    phase: q.id.as_ref().map(|x| x.value.clone()).unwrap_or_default(),
                                },
                                n.span,
                            )
                            .help("phases run one after another; `needs` orders steps within a phase"),
                        ),
                        None => {
                            let mut d = Diag::new(Kind::UnknownNeed(clip(n)), n.span);
                            if let Some(s) = suggest(n, index.keys().copied()) {
                                d = d.label(format!("did you mean `{s}`?"));
                            }
                            cx.push(d);
                        }
                    }
                    None
                })
                .collect(),
        })
        .collect()
}

/// Every step's transitive prerequisites; a cycle is reported (once) and broken.
fn check_cycles(cx: &mut Cx, steps: &[raw::Step], needs: &[Vec<usize>]) {
    let n = steps.len();
    // 0 = unvisited, 1 = on the stack, 2 = done
    let mut state = vec![0u8; n];
    let name = |i: usize| steps[i].id.as_ref().map(|x| x.value.clone()).unwrap_or_else(|| format!("#{}", i + 1));
    let mut reported = false;
    for root in 0..n {
        if state[root] != 0 {
            continue;
        }
        // Iterative DFS: (node, next edge index).
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = 1;
        while let Some(&mut (v, ref mut e)) = stack.last_mut() {
            if let Some(&w) = needs[v].get(*e) {
                *e += 1;
                match state[w] {
                    0 => {
                        state[w] = 1;
                        stack.push((w, 0));
                    }
                    1 if !reported => {
                        reported = true;
                        let pos = stack.iter().position(|(x, _)| *x == w).unwrap_or(0);
                        let mut cycle: Vec<String> =
                            stack[pos..].iter().map(|(x, _)| format!("`{}`", name(*x))).collect();
                        cycle.push(format!("`{}`", name(w)));
                        // Blame a `needs` that is written (implied ones have no place in the file).
                        let span = stack[pos..]
                            .iter()
                            .find_map(|(x, _)| steps[*x].needs.as_ref().map(|n| n.span))
                            .unwrap_or(steps[v].span);
                        cx.push(
                            Diag::new(Kind::Cycle(cycle.join(" needs ")), span)
                                .help("a step cannot wait, directly or not, for itself; remove one of these `needs`"),
                        );
                    }
                    _ => {}
                }
            } else {
                stack.pop();
                state[v] = 2;
            }
        }
    }
}

/// Whether step `from` waits, directly or not, for step `to` of the same phase: a walk
/// of the `needs` edges, asked only where an expression or a deletion needs it.
fn reaches(needs: &[Vec<usize>], from: usize, to: usize) -> bool {
    let mut seen = vec![false; needs.len()];
    let mut stack = vec![from];
    while let Some(v) = stack.pop() {
        for &w in needs.get(v).into_iter().flatten() {
            if w == to {
                return true;
            }
            if !std::mem::replace(&mut seen[w], true) {
                stack.push(w);
            }
        }
    }
    false
}

/// Regulated records are restored, never quietly lost: a restore that can be skipped
/// needs an approval after it that records who accepted the loss.
fn regulated_skips(cx: &mut Cx, raw_phases: &[raw::Phase], phases: &[Phase], dataset: &Dataset) {
    let order: Vec<&Step> = phases.iter().flat_map(|p| p.steps.iter()).collect();
    for (i, s) in order.iter().enumerate() {
        let skippable = s.when.is_some() || s.on_failure == Some(OnFailure::Continue);
        if !s.restores_data() || !skippable {
            continue;
        }
        if order[i + 1..].iter().any(|t| matches!(t.kind, StepKind::Approval { .. })) {
            continue;
        }
        let span = raw_phases
            .iter()
            .flat_map(|p| p.steps.iter().flatten())
            .find(|r| r.id.as_ref().is_some_and(|x| x.value == s.id))
            .and_then(|r| r.when.as_ref().map(|w| w.span).or(r.on_failure.as_ref().map(|o| o.span)));
        cx.push(Diag::new(Kind::RegulatedSkip(s.id.clone()), span).label("this lets the restore be skipped").help(
            format!(
                "`{}` is regulated: add an approval step after `{}` so whoever accepts the loss is on record",
                dataset.id, s.id
            ),
        ));
    }
}

/// A regulated dataset's change to existing data (`Effect::Modify`) behind an approval the
/// run's own operator could give: the contract asks for `four_eyes` there.
fn regulated_four_eyes(cx: &mut Cx, raw_phases: &[raw::Phase], phases: &[Phase], dataset: &Dataset) {
    let order: Vec<&Step> = phases.iter().flat_map(|p| p.steps.iter()).collect();
    for (i, s) in order.iter().enumerate() {
        let StepKind::Approval(a) = &s.kind else { continue };
        let changes = order[i + 1..].iter().find(|t| {
            matches!(&t.kind, StepKind::Action { action, .. } if action.effect == super::action_spec::Effect::Modify)
        });
        let Some(change) = changes.filter(|_| !a.four_eyes) else { continue };
        let span = raw_phases
            .iter()
            .flat_map(|p| p.steps.iter().flatten())
            .find(|r| r.id.as_ref().is_some_and(|x| x.value == s.id))
            .and_then(|r| r.approval.as_ref().map(|a| a.span));
        cx.push(
            Diag::new(Kind::NoFourEyes(change.id.clone()), span)
                .label("the run's own operator could give this approval")
                .help(format!(
                    "`{}` is regulated: write `four_eyes: true` so someone other than the operator approves `{}`",
                    dataset.id, change.id
                )),
        );
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
                    if let (raw::StepAnswer::Approve(list), StepKind::Approval(a)) = (answer, &step.kind)
                        && list.iter().filter(|x| x.approve.as_ref().is_some_and(|v| v.value)).count()
                            < a.approvers as usize
                        && list.iter().all(|x| x.approve.as_ref().is_some_and(|v| v.value))
                    {
                        cx.push(
                            Diag::new(Kind::TooFewApprovers { need: a.approvers, given: list.len() }, id.span)
                                .help("list one `{approve: true, by: NAME, role: ROLE}` per approver"),
                        );
                    }
                    if !fits {
                        let help = match step.kind {
                            StepKind::Approval { .. } => {
                                "answer an approval with `{approve: true, by: NAME, role: ROLE}`"
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
                                approve: ap.approve.as_ref().is_some_and(|x| x.value),
                                by: text(&ap.by).unwrap_or_default(),
                                role: text(&ap.role),
                                reason: text(&ap.reason),
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
        if i.action.is_none() && i.step.is_none() {
            cx.push(
                Diag::new(
                    Kind::MissingField { field: "action", within: "an inject" },
                    Span { end: i.span.start, ..i.span },
                )
                .help("name the failing `action` (every step that uses it) or one `step`"),
            );
        }
        if let Some(t) = i.times.as_ref().filter(|t| t.value == 0) {
            cx.push(Diag::new(Kind::Zero("times"), t.span));
        }
    }
}
