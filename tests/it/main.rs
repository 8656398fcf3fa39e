//! One integration test binary (link time matters on two cores): the real `lifeboat`
//! binary driven like a user would, plus property tests of the loader.

mod attack;
mod batch;
mod cleanup;
mod cli;
mod corpus;
pub mod engine;
mod evidence;
pub mod forecast;
pub mod journal;
mod model;
pub mod moto;
mod offsite;
pub mod proof;
mod props;
mod run;
pub mod sim;
mod tui;
mod twins;
mod verdicts;
mod volume;
mod watch;

use std::path::Path;
use std::process::{Command, Output};

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the real binary from the crate root, colour off, so output is stable.
pub fn lifeboat(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE")
        .output()
        .expect("the lifeboat binary runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every example runbook in `runbooks/` (each has an answers file): a new example is in
/// every test that walks them without anyone adding it to a list.
pub fn example_runbooks() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(root().join("runbooks"))
        .unwrap()
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            let id = name.strip_suffix(".yaml")?.to_string();
            (id != "datasets" && id != "roles").then_some(id)
        })
        .collect();
    out.sort();
    assert!(out.len() >= 6, "{out:?}");
    out
}

/// One action called on a cloud as the engine calls it: the catalog's first dataset,
/// the given clock and incident start (the clock's now unless given); its outcome and
/// the progress it reported.
pub async fn act(
    cloud: impl Into<lifeboat::cloud::Cloud>,
    clock: std::sync::Arc<dyn lifeboat::clock::Clock>,
    (catalog, incident): (&str, Option<lifeboat::runbook::time::Timestamp>),
    (action, args, step): (&str, serde_json::Value, &str),
) -> (Result<lifeboat::cloud::ActionResult, lifeboat::cloud::ActionError>, Vec<lifeboat::cloud::Progress>) {
    use lifeboat::cloud::{ActionCall, ActionCtx, Progress};
    use lifeboat::runbook::action_table as catalog;
    let catalog = lifeboat::runbook::load::catalog_from_str(catalog).unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    let progress = move |p: Progress| sink.lock().unwrap().push(p);
    let ctx = ActionCtx {
        clock: clock.clone(),
        progress: &progress,
        dataset: &catalog.datasets[0],
        incident_started_at: incident.unwrap_or_else(|| clock.now()),
        plan: None,
    };
    let call = ActionCall {
        spec: catalog::find(action).unwrap(),
        args: args.as_object().unwrap().clone(),
        run_id: "run-1".into(),
        step: step.into(),
    };
    let r = cloud.into().call(&call, &ctx).await;
    // Every output any test sees is one the action declares, in the form docs/actions.md
    // gives it (a count a JSON number, a time UTC to the second, …).
    if let Ok(r) = &r {
        for (name, value) in &r.outputs {
            assert!(call.spec.outputs.contains(&name.as_str()), "{action} gave `{name}`, which it does not declare");
            let doc = catalog::output_doc(name).unwrap();
            assert!(doc.shape.holds(value), "{action}: `{name}` = {value}, not a {}", doc.shape.describe());
        }
    }
    let seen = seen.lock().unwrap().clone();
    (r, seen)
}

/// An example runbook rehearsed with its own answers file, fast, its log at `log`.
/// `scripts/demo-approvals` run on a copy of the examples: demo keys for bob (incident
/// commander) and dora (data-protection officer) in `DIR/.demo-keys/`, the trust root
/// naming them, and the standing approvals the example answers files name.
pub fn demo_approvals(runbooks: &Path) {
    let out = Command::new("bash")
        .arg(root().join("scripts/demo-approvals"))
        .arg(runbooks)
        .env("LIFEBOAT", env!("CARGO_BIN_EXE_lifeboat"))
        .output()
        .unwrap();
    assert!(out.status.success(), "scripts/demo-approvals: {}{}", text(&out.stdout), text(&out.stderr));
}

/// A standing approval of `step` of the runbook `rb` signed with `key`, written to `out`.
pub fn standing(dir: &Path, rb: &Path, step: &str, key: &Path, out: &Path) {
    let until = lifeboat::runbook::time::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(3600))
        .unwrap()
        .to_string();
    let done = Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args(["approve", rb.to_str().unwrap(), "--step", step, "--standing", "--until", &until])
        .args(["--sign-key", key.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(done.status.success(), "{}", text(&done.stderr));
}

/// It runs in a copy of the examples beside the log, with the demo approvals made, so
/// the examples' four-eyes steps have their signed approvals.
pub fn tabletop_example(rb: &str, log: &Path, extra: &[&str]) -> Output {
    let beside = log.parent().unwrap().join(format!(".examples-{}", fastrand::u64(..)));
    std::fs::create_dir_all(&beside).unwrap();
    let copied = Command::new("cp").arg("-r").arg(root().join("runbooks")).arg(&beside).status().unwrap();
    assert!(copied.success());
    demo_approvals(&beside.join("runbooks"));
    let (runbook, answers) = (format!("runbooks/{rb}.yaml"), format!("runbooks/answers/{rb}.yaml"));
    let mut args = vec!["tabletop", &runbook, "--speed", "600", "--answers", &answers, "--log"];
    let log = std::path::absolute(log).unwrap().to_string_lossy().into_owned();
    args.push(&log);
    args.extend_from_slice(extra);
    Command::new(env!("CARGO_BIN_EXE_lifeboat"))
        .args(&args)
        .current_dir(&beside)
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE")
        .output()
        .expect("the lifeboat binary runs")
}
