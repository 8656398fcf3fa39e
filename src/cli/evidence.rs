//! `lifeboat evidence`: the drill evidence pack (HTML, Markdown, JSON, a chart per
//! dataset) written to a folder from the runbook folder's catalog and the signed logs.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use super::exit;
use crate::evidence::{self, Sources, render};
use crate::runbook::load::{self, Workspace};
use crate::runbook::time::{Timestamp, parse_timestamp};

#[derive(clap::Args, Debug)]
pub struct EvidenceArgs {
    /// Only these datasets
    pub datasets: Vec<String>,
    /// The runbook folder (its datasets.yaml, runbooks and allowed_signers)
    #[arg(long, default_value = "runbooks")]
    pub dir: PathBuf,
    /// Where incident logs are kept
    #[arg(long, default_value = "incidents")]
    pub incidents: PathBuf,
    /// Runs that began at or after this time (RFC 3339, or a date: 2026-01-01)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Runs that began at or before this time [default: now]; overdue is judged at it
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// OpenSSH allowed_signers file [default: as `verify`]
    #[arg(long, value_name = "FILE")]
    pub allowed_signers: Option<PathBuf>,
    /// The folder the pack is written to
    #[arg(long, default_value = "evidence")]
    pub out: PathBuf,
}

/// A date is its first instant (since) or its last (until), in UTC.
fn when(text: &str, end_of_day: bool) -> Result<Timestamp, String> {
    if let Ok(t) = parse_timestamp(text) {
        return Ok(t);
    }
    let d: jiff::civil::Date =
        text.parse().map_err(|_| format!("`{text}` is neither an RFC 3339 time nor a date (2026-01-31)"))?;
    let t = if end_of_day { d.at(23, 59, 59, 0) } else { d.at(0, 0, 0, 0) };
    jiff::tz::TimeZone::UTC.to_timestamp(t).map_err(|e| e.to_string())
}

pub fn evidence(a: EvidenceArgs) -> u8 {
    let now = Timestamp::now();
    let (since, until) = match (
        a.since.as_deref().map(|s| when(s, false)).transpose(),
        a.until.as_deref().map(|s| when(s, true)).transpose(),
    ) {
        (Ok(s), Ok(u)) => (s, u.unwrap_or(now)),
        (Err(e), _) | (_, Err(e)) => return super::usage(&e),
    };
    let mut ws = Workspace::default();
    let catalog_path = a.dir.join(load::CATALOG_FILE);
    let i = ws.add(&catalog_path);
    ws.check(i);
    let Some(catalog) = ws.catalog_for(&a.dir.join("x.yaml")).cloned() else {
        let _ = write!(anstream::stderr(), "{}", ws.file(i).report().render());
        return super::usage(&format!("no valid dataset catalog at `{}`", catalog_path.display()));
    };
    for name in &a.datasets {
        if catalog.get(name).is_none() {
            return super::usage(&format!("no dataset `{name}` in the catalog"));
        }
    }
    let mut runbooks = BTreeMap::new();
    for path in load::yaml_files(&a.dir).unwrap_or_default() {
        let j = ws.add(&path);
        ws.check(j);
        if let (Some(rb), Ok(bytes)) = (ws.runbook(j), std::fs::read(&path)) {
            runbooks.insert(crate::journal::sha256_hex(&bytes), rb.clone());
        }
    }
    let trust = match crate::journal::trust::load(a.allowed_signers.as_deref(), &a.dir) {
        Ok(t) => t,
        Err(e) => return super::usage(&e),
    };
    let src = Sources {
        catalog: &catalog,
        runbooks,
        incidents: &a.incidents,
        trust: trust.as_ref().map(|(p, t)| (p.as_path(), t)),
        since,
        until,
        only: &a.datasets,
        now,
    };
    let pack = evidence::gather(&src);
    let blocks = match render::blocks(&pack) {
        Ok(b) => b,
        Err(e) => return super::usage(&format!("cannot draw the charts: {e}")),
    };
    let json = serde_json::to_string_pretty(&pack).unwrap_or_default();
    let mut files = vec![
        ("evidence.html", render::html(&blocks)),
        ("evidence.md", render::markdown(&blocks)),
        ("evidence.json", json + "\n"),
    ];
    for b in &blocks {
        if let render::Block::Chart { svg, file } = b {
            files.push((file.as_str(), svg.clone()));
        }
    }
    if let Err(e) = std::fs::create_dir_all(&a.out) {
        return super::usage(&format!("cannot create `{}`: {e}", a.out.display()));
    }
    for (name, text) in &files {
        let path = a.out.join(name);
        if let Err(e) = crate::ownfile::replace(&path, text.as_bytes()) {
            return super::usage(&format!("cannot write `{}`: {e}", path.display()));
        }
    }
    let mut out = anstream::stdout();
    let _ = writeln!(out, "evidence pack written to {} (evidence.html, evidence.md, evidence.json)", a.out.display());
    let mut problems = 0;
    if trust.is_none() {
        problems += 1;
        let _ = writeln!(out, "✗ no trust root: no log counts");
    }
    for d in &pack.datasets {
        let not_counted = d.runs.iter().filter(|r| !r.counts).count();
        let proven = d.runs.iter().filter(|r| r.proves_restore).count();
        let _ = writeln!(
            out,
            "{} {}: {} run(s), {} counted, {} proven drill(s){}{}",
            if d.overdue.is_some() || not_counted > 0 { "✗" } else { "✓" },
            d.id,
            d.runs.len(),
            d.runs.len() - not_counted,
            proven,
            if not_counted > 0 { format!("; {not_counted} NOT COUNTED") } else { String::new() },
            d.overdue.as_deref().map(|o| format!("; OVERDUE: {o}")).unwrap_or_default()
        );
        problems += (d.overdue.is_some() || not_counted > 0) as usize;
    }
    if problems == 0 { exit::OK } else { exit::PROBLEM }
}
