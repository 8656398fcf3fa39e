//! What a runbook may ask of the simulated cloud, written where the runbook layer checks
//! it (an injects file's `operation:`, a catalog's `sim:` sizes) without knowing the
//! simulator: the simulator serves exactly these (`cloud::sim` holds a test of it).

/// Every service operation the simulated cloud serves, by its AWS name: what an injects
/// file may name in `operation:` (a test holds it equal to the requests the code makes).
pub const OPERATIONS: &[&str] = &[
    "AbortMultipartUpload",
    "CompleteMultipartUpload",
    "CopyDBSnapshot",
    "CopyObject",
    "CreateJob",
    "CreateMultipartUpload",
    "DeleteDBInstance",
    "DeleteDBSnapshot",
    "DeleteObjects",
    "DeleteTable",
    "DescribeContinuousBackups",
    "DescribeDBInstanceAutomatedBackups",
    "DescribeDBInstances",
    "DescribeDBSnapshots",
    "DescribeJob",
    "DescribeTable",
    "GetBucketEncryption",
    "GetBucketReplication",
    "GetBucketVersioning",
    "GetObject",
    "GetObjectLockConfiguration",
    "GetPublicAccessBlock",
    "HeadObject",
    "ListObjectVersions",
    "ListObjectsV2",
    "ListTagsForResource",
    "ListTagsOfResource",
    "PromoteReadReplica",
    "PutObject",
    "RestoreDBInstanceFromDBSnapshot",
    "RestoreDBInstanceToPointInTime",
    "RestoreTableToPointInTime",
    "TagResource",
    "UpdateJobStatus",
    "UploadPart",
    "UploadPartCopy",
];

/// At most 10,000 prefixes in a bucket the simulator generates (`sim: { prefixes: N }`),
/// of at most a billion keys each (the width of the names).
pub const MAX_PREFIXES: u64 = 10_000;
