//! What `lifeboat watch` needs to draw a run it did not start.

use super::setup::find_runbook;
use super::*;

/// What `lifeboat watch` needs to draw a run it did not start: the runbook the genesis
/// names (found in `dir` by id, loaded and checked as a run would load it), the meta, and
/// a tracker at the incident's start. The last value says why the picture may be wrong
/// (the runbook file changed since the run began), for the banner.
pub fn watched(
    g: &crate::event::Genesis,
    dir: &Path,
    source: &str,
) -> Result<(RunMeta, crate::objectives::Tracker, Option<String>), Refused> {
    let Some(runbook_path) = find_runbook(dir, &g.runbook_id) else {
        return Err(format!(
            "the run follows runbook `{}`, which is not in `{}`; pass the folder that holds it with --dir",
            crate::printable::line(&g.runbook_id),
            dir.display()
        )
        .into());
    };
    let mut ws = Workspace::default();
    let i = ws.add(&runbook_path);
    ws.check(i);
    let Some(runbook) = ws.runbook(i).cloned() else {
        return Err(Refused {
            diagnostics: Some(ws.file(i).report().render()),
            why: format!("`{}` is not a valid runbook", runbook_path.display()),
        });
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
