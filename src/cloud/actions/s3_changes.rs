//! A confirmed roll-back plan as requests: each copy one request, delete-marker changes
//! gathered a thousand to a DeleteObjects request, each piece work the pace can start
//! again.

use std::sync::Arc;

use super::s3_object::{Checked, Source, Target, server_copy};
use super::tasks;
use crate::cloud::ActionError;
use crate::cloud::manifest::{Change, ManifestError};
use crate::cloud::plan::Ver;
use crate::cloud::port::s3::S3Api;

/// Entries of a DeleteObjects request: a key and, to remove a delete marker, its id.
pub(super) type Deletes = Vec<(String, Option<String>)>;

/// One DeleteObjects request: a version id removes that delete marker; none places a new
/// marker (approved deletion stays recoverable). S3 answers 200 with per-key errors, so
/// each is read.
pub(super) async fn delete_batch(
    s3: &dyn S3Api,
    op: &str,
    bucket: &str,
    region: &str,
    (batch, keys): (Deletes, u64),
) -> Result<u64, ActionError> {
    let failures = s3.delete_objects(bucket, &batch).await.map_err(|e| e.at(op, &format!("s3://{bucket}"), region))?;
    if let Some(f) = failures.first() {
        return Err(ActionError::new(
            op,
            &format!("s3://{bucket}/{}", f.key),
            &f.code,
            format!("{} ({} of {} deletes in this batch failed)", f.message, failures.len(), batch.len()),
        ));
    }
    Ok(keys)
}

/// One request's worth of the manifest.
#[derive(Debug, PartialEq)]
pub(super) enum Piece {
    Copy(String, Ver),
    /// Up to a thousand delete-marker changes, and the keys they finish.
    Deletes(Deletes, u64),
    Unreadable(String),
}

/// The manifest's changes as requests: each copy one; delete-marker changes gathered a
/// thousand to a DeleteObjects request (a mass deletion — the commonest accident — costs
/// pages, not one request a key; copies have no batch form in S3). A key is counted done
/// in the batch that holds its last entry, so progress stays a count of objects.
pub(super) struct Pieces<I: Iterator<Item = Result<Change, ManifestError>>> {
    records: std::iter::Peekable<I>,
    deletes: Deletes,
    keys_done: u64,
}

impl<I: Iterator<Item = Result<Change, ManifestError>>> Pieces<I> {
    pub(super) fn new(records: I) -> Self {
        Pieces { records: records.peekable(), deletes: Deletes::new(), keys_done: 0 }
    }
    fn batch(&mut self) -> Piece {
        Piece::Deletes(std::mem::take(&mut self.deletes), std::mem::take(&mut self.keys_done))
    }
}

impl<I: Iterator<Item = Result<Change, ManifestError>>> Iterator for Pieces<I> {
    type Item = Piece;

    fn next(&mut self) -> Option<Piece> {
        loop {
            let change = match self.records.next() {
                None if self.deletes.is_empty() => return None,
                None => return Some(self.batch()),
                Some(Err(e)) => return Some(Piece::Unreadable(e.to_string())),
                Some(Ok(c)) => c,
            };
            let (key, entry) = match change {
                Change::Copy { key, version } => return Some(Piece::Copy(key, version)),
                Change::RemoveMarker { key, marker } => (key, Some(marker)),
                Change::PlaceMarker { key } => (key, None),
            };
            let last = !matches!(self.records.peek(), Some(Ok(next)) if next.key() == key);
            self.deletes.push((key, entry));
            self.keys_done += last as u64;
            if self.deletes.len() >= 1000 {
                return Some(self.batch());
            }
        }
    }
}

/// A piece as work the pace can start again.
pub(super) fn job(piece: Piece, s3: &Arc<dyn S3Api>, op: &'static str, bucket: &str, region: &str) -> tasks::Job {
    let (s3, bucket, region) = (s3.clone(), bucket.to_string(), region.to_string());
    match piece {
        Piece::Deletes(entries, keys) => {
            tasks::job(&entries.first().map(|e| e.0.clone()).unwrap_or_default(), move || {
                let (s3, bucket, region, batch) = (s3.clone(), bucket.clone(), region.clone(), (entries.clone(), keys));
                async move { delete_batch(s3.as_ref(), op, &bucket, &region, batch).await.map(|n| (n, 0, false)) }
            })
        }
        Piece::Copy(key, v) => {
            let (key, v) = (Arc::new(key), Arc::new(v));
            tasks::job(&key.clone(), move || {
                let (s3, bucket, region, key, v) = (s3.clone(), bucket.clone(), region.clone(), key.clone(), v.clone());
                async move {
                    let src = Source {
                        bucket: &bucket,
                        key: &key,
                        version: Some(&v.id),
                        etag: &v.etag,
                        size: v.size,
                        region: &region,
                    };
                    let dst = Target { bucket: &bucket, key: &key, region: &region };
                    let (checked, _) = server_copy(&s3, &src, &dst, op).await?;
                    Ok((1, v.size, checked == Checked::Size))
                }
            })
        }
        Piece::Unreadable(why) => tasks::failed(ActionError::new(op, &format!("s3://{bucket}"), "LocalFile", why)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runbook::time::Timestamp;

    #[test]
    fn delete_batches_hold_a_thousand_and_count_whole_keys() {
        let mut changes: Vec<Result<Change, ManifestError>> =
            (0..1500).map(|i| Ok(Change::RemoveMarker { key: format!("k{i:04}"), marker: "m".into() })).collect();
        changes.push(Ok(Change::RemoveMarker { key: "k1499".into(), marker: "m2".into() }));
        let v = Ver { id: "v".into(), time: Timestamp::UNIX_EPOCH, etag: "\"e\"".into(), marker: false, size: 1 };
        changes.insert(10, Ok(Change::Copy { key: "c".into(), version: v.clone() }));
        let pieces: Vec<Piece> = Pieces::new(changes.into_iter()).collect();
        assert_eq!(pieces[0], Piece::Copy("c".into(), v), "a copy is sent as it comes");
        let batches: Vec<(usize, u64)> = pieces[1..]
            .iter()
            .map(|p| match p {
                Piece::Deletes(d, n) => (d.len(), *n),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(batches.iter().map(|b| b.0).collect::<Vec<_>>(), [1000, 501]);
        assert_eq!(batches.iter().map(|b| b.1).sum::<u64>(), 1500, "each key counted once");
    }
}
