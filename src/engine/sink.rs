//! Where events go: redacted, appended to the journal (synced before the engine goes
//! on), then broadcast to whoever watches (TUI, progress bars, the headless answerer).

use std::sync::{Arc, Mutex};

use serde_json::Value as Json;
use tokio::sync::broadcast;

use super::event::{Event, Record};
use crate::journal::{GENESIS_PREV, Journal, JournalError};
use crate::runbook::time::{Timestamp, format_timestamp_ms};

/// Replaces every secret value wherever it appears in an event.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

pub const REDACTED: &str = "[redacted]";

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        // Longest first, so a secret that contains another is replaced whole.
        let mut secrets: Vec<String> = secrets.into_iter().filter(|s| !s.is_empty()).collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Redactor { secrets }
    }

    pub fn text(&self, s: &str) -> String {
        let mut out = s.to_string();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        out
    }

    pub fn event(&self, event: Event) -> Event {
        if self.secrets.is_empty() {
            return event;
        }
        let mut value = serde_json::to_value(&event).expect("events serialize");
        self.walk(&mut value);
        serde_json::from_value(value).expect("redaction keeps the shape")
    }

    fn walk(&self, v: &mut Json) {
        match v {
            Json::String(s) => *s = self.text(s),
            Json::Array(items) => items.iter_mut().for_each(|i| self.walk(i)),
            Json::Object(map) => map.values_mut().for_each(|i| self.walk(i)),
            _ => {}
        }
    }
}

/// The engine's only way out. Cloneable; one lock orders concurrent steps' events.
#[derive(Clone)]
pub struct Sink {
    inner: Arc<Mutex<Inner>>,
    tx: broadcast::Sender<Record>,
}

struct Inner {
    journal: Option<Journal>,
    redactor: Redactor,
    /// Without a journal (some tests), records are still numbered.
    seq: u64,
    failed: Option<String>,
}

impl Sink {
    pub fn new(journal: Option<Journal>, redactor: Redactor) -> Sink {
        let (tx, _) = broadcast::channel(4096);
        Sink { inner: Arc::new(Mutex::new(Inner { journal, redactor, seq: 0, failed: None })), tx }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Record> {
        self.tx.subscribe()
    }

    /// Appends and syncs, then tells the watchers. A journal failure is fatal to the run:
    /// it is remembered and every later emit fails too.
    pub fn emit(&self, time: Timestamp, event: Event) -> Result<Record, String> {
        let mut inner = self.inner.lock().unwrap();
        if let Some(f) = &inner.failed {
            return Err(f.clone());
        }
        let event = inner.redactor.event(event);
        let record = match inner.journal.as_mut() {
            Some(j) => j.append(time, event).map_err(|e: JournalError| e.to_string()),
            None => {
                let r = Record { seq: inner.seq, prev: GENESIS_PREV.into(), time: format_timestamp_ms(time), event };
                inner.seq += 1;
                Ok(r)
            }
        };
        match record {
            Ok(r) => {
                let _ = self.tx.send(r.clone());
                Ok(r)
            }
            Err(e) => {
                inner.failed = Some(e.clone());
                Err(e)
            }
        }
    }

    /// A signed checkpoint now (before a change to the cloud).
    pub fn checkpoint(&self, time: Timestamp) -> Result<(), String> {
        let mut inner = self.inner.lock().unwrap();
        match inner.journal.as_mut() {
            Some(j) => j.checkpoint(time).map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }

    pub fn seal(&self, time: Timestamp) -> Result<(), String> {
        let mut inner = self.inner.lock().unwrap();
        match inner.journal.as_mut() {
            Some(j) => j.seal(time).map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_vanish_from_every_field() {
        let r = Redactor::new(["hunter2".to_string(), "hunter2-long".to_string()]);
        let e = r.event(Event::StepOutput {
            step: "s".into(),
            stream: super::super::event::Stream::Stdout,
            text: "pw=hunter2-long and hunter2".into(),
        });
        let Event::StepOutput { text, .. } = e else { unreachable!() };
        assert_eq!(text, "pw=[redacted] and [redacted]");
    }
}
