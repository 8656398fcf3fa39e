//! What the flags of `run` and `tabletop` are (clap), before anything is read.

use super::*;

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

pub(super) fn parse_wait(text: &str) -> Result<std::time::Duration, String> {
    Duration::parse(text).map(|d| std::time::Duration::from_secs(d.secs()))
}
