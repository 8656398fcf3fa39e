//! Sign-offs: a person's signed statement about a finished run ("the restore drill of
//! Q4 met its objectives"), made after the fact by someone other than the operator — the
//! data-protection officer, the auditor's contact. Each is a small JSON document naming
//! the log by its SHA-256, beside the log with its own detached SSHSIG in a namespace of
//! its own, so stock `ssh-keygen -Y verify` checks it and a sign-off can never pass for
//! a checkpoint or a seal (nor one of those for a sign-off).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use ssh_key::sha2::{Digest, Sha256};
use ssh_key::{PublicKey, SshSig};

use super::sign::{SignError, Signer, sha512};
use super::trust::AllowedSigners;
use crate::runbook::time::{Timestamp, format_timestamp};

pub const SIGN_OFF_NAMESPACE: &str = "lifeboat-sign-off";

/// What is signed: the log (by digest and run id), who, in what role, what, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    pub kind: String,
    pub log_sha256: String,
    pub run_id: String,
    pub role: String,
    pub statement: String,
    pub signed_at: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SignOffError {
    #[error("cannot read the log `{0}`: {1}")]
    Log(String, std::io::Error),
    #[error("`{0}` holds no lifeboat run (no genesis line with a run id)")]
    NotARun(String),
    #[error("cannot write `{0}`: {1}")]
    Write(String, std::io::Error),
    #[error("the role is empty: name the role you sign in (data-protection-officer, auditor, …)")]
    NoRole,
    #[error("the statement is empty: say what you sign")]
    NoStatement,
    #[error(
        "this key signed the run's log itself: a run cannot sign itself off; a sign-off is another person's word, with their own key"
    )]
    OwnKey,
    #[error(transparent)]
    Sign(#[from] SignError),
}

/// Where a log's sign-offs live: `LOG.signoffs/`.
pub fn folder(log: &Path) -> PathBuf {
    let mut name = log.as_os_str().to_owned();
    name.push(".signoffs");
    PathBuf::from(name)
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A field of a log's genesis line.
fn genesis_field(bytes: &[u8], field: &str) -> Option<String> {
    let first = bytes.split(|b| *b == b'\n').next()?;
    let v: serde_json::Value = serde_json::from_slice(first).ok()?;
    (v.get("type")?.as_str()? == "genesis").then_some(())?;
    v.get(field)?.as_str().map(str::to_string)
}

fn run_id(bytes: &[u8]) -> Option<String> {
    genesis_field(bytes, "run_id")
}

/// The key that signed the run (`ssh-ed25519 AAAA…`, no comment).
fn run_signer(bytes: &[u8]) -> Option<String> {
    genesis_field(bytes, "signer").map(|k| super::key_only(&k))
}

/// Signs `statement` about `log` in `role`: writes `LOG.signoffs/N-ROLE.json` and its
/// `.sig`, never over an earlier one. Returns the document's path.
pub fn sign_off(
    log: &Path,
    signer: &Signer,
    role: &str,
    statement: &str,
    now: Timestamp,
) -> Result<PathBuf, SignOffError> {
    let (role, statement) = (role.trim(), statement.trim());
    if role.is_empty() {
        return Err(SignOffError::NoRole);
    }
    if statement.is_empty() {
        return Err(SignOffError::NoStatement);
    }
    let shown = log.display().to_string();
    let bytes = std::fs::read(log).map_err(|e| SignOffError::Log(shown.clone(), e))?;
    let run_id = run_id(&bytes).ok_or_else(|| SignOffError::NotARun(shown.clone()))?;
    if run_signer(&bytes).is_some_and(|k| k == super::key_only(&signer.public_openssh())) {
        return Err(SignOffError::OwnKey);
    }
    let doc = Statement {
        kind: "lifeboat-sign-off/v1".into(),
        log_sha256: sha256_hex(&bytes),
        run_id,
        role: role.into(),
        statement: statement.into(),
        signed_at: format_timestamp(now),
    };
    // One line of JSON: a newline or a quote in the statement is data, never structure.
    let mut text = serde_json::to_string(&doc).unwrap_or_default();
    text.push('\n');
    let sig = signer.sign_digest(SIGN_OFF_NAMESPACE, &sha512(text.as_bytes()))?;
    let dir = folder(log);
    std::fs::create_dir_all(&dir).map_err(|e| SignOffError::Write(dir.display().to_string(), e))?;
    let slug: String = role
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c.to_ascii_lowercase() } else { '-' })
        .collect();
    // Numbered in the order they were made, whatever the role.
    let made = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(Result::ok).filter(|e| e.path().extension().is_some_and(|x| x == "json")).count())
        .unwrap_or(0);
    for n in made + 1.. {
        let path = dir.join(format!("{n}-{slug}.json"));
        let created = std::fs::OpenOptions::new().write(true).create_new(true).open(&path);
        match created {
            Ok(mut f) => {
                use std::io::Write;
                let sig_path = sig_of(&path);
                f.write_all(text.as_bytes())
                    .and_then(|_| f.sync_all())
                    .and_then(|_| crate::ownfile::replace(&sig_path, sig.as_bytes()))
                    .map_err(|e| SignOffError::Write(path.display().to_string(), e))?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(SignOffError::Write(path.display().to_string(), e)),
        }
    }
    unreachable!("1.. never ends")
}

fn sig_of(doc: &Path) -> PathBuf {
    let mut name = doc.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

/// One sign-off as found beside a log, and what holds of it.
#[derive(Debug, Clone)]
pub struct Found {
    pub path: PathBuf,
    /// The document, when it reads as one.
    pub statement: Option<Statement>,
    /// The signer's key (OpenSSH), when the signature verifies over the document.
    pub signer: Option<String>,
    /// Who the trust root says the signer is, when it vouches.
    pub vouched: Option<String>,
    /// Why it does not count, if it does not.
    pub problem: Option<String>,
}

impl Found {
    pub fn counts(&self) -> bool {
        self.problem.is_none()
    }
}

/// Every sign-off beside `log`, each checked: its signature over its document, the
/// document naming this log's bytes and run, and (given a trust root) its signer. The
/// log is read only when it has sign-offs.
pub fn find(log: &Path, allowed: Option<&AllowedSigners>) -> Vec<Found> {
    let dir = folder(log);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut docs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    if docs.is_empty() {
        return Vec::new();
    }
    in_order(&mut docs);
    let log_bytes = std::fs::read(log).unwrap_or_default();
    let (sha, run) = (sha256_hex(&log_bytes), run_id(&log_bytes));
    let own = run_signer(&log_bytes);
    docs.into_iter()
        .map(|path| {
            let mut found = check(path, &sha, run.as_deref(), allowed);
            let by_the_run = found.signer.as_deref().map(super::key_only).is_some_and(|k| Some(k) == own);
            if found.problem.is_none() && by_the_run {
                found.problem = Some("is signed by the run's own signing key: a run cannot sign itself off".into());
            }
            found
        })
        .collect()
}

/// Sign-offs in the order they were made: by their number, so `10-…` follows `9-…`
/// (by name it would come second); a file not numbered by lifeboat, last.
fn in_order(docs: &mut [PathBuf]) {
    docs.sort_by_cached_key(|p| {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let n = name.split('-').next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(u64::MAX);
        (n, name)
    });
}

fn check(path: PathBuf, sha: &str, run: Option<&str>, allowed: Option<&AllowedSigners>) -> Found {
    let mut found = Found { path: path.clone(), statement: None, signer: None, vouched: None, problem: None };
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) => {
            found.problem = Some(format!("cannot be read: {e}"));
            return found;
        }
    };
    found.statement = serde_json::from_slice::<Statement>(&text).ok();
    let pem = match std::fs::read_to_string(sig_of(&path)) {
        Ok(p) => p,
        Err(_) => {
            found.problem = Some("has no signature (`.sig` beside it)".into());
            return found;
        }
    };
    let key = match signed_by(&pem, &text) {
        Ok(k) => k,
        Err(why) => {
            found.problem = Some(why);
            return found;
        }
    };
    found.signer = key.to_openssh().ok();
    let Some(doc) = &found.statement else {
        found.problem = Some("is signed but is not a sign-off document".into());
        return found;
    };
    if doc.kind != "lifeboat-sign-off/v1" {
        found.problem = Some(format!("is of kind `{}`, not a lifeboat sign-off", doc.kind));
    } else if doc.log_sha256 != sha {
        found.problem = Some(
            "signs another version of this log (its SHA-256 differs): the log changed after it was signed off".into(),
        );
    } else if run.is_some_and(|r| r != doc.run_id) {
        found.problem = Some(format!("signs run `{}`, not this log's", doc.run_id));
    } else if let Some(a) = allowed {
        let at = crate::runbook::time::parse_timestamp(&doc.signed_at).ok();
        let plain = found.signer.as_deref().map(|k| k.split_whitespace().take(2).collect::<Vec<_>>().join(" "));
        match a.vouch(plain.as_deref().unwrap_or_default(), SIGN_OFF_NAMESPACE, at) {
            Ok(who) => found.vouched = Some(who),
            Err(why) => found.problem = Some(why.replace("the log's signer", "its signer")),
        }
    }
    found
}

/// The key whose SSHSIG `pem` is over `message` in the sign-off namespace.
fn signed_by(pem: &str, message: &[u8]) -> Result<PublicKey, String> {
    let sig = SshSig::from_pem(pem).map_err(|e| format!("has a signature that is no SSH signature ({e})"))?;
    let key = PublicKey::new(sig.public_key().clone(), "");
    super::sign::verify_digest(pem, SIGN_OFF_NAMESPACE, &sha512(message), &key)
        .map_err(|why| format!("does not verify: {why}"))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_offs_are_listed_in_the_order_they_were_made_past_nine() {
        let mut docs: Vec<PathBuf> = ["10-auditor.json", "2-dpo.json", "x-extra.json", "1-ciso.json", "9-auditor.json"]
            .map(PathBuf::from)
            .into();
        in_order(&mut docs);
        let names: Vec<_> = docs.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["1-ciso.json", "2-dpo.json", "9-auditor.json", "10-auditor.json", "x-extra.json"]);
    }
}
