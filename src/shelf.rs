//! The runbooks of a folder as `list` and the home screen show them: each with its last
//! real drill and whether it is overdue (not a run's business: nothing here starts one).

use std::path::{Path, PathBuf};

use crate::runbook::load::{Doc, Workspace};
use crate::runbook::model::Runbook;
use crate::runbook::time::{Duration, Timestamp};

/// One runbook file of a folder, as `list` and the home screen show it.
#[derive(Debug, Clone)]
pub struct ShelfEntry {
    pub path: PathBuf,
    /// `None`: the file is not a valid runbook (`lifeboat validate` says why).
    pub runbook: Option<Runbook>,
    pub last_drill: String,
    /// The whole run's p90 to the milestone in its trusted history (`lifeboat forecast`),
    /// from three runs of this very runbook on.
    pub p90_ms: Option<u64>,
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
        let p90_ms = runbook.as_ref().and_then(|rb| {
            let sha = crate::journal::sha256_hex(&std::fs::read(&f).ok()?);
            crate::forecast::forecast(rb, &sha, incidents, trust.as_ref().map(|(_, a)| a), &[]).ok()?.duration_p90_ms
        });
        out.push(ShelfEntry { path: f, runbook, last_drill, p90_ms, overdue, problem });
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
