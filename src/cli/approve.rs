//! `lifeboat approve`: a signed yes (or no) from any terminal. For a run that waits, it
//! goes into the run's inbox beside its log (`LOG.inbox/`), which the running lifeboat
//! reads; with `--standing`, a standing approval of one runbook file for rehearsals,
//! replays and drills, written to `--out` for an answers file to name.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::exit;
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
    /// With an s3:// copy: the runbook folder whose catalog names the evidence bucket's region
    #[arg(long, default_value = "runbooks")]
    pub dir: PathBuf,
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
    if let Some(place) = a.target.to_str().and_then(crate::offsite::Place::parse) {
        return approve_copy(&a, &place, &signer, decision, reason, now);
    }
    let written = if a.standing {
        standing(&a, decision, reason, now).and_then(|(doc, out)| {
            let (text, pem) = approval::sign(&doc, &signer).map_err(|e| e.to_string())?;
            approval::write(&out, &text, &pem).map_err(|e| e.to_string())?;
            Ok(out)
        })
    } else if a.until.is_some() || a.out.is_some() {
        Err("--until and --out go with --standing; an approval of a waiting run goes to its inbox".into())
    } else {
        // The same as the approval dialog does with an approver's key.
        crate::inbox::deliver(&a.target, &a.step, &signer, decision, reason)
    };
    let out = match written {
        Ok(out) => out,
        Err(e) => return super::usage(&e),
    };
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

/// `approve s3://BUCKET/PREFIX/RUN`: for an approver who cannot reach the operator's
/// machine. Reads the run's copy in the evidence bucket (the line where the step asks is
/// signed there as it asks), and writes the approval (signature first) to `inbox/` beside
/// it, where the running lifeboat looks.
fn approve_copy(
    a: &ApproveArgs,
    place: &crate::offsite::Place,
    signer: &crate::journal::sign::Signer,
    decision: Decision,
    reason: Option<String>,
    now: Timestamp,
) -> u8 {
    if a.standing || a.until.is_some() || a.out.is_some() {
        return super::usage(
            "a standing approval is of a runbook file; `s3://…` is a run's copy: approve its waiting step",
        );
    }
    let region = super::verify::evidence_region(&a.dir, &place.bucket);
    let runtime = super::runtime();
    let done: Result<String, String> = runtime.block_on(async {
        let aws = crate::cloud::aws::Aws::from_env().await;
        let clock: std::sync::Arc<dyn crate::clock::Clock> = std::sync::Arc::new(crate::clock::SystemClock);
        let reach = crate::cloud::port::Reach { region, role_arn: None, clock };
        let s3 = crate::cloud::port::Backend::s3(&aws, &reach).await.map_err(|e| e.to_string())?;
        let copy =
            crate::offsite::read(s3.as_ref(), place).await.map_err(|e| format!("cannot read {}: {e}", place.url()))?;
        if copy.segments == 0 {
            return Err(format!("no copy of a log at {}", place.url()));
        }
        let doc = crate::inbox::live_document(&copy.bytes, &place.url(), &a.step, signer, decision, reason, now)?;
        let (text, pem) = approval::sign(&doc, signer).map_err(|e| e.to_string())?;
        let prefix = crate::inbox::bucket_prefix(place);
        let there = s3.list_objects(&place.bucket, &prefix, None).await.map_err(|e| e.to_string())?;
        let keys: Vec<String> = there.objects.into_iter().map(|o| o.key).collect();
        let key = (1..)
            .map(|n| format!("{prefix}{}", crate::inbox::file_name(n, decision)))
            .find(|k| !keys.contains(k) && !keys.contains(&format!("{k}.sig")))
            .unwrap_or_default();
        s3.put_object(&place.bucket, &format!("{key}.sig"), pem.into_bytes()).await.map_err(|e| e.to_string())?;
        s3.put_object(&place.bucket, &key, text.into_bytes()).await.map_err(|e| e.to_string())?;
        Ok(format!("s3://{}/{key}", place.bucket))
    });
    match done {
        Ok(url) => {
            let _ = writeln!(
                anstream::stdout(),
                "{} `{}`: {url} (signature {url}.sig, namespace {})",
                if a.deny { "denied" } else { "approved" },
                crate::printable::line(&a.step),
                approval::APPROVAL_NAMESPACE
            );
            exit::OK
        }
        Err(e) => super::usage(&e),
    }
}
