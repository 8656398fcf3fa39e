//! From checked flags (or a start form) to a started engine: shared by the headless
//! front end and the terminal UI, so both start a run exactly the same way.

//!
//! `args` is what the flags are, `setup` what they mean (the files loaded and checked,
//! the signer, the credentials' account), `start` the run begun or resumed from them,
//! `watched` the same picture for a run another session started.

mod args;
mod setup;
mod start;
mod watched;

pub use args::*;
pub use setup::*;
pub use start::*;
pub use watched::watched;

/// Why a run was not started (or a watch not begun), said before anything ran: a file's
/// diagnostics, rendered with line and column, kept apart from the sentence that says
/// what to do — neither is found again by cutting a string at its last line break.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{why}")]
pub struct Refused {
    /// The rendered diagnostics of the file that was refused, if that is why.
    pub diagnostics: Option<String>,
    pub why: String,
}

impl From<String> for Refused {
    fn from(why: String) -> Refused {
        Refused { diagnostics: None, why }
    }
}

impl From<&str> for Refused {
    fn from(why: &str) -> Refused {
        why.to_string().into()
    }
}

use std::collections::BTreeMap;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, ValueEnum};

use crate::clock::{Clock, SystemClock, VirtualClock};
use crate::cloud::Cloud;
use crate::cloud::sim::Sim;
use crate::engine::sink::{Redactor, Sink};
use crate::engine::{Engine, Prior, RunSpec};
use crate::event::{Event, Mode};
use crate::journal::sign::Signer;
use crate::journal::{Journal, sha256_hex};
use crate::runbook::load::{Doc, Workspace};
use crate::runbook::model::{Answers, InputDefault, Runbook, StepKind};
use crate::runbook::raw::InputType;
use crate::runbook::time::{Duration, Timestamp, format_timestamp, parse_timestamp};
