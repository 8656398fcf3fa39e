//! The run's inbox: `LOG.inbox/` beside the log takes signed words from other people
//! while the run goes on (`lifeboat approve LOG …`). The run reads it at a person's pace
//! and hands each message to the engine as it is, which checks it against the trust root
//! and the roles file before anything counts and copies it whole into the log. What lay
//! there before the run (re)started is not taken: it answered an earlier question.
//! A run that copies its log to the evidence bucket also reads `inbox/` beside the copy
//! (`lifeboat approve s3://BUCKET/PREFIX/RUN …`), for approvers who cannot reach this
//! machine; they read the copy, which holds the signed line where the step asks.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc::{UnboundedSender, WeakUnboundedSender};

use crate::engine::Command;
use crate::event::{Event, Record, Waiting};
use crate::journal::approval::{self, Decision, Document};
use crate::runbook::time::{Timestamp, format_timestamp};

/// How often the inbox is looked at: a person is waiting, not a machine.
const EVERY: Duration = Duration::from_millis(200);

/// `LOG.inbox/`.
pub fn path(log: &Path) -> PathBuf {
    let mut name = log.as_os_str().to_owned();
    name.push(".inbox");
    PathBuf::from(name)
}

/// The messages waiting: plain files only. A link is passed over (it would read what
/// its maker chose, as lifeboat), as is anything not a file (a pipe would block).
fn documents(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut docs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    docs.sort();
    docs
}

/// A message, as it is, to the engine (which checks it); false once the run has ended.
fn hand_over(commands: &WeakUnboundedSender<Command>, document: String, signature: String) -> bool {
    let step = serde_json::from_str::<Document>(document.trim_end()).map(|d| d.step().to_string()).unwrap_or_default();
    let sent = commands.upgrade().map(|tx| tx.send(Command::Signed { step, document, signature }));
    matches!(sent, Some(Ok(())))
}

/// Reads the inbox until the run stops taking commands. It holds the engine's channel
/// weakly: the inbox never keeps a run alive that everyone else has left.
pub fn watch(log: PathBuf, commands: &UnboundedSender<Command>) -> tokio::task::JoinHandle<()> {
    let commands = commands.downgrade();
    tokio::spawn(async move {
        let dir = path(&log);
        let mut taken: HashSet<PathBuf> = documents(&dir).into_iter().collect();
        loop {
            for doc in documents(&dir) {
                if taken.contains(&doc) {
                    continue;
                }
                // The signature is linked before the document, each whole: a document
                // that is there has its signature beside it.
                let Ok((document, signature)) = approval::read(&doc) else { continue };
                taken.insert(doc);
                if !hand_over(&commands, document, signature) {
                    return;
                }
            }
            if commands.upgrade().is_none_or(|tx| tx.is_closed()) {
                return;
            }
            tokio::time::sleep(EVERY).await;
        }
    })
}

/// How often the bucket's inbox is listed: each look is a request.
const BUCKET_EVERY: Duration = Duration::from_secs(2);

/// `PREFIX/RUN/inbox/` of a run's copy in the evidence bucket.
pub fn bucket_prefix(place: &crate::offsite::Place) -> String {
    format!("{}inbox/", place.prefix)
}

async fn bucket_documents(
    s3: &dyn crate::cloud::port::s3::S3Api,
    bucket: &str,
    prefix: &str,
) -> crate::cloud::port::Api<Vec<crate::cloud::port::s3::ListedObject>> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = s3.list_objects(bucket, prefix, token.take()).await?;
        out.extend(page.objects);
        match page.next {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

/// Reads the bucket's inbox until the run stops taking commands (held weakly, as above).
/// A listing that fails is tried again at the next look; the run never waits on it.
pub fn watch_bucket(
    s3: std::sync::Arc<dyn crate::cloud::port::s3::S3Api>,
    place: crate::offsite::Place,
    commands: &UnboundedSender<Command>,
) -> tokio::task::JoinHandle<()> {
    use crate::cloud::port::s3::ObjRef;
    let commands = commands.downgrade();
    tokio::spawn(async move {
        let prefix = bucket_prefix(&place);
        let mut taken: HashSet<String> = match bucket_documents(s3.as_ref(), &place.bucket, &prefix).await {
            Ok(objects) => objects.into_iter().map(|o| o.key).collect(),
            Err(_) => HashSet::new(),
        };
        loop {
            if commands.upgrade().is_none_or(|tx| tx.is_closed()) {
                return;
            }
            let objects = bucket_documents(s3.as_ref(), &place.bucket, &prefix).await.unwrap_or_default();
            let new: Vec<&crate::cloud::port::s3::ListedObject> =
                objects.iter().filter(|o| o.key.ends_with(".json") && !taken.contains(&o.key)).collect();
            for doc in new {
                let sig_key = format!("{}.sig", doc.key);
                let Some(sig) = objects.iter().find(|o| o.key == sig_key) else { continue };
                // No approval is this big: never fetched, never read.
                if doc.size > approval::MAX_BYTES || sig.size > approval::MAX_BYTES {
                    taken.insert(doc.key.clone());
                    continue;
                }
                let get = |o: &crate::cloud::port::s3::ListedObject| ObjRef {
                    bucket: place.bucket.clone(),
                    key: o.key.clone(),
                    version: None,
                };
                let (Ok(d), Ok(g)) =
                    (s3.get(&get(doc), None, &doc.etag).await, s3.get(&get(sig), None, &sig.etag).await)
                else {
                    continue;
                };
                taken.insert(doc.key.clone());
                let document = String::from_utf8_lossy(&d.bytes).into_owned();
                if !hand_over(&commands, document, String::from_utf8_lossy(&g.bytes).into_owned()) {
                    return;
                }
            }
            tokio::time::sleep(BUCKET_EVERY).await;
        }
    })
}

/// `N-approval.json` or `N-denial.json`.
pub fn file_name(n: usize, decision: Decision) -> String {
    format!("{n}-{}.json", if decision == Decision::Deny { "denial" } else { "approval" })
}

/// The document for the step that waits in `bytes` (a log, or its copy): the run, the
/// step, and the log through the line where it asked, verified first.
pub fn live_document(
    bytes: &[u8],
    shown: &str,
    step: &str,
    signer: &crate::journal::sign::Signer,
    decision: Decision,
    reason: Option<String>,
    now: Timestamp,
) -> Result<Document, String> {
    let report = crate::journal::verify::verify_bytes(bytes, None, None);
    if let Some(bad) = &report.tampered {
        return Err(format!("`{shown}` does not verify (line {}: {}): nothing to approve", bad.line, bad.why));
    }
    if report.sealed {
        return Err(format!("the run of `{shown}` has finished; there is nothing to approve"));
    }
    let records = crate::journal::records(bytes);
    let Some(Event::Genesis(g)) = records.first().map(|r| &r.event) else {
        return Err(format!("`{shown}` holds no lifeboat run"));
    };
    if g.signer.as_deref().map(crate::journal::key_only) == Some(crate::journal::key_only(&signer.public_openssh())) {
        return Err("this key signs the run's own log: a run cannot approve itself".into());
    }
    let asked: Option<&Record> = records
        .iter()
        .rev()
        .find(|r| matches!(&r.event, Event::StepWaiting { step: s, waiting_for: Waiting::Approval, .. } if s == step));
    let Some(asked) = asked else {
        return Err(format!("the run is not waiting for an approval of `{}`", crate::printable::line(step)));
    };
    let finished = records
        .iter()
        .any(|r| r.seq > asked.seq && matches!(&r.event, Event::StepFinished { step: s, .. } if s == step));
    if finished {
        return Err(format!("`{}` is no longer waiting", crate::printable::line(step)));
    }
    let log_sha256 = approval::log_prefix_sha256(bytes, asked.seq)
        .ok_or_else(|| "the line that asks is not complete yet".to_string())?;
    Ok(Document::Live {
        run_id: g.run_id.clone(),
        step: step.to_string(),
        waiting_seq: asked.seq,
        log_sha256,
        decision,
        reason,
        signed_at: format_timestamp(now),
    })
}

/// The next free name in `LOG.inbox/` (created if need be).
pub fn next_name(log: &Path, decision: Decision) -> PathBuf {
    let dir = path(log);
    let _ = std::fs::create_dir_all(&dir);
    let taken = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
    (taken + 1..)
        .map(|n| dir.join(file_name(n, decision)))
        .find(|p| !p.exists() && !approval::sig_path(p).exists())
        .unwrap_or_else(|| dir.join("approval.json"))
}

/// Signs an approval of the step the log waits on and drops it into its inbox: what
/// `lifeboat approve LOG` and the approval dialog (with an approver's key) both do.
pub fn deliver(
    log: &Path,
    step: &str,
    signer: &crate::journal::sign::Signer,
    decision: Decision,
    reason: Option<String>,
) -> Result<PathBuf, String> {
    let bytes = std::fs::read(log).map_err(|e| format!("cannot read `{}`: {e}", log.display()))?;
    let now = crate::runbook::time::Timestamp::now();
    let doc = live_document(&bytes, &log.display().to_string(), step, signer, decision, reason, now)?;
    let (text, pem) = approval::sign(&doc, signer).map_err(|e| e.to_string())?;
    let out = next_name(log, decision);
    approval::write(&out, &text, &pem).map_err(|e| e.to_string())?;
    Ok(out)
}
