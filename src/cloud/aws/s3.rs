//! The S3 port on the AWS SDK: one SDK call per operation, nothing decided here.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier,
    ServerSideEncryption,
};

use super::{api_error, ts};
use crate::cloud::BoxFuture;
use crate::cloud::port::s3::*;
use crate::cloud::port::{Api, ApiError};

pub struct AwsS3 {
    pub client: Client,
}

fn err<E: ProvideErrorMetadata>(e: SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> ApiError {
    // S3 names a bucket's real region in a header when asked in the wrong one.
    let region = e.raw_response().and_then(|r| r.headers().get("x-amz-bucket-region")).map(str::to_string);
    let mut a = api_error(e);
    a.bucket_region = region;
    a
}

/// A bucket setting that may not exist: `None` when S3's error code names it `absent`
/// (each setting has its own "not found" code).
fn or_absent<T, E: ProvideErrorMetadata>(
    r: Result<T, SdkError<E, aws_sdk_s3::config::http::HttpResponse>>,
    absent: &str,
) -> Api<Option<T>> {
    match r {
        Ok(o) => Ok(Some(o)),
        Err(e) if e.code().is_some_and(|c| c.contains(absent)) => Ok(None),
        Err(e) => Err(err(e)),
    }
}

/// Percent-encodes a key for `x-amz-copy-source` (slashes stay).
fn encode_key(key: &str) -> String {
    let mut out = String::new();
    for b in key.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn copy_source(src: &ObjRef) -> String {
    match &src.version {
        Some(v) => format!("{}/{}?versionId={v}", src.bucket, encode_key(&src.key)),
        None => format!("{}/{}", src.bucket, encode_key(&src.key)),
    }
}

fn keyed(sse: Option<&ServerSideEncryption>) -> bool {
    matches!(sse, Some(ServerSideEncryption::AwsKms | ServerSideEncryption::AwsKmsDsse))
}

impl S3Api for AwsS3 {
    fn list_versions<'a>(
        &'a self,
        bucket: &'a str,
        prefix: &'a str,
        delimiter: Option<&'a str>,
        from: Option<VersionMarker>,
    ) -> BoxFuture<'a, Api<VersionPage>> {
        Box::pin(async move {
            let (key, version) = from.map(|m| (Some(m.key), m.version_id)).unwrap_or_default();
            let page = self
                .client
                .list_object_versions()
                .bucket(bucket)
                .prefix(prefix)
                .set_delimiter(delimiter.map(str::to_string))
                .set_key_marker(key)
                .set_version_id_marker(version)
                .send()
                .await
                .map_err(err)?;
            let mut versions = Vec::new();
            for v in page.versions() {
                if let (Some(k), Some(t)) = (v.key(), v.last_modified()) {
                    versions.push(ListedVersion {
                        key: k.into(),
                        version_id: v.version_id().unwrap_or("null").into(),
                        time: ts(t),
                        etag: v.e_tag().unwrap_or_default().into(),
                        size: v.size().unwrap_or(0).max(0) as u64,
                        marker: false,
                        latest: v.is_latest() == Some(true),
                    });
                }
            }
            for m in page.delete_markers() {
                if let (Some(k), Some(t)) = (m.key(), m.last_modified()) {
                    versions.push(ListedVersion {
                        key: k.into(),
                        version_id: m.version_id().unwrap_or("null").into(),
                        time: ts(t),
                        etag: String::new(),
                        size: 0,
                        marker: true,
                        latest: m.is_latest() == Some(true),
                    });
                }
            }
            let next = match (page.is_truncated(), page.next_key_marker()) {
                (Some(true), Some(k)) => {
                    Some(VersionMarker { key: k.into(), version_id: page.next_version_id_marker().map(str::to_string) })
                }
                _ => None,
            };
            let prefixes = page.common_prefixes().iter().filter_map(|p| p.prefix().map(str::to_string)).collect();
            Ok(VersionPage { versions, prefixes, next })
        })
    }

    fn list_objects<'a>(
        &'a self,
        bucket: &'a str,
        prefix: &'a str,
        token: Option<String>,
    ) -> BoxFuture<'a, Api<ObjectPage>> {
        Box::pin(async move {
            let page = self
                .client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(err)?;
            let objects = page
                .contents()
                .iter()
                .filter_map(|o| {
                    Some(ListedObject {
                        key: o.key()?.into(),
                        etag: o.e_tag().unwrap_or_default().into(),
                        size: o.size().unwrap_or(0).max(0) as u64,
                        time: o.last_modified().map(ts).unwrap_or(crate::runbook::time::Timestamp::UNIX_EPOCH),
                    })
                })
                .collect();
            let next = if page.is_truncated() == Some(true) {
                page.next_continuation_token().map(str::to_string)
            } else {
                None
            };
            Ok(ObjectPage { objects, next })
        })
    }

    fn head<'a>(&'a self, obj: &'a ObjRef, part_number: Option<i32>) -> BoxFuture<'a, Api<Head>> {
        Box::pin(async move {
            let h = self
                .client
                .head_object()
                .bucket(&obj.bucket)
                .key(&obj.key)
                .set_version_id(obj.version.clone())
                .set_part_number(part_number)
                .checksum_mode(ChecksumMode::Enabled)
                .send()
                .await
                .map_err(err)?;
            let whole = |s: Option<&str>| s.filter(|s| !s.contains('-')).map(str::to_string);
            Ok(Head {
                size: h.content_length().unwrap_or(0).max(0) as u64,
                etag: h.e_tag().unwrap_or_default().into(),
                keyed: keyed(h.server_side_encryption()),
                checksums: [
                    whole(h.checksum_crc64_nvme()),
                    whole(h.checksum_crc32()),
                    whole(h.checksum_crc32_c()),
                    whole(h.checksum_sha256()),
                    whole(h.checksum_sha1()),
                ],
            })
        })
    }

    fn get<'a>(&'a self, obj: &'a ObjRef, range: Option<(u64, u64)>, if_match: &'a str) -> BoxFuture<'a, Api<Got>> {
        Box::pin(async move {
            let got = self
                .client
                .get_object()
                .bucket(&obj.bucket)
                .key(&obj.key)
                .set_version_id(obj.version.clone())
                .if_match(if_match)
                .checksum_mode(ChecksumMode::Enabled)
                .set_range(range.map(|(lo, hi)| format!("bytes={lo}-{hi}")))
                .send()
                .await
                .map_err(err)?;
            let keyed = keyed(got.server_side_encryption());
            let body = got
                .body
                .collect()
                .await
                .map_err(|e| ApiError::new("ConnectionFailed", format!("the read broke off: {e}")))?;
            Ok(Got { bytes: body.into_bytes().to_vec(), keyed })
        })
    }

    fn copy_object<'a>(&'a self, src: &'a ObjRef, bucket: &'a str, key: &'a str) -> BoxFuture<'a, Api<Written>> {
        Box::pin(async move {
            let out = self
                .client
                .copy_object()
                .bucket(bucket)
                .key(key)
                .copy_source(copy_source(src))
                .checksum_algorithm(ChecksumAlgorithm::Crc32)
                .customize()
                .mutate_request(|r| {
                    r.headers_mut().insert("x-amz-sdk-checksum-algorithm", "CRC32");
                })
                .send()
                .await
                .map_err(err)?;
            Ok(Written {
                etag: out.copy_object_result().and_then(|r| r.e_tag()).unwrap_or_default().into(),
                version: out.version_id().map(str::to_string),
            })
        })
    }

    fn put_object<'a>(&'a self, bucket: &'a str, key: &'a str, body: Vec<u8>) -> BoxFuture<'a, Api<Written>> {
        Box::pin(async move {
            let out = self
                .client
                .put_object()
                .bucket(bucket)
                .key(key)
                .checksum_algorithm(ChecksumAlgorithm::Crc32)
                .body(ByteStream::from(body))
                .send()
                .await
                .map_err(err)?;
            Ok(Written { etag: out.e_tag().unwrap_or_default().into(), version: out.version_id().map(str::to_string) })
        })
    }

    fn create_multipart<'a>(&'a self, bucket: &'a str, key: &'a str) -> BoxFuture<'a, Api<String>> {
        Box::pin(async move {
            let out = self
                .client
                .create_multipart_upload()
                .bucket(bucket)
                .key(key)
                .checksum_algorithm(ChecksumAlgorithm::Crc32)
                .send()
                .await
                .map_err(err)?;
            out.upload_id().map(str::to_string).ok_or_else(|| ApiError::new("InternalError", "S3 gave no upload id"))
        })
    }

    fn upload_part_copy<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        upload: &'a str,
        number: i32,
        src: &'a ObjRef,
        (lo, hi): (u64, u64),
    ) -> BoxFuture<'a, Api<PartDone>> {
        Box::pin(async move {
            let out = self
                .client
                .upload_part_copy()
                .bucket(bucket)
                .key(key)
                .upload_id(upload)
                .part_number(number)
                .copy_source(copy_source(src))
                .copy_source_range(format!("bytes={lo}-{hi}"))
                .send()
                .await
                .map_err(err)?;
            let r = out.copy_part_result();
            Ok(PartDone {
                number,
                etag: r.and_then(|r| r.e_tag()).map(str::to_string),
                crc32: r.and_then(|r| r.checksum_crc32()).map(str::to_string),
            })
        })
    }

    fn upload_part<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        upload: &'a str,
        number: i32,
        body: Vec<u8>,
    ) -> BoxFuture<'a, Api<PartDone>> {
        Box::pin(async move {
            let out = self
                .client
                .upload_part()
                .bucket(bucket)
                .key(key)
                .upload_id(upload)
                .part_number(number)
                .checksum_algorithm(ChecksumAlgorithm::Crc32)
                .body(ByteStream::from(body))
                .send()
                .await
                .map_err(err)?;
            Ok(PartDone {
                number,
                etag: out.e_tag().map(str::to_string),
                crc32: out.checksum_crc32().map(str::to_string),
            })
        })
    }

    fn complete_multipart<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        upload: &'a str,
        parts: Vec<PartDone>,
    ) -> BoxFuture<'a, Api<Written>> {
        Box::pin(async move {
            let parts = parts
                .into_iter()
                .map(|p| {
                    CompletedPart::builder().part_number(p.number).set_e_tag(p.etag).set_checksum_crc32(p.crc32).build()
                })
                .collect();
            let out = self
                .client
                .complete_multipart_upload()
                .bucket(bucket)
                .key(key)
                .upload_id(upload)
                .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
                .send()
                .await
                .map_err(err)?;
            Ok(Written { etag: out.e_tag().unwrap_or_default().into(), version: out.version_id().map(str::to_string) })
        })
    }

    fn abort_multipart<'a>(&'a self, bucket: &'a str, key: &'a str, upload: &'a str) -> BoxFuture<'a, Api<()>> {
        Box::pin(async move {
            self.client.abort_multipart_upload().bucket(bucket).key(key).upload_id(upload).send().await.map_err(err)?;
            Ok(())
        })
    }

    fn delete_objects<'a>(
        &'a self,
        bucket: &'a str,
        entries: &'a [(String, Option<String>)],
    ) -> BoxFuture<'a, Api<Vec<DeleteFailure>>> {
        Box::pin(async move {
            let objects = entries
                .iter()
                .map(|(k, v)| ObjectIdentifier::builder().key(k).set_version_id(v.clone()).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ApiError::new("InvalidArgument", e.to_string()))?;
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| ApiError::new("InvalidArgument", e.to_string()))?;
            let out = self
                .client
                .delete_objects()
                .bucket(bucket)
                .delete(delete)
                .checksum_algorithm(ChecksumAlgorithm::Crc32)
                .send()
                .await
                .map_err(err)?;
            Ok(out
                .errors()
                .iter()
                .map(|e| DeleteFailure {
                    key: e.key().unwrap_or_default().into(),
                    code: e.code().unwrap_or("DeleteFailed").into(),
                    message: e.message().unwrap_or("the delete was refused").into(),
                })
                .collect())
        })
    }

    fn versioning<'a>(&'a self, bucket: &'a str) -> BoxFuture<'a, Api<Option<String>>> {
        Box::pin(async move {
            match self.client.get_bucket_versioning().bucket(bucket).send().await {
                Ok(v) => Ok(v.status().map(|s| s.as_str().to_string())),
                // moto answers with a `<GetBucketVersioningResponse>` root the SDK cannot
                // parse; the answer itself is in the raw body.
                Err(SdkError::ServiceError(se)) if se.err().code().is_none() => {
                    let body = se.raw().body().bytes().and_then(|b| std::str::from_utf8(b).ok()).unwrap_or("");
                    Ok(body
                        .split_once("<Status>")
                        .and_then(|(_, rest)| rest.split_once("</Status>"))
                        .map(|(s, _)| s.to_string()))
                }
                Err(e) => Err(err(e)),
            }
        })
    }

    fn object_lock<'a>(&'a self, bucket: &'a str) -> BoxFuture<'a, Api<Option<String>>> {
        Box::pin(async move {
            let got = or_absent(
                self.client.get_object_lock_configuration().bucket(bucket).send().await,
                "ObjectLockConfigurationNotFound",
            )?;
            Ok(got.and_then(|o| {
                o.object_lock_configuration().and_then(|l| l.rule()).and_then(|r| r.default_retention()).map(|d| {
                    format!(
                        "{} {}",
                        d.mode().map(|m| m.as_str()).unwrap_or("?"),
                        d.days().map(|n| format!("{n}d")).or(d.years().map(|y| format!("{y}y"))).unwrap_or_default()
                    )
                })
            }))
        })
    }

    fn encryption<'a>(&'a self, bucket: &'a str) -> BoxFuture<'a, Api<Option<String>>> {
        Box::pin(async move {
            let got = or_absent(
                self.client.get_bucket_encryption().bucket(bucket).send().await,
                "ServerSideEncryptionConfigurationNotFound",
            )?;
            Ok(got.and_then(|o| {
                o.server_side_encryption_configuration()
                    .and_then(|s| s.rules().first())
                    .and_then(|r| r.apply_server_side_encryption_by_default())
                    .map(|d| d.sse_algorithm().as_str().to_string())
            }))
        })
    }

    fn replication<'a>(&'a self, bucket: &'a str) -> BoxFuture<'a, Api<Option<String>>> {
        Box::pin(async move {
            let got = or_absent(
                self.client.get_bucket_replication().bucket(bucket).send().await,
                "ReplicationConfigurationNotFound",
            )?;
            Ok(got.and_then(|o| {
                o.replication_configuration()
                    .and_then(|r| r.rules().first())
                    .and_then(|r| r.destination())
                    .map(|d| d.bucket().to_string())
            }))
        })
    }

    fn public_access_blocked<'a>(&'a self, bucket: &'a str) -> BoxFuture<'a, Api<bool>> {
        Box::pin(async move {
            let got = or_absent(
                self.client.get_public_access_block().bucket(bucket).send().await,
                "NoSuchPublicAccessBlockConfiguration",
            )?;
            Ok(got.is_some_and(|o| {
                o.public_access_block_configuration().is_some_and(|p| {
                    p.block_public_acls() == Some(true)
                        && p.ignore_public_acls() == Some(true)
                        && p.block_public_policy() == Some(true)
                        && p.restrict_public_buckets() == Some(true)
                })
            }))
        })
    }
}
