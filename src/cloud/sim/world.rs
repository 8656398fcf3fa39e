//! What the simulated cloud holds: buckets with object versions, DB instances and
//! snapshots, DynamoDB tables — plain data, so tests can look and a facilitator can tell.

use std::collections::BTreeMap;
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
}

impl Bucket {
    pub fn current(&self, key: &str) -> Option<&Version> {
        self.objects.get(key).and_then(|v| v.last()).filter(|v| !v.delete_marker)
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
