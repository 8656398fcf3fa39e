//! `lifeboat approve`: a signed yes (or no) from any terminal. For a run that waits, it
//! goes into the run's inbox beside its log (`LOG.inbox/`), which the running lifeboat
//! reads; with `--standing`, a standing approval of one runbook file for rehearsals,
//! replays and drills, written to `--out` for an answers file to name.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::exit;
use crate::event::{Event, Record, Waiting};
use crate::journal::approval::{self, Decision, Document};
use crate::runbook::time::{Timestamp, format_timestamp, parse_timestamp};

#[derive(clap::Args, Debug)]
pub struct ApproveArgs {
    /// The waiting run's incident log, or with --standing the runbook file
    pub target: PathBuf,
    /// The approval step
    #[arg(long)]
    pub step: String,
    /// OpenSSH ed25519 private key of the approver (passphrase from
    /// LIFEBOAT_SIGN_KEY_PASSPHRASE, else asked)
    #[arg(long, value_name = "FILE")]
    pub sign_key: PathBuf,
    /// Say no instead
    #[arg(long)]
    pub deny: bool,
    /// Why (recorded with the answer)
    #[arg(long)]
    pub reason: Option<String>,
    /// A standing approval of the runbook file for rehearsals, replays and drills
    #[arg(long, requires_all = ["until", "out"])]
    pub standing: bool,
    /// With --standing: valid until this time (RFC 3339)
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// With --standing: where the approval is written (and FILE.sig beside it)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

pub fn approve(a: ApproveArgs) -> u8 {
    let ask = |path: &Path| {
        std::io::IsTerminal::is_terminal(&std::io::stdin())
            .then(|| rpassword::prompt_password(format!("passphrase for {}: ", path.display())).ok())
            .flatten()
    };
    let signer = match crate::journal::sign::Signer::load(&a.sign_key, || {
        std::env::var("LIFEBOAT_SIGN_KEY_PASSPHRASE").ok().or_else(|| ask(&a.sign_key))
    }) {
        Ok(s) => s,
        Err(e) => return super::usage(&e.to_string()),
    };
    let decision = if a.deny { Decision::Deny } else { Decision::Approve };
    let reason = a.reason.as_ref().map(|r| r.trim().to_string()).filter(|r| !r.is_empty());
    let now = Timestamp::now();
    let (doc, out) = if a.standing {
        match standing(&a, decision, reason, now) {
            Ok(x) => x,
            Err(e) => return super::usage(&e),
        }
    } else {
        match live(&a, &signer, decision, reason, now) {
            Ok(x) => x,
            Err(e) => return super::usage(&e),
        }
    };
    let (text, pem) = match approval::sign(&doc, &signer) {
        Ok(x) => x,
        Err(e) => return super::usage(&e.to_string()),
    };
    if let Err(e) = approval::write(&out, &text, &pem) {
        return super::usage(&e.to_string());
    }
    let _ = writeln!(
        anstream::stdout(),
        "{} `{}`: {} (signature {}, namespace {})",
        if a.deny { "denied" } else { "approved" },
        crate::printable::line(&a.step),
        out.display(),
        approval::sig_path(&out).display(),
        approval::APPROVAL_NAMESPACE
    );
    exit::OK
}

/// A standing approval of the runbook file named by `target`.
fn standing(
    a: &ApproveArgs,
    decision: Decision,
    reason: Option<String>,
    now: Timestamp,
) -> Result<(Document, PathBuf), String> {
    if decision == Decision::Deny {
        return Err(
            "a standing approval says yes in advance; a no is given when a run asks (`approve LOG --deny`)".into()
        );
    }
    let until = a.until.as_deref().unwrap_or_default();
    let until_t = parse_timestamp(until).map_err(|e| format!("--until `{until}`: {e}"))?;
    if until_t <= now {
        return Err(format!("--until {until} is not in the future"));
    }
    let bytes = std::fs::read(&a.target).map_err(|e| format!("cannot read `{}`: {e}", a.target.display()))?;
    let Some(crate::runbook::load::Doc::Runbook(raw)) = crate::runbook::load::read(&a.target).doc else {
        return Err(format!("`{}` is not a runbook (give the runbook file with --standing)", a.target.display()));
    };
    let id = raw.id.as_ref().map(|i| i.value.clone()).unwrap_or_default();
    let approval_step = raw
        .phases
        .iter()
        .flatten()
        .flat_map(|p| p.steps.iter().flatten())
        .any(|s| s.id.as_ref().is_some_and(|i| i.value == a.step) && s.approval.is_some());
    if !approval_step {
        return Err(format!("runbook `{id}` has no approval step `{}`", a.step));
    }
    let doc = Document::Standing {
        runbook_id: id,
        runbook_sha256: crate::journal::sha256_hex(&bytes),
        step: a.step.clone(),
        until: format_timestamp(until_t),
        decision,
        reason,
        signed_at: format_timestamp(now),
    };
    Ok((doc, a.out.clone().unwrap_or_default()))
}

/// An approval of the step a run is waiting on, as its log stands now.
fn live(
    a: &ApproveArgs,
    signer: &crate::journal::sign::Signer,
    decision: Decision,
    reason: Option<String>,
    now: Timestamp,
) -> Result<(Document, PathBuf), String> {
    if a.until.is_some() || a.out.is_some() {
        return Err("--until and --out go with --standing; an approval of a waiting run goes to its inbox".into());
    }
    let log = &a.target;
    let bytes = std::fs::read(log).map_err(|e| format!("cannot read `{}`: {e}", log.display()))?;
    let report = crate::journal::verify::verify_bytes(&bytes, None, None);
    if let Some(bad) = &report.tampered {
        return Err(format!(
            "`{}` does not verify (line {}: {}): nothing to approve",
            log.display(),
            bad.line,
            bad.why
        ));
    }
    if report.sealed {
        return Err(format!("the run of `{}` has finished; there is nothing to approve", log.display()));
    }
    let records = crate::journal::records(&bytes);
    let Some(Event::Genesis(g)) = records.first().map(|r| &r.event) else {
        return Err(format!("`{}` holds no lifeboat run", log.display()));
    };
    if g.signer.as_deref().map(crate::journal::key_only) == Some(crate::journal::key_only(&signer.public_openssh())) {
        return Err("this key signs the run's own log: a run cannot approve itself".into());
    }
    let asked: Option<&Record> = records.iter().rev().find(
        |r| matches!(&r.event, Event::StepWaiting { step, waiting_for: Waiting::Approval, .. } if *step == a.step),
    );
    let Some(asked) = asked else {
        return Err(format!("the run is not waiting for an approval of `{}`", crate::printable::line(&a.step)));
    };
    let finished = records
        .iter()
        .any(|r| r.seq > asked.seq && matches!(&r.event, Event::StepFinished { step, .. } if *step == a.step));
    if finished {
        return Err(format!("`{}` is no longer waiting", crate::printable::line(&a.step)));
    }
    let log_sha256 = approval::log_prefix_sha256(&bytes, asked.seq)
        .ok_or_else(|| "the line that asks is not complete yet".to_string())?;
    let doc = Document::Live {
        run_id: g.run_id.clone(),
        step: a.step.clone(),
        waiting_seq: asked.seq,
        log_sha256,
        decision,
        reason,
        signed_at: format_timestamp(now),
    };
    let dir = crate::inbox::path(log);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    let taken = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
    let out = (taken + 1..)
        .map(|n| dir.join(format!("{n}-{}.json", if decision == Decision::Deny { "denial" } else { "approval" })))
        .find(|p| !p.exists() && !approval::sig_path(p).exists())
        .unwrap_or_else(|| dir.join("approval.json"));
    Ok((doc, out))
}
