//! lifeboat: disaster-recovery runbooks you can rehearse, run and prove.

// Action errors carry what a person needs (operation, resource, code, hint); they are
// made once per failed call, so their size does not matter.
#![allow(clippy::result_large_err)]
pub mod cli;
pub mod clock;
pub mod cloud;
pub mod diagnostics;
pub mod engine;
pub mod event;
pub mod evidence;
pub mod forecast;
pub mod format;
pub mod inbox;
pub mod journal;
pub mod launch;
pub mod objectives;
pub mod offsite;
pub mod ownfile;
pub mod printable;
pub mod report;
pub mod runbook;
pub mod secrets;
pub mod shelf;
pub mod tui;
pub mod watch;
