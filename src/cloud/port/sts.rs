//! Who the credentials belong to: what a live or drill run names before it starts.

use super::Api;
use crate::cloud::BoxFuture;

#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    pub account: String,
    pub arn: String,
}

pub trait StsApi: Send + Sync {
    fn caller_identity(&self) -> BoxFuture<'_, Api<Caller>>;
}
