//! How long the simulated cloud takes, on the run's clock: a latency per request and a
//! transfer rate for the bytes a request moves. The defaults follow AWS's published
//! figures; every one can be changed (`Sim::with_model`).
//!
//! - S3 requests: "100–200 milliseconds" first-byte latency for small objects (S3
//!   performance guidelines, "Performance design patterns") — 100 ms here for reads and
//!   writes; a `ListObjectVersions` page of 1,000 is 300 ms (AWS's roll-back guidance
//!   measures about 1 million versions in 5 minutes from one cursor).
//! - Bytes: 90 MB/s a request (a single S3 connection's typical rate; S3 scales by
//!   parallel requests, which is how lifeboat copies).
//! - Control planes (RDS, DynamoDB, bucket settings): 200 ms a call.
//! - Request rates: "at least 3,500 PUT/COPY/POST/DELETE or 5,500 GET/HEAD requests per
//!   second per partitioned prefix" (S3 performance guidelines); past them S3 answers
//!   `503 SlowDown`. A prefix here is a key up to its first `/`, and a second's worth
//!   of requests may come at once (a token bucket of one second).
//! - S3 Batch Operations: AWS publishes no rate; its roll-back guidance reports 10
//!   million copies in under an hour. A job here keeps 300 copies in flight (about
//!   3,000 a second at 100 ms each: 10 million in 56 minutes), each through the same S3
//!   operations and limits as any other copy.

use std::time::Duration as StdDuration;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Model {
    pub s3_request: StdDuration,
    pub s3_list_page: StdDuration,
    pub bytes_per_sec: u64,
    pub control: StdDuration,
    /// Writes (copy, put, part, delete) a second per prefix; `None`: no limit.
    pub s3_writes_per_prefix: Option<u32>,
    /// Reads (get, head, list) a second per prefix.
    pub s3_reads_per_prefix: Option<u32>,
    /// Copies an S3 Batch Operations job has in flight at once.
    pub batch_in_flight: usize,
}

impl Default for Model {
    fn default() -> Self {
        Model {
            s3_request: StdDuration::from_millis(100),
            s3_list_page: StdDuration::from_millis(300),
            bytes_per_sec: 90_000_000,
            control: StdDuration::from_millis(200),
            s3_writes_per_prefix: Some(3_500),
            s3_reads_per_prefix: Some(5_500),
            batch_in_flight: 300,
        }
    }
}

impl Model {
    /// A request that moves `bytes`.
    pub fn transfer(&self, bytes: u64) -> StdDuration {
        self.s3_request + StdDuration::from_secs_f64(bytes as f64 / self.bytes_per_sec.max(1) as f64)
    }
}
