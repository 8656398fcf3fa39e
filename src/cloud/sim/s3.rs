//! The S3 port in memory, one region's client of it.

use std::sync::Arc;

use base64::Engine;
use md5::{Digest, Md5};

use super::model::Model;
use super::world::{
    Bucket, Content, Part, PartFrom, Upload, Version, World, det, multipart_etag, part_etag, whole_etag,
};
use super::{Class, State};
use crate::clock::Clock;
use crate::cloud::BoxFuture;
use crate::cloud::port::s3::*;
use crate::cloud::port::{Api, ApiError};
use crate::runbook::time::Timestamp;

/// What one listing page holds at most, as S3's.
const PAGE: usize = 1000;
/// S3's CopyObject limit.
const MAX_COPY: u64 = 5 * 1024 * 1024 * 1024;

pub struct SimS3 {
    pub(super) state: Arc<State>,
    pub(super) region: String,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) model: Model,
}

fn bucket<'w>(w: &'w World, name: &str, region: &str) -> Api<&'w Bucket> {
    let b =
        w.buckets.get(name).ok_or_else(|| ApiError::new("NoSuchBucket", format!("no bucket `{name}` in {region}")))?;
    if b.region != region {
        let mut e = ApiError::new("PermanentRedirect", format!("the bucket is in {}, not {region}", b.region));
        e.bucket_region = Some(b.region.clone());
        return Err(e);
    }
    Ok(b)
}

fn bucket_mut<'w>(w: &'w mut World, name: &str, region: &str) -> Api<&'w mut Bucket> {
    bucket(w, name, region)?;
    w.buckets.get_mut(name).ok_or_else(|| ApiError::new("NoSuchBucket", name.to_string()))
}

/// A version to read or copy from: the current one, or the one named.
fn find(b: &Bucket, obj: &ObjRef) -> Api<Version> {
    let vs = b.versions(&obj.key).ok_or_else(|| ApiError::new("NoSuchKey", format!("no key `{}`", obj.key)))?;
    let v = match &obj.version {
        None => vs
            .last()
            .filter(|v| !v.delete_marker)
            .ok_or_else(|| ApiError::new("NoSuchKey", format!("`{}` is deleted", obj.key)))?,
        Some(id) => vs
            .iter()
            .find(|v| &v.id == id)
            .ok_or_else(|| ApiError::new("NoSuchVersion", format!("no version `{id}` of `{}`", obj.key)))?,
    };
    if v.delete_marker {
        return Err(ApiError::new("MethodNotAllowed", "the version is a delete marker"));
    }
    Ok(v.clone())
}

/// Any bucket's version (a copy's source may be in another region).
fn source<'w>(w: &'w World, obj: &ObjRef) -> Api<(&'w Bucket, Version)> {
    let b = w
        .buckets
        .get(&obj.bucket)
        .ok_or_else(|| ApiError::new("NoSuchBucket", format!("no bucket `{}`", obj.bucket)))?;
    Ok((b, find(b, obj)?))
}

fn crc32(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(crc32fast::hash(bytes).to_be_bytes())
}

fn new_id(bucket: &str, key: &str, n: usize, now: Timestamp) -> String {
    format!("{:016x}", det(&format!("{bucket}/{key}/{n}/{now}"), 0, u64::MAX - 1))
}

/// Adds a version on top and says what was written.
fn write(b: &mut Bucket, bucket: &str, key: &str, now: Timestamp, mut v: Version) -> Written {
    let n = b.versions(key).map_or(0, |vs| vs.len());
    v.id = new_id(bucket, key, n, now);
    v.time = now;
    let etag = v.etag.clone();
    let id = b.push(key, v);
    Written { etag, version: Some(id) }
}

/// The first name after every name that starts with `prefix` (which ends in a delimiter
/// of one ASCII character): `docs/` → `docs0`.
fn past(prefix: &str) -> String {
    let mut out = prefix.to_string();
    match out.pop() {
        Some(c) => out.push(char::from_u32(c as u32 + 1).unwrap_or(char::MAX)),
        None => out.push(char::MAX),
    }
    out
}

impl SimS3 {
    fn region(&self) -> &str {
        &self.region
    }
}

impl S3Api for SimS3 {
    fn list_versions<'a>(
        &'a self,
        name: &'a str,
        prefix: &'a str,
        delimiter: Option<&'a str>,
        from: Option<VersionMarker>,
    ) -> BoxFuture<'a, Api<VersionPage>> {
        Box::pin(self.state.request(&self.clock, "ListObjectVersions", self.model.s3_list_page, move |s, now| {
            s.admit(name, prefix, Class::Read, now)?;
            let w = s.world();
            let b = bucket(&w, name, self.region())?;
            let start = from.as_ref().map_or(prefix.to_string(), |m| m.key.clone()).max(prefix.to_string());
            // A common prefix counts as one entry of the page, as in S3.
            enum Entry {
                Version(ListedVersion),
                Prefix(String),
            }
            let rolled_up = |k: &str| -> Option<String> {
                let d = delimiter.filter(|d| !d.is_empty())?;
                let at = k.get(prefix.len()..)?.find(d)?;
                Some(k[..prefix.len() + at + d.len()].to_string())
            };
            let mut out: Vec<Entry> = Vec::new();
            let mut at = start;
            'keys: loop {
                let mut jump = None;
                for (k, vs) in b.keys_from(&at) {
                    if !k.starts_with(prefix) {
                        break 'keys;
                    }
                    if let Some(cp) = rolled_up(&k) {
                        let resumed_past = from.as_ref().is_some_and(|m| m.version_id.is_none() && m.key == cp);
                        if !resumed_past {
                            out.push(Entry::Prefix(cp.clone()));
                            if out.len() > PAGE {
                                break 'keys;
                            }
                        }
                        // Past every key under that prefix, without reading them.
                        jump = Some(past(&cp));
                        break;
                    }
                    // S3 lists each key's versions newest first.
                    let mut newest_first: Vec<(usize, &Version)> = vs.iter().enumerate().rev().collect();
                    if let Some(m) = from.as_ref().filter(|m| *m.key == *k) {
                        match &m.version_id {
                            None => continue,
                            Some(id) => match newest_first.iter().position(|(_, v)| &v.id == id) {
                                Some(p) => newest_first.drain(..=p).for_each(drop),
                                None => continue,
                            },
                        }
                    }
                    for (i, v) in newest_first {
                        out.push(Entry::Version(ListedVersion {
                            key: k.to_string(),
                            version_id: v.id.clone(),
                            time: v.time,
                            etag: v.etag.clone(),
                            size: v.size,
                            marker: v.delete_marker,
                            latest: i + 1 == vs.len(),
                        }));
                        if out.len() > PAGE {
                            break 'keys;
                        }
                    }
                }
                match jump {
                    Some(next) => at = next,
                    None => break,
                }
            }
            let next = if out.len() > PAGE {
                out.truncate(PAGE);
                out.last().map(|e| match e {
                    Entry::Version(v) => VersionMarker { key: v.key.clone(), version_id: Some(v.version_id.clone()) },
                    Entry::Prefix(p) => VersionMarker { key: p.clone(), version_id: None },
                })
            } else {
                None
            };
            let mut page = VersionPage { next, ..VersionPage::default() };
            for e in out {
                match e {
                    Entry::Version(v) => page.versions.push(v),
                    Entry::Prefix(p) => page.prefixes.push(p),
                }
            }
            Ok(page)
        }))
    }

    fn list_objects<'a>(
        &'a self,
        name: &'a str,
        prefix: &'a str,
        token: Option<String>,
    ) -> BoxFuture<'a, Api<ObjectPage>> {
        Box::pin(self.state.request(&self.clock, "ListObjectsV2", self.model.s3_list_page, move |s, now| {
            s.admit(name, prefix, Class::Read, now)?;
            let w = s.world();
            let b = bucket(&w, name, self.region())?;
            let mut objects: Vec<ListedObject> = Vec::new();
            let start = token.clone().unwrap_or_default().max(prefix.to_string());
            let range = b.keys_from(&start).skip_while(|(k, _)| token.as_deref().is_some_and(|t| **k <= *t));
            for (k, vs) in range {
                if !k.starts_with(prefix) {
                    break;
                }
                if let Some(v) = vs.last().filter(|v| !v.delete_marker) {
                    if objects.len() == PAGE {
                        let next = objects.last().map(|o| o.key.clone());
                        return Ok(ObjectPage { next, objects });
                    }
                    objects.push(ListedObject { key: k.to_string(), etag: v.etag.clone(), size: v.size, time: v.time });
                }
            }
            Ok(ObjectPage { objects, next: None })
        }))
    }

    fn head<'a>(&'a self, obj: &'a ObjRef, part_number: Option<i32>) -> BoxFuture<'a, Api<Head>> {
        Box::pin(self.state.request(&self.clock, "HeadObject", self.model.s3_request, move |s, now| {
            s.admit(&obj.bucket, &obj.key, Class::Read, now)?;
            let w = s.world();
            let b = bucket(&w, &obj.bucket, self.region())?;
            let v = find(b, obj)?;
            let size = match (part_number, v.part_size) {
                (Some(n), Some(p)) => {
                    let lo = (n.max(1) as u64 - 1) * p;
                    if lo >= v.size {
                        return Err(ApiError::new("InvalidPartNumber", format!("no part {n}")));
                    }
                    p.min(v.size - lo)
                }
                _ => v.size,
            };
            let mut checksums: [Option<String>; 5] = Default::default();
            if v.crc32 && v.part_size.is_none() {
                checksums[1] = Some(crc32(&v.content.read(v.size, 0, v.size.saturating_sub(1))));
            }
            Ok(Head { size, etag: v.etag.clone(), keyed: b.kms, checksums })
        }))
    }

    fn get<'a>(&'a self, obj: &'a ObjRef, range: Option<(u64, u64)>, if_match: &'a str) -> BoxFuture<'a, Api<Got>> {
        let bytes = range.map_or(u64::MAX, |(lo, hi)| hi.saturating_sub(lo) + 1);
        let size =
            self.state.world().buckets.get(&obj.bucket).and_then(|b| b.versions(&obj.key)?.last().map(|v| v.size));
        let latency = self.model.transfer(bytes.min(size.unwrap_or(0)));
        Box::pin(self.state.request(&self.clock, "GetObject", latency, move |s, now| {
            s.admit(&obj.bucket, &obj.key, Class::Read, now)?;
            let w = s.world();
            let b = bucket(&w, &obj.bucket, self.region())?;
            let v = find(b, obj)?;
            if v.etag != if_match {
                return Err(ApiError::new("PreconditionFailed", "the object changed: its ETag is not the one listed"));
            }
            let (lo, hi) = range.unwrap_or((0, v.size.saturating_sub(1)));
            if v.size > 0 && lo >= v.size {
                return Err(ApiError::new("InvalidRange", format!("bytes {lo}-{hi} of {}", v.size)));
            }
            Ok(Got { bytes: v.content.read(v.size, lo, hi), keyed: b.kms })
        }))
    }

    fn copy_object<'a>(&'a self, src: &'a ObjRef, name: &'a str, key: &'a str) -> BoxFuture<'a, Api<Written>> {
        let size =
            self.state.world().buckets.get(&src.bucket).and_then(|b| find(b, src).ok().map(|v| v.size)).unwrap_or(0);
        Box::pin(self.state.request(&self.clock, "CopyObject", self.model.transfer(size), move |s, now| {
            s.admit(name, key, Class::Write, now)?;
            let mut w = s.world();
            let v = source(&w, src)?.1;
            if v.size > MAX_COPY {
                return Err(ApiError::new(
                    "InvalidRequest",
                    "the copy source is larger than the maximum allowable size",
                ));
            }
            let b = bucket_mut(&mut w, name, self.region())?;
            let etag = whole_etag(&v.content, v.size, b.kms);
            Ok(write(b, name, key, now, Version { etag, part_size: None, crc32: true, ..v }))
        }))
    }

    fn put_object<'a>(&'a self, name: &'a str, key: &'a str, body: Vec<u8>) -> BoxFuture<'a, Api<Written>> {
        let latency = self.model.transfer(body.len() as u64);
        Box::pin(self.state.request(&self.clock, "PutObject", latency, move |s, now| {
            s.admit(name, key, Class::Write, now)?;
            let mut w = s.world();
            let b = bucket_mut(&mut w, name, self.region())?;
            let content = Content::Bytes(Arc::new(body.clone()));
            let size = body.len() as u64;
            let etag = whole_etag(&content, size, b.kms);
            let v = Version {
                id: String::new(),
                time: now,
                etag,
                size,
                delete_marker: false,
                content,
                part_size: None,
                crc32: true,
            };
            Ok(write(b, name, key, now, v))
        }))
    }

    fn create_multipart<'a>(&'a self, name: &'a str, key: &'a str) -> BoxFuture<'a, Api<String>> {
        Box::pin(self.state.request(&self.clock, "CreateMultipartUpload", self.model.s3_request, move |s, now| {
            let mut w = s.world();
            bucket(&w, name, self.region())?;
            let id =
                format!("upload-{:016x}", det(&format!("{name}/{key}/{now}/{}", w.uploads.len()), 0, u64::MAX - 1));
            w.uploads.insert(id.clone(), Upload { bucket: name.into(), key: key.into(), parts: Default::default() });
            Ok(id)
        }))
    }

    fn upload_part_copy<'a>(
        &'a self,
        name: &'a str,
        key: &'a str,
        upload: &'a str,
        number: i32,
        src: &'a ObjRef,
        (lo, hi): (u64, u64),
    ) -> BoxFuture<'a, Api<PartDone>> {
        let latency = self.model.transfer(hi.saturating_sub(lo) + 1);
        Box::pin(self.state.request(&self.clock, "UploadPartCopy", latency, move |s, now| {
            s.admit(name, key, Class::Write, now)?;
            let mut w = s.world();
            let v = source(&w, src)?.1;
            if hi >= v.size || lo > hi {
                return Err(ApiError::new("InvalidRange", format!("bytes {lo}-{hi} of {}", v.size)));
            }
            let keyed = bucket(&w, name, self.region())?.kms;
            let etag = part_etag(&v.content, v.size, (lo, hi), keyed);
            let up = w.uploads.get_mut(upload).filter(|u| u.bucket == name && u.key == key);
            let up = up.ok_or_else(|| ApiError::new("NoSuchUpload", format!("no upload `{upload}`")))?;
            let from = PartFrom::Copy { content: v.content.clone(), size: v.size, lo, hi };
            up.parts.insert(number, Part { etag: etag.clone(), size: hi - lo + 1, from });
            Ok(PartDone { number, etag: Some(etag), crc32: None })
        }))
    }

    fn upload_part<'a>(
        &'a self,
        name: &'a str,
        key: &'a str,
        upload: &'a str,
        number: i32,
        body: Vec<u8>,
    ) -> BoxFuture<'a, Api<PartDone>> {
        let latency = self.model.transfer(body.len() as u64);
        Box::pin(self.state.request(&self.clock, "UploadPart", latency, move |s, now| {
            s.admit(name, key, Class::Write, now)?;
            let mut w = s.world();
            bucket(&w, name, self.region())?;
            let up = w.uploads.get_mut(upload).filter(|u| u.bucket == name && u.key == key);
            let up = up.ok_or_else(|| ApiError::new("NoSuchUpload", format!("no upload `{upload}`")))?;
            let etag = format!("\"{}\"", hex::encode(Md5::digest(&body)));
            let crc = crc32(&body);
            up.parts.insert(
                number,
                Part { etag: etag.clone(), size: body.len() as u64, from: PartFrom::Sent(body.clone()) },
            );
            Ok(PartDone { number, etag: Some(etag), crc32: Some(crc) })
        }))
    }

    fn complete_multipart<'a>(
        &'a self,
        name: &'a str,
        key: &'a str,
        upload: &'a str,
        parts: Vec<PartDone>,
    ) -> BoxFuture<'a, Api<Written>> {
        Box::pin(self.state.request(&self.clock, "CompleteMultipartUpload", self.model.s3_request, move |s, now| {
            let mut w = s.world();
            bucket(&w, name, self.region())?;
            let up = w.uploads.get(upload).filter(|u| u.bucket == name && u.key == key).cloned();
            let up = up.ok_or_else(|| ApiError::new("NoSuchUpload", format!("no upload `{upload}`")))?;
            let mut chosen: Vec<&Part> = Vec::new();
            for p in &parts {
                match up.parts.get(&p.number) {
                    Some(part) if p.etag.as_deref() == Some(part.etag.as_str()) => chosen.push(part),
                    _ => {
                        return Err(ApiError::new(
                            "InvalidPart",
                            format!("part {} was not uploaded as listed", p.number),
                        ));
                    }
                }
            }
            if chosen.is_empty() {
                return Err(ApiError::new("MalformedXML", "no parts"));
            }
            let size: u64 = chosen.iter().map(|p| p.size).sum();
            // Parts copied in order from one object, every byte once: that object's content.
            let whole = match &chosen[0].from {
                PartFrom::Copy { content, size: of, .. } => {
                    let mut at = 0;
                    let same = chosen.iter().all(|p| match &p.from {
                        PartFrom::Copy { content: c, lo, hi, .. } if c == content && *lo == at => {
                            at = hi + 1;
                            true
                        }
                        _ => false,
                    });
                    (same && at == *of).then(|| content.clone())
                }
                PartFrom::Sent(_) => None,
            };
            let content = whole.unwrap_or_else(|| {
                let mut bytes = Vec::with_capacity(size as usize);
                for p in &chosen {
                    match &p.from {
                        PartFrom::Copy { content, size, lo, hi } => bytes.extend(content.read(*size, *lo, *hi)),
                        PartFrom::Sent(b) => bytes.extend_from_slice(b),
                    }
                }
                Content::Bytes(Arc::new(bytes))
            });
            let etags: Vec<String> = chosen.iter().map(|p| p.etag.clone()).collect();
            let part_size = Some(chosen[0].size);
            w.uploads.remove(upload);
            let b = bucket_mut(&mut w, name, self.region())?;
            let v = Version {
                id: String::new(),
                time: now,
                etag: multipart_etag(&etags),
                size,
                delete_marker: false,
                content,
                part_size,
                crc32: false,
            };
            Ok(write(b, name, key, now, v))
        }))
    }

    fn abort_multipart<'a>(&'a self, name: &'a str, key: &'a str, upload: &'a str) -> BoxFuture<'a, Api<()>> {
        Box::pin(self.state.request(&self.clock, "AbortMultipartUpload", self.model.s3_request, move |s, _| {
            let mut w = s.world();
            match w.uploads.get(upload) {
                Some(u) if u.bucket == name && u.key == key => {
                    w.uploads.remove(upload);
                    Ok(())
                }
                _ => Err(ApiError::new("NoSuchUpload", format!("no upload `{upload}`"))),
            }
        }))
    }

    fn delete_objects<'a>(
        &'a self,
        name: &'a str,
        entries: &'a [(String, Option<String>)],
    ) -> BoxFuture<'a, Api<Vec<DeleteFailure>>> {
        Box::pin(self.state.request(&self.clock, "DeleteObjects", self.model.s3_request, move |s, now| {
            s.admit(name, entries.first().map_or("", |e| e.0.as_str()), Class::Write, now)?;
            if entries.len() > PAGE {
                return Err(ApiError::new("MalformedXML", "more than 1,000 keys in one DeleteObjects"));
            }
            let mut w = s.world();
            let b = bucket_mut(&mut w, name, self.region())?;
            let lock = b.object_lock_days;
            let mut failures = Vec::new();
            for (key, version) in entries {
                match version {
                    None => {
                        let vs = b.entry(key);
                        let id = new_id(name, key, vs.len(), now);
                        vs.push(Version::marker(id, now));
                    }
                    Some(id) => {
                        let Some(vs) = b.versions_mut(key) else { continue };
                        let Some(i) = vs.iter().position(|v| &v.id == id) else { continue };
                        // Object lock protects versions, never delete markers.
                        let locked = lock.is_some_and(|days| {
                            !vs[i].delete_marker
                                && vs[i]
                                    .time
                                    .checked_add(jiff::SignedDuration::from_hours(24 * days as i64))
                                    .is_ok_and(|until| until > now)
                        });
                        if locked {
                            failures.push(DeleteFailure {
                                key: key.clone(),
                                code: "AccessDenied".into(),
                                message: "Access Denied because object protected by object lock".into(),
                            });
                        } else {
                            vs.remove(i);
                        }
                    }
                }
            }
            Ok(failures)
        }))
    }

    fn versioning<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Api<Option<String>>> {
        Box::pin(self.state.request(&self.clock, "GetBucketVersioning", self.model.control, move |s, _| {
            let w = s.world();
            Ok(bucket(&w, name, self.region())?.versioning.then(|| "Enabled".to_string()))
        }))
    }

    fn object_lock<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Api<Option<String>>> {
        Box::pin(self.state.request(&self.clock, "GetObjectLockConfiguration", self.model.control, move |s, _| {
            let w = s.world();
            Ok(bucket(&w, name, self.region())?.object_lock_days.map(|d| format!("COMPLIANCE {d}d")))
        }))
    }

    fn encryption<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Api<Option<String>>> {
        Box::pin(self.state.request(&self.clock, "GetBucketEncryption", self.model.control, move |s, _| {
            let w = s.world();
            Ok(Some(if bucket(&w, name, self.region())?.kms { "aws:kms" } else { "AES256" }.to_string()))
        }))
    }

    fn replication<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Api<Option<String>>> {
        Box::pin(self.state.request(&self.clock, "GetBucketReplication", self.model.control, move |s, _| {
            let w = s.world();
            Ok(bucket(&w, name, self.region())?.replication_to.clone())
        }))
    }

    fn public_access_blocked<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Api<bool>> {
        Box::pin(self.state.request(&self.clock, "GetPublicAccessBlock", self.model.control, move |s, _| {
            let w = s.world();
            Ok(bucket(&w, name, self.region())?.public_access_blocked)
        }))
    }
}
