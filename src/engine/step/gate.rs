//! Gates: what must hold once a step finished — `expect:` outputs and `assert:`
//! expressions — which no answer can wave through.

use super::*;

/// The first of a step's gates that does not hold, with what was expected and found.
pub(super) fn gate_failure(ctx: &Ctx, step: &Step, outputs: &Map<String, Json>) -> Option<StepError> {
    let gates = &step.gates;
    if gates.is_empty() {
        return None;
    }
    let text = |j: &Json| match j {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    };
    let fail = |message: String| StepError {
        message,
        code: Some("GateFailed".into()),
        hint: Some("the step's result is not what the runbook requires; no answer can wave a gate through".into()),
    };
    for (name, want) in &gates.outputs {
        let Some(got) = outputs.get(name) else {
            return Some(fail(format!(
                "gate `expect.outputs.{name}`: expected {}, but the step did not output it",
                text(want)
            )));
        };
        let equal = match (got.as_f64(), want.as_f64()) {
            (Some(a), Some(b)) => a == b,
            _ => text(got) == text(want),
        };
        if !equal {
            return Some(fail(format!("gate `expect.outputs.{name}`: expected {}, got {}", text(want), text(got))));
        }
    }
    let mut all = ctx.outputs.lock().unwrap().clone();
    all.insert(step.id.clone(), outputs.clone());
    let scope = Scope { spec: &ctx.spec, outputs: &all, poll: None };
    for (expr, source) in &gates.asserts {
        let values = expr
            .refs()
            .iter()
            .map(|r| {
                let shown = scope.lookup(r).map(|v| format!("`{v}`")).unwrap_or_else(|e| format!("unknown ({e})"));
                format!("{} = {shown}", r.join("."))
            })
            .collect::<Vec<_>>()
            .join(", ");
        let found = if values.is_empty() { String::new() } else { format!(" ({values})") };
        match scope.condition(expr) {
            Ok(true) => {}
            Ok(false) => return Some(fail(format!("gate `assert: {source}` does not hold{found}"))),
            Err(e) => return Some(fail(format!("gate `assert: {source}` cannot be evaluated: {e}{found}"))),
        }
    }
    None
}
