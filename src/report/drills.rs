//! When a run ended by the machine's clock, and each dataset's last real drill.

use super::*;

/// When a finished run ended by the machine's clock (the last checkpoint's wall time,
/// the seal's) in a log whose genesis keeps both clocks; by the run's own clock in an
/// older log; none for a run that did not finish.
pub fn ended_at(records: &[Record]) -> Option<String> {
    let end = records.iter().rev().find(|r| matches!(r.event, Event::RunFinished { .. }))?;
    let two_clocks =
        matches!(records.first().map(|r| &r.event), Some(Event::Genesis(g)) if g.provenance.wall.is_some());
    let wall = records.iter().rev().find_map(|r| match &r.event {
        Event::Checkpoint { wall: Some(w), .. } if two_clocks => Some(w.clone()),
        _ => None,
    });
    Some(wall.unwrap_or_else(|| end.time.clone()))
}

/// The last successful restore drill of each dataset, from the logs in `dir`: only
/// sealed, intact logs of `--mode drill` runs against AWS's own endpoint that succeeded,
/// brought data back (`Summary::proves_restore`) and are signed by a key the trust root
/// names count (a drill on the simulated cloud proves
/// nothing about the real backups; an unsigned log, anyone could have written). Without a
/// trust root, nothing counts.
pub fn last_drills(
    dir: &std::path::Path,
    trust: Option<&crate::journal::trust::AllowedSigners>,
) -> std::collections::HashMap<String, crate::runbook::time::Timestamp> {
    let mut out: std::collections::HashMap<String, crate::runbook::time::Timestamp> = Default::default();
    let Some(trust) = trust else { return out };
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
    {
        let Ok(bytes) = std::fs::read(&path) else { continue };
        let sig = std::fs::read_to_string(crate::journal::sig_path(&path)).ok();
        let v = crate::journal::verify::verify_bytes(&bytes, sig.as_deref(), Some(trust));
        if v.tampered.is_some() || !v.sealed || v.signer_identity.is_none() {
            continue;
        }
        let records = crate::journal::records(&bytes);
        let s = summarize(&records);
        let ended = ended_at(&records);
        if s.proves_restore()
            && let Some(t) = ended.and_then(|at| crate::runbook::time::parse_timestamp(&at).ok())
        {
            let e = out.entry(s.dataset.clone()).or_insert(t);
            *e = (*e).max(t);
        }
    }
    out
}
