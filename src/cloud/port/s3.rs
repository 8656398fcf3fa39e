//! The S3 operations the actions use, one request each, as S3 defines them (one page of
//! a listing at a time, parts of a multipart copy one by one): paging, multipart copies,
//! throttling and verification are then the actions' own code on every backend.

use super::Api;
use crate::cloud::BoxFuture;
use crate::runbook::time::Timestamp;

/// One version or delete marker, as `ListObjectVersions` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedVersion {
    pub key: String,
    pub version_id: String,
    pub time: Timestamp,
    /// As S3 gives it, quotes and all; empty for a delete marker.
    pub etag: String,
    pub size: u64,
    pub marker: bool,
    /// S3's IsLatest: LastModified has one-second precision, so two versions of the same
    /// second are told apart by which one S3 calls current.
    pub latest: bool,
}

/// Where the next page of a version listing starts.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionMarker {
    pub key: String,
    pub version_id: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct VersionPage {
    pub versions: Vec<ListedVersion>,
    /// With a delimiter: the prefixes one level down, each listed once however many keys
    /// it holds (how a bucket's key space is split to be listed in parallel).
    pub prefixes: Vec<String>,
    pub next: Option<VersionMarker>,
}

/// One current object, as `ListObjectsV2` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedObject {
    pub key: String,
    pub etag: String,
    pub size: u64,
    pub time: Timestamp,
}

#[derive(Debug, Clone, Default)]
pub struct ObjectPage {
    pub objects: Vec<ListedObject>,
    pub next: Option<String>,
}

/// The full-object checksums S3 can store, in the order they are compared.
pub const CHECKSUMS: [&str; 5] = ["CRC64NVME", "CRC32", "CRC32C", "SHA256", "SHA1"];

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Head {
    /// Of the part asked for with `part_number`, else of the object.
    pub size: u64,
    pub etag: String,
    /// Encrypted with a KMS or customer key: the ETag is then no MD5.
    pub keyed: bool,
    /// One per entry of [`CHECKSUMS`]; composite (`…-N`) ones are left out.
    pub checksums: [Option<String>; 5],
}

#[derive(Debug, Clone, Default)]
pub struct Got {
    pub bytes: Vec<u8>,
    pub keyed: bool,
}

/// An object version to copy from.
#[derive(Debug, Clone)]
pub struct ObjRef {
    pub bucket: String,
    pub key: String,
    pub version: Option<String>,
}

/// A new object (version) written.
#[derive(Debug, Clone, Default)]
pub struct Written {
    pub etag: String,
    pub version: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PartDone {
    pub number: i32,
    pub etag: Option<String>,
    pub crc32: Option<String>,
}

/// One entry of a `DeleteObjects` request that S3 refused (it answers 200 with these).
#[derive(Debug, Clone)]
pub struct DeleteFailure {
    pub key: String,
    pub code: String,
    pub message: String,
}

pub trait S3Api: Send + Sync {
    fn list_versions<'a>(
        &'a self,
        bucket: &'a str,
        prefix: &'a str,
        delimiter: Option<&'a str>,
        from: Option<VersionMarker>,
    ) -> BoxFuture<'a, Api<VersionPage>>;
    fn list_objects<'a>(
        &'a self,
        bucket: &'a str,
        prefix: &'a str,
        token: Option<String>,
    ) -> BoxFuture<'a, Api<ObjectPage>>;
    fn head<'a>(&'a self, obj: &'a ObjRef, part_number: Option<i32>) -> BoxFuture<'a, Api<Head>>;
    /// Bytes `lo..=hi` (the whole object when `None`), failing if its ETag is not `if_match`.
    fn get<'a>(&'a self, obj: &'a ObjRef, range: Option<(u64, u64)>, if_match: &'a str) -> BoxFuture<'a, Api<Got>>;
    /// Server-side, with a CRC32 checksum (an object-locked bucket takes no write without).
    fn copy_object<'a>(&'a self, src: &'a ObjRef, bucket: &'a str, key: &'a str) -> BoxFuture<'a, Api<Written>>;
    fn put_object<'a>(&'a self, bucket: &'a str, key: &'a str, body: Vec<u8>) -> BoxFuture<'a, Api<Written>>;
    fn create_multipart<'a>(&'a self, bucket: &'a str, key: &'a str) -> BoxFuture<'a, Api<String>>;
    fn upload_part_copy<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        upload: &'a str,
        number: i32,
        src: &'a ObjRef,
        range: (u64, u64),
    ) -> BoxFuture<'a, Api<PartDone>>;
    fn upload_part<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        upload: &'a str,
        number: i32,
        body: Vec<u8>,
    ) -> BoxFuture<'a, Api<PartDone>>;
    fn complete_multipart<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        upload: &'a str,
        parts: Vec<PartDone>,
    ) -> BoxFuture<'a, Api<Written>>;
    fn abort_multipart<'a>(&'a self, bucket: &'a str, key: &'a str, upload: &'a str) -> BoxFuture<'a, Api<()>>;
    /// At most a thousand entries; a version id removes that version (or delete marker),
    /// none places a delete marker.
    fn delete_objects<'a>(
        &'a self,
        bucket: &'a str,
        entries: &'a [(String, Option<String>)],
    ) -> BoxFuture<'a, Api<Vec<DeleteFailure>>>;
    /// `Enabled`, `Suspended`, or `None` when versioning was never turned on.
    fn versioning<'a>(&'a self, bucket: &'a str) -> BoxFuture<'a, Api<Option<String>>>;
    /// The default retention (`COMPLIANCE 30d`), `None` without object lock.
    fn object_lock<'a>(&'a self, bucket: &'a str) -> BoxFuture<'a, Api<Option<String>>>;
    /// The default encryption's algorithm (`aws:kms`, `AES256`).
    fn encryption<'a>(&'a self, bucket: &'a str) -> BoxFuture<'a, Api<Option<String>>>;
    /// The first replication rule's destination bucket.
    fn replication<'a>(&'a self, bucket: &'a str) -> BoxFuture<'a, Api<Option<String>>>;
    /// All four public access blocks on.
    fn public_access_blocked<'a>(&'a self, bucket: &'a str) -> BoxFuture<'a, Api<bool>>;
}
