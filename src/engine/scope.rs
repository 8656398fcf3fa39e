//! What `${{ }}` expressions see while a run goes on.

use std::collections::HashMap;

use serde_json::{Map, Value as Json};

use super::RunSpec;
use crate::runbook::expr::{self, ExprError, Piece, Val};
use crate::runbook::time::format_timestamp;

pub struct Scope<'a> {
    pub spec: &'a RunSpec,
    pub outputs: &'a HashMap<String, Map<String, Json>>,
    /// A polled action's latest outputs, inside `until:`.
    pub poll: Option<&'a Map<String, Json>>,
}

fn val(j: &Json) -> Val {
    match j {
        Json::String(s) => Val::Str(s.clone()),
        Json::Bool(b) => Val::Bool(*b),
        Json::Number(n) => Val::Num(n.as_f64().unwrap_or_default()),
        Json::Null => Val::Null,
        other => Val::Str(other.to_string()),
    }
}

impl Scope<'_> {
    pub fn lookup(&self, path: &[String]) -> Result<Val, ExprError> {
        let p: Vec<&str> = path.iter().map(String::as_str).collect();
        let spec = self.spec;
        let found: Result<Val, String> = match p.as_slice() {
            ["inputs", name] => spec
                .inputs
                .get(*name)
                .map(|v| Val::Str(v.clone()))
                .ok_or_else(|| format!("input `{name}` has no value")),
            ["dataset", rest @ ..] => spec
                .dataset
                .field(&rest.join("."))
                .map(Val::Str)
                .ok_or_else(|| format!("dataset `{}` has no `{}`", spec.dataset.id, rest.join("."))),
            ["incident", "started_at"] => Ok(Val::Str(format_timestamp(spec.incident_started_at))),
            ["incident", "id"] => Ok(Val::Str(spec.run_id.clone())),
            ["incident", "mode"] => Ok(Val::Str(spec.mode.as_str().into())),
            ["incident", "operator"] => Ok(Val::Str(spec.operator.clone())),
            ["incident", "runbook"] => Ok(Val::Str(spec.runbook.id.clone())),
            ["env", name] if crate::engine::sink::is_signing_secret(name) => {
                Err(format!("`env.{name}` is lifeboat's signing secret: no step may read it"))
            }
            ["env", name] => {
                std::env::var(name).map(Val::Str).map_err(|_| format!("environment variable `{name}` is not set"))
            }
            ["steps", step, "outputs", out] => match self.outputs.get(*step) {
                None => Err(format!("step `{step}` has not produced outputs (skipped, failed or not run)")),
                Some(o) => o.get(*out).map(val).ok_or_else(|| format!("step `{step}` did not output `{out}`")),
            },
            ["outputs", out] => self
                .poll
                .and_then(|o| o.get(*out))
                .map(val)
                .ok_or_else(|| format!("the polled action did not output `{out}`")),
            _ => Err(format!("unknown name `{}`", p.join("."))),
        };
        found.map_err(ExprError::Value)
    }

    pub fn render(&self, text: &str) -> Result<String, String> {
        let mut out = String::new();
        for piece in expr::parse_template(text)? {
            match piece {
                Piece::Text(t) => out.push_str(&t),
                Piece::Hole(e, _) => out.push_str(&e.eval(&|p| self.lookup(p))?.to_string()),
            }
        }
        Ok(out)
    }

    /// A `run:` command whose `${{ }}` values never become shell syntax: each value is
    /// passed as an environment variable (`LIFEBOAT_IN_1`, …) and the command refers to
    /// it, quoted for where it stands (GitHub's advice against script injection). The
    /// text with the values filled in is for people to read; only the script is run.
    pub fn command(&self, text: &str) -> Result<BoundCommand, String> {
        let mut script = String::new();
        let mut shown = String::new();
        let mut env = Vec::new();
        let mut quote = Quote::None;
        for piece in expr::parse_template(text)? {
            match piece {
                Piece::Text(t) => {
                    quote = quote.after(&t);
                    script.push_str(&t);
                    shown.push_str(&t);
                }
                Piece::Hole(e, _) => {
                    let value = e.eval(&|p| self.lookup(p))?.to_string();
                    let name = format!("LIFEBOAT_IN_{}", env.len() + 1);
                    script.push_str(&match quote {
                        Quote::None => format!("\"${{{name}}}\""),
                        Quote::Double => format!("${{{name}}}"),
                        Quote::Single => format!("'\"${{{name}}}\"'"),
                    });
                    shown.push_str(&value);
                    env.push((name, value));
                }
            }
        }
        Ok(BoundCommand { script, shown, env })
    }

    pub fn condition(&self, e: &expr::Expr) -> Result<bool, String> {
        Ok(e.eval(&|p| self.lookup(p))?.truthy())
    }

    /// Resolves every string of an action's arguments. A string that is one whole
    /// expression keeps its value's type (`dry_run: "${{ inputs.dry }}"` stays a bool).
    pub fn args(&self, v: &Json) -> Result<Json, String> {
        Ok(match v {
            Json::String(s) => match expr::parse_template(s)?.as_slice() {
                [Piece::Hole(e, _)] => match e.eval(&|p| self.lookup(p))? {
                    Val::Bool(b) => Json::Bool(b),
                    Val::Num(n) => serde_json::Number::from_f64(n).map_or(Json::Null, Json::Number),
                    Val::Null => Json::Null,
                    Val::Str(s) => Json::String(s),
                },
                _ => Json::String(self.render(s)?),
            },
            Json::Array(items) => Json::Array(items.iter().map(|i| self.args(i)).collect::<Result<_, _>>()?),
            Json::Object(map) => {
                Json::Object(map.iter().map(|(k, v)| Ok((k.clone(), self.args(v)?))).collect::<Result<_, String>>()?)
            }
            other => other.clone(),
        })
    }
}

/// A `run:` command ready for `sh -c`: the script refers to its values, which travel in
/// the environment (and so never in argv, where `ps` would show a secret).
#[derive(Debug, Clone, PartialEq)]
pub struct BoundCommand {
    pub script: String,
    /// The command as a person reads it, values filled in (redacted in the log).
    pub shown: String,
    pub env: Vec<(String, String)>,
}

/// Where a position in `sh` text stands: outside quotes, in `"…"` or in `'…'`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quote {
    None,
    Double,
    Single,
}

impl Quote {
    fn after(self, text: &str) -> Quote {
        let mut q = self;
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            q = match (q, c) {
                (Quote::None | Quote::Double, '\\') => {
                    chars.next();
                    q
                }
                (Quote::None, '\'') => Quote::Single,
                (Quote::None, '"') => Quote::Double,
                (Quote::Single, '\'') | (Quote::Double, '"') => Quote::None,
                _ => q,
            };
        }
        q
    }
}
