//! Signed approvals: a person's yes (or no) bound to their key, not to a name anyone can
//! type. Each is one line of JSON and a detached SSHSIG in a namespace of its own
//! (`lifeboat-approval`), so stock `ssh-keygen -Y verify` checks it and it can never pass
//! for a checkpoint, a seal or a sign-off. Two kinds:
//! - for a live run, made with `lifeboat approve LOG --step S`: it names the run, the
//!   step and the SHA-256 of the log up to the line where the step waits, so it approves
//!   exactly what its signer saw and nothing later;
//! - standing, made with `lifeboat approve RUNBOOK --standing --until T`: for rehearsals,
//!   replays on the simulated cloud and drills of exactly that runbook file (its
//!   SHA-256), until T; never for a live run.
//!
//! A run takes one only after checking its signature against the trust root and its
//! signer's role against the roles file, and copies it whole into the log.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use ssh_key::{PublicKey, SshSig};

use super::sign::{SignError, Signer, sha512, verify_digest};
use super::trust::AllowedSigners;
use crate::runbook::time::{Timestamp, parse_timestamp};

pub const APPROVAL_NAMESPACE: &str = "lifeboat-approval";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Deny,
}

/// What a signed approval says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Document {
    /// For one run, at the moment its step waited.
    #[serde(rename = "lifeboat-approval/v1")]
    Live {
        run_id: String,
        step: String,
        /// The `seq` of the `step_waiting` line the signer saw.
        waiting_seq: u64,
        /// SHA-256 of the log's bytes from its first line through that one.
        log_sha256: String,
        decision: Decision,
        reason: Option<String>,
        signed_at: String,
    },
    /// For rehearsals, replays and drills of one runbook file, until a time.
    #[serde(rename = "lifeboat-standing-approval/v1")]
    Standing {
        runbook_id: String,
        runbook_sha256: String,
        step: String,
        until: String,
        decision: Decision,
        reason: Option<String>,
        signed_at: String,
    },
}

impl Document {
    pub fn step(&self) -> &str {
        match self {
            Document::Live { step, .. } | Document::Standing { step, .. } => step,
        }
    }
    pub fn decision(&self) -> Decision {
        match self {
            Document::Live { decision, .. } | Document::Standing { decision, .. } => *decision,
        }
    }
    pub fn reason(&self) -> Option<&str> {
        match self {
            Document::Live { reason, .. } | Document::Standing { reason, .. } => reason.as_deref(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    #[error("cannot read `{0}`: {1}")]
    Read(String, std::io::Error),
    #[error("cannot write `{0}`: {1}")]
    Write(String, std::io::Error),
    #[error(transparent)]
    Sign(#[from] SignError),
}

/// The document as the one line that is signed (a quote or newline in a reason is data).
pub fn text_of(doc: &Document) -> String {
    let mut text = serde_json::to_string(doc).unwrap_or_default();
    text.push('\n');
    text
}

/// `doc` signed by `signer`: the line and its armored signature.
pub fn sign(doc: &Document, signer: &Signer) -> Result<(String, String), SignError> {
    let text = text_of(doc);
    let pem = signer.sign_digest(APPROVAL_NAMESPACE, &sha512(text.as_bytes()))?;
    Ok((text, pem))
}

/// `FILE.sig` beside an approval's document.
pub fn sig_path(doc: &Path) -> PathBuf {
    let mut name = doc.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

/// Writes the signature, then the document, each whole under a scratch name and then
/// linked at its own (never over an existing file): a reader that sees the document (an
/// inbox) sees both complete.
pub fn write(path: &Path, text: &str, pem: &str) -> Result<(), ApprovalError> {
    use std::io::Write;
    for (p, body) in [(sig_path(path), pem), (path.to_path_buf(), text)] {
        let fail = |e: std::io::Error| ApprovalError::Write(p.display().to_string(), e);
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let scratch = p.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&scratch).map_err(fail)?;
        let written = f.write_all(body.as_bytes()).and_then(|_| f.sync_all());
        // A hard link never replaces a file that is already there (a rename would).
        let linked = written.and_then(|_| std::fs::hard_link(&scratch, &p));
        let _ = std::fs::remove_file(&scratch);
        linked.map_err(fail)?;
    }
    Ok(())
}

/// Reads a document and its signature from `FILE` and `FILE.sig`.
pub fn read(path: &Path) -> Result<(String, String), ApprovalError> {
    let sig = sig_path(path);
    let text = read_small(path).map_err(|e| ApprovalError::Read(path.display().to_string(), e))?;
    let pem = read_small(&sig).map_err(|e| ApprovalError::Read(sig.display().to_string(), e))?;
    Ok((text, pem))
}

/// The most an approval or its signature can be: a document is a few hundred bytes.
pub const MAX_BYTES: u64 = 64 * 1024;

/// A plain file of at most `MAX_BYTES`, read without blocking: what others drop in an
/// inbox may be a named pipe (an open would wait for ever), a device, or gigabytes.
fn read_small(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let refuse = |why: &str| std::io::Error::new(std::io::ErrorKind::InvalidInput, why.to_string());
    let f = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)?;
    let meta = f.metadata()?;
    if !meta.is_file() {
        return Err(refuse("not a plain file"));
    }
    if meta.len() > MAX_BYTES {
        return Err(refuse(&format!("{} bytes, more than an approval can be ({MAX_BYTES})", meta.len())));
    }
    let mut text = String::new();
    f.take(MAX_BYTES + 1).read_to_string(&mut text)?;
    Ok(text)
}

/// A signed approval whose signature holds, and whose key the trust root names.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub document: Document,
    /// `ssh-ed25519 AAAA…` (no comment).
    pub key: String,
    /// The principals the trust root gives the key (`ssh-keygen -Y find-principals`).
    pub principals: String,
}

/// Checks the signature over `text`, then who signed it: `at` is when it is taken (an
/// allowed_signers line limited in time is judged then).
pub fn verify(text: &str, pem: &str, trust: &AllowedSigners, at: Timestamp) -> Result<Verified, String> {
    let sig = SshSig::from_pem(pem).map_err(|e| format!("its signature is no SSH signature ({e})"))?;
    let key = PublicKey::new(sig.public_key().clone(), "");
    verify_digest(pem, APPROVAL_NAMESPACE, &sha512(text.as_bytes()), &key)
        .map_err(|why| format!("its signature does not hold: {why}"))?;
    let document: Document =
        serde_json::from_str(text.trim_end()).map_err(|e| format!("it is signed but is no lifeboat approval ({e})"))?;
    let key = super::key_only(&key.to_openssh().unwrap_or_default());
    let principals =
        trust.vouch(&key, APPROVAL_NAMESPACE, Some(at)).map_err(|why| why.replace("the log's signer", "its signer"))?;
    Ok(Verified { document, key, principals })
}

/// A standing approval is for this runbook file, a run that is no live one, until its time.
pub fn standing_fits(doc: &Document, runbook_sha256: &str, live: bool, now: Timestamp) -> Result<(), String> {
    let Document::Standing { runbook_sha256: sha, until, .. } = doc else { return Ok(()) };
    if live {
        return Err("a standing approval is for rehearsals, replays and drills, never a live run".into());
    }
    if sha != runbook_sha256 {
        return Err("it was given for another version of this runbook (its SHA-256 differs)".into());
    }
    match parse_timestamp(until) {
        Ok(t) if t >= now => Ok(()),
        Ok(t) => Err(format!("it expired at {t}")),
        Err(e) => Err(format!("its `until` is no time ({e})")),
    }
}

/// The SHA-256 of a log's bytes through the line with `seq` (its newline included).
pub fn log_prefix_sha256(log: &[u8], seq: u64) -> Option<String> {
    use ssh_key::sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (i, line) in log.split_inclusive(|b| *b == b'\n').enumerate() {
        h.update(line);
        if i as u64 == seq {
            return line.ends_with(b"\n").then(|| hex::encode(h.finalize()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_round_trips_as_one_line_whatever_its_reason() {
        let doc = Document::Live {
            run_id: "r".into(),
            step: "go".into(),
            waiting_seq: 7,
            log_sha256: "ab".into(),
            decision: Decision::Deny,
            reason: Some("no\n\"decision\": \"approve\"".into()),
            signed_at: "2026-12-07T00:00:00Z".into(),
        };
        let text = text_of(&doc);
        assert_eq!(text.matches('\n').count(), 1);
        assert!(text.starts_with("{\"kind\":\"lifeboat-approval/v1\""), "{text}");
        let back: Document = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(back, doc);
        assert_eq!(back.decision(), Decision::Deny);
    }

    #[test]
    fn the_log_prefix_runs_through_the_named_line() {
        let log = b"a\nb\nc\n";
        assert_eq!(log_prefix_sha256(log, 1), Some(crate::journal::sha256_hex(b"a\nb\n")));
        assert_eq!(log_prefix_sha256(log, 3), None);
    }
}
