//! From checked flags (or a start form) to a started engine: shared by the headless
//! front end and the terminal UI, so both start a run exactly the same way.

use std::collections::BTreeMap;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, ValueEnum};

use crate::clock::{Clock, SystemClock, VirtualClock};
use crate::cloud::Provider;
use crate::cloud::sim::Sim;
use crate::engine::sink::{Redactor, Sink};
use crate::engine::{Engine, Prior, RunSpec};
use crate::event::{Event, Mode};
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
    /// (1 to 10000) [default: 60 for tabletop, 600 for run --cloud sim]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=MAX_SPEED as i64))]
    pub speed: Option<u32>,
    /// `run` only: `drill` refuses writes to production resources and counts as a
    /// restore drill [default: live]
    #[arg(long, value_enum)]
    pub mode: Option<ModeArg>,
    /// Go on although the credentials belong to another account than the catalog names
    /// for the dataset (recorded in the log)
    #[arg(long)]
    pub account_mismatch_ok: bool,
    /// Incident log [default: incidents/<runbook-id>-<UTC time>.jsonl]
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// OpenSSH ed25519 private key that signs the log
    #[arg(long, value_name = "FILE", env = "LIFEBOAT_SIGN_KEY")]
    pub sign_key: Option<PathBuf>,
    /// Continue an interrupted run from its log
    #[arg(long, value_name = "LOG")]
    pub resume: Option<PathBuf>,
    /// Headless: wait this long (real time, e.g. 15m) for an approval the answers file
    /// does not give, signed with `lifeboat approve LOG --step …` from another terminal,
    /// before the run stops (resumable) [default: stop at once]
    #[arg(long, value_name = "DURATION", value_parser = parse_wait)]
    pub await_approvals: Option<std::time::Duration>,
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
    /// Write diagnostics (lifeboat's and the AWS SDK's requests, retries, timings) to
    /// LOG.diagnostics.log beside the incident log; LIFEBOAT_LOG=FILTER chooses what
    /// (e.g. `debug`, `aws_smithy_runtime=trace`). Secrets are scrubbed
    #[arg(long)]
    pub verbose: bool,
}

impl RunArgs {
    /// A run of this runbook with every flag at its default, as the home screen starts it.
    pub fn for_runbook(runbook: PathBuf, dir: PathBuf) -> RunArgs {
        RunArgs {
            runbook: Some(runbook),
            headless: false,
            answers: None,
            cloud: None,
            speed: None,
            mode: None,
            account_mismatch_ok: false,
            log: None,
            sign_key: std::env::var_os("LIFEBOAT_SIGN_KEY").map(PathBuf::from),
            resume: None,
            junit: None,
            await_approvals: None,
            operator: None,
            dir,
            injects: None,
            verbose: false,
        }
    }
}

fn parse_wait(text: &str) -> Result<std::time::Duration, String> {
    Duration::parse(text).map(|d| std::time::Duration::from_secs(d.secs()))
}

/// How long after the incident a rehearsal begins: detection and paging count too.
const PAGING_DELAY_SECS: i64 = 5 * 60;

/// The fastest clock: beyond it, the machine's own milliseconds of work would count as
/// minutes of virtual time and decide timeouts and the RTO.
pub const MAX_SPEED: u32 = 10_000;

/// How far ahead of this machine's clock an incident time may be (clock skew between
/// the machine that noted it and this one) before it is refused as in the future.
const FUTURE_SKEW_SECS: i64 = 5 * 60;

/// Who the AWS credentials belong to (STS GetCallerIdentity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub account: String,
    pub arn: String,
}

/// A message for the operator, printed as `error: …` at the binary edge.
fn err(msg: impl std::fmt::Display) -> String {
    msg.to_string()
}

/// Who runs this: the log names a person, never a placeholder.
fn operator(args: &RunArgs, answers: Option<&Answers>) -> Option<String> {
    named(args.operator.clone()).or_else(|| operator_named(answers.and_then(|a| a.operator.clone())))
}

fn named(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// `given`, else $LIFEBOAT_OPERATOR, else $USER (blank names are no names).
pub fn operator_named(given: Option<String>) -> Option<String> {
    named(given)
        .or_else(|| named(std::env::var("LIFEBOAT_OPERATOR").ok()))
        .or_else(|| named(std::env::var("USER").ok()))
}

/// The runbook of a resumed log: its genesis names it.
fn find_runbook(dir: &Path, id: &str) -> Option<PathBuf> {
    crate::runbook::load::yaml_files(dir).ok()?.into_iter().find(|p| {
        matches!(crate::runbook::load::read(p).doc, Some(Doc::Runbook(r)) if r.id.as_ref().is_some_and(|x| x.value == id))
    })
}

/// What `lifeboat watch` needs to draw a run it did not start: the runbook the genesis
/// names (found in `dir` by id, loaded and checked as a run would load it), the meta, and
/// a tracker at the incident's start. The last value says why the picture may be wrong
/// (the runbook file changed since the run began), for the banner.
pub fn watched(
    g: &crate::event::Genesis,
    dir: &Path,
    source: &str,
) -> Result<(RunMeta, crate::objectives::Tracker, Option<String>), String> {
    let Some(runbook_path) = find_runbook(dir, &g.runbook_id) else {
        return Err(format!(
            "the run follows runbook `{}`, which is not in `{}`; pass the folder that holds it with --dir",
            crate::printable::line(&g.runbook_id),
            dir.display()
        ));
    };
    let mut ws = Workspace::default();
    let i = ws.add(&runbook_path);
    ws.check(i);
    let Some(runbook) = ws.runbook(i).cloned() else {
        return Err(format!("{}`{}` is not a valid runbook", ws.file(i).report().render(), runbook_path.display()));
    };
    let doubt = match std::fs::read(&runbook_path) {
        Ok(bytes) if sha256_hex(&bytes) == g.runbook_sha256 => None,
        _ => Some(format!(
            "RUNBOOK DIFFERS: {} is not the file the run started with (SHA-256); steps may be drawn wrong",
            runbook_path.display()
        )),
    };
    let started = parse_timestamp(&g.incident_started_at).map_err(|e| {
        format!("the genesis's incident_started_at `{}`: {e}", crate::printable::line(&g.incident_started_at))
    })?;
    let tracker = crate::objectives::Tracker::new(&runbook, started);
    let meta = RunMeta {
        runbook,
        runbook_path,
        log_path: PathBuf::from(source),
        signed: g.signer.is_some(),
        // The log is outside text here, not this session's own input.
        operator: crate::printable::line(&g.operator).into_owned(),
        mode: g.mode,
        cloud: if g.cloud == "aws" { "aws" } else { "sim" },
        speed: g.clock_speed.max(1),
        tabletop: g.mode == Mode::Tabletop,
        answers_path: None,
        junit: None,
        await_approvals: None,
        copy_problems: vec![],
    };
    Ok((meta, tracker, doubt))
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

/// An input's value from the answers file, then the environment, then its default.
fn input_value(def: &crate::runbook::model::InputDef, answers: Option<&Answers>, now: Timestamp) -> Option<String> {
    answers
        .and_then(|a| a.input(&def.name).map(str::to_string))
        .or_else(|| def.env.as_ref().and_then(|e| std::env::var(e).ok()))
        .or_else(|| match &def.default {
            Some(InputDefault::Now) => Some(format_timestamp(now)),
            Some(InputDefault::Value(v)) => Some(v.clone()),
            None => None,
        })
}

/// Inputs from the answers file, then the environment, then defaults.
fn resolve_inputs(rb: &Runbook, answers: Option<&Answers>, now: Timestamp) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for def in &rb.inputs {
        let Some(value) = input_value(def, answers, now) else {
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

/// Asks a person for the passphrase of a signing key (the command line does; the
/// terminal UI never does, holding the terminal in raw mode).
pub type AskPassphrase<'a> = &'a dyn Fn(&Path) -> Option<String>;

/// The signing key, unlocked now, before any screen takes the terminal.
fn load_signer(args: &RunArgs, ask: Option<AskPassphrase>) -> Result<Option<Signer>, String> {
    let Some(path) = &args.sign_key else { return Ok(None) };
    Signer::load(path, || std::env::var("LIFEBOAT_SIGN_KEY_PASSPHRASE").ok().or_else(|| ask.and_then(|ask| ask(path))))
        .map(Some)
        .map_err(|e| e.to_string())
}

/// The trust root (as `verify` finds it) and `roles.yaml` beside the runbook's catalog,
/// checked as `validate` checks them.
fn authority(ws: &mut Workspace, runbook_path: &Path) -> Result<crate::engine::Authority, String> {
    let dir = runbook_path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let trust = crate::journal::trust::load(None, dir)?.map(|(_, t)| t);
    let roles = ws.roles_in(dir);
    let path = dir.join(crate::runbook::load::ROLES_FILE);
    if roles.is_none() && path.is_file() {
        let i = ws.add(&path);
        let report = ws.file(i).report();
        return Err(format!("{}`{}` is not a valid roles file; nothing was run", report.render(), path.display()));
    }
    Ok(crate::engine::Authority { trust, roles, ..Default::default() })
}

/// What the operator chooses on the start form (or the flags choose for them).
#[derive(Debug, Clone)]
pub struct Choice {
    /// `None`: from the answers file, the environment and the defaults.
    pub inputs: Option<BTreeMap<String, String>>,
    pub operator: String,
    pub mode: ChosenMode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChosenMode {
    Live,
    Drill,
    Tabletop,
}

impl ChosenMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ChosenMode::Live => "live",
            ChosenMode::Drill => "drill",
            ChosenMode::Tabletop => "tabletop",
        }
    }
}

/// Everything checked and loaded; nothing started, no log written.
pub struct Setup {
    pub args: RunArgs,
    pub tabletop: bool,
    pub runbook: Runbook,
    pub runbook_path: PathBuf,
    pub catalog: crate::runbook::model::Catalog,
    pub dataset: crate::runbook::model::Dataset,
    pub answers: Option<Answers>,
    injects: Vec<crate::cloud::sim::Inject>,
    pub resumed: Option<crate::event::Genesis>,
    /// Who the AWS credentials belong to, asked before anything starts (`preflight`).
    pub identity: Option<Result<Identity, String>>,
    signer: Option<Signer>,
    operator: String,
    /// The trust root and the roles file beside the catalog: who may approve with a key.
    authority: crate::engine::Authority,
}

/// A run under way: the engine and everything a front end needs to watch and steer it.
pub struct Started {
    pub engine: Engine,
    pub commands: tokio::sync::mpsc::UnboundedSender<crate::engine::Command>,
    pub first: Event,
    pub sink: Sink,
    pub tracker: crate::objectives::Tracker,
    pub prior_records: Vec<crate::event::Record>,
    pub clock: Arc<dyn Clock>,
    pub answers: Option<Answers>,
    pub meta: RunMeta,
    /// The log's copy to the catalog's evidence bucket, finished after the run.
    pub copy: Option<crate::offsite::Copier>,
}

/// What a front end shows about a run, and what the closing summary needs.
#[derive(Debug, Clone)]
pub struct RunMeta {
    pub runbook: Runbook,
    pub runbook_path: PathBuf,
    pub log_path: PathBuf,
    pub signed: bool,
    pub operator: String,
    pub mode: Mode,
    pub cloud: &'static str,
    pub speed: u32,
    pub tabletop: bool,
    pub answers_path: Option<PathBuf>,
    pub junit: Option<PathBuf>,
    /// Headless: how long an approval the answers do not give is waited for in the inbox.
    pub await_approvals: Option<std::time::Duration>,
    /// What the log's copy to the evidence bucket could not write (said at the end).
    pub copy_problems: Vec<String>,
}

impl Setup {
    /// `ask`: how to ask for a key's passphrase, where a person can be asked. An error
    /// holds the whole diagnostic (file, line, column) for the caller to show.
    pub fn load(mut args: RunArgs, tabletop: bool, ask: Option<AskPassphrase>) -> Result<Setup, String> {
        // One forgotten flag in CI must not be a production change: a headless run has
        // no start form where a person sees where it goes, so it names its cloud (a
        // resume goes where the run went).
        if args.headless && !tabletop && args.cloud.is_none() && args.resume.is_none() {
            return Err(err(
                "a headless run names its cloud: `--cloud aws` to run against AWS for real, `--cloud sim` to replay on the simulated cloud; nothing was run",
            ));
        }
        let cloud = args.cloud.unwrap_or(if tabletop { CloudArg::Sim } else { CloudArg::Aws });
        // A flag the command cannot honour is refused, never quietly ignored.
        if tabletop && cloud == CloudArg::Aws {
            return Err(err(
                "a tabletop rehearsal runs on the simulated cloud; use `lifeboat run --mode drill` for a drill against AWS",
            ));
        }
        if tabletop && let Some(m) = args.mode {
            return Err(err(format!(
                "`tabletop` is a rehearsal on the simulated cloud and cannot be a {} run; use `lifeboat run --mode {}`",
                if m == ModeArg::Drill { "drill" } else { "live" },
                if m == ModeArg::Drill { "drill" } else { "live" },
            )));
        }
        if cloud == CloudArg::Aws && args.speed.is_some() {
            return Err(err(
                "`--speed` sets the simulated cloud's clock; a run against AWS keeps real time (drop `--speed`, or use `--cloud sim`)",
            ));
        }
        if cloud == CloudArg::Aws && args.injects.is_some() {
            return Err(err("`--injects` plays failures on the simulated cloud only; drop it, or use `--cloud sim`"));
        }
        if args.await_approvals.is_some() && !args.headless {
            return Err(err("`--await-approvals` is for headless runs; at a terminal the approval dialog waits"));
        }
        if cloud == CloudArg::Sim && args.account_mismatch_ok {
            return Err(err("`--account-mismatch-ok` is about AWS credentials; the simulated cloud has none"));
        }
        // What the log already holds, when resuming.
        let resumed = match &args.resume {
            Some(log) => match std::fs::read(log) {
                Ok(bytes) => {
                    let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
                    match serde_json::from_slice::<crate::event::Record>(first) {
                        Ok(crate::event::Record { event: Event::Genesis(g), .. }) => Some(*g),
                        _ => {
                            return Err(err(format!(
                                "`{}` does not start with a lifeboat genesis line",
                                log.display()
                            )));
                        }
                    }
                }
                Err(e) => return Err(err(format!("cannot read `{}`: {e}", log.display()))),
            },
            None => None,
        };
        // A resume without `--cloud` goes on where the run began, never to AWS by default.
        if let (None, Some(g)) = (args.cloud, &resumed) {
            args.cloud = Some(if g.cloud == "aws" { CloudArg::Aws } else { CloudArg::Sim });
        }
        let runbook_path = match (&args.runbook, &resumed) {
            (Some(p), _) => p.clone(),
            (None, Some(g)) => match find_runbook(&args.dir, &g.runbook_id) {
                Some(p) => p,
                None => {
                    return Err(err(format!(
                        "runbook `{}` is not in `{}`; name its file",
                        g.runbook_id,
                        args.dir.display()
                    )));
                }
            },
            (None, None) => return Err(err("name a runbook file (or --resume LOG)")),
        };

        if !runbook_path.is_file() {
            return Err(err(format!(
                "there is no runbook file `{}`{}; nothing was run",
                runbook_path.display(),
                if runbook_path.exists() { " (it is a folder)" } else { "" }
            )));
        }
        // Load and check everything before anything runs.
        let mut ws = Workspace::default();
        let i = ws.add(&runbook_path);
        ws.check(i);
        let Some(runbook) = ws.runbook(i).cloned() else {
            return Err(format!(
                "{}`{}` is not a valid runbook; nothing was run",
                ws.file(i).report().render(),
                runbook_path.display()
            ));
        };
        let catalog = ws.catalog_for(&runbook_path).cloned().expect("a valid runbook has a catalog");
        let dataset = catalog.get(&runbook.dataset).cloned().expect("a valid runbook's dataset exists");
        let answers = match &args.answers {
            Some(path) => {
                let a = ws.add(path);
                if !matches!(ws.file(a).doc, Some(Doc::Answers(_))) && ws.file(a).cx.diags.is_empty() {
                    return Err(err(format!("`{}` is not an answers file", path.display())));
                }
                ws.check(a);
                let report = ws.file(a).report();
                if report.errors() > 0 {
                    return Err(format!("{}`{}` has errors; nothing was run", report.render(), path.display()));
                }
                // Check the answers against this runbook too, even without `runbook:`.
                let mut cx = crate::runbook::decode::Cx::default();
                if let Some(Doc::Answers(raw)) = &ws.file(a).doc {
                    let checked = crate::runbook::check::answers(raw, Some(&runbook), &mut cx);
                    // Warnings (a typed name under four eyes) are said when the step is
                    // reached; only errors keep the run from starting.
                    cx.diags.retain(|d| d.severity() == crate::runbook::diag::Severity::Error);
                    if !cx.diags.is_empty() {
                        let r = crate::runbook::diag::FileReport {
                            path: path.clone(),
                            source: ws.file(a).source.clone(),
                            diags: cx.diags,
                        };
                        return Err(format!(
                            "{}`{}` does not fit runbook `{}`; nothing was run",
                            r.render(),
                            path.display(),
                            runbook.id
                        ));
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
                return Err(format!("{}`{}` has errors; nothing was run", report.render(), path.display()));
            }
            let Some(Doc::Injects(raw)) = &ws.file(k).doc else {
                return Err(err(format!("`{}` is not an injects file (kind: Injects)", path.display())));
            };
            for i in raw.injects.iter().flatten() {
                let text = |v: &Option<crate::runbook::yaml::Sp<String>>| v.as_ref().map(|x| x.value.clone());
                let code = text(&i.error).unwrap_or_default();
                injects.push(crate::cloud::sim::Inject {
                    action: text(&i.action),
                    step: text(&i.step),
                    operation: text(&i.operation),
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
            return Err(err(format!(
                "`{}` changed since this run started (its SHA-256 differs from the log's); resume with the runbook as it was",
                runbook_path.display()
            )));
        }

        let operator = operator(&args, answers.as_ref()).unwrap_or_default();
        let signer = load_signer(&args, ask)?;
        let authority = authority(&mut ws, &runbook_path)?;
        Ok(Setup {
            authority,
            operator,
            args,
            tabletop,
            runbook,
            runbook_path,
            catalog,
            dataset,
            answers,
            injects,
            resumed,
            identity: None,
            signer,
        })
    }

    /// Where actions go.
    pub fn cloud(&self) -> CloudArg {
        self.args.cloud.unwrap_or(if self.tabletop { CloudArg::Sim } else { CloudArg::Aws })
    }

    /// The modes this command can start: a rehearsal is only ever a rehearsal.
    pub fn modes(&self) -> Vec<ChosenMode> {
        if self.tabletop {
            vec![ChosenMode::Tabletop]
        } else {
            vec![ChosenMode::Live, ChosenMode::Drill, ChosenMode::Tabletop]
        }
    }

    /// Before a run against AWS: whose credentials these are (STS GetCallerIdentity), so
    /// the confirmation names the real account and a wrong one is refused.
    pub async fn preflight(&mut self) {
        if self.cloud() == CloudArg::Aws && !self.tabletop && self.identity.is_none() {
            let aws = crate::cloud::aws::Aws::from_env().await;
            self.identity = Some(caller_identity(&aws).await);
        }
    }

    /// The catalog's account for the dataset, when the credentials belong to another.
    fn other_account(&self, id: &Identity) -> Option<&str> {
        self.dataset.primary.account.as_deref().filter(|want| *want != id.account)
    }

    /// Refuses a live or drill run whose credentials are not the catalog's account for
    /// the dataset (unless `--account-mismatch-ok`); returns what the genesis records.
    fn check_identity(&self) -> Result<Option<crate::event::Caller>, String> {
        let Some(found) = &self.identity else {
            return Err("the AWS credentials were not checked (STS GetCallerIdentity); nothing was run".into());
        };
        let id = found.clone().map_err(|e| {
            format!("cannot tell whose AWS credentials these are (STS GetCallerIdentity failed: {e}); nothing was run")
        })?;
        if let Some(want) = self.other_account(&id)
            && !self.args.account_mismatch_ok
        {
            return Err(format!(
                "the AWS credentials are for account {} ({}), but the catalog puts dataset `{}` in account {want}; nothing was run. Use the right profile, or pass --account-mismatch-ok to go on (it is recorded)",
                id.account, id.arn, self.dataset.id
            ));
        }
        let account_mismatch_ok = self.other_account(&id).is_some();
        Ok(Some(crate::event::Caller { account: id.account, arn: id.arn, account_mismatch_ok }))
    }

    /// The operator: the flag, the answers file, `LIFEBOAT_OPERATOR`, then `$USER`.
    pub fn operator(&self) -> String {
        self.operator.clone()
    }

    pub fn default_choice(&self) -> Choice {
        let mode = match (self.tabletop, self.args.mode) {
            (true, _) => ChosenMode::Tabletop,
            (false, Some(ModeArg::Drill)) => ChosenMode::Drill,
            (false, _) => ChosenMode::Live,
        };
        Choice { inputs: None, operator: self.operator(), mode }
    }

    /// The value each input starts with on the form: answers, environment, default.
    pub fn prefill(&self, now: Timestamp) -> Vec<(crate::runbook::model::InputDef, String)> {
        self.runbook
            .inputs
            .iter()
            .map(|def| (def.clone(), input_value(def, self.answers.as_ref(), now).unwrap_or_default()))
            .collect()
    }

    /// Checks one input's value as the form and the answers file are checked.
    pub fn check_input(&self, name: &str, value: &str) -> Result<(), String> {
        check_input(&self.runbook, name, value)
    }

    /// Where a run with this choice acts: the account and region it names on the form.
    pub fn target(&self, mode: ChosenMode) -> String {
        match (mode, self.args.cloud) {
            (ChosenMode::Tabletop, _) | (_, Some(CloudArg::Sim)) => "the simulated cloud".into(),
            _ => match &self.identity {
                Some(Ok(id)) => {
                    let mismatch = self
                        .other_account(id)
                        .map(|want| format!(" — NOT the catalog's account {want}"))
                        .unwrap_or_default();
                    format!("AWS account {} as {} in {}{mismatch}", id.account, id.arn, self.dataset.primary.region)
                }
                Some(Err(e)) => format!("AWS (credentials not usable: {e})"),
                None => format!("AWS in {} (credentials not checked yet)", self.dataset.primary.region),
            },
        }
    }

    /// What `start` would refuse with this choice, before anything is written: the form
    /// says it and stays, rather than the screen closing on it.
    pub fn refusal(&self, choice: &Choice) -> Option<String> {
        self.refused_before_start(choice).err()
    }

    fn refused_before_start(&self, choice: &Choice) -> Result<Option<crate::event::Caller>, String> {
        if self.tabletop && choice.mode != ChosenMode::Tabletop {
            return Err("a tabletop rehearsal cannot become a live or drill run; use `lifeboat run`".into());
        }
        if choice.operator.trim().is_empty() {
            return Err("nobody is named as the operator, and the log must say who ran this: pass --operator NAME, \
                 set LIFEBOAT_OPERATOR, or give `operator:` in the answers file (nothing was run)"
                .into());
        }
        let tabletop = choice.mode == ChosenMode::Tabletop;
        let cloud = if tabletop { CloudArg::Sim } else { self.cloud() };
        if cloud == CloudArg::Aws { self.check_identity() } else { Ok(None) }
    }

    /// Writes the genesis (or the resume line) and builds the engine; nothing runs until
    /// `engine.run`.
    pub async fn start(self, choice: Choice) -> Result<Started, String> {
        let caller = self.refused_before_start(&choice)?;
        let tabletop = choice.mode == ChosenMode::Tabletop;
        let cloud = if tabletop { CloudArg::Sim } else { self.cloud() };
        let Setup {
            args,
            runbook,
            runbook_path,
            catalog,
            dataset,
            answers,
            injects,
            resumed,
            signer: self_signer,
            mut authority,
            ..
        } = self;
        let mode = match (choice.mode, cloud) {
            (ChosenMode::Tabletop, _) => Mode::Tabletop,
            (ChosenMode::Drill, _) => Mode::Drill,
            (ChosenMode::Live, CloudArg::Sim) => Mode::Replay,
            (ChosenMode::Live, CloudArg::Aws) => Mode::Live,
        };
        if let Some(g) = &resumed
            && g.mode != mode
        {
            return Err(format!("this log is a {} run; resume it the same way", g.mode.as_str()));
        }
        let pinned = CatalogPin::of(&runbook_path, &dataset);
        if let Some(g) = &resumed {
            pinned.same_as(&g.provenance)?;
        }
        // A resumed rehearsal keeps the pace it was started at unless told otherwise.
        let speed =
            args.speed.or(resumed.as_ref().map(|g| g.clock_speed)).unwrap_or(if tabletop { 60 } else { 600 }).max(1);
        let operator = choice.operator.clone();
        let signer = self_signer;

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
                // Secrets are not in the log: they come from the environment again, and
                // so does any value a secret was redacted out of.
                let again: Vec<&crate::runbook::model::InputDef> = runbook
                    .inputs
                    .iter()
                    .filter(|d| {
                        d.secret || inputs.get(&d.name).is_some_and(|v| v.contains(crate::engine::sink::REDACTED))
                    })
                    .collect();
                for def in again {
                    match input_value(def, answers.as_ref(), start) {
                        Some(v) => {
                            inputs.insert(def.name.clone(), v);
                        }
                        None => {
                            return Err(format!(
                                "input `{}` is not in the log (a secret, or redacted); set it again to resume",
                                def.name
                            ));
                        }
                    }
                }
                let t = parse_timestamp(&g.incident_started_at).unwrap_or(start);
                (inputs, t, g.run_id.clone())
            }
            None => {
                let inputs = match &choice.inputs {
                    Some(given) => {
                        for (k, v) in given {
                            check_input(&runbook, k, v)?;
                        }
                        given.clone()
                    }
                    None => resolve_inputs(&runbook, answers.as_ref(), clock.now())?,
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
                // An incident cannot have begun after now: such a time would make every
                // objective look met (an RTO of 0ms) and every restore too late.
                let real_now = Timestamp::now();
                if t.duration_since(real_now).as_secs() > FUTURE_SKEW_SECS {
                    return Err(format!(
                        "the incident start {} is in the future (it is {} now); give the time the incident began (`incident_at`), nothing was run",
                        format_timestamp(t),
                        format_timestamp(real_now)
                    ));
                }
                let run_id =
                    format!("{}-{}-{:04x}", runbook.id, clock.now().strftime("%Y%m%dT%H%M%SZ"), fastrand::u16(..));
                (inputs, t, run_id)
            }
        };
        let secrets: Vec<String> =
            runbook.inputs.iter().filter(|d| d.secret).filter_map(|d| inputs.get(&d.name).cloned()).collect();
        if let Some(def) =
            runbook.inputs.iter().filter(|d| d.secret).find(|d| {
                inputs.get(&d.name).is_some_and(|v| v.chars().count() < crate::engine::sink::MIN_SECRET_CHARS)
            })
        {
            return Err(format!(
                "secret input `{}` is shorter than {} characters: so short a value cannot be told apart from \
                 ordinary text, and redacting it would rewrite the log; use the real secret (nothing was run)",
                def.name,
                crate::engine::sink::MIN_SECRET_CHARS
            ));
        }

        // The log.
        let mut adopted = None;
        let (journal, prior) = match &args.resume {
            Some(log) => match Journal::resume(log, signer, clock.now()) {
                Ok((j, existing)) => {
                    adopted = existing.adopted.clone();
                    let prior = Prior::from_records(&runbook, existing.records);
                    if args.headless {
                        lost_needs_rerun(&prior, answers.as_ref())?;
                    }
                    (j, prior)
                }
                Err(e) => return Err(e.to_string()),
            },
            None => {
                let path = args.log.clone().unwrap_or_else(|| PathBuf::from(format!("incidents/{run_id}.jsonl")));
                match Journal::create(&path, signer) {
                    Ok(j) => (j, Prior::default()),
                    Err(e) => return Err(e.to_string()),
                }
            }
        };
        let log_path = journal.path().to_path_buf();
        // What a command inherits but must never be written: the key's passphrase, AWS's
        // secret credentials.
        let secrets: Vec<String> = secrets.into_iter().chain(crate::engine::sink::environment_secrets()).collect();
        crate::diagnostics::attach(&log_path, &secrets)?;
        tracing::info!(run_id = %run_id, log = %log_path.display(), "run starting");
        let signer_public = journal.signer_public();
        let signed = journal.is_signed();
        let sink = Sink::new(Some(journal), Redactor::new(secrets));

        let mut aws_backend: Option<Arc<crate::cloud::aws::Aws>> = None;
        let provider: Arc<dyn Provider> = match cloud {
            CloudArg::Sim => {
                let damage = crate::cloud::sim::Damage::of(runbook.scenario);
                let sim = Sim::seeded_for(&catalog, clock.now(), incident_started_at, Some(&runbook.dataset), damage);
                for inject in injects {
                    sim.inject(inject);
                }
                Arc::new(sim)
            }
            CloudArg::Aws if !injects.is_empty() => {
                return Err("--injects plays failures on the simulated cloud only".into());
            }
            CloudArg::Aws => {
                let aws = Arc::new(crate::cloud::aws::Aws::from_env().await);
                aws_backend = Some(aws.clone());
                aws
            }
        };
        let endpoint = aws_backend.as_ref().and_then(|a| a.custom_endpoint());
        // The log's immutable copy, for runs against AWS (a rehearsal needs no account);
        // its `inbox/` takes approvals from people who cannot reach this machine.
        let mut bucket_inbox = None;
        let copy = match (&catalog.evidence, aws_backend) {
            (Some(e), Some(aws)) => {
                let place =
                    crate::offsite::Place { bucket: e.bucket.clone(), prefix: format!("{}{run_id}/", e.prefix) };
                let warner = sink.clone();
                let at_clock = clock.clone();
                let warn = Box::new(move |message: String| {
                    let _ = warner.emit(at_clock.now(), Event::Warning { code: "evidence_copy".into(), message });
                });
                let reach =
                    crate::cloud::port::Reach { region: e.region.clone(), role_arn: None, clock: clock.clone() };
                match crate::cloud::port::Backend::s3(aws.as_ref(), &reach).await {
                    Ok(s3) => {
                        bucket_inbox = Some((s3.clone(), place.clone()));
                        Some(crate::offsite::Copier::start(s3, place, log_path.clone(), sink.subscribe(), warn))
                    }
                    Err(err) => {
                        // Said once the log has begun (its first line is the genesis).
                        let mut first = sink.subscribe();
                        tokio::spawn(async move {
                            if first.recv().await.is_some() {
                                warn(format!("no copy of this log goes to {}: {err}", place.url()));
                            }
                        });
                        None
                    }
                }
            }
            _ => None,
        };
        authority.run_key = signer_public.as_deref().map(crate::journal::key_only);
        authority.runbook_sha256 = std::fs::read(&runbook_path).map(|b| sha256_hex(&b)).unwrap_or_default();
        authority.log = Some(log_path.clone());
        let spec = RunSpec {
            authority,
            runbook: runbook.clone(),
            catalog,
            dataset,
            mode,
            interactive: !args.headless,
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
                        if runbook.step(id).is_some_and(|s| {
                            !matches!(s.kind, StepKind::Manual { .. } | StepKind::Approval { .. })
                        }) =>
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
                adopted,
            }
        } else {
            let runbook_sha = std::fs::read(&runbook_path).map(|b| sha256_hex(&b)).unwrap_or_default();
            let answers_sha = args.answers.as_ref().and_then(|p| std::fs::read(p).ok()).map(|b| sha256_hex(&b));
            let mut genesis =
                Engine::genesis(&spec, runbook_sha, answers_sha, signer_public, provider.name(), speed, caller);
            if let Event::Genesis(g) = &mut genesis {
                g.provenance = crate::event::Provenance {
                    wall: Some(format_timestamp(Timestamp::now())),
                    catalog_sha256: pinned.sha256.clone(),
                    resources: pinned.resources.clone(),
                    endpoint,
                };
            }
            genesis
        };
        let tracker = crate::objectives::Tracker::new(&runbook, incident_started_at);
        let mut tracker_for_progress = tracker.clone();
        for r in &prior.vouched {
            tracker_for_progress.observe(r);
        }
        let prior_records = prior.records.clone();
        let (engine, commands) = Engine::new(spec, clock.clone(), provider, sink.clone(), prior);
        crate::inbox::watch(log_path.clone(), &commands);
        if let Some((s3, place)) = bucket_inbox {
            crate::inbox::watch_bucket(s3, place, &commands);
        }
        Ok(Started {
            engine,
            commands,
            first,
            sink,
            tracker: tracker_for_progress,
            prior_records,
            clock,
            answers,
            copy,
            meta: RunMeta {
                runbook,
                runbook_path,
                log_path,
                signed,
                operator,
                mode,
                cloud: if cloud == CloudArg::Sim { "sim" } else { "aws" },
                speed,
                tabletop,
                answers_path: args.answers.clone(),
                junit: args.junit.clone(),
                await_approvals: args.await_approvals,
                copy_problems: vec![],
            },
        })
    }
}

/// The catalog a run begins under, as its genesis records it.
struct CatalogPin {
    sha256: Option<String>,
    resources: Vec<String>,
}

impl CatalogPin {
    fn of(runbook_path: &Path, dataset: &crate::runbook::model::Dataset) -> CatalogPin {
        let dir = runbook_path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let sha256 = std::fs::read(dir.join(crate::runbook::load::CATALOG_FILE)).ok().map(|b| sha256_hex(&b));
        let resources = dataset
            .resources
            .iter()
            .map(|r| {
                format!("{} {} {} {}", r.kind, r.id, r.role, r.region.as_deref().unwrap_or(&dataset.primary.region))
            })
            .collect();
        CatalogPin { sha256, resources }
    }

    /// A resume goes on under the catalog the run began under, or not at all: a bucket
    /// relabelled from `production` to `drill` in between would let a drill write to it.
    fn same_as(&self, then: &crate::event::Provenance) -> Result<(), String> {
        let Some(was) = &then.catalog_sha256 else { return Ok(()) };
        if self.sha256.as_ref() == Some(was) {
            return Ok(());
        }
        let gone: Vec<&String> = then.resources.iter().filter(|r| !self.resources.contains(r)).collect();
        let new: Vec<&String> = self.resources.iter().filter(|r| !then.resources.contains(r)).collect();
        let what = if gone.is_empty() && new.is_empty() {
            "this dataset's resources are the same; another part of the file changed".to_string()
        } else {
            let list = |v: &[&String]| {
                v.iter().map(|r| format!("`{}`", crate::printable::line(r))).collect::<Vec<_>>().join(", ")
            };
            format!("then {}; now {}", list(&gone), list(&new))
        };
        Err(format!(
            "the catalog ({}) changed since this run began (SHA-256 {} then, {} now): {what}. Resume under the catalog \
             the run began with, or start a new run; nothing was run",
            crate::runbook::load::CATALOG_FILE,
            &was[..was.len().min(16)],
            self.sha256.as_deref().map(|s| &s[..s.len().min(16)]).unwrap_or("none")
        ))
    }
}

/// Ctrl-C or SIGTERM: stop cleanly, leave the log resumable.
pub fn detach_on_signal(commands: tokio::sync::mpsc::UnboundedSender<crate::engine::Command>, by: String) {
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("a SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        let _ = commands.send(crate::engine::Command::Detach { by, reason: "interrupted by a signal".into() });
    });
}

pub fn read_records(path: &Path) -> Vec<crate::event::Record> {
    crate::journal::records(&std::fs::read(path).unwrap_or_default())
}

/// Where a resumed clock goes on from: the last line a signature vouched for. An
/// appended line's time could be anything (an early one would shorten the RTO).
fn last_time(log: &Path) -> Option<Timestamp> {
    crate::journal::vouch::Vouched::new(crate::journal::stream_records(log))
        .filter(|(r, vouched)| *vouched && !matches!(r.event, crate::event::Event::Checkpoint { .. }))
        .last()
        .and_then(|(r, _)| parse_timestamp(&r.time).ok())
}

/// One runbook file of a folder, as `list` and the home screen show it.
#[derive(Debug, Clone)]
pub struct ShelfEntry {
    pub path: PathBuf,
    /// `None`: the file is not a valid runbook (`lifeboat validate` says why).
    pub runbook: Option<Runbook>,
    pub last_drill: String,
    pub overdue: bool,
    /// For a file that is not a valid runbook: its first error, with line and column.
    pub problem: Option<String>,
}

/// The runbooks of a folder with their last real drill (from `incidents`), in file order.
pub fn shelf(dir: &Path, incidents: &Path, now: Timestamp) -> std::io::Result<Vec<ShelfEntry>> {
    let trust = crate::journal::trust::load(None, dir).map_err(std::io::Error::other)?;
    let drills = crate::report::last_drills(incidents, trust.as_ref().map(|(_, a)| a));
    let mut ws = Workspace::default();
    let mut out = Vec::new();
    for f in crate::runbook::load::yaml_files(dir)? {
        let i = ws.add(&f);
        let readable = matches!(ws.file(i).doc, Some(Doc::Runbook(_)));
        if !readable
            && (ws.file(i).cx.diags.is_empty()
                || f.file_name().is_some_and(|n| n == crate::runbook::load::CATALOG_FILE))
        {
            continue; // a catalog, answers or injects file
        }
        if readable {
            ws.check(i);
        }
        let runbook = ws.runbook(i).cloned();
        let every = runbook.as_ref().and_then(|rb| ws.catalog_for(&f)?.get(&rb.dataset)?.drill_every);
        let (last_drill, overdue) = match &runbook {
            Some(rb) => last_drill(drills.get(&rb.dataset).copied(), every, now),
            None => (String::new(), false),
        };
        let problem = runbook.is_none().then(|| {
            let report = ws.file(i).report();
            match report.diags.iter().find(|d| d.severity() == crate::runbook::diag::Severity::Error) {
                Some(d) => match d.span {
                    Some(sp) => format!("{}:{}:{}: {}", f.display(), sp.line, sp.col, d.kind),
                    None => format!("{}: {}", f.display(), d.kind),
                },
                None => format!("{} is not a valid runbook", f.display()),
            }
        });
        out.push(ShelfEntry { path: f, runbook, last_drill, overdue, problem });
    }
    Ok(out)
}

/// "2026-11-02 (23d ago)", or "never"; overdue past the dataset's `drill_every`.
fn last_drill(last: Option<Timestamp>, every: Option<Duration>, now: Timestamp) -> (String, bool) {
    let age = last.map(|t| now.duration_since(t).as_secs().max(0) as u64);
    let overdue = match (age, every) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(a), Some(e)) => a > e.secs(),
    };
    let text = match (last, age) {
        (Some(t), Some(a)) => {
            format!(
                "{} ({} ago)",
                t.strftime("%Y-%m-%d"),
                Duration(a / 86_400 * 86_400).to_string().replace("0s", "today")
            )
        }
        _ => "never".into(),
    };
    (text, overdue)
}

/// Who the credentials belong to, through the STS port.
async fn caller_identity(cloud: &dyn crate::cloud::port::Backend) -> Result<Identity, String> {
    let at = crate::cloud::port::Reach { region: String::new(), role_arn: None, clock: Arc::new(SystemClock) };
    let sts = cloud.sts(&at).await.map_err(|e| e.to_string())?;
    let c = sts.caller_identity().await.map_err(|e| match e.code.as_str() {
        "NoCredentialsOrNoRoute" | "InvalidResponse" => e.message,
        _ => e.to_string(),
    })?;
    Ok(Identity { account: c.account, arn: c.arn })
}

/// A headless resume stops before anything runs when a finished step's outputs held a
/// secret (the log keeps them redacted) and the answers do not say to run it again:
/// the steps after it would otherwise be handed `[redacted]`.
fn lost_needs_rerun(prior: &Prior, answers: Option<&Answers>) -> Result<(), String> {
    let rerun = |step: &str| {
        answers.is_some_and(|a| {
            a.steps.iter().any(|(s, ans)| s == step && matches!(ans, crate::runbook::model::Answer::Rerun))
        })
    };
    let missing: Vec<&String> = prior.lost.iter().filter(|s| !rerun(s)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let names = missing.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ");
    let answer = missing.iter().map(|s| format!("{s}: rerun")).collect::<Vec<_>>().join(", ");
    Err(format!(
        "cannot resume: {names} gave outputs holding a secret, which the log keeps only redacted, and the steps after it would be given `[redacted]`; nothing was run. Run it again by adding `{answer}` under `steps:` in the answers file"
    ))
}
