//! `lifeboat run` and `lifeboat tabletop`: from flags to a running engine and back to an
//! exit code.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, ValueEnum};

use super::exit;
use crate::clock::{Clock, SystemClock, VirtualClock};
use crate::cloud::Provider;
use crate::cloud::sim::Sim;
use crate::engine::event::{Event, Mode, RunStatus};
use crate::engine::sink::{Redactor, Sink};
use crate::engine::{Engine, Prior, RunSpec};
use crate::journal::sign::Signer;
use crate::journal::{Journal, sha256_hex};
use crate::runbook::load::{Doc, Workspace};
use crate::runbook::model::{Answers, InputDefault, Runbook, StepKind};
use crate::runbook::raw::InputType;
use crate::runbook::time::{Duration, Timestamp, format_timestamp, parse_timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CloudArg {
    Sim,
    Aws,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    Live,
    Drill,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// The runbook file (optional with --resume: found by the id in the log)
    pub runbook: Option<PathBuf>,
    /// No terminal UI: progress on stderr, answers from --answers
    #[arg(long)]
    pub headless: bool,
    /// Answers for manual and approval steps (and inputs)
    #[arg(long, value_name = "FILE")]
    pub answers: Option<PathBuf>,
    /// Where actions go [default: aws for run, sim for tabletop]
    #[arg(long, value_enum)]
    pub cloud: Option<CloudArg>,
    /// With the simulated cloud, run the clock this many times faster than real time
    #[arg(long, value_name = "N")]
    pub speed: Option<u32>,
    /// `drill` refuses writes to production resources and counts as a restore drill
    #[arg(long, value_enum, default_value = "live")]
    pub mode: ModeArg,
    /// Incident log [default: incidents/<runbook-id>-<UTC time>.jsonl]
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// OpenSSH ed25519 private key that signs the log
    #[arg(long, value_name = "FILE", env = "LIFEBOAT_SIGN_KEY")]
    pub sign_key: Option<PathBuf>,
    /// Continue an interrupted run from its log
    #[arg(long, value_name = "LOG")]
    pub resume: Option<PathBuf>,
    /// Also write a JUnit XML report here
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Who runs it [default: $LIFEBOAT_OPERATOR, else $USER]
    #[arg(long)]
    pub operator: Option<String>,
    /// Runbook folder, to find the runbook of a resumed log
    #[arg(long, default_value = "runbooks")]
    pub dir: PathBuf,
    /// Failures for the simulated cloud to play (a rehearsal's surprises)
    #[arg(long, value_name = "FILE")]
    pub injects: Option<PathBuf>,
}

/// How long after the incident a rehearsal begins: detection and paging count too.
const PAGING_DELAY_SECS: i64 = 5 * 60;

fn err(msg: impl std::fmt::Display) -> u8 {
    let _ = writeln!(anstream::stderr(), "error: {msg}");
    exit::USAGE
}

fn operator(args: &RunArgs, answers: Option<&Answers>) -> String {
    args.operator
        .clone()
        .or_else(|| answers.and_then(|a| a.operator.clone()))
        .or_else(|| std::env::var("LIFEBOAT_OPERATOR").ok())
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// The runbook of a resumed log: its genesis names it.
fn find_runbook(dir: &Path, id: &str) -> Option<PathBuf> {
    crate::runbook::load::yaml_files(dir).ok()?.into_iter().find(|p| {
        matches!(crate::runbook::load::read(p).doc, Some(Doc::Runbook(r)) if r.id.as_ref().is_some_and(|x| x.value == id))
    })
}

/// Checks a value against an input's type and choices.
fn check_input(rb: &Runbook, name: &str, value: &str) -> Result<(), String> {
    let Some(def) = rb.inputs.iter().find(|i| i.name == name) else { return Ok(()) };
    let ok = match def.ty {
        InputType::String => Ok(()),
        InputType::Timestamp => parse_timestamp(value).map(|_| ()),
        InputType::Duration => Duration::parse(value).map(|_| ()),
        InputType::Bool => {
            matches!(value, "true" | "false").then_some(()).ok_or_else(|| "expected true or false".into())
        }
        InputType::Int => value.parse::<i64>().map(|_| ()).map_err(|_| "expected a whole number".into()),
    };
    ok.map_err(|why| format!("input `{name}`: `{value}` is not valid: {why}"))?;
    if !def.choices.is_empty() && !def.choices.iter().any(|c| c == value) {
        return Err(format!("input `{name}` must be one of: {}", def.choices.join(", ")));
    }
    Ok(())
}

/// Inputs from the answers file, then the environment, then defaults.
fn resolve_inputs(rb: &Runbook, answers: Option<&Answers>, now: Timestamp) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for def in &rb.inputs {
        let value = answers
            .and_then(|a| a.input(&def.name).map(str::to_string))
            .or_else(|| def.env.as_ref().and_then(|e| std::env::var(e).ok()))
            .or_else(|| match &def.default {
                Some(InputDefault::Now) => Some(format_timestamp(now)),
                Some(InputDefault::Value(v)) => Some(v.clone()),
                None => None,
            });
        let Some(value) = value else {
            let from = def.env.as_ref().map(|e| format!(", or set ${e}")).unwrap_or_default();
            return Err(format!(
                "input `{}` has no value: give it under `inputs:` in the answers file{from}",
                def.name
            ));
        };
        check_input(rb, &def.name, &value)?;
        out.insert(def.name.clone(), value);
    }
    Ok(out)
}

fn load_signer(args: &RunArgs) -> Result<Option<Signer>, String> {
    let Some(path) = &args.sign_key else { return Ok(None) };
    Signer::load(path, || {
        std::env::var("LIFEBOAT_SIGN_KEY_PASSPHRASE").ok().or_else(|| {
            std::io::stdin()
                .is_terminal()
                .then(|| rpassword::prompt_password(format!("passphrase for {}: ", path.display())).ok())
                .flatten()
        })
    })
    .map(Some)
    .map_err(|e| e.to_string())
}

pub fn run(args: RunArgs, tabletop: bool) -> u8 {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a tokio runtime");
    runtime.block_on(run_async(args, tabletop))
}

async fn run_async(args: RunArgs, tabletop: bool) -> u8 {
    let cloud = args.cloud.unwrap_or(if tabletop { CloudArg::Sim } else { CloudArg::Aws });
    if tabletop && cloud == CloudArg::Aws {
        return err(
            "a tabletop rehearsal runs on the simulated cloud; use `lifeboat run --mode drill` for a drill against AWS",
        );
    }
    if !args.headless {
        let _ = writeln!(anstream::stderr(), "note: the terminal UI is not built yet; running headless");
    }

    // What the log already holds, when resuming.
    let resumed = match &args.resume {
        Some(log) => match std::fs::read(log) {
            Ok(bytes) => {
                let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
                match serde_json::from_slice::<crate::engine::event::Record>(first) {
                    Ok(crate::engine::event::Record { event: Event::Genesis(g), .. }) => Some(*g),
                    _ => return err(format!("`{}` does not start with a lifeboat genesis line", log.display())),
                }
            }
            Err(e) => return err(format!("cannot read `{}`: {e}", log.display())),
        },
        None => None,
    };
    let runbook_path = match (&args.runbook, &resumed) {
        (Some(p), _) => p.clone(),
        (None, Some(g)) => match find_runbook(&args.dir, &g.runbook_id) {
            Some(p) => p,
            None => {
                return err(format!("runbook `{}` is not in `{}`; name its file", g.runbook_id, args.dir.display()));
            }
        },
        (None, None) => return err("name a runbook file (or --resume LOG)"),
    };

    // Load and check everything before anything runs.
    let mut ws = Workspace::default();
    let i = ws.add(&runbook_path);
    ws.check(i);
    let Some(runbook) = ws.runbook(i).cloned() else {
        let _ = write!(anstream::stderr(), "{}", ws.file(i).report().render());
        return err(format!("`{}` is not a valid runbook; nothing was run", runbook_path.display()));
    };
    let catalog = ws.catalog_for(&runbook_path).cloned().expect("a valid runbook has a catalog");
    let dataset = catalog.get(&runbook.dataset).cloned().expect("a valid runbook's dataset exists");
    let answers = match &args.answers {
        Some(path) => {
            let a = ws.add(path);
            if !matches!(ws.file(a).doc, Some(Doc::Answers(_))) && ws.file(a).cx.diags.is_empty() {
                return err(format!("`{}` is not an answers file", path.display()));
            }
            ws.check(a);
            let report = ws.file(a).report();
            if report.errors() > 0 {
                let _ = write!(anstream::stderr(), "{}", report.render());
                return err(format!("`{}` has errors; nothing was run", path.display()));
            }
            // Check the answers against this runbook too, even without `runbook:`.
            let mut cx = crate::runbook::decode::Cx::default();
            if let Some(Doc::Answers(raw)) = &ws.file(a).doc {
                let checked = crate::runbook::check::answers(raw, Some(&runbook), &mut cx);
                if !cx.diags.is_empty() {
                    let r = crate::runbook::diag::FileReport {
                        path: path.clone(),
                        source: ws.file(a).source.clone(),
                        diags: cx.diags,
                    };
                    let _ = write!(anstream::stderr(), "{}", r.render());
                    return err(format!("`{}` does not fit runbook `{}`; nothing was run", path.display(), runbook.id));
                }
                checked
            } else {
                None
            }
        }
        None => None,
    };
    let mut injects = Vec::new();
    if let Some(path) = &args.injects {
        let k = ws.add(path);
        ws.check(k);
        let report = ws.file(k).report();
        if report.errors() > 0 {
            let _ = write!(anstream::stderr(), "{}", report.render());
            return err(format!("`{}` has errors; nothing was run", path.display()));
        }
        let Some(Doc::Injects(raw)) = &ws.file(k).doc else {
            return err(format!("`{}` is not an injects file (kind: Injects)", path.display()));
        };
        for i in raw.injects.iter().flatten() {
            let text = |v: &Option<crate::runbook::yaml::Sp<String>>| v.as_ref().map(|x| x.value.clone());
            let code = text(&i.error).unwrap_or_default();
            injects.push(crate::cloud::sim::Inject {
                action: text(&i.action),
                step: text(&i.step),
                message: text(&i.message).unwrap_or_else(|| format!("{code} (injected)")),
                code,
                times: i.times.as_ref().map_or(1, |t| t.value),
                retryable: i.retryable.as_ref().is_some_and(|r| r.value),
            });
        }
    }
    if let (Some(g), Ok(bytes)) = (&resumed, std::fs::read(&runbook_path))
        && g.runbook_sha256 != sha256_hex(&bytes)
    {
        return err(format!(
            "`{}` changed since this run started (its SHA-256 differs from the log's); resume with the runbook as it was",
            runbook_path.display()
        ));
    }

    let mode = match (tabletop, cloud, args.mode) {
        (true, _, _) => Mode::Tabletop,
        (false, _, ModeArg::Drill) => Mode::Drill,
        (false, CloudArg::Sim, ModeArg::Live) => Mode::Replay,
        (false, CloudArg::Aws, ModeArg::Live) => Mode::Live,
    };
    if let Some(g) = &resumed
        && g.mode != mode
    {
        return err(format!("this log is a {} run; resume it the same way", g.mode.as_str()));
    }
    let speed = args.speed.unwrap_or(if tabletop { 60 } else { 600 }).max(1);
    let operator = operator(&args, answers.as_ref());
    let signer = match load_signer(&args) {
        Ok(s) => s,
        Err(e) => return err(e),
    };

    // The clock. A rehearsal starts a few minutes after the incident (the time it takes
    // to be paged), so a past incident time replays as if it were tonight; a resumed
    // rehearsal continues from the log's last moment.
    let start = match (&args.resume, &answers) {
        (Some(log), _) => last_time(log).unwrap_or_else(Timestamp::now),
        (None, a) if cloud == CloudArg::Sim => a
            .as_ref()
            .and_then(|a| a.input("incident_at"))
            .and_then(|t| parse_timestamp(t).ok())
            .unwrap_or_else(Timestamp::now)
            .checked_add(jiff::SignedDuration::from_secs(PAGING_DELAY_SECS))
            .unwrap_or_else(|_| Timestamp::now()),
        (None, _) => Timestamp::now(),
    };
    let clock: Arc<dyn Clock> = match cloud {
        CloudArg::Sim => Arc::new(VirtualClock::new(start, speed as f64)),
        CloudArg::Aws => Arc::new(SystemClock),
    };

    let (inputs, incident_started_at, run_id) = match &resumed {
        Some(g) => {
            let mut inputs: BTreeMap<String, String> =
                g.inputs.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect();
            // Secrets are not in the log: they come from the environment again.
            for def in runbook.inputs.iter().filter(|d| d.secret) {
                match def
                    .env
                    .as_ref()
                    .and_then(|e| std::env::var(e).ok())
                    .or_else(|| answers.as_ref().and_then(|a| a.input(&def.name).map(str::to_string)))
                {
                    Some(v) => {
                        inputs.insert(def.name.clone(), v);
                    }
                    None => {
                        return err(format!("secret input `{}` is not in the log; set it again to resume", def.name));
                    }
                }
            }
            let t = parse_timestamp(&g.incident_started_at).unwrap_or(start);
            (inputs, t, g.run_id.clone())
        }
        None => {
            let inputs = match resolve_inputs(&runbook, answers.as_ref(), clock.now()) {
                Ok(i) => i,
                Err(e) => return err(e),
            };
            let default_start = if cloud == CloudArg::Sim {
                start.checked_sub(jiff::SignedDuration::from_secs(PAGING_DELAY_SECS)).unwrap_or(start)
            } else {
                clock.now()
            };
            let t = inputs
                .get("incident_at")
                .filter(|_| runbook.inputs.iter().any(|d| d.name == "incident_at" && d.ty == InputType::Timestamp))
                .and_then(|v| parse_timestamp(v).ok())
                .unwrap_or(default_start);
            let run_id = format!("{}-{}-{:04x}", runbook.id, clock.now().strftime("%Y%m%dT%H%M%SZ"), fastrand::u16(..));
            (inputs, t, run_id)
        }
    };
    let secrets: Vec<String> =
        runbook.inputs.iter().filter(|d| d.secret).filter_map(|d| inputs.get(&d.name).cloned()).collect();

    // The log.
    let (journal, prior) = match &args.resume {
        Some(log) => match Journal::resume(log, signer, clock.now()) {
            Ok((j, existing)) => (j, Prior::from_records(&runbook, existing.records)),
            Err(e) => return err(e),
        },
        None => {
            let path = args.log.clone().unwrap_or_else(|| PathBuf::from(format!("incidents/{run_id}.jsonl")));
            match Journal::create(&path, signer) {
                Ok(j) => (j, Prior::default()),
                Err(e) => return err(e),
            }
        }
    };
    let log_path = journal.path().to_path_buf();
    let signer_public = journal.signer_public();
    let signed = journal.is_signed();
    let sink = Sink::new(Some(journal), Redactor::new(secrets));

    let provider: Arc<dyn Provider> = match cloud {
        CloudArg::Sim => {
            let sim = Sim::seeded(&catalog, clock.now(), incident_started_at);
            for inject in injects {
                sim.inject(inject);
            }
            Arc::new(sim)
        }
        CloudArg::Aws if !injects.is_empty() => return err("--injects plays failures on the simulated cloud only"),
        CloudArg::Aws => Arc::new(crate::cloud::aws::Aws::from_env().await),
    };
    let spec = RunSpec {
        runbook: runbook.clone(),
        catalog,
        dataset,
        mode,
        interactive: false,
        execute_commands: mode != Mode::Tabletop,
        workdir: runbook_path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from(".")),
        run_id,
        operator: operator.clone(),
        inputs,
        incident_started_at,
        skips: answers
            .iter()
            .flat_map(|a| a.steps.iter())
            .filter_map(|(id, ans)| match ans {
                crate::runbook::model::Answer::Skip(reason)
                    if runbook
                        .step(id)
                        .is_some_and(|s| !matches!(s.kind, StepKind::Manual { .. } | StepKind::Approval { .. })) =>
                {
                    Some((id.clone(), reason.clone()))
                }
                _ => None,
            })
            .collect(),
    };
    let first = if resumed.is_some() {
        Event::Resumed {
            by: operator.clone(),
            interrupted: {
                let mut v: Vec<String> = prior.interrupted.iter().cloned().collect();
                v.sort();
                v
            },
        }
    } else {
        let runbook_sha = std::fs::read(&runbook_path).map(|b| sha256_hex(&b)).unwrap_or_default();
        let answers_sha = args.answers.as_ref().and_then(|p| std::fs::read(p).ok()).map(|b| sha256_hex(&b));
        Engine::genesis(&spec, runbook_sha, answers_sha, signer_public, provider.name(), speed)
    };
    let tracker = crate::objectives::Tracker::new(&runbook, incident_started_at);
    let mut tracker_for_progress = tracker.clone();
    for r in &prior.records {
        tracker_for_progress.observe(r);
    }
    let progress = super::headless::progress(sink.subscribe(), tracker_for_progress);
    let (engine, commands) = Engine::new(spec, clock.clone(), provider, sink.clone(), prior);
    let answerer = super::headless::answerer(
        answers,
        args.answers.as_ref().map(|p| format!("`{}`", p.display())),
        operator.clone(),
        sink.subscribe(),
        commands.clone(),
    );
    // Ctrl-C or SIGTERM: stop cleanly, leave the log resumable.
    let stopper = commands.clone();
    let by = operator.clone();
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("a SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        let _ = stopper.send(crate::engine::Command::Detach { by, reason: "interrupted by a signal".into() });
    });
    let outcome = engine.run(first).await;
    drop(sink);
    answerer.abort();
    let _ = progress.await;

    let mut out = anstream::stderr();
    let outcome = match outcome {
        Ok(o) => o,
        Err(fatal) => {
            let _ = writeln!(out, "error: the incident log failed; the run stopped: {}", fatal.0);
            return exit::PROBLEM;
        }
    };
    let records = read_records(&log_path);
    let mut summary = crate::report::summarize(&records);
    if let Ok(v) = crate::journal::verify::verify_file(&log_path, None) {
        summary.verification = Some(super::verify::verdict_line(&v));
    }
    if let Some(path) = &args.junit
        && let Err(e) = std::fs::write(path, crate::report::junit(&summary))
    {
        let _ = writeln!(out, "warning: cannot write {}: {e}", path.display());
    }
    if let Ok(path) = std::env::var("GITHUB_STEP_SUMMARY")
        && let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path)
    {
        let _ = writeln!(f, "{}", crate::report::markdown(&summary));
    }
    let s = &outcome.objectives;
    let _ = writeln!(out);
    if outcome.detached {
        let _ = writeln!(out, "stopped: {}", outcome.reason.clone().unwrap_or_default());
        let _ = writeln!(
            out,
            "the log is kept and can be resumed: lifeboat {} {} --resume {}{}",
            if tabletop { "tabletop" } else { "run" },
            runbook_path.display(),
            log_path.display(),
            args.answers.as_ref().map(|a| format!(" --headless --answers {}", a.display())).unwrap_or_default()
        );
        return exit::PROBLEM;
    }
    let _ = writeln!(
        out,
        "{} {}: RTO {} of {} ({}), RPO {} of {} ({})",
        runbook.id,
        format!("{:?}", outcome.status).to_lowercase(),
        crate::report::human_ms(s.rto_elapsed_ms),
        crate::report::human_ms(s.rto_ms),
        if s.rto_met() { "met" } else { "MISSED" },
        s.achieved_rpo_ms.map(crate::report::human_ms).unwrap_or_else(|| "not measured".into()),
        crate::report::human_ms(s.rpo_ms),
        match s.rpo_met() {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "no restore reported a recovery point",
        }
    );
    if let Some(r) = &outcome.reason {
        let _ = writeln!(out, "reason: {r}");
    }
    let _ = writeln!(
        out,
        "log: {} ({})",
        log_path.display(),
        if signed { "signed and sealed" } else { "chained and sealed, unsigned: pass --sign-key to sign it" }
    );
    match outcome.status {
        RunStatus::Succeeded if s.rto_met() && s.rpo_met() != Some(false) => exit::OK,
        RunStatus::Succeeded => exit::MISSED,
        _ => exit::PROBLEM,
    }
}

fn read_records(path: &Path) -> Vec<crate::engine::event::Record> {
    crate::journal::records(&std::fs::read(path).unwrap_or_default())
}

fn last_time(log: &Path) -> Option<Timestamp> {
    read_records(log).last().and_then(|r| parse_timestamp(&r.time).ok())
}
