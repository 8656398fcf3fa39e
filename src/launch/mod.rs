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
