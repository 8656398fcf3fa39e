//! A roll-back's plan on disk: one CSV record per change (bucket, key, version id,
//! action, ETag, size), so a plan of ten million keys costs a file, not the process's
//! memory; its SHA-256 names it in the typed confirmation and the log. Each listing
//! cursor writes its own part; the parts are joined in key order into one file (so the
//! digest does not depend on which cursor finished first), and read back a part at a
//! time side by side, so the copies are spread over the prefixes as S3's request rates
//! are.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use ssh_key::sha2::{Digest, Sha256};

use super::plan::{Todo, Ver};
use crate::runbook::time::Timestamp;

/// The columns, as S3 Batch Operations' manifests begin (bucket, key, version id).
pub const HEADER: [&str; 6] = ["bucket", "key", "version_id", "action", "etag", "size"];

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("the plan's manifest `{path}`: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("the plan's manifest `{path}`: {source}")]
    Csv { path: PathBuf, source: csv::Error },
    #[error("the plan's manifest `{path}`, record {record}: {why}")]
    Bad { path: PathBuf, record: u64, why: String },
}

impl ManifestError {
    /// The step's error: the plan's file on this machine, not the cloud, failed.
    pub fn at(&self, op: &str, resource: &str) -> crate::cloud::ActionError {
        crate::cloud::ActionError::new(op, resource, "LocalFile", self.to_string())
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> ManifestError + '_ {
    move |source| ManifestError::Io { path: path.to_path_buf(), source }
}

fn csv_err(path: &Path) -> impl Fn(csv::Error) -> ManifestError + '_ {
    move |source| ManifestError::Csv { path: path.to_path_buf(), source }
}

/// Where plans are written: `LIFEBOAT_WORK_DIR`, else the system's temporary folder.
pub fn work_dir() -> PathBuf {
    std::env::var_os("LIFEBOAT_WORK_DIR").map(PathBuf::from).unwrap_or_else(|| std::env::temp_dir().join("lifeboat"))
}

/// One listing cursor's share of the plan, in key order.
pub struct PartWriter {
    path: PathBuf,
    bucket: String,
    out: csv::Writer<BufWriter<File>>,
    records: u64,
}

pub struct Part {
    path: PathBuf,
    /// The first key the part's cursor was given (parts are joined in this order).
    pub from: String,
    pub records: u64,
}

impl PartWriter {
    pub fn create(dir: &Path, bucket: &str) -> Result<PartWriter, ManifestError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let file = tempfile::Builder::new().prefix("plan-part-").suffix(".csv").tempfile_in(dir).map_err(io(dir))?;
        let (file, path) = file.keep().map_err(|e| ManifestError::Io { path: dir.to_path_buf(), source: e.error })?;
        let out = csv::WriterBuilder::new().has_headers(false).from_writer(BufWriter::new(file));
        Ok(PartWriter { path, bucket: bucket.to_string(), out, records: 0 })
    }

    pub fn write(&mut self, key: &str, todo: &Todo) -> Result<(), ManifestError> {
        let b = self.bucket.as_str();
        let rows: Vec<[String; 6]> = match todo {
            Todo::Copy(v) => {
                vec![[b.into(), key.into(), v.id.clone(), "copy".into(), v.etag.clone(), v.size.to_string()]]
            }
            Todo::Undelete(markers) => markers
                .iter()
                .map(|m| [b.into(), key.into(), m.clone(), "remove-delete-marker".into(), String::new(), "0".into()])
                .collect(),
            Todo::DeleteNewer => {
                vec![[b.into(), key.into(), String::new(), "place-delete-marker".into(), String::new(), "0".into()]]
            }
            Todo::Newer => vec![],
        };
        for row in rows {
            self.out.write_record(&row).map_err(csv_err(&self.path))?;
            self.records += 1;
        }
        Ok(())
    }

    pub fn finish(self, from: &str) -> Result<Part, ManifestError> {
        let path = self.path.clone();
        let mut inner =
            self.out.into_inner().map_err(|e| ManifestError::Io { path: path.clone(), source: e.into_error() })?;
        inner.flush().map_err(io(&path))?;
        Ok(Part { path, from: from.to_string(), records: self.records })
    }
}

/// The whole plan, in one file.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub path: PathBuf,
    pub sha256: String,
    pub records: u64,
    /// Byte ranges of the parts in the file, each in key order.
    parts: Vec<(u64, u64)>,
}

impl Manifest {
    /// Joins the parts in key order under a header, hashing as it goes, and removes them.
    pub fn join(dir: &Path, mut parts: Vec<Part>) -> Result<Manifest, ManifestError> {
        parts.sort_by(|a, b| a.from.cmp(&b.from));
        let file = tempfile::Builder::new().prefix("plan-").suffix(".csv").tempfile_in(dir).map_err(io(dir))?;
        let (file, path) = file.keep().map_err(|e| ManifestError::Io { path: dir.to_path_buf(), source: e.error })?;
        let mut out = BufWriter::new(file);
        let mut hash = Sha256::new();
        let header = format!("{}\n", HEADER.join(","));
        out.write_all(header.as_bytes()).map_err(io(&path))?;
        hash.update(header.as_bytes());
        let (mut at, mut ranges, mut records) = (header.len() as u64, Vec::new(), 0);
        let mut buf = vec![0u8; 1 << 16];
        for p in &parts {
            let mut f = File::open(&p.path).map_err(io(&p.path))?;
            let start = at;
            loop {
                let n = f.read(&mut buf).map_err(io(&p.path))?;
                if n == 0 {
                    break;
                }
                out.write_all(&buf[..n]).map_err(io(&path))?;
                hash.update(&buf[..n]);
                at += n as u64;
            }
            ranges.push((start, at - start));
            records += p.records;
            let _ = std::fs::remove_file(&p.path);
        }
        out.flush().map_err(io(&path))?;
        drop(out);
        // Named by its digest, so the plan an operator confirmed can be found again.
        let sha256 = hex::encode(hash.finalize());
        let named = dir.join(format!("plan-{sha256}.csv"));
        std::fs::rename(&path, &named).map_err(io(&named))?;
        Ok(Manifest { path: named, sha256, records, parts: ranges })
    }

    /// The manifest of digest `sha256` in `dir`, read through to prove it is that one.
    pub fn confirmed(dir: &Path, sha256: &str) -> Result<PathBuf, ManifestError> {
        let path = dir.join(format!("plan-{sha256}.csv"));
        let bad = |why: String| ManifestError::Bad { path: path.clone(), record: 0, why };
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad(format!("`{sha256}` is no SHA-256 (64 hexadecimal digits)")));
        }
        let got = file_sha256(&path).map_err(io(&path))?;
        if got != sha256 {
            return Err(bad(format!("the file changed after it was planned (its SHA-256 is now {got})")));
        }
        Ok(path)
    }

    /// The confirmed plan of digest `sha256` in `dir`, opened to be carried out as it
    /// stands, without listing the bucket again: every record must be of `bucket`. Its
    /// parts are its first-level prefixes (up to [`SIDE_BY_SIDE`] runs of them), so the
    /// copies are spread over the prefixes as when it was planned. Also returns how many
    /// keys it changes (a key's delete markers are several records, one change).
    pub fn open_confirmed(dir: &Path, sha256: &str, bucket: &str) -> Result<(Manifest, u64), ManifestError> {
        let path = Manifest::confirmed(dir, sha256)?;
        let f = File::open(&path).map_err(io(&path))?;
        let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(BufReader::new(f));
        let end = std::fs::metadata(&path).map_err(io(&path))?.len();
        // (first byte, records) of each run of one first-level prefix.
        let (mut runs, mut records, mut keys) = (Vec::<(u64, u64)>::new(), 0u64, 0u64);
        let (mut prefix, mut last_key) = (None::<String>, None::<String>);
        let mut record = csv::StringRecord::new();
        while reader.read_record(&mut record).map_err(csv_err(&path))? {
            let at = record.position().map_or(0, |p| p.byte());
            let bad = |why: String| ManifestError::Bad { path: path.clone(), record: records + 1, why };
            if record.get(0) != Some(bucket) {
                return Err(bad(format!("it is a plan of bucket `{}`, not `{bucket}`", record.get(0).unwrap_or(""))));
            }
            let key = record.get(1).ok_or_else(|| bad("too few fields".into()))?;
            let here = key.find('/').map_or("", |i| &key[..=i]);
            if prefix.as_deref() != Some(here) {
                runs.push((at, 0));
                prefix = Some(here.to_string());
            }
            if last_key.as_deref() != Some(key) {
                keys += 1;
                last_key = Some(key.to_string());
            }
            if let Some(r) = runs.last_mut() {
                r.1 += 1;
            }
            records += 1;
        }
        // Neighbouring runs joined into at most SIDE_BY_SIDE parts of similar size.
        let share = records.div_ceil(SIDE_BY_SIDE as u64).max(1);
        let mut starts: Vec<u64> = Vec::new();
        let mut held = share;
        for (at, n) in runs {
            if held >= share {
                starts.push(at);
                held = 0;
            }
            held += n;
        }
        let parts =
            starts.iter().enumerate().map(|(i, &s)| (s, starts.get(i + 1).copied().unwrap_or(end) - s)).collect();
        Ok((Manifest { path, sha256: sha256.to_string(), records, parts }, keys))
    }

    /// The first change of this plan that the confirmed plan at `confirmed` does not list,
    /// if any: both are in key order, so one pass over each.
    pub fn outside(&self, confirmed: &Path) -> Result<Option<String>, ManifestError> {
        let open = |p: &Path| -> Result<csv::StringRecordsIntoIter<BufReader<File>>, ManifestError> {
            let f = File::open(p).map_err(io(p))?;
            Ok(csv::ReaderBuilder::new().has_headers(true).from_reader(BufReader::new(f)).into_records())
        };
        let mut theirs = open(confirmed)?.map(|r| r.map_err(csv_err(confirmed))).peekable();
        for mine in open(&self.path)? {
            let mine = mine.map_err(csv_err(&self.path))?;
            let key = mine.get(1).unwrap_or_default().to_string();
            let mut found = false;
            while let Some(next) = theirs.peek() {
                let order = match next {
                    Ok(r) => r.get(1).unwrap_or_default().cmp(key.as_str()),
                    Err(_) => match theirs.next() {
                        Some(Err(e)) => return Err(e),
                        _ => continue,
                    },
                };
                let same = matches!(next, Ok(r) if r.iter().eq(mine.iter()));
                match order {
                    std::cmp::Ordering::Greater => break,
                    _ => {
                        theirs.next();
                    }
                }
                if same {
                    found = true;
                    break;
                }
            }
            if !found {
                let action = mine.get(3).unwrap_or_default();
                let version =
                    mine.get(2).filter(|v| !v.is_empty()).map(|v| format!(" of version {v}")).unwrap_or_default();
                return Ok(Some(format!("`{key}` now needs {action}{version}")));
            }
        }
        Ok(None)
    }

    /// Every record, the parts read side by side (one record of each in turn).
    pub fn records(&self) -> Result<Records, ManifestError> {
        let mut readers = Vec::new();
        for &(start, len) in &self.parts {
            let mut f = File::open(&self.path).map_err(io(&self.path))?;
            f.seek(SeekFrom::Start(start)).map_err(io(&self.path))?;
            let r = csv::ReaderBuilder::new().has_headers(false).from_reader(BufReader::new(f.take(len)));
            readers.push(r.into_records().peekable());
        }
        Ok(Records { path: self.path.clone(), readers, next: 0, seen: 0 })
    }

    /// Removes this run's plan file — unless it holds no change: every empty plan has the
    /// same digest (the header's), so its file may be another run's confirmed plan, and it
    /// costs one line to keep.
    pub fn remove(&self) {
        if self.records > 0 {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// One change of the plan, as read back.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Copy { key: String, version: Ver },
    RemoveMarker { key: String, marker: String },
    PlaceMarker { key: String },
}

impl Change {
    pub fn key(&self) -> &str {
        match self {
            Change::Copy { key, .. } | Change::RemoveMarker { key, .. } | Change::PlaceMarker { key } => key,
        }
    }
}

type PartReader = std::iter::Peekable<csv::StringRecordsIntoIter<BufReader<std::io::Take<File>>>>;

/// At most this many parts are read side by side (a buffer each).
const SIDE_BY_SIDE: usize = 64;

pub struct Records {
    path: PathBuf,
    readers: Vec<PartReader>,
    next: usize,
    seen: u64,
}

impl Records {
    fn decode(&self, r: csv::StringRecord) -> Result<Change, ManifestError> {
        let bad = |why: &str| ManifestError::Bad { path: self.path.clone(), record: self.seen, why: why.to_string() };
        let field = |i: usize| r.get(i).ok_or_else(|| bad("too few fields"));
        let (key, version, action) = (field(1)?.to_string(), field(2)?.to_string(), field(3)?);
        Ok(match action {
            "copy" => Change::Copy {
                key,
                version: Ver {
                    id: version,
                    time: Timestamp::UNIX_EPOCH,
                    etag: field(4)?.to_string(),
                    marker: false,
                    size: field(5)?.parse().map_err(|_| bad("the size is not a number"))?,
                },
            },
            "remove-delete-marker" => Change::RemoveMarker { key, marker: version },
            "place-delete-marker" => Change::PlaceMarker { key },
            other => return Err(bad(&format!("unknown action `{other}`"))),
        })
    }
}

impl Iterator for Records {
    type Item = Result<Change, ManifestError>;

    /// One key's records of each part in turn, among the first parts not yet read out
    /// (a key's records stay together).
    fn next(&mut self) -> Option<Self::Item> {
        while !self.readers.is_empty() {
            let lanes = self.readers.len().min(SIDE_BY_SIDE);
            let i = self.next % lanes;
            match self.readers[i].next() {
                Some(r) => {
                    let same_key = match (&r, self.readers[i].peek()) {
                        (Ok(now), Some(Ok(next))) => now.get(1) == next.get(1),
                        _ => false,
                    };
                    self.next = if same_key { i } else { i + 1 };
                    self.seen += 1;
                    return Some(r.map_err(csv_err(&self.path)).and_then(|r| self.decode(r)));
                }
                None => {
                    drop(self.readers.remove(i));
                    self.next = i;
                }
            }
        }
        None
    }
}

/// A key as an S3 Batch Operations CSV manifest holds it: URL-encoded (a comma, a quote
/// or a newline in a key can then never be read as the CSV's structure).
pub fn batch_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A key of a Batch manifest or report, decoded.
pub fn unbatch_key(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// A file's SHA-256, read in pieces (a manifest or a step's output kept aside may be
/// gigabytes).
pub fn file_sha256(path: &Path) -> std::io::Result<String> {
    let mut f = File::open(path)?;
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match f.read(&mut buf)? {
            0 => return Ok(hex::encode(hash.finalize())),
            n => hash.update(&buf[..n]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_manifest_key_never_reads_as_csv_structure_and_comes_back_whole() {
        for key in ["plain/k.pdf", "a,b", "line\nbreak", "quote\"d", "é/日本", "100% sure+", "\u{1b}]0;x\u{7}"] {
            let enc = batch_key(key);
            assert!(!enc.contains([',', '\n', '\r', '"']), "{enc}");
            assert_eq!(unbatch_key(&enc).as_deref(), Some(key));
        }
    }

    fn ver(id: &str) -> Ver {
        Ver { id: id.into(), time: Timestamp::UNIX_EPOCH, etag: "\"e\"".into(), marker: false, size: 7 }
    }

    #[test]
    fn parts_are_joined_in_key_order_digested_and_read_back_side_by_side() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = PartWriter::create(dir.path(), "bkt").unwrap();
        b.write("b/1", &Todo::Copy(ver("v1"))).unwrap();
        b.write("b/2, \"quoted\"\nline", &Todo::Undelete(vec!["m1".into(), "m2".into()])).unwrap();
        let mut a = PartWriter::create(dir.path(), "bkt").unwrap();
        a.write("a/1", &Todo::DeleteNewer).unwrap();
        a.write("a/2", &Todo::Newer).unwrap();
        a.write("a/3", &Todo::Copy(ver("v3"))).unwrap();
        let parts = vec![b.finish("b/").unwrap(), a.finish("a/").unwrap()];
        let m = Manifest::join(dir.path(), parts).unwrap();
        assert_eq!(m.records, 5, "a kept newer key is no change");
        let text = std::fs::read_to_string(&m.path).unwrap();
        assert!(text.starts_with("bucket,key,version_id,action,etag,size\nbkt,a/1,,place-delete-marker"), "{text}");
        use ssh_key::sha2::Digest;
        assert_eq!(m.sha256, hex::encode(Sha256::digest(text.as_bytes())), "the digest is the file's");
        let keys: Vec<String> = m.records().unwrap().map(|c| c.unwrap().key().to_string()).collect();
        assert_eq!(
            keys,
            ["a/1", "b/1", "a/3", "b/2, \"quoted\"\nline", "b/2, \"quoted\"\nline"],
            "one key of each part in turn"
        );
        let all: Vec<Change> = m.records().unwrap().map(Result::unwrap).collect();
        assert_eq!(all[1], Change::Copy { key: "b/1".into(), version: ver("v1") });
        assert_eq!(all[4], Change::RemoveMarker { key: "b/2, \"quoted\"\nline".into(), marker: "m2".into() });
        // The same plan joined from parts finished in another order has the same digest.
        let mut again = PartWriter::create(dir.path(), "bkt").unwrap();
        again.write("a/1", &Todo::DeleteNewer).unwrap();
        again.write("a/3", &Todo::Copy(ver("v3"))).unwrap();
        let mut b2 = PartWriter::create(dir.path(), "bkt").unwrap();
        b2.write("b/1", &Todo::Copy(ver("v1"))).unwrap();
        b2.write("b/2, \"quoted\"\nline", &Todo::Undelete(vec!["m1".into(), "m2".into()])).unwrap();
        let m2 = Manifest::join(dir.path(), vec![again.finish("a/").unwrap(), b2.finish("b/").unwrap()]).unwrap();
        assert_eq!(m2.sha256, m.sha256);
        m.remove();
        assert!(!m.path.exists());
    }

    /// Two runs with nothing to do share the one empty plan's file: removing "mine" must
    /// not take away the one another run confirmed.
    #[test]
    fn an_empty_plan_is_never_removed_from_under_another_run() {
        let dir = tempfile::tempdir().unwrap();
        let empty = |bucket: &str| {
            let w = PartWriter::create(dir.path(), bucket).unwrap();
            Manifest::join(dir.path(), vec![w.finish("").unwrap()]).unwrap()
        };
        let (confirmed, mine) = (empty("one-bucket"), empty("another-bucket"));
        assert_eq!((confirmed.sha256.as_str(), confirmed.records), (mine.sha256.as_str(), 0));
        mine.remove();
        assert!(Manifest::confirmed(dir.path(), &confirmed.sha256).is_ok(), "the other run's plan is still there");
    }
}
