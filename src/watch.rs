//! Following a run from outside it — its log on this disk, or its copy in the evidence
//! bucket from another machine — strictly read-only: no lock, no write, no command to the
//! engine. Every line passes the same chain `verify` uses before it is shown, so a
//! watcher is shown only what `verify` would pass at that moment; once a line breaks the
//! chain, nothing after it is shown and the break is said. A line changed in place after
//! it was read is caught by the next line's `prev` (named in the banner) or, before that,
//! only by `verify`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cloud::port::s3::S3Api;
use crate::event::Record;
use crate::journal::sign::{CHECKPOINT_NAMESPACE, SEAL_NAMESPACE};
use crate::journal::trust::AllowedSigners;
use crate::journal::verify::{Bad, Chain, Report};
use crate::offsite::Place;

/// The log as it grows on disk: complete lines only; a torn tail waits for its newline.
pub struct FileTail {
    path: PathBuf,
    file: std::fs::File,
    /// Bytes of complete lines taken so far.
    taken: u64,
    /// Bytes read after the last newline.
    partial: Vec<u8>,
    /// When the file was last written, as of the last read.
    written: Option<std::time::SystemTime>,
    /// The last read stopped at its limit: there is more to read now.
    behind: bool,
    /// The line after the complete ones is longer than any lifeboat writes.
    too_long: bool,
}

/// The most one read takes from the file.
const CHUNK: u64 = 4 << 20;

impl FileTail {
    pub fn open(path: &Path) -> std::io::Result<FileTail> {
        let file = std::fs::File::open(path)?;
        Ok(FileTail {
            path: path.to_path_buf(),
            file,
            taken: 0,
            partial: Vec::new(),
            written: None,
            behind: false,
            too_long: false,
        })
    }

    /// The complete lines written since the last call. An error is said once and ends
    /// the watch: the file got shorter than what was read, or another file took its name.
    fn poll(&mut self) -> Result<Vec<Vec<u8>>, String> {
        use std::io::{Read, Seek};
        use std::os::unix::fs::MetadataExt;
        let now = std::fs::metadata(&self.path)
            .map_err(|e| format!("{} cannot be read any more ({e}): it was moved or deleted", self.path.display()))?;
        let mine = self.file.metadata().map_err(|e| e.to_string())?;
        if (now.dev(), now.ino()) != (mine.dev(), mine.ino()) {
            return Err(format!("another file now has the name {}: the log was replaced", self.path.display()));
        }
        let len = mine.len();
        self.written = mine.modified().ok();
        if len < self.taken {
            return Err(format!(
                "the log got shorter ({len} bytes, {} already read): lines were cut from it",
                self.taken
            ));
        }
        if len < self.taken + self.partial.len() as u64 {
            // A resume moved a torn last line aside (LOG.torn): read on from the last newline.
            self.partial.clear();
        }
        self.file.seek(std::io::SeekFrom::Start(self.taken + self.partial.len() as u64)).map_err(|e| e.to_string())?;
        // A bounded read: a long log comes in chunks, its memory never the whole file's.
        let mut more = Vec::new();
        let n = (&self.file).take(CHUNK).read_to_end(&mut more).map_err(|e| e.to_string())?;
        self.behind = n as u64 == CHUNK;
        self.partial.extend_from_slice(&more);
        let mut lines = take_lines(&mut self.partial, &mut self.taken);
        if let Some(i) = lines.iter().position(|l| l.len() > crate::journal::MAX_LINE) {
            lines.truncate(i);
            self.too_long = true;
        }
        if self.partial.len() > crate::journal::MAX_LINE {
            self.too_long = true;
        }
        Ok(lines)
    }

    fn sig(&self) -> Option<String> {
        std::fs::read_to_string(crate::journal::sig_path(&self.path)).ok()
    }
}

/// Splits the complete lines off the front of `buf` (without their newlines).
fn take_lines(buf: &mut Vec<u8>, taken: &mut u64) -> Vec<Vec<u8>> {
    let Some(end) = buf.iter().rposition(|b| *b == b'\n') else { return vec![] };
    let rest = buf.split_off(end + 1);
    let whole = std::mem::replace(buf, rest);
    *taken += whole.len() as u64;
    whole.split(|b| *b == b'\n').map(<[u8]>::to_vec).filter(|l| !l.is_empty()).collect()
}

/// The copy in the evidence bucket: each new segment as the run writes it.
pub struct CopyTail {
    s3: Arc<dyn S3Api>,
    place: Place,
    segments: usize,
    partial: Vec<u8>,
    taken: u64,
    sig: Option<String>,
    problems: Vec<String>,
}

impl CopyTail {
    pub fn new(s3: Arc<dyn S3Api>, place: Place) -> CopyTail {
        CopyTail { s3, place, segments: 0, partial: Vec::new(), taken: 0, sig: None, problems: Vec::new() }
    }

    async fn poll(&mut self) -> Result<Vec<Vec<u8>>, String> {
        let copy = crate::offsite::read_from(self.s3.as_ref(), &self.place, self.segments)
            .await
            .map_err(|e| format!("{}: {e} (trying again)", self.place.url()))?;
        self.segments = copy.segments;
        self.sig = copy.sig;
        for p in copy.problems {
            if !self.problems.contains(&p) {
                self.problems.push(p);
            }
        }
        self.partial.extend_from_slice(&copy.bytes);
        Ok(take_lines(&mut self.partial, &mut self.taken))
    }
}

pub enum Source {
    File(FileTail),
    Copy(CopyTail),
}

impl Source {
    pub fn name(&self) -> String {
        match self {
            Source::File(f) => f.path.display().to_string(),
            Source::Copy(c) => c.place.url(),
        }
    }

    /// How long ago the last line read was written, where the source can tell (a file's
    /// modification time); a bucket's copy lags by design, so it says nothing.
    pub fn age(&self) -> std::time::Duration {
        match self {
            Source::File(f) => f.written.and_then(|w| w.elapsed().ok()).unwrap_or_default(),
            Source::Copy(_) => std::time::Duration::ZERO,
        }
    }

    /// Whether there is more to read at once (a long log read in chunks).
    pub fn behind(&self) -> bool {
        matches!(self, Source::File(f) if f.behind)
    }

    /// How often it is worth asking: a file is cheap, a bucket costs a request.
    pub fn every(&self) -> std::time::Duration {
        std::time::Duration::from_millis(match self {
            Source::File(_) => 250,
            Source::Copy(_) => 2000,
        })
    }
}

/// What the watcher can say about what it read, for the banner.
#[derive(Debug, Clone, Default)]
pub struct WatchState {
    pub lines: usize,
    pub checkpoints: usize,
    pub signed_through: usize,
    pub sealed: bool,
    pub signer: Option<String>,
    /// The trust root's word on the signer: its principal, or why it does not vouch.
    pub trusted: Option<Result<String, String>>,
    /// The line that broke the chain, or why the source cannot be followed.
    pub broken: Option<Bad>,
    /// The last read failed (a bucket not reachable for a while): said, retried.
    pub stalled: Option<String>,
    /// The copy's own problems (a segment written twice, a delete marker).
    pub problems: Vec<String>,
    /// After the seal: the whole verdict, `LOG.sig` included (None while it is awaited).
    pub verdict: Option<Report>,
}

pub struct Follow {
    pub source: Source,
    chain: Chain,
    allowed: Option<AllowedSigners>,
    ended: Option<Bad>,
    stalled: Option<String>,
    verdict: Option<Report>,
    complete: usize,
}

impl Follow {
    pub fn new(source: Source, allowed: Option<AllowedSigners>) -> Follow {
        Follow { source, chain: Chain::default(), allowed, ended: None, stalled: None, verdict: None, complete: 0 }
    }

    /// The records written since the last call that keep the chain; none once it broke.
    pub async fn poll(&mut self) -> Vec<Record> {
        if self.ended.is_some() || self.chain.report().tampered.is_some() {
            return vec![];
        }
        let lines = match &mut self.source {
            Source::File(f) => f.poll(),
            Source::Copy(c) => c.poll().await,
        };
        let lines = match lines {
            Ok(l) => {
                self.stalled = None;
                l
            }
            Err(why) if matches!(self.source, Source::Copy(_)) => {
                self.stalled = Some(why);
                return vec![];
            }
            Err(why) => {
                self.ended = Some(Bad { line: self.chain.report().lines + 1, why });
                return vec![];
            }
        };
        let mut out = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            if !self.chain.feed(line, lines.get(i + 1).map(Vec::as_slice)) {
                // A changed line is known by the one after it: take it back if it is
                // still in hand (one shown in an earlier poll stays, the banner names it).
                if let Some(bad) = &self.chain.report().tampered {
                    out.retain(|r: &Record| (r.seq as usize) + 1 < bad.line);
                }
                break;
            }
            self.complete += line.len() + 1;
            match serde_json::from_slice::<Record>(line) {
                Ok(r) => out.push(r),
                Err(e) => {
                    let n = self.chain.report().lines;
                    self.ended = Some(Bad { line: n, why: format!("not a lifeboat event lifeboat can read ({e})") });
                    break;
                }
            }
        }
        if let Source::File(f) = &mut self.source
            && f.too_long
        {
            f.partial = Vec::new();
            self.chain.too_long();
        }
        if self.chain.report().sealed && self.verdict.is_none() {
            let sig = match &self.source {
                Source::File(f) => f.sig(),
                Source::Copy(c) => c.sig.clone(),
            };
            // The seal's line comes before LOG.sig: an unsigned log needs none.
            if sig.is_some() || self.chain.report().signer.is_none() {
                let r = self.chain.clone().finish(self.complete, 0, sig.as_deref(), self.allowed.as_ref());
                self.verdict = Some(r);
            }
        }
        out
    }

    pub fn status(&self) -> WatchState {
        let r = self.chain.report();
        let namespace = if r.sealed { SEAL_NAMESPACE } else { CHECKPOINT_NAMESPACE };
        let trusted = match (&self.allowed, &r.signer) {
            (Some(a), Some(key)) => Some(a.vouch(key, namespace, r.claimed_time)),
            (Some(_), None) => Some(Err("the log is not signed, so no allowed signer vouches for it".into())),
            (None, _) => None,
        };
        WatchState {
            lines: r.lines,
            checkpoints: r.checkpoints,
            signed_through: r.signed_through,
            sealed: r.sealed,
            signer: r.signer.clone(),
            trusted,
            broken: r.tampered.clone().or_else(|| self.ended.clone()),
            stalled: self.stalled.clone(),
            problems: match &self.source {
                Source::Copy(c) => c.problems.clone(),
                Source::File(_) => vec![],
            },
            verdict: self.verdict.clone(),
        }
    }
}

impl WatchState {
    /// One line for the banner: what the lines read so far are worth.
    pub fn words(&self) -> String {
        if let Some(bad) = &self.broken {
            return format!("LOG DOES NOT VERIFY at line {}: {} — nothing after it is shown", bad.line, bad.why);
        }
        if let Some(v) = &self.verdict {
            return match (&v.tampered, &v.signer_identity) {
                (Some(bad), _) => format!("LOG DOES NOT VERIFY at line {}: {}", bad.line, bad.why),
                (None, Some(who)) => format!("sealed and intact, signed by {who}"),
                (None, None) if v.signer.is_some() => "sealed and intact; no trust root names the signer".into(),
                (None, None) => "sealed and intact, but unsigned (chained only)".into(),
            };
        }
        let mut s = format!("{} lines read, chain intact", self.lines);
        match (&self.signer, self.checkpoints) {
            (None, _) => s.push_str(", unsigned"),
            (Some(_), 0) => s.push_str(", no checkpoint signed yet"),
            (Some(_), n) => s.push_str(&format!(", {n} checkpoints verify (lines 1–{})", self.signed_through + 1)),
        }
        match &self.trusted {
            Some(Ok(who)) => s.push_str(&format!(", signer {who}")),
            Some(Err(why)) => s.push_str(&format!(", NOT TRUSTED: {why}")),
            None if self.signer.is_some() => s.push_str(", no trust root to name the signer"),
            None => {}
        }
        if self.sealed {
            s.push_str(", sealed; waiting for LOG.sig");
        }
        if let Some(why) = &self.stalled {
            s.push_str(&format!(" · cannot read: {why}"));
        }
        for p in &self.problems {
            s.push_str(&format!(" · COPY: {p}"));
        }
        s
    }

    /// Anything that makes what is shown doubtful.
    pub fn alarming(&self) -> bool {
        self.broken.is_some()
            || !self.problems.is_empty()
            || matches!(self.trusted, Some(Err(_)))
            || self.verdict.as_ref().is_some_and(|v| v.tampered.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_lines_are_taken_and_a_torn_tail_waits() {
        let mut buf = b"a\nbb\nccc".to_vec();
        let mut taken = 0;
        assert_eq!(take_lines(&mut buf, &mut taken), vec![b"a".to_vec(), b"bb".to_vec()]);
        assert_eq!((buf.as_slice(), taken), (&b"ccc"[..], 5));
        buf.extend_from_slice(b"\n");
        assert_eq!(take_lines(&mut buf, &mut taken), vec![b"ccc".to_vec()]);
        assert!(buf.is_empty() && taken == 9);
        assert!(take_lines(&mut buf, &mut taken).is_empty());
    }

    /// A log longer than one read comes in chunks, each line whole and once.
    #[test]
    fn a_long_log_is_read_in_bounded_chunks_without_losing_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("long.jsonl");
        let line = format!("{}\n", "x".repeat(999));
        let lines = (3 * CHUNK as usize) / line.len() + 7;
        std::fs::write(&path, line.repeat(lines)).unwrap();
        let mut tail = FileTail::open(&path).unwrap();
        let (mut got, mut reads) = (0, 0);
        loop {
            let batch = tail.poll().unwrap();
            assert!(batch.iter().all(|l| l.len() == 999), "a line cut at a chunk's edge");
            got += batch.len();
            reads += 1;
            if !tail.behind {
                break;
            }
        }
        assert_eq!(got, lines);
        assert!(reads >= 4, "read in chunks, not at once: {reads}");
        assert!(tail.poll().unwrap().is_empty());
    }
}
