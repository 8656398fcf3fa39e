//! Commands, wiring and exit codes: the only place that prints.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod approve;
mod audit;
mod cleanup;
mod evidence;
mod forecast;
mod headless;
mod run;
mod verify;
mod watch;

use crate::runbook::load::{self, Workspace};

/// Disaster-recovery runbooks you can rehearse, run and prove.
#[derive(Parser, Debug)]
#[command(name = "lifeboat", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// With no command: the runbook folder the home screen shows
    #[arg(long, default_value = "runbooks")]
    pub dir: PathBuf,
    /// With no command: where incident logs are kept (drills are read from them)
    #[arg(long, default_value = "incidents")]
    pub incidents: PathBuf,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check runbooks, dataset catalogs and answers files; every problem with file:line:column.
    Validate {
        /// Files or folders (default: ./runbooks)
        paths: Vec<PathBuf>,
        /// Fail on warnings too
        #[arg(long)]
        deny_warnings: bool,
    },
    /// A table of the runbooks of a folder.
    List {
        /// The runbook folder
        #[arg(long, default_value = "runbooks")]
        dir: PathBuf,
        /// Where incident logs are kept (drills are read from them)
        #[arg(long, default_value = "incidents")]
        incidents: PathBuf,
    },
    /// Print the JSON Schema of the runbook format, for editors (or, with --actions-md,
    /// the actions reference that docs/actions.md holds).
    Schema {
        #[arg(long)]
        actions_md: bool,
    },
    /// Run a runbook in the terminal UI (or --headless with --answers).
    Run(run::RunArgs),
    /// Rehearse a runbook on the simulated cloud with a faster clock; `run:` commands are not executed.
    Tabletop(run::RunArgs),
    /// Check each dataset's backups: isolated (other region and account), immutable,
    /// encrypted, drilled within `drill_every`. Exit 1 when any is not.
    Audit {
        /// Only these datasets
        datasets: Vec<String>,
        /// The runbook folder (its datasets.yaml)
        #[arg(long, default_value = "runbooks")]
        dir: PathBuf,
        /// Where incident logs are kept (drills are read from them)
        #[arg(long, default_value = "incidents")]
        incidents: PathBuf,
        /// Where the resources are checked
        #[arg(long, value_enum, default_value = "aws")]
        cloud: run::CloudArg,
    },
    /// Check an incident log's chain and signatures; names the first bad line.
    /// Exit 0 sealed, intact and signed by a trusted key; 1 tampered or untrusted;
    /// 3 intact but not sealed; 4 intact and sealed, but no trust root to check the signer.
    /// `verify s3://BUCKET/PREFIX/RUN` checks the log's copy in the evidence bucket and,
    /// with --local LOG, whether the local log is whole beside it.
    Verify {
        /// The incident log (JSON Lines), or its copy: s3://BUCKET/PREFIX/RUN_ID
        log: PathBuf,
        /// With an s3:// copy: the local log to hold against it (was its tail cut?)
        #[arg(long, value_name = "LOG")]
        local: Option<PathBuf>,
        /// OpenSSH allowed_signers file the signer must be in [default:
        /// $LIFEBOAT_ALLOWED_SIGNERS, else allowed_signers beside --dir's datasets.yaml]
        #[arg(long, value_name = "FILE")]
        allowed_signers: Option<PathBuf>,
        /// Only lines of the allowed signers whose principals match this name count
        /// (ssh-keygen's -I)
        #[arg(long, value_name = "NAME")]
        identity: Option<String>,
        /// The runbook folder whose allowed_signers is the trust root [default: the folder
        /// of the catalog the run used (found by the SHA-256 the log records), else runbooks]
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Follow a run read-only from another terminal or machine: its log as it grows, or
    /// its copy in the evidence bucket (s3://BUCKET/PREFIX/RUN_ID). Every line is checked
    /// as `verify` checks it before it is shown; no key reaches the run.
    /// Exit 1 when what was read does not verify or is not signed by a trusted key.
    Watch {
        /// The incident log (JSON Lines), or its copy: s3://BUCKET/PREFIX/RUN_ID
        log: PathBuf,
        /// The runbook folder: the run's runbook (found by id) and the trust root
        #[arg(long, default_value = "runbooks")]
        dir: PathBuf,
        /// OpenSSH allowed_signers file [default: as `verify`]
        #[arg(long, value_name = "FILE")]
        allowed_signers: Option<PathBuf>,
    },
    /// Sign a finished run off: a detached SSHSIG (namespace lifeboat-sign-off) over a
    /// statement naming the log's SHA-256, written to LOG.signoffs/; `verify` shows it.
    SignOff {
        /// The incident log (JSON Lines)
        log: PathBuf,
        /// OpenSSH ed25519 private key of the person signing
        /// (passphrase from LIFEBOAT_SIGN_KEY_PASSPHRASE, else asked)
        #[arg(long, value_name = "FILE")]
        sign_key: PathBuf,
        /// The role signed in (data-protection-officer, auditor, …)
        #[arg(long)]
        role: String,
        /// What is signed ("the Q4 restore drill met its objectives")
        #[arg(long)]
        statement: String,
    },
    /// A signed approval (or, with --deny, a denial) of a step a run waits on, dropped
    /// into the run's inbox beside its log; with --standing, a standing approval of a
    /// runbook file for rehearsals, replays and drills (never a live run), until a time.
    Approve(approve::ApproveArgs),
    /// Delete what a drill made and left behind (its log names it; the cloud's tags prove
    /// it), never a production or backup resource, after a typed confirmation; writes its
    /// own signed log. Exit 1 when anything was refused or failed.
    Cleanup(cleanup::CleanupArgs),
    /// The drill evidence pack for auditors: per dataset its objectives, every run in the
    /// period with its log verified, achieved RTO/RPO (table and chart), segregation,
    /// gates, deviations and follow-ups, people, sign-offs, overdue drills; as HTML,
    /// Markdown and JSON. Exit 1 when a log does not count or a dataset is overdue.
    Evidence(evidence::EvidenceArgs),
    /// Will we make the RTO? The runbook's forecast from its trusted history (logs that
    /// verify, signed by a key the trust root names; every other log listed with why):
    /// per step n, p50, p90 and where the time went; the whole run's p50/p90 and the
    /// chance of meeting the RTO. Exit 1 when that chance is under one half.
    Forecast(forecast::ForecastArgs),
    /// A run's timeline, phase times against budgets, RTO and RPO achieved, who did what.
    Report {
        /// The incident log (JSON Lines)
        log: PathBuf,
        /// md (for people), junit (for CI), json (for tools)
        #[arg(long, value_enum, default_value = "md")]
        format: verify::Format,
        /// OpenSSH allowed_signers file [default: as `verify`]
        #[arg(long, value_name = "FILE")]
        allowed_signers: Option<PathBuf>,
        /// The runbook folder whose allowed_signers is the trust root [default: as `verify`]
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

/// Exit codes shared by the commands (cli.md).
pub mod exit {
    pub const OK: u8 = 0;
    pub const PROBLEM: u8 = 1;
    pub const USAGE: u8 = 2;
    /// `run`: finished, but the RTO or RPO objective was missed.
    pub const MISSED: u8 = 3;
    /// `verify`: intact, but never sealed.
    pub const UNSEALED: u8 = 3;
    /// `verify`: intact and sealed, but no trust root said whose key signed it.
    pub const UNTRUSTED: u8 = 4;
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::USAGE } else { exit::OK });
        }
    };
    let verbose = matches!(&cli.command, Some(Command::Run(a) | Command::Tabletop(a)) if a.verbose);
    if let Err(e) = crate::diagnostics::init(verbose) {
        return ExitCode::from(usage(&e));
    }
    let Some(command) = cli.command else { return ExitCode::from(run::home(&cli.dir, &cli.incidents)) };
    ExitCode::from(match command {
        Command::Validate { paths, deny_warnings } => validate(paths, deny_warnings),
        Command::List { dir, incidents } => list(&dir, &incidents),
        Command::Run(args) => run::run(args, false),
        Command::Tabletop(args) => run::run(args, true),
        Command::Audit { datasets, dir, incidents, cloud } => audit::audit(&dir, &incidents, &datasets, cloud),
        Command::Verify { log, local, allowed_signers, identity, dir } => {
            let dir = verify::trust_dir(local.as_deref().unwrap_or(&log), dir);
            match log.to_str().and_then(crate::offsite::Place::parse) {
                Some(place) => {
                    verify::verify_copy(&place, local.as_deref(), allowed_signers.as_deref(), identity.as_deref(), &dir)
                }
                None if local.is_some() => usage("--local is for checking a log against its s3:// copy"),
                None => verify::verify(&log, allowed_signers.as_deref(), identity.as_deref(), &dir),
            }
        }
        Command::Watch { log, dir, allowed_signers } => watch::watch(&log, &dir, allowed_signers.as_deref()),
        Command::Cleanup(args) => cleanup::cleanup(args),
        Command::Approve(args) => approve::approve(args),
        Command::Evidence(args) => evidence::evidence(args),
        Command::Forecast(args) => forecast::forecast(args),
        Command::SignOff { log, sign_key, role, statement } => verify::sign_off(&log, &sign_key, &role, &statement),
        Command::Report { log, format, allowed_signers, dir } => {
            let dir = verify::trust_dir(&log, dir);
            verify::report(&log, format, allowed_signers.as_deref(), &dir)
        }
        Command::Schema { actions_md } => {
            // A reader that stops early (`| head`) is not an error: no panic on a closed pipe.
            let text = if actions_md {
                crate::runbook::action_table::reference_markdown()
            } else {
                serde_json::to_string_pretty(&crate::runbook::schema::schema(crate::runbook::action_table::ACTIONS))
                    .unwrap_or_default()
            };
            let _ = writeln!(anstream::stdout(), "{text}");
            exit::OK
        }
    })
}

/// The one runtime every command runs on: two workers (this is an operator's laptop or
/// a CI runner, and the work is waiting on clouds, not computing).
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a tokio runtime")
}

fn usage(msg: &str) -> u8 {
    let _ = writeln!(anstream::stderr(), "error: {msg}");
    exit::USAGE
}

/// Rows as aligned columns on stdout, two spaces apart; the first row is the header.
fn print_table(rows: &[Vec<String>]) {
    let widths: Vec<usize> =
        (0..rows[0].len()).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = anstream::stdout();
    for r in rows {
        let line: Vec<String> = r.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

fn validate(paths: Vec<PathBuf>, deny_warnings: bool) -> u8 {
    let paths = if paths.is_empty() { vec![PathBuf::from("runbooks")] } else { paths };
    let mut files = Vec::new();
    for p in &paths {
        if p.is_dir() {
            match load::yaml_files(p) {
                Ok(found) if found.is_empty() => {
                    return usage(&format!("no .yaml files in `{}`", p.display()));
                }
                Ok(found) => files.extend(found),
                Err(e) => return usage(&format!("cannot read folder `{}`: {e}", p.display())),
            }
        } else if p.exists() {
            files.push(p.clone());
        } else {
            return usage(&format!("`{}` does not exist", p.display()));
        }
    }
    let mut ws = Workspace::default();
    let ids: Vec<usize> = files.iter().map(|f| ws.add(f)).collect();
    for &i in &ids {
        ws.check(i);
    }
    let mut seen = std::collections::HashSet::new();
    let (mut errors, mut warnings) = (0, 0);
    let mut err = anstream::stderr();
    for &i in &ids {
        if !seen.insert(i) {
            continue;
        }
        let report = ws.file(i).report();
        errors += report.errors();
        warnings += report.warnings();
        let _ = write!(err, "{}", report.render());
    }
    let summary =
        format!("{} checked: {}, {}", plural(seen.len(), "file"), plural(errors, "error"), plural(warnings, "warning"));
    let _ = writeln!(err, "{summary}");
    if errors > 0 || (deny_warnings && warnings > 0) { exit::PROBLEM } else { exit::OK }
}

fn list(dir: &Path, incidents: &Path) -> u8 {
    let shelf = match crate::shelf::shelf(dir, incidents, crate::runbook::time::Timestamp::now()) {
        Ok(s) => s,
        Err(e) => return usage(&format!("cannot read folder `{}`: {e}", dir.display())),
    };
    let mut rows = vec![
        ["RUNBOOK", "DATASET", "SCENARIO", "RTO", "P90", "RPO", "PHASES", "STEPS", "LAST DRILL"]
            .map(String::from)
            .to_vec(),
    ];
    let mut invalid = Vec::new();
    for e in shelf {
        match &e.runbook {
            Some(rb) => rows.push(vec![
                rb.id.clone(),
                rb.dataset.clone(),
                rb.scenario.to_string(),
                rb.objectives.rto.to_string(),
                // The history's p90 beside the objective it is held to.
                e.p90_ms.map_or("—".to_string(), crate::format::human_ms),
                rb.objectives.rpo.to_string(),
                rb.phases.len().to_string(),
                rb.steps().count().to_string(),
                if e.overdue { format!("{} OVERDUE", e.last_drill) } else { e.last_drill.clone() },
            ]),
            None => invalid.push(e.path.clone()),
        }
    }
    print_table(&rows);
    if invalid.is_empty() {
        return exit::OK;
    }
    let mut err = anstream::stderr();
    for f in &invalid {
        let _ = writeln!(err, "warning: `{}` is not a valid runbook; run `lifeboat validate {0}`", f.display());
    }
    exit::PROBLEM
}
