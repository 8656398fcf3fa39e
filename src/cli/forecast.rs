//! `lifeboat forecast`: the runbook checked as a run would load it, the trust root beside
//! its catalog, the figures from `crate::forecast` as text, JSON or Prometheus.

use std::io::Write;
use std::path::PathBuf;

use super::exit;
use crate::forecast::{self, Kind};

#[derive(clap::Args, Debug)]
pub struct ForecastArgs {
    /// The runbook file
    pub runbook: PathBuf,
    /// The folder whose allowed_signers is the trust root [default: the runbook's folder]
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Where incident logs are kept
    #[arg(long, default_value = "incidents")]
    pub incidents: PathBuf,
    /// OpenSSH allowed_signers file [default: as `verify`]
    #[arg(long, value_name = "FILE")]
    pub allowed_signers: Option<PathBuf>,
    /// Only runs of these kinds (repeatable) [default: every trusted run]
    #[arg(long, value_enum)]
    pub kind: Vec<Kind>,
    /// text (for people), json (for dashboards), prometheus (text exposition format)
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Format {
    Text,
    Json,
    Prometheus,
}

pub fn forecast(a: ForecastArgs) -> u8 {
    let mut ws = crate::runbook::load::Workspace::default();
    let i = ws.add(&a.runbook);
    ws.check(i);
    let Some(runbook) = ws.runbook(i).cloned() else {
        let _ = write!(anstream::stderr(), "{}", ws.file(i).report().render());
        return super::usage(&format!("`{}` is not a valid runbook", a.runbook.display()));
    };
    let sha = match std::fs::read(&a.runbook) {
        Ok(bytes) => crate::journal::sha256_hex(&bytes),
        Err(e) => return super::usage(&format!("cannot read `{}`: {e}", a.runbook.display())),
    };
    let dir = a.dir.clone().unwrap_or_else(|| a.runbook.parent().map(PathBuf::from).unwrap_or_default());
    let trust = match crate::journal::trust::load(a.allowed_signers.as_deref(), &dir) {
        Ok(t) => t,
        Err(e) => return super::usage(&e),
    };
    let f = match forecast::forecast(&runbook, &sha, &a.incidents, trust.as_ref().map(|(_, t)| t), &a.kind) {
        Ok(f) => f,
        Err(e) => return super::usage(&format!("cannot read `{}`: {e}", a.incidents.display())),
    };
    let text = match a.format {
        Format::Text => forecast::text(&f),
        Format::Json => format!("{}\n", serde_json::to_string_pretty(&f).unwrap_or_default()),
        Format::Prometheus => forecast::prometheus(&f),
    };
    let _ = anstream::stdout().write_all(text.as_bytes());
    // Likely to miss the RTO: a nightly job that asks should fail.
    if f.p_meet_rto.is_some_and(|p| p < 0.5) { exit::PROBLEM } else { exit::OK }
}
