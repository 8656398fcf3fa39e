//! Where events go: redacted, appended to the journal (synced before the engine goes
//! on), then broadcast to whoever watches (TUI, progress bars, the headless answerer).

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::event::{Event, Record};
use crate::journal::{GENESIS_PREV, Journal, JournalError};
use crate::runbook::time::{Timestamp, format_timestamp_ms};

/// Replaces every secret wherever it appears in an event's free text: outputs, output
/// lines, reasons, notes, details, input values. Never structure: ids, keys, hashes,
/// times, event types and the signer's key are left as they are, so a secret that
/// happens to equal a substring of them cannot rewrite the log's shape.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Each secret and the forms it travels in (its lines, base64, URL-encoded).
    patterns: Vec<String>,
}

pub const REDACTED: &str = "[redacted]";

pub use crate::secrets::MIN_SECRET_CHARS;

/// The variables that carry lifeboat's own signing secrets. A `run:` command never sees
/// them and an `env.*` expression cannot read them: a script that could read the key (or
/// its passphrase) could sign forgeries in the operator's name.
pub fn is_signing_secret(var: &str) -> bool {
    var.starts_with("LIFEBOAT_SIGN_KEY")
}

/// Values a command inherits (it acts as the operator) but that must never be written or
/// shown: the key's passphrase and AWS's secret credentials. AWS secret keys are 40
/// characters and session tokens longer, so a credential under 16 characters is a test
/// dummy (moto's `testing`), and redacting it would rewrite ordinary words.
pub fn environment_secrets() -> Vec<String> {
    const VARS: [(&str, usize); 4] = [
        ("LIFEBOAT_SIGN_KEY_PASSPHRASE", MIN_SECRET_CHARS),
        ("AWS_SECRET_ACCESS_KEY", 16),
        ("AWS_SESSION_TOKEN", 16),
        ("AWS_SECURITY_TOKEN", 16),
    ];
    VARS.iter().filter_map(|(var, min)| std::env::var(var).ok().filter(|v| v.chars().count() >= *min)).collect()
}

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let secrets: Vec<String> = secrets.into_iter().collect();
        Redactor { patterns: crate::secrets::patterns(secrets.iter().map(String::as_str)) }
    }

    /// Whether `s` holds a secret in any of the forms redaction knows.
    pub fn holds(&self, s: &str) -> bool {
        self.patterns.iter().any(|p| s.contains(p.as_str()))
    }

    pub fn text(&self, s: &str) -> String {
        let mut out = s.to_string();
        for p in &self.patterns {
            if out.contains(p.as_str()) {
                out = out.replace(p.as_str(), REDACTED);
            }
        }
        out
    }

    /// The event with its free text redacted. An event that cannot be taken apart and
    /// put back together is refused (the caller fails the run), never written half-done.
    pub fn event(&self, event: Event) -> Result<Event, String> {
        if self.patterns.is_empty() {
            return Ok(event);
        }
        event.map_text(&|s| self.text(s))
    }
}

/// The engine's only way out. Cloneable; one lock orders concurrent steps' events.
/// Each watcher has a queue of its own that never drops a record: a screen or an
/// answerer that falls behind catches up, it never misses the question it must answer.
#[derive(Clone)]
pub struct Sink {
    inner: Arc<Mutex<Inner>>,
    watchers: Arc<Mutex<Vec<mpsc::UnboundedSender<Record>>>>,
}

struct Inner {
    journal: Option<Journal>,
    redactor: Redactor,
    /// Without a journal (some tests), records are still numbered.
    seq: u64,
    failed: Option<String>,
}

impl Sink {
    /// Whether `s` holds one of the run's secrets (a name that must never be written).
    pub fn holds_secret(&self, s: &str) -> bool {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).redactor.holds(s)
    }

    /// `s` as the log would hold it (for what is written beside the log, not in it).
    pub fn redact(&self, s: &str) -> String {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).redactor.text(s)
    }

    /// The log's path (none when nothing is journalled, as in some tests).
    pub fn log_path(&self) -> Option<std::path::PathBuf> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).journal.as_ref().map(|j| j.path().to_path_buf())
    }

    pub fn new(journal: Option<Journal>, redactor: Redactor) -> Sink {
        Sink {
            inner: Arc::new(Mutex::new(Inner { journal, redactor, seq: 0, failed: None })),
            watchers: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Every record from now on, in order, none dropped.
    pub fn subscribe(&self) -> mpsc::UnboundedReceiver<Record> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.watchers.lock().unwrap_or_else(|e| e.into_inner()).push(tx);
        rx
    }

    /// Appends and syncs, then tells the watchers. A journal failure is fatal to the run:
    /// it is remembered and every later emit fails too.
    pub fn emit(&self, time: Timestamp, event: Event) -> Result<Record, String> {
        let mut inner = self.inner.lock().unwrap();
        if let Some(f) = &inner.failed {
            return Err(f.clone());
        }
        let event = match inner.redactor.event(event) {
            Ok(e) => e,
            Err(e) => {
                inner.failed = Some(e.clone());
                return Err(e);
            }
        };
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
                // Still under the journal's lock: watchers see records in log order.
                self.watchers.lock().unwrap_or_else(|e| e.into_inner()).retain(|w| w.send(r.clone()).is_ok());
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

    /// Issue 29 (1): a hex secret that happens to occur inside a digest never rewrites
    /// it: a resume builds the confirmed plan's path from `manifest_sha256`.
    #[test]
    fn a_digest_is_kept_exact_whatever_it_holds() {
        let sha = "0be1c69db35a77e3d3c4b5a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1";
        let r = Redactor::new(["69db35a7".to_string()]);
        let mut outputs = serde_json::Map::new();
        outputs.insert("manifest_sha256".into(), sha.into());
        outputs.insert("note".into(), "key 69db35a7 used".into());
        let e = Event::StepFinished {
            step: "plan".into(),
            status: crate::event::StepStatus::Done,
            reason: None,
            outputs,
            duration_ms: 1,
            recovery_point: None,
            error: None,
        };
        let Event::StepFinished { outputs, .. } = r.event(e).unwrap() else { panic!() };
        assert_eq!(outputs["manifest_sha256"], sha);
        assert_eq!(outputs["note"], "key [redacted] used");
    }

    #[test]
    fn a_watcher_that_falls_behind_misses_nothing() {
        let sink = Sink::new(None, Redactor::default());
        let mut slow = sink.subscribe();
        for i in 0..10_000 {
            let note = Event::Note { by: "a".into(), text: i.to_string() };
            sink.emit(Timestamp::UNIX_EPOCH, note).unwrap();
        }
        drop(sink);
        let mut n = 0;
        while let Ok(r) = slow.try_recv() {
            assert_eq!(r.seq, n);
            n += 1;
        }
        assert_eq!(n, 10_000, "every record, in order");
    }

    #[test]
    fn secrets_vanish_from_every_field() {
        let r = Redactor::new(["hunter2".to_string(), "hunter2-long".to_string()]);
        let e = r
            .event(Event::StepOutput {
                step: "s".into(),
                stream: crate::event::Stream::Stdout,
                text: "pw=hunter2-long and hunter2".into(),
            })
            .unwrap();
        let Event::StepOutput { text, .. } = e else { unreachable!() };
        assert_eq!(text, "pw=[redacted] and [redacted]");
    }
}
