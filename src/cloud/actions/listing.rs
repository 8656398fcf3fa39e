//! One side of a walk over current objects: a `ListObjectsV2` page held at a time, in
//! key order, so two buckets of millions are compared or copied side by side in the
//! memory of two pages.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::cloud::ActionError;
use crate::cloud::port::s3::{ListedObject, S3Api};

/// One side's current objects, a `ListObjectsV2` page held at a time.
pub struct Cursor {
    pub s3: Arc<dyn S3Api>,
    pub bucket: String,
    pub region: String,
    op: &'static str,
    prefix: String,
    page: VecDeque<ListedObject>,
    token: Option<String>,
    done: bool,
}

impl Cursor {
    pub fn new(s3: Arc<dyn S3Api>, op: &'static str, bucket: &str, prefix: &str, region: &str) -> Cursor {
        Cursor {
            s3,
            op,
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
            region: region.to_string(),
            page: VecDeque::new(),
            token: None,
            done: false,
        }
    }

    /// The next object's key relative to the prefix, reading a page when the last is used up.
    pub async fn peek(&mut self) -> Result<Option<&str>, ActionError> {
        while self.page.is_empty() && !self.done {
            let page = self
                .s3
                .list_objects(&self.bucket, &self.prefix, self.token.take())
                .await
                .map_err(|e| e.at(self.op, &self.bucket, &self.region))?;
            self.page = page.objects.into_iter().filter(|o| o.key.starts_with(&self.prefix)).collect();
            self.token = page.next;
            self.done = self.token.is_none();
        }
        Ok(self.page.front().map(|o| &o.key[self.prefix.len()..]))
    }

    pub fn take(&mut self) -> Option<ListedObject> {
        self.page.pop_front()
    }
}
