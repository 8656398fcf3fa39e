//! A step's output past its cap: a command that prints gigabytes must not grow the log
//! (every line of which is hashed, chained and synced) without end, nor be lost. The
//! rest goes, redacted like the log, to a file beside the log that lifeboat creates
//! itself (never through a link, never over another file); the log records the file's
//! name, size and SHA-256, and `verify` checks the file against it.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use ssh_key::sha2::{Digest, Sha256};

use crate::event::Event;

/// How much of one attempt's output the log holds itself.
pub const STEP_OUTPUT_CAP: usize = 10 << 20;

/// One attempt's output as it goes out: into the log up to the cap, aside after it.
pub struct Aside {
    step: String,
    attempt: u32,
    log: Option<PathBuf>,
    logged: usize,
    file: Option<Kept>,
    /// Why the rest could not be kept (said once, at the end).
    lost: Option<String>,
    lost_bytes: u64,
}

struct Kept {
    name: String,
    file: File,
    hash: Sha256,
    bytes: u64,
    lines: u64,
}

/// What a batch of output became.
pub enum Route {
    /// Into the log as it is.
    Log(String),
    /// The cap was reached just now: this notice goes into the log, the batch aside.
    Notice(String),
    /// Aside (or, if no file could be made, counted and dropped).
    Aside,
}

impl Aside {
    pub fn new(log: Option<PathBuf>, step: &str, attempt: u32) -> Aside {
        Aside { step: step.to_string(), attempt, log, logged: 0, file: None, lost: None, lost_bytes: 0 }
    }

    /// Where `text` (already redacted if it goes aside: `redact` is applied here) goes.
    pub fn route(&mut self, text: String, redact: impl Fn(&str) -> String) -> Route {
        let first = self.file.is_none() && self.lost.is_none();
        if first && self.logged + text.len() <= STEP_OUTPUT_CAP {
            self.logged += text.len() + 1;
            return Route::Log(text);
        }
        if first {
            match self.open() {
                Ok(k) => self.file = Some(k),
                Err(e) => self.lost = Some(e),
            }
        }
        let text = redact(&text);
        if let Some(k) = self.file.as_mut() {
            let mut bytes = text.into_bytes();
            bytes.push(b'\n');
            match k.file.write_all(&bytes) {
                Ok(()) => {
                    k.hash.update(&bytes);
                    k.bytes += bytes.len() as u64;
                    k.lines += bytes.iter().filter(|&&b| b == b'\n').count() as u64;
                }
                Err(e) => {
                    self.lost = Some(format!("writing `{}` failed: {e}", k.name));
                    self.lost_bytes += bytes.len() as u64;
                }
            }
        } else {
            self.lost_bytes += text.len() as u64 + 1;
        }
        if !first {
            return Route::Aside;
        }
        Route::Notice(match (&self.file, &self.lost) {
            (Some(k), _) => format!(
                "output beyond the log's {} MiB cap for a step goes to `{}` beside the log",
                STEP_OUTPUT_CAP >> 20,
                k.name
            ),
            (None, why) => format!(
                "output beyond the log's {} MiB cap for a step cannot be kept: {}",
                STEP_OUTPUT_CAP >> 20,
                why.as_deref().unwrap_or("no log to keep it beside")
            ),
        })
    }

    /// The file beside the log, created new: an existing name (or a link at it) is
    /// passed over, never written through.
    fn open(&self) -> Result<Kept, String> {
        let Some(log) = &self.log else { return Err("the run keeps no log".into()) };
        let dir = log.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let base = log.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let mut last = String::new();
        for n in 0..100 {
            let suffix = if n == 0 { String::new() } else { format!("-{n}") };
            let name = format!("{base}.{}.{}{suffix}.out", self.step, self.attempt);
            match crate::ownfile::create_new(&dir.join(&name)) {
                Ok(file) => return Ok(Kept { name, file, hash: Sha256::new(), bytes: 0, lines: 0 }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = name,
                Err(e) => return Err(format!("`{name}` cannot be created: {e}")),
            }
        }
        Err(format!("`{last}` and 99 names after it are taken"))
    }

    /// What the log must say at the attempt's end: where the rest went (synced first,
    /// so the record never names bytes a crash could still lose), or that it was lost.
    pub fn finish(mut self) -> Option<Event> {
        if let Some(k) = self.file.take() {
            if let Err(e) = k.file.sync_data() {
                return Some(self.warning(format!("`{}` could not be synced: {e}", k.name)));
            }
            if self.lost.is_none() {
                return Some(Event::OutputAside {
                    step: self.step,
                    file: k.name,
                    bytes: k.bytes,
                    lines: k.lines,
                    sha256: hex::encode(k.hash.finalize()),
                });
            }
        }
        let why = self.lost.clone()?;
        Some(self.warning(why))
    }

    fn warning(&self, why: String) -> Event {
        Event::Warning {
            code: "output_lost".into(),
            message: format!(
                "`{}`: {} byte(s) of output beyond the log's cap were not kept: {why}",
                self.step, self.lost_bytes
            ),
        }
    }
}
