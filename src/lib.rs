//! lifeboat: disaster-recovery runbooks you can rehearse, run and prove.
pub mod cli;
pub mod clock;
pub mod cloud;
pub mod engine;
pub mod journal;
pub mod objectives;
pub mod report;
pub mod runbook;
