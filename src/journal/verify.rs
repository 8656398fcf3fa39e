//! Checking a log: JSON of every line, `seq` without gaps, the `prev` chain, every
//! checkpoint's signature, the seal and `LOG.sig`. It reads only what the log itself
//! says, so an auditor's own `ssh-keygen` reaches the same verdict.

use std::path::Path;

use serde::Deserialize;
use ssh_key::PublicKey;
use ssh_key::sha2::{Digest, Sha256, Sha512};

use super::sign::{CHECKPOINT_NAMESPACE, SEAL_NAMESPACE, verify_digest};
use super::{GENESIS_PREV, key_only, sha256_hex, sig_path};
use crate::event::EVENT_TYPES;

/// The first line that fails, 1-based like `head -n` and editors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bad {
    pub line: usize,
    pub why: String,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Complete lines read.
    pub lines: usize,
    /// Bytes up to the end of the last complete line.
    pub complete_bytes: usize,
    /// Bytes after the last newline: a line cut by a crash.
    pub torn_bytes: usize,
    pub tampered: Option<Bad>,
    pub sealed: bool,
    pub run_id: Option<String>,
    pub runbook_id: Option<String>,
    pub signer: Option<String>,
    /// The principals the allowed_signers file gives the signer.
    pub signer_identity: Option<String>,
    pub checkpoints: usize,
    /// The last line a checkpoint vouches for (every line before the checkpoint).
    pub signed_through: usize,
    pub seal_signature_checked: bool,
    /// Lines no checkpoint signed when written that a resume took on, in words.
    pub adopted: Vec<String>,
    /// A trust root was given and consulted.
    pub trust_checked: bool,
    /// Nothing at all was written: not tampering, a run that never began.
    pub empty: bool,
    /// The time the log claims for its last signature (the seal, else the last
    /// checkpoint): what `valid-after`/`valid-before` are checked against.
    pub claimed_time: Option<crate::runbook::time::Timestamp>,
}

/// Only what verification needs of each line (fast on long logs).
#[derive(Deserialize)]
struct Head {
    seq: u64,
    prev: String,
    #[serde(rename = "type")]
    kind: String,
    signature: Option<String>,
    signer: Option<String>,
    run_id: Option<String>,
    runbook_id: Option<String>,
    adopted: Option<crate::event::Adopted>,
    by: Option<String>,
    time: Option<String>,
}

pub use super::trust::AllowedSigners;

/// Verifies a log file as it streams past: memory stays the same whatever its size
/// (a line at a time, and the line after it for the diagnosis of a bad one).
pub fn verify_file(path: &Path, allowed: Option<&AllowedSigners>) -> std::io::Result<Report> {
    let file = std::io::BufReader::new(std::fs::File::open(path)?);
    let sig = std::fs::read_to_string(sig_path(path)).ok();
    verify_reader(file, sig.as_deref(), allowed)
}

pub fn verify_bytes(bytes: &[u8], seal_sig: Option<&str>, allowed: Option<&AllowedSigners>) -> Report {
    verify_reader(bytes, seal_sig, allowed).unwrap_or_default()
}

/// The complete lines of a log, one at a time; what follows the last newline is torn.
struct Lines<R> {
    r: R,
    /// The line read ahead (for a diagnosis that needs the next line).
    ahead: Option<Vec<u8>>,
    torn: usize,
    complete: usize,
    done: bool,
    /// A line longer than [`super::MAX_LINE`] was met: reading stopped there.
    too_long: bool,
}

impl<R: std::io::BufRead> Lines<R> {
    fn read(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        if self.done {
            return Ok(None);
        }
        let mut buf = Vec::new();
        let mut limited = std::io::Read::take(&mut self.r, super::MAX_LINE as u64 + 1);
        let n = std::io::BufRead::read_until(&mut limited, b'\n', &mut buf)?;
        if n == 0 {
            self.done = true;
            return Ok(None);
        }
        if buf.len() > super::MAX_LINE && buf.last() != Some(&b'\n') {
            self.too_long = true;
            self.done = true;
            return Ok(None);
        }
        if buf.last() != Some(&b'\n') {
            self.torn = buf.len();
            self.done = true;
            return Ok(None);
        }
        self.complete += buf.len();
        buf.pop();
        Ok(Some(buf))
    }
    fn next(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        match self.ahead.take() {
            Some(l) => Ok(Some(l)),
            None => self.read(),
        }
    }
    fn peek(&mut self) -> std::io::Result<Option<&[u8]>> {
        if self.ahead.is_none() {
            self.ahead = self.read()?;
        }
        Ok(self.ahead.as_deref())
    }
}

/// Two hex strings that differ in a character or two: an edit of this very field, not a
/// different line behind it (a changed line changes its whole hash).
fn nearly_equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).filter(|(x, y)| !x.eq_ignore_ascii_case(y)).count() <= 2
}

/// The chain checked a line at a time: `verify` feeds it a file, `watch` feeds it lines
/// as a run writes them (the same rules, so a watcher never believes what `verify` would not).
#[derive(Clone)]
pub struct Chain {
    r: Report,
    all: Sha512,
    signer: Option<PublicKey>,
    /// The hashes of the two lines before this one (the chain and its diagnosis).
    hash_prev: String,
    hash_before: String,
    /// The lines since the last checkpoint, hashed as they pass (a resume's adopted range
    /// is exactly those), through the line before this one and through the one before it.
    since_cp: Sha256,
    since_cp_before: Sha256,
    since_cp_from: usize,
    i: usize,
    /// Check only the last checkpoint's signature (at the end): see [`verify_reader_quick`].
    quick: bool,
    /// In a quick check, the last checkpoint: its line, signature and the digest it signs.
    pending: Option<(usize, String, Vec<u8>)>,
}

impl Default for Chain {
    fn default() -> Self {
        Chain {
            r: Report::default(),
            all: Sha512::new(),
            signer: None,
            hash_prev: GENESIS_PREV.to_string(),
            hash_before: GENESIS_PREV.to_string(),
            since_cp: Sha256::new(),
            since_cp_before: Sha256::new(),
            since_cp_from: 0,
            i: 0,
            quick: false,
            pending: None,
        }
    }
}

impl Chain {
    /// What the lines fed so far show (`tampered` set once one breaks the chain).
    pub fn report(&self) -> &Report {
        &self.r
    }

    /// The next line is longer than any lifeboat writes: the chain is broken there, and
    /// nothing of it or after it is read.
    pub fn too_long(&mut self) -> bool {
        let n = self.i + 1;
        self.fail(n, format!("longer than {} MiB: lifeboat never writes such a line", super::MAX_LINE >> 20))
    }

    fn fail(&mut self, line: usize, why: String) -> bool {
        if self.r.tampered.is_none() {
            self.r.tampered = Some(Bad { line, why });
        }
        false
    }

    /// One complete line, without its newline; `next`, the line after it when already
    /// known, only sharpens the diagnosis of a broken link. False once the chain is broken
    /// (then nothing more is taken).
    pub fn feed(&mut self, line: &[u8], next: Option<&[u8]>) -> bool {
        if self.r.tampered.is_some() {
            return false;
        }
        let i = self.i;
        let n = i + 1;
        if self.r.sealed {
            return self.fail(n, "a line follows the seal: lines were added after the run ended".into());
        }
        let head: Head = match serde_json::from_slice(line) {
            Ok(h) => h,
            Err(e) => return self.fail(n, format!("not a complete lifeboat event ({e})")),
        };
        if head.seq != i as u64 {
            // If this line would follow the one two back, the line between is the intruder
            // (a line of another run, or a copy).
            let before_that = if i >= 2 { self.hash_before.clone() } else { GENESIS_PREV.to_string() };
            if i >= 1 && head.seq + 1 == i as u64 && head.prev == before_that {
                return self.fail(i, "this line does not belong here: the lines around it chain without it".into());
            }
            return self.fail(n, format!("seq is {}, expected {i}: a line was removed, added or moved here", head.seq));
        }
        if i > 0
            && let (Some(mine), Some(theirs)) = (self.r.run_id.clone(), &head.run_id)
            && &mine != theirs
        {
            return self.fail(n, format!("this line belongs to run `{theirs}`, not `{mine}`"));
        }
        if !EVENT_TYPES.contains(&head.kind.as_str()) {
            return self.fail(n, format!("`{}` is not an event lifeboat writes", head.kind));
        }
        let expected = if i == 0 { GENESIS_PREV.to_string() } else { self.hash_prev.clone() };
        if head.prev != expected {
            // Which line is wrong: this one's `prev` (a near miss is an edit of it), this
            // whole line (it does not fit its successor either: spliced in from elsewhere),
            // or the line before (this line still fits its successor).
            let next_prev = next.and_then(|l| serde_json::from_slice::<Head>(l).ok()).map(|h| h.prev);
            let fits_next = next_prev.as_deref() == Some(sha256_hex(line).as_str());
            if i == 0 || nearly_equal(&head.prev, &expected) {
                return self.fail(n, "its `prev` hash was edited".into());
            } else if next_prev.is_some() && !fits_next {
                return self.fail(
                    n,
                    "this line does not belong here: it fits neither the line before nor the line after".into(),
                );
            }
            return self.fail(i, format!("this line was changed: its hash no longer matches the `prev` of line {n}"));
        }
        if i == 0 {
            if head.kind != "genesis" {
                return self.fail(1, "the first line is not the genesis of a run".into());
            }
            self.r.run_id = head.run_id.clone();
            self.r.runbook_id = head.runbook_id.clone();
            if let Some(key) = &head.signer {
                match PublicKey::from_openssh(key) {
                    Ok(k) => self.signer = Some(k),
                    Err(_) => return self.fail(1, "the genesis names a signer key that cannot be read".into()),
                }
                self.r.signer = Some(key_only(key));
            }
        } else if head.kind == "genesis" {
            return self.fail(n, "a second genesis: a line from another run was spliced in".into());
        }
        if head.kind == "checkpoint" {
            let (Some(key), Some(sig)) = (&self.signer, &head.signature) else {
                return self.fail(n, "a checkpoint in a log with no signer".into());
            };
            if self.quick {
                self.pending = Some((n, sig.clone(), self.all.clone().finalize().to_vec()));
            } else if let Err(why) = verify_digest(sig, CHECKPOINT_NAMESPACE, &self.all.clone().finalize(), key) {
                return self.fail(n, format!("checkpoint {why}: the lines before it were rewritten"));
            }
            self.r.checkpoints += 1;
            self.r.signed_through = i;
            self.r.claimed_time = head.time.as_deref().and_then(|t| t.parse().ok());
        }
        if head.kind == "sealed" {
            self.r.sealed = true;
            self.r.claimed_time = head.time.as_deref().and_then(|t| t.parse().ok()).or(self.r.claimed_time);
        }
        if let (Some(a), "resumed") = (&head.adopted, head.kind.as_str()) {
            let (from, to) = (a.from_seq as usize, a.to_seq as usize);
            // The range ends before this line, or before a `recovered` line before it.
            let through = match i.checked_sub(to) {
                Some(1) => Some(self.since_cp.clone()),
                Some(2) => Some(self.since_cp_before.clone()),
                _ => None,
            };
            let fits = through.is_some_and(|h| from == self.since_cp_from && hex::encode(h.finalize()) == a.sha256);
            if !fits {
                return self.fail(n, "the lines this resume adopted are not the lines before it".into());
            }
            self.r.adopted.push(a.words(head.by.as_deref().unwrap_or("?")));
        }
        self.all.update(line);
        self.all.update(b"\n");
        self.hash_before = std::mem::replace(&mut self.hash_prev, sha256_hex(line));
        if head.kind == "checkpoint" {
            (self.since_cp, self.since_cp_before, self.since_cp_from) = (Sha256::new(), Sha256::new(), n);
        } else {
            self.since_cp_before = self.since_cp.clone();
            self.since_cp.update(line);
            self.since_cp.update(b"\n");
        }
        self.r.lines = n;
        self.i += 1;
        true
    }

    /// The verdict on everything fed: `complete_bytes`/`torn_bytes` as read, the seal's
    /// `LOG.sig` if there is one, the trust root if one was given.
    pub fn finish(
        self,
        complete_bytes: usize,
        torn_bytes: usize,
        seal_sig: Option<&str>,
        allowed: Option<&AllowedSigners>,
    ) -> Report {
        let Chain { mut r, all, signer, pending, .. } = self;
        let fail = |r: &mut Report, line: usize, why: String| {
            if r.tampered.is_none() {
                r.tampered = Some(Bad { line, why });
            }
        };
        if let (Some((n, sig, digest)), Some(key)) = (&pending, &signer)
            && r.tampered.is_none()
            && let Err(why) = verify_digest(sig, CHECKPOINT_NAMESPACE, digest, key)
        {
            fail(&mut r, *n, format!("checkpoint {why}: the lines before it were rewritten"));
        }
        r.complete_bytes = complete_bytes;
        r.torn_bytes = torn_bytes;
        let bytes_empty = complete_bytes == 0 && torn_bytes == 0;
        if r.tampered.is_some() {
            return r;
        }
        let last = r.lines;
        if last == 0 && bytes_empty {
            r.empty = true;
            fail(&mut r, 1, "the log is empty: the run never started (lifeboat links a log at its name only once its first line is on disk, so an empty one was left by an older lifeboat or a full disk, or was emptied since)".into());
            return r;
        }
        if last == 0 {
            fail(&mut r, 1, "the log holds no complete line (lifeboat links a log at its name only once its first line is on disk, so this was cut or is not a lifeboat log)".into());
            return r;
        }
        if r.sealed {
            if r.torn_bytes > 0 {
                fail(&mut r, last + 1, "bytes follow the seal".into());
            } else if let Some(key) = &signer {
                match seal_sig {
                    None => fail(
                        &mut r,
                        last,
                        "the log is sealed but LOG.sig is missing: the seal cannot be checked".into(),
                    ),
                    Some(pem) => match verify_digest(pem, SEAL_NAMESPACE, &all.finalize(), key) {
                        Ok(()) => r.seal_signature_checked = true,
                        Err(why) => {
                            fail(&mut r, last, format!("LOG.sig: {why}: the log was changed after it was sealed"))
                        }
                    },
                }
            }
        } else if seal_sig.is_some() && r.torn_bytes > 0 {
            fail(
                &mut r,
                last + 1,
                "the log was sealed (LOG.sig exists), but this last line is damaged or incomplete".into(),
            );
        } else if seal_sig.is_some() {
            fail(
                &mut r,
                last + 1,
                format!("the log was sealed (LOG.sig exists), but it ends after line {last}: the rest was cut off"),
            );
        }
        if let Some(allowed) = allowed {
            r.trust_checked = true;
            // The signature that vouches for the end of the log decides the namespace.
            let namespace = if r.seal_signature_checked { SEAL_NAMESPACE } else { CHECKPOINT_NAMESPACE };
            match r.signer.clone() {
                None => fail(&mut r, 1, "the log is not signed, so no allowed signer vouches for it".into()),
                Some(key) => match allowed.vouch(&key, namespace, r.claimed_time) {
                    Ok(p) => r.signer_identity = Some(p),
                    Err(why) => fail(&mut r, 1, why),
                },
            }
        }
        r
    }
}

/// The same verdict as [`verify_reader`] for a log that holds, checking only the last
/// checkpoint's signature: it signs the digest of every byte before it, earlier
/// checkpoints included, so it stands for them all. Reading a thousand logs of a hundred
/// signed steps this is one signature a log, not a hundred. A log it finds broken is
/// named only at its last checkpoint: ask [`verify_reader`] for the first bad line.
pub fn verify_reader_quick(
    reader: impl std::io::BufRead,
    seal_sig: Option<&str>,
    allowed: Option<&AllowedSigners>,
) -> std::io::Result<Report> {
    read_chain(reader, Chain { quick: true, ..Chain::default() }, seal_sig, allowed)
}

pub fn verify_reader(
    reader: impl std::io::BufRead,
    seal_sig: Option<&str>,
    allowed: Option<&AllowedSigners>,
) -> std::io::Result<Report> {
    read_chain(reader, Chain::default(), seal_sig, allowed)
}

/// Every complete line of `reader` through `chain`, then its end checked.
fn read_chain(
    reader: impl std::io::BufRead,
    mut chain: Chain,
    seal_sig: Option<&str>,
    allowed: Option<&AllowedSigners>,
) -> std::io::Result<Report> {
    let mut lines = Lines { r: reader, ahead: None, torn: 0, complete: 0, done: false, too_long: false };
    while let Some(line) = lines.next()? {
        let next = lines.peek()?;
        if !chain.feed(&line, next) {
            break;
        }
    }
    if lines.too_long {
        chain.too_long();
    }
    Ok(chain.finish(lines.complete, lines.torn, seal_sig, allowed))
}
