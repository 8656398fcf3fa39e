//! One S3 object copied at any size, and proved to be the object it was copied from.
//!
//! S3 copies up to 5 GiB in one request; anything larger was uploaded in parts and must be
//! copied in parts. Copying in the source's own parts has a second use: the copy's ETag
//! (MD5 of the parts' MD5s) then equals the source's, so the check costs nothing. Where
//! an ETag is no digest (SSE-KMS, SSE-C) the objects' stored checksums are compared,
//! and failing those their sizes — said as such, never passed off as a digest check.
//! Copies through this machine (the backup account read with another role) hold one
//! part in memory at a time and check the bytes they read against the source's ETag.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, CompletedMultipartUpload, CompletedPart, ServerSideEncryption,
};
use md5::{Digest, Md5};
use tokio::sync::Semaphore;
use tracing::Instrument;

use super::{encode_key, sdk_error};
use crate::cloud::ActionError;

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
const MIN_PART: u64 = 5 * MIB;
const MAX_PARTS: u64 = 10_000;
/// Part copies of one object in flight at once (server-side: no memory held).
const PART_COPIES: usize = 8;

/// The size of the pieces a copy through this machine reads and writes
/// (`LIFEBOAT_S3_PART_SIZE`, bytes, at least 5 MiB): memory held is one part a copy in
/// flight.
pub fn part_size() -> u64 {
    std::env::var("LIFEBOAT_S3_PART_SIZE").ok().and_then(|v| v.parse().ok()).unwrap_or(8 * MIB).max(MIN_PART)
}

/// The number of parts an ETag says its object was uploaded in (`"…-3"` → 3).
fn parts_in(etag: &str) -> Option<u64> {
    etag.trim_matches('"').rsplit_once('-').and_then(|(_, n)| n.parse().ok())
}

fn unquoted(etag: &str) -> &str {
    etag.trim_matches('"')
}

/// Byte ranges, inclusive, of `part`-sized pieces of `size` bytes.
fn ranges(size: u64, part: u64) -> Vec<(u64, u64)> {
    let part = part.max(size.div_ceil(MAX_PARTS)).max(1);
    (0..size.div_ceil(part)).map(|i| (i * part, ((i + 1) * part).min(size) - 1)).collect()
}

/// The source's own parts when it was uploaded in parts (its first part's size, from a
/// HEAD with `partNumber=1`), else pieces of `part`.
async fn layout(client: &Client, src: &Source<'_>, op: &str, part: u64) -> Result<Vec<(u64, u64)>, ActionError> {
    if parts_in(src.etag).is_none() {
        return Ok(ranges(src.size, part));
    }
    let first = client
        .head_object()
        .bucket(src.bucket)
        .key(src.key)
        .set_version_id(src.version.map(str::to_string))
        .part_number(1)
        .send()
        .await
        .map_err(|e| sdk_error(op, &at(src.bucket, src.key), src.region, e))?;
    let first = first.content_length().unwrap_or(0).max(0) as u64;
    Ok(ranges(src.size, if first > 0 { first } else { part }))
}

fn at(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{key}")
}

fn copy_source(src: &Source<'_>) -> String {
    match src.version {
        Some(v) => format!("{}/{}?versionId={v}", src.bucket, encode_key(src.key)),
        None => format!("{}/{}", src.bucket, encode_key(src.key)),
    }
}

fn failed(op: &str, dst: &Target<'_>, message: String) -> ActionError {
    ActionError::new(op, &at(dst.bucket, dst.key), "VerificationFailed", message).retryable()
}

/// Server-side, one identity: CopyObject for an object stored whole (at most 5 GiB by
/// S3's rule), UploadPartCopy in the source's own parts otherwise.
pub async fn server_copy(
    client: &Client,
    src: &Source<'_>,
    dst: &Target<'_>,
    op: &str,
) -> Result<(Checked, Option<String>), ActionError> {
    let (etag, version) = if parts_in(src.etag).is_none() {
        let out = client
            .copy_object()
            .bucket(dst.bucket)
            .key(dst.key)
            .copy_source(copy_source(src))
            // A bucket with object lock accepts no write without a checksum; every copy gets one.
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .customize()
            .mutate_request(|r| {
                r.headers_mut().insert("x-amz-sdk-checksum-algorithm", "CRC32");
            })
            .send()
            .await
            .map_err(|e| sdk_error(op, &at(dst.bucket, dst.key), dst.region, e))?;
        (
            out.copy_object_result().and_then(|r| r.e_tag()).unwrap_or_default().to_string(),
            out.version_id().map(str::to_string),
        )
    } else {
        let ranges = layout(client, src, op, part_size()).await?;
        let upload = Upload::create(client, dst, op).await?;
        let gate = std::sync::Arc::new(Semaphore::new(PART_COPIES));
        let mut tasks = tokio::task::JoinSet::new();
        for (i, (lo, hi)) in ranges.into_iter().enumerate() {
            let (client, gate, source) = (client.clone(), gate.clone(), copy_source(src));
            let (bucket, key, id, region, op) = (
                dst.bucket.to_string(),
                dst.key.to_string(),
                upload.id.clone(),
                dst.region.to_string(),
                op.to_string(),
            );
            tasks.spawn(
                async move {
                    let _permit = gate.acquire_owned().await.expect("the gate stays open");
                    let out = client
                        .upload_part_copy()
                        .bucket(&bucket)
                        .key(&key)
                        .upload_id(id)
                        .part_number(i as i32 + 1)
                        .copy_source(source)
                        .copy_source_range(format!("bytes={lo}-{hi}"))
                        .send()
                        .await
                        .map_err(|e| sdk_error(&op, &at(&bucket, &key), &region, e))?;
                    let r = out.copy_part_result();
                    Ok::<_, ActionError>(
                        CompletedPart::builder()
                            .part_number(i as i32 + 1)
                            .set_e_tag(r.and_then(|r| r.e_tag()).map(str::to_string))
                            .set_checksum_crc32(r.and_then(|r| r.checksum_crc32()).map(str::to_string))
                            .build(),
                    )
                }
                .in_current_span(),
            );
        }
        let mut parts = vec![];
        while let Some(r) = tasks.join_next().await {
            match r.expect("a part copy does not panic") {
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
    if etag == src.etag {
        return Ok((Checked::Etag, version));
    }
    let checked = compare_stored(client, client, src, dst, version.as_deref(), op).await?;
    Ok((checked, version))
}

/// Through this machine, two identities: `reader` reads the source, `writer` writes the
/// target. Whole for an object up to one part, else in parts (the source's own when it
/// has them), one part in memory at a time; the bytes read are checked against the
/// source's ETag, and S3 checks the CRC32 of every byte written.
pub async fn stream_copy(
    reader: &Client,
    writer: &Client,
    src: &Source<'_>,
    dst: &Target<'_>,
    op: &str,
) -> Result<Checked, ActionError> {
    let part = part_size();
    let from = at(src.bucket, src.key);
    let read = |lo: u64, hi: u64, whole: bool| {
        let r = reader
            .get_object()
            .bucket(src.bucket)
            .key(src.key)
            .set_version_id(src.version.map(str::to_string))
            // The object must not change under the copy: a new version fails the read.
            .if_match(src.etag)
            .checksum_mode(ChecksumMode::Enabled);
        let r = if whole { r } else { r.range(format!("bytes={lo}-{hi}")) };
        let from = from.clone();
        async move {
            let got = r.send().await.map_err(|e| sdk_error(op, &from, src.region, e))?;
            let sse = got.server_side_encryption().cloned();
            let body = got.body.collect().await.map_err(|e| {
                ActionError::new(op, &from, "ReadFailed", format!("the read broke off: {e}")).retryable()
            })?;
            Ok::<_, ActionError>((body.into_bytes(), sse))
        }
    };
    let (digest, sse, version) = if src.size <= part && parts_in(src.etag).is_none() {
        let (bytes, sse) = read(0, 0, true).await?;
        let digest = hex::encode(Md5::digest(&bytes));
        let put = writer
            .put_object()
            .bucket(dst.bucket)
            .key(dst.key)
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| sdk_error(op, &at(dst.bucket, dst.key), dst.region, e))?;
        (digest, sse, put.version_id().map(str::to_string))
    } else {
        let ranges = layout(reader, src, op, part).await?;
        let upload = Upload::create(writer, dst, op).await?;
        let (mut whole, mut of_parts, mut parts, mut sse) = (Md5::new(), Vec::new(), Vec::new(), None);
        for (i, (lo, hi)) in ranges.iter().copied().enumerate() {
            let sent = async {
                let (bytes, s) = read(lo, hi, false).await?;
                sse = s;
                whole.update(&bytes);
                of_parts.extend_from_slice(&Md5::digest(&bytes));
                let out = writer
                    .upload_part()
                    .bucket(dst.bucket)
                    .key(dst.key)
                    .upload_id(&upload.id)
                    .part_number(i as i32 + 1)
                    .checksum_algorithm(ChecksumAlgorithm::Crc32)
                    .body(ByteStream::from(bytes))
                    .send()
                    .await
                    .map_err(|e| sdk_error(op, &at(dst.bucket, dst.key), dst.region, e))?;
                Ok::<_, ActionError>(
                    CompletedPart::builder()
                        .part_number(i as i32 + 1)
                        .set_e_tag(out.e_tag().map(str::to_string))
                        .set_checksum_crc32(out.checksum_crc32().map(str::to_string))
                        .build(),
                )
            };
            match sent.await {
                Ok(p) => parts.push(p),
                Err(e) => {
                    upload.abort().await;
                    return Err(e);
                }
            }
        }
        let (_, version) = upload.complete(parts).await?;
        let digest = match parts_in(src.etag) {
            Some(n) if n == ranges.len() as u64 => format!("{}-{n}", hex::encode(Md5::digest(&of_parts))),
            _ => hex::encode(whole.finalize()),
        };
        (digest, sse, version)
    };
    if digest == unquoted(src.etag) {
        return Ok(Checked::Etag);
    }
    // With KMS or a customer key the ETag is no MD5: the stored checksums, then sizes.
    let keyed = matches!(sse, Some(ServerSideEncryption::AwsKms | ServerSideEncryption::AwsKmsDsse));
    if keyed || parts_in(src.etag).is_some() {
        return compare_stored(reader, writer, src, dst, version.as_deref(), op).await;
    }
    Err(failed(op, dst, format!("the bytes read have MD5 {digest}, the source's ETag is {}", unquoted(src.etag))))
}

/// The sizes, and every full-object checksum both objects store.
async fn compare_stored(
    reader: &Client,
    writer: &Client,
    src: &Source<'_>,
    dst: &Target<'_>,
    version: Option<&str>,
    op: &str,
) -> Result<Checked, ActionError> {
    let head = |c: &Client, bucket: &str, key: &str, version: Option<&str>, region: &str| {
        let r = c
            .head_object()
            .bucket(bucket)
            .key(key)
            .set_version_id(version.map(str::to_string))
            .checksum_mode(ChecksumMode::Enabled);
        let (at, region) = (at(bucket, key), region.to_string());
        async move { r.send().await.map_err(|e| sdk_error(op, &at, &region, e)) }
    };
    let a = head(reader, src.bucket, src.key, src.version, src.region).await?;
    let b = head(writer, dst.bucket, dst.key, version, dst.region).await?;
    let size = |h: &aws_sdk_s3::operation::head_object::HeadObjectOutput| h.content_length().unwrap_or(-1);
    if size(&a) != size(&b) {
        return Err(failed(op, dst, format!("the copy has {} bytes, the source {}", size(&b), size(&a))));
    }
    let sums = |h: &aws_sdk_s3::operation::head_object::HeadObjectOutput| {
        [h.checksum_crc64_nvme(), h.checksum_crc32(), h.checksum_crc32_c(), h.checksum_sha256(), h.checksum_sha1()]
            .map(|s| s.filter(|s| !s.contains('-')).map(str::to_string))
    };
    for (x, y) in sums(&a).into_iter().zip(sums(&b)) {
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
    client: &'a Client,
    dst: &'a Target<'a>,
    op: &'a str,
    id: String,
}

impl<'a> Upload<'a> {
    async fn create(client: &'a Client, dst: &'a Target<'a>, op: &'a str) -> Result<Upload<'a>, ActionError> {
        let out = client
            .create_multipart_upload()
            .bucket(dst.bucket)
            .key(dst.key)
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .send()
            .await
            .map_err(|e| sdk_error(op, &at(dst.bucket, dst.key), dst.region, e))?;
        Ok(Upload { client, dst, op, id: out.upload_id().unwrap_or_default().to_string() })
    }

    async fn complete(self, mut parts: Vec<CompletedPart>) -> Result<(String, Option<String>), ActionError> {
        parts.sort_by_key(|p| p.part_number());
        let done = self
            .client
            .complete_multipart_upload()
            .bucket(self.dst.bucket)
            .key(self.dst.key)
            .upload_id(&self.id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .send()
            .await;
        match done {
            Ok(out) => Ok((out.e_tag().unwrap_or_default().to_string(), out.version_id().map(str::to_string))),
            Err(e) => {
                let e = sdk_error(self.op, &at(self.dst.bucket, self.dst.key), self.dst.region, e);
                self.abort().await;
                Err(e)
            }
        }
    }

    /// Best effort: a failed abort leaves parts that the bucket's lifecycle rule (or a
    /// later abort) removes; the copy's own error is the one worth showing.
    async fn abort(&self) {
        let _ = self
            .client
            .abort_multipart_upload()
            .bucket(self.dst.bucket)
            .key(self.dst.key)
            .upload_id(&self.id)
            .send()
            .await;
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
