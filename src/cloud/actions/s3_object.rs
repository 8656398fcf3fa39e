//! One S3 object copied at any size, and proved to be the object it was copied from.
//!
//! S3 copies up to 5 GiB in one request; anything larger was uploaded in parts and must be
//! copied in parts. Copying in the source's own parts has a second use: the copy's ETag
//! (MD5 of the parts' MD5s) then equals the source's, so the check costs nothing. Where
//! an ETag is no digest (SSE-KMS, SSE-C) the objects' stored checksums are compared,
//! and failing those their sizes — said as such, never passed off as a digest check.
//! Copies through this machine (the backup account read with another role) hold one
//! part in memory at a time and check the bytes they read against the source's ETag.

use std::sync::Arc;

use md5::{Digest, Md5};

use crate::cloud::ActionError;
use crate::cloud::port::ApiError;
use crate::cloud::port::s3::{Head, ObjRef, PartDone, S3Api};

/// One version of one object, as listed.
pub struct Source<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub version: Option<&'a str>,
    /// As S3 gives it, quotes and all.
    pub etag: &'a str,
    pub size: u64,
    pub region: &'a str,
}

impl Source<'_> {
    fn obj(&self) -> ObjRef {
        ObjRef { bucket: self.bucket.into(), key: self.key.into(), version: self.version.map(str::to_string) }
    }
}

pub struct Target<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub region: &'a str,
}

/// How a copy was proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// The copy's ETag, or the MD5 of the bytes read, equals the source's ETag.
    Etag,
    /// Both objects store the same full-object checksum.
    Checksum,
    /// No digest could be compared (KMS or customer keys, no stored checksum): sizes only.
    Size,
}

const MIB: u64 = 1024 * 1024;
/// S3's own limits: parts of at least 5 MiB (but the last), at most 10,000 of them.
pub const MIN_PART: u64 = 5 * MIB;
const MAX_PARTS: u64 = 10_000;
/// Part copies of one object in flight at once (server-side: no memory held).
pub const PART_COPIES: usize = 8;

/// The size of the pieces a copy through this machine reads and writes
/// (`LIFEBOAT_S3_PART_SIZE`, bytes, at least 5 MiB): memory held is one part a copy in
/// flight.
pub fn part_size() -> u64 {
    std::env::var("LIFEBOAT_S3_PART_SIZE").ok().and_then(|v| v.parse().ok()).unwrap_or(8 * MIB).max(MIN_PART)
}

/// The number of parts an ETag says its object was uploaded in (`"…-3"` → 3).
pub fn parts_in(etag: &str) -> Option<u64> {
    etag.trim_matches('"').rsplit_once('-').and_then(|(_, n)| n.parse().ok())
}

fn unquoted(etag: &str) -> &str {
    etag.trim_matches('"')
}

/// Byte ranges, inclusive, of `part`-sized pieces of `size` bytes.
pub fn ranges(size: u64, part: u64) -> Vec<(u64, u64)> {
    let part = part.max(size.div_ceil(MAX_PARTS)).max(1);
    (0..size.div_ceil(part)).map(|i| (i * part, ((i + 1) * part).min(size) - 1)).collect()
}

fn at(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{key}")
}

fn fail<'a>(op: &'a str, bucket: &'a str, key: &'a str, region: &'a str) -> impl Fn(ApiError) -> ActionError + 'a {
    move |e| e.at(op, &at(bucket, key), region)
}

/// The source's own parts when it was uploaded in parts (its first part's size, from a
/// HEAD with `partNumber=1`), else pieces of `part`.
async fn layout(s3: &dyn S3Api, src: &Source<'_>, op: &str, part: u64) -> Result<Vec<(u64, u64)>, ActionError> {
    if parts_in(src.etag).is_none() {
        return Ok(ranges(src.size, part));
    }
    let first = s3.head(&src.obj(), Some(1)).await.map_err(fail(op, src.bucket, src.key, src.region))?.size;
    Ok(ranges(src.size, if first > 0 { first } else { part }))
}

fn failed(op: &str, dst: &Target<'_>, message: String) -> ActionError {
    ActionError::new(op, &at(dst.bucket, dst.key), "VerificationFailed", message).retryable()
}

/// Server-side, one identity: CopyObject for an object stored whole (at most 5 GiB by
/// S3's rule), UploadPartCopy in the source's own parts otherwise.
pub async fn server_copy(
    s3: &Arc<dyn S3Api>,
    src: &Source<'_>,
    dst: &Target<'_>,
    op: &str,
) -> Result<(Checked, Option<String>), ActionError> {
    let to = fail(op, dst.bucket, dst.key, dst.region);
    let written = if parts_in(src.etag).is_none() {
        s3.copy_object(&src.obj(), dst.bucket, dst.key).await.map_err(&to)?
    } else {
        let ranges = layout(s3.as_ref(), src, op, part_size()).await?;
        let upload = Upload::create(s3.as_ref(), dst, op).await?;
        let gate = Arc::new(tokio::sync::Semaphore::new(PART_COPIES));
        let mut tasks = tokio::task::JoinSet::new();
        for (i, range) in ranges.into_iter().enumerate() {
            let (s3, gate, source) = (s3.clone(), gate.clone(), src.obj());
            let (bucket, key, id, region, op) = (
                dst.bucket.to_string(),
                dst.key.to_string(),
                upload.id.clone(),
                dst.region.to_string(),
                op.to_string(),
            );
            tasks.spawn(crate::clock::inherit(tracing::Instrument::in_current_span(async move {
                let _permit = gate.acquire_owned().await.map_err(|_| ApiError::new("Cancelled", "stopped"));
                s3.upload_part_copy(&bucket, &key, &id, i as i32 + 1, &source, range)
                    .await
                    .map_err(|e| e.at(&op, &at(&bucket, &key), &region))
            })));
        }
        let mut parts = vec![];
        while let Some(r) = tasks.join_next().await {
            let r = r.unwrap_or_else(|e| {
                Err(ActionError::new(op, &at(dst.bucket, dst.key), "InternalError", e.to_string()))
            });
            match r {
                Ok(p) => parts.push(p),
                Err(e) => {
                    tasks.abort_all();
                    upload.abort().await;
                    return Err(e);
                }
            }
        }
        upload.complete(parts).await?
    };
    if written.etag == src.etag {
        return Ok((Checked::Etag, written.version));
    }
    let checked = compare_stored(s3.as_ref(), s3.as_ref(), src, dst, written.version.as_deref(), op).await?;
    Ok((checked, written.version))
}

/// Through this machine, two identities: `reader` reads the source, `writer` writes the
/// target. Whole for an object up to one part, else in parts (the source's own when it
/// has them), one part in memory at a time; the bytes read are checked against the
/// source's ETag, and S3 checks the CRC32 of every byte written.
pub async fn stream_copy(
    reader: &dyn S3Api,
    writer: &dyn S3Api,
    src: &Source<'_>,
    dst: &Target<'_>,
    op: &str,
) -> Result<(Checked, Option<String>), ActionError> {
    let part = part_size();
    let obj = src.obj();
    let from = fail(op, src.bucket, src.key, src.region);
    let to = fail(op, dst.bucket, dst.key, dst.region);
    let (digest, keyed, version) = if src.size <= part && parts_in(src.etag).is_none() {
        // The object must not change under the copy: a new version fails the read.
        let got = reader.get(&obj, None, src.etag).await.map_err(&from)?;
        let digest = hex::encode(Md5::digest(&got.bytes));
        let put = writer.put_object(dst.bucket, dst.key, got.bytes).await.map_err(&to)?;
        (digest, got.keyed, put.version)
    } else {
        let ranges = layout(reader, src, op, part).await?;
        let upload = Upload::create(writer, dst, op).await?;
        let (mut whole, mut of_parts, mut parts, mut keyed) = (Md5::new(), Vec::new(), Vec::new(), false);
        for (i, range) in ranges.iter().copied().enumerate() {
            let sent = async {
                let got = reader.get(&obj, Some(range), src.etag).await.map_err(&from)?;
                keyed = got.keyed;
                whole.update(&got.bytes);
                of_parts.extend_from_slice(&Md5::digest(&got.bytes));
                writer.upload_part(dst.bucket, dst.key, &upload.id, i as i32 + 1, got.bytes).await.map_err(&to)
            };
            match sent.await {
                Ok(p) => parts.push(p),
                Err(e) => {
                    upload.abort().await;
                    return Err(e);
                }
            }
        }
        let written = upload.complete(parts).await?;
        let digest = match parts_in(src.etag) {
            Some(n) if n == ranges.len() as u64 => format!("{}-{n}", hex::encode(Md5::digest(&of_parts))),
            _ => hex::encode(whole.finalize()),
        };
        (digest, keyed, written.version)
    };
    if digest == unquoted(src.etag) {
        return Ok((Checked::Etag, version));
    }
    // With KMS or a customer key the ETag is no MD5: the stored checksums, then sizes.
    if keyed || parts_in(src.etag).is_some() {
        let checked = compare_stored(reader, writer, src, dst, version.as_deref(), op).await?;
        return Ok((checked, version));
    }
    Err(failed(op, dst, format!("the bytes read have MD5 {digest}, the source's ETag is {}", unquoted(src.etag))))
}

/// The sizes, and every full-object checksum both objects store.
async fn compare_stored(
    reader: &dyn S3Api,
    writer: &dyn S3Api,
    src: &Source<'_>,
    dst: &Target<'_>,
    version: Option<&str>,
    op: &str,
) -> Result<Checked, ActionError> {
    let a: Head = reader.head(&src.obj(), None).await.map_err(fail(op, src.bucket, src.key, src.region))?;
    let copy = ObjRef { bucket: dst.bucket.into(), key: dst.key.into(), version: version.map(str::to_string) };
    let b: Head = writer.head(&copy, None).await.map_err(fail(op, dst.bucket, dst.key, dst.region))?;
    if a.size != b.size {
        return Err(failed(op, dst, format!("the copy has {} bytes, the source {}", b.size, a.size)));
    }
    for (x, y) in a.checksums.iter().zip(&b.checksums) {
        if let (Some(x), Some(y)) = (x, y) {
            if x != y {
                return Err(failed(op, dst, format!("the copy's checksum is {y}, the source's {x}")));
            }
            return Ok(Checked::Checksum);
        }
    }
    Ok(Checked::Size)
}

/// A multipart upload that is completed or aborted, never left to cost storage.
struct Upload<'a> {
    s3: &'a dyn S3Api,
    dst: &'a Target<'a>,
    op: &'a str,
    id: String,
}

impl<'a> Upload<'a> {
    async fn create(s3: &'a dyn S3Api, dst: &'a Target<'a>, op: &'a str) -> Result<Upload<'a>, ActionError> {
        let id = s3.create_multipart(dst.bucket, dst.key).await.map_err(fail(op, dst.bucket, dst.key, dst.region))?;
        Ok(Upload { s3, dst, op, id })
    }

    async fn complete(self, mut parts: Vec<PartDone>) -> Result<crate::cloud::port::s3::Written, ActionError> {
        parts.sort_by_key(|p| p.number);
        match self.s3.complete_multipart(self.dst.bucket, self.dst.key, &self.id, parts).await {
            Ok(w) => Ok(w),
            Err(e) => {
                let e = e.at(self.op, &at(self.dst.bucket, self.dst.key), self.dst.region);
                self.abort().await;
                Err(e)
            }
        }
    }

    /// Best effort: a failed abort leaves parts that the bucket's lifecycle rule (or a
    /// later abort) removes; the copy's own error is the one worth showing.
    async fn abort(&self) {
        let _ = self.s3.abort_multipart(self.dst.bucket, self.dst.key, &self.id).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_every_byte_once_within_s3_limits() {
        assert_eq!(ranges(12, 5), vec![(0, 4), (5, 9), (10, 11)]);
        assert_eq!(ranges(10, 5), vec![(0, 4), (5, 9)]);
        // 5 TiB in 8 MiB parts would be 655,360 parts: the part grows to fit 10,000.
        let r = ranges(5 << 40, 8 * MIB);
        assert!(r.len() as u64 <= MAX_PARTS, "{}", r.len());
        assert_eq!(r.last().unwrap().1, (5u64 << 40) - 1);
        assert!(r.windows(2).all(|w| w[1].0 == w[0].1 + 1));
    }

    #[test]
    fn an_etag_says_how_many_parts() {
        assert_eq!(parts_in("\"9c79c09996bed8f99ddd8678c5d3be24-3\""), Some(3));
        assert_eq!(parts_in("\"5d41402abc4b2a76b9719d911017c592\""), None);
    }
}
