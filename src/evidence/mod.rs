//! The drill evidence pack: what an auditor reads, gathered from the signed logs alone.
//! Every figure comes from a log that verifies and a key of the trust root signed; a log
//! that does not is listed, with why, and counts for nothing. A drill on the simulated
//! cloud is a rehearsal of the procedure, never proof that the real backups restore: it
//! is shown, charted, and never keeps a dataset from being overdue.

pub mod chart;
pub mod render;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::event::{Event, Mode, RunStatus, StepStatus, Verdict};
use crate::journal::signoff;
use crate::journal::trust::AllowedSigners;
use crate::runbook::model::{Catalog, Dataset, Runbook};
use crate::runbook::time::{Timestamp, format_timestamp, parse_timestamp};

/// The frameworks' controls each section of the pack serves.
pub mod controls {
    pub const OBJECTIVES: &[&str] = &["DORA Art. 11", "ISO/IEC 27001 A.5.30", "SOC 2 A1.3"];
    pub const RUNS: &[&str] = &["DORA Art. 12(2)", "SOC 2 A1.3", "ISO/IEC 27001 A.8.13", "PCI DSS 12.10.2"];
    pub const ACHIEVED: &[&str] = &["DORA Art. 11", "SOC 2 A1.3", "ISO/IEC 27001 A.5.30"];
    pub const SEGREGATION: &[&str] = &["DORA Art. 12(3)", "ISO/IEC 27001 A.8.13"];
    pub const GATES: &[&str] = &["SOC 2 A1.3", "ISO/IEC 27001 A.8.13"];
    pub const DEVIATIONS: &[&str] = &["ISO 22301 §8.5", "SOC 2 A1.3", "DORA Art. 11"];
    pub const PEOPLE: &[&str] = &["ISO 22301 §8.5", "PCI DSS 12.10.2"];
    pub const SIGN_OFFS: &[&str] = &["SOC 2 A1.3", "ISO 22301 §8.5"];
    pub const OVERDUE: &[&str] = &["DORA Art. 11", "DORA Art. 12(2)", "PCI DSS 12.10.2", "ISO 22301 §8.5"];
}

/// A note written during a run as `follow-up: OWNER YYYY-MM-DD what is to be done`.
pub const FOLLOW_UP: &str = "follow-up:";

#[derive(Debug, Clone, Serialize)]
pub struct Pack {
    pub generated_at: String,
    pub since: Option<String>,
    pub until: String,
    /// Where the trust root came from, or none (then nothing counts).
    pub trust_root: Option<String>,
    pub datasets: Vec<DatasetPack>,
    /// Logs of a run already listed from another file: counted once.
    pub copies: Vec<SkippedCopy>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SkippedCopy {
    pub log: String,
    pub run_id: String,
    /// The log the run is listed from.
    pub listed_as: String,
    /// The copy does not verify: how.
    pub tampered: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DatasetPack {
    pub id: String,
    pub title: String,
    pub classification: String,
    pub rpo_ms: u64,
    pub rto_ms: u64,
    pub drill_every_ms: Option<u64>,
    pub primary_region: String,
    pub primary_account: Option<String>,
    pub backup_region: Option<String>,
    pub backup_account: Option<String>,
    pub runs: Vec<RunPack>,
    /// The last drill that counts (verified, trusted, on AWS, succeeded).
    pub last_proven_drill: Option<String>,
    /// Why the dataset is overdue, when it is.
    pub overdue: Option<String>,
    /// Of the drills that prove a restore, how many met the RTO, and how many there are.
    pub rto_met_in_drills: (usize, usize),
    /// The p90 of those drills' achieved RTO (nearest rank), from three drills on (as
    /// `lifeboat forecast` gives figures): what the next one is likely to take, beside
    /// the objective.
    pub drill_rto_p90_ms: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunPack {
    pub log: String,
    pub log_sha256: String,
    pub run_id: String,
    pub runbook_id: String,
    pub mode: String,
    pub cloud: String,
    pub started: String,
    pub finished: Option<String>,
    pub verdict: String,
    /// "sealed and intact", "intact, not sealed", or the first bad line.
    pub verification: String,
    pub signer: Option<String>,
    pub fingerprint: Option<String>,
    pub sealed: bool,
    /// Verified, sealed and signed by a key the trust root names.
    pub counts: bool,
    pub not_counted_because: Option<String>,
    /// A drill against AWS that counts and succeeded: proof the backups restore.
    pub proves_restore: bool,
    pub rto_objective_ms: u64,
    pub rpo_objective_ms: u64,
    pub rto_ms: Option<u64>,
    pub rto_met: Option<bool>,
    pub rpo_ms: Option<u64>,
    pub rpo_met: Option<bool>,
    pub segregation: Segregation,
    pub gates: Vec<Gate>,
    pub deviations: Vec<String>,
    pub follow_ups: Vec<FollowUp>,
    pub participants: Vec<String>,
    pub approvers: Vec<String>,
    pub sign_offs: Vec<SignOff>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Segregation {
    /// Regions the run restored (created resources) into.
    pub restored_regions: Vec<String>,
    /// The account whose credentials the run used (STS), on AWS.
    pub account: Option<String>,
    pub production_region: String,
    pub production_account: Option<String>,
    /// Restored into another account than production's (the question DORA 12(3) asks);
    /// `None` when it cannot be told (nothing restored, or no account known).
    pub segregated: Option<bool>,
    pub words: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Gate {
    pub step: String,
    /// `passed`, `failed`, `skipped`, `not reached`.
    pub result: String,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FollowUp {
    pub owner: Option<String>,
    pub due: Option<String>,
    pub action: String,
    pub by: String,
    /// Owner or due date missing or unreadable.
    pub incomplete: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SignOff {
    pub role: Option<String>,
    pub statement: Option<String>,
    pub signed_at: Option<String>,
    pub by: Option<String>,
    pub counts: bool,
    pub problem: Option<String>,
}

/// What the pack is made from.
pub struct Sources<'a> {
    pub catalog: &'a Catalog,
    /// Runbooks by the SHA-256 of their file: a run's gates are read from the very
    /// runbook it ran (its genesis names the digest), never from a later edit.
    pub runbooks: BTreeMap<String, Runbook>,
    pub incidents: &'a Path,
    pub trust: Option<(&'a Path, &'a AllowedSigners)>,
    pub since: Option<Timestamp>,
    pub until: Timestamp,
    pub only: &'a [String],
    pub now: Timestamp,
}

pub fn parse_follow_up(text: &str, by: &str) -> Option<FollowUp> {
    let rest = text.trim_start().strip_prefix(FOLLOW_UP)?.trim();
    let mut words = rest.splitn(3, char::is_whitespace);
    let (owner, due, action) = (words.next(), words.next(), words.next());
    let due_ok = due.is_some_and(|d| d.parse::<jiff::civil::Date>().is_ok());
    match (owner, due, action) {
        (Some(o), Some(d), Some(a)) if due_ok && !a.trim().is_empty() => Some(FollowUp {
            owner: Some(o.into()),
            due: Some(d.into()),
            action: a.trim().into(),
            by: by.into(),
            incomplete: false,
        }),
        _ => Some(FollowUp { owner: None, due: None, action: rest.into(), by: by.into(), incomplete: true }),
    }
}

fn logs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return vec![] };
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    out.sort();
    out
}

fn fingerprint(openssh: &str) -> Option<String> {
    ssh_key::PublicKey::from_openssh(openssh).ok().map(|k| k.fingerprint(ssh_key::HashAlg::Sha256).to_string())
}

fn gates(runbook: Option<&Runbook>, steps: &[crate::report::StepRow]) -> Vec<Gate> {
    let result = |id: &str| {
        let row = steps.iter().find(|s| s.id == id);
        let detail = row.and_then(|r| r.reason.clone());
        match row.and_then(|r| r.status) {
            Some(StepStatus::Done) => ("passed", None),
            Some(StepStatus::Failed) => ("failed", detail),
            Some(StepStatus::Skipped) => ("skipped", detail),
            None => ("not reached", None),
        }
    };
    match runbook {
        Some(rb) => rb
            .phases
            .iter()
            .flat_map(|p| &p.steps)
            .filter(|s| !s.gates.is_empty())
            .map(|s| {
                let (r, detail) = result(&s.id);
                Gate { step: s.id.clone(), result: r.into(), detail }
            })
            .collect(),
        // The runbook changed since (or is not here): the gates the log shows failing.
        None => steps
            .iter()
            .filter(|s| s.error_code.as_deref() == Some("GateFailed"))
            .map(|s| Gate { step: s.id.clone(), result: "failed".into(), detail: s.reason.clone() })
            .collect(),
    }
}

fn segregation(d: &Dataset, restores: &[crate::report::Restore], caller: Option<&crate::event::Caller>) -> Segregation {
    let mut regions: Vec<String> = restores.iter().filter_map(|r| r.region.clone()).collect();
    regions.sort();
    regions.dedup();
    let prod_account = d.primary.account.clone();
    let account = caller.map(|c| c.account.as_str());
    let mut segregated = match (restores.is_empty(), account, &prod_account) {
        (true, _, _) => None,
        (false, Some(a), Some(p)) => Some(a != p),
        _ => None,
    };
    let place = if regions.is_empty() { "an unrecorded region".to_string() } else { regions.join(", ") };
    let mut words = match (&segregated, account) {
        (None, _) if restores.is_empty() => "nothing was restored".to_string(),
        (None, _) => format!("restored in {place}; the account is not known (no AWS caller recorded)"),
        (Some(true), Some(a)) => format!(
            "restored in {place} in account {a}, apart from production ({} / {})",
            d.primary.region,
            prod_account.as_deref().unwrap_or("?")
        ),
        (Some(_), _) => {
            format!(
                "restored in {place} in production's own account {}: not segregated",
                prod_account.as_deref().unwrap_or("?")
            )
        }
    };
    if let Some(flag) = caller.and_then(|c| stranger(d, c)) {
        words = format!("{words}; {flag}");
        segregated = None;
    }
    Segregation {
        restored_regions: regions,
        account: account.map(str::to_string),
        production_region: d.primary.region.clone(),
        production_account: prod_account,
        segregated,
        words,
    }
}

/// The run's AWS credentials belong to an account the catalog names for neither the
/// dataset's production nor its backup: said, never passed over (a restore "apart from
/// production" into an account nobody vouched for is no segregation to show an auditor).
fn stranger(d: &Dataset, caller: &crate::event::Caller) -> Option<String> {
    let known: Vec<&str> = [d.primary.account.as_deref(), d.backup.as_ref().and_then(|b| b.account.as_deref())]
        .into_iter()
        .flatten()
        .collect();
    if known.is_empty() || known.contains(&caller.account.as_str()) {
        return None;
    }
    Some(format!(
        "the AWS credentials were for account {}, which the catalog names for neither production nor backup ({}){}",
        caller.account,
        known.join(", "),
        if caller.account_mismatch_ok { "; run with --account-mismatch-ok" } else { "" }
    ))
}

fn run_pack(path: &Path, bytes: &[u8], d: &Dataset, src: &Sources<'_>) -> Option<RunPack> {
    let sig = std::fs::read_to_string(crate::journal::sig_path(path)).ok();
    // The chain and signatures first, then whose key: an unsigned log is not a forged one.
    let chain = crate::journal::verify::verify_bytes(bytes, sig.as_deref(), None);
    let trusted = src.trust.map(|(_, t)| crate::journal::verify::verify_bytes(bytes, sig.as_deref(), Some(t)));
    let signer_identity = trusted.as_ref().filter(|v| v.tampered.is_none()).and_then(|v| v.signer_identity.clone());
    let records = crate::journal::records(bytes);
    let Some(Event::Genesis(g)) = records.first().map(|r| &r.event) else { return None };
    if g.mode == Mode::Cleanup {
        return None;
    }
    let s = crate::report::summarize(&records);
    // When the run really happened: the machine's clock, not the run's (a rehearsal's is
    // virtual and starts at the incident).
    let started = g.provenance.wall.clone().unwrap_or_else(|| records[0].time.clone());
    let finished = crate::report::ended_at(&records);
    let not_counted_because = if let Some(bad) = &chain.tampered {
        Some(format!("does not verify: line {}: {}", bad.line, bad.why))
    } else if chain.signer.is_none() {
        Some("not signed: anyone could have written it".into())
    } else if src.trust.is_none() {
        Some("no trust root to say whose key signed it".into())
    } else if signer_identity.is_none() {
        Some("signed by a key the trust root does not name".into())
    } else if !chain.sealed {
        Some("not sealed: the run did not finish, or its log was cut".into())
    } else {
        g.provenance.endpoint.as_ref().map(|endpoint| {
            format!(
                "made against {}, not AWS's own endpoint: proves nothing about the real backups",
                crate::printable::line(endpoint)
            )
        })
    };
    let counts = not_counted_because.is_none();
    let verification = match &chain.tampered {
        Some(bad) => format!("TAMPERED at line {}: {}", bad.line, bad.why),
        None if chain.sealed => "sealed and intact".into(),
        None => "intact, not sealed".into(),
    };
    let runbook = src.runbooks.get(&g.runbook_sha256).filter(|rb| rb.id == g.runbook_id);
    let mut deviations = Vec::new();
    for st in &s.steps {
        match st.status {
            Some(StepStatus::Failed) => deviations.push(format!(
                "step {} failed{}",
                st.id,
                st.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default()
            )),
            Some(StepStatus::Skipped) if st.reason.as_deref() == Some(crate::event::CONDITION_FALSE) => {}
            Some(StepStatus::Skipped) => deviations.push(format!(
                "step {} skipped{}",
                st.id,
                st.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default()
            )),
            _ => {}
        }
    }
    for p in s.phases.iter().filter(|p| p.over_budget) {
        deviations.push(format!(
            "phase {} over its budget: {} of {}",
            p.id,
            crate::format::human_ms(p.elapsed_ms.unwrap_or(0)),
            crate::format::human_ms(p.budget_ms)
        ));
    }
    match (s.rto_met, s.service_restored) {
        (Some(false), Some(false)) => deviations.push(format!(
            "RTO not met: the service was not restored (the run stopped {} after the incident began)",
            crate::format::human_ms(s.rto_ms.unwrap_or(0))
        )),
        (Some(false), _) => deviations.push(format!(
            "RTO missed: {} of {} ({} over)",
            crate::format::human_ms(s.rto_ms.unwrap_or(0)),
            crate::format::human_ms(s.rto_objective_ms),
            crate::format::human_ms(s.rto_ms.unwrap_or(0).saturating_sub(s.rto_objective_ms))
        )),
        _ => {}
    }
    let restores = s.restores();
    if restores.is_empty() && g.mode != Mode::Tabletop {
        deviations.push("nothing was restored: no step brought data back, so the run proves no restore".into());
    }
    if let Some(flag) = g.caller.as_ref().and_then(|c| stranger(d, c)) {
        deviations.push(flag);
    }
    if s.rpo_met == Some(false) {
        deviations.push(format!("RPO missed: {}", crate::format::human_ms(s.rpo_ms.unwrap_or(0))));
    }
    match s.status {
        // A missed objective is a deviation of its own (above).
        Some(RunStatus::Succeeded | RunStatus::Missed) => {}
        Some(other) => deviations.push(format!("the run {}", format!("{other:?}").to_lowercase())),
        None => deviations.push("the run did not finish".into()),
    }
    let (mut follow_ups, mut approvers) = (Vec::new(), Vec::new());
    for r in &records {
        match &r.event {
            Event::Note { by, text } => follow_ups.extend(parse_follow_up(text, by)),
            Event::Answer { verdict: Verdict::Approve, by, role, step, signed, .. } => approvers.push(format!(
                "{by}{} approved {} ({})",
                role.as_deref().map(|r| format!(" ({r})")).unwrap_or_default(),
                step.as_deref().unwrap_or("the run"),
                if signed.is_some() { "signed" } else { "typed, unverified" }
            )),
            _ => {}
        }
    }
    let sign_offs = signoff::find(path, src.trust.map(|(_, t)| t))
        .into_iter()
        .map(|f| SignOff {
            role: f.statement.as_ref().map(|s| s.role.clone()),
            statement: f.statement.as_ref().map(|s| s.statement.clone()),
            signed_at: f.statement.as_ref().map(|s| s.signed_at.clone()),
            by: f.vouched.clone(),
            counts: f.counts(),
            problem: f.problem.clone(),
        })
        .collect();
    let proves_restore = counts && s.proves_restore() && g.caller.as_ref().is_none_or(|c| stranger(d, c).is_none());
    Some(RunPack {
        log: path.display().to_string(),
        log_sha256: crate::journal::sha256_hex(bytes),
        run_id: g.run_id.clone(),
        runbook_id: g.runbook_id.clone(),
        mode: g.mode.as_str().into(),
        cloud: g.cloud.clone(),
        started,
        finished,
        verdict: s.verdict(),
        verification,
        signer: signer_identity,
        fingerprint: chain.signer.as_deref().and_then(fingerprint),
        sealed: chain.sealed,
        counts,
        not_counted_because,
        proves_restore,
        rto_objective_ms: s.rto_objective_ms,
        rpo_objective_ms: s.rpo_objective_ms,
        rto_ms: s.rto_ms,
        rto_met: s.rto_met,
        rpo_ms: s.rpo_ms,
        rpo_met: s.rpo_met,
        segregation: segregation(d, &restores, g.caller.as_ref()),
        gates: gates(runbook, &s.steps),
        deviations,
        follow_ups,
        participants: s.participants.iter().map(|p| p.name.clone()).collect(),
        approvers,
        sign_offs,
    })
}

/// The pack over every log of `incidents` whose run began in the period.
pub fn gather(src: &Sources<'_>) -> Pack {
    let mut by_dataset: BTreeMap<String, Vec<RunPack>> = BTreeMap::new();
    for path in logs(src.incidents) {
        let Ok(bytes) = std::fs::read(&path) else { continue };
        let Some(first) = crate::journal::records(bytes.split(|b| *b == b'\n').next().unwrap_or_default()).pop() else {
            continue;
        };
        let Event::Genesis(g) = &first.event else { continue };
        let Some(d) = src.catalog.get(&g.dataset) else { continue };
        let at = parse_timestamp(g.provenance.wall.as_deref().unwrap_or(&first.time)).ok();
        let inside = at.is_some_and(|t| src.since.is_none_or(|s| t >= s) && t <= src.until);
        if !inside || !(src.only.is_empty() || src.only.contains(&d.id)) {
            continue;
        }
        if let Some(run) = run_pack(&path, &bytes, d, src) {
            by_dataset.entry(d.id.clone()).or_default().push(run);
        }
    }
    // One run is one run, however many copies of its log lie about: each log was verified
    // above, then the copies are told apart by run id. The one that counts is listed (else
    // the first); the others are named as skipped, a tampered one as such.
    let mut copies = Vec::new();
    for runs in by_dataset.values_mut() {
        let mut kept: Vec<RunPack> = Vec::new();
        runs.sort_by_key(|r| !r.counts);
        for run in runs.drain(..) {
            match kept.iter().find(|k| k.run_id == run.run_id) {
                Some(first) => copies.push(SkippedCopy {
                    log: run.log.clone(),
                    run_id: run.run_id.clone(),
                    listed_as: first.log.clone(),
                    tampered: run.verification.starts_with("TAMPERED").then(|| run.verification.clone()),
                }),
                None => kept.push(run),
            }
        }
        *runs = kept;
    }
    let datasets = src
        .catalog
        .datasets
        .iter()
        .filter(|d| src.only.is_empty() || src.only.contains(&d.id))
        .map(|d| {
            let mut runs = by_dataset.remove(&d.id).unwrap_or_default();
            runs.sort_by(|a, b| a.started.cmp(&b.started));
            let last = runs.iter().filter(|r| r.proves_restore).filter_map(|r| r.finished.clone()).max();
            let overdue = d.drill_every.and_then(|every| {
                let limit = every.secs() as i64;
                match last.as_deref().and_then(|t| parse_timestamp(t).ok()) {
                    None => Some(format!(
                        "no drill on AWS that counts in these logs; one is due every {}",
                        crate::format::human_ms(every.secs() * 1000)
                    )),
                    Some(t) if src.until.duration_since(t).as_secs() > limit => Some(format!(
                        "last proven drill {} is more than {} before {}",
                        format_timestamp(t),
                        crate::format::human_ms(every.secs() * 1000),
                        format_timestamp(src.until)
                    )),
                    Some(_) => None,
                }
            });
            DatasetPack {
                id: d.id.clone(),
                title: d.title.clone(),
                classification: d.classification.to_string(),
                rpo_ms: d.rpo.secs() * 1000,
                rto_ms: d.rto.secs() * 1000,
                drill_every_ms: d.drill_every.map(|e| e.secs() * 1000),
                primary_region: d.primary.region.clone(),
                primary_account: d.primary.account.clone(),
                backup_region: d.backup.as_ref().map(|b| b.region.clone()),
                backup_account: d.backup.as_ref().and_then(|b| b.account.clone()),
                rto_met_in_drills: (
                    runs.iter().filter(|r| r.proves_restore && r.rto_met == Some(true)).count(),
                    runs.iter().filter(|r| r.proves_restore).count(),
                ),
                drill_rto_p90_ms: {
                    let mut took: Vec<u64> =
                        runs.iter().filter(|r| r.proves_restore).filter_map(|r| r.rto_ms).collect();
                    took.sort_unstable();
                    (took.len() >= crate::forecast::MIN_RUNS).then(|| crate::forecast::quantile(&took, 0.9)).flatten()
                },
                runs,
                last_proven_drill: last,
                overdue,
            }
        })
        .collect();
    Pack {
        generated_at: format_timestamp(src.now),
        since: src.since.map(format_timestamp),
        until: format_timestamp(src.until),
        trust_root: src.trust.map(|(p, _)| p.display().to_string()),
        datasets,
        copies,
    }
}
