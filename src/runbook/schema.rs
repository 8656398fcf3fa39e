//! The JSON Schema editors use to complete and check runbooks as they are typed. Each
//! action gets its own `with:` (an `if`/`then` on `action`), so an editor completes and
//! checks an action's arguments, not only its name. The action table is handed in (it
//! lives with the cloud, a layer below the binary that calls this).

use serde_json::{Value as Json, json};

use super::action_spec::{ActionSpec, Param, ParamType};
use super::decode::Decode;
use super::raw::{AnswersFile, CatalogFile, InjectsFile, RunbookFile};

pub fn schema(actions: &[ActionSpec]) -> Json {
    let kind = |mut s: Json, kind: &str| {
        s["properties"]["kind"] = json!({"const": kind});
        s["properties"]["apiVersion"] = json!({"const": "lifeboat/v1"});
        s["title"] = json!(kind);
        s
    };
    let mut runbook = RunbookFile::schema();
    let step = &mut runbook["properties"]["phases"]["items"]["properties"]["steps"]["items"];
    with_per_action(step, actions);
    if let Some(poll) = step.pointer_mut("/properties/wait/oneOf/1") {
        with_per_action(poll, actions);
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://lifeboat.dev/schema/v1.json",
        "title": "lifeboat file (runbook, dataset catalog, answers or injects)",
        "oneOf": [
            kind(runbook, "Runbook"),
            kind(CatalogFile::schema(), "DatasetCatalog"),
            kind(AnswersFile::schema(), "Answers"),
            kind(InjectsFile::schema(), "Injects"),
        ],
    })
}

/// `action:` one of the names; `with:` the arguments of the action named.
fn with_per_action(step: &mut Json, actions: &[ActionSpec]) {
    if !step.is_object() {
        return;
    }
    let names: Vec<&str> = actions.iter().map(|a| a.name).collect();
    step["properties"]["action"] =
        json!({"enum": names, "description": "one of the built-in actions (docs/actions.md)"});
    let cases: Vec<Json> = actions
        .iter()
        .map(|a| {
            json!({
                "if": {"properties": {"action": {"const": a.name}}, "required": ["action"]},
                "then": {"properties": {"with": arguments(a.params, a.summary)}},
            })
        })
        .collect();
    step["allOf"] = Json::Array(cases);
}

fn arguments(params: &[Param], doc: &str) -> Json {
    let props: serde_json::Map<String, Json> = params.iter().map(|p| (p.name.to_string(), argument(p))).collect();
    let required: Vec<&str> = params.iter().filter(|p| p.required).map(|p| p.name).collect();
    json!({"type": "object", "description": doc, "properties": props, "required": required, "additionalProperties": false})
}

/// An argument's schema; any argument may also be a `${{ … }}` expression.
fn argument(p: &Param) -> Json {
    let expression = json!({"type": "string", "pattern": "\\$\\{\\{"});
    let own = match p.ty {
        ParamType::String => json!({"type": "string"}),
        ParamType::Timestamp => json!({"type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}"}),
        ParamType::Duration => json!({"type": "string", "pattern": "^(\\d+[dhms])+$"}),
        ParamType::Bool => json!({"type": "boolean"}),
        ParamType::Int => json!({"type": "integer", "minimum": 0}),
        ParamType::Object(inner) => arguments(inner, p.doc),
    };
    let mut s = json!({"anyOf": [own, expression]});
    s["description"] = json!(format!("{} ({})", p.doc, p.ty.describe()));
    s
}
