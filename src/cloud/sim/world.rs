//! What the simulated cloud holds: buckets with object versions, DB instances and
//! snapshots, DynamoDB tables — plain data, so tests can look and a facilitator can tell.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use crate::runbook::time::Timestamp;

/// FNV-1a: a stable pseudo-random choice from a name, so rehearsals are repeatable.
pub fn det(seed: &str, lo: u64, hi: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    lo + h % (hi - lo + 1).max(1)
}

/// An object's bytes: generated from a seed (so a bucket of big objects costs nothing
/// until read) or held.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    Seeded(u64),
    Bytes(Arc<Vec<u8>>),
}

impl Content {
    /// Bytes `lo..=hi` of an object of `size` bytes.
    pub fn read(&self, size: u64, lo: u64, hi: u64) -> Vec<u8> {
        match self {
            Content::Bytes(b) => {
                b.get(lo as usize..=(hi as usize).min(b.len().saturating_sub(1))).unwrap_or(&[]).to_vec()
            }
            Content::Seeded(seed) => {
                let hi = hi.min(size.saturating_sub(1));
                (lo..=hi)
                    .map(|i| (seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(i * 0x2545_f491) >> 29) as u8)
                    .collect()
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct Version {
    pub id: String,
    pub time: Timestamp,
    /// As S3 gives it, quotes and all; empty for a delete marker.
    pub etag: String,
    pub size: u64,
    pub delete_marker: bool,
    pub content: Content,
    /// The size of its parts, when it was uploaded in parts (its ETag then ends `-N`).
    pub part_size: Option<u64>,
    /// Stored with a full-object CRC32 (what SDKs send by default since 2025).
    pub crc32: bool,
}

impl Version {
    pub fn marker(id: String, time: Timestamp) -> Version {
        Version {
            id,
            time,
            etag: String::new(),
            size: 0,
            delete_marker: true,
            content: Content::Seeded(0),
            part_size: None,
            crc32: false,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Bucket {
    pub region: String,
    pub versioning: bool,
    pub object_lock_days: Option<u32>,
    pub kms: bool,
    pub replication_to: Option<String>,
    pub public_access_blocked: bool,
    /// Versions of each key, oldest first.
    pub objects: BTreeMap<String, Vec<Version>>,
    /// Keys held as a rule (a bucket of millions); a key written other than by a roll-back
    /// is copied into `objects`, which then holds it.
    pub generated: Option<Generated>,
}

impl Bucket {
    pub fn current(&self, key: &str) -> Option<Version> {
        self.versions(key).and_then(|v| v.last().cloned()).filter(|v| !v.delete_marker)
    }

    /// A key's versions, oldest first.
    pub fn versions(&self, key: &str) -> Option<Cow<'_, [Version]>> {
        if let Some(vs) = self.objects.get(key) {
            return Some(Cow::Borrowed(vs));
        }
        let g = self.generated.as_ref()?;
        g.index(key).map(|i| Cow::Owned(g.versions(i)))
    }

    /// A key's versions to change, held as records from now on.
    pub fn versions_mut(&mut self, key: &str) -> Option<&mut Vec<Version>> {
        self.materialize(key);
        self.objects.get_mut(key)
    }

    /// A key's versions to add to (none yet for a new key).
    pub fn entry(&mut self, key: &str) -> &mut Vec<Version> {
        self.materialize(key);
        self.objects.entry(key.to_string()).or_default()
    }

    fn materialize(&mut self, key: &str) {
        if self.objects.contains_key(key) {
            return;
        }
        if let Some(g) = &self.generated
            && let Some(i) = g.index(key)
        {
            self.objects.insert(key.to_string(), g.versions(i));
        }
    }

    /// Every key from `start` on, in S3's order, with its versions oldest first.
    pub fn keys_from<'b>(&'b self, start: &str) -> impl Iterator<Item = (Cow<'b, str>, Cow<'b, [Version]>)> + 'b {
        let mut held = self.objects.range::<str, _>((Bound::Included(start), Bound::Unbounded)).peekable();
        let mut rule = self.generated.as_ref().map(|g| (g, g.lower_bound(start)));
        std::iter::from_fn(move || {
            let next_rule = rule.as_ref().filter(|(g, i)| *i < g.objects).map(|(g, i)| g.key(*i));
            match (held.peek(), next_rule) {
                (None, None) => None,
                (Some((k, _)), Some(r)) if k.as_str() >= r.as_str() => {
                    let (g, i) = rule.as_mut()?;
                    let index = *i;
                    *i += 1;
                    if k.as_str() == r.as_str() {
                        // Held as records now: those win.
                        let (k, vs) = held.next()?;
                        return Some((Cow::Borrowed(k.as_str()), Cow::Borrowed(vs.as_slice())));
                    }
                    Some((Cow::Owned(r), Cow::Owned(g.versions(index))))
                }
                (Some(_), _) => held.next().map(|(k, vs)| (Cow::Borrowed(k.as_str()), Cow::Borrowed(vs.as_slice()))),
                (None, Some(r)) => {
                    let (g, i) = rule.as_mut()?;
                    let index = *i;
                    *i += 1;
                    Some((Cow::Owned(r), Cow::Owned(g.versions(index))))
                }
            }
        })
    }

    /// Adds a version on top of a key. A roll-back's copy of a generated key's first
    /// version onto itself is held as one number, so ten million of them cost 80 MB.
    pub fn push(&mut self, key: &str, v: Version) -> String {
        if !self.objects.contains_key(key)
            && let Some(g) = &mut self.generated
            && let Some(i) = g.index(key)
            && let Some(id) = g.restore(i, &v)
        {
            return id;
        }
        let id = v.id.clone();
        self.entry(key).push(v);
        id
    }
}

/// What happened to every key of a generated bucket after it was written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Damaged {
    Untouched,
    /// Overwritten with other bytes of the same size (ransomware).
    Overwritten(Timestamp),
    /// A delete marker placed on top.
    Deleted(Timestamp),
}

/// A bucket of `objects` keys held as a rule: key `i` is `p{prefix:04}/{n:09}.dat`, its
/// first version written at a time spread evenly over `written` .. `written + spread`
/// (key order), then damaged. Versions are made when asked for;
/// nothing is held per key but the time a roll-back set it back.
#[derive(Debug, Clone)]
pub struct Generated {
    pub objects: u64,
    pub prefixes: u64,
    pub size: u64,
    pub keyed: bool,
    pub written: Timestamp,
    pub spread: jiff::SignedDuration,
    pub damaged: Damaged,
    /// Nanoseconds since the epoch at which a roll-back copied a key's first version
    /// back on top; 0: never.
    restored: Vec<i64>,
}

impl Generated {
    /// At most 10,000 prefixes of at most a billion keys (the width of the names).
    pub const MAX_PREFIXES: u64 = crate::runbook::simulated::MAX_PREFIXES;

    pub fn new(objects: u64, prefixes: u64, size: u64, keyed: bool, written: Timestamp, damaged: Damaged) -> Self {
        let prefixes = prefixes.clamp(1, objects.clamp(1, Self::MAX_PREFIXES));
        Generated {
            objects,
            prefixes,
            size,
            keyed,
            written,
            spread: jiff::SignedDuration::ZERO,
            damaged,
            restored: Vec::new(),
        }
    }

    /// Writes spread over `spread` after `written`, the last key written last.
    pub fn spread(mut self, spread: jiff::SignedDuration) -> Self {
        self.spread = spread;
        self
    }

    fn written_at(&self, i: u64) -> Timestamp {
        let nanos = self.spread.as_nanos().max(0) as u128 * i as u128 / self.objects.max(1) as u128;
        self.written.checked_add(jiff::SignedDuration::from_nanos(nanos as i64)).unwrap_or(self.written)
    }

    fn per_prefix(&self) -> u64 {
        self.objects.div_ceil(self.prefixes).max(1)
    }

    pub fn key(&self, i: u64) -> String {
        let per = self.per_prefix();
        format!("p{:04}/{:09}.dat", i / per, i % per)
    }

    /// The index of a generated key; `None` for any other name.
    pub fn index(&self, key: &str) -> Option<u64> {
        let rest = key.strip_prefix('p')?;
        let (p, rest) = rest.split_once('/')?;
        let n = rest.strip_suffix(".dat")?;
        if p.len() != 4 || n.len() != 9 || !p.bytes().chain(n.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (p, n): (u64, u64) = (p.parse().ok()?, n.parse().ok()?);
        let per = self.per_prefix();
        let i = p.checked_mul(per)?.checked_add(n)?;
        (n < per && i < self.objects).then_some(i)
    }

    /// The first index whose key is at or after `start` (names sort as their indexes).
    pub fn lower_bound(&self, start: &str) -> u64 {
        let (mut lo, mut hi) = (0, self.objects);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.key(mid).as_str() < start { lo = mid + 1 } else { hi = mid }
        }
        lo
    }

    fn content(&self, i: u64, n: u64) -> Content {
        Content::Seeded(i.wrapping_mul(4).wrapping_add(n + 1))
    }

    fn version(&self, i: u64, n: u64, time: Timestamp) -> Version {
        let content = self.content(i, n);
        Version {
            id: format!("g{i:x}-{n}"),
            time,
            etag: whole_etag(&content, self.size, self.keyed),
            size: self.size,
            delete_marker: false,
            content,
            part_size: None,
            crc32: true,
        }
    }

    pub fn versions(&self, i: u64) -> Vec<Version> {
        let mut vs = vec![self.version(i, 0, self.written_at(i))];
        match self.damaged {
            Damaged::Untouched => {}
            Damaged::Overwritten(t) => vs.push(self.version(i, 1, t)),
            Damaged::Deleted(t) => vs.push(Version::marker(format!("g{i:x}-m"), t)),
        }
        if let Some(&at) = self.restored.get(i as usize).filter(|t| **t != 0) {
            let t = Timestamp::from_nanosecond(at as i128).unwrap_or(self.written);
            vs.push(Version { id: format!("g{i:x}-2"), ..self.version(i, 0, t) });
        }
        vs
    }

    /// Takes `v` as key `i`'s roll-back when it is a copy of its first version and the
    /// first since the damage; anything else is for records.
    fn restore(&mut self, i: u64, v: &Version) -> Option<String> {
        if v.delete_marker || v.content != self.content(i, 0) || v.size != self.size {
            return None;
        }
        if self.restored.is_empty() {
            self.restored = vec![0; self.objects as usize];
        }
        let slot = self.restored.get_mut(i as usize)?;
        let at = v.time.as_nanosecond() as i64;
        if *slot != 0 || at <= 0 {
            return None;
        }
        *slot = at;
        Some(format!("g{i:x}-2"))
    }
}

#[derive(Debug, Clone)]
pub struct Instance {
    pub region: String,
    /// Until then it is `creating` (or `modifying`, after a promotion).
    pub available_at: Timestamp,
    pub busy_status: &'static str,
    pub replica_of: Option<String>,
    pub replica_lag_secs: i64,
    pub retention_days: u32,
    pub encrypted: bool,
    pub deletion_protection: bool,
    pub tags: Vec<(String, String)>,
    pub recovery_point: Option<Timestamp>,
    pub created_at: Timestamp,
    /// Where automated backups are replicated (point-in-time restore works there too).
    pub backup_region: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Snapshot {
    pub instance: String,
    pub region: String,
    pub time: Timestamp,
    pub available_at: Timestamp,
    pub tags: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct Table {
    pub region: String,
    pub active_at: Timestamp,
    pub pitr: bool,
    pub pitr_days: i32,
    pub pitr_since: Timestamp,
    pub deletion_protection: bool,
    pub kms_key: Option<String>,
    pub replicas: Vec<String>,
    pub items: i64,
    pub tags: Vec<(String, String)>,
    /// The time of the data a restored table holds.
    pub recovery_point: Option<Timestamp>,
}

/// One part of a multipart upload in progress.
#[derive(Debug, Clone)]
pub struct Part {
    pub etag: String,
    pub size: u64,
    /// Copied from bytes `lo..=hi` of an object (`UploadPartCopy`), or sent.
    pub from: PartFrom,
}

#[derive(Debug, Clone)]
pub enum PartFrom {
    Copy { content: Content, size: u64, lo: u64, hi: u64 },
    Sent(Vec<u8>),
}

#[derive(Debug, Clone)]
pub struct Upload {
    pub bucket: String,
    pub key: String,
    pub parts: BTreeMap<i32, Part>,
}

#[derive(Debug, Default)]
pub struct World {
    pub buckets: BTreeMap<String, Bucket>,
    pub uploads: BTreeMap<String, Upload>,
    pub instances: BTreeMap<String, Instance>,
    pub snapshots: BTreeMap<String, Snapshot>,
    pub tables: BTreeMap<String, Table>,
    /// S3 Batch Operations jobs, by id.
    pub jobs: BTreeMap<String, Job>,
}

/// An S3 Batch Operations copy job: what it was asked, what it read from its manifest,
/// and how far it got.
#[derive(Debug, Clone)]
pub struct Job {
    pub region: String,
    pub spec: crate::cloud::port::s3control::NewCopyJob,
    pub status: String,
    /// (bucket, key, version) as the manifest lists them.
    pub tasks: Vec<(String, String, String)>,
    pub succeeded: i64,
    pub failed: i64,
    pub reasons: Vec<String>,
    /// Until then it is `Preparing` (reading its manifest).
    pub prepared_at: Timestamp,
}

/// The ETag S3 gives an object stored whole: its MD5, or (with a KMS key) an opaque
/// value — here derived from the content, so the same content matches across buckets.
pub fn whole_etag(content: &Content, size: u64, keyed: bool) -> String {
    match content {
        Content::Seeded(seed) if keyed => format!("\"{seed:032x}\""),
        c => {
            use md5::{Digest, Md5};
            format!("\"{}\"", hex::encode(Md5::digest(c.read(size, 0, size.saturating_sub(1)))))
        }
    }
}

/// A part's ETag for bytes `lo..=hi` of a content.
pub fn part_etag(content: &Content, size: u64, (lo, hi): (u64, u64), keyed: bool) -> String {
    use md5::{Digest, Md5};
    match content {
        Content::Seeded(seed) if keyed => format!("\"{}\"", hex::encode(Md5::digest(format!("{seed}:{lo}-{hi}")))),
        c => format!("\"{}\"", hex::encode(Md5::digest(c.read(size, lo, hi)))),
    }
}

/// The ETag of an object completed from parts: the MD5 of the parts' MD5s, `-N`.
pub fn multipart_etag(parts: &[String]) -> String {
    use md5::{Digest, Md5};
    let mut all = Vec::new();
    for p in parts {
        all.extend(hex::decode(p.trim_matches('"')).unwrap_or_default());
    }
    format!("\"{}-{}\"", hex::encode(Md5::digest(&all)), parts.len())
}

/// The ETag of an object of `size` bytes stored as it is (in parts of `part_size`, if any).
pub fn etag_of(content: &Content, size: u64, part_size: Option<u64>, keyed: bool) -> String {
    match part_size {
        None => whole_etag(content, size, keyed),
        Some(p) => {
            let parts: Vec<String> = crate::cloud::actions::ranges(size, p)
                .into_iter()
                .map(|r| part_etag(content, size, r, keyed))
                .collect();
            multipart_etag(&parts)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    #[test]
    fn a_generated_bucket_names_lists_and_rolls_back_its_keys_without_records() {
        let g = Generated::new(25, 3, 100, true, t(1_000), Damaged::Overwritten(t(2_000)));
        let keys: Vec<String> = (0..25).map(|i| g.key(i)).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "names sort as their indexes");
        assert_eq!(keys[0], "p0000/000000000.dat");
        assert_eq!(keys[9], "p0001/000000000.dat", "nine keys a prefix");
        assert!((0..25).all(|i| g.index(&g.key(i)) == Some(i)));
        for other in ["p0002/000000007.dat", "p0000/00000000.dat", "x0000/000000000.dat", "p0000/000000009.dat"] {
            assert_eq!(g.index(other), None, "{other}");
        }
        assert_eq!(g.lower_bound(""), 0);
        assert_eq!(g.lower_bound("p0001/"), 9);
        assert_eq!(g.lower_bound("p0001/000000000.dat"), 9);
        assert_eq!(g.lower_bound("q"), 25);

        let mut b = Bucket { generated: Some(g), kms: true, ..Bucket::default() };
        b.objects.insert("a-held.txt".into(), vec![]);
        b.objects.insert("p0001/000000000.dat".into(), vec![Version::marker("m".into(), t(3_000))]);
        let listed: Vec<String> = b.keys_from("").map(|(k, _)| k.into_owned()).collect();
        assert_eq!(listed.len(), 26, "held and generated, the held copy of a generated key once");
        assert_eq!(listed[0], "a-held.txt");
        assert!(listed.windows(2).all(|w| w[0] < w[1]));
        assert!(b.current("p0001/000000000.dat").is_none(), "the held version wins");

        // A roll-back: the first version copied back on top is held as a time.
        let key = "p0000/000000004.dat";
        let first = b.versions(key).unwrap()[0].clone();
        assert_eq!(b.versions(key).unwrap().len(), 2);
        let id = b.push(key, Version { time: t(4_000), ..first.clone() });
        assert_eq!(b.versions(key).unwrap().len(), 3);
        assert_eq!(b.current(key).map(|v| (v.content, v.time, v.id)), Some((first.content.clone(), t(4_000), id)));
        assert!(!b.objects.contains_key(key), "no record for it");
        // Anything else is held as records.
        b.push(key, Version { time: t(5_000), ..first });
        assert_eq!(b.objects.get(key).map(Vec::len), Some(4));
    }
}
