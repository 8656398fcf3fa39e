//! The incident log: evidence an auditor can check without trusting this binary.
//! Append-only JSON Lines, a SHA-256 hash chain, fdatasync per line, SSHSIG checkpoints
//! and a seal (see shared/design/incident-log.md).

pub mod approval;
pub mod sign;
pub mod signoff;
pub mod trust;
pub mod verify;
pub mod vouch;

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use ssh_key::sha2::{Digest, Sha256, Sha512};

use crate::event::{Event, Record};
use crate::runbook::time::{Timestamp, format_timestamp_ms};
use sign::{CHECKPOINT_NAMESPACE, SEAL_NAMESPACE, Signer};

pub const GENESIS_PREV: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Checkpoint at least this often, besides after answers, step ends and before changes.
/// The longest line a reader holds. Nothing lifeboat writes comes near it (a runbook file
/// is at most 1 MiB, a command's line 64 KiB): a longer one is an attack on the reader's
/// memory, refused rather than held.
pub const MAX_LINE: usize = 64 << 20;

const CHECKPOINT_EVERY_EVENTS: u64 = 64;
const CHECKPOINT_EVERY_SECS: u64 = 30;

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("the incident log `{0}` already exists; choose another --log or --resume it")]
    Exists(PathBuf),
    #[error("the incident log `{0}` is in use by another lifeboat")]
    Locked(PathBuf),
    #[error("cannot {op} the incident log `{path}`: {source}")]
    Io { op: &'static str, path: PathBuf, source: std::io::Error },
    #[error("the incident log `{path}` cannot be resumed: {why}")]
    NotResumable { path: PathBuf, why: String },
    #[error(transparent)]
    Sign(#[from] sign::SignError),
}

fn io<'p>(op: &'static str, path: &'p Path) -> impl FnOnce(std::io::Error) -> JournalError + 'p {
    move |source| JournalError::Io { op, path: path.to_path_buf(), source }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The events of a log, for reading (reports, drills, resume): complete lines that parse;
/// a torn last line is left out. Whether the log can be trusted is `verify`'s question.
pub fn records(bytes: &[u8]) -> Vec<Record> {
    bytes.split(|&b| b == b'\n').filter_map(|l| serde_json::from_slice(l).ok()).collect()
}

/// The same, read from a file a line at a time: memory does not grow with the log.
pub fn stream_records(path: &Path) -> impl Iterator<Item = Record> {
    use std::io::BufRead;
    let reader = File::open(path).ok().map(std::io::BufReader::new);
    reader
        .into_iter()
        .flat_map(|r| r.split(b'\n'))
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_slice(&l).ok())
}

/// The detached signature of a whole sealed log.
pub fn sig_path(log: &Path) -> PathBuf {
    let mut p = log.as_os_str().to_owned();
    p.push(".sig");
    PathBuf::from(p)
}

/// `.NAME.PID.new` beside the log: hidden, and never a name another run would pick.
fn scratch_path(log: &Path) -> PathBuf {
    let name = log.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    log.with_file_name(format!(".{name}.{}.new", std::process::id()))
}

pub fn torn_path(log: &Path) -> PathBuf {
    let mut p = log.as_os_str().to_owned();
    p.push(".torn");
    PathBuf::from(p)
}

pub struct Journal {
    file: File,
    path: PathBuf,
    seq: u64,
    prev: String,
    /// SHA-512 of every byte written so far: what a checkpoint signs.
    all: Sha512,
    signer: Option<Signer>,
    since_checkpoint: u64,
    last_checkpoint: Instant,
    sealed: bool,
    run_id: String,
    /// Lines made but not yet written (written and synced before `append` returns).
    pending: Vec<u8>,
    /// Where a new log is written until its first line is on disk: only then is it linked
    /// at `path`, so a crash can leave no log or a log with a genesis, never an empty one
    /// (which no reader could tell from a log someone emptied).
    unpublished: Option<PathBuf>,
}

impl Drop for Journal {
    /// A log that never got its first line was never a run: its scratch file goes.
    fn drop(&mut self) {
        if let Some(scratch) = self.unpublished.take() {
            let _ = std::fs::remove_file(scratch);
        }
    }
}

/// The lines of an existing log, as read back for resume.
pub struct Existing {
    pub records: Vec<Record>,
    /// Bytes after the last complete line (a write cut by a crash), if any.
    pub torn: Vec<u8>,
    /// In a signed log, the lines after the last checkpoint: no signature vouches for
    /// them (a crash between a write and its checkpoint, or lines someone appended).
    pub adopted: Option<crate::event::Adopted>,
}

impl Journal {
    /// Starts a new log; never overwrites one.
    pub fn create(path: &Path, signer: Option<Signer>) -> Result<Journal, JournalError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io("create the folder of", path))?;
        }
        if path.symlink_metadata().is_ok() {
            return Err(JournalError::Exists(path.to_path_buf()));
        }
        let scratch = scratch_path(path);
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&scratch)
            .map_err(|source| JournalError::Io { op: "create", path: scratch.clone(), source })?;
        lock(&file, path)?;
        let mut journal = Journal::with(file, path, signer);
        journal.unpublished = Some(scratch);
        Ok(journal)
    }

    /// Links a new log at its name once its first line is durable. A hard link never
    /// replaces a file that appeared meanwhile (rename would).
    fn publish(&mut self) -> Result<(), JournalError> {
        let Some(scratch) = self.unpublished.take() else { return Ok(()) };
        if let Err(e) = std::fs::hard_link(&scratch, &self.path) {
            let _ = std::fs::remove_file(&scratch);
            return Err(if e.kind() == std::io::ErrorKind::AlreadyExists {
                JournalError::Exists(self.path.clone())
            } else {
                JournalError::Io { op: "create", path: self.path.clone(), source: e }
            });
        }
        std::fs::remove_file(&scratch).map_err(io("remove the scratch copy of", &self.path))?;
        sync_dir(&self.path)
    }

    fn with(file: File, path: &Path, signer: Option<Signer>) -> Journal {
        Journal {
            file,
            path: path.to_path_buf(),
            seq: 0,
            prev: GENESIS_PREV.to_string(),
            all: Sha512::new(),
            signer,
            since_checkpoint: 0,
            last_checkpoint: Instant::now(),
            sealed: false,
            run_id: String::new(),
            pending: Vec::new(),
            unpublished: None,
        }
    }

    /// Reopens a log to continue it: checks its chain, moves a torn last line aside to
    /// `LOG.torn` (nothing is thrown away) and records that it did.
    pub fn resume(path: &Path, signer: Option<Signer>, now: Timestamp) -> Result<(Journal, Existing), JournalError> {
        let not = |why: String| JournalError::NotResumable { path: path.to_path_buf(), why };
        let mut file = OpenOptions::new().read(true).append(true).open(path).map_err(io("open", path))?;
        lock(&file, path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io("read", path))?;
        let report = verify::verify_bytes(&bytes, None, None);
        if let Some(bad) = &report.tampered {
            return Err(not(format!("line {}: {}", bad.line, bad.why)));
        }
        if report.sealed {
            return Err(not("the run finished and the log is sealed".into()));
        }
        let good_len = report.complete_bytes;
        let torn = bytes[good_len..].to_vec();
        let mut records = Vec::new();
        let mut journal = Journal::with(file, path, signer);
        for line in bytes[..good_len].split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let record: Record = serde_json::from_slice(line)
                .map_err(|e| not(format!("line {} is not a lifeboat event ({e})", records.len() + 1)))?;
            journal.prev = sha256_hex(line);
            journal.all.update(line);
            journal.all.update(b"\n");
            journal.seq = record.seq + 1;
            if let Event::Genesis(g) = &record.event {
                journal.run_id = g.run_id.clone();
            }
            records.push(record);
        }
        if let Some(Event::Genesis(g)) = records.first().map(|r| &r.event) {
            let mine = journal.signer.as_ref().map(Signer::public_openssh);
            if g.signer.as_deref().map(key_only) != mine.as_deref().map(key_only) {
                return Err(not("it was signed with another key; resume with the same --sign-key".into()));
            }
        } else {
            return Err(not("it has no genesis line".into()));
        }
        // What no signature vouches for is adopted in the open, never silently.
        let signed = records.first().is_some_and(|r| matches!(&r.event, Event::Genesis(g) if g.signer.is_some()));
        let first_unsigned = if report.checkpoints > 0 { report.signed_through + 1 } else { 0 };
        let adopted = if signed && first_unsigned < records.len() {
            let mut h = Sha256::new();
            for line in bytes[..good_len].split(|&b| b == b'\n').filter(|l| !l.is_empty()).skip(first_unsigned) {
                h.update(line);
                h.update(b"\n");
            }
            let adopted = crate::event::Adopted {
                from_seq: records[first_unsigned].seq,
                to_seq: records[records.len() - 1].seq,
                sha256: hex::encode(h.finalize()),
            };
            Some(adopted)
        } else {
            None
        };
        if !torn.is_empty() {
            let torn_file = torn_path(path);
            let mut t = crate::ownfile::append(&torn_file).map_err(io("write", &torn_file))?;
            t.write_all(&torn).map_err(io("write", &torn_file))?;
            t.sync_data().map_err(io("sync", &torn_file))?;
            journal.file.set_len(good_len as u64).map_err(io("truncate", path))?;
            journal.file.sync_data().map_err(io("sync", path))?;
            journal.append(
                now,
                Event::Recovered { torn_bytes: torn.len() as u64, moved_to: torn_file.display().to_string() },
            )?;
        }
        Ok((journal, Existing { records, torn, adopted }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn is_signed(&self) -> bool {
        self.signer.is_some()
    }

    pub fn signer_public(&self) -> Option<String> {
        self.signer.as_ref().map(Signer::public_openssh)
    }

    /// Appends one event as one line, synced to disk before returning. A failed write or
    /// sync is returned, never retried (a retried fsync can lie). When the event calls for
    /// a checkpoint, the checkpoint line goes out in the same write and sync: it signs
    /// bytes that are already final, and concurrent steps queue on one sync, not two.
    pub fn append(&mut self, time: Timestamp, event: Event) -> Result<Record, JournalError> {
        // Whatever would decide a verdict is signed in the same write as it is made, so a
        // crash never leaves one that only a resume's adoption could vouch for.
        // A step that waits for an approval is signed as it asks: what an approver reads
        // (here, or in the evidence bucket's copy) and signs is a signed prefix.
        let asks_approval = matches!(event, Event::StepWaiting { waiting_for: crate::event::Waiting::Approval, .. });
        let checkpoint_after = vouch::decides(&event) || asks_approval || matches!(event, Event::Resumed { .. });
        if let Event::Genesis(g) = &event {
            self.run_id = g.run_id.clone();
        }
        let record = self.line(time, event);
        self.since_checkpoint += 1;
        let due = self.since_checkpoint >= CHECKPOINT_EVERY_EVENTS
            || self.last_checkpoint.elapsed().as_secs() >= CHECKPOINT_EVERY_SECS;
        if checkpoint_after || due {
            self.checkpoint_line(time)?;
        }
        self.flush()?;
        Ok(record)
    }

    /// One line, chained and hashed, waiting in `pending` for the next flush.
    fn line(&mut self, time: Timestamp, event: Event) -> Record {
        let record = Record { seq: self.seq, prev: self.prev.clone(), time: format_timestamp_ms(time), event };
        let mut line = serde_json::to_vec(&record).expect("events serialize");
        self.prev = sha256_hex(&line);
        line.push(b'\n');
        self.all.update(&line);
        self.pending.extend_from_slice(&line);
        self.seq += 1;
        record
    }

    /// Whole lines out with one `write`, then fdatasync.
    fn flush(&mut self) -> Result<(), JournalError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let out = std::mem::take(&mut self.pending);
        self.file.write_all(&out).map_err(io("write", &self.path))?;
        self.file.sync_data().map_err(io("sync", &self.path))?;
        self.publish()
    }

    /// A checkpoint line over every byte so far (none when unsigned or nothing is new).
    fn checkpoint_line(&mut self, time: Timestamp) -> Result<(), JournalError> {
        if self.since_checkpoint == 0 {
            return Ok(());
        }
        let Some(signer) = &self.signer else { return Ok(()) };
        let signature = signer.sign_digest(CHECKPOINT_NAMESPACE, &self.all.clone().finalize())?;
        let wall = Some(format_timestamp_ms(Timestamp::now()));
        self.line(time, Event::Checkpoint { signature, wall });
        self.since_checkpoint = 0;
        self.last_checkpoint = Instant::now();
        Ok(())
    }

    /// Signs every byte so far now (before a change to the cloud).
    pub fn checkpoint(&mut self, time: Timestamp) -> Result<(), JournalError> {
        self.checkpoint_line(time)?;
        self.flush()
    }

    /// Ends the log: a last checkpoint, the `sealed` line, and `LOG.sig` over the file.
    pub fn seal(&mut self, time: Timestamp) -> Result<(), JournalError> {
        if self.sealed {
            return Ok(());
        }
        self.checkpoint_line(time)?;
        let events = self.seq + 1;
        self.line(time, Event::Sealed { events, run_id: self.run_id.clone() });
        self.flush()?;
        self.sealed = true;
        if let Some(signer) = &self.signer {
            let pem = signer.sign_digest(SEAL_NAMESPACE, &self.all.clone().finalize())?;
            let sig = sig_path(&self.path);
            crate::ownfile::replace(&sig, pem.as_bytes()).map_err(io("write the signature of", &self.path))?;
            sync_dir(&sig)?;
        }
        Ok(())
    }
}

/// `ssh-ed25519 AAAA… comment` → `ssh-ed25519 AAAA…` (comments do not identify keys).
pub fn key_only(openssh: &str) -> String {
    openssh.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}

fn lock(file: &File, path: &Path) -> Result<(), JournalError> {
    file.try_lock().map_err(|e| match e {
        std::fs::TryLockError::WouldBlock => JournalError::Locked(path.to_path_buf()),
        std::fs::TryLockError::Error(source) => JournalError::Io { op: "lock", path: path.to_path_buf(), source },
    })
}

/// Makes a new file's directory entry durable, so a crash cannot lose the file itself.
fn sync_dir(path: &Path) -> Result<(), JournalError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir).and_then(|d| d.sync_all()).map_err(io("sync the folder of", path))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::event::{Genesis, Mode};
    use std::process::Command;

    /// A fresh ed25519 key made by the real ssh-keygen.
    pub fn keygen(dir: &Path, passphrase: &str) -> PathBuf {
        let key = dir.join("id_ed25519");
        let ok = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-C", "test@lifeboat", "-N", passphrase, "-f"])
            .arg(&key)
            .status()
            .expect("ssh-keygen runs");
        assert!(ok.success());
        key
    }

    pub fn genesis(signer: Option<String>) -> Event {
        Event::Genesis(Box::new(Genesis {
            tool_version: "test".into(),
            run_id: "run-1".into(),
            runbook_id: "rb".into(),
            runbook_sha256: "00".into(),
            answers_sha256: None,
            operator: "alice".into(),
            mode: Mode::Tabletop,
            signer,
            dataset: "ds".into(),
            incident_started_at: "2026-11-24T03:00:00Z".into(),
            rto_ms: 3_600_000,
            rpo_ms: 900_000,
            cloud: "sim".into(),
            clock_speed: 1,
            inputs: Default::default(),
            caller: None,
            provenance: Default::default(),
        }))
    }

    fn t() -> Timestamp {
        "2026-11-24T03:00:00Z".parse().unwrap()
    }

    pub fn write_log(dir: &Path, signed: bool, notes: usize, seal: bool) -> (PathBuf, Option<PathBuf>) {
        let key = signed.then(|| keygen(dir, ""));
        let signer = key.as_ref().map(|k| Signer::load(k, || None).unwrap());
        let path = dir.join("run.jsonl");
        let mut j = Journal::create(&path, signer).unwrap();
        let public = j.signer_public();
        j.append(t(), genesis(public)).unwrap();
        for i in 0..notes {
            j.append(t(), Event::Note { by: "alice".into(), text: format!("note {i}") }).unwrap();
        }
        j.append(
            t(),
            Event::Answer {
                step: Some("go".into()),
                verdict: crate::event::Verdict::Approve,
                by: "alice".into(),
                role: None,
                reason: None,
                signed: None,
            },
        )
        .unwrap();
        if seal {
            j.seal(t()).unwrap();
        }
        (path, key)
    }

    #[test]
    fn a_signed_sealed_log_verifies_and_ssh_keygen_agrees() {
        let dir = tempfile::tempdir().unwrap();
        let (path, key) = write_log(dir.path(), true, 70, true);
        let report = verify::verify_file(&path, None).unwrap();
        assert_eq!(report.tampered, None);
        assert!(report.sealed && report.seal_signature_checked);
        assert!(report.checkpoints >= 2, "every 64 events and after the answer");

        let public = std::fs::read_to_string(key.unwrap().with_extension("pub")).unwrap();
        let allowed = dir.path().join("allowed_signers");
        std::fs::write(&allowed, format!("alice@example {}", public)).unwrap();
        let whole = Command::new("ssh-keygen")
            .args(["-Y", "verify", "-f"])
            .arg(&allowed)
            .args(["-I", "alice@example", "-n", "lifeboat-incident-log", "-s"])
            .arg(sig_path(&path))
            .stdin(File::open(&path).unwrap())
            .output()
            .unwrap();
        assert!(whole.status.success(), "{}", String::from_utf8_lossy(&whole.stderr));

        // A checkpoint signs exactly the lines before it: `head -n N | ssh-keygen -Y verify`.
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let (n, cp) = lines.iter().enumerate().find(|(_, l)| l.contains("\"type\":\"checkpoint\"")).unwrap();
        let record: Record = serde_json::from_str(cp).unwrap();
        let Event::Checkpoint { signature, .. } = record.event else { unreachable!() };
        let sig_file = dir.path().join("cp.sig");
        std::fs::write(&sig_file, signature).unwrap();
        let head: String = lines[..n].iter().map(|l| format!("{l}\n")).collect();
        let mut child = Command::new("ssh-keygen")
            .args(["-Y", "verify", "-f"])
            .arg(&allowed)
            .args(["-I", "alice@example", "-n", "lifeboat-checkpoint", "-s"])
            .arg(&sig_file)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(head.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

        let allowed_signers = verify::AllowedSigners::parse(&std::fs::read_to_string(&allowed).unwrap());
        let report = verify::verify_file(&path, Some(&allowed_signers)).unwrap();
        assert_eq!(report.signer_identity.as_deref(), Some("alice@example"));
        let stranger = verify::AllowedSigners::parse(
            "bob ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ5x3J0y5vP6U7qVhYGcM8o9wS1x8yQ3T7QmHq4b2m9N",
        );
        assert!(verify::verify_file(&path, Some(&stranger)).unwrap().tampered.is_some());
    }

    #[test]
    fn a_new_log_appears_only_with_its_first_line_and_never_over_another() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.jsonl");
        let names = || std::fs::read_dir(dir.path()).unwrap().count();
        drop(Journal::create(&path, None).unwrap());
        assert_eq!(names(), 0, "a log that never got a line leaves nothing behind");

        let mut j = Journal::create(&path, None).unwrap();
        assert!(!path.exists(), "no empty log is ever visible");
        j.append(t(), genesis(None)).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 1);
        assert_eq!(names(), 1, "the scratch name is gone once the log is linked");

        let other = dir.path().join("other.jsonl");
        let mut late = Journal::create(&other, None).unwrap();
        std::fs::write(&other, "someone else's\n").unwrap();
        assert!(matches!(late.append(t(), genesis(None)), Err(JournalError::Exists(_))));
        assert_eq!(std::fs::read_to_string(&other).unwrap(), "someone else's\n");
    }

    #[test]
    fn a_log_is_never_overwritten_and_has_one_writer() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = write_log(dir.path(), false, 1, false);
        assert!(matches!(Journal::create(&path, None), Err(JournalError::Exists(_))));
        let (_j, _) = Journal::resume(&path, None, t()).unwrap();
        assert!(matches!(Journal::resume(&path, None, t()), Err(JournalError::Locked(_))));
    }

    #[test]
    fn a_torn_tail_is_moved_aside_and_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let (path, key) = write_log(dir.path(), true, 3, false);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"seq\":9,\"prev\":\"ab").unwrap();
        drop(f);
        let before = verify::verify_file(&path, None).unwrap();
        assert_eq!((before.tampered, before.torn_bytes), (None, 19));
        let signer = Signer::load(&key.unwrap(), || None).unwrap();
        let (mut j, existing) = Journal::resume(&path, Some(signer), t()).unwrap();
        assert_eq!(existing.torn, b"{\"seq\":9,\"prev\":\"ab");
        assert_eq!(std::fs::read(torn_path(&path)).unwrap(), existing.torn);
        j.seal(t()).unwrap();
        let after = verify::verify_file(&path, None).unwrap();
        assert_eq!(after.tampered, None);
        assert!(after.sealed);
        assert!(std::fs::read_to_string(&path).unwrap().contains("\"type\":\"recovered\",\"torn_bytes\":19"));
    }

    #[test]
    fn an_encrypted_key_needs_its_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let key = keygen(dir.path(), "correct horse");
        assert!(matches!(Signer::load(&key, || None), Err(sign::SignError::NeedsPassphrase(_))));
        assert!(matches!(Signer::load(&key, || Some("wrong".into())), Err(sign::SignError::BadPassphrase(_))));
        assert!(Signer::load(&key, || Some("correct horse".into())).is_ok());
    }
}
