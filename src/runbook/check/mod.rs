//! Raw files to checked models. Every rule of the format is one function here, each
//! adding diagnostics and carrying on, so one run of `validate` shows every mistake.

mod answers;
mod args;
mod catalog;
mod graph;
mod refs;
mod regulated;
mod reparse;
mod steps;

use std::collections::{HashMap, HashSet};

use answers::*;
pub use answers::{answers, approvers, injects, roles};
use args::*;
pub use catalog::{catalog, is_region};
use graph::*;
use refs::*;
use regulated::*;
use steps::{gates, input_default, step_kind};

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

/// The catalog a runbook is checked against, or why there is none.
pub enum CatalogFor<'a> {
    Found(&'a Catalog),
    Missing { expected: String },
    Invalid { path: String },
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
    let budget = Duration(phases.iter().filter_map(|p| p.budget.as_ref()).fold(0u64, |sum, b| sum.saturating_add(b.0)));
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
            if let Some(run) = &s.run {
                reparse::check(cx, run);
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
    // A drill restores copies of real data: something must take them down again.
    if let Some(sc) = raw.scenario.as_ref().filter(|s| s.value == raw::Scenario::Drill)
        && !model_phases.iter().any(|p| p.id == "teardown" || p.steps.iter().any(|s| s.id == "teardown"))
    {
        cx.push(
            Diag::new(Kind::NoTeardown, sc.span)
                .label("a drill with nothing that takes down what it restored")
                .help("add a `teardown` phase (or step) that deletes the drill's instances, tables and copies"),
        );
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
